/*
 * fuzz_readings.c - libFuzzer target: bytes as the file of recorded
 * readings `kotod --test-rules FILE` reads, through the steps
 * src/daemon/testrules.c takes: jansson parses it (duplicate keys
 * refused), one reading or a list; each reading is read back by
 * kt_sample_from_json (src/core/json_in.c), judged by the detectors of a
 * fresh monitor, in order, and by the shipped rules with the history so
 * far.
 *
 * Properties, besides no crash, leak or undefined behaviour:
 *  - a reading read back and written out again (kt_json_sample, what
 *    `kotod --once` prints) reads back to the same JSON: what kotod prints
 *    can be fed to --test-rules and means the same;
 *  - the shipped rules find nothing wrong with themselves (no
 *    "rule_error" finding): a rule must cope with any reading, unknown,
 *    absurd or missing values included, as tests/rules already requires
 *    for a few odd ones.
 * Only the first 8 readings of a list are judged, so one input stays short.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <jansson.h>
#include <sanitizer/lsan_interface.h>

#include "kt_base.h"
#include "kt_rules.h"
#include "shipped_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_JUDGED 8

static apr_pool_t *root;
static kt_rules_t *rules;
static kt_hist_point_t hist[MAX_JUDGED];
static kt_event_t events[256];

static void fini(void)
{
    kt_rules_release(rules);
    apr_pool_destroy(root);
    apr_terminate();
}

static void init(void)
{
    apr_initialize();
    atexit(fini);
    kt_log_set_level(KT_LOG_ERROR);
    apr_pool_create(&root, NULL);
    rules = kt_fuzz_shipped_rules("fuzz_readings");
}

static void broken(const char *what, json_t *reading, json_t *a, json_t *b)
{
    char *r = json_dumps(reading, JSON_COMPACT | JSON_ENSURE_ASCII);
    char *x = a ? json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    char *y = b ? json_dumps(b, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    fprintf(stderr, "fuzz_readings: %s\nreading: %s\n%s\n%s\n", what, r, x ? x : "", y ? y : "");
    abort();
}

/* kt_json_sample of the reading read back from j, or NULL when refused. */
static json_t *read_and_write(json_t *j, kt_sample_t *s, apr_pool_t *pool)
{
    char err[256];
    if (kt_sample_from_json(j, s, pool, err, sizeof err) != APR_SUCCESS)
        return NULL;
    return kt_json_sample(s, 0);
}

static void judge(json_t *reading, kt_mon_t *mon, unsigned *nhist, uint64_t *seen)
{
    apr_pool_t *rp;
    apr_pool_create_unmanaged_ex(&rp, NULL, NULL);
    kt_sample_t *s = apr_palloc(rp, sizeof *s);
    json_t *written = read_and_write(reading, s, rp);
    if (!written) {
        apr_pool_destroy(rp);
        return;
    }
    apr_pool_t *again;
    apr_pool_create(&again, root);
    kt_sample_t s2;
    json_t *rewritten = read_and_write(written, &s2, again);
    if (!rewritten || !json_equal(written, rewritten))
        broken("written out and read back, the reading changed", reading, written, rewritten);
    json_decref(rewritten);
    json_decref(written);
    apr_pool_destroy(again);

    kt_mon_ingest(mon, s, rp); /* the monitor owns rp from here */
    kt_event_filter_t f = {-1, -1, *seen, 0};
    unsigned n = kt_mon_events(mon, &f, events, KT_ARRAY_SIZE(events));
    if (n)
        *seen = events[n - 1].id;
    *nhist = kt_mon_history(mon, 0, hist, KT_ARRAY_SIZE(hist));
    kt_snap_t *snap = kt_mon_acquire(mon);
    json_t *findings = kt_rules_analyze(rules, kt_snap_sample(snap), hist, *nhist);
    kt_snap_release(snap);
    if (!json_is_array(findings))
        broken("the rules did not answer a list", reading, findings, NULL);
    size_t i;
    json_t *finding;
    json_array_foreach(findings, i, finding) {
        const char *cat = json_string_value(json_object_get(finding, "category"));
        if (cat && strcmp(cat, "rule_error") == 0)
            broken("a shipped rule failed on this reading", reading, finding, NULL);
    }
    json_decref(findings);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rules)
        init();
    json_error_t je;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return 0;
    if (!json_is_array(doc)) {
        json_t *one = json_array();
        json_array_append_new(one, doc);
        doc = one;
    }
    apr_pool_t *p;
    apr_pool_create(&p, root);
    kt_mon_conf_t conf = kt_rules_conf(rules)->mon;
    conf.history_capacity = MAX_JUDGED;
    kt_mon_t *mon;
    if (kt_mon_create(&mon, &conf, NULL, p) != APR_SUCCESS)
        abort();
    unsigned nhist = 0;
    uint64_t seen = 0;
    for (size_t i = 0; i < json_array_size(doc) && i < MAX_JUDGED; i++)
        judge(json_array_get(doc, i), mon, &nhist, &seen);
    kt_mon_destroy(mon);
    apr_pool_destroy(p);
    json_decref(doc);
    return 0;
}
