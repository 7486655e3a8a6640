/*
 * analyze.c - runs every rule against a reading and its recent history.
 *
 * A rule's check(s, history) returns nil (nothing to say), one finding, or
 * a list of findings:
 *   { bottleneck = "...", severity = "low"|"medium"|"high",
 *     evidence = { ... numbers ... }, suggestions = { "...", ... } }
 * Each rule gets its own copy of the reading, so one cannot change what
 * the next one sees, and its own budget; a failing rule becomes a finding
 * of category "rule_error" naming file and line, and the others still run.
 */
#include "rules_internal.h"

#include <string.h>

static json_t *rule_error(lua_State *L, int rule, const char *msg)
{
    lua_getfield(L, rule, "name");
    json_t *f = json_pack("{s:s s:s s:s s:s s:[]}", "rule", lua_tostring(L, -1), "category",
                          "rule_error", "severity", "low", "bottleneck", msg, "suggestions");
    lua_pop(L, 1);
    return f;
}

/* Checks and completes one finding (the table on top); NULL if malformed. */
static json_t *finding(lua_State *L, int rule, const char *source, char *why, size_t len)
{
    json_t *f = kt__to_json(L, -1, 0);
    if (!f || !json_is_object(f) || !json_is_string(json_object_get(f, "bottleneck"))) {
        snprintf(why, len, "%s: a finding needs a string 'bottleneck'", source);
        json_decref(f);
        return NULL;
    }
    const char *sev = json_string_value(json_object_get(f, "severity"));
    if (!sev)
        json_object_set_new(f, "severity", json_string("medium"));
    else if (kt_severity_parse(sev) < 0) {
        snprintf(why, len, "%s: severity must be low, medium or high, not '%s'", source, sev);
        json_decref(f);
        return NULL;
    }
    if (!json_object_get(f, "evidence"))
        json_object_set_new(f, "evidence", json_object());
    json_t *sug = json_object_get(f, "suggestions");
    if (!sug)
        json_object_set_new(f, "suggestions", json_array());
    else if (!json_is_array(sug)) /* a single suggestion: make it a list */
        json_object_set_new(f, "suggestions", json_pack("[O]", sug));
    lua_getfield(L, rule, "name");
    json_object_set_new(f, "rule", json_string(lua_tostring(L, -1)));
    lua_getfield(L, rule, "category");
    json_object_set_new(f, "category", json_string(lua_tostring(L, -1)));
    lua_pop(L, 2);
    json_object_set_new(f, "source", json_string(source));
    return f;
}

json_t *kt_rules_analyze(kt_rules_t *r, const kt_sample_t *s, const kt_hist_point_t *hist,
                         unsigned nhist)
{
    char err[512];
    json_t *out = json_array();
    kt__lstate_t *ls = kt__rules_borrow(r, err, sizeof err);
    if (!ls) {
        json_array_append_new(out, json_pack("{s:s s:s s:s s:s s:[]}", "rule", "*", "category",
                                             "rule_error", "severity", "low", "bottleneck", err,
                                             "suggestions"));
        return out;
    }
    lua_State *L = ls->L;
    json_t *sample = kt_json_sample(s, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.rules");
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        int rule = lua_gettop(L);
        lua_getfield(L, rule, "check");
        lua_Debug ar;
        lua_pushvalue(L, -1);
        lua_getinfo(L, ">S", &ar);
        char source[300];
        lua_getfield(L, rule, "_file");
        snprintf(source, sizeof source, "%s:%d", lua_tostring(L, -1), ar.linedefined);
        lua_pop(L, 1);
        kt__push_json(L, sample);
        kt__push_history(L, hist, nhist);
        if (kt__lstate_call(ls, 2, 1, err, sizeof err) != 0) {
            json_array_append_new(out, rule_error(L, rule, err));
            lua_settop(L, rule - 1);
            continue;
        }
        if (lua_istable(L, -1)) {
            /* One finding has a bottleneck; a list of them has [1]. */
            int list = lua_getfield(L, -1, "bottleneck") == LUA_TNIL;
            lua_pop(L, 1);
            lua_Integer count = list ? luaL_len(L, -1) : 1;
            for (lua_Integer k = 1; k <= count; k++) {
                if (list)
                    lua_geti(L, -1, k);
                json_t *f = finding(L, rule, source, err, sizeof err);
                if (list)
                    lua_pop(L, 1);
                json_array_append_new(out, f ? f : rule_error(L, rule, err));
            }
        } else if (!lua_isnil(L, -1)) {
            snprintf(err, sizeof err, "%s: check must return nil, a finding or a list", source);
            json_array_append_new(out, rule_error(L, rule, err));
        }
        lua_settop(L, rule - 1);
    }
    lua_settop(L, 0);
    json_decref(sample);
    kt__rules_return(r, ls);
    return out;
}
