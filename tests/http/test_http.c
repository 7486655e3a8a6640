/*
 * test_http.c - the HTTP/1.1 frontend against a real client over sockets.
 *
 * Each test starts a server on 127.0.0.1:0 (or [::1]:0) with the routes
 * below, talks to it through tests/http/client.c, and stops it. Timing
 * tests use small timeouts and generous bounds (they also run under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdatomic.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "client.h"
#include "http_internal.h" /* kt__http_feed, for the harness test */
#include "kt_http.h"
#include "kt_sys.h"

static apr_pool_t *root;

/* ---- routes ------------------------------------------------------------ */

static atomic_uint slow_in_flight;
static atomic_uint closes;
static pthread_mutex_t stream_mu = PTHREAD_MUTEX_INITIALIZER;
static kt_http_stream_t *open_stream; /* the last stream /events opened, under stream_mu */

static void publish_stream(kt_http_stream_t *st)
{
    pthread_mutex_lock(&stream_mu);
    open_stream = st;
    pthread_mutex_unlock(&stream_mu);
}

static void h_hello(kt_http_req_t *req, void *baton)
{
    kt_http_reply(req, 200, "text/plain; charset=utf-8", "hello, world\n", 13);
}

static void h_echo(kt_http_req_t *req, void *baton)
{
    apr_size_t n;
    const char *body = kt_http_body(req, &n);
    kt_http_set_header(req, "X-Body-Length", apr_psprintf(kt_http_pool(req), "%" APR_SIZE_T_FMT, n));
    kt_http_reply(req, 200, "application/octet-stream", body, n);
}

static const char *or_null(const char *s) { return s ? s : "(null)"; }

static void h_info(kt_http_req_t *req, void *baton)
{
    const char *text = apr_psprintf(
        kt_http_pool(req), "path=%s\ntail=%s\na=%s\nb=%s\nc=%s\n", kt_http_path(req),
        kt_http_route_tail(req), or_null(kt_http_query(req, "a")),
        or_null(kt_http_query(req, "b")), or_null(kt_http_query(req, "c")));
    kt_http_reply(req, 200, "text/plain", text, strlen(text));
}

static void h_slow(kt_http_req_t *req, void *baton)
{
    atomic_store(&slow_in_flight, 1);
    apr_sleep(apr_time_from_msec(300));
    kt_http_reply(req, 200, "text/plain", "slow", 4);
}

static void h_first(kt_http_req_t *req, void *baton)
{
    apr_sleep(apr_time_from_msec(100));
    kt_http_reply(req, 200, "text/plain", "first", 5);
}

static void h_json(kt_http_req_t *req, void *baton)
{
    kt_http_reply_json(req, 201, json_pack("{s:b}", "ok", 1));
}

static void h_noreply(kt_http_req_t *req, void *baton) {}

static void h_remote(kt_http_req_t *req, void *baton)
{
    const char *text = apr_psprintf(kt_http_pool(req), "%s %d", kt_http_remote(req),
                                    kt_http_remote_is_loopback(req));
    kt_http_reply(req, 200, "text/plain", text, strlen(text));
}

static void on_close(void *baton) { atomic_fetch_add(&closes, 1); }

static void h_events(kt_http_req_t *req, void *baton)
{
    publish_stream(kt_http_stream_open(req, "text/event-stream", on_close, NULL));
}

/* ---- inline routes: a try function on the loop, the handler on a worker ---- */

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t try_thread, handler_thread; /* the last to run each, under seen_mu */
static atomic_uint tries;

static void seen(pthread_t *who)
{
    pthread_mutex_lock(&seen_mu);
    *who = pthread_self();
    pthread_mutex_unlock(&seen_mu);
}

/* "cached" from two parts that are not copied; ?defer=1 leaves it to the
 * handler, and the header set before deferring must not survive. */
static int t_cached(kt_http_req_t *req, void *baton)
{
    atomic_fetch_add(&tries, 1);
    seen(&try_thread);
    kt_http_set_header(req, "X-From-Try", "1");
    if (kt_http_query(req, "defer"))
        return KT_HTTP_DEFER;
    static const kt_http_part_t parts[] = {{.data = "cach", .len = 4}, {.data = "ed", .len = 2}};
    kt_http_reply_parts(req, 200, "text/plain", parts, 2);
    return KT_HTTP_DONE;
}

static void h_cached(kt_http_req_t *req, void *baton)
{
    seen(&handler_thread);
    kt_http_reply(req, 200, "text/plain", "rendered", 8);
}

/* Refuses on the loop without X-Key: yes, as the API's access check does. */
static int t_guarded(kt_http_req_t *req, void *baton)
{
    const char *key = kt_http_header(req, "X-Key");
    if (!key || strcmp(key, "yes") != 0) {
        kt_http_reply_error(req, 401, "unauthorized", "no key");
        return KT_HTTP_DONE;
    }
    return KT_HTTP_DEFER;
}

static void h_guarded(kt_http_req_t *req, void *baton)
{
    kt_http_reply(req, 200, "text/plain", "guarded", 7);
}

static int t_noreply(kt_http_req_t *req, void *baton) { return KT_HTTP_DONE; }

/* Three large parts, sent as they are: more than a socket buffer takes at
 * once, so the writer resumes in the middle of a part. */
#define BIG_PART (600 * 1024)
static char big_parts[3][BIG_PART];

static void fill_big(void)
{
    apr_uint32_t x = 12345; /* no period: a misplaced byte shows */
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; j < BIG_PART; j++) {
            x = x * 1103515245u + 12345u;
            big_parts[i][j] = (char)('a' + (x >> 16) % 26);
        }
}

static int t_big(kt_http_req_t *req, void *baton)
{
    const kt_http_part_t parts[] = {{.data = big_parts[0], .len = BIG_PART},
                                    {.data = big_parts[1], .len = BIG_PART},
                                    {.data = big_parts[2], .len = BIG_PART}};
    kt_http_reply_parts(req, 200, "application/octet-stream", parts, 3);
    return KT_HTTP_DONE;
}

/* The same with the last part's file holding the first part's bytes: what
 * arrives shows whether the part went from its file or from memory. */
static int big_file = -1;

static int t_big_file(kt_http_req_t *req, void *baton)
{
    const kt_http_part_t parts[] = {{.data = big_parts[0], .len = BIG_PART},
                                    {.data = big_parts[1], .len = BIG_PART},
                                    {.data = big_parts[2], .len = BIG_PART, .fd = big_file}};
    kt_http_reply_parts(req, 200, "application/octet-stream", parts, 3);
    return KT_HTTP_DONE;
}

static void add_routes(kt_http_t *s)
{
    assert_int_equal(kt_http_route(s, "GET", "/hello", h_hello, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "POST", "/echo", h_echo, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "GET", "/info", h_info, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "GET", "/files/*", h_info, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "GET", "/slow", h_slow, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "GET", "/first", h_first, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "GET", "/json", h_json, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "GET", "/noreply", h_noreply, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "GET", "/remote", h_remote, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route(s, "GET", "/events", h_events, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route_inline(s, "GET", "/cached", t_cached, h_cached, NULL),
                     APR_SUCCESS);
    assert_int_equal(kt_http_route_inline(s, "GET", "/guarded", t_guarded, h_guarded, NULL),
                     APR_SUCCESS);
    assert_int_equal(kt_http_route_inline(s, "GET", "/noreply-inline", t_noreply, h_hello, NULL),
                     APR_SUCCESS);
    assert_int_equal(kt_http_route_inline(s, "GET", "/big", t_big, h_hello, NULL), APR_SUCCESS);
    assert_int_equal(kt_http_route_inline(s, "GET", "/big-file", t_big_file, h_hello, NULL),
                     APR_SUCCESS);
    assert_int_equal(kt_http_route_inline(s, "GET", "/x", NULL, h_hello, NULL), APR_EINVAL);
    assert_int_equal(kt_http_route(s, "get", "/x", h_hello, NULL), APR_EINVAL);
    assert_int_equal(kt_http_route(s, "GET", "x", h_hello, NULL), APR_EINVAL);
}

/* ---- fixture -------------------------------------------------------------- */

typedef struct {
    apr_pool_t *pool;
    kt_http_t *s;
    const char *addr;
} srv_t;

typedef void (*tweak_fn)(kt_http_conf_t *conf);

static void srv_start_at(srv_t *v, const char *listen, tweak_fn tweak)
{
    kt_http_conf_t conf;
    kt_http_conf_defaults(&conf);
    conf.listen = listen;
    conf.server_names = "t"; /* the name these tests' requests carry */
    if (tweak)
        tweak(&conf);
    assert_int_equal(apr_pool_create(&v->pool, root), APR_SUCCESS);
    assert_int_equal(kt_http_create(&v->s, &conf, v->pool), APR_SUCCESS);
    add_routes(v->s);
    assert_int_equal(kt_http_start(v->s), APR_SUCCESS);
    v->addr = kt_http_address(v->s);
    atomic_store(&slow_in_flight, 0);
    atomic_store(&closes, 0);
    publish_stream(NULL);
}

static void srv_start(srv_t *v, tweak_fn tweak) { srv_start_at(v, "127.0.0.1:0", tweak); }

static void srv_stop(srv_t *v)
{
    kt_http_stop(v->s);
    apr_pool_destroy(v->pool);
}

/* One request on a fresh connection; asserts the exchange worked. */
static void get(srv_t *v, const char *raw, tc_resp_t *r)
{
    assert_int_equal(tc_request(v->addr, raw, r), 0);
}

static void assert_json_error(const tc_resp_t *r, const char *code)
{
    assert_string_equal(tc_header(r, "Content-Type"), "application/json");
    json_error_t err;
    json_t *j = json_loadb(r->body, r->body_len, 0, &err);
    assert_non_null(j);
    const char *got = NULL, *msg = NULL;
    assert_int_equal(json_unpack(j, "{s:{s:s,s:s}}", "error", "code", &got, "message", &msg), 0);
    assert_string_equal(got, code);
    assert_true(strlen(msg) > 0);
    json_decref(j);
}

static void sleep_ms(int ms) { apr_sleep(apr_time_from_msec(ms)); }

/* ---- basics ----------------------------------------------------------------- */

static void test_get_200(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    get(&v, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 13);
    assert_string_equal(r.body, "hello, world\n");
    assert_string_equal(tc_header(&r, "Content-Type"), "text/plain; charset=utf-8");
    assert_string_equal(tc_header(&r, "Content-Length"), "13");
    assert_string_equal(tc_header(&r, "Connection"), "keep-alive");
    assert_string_equal(tc_header(&r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(tc_header(&r, "Cache-Control"), "no-store");
    assert_string_equal(tc_header(&r, "Referrer-Policy"), "no-referrer");
    assert_null(tc_header(&r, "Strict-Transport-Security")); /* plain HTTP */
    const char *date = tc_header(&r, "Date");
    assert_non_null(date);
    assert_int_equal(strlen(date), 29);
    assert_non_null(strstr(date, " GMT"));
    assert_int_equal(r.nheaders, 7);
    for (unsigned i = 0; i < r.nheaders; i++)
        assert_null(strstr(r.names[i], "Access-Control"));
    tc_resp_free(&r);

    get(&v, "GET /json HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"ok\":true}");
    assert_string_equal(tc_header(&r, "Content-Type"), "application/json");
    tc_resp_free(&r);

    kt_http_stats_t st;
    kt_http_stats(v.s, &st);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.by_class[2], 2);
    srv_stop(&v);
}

static void test_404_json(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    get(&v, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    assert_json_error(&r, "not_found");
    assert_string_equal(r.body, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such resource: /nope\"}}");
    assert_string_equal(tc_header(&r, "Connection"), "keep-alive");
    tc_resp_free(&r);
    get(&v, "GET /noreply HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 500);
    assert_json_error(&r, "internal_error");
    tc_resp_free(&r);
    kt_http_stats_t st;
    kt_http_stats(v.s, &st);
    assert_int_equal(st.by_class[4], 1);
    assert_int_equal(st.by_class[5], 1);
    srv_stop(&v);
}

static void test_405_allow(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    get(&v, "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(tc_header(&r, "Allow"), "GET, HEAD");
    assert_json_error(&r, "method_not_allowed");
    tc_resp_free(&r);
    get(&v, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(tc_header(&r, "Allow"), "POST");
    tc_resp_free(&r);
    srv_stop(&v);
}

static void test_head(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    tc_conn_t *c = tc_open(v.addr);
    assert_non_null(c);
    assert_int_equal(tc_send_str(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    assert_int_equal(tc_read(c, &r, 1), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(tc_header(&r, "Content-Length"), "13");
    assert_int_equal(r.body_len, 0);
    tc_resp_free(&r);
    /* No body bytes followed: the next response on the connection is intact. */
    assert_int_equal(tc_send_str(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello, world\n");
    tc_resp_free(&r);
    tc_close(c);
    srv_stop(&v);
}

static void test_keep_alive(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    tc_conn_t *c = tc_open(v.addr);
    assert_non_null(c);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tc_send_str(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
        assert_int_equal(tc_read(c, &r, 0), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello, world\n");
        tc_resp_free(&r);
    }
    kt_http_stats_t st;
    kt_http_stats(v.s, &st);
    assert_int_equal(st.connections_open, 1);
    /* Connection: close is honoured. */
    assert_int_equal(tc_send_str(c, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), 0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_string_equal(tc_header(&r, "Connection"), "close");
    tc_resp_free(&r);
    assert_int_equal(tc_wait_closed(c, 2000), 1);
    tc_close(c);
    srv_stop(&v);
}

static void test_http10(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    tc_conn_t *c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "GET /hello HTTP/1.0\r\n\r\n"), 0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(tc_header(&r, "Connection"), "close");
    tc_resp_free(&r);
    assert_int_equal(tc_wait_closed(c, 2000), 1);
    tc_close(c);

    c = tc_open(v.addr);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tc_send_str(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
        assert_int_equal(tc_read(c, &r, 0), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(tc_header(&r, "Connection"), "keep-alive");
        tc_resp_free(&r);
    }
    tc_close(c);
    srv_stop(&v);
}

static void test_pipelining(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    tc_conn_t *c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "GET /first HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"),
                     0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_string_equal(r.body, "first");
    tc_resp_free(&r);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_string_equal(r.body, "hello, world\n");
    tc_resp_free(&r);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_int_equal(r.status, 404);
    tc_resp_free(&r);
    tc_close(c);
    srv_stop(&v);
}

static void test_chunked_echo(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    get(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello, world");
    assert_string_equal(tc_header(&r, "X-Body-Length"), "12");
    tc_resp_free(&r);
    get(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd", &r);
    assert_string_equal(r.body, "abcd");
    tc_resp_free(&r);
    srv_stop(&v);
}

static void test_expect_continue(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    tc_conn_t *c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                                    "Expect: 100-continue\r\n\r\n"),
                     0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_int_equal(r.status, 100);
    tc_resp_free(&r);
    assert_int_equal(tc_send_str(c, "12345"), 0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "12345");
    tc_resp_free(&r);
    tc_close(c);
    srv_stop(&v);
}

/* ---- inline routes ------------------------------------------------------------- */

static void test_inline(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    get(&v, "GET /cached HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "cached");
    assert_string_equal(tc_header(&r, "Content-Length"), "6");
    assert_string_equal(tc_header(&r, "X-From-Try"), "1");
    tc_resp_free(&r);

    /* Deferred: the handler answers, on another thread, without the try's header. */
    get(&v, "GET /cached?defer=1 HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "rendered");
    assert_null(tc_header(&r, "X-From-Try"));
    tc_resp_free(&r);
    pthread_mutex_lock(&seen_mu);
    assert_false(pthread_equal(try_thread, handler_thread));
    pthread_mutex_unlock(&seen_mu);

    tc_conn_t *c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "HEAD /cached HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    assert_int_equal(tc_read(c, &r, 1), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(tc_header(&r, "Content-Length"), "6");
    tc_resp_free(&r);
    assert_int_equal(tc_send_str(c, "GET /noreply-inline HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_int_equal(r.status, 500);
    assert_json_error(&r, "internal_error");
    tc_resp_free(&r);
    tc_close(c);

    kt_http_stats_t st;
    kt_http_stats(v.s, &st);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.by_class[2], 3);
    assert_int_equal(st.by_class[5], 1);
    srv_stop(&v);
}

/* Answers from the loop keep their place among pipelined requests: one
 * that a worker is still sleeping on is answered first, and a refusal by a
 * try function neither jumps the queue nor lets the request through. */
static void test_inline_pipelining(void **state)
{
    static const char *const want[][2] = {
        {"200", "first"},   {"200", "cached"}, {"401", NULL},
        {"200", "rendered"}, {"200", "guarded"}, {"401", NULL},
        {"200", "hello, world\n"}, {"200", "cached"},
    };
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    atomic_store(&tries, 0);
    tc_conn_t *c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "GET /first HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /cached HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /guarded HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /cached?defer=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /guarded HTTP/1.1\r\nHost: t\r\nX-Key: yes\r\n\r\n"
                                    "GET /guarded HTTP/1.1\r\nHost: t\r\nX-Key: no\r\n\r\n"
                                    "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /cached HTTP/1.1\r\nHost: t\r\n\r\n"),
                     0);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(tc_read(c, &r, 0), 0);
        char status[16];
        snprintf(status, sizeof status, "%d", r.status);
        assert_string_equal(status, want[i][0]);
        if (want[i][1])
            assert_string_equal(r.body, want[i][1]);
        else
            assert_json_error(&r, "unauthorized");
        assert_string_equal(tc_header(&r, "Connection"), "keep-alive");
        tc_resp_free(&r);
    }
    assert_int_equal(atomic_load(&tries), 3);
    tc_close(c);
    srv_stop(&v);
}

/* A small window: the writes come back short, so the parts go out in many
 * pieces, resuming in the middle of one. Three answers on one connection,
 * each starting clean after the one before; the second's last part has a
 * file holding the first part's bytes, so what arrives shows that a plain
 * connection sends it from the file (sendfile), resuming there too, and
 * that the answer after it goes from memory again. */
static void test_inline_big_parts(void **state)
{
    assert_true(big_file > 0);
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    tc_conn_t *c = tc_open_rcvbuf(v.addr, 16384);
    assert_non_null(c);
    assert_int_equal(tc_send_str(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /big-file HTTP/1.1\r\nHost: t\r\n\r\n"
                                    "GET /big HTTP/1.1\r\nHost: t\r\n\r\n"),
                     0);
    static const int last[] = {2, 0, 2}; /* whose bytes each answer's last part has */
    for (int k = 0; k < 3; k++) {
        sleep_ms(100); /* let the server fill the socket and wait for room */
        assert_int_equal(tc_read(c, &r, 0), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 3 * BIG_PART);
        assert_memory_equal(r.body, big_parts[0], BIG_PART);
        assert_memory_equal(r.body + BIG_PART, big_parts[1], BIG_PART);
        assert_memory_equal(r.body + 2 * BIG_PART, big_parts[last[k]], BIG_PART);
        tc_resp_free(&r);
    }
    tc_close(c);
    srv_stop(&v);
}

/* ---- refusals ------------------------------------------------------------------ */

/* The request is refused with status and code, and the connection closes. */
static void expect_refusal(srv_t *v, const char *raw, size_t len, int status, const char *code)
{
    tc_resp_t r;
    tc_conn_t *c = tc_open(v->addr);
    assert_non_null(c);
    assert_int_equal(tc_send(c, raw, len), 0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    assert_int_equal(r.status, status);
    assert_json_error(&r, code);
    assert_string_equal(tc_header(&r, "Connection"), "close");
    tc_resp_free(&r);
    assert_int_equal(tc_wait_closed(c, 3000), 1);
    tc_close(c);
}

static void refuse_str(srv_t *v, const char *raw, int status, const char *code)
{
    expect_refusal(v, raw, strlen(raw), status, code);
}

static void test_smuggling_400(void **state)
{
    srv_t v;
    srv_start(&v, NULL);
    refuse_str(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "bad_request");
    refuse_str(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Length: 5\r\n\r\n0\r\n\r\n", 400, "bad_request");
    refuse_str(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                   "Content-Length: 5\r\n\r\nhello", 400, "bad_request");
    refuse_str(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                   "Content-Length: 6\r\n\r\nhello!", 400, "bad_request");
    refuse_str(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
               "bad_request");
    refuse_str(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                   "0\r\n\r\n", 400, "bad_request");
    refuse_str(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "bad_request");
    refuse_str(&v, "GARBAGE\r\n\r\n", 400, "bad_request");
    refuse_str(&v, "GET /hello HTTP/1.1\r\n\r\n", 400, "bad_request"); /* no Host */
    refuse_str(&v, "GET /files/%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400, "bad_request");
    refuse_str(&v, "GET /files/a%00b HTTP/1.1\r\nHost: t\r\n\r\n", 400, "bad_request");
    refuse_str(&v, "GET /files/../secret HTTP/1.1\r\nHost: t\r\n\r\n", 400, "bad_request");
    refuse_str(&v, "GET /files/%2e%2e/secret HTTP/1.1\r\nHost: t\r\n\r\n", 400, "bad_request");
    srv_stop(&v);
}

/* HTTP/1.0 had no chunked coding and required Content-Length on a request
 * body; HTTP/1.1 says a request without either has an empty body. */
static void test_411(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    refuse_str(&v, "POST /echo HTTP/1.0\r\n\r\n", 411, "length_required");
    get(&v, "POST /echo HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(tc_header(&r, "X-Body-Length"), "0");
    tc_resp_free(&r);
    srv_stop(&v);
}

static void small_body(kt_http_conf_t *c) { c->max_body_bytes = 1024; }

static void test_413(void **state)
{
    srv_t v;
    srv_start(&v, small_body);
    /* Declared: refused before any body byte arrives. */
    refuse_str(&v, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2048\r\n\r\n", 413,
               "payload_too_large");
    /* Chunked: refused while reading. */
    char *raw = apr_pstrcat(root, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
                            NULL);
    char chunk[700];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 2; i++)
        raw = apr_psprintf(root, "%s2bc\r\n%.*s\r\n", raw, (int)sizeof chunk, chunk);
    raw = apr_pstrcat(root, raw, "0\r\n\r\n", NULL);
    refuse_str(&v, raw, 413, "payload_too_large");
    /* Exactly the limit passes. */
    tc_resp_t r;
    char *body = apr_palloc(root, 1025);
    memset(body, 'y', 1024);
    body[1024] = '\0';
    get(&v, apr_psprintf(root, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n%s", body), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 1024);
    tc_resp_free(&r);
    srv_stop(&v);
}

static void test_414(void **state)
{
    srv_t v;
    srv_start(&v, NULL);
    char *path = apr_palloc(root, 3001);
    memset(path, 'a', 3000);
    path[0] = '/';
    path[3000] = '\0';
    refuse_str(&v, apr_psprintf(root, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path), 414,
               "uri_too_long");
    srv_stop(&v);
}

static void test_431(void **state)
{
    srv_t v;
    srv_start(&v, NULL);
    /* Size: one 9000-byte header against the 8192-byte head limit. */
    char *big = apr_palloc(root, 9001);
    memset(big, 'b', 9000);
    big[9000] = '\0';
    refuse_str(&v, apr_psprintf(root, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\n\r\n", big),
               431, "header_fields_too_large");
    /* Count: 70 small headers against the limit of 64. */
    char *raw = apr_pstrdup(root, "GET /hello HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 70; i++)
        raw = apr_psprintf(root, "%sX-H%d: %d\r\n", raw, i, i);
    raw = apr_pstrcat(root, raw, "\r\n", NULL);
    refuse_str(&v, raw, 431, "header_fields_too_large");
    /* 63 + Host is fine. */
    tc_resp_t r;
    raw = apr_pstrdup(root, "GET /hello HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 63; i++)
        raw = apr_psprintf(root, "%sX-H%d: %d\r\n", raw, i, i);
    get(&v, apr_pstrcat(root, raw, "\r\n", NULL), &r);
    assert_int_equal(r.status, 200);
    tc_resp_free(&r);
    srv_stop(&v);
}

/* ---- timeouts and limits ------------------------------------------------------- */

static void short_head(kt_http_conf_t *c) { c->header_timeout_ms = 300; }

static void test_408_trickle(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, short_head);
    tc_conn_t *c = tc_open(v.addr);
    double t0 = tc_now_ms();
    assert_int_equal(tc_send_str(c, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: "), 0);
    /* One byte every 50 ms: the head deadline runs from the first byte. */
    for (;;) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) > 0 || tc_now_ms() - t0 > 3000)
            break;
        tc_send_str(c, "a");
    }
    assert_int_equal(tc_read(c, &r, 0), 0);
    double elapsed = tc_now_ms() - t0;
    assert_int_equal(r.status, 408);
    assert_json_error(&r, "request_timeout");
    assert_true(elapsed >= 250 && elapsed < 1500);
    tc_resp_free(&r);
    assert_int_equal(tc_wait_closed(c, 3000), 1);
    tc_close(c);
    srv_stop(&v);
}

static void short_idle(kt_http_conf_t *c) { c->idle_timeout_ms = 300; }

static void test_idle_close(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, short_idle);
    tc_conn_t *c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    assert_int_equal(tc_read(c, &r, 0), 0);
    tc_resp_free(&r);
    double t0 = tc_now_ms();
    assert_int_equal(tc_wait_closed(c, 3000), 1);
    assert_true(tc_now_ms() - t0 >= 200);
    tc_close(c);
    /* A connection that never sends a byte is closed too, without an answer. */
    c = tc_open(v.addr);
    assert_int_equal(tc_wait_closed(c, 3000), 1);
    tc_close(c);
    srv_stop(&v);
}

static void two_conns(kt_http_conf_t *c) { c->max_connections = 2; }

static void test_503_max_connections(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, two_conns);
    tc_conn_t *a = tc_open(v.addr), *b = tc_open(v.addr);
    const char *req = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < 2; i++) {
        tc_conn_t *c = i ? b : a;
        assert_int_equal(tc_send_str(c, req), 0);
        assert_int_equal(tc_read(c, &r, 0), 0);
        assert_int_equal(r.status, 200);
        tc_resp_free(&r);
    }
    refuse_str(&v, req, 503, "service_unavailable");
    /* A slot freed is a slot usable again. */
    tc_close(a);
    int ok = 0;
    for (int i = 0; i < 40 && !ok; i++) {
        sleep_ms(50);
        if (tc_request(v.addr, req, &r) == 0) {
            ok = r.status == 200;
            tc_resp_free(&r);
        }
    }
    assert_true(ok);
    tc_close(b);
    srv_stop(&v);
}

static void test_slow_clients(void **state)
{
    enum { N = 200 };
    static const char trickle[] = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaa";
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    tc_conn_t *slow[N];
    for (int i = 0; i < N; i++) {
        slow[i] = tc_open(v.addr);
        assert_non_null(slow[i]);
    }
    double worst = 0, t_end = tc_now_ms() + 1500;
    int served = 0;
    for (size_t k = 0; tc_now_ms() < t_end; k++) {
        double tick = tc_now_ms();
        for (int i = 0; i < N; i++)
            assert_int_equal(tc_send(slow[i], trickle + k % (sizeof trickle - 1), 1), 0);
        double t0 = tc_now_ms();
        assert_int_equal(tc_request(v.addr, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 0);
        double took = tc_now_ms() - t0;
        assert_int_equal(r.status, 200);
        tc_resp_free(&r);
        if (took > worst)
            worst = took;
        served++;
        double left = 100 - (tc_now_ms() - tick);
        if (left > 0)
            sleep_ms((int)left);
    }
    kt_http_stats_t st;
    kt_http_stats(v.s, &st);
    assert_true(st.connections_open >= N);
    assert_true(served >= 10);
    print_message("slow clients: %d fast requests, worst %.1f ms\n", served, worst);
    /* A hang guard, not a timing: a loop that waited on the slow clients
     * would not answer within the 1.5 s window at all. 500 ms was crossed
     * (501 ms) under ASan on a machine busy with other work. Widened where
     * the build is slower by design (TSan). */
    const char *scale = getenv("KT_TIME_SCALE");
    assert_true(worst < 2000 * (scale && atoi(scale) > 0 ? atoi(scale) : 1));
    for (int i = 0; i < N; i++)
        tc_close(slow[i]);
    srv_stop(&v);
}

/* ---- addresses and decoding ------------------------------------------------------ */

static int have_ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void test_ipv6(void **state)
{
    if (!have_ipv6_loopback()) {
        print_message("no IPv6 loopback on this machine: test skipped\n");
        skip();
    }
    srv_t v;
    tc_resp_t r;
    srv_start_at(&v, "[::1]:0", NULL);
    assert_true(strncmp(v.addr, "[::1]:", 6) == 0);
    get(&v, "GET /remote HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(strncmp(r.body, "[::1]:", 6) == 0);
    assert_non_null(strstr(r.body, " 1"));
    tc_resp_free(&r);
    srv_stop(&v);
}

static void test_query_decoding(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    get(&v, "GET /info?a=1&b=x%20y&c=1+2&a=second HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_string_equal(r.body, "path=/info\ntail=\na=1\nb=x y\nc=1 2\n");
    tc_resp_free(&r);
    get(&v, "GET /info?b=&c HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_string_equal(r.body, "path=/info\ntail=\na=(null)\nb=\nc=\n");
    tc_resp_free(&r);
    get(&v, "GET /remote HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_true(strncmp(r.body, "127.0.0.1:", 10) == 0);
    assert_non_null(strstr(r.body, " 1"));
    tc_resp_free(&r);
    srv_stop(&v);
}

static void test_percent_path(void **state)
{
    srv_t v;
    tc_resp_t r;
    srv_start(&v, NULL);
    get(&v, "GET /files/some%20dir/a%2Bb+c?a=%41 HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "path=/files/some dir/a+b+c\ntail=some dir/a+b+c\na=A\nb=(null)\nc=(null)\n");
    tc_resp_free(&r);
    get(&v, "GET /%68ello HTTP/1.1\r\nHost: t\r\n\r\n", &r); /* decoded before routing */
    assert_string_equal(r.body, "hello, world\n");
    tc_resp_free(&r);
    get(&v, "GET /files HTTP/1.1\r\nHost: t\r\n\r\n", &r); /* the prefix needs its '/' */
    assert_int_equal(r.status, 404);
    tc_resp_free(&r);
    srv_stop(&v);
}

/* ---- streams --------------------------------------------------------------------- */

static kt_http_stream_t *wait_stream(void)
{
    for (int i = 0; i < 400; i++) {
        pthread_mutex_lock(&stream_mu);
        kt_http_stream_t *st = open_stream;
        pthread_mutex_unlock(&stream_mu);
        if (st)
            return st;
        sleep_ms(5);
    }
    return NULL;
}

static void *stream_writer(void *arg)
{
    kt_http_stream_t *st = wait_stream();
    for (int i = 1; st && i <= 3; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "data: %d\n\n", i);
        if (kt_http_stream_write(st, msg, (apr_size_t)n) != APR_SUCCESS)
            break;
        sleep_ms(20);
    }
    return NULL;
}

static int wait_closes(unsigned want)
{
    for (int i = 0; i < 400; i++) {
        if (atomic_load(&closes) >= want)
            return 1;
        sleep_ms(5);
    }
    return 0;
}

static void test_stream(void **state)
{
    srv_t v;
    srv_start(&v, NULL);
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, stream_writer, NULL), 0);
    tc_conn_t *c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    char buf[4096];
    tc_read_until(c, buf, sizeof buf, "data: 3\n\n", 3000);
    pthread_join(writer, NULL);
    assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(buf, "Content-Type: text/event-stream\r\n"));
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    assert_null(strstr(buf, "Content-Length"));
    const char *body = strstr(buf, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "data: 1\n\ndata: 2\n\ndata: 3\n\n");
    kt_http_stats_t st;
    kt_http_stats(v.s, &st);
    assert_int_equal(st.streams_open, 1);
    assert_int_equal(atomic_load(&closes), 0);

    tc_close(c); /* the client leaves: on_close runs */
    assert_true(wait_closes(1));
    kt_http_stream_t *s = wait_stream();
    assert_int_equal(kt_http_stream_write(s, "x", 1), APR_EOF);
    kt_http_stream_release(s);
    kt_http_stats(v.s, &st);
    assert_int_equal(st.streams_open, 0);
    srv_stop(&v);
    assert_int_equal(atomic_load(&closes), 1);
}

static void small_queue(kt_http_conf_t *c) { c->max_stream_queue = 1024; }

static void test_stream_limits_and_stop(void **state)
{
    srv_t v;
    srv_start(&v, small_queue);
    /* Too far behind: the write is refused and the stream ends. */
    tc_conn_t *c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    kt_http_stream_t *s = wait_stream();
    assert_non_null(s);
    char big[2048];
    memset(big, 'z', sizeof big);
    assert_int_equal(kt_http_stream_write(s, big, sizeof big), KT_ETOOBIG);
    assert_int_equal(kt_http_stream_write(s, "x", 1), APR_EOF);
    assert_true(wait_closes(1));
    assert_int_equal(tc_wait_closed(c, 3000), 1);
    kt_http_stream_release(s);
    tc_close(c);

    /* A stream open at stop ends with it; close before then flushes first. */
    publish_stream(NULL);
    c = tc_open(v.addr);
    assert_int_equal(tc_send_str(c, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    s = wait_stream();
    assert_non_null(s);
    assert_int_equal(kt_http_stream_write(s, "data: bye\n\n", 11), APR_SUCCESS);
    char buf[2048];
    tc_read_until(c, buf, sizeof buf, "data: bye\n\n", 3000);
    assert_non_null(strstr(buf, "data: bye\n\n"));
    kt_http_stop(v.s);
    assert_int_equal(atomic_load(&closes), 2);
    assert_int_equal(kt_http_stream_write(s, "x", 1), APR_EOF);
    kt_http_stream_release(s);
    assert_int_equal(tc_wait_closed(c, 3000), 1);
    tc_close(c);
    srv_stop(&v);
}

/* ---- stop ------------------------------------------------------------------------------ */

typedef struct {
    const char *addr;
    tc_resp_t r;
    int rc;
} slow_call_t;

static void *slow_client(void *arg)
{
    slow_call_t *call = arg;
    call->rc = tc_request(call->addr, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n", &call->r);
    return NULL;
}

static void test_stop_with_slow_handler(void **state)
{
    srv_t v;
    srv_start(&v, NULL);
    slow_call_t call = {v.addr, {0}, -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_client, &call), 0);
    for (int i = 0; i < 400 && !atomic_load(&slow_in_flight); i++)
        sleep_ms(5);
    assert_true(atomic_load(&slow_in_flight));
    double t0 = tc_now_ms();
    kt_http_stop(v.s);
    double took = tc_now_ms() - t0;
    pthread_join(t, NULL);
    assert_int_equal(call.rc, 0);
    assert_int_equal(call.r.status, 200);
    assert_string_equal(call.r.body, "slow");
    assert_string_equal(tc_header(&call.r, "Connection"), "close");
    tc_resp_free(&call.r);
    assert_true(took < 3000);
    kt_http_stop(v.s); /* idempotent */
    /* Nothing listens any more. */
    assert_null(tc_open(v.addr));
    srv_stop(&v);
}

/* The handler threads of this process, by the name workers.c gives them. */
static int count_workers(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        n += fgets(comm, sizeof comm, f) && strcmp(comm, "koto-worker\n") == 0;
        fclose(f);
    }
    closedir(d);
    return n;
}

static void three_workers(kt_http_conf_t *c) { c->workers = 3; }

/* Threads come with the work, up to the setting, and stay. */
static void test_workers_on_demand(void **state)
{
    srv_t v;
    srv_start(&v, three_workers);
    assert_int_equal(count_workers(), 0);
    tc_resp_t r;
    get(&v, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    tc_resp_free(&r);
    assert_int_equal(count_workers(), 1);

    enum { N = 5 };
    slow_call_t calls[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        calls[i] = (slow_call_t){v.addr, {0}, -1};
        assert_int_equal(pthread_create(&t[i], NULL, slow_client, &calls[i]), 0);
    }
    int most = 0;
    for (int i = 0; i < 100 && most < 3; i++) {
        int n = count_workers();
        most = n > most ? n : most;
        sleep_ms(10);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(calls[i].rc, 0);
        assert_int_equal(calls[i].r.status, 200);
        tc_resp_free(&calls[i].r);
    }
    assert_int_equal(most, 3);
    assert_int_equal(count_workers(), 3);
    srv_stop(&v);
    assert_int_equal(count_workers(), 0);
}

static void test_start_failures(void **state)
{
    srv_t v;
    srv_start(&v, NULL);
    apr_pool_t *p;
    kt_http_t *s;
    kt_http_conf_t conf;
    kt_http_conf_defaults(&conf);
    assert_int_equal(apr_pool_create(&p, root), APR_SUCCESS);

    conf.listen = v.addr; /* in use */
    assert_int_equal(kt_http_create(&s, &conf, p), APR_SUCCESS);
    assert_int_not_equal(kt_http_start(s), APR_SUCCESS);
    kt_http_stop(s); /* safe after a failed start */
    kt_http_stop(s);

    const char *bad[] = {"nonsense", "127.0.0.1", "::1:80", "[::1]80", "127.0.0.1:99999",
                         "127.0.0.1:x", ":80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        conf.listen = bad[i];
        assert_int_equal(kt_http_create(&s, &conf, p), APR_SUCCESS);
        assert_int_equal(kt_http_start(s), APR_EINVAL);
        kt_http_stop(s);
    }
    conf.listen = "127.0.0.1:0";
    conf.workers = 0;
    assert_int_equal(kt_http_create(&s, &conf, p), KT_ECONF);
    /* Routes are fixed once started; start twice is refused. */
    assert_int_equal(kt_http_route(v.s, "GET", "/late", h_hello, NULL), KT_ESTATE);
    assert_int_equal(kt_http_start(v.s), KT_ESTATE);
    apr_pool_destroy(p);
    srv_stop(&v);

    /* A server whose pool is destroyed without a stop stops itself. */
    srv_start(&v, NULL);
    apr_pool_destroy(v.pool);
}

/* ---- Host names (DNS rebinding) ------------------------------------------------ */

static void names_tweak(kt_http_conf_t *conf) { conf->server_names = "t, koto.example  ,x.test"; }

/* The status a request with this Host line gets on a fresh connection. */
static int status_for_host(srv_t *v, const char *host)
{
    tc_resp_t r;
    char raw[300];
    snprintf(raw, sizeof raw, "GET /hello HTTP/1.1\r\nHost: %s\r\n\r\n", host);
    get(v, raw, &r);
    int status = r.status;
    if (status == 421) {
        assert_json_error(&r, "misdirected_request");
        assert_string_equal(tc_header(&r, "Connection"), "close");
    }
    tc_resp_free(&r);
    return status;
}

static void test_host_names(void **state)
{
    srv_t v;
    srv_start(&v, names_tweak);
    char self[80];
    snprintf(self, sizeof self, "%s", v.addr); /* 127.0.0.1:PORT */
    const char *ok[] = {self, "127.0.0.1", "localhost", "LocalHost:5000", "localhost.",
                        "t", "koto.example:8443", "KOTO.EXAMPLE", "x.test"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (status_for_host(&v, ok[i]) != 200)
            fail_msg("Host: %s was refused", ok[i]);
    const char *refused[] = {"evil.example", "evil.example:5000", "127.0.0.2", "localhost.evil",
                             "koto.example.evil", "localhost:", "localhost:50x", "[::1]",
                             "[127.0.0.1", "", "x.tes", "t:5000:1", "t t"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (status_for_host(&v, refused[i]) != 421)
            fail_msg("Host: %s was answered", refused[i]);
    /* HTTP/1.0 may leave Host out; with it, the same rule. */
    tc_resp_t r;
    get(&v, "GET /hello HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    tc_resp_free(&r);
    get(&v, "GET /hello HTTP/1.0\r\nHost: evil.example\r\n\r\n", &r);
    assert_int_equal(r.status, 421);
    tc_resp_free(&r);
    srv_stop(&v);

    /* Over IPv6 the listen address is a bracketed literal. */
    if (!have_ipv6_loopback())
        return;
    srv_start_at(&v, "[::1]:0", NULL);
    assert_int_equal(status_for_host(&v, "[::1]"), 200);
    assert_int_equal(status_for_host(&v, v.addr), 200);
    assert_int_equal(status_for_host(&v, "127.0.0.1"), 421);
    srv_stop(&v);
}

/* ---- the socket-free harness (what the fuzzer drives) --------------------------- */

static void test_harness(void **state)
{
    apr_pool_t *p;
    kt_http_t *s;
    kt_http_conf_t conf;
    kt_http_conf_defaults(&conf);
    conf.server_names = "t";
    assert_int_equal(apr_pool_create(&p, root), APR_SUCCESS);
    assert_int_equal(kt_http_create(&s, &conf, p), APR_SUCCESS);
    add_routes(s);
    static const char in[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                             "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n0\r\n\r\n"
                             "GET /cached HTTP/1.1\r\nHost: t\r\n\r\n"
                             "GET /cached?defer=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                             "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
                             "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                             "Content-Length: 1\r\n\r\nx"
                             "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    char *whole, *bytewise;
    apr_size_t n1, n2;
    assert_int_equal(kt__http_feed(s, in, sizeof in - 1, 0, &whole, &n1, p), APR_SUCCESS);
    assert_int_equal(kt__http_feed(s, in, sizeof in - 1, 1, &bytewise, &n2, p), APR_SUCCESS);
    assert_int_equal(n1, n2);
    assert_memory_equal(whole, bytewise, n1);
    const char *a = strstr(whole, "HTTP/1.1 200 OK\r\n");
    const char *b = a ? strstr(a + 1, "HTTP/1.1 200 OK\r\n") : NULL;
    const char *c = b ? strstr(b, "HTTP/1.1 404 Not Found\r\n") : NULL;
    const char *d = c ? strstr(c, "HTTP/1.1 400 Bad Request\r\n") : NULL;
    assert_non_null(d);
    assert_non_null(strstr(b, "\r\n\r\nabc"));
    /* An inline route: the try function's answer, then the handler's. */
    const char *cached = strstr(b, "\r\n\r\ncached");
    const char *rendered = cached ? strstr(cached, "\r\n\r\nrendered") : NULL;
    assert_non_null(rendered);
    assert_true(rendered < c);
    assert_null(strstr(d + 1, "HTTP/1.1")); /* nothing after the refusal */
    assert_non_null(strstr(whole, "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"));
    apr_pool_destroy(p);
}

static int setup(void **state)
{
    apr_initialize();
    kt_log_set_level(KT_LOG_WARN);
    fill_big();
    big_file = kt_sys_sealed_file(big_parts[0], BIG_PART);
    return apr_pool_create(&root, NULL) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    kt_sys_sealed_close(big_file);
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_200),
        cmocka_unit_test(test_404_json),
        cmocka_unit_test(test_405_allow),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_chunked_echo),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_inline_pipelining),
        cmocka_unit_test(test_inline_big_parts),
        cmocka_unit_test(test_smuggling_400),
        cmocka_unit_test(test_411),
        cmocka_unit_test(test_413),
        cmocka_unit_test(test_414),
        cmocka_unit_test(test_431),
        cmocka_unit_test(test_408_trickle),
        cmocka_unit_test(test_idle_close),
        cmocka_unit_test(test_503_max_connections),
        cmocka_unit_test(test_slow_clients),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_query_decoding),
        cmocka_unit_test(test_percent_path),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_stream_limits_and_stop),
        cmocka_unit_test(test_stop_with_slow_handler),
        cmocka_unit_test(test_workers_on_demand),
        cmocka_unit_test(test_start_failures),
        cmocka_unit_test(test_harness),
        cmocka_unit_test(test_host_names),
    };
    return cmocka_run_group_tests_name("http", tests, setup, teardown);
}
