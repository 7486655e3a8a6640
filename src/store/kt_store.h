/*
 * kt_store.h - koto's memory across restarts: the event log and the alert
 * state in STATE_DIR/koto.db, SQLite through APR-DBD's sqlite3 driver.
 *
 * DESIGN
 * One store thread owns the database handle; every other thread talks to it
 * through a bounded queue (the driver serialises every statement under one
 * process-wide mutex and sets no busy timeout, so one owner is the only
 * sound way to use it). Writes of events wait for their commit: an event is
 * durable before the stream, the API or a notification can see it. Queries
 * wait for their answer on the caller's thread, which is a worker, never the
 * HTTP loop.
 *
 * The database: WAL, synchronous=NORMAL (a process crash loses no commit),
 * incremental auto-vacuum, owner-only file permissions (platform/kt_sys.h),
 * schema versioned by PRAGMA user_version with forward migrations at open.
 * A corrupt or unreadable file is moved aside (koto.db.corrupt-<time>) and a
 * fresh one started; a file from a newer schema is left untouched and the
 * store stays off; a write that fails (disk full, read-only directory)
 * marks the store degraded, keeps the events in memory and writes them when
 * it can. In every case kotod goes on from memory, and kt_store_info says
 * why.
 *
 * Thread-safety: every function may be called from any thread, after
 * kt_store_open and before kt_store_close. Lock order: the store's queue
 * lock is a leaf (kt_mon.h lists the daemon's order).
 */
#ifndef KT_STORE_H
#define KT_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "kt_base.h"
#include "kt_mon.h"

#define KT_STORE_SCHEMA 5 /* the newest schema this build reads and writes: db.c's migrations */

typedef struct kt_store_t kt_store_t;

typedef struct {
    const char *path;          /* the database file */
    unsigned event_days;       /* events older than this are deleted (0: kept) */
    unsigned max_events;       /* beyond this many, the oldest go (0: no limit) */
    unsigned max_mb;           /* the database's size cap in MiB (0: none) */
    unsigned raw_hours;        /* each reading's values are kept this long (0: 48) */
    unsigned minute_days;      /* the 1-minute tier (0: 30) */
    unsigned hour_days;        /* the 1-hour tier (0: 730) */
    /* Opened before its settings are final (kotod's start, which may still
     * refuse them): only a file there is, of this build's schema, that can
     * be written. Any other is left as it is (not made, migrated or moved
     * aside) and the store returned off, quietly; and nothing is deleted
     * until kt_store_set_retention, which ends the tentative state. */
    int tentative;
} kt_store_opts_t;

typedef enum {
    KT_STORE_OK,       /* reading and writing */
    KT_STORE_DEGRADED, /* writes fail; kept in memory until they succeed */
    KT_STORE_OFF,      /* no database: refused, or the driver is missing */
} kt_store_state_t;

typedef struct {
    kt_store_state_t state;
    char message[512];      /* why it is degraded or off; what was recovered */
    uint64_t size_bytes;    /* the database file with its WAL */
    uint64_t events;        /* stored events */
    uint64_t pending;       /* events waiting for the disk */
    int schema;             /* the file's user_version (0 when off) */
} kt_store_info_t;

/* Opens (creating, migrating or recovering) the database and starts the
 * store thread. Never fails for the database's sake: a store that cannot
 * use its file is returned OFF with the reason in kt_store_info. Fails only
 * when the thread or its memory cannot be had. */
apr_status_t kt_store_open(kt_store_t **out, const kt_store_opts_t *opts, apr_pool_t *pool);
/* Writes what is pending, stops the thread and closes the database. */
void kt_store_close(kt_store_t *s);
/* What kotod wires at start: the store becomes the monitor's journal (the
 * events of each reading and the detectors' state are written to it) and
 * records every reading's history (a kt_mon_subscribe callback). The
 * journal is set whatever; fails only when the subscription cannot be had. */
apr_status_t kt_store_follow(kt_store_t *s, kt_mon_t *m);

void kt_store_info(kt_store_t *s, kt_store_info_t *out);
/* Applies new retention settings (a reload, or the final ones of a store
 * opened with its trims held, which it releases); the next trim, at the
 * next request, uses them. */
void kt_store_set_retention(kt_store_t *s, const kt_store_opts_t *opts);
const char *kt_store_state_name(kt_store_state_t st);

/* ---- events ------------------------------------------------------------------------- */

/* Commits events (waiting for the disk, at most a few seconds). On a write
 * failure they stay pending in memory, the store turns degraded, and the
 * status says so; the call still returns, so readings go on. */
apr_status_t kt_store_put_events(kt_store_t *s, const kt_event_t *ev, unsigned n);

/* The highest event id ever given out (stored, pending or cleared), so ids
 * go on increasing across restarts and clears. */
uint64_t kt_store_last_event_id(kt_store_t *s);

typedef struct {
    int type, severity;     /* -1: any */
    uint64_t since_id;      /* only ids above (0: no bound) */
    uint64_t before_id;     /* only ids below (0: no bound) */
    apr_time_t from, to;    /* only times in [from, to] (0: no bound) */
    unsigned limit;         /* at most this many (1..10000) */
} kt_store_query_t;

/* The matching events as a JSON array, oldest first, in *out (the caller
 * owns it). With since_id and no before_id, the first `limit` after it (the
 * next page); otherwise the last `limit` (the newest page, or the page
 * before before_id). KT_EUNAVAIL when the store is off. */
apr_status_t kt_store_events(kt_store_t *s, const kt_store_query_t *q, json_t **out);

/* Empties the event log, recording when, by whom and how many. */
apr_status_t kt_store_clear_events(kt_store_t *s, const char *who, unsigned *removed);

/* ---- history ----------------------------------------------------------------------------- */

/* Records every series of a reading: CPU total and per core, memory, swap,
 * load, each filesystem's used % and inodes %, each interface's rates, each
 * disk's busy % and throughput, process and thread counts, pressure. Meant
 * for the sampler thread (a kt_mon_subscribe callback), with the interval
 * the reading was taken at (kt_snap_interval_ms): it packs the values
 * in memory and every few seconds hands what changed to the store thread,
 * so a crash loses at most that much. Three tiers: each reading, 1-minute
 * and 1-hour buckets (min, average, max), each kept as long as its setting.
 * lean (kotod over its own budget) records the aggregates and each
 * filesystem's used % only: no core, interface, disk or inode series. */
void kt_store_record(kt_store_t *s, const kt_sample_t *sample, unsigned interval_ms, int lean);

/* One series over [from, to] in at most `points` buckets (min, average,
 * max each), from the coarsest tier still fine enough for that and old
 * enough to reach from. The answer:
 *   {"metric", "unit", "tier": "raw"|"1m"|"1h", "bucket_ms", "from", "to", "points",
 *    "t": [...], "avg": [...], "min": [...], "max": [...]}
 * with null in buckets without a point. KT_ENOTFOUND: no such series;
 * KT_EUNAVAIL: the store is off. */
apr_status_t kt_store_history(kt_store_t *s, const char *metric, apr_time_t from, apr_time_t to,
                              unsigned points, json_t **out);
/* The series recorded: [{"metric", "unit", "first", "last"}] (times in ms). */
apr_status_t kt_store_series(kt_store_t *s, json_t **out);

/* The same series as readings again, for replaying them through other
 * thresholds (kotod --replay). Tiers: 0 each reading, 1 the minutes, 2 the
 * hours. */
typedef struct {
    int64_t t_ms;
    double v; /* the reading's value, or the bucket's average */
} kt_store_point_t;
/* "raw", "1m" or "1h". */
const char *kt_store_tier_name(int tier);
/* The width of a tier's points: the readings' interval for tier 0 (0 when
 * none was recorded yet). */
int64_t kt_store_tier_step_ms(kt_store_t *s, int tier);
/* Whether tier keeps points as old as from (its retention setting). */
int kt_store_tier_reaches(kt_store_t *s, int tier, apr_time_t from);
/* Every series' name (the store's and this run's), in pool. */
apr_status_t kt_store_series_names(kt_store_t *s, apr_array_header_t **out, apr_pool_t *pool);
/* One series' points in tier over [from, to], oldest first (*out malloc'd;
 * the caller frees it), and the width of the newest chunk's slots in
 * *step_ms (may be NULL; 0 without points). KT_ENOTFOUND: no such series. */
apr_status_t kt_store_points(kt_store_t *s, const char *metric, int tier, apr_time_t from,
                             apr_time_t to, kt_store_point_t **out, unsigned *n,
                             int64_t *step_ms);

/* ---- the monitor's state across restarts ------------------------------------------------ */

/* Keeps the detectors' state (kt_mon_state) to be restored at the next
 * start; written in the background, the newest one wins. Takes state. */
void kt_store_put_state(kt_store_t *s, json_t *state);
/* The state kept by the last run and when it was kept, or NULL. */
json_t *kt_store_get_state(kt_store_t *s, apr_time_t *saved_at);

/* ---- the notification outbox ---------------------------------------------------------- */

/* One notification as the outbox keeps it; its body stays on disk. */
typedef struct {
    char id[64];          /* the delivery id (webhook-id), the same on every attempt */
    char channel[72];
    apr_time_t created;
    apr_time_t next;      /* when the next attempt is due */
    unsigned attempts;
} kt_store_note_t;

#define KT_STORE_OUTBOX_DAYS 7 /* sent and failed rows are kept this long */

/* Writes a new pending notification, waiting for the commit: it is durable
 * before its first attempt. KT_EUNAVAIL when the store is off or refuses,
 * APR_EEXIST when the outbox has a notification of that id already. */
apr_status_t kt_store_outbox_add(kt_store_t *s, const kt_store_note_t *n, const char *body);
/* Records an attempt's outcome in the background: state "pending" (to be
 * retried at n->next), "sent" or "failed", with the last error. */
void kt_store_outbox_set(kt_store_t *s, const kt_store_note_t *n, const char *state,
                         const char *error);
/* The body of notification id (malloc'd, the caller frees it). */
apr_status_t kt_store_outbox_body(kt_store_t *s, const char *id, char **body);
/* The pending notifications, oldest first (malloc'd array in *out, the
 * caller frees it): what a restart goes on delivering. */
apr_status_t kt_store_outbox_pending(kt_store_t *s, kt_store_note_t **out, unsigned *n);

/* The logged events whose notifications the notifier has not written yet
 * (those with routed set, kt_mon.h), as the log keeps them, oldest first
 * (the caller owns *out): what a restart routes again. */
apr_status_t kt_store_notify_due(kt_store_t *s, json_t **out);
/* Event id's notifications are in the outbox (or were not wanted after
 * all): it is no longer due. In the background, after what was asked before. */
void kt_store_notify_done(kt_store_t *s, uint64_t event_id);

/* ---- silences ------------------------------------------------------------------------ */

/* Writes a silence ({id, ends_at (ms), ...}, taken) over any of its id,
 * waiting for the commit. */
apr_status_t kt_store_silence_put(kt_store_t *s, json_t *silence);
/* The silences that had ended less than a day before the store opened, or
 * ended later, by id, as the store read them when it opened (the caller
 * owns *out; KT_EUNAVAIL if the file could not be read then). Older ones go
 * with the trim. Read at open: the first request to the store's thread
 * waits for its first upkeep, a few milliseconds of the start. */
apr_status_t kt_store_silences(kt_store_t *s, json_t **out);
/* ---- remediations and their audit --------------------------------------------------------- */

/* One row of the audit, appended in the same transaction as the change it
 * records. Strings are copied; detail is borrowed (may be NULL). */
typedef struct {
    const char *action; /* proposed, approved, denied, expired, refused, run_started, run_ended... */
    const char *who;    /* the client's address, "configuration", "kotod" */
    uint64_t remedy_id, event_id;
    const char *sha256; /* the script's, as the action saw it ("" when none) */
    json_t *detail;
} kt_store_audit_t;

/* Writes doc (borrowed) as remediation *id in state: a new one when *id is
 * 0 (*id set, doc gets its "id"), else only when its stored state is
 * expect (KT_ESTATE otherwise, nothing written). doc's "state" is set to
 * state. The audit row (may be NULL) goes in the same transaction. */
apr_status_t kt_store_put_remedy(kt_store_t *s, uint64_t *id, const char *expect,
                                 const char *state, json_t *doc, const kt_store_audit_t *audit);
/* Appends one audit row on its own. */
apr_status_t kt_store_put_audit(kt_store_t *s, const kt_store_audit_t *audit);
/* Remediation id as stored (KT_ENOTFOUND when there is none). */
apr_status_t kt_store_get_remedy(kt_store_t *s, uint64_t id, json_t **out);
/* The newest `limit` remediations below before_id (0: none), in state
 * ("" or NULL: any), newest first. */
apr_status_t kt_store_remedies(kt_store_t *s, const char *state, uint64_t before_id,
                               unsigned limit, json_t **out);
/* Audit rows as a JSON array, oldest first: the next `limit` after since_id
 * when since_id is given without before_id, else the last `limit` (before
 * before_id). */
apr_status_t kt_store_audit(kt_store_t *s, uint64_t since_id, uint64_t before_id, unsigned limit,
                            json_t **out);

#endif
