/*
 * bridge.c - values between C and Lua. A rule sees a reading exactly as the
 * API shows it (kt_json_sample with the top lists; null becomes nil), so
 * docs/openapi.yaml documents the rules' input too.
 */
#include "rules_internal.h"

#include <math.h>

void kt__push_json(lua_State *L, json_t *j)
{
    luaL_checkstack(L, 4, "JSON too deep");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        lua_createtable(L, 0, (int)json_object_size(j));
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            kt__push_json(L, v);
            lua_setfield(L, -2, key);
        }
        break;
    }
    case JSON_ARRAY: {
        lua_createtable(L, (int)json_array_size(j), 0);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            kt__push_json(L, v);
            lua_seti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING: lua_pushlstring(L, json_string_value(j), json_string_length(j)); break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(j)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(j)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    default: lua_pushnil(L); break;
    }
}

void kt__push_sample(lua_State *L, const kt_sample_t *s)
{
    json_t *j = kt_json_sample(s, 1);
    kt__push_json(L, j);
    json_decref(j);
}

void kt__push_history(lua_State *L, const kt_hist_point_t *h, unsigned n)
{
    lua_createtable(L, (int)n, 0);
    for (unsigned i = 0; i < n; i++) {
        json_t *j = kt_json_history_point(&h[i]);
        kt__push_json(L, j);
        json_decref(j);
        lua_seti(L, -2, (lua_Integer)i + 1);
    }
}

/* A table is an array when its keys are exactly 1..n (n > 0). */
static int array_length(lua_State *L, int idx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
    }
    return n > 0 && count == n ? (int)n : -1;
}

json_t *kt__to_json(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    /* Raw accesses only and no Lua allocation: callers may be outside
     * protected mode, and the tables are a rule's (metatables and all). */
    if (depth > 32 || !lua_checkstack(L, 4))
        return NULL;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return json_null();
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        return isfinite(lua_tonumber(L, idx)) ? json_real(lua_tonumber(L, idx)) : json_null();
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return json_stringn(s, len); /* NULL when not UTF-8 */
    }
    case LUA_TTABLE: {
        int n = array_length(L, idx);
        if (n > 0) {
            json_t *a = json_array();
            for (int i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                json_t *v = kt__to_json(L, -1, depth + 1);
                lua_pop(L, 1);
                if (!v) {
                    json_decref(a);
                    return NULL;
                }
                json_array_append_new(a, v);
            }
            return a;
        }
        json_t *o = json_object();
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            json_t *v = NULL;
            char key[64];
            const char *k = NULL;
            if (lua_type(L, -2) == LUA_TSTRING) {
                k = lua_tostring(L, -2);
            } else if (lua_type(L, -2) == LUA_TNUMBER) {
                /* Formatted here: lua_tostring would convert the key lua_next needs. */
                if (lua_isinteger(L, -2))
                    snprintf(key, sizeof key, LUA_INTEGER_FMT, lua_tointeger(L, -2));
                else
                    snprintf(key, sizeof key, LUA_NUMBER_FMT, lua_tonumber(L, -2));
                k = key;
            }
            if (k)
                v = kt__to_json(L, -1, depth + 1);
            if (!v || json_object_set_new(o, k, v) != 0) {
                lua_pop(L, 2);
                json_decref(o);
                return NULL;
            }
            lua_pop(L, 1);
        }
        return o;
    }
    default: return NULL;
    }
}
