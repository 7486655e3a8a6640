/*
 * api_harness.h - the API on the HTTP harness, shared by the fuzz targets
 * that drive kotod's handlers (fuzz_api, fuzz_mcp).
 */
#ifndef KT_FUZZ_API_HARNESS_H
#define KT_FUZZ_API_HARNESS_H

#include <stddef.h>

#include <apr_pools.h>
#include <jansson.h>

#include "kt_api.h"

/* What every request carries as its bearer token. */
#define KT_FUZZ_TOKEN "fuzz-token-0123456789abcdef"

/* Lives for the run; a subpool of it per input. */
extern apr_pool_t *kt_fuzz_root;

/* Builds the server, the monitor (one reading) and the API once; who names
 * the target in a failure message. Aborts when it cannot. */
void kt_fuzz_api_init(const char *who);

/* One request with the token; extra: header lines ("Name: v\r\n"...) or
 * NULL. The response in *out (in pool); aborts when the harness fails. */
void kt_fuzz_api_request(const char *method, const char *path, const char *extra,
                         const char *body, size_t len, char **out, apr_size_t *out_len,
                         apr_pool_t *pool);

/* The status and the JSON object of one response; NULL when it is not one. */
json_t *kt_fuzz_response_json(const char *out, apr_size_t len, int *status);

/* Removes what an input saved into the scripts directory. */
void kt_fuzz_empty_scripts_dir(void);

#endif
