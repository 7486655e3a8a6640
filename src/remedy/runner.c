/*
 * runner.c - the runner thread: approved proposals, one at a time, in the
 * order they were approved.
 *
 * Before a run: the configuration file and the scripts directory must be
 * owner-only (else nothing runs: someone else could have put words in
 * koto's mouth), and the file must still hash to the approved SHA-256 (else
 * it was changed after approval). Each refusal and each run is in the
 * audit; the file is removed after the run, so a script runs once.
 */
#include "remedy_internal.h"
#include "kt_sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#define MAX_SCRIPT (4u << 20) /* a rendered template is far smaller */

int kt__remedy_safe(kt_remedy_t *r, const kt__remedy_conf_t *c, const char **why,
                    apr_pool_t *pool)
{
    const char *paths[] = {r->opts.config_file, c->scripts_dir};
    for (size_t i = 0; i < KT_ARRAY_SIZE(paths); i++) {
        int ok = 0;
        if (!paths[i])
            continue;
        apr_status_t st = kt_sys_owner_only(paths[i], &ok, why, pool);
        if (st == APR_SUCCESS && ok)
            continue;
        if (st != APR_SUCCESS) {
            char buf[200];
            /* A scripts directory not made yet is made owner-only later; a
             * configuration file that is not there holds nothing to change. */
            if (APR_STATUS_IS_ENOENT(st))
                continue;
            *why = apr_psprintf(pool, "cannot check %s: %s", paths[i], kt_strerror(st, buf, sizeof buf));
        }
        *why = apr_psprintf(pool, "refusing to run remediations: %s", *why);
        return 0;
    }
    return 1;
}

apr_status_t kt__remedy_exec(kt_remedy_t *r, const kt__remedy_conf_t *c, const char *path,
                             const char *sha, int dry_run, const char *dialect,
                             kt_sys_run_result_t *res, apr_pool_t *pool)
{
    static const char *const bash_dry[] = {"--dry-run", NULL};
    static const char *const ps_dry[] = {"-WhatIf", NULL};
    kt_sys_run_opts_t o = {c->interpreter, NULL, c->timeout, c->output_limit, &r->cancel};
    if (c->root_socket && strcmp(dialect, "bash") == 0) {
        /* As root, through koto-run-approved: it is given the file's name
         * in the scripts directory it serves and the approved hash, and
         * runs its own copy of those bytes (src/remedy/run_approved.c). */
        const char *name = strrchr(path, '/');
        if (!name || !c->scripts_dir ||
            strcmp(apr_pstrndup(pool, path, (apr_size_t)(name - path)), c->scripts_dir) != 0)
            return KT_EINPUT;
        return kt_sys_run_approved(c->root_socket, name + 1, sha, dry_run, &o, res, pool);
    }
    if (dry_run)
        o.args = strcmp(dialect, "powershell") == 0 ? ps_dry : bash_dry;
    return kt_sys_run(path, &o, res, pool);
}

/* The file's SHA-256 into sha; 0 on success. */
static int hash_file(const char *path, char sha[65], apr_pool_t *pool)
{
    apr_file_t *f;
    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, pool) != APR_SUCCESS)
        return -1;
    char *buf = apr_palloc(pool, MAX_SCRIPT + 1);
    apr_size_t n = MAX_SCRIPT + 1;
    apr_status_t st = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    if ((st != APR_SUCCESS && st != APR_EOF) || n > MAX_SCRIPT)
        return -1;
    kt__sha256_hex(buf, n, sha);
    return 0;
}

static void count(kt_remedy_t *r, const char *tmpl, const char *result)
{
    apr_thread_mutex_lock(r->lock);
    unsigned i = 0;
    while (i < r->ncounts && (strcmp(r->counts[i].tmpl, tmpl) || strcmp(r->counts[i].result, result)))
        i++;
    if (i == r->ncounts && r->ncounts < KT__REMEDY_COUNTS) {
        snprintf(r->counts[i].tmpl, sizeof r->counts[i].tmpl, "%s", tmpl);
        snprintf(r->counts[i].result, sizeof r->counts[i].result, "%s", result);
        r->counts[i].n = 0;
        r->ncounts++;
    }
    if (i < r->ncounts)
        r->counts[i].n++;
    apr_thread_mutex_unlock(r->lock);
}

static void refuse(kt_remedy_t *r, uint64_t id, json_t *doc, const char *reason, const char *why)
{
    const char *tmpl = json_string_value(json_object_get(doc, "template"));
    json_object_set_new(doc, "refused", json_pack("{s:s s:s}", "reason", reason, "message", why));
    kt_store_audit_t a = {"refused", "kotod", id,
                          (uint64_t)json_integer_value(json_object_get(doc, "event_id")),
                          json_string_value(json_object_get(doc, "sha256")),
                          json_object_get(doc, "refused")};
    kt_store_put_remedy(r->opts.store, &id, "approved", "refused", doc, &a);
    count(r, tmpl ? tmpl : "?", "refused");
    kt_log(KT_LOG_WARN, "remediation %llu not run: %s", (unsigned long long)id, why);
}

static void run_one(kt_remedy_t *r, uint64_t id, apr_pool_t *pool)
{
    json_t *doc = NULL;
    if (kt_store_get_remedy(r->opts.store, id, &doc) != APR_SUCCESS)
        return;
    const char *state = json_string_value(json_object_get(doc, "state"));
    const char *sha = json_string_value(json_object_get(doc, "sha256"));
    const char *file = json_string_value(json_object_get(doc, "file"));
    const char *tmpl = json_string_value(json_object_get(doc, "template"));
    const char *dialect = json_string_value(json_object_get(doc, "dialect"));
    uint64_t event_id = (uint64_t)json_integer_value(json_object_get(doc, "event_id"));
    if (!state || strcmp(state, "approved") != 0 || !sha || !tmpl || !dialect) {
        json_decref(doc);
        return;
    }
    kt__remedy_conf_t c;
    kt__remedy_conf(r, &c, pool);
    const char *why = NULL;
    char now_sha[65];
    if (!kt__remedy_safe(r, &c, &why, pool)) {
        refuse(r, id, doc, "unsafe_permissions", why);
    } else if (!file) {
        refuse(r, id, doc, "no_file", "the proposal has no script file (no scripts_dir, or it could not be written)");
    } else if (hash_file(file, now_sha, pool) != 0) {
        refuse(r, id, doc, "tampered", apr_psprintf(pool, "%s cannot be read", file));
    } else if (strcmp(now_sha, sha) != 0) {
        refuse(r, id, doc, "tampered",
               apr_psprintf(pool, "%s changed after approval (sha256 %s, approved %s)", file, now_sha, sha));
    } else {
        apr_time_t started = apr_time_now();
        kt_store_audit_t a = {"run_started", "kotod", id, event_id, sha, NULL};
        if (kt_store_put_remedy(r->opts.store, &id, "approved", "running", doc, &a) != APR_SUCCESS) {
            json_decref(doc);
            return; /* not in the audit: not run */
        }
        kt_sys_run_result_t res;
        apr_status_t st = kt__remedy_exec(r, &c, file, sha, 0, dialect, &res, pool);
        char out_sha[65], buf[200];
        kt__sha256_hex(res.output, res.output_len, out_sha);
        int ok = st == APR_SUCCESS && res.exit_code == 0;
        const char *result = st != APR_SUCCESS ? "error"
                             : res.timed_out   ? "timeout"
                             : res.cancelled   ? "cancelled"
                             : ok              ? "ok"
                                               : "failed";
        json_t *run = json_pack("{s:s s:i s:b s:I s:I s:I s:s% s:b s:s}", "result", result,
                                "exit_code", res.exit_code, "timed_out", res.timed_out,
                                "started_ms", (json_int_t)apr_time_as_msec(started), "ended_ms",
                                (json_int_t)apr_time_as_msec(apr_time_now()), "duration_ms",
                                (json_int_t)(res.duration / 1000), "output", res.output,
                                (size_t)res.output_len, "truncated", res.truncated,
                                "output_sha256", out_sha);
        if (st != APR_SUCCESS)
            json_object_set_new(run, "error", json_string(kt_strerror(st, buf, sizeof buf)));
        json_object_set_new(doc, "run", run);
        size_t excerpt = res.output_len < KT__REMEDY_EXCERPT ? res.output_len : KT__REMEDY_EXCERPT;
        json_t *d = json_pack("{s:s s:i s:I s:s s:s%}", "result", result, "exit_code",
                              res.exit_code, "duration_ms", (json_int_t)(res.duration / 1000),
                              "output_sha256", out_sha, "output_start", res.output, excerpt);
        kt_store_audit_t e = {"run_ended", "kotod", id, event_id, sha, d};
        kt_store_put_remedy(r->opts.store, &id, "running", ok ? "succeeded" : "failed", doc, &e);
        json_decref(d);
        if (event_id)
            kt__auto_watch(r, doc); /* the next readings say whether it worked */
        apr_file_remove(file, pool);
        count(r, tmpl, result);
        kt_log(ok ? KT_LOG_INFO : KT_LOG_WARN,
               "remediation %llu (%s) ran: %s, exit code %d, %lld ms", (unsigned long long)id, tmpl,
               result, res.exit_code, (long long)(res.duration / 1000));
    }
    json_decref(doc);
}

static void *APR_THREAD_FUNC runner_main(apr_thread_t *t, void *data)
{
    kt_sys_thread_name("koto-remedy");
    kt_remedy_t *r = data;
    apr_pool_t *pool;
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return NULL;
    apr_thread_mutex_lock(r->lock);
    for (;;) {
        while (!r->len && !r->stopping)
            apr_thread_cond_wait(r->work, r->lock);
        if (r->stopping)
            break;
        kt__remedy_job_t job = r->queue[r->head];
        r->head = (r->head + 1) % KT__REMEDY_QUEUE;
        r->len--;
        apr_thread_mutex_unlock(r->lock);
        if (job.kind == KT__JOB_RUN)
            run_one(r, job.id, pool);
        else
            kt__auto_event(r, &job.ev, pool);
        apr_pool_clear(pool);
        apr_thread_mutex_lock(r->lock);
    }
    apr_thread_mutex_unlock(r->lock);
    apr_pool_destroy(pool);
    return NULL;
}

apr_status_t kt__runner_queue(kt_remedy_t *r, const kt__remedy_job_t *job)
{
    apr_thread_mutex_lock(r->lock);
    apr_status_t st = KT_EUNAVAIL;
    if (r->len < KT__REMEDY_QUEUE && !r->stopping) {
        r->queue[(r->head + r->len) % KT__REMEDY_QUEUE] = *job;
        r->len++;
        apr_thread_cond_signal(r->work);
        st = APR_SUCCESS;
    }
    apr_thread_mutex_unlock(r->lock);
    return st;
}

apr_status_t kt__runner_start(kt_remedy_t *r)
{
    return apr_thread_create(&r->thread, NULL, runner_main, r, r->pool);
}

void kt__runner_stop(kt_remedy_t *r)
{
    if (!r->thread)
        return;
    apr_thread_mutex_lock(r->lock);
    r->stopping = 1;
    atomic_store(&r->cancel, 1); /* a script running now is ended, not waited for */
    apr_thread_cond_signal(r->work);
    apr_thread_mutex_unlock(r->lock);
    apr_status_t ignored;
    apr_thread_join(&ignored, r->thread);
    r->thread = NULL;
}
