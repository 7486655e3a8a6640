/*
 * tls_none.c - the TLS backend of a build without OpenSSL (a MinGW build
 * configured without KT_WIN_OPENSSL_PREFIX): plain HTTP only. A server configured for TLS
 * does not start, and the checks say why, rather than serving in clear
 * text what was meant to be encrypted.
 */
#include "http_internal.h"

#include <stdio.h>

#define NO_TLS "this build of kotod has no TLS support (built without OpenSSL)"

apr_status_t kt__tls_server_init(kt_http_t *s)
{
    (void)s;
    kt_log(KT_LOG_ERROR, "http: " NO_TLS);
    return APR_ENOTIMPL;
}

apr_status_t kt__tls_conn_new(kt__conn_t *c)
{
    (void)c;
    return APR_ENOTIMPL;
}

apr_status_t kt__tls_conn_new_bio(kt__conn_t *c, void *bio)
{
    (void)c;
    (void)bio;
    return APR_ENOTIMPL;
}

int kt__tls_handshake(kt__conn_t *c)
{
    (void)c;
    return -1;
}

apr_status_t kt__tls_recv(kt__conn_t *c, char *buf, apr_size_t *n)
{
    (void)c;
    (void)buf;
    *n = 0;
    return APR_ENOTIMPL;
}

apr_status_t kt__tls_send(kt__conn_t *c, const char *buf, apr_size_t *n)
{
    (void)c;
    (void)buf;
    *n = 0;
    return APR_ENOTIMPL;
}

int kt__tls_pending(kt__conn_t *c)
{
    (void)c;
    return 0;
}

void kt__tls_close_notify(kt__conn_t *c) { (void)c; }

apr_status_t kt_http_tls_load(const char *module, char *err, apr_size_t errlen)
{
    (void)module;
    snprintf(err, errlen, NO_TLS);
    return APR_ENOTIMPL;
}


int kt_http_is_tls(kt_http_t *s) { return s->tls; }

apr_status_t kt_http_tls_check(const char *cert, const char *key, const char *client_ca,
                               char fingerprint[96], char *info, apr_size_t infolen, char *err,
                               apr_size_t errlen)
{
    (void)cert;
    (void)key;
    (void)client_ca;
    (void)info;
    (void)infolen;
    if (fingerprint)
        fingerprint[0] = '\0';
    snprintf(err, errlen, NO_TLS);
    return APR_ENOTIMPL;
}

apr_status_t kt_http_tls_self_signed(const char *cert, const char *key, const char *names,
                                     int *made, char *err, apr_size_t errlen, apr_pool_t *pool)
{
    (void)cert;
    (void)key;
    (void)names;
    (void)pool;
    *made = 0;
    snprintf(err, errlen, NO_TLS);
    return APR_ENOTIMPL;
}

apr_status_t kt_http_tls_reload(kt_http_t *s, const char *cert, const char *key,
                                const char *client_ca, char *err, apr_size_t errlen)
{
    (void)s;
    (void)cert;
    (void)key;
    (void)client_ca;
    snprintf(err, errlen, NO_TLS);
    return APR_ENOTIMPL;
}
