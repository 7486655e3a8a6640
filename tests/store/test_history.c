/*
 * test_history.c - the history on a real SQLite file: the packed chunks
 * against the values put in, minute and hour buckets (min, average, max,
 * edges), buckets open at a stop carried across the restart, gaps while
 * kotod was down, the tier a range is answered from, retention and the
 * size cap taking the readings first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <apr_dbd.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "store_internal.h"

static apr_pool_t *root;
static char dir[512];
static const char *db;

/* ---- the codec ------------------------------------------------------------------------ */

static void test_chunk_round_trip(void **state)
{
    (void)state;
    kt__chunk_t c = {0};
    kt__chunk_start(&c, 1000, 1000, 1, 300);
    /* Steady, small steps, big jumps, negatives, the extremes, and gaps. */
    int64_t values[200];
    int64_t times[200];
    unsigned n = 0;
    srand(7);
    int64_t t = 1000;
    for (unsigned i = 0; i < 200; i++) {
        int64_t v = i < 40    ? 500
                    : i < 80  ? 500 + (rand() % 21) - 10
                    : i < 120 ? (int64_t)(rand() % 2000000) - 1000000
                    : i == 150 ? INT64_C(4000000000000000000)
                    : i == 151 ? -INT64_C(4000000000000000000)
                               : (int64_t)i * 7;
        /* jitter of a few ms, and now and then missed slots */
        int64_t at = t + (rand() % 41) - 20;
        if (kt__chunk_append(&c, at, &v) != 0)
            break;
        values[n] = v;
        times[n] = t;
        n++;
        t += i % 37 == 36 ? 5000 : 1000;
    }
    assert_true(n > 150);
    kt__point_t *out = malloc(sizeof *out * n);
    unsigned got = kt__chunk_decode(c.data, (c.nbits + 7) / 8, 1, c.t0_ms, c.step_ms, c.npoints,
                                    1.0, out);
    assert_int_equal(got, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(out[i].t_ms, times[i]);
        assert_true(out[i].avg == (double)values[i]);
    }
    /* Constant stretches cost a bit a point. */
    kt__chunk_t flat = {0};
    kt__chunk_start(&flat, 0, 1000, 1, 300);
    int64_t v = 1234;
    for (int i = 0; i < 300; i++)
        assert_int_equal(kt__chunk_append(&flat, i * 1000, &v), 0);
    assert_true((flat.nbits + 7) / 8 <= 3 + 300 / 8 + 1);
    /* Full: the next point does not fit and leaves the chunk as it was. */
    size_t bits = flat.nbits;
    assert_int_equal(kt__chunk_append(&flat, 300 * 1000, &v), 1);
    assert_int_equal(flat.nbits, bits);
    /* Before its start: refused too. */
    assert_int_equal(kt__chunk_append(&flat, -5000, &v), 1);
    free(out);
    kt__chunk_free(&c);
    kt__chunk_free(&flat);
}

static void test_chunk_min_max(void **state)
{
    (void)state;
    kt__chunk_t c = {0};
    kt__chunk_start(&c, 0, 60000, 3, 360);
    int64_t q[][3] = {{50, 10, 90}, {50, 50, 50}, {-20, -100, 0}, {7, 7, 1000000}};
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(kt__chunk_append(&c, (int64_t)i * 60000 * (i == 3 ? 2 : 1), q[i]), 0);
    kt__point_t out[4];
    assert_int_equal(kt__chunk_decode(c.data, (c.nbits + 7) / 8, 3, 0, 60000, 4, 0.5, out), 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_true(out[i].avg == q[i][0] * 0.5);
        assert_true(out[i].min == q[i][1] * 0.5);
        assert_true(out[i].max == q[i][2] * 0.5);
    }
    assert_int_equal(out[3].t_ms, 6 * 60000);
    /* A stream cut short gives what it holds, never more. */
    assert_true(kt__chunk_decode(c.data, 1, 3, 0, 60000, 4, 1, out) < 4);
    kt__chunk_free(&c);
}

/* ---- through the store ------------------------------------------------------------------- */

static kt_store_t *open_store(unsigned max_mb)
{
    kt_store_opts_t o = {.path = db, .max_mb = max_mb};
    kt_store_t *s;
    assert_int_equal(kt_store_open(&s, &o, root), APR_SUCCESS);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_string_equal(kt_store_state_name(info.state), "ok");
    return s;
}

/* A reading with nothing known but the CPU (and ncores cores at cpu + i). */
static void reading_cores(kt_store_t *s, int64_t t_ms, double cpu, unsigned ncores)
{
    kt_sample_t x;
    kt_cpu_t cores[8];
    memset(&x, 0, sizeof x);
    memset(cores, 0, sizeof cores);
    for (unsigned i = 0; i < ncores; i++)
        cores[i].busy_pct = cpu + i;
    x.cores = cores;
    x.ncores = ncores;
    x.time = apr_time_from_msec(t_ms);
    x.elapsed_s = 1.0;
    x.cpu.busy_pct = cpu;
    x.mem.used_pct = x.mem.swap_used_pct = NAN;
    x.load1 = x.load5 = x.load15 = NAN;
    x.procs_total = x.threads_total = KT_UNKNOWN_U64;
    for (int i = 0; i < KT_PSI__COUNT; i++)
        x.pressure[i].some_avg60_pct = NAN;
    kt_store_record(s, &x, 1000, 0);
}

static void reading(kt_store_t *s, int64_t t_ms, double cpu) { reading_cores(s, t_ms, cpu, 0); }

static json_t *history(kt_store_t *s, const char *metric, int64_t from, int64_t to,
                       unsigned points)
{
    json_t *j = NULL;
    assert_int_equal(kt_store_history(s, metric, apr_time_from_msec(from), apr_time_from_msec(to),
                                      points, &j),
                     APR_SUCCESS);
    return j;
}

static double at(json_t *j, const char *key, size_t i)
{
    json_t *v = json_array_get(json_object_get(j, key), i);
    return json_is_null(v) ? NAN : json_number_value(v);
}

/* The start of the minute a few minutes back: the tests write whole minutes. */
static int64_t minute_ago(int minutes)
{
    int64_t now = apr_time_as_msec(apr_time_now());
    return now - now % 60000 - (int64_t)minutes * 60000;
}

static void test_minute_buckets(void **state)
{
    (void)state;
    kt_store_t *s = open_store(0);
    int64_t m0 = minute_ago(10);
    /* Three whole minutes of a saw tooth 0..59 %, then one reading of the
     * fourth minute, which closes the third. */
    for (int i = 0; i < 181; i++)
        reading(s, m0 + i * 1000, i % 60);
    json_t *j = history(s, "cpu", m0, m0 + 3 * 60000 - 1, 3);
    assert_string_equal(json_string_value(json_object_get(j, "tier")), "1m");
    assert_int_equal(json_integer_value(json_object_get(j, "bucket_ms")), 60000);
    for (size_t i = 0; i < 3; i++) {
        assert_true(fabs(at(j, "avg", i) - 29.5) < 1e-9);
        assert_true(at(j, "min", i) == 0);
        assert_true(at(j, "max", i) == 59);
    }
    json_decref(j);
    /* The minute in progress is there too: as far as it has got. */
    j = history(s, "cpu", m0, m0 + 4 * 60000 - 1, 4);
    assert_true(at(j, "avg", 3) == 0);
    assert_true(at(j, "max", 3) == 0);
    json_decref(j);
    /* The same range in 180 points: the readings themselves. */
    j = history(s, "cpu", m0, m0 + 179 * 1000, 180);
    assert_string_equal(json_string_value(json_object_get(j, "tier")), "raw");
    assert_int_equal(json_array_size(json_object_get(j, "avg")), 180);
    for (size_t i = 0; i < 180; i++)
        assert_true(at(j, "avg", i) == (double)(i % 60));
    json_decref(j);
    /* Unknown series. */
    json_t *none = NULL;
    assert_int_equal(kt_store_history(s, "nope", 0, apr_time_now(), 10, &none), KT_ENOTFOUND);
    kt_store_close(s);
}

static void test_restart_carries_open_buckets(void **state)
{
    (void)state;
    int64_t m0 = minute_ago(20);
    kt_store_t *s = open_store(0);
    /* Half a minute, a stop, the other half after a restart: one bucket. */
    for (int i = 0; i < 30; i++)
        reading(s, m0 + i * 1000, 10);
    kt_store_close(s);
    s = open_store(0);
    for (int i = 30; i < 60; i++)
        reading(s, m0 + i * 1000, 20);
    /* Then kotod is away for five minutes, and comes back. */
    kt_store_close(s);
    s = open_store(0);
    for (int i = 0; i <= 60; i++)
        reading(s, m0 + 6 * 60000 + i * 1000, 30);
    json_t *j = history(s, "cpu", m0, m0 + 7 * 60000 - 1, 7);
    assert_string_equal(json_string_value(json_object_get(j, "tier")), "1m");
    assert_true(fabs(at(j, "avg", 0) - 15) < 1e-9);
    assert_true(at(j, "min", 0) == 10);
    assert_true(at(j, "max", 0) == 20);
    for (size_t i = 1; i < 6; i++)
        assert_true(isnan(at(j, "avg", i))); /* down: no bucket at all */
    assert_true(at(j, "avg", 6) == 30);
    json_decref(j);
    /* The readings too, across both restarts, in order. */
    j = history(s, "cpu", m0, m0 + 59 * 1000, 60);
    for (size_t i = 0; i < 60; i++)
        assert_true(at(j, "avg", i) == (i < 30 ? 10 : 20));
    json_decref(j);
    /* The series list says what there is. */
    json_t *list = NULL;
    assert_int_equal(kt_store_series(s, &list), APR_SUCCESS);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "metric")),
                        "cpu");
    json_decref(list);
    kt_store_close(s);
}

/* The readings as points again (what a replay feeds the monitor): in
 * order, at their own times, from memory and from the file alike, with the
 * interval the stored chunks were written at. */
static void test_points_for_replay(void **state)
{
    (void)state;
    int64_t m0 = minute_ago(30);
    kt_store_t *s = open_store(0);
    for (int i = 0; i < 400; i++) /* more than a raw chunk: one is stored, one in memory */
        reading(s, m0 + i * 1000, i % 100);
    kt_store_point_t *p = NULL;
    unsigned n = 0;
    int64_t step = 0;
    assert_int_equal(kt_store_points(s, "cpu", 0, apr_time_from_msec(m0),
                                     apr_time_from_msec(m0 + 399 * 1000), &p, &n, &step),
                     APR_SUCCESS);
    assert_int_equal(n, 400);
    assert_int_equal(step, 1000);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(p[i].t_ms, m0 + (int64_t)i * 1000);
        assert_true(p[i].v == (double)(i % 100));
    }
    free(p);
    assert_int_equal(kt_store_tier_step_ms(s, 0), 1000);
    assert_int_equal(kt_store_tier_step_ms(s, 1), 60000);
    assert_string_equal(kt_store_tier_name(1), "1m");
    assert_true(kt_store_tier_reaches(s, 0, apr_time_from_msec(m0)));
    assert_false(kt_store_tier_reaches(s, 0, apr_time_now() - apr_time_from_sec(49 * 3600)));
    kt_store_close(s);

    /* After a restart, before any reading: the file alone, and its step. */
    s = open_store(0);
    assert_int_equal(kt_store_points(s, "cpu", 0, apr_time_from_msec(m0 + 100 * 1000),
                                     apr_time_from_msec(m0 + 199 * 1000), &p, &n, &step),
                     APR_SUCCESS);
    assert_int_equal(n, 100);
    assert_int_equal(step, 1000);
    assert_int_equal(p[0].t_ms, m0 + 100 * 1000);
    free(p);
    /* The minutes: six whole ones, each the average of its readings. */
    assert_int_equal(kt_store_points(s, "cpu", 1, apr_time_from_msec(m0),
                                     apr_time_from_msec(m0 + 6 * 60000 - 1), &p, &n, &step),
                     APR_SUCCESS);
    assert_int_equal(n, 6);
    assert_int_equal(step, 60000);
    free(p);
    apr_pool_t *pool;
    apr_pool_create(&pool, root);
    apr_array_header_t *names;
    assert_int_equal(kt_store_series_names(s, &names, pool), APR_SUCCESS);
    assert_int_equal(names->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(names, 0, const char *), "cpu");
    assert_int_equal(kt_store_points(s, "nope", 0, 0, apr_time_now(), &p, &n, NULL), KT_ENOTFOUND);
    apr_pool_destroy(pool);
    kt_store_close(s);
}

static void test_hour_buckets(void **state)
{
    (void)state;
    int64_t now = apr_time_as_msec(apr_time_now());
    int64_t h0 = now - now % 3600000 - 3 * 3600000;
    kt_store_t *s = open_store(0);
    /* A reading a minute for two hours and one more: hour one at 40 %, hour
     * two from 0 to 59 %; one restart in the middle of the second. */
    for (int i = 0; i <= 120; i++) {
        if (i == 90) {
            kt_store_close(s);
            s = open_store(0);
        }
        reading(s, h0 + (int64_t)i * 60000, i < 60 ? 40 : i - 60);
    }
    /* Closing minutes close hours only when the next minute's reading
     * arrives: one more reading ends the second hour. */
    reading(s, h0 + 121 * 60000, 0);
    json_t *j = history(s, "cpu", h0, h0 + 2 * 3600000 - 1, 2);
    assert_string_equal(json_string_value(json_object_get(j, "tier")), "1h");
    assert_true(at(j, "avg", 0) == 40);
    assert_true(fabs(at(j, "avg", 1) - 29.5) < 1e-9);
    assert_true(at(j, "min", 1) == 0);
    assert_true(at(j, "max", 1) == 59);
    json_decref(j);
    kt_store_close(s);
}

static void test_size_cap_takes_readings_first(void **state)
{
    (void)state;
    kt_store_t *s = open_store(0);
    kt_event_t e;
    memset(&e, 0, sizeof e);
    e.type = KT_EV_CPU_HIGH;
    for (uint64_t id = 1; id <= 200; id++) {
        e.id = id;
        e.time = apr_time_now();
        assert_int_equal(kt_store_put_events(s, &e, 1), APR_SUCCESS);
    }
    /* Noisy readings of five series over 40 hours: a few MiB of chunks. */
    int64_t t0 = minute_ago(60 * 40), end = t0 + 40 * 3600000;
    srand(3);
    for (int64_t t = t0; t < end; t += 1000)
        reading_cores(s, t, (rand() % 100000) / 10.0, 4);
    kt_store_close(s);
    /* A cap below what the readings take: the oldest readings go, the
     * minutes and the events stay. */
    s = open_store(1);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_int_equal(info.events, 200);
    json_t *j = history(s, "cpu", t0, t0 + 600000, 600);
    assert_string_equal(json_string_value(json_object_get(j, "tier")), "raw");
    for (size_t i = 0; i < 600; i++)
        assert_true(isnan(at(j, "avg", i)));
    json_decref(j);
    j = history(s, "cpu", end - 600000, end - 1000, 600);
    assert_false(isnan(at(j, "avg", 599)));
    json_decref(j);
    j = history(s, "cpu", t0, t0 + 3600000 - 1, 60);
    assert_string_equal(json_string_value(json_object_get(j, "tier")), "1m");
    for (size_t i = 0; i < 60; i++)
        assert_false(isnan(at(j, "avg", i)));
    json_decref(j);
    kt_store_close(s);
}

/* Each tier keeps what its setting says: older chunks go at the trim. */
static void test_retention_by_tier(void **state)
{
    (void)state;
    kt_store_t *s = open_store(0);
    /* The recent readings cross an hour: the old hour's bucket must not end
     * up in a chunk with the new ones (it would live as long as they do). */
    int64_t now = apr_time_as_msec(apr_time_now());
    int64_t old = minute_ago(3 * 24 * 60), recent = now - now % 3600000 - 300000;
    for (int i = 0; i <= 600; i++) {
        reading(s, old + i * 1000, 10);
        reading(s, recent + i * 1000, 20);
    }
    kt_store_close(s);
    kt_store_opts_t o = {.path = db, .raw_hours = 1, .minute_days = 1, .hour_days = 1};
    assert_int_equal(kt_store_open(&s, &o, root), APR_SUCCESS);
    /* The trim follows the first request; the series list reads what is left. */
    json_t *list = NULL;
    assert_int_equal(kt_store_series(s, &list), APR_SUCCESS);
    json_decref(list);
    assert_int_equal(kt_store_series(s, &list), APR_SUCCESS);
    json_t *cpu = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(cpu, "metric")), "cpu");
    int64_t first = json_integer_value(json_object_get(cpu, "first"));
    assert_true(first >= recent - 3600000); /* three days ago is gone from every tier */
    json_decref(list);
    kt_store_close(s);
}

/* A file from the first schema (the event log only) is brought forward,
 * its events kept, and the history works in it. */
static void test_migration_keeps_events(void **state)
{
    (void)state;
    const apr_dbd_driver_t *drv;
    apr_dbd_t *h;
    int n;
    apr_dbd_init(root);
    assert_int_equal(apr_dbd_get_driver(root, "sqlite3", &drv), APR_SUCCESS);
    assert_int_equal(apr_dbd_open(drv, root, db, &h), APR_SUCCESS);
    assert_int_equal(
        apr_dbd_query(drv, h, &n,
                      "CREATE TABLE events (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
                      " type TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,"
                      " subject TEXT NOT NULL, json TEXT NOT NULL);"
                      "CREATE INDEX events_time ON events (time_ms);"
                      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                      "CREATE TABLE journal (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
                      " what TEXT NOT NULL, who TEXT NOT NULL, detail TEXT NOT NULL);"
                      "INSERT INTO events VALUES (7, 1000, 'cpu_high', 'low', 'started', '',"
                      " '{\"id\":7,\"type\":\"cpu_high\"}');"
                      "PRAGMA user_version=1;"),
        0);
    apr_dbd_close(drv, h);
    kt_store_t *s = open_store(0);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_int_equal(info.schema, KT_STORE_SCHEMA);
    assert_int_equal(info.events, 1);
    assert_int_equal(kt_store_last_event_id(s), 7);
    int64_t m0 = minute_ago(5);
    for (int i = 0; i < 120; i++)
        reading(s, m0 + i * 1000, 42);
    kt_store_close(s);
    s = open_store(0);
    json_t *j = history(s, "cpu", m0, m0 + 119 * 1000, 120);
    assert_true(at(j, "avg", 119) == 42);
    json_decref(j);
    kt_store_close(s);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp;
    assert_int_equal(apr_temp_dir_get(&tmp, root), APR_SUCCESS); /* TMPDIR, or the system's */
    snprintf(dir, sizeof dir, "%s/kt-history-%d", tmp, (int)getpid());
    apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, root);
    db = apr_psprintf(root, "%s/koto.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++)
        apr_file_remove(apr_pstrcat(root, db, suffixes[i], NULL), root);
    return 0;
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_round_trip),
        cmocka_unit_test(test_chunk_min_max),
        cmocka_unit_test_setup_teardown(test_minute_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_carries_open_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_points_for_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hour_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap_takes_readings_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_by_tier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_keeps_events, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_dir_remove(dir, root);
    apr_pool_destroy(root);
    apr_terminate();
    return rc;
}
