/*
 * sys.c - kt_sys.h's naming on Windows: the OS's name and its paths.
 */
#include "kt_sys.h"

#include <string.h>

#include <psapi.h>

#include <apr_strings.h>

const char *kt_sys_os_name(void) { return "windows"; }

int64_t kt_sys_self_pid(void) { return (int64_t)GetCurrentProcessId(); }

/* SetThreadDescription came with Windows 10 1607: looked up, not linked. */
void kt_sys_thread_name(const char *name)
{
    typedef HRESULT(WINAPI * set_fn)(HANDLE, PCWSTR);
    HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
    FARPROC f = k32 ? GetProcAddress(k32, "SetThreadDescription") : NULL;
    if (!f)
        return;
    set_fn set;
    memcpy(&set, &f, sizeof set);
    wchar_t w[16];
    size_t i = 0;
    for (; name[i] && i < 15; i++)
        w[i] = (wchar_t)(unsigned char)name[i]; /* ASCII */
    w[i] = L'\0';
    set(GetCurrentThread(), w);
}

/* Windows keeps no per-mapping count to choose from: the whole working set
 * is emptied once, and what is still used comes back from the standby list
 * at its next touch (a soft fault). */
apr_size_t kt_sys_release_start_pages(void)
{
    HANDLE self = GetCurrentProcess();
    PROCESS_MEMORY_COUNTERS before, after;
    if (!GetProcessMemoryInfo(self, &before, sizeof before) ||
        !SetProcessWorkingSetSize(self, (SIZE_T)-1, (SIZE_T)-1) ||
        !GetProcessMemoryInfo(self, &after, sizeof after))
        return 0;
    return before.WorkingSetSize > after.WorkingSetSize
               ? (apr_size_t)(before.WorkingSetSize - after.WorkingSetSize)
               : 0;
}

/* '/' is a separator to Win32 as well, so a directory given with either
 * gets no second one. */
const char *kt_sys_join_path(const char *dir, const char *name, apr_pool_t *pool)
{
    size_t n = strlen(dir);
    int sep = n > 0 && (dir[n - 1] == '\\' || dir[n - 1] == '/');
    return apr_pstrcat(pool, dir, sep ? "" : "\\", name, NULL);
}

/* No memfd: answers are written from memory. */
int kt_sys_sealed_file(const void *data, apr_size_t len)
{
    (void)data;
    (void)len;
    return -1;
}

void kt_sys_sealed_close(int fd) { (void)fd; }

apr_status_t kt_sys_sealed_send(apr_socket_t *sock, const struct iovec *v, int nv, int fd,
                                apr_off_t off, apr_size_t len, apr_size_t *n)
{
    (void)sock;
    (void)v;
    (void)nv;
    (void)fd;
    (void)off;
    (void)len;
    *n = 0;
    return APR_ENOTIMPL;
}
