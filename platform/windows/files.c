/*
 * files.c - kt_sys.h's files on Windows. Paths are UTF-8 in koto and
 * UTF-16 for Win32 (kt_utf16: invalid UTF-8 is refused).
 *
 * Confinement (no realpath here): web_dir is opened and its final path
 * taken (GetFinalPathNameByHandleW: links, junctions and 8.3 names
 * resolved, "\\?\C:\..." form); the file is opened as that path plus the
 * name with '\' for '/', and is served only when its own final path starts
 * with the root's plus '\' (compared without case, as NTFS names are), it
 * is a disk file (GetFileType) and not a directory. The handle checked is
 * the handle read, so nothing can be swapped in between. Names with a
 * reserved device name in any component (CON, nul.js, COM1.css, with any
 * extension) are refused before any open; ':' (alternate data streams)
 * never gets here, web.c allows letters, digits, '.', '-', '_' and '/'.
 *
 * Secrets: the token file is created with CREATE_NEW and a protected DACL
 * (SDDL D:P(A;;FA;;;SY)(A;;FA;;;BA)): full access for SYSTEM and
 * Administrators, nobody else, nothing inherited. kt_sys_private_dir puts
 * the same DACL, inheritable (OICI), on a directory it creates if need be.
 */
/* apr_portable.h wants sockaddr_in6: ws2tcpip.h before win.h brings APR in. */
#include <winsock2.h>
#include <ws2tcpip.h>

#include "win.h"
#include "kt_sys.h"
#include "kt_base.h"

#include <aclapi.h>
#include <sddl.h>

#include <string.h>
#include <strings.h>
#include <wchar.h>

#include <apr_portable.h>
#include <apr_strings.h>

/* Full access for SYSTEM and Administrators, nothing inherited (P); a
 * directory's ACEs are inherited by what is created inside (OICI). */
const wchar_t kt__sys_secret_sddl[] = L"D:P(A;;FA;;;SY)(A;;FA;;;BA)";
const wchar_t kt__sys_dir_sddl[] = L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

wchar_t *kt__win_final_path(HANDLE h, apr_pool_t *pool)
{
    const DWORD how = FILE_NAME_NORMALIZED | VOLUME_NAME_DOS;
    DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, how);
    if (n == 0)
        return NULL;
    wchar_t *p = apr_palloc(pool, ((apr_size_t)n + 1) * sizeof *p);
    DWORD got = GetFinalPathNameByHandleW(h, p, n + 1, how);
    return got == 0 || got > n ? NULL : p;
}

wchar_t *kt__win_join(const wchar_t *dir, const wchar_t *name, apr_pool_t *pool)
{
    size_t nd = wcslen(dir), nn = wcslen(name);
    wchar_t *path = apr_palloc(pool, (nd + 1 + nn + 1) * sizeof *path);
    memcpy(path, dir, nd * sizeof *path);
    if (nd == 0 || dir[nd - 1] != L'\\')
        path[nd++] = L'\\';
    memcpy(path + nd, name, (nn + 1) * sizeof *path);
    return path;
}

int kt__win_device_name(const char *s, size_t len)
{
    static const char *const names[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                                        "CLOCK$"};
    size_t stem = 0;
    while (stem < len && s[stem] != '.')
        stem++;
    while (stem > 0 && s[stem - 1] == ' ')
        stem--;
    for (size_t i = 0; i < KT_ARRAY_SIZE(names); i++)
        if (strlen(names[i]) == stem && strncasecmp(s, names[i], stem) == 0)
            return 1;
    if (stem >= 4 && (strncasecmp(s, "COM", 3) == 0 || strncasecmp(s, "LPT", 3) == 0)) {
        const unsigned char *d = (const unsigned char *)s + 3;
        return (stem == 4 && d[0] >= '0' && d[0] <= '9') ||
               (stem == 5 && d[0] == 0xC2 && (d[1] == 0xB9 || d[1] == 0xB2 || d[1] == 0xB3));
    }
    return 0;
}

static int has_device_component(const char *name)
{
    for (const char *p = name;;) {
        size_t len = strcspn(p, "/\\");
        if (kt__win_device_name(p, len))
            return 1;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

/* real lies strictly below root (both final paths). */
static int below(const wchar_t *real, const wchar_t *root)
{
    size_t n = wcslen(root);
    if (n > 0 && root[n - 1] == L'\\') /* a drive's root: "\\?\C:\" */
        n--;
    return wcslen(real) > n + 1 && real[n] == L'\\' &&
           CompareStringOrdinal(real, (int)n, root, (int)n, TRUE) == CSTR_EQUAL;
}

/* web_dir's final path, in pool. */
static apr_status_t root_path(const char *root, wchar_t **out, apr_pool_t *pool)
{
    wchar_t *wroot = kt_utf16(root, pool);
    if (!wroot)
        return APR_EINVAL;
    HANDLE h = CreateFileW(wroot, FILE_READ_ATTRIBUTES,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return APR_FROM_OS_ERROR(GetLastError());
    *out = kt__win_final_path(h, pool);
    DWORD e = GetLastError();
    CloseHandle(h);
    return *out ? APR_SUCCESS : APR_FROM_OS_ERROR(e);
}

apr_status_t kt_sys_open_confined(apr_file_t **f, apr_off_t *size, const char *root,
                                   const char *name, apr_pool_t *pool)
{
    if (strchr(name, ':') || has_device_component(name))
        return APR_ENOENT;
    wchar_t *rroot = NULL, *wname = kt_utf16(name, pool);
    if (!wname)
        return APR_EINVAL;
    apr_status_t st = root_path(root, &rroot, pool);
    if (st != APR_SUCCESS)
        return st;
    for (wchar_t *p = wname; *p; p++)
        if (*p == L'/')
            *p = L'\\';
    const wchar_t *path = kt__win_join(rroot, wname, pool);

    HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return APR_FROM_OS_ERROR(GetLastError());
    wchar_t *real = kt__win_final_path(h, pool);
    BY_HANDLE_FILE_INFORMATION fi;
    if (!real || !below(real, rroot) || GetFileType(h) != FILE_TYPE_DISK ||
        !GetFileInformationByHandle(h, &fi) ||
        (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
        CloseHandle(h);
        return APR_ENOENT;
    }
    *size = (apr_off_t)(((uint64_t)fi.nFileSizeHigh << 32) | fi.nFileSizeLow);
    apr_os_file_t osf = h;
    if ((st = apr_os_file_put(f, &osf, APR_FOPEN_READ, pool)) != APR_SUCCESS)
        CloseHandle(h);
    return st;
}

apr_status_t kt_sys_create_secret(const char *path, const char *text, apr_size_t len,
                                   apr_pool_t *pool)
{
    wchar_t *wpath = kt_utf16(path, pool);
    if (!wpath)
        return APR_EINVAL;
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(kt__sys_secret_sddl,
                                                              SDDL_REVISION_1, &sd, NULL))
        return APR_FROM_OS_ERROR(GetLastError());
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    HANDLE h = CreateFileW(wpath, GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD e = GetLastError();
    LocalFree(sd);
    if (h == INVALID_HANDLE_VALUE)
        return APR_FROM_OS_ERROR(e);
    apr_status_t st = APR_SUCCESS;
    while (len > 0) {
        DWORD chunk = len > (1u << 30) ? (1u << 30) : (DWORD)len, done = 0;
        if (!WriteFile(h, text, chunk, &done, NULL) || done == 0) {
            DWORD we = GetLastError();
            st = APR_FROM_OS_ERROR(we ? we : ERROR_WRITE_FAULT);
            break;
        }
        text += done;
        len -= done;
    }
    if (!CloseHandle(h) && st == APR_SUCCESS)
        st = APR_FROM_OS_ERROR(GetLastError());
    return st;
}

/* Windows: the file's DACL is not judged here (the state directory's
 * inherited one protects what is put in it); it is read like any file. */
apr_status_t kt_sys_read_secret(const char *path, char **text, apr_size_t *len, apr_pool_t *pool)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t st = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, pool);
    if (st != APR_SUCCESS)
        return st;
    if ((st = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f)) == APR_SUCCESS &&
        (fi.filetype != APR_REG || fi.size > 65536))
        st = KT_EINPUT;
    if (st == APR_SUCCESS) {
        *text = apr_palloc(pool, (apr_size_t)fi.size + 1);
        *len = (apr_size_t)fi.size;
        st = apr_file_read_full(f, *text, *len, len);
        if (st == APR_EOF)
            st = APR_SUCCESS;
        (*text)[*len] = '\0';
    }
    apr_file_close(f);
    return st;
}

/* Puts the protected, inherited DACL on the directory path. */
static apr_status_t protect_dir(const char *path, apr_pool_t *pool)
{
    wchar_t *wpath = kt_utf16(path, pool);
    if (!wpath)
        return APR_EINVAL;
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(kt__sys_dir_sddl,
                                                              SDDL_REVISION_1, &sd, NULL))
        return APR_FROM_OS_ERROR(GetLastError());
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    DWORD e = ERROR_INVALID_SECURITY_DESCR;
    if (GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) && present && dacl)
        e = SetNamedSecurityInfoW(wpath, SE_FILE_OBJECT,
                                  DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                  NULL, NULL, dacl, NULL);
    LocalFree(sd);
    return e == ERROR_SUCCESS ? APR_SUCCESS : APR_FROM_OS_ERROR(e);
}

apr_status_t kt_sys_private_dir(const char *path, apr_pool_t *pool)
{
    /* The DACL is put on the directory whether it was just made or was
     * there: an older kotod or a person may have left it open. */
    apr_status_t st = apr_dir_make_recursive(path, APR_FPROT_OS_DEFAULT, pool);
    if (st != APR_SUCCESS)
        return st;
    /* APR counts a file already under the name as made. */
    wchar_t *wpath = kt_utf16(path, pool);
    DWORD a = wpath ? GetFileAttributesW(wpath) : INVALID_FILE_ATTRIBUTES;
    if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_DIRECTORY))
        return APR_ENOTDIR;
    return protect_dir(path, pool);
}
