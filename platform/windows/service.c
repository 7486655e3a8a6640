/*
 * service.c - a service's state on Windows, from the Service Control
 * Manager: QueryServiceStatusEx on the service opened with only the right
 * to query its status. Stopped with a non-zero exit code is a failure.
 */
#include "win.h"
#include "kt_sys.h"

#include <stdio.h>
#include <string.h>

const char *kt_sys_svc_state_name(kt_sys_svc_state_t s)
{
    static const char *const names[] = {"unknown", "active", "inactive", "failed",
                                        "activating", "deactivating", "missing"};
    return (unsigned)s < KT_ARRAY_SIZE(names) ? names[s] : "unknown";
}

apr_status_t kt_sys_service_state(const char *name, kt_sys_svc_t *out, apr_pool_t *pool)
{
    memset(out, 0, sizeof *out);
    wchar_t *wname = kt_utf16(name, pool);
    if (!wname)
        return APR_EINVAL;
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!scm)
        return APR_FROM_OS_ERROR(GetLastError());
    SC_HANDLE svc = OpenServiceW(scm, wname, SERVICE_QUERY_STATUS);
    DWORD e = svc ? 0 : GetLastError();
    apr_status_t st = APR_SUCCESS;
    if (!svc) {
        if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
            out->state = KT_SVC_MISSING;
            snprintf(out->detail, sizeof out->detail, "no such service");
        } else {
            st = APR_FROM_OS_ERROR(e);
        }
    } else {
        SERVICE_STATUS_PROCESS sp;
        DWORD need = 0;
        if (QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&sp, sizeof sp, &need)) {
            switch (sp.dwCurrentState) {
            case SERVICE_RUNNING: out->state = KT_SVC_ACTIVE; break;
            case SERVICE_START_PENDING:
            case SERVICE_CONTINUE_PENDING: out->state = KT_SVC_ACTIVATING; break;
            case SERVICE_STOP_PENDING:
            case SERVICE_PAUSE_PENDING: out->state = KT_SVC_DEACTIVATING; break;
            case SERVICE_STOPPED:
                out->state = sp.dwWin32ExitCode == 0 || sp.dwWin32ExitCode == ERROR_SERVICE_NEVER_STARTED
                                 ? KT_SVC_INACTIVE
                                 : KT_SVC_FAILED;
                break;
            default: out->state = KT_SVC_INACTIVE; break; /* paused */
            }
            snprintf(out->detail, sizeof out->detail, "state %lu, exit code %lu",
                     (unsigned long)sp.dwCurrentState, (unsigned long)sp.dwWin32ExitCode);
        } else {
            st = APR_FROM_OS_ERROR(GetLastError());
        }
        CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return st;
}
