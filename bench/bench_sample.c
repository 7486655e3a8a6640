/*
 * bench_sample.c - CPU time of one full kt_plat_sample() against a bare loop
 * that only reads the same files.
 *
 *   A: kt_plat_sample() on /proc into a fresh subpool, destroyed right after;
 *      the handle keeps its descriptors between readings (the default budget).
 *   B: the "raw" reference (raw_reads.c): openat()/read() of exactly the
 *      files A reads, into one fixed buffer, on a dirfd of /proc;
 *      opendir/readdir of /proc for the pids; statvfs of the same mount
 *      points; faccessat of /sys/block/<name> for the same diskstats lines.
 *      It parses nothing. The lists it cannot know without parsing are
 *      taken once, before timing, from the last warm-up sample.
 *
 * The two alternate in blocks, A B B A A B ..., so slow drift of a shared VM
 * weighs on both alike. Time is CPU time of this process
 * (CLOCK_PROCESS_CPUTIME_ID), not wall time.
 *
 * Output: one line of key=value pairs on stdout, e.g.
 *   procs=63 raw_procs=63 n=200 ... sample_us=812.3 raw_us=701.2 ratio=1.158
 *   sample_med_us=... raw_med_us=... ratio_med=... cmdlines=9 mounts=3 disks=2
 * sample_us and raw_us are CPU microseconds per reading over all iterations,
 * ratio their quotient; *_med are medians over the rounds (a round is one
 * block of each side), ratio_med the median of the per-round quotients.
 *
 * -s MS sleeps between readings so caches go cold, as in kotod; -u samples
 * into an unmanaged pool per reading on a kept allocator, as kt_mon_tick does; -o sample|raw runs
 * one side only, untimed (to compare the two with strace -c).
 */
#include "bench_util.h"
#include "raw_reads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>

/* Sleeps; costs a few microseconds of CPU, the same on both sides. */
static void nap(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void die(const char *what, apr_status_t st)
{
    char err[128];
    fprintf(stderr, "bench_sample: %s: %s\n", what, apr_strerror(st, err, sizeof err));
    exit(1);
}

/* ---- A: the real thing --------------------------------------------------------------- */

static unsigned last_nprocs;
static int unmanaged; /* -u: an unmanaged pool on a kept allocator, as kt_mon_tick makes */
static apr_allocator_t *kept;

static void sample_once(kt_plat_t *plat, apr_pool_t *parent)
{
    apr_status_t st = kt_bench_sample_once(plat, kept, parent, &last_nprocs);
    if (st != APR_SUCCESS)
        die("kt_plat_sample", st);
}

/* ---- driver ------------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: bench_sample [-n ITERATIONS] [-b BLOCK] [-s MS] [-u] [-o sample|raw]\n"
                    "  -n  iterations of each side (default 200)\n"
                    "  -b  iterations per block; the sides alternate by block (default 10)\n"
                    "  -s  sleep MS between iterations, as kotod does between readings:\n"
                    "      caches go cold (default 0: back to back)\n"
                    "  -u  sample into an unmanaged pool per reading, on an allocator kept\n"
                    "      between readings, as kotod's kt_mon_tick does, instead of a\n"
                    "      subpool of one parent\n"
                    "  -o  run one side only, untimed output (for strace -c)\n");
    exit(2);
}

int main(int argc, const char *const *argv)
{
    unsigned n = 200, block = 10, gap_ms = 0;
    const char *only = NULL;
    int opt;
    while ((opt = getopt(argc, (char *const *)argv, "n:b:s:uo:h")) != -1) {
        switch (opt) {
        case 'n': n = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'b': block = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': gap_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'u': unmanaged = 1; break;
        case 'o': only = optarg; break;
        default: usage();
        }
    }
    if (n == 0 || block == 0 || optind != argc ||
        (only && strcmp(only, "sample") != 0 && strcmp(only, "raw") != 0))
        usage();

    apr_status_t st = apr_app_initialize(&argc, &argv, NULL);
    if (st != APR_SUCCESS)
        die("apr_app_initialize", st);
    atexit(apr_terminate);
    apr_pool_t *root;
    apr_pool_create(&root, NULL);
    if (unmanaged && !(kept = kt_bench_kept_allocator()))
        die("apr_allocator_create", APR_ENOMEM);

    kt_plat_opts_t popts = {"/proc", "/sys", "", 0, KT_PLAT_KEPT_FDS};
    kt_plat_t *plat;
    if ((st = kt_plat_open(&plat, &popts, root)) != APR_SUCCESS)
        die("kt_plat_open /proc", st);

    /* Warm up (the second reading is the first with rates, as in kotod),
     * and learn from the last one what the raw loop must read. */
    apr_pool_t *warm;
    apr_pool_create(&warm, root);
    kt_sample_t s;
    for (int i = 0; i < 2; i++)
        if ((st = kt_plat_sample(plat, &s, warm)) != APR_SUCCESS)
            die("kt_plat_sample", st);
    static kt_bench_raw_t raw; /* 64 KiB of lists: not on the stack */
    if (kt_bench_raw_setup(&raw, &s, root) != 0)
        die("open /proc", APR_FROM_OS_ERROR(errno));
    last_nprocs = s.nprocs;
    kt_bench_raw_pass(&raw);
    kt_bench_raw_pass(&raw);

    if (only) {
        for (unsigned i = 0; i < n; i++) {
            if (strcmp(only, "sample") == 0)
                sample_once(plat, root);
            else
                kt_bench_raw_pass(&raw);
        }
        printf("only=%s n=%u procs=%u cmdlines=%u mounts=%u disks=%u\n", only, n,
               last_nprocs, raw.ncmdline, raw.nmounts, raw.ndisks);
        return 0;
    }

    unsigned rounds = (n + block - 1) / block;
    double *ratio = calloc(rounds, sizeof *ratio), *a_us = calloc(rounds, sizeof *a_us),
           *b_us = calloc(rounds, sizeof *b_us);
    if (!ratio || !a_us || !b_us)
        die("calloc", APR_ENOMEM);
    double a_total = 0, b_total = 0;
    unsigned long procs_sum = 0, raw_procs_sum = 0;
    for (unsigned r = 0, done = 0; r < rounds; r++) {
        unsigned k = n - done < block ? n - done : block;
        double ta = 0, tb = 0;
        /* A B, then B A: a linear drift lands on both sides equally. */
        for (int side = 0; side < 2; side++) {
            int run_a = (side == 0) == (r % 2 == 0);
            double t0 = kt_bench_cpu_now();
            for (unsigned i = 0; i < k; i++) {
                if (run_a)
                    sample_once(plat, root);
                else
                    kt_bench_raw_pass(&raw);
                if (gap_ms)
                    nap(gap_ms);
            }
            double dt = kt_bench_cpu_now() - t0;
            if (run_a) {
                ta = dt;
                procs_sum += last_nprocs;
            } else {
                tb = dt;
                raw_procs_sum += raw.raw_procs;
            }
        }
        a_total += ta;
        b_total += tb;
        a_us[r] = ta * 1e6 / k;
        b_us[r] = tb * 1e6 / k;
        ratio[r] = ta / tb;
        done += k;
    }

    double sample_us = a_total * 1e6 / n, raw_us = b_total * 1e6 / n;
    double ratio_med = kt_bench_median(ratio, rounds);
    printf("procs=%.0f raw_procs=%.0f n=%u block=%u gap_ms=%u unmanaged=%d sample_us=%.1f raw_us=%.1f ratio=%.3f "
           "sample_med_us=%.1f raw_med_us=%.1f ratio_med=%.3f cmdlines=%u mounts=%u "
           "disks=%u\n",
           (double)procs_sum / rounds, (double)raw_procs_sum / rounds, n, block, gap_ms, unmanaged, sample_us,
           raw_us, a_total / b_total, kt_bench_median(a_us, rounds),
           kt_bench_median(b_us, rounds), ratio_med,
           raw.ncmdline, raw.nmounts, raw.ndisks);
    free(ratio);
    free(a_us);
    free(b_us);
    kt_plat_close(plat);
    if (kept)
        apr_allocator_destroy(kept);
    return 0;
}
