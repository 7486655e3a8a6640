/*
 * run.c - kt_sys_run and kt_sys_owner_only on Linux (and any POSIX system).
 *
 * The child is made with fork and does only async-signal-safe work before
 * execve (the daemon has threads): its own process group, every signal back
 * to its default and unblocked (an ignored SIGPIPE would be inherited by
 * the script), stdin from /dev/null, stdout and stderr into one pipe, every
 * other descriptor closed, then execve of /bin/bash with the file and a
 * fixed environment. Nothing is looked up through PATH, and bash reads no
 * startup file (not interactive, no BASH_ENV in the environment).
 *
 * The parent reads the pipe until the script exits or the timeout passes;
 * then it sends SIGKILL to the whole group (the script and everything it
 * started without leaving the group) and reaps the script. Output past the
 * limit is still read, so a chatty script cannot block on a full pipe.
 */
#include "kt_sys.h"
#include "kt_base.h"
#include "run_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>

#define RUN_BASH "/bin/bash"

static char *const run_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL=C",
    "HOME=/",
    NULL,
};

static apr_interval_time_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_interval_time_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* In the child between fork and execve: async-signal-safe calls only. */
static void child(int out_fd, const char *interp, char *const argv[])
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        (void)sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    if (setpgid(0, 0) != 0)
        _exit(126);
    int in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
        _exit(126);
    /* close_range is a system call (safe here); without it, the loop. */
    if (close_range(3, ~0u, 0) != 0)
        for (int fd = 3; fd < 65536; fd++)
            (void)close(fd);
    if (chdir("/") != 0)
        _exit(126);
    execve(interp, argv, run_env);
    _exit(127);
}

static void keep(kt_sys_run_result_t *res, apr_size_t limit, const char *buf, apr_size_t n)
{
    apr_size_t room = limit - res->output_len;
    if (n > room) {
        res->truncated = 1;
        n = room;
    }
    memcpy(res->output + res->output_len, buf, n);
    res->output_len += n;
}

/* Runs argv[0] with argv and waits, as kt_sys_run describes. */
apr_status_t kt__sys_run_argv(char *const argv[], apr_interval_time_t timeout, apr_size_t limit,
                              const atomic_int *cancel, kt_sys_run_result_t *res, apr_pool_t *pool)
{
    const char *interp = argv[0];
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    res->output = apr_palloc(pool, limit + 1);
    res->output[0] = '\0';

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return APR_FROM_OS_ERROR(errno);
    apr_interval_time_t start = now_us();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return APR_FROM_OS_ERROR(e);
    }
    if (pid == 0)
        child(fds[1], interp, argv);
    close(fds[1]);
    (void)setpgid(pid, pid); /* both sides, so the kill below never misses it */
    (void)fcntl(fds[0], F_SETFL, O_NONBLOCK);

    apr_interval_time_t deadline = start + timeout;
    int status = 0, reaped = 0, open_pipe = 1;
    char buf[4096];
    while (!reaped) {
        apr_interval_time_t left = deadline - now_us();
        int stop = cancel && atomic_load(cancel);
        if (left <= 0 || stop) {
            res->timed_out = !stop;
            res->cancelled = stop;
            (void)kill(-pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            reaped = 1;
            break;
        }
        if (open_pipe) {
            struct pollfd p = {.fd = fds[0], .events = POLLIN};
            int ms = left > 50000 ? 50 : (int)(left / 1000) + 1;
            if (poll(&p, 1, ms) > 0) {
                ssize_t n = read(fds[0], buf, sizeof buf);
                if (n > 0)
                    keep(res, limit, buf, (apr_size_t)n);
                else if (n == 0)
                    open_pipe = 0; /* everyone closed it; wait for the exit alone */
            }
        } else {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            reaped = 1;
    }
    /* What the script wrote before it ended is in the pipe; children it
     * left running may hold the pipe open, so only what is there now. */
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0)
            break;
        keep(res, limit, buf, (apr_size_t)n);
    }
    close(fds[0]);
    res->duration = now_us() - start;
    res->output[res->output_len] = '\0';
    if (WIFEXITED(status) && !res->timed_out && !res->cancelled)
        res->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res->signal = WTERMSIG(status);
    return APR_SUCCESS;
}

apr_status_t kt_sys_run(const char *path, const kt_sys_run_opts_t *opts,
                        kt_sys_run_result_t *res, apr_pool_t *pool)
{
    const char *interp = opts && opts->interpreter ? opts->interpreter : RUN_BASH;
    apr_interval_time_t timeout = opts && opts->timeout > 0 ? opts->timeout : KT_SYS_RUN_TIMEOUT;
    apr_size_t limit = opts && opts->output_limit > 0 ? opts->output_limit : KT_SYS_RUN_OUTPUT;
    int nargs = 0;
    while (opts && opts->args && opts->args[nargs])
        nargs++;
    char **argv = apr_pcalloc(pool, ((apr_size_t)nargs + 3) * sizeof *argv);
    argv[0] = apr_pstrdup(pool, interp);
    argv[1] = apr_pstrdup(pool, path);
    for (int i = 0; i < nargs; i++)
        argv[2 + i] = apr_pstrdup(pool, opts->args[i]);
    return kt__sys_run_argv(argv, timeout, limit, opts ? opts->cancel : NULL, res, pool);
}

apr_status_t kt_sys_owner_only(const char *path, int *ok, const char **why, apr_pool_t *pool)
{
    struct stat st;
    *ok = 0;
    *why = NULL;
    if (stat(path, &st) != 0)
        return APR_FROM_OS_ERROR(errno);
    if (st.st_uid != 0 && st.st_uid != geteuid())
        *why = apr_psprintf(pool, "%s belongs to uid %ld, neither root nor this process's user",
                            path, (long)st.st_uid);
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        *why = apr_psprintf(pool, "%s is writable by its %s (mode %04o)", path,
                            (st.st_mode & S_IWOTH) ? "others" : "group",
                            (unsigned)(st.st_mode & 07777));
    else
        *ok = 1;
    return APR_SUCCESS;
}
