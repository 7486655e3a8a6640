/*
 * history.c - /api/agent/history: the recent readings in memory for the
 * live charts, and with from/to/points any series over any range from the
 * store's tiers; /api/agent/history/series lists what the store holds.
 */
#include "api_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HISTORY_REPLY 100000
#define MAX_POINTS 10000
#define DEFAULT_POINTS 500

/* ---- in memory ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    size_t offset;
} metrics[] = {
    {"cpu", offsetof(kt_hist_point_t, cpu_pct)},
    {"memory", offsetof(kt_hist_point_t, memory_pct)},
    {"swap", offsetof(kt_hist_point_t, swap_pct)},
    {"load1", offsetof(kt_hist_point_t, load1)},
    {"disk", offsetof(kt_hist_point_t, disk_max_pct)},
    {"net_rx", offsetof(kt_hist_point_t, net_rx_bytes_ps)},
    {"net_tx", offsetof(kt_hist_point_t, net_tx_bytes_ps)},
    {"cpu_pressure", offsetof(kt_hist_point_t, cpu_pressure_pct)},
    {"memory_pressure", offsetof(kt_hist_point_t, memory_pressure_pct)},
    {"io_pressure", offsetof(kt_hist_point_t, io_pressure_pct)},
};

/* The recent readings kotod holds in memory (since, limit): the live charts. */
static void recent(kt_http_req_t *req, kt_api_t *api)
{
    uint64_t since_ms, limit;
    if (kt__api_query_u64(req, "since", 0, UINT64_MAX >> 12, &since_ms) ||
        kt__api_query_u64(req, "limit", MAX_HISTORY_REPLY, MAX_HISTORY_REPLY, &limit))
        return;
    const char *metric = kt_http_query(req, "metric");
    int which = -1;
    for (size_t i = 0; metric && i < KT_ARRAY_SIZE(metrics); i++)
        if (strcmp(metric, metrics[i].name) == 0)
            which = (int)i;
    if (metric && which < 0) {
        kt_http_reply_error(req, 400, "bad_parameter",
                            "metric must be one of cpu, memory, swap, load1, disk, net_rx, "
                            "net_tx, cpu_pressure, memory_pressure, io_pressure; not '%s'",
                            metric);
        return;
    }
    unsigned max = limit ? (unsigned)limit : 1;
    kt_hist_point_t *p = apr_palloc(kt_http_pool(req), sizeof *p * max);
    unsigned n = kt_mon_history(api->mon, apr_time_from_msec(since_ms), p, max);
    json_t *points = json_array();
    for (unsigned i = 0; i < n; i++) {
        if (which < 0) {
            json_array_append_new(points, kt_json_history_point(&p[i]));
            continue;
        }
        double v = *(const double *)((const char *)&p[i] + metrics[which].offset);
        json_array_append_new(points, json_pack("[I o]", (json_int_t)apr_time_as_msec(p[i].time),
                                                kt_known(v) ? json_real(v) : json_null()));
    }
    kt_http_reply_json(req, 200, json_pack("{s:s s:o s:i}", "metric", metric ? metric : "all",
                                           "points", points, "count", (int)n));
}

/* ---- from the store ---------------------------------------------------------------------- */

/* A time parameter: milliseconds since the epoch, or relative to now with
 * a unit ("-7d", "-6h", "-30m", "-90s"; "now"). */
static int parse_time(json_t *v, int64_t now_ms, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= 0 ? 0 : -1;
    }
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    if (strcmp(s, "now") == 0) {
        *out = now_ms;
        return 0;
    }
    char *end;
    long long n = strtoll(s, &end, 10);
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}, {'w', 604800000}};
    if (end == s)
        return -1;
    if (*end == '\0') { /* a number in a string: an absolute time */
        *out = n;
        return n >= 0 ? 0 : -1;
    }
    for (size_t i = 0; i < KT_ARRAY_SIZE(units); i++)
        if (end[0] == units[i].unit && end[1] == '\0' && n <= 0 && n > -(INT64_MAX / units[i].ms)) {
            *out = now_ms + n * units[i].ms;
            return 0;
        }
    return -1;
}

apr_status_t kt__op_history(const kt__api_call_t *call, json_t *params, json_t **result,
                            kt__api_err_t *err)
{
    kt_store_t *store = call->api->store;
    const char *metric = json_string_value(json_object_get(params, "metric"));
    if (!metric)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter",
                            "metric is required: one of the names GET /api/agent/history/series "
                            "lists (cpu, memory, fs_used:/var, net_rx:eth0...)");
    int64_t now = apr_time_as_msec(apr_time_now()), from, to;
    json_t *jfrom = json_object_get(params, "from"), *jto = json_object_get(params, "to");
    if (jto ? parse_time(jto, now, &to) : (to = now, 0))
        return kt__api_fail(err, KT_EINPUT, "bad_parameter",
                            "to must be milliseconds since the epoch, now, or like -6h");
    if (jfrom ? parse_time(jfrom, now, &from) : (from = to - 3600000, 0))
        return kt__api_fail(err, KT_EINPUT, "bad_parameter",
                            "from must be milliseconds since the epoch, or like -7d, -6h, -30m");
    if (from > to)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter", "from must not be after to");
    json_t *jpoints = json_object_get(params, "points");
    json_int_t points = jpoints ? json_integer_value(jpoints) : DEFAULT_POINTS;
    if (points < 1 || points > MAX_POINTS)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter", "points must be 1..%d", MAX_POINTS);
    if (!store)
        return kt__api_fail(err, KT_EUNAVAIL, "store_off",
                            "history over a range needs the store (store = true)");
    apr_status_t st = kt_store_history(store, metric, apr_time_from_msec(from),
                                       apr_time_from_msec(to), (unsigned)points, result);
    if (st == KT_ENOTFOUND)
        return kt__api_fail(err, st, "unknown_metric",
                            "no series '%s' has been recorded; GET /api/agent/history/series lists them",
                            metric);
    if (st != APR_SUCCESS) {
        char why[128];
        return kt__api_fail(err, KT_EUNAVAIL, "store_unavailable", "the store did not answer: %s",
                            kt_strerror(st, why, sizeof why));
    }
    return APR_SUCCESS;
}

/* A query parameter into params: an integer when it is one, else the text. */
static void put_param(json_t *params, kt_http_req_t *req, const char *name)
{
    const char *v = kt_http_query(req, name);
    if (!v)
        return;
    char *end;
    long long n = strtoll(v, &end, 10);
    json_object_set_new(params, name, *v && !*end ? json_integer(n) : json_string(v));
}

static void history_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return;
    if (!kt_http_query(req, "from") && !kt_http_query(req, "to") && !kt_http_query(req, "points")) {
        recent(req, api);
        return;
    }
    json_t *params = json_object(), *result = NULL;
    const char *names[] = {"metric", "from", "to", "points"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(names); i++)
        put_param(params, req, names[i]);
    if (json_is_integer(json_object_get(params, "metric")))
        json_object_set_new(params, "metric", json_string(kt_http_query(req, "metric")));
    kt__api_err_t err = {0};
    kt__api_call_t call = kt__api_call(api, req);
    apr_status_t st = kt__op_history(&call, params, &result, &err);
    json_decref(params);
    kt__api_answer(req, st, result, &err);
}

static void series_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return;
    kt__api_err_t err = {0};
    json_t *list = NULL;
    apr_status_t st = api->store ? kt_store_series(api->store, &list) : KT_EUNAVAIL;
    if (st != APR_SUCCESS) {
        kt__api_fail(&err, KT_EUNAVAIL, "store_unavailable", "the series are in the store, which %s",
                     api->store ? "did not answer" : "is off (store = false)");
        kt__api_reply_failure(req, KT_EUNAVAIL, &err);
        return;
    }
    kt_http_reply_json(req, 200, json_pack("{s:o s:i}", "series", list, "count",
                                           (int)json_array_size(list)));
}

void kt__api_history_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "GET", "/api/agent/history", history_handler, api);
    kt_http_route(http, "GET", "/api/agent/history/series", series_handler, api);
}
