/*
 * test_prom.c - /metrics numbers printed as node_exporter prints them (Go's
 * FormatFloat(v, 'g', -1, 64)): kt__prom_number's quick forms, for decimals
 * of up to 15 digits, against the shortest digits found by trying every
 * precision, over values shaped like the kernel's counters, over random
 * doubles and over short decimals far from 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

/* The shortest %e digits that read back as v, then Go's choice of form. */
static void reference(char *out, size_t len, double v)
{
    if (v == 0) {
        snprintf(out, len, "%s", signbit(v) ? "-0" : "0");
        return;
    }
    char e[40];
    int prec;
    for (prec = 1; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(e, sizeof e, "%.16e", v);
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6)
        snprintf(out, len, "%s", e);
    else
        snprintf(out, len, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

static void same(double v)
{
    char got[48], want[48];
    kt__prom_number(got, sizeof got, v);
    reference(want, sizeof want, v);
    if (strcmp(got, want) != 0)
        fail_msg("%.17g: %s, want %s", v, got, want);
}

static void test_known_forms(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {1, "1"},           {-1, "-1"},           {123456, "123456"},
        {1234567, "1.234567e+06"}, {1e6, "1e+06"}, {12345.67, "12345.67"},
        {0.001, "0.001"},   {0.0001, "0.0001"},   {0.00001, "1e-05"},
        {0.1 + 0.2, "0.30000000000000004"}, {1.5e300, "1.5e+300"},
        {4.2e-320, "4.2e-320"}, {9007199254740993.0, "9.007199254740992e+15"},
        {NAN, "NaN"},       {INFINITY, "+Inf"},   {-INFINITY, "-Inf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[48];
        kt__prom_number(got, sizeof got, cases[i].v);
        assert_string_equal(got, cases[i].text);
    }
}

/* Seconds from ticks (/ 100), from milliseconds (* 0.001) and from
 * microseconds (/ 1000 / 1000), as metrics_node.c computes them. */
static void test_counter_shapes(void **state)
{
    (void)state;
    srand(17);
    for (int i = 0; i < 20000; i++) {
        uint64_t k = ((uint64_t)rand() << 31 | (uint64_t)rand()) >> (rand() % 62);
        same((double)k);
        same((double)k / 100);
        same((double)k * 0.001);
        same((double)k / 1000.0 / 1000.0);
        same(-(double)k / 100);
    }
}

static void test_random_doubles(void **state)
{
    (void)state;
    srand(5);
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = (uint64_t)rand() << 62 ^ (uint64_t)rand() << 31 ^ (uint64_t)rand();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v))
            same(v);
        same((double)rand() / RAND_MAX * pow(10, rand() % 30 - 15));
    }
}

/* Short decimals far from 1 (1.5e-07, 123e+40): outside the quick forms,
 * where fifteen digits read back with trailing zeros to drop. */
static void test_short_decimals_far_out(void **state)
{
    (void)state;
    srand(23);
    for (int i = 0; i < 20000; i++) {
        char text[32];
        snprintf(text, sizeof text, "%de%d", rand() % 100000, rand() % 600 - 300);
        same(strtod(text, NULL));
        same(-strtod(text, NULL));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_forms),
        cmocka_unit_test(test_counter_shapes),
        cmocka_unit_test(test_random_doubles),
        cmocka_unit_test(test_short_decimals_far_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
