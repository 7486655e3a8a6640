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

/* A response body kept until its key changes (cache.c); thread-safe. The
 * text returned by get and put is shared, not copied: it stays valid until
 * pool (the request's) is cleared, so it can go out with
 * kt_http_reply_parts. */
#define KT__CACHE_KEY 4
kt__cache_t *kt__cache_create(apr_pool_t *pool);
/* The kept text when key matches, else NULL. */
const char *kt__cache_get(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], apr_pool_t *pool,
                          apr_size_t *len);
/* Keeps a copy of text under key (replacing what was kept) and returns it;
 * NULL when out of memory. */
const char *kt__cache_put(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], const char *text,
                          apr_size_t len, apr_pool_t *pool);

#define KT__HISTORY_FOR_RULES 720 /* the readings rules see: 6 hours at 30 s */

/* The rule set in use, retained (kt_rules_release when done), or NULL. */
kt_rules_t *kt__api_rules(kt_api_t *api);
/* The findings of rule set r on snap and the recent history (analysis.c). */
json_t *kt__api_judge(kt_api_t *api, kt_rules_t *r, kt_snap_t *snap, apr_pool_t *pool);
/* The findings of the rules on the latest reading (analysis.c); NULL with
 * an error already answered when there is no reading or no rule set. */
json_t *kt__api_findings(kt_api_t *api, kt_http_req_t *req, const char *category);

/* The analysis steps (analysis.c) shared by /optimize and the tools. */
json_t *kt__api_raw_steps(const kt_sample_t *s, const kt_mon_health_t *h);
/* The latest reading without the full process table, or null (monitor.c). */
json_t *kt__api_snapshot_json(kt_api_t *api);
/* Script generation shared by the endpoints and the tools (scripts.c):
 * fill *result, or answer the error and return -1. */
int kt__api_generate(kt_api_t *api, kt_http_req_t *req, json_t *params, json_t **result);
/* The OS whose dialect a script gets when the request names none: the
 * configured script_os, where "auto" (or no rules) means the OS kotod was
 * built for (scripts.c). */
const char *kt__api_script_os(kt_api_t *api);
int kt__api_save(kt_api_t *api, kt_http_req_t *req, json_t *params, json_t **result);
int kt__api_list_templates(kt_api_t *api, kt_http_req_t *req, json_t **result);

/* One server-sent event, "id: N\nevent: E\ndata: JSON\n\n" (no id line
 * when id is 0); takes ownership of data; malloc'd, NULL on failure. */
char *kt__api_sse_message(const char *event, uint64_t id, json_t *data);

apr_status_t kt__api_stream_routes(kt_http_t *http, kt_api_t *api, apr_pool_t *pool,
                                   unsigned *sub_id);
/* Sends "event: config" to every live stream client: the settings
 * GET /api/agent/config answers with have changed (stream.c). */
void kt__api_stream_config_changed(kt_api_t *api);
void kt__api_monitor_routes(kt_http_t *http, kt_api_t *api);
void kt__api_metrics_routes(kt_http_t *http, kt_api_t *api);
void kt__api_optimize_routes(kt_http_t *http, kt_api_t *api);
void kt__api_scripts_routes(kt_http_t *http, kt_api_t *api);
void kt__api_tools_routes(kt_http_t *http, kt_api_t *api);
void kt__api_web_routes(kt_http_t *http, kt_api_t *api);

#endif
