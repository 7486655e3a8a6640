/*
 * remedy_internal.h - private to src/remedy/.
 */
#ifndef KT_REMEDY_INTERNAL_H
#define KT_REMEDY_INTERNAL_H

#include "kt_remedy.h"
#include "kt_sys.h"

#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#define KT__REMEDY_QUEUE 64    /* approved runs waiting for the runner */
#define KT__REMEDY_COUNTS 64   /* (template, result) pairs counted for /metrics */
#define KT__REMEDY_EXCERPT 512 /* bytes of a run's output in its audit row */

#define KT__REMEDY_VERIFY 64   /* runs waiting for their condition to resolve */
#define KT__REMEDY_BREAKERS 32 /* automatic rules with a run history */

typedef struct {
    char tmpl[64], result[16];
    uint64_t n;
} kt__remedy_count_t;

/* What the runner thread does next. */
typedef struct {
    enum { KT__JOB_RUN, KT__JOB_AUTO } kind;
    uint64_t id;    /* RUN: the approved proposal */
    kt_event_t ev;  /* AUTO: the event that started */
} kt__remedy_job_t;

/* A run waiting for its condition to resolve (under lock). */
typedef struct {
    uint64_t remedy_id, event_id;
    kt_event_type_t type;
    char subject[160], sha256[65];
    unsigned readings;
} kt__remedy_verify_t;

/* The circuit breaker of one automatic rule: its recent runs (under lock). */
typedef struct {
    char key[256];  /* event, subject and template */
    apr_time_t runs[16];
    unsigned nruns;
    int gave_up;    /* remediation_gave_up raised for the current window */
} kt__remedy_breaker_t;

struct kt_remedy_t {
    kt_remedy_opts_t opts;
    apr_pool_t *pool;
    apr_thread_t *thread;
    unsigned sub;             /* the monitor subscription (0: none) */
    apr_thread_mutex_t *lock; /* leaf: guards the queue, stopping, counts, verify, breakers */
    apr_thread_cond_t *work;
    /* The tables (110 KiB in all) are not zeroed: an entry is written
     * whole when it is added, and the pages of the ones never used are
     * never touched. */
    kt__remedy_job_t *queue; /* KT__REMEDY_QUEUE */
    unsigned head, len;
    int stopping;
    atomic_int cancel; /* set at stop: a script running then is ended */
    kt__remedy_count_t *counts; /* KT__REMEDY_COUNTS */
    unsigned ncounts;
    kt__remedy_verify_t *verify; /* KT__REMEDY_VERIFY */
    unsigned nverify;
    kt__remedy_breaker_t *breakers; /* KT__REMEDY_BREAKERS */
    unsigned nbreakers;
};

/* sha256.c: the lowercase hex SHA-256 of data. */
void kt__sha256_hex(const void *data, size_t len, char out[65]);

/* What a run needs from the settings, copied out of the rule set. */
typedef struct {
    const char *scripts_dir;
    const char *interpreter; /* NULL: the OS's */
    const char *root_socket; /* koto-run-approved's, or NULL: run as kotod's user */
    apr_interval_time_t timeout;
    apr_size_t output_limit;
    apr_interval_time_t expiry;
    unsigned verify_readings;
} kt__remedy_conf_t;
void kt__remedy_conf(kt_remedy_t *r, kt__remedy_conf_t *c, apr_pool_t *pool);

/* Fills err; returns st. */
apr_status_t kt__remedy_fail(kt_remedy_err_t *err, apr_status_t st, const char *code,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* runner.c */
apr_status_t kt__runner_start(kt_remedy_t *r);
void kt__runner_stop(kt_remedy_t *r);
/* Queues a job; KT_EUNAVAIL when the queue is full. */
apr_status_t kt__runner_queue(kt_remedy_t *r, const kt__remedy_job_t *job);
/* Approves as `who` with audit action `action` (approved, auto_approved). */
apr_status_t kt__remedy_approve_as(kt_remedy_t *r, uint64_t id, const char *sha256,
                                   const char *who, const char *action, json_t **out,
                                   kt_remedy_err_t *err);
/* auto.c: the monitor's events in, automatic runs, the breaker, verification. */
void kt__auto_reading(void *baton, const kt_snap_t *snap, const kt_event_t *events, unsigned n);
void kt__auto_event(kt_remedy_t *r, const kt_event_t *ev, apr_pool_t *pool);
void kt__auto_watch(kt_remedy_t *r, json_t *doc);
/* Runs the script file at path (sha: its approved hash): the dry run
 * (args) or the real one; as root through koto-run-approved when
 * remedy_root_socket is set and the script is Bash. */
apr_status_t kt__remedy_exec(kt_remedy_t *r, const kt__remedy_conf_t *c, const char *path,
                             const char *sha, int dry_run, const char *dialect,
                             kt_sys_run_result_t *res, apr_pool_t *pool);
/* Whether the configuration file and the scripts directory are owner-only;
 * when not, *why says which and how. */
int kt__remedy_safe(kt_remedy_t *r, const kt__remedy_conf_t *c, const char **why,
                    apr_pool_t *pool);

#endif
