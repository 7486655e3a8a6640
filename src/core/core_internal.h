/*
 * core_internal.h - private to src/core/: the pieces the monitor is built
 * from. Names are kt__mon_* / kt__*; code outside src/core uses kt_mon.h.
 */
#ifndef KT_CORE_INTERNAL_H
#define KT_CORE_INTERNAL_H

#include "kt_mon.h"
#include "kt_base.h"

#include <stdatomic.h>

#include <apr_allocator.h>
#include <apr_hash.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

/* ---- ring: the last cap elements of a fixed size (ring.c) ---------------------- */

typedef struct {
    char *data;
    size_t size;
    unsigned cap, start, count;
} kt__ring_t;

void kt__ring_init(kt__ring_t *r, size_t elem_size, unsigned cap, apr_pool_t *pool);
void kt__ring_push(kt__ring_t *r, const void *elem); /* overwrites the oldest when full */
const void *kt__ring_at(const kt__ring_t *r, unsigned i); /* 0 = oldest */
void kt__ring_clear(kt__ring_t *r);

/* ---- event log (events.c) and history (history.c); callers hold the lock ---------- */

unsigned kt__evlog_query(const kt__ring_t *log, const kt_event_filter_t *f, kt_event_t *out,
                         unsigned max);

void kt__history_point(const kt_sample_t *s, kt_hist_point_t *out);
unsigned kt__history_query(const kt__ring_t *h, apr_time_t since, kt_hist_point_t *out,
                           unsigned max);

/* ---- fill trends (trend.c): each filesystem's rate, for disk_fill ---------------- */

#define KT__TREND_POINTS 72

typedef struct {
    char mount[160];
    int64_t width_ms;                 /* a bucket: the window / KT__TREND_POINTS */
    int64_t t_ms[KT__TREND_POINTS];   /* a ring of bucket means: their middle... */
    double v[KT__TREND_POINTS];       /* ...and the used % */
    unsigned n, head;
    int64_t acc_start_ms;             /* the bucket being gathered */
    double acc_sum;
    unsigned acc_n;
    double slope;   /* used % per second through the buckets (Theil-Sen); NAN: none */
    double span_s;  /* the time the fit covers */
    int seen;       /* in the current reading */
} kt__trend_t;

/* Folds a reading's used % in; a changed window starts the trend over. */
void kt__trend_add(kt__trend_t *tr, double window_s, apr_time_t t, double used_pct);
/* Seconds until full at the fitted rate: NAN when less than min_window_s
 * was seen, INFINITY when not filling (or by less than min_growth_pct over
 * what was seen). */
double kt__trend_seconds_to_full(const kt__trend_t *tr, double used_pct, double min_window_s,
                                 double min_growth_pct);
json_t *kt__trend_save(const kt__trend_t *tr);
void kt__trend_restore(kt__trend_t *tr, json_t *j);

/* ---- detectors (detect.c); owned by whoever ingests samples ---------------------- */

typedef struct kt__cond_t kt__cond_t;

/* A condition's key: "disk:/var", or a Lua condition's identity and subject. */
#define KT__COND_KEY 300

/* What a check keeps between readings (checks.c), matched to its check by name. */
typedef struct {
    char name[64];
    int64_t last_pid;  /* process: the lowest pid seen last time it ran (0: none yet) */
    unsigned restarts; /* process: times it came back under another pid */
} kt__check_state_t;

/* kotod's own usage over its last readings, against its budget (budget.c). */
typedef struct {
    apr_time_t t[KT_MON_BUDGET_WINDOW]; /* a ring of (time, CPU seconds) */
    double cpu_s[KT_MON_BUDGET_WINDOW];
    unsigned n, next;
    uint64_t readings;   /* seen since the start */
    unsigned procs_within; /* processes read at the last reading within budget */
    kt_mon_self_t self;
} kt__budget_t;

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *conds;  /* key -> kt__cond_t (malloc'd; freed when resolved) */
    apr_hash_t *trends; /* mount point -> kt__trend_t (malloc'd; freed when unmounted) */
    apr_hash_t *flaps;  /* key -> kt__flap_t (malloc'd): recent states, kept past resolution */
    uint64_t next_id;
    double baseline;    /* moving average of CPU busy %, for spikes */
    unsigned nbaseline; /* readings folded into it */
    kt__check_state_t *checks; /* malloc'd, one per configured check */
    unsigned nchecks;
    kt__budget_t budget;
} kt__detect_t;

/* One run of the detectors over a reading (detect.c). */
typedef struct {
    kt__detect_t *d;
    const kt_sample_t *s;
    kt_event_t *out;
    unsigned n, max;
    const char *check_text; /* the message of a check's event, while it is judged */
    const kt_mon_verdict_t *verdict; /* the Lua condition's, while it is judged */
} kt__run_t;

/* Whether the condition under key has started (and not resolved). */
int kt__detect_holds(const kt__detect_t *d, const char *key);
/* Where verdict v stands after the reading that judged it. */
void kt__detect_verdict_state(const kt__detect_t *d, const kt_mon_verdict_t *v,
                              kt_mon_cond_state_t *out);

/* kotod against its own budget, judged at each reading (budget.c). */
void kt__budget_run(kt__run_t *r, const kt_mon_conf_t *conf);
/* Whether the next reading should leave the process scan out: kotod is
 * over its budget and the last reading (may be NULL) scanned them. */
int kt__budget_sheds_procs(const kt__budget_t *b, const kt_sample_t *last);
/* Fills s's processes, top lists and counts from the reading before (from),
 * copied into pool, for a reading that did not scan them (procs_carried). */
void kt__budget_carry_procs(kt_sample_t *s, const kt_sample_t *from, apr_pool_t *pool);

/* ---- checks (checks.c lists the kinds; one file each: check_process.c) ------------ */

/* Judges one check at one reading: failing > 0 (0..100, the severity's
 * scale) or 0 when it holds, NAN when unknown. text is the event's message
 * (both for start and resolve: the kind writes what it sees now); evidence
 * goes in the event's process list. */
void kt__detect_check(kt__run_t *r, const kt_mon_check_t *chk, kt_event_type_t type,
                      double value, double threshold, double failing, const char *text,
                      const kt_event_proc_t *evidence, unsigned nevidence);

typedef void (*kt__check_fn)(kt__run_t *r, const kt_mon_check_t *chk, kt__check_state_t *st);
typedef struct {
    const char *kind;
    kt__check_fn judge;
    /* Checks the kind's own fields; a message into err on failure. */
    int (*valid)(const kt_mon_check_t *chk, char *err, size_t len);
} kt__check_kind_t;

const kt__check_kind_t *kt__check_kind(const char *kind);
/* Judges every configured check (checks.c): the state follows the list. */
void kt__checks_run(kt__run_t *r, const kt_mon_conf_t *conf);

/* check_process.c */
void kt__check_process(kt__run_t *r, const kt_mon_check_t *chk, kt__check_state_t *st);
int kt__check_process_valid(const kt_mon_check_t *chk, char *err, size_t len);
/* check_service.c */
void kt__check_service(kt__run_t *r, const kt_mon_check_t *chk, kt__check_state_t *st);
int kt__check_service_valid(const kt_mon_check_t *chk, char *err, size_t len);

void kt__detect_init(kt__detect_t *d, apr_pool_t *pool);
void kt__detect_fini(kt__detect_t *d); /* also frees the checks' state */
/* Judges one sample; writes at most max new events (ids assigned) into out. */
unsigned kt__detect_run(kt__detect_t *d, const kt_mon_conf_t *c, const kt_sample_t *s,
                        const kt_mon_verdict_t *v, unsigned nv, kt_event_t *out, unsigned max);
/* The conditions and the spike baseline as JSON, to carry across a restart. */
json_t *kt__detect_save(const kt__detect_t *d);
/* Takes back what kt__detect_save wrote (marking each condition restored, so
 * one found gone at the next reading resolves "while kotod was down");
 * returns how many conditions were active. */
unsigned kt__detect_restore(kt__detect_t *d, json_t *state);
/* Flap detection (flap.c), at the end of each run: marks the run's events
 * out[first..n) of conditions that flap (in_flap), records each condition's
 * state, and appends flapping_start / flapping_end events; returns the new n. */
typedef struct kt__flap_t kt__flap_t;
unsigned kt__flap_run(kt__detect_t *d, const kt_mon_conf_t *c, apr_time_t now, kt_event_t *out,
                      unsigned first, unsigned n, unsigned max);
void kt__flap_fini(kt__detect_t *d);
/* The conditions' recent states, for the saved state, and back (entries
 * that do not read as written are left out). */
json_t *kt__flap_save(const kt__detect_t *d);
void kt__flap_restore(kt__detect_t *d, json_t *list);
/* For flap.c: 1 and the condition in *out when key's condition is active, else 0. */
int kt__detect_active_one(const kt__detect_t *d, const char *key, kt_mon_active_t *out);

/* Copies the conditions holding now into out; returns the count. */
unsigned kt__detect_active(const kt__detect_t *d, kt_mon_active_t *out, unsigned max);

/* Formats a byte count the way a person reads it ("1.5 GiB"). */
const char *kt__fmt_bytes(uint64_t bytes, char *buf, size_t len);

/* ---- snapshots (snapshot.c) ------------------------------------------------------- */

struct kt_snap_t {
    atomic_uint refs;
    apr_pool_t *pool; /* unmanaged; holds the sample and this struct */
    kt_sample_t sample;
    uint64_t seq;
    double duration_ms;
    unsigned interval_ms;
    int shedding; /* kotod was over its budget at this reading */
};

kt_snap_t *kt__snap_wrap(const kt_sample_t *s, apr_pool_t *pool, uint64_t seq, double duration_ms,
                         unsigned interval_ms);

/* ---- the monitor (monitor.c, health.c) ---------------------------------------------- */

#define KT__MAX_SUBSCRIBERS 32

typedef struct {
    kt_mon_reading_fn fn;
    void *baton;
    unsigned id;
} kt__sub_t;
#define KT__MAX_BATCH 256 /* events one reading may raise; the rest are dropped and logged */

struct kt_mon_t {
    apr_pool_t *pool;
    kt_plat_t *plat;
    kt_mon_conf_t conf;        /* in use; read and replaced by the ingesting thread only */
    kt_mon_conf_t *active_conf; /* the malloc'd block conf's overrides point into */

    /* lock guards everything readers see. */
    apr_thread_mutex_t *lock;
    kt_snap_t *latest;
    kt__ring_t log;  /* kt_event_t */
    uint64_t last_id;
    kt__ring_t hist; /* kt_hist_point_t */
    kt_mon_active_t active[KT_MON_MAX_ACTIVE];
    unsigned nactive;
    kt_mon_self_t self; /* the budget's view, copied at each reading */
    uint64_t samples;
    apr_time_t last_sample;
    apr_time_t log_cleared; /* when the log was last emptied; 0: never */
    uint64_t started_total[KT_EV_MAX_TYPES][KT_SEV__COUNT];

    apr_allocator_t *snap_alloc; /* shared by every snapshot's pool */
    kt__detect_t det; /* sampler side only */
    kt_event_t *batch;
    kt_mon_conf_t *pending; /* from kt_mon_set_conf, under lock; malloc'd */
    kt_event_t posted[KT_MON_MAX_POSTED]; /* kt_mon_post_event's, under lock */
    unsigned nposted;
    kt_mon_journal_t journal; /* set before start; used by the sampler side */
    kt_mon_mark_fn mark;      /* likewise */
    kt_mon_conditions_fn conditions; /* likewise */
    void *conditions_baton;
    kt_mon_verdict_t *verdicts; /* KT_MON_MAX_VERDICTS, sampler side */
    kt_mon_cond_state_t *cstates; /* the last reading's verdicts' states, under lock */
    unsigned ncstates;
    apr_time_t cstates_time;
    void *mark_baton;
    apr_time_t state_saved;   /* sampler side: when the journal last got the state */

    /* run_lock guards the sampler thread's life. */
    apr_thread_mutex_t *run_lock;
    apr_thread_cond_t *wake;
    apr_thread_t *thread;
    apr_pool_t *run_pool; /* the sampler thread's, destroyed after join */
    int running, stop_requested;

    /* sub_lock guards the list; subscribers run on a copy, outside it.
     * notifying counts the calls in progress, and unsubscribe waits on
     * sub_idle until none is, so after it returns its callback never runs. */
    apr_thread_mutex_t *sub_lock;
    apr_thread_cond_t *sub_idle;
    kt__sub_t subs[KT__MAX_SUBSCRIBERS];
    unsigned nsubs, next_sub_id, notifying;
};

#endif
