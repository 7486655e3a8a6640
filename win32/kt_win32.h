/*
 * kt_win32.h - kotod's Windows shell (win32/), the counterpart of
 * src/daemon/unixd.c: the service (SCM), the console run, installing and
 * controlling the service, the Event Log, and where things live.
 *
 * windows.h comes before APR's headers: apr.h includes it with NOUSER and
 * friends, which hides what the service and Event Log APIs need.
 */
#ifndef KT_WIN32_H
#define KT_WIN32_H

#include <winsock2.h>
#include <windows.h>

#include "daemon.h"

#define KT_SERVICE_NAME L"kotod"
#define KT_SERVICE_DISPLAY L"koto system health"

/* paths.c: the full path of kotod.exe (UTF-16, in pool). */
wchar_t *kt_win_exe_path(apr_pool_t *pool);
/* "what failed: the system's message (code)" for GetLastError()'s err. */
const char *kt_win_error(DWORD err, apr_pool_t *pool);

/* eventlog.c: log to a file (a service has no stderr) and to the Event Log
 * (warnings, errors, start, reload and stop). */
int kt_win_log_to_file(const char *path, apr_pool_t *pool);
void kt_win_log_to_eventlog(void);
/* Registers (or removes) kotod.exe as the Event Log source "kotod". */
int kt_win_eventlog_register(const wchar_t *exe);
void kt_win_eventlog_unregister(void);

/* install.c: kotod --install / --uninstall. Exit codes. */
int kt_win_install(const kt_opts_t *o, apr_pool_t *pool);
int kt_win_uninstall(apr_pool_t *pool);

/* control.c: kotod --control start|stop|reload|status. Exit code. */
int kt_win_control(const char *what, apr_pool_t *pool);

/* service.c: run under the SCM; returns -1 (without side effects) when the
 * process was not started by the SCM, else the exit code. */
int kt_win_run_service(const kt_opts_t *o, apr_pool_t *pool);
/* The console run (--foreground, or started from a prompt): until Ctrl-C,
 * Ctrl-Break or the console closing. */
int kt_win_run_console(const kt_opts_t *o, apr_pool_t *pool);

#endif
