/*
 * win.h - private to the Windows backend (platform/windows/).
 *
 * Sources, in the order kt_plat_sample (plat.c) reads them (Zabbix/libuv practice:
 * native APIs first, PDH only for what they lack):
 *   cpu.c   GetSystemTimes (total), NtQuerySystemInformation
 *           (SystemProcessorPerformanceInformation, via GetProcAddress) per core;
 *           only user / system (= kernel - idle) / idle are known on Windows.
 *   mem.c   GlobalMemoryStatusEx; swap is the page file part of the commit limit.
 *   fs.c    filesystems: every fixed/removable volume (GetLogicalDriveStringsW,
 *           GetDriveTypeW, GetDiskFreeSpaceExW), mount_point "C:\";
 *   disk.c  block devices: \\.\PhysicalDriveN with IOCTL_DISK_PERFORMANCE.
 *   proc.c  one NtQuerySystemInformation(SystemProcessInformation) call for every
 *           process's times, working set and threads; a handle only for the top
 *           lists' image paths; a process is keyed across readings by (pid,
 *           creation time).
 *   net.c   GetIfTable2 (filter interfaces left out).
 *   pdh.c   PDH (PdhAddEnglishCounterW) for processor queue length (run_queue),
 *           and per physical disk % busy and average queue length. A counter that
 *           cannot be added or collected leaves its value unknown, the sample
 *           still succeeds, and it is logged once (with a `lodctr /R` hint).
 *   rate.c  pure arithmetic on two raw readings (no windows.h; unit-tested on Linux).
 *
 * kt_plat_opts_t.procfs, .sysfs, .rootfs and .kept_fds mean nothing on Windows
 * and are ignored; kt_plat_set_roots accepts and ignores them too. Only the first
 * processor group (64 logical CPUs) is read per core.
 */
#ifndef KT_PLAT_WIN_H
#define KT_PLAT_WIN_H

/* Windows headers before APR's: apr.h includes windows.h with NOUSER and
 * friends, which breaks the OLE headers iphlpapi.h and pdh.h pull in. */
#include <winsock2.h>
#include <windows.h>

#include "plat_internal.h"
#include "kt_base.h"
#include "rate.h"

#include <apr_hash.h>
#include <apr_strings.h>

typedef struct kt__pdh_t kt__pdh_t;

typedef struct {
    int valid;
    kt__cpu_ticks_t total;
    kt__cpu_ticks_t *cores;
    unsigned ncores;
    apr_hash_t *procs; /* "pid:creation" -> kept_t (proc.c) */
    apr_hash_t *net;   /* name -> kt_net_t (counters only) */
    apr_hash_t *disks; /* name -> kt__win_disk_raw_t */
    uint64_t qpc;      /* QueryPerformanceCounter of the reading */
} kt__win_prev_t;

struct kt_plat_t {
    apr_pool_t *pool;
    apr_pool_t *state_pool[2];
    int cur_state;
    unsigned top_n;
    int want_cmdlines; /* every process's image path, not only the top lists' */
    kt__win_prev_t prev, next;
    const char *hostname, *kernel;
    uint64_t qpc_freq;
    void *ntqsi; /* NtQuerySystemInformation, or NULL */
    void *procbuf; /* what it fills with the process table (malloc'd), kept */
    size_t proccap;
    unsigned nprocs_was; /* processes in the previous reading */
    kt__pdh_t *pdh;
    unsigned failing; /* bit per KT__WSRC_*: logged as failing */
};

enum { KT__WSRC_CPU, KT__WSRC_CORES, KT__WSRC_MEM, KT__WSRC_FS, KT__WSRC_PROCS,
       KT__WSRC_NET, KT__WSRC_COUNT };

/* Logs once when a source starts or stops failing (err: GetLastError() or status). */
void kt__win_source(kt_plat_t *p, int src, const char *what, int ok, unsigned long err);

/* Wide (UTF-16) to UTF-8 in pool, lenient (utf16.c); "" on failure. */
const char *kt__win_utf8(const wchar_t *w, apr_pool_t *pool);
/* The same for n wide characters, not NUL-terminated. */
const char *kt__win_utf8n(const wchar_t *w, size_t n, apr_pool_t *pool);

/* ---- files (files.c), for kt_sys.h's files.c and save.c ---------------------- */

/* The final path of h ("\\?\C:\..."): links, junctions and 8.3 names
 * resolved; in pool, NULL on failure (GetLastError says why). */
wchar_t *kt__win_final_path(HANDLE h, apr_pool_t *pool);
/* dir and name joined by one '\', in pool. */
wchar_t *kt__win_join(const wchar_t *dir, const wchar_t *name, apr_pool_t *pool);
/* 1 when the path component [s, s+len) is a reserved device name: CON, PRN,
 * AUX, NUL, COM0-9, LPT0-9 (and the superscripts 1-3), CONIN$, CONOUT$,
 * CLOCK$, with any extension and trailing spaces before it. */
int kt__win_device_name(const char *s, size_t len);

void kt__win_read_cpu(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
void kt__win_read_mem(kt_plat_t *p, kt_sample_t *s);
void kt__win_read_fs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
void kt__win_read_disks(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
void kt__win_read_procs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
void kt__win_read_net(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);

/* PDH (pdh.c). open never fails (a broken PDH only leaves values unknown). */
kt__pdh_t *kt__pdh_open(apr_pool_t *pool);
/* Collects; sets s->run_queue and busy_pct/queue_length of s->disks (by the
 * leading disk number of PDH's "0 C:" instance names). */
void kt__pdh_read(kt__pdh_t *h, kt_sample_t *s);
/* For tests: how many counters failed to add or collect so far. */
unsigned kt__pdh_failed(const kt__pdh_t *h);

#endif
