/* daemon.h - private to src/daemon/: kotod's options and its two modes. */
#ifndef KT_DAEMON_H
#define KT_DAEMON_H

#include <apr_pools.h>

#include "kt_base.h"
#include "kt_mon.h"
#include "kt_rules.h"

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
    const char *pidfile;    /* with --daemon */
    int daemonize, syslog, check, help_config;
    unsigned once_delay_ms;
    int once;
    kt_log_level_t log_level;
} kt_opts_t;

/* Parses argv. Returns 0 to run, 1 when the program should exit 0 (--help,
 * --version), -1 on a usage error (already reported on stderr). */
int kt_opts_parse(kt_opts_t *o, int argc, const char *const *argv, apr_pool_t *pool);

/* root: /var/lib/koto; others: $XDG_STATE_HOME/koto or ~/.local/state/koto. */
const char *kt_default_state_dir(apr_pool_t *pool);

/* kotod --once: one full sample as JSON on stdout. Returns the exit code. */
int kt_run_once(const kt_opts_t *o, apr_pool_t *pool);

/* setup.c: the effective settings — built-in defaults, then the
 * configuration file, then the command line — and the rule set loaded with
 * them. On failure err says "file:line: what". */
apr_status_t kt_setup_load(const kt_opts_t *o, kt_rules_t **rules, kt_conf_t *conf, char *err,
                           apr_size_t errlen, apr_pool_t *pool);

/* testrules.c: kotod --test-rules FILE. Returns the exit code. */
int kt_run_test_rules(const kt_opts_t *o, apr_pool_t *pool);

/* unixd.c: detach with a locked pidfile and log to syslog; -1 on failure
 * (reported on stderr while still attached). */
int kt_daemonize(const char *pidfile);
void kt_log_use_syslog(void);
/* systemd's sd_notify; no-ops when not run by systemd. */
void kt_notify_ready(const char *address);
void kt_notify_stopping(void);
void kt_notify_reloading(void);
void kt_notify_reloaded(void);

#endif
