/*
 * notify.c - the notification channels: GET /api/agent/notify (each
 * channel's state, as in status) and POST /api/agent/notify/test (a test
 * message through one channel, with the token).
 */
#include "api_internal.h"

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

static void channels_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, 0, op_channels);
}

static void test_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, 1, op_test);
}

void kt__api_notify_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "GET", "/api/agent/notify", channels_handler, api);
    kt_http_route(http, "POST", "/api/agent/notify/test", test_handler, api);
}
