/* api.c - registers every endpoint group on the HTTP server. */
#include "api_internal.h"

apr_status_t kt_api_register(kt_http_t *http, kt_api_t *api, apr_pool_t *pool)
{
    api->http = http;
    apr_status_t st = apr_thread_mutex_create(&api->rules_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (st != APR_SUCCESS)
        return st;
    if (!(api->status_cache = kt__cache_create(pool)) ||
        !(api->metrics_cache = kt__cache_create(pool)))
        return APR_ENOMEM;
    kt__api_monitor_routes(http, api);
    kt__api_metrics_routes(http, api);
    kt__api_optimize_routes(http, api);
    kt__api_scripts_routes(http, api);
    kt__api_tools_routes(http, api);
    kt__api_web_routes(http, api);
    return kt__api_stream_routes(http, api, pool, &api->stream_sub);
}

void kt_api_unregister(kt_api_t *api)
{
    kt_mon_unsubscribe(api->mon, api->stream_sub);
    kt_api_set_rules(api, NULL);
}

void kt_api_set_rules(kt_api_t *api, kt_rules_t *rules)
{
    if (rules)
        kt_rules_retain(rules);
    apr_thread_mutex_lock(api->rules_lock);
    kt_rules_t *old = api->rules;
    api->rules = rules;
    apr_thread_mutex_unlock(api->rules_lock);
    kt_rules_release(old);
    if (rules)
        kt__api_stream_config_changed(api);
}

kt_rules_t *kt__api_rules(kt_api_t *api)
{
    apr_thread_mutex_lock(api->rules_lock);
    kt_rules_t *r = api->rules;
    if (r)
        kt_rules_retain(r);
    apr_thread_mutex_unlock(api->rules_lock);
    return r;
}
