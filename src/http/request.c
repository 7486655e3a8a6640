/*
 * request.c - what a handler may read of its request.
 *
 * Everything here was decoded by parse.c before the handler ran and lives
 * in the request pool: valid until the handler returns, never after.
 * Thread: the handler's, while it runs.
 */
#include "http_internal.h"

#include <string.h>

apr_pool_t *kt_http_pool(kt_http_req_t *req) { return req->pool; }

const char *kt_http_method(kt_http_req_t *req) { return req->method; }

const char *kt_http_path(kt_http_req_t *req) { return req->path; }

const char *kt_http_route_tail(kt_http_req_t *req) { return req->tail; }

const char *kt_http_query(kt_http_req_t *req, const char *name)
{
    for (unsigned i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].name, name) == 0)
            return req->query[i].value;
    return NULL;
}

const char *kt_http_query_nth(kt_http_req_t *req, const char *name, unsigned n)
{
    for (unsigned i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].name, name) == 0 && n-- == 0)
            return req->query[i].value;
    return NULL;
}

const char *kt_http_header(kt_http_req_t *req, const char *name)
{
    for (unsigned i = 0; i < req->nheaders; i++)
        if (apr_cstr_casecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *kt_http_body(kt_http_req_t *req, apr_size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body;
}

const char *kt_http_remote(kt_http_req_t *req) { return req->conn->remote; }

int kt_http_remote_is_loopback(kt_http_req_t *req) { return req->conn->loopback; }
