/*
 * hash.c - SHA-256 and HMAC-SHA-256 on Linux: Nettle, a small library with
 * no start-up cost (cmake/deps.cmake says why not libcrypto).
 */
#include "kt_sys.h"

#include <string.h>

#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <nettle/version.h>

/* Nettle 4 dropped the digests' length argument: they write the whole digest. */
#if NETTLE_VERSION_MAJOR >= 4
#define SHA256_DIGEST(c, out) sha256_digest(c, out)
#define HMAC_SHA256_DIGEST(c, out) hmac_sha256_digest(c, out)
#else
#define SHA256_DIGEST(c, out) sha256_digest(c, SHA256_DIGEST_SIZE, out)
#define HMAC_SHA256_DIGEST(c, out) hmac_sha256_digest(c, SHA256_DIGEST_SIZE, out)
#endif

apr_status_t kt_sys_sha256(const void *data, apr_size_t len, unsigned char out[32])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, data);
    SHA256_DIGEST(&c, out);
    return APR_SUCCESS;
}

apr_status_t kt_sys_hmac_sha256(const void *key, apr_size_t keylen, const void *const *data,
                                const apr_size_t *lens, unsigned n, unsigned char out[32])
{
    struct hmac_sha256_ctx c;
    hmac_sha256_set_key(&c, keylen, key);
    for (unsigned i = 0; i < n; i++)
        hmac_sha256_update(&c, lens[i], data[i]);
    HMAC_SHA256_DIGEST(&c, out);
    explicit_bzero(&c, sizeof c); /* it holds what the key derives */
    return APR_SUCCESS;
}
