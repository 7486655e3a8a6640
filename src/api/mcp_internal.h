/* mcp_internal.h - private to src/api/: the Model Context Protocol endpoint
 * (mcp.c: transport and JSON-RPC), its methods (mcp_methods.c) and the tools
 * only MCP offers (mcp_tools.c). */
#ifndef KT_MCP_INTERNAL_H
#define KT_MCP_INTERNAL_H

#include "api_internal.h"

#define KT__MCP_MAX_BODY (256 * 1024) /* a request larger than this is 413 */

/* One request's context. */
typedef struct {
    kt_api_t *api;
    kt_http_req_t *req;
    apr_pool_t *pool;    /* the request's */
    unsigned scopes;     /* the token's (KT_SCOPE_*) */
    int modern;          /* 2026-07-28: results carry resultType, ttlMs, cacheScope */
    const char *version; /* the protocol version the request is served under */
} kt__mcp_ctx_t;

/* A JSON-RPC error a method answers with. */
typedef struct {
    int code;            /* 0: none (an unknown method) */
    const char *message; /* static or in the request's pool */
    json_t *data;        /* owned; may be NULL */
} kt__mcp_err_t;

/* Handles one JSON-RPC message (body, len) from a token with scopes: the
 * answer to send (caller owns it) with *status, or NULL with *status 202
 * (a notification or a response) or 400. Never fails otherwise: every bad
 * input becomes a JSON-RPC error. */
json_t *kt__mcp_message(kt_api_t *api, kt_http_req_t *req, const char *body, apr_size_t len,
                        unsigned scopes, int *status);
/* Runs method; the result (caller owns it), or NULL with e set (code 0:
 * the method is unknown). */
json_t *kt__mcp_dispatch(kt__mcp_ctx_t *ctx, const char *method, json_t *params,
                         kt__mcp_err_t *e);
/* {capabilities, serverInfo, instructions} for initialize and discover. */
json_t *kt__mcp_server_card(const kt__mcp_ctx_t *ctx);
json_t *kt__mcp_server_info(void);
json_t *kt__mcp_versions(void);

/* mcp_tools.c: the tools a token with scopes may see (MCP Tool objects)
 * and a call of one, as a CallToolResult (a failing tool is a result with
 * isError); NULL with e set for a tool it may not see or that is unknown. */
json_t *kt__mcp_tools_list(const kt__mcp_ctx_t *ctx);
json_t *kt__mcp_tools_call(const kt__mcp_ctx_t *ctx, json_t *params, kt__mcp_err_t *e);
/* The event with its evidence, the rules' findings on the latest reading
 * and the fix the remediation would propose for it (explain_event). */
apr_status_t kt__op_explain_event(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);

/* Parses the tools' schemas; call once before the server starts. */
void kt__mcp_tools_init(void);

void kt__api_mcp_routes(kt_http_t *http, kt_api_t *api);

#endif
