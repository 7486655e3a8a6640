/*
 * hash.c - kt_sys_sha256 on Linux: OpenSSL's libcrypto (already linked for
 * the webhooks' signatures).
 */
#include "kt_sys.h"

#include <openssl/evp.h>

apr_status_t kt_sys_sha256(const void *data, apr_size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? APR_SUCCESS
                                                                               : APR_EGENERAL;
}
