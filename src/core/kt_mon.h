/*
 * kt_mon.h - the monitor core: sampler thread, snapshots, detectors, event
 * log, history and health summary.
 *
 * DESIGN
 * One sampler thread owns the platform handle. Each tick it takes a reading
 * into a fresh pool, wraps it in an immutable, refcounted snapshot, runs the
 * detectors against it, appends their events to the log, records a history
 * point, publishes the snapshot (one pointer swap under a mutex) and finally
 * calls the subscribers with the new events.
 *
 * Readers never wait for a reading to be taken: kt_mon_acquire() takes a
 * reference to the latest published snapshot under a short lock and the
 * reader releases it when done. The event log, history and health summary
 * are copied out under their own lock, so callers own what they get.
 *
 * Detectors follow Netdata and collectd rather than the seed's
 * one-event-per-sample: a condition raises ONE "started" event after it has
 * held for hold_samples readings and ONE "resolved" event once the value falls
 * below threshold - clear_margin. Severity grows with how far past the
 * threshold the value is: low, medium, high in thirds of the remaining range.
 *
 * Thread-safety: every function here may be called from any thread, except
 * kt_mon_ingest() and kt_mon_tick(), which belong to whoever owns sampling
 * (the sampler thread while running; the caller otherwise).
 *
 * LOCK ORDER (the whole daemon's, written here once)
 * A thread holding a lock may take only locks further down this list, and
 * no lock is held while calling into another module's callback:
 *
 *   1. the daemon's reload lock (src/daemon/serve.c): one reload at a time
 *   2. the stream hub's lock (src/api/stream.c): the list of live streams
 *   3. the API's rules cell and status/metrics caches (src/api/)
 *   4. the monitor's locks, none held with another of them: run_lock
 *      (the sampler's life), sub_lock (the subscriber list), lock (the
 *      latest snapshot, event log, history and detector summary)
 *   5. the rules set's state pool (src/rules/loader.c)
 *   6. an HTTP stream's lock (src/http/stream.c), then the HTTP server's
 *      internals (worker queue, poke stack, done list, allocator mutexes)
 *   7. the notifier's locks (src/notify/), leaves, neither held with the
 *      other: its queue and channel counters (the monitor's subscriber call,
 *      status, /metrics) and its silences (the monitor's marker call, the
 *      API); never held while the notifier calls the store or libcurl
 *   8. the remediation runner's queue lock (src/remedy/runner.c): a leaf,
 *      never held while calling the store or the rules
 *   9. the store's queue lock and the history's lock (src/store/): leaves,
 *      neither held with the other; a caller may wait on the store thread
 *      holding 1-3 (the stream's replay reads the store under the hub
 *      lock), never holding 4
 *  10. the log's lock (src/base/log.c): anything may log
 *
 * Subscribers (kt_mon_subscribe) are called with none of the monitor's
 * locks held, on a copy of the list; the stream hub serialises a reading to
 * JSON before it takes its lock. ThreadSanitizer (KT_TSAN) checks this
 * order over the concurrency tests and the integration tests that stream,
 * reload and stop under load.
 */
#ifndef KT_MON_H
#define KT_MON_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "kt_plat.h"

/* ---- configuration --------------------------------------------------------- */

typedef struct {
    int enabled;
    double threshold;      /* the condition starts at value > threshold */
    double clear_margin;   /* and resolves at value < threshold - clear_margin */
    unsigned hold_samples; /* readings in a row past the threshold before it starts */
} kt_mon_rule_t;

typedef struct {
    const char *mount_point;
    kt_mon_rule_t rule;
} kt_mon_fs_rule_t;

/* A check: something the configuration says must be so (a process runs),
 * judged at each reading from that reading (src/core/checks.c lists the
 * kinds; each kind is one file). Its events' subject is its name. */
typedef struct {
    const char *name;      /* unique among the checks */
    const char *kind;      /* "process" or "service" */
    const char *process;   /* process: the name it runs under (comm / image name), or NULL */
    const char *pidfile;   /* process: a file holding its pid, or NULL */
    const char *cmdline;   /* process: a glob (* and ?) its command line matches, or NULL */
    unsigned min, max;     /* process: how many may run (max 0: no upper bound) */
    unsigned hold_samples; /* readings in a row that fail before the event */
    const char *unit;      /* service: a systemd unit (nginx.service) or Windows service name */
} kt_mon_check_t;

typedef struct {
    unsigned interval_ms;       /* between readings; >= KT_MON_MIN_INTERVAL_MS */
    unsigned event_capacity;    /* events kept in the log */
    unsigned history_capacity;  /* history points kept */
    unsigned top_n;             /* processes in the top lists and in each event (<= 3 there) */
    kt_mon_rule_t cpu;          /* total CPU busy % */
    kt_mon_rule_t memory;       /* memory used % */
    kt_mon_rule_t disk;         /* used % of each filesystem (default for all) */
    const kt_mon_fs_rule_t *disk_overrides; /* per mount point; may be NULL */
    unsigned ndisk_overrides;
    kt_mon_rule_t process_memory; /* one process's RSS as % of total memory */
    kt_mon_rule_t cpu_spike;    /* threshold: points above the recent baseline */
    unsigned spike_warmup;      /* readings before spikes are judged */
    unsigned spike_window;      /* readings the baseline averages over */
    /* disk_fill: threshold is the horizon in hours (it starts when a
     * filesystem will be full sooner); its clear_margin is in hours too. */
    kt_mon_rule_t disk_fill;
    double fill_window_s;       /* the rate is fitted over this much history */
    double fill_min_window_s;   /* no forecast from less than this */
    double fill_min_growth_pct; /* nor from growth under this many points over it */
    /* Flap detection (Nagios' way): the weighted share of state changes over
     * the last flap_window readings of a condition; above flap_high % it
     * flaps, below flap_low % it settles. flap_window 0: off. */
    unsigned flap_window;
    double flap_high, flap_low;
    const kt_mon_check_t *checks; /* may be NULL */
    unsigned nchecks;
    /* kotod's own budget: its RSS in MiB and its CPU in % of one core over
     * the last KT_MON_BUDGET_WINDOW readings; 0 turns a side off. */
    double budget_rss_mb, budget_cpu_pct;
} kt_mon_conf_t;

#define KT_MON_BUDGET_WINDOW 16

#define KT_MON_MAX_FLAP_WINDOW 64

#define KT_MON_MIN_INTERVAL_MS 100
#define KT_MON_MAX_INTERVAL_MS 86400000u

/* The seed's defaults: 30 s, CPU > 85 %, memory > 90 %, disk > 85 %, 100 events. */
void kt_mon_conf_defaults(kt_mon_conf_t *conf);
/* Checks bounds; on error writes a message naming the field into err. */
apr_status_t kt_mon_conf_check(const kt_mon_conf_t *conf, char *err, apr_size_t errlen);

/* ---- events ------------------------------------------------------------------ */

typedef enum {
    KT_EV_CPU_HIGH,
    KT_EV_MEMORY_HIGH,
    KT_EV_DISK_FULL,
    KT_EV_CPU_SPIKE,
    KT_EV_PROCESS_MEMORY_HIGH,
    KT_EV_DISK_FILL,
    KT_EV_PROCESS_DOWN,  /* a process check found fewer than its minimum */
    KT_EV_PROCESS_COUNT, /* a process check found more than its maximum */
    KT_EV_SERVICE_FAILED, /* a service check found its service failed, stopped or missing */
    KT_EV_REMEDIATION_FAILED,   /* a remediation ran and its condition did not resolve */
    KT_EV_REMEDIATION_GAVE_UP,  /* an automatic remediation hit its circuit breaker */
    KT_EV_OVER_BUDGET,          /* kotod itself uses more memory or CPU than its budget */
    KT_EV_RULE_ERROR,    /* a condition written in Lua failed and was switched off */
    KT_EV__COUNT         /* the built-in types; conditions register theirs after these */
} kt_event_type_t;

/* Built-in types plus the names conditions register (kt_event_type_register). */
#define KT_EV_MAX_TYPES 64

/* A set of event types, one bit per type up to KT_EV_MAX_TYPES: what a
 * channel's or a maintenance window's `types` list names. Empty: none
 * named (their "every type"). */
typedef struct {
    uint64_t bits[(KT_EV_MAX_TYPES + 63) / 64];
} kt_type_set_t;

static inline void kt_type_set_add(kt_type_set_t *s, int t)
{
    if (t >= 0 && t < KT_EV_MAX_TYPES)
        s->bits[t / 64] |= (uint64_t)1 << (t % 64);
}
static inline int kt_type_set_has(const kt_type_set_t *s, int t)
{
    return t >= 0 && t < KT_EV_MAX_TYPES && (s->bits[t / 64] >> (t % 64) & 1);
}
static inline int kt_type_set_empty(const kt_type_set_t *s)
{
    for (unsigned i = 0; i < sizeof s->bits / sizeof s->bits[0]; i++)
        if (s->bits[i])
            return 0;
    return 1;
}

typedef enum { KT_SEV_LOW, KT_SEV_MEDIUM, KT_SEV_HIGH, KT_SEV__COUNT } kt_severity_t;

enum { KT_FLAP_START = 1, KT_FLAP_END = 2 };

#define KT_EVENT_TOP 3
#define KT_EVENT_EVIDENCE 6

/* A measured figure an event carries besides its value ("rate_bytes_per_hour"). */
typedef struct {
    char key[32];
    double value;
} kt_event_figure_t;

typedef struct {
    int64_t pid;
    char name[64];
    double cpu_pct;
    uint64_t rss_bytes;
} kt_event_proc_t;

typedef struct {
    uint64_t id;           /* increasing, never reused (not even after clear) */
    apr_time_t time;
    kt_event_type_t type;
    kt_severity_t severity; /* for "resolved": the worst the condition reached */
    int resolved;          /* 0: the condition started (or escalated); 1: it cleared */
    int escalated;         /* the severity of a condition in progress rose to this one */
    int while_down;        /* resolved: found gone at the first reading after a restart */
    uint64_t started_id;   /* on resolved and escalated events: the id of the start */
    int flapping;          /* KT_FLAP_START or KT_FLAP_END: the condition began or stopped flapping */
    int in_flap;           /* a start or resolution while its condition flaps: logged, not notified */
    char silenced[80];     /* what silenced it ("silence 3", "maintenance backups"), or "" */
    int routed;            /* a notification channel wants it: the store keeps it as due to be
                            * notified, in the event's own transaction, until the notifier has
                            * its outbox rows (never shown; set by the marker) */
    double value, threshold;
    char subject[160];     /* mount point, "pid 42 (java)", or "" for host-wide */
    char message[256];
    kt_event_proc_t top[KT_EVENT_TOP]; /* busiest processes at that moment */
    unsigned ntop;
    kt_event_figure_t evidence[KT_EVENT_EVIDENCE]; /* the figures behind it, by name */
    unsigned nevidence;
    char source[96];       /* a Lua condition's event: the condition's file:line, else "" */
} kt_event_t;

const char *kt_event_type_name(kt_event_type_t t);
/* The fix-script template an event of type t suggests, or NULL. */
const char *kt_event_template(kt_event_type_t t);
/* "started", "escalated", "resolved", "flapping_start" or "flapping_end". */
const char *kt_event_state_name(const kt_event_t *e);
const char *kt_severity_name(kt_severity_t s);
/* Reverse lookups; return -1 when the name is unknown. */
int kt_event_type_parse(const char *name);
int kt_severity_parse(const char *name);
/* The type of a condition's events: name's number, the same one every time
 * the process asks (conditions come and go with reloads; their numbers
 * stay). -1 when name is a built-in type's or all KT_EV_MAX_TYPES are taken.
 * Any thread. */
int kt_event_type_register(const char *name);
/* Types known now: KT_EV__COUNT plus those registered; a loop's bound. */
int kt_event_type_count(void);

typedef struct {
    int type;          /* kt_event_type_t, or -1 for any */
    int severity;      /* kt_severity_t, or -1 for any */
    uint64_t since_id; /* only events with id > since_id */
    unsigned limit;    /* at most this many, the most recent; 0 = no limit */
} kt_event_filter_t;

/* ---- the monitor ------------------------------------------------------------- */

typedef struct kt_mon_t kt_mon_t;
typedef struct kt_snap_t kt_snap_t;

/* plat may be NULL: the monitor then only judges samples given to kt_mon_ingest. */
apr_status_t kt_mon_create(kt_mon_t **out, const kt_mon_conf_t *conf, kt_plat_t *plat,
                           apr_pool_t *pool);
/* Stops the sampler if running and frees everything (pool cleanup does the
 * same). Every snapshot a caller acquired must be released before. */
void kt_mon_destroy(kt_mon_t *m);

/* Replaces the reloadable settings (interval, thresholds, spike settings,
 * filesystem overrides); the next reading uses them. Capacities and top_n
 * keep their values from creation. Conditions in progress keep their
 * state and are judged against the new thresholds from then on. */
apr_status_t kt_mon_set_conf(kt_mon_t *m, const kt_mon_conf_t *conf);

/* Starts / stops the sampler thread; both are idempotent. Stop waits for the
 * tick in progress, so it returns within one reading's time. */
apr_status_t kt_mon_start(kt_mon_t *m);
apr_status_t kt_mon_stop(kt_mon_t *m);
int kt_mon_running(kt_mon_t *m);

/* Takes one reading now and ingests it. Only when the sampler is not running. */
apr_status_t kt_mon_tick(kt_mon_t *m);

/* Judges a sample taken elsewhere and publishes it as the latest snapshot.
 * The monitor takes ownership of sample_pool (an unmanaged pool, created
 * with apr_pool_create_unmanaged_ex, that holds everything *s points to). */
void kt_mon_ingest(kt_mon_t *m, const kt_sample_t *s, apr_pool_t *sample_pool);

/* The latest snapshot with a reference held, or NULL before the first reading. */
kt_snap_t *kt_mon_acquire(kt_mon_t *m);
void kt_snap_release(kt_snap_t *snap);
const kt_sample_t *kt_snap_sample(const kt_snap_t *snap);
uint64_t kt_snap_seq(const kt_snap_t *snap); /* 1 for the first reading, then +1 */
double kt_snap_duration_ms(const kt_snap_t *snap); /* time the reading took */
unsigned kt_snap_interval_ms(const kt_snap_t *snap); /* the interval in force when it was taken */
/* Whether kotod was over its budget and shedding optional work at this
 * reading (the store records fewer series then). */
int kt_snap_shedding(const kt_snap_t *snap);

/* Copies up to max matching events, oldest first, into out; returns the count. */
unsigned kt_mon_events(kt_mon_t *m, const kt_event_filter_t *f, kt_event_t *out, unsigned max);
/* Empties the log (ids keep increasing; active conditions stay active). */
void kt_mon_clear(kt_mon_t *m);
uint64_t kt_mon_last_event_id(kt_mon_t *m);

/* Called on the sampler thread after every reading with the snapshot just
 * published (borrowed for the call; kt_mon_acquire to keep one) and the
 * events it raised, in order (n may be 0). Keep it short; never call
 * kt_mon_stop, kt_mon_subscribe or kt_mon_unsubscribe from it (unsubscribe
 * waits for the calls in progress to end). */
typedef void (*kt_mon_reading_fn)(void *baton, const kt_snap_t *snap, const kt_event_t *events,
                                  unsigned n);
apr_status_t kt_mon_subscribe(kt_mon_t *m, kt_mon_reading_fn fn, void *baton, unsigned *id);
void kt_mon_unsubscribe(kt_mon_t *m, unsigned id);

/* Raises an event that comes from outside the detectors (remediation_failed,
 * remediation_gave_up): type, severity, subject and message are the
 * caller's; it gets its id and time with the next reading, and is
 * committed, logged and published with that reading's events (a stopped
 * monitor keeps it until it runs again). KT_EUNAVAIL when
 * KT_MON_MAX_POSTED are waiting already. Any thread. */
#define KT_MON_MAX_POSTED 32
apr_status_t kt_mon_post_event(kt_mon_t *m, const kt_event_t *e);

/* ---- conditions written elsewhere (Lua) ------------------------------------------ */

/* One condition's verdict on one subject at one reading: the monitor judges
 * it with the same state machine as its own thresholds (hold-down, margin,
 * escalation, flap damping), so its events are ordinary events. */
typedef struct {
    int type;              /* kt_event_type_register's number, or KT_EV_RULE_ERROR */
    char key[120];         /* the condition's identity: its name and definition's digest */
    char subject[160];     /* "" for host-wide */
    double value;          /* NAN: unknown, no verdict */
    int below;             /* fires when value < threshold (else when value > threshold) */
    double threshold, clear; /* resolves once value is back past clear */
    unsigned hold;         /* readings in a row before it starts */
    double bands[3];       /* value where low, medium, high begin (NAN: unused band) */
    int by_memory;         /* its evidence is the top processes by memory, not CPU */
    char message[256];     /* the event's text (the condition formatted it) */
    char source[96];       /* file:line */
} kt_mon_verdict_t;

#define KT_MON_MAX_VERDICTS 512

/* Called on the ingesting thread before the detectors run on s, with no
 * lock held: writes up to max verdicts and returns their count. */
typedef unsigned (*kt_mon_conditions_fn)(void *baton, const kt_sample_t *s,
                                         kt_mon_verdict_t *out, unsigned max);
/* Before kt_mon_start (or between kt_mon_tick / kt_mon_ingest calls). */
void kt_mon_set_conditions(kt_mon_t *m, kt_mon_conditions_fn fn, void *baton);

/* Where each verdict of the last reading stands in the state machine: the
 * dashboard's view of the Lua conditions, read without touching the
 * detectors (the sampler thread owns them). */
typedef struct {
    int type;              /* the condition's, or KT_EV_RULE_ERROR: it was switched off */
    char key[120];         /* the verdict's key (kt_mon_verdict_t) */
    char subject[160];
    double value;          /* NAN: unknown */
    unsigned over, hold;   /* readings in a row past the threshold, of the hold needed */
    int active;            /* started and not resolved */
    kt_severity_t severity; /* the worst it reached while active */
    apr_time_t since;      /* when it started (active only) */
    char message[256];
} kt_mon_cond_state_t;

/* Copies up to max states of the last reading's verdicts; returns the
 * count and, in *when, the reading's time (0 before the first). Any thread. */
unsigned kt_mon_condition_states(kt_mon_t *m, kt_mon_cond_state_t *out, unsigned max,
                                 apr_time_t *when);

/* ---- memory across restarts ------------------------------------------------------ */

/* Where the monitor keeps what must outlive it (the store, in kotod). Both
 * run on the sampler thread, before anyone sees the reading. */
typedef struct {
    /* The reading's events, before the log, the stream or anyone else sees
     * them: returns once they are durable (or known not to be). */
    void (*commit)(void *baton, const kt_event_t *ev, unsigned n);
    /* The detectors' state (owned by the callee), after a reading that
     * changed a condition, and at least every KT_MON_STATE_EVERY_S. */
    void (*save_state)(void *baton, json_t *state);
    void *baton;
} kt_mon_journal_t;

#define KT_MON_STATE_EVERY_S 10

/* Marks a reading's events before they are committed (the notifier's
 * silences and maintenance windows set `silenced`), on the sampler thread
 * with no monitor lock held; keep it short. Before kt_mon_start. */
typedef void (*kt_mon_mark_fn)(void *baton, kt_event_t *ev, unsigned n);
void kt_mon_set_marker(kt_mon_t *m, kt_mon_mark_fn fn, void *baton);

/* Both before kt_mon_start. set_journal: j is copied. restore: ids go on
 * after last_id, and the conditions in progress when state was saved go on
 * as they were (no second "started"; one gone by the next reading resolves
 * "while kotod was down"). state may be NULL; it stays the caller's.
 * Returns how many active conditions were taken back. */
void kt_mon_set_journal(kt_mon_t *m, const kt_mon_journal_t *j);
unsigned kt_mon_restore(kt_mon_t *m, uint64_t last_id, json_t *state);

/* ---- health summary and history ------------------------------------------------ */

typedef struct {
    kt_event_type_t type;
    kt_severity_t severity;
    uint64_t started_id;
    apr_time_t since;
    double value, threshold;
    char subject[160];
} kt_mon_active_t;

#define KT_MON_MAX_ACTIVE 64

/* kotod as its own readings see it, against its budget (budget.c). */
typedef struct {
    double rss_bytes;   /* NAN until kotod has found itself in a reading */
    double cpu_pct;     /* % of one core over the last readings; NAN until there are enough */
    double cpu_seconds; /* user + system since it started; NAN unknown */
    double budget_rss_bytes, budget_cpu_pct; /* 0: that side is off */
    int over;     /* koto_over_budget holds */
    int shedding; /* optional work is off until it is back under */
} kt_mon_self_t;

typedef struct {
    const char *status;  /* "ok", "warning" (low/medium active) or "critical" (high active) */
    int running;
    uint64_t samples;    /* readings taken since the monitor was created */
    apr_time_t last_sample;
    unsigned events_logged;
    apr_time_t log_cleared; /* the last clear of the log; 0: never since the monitor began */
    unsigned by_type[KT_EV_MAX_TYPES];     /* started events in the log, per type */
    unsigned by_severity[KT_SEV__COUNT];
    uint64_t started_total[KT_EV_MAX_TYPES][KT_SEV__COUNT]; /* since creation; clear keeps them */
    kt_mon_active_t active[KT_MON_MAX_ACTIVE]; /* conditions holding now */
    unsigned nactive;
    kt_mon_self_t self;
} kt_mon_health_t;

void kt_mon_health(kt_mon_t *m, kt_mon_health_t *out);

typedef struct {
    apr_time_t time;
    double cpu_pct, memory_pct, swap_pct, load1;
    double disk_max_pct;           /* the fullest filesystem */
    double net_rx_bytes_ps, net_tx_bytes_ps; /* all interfaces but loopback */
    /* Share of the last minute some tasks waited for each (PSI "some avg60"). */
    double cpu_pressure_pct, memory_pressure_pct, io_pressure_pct;
} kt_hist_point_t;

/* Copies the points newer than since (0 = all), oldest first; returns the count. */
unsigned kt_mon_history(kt_mon_t *m, apr_time_t since, kt_hist_point_t *out, unsigned max);

/* ---- JSON (jansson), shared by kotod --once and the HTTP API ---------------------- */

/* A value, or null when unknown. */
json_t *kt_json_num(double v);
json_t *kt_json_u64(uint64_t v);

/* Unknown values become null. top_only: processes only as the top lists. */
json_t *kt_json_sample(const kt_sample_t *s, int top_only);
/* The same, one top-level member at a time, in kt_json_sample's order, for
 * who reads only some of it (the Lua conditions). table: the member is an
 * object or an array. */
typedef struct {
    const char *key;
    json_t *(*make)(const kt_sample_t *s, int top_only);
    int table;
} kt_json_part_t;
extern const kt_json_part_t kt_json_sample_parts[];
extern const unsigned kt_json_sample_nparts;
json_t *kt_json_event(const kt_event_t *e);
/* One process as the reading's process lists show it. */
json_t *kt_json_proc(const kt_proc_t *p);
json_t *kt_json_health(const kt_mon_health_t *h);
json_t *kt_json_history_point(const kt_hist_point_t *p);

/* The reverse of kt_json_sample: what the JSON lacks stays unknown. Every
 * pointer in *s is allocated in pool. */
apr_status_t kt_sample_from_json(json_t *j, kt_sample_t *s, apr_pool_t *pool, char *err,
                                 apr_size_t errlen);
/* The reverse of kt_json_event (the event as the log keeps it); KT_EPARSE
 * when j has no id, type, severity or state. */
apr_status_t kt_event_from_json(json_t *j, kt_event_t *e);

#endif
