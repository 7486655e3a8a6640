/*
 * sys.c - kt_sys.h's naming on Linux: the OS's name and its paths.
 */
#include "kt_sys.h"

#include <pthread.h>

#include <apr_strings.h>

const char *kt_sys_os_name(void) { return "linux"; }

int64_t kt_sys_self_pid(void) { return (int64_t)getpid(); }

void kt_sys_thread_name(const char *name) { (void)pthread_setname_np(pthread_self(), name); }

const char *kt_sys_join_path(const char *dir, const char *name, apr_pool_t *pool)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}
