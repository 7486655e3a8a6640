/*
 * fail.c - operations on the wire: the one map from a status to an HTTP
 * answer, and serving an operation as an endpoint.
 */
#include "api_internal.h"

#include <stdarg.h>
#include <stdio.h>

#include <apr_strings.h>

apr_status_t kt__api_fail(kt__api_err_t *err, apr_status_t st, const char *code,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    return st;
}

static int http_status(apr_status_t st)
{
    if (APR_STATUS_IS_EEXIST(st))
        return 409;
    switch (st) {
    case KT_EPARSE: return 400;
    case KT_ENOTFOUND: return 404;
    case KT_ESTATE: return 409;
    case KT_ETOOBIG: return 413;
    case KT_EINPUT:
    case KT_ECONF: return 422;
    case KT_EUNAVAIL: return 503;
    default: return 500;
    }
}

void kt__api_reply_failure(kt_http_req_t *req, apr_status_t st, const kt__api_err_t *err)
{
    kt_http_reply_error(req, http_status(st), err->code ? err->code : "internal_error", "%s",
                        err->message[0] ? err->message : "the operation failed");
}

void kt__api_answer(kt_http_req_t *req, apr_status_t st, json_t *result, const kt__api_err_t *err)
{
    if (st == APR_SUCCESS)
        kt_http_reply_json(req, 200, result);
    else
        kt__api_reply_failure(req, st, err);
}

kt__api_call_t kt__api_call(kt_api_t *api, kt_http_req_t *req)
{
    char name[KT__TOKEN_NAME_MAX + 1];
    unsigned scopes = kt__api_scopes(api, req, name);
    const char *how = "token";
    if (!scopes && (scopes = kt__session_scopes(api, req, name)) != 0)
        how = "session of token";
    const char *who = scopes ? apr_psprintf(kt_http_pool(req), "%s %s from %s", how, name,
                                            kt_http_remote(req))
                             : kt_http_remote(req);
    return (kt__api_call_t){api, kt_http_pool(req), who, scopes};
}

/* The request body as a JSON object ({} when there is none); KT_EPARSE. */
apr_status_t kt__api_body_object(kt_http_req_t *req, json_t **out, kt__api_err_t *err)
{
    apr_size_t len;
    const char *body = kt_http_body(req, &len);
    if (len == 0) {
        *out = json_object();
        return APR_SUCCESS;
    }
    json_error_t e;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        return kt__api_fail(err, KT_EPARSE, "bad_json", "line %d, column %d: %s", e.line,
                            e.column, e.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return kt__api_fail(err, KT_EPARSE, "bad_json", "the body must be a JSON object");
    }
    *out = j;
    return APR_SUCCESS;
}

void kt__api_serve_op(kt_http_req_t *req, kt_api_t *api, unsigned need, kt__api_op_fn op)
{
    if (!kt__api_allow(api, req, need))
        return;
    kt__api_err_t err = {0};
    json_t *params = NULL, *result = NULL;
    apr_status_t st = kt__api_body_object(req, &params, &err);
    if (st == APR_SUCCESS) {
        kt__api_call_t call = kt__api_call(api, req);
        st = op(&call, params, &result, &err);
    }
    json_decref(params);
    kt__api_answer(req, st, result, &err);
}
