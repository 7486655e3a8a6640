/*
 * remedy.c - proposals and decisions: propose (render, write, dry run,
 * store), approve (the hash the approver saw), deny, expiry; the module's
 * life and its counts for /metrics. The runs are runner.c's.
 *
 * Values observed on the machine (a mount point, a process name, a pid)
 * reach a script only as template parameters, which kt_rules_render checks
 * against the template's declaration and quotes for the dialect.
 */
#include "remedy_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

apr_status_t kt__remedy_fail(kt_remedy_err_t *err, apr_status_t st, const char *code,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    return st;
}

void kt__remedy_conf(kt_remedy_t *r, kt__remedy_conf_t *c, apr_pool_t *pool)
{
    kt_rules_t *rules = kt_rules_cell_get(r->opts.rules);
    const kt_conf_t *conf = rules ? kt_rules_conf(rules) : NULL;
    memset(c, 0, sizeof *c);
    if (conf) {
        c->scripts_dir = conf->scripts_dir ? apr_pstrdup(pool, conf->scripts_dir) : NULL;
        c->interpreter = conf->remedy_interpreter ? apr_pstrdup(pool, conf->remedy_interpreter) : NULL;
        c->root_socket = conf->remedy_root_socket ? apr_pstrdup(pool, conf->remedy_root_socket) : NULL;
        c->timeout = apr_time_from_sec(conf->remedy_timeout_s);
        c->output_limit = (apr_size_t)conf->remedy_output_kb * 1024;
        c->expiry = apr_time_from_sec(conf->remedy_expiry_s);
        c->verify_readings = conf->remedy_verify_readings;
    }
    if (!c->verify_readings)
        c->verify_readings = 3;
    if (!c->timeout)
        c->timeout = KT_SYS_RUN_TIMEOUT;
    if (!c->output_limit)
        c->output_limit = KT_SYS_RUN_OUTPUT;
    if (!c->expiry)
        c->expiry = apr_time_from_sec(900);
    kt_rules_release(rules);
}

/* ---- from an event to a template and its parameters -------------------------------------- */

/* The template for an event, and the parameters its evidence gives. */
static apr_status_t from_event(kt_remedy_t *r, uint64_t event_id, json_t **params,
                               kt_remedy_err_t *err)
{
    kt_store_query_t q = {-1, -1, event_id - 1, event_id + 1, 0, 0, 1};
    json_t *list = NULL;
    apr_status_t st = kt_store_events(r->opts.store, &q, &list);
    if (st != APR_SUCCESS)
        return kt__remedy_fail(err, KT_EUNAVAIL, "store_unavailable",
                               "the event log cannot be read (the store is off or busy)");
    json_t *ev = json_array_get(list, 0);
    if (!ev || (uint64_t)json_integer_value(json_object_get(ev, "id")) != event_id) {
        json_decref(list);
        return kt__remedy_fail(err, KT_ENOTFOUND, "no_such_event", "there is no event %llu",
                               (unsigned long long)event_id);
    }
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *subject = json_string_value(json_object_get(ev, "subject"));
    json_t *p = json_object();
    /* The configuration's choice first: its template, its fixed parameters. */
    kt_rules_t *rules = kt_rules_cell_get(r->opts.rules);
    const kt_conf_t *conf = rules ? kt_rules_conf(rules) : NULL;
    const kt_remedy_rule_t *rule = NULL;
    for (unsigned i = 0; conf && type && i < conf->nremediate && !rule; i++)
        if (strcmp(conf->remediate[i].event, type) == 0 &&
            (!conf->remediate[i].subject || (subject && strcmp(conf->remediate[i].subject, subject) == 0)))
            rule = &conf->remediate[i];
    if (rule) {
        json_t *fixed = json_loads(rule->params ? rule->params : "{}", 0, NULL);
        if (json_is_object(fixed))
            json_object_update(p, fixed);
        json_decref(fixed);
        /* A value observed on the machine enters only as a whole parameter,
         * which the template checks and quotes: "{subject}" is the event's
         * subject, "{process}" the name of the first process in its evidence. */
        const char *key;
        json_t *v;
        json_t *top = json_object_get(ev, "top_processes");
        const char *proc = json_string_value(json_object_get(json_array_get(top, 0), "name"));
        json_object_foreach(p, key, v) {
            const char *t = json_string_value(v);
            if (t && strcmp(t, "{subject}") == 0)
                json_object_set_new(p, key, json_string(subject ? subject : ""));
            else if (t && strcmp(t, "{process}") == 0)
                json_object_set_new(p, key, json_string(proc ? proc : ""));
        }
        json_object_set_new(p, "issue_type", json_string(rule->template));
    }
    kt_rules_release(rules);
    if (rule) {
        /* chosen above */
    } else if (type && strcmp(type, "process_down") == 0) {
        /* A check named after its service: restart that service. */
        json_object_set_new(p, "issue_type", json_string("service_restart"));
        json_object_set_new(p, "service_name", json_string(subject ? subject : ""));
    } else if (type && strcmp(type, "disk_full") == 0) {
        json_object_set_new(p, "issue_type", json_string("disk_full"));
        if (subject && *subject)
            json_object_set_new(p, "path", json_string(subject));
    } else if (type && strcmp(type, "process_memory_high") == 0) {
        /* The subject is "java (pid 42)". */
        long long pid = 0;
        const char *at = subject ? strstr(subject, " (pid ") : NULL;
        json_object_set_new(p, "issue_type", json_string("process_memory_high"));
        if (at && sscanf(at, " (pid %lld)", &pid) == 1 && pid > 0) {
            json_object_set_new(p, "pid", json_integer(pid));
            json_object_set_new(p, "process_name", json_stringn(subject, (size_t)(at - subject)));
        }
    } else if (type && (strcmp(type, "cpu_high") == 0 || strcmp(type, "cpu_spike") == 0)) {
        json_object_set_new(p, "issue_type", json_string("cpu_high"));
    } else if (type && strcmp(type, "memory_high") == 0) {
        json_object_set_new(p, "issue_type", json_string("memory_high"));
    } else {
        json_decref(p);
        json_decref(list);
        return kt__remedy_fail(err, KT_EINPUT, "no_template",
                               "no fix template is known for %s events", type ? type : "these");
    }
    json_object_set_new(p, "event_id", json_integer((json_int_t)event_id));
    json_object_set_new(p, "subject", json_string(subject ? subject : ""));
    json_object_set_new(p, "event_type", json_string(type));
    json_decref(list);
    *params = p;
    return APR_SUCCESS;
}

/* ---- propose ------------------------------------------------------------------------------ */

static const char *dialect_of(const char *os) { return strcmp(os, "windows") == 0 ? "powershell" : "bash"; }

/* Writes the script owner-only as the proposal's file; a stale file of an
 * earlier database under the name is replaced (never followed: the create
 * is exclusive). */
static apr_status_t write_script(const char *path, const char *script, apr_pool_t *pool)
{
    apr_status_t st = kt_sys_create_secret(path, script, strlen(script), pool);
    if (APR_STATUS_IS_EEXIST(st) && apr_file_remove(path, pool) == APR_SUCCESS)
        st = kt_sys_create_secret(path, script, strlen(script), pool);
    return st;
}

apr_status_t kt_remedy_suggest(kt_remedy_t *r, uint64_t event_id, json_t **out,
                               kt_remedy_err_t *err)
{
    return from_event(r, event_id, out, err);
}

apr_status_t kt_remedy_propose(kt_remedy_t *r, json_t *body, const char *who, json_t **out,
                               kt_remedy_err_t *err)
{
    apr_pool_t *pool; /* unmanaged: callers are on many threads */
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return APR_ENOMEM;
    json_t *params = NULL, *doc = NULL;
    apr_status_t st = APR_SUCCESS;
    json_t *eid = json_object_get(body, "event_id");
    if (eid) {
        if (!json_is_integer(eid) || json_integer_value(eid) < 1) {
            st = kt__remedy_fail(err, KT_EINPUT, "bad_parameter", "event_id is an event's id (a whole number)");
            goto done;
        }
        if ((st = from_event(r, (uint64_t)json_integer_value(eid), &params, err)) != APR_SUCCESS)
            goto done;
        json_t *os = json_object_get(body, "os");
        if (os)
            json_object_set(params, "os", os);
    } else {
        params = json_deep_copy(body);
    }
    const char *issue = json_string_value(json_object_get(params, "issue_type"));
    if (!issue) {
        st = kt__remedy_fail(err, KT_EINPUT, "bad_parameter", "issue_type (a string) or event_id is required");
        goto done;
    }
    issue = apr_pstrdup(pool, issue);
    uint64_t event_id = (uint64_t)json_integer_value(json_object_get(params, "event_id"));
    const char *subject = json_string_value(json_object_get(params, "subject"));
    subject = apr_pstrdup(pool, subject ? subject : "");
    const char *event_type = json_string_value(json_object_get(params, "event_type"));
    event_type = event_type ? apr_pstrdup(pool, event_type) : "";
    /* What is not a template parameter leaves the parameters. */
    json_object_del(params, "event_id");
    json_object_del(params, "subject");
    json_object_del(params, "event_type");

    kt_rules_t *rules = kt_rules_cell_get(r->opts.rules);
    if (!rules) {
        st = kt__remedy_fail(err, KT_EUNAVAIL, "no_rules", "no templates are loaded");
        goto done;
    }
    const char *os = json_string_value(json_object_get(params, "os"));
    if (!os) {
        const char *conf_os = kt_rules_conf(rules)->script_os;
        os = !conf_os || strcmp(conf_os, "auto") == 0 ? kt_sys_os_name() : conf_os;
    }
    if (strcmp(os, "linux") != 0 && strcmp(os, "windows") != 0) {
        kt_rules_release(rules);
        st = kt__remedy_fail(err, KT_EINPUT, "bad_parameter", "os must be linux or windows");
        goto done;
    }
    os = apr_pstrdup(pool, os);
    if (strcmp(os, kt_sys_os_name()) != 0) {
        kt_rules_release(rules);
        st = kt__remedy_fail(err, KT_EINPUT, "wrong_os",
                             "a remediation runs here, on %s; it cannot be a %s script",
                             kt_sys_os_name(), os);
        goto done;
    }
    char *script = NULL;
    st = kt_rules_render(rules, issue, strcmp(os, "windows") == 0 ? KT_DIALECT_POWERSHELL : KT_DIALECT_BASH,
                         params, &script, err->message, sizeof err->message);
    kt_rules_release(rules);
    if (st != APR_SUCCESS) {
        err->code = st == KT_ENOTFOUND ? "unknown_issue_type"
                    : st == KT_EINPUT  ? "bad_parameter"
                                       : "template_error";
        goto done;
    }
    char sha[65];
    kt__sha256_hex(script, strlen(script), sha);
    json_object_del(params, "issue_type");
    json_object_del(params, "os");
    kt__remedy_conf_t c;
    kt__remedy_conf(r, &c, pool);
    apr_time_t now = apr_time_now();
    doc = json_pack("{s:s s:s s:s s:O s:I s:s s:s s:s s:s s:s s:I s:I}", "template", issue, "os", os,
                    "dialect", dialect_of(os), "params", params, "event_id", (json_int_t)event_id,
                    "event_type", event_type, "subject", subject, "script", script, "sha256", sha, "proposed_by",
                    who ? who : "?", "created_ms", (json_int_t)apr_time_as_msec(now),
                    "expires_ms", (json_int_t)apr_time_as_msec(now + c.expiry));
    free(script);
    if (!doc) {
        st = APR_ENOMEM;
        goto done;
    }
    uint64_t id = 0;
    kt_store_audit_t a = {"proposed", who, 0, event_id, sha, NULL};
    a.detail = json_pack("{s:s}", "template", issue);
    st = kt_store_put_remedy(r->opts.store, &id, NULL, "proposed", doc, &a);
    json_decref(a.detail);
    if (st != APR_SUCCESS) {
        st = kt__remedy_fail(err, KT_EUNAVAIL, "store_unavailable",
                             "the proposal cannot be stored: nothing is proposed without its audit");
        goto done;
    }

    /* The script's own dry run, from its file (the file that will run). */
    const char *why = NULL;
    json_t *dry;
    if (!c.scripts_dir) {
        dry = json_pack("{s:s}", "skipped", "no scripts_dir is configured");
    } else if (!kt__remedy_safe(r, &c, &why, pool)) {
        dry = json_pack("{s:s}", "skipped", why);
    } else {
        const char *file = apr_psprintf(pool, "remedy-%" APR_UINT64_T_FMT "%s", id,
                                        strcmp(os, "windows") == 0 ? ".ps1" : ".sh");
        const char *path = kt_sys_join_path(c.scripts_dir, file, pool);
        apr_status_t ws = kt_sys_private_dir(c.scripts_dir, pool);
        if (ws == APR_SUCCESS)
            ws = write_script(path, json_string_value(json_object_get(doc, "script")), pool);
        kt_sys_run_result_t res;
        if (ws == APR_SUCCESS) {
            json_object_set_new(doc, "file", json_string(path));
            ws = kt__remedy_exec(r, &c, path, sha, 1, dialect_of(os), &res, pool);
        }
        char buf[200];
        dry = ws != APR_SUCCESS
                  ? json_pack("{s:s}", "skipped", kt_strerror(ws, buf, sizeof buf))
                  : json_pack("{s:i s:b s:I s:s% s:b}", "exit_code", res.exit_code, "timed_out",
                              res.timed_out, "duration_ms", (json_int_t)(res.duration / 1000),
                              "output", res.output, (size_t)res.output_len, "truncated",
                              res.truncated);
    }
    json_object_set_new(doc, "dry_run", dry ? dry : json_null());
    kt_store_audit_t da = {"dry_run", "kotod", id, event_id, sha, json_object_get(doc, "dry_run")};
    if (kt_store_put_remedy(r->opts.store, &id, "proposed", "proposed", doc, &da) != APR_SUCCESS)
        kt_log(KT_LOG_WARN, "remediation %llu: its dry run could not be stored", (unsigned long long)id);
    kt_log(KT_LOG_INFO, "remediation %llu proposed by %s: %s (sha256 %.12s...)", (unsigned long long)id,
           who ? who : "?", issue, sha);
    *out = doc;
    doc = NULL;
done:
    json_decref(params);
    json_decref(doc);
    apr_pool_destroy(pool);
    return st;
}

/* ---- decisions ------------------------------------------------------------------------------- */

apr_status_t kt_remedy_get(kt_remedy_t *r, uint64_t id, json_t **out, kt_remedy_err_t *err)
{
    apr_status_t st = kt_store_get_remedy(r->opts.store, id, out);
    if (st == KT_ENOTFOUND)
        return kt__remedy_fail(err, st, "no_such_remediation", "there is no remediation %llu", (unsigned long long)id);
    if (st != APR_SUCCESS)
        return kt__remedy_fail(err, KT_EUNAVAIL, "store_unavailable", "the store cannot answer now");
    /* A pending proposal past its time is expired, and the audit says so. */
    const char *state = json_string_value(json_object_get(*out, "state"));
    apr_int64_t expires = json_integer_value(json_object_get(*out, "expires_ms"));
    if (state && strcmp(state, "proposed") == 0 && apr_time_as_msec(apr_time_now()) > expires) {
        kt_store_audit_t a = {"expired", "kotod", id,
                              (uint64_t)json_integer_value(json_object_get(*out, "event_id")),
                              json_string_value(json_object_get(*out, "sha256")), NULL};
        kt_store_put_remedy(r->opts.store, &id, "proposed", "expired", *out, &a);
    }
    return APR_SUCCESS;
}

/* The proposal id when it is still pending; else a refusal saying why. */
static apr_status_t pending(kt_remedy_t *r, uint64_t id, json_t **doc, kt_remedy_err_t *err)
{
    apr_status_t st = kt_remedy_get(r, id, doc, err);
    if (st != APR_SUCCESS)
        return st;
    const char *state = json_string_value(json_object_get(*doc, "state"));
    if (!state || strcmp(state, "proposed") != 0) {
        st = kt__remedy_fail(err, KT_ESTATE, "not_pending",
                             "remediation %llu is %s, not waiting for a decision",
                             (unsigned long long)id, state ? state : "?");
        json_decref(*doc);
        *doc = NULL;
    }
    return st;
}

apr_status_t kt_remedy_approve(kt_remedy_t *r, uint64_t id, const char *sha256, const char *who,
                               json_t **out, kt_remedy_err_t *err)
{
    return kt__remedy_approve_as(r, id, sha256, who, "approved", out, err);
}

apr_status_t kt__remedy_approve_as(kt_remedy_t *r, uint64_t id, const char *sha256,
                                   const char *who, const char *action, json_t **out,
                                   kt_remedy_err_t *err)
{
    if (!sha256)
        return kt__remedy_fail(err, KT_EINPUT, "bad_parameter",
                               "sha256 (the hash of the script you read) is required");
    json_t *doc;
    apr_status_t st = pending(r, id, &doc, err);
    if (st != APR_SUCCESS)
        return st;
    const char *sha = json_string_value(json_object_get(doc, "sha256"));
    uint64_t event_id = (uint64_t)json_integer_value(json_object_get(doc, "event_id"));
    if (!sha || strcmp(sha, sha256) != 0) {
        json_t *d = json_pack("{s:s s:s}", "reason", "hash_mismatch", "sha256_given", sha256);
        kt_store_audit_t a = {"approval_refused", who, id, event_id, sha ? sha : "", d};
        kt_store_put_audit(r->opts.store, &a);
        json_decref(d);
        json_decref(doc);
        return kt__remedy_fail(err, KT_EINPUT, "hash_mismatch",
                               "the sha256 given is not the script's: read the proposal again");
    }
    json_object_set_new(doc, "decided_by", json_string(who ? who : "?"));
    json_object_set_new(doc, "decided_ms", json_integer((json_int_t)apr_time_as_msec(apr_time_now())));
    kt_store_audit_t a = {action, who, id, event_id, sha, NULL};
    st = kt_store_put_remedy(r->opts.store, &id, "proposed", "approved", doc, &a);
    if (st != APR_SUCCESS) {
        json_decref(doc);
        return st == KT_ESTATE
                   ? kt__remedy_fail(err, st, "not_pending", "remediation %llu was decided meanwhile", (unsigned long long)id)
                   : kt__remedy_fail(err, KT_EUNAVAIL, "store_unavailable", "the approval cannot be stored");
    }
    kt_log(KT_LOG_INFO, "remediation %llu approved by %s", (unsigned long long)id, who ? who : "?");
    kt__remedy_job_t job = {KT__JOB_RUN, id, {0}};
    if ((st = kt__runner_queue(r, &job)) != APR_SUCCESS) {
        kt_store_audit_t q = {"refused", "kotod", id, event_id, sha, NULL};
        q.detail = json_pack("{s:s}", "reason", "the run queue is full");
        kt_store_put_remedy(r->opts.store, &id, "approved", "refused", doc, &q);
        json_decref(q.detail);
        json_decref(doc);
        return kt__remedy_fail(err, KT_EUNAVAIL, "busy", "too many remediations are waiting to run");
    }
    *out = doc;
    return APR_SUCCESS;
}

apr_status_t kt_remedy_deny(kt_remedy_t *r, uint64_t id, const char *who, json_t **out,
                            kt_remedy_err_t *err)
{
    json_t *doc;
    apr_status_t st = pending(r, id, &doc, err);
    if (st != APR_SUCCESS)
        return st;
    json_object_set_new(doc, "decided_by", json_string(who ? who : "?"));
    json_object_set_new(doc, "decided_ms", json_integer((json_int_t)apr_time_as_msec(apr_time_now())));
    kt_store_audit_t a = {"denied", who, id,
                          (uint64_t)json_integer_value(json_object_get(doc, "event_id")),
                          json_string_value(json_object_get(doc, "sha256")), NULL};
    st = kt_store_put_remedy(r->opts.store, &id, "proposed", "denied", doc, &a);
    if (st != APR_SUCCESS) {
        json_decref(doc);
        return kt__remedy_fail(err, st == KT_ESTATE ? st : KT_EUNAVAIL, "not_pending",
                               "remediation %llu could not be denied", (unsigned long long)id);
    }
    const char *file = json_string_value(json_object_get(doc, "file"));
    apr_pool_t *tmp;
    if (file && apr_pool_create_unmanaged_ex(&tmp, NULL, NULL) == APR_SUCCESS) {
        apr_file_remove(file, tmp);
        apr_pool_destroy(tmp);
    }
    *out = doc;
    return APR_SUCCESS;
}

/* ---- life and counts ------------------------------------------------------------------------ */

void kt_remedy_counts(kt_remedy_t *r,
                      void (*fn)(void *baton, const char *tmpl, const char *result, uint64_t n),
                      void *baton)
{
    kt__remedy_count_t copy[KT__REMEDY_COUNTS];
    apr_thread_mutex_lock(r->lock);
    unsigned n = r->ncounts;
    memcpy(copy, r->counts, sizeof copy[0] * n);
    apr_thread_mutex_unlock(r->lock);
    for (unsigned i = 0; i < n; i++)
        fn(baton, copy[i].tmpl, copy[i].result, copy[i].n);
}

/* A pre-cleanup: the subscription and the runner end before the pool's
 * children (the runner thread's own pool among them) go. */
static apr_status_t remedy_cleanup(void *data)
{
    kt_remedy_t *r = data;
    if (r->sub)
        kt_mon_unsubscribe(r->opts.mon, r->sub);
    r->sub = 0;
    kt__runner_stop(r);
    return APR_SUCCESS;
}

apr_status_t kt_remedy_create(kt_remedy_t **out, const kt_remedy_opts_t *opts, apr_pool_t *pool)
{
    apr_pool_t *p;
    apr_status_t st = apr_pool_create(&p, pool);
    if (st != APR_SUCCESS)
        return st;
    kt_remedy_t *r = apr_pcalloc(p, sizeof *r);
    r->pool = p;
    r->queue = apr_palloc(p, sizeof *r->queue * KT__REMEDY_QUEUE);
    r->counts = apr_palloc(p, sizeof *r->counts * KT__REMEDY_COUNTS);
    r->verify = apr_palloc(p, sizeof *r->verify * KT__REMEDY_VERIFY);
    r->breakers = apr_palloc(p, sizeof *r->breakers * KT__REMEDY_BREAKERS);
    r->opts = *opts;
    r->opts.config_file = opts->config_file ? apr_pstrdup(p, opts->config_file) : NULL;
    if ((st = apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, p)) ||
        (st = apr_thread_cond_create(&r->work, p)) || (st = kt__runner_start(r))) {
        apr_pool_destroy(p);
        return st;
    }
    apr_pool_pre_cleanup_register(p, r, remedy_cleanup);
    if (r->opts.mon && (st = kt_mon_subscribe(r->opts.mon, kt__auto_reading, r, &r->sub)) != APR_SUCCESS) {
        apr_pool_destroy(p);
        return st;
    }
    *out = r;
    return APR_SUCCESS;
}

void kt_remedy_destroy(kt_remedy_t *r)
{
    if (r)
        apr_pool_destroy(r->pool); /* remedy_cleanup stops everything first */
}
