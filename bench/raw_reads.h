/*
 * raw_reads.h - the two sides bench_sample and bench_tick time: the
 * reference a reading is measured against, a bare loop that opens and reads
 * to the end the same /proc and /sys files as kt_plat_sample, parsing
 * nothing; and one reading taken as kotod takes it.
 *
 * Which pids get their cmdline read, which mounts are statvfs'ed and which
 * diskstats names are checked cannot be known without parsing, so
 * kt_bench_raw_setup learns them once, before timing, from a sample and
 * /proc/diskstats.
 */
#ifndef KT_BENCH_RAW_READS_H
#define KT_BENCH_RAW_READS_H

#include "kt_plat.h"

#include <apr_allocator.h>

#define KT_BENCH_MAX_LIST 4096

typedef struct {
    int procfd, sysfd;
    const char *mountinfo;      /* "1/mountinfo" or "self/mountinfo", as the sampler picks */
    char *cmdline_rel[2 * 100]; /* "<pid>/cmdline" of the sample's top lists */
    int64_t cmdline_pid[2 * 100];
    unsigned ncmdline;
    const char *mounts[KT_BENCH_MAX_LIST]; /* statvfs'ed mount points */
    unsigned nmounts;
    char *disk_rel[KT_BENCH_MAX_LIST]; /* "block/<name>" for every diskstats line checked */
    unsigned ndisks;
    unsigned raw_procs; /* <pid>/stat files read by the last pass */
    unsigned found;     /* mounts, disks and pressure files that answered in the last pass */
} kt_bench_raw_t;

/* Learns the lists from s (the last of a few warm-up samples); 0 or -1 with
 * errno when /proc cannot be opened. r is large: keep it off the stack. */
int kt_bench_raw_setup(kt_bench_raw_t *r, const kt_sample_t *s, apr_pool_t *pool);

/* One pass over every file, as one reading reads them. */
void kt_bench_raw_pass(kt_bench_raw_t *r);

/* An allocator kept between readings, with the monitor's max_free
 * (src/core/monitor.c); NULL when it cannot be had. */
apr_allocator_t *kt_bench_kept_allocator(void);

/* One reading into a pool destroyed after it: an unmanaged pool on kept,
 * as kt_mon_tick takes it, or, with kept NULL, a subpool of parent. *nprocs
 * gets the processes it saw. */
apr_status_t kt_bench_sample_once(kt_plat_t *p, apr_allocator_t *kept, apr_pool_t *parent,
                                  unsigned *nprocs);

/* CPU time of this process, every thread, in seconds. */
double kt_bench_cpu_now(void);

#endif
