/*
 * scripts.c - /api/agent/generate-script, .../list and .../save.
 *
 * The templates are Lua files rendered by the rules engine; until that engine
 * is built these answer 503 with a clear message rather than a script that
 * koto did not really generate.
 */
#include "api_internal.h"

void kt__api_reply_needs_rules(kt_http_req_t *req)
{
    kt_http_set_header(req, "Retry-After", "86400");
    kt_http_reply_error(req, 503, "rules_engine_unavailable",
                        "fix-script templates and analysis rules are served by the Lua rules "
                        "engine, which this build of kotod does not include yet");
}

static void generate_handler(kt_http_req_t *req, void *baton)
{
    if (kt__api_allow(baton, req, 0))
        kt__api_reply_needs_rules(req);
}

static void save_handler(kt_http_req_t *req, void *baton)
{
    if (kt__api_allow(baton, req, 1))
        kt__api_reply_needs_rules(req);
}

void kt__api_scripts_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "POST", "/api/agent/generate-script", generate_handler, api);
    kt_http_route(http, "GET", "/api/agent/generate-script/list", generate_handler, api);
    kt_http_route(http, "POST", "/api/agent/generate-script/save", save_handler, api);
}
