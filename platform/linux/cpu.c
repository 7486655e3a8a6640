/*
 * cpu.c - CPU time per state, total and per core, and the kernel's activity
 * counters (/proc/stat), and the load averages with the thread count
 * (/proc/loadavg).
 */
#include "linux.h"

#include <math.h>

/* /proc/stat counts in USER_HZ, 100 on every Linux ABI. */
#define USER_HZ 100.0

void kt__read_cpu(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    kt__stat_t st;
    if (READ_SOURCE(p, KT__SRC_STAT, KT__FILE_STAT, "stat", kt__parse_stat(text, &st, pool)) !=
        APR_SUCCESS)
        return;
    kt__prev_t *was = &p->prev, *now = &p->next;
    now->total = st.total;
    now->ncores = st.ncores;
    now->cores = apr_pmemdup(p->state_pool[p->cur_state], st.cores,
                             sizeof *st.cores * (st.ncores ? st.ncores : 1));
    if (kt_known_u64(st.btime))
        s->boot_time = (int64_t)st.btime;
    s->run_queue = st.procs_running;
    s->io_blocked = st.procs_blocked;
    s->context_switches = st.ctxt;
    s->forks = st.processes;
    s->interrupts = st.intr;

    s->ncores = st.ncores;
    s->cores = apr_palloc(pool, sizeof(kt_cpu_t) * (st.ncores ? st.ncores : 1));
    s->core_time = apr_palloc(pool, sizeof(kt_cpu_time_t) * (st.ncores ? st.ncores : 1));
    uint64_t online = 0;
    const kt__cpu_ticks_t absent = {{0}, 0};
    for (unsigned i = 0; i < st.ncores; i++) {
        online += st.cores[i].known != 0;
        const kt__cpu_ticks_t *before = was->valid && i < was->ncores ? &was->cores[i] : &absent;
        kt__plat_cpu_pct(before, &st.cores[i], &s->cores[i]);
        for (int m = 0; m < KT_MODE__COUNT; m++)
            s->core_time[i].seconds[m] = (st.cores[i].known & (1u << m))
                                             ? (double)st.cores[i].v[m] / USER_HZ
                                             : NAN;
    }
    s->ncpu = online ? online : KT_UNKNOWN_U64;
    if (was->valid)
        kt__plat_cpu_pct(&was->total, &st.total, &s->cpu);
}

void kt__read_load(kt_plat_t *p, kt_sample_t *s)
{
    kt__loadavg_t la;
    if (READ_SOURCE(p, KT__SRC_LOADAVG, KT__FILE_LOADAVG, "loadavg",
                    kt__parse_loadavg(text, &la)) != APR_SUCCESS)
        return;
    s->load1 = la.load[0];
    s->load5 = la.load[1];
    s->load15 = la.load[2];
    s->threads_total = la.threads;
}
