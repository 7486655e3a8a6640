/*
 * mcp_methods.c - what /mcp answers: ping, server/discover, tools,
 * resources and prompts. Resources are what an agent reads before it acts:
 * the latest reading, the recent events, the rules' findings and settings,
 * the fix templates, and any one event (koto://events/{id}). Prompts are
 * the conversations a person starts: diagnose this host, explain an event.
 */
#include "mcp_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

/* ---- Private ------------------------------------------------------------------------- */

static void list_meta(const kt__mcp_ctx_t *ctx, json_t *r)
{
    /* Readings change every interval: nothing stays fresh; the answer
     * depends on the token's scopes, so no cache is shared. */
    if (ctx->modern) {
        json_object_set_new(r, "ttlMs", json_integer(0));
        json_object_set_new(r, "cacheScope", json_string("private"));
    }
}

static json_t *text_content(const char *text)
{
    return json_pack("{s:s s:s}", "type", "text", "text", text);
}

typedef struct {
    const char *uri, *name, *description;
} resource_t;

static const resource_t resources[] = {
    {"koto://reading/latest", "latest-reading",
     "The latest reading of this machine: CPU, memory, disks, network, the top processes."},
    {"koto://events/recent", "recent-events", "The 50 most recent events, newest last."},
    {"koto://rules/findings", "rule-findings", "What the rules find in the latest reading."},
    {"koto://settings", "settings", "The settings in force: thresholds, checks, remediation."},
    {"koto://templates", "fix-templates", "The fix-script templates and their parameters."},
};

/* Reads one resource into *out (JSON), or answers why not. */
static apr_status_t read_resource(const kt__mcp_ctx_t *ctx, const char *uri, json_t **out,
                                  kt__api_err_t *err)
{
    kt__api_call_t call = kt__api_call(ctx->api, ctx->req);
    json_t *params = NULL;
    apr_status_t st;
    if (strcmp(uri, "koto://reading/latest") == 0) {
        *out = kt__api_snapshot_json(ctx->api);
        return APR_SUCCESS;
    }
    if (strcmp(uri, "koto://events/recent") == 0) {
        params = json_pack("{s:i}", "limit", 50);
        st = kt__op_anomalies(&call, params, out, err);
    } else if (strcmp(uri, "koto://rules/findings") == 0) {
        params = json_object();
        st = kt__op_analyze(&call, params, out, err);
    } else if (strcmp(uri, "koto://settings") == 0) {
        kt_rules_t *r;
        if ((st = kt__api_rules(ctx->api, &r, err)) == APR_SUCCESS) {
            *out = kt_conf_to_json(kt_rules_conf(r));
            kt_rules_release(r);
        }
    } else if (strcmp(uri, "koto://templates") == 0) {
        params = json_object();
        st = kt__op_templates(&call, params, out, err);
    } else if (strncmp(uri, "koto://events/", 14) == 0 && uri[14] >= '1' && uri[14] <= '9' &&
               strspn(uri + 14, "0123456789") == strlen(uri + 14) && strlen(uri + 14) < 19) {
        params = json_pack("{s:I}", "id", (json_int_t)strtoll(uri + 14, NULL, 10));
        st = kt__op_explain_event(&call, params, out, err);
    } else {
        st = KT_ENOTFOUND;
        kt__api_fail(err, st, "no_such_resource", "Resource not found");
    }
    json_decref(params);
    return st;
}

static json_t *resources_read(const kt__mcp_ctx_t *ctx, json_t *params, kt__mcp_err_t *e)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (!uri) {
        *e = (kt__mcp_err_t){-32602, "Invalid params: uri (a string) is required", NULL};
        return NULL;
    }
    kt__api_err_t err = {0};
    json_t *doc = NULL;
    apr_status_t st = read_resource(ctx, uri, &doc, &err);
    if (st != APR_SUCCESS) {
        *e = (kt__mcp_err_t){-32602, st == KT_ENOTFOUND ? "Resource not found"
                                                        : apr_pstrdup(ctx->pool, err.message),
                             json_pack("{s:s}", "uri", uri)};
        return NULL;
    }
    char *text = json_dumps(doc ? doc : json_null(), JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    json_t *r = json_pack("{s:[{s:s s:s s:s}]}", "contents", "uri", uri, "mimeType",
                          "application/json", "text", text ? text : "null");
    free(text);
    list_meta(ctx, r);
    return r;
}

static json_t *resources_list(const kt__mcp_ctx_t *ctx)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < KT_ARRAY_SIZE(resources); i++)
        json_array_append_new(a, json_pack("{s:s s:s s:s s:s}", "uri", resources[i].uri, "name",
                                           resources[i].name, "description",
                                           resources[i].description, "mimeType",
                                           "application/json"));
    json_t *r = json_pack("{s:o}", "resources", a);
    list_meta(ctx, r);
    return r;
}

static json_t *templates_list(const kt__mcp_ctx_t *ctx)
{
    json_t *r = json_pack("{s:[{s:s s:s s:s s:s}]}", "resourceTemplates", "uriTemplate",
                          "koto://events/{id}", "name", "event", "description",
                          "One event with its evidence, the rules' findings and the fix kotod "
                          "would propose for it.",
                          "mimeType", "application/json");
    list_meta(ctx, r);
    return r;
}

/* ---- prompts ------------------------------------------------------------------------- */

static json_t *prompts_list(const kt__mcp_ctx_t *ctx)
{
    json_t *r = json_pack(
        "{s:[{s:s s:s s:[]} {s:s s:s s:[{s:s s:s s:b}]}]}", "prompts", "name", "diagnose_host",
        "description", "Diagnose this host: its health, what is wrong, and a fix to propose.",
        "arguments", "name", "explain_event", "description",
        "Explain one event: what happened, why, and what would fix it.", "arguments", "name",
        "event_id", "description", "the event's id (get_system_anomalies lists them)",
        "required", 1);
    list_meta(ctx, r);
    return r;
}

static json_t *prompts_get(const kt__mcp_ctx_t *ctx, json_t *params, kt__mcp_err_t *e)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    const char *text;
    if (name && strcmp(name, "diagnose_host") == 0) {
        text = "Diagnose this machine with koto's tools. Call get_system_health first, then "
               "analyze_system_performance; read koto://events/recent for what happened lately. "
               "For each active condition, call explain_event with its event id. Say what is "
               "wrong, in order of urgency, with the figures that show it. If a fix is "
               "warranted, call propose_fix with the event id: it creates a proposal that a "
               "person reviews and approves in koto's dashboard; never claim it has run.";
    } else if (name && strcmp(name, "explain_event") == 0) {
        json_t *id = json_object_get(args, "event_id");
        const char *ids = json_string_value(id);
        if (!ids || !*ids || strspn(ids, "0123456789") != strlen(ids)) {
            *e = (kt__mcp_err_t){-32602, "Invalid params: event_id (a whole number) is required",
                                 NULL};
            return NULL;
        }
        text = apr_psprintf(ctx->pool,
                            "Explain koto event %s. Call explain_event with event_id %s and say, "
                            "for a person: what happened and when, the evidence (values, "
                            "processes), what the rules conclude, and what the suggested fix "
                            "would do. Propose it with propose_fix only if the person asks.",
                            ids, ids);
    } else {
        *e = (kt__mcp_err_t){-32602, "Invalid params: no such prompt",
                             json_pack("{s:s?}", "name", name)};
        return NULL;
    }
    return json_pack("{s:s s:[{s:s s:o}]}", "description",
                     strcmp(name, "diagnose_host") == 0 ? "Diagnose this host"
                                                        : "Explain an event",
                     "messages", "role", "user", "content", text_content(text));
}

/* ---- Internal ------------------------------------------------------------------------ */

json_t *kt__mcp_server_info(void)
{
    return json_pack("{s:s s:s s:s}", "name", "kotod", "title", "koto", "version", KT_VERSION);
}

json_t *kt__mcp_server_card(const kt__mcp_ctx_t *ctx)
{
    (void)ctx;
    return json_pack(
        "{s:{s:{s:b} s:{s:b s:b} s:{s:b}} s:o s:s}", "capabilities", "tools", "listChanged", 0,
        "resources", "subscribe", 0, "listChanged", 0, "prompts", "listChanged", 0, "serverInfo",
        kt__mcp_server_info(), "instructions",
        "koto watches this machine. Read its health, events and history; explain an event; "
        "propose a fix with propose_fix, which a person must approve before anything runs.");
}

json_t *kt__mcp_dispatch(kt__mcp_ctx_t *ctx, const char *method, json_t *params,
                         kt__mcp_err_t *e)
{
    if (strcmp(method, "ping") == 0)
        return json_object();
    if (strcmp(method, "server/discover") == 0) {
        json_t *r = kt__mcp_server_card(ctx);
        json_object_set_new(r, "supportedVersions", kt__mcp_versions());
        list_meta(ctx, r);
        return r;
    }
    if (strcmp(method, "tools/list") == 0) {
        json_t *r = json_pack("{s:o}", "tools", kt__mcp_tools_list(ctx));
        list_meta(ctx, r);
        return r;
    }
    if (strcmp(method, "tools/call") == 0)
        return kt__mcp_tools_call(ctx, params, e);
    if (strcmp(method, "resources/list") == 0)
        return resources_list(ctx);
    if (strcmp(method, "resources/templates/list") == 0)
        return templates_list(ctx);
    if (strcmp(method, "resources/read") == 0)
        return resources_read(ctx, params, e);
    if (strcmp(method, "prompts/list") == 0)
        return prompts_list(ctx);
    if (strcmp(method, "prompts/get") == 0)
        return prompts_get(ctx, params, e);
    return NULL;
}
