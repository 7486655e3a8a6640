/*
 * test_win_rate.c - the Windows backend's pure arithmetic (platform/windows/rate.c).
 * rate.c has no windows.h, so this runs natively on Linux and under Wine alike.
 */
#include "kt_test_util.h"

#include "rate.h"

static void cpu_ticks_system_is_kernel_minus_idle(void **state)
{
    (void)state;
    kt__cpu_ticks_t t;
    kt__win_cpu_ticks(700, 1000, 500, &t);
    assert_int_equal(t.v[KT__CPU_SYSTEM], 300);
    assert_int_equal(t.v[KT__CPU_USER], 500);
    assert_int_equal(t.v[KT__CPU_IDLE], 700);
    assert_int_equal(t.known,
                     (1u << KT__CPU_USER) | (1u << KT__CPU_SYSTEM) | (1u << KT__CPU_IDLE));
    kt__win_cpu_ticks(1001, 1000, 5, &t); /* torn read: no negative system time */
    assert_int_equal(t.v[KT__CPU_SYSTEM], 0);
}

static void cpu_shares_from_two_readings(void **state)
{
    (void)state;
    kt__cpu_ticks_t a, b;
    kt_cpu_t c;
    /* Over the interval: idle 600, kernel 800 (so system 200), user 200. */
    kt__win_cpu_ticks(1000, 2000, 3000, &a);
    kt__win_cpu_ticks(1600, 2800, 3200, &b);
    kt__plat_cpu_pct(&a, &b, &c);
    assert_close(c.idle_pct, 60.0);
    assert_close(c.system_pct, 20.0);
    assert_close(c.user_pct, 20.0);
    assert_close(c.busy_pct, 40.0);
    assert_nan(c.iowait_pct); /* Windows has no iowait, irq, steal... */
    assert_nan(c.steal_pct);
}

static void proc_cpu_pct_of_one_core(void **state)
{
    (void)state;
    /* 0.5 s of CPU in 2 s: 25 % of one core. */
    assert_close(kt__win_proc_cpu_pct(10000000, 15000000, 2.0), 25.0);
    /* Two cores' worth: 200 %. */
    assert_close(kt__win_proc_cpu_pct(0, 20000000, 1.0), 200.0);
    assert_nan(kt__win_proc_cpu_pct(5, 4, 1.0));  /* backwards */
    assert_nan(kt__win_proc_cpu_pct(1, 2, 0.0));  /* no interval */
    assert_nan(kt__win_proc_cpu_pct(1, 2, NAN));  /* first reading */
}

static void filetime_and_boot_time(void **state)
{
    (void)state;
    assert_int_equal(kt__win_filetime_to_unix(KT__WIN_EPOCH_DIFF), 0);
    assert_int_equal(kt__win_filetime_to_unix(KT__WIN_EPOCH_DIFF + 17 * KT__WIN_TICKS_PER_S), 17);
    assert_int_equal(kt__win_filetime_to_unix(5), -1);
    /* now = 1 000 000 s after the epoch, up 3600.4 s: booted at 996 399.6 -> 996 400 */
    uint64_t now = KT__WIN_EPOCH_DIFF + 1000000ull * KT__WIN_TICKS_PER_S;
    assert_int_equal(kt__win_boot_time(now, 3600400), 996400);
    assert_int_equal(kt__win_boot_time(10, 3600400), -1);
}

static void disk_busy_and_clamp(void **state)
{
    (void)state;
    /* 1 s of query time, 0.25 s idle: 75 % busy. */
    assert_close(kt__win_disk_busy_pct(100, 1000, 2500100, 10001000), 75.0);
    assert_nan(kt__win_disk_busy_pct(0, 10, 0, 10));    /* no time passed */
    assert_nan(kt__win_disk_busy_pct(50, 10, 40, 20));  /* idle went backwards */
    assert_close(kt__win_disk_busy_pct(0, 0, 20, 10), 0.0); /* idle > interval: clamped */
    assert_close(kt__win_clamp_pct(180.0), 100.0);
    assert_close(kt__win_clamp_pct(-3.0), 0.0);
    assert_nan(kt__win_clamp_pct(NAN));
}

static void swap_from_commit_limit(void **state)
{
    (void)state;
    uint64_t total, used;
    /* 16 GiB RAM, 4 GiB used; commit limit 20 GiB, 6 GiB committed. */
    const uint64_t G = 1ull << 30;
    kt__win_swap(16 * G, 12 * G, 20 * G, 14 * G, &total, &used);
    assert_true(total == 4 * G);
    assert_true(used == 2 * G);
    /* No page file (Wine): commit limit == RAM. */
    kt__win_swap(16 * G, 12 * G, 16 * G, 12 * G, &total, &used);
    assert_true(total == 0 && used == 0);
    /* Commit below RAM use: none swapped. */
    kt__win_swap(16 * G, 4 * G, 20 * G, 19 * G, &total, &used);
    assert_true(total == 4 * G && used == 0);
    kt__win_swap(1, 2, 3, 1, &total, &used); /* inconsistent */
    assert_unknown_u64(total);
    assert_unknown_u64(used);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_ticks_system_is_kernel_minus_idle),
        cmocka_unit_test(cpu_shares_from_two_readings),
        cmocka_unit_test(proc_cpu_pct_of_one_core),
        cmocka_unit_test(filetime_and_boot_time),
        cmocka_unit_test(disk_busy_and_clamp),
        cmocka_unit_test(swap_from_commit_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
