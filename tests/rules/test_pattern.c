/*
 * test_pattern.c - the sandbox's string.find, match, gmatch and gsub
 * (src/rules/pattern.c) answer exactly as Lua's own: the same results,
 * captures, positions and error messages, for a corpus of patterns crossed
 * with a corpus of subjects, each through every function and argument shape
 * the driver below exercises. Lua's state is a plain one with its own
 * string library; ours is a sandboxed state as rules and templates get it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <apr_general.h>

#include "rules_internal.h"

/* Runs every operation on (s, p) and serialises what comes back; errors are
 * caught per operation, so one failing call does not hide the others. */
static const char driver[] =
    "local s, p = ...\n"
    "local function ser(...)\n"
    "  local t = {}\n"
    "  for i = 1, select('#', ...) do\n"
    "    local v = select(i, ...)\n"
    "    t[#t + 1] = type(v) .. ':' .. tostring(v)\n"
    "  end\n"
    "  return table.concat(t, ',')\n"
    "end\n"
    "local out = {}\n"
    "local function try(name, f)\n"
    "  local ok, r = TRY(f)\n"
    "  out[#out + 1] = name .. '=' .. (ok and r or ('error: ' .. tostring(r)))\n"
    "end\n"
    "try('find', function() return ser(string.find(s, p)) end)\n"
    "try('find2', function() return ser(string.find(s, p, 2)) end)\n"
    "try('find-3', function() return ser(string.find(s, p, -3)) end)\n"
    "try('find99', function() return ser(string.find(s, p, 99)) end)\n"
    "try('plain', function() return ser(string.find(s, p, 1, true)) end)\n"
    "try('match', function() return ser(string.match(s, p)) end)\n"
    "try('match3', function() return ser(s:match(p, 3)) end)\n"
    "try('gmatch', function()\n"
    "  local t, n = {}, 0\n"
    "  for a, b in string.gmatch(s, p) do\n"
    "    n = n + 1; if n > 50 then break end\n"
    "    t[#t + 1] = ser(a, b)\n"
    "  end\n"
    "  return table.concat(t, ';')\n"
    "end)\n"
    "try('gmatch2', function()\n"
    "  local t = {}\n"
    "  for a in string.gmatch(s, p, 2) do t[#t + 1] = ser(a); if #t > 50 then break end end\n"
    "  return table.concat(t, ';')\n"
    "end)\n"
    "try('gsub', function() return ser(string.gsub(s, p, '<%0>')) end)\n"
    "try('gsub1', function() return ser(string.gsub(s, p, '[%1]', 2)) end)\n"
    "try('gsubpct', function() return ser(string.gsub(s, p, '%%')) end)\n"
    "try('gsubbad', function() return ser(string.gsub(s, p, '%x')) end)\n"
    "try('gsubnum', function() return ser(string.gsub(s, p, 7)) end)\n"
    "try('gsubfn', function()\n"
    "  return ser(string.gsub(s, p, function(...) return '{' .. ser(...) .. '}' end))\n"
    "end)\n"
    "try('gsubnil', function() return ser(string.gsub(s, p, function() return nil end)) end)\n"
    "try('gsubtbl', function() return ser(string.gsub(s, p, { a = 'A', b = false, hello = 1 })) end)\n"
    "try('gsubbadval', function() return ser(string.gsub(s, p, function() return {} end)) end)\n"
    "return table.concat(out, '\\n')\n";

static const char *const patterns[] = {
    "", "a", "^a", "a$", "^$", "$a", "a^", ".", "..", "%a+", "%A+", "%d+", "%D", "%s*",
    "%w+", "%W", "%l%u", "%x+", "%p", "%c", "%g+", "%z", "[abc]", "[^abc]+", "[a-c]+",
    "[%a_][%w_]*", "[]]", "[^]]+", "[a-]", "[-a]", "[%]]", "[%-]", "[a-%%]", "a*", "a+",
    "a-", "a?", "a-b", ".-b", ".*b", "x*", "(a)", "(a*)", "(a)(b)", "()", "()a()", "(()a)",
    "(a)%1", "(%w+)%s*=%s*(%w+)", "%b()", "%b", "%bx", "%f[%w]%w+", "%f[%W]", "%f[%a]",
    "%f", "%fa", "%", "[a", "[", "[^", "(", ")", "(()", "%1", "(a)%2", "%0", "(a%1)",
    "((a)(b))", "(h)(e)(l)(l)(o)", "hello", "o w", "l+", "%.", "%%", "a.c", "%S+$",
    "^(%S+)%s+(%d+)", "[%d%.]+", "^[+-]?%d+$", "(.-)=(.-),", "[\x80-\xff]+", "\0",
    "%f[%z]", "[%w_-]+", "a-$", ".-$", "(a*(.)%w(%s*))", "[%]", "%b%%", "((", "[^%]]",
    "[%a-z]", "[a-%a]", "%f[^\n]", "()()()", "(x?)(y*)", "^%s*(.-)%s*$", "%bab", "[]",
    "[^]", "-", "*", "+a", "?a", "a**", "%1(a)", ".?.?.?a", "[a-c-e]+", "%w-%d",
};

static const char *const subjects[] = {
    "", "a", "aaa", "abc", "hello world", "hello", "key=val, k2=v2,", "(a(b)c)d)",
    "THE (quick) fox", "a]b-c", "x = 12.5", "  padded  ", "a1_b2 c3", "%d%%", "-42",
    "\xc3\xa9t\xc3\xa9", "abab", "aXbXc", "line1\nline2\n",
};

/* The driver's output in L, with TRY bound to what catches errors there. */
static const char *run(lua_State *L, const char *s, size_t ls, const char *p, char *err,
                       size_t errlen)
{
    lua_settop(L, 0);
    if (luaL_loadbuffer(L, driver, sizeof driver - 1, "=driver") != LUA_OK) {
        snprintf(err, errlen, "driver: %s", lua_tostring(L, -1));
        return NULL;
    }
    lua_pushlstring(L, s, ls);
    lua_pushstring(L, p);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        return NULL;
    }
    return lua_tostring(L, -1);
}

/* A catcher for the sandboxed state, which has no pcall: runs f and
 * returns true and its result, or false and the error. */
static int try_call(lua_State *L)
{
    lua_settop(L, 1);
    int rc = lua_pcall(L, 0, 1, 0);
    lua_pushboolean(L, rc == LUA_OK);
    lua_insert(L, -2);
    return 2;
}

static void expect_same(lua_State *ref, kt__lstate_t *ours, const char *s, size_t ls,
                        const char *p)
{
    char e1[512] = "", e2[512] = "";
    const char *want = run(ref, s, ls, p, e1, sizeof e1);
    ours->spent = 0; /* each pair its own budget, as each rule call has */
    const char *got = run(ours->L, s, ls, p, e2, sizeof e2);
    if (!want || !got)
        fail_msg("pattern '%s' on '%s': the driver failed: %s %s", p, s, e1, e2);
    if (strcmp(want, got) != 0)
        fail_msg("pattern '%s' on '%s' (%zu bytes):\nLua:\n%s\nours:\n%s", p, s, ls, want, got);
}

static void test_same_as_lua(void **state)
{
    lua_State *ref = luaL_newstate();
    luaL_openlibs(ref);
    lua_pushcfunction(ref, try_call);
    lua_setglobal(ref, "TRY");

    /* Ours: the sandbox's globals, as a rule sees them, plus the catcher. */
    kt__lstate_t *ours = kt__lstate_new(0, 0);
    assert_non_null(ours);
    lua_State *L = ours->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.globals");
    lua_pushvalue(L, -1);
    lua_pushcfunction(L, try_call);
    lua_setfield(L, -2, "TRY");
    lua_pop(L, 1);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);

    unsigned n = 0;
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
        for (size_t j = 0; j < sizeof subjects / sizeof *subjects; j++, n++)
            expect_same(ref, ours, subjects[j], strlen(subjects[j]), patterns[i]);
        /* A NUL inside the subject is a character like any other. */
        expect_same(ref, ours, "a\0b\0", 4, patterns[i]);
    }
    print_message("%u pattern/subject pairs answer as Lua's own\n", n);
    kt__lstate_free(ours);
    lua_close(ref);
}

int main(void)
{
    apr_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_lua),
    };
    int rc = cmocka_run_group_tests_name("pattern", tests, NULL, NULL);
    apr_terminate();
    return rc;
}
