/*
 * metrics_node.c - node_exporter's node_* families from the reading, with
 * node_exporter 1.5's names, types, help, labels and values, so that the
 * dashboards and alert rules written for it work on kotod unchanged.
 *
 * Counters are what the kernel counts since boot, in node_exporter's units
 * (seconds, bytes), computed as node_exporter computes them (ticks / 100,
 * ms * 0.001, sectors * 512, µs / 1000 / 1000) so that the same file gives
 * the same double. Labels are in name order, as client_golang writes them.
 * A value the reading does not have is left out, as node_exporter leaves
 * out what its collectors cannot read.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

static const struct {
    const char *name;
    unsigned bit;
} collectors[] = {
    {"cpu", KT__COLLECT_CPU},           {"meminfo", KT__COLLECT_MEMINFO},
    {"loadavg", KT__COLLECT_LOADAVG},   {"stat", KT__COLLECT_STAT},
    {"time", KT__COLLECT_TIME},         {"timex", KT__COLLECT_TIMEX},
    {"processes", KT__COLLECT_PROCESSES}, {"filesystem", KT__COLLECT_FILESYSTEM},
    {"netdev", KT__COLLECT_NETDEV},     {"diskstats", KT__COLLECT_DISKSTATS},
    {"vmstat", KT__COLLECT_VMSTAT},     {"pressure", KT__COLLECT_PRESSURE},
    {"uname", KT__COLLECT_UNAME},       {"os", KT__COLLECT_OS},
    {"netstat", KT__COLLECT_NETSTAT},   {"sockstat", KT__COLLECT_SOCKSTAT},
    {"filefd", KT__COLLECT_FILEFD},     {"entropy", KT__COLLECT_ENTROPY},
    {"netclass", KT__COLLECT_NETCLASS}, {"conntrack", KT__COLLECT_CONNTRACK},
    {"hwmon", KT__COLLECT_HWMON},
    {"koto", KT__COLLECT_KOTO},
};

unsigned kt__collector(const char *name)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(collectors); i++)
        if (strcmp(name, collectors[i].name) == 0)
            return collectors[i].bit;
    return 0;
}

/* ---- cpu, loadavg, stat, timex ------------------------------------------------------ */

static void cpu(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    /* In name order, as node_exporter's answer sorts them. */
    static const struct {
        const char *name;
        int mode;
    } modes[] = {{"idle", KT_MODE_IDLE},       {"iowait", KT_MODE_IOWAIT}, {"irq", KT_MODE_IRQ},
                 {"nice", KT_MODE_NICE},       {"softirq", KT_MODE_SOFTIRQ},
                 {"steal", KT_MODE_STEAL},     {"system", KT_MODE_SYSTEM}, {"user", KT_MODE_USER}};
    if (!s->core_time)
        return;
    kt__prom_family(o, "node_cpu_seconds_total", "counter",
                    "Seconds the CPUs spent in each mode.");
    for (unsigned i = 0; i < s->ncores; i++) {
        char id[16];
        snprintf(id, sizeof id, "%u", i);
        for (size_t m = 0; m < KT_ARRAY_SIZE(modes); m++)
            kt__prom_sample(o, "node_cpu_seconds_total",
                            kt__prom_labels(pool, "cpu", id, "mode", modes[m].name, NULL),
                            s->core_time[i].seconds[modes[m].mode]);
    }
}

/* A family of one unlabelled sample, written only when the value is known. */
static void one(kt__prom_t *o, const char *name, const char *type, const char *help, double v)
{
    if (!kt_known(v))
        return;
    kt__prom_family(o, name, type, help);
    kt__prom_sample(o, name, NULL, v);
}

static double u64d(uint64_t v) { return kt_known_u64(v) ? (double)v : NAN; }

static void loadavg(kt__prom_t *o, const kt_sample_t *s)
{
    one(o, "node_load1", "gauge", "1m load average.", s->load1);
    one(o, "node_load5", "gauge", "5m load average.", s->load5);
    one(o, "node_load15", "gauge", "15m load average.", s->load15);
}

static void stat_counters(kt__prom_t *o, const kt_sample_t *s)
{
    one(o, "node_boot_time_seconds", "gauge", "Node boot time, in unixtime.",
        s->boot_time >= 0 ? (double)s->boot_time : NAN);
    one(o, "node_context_switches_total", "counter", "Total number of context switches.",
        u64d(s->context_switches));
    one(o, "node_forks_total", "counter", "Total number of forks.", u64d(s->forks));
    one(o, "node_intr_total", "counter", "Total number of interrupts serviced.",
        u64d(s->interrupts));
    one(o, "node_procs_running", "gauge", "Number of processes in runnable state.",
        u64d(s->run_queue));
    one(o, "node_procs_blocked", "gauge",
        "Number of processes blocked waiting for I/O to complete.", u64d(s->io_blocked));
}

static void timex(kt__prom_t *o, const kt_sample_t *s)
{
    one(o, "node_timex_offset_seconds", "gauge",
        "Time offset in between local system and reference clock.", s->clock.offset_s);
    one(o, "node_timex_sync_status", "gauge",
        "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
        s->clock.synced >= 0 ? s->clock.synced : NAN);
    one(o, "node_timex_maxerror_seconds", "gauge", "Maximum error in seconds.",
        s->clock.maxerror_s);
    one(o, "node_timex_estimated_error_seconds", "gauge", "Estimated error in seconds.",
        s->clock.esterror_s);
    static const struct {
        int at;
        const char *name, *type, *help;
    } more[] = {
        {KT_TIMEX_FREQ_RATIO, "node_timex_frequency_adjustment_ratio", "gauge",
         "Local clock frequency adjustment."},
        {KT_TIMEX_STATUS, "node_timex_status", "gauge", "Value of the status array bits."},
        {KT_TIMEX_CONSTANT, "node_timex_loop_time_constant", "gauge",
         "Phase-locked loop time constant."},
        {KT_TIMEX_TICK_S, "node_timex_tick_seconds", "gauge", "Seconds between clock ticks."},
        {KT_TIMEX_PPSFREQ_HZ, "node_timex_pps_frequency_hertz", "gauge",
         "Pulse per second frequency."},
        {KT_TIMEX_JITTER_S, "node_timex_pps_jitter_seconds", "gauge", "Pulse per second jitter."},
        {KT_TIMEX_SHIFT, "node_timex_pps_shift_seconds", "gauge",
         "Pulse per second interval duration."},
        {KT_TIMEX_STABIL_HZ, "node_timex_pps_stability_hertz", "gauge",
         "Pulse per second stability, average of recent frequency changes."},
        {KT_TIMEX_JITCNT, "node_timex_pps_jitter_total", "counter",
         "Pulse per second count of jitter limit exceeded events."},
        {KT_TIMEX_CALCNT, "node_timex_pps_calibration_total", "counter",
         "Pulse per second count of calibration intervals."},
        {KT_TIMEX_ERRCNT, "node_timex_pps_error_total", "counter",
         "Pulse per second count of calibration errors."},
        {KT_TIMEX_STBCNT, "node_timex_pps_stability_exceeded_total", "counter",
         "Pulse per second count of stability limit exceeded events."},
        {KT_TIMEX_TAI_S, "node_timex_tai_offset_seconds", "gauge",
         "International Atomic Time (TAI) offset."},
    };
    for (size_t i = 0; i < KT_ARRAY_SIZE(more); i++)
        one(o, more[i].name, more[i].type, more[i].help, s->clock.timex[more[i].at]);
}

/* ---- meminfo, vmstat, pressure ------------------------------------------------------- */

/* node_memory_<Field>[_bytes]: "Active(anon)" becomes Active_anon. */
static void meminfo(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    for (unsigned i = 0; i < s->nmeminfo; i++) {
        const kt_field_t *f = &s->meminfo[i];
        char *name = apr_pstrcat(pool, "node_memory_", f->name, f->bytes ? "_bytes" : "", NULL);
        char *d = name;
        for (const char *c = name; *c; c++)
            if (*c == '(')
                *d++ = '_';
            else if (*c != ')')
                *d++ = *c;
        *d = '\0';
        kt__prom_family(o, name, "gauge",
                        apr_pstrcat(pool, "Memory information field ", name + 12, ".", NULL));
        kt__prom_sample(o, name, NULL, (double)f->value);
    }
}

static void vmstat(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    for (unsigned i = 0; i < s->nvmstat; i++) {
        const kt_field_t *f = &s->vmstat[i];
        const char *name = apr_pstrcat(pool, "node_vmstat_", f->name, NULL);
        kt__prom_family(o, name, "untyped",
                        apr_pstrcat(pool, "/proc/vmstat information field ", f->name, ".", NULL));
        kt__prom_sample(o, name, NULL, (double)f->value);
    }
}

static double stall_s(uint64_t us) { return kt_known_u64(us) ? (double)us / 1000.0 / 1000.0 : NAN; }

static void pressure(kt__prom_t *o, const kt_sample_t *s)
{
    one(o, "node_pressure_cpu_waiting_seconds_total", "counter",
        "Total time in seconds that processes have waited for CPU time",
        stall_s(s->pressure[KT_PSI_CPU].some_total_us));
    one(o, "node_pressure_io_waiting_seconds_total", "counter",
        "Total time in seconds that processes have waited due to IO congestion",
        stall_s(s->pressure[KT_PSI_IO].some_total_us));
    one(o, "node_pressure_io_stalled_seconds_total", "counter",
        "Total time in seconds no process could make progress due to IO congestion",
        stall_s(s->pressure[KT_PSI_IO].full_total_us));
    one(o, "node_pressure_memory_waiting_seconds_total", "counter",
        "Total time in seconds that processes have waited for memory",
        stall_s(s->pressure[KT_PSI_MEMORY].some_total_us));
    one(o, "node_pressure_memory_stalled_seconds_total", "counter",
        "Total time in seconds no process could make progress due to memory congestion",
        stall_s(s->pressure[KT_PSI_MEMORY].full_total_us));
}

/* ---- processes ----------------------------------------------------------------------- */

static void processes(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    if (!s->nprocs)
        return;
    /* As node_exporter's processes collector counts: every pid it could
     * read, the threads they hold, and the pids by their state letter. */
    uint64_t threads = 0, by_state[128] = {0};
    for (unsigned i = 0; i < s->nprocs; i++) {
        if (kt_known_u64(s->procs[i].threads))
            threads += s->procs[i].threads;
        unsigned char st = (unsigned char)s->procs[i].state;
        if (st < 128 && st != '?')
            by_state[st]++;
    }
    one(o, "node_processes_pids", "gauge", "Number of PIDs", (double)s->nprocs);
    one(o, "node_processes_threads", "gauge", "Allocated threads in system", (double)threads);
    kt__prom_family(o, "node_processes_state", "gauge", "Number of processes in each state.");
    for (int c = 'A'; c <= 'z'; c++) {
        if (!by_state[c])
            continue;
        char state[2] = {(char)c, '\0'};
        kt__prom_sample(o, "node_processes_state", kt__prom_labels(pool, "state", state, NULL),
                        (double)by_state[c]);
    }
}

/* ---- filesystem, netdev, diskstats --------------------------------------------------- */

/* node_exporter's default --collector.filesystem.mount-points-exclude leaves
 * out what is below /dev, /proc and /sys (kotod keeps /dev/shm for itself). */
static int node_mount_point(const char *mp)
{
    static const char *const hidden[] = {"/dev", "/proc", "/sys"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(hidden); i++) {
        size_t n = strlen(hidden[i]);
        if (strncmp(mp, hidden[i], n) == 0 && (mp[n] == '\0' || mp[n] == '/'))
            return 0;
    }
    return 1;
}

static void filesystem(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    static const struct {
        const char *name, *help;
    } fam[] = {
        {"node_filesystem_device_error",
         "Whether an error occurred while getting statistics for the given device."},
        {"node_filesystem_readonly", "Filesystem read-only status."},
        {"node_filesystem_size_bytes", "Filesystem size in bytes."},
        {"node_filesystem_free_bytes", "Filesystem free space in bytes."},
        {"node_filesystem_avail_bytes",
         "Filesystem space available to non-root users in bytes."},
        {"node_filesystem_files", "Filesystem total file nodes."},
        {"node_filesystem_files_free", "Filesystem total free file nodes."},
    };
    const char **labels = apr_pcalloc(pool, sizeof *labels * (s->nfs + 1));
    for (unsigned i = 0; i < s->nfs; i++)
        if (node_mount_point(s->fs[i].mount_point))
            labels[i] = kt__prom_labels(pool, "device", s->fs[i].device, "fstype",
                                        s->fs[i].fstype, "mountpoint", s->fs[i].mount_point, NULL);
    for (size_t k = 0; k < KT_ARRAY_SIZE(fam); k++) {
        kt__prom_family(o, fam[k].name, "gauge", fam[k].help);
        for (unsigned i = 0; i < s->nfs; i++) {
            const kt_fs_t *f = &s->fs[i];
            if (!labels[i])
                continue;
            double v = NAN;
            switch (k) {
            case 0: v = f->device_error >= 0 ? f->device_error : NAN; break;
            case 1: v = f->readonly >= 0 ? f->readonly : NAN; break;
            case 2: v = f->device_error == 1 ? NAN : u64d(f->size_bytes); break;
            case 3: v = f->device_error == 1 ? NAN : u64d(f->free_bytes); break;
            case 4: v = f->device_error == 1 ? NAN : u64d(f->avail_bytes); break;
            case 5: v = f->device_error == 1 ? NAN : u64d(f->inodes_total); break;
            default: v = f->device_error == 1 ? NAN : u64d(f->inodes_free); break;
            }
            kt__prom_sample(o, fam[k].name, labels[i], v);
        }
    }
}

static void netdev(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    static const char *const names[] = {
        "node_network_receive_bytes_total",   "node_network_receive_packets_total",
        "node_network_receive_errs_total",    "node_network_receive_drop_total",
        "node_network_transmit_bytes_total",  "node_network_transmit_packets_total",
        "node_network_transmit_errs_total",   "node_network_transmit_drop_total",
        "node_network_receive_fifo_total",    "node_network_receive_frame_total",
        "node_network_receive_compressed_total", "node_network_receive_multicast_total",
        "node_network_transmit_fifo_total",   "node_network_transmit_colls_total",
        "node_network_transmit_carrier_total", "node_network_transmit_compressed_total"};
    const char **labels = apr_pcalloc(pool, sizeof *labels * (s->nnet + 1));
    for (unsigned i = 0; i < s->nnet; i++)
        labels[i] = kt__prom_labels(pool, "device", s->net[i].name, NULL);
    for (size_t k = 0; k < KT_ARRAY_SIZE(names); k++) {
        if (k >= 8 && !(s->nnet && kt_known_u64(s->net[0].other[k - 8])))
            continue; /* a platform without the column: no family */
        /* "Network device statistic receive_bytes." */
        const char *stat = names[k] + strlen("node_network_");
        kt__prom_family(o, names[k], "counter",
                        apr_pstrcat(pool, "Network device statistic ",
                                    apr_pstrndup(pool, stat, strlen(stat) - strlen("_total")), ".",
                                    NULL));
        for (unsigned i = 0; i < s->nnet; i++) {
            const kt_net_t *n = &s->net[i];
            const uint64_t v[] = {n->rx_bytes,  n->rx_packets, n->rx_errors, n->rx_drops,
                                  n->tx_bytes,  n->tx_packets, n->tx_errors, n->tx_drops};
            kt__prom_sample_u64(o, names[k], labels[i], k < 8 ? v[k] : n->other[k - 8]);
        }
    }
}

static double ms_s(uint64_t ms) { return kt_known_u64(ms) ? (double)ms * 0.001 : NAN; }

static void diskstats(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"node_disk_reads_completed_total", "counter",
         "The total number of reads completed successfully."},
        {"node_disk_reads_merged_total", "counter", "The total number of reads merged."},
        {"node_disk_read_bytes_total", "counter", "The total number of bytes read successfully."},
        {"node_disk_read_time_seconds_total", "counter",
         "The total number of seconds spent by all reads."},
        {"node_disk_writes_completed_total", "counter",
         "The total number of writes completed successfully."},
        {"node_disk_writes_merged_total", "counter", "The number of writes merged."},
        {"node_disk_written_bytes_total", "counter",
         "The total number of bytes written successfully."},
        {"node_disk_write_time_seconds_total", "counter",
         "This is the total number of seconds spent by all writes."},
        {"node_disk_io_now", "gauge", "The number of I/Os currently in progress."},
        {"node_disk_io_time_seconds_total", "counter", "Total seconds spent doing I/Os."},
        {"node_disk_io_time_weighted_seconds_total", "counter",
         "The weighted # of seconds spent doing I/Os."},
    };
    const char **labels = apr_pcalloc(pool, sizeof *labels * (s->ndisks + 1));
    for (unsigned i = 0; i < s->ndisks; i++)
        labels[i] = kt__prom_labels(pool, "device", s->disks[i].name, NULL);
    for (size_t k = 0; k < KT_ARRAY_SIZE(fam); k++) {
        kt__prom_family(o, fam[k].name, fam[k].type, fam[k].help);
        for (unsigned i = 0; i < s->ndisks; i++) {
            const kt_disk_t *d = &s->disks[i];
            const double v[] = {u64d(d->reads),        u64d(d->reads_merged),
                                u64d(d->read_bytes),   ms_s(d->read_time_ms),
                                u64d(d->writes),       u64d(d->writes_merged),
                                u64d(d->write_bytes),  ms_s(d->write_time_ms),
                                u64d(d->in_flight),    ms_s(d->io_time_ms),
                                ms_s(d->io_weighted_ms)};
            kt__prom_sample(o, fam[k].name, labels[i], v[k]);
        }
    }
}

/* ---- uname, os ------------------------------------------------------------------------ */

static void uname_info(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    if (!s->os || strcmp(s->os, "linux") != 0 || !s->kernel)
        return;
    kt__prom_family(o, "node_uname_info", "gauge",
                    "Labeled system information as provided by the uname system call.");
    kt__prom_sample(o, "node_uname_info",
                    kt__prom_labels(pool, "domainname", s->domainname, "machine", s->machine,
                                    "nodename", s->hostname, "release", s->kernel, "sysname",
                                    "Linux", "version", s->kernel_version, NULL),
                    1);
}

/* node_exporter's reading of VERSION_ID: its leading ^[0-9]+\.?[0-9]* as a number. */
static double os_version(const char *v)
{
    if (!v || *v < '0' || *v > '9')
        return NAN;
    const char *p = v;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    char num[64];
    size_t n = (size_t)(p - v) < sizeof num - 1 ? (size_t)(p - v) : sizeof num - 1;
    memcpy(num, v, n);
    num[n] = '\0';
    return strtod(num, NULL);
}

static void os_info(kt__prom_t *o, const kt_sample_t *s, apr_pool_t *pool)
{
    const kt_os_release_t *r = &s->os_release;
    if (!r->known)
        return;
    kt__prom_family(o, "node_os_info", "gauge",
                    "A metric with a constant '1' value labeled by build_id, id, id_like, "
                    "image_id, image_version, name, pretty_name, variant, variant_id, version, "
                    "version_codename, version_id.");
    kt__prom_sample(o, "node_os_info",
                    kt__prom_labels(pool, "build_id", r->build_id, "id", r->id, "id_like",
                                    r->id_like, "image_id", r->image_id, "image_version",
                                    r->image_version, "name", r->name, "pretty_name",
                                    r->pretty_name, "variant", r->variant, "variant_id",
                                    r->variant_id, "version", r->version, "version_codename",
                                    r->version_codename, "version_id", r->version_id, NULL),
                    1);
    double v = os_version(r->version_id);
    if (kt_known(v)) {
        kt__prom_family(o, "node_os_version", "gauge",
                        "Metric containing the major.minor part of the OS version.");
        kt__prom_sample(o, "node_os_version",
                        kt__prom_labels(pool, "id", r->id, "id_like", r->id_like, "name", r->name,
                                        NULL),
                        v);
    }
}

void kt__metrics_node(kt__prom_t *o, const kt_sample_t *s, unsigned mask, apr_pool_t *pool)
{
    if (mask & KT__COLLECT_CPU)
        cpu(o, s, pool);
    if (mask & KT__COLLECT_MEMINFO)
        meminfo(o, s, pool);
    if (mask & KT__COLLECT_LOADAVG)
        loadavg(o, s);
    if (mask & KT__COLLECT_STAT)
        stat_counters(o, s);
    if (mask & KT__COLLECT_TIMEX)
        timex(o, s);
    if (mask & KT__COLLECT_PROCESSES)
        processes(o, s, pool);
    if (mask & KT__COLLECT_FILESYSTEM)
        filesystem(o, s, pool);
    if (mask & KT__COLLECT_NETDEV)
        netdev(o, s, pool);
    if (mask & KT__COLLECT_DISKSTATS)
        diskstats(o, s, pool);
    if (mask & KT__COLLECT_VMSTAT)
        vmstat(o, s, pool);
    if (mask & KT__COLLECT_PRESSURE)
        pressure(o, s);
    if (mask & KT__COLLECT_UNAME)
        uname_info(o, s, pool);
    if (mask & KT__COLLECT_OS)
        os_info(o, s, pool);
}
