/*
 * store_internal.h - private to src/store/: the store, its queue, and what
 * the store thread does with the database (db.c, events.c).
 */
#ifndef KT_STORE_INTERNAL_H
#define KT_STORE_INTERNAL_H

#include "kt_store.h"

#include <apr_dbd.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_hash.h>
#include <apr_thread_proc.h>

#define KT__STORE_QUEUE 256      /* requests waiting; a caller beyond waits for room */
#define KT__STORE_BACKLOG 10000  /* events kept in memory while the disk refuses them */
#define KT__STORE_WAIT_S 5       /* how long a caller waits for its answer */
#define KT__STORE_RETRY_S 5      /* a degraded store tries to write again this often */

typedef enum {
    KT__REQ_EVENTS,
    KT__REQ_QUERY,
    KT__REQ_CLEAR,
    KT__REQ_STATE,
    KT__REQ_HIST_WRITE, /* changed chunks from the sampler (no one waits) */
    KT__REQ_HIST_READ,  /* a series' chunks in a range */
    KT__REQ_SERIES,     /* the list of series */
    KT__REQ_OUTBOX_ADD,
    KT__REQ_OUTBOX_SET,
    KT__REQ_OUTBOX_BODY,
    KT__REQ_OUTBOX_PENDING,
    KT__REQ_SILENCE_PUT,
    KT__REQ_NOTIFY_DUE,
    KT__REQ_NOTIFY_DONE,
    KT__REQ_REMEDY,
} kt__req_kind_t;

typedef struct kt__remedy_req_t kt__remedy_req_t;

/* ---- chunk.c: a series' points, packed ------------------------------------------------ */

#define KT__CHUNK_MAX_SLOTS 4096

typedef struct {
    int64_t t_ms;
    double avg, min, max; /* all three the same in the raw tier */
} kt__point_t;

/* A chunk being filled. Points are appended in time order; each takes the
 * slot nearest its time. */
typedef struct {
    int64_t t0_ms, step_ms;  /* slot k is at t0 + k * step */
    unsigned nvals;          /* 1 (raw: the value) or 3 (average, min, max) */
    unsigned max_slots, nslots, npoints;
    int64_t prev;            /* the last point's (average) value, quantized */
    uint8_t *data;           /* malloc'd; bits past nbits are zero */
    size_t nbits, cap;
    int dirty;               /* changed since the store was handed a copy */
} kt__chunk_t;

/* Starts (or restarts, keeping the buffer) an empty chunk. */
void kt__chunk_start(kt__chunk_t *c, int64_t t0_ms, int64_t step_ms, unsigned nvals,
                     unsigned max_slots);
void kt__chunk_free(kt__chunk_t *c);
/* Appends a point of quantized values {average[, min, max]}: 0, or 1 when it
 * does not fit (its slot is past the chunk's end, before its start, or after
 * a gap of more than a quarter of the chunk), or -1 without memory; the
 * chunk is unchanged unless 0. */
int kt__chunk_append(kt__chunk_t *c, int64_t t_ms, const int64_t *q);
/* The time of the last point (t0 when empty). */
int64_t kt__chunk_end_ms(const kt__chunk_t *c);
/* Decodes up to npoints points into out, values times scale; returns how
 * many were read (fewer when the data is cut short). */
unsigned kt__chunk_decode(const uint8_t *data, size_t nbytes, unsigned nvals, int64_t t0_ms,
                          int64_t step_ms, unsigned npoints, double scale, kt__point_t *out);
/* v in units of scale, rounded, within int64_t. */
int64_t kt__quantize(double v, double scale);

/* ---- history.c / history_db.c: the tiers ---------------------------------------------- */

enum { KT__TIER_RAW, KT__TIER_MINUTE, KT__TIER_HOUR, KT__TIERS };

#define KT__SERIES_NAME 96
#define KT__SERIES_MAX 1024       /* series kept; more are not recorded */
#define KT__HIST_FLUSH_S 8        /* changed chunks reach the disk this often: a crash loses < 10 s */
#define KT__HIST_PENDING 8192     /* chunk copies kept while the disk refuses them */

/* A chunk as it travels between the sampler's side and the store thread. */
typedef struct {
    char name[KT__SERIES_NAME];
    const char *unit; /* static strings */
    double scale;
    int tier;
    int64_t t0_ms, t1_ms, step_ms;
    unsigned npoints;
    uint8_t *data; /* malloc'd */
    size_t nbytes;
} kt__chunk_row_t;

void kt__rows_free(kt__chunk_row_t *rows, unsigned n);
typedef struct kt__req_t {
    kt__req_kind_t kind;
    struct kt__req_t *next;
    int done;      /* under the lock: the thread finished it */
    int abandoned; /* under the lock: the caller stopped waiting; the thread frees it */
    apr_status_t status;
    /* KT__REQ_EVENTS */
    kt_event_t *events;
    unsigned nevents;
    /* KT__REQ_QUERY */
    kt_store_query_t query;
    json_t *result;
    /* KT__REQ_CLEAR */
    const char *who;
    unsigned removed;
    /* KT__REQ_STATE */
    json_t *state;
    /* KT__REQ_HIST_WRITE (in), KT__REQ_HIST_READ (out) */
    kt__chunk_row_t *rows;
    unsigned nrows;
    /* KT__REQ_HIST_READ */
    char series[KT__SERIES_NAME];
    int tier;
    int64_t from_ms, to_ms;
    /* KT__REQ_OUTBOX_*: the note, its body (malloc'd), the new state and error */
    int detached; /* submitted without waiting: the thread frees it */
    kt_store_note_t note;
    char *body;
    const char *note_state;
    char *note_error;
    kt_store_note_t *notes; /* pending: malloc'd */
    uint64_t event_id;      /* KT__REQ_NOTIFY_DONE */
    unsigned nnotes;
    /* KT__REQ_SILENCE_PUT: the silence (taken) */
    json_t *silence;
    /* KT__REQ_REMEDY (remedy.c): owned by the request */
    kt__remedy_req_t *remedy;
} kt__req_t;

/* The database as the store thread holds it (db.c). */
typedef struct {
    const apr_dbd_driver_t *drv;
    apr_dbd_t *handle;
    apr_pool_t *pool;    /* the driver's and the series ids' */
    apr_pool_t *conn;    /* the handle's and the prepared statements' */
    apr_pool_t *scratch; /* cleared after each request */
    int writable;        /* 0: no handle, or one that can only read */
    int waiting;         /* the file cannot be written now: opened again at next_open */
    apr_time_t next_open;
    apr_dbd_prepared_t *insert_event, *select_next, *select_last, *delete_older,
        *delete_beyond, *put_meta, *get_meta, *journal, *put_series, *get_series, *put_chunk,
        *get_chunks, *trim_tier, *outbox_add, *outbox_set, *due_add, *due_done, *outbox_body, *outbox_trim,
        *silence_put, *silence_list, *silence_trim, *insert_remedy, *update_remedy,
        *select_remedy, *select_remedies, *insert_audit, *select_audit_next, *select_audit_last;
} kt__db_t;

typedef struct kt__hist_t kt__hist_t; /* history.c: the series being recorded */

struct kt_store_t {
    kt_store_opts_t opts; /* its retention under the lock (kt_store_set_retention) */
    apr_pool_t *pool;
    apr_thread_t *thread;

    apr_thread_mutex_t *lock; /* a leaf lock: guards everything down to last_id */
    apr_thread_cond_t *work;  /* requests for the thread, or stop */
    apr_thread_cond_t *done;  /* a request finished */
    kt__req_t *head, *tail;
    unsigned queued;
    int stopping;
    kt_store_info_t info;
    uint64_t last_id;

    /* Read at open, before the thread starts; never changed after. */
    int read_at_start; /* the file could be read then (the store thread's after) */
    int usable; /* not off at the start: requests go to the thread, which may wait for its file */
    json_t *saved_state;
    apr_time_t saved_at;
    json_t *saved_silences; /* those of the last day and on, by id; NULL if unread */

    /* The store thread's alone. */
    kt__db_t db;
    uint64_t mark_id;    /* the high-water mark last committed beside the log */
    kt_event_t *backlog; /* events the disk refused, oldest first (malloc'd) */
    unsigned nbacklog;
    apr_time_t next_retry;
    apr_time_t next_trim; /* under the lock */
    apr_hash_t *series_ids;   /* name -> int64_t id in the series table (db.pool) */
    kt__chunk_row_t *hpending; /* chunks the disk refused, newest copy of each (malloc'd) */
    unsigned nhpending;
    apr_time_t hist_retry;

    /* The sampler's side of the history, under its own leaf lock. */
    kt__hist_t *hist;
};

/* ---- store.c: the queue ------------------------------------------------------------------ */

/* Enqueues r; with wait, waits for the thread to finish it and returns its
 * status (the caller then owns r). APR_TIMEUP: no answer in time (the
 * thread frees r); APR_EOF: the store is closing (r is freed). */
apr_status_t kt__store_submit(kt_store_t *s, kt__req_t *r, int wait);
void kt__req_free(kt__req_t *r);

/* ---- db.c: the file, its schema, its statements ------------------------------------ */

/* Opens path (creating it owner-only), recovers a corrupt file, migrates to
 * KT_STORE_SCHEMA and prepares the statements. A file that cannot be written
 * now leaves the store degraded and waiting (db.waiting), with a handle that
 * only reads when the file can be read; any other failure turns the store
 * off. info->state and info->message say why. Called again to retry. */
void kt__db_open(kt_store_t *s);
void kt__db_close(kt_store_t *s);
/* Closes the handle alone (the driver stays). */
void kt__db_close_handle(kt_store_t *s);
/* Turns the store off, with the reason in info->message, logged. */
void kt__db_set_off(kt_store_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs sql (no rows back); the driver's error code, 0 on success. */
int kt__db_exec(kt_store_t *s, const char *sql);
/* The first column of the first row of res (the rest read out), in the
 * scratch pool; NULL when there is none. */
const char *kt__db_first(kt_store_t *s, apr_dbd_results_t *res);
/* The first column of the first row of sql, in the scratch pool; NULL when none. */
const char *kt__db_value(kt_store_t *s, const char *sql);
/* Sets s->info's size from the file and its WAL. */
void kt__db_measure(kt_store_t *s);
/* A number (ms since the epoch for a time) as a statement's argument: the
 * driver binds text. In the scratch pool. */
const char *kt__db_i64(kt_store_t *s, int64_t v);
const char *kt__db_u64(kt_store_t *s, uint64_t v);
const char *kt__db_ms(kt_store_t *s, apr_time_t t);
/* A message for the driver's error code rc, in the scratch pool. */
const char *kt__db_error(kt_store_t *s, int rc);

/* ---- events.c: what the requests do --------------------------------------------------- */

apr_status_t kt__events_write(kt_store_t *s, const kt_event_t *ev, unsigned n);
apr_status_t kt__events_query(kt_store_t *s, const kt_store_query_t *q, json_t **out);
apr_status_t kt__events_clear(kt_store_t *s, const char *who, unsigned *removed);
/* Deletes by age and count; counts what is left into s->info. */
void kt__events_trim(kt_store_t *s);
/* Counts the stored events into info.events (the writes keep it since). */
void kt__events_count(kt_store_t *s);
apr_status_t kt__state_write(kt_store_t *s, json_t *state);
json_t *kt__state_read(kt_store_t *s, apr_time_t *saved_at);
uint64_t kt__events_last_id(kt_store_t *s);
/* The size cap: the oldest raw readings go first, then the coarse tiers,
 * then the oldest events (the newest hundred always stay). */
void kt__db_cap_size(kt_store_t *s, uint64_t cap);
/* Bytes of the file in use: its pages less the free ones. */
uint64_t kt__db_bytes_in_use(kt_store_t *s);

/* ---- history_db.c: the tiers on disk (the store thread's) --------------------------------- */

/* Takes the rows (and their data) into the pending copies and writes them
 * all; on failure they stay pending and the store is degraded. */
void kt__hist_write(kt_store_t *s, kt__chunk_row_t *rows, unsigned n);
/* Tries the pending copies again. */
void kt__hist_retry(kt_store_t *s);
/* A series' chunks of one tier that may hold points in [from, to], by time. */
apr_status_t kt__hist_read(kt_store_t *s, const char *name, int tier, int64_t from_ms,
                           int64_t to_ms, kt__chunk_row_t **rows, unsigned *n);
/* The series: name, unit, first and last time. */
apr_status_t kt__hist_series(kt_store_t *s, json_t **out);
/* Deletes what each tier keeps no longer, a bounded number of chunks at a
 * time: 1 when more is left. */
int kt__hist_trim(kt_store_t *s);
/* Reads the series ids; then, for each series, the newest points of each
 * tier, into the sampler's side (history.c: kt__hist_resume). */
void kt__hist_load(kt_store_t *s);

/* ---- history.c: the sampler's side ------------------------------------------------------- */

apr_status_t kt__hist_create(kt_store_t *s);
void kt__hist_destroy(kt_store_t *s);
/* While loading (kt__hist_load on the store thread), whoever records or
 * reads the history waits: it would miss the buckets the last run left open. */
void kt__hist_loading(kt_store_t *s, int loading);
/* After a restart: where a series left off. tail holds the points of the
 * finer tier after the last point of the coarser one (raw points after the
 * last minute, minutes after the last hour), so the buckets open at the stop
 * go on; last_raw_ms: the newest raw point. */
void kt__hist_resume(kt_store_t *s, const char *name, const char *unit, double scale,
                     int64_t last_raw_ms, const kt__point_t *raw_tail, unsigned nraw,
                     const kt__point_t *minute_tail, unsigned nminute);
/* Copies every changed chunk for the store thread (all of them with force). */
void kt__hist_flush(kt_store_t *s, int force);
/* ---- outbox.c: the notification outbox ------------------------------------------------ */

void kt__outbox_run(kt_store_t *s, kt__req_t *r);
/* Deletes sent and failed rows older than KT_STORE_OUTBOX_DAYS. */
void kt__outbox_trim(kt_store_t *s);
/* The silences that ended less than a day ago or later, by id (read at open). */
apr_status_t kt__silences_read(kt_store_t *s, json_t **out);

/* ---- store.c: more of the queue, for the other files' requests ----------------------------- */

/* The request is still the caller's after kt__store_submit returned st. */
int kt__store_still_mine(apr_status_t st);
/* Asks the thread for a request of kind that answers with JSON (in
 * r->result): *out is the caller's. KT_EUNAVAIL when the store is off. */
apr_status_t kt__store_ask_json(kt_store_t *s, kt__req_kind_t kind, json_t **out);
kt__req_t *kt__store_req_new(kt__req_kind_t kind);

/* ---- remedy.c: remediations and the audit on the store thread --------------------------- */

apr_status_t kt__remedy_run(kt_store_t *s, kt__remedy_req_t *q);
void kt__remedy_req_free(kt__remedy_req_t *q);

#endif
