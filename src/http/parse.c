/*
 * parse.c - http-parser glue: callbacks, limits, and the feed driver.
 *
 * DESIGN
 * The parser streams; we never need a whole head in the input buffer. The
 * callbacks copy the URL and the header names and values into the
 * connection's head scratch buffer (max_header_bytes) and note where each
 * one lies; on_headers_complete turns them into the request's strings.
 *
 * Limits. While the head is incomplete the driver feeds the parser no more
 * than what is left of max_header_bytes, so a head that does not complete
 * within the limit is exactly one that is too large (431). The URL (414)
 * and the header count (431) are measured in the data callbacks but refused
 * only in on_headers_complete: data callbacks fire wherever TCP cut the
 * bytes, and a refusal there could pre-empt or follow a parser error
 * depending on the cut. Refusing at a fixed point makes the answer depend on
 * the bytes alone (the fuzz target checks exactly that). The body is checked
 * in on_headers_complete (declared, 413) and on_body (chunked, 413), the
 * trailers in on_message_complete.
 *
 * Smuggling. Two Content-Length headers, Content-Length with
 * Transfer-Encoding, or any Transfer-Encoding but one plain "chunked" are
 * refused (400) by our own checks even where http-parser would accept them.
 * An HTTP/1.1 request with neither header has an empty body (RFC 9112 6.3),
 * so `curl -X POST` works; HTTP/1.0 had no chunked coding and required a
 * Content-Length on any request body (RFC 1945 7.2.2), so a 1.0
 * POST/PUT/PATCH without one is 411.
 *
 * One request at a time: on_message_complete pauses the parser, so bytes of
 * a pipelined next request stay in the input buffer until the current
 * response is written (kt__http_conn_next unpauses).
 *
 * Thread: the loop (or the harness), on a connection it owns.
 */
#include "http_internal.h"

#include <string.h>

/* ---- Private ---------------------------------------------------------- */

static int refuse(kt__conn_t *c, int status, const char *code, const char *msg)
{
    if (!c->err_status) {
        c->err_status = status;
        c->err_code = code;
        c->err_msg = msg;
    }
    return -1;
}

static int scratch_add(kt__conn_t *c, const char *at, size_t len)
{
    if (len > c->head_cap - c->head_len)
        return refuse(c, 431, "header_fields_too_large", "request head too large");
    memcpy(c->head + c->head_len, at, len);
    c->head_len += len;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    kt__conn_t *c = p->data;
    if (c->url_len == 0)
        c->url_off = c->head_len;
    c->url_len += len; /* over max_url_bytes: refused at headers_complete */
    return scratch_add(c, at, len);
}

/* Header data: the fields beyond max_headers are counted, not kept; trailers
 * of a chunked body (after the head) are counted and dropped. */
static int on_header_field(http_parser *p, const char *at, size_t len)
{
    kt__conn_t *c = p->data;
    if (c->headers_done) {
        c->trailer_bytes += len;
        return 0;
    }
    if (!c->in_field) {
        c->in_field = 1;
        c->nfields++;
        if (c->nspans < c->s->conf.max_headers) {
            kt__span_t *sp = &c->spans[c->nspans++];
            sp->name_off = c->head_len;
            sp->name_len = sp->val_len = 0;
            sp->val_off = c->head_len;
        }
    }
    if (c->nfields > c->nspans)
        return 0;
    c->spans[c->nspans - 1].name_len += len;
    return scratch_add(c, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    kt__conn_t *c = p->data;
    if (c->headers_done) {
        c->trailer_bytes += len;
        return 0;
    }
    if (c->nfields > c->nspans)
        return 0;
    kt__span_t *sp = &c->spans[c->nspans - 1];
    if (c->in_field) {
        c->in_field = 0;
        sp->val_off = c->head_len;
        sp->val_len = 0;
    }
    sp->val_len += len;
    return scratch_add(c, at, len);
}

static int name_is(const kt__conn_t *c, const kt__span_t *sp, const char *name)
{
    apr_size_t n = strlen(name);
    return sp->name_len == n && apr_cstr_casecmpn(c->head + sp->name_off, name, n) == 0;
}

/* The head is whole: refuse what the data callbacks measured, then the
 * framing headers that could smuggle a second request. */
static int check_head(kt__conn_t *c)
{
    if (c->url_len > c->s->conf.max_url_bytes)
        return refuse(c, 414, "uri_too_long", "request target too long");
    if (c->nfields > c->nspans)
        return refuse(c, 431, "header_fields_too_large", "too many header fields");
    for (unsigned i = 0; i < c->nspans; i++) {
        const kt__span_t *sp = &c->spans[i];
        c->cl_count += name_is(c, sp, "content-length");
        c->te_count += name_is(c, sp, "transfer-encoding");
        c->host_count += name_is(c, sp, "host");
    }
    if (c->cl_count > 1)
        return refuse(c, 400, "bad_request", "repeated Content-Length");
    if (c->host_count > 1)
        return refuse(c, 400, "bad_request", "repeated Host");
    if (c->cl_count && c->te_count)
        return refuse(c, 400, "bad_request", "both Content-Length and Transfer-Encoding");
    return 0;
}

/* The request's headers as NUL-terminated strings, trailing blanks cut. */
static void build_headers(kt__conn_t *c, kt_http_req_t *req)
{
    req->nheaders = c->nspans;
    req->headers = apr_palloc(req->pool, sizeof(kt__kv_t) * (c->nspans ? c->nspans : 1));
    for (unsigned i = 0; i < c->nspans; i++) {
        const kt__span_t *sp = &c->spans[i];
        apr_size_t vlen = sp->val_len;
        while (vlen && (c->head[sp->val_off + vlen - 1] == ' ' ||
                        c->head[sp->val_off + vlen - 1] == '\t'))
            vlen--;
        req->headers[i].name = apr_pstrmemdup(req->pool, c->head + sp->name_off, sp->name_len);
        req->headers[i].value = apr_pstrmemdup(req->pool, c->head + sp->val_off, vlen);
    }
}

static void build_query(kt_http_req_t *req, const char *q, apr_size_t len)
{
    unsigned n = 1;
    for (apr_size_t i = 0; i < len; i++)
        n += q[i] == '&';
    req->query = apr_palloc(req->pool, sizeof(kt__kv_t) * n);
    req->nquery = 0;
    const char *end = q + len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if (stop > q) {
            const char *eq = memchr(q, '=', (size_t)(stop - q));
            const char *kend = eq ? eq : stop;
            kt__kv_t *kv = &req->query[req->nquery++];
            kv->name = kt__http_pct_decode(q, (apr_size_t)(kend - q), 1, 0, req->pool);
            kv->value = eq ? kt__http_pct_decode(eq + 1, (apr_size_t)(stop - eq - 1), 1, 0,
                                                 req->pool)
                           : "";
        }
        q = amp ? amp + 1 : end;
    }
}

/* "." and ".." segments are refused rather than resolved: clients resolve
 * them before sending, and no handler should ever see one. */
static int has_dot_segment(const char *path)
{
    for (const char *p = path; (p = strchr(p, '/')) != NULL; p++) {
        const char *seg = p + 1;
        if (seg[0] == '.' && (seg[1] == '/' || seg[1] == '\0'))
            return 1;
        if (seg[0] == '.' && seg[1] == '.' && (seg[2] == '/' || seg[2] == '\0'))
            return 1;
    }
    return 0;
}

static int build_target(kt__conn_t *c, kt_http_req_t *req)
{
    const char *url = c->head + c->url_off;
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (c->url_len == 0 ||
        http_parser_parse_url(url, c->url_len, c->parser.method == HTTP_CONNECT, &u) != 0)
        return refuse(c, 400, "bad_request", "malformed request target");
    if (u.field_set & (1 << UF_PATH)) {
        req->path = kt__http_pct_decode(url + u.field_data[UF_PATH].off,
                                        u.field_data[UF_PATH].len, 0, 1, req->pool);
        if (!req->path)
            return refuse(c, 400, "bad_request", "malformed percent-encoding in path");
        if (has_dot_segment(req->path))
            return refuse(c, 400, "bad_request", "dot segment in path");
    } else {
        req->path = c->parser.method == HTTP_CONNECT ? "" : "/";
    }
    if (u.field_set & (1 << UF_QUERY))
        build_query(req, url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    return 0;
}

static const char *find_header(const kt_http_req_t *req, const char *name)
{
    for (unsigned i = 0; i < req->nheaders; i++)
        if (apr_cstr_casecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

static int on_headers_complete(http_parser *p)
{
    kt__conn_t *c = p->data;
    kt_http_req_t *req = c->req;
    const kt_http_conf_t *conf = &c->s->conf;
    c->headers_done = 1;
    c->state = KT__CONN_BODY;
    c->deadline = c->now + apr_time_from_msec(conf->body_timeout_ms);
    if (check_head(c) != 0)
        return -1;

    req->method = http_method_str((enum http_method)p->method);
    req->method_id = (int)p->method;
    req->is_head = p->method == HTTP_HEAD;
    req->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    build_headers(c, req);
    if (build_target(c, req) != 0)
        return -1;
    if (p->http_major != 1)
        return refuse(c, 400, "bad_request", "unsupported HTTP version");
    if (p->http_minor >= 1 && c->host_count == 0)
        return refuse(c, 400, "bad_request", "missing Host header");
    if (c->host_count && !kt__http_host_allowed(c, find_header(req, "Host")))
        return refuse(c, 421, "misdirected_request",
                      "this server does not answer to that Host name (server_names lists more)");

    int chunked = (p->flags & F_CHUNKED) != 0;
    int has_length = (p->flags & F_CONTENTLENGTH) != 0;
    const char *te = find_header(req, "Transfer-Encoding");
    if (te && (c->te_count > 1 || !chunked || apr_cstr_casecmp(te, "chunked") != 0))
        return refuse(c, 400, "bad_request", "unsupported Transfer-Encoding");
    if (has_length && p->content_length > conf->max_body_bytes)
        return refuse(c, 413, "payload_too_large", "request body too large");
    if (!has_length && !chunked && p->http_minor == 0 &&
        (p->method == HTTP_POST || p->method == HTTP_PUT || p->method == HTTP_PATCH))
        return refuse(c, 411, "length_required", "Content-Length or chunked body required");

    req->body_cap = has_length ? (apr_size_t)p->content_length + 1 : chunked ? 1024 : 1;
    req->body = apr_palloc(req->pool, req->body_cap);
    req->body[0] = '\0';

    const char *expect = find_header(req, "Expect");
    c->send_continue = expect && apr_cstr_casecmp(expect, "100-continue") == 0 &&
                       p->http_minor >= 1 && (chunked || p->content_length > 0);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    kt__conn_t *c = p->data;
    kt_http_req_t *req = c->req;
    apr_size_t max = c->s->conf.max_body_bytes;
    if (len > max - req->body_len)
        return refuse(c, 413, "payload_too_large", "request body too large");
    if (req->body_len + len + 1 > req->body_cap) { /* chunked: grow, bounded by max */
        apr_size_t cap = req->body_cap * 2;
        if (cap < req->body_len + len + 1)
            cap = req->body_len + len + 1;
        if (cap > max + 1)
            cap = max + 1;
        char *grown = apr_palloc(req->pool, cap);
        memcpy(grown, req->body, req->body_len);
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, at, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    c->send_continue = 0; /* the client did not wait */
    return 0;
}

static int on_message_complete(http_parser *p)
{
    kt__conn_t *c = p->data;
    if (c->trailer_bytes > c->s->conf.max_header_bytes)
        return refuse(c, 431, "header_fields_too_large", "trailers too large");
    c->complete = 1;
    c->send_continue = 0;
    c->state = KT__CONN_HANDLER;
    c->deadline = 0;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static int hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static kt__feed_t parse_error(kt__conn_t *c)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (!c->err_status) {
        if (e == HPE_HEADER_OVERFLOW)
            refuse(c, 431, "header_fields_too_large", "request head too large");
        else if (e == HPE_UNEXPECTED_CONTENT_LENGTH)
            refuse(c, 400, "bad_request", "conflicting Content-Length");
        else if (e == HPE_INVALID_TRANSFER_ENCODING)
            refuse(c, 400, "bad_request", "unsupported Transfer-Encoding");
        else
            refuse(c, 400, "bad_request", http_errno_description(e));
    }
    kt_log(KT_LOG_DEBUG, "http: %s: %d %s", c->remote, c->err_status, c->err_msg);
    kt__http_conn_fail(c, c->err_status, c->err_code, c->err_msg);
    return KT__FEED_ERROR;
}

/* ---- Internal ---------------------------------------------------------- */

void kt__http_parser_reset(kt__conn_t *c)
{
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
}

kt__feed_t kt__http_conn_feed(kt__conn_t *c, apr_time_t now)
{
    c->now = now;
    while (c->in_off < c->in_len) {
        if (c->state == KT__CONN_IDLE)
            kt__http_conn_begin(c, now);
        apr_size_t avail = c->in_len - c->in_off, feed = avail;
        int in_head = c->state == KT__CONN_HEAD;
        if (in_head && feed > c->s->conf.max_header_bytes - c->head_bytes)
            feed = c->s->conf.max_header_bytes - c->head_bytes;
        size_t n = http_parser_execute(&c->parser, &settings, c->in + c->in_off, feed);
        c->in_off += n;
        if (c->state == KT__CONN_HEAD)
            c->head_bytes += n;
        if (c->complete)
            return KT__FEED_REQUEST;
        if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || n != feed)
            return parse_error(c);
        if (c->state == KT__CONN_HEAD && c->head_bytes >= c->s->conf.max_header_bytes) {
            refuse(c, 431, "header_fields_too_large", "request head too large");
            return parse_error(c);
        }
    }
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    return KT__FEED_MORE;
}

char *kt__http_pct_decode(const char *src, apr_size_t len, int plus_space, int strict,
                          apr_pool_t *pool)
{
    char *out = apr_palloc(pool, len + 1), *o = out;
    for (apr_size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%') {
            int hi = i + 2 < len ? hex(src[i + 1]) : -1;
            int lo = i + 2 < len ? hex(src[i + 2]) : -1;
            if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
                *o++ = (char)(hi * 16 + lo);
                i += 2;
                continue;
            }
            if (strict)
                return NULL;
        } else if (ch == '+' && plus_space) {
            ch = ' ';
        }
        *o++ = ch;
    }
    *o = '\0';
    return out;
}
