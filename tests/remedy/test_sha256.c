/*
 * test_sha256.c - the SHA-256 proposals are approved by (kt_sys_sha256 through
 * src/remedy/sha256.c)
 * against the standard's vectors and sha256sum over every length around the
 * padding's edges (55, 56, 63, 64, 119, 120 bytes...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remedy_internal.h"

static void known_vectors(void **state)
{
    (void)state;
    char out[65];
    kt__sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    kt__sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    kt__sha256_hex(two, strlen(two), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void every_length_against_sha256sum(void **state)
{
    (void)state;
    char path[] = "/tmp/kt-sha256-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unsigned char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof data; n++) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, n, f), n);
        fclose(f);
        char cmd[128], want[65] = {0}, got[65];
        snprintf(cmd, sizeof cmd, "sha256sum %s", path);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        assert_int_equal(fread(want, 1, 64, p), 64);
        pclose(p);
        kt__sha256_hex(data, n, got);
        if (strcmp(got, want) != 0) {
            print_error("length %zu: %s, sha256sum says %s\n", n, got, want);
            fail();
        }
    }
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_vectors),
        cmocka_unit_test(every_length_against_sha256sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
