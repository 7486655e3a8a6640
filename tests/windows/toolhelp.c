/*
 * toolhelp.c - the Windows backend's process table as it was before the one
 * NtQuerySystemInformation call (see toolhelp.h): kept unchanged as the
 * reference for tests and the benchmark.
 */
#include "toolhelp.h"

#include <psapi.h>
#include <tlhelp32.h>

#include <string.h>

static uint64_t ft64(FILETIME f) { return ((uint64_t)f.dwHighDateTime << 32) | f.dwLowDateTime; }

static void fill_from_handle(kt_plat_t *p, DWORD pid, double elapsed_s, kt_proc_t *o)
{
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!h)
        return;
    PROCESS_MEMORY_COUNTERS pmc = {.cb = sizeof pmc};
    if (GetProcessMemoryInfo(h, &pmc, sizeof pmc))
        o->rss_bytes = pmc.WorkingSetSize;
    FILETIME created, exited, kernel, user;
    if (GetProcessTimes(h, &created, &exited, &kernel, &user)) {
        uint64_t cpu = ft64(kernel) + ft64(user);
        o->cpu_time_ms = cpu / 10000;
        apr_pool_t *state = p->state_pool[p->cur_state];
        const char *key = apr_psprintf(state, "%lu:%llu", (unsigned long)pid,
                                       (unsigned long long)ft64(created));
        uint64_t *keep = apr_palloc(state, sizeof *keep);
        *keep = cpu;
        apr_hash_set(p->next.procs, key, APR_HASH_KEY_STRING, keep);
        const uint64_t *was =
            p->prev.valid ? apr_hash_get(p->prev.procs, key, APR_HASH_KEY_STRING) : NULL;
        if (was)
            o->cpu_pct = kt__win_proc_cpu_pct(*was, cpu, elapsed_s);
    }
    CloseHandle(h);
}

void kt_test_toolhelp_read_procs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    int ok = snap != INVALID_HANDLE_VALUE;
    kt__win_source(p, KT__WSRC_PROCS, "CreateToolhelp32Snapshot", ok, ok ? 0 : GetLastError());
    if (!ok)
        return;
    unsigned cap = 256, n = 0;
    kt_proc_t *procs = apr_palloc(pool, sizeof *procs * cap);
    uint64_t threads = 0;
    PROCESSENTRY32W pe = {.dwSize = sizeof pe};
    for (BOOL more = Process32FirstW(snap, &pe); more; more = Process32NextW(snap, &pe)) {
        if (n == cap) {
            kt_proc_t *bigger = apr_palloc(pool, sizeof *procs * cap * 2);
            memcpy(bigger, procs, sizeof *procs * cap);
            procs = bigger;
            cap *= 2;
        }
        kt_proc_t *o = &procs[n++];
        o->pid = pe.th32ProcessID;
        o->ppid = pe.th32ParentProcessID;
        o->name = kt__win_utf8(pe.szExeFile, pool);
        o->cmdline = NULL;
        o->state = '?';
        o->cpu_pct = NAN;
        o->cpu_time_ms = KT_UNKNOWN_U64;
        o->rss_bytes = KT_UNKNOWN_U64;
        o->threads = pe.cntThreads;
        threads += pe.cntThreads;
        if (pe.th32ProcessID != 0) /* the System Idle Process cannot be opened */
            fill_from_handle(p, pe.th32ProcessID, s->elapsed_s, o);
    }
    CloseHandle(snap);
    s->procs = procs;
    s->nprocs = n;
    s->procs_total = n;
    s->threads_total = threads;
    kt__plat_rank_procs(s, p->top_n, pool);
    /* The top lists carry the image path, Windows' nearest to a command line. */
    for (unsigned i = 0; i < s->ntop_cpu + s->ntop_mem; i++) {
        kt_proc_t *t = i < s->ntop_cpu ? s->top_cpu[i] : s->top_mem[i - s->ntop_cpu];
        if (t->cmdline)
            continue;
        HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)t->pid);
        if (!h)
            continue;
        wchar_t path[MAX_PATH];
        DWORD len = KT_ARRAY_SIZE(path);
        if (QueryFullProcessImageNameW(h, 0, path, &len))
            t->cmdline = kt__win_utf8(path, pool);
        CloseHandle(h);
    }
}

void kt_test_read_table(kt_plat_t *p, kt_sample_t *s, double elapsed_s,
                        void (*read)(kt_plat_t *, kt_sample_t *, apr_pool_t *), apr_pool_t *pool)
{
    /* What kt_plat_sample does around its readers, for the process table. */
    apr_pool_t *state = kt__plat_begin(s, "windows", NULL, NULL, p->state_pool, &p->cur_state,
                                       pool);
    memset(&p->next, 0, sizeof p->next);
    p->next.procs = apr_hash_make(state);
    if (p->prev.valid)
        s->elapsed_s = elapsed_s;
    read(p, s, pool);
    p->next.valid = 1;
    p->prev = p->next;
}
