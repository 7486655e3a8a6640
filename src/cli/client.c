/*
 * client.c - the client's HTTP: one libcurl easy handle per client, JSON in
 * and out, kotod's error answers turned into messages and exit codes, and a
 * reader for the event stream.
 */
#include "cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An answer larger than this is not one kotod sends: stop reading. */
#define MAX_ANSWER (64u << 20)

struct kt_cli {
    CURL *curl;
    const char *url, *cacert;
    struct curl_slist *headers;
};

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static int buf_add(buf_t *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > MAX_ANSWER)
            return -1;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    return buf_add(ctx, p, size * n) == 0 ? size * n : 0;
}

kt_cli_t *kt_cli_open(const char *url, const char *token, const char *cacert)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    kt_cli_t *c = calloc(1, sizeof *c);
    if (!c || !(c->curl = curl_easy_init())) {
        free(c);
        return NULL;
    }
    c->url = url;
    c->cacert = cacert;
    c->headers = curl_slist_append(NULL, "Accept: application/json");
    c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
    if (token) {
        /* The header holds the token: its buffer is wiped once curl has it. */
        char auth[512];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        c->headers = curl_slist_append(c->headers, auth);
        memset(auth, 0, sizeof auth);
    }
    return c;
}

void kt_cli_close(kt_cli_t *c)
{
    if (!c)
        return;
    curl_slist_free_all(c->headers);
    curl_easy_cleanup(c->curl);
    free(c);
    curl_global_cleanup();
}

static void prepare(kt_cli_t *c, const char *method, const char *path, const char *body)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", c->url, path);
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* Only kotod's own URL: no redirects to follow, no proxy from the
     * environment between a token and loopback. */
    curl_easy_setopt(c->curl, CURLOPT_PROXY, "");
    if (c->cacert)
        curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->cacert);
    if (body)
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
}

/* The exit code for an HTTP status, after printing kotod's message. */
static int refusal(long status, const buf_t *answer)
{
    json_t *j = answer->data ? json_loads(answer->data, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    fprintf(stderr, "koto: kotod answered %ld: %s\n", status,
            msg ? msg : (answer->data ? answer->data : "(no body)"));
    json_decref(j);
    if (status == 401 || status == 403)
        return KT_CLI_REFUSED;
    return status >= 500 ? KT_CLI_UNREACHABLE : KT_CLI_FAILED;
}

int kt_cli_call(kt_cli_t *c, const char *method, const char *path, json_t *body, json_t **answer)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    buf_t got = {0};
    prepare(c, method, path, text);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &got);
    CURLcode rc = curl_easy_perform(c->curl);
    free(text);
    int code = KT_CLI_OK;
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        fprintf(stderr, "koto: cannot reach kotod at %s: %s\n", c->url, curl_easy_strerror(rc));
        code = KT_CLI_UNREACHABLE;
    } else if (status < 200 || status > 299) {
        code = refusal(status, &got);
    } else {
        json_error_t err;
        *answer = json_loads(got.data ? got.data : "", 0, &err);
        if (!*answer) {
            fprintf(stderr, "koto: kotod's answer is not JSON: %s\n", err.text);
            code = KT_CLI_UNREACHABLE;
        }
    }
    free(got.data);
    return code;
}

/* ---- the event stream ------------------------------------------------- */

typedef struct {
    buf_t line;        /* the line being read */
    buf_t data;        /* the event's data lines, joined by \n */
    char event[64];    /* its `event:` name */
    kt_cli_event_fn *fn;
    void *ctx;
    long status;
    buf_t refused;     /* the body of a non-2xx answer */
    CURL *curl;
} follow_t;

static void sse_line(follow_t *f, const char *line)
{
    if (*line == '\0') { /* a blank line ends an event */
        if (f->data.len)
            f->fn(f->event[0] ? f->event : "message", f->data.data, f->ctx);
        f->data.len = 0;
        f->event[0] = '\0';
        return;
    }
    const char *colon = strchr(line, ':');
    size_t key = colon ? (size_t)(colon - line) : strlen(line);
    const char *value = colon ? colon + 1 + (colon[1] == ' ') : "";
    if (key == 4 && strncmp(line, "data", 4) == 0) {
        if (f->data.len)
            buf_add(&f->data, "\n", 1);
        buf_add(&f->data, value, strlen(value));
    } else if (key == 5 && strncmp(line, "event", 5) == 0) {
        snprintf(f->event, sizeof f->event, "%s", value);
    } /* id:, retry: and comments (":keep-alive") carry nothing to show */
}

static size_t sse_chunk(char *p, size_t size, size_t n, void *ctx)
{
    follow_t *f = ctx;
    size_t len = size * n;
    if (!f->status)
        curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &f->status);
    if (f->status < 200 || f->status > 299)
        return buf_add(&f->refused, p, len) == 0 ? len : 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n') {
            size_t l = f->line.len;
            if (l && f->line.data[l - 1] == '\r')
                f->line.data[--f->line.len] = '\0';
            sse_line(f, f->line.len ? f->line.data : "");
            f->line.len = 0;
        } else if (buf_add(&f->line, p + i, 1) != 0) {
            return 0;
        }
    }
    return len;
}

int kt_cli_follow(kt_cli_t *c, const char *path, kt_cli_event_fn *on_event, void *ctx)
{
    follow_t f = {.fn = on_event, .ctx = ctx, .curl = c->curl};
    prepare(c, "GET", path, NULL);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, sse_chunk);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &f);
    CURLcode rc = curl_easy_perform(c->curl);
    int code = KT_CLI_OK;
    if (f.status && (f.status < 200 || f.status > 299)) {
        code = refusal(f.status, &f.refused);
    } else if (rc != CURLE_OK) {
        fprintf(stderr, "koto: the stream from %s ended: %s\n", c->url, curl_easy_strerror(rc));
        code = KT_CLI_UNREACHABLE;
    }
    free(f.line.data);
    free(f.data.data);
    free(f.refused.data);
    return code;
}
