/* api_internal.h - private to src/api/: one registration function per
 * endpoint group, and the checks every handler shares. */
#ifndef KT_API_INTERNAL_H
#define KT_API_INTERNAL_H

#include "kt_api.h"
#include "kt_base.h"

/* Returns 1 when the request may proceed; otherwise it has already answered
 * 401 (no or wrong token) or 403 (another origin) and returns 0. */
int kt__api_allow(kt_api_t *api, kt_http_req_t *req, int changes_state);

/* Parses an optional unsigned query parameter; on a bad value answers 400
 * and returns -1. */
int kt__api_query_u64(kt_http_req_t *req, const char *name, uint64_t def, uint64_t max,
                      uint64_t *out);

/* The analysis steps (analysis.c) shared by /optimize and the tools. */
json_t *kt__api_raw_steps(const kt_sample_t *s, const kt_mon_health_t *h);
/* The latest reading without the full process table, or null (monitor.c). */
json_t *kt__api_snapshot_json(kt_api_t *api);
/* The answer of every endpoint that needs the Lua engine until it lands. */
void kt__api_reply_needs_rules(kt_http_req_t *req);

apr_status_t kt__api_stream_routes(kt_http_t *http, kt_api_t *api, apr_pool_t *pool,
                                   unsigned *sub_id);
void kt__api_monitor_routes(kt_http_t *http, kt_api_t *api);
void kt__api_metrics_routes(kt_http_t *http, kt_api_t *api);
void kt__api_optimize_routes(kt_http_t *http, kt_api_t *api);
void kt__api_scripts_routes(kt_http_t *http, kt_api_t *api);
void kt__api_tools_routes(kt_http_t *http, kt_api_t *api);
void kt__api_web_routes(kt_http_t *http, kt_api_t *api);

#endif
