/*
 * hash.c - SHA-256 and HMAC-SHA-256 on Windows: CNG (bcrypt.dll), which
 * every Windows since Vista has, so kotod.exe needs no crypto library for
 * them.
 */
#include "kt_sys.h"

#include <windows.h>
#include <bcrypt.h>

/* The digest of the pieces data[0..n), keyed when key is not NULL. */
static apr_status_t digest(const void *key, apr_size_t keylen, const void *const *data,
                           const apr_size_t *lens, unsigned n, unsigned char out[32])
{
    BCRYPT_ALG_HANDLE alg = NULL;
    BCRYPT_HASH_HANDLE hash = NULL;
    if (keylen > 0xffffffffu) /* CNG takes a ULONG */
        return APR_EINVAL;
    NTSTATUS st = BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL,
                                              key ? BCRYPT_ALG_HANDLE_HMAC_FLAG : 0);
    if (BCRYPT_SUCCESS(st))
        st = BCryptCreateHash(alg, &hash, NULL, 0, (PUCHAR)key, key ? (ULONG)keylen : 0, 0);
    for (unsigned i = 0; BCRYPT_SUCCESS(st) && i < n; i++) {
        /* BCryptHashData takes a ULONG: feed a large buffer in pieces. */
        const unsigned char *p = data[i];
        for (apr_size_t left = lens[i]; BCRYPT_SUCCESS(st) && left > 0;) {
            ULONG k = left > 0x40000000 ? 0x40000000 : (ULONG)left;
            st = BCryptHashData(hash, (PUCHAR)p, k, 0);
            p += k;
            left -= k;
        }
    }
    if (BCRYPT_SUCCESS(st))
        st = BCryptFinishHash(hash, out, 32, 0);
    if (hash)
        BCryptDestroyHash(hash);
    if (alg)
        BCryptCloseAlgorithmProvider(alg, 0);
    return BCRYPT_SUCCESS(st) ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t kt_sys_sha256(const void *data, apr_size_t len, unsigned char out[32])
{
    return digest(NULL, 0, &data, &len, 1, out);
}

apr_status_t kt_sys_hmac_sha256(const void *key, apr_size_t keylen, const void *const *data,
                                const apr_size_t *lens, unsigned n, unsigned char out[32])
{
    /* CNG wants a key pointer even for an empty key. */
    static const unsigned char none;
    return digest(keylen ? key : &none, keylen, data, lens, n, out);
}
