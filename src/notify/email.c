/*
 * email.c - the email channel: a plain-text message (RFC 5322, UTF-8)
 * with the event's evidence, the busiest processes and links to the
 * dashboard and the suggested fix script, sent through libcurl's SMTP
 * client. smtp:// requires STARTTLS unless the channel turns it off;
 * smtps:// is TLS from the start. The message, with its Message-ID, is
 * made once and kept in the outbox, so a retry sends the same message.
 */
#include "notify_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_base64.h>

/* A growing text (malloc'd). */
typedef struct {
    char *buf;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = t->buf ? vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t want = (t->cap ? t->cap * 2 : 2048) + (n > 0 ? (size_t)n : 0);
        char *more = realloc(t->buf, want);
        if (!more)
            return;
        t->buf = more;
        t->cap = want;
    }
}

/* A header value as is when it is ASCII, else RFC 2047's encoded word. */
static void put_header_text(text_t *t, const char *v)
{
    int ascii = 1;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        ascii &= *p >= 0x20 && *p < 0x7f;
    if (ascii) {
        put(t, "%s", v);
        return;
    }
    size_t n = strlen(v);
    char *b64 = malloc((size_t)apr_base64_encode_len((int)n));
    if (!b64)
        return;
    apr_base64_encode_binary(b64, (const unsigned char *)v, (int)n);
    put(t, "=?UTF-8?B?%s?=", b64);
    free(b64);
}

/* One event's block of the body. */
static void put_event(text_t *t, const kt_event_t *e, const char *state, const char *host)
{
    char when[APR_RFC822_DATE_LEN];
    apr_rfc822_date(when, e->time);
    put(t, "%s\r\n\r\n", e->message);
    put(t, "Host:      %s\r\nEvent:     %s %s (event %llu)\r\nSeverity:  %s\r\n", host,
        kt_event_type_name(e->type), state, (unsigned long long)e->id,
        kt_severity_name(e->severity));
    if (*e->subject)
        put(t, "Subject:   %s\r\n", e->subject);
    put(t, "Value:     %.1f (threshold %.1f)\r\nWhen:      %s\r\n", e->value, e->threshold, when);
    if (e->ntop) {
        put(t, "\r\nThe busiest processes at that moment:\r\n");
        for (unsigned i = 0; i < e->ntop; i++) {
            put(t, "  %s (pid %lld): ", e->top[i].name, (long long)e->top[i].pid);
            if (isfinite(e->top[i].cpu_pct))
                put(t, "%.1f%% CPU, ", e->top[i].cpu_pct);
            put(t, "%.1f MiB resident\r\n", (double)e->top[i].rss_bytes / 1048576.0);
        }
    }
}

char *kt__email_message_many(const kt_notify_conf_t *c, const kt_event_t *ev, unsigned n,
                             int reminder, const char *host, const char *dashboard,
                             const char *id)
{
    text_t t = {0};
    char date[APR_RFC822_DATE_LEN];
    apr_rfc822_date(date, apr_time_now());
    char subject[512];
    const char *state = n ? (reminder ? "still holds" : kt_event_state_name(ev)) : "";
    if (n == 1)
        snprintf(subject, sizeof subject, "[koto] %s: %s %s (%s)%s%s", host,
                 kt_event_type_name(ev->type), state, kt_severity_name(ev->severity),
                 *ev->subject ? " " : "", ev->subject);
    else if (n > 1)
        snprintf(subject, sizeof subject, "[koto] %s: %u events, first %s %s", host, n,
                 kt_event_type_name(ev->type), state);
    else
        snprintf(subject, sizeof subject, "[koto] %s: a test message through %s", host, c->name);
    put(&t, "From: %s\r\nTo: ", c->from);
    for (unsigned i = 0; i < c->nto; i++)
        put(&t, "%s%s", i ? ", " : "", c->to[i]);
    put(&t, "\r\nSubject: ");
    put_header_text(&t, subject);
    put(&t, "\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            "Auto-Submitted: auto-generated\r\nX-Koto-Channel: %s\r\n\r\n",
        date, id, host, c->name);
    if (!n)
        put(&t, "A test message from kotod on %s, sent through channel %s.\r\n", host, c->name);
    if (reminder && n)
        put(&t, "A reminder: this condition still holds.\r\n\r\n");
    for (unsigned i = 0; i < n; i++) {
        if (i)
            put(&t, "\r\n----\r\n\r\n");
        put_event(&t, &ev[i], reminder ? "still holds" : kt_event_state_name(&ev[i]), host);
    }
    if (dashboard) {
        put(&t, "\r\nDashboard: %s\r\n", dashboard);
        const kt_event_t *fix = NULL;
        for (unsigned i = 0; i < n && !fix; i++)
            if (!ev[i].resolved && !ev[i].flapping)
                fix = &ev[i];
        if (fix) {
            /* The API lives beside the dashboard: its origin is the same. */
            size_t origin = strlen(dashboard);
            const char *path = strstr(dashboard, "://");
            path = path ? strchr(path + 3, '/') : NULL;
            if (path)
                origin = (size_t)(path - dashboard);
            put(&t, "Fix script: \"Fix script...\" on the dashboard, or\r\n"
                    "  curl -s -X POST %.*s/api/agent/generate-script -d '{\"issue_type\":\"%s\"}'\r\n",
                (int)origin, dashboard, kt_event_type_name(fix->type));
        }
    }
    put(&t, "\r\n-- \r\nkotod, channel %s\r\n", c->name);
    return t.buf;
}

char *kt__email_message(const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                        const char *dashboard, const char *id)
{
    return kt__email_message_many(c, e, e ? 1 : 0, 0, host, dashboard, id);
}

static size_t read_body(char *ptr, size_t size, size_t nmemb, void *data)
{
    kt__upload_t *u = data;
    size_t room = size * nmemb, n = u->len - u->pos;
    if (n > room)
        n = room;
    memcpy(ptr, u->data + u->pos, n);
    u->pos += n;
    return n;
}

CURL *kt__email_request(const kt_notify_conf_t *c, const char *body, kt__upload_t *up,
                        struct curl_slist **rcpts, char *errbuf)
{
    CURL *e = kt__curl.easy_init();
    if (!e)
        return NULL;
    struct curl_slist *r = NULL;
    for (unsigned i = 0; i < c->nto; i++) {
        char line[600];
        snprintf(line, sizeof line, "<%s>", c->to[i]);
        r = kt__curl.slist_append(r, line);
    }
    *rcpts = r;
    *up = (kt__upload_t){body, strlen(body), 0};
    char from[600];
    snprintf(from, sizeof from, "<%s>", c->from);
    errbuf[0] = '\0';
    kt__curl.easy_setopt(e, CURLOPT_URL, c->url);
    kt__curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    kt__curl.easy_setopt(e, CURLOPT_MAIL_FROM, from);
    kt__curl.easy_setopt(e, CURLOPT_MAIL_RCPT, r);
    kt__curl.easy_setopt(e, CURLOPT_UPLOAD, 1L);
    kt__curl.easy_setopt(e, CURLOPT_READFUNCTION, read_body);
    kt__curl.easy_setopt(e, CURLOPT_READDATA, up);
    kt__curl.easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->len);
    if (strncmp(c->url, "smtp://", 7) == 0)
        kt__curl.easy_setopt(e, CURLOPT_USE_SSL, (long)(c->starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    if (c->user) {
        kt__curl.easy_setopt(e, CURLOPT_USERNAME, c->user);
        kt__curl.easy_setopt(e, CURLOPT_PASSWORD, c->password);
    }
    if (c->ca_file)
        kt__curl.easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    kt__curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    kt__curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    kt__curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    kt__curl.easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    return e;
}

kt__outcome_t kt__notify_judge_smtp(CURLcode res, long code, const char *errbuf, char *msg,
                                    apr_size_t len)
{
    if (res == CURLE_OK) {
        snprintf(msg, len, "SMTP %ld", code);
        return KT__SENT;
    }
    snprintf(msg, len, "%s%s", errbuf && *errbuf ? errbuf : kt__curl.easy_strerror(res),
             code ? "" : "");
    if (code >= 500 && code < 600) {
        size_t l = strlen(msg);
        snprintf(msg + l, len - l, " (SMTP %ld)", code);
        return KT__FAILED; /* the server refused for good: a retry says the same */
    }
    /* A login refused is the configuration's to fix, not the network's. */
    return res == CURLE_LOGIN_DENIED ? KT__FAILED : KT__RETRY;
}
