/*
 * sha256.c - the hash a proposal carries and an approval names, as the
 * lowercase hex people compare (the digest itself: platform/kt_sys.h).
 */
#include "remedy_internal.h"
#include "kt_sys.h"

#include <string.h>

void kt__sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[32];
    static const char hex[] = "0123456789abcdef";
    if (kt_sys_sha256(data, len, d) != APR_SUCCESS) {
        /* Never a hash of its own: nothing can match it, so nothing runs. */
        memset(out, 'x', 64);
        out[64] = '\0';
        return;
    }
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}
