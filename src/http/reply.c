/*
 * reply.c - responses: status line, headers, body, JSON errors.
 *
 * A response is built whole into the request pool (head and body in one
 * buffer) by whichever thread owns the request: the worker running the
 * handler, or the loop for refusals and inline routes. The loop only writes
 * it. kt_http_reply_parts leaves the body where the handler keeps it (a
 * cached page) and the loop sends head and pieces with one writev, or, when
 * the last piece has a sealed file on a plain connection, the rest with
 * sendfile (io.c).
 *
 * Every response carries Content-Type, Content-Length (not 1xx/204/304),
 * Date, Connection, X-Content-Type-Options: nosniff, Referrer-Policy:
 * no-referrer and Cache-Control: no-store (a handler may set its own
 * Cache-Control or Referrer-Policy); on TLS also Strict-Transport-Security,
 * so a browser that came once over HTTPS never tries the name in clear. Framing headers are
 * ours alone: a handler cannot set Content-Length, Transfer-Encoding,
 * Connection or Date. No CORS header is ever added.
 */
#include "http_internal.h"

#include <stdio.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- Private ---------------------------------------------------------- */

static const char *const reserved[] = {"Content-Length", "Content-Type", "Transfer-Encoding",
                                       "Connection", "Date"};

static int is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int valid_header(const char *name, const char *value)
{
    if (!name || !*name || !value)
        return 0;
    for (const char *p = name; *p; p++)
        if (!is_tchar(*p))
            return 0;
    for (const char *p = value; *p; p++)
        if (*p == '\r' || *p == '\n')
            return 0;
    return 1;
}

static const char *reason(int status)
{
    const char *r = http_status_str((enum http_status)status);
    if (r && r[0] != '<')
        return r;
    return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

/* Error messages may quote request bytes: keep them printable ASCII so they
 * are always valid JSON strings and safe in a terminal. */
static const char *printable(const char *msg, apr_pool_t *pool)
{
    char *out = apr_pstrdup(pool, msg ? msg : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    return out;
}

static int has_header(const kt_http_req_t *req, const char *name)
{
    const kt__kv_t *h = (const kt__kv_t *)req->resp_headers->elts;
    for (int i = 0; i < req->resp_headers->nelts; i++)
        if (apr_cstr_casecmp(h[i].name, name) == 0)
            return 1;
    return 0;
}

static int already_answered(kt_http_req_t *req)
{
    if (req->replied || req->stream) {
        kt_log(KT_LOG_DEBUG, "http: %s %s: second answer ignored", req->method, req->path);
        return 1;
    }
    return 0;
}

/* The decimal digits of v, at the end of buf (no NUL); returns their count. */
static apr_size_t digits(char buf[24], apr_uint64_t v)
{
    char *p = buf + 24;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return (apr_size_t)(buf + 24 - p);
}

/* The head is gathered as pieces and joined in one allocation
 * (apr_pstrcatv), with the body copied behind it when copy is set: the
 * loop may build several of these per turn, so no printf and no
 * re-copying of a growing string. */
static void respond(kt_http_req_t *req, int status, const char *content_type,
                    const kt_http_part_t *parts, unsigned n, int copy)
{
    kt_http_t *s = req->s;
    apr_pool_t *pool = req->pool;
    if (status < 200 || status > 599) /* interim answers are not the handler's */
        status = 500;
    if (n > KT_HTTP_MAX_PARTS)
        n = KT_HTTP_MAX_PARTS;
    apr_size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += parts[i].data ? parts[i].len : 0;
    int close = req->close_after || !req->keep_alive || atomic_load(&s->stopping);
    int bodiless = status == 204 || status == 304;
    int send_body = !bodiless && !req->is_head && len;
    char date[APR_RFC822_DATE_LEN], code[24], clen[24];
    kt__http_date(s, date);

    const kt__kv_t *h = (const kt__kv_t *)req->resp_headers->elts;
    int nh = req->resp_headers->nelts;
    struct iovec *v = apr_palloc(pool, sizeof *v * (20 + 4 * (apr_size_t)nh + n));
    int k = 0;
#define PIECE(str, l) (v[k].iov_base = (void *)(str), v[k].iov_len = (l), k++)
#define STR(str) PIECE(str, strlen(str))
    STR("HTTP/1.1 ");
    apr_size_t n_code = digits(code, (apr_uint64_t)status);
    PIECE(code + 24 - n_code, n_code);
    STR(" ");
    STR(reason(status));
    STR("\r\n");
    if (!bodiless) {
        STR("Content-Type: ");
        STR(content_type ? content_type : "text/plain; charset=utf-8");
        STR("\r\nContent-Length: ");
        apr_size_t n_len = digits(clen, len);
        PIECE(clen + 24 - n_len, n_len);
        STR("\r\n");
    }
    STR("Date: ");
    STR(date);
    STR(close ? "\r\nConnection: close\r\n" : "\r\nConnection: keep-alive\r\n");
    if (!has_header(req, "X-Content-Type-Options"))
        STR("X-Content-Type-Options: nosniff\r\n");
    if (!has_header(req, "Cache-Control"))
        STR("Cache-Control: no-store\r\n");
    if (!has_header(req, "Referrer-Policy"))
        STR("Referrer-Policy: no-referrer\r\n");
    if (s->tls)
        STR(KT__HTTP_HSTS);
    for (int i = 0; i < nh; i++) {
        STR(h[i].name);
        STR(": ");
        STR(h[i].value);
        STR("\r\n");
    }
    STR("\r\n");
    req->nparts = 0;
    for (unsigned i = 0; send_body && i < n; i++) {
        if (!parts[i].data || !parts[i].len)
            continue;
        if (copy)
            PIECE(parts[i].data, parts[i].len);
        else
            req->parts[req->nparts++] = parts[i];
    }
#undef STR
#undef PIECE
    req->resp = apr_pstrcatv(pool, v, (apr_size_t)k, &req->resp_len);
    req->status = status;
    req->close_after = close;
    req->replied = 1;
}

/* ---- Internal ---------------------------------------------------------- */

void kt__http_date(kt_http_t *s, char buf[APR_RFC822_DATE_LEN])
{
    apr_rfc822_date(buf, s->fixed_date ? s->fixed_date : apr_time_now());
}

void kt__http_respond(kt_http_req_t *req, int status, const char *content_type,
                      const char *body, apr_size_t len)
{
    kt_http_part_t part = {.data = body, .len = body ? len : 0};
    respond(req, status, content_type, &part, 1, 1);
}

void kt__http_respond_parts(kt_http_req_t *req, int status, const char *content_type,
                            const kt_http_part_t *parts, unsigned n)
{
    respond(req, status, content_type, parts, n, 0);
}

void kt__http_respond_error(kt_http_req_t *req, int status, const char *code,
                            const char *message)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", printable(code, req->pool),
                          "message", printable(message, req->pool));
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(j);
    if (text) {
        kt__http_respond(req, status, "application/json", text, strlen(text));
        free(text);
    } else {
        static const char fallback[] = "{\"error\":{\"code\":\"internal_error\",\"message\":\"\"}}";
        kt__http_respond(req, status, "application/json", fallback, sizeof fallback - 1);
    }
}

/* ---- Public ------------------------------------------------------------ */

void kt_http_set_header(kt_http_req_t *req, const char *name, const char *value)
{
    if (req->replied || req->stream || !valid_header(name, value)) {
        kt_log(KT_LOG_DEBUG, "http: header %s refused", name ? name : "(null)");
        return;
    }
    for (size_t i = 0; i < KT_ARRAY_SIZE(reserved); i++) {
        if (apr_cstr_casecmp(name, reserved[i]) == 0) {
            kt_log(KT_LOG_DEBUG, "http: header %s is set by the server", name);
            return;
        }
    }
    kt__kv_t *kv = apr_array_push(req->resp_headers);
    kv->name = apr_pstrdup(req->pool, name);
    kv->value = apr_pstrdup(req->pool, value);
}

void kt_http_reply(kt_http_req_t *req, int status, const char *content_type, const char *body,
                   apr_size_t len)
{
    if (already_answered(req))
        return;
    kt__http_respond(req, status, content_type, body, len);
}

void kt_http_reply_parts(kt_http_req_t *req, int status, const char *content_type,
                         const kt_http_part_t *parts, unsigned n)
{
    if (already_answered(req))
        return;
    if (n > KT_HTTP_MAX_PARTS) {
        kt__http_respond_error(req, 500, "internal_error", "response in too many parts");
        return;
    }
    kt__http_respond_parts(req, status, content_type, parts, n);
}

void kt_http_reply_json(kt_http_req_t *req, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(j);
    if (already_answered(req)) {
        free(text);
        return;
    }
    if (!text) {
        kt__http_respond_error(req, 500, "internal_error", "response could not be serialised");
        return;
    }
    kt__http_respond(req, status, "application/json", text, strlen(text));
    free(text);
}

void kt_http_reply_error(kt_http_req_t *req, int status, const char *code, const char *fmt, ...)
{
    if (already_answered(req))
        return;
    /* vsnprintf, not apr_pvsprintf: the format attribute promises C's
     * printf, and APR's formatter does not know %llu or %zu. */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kt__http_respond_error(req, status, code, msg);
}
