/*
 * disk.c - throughput, busy % and queue length per whole disk
 * (/proc/diskstats, with /sys/block telling disks from partitions).
 */
#include "linux.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How long a diskstats name's kind is taken as known. A name keeps its
 * kind while the kernel uses it, but a device being added or removed is in
 * diskstats a moment before or after its /sys/block entry. */
#define DISK_KIND_S 60

typedef struct {
    int disk;
    apr_time_t until;
} disk_kind_t;

/* A whole disk has a /sys/block entry; partitions do not. loop and ram
 * devices are memory or files, not disks. */
static int is_disk(kt_plat_t *p, const char *name, apr_time_t now)
{
    if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
        return 0;
    if (p->sysfd < 0)
        return 1;
    if (!p->disk_kind)
        p->disk_kind = apr_hash_make(p->pool);
    disk_kind_t *k = apr_hash_get(p->disk_kind, name, APR_HASH_KEY_STRING);
    if (!k) {
        k = apr_pcalloc(p->pool, sizeof *k);
        apr_hash_set(p->disk_kind, apr_pstrdup(p->pool, name), APR_HASH_KEY_STRING, k);
    }
    if (now >= k->until || now + apr_time_from_sec(DISK_KIND_S) < k->until) {
        char rel[300];
        snprintf(rel, sizeof rel, "block/%s", name);
        k->disk = faccessat(p->sysfd, rel, F_OK, 0) == 0;
        k->until = now + apr_time_from_sec(DISK_KIND_S);
    }
    return k->disk;
}

void kt__read_disks(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    kt__diskstat_t *d;
    unsigned n;
    if (READ_SOURCE(p, KT__SRC_DISKSTATS, KT__FILE_DISKSTATS, "diskstats",
                    kt__parse_diskstats(text, &d, &n, pool)) != APR_SUCCESS)
        return;
    apr_pool_t *state = p->state_pool[p->cur_state];
    s->disks = apr_pcalloc(pool, sizeof(kt_disk_t) * n);
    s->ndisks = 0;
    double elapsed_ms = s->elapsed_s * 1000.0;
    for (unsigned i = 0; i < n; i++) {
        if (!is_disk(p, d[i].name, s->time))
            continue;
        kt_disk_t *o = &s->disks[s->ndisks++];
        o->name = d[i].name;
        o->reads = d[i].reads;
        o->writes = d[i].writes;
        o->reads_merged = d[i].reads_merged;
        o->writes_merged = d[i].writes_merged;
        o->read_time_ms = d[i].read_ms;
        o->write_time_ms = d[i].write_ms;
        o->io_time_ms = d[i].io_ms;
        o->io_weighted_ms = d[i].weighted_ms;
        o->in_flight = d[i].in_flight;
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
