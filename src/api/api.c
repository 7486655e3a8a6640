/* api.c - creates the API's state and registers every endpoint group. */
#include "api_internal.h"
#include "mcp_internal.h"

static apr_status_t files_free(void *data)
{
    kt_api_t *api = data;
    for (int i = 0; i < 2; i++)
        free(api->files[i].text);
    return APR_SUCCESS;
}

apr_status_t kt_api_create(kt_api_t **out, kt_http_t *http, const kt_api_opts_t *opts,
                           apr_pool_t *pool)
{
    kt_api_t *api = apr_pcalloc(pool, sizeof *api);
    *api = (kt_api_t){
        .mon = opts->mon,
        .rules = opts->rules,
        .store = opts->store,
        .notify = opts->notify,
        .remedy = opts->remedy,
        .http = http,
        .token = opts->token,
        .require_token_always = opts->require_token_always,
        .web_dir = opts->web_dir,
        .procfs = opts->procfs ? opts->procfs : "/proc",
        .sysfs = opts->sysfs ? opts->sysfs : "/sys",
        .state_dir = opts->state_dir,
        .started = apr_time_now(),
        .reload = opts->reload,
        .reload_baton = opts->reload_baton,
    };
    if (apr_thread_mutex_create(&api->files_lock, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS ||
        apr_thread_mutex_create(&api->tokens_edit, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS)
        return APR_ENOMEM;
    apr_pool_cleanup_register(pool, api, files_free, apr_pool_cleanup_null);
    apr_status_t tst = kt__tokens_create(&api->tokens, opts->state_dir, pool);
    if (tst != APR_SUCCESS)
        return tst;
    if (!(api->status_cache = kt__cache_create(pool, 1)))
        return APR_ENOMEM;
    for (int om = 0; om < 2; om++)
        for (int gz = 0; gz < 2; gz++) /* a gzip page is never the last part */
            if (!(api->pages[om][gz] = kt__cache_create(pool, !gz)))
                return APR_ENOMEM;
    apr_status_t st = kt__sessions_create(&api->sessions, opts->session_max,
                                          opts->session_lifetime_s, pool);
    if (st != APR_SUCCESS)
        return st;
    kt__api_monitor_routes(http, api);
    kt__api_history_routes(http, api);
    kt__api_metrics_routes(http, api);
    kt__api_optimize_routes(http, api);
    kt__api_scripts_routes(http, api);
    kt__api_config_routes(http, api);
    kt__api_conditions_routes(http, api);
    kt__api_replay_routes(http, api);
    kt__api_tools_routes(http, api);
    kt__api_notify_routes(http, api);
    kt__api_tokens_routes(http, api);
    kt__api_remedy_routes(http, api);
    kt__api_mcp_routes(http, api);
    kt__api_web_routes(http, api);
    kt__api_session_routes(http, api);
    st = kt__api_stream_routes(http, api, pool, &api->stream_sub);
    if (st == APR_SUCCESS)
        *out = api;
    return st;
}

void kt_api_unregister(kt_api_t *api)
{
    kt_mon_unsubscribe(api->mon, api->stream_sub);
}

json_t *kt__api_store_json(const kt_store_info_t *si)
{
    return json_pack("{s:s s:s s:I s:I s:I s:i}", "state", kt_store_state_name(si->state),
                     "message", si->message, "size_bytes", (json_int_t)si->size_bytes, "events",
                     (json_int_t)si->events, "pending", (json_int_t)si->pending, "schema",
                     si->schema);
}

apr_status_t kt__api_rules(kt_api_t *api, kt_rules_t **r, kt__api_err_t *err)
{
    *r = kt_rules_cell_get(api->rules);
    return *r ? APR_SUCCESS
              : kt__api_fail(err, KT_EUNAVAIL, "rules_unavailable",
                             "no rules and templates are loaded; see kotod's log for why");
}

kt_rules_t *kt__api_read_rules(kt_api_t *api, kt_http_req_t *req)
{
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return NULL;
    kt__api_err_t err = {0};
    kt_rules_t *r;
    apr_status_t st = kt__api_rules(api, &r, &err);
    if (st != APR_SUCCESS)
        kt__api_reply_failure(req, st, &err);
    return r;
}
