/*
 * test_gzip.c - a gzip answer as /metrics sends it (gzip.c): the lines in
 * stored blocks, then a page deflated once, then the combined trailer.
 * zlib's own inflate reads it back (it checks the CRC-32 and the length) for
 * lines of none, a few and more than one stored block's 64 KiB, in front of
 * an empty page and a page of metrics-like text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "api_internal.h"

static char *text_of(size_t len, unsigned seed)
{
    char *t = malloc(len + 1);
    assert_non_null(t);
    size_t n = 0;
    while (n < len) {
        char line[80];
        int k = snprintf(line, sizeof line, "node_x_total{device=\"d%u\"} %u\n", seed % 97,
                         seed * 2654435761u);
        seed++;
        for (int i = 0; i < k && n < len; i++)
            t[n++] = line[i];
    }
    t[len] = '\0';
    return t;
}

/* Inflates the answer's parts joined; the text must be lines then page. */
static void check(size_t lines_len, size_t page_len)
{
    apr_pool_t *pool;
    assert_int_equal(apr_pool_create(&pool, NULL), APR_SUCCESS);
    char *lines = text_of(lines_len, 1), *page = text_of(page_len, 1000);
    size_t kept_len = 0;
    char *kept = kt__gzip_page(page, page_len, &kept_len);
    assert_non_null(kept);
    kt_http_part_t parts[3];
    kt__gzip_parts(lines, lines_len, kept, kept_len, parts, pool);
    size_t total = parts[0].len + parts[1].len + parts[2].len;
    unsigned char *gz = malloc(total);
    assert_non_null(gz);
    memcpy(gz, parts[0].data, parts[0].len);
    memcpy(gz + parts[0].len, parts[1].data, parts[1].len);
    memcpy(gz + parts[0].len + parts[1].len, parts[2].data, parts[2].len);

    size_t want = lines_len + page_len;
    unsigned char *out = malloc(want + 16);
    assert_non_null(out);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK); /* gzip only */
    z.next_in = gz;
    z.avail_in = (uInt)total;
    z.next_out = out;
    z.avail_out = (uInt)(want + 16);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END); /* CRC and length checked */
    assert_int_equal(z.total_out, want);
    assert_int_equal(z.avail_in, 0);
    inflateEnd(&z);
    assert_memory_equal(out, lines, lines_len);
    assert_memory_equal(out + lines_len, page, page_len);
    if (page_len > 4096) /* the page is compressed; the lines are not */
        assert_true(parts[1].len < page_len / 3);
    free(out);
    free(gz);
    free(kept);
    free(lines);
    free(page);
    apr_pool_destroy(pool);
}

static void test_no_lines(void **state) { check(0, 50000); }
static void test_lines(void **state) { check(1200, 50000); }
static void test_lines_over_a_block(void **state) { check(3 * 65535 + 10, 50000); }
static void test_empty_page(void **state) { check(300, 0); }

int main(void)
{
    apr_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_lines),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_lines_over_a_block),
        cmocka_unit_test(test_empty_page),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
