/* synth.h - synthetic samples for the core's tests: write the numbers a
 * test needs, leave everything else unknown, as a backend would. */
#ifndef KT_TEST_SYNTH_H
#define KT_TEST_SYNTH_H

#include "kt_mon.h"

typedef struct {
    const char *mount_point;
    double used_pct;
} synth_fs_t;

typedef struct {
    int64_t pid;
    const char *name;
    double cpu_pct;
    uint64_t rss_bytes;
} synth_proc_t;

typedef struct {
    double cpu_pct, mem_pct;
    const synth_fs_t *fs;
    unsigned nfs;
    const synth_proc_t *procs;
    unsigned nprocs;
} synth_t;

#define SYNTH_MEM_TOTAL (16ull << 30)

/* Builds a sample in a new unmanaged pool (*pool), ready for kt_mon_ingest. */
kt_sample_t *synth_sample(const synth_t *spec, apr_pool_t **pool);
/* Shorthand: only CPU and memory, no filesystems or processes. */
void synth_ingest(kt_mon_t *m, double cpu_pct, double mem_pct);

#endif
