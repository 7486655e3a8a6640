/*
 * bench_procs.c - the Windows process table from one NtQuerySystemInformation
 * call (platform/windows/proc.c) against the old toolhelp path it replaced
 * (tests/windows/toolhelp.c: a snapshot, then a handle, GetProcessMemoryInfo
 * and GetProcessTimes per process), in one run, as bench_sample does on
 * Linux. Built by the Windows cross build; bench/windows/run.sh runs it under
 * Wine.
 *
 *   bench_procs [-n ITERATIONS] [-b BLOCK] [-c CHILDREN]
 *
 * -c starts that many idle copies of itself first, so the table is longer
 * than Wine's handful of processes. The two sides alternate in blocks
 * (A B, B A, ...) so drift weighs on both alike. Two times per side: wall
 * time (QueryPerformanceCounter), which under Wine includes the round trips
 * to wineserver that most of these calls are, and this process's CPU time
 * (GetProcessTimes), which does not include wineserver's share.
 *
 * Output: one line of key=value pairs, e.g.
 *   procs=58 n=200 new_us=812.3 old_us=4101.2 ratio=0.198 new_cpu_us=... old_cpu_us=... cpu_ratio=...
 */
#include "toolhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHILDREN 512

static double wall_s(void)
{
    static double freq;
    LARGE_INTEGER t;
    if (!freq) {
        QueryPerformanceFrequency(&t);
        freq = (double)t.QuadPart;
    }
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / freq;
}

static double cpu_s(void)
{
    FILETIME c, e, k, u;
    GetProcessTimes(GetCurrentProcess(), &c, &e, &k, &u);
    uint64_t t = (((uint64_t)k.dwHighDateTime << 32) | k.dwLowDateTime) +
                 (((uint64_t)u.dwHighDateTime << 32) | u.dwLowDateTime);
    return (double)t / 1e7;
}

static unsigned last_nprocs;

static void one(kt_plat_t *p, void (*read)(kt_plat_t *, kt_sample_t *, apr_pool_t *),
                apr_pool_t *parent)
{
    apr_pool_t *pool;
    apr_pool_create(&pool, parent);
    kt_sample_t s;
    kt_test_read_table(p, &s, 1.0, read, pool);
    last_nprocs = s.nprocs;
    apr_pool_destroy(pool);
}

int main(int argc, const char *const *argv)
{
    if (argc == 2 && strcmp(argv[1], "--idle") == 0) {
        Sleep(INFINITE);
        return 0;
    }
    unsigned n = 200, block = 10, nchildren = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned v = (unsigned)strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "-n") == 0)
            n = v;
        else if (strcmp(argv[i], "-b") == 0)
            block = v;
        else if (strcmp(argv[i], "-c") == 0)
            nchildren = v < MAX_CHILDREN ? v : MAX_CHILDREN;
    }
    if (n == 0 || block == 0) {
        fprintf(stderr, "usage: bench_procs [-n ITERATIONS] [-b BLOCK] [-c CHILDREN]\n");
        return 2;
    }
    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS)
        return 1;
    apr_pool_t *root;
    apr_pool_create(&root, NULL);
    kt_log_set_level(KT_LOG_ERROR); /* Wine's PDH warns at every open */

    /* The children die with this process: a job object that kills on close. */
    static PROCESS_INFORMATION kids[MAX_CHILDREN];
    HANDLE job = CreateJobObjectW(NULL, NULL);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim = {0};
    lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (job)
        SetInformationJobObject(job, JobObjectExtendedLimitInformation, &lim, sizeof lim);
    wchar_t self[MAX_PATH], cmd[MAX_PATH + 16];
    GetModuleFileNameW(NULL, self, MAX_PATH);
    swprintf(cmd, MAX_PATH + 16, L"\"%ls\" --idle", self);
    for (unsigned i = 0; i < nchildren; i++) {
        STARTUPINFOW si = {.cb = sizeof si};
        if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &kids[i])) {
            fprintf(stderr, "bench_procs: child %u: error %lu\n", i + 1, GetLastError());
            return 1;
        }
        if (job)
            AssignProcessToJobObject(job, kids[i].hProcess);
    }
    if (nchildren)
        Sleep(500 + 20 * nchildren); /* let them map their images */

    const kt_plat_opts_t opts = {.top_n = 5};
    kt_plat_t *pn, *po;
    if (kt_plat_open(&pn, &opts, root) != APR_SUCCESS || kt_plat_open(&po, &opts, root) != APR_SUCCESS)
        return 1;
    for (int i = 0; i < 2; i++) { /* warm up both; the second reading has rates */
        one(pn, kt__win_read_procs, root);
        one(po, kt_test_toolhelp_read_procs, root);
    }

    double a_wall = 0, b_wall = 0, a_cpu = 0, b_cpu = 0;
    unsigned long procs_sum = 0, rounds = 0;
    for (unsigned done = 0, r = 0; done < n; r++) {
        unsigned k = n - done < block ? n - done : block;
        for (int side = 0; side < 2; side++) {
            int run_new = (side == 0) == (r % 2 == 0);
            double w0 = wall_s(), c0 = cpu_s();
            for (unsigned i = 0; i < k; i++)
                one(run_new ? pn : po, run_new ? kt__win_read_procs : kt_test_toolhelp_read_procs,
                    root);
            double w = wall_s() - w0, c = cpu_s() - c0;
            if (run_new) {
                a_wall += w;
                a_cpu += c;
                procs_sum += last_nprocs;
            } else {
                b_wall += w;
                b_cpu += c;
            }
        }
        done += k;
        rounds++;
    }
    printf("procs=%.0f n=%u block=%u new_us=%.1f old_us=%.1f ratio=%.3f new_cpu_us=%.1f "
           "old_cpu_us=%.1f cpu_ratio=%.3f\n",
           (double)procs_sum / rounds, n, block, a_wall * 1e6 / n, b_wall * 1e6 / n,
           a_wall / b_wall, a_cpu * 1e6 / n, b_cpu * 1e6 / n, b_cpu > 0 ? a_cpu / b_cpu : NAN);
    kt_plat_close(pn);
    kt_plat_close(po);
    for (unsigned i = 0; i < nchildren; i++) {
        TerminateProcess(kids[i].hProcess, 0);
        CloseHandle(kids[i].hThread);
        CloseHandle(kids[i].hProcess);
    }
    if (job)
        CloseHandle(job);
    apr_terminate();
    return 0;
}
