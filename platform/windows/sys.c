/*
 * sys.c - kt_sys.h's naming on Windows: the OS's name and its paths.
 */
#include "kt_sys.h"

#include <string.h>

#include <apr_strings.h>

const char *kt_sys_os_name(void) { return "windows"; }

int64_t kt_sys_self_pid(void) { return (int64_t)GetCurrentProcessId(); }

/* '/' is a separator to Win32 as well, so a directory given with either
 * gets no second one. */
const char *kt_sys_join_path(const char *dir, const char *name, apr_pool_t *pool)
{
    size_t n = strlen(dir);
    int sep = n > 0 && (dir[n - 1] == '\\' || dir[n - 1] == '/');
    return apr_pstrcat(pool, dir, sep ? "" : "\\", name, NULL);
}
