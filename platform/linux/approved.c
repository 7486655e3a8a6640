/*
 * approved.c - remediation as root on Linux (kt_sys.h): the client kotod
 * uses to reach koto-run-approved over a Unix socket, and the runner's
 * checks of who is asking and of the file it is asked to run.
 *
 * The protocol is one request line and one answer:
 *   kotod:  "run|dry-run NAME SHA256 TIMEOUT_S\n"
 *   runner: "ok EXIT SIGNAL TIMED_OUT TRUNCATED DURATION_US LENGTH\n" then
 *           LENGTH bytes of output, or "refused REASON\n".
 * The file is looked at through a descriptor of the directory, never
 * through a path that could change between the check and the read; the
 * runner runs its own root-only copy of the bytes it hashed.
 */
#include "kt_sys.h"
#include "kt_base.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>

#define ANSWER_HEAD 256

static apr_interval_time_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_interval_time_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void refused(kt_sys_run_result_t *res, const char *why, apr_pool_t *pool)
{
    res->exit_code = -1;
    res->output = apr_pstrcat(pool, "koto-run-approved refused: ", why, NULL);
    res->output_len = strlen(res->output);
}

apr_status_t kt_sys_run_approved(const char *socket_path, const char *name, const char *sha256,
                                 int dry_run, const kt_sys_run_opts_t *opts,
                                 kt_sys_run_result_t *res, apr_pool_t *pool)
{
    apr_interval_time_t timeout = opts && opts->timeout > 0 ? opts->timeout : KT_SYS_RUN_TIMEOUT;
    apr_size_t limit = opts && opts->output_limit > 0 ? opts->output_limit : KT_SYS_RUN_OUTPUT;
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    res->output = "";
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof addr.sun_path)
        return APR_ENAMETOOLONG;
    memcpy(addr.sun_path, socket_path, strlen(socket_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return APR_FROM_OS_ERROR(errno);
    apr_interval_time_t start = now_us();
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        close(fd);
        return APR_FROM_OS_ERROR(e);
    }
    long secs = (long)((timeout + 999999) / 1000000);
    char *req = apr_psprintf(pool, "%s %s %s %ld\n", dry_run ? "dry-run" : "run", name, sha256, secs);
    size_t reqlen = strlen(req);
    if (send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen) {
        int e = errno;
        close(fd);
        return APR_FROM_OS_ERROR(e);
    }
    /* The runner kills the script at the same timeout; a little more here
     * for it to answer. Cancelled, the connection is closed. */
    apr_interval_time_t deadline = start + timeout + apr_time_from_sec(5);
    apr_size_t cap = ANSWER_HEAD + limit, got = 0;
    char *buf = apr_palloc(pool, cap + 1);
    int closed = 0;
    while (!closed && got < cap) {
        if (opts && opts->cancel && atomic_load(opts->cancel)) {
            res->cancelled = 1;
            break;
        }
        apr_interval_time_t left = deadline - now_us();
        if (left <= 0) {
            res->timed_out = 1;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left > 100000 ? 100 : (int)(left / 1000) + 1) <= 0)
            continue;
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n > 0)
            got += (apr_size_t)n;
        else if (n == 0 || errno != EINTR)
            closed = 1;
    }
    close(fd);
    res->duration = now_us() - start;
    buf[got] = '\0';
    if (res->cancelled || res->timed_out)
        return APR_SUCCESS;
    char *nl = memchr(buf, '\n', got);
    if (!nl) {
        refused(res, "no answer", pool);
        return APR_SUCCESS;
    }
    *nl = '\0';
    if (strncmp(buf, "refused ", 8) == 0) {
        refused(res, buf + 8, pool);
        return APR_SUCCESS;
    }
    int code, sig, timed_out, truncated;
    long long dur;
    unsigned long len;
    if (sscanf(buf, "ok %d %d %d %d %lld %lu", &code, &sig, &timed_out, &truncated, &dur, &len) != 6) {
        refused(res, "an answer that is not the protocol's", pool);
        return APR_SUCCESS;
    }
    apr_size_t have = got - (apr_size_t)(nl + 1 - buf);
    if (len > have)
        len = have;
    res->exit_code = code;
    res->signal = sig;
    res->timed_out = timed_out;
    res->truncated = truncated || have > limit;
    res->output = nl + 1;
    res->output_len = len > limit ? limit : len;
    res->output[res->output_len] = '\0';
    return APR_SUCCESS;
}

static int uid_of(const char *user, uid_t *uid)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (getpwnam_r(user, &pw, buf, sizeof buf, &found) != 0 || !found)
        return -1;
    *uid = found->pw_uid;
    return 0;
}

int kt_sys_stdin_peer_is(const char *user, const char **why, apr_pool_t *pool)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(0, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return -1;
    uid_t uid;
    if (uid_of(user, &uid) != 0) {
        *why = apr_psprintf(pool, "no user %s", user);
        return 0;
    }
    if (cred.uid == uid || cred.uid == 0)
        return 1;
    *why = apr_psprintf(pool, "asked by uid %ld, not %s", (long)cred.uid, user);
    return 0;
}

/* Owned by uid, a directory or a regular file as wanted, nobody else may write. */
static const char *owned(const struct stat *st, uid_t uid, int dir, const char *what, apr_pool_t *pool)
{
    if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
        return apr_psprintf(pool, "%s is not a %s", what, dir ? "directory" : "regular file");
    if (st->st_uid != uid)
        return apr_psprintf(pool, "%s belongs to uid %ld", what, (long)st->st_uid);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return apr_psprintf(pool, "%s is writable by others (mode %04o)", what,
                            (unsigned)(st->st_mode & 07777));
    if (!dir && st->st_nlink != 1)
        return apr_psprintf(pool, "%s has %lu links", what, (unsigned long)st->st_nlink);
    return NULL;
}

apr_status_t kt_sys_read_owned(const char *dir, const char *name, const char *user, apr_size_t max,
                               char **data, apr_size_t *len, const char **why, apr_pool_t *pool)
{
    uid_t uid;
    *why = NULL;
    if (uid_of(user, &uid) != 0) {
        *why = apr_psprintf(pool, "no user %s", user);
        return KT_EINPUT;
    }
    if (strchr(name, '/') || !*name || name[0] == '.') {
        *why = "the name is not a plain file name";
        return KT_EINPUT;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        *why = apr_psprintf(pool, "%s: %s", dir, strerror(errno));
        return KT_EINPUT;
    }
    struct stat st;
    int fd = -1;
    apr_status_t rv = KT_EINPUT;
    if (fstat(dfd, &st) != 0 || (*why = owned(&st, uid, 1, dir, pool)))
        goto out;
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        *why = apr_psprintf(pool, "%s/%s: %s", dir, name,
                            errno == ELOOP ? "a symbolic link" : strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || (*why = owned(&st, uid, 0, name, pool)))
        goto out;
    if ((apr_size_t)st.st_size > max) {
        *why = apr_psprintf(pool, "%s is larger than %lu bytes", name, (unsigned long)max);
        goto out;
    }
    char *buf = apr_palloc(pool, max + 1);
    apr_size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *why = apr_psprintf(pool, "%s: %s", name, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (apr_size_t)r;
        if (n > max) {
            *why = apr_psprintf(pool, "%s grew past %lu bytes", name, (unsigned long)max);
            goto out;
        }
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    rv = APR_SUCCESS;
out:
    if (fd >= 0)
        close(fd);
    close(dfd);
    return rv;
}
