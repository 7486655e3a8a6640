/*
 * client.c - see client.h. Test code: POSIX sockets directly, no APR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MSG_NOSIGNAL */
#endif
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    tc_resp_t *r;
    int in_value, done, head;
    size_t body_cap;
} parse_state_t;

double tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static char *grow_cat(char *old, const char *at, size_t len)
{
    size_t n = old ? strlen(old) : 0;
    char *s = realloc(old, n + len + 1);
    memcpy(s + n, at, len);
    s[n + len] = '\0';
    return s;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    parse_state_t *ps = p->data;
    tc_resp_t *r = ps->r;
    if (ps->in_value || r->nheaders == 0) {
        if (r->nheaders == TC_MAX_HEADERS)
            return -1;
        r->names[r->nheaders] = NULL;
        r->values[r->nheaders] = calloc(1, 1);
        r->nheaders++;
        ps->in_value = 0;
    }
    r->names[r->nheaders - 1] = grow_cat(r->names[r->nheaders - 1], at, len);
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    parse_state_t *ps = p->data;
    ps->in_value = 1;
    ps->r->values[ps->r->nheaders - 1] = grow_cat(ps->r->values[ps->r->nheaders - 1], at, len);
    return 0;
}

static int on_headers(http_parser *p)
{
    parse_state_t *ps = p->data;
    ps->r->status = (int)p->status_code;
    return ps->head ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    parse_state_t *ps = p->data;
    tc_resp_t *r = ps->r;
    if (r->body_len + len + 1 > ps->body_cap) {
        ps->body_cap = (r->body_len + len + 1) * 2;
        r->body = realloc(r->body, ps->body_cap);
    }
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_complete(http_parser *p)
{
    parse_state_t *ps = p->data;
    ps->done = 1;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

tc_conn_t *tc_open(const char *address) { return tc_open_rcvbuf(address, 0); }

tc_conn_t *tc_open_rcvbuf(const char *address, int rcvbuf)
{
    char host[64];
    int port;
    struct sockaddr_storage ss;
    socklen_t slen;
    memset(&ss, 0, sizeof ss);
    if (address[0] == '[') {
        const char *end = strchr(address, ']');
        if (!end || (size_t)(end - address - 1) >= sizeof host)
            return NULL;
        memcpy(host, address + 1, (size_t)(end - address - 1));
        host[end - address - 1] = '\0';
        port = atoi(end + 2);
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return NULL;
        slen = sizeof *a;
    } else {
        const char *colon = strrchr(address, ':');
        if (!colon || (size_t)(colon - address) >= sizeof host)
            return NULL;
        memcpy(host, address, (size_t)(colon - address));
        host[colon - address] = '\0';
        port = atoi(colon + 1);
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return NULL;
        slen = sizeof *a;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rcvbuf > 0) /* before connect: the window offered in the handshake */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(fd, (struct sockaddr *)&ss, slen) != 0) {
        close(fd);
        return NULL;
    }
    tc_conn_t *c = calloc(1, sizeof *c);
    c->fd = fd;
    return c;
}

void tc_close(tc_conn_t *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c);
}

int tc_send(tc_conn_t *c, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int tc_send_str(tc_conn_t *c, const char *s) { return tc_send(c, s, strlen(s)); }

int tc_read(tc_conn_t *c, tc_resp_t *r, int head)
{
    http_parser p;
    parse_state_t ps = {r, 0, 0, head, 0};
    memset(r, 0, sizeof *r);
    r->body = calloc(1, 1);
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &ps;
    for (;;) {
        if (c->len) {
            size_t n = http_parser_execute(&p, &settings, c->buf, c->len);
            memmove(c->buf, c->buf + n, c->len - n);
            c->len -= n;
            if (ps.done)
                return 0;
            if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
                return -1;
        }
        ssize_t got = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) { /* EOF may end a body without a length */
            http_parser_execute(&p, &settings, NULL, 0);
            return ps.done ? 0 : -1;
        }
        c->len += (size_t)got;
    }
}

void tc_resp_free(tc_resp_t *r)
{
    for (unsigned i = 0; i < r->nheaders; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->body);
    memset(r, 0, sizeof *r);
}

int tc_request(const char *address, const char *raw, tc_resp_t *r)
{
    tc_conn_t *c = tc_open(address);
    if (!c)
        return -1;
    int head = strncmp(raw, "HEAD ", 5) == 0;
    int rc = tc_send_str(c, raw) == 0 ? tc_read(c, r, head) : -1;
    tc_close(c);
    return rc;
}

const char *tc_header(const tc_resp_t *r, const char *name)
{
    for (unsigned i = 0; i < r->nheaders; i++)
        if (r->names[i] && strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

int tc_wait_closed(tc_conn_t *c, int ms)
{
    double end = tc_now_ms() + ms;
    for (;;) {
        int left = (int)(end - tc_now_ms());
        if (left < 0)
            return 0;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int n = poll(&pfd, 1, left);
        if (n == 0)
            return 0;
        if (n < 0)
            continue;
        char tmp[4096];
        ssize_t got = recv(c->fd, tmp, sizeof tmp, 0);
        if (got <= 0)
            return 1;
    }
}

size_t tc_read_until(tc_conn_t *c, char *buf, size_t cap, const char *needle, int ms)
{
    size_t len = 0;
    double end = tc_now_ms() + ms;
    buf[0] = '\0';
    while (len + 1 < cap && !strstr(buf, needle)) {
        int left = (int)(end - tc_now_ms());
        if (left <= 0)
            break;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (poll(&pfd, 1, left) <= 0)
            continue;
        ssize_t got = recv(c->fd, buf + len, cap - 1 - len, 0);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
    }
    return len;
}
