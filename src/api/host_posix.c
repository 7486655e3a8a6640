/*
 * host_posix.c - host.h on POSIX systems (picked by CMakeLists.txt).
 *
 * Confinement resolves both web_dir and the file with realpath(3) and
 * wants the file's real path strictly below the root's. The token file is
 * created with O_EXCL and mode 0600; the state directory's mode (0700) is
 * the daemon's business, so kt_api_protect_dir has nothing to do here.
 */
#include "api_internal.h"
#include "host.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

apr_status_t kt__api_open_confined(apr_file_t **f, apr_off_t *size, const char *root,
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

apr_status_t kt__api_create_secret(const char *path, const char *text, apr_size_t len,
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

apr_status_t kt_api_protect_dir(const char *path, apr_pool_t *pool)
{
    (void)path;
    (void)pool;
    return APR_SUCCESS;
}

const char *kt__api_native_os(void) { return "linux"; }

const char *kt__api_join_path(const char *dir, const char *name, apr_pool_t *pool)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}
