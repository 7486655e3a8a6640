/*
 * bench_rules.c - what the Lua side costs: one analysis pass (every shipped
 * rule on one reading and its history) and one fix-script rendering, each
 * timed over N iterations, wall and CPU, against the goals of 5 ms and 1 ms.
 *
 *   bench_rules [-n N] [-l LUA_DIR] [-s SNAPSHOT.json] [-t TEMPLATE]
 *
 * The reading is a snapshot in the shape `kotod --once` prints (default
 * tests/fixtures/snapshots/quiet.json, a healthy 4-CPU server). It is timed
 * twice: with the snapshot's own history (10 points) and with 720 points,
 * which is what the API hands the rules (6 hours at 30 s). The template is
 * rendered for Bash with {"pid": 1234} (default cpu_high); when it is
 * missing, the first template there is, with no parameters.
 * Prints key=value lines; exits non-zero only when it could not measure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>

#include "kt_rules.h"

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    double wall_ms, cpu_ms;
} cost_t;

static cost_t time_analysis(kt_rules_t *r, json_t *sample, json_t *history, int n,
                            size_t *findings)
{
    /* one untimed pass: the first call may build a Lua state */
    json_t *out = kt_rules_analyze_json(r, sample, history);
    *findings = json_array_size(out);
    json_decref(out);
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < n; i++)
        json_decref(kt_rules_analyze_json(r, sample, history));
    return (cost_t){(now_s(CLOCK_MONOTONIC) - w0) * 1e3 / n,
                    (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3 / n};
}

static int time_render(kt_rules_t *r, const char *name, json_t *params, int n, cost_t *cost,
                       size_t *bytes)
{
    char err[512], *script;
    if (kt_rules_render(r, name, KT_DIALECT_BASH, params, &script, err, sizeof err) !=
        APR_SUCCESS) {
        fprintf(stderr, "bench_rules: template %s: %s\n", name, err);
        return -1;
    }
    *bytes = strlen(script);
    free(script);
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < n; i++) {
        kt_rules_render(r, name, KT_DIALECT_BASH, params, &script, err, sizeof err);
        free(script);
    }
    *cost = (cost_t){(now_s(CLOCK_MONOTONIC) - w0) * 1e3 / n,
                     (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3 / n};
    return 0;
}

static json_t *long_history(unsigned n)
{
    json_t *h = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(h, json_pack("{s:I s:f s:f s:f s:f s:f s:f s:f}", "time",
                                           (json_int_t)1795500000000 + (json_int_t)i * 30000,
                                           "cpu_pct", 20.0 + i % 7, "memory_pct", 43.5,
                                           "swap_pct", 3.1, "load1", 1.1, "disk_max_pct", 61.0,
                                           "net_rx_bytes_ps", 250000.0, "net_tx_bytes_ps",
                                           120000.0));
    return h;
}

static const char *verdict(double v, double goal) { return v <= goal ? "yes" : "no"; }

int main(int argc, char **argv)
{
    int n = 1000, opt;
    const char *lua_dir = KT_LUA_DIR, *snap = KT_SNAPSHOTS_DIR "/quiet.json";
    const char *template = "cpu_high";
    char *owned = NULL;
    while ((opt = getopt(argc, argv, "n:l:s:t:")) != -1) {
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 'l': lua_dir = optarg; break;
        case 's': snap = optarg; break;
        case 't': template = optarg; break;
        default:
            fprintf(stderr, "usage: bench_rules [-n N] [-l LUA_DIR] [-s SNAPSHOT] [-t TEMPLATE]\n");
            return 2;
        }
    }
    if (n < 1)
        n = 1;
    apr_initialize();
    kt_conf_t base = {.listen = "127.0.0.1:0", .script_os = "auto"};
    kt_mon_conf_defaults(&base.mon);
    kt_rules_opts_t o = {.dir = lua_dir};
    kt_rules_t *r;
    char err[600];
    if (kt_rules_load(&r, &o, &base, err, sizeof err) != APR_SUCCESS) {
        fprintf(stderr, "bench_rules: %s\n", err);
        return 1;
    }
    json_error_t je;
    json_t *sample = json_load_file(snap, 0, &je);
    if (!sample) {
        fprintf(stderr, "bench_rules: %s:%d: %s\n", snap, je.line, je.text);
        return 1;
    }
    json_t *history = json_incref(json_object_get(sample, "history"));
    json_object_del(sample, "history");
    json_t *hist720 = long_history(720);

    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    printf("rules: %s; snapshot %s; %d iterations\n", kt_rules_summary(r, pool), snap, n);
    size_t findings;
    cost_t a = time_analysis(r, sample, history, n, &findings);
    printf("analysis history=%zu findings=%zu wall_ms=%.3f cpu_ms=%.3f goal_ms=5 met=%s\n",
           json_array_size(history), findings, a.wall_ms, a.cpu_ms, verdict(a.cpu_ms, 5));
    a = time_analysis(r, sample, hist720, n, &findings);
    printf("analysis history=720 findings=%zu wall_ms=%.3f cpu_ms=%.3f goal_ms=5 met=%s\n",
           findings, a.wall_ms, a.cpu_ms, verdict(a.cpu_ms, 5));

    json_t *params = json_pack("{s:i}", "pid", 1234);
    char *probe;
    apr_status_t st = kt_rules_render(r, template, KT_DIALECT_BASH, params, &probe, err, sizeof err);
    if (st == KT_ENOTFOUND) { /* not written yet: whichever exists */
        json_t *all = kt_rules_templates(r);
        const char *first = json_string_value(json_object_get(json_array_get(all, 0), "name"));
        fprintf(stderr, "bench_rules: no template %s; using %s\n", template,
                first ? first : "(none)");
        template = owned = first ? strdup(first) : NULL;
        json_decref(all);
        json_decref(params);
        params = json_object();
    }
    free(probe);
    int rc = 0;
    cost_t t;
    size_t bytes;
    if (!template) {
        printf("render template=none (no templates to measure)\n");
    } else if (time_render(r, template, params, n, &t, &bytes) == 0) {
        printf("render template=%s dialect=bash bytes=%zu wall_ms=%.3f cpu_ms=%.3f goal_ms=1 "
               "met=%s\n", template, bytes, t.wall_ms, t.cpu_ms, verdict(t.cpu_ms, 1));
    } else {
        rc = 1;
    }
    json_decref(params);
    free(owned);
    apr_pool_destroy(pool);
    json_decref(hist720);
    json_decref(history);
    json_decref(sample);
    kt_rules_release(r);
    apr_terminate();
    return rc;
}
