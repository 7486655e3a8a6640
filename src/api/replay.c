/*
 * replay.c - POST /api/agent/rules/replay: the stored history judged
 * against proposed thresholds and conditions (replay_run.c), set beside
 * what fired. It changes nothing, so the read scope is enough. It runs on
 * an HTTP worker like every handler, never on the event loop; its work is
 * bounded by KT_REPLAY_MAX_READINGS, and one replay runs at a time so a
 * client cannot tie up every worker with them.
 */
#include "api_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static atomic_flag busy = ATOMIC_FLAG_INIT;

apr_status_t kt_replay_parse_time(const char *text, apr_time_t now, apr_time_t *out)
{
    char *end;
    if (!text || !isdigit((unsigned char)text[0]))
        return KT_EINPUT;
    unsigned long long v = strtoull(text, &end, 10);
    static const struct {
        const char *unit;
        unsigned long long ms;
    } units[] = {{"s", 1000ull}, {"m", 60000ull}, {"h", 3600000ull}, {"d", 86400000ull},
                 {"w", 604800000ull}};
    if (*end == '\0') { /* epoch milliseconds */
        *out = apr_time_from_msec((apr_int64_t)v);
        return v > 0 && v < 100000000000000ull ? APR_SUCCESS : KT_EINPUT;
    }
    for (size_t i = 0; i < KT_ARRAY_SIZE(units); i++)
        if (strcmp(end, units[i].unit) == 0) {
            if (v == 0 || v > 36500ull * 86400000ull / units[i].ms)
                return KT_EINPUT;
            *out = now - apr_time_from_msec((apr_int64_t)(v * units[i].ms));
            return APR_SUCCESS;
        }
    return KT_EINPUT;
}

/* "from" / "to": a span back from now ("7d") or epoch milliseconds. */
static int time_param(json_t *v, apr_time_t now, apr_time_t *out)
{
    char buf[32];
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(buf, sizeof buf, "%s", json_string_value(v));
    else
        return -1;
    return kt_replay_parse_time(buf, now, out) == APR_SUCCESS ? 0 : -1;
}

static apr_status_t op_replay(const kt__api_call_t *call, json_t *params, json_t **result,
                              kt__api_err_t *err)
{
    kt_api_t *api = call->api;
    apr_time_t now = apr_time_now(), from = now - apr_time_from_sec(86400), to = now;
    json_t *jf = json_object_get(params, "from"), *jt = json_object_get(params, "to");
    if ((jf && time_param(jf, now, &from) != 0) || (jt && time_param(jt, now, &to) != 0))
        return kt__api_fail(err, KT_EPARSE, "bad_range",
                            "'from' and 'to' are epoch milliseconds or a span back from now "
                            "(\"90m\", \"24h\", \"7d\")");
    if (to > now)
        to = now;
    if (to <= from)
        return kt__api_fail(err, KT_EPARSE, "bad_range", "'to' must come after 'from'");
    json_t *th = json_object_get(params, "thresholds"), *conds = json_object_get(params, "conditions");
    if ((th && !json_is_object(th) && !json_is_null(th)) ||
        (conds && !json_is_array(conds) && !json_is_null(conds)))
        return kt__api_fail(err, KT_EPARSE, "bad_request",
                            "'thresholds' is an object of settings and 'conditions' a list of "
                            "{name, source}");
    if (!api->store)
        return kt__api_fail(err, KT_EUNAVAIL, "no_store",
                            "no history is kept (store = false): nothing to replay");
    kt_rules_t *running;
    apr_status_t st = kt__api_rules(api, &running, err);
    if (st != APR_SUCCESS)
        return st;
    char why[600];
    kt_rules_t *proposed;
    st = kt_rules_derive(&proposed, running, json_is_null(th) ? NULL : th,
                         json_is_null(conds) ? NULL : conds, why, sizeof why);
    kt_rules_release(running);
    if (st != APR_SUCCESS)
        return kt__api_fail(err, st == KT_EINPUT ? KT_EPARSE : st,
                            strncmp(why, "conditions", 10) == 0 ? "bad_condition" : "bad_threshold",
                            "%s", why);
    if (atomic_flag_test_and_set(&busy)) {
        kt_rules_release(proposed);
        return kt__api_fail(err, KT_EUNAVAIL, "replay_busy",
                            "another replay is running; retry when it is done");
    }
    st = kt_replay_run(api->store, proposed, from, to, result, why, sizeof why);
    atomic_flag_clear(&busy);
    kt_rules_release(proposed);
    if (st != APR_SUCCESS)
        return kt__api_fail(err, st == KT_EINPUT ? KT_EPARSE : st,
                            st == KT_EUNAVAIL ? "no_store" : "bad_range", "%s", why);
    return APR_SUCCESS;
}

static void replay_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_READ, op_replay);
}

void kt__api_replay_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "POST", "/api/agent/rules/replay", replay_handler, api);
}
