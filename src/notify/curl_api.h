/*
 * curl_api.h - the libcurl functions src/notify/ calls, through one table.
 * On Linux kotod maps libcurl (and the TLS, LDAP and Kerberos libraries
 * it pulls in, megabytes of resident pages) only once a notification is
 * sent: curl_dso.c loads libcurl.so.4 then. Windows links it
 * (curl_linked.c). Every other file calls kt__curl.<name> only after
 * kt__curl_load succeeded.
 */
#ifndef KT_NOTIFY_CURL_API_H
#define KT_NOTIFY_CURL_API_H

#include <apr_errno.h>
#include <curl/curl.h>

typedef struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *e, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *e);
    CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *e);
    const char *(*easy_strerror)(CURLcode res);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_perform)(CURLM *m, int *running);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd fds[], unsigned nfds, int timeout_ms,
                            int *numfds);
    CURLMcode (*multi_wakeup)(CURLM *m);
    CURLMcode (*multi_cleanup)(CURLM *m);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
} kt__curl_api_t;

/* Filled by the first kt__curl_load that succeeds; never changed after. */
extern kt__curl_api_t kt__curl;

/* Makes kt__curl usable (libcurl loaded and curl_global_init done), once
 * for the process; any thread may call it, and again after a failure
 * (the library may be installed since). On failure why says what is
 * missing, and the first failure is logged as an error. */
apr_status_t kt__curl_load(char *why, apr_size_t len);

#endif
