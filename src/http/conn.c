/*
 * conn.c - one connection's request cycle, without the socket.
 *
 * DESIGN
 *   IDLE --first byte--> HEAD --headers--> BODY --message--> HANDLER
 *   HANDLER --worker done, or an inline route's try answered--> WRITING
 *   WRITING --written, keep-alive--> IDLE
 *   any refusal (4xx/5xx) --> WRITING, close after: the loop half-closes and
 *   lingers (LINGER) so the client reads the answer before the close.
 * HEAD..BODY live in parse.c (the parser moves the state); this file makes
 * and clears requests, routes them, runs handlers and turns their answers
 * into output. The loop (loop.c) and the harness (harness.c) do the I/O.
 *
 * Memory: the connection lives in its own pool (recycled by the loop); each
 * request in rpool, a subpool cleared by kt__http_conn_next. The input
 * buffer and head scratch are allocated once per connection.
 */
#include "http_internal.h"

#include <string.h>

/* ---- Private ---------------------------------------------------------- */

static void describe_remote(kt__conn_t *c)
{
    apr_sockaddr_t *sa = NULL;
    char ip[64] = "?";
    c->remote[0] = '\0';
    if (!c->sock || apr_socket_addr_get(&sa, APR_REMOTE, c->sock) != APR_SUCCESS || !sa) {
        apr_cpystrn(c->remote, "local", sizeof c->remote);
        return;
    }
    apr_sockaddr_ip_getbuf(ip, sizeof ip, sa);
    if (strchr(ip, ':'))
        apr_snprintf(c->remote, sizeof c->remote, "[%s]:%u", ip, (unsigned)sa->port);
    else
        apr_snprintf(c->remote, sizeof c->remote, "%s:%u", ip, (unsigned)sa->port);
    c->loopback = strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
                  strncmp(ip, "::ffff:127.", 11) == 0;
    if (apr_socket_addr_get(&sa, APR_LOCAL, c->sock) == APR_SUCCESS && sa)
        apr_sockaddr_ip_getbuf(c->local_ip, sizeof c->local_ip, sa);
}

/* ---- Internal ---------------------------------------------------------- */

kt__conn_t *kt__http_conn_new(kt_http_t *s, apr_pool_t *pool, apr_socket_t *sock)
{
    const kt_http_conf_t *conf = &s->conf;
    kt__conn_t *c = apr_pcalloc(pool, sizeof *c);
    c->s = s;
    c->pool = pool;
    c->sock = sock;
    apr_pool_create(&c->rpool, pool);
    apr_pool_tag(c->rpool, "http-request");
    c->in_cap = KT__HTTP_IN_CAP;
    c->in = apr_palloc(pool, c->in_cap);
    c->head_cap = conf->max_header_bytes;
    c->head = apr_palloc(pool, c->head_cap);
    c->spans = apr_palloc(pool, sizeof(kt__span_t) * conf->max_headers);
    c->state = KT__CONN_IDLE;
    kt__http_parser_reset(c);
    describe_remote(c);
    return c;
}

void kt__http_conn_begin(kt__conn_t *c, apr_time_t now)
{
    kt_http_req_t *req = apr_pcalloc(c->rpool, sizeof *req);
    req->s = c->s;
    req->conn = c;
    req->pool = c->rpool;
    req->method = req->path = req->tail = "";
    req->body = (char *)"";
    req->resp_headers = apr_array_make(c->rpool, 4, sizeof(kt__kv_t));
    c->req = req;
    c->state = KT__CONN_HEAD;
    c->deadline = now + apr_time_from_msec(c->s->conf.header_timeout_ms);
    c->head_len = c->head_bytes = c->url_off = c->url_len = c->trailer_bytes = 0;
    c->nspans = c->nfields = 0;
    c->in_field = c->headers_done = c->complete = c->send_continue = 0;
    c->cl_count = c->te_count = c->host_count = 0;
    c->err_status = 0;
    c->err_code = c->err_msg = NULL;
    http_parser_pause(&c->parser, 0);
}

void kt__http_conn_ready(kt__conn_t *c)
{
    kt_http_req_t *req = c->req;
    c->out[0].iov_base = req->resp;
    c->out[0].iov_len = req->resp_len;
    for (unsigned i = 0; i < req->nparts; i++) {
        c->out[1 + i].iov_base = (void *)req->parts[i].data;
        c->out[1 + i].iov_len = req->parts[i].len;
    }
    c->nout = 1 + (int)req->nparts;
    c->out_idx = 0;
    const kt_http_part_t *last = req->nparts ? &req->parts[req->nparts - 1] : NULL;
    c->out_file = last && last->fd > 0 && !c->tls ? last->fd : 0;
    c->out_file_len = last ? last->len : 0;
    c->close_after = req->close_after;
    c->state = KT__CONN_WRITING;
    c->deadline = 0; /* the writer starts the write clock */
    kt__http_count(c->s, req->status);
}

void kt__http_conn_fail(kt__conn_t *c, int status, const char *code, const char *message)
{
    kt_http_req_t *req = c->req;
    req->keep_alive = 0;
    req->close_after = 1;
    req->replied = 0;
    req->nparts = 0;
    req->resp_headers->nelts = 0;
    kt__http_respond_error(req, status, code, message);
    kt__http_conn_ready(c);
}

int kt__http_conn_route(kt__conn_t *c)
{
    kt_http_req_t *req = c->req;
    const char *allow;
    int rc = kt__http_route_find(c->s, req->method, req->path, &req->route, &req->tail, &allow,
                                 req->pool);
    if (rc == 200)
        return 1;
    if (rc == 405) {
        kt_http_set_header(req, "Allow", allow);
        kt__http_respond_error(req, 405, "method_not_allowed",
                               apr_psprintf(req->pool, "%s is not allowed on %s (allowed: %s)",
                                            req->method, req->path, allow));
    } else {
        kt__http_respond_error(req, 404, "not_found",
                               apr_psprintf(req->pool, "no such resource: %s", req->path));
    }
    kt__http_conn_ready(c);
    return 0;
}

int kt__http_conn_try(kt__conn_t *c)
{
    kt_http_req_t *req = c->req;
    if (!req->route->try_fn)
        return 0;
    int rc = req->route->try_fn(req, req->route->baton);
    if (req->stream)
        return 1;
    if (!req->replied && rc == KT_HTTP_DEFER) {
        req->resp_headers->nelts = 0; /* the handler starts from a clean answer */
        return 0;
    }
    if (!req->replied) {
        kt_log(KT_LOG_WARN, "http: the inline handler for %s %s returned without replying",
               req->method, req->path);
        kt__http_respond_error(req, 500, "internal_error", "the handler did not reply");
    }
    kt__http_conn_ready(c);
    return 1;
}

void kt__http_conn_run(kt__conn_t *c)
{
    kt_http_req_t *req = c->req;
    req->route->fn(req, req->route->baton);
    if (req->stream)
        return; /* the loop attaches it */
    if (!req->replied) {
        kt_log(KT_LOG_WARN, "http: the handler for %s %s returned without replying",
               req->method, req->path);
        kt__http_respond_error(req, 500, "internal_error", "the handler did not reply");
    }
    kt__http_conn_ready(c);
}

void kt__http_conn_next(kt__conn_t *c, apr_time_t now)
{
    apr_pool_clear(c->rpool);
    c->req = NULL;
    c->nout = c->out_idx = c->out_file = 0;
    c->close_after = 0;
    c->state = KT__CONN_IDLE;
    c->deadline = now + apr_time_from_msec(c->s->conf.idle_timeout_ms);
}

void kt__http_count(kt_http_t *s, int status)
{
    atomic_fetch_add(&s->st_requests, 1);
    if (status >= 100 && status < 600)
        atomic_fetch_add(&s->st_class[status / 100], 1);
}
