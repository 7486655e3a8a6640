/*
 * tools.c - the seed's twelve tools as a registry: GET /api/agent/tools lists
 * them with a JSON Schema of their parameters; POST /api/agent/tools/{name}
 * calls one with a JSON object body. Parameters are checked against the
 * schema before the tool runs, so a tool sees only declared, well-typed
 * values. Tools that change state need a token with control, like their
 * endpoints. /mcp serves the same table (mcp_tools.c), with each entry's
 * hints as MCP's tool annotations.
 * Each entry names the operation it runs; the endpoints serve the same
 * operations, so a tool and its endpoint cannot drift apart.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

typedef kt__tool_t tool_t;

#define EVENT_TYPES                                                                          \
    "[\"cpu_high\",\"memory_high\",\"disk_full\",\"cpu_spike\",\"process_memory_high\","       \
    "\"disk_fill\",\"process_down\",\"process_count\",\"service_failed\","                     \
    "\"remediation_failed\",\"remediation_gave_up\",\"koto_over_budget\"]"
#define ISSUE_TYPES                                                                           \
    "[\"cpu_high\",\"memory_high\",\"disk_full\",\"process_memory_high\",\"service_restart\"," \
    "\"disk_health\"]"
#define NO_PARAMS "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}"

static const tool_t tools[] = {
    {"analyze_system_performance", "Collect current metrics and identify bottlenecks.", NO_PARAMS,
     0, KT__TOOL_READ, kt__op_analyze},
    {"suggest_optimizations", "Category-specific optimisation recommendations.",
     "{\"type\":\"object\",\"properties\":{\"category\":{\"type\":\"string\",\"enum\":"
     "[\"cpu\",\"memory\",\"disk\",\"process\",\"io\"]}},\"additionalProperties\":false}",
     0, KT__TOOL_READ, kt__op_suggest},
    {"start_system_monitoring", "Begin background anomaly detection.", NO_PARAMS, 1,
     KT__TOOL_IDEMPOTENT, kt__op_start},
    {"stop_system_monitoring", "Stop background monitoring.", NO_PARAMS, 1,
     KT__TOOL_IDEMPOTENT | KT__TOOL_DESTRUCTIVE, kt__op_stop},
    {"get_system_anomalies", "Query detected anomalies, most recent last.",
     "{\"type\":\"object\",\"properties\":{"
     "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
     "\"since\":{\"type\":\"integer\",\"minimum\":0},"
     "\"event_type\":{\"type\":\"string\",\"enum\":" EVENT_TYPES "},"
     "\"severity\":{\"type\":\"string\",\"enum\":[\"low\",\"medium\",\"high\"]}},"
     "\"additionalProperties\":false}",
     0, KT__TOOL_READ, kt__op_anomalies},
    {"get_system_health", "Health summary: status, events by type and severity, active conditions.",
     NO_PARAMS, 0, KT__TOOL_READ, kt__op_health},
    {"clear_monitoring_log", "Clear the event log.", NO_PARAMS, 1,
     KT__TOOL_IDEMPOTENT | KT__TOOL_DESTRUCTIVE, kt__op_clear},
    {"get_monitoring_status", "Whether monitoring runs, with health and the latest reading.",
     NO_PARAMS, 0, KT__TOOL_READ, kt__op_status},
    {"generate_fix_script", "Generate a fix script for an issue type.",
     "{\"type\":\"object\",\"properties\":{\"issue_type\":{\"type\":\"string\",\"enum\":"
     ISSUE_TYPES "},\"process_name\":{\"type\":\"string\"},\"pid\":{\"type\":\"integer\","
     "\"minimum\":1},\"service_name\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},"
     "\"os\":{\"type\":\"string\",\"enum\":[\"linux\",\"windows\"]}},"
     "\"required\":[\"issue_type\"],\"additionalProperties\":true}",
     0, KT__TOOL_READ, kt__op_generate},
    {"save_script_to_file", "Save a generated script inside the scripts directory.",
     "{\"type\":\"object\",\"properties\":{\"script_content\":{\"type\":\"string\"},"
     "\"filename\":{\"type\":\"string\"},\"overwrite\":{\"type\":\"boolean\"}},"
     "\"required\":[\"script_content\",\"filename\"],\"additionalProperties\":false}",
     1, KT__TOOL_DESTRUCTIVE, kt__op_save},
    {"list_available_scripts", "List the fix-script templates and their parameters.", NO_PARAMS,
     0, KT__TOOL_READ, kt__op_templates},
    {"get_script_type", "The script dialect for an OS (the daemon's own by default).",
     "{\"type\":\"object\",\"properties\":{\"os\":{\"type\":\"string\",\"enum\":"
     "[\"linux\",\"windows\"]}},\"additionalProperties\":false}",
     0, KT__TOOL_READ, kt__op_script_type},
};

/* ---- parameter checking against the (small) schemas above ---------------------------- */

static int type_ok(json_t *v, const char *type)
{
    return (strcmp(type, "string") == 0 && json_is_string(v)) ||
           (strcmp(type, "integer") == 0 && json_is_integer(v)) ||
           (strcmp(type, "number") == 0 && json_is_number(v)) ||
           (strcmp(type, "boolean") == 0 && json_is_boolean(v));
}

/* Returns NULL when params fit, else a message allocated in pool. */
const char *kt__tools_check(json_t *schema, json_t *params, apr_pool_t *pool)
{
    json_t *props = json_object_get(schema, "properties");
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v) {
        json_t *p = json_object_get(props, key);
        if (!p && json_is_false(json_object_get(schema, "additionalProperties")))
            return apr_psprintf(pool, "unknown parameter '%s'", key);
        if (!p)
            continue; /* the callee checks what the schema leaves open */
        const char *type = json_string_value(json_object_get(p, "type"));
        if (!type_ok(v, type))
            return apr_psprintf(pool, "parameter '%s' must be of type %s", key, type);
        json_t *en = json_object_get(p, "enum"), *min = json_object_get(p, "minimum"),
               *max = json_object_get(p, "maximum");
        if (en) {
            size_t i;
            json_t *choice;
            int found = 0;
            json_array_foreach(en, i, choice) found |= json_equal(choice, v);
            if (!found) {
                char *list = json_dumps(en, JSON_COMPACT);
                const char *msg = apr_psprintf(pool, "parameter '%s' must be one of %s", key,
                                               list ? list : "its enum");
                free(list);
                return msg;
            }
        }
        if ((min && json_number_value(v) < json_number_value(min)) ||
            (max && json_number_value(v) > json_number_value(max)))
            return apr_psprintf(pool, "parameter '%s' must be between %g and %g", key,
                                min ? json_number_value(min) : -1e300,
                                max ? json_number_value(max) : 1e300);
    }
    size_t i;
    json_t *req;
    json_array_foreach(json_object_get(schema, "required"), i, req) {
        if (!json_object_get(params, json_string_value(req)))
            return apr_psprintf(pool, "parameter '%s' is required", json_string_value(req));
    }
    return NULL;
}

/* ---- endpoints ------------------------------------------------------------------------ */

static json_t *schemas[KT_ARRAY_SIZE(tools)];

static void list_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < KT_ARRAY_SIZE(tools); i++)
        json_array_append_new(a, json_pack("{s:s s:s s:O s:b s:b}", "name", tools[i].name,
                                           "description", tools[i].description, "parameters",
                                           schemas[i], "changes_state", tools[i].changes_state,
                                           "available", tools[i].op != NULL));
    kt_http_reply_json(req, 200, json_pack("{s:o s:i}", "tools", a, "count",
                                           (int)KT_ARRAY_SIZE(tools)));
}

static void call_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    const char *name = kt_http_route_tail(req);
    size_t i;
    for (i = 0; i < KT_ARRAY_SIZE(tools) && strcmp(tools[i].name, name) != 0; i++)
        ;
    if (i == KT_ARRAY_SIZE(tools)) {
        kt_http_reply_error(req, 404, "unknown_tool", "there is no tool named '%s'; "
                            "GET /api/agent/tools lists them", name);
        return;
    }
    const tool_t *t = &tools[i];
    if (!kt__api_allow(api, req, t->changes_state ? KT_SCOPE_CONTROL : KT_SCOPE_READ))
        return;
    apr_size_t len;
    const char *body = kt_http_body(req, &len);
    json_t *params;
    if (len == 0) {
        params = json_object();
    } else {
        json_error_t err;
        params = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
        if (!params) {
            kt_http_reply_error(req, 400, "bad_json", "line %d, column %d: %s", err.line,
                                err.column, err.text);
            return;
        }
        if (!json_is_object(params)) {
            json_decref(params);
            kt_http_reply_error(req, 400, "bad_json", "the body must be a JSON object");
            return;
        }
    }
    const char *problem = kt__tools_check(schemas[i], params, kt_http_pool(req));
    if (problem) {
        json_decref(params);
        kt_http_reply_error(req, 422, "bad_parameter", "%s", problem);
        return;
    }
    kt__api_err_t err = {0};
    json_t *result = NULL;
    kt__api_call_t call = kt__api_call(api, req);
    apr_status_t st = t->op(&call, params, &result, &err);
    json_decref(params);
    if (st == APR_SUCCESS)
        kt_http_reply_json(req, 200, json_pack("{s:s s:o}", "tool", t->name, "result", result));
    else
        kt__api_reply_failure(req, st, &err);
}

unsigned kt__tools_count(void) { return KT_ARRAY_SIZE(tools); }

const kt__tool_t *kt__tools_get(unsigned i, json_t **schema)
{
    if (i >= KT_ARRAY_SIZE(tools))
        return NULL;
    if (!schemas[i])
        schemas[i] = json_loads(tools[i].schema, 0, NULL);
    *schema = schemas[i];
    return &tools[i];
}

void kt__api_tools_routes(kt_http_t *http, kt_api_t *api)
{
    json_t *unused;
    for (unsigned i = 0; i < KT_ARRAY_SIZE(tools); i++)
        kt__tools_get(i, &unused);
    kt_http_route(http, "GET", "/api/agent/tools", list_handler, api);
    kt_http_route(http, "POST", "/api/agent/tools/*", call_handler, api);
}
