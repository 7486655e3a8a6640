/*
 * eventlog.c - where a Windows service's log goes: a file in the state
 * directory (every line with kt_log's timestamp and level) and the
 * Application Event Log, source "kotod", for what an
 * administrator looks for there: warnings, errors, starts and stops.
 */
#include "kt_win32.h"

#include <stdio.h>
#include <wchar.h>

#include "messages.h" /* KT_MSG_TEXT, from messages.mc */

#define EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" KT_SERVICE_NAME

static HANDLE source;

int kt_win_log_to_file(const char *path, apr_pool_t *pool)
{
    wchar_t *wpath = kt_utf16(path, pool);
    /* Not freopen on stderr: a service starts without standard handles and
     * the C runtime then refuses to reopen them. */
    FILE *f = wpath ? _wfopen(wpath, L"a") : NULL;
    if (!f)
        return -1;
    kt_log_set_output(f); /* open for the life of the process */
    return 0;
}

static void eventlog_mirror(kt_log_level_t level, const char *message)
{
    /* Informational lines other than the daemon's own milestones would
     * flood the Event Log; the file has them all. */
    if (level > KT_LOG_WARN && strncmp(message, "kotod ", 6) != 0 &&
        strcmp(message, "stopped") != 0 && strncmp(message, "reloaded", 8) != 0)
        return;
    wchar_t text[1024];
    if (!MultiByteToWideChar(CP_UTF8, 0, message, -1, text, KT_ARRAY_SIZE(text)))
        wcscpy(text, L"(a log line that is not valid UTF-8)");
    const wchar_t *strings[] = {text};
    WORD type = level == KT_LOG_ERROR  ? EVENTLOG_ERROR_TYPE
                : level == KT_LOG_WARN ? EVENTLOG_WARNING_TYPE
                                       : EVENTLOG_INFORMATION_TYPE;
    ReportEventW(source, type, 0, KT_MSG_TEXT, NULL, 1, 0, strings, NULL);
}

void kt_win_log_to_eventlog(void)
{
    if (!source)
        source = RegisterEventSourceW(NULL, KT_SERVICE_NAME);
    if (source)
        kt_log_set_mirror(eventlog_mirror);
}

int kt_win_eventlog_register(const wchar_t *exe)
{
    HKEY key;
    if (RegCreateKeyExW(HKEY_LOCAL_MACHINE, EVENTLOG_KEY, 0, NULL, 0, KEY_SET_VALUE, NULL, &key,
                        NULL) != ERROR_SUCCESS)
        return -1;
    DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
    LONG rc = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe,
                             (DWORD)((wcslen(exe) + 1) * sizeof *exe));
    if (rc == ERROR_SUCCESS)
        rc = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types,
                            sizeof types);
    RegCloseKey(key);
    return rc == ERROR_SUCCESS ? 0 : -1;
}

void kt_win_eventlog_unregister(void) { RegDeleteKeyW(HKEY_LOCAL_MACHINE, EVENTLOG_KEY); }
