/*
 * test_win_files.c - the files kotod writes and serves on Windows (under
 * Wine in CI: scripts/win-test.sh): saving a fix script into the scripts
 * directory (platform/windows/save.c), the API token file and the state directory's DACL
 * (platform/windows/files.c, kt_api_load_token, kt_sys_private_dir), and the dashboard's
 * confinement to web_dir (platform/windows/files.c, kt_sys_open_confined).
 *
 * Links: each link test first tries to make a real one (CreateSymbolicLinkW,
 * and a junction with FSCTL_SET_REPARSE_POINT) and checks that it exists.
 * Wine 8 cannot make either (CreateSymbolicLinkW returns TRUE and creates
 * nothing; the FSCTL fails with ERROR_NOT_SUPPORTED); then that case is
 * skipped with the reason printed. What Wine does have are Unix symlinks
 * and FIFOs, which it shows to Windows programs as plain files, directories
 * (reparse points by path only) and pipes: tests/windows/unix_links.sh plants
 * those and names the directory in KT_UNIX_LINKS, and the unix_links group
 * checks that they are refused all the same (by the final-path and
 * GetFileType checks).
 *
 * DACLs: the descriptors platform/windows/files.c applies are parsed and checked to be
 * exactly SYSTEM and Administrators, full access, protected, everywhere.
 * Read back from the files, that holds on Windows only: Wine keeps no
 * security descriptor on files, it derives one from the Unix mode bits
 * (owner, group, other), so under Wine the token's DACL is checked to give
 * nothing to Everyone, Users or Authenticated Users (a file made without
 * our DACL gets an Everyone ACE there).
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <winioctl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "kt_sys.h"
#include "kt_api.h"
#include "kt_rules.h"

static apr_pool_t *pool;
static char base[MAX_PATH * 3];   /* this run's directory under %TEMP%, UTF-8 */
static unsigned seq;

static int under_wine(void)
{
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    return nt && GetProcAddress(nt, "wine_get_version") != NULL;
}

/* ---- small helpers --------------------------------------------------------------------------- */

static wchar_t *wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
    assert_true(n > 0);
    wchar_t *w = apr_palloc(pool, (apr_size_t)n * sizeof *w);
    assert_int_equal(MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n), n);
    return w;
}

static char *utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    assert_true(n > 0);
    char *s = apr_palloc(pool, (apr_size_t)n);
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

static const char *join(const char *a, const char *b) { return apr_pstrcat(pool, a, "\\", b, NULL); }

/* A new directory under base. */
static const char *fresh_dir(const char *prefix)
{
    const char *p = apr_psprintf(pool, "%s\\%s%u", base, prefix, ++seq);
    assert_true(CreateDirectoryW(wide(p), NULL));
    return p;
}

static void write_file(const char *path, const char *text)
{
    HANDLE h = CreateFileW(wide(path), GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    DWORD n = (DWORD)strlen(text), done = 0;
    assert_true(WriteFile(h, text, n, &done, NULL) && done == n);
    CloseHandle(h);
}

/* The file's bytes as a string, or NULL when it cannot be opened. */
static char *read_file(const char *path)
{
    HANDLE h = CreateFileW(wide(path), GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return NULL;
    char *buf = apr_pcalloc(pool, 65536);
    DWORD got = 0;
    ReadFile(h, buf, 65535, &got, NULL);
    CloseHandle(h);
    return buf;
}

static int exists(const char *path)
{
    return GetFileAttributesW(wide(path)) != INVALID_FILE_ATTRIBUTES;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir (not . and ..), sorted, joined by ' '. */
static const char *listing(const char *dir)
{
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW(wide(join(dir, "*")), &fd);
    assert_true(h != INVALID_HANDLE_VALUE);
    apr_array_header_t *names = apr_array_make(pool, 8, sizeof(char *));
    do {
        if (wcscmp(fd.cFileName, L".") != 0 && wcscmp(fd.cFileName, L"..") != 0)
            *(char **)apr_array_push(names) = utf8(fd.cFileName);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_name);
    return apr_array_pstrcat(pool, names, ' ');
}

/* Removes path and everything under it; links are removed, never followed. */
static void remove_tree(const wchar_t *path)
{
    DWORD a = GetFileAttributesW(path);
    if (a == INVALID_FILE_ATTRIBUTES)
        return;
    if ((a & FILE_ATTRIBUTE_DIRECTORY) && !(a & FILE_ATTRIBUTE_REPARSE_POINT)) {
        size_t n = wcslen(path);
        wchar_t *pat = malloc((n + 3) * sizeof *pat);
        swprintf(pat, n + 3, L"%ls\\*", path);
        WIN32_FIND_DATAW fd;
        HANDLE h = FindFirstFileW(pat, &fd);
        if (h != INVALID_HANDLE_VALUE) {
            do {
                if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
                    continue;
                size_t m = n + wcslen(fd.cFileName) + 2;
                wchar_t *child = malloc(m * sizeof *child);
                swprintf(child, m, L"%ls\\%ls", path, fd.cFileName);
                remove_tree(child);
                free(child);
            } while (FindNextFileW(h, &fd));
            FindClose(h);
        }
        free(pat);
        RemoveDirectoryW(path);
    } else if (a & FILE_ATTRIBUTE_DIRECTORY) {
        RemoveDirectoryW(path); /* a directory link or junction: the link only */
    } else {
        SetFileAttributesW(path, FILE_ATTRIBUTE_NORMAL);
        DeleteFileW(path);
    }
}

/* ---- making links, where the system can --------------------------------------------------- */

static int is_reparse_point(const char *path)
{
    DWORD a = GetFileAttributesW(wide(path));
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_REPARSE_POINT);
}

/* A symbolic link at link to target; 1 when it really exists afterwards. */
static int make_symlink(const char *link, const char *target, int dir)
{
    DWORD flags = (dir ? SYMBOLIC_LINK_FLAG_DIRECTORY : 0) |
                  0x2 /* SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE (developer mode) */;
    if (!CreateSymbolicLinkW(wide(link), wide(target), flags) &&
        !CreateSymbolicLinkW(wide(link), wide(target), flags & ~0x2u))
        return 0;
    return is_reparse_point(link);
}

/* The mount point reparse buffer (REPARSE_DATA_BUFFER's MountPointReparseBuffer). */
typedef struct {
    DWORD tag;
    WORD data_len, reserved;
    WORD sub_off, sub_len, print_off, print_len;
    WCHAR path[1024];
} mount_point_t;

/* A junction at link to the directory target; 1 when it really exists afterwards. */
static int make_junction(const char *link, const char *target)
{
    if (!CreateDirectoryW(wide(link), NULL))
        return 0;
    HANDLE h = CreateFileW(wide(link), GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        RemoveDirectoryW(wide(link));
        return 0;
    }
    mount_point_t mp = {0};
    wchar_t *sub = wide(apr_pstrcat(pool, "\\??\\", target, NULL));
    size_t n = wcslen(sub);
    mp.tag = IO_REPARSE_TAG_MOUNT_POINT;
    mp.sub_off = 0;
    mp.sub_len = (WORD)(n * sizeof(WCHAR));
    mp.print_off = (WORD)((n + 1) * sizeof(WCHAR));
    mp.print_len = 0;
    memcpy(mp.path, sub, (n + 1) * sizeof(WCHAR));
    mp.path[n + 1] = 0;
    mp.data_len = (WORD)(8 + (n + 2) * sizeof(WCHAR));
    DWORD ret;
    BOOL ok = DeviceIoControl(h, FSCTL_SET_REPARSE_POINT, &mp, 8 + mp.data_len, NULL, 0, &ret,
                              NULL);
    CloseHandle(h);
    if (!ok || !is_reparse_point(link)) {
        RemoveDirectoryW(wide(link));
        return 0;
    }
    return 1;
}

static const char *no_links_reason(void)
{
    return under_wine()
               ? "Wine cannot make them (CreateSymbolicLinkW is a stub that creates nothing, "
                 "FSCTL_SET_REPARSE_POINT fails); the unix_links group covers links under Wine"
               : "this account may not create symbolic links and junctions failed too";
}

/* ---- fixtures ---------------------------------------------------------------------------------- */

static int setup(void **state)
{
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return -1;
    wchar_t tmp[MAX_PATH];
    DWORD n = GetTempPathW(MAX_PATH, tmp);
    if (n == 0 || n >= MAX_PATH)
        return -1;
    snprintf(base, sizeof base, "%skt-files-%lu-%lu", utf8(tmp), GetCurrentProcessId(),
             GetTickCount());
    return CreateDirectoryW(wide(base), NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    remove_tree(wide(base));
    apr_pool_destroy(pool);
    return 0;
}

/* ---- saving scripts --------------------------------------------------------------------------- */

static apr_status_t save(const char *dir, const char *name, const char *text, int overwrite,
                         char *err)
{
    err[0] = '\0';
    return kt_rules_save_script(dir, name, text, strlen(text), overwrite, 0, err, 256);
}

static void test_save_writes_under_the_dir(void **state)
{
    const char *dir = join(fresh_dir("s"), "scripts"); /* created by the first save */
    char err[256];
    assert_int_equal(save(dir, "fix_cpu_high.ps1", "Write-Output 1\r\n", 0, err), APR_SUCCESS);
    assert_string_equal(read_file(join(dir, "fix_cpu_high.ps1")), "Write-Output 1\r\n");
    assert_int_equal(save(dir, "fix_disk_full.sh", "echo one\n", 0, err), APR_SUCCESS);
    assert_string_equal(listing(dir), "fix_cpu_high.ps1 fix_disk_full.sh");

    /* Forward slashes and a trailing separator in the configured directory are fine. */
    char *slashed = apr_pstrdup(pool, dir);
    for (char *p = slashed; *p; p++)
        if (*p == '\\')
            *p = '/';
    assert_int_equal(save(apr_pstrcat(pool, slashed, "/", NULL), "fix_mem.ps1", "x", 0, err),
                     APR_SUCCESS);
    assert_true(exists(join(dir, "fix_mem.ps1")));

    /* Exists: refused without overwrite (EEXIST, the API's 409), replaced with it. */
    apr_status_t rv = save(dir, "fix_cpu_high.ps1", "Write-Output 2\r\n", 0, err);
    assert_true(APR_STATUS_IS_EEXIST(rv));
    assert_non_null(strstr(err, "exists"));
    assert_string_equal(read_file(join(dir, "fix_cpu_high.ps1")), "Write-Output 1\r\n");
    assert_int_equal(save(dir, "fix_cpu_high.ps1", "two\r\n", 1, err), APR_SUCCESS);
    assert_string_equal(read_file(join(dir, "fix_cpu_high.ps1")), "two\r\n"); /* truncated */
    /* Names differ only in case on NTFS: the same file. */
    assert_true(APR_STATUS_IS_EEXIST(save(dir, "FIX_CPU_HIGH.PS1", "x", 0, err)));
    assert_int_equal(save(dir, "FIX_CPU_HIGH.PS1", "three\r\n", 1, err), APR_SUCCESS);
    assert_string_equal(read_file(join(dir, "fix_cpu_high.ps1")), "three\r\n");
    assert_string_equal(listing(dir), "fix_cpu_high.ps1 fix_disk_full.sh fix_mem.ps1");

    /* Overwrite of a name not there yet creates it. */
    assert_int_equal(save(dir, "new.ps1", "n", 1, err), APR_SUCCESS);
    assert_string_equal(read_file(join(dir, "new.ps1")), "n");
    /* An empty script is a file too. */
    assert_int_equal(save(dir, "empty.ps1", "", 0, err), APR_SUCCESS);
    assert_string_equal(read_file(join(dir, "empty.ps1")), "");
}

static void test_save_refuses_names(void **state)
{
    const char *top = fresh_dir("n"), *dir = join(top, "scripts");
    char err[256];
    assert_int_equal(save(dir, "ok.ps1", "x", 0, err), APR_SUCCESS);
    const char *windir = getenv("SystemRoot") ? getenv("SystemRoot") : "C:\\Windows";
    const char *refused[] = {
        "..\\x.ps1", "../x.ps1", "..", ".", "", "a\\b.ps1", "a/b.ps1",
        /* absolute paths, drive-relative, UNC, device namespace */
        apr_pstrcat(pool, top, "\\abs.ps1", NULL), apr_pstrcat(pool, windir, "\\kt.ps1", NULL),
        "C:kt.ps1", "\\\\localhost\\C$\\kt.ps1", "\\\\.\\pipe\\kt", "\\\\?\\C:\\kt.ps1",
        "/etc/passwd",
        /* alternate data streams */
        "ok.ps1:evil", "ok.ps1::$DATA", "x:y.ps1", "ok.ps1:evil:$DATA",
        /* device names, with any extension, case or trailing spaces */
        "CON", "con", "con.ps1", "NUL", "nul.txt", "PRN.ps1", "AUX", "COM1", "com9.log", "LPT1",
        "lpt9.ps1", "CON .ps1", "NUL  .txt", "CONIN$", "conout$.ps1", "CLOCK$",
        "COM\xc2\xb9.ps1", "LPT\xc2\xb2",
        /* what Win32 would silently change, or never allow */
        "fix.ps1.", "fix.ps1 ", "a*b.ps1", "a?b.ps1", "a|b.ps1", "a<b.ps1", "a>b.ps1",
        "a\"b.ps1",
        /* leading dot or dash, control characters */
        ".hidden", "-rf", "a\tb", "a\nb.ps1", "a..b",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        for (int overwrite = 0; overwrite <= 1; overwrite++) {
            if (save(dir, refused[i], "pwned", overwrite, err) == APR_SUCCESS)
                fail_msg("saved under the name \"%s\"", refused[i]);
            if (!err[0])
                fail_msg("no reason given for \"%s\"", refused[i]);
        }
    }
    print_message("e.g. \"ok.ps1:evil\": %s\n", (save(dir, "ok.ps1:evil", "x", 1, err), err));
    print_message("e.g. \"CON .ps1\": %s\n", (save(dir, "CON .ps1", "x", 1, err), err));
    /* Nothing was written anywhere: not in the directory (no stream on ok.ps1
     * either), not beside it, not under the Windows directory. */
    assert_string_equal(listing(dir), "ok.ps1");
    assert_string_equal(listing(top), "scripts");
    assert_string_equal(read_file(join(dir, "ok.ps1")), "x");
    assert_false(exists(join(dir, "ok.ps1:evil")));
    assert_false(exists(apr_pstrcat(pool, windir, "\\kt.ps1", NULL)));
    assert_false(exists("C:\\kt.ps1"));
    /* Text that is not UTF-8, in the name or the directory. */
    assert_int_not_equal(save(dir, "bad\xff.ps1", "x", 0, err), APR_SUCCESS);
    assert_int_not_equal(save(apr_pstrcat(pool, dir, "\xc3", NULL), "x.ps1", "x", 0, err),
                         APR_SUCCESS);
    /* A name that is fine on Windows and not plain ASCII. */
    assert_int_equal(save(dir, "r\xc3\xa9paration.ps1", "\xc3\xa9", 0, err), APR_SUCCESS);
    assert_true(exists(join(dir, "r\xc3\xa9paration.ps1")));
}

static void test_save_refuses_what_is_not_a_file(void **state)
{
    const char *top = fresh_dir("d"), *dir = join(top, "scripts");
    char err[256];
    assert_int_equal(save(dir, "ok.ps1", "x", 0, err), APR_SUCCESS);
    /* A directory under the name. */
    assert_true(CreateDirectoryW(wide(join(dir, "sub.ps1")), NULL));
    for (int overwrite = 0; overwrite <= 1; overwrite++) {
        assert_int_not_equal(save(dir, "sub.ps1", "x", overwrite, err), APR_SUCCESS);
        print_message("directory, overwrite %d: %s\n", overwrite, err);
    }
    assert_string_equal(listing(join(dir, "sub.ps1")), "");
    /* The scripts directory is a file. */
    write_file(join(top, "plain"), "p");
    assert_int_not_equal(save(join(top, "plain"), "x.ps1", "x", 0, err), APR_SUCCESS);
    print_message("scripts dir is a file: %s\n", err);
    assert_string_equal(read_file(join(top, "plain")), "p");
    /* Its parent is missing: only the last component is created (as mkdir). */
    assert_int_not_equal(save(join(top, "no\\such"), "x.ps1", "x", 0, err), APR_SUCCESS);
    assert_false(exists(join(top, "no")));
    /* A file with a second hard link would write somewhere else too. */
    write_file(join(top, "elsewhere.ps1"), "original");
    if (CreateHardLinkW(wide(join(dir, "linked.ps1")), wide(join(top, "elsewhere.ps1")), NULL)) {
        assert_int_not_equal(save(dir, "linked.ps1", "pwned", 1, err), APR_SUCCESS);
        print_message("hard link: %s\n", err);
        assert_string_equal(read_file(join(top, "elsewhere.ps1")), "original");
    } else {
        print_message("CreateHardLinkW failed (%lu): the hard-link case is not tried\n",
                      GetLastError());
    }
    /* A file someone holds open without sharing: an error, not a hang. */
    HANDLE h = CreateFileW(wide(join(dir, "ok.ps1")), GENERIC_READ, 0, NULL, OPEN_EXISTING, 0,
                           NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_int_not_equal(save(dir, "ok.ps1", "y", 1, err), APR_SUCCESS);
    CloseHandle(h);
    assert_string_equal(read_file(join(dir, "ok.ps1")), "x");
}

static void test_save_refuses_links(void **state)
{
    const char *top = fresh_dir("l"), *dir = join(top, "scripts"), *outdir = join(top, "outdir");
    char err[256];
    assert_int_equal(save(dir, "ok.ps1", "x", 0, err), APR_SUCCESS);
    assert_true(CreateDirectoryW(wide(outdir), NULL));
    write_file(join(top, "outside.txt"), "original\n");

    int tried = 0;
    /* A file symlink, a dangling one, a directory symlink under the name. */
    if (make_symlink(join(dir, "evil.ps1"), join(top, "outside.txt"), 0)) {
        tried++;
        make_symlink(join(dir, "dangling.ps1"), join(top, "missing.txt"), 0);
        make_symlink(join(dir, "dlink.ps1"), outdir, 1);
        for (int overwrite = 0; overwrite <= 1; overwrite++) {
            assert_int_not_equal(save(dir, "evil.ps1", "pwned", overwrite, err), APR_SUCCESS);
            print_message("file symlink, overwrite %d: %s\n", overwrite, err);
            assert_int_not_equal(save(dir, "dangling.ps1", "pwned", overwrite, err),
                                 APR_SUCCESS);
            assert_int_not_equal(save(dir, "dlink.ps1", "pwned", overwrite, err), APR_SUCCESS);
        }
        assert_true(is_reparse_point(join(dir, "evil.ps1")));
        assert_false(exists(join(top, "missing.txt")));
        assert_string_equal(listing(outdir), "");
    }
    /* The scripts directory itself a symlink, or a junction, to another directory. */
    if (make_symlink(join(top, "dirlink"), outdir, 1)) {
        tried++;
        assert_int_not_equal(save(join(top, "dirlink"), "x.ps1", "pwned", 0, err), APR_SUCCESS);
        print_message("scripts dir a symlink: %s\n", err);
    }
    if (make_junction(join(top, "junction"), outdir)) {
        tried++;
        assert_int_not_equal(save(join(top, "junction"), "x.ps1", "pwned", 0, err), APR_SUCCESS);
        print_message("scripts dir a junction: %s\n", err);
        /* A junction under the name. */
        assert_true(make_junction(join(dir, "jn.ps1"), outdir));
        assert_int_not_equal(save(dir, "jn.ps1", "pwned", 1, err), APR_SUCCESS);
    }
    assert_string_equal(listing(outdir), "");
    assert_string_equal(read_file(join(top, "outside.txt")), "original\n");
    if (!tried) {
        print_message("symbolic links and junctions: not tried: %s\n", no_links_reason());
        skip();
    }
}

/* ---- the token file and the state directory ----------------------------------------------- */

static PSID well_known(WELL_KNOWN_SID_TYPE type)
{
    DWORD n = SECURITY_MAX_SID_SIZE;
    PSID sid = apr_palloc(pool, n);
    assert_true(CreateWellKnownSid(type, NULL, sid, &n));
    return sid;
}

/* The DACL of path, as SDDL for messages, and whether it is protected. */
static PACL dacl_of(const char *path, int *protect, const char **sddl)
{
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD e = GetNamedSecurityInfoW(wide(path), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL,
                                    NULL, &dacl, NULL, &sd);
    if (e != ERROR_SUCCESS)
        fail_msg("GetNamedSecurityInfoW %s: %lu", path, e);
    SECURITY_DESCRIPTOR_CONTROL ctl = 0;
    DWORD rev;
    assert_true(GetSecurityDescriptorControl(sd, &ctl, &rev));
    *protect = (ctl & SE_DACL_PROTECTED) != 0;
    LPWSTR text = NULL;
    *sddl = ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1,
                                                                 DACL_SECURITY_INFORMATION,
                                                                 &text, NULL)
                ? utf8(text)
                : "?";
    LocalFree(text);
    /* The DACL lives inside sd: copy it into the pool before freeing sd. */
    PACL copy = NULL;
    if (dacl) {
        copy = apr_palloc(pool, dacl->AclSize);
        memcpy(copy, dacl, dacl->AclSize);
    }
    LocalFree(sd);
    return copy;
}

/* Exactly two allow ACEs, SYSTEM and Administrators, full access, with
 * these ACE flags; and the DACL protected. */
static void assert_only_system_and_admins_in(PACL dacl, int protect, BYTE flags)
{
    assert_non_null(dacl);
    assert_true(protect);
    assert_int_equal(dacl->AceCount, 2);
    PSID sy = well_known(WinLocalSystemSid), ba = well_known(WinBuiltinAdministratorsSid);
    int seen_sy = 0, seen_ba = 0;
    for (WORD i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace;
        assert_true(GetAce(dacl, i, (void **)&ace));
        assert_int_equal(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
        assert_int_equal(ace->Header.AceFlags, flags);
        assert_int_equal(ace->Mask & FILE_ALL_ACCESS, FILE_ALL_ACCESS);
        PSID sid = (PSID)&ace->SidStart;
        seen_sy += EqualSid(sid, sy) != 0;
        seen_ba += EqualSid(sid, ba) != 0;
    }
    assert_int_equal(seen_sy, 1);
    assert_int_equal(seen_ba, 1);
}

/* The same of the file or directory at path, read back from the system. */
static void assert_only_system_and_admins(const char *path, BYTE flags)
{
    int protect;
    const char *sddl;
    PACL dacl = dacl_of(path, &protect, &sddl);
    print_message("%s: %s\n", path, sddl);
    assert_only_system_and_admins_in(dacl, protect, flags);
}

/* The same of the descriptor platform/windows/files.c applies (the SDDL it parses). */
static void assert_descriptor(const wchar_t *sddl, BYTE flags)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd,
                                                                     NULL));
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    SECURITY_DESCRIPTOR_CONTROL ctl = 0;
    DWORD rev;
    assert_true(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) && present);
    assert_true(GetSecurityDescriptorControl(sd, &ctl, &rev));
    assert_only_system_and_admins_in(dacl, (ctl & SE_DACL_PROTECTED) != 0, flags);
    LocalFree(sd);
}

/* Under Wine: no ACE lets Everyone, Users or Authenticated Users in. */
static int opens_to_anyone(const char *path, const char **sddl)
{
    int protect;
    PACL dacl = dacl_of(path, &protect, sddl);
    if (!dacl)
        return 1; /* a NULL DACL is everyone */
    PSID wd = well_known(WinWorldSid), bu = well_known(WinBuiltinUsersSid),
         au = well_known(WinAuthenticatedUserSid);
    for (WORD i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace;
        assert_true(GetAce(dacl, i, (void **)&ace));
        PSID sid = (PSID)&ace->SidStart;
        if (ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE &&
            (EqualSid(sid, wd) || EqualSid(sid, bu) || EqualSid(sid, au)))
            return 1;
    }
    return 0;
}

/* What platform/windows/files.c applies, parsed as Windows parses it: exactly SYSTEM and
 * Administrators, protected (Wine too, where it cannot be read back from a file). */
static void test_descriptors(void **state)
{
    assert_descriptor(kt__sys_secret_sddl, 0);
    assert_descriptor(kt__sys_dir_sddl, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
}

static void test_token_file(void **state)
{
    const char *dir = fresh_dir("state"), *path = join(dir, "token");
    const char *token = NULL, *again = NULL;
    int created = 0;
    assert_int_equal(kt_api_load_token(path, &token, &created, pool), APR_SUCCESS);
    assert_true(created);
    assert_int_equal(strlen(token), 64);
    assert_int_equal(strspn(token, "0123456789abcdef"), 64);
    assert_string_equal(read_file(path), apr_pstrcat(pool, token, "\n", NULL));
    assert_int_equal(kt_api_load_token(path, &again, &created, pool), APR_SUCCESS);
    assert_false(created);
    assert_string_equal(again, token);
    /* A token file that protects nothing is an error, not a token. */
    write_file(join(dir, "short"), "abc\r\n");
    assert_int_not_equal(kt_api_load_token(join(dir, "short"), &again, &created, pool),
                         APR_SUCCESS);

    if (!under_wine()) {
        assert_only_system_and_admins(path, 0);
        return;
    }
    /* Wine: no protected DACL to read back (see the top of this file). */
    const char *sddl, *plain_sddl;
    write_file(join(dir, "plain"), "p");
    int plain_open = opens_to_anyone(join(dir, "plain"), &plain_sddl);
    if (opens_to_anyone(path, &sddl))
        fail_msg("the token file's DACL lets Everyone, Users or Authenticated Users in: %s",
                 sddl);
    print_message("Wine derives DACLs from Unix mode bits: the token reads back as %s; a file "
                  "made without our DACL as %s%s\n",
                  sddl, plain_sddl, plain_open ? " (Everyone may read it)" : "");
}

static void test_protect_dir(void **state)
{
    const char *dir = fresh_dir("prot");
    assert_int_equal(kt_sys_private_dir(dir, pool), APR_SUCCESS);
    /* A missing directory is made, its missing parents too. */
    const char *deep = join(join(dir, "a"), "b");
    assert_int_equal(kt_sys_private_dir(deep, pool), APR_SUCCESS);
    assert_true(exists(deep));
    /* A file in its place is no directory. */
    assert_int_equal(save(dir, "plain", "x", 0, (char[256]){0}), APR_SUCCESS);
    assert_int_not_equal(kt_sys_private_dir(join(dir, "plain"), pool), APR_SUCCESS);
    /* A token made inside keeps its own, protected DACL. */
    const char *token;
    int created;
    assert_int_equal(kt_api_load_token(join(dir, "token"), &token, &created, pool), APR_SUCCESS);
    if (under_wine()) {
        int protect;
        const char *sddl;
        dacl_of(dir, &protect, &sddl);
        print_message("Wine keeps no protected DACL on directories (it maps the ACEs to Unix "
                      "mode bits); the state directory reads back as %s\n", sddl);
        return;
    }
    assert_only_system_and_admins(dir, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
    assert_only_system_and_admins(join(dir, "token"), 0);
    /* A scripts directory platform/windows/save.c creates gets the same. */
    char err[256];
    assert_int_equal(save(join(dir, "scripts"), "x.ps1", "x", 0, err), APR_SUCCESS);
    assert_only_system_and_admins(join(dir, "scripts"), OBJECT_INHERIT_ACE |
                                                            CONTAINER_INHERIT_ACE);
}

/* ---- the dashboard's files ------------------------------------------------------------------ */

/* root/name opened through the confinement: its bytes, or NULL when refused. */
static const char *serve(const char *root, const char *name)
{
    apr_file_t *f;
    apr_off_t size = -1;
    if (kt_sys_open_confined(&f, &size, root, name, pool) != APR_SUCCESS)
        return NULL;
    char *buf = apr_pcalloc(pool, (apr_size_t)size + 1);
    apr_size_t got = 0;
    apr_status_t st = apr_file_read_full(f, buf, (apr_size_t)size, &got);
    apr_file_close(f);
    assert_true(st == APR_SUCCESS || (APR_STATUS_IS_EOF(st) && size == 0));
    assert_int_equal(got, (apr_size_t)size);
    return buf;
}

static void test_web_confinement(void **state)
{
    const char *top = fresh_dir("w"), *web = join(top, "web");
    assert_true(CreateDirectoryW(wide(web), NULL));
    assert_true(CreateDirectoryW(wide(join(web, "sub")), NULL));
    write_file(join(web, "index.html"), "<p>index</p>\n");
    write_file(join(web, "sub\\page.html"), "<p>page</p>\n");
    write_file(join(web, "empty.css"), "");
    write_file(join(top, "secret.txt"), "secret\n");
    write_file(join(top, "web-other.html"), "prefix, not inside\n");

    assert_string_equal(serve(web, "index.html"), "<p>index</p>\n");
    assert_string_equal(serve(web, "sub/page.html"), "<p>page</p>\n");
    assert_string_equal(serve(web, "empty.css"), "");
    /* NTFS names are case-insensitive, and web_dir may be spelled any way. */
    assert_string_equal(serve(web, "SUB/Page.HTML"), "<p>page</p>\n");
    char *odd = apr_pstrdup(pool, web);
    for (char *p = odd; *p; p++)
        *p = *p == '\\' ? '/' : (char)toupper((unsigned char)*p);
    assert_string_equal(serve(odd, "index.html"), "<p>index</p>\n");
    assert_string_equal(serve(apr_pstrcat(pool, web, "\\", NULL), "index.html"),
                        "<p>index</p>\n");

    static const char *const refused[] = {
        "../secret.txt", "..\\secret.txt", "sub/../../secret.txt", "../web-other.html",
        "sub", "sub/", "missing.html", "",
        "index.html:stream", "index.html::$DATA", "C:/Windows/win.ini", "c:secret.txt",
        "nul", "NUL.js", "con.html", "sub/aux.css", "COM1.js", "lpt1", "CON .html",
        "sub/CONOUT$", "COM\xc2\xb9.js",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (serve(web, refused[i]))
            fail_msg("served \"%s\"", refused[i]);
    /* A web_dir that does not exist serves nothing. */
    assert_null(serve(join(top, "nope"), "index.html"));

    int tried = 0;
    if (make_symlink(join(web, "leak.html"), join(top, "secret.txt"), 0)) {
        tried++;
        assert_null(serve(web, "leak.html"));
        /* A link that stays inside is fine. */
        if (make_symlink(join(web, "alias.html"), join(web, "index.html"), 0))
            assert_string_equal(serve(web, "alias.html"), "<p>index</p>\n");
    }
    if (make_junction(join(web, "jn"), top)) {
        tried++;
        assert_null(serve(web, "jn/secret.txt"));
    }
    if (!tried)
        print_message("links out of web_dir: not tried here: %s\n", no_links_reason());
}

/* ---- what "auto" means here ---------------------------------------------------------------- */

static void test_native_defaults(void **state)
{
    /* script_os "auto" gives PowerShell on a Windows build (scripts.c). */
    assert_string_equal(kt_sys_os_name(), "windows");
    /* A saved script's path is reported with Windows separators. */
    assert_string_equal(kt_sys_join_path("C:\\ProgramData\\koto\\scripts", "fix.ps1", pool),
                        "C:\\ProgramData\\koto\\scripts\\fix.ps1");
    assert_string_equal(kt_sys_join_path("C:/koto/scripts/", "fix.ps1", pool),
                        "C:/koto/scripts/fix.ps1");
}

/* ---- links Wine shows from the Unix side (tests/windows/unix_links.sh) --------------------- */

static const char *unix_links;

static void test_unix_links_save(void **state)
{
    if (!unix_links) {
        print_message("KT_UNIX_LINKS is not set: run through tests/windows/unix_links.sh\n");
        skip();
    }
    const char *dir = join(unix_links, "scripts"), *outside = join(unix_links, "outside.txt");
    char err[256];
    static const char *const names[] = {"evil.ps1", "dangling.ps1", "dlink.ps1", "fifo.ps1"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (int overwrite = 0; overwrite <= 1; overwrite++) {
            if (save(dir, names[i], "pwned\n", overwrite, err) == APR_SUCCESS)
                fail_msg("saved through %s (overwrite %d)", names[i], overwrite);
            print_message("%s, overwrite %d: %s\n", names[i], overwrite, err);
        }
    assert_string_equal(read_file(outside), "original\n");
    assert_false(exists(join(unix_links, "nonexistent")));
    assert_string_equal(listing(join(unix_links, "outdir")), "x.html");
    /* The scripts directory itself a symlink. */
    assert_int_not_equal(save(join(unix_links, "linked-scripts"), "x.ps1", "pwned", 0, err),
                         APR_SUCCESS);
    print_message("linked-scripts: %s\n", err);
    /* And a plain save there still works. */
    assert_int_equal(save(dir, "fine.ps1", "fine", 0, err), APR_SUCCESS);
    assert_string_equal(read_file(join(dir, "fine.ps1")), "fine");
}

static void test_unix_links_web(void **state)
{
    if (!unix_links) {
        print_message("KT_UNIX_LINKS is not set: run through tests/windows/unix_links.sh\n");
        skip();
    }
    const char *web = join(unix_links, "web");
    assert_string_equal(serve(web, "index.html"), "<p>in</p>\n");
    assert_null(serve(web, "leak.html"));
    assert_null(serve(web, "sub/x.html"));
    assert_string_equal(serve(web, "alias.html"), "<p>in</p>\n");
}

int main(void)
{
    apr_initialize();
    unix_links = getenv("KT_UNIX_LINKS");
    const struct CMUnitTest save_tests[] = {
        cmocka_unit_test(test_save_writes_under_the_dir),
        cmocka_unit_test(test_save_refuses_names),
        cmocka_unit_test(test_save_refuses_what_is_not_a_file),
        cmocka_unit_test(test_save_refuses_links),
    };
    const struct CMUnitTest secret_tests[] = {
        cmocka_unit_test(test_descriptors),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_protect_dir),
    };
    const struct CMUnitTest web_tests[] = {
        cmocka_unit_test(test_web_confinement),
        cmocka_unit_test(test_native_defaults),
    };
    const struct CMUnitTest unix_tests[] = {
        cmocka_unit_test(test_unix_links_save),
        cmocka_unit_test(test_unix_links_web),
    };
    int failed = cmocka_run_group_tests_name("save", save_tests, setup, teardown);
    failed += cmocka_run_group_tests_name("secrets", secret_tests, setup, teardown);
    failed += cmocka_run_group_tests_name("web", web_tests, setup, teardown);
    failed += cmocka_run_group_tests_name("unix_links", unix_tests, setup, teardown);
    apr_terminate();
    return failed;
}
