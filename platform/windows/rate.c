/*
 * rate.c - the Windows backend's pure arithmetic (see rate.h). No OS calls.
 */
#include "rate.h"

void kt__win_cpu_ticks(uint64_t idle, uint64_t kernel, uint64_t user, kt__cpu_ticks_t *out)
{
    for (int i = 0; i < KT__CPU_NFIELDS; i++)
        out->v[i] = 0;
    out->v[KT__CPU_USER] = user;
    out->v[KT__CPU_IDLE] = idle;
    /* Kernel time includes idle on every Windows; a kernel below idle is a
     * torn read, and counts as no system time rather than a huge one. */
    out->v[KT__CPU_SYSTEM] = kernel >= idle ? kernel - idle : 0;
    out->known = (1u << KT__CPU_USER) | (1u << KT__CPU_SYSTEM) | (1u << KT__CPU_IDLE);
}

double kt__win_proc_cpu_pct(uint64_t prev_100ns, uint64_t cur_100ns, double elapsed_s)
{
    double r = kt__plat_rate(prev_100ns, cur_100ns, elapsed_s);
    return kt_known(r) ? 100.0 * r / (double)KT__WIN_TICKS_PER_S : NAN;
}

int64_t kt__win_filetime_to_unix(uint64_t ft)
{
    if (ft < KT__WIN_EPOCH_DIFF)
        return -1;
    return (int64_t)((ft - KT__WIN_EPOCH_DIFF) / KT__WIN_TICKS_PER_S);
}

int64_t kt__win_boot_time(uint64_t now_ft, uint64_t uptime_ms)
{
    uint64_t up = uptime_ms * (KT__WIN_TICKS_PER_S / 1000);
    if (up > now_ft)
        return -1;
    /* Rounded to the second, so readings a few ms apart agree. */
    int64_t t = kt__win_filetime_to_unix(now_ft - up + KT__WIN_TICKS_PER_S / 2);
    return t;
}

double kt__win_clamp_pct(double v)
{
    if (!kt_known(v))
        return NAN;
    return v < 0 ? 0 : v > 100 ? 100 : v;
}

double kt__win_disk_busy_pct(uint64_t idle0, uint64_t query0, uint64_t idle1, uint64_t query1)
{
    if (query1 <= query0 || idle1 < idle0)
        return NAN;
    double idle = (double)(idle1 - idle0) / (double)(query1 - query0);
    return kt__win_clamp_pct(100.0 * (1.0 - idle));
}

void kt__win_swap(uint64_t phys, uint64_t phys_avail, uint64_t page, uint64_t page_avail,
                  uint64_t *total, uint64_t *used)
{
    *total = *used = KT_UNKNOWN_U64;
    if (phys_avail > phys || page_avail > page)
        return;
    *total = page > phys ? page - phys : 0;
    uint64_t commit = page - page_avail, ram_used = phys - phys_avail;
    *used = commit > ram_used ? commit - ram_used : 0;
    if (*used > *total)
        *used = *total;
}
