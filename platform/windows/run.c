/*
 * run.c - kt_sys_run and kt_sys_owner_only on Windows.
 *
 * The interpreter is powershell.exe of the system directory (an absolute
 * path: nothing is looked up through PATH or the current directory), run
 * with -NoProfile -NonInteractive -ExecutionPolicy Bypass -File FILE. The
 * command line is built from those fixed arguments with the quoting
 * CommandLineToArgvW undoes; the file is ours (the scripts directory), the
 * script's parameters are inside it, never on the command line.
 *
 * The process is created suspended, put in a job object, then resumed, so
 * everything it starts is in the job; at the timeout the job is terminated
 * (the whole tree). stdout and stderr go to one pipe, read by polling
 * (PeekNamedPipe) between short waits on the process. The environment is a
 * fixed block: the system directories as PATH and the variables PowerShell
 * needs to start (SystemRoot, windir, ComSpec, TEMP...).
 */
#include "win.h"
#include "kt_sys.h"

#include <aclapi.h>
#include <sddl.h>

#include <string.h>
#include <wchar.h>

#include <apr_strings.h>

static const wchar_t *const fixed_args[] = {L"-NoProfile", L"-NonInteractive",
                                            L"-ExecutionPolicy", L"Bypass", L"-File"};

/* Appends arg to the command line, quoted so CommandLineToArgvW gives it back. */
static void append_arg(wchar_t *cmd, size_t *n, const wchar_t *arg)
{
    if (*n > 0)
        cmd[(*n)++] = L' ';
    cmd[(*n)++] = L'"';
    size_t slashes = 0;
    for (const wchar_t *p = arg; *p; p++) {
        if (*p == L'\\') {
            slashes++;
        } else {
            if (*p == L'"') /* backslashes before a quote are doubled, the quote escaped */
                for (size_t i = 0; i < slashes + 1; i++)
                    cmd[(*n)++] = L'\\';
            slashes = 0;
        }
        cmd[(*n)++] = *p;
    }
    for (size_t i = 0; i < slashes; i++) /* before the closing quote */
        cmd[(*n)++] = L'\\';
    cmd[(*n)++] = L'"';
    cmd[*n] = 0;
}

/* The environment block: NAME=value\0...\0, from the system's own values. */
static wchar_t *environment(apr_pool_t *pool)
{
    static const wchar_t *const copied[] = {L"SystemRoot", L"SystemDrive", L"windir",
                                            L"ComSpec", L"ProgramData", L"ProgramFiles",
                                            L"PATHEXT", L"NUMBER_OF_PROCESSORS"};
    wchar_t sysdir[MAX_PATH], windir[MAX_PATH], tmp[MAX_PATH + 1];
    UINT ns = GetSystemDirectoryW(sysdir, MAX_PATH), nw = GetWindowsDirectoryW(windir, MAX_PATH);
    DWORD nt = GetTempPathW(MAX_PATH + 1, tmp);
    if (ns == 0 || ns >= MAX_PATH)
        sysdir[0] = 0;
    if (nw == 0 || nw >= MAX_PATH)
        windir[0] = 0;
    if (nt == 0 || nt > MAX_PATH)
        tmp[0] = 0;
    size_t cap = 8192, n = 0;
    wchar_t *env = apr_palloc(pool, cap * sizeof *env);
#define PUT(s)                                                                                 \
    do {                                                                                       \
        size_t l_ = wcslen(s);                                                                 \
        if (n + l_ + 2 < cap) {                                                                \
            memcpy(env + n, s, l_ * sizeof *env);                                              \
            n += l_;                                                                           \
        }                                                                                      \
    } while (0)
    PUT(L"PATH=");
    PUT(sysdir);
    PUT(L";");
    PUT(windir);
    PUT(L";");
    PUT(sysdir);
    PUT(L"\\WindowsPowerShell\\v1.0");
    env[n++] = 0;
    PUT(L"TEMP=");
    PUT(tmp);
    env[n++] = 0;
    PUT(L"TMP=");
    PUT(tmp);
    env[n++] = 0;
    for (size_t i = 0; i < KT_ARRAY_SIZE(copied); i++) {
        wchar_t val[1024];
        DWORD l = GetEnvironmentVariableW(copied[i], val, 1024);
        if (l == 0 || l >= 1024)
            continue;
        PUT(copied[i]);
        PUT(L"=");
        PUT(val);
        env[n++] = 0;
    }
#undef PUT
    env[n++] = 0;
    return env;
}

static void keep(kt_sys_run_result_t *res, apr_size_t limit, const char *buf, apr_size_t n)
{
    apr_size_t room = limit - res->output_len;
    if (n > room) {
        res->truncated = 1;
        n = room;
    }
    memcpy(res->output + res->output_len, buf, n);
    res->output_len += n;
}

/* Reads what the pipe holds now, without blocking. */
static void drain(HANDLE rd, kt_sys_run_result_t *res, apr_size_t limit)
{
    char buf[4096];
    DWORD avail = 0, got = 0;
    while (PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL) && avail > 0) {
        if (!ReadFile(rd, buf, avail < sizeof buf ? avail : (DWORD)sizeof buf, &got, NULL) ||
            got == 0)
            break;
        keep(res, limit, buf, got);
    }
}

apr_status_t kt_sys_run(const char *path, const kt_sys_run_opts_t *opts,
                        kt_sys_run_result_t *res, apr_pool_t *pool)
{
    apr_interval_time_t timeout = opts && opts->timeout > 0 ? opts->timeout : KT_SYS_RUN_TIMEOUT;
    apr_size_t limit = opts && opts->output_limit > 0 ? opts->output_limit : KT_SYS_RUN_OUTPUT;
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    res->output = apr_palloc(pool, limit + 1);
    res->output[0] = 0;

    wchar_t sysdir[MAX_PATH];
    UINT ns = GetSystemDirectoryW(sysdir, MAX_PATH);
    if (ns == 0 || ns >= MAX_PATH)
        return APR_FROM_OS_ERROR(GetLastError());
    const wchar_t *interp;
    if (opts && opts->interpreter) {
        if (!(interp = kt_utf16(opts->interpreter, pool)))
            return APR_EINVAL;
    } else {
        size_t l = wcslen(sysdir);
        static const wchar_t tail[] = L"\\WindowsPowerShell\\v1.0\\powershell.exe";
        wchar_t *p = apr_palloc(pool, (l + KT_ARRAY_SIZE(tail)) * sizeof *p);
        memcpy(p, sysdir, l * sizeof *p);
        memcpy(p + l, tail, sizeof tail);
        interp = p;
    }
    const wchar_t *wpath = kt_utf16(path, pool);
    if (!wpath)
        return APR_EINVAL;
    const wchar_t **wargs = NULL;
    size_t nargs = 0, len = wcslen(interp) + wcslen(wpath) + 64;
    while (opts && opts->args && opts->args[nargs])
        nargs++;
    wargs = apr_pcalloc(pool, (nargs + 1) * sizeof *wargs);
    for (size_t i = 0; i < nargs; i++) {
        if (!(wargs[i] = kt_utf16(opts->args[i], pool)))
            return APR_EINVAL;
        len += wcslen(wargs[i]);
    }
    for (size_t i = 0; i < KT_ARRAY_SIZE(fixed_args); i++)
        len += wcslen(fixed_args[i]);
    len = len * 2 + 4 * (nargs + KT_ARRAY_SIZE(fixed_args) + 2); /* room for escapes */
    wchar_t *cmd = apr_palloc(pool, len * sizeof *cmd);
    size_t n = 0;
    cmd[0] = 0;
    append_arg(cmd, &n, interp);
    for (size_t i = 0; i < KT_ARRAY_SIZE(fixed_args); i++)
        append_arg(cmd, &n, fixed_args[i]);
    append_arg(cmd, &n, wpath);
    for (size_t i = 0; i < nargs; i++)
        append_arg(cmd, &n, wargs[i]);

    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE rd = NULL, wr = NULL, nul = INVALID_HANDLE_VALUE;
    if (!CreatePipe(&rd, &wr, &sa, 0))
        return APR_FROM_OS_ERROR(GetLastError());
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                      OPEN_EXISTING, 0, NULL);
    HANDLE job = CreateJobObjectW(NULL, NULL);
    if (nul == INVALID_HANDLE_VALUE || !job) {
        DWORD e = GetLastError();
        CloseHandle(rd);
        CloseHandle(wr);
        if (nul != INVALID_HANDLE_VALUE)
            CloseHandle(nul);
        if (job)
            CloseHandle(job);
        return APR_FROM_OS_ERROR(e);
    }

    /* Only these three handles are inherited, not every inheritable one. */
    HANDLE inherit[3] = {nul, wr, wr};
    SIZE_T attr_size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = apr_palloc(pool, attr_size);
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = nul;
    si.StartupInfo.hStdOutput = wr;
    si.StartupInfo.hStdError = wr;
    DWORD flags = CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT;
    if (InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size) &&
        UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit,
                                  2 * sizeof(HANDLE), NULL, NULL)) {
        si.lpAttributeList = attrs;
        flags |= EXTENDED_STARTUPINFO_PRESENT;
    }
    PROCESS_INFORMATION pi;
    memset(&pi, 0, sizeof pi);
    apr_time_t start = apr_time_now();
    BOOL ok = CreateProcessW(interp, cmd, NULL, NULL, TRUE, flags, environment(pool), sysdir,
                             &si.StartupInfo, &pi);
    DWORD e = GetLastError();
    if (si.lpAttributeList)
        DeleteProcThreadAttributeList(attrs);
    CloseHandle(wr);
    CloseHandle(nul);
    if (!ok) {
        CloseHandle(rd);
        CloseHandle(job);
        return APR_FROM_OS_ERROR(e);
    }
    if (!AssignProcessToJobObject(job, pi.hProcess)) {
        /* Outside a job nothing could kill its children at the timeout. */
        e = GetLastError();
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, INFINITE);
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
        CloseHandle(rd);
        CloseHandle(job);
        return APR_FROM_OS_ERROR(e);
    }
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);

    apr_time_t deadline = start + timeout;
    for (;;) {
        drain(rd, res, limit);
        apr_interval_time_t left = deadline - apr_time_now();
        int stop = opts && opts->cancel && atomic_load(opts->cancel);
        if (left <= 0 || stop) {
            res->timed_out = !stop;
            res->cancelled = stop;
            TerminateJobObject(job, 1);
            WaitForSingleObject(pi.hProcess, 5000);
            break;
        }
        DWORD ms = left > 50000 ? 50 : (DWORD)(left / 1000) + 1;
        if (WaitForSingleObject(pi.hProcess, ms) == WAIT_OBJECT_0)
            break;
    }
    drain(rd, res, limit);
    DWORD code = 0;
    if (!res->timed_out && !res->cancelled && GetExitCodeProcess(pi.hProcess, &code))
        res->exit_code = (int)code;
    res->duration = apr_time_now() - start;
    res->output[res->output_len] = 0;
    CloseHandle(pi.hProcess);
    CloseHandle(rd);
    CloseHandle(job); /* no KILL_ON_JOB_CLOSE: what the script left running stays */
    return APR_SUCCESS;
}

/* Whether sid is one that may write anything anyway. */
static int trusted_sid(PSID sid, PSID owner)
{
    static const WELL_KNOWN_SID_TYPE ok[] = {WinLocalSystemSid, WinBuiltinAdministratorsSid,
                                             WinCreatorOwnerSid};
    if (owner && EqualSid(sid, owner))
        return 1;
    for (size_t i = 0; i < KT_ARRAY_SIZE(ok); i++)
        if (IsWellKnownSid(sid, ok[i]))
            return 1;
    wchar_t *s = NULL;
    int ti = 0;
    if (ConvertSidToStringSidW(sid, &s)) { /* NT SERVICE\TrustedInstaller */
        ti = wcsncmp(s, L"S-1-5-80-956008885-", 19) == 0;
        LocalFree(s);
    }
    return ti;
}

apr_status_t kt_sys_owner_only(const char *path, int *ok, const char **why, apr_pool_t *pool)
{
    *ok = 0;
    *why = NULL;
    wchar_t *wpath = kt_utf16(path, pool);
    if (!wpath)
        return APR_EINVAL;
    PSID owner = NULL;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD e = GetNamedSecurityInfoW(wpath, SE_FILE_OBJECT,
                                    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                    &owner, NULL, &dacl, NULL, &sd);
    if (e != ERROR_SUCCESS)
        return APR_FROM_OS_ERROR(e);
    const DWORD write = FILE_WRITE_DATA | FILE_APPEND_DATA | WRITE_DAC | WRITE_OWNER | DELETE |
                        GENERIC_WRITE | GENERIC_ALL | FILE_DELETE_CHILD;
    if (!dacl) {
        *why = apr_psprintf(pool, "%s has no access list: everyone may change it", path);
    } else {
        for (DWORD i = 0; i < dacl->AceCount && !*why; i++) {
            ACE_HEADER *h = NULL;
            if (!GetAce(dacl, i, (void **)&h) || h->AceType != ACCESS_ALLOWED_ACE_TYPE ||
                (h->AceFlags & INHERIT_ONLY_ACE))
                continue;
            ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)h;
            PSID sid = (PSID)&a->SidStart;
            if ((a->Mask & write) && !trusted_sid(sid, owner)) {
                wchar_t *s = NULL;
                char *name = NULL;
                if (ConvertSidToStringSidW(sid, &s)) {
                    name = kt_utf8(s, pool);
                    LocalFree(s);
                }
                *why = apr_psprintf(pool, "%s can be changed by %s", path, name ? name : "another user");
            }
        }
    }
    LocalFree(sd);
    *ok = *why == NULL;
    return APR_SUCCESS;
}

/* Remediation as root is a POSIX path (koto-run-approved); a Windows
 * service runs with the rights its account was given. */
apr_status_t kt_sys_run_approved(const char *socket_path, const char *name, const char *sha256,
                                 int dry_run, const kt_sys_run_opts_t *opts,
                                 kt_sys_run_result_t *res, apr_pool_t *pool)
{
    (void)socket_path, (void)name, (void)sha256, (void)dry_run, (void)opts, (void)pool;
    memset(res, 0, sizeof *res);
    return APR_ENOTIMPL;
}

int kt_sys_stdin_peer_is(const char *user, const char **why, apr_pool_t *pool)
{
    (void)user, (void)why, (void)pool;
    return -1;
}

apr_status_t kt_sys_read_owned(const char *dir, const char *name, const char *user, apr_size_t max,
                               char **data, apr_size_t *len, const char **why, apr_pool_t *pool)
{
    (void)dir, (void)name, (void)user, (void)max, (void)data, (void)len, (void)pool;
    *why = "not on Windows";
    return APR_ENOTIMPL;
}
