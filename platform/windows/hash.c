/*
 * hash.c - kt_sys_sha256 on Windows: CNG (bcrypt.dll), which every Windows
 * since Vista has, so kotod.exe needs no crypto library of its own.
 */
#include "kt_sys.h"

#include <windows.h>
#include <bcrypt.h>

apr_status_t kt_sys_sha256(const void *data, apr_size_t len, unsigned char out[32])
{
    BCRYPT_ALG_HANDLE alg = NULL;
    BCRYPT_HASH_HANDLE hash = NULL;
    NTSTATUS st = BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL, 0);
    if (BCRYPT_SUCCESS(st))
        st = BCryptCreateHash(alg, &hash, NULL, 0, NULL, 0, 0);
    /* BCryptHashData takes a ULONG: feed a large buffer in pieces. */
    const unsigned char *p = data;
    while (BCRYPT_SUCCESS(st) && len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        st = BCryptHashData(hash, (PUCHAR)p, n, 0);
        p += n;
        len -= n;
    }
    if (BCRYPT_SUCCESS(st))
        st = BCryptFinishHash(hash, out, 32, 0);
    if (hash)
        BCryptDestroyHash(hash);
    if (alg)
        BCryptCloseAlgorithmProvider(alg, 0);
    return BCRYPT_SUCCESS(st) ? APR_SUCCESS : APR_EGENERAL;
}
