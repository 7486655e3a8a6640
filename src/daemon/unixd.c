/*
 * unixd.c - the Unix side of being a daemon: serving until SIGINT or
 * SIGTERM (SIGHUP reloads), detaching with a locked pidfile (Monit's habit:
 * "already running" is decided by the lock, never by a stale pid), syslog,
 * and systemd's readiness notification.
 *
 * Signals: all are blocked before any thread starts (apr_setup_signal_thread)
 * and the main thread takes them synchronously with sigwait
 * (apr_signal_thread), so no code runs in signal-handler context.
 *
 * The notification is one datagram to $NOTIFY_SOCKET, a protocol systemd
 * documents as stable and meant to be spoken without its library; linking
 * libsystemd for it would pull in a megabyte of libraries (libgcrypt, zstd,
 * lz4, ...) and blow kotod's memory budget.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

/* ==== where things live ======================================================== */

/* The shipped files are found from where kotod is, never from a path the
 * build compiled in. An installed kotod (PREFIX/sbin/kotod) has them at
 * KT_REL_LUA_DIR and KT_REL_WEB_DIR from its directory (share/koto/...) and
 * its configuration in /etc/koto for the prefix /usr, else in
 * PREFIX/etc/koto (the rule cmake/install_prefixed.cmake installs by); a
 * kotod in its build tree has lua/ (a link to the sources, with the
 * configuration in it) and web/ beside it. */
static const char *exe_dir(apr_pool_t *pool)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return ".";
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == buf)
        return "/";
    if (slash)
        *slash = '\0';
    return apr_pstrdup(pool, buf);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 1 when kotod runs from an installed tree (its share/koto/lua is there). */
static int installed(const char *dir, apr_pool_t *pool)
{
    return is_dir(apr_pstrcat(pool, dir, "/" KT_REL_LUA_DIR, NULL));
}

const char *kt_default_lua_dir(apr_pool_t *pool)
{
    const char *dir = exe_dir(pool);
    return apr_pstrcat(pool, dir, installed(dir, pool) ? "/" KT_REL_LUA_DIR : "/lua", NULL);
}

const char *kt_default_web_dir(apr_pool_t *pool)
{
    const char *dir = exe_dir(pool);
    return apr_pstrcat(pool, dir, installed(dir, pool) ? "/" KT_REL_WEB_DIR : "/web", NULL);
}

const char *kt_default_tls_module(apr_pool_t *pool)
{
    const char *dir = exe_dir(pool);
    return apr_pstrcat(pool, dir, installed(dir, pool) ? "/" KT_REL_TLS_MODULE : "/koto_tls.so",
                       NULL);
}

const char *kt_default_config_file(apr_pool_t *pool)
{
    const char *dir = exe_dir(pool);
    if (!installed(dir, pool))
        return NULL; /* the build tree's lua/koto.conf.lua */
    char prefix[4096];
    if (!realpath(apr_pstrcat(pool, dir, "/" KT_REL_PREFIX, NULL), prefix))
        return NULL;
    const char *path = apr_pstrcat(pool, strcmp(prefix, "/usr") == 0 ? "" : prefix,
                                   "/etc/koto/koto.conf.lua", NULL);
    struct stat st;
    /* A configuration the administrator removed means the defaults. */
    return stat(path, &st) == 0 ? path : NULL;
}

/* ==== logging and detaching ====================================================== */

static void syslog_sink(kt_log_level_t level, const char *message)
{
    static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    syslog(priorities[level], "%s", message);
}

static void log_to_syslog(void)
{
    openlog("kotod", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    kt_log_set_sink(syslog_sink);
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

static int daemonize(const char *pidfile)
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
    log_to_syslog();
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


/* ==== systemd ==================================================================== */

/* Sends state to the service manager; a no-op when not run by systemd. */
static void notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@')
        addr.sun_path[0] = '\0'; /* an abstract socket */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, alen) < 0)
        kt_log(KT_LOG_WARN, "cannot notify systemd through %s: %s", path, strerror(errno));
    close(fd);
}

static void notify_ready(const char *address)
{
    char state[300];
    snprintf(state, sizeof state, "READY=1\nSTATUS=serving on %s\nMAINPID=%ld", address,
             (long)getpid());
    notify(state);
}

/* ==== serving ====================================================================== */

static kt_daemon_t *the_daemon; /* for on_signal, which takes no baton */

static int on_signal(int signum)
{
    switch (signum) {
    case SIGINT:
    case SIGTERM:
        kt_log(KT_LOG_INFO, "%s received, stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
        return 1; /* leave apr_signal_thread */
    case SIGHUP:
        kt_log(KT_LOG_INFO, "SIGHUP received: reloading configuration, rules and templates");
        notify("RELOADING=1");
        kt_daemon_reload(the_daemon);
        notify("READY=1");
        return 0;
    default:
        return 0;
    }
}

/* Loads the rules to report mistakes on the terminal, then detaches: the
 * child loads them again (the parent exits in between). */
static int detach(const kt_opts_t *o, const char **pidfile, apr_pool_t *pool)
{
    kt_rules_t *rules;
    kt_conf_t conf;
    if (kt_daemon_load(o, &rules, &conf, pool))
        return -1;
    kt_rules_release(rules);
    kt_sys_private_dir(conf.state_dir, pool); /* the pidfile's default home */
    *pidfile = o->pidfile ? o->pidfile : apr_pstrcat(pool, conf.state_dir, "/kotod.pid", NULL);
    return daemonize(*pidfile);
}

int kt_serve(const kt_opts_t *o, apr_pool_t *pool)
{
    kt_rules_t *rules;
    kt_conf_t conf;
    const char *pidfile = NULL;
    if (o->daemonize) {
        if (detach(o, &pidfile, pool))
            return 1;
    } else if (o->syslog) {
        log_to_syslog(); /* the load's mistakes too */
    }
    /* Must precede every thread, so they all inherit the blocked mask. */
    apr_setup_signal_thread();
    kt_early_store_t *early = kt_daemon_open_store_early(o, pool);
    if (kt_daemon_load(o, &rules, &conf, pool) ||
        kt_daemon_start(&the_daemon, o, rules, &conf, early, pool))
        return 1;
    notify_ready(kt_daemon_address(the_daemon));

    apr_signal_thread(on_signal);

    notify("STOPPING=1");
    kt_daemon_stop(the_daemon);
    the_daemon = NULL;
    if (pidfile)
        unlink(pidfile); /* still ours: its lock goes with the process */
    return 0;
}
