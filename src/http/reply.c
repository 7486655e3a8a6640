/*
 * reply.c - responses: status line, headers, body, JSON errors.
 *
 * A response is built whole into the request pool (head and body in one
 * buffer) by whichever thread owns the request: the worker running the
 * handler, or the loop for refusals. The loop only writes it.
 *
 * Every response carries Content-Type, Content-Length (not 1xx/204/304),
 * Date, Connection, X-Content-Type-Options: nosniff and Cache-Control:
 * no-store (a handler may set its own Cache-Control). Framing headers are
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

/* ---- Internal ---------------------------------------------------------- */

void kt__http_date(kt_http_t *s, char buf[APR_RFC822_DATE_LEN])
{
    apr_rfc822_date(buf, s->fixed_date ? s->fixed_date : apr_time_now());
}

void kt__http_respond(kt_http_req_t *req, int status, const char *content_type,
                      const char *body, apr_size_t len)
{
    kt_http_t *s = req->s;
    apr_pool_t *pool = req->pool;
    if (status < 200 || status > 599) /* interim answers are not the handler's */
        status = 500;
    if (!body)
        len = 0;
    int close = req->close_after || !req->keep_alive || apr_atomic_read32(&s->stopping);
    int bodiless = status == 204 || status == 304;
    char date[APR_RFC822_DATE_LEN];
    kt__http_date(s, date);

    char *head = apr_psprintf(pool, "HTTP/1.1 %d %s\r\n", status, reason(status));
    if (!bodiless)
        head = apr_psprintf(pool, "%sContent-Type: %s\r\nContent-Length: %" APR_SIZE_T_FMT "\r\n",
                            head, content_type ? content_type : "text/plain; charset=utf-8",
                            len);
    head = apr_pstrcat(pool, head, "Date: ", date, "\r\nConnection: ",
                       close ? "close" : "keep-alive", "\r\n", NULL);
    if (!has_header(req, "X-Content-Type-Options"))
        head = apr_pstrcat(pool, head, "X-Content-Type-Options: nosniff\r\n", NULL);
    if (!has_header(req, "Cache-Control"))
        head = apr_pstrcat(pool, head, "Cache-Control: no-store\r\n", NULL);
    const kt__kv_t *h = (const kt__kv_t *)req->resp_headers->elts;
    for (int i = 0; i < req->resp_headers->nelts; i++)
        head = apr_pstrcat(pool, head, h[i].name, ": ", h[i].value, "\r\n", NULL);
    head = apr_pstrcat(pool, head, "\r\n", NULL);

    apr_size_t head_len = strlen(head);
    apr_size_t body_len = (bodiless || req->is_head) ? 0 : len;
    req->resp = apr_palloc(pool, head_len + body_len + 1);
    memcpy(req->resp, head, head_len);
    if (body_len)
        memcpy(req->resp + head_len, body, body_len);
    req->resp_len = head_len + body_len;
    req->status = status;
    req->close_after = close;
    req->replied = 1;
}

void kt__http_respond_error(kt_http_req_t *req, int status, const char *code,
                            const char *message)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", printable(code, req->pool),
                          "message", printable(message, req->pool));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
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

void kt_http_reply_json(kt_http_req_t *req, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
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
