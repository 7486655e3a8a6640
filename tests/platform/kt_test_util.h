/*
 * kt_test_util.h - what the platform tests share (header-only, static): a
 * pool per test, and assertions.
 *
 * CMocka 1.1 compares doubles only as floats, which loses the digits the
 * fixture arithmetic is exact to, so doubles get their own checks here.
 */
#ifndef KT_TEST_UTIL_H
#define KT_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include <apr_pools.h>

/* cmocka setup/teardown: *state is a fresh pool for the test. */
static inline int setup_pool(void **state)
{
    apr_pool_t *pool;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return -1;
    *state = pool;
    return 0;
}

static inline int teardown_pool(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

/* Equal within 1e-9 relative (absolute below 1): the fixtures' expected
 * values are exact, only the division's rounding may differ. */
static inline void kt_test_close(double got, double want, const char *expr, const char *file,
                                 int line)
{
    double tol = 1e-9 * (fabs(want) > 1.0 ? fabs(want) : 1.0);
    if (!isnan(got) && fabs(got - want) <= tol)
        return;
    print_error("%s = %.15g, expected %.15g\n", expr, got, want);
    _fail(file, line);
}

static inline void kt_test_nan(double got, const char *expr, const char *file, int line)
{
    if (isnan(got))
        return;
    print_error("%s = %.15g, expected unknown (NAN)\n", expr, got);
    _fail(file, line);
}

#define assert_close(got, want) kt_test_close((got), (want), #got, __FILE__, __LINE__)
#define assert_nan(got) kt_test_nan((got), #got, __FILE__, __LINE__)
#define assert_unknown_u64(got) assert_true((got) == KT_UNKNOWN_U64)

#endif
