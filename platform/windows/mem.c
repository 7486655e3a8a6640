/*
 * mem.c - memory and swap from GlobalMemoryStatusEx. Windows has no separate
 * swap figure: the page file is the part of the commit limit (TotalPageFile)
 * above physical memory, and its use the commit charge above used RAM (an
 * estimate; Wine reports TotalPageFile == TotalPhys, i.e. no swap).
 * Swap-in/out page rates are unknown (only PDH has them; not worth a counter).
 */
#include "win.h"

void kt__win_read_mem(kt_plat_t *p, kt_sample_t *s)
{
    MEMORYSTATUSEX ms = {.dwLength = sizeof ms};
    int ok = GlobalMemoryStatusEx(&ms) != 0;
    kt__win_source(p, KT__WSRC_MEM, "GlobalMemoryStatusEx", ok, ok ? 0 : GetLastError());
    if (!ok)
        return;
    kt_mem_t *m = &s->mem;
    m->total_bytes = ms.ullTotalPhys;
    m->available_bytes = ms.ullAvailPhys;
    m->free_bytes = ms.ullAvailPhys; /* standby + free + zeroed; no finer split natively */
    if (ms.ullAvailPhys <= ms.ullTotalPhys) {
        m->used_bytes = ms.ullTotalPhys - ms.ullAvailPhys;
        m->used_pct = kt__plat_pct(m->used_bytes, m->total_bytes);
    }
    kt__win_swap(ms.ullTotalPhys, ms.ullAvailPhys, ms.ullTotalPageFile, ms.ullAvailPageFile,
                 &m->swap_total_bytes, &m->swap_used_bytes);
    if (kt_known_u64(m->swap_total_bytes))
        m->swap_used_pct =
            m->swap_total_bytes ? kt__plat_pct(m->swap_used_bytes, m->swap_total_bytes) : 0;
}
