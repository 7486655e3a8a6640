/*
 * tls_api.h - what the TLS module (tls.c built as koto_tls.so with
 * tls_module.c) gives kt_http: on Linux kotod maps OpenSSL's libssl and
 * libcrypto only when its configuration asks for TLS (tls_load.c loads
 * it). The module reads kt_http_t and kt__conn_t as this build lays them
 * out, so it must come from the same build: abi says which.
 */
#ifndef KT_HTTP_TLS_API_H
#define KT_HTTP_TLS_API_H

#include "http_internal.h"

/* The version and the structures' sizes: a module of another build is refused. */

typedef struct {
    const char *version;             /* KT_VERSION of the build */
    apr_size_t http_size, conn_size; /* sizeof kt_http_t, kt__conn_t */
    apr_status_t (*server_init)(kt_http_t *s);
    apr_status_t (*conn_new)(kt__conn_t *c);
    apr_status_t (*conn_new_bio)(kt__conn_t *c, void *bio);
    int (*handshake)(kt__conn_t *c);
    apr_status_t (*recv)(kt__conn_t *c, char *buf, apr_size_t *n);
    apr_status_t (*send)(kt__conn_t *c, const char *buf, apr_size_t *n);
    int (*pending)(kt__conn_t *c);
    void (*close_notify)(kt__conn_t *c);
    apr_status_t (*check)(const char *cert, const char *key, const char *client_ca,
                          char fingerprint[96], char *info, apr_size_t infolen, char *err,
                          apr_size_t errlen);
    apr_status_t (*self_signed)(const char *cert, const char *key, const char *names, int *made,
                                char *err, apr_size_t errlen, apr_pool_t *pool);
    apr_status_t (*reload)(kt_http_t *s, const char *cert, const char *key, const char *client_ca,
                           char *err, apr_size_t errlen);
} kt__tls_api_t;

/* The module's one exported symbol. */
#define KT__TLS_API_SYMBOL "kt__tls_api"

#endif
