/*
 * test_fill.c - the disk_fill forecast against synthetic series, through
 * the monitor's public API: a steady fill is forecast and announced with
 * its rate and window; a burst deleted again, a recent step (a package
 * install) and a slow fill past the horizon are not; a fill that stops
 * resolves; the trend goes on across a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <apr_general.h>

#include "synth.h"

static apr_pool_t *root;
static apr_time_t clock_now;
static json_t *kept_state;

/* Only the forecast: the plain threshold and the rest stay quiet. */
static kt_mon_t *make_mon(void)
{
    kt_mon_conf_t c;
    kt_mon_conf_defaults(&c);
    c.disk.enabled = c.cpu.enabled = c.memory.enabled = c.cpu_spike.enabled = 0;
    c.process_memory.enabled = 0;
    kt_mon_t *m;
    assert_int_equal(kt_mon_create(&m, &c, NULL, root), APR_SUCCESS);
    return m;
}

/* One reading a minute of /var at used %. */
static void reading(kt_mon_t *m, double used)
{
    synth_fs_t fs = {"/var", used};
    synth_t spec = {10, 10, &fs, 1, NULL, 0};
    apr_pool_t *pool;
    kt_sample_t *s = synth_sample(&spec, &pool);
    s->time = (clock_now += apr_time_from_sec(60));
    kt_mon_ingest(m, s, pool);
}

/* Readings for `minutes`, the used % from f(minute). */
static void series(kt_mon_t *m, unsigned minutes, double (*f)(unsigned))
{
    for (unsigned i = 0; i < minutes; i++)
        reading(m, f(i));
}

static unsigned fill_events(kt_mon_t *m, kt_event_t *out, unsigned max)
{
    kt_event_filter_t f = {KT_EV_DISK_FILL, -1, 0, 0};
    return kt_mon_events(m, &f, out, max);
}

static double figure(const kt_event_t *e, const char *key)
{
    for (unsigned i = 0; i < e->nevidence; i++)
        if (strcmp(e->evidence[i].key, key) == 0)
            return e->evidence[i].value;
    return NAN;
}

/* 2 points an hour from 50 %: after 8 h, 66 % and 17 h to full. */
static double steady(unsigned i) { return 50 + 2.0 * i / 60; }

static void test_steady_fill_is_forecast(void **state)
{
    (void)state;
    kt_mon_t *m = make_mon();
    kt_event_t ev[4];
    series(m, 20, steady); /* less than the minimum window: no verdict yet */
    assert_int_equal(fill_events(m, ev, 4), 0);
    series(m, 460, steady);
    assert_int_equal(fill_events(m, ev, 4), 1);
    assert_string_equal(kt_event_type_name(ev[0].type), "disk_fill");
    assert_string_equal(ev[0].subject, "/var");
    assert_false(ev[0].resolved);
    /* It started as soon as the forecast was under 24 h, so near it. */
    assert_true(ev[0].value < 24 && ev[0].value > 20);
    assert_true(fabs(figure(&ev[0], "rate_pct_per_hour") - 2) < 0.05);
    assert_true(figure(&ev[0], "window_s") >= 1800);
    assert_true(figure(&ev[0], "rate_bytes_per_hour") > 0);
    assert_non_null(strstr(ev[0].message, "/var will be full in about"));
    assert_non_null(strstr(ev[0].message, "at the current rate"));
    json_t *j = kt_json_event(&ev[0]);
    assert_true(json_is_number(json_object_get(json_object_get(j, "evidence"), "hours_to_full")));
    json_decref(j);
    kt_mon_destroy(m);
}

/* Flat at 60 %, with 30 % more for 20 minutes in the middle (an archive
 * unpacked and deleted). */
static double burst(unsigned i) { return i >= 170 && i < 190 ? 90 : 60; }
/* Flat at 60 %, then 5 points more in the last 10 minutes, staying. */
static double step_at_end(unsigned i) { return i >= 350 ? 65 : 60; }
/* Half a point an hour from 50 %: 100 h to full, past the 24 h horizon. */
static double slow(unsigned i) { return 50 + 0.5 * i / 60; }

static void test_bursts_and_slow_fills_are_not(void **state)
{
    (void)state;
    double (*quiet[])(unsigned) = {burst, step_at_end, slow};
    for (size_t k = 0; k < 3; k++) {
        kt_mon_t *m = make_mon();
        kt_event_t ev[4];
        series(m, 360, quiet[k]);
        assert_int_equal(fill_events(m, ev, 4), 0);
        kt_mon_destroy(m);
    }
}

/* A steady fill that stops for good after 8 h. */
static double stops(unsigned i) { return i < 480 ? steady(i) : steady(480); }

static void test_a_fill_that_stops_resolves(void **state)
{
    (void)state;
    kt_mon_t *m = make_mon();
    kt_event_t ev[4];
    series(m, 480 + 360, stops);
    assert_int_equal(fill_events(m, ev, 4), 2);
    assert_false(ev[0].resolved);
    assert_true(ev[1].resolved);
    assert_int_equal(ev[1].started_id, ev[0].id);
    assert_non_null(strstr(ev[1].message, "no longer filling up fast"));
    kt_mon_destroy(m);
}

static void keep_state(void *baton, json_t *st)
{
    (void)baton;
    json_decref(kept_state);
    kept_state = st;
}

static void no_commit(void *baton, const kt_event_t *ev, unsigned n)
{
    (void)baton;
    (void)ev;
    (void)n;
}

/* 2 points an hour from 40 %: the forecast crosses 24 h at 6 h. */
static double from40(unsigned i) { return 40 + 2.0 * i / 60; }

static void test_trend_goes_on_across_a_restart(void **state)
{
    (void)state;
    kt_mon_t *a = make_mon();
    kt_mon_journal_t j = {no_commit, keep_state, NULL};
    kt_mon_set_journal(a, &j);
    series(a, 350, from40); /* 5 h 50 min: full in just over 24 h */
    kt_event_t ev[4];
    assert_int_equal(fill_events(a, ev, 4), 0);
    kt_mon_destroy(a);
    assert_non_null(kept_state);
    /* 20 minutes more: less than the minimum window on their own, so only
     * the trend carried over can tell the forecast is under 24 h now. */
    kt_mon_t *b = make_mon();
    kt_mon_restore(b, 100, kept_state);
    for (unsigned i = 350; i < 370; i++)
        reading(b, from40(i));
    assert_int_equal(fill_events(b, ev, 4), 1);
    assert_true(ev[0].id > 100);
    kt_mon_destroy(b);
    json_decref(kept_state);
    kept_state = NULL;
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    clock_now = apr_time_from_sec(1700000000);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_fill_is_forecast),
        cmocka_unit_test(test_bursts_and_slow_fills_are_not),
        cmocka_unit_test(test_a_fill_that_stops_resolves),
        cmocka_unit_test(test_trend_goes_on_across_a_restart),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(root);
    apr_terminate();
    return rc;
}
