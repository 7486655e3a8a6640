/*
 * save.c - save_script_to_file: a generated script written into the
 * scripts directory and nowhere else.
 *
 * The name must be a plain file name: no '/', '\', "..", NUL, control
 * characters, leading dot or dash, nor a Windows device name (CON, NUL,
 * COM1...); at most 128 bytes. The file is created relative to a
 * descriptor of the directory with O_NOFOLLOW, so a symlink planted under
 * that name cannot lead out, and with O_EXCL unless overwrite is asked for
 * (then an existing regular file is replaced in place, never a link nor a
 * FIFO or device).
 * Bash scripts get mode 0750, others 0640.
 */
#include "rules_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAME 128

static int device_name(const char *name)
{
    static const char *const devices[] = {"CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3",
                                          "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
                                          "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
                                          "LPT7", "LPT8", "LPT9"};
    size_t stem = strcspn(name, ".");
    for (size_t i = 0; i < KT_ARRAY_SIZE(devices); i++)
        if (strlen(devices[i]) == stem && strncasecmp(name, devices[i], stem) == 0)
            return 1;
    return 0;
}

const char *kt_rules_check_script_name(const char *name, apr_size_t len)
{
    if (len == 0 || len > MAX_NAME)
        return "the file name must be 1 to 128 bytes";
    if (memchr(name, '\0', len) || strlen(name) != len)
        return "the file name holds a NUL byte";
    if (name[0] == '.' || name[0] == '-')
        return "the file name must not start with '.' or '-'";
    if (strstr(name, ".."))
        return "the file name must not contain '..'";
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\' || *p == ':' || iscntrl((unsigned char)*p))
            return "the file name must be a plain name: no '/', '\\', ':' or control characters";
    if (device_name(name))
        return "the file name is a Windows device name";
    return NULL;
}

apr_status_t kt_rules_save_script(const char *dir, const char *name, const char *content,
                                  apr_size_t len, int overwrite, int executable, char *err,
                                  apr_size_t errlen)
{
    const char *why = kt_rules_check_script_name(name, strlen(name));
    if (why) {
        snprintf(err, errlen, "%s", why);
        return KT_EPARSE;
    }
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
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                (overwrite ? O_TRUNC : O_EXCL);
    int fd = openat(dfd, name, flags, executable ? 0750 : 0640);
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
