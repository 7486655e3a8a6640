/*
 * webhook.c - a webhook attempt: the POST with its signed headers
 * (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature),
 * the channel's own headers and its time limit; and how an answer is
 * judged (Alertmanager's rule: 2xx done, 5xx retried, other 4xx final;
 * 408 and 429 retried too).
 */
#include "notify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_base64.h>

#include "kt_sys.h"

/* Base64 as Standard Webhooks writes secrets: the alphabet, then at most
 * two '=' at the end (apr_base64_decode skips what it does not know). */
static int is_base64(const char *p, apr_size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    apr_size_t pad = 0;
    while (pad < 2 && pad < n && p[n - 1 - pad] == '=')
        pad++;
    for (apr_size_t i = 0; i < n - pad; i++)
        if (!p[i] || !strchr(abc, p[i]))
            return 0;
    return 1;
}

/* The key: whsec_<base64> decoded, else the file's bytes as they are. */
static apr_size_t secret_key(const kt_notify_conf_t *c, unsigned char *key, apr_size_t cap)
{
    const char *p = (const char *)c->secret;
    apr_size_t n = c->secret_len;
    if (n > 6 && strncmp(p, "whsec_", 6) == 0 && (n - 6) % 4 == 0 && (n - 6) / 4 * 3 <= cap &&
        is_base64(p + 6, n - 6)) {
        char coded[1400]; /* (cap 1024) / 3 * 4 and its NUL */
        if (n - 6 < sizeof coded) {
            memcpy(coded, p + 6, n - 6);
            coded[n - 6] = '\0';
            int got = apr_base64_decode_binary(key, coded);
            memset(coded, 0, sizeof coded);
            return got > 0 ? (apr_size_t)got : 0;
        }
    }
    n = n < cap ? n : cap;
    memcpy(key, p, n);
    return n;
}

void kt__webhook_sign(const kt_notify_conf_t *c, const char *id, long long ts, const char *body,
                      char *sig, apr_size_t len)
{
    unsigned char key[1024], mac[32];
    apr_size_t keylen = secret_key(c, key, sizeof key);
    char prefix[128];
    int np = snprintf(prefix, sizeof prefix, "%s.%lld.", id, ts);
    const void *data[] = {prefix, body};
    apr_size_t lens[] = {(apr_size_t)np, strlen(body)};
    apr_status_t st = kt_sys_hmac_sha256(key, keylen, data, lens, 2, mac);
    volatile unsigned char *vk = key; /* volatile: the compiler keeps the stores */
    for (apr_size_t i = 0; i < keylen; i++)
        vk[i] = 0;
    if (st != APR_SUCCESS) { /* the receiver refuses it, and the attempt is retried */
        kt_log(KT_LOG_ERROR, "notify: cannot compute a webhook signature");
        snprintf(sig, len, "v1,");
        return;
    }
    char b64[64];
    apr_base64_encode_binary(b64, mac, (int)sizeof mac);
    snprintf(sig, len, "v1,%s", b64);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *data)
{
    (void)ptr;
    (void)data;
    return size * nmemb;
}

char *kt__notify_target(const kt_notify_conf_t *c)
{
    if (c->kind != KT_NOTIFY_ALERTMANAGER)
        return strdup(c->url);
    size_t n = strlen(c->url);
    while (n && c->url[n - 1] == '/')
        n--;
    char *t = malloc(n + sizeof "/api/v2/alerts");
    if (t) {
        memcpy(t, c->url, n);
        memcpy(t + n, "/api/v2/alerts", sizeof "/api/v2/alerts");
    }
    return t;
}

CURL *kt__webhook_request(const kt_notify_conf_t *c, const char *url, const char *id,
                          const char *body, struct curl_slist **hdrs, char *errbuf)
{
    CURL *e = kt__curl.easy_init();
    if (!e)
        return NULL;
    char line[1024];
    struct curl_slist *h = kt__curl.slist_append(NULL, "Content-Type: application/json");
    h = kt__curl.slist_append(h, "User-Agent: kotod/" KT_VERSION);
    h = kt__curl.slist_append(h, "Expect:"); /* no 100-continue round trip */
    snprintf(line, sizeof line, "webhook-id: %s", id);
    h = kt__curl.slist_append(h, line);
    long long ts = (long long)apr_time_sec(apr_time_now());
    snprintf(line, sizeof line, "webhook-timestamp: %lld", ts);
    h = kt__curl.slist_append(h, line);
    if (c->secret) {
        char sig[128];
        kt__webhook_sign(c, id, ts, body, sig, sizeof sig);
        snprintf(line, sizeof line, "webhook-signature: %s", sig);
        h = kt__curl.slist_append(h, line);
    }
    for (unsigned i = 0; i < c->nheaders; i++) {
        snprintf(line, sizeof line, "%s: %s", c->headers[i].name, c->headers[i].value);
        h = kt__curl.slist_append(h, line);
    }
    *hdrs = h;
    errbuf[0] = '\0';
    kt__curl.easy_setopt(e, CURLOPT_URL, url);
    kt__curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    kt__curl.easy_setopt(e, CURLOPT_POSTFIELDS, body);
    kt__curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    kt__curl.easy_setopt(e, CURLOPT_HTTPHEADER, h);
    kt__curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    kt__curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    kt__curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    kt__curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    kt__curl.easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    return e;
}

kt__outcome_t kt__notify_judge(CURLcode res, long code, const char *errbuf, char *msg,
                               apr_size_t len)
{
    if (res != CURLE_OK) {
        snprintf(msg, len, "%s", errbuf && *errbuf ? errbuf : kt__curl.easy_strerror(res));
        return KT__RETRY;
    }
    snprintf(msg, len, "HTTP %ld", code);
    if (code >= 200 && code < 300)
        return KT__SENT;
    return code >= 500 || code == 408 || code == 429 ? KT__RETRY : KT__FAILED;
}
