/*
 * fuzz_mcp.c - libFuzzer target: bytes as the JSON-RPC body of POST /mcp,
 * through the real handlers of src/api/ (mcp.c, mcp_methods.c,
 * mcp_tools.c, and every tool they call) on the HTTP harness
 * (kt__http_feed: parser, router, handler, response, no sockets), with the
 * shipped rules and templates loaded and one reading in the monitor.
 * Byte 0 picks the headers: bit 0 clear, none (the legacy era); set,
 * 2026-07-28 with Mcp-Method and Mcp-Name taken from the body when it
 * parses, so inputs reach the methods and not only the header checks;
 * bit 1 adds a foreign Origin. The rest is the body. The request carries
 * the token.
 *
 * Properties: every answer is one HTTP/1.1 response; a 202 has no body;
 * anything else is a JSON-RPC 2.0 object (a result or an error) with a
 * status the transport allows (200, 400, 403, 404, 413). Never a 500: a
 * failing tool is a result with isError.
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

/* A header value that may go on a line as it is: printable ASCII. */
static int plain(const char *s)
{
    if (!s)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    return *s != '\0';
}

/* The 2026-07-28 headers for body: Mcp-Method and Mcp-Name as it names them. */
static const char *modern_headers(const uint8_t *data, size_t size, apr_pool_t *pool)
{
    const char *h = "MCP-Protocol-Version: 2026-07-28\r\n";
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    const char *method = json_string_value(json_object_get(j, "method"));
    json_t *params = json_object_get(j, "params");
    const char *name = json_string_value(json_object_get(params, "name"));
    if (!name)
        name = json_string_value(json_object_get(params, "uri"));
    if (plain(method))
        h = apr_pstrcat(pool, h, "Mcp-Method: ", method, "\r\n", NULL);
    if (plain(name))
        h = apr_pstrcat(pool, h, "Mcp-Name: ", name, "\r\n", NULL);
    json_decref(j);
    return h;
}

static int expected(int status, const char *out, apr_size_t len, json_t *body)
{
    if (status == 202) {
        const char *end = strstr(out, "\r\n\r\n");
        return end && end + 4 == out + len; /* no body */
    }
    if (!body || !json_is_string(json_object_get(body, "jsonrpc")) ||
        (!json_object_get(body, "result") && !json_is_object(json_object_get(body, "error"))))
        return 0;
    return status == 200 || status == 400 || status == 403 || status == 404 || status == 413;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kt_fuzz_api_init("fuzz_mcp");
    if (size == 0)
        return 0;
    apr_pool_t *p;
    apr_pool_create(&p, kt_fuzz_root);
    const char *extra = data[0] & 1 ? modern_headers(data + 1, size - 1, p) : "";
    if (data[0] & 2)
        extra = apr_pstrcat(p, extra, "Origin: http://evil.example\r\n", NULL);
    char *out;
    apr_size_t len;
    int status = 0;
    extra = apr_pstrcat(p, "Accept: application/json, text/event-stream\r\n", extra, NULL);
    kt_fuzz_api_request("POST", "/mcp", extra, (const char *)data + 1, size - 1, &out, &len, p);
    json_t *body = kt_fuzz_response_json(out, len, &status);
    if (!expected(status, out, len, body)) {
        fprintf(stderr, "fuzz_mcp: unexpected answer:\n%.*s\n", (int)len, out);
        abort();
    }
    json_decref(body);
    apr_pool_destroy(p);
    kt_fuzz_empty_scripts_dir();
    return 0;
}
