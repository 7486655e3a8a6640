/*
 * bench_util.h - the two things every benchmark here needs: a monotonic
 * clock in milliseconds and an order for sorting samples into percentiles.
 */
#ifndef KT_BENCH_UTIL_H
#define KT_BENCH_UTIL_H

#include <time.h>

static inline double kt_bench_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* For qsort over doubles, smallest first. */
static inline int kt_bench_by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
