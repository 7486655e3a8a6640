/*
 * mcp_tools.c - the tools /mcp offers: the registry of GET /api/agent/tools
 * (tools.c; same names, same schemas, same operations) and four that only
 * an agent needs: query_history, explain_event, list_checks and propose_fix.
 *
 * A token sees, and may call, only the tools its scopes allow: read for
 * those that change nothing, propose for propose_fix, control for those
 * that start, stop, clear or save. propose_fix creates a remediation
 * proposal (its id, script, hash and dry run come back) and never approves
 * or runs it: approval needs control, which MCP tokens are not given by
 * default, and happens in the REST API or the dashboard.
 *
 * A tool that fails is a result with isError and the reason as text, as
 * the specification asks, so the model can read it and try otherwise; an
 * unknown (or hidden) tool is a protocol error, -32602.
 */
#include "mcp_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

/* ---- the tools only MCP offers ------------------------------------------------------- */

static apr_status_t op_list_checks(const kt__api_call_t *call, json_t *params, json_t **result,
                                   kt__api_err_t *err)
{
    (void)params;
    kt_rules_t *r;
    apr_status_t st = kt__api_rules(call->api, &r, err);
    if (st != APR_SUCCESS)
        return st;
    json_t *settings = kt_conf_to_json(kt_rules_conf(r));
    kt_rules_release(r);
    json_t *checks = json_deep_copy(json_object_get(json_object_get(settings, "checks"), "value"));
    json_decref(settings);
    if (!json_is_array(checks)) {
        json_decref(checks);
        checks = json_array();
    }
    /* Failing now: the active conditions whose subject is a check's name. */
    kt_mon_health_t *h = apr_palloc(call->pool, sizeof *h);
    kt_mon_health(call->api->mon, h);
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *failing = json_null();
        for (unsigned k = 0; name && k < h->nactive; k++)
            if (strcmp(h->active[k].subject, name) == 0) {
                json_decref(failing);
                failing = json_pack("{s:s s:s s:I}", "type", kt_event_type_name(h->active[k].type),
                                    "severity", kt_severity_name(h->active[k].severity), "event_id",
                                    (json_int_t)h->active[k].started_id);
            }
        json_object_set_new(c, "state", json_string(json_is_null(failing) ? "ok" : "failing"));
        json_object_set_new(c, "condition", failing);
    }
    *result = json_pack("{s:o s:i}", "checks", checks, "count", (int)json_array_size(checks));
    return APR_SUCCESS;
}

/* The event id from the store, else from the log in memory. */
static json_t *find_event(kt_api_t *api, uint64_t id, apr_pool_t *pool)
{
    json_t *list = NULL;
    if (kt__api_store_on(api)) {
        kt_store_query_t q = {-1, -1, id - 1, id + 1, 0, 0, 1};
        if (kt_store_events(api->store, &q, &list) == APR_SUCCESS) {
            json_t *ev = json_array_get(list, 0);
            if (ev && (uint64_t)json_integer_value(json_object_get(ev, "id")) == id) {
                json_incref(ev);
                json_decref(list);
                return ev;
            }
        }
        json_decref(list);
    }
    kt_event_filter_t f = {-1, -1, id - 1, 0};
    enum { MAX = 4096 };
    kt_event_t *ev = apr_palloc(pool, sizeof *ev * MAX);
    unsigned n = kt_mon_events(api->mon, &f, ev, MAX);
    for (unsigned i = 0; i < n; i++)
        if (ev[i].id == id)
            return kt_json_event(&ev[i]);
    return NULL;
}

apr_status_t kt__op_explain_event(const kt__api_call_t *call, json_t *params, json_t **result,
                                  kt__api_err_t *err)
{
    json_t *jid = json_object_get(params, "event_id");
    if (!jid)
        jid = json_object_get(params, "id");
    if (!json_is_integer(jid) || json_integer_value(jid) < 1)
        return kt__api_fail(err, KT_EINPUT, "bad_parameter", "event_id is an event's id");
    uint64_t id = (uint64_t)json_integer_value(jid);
    json_t *ev = find_event(call->api, id, call->pool);
    if (!ev)
        return kt__api_fail(err, KT_ENOTFOUND, "no_such_event",
                            "there is no event %llu (get_system_anomalies lists them)",
                            (unsigned long long)id);
    json_t *findings = NULL;
    kt__api_err_t ferr = {0};
    json_t *none = json_object();
    if (kt__op_analyze(call, none, &findings, &ferr) != APR_SUCCESS)
        findings = json_pack("{s:s}", "unavailable", ferr.message);
    json_decref(none);
    json_t *fix;
    if (call->api->remedy) {
        kt_remedy_err_t re = {0};
        if (kt_remedy_suggest(call->api->remedy, id, &fix, &re) != APR_SUCCESS)
            fix = json_pack("{s:s s:s}", "none", re.code ? re.code : "no_template", "why",
                            re.message);
    } else {
        fix = json_pack("{s:s s:s}", "none", "remediation_off", "why",
                        "remediation needs the store (store = true)");
    }
    *result = json_pack("{s:o s:o s:o}", "event", ev, "findings", findings, "suggested_fix", fix);
    return APR_SUCCESS;
}

static apr_status_t op_propose_fix(const kt__api_call_t *call, json_t *params, json_t **result,
                                   kt__api_err_t *err)
{
    json_t *p = NULL;
    apr_status_t st = kt__op_propose(call, params, &p, err);
    if (st != APR_SUCCESS)
        return st;
    /* What the agent reports to the person: the proposal and where to approve it. */
    *result = json_object();
    const char *keep[] = {"id", "state", "script", "sha256", "dry_run"};
    for (unsigned i = 0; i < KT_ARRAY_SIZE(keep); i++) {
        json_t *v = json_object_get(p, keep[i]);
        json_object_set(*result, keep[i], v ? v : json_null());
    }
    json_object_set_new(*result, "next",
                        json_string("a person reviews and approves it (POST "
                                    "/api/agent/remediations/{id}/approve with this sha256, or "
                                    "the dashboard); it has not run"));
    json_object_set_new(*result, "proposal", p);
    return APR_SUCCESS;
}

typedef struct {
    kt__tool_t tool;
    unsigned scope;
} mcp_tool_t;

static const mcp_tool_t own[] = {
    {{"query_history",
      "A metric's history over a time range, from the store's tiers (averages, minimums, maximums "
      "per bucket).",
      "{\"type\":\"object\",\"properties\":{"
      "\"metric\":{\"type\":\"string\",\"description\":\"cpu, memory, swap, load1, disk, "
      "fs_used:/var, net_rx:eth0 ... (GET /api/agent/history/series lists them)\"},"
      "\"from\":{\"type\":\"string\",\"description\":\"-7d, -6h, -30m or milliseconds since the "
      "epoch (default: an hour before to)\"},"
      "\"to\":{\"type\":\"string\",\"description\":\"now (default), -1h or milliseconds\"},"
      "\"points\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000}},"
      "\"required\":[\"metric\"],\"additionalProperties\":false}",
      0, KT__TOOL_READ, kt__op_history},
     KT_SCOPE_READ},
    {{"explain_event",
      "One event with its evidence, what the rules find now, and the fix template kotod would "
      "propose for it.",
      "{\"type\":\"object\",\"properties\":{\"event_id\":{\"type\":\"integer\",\"minimum\":1}},"
      "\"required\":[\"event_id\"],\"additionalProperties\":false}",
      0, KT__TOOL_READ, kt__op_explain_event},
     KT_SCOPE_READ},
    {{"list_checks", "The configured process and service checks, each ok or failing now.",
      "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}", 0, KT__TOOL_READ,
      op_list_checks},
     KT_SCOPE_READ},
    {{"propose_fix",
      "Propose a fix: renders the fix script for an event (event_id) or an issue type, stores "
      "it and runs its dry run; returns the proposal's id, script, sha256 and dry-run output. "
      "It never approves or runs the script: a person does.",
      "{\"type\":\"object\",\"properties\":{\"event_id\":{\"type\":\"integer\",\"minimum\":1},"
      "\"issue_type\":{\"type\":\"string\"},\"process_name\":{\"type\":\"string\"},"
      "\"pid\":{\"type\":\"integer\",\"minimum\":1},\"service_name\":{\"type\":\"string\"},"
      "\"path\":{\"type\":\"string\"},\"os\":{\"type\":\"string\",\"enum\":[\"linux\","
      "\"windows\"]}},\"additionalProperties\":true}",
      0, 0, op_propose_fix},
     KT_SCOPE_PROPOSE},
};

static json_t *own_schemas[KT_ARRAY_SIZE(own)];

/* Tool i of all (the registry's first, then our own), its schema and scope. */
static const kt__tool_t *tool_at(unsigned i, json_t **schema, unsigned *scope)
{
    unsigned n = kt__tools_count();
    if (i < n) {
        const kt__tool_t *t = kt__tools_get(i, schema);
        *scope = t->changes_state ? KT_SCOPE_CONTROL : KT_SCOPE_READ;
        return t;
    }
    i -= n;
    if (i >= KT_ARRAY_SIZE(own))
        return NULL;
    if (!own_schemas[i])
        own_schemas[i] = json_loads(own[i].tool.schema, 0, NULL);
    *schema = own_schemas[i];
    *scope = own[i].scope;
    return &own[i].tool;
}

static json_t *tool_json(const kt__tool_t *t, json_t *schema)
{
    return json_pack("{s:s s:s s:O s:{s:b s:b s:b s:b}}", "name", t->name, "description",
                     t->description, "inputSchema", schema, "annotations", "readOnlyHint",
                     (t->hints & KT__TOOL_READ) != 0, "destructiveHint",
                     (t->hints & KT__TOOL_DESTRUCTIVE) != 0, "idempotentHint",
                     (t->hints & (KT__TOOL_READ | KT__TOOL_IDEMPOTENT)) != 0, "openWorldHint", 0);
}

/* ---- Internal ------------------------------------------------------------------------ */

/* Parses the schemas once, before the server starts (not from two workers at once). */
void kt__mcp_tools_init(void)
{
    json_t *s;
    unsigned scope;
    for (unsigned i = 0; tool_at(i, &s, &scope); i++)
        ;
}

json_t *kt__mcp_tools_list(const kt__mcp_ctx_t *ctx)
{
    json_t *a = json_array();
    json_t *schema;
    unsigned scope;
    const kt__tool_t *t;
    for (unsigned i = 0; (t = tool_at(i, &schema, &scope)) != NULL; i++)
        if (ctx->scopes & scope)
            json_array_append_new(a, tool_json(t, schema));
    return a;
}

json_t *kt__mcp_tools_call(const kt__mcp_ctx_t *ctx, json_t *params, kt__mcp_err_t *e)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    json_t *schema = NULL;
    unsigned scope = 0;
    const kt__tool_t *t = NULL;
    for (unsigned i = 0; name && (t = tool_at(i, &schema, &scope)) != NULL; i++)
        if (strcmp(t->name, name) == 0)
            break;
    if (!t || !(ctx->scopes & scope)) {
        *e = (kt__mcp_err_t){-32602,
                             t ? "Unknown tool: this token's scopes do not offer it"
                               : "Unknown tool",
                             json_pack("{s:s?}", "name", name)};
        return NULL;
    }
    if (args && !json_is_object(args)) {
        *e = (kt__mcp_err_t){-32602, "Invalid params: arguments must be an object", NULL};
        return NULL;
    }
    json_t *a = args ? json_deep_copy(args) : json_object();
    const char *problem = kt__tools_check(schema, a, ctx->pool);
    json_t *result = NULL;
    kt__api_err_t err = {0};
    apr_status_t st = APR_SUCCESS;
    if (!problem) {
        kt__api_call_t call = kt__api_call(ctx->api, ctx->req);
        st = t->op(&call, a, &result, &err);
    }
    json_decref(a);
    if (problem || st != APR_SUCCESS) {
        const char *text = problem ? apr_psprintf(ctx->pool, "bad_parameter: %s", problem)
                                   : apr_psprintf(ctx->pool, "%s: %s",
                                                  err.code ? err.code : "failed",
                                                  err.message[0] ? err.message : "the tool failed");
        return json_pack("{s:[{s:s s:s}] s:b}", "content", "type", "text", "text", text, "isError",
                         1);
    }
    if (!json_is_object(result)) { /* structuredContent is an object */
        result = json_pack("{s:o}", "result", result ? result : json_null());
    }
    char *text = json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(15)); /* as the answer */
    json_t *r = json_pack("{s:[{s:s s:s}] s:o s:b}", "content", "type", "text", "text",
                          text ? text : "{}", "structuredContent", result, "isError", 0);
    free(text);
    return r;
}
