/* daemon.h - private to src/daemon/: kotod's options and its two modes. */
#ifndef KT_DAEMON_H
#define KT_DAEMON_H

#include <apr_pools.h>

#include "kt_base.h"
#include "kt_mon.h"

#define KT_MAX_PROCFS 2

typedef struct {
    const char *procfs[KT_MAX_PROCFS]; /* two only with --once: a t0/t1 pair */
    unsigned nprocfs;
    const char *sysfs, *rootfs;
    unsigned interval_ms;
    unsigned once_delay_ms;
    unsigned top_n;
    int once;
    kt_log_level_t log_level;
} kt_opts_t;

/* Parses argv. Returns 0 to run, 1 when the program should exit 0 (--help,
 * --version), -1 on a usage error (already reported on stderr). */
int kt_opts_parse(kt_opts_t *o, int argc, const char *const *argv, apr_pool_t *pool);

/* kotod --once: one full sample as JSON on stdout. Returns the exit code. */
int kt_run_once(const kt_opts_t *o, apr_pool_t *pool);

#endif
