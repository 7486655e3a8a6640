/*
 * replay.c - kotod --replay --from 7d [-c proposed.conf.lua] [--user-dir DIR]:
 * the history STATE_DIR/koto.db keeps, judged against the thresholds and
 * conditions of the configuration given (kt_replay_run), and what would
 * have fired set beside what did, per type and subject. It reads the
 * database beside a running kotod (the dashboard's replay asks the running
 * one, POST /api/agent/rules/replay).
 */
#include "daemon.h"
#include "kt_api.h"

#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_time.h>

/* "2026-12-04 17:02:03" in UTC, or "-" for null. */
static const char *when(json_t *ms, char *buf, size_t len)
{
    if (!json_is_integer(ms))
        return "-";
    apr_time_exp_t t;
    apr_size_t n;
    apr_time_exp_gmt(&t, apr_time_from_msec(json_integer_value(ms)));
    apr_strftime(buf, &n, len, "%Y-%m-%d %H:%M:%S", &t);
    return buf;
}

/* "3h 02m", "4m 10s", "12s". */
static const char *span(json_int_t ms, char *buf, size_t len)
{
    long long s = (long long)(ms / 1000);
    if (s >= 3600)
        snprintf(buf, len, "%lldh %02lldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(buf, len, "%lldm %02llds", s / 60, s % 60);
    else
        snprintf(buf, len, "%llds", s);
    return buf;
}

static void print_spans(const char *title, json_t *list)
{
    printf("\n%s (%zu):\n", title, json_array_size(list));
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) {
        char a[32], b[32], d[32];
        json_t *end = json_object_get(x, "end_ms");
        const char *subj = json_string_value(json_object_get(x, "subject"));
        printf("  %-22s %-20s %-6s %s .. %s%s%s\n", json_string_value(json_object_get(x, "type")),
               subj && *subj ? subj : "(host)", json_string_value(json_object_get(x, "severity")),
               when(json_object_get(x, "start_ms"), a, sizeof a),
               json_is_null(end) ? "still active" : when(end, b, sizeof b),
               json_is_null(end) ? "" : ", ",
               json_is_null(end) ? ""
                                 : span(json_integer_value(end) -
                                            json_integer_value(json_object_get(x, "start_ms")),
                                        d, sizeof d));
    }
}

static void print_answer(json_t *r)
{
    char a[32], b[32], d[32];
    printf("replay %s .. %s UTC: %lld readings from the %s tier, %lld ms apart\n",
           when(json_object_get(r, "from"), a, sizeof a), when(json_object_get(r, "to"), b, sizeof b),
           (long long)json_integer_value(json_object_get(r, "readings")),
           json_string_value(json_object_get(r, "tier")),
           (long long)json_integer_value(json_object_get(r, "step_ms")));
    printf("unknown (conditions that need them give no verdict):");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "unknown"), i, x)
        printf("%s %s", i ? "," : "", json_string_value(x));
    printf("\n\n%-22s %-20s %10s %6s  %-19s  %-19s  %s\n", "type", "subject", "would fire",
           "fired", "first", "last", "active");
    json_array_foreach(json_object_get(r, "summary"), i, x) {
        const char *subj = json_string_value(json_object_get(x, "subject"));
        json_int_t wf = json_integer_value(json_object_get(x, "would_fire")),
                   f = json_integer_value(json_object_get(x, "fired"));
        printf("%-22s %-20s %10lld %6lld  %-19s  %-19s  %s%s\n",
               json_string_value(json_object_get(x, "type")), subj && *subj ? subj : "(host)",
               (long long)wf, (long long)f, when(json_object_get(x, "first_ms"), a, sizeof a),
               when(json_object_get(x, "last_ms"), b, sizeof b),
               span(json_integer_value(json_object_get(x, "active_ms")), d, sizeof d),
               wf != f ? "   <- differs" : "");
    }
    if (!json_array_size(json_object_get(r, "summary")))
        printf("(nothing would fire, nothing fired)\n");
    print_spans("would fire", json_object_get(r, "would_fire"));
    print_spans("fired", json_object_get(r, "fired"));
}

int kt_run_replay(const kt_opts_t *o, apr_pool_t *pool)
{
    char err[600];
    apr_time_t now = apr_time_now(), from = now - apr_time_from_sec(86400), to = now;
    if ((o->replay_from && kt_replay_parse_time(o->replay_from, now, &from) != APR_SUCCESS) ||
        (o->replay_to && kt_replay_parse_time(o->replay_to, now, &to) != APR_SUCCESS)) {
        fprintf(stderr, "kotod: --from and --to want a span back from now (90m, 24h, 7d) or "
                        "epoch milliseconds\n");
        return 2;
    }
    kt_rules_t *rules;
    kt_conf_t conf;
    if (kt_setup_load(o, &rules, &conf, err, sizeof err, pool) != APR_SUCCESS) {
        fprintf(stderr, "kotod: %s\n", err);
        return 1;
    }
    kt_store_opts_t so = kt_setup_store_opts(&conf, pool);
    const char *path = so.path;
    apr_finfo_t fi;
    if (apr_stat(&fi, path, APR_FINFO_TYPE, pool) != APR_SUCCESS) {
        fprintf(stderr, "kotod: no history at %s (--state-dir names another?)\n", path);
        kt_rules_release(rules);
        return 1;
    }
    kt_store_t *store;
    kt_store_info_t info;
    if (kt_store_open(&store, &so, pool) != APR_SUCCESS) {
        fprintf(stderr, "kotod: cannot open %s\n", path);
        kt_rules_release(rules);
        return 1;
    }
    kt_store_info(store, &info);
    if (info.state == KT_STORE_OFF) {
        fprintf(stderr, "kotod: %s: %s\n", path, info.message);
        kt_store_close(store);
        kt_rules_release(rules);
        return 1;
    }
    printf("%s; thresholds from %s\n", kt_rules_summary(rules, pool),
           o->config_file ? o->config_file : "the configuration");
    json_t *r = NULL;
    apr_status_t st = kt_replay_run(store, rules, from, to, &r, err, sizeof err);
    kt_store_close(store);
    kt_rules_release(rules);
    if (st != APR_SUCCESS) {
        fprintf(stderr, "kotod: %s\n", err);
        return 1;
    }
    print_answer(r);
    json_decref(r);
    return 0;
}
