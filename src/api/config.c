/*
 * config.c - the settings: GET /api/agent/config (the settings in force,
 * from the table that validates them; the dashboard draws its thresholds
 * from here) and POST /api/agent/reload (configuration, rules and
 * templates, all or nothing).
 */
#include "api_internal.h"

static void config_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    kt_rules_t *r = kt__api_read_rules(api, req);
    if (!r)
        return;
    json_t *settings = kt_conf_to_json(kt_rules_conf(r));
    kt_rules_release(r);
    kt_http_reply_json(req, 200, json_pack("{s:o}", "settings", settings));
}

static void reload_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_CONTROL))
        return;
    kt__api_err_t err = {0};
    if (!api->reload) {
        kt__api_fail(&err, KT_EUNAVAIL, "reload_unavailable", "this kotod cannot reload");
        kt__api_reply_failure(req, KT_EUNAVAIL, &err);
        return;
    }
    char why[500];
    if (api->reload(api->reload_baton, why, sizeof why) != APR_SUCCESS) {
        /* Whatever failed, it was the files': the running set stays. */
        kt__api_fail(&err, KT_ECONF, "reload_failed", "%s; the running rules stay", why);
        kt__api_reply_failure(req, KT_ECONF, &err);
        return;
    }
    kt_rules_t *r = kt_rules_cell_get(api->rules);
    const char *summary = r ? kt_rules_summary(r, kt_http_pool(req)) : "";
    kt_rules_release(r);
    kt_http_reply_json(req, 200, json_pack("{s:b s:s}", "reloaded", 1, "summary", summary));
}

void kt__api_config_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "GET", "/api/agent/config", config_handler, api);
    kt_http_route(http, "POST", "/api/agent/reload", reload_handler, api);
}
