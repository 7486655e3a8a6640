/*
 * bench_conditions.c - what conditions written in Lua add to a tick.
 *
 * A tick is one reading of this machine (kt_plat_sample on /proc and /sys)
 * and the detectors over it. The figure is the time kt_rules_conditions
 * takes for N conditions (the shipped ones plus generated ones: host-wide,
 * per filesystem and per process matched by a pattern, the kinds a user
 * writes) against the time of the reading itself, both medians over the
 * same live readings. Goal (the conditions issue): 20 conditions at most
 * 10 % of the tick's time.
 *
 *   bench_conditions [-n RUNS] [-c CONDITIONS] [-l LUA_DIR] [-P]
 *
 * -P: no per-process condition (the reading then goes to Lua without the
 * process table, which is most of its size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_file_io.h>

#include "bench_util.h"
#include "kt_plat.h"
#include "kt_rules.h"

/* A mix like a user's: mostly host-wide, some per filesystem, a few per process. */
static const char *const kinds[] = {
    "value = function(r) return r.cpu.busy_pct end, above = 99, clear_below = 90, hold = 3 },\n",
    "value = function(r) return r.memory.used_pct end, above = 99, hold = 2,\n"
    "  severity = { low = 99, medium = 99.5, high = 99.9 }, message = 'memory {value:.1f}%' },\n",
    "value = function(r) local l = r.load and r.load['1'] if not l then return nil end\n"
    "  return l / r.ncpu end, above = 50 },\n",
    "each = 'filesystems', value = function(r, fs) return fs.used_pct end, above = 99.9 },\n",
    "each = 'processes', match = '^nginx', value = function(r, p)\n"
    "  return (p.rss_bytes or 0) / 1048576 end, above = 4096 },\n",
};
static int mix[] = {0, 1, 2, 0, 1, 2, 3, 0, 1, 4}; /* per ten conditions */

int main(int argc, char **argv)
{
    int runs = 50, nconds = 20, opt;
    const char *lua_dir = KT_LUA_DIR;
    while ((opt = getopt(argc, argv, "n:c:l:P")) != -1) {
        switch (opt) {
        case 'n': runs = atoi(optarg); break;
        case 'c': nconds = atoi(optarg); break;
        case 'l': lua_dir = optarg; break;
        case 'P': mix[9] = 3; break; /* no per-process condition */
        default: fprintf(stderr, "usage: bench_conditions [-n RUNS] [-c N] [-l LUA_DIR] [-P]\n"); return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    apr_initialize();
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    char dir[] = "/tmp/bench_conditions.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/conditions", dir);
    apr_dir_make(path, APR_OS_DEFAULT, pool);
    snprintf(path, sizeof path, "%s/conditions/bench.lua", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    /* The shipped conditions count among the N. */
    int extra = nconds > 3 ? nconds - 3 : 0;
    fprintf(f, "return {\n");
    for (int i = 0; i < extra; i++)
        fprintf(f, "{ name = 'c%d', %s", i, kinds[mix[i % 10]]);
    fprintf(f, "}\n");
    fclose(f);

    kt_conf_t base = {.listen = "127.0.0.1:0", .script_os = "auto"};
    kt_mon_conf_defaults(&base.mon);
    kt_rules_opts_t o = {.dir = lua_dir, .user_dir = dir};
    kt_rules_t *r;
    char err[600];
    if (kt_rules_load(&r, &o, &base, err, sizeof err) != APR_SUCCESS) {
        fprintf(stderr, "bench_conditions: %s\n", err);
        return 1;
    }
    kt_plat_opts_t popts = {"/proc", "/sys", "", 0, KT_PLAT_KEPT_FDS};
    kt_plat_t *plat;
    if (kt_plat_open(&plat, &popts, pool) != APR_SUCCESS)
        return 1;
    double *read_ms = malloc(sizeof(double) * (size_t)runs);
    double *cond_ms = malloc(sizeof(double) * (size_t)runs);
    kt_mon_verdict_t *v = malloc(sizeof *v * KT_MON_MAX_VERDICTS);
    unsigned nv = 0;
    for (int i = -2; i < runs; i++) { /* two readings to warm up (the first has no rates) */
        apr_pool_t *sp;
        apr_pool_create(&sp, pool);
        kt_sample_t s;
        double t0 = kt_bench_now_ms();
        kt_plat_sample(plat, &s, sp);
        double t1 = kt_bench_now_ms();
        nv = kt_rules_conditions(r, &s, v, KT_MON_MAX_VERDICTS);
        double t2 = kt_bench_now_ms();
        if (i >= 0) {
            read_ms[i] = t1 - t0;
            cond_ms[i] = t2 - t1;
        }
        apr_pool_destroy(sp);
        usleep(20000);
    }
    qsort(read_ms, (size_t)runs, sizeof(double), kt_bench_by_value);
    qsort(cond_ms, (size_t)runs, sizeof(double), kt_bench_by_value);
    double rm = read_ms[runs / 2], cm = cond_ms[runs / 2];
    printf("rules: %s; %d runs\n", kt_rules_summary(r, pool), runs);
    printf("%-28s %10s %10s\n", "", "median_ms", "p90_ms");
    printf("%-28s %10.3f %10.3f\n", "reading (kt_plat_sample)", rm, read_ms[runs * 9 / 10]);
    printf("%-28s %10.3f %10.3f\n", "conditions", cm, cond_ms[runs * 9 / 10]);
    printf("verdicts per reading: %u\n", nv);
    printf("conditions / (reading + conditions): %.1f %% (goal <= 10 %%)\n",
           100 * cm / (rm + cm));
    printf("conditions / 30 s interval: %.4f %%\n", 100 * cm / 30000);
    kt_rules_release(r);
    unlink(path);
    snprintf(path, sizeof path, "%s/conditions", dir);
    rmdir(path);
    rmdir(dir);
    free(read_ms);
    free(cond_ms);
    free(v);
    return 0;
}
