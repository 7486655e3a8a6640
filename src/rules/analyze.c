/*
 * analyze.c - runs every rule against a reading and its recent history.
 *
 * A rule's check(s, history, settings) returns nil (nothing to say), one
 * finding, or a list of findings:
 *   { bottleneck = "...", severity = "low"|"medium"|"high",
 *     evidence = { ... numbers ... }, suggestions = { "...", ... } }
 * settings are the set's configuration as koto.conf.lua writes it
 * (settings.thresholds.memory.threshold), so a rule that judges what a
 * threshold judges uses the configured value, not a copy of the default.
 * Each rule gets its own copy of the reading and the settings, so one cannot
 * change what the next one sees, and its own budget; a failing rule becomes a finding
 * of category "rule_error" naming file and line, and the others still run.
 *
 * Everything one rule does to the Lua state - copying the reading in,
 * calling check, reading what it returned - happens inside one protected
 * call with the budget armed: a rule's tables may carry metatables, and
 * any allocation may meet the memory cap, so no Lua API call that could
 * raise or run rule code is made outside it.
 */
#include "rules_internal.h"

#include <string.h>

typedef struct {
    json_t *sample, *history, *settings; /* borrowed */
    json_t *out;              /* the findings so far */
    lua_Integer index;        /* of the rule in "koto.rules" */
    char name[128], category[64];
    char source[300];         /* "file:line" of its check function */
} pass_t;

static json_t *rule_error(const pass_t *p, const char *msg)
{
    /* Every error names the rule's file and line, even those Lua reports
     * without a position (the memory cap). */
    const char *colon = strchr(p->source, ':');
    size_t flen = colon ? (size_t)(colon - p->source) : strlen(p->source);
    char text[900];
    if (p->source[0] && strncmp(msg, p->source, flen) != 0)
        snprintf(text, sizeof text, "%s: %s", p->source, msg);
    else
        snprintf(text, sizeof text, "%s", msg);
    json_t *f = json_pack("{s:s s:s s:s s:s s:o s:[]}", "rule", p->name, "category", "rule_error",
                          "severity", "low", "bottleneck", text, "evidence", json_object(),
                          "suggestions");
    if (f && p->source[0])
        json_object_set_new(f, "source", json_string(p->source));
    return f;
}

/* A string field of the rule table at idx into buf; raw, so no rule code runs. */
static void copy_field(lua_State *L, int idx, const char *key, char *buf, size_t len)
{
    lua_pushstring(L, key);
    if (lua_rawget(L, idx) == LUA_TSTRING)
        snprintf(buf, len, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
}

/* Checks and completes one finding (the value on top); appends it, or a
 * rule_error saying what is wrong with it. Raises nothing. */
static void add_finding(lua_State *L, pass_t *p)
{
    char why[400];
    json_t *f = kt__to_json(L, -1, 0);
    if (!f || !json_is_object(f) || !json_is_string(json_object_get(f, "bottleneck"))) {
        snprintf(why, sizeof why, "%s",
                 f ? "a finding needs a string 'bottleneck'"
                   : "a finding must be plain data (tables, UTF-8 strings, numbers, booleans)");
        json_decref(f);
        json_array_append_new(p->out, rule_error(p, why));
        return;
    }
    const char *sev = json_string_value(json_object_get(f, "severity"));
    if (!sev) {
        json_object_set_new(f, "severity", json_string("medium"));
    } else if (kt_severity_parse(sev) < 0) {
        snprintf(why, sizeof why, "severity must be low, medium or high, not '%.40s'", sev);
        json_decref(f);
        json_array_append_new(p->out, rule_error(p, why));
        return;
    }
    json_t *ev = json_object_get(f, "evidence");
    if (!ev || json_is_null(ev))
        json_object_set_new(f, "evidence", json_object());
    json_t *sug = json_object_get(f, "suggestions");
    if (!sug || json_is_null(sug))
        json_object_set_new(f, "suggestions", json_array());
    else if (!json_is_array(sug)) /* a single suggestion: make it a list */
        json_object_set_new(f, "suggestions", json_pack("[O]", sug));
    json_object_set_new(f, "rule", json_string(p->name));
    json_object_set_new(f, "category", json_string(p->category));
    json_object_set_new(f, "source", json_string(p->source));
    json_array_append_new(p->out, f);
}

/* The result of check, on top: nil, one finding, or a list of them. */
static void collect(lua_State *L, pass_t *p)
{
    int t = lua_type(L, -1);
    if (t == LUA_TNIL)
        return;
    if (t != LUA_TTABLE) {
        json_array_append_new(p->out, rule_error(p, "check must return nil, a finding or a list"));
        return;
    }
    /* One finding has a bottleneck; a list of them has [1]. */
    lua_pushliteral(L, "bottleneck");
    int single = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 1);
    if (single) {
        add_finding(L, p);
        return;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1), keys = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        keys++;
    }
    if (keys != n) { /* not a list either: a finding that lacks its bottleneck */
        add_finding(L, p);
        return;
    }
    for (lua_Integer k = 1; k <= n; k++) {
        lua_rawgeti(L, -1, k);
        add_finding(L, p);
        lua_pop(L, 1);
    }
}

/* One rule, in protected mode: argument 1 is the pass. */
static int run_rule(lua_State *L)
{
    pass_t *p = lua_touserdata(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.rules");
    lua_rawgeti(L, -1, p->index);
    int rule = lua_gettop(L);
    if (!lua_istable(L, rule))
        return luaL_error(L, "rule %d is gone", (int)p->index);
    copy_field(L, rule, "name", p->name, sizeof p->name);
    copy_field(L, rule, "category", p->category, sizeof p->category);
    char file[256] = "?";
    copy_field(L, rule, "_file", file, sizeof file);
    lua_pushliteral(L, "check");
    lua_rawget(L, rule);
    int line = 0;
    if (lua_isfunction(L, -1)) {
        lua_Debug ar;
        lua_pushvalue(L, -1);
        if (lua_getinfo(L, ">S", &ar))
            line = ar.linedefined;
    }
    snprintf(p->source, sizeof p->source, "%s:%d", file, line);
    kt__push_json(L, p->sample);
    kt__push_json(L, p->history);
    if (p->settings)
        kt__push_json(L, p->settings);
    else
        lua_pushnil(L); /* out of memory building them: the rules fail, each reported */
    lua_call(L, 3, 1);
    collect(L, p);
    return 0;
}

/* The loop both entry points share: sample and history are borrowed. */
static json_t *analyze(kt_rules_t *r, json_t *sample, json_t *history)
{
    char err[512];
    json_t *out = json_array();
    kt__lstate_t *ls;
    if (kt__rules_borrow(r, &ls, err, sizeof err) != APR_SUCCESS) {
        json_array_append_new(out, json_pack("{s:s s:s s:s s:s s:{} s:[]}", "rule", "*",
                                             "category", "rule_error", "severity", "low",
                                             "bottleneck", err, "evidence", "suggestions"));
        return out;
    }
    lua_State *L = ls->L;
    json_t *settings = kt__conf_nested(&r->conf);
    pass_t p = {.sample = sample, .history = history, .settings = settings, .out = out};
    unsigned failed = 0;
    lua_Integer n = (lua_Integer)r->nrules;
    for (lua_Integer i = 1; i <= n; i++) {
        p.index = i;
        snprintf(p.name, sizeof p.name, "rule %d", (int)i);
        snprintf(p.category, sizeof p.category, "?");
        p.source[0] = '\0';
        lua_settop(L, 0);
        lua_pushcfunction(L, run_rule);
        lua_pushlightuserdata(L, &p);
        if (kt__lstate_call(ls, 1, 0, err, sizeof err) != APR_SUCCESS) {
            json_array_append_new(out, rule_error(&p, err));
            failed++;
        }
    }
    lua_settop(L, 0);
    json_decref(settings);
    /* A rule that failed may have left the state holding much of its cap
     * (a file-level table it keeps growing): start the next caller afresh. */
    if (failed && ls->used > ls->limit / 2)
        kt__lstate_free(ls);
    else
        kt__rules_return(r, ls);
    return out;
}

json_t *kt_rules_analyze_json(kt_rules_t *r, json_t *sample, json_t *history)
{
    json_t *none = NULL;
    if (!history)
        history = none = json_array();
    json_t *out = analyze(r, sample ? sample : json_null(), history);
    json_decref(none);
    return out;
}

json_t *kt_rules_analyze(kt_rules_t *r, const kt_sample_t *s, const kt_hist_point_t *hist,
                         unsigned nhist)
{
    json_t *sample = kt_json_sample(s, 1);
    json_t *history = json_array();
    for (unsigned i = 0; i < nhist; i++)
        json_array_append_new(history, kt_json_history_point(&hist[i]));
    json_t *out = analyze(r, sample, history);
    json_decref(history);
    json_decref(sample);
    return out;
}
