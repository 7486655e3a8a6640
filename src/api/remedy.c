/*
 * remedy.c - remediations over HTTP: POST /api/agent/remediations
 * (propose), GET /api/agent/remediations[/{id}], POST .../{id}/approve and
 * .../{id}/deny, GET /api/agent/audit. Every one needs a token, reads
 * included (scope read): a proposal shows what kotod is about to run as its
 * user. Proposing needs propose; approving and denying control, so an AI
 * agent's token (read,propose) can suggest a fix that a person approves.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

static apr_status_t off(kt__api_err_t *err)
{
    return kt__api_fail(err, KT_EUNAVAIL, "remediation_off",
                        "remediation needs the store (store = true, and a usable koto.db)");
}

/* A remedy error carried into the API's. */
static apr_status_t carry(apr_status_t st, const kt_remedy_err_t *re, kt__api_err_t *err)
{
    if (st != APR_SUCCESS)
        kt__api_fail(err, st, re->code ? re->code : "remediation_failed", "%s", re->message);
    return st;
}

/* The proposal an operation acts on: the remedy must be on and "id" a
 * proposal's number. */
static apr_status_t target(const kt__api_call_t *call, json_t *params, uint64_t *id,
                           kt__api_err_t *err)
{
    if (!call->api->remedy)
        return off(err);
    json_t *v = json_object_get(params, "id");
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter", "id is a remediation's id (a whole number)");
    *id = (uint64_t)json_integer_value(v);
    return APR_SUCCESS;
}

apr_status_t kt__op_propose(const kt__api_call_t *call, json_t *params, json_t **result,
                            kt__api_err_t *err)
{
    if (!call->api->remedy)
        return off(err);
    kt_remedy_err_t re = {0};
    return carry(kt_remedy_propose(call->api->remedy, params, call->who, result, &re), &re, err);
}

apr_status_t kt__op_remediation(const kt__api_call_t *call, json_t *params, json_t **result,
                                kt__api_err_t *err)
{
    uint64_t id = 0; /* set when target() succeeds; an optimiser cannot tell */
    apr_status_t st = target(call, params, &id, err);
    if (st != APR_SUCCESS)
        return st;
    kt_remedy_err_t re = {0};
    return carry(kt_remedy_get(call->api->remedy, id, result, &re), &re, err);
}

apr_status_t kt__op_approve(const kt__api_call_t *call, json_t *params, json_t **result,
                            kt__api_err_t *err)
{
    uint64_t id = 0; /* set when target() succeeds; an optimiser cannot tell */
    apr_status_t st = target(call, params, &id, err);
    if (st != APR_SUCCESS)
        return st;
    kt_remedy_err_t re = {0};
    return carry(kt_remedy_approve(call->api->remedy, id,
                                   json_string_value(json_object_get(params, "sha256")), call->who,
                                   result, &re),
                 &re, err);
}

apr_status_t kt__op_deny(const kt__api_call_t *call, json_t *params, json_t **result,
                         kt__api_err_t *err)
{
    uint64_t id = 0; /* set when target() succeeds; an optimiser cannot tell */
    apr_status_t st = target(call, params, &id, err);
    if (st != APR_SUCCESS)
        return st;
    kt_remedy_err_t re = {0};
    return carry(kt_remedy_deny(call->api->remedy, id, call->who, result, &re), &re, err);
}

/* ---- endpoints ----------------------------------------------------------------------------- */

static void propose_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_PROPOSE, kt__op_propose);
}

static void list_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ | KT__TOKEN_ALWAYS))
        return;
    uint64_t before, limit;
    if (kt__api_query_u64(req, "before", 0, INT64_MAX, &before) != 0 ||
        kt__api_query_u64(req, "limit", 50, 1000, &limit) != 0)
        return;
    const char *state = kt_http_query(req, "state");
    kt__api_err_t err = {0};
    json_t *list = NULL;
    apr_status_t st = api->remedy ? kt_store_remedies(api->store, state, before,
                                                      limit ? (unsigned)limit : 1, &list)
                                  : off(&err);
    if (st != APR_SUCCESS && !err.code)
        kt__api_fail(&err, KT_EUNAVAIL, "store_unavailable", "the store cannot answer now");
    json_t *result = st == APR_SUCCESS
                         ? json_pack("{s:o s:i}", "remediations", list, "count", (int)json_array_size(list))
                         : NULL;
    kt__api_answer(req, st == APR_SUCCESS ? st : KT_EUNAVAIL, result, &err);
}

/* /api/agent/remediations/{id}[/approve|/deny] */
static void one_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    const char *tail = kt_http_route_tail(req);
    char *end;
    unsigned long long id = strtoull(tail, &end, 10);
    kt__api_op_fn op = NULL;
    int post = strcmp(kt_http_method(req), "POST") == 0;
    if (tail[0] >= '1' && tail[0] <= '9') {
        if (!*end && !post)
            op = kt__op_remediation;
        else if (post && strcmp(end, "/approve") == 0)
            op = kt__op_approve;
        else if (post && strcmp(end, "/deny") == 0)
            op = kt__op_deny;
    }
    if (!op) {
        kt_http_reply_error(req, 404, "not_found",
                            "use GET /api/agent/remediations/{id}, POST .../{id}/approve or .../{id}/deny");
        return;
    }
    if (!kt__api_allow(api, req, post ? KT_SCOPE_CONTROL : KT_SCOPE_READ | KT__TOKEN_ALWAYS))
        return;
    kt__api_err_t err = {0};
    json_t *params = NULL, *result = NULL;
    apr_status_t st = post ? kt__api_body_object(req, &params, &err) : APR_SUCCESS;
    if (st == APR_SUCCESS) {
        if (!params)
            params = json_object();
        json_object_set_new(params, "id", json_integer((json_int_t)id));
        kt__api_call_t call = kt__api_call(api, req);
        st = op(&call, params, &result, &err);
    }
    json_decref(params);
    kt__api_answer(req, st, result, &err);
}

static void audit_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ | KT__TOKEN_ALWAYS))
        return;
    uint64_t since, before, limit;
    if (kt__api_query_u64(req, "since", 0, INT64_MAX, &since) != 0 ||
        kt__api_query_u64(req, "before", 0, INT64_MAX, &before) != 0 ||
        kt__api_query_u64(req, "limit", 100, 10000, &limit) != 0)
        return;
    kt__api_err_t err = {0};
    json_t *list = NULL;
    apr_status_t st = api->remedy ? kt_store_audit(api->store, since, before,
                                                   limit ? (unsigned)limit : 1, &list)
                                  : off(&err);
    if (st != APR_SUCCESS) {
        if (!err.code)
            kt__api_fail(&err, KT_EUNAVAIL, "store_unavailable", "the store cannot answer now");
        kt__api_answer(req, KT_EUNAVAIL, NULL, &err);
        return;
    }
    kt__api_answer(req, st, json_pack("{s:o s:i}", "audit", list, "count", (int)json_array_size(list)),
                   &err);
}

void kt__api_remedy_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "POST", "/api/agent/remediations", propose_handler, api);
    kt_http_route(http, "GET", "/api/agent/remediations", list_handler, api);
    kt_http_route(http, "GET", "/api/agent/remediations/*", one_handler, api);
    kt_http_route(http, "POST", "/api/agent/remediations/*", one_handler, api);
    kt_http_route(http, "GET", "/api/agent/audit", audit_handler, api);
}
