#include "synth.h"

#include <string.h>

#include <apr_strings.h>

kt_sample_t *synth_sample(const synth_t *spec, apr_pool_t **pool)
{
    apr_pool_create_unmanaged_ex(pool, NULL, NULL);
    kt_sample_t *s = apr_palloc(*pool, sizeof *s);
    kt_plat_sample_init(s);
    static apr_time_t clock = 1700000000000000;
    s->time = (clock += 1000000);
    s->os = "test";
    s->cpu.busy_pct = spec->cpu_pct;
    s->mem.total_bytes = SYNTH_MEM_TOTAL;
    s->mem.used_pct = spec->mem_pct;
    if (kt_known(spec->mem_pct)) {
        s->mem.used_bytes = (uint64_t)(spec->mem_pct / 100.0 * (double)SYNTH_MEM_TOTAL);
        s->mem.available_bytes = SYNTH_MEM_TOTAL - s->mem.used_bytes;
    }
    s->nfs = spec->nfs;
    s->fs = apr_pcalloc(*pool, sizeof(kt_fs_t) * (spec->nfs + 1));
    for (unsigned i = 0; i < spec->nfs; i++) {
        kt_fs_t *f = &s->fs[i];
        f->mount_point = apr_pstrdup(*pool, spec->fs[i].mount_point);
        f->device = "synth";
        f->fstype = "ext4";
        f->size_bytes = 100ull << 30;
        f->used_pct = spec->fs[i].used_pct;
        f->used_bytes = (uint64_t)(spec->fs[i].used_pct / 100.0 * (double)f->size_bytes);
        f->avail_bytes = f->free_bytes = f->size_bytes - f->used_bytes;
        f->inodes_total = f->inodes_free = KT_UNKNOWN_U64;
        f->inodes_used_pct = NAN;
    }
    s->nprocs = spec->nprocs;
    s->procs = apr_pcalloc(*pool, sizeof(kt_proc_t) * (spec->nprocs + 1));
    s->top_cpu = apr_pcalloc(*pool, sizeof(kt_proc_t *) * (spec->nprocs + 1));
    s->top_mem = apr_pcalloc(*pool, sizeof(kt_proc_t *) * (spec->nprocs + 1));
    for (unsigned i = 0; i < spec->nprocs; i++) {
        kt_proc_t *p = &s->procs[i];
        p->pid = spec->procs[i].pid;
        p->ppid = 1;
        p->name = apr_pstrdup(*pool, spec->procs[i].name);
        p->state = 'R';
        p->cpu_pct = spec->procs[i].cpu_pct;
        p->rss_bytes = spec->procs[i].rss_bytes;
        p->threads = 1;
        p->cpu_time_ms = KT_UNKNOWN_U64;
        /* Tests list processes busiest first, so the top lists are the array. */
        s->top_cpu[i] = s->top_mem[i] = p;
    }
    s->ntop_cpu = s->ntop_mem = spec->nprocs;
    return s;
}

void synth_ingest(kt_mon_t *m, double cpu_pct, double mem_pct)
{
    synth_t spec = {cpu_pct, mem_pct, NULL, 0, NULL, 0};
    apr_pool_t *pool;
    kt_sample_t *s = synth_sample(&spec, &pool);
    kt_mon_ingest(m, s, pool);
}
