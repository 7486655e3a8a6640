/*
 * bench_history.c - how long a chart takes from a full history: fills a
 * database with DAYS days of synthetic readings at 1 s (CPU total and two
 * cores, memory, swap, three load averages: eight series, flushed every
 * simulated hour), reopens it (the readings older than the raw tier's 48 h
 * go, as in kotod), then times kt_store_history for 30 days, 7 days, 24
 * hours and 1 hour at 500 points (and 29 days at 5000, from the minutes): the server's own time for a chart, the
 * HTTP frontend aside. Prints p50, p99 and max in ms, and the file's size.
 *
 *   bench_history [-d DAYS] [-n QUERIES] [-p DIR]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bench_util.h"
#include "store_internal.h"

static void reading(kt_store_t *s, int64_t t_ms, unsigned i)
{
    kt_sample_t x;
    kt_cpu_t cores[2];
    memset(&x, 0, sizeof x);
    memset(cores, 0, sizeof cores);
    /* A daily rhythm with noise, like a server's. */
    double day = sin((double)(t_ms % 86400000) / 86400000.0 * 6.283);
    x.time = apr_time_from_msec(t_ms);
    x.elapsed_s = 1.0;
    x.cpu.busy_pct = 30 + 20 * day + (rand() % 100) / 10.0;
    cores[0].busy_pct = x.cpu.busy_pct + (rand() % 50) / 10.0;
    cores[1].busy_pct = x.cpu.busy_pct - (rand() % 50) / 10.0;
    x.cores = cores;
    x.ncores = 2;
    x.mem.used_pct = 60 + 5 * day + (i % 100) / 100.0;
    x.mem.swap_used_pct = 2.5;
    x.load1 = 1 + day + (rand() % 100) / 100.0;
    x.load5 = 1 + day;
    x.load15 = 1 + day * 0.9;
    x.procs_total = x.threads_total = KT_UNKNOWN_U64;
    for (int k = 0; k < KT_PSI__COUNT; k++)
        x.pressure[k].some_avg60_pct = NAN;
    kt_store_record(s, &x, 1000, 0);
}

int main(int argc, char **argv)
{
    unsigned days = 30, queries = 50;
    const char *dir = "/tmp";
    int opt;
    while ((opt = getopt(argc, argv, "d:n:p:")) != -1) {
        if (opt == 'd')
            days = (unsigned)atoi(optarg);
        else if (opt == 'n')
            queries = (unsigned)atoi(optarg);
        else if (opt == 'p')
            dir = optarg;
        else {
            fprintf(stderr, "usage: %s [-d DAYS] [-n QUERIES] [-p DIR]\n", argv[0]);
            return 2;
        }
    }
    apr_initialize();
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    const char *path = apr_psprintf(pool, "%s/kt-bench-history-%d.db", dir, (int)getpid());
    kt_store_opts_t o = {.path = path};
    kt_store_t *s;
    if (kt_store_open(&s, &o, pool) != APR_SUCCESS) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    int64_t now = apr_time_as_msec(apr_time_now());
    int64_t t0 = now - (int64_t)days * 86400000;
    double f0 = kt_bench_now_ms();
    unsigned i = 0;
    for (int64_t t = t0; t < now; t += 1000, i++) {
        reading(s, t, i);
        if (i % 3600 == 3599)
            kt__hist_flush(s, 0);
    }
    kt_store_close(s);
    fprintf(stderr, "filled %u days (%u readings) in %.1f s\n", days, i,
            (kt_bench_now_ms() - f0) / 1000);
    if (kt_store_open(&s, &o, pool) != APR_SUCCESS)
        return 1;
    /* Right after the start, the store thread deletes the readings past the
     * raw tier's 48 h, a bounded batch at a time; a query waits for the
     * batch in progress. Shown apart, then the steady state is timed. */
    json_t *first = NULL;
    double f1 = kt_bench_now_ms();
    kt_store_history(s, "cpu", apr_time_from_msec(now - 30 * 86400000LL), apr_time_from_msec(now),
                     500, &first);
    double first_ms = kt_bench_now_ms() - f1;
    json_decref(first);
    sleep(3);
    struct stat st;
    stat(path, &st);
    printf("| range | tier | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
    const struct {
        const char *name;
        int64_t ms;
        unsigned points;
    } ranges[] = {{"30 d", 30 * 86400000LL, 500}, {"29 d in 5000 points", 29 * 86400000LL, 5000},
                  {"7 d", 7 * 86400000LL, 500},   {"24 h", 86400000LL, 500},
                  {"1 h", 3600000LL, 500}};
    double *ms = malloc(sizeof *ms * queries);
    for (size_t r = 0; r < sizeof ranges / sizeof *ranges; r++) {
        char tier[8] = "?";
        for (unsigned q = 0; q < queries; q++) {
            json_t *j = NULL;
            double a = kt_bench_now_ms();
            apr_status_t rc = kt_store_history(s, "cpu", apr_time_from_msec(now - ranges[r].ms),
                                               apr_time_from_msec(now), ranges[r].points, &j);
            ms[q] = kt_bench_now_ms() - a;
            if (rc != APR_SUCCESS) {
                fprintf(stderr, "query failed: %d\n", rc);
                return 1;
            }
            snprintf(tier, sizeof tier, "%s", json_string_value(json_object_get(j, "tier")));
            json_decref(j);
        }
        qsort(ms, queries, sizeof *ms, kt_bench_by_value);
        printf("| %s | %s | %.2f | %.2f | %.2f |\n", ranges[r].name, tier, ms[queries / 2],
               ms[(queries * 99) / 100], ms[queries - 1]);
    }
    printf("\nfirst 30-day query right after the start (trim in progress): %.2f ms\n", first_ms);
    printf("koto.db after the raw tier's trim: %.1f MiB for %u days of 8 series\n",
           (double)st.st_size / 1048576.0, days);
    kt_store_close(s);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t k = 0; k < 3; k++)
        unlink(apr_pstrcat(pool, path, suffixes[k], NULL));
    free(ms);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
