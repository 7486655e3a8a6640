/*
 * service.c - kotod under the Service Control Manager, and the same daemon
 * in a console.
 *
 * The service reports START_PENDING with a new checkpoint at each stage of
 * start-up and RUNNING only once the listener is bound, so `sc start` (or a
 * dependent service) never sees RUNNING before the API answers. STOP and
 * SHUTDOWN answer STOP_PENDING at once and stop within the wait hint (the
 * HTTP grace period plus a margin); PARAMCHANGE reloads. Controls arrive on
 * the dispatcher thread and are handed to the service thread through
 * events, so the handler itself never blocks.
 */
#include "kt_win32.h"

#include <stdio.h>

#include <apr_file_io.h>
#include <apr_strings.h>

/* What kt_daemon_stop may take: the HTTP grace period (5 s) plus a margin. */
#define STOP_WAIT_HINT_MS 8000
#define START_WAIT_HINT_MS 10000

static const kt_opts_t *the_opts;
static apr_pool_t *the_pool;
static HANDLE stop_event, reload_event;

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status = {.dwServiceType = SERVICE_WIN32_OWN_PROCESS};
static CRITICAL_SECTION status_lock; /* the handler and the service thread both report */

static void report(DWORD state, DWORD exit_code, DWORD wait_hint)
{
    if (!status_handle)
        return; /* a console run */
    EnterCriticalSection(&status_lock);
    status.dwCurrentState = state;
    status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP |
                                                               SERVICE_ACCEPT_SHUTDOWN |
                                                               SERVICE_ACCEPT_PARAMCHANGE
                                                         : 0;
    status.dwWin32ExitCode = exit_code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
    status.dwServiceSpecificExitCode = exit_code;
    status.dwWaitHint = wait_hint;
    int pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
    status.dwCheckPoint = pending ? status.dwCheckPoint + 1 : 0;
    SetServiceStatus(status_handle, &status);
    LeaveCriticalSection(&status_lock);
}

/* Start, wait for stop (reloading when asked), stop. Returns the exit code. */
static int run(void)
{
    kt_rules_t *rules;
    kt_conf_t conf;
    kt_daemon_t *d;
    if (status_handle) {
        /* Opened before the configuration is read, so a broken one is
         * reported here too: the file follows --state-dir, not the file. */
        const char *dir = the_opts->state_dir ? the_opts->state_dir
                                              : kt_default_state_dir(the_pool);
        const char *log = apr_pstrcat(the_pool, dir, "\\kotod.log", NULL);
        apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, the_pool);
        if (kt_win_log_to_file(log, the_pool) != 0)
            kt_log(KT_LOG_WARN, "cannot write the log file %s", log);
    }
    kt_early_store_t *early = kt_daemon_open_store_early(the_opts, the_pool);
    if (kt_daemon_load(the_opts, &rules, &conf, the_pool))
        return 1;
    report(SERVICE_START_PENDING, 0, START_WAIT_HINT_MS);
    if (kt_daemon_start(&d, the_opts, rules, &conf, early, the_pool))
        return 1;
    report(SERVICE_RUNNING, 0, 0);

    HANDLE waits[] = {stop_event, reload_event};
    while (WaitForMultipleObjects(2, waits, FALSE, INFINITE) == WAIT_OBJECT_0 + 1) {
        kt_log(KT_LOG_INFO, "reload requested: reloading configuration, rules and templates");
        kt_daemon_reload(d);
    }
    report(SERVICE_STOP_PENDING, 0, STOP_WAIT_HINT_MS);
    kt_daemon_stop(d);
    return 0;
}

static DWORD WINAPI on_control(DWORD control, DWORD type, void *data, void *ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        kt_log(KT_LOG_INFO, "%s requested, stopping",
               control == SERVICE_CONTROL_STOP ? "stop" : "system shutdown");
        report(SERVICE_STOP_PENDING, 0, STOP_WAIT_HINT_MS);
        SetEvent(stop_event);
        return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE:
        SetEvent(reload_event);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void WINAPI service_main(DWORD argc, wchar_t **argv)
{
    (void)argc;
    (void)argv;
    status_handle = RegisterServiceCtrlHandlerExW(KT_SERVICE_NAME, on_control, NULL);
    if (!status_handle)
        return;
    report(SERVICE_START_PENDING, 0, START_WAIT_HINT_MS);
    kt_win_log_to_eventlog();
    int rc = run();
    report(SERVICE_STOPPED, (DWORD)rc, 0);
}

static int make_events(void)
{
    InitializeCriticalSection(&status_lock);
    stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    reload_event = CreateEventW(NULL, FALSE, FALSE, NULL); /* auto-reset: one reload per ask */
    return stop_event && reload_event ? 0 : -1;
}

int kt_win_run_service(const kt_opts_t *o, apr_pool_t *pool)
{
    the_opts = o;
    the_pool = pool;
    if (make_events())
        return 1;
    SERVICE_TABLE_ENTRYW table[] = {{(wchar_t *)KT_SERVICE_NAME, service_main}, {NULL, NULL}};
    if (StartServiceCtrlDispatcherW(table))
        return (int)status.dwServiceSpecificExitCode;
    DWORD err = GetLastError();
    if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
        return -1; /* started from a prompt, not by the SCM */
    kt_log(KT_LOG_ERROR, "cannot connect to the service control manager: %s",
           kt_win_error(err, pool));
    return 1;
}

static BOOL WINAPI on_console(DWORD event)
{
    const char *what = event == CTRL_C_EVENT       ? "Ctrl-C"
                       : event == CTRL_BREAK_EVENT ? "Ctrl-Break"
                                                   : "console closing";
    kt_log(KT_LOG_INFO, "%s received, stopping", what);
    SetEvent(stop_event);
    /* For CTRL_CLOSE the process ends when this returns: wait for the stop. */
    if (event == CTRL_CLOSE_EVENT || event == CTRL_SHUTDOWN_EVENT)
        Sleep(STOP_WAIT_HINT_MS);
    return TRUE;
}

int kt_win_run_console(const kt_opts_t *o, apr_pool_t *pool)
{
    the_opts = o;
    the_pool = pool;
    if (!stop_event && make_events())
        return 1;
    SetConsoleCtrlHandler(on_console, TRUE);
    return run();
}

int kt_serve(const kt_opts_t *o, apr_pool_t *pool)
{
    if (o->install)
        return kt_win_install(o, pool);
    if (o->uninstall)
        return kt_win_uninstall(pool);
    if (o->control)
        return kt_win_control(o->control, pool);
    if (!o->foreground) {
        int rc = kt_win_run_service(o, pool);
        if (rc >= 0)
            return rc;
    }
    return kt_win_run_console(o, pool);
}
