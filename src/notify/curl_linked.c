/*
 * curl_linked.c - kt__curl from the libcurl kotod links (Windows, whose
 * build links its dependencies statically: nothing to load).
 */
#include "curl_api.h"

#include <stdio.h>

kt__curl_api_t kt__curl = {
    curl_global_init,    curl_easy_init,        curl_easy_setopt,    curl_easy_perform,
    curl_easy_getinfo,   curl_easy_cleanup,     curl_easy_strerror,  curl_multi_init,
    curl_multi_add_handle, curl_multi_remove_handle, curl_multi_perform, curl_multi_info_read,
    curl_multi_poll,     curl_multi_wakeup,     curl_multi_cleanup,  curl_slist_append,
    curl_slist_free_all,
};

apr_status_t kt__curl_load(char *why, apr_size_t len)
{
    /* curl_global_init counts its calls: the first one does the work. */
    CURLcode res = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (res != CURLE_OK) {
        snprintf(why, len, "curl_global_init: %s", curl_easy_strerror(res));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
