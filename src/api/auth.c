/*
 * auth.c - the bearer token and the checks in front of every handler.
 *
 * Each handler names the scope it needs (kt__api_allow); kt__api_scopes
 * tells a request's: the token file's token has every scope, a named token
 * those tokens.c keeps for it.
 *
 * The token is made once, on first start, from the system's random source
 * and kept in a file only its owner can read (mode 0600; on Windows a
 * protected DACL for SYSTEM and Administrators: kt_sys.h); a person copies it
 * from there (the path is logged) into the dashboard or a curl command.
 *
 * A browser page on another origin can send a POST to 127.0.0.1 but cannot
 * add an Authorization header without a CORS preflight, which kotod never
 * grants; the Origin check below refuses such requests even before that.
 */
#include "api_internal.h"
#include "kt_sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#define TOKEN_BYTES 32

apr_status_t kt_api_load_token(const char *path, const char **token, int *created,
                               apr_pool_t *pool)
{
    *created = 0;
    apr_file_t *f;
    apr_status_t st = apr_file_open(&f, path, APR_FOPEN_READ, 0, pool);
    if (st == APR_SUCCESS) {
        char buf[TOKEN_BYTES * 2 + 2] = {0};
        apr_size_t n = sizeof buf - 1;
        st = apr_file_read(f, buf, &n);
        apr_file_close(f);
        if (st != APR_SUCCESS && st != APR_EOF)
            return st;
        buf[strcspn(buf, "\r\n")] = '\0';
        if (strlen(buf) < 16)
            return KT_EPARSE; /* an empty or truncated token file protects nothing */
        *token = apr_pstrdup(pool, buf);
        return APR_SUCCESS;
    }
    if (!APR_STATUS_IS_ENOENT(st))
        return st;

    unsigned char raw[TOKEN_BYTES];
    if ((st = apr_generate_random_bytes(raw, sizeof raw)) != APR_SUCCESS)
        return st;
    char *hex = apr_palloc(pool, TOKEN_BYTES * 2 + 2);
    for (int i = 0; i < TOKEN_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[TOKEN_BYTES * 2] = '\n';
    hex[TOKEN_BYTES * 2 + 1] = '\0';
    /* Created exclusively: two daemons starting at once must not hand out
     * different tokens. */
    if ((st = kt_sys_create_secret(path, hex, TOKEN_BYTES * 2 + 1, pool)) != APR_SUCCESS)
        return st;
    hex[TOKEN_BYTES * 2] = '\0';
    *token = hex;
    *created = 1;
    return APR_SUCCESS;
}

int kt__api_same_secret(const char *a, apr_size_t la, const char *b)
{
    apr_size_t lb = strlen(b);
    unsigned char diff = la != lb;
    for (apr_size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

unsigned kt__api_scopes(kt_api_t *api, kt_http_req_t *req, char name[KT__TOKEN_NAME_MAX + 1])
{
    char unused[KT__TOKEN_NAME_MAX + 1];
    if (!name)
        name = unused;
    name[0] = '\0';
    const char *h = kt_http_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    return kt__api_token_scopes(api, h + 7, strlen(h + 7), name);
}

unsigned kt__api_token_scopes(kt_api_t *api, const char *token, apr_size_t len,
                              char name[KT__TOKEN_NAME_MAX + 1])
{
    name[0] = '\0';
    if (kt__api_same_secret(token, len, api->token)) {
        strcpy(name, "default");
        return KT_SCOPE_READ | KT_SCOPE_PROPOSE | KT_SCOPE_CONTROL;
    }
    return strlen(token) == len ? kt__tokens_lookup(api->tokens, token, name) : 0;
}

unsigned kt__api_named_scopes(kt_api_t *api, const char *name)
{
    return strcmp(name, "default") == 0 ? KT_SCOPE_READ | KT_SCOPE_PROPOSE | KT_SCOPE_CONTROL
                                        : kt__tokens_scopes_of(api->tokens, name);
}

/* An Origin header that names anything but this very host, in the scheme
 * this listener speaks, is another site. */
static int cross_origin(kt_api_t *api, kt_http_req_t *req)
{
    const char *site = kt_http_header(req, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return 1;
    const char *origin = kt_http_header(req, "Origin");
    if (!origin)
        return 0;
    const char *host = kt_http_header(req, "Host");
    if (!host)
        return 1;
    const char *scheme = api->http && kt_http_is_tls(api->http) ? "https://" : "http://";
    size_t n = strlen(scheme);
    const char *rest = strncmp(origin, scheme, n) == 0 ? origin + n : NULL;
    return !rest || strcmp(rest, host) != 0;
}

int kt__api_allow(kt_api_t *api, kt_http_req_t *req, unsigned need)
{
    unsigned scope = need & (KT_SCOPE_READ | KT_SCOPE_PROPOSE | KT_SCOPE_CONTROL);
    int changes_state = scope != KT_SCOPE_READ;
    if (changes_state && cross_origin(api, req)) {
        kt_http_reply_error(req, 403, "cross_origin",
                            "requests that change state must come from this host's own pages");
        return 0;
    }
    unsigned have = kt__api_scopes(api, req, NULL);
    /* A browser logged in through the dashboard's login page (session.c),
     * with the scopes of the token it logged in with. */
    int by_session = have ? -1 : kt__session_allow(api, req, scope, changes_state);
    if (by_session >= 0)
        return by_session;
    if (!changes_state && !(need & KT__TOKEN_ALWAYS) && !api->require_token_always)
        return 1;
    if (!have) {
        kt_http_set_header(req, "WWW-Authenticate", "Bearer realm=\"koto\"");
        kt_http_reply_error(req, 401, "unauthorized",
                            "%s", kt_http_header(req, "Authorization")
                                ? "the bearer token is not valid"
                                : "this request needs an Authorization: Bearer token; "
                                  "kotod logged the token file's path at start");
        return 0;
    }
    if (!(have & scope)) {
        kt__api_refuse_scope(req, scope, have);
        return 0;
    }
    return 1;
}

void kt__api_refuse_scope(kt_http_req_t *req, unsigned need, unsigned have)
{
    const char *want = kt_api_scopes_name(need, kt_http_pool(req));
    kt_http_set_header(req, "WWW-Authenticate",
                       apr_psprintf(kt_http_pool(req),
                                    "Bearer realm=\"koto\", error=\"insufficient_scope\", "
                                    "scope=\"%s\"", want));
    kt_http_reply_error(req, 403, "insufficient_scope",
                        "this request needs a token with the %s scope; this one has %s", want,
                        kt_api_scopes_name(have, kt_http_pool(req)));
}

int kt__api_authenticated(kt_api_t *api, kt_http_req_t *req)
{
    return kt__api_scopes(api, req, NULL) != 0 || kt__session_scopes(api, req, NULL) != 0;
}

int kt__api_cross_origin(kt_api_t *api, kt_http_req_t *req) { return cross_origin(api, req); }

int kt__api_query_u64(kt_http_req_t *req, const char *name, uint64_t def, uint64_t max,
                      uint64_t *out)
{
    const char *v = kt_http_query(req, name);
    *out = def;
    if (!v)
        return 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || *v == '-' || n > max) {
        kt_http_reply_error(req, 400, "bad_parameter",
                            "%s must be a whole number from 0 to %llu, not '%s'", name,
                            (unsigned long long)max, v);
        return -1;
    }
    *out = n;
    return 0;
}
