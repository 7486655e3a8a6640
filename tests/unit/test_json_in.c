/*
 * test_json_in.c - a reading read back from JSON (kt_sample_from_json, what
 * --test-rules feeds the rules): numbers outside what the reading can hold
 * stay unknown instead of overflowing. Both cases were found by
 * tests/fuzz/fuzz_readings.c as undefined behaviour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <apr_general.h>

#include "kt_mon.h"

static apr_pool_t *pool;

static void read_back(const char *text, kt_sample_t *s)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    char err[128];
    assert_int_equal(kt_sample_from_json(j, s, pool, err, sizeof err), APR_SUCCESS);
    json_decref(j);
}

/* apr_time_t counts microseconds: milliseconds past INT64_MAX / 1000 are
 * as good as no time, which means "now". */
static void test_time_beyond_apr_time_is_now(void **state)
{
    kt_sample_t s;
    read_back("{\"time\": 1795500000000}", &s);
    assert_true(s.time == apr_time_from_msec(1795500000000));
    apr_time_t before = apr_time_now();
    read_back("{\"time\": 9223372036854775807}", &s);
    assert_true(s.time >= before && s.time <= apr_time_now());
    read_back("{\"time\": -9223372036854775807}", &s);
    assert_true(s.time >= before && s.time <= apr_time_now());
}

/* A count written as a real converts only below 2^64. */
static void test_counts_beyond_u64_are_unknown(void **state)
{
    kt_sample_t s;
    read_back("{\"memory\": {\"total_bytes\": 1e30, \"used_bytes\": 18446744073709551616.0,"
              " \"free_bytes\": 1e19, \"cached_bytes\": -1.5, \"buffers_bytes\": 4096.7}}",
              &s);
    assert_false(kt_known_u64(s.mem.total_bytes));
    assert_false(kt_known_u64(s.mem.used_bytes));
    assert_true(s.mem.free_bytes == 10000000000000000000u);
    assert_false(kt_known_u64(s.mem.cached_bytes));
    assert_true(s.mem.buffers_bytes == 4096);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_beyond_apr_time_is_now),
        cmocka_unit_test(test_counts_beyond_u64_are_unknown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed;
}
