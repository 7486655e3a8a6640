/*
 * plat_internal.h - private to platform/: OS-neutral helpers both backends use.
 * Names here are kt__plat_*; nothing outside platform/ may include this file.
 */
#ifndef KT_PLAT_INTERNAL_H
#define KT_PLAT_INTERNAL_H

#include "kt_plat.h"

/* CPU time counters of one CPU (or all), in any consistent unit (ticks, 100 ns). */
enum {
    KT__CPU_USER, KT__CPU_NICE, KT__CPU_SYSTEM, KT__CPU_IDLE, KT__CPU_IOWAIT,
    KT__CPU_IRQ, KT__CPU_SOFTIRQ, KT__CPU_STEAL, KT__CPU_NFIELDS
};
typedef struct {
    uint64_t v[KT__CPU_NFIELDS];
    unsigned known; /* bit i set when v[i] was read; 0 = this CPU is absent */
} kt__cpu_ticks_t;

/* Starts a reading: initializes s with its time, os, hostname and kernel
 * (copied into pool), and returns the pool to build this reading's state in:
 * of the two state pools, the previous-but-one reading's, cleared (the
 * previous reading's state is still needed for rates). */
apr_pool_t *kt__plat_begin(kt_sample_t *s, const char *os, const char *hostname,
                           const char *kernel, apr_pool_t *state_pool[2], int *cur_state,
                           apr_pool_t *pool);

/* Shares of each CPU state between two readings; unknown where either lacks a field. */
void kt__plat_cpu_pct(const kt__cpu_ticks_t *prev, const kt__cpu_ticks_t *cur, kt_cpu_t *out);

/* Per-second rate of a counter; NAN when unknown, when elapsed_s <= 0, or when
 * the counter went backwards (a reset: the interval's true value is unknowable). */
double kt__plat_rate(uint64_t prev, uint64_t cur, double elapsed_s);

/* 100 * part / whole, or NAN when either is unknown or whole is 0. */
double kt__plat_pct(uint64_t part, uint64_t whole);

/* Fills s->top_cpu / s->top_mem with the n busiest processes, allocated in pool. */
void kt__plat_rank_procs(kt_sample_t *s, unsigned n, apr_pool_t *pool);

#endif
