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
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* The key: whsec_<base64> decoded, else the file's bytes as they are. */
static apr_size_t secret_key(const kt_notify_conf_t *c, unsigned char *key, apr_size_t cap)
{
    const char *p = (const char *)c->secret;
    apr_size_t n = c->secret_len;
    if (n > 6 && strncmp(p, "whsec_", 6) == 0 && (n - 6) % 4 == 0 && (n - 6) / 4 * 3 <= cap) {
        int got = EVP_DecodeBlock(key, (const unsigned char *)p + 6, (int)(n - 6));
        if (got >= 0) {
            /* EVP_DecodeBlock counts the padding's zero bytes in. */
            for (apr_size_t i = n; i > 6 && p[i - 1] == '='; i--)
                got--;
            return (apr_size_t)got;
        }
    }
    n = n < cap ? n : cap;
    memcpy(key, p, n);
    return n;
}

void kt__webhook_sign(const kt_notify_conf_t *c, const char *id, long long ts, const char *body,
                      char *sig, apr_size_t len)
{
    unsigned char key[1024], mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    apr_size_t keylen = secret_key(c, key, sizeof key);
    char prefix[128];
    int np = snprintf(prefix, sizeof prefix, "%s.%lld.", id, ts);
    size_t nb = strlen(body);
    unsigned char *data = malloc((size_t)np + nb);
    if (data) {
        memcpy(data, prefix, (size_t)np);
        memcpy(data + np, body, nb);
        if (!HMAC(EVP_sha256(), key, (int)keylen, data, (size_t)np + nb, mac, &maclen))
            maclen = 0;
        free(data);
    }
    OPENSSL_cleanse(key, sizeof key);
    char b64[EVP_MAX_MD_SIZE * 2];
    EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
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
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    char line[1024];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: kotod/" KT_VERSION);
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    snprintf(line, sizeof line, "webhook-id: %s", id);
    h = curl_slist_append(h, line);
    long long ts = (long long)apr_time_sec(apr_time_now());
    snprintf(line, sizeof line, "webhook-timestamp: %lld", ts);
    h = curl_slist_append(h, line);
    if (c->secret) {
        char sig[128];
        kt__webhook_sign(c, id, ts, body, sig, sizeof sig);
        snprintf(line, sizeof line, "webhook-signature: %s", sig);
        h = curl_slist_append(h, line);
    }
    for (unsigned i = 0; i < c->nheaders; i++) {
        snprintf(line, sizeof line, "%s: %s", c->headers[i].name, c->headers[i].value);
        h = curl_slist_append(h, line);
    }
    *hdrs = h;
    errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    return e;
}

kt__outcome_t kt__notify_judge(CURLcode res, long code, const char *errbuf, char *msg,
                               apr_size_t len)
{
    if (res != CURLE_OK) {
        snprintf(msg, len, "%s", errbuf && *errbuf ? errbuf : curl_easy_strerror(res));
        return KT__RETRY;
    }
    snprintf(msg, len, "HTTP %ld", code);
    if (code >= 200 && code < 300)
        return KT__SENT;
    return code >= 500 || code == 408 || code == 429 ? KT__RETRY : KT__FAILED;
}
