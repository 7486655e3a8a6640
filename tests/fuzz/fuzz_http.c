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
#include "http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;
static kt_http_t *server;

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
    kt_fuzz_http_conf(&conf);
    if (kt_http_create(&server, &conf, root) != APR_SUCCESS)
        abort();
    kt_fuzz_http_routes(server);
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
