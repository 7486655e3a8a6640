/* daemon.h - private to src/daemon/: kotod's options and its two modes. */
#ifndef KT_DAEMON_H
#define KT_DAEMON_H

#include <apr_pools.h>

#include "kt_base.h"
#include "kt_mon.h"
#include "kt_rules.h"
#include "kt_store.h"
#include "kt_sys.h"
#include "state_dir.h"

#ifdef _WIN32
#include <process.h>
#define KT_PATH_SEP "\\"
#define KT_PLAT_DEFAULT_SOURCE "the Windows APIs"
#define kt_getpid _getpid
#else
#include <unistd.h>
#define KT_PATH_SEP "/"
#define KT_PLAT_DEFAULT_SOURCE "/proc"
#define kt_getpid getpid
#endif

#define KT_MAX_PROCFS 2

typedef struct {
    const char *procfs[KT_MAX_PROCFS]; /* two only with --once: a t0/t1 pair */
    unsigned nprocfs;
    const char *sysfs, *rootfs;
    /* Settings that also live in the configuration file: NULL / 0 when not
     * given, so the file's value (or the default) stands. */
    const char *listen;    /* ADDR:PORT, [V6]:PORT; port 0 picks one */
    const char *state_dir; /* the token lives here */
    const char *web_dir;   /* dashboard files */
    unsigned interval_ms;
    unsigned top_n;

    const char *config_file, *lua_dir, *user_dir;
    const char *test_rules; /* --test-rules FILE */
    int replay;             /* --replay: the history against the configuration */
    const char *replay_from, *replay_to; /* --from, --to */
    const char *test_notify; /* --test-notify NAME */
    const char *token_action, *token_name, *token_scope; /* --token add NAME --scope S */
    const char *pidfile;    /* with --daemon */
    int daemonize, syslog, check, help_config;
    /* Windows: the service's life (win32/) and a console run. */
    int install, uninstall, start_demand, foreground;
    const char *control; /* start, stop, reload or status */
    unsigned once_delay_ms;
    int once;
    kt_log_level_t log_level;
} kt_opts_t;

/* Parses argv. Returns 0 to run, 1 when the program should exit 0 (--help,
 * --version), -1 on a usage error (already reported on stderr). */
int kt_opts_parse(kt_opts_t *o, int argc, const char *const *argv, apr_pool_t *pool);

/* kotod --once: one full sample as JSON on stdout. Returns the exit code. */
int kt_run_once(const kt_opts_t *o, apr_pool_t *pool);

/* setup.c: the effective settings — built-in defaults, then the
 * configuration file, then the command line — and the rule set loaded with
 * them. On failure err says "file:line: what". */
apr_status_t kt_setup_load(const kt_opts_t *o, kt_rules_t **rules, kt_conf_t *conf, char *err,
                           apr_size_t errlen, apr_pool_t *pool);

/* setup.c: only the settings named in keys (a NULL-ended list of
 * top-level names; with user_dir among them, a file that names a user
 * directory gives way to that directory's own, as in kt_setup_load), made
 * as kt_setup_load makes them but from the configuration file alone,
 * without the rules: for what starts beside their load. Safe beside a load
 * on another thread. A mistake in the file is the load's to report: this
 * only returns its status. */
apr_status_t kt_setup_peek(const kt_opts_t *o, const char *const *keys, kt_conf_t *conf,
                           apr_pool_t *pool);
/* setup.c: the store's file (STATE_DIR/koto.db) and settings. */
kt_store_opts_t kt_setup_store_opts(const kt_conf_t *conf, apr_pool_t *pool);

/* token.c: kotod --token add|revoke|list. Returns the exit code. */
int kt_run_token(const kt_opts_t *o, apr_pool_t *pool);

/* testrules.c: kotod --test-rules FILE. Returns the exit code. */
int kt_run_test_rules(const kt_opts_t *o, apr_pool_t *pool);
/* Runs one test file (readings, or cases with expectations) against rules
 * and conf; prints what happened; 0 when nothing failed (testrules.c). */
int kt_test_rules_file(const char *file, kt_rules_t *rules, const kt_conf_t *conf,
                       apr_pool_t *pool);

/* replay.c: kotod --replay. Returns the exit code. */
int kt_run_replay(const kt_opts_t *o, apr_pool_t *pool);

/* serve.c: the daemon, the same on every system. */
typedef struct kt_daemon_t kt_daemon_t;
/* Loads settings and rules for serving; logs the problem and returns -1. */
int kt_daemon_load(const kt_opts_t *o, kt_rules_t **rules, kt_conf_t *conf, apr_pool_t *pool);
/* kotod --test-notify NAME: one test message through the channel, now.
 * Returns the exit code. */
int kt_run_test_notify(const kt_opts_t *o, apr_pool_t *pool);
/* kotod -t. Returns the exit code. */
int kt_check_config(const kt_opts_t *o, apr_pool_t *pool);
/* Starts opening the store where the configuration file and the command
 * line put it, on a thread of its own, so that the two longest parts of a
 * start, loading the rules and opening the store, run side by side. For a
 * process that serves next and does not fork: every thread started here
 * inherits the caller's signal mask. kt_daemon_start takes the store if the
 * loaded settings want that one; the end of pool waits for the thread. */
typedef struct kt_early_store_t kt_early_store_t;
kt_early_store_t *kt_daemon_open_store_early(const kt_opts_t *o, apr_pool_t *pool);
/* Prepares the state directory and token, then starts the monitor and the
 * API. Takes over the caller's reference to rules (released with pool).
 * early may be NULL: the store is then opened here. Returns -1 after
 * logging why it could not start. */
int kt_daemon_start(kt_daemon_t **d, const kt_opts_t *o, kt_rules_t *rules,
                    const kt_conf_t *conf, kt_early_store_t *early, apr_pool_t *pool);
/* Reloads configuration, rules and templates; on failure the running ones
 * stay and the reason is logged (and returned as a status). */
apr_status_t kt_daemon_reload(kt_daemon_t *d);
const char *kt_daemon_address(const kt_daemon_t *d); /* the bound ADDR:PORT */
/* Finishes in-flight responses (within the HTTP deadline) and stops. */
void kt_daemon_stop(kt_daemon_t *d);

/* The system's side (unixd.c; win32/ on Windows). */
/* Serves until told to stop, the way this system runs daemons. Exit code. */
int kt_serve(const kt_opts_t *o, apr_pool_t *pool);
/* The shipped Lua files and the dashboard, found from kotod's own
 * location: share/koto/... of an installed tree or lua/ and web/ beside it
 * (a build tree on Unix, always on Windows). */
const char *kt_default_lua_dir(apr_pool_t *pool);
const char *kt_default_web_dir(apr_pool_t *pool);
/* The TLS module kt_http_tls_load takes: lib/koto/koto_tls.so of an
 * installed tree, koto_tls.so beside kotod in a build tree; NULL where TLS
 * is linked in (Windows). */
const char *kt_default_tls_module(apr_pool_t *pool);
/* The configuration file of an installed tree (sysconfdir/koto), or NULL:
 * koto.conf.lua in the Lua directory, or none. */
const char *kt_default_config_file(apr_pool_t *pool);

#endif
