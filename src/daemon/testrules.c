/*
 * testrules.c - kotod --test-rules FILE: feeds recorded or written readings
 * through the thresholds, the conditions and the rules, as `promtool test
 * rules` does, so a person can see what a change will do before reloading it.
 *
 * FILE holds one reading or a list of them, in the shape `kotod --once`
 * prints; fields left out are unknown. Each reading is judged in order (so
 * hold-down and margins behave as live) and its events and findings are
 * printed. Or FILE holds test cases with expectations:
 *
 *   {"cases": [{"name": "load holds five readings",
 *               "steps": [{"reading": {...}, "repeat": 4, "exp_events": []},
 *                         {"reading": {...},
 *                          "exp_events": [{"type": "load_high", "state": "started",
 *                                          "severity": "high"}],
 *                          "exp_findings": [{"rule": "load_high"}]}]}]}
 *
 * Each case starts from a fresh monitor. A step's reading is judged
 * `repeat` times (default 1); exp_events, when given, lists every event those
 * readings raised (type and state, and subject and severity when given) and
 * exp_findings every finding of the last one (rule, and severity when
 * given); a step without them is not checked. A mismatch prints a diff.
 * Exits 1 when a rule failed or an expectation was not met, 0 otherwise.
 */
#include "daemon.h"

#include <stdio.h>
#include <string.h>

static void print_findings(json_t *findings, unsigned *nfind, unsigned *nerr)
{
    size_t i, k;
    json_t *f, *sug;
    json_array_foreach(findings, i, f) {
        const char *cat = json_string_value(json_object_get(f, "category"));
        int is_err = cat && strcmp(cat, "rule_error") == 0;
        *(is_err ? nerr : nfind) += 1;
        printf("  %s %s/%s %s: %s\n", is_err ? "RULE ERROR" : "finding", cat ? cat : "?",
               json_string_value(json_object_get(f, "severity")),
               json_string_value(json_object_get(f, "rule")),
               json_string_value(json_object_get(f, "bottleneck")));
        const char *src = json_string_value(json_object_get(f, "source"));
        if (src)
            printf("    at %s\n", src);
        json_array_foreach(json_object_get(f, "suggestions"), k, sug)
            printf("    - %s\n", json_string_value(sug) ? json_string_value(sug) : "?");
    }
}

static unsigned run_conditions(void *baton, const kt_sample_t *s, kt_mon_verdict_t *out,
                               unsigned max)
{
    return kt_rules_conditions(baton, s, out, max);
}

typedef struct {
    kt_rules_t *rules;
    const kt_conf_t *conf;
    const char *file;
    apr_pool_t *pool;
    kt_hist_point_t *hist;
    kt_event_t *ev;
    unsigned nevents, nfind, nerr, readings, failed_steps;
} run_t;

/* ---- expectations ------------------------------------------------------------------------- */

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* One line for an event as the expectations name it: "type state [severity] [on subject]". */
static void event_line(json_t *e, char *buf, size_t len)
{
    const char *sev = str(e, "severity"), *subj = str(e, "subject");
    snprintf(buf, len, "%s %s%s%s%s%s", str(e, "type") ? str(e, "type") : "?",
             str(e, "state") ? str(e, "state") : "started", sev ? " " : "", sev ? sev : "",
             subj && *subj ? " on " : "", subj && *subj ? subj : "");
}

/* Does got (an event or a finding as JSON) have every field want names? */
static int matches(json_t *want, json_t *got)
{
    const char *key;
    json_t *v;
    json_object_foreach(want, key, v) {
        if (strcmp(key, "state") == 0 && !json_object_get(got, "state") && json_is_string(v))
            continue;
        if (!json_equal(v, json_object_get(got, key)))
            return 0;
    }
    return 1;
}

/* Pairs wanted with got, in any order, on the fields wanted names (an
 * event's state defaults to "started"); prints what is missing and what is
 * extra, and returns 1 when they differ. */
static int compare(const char *what, json_t *want, json_t *got, int events, const char *where)
{
    size_t nw = json_array_size(want), ng = json_array_size(got);
    char *used = calloc(ng + 1, 1), line[512];
    int differ = 0;
    json_t *missing = json_array(), *extra = json_array();
    for (size_t i = 0; i < nw; i++) {
        json_t *w = json_array_get(want, i);
        json_t *wq = json_deep_copy(w);
        if (events && !json_object_get(wq, "state"))
            json_object_set_new(wq, "state", json_string("started"));
        size_t k = 0;
        for (; k < ng; k++)
            if (!used[k] && matches(wq, json_array_get(got, k)))
                break;
        json_decref(wq);
        if (k < ng)
            used[k] = 1;
        else
            json_array_append(missing, w);
    }
    for (size_t k = 0; k < ng; k++)
        if (!used[k])
            json_array_append(extra, json_array_get(got, k));
    free(used);
    if (json_array_size(missing) || json_array_size(extra)) {
        differ = 1;
        printf("FAIL %s: %s differ\n", where, what);
        size_t i;
        json_t *x;
        json_array_foreach(missing, i, x) {
            if (events)
                event_line(x, line, sizeof line);
            else
                snprintf(line, sizeof line, "%s%s%s", str(x, "rule") ? str(x, "rule") : "?",
                         str(x, "severity") ? " " : "", str(x, "severity") ? str(x, "severity") : "");
            printf("  - expected: %s\n", line);
        }
        json_array_foreach(extra, i, x) {
            if (events)
                event_line(x, line, sizeof line);
            else
                snprintf(line, sizeof line, "%s %s", str(x, "rule") ? str(x, "rule") : "?",
                         str(x, "severity") ? str(x, "severity") : "");
            printf("  + got:      %s\n", line);
        }
    }
    json_decref(missing);
    json_decref(extra);
    return differ;
}

/* ---- judging readings ----------------------------------------------------------------------- */

/* Judges one reading; appends its events (as JSON) to events and returns
 * its findings (caller owns), or NULL when the reading is not valid. */
static json_t *judge(run_t *t, kt_mon_t *mon, uint64_t *seen, json_t *reading, const char *where,
                     json_t *events)
{
    char err[600];
    apr_pool_t *rp;
    apr_pool_create_unmanaged_ex(&rp, NULL, NULL);
    kt_sample_t *s = apr_palloc(rp, sizeof *s);
    if (kt_sample_from_json(reading, s, rp, err, sizeof err) != APR_SUCCESS) {
        fprintf(stderr, "kotod: %s: %s: %s\n", t->file, where, err);
        apr_pool_destroy(rp);
        t->nerr++;
        return NULL;
    }
    t->readings++;
    kt_mon_ingest(mon, s, rp); /* the monitor owns rp from here */
    kt_event_filter_t f = {-1, -1, *seen, 0};
    unsigned n = kt_mon_events(mon, &f, t->ev, 256);
    for (unsigned k = 0; k < n; k++, t->nevents++) {
        printf("  event %s %s (%s)%s%s: %s\n", kt_event_type_name(t->ev[k].type),
               kt_event_state_name(&t->ev[k]), kt_severity_name(t->ev[k].severity),
               t->ev[k].subject[0] ? " on " : "", t->ev[k].subject, t->ev[k].message);
        if (t->ev[k].type == KT_EV_RULE_ERROR && !t->ev[k].resolved)
            t->nerr++;
        *seen = t->ev[k].id;
        json_array_append_new(events, kt_json_event(&t->ev[k]));
    }
    kt_snap_t *snap = kt_mon_acquire(mon);
    unsigned nh = kt_mon_history(mon, 0, t->hist, 720);
    json_t *findings = kt_rules_analyze(t->rules, kt_snap_sample(snap), t->hist, nh);
    kt_snap_release(snap);
    print_findings(findings, &t->nfind, &t->nerr);
    return findings;
}

static kt_mon_t *new_monitor(run_t *t)
{
    kt_mon_t *mon;
    if (kt_mon_create(&mon, &t->conf->mon, NULL, t->pool) != APR_SUCCESS)
        return NULL;
    kt_mon_set_conditions(mon, run_conditions, t->rules);
    kt_rules_conditions_reset(t->rules);
    return mon;
}

/* The plain form: a list of readings, printed. */
static void run_readings(run_t *t, json_t *doc)
{
    kt_mon_t *mon = new_monitor(t);
    if (!mon) {
        t->nerr++;
        return;
    }
    uint64_t seen = 0;
    size_t i;
    json_t *reading;
    json_array_foreach(doc, i, reading) {
        char where[64];
        snprintf(where, sizeof where, "reading %zu", i + 1);
        printf("reading %zu\n", i + 1);
        json_t *events = json_array();
        json_decref(judge(t, mon, &seen, reading, where, events));
        json_decref(events);
    }
    kt_mon_destroy(mon);
}

static void run_case(run_t *t, json_t *c, size_t ci)
{
    const char *name = str(c, "name");
    char cname[200];
    snprintf(cname, sizeof cname, "%s", name ? name : "");
    if (!name)
        snprintf(cname, sizeof cname, "case %zu", ci + 1);
    printf("case %s\n", cname);
    json_t *steps = json_object_get(c, "steps");
    if (!json_is_array(steps)) {
        fprintf(stderr, "kotod: %s: %s: needs a list of 'steps'\n", t->file, cname);
        t->nerr++;
        return;
    }
    kt_mon_t *mon = new_monitor(t);
    if (!mon) {
        t->nerr++;
        return;
    }
    uint64_t seen = 0;
    size_t i;
    json_t *step;
    json_array_foreach(steps, i, step) {
        char where[300];
        snprintf(where, sizeof where, "%s, step %zu", cname, i + 1);
        json_t *reading = json_object_get(step, "reading");
        json_int_t repeat = json_is_integer(json_object_get(step, "repeat"))
                                ? json_integer_value(json_object_get(step, "repeat"))
                                : 1;
        if (!reading || repeat < 1 || repeat > 10000) {
            fprintf(stderr, "kotod: %s: %s: needs a 'reading' and a 'repeat' of 1..10000\n",
                    t->file, where);
            t->nerr++;
            continue;
        }
        if (repeat > 1)
            printf("step %zu (x%lld)\n", i + 1, (long long)repeat);
        else
            printf("step %zu\n", i + 1);
        json_t *events = json_array(), *findings = NULL;
        for (json_int_t k = 0; k < repeat; k++) {
            json_decref(findings);
            findings = judge(t, mon, &seen, reading, where, events);
        }
        json_t *exp_ev = json_object_get(step, "exp_events");
        json_t *exp_f = json_object_get(step, "exp_findings");
        int differ = 0;
        if (json_is_array(exp_ev))
            differ |= compare("events", exp_ev, events, 1, where);
        if (json_is_array(exp_f) && findings)
            differ |= compare("findings", exp_f, findings, 0, where);
        t->failed_steps += differ;
        json_decref(findings);
        json_decref(events);
    }
    kt_mon_destroy(mon);
}

int kt_run_test_rules(const kt_opts_t *o, apr_pool_t *pool)
{
    char err[600];
    kt_rules_t *rules;
    kt_conf_t conf;
    if (kt_setup_load(o, &rules, &conf, err, sizeof err, pool) != APR_SUCCESS) {
        fprintf(stderr, "kotod: %s\n", err);
        return 1;
    }
    printf("%s; thresholds from %s\n", kt_rules_summary(rules, pool),
           o->config_file ? o->config_file : "the configuration");
    int rc = kt_test_rules_file(o->test_rules, rules, &conf, pool);
    kt_rules_release(rules);
    return rc;
}

int kt_test_rules_file(const char *file, kt_rules_t *rules, const kt_conf_t *conf,
                       apr_pool_t *pool)
{
    json_error_t je;
    json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        fprintf(stderr, "kotod: %s:%d:%d: %s\n", file, je.line, je.column, je.text);
        return 1;
    }
    run_t t = {.rules = rules, .conf = conf, .file = file, .pool = pool};
    t.hist = apr_palloc(pool, sizeof *t.hist * 720);
    t.ev = apr_palloc(pool, sizeof *t.ev * 256);
    json_t *cases = json_object_get(doc, "cases");
    size_t ncases = 0;
    if (json_is_array(cases)) {
        size_t i;
        json_t *c;
        json_array_foreach(cases, i, c)
            run_case(&t, c, i);
        ncases = json_array_size(cases);
    } else {
        if (!json_is_array(doc)) {
            json_t *one = json_array();
            json_array_append_new(one, doc);
            doc = one;
        }
        run_readings(&t, doc);
    }
    if (ncases)
        printf("%zu cases, %u readings: %u events, %u findings, %u rule errors, %u steps failed\n",
               ncases, t.readings, t.nevents, t.nfind, t.nerr, t.failed_steps);
    else
        printf("%u readings: %u events, %u findings, %u rule errors\n", t.readings, t.nevents,
               t.nfind, t.nerr);
    json_decref(doc);
    return t.nerr || t.failed_steps ? 1 : 0;
}
