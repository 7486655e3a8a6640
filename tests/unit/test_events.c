/*
 * test_events.c - the event log (ring wrap, filters, limits) and the history
 * ring, through the monitor's public API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <apr_general.h>

#include "synth.h"

static apr_pool_t *root;

static void small_rings(kt_mon_conf_t *c)
{
    c->event_capacity = 5;
    c->history_capacity = 3;
    c->memory.hold_samples = 1;
    c->cpu.enabled = c->cpu_spike.enabled = 0;
    c->flap_window = 0; /* the pairs below would flap: these tests count them plainly */
}

/* Twelve events, ids 1..12: start/resolve pairs of low, medium, high, twice. */
static kt_mon_t *twelve_events(void)
{
    kt_mon_conf_t c;
    kt_mon_conf_defaults(&c);
    small_rings(&c);
    kt_mon_t *m;
    assert_int_equal(kt_mon_create(&m, &c, NULL, root), APR_SUCCESS);
    const double mem[] = {91, 10, 95, 10, 99, 10, 91, 10, 95, 10, 99, 10};
    for (size_t i = 0; i < sizeof mem / sizeof mem[0]; i++)
        synth_ingest(m, 10, mem[i]);
    return m;
}

static void expect_ids(kt_mon_t *m, kt_event_filter_t f, const uint64_t *want, unsigned n)
{
    kt_event_t ev[16];
    unsigned got = kt_mon_events(m, &f, ev, 16);
    assert_int_equal(got, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(ev[i].id, want[i]);
}

static void test_ring_keeps_the_newest(void **state)
{
    kt_mon_t *m = twelve_events();
    expect_ids(m, (kt_event_filter_t){-1, -1, 0, 0}, (uint64_t[]){8, 9, 10, 11, 12}, 5);
    assert_int_equal(kt_mon_last_event_id(m), 12);
    kt_mon_destroy(m);
}

static void test_filters(void **state)
{
    kt_mon_t *m = twelve_events();
    expect_ids(m, (kt_event_filter_t){-1, KT_SEV_HIGH, 0, 0}, (uint64_t[]){11, 12}, 2);
    expect_ids(m, (kt_event_filter_t){-1, KT_SEV_MEDIUM, 0, 0}, (uint64_t[]){9, 10}, 2);
    expect_ids(m, (kt_event_filter_t){KT_EV_MEMORY_HIGH, -1, 10, 0}, (uint64_t[]){11, 12}, 2);
    expect_ids(m, (kt_event_filter_t){KT_EV_CPU_HIGH, -1, 0, 0}, NULL, 0);
    expect_ids(m, (kt_event_filter_t){-1, -1, 12, 0}, NULL, 0);
    kt_mon_destroy(m);
}

static void test_limit_gives_most_recent_oldest_first(void **state)
{
    kt_mon_t *m = twelve_events();
    expect_ids(m, (kt_event_filter_t){-1, -1, 0, 2}, (uint64_t[]){11, 12}, 2);
    expect_ids(m, (kt_event_filter_t){-1, KT_SEV_LOW, 0, 1}, (uint64_t[]){8}, 1);
    /* The caller's buffer bounds the answer too. */
    kt_event_t ev[3];
    kt_event_filter_t all = {-1, -1, 0, 0};
    assert_int_equal(kt_mon_events(m, &all, ev, 3), 3);
    assert_int_equal(ev[0].id, 10);
    kt_mon_destroy(m);
}

static void test_names_round_trip(void **state)
{
    for (int t = 0; t < KT_EV__COUNT; t++)
        assert_int_equal(kt_event_type_parse(kt_event_type_name(t)), t);
    for (int s = 0; s < KT_SEV__COUNT; s++)
        assert_int_equal(kt_severity_parse(kt_severity_name(s)), s);
    assert_int_equal(kt_event_type_parse("cpu_hig"), -1);
    assert_int_equal(kt_event_type_parse(NULL), -1);
    assert_int_equal(kt_severity_parse("HIGH"), -1);
}

static void test_history_ring_and_since(void **state)
{
    kt_mon_t *m = twelve_events(); /* history capacity 3 */
    kt_hist_point_t p[8];
    unsigned n = kt_mon_history(m, 0, p, 8);
    assert_int_equal(n, 3);
    assert_true(p[0].memory_pct == 10 && p[1].memory_pct == 99 && p[2].memory_pct == 10);
    assert_true(p[0].time < p[1].time && p[1].time < p[2].time);
    assert_int_equal(kt_mon_history(m, p[1].time, p, 8), 1);
    assert_int_equal(kt_mon_history(m, 0, p, 2), 2); /* the newest two */
    assert_true(p[0].memory_pct == 99);
    kt_mon_destroy(m);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_keeps_the_newest),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_limit_gives_most_recent_oldest_first),
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_history_ring_and_since),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(root);
    apr_terminate();
    return failed;
}
