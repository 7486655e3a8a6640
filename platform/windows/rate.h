/*
 * rate.h - pure arithmetic of the Windows backend: two raw readings in, one
 * value out. No windows.h, so tests/platform/test_win_rate.c runs it on Linux.
 * Windows times are in 100 ns units (FILETIME ticks).
 */
#ifndef KT_PLAT_WIN_RATE_H
#define KT_PLAT_WIN_RATE_H

#include "plat_internal.h"

#define KT__WIN_TICKS_PER_S 10000000ull
/* FILETIME ticks between 1601-01-01 and 1970-01-01. */
#define KT__WIN_EPOCH_DIFF 116444736000000000ull

/* GetSystemTimes/SPPI counters into CPU ticks: the kernel time includes the
 * idle time, so system = kernel - idle. Only user/system/idle become known. */
void kt__win_cpu_ticks(uint64_t idle, uint64_t kernel, uint64_t user, kt__cpu_ticks_t *out);

/* CPU % of one core a process used between two readings of its kernel+user
 * time (100 ns); NAN when elapsed_s <= 0 or the time went backwards. */
double kt__win_proc_cpu_pct(uint64_t prev_100ns, uint64_t cur_100ns, double elapsed_s);

/* FILETIME ticks since 1601 into seconds since the Unix epoch (-1 if before 1970). */
int64_t kt__win_filetime_to_unix(uint64_t ft);

/* Boot time in Unix seconds from "now" (FILETIME ticks) and GetTickCount64 (ms). */
int64_t kt__win_boot_time(uint64_t now_ft, uint64_t uptime_ms);

/* Disk busy % from two IOCTL_DISK_PERFORMANCE readings (IdleTime and QueryTime,
 * 100 ns): 100 - idle share, clamped to 0..100; NAN when unknown. */
double kt__win_disk_busy_pct(uint64_t idle0, uint64_t query0, uint64_t idle1, uint64_t query1);

/* A PDH percentage (can exceed 100 for multi-spindle disks): clamped to 0..100;
 * NAN stays NAN. */
double kt__win_clamp_pct(double v);

/* Swap from GlobalMemoryStatusEx: the page file part of the commit limit.
 * total = page - phys, used = (page - page_avail) - (phys - phys_avail), both
 * clamped at 0; KT_UNKNOWN_U64 if the inputs are inconsistent. */
void kt__win_swap(uint64_t phys, uint64_t phys_avail, uint64_t page, uint64_t page_avail,
                  uint64_t *total, uint64_t *used);

#endif
