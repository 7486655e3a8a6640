/*
 * save_win.c - kt__save_file on Windows (picked by CMakeLists.txt).
 *
 * Paths are UTF-8 in koto and UTF-16 for Win32 (MultiByteToWideChar;
 * invalid UTF-8 is refused). The scripts directory is created when
 * missing (not its parents), with a protected DACL that grants access to
 * SYSTEM and Administrators only: the Windows reading of mode 0750 for a
 * service. A scripts directory that is a reparse point (symbolic link,
 * junction) is refused. It is opened without FILE_SHARE_DELETE, so it
 * cannot be renamed or replaced while the file is written.
 *
 * The file is opened as <final path of that directory handle>\<name> with
 * FILE_FLAG_OPEN_REPARSE_POINT, and never created through a link: an
 * existing file is opened with OPEN_EXISTING (only with overwrite), a new
 * one made with CREATE_NEW, which fails on anything already under the
 * name, a dangling link included. Then the handle must be a disk file
 * (GetFileType: no pipe, console or other device), neither a directory
 * nor a reparse point, with no other hard link (that would write
 * somewhere else too), and its own final path must be the directory's
 * plus the name (compared without case). Only then is an existing file
 * truncated and the content written; a file this call created and then
 * refused is deleted again.
 *
 * Names: the portable rules of save.c, and Windows adds: no trailing '.'
 * or ' ' (Win32 strips them, so another name would be written), none of
 * < > " | ? * (not allowed in Windows names), and no reserved device name
 * in any spelling Windows knows (CON .txt, CONIN$, COM¹...). `executable`
 * means nothing here: Windows has no execute bit.
 */
/* Windows headers before APR's (see platform/windows/win.h). */
#include <winsock2.h>
#include <windows.h>
#include <sddl.h>

#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

/* SYSTEM and Administrators, inherited by what is created inside; nothing
 * inherited from above. */
#define DIR_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

/* UTF-8 to a malloc'd UTF-16 string; NULL when s is not valid UTF-8. */
static wchar_t *to_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        return NULL;
    }
    return w;
}

/* The final path of h ("\\?\C:\..."), malloc'd; NULL on failure. */
static wchar_t *final_path(HANDLE h)
{
    const DWORD how = FILE_NAME_NORMALIZED | VOLUME_NAME_DOS;
    DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, how);
    if (n == 0)
        return NULL;
    wchar_t *p = malloc(((size_t)n + 1) * sizeof *p);
    if (p) {
        DWORD got = GetFinalPathNameByHandleW(h, p, n + 1, how);
        if (got == 0 || got > n) {
            free(p);
            p = NULL;
        }
    }
    return p;
}

/* err := "<what>: <the system's text for e>"; returns e as a status. */
static apr_status_t os_fail(DWORD e, char *err, apr_size_t errlen, const char *what)
{
    char text[256];
    apr_status_t st = APR_FROM_OS_ERROR(e);
    apr_strerror(st, text, sizeof text);
    text[strcspn(text, "\r\n")] = '\0';
    snprintf(err, errlen, "%s: %s", what, text);
    return st;
}

/* What Windows adds to save.c's name rules; NULL when name passes. */
static const char *windows_name_problem(const char *name)
{
    static const char *const devices[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                                          "CLOCK$"};
    size_t n = strlen(name);
    if (name[n - 1] == '.' || name[n - 1] == ' ')
        return "the file name must not end with '.' or ' ' on Windows";
    if (strpbrk(name, "<>\"|?*"))
        return "the file name holds a character Windows does not allow: < > \" | ? *";
    /* The stem: up to the first '.', trailing spaces dropped (Win32 does). */
    size_t stem = strcspn(name, ".");
    while (stem > 0 && name[stem - 1] == ' ')
        stem--;
    for (size_t i = 0; i < KT_ARRAY_SIZE(devices); i++)
        if (strlen(devices[i]) == stem && strncasecmp(name, devices[i], stem) == 0)
            return "the file name is a Windows device name";
    /* COM1..COM9, LPT1..LPT9, and the superscript ¹ ² ³ (C2 B9, C2 B2, C2 B3). */
    if (strncasecmp(name, "COM", 3) == 0 || strncasecmp(name, "LPT", 3) == 0) {
        const unsigned char *d = (const unsigned char *)name + 3;
        if ((stem == 4 && d[0] >= '0' && d[0] <= '9') ||
            (stem == 5 && d[0] == 0xC2 && (d[1] == 0xB9 || d[1] == 0xB2 || d[1] == 0xB3)))
            return "the file name is a Windows device name";
    }
    return NULL;
}

/* Creates the directory when it does not exist yet. */
static apr_status_t make_dir(const wchar_t *wdir, const char *dir, char *err, apr_size_t errlen)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(DIR_SDDL, SDDL_REVISION_1, &sd,
                                                              NULL))
        return os_fail(GetLastError(), err, errlen, "cannot build the scripts directory's ACL");
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    BOOL made = CreateDirectoryW(wdir, &sa);
    DWORD e = GetLastError();
    LocalFree(sd);
    if (made || e == ERROR_ALREADY_EXISTS)
        return APR_SUCCESS;
    char what[600];
    snprintf(what, sizeof what, "cannot create the scripts directory %s", dir);
    return os_fail(e, err, errlen, what);
}

/* Opens the directory itself (no reparse point), not to be renamed while held. */
static apr_status_t open_dir(const wchar_t *wdir, const char *dir, HANDLE *out, char *err,
                             apr_size_t errlen)
{
    char what[600];
    snprintf(what, sizeof what, "cannot open the scripts directory %s", dir);
    /* By path too: Wine shows a Unix directory symlink as a reparse point
     * only here, and on Windows this only repeats the handle's answer. */
    DWORD a = GetFileAttributesW(wdir);
    if (a == INVALID_FILE_ATTRIBUTES)
        return os_fail(GetLastError(), err, errlen, what);
    HANDLE h = CreateFileW(wdir, FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return os_fail(GetLastError(), err, errlen, what);
    BY_HANDLE_FILE_INFORMATION fi;
    if (!GetFileInformationByHandle(h, &fi)) {
        apr_status_t st = os_fail(GetLastError(), err, errlen, what);
        CloseHandle(h);
        return st;
    }
    if ((a | fi.dwFileAttributes) & FILE_ATTRIBUTE_REPARSE_POINT) {
        snprintf(err, errlen,
                 "the scripts directory %s is a symbolic link or junction; refusing to follow it",
                 dir);
        CloseHandle(h);
        return KT_EPARSE;
    }
    if (!(fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
        snprintf(err, errlen, "the scripts directory %s is not a directory", dir);
        CloseHandle(h);
        return KT_EPARSE;
    }
    *out = h;
    return APR_SUCCESS;
}

/* Opens path (dir\name) without following a link and without ever creating
 * through one: OPEN_EXISTING (overwrite only), else CREATE_NEW. */
static apr_status_t open_file(const wchar_t *path, const char *name, int overwrite, HANDLE *out,
                              int *created, char *err, apr_size_t errlen)
{
    const DWORD flags = FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT;
    const DWORD access = GENERIC_WRITE | FILE_READ_ATTRIBUTES;
    DWORD e = ERROR_FILE_EXISTS;
    /* Two rounds: the file may appear or vanish between the two opens. */
    for (int round = 0; round < 2; round++) {
        HANDLE h;
        if (overwrite) {
            h = CreateFileW(path, access, 0, NULL, OPEN_EXISTING, flags, NULL);
            if (h != INVALID_HANDLE_VALUE) {
                *out = h;
                *created = 0;
                return APR_SUCCESS;
            }
            if ((e = GetLastError()) != ERROR_FILE_NOT_FOUND)
                break;
        }
        h = CreateFileW(path, access | DELETE, 0, NULL, CREATE_NEW, flags, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            *out = h;
            *created = 1;
            return APR_SUCCESS;
        }
        e = GetLastError();
        if (!overwrite || e != ERROR_FILE_EXISTS)
            break;
    }
    DWORD a = GetFileAttributesW(path);
    if (!overwrite && (e == ERROR_FILE_EXISTS || e == ERROR_ALREADY_EXISTS)) {
        snprintf(err, errlen, "%s exists already; ask for overwrite to replace it", name);
        return APR_FROM_OS_ERROR(e);
    }
    if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY)) {
        snprintf(err, errlen, "%s is not a regular file", name);
        return KT_EPARSE;
    }
    if (e == ERROR_FILE_EXISTS || e == ERROR_ALREADY_EXISTS) {
        /* There, yet not there to open: a link that leads nowhere. */
        snprintf(err, errlen, "%s is not a regular file (a dangling link?); refusing it", name);
        return KT_EPARSE;
    }
    char what[300];
    snprintf(what, sizeof what, "cannot create %s", name);
    return os_fail(e, err, errlen, what);
}

/* The opened handle is a plain file, right where path says. */
static apr_status_t check_file(HANDLE h, const wchar_t *path, const char *name, char *err,
                               apr_size_t errlen)
{
    BY_HANDLE_FILE_INFORMATION fi;
    if (GetFileType(h) != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &fi) ||
        (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
        snprintf(err, errlen, "%s is not a regular file", name);
        return KT_EPARSE;
    }
    if (fi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
        snprintf(err, errlen, "%s is a symbolic link or junction; refusing to follow it", name);
        return KT_EPARSE;
    }
    if (fi.nNumberOfLinks > 1) {
        snprintf(err, errlen, "%s has other hard links; refusing to write through them", name);
        return KT_EPARSE;
    }
    wchar_t *real = final_path(h);
    int same = real && CompareStringOrdinal(real, -1, path, -1, TRUE) == CSTR_EQUAL;
    free(real);
    if (!same) {
        snprintf(err, errlen, "%s leads outside the scripts directory; refusing it", name);
        return KT_EPARSE;
    }
    return APR_SUCCESS;
}

static apr_status_t write_all(HANDLE h, const char *content, apr_size_t len, int truncate,
                              const char *name, char *err, apr_size_t errlen)
{
    char what[300];
    snprintf(what, sizeof what, "cannot write %s", name);
    if (truncate && !SetEndOfFile(h)) /* the file pointer is at 0 after the open */
        return os_fail(GetLastError(), err, errlen, what);
    while (len > 0) {
        DWORD chunk = len > (1u << 30) ? (1u << 30) : (DWORD)len, done = 0;
        if (!WriteFile(h, content, chunk, &done, NULL))
            return os_fail(GetLastError(), err, errlen, what);
        if (done == 0)
            return os_fail(ERROR_WRITE_FAULT, err, errlen, what);
        content += done;
        len -= done;
    }
    return APR_SUCCESS;
}

apr_status_t kt__save_file(const char *dir, const char *name, const char *content,
                           apr_size_t len, int overwrite, int executable, char *err,
                           apr_size_t errlen)
{
    (void)executable;
    const char *why = windows_name_problem(name);
    if (why) {
        snprintf(err, errlen, "%s", why);
        return KT_EPARSE;
    }
    apr_status_t rv;
    wchar_t *wdir = to_wide(dir), *wname = to_wide(name), *dreal = NULL, *path = NULL;
    HANDLE dh = INVALID_HANDLE_VALUE, fh = INVALID_HANDLE_VALUE;
    int created = 0;
    if (!wdir || !wname) {
        snprintf(err, errlen, "the scripts directory or the file name is not valid UTF-8");
        rv = KT_EPARSE;
        goto done;
    }
    if ((rv = make_dir(wdir, dir, err, errlen)) != APR_SUCCESS ||
        (rv = open_dir(wdir, dir, &dh, err, errlen)) != APR_SUCCESS)
        goto done;
    if (!(dreal = final_path(dh))) {
        char what[600];
        snprintf(what, sizeof what, "cannot resolve the scripts directory %s", dir);
        rv = os_fail(GetLastError(), err, errlen, what);
        goto done;
    }
    size_t nd = wcslen(dreal), nn = wcslen(wname);
    if (!(path = malloc((nd + 1 + nn + 1) * sizeof *path))) {
        rv = APR_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    memcpy(path, dreal, nd * sizeof *path);
    if (nd == 0 || dreal[nd - 1] != L'\\')
        path[nd++] = L'\\';
    memcpy(path + nd, wname, (nn + 1) * sizeof *path);
    if ((rv = open_file(path, name, overwrite, &fh, &created, err, errlen)) != APR_SUCCESS)
        goto done;
    if ((rv = check_file(fh, path, name, err, errlen)) == APR_SUCCESS)
        rv = write_all(fh, content, len, !created, name, err, errlen);
    if (rv != APR_SUCCESS && created) {
        FILE_DISPOSITION_INFO gone = {TRUE};
        SetFileInformationByHandle(fh, FileDispositionInfo, &gone, sizeof gone);
    }
done:
    if (fh != INVALID_HANDLE_VALUE)
        CloseHandle(fh);
    if (dh != INVALID_HANDLE_VALUE)
        CloseHandle(dh);
    free(path);
    free(dreal);
    free(wname);
    free(wdir);
    return rv;
}
