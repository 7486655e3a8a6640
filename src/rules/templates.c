/*
 * templates.c - listing and rendering fix-script templates.
 *
 * A template declares its parameters:
 *   params = { { name = "pid", type = "integer", min = 1, required = true,
 *                description = "..." },
 *              { name = "process_name", type = "string", max_len = 64,
 *                pattern = "^[%w%._%-]+$" }, ... }
 * Rendering checks the request against them (unknown names, wrong types,
 * bounds, Lua patterns, missing required ones) and calls the dialect's
 * function with every string already quoted for that dialect
 * (kt_rules_quote) and numbers as numbers. A template therefore cannot
 * paste a raw request value into a script, whatever it does.
 */
#include "rules_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STRING_PARAM 4096

static const char *dialect_fn(kt_dialect_t d) { return d == KT_DIALECT_BASH ? "bash" : "powershell"; }

json_t *kt_rules_templates(kt_rules_t *r)
{
    char err[256];
    json_t *out = json_array();
    kt__lstate_t *ls;
    if (kt__rules_borrow(r, &ls, err, sizeof err) != APR_SUCCESS)
        return out;
    lua_State *L = ls->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.templates");
    /* In name order, so the list is stable. */
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    apr_array_header_t *names = apr_array_make(pool, 8, sizeof(const char *));
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(pool, lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), kt__by_name);
    for (int i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        lua_getfield(L, -1, name);
        json_t *dialects = json_array();
        for (int d = KT_DIALECT_BASH; d <= KT_DIALECT_POWERSHELL; d++) {
            if (lua_getfield(L, -1, dialect_fn((kt_dialect_t)d)) == LUA_TFUNCTION)
                json_array_append_new(dialects, json_string(dialect_fn((kt_dialect_t)d)));
            lua_pop(L, 1);
        }
        lua_getfield(L, -1, "description");
        lua_getfield(L, -2, "admin");
        lua_getfield(L, -3, "params");
        json_t *params = kt__to_json(L, -1, 0);
        json_array_append_new(out, json_pack("{s:s s:s s:b s:o s:o}", "name", name,
                                             "description", lua_tostring(L, -3), "admin",
                                             lua_toboolean(L, -2), "dialects", dialects,
                                             "parameters", params ? params : json_array()));
        lua_pop(L, 4);
    }
    apr_pool_destroy(pool);
    lua_settop(L, 0);
    kt__rules_return(r, ls);
    return out;
}

/* ---- parameters ------------------------------------------------------------------------------- */

/* Lua's string.find(value, pattern) through the sandbox's string library. */
static int matches_pattern(kt__lstate_t *ls, const char *value, const char *pattern)
{
    lua_State *L = ls->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.globals");
    lua_getfield(L, -1, "string");
    lua_getfield(L, -1, "find");
    lua_remove(L, -2);
    lua_remove(L, -2);
    lua_pushstring(L, value);
    lua_pushstring(L, pattern);
    char err[128];
    if (kt__lstate_call(ls, 2, 1, err, sizeof err) != APR_SUCCESS)
        return 0;
    int ok = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return ok;
}

/* Validates one request value against its declaration (table on top) and
 * pushes what the template gets: quoted string, number or boolean. */
static apr_status_t push_param(kt__lstate_t *ls, kt_dialect_t dialect, const char *name,
                               json_t *v, char *err, apr_size_t len)
{
    lua_State *L = ls->L;
    lua_getfield(L, -1, "type");
    const char *type = lua_tostring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "min");
    lua_getfield(L, -2, "max");
    int has_min = lua_isnumber(L, -2), has_max = lua_isnumber(L, -1);
    double min = lua_tonumber(L, -2), max = lua_tonumber(L, -1);
    lua_pop(L, 2);

    if (strcmp(type, "string") == 0) {
        if (!json_is_string(v)) {
            snprintf(err, len, "parameter '%s' must be a string", name);
            return KT_EINPUT;
        }
        lua_getfield(L, -1, "max_len");
        size_t max_len = lua_isinteger(L, -1) ? (size_t)lua_tointeger(L, -1) : 256;
        lua_getfield(L, -2, "pattern");
        const char *pattern = lua_tostring(L, -1);
        int pattern_ok = !pattern || matches_pattern(ls, json_string_value(v), pattern);
        lua_pop(L, 2);
        if (json_string_length(v) > max_len || json_string_length(v) > MAX_STRING_PARAM) {
            snprintf(err, len, "parameter '%s' is longer than %zu bytes", name, max_len);
            return KT_EINPUT;
        }
        if (!pattern_ok) {
            snprintf(err, len, "parameter '%s' does not have the expected form", name);
            return KT_EINPUT;
        }
        char *q = kt_rules_quote(dialect, json_string_value(v), json_string_length(v));
        if (!q) {
            snprintf(err, len, "parameter '%s' holds a character a script cannot carry", name);
            return KT_EINPUT;
        }
        lua_pushstring(L, q);
        free(q);
        return APR_SUCCESS;
    }
    if (strcmp(type, "boolean") == 0) {
        if (!json_is_boolean(v)) {
            snprintf(err, len, "parameter '%s' must be true or false", name);
            return KT_EINPUT;
        }
        lua_pushboolean(L, json_is_true(v));
        return APR_SUCCESS;
    }
    int integer = strcmp(type, "integer") == 0;
    if (integer ? !json_is_integer(v) : !json_is_number(v)) {
        snprintf(err, len, "parameter '%s' must be %s", name, integer ? "a whole number" : "a number");
        return KT_EINPUT;
    }
    double d = json_number_value(v);
    if ((has_min && d < min) || (has_max && d > max)) {
        snprintf(err, len, "parameter '%s' must be between %g and %g", name,
                 has_min ? min : -1e300, has_max ? max : 1e300);
        return KT_EINPUT;
    }
    if (integer)
        lua_pushinteger(L, (lua_Integer)json_integer_value(v));
    else
        lua_pushnumber(L, d);
    return APR_SUCCESS;
}

/* Builds the template's `p` table from the request (template table on top). */
static apr_status_t build_params(kt__lstate_t *ls, kt_dialect_t dialect, json_t *req, char *err,
                                 apr_size_t len)
{
    lua_State *L = ls->L;
    int tmpl = lua_gettop(L);
    lua_newtable(L);
    int p = lua_gettop(L);
    lua_getfield(L, tmpl, "params");
    int decls = lua_gettop(L);
    apr_status_t rc;
    /* Every request key must be declared ("os" only picks the dialect). */
    const char *key;
    json_t *v;
    json_object_foreach(req, key, v) {
        if (strcmp(key, "os") == 0 || strcmp(key, "issue_type") == 0)
            continue;
        int found = 0;
        for (lua_Integer i = 1; !found && i <= (lua_Integer)lua_rawlen(L, decls); i++) {
            lua_geti(L, decls, i);
            lua_getfield(L, -1, "name");
            found = strcmp(lua_tostring(L, -1), key) == 0;
            lua_pop(L, 2);
        }
        if (!found) {
            snprintf(err, len, "unknown parameter '%s'", key);
            return KT_EINPUT;
        }
    }
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, decls); i++) {
        lua_geti(L, decls, i);
        lua_getfield(L, -1, "name");
        const char *name = lua_tostring(L, -1);
        lua_pop(L, 1);
        json_t *value = json_object_get(req, name);
        if (!value || json_is_null(value)) {
            lua_getfield(L, -1, "required");
            int required = lua_toboolean(L, -1);
            lua_pop(L, 1);
            if (required) {
                snprintf(err, len, "parameter '%s' is required", name);
                return KT_EINPUT;
            }
            /* A declared default goes through the same checks as a request value. */
            if (lua_getfield(L, -1, "default") == LUA_TNIL) {
                lua_pop(L, 2);
                continue;
            }
            json_t *def = kt__to_json(L, -1, 0);
            lua_pop(L, 1);
            rc = def ? push_param(ls, dialect, name, def, err, len) : KT_ESCRIPT;
            json_decref(def);
            if (rc != APR_SUCCESS) {
                if (!def)
                    snprintf(err, len, "the default of parameter '%s' is not a value", name);
                return rc;
            }
        } else if ((rc = push_param(ls, dialect, name, value, err, len)) != APR_SUCCESS) {
            return rc;
        }
        lua_setfield(L, p, name);
        lua_pop(L, 1);
    }
    lua_settop(L, p);
    return APR_SUCCESS;
}

apr_status_t kt_rules_render(kt_rules_t *r, const char *name, kt_dialect_t dialect,
                             json_t *params, char **script, char *err, apr_size_t errlen)
{
    *script = NULL;
    kt__lstate_t *ls;
    apr_status_t st = kt__rules_borrow(r, &ls, err, errlen);
    if (st != APR_SUCCESS)
        return st;
    lua_State *L = ls->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.templates");
    if (lua_getfield(L, -1, name) != LUA_TTABLE) {
        st = KT_ENOTFOUND;
        snprintf(err, errlen, "there is no template '%s'", name);
        goto done;
    }
    int tmpl = lua_gettop(L);
    if (lua_getfield(L, tmpl, dialect_fn(dialect)) != LUA_TFUNCTION) {
        st = KT_EINPUT;
        snprintf(err, errlen, "template '%s' has no %s version", name, dialect_fn(dialect));
        goto done;
    }
    lua_pop(L, 1);
    if ((st = build_params(ls, dialect, params, err, errlen)) != APR_SUCCESS)
        goto done;
    lua_getfield(L, tmpl, dialect_fn(dialect));
    lua_insert(L, -2);
    lua_pushstring(L, name);
    if ((st = kt__lstate_call(ls, 2, 1, err, errlen)) != APR_SUCCESS)
        goto done;
    if (!lua_isstring(L, -1)) {
        st = KT_ESCRIPT;
        snprintf(err, errlen, "template '%s' did not return the script text", name);
        goto done;
    }
    if (!(*script = strdup(lua_tostring(L, -1))))
        st = APR_ENOMEM;
done:
    lua_settop(L, 0);
    kt__rules_return(r, ls);
    return st;
}
