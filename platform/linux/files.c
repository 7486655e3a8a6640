/*
 * files.c - kt_sys.h's files on Linux (and any POSIX system).
 *
 * Confinement resolves both the root and the file with realpath(3) and
 * wants the file's real path strictly below the root's. A secret file is
 * created with O_EXCL and mode 0600, a private directory with 0700.
 */
#include "kt_sys.h"
#include "kt_base.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

apr_status_t kt_sys_open_confined(apr_file_t **f, apr_off_t *size, const char *root,
                                   const char *name, apr_pool_t *pool)
{
    char rroot[PATH_MAX], real[PATH_MAX];
    const char *path = apr_pstrcat(pool, root, "/", name, NULL);
    if (!realpath(root, rroot) || !realpath(path, real))
        return APR_ENOENT;
    size_t n = strlen(rroot);
    if (strncmp(real, rroot, n) != 0 || real[n] != '/')
        return APR_ENOENT;
    apr_finfo_t fi;
    apr_status_t st = apr_file_open(f, real, APR_FOPEN_READ, 0, pool);
    if (st != APR_SUCCESS)
        return st;
    st = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, *f);
    if (st == APR_SUCCESS && fi.filetype != APR_REG)
        st = APR_ENOENT;
    if (st != APR_SUCCESS) {
        apr_file_close(*f);
        return st;
    }
    *size = fi.size;
    return APR_SUCCESS;
}

apr_status_t kt_sys_create_secret(const char *path, const char *text, apr_size_t len,
                                   apr_pool_t *pool)
{
    apr_file_t *f;
    apr_status_t st = apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL,
                                    APR_FPROT_UREAD | APR_FPROT_UWRITE, pool);
    if (st != APR_SUCCESS)
        return st;
    st = apr_file_write_full(f, text, len, NULL);
    apr_status_t cst = apr_file_close(f);
    return st != APR_SUCCESS ? st : cst;
}

apr_status_t kt_sys_read_secret(const char *path, char **text, apr_size_t *len, apr_pool_t *pool)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t st = apr_file_open(&f, path, APR_FOPEN_READ, 0, pool);
    if (st != APR_SUCCESS)
        return st;
    if ((st = apr_file_info_get(&fi, APR_FINFO_PROT | APR_FINFO_SIZE | APR_FINFO_TYPE, f)) !=
        APR_SUCCESS)
        goto done;
    if (fi.filetype != APR_REG || fi.size > 65536) {
        st = KT_EINPUT;
        goto done;
    }
    if (fi.protection & (APR_FPROT_GREAD | APR_FPROT_GWRITE | APR_FPROT_GEXECUTE |
                         APR_FPROT_WREAD | APR_FPROT_WWRITE | APR_FPROT_WEXECUTE)) {
        st = KT_EINPUT;
        goto done;
    }
    *text = apr_palloc(pool, (apr_size_t)fi.size + 1);
    *len = (apr_size_t)fi.size;
    st = apr_file_read_full(f, *text, *len, len);
    if (st == APR_EOF)
        st = APR_SUCCESS;
    (*text)[*len] = '\0';
done:
    apr_file_close(f);
    return st;
}

apr_status_t kt_sys_private_dir(const char *path, apr_pool_t *pool)
{
    /* APR's permission flags are its own, not octal modes: the parents get
     * the system's default (umask applies), the directory owner-only. */
    char *parent = apr_pstrdup(pool, path), *slash = strrchr(parent, '/');
    apr_status_t st = APR_SUCCESS;
    if (slash && slash != parent) {
        *slash = '\0';
        st = apr_dir_make_recursive(parent, APR_FPROT_OS_DEFAULT, pool);
    }
    if (st == APR_SUCCESS) {
        st = apr_dir_make(path, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, pool);
        if (APR_STATUS_IS_EEXIST(st))
            st = APR_SUCCESS;
    }
    if (st != APR_SUCCESS)
        return st;
    /* It may have been there already: made by a person, or by an older
     * kotod that passed an octal mode where APR wants its flags (d--xr-----). */
    struct stat sb;
    if (stat(path, &sb) != 0)
        return APR_FROM_OS_ERROR(errno);
    if (!S_ISDIR(sb.st_mode))
        return APR_ENOTDIR;
    if ((sb.st_mode & 0777) != 0700 && chmod(path, 0700) != 0)
        return APR_FROM_OS_ERROR(errno);
    return APR_SUCCESS;
}
