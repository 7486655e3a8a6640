/*
 * tls_load.c - TLS on Linux: tls.c is a module (koto_tls.so, tls_api.h)
 * that kotod loads when its configuration asks for TLS, so a kotod
 * serving plain HTTP on loopback never maps libssl and libcrypto. The
 * kt__tls_* and kt_http_tls_* functions here hand on to the module once
 * kt_http_tls_load has loaded it; before, TLS is unavailable.
 */
#include "tls_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const kt__tls_api_t *tls; /* set once, under lock, never cleared */

static const kt__tls_api_t *api(void)
{
    pthread_mutex_lock(&lock);
    const kt__tls_api_t *t = tls;
    pthread_mutex_unlock(&lock);
    return t;
}

/* Never unloaded: what it loads (OpenSSL) has exit handlers to run. */
static apr_status_t load(const char *module, char *err, apr_size_t errlen)
{
    if (!module) {
        snprintf(err, errlen, "kotod's TLS module was not found");
        return APR_ENOENT;
    }
    void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load the TLS module %s: %s", module, dlerror());
        return APR_ENOENT;
    }
    const kt__tls_api_t *t = dlsym(h, KT__TLS_API_SYMBOL);
    apr_status_t st = APR_EINVAL;
    if (!t)
        snprintf(err, errlen, "%s is not kotod's TLS module: %s", module, dlerror());
    else if (strcmp(t->version, KT_VERSION) != 0 || t->http_size != sizeof(kt_http_t) ||
             t->conn_size != sizeof(kt__conn_t))
        snprintf(err, errlen, "the TLS module %s is of another build of kotod (%s)", module,
                 t->version);
    else
        st = APR_SUCCESS;
    if (st != APR_SUCCESS) {
        dlclose(h);
        return st;
    }
    tls = t;
    kt_log(KT_LOG_DEBUG, "http: TLS module %s loaded", module);
    return APR_SUCCESS;
}

apr_status_t kt_http_tls_load(const char *module, char *err, apr_size_t errlen)
{
    pthread_mutex_lock(&lock);
    apr_status_t st = tls ? APR_SUCCESS : load(module, err, errlen);
    pthread_mutex_unlock(&lock);
    return st;
}


int kt_http_is_tls(kt_http_t *s) { return s->tls; }

#define NOT_LOADED "kotod's TLS module is not loaded"

apr_status_t kt__tls_server_init(kt_http_t *s)
{
    const kt__tls_api_t *t = api();
    if (!t) {
        kt_log(KT_LOG_ERROR, "http: " NOT_LOADED);
        return APR_ENOTIMPL;
    }
    return t->server_init(s);
}

/* Past kt__tls_server_init, so the module is there: no lock on the loop's path. */
apr_status_t kt__tls_conn_new(kt__conn_t *c) { return tls->conn_new(c); }

apr_status_t kt__tls_conn_new_bio(kt__conn_t *c, void *bio) { return tls->conn_new_bio(c, bio); }

int kt__tls_handshake(kt__conn_t *c) { return tls->handshake(c); }

apr_status_t kt__tls_recv(kt__conn_t *c, char *buf, apr_size_t *n) { return tls->recv(c, buf, n); }

apr_status_t kt__tls_send(kt__conn_t *c, const char *buf, apr_size_t *n)
{
    return tls->send(c, buf, n);
}

int kt__tls_pending(kt__conn_t *c) { return c->tls ? tls->pending(c) : 0; }

void kt__tls_close_notify(kt__conn_t *c)
{
    if (c->tls)
        tls->close_notify(c);
}

apr_status_t kt_http_tls_check(const char *cert, const char *key, const char *client_ca,
                               char fingerprint[96], char *info, apr_size_t infolen, char *err,
                               apr_size_t errlen)
{
    const kt__tls_api_t *t = api();
    if (t)
        return t->check(cert, key, client_ca, fingerprint, info, infolen, err, errlen);
    if (fingerprint)
        fingerprint[0] = '\0';
    snprintf(err, errlen, NOT_LOADED);
    return APR_ENOTIMPL;
}

apr_status_t kt_http_tls_self_signed(const char *cert, const char *key, const char *names,
                                     int *made, char *err, apr_size_t errlen, apr_pool_t *pool)
{
    const kt__tls_api_t *t = api();
    if (t)
        return t->self_signed(cert, key, names, made, err, errlen, pool);
    *made = 0;
    snprintf(err, errlen, NOT_LOADED);
    return APR_ENOTIMPL;
}

apr_status_t kt_http_tls_reload(kt_http_t *s, const char *cert, const char *key,
                                const char *client_ca, char *err, apr_size_t errlen)
{
    const kt__tls_api_t *t = api();
    if (t)
        return t->reload(s, cert, key, client_ca, err, errlen);
    snprintf(err, errlen, NOT_LOADED);
    return APR_ENOTIMPL;
}
