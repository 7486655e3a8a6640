/*
 * mem.c - memory and swap (/proc/meminfo) and the swap-in/out rates
 * (/proc/vmstat).
 */
#include "linux.h"

#include <math.h>

void kt__read_memory(kt_plat_t *p, kt_sample_t *s)
{
    kt__meminfo_t mi;
    if (READ_SOURCE(p, KT__SRC_MEMINFO, KT__FILE_MEMINFO, "meminfo",
                    kt__parse_meminfo(text, &mi)) == APR_SUCCESS) {
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
    if (READ_SOURCE(p, KT__SRC_VMSTAT, KT__FILE_VMSTAT, "vmstat",
                    kt__parse_vmstat(text, &in, &out)) == APR_SUCCESS) {
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
