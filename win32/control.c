/*
 * control.c - kotod --control start|stop|reload|status: the service
 * controls through ControlService, because not every `sc` has them all
 * (Wine's lacks paramchange) and `net` has no reload at all.
 */
#include "kt_win32.h"

#include <stdio.h>
#include <string.h>

#define WAIT_MS 30000 /* longer than the service's own start and stop wait hints */

static const char *state_name(DWORD state)
{
    static const char *const names[] = {"unknown",          "stopped",         "start pending",
                                        "stop pending",     "running",         "continue pending",
                                        "pause pending",    "paused"};
    return state < KT_ARRAY_SIZE(names) ? names[state] : "unknown";
}

/* Polls until the service reaches want or timeout_ms passes; 0 when reached.
 * A service that stops while it should be starting has failed: no waiting. */
static int wait_state(SC_HANDLE svc, DWORD want, DWORD timeout_ms, SERVICE_STATUS_PROCESS *st)
{
    DWORD need;
    for (DWORD waited = 0;; waited += 100) {
        if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)st, sizeof *st, &need))
            return -1;
        if (st->dwCurrentState == want)
            return 0;
        if (waited >= timeout_ms || (want == SERVICE_RUNNING && st->dwCurrentState == SERVICE_STOPPED))
            return -1;
        Sleep(100);
    }
}

int kt_win_control(const char *what, apr_pool_t *pool)
{
    static const struct {
        const char *name;
        DWORD access;
    } verbs[] = {{"start", SERVICE_START | SERVICE_QUERY_STATUS},
                 {"stop", SERVICE_STOP | SERVICE_QUERY_STATUS},
                 {"reload", SERVICE_PAUSE_CONTINUE | SERVICE_QUERY_STATUS},
                 {"status", SERVICE_QUERY_STATUS}};
    size_t v = 0;
    while (v < KT_ARRAY_SIZE(verbs) && strcmp(verbs[v].name, what) != 0)
        v++;
    if (v == KT_ARRAY_SIZE(verbs)) {
        fprintf(stderr, "kotod: --control wants start, stop, reload or status, not '%s'\n", what);
        return 2;
    }
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc = scm ? OpenServiceW(scm, KT_SERVICE_NAME, verbs[v].access) : NULL;
    if (!svc) {
        DWORD err = GetLastError();
        fprintf(stderr, "kotod: cannot open the service: %s%s\n", kt_win_error(err, pool),
                err == ERROR_SERVICE_DOES_NOT_EXIST ? "; install it with kotod --install" : "");
        if (scm)
            CloseServiceHandle(scm);
        return 1;
    }
    SERVICE_STATUS_PROCESS st;
    SERVICE_STATUS ignored;
    BOOL ok = TRUE;
    DWORD want = 0;
    if (strcmp(what, "start") == 0) {
        ok = StartServiceW(svc, 0, NULL) || GetLastError() == ERROR_SERVICE_ALREADY_RUNNING;
        want = SERVICE_RUNNING;
    } else if (strcmp(what, "stop") == 0) {
        ok = ControlService(svc, SERVICE_CONTROL_STOP, &ignored) ||
             GetLastError() == ERROR_SERVICE_NOT_ACTIVE;
        want = SERVICE_STOPPED;
    } else if (strcmp(what, "reload") == 0) {
        ok = ControlService(svc, SERVICE_CONTROL_PARAMCHANGE, &ignored);
    }
    int rc = 0;
    if (!ok) {
        fprintf(stderr, "kotod: %s failed: %s\n", what, kt_win_error(GetLastError(), pool));
        rc = 1;
    } else if (want && wait_state(svc, want, WAIT_MS, &st) != 0) {
        if (st.dwCurrentState == SERVICE_STOPPED)
            fprintf(stderr, "kotod: the service stopped while starting (exit code %lu); the "
                            "Event Log and kotod.log in the state directory say why\n",
                    (unsigned long)st.dwServiceSpecificExitCode);
        else
            fprintf(stderr, "kotod: the service did not become %s within %d s\n",
                    state_name(want), WAIT_MS / 1000);
        rc = 1;
    }
    DWORD need;
    if (QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof st, &need))
        printf("kotod service: %s (pid %lu)\n", state_name(st.dwCurrentState),
               (unsigned long)st.dwProcessId);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return rc;
}
