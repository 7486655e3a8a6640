/*
 * plat_common.c - what every backend shares: the start of a reading,
 * counter deltas into shares and rates, and the top-N ranking of processes.
 */
#include "plat_internal.h"

#include <string.h>

#include <apr_strings.h>

void kt_plat_sample_init(kt_sample_t *s)
{
    const kt_cpu_t unknown_cpu = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    memset(s, 0, sizeof *s);
    s->elapsed_s = NAN;
    s->ncpu = KT_UNKNOWN_U64;
    s->cpu = unknown_cpu;
    s->load1 = s->load5 = s->load15 = s->uptime_s = NAN;
    s->exited_cpu_pct = NAN;
    s->exited_parent_pid = -1;
    s->boot_time = -1;
    s->procs_total = s->threads_total = s->procs_running = s->procs_sleeping =
        s->procs_blocked = s->procs_zombie = s->procs_stopped = s->procs_idle =
            s->run_queue = s->io_blocked = s->context_switches = s->forks = s->interrupts =
                KT_UNKNOWN_U64;
    for (int i = 0; i < KT_PSI__COUNT; i++) {
        kt_psi_t *p = &s->pressure[i];
        p->some_avg10_pct = p->some_avg60_pct = p->some_avg300_pct = p->full_avg10_pct =
            p->full_avg60_pct = p->full_avg300_pct = NAN;
        p->some_total_us = p->full_total_us = KT_UNKNOWN_U64;
    }
    s->clock.offset_s = s->clock.maxerror_s = s->clock.esterror_s = NAN;
    s->clock.synced = -1;
    for (int i = 0; i < KT_TIMEX__COUNT; i++)
        s->clock.timex[i] = NAN;
    kt_mem_t *m = &s->mem;
    m->total_bytes = m->available_bytes = m->used_bytes = m->free_bytes =
        m->buffers_bytes = m->cached_bytes = m->swap_total_bytes = m->swap_used_bytes =
            KT_UNKNOWN_U64;
    m->used_pct = m->swap_used_pct = m->swap_in_pages_ps = m->swap_out_pages_ps = NAN;
}

apr_pool_t *kt__plat_begin(kt_sample_t *s, const char *os, const char *hostname,
                           const char *kernel, apr_pool_t *state_pool[2], int *cur_state,
                           apr_pool_t *pool)
{
    kt_plat_sample_init(s);
    s->time = apr_time_now();
    s->os = os;
    /* Copied: the sample lives in the caller's pool and may outlive the handle
     * (apr_pstrdup keeps NULL as NULL). */
    s->hostname = apr_pstrdup(pool, hostname);
    s->kernel = apr_pstrdup(pool, kernel);
    *cur_state ^= 1;
    apr_pool_clear(state_pool[*cur_state]);
    return state_pool[*cur_state];
}

void kt__plat_cpu_pct(const kt__cpu_ticks_t *prev, const kt__cpu_ticks_t *cur, kt_cpu_t *out)
{
    double *const dst[KT__CPU_NFIELDS] = {
        &out->user_pct, &out->nice_pct, &out->system_pct, &out->idle_pct,
        &out->iowait_pct, &out->irq_pct, &out->softirq_pct, &out->steal_pct};
    uint64_t delta[KT__CPU_NFIELDS] = {0};
    unsigned known = prev->known & cur->known;
    uint64_t total = 0;

    for (int i = 0; i < KT__CPU_NFIELDS; i++) {
        *dst[i] = NAN;
        if (!(known & (1u << i)))
            continue;
        /* iowait (and on some hypervisors steal) is known to step backwards
         * on tickless kernels; that interval spent no time in the state. */
        delta[i] = cur->v[i] >= prev->v[i] ? cur->v[i] - prev->v[i] : 0;
        total += delta[i];
    }
    out->busy_pct = NAN;
    if (total == 0 || !(known & (1u << KT__CPU_IDLE)))
        return;
    for (int i = 0; i < KT__CPU_NFIELDS; i++)
        if (known & (1u << i))
            *dst[i] = 100.0 * (double)delta[i] / (double)total;
    out->busy_pct = 100.0 * (double)(total - delta[KT__CPU_IDLE] - delta[KT__CPU_IOWAIT]) /
                    (double)total;
}

double kt__plat_rate(uint64_t prev, uint64_t cur, double elapsed_s)
{
    if (!kt_known_u64(prev) || !kt_known_u64(cur) || !(elapsed_s > 0) || cur < prev)
        return NAN;
    return (double)(cur - prev) / elapsed_s;
}

double kt__plat_pct(uint64_t part, uint64_t whole)
{
    if (!kt_known_u64(part) || !kt_known_u64(whole) || whole == 0)
        return NAN;
    return 100.0 * (double)part / (double)whole;
}

/* An unknown figure is -1: such a process is left out of the list rather
 * than padding it (the first reading has no CPU share for anyone). */
static double cpu_key(const kt_proc_t *p) { return kt_known(p->cpu_pct) ? p->cpu_pct : -1.0; }
static double mem_key(const kt_proc_t *p)
{
    return kt_known_u64(p->rss_bytes) ? (double)p->rss_bytes : -1.0;
}

/* One pass with insertion into a short sorted array: O(nprocs * n), and n is small. */
static unsigned select_top(kt_sample_t *s, kt_proc_t **top, unsigned n,
                           double (*key)(const kt_proc_t *))
{
    unsigned len = 0;
    for (unsigned i = 0; i < s->nprocs; i++) {
        kt_proc_t *p = &s->procs[i];
        double k = key(p);
        if (k < 0 || (len == n && k <= key(top[len - 1])))
            continue;
        unsigned j = len < n ? len++ : n - 1;
        while (j > 0 && key(top[j - 1]) < k) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = p;
    }
    return len;
}

void kt__plat_rank_procs(kt_sample_t *s, unsigned n, apr_pool_t *pool)
{
    s->top_cpu = apr_pcalloc(pool, sizeof(kt_proc_t *) * (n ? n : 1));
    s->top_mem = apr_pcalloc(pool, sizeof(kt_proc_t *) * (n ? n : 1));
    s->ntop_cpu = n ? select_top(s, s->top_cpu, n, cpu_key) : 0;
    s->ntop_mem = n ? select_top(s, s->top_mem, n, mem_key) : 0;
}
