/*
 * web.c - the dashboard's files under /monitoring-dashboard, /healthz, and a
 * redirect from /.
 *
 * A file is served only when its name is plain (letters, digits, '.', '-',
 * '_' and '/' between names; no "..", no leading '/') and its real path,
 * links resolved, is still inside web_dir: kt_sys_open_confined (kt_sys.h)
 * checks that the way each OS can (realpath on POSIX, final paths of the
 * open handles on Windows, which also refuses device names like nul.js).
 * Every page gets a strict Content-Security-Policy: scripts and styles
 * from this origin only.
 *
 * On a listener that needs the token for everything, a browser that has
 * not logged in gets the login page (login.html) for the dashboard, and
 * only the files that page needs; it exchanges the token for a session
 * cookie (session.c) and loads the dashboard again.
 */
#include "api_internal.h"
#include "kt_sys.h"

#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#define MAX_FILE_BYTES (8u << 20)

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "object-src 'none'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";

static const char placeholder[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>koto</title></head><body><h1>koto</h1>"
    "<p>kotod is running. The dashboard's files were not found; the API is at "
    "<a href=\"/api/agent/monitor/status\">/api/agent/monitor/status</a> and "
    "<a href=\"/metrics\">/metrics</a>.</p></body></html>\n";

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
        {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < KT_ARRAY_SIZE(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static int plain_name(const char *name)
{
    if (!*name || *name == '/' || strstr(name, "..") || strstr(name, "//"))
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_' || *p == '/'))
            return 0;
    return 1;
}

/* What the login page needs before anyone has logged in. */
static int login_file(const char *name)
{
    static const char *const files[] = {"login.html", "login.js", "koto.css", "icon.svg"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(files); i++)
        if (strcmp(name, files[i]) == 0)
            return 1;
    return 0;
}

static void security_headers(kt_http_req_t *req)
{
    kt_http_set_header(req, "Content-Security-Policy", csp);
    kt_http_set_header(req, "X-Frame-Options", "DENY");
    kt_http_set_header(req, "Referrer-Policy", "no-referrer");
}

static void serve(kt_http_req_t *req, kt_api_t *api, const char *name)
{
    if (api->require_token_always && api->web_dir && !kt__api_authenticated(api, req)) {
        if (strcmp(name, "index.html") == 0)
            name = "login.html";
        else if (!login_file(name) && !kt__api_allow(api, req, KT_SCOPE_READ))
            return;
    } else if (!kt__api_allow(api, req, KT_SCOPE_READ)) {
        return;
    }
    security_headers(req);
    if (!api->web_dir) {
        kt_http_reply(req, 200, "text/html; charset=utf-8", placeholder, sizeof placeholder - 1);
        return;
    }
    if (!plain_name(name)) {
        kt_http_reply_error(req, 404, "not_found", "no such dashboard file");
        return;
    }
    apr_pool_t *pool = kt_http_pool(req);
    apr_file_t *f;
    apr_off_t size;
    if (kt_sys_open_confined(&f, &size, api->web_dir, name, pool) != APR_SUCCESS) {
        kt_http_reply_error(req, 404, "not_found", "no such dashboard file");
        return;
    }
    if (size > MAX_FILE_BYTES) {
        apr_file_close(f);
        kt_http_reply_error(req, 404, "not_found", "no such dashboard file");
        return;
    }
    char *buf = apr_palloc(pool, (apr_size_t)size + 1);
    apr_size_t got = 0;
    apr_status_t st = apr_file_read_full(f, buf, (apr_size_t)size, &got);
    apr_file_close(f);
    if (st != APR_SUCCESS && !(APR_STATUS_IS_EOF(st) && got == 0)) {
        kt_http_reply_error(req, 500, "read_failed", "the file could not be read");
        return;
    }
    kt_http_reply(req, 200, content_type(name), buf, got);
}

static void dashboard_handler(kt_http_req_t *req, void *baton)
{
    serve(req, baton, "index.html");
}

static void file_handler(kt_http_req_t *req, void *baton)
{
    const char *tail = kt_http_route_tail(req);
    serve(req, baton, *tail ? tail : "index.html");
}

static void root_handler(kt_http_req_t *req, void *baton)
{
    kt_http_set_header(req, "Location", "/monitoring-dashboard");
    kt_http_reply(req, 302, "text/plain; charset=utf-8", "", 0);
}

static void healthz_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return;
    kt_http_reply_json(req, 200, json_pack("{s:s s:b}", "status", "ok", "monitoring",
                                           kt_mon_running(api->mon)));
}

void kt__api_web_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "GET", "/", root_handler, api);
    kt_http_route(http, "GET", "/healthz", healthz_handler, api);
    kt_http_route(http, "GET", "/monitoring-dashboard", dashboard_handler, api);
    kt_http_route(http, "GET", "/monitoring-dashboard/*", file_handler, api);
}
