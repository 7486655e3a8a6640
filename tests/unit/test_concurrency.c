/*
 * test_concurrency.c - readers against the writer. Meant for the sanitizer
 * build, where a reader touching a freed snapshot or a torn event fails.
 *
 * Phase 1: one thread ingests synthetic samples as fast as it can (every
 * value in a sample is the same number, so a torn read shows as a mismatch)
 * while readers take snapshots, query events, health and history, and one
 * clears the log. Phase 2: the real sampler thread on the live /proc at the
 * minimum interval, started and stopped while readers read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <apr_general.h>
#include <apr_thread_proc.h>

#include "synth.h"

#define READERS 3

static apr_pool_t *root;
static atomic_uint done;

typedef struct {
    kt_mon_t *m;
    unsigned reads;
    uint64_t last_seq;
    int synthetic; /* every value of a sample is the same number */
    int torn, backwards;
} reader_t;

static void *APR_THREAD_FUNC reader_main(apr_thread_t *t, void *data)
{
    reader_t *r = data;
    kt_event_t ev[32];
    kt_hist_point_t hist[32];
    kt_mon_health_t h;
    while (!atomic_load(&done)) {
        kt_snap_t *snap = kt_mon_acquire(r->m);
        if (snap) {
            const kt_sample_t *s = kt_snap_sample(snap);
            if (r->synthetic && (s->fs[0].used_pct != s->cpu.busy_pct ||
                           s->mem.used_pct != s->cpu.busy_pct))
                r->torn = 1;
            if (kt_snap_seq(snap) < r->last_seq)
                r->backwards = 1;
            r->last_seq = kt_snap_seq(snap);
            kt_snap_release(snap);
        }
        kt_event_filter_t f = {-1, -1, 0, 10};
        unsigned n = kt_mon_events(r->m, &f, ev, 32);
        for (unsigned i = 1; i < n; i++)
            if (ev[i].id <= ev[i - 1].id)
                r->backwards = 1;
        kt_mon_health(r->m, &h);
        kt_mon_history(r->m, 0, hist, 32);
        r->reads++;
    }
    return NULL; /* not apr_thread_exit: its forced unwind upsets ASan */
}

static void *APR_THREAD_FUNC clearer_main(apr_thread_t *t, void *data)
{
    while (!atomic_load(&done)) {
        kt_mon_clear(data);
        apr_sleep(1000);
    }
    return NULL; /* not apr_thread_exit: its forced unwind upsets ASan */
}

static void on_reading(void *baton, const kt_snap_t *snap, const kt_event_t *e, unsigned n)
{
    atomic_fetch_add((atomic_uint *)baton, n);
}

static void start_readers(kt_mon_t *m, int synthetic, reader_t *r, apr_thread_t **threads)
{
    atomic_store(&done, 0);
    for (int i = 0; i < READERS; i++) {
        r[i] = (reader_t){m, 0, 0, synthetic, 0, 0};
        assert_int_equal(apr_thread_create(&threads[i], NULL, reader_main, &r[i], root),
                         APR_SUCCESS);
    }
}

static void stop_readers(reader_t *r, apr_thread_t **threads)
{
    atomic_store(&done, 1);
    for (int i = 0; i < READERS; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, threads[i]);
        assert_int_equal(r[i].torn, 0);
        assert_int_equal(r[i].backwards, 0);
        assert_true(r[i].reads > 0);
    }
}

static void test_readers_against_ingest(void **state)
{
    kt_mon_conf_t c;
    kt_mon_conf_defaults(&c);
    c.cpu.hold_samples = c.memory.hold_samples = c.disk.hold_samples = 1;
    c.event_capacity = 16;
    c.history_capacity = 16;
    kt_mon_t *m;
    assert_int_equal(kt_mon_create(&m, &c, NULL, root), APR_SUCCESS);
    atomic_uint notified = 0;
    unsigned sub;
    kt_mon_subscribe(m, on_reading, (void *)&notified, &sub);

    reader_t r[READERS];
    apr_thread_t *threads[READERS], *clearer;
    start_readers(m, 1, r, threads);
    apr_thread_create(&clearer, NULL, clearer_main, m, root);

    apr_time_t end = apr_time_now() + apr_time_from_msec(700);
    unsigned samples = 0;
    while (apr_time_now() < end) {
        double v = samples % 2 ? 10 : 97; /* every reading starts or resolves something */
        synth_fs_t fs = {"/", v};
        synth_t spec = {v, v, &fs, 1, NULL, 0};
        apr_pool_t *pool;
        kt_sample_t *s = synth_sample(&spec, &pool);
        kt_mon_ingest(m, s, pool);
        samples++;
    }
    stop_readers(r, threads);
    apr_status_t rv;
    apr_thread_join(&rv, clearer);

    assert_true(samples > 100);
    assert_int_equal(atomic_load(&notified), kt_mon_last_event_id(m));
    kt_mon_health_t h;
    kt_mon_health(m, &h);
    assert_int_equal(h.samples, samples);
    kt_mon_destroy(m);
}

static void test_readers_against_sampler_thread(void **state)
{
    kt_plat_opts_t po = {0};
    kt_plat_t *plat;
    assert_int_equal(kt_plat_open(&plat, &po, root), APR_SUCCESS);
    kt_mon_conf_t c;
    kt_mon_conf_defaults(&c);
    c.interval_ms = KT_MON_MIN_INTERVAL_MS;
    kt_mon_t *m;
    assert_int_equal(kt_mon_create(&m, &c, plat, root), APR_SUCCESS);

    reader_t r[READERS];
    apr_thread_t *threads[READERS];
    start_readers(m, 0, r, threads);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(kt_mon_start(m), APR_SUCCESS);
        assert_int_equal(kt_mon_start(m), APR_SUCCESS); /* idempotent */
        assert_true(kt_mon_running(m));
        apr_sleep(apr_time_from_msec(350));
        assert_int_equal(kt_mon_stop(m), APR_SUCCESS);
        assert_false(kt_mon_running(m));
    }
    stop_readers(r, threads);

    kt_mon_health_t h;
    kt_mon_health(m, &h);
    /* About 4 readings per round at 100 ms; allow a loaded machine its delays. */
    assert_true(h.samples >= 3);
    kt_snap_t *snap = kt_mon_acquire(m);
    assert_non_null(snap);
    assert_int_equal(kt_snap_seq(snap), h.samples);
    assert_true(kt_snap_sample(snap)->nprocs > 0);
    kt_snap_release(snap);
    /* Destroying a running monitor stops its sampler before freeing anything. */
    assert_int_equal(kt_mon_start(m), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(150));
    kt_mon_destroy(m);
    kt_plat_close(plat);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_against_ingest),
        cmocka_unit_test(test_readers_against_sampler_thread),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(root);
    apr_terminate();
    return failed;
}
