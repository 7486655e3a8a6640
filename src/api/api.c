/* api.c - registers every endpoint group on the HTTP server. */
#include "api_internal.h"

apr_status_t kt_api_register(kt_http_t *http, kt_api_t *api, apr_pool_t *pool)
{
    api->http = http;
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
}
