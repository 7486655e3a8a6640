/*
 * bench_checks.c - what process checks cost a reading: two monitors on the
 * live /proc, one without checks and one with 20 process checks (names
 * that run here and names that do not, so both paths are taken), ticked in
 * turn in one run; each tick's thread CPU time is taken, and the medians
 * compared. The goal (issue 12): at most 1.05x.
 *   Usage: bench_checks [ROUNDS]   (default 300)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <apr_general.h>

#include "bench_util.h"
#include "kt_mon.h"

static double thread_cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static kt_mon_t *monitor(const kt_mon_check_t *checks, unsigned n, apr_pool_t *pool)
{
    kt_plat_t *plat;
    kt_plat_opts_t po = {0};
    if (kt_plat_open(&plat, &po, pool) != APR_SUCCESS)
        exit(1);
    kt_mon_conf_t c;
    kt_mon_conf_defaults(&c);
    c.checks = checks;
    c.nchecks = n;
    kt_mon_t *m;
    if (kt_mon_create(&m, &c, plat, pool) != APR_SUCCESS)
        exit(1);
    return m;
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 300;
    apr_initialize();
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    static char names[20][32];
    static kt_mon_check_t checks[20];
    const char *running[] = {"bash", "sleep", "kotod", "systemd", "sshd"};
    for (unsigned i = 0; i < 20; i++) {
        if (i < 5)
            snprintf(names[i], sizeof names[i], "%s", running[i]);
        else
            snprintf(names[i], sizeof names[i], "kt-absent-%u", i);
        checks[i] = (kt_mon_check_t){.name = names[i], .kind = "process", .process = names[i],
                                     .min = i < 5 ? 0 : 1, .hold_samples = 1000};
    }
    kt_mon_t *none = monitor(NULL, 0, pool), *twenty = monitor(checks, 20, pool);
    double *a = malloc(sizeof *a * rounds), *b = malloc(sizeof *b * rounds);
    kt_mon_tick(none);
    kt_mon_tick(twenty);
    for (unsigned i = 0; i < rounds; i++) {
        double t0 = thread_cpu_ms();
        kt_mon_tick(i % 2 ? none : twenty);
        double t1 = thread_cpu_ms();
        kt_mon_tick(i % 2 ? twenty : none);
        double t2 = thread_cpu_ms();
        a[i] = i % 2 ? t1 - t0 : t2 - t1; /* none */
        b[i] = i % 2 ? t2 - t1 : t1 - t0; /* twenty */
    }
    qsort(a, rounds, sizeof *a, kt_bench_by_value);
    qsort(b, rounds, sizeof *b, kt_bench_by_value);
    double ma = a[rounds / 2], mb = b[rounds / 2];
    printf("reading, CPU ms (median of %u): no checks %.3f, 20 process checks %.3f: %.3fx\n",
           rounds, ma, mb, mb / ma);
    kt_mon_destroy(none);
    kt_mon_destroy(twenty);
    apr_terminate();
    return 0;
}
