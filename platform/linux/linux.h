/*
 * linux.h - private to the Linux backend.
 *
 * Parsers (parse_*.c) are pure: NUL-terminated text in, struct out; no I/O,
 * no globals. They are the unit and fuzz targets. The readers (cpu.c, mem.c,
 * proc.c, fs.c, net.c, disk.c) do the I/O below the configured roots and call them.
 *
 * Parsers never fail on partial input: what they could not read stays
 * KT_UNKNOWN_U64 / NAN. They return KT_EPARSE only when nothing was usable.
 */
#ifndef KT_PLAT_LINUX_H
#define KT_PLAT_LINUX_H

#include "plat_internal.h"
#include "kt_base.h"

#include <apr_hash.h>
#include <apr_strings.h>

/* ---- parse helpers (procfs.c) ------------------------------------------ */

/* Parses a decimal unsigned at *p after skipping blanks; advances *p.
 * Returns 0 on success, -1 (leaving *p) when no digits or on overflow. */
int kt__parse_u64(const char **p, uint64_t *out);
/* Skips to the character after the next newline (or to the end). */
const char *kt__next_line(const char *p);

/* ---- /proc/stat ---------------------------------------------------------- */

#define KT__MAX_CPUS 8192 /* cpuN lines with a larger N are ignored */

typedef struct {
    kt__cpu_ticks_t total;
    kt__cpu_ticks_t *cores; /* indexed by CPU number; known == 0 when absent */
    unsigned ncores;        /* highest CPU number seen + 1 */
    uint64_t btime, procs_running, procs_blocked;
    uint64_t ctxt, processes, intr; /* context switches, forks, interrupts since boot */
} kt__stat_t;

apr_status_t kt__parse_stat(const char *text, kt__stat_t *out, apr_pool_t *pool);

/* ---- /proc/meminfo (values in bytes) ------------------------------------- */

typedef struct {
    uint64_t total, free, available, buffers, cached, swap_total, swap_free;
} kt__meminfo_t;

apr_status_t kt__parse_meminfo(const char *text, kt__meminfo_t *out);

/* ---- name/value tables: /proc/meminfo ("Key:  123 kB"), /proc/vmstat ("key 123") ---- */

/* Every line with a name and a number, in order; a "kB" unit makes the
 * value bytes (bytes = 1). Names are copied into pool. */
apr_status_t kt__parse_fields(const char *text, kt_field_t **out, unsigned *n, apr_pool_t *pool);

/* ---- /proc/pressure/{cpu,memory,io} ---------------------------------------- */

/* "some avg10=0.12 avg60=0.05 avg300=0.01 total=12345" and a "full" line. */
apr_status_t kt__parse_psi(const char *text, kt_psi_t *out);

/* ---- /etc/os-release ---------------------------------------------------------- */

/* KEY=value lines, values unquoted as the file's shell syntax quotes them;
 * strings are copied into pool. */
apr_status_t kt__parse_os_release(const char *text, kt_os_release_t *out, apr_pool_t *pool);

/* ---- small files: /proc/loadavg, /proc/uptime, /proc/vmstat ---------------- */

typedef struct {
    double load[3];
    uint64_t runnable, threads; /* the "1/234" field */
} kt__loadavg_t;

apr_status_t kt__parse_loadavg(const char *text, kt__loadavg_t *out);
apr_status_t kt__parse_uptime(const char *text, double *uptime_s);
apr_status_t kt__parse_vmstat(const char *text, uint64_t *pswpin, uint64_t *pswpout);

/* ---- /proc/<pid>/stat ---------------------------------------------------- */

#define KT__COMM_MAX 64

typedef struct {
    int64_t pid, ppid;
    char name[KT__COMM_MAX]; /* between the first '(' and the last ')' */
    char state;
    uint64_t utime, stime, threads, starttime, rss_pages;
} kt__pidstat_t;

apr_status_t kt__parse_pid_stat(const char *text, kt__pidstat_t *out);

/* ---- /proc/<pid>/mountinfo ----------------------------------------------- */

typedef struct {
    const char *mount_point, *root, *fstype, *source; /* octal escapes decoded */
    unsigned major, minor;
    int readonly; /* "ro" among the mount's or the superblock's options */
} kt__mount_t;

apr_status_t kt__parse_mountinfo(const char *text, kt__mount_t **out, unsigned *n,
                                 apr_pool_t *pool);

/* Filesystem selection policy (fs.c): 1 when the mount holds no user data. */
int kt__fs_is_pseudo(const char *fstype, const char *mount_point);

/* ---- /proc/net/dev ------------------------------------------------------- */

typedef struct {
    const char *name;
    uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
    uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
} kt__netdev_t;

apr_status_t kt__parse_netdev(const char *text, kt__netdev_t **out, unsigned *n,
                              apr_pool_t *pool);

/* ---- /proc/diskstats ----------------------------------------------------- */

typedef struct {
    const char *name;
    unsigned major, minor;
    uint64_t reads, reads_merged, read_sectors, read_ms;
    uint64_t writes, writes_merged, write_sectors, write_ms;
    uint64_t in_flight, io_ms, weighted_ms;
} kt__diskstat_t;

apr_status_t kt__parse_diskstats(const char *text, kt__diskstat_t **out, unsigned *n,
                                 apr_pool_t *pool);

/* ---- the backend's state and readers --------------------------------------- */

/* Sources that log once when they start failing and once when they recover. */
enum {
    KT__SRC_STAT, KT__SRC_MEMINFO, KT__SRC_LOADAVG, KT__SRC_UPTIME, KT__SRC_VMSTAT,
    KT__SRC_PROCS, KT__SRC_MOUNTS, KT__SRC_NETDEV, KT__SRC_DISKSTATS, KT__SRC_COUNT
};

/* What one reading leaves for the next one to compute rates against. */
typedef struct {
    int valid;
    double uptime_s;
    apr_time_t time;
    kt__cpu_ticks_t total;
    kt__cpu_ticks_t *cores;
    unsigned ncores;
    uint64_t pswpin, pswpout;
    apr_hash_t *procs; /* int64 pid -> kt__proc_prev_t */
    apr_hash_t *net;   /* name -> kt__netdev_t */
    apr_hash_t *disks; /* name -> kt__diskstat_t */
} kt__prev_t;

typedef struct {
    int64_t pid;
    uint64_t starttime, ticks;
} kt__proc_prev_t;

struct kt_plat_t {
    apr_pool_t *pool;
    const char *procfs, *sysfs, *rootfs;
    int procfd, sysfd; /* sysfd is -1 when the sysfs root cannot be opened */
    unsigned top_n;
    long page_size;
    char *buf; /* reused read buffer, grown up to KT__SLURP_MAX */
    size_t cap;
    const char *hostname, *kernel, *kernel_version, *machine, *domainname;
    kt_os_release_t os_release; /* read when the roots are set */
    unsigned failing; /* KT__SRC_* bits */
    apr_pool_t *state_pool[2]; /* prev lives in one, the reading being built in the other */
    int cur_state;
    kt__prev_t prev, next;
};

#define KT__SLURP_MAX (64u << 20)

/* Reads the whole file rel (relative to dirfd) into p->buf, NUL-terminated;
 * *len (when not NULL) gets the byte count, which counts embedded NULs.
 * The text stays valid until the next call. */
apr_status_t kt__slurp(kt_plat_t *p, int dirfd, const char *rel, char **text, size_t *len);

/* Logs the first failure of a source and its recovery; returns st. */
apr_status_t kt__source_status(kt_plat_t *p, int src, const char *what, apr_status_t st);

/* Reads rel and parses it; logs once when the source starts or stops failing. */
#define READ_SOURCE(p, src, rel, parse_call)                                   \
    ({                                                                         \
        char *text;                                                            \
        apr_status_t st_ = kt__slurp((p), (p)->procfd, (rel), &text, NULL);    \
        if (st_ == APR_SUCCESS)                                                \
            st_ = (parse_call);                                                \
        kt__source_status((p), (src), (rel), st_);                             \
    })

/* The readers, one per source, in the order kt_plat_sample calls them. Each
 * leaves its fields unknown when its source cannot be read. */
/* cpu.c: CPU shares total and per core, time per mode, boot time, run queue, the
 * activity counters; load averages. */
void kt__read_cpu(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
void kt__read_load(kt_plat_t *p, kt_sample_t *s);
/* mem.c: memory and swap, swap-in/out rates, every meminfo line, the paging counters. */
void kt__read_memory(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
/* proc.c: every process, its CPU share since the previous reading, the top lists. */
apr_status_t kt__read_procs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
/* fs.c: every data filesystem with its space and inode use. */
apr_status_t kt__read_filesystems(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
/* net.c: counters and byte rates per interface. */
void kt__read_net(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
/* disk.c: counters, throughput, busy % and queue length per whole disk. */
void kt__read_disks(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);
/* pressure.c: pressure stall information, where the kernel has it. */
void kt__read_pressure(kt_plat_t *p, kt_sample_t *s);
/* clock.c: the kernel clock's synchronisation state (adjtimex, read only). */
void kt__read_clock(kt_sample_t *s);

#endif
