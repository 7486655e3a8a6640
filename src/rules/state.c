/*
 * state.c - one sandboxed Lua state: a counting allocator that enforces the
 * memory cap (returning NULL past it, which Lua turns into a memory error),
 * an instruction-count hook that enforces the budget, text-only loading with
 * a strict per-chunk environment, and the one protected call every entry
 * into Lua goes through.
 */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOOK_EVERY 1000 /* instructions between budget checks */

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    kt__lstate_t *ls = ud;
    /* For a new block, osize is a type tag, not a size. */
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        ls->used -= old;
        return NULL;
    }
    if (nsize > old && ls->used + (nsize - old) > ls->limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        ls->used = ls->used - old + nsize;
    return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    kt__lstate_t *ls;
    lua_getallocf(L, (void **)&ls);
    ls->spent += HOOK_EVERY;
    if (ls->spent > ls->budget) {
        ls->tripped = 1;
        luaL_error(L, "instruction budget of %I exhausted", (lua_Integer)ls->budget);
    }
}

static int on_panic(lua_State *L)
{
    /* Unreachable as long as every call is protected; never continue. */
    kt_log(KT_LOG_ERROR, "unprotected Lua error: %s", lua_tostring(L, -1));
    abort();
}

kt__lstate_t *kt__lstate_new(apr_size_t mem_limit, unsigned budget)
{
    kt__lstate_t *ls = calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    ls->limit = mem_limit ? mem_limit : KT__RULES_DEFAULT_MEM;
    ls->budget = budget ? budget : KT__RULES_DEFAULT_BUDGET;
    ls->L = lua_newstate(capped_alloc, ls);
    if (!ls->L) {
        free(ls);
        return NULL;
    }
    lua_atpanic(ls->L, on_panic);
    kt__sandbox_open(ls->L);
    return ls;
}

void kt__lstate_free(kt__lstate_t *ls)
{
    if (!ls)
        return;
    lua_close(ls->L);
    free(ls);
}

/* __index of a chunk's environment: the sandbox's globals, or an error. */
static int env_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    return luaL_error(L, "unknown global '%s'", luaL_tolstring(L, 2, NULL));
}

static int env_newindex(lua_State *L)
{
    return luaL_error(L, "cannot set global '%s'; declare it local",
                      luaL_tolstring(L, 2, NULL));
}

apr_status_t kt__lstate_load(kt__lstate_t *ls, const char *text, apr_size_t len,
                             const char *name, char *err, apr_size_t errlen)
{
    /* "t": text only; crafted bytecode can crash the VM. */
    return kt__lstate_load_mode(ls, text, len, name, "t", err, errlen);
}

apr_status_t kt__lstate_load_mode(kt__lstate_t *ls, const char *chunk, apr_size_t len,
                                  const char *name, const char *mode, char *err,
                                  apr_size_t errlen)
{
    lua_State *L = ls->L;
    char chunkname[512];
    kt__chunk_name(chunkname, sizeof chunkname, name);
    int rc = luaL_loadbufferx(L, chunk, len, chunkname, mode);
    if (rc != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return rc == LUA_ERRMEM ? KT_EMEMCAP : KT_ESCRIPT;
    }
    /* Each chunk gets an empty environment over the shared read-only globals,
     * so one file's mistakes cannot leak into another's. */
    lua_newtable(L);
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.globals");
    lua_pushcclosure(L, env_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, env_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    if (!lua_setupvalue(L, -2, 1)) /* the chunk's first upvalue is _ENV */
        lua_pop(L, 1);
    return APR_SUCCESS;
}

void kt__name_file(char *err, apr_size_t errlen, const char *path)
{
    if (!*path || strstr(err, path))
        return; /* Lua put its "file:line:" in already */
    char rest[512];
    snprintf(rest, sizeof rest, "%s", err);
    snprintf(err, errlen, "%s: %s", path, rest);
}

static int message_handler(lua_State *L)
{
    if (!lua_isstring(L, 1))
        luaL_tolstring(L, 1, NULL); /* an error object: render it */
    return 1;
}

apr_status_t kt__lstate_call(kt__lstate_t *ls, int nargs, int nres, char *err, apr_size_t errlen)
{
    lua_State *L = ls->L;
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    ls->spent = 0;
    ls->tripped = 0;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    int rc = lua_pcall(L, nargs, nres, base);
    lua_sethook(L, NULL, 0, 0);
    if (rc == LUA_OK) {
        lua_remove(L, base);
        return APR_SUCCESS;
    }
    apr_status_t st = rc == LUA_ERRMEM ? KT_EMEMCAP : ls->tripped ? KT_EBUDGET : KT_ESCRIPT;
    if (rc == LUA_ERRMEM)
        snprintf(err, errlen, "memory cap of %zu KiB exceeded", (size_t)(ls->limit >> 10));
    else
        snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    lua_settop(L, base - 1);
    /* Give back what the failed call left behind before the next caller. */
    lua_gc(L, LUA_GCCOLLECT);
    return st;
}
