/*
 * auto.c - what the monitor's readings bring to remediation: events that
 * the configuration fixes by itself (auto = true), the circuit breaker that
 * stops a fix which keeps being needed, and the verification of every run
 * made for an event.
 *
 * The subscriber (kt__auto_reading) runs on the sampler thread: it only
 * queues events for the runner thread and counts readings for the runs
 * being verified; proposing (with its dry run) and running happen on the
 * runner thread. An automatic fix is still a proposal and an approval in
 * the audit, by "configuration" (action auto_approved).
 *
 * The breaker keys on the rule (event, subject, template): more than
 * max_runs automatic runs within window_s and it refuses, raises
 * remediation_gave_up once for that window, and records the refusal.
 * Verification: after a run for an event, the condition (the event's type
 * and subject) must be gone within remedy_verify_readings readings
 * (audit "verified"), else remediation_failed is raised (audit
 * "verify_failed").
 */
#include "remedy_internal.h"

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

/* The rule for an event, copied out of the rule set (in pool), or 0. */
static int rule_for(kt_remedy_t *r, const kt_event_t *ev, kt_remedy_rule_t *out, apr_pool_t *pool)
{
    kt_rules_t *rules = kt_rules_cell_get(r->opts.rules);
    const kt_conf_t *conf = rules ? kt_rules_conf(rules) : NULL;
    int found = 0;
    const char *type = kt_event_type_name(ev->type);
    for (unsigned i = 0; conf && i < conf->nremediate && !found; i++) {
        const kt_remedy_rule_t *k = &conf->remediate[i];
        if (strcmp(k->event, type) != 0 || (k->subject && strcmp(k->subject, ev->subject) != 0))
            continue;
        *out = *k;
        out->event = apr_pstrdup(pool, k->event);
        out->subject = k->subject ? apr_pstrdup(pool, k->subject) : NULL;
        out->template = apr_pstrdup(pool, k->template);
        out->params = NULL;
        found = 1;
    }
    kt_rules_release(rules);
    return found;
}

static void post(kt_remedy_t *r, kt_event_type_t type, const char *subject, const char *msg)
{
    kt_event_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.severity = KT_SEV_HIGH;
    snprintf(e.subject, sizeof e.subject, "%s", subject);
    snprintf(e.message, sizeof e.message, "%s", msg);
    if (!r->opts.mon || kt_mon_post_event(r->opts.mon, &e) != APR_SUCCESS)
        kt_log(KT_LOG_WARN, "remediation: cannot raise %s: %s", kt_event_type_name(type), msg);
}

/* 1 when the rule may run now (the run is counted); 0 when its breaker is open. */
static int breaker_allows(kt_remedy_t *r, const kt_remedy_rule_t *k, const char *subject,
                          int *first_refusal)
{
    char key[256];
    snprintf(key, sizeof key, "%s|%s|%s", k->event, subject, k->template);
    apr_time_t now = apr_time_now(), window = apr_time_from_sec(k->window_s ? k->window_s : 600);
    unsigned max = k->max_runs ? k->max_runs : 3;
    if (max > 16)
        max = 16;
    apr_thread_mutex_lock(r->lock);
    kt__remedy_breaker_t *b = NULL;
    for (unsigned i = 0; i < r->nbreakers && !b; i++)
        if (strcmp(r->breakers[i].key, key) == 0)
            b = &r->breakers[i];
    if (!b && r->nbreakers < KT__REMEDY_BREAKERS) {
        b = &r->breakers[r->nbreakers++];
        memset(b, 0, sizeof *b);
        snprintf(b->key, sizeof b->key, "%s", key);
    }
    int ok = 0;
    *first_refusal = 0;
    if (b) {
        unsigned kept = 0; /* runs still inside the window */
        for (unsigned i = 0; i < b->nruns; i++)
            if (now - b->runs[i] < window)
                b->runs[kept++] = b->runs[i];
        b->nruns = kept;
        if (kept == 0)
            b->gave_up = 0;
        if (kept < max) {
            b->runs[b->nruns++] = now;
            ok = 1;
        } else if (!b->gave_up) {
            b->gave_up = 1;
            *first_refusal = 1;
        }
    }
    apr_thread_mutex_unlock(r->lock);
    return ok;
}

void kt__auto_event(kt_remedy_t *r, const kt_event_t *ev, apr_pool_t *pool)
{
    kt_remedy_rule_t k;
    memset(&k, 0, sizeof k);
    if (!rule_for(r, ev, &k, pool) || !k.auto_run)
        return;
    int first_refusal;
    if (!breaker_allows(r, &k, ev->subject, &first_refusal)) {
        const char *msg = apr_psprintf(pool, "%s on %s: %s ran %u times within %u s; not running it "
                                       "again until the window passes (fix the cause by hand)",
                                       k.event, ev->subject, k.template, k.max_runs, k.window_s);
        json_t *d = json_pack("{s:s s:s s:i s:i}", "template", k.template, "subject", ev->subject,
                              "max_runs", (int)k.max_runs, "window_s", (int)k.window_s);
        kt_store_audit_t a = {"auto_gave_up", "configuration", 0, ev->id, "", d};
        kt_store_put_audit(r->opts.store, &a);
        json_decref(d);
        if (first_refusal) {
            post(r, KT_EV_REMEDIATION_GAVE_UP, ev->subject, msg);
            kt_log(KT_LOG_WARN, "remediation: %s", msg);
        }
        return;
    }
    json_t *body = json_pack("{s:I}", "event_id", (json_int_t)ev->id), *doc = NULL;
    kt_remedy_err_t err = {0};
    apr_status_t st = kt_remedy_propose(r, body, "configuration", &doc, &err);
    json_decref(body);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_WARN, "remediation: the automatic fix for event %llu"
               " cannot be proposed: %s", (unsigned long long)ev->id, err.message);
        return;
    }
    uint64_t id = (uint64_t)json_integer_value(json_object_get(doc, "id"));
    const char *sha = json_string_value(json_object_get(doc, "sha256"));
    json_t *approved = NULL;
    st = kt__remedy_approve_as(r, id, sha, "configuration", "auto_approved", &approved, &err);
    if (st != APR_SUCCESS)
        kt_log(KT_LOG_WARN, "remediation %llu: not approved automatically: %s", (unsigned long long)id,
               err.message);
    json_decref(approved);
    json_decref(doc);
}

void kt__auto_watch(kt_remedy_t *r, json_t *doc)
{
    int type = kt_event_type_parse(json_string_value(json_object_get(doc, "event_type")));
    if (type < 0)
        return;
    apr_thread_mutex_lock(r->lock);
    if (r->nverify < KT__REMEDY_VERIFY) {
        kt__remedy_verify_t *v = &r->verify[r->nverify++];
        memset(v, 0, sizeof *v);
        v->remedy_id = (uint64_t)json_integer_value(json_object_get(doc, "id"));
        v->event_id = (uint64_t)json_integer_value(json_object_get(doc, "event_id"));
        v->type = (kt_event_type_t)type;
        snprintf(v->subject, sizeof v->subject, "%s", json_string_value(json_object_get(doc, "subject")));
        snprintf(v->sha256, sizeof v->sha256, "%s", json_string_value(json_object_get(doc, "sha256")));
    }
    apr_thread_mutex_unlock(r->lock);
}

/* Whether the condition (type, subject) is holding now. */
static int holding(const kt_mon_health_t *h, kt_event_type_t type, const char *subject)
{
    for (unsigned i = 0; i < h->nactive; i++)
        if (h->active[i].type == type && strcmp(h->active[i].subject, subject) == 0)
            return 1;
    return 0;
}

/* Settles the runs being verified against this reading's conditions. */
static void verify(kt_remedy_t *r)
{
    apr_thread_mutex_lock(r->lock);
    unsigned n = r->nverify;
    apr_thread_mutex_unlock(r->lock);
    if (!n)
        return;
    apr_pool_t *pool;
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return;
    kt__remedy_conf_t c;
    kt__remedy_conf(r, &c, pool);
    kt_mon_health_t *h = apr_palloc(pool, sizeof *h);
    kt_mon_health(r->opts.mon, h);
    kt__remedy_verify_t done[KT__REMEDY_VERIFY];
    int ok[KT__REMEDY_VERIFY];
    unsigned ndone = 0;
    apr_thread_mutex_lock(r->lock);
    for (unsigned i = 0; i < r->nverify;) {
        kt__remedy_verify_t *v = &r->verify[i];
        v->readings++;
        int still = holding(h, v->type, v->subject);
        if (!still || v->readings >= c.verify_readings) {
            ok[ndone] = !still;
            done[ndone++] = *v;
            r->verify[i] = r->verify[--r->nverify];
        } else {
            i++;
        }
    }
    apr_thread_mutex_unlock(r->lock);
    for (unsigned i = 0; i < ndone; i++) {
        kt__remedy_verify_t *v = &done[i];
        json_t *d = json_pack("{s:s s:s s:i}", "event_type", kt_event_type_name(v->type), "subject",
                              v->subject, "readings", (int)v->readings);
        kt_store_audit_t a = {ok[i] ? "verified" : "verify_failed", "kotod", v->remedy_id,
                              v->event_id, v->sha256, d};
        kt_store_put_audit(r->opts.store, &a);
        json_decref(d);
        if (!ok[i]) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "remediation %llu ran for event %llu"
                     " but %s on %s still holds %u readings later",
                     (unsigned long long)v->remedy_id, (unsigned long long)v->event_id, kt_event_type_name(v->type),
                     *v->subject ? v->subject : "the host", v->readings);
            post(r, KT_EV_REMEDIATION_FAILED, v->subject, msg);
        }
        kt_log(ok[i] ? KT_LOG_INFO : KT_LOG_WARN, "remediation %llu %s",
               (unsigned long long)v->remedy_id, ok[i] ? "verified: its condition resolved" : "did not fix its condition");
    }
    apr_pool_destroy(pool);
}

void kt__auto_reading(void *baton, const kt_snap_t *snap, const kt_event_t *events, unsigned n)
{
    kt_remedy_t *r = baton;
    (void)snap;
    for (unsigned i = 0; i < n; i++) {
        const kt_event_t *e = &events[i];
        if (e->resolved || e->escalated)
            continue;
        kt__remedy_job_t job;
        memset(&job, 0, sizeof job);
        job.kind = KT__JOB_AUTO;
        job.ev = *e;
        kt__runner_queue(r, &job); /* dropped when full: the next start comes back */
    }
    verify(r);
}
