/*
 * save.c - kt_sys_save on Windows.
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
 * Names: the portable rules of src/rules/save.c, and Windows adds: no trailing '.'
 * or ' ' (Win32 strips them, so another name would be written), none of
 * < > " | ? * (not allowed in Windows names), and no reserved device name
 * in any spelling Windows knows (CON .txt, CONIN$, COM¹...). `executable`
 * means nothing here: Windows has no execute bit.
 */
#include "win.h"
#include "kt_sys.h"

#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>


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
    size_t n = strlen(name);
    if (name[n - 1] == '.' || name[n - 1] == ' ')
        return "the file name must not end with '.' or ' ' on Windows";
    if (strpbrk(name, "<>\"|?*"))
        return "the file name holds a character Windows does not allow: < > \" | ? *";
    if (kt__win_device_name(name, strlen(name)))
        return "the file name is a Windows device name";
    return NULL;
}

/* Creates the directory when it does not exist yet. */
static apr_status_t make_dir(const wchar_t *wdir, const char *dir, char *err, apr_size_t errlen)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(kt__sys_dir_sddl, SDDL_REVISION_1, &sd,
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
                               apr_size_t errlen, apr_pool_t *pool)
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
    wchar_t *real = kt__win_final_path(h, pool);
    if (!real || CompareStringOrdinal(real, -1, path, -1, TRUE) != CSTR_EQUAL) {
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

/* The steps of kt_sys_save, with their temporaries in pool. */
static apr_status_t save(const char *dir, const char *name, const char *content,
                         apr_size_t len, int overwrite, char *err, apr_size_t errlen,
                         apr_pool_t *pool)
{
    const char *why = windows_name_problem(name);
    if (why) {
        snprintf(err, errlen, "%s", why);
        return KT_EPARSE;
    }
    wchar_t *wdir = kt_utf16(dir, pool), *wname = kt_utf16(name, pool);
    if (!wdir || !wname) {
        snprintf(err, errlen, "the scripts directory or the file name is not valid UTF-8");
        return KT_EPARSE;
    }
    HANDLE dh = INVALID_HANDLE_VALUE, fh = INVALID_HANDLE_VALUE;
    apr_status_t rv;
    if ((rv = make_dir(wdir, dir, err, errlen)) != APR_SUCCESS ||
        (rv = open_dir(wdir, dir, &dh, err, errlen)) != APR_SUCCESS)
        return rv;
    wchar_t *dreal = kt__win_final_path(dh, pool);
    if (!dreal) {
        char what[600];
        snprintf(what, sizeof what, "cannot resolve the scripts directory %s", dir);
        rv = os_fail(GetLastError(), err, errlen, what);
        CloseHandle(dh);
        return rv;
    }
    /* The directory stays open (and so in place) until the file is written. */
    const wchar_t *path = kt__win_join(dreal, wname, pool);
    int created = 0;
    if ((rv = open_file(path, name, overwrite, &fh, &created, err, errlen)) == APR_SUCCESS) {
        if ((rv = check_file(fh, path, name, err, errlen, pool)) == APR_SUCCESS)
            rv = write_all(fh, content, len, !created, name, err, errlen);
        if (rv != APR_SUCCESS && created) {
            FILE_DISPOSITION_INFO gone = {TRUE};
            SetFileInformationByHandle(fh, FileDispositionInfo, &gone, sizeof gone);
        }
        CloseHandle(fh);
    }
    CloseHandle(dh);
    return rv;
}

apr_status_t kt_sys_save(const char *dir, const char *name, const char *content,
                         apr_size_t len, unsigned flags, char *err, apr_size_t errlen)
{
    /* flags' KT_SYS_EXECUTABLE means nothing here: Windows has no execute bit. */
    apr_pool_t *pool;
    apr_status_t rv = apr_pool_create(&pool, NULL);
    if (rv != APR_SUCCESS) {
        snprintf(err, errlen, "out of memory");
        return rv;
    }
    rv = save(dir, name, content, len, (flags & KT_SYS_OVERWRITE) != 0, err, errlen, pool);
    apr_pool_destroy(pool);
    return rv;
}
