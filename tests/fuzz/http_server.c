/*
 * http_server.c - the server of the HTTP fuzz targets: routes that echo
 * request bytes back into answers (headers, JSON, errors), a stream and an
 * inline route, so both targets reach every kind of response.
 */
#include "http_server.h"

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
    static const kt_http_part_t parts[] = {{.data = "kept ", .len = 5},
                                           {.data = "body\n", .len = 5}};
    kt_http_reply_parts(req, 200, "text/plain", parts, 2);
    return KT_HTTP_DONE;
}

void kt_fuzz_http_conf(kt_http_conf_t *conf)
{
    kt_http_conf_defaults(conf);
    conf->server_names = "k koto t"; /* the Host names of the seed corpus */
    conf->max_header_bytes = 1024;
    conf->max_headers = 16;
    conf->max_url_bytes = 256;
    conf->max_body_bytes = 4096;
}

void kt_fuzz_http_routes(kt_http_t *s)
{
    kt_http_route(s, "GET", "/hello", h_hello, NULL);
    kt_http_route(s, "POST", "/echo", h_echo, NULL);
    kt_http_route(s, "PUT", "/echo", h_echo, NULL);
    kt_http_route(s, "GET", "/info", h_info, NULL);
    kt_http_route(s, "GET", "/files/*", h_info, NULL);
    kt_http_route(s, "DELETE", "/files/*", h_error, NULL);
    kt_http_route(s, "GET", "/error", h_error, NULL);
    kt_http_route(s, "GET", "/events", h_events, NULL);
    kt_http_route_inline(s, "GET", "/kept", t_kept, h_hello, NULL);
}
