/*
 * fuzz_mcp.c - libFuzzer target: bytes as the JSON-RPC body of POST /mcp,
 * through the real handlers of src/api/ (mcp.c, mcp_methods.c,
 * mcp_tools.c, and every tool they call) on the HTTP harness
 * (kt__http_feed: parser, router, handler, response, no sockets), with the
 * shipped rules and templates loaded and one reading in the monitor.
 * Byte 0 picks the headers: bit 0 clear, none (the legacy era); set,
 * 2026-07-28 with Mcp-Method and Mcp-Name taken from the body when it
 * parses, so inputs reach the methods and not only the header checks;
 * bit 1 adds a foreign Origin. The rest is the body. The request carries
 * the token.
 *
 * Properties: every answer is one HTTP/1.1 response; a 202 has no body;
 * anything else is a JSON-RPC 2.0 object (a result or an error) with a
 * status the transport allows (200, 400, 403, 404, 413). Never a 500: a
 * failing tool is a result with isError.
 * Saved scripts go to a temporary directory, emptied after each input.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>
#include <sanitizer/lsan_interface.h>

#include "http_internal.h"
#include "kt_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "fuzz-token-0123456789abcdef"

static apr_pool_t *root;
static kt_http_t *server;
static kt_mon_t *mon;
static kt_api_t *api;
static kt_rules_cell_t *cell;
static char scripts_dir[] = "/tmp/koto-fuzz-scripts-XXXXXX";

static kt_rules_t *load_rules(char *err, apr_size_t errlen)
{
    kt_conf_t base = {.script_os = "auto", .scripts_dir = scripts_dir};
    kt_mon_conf_defaults(&base.mon);
    kt_rules_opts_t opts = {.dir = KT_LUA_DIR};
    kt_rules_t *r = NULL;
    return kt_rules_load(&r, &opts, &base, err, errlen) == APR_SUCCESS ? r : NULL;
}

/* What POST /api/agent/reload runs: kotod's reload (serve.c), less the
 * parts that need a daemon: a new set from lua/, its thresholds to the
 * monitor, the set to the API.
 * What it leaves behind lives on past the input, held from pools only:
 * Debian's APR maps pool blocks with mmap, where LeakSanitizer does not
 * look, so the set's allocator and the monitor's pending settings would
 * count as leaked. They are freed when replaced; fuzz_config checks
 * loading for leaks. */
static apr_status_t reload(void *baton, char *err, apr_size_t errlen)
{
    __lsan_disable();
    kt_rules_t *r = load_rules(err, errlen);
    if (r) {
        kt_mon_set_conf(mon, &kt_rules_conf(r)->mon);
        kt_rules_cell_set(cell, r);
        kt_api_settings_changed(api);
        kt_rules_release(r);
    }
    __lsan_enable();
    return r ? APR_SUCCESS : KT_ECONF;
}

static void empty_scripts_dir(void)
{
    DIR *d = opendir(scripts_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

static void fini(void)
{
    empty_scripts_dir();
    rmdir(scripts_dir);
    kt_api_unregister(api);
    apr_pool_destroy(root); /* the server and the monitor with it */
    apr_terminate();
}

/* One POST /mcp through the harness, with extra header lines; the response
 * in *out (in pool). */
static void request(const char *extra, const char *body, size_t len, char **out,
                    apr_size_t *out_len, apr_pool_t *pool)
{
    char *head = apr_psprintf(pool,
                              "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n"
                              "Authorization: Bearer " TOKEN "\r\n"
                              "Content-Type: application/json\r\n"
                              "Accept: application/json, text/event-stream\r\n%s"
                              "Content-Length: %" APR_SIZE_T_FMT "\r\nConnection: close\r\n\r\n",
                              extra, len);
    size_t hlen = strlen(head);
    char *req = apr_palloc(pool, hlen + len);
    memcpy(req, head, hlen);
    if (len)
        memcpy(req + hlen, body, len);
    if (kt__http_feed(server, req, hlen + len, 0, out, out_len, pool) != APR_SUCCESS)
        abort();
}

/* The status and the JSON body of one response; aborts when it is not one. */
static json_t *response_json(const char *out, apr_size_t len, int *status)
{
    const char *end = strstr(out, "\r\n\r\n");
    if (len < 12 || strncmp(out, "HTTP/1.1 ", 9) != 0 || !end)
        return NULL;
    *status = atoi(out + 9);
    json_error_t e;
    json_t *j = json_loadb(end + 4, len - (apr_size_t)(end + 4 - out), 0, &e);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static void init(void)
{
    apr_initialize();
    atexit(fini);
    kt_log_set_level(KT_LOG_ERROR);
    if (!mkdtemp(scripts_dir))
        abort();
    char err[600];
    __lsan_disable(); /* the server, the monitor and the set live for the run: see reload */
    apr_pool_create(&root, NULL);
    kt_http_conf_t hconf;
    kt_http_conf_defaults(&hconf);
    hconf.server_names = "127.0.0.1"; /* the harness has no socket to tell its address */
    kt_rules_t *rules = load_rules(err, sizeof err);
    if (!rules || kt_http_create(&server, &hconf, root) != APR_SUCCESS ||
        kt_mon_create(&mon, &kt_rules_conf(rules)->mon, NULL, root) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_mcp: %s\n", rules ? "cannot create the server" : err);
        abort();
    }
    /* One reading, so the analysis tools have something to judge. */
    json_t *snap = json_load_file(KT_FIXTURES_DIR "/snapshots/runaway_process.json", 0, NULL);
    apr_pool_t *sp;
    apr_pool_create_unmanaged_ex(&sp, NULL, NULL);
    kt_sample_t *s = apr_palloc(sp, sizeof *s);
    if (!snap || kt_sample_from_json(snap, s, sp, err, sizeof err) != APR_SUCCESS)
        abort();
    json_decref(snap);
    kt_mon_ingest(mon, s, sp);
    if (kt_rules_cell_create(&cell, root) != APR_SUCCESS)
        abort();
    kt_rules_cell_set(cell, rules);
    kt_rules_release(rules);
    kt_api_opts_t aopts = {.mon = mon, .rules = cell, .token = TOKEN, .reload = reload};
    if (kt_api_create(&api, server, &aopts, root) != APR_SUCCESS)
        abort();
    __lsan_enable();
}

/* A header value that may go on a line as it is: printable ASCII. */
static int plain(const char *s)
{
    if (!s)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    return *s != '\0';
}

/* The 2026-07-28 headers for body: Mcp-Method and Mcp-Name as it names them. */
static const char *modern_headers(const uint8_t *data, size_t size, apr_pool_t *pool)
{
    const char *h = "MCP-Protocol-Version: 2026-07-28\r\n";
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    const char *method = json_string_value(json_object_get(j, "method"));
    json_t *params = json_object_get(j, "params");
    const char *name = json_string_value(json_object_get(params, "name"));
    if (!name)
        name = json_string_value(json_object_get(params, "uri"));
    if (plain(method))
        h = apr_pstrcat(pool, h, "Mcp-Method: ", method, "\r\n", NULL);
    if (plain(name))
        h = apr_pstrcat(pool, h, "Mcp-Name: ", name, "\r\n", NULL);
    json_decref(j);
    return h;
}

static int expected(int status, const char *out, apr_size_t len, json_t *body)
{
    if (status == 202) {
        const char *end = strstr(out, "\r\n\r\n");
        return end && end + 4 == out + len; /* no body */
    }
    if (!body || !json_is_string(json_object_get(body, "jsonrpc")) ||
        (!json_object_get(body, "result") && !json_is_object(json_object_get(body, "error"))))
        return 0;
    return status == 200 || status == 400 || status == 403 || status == 404 || status == 413;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server)
        init();
    if (size == 0)
        return 0;
    apr_pool_t *p;
    apr_pool_create(&p, root);
    const char *extra = data[0] & 1 ? modern_headers(data + 1, size - 1, p) : "";
    if (data[0] & 2)
        extra = apr_pstrcat(p, extra, "Origin: http://evil.example\r\n", NULL);
    char *out;
    apr_size_t len;
    int status = 0;
    request(extra, (const char *)data + 1, size - 1, &out, &len, p);
    json_t *body = response_json(out, len, &status);
    if (!expected(status, out, len, body)) {
        fprintf(stderr, "fuzz_mcp: unexpected answer:\n%.*s\n", (int)len, out);
        abort();
    }
    json_decref(body);
    apr_pool_destroy(p);
    empty_scripts_dir();
    return 0;
}
