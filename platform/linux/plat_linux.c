/*
 * plat_linux.c - the Linux backend: opens the roots and takes one reading.
 *
 * Every path is relative to a directory fd of the configured procfs / sysfs
 * root (node_exporter's --path.procfs), so the same code reads the live
 * machine, a container's view of its host, or a captured fixture tree.
 *
 * State between readings (the counters rates are computed from) lives in
 * two pools used in turn: the reading being built writes into one while the
 * previous reading's counters are read from the other.
 */
#include "linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

static apr_status_t open_root(const char *path, int *fd)
{
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return *fd < 0 ? APR_FROM_OS_ERROR(errno) : APR_SUCCESS;
}

static const char *read_line(kt_plat_t *p, const char *rel)
{
    char *text;
    if (kt__slurp(p, p->procfd, rel, &text, NULL) != APR_SUCCESS)
        return NULL;
    text[strcspn(text, "\n")] = '\0';
    return apr_pstrdup(p->pool, text);
}

static apr_status_t close_fds(void *data)
{
    kt_plat_t *p = data;
    if (p->procfd >= 0)
        close(p->procfd);
    if (p->sysfd >= 0)
        close(p->sysfd);
    free(p->buf);
    return APR_SUCCESS;
}

apr_status_t kt_plat_set_roots(kt_plat_t *p, const char *procfs, const char *sysfs)
{
    if (procfs) {
        int fd;
        apr_status_t st = open_root(procfs, &fd);
        if (st != APR_SUCCESS)
            return st;
        if (p->procfd >= 0)
            close(p->procfd);
        p->procfd = fd;
        p->procfs = apr_pstrdup(p->pool, procfs);
        p->hostname = read_line(p, "sys/kernel/hostname");
        p->kernel = read_line(p, "sys/kernel/osrelease");
    }
    if (sysfs) {
        if (p->sysfd >= 0)
            close(p->sysfd);
        /* Without sysfs only the disk list loses its partition filter. */
        if (open_root(sysfs, &p->sysfd) != APR_SUCCESS)
            p->sysfd = -1;
        p->sysfs = apr_pstrdup(p->pool, sysfs);
    }
    return APR_SUCCESS;
}

apr_status_t kt_plat_open(kt_plat_t **out, const kt_plat_opts_t *opts, apr_pool_t *pool)
{
    apr_pool_t *sub;
    apr_status_t st = apr_pool_create(&sub, pool);
    if (st != APR_SUCCESS)
        return st;
    apr_pool_tag(sub, "platform");
    kt_plat_t *p = apr_pcalloc(sub, sizeof *p);
    p->pool = sub;
    p->procfd = p->sysfd = -1;
    apr_pool_cleanup_register(sub, p, close_fds, apr_pool_cleanup_null);
    p->rootfs = apr_pstrdup(sub, opts->rootfs ? opts->rootfs : "");
    p->top_n = opts->top_n ? opts->top_n : 5;
    p->page_size = sysconf(_SC_PAGESIZE);
    apr_pool_create(&p->state_pool[0], sub);
    apr_pool_create(&p->state_pool[1], sub);

    st = kt_plat_set_roots(p, opts->procfs ? opts->procfs : "/proc",
                           opts->sysfs ? opts->sysfs : "/sys");
    if (st != APR_SUCCESS) {
        apr_pool_destroy(sub);
        return st;
    }
    *out = p;
    return APR_SUCCESS;
}

void kt_plat_close(kt_plat_t *p)
{
    apr_pool_destroy(p->pool);
}

/* ---- one reading, source by source ----------------------------------------- */

/* Reads rel and parses it; logs once when the source starts or stops failing. */
#define READ_SOURCE(p, src, rel, parse_call)                                   \
    ({                                                                         \
        char *text;                                                            \
        apr_status_t st_ = kt__slurp((p), (p)->procfd, (rel), &text, NULL);    \
        if (st_ == APR_SUCCESS)                                                \
            st_ = (parse_call);                                                \
        kt__source_status((p), (src), (rel), st_);                             \
    })

static void read_cpu(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    kt__stat_t st;
    if (READ_SOURCE(p, KT__SRC_STAT, "stat", kt__parse_stat(text, &st, pool)) != APR_SUCCESS)
        return;
    kt__prev_t *was = &p->prev, *now = &p->next;
    now->total = st.total;
    now->ncores = st.ncores;
    now->cores = apr_pmemdup(p->state_pool[p->cur_state], st.cores,
                             sizeof *st.cores * (st.ncores ? st.ncores : 1));
    if (kt_known_u64(st.btime))
        s->boot_time = (int64_t)st.btime;
    s->run_queue = st.procs_running;

    s->ncores = st.ncores;
    s->cores = apr_palloc(pool, sizeof(kt_cpu_t) * (st.ncores ? st.ncores : 1));
    uint64_t online = 0;
    const kt__cpu_ticks_t absent = {{0}, 0};
    for (unsigned i = 0; i < st.ncores; i++) {
        online += st.cores[i].known != 0;
        const kt__cpu_ticks_t *before = was->valid && i < was->ncores ? &was->cores[i] : &absent;
        kt__plat_cpu_pct(before, &st.cores[i], &s->cores[i]);
    }
    s->ncpu = online ? online : KT_UNKNOWN_U64;
    if (was->valid)
        kt__plat_cpu_pct(&was->total, &st.total, &s->cpu);
}

static void read_memory(kt_plat_t *p, kt_sample_t *s)
{
    kt__meminfo_t mi;
    if (READ_SOURCE(p, KT__SRC_MEMINFO, "meminfo", kt__parse_meminfo(text, &mi)) == APR_SUCCESS) {
        kt_mem_t *m = &s->mem;
        m->total_bytes = mi.total;
        m->free_bytes = mi.free;
        m->buffers_bytes = mi.buffers;
        m->cached_bytes = mi.cached;
        m->available_bytes = mi.available;
        /* Kernels before 3.14 lack MemAvailable; free(1) then counts free +
         * buffers + page cache as available, and so do we. */
        if (!kt_known_u64(m->available_bytes) && kt_known_u64(mi.free) &&
            kt_known_u64(mi.buffers) && kt_known_u64(mi.cached))
            m->available_bytes = mi.free + mi.buffers + mi.cached;
        if (kt_known_u64(m->total_bytes) && kt_known_u64(m->available_bytes) &&
            m->available_bytes <= m->total_bytes) {
            m->used_bytes = m->total_bytes - m->available_bytes;
            m->used_pct = kt__plat_pct(m->used_bytes, m->total_bytes);
        }
        m->swap_total_bytes = mi.swap_total;
        if (kt_known_u64(mi.swap_total) && kt_known_u64(mi.swap_free) &&
            mi.swap_free <= mi.swap_total) {
            m->swap_used_bytes = mi.swap_total - mi.swap_free;
            /* No swap configured means none is used, which is a real 0 %. */
            m->swap_used_pct = mi.swap_total ? kt__plat_pct(m->swap_used_bytes, mi.swap_total) : 0;
        }
    }
    uint64_t in, out;
    if (READ_SOURCE(p, KT__SRC_VMSTAT, "vmstat", kt__parse_vmstat(text, &in, &out)) ==
        APR_SUCCESS) {
        p->next.pswpin = in;
        p->next.pswpout = out;
        if (p->prev.valid) {
            s->mem.swap_in_pages_ps = kt__plat_rate(p->prev.pswpin, in, s->elapsed_s);
            s->mem.swap_out_pages_ps = kt__plat_rate(p->prev.pswpout, out, s->elapsed_s);
        }
    } else {
        p->next.pswpin = p->next.pswpout = KT_UNKNOWN_U64;
    }
}

static void read_load(kt_plat_t *p, kt_sample_t *s)
{
    kt__loadavg_t la;
    if (READ_SOURCE(p, KT__SRC_LOADAVG, "loadavg", kt__parse_loadavg(text, &la)) != APR_SUCCESS)
        return;
    s->load1 = la.load[0];
    s->load5 = la.load[1];
    s->load15 = la.load[2];
    s->threads_total = la.threads;
}

static void read_net(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    kt__netdev_t *d;
    unsigned n;
    if (READ_SOURCE(p, KT__SRC_NETDEV, "net/dev", kt__parse_netdev(text, &d, &n, pool)) !=
        APR_SUCCESS)
        return;
    apr_pool_t *state = p->state_pool[p->cur_state];
    s->net = apr_pcalloc(pool, sizeof(kt_net_t) * n);
    s->nnet = n;
    for (unsigned i = 0; i < n; i++) {
        kt_net_t *o = &s->net[i];
        o->name = d[i].name;
        o->rx_bytes = d[i].rx_bytes;
        o->tx_bytes = d[i].tx_bytes;
        o->rx_packets = d[i].rx_packets;
        o->tx_packets = d[i].tx_packets;
        o->rx_errors = d[i].rx_errs;
        o->tx_errors = d[i].tx_errs;
        o->rx_drops = d[i].rx_drop;
        o->tx_drops = d[i].tx_drop;
        o->rx_bytes_ps = o->tx_bytes_ps = NAN;
        const kt__netdev_t *was =
            p->prev.valid ? apr_hash_get(p->prev.net, d[i].name, APR_HASH_KEY_STRING) : NULL;
        if (was) {
            o->rx_bytes_ps = kt__plat_rate(was->rx_bytes, d[i].rx_bytes, s->elapsed_s);
            o->tx_bytes_ps = kt__plat_rate(was->tx_bytes, d[i].tx_bytes, s->elapsed_s);
        }
        kt__netdev_t *keep = apr_pmemdup(state, &d[i], sizeof d[i]);
        keep->name = apr_pstrdup(state, d[i].name);
        apr_hash_set(p->next.net, keep->name, APR_HASH_KEY_STRING, keep);
    }
}

/* A whole disk has a /sys/block entry; partitions do not. loop and ram
 * devices are memory or files, not disks. */
static int is_disk(kt_plat_t *p, const char *name)
{
    if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
        return 0;
    if (p->sysfd < 0)
        return 1;
    char rel[300];
    snprintf(rel, sizeof rel, "block/%s", name);
    return faccessat(p->sysfd, rel, F_OK, 0) == 0;
}

static void read_disks(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    kt__diskstat_t *d;
    unsigned n;
    if (READ_SOURCE(p, KT__SRC_DISKSTATS, "diskstats",
                    kt__parse_diskstats(text, &d, &n, pool)) != APR_SUCCESS)
        return;
    apr_pool_t *state = p->state_pool[p->cur_state];
    s->disks = apr_pcalloc(pool, sizeof(kt_disk_t) * n);
    s->ndisks = 0;
    double elapsed_ms = s->elapsed_s * 1000.0;
    for (unsigned i = 0; i < n; i++) {
        if (!is_disk(p, d[i].name))
            continue;
        kt_disk_t *o = &s->disks[s->ndisks++];
        o->name = d[i].name;
        o->reads = d[i].reads;
        o->writes = d[i].writes;
        o->read_bytes = kt_known_u64(d[i].read_sectors) ? d[i].read_sectors * 512 : KT_UNKNOWN_U64;
        o->write_bytes =
            kt_known_u64(d[i].write_sectors) ? d[i].write_sectors * 512 : KT_UNKNOWN_U64;
        o->read_bytes_ps = o->write_bytes_ps = o->busy_pct = o->queue_length = NAN;
        const kt__diskstat_t *was =
            p->prev.valid ? apr_hash_get(p->prev.disks, d[i].name, APR_HASH_KEY_STRING) : NULL;
        if (was) {
            o->read_bytes_ps = 512 * kt__plat_rate(was->read_sectors, d[i].read_sectors, s->elapsed_s);
            o->write_bytes_ps =
                512 * kt__plat_rate(was->write_sectors, d[i].write_sectors, s->elapsed_s);
            double busy = kt__plat_rate(was->io_ms, d[i].io_ms, elapsed_ms);
            o->busy_pct = busy > 1.0 ? 100.0 : 100.0 * busy;
            o->queue_length = kt__plat_rate(was->weighted_ms, d[i].weighted_ms, elapsed_ms);
        }
        kt__diskstat_t *keep = apr_pmemdup(state, &d[i], sizeof d[i]);
        keep->name = apr_pstrdup(state, d[i].name);
        apr_hash_set(p->next.disks, keep->name, APR_HASH_KEY_STRING, keep);
    }
}

apr_status_t kt_plat_sample(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    apr_pool_t *state = kt__plat_begin(s, "linux", p->hostname, p->kernel, p->state_pool,
                                       &p->cur_state, pool);
    memset(&p->next, 0, sizeof p->next);
    p->next.procs = apr_hash_make(state);
    p->next.net = apr_hash_make(state);
    p->next.disks = apr_hash_make(state);
    p->next.time = s->time;

    double uptime = NAN;
    READ_SOURCE(p, KT__SRC_UPTIME, "uptime", kt__parse_uptime(text, &uptime));
    s->uptime_s = uptime;
    p->next.uptime_s = uptime;
    if (p->prev.valid) {
        /* The kernel's uptime is the clock the counters tick by, and it makes
         * captured t0/t1 trees give the same rates on every run. */
        double dt = kt_known(uptime) && kt_known(p->prev.uptime_s)
                        ? uptime - p->prev.uptime_s
                        : (double)(s->time - p->prev.time) / APR_USEC_PER_SEC;
        s->elapsed_s = dt > 0 ? dt : NAN;
    }

    read_cpu(p, s, pool);
    read_memory(p, s);
    read_load(p, s);
    kt__read_procs(p, s, pool);
    kt__read_filesystems(p, s, pool);
    read_net(p, s, pool);
    read_disks(p, s, pool);

    p->next.valid = 1;
    p->prev = p->next;
    /* Something must have been readable for the sample to mean anything. */
    unsigned all = (1u << KT__SRC_COUNT) - 1;
    return (p->failing & all) == all ? APR_ENOENT : APR_SUCCESS;
}
