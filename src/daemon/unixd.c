/*
 * unixd.c - the Unix side of being a daemon: detaching with a locked pidfile
 * (Monit's habit: "already running" is decided by the lock, never by a
 * stale pid), syslog, and systemd's readiness notification.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <apr_thread_proc.h>
#include <systemd/sd-daemon.h>

static void syslog_sink(kt_log_level_t level, const char *message)
{
    static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    syslog(priorities[level], "%s", message);
}

/* Takes a write lock on the whole pidfile; -1 with *holder set when another
 * process holds it. The fd stays open (and locked) for the daemon's life. */
static int lock_pidfile(const char *path, long *holder)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int err = errno;
        fl.l_type = F_WRLCK;
        *holder = fcntl(fd, F_GETLK, &fl) == 0 ? (long)fl.l_pid : 0;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int kt_daemonize(const char *pidfile)
{
    long holder = 0;
    /* Check before detaching, so "already running" reaches the terminal. */
    int fd = lock_pidfile(pidfile, &holder);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EACCES)
            fprintf(stderr, "kotod: already running (pid %ld holds %s)\n", holder, pidfile);
        else
            fprintf(stderr, "kotod: cannot open pidfile %s: %s\n", pidfile, strerror(errno));
        return -1;
    }
    close(fd); /* fcntl locks do not survive fork; take it again in the child */

    if (apr_proc_detach(APR_PROC_DETACH_DAEMONIZE) != APR_SUCCESS) {
        fprintf(stderr, "kotod: cannot detach from the terminal\n");
        return -1;
    }
    openlog("kotod", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    kt_log_set_sink(syslog_sink);
    if ((fd = lock_pidfile(pidfile, &holder)) < 0) {
        kt_log(KT_LOG_ERROR, "another kotod (pid %ld) took %s first", holder, pidfile);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
        kt_log(KT_LOG_WARN, "cannot write %s: %s", pidfile, strerror(errno));
    return 0;
}

void kt_log_use_syslog(void)
{
    openlog("kotod", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    kt_log_set_sink(syslog_sink);
}

void kt_notify_ready(const char *address)
{
    /* A no-op unless systemd started us with Type=notify. */
    sd_notifyf(0, "READY=1\nSTATUS=serving on %s", address);
}

void kt_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

void kt_notify_reloading(void)
{
    sd_notify(0, "RELOADING=1");
}

void kt_notify_reloaded(void)
{
    sd_notify(0, "READY=1");
}
