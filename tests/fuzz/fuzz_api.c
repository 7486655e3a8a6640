/*
 * fuzz_api.c - libFuzzer target: bytes as the JSON body of a POST to each
 * endpoint that reads one, through the real handlers of src/api/ on the
 * HTTP harness (kt__http_feed: parser, router, handler, response, no
 * sockets), with the shipped rules and templates loaded and one reading
 * in the monitor:
 *   /api/agent/generate-script        (scripts.c: render a template)
 *   /api/agent/generate-script/save   (scripts.c: save into scripts_dir)
 *   /api/agent/reload                 (config.c: reads no body today; the
 *                                      reload loads lua/ again, for real)
 *   /api/agent/tools/<name>           (tools.c: every tool GET /api/agent/tools lists)
 * Byte 0 picks the endpoint (modulo their number, in that order); the rest
 * is the body. The request carries the token, as the dashboard's would.
 *
 * Properties: every answer is one HTTP/1.1 response whose body is a JSON
 * object, with a status a client is told to expect (200, 400, 404, 409,
 * 422). The one 500 allowed is start_system_monitoring's "start_failed":
 * the monitor here has no platform to sample. A 500 anywhere else (a
 * template error, a reply that could not be serialised) is a bug.
 * Saved scripts go to a temporary directory, emptied after each input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>

#include "api_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENDPOINTS 64

static const char *endpoints[MAX_ENDPOINTS];
static unsigned nendpoints;

static void init(void)
{
    kt_fuzz_api_init("fuzz_api");
    endpoints[nendpoints++] = "/api/agent/generate-script";
    endpoints[nendpoints++] = "/api/agent/generate-script/save";
    endpoints[nendpoints++] = "/api/agent/reload";
    apr_pool_t *p;
    apr_pool_create(&p, kt_fuzz_root);
    char *out;
    apr_size_t len;
    int status;
    kt_fuzz_api_request("GET", "/api/agent/tools", NULL, NULL, 0, &out, &len, p);
    json_t *list = kt_fuzz_response_json(out, len, &status);
    size_t i;
    json_t *tool;
    json_array_foreach(json_object_get(list, "tools"), i, tool) {
        const char *name = json_string_value(json_object_get(tool, "name"));
        if (name && nendpoints < MAX_ENDPOINTS)
            endpoints[nendpoints++] = apr_pstrcat(kt_fuzz_root, "/api/agent/tools/", name, NULL);
    }
    json_decref(list);
    apr_pool_destroy(p);
    if (nendpoints == 3)
        abort(); /* the tool list did not come back */
}

static int expected(int status, json_t *body)
{
    if (status == 200 || status == 400 || status == 404 || status == 409 || status == 422)
        return 1;
    const char *code = json_string_value(json_object_get(json_object_get(body, "error"), "code"));
    return status == 500 && code && strcmp(code, "start_failed") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nendpoints)
        init();
    if (size == 0)
        return 0;
    const char *path = endpoints[data[0] % nendpoints];
    apr_pool_t *p;
    apr_pool_create(&p, kt_fuzz_root);
    char *out;
    apr_size_t len;
    int status = 0;
    kt_fuzz_api_request("POST", path, NULL, (const char *)data + 1, size - 1, &out, &len, p);
    json_t *body = kt_fuzz_response_json(out, len, &status);
    if (!body || !expected(status, body)) {
        fprintf(stderr, "fuzz_api: POST %s: unexpected answer:\n%.*s\n", path, (int)len, out);
        abort();
    }
    json_decref(body);
    apr_pool_destroy(p);
    kt_fuzz_empty_scripts_dir();
    return 0;
}
