/*
 * router.c - routes: exact and prefix routes, 404 versus 405.
 *
 * A request picks its pattern first: an exact route with the same path wins;
 * otherwise the longest prefix route that the path starts with. Only then does
 * the method count: no route of that pattern for the method means 405 with
 * an Allow header listing the pattern's methods (HEAD wherever GET is); no
 * pattern at all means 404. HEAD falls back to the GET handler.
 *
 * Routes are added before start and read-only afterwards, so lookups from
 * the loop need no lock. A linear scan: a daemon has tens of routes.
 */
#include "http_internal.h"

#include <string.h>

/* ---- Private ---------------------------------------------------------- */

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static int same_pattern(const kt__route_t *r, const kt__route_t *best)
{
    return r->prefix == best->prefix && r->path_len == best->path_len &&
           memcmp(r->path, best->path, r->path_len) == 0;
}

static const kt__route_t *pick_pattern(kt_http_t *s, const char *path)
{
    const kt__route_t *routes = (const kt__route_t *)s->routes->elts;
    const kt__route_t *best = NULL;
    apr_size_t len = strlen(path);
    for (int i = 0; i < s->routes->nelts; i++) {
        const kt__route_t *r = &routes[i];
        if (!r->prefix && r->path_len == len && memcmp(r->path, path, len) == 0)
            return r;
        if (r->prefix && len >= r->path_len && memcmp(r->path, path, r->path_len) == 0 &&
            (!best || r->path_len > best->path_len))
            best = r;
    }
    return best;
}

static int allow_has(const char *allow, const char *method)
{
    apr_size_t n = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
        if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

/* ---- Internal ---------------------------------------------------------- */

apr_status_t kt__http_route_add(kt_http_t *s, const char *method, const char *path,
                                kt_http_try_fn try_fn, kt_http_handler_fn fn, void *baton)
{
    if (!method || !path || !fn || !is_token(method) || path[0] != '/')
        return APR_EINVAL;
    if (atomic_load(&s->life) != KT__LIFE_CREATED)
        return KT_ESTATE;
    kt__route_t *r = apr_array_push(s->routes);
    apr_size_t len = strlen(path);
    r->method = apr_pstrdup(s->pool, method);
    r->prefix = len >= 2 && strcmp(path + len - 2, "/*") == 0;
    r->path_len = r->prefix ? len - 1 : len; /* keep the '/' before '*' */
    r->path = apr_pstrmemdup(s->pool, path, r->path_len);
    r->try_fn = try_fn;
    r->fn = fn;
    r->baton = baton;
    return APR_SUCCESS;
}

int kt__http_route_find(kt_http_t *s, const char *method, const char *path,
                        const kt__route_t **route, const char **tail, const char **allow,
                        apr_pool_t *pool)
{
    const kt__route_t *best = pick_pattern(s, path);
    *route = NULL;
    *tail = "";
    *allow = NULL;
    if (!best)
        return 404;

    const kt__route_t *routes = (const kt__route_t *)s->routes->elts;
    const kt__route_t *get = NULL;
    const char *list = "";
    for (int i = 0; i < s->routes->nelts; i++) {
        const kt__route_t *r = &routes[i];
        if (!same_pattern(r, best))
            continue;
        if (strcmp(r->method, method) == 0) {
            *route = r;
            break;
        }
        if (strcmp(r->method, "GET") == 0)
            get = r;
        if (!allow_has(list, r->method))
            list = *list ? apr_pstrcat(pool, list, ", ", r->method, NULL) : r->method;
    }
    if (!*route && get && strcmp(method, "HEAD") == 0)
        *route = get;
    if (*route) {
        if (best->prefix)
            *tail = path + best->path_len;
        return 200;
    }
    if (allow_has(list, "GET") && !allow_has(list, "HEAD"))
        list = apr_pstrcat(pool, list, ", HEAD", NULL);
    *allow = list;
    return 405;
}
