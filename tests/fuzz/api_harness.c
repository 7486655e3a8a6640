/*
 * api_harness.c - the API on the HTTP harness, for the fuzz targets that
 * drive kotod's handlers (fuzz_api, fuzz_mcp): the shipped rules and
 * templates loaded, one reading in the monitor, a scripts directory that
 * is emptied after each input, and requests fed to kt__http_feed (parser,
 * router, handler, response, no sockets).
 */
#include "api_harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <sanitizer/lsan_interface.h>

#include "http_internal.h"


apr_pool_t *kt_fuzz_root;
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

void kt_fuzz_empty_scripts_dir(void)
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
    kt_fuzz_empty_scripts_dir();
    rmdir(scripts_dir);
    kt_api_unregister(api);
    apr_pool_destroy(kt_fuzz_root); /* the server and the monitor with it */
    apr_terminate();
}

void kt_fuzz_api_request(const char *method, const char *path, const char *extra,
                         const char *body, size_t len, char **out, apr_size_t *out_len,
                         apr_pool_t *pool)
{
    char *head = apr_psprintf(pool,
                              "%s %s HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n"
                              "Authorization: Bearer " KT_FUZZ_TOKEN "\r\n"
                              "Content-Type: application/json\r\n%s"
                              "Content-Length: %" APR_SIZE_T_FMT "\r\nConnection: close\r\n\r\n",
                              method, path, extra ? extra : "", len);
    size_t hlen = strlen(head);
    char *req = apr_palloc(pool, hlen + len);
    memcpy(req, head, hlen);
    if (len)
        memcpy(req + hlen, body, len);
    if (kt__http_feed(server, req, hlen + len, 0, out, out_len, pool) != APR_SUCCESS)
        abort();
}

json_t *kt_fuzz_response_json(const char *out, apr_size_t len, int *status)
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

void kt_fuzz_api_init(const char *who)
{
    if (server)
        return;
    apr_initialize();
    atexit(fini);
    kt_log_set_level(KT_LOG_ERROR);
    if (!mkdtemp(scripts_dir))
        abort();
    char err[600];
    __lsan_disable(); /* the server, the monitor and the set live for the run: see reload */
    apr_pool_create(&kt_fuzz_root, NULL);
    kt_http_conf_t hconf;
    kt_http_conf_defaults(&hconf);
    hconf.server_names = "127.0.0.1"; /* the harness has no socket to tell its address */
    kt_rules_t *rules = load_rules(err, sizeof err);
    if (!rules || kt_http_create(&server, &hconf, kt_fuzz_root) != APR_SUCCESS ||
        kt_mon_create(&mon, &kt_rules_conf(rules)->mon, NULL, kt_fuzz_root) != APR_SUCCESS) {
        fprintf(stderr, "%s: %s\n", who, rules ? "cannot create the server" : err);
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
    if (kt_rules_cell_create(&cell, kt_fuzz_root) != APR_SUCCESS)
        abort();
    kt_rules_cell_set(cell, rules);
    kt_rules_release(rules);
    kt_api_opts_t aopts = {.mon = mon, .rules = cell, .token = KT_FUZZ_TOKEN, .reload = reload};
    if (kt_api_create(&api, server, &aopts, kt_fuzz_root) != APR_SUCCESS)
        abort();
    __lsan_enable();
}
