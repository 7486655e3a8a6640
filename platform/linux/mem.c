/*
 * mem.c - memory and swap (/proc/meminfo, every line kept as well) and the
 * swap-in/out rates and paging counters (/proc/vmstat).
 */
#include "linux.h"

#include <math.h>
#include <string.h>

/* node_exporter's default vmstat fields, ^(oom_kill|pgpg|pswp|pg.*fault).* */
static int paging_field(const char *name)
{
    return strncmp(name, "oom_kill", 8) == 0 || strncmp(name, "pgpg", 4) == 0 ||
           strncmp(name, "pswp", 4) == 0 || (strncmp(name, "pg", 2) == 0 && strstr(name + 2, "fault"));
}

/* The summary fields and every line, from one read of the file. */
static apr_status_t parse_meminfo(const char *text, kt__meminfo_t *mi, kt_sample_t *s,
                                  apr_pool_t *pool)
{
    if (kt__parse_fields(text, &s->meminfo, &s->nmeminfo, pool) != APR_SUCCESS)
        s->nmeminfo = 0;
    return kt__parse_meminfo(text, mi);
}

static apr_status_t parse_vmstat(const char *text, uint64_t *in, uint64_t *out, kt_sample_t *s,
                                 apr_pool_t *pool)
{
    kt_field_t *f;
    unsigned n;
    if (kt__parse_fields(text, &f, &n, pool) == APR_SUCCESS) {
        s->vmstat = f;
        s->nvmstat = 0;
        for (unsigned i = 0; i < n; i++)
            if (paging_field(f[i].name))
                s->vmstat[s->nvmstat++] = f[i];
    }
    return kt__parse_vmstat(text, in, out);
}

void kt__read_memory(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    kt__meminfo_t mi;
    if (READ_SOURCE(p, KT__SRC_MEMINFO, KT__FILE_MEMINFO, "meminfo", parse_meminfo(text, &mi, s, pool)) ==
        APR_SUCCESS) {
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
    if (READ_SOURCE(p, KT__SRC_VMSTAT, KT__FILE_VMSTAT, "vmstat", parse_vmstat(text, &in, &out, s, pool)) ==
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
