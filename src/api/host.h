/*
 * host.h - private to src/api/: the few things the API asks of the
 * operating system, implemented once per OS in host_posix.c and
 * host_win.c (CMakeLists.txt picks one; no #ifdef in the callers).
 *
 *   - opening a dashboard file only when it really lies under web_dir
 *     (web.c),
 *   - creating the token file so that only the service can read it
 *     (auth.c), and protecting the state directory the same way
 *     (kt_api_protect_dir in kt_api.h),
 *   - the script dialect "auto" means on this OS, and how a saved
 *     script's path is spelled (scripts.c).
 *
 * All are thread-safe; results live in the pool passed in.
 */
#ifndef KT_API_HOST_H
#define KT_API_HOST_H

#include <stddef.h>

#include <apr_file_io.h>
#include <apr_pools.h>

/* Opens root/name for reading when the file it reaches, links resolved,
 * is a regular file inside root. name is relative, with '/' between plain
 * names (web.c has checked that). On success *f (allocated in pool; close
 * it with apr_file_close) and *size are set; otherwise returns a status and
 * leaves nothing open. */
apr_status_t kt__api_open_confined(apr_file_t **f, apr_off_t *size, const char *root,
                                   const char *name, apr_pool_t *pool);

/* Creates path, which must not exist yet (else an EEXIST status), so that
 * only its owner can use it (POSIX: mode 0600; Windows: a protected DACL
 * granting SYSTEM and Administrators only), and writes len bytes of text. */
apr_status_t kt__api_create_secret(const char *path, const char *text, apr_size_t len,
                                   apr_pool_t *pool);

/* "windows" on a Windows build, else "linux": what script_os "auto" means. */
const char *kt__api_native_os(void);

/* dir and name joined with this OS's separator, allocated in pool. */
const char *kt__api_join_path(const char *dir, const char *name, apr_pool_t *pool);

/* host_win.c only: the security descriptors (SDDL, UTF-16) of the token
 * file and of a protected directory, for tests to check what is applied. */
extern const wchar_t kt__api_secret_sddl[], kt__api_dir_sddl[];

#endif
