/*
 * tokens_api.c - /api/agent/tokens: list, add and revoke the named tokens
 * (tokens.c) over the API, so `koto token` and a person on another machine
 * need no shell on kotod's host. Control scope: a token that may approve a
 * fix may already do everything a new token could. A new token is in the
 * answer once; only its hash is kept.
 */
#include "api_internal.h"

#include <string.h>

/* Two edits at once would each rewrite the file from what they read. */
static apr_status_t edit_lock(kt_api_t *api, int on)
{
    return on ? apr_thread_mutex_lock(api->tokens_edit) : apr_thread_mutex_unlock(api->tokens_edit);
}

/* kotod started without a state directory (some tests) keeps no tokens. */
static apr_status_t no_state(kt__api_err_t *err)
{
    return kt__api_fail(err, KT_EUNAVAIL, "tokens_unavailable", "kotod keeps no state directory");
}

static apr_status_t op_list(const kt__api_call_t *call, json_t *params, json_t **result,
                            kt__api_err_t *err)
{
    (void)params;
    if (!call->api->state_dir)
        return no_state(err);
    json_t *list;
    if (kt_api_token_list(call->api->state_dir, &list, call->pool) != APR_SUCCESS)
        return kt__api_fail(err, KT_EUNAVAIL, "tokens_unreadable",
                            "the tokens file in the state directory cannot be read");
    *result = json_pack("{s:o}", "tokens", list);
    return APR_SUCCESS;
}

static apr_status_t op_add(const kt__api_call_t *call, json_t *params, json_t **result,
                           kt__api_err_t *err)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *jscopes = json_object_get(params, "scopes");
    const char *want = jscopes ? json_string_value(jscopes) : "read,propose";
    unsigned scopes;
    if (!call->api->state_dir)
        return no_state(err);
    if (!name)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter", "name (a string) is required");
    if (!want || kt_api_scopes_parse(want, &scopes) != APR_SUCCESS)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter",
                            "scopes is a comma-separated list of read, propose and control");
    const char *token;
    edit_lock(call->api, 1);
    apr_status_t st = kt_api_token_add(call->api->state_dir, name, scopes, &token, err->message,
                                       sizeof err->message, call->pool);
    edit_lock(call->api, 0);
    if (st != APR_SUCCESS) {
        err->code = st == KT_EINPUT ? "bad_parameter" : APR_STATUS_IS_EEXIST(st) ? "token_exists"
                                                                                 : "tokens_unwritable";
        return st == KT_EINPUT || APR_STATUS_IS_EEXIST(st) || st == KT_ETOOBIG ? st : KT_EUNAVAIL;
    }
    const char *granted = kt_api_scopes_name(scopes, call->pool);
    kt_log(KT_LOG_INFO, "token '%s' (%s) added by %s", name, granted, call->who);
    *result = json_pack("{s:s s:s s:s}", "name", name, "scopes", granted, "token", token);
    return APR_SUCCESS;
}

static void list_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_CONTROL | KT__TOKEN_ALWAYS, op_list);
}

static void add_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_CONTROL | KT__TOKEN_ALWAYS, op_add);
}

static void revoke_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_CONTROL | KT__TOKEN_ALWAYS))
        return;
    const char *name = kt_http_route_tail(req);
    kt__api_err_t err = {0};
    if (!api->state_dir) {
        kt__api_answer(req, no_state(&err), NULL, &err);
        return;
    }
    edit_lock(api, 1);
    apr_status_t st = kt_api_token_revoke(api->state_dir, name, err.message, sizeof err.message,
                                          kt_http_pool(req));
    edit_lock(api, 0);
    if (st == APR_SUCCESS)
        kt_log(KT_LOG_INFO, "token '%s' revoked by %s", name, kt__api_call(api, req).who);
    else
        err.code = st == KT_ENOTFOUND ? "unknown_token" : "tokens_unwritable";
    kt__api_answer(req, st == APR_SUCCESS || st == KT_ENOTFOUND ? st : KT_EUNAVAIL,
                   st == APR_SUCCESS ? json_pack("{s:s}", "revoked", name) : NULL, &err);
}

void kt__api_tokens_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "GET", "/api/agent/tokens", list_handler, api);
    kt_http_route(http, "POST", "/api/agent/tokens", add_handler, api);
    kt_http_route(http, "DELETE", "/api/agent/tokens/*", revoke_handler, api);
}
