/*
 * bench_tick.c - CPU time of one whole tick of kotod's monitor against the
 * raw reads of the same files, both back to back, in one process.
 *
 *   A: kt_mon_tick() on a monitor wired as kotod wires it: the shipped Lua
 *      conditions, the detectors, the event log and the store (a real
 *      SQLite file in a temporary directory: the events' journal and the
 *      history of every reading).
 *   S: kt_plat_sample() alone, into an unmanaged pool on a kept allocator
 *      as kt_mon_tick does: what the reading itself costs, so that A - S is
 *      what else a tick does. The monitor reads no command line unless a
 *      check needs one, and neither does S.
 *   B: the raw reads of the same files (raw_reads.c), parsing nothing.
 *
 * The sides run in blocks, each round in a rotated order (A S B, S B A,
 * B A S, ...), so slow drift of a shared VM weighs on all alike. A and S
 * are the sampling thread's CPU time in their blocks (CLOCK_THREAD_CPUTIME_ID).
 * Whatever the other threads spend over the run (the store's thread writing
 * the history and the events) is there only because of the ticks, so A is
 * charged all of it, spread over its ticks. B is the thread's time in its blocks.
 *
 * Output: one line of key=value pairs, e.g.
 *   procs=79 n=300 block=10 conditions=1 tick_us=430.5 sample_us=316.3
 *   raw_us=831.0 other_us=50.5 tick_ratio=0.518 sample_ratio=0.381
 *   tick_ratio_med=0.472 sample_ratio_med=0.379 raw_procs=79 mounts=3 disks=2
 * tick_us includes other_us (the other threads' share per tick); *_ratio
 * are totals over all rounds against raw_us, *_ratio_med medians of the
 * per-round quotients.
 *
 *   bench_tick [-n ITERATIONS] [-b BLOCK] [-l LUA_DIR] [-c CONFIG] [-C]
 *
 * -c: a configuration file in place of the shipped one (its checks are
 * judged at every tick, and a check that names a command line makes the
 * reading read them, as in kotod). -C: the monitor without the Lua
 * conditions, to see what they cost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bench_util.h"
#include "kt_mon.h"
#include "kt_rules.h"
#include "kt_store.h"
#include "raw_reads.h"

static noreturn void die(const char *what, apr_status_t st)
{
    char err[128];
    fprintf(stderr, "bench_tick: %s: %s\n", what, apr_strerror(st, err, sizeof err));
    exit(1);
}

static double thread_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the monitor, wired as src/daemon/serve.c wires it --------------------------- */

static unsigned run_conditions(void *rules, const kt_sample_t *s, kt_mon_verdict_t *out,
                               unsigned max)
{
    return kt_rules_conditions(rules, s, out, max);
}

/* ---- S: the reading alone --------------------------------------------------------- */

static unsigned last_nprocs;
static apr_allocator_t *sample_alloc; /* kept between readings, as the monitor's */

static void sample_once(kt_plat_t *plat)
{
    apr_status_t st = kt_bench_sample_once(plat, sample_alloc, NULL, &last_nprocs);
    if (st != APR_SUCCESS)
        die("kt_plat_sample", st);
}

int main(int argc, const char *const *argv)
{
    unsigned n = 300, block = 10;
    const char *lua_dir = KT_LUA_DIR, *config = NULL;
    int opt, with_conditions = 1, bad = 0;
    while ((opt = getopt(argc, (char *const *)argv, "n:b:l:c:C")) != -1) {
        switch (opt) {
        case 'n': n = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'b': block = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'l': lua_dir = optarg; break;
        case 'c': config = optarg; break;
        case 'C': with_conditions = 0; break;
        default: bad = 1;
        }
    }
    if (bad || n == 0 || block == 0 || optind != argc) {
        fprintf(stderr, "usage: bench_tick [-n ITERATIONS] [-b BLOCK] [-l LUA_DIR] [-c CONFIG] [-C]\n");
        return 2;
    }
    apr_status_t st = apr_app_initialize(&argc, &argv, NULL);
    if (st != APR_SUCCESS)
        die("apr_app_initialize", st);
    atexit(apr_terminate);
    apr_pool_t *root;
    apr_pool_create(&root, NULL);

    kt_conf_t base = {.listen = "127.0.0.1:0", .script_os = "auto"};
    kt_mon_conf_defaults(&base.mon);
    kt_rules_opts_t ro = {.dir = lua_dir, .config_file = config};
    kt_rules_t *rules;
    char err[600];
    if (kt_rules_load(&rules, &ro, &base, err, sizeof err) != APR_SUCCESS) {
        fprintf(stderr, "bench_tick: %s\n", err);
        return 1;
    }
    const kt_conf_t *conf = kt_rules_conf(rules);

    kt_plat_opts_t popts = {"/proc", "/sys", "", 0, KT_PLAT_KEPT_FDS};
    kt_plat_t *plat, *plat_s;
    if ((st = kt_plat_open(&plat, &popts, root)) != APR_SUCCESS ||
        (st = kt_plat_open(&plat_s, &popts, root)) != APR_SUCCESS)
        die("kt_plat_open /proc", st);
    kt_plat_want_cmdlines(plat_s, 0);
    if (!(sample_alloc = kt_bench_kept_allocator()))
        die("apr_allocator_create", APR_ENOMEM);
    /* Back to back, the monitor's own CPU is far over its budget (1 % of a
     * core), and it would shed the process table every second reading: a
     * kotod reading once a second never does. Its budget is off here. */
    kt_mon_conf_t mc = conf->mon;
    mc.budget_cpu_pct = 0;
    kt_mon_t *mon;
    if ((st = kt_mon_create(&mon, &mc, plat, root)) != APR_SUCCESS)
        die("kt_mon_create", st);
    if (with_conditions)
        kt_mon_set_conditions(mon, run_conditions, rules);

    char dir[] = "/tmp/bench_tick.XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", APR_FROM_OS_ERROR(errno));
    kt_store_opts_t so = {.path = apr_pstrcat(root, dir, "/koto.db", NULL)};
    kt_store_t *store;
    if ((st = kt_store_open(&store, &so, root)) != APR_SUCCESS)
        die("kt_store_open", st);
    kt_store_info_t info;
    kt_store_info(store, &info);
    if (info.state != KT_STORE_OK) {
        fprintf(stderr, "bench_tick: the store is off: %s\n", info.message);
        return 1;
    }
    if ((st = kt_store_follow(store, mon)) != APR_SUCCESS)
        die("kt_store_follow", st);

    /* Warm up: the second reading is the first with rates, as in kotod; the
     * last sample of S's handle tells the raw loop what to read. */
    apr_pool_t *warm;
    apr_pool_create(&warm, root);
    kt_sample_t s;
    for (int i = 0; i < 3; i++) {
        if ((st = kt_mon_tick(mon)) != APR_SUCCESS)
            die("kt_mon_tick", st);
        if ((st = kt_plat_sample(plat_s, &s, warm)) != APR_SUCCESS)
            die("kt_plat_sample", st);
    }
    static kt_bench_raw_t raw; /* 64 KiB of lists: not on the stack */
    if (kt_bench_raw_setup(&raw, &s, root) != 0)
        die("open /proc", APR_FROM_OS_ERROR(errno));
    kt_bench_raw_pass(&raw);

    unsigned rounds = (n + block - 1) / block;
    double *tick_r = calloc(rounds, sizeof(double)), *sample_r = calloc(rounds, sizeof(double));
    if (!tick_r || !sample_r)
        die("calloc", APR_ENOMEM);
    double total[3] = {0, 0, 0}; /* this thread's CPU: A, S, B */
    double proc0 = kt_bench_cpu_now(), thread0 = thread_cpu_now();
    for (unsigned r = 0, done = 0; r < rounds; r++) {
        unsigned k = n - done < block ? n - done : block;
        double t[3];
        for (int i = 0; i < 3; i++) {
            int side = (int)((r + (unsigned)i) % 3);
            double t0 = thread_cpu_now();
            for (unsigned x = 0; x < k; x++) {
                if (side == 0) {
                    if ((st = kt_mon_tick(mon)) != APR_SUCCESS)
                        die("kt_mon_tick", st);
                } else if (side == 1) {
                    sample_once(plat_s);
                } else {
                    kt_bench_raw_pass(&raw);
                }
            }
            t[side] = thread_cpu_now() - t0;
            total[side] += t[side];
        }
        tick_r[r] = t[0] / t[2];
        sample_r[r] = t[1] / t[2];
        done += k;
    }
    /* Every other thread's time in the run is the ticks' doing. */
    double other = (kt_bench_cpu_now() - proc0) - (thread_cpu_now() - thread0);
    double tick_us = (total[0] + other) * 1e6 / n, sample_us = total[1] * 1e6 / n,
           raw_us = total[2] * 1e6 / n, other_us = other * 1e6 / n;
    /* The per-round quotients leave the other threads out: they are not
     * tied to a round. */
    printf("procs=%u n=%u block=%u conditions=%d tick_us=%.1f sample_us=%.1f raw_us=%.1f other_us=%.1f "
           "tick_ratio=%.3f sample_ratio=%.3f tick_ratio_med=%.3f sample_ratio_med=%.3f "
           "raw_procs=%u mounts=%u disks=%u\n",
           last_nprocs, n, block, with_conditions, tick_us, sample_us, raw_us, other_us, tick_us / raw_us,
           sample_us / raw_us, kt_bench_median(tick_r, rounds), kt_bench_median(sample_r, rounds),
           raw.raw_procs,
           raw.nmounts, raw.ndisks);

    kt_mon_destroy(mon);
    kt_store_close(store);
    kt_rules_release(rules);
    apr_allocator_destroy(sample_alloc);
    const char *const files[] = {"/koto.db", "/koto.db-wal", "/koto.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(apr_pstrcat(root, dir, files[i], NULL));
    rmdir(dir);
    free(tick_r);
    free(sample_r);
    return 0;
}
