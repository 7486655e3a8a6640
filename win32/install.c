/*
 * install.c - kotod --install / --uninstall: the service "kotod" runs this
 * kotod.exe as LocalSystem with the settings given next to --install
 * (paths made absolute: a service starts in System32), restarts after a
 * crash, and logs as the Event Log source "kotod".
 */
#include "kt_win32.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#define DESCRIPTION                                                                           \
    L"Watches this machine, notices trouble, explains it and writes the script that fixes "   \
    L"it; REST API and dashboard over HTTP (default http://127.0.0.1:5000)."

/* Appends arg quoted the way CommandLineToArgvW and the C runtime split a
 * command line: backslashes are literal except before a quote. */
static char *quote(const char *arg, apr_pool_t *pool)
{
    if (*arg && !strpbrk(arg, " \t\n\v\""))
        return apr_pstrdup(pool, arg);
    size_t len = strlen(arg);
    char *out = apr_palloc(pool, 2 * len + 3), *p = out;
    *p++ = '"';
    for (const char *s = arg;; s++) {
        size_t slashes = 0;
        while (*s == '\\') {
            s++;
            slashes++;
        }
        /* Before a quote or the closing quote backslashes are doubled. */
        size_t n = *s == '"' || *s == '\0' ? 2 * slashes : slashes;
        memset(p, '\\', n);
        p += n;
        if (*s == '\0')
            break;
        if (*s == '"')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

static const char *absolute(const char *path, apr_pool_t *pool)
{
    wchar_t *w = kt_utf16(path, pool), *full = w ? _wfullpath(NULL, w, 0) : NULL;
    const char *abs = full ? kt_utf8(full, pool) : NULL;
    free(full);
    return abs ? abs : path;
}

/* The service's command line: kotod.exe and the settings given with --install. */
static const char *service_command(const kt_opts_t *o, const wchar_t *exe, apr_pool_t *pool)
{
    const struct {
        const char *flag, *value;
        int is_path;
    } opts[] = {
        {"--config", o->config_file, 1},      {"--lua-dir", strcmp(o->lua_dir, kt_default_lua_dir(pool)) ? o->lua_dir : NULL, 1},
        {"--user-dir", o->user_dir, 1},       {"--state-dir", o->state_dir, 1},
        {"--web-dir", o->web_dir, 1},         {"--listen", o->listen, 0},
        {"--interval", o->interval_ms ? apr_itoa(pool, (int)o->interval_ms) : NULL, 0},
        {"--top", o->top_n ? apr_itoa(pool, (int)o->top_n) : NULL, 0},
        {"--log-level", o->log_level != KT_LOG_INFO ? kt_log_level_name(o->log_level) : NULL, 0},
    };
    const char *cmd = quote(kt_utf8(exe, pool), pool);
    for (size_t i = 0; i < KT_ARRAY_SIZE(opts); i++)
        if (opts[i].value)
            cmd = apr_pstrcat(pool, cmd, " ", opts[i].flag, " ",
                              quote(opts[i].is_path ? absolute(opts[i].value, pool)
                                                    : opts[i].value,
                                    pool),
                              NULL);
    return cmd;
}

int kt_win_install(const kt_opts_t *o, apr_pool_t *pool)
{
    wchar_t *exe = kt_win_exe_path(pool);
    const char *cmd = exe ? service_command(o, exe, pool) : NULL;
    wchar_t *wcmd = cmd ? kt_utf16(cmd, pool) : NULL;
    if (!wcmd) {
        fprintf(stderr, "kotod: cannot tell where kotod.exe is\n");
        return 1;
    }
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CREATE_SERVICE);
    if (!scm) {
        fprintf(stderr, "kotod: cannot open the service control manager: %s (run as "
                        "Administrator)\n",
                kt_win_error(GetLastError(), pool));
        return 1;
    }
    DWORD start = o->start_demand ? SERVICE_DEMAND_START : SERVICE_AUTO_START;
    SC_HANDLE svc = CreateServiceW(scm, KT_SERVICE_NAME, KT_SERVICE_DISPLAY, SERVICE_ALL_ACCESS,
                                   SERVICE_WIN32_OWN_PROCESS, start, SERVICE_ERROR_NORMAL, wcmd,
                                   NULL, NULL, NULL, NULL /* LocalSystem */, NULL);
    if (!svc) {
        DWORD err = GetLastError();
        fprintf(stderr, "kotod: cannot install the service: %s%s\n", kt_win_error(err, pool),
                err == ERROR_SERVICE_EXISTS ? "; kotod --uninstall first" : "");
        CloseServiceHandle(scm);
        return 1;
    }
    SERVICE_DESCRIPTIONW desc = {(wchar_t *)DESCRIPTION};
    ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
    /* Restart after a crash: twice after 5 s, then leave it stopped; the
     * count resets after a day. */
    SC_ACTION actions[] = {{SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 5000},
                           {SC_ACTION_NONE, 0}};
    SERVICE_FAILURE_ACTIONSW failure = {.dwResetPeriod = 86400,
                                        .cActions = KT_ARRAY_SIZE(actions),
                                        .lpsaActions = actions};
    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &failure))
        fprintf(stderr, "kotod: warning: no restart after a crash: %s\n",
                kt_win_error(GetLastError(), pool));
    if (kt_win_eventlog_register(exe) != 0)
        fprintf(stderr, "kotod: warning: cannot register the Event Log source kotod\n");
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    printf("installed the service kotod (%s start): %s\n"
           "start it with: kotod --control start   (or: sc start kotod)\n",
           o->start_demand ? "demand" : "automatic", cmd);
    return 0;
}

int kt_win_uninstall(apr_pool_t *pool)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc = scm ? OpenServiceW(scm, KT_SERVICE_NAME,
                                       DELETE | SERVICE_STOP | SERVICE_QUERY_STATUS)
                        : NULL;
    if (!svc) {
        fprintf(stderr, "kotod: cannot open the service: %s\n",
                kt_win_error(GetLastError(), pool));
        if (scm)
            CloseServiceHandle(scm);
        return 1;
    }
    SERVICE_STATUS st;
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
        for (int i = 0; i < 300 && QueryServiceStatus(svc, &st) &&
                        st.dwCurrentState != SERVICE_STOPPED;
             i++)
            Sleep(100);
    }
    int rc = 0;
    if (!DeleteService(svc)) {
        fprintf(stderr, "kotod: cannot remove the service: %s\n",
                kt_win_error(GetLastError(), pool));
        rc = 1;
    } else {
        kt_win_eventlog_unregister();
        printf("removed the service kotod\n");
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return rc;
}
