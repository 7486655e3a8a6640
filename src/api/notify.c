/*
 * notify.c - the notification channels: GET /api/agent/notify (each
 * channel's state, as in status) and POST /api/agent/notify/test (a test
 * message through one channel, with the token); silences: GET, POST and
 * DELETE /api/agent/silences (changes with the token).
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

static apr_status_t op_channels(const kt__api_call_t *call, json_t *params, json_t **result,
                                kt__api_err_t *err)
{
    (void)params;
    (void)err;
    *result = call->api->notify ? kt_notify_json(call->api->notify)
                                : json_pack("{s:[] s:i}", "channels", "dropped", 0);
    return APR_SUCCESS;
}

static apr_status_t op_test(const kt__api_call_t *call, json_t *params, json_t **result,
                            kt__api_err_t *err)
{
    const char *name = json_string_value(json_object_get(params, "channel"));
    if (!name)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter", "channel (a string) is required");
    char id[64];
    apr_status_t st = call->api->notify ? kt_notify_test(call->api->notify, name, id)
                                        : KT_ENOTFOUND;
    if (st == KT_ENOTFOUND)
        return kt__api_fail(err, st, "unknown_channel", "no channel '%s' in the notify list", name);
    if (st != APR_SUCCESS)
        return kt__api_fail(err, KT_EUNAVAIL, "notify_unavailable",
                            "the test message for '%s' could not be queued", name);
    kt_log(KT_LOG_INFO, "notify %s: test message %s queued by %s", name, id, call->who);
    *result = json_pack("{s:b s:s s:s}", "queued", 1, "channel", name, "id", id);
    return APR_SUCCESS;
}

static apr_status_t op_silences(const kt__api_call_t *call, json_t *params, json_t **result,
                                kt__api_err_t *err)
{
    (void)params;
    if (!call->api->notify)
        return kt__api_fail(err, KT_EUNAVAIL, "notify_unavailable", "no notifier");
    *result = kt_notify_silences(call->api->notify);
    return APR_SUCCESS;
}

static apr_status_t op_silence_add(const kt__api_call_t *call, json_t *params, json_t **result,
                                   kt__api_err_t *err)
{
    if (!call->api->notify)
        return kt__api_fail(err, KT_EUNAVAIL, "notify_unavailable", "no notifier");
    apr_status_t st = kt_notify_silence_add(call->api->notify, params, call->who, result,
                                            err->message, sizeof err->message);
    if (st != APR_SUCCESS) {
        err->code = st == KT_EINPUT ? "bad_parameter" : "store_unavailable";
        return st;
    }
    kt_log(KT_LOG_INFO, "silence %lld made by %s: %s",
           (long long)json_integer_value(json_object_get(*result, "id")), call->who,
           json_string_value(json_object_get(*result, "comment")));
    return APR_SUCCESS;
}

static void channels_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_READ, op_channels);
}

static void test_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_CONTROL, op_test);
}

static void silences_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_READ, op_silences);
}

static void silence_add_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_CONTROL, op_silence_add);
}

static void silence_expire_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_CONTROL))
        return;
    const char *tail = kt_http_route_tail(req);
    char *end;
    long long id = strtoll(tail, &end, 10);
    kt__api_err_t err = {0};
    if (!*tail || *end || id <= 0) {
        kt__api_fail(&err, KT_EPARSE, "bad_parameter", "a silence's id is a positive integer");
        kt__api_reply_failure(req, KT_EPARSE, &err);
        return;
    }
    json_t *out = NULL;
    apr_status_t st = api->notify ? kt_notify_silence_expire(api->notify, id, &out) : KT_ENOTFOUND;
    if (st == KT_ENOTFOUND)
        kt__api_fail(&err, st, "unknown_silence", "there is no silence %lld", id);
    else if (st != APR_SUCCESS)
        kt__api_fail(&err, st, "store_unavailable", "the store did not keep the change");
    else
        kt_log(KT_LOG_INFO, "silence %lld expired by %s", id, kt__api_call(api, req).who);
    kt__api_answer(req, st, out, &err);
}

void kt__api_notify_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "GET", "/api/agent/silences", silences_handler, api);
    kt_http_route(http, "POST", "/api/agent/silences", silence_add_handler, api);
    kt_http_route(http, "DELETE", "/api/agent/silences/*", silence_expire_handler, api);
    kt_http_route(http, "GET", "/api/agent/notify", channels_handler, api);
    kt_http_route(http, "POST", "/api/agent/notify/test", test_handler, api);
}
