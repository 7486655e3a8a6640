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

/* ---- the reading, read-only ------------------------------------------------------------------ */
/*
 * Conditions share one reading per tick, so none may change what the next
 * sees. Each table of it is handed out as an empty proxy: a write to it
 * raises, a read goes to the real table, found in the tick's map (proxy ->
 * real). One metatable serves every proxy of a tick, so a table costs one
 * more empty table, not a metatable each.
 *
 * The map holds the JSON a proxy comes from (light userdata): a field is
 * read from it, and a real table is made only for what needs one (pairs(),
 * the sandbox's next and rawlen). A condition reads a few fields of a
 * reading of hundreds (meminfo, every core, every filesystem), so most of
 * it never becomes Lua at all. The JSON lives until the tick's conditions
 * have run; kt__readonly_expire then marks every proxy not made into a
 * table, so a proxy kept past its tick raises instead of reading freed
 * memory.
 *
 * A reading from kt__push_sample_readonly goes one step further: its
 * members that are tables (cpu, memory, processes...) are not even JSON
 * until read. Their proxies map to the member's index in
 * kt_json_sample_parts; the JSON is made from the sample (the metatable's
 * "koto.sample") when first read, and kept in "koto.made" until the tick's
 * end, since the tables made from it point into it.
 */

/* The JSON behind the proxy at idx, whose map entry (of type t) is on top
 * and is popped: made now from the sample for a member of the reading not
 * made yet. Raises for a proxy of an expired tick. map is absolute. */
static json_t *ro_json(lua_State *L, int idx, int t, int map)
{
    if (t == LUA_TLIGHTUSERDATA) {
        json_t *j = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return j;
    }
    if (t != LUA_TNUMBER)
        luaL_error(L, "a reading is only there during the tick it was read in");
    const kt_json_part_t *part = &kt_json_sample_parts[lua_tointeger(L, -1)];
    lua_pop(L, 1);
    luaL_checkstack(L, 4, "reading");
    lua_getmetatable(L, idx); /* every proxy of the tick shares it */
    lua_getfield(L, -1, "koto.sample");
    const kt_sample_t *s = lua_touserdata(L, -1);
    lua_getfield(L, -2, "koto.made");
    json_t *made = lua_touserdata(L, -1);
    lua_pop(L, 3);
    json_t *j = part->make(s, 1);
    if (!j || json_array_append_new(made, j) != 0)
        luaL_error(L, "out of memory reading %s", part->key);
    lua_pushvalue(L, idx);
    lua_pushlightuserdata(L, j);
    lua_rawset(L, map);
    return j;
}

/* The real table behind the proxy at idx on top (made now if it was not
 * yet); map is an absolute index. Raises for a proxy of an expired tick. */
static void ro_resolve(lua_State *L, int idx, int map)
{
    lua_pushvalue(L, idx);
    int t = lua_rawget(L, map);
    if (t == LUA_TTABLE)
        return;
    json_t *j = ro_json(L, idx, t, map);
    luaL_checkstack(L, 6, "reading");
    lua_getmetatable(L, idx);
    int mt = lua_gettop(L);
    int obj = json_is_object(j);
    lua_createtable(L, obj ? 0 : (int)json_array_size(j), obj ? (int)json_object_size(j) : 0);
    const char *key;
    size_t i;
    json_t *v;
    if (obj) {
        json_object_foreach(j, key, v) {
            kt__push_json_readonly_in(L, v, mt, map);
            lua_setfield(L, -2, key);
        }
    } else {
        json_array_foreach(j, i, v) {
            kt__push_json_readonly_in(L, v, mt, map);
            lua_seti(L, -2, (lua_Integer)i + 1);
        }
    }
    lua_pushvalue(L, idx);
    lua_pushvalue(L, -2);
    lua_rawset(L, map);
    lua_remove(L, mt);
}

/* The real table behind the proxy at idx on top, or 0 when it is none. */
static int ro_real(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    /* The metatable's map: lua_getmetatable and the raw field, no metamethods. */
    if (!lua_getmetatable(L, idx))
        return 0;
    lua_pushliteral(L, "koto.map");
    if (lua_rawget(L, -2) != LUA_TTABLE) {
        lua_pop(L, 2);
        return 0;
    }
    int map = lua_gettop(L);
    ro_resolve(L, idx, map);
    lua_replace(L, map - 1);
    lua_settop(L, map - 1);
    return 1;
}

/* A field of a proxy not made into a table yet is read from its JSON: a
 * condition reads a few fields of a table of dozens (meminfo, a
 * filesystem), and building the table would cost more than the reading of
 * them all. pairs() and the sandbox's next, rawget and rawlen make it. */
static int ro_index(lua_State *L)
{
    int map = lua_upvalueindex(1);
    lua_pushvalue(L, 1);
    int t = lua_rawget(L, map);
    if (t == LUA_TTABLE) {
        lua_pushvalue(L, 2);
        lua_rawget(L, -2);
        return 1;
    }
    json_t *j = ro_json(L, 1, t, map), *v = NULL;
    if (json_is_object(j)) {
        if (lua_type(L, 2) == LUA_TSTRING)
            v = json_object_get(j, lua_tostring(L, 2));
    } else if (lua_type(L, 2) == LUA_TNUMBER) {
        int exact;
        lua_Integer k = lua_tointegerx(L, 2, &exact);
        if (exact && k >= 1 && (size_t)k <= json_array_size(j))
            v = json_array_get(j, (size_t)k - 1);
    }
    if (!v) {
        lua_pushnil(L);
        return 1;
    }
    lua_getmetatable(L, 1);
    kt__push_json_readonly_in(L, v, lua_gettop(L), map);
    return 1;
}

static int ro_newindex(lua_State *L)
{
    return luaL_error(L, "the reading is read-only (a condition reads it; copy what you would "
                         "change)");
}

static int ro_len(lua_State *L)
{
    int map = lua_upvalueindex(1);
    lua_pushvalue(L, 1);
    int t = lua_rawget(L, map);
    if (t == LUA_TTABLE) {
        lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
        return 1;
    }
    json_t *j = ro_json(L, 1, t, map);
    /* An object's table has no array part: its border is 0. */
    lua_pushinteger(L, json_is_array(j) ? (lua_Integer)json_array_size(j) : 0);
    return 1;
}

/* The iterator pairs() gives: next over the real table (upvalue 1). */
static int ro_next(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1)) == 0) {
        lua_pushnil(L);
        return 1;
    }
    return 2;
}

static int ro_pairs(lua_State *L)
{
    ro_resolve(L, 1, lua_upvalueindex(1));
    lua_pushcclosure(L, ro_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* The tick's metatable on top: its map is its field "koto.map". */
static void ro_metatable(lua_State *L)
{
    lua_createtable(L, 0, 6);
    lua_newtable(L); /* the map */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "koto.map");
    static const struct {
        const char *name;
        lua_CFunction fn;
    } mm[] = {{"__index", ro_index}, {"__len", ro_len}, {"__pairs", ro_pairs}};
    for (size_t i = 0; i < KT_ARRAY_SIZE(mm); i++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, mm[i].fn, 1);
        lua_setfield(L, -3, mm[i].name);
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
}

/* j as kt__push_json pushes it, a table as a proxy whose real table is
 * made when first read; mt and map are absolute stack indexes. A JSON table
 * has one proxy a tick (the map keeps it under the JSON's address), so
 * r.disks[1] == r.disks[1] however it was reached. */
void kt__push_json_readonly_in(lua_State *L, json_t *j, int mt, int map)
{
    if (!json_is_object(j) && !json_is_array(j)) {
        kt__push_json(L, j);
        return;
    }
    lua_pushlightuserdata(L, j);
    if (lua_rawget(L, map) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L); /* the proxy */
    lua_pushvalue(L, -1);
    lua_pushlightuserdata(L, j);
    lua_rawset(L, map);
    lua_pushlightuserdata(L, j);
    lua_pushvalue(L, -2);
    lua_rawset(L, map);
    lua_pushvalue(L, mt);
    lua_setmetatable(L, -2);
}

void kt__push_sample_readonly(lua_State *L, const kt_sample_t *s, json_t *made)
{
    ro_metatable(L);
    int mt = lua_gettop(L);
    lua_pushlightuserdata(L, (void *)s);
    lua_setfield(L, mt, "koto.sample");
    lua_pushlightuserdata(L, made);
    lua_setfield(L, mt, "koto.made");
    lua_getfield(L, mt, "koto.map");
    int map = mt + 1;
    lua_createtable(L, 0, (int)kt_json_sample_nparts); /* the reading's real table */
    for (unsigned i = 0; i < kt_json_sample_nparts; i++) {
        const kt_json_part_t *part = &kt_json_sample_parts[i];
        if (part->table) {
            lua_newtable(L); /* its proxy, made into JSON when first read */
            lua_pushvalue(L, -1);
            lua_pushinteger(L, (lua_Integer)i);
            lua_rawset(L, map);
            lua_pushvalue(L, mt);
            lua_setmetatable(L, -2);
        } else {
            json_t *j = part->make(s, 1);
            kt__push_json(L, j);
            json_decref(j);
        }
        lua_setfield(L, -2, part->key);
    }
    lua_newtable(L); /* the reading's proxy */
    lua_pushvalue(L, -1);
    lua_pushvalue(L, -3);
    lua_rawset(L, map);
    lua_pushvalue(L, mt);
    lua_setmetatable(L, -2);
    lua_replace(L, mt);
    lua_settop(L, mt);
}

void kt__readonly_expire(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return;
    lua_pushliteral(L, "koto.map");
    if (lua_rawget(L, -2) == LUA_TTABLE) {
        /* Setting a field that exists during a traversal is allowed. */
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            int unread = lua_islightuserdata(L, -1) || lua_type(L, -1) == LUA_TNUMBER;
            lua_pop(L, 1);
            if (unread) {
                lua_pushvalue(L, -1);
                lua_pushboolean(L, 0);
                lua_rawset(L, -4);
            }
        }
    }
    lua_pop(L, 2);
}

/* next, rawget and rawlen as the sandbox gives them: through a reading's
 * proxy to its real table (still without a way to write to it). */
static int sb_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (ro_real(L, 1))
        lua_replace(L, 1);
    return lua_next(L, 1) ? 2 : (lua_pushnil(L), 1);
}

static int sb_rawget(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    if (ro_real(L, 1))
        lua_replace(L, 1);
    lua_rawget(L, 1);
    return 1;
}

static int sb_rawlen(lua_State *L)
{
    if (lua_istable(L, 1) && ro_real(L, 1))
        lua_replace(L, 1);
    int t = lua_type(L, 1);
    luaL_argexpected(L, t == LUA_TTABLE || t == LUA_TSTRING, 1, "table or string");
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

void kt__readonly_globals(lua_State *L)
{
    lua_pushcfunction(L, sb_next);
    lua_setfield(L, -2, "next");
    lua_pushcfunction(L, sb_rawget);
    lua_setfield(L, -2, "rawget");
    lua_pushcfunction(L, sb_rawlen);
    lua_setfield(L, -2, "rawlen");
}
