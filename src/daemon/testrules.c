/*
 * testrules.c - kotod --test-rules FILE: feeds recorded or written readings
 * through the thresholds and the rules, as `promtool test rules` does, so a
 * person can see what a change will do before reloading it.
 *
 * FILE holds one reading or a list of them, in the shape `kotod --once`
 * prints; fields left out are unknown. Each reading is judged in order (so
 * hold-down and margins behave as live) and its events and findings are
 * printed. Exits 1 when a rule failed, 0 otherwise.
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

int kt_run_test_rules(const kt_opts_t *o, apr_pool_t *pool)
{
    char err[600];
    kt_rules_t *rules;
    kt_conf_t conf;
    if (kt_setup_load(o, &rules, &conf, err, sizeof err, pool) != APR_SUCCESS) {
        fprintf(stderr, "kotod: %s\n", err);
        return 1;
    }
    json_error_t je;
    json_t *doc = json_load_file(o->test_rules, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        fprintf(stderr, "kotod: %s:%d:%d: %s\n", o->test_rules, je.line, je.column, je.text);
        kt_rules_release(rules);
        return 1;
    }
    if (!json_is_array(doc)) {
        json_t *one = json_array();
        json_array_append_new(one, doc);
        doc = one;
    }
    kt_mon_t *mon;
    if (kt_mon_create(&mon, &conf.mon, NULL, pool) != APR_SUCCESS) {
        json_decref(doc);
        kt_rules_release(rules);
        return 1;
    }
    kt_mon_set_conditions(mon, run_conditions, rules);
    printf("%s; thresholds from %s\n", kt_rules_summary(rules, pool),
           o->config_file ? o->config_file : "the configuration");
    unsigned nevents = 0, nfind = 0, nerr = 0;
    uint64_t seen = 0;
    size_t i;
    json_t *reading;
    kt_hist_point_t *hist = apr_palloc(pool, sizeof *hist * 720);
    kt_event_t *ev = apr_palloc(pool, sizeof *ev * 256);
    json_array_foreach(doc, i, reading) {
        apr_pool_t *rp;
        apr_pool_create_unmanaged_ex(&rp, NULL, NULL);
        kt_sample_t *s = apr_palloc(rp, sizeof *s);
        if (kt_sample_from_json(reading, s, rp, err, sizeof err) != APR_SUCCESS) {
            fprintf(stderr, "kotod: %s: reading %zu: %s\n", o->test_rules, i + 1, err);
            apr_pool_destroy(rp);
            nerr++;
            continue;
        }
        printf("reading %zu\n", i + 1);
        kt_mon_ingest(mon, s, rp); /* the monitor owns rp from here */
        kt_event_filter_t f = {-1, -1, seen, 0};
        unsigned n = kt_mon_events(mon, &f, ev, 256);
        for (unsigned k = 0; k < n; k++, nevents++) {
            printf("  event %s %s (%s): %s\n", kt_event_type_name(ev[k].type),
                   ev[k].resolved ? "resolved" : "started", kt_severity_name(ev[k].severity),
                   ev[k].message);
            seen = ev[k].id;
        }
        kt_snap_t *snap = kt_mon_acquire(mon);
        unsigned nh = kt_mon_history(mon, 0, hist, 720);
        json_t *findings = kt_rules_analyze(rules, kt_snap_sample(snap), hist, nh);
        kt_snap_release(snap);
        print_findings(findings, &nfind, &nerr);
        json_decref(findings);
    }
    printf("%zu readings: %u events, %u findings, %u rule errors\n", json_array_size(doc),
           nevents, nfind, nerr);
    json_decref(doc);
    kt_mon_destroy(mon);
    kt_rules_release(rules);
    return nerr ? 1 : 0;
}
