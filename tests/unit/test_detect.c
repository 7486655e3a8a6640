/*
 * test_detect.c - the detectors against synthetic sample sequences, through
 * the monitor's public API (kt_mon_ingest, kt_mon_events, kt_mon_health).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <apr_general.h>

#include "kt_base.h"
#include "synth.h"

static apr_pool_t *root;

static kt_mon_t *make_mon(void (*tweak)(kt_mon_conf_t *))
{
    kt_mon_conf_t c;
    kt_mon_conf_defaults(&c);
    if (tweak)
        tweak(&c);
    kt_mon_t *m;
    assert_int_equal(kt_mon_create(&m, &c, NULL, root), APR_SUCCESS);
    return m;
}

static unsigned all_events(kt_mon_t *m, kt_event_t *out, unsigned max)
{
    kt_event_filter_t f = {-1, -1, 0, 0};
    return kt_mon_events(m, &f, out, max);
}

static void ingest_spec(kt_mon_t *m, const synth_t *spec)
{
    apr_pool_t *pool;
    kt_sample_t *s = synth_sample(spec, &pool);
    kt_mon_ingest(m, s, pool);
}

/* ---- hold-down, no repeats, margin -------------------------------------------------- */

static void test_cpu_starts_after_hold(void **state)
{
    kt_mon_t *m = make_mon(NULL); /* cpu: 85 %, hold 2 */
    kt_event_t ev[8];
    synth_ingest(m, 80, 10);
    synth_ingest(m, 92, 10);
    assert_int_equal(all_events(m, ev, 8), 0); /* one reading past is not enough */
    synth_ingest(m, 92, 10);
    assert_int_equal(all_events(m, ev, 8), 1);
    assert_int_equal(ev[0].type, KT_EV_CPU_HIGH);
    assert_int_equal(ev[0].resolved, 0);
    assert_int_equal(ev[0].severity, KT_SEV_MEDIUM); /* (92-85)/15 = 0.47 */
    assert_true(ev[0].value == 92.0);
    assert_true(ev[0].threshold == 85.0);
    assert_string_equal(ev[0].message, "CPU busy 92.0% (threshold 85%)");
    assert_true(ev[0].id >= 1);
    kt_mon_destroy(m);
}

static void no_spikes(kt_mon_conf_t *c) { c->cpu_spike.enabled = 0; }

static void tiny_cpu(kt_mon_conf_t *c)
{
    c->cpu = (kt_mon_rule_t){1, 0.3, 0.1, 1};
    c->cpu_spike.enabled = 0;
}

static void test_message_shows_the_threshold_as_set(void **state)
{
    kt_mon_t *m = make_mon(tiny_cpu);
    kt_event_t ev[4];
    synth_ingest(m, 0.5, 10);
    assert_int_equal(all_events(m, ev, 4), 1);
    assert_string_equal(ev[0].message, "CPU busy 0.5% (threshold 0.3%)"); /* not "0%" */
    kt_mon_destroy(m);
}

static void test_hold_resets_when_condition_breaks(void **state)
{
    kt_mon_t *m = make_mon(no_spikes); /* 50 -> 95 would be a spike, judged elsewhere */
    kt_event_t ev[8];
    for (int i = 0; i < 5; i++) {
        synth_ingest(m, 95, 10);
        synth_ingest(m, 50, 10);
    }
    assert_int_equal(all_events(m, ev, 8), 0);
    kt_mon_destroy(m);
}

static void test_no_repeat_while_held(void **state)
{
    kt_mon_t *m = make_mon(NULL);
    kt_event_t ev[8];
    for (int i = 0; i < 20; i++)
        synth_ingest(m, 90 + (i % 3) * 4, 10); /* 90, 94, 98, ... stays past 85 */
    /* One start; a rise in severity is an event of its own, once per level. */
    unsigned n = all_events(m, ev, 8);
    assert_int_equal(n, 2);
    assert_string_equal(kt_event_state_name(&ev[0]), "started");
    assert_int_equal(ev[0].severity, KT_SEV_MEDIUM);
    assert_string_equal(kt_event_state_name(&ev[1]), "escalated");
    assert_int_equal(ev[1].severity, KT_SEV_HIGH);
    assert_int_equal(ev[1].started_id, ev[0].id);
    assert_non_null(strstr(ev[1].message, "now high"));
    kt_mon_destroy(m);
}

static void test_resolve_with_margin(void **state)
{
    kt_mon_t *m = make_mon(NULL); /* threshold 85, margin 5 */
    kt_event_t ev[8];
    synth_ingest(m, 86, 10);
    synth_ingest(m, 99, 10); /* starts here, low severity... */
    synth_ingest(m, 99, 10); /* ...and grows to high while held */
    synth_ingest(m, 82, 10); /* inside the margin: still active */
    synth_ingest(m, 86, 10); /* back past: no second start */
    synth_ingest(m, 81, 10);
    assert_int_equal(all_events(m, ev, 8), 1);
    synth_ingest(m, 79, 10);
    assert_int_equal(all_events(m, ev, 8), 2);
    assert_int_equal(ev[1].resolved, 1);
    assert_int_equal(ev[1].started_id, ev[0].id);
    assert_true(ev[1].id > ev[0].id);
    assert_int_equal(ev[0].severity, KT_SEV_HIGH); /* (99-85)/15 at the start */
    assert_int_equal(ev[1].severity, KT_SEV_HIGH); /* the worst reached */
    assert_string_equal(ev[1].message, "CPU busy back to 79.0% (threshold 85%)");
    /* A new episode after resolution starts again. */
    synth_ingest(m, 90, 10);
    synth_ingest(m, 90, 10);
    assert_int_equal(all_events(m, ev, 8), 3);
    assert_int_equal(ev[2].resolved, 0);
    kt_mon_destroy(m);
}

static void test_unknown_values_change_nothing(void **state)
{
    kt_mon_t *m = make_mon(NULL);
    kt_event_t ev[8];
    synth_ingest(m, 95, 10);
    synth_ingest(m, NAN, 10); /* an unreadable reading in the middle of holding */
    synth_ingest(m, 95, 10);
    assert_int_equal(all_events(m, ev, 8), 1);
    for (int i = 0; i < 5; i++)
        synth_ingest(m, NAN, NAN);
    assert_int_equal(all_events(m, ev, 8), 1); /* no resolve on missing data */
    kt_mon_health_t h;
    kt_mon_health(m, &h);
    assert_int_equal(h.nactive, 1);
    kt_mon_destroy(m);
}

/* ---- severity bands ---------------------------------------------------------------- */

static void one_reading_memory(kt_mon_conf_t *c) { c->memory.hold_samples = 1; }

static void test_severity_bands(void **state)
{
    const struct {
        double value;
        kt_severity_t want;
    } cases[] = {{90.5, KT_SEV_LOW}, {93.2, KT_SEV_LOW}, {93.5, KT_SEV_MEDIUM},
                 {96.5, KT_SEV_MEDIUM}, {96.8, KT_SEV_HIGH}, {100, KT_SEV_HIGH}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kt_mon_t *m = make_mon(one_reading_memory); /* threshold 90: thirds at 93.3, 96.7 */
        kt_event_t ev[2];
        synth_ingest(m, 10, cases[i].value);
        assert_int_equal(all_events(m, ev, 2), 1);
        assert_int_equal(ev[0].type, KT_EV_MEMORY_HIGH);
        assert_int_equal(ev[0].severity, cases[i].want);
        kt_mon_destroy(m);
    }
}

/* ---- spikes -------------------------------------------------------------------------- */

static void quiet_cpu(kt_mon_conf_t *c) { c->cpu.enabled = 0; }

static void test_spike_against_baseline(void **state)
{
    kt_mon_t *m = make_mon(quiet_cpu); /* spike: 20 points, warm-up 5 */
    kt_event_t ev[8];
    synth_ingest(m, 10, 10);
    synth_ingest(m, 60, 10); /* during warm-up: not judged */
    assert_int_equal(all_events(m, ev, 8), 0);
    for (int i = 0; i < 8; i++)
        synth_ingest(m, 10, 10);
    synth_ingest(m, 55, 10);
    assert_int_equal(all_events(m, ev, 8), 1);
    assert_int_equal(ev[0].type, KT_EV_CPU_SPIKE);
    assert_true(ev[0].value == 55.0);
    /* The baseline is near 10 + the warm-up 60's fading share. */
    assert_true(ev[0].threshold > 30.0 && ev[0].threshold < 40.0);
    assert_non_null(strstr(ev[0].message, "CPU jumped to 55.0%"));
    /* Back to normal resolves it. */
    synth_ingest(m, 10, 10);
    assert_int_equal(all_events(m, ev, 8), 2);
    assert_int_equal(ev[1].resolved, 1);
    kt_mon_destroy(m);
}

static void test_small_rise_is_no_spike(void **state)
{
    kt_mon_t *m = make_mon(quiet_cpu);
    kt_event_t ev[8];
    for (int i = 0; i < 10; i++)
        synth_ingest(m, 2, 10);
    synth_ingest(m, 3, 10);  /* +50 % relative, but one point */
    synth_ingest(m, 18, 10); /* 16 points: under the 20-point minimum */
    assert_int_equal(all_events(m, ev, 8), 0);
    kt_mon_destroy(m);
}

/* ---- per filesystem and per process ---------------------------------------------- */

static const kt_mon_fs_rule_t var_override[] = {{"/var", {1, 95.0, 2.0, 1}}};
static void with_var_override(kt_mon_conf_t *c)
{
    c->disk_overrides = var_override;
    c->ndisk_overrides = 1;
}

static void test_disk_per_filesystem(void **state)
{
    kt_mon_t *m = make_mon(with_var_override);
    kt_event_t ev[8];
    const synth_fs_t fs[] = {{"/", 40}, {"/data", 90}, {"/var", 90}};
    synth_t spec = {10, 10, fs, 3, NULL, 0};
    ingest_spec(m, &spec);
    assert_int_equal(all_events(m, ev, 8), 1); /* /var's own threshold is 95 */
    assert_int_equal(ev[0].type, KT_EV_DISK_FULL);
    assert_string_equal(ev[0].subject, "/data");
    assert_string_equal(ev[0].message,
                        "/data is 90.0% full (threshold 85%): 10.0 GiB free of 100.0 GiB");
    /* /data is unmounted while full: resolved, and said so. */
    const synth_fs_t fewer[] = {{"/", 40}, {"/var", 96}};
    synth_t spec2 = {10, 10, fewer, 2, NULL, 0};
    ingest_spec(m, &spec2);
    assert_int_equal(all_events(m, ev, 8), 3);
    /* Conditions still watched are judged first; vanished ones end last. */
    assert_string_equal(ev[1].subject, "/var");
    assert_int_equal(ev[1].resolved, 0);
    assert_string_equal(ev[2].subject, "/data");
    assert_int_equal(ev[2].resolved, 1);
    assert_string_equal(ev[2].message, "/data is no longer mounted");
    const kt_event_t *var = &ev[1];
    assert_true(var->threshold == 95.0);
    kt_mon_destroy(m);
}

static void one_reading_procs(kt_mon_conf_t *c) { c->process_memory.hold_samples = 1; }

static void test_process_memory_and_exit(void **state)
{
    kt_mon_t *m = make_mon(one_reading_procs);
    kt_event_t ev[8];
    const synth_proc_t procs[] = {{42, "java", 12.0, SYNTH_MEM_TOTAL / 10 * 6},
                                  {7, "sshd", 0.5, 8 << 20},
                                  {9, "cron", 0.1, 4 << 20},
                                  {11, "bash", 0.0, 2 << 20}};
    synth_t spec = {10, 70, NULL, 0, procs, 4};
    ingest_spec(m, &spec);
    assert_int_equal(all_events(m, ev, 8), 1);
    assert_int_equal(ev[0].type, KT_EV_PROCESS_MEMORY_HIGH);
    assert_string_equal(ev[0].subject, "java (pid 42)");
    assert_string_equal(ev[0].message, "java (pid 42) uses 60.0% of memory (threshold 50%)");
    /* The event names the top three processes at that moment. */
    assert_int_equal(ev[0].ntop, 3);
    assert_int_equal(ev[0].top[0].pid, 42);
    assert_string_equal(ev[0].top[1].name, "sshd");
    assert_int_equal(ev[0].top[2].pid, 9);
    /* java exits. */
    synth_t after = {10, 10, NULL, 0, procs + 1, 3};
    ingest_spec(m, &after);
    assert_int_equal(all_events(m, ev, 8), 2);
    assert_int_equal(ev[1].resolved, 1);
    assert_string_equal(ev[1].message, "java (pid 42) has exited");
    kt_mon_destroy(m);
}

/* ---- health, clear, subscribers ------------------------------------------------------ */

/* ---- flapping ----------------------------------------------------------------------- */

static void flappy(kt_mon_conf_t *c)
{
    c->cpu_spike.enabled = 0;
    c->memory.hold_samples = 1;
    c->memory.clear_margin = 0;
}

static void test_flapping_start_and_end(void **state)
{
    (void)state;
    kt_mon_t *m = make_mon(flappy); /* memory 90 %; window 21, 20 % / 5 % */
    kt_event_t ev[64];
    /* One start and its resolution: no flapping. */
    synth_ingest(m, 10, 95);
    synth_ingest(m, 10, 50);
    unsigned n = all_events(m, ev, 64);
    assert_int_equal(n, 2);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(ev[i].flapping, 0);
    /* Up and down every reading: flapping after a few changes. */
    for (int i = 0; i < 6; i++)
        synth_ingest(m, 10, i % 2 ? 50 : 95);
    n = all_events(m, ev, 64);
    unsigned starts = 0, held = 0, at = 0;
    for (unsigned i = 0; i < n; i++) {
        if (ev[i].flapping == KT_FLAP_START) {
            starts++;
            at = i;
            assert_string_equal(kt_event_state_name(&ev[i]), "flapping_start");
            assert_non_null(strstr(ev[i].message, "memory_high is flapping"));
        }
        held += ev[i].in_flap;
        if (starts && i > at)
            assert_true(ev[i].in_flap); /* after the start, every change is held back */
    }
    assert_int_equal(starts, 1);
    assert_true(held >= 1);
    /* Settled: below 5 % takes a window of quiet readings, then one flapping_end. */
    for (int i = 0; i < 30; i++)
        synth_ingest(m, 10, 50);
    n = all_events(m, ev, 64);
    assert_int_equal(ev[n - 1].flapping, KT_FLAP_END);
    assert_non_null(strstr(ev[n - 1].message, "stopped flapping"));
    assert_non_null(strstr(ev[n - 1].message, "clear now"));
    /* A flap event is not a start in the summary. */
    kt_mon_health_t h;
    kt_mon_health(m, &h);
    assert_int_equal(h.started_total[KT_EV_MEMORY_HIGH][KT_SEV_HIGH] +
                         h.started_total[KT_EV_MEMORY_HIGH][KT_SEV_MEDIUM] +
                         h.started_total[KT_EV_MEMORY_HIGH][KT_SEV_LOW],
                     4);
    kt_mon_destroy(m);
}

static void no_flapping(kt_mon_conf_t *c)
{
    flappy(c);
    c->flap_window = 0;
}

static void test_flapping_off(void **state)
{
    (void)state;
    kt_mon_t *m = make_mon(no_flapping);
    kt_event_t ev[64];
    for (int i = 0; i < 12; i++)
        synth_ingest(m, 10, i % 2 ? 50 : 95);
    unsigned n = all_events(m, ev, 64);
    assert_int_equal(n, 12);
    for (unsigned i = 0; i < n; i++)
        assert_true(!ev[i].flapping && !ev[i].in_flap);
    kt_mon_destroy(m);
}

static void test_health_summary(void **state)
{
    kt_mon_t *m = make_mon(one_reading_memory);
    kt_mon_health_t h;
    kt_mon_health(m, &h);
    assert_string_equal(h.status, "ok");
    assert_int_equal(h.samples, 0);
    synth_ingest(m, 10, 91); /* memory, low */
    kt_mon_health(m, &h);
    assert_string_equal(h.status, "warning");
    assert_int_equal(h.nactive, 1);
    assert_string_equal(kt_event_type_name(h.active[0].type), "memory_high");
    synth_ingest(m, 10, 99); /* worsens to high */
    kt_mon_health(m, &h);
    assert_string_equal(h.status, "critical");
    synth_ingest(m, 10, 50);
    kt_mon_health(m, &h);
    assert_string_equal(h.status, "ok");
    assert_int_equal(h.nactive, 0);
    assert_int_equal(h.samples, 3);
    assert_int_equal(h.events_logged, 3); /* started, escalated, resolved */
    assert_int_equal(h.by_type[KT_EV_MEMORY_HIGH], 1); /* started events only */
    assert_int_equal(h.by_severity[KT_SEV_LOW], 1);
    kt_mon_destroy(m);
}

/* ---- across a restart ----------------------------------------------------------------- */

static json_t *kept_state;
static unsigned commits;

static void keep_state(void *baton, json_t *state)
{
    json_decref(kept_state);
    kept_state = state;
}

static void count_commits(void *baton, const kt_event_t *ev, unsigned n)
{
    /* Committed before the log has them: the log still lacks this id. */
    kt_event_t seen[8];
    kt_event_filter_t f = {-1, -1, ev[n - 1].id - 1, 8};
    assert_int_equal(kt_mon_events(baton, &f, seen, 8), 0);
    commits += n;
}

/* A first run that leaves memory_high in progress; returns its last id. */
static uint64_t first_run(void)
{
    kt_mon_t *a = make_mon(one_reading_memory);
    kt_mon_journal_t j = {count_commits, keep_state, a};
    kt_mon_set_journal(a, &j);
    commits = 0;
    synth_ingest(a, 10, 95);
    assert_int_equal(commits, 1);
    assert_non_null(kept_state);
    uint64_t last = kt_mon_last_event_id(a);
    kt_mon_destroy(a);
    return last;
}

static void test_restart_keeps_conditions(void **state)
{
    uint64_t last = first_run();
    kt_mon_t *b = make_mon(one_reading_memory);
    assert_int_equal(kt_mon_restore(b, last, kept_state), 1);
    kt_mon_health_t h;
    kt_mon_health(b, &h);
    assert_int_equal(h.nactive, 1); /* known as active before the first reading */
    kt_event_t ev[4];
    synth_ingest(b, 10, 95); /* still holds: not announced again */
    assert_int_equal(all_events(b, ev, 4), 0);
    synth_ingest(b, 10, 10); /* ends now, seen ending: an ordinary resolution */
    assert_int_equal(all_events(b, ev, 4), 1);
    assert_true(ev[0].resolved);
    assert_false(ev[0].while_down);
    assert_int_equal(ev[0].id, last + 1);
    assert_int_equal(ev[0].started_id, last);
    kt_mon_destroy(b);
}

static void test_restart_resolves_while_down(void **state)
{
    uint64_t last = first_run();
    kt_mon_t *b = make_mon(one_reading_memory);
    kt_mon_restore(b, last, kept_state);
    kt_event_t ev[4];
    synth_ingest(b, 10, 10); /* gone by the first reading after the restart */
    assert_int_equal(all_events(b, ev, 4), 1);
    assert_true(ev[0].resolved);
    assert_true(ev[0].while_down);
    assert_int_equal(ev[0].started_id, last);
    assert_non_null(strstr(ev[0].message, "while kotod was down"));
    json_t *j = kt_json_event(&ev[0]);
    assert_true(json_is_true(json_object_get(j, "while_down")));
    json_decref(j);
    /* A state from another version, or damaged, is not guessed at. */
    kt_mon_t *c = make_mon(NULL);
    json_t *junk = json_pack("{s:[{s:s, s:s}], s:s}", "conditions", "key", "x", "type", "bogus",
                             "baseline", "no");
    assert_int_equal(kt_mon_restore(c, 7, junk), 0);
    json_decref(junk);
    kt_mon_destroy(c);
    kt_mon_destroy(b);
    json_decref(kept_state);
    kept_state = NULL;
}

static void test_clear_keeps_ids_increasing(void **state)
{
    kt_mon_t *m = make_mon(one_reading_memory);
    kt_event_t ev[4];
    synth_ingest(m, 10, 95);
    synth_ingest(m, 10, 10);
    uint64_t last = kt_mon_last_event_id(m);
    assert_int_equal(last, 2);
    kt_mon_clear(m);
    assert_int_equal(all_events(m, ev, 4), 0);
    synth_ingest(m, 10, 95);
    assert_int_equal(all_events(m, ev, 4), 1);
    assert_int_equal(ev[0].id, 3);
    /* The counters behind /metrics survive a clear. */
    kt_mon_health_t h;
    kt_mon_health(m, &h);
    assert_int_equal(h.by_type[KT_EV_MEMORY_HIGH], 1);
    assert_int_equal(h.started_total[KT_EV_MEMORY_HIGH][KT_SEV_MEDIUM], 2);
    kt_mon_destroy(m);
}

typedef struct {
    unsigned calls, events;
    uint64_t last_id, last_seq;
} sub_log_t;

static void on_reading(void *baton, const kt_snap_t *snap, const kt_event_t *e, unsigned n)
{
    sub_log_t *l = baton;
    l->calls++;
    l->events += n;
    if (n)
        l->last_id = e[n - 1].id;
    l->last_seq = kt_snap_seq(snap);
}

static void test_subscribers(void **state)
{
    kt_mon_t *m = make_mon(one_reading_memory);
    sub_log_t a = {0}, b = {0};
    unsigned ida, idb;
    assert_int_equal(kt_mon_subscribe(m, on_reading, &a, &ida), APR_SUCCESS);
    assert_int_equal(kt_mon_subscribe(m, on_reading, &b, &idb), APR_SUCCESS);
    synth_ingest(m, 10, 95);
    synth_ingest(m, 10, 95); /* a reading without events is still announced */
    kt_mon_unsubscribe(m, idb);
    synth_ingest(m, 10, 10);
    assert_int_equal(a.calls, 3);
    assert_int_equal(a.events, 2);
    assert_int_equal(a.last_id, 2);
    assert_int_equal(a.last_seq, 3);
    assert_int_equal(b.calls, 2);
    kt_mon_destroy(m);
}

static void one_reading_cpu(kt_mon_conf_t *c)
{
    c->cpu.hold_samples = 1;
    c->cpu_spike.enabled = 0;
}

static void test_set_conf_keeps_conditions(void **state)
{
    kt_mon_t *m = make_mon(one_reading_cpu);
    kt_event_t ev[8];
    synth_ingest(m, 90, 10);
    assert_int_equal(all_events(m, ev, 8), 1);
    kt_mon_conf_t c;
    kt_mon_conf_defaults(&c);
    one_reading_cpu(&c);
    c.cpu.threshold = 95;
    c.event_capacity = 1; /* fixed at creation: must not shrink the log */
    assert_int_equal(kt_mon_set_conf(m, &c), APR_SUCCESS);
    synth_ingest(m, 90, 10); /* within the new margin (95 - 5): still active */
    assert_int_equal(all_events(m, ev, 8), 1);
    synth_ingest(m, 89, 10); /* below it: resolved against the new threshold */
    assert_int_equal(all_events(m, ev, 8), 2);
    assert_int_equal(ev[1].resolved, 1);
    assert_true(ev[1].threshold == 95.0);
    c.cpu.threshold = 150;
    assert_int_not_equal(kt_mon_set_conf(m, &c), APR_SUCCESS);
    kt_mon_destroy(m);
}

static void test_conf_check_names_the_field(void **state)
{
    kt_mon_conf_t c;
    char err[256];
    kt_mon_conf_defaults(&c);
    assert_int_equal(kt_mon_conf_check(&c, err, sizeof err), APR_SUCCESS);
    c.interval_ms = 50;
    assert_int_not_equal(kt_mon_conf_check(&c, err, sizeof err), APR_SUCCESS);
    assert_string_equal(err, "interval_ms must be between 100 and 86400000 (got 50)");
    kt_mon_conf_defaults(&c);
    c.memory.clear_margin = 95;
    assert_int_not_equal(kt_mon_conf_check(&c, err, sizeof err), APR_SUCCESS);
    assert_string_equal(err,
                        "memory.clear_margin must be between 0 and the threshold 90 (got 95)");
    kt_mon_t *m;
    assert_int_not_equal(kt_mon_create(&m, &c, NULL, root), APR_SUCCESS);
}

/* ---- checks ------------------------------------------------------------------------- */

static const kt_mon_check_t web_checks[] = {
    {"web", "process", "nginx", NULL, NULL, 1, 2, 2, NULL},
    {"db", "process", NULL, "kt-test-db.pid", NULL, 1, 0, 1, NULL},
};

static void with_checks(kt_mon_conf_t *c)
{
    no_spikes(c);
    c->cpu.enabled = c->memory.enabled = c->process_memory.enabled = 0;
    c->checks = web_checks;
    c->nchecks = 2;
}

static void write_pidfile(const char *text)
{
    FILE *f = fopen("kt-test-db.pid", "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static unsigned events_of(kt_mon_t *m, kt_event_type_t type, kt_event_t *out, unsigned max)
{
    kt_event_filter_t f = {(int)type, -1, 0, 0};
    return kt_mon_events(m, &f, out, max);
}

static void test_process_checks(void **state)
{
    write_pidfile("77\n");
    kt_mon_t *m = make_mon(with_checks);
    kt_event_t ev[8];
    const synth_proc_t up[] = {{50, "nginx", 2.0, 10 << 20}, {51, "nginx", 1.0, 20 << 20},
                               {77, "postgres", 0.5, 8 << 20}};
    const synth_proc_t db_only[] = {{77, "postgres", 0.5, 8 << 20}};
    const synth_proc_t back[] = {{60, "nginx", 1.0, 10 << 20}, {77, "postgres", 0.5, 8 << 20}};
    const synth_proc_t three[] = {{60, "nginx", 1, 1 << 20}, {61, "nginx", 1, 1 << 20},
                                  {62, "nginx", 1, 1 << 20}, {77, "postgres", 0.5, 8 << 20}};
    synth_t s_up = {10, 10, NULL, 0, up, 3}, s_down = {10, 10, NULL, 0, db_only, 1},
            s_back = {10, 10, NULL, 0, back, 2}, s_three = {10, 10, NULL, 0, three, 4};
    ingest_spec(m, &s_up);
    assert_int_equal(all_events(m, ev, 8), 0);
    ingest_spec(m, &s_down); /* one reading down: held, not yet an event */
    assert_int_equal(all_events(m, ev, 8), 0);
    ingest_spec(m, &s_down);
    assert_int_equal(events_of(m, KT_EV_PROCESS_DOWN, ev, 8), 1);
    assert_string_equal(ev[0].subject, "web");
    assert_int_equal(ev[0].severity, KT_SEV_HIGH); /* none of the one wanted runs */
    assert_int_equal(ev[0].ntop, 0);
    assert_string_equal(ev[0].message, "check web: no process named nginx runs (1..2 wanted)");
    ingest_spec(m, &s_back);
    assert_int_equal(events_of(m, KT_EV_PROCESS_DOWN, ev, 8), 2);
    assert_int_equal(ev[1].resolved, 1);
    assert_int_equal(ev[1].ntop, 1); /* the process found is the evidence */
    assert_int_equal(ev[1].top[0].pid, 60);
    assert_non_null(strstr(ev[1].message, "1 process named nginx runs"));
    assert_non_null(strstr(ev[1].message, "restarted 1 time since kotod started"));
    ingest_spec(m, &s_three);
    ingest_spec(m, &s_three);
    assert_int_equal(events_of(m, KT_EV_PROCESS_COUNT, ev, 8), 1);
    assert_int_equal(ev[0].value, 3);
    assert_int_equal(ev[0].threshold, 2);
    assert_int_equal(ev[0].ntop, 3);

    /* The pidfile now names a pid that is not there: db is down at once. */
    write_pidfile("78\n");
    ingest_spec(m, &s_three);
    assert_int_equal(events_of(m, KT_EV_PROCESS_DOWN, ev, 8), 3);
    assert_string_equal(ev[2].subject, "db");
    assert_string_equal(ev[2].message, "check db: no process from kt-test-db.pid runs (at least 1 wanted)");
    remove("kt-test-db.pid");
    kt_mon_destroy(m);
}

static void test_posted_events(void **state)
{
    kt_mon_t *m = make_mon(with_checks);
    kt_event_t e, ev[8];
    memset(&e, 0, sizeof e);
    e.type = KT_EV_REMEDIATION_GAVE_UP;
    e.severity = KT_SEV_HIGH;
    snprintf(e.subject, sizeof e.subject, "web");
    snprintf(e.message, sizeof e.message, "gave up");
    assert_int_equal(kt_mon_post_event(m, &e), APR_SUCCESS);
    assert_int_equal(events_of(m, KT_EV_REMEDIATION_GAVE_UP, ev, 8), 0); /* with the next reading */
    synth_ingest(m, 10, 10);
    assert_int_equal(events_of(m, KT_EV_REMEDIATION_GAVE_UP, ev, 8), 1);
    assert_true(ev[0].id >= 1);
    assert_string_equal(ev[0].message, "gave up");
    for (unsigned i = 0; i < KT_MON_MAX_POSTED; i++)
        assert_int_equal(kt_mon_post_event(m, &e), APR_SUCCESS);
    assert_int_equal(kt_mon_post_event(m, &e), KT_EUNAVAIL); /* bounded */
    kt_mon_destroy(m);
}

static void test_check_conf_refused(void **state)
{
    kt_mon_conf_t c;
    char err[256];
    kt_mon_conf_defaults(&c);
    kt_mon_check_t bad[] = {{"a", "process", NULL, NULL, NULL, 1, 0, 1, NULL}};
    c.checks = bad;
    c.nchecks = 1;
    assert_int_equal(kt_mon_conf_check(&c, err, sizeof err), KT_ECONF);
    assert_non_null(strstr(err, "needs process"));
    kt_mon_check_t kind[] = {{"a", "port", "x", NULL, NULL, 1, 0, 1, NULL}};
    c.checks = kind;
    assert_int_equal(kt_mon_conf_check(&c, err, sizeof err), KT_ECONF);
    assert_non_null(strstr(err, "unknown kind 'port'"));
    kt_mon_check_t twice[] = {{"a", "process", "x", NULL, NULL, 1, 0, 1, NULL}, {"a", "process", "y", NULL, NULL, 1, 0, 1, NULL}};
    c.checks = twice;
    c.nchecks = 2;
    assert_int_equal(kt_mon_conf_check(&c, err, sizeof err), KT_ECONF);
    assert_non_null(strstr(err, "two checks are named a"));
    kt_mon_check_t range[] = {{"a", "process", "x", NULL, NULL, 3, 2, 1, NULL}};
    c.checks = range;
    c.nchecks = 1;
    assert_int_equal(kt_mon_conf_check(&c, err, sizeof err), KT_ECONF);
    assert_non_null(strstr(err, "below min"));
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_starts_after_hold),
        cmocka_unit_test(test_message_shows_the_threshold_as_set),
        cmocka_unit_test(test_hold_resets_when_condition_breaks),
        cmocka_unit_test(test_no_repeat_while_held),
        cmocka_unit_test(test_resolve_with_margin),
        cmocka_unit_test(test_unknown_values_change_nothing),
        cmocka_unit_test(test_severity_bands),
        cmocka_unit_test(test_spike_against_baseline),
        cmocka_unit_test(test_small_rise_is_no_spike),
        cmocka_unit_test(test_disk_per_filesystem),
        cmocka_unit_test(test_process_memory_and_exit),
        cmocka_unit_test(test_health_summary),
        cmocka_unit_test(test_flapping_start_and_end),
        cmocka_unit_test(test_flapping_off),
        cmocka_unit_test(test_restart_keeps_conditions),
        cmocka_unit_test(test_restart_resolves_while_down),
        cmocka_unit_test(test_clear_keeps_ids_increasing),
        cmocka_unit_test(test_subscribers),
        cmocka_unit_test(test_set_conf_keeps_conditions),
        cmocka_unit_test(test_conf_check_names_the_field),
        cmocka_unit_test(test_process_checks),
        cmocka_unit_test(test_posted_events),
        cmocka_unit_test(test_check_conf_refused),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(root);
    apr_terminate();
    return failed;
}
