/*
 * save.c - kt_sys_save on Linux (and any POSIX system).
 *
 * The scripts directory is created (mode 0750) when missing, then opened;
 * the file is created relative to that descriptor with O_NOFOLLOW, so a
 * symlink planted under that name cannot lead out, and with O_EXCL unless
 * overwrite is asked for (then an existing regular file is replaced in
 * place, never a link nor a FIFO or device). Bash scripts get mode 0750,
 * others 0640.
 */
#include "kt_sys.h"
#include "kt_base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

apr_status_t kt_sys_save(const char *dir, const char *name, const char *content,
                         apr_size_t len, unsigned flags, char *err, apr_size_t errlen)
{
    const int overwrite = (flags & KT_SYS_OVERWRITE) != 0;
    const int executable = (flags & KT_SYS_EXECUTABLE) != 0;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the scripts directory %s: %s", dir, strerror(errno));
        return APR_FROM_OS_ERROR(errno);
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open the scripts directory %s: %s", dir, strerror(errno));
        return APR_FROM_OS_ERROR(errno);
    }
    /* O_NONBLOCK: a FIFO planted under the name fails (ENXIO) instead of
     * blocking this thread until some reader opens it. */
    int oflags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                (overwrite ? O_TRUNC : O_EXCL);
    int fd = openat(dfd, name, oflags, executable ? 0750 : 0640);
    int e = errno;
    close(dfd);
    if (fd < 0) {
        if (e == EEXIST)
            snprintf(err, errlen, "%s exists already; ask for overwrite to replace it", name);
        else if (e == ELOOP)
            snprintf(err, errlen, "%s is a symbolic link; refusing to follow it", name);
        else
            snprintf(err, errlen, "cannot create %s: %s", name, strerror(e));
        return APR_FROM_OS_ERROR(e);
    }
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", name);
        rv = KT_EPARSE;
    } else if (fchmod(fd, executable ? 0750 : 0640) != 0 ||
               write(fd, content, len) != (ssize_t)len) {
        snprintf(err, errlen, "cannot write %s: %s", name, strerror(errno));
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(fd);
    return rv;
}
