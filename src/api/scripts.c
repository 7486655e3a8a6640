/*
 * scripts.c - fix scripts: POST /api/agent/generate-script, GET .../list,
 * POST .../save; and the settings: GET /api/agent/config, POST
 * /api/agent/reload.
 *
 * Generation renders a Lua template with the request's parameters (each
 * one checked against the template's declaration and quoted for the
 * dialect); the dialect follows the request's "os", else the configured
 * script_os, where "auto" means the OS kotod was built for (PowerShell on
 * Windows, Bash elsewhere). koto never runs a script.
 */
#include "api_internal.h"
#include "kt_sys.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

/* Answers 503 when no rule set is loaded; else returns it retained. */
static kt_rules_t *rules_or_503(kt_api_t *api, kt_http_req_t *req)
{
    kt_rules_t *r = kt__api_rules(api);
    if (!r)
        kt_http_reply_error(req, 503, "rules_unavailable",
                            "no rules and templates are loaded; see kotod's log for why");
    return r;
}

/* A string literal, so it outlives r (the loader allows only these three). */
static const char *default_os(kt_rules_t *r)
{
    const char *os = r ? kt_rules_conf(r)->script_os : NULL;
    if (!os || strcmp(os, "auto") == 0)
        return kt_sys_os_name();
    return strcmp(os, "windows") == 0 ? "windows" : "linux";
}

const char *kt__api_script_os(kt_api_t *api)
{
    kt_rules_t *r = kt__api_rules(api);
    const char *os = default_os(r);
    if (r)
        kt_rules_release(r);
    return os;
}

int kt__api_generate(kt_api_t *api, kt_http_req_t *req, json_t *params, json_t **result)
{
    const char *issue = json_string_value(json_object_get(params, "issue_type"));
    if (!issue) {
        kt_http_reply_error(req, 422, "bad_parameter", "issue_type is required (a string)");
        return -1;
    }
    kt_rules_t *r = rules_or_503(api, req);
    if (!r)
        return -1;
    json_t *osv = json_object_get(params, "os");
    const char *os = osv ? json_string_value(osv) : default_os(r);
    if (!os || (strcmp(os, "linux") != 0 && strcmp(os, "windows") != 0)) {
        kt_rules_release(r);
        kt_http_reply_error(req, 422, "bad_parameter", "os must be linux or windows");
        return -1;
    }
    int win = strcmp(os, "windows") == 0, status;
    char err[512];
    char *script = kt_rules_render(r, issue, win ? KT_DIALECT_POWERSHELL : KT_DIALECT_BASH,
                                   params, &status, err, sizeof err);
    kt_rules_release(r);
    if (!script) {
        kt_http_reply_error(req, status, status == 404 ? "unknown_issue_type"
                                         : status == 422 ? "bad_parameter"
                                                         : "template_error",
                            "%s", err);
        return -1;
    }
    *result = json_pack("{s:s s:s s:s s:s s:s}", "issue_type", issue, "os", os, "script_type",
                        win ? "powershell" : "bash", "filename",
                        apr_pstrcat(kt_http_pool(req), "fix_", issue, win ? ".ps1" : ".sh", NULL),
                        "script", script);
    free(script);
    return 0;
}

int kt__api_list_templates(kt_api_t *api, kt_http_req_t *req, json_t **result)
{
    kt_rules_t *r = rules_or_503(api, req);
    if (!r)
        return -1;
    json_t *list = kt_rules_templates(r);
    kt_rules_release(r);
    *result = json_pack("{s:o s:i}", "templates", list, "count", (int)json_array_size(list));
    return 0;
}

int kt__api_save(kt_api_t *api, kt_http_req_t *req, json_t *params, json_t **result)
{
    json_t *content = json_object_get(params, "script_content");
    const char *name = json_string_value(json_object_get(params, "filename"));
    json_t *overwrite = json_object_get(params, "overwrite");
    if (!json_is_string(content) || !name || (overwrite && !json_is_boolean(overwrite))) {
        kt_http_reply_error(req, 422, "bad_parameter",
                            "script_content and filename (strings) are required; overwrite is "
                            "true or false");
        return -1;
    }
    kt_rules_t *r = rules_or_503(api, req);
    if (!r)
        return -1;
    const char *dir = kt_rules_conf(r)->scripts_dir;
    dir = apr_pstrdup(kt_http_pool(req), dir);
    kt_rules_release(r);
    if (!dir) {
        kt_http_reply_error(req, 503, "no_scripts_dir", "no scripts_dir is configured");
        return -1;
    }
    size_t n = strlen(name);
    int bash = n > 3 && strcmp(name + n - 3, ".sh") == 0;
    char err[512];
    apr_status_t st = kt_rules_save_script(dir, name, json_string_value(content),
                                           json_string_length(content), json_is_true(overwrite),
                                           bash, err, sizeof err);
    if (st != APR_SUCCESS) {
        int exists = APR_STATUS_IS_EEXIST(st);
        kt_http_reply_error(req, exists ? 409 : 422, exists ? "exists" : "bad_filename", "%s", err);
        return -1;
    }
    const char *path = kt_sys_join_path(dir, name, kt_http_pool(req));
    kt_log(KT_LOG_INFO, "script %s saved by %s", path, kt_http_remote(req));
    *result = json_pack("{s:s s:s s:i s:b}", "path", path, "filename", name, "bytes",
                        (int)json_string_length(content), "executable", bash);
    return 0;
}

/* ---- endpoints ----------------------------------------------------------------------------- */

/* The request body as a JSON object; answers 400 and returns NULL otherwise. */
static json_t *body_object(kt_http_req_t *req)
{
    apr_size_t len;
    const char *body = kt_http_body(req, &len);
    if (len == 0)
        return json_object();
    json_error_t e;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!j || !json_is_object(j)) {
        if (j)
            kt_http_reply_error(req, 400, "bad_json", "the body must be a JSON object");
        else
            kt_http_reply_error(req, 400, "bad_json", "line %d, column %d: %s", e.line, e.column,
                                e.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

typedef int (*script_op)(kt_api_t *, kt_http_req_t *, json_t *, json_t **);

static void run_op(kt_http_req_t *req, kt_api_t *api, int changes_state, script_op op)
{
    if (!kt__api_allow(api, req, changes_state))
        return;
    json_t *params = body_object(req);
    if (!params)
        return;
    json_t *result = NULL;
    if (op(api, req, params, &result) == 0)
        kt_http_reply_json(req, 200, result);
    json_decref(params);
}

static void generate_handler(kt_http_req_t *req, void *baton)
{
    run_op(req, baton, 0, kt__api_generate);
}

static void save_handler(kt_http_req_t *req, void *baton)
{
    run_op(req, baton, 1, kt__api_save);
}

static void list_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    json_t *result;
    if (kt__api_allow(api, req, 0) && kt__api_list_templates(api, req, &result) == 0)
        kt_http_reply_json(req, 200, result);
}

static void reload_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, 1))
        return;
    char err[600];
    if (!api->reload) {
        kt_http_reply_error(req, 503, "reload_unavailable", "this kotod cannot reload");
        return;
    }
    if (api->reload(api->reload_baton, err, sizeof err) != 0) {
        kt_http_reply_error(req, 422, "reload_failed", "%s; the running rules stay", err);
        return;
    }
    kt_rules_t *r = kt__api_rules(api);
    const char *summary = r ? kt_rules_summary(r, kt_http_pool(req)) : "";
    kt_rules_release(r);
    kt_http_reply_json(req, 200, json_pack("{s:b s:s}", "reloaded", 1, "summary", summary));
}

/* GET /api/agent/config: the settings in force (the dashboard draws the
 * thresholds from here). */
static void config_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, 0))
        return;
    kt_rules_t *r = rules_or_503(api, req);
    if (!r)
        return;
    json_t *settings = kt_conf_to_json(kt_rules_conf(r));
    kt_rules_release(r);
    kt_http_reply_json(req, 200, json_pack("{s:o}", "settings", settings));
}

void kt__api_scripts_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "GET", "/api/agent/config", config_handler, api);
    kt_http_route(http, "POST", "/api/agent/generate-script", generate_handler, api);
    kt_http_route(http, "GET", "/api/agent/generate-script/list", list_handler, api);
    kt_http_route(http, "POST", "/api/agent/generate-script/save", save_handler, api);
    kt_http_route(http, "POST", "/api/agent/reload", reload_handler, api);
}
