/*
 * test_plat_win.c - the Windows backend end to end against the live system
 * (under Wine in CI: scripts/win-test.sh).
 *
 * Only what Wine implements faithfully is asserted on values (GetSystemTimes,
 * GlobalMemoryStatusEx, GetDiskFreeSpaceExW, GetIfTable2, psapi on our own
 * process and a child). PDH is asserted only to fail safe: under Wine its
 * counters are missing, so the values must be unknown and the sample must
 * still succeed; on real Windows only the success of the sample is checked.
 *
 * Run with "--child-sleep MS" the program just sleeps: that is the child
 * process the process test starts and looks for.
 */
#include "kt_test_util.h"

#include "win.h"
#include "toolhelp.h"
#include "kt_sys.h"

#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int under_wine(void)
{
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    return nt && GetProcAddress(nt, "wine_get_version") != NULL;
}

/* Two readings 300 ms apart, with some CPU burnt in between. */
static kt_plat_t *two_samples(apr_pool_t *pool, kt_sample_t *s0, kt_sample_t *s1)
{
    kt_plat_t *p;
    const kt_plat_opts_t opts = {.procfs = "/ignored", .sysfs = "/ignored", .top_n = 5};
    assert_int_equal(kt_plat_open(&p, &opts, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, s0, pool), APR_SUCCESS);
    volatile double x = 0;
    DWORD until = GetTickCount() + 300;
    while (GetTickCount() < until)
        for (int i = 0; i < 10000; i++)
            x += i * 0.5;
    assert_int_equal(kt_plat_sample(p, s1, pool), APR_SUCCESS);
    return p;
}

static void cpu_shares_known_after_two_readings(void **state)
{
    kt_sample_t s0, s1;
    kt_plat_t *p = two_samples(*state, &s0, &s1);
    assert_string_equal(s1.os, "windows");
    assert_nan(s0.cpu.busy_pct); /* one reading: unknown, never 0 */
    assert_nan(s0.elapsed_s);
    assert_true(s1.elapsed_s > 0.2 && s1.elapsed_s < 5.0);
    assert_true(kt_known(s1.cpu.user_pct) && kt_known(s1.cpu.system_pct) &&
                kt_known(s1.cpu.idle_pct) && kt_known(s1.cpu.busy_pct));
    double sum = s1.cpu.user_pct + s1.cpu.system_pct + s1.cpu.idle_pct;
    print_message("cpu: user %.1f system %.1f idle %.1f busy %.1f (sum %.3f)\n", s1.cpu.user_pct,
                  s1.cpu.system_pct, s1.cpu.idle_pct, s1.cpu.busy_pct, sum);
    assert_true(fabs(sum - 100.0) < 0.01);
    assert_true(s1.cpu.busy_pct > 0.0 && s1.cpu.busy_pct <= 100.0);
    assert_nan(s1.cpu.iowait_pct);

    SYSTEM_INFO si;
    GetSystemInfo(&si);
    assert_true(s1.ncpu == si.dwNumberOfProcessors);
    /* Per core from NtQuerySystemInformation. */
    print_message("cores: %u\n", s1.ncores);
    assert_true(s1.ncores == si.dwNumberOfProcessors);
    for (unsigned i = 0; i < s1.ncores; i++) {
        assert_nan(s0.cores[i].busy_pct);
        double c = s1.cores[i].user_pct + s1.cores[i].system_pct + s1.cores[i].idle_pct;
        assert_true(fabs(c - 100.0) < 0.01);
    }
    kt_plat_close(p);
}

static void memory_matches_global_memory_status(void **state)
{
    kt_sample_t s0, s1;
    kt_plat_t *p = two_samples(*state, &s0, &s1);
    MEMORYSTATUSEX ms = {.dwLength = sizeof ms};
    assert_true(GlobalMemoryStatusEx(&ms));
    assert_true(s1.mem.total_bytes == ms.ullTotalPhys);
    assert_true(s1.mem.available_bytes <= s1.mem.total_bytes);
    assert_true(s1.mem.used_bytes + s1.mem.available_bytes == s1.mem.total_bytes);
    assert_true(s1.mem.used_pct > 0 && s1.mem.used_pct < 100);
    assert_true(kt_known_u64(s1.mem.swap_total_bytes));
    assert_true(kt_known(s1.mem.swap_used_pct));
    print_message("mem: total %llu MiB, avail %llu MiB, swap %llu MiB\n",
                  (unsigned long long)(s1.mem.total_bytes >> 20),
                  (unsigned long long)(s1.mem.available_bytes >> 20),
                  (unsigned long long)(s1.mem.swap_total_bytes >> 20));
    kt_plat_close(p);
}

static void system_drive_listed_with_sizes(void **state)
{
    kt_sample_t s0, s1;
    kt_plat_t *p = two_samples(*state, &s0, &s1);
    int found = 0;
    for (unsigned i = 0; i < s1.nfs; i++) {
        const kt_fs_t *f = &s1.fs[i];
        print_message("fs: %s %s %s size %llu avail %llu used %.1f%%\n", f->mount_point,
                      f->fstype, f->device, (unsigned long long)f->size_bytes,
                      (unsigned long long)f->avail_bytes, f->used_pct);
        if (strcmp(f->mount_point, "C:\\") == 0 || strcmp(f->mount_point, "Z:\\") == 0) {
            found = 1;
            assert_true(f->size_bytes > 0);
            assert_true(f->avail_bytes <= f->size_bytes);
            assert_true(f->used_bytes <= f->size_bytes);
            assert_true(f->used_pct >= 0 && f->used_pct <= 100);
            assert_unknown_u64(f->inodes_total);
        }
    }
    assert_true(found);
    kt_plat_close(p);
}

static const kt_proc_t *find_pid(const kt_sample_t *s, int64_t pid)
{
    for (unsigned i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == pid)
            return &s->procs[i];
    return NULL;
}

static void own_process_and_child_found(void **state)
{
    apr_pool_t *pool = *state;
    wchar_t self[MAX_PATH], cmd[MAX_PATH + 40];
    assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
    swprintf(cmd, KT_ARRAY_SIZE(cmd), L"\"%ls\" --child-sleep 10000", self);
    STARTUPINFOW si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    assert_true(CreateProcessW(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
    Sleep(200); /* let it map its image */

    kt_sample_t s0, s1;
    kt_plat_t *p = two_samples(pool, &s0, &s1);
    TerminateProcess(pi.hProcess, 0);
    WaitForSingleObject(pi.hProcess, 5000);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);

    print_message("procs: %u, threads %llu\n", s1.nprocs, (unsigned long long)s1.threads_total);
    assert_true(s1.nprocs >= 2 && s1.procs_total == s1.nprocs);
    const kt_proc_t *me = find_pid(&s1, GetCurrentProcessId());
    assert_non_null(me);
    assert_string_equal(me->name, "test_plat_win.exe");
    assert_true(kt_known_u64(me->rss_bytes) && me->rss_bytes > 0);
    assert_true(me->threads >= 1);
    assert_true(kt_known_u64(me->cpu_time_ms));
    /* We burnt ~300 ms between the readings; Wine reports our own times truly. */
    assert_true(kt_known(me->cpu_pct) && me->cpu_pct > 0);
    print_message("self: rss %llu KiB cpu %.1f%% time %llu ms\n",
                  (unsigned long long)(me->rss_bytes >> 10), me->cpu_pct,
                  (unsigned long long)me->cpu_time_ms);
    assert_nan(find_pid(&s0, GetCurrentProcessId())->cpu_pct); /* first reading */

    const kt_proc_t *child = find_pid(&s1, pi.dwProcessId);
    assert_non_null(child);
    assert_true(child->ppid == (int64_t)GetCurrentProcessId());
    assert_string_equal(child->name, "test_plat_win.exe");
    assert_true(kt_known_u64(child->rss_bytes) && child->rss_bytes > 0);
    /* Never asserted: other processes' CPU times (Wine reports the caller's). */

    assert_true(s1.ntop_mem >= 1 && s1.ntop_mem <= 5);
    assert_non_null(s1.top_mem[0]->cmdline);
    assert_int_equal(s1.cmdlines, 0);

    /* Asked for every process's line (a check by pattern): the image path,
     * kept from one reading to the next. */
    kt_plat_want_cmdlines(p, 1);
    for (int round = 0; round < 2; round++) {
        kt_sample_t s2;
        assert_int_equal(kt_plat_sample(p, &s2, *state), APR_SUCCESS);
        assert_int_equal(s2.cmdlines, 1);
        const kt_proc_t *c = find_pid(&s2, GetCurrentProcessId());
        const char *image = "test_plat_win.exe";
        assert_non_null(c);
        assert_non_null(c->cmdline);
        size_t n = strlen(c->cmdline), k = strlen(image);
        assert_true(n > k && strcmp(c->cmdline + n - k, image) == 0);
    }
    kt_plat_close(p);
}

/* The process table from one NtQuerySystemInformation call against the old
 * toolhelp path (tests/windows/toolhelp.c), read just before and just after:
 * every process both old readings show is there, with the same parent, name
 * and thread count when those held still, and working sets and our own CPU
 * time within what the two old readings bracket. Under Wine the table has
 * Wine's processes only, and other processes' CPU times are not compared
 * (Wine's GetProcessTimes answers with the caller's). */
static const kt_proc_t *old_new_pair(const kt_sample_t *a, const kt_sample_t *b, int64_t pid,
                                     const kt_proc_t **in_b)
{
    *in_b = find_pid(b, pid);
    return find_pid(a, pid);
}

static int between(uint64_t v, uint64_t x, uint64_t y, uint64_t slack)
{
    uint64_t lo = x < y ? x : y, hi = x < y ? y : x;
    return v + slack >= lo && v <= hi + slack;
}

static void process_table_matches_toolhelp(void **state)
{
    apr_pool_t *pool = *state;
    wchar_t self[MAX_PATH], cmd[MAX_PATH + 40];
    assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
    swprintf(cmd, KT_ARRAY_SIZE(cmd), L"\"%ls\" --child-sleep 10000", self);
    STARTUPINFOW si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    assert_true(CreateProcessW(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
    Sleep(200);

    const kt_plat_opts_t opts = {.top_n = 5};
    kt_plat_t *pn, *po;
    assert_int_equal(kt_plat_open(&pn, &opts, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_open(&po, &opts, pool), APR_SUCCESS);
    kt_sample_t o1, n, o2;
    for (int round = 0; round < 2; round++) { /* the second has CPU shares */
        kt_test_read_table(po, &o1, 0.3, kt_test_toolhelp_read_procs, pool);
        kt_test_read_table(pn, &n, 0.3, kt__win_read_procs, pool);
        kt_test_read_table(po, &o2, 0.3, kt_test_toolhelp_read_procs, pool);
        volatile double x = 0;
        for (DWORD until = GetTickCount() + 100; GetTickCount() < until;)
            x += 1.0;
    }
    TerminateProcess(pi.hProcess, 0);
    WaitForSingleObject(pi.hProcess, 5000);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);

    print_message("processes: old %u, new %u, old again %u\n", o1.nprocs, n.nprocs, o2.nprocs);
    unsigned compared = 0;
    for (unsigned i = 0; i < o1.nprocs; i++) {
        const kt_proc_t *a = &o1.procs[i], *b, *c;
        c = old_new_pair(&o2, &n, a->pid, &b);
        if (!c)
            continue; /* exited meanwhile */
        if (!b) {
            print_error("pid %lld (%s) is in both old readings, not in the new one\n",
                        (long long)a->pid, a->name);
            fail();
        }
        print_message("  %6lld %-24s ppid %lld/%lld threads %llu/%llu rss %llu/%llu KiB "
                      "cpu %llu/%llu ms\n",
                      (long long)a->pid, b->name, (long long)a->ppid, (long long)b->ppid,
                      (unsigned long long)a->threads, (unsigned long long)b->threads,
                      (unsigned long long)(a->rss_bytes >> 10),
                      (unsigned long long)(b->rss_bytes >> 10),
                      (unsigned long long)a->cpu_time_ms, (unsigned long long)b->cpu_time_ms);
        assert_string_equal(a->name, b->name);
        assert_true(a->ppid == b->ppid);
        if (a->threads == c->threads)
            assert_true(a->threads == b->threads);
        if (kt_known_u64(a->rss_bytes) && kt_known_u64(c->rss_bytes)) {
            assert_true(kt_known_u64(b->rss_bytes));
            assert_true(between(b->rss_bytes, a->rss_bytes, c->rss_bytes, 1u << 20));
        }
        compared++;
    }
    assert_true(compared >= 2);
    assert_true(n.procs_total == n.nprocs);

    /* Our own CPU time: what GetProcessTimes said before and after. */
    const kt_proc_t *me_new, *me_old = old_new_pair(&o1, &n, GetCurrentProcessId(), &me_new);
    const kt_proc_t *me_after = find_pid(&o2, GetCurrentProcessId());
    assert_non_null(me_old);
    assert_non_null(me_new);
    assert_true(me_old->cpu_time_ms <= me_new->cpu_time_ms &&
                me_new->cpu_time_ms <= me_after->cpu_time_ms);
    assert_true(kt_known(me_new->cpu_pct) && me_new->cpu_pct > 0);
    assert_true(find_pid(&n, pi.dwProcessId) != NULL);
    assert_true(n.ntop_mem >= 1);
    assert_non_null(n.top_mem[0]->cmdline);
    kt_plat_close(pn);
    kt_plat_close(po);
}

static void network_and_clock(void **state)
{
    kt_sample_t s0, s1;
    kt_plat_t *p = two_samples(*state, &s0, &s1);
    assert_true(s1.nnet >= 1);
    for (unsigned i = 0; i < s1.nnet; i++) {
        print_message("net: %s rx %llu tx %llu rx/s %.0f\n", s1.net[i].name,
                      (unsigned long long)s1.net[i].rx_bytes,
                      (unsigned long long)s1.net[i].tx_bytes, s1.net[i].rx_bytes_ps);
        assert_true(kt_known_u64(s1.net[i].rx_bytes));
        assert_nan(s0.net[i].rx_bytes_ps);
        assert_true(kt_known(s1.net[i].rx_bytes_ps) && s1.net[i].rx_bytes_ps >= 0);
    }
    assert_true(s1.uptime_s > 0);
    int64_t now = (int64_t)(apr_time_now() / APR_USEC_PER_SEC);
    assert_true(s1.boot_time > 0 && s1.boot_time <= now);
    assert_true(llabs(s1.boot_time + (int64_t)s1.uptime_s - now) <= 2);
    assert_true(s0.boot_time == s1.boot_time || llabs(s0.boot_time - s1.boot_time) <= 1);
    assert_non_null(s1.hostname);
    assert_non_null(s1.kernel);
    print_message("host %s kernel %s uptime %.0f s disks %u\n", s1.hostname, s1.kernel,
                  s1.uptime_s, s1.ndisks);
    kt_plat_close(p);
}

static void pdh_fails_safe(void **state)
{
    apr_pool_t *pool = *state;
    kt_sample_t s0, s1;
    kt_plat_t *p = two_samples(pool, &s0, &s1); /* both succeeded: asserted inside */
    kt_sample_t s2;
    /* A reading right after another can find the system's CPU times not yet
     * moved (CPU busy then is unknown, rightly): let them tick first. */
    Sleep(100);
    assert_int_equal(kt_plat_sample(p, &s2, pool), APR_SUCCESS);
    assert_unknown_u64(s0.run_queue); /* one collection: unknown */
    print_message("pdh: %u failures, run_queue %s, wine %d\n", kt__pdh_failed(p->pdh),
                  kt_known_u64(s2.run_queue) ? "known" : "unknown", under_wine());
    if (under_wine()) {
        /* Wine's PDH lacks these counters (PDH_CSTATUS_NO_COUNTER): the fallback path. */
        assert_true(kt__pdh_failed(p->pdh) > 0);
        assert_unknown_u64(s2.run_queue);
        for (unsigned i = 0; i < s2.ndisks; i++)
            assert_nan(s2.disks[i].queue_length);
    }
    /* The rest of the reading is unaffected. */
    assert_true(kt_known(s2.cpu.busy_pct));
    assert_true(kt_known_u64(s2.mem.total_bytes));
    kt_plat_close(p);

    /* A second handle logs nothing new but falls back the same way. */
    kt__pdh_t *h = kt__pdh_open(pool);
    kt_sample_t s;
    kt_plat_sample_init(&s);
    kt__pdh_read(h, &s);
    kt__pdh_read(h, &s);
    if (under_wine())
        assert_unknown_u64(s.run_queue);
}

/* Counts the PDH warnings (they name `lodctr /R`); everything still goes to stderr. */
static int lodctr_warnings;
static void count_sink(kt_log_level_t level, const char *message)
{
    (void)level;
    if (strstr(message, "lodctr /R"))
        lodctr_warnings++;
    fprintf(stderr, "log: %s\n", message);
}

/* Runs last: several handles have been opened by now, each failing the same way. */
static void pdh_failure_logged_once_per_counter(void **state)
{
    (void)state;
    print_message("pdh warnings logged: %d\n", lodctr_warnings);
    if (under_wine())
        assert_int_equal(lodctr_warnings, 3); /* queue length, disk idle, disk queue */
    else
        assert_true(lodctr_warnings <= 3);
}

/* The working set is emptied and what was written is still there. Wine
 * accepts the call and keeps the working set as it is, so the bytes
 * released are asserted on Windows only. */
static void release_start_pages_keeps_memory(void **state)
{
    (void)state;
    size_t len = 1 << 20;
    unsigned char *block = malloc(len);
    assert_non_null(block);
    for (size_t i = 0; i < len; i++)
        block[i] = (unsigned char)(i * 7);
    apr_size_t released = kt_sys_release_start_pages();
    if (!under_wine())
        assert_true(released > 0);
    size_t bad = 0;
    for (size_t i = 0; i < len; i++)
        bad += block[i] != (unsigned char)(i * 7);
    assert_int_equal(bad, 0);
    free(block);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child-sleep") == 0) {
        Sleep((DWORD)atoi(argv[2]));
        return 0;
    }
    if (apr_initialize() != APR_SUCCESS)
        return 1;
    kt_log_set_sink(count_sink);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cpu_shares_known_after_two_readings, setup_pool,
                                        teardown_pool),
        cmocka_unit_test_setup_teardown(memory_matches_global_memory_status, setup_pool,
                                        teardown_pool),
        cmocka_unit_test_setup_teardown(system_drive_listed_with_sizes, setup_pool,
                                        teardown_pool),
        cmocka_unit_test_setup_teardown(own_process_and_child_found, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(process_table_matches_toolhelp, setup_pool,
                                        teardown_pool),
        cmocka_unit_test_setup_teardown(network_and_clock, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(pdh_fails_safe, setup_pool, teardown_pool),
        cmocka_unit_test(pdh_failure_logged_once_per_counter),
        cmocka_unit_test(release_start_pages_keeps_memory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
