/*
 * http_server.h - the server the HTTP fuzz targets talk to (fuzz_http in
 * plain bytes, fuzz_tls through TLS records): its routes and small limits,
 * the same in both so an answer over TLS can be checked against the plain
 * one.
 */
#ifndef KT_FUZZ_HTTP_SERVER_H
#define KT_FUZZ_HTTP_SERVER_H

#include "kt_http.h"

/* conf with the targets' limits: small, so they are hit. */
void kt_fuzz_http_conf(kt_http_conf_t *conf);
/* Routes s as the seed corpora expect (GET /hello, POST /echo, ...). */
void kt_fuzz_http_routes(kt_http_t *s);

#endif
