/*
 * sandbox.c - the globals every chunk sees, and nothing else.
 *
 * Allowed (a named list, as Redis keeps one): the base functions that
 * cannot reach outside the state, and the string, table, math and utf8
 * libraries. Left out, on purpose:
 *   os, io, package, require, debug   - reach the system or the VM's guts;
 *   load, loadstring, dofile, loadfile - run code we did not vet;
 *   pcall, xpcall                      - would let a rule swallow the budget error;
 *   collectgarbage, getmetatable on strings - tamper with shared state;
 *   print                              - replaced by log(), which goes to kotod's log.
 * string.find, match, gmatch and gsub are pattern.c's, which charge their
 * steps to the budget (Lua's own match inside one C call, unbudgeted).
 * Library tables are read-only proxies, so one file cannot change
 * string.format for another.
 */
#include "rules_internal.h"

#include <string.h>

static const char *const base_allowed[] = {
    "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawlen", "rawget",
    "select", "tonumber", "tostring", "type", "_VERSION",
};

/* setmetatable without __gc: a finalizer runs whenever the collector does,
 * outside any budget, so a looping one could stall a later caller. */
static int safe_setmetatable(lua_State *L)
{
    if (lua_istable(L, 2) && lua_getfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "__gc finalizers are not allowed in rules and templates");
    lua_settop(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_setmetatable(L, 1);
    return 1;
}

static const struct {
    const char *name;
    lua_CFunction open;
} libs[] = {
    {LUA_STRLIBNAME, luaopen_string},
    {LUA_TABLIBNAME, luaopen_table},
    {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8},
};

static int readonly_newindex(lua_State *L)
{
    return luaL_error(L, "the %s library is read-only", lua_tostring(L, lua_upvalueindex(1)));
}

void kt__sandbox_readonly(lua_State *L, const char *name)
{
    lua_newtable(L);          /* proxy */
    lua_newtable(L);          /* its metatable */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, readonly_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_remove(L, -2);
}

/* log(...): one line in kotod's log, at info level. */
static int lua_log(lua_State *L)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= lua_gettop(L); i++) {
        if (i > 1)
            luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar))
        kt_log(KT_LOG_INFO, "%s:%d: %s", ar.short_src, ar.currentline, lua_tostring(L, -1));
    else
        kt_log(KT_LOG_INFO, "lua: %s", lua_tostring(L, -1));
    return 0;
}

void kt__sandbox_open(lua_State *L)
{
    /* The base library opens into the real global table; copy what we allow. */
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    lua_pop(L, 1);
    lua_newtable(L); /* koto.globals */
    lua_pushglobaltable(L);
    for (size_t i = 0; i < KT_ARRAY_SIZE(base_allowed); i++) {
        lua_getfield(L, -1, base_allowed[i]);
        lua_setfield(L, -3, base_allowed[i]);
    }
    lua_pop(L, 1);
    kt__readonly_globals(L); /* next, rawget, rawlen see through the reading's proxies */
    for (size_t i = 0; i < KT_ARRAY_SIZE(libs); i++) {
        luaL_requiref(L, libs[i].name, libs[i].open, 0);
        if (libs[i].open == luaopen_string)
            kt__pattern_install(L); /* matchers that pay for their steps */
        kt__sandbox_readonly(L, libs[i].name);
        lua_setfield(L, -2, libs[i].name);
    }
    lua_pushcfunction(L, lua_log);
    lua_setfield(L, -2, "log");
    lua_pushcfunction(L, safe_setmetatable);
    lua_setfield(L, -2, "setmetatable");
    lua_setfield(L, LUA_REGISTRYINDEX, "koto.globals");

    /* ("x"):upper() goes through the string metatable; lock it so
     * getmetatable("") cannot hand out the real string table. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    /* Nothing reaches the real global table any more: empty it. */
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
    }
    lua_pop(L, 1);
}
