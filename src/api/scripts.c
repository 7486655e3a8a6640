/*
 * scripts.c - fix scripts: POST /api/agent/generate-script, GET .../list,
 * POST .../save, and the operations behind them and their tools.
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
    kt_rules_t *r = kt_rules_cell_get(api->rules);
    const char *os = default_os(r);
    kt_rules_release(r);
    return os;
}

apr_status_t kt__op_generate(const kt__api_call_t *call, json_t *params, json_t **result,
                             kt__api_err_t *err)
{
    const char *issue = json_string_value(json_object_get(params, "issue_type"));
    if (!issue)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter", "issue_type is required (a string)");
    kt_rules_t *r;
    apr_status_t st = kt__api_rules(call->api, &r, err);
    if (st != APR_SUCCESS)
        return st;
    json_t *osv = json_object_get(params, "os");
    const char *os = osv ? json_string_value(osv) : default_os(r);
    if (!os || (strcmp(os, "linux") != 0 && strcmp(os, "windows") != 0)) {
        kt_rules_release(r);
        return kt__api_fail(err, KT_EINPUT, "bad_parameter", "os must be linux or windows");
    }
    int win = strcmp(os, "windows") == 0;
    char *script;
    st = kt_rules_render(r, issue, win ? KT_DIALECT_POWERSHELL : KT_DIALECT_BASH, params,
                         &script, err->message, sizeof err->message);
    kt_rules_release(r);
    if (st != APR_SUCCESS) {
        err->code = st == KT_ENOTFOUND ? "unknown_issue_type"
                    : st == KT_EINPUT  ? "bad_parameter"
                                       : "template_error";
        return st;
    }
    *result = json_pack("{s:s s:s s:s s:s s:s}", "issue_type", issue, "os", os, "script_type",
                        win ? "powershell" : "bash", "filename",
                        apr_pstrcat(call->pool, "fix_", issue, win ? ".ps1" : ".sh", NULL),
                        "script", script);
    free(script);
    return APR_SUCCESS;
}

apr_status_t kt__op_templates(const kt__api_call_t *call, json_t *params, json_t **result,
                              kt__api_err_t *err)
{
    kt_rules_t *r;
    apr_status_t st = kt__api_rules(call->api, &r, err);
    if (st != APR_SUCCESS)
        return st;
    json_t *list = kt_rules_templates(r);
    kt_rules_release(r);
    *result = json_pack("{s:o s:i}", "templates", list, "count", (int)json_array_size(list));
    return APR_SUCCESS;
}

apr_status_t kt__op_save(const kt__api_call_t *call, json_t *params, json_t **result,
                         kt__api_err_t *err)
{
    json_t *content = json_object_get(params, "script_content");
    const char *name = json_string_value(json_object_get(params, "filename"));
    json_t *overwrite = json_object_get(params, "overwrite");
    if (!json_is_string(content) || !name || (overwrite && !json_is_boolean(overwrite)))
        return kt__api_fail(err, KT_EINPUT, "bad_parameter",
                            "script_content and filename (strings) are required; overwrite is "
                            "true or false");
    kt_rules_t *r;
    apr_status_t st = kt__api_rules(call->api, &r, err);
    if (st != APR_SUCCESS)
        return st;
    const char *dir = kt_rules_conf(r)->scripts_dir;
    dir = dir ? apr_pstrdup(call->pool, dir) : NULL;
    kt_rules_release(r);
    if (!dir)
        return kt__api_fail(err, KT_EUNAVAIL, "no_scripts_dir", "no scripts_dir is configured");
    size_t n = strlen(name);
    int bash = n > 3 && strcmp(name + n - 3, ".sh") == 0;
    st = kt_rules_save_script(dir, name, json_string_value(content), json_string_length(content),
                              json_is_true(overwrite), bash, err->message, sizeof err->message);
    if (APR_STATUS_IS_EEXIST(st)) {
        err->code = "exists";
        return st;
    }
    if (st != APR_SUCCESS) {
        /* A name refused, a link or device under it, a directory that cannot
         * be made: each is the request's to change. */
        err->code = "bad_filename";
        return KT_EINPUT;
    }
    const char *path = kt_sys_join_path(dir, name, call->pool);
    kt_log(KT_LOG_INFO, "script %s saved by %s", path, call->who);
    *result = json_pack("{s:s s:s s:i s:b}", "path", path, "filename", name, "bytes",
                        (int)json_string_length(content), "executable", bash);
    return APR_SUCCESS;
}

apr_status_t kt__op_script_type(const kt__api_call_t *call, json_t *params, json_t **result,
                                kt__api_err_t *err)
{
    const char *os = json_string_value(json_object_get(params, "os"));
    if (!os)
        os = kt__api_script_os(call->api);
    int win = strcmp(os, "windows") == 0;
    *result = json_pack("{s:s s:s s:s}", "os", os, "script_type", win ? "powershell" : "bash",
                        "extension", win ? ".ps1" : ".sh");
    return APR_SUCCESS;
}

/* ---- endpoints ----------------------------------------------------------------------------- */

static void generate_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_READ, kt__op_generate);
}

static void save_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_CONTROL, kt__op_save);
}

static void list_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_READ, kt__op_templates);
}

void kt__api_scripts_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "POST", "/api/agent/generate-script", generate_handler, api);
    kt_http_route(http, "GET", "/api/agent/generate-script/list", list_handler, api);
    kt_http_route(http, "POST", "/api/agent/generate-script/save", save_handler, api);
}
