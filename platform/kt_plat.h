/*
 * kt_plat.h - the platform layer: one API, one backend per OS underneath.
 *
 * The backend (platform/linux/ or platform/windows/) is chosen by the build.
 * Callers see an opaque kt_plat_t that owns every piece of state a backend
 * needs between two readings (previous counters for rates, open handles), and
 * a plain-data kt_sample_t that one call fills.
 *
 * Honest numbers: a value the backend could not read is UNKNOWN, never 0.
 *   - integers use KT_UNKNOWN_U64 (test with kt_known_u64),
 *   - doubles use NAN (test with kt_known).
 * Rates and percentages need two readings, so the first sample of a kt_plat_t
 * has them unknown. A missing or malformed source makes its fields unknown;
 * the sample as a whole still succeeds.
 *
 * Units are in the field names: _bytes, _pct (0..100), _ps (per second),
 * _s (seconds). Counters (since boot) and rates are separate fields.
 *
 * Thread-safety: a kt_plat_t is used by one thread at a time (the sampler).
 * A filled kt_sample_t is plain data and may be read by any number of threads.
 */
#ifndef KT_PLAT_H
#define KT_PLAT_H

#include <math.h>
#include <stdint.h>

#include <apr_pools.h>
#include <apr_time.h>

#define KT_UNKNOWN_U64 UINT64_MAX
static inline int kt_known_u64(uint64_t v) { return v != KT_UNKNOWN_U64; }
static inline int kt_known(double v) { return !isnan(v); }

/* Share of CPU time spent in each state over the interval between two readings. */
typedef struct {
    double user_pct, nice_pct, system_pct, idle_pct, iowait_pct;
    double irq_pct, softirq_pct, steal_pct;
    double busy_pct; /* everything but idle and iowait */
} kt_cpu_t;

/* Time spent in each mode since boot, in seconds (what node_exporter's
 * node_cpu_seconds_total exports); NAN for a mode the OS does not report. */
enum {
    KT_MODE_USER, KT_MODE_NICE, KT_MODE_SYSTEM, KT_MODE_IDLE, KT_MODE_IOWAIT,
    KT_MODE_IRQ, KT_MODE_SOFTIRQ, KT_MODE_STEAL, KT_MODE__COUNT
};
typedef struct {
    double seconds[KT_MODE__COUNT];
} kt_cpu_time_t;

/* One line of a kernel's name/value table (/proc/meminfo, /proc/vmstat), as
 * the kernel names it. bytes: the kernel gave a size (kB, converted here);
 * otherwise value is a count. */
typedef struct {
    const char *name;
    uint64_t value;
    int bytes;
} kt_field_t;

/* Pressure stall information for one resource (Linux 4.20+, /proc/pressure):
 * the share of wall time in which some (or all non-idle) tasks waited for it,
 * averaged over 10 s, 60 s and 300 s, and the total stall time since boot. */
typedef struct {
    double some_avg10_pct, some_avg60_pct, some_avg300_pct;
    double full_avg10_pct, full_avg60_pct, full_avg300_pct;
    uint64_t some_total_us, full_total_us;
} kt_psi_t;
enum { KT_PSI_CPU, KT_PSI_MEMORY, KT_PSI_IO, KT_PSI__COUNT };

/* The kernel clock's discipline (adjtimex): how far it thinks it is off. */
enum { /* the rest of adjtimex's answer, in node_exporter's units (NAN: unknown) */
    KT_TIMEX_FREQ_RATIO, KT_TIMEX_STATUS, KT_TIMEX_CONSTANT, KT_TIMEX_TICK_S,
    KT_TIMEX_PPSFREQ_HZ, KT_TIMEX_JITTER_S, KT_TIMEX_SHIFT, KT_TIMEX_STABIL_HZ,
    KT_TIMEX_JITCNT, KT_TIMEX_CALCNT, KT_TIMEX_ERRCNT, KT_TIMEX_STBCNT, KT_TIMEX_TAI_S,
    KT_TIMEX__COUNT
};
typedef struct {
    double offset_s, maxerror_s, esterror_s;
    int synced; /* 1 synchronised, 0 not, -1 unknown */
    double timex[KT_TIMEX__COUNT];
} kt_clock_t;

/* /etc/os-release; a field the file does not set is NULL, and known is 0
 * when no file was read. */
typedef struct {
    int known;
    const char *name, *id, *id_like, *pretty_name, *version, *version_id,
        *version_codename, *build_id, *variant, *variant_id, *image_id, *image_version;
} kt_os_release_t;

typedef struct {
    uint64_t total_bytes, available_bytes, used_bytes, free_bytes;
    uint64_t buffers_bytes, cached_bytes;
    double used_pct; /* (total - available) / total */
    uint64_t swap_total_bytes, swap_used_bytes;
    double swap_used_pct;
    double swap_in_pages_ps, swap_out_pages_ps;
} kt_mem_t;

/* One mounted filesystem that holds data (pseudo filesystems are left out). */
typedef struct {
    const char *mount_point, *device, *fstype;
    uint64_t size_bytes, free_bytes, avail_bytes, used_bytes;
    double used_pct; /* used / (used + avail), as df prints it */
    uint64_t inodes_total, inodes_free;
    double inodes_used_pct;
    int readonly;     /* mounted read-only: 1, 0, or -1 unknown */
    int device_error; /* 1 when its usage could not be read (statvfs failed) */
} kt_fs_t;

typedef struct {
    int64_t pid, ppid;
    const char *name;    /* short name (comm / image name) */
    const char *cmdline; /* filled for processes in a top list, for all when the
                          * sample's cmdlines says so; NULL when it has none */
    char state;          /* R S D Z T t I X, or '?' when unknown */
    double cpu_pct;      /* of one core, between the two readings */
    uint64_t cpu_time_ms; /* user + system since the process started */
    uint64_t rss_bytes;
    uint64_t threads;
} kt_proc_t;

#define KT_NET_OTHER 8
typedef struct {
    const char *name;
    uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
    uint64_t rx_errors, tx_errors, rx_drops, tx_drops;
    /* The other /proc/net/dev columns, for node_exporter's families of them:
     * receive fifo, frame, compressed, multicast; transmit fifo, colls,
     * carrier, compressed. KT_UNKNOWN_U64 where the platform has none. */
    uint64_t other[KT_NET_OTHER];
    double rx_bytes_ps, tx_bytes_ps;
} kt_net_t;

/* A whole block device (partitions and loop/ram devices are left out). */
typedef struct {
    const char *name;
    uint64_t reads, writes, read_bytes, write_bytes;
    uint64_t reads_merged, writes_merged;
    uint64_t read_time_ms, write_time_ms; /* time the requests took, all added up */
    uint64_t io_time_ms;                  /* time with I/O in flight */
    uint64_t io_weighted_ms;              /* io_time_ms weighted by requests in flight */
    uint64_t in_flight;                   /* requests in flight now */
    double read_bytes_ps, write_bytes_ps;
    double busy_pct;     /* share of the interval with I/O in flight */
    double queue_length; /* average requests in flight */
} kt_disk_t;

typedef struct {
    apr_time_t time;  /* wall clock of the reading */
    double elapsed_s; /* time since the previous reading; NAN on the first */
    const char *os;   /* "linux", "windows" */
    const char *hostname, *kernel;
    const char *kernel_version, *machine, *domainname; /* the rest of uname; NULL unknown */
    kt_os_release_t os_release;

    uint64_t ncpu;      /* logical CPUs seen in this reading */
    kt_cpu_t cpu;       /* all CPUs together */
    kt_cpu_t *cores;    /* ncores entries, indexed by CPU number */
    unsigned ncores;
    kt_cpu_time_t *core_time; /* ncores entries, or NULL: time per mode since boot */

    double load1, load5, load15; /* Linux load averages; NAN where absent */
    double uptime_s;
    int64_t boot_time;           /* seconds since the epoch; -1 unknown */

    uint64_t procs_total, threads_total;
    uint64_t procs_running, procs_sleeping, procs_blocked, procs_zombie,
        procs_stopped, procs_idle;
    uint64_t run_queue; /* runnable threads now (processor queue length) */
    uint64_t io_blocked; /* threads waiting for I/O now (/proc/stat procs_blocked) */
    uint64_t context_switches, forks, interrupts; /* since boot */

    kt_psi_t pressure[KT_PSI__COUNT]; /* unknown where the kernel has none */
    kt_clock_t clock;

    kt_mem_t mem;
    kt_field_t *meminfo; /* every /proc/meminfo line, in the kernel's order */
    unsigned nmeminfo;
    kt_field_t *vmstat;  /* the paging counters node_exporter exports by default */
    unsigned nvmstat;

    kt_fs_t *fs;
    unsigned nfs;
    kt_proc_t *procs; /* every process seen, in no particular order */
    unsigned nprocs;
    int cmdlines;     /* every process's cmdline is filled (kt_plat_want_cmdlines) */
    /* 1: this reading did not scan the processes (kt_plat_want_procs off);
     * procs, the top lists and the process counts are the previous
     * reading's, carried over by the monitor (empty from the backend). */
    int procs_carried;
    kt_proc_t **top_cpu, **top_mem; /* the busiest first; into procs */
    unsigned ntop_cpu, ntop_mem;
    /* CPU (% of one core) of processes that ended since the last reading,
     * from what their parents reaped (Linux: cutime + cstime); the parent
     * that reaped the most. NAN / -1 / NULL where unknown. A compile's many
     * short processes show here, not in the top list. */
    double exited_cpu_pct;
    int64_t exited_parent_pid;
    const char *exited_parent_name;
    kt_net_t *net;
    unsigned nnet;
    kt_disk_t *disks;
    unsigned ndisks;
} kt_sample_t;

typedef struct kt_plat_t kt_plat_t;

typedef struct {
    const char *procfs; /* Linux: root of /proc ("/proc" when NULL) */
    const char *sysfs;  /* Linux: root of /sys ("/sys" when NULL) */
    const char *rootfs; /* prefix for filesystem mount points ("" when NULL) */
    unsigned top_n;     /* size of the top lists (5 when 0) */
    /* Linux: most descriptors kept open between readings (KT_PLAT_KEPT_FDS
     * when 0): /proc's system files, then one per process; a process beyond
     * them is read by opening its file at each reading. Fewer when the
     * open-files limit has no room for them beside 1024 others. */
    unsigned kept_fds;
} kt_plat_opts_t;

#define KT_PLAT_KEPT_FDS 8192

/* Opens a platform handle; state lives in a subpool of pool until kt_plat_close.
 * Linux: raises the process's soft open-files limit toward its hard limit as
 * far as the kept descriptors need. */
apr_status_t kt_plat_open(kt_plat_t **out, const kt_plat_opts_t *opts, apr_pool_t *pool);

/*
 * Takes one reading into *out. Everything *out points to is allocated in
 * pool, which the caller owns (typically the snapshot's pool). Fails only
 * when nothing at all could be read (e.g. the procfs root does not exist).
 */
apr_status_t kt_plat_sample(kt_plat_t *p, kt_sample_t *out, apr_pool_t *pool);

/* Points the handle at another procfs/sysfs root (NULL keeps the old one);
 * previous counters are kept, so a t0/t1 pair of captured trees yields rates. */
apr_status_t kt_plat_set_roots(kt_plat_t *p, const char *procfs, const char *sysfs);

/* Whether each reading fills every process's command line, not only the
 * top lists' (process checks by pattern ask for it). Linux keeps each
 * process's line from one reading to the next; Windows gives the image
 * path. Called between readings, by the thread that takes them. */
void kt_plat_want_cmdlines(kt_plat_t *p, int on);

/* Whether the next reading scans the processes (on by default). kotod over
 * its budget turns it off every second reading: on Linux the scan reads a
 * file per process and is most of a reading's cost. Windows reads its whole
 * table in one call and always does. Called by the thread that reads. */
void kt_plat_want_procs(kt_plat_t *p, int on);

void kt_plat_close(kt_plat_t *p);

/* Makes an empty sample with every value unknown (for backends and tests). */
void kt_plat_sample_init(kt_sample_t *s);

#endif
