/*
 * io.c - a connection's socket, plain or through its TLS session: the
 * loop and the streams read and write through here and need not know
 * which.
 *
 * TLS has no writev: the pieces of an answer (head, body parts) are joined
 * into one buffer of up to a record's size, so a small answer still leaves
 * as one record and one segment. A retry after EAGAIN joins the same bytes
 * again, as OpenSSL wants (the output only moves on success).
 *
 * A plain connection sends a last piece that has a sealed file from the
 * file (kt_sys_sealed_send): for a page of 50 KB the copy into the socket
 * was a third of what an answer cost, and sharing the file's pages instead
 * costs less once the head goes with them rather than as a segment of its
 * own (measured in bench/node).
 */
#include "http_internal.h"
#include "kt_sys.h"

#include <string.h>

#define TLS_CHUNK (16 * 1024) /* a TLS record's payload at most */

apr_status_t kt__http_io_recv(kt__conn_t *c, char *buf, apr_size_t *n)
{
    if (!c->tls)
        return apr_socket_recv(c->sock, buf, n);
    return kt__tls_recv(c, buf, n);
}

apr_status_t kt__http_io_send(kt__conn_t *c, const char *buf, apr_size_t *n)
{
    if (!c->tls)
        return apr_socket_send(c->sock, buf, n);
    return kt__tls_send(c, buf, n);
}

apr_status_t kt__http_io_sendv(kt__conn_t *c, const struct iovec *v, int nv, apr_size_t *n)
{
    if (!c->tls)
        return apr_socket_sendv(c->sock, v, nv, n);
    if (nv == 1 || v[0].iov_len >= TLS_CHUNK) {
        *n = v[0].iov_len;
        return kt__tls_send(c, v[0].iov_base, n);
    }
    if (!c->tls_buf)
        c->tls_buf = apr_palloc(c->pool, TLS_CHUNK);
    apr_size_t len = 0;
    for (int i = 0; i < nv && len < TLS_CHUNK; i++) {
        apr_size_t take = v[i].iov_len < TLS_CHUNK - len ? v[i].iov_len : TLS_CHUNK - len;
        memcpy(c->tls_buf + len, v[i].iov_base, take);
        len += take;
    }
    *n = len;
    return kt__tls_send(c, c->tls_buf, n);
}

apr_status_t kt__http_io_send_out(kt__conn_t *c, apr_size_t *n)
{
    const struct iovec *v = c->out + c->out_idx;
    int nv = c->nout - c->out_idx;
    if (!c->out_file)
        return kt__http_io_sendv(c, v, nv, n);
    const struct iovec *file = &c->out[c->nout - 1];
    return kt_sys_sealed_send(c->sock, v, nv - 1, c->out_file,
                              (apr_off_t)(c->out_file_len - file->iov_len), file->iov_len, n);
}
