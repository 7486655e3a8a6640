/*
 * test_hmac_sha256.c - kt_sys_sha256 and kt_sys_hmac_sha256 (Nettle on
 * Linux, CNG on Windows) against FIPS 180-4's examples and RFC 4231's HMAC
 * vectors, the HMAC's message fed in uneven pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kt_sys.h"

static void hex(const unsigned char *d, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const void *data, size_t len, const char *want)
{
    unsigned char d[32];
    char h[65];
    assert_int_equal(kt_sys_sha256(data, len, d), APR_SUCCESS);
    hex(d, h);
    assert_string_equal(h, want);
}

static void test_fips_examples(void **state)
{
    (void)state;
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    static char million[1000000];
    memset(million, 'a', sizeof million);
    check(million, sizeof million,
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void hmac(const void *key, size_t keylen, const char *msg, size_t len, const char *want)
{
    unsigned char d[32];
    char h[65];
    const void *pieces[] = {msg, msg + len / 3};
    apr_size_t lens[] = {len / 3, len - len / 3};
    assert_int_equal(kt_sys_hmac_sha256(key, keylen, pieces, lens, 2, d), APR_SUCCESS);
    hex(d, h);
    assert_string_equal(h, want);
}

static void test_rfc4231(void **state)
{
    (void)state;
    unsigned char k1[20], k3[20], k6[131];
    memset(k1, 0x0b, sizeof k1);
    memset(k3, 0xaa, sizeof k3);
    memset(k6, 0xaa, sizeof k6);
    hmac(k1, sizeof k1, "Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hmac("Jefe", 4, "what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    char m3[50];
    memset(m3, 0xdd, sizeof m3);
    hmac(k3, sizeof k3, m3, sizeof m3,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac(k6, sizeof k6, m6, strlen(m6),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_examples),
        cmocka_unit_test(test_rfc4231),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
