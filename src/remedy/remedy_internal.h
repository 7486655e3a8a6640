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

typedef struct {
    char tmpl[64], result[16];
    uint64_t n;
} kt__remedy_count_t;

struct kt_remedy_t {
    kt_remedy_opts_t opts;
    apr_pool_t *pool;
    apr_thread_t *thread;
    apr_thread_mutex_t *lock; /* leaf: guards the queue, stopping and counts */
    apr_thread_cond_t *work;
    uint64_t queue[KT__REMEDY_QUEUE];
    unsigned head, len;
    int stopping;
    kt__remedy_count_t counts[KT__REMEDY_COUNTS];
    unsigned ncounts;
};

/* sha256.c: the lowercase hex SHA-256 of data. */
void kt__sha256_hex(const void *data, size_t len, char out[65]);

/* What a run needs from the settings, copied out of the rule set. */
typedef struct {
    const char *scripts_dir;
    const char *interpreter; /* NULL: the OS's */
    apr_interval_time_t timeout;
    apr_size_t output_limit;
    apr_interval_time_t expiry;
} kt__remedy_conf_t;
void kt__remedy_conf(kt_remedy_t *r, kt__remedy_conf_t *c, apr_pool_t *pool);

/* Fills err; returns st. */
apr_status_t kt__remedy_fail(kt_remedy_err_t *err, apr_status_t st, const char *code,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* runner.c */
apr_status_t kt__runner_start(kt_remedy_t *r);
void kt__runner_stop(kt_remedy_t *r);
/* Queues approved proposal id; KT_EUNAVAIL when the queue is full. */
apr_status_t kt__runner_queue(kt_remedy_t *r, uint64_t id);
/* Runs the script file at path: the dry run (args) or the real one. */
apr_status_t kt__remedy_exec(const kt__remedy_conf_t *c, const char *path, int dry_run,
                             const char *dialect, kt_sys_run_result_t *res, apr_pool_t *pool);
/* Whether the configuration file and the scripts directory are owner-only;
 * when not, *why says which and how. */
int kt__remedy_safe(kt_remedy_t *r, const kt__remedy_conf_t *c, const char **why,
                    apr_pool_t *pool);

#endif
