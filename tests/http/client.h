/*
 * client.h - a small blocking HTTP/1.1 client for the frontend's tests:
 * plain POSIX sockets, responses parsed with http-parser (response mode).
 * Every socket has 5 s send/receive timeouts, so no test can hang on it.
 */
#ifndef KT_TEST_HTTP_CLIENT_H
#define KT_TEST_HTTP_CLIENT_H

#include <stddef.h>

#include <http_parser.h>

#define TC_MAX_HEADERS 64

typedef struct {
    int status;
    unsigned nheaders;
    char *names[TC_MAX_HEADERS], *values[TC_MAX_HEADERS];
    char *body; /* NUL-terminated */
    size_t body_len;
} tc_resp_t;

typedef struct {
    int fd;
    char buf[64 * 1024]; /* received, not yet parsed */
    size_t len;
} tc_conn_t;

/* Connects to "127.0.0.1:port" or "[::1]:port"; NULL on failure. */
tc_conn_t *tc_open(const char *address);
/* The same with SO_RCVBUF set to rcvbuf bytes (0: the system's default):
 * a small window makes the server's writes come back short. */
tc_conn_t *tc_open_rcvbuf(const char *address, int rcvbuf);
void tc_close(tc_conn_t *c);
/* Sends everything (MSG_NOSIGNAL); 0 or -1. */
int tc_send(tc_conn_t *c, const char *data, size_t len);
int tc_send_str(tc_conn_t *c, const char *s);
/* Reads one response; head: the request was HEAD (no body). 0, or -1 when
 * the connection ended or broke first. Free with tc_resp_free. */
int tc_read(tc_conn_t *c, tc_resp_t *r, int head);
void tc_resp_free(tc_resp_t *r);
/* One connection, one request, one response. 0 or -1. */
int tc_request(const char *address, const char *raw, tc_resp_t *r);
/* The value of a response header (case-insensitive) or NULL. */
const char *tc_header(const tc_resp_t *r, const char *name);
/* 1 if the server closes the connection within ms (data before EOF is
 * dropped), 0 if it is still open. */
int tc_wait_closed(tc_conn_t *c, int ms);
/* Reads raw bytes into buf (at most cap-1, NUL-terminated) until needle
 * appears or ms pass; returns bytes read. */
size_t tc_read_until(tc_conn_t *c, char *buf, size_t cap, const char *needle, int ms);
/* Milliseconds on a monotonic clock. */
double tc_now_ms(void);

#endif
