/*
 * curl_dso.c - kt__curl from libcurl.so.4, loaded at the first
 * notification (curl_api.h says why). The soname is the ABI the headers
 * we build with describe; the package depends on libcurl4 for it.
 */
#include "curl_api.h"
#include "kt_base.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define KT_CURL_SONAME "libcurl.so.4"

kt__curl_api_t kt__curl;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded, complained; /* under lock */

static int find(void *h, const char *name, void *fn, char *why, apr_size_t len)
{
    void *sym = dlsym(h, name);
    if (!sym) {
        snprintf(why, len, "%s has no %s", KT_CURL_SONAME, name);
        return 0;
    }
    memcpy(fn, &sym, sizeof sym); /* POSIX: a symbol's address converts to a function pointer */
    return 1;
}

/* Never unloaded: what it loads (OpenSSL) has exit handlers to run. */
static apr_status_t load(char *why, apr_size_t len)
{
    void *h = dlopen(KT_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, len, "cannot load %s (install libcurl4): %s", KT_CURL_SONAME, dlerror());
        return APR_ENOENT;
    }
    kt__curl_api_t a;
#define FIND(f) find(h, "curl_" #f, &a.f, why, len)
    if (!FIND(global_init) || !FIND(easy_init) || !FIND(easy_setopt) || !FIND(easy_perform) ||
        !FIND(easy_getinfo) || !FIND(easy_cleanup) || !FIND(easy_strerror) || !FIND(multi_init) ||
        !FIND(multi_add_handle) || !FIND(multi_remove_handle) || !FIND(multi_perform) ||
        !FIND(multi_info_read) || !FIND(multi_poll) || !FIND(multi_wakeup) ||
        !FIND(multi_cleanup) || !FIND(slist_append) || !FIND(slist_free_all)) {
        dlclose(h);
        return APR_ENOTIMPL;
    }
#undef FIND
    /* Other threads run by now: libcurl's init is thread-safe since 7.84
     * (the package depends on a later one). */
    CURLcode res = a.global_init(CURL_GLOBAL_DEFAULT);
    if (res != CURLE_OK) {
        snprintf(why, len, "%s: curl_global_init: %s", KT_CURL_SONAME, a.easy_strerror(res));
        dlclose(h);
        return APR_EGENERAL;
    }
    kt__curl = a;
    return APR_SUCCESS;
}

apr_status_t kt__curl_load(char *why, apr_size_t len)
{
    pthread_mutex_lock(&lock);
    apr_status_t st = loaded ? APR_SUCCESS : load(why, len);
    if (st == APR_SUCCESS && !loaded) {
        loaded = 1;
        kt_log(KT_LOG_DEBUG, "notify: %s loaded", KT_CURL_SONAME);
    } else if (st != APR_SUCCESS && !complained) {
        complained = 1;
        kt_log(KT_LOG_ERROR, "notify: %s; notifications wait in the outbox and are retried", why);
    }
    pthread_mutex_unlock(&lock);
    return st;
}
