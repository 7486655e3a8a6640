/*
 * bench_util.h - what every benchmark here needs: a monotonic clock in
 * milliseconds, an order for sorting samples into percentiles, and a median.
 */
#ifndef KT_BENCH_UTIL_H
#define KT_BENCH_UTIL_H

#include <math.h>
#include <stdlib.h>
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

/* The median of v's n values (sorted in place); NAN when there are none. */
static inline double kt_bench_median(double *v, unsigned n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, kt_bench_by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
