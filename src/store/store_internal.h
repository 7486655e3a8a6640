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
    KT__REQ_REMEDY
} kt__req_kind_t;

typedef struct kt__remedy_req_t kt__remedy_req_t;

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
    /* KT__REQ_REMEDY (remedy.c): owned by the request */
    kt__remedy_req_t *remedy;
} kt__req_t;

/* The database as the store thread holds it (db.c). */
typedef struct {
    const apr_dbd_driver_t *drv;
    apr_dbd_t *handle;
    apr_pool_t *pool;  /* the handle's and the prepared statements' */
    apr_pool_t *scratch; /* cleared after each request */
    apr_dbd_prepared_t *insert_event, *select_next, *select_last, *delete_older,
        *delete_beyond, *put_meta, *get_meta, *journal, *insert_remedy, *update_remedy,
        *select_remedy, *select_remedies, *insert_audit, *select_audit_next, *select_audit_last;
} kt__db_t;

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
    json_t *saved_state;
    apr_time_t saved_at;

    /* The store thread's alone. */
    kt__db_t db;
    uint64_t mark_id;    /* the high-water mark last committed beside the log */
    kt_event_t *backlog; /* events the disk refused, oldest first (malloc'd) */
    unsigned nbacklog;
    apr_time_t next_retry;
    apr_time_t next_trim; /* under the lock */
};

/* ---- db.c: the file, its schema, its statements ------------------------------------ */

/* Opens path (creating it owner-only), recovers a corrupt file, migrates to
 * KT_STORE_SCHEMA and prepares the statements. On failure the store is off:
 * info->state and info->message say why. */
void kt__db_open(kt_store_t *s);
void kt__db_close(kt_store_t *s);
/* Runs sql (no rows back); the driver's error code, 0 on success. */
int kt__db_exec(kt_store_t *s, const char *sql);
/* The first column of the first row of res (the rest read out), in the
 * scratch pool; NULL when there is none. */
const char *kt__db_first(kt_store_t *s, apr_dbd_results_t *res);
/* The first column of the first row of sql, in the scratch pool; NULL when none. */
const char *kt__db_value(kt_store_t *s, const char *sql);
/* Sets s->info's size from the file and its WAL. */
void kt__db_measure(kt_store_t *s);
/* A message for the driver's error code rc, in the scratch pool. */
const char *kt__db_error(kt_store_t *s, int rc);

/* ---- events.c: what the requests do --------------------------------------------------- */

apr_status_t kt__events_write(kt_store_t *s, const kt_event_t *ev, unsigned n);
apr_status_t kt__events_query(kt_store_t *s, const kt_store_query_t *q, json_t **out);
apr_status_t kt__events_clear(kt_store_t *s, const char *who, unsigned *removed);
/* Deletes by age and count; counts what is left into s->info. */
void kt__events_trim(kt_store_t *s);
apr_status_t kt__state_write(kt_store_t *s, json_t *state);
json_t *kt__state_read(kt_store_t *s, apr_time_t *saved_at);
uint64_t kt__events_last_id(kt_store_t *s);

/* ---- store.c: the queue, for the other files' requests ------------------------------------ */

/* Enqueues r and waits for its answer; see submit in store.c. */
apr_status_t kt__store_submit(kt_store_t *s, kt__req_t *r);
/* The request is still the caller's after kt__store_submit returned st. */
int kt__store_still_mine(apr_status_t st);
kt__req_t *kt__store_req_new(kt__req_kind_t kind);
void kt__store_req_free(kt__req_t *r);

/* ---- remedy.c: remediations and the audit on the store thread --------------------------- */

apr_status_t kt__remedy_run(kt_store_t *s, kt__remedy_req_t *q);
void kt__remedy_req_free(kt__remedy_req_t *q);

#endif
