/*
 * run_internal.h - private to platform/linux/: run.c's child process for
 * the other files that run a program (service.c).
 */
#ifndef KT_RUN_INTERNAL_H
#define KT_RUN_INTERNAL_H

#include "kt_sys.h"

/* Runs argv[0] (an absolute path) with argv as kt_sys_run runs a script:
 * no shell, the clean environment, its own process group killed at the
 * timeout, output kept up to limit. */
apr_status_t kt__sys_run_argv(char *const argv[], apr_interval_time_t timeout, apr_size_t limit,
                              const atomic_int *cancel, kt_sys_run_result_t *res, apr_pool_t *pool);

#endif
