/*
 * kt_sys.h - the platform's second API: what portable code needs from the
 * OS beyond the readings of kt_plat.h. One implementation per OS, beside the
 * readings' backend (platform/linux/, platform/windows/), chosen by the build;
 * nothing outside platform/, win32/ and the daemon's Unix shell knows which.
 *
 *   files.c  confined open for reading (the dashboard), owner-only secret
 *            files (the token) and private directories (the state directory)
 *   save.c   confined exclusive create for writing (saved scripts)
 *   sys.c    the OS's name and how it joins paths
 *   run.c    one script file run by its interpreter, with a timeout that
 *            kills everything it started, its output captured (remediation)
 *   service.c a service's state (Linux: systemctl show; Windows: the SCM)
 *   utf16.c  (Windows) UTF-8 <-> UTF-16 for the wide Win32 calls
 *
 * Every function is thread-safe and returns an apr_status_t (APR's, the OS's,
 * or a KT_E* code of kt_base.h); results live in the pool passed in.
 */
#ifndef KT_SYS_H
#define KT_SYS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <apr_file_io.h>
#include <apr_pools.h>

/* Opens root/name for reading when the file it reaches, links resolved, is
 * a regular file strictly inside root. name is relative, with '/' between
 * plain names (the caller has checked that). On success *f (allocated in
 * pool; close it with apr_file_close) and *size are set; otherwise returns a
 * status and leaves nothing open. */
apr_status_t kt_sys_open_confined(apr_file_t **f, apr_off_t *size, const char *root,
                                  const char *name, apr_pool_t *pool);

/* Creates path, which must not exist yet (else an EEXIST status), so that
 * only its owner can use it (POSIX: mode 0600; Windows: a protected DACL
 * granting SYSTEM and Administrators only), and writes len bytes of text. */
apr_status_t kt_sys_create_secret(const char *path, const char *text, apr_size_t len,
                                  apr_pool_t *pool);

/* Reads path, a secret (a webhook key, a password) kept by the person who
 * runs kotod, into *text (allocated in pool, NUL-terminated; *len bytes),
 * at most 64 KiB. Refused with KT_EINPUT when others may read it (POSIX:
 * any group or other permission bit), so a secret is never used from a
 * file the whole machine can read. */
apr_status_t kt_sys_read_secret(const char *path, char **text, apr_size_t *len, apr_pool_t *pool);

/* Makes path a directory only its owner can use, creating missing parents
 * with the system's defaults (the umask: a new ~/.local stays usable) and
 * the directory itself owner-only (POSIX: 0700; Windows: the protected DACL
 * above, inherited by what is created inside). An existing directory that
 * others can reach, or whose owner lacks a right, is set to owner-only. */
apr_status_t kt_sys_private_dir(const char *path, apr_pool_t *pool);

/* kt_sys_save flags. */
#define KT_SYS_OVERWRITE  1u /* replace an existing regular file */
#define KT_SYS_EXECUTABLE 2u /* mode 0750 instead of 0640, where modes exist */

/* Writes content as dir/name, name a plain file name (the caller has
 * checked it with the portable rules). Creates dir (not its parents) when
 * missing, owner and group only. Never follows a link under the name, never
 * writes to anything but a regular file, and replaces an existing file only
 * with KT_SYS_OVERWRITE (else an EEXIST status). On failure err says why,
 * naming the file. */
apr_status_t kt_sys_save(const char *dir, const char *name, const char *content,
                         apr_size_t len, unsigned flags, char *err, apr_size_t errlen);

/* The SHA-256 of data into out: Nettle on Linux, CNG on Windows. */
apr_status_t kt_sys_sha256(const void *data, apr_size_t len, unsigned char out[32]);

/* HMAC-SHA-256 (RFC 2104) keyed with key of the pieces data[0..n)
 * concatenated, into out. */
apr_status_t kt_sys_hmac_sha256(const void *key, apr_size_t keylen, const void *const *data,
                                const apr_size_t *lens, unsigned n, unsigned char out[32]);

/* "windows" on a Windows build, else "linux": what script_os "auto" means. */
const char *kt_sys_os_name(void);

/* This process's id: kotod finds itself in the process table by it. */
int64_t kt_sys_self_pid(void);

/* Names the calling thread (at most 15 ASCII characters: Linux's limit), so
 * that top -H, ps -L, a debugger or Process Explorer tell kotod's threads
 * apart. Best effort: a system that cannot name threads leaves it. */
void kt_sys_thread_name(const char *name);

/* Once the start is over: takes out of this process's memory the pages of
 * its code and read-only data that only the start used (on Linux the
 * kernel maps whole folios around each page touched; on Windows, the working
 * set). They stay in the system's cache; what is still used comes back at
 * its next touch. Returns the bytes released, 0 when none could be. */
apr_size_t kt_sys_release_start_pages(void);

/* A file holding a copy of data, sealed against any change, that a
 * response can send from without copying it (kt_sys_sealed_send); -1 where
 * the system has no such file (Windows) or cannot make one, and the caller
 * sends its bytes as they are. kt_sys_sealed_close takes it away. */
int kt_sys_sealed_file(const void *data, apr_size_t len);
void kt_sys_sealed_close(int fd);
/* Sends, without blocking, the pieces v[0..nv) (none when nv is 0) and then
 * len bytes of sealed file fd from offset off, on sock; *n is how many
 * went, in that order (APR_EAGAIN when none could). The pieces are flagged
 * as more to come, so that a response's head leaves with the start of its
 * body rather than as a segment of its own. */
typedef struct apr_socket_t apr_socket_t; /* apr_network_io.h, which wants winsock first */
struct iovec;
apr_status_t kt_sys_sealed_send(apr_socket_t *sock, const struct iovec *v, int nv, int fd,
                                apr_off_t off, apr_size_t len, apr_size_t *n);

/* dir and name joined with this OS's separator, allocated in pool. */
const char *kt_sys_join_path(const char *dir, const char *name, apr_pool_t *pool);

/* kt_sys_run: what runs a script and how long it may take. */
typedef struct {
    /* NULL: this OS's interpreter, never looked up through PATH (Linux:
     * /bin/bash FILE; Windows: powershell.exe of the system directory with
     * -NoProfile -NonInteractive -ExecutionPolicy Bypass -File FILE). A path
     * here replaces only the program (a stand-in where PowerShell is
     * missing); the arguments stay the same. */
    const char *interpreter;
    const char *const *args;     /* after the file, NULL-terminated; may be NULL */
    apr_interval_time_t timeout; /* 0: KT_SYS_RUN_TIMEOUT */
    apr_size_t output_limit;     /* bytes kept of stdout and stderr together; 0: KT_SYS_RUN_OUTPUT */
    const atomic_int *cancel;    /* may be NULL; set to 1, the run ends as at its timeout */
} kt_sys_run_opts_t;

#define KT_SYS_RUN_TIMEOUT apr_time_from_sec(60)
#define KT_SYS_RUN_OUTPUT  ((apr_size_t)64 * 1024)

typedef struct {
    int exit_code;       /* the script's exit status; -1 when it ended otherwise */
    int signal;          /* POSIX: the signal that ended it, else 0 */
    int timed_out;       /* it ran past the timeout and everything it started was killed */
    int cancelled;       /* it was ended early (opts.cancel): killed the same way */
    apr_interval_time_t duration;
    char *output;        /* stdout and stderr as they came, NUL-terminated */
    apr_size_t output_len;
    int truncated;       /* more came than output_limit; the rest was read and dropped */
} kt_sys_run_result_t;

/* Runs the script file at path (absolute) with the interpreter and waits
 * for it: no shell string is built, the environment is a fixed clean one
 * (PATH of the system directories only, LC_ALL=C; Windows: the system's
 * directories and SystemRoot), stdin is empty, the working directory is
 * the root (Windows: the system directory). The script and whatever it
 * starts run in a group of their own (POSIX: a process group; Windows: a
 * job object) which is killed whole at the timeout. Children left running
 * after the script itself exits in time are left alone (a restarted
 * service). Returns a status only when the script could not be started;
 * how it ended is in *res (allocated in pool). */
apr_status_t kt_sys_run(const char *path, const kt_sys_run_opts_t *opts,
                        kt_sys_run_result_t *res, apr_pool_t *pool);

/* Sets *ok to whether nobody but path's owner (and the administrators)
 * can change it: POSIX: owned by root or by this process's user, without
 * the group and other write bits; Windows: no ACE granting a write right to
 * anyone but the owner, SYSTEM, Administrators or TrustedInstaller. When
 * not, *why (in pool) says what was found. Returns a status when path
 * cannot be looked at. */
apr_status_t kt_sys_owner_only(const char *path, int *ok, const char **why, apr_pool_t *pool);

/* ---- remediation as root: the one narrow path (README, "Remediation as
 * root"). kotod runs as an unprivileged user; a script that needs root is
 * run by koto-run-approved (src/remedy/run_approved.c), started as root for
 * each connection to a socket only kotod's user may open. It runs nothing
 * but a file of kotod's scripts directory named remedy-ID.sh whose bytes
 * hash to the approved SHA-256, with /bin/bash and no other argument than
 * --dry-run. POSIX only: elsewhere these return APR_ENOTIMPL. */

/* The client: asks the runner at socket_path to run scripts_dir/name
 * (sha256: the approved hash) and waits as kt_sys_run does (opts: timeout,
 * output limit, cancel; the interpreter is always the runner's). A refusal
 * is a result with exit_code -1 and the runner's reason as output. */
apr_status_t kt_sys_run_approved(const char *socket_path, const char *name, const char *sha256,
                                 int dry_run, const kt_sys_run_opts_t *opts,
                                 kt_sys_run_result_t *res, apr_pool_t *pool);

/* The runner: whether the peer of the socket on stdin is user or root
 * (1), someone else (0, *why says who), or stdin is no socket (-1: a
 * pipe from whoever started the runner, who chose what it reads). */
int kt_sys_stdin_peer_is(const char *user, const char **why, apr_pool_t *pool);

/* The runner: reads dir/name, refusing (KT_EINPUT, *why) unless dir is a
 * directory and name a regular file in it with a single link, neither a
 * symbolic link, both owned by user and writable by nobody else, name at
 * most max bytes. */
apr_status_t kt_sys_read_owned(const char *dir, const char *name, const char *user, apr_size_t max,
                               char **data, apr_size_t *len, const char **why, apr_pool_t *pool);

/* A service's state, as the service manager says. */
typedef enum {
    KT_SVC_UNKNOWN,      /* the manager could not be asked, or gave no answer */
    KT_SVC_ACTIVE,       /* running */
    KT_SVC_INACTIVE,     /* stopped, cleanly */
    KT_SVC_FAILED,       /* stopped by a failure */
    KT_SVC_ACTIVATING,   /* starting */
    KT_SVC_DEACTIVATING, /* stopping */
    KT_SVC_MISSING,      /* no such service */
} kt_sys_svc_state_t;

typedef struct {
    kt_sys_svc_state_t state;
    char detail[128]; /* systemd: "ActiveState/SubState (Result)"; Windows: the exit code */
} kt_sys_svc_t;

const char *kt_sys_svc_state_name(kt_sys_svc_state_t s);

/* Asks the service manager for service name's state (Linux: systemctl show
 * of the unit, run without a shell and with a 5 s timeout; Windows:
 * QueryServiceStatusEx). A status only when the manager could not be asked
 * at all (out->state is then KT_SVC_UNKNOWN). */
apr_status_t kt_sys_service_state(const char *name, kt_sys_svc_t *out, apr_pool_t *pool);

/* Linux (service.c): reads `systemctl show --property=LoadState,ActiveState,
 * SubState,Result` output; exposed for the tests' recorded answers. */
void kt_sys_parse_systemctl_show(const char *text, kt_sys_svc_t *out);

/* Windows builds only (utf16.c): UTF-8 <-> UTF-16 in pool, strict both
 * ways (NULL when the text is not valid), since the text is mostly paths and
 * an altered path names another file. */
wchar_t *kt_utf16(const char *utf8, apr_pool_t *pool);
char *kt_utf8(const wchar_t *utf16, apr_pool_t *pool);

/* Windows builds only (files.c): the security descriptors (SDDL, UTF-16) of a
 * secret file and of a private directory, for tests to check what is applied. */
extern const wchar_t kt__sys_secret_sddl[], kt__sys_dir_sddl[];

#endif
