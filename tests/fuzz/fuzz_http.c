/*
 * fuzz_http.c - libFuzzer target: bytes through the HTTP request parser,
 * limits, router, handlers and response builder (kt__http_feed, no sockets).
 *
 * Each input is one client connection. It runs twice: all at once, and in
 * small chunks (size picked from the input); what the client would receive
 * must be byte-for-byte the same, since TCP may cut a request anywhere. Any
 * output must start with a status line. Limits are small so they are hit.
 *
 * Build: cmake -DKT_FUZZ=ON -DCMAKE_C_COMPILER=clang; run:
 *   fuzz_http -max_total_time=30 <new-corpus-dir> tests/fuzz/corpus/http
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;
static kt_http_t *server;

static void h_hello(kt_http_req_t *req, void *baton)
{
    kt_http_reply(req, 200, "text/plain", "hello\n", 6);
}

static void h_echo(kt_http_req_t *req, void *baton)
{
    apr_size_t n;
    const char *body = kt_http_body(req, &n);
    const char *echo = kt_http_header(req, "X-Echo");
    if (echo) /* request bytes into a response header: must be refused if unsafe */
        kt_http_set_header(req, "X-Echo", echo);
    kt_http_reply(req, 200, "application/octet-stream", body, n);
}

static void h_info(kt_http_req_t *req, void *baton)
{
    const char *a = kt_http_query(req, "a");
    /* Decoded bytes into JSON: invalid UTF-8 makes json_pack fail (NULL). */
    kt_http_reply_json(req, 200,
                       json_pack("{s:s,s:s,s:s?}", "path", kt_http_path(req), "tail",
                                 kt_http_route_tail(req), "a", a));
}

static void h_error(kt_http_req_t *req, void *baton)
{
    kt_http_reply_error(req, 422, kt_http_path(req), "bad %s from %s", kt_http_path(req),
                        kt_http_remote(req));
}

static void h_events(kt_http_req_t *req, void *baton)
{
    kt_http_stream_t *st = kt_http_stream_open(req, "text/event-stream", NULL, NULL);
    if (!st)
        return;
    kt_http_stream_write(st, "data: 1\n\n", 9);
    kt_http_stream_close(st);
    kt_http_stream_release(st);
}

/* An inline route: answered by the try function from parts it does not
 * copy, or left to the handler (?defer), whose answer must be the same
 * however the bytes were cut. */
static int t_kept(kt_http_req_t *req, void *baton)
{
    kt_http_set_header(req, "X-Try", "1"); /* dropped when it defers */
    if (kt_http_query(req, "defer"))
        return KT_HTTP_DEFER;
    static const kt_http_part_t parts[] = {{"kept ", 5}, {"body\n", 5}};
    kt_http_reply_parts(req, 200, "text/plain", parts, 2);
    return KT_HTTP_DONE;
}

static void fini(void)
{
    apr_pool_destroy(root); /* the server with it */
    apr_terminate();
}

static void init(void)
{
    apr_initialize();
    atexit(fini);
    apr_pool_create(&root, NULL);
    kt_log_set_level(KT_LOG_ERROR);
    kt_http_conf_t conf;
    kt_http_conf_defaults(&conf);
    conf.server_names = "k koto t"; /* the Host names of the seed corpus */
    conf.max_header_bytes = 1024;
    conf.max_headers = 16;
    conf.max_url_bytes = 256;
    conf.max_body_bytes = 4096;
    if (kt_http_create(&server, &conf, root) != APR_SUCCESS)
        abort();
    kt_http_route(server, "GET", "/hello", h_hello, NULL);
    kt_http_route(server, "POST", "/echo", h_echo, NULL);
    kt_http_route(server, "PUT", "/echo", h_echo, NULL);
    kt_http_route(server, "GET", "/info", h_info, NULL);
    kt_http_route(server, "GET", "/files/*", h_info, NULL);
    kt_http_route(server, "DELETE", "/files/*", h_error, NULL);
    kt_http_route(server, "GET", "/error", h_error, NULL);
    kt_http_route(server, "GET", "/events", h_events, NULL);
    kt_http_route_inline(server, "GET", "/kept", t_kept, h_hello, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server)
        init();
    apr_pool_t *p;
    apr_pool_create(&p, root);
    char *whole, *cut;
    apr_size_t n_whole, n_cut;
    apr_size_t chunk = size ? (apr_size_t)(data[size / 2] % 13) + 1 : 1;
    if (kt__http_feed(server, (const char *)data, size, 0, &whole, &n_whole, p) != APR_SUCCESS ||
        kt__http_feed(server, (const char *)data, size, chunk, &cut, &n_cut, p) != APR_SUCCESS)
        abort();
    if (n_whole != n_cut || memcmp(whole, cut, n_whole) != 0)
        abort(); /* the answer depended on how the bytes were cut */
    if (n_whole && strncmp(whole, "HTTP/1.1 ", 9) != 0)
        abort();
    apr_pool_destroy(p);
    return 0;
}
