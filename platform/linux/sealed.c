/*
 * sealed.c - kt_sys.h's sealed files on Linux: a memfd written once and
 * sealed, so that what the kernel sends from it (sendfile shares its pages
 * with the socket rather than copying them) can never change under a
 * response still in flight.
 */
#include "kt_sys.h"

#include <apr_portable.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

int kt_sys_sealed_file(const void *data, apr_size_t len)
{
    int fd = memfd_create("koto-page", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1; /* an old kernel or a filter that forbids it: pages are copied */
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (apr_size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void kt_sys_sealed_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

static apr_status_t failed(apr_size_t sent)
{
    if (sent > 0)
        return APR_SUCCESS; /* the error shows again at the next call */
    return errno == EAGAIN || errno == EWOULDBLOCK ? APR_EAGAIN : APR_FROM_OS_ERROR(errno);
}

apr_status_t kt_sys_sealed_send(apr_socket_t *sock, const struct iovec *v, int nv, int fd,
                                apr_off_t off, apr_size_t len, apr_size_t *n)
{
    apr_os_sock_t s;
    apr_status_t rv = apr_os_sock_get(&s, sock);
    *n = 0;
    if (rv != APR_SUCCESS)
        return rv;
    if (nv > 0) {
        apr_size_t want = 0;
        for (int i = 0; i < nv; i++)
            want += v[i].iov_len;
        struct msghdr m = {.msg_iov = (struct iovec *)v, .msg_iovlen = (size_t)nv};
        ssize_t k;
        do
            k = sendmsg(s, &m, MSG_MORE | MSG_NOSIGNAL);
        while (k < 0 && errno == EINTR);
        if (k < 0)
            return failed(0);
        *n = (apr_size_t)k;
        if ((apr_size_t)k < want)
            return APR_SUCCESS;
    }
    off_t at = (off_t)off;
    ssize_t k;
    do
        k = sendfile(s, fd, &at, len);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return failed(*n);
    if (k == 0 && len > 0) /* the file is shorter than the piece: never, it is sealed */
        return *n ? APR_SUCCESS : APR_EOF;
    *n += (apr_size_t)k;
    return APR_SUCCESS;
}
