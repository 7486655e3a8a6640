/*
 * cpu.c - CPU time shares: GetSystemTimes for all CPUs together, and
 * NtQuerySystemInformation(SystemProcessorPerformanceInformation) per core.
 * NtQuerySystemInformation is looked up in ntdll at open; without it the
 * per-core list is empty and the total still works.
 */
#include "win.h"

/* The layout ntdll fills (documented in winternl.h with reserved names). */
typedef struct {
    LARGE_INTEGER idle, kernel, user, dpc, interrupt;
    ULONG interrupt_count;
} kt__sppi_t;

typedef LONG(WINAPI *ntqsi_fn)(ULONG cls, void *buf, ULONG len, ULONG *ret);
#define KT__SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION 8
#define KT__MAX_CORES 64 /* one processor group */

static uint64_t ft64(FILETIME f) { return ((uint64_t)f.dwHighDateTime << 32) | f.dwLowDateTime; }

static unsigned read_cores(kt_plat_t *p, kt__cpu_ticks_t *cores)
{
    kt__sppi_t buf[KT__MAX_CORES];
    ULONG ret = 0;
    if (!p->ntqsi)
        return 0;
    LONG st = ((ntqsi_fn)p->ntqsi)(KT__SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION, buf,
                                  sizeof buf, &ret);
    kt__win_source(p, KT__WSRC_CORES, "NtQuerySystemInformation(processor performance)",
                   st == 0, (unsigned long)st);
    if (st != 0)
        return 0;
    unsigned n = ret / sizeof buf[0];
    for (unsigned i = 0; i < n; i++)
        kt__win_cpu_ticks((uint64_t)buf[i].idle.QuadPart, (uint64_t)buf[i].kernel.QuadPart,
                          (uint64_t)buf[i].user.QuadPart, &cores[i]);
    return n;
}

void kt__win_read_cpu(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    kt__win_prev_t *was = &p->prev, *now = &p->next;
    apr_pool_t *state = p->state_pool[p->cur_state];

    FILETIME idle, kernel, user;
    int ok = GetSystemTimes(&idle, &kernel, &user) != 0;
    kt__win_source(p, KT__WSRC_CPU, "GetSystemTimes", ok, ok ? 0 : GetLastError());
    if (ok) {
        kt__win_cpu_ticks(ft64(idle), ft64(kernel), ft64(user), &now->total);
        if (was->valid)
            kt__plat_cpu_pct(&was->total, &now->total, &s->cpu);
    }

    kt__cpu_ticks_t cores[KT__MAX_CORES];
    unsigned n = read_cores(p, cores);
    now->ncores = n;
    now->cores = apr_pmemdup(state, cores, sizeof cores[0] * (n ? n : 1));
    s->ncores = n;
    s->cores = apr_palloc(pool, sizeof(kt_cpu_t) * (n ? n : 1));
    s->core_time = apr_palloc(pool, sizeof(kt_cpu_time_t) * (n ? n : 1));
    const kt__cpu_ticks_t absent = {{0}, 0};
    for (unsigned i = 0; i < n; i++) {
        kt__plat_cpu_pct(was->valid && i < was->ncores ? &was->cores[i] : &absent, &cores[i],
                         &s->cores[i]);
        /* The ticks are 100 ns; a mode Windows does not count stays unknown. */
        for (int m = 0; m < KT_MODE__COUNT; m++)
            s->core_time[i].seconds[m] =
                (cores[i].known & (1u << m)) ? (double)cores[i].v[m] / 1e7 : NAN;
    }

    SYSTEM_INFO si;
    GetSystemInfo(&si);
    s->ncpu = si.dwNumberOfProcessors ? si.dwNumberOfProcessors : (n ? n : KT_UNKNOWN_U64);
}
