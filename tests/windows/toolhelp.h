/*
 * toolhelp.h - the Windows backend's old process table, kept as the
 * reference the new one (platform/windows/proc.c, one
 * NtQuerySystemInformation call) is compared with: in test_plat_win.c for
 * its values, in bench/windows/bench_procs.c for its cost. Test-only.
 */
#ifndef KT_TEST_TOOLHELP_H
#define KT_TEST_TOOLHELP_H

#include "win.h"

/* What platform/windows/proc.c did before: a toolhelp snapshot for pid,
 * parent, image name and thread count; OpenProcess + GetProcessMemoryInfo
 * (working set) and GetProcessTimes per process; the top lists' image paths.
 * Same contract as kt__win_read_procs (runs inside a reading of p). */
void kt_test_toolhelp_read_procs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool);

/* One reading of the process table alone, as kt_plat_sample would make it,
 * with read (kt__win_read_procs or the reference) and elapsed_s assumed
 * since the previous one; *s lives in pool. */
void kt_test_read_table(kt_plat_t *p, kt_sample_t *s, double elapsed_s,
                        void (*read)(kt_plat_t *, kt_sample_t *, apr_pool_t *), apr_pool_t *pool);

#endif
