/*
 * bench_commit.c - how long an event takes to become durable: the time from
 * kt_store_put_events to its return (the store thread's transaction, WAL,
 * synchronous=NORMAL), one event per call as a reading raises them, on a
 * real file in DIR. Goal (the store issue): p99 <= 5 ms on this disk.
 *
 *   bench_commit [-n EVENTS] [-d DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bench_util.h"
#include "kt_store.h"

int main(int argc, char **argv)
{
    int n = 2000, opt;
    const char *dir = "/var/tmp";
    while ((opt = getopt(argc, argv, "n:d:")) != -1) {
        if (opt == 'n')
            n = atoi(optarg);
        else if (opt == 'd')
            dir = optarg;
    }
    if (n < 10)
        n = 10;
    apr_initialize();
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    const char *path = apr_psprintf(pool, "%s/kt-bench-commit-%d.db", dir, (int)getpid());
    kt_store_opts_t o = {.path = path};
    kt_store_t *s;
    if (kt_store_open(&s, &o, pool) != APR_SUCCESS) {
        fprintf(stderr, "bench_commit: cannot open %s\n", path);
        return 1;
    }
    kt_store_info_t info;
    kt_store_info(s, &info);
    if (info.state != KT_STORE_OK) {
        fprintf(stderr, "bench_commit: store %s: %s\n", kt_store_state_name(info.state), info.message);
        return 1;
    }
    double *ms = malloc(sizeof *ms * (size_t)n);
    kt_event_t e;
    memset(&e, 0, sizeof e);
    e.type = KT_EV_DISK_FULL;
    e.ntop = KT_EVENT_TOP;
    snprintf(e.subject, sizeof e.subject, "/var");
    snprintf(e.message, sizeof e.message, "/var is 91.5%% full (threshold 85%%): 4.2 GiB free of 50 GiB");
    for (int i = 0; i < n; i++) {
        e.id = (uint64_t)i + 1;
        e.time = apr_time_now();
        double t0 = kt_bench_now_ms();
        kt_store_put_events(s, &e, 1);
        ms[i] = kt_bench_now_ms() - t0;
    }
    kt_store_close(s);
    qsort(ms, (size_t)n, sizeof *ms, kt_bench_by_value);
    printf("events=%d dir=%s p50_ms=%.3f p99_ms=%.3f max_ms=%.3f goal_p99_ms=5 met=%s\n", n, dir,
           ms[n / 2], ms[n * 99 / 100], ms[n - 1], ms[n * 99 / 100] <= 5 ? "yes" : "no");
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
        remove(apr_pstrcat(pool, path, suffixes[i], NULL));
    free(ms);
    apr_terminate();
    return 0;
}
