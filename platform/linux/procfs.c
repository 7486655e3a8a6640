/*
 * procfs.c - bounded whole-file reads (of a descriptor from offset 0, or of a
 * path below a root directory), and the number scanning every parser shares.
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

apr_status_t kt__pread_all(kt_plat_t *p, int fd, int one_record, char **text, size_t *lenp)
{
    size_t len = 0;
    for (;;) {
        if (len + 1 >= p->cap) {
            if (p->cap >= KT__SLURP_MAX)
                return KT_ETOOBIG;
            size_t ncap = p->cap ? p->cap * 2 : 16384;
            char *nbuf = realloc(p->buf, ncap);
            if (!nbuf)
                return APR_ENOMEM;
            p->buf = nbuf;
            p->cap = ncap;
        }
        size_t want = p->cap - len - 1;
        ssize_t n = pread(fd, p->buf + len, want, (off_t)len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return APR_FROM_OS_ERROR(errno); /* ESRCH: the process has exited */
        }
        len += (size_t)n;
        /* A single-record file gives all it has to one read that asked for
         * more (a multi-record seq_file may stop at a page: read on). */
        if (n == 0 || (one_record && (size_t)n < want))
            break;
    }
    p->buf[len] = '\0';
    *text = p->buf;
    if (lenp)
        *lenp = len;
    return APR_SUCCESS;
}

apr_status_t kt__slurp(kt_plat_t *p, int dirfd, const char *rel, char **text, size_t *lenp)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return APR_FROM_OS_ERROR(errno);
    apr_status_t st = kt__pread_all(p, fd, 0, text, lenp);
    close(fd);
    return st;
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
