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

#include <dirent.h>

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
    uint64_t cticks; /* cutime + cstime: the children it reaped */
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
    uint64_t other[KT_NET_OTHER]; /* as kt_net_t's */
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

/* What one reading leaves for the next one to compute rates against (the
 * processes' own is in the descriptor cache's table, fdcache.c). */
typedef struct {
    int valid;
    double uptime_s;
    apr_time_t time;
    kt__cpu_ticks_t total;
    kt__cpu_ticks_t *cores;
    unsigned ncores;
    uint64_t pswpin, pswpout;
    apr_hash_t *net;   /* name -> kt__netdev_t */
    apr_hash_t *disks; /* name -> kt__diskstat_t */
} kt__prev_t;

/* ---- kept descriptors (fdcache.c) ------------------------------------------ */

/* The files below the procfs root read at every reading, kept open. */
enum {
    KT__FILE_UPTIME, KT__FILE_STAT, KT__FILE_MEMINFO, KT__FILE_VMSTAT, KT__FILE_LOADAVG,
    KT__FILE_MOUNTINFO, KT__FILE_NETDEV, KT__FILE_DISKSTATS,
    KT__FILE_PSI, /* KT_PSI__COUNT of them, in KT_PSI_* order */
    KT__FILE_COUNT = KT__FILE_PSI + KT_PSI__COUNT
};

/* One process from one reading to the next: its kept <pid>/stat and the
 * counters its CPU share is computed against. */
typedef struct {
    int32_t pid;        /* the number of its directory below the root */
    int32_t fd;         /* <pid>/stat kept open; -1: opened at each reading */
    uint64_t starttime; /* clock ticks after boot; KT_UNKNOWN_U64 */
    uint64_t ticks;     /* utime + stime at the reading; KT_UNKNOWN_U64 */
    uint64_t cticks;    /* cutime + cstime at the reading; KT_UNKNOWN_U64 */
    /* Its command line, kept while kt_plat_want_cmdlines asks for every
     * process's: read once, again only when its start time or short name
     * changes (another process, or an exec). malloc'd; "" when it has none. */
    char *cmdline;
    char comm[16];
    apr_time_t cmdline_time; /* when it was read */
} kt__proc_entry_t;

typedef struct {
    unsigned budget;   /* descriptors that may be kept at once, system files first */
    unsigned used;     /* descriptors kept now */
    int on_procfs;     /* the root is a procfs (else a captured tree, see fdcache.c) */
    int32_t files[KT__FILE_COUNT]; /* -1 when not kept */
    /* The process table, sorted by pid: the previous reading's (was) and the
     * one this reading builds (now), swapped when the scan ends. */
    kt__proc_entry_t *was, *now;
    unsigned nwas, nnow, capwas, capnow;
    unsigned hint;     /* where in was the next lookup starts */
    unsigned last_was; /* the was entry the last kt__proc_add carried over; nwas: none */
    int sorted;        /* now is still in pid order */
    void *dir;         /* the root's DIR *, kept between scans on procfs; NULL when not */
    /* The last complete listing of the root (proc.c): the kernel's fork
     * count then, and when (0: none to go by). listings counts them. */
    uint64_t listed_forks;
    apr_time_t listed_time;
    unsigned listings;
} kt__fdcache_t;

struct kt_plat_t {
    apr_pool_t *pool;
    const char *procfs, *sysfs, *rootfs;
    int procfd, sysfd; /* sysfd is -1 when the sysfs root cannot be opened */
    unsigned top_n;
    int want_cmdlines; /* every process's command line, not only the top lists' */
    int skip_procs;    /* the next reading leaves the process table out (kt_plat_want_procs) */
    /* The kernel's uptime (else our clock) at the last process scan: the
     * processes' CPU shares are over the time since that scan, which is more
     * than one interval when a reading skipped it. */
    double procs_uptime_s;
    apr_time_t procs_time;
    long page_size;
    char *buf; /* reused read buffer, grown up to KT__SLURP_MAX */
    size_t cap;
    const char *hostname, *kernel, *kernel_version, *machine, *domainname;
    kt_os_release_t os_release; /* read when the roots are set */
    unsigned failing; /* KT__SRC_* bits */
    apr_pool_t *state_pool[2]; /* prev lives in one, the reading being built in the other */
    int cur_state;
    kt__prev_t prev, next;
    kt__fdcache_t kept;
    apr_hash_t *disk_kind; /* diskstats name -> whether it is a whole disk (disk.c) */
    /* The mounts to report, from the last mountinfo read (fs.c); on procfs
     * it is read again only when the kernel flags a change of the table. */
    apr_pool_t *mounts_pool;
    kt__mount_t *mounts;
    unsigned nmounts;
    int have_mounts;
};

#define KT__SLURP_MAX (64u << 20)

/* Reads the whole file rel (relative to dirfd) into p->buf, NUL-terminated;
 * *len (when not NULL) gets the byte count, which counts embedded NULs.
 * The text stays valid until the next call. */
apr_status_t kt__slurp(kt_plat_t *p, int dirfd, const char *rel, char **text, size_t *len);
/* The same for an open descriptor, read with pread from offset 0 (a kept
 * descriptor is re-read so). one_record: the file is one record (as
 * /proc/<pid>/stat), so a read that returns less than it asked for has it all. */
apr_status_t kt__pread_all(kt_plat_t *p, int fd, int one_record, char **text, size_t *len);

/* Logs the first failure of a source and its recovery; returns st. */
apr_status_t kt__source_status(kt_plat_t *p, int src, const char *what, apr_status_t st);

/* Reads file (KT__FILE_*, at rel) and parses it; logs once when the source
 * starts or stops failing. */
#define READ_SOURCE(p, src, file, rel, parse_call)                             \
    ({                                                                         \
        char *text;                                                            \
        apr_status_t st_ = kt__read_file((p), (file), (rel), &text, NULL);     \
        if (st_ == APR_SUCCESS)                                                \
            st_ = (parse_call);                                                \
        kt__source_status((p), (src), (rel), st_);                             \
    })

/* Makes the cache empty and sets its budget: at most budget descriptors,
 * fewer when the open-files limit (raised toward its hard limit first) has
 * no room for them beside KT__FD_RESERVE others. */
#define KT__FD_RESERVE 1024
void kt__fdcache_init(kt_plat_t *p, unsigned budget);
/* Closes every kept descriptor (a new root was set, or the handle closes);
 * the process table's counters stay for rates. */
void kt__fdcache_close(kt_plat_t *p);
/* Frees the process table (at close, after kt__fdcache_close). */
void kt__fdcache_free(kt_plat_t *p);

/* Reads file (KT__FILE_*) into p->buf as kt__slurp does: through its kept
 * descriptor, re-read from offset 0, opening rel below the root first when
 * there is none yet (and the budget allows; else open, read and close). */
apr_status_t kt__read_file(kt_plat_t *p, int file, const char *rel, char **text, size_t *len);
/* 1 when file is kept open on procfs and the kernel has flagged no change
 * since it was last read (poll's POLLPRI, which mountinfo raises when the
 * mount table changes); 0 when it must be read again. */
int kt__file_unchanged(kt_plat_t *p, int file);

/* The process table, during the scan of the root: begin, then one
 * kt__proc_add per directory listed, then end, which closes the
 * descriptors of the processes not listed and keeps the new table. */
void kt__procs_begin(kt_plat_t *p);
/* The root's directory listing, from its start: the kept one rewound on
 * procfs, else opened anew. Give it back with kt__procs_dir_done. NULL with
 * errno set when it cannot be opened. */
DIR *kt__procs_dir(kt_plat_t *p);
void kt__procs_dir_done(kt_plat_t *p, DIR *dir);
/* The entry of pid in this reading's table, carried over from the previous
 * reading's (*was gets a copy of that, or KT_UNKNOWN_U64 counters when the
 * pid is new). Valid until the next call. NULL when out of memory. */
kt__proc_entry_t *kt__proc_add(kt_plat_t *p, int32_t pid, kt__proc_entry_t *was);
/* Reads dir/stat for e (dir is e's directory name) into p->buf: through
 * its kept descriptor, else by opening it (kept when the budget allows).
 * On failure e keeps no descriptor. */
apr_status_t kt__proc_read_stat(kt_plat_t *p, kt__proc_entry_t *e, const char *dir, char **text);
/* Takes back the last kt__proc_add (the process could not be read): a
 * process of the previous reading counts as gone from this one. */
void kt__proc_drop(kt_plat_t *p, kt__proc_entry_t *e);
void kt__procs_end(kt_plat_t *p);
/* The entry of pid in the table the last scan built (after kt__procs_end),
 * or NULL. Valid until the next scan begins. */
kt__proc_entry_t *kt__proc_kept(kt_plat_t *p, int32_t pid);

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
