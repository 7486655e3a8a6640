/*
 * procfs.c - bounded whole-file reads below a root directory, and the number
 * scanning every parser shares.
 */
#include "linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int kt__parse_u64(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    *pp = p;
    return 0;
}

const char *kt__next_line(const char *p)
{
    while (*p && *p != '\n')
        p++;
    return *p ? p + 1 : p;
}

apr_status_t kt__slurp(kt_plat_t *p, int dirfd, const char *rel, char **text, size_t *lenp)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return APR_FROM_OS_ERROR(errno);
    size_t len = 0;
    apr_status_t st = APR_SUCCESS;
    for (;;) {
        if (len + 1 >= p->cap) {
            if (p->cap >= KT__SLURP_MAX) {
                st = KT_ETOOBIG;
                break;
            }
            size_t ncap = p->cap ? p->cap * 2 : 16384;
            char *nbuf = realloc(p->buf, ncap);
            if (!nbuf) {
                st = APR_ENOMEM;
                break;
            }
            p->buf = nbuf;
            p->cap = ncap;
        }
        ssize_t n = read(fd, p->buf + len, p->cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            st = APR_FROM_OS_ERROR(errno); /* ESRCH: the process exited meanwhile */
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (st != APR_SUCCESS)
        return st;
    p->buf[len] = '\0';
    *text = p->buf;
    if (lenp)
        *lenp = len;
    return APR_SUCCESS;
}

apr_status_t kt__source_status(kt_plat_t *p, int src, const char *what, apr_status_t st)
{
    unsigned bit = 1u << src;
    if (st != APR_SUCCESS && !(p->failing & bit)) {
        char err[128];
        kt_log(KT_LOG_WARN, "cannot read %s/%s: %s; its values are unknown until it recovers",
               p->procfs, what, kt_strerror(st, err, sizeof err));
        p->failing |= bit;
    } else if (st == APR_SUCCESS && (p->failing & bit)) {
        kt_log(KT_LOG_INFO, "%s/%s readable again", p->procfs, what);
        p->failing &= ~bit;
    }
    return st;
}
