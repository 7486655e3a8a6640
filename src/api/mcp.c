/*
 * mcp.c - /mcp: the Model Context Protocol over Streamable HTTP, JSON-RPC 2.0,
 * one POST per message, answered with one JSON object (never a stream: no
 * tool here runs long enough to report progress).
 *
 * DESIGN
 * One endpoint serves both eras of the protocol, as the 2026-07-28
 * versioning page allows a dual-era server to:
 *  - legacy (2025-03-26 .. 2025-11-25): `initialize`, then any request; the
 *    MCP-Protocol-Version header, when present, must name a legacy version
 *    (missing means 2025-03-26). No Mcp-Session-Id is minted: every request
 *    stands alone, so there is nothing to resume and GET (the server's own
 *    stream) and DELETE answer 405.
 *  - modern (2026-07-28): no handshake; each request carries the version in
 *    params._meta and in the MCP-Protocol-Version header, with Mcp-Method
 *    (and Mcp-Name for tools/call, resources/read, prompts/get) mirroring
 *    the body. A mismatch or a missing header is 400 HeaderMismatch
 *    (-32020), an unknown version 400 UnsupportedProtocolVersion (-32022),
 *    a missing _meta field 400 -32602, an unknown method 404 -32601.
 * A request is modern when its _meta names a version, its header names a
 * modern one, or it is server/discover; otherwise it is legacy. initialize
 * and ping exist only in the legacy era.
 *
 * Safety: the token is required on every request (scope read at least; the
 * tools a token may see and call follow its scopes, mcp_tools.c); a present
 * Origin that is not this host's own is 403 before anything else; the Host
 * check of the HTTP layer (host.c) refuses rebound names with 421; no CORS
 * header is ever sent, so a browser page elsewhere cannot read an answer.
 * Bodies over KT__MCP_MAX_BODY are 413 with a JSON-RPC error.
 */
#include "api_internal.h"
#include "mcp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_base64.h>
#include <apr_strings.h>

static const char *const legacy_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};
#define MODERN_VERSION "2026-07-28"
#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"

/* ---- Private ------------------------------------------------------------------------- */

static int is_legacy(const char *v)
{
    for (unsigned i = 0; v && i < KT_ARRAY_SIZE(legacy_versions); i++)
        if (strcmp(v, legacy_versions[i]) == 0)
            return 1;
    return 0;
}

static json_t *supported_list(void)
{
    json_t *a = json_array();
    json_array_append_new(a, json_string(MODERN_VERSION));
    for (unsigned i = 0; i < KT_ARRAY_SIZE(legacy_versions); i++)
        json_array_append_new(a, json_string(legacy_versions[i]));
    return a;
}

/* The error response for id (borrowed; NULL: null), with data (owned; may be NULL). */
static json_t *rpc_error(json_t *id, int code, const char *message, json_t *data)
{
    json_t *e = json_pack("{s:i s:s}", "code", code, "message", message);
    if (data)
        json_object_set_new(e, "data", data);
    return json_pack("{s:s s:O s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", e);
}

static void reply(kt_http_req_t *req, int status, json_t *body)
{
    kt_http_set_header(req, "Cache-Control", "no-store");
    kt_http_reply_json(req, status, body);
}

/* A header value as the body names it: plain, or the "=?base64?...?=" sentinel. */
static const char *header_value(kt_http_req_t *req, const char *name)
{
    const char *v = kt_http_header(req, name);
    apr_size_t n = v ? strlen(v) : 0;
    if (n < 11 || strncmp(v, "=?base64?", 9) != 0 || strcmp(v + n - 2, "?=") != 0)
        return v;
    char *enc = apr_pstrndup(kt_http_pool(req), v + 9, n - 11);
    char *dec = apr_palloc(kt_http_pool(req), (apr_size_t)apr_base64_decode_len(enc) + 1);
    int len = apr_base64_decode(dec, enc);
    dec[len > 0 ? len : 0] = '\0';
    return dec;
}

/* Checks a modern request's headers and _meta; NULL when it may go on,
 * else the error to send (with *status set). */
static json_t *modern_checks(kt_http_req_t *req, json_t *id, const char *method, json_t *params,
                             int *status)
{
    *status = 400;
    json_t *meta = json_object_get(params, "_meta");
    const char *hv = kt_http_header(req, "MCP-Protocol-Version");
    const char *mv = json_string_value(json_object_get(meta, META_VERSION));
    if (!json_is_object(meta) || !mv)
        return rpc_error(id, -32602, "Invalid params: _meta must name "
                                     META_VERSION " and " META_CAPS, NULL);
    if (!hv)
        return rpc_error(id, -32020, "Header mismatch: MCP-Protocol-Version header is missing",
                         NULL);
    if (strcmp(hv, mv) != 0)
        return rpc_error(id, -32020, "Header mismatch: MCP-Protocol-Version header does not "
                                     "match _meta's protocol version", NULL);
    if (strcmp(mv, MODERN_VERSION) != 0)
        return rpc_error(id, -32022, "Unsupported protocol version",
                         json_pack("{s:o s:s}", "supported", supported_list(), "requested", mv));
    if (!json_is_object(json_object_get(meta, META_CAPS)))
        return rpc_error(id, -32602, "Invalid params: _meta must name " META_CAPS, NULL);
    const char *hm = kt_http_header(req, "Mcp-Method");
    if (!hm || strcmp(hm, method) != 0)
        return rpc_error(id, -32020, hm ? "Header mismatch: Mcp-Method does not match the method"
                                        : "Header mismatch: Mcp-Method header is missing",
                         NULL);
    const char *field = strcmp(method, "resources/read") == 0 ? "uri"
                        : strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0
                            ? "name"
                            : NULL;
    if (field) {
        const char *want = json_string_value(json_object_get(params, field));
        const char *hn = header_value(req, "Mcp-Name");
        if (!hn || !want || strcmp(hn, want) != 0)
            return rpc_error(id, -32020, hn ? "Header mismatch: Mcp-Name does not match the body"
                                            : "Header mismatch: Mcp-Name header is missing",
                             NULL);
    }
    *status = 200;
    return NULL;
}

static json_t *initialize(json_t *params, kt__mcp_ctx_t *ctx)
{
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    const char *v = is_legacy(asked) ? asked : legacy_versions[0];
    ctx->version = v;
    json_t *r = kt__mcp_server_card(ctx);
    json_object_set_new(r, "protocolVersion", json_string(v));
    return r;
}

/* ---- the handler --------------------------------------------------------------------- */

static void mcp_post(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (kt__api_cross_origin(api, req)) { /* the same check as the REST API's */
        reply(req, 403, rpc_error(NULL, -32600, "Forbidden: the Origin is not this host", NULL));
        return;
    }
    char name[KT__TOKEN_NAME_MAX + 1];
    unsigned scopes = kt__api_scopes(api, req, name);
    if (!scopes) {
        kt_http_set_header(req, "WWW-Authenticate", "Bearer realm=\"koto\"");
        reply(req, 401, rpc_error(NULL, -32001,
                                  kt_http_header(req, "Authorization")
                                      ? "Unauthorized: the bearer token is not valid"
                                      : "Unauthorized: send Authorization: Bearer <token> "
                                        "(kotod --token add NAME makes one)",
                                  NULL));
        return;
    }
    apr_size_t len;
    const char *body = kt_http_body(req, &len);
    if (len > KT__MCP_MAX_BODY) {
        reply(req, 413, rpc_error(NULL, -32600, "Invalid Request: the body is too large", NULL));
        return;
    }
    int status = 200;
    json_t *out = kt__mcp_message(api, req, body, len, scopes, &status);
    if (!out) {
        kt_http_reply(req, status, "text/plain; charset=utf-8", "", 0);
        return;
    }
    reply(req, status, out);
}

json_t *kt__mcp_message(kt_api_t *api, kt_http_req_t *req, const char *body, apr_size_t len,
                        unsigned scopes, int *status)
{
    json_error_t jerr;
    json_t *msg = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    *status = 400;
    if (!msg)
        return rpc_error(NULL, -32700, "Parse error: the body is not JSON", NULL);
    json_t *out = NULL;
    json_t *id = json_object_get(msg, "id");
    json_t *mj = json_object_get(msg, "method");
    json_t *params = json_object_get(msg, "params");
    if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "jsonrpc")) ||
        strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0 ||
        (id && !json_is_string(id) && !json_is_integer(id)) ||
        (params && !json_is_object(params))) {
        out = rpc_error(json_is_string(id) || json_is_integer(id) ? id : NULL, -32600,
                        "Invalid Request: not a JSON-RPC 2.0 request", NULL);
        goto done;
    }
    if (!mj) {
        /* A response from the client: this server sends no requests to answer. */
        int answer = json_object_get(msg, "result") || json_object_get(msg, "error");
        *status = answer && id ? 202 : 400;
        if (*status == 400)
            out = rpc_error(NULL, -32600, "Invalid Request: no method", NULL);
        goto done;
    }
    if (!json_is_string(mj)) {
        out = rpc_error(id, -32600, "Invalid Request: method must be a string", NULL);
        goto done;
    }
    if (!id) { /* a notification: nothing to answer */
        *status = 202;
        goto done;
    }
    const char *method = json_string_value(mj);
    json_t *empty = json_object(); /* no params: as {} */
    if (!params)
        params = empty;

    const char *hv = kt_http_header(req, "MCP-Protocol-Version");
    json_t *meta = json_object_get(params, "_meta");
    int modern = (hv && !is_legacy(hv)) || json_object_get(meta, META_VERSION) ||
                 strcmp(method, "server/discover") == 0;
    kt__mcp_ctx_t ctx = {api, req, kt_http_pool(req), scopes, modern,
                         modern ? MODERN_VERSION : (hv ? hv : "2025-03-26")};
    if (modern && (out = modern_checks(req, id, method, params, status)) != NULL) {
        json_decref(empty);
        goto done;
    }
    *status = 200;
    kt__mcp_err_t e = {0};
    json_t *result;
    if (modern && (strcmp(method, "initialize") == 0 || strcmp(method, "ping") == 0))
        result = NULL; /* removed in 2026-07-28: unknown methods there */
    else if (strcmp(method, "initialize") == 0)
        result = initialize(params, &ctx);
    else
        result = kt__mcp_dispatch(&ctx, method, params, &e);
    json_decref(empty);
    if (!result) {
        if (!e.code)
            e = (kt__mcp_err_t){-32601, "Method not found", NULL};
        /* A modern server answers an unknown method 404 (its JSON-RPC error
         * tells it from a server without /mcp); other errors go with 200
         * except those the spec gives 400. */
        if (modern && e.code == -32601)
            *status = 404;
        out = rpc_error(id, e.code, e.message, e.data);
        goto done;
    }
    if (modern) {
        if (!json_object_get(result, "resultType"))
            json_object_set_new(result, "resultType", json_string("complete"));
        json_t *rm = json_object_get(result, "_meta");
        if (!rm)
            json_object_set_new(result, "_meta", rm = json_object());
        json_object_set_new(rm, "io.modelcontextprotocol/serverInfo", kt__mcp_server_info());
    }
    out = json_pack("{s:s s:O s:o}", "jsonrpc", "2.0", "id", id, "result", result);
done:
    json_decref(msg);
    return out;
}

static void mcp_other(kt_http_req_t *req, void *baton)
{
    (void)baton;
    kt_http_set_header(req, "Allow", "POST");
    reply(req, 405, rpc_error(NULL, -32600, "Method Not Allowed: kotod's MCP endpoint takes POST; "
                                            "it offers no stream of its own and no sessions",
                              NULL));
}

/* ---- Internal ------------------------------------------------------------------------ */

json_t *kt__mcp_versions(void) { return supported_list(); }

void kt__api_mcp_routes(kt_http_t *http, kt_api_t *api)
{
    kt__mcp_tools_init();
    kt_http_route(http, "POST", "/mcp", mcp_post, api);
    kt_http_route(http, "GET", "/mcp", mcp_other, api);
    kt_http_route(http, "DELETE", "/mcp", mcp_other, api);
}
