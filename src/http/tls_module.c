/*
 * tls_module.c - the TLS module's table (tls_api.h): tls.c's functions,
 * for the kotod that loads koto_tls.so. Everything else in the module is
 * hidden (-fvisibility=hidden), so tls.c's calls stay inside it.
 */
#include "tls_api.h"

__attribute__((visibility("default"))) const kt__tls_api_t kt__tls_api = {
    .version = KT_VERSION,
    .http_size = sizeof(kt_http_t),
    .conn_size = sizeof(kt__conn_t),
    .server_init = kt__tls_server_init,
    .conn_new = kt__tls_conn_new,
    .conn_new_bio = kt__tls_conn_new_bio,
    .handshake = kt__tls_handshake,
    .recv = kt__tls_recv,
    .send = kt__tls_send,
    .pending = kt__tls_pending,
    .close_notify = kt__tls_close_notify,
    .check = kt_http_tls_check,
    .self_signed = kt_http_tls_self_signed,
    .reload = kt_http_tls_reload,
};
