/*
 * maint.c - the `maintenance` list of koto.conf.lua: recurring windows in
 * local time during which events are logged but not notified.
 *
 *   maintenance = {
 *     { name = "backups", days = { "sun" }, start = "02:00", ["end"] = "04:00" },
 *     { name = "nightly", start = "23:30", ["end"] = "00:30", types = { "disk_full" } },
 *   }
 *
 * A window is judged on the wall clock (the local time zone, TZ), so on the
 * night a daylight-saving change skips or repeats an hour it is as long as
 * the clock says: 02:00-04:00 covers one real hour when 02:00-03:00 is
 * skipped, and three when it is repeated.
 */
#include "rules_internal.h"

#include <stdio.h>
#include <string.h>

#define LIST "maintenance"

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

void kt__conf_describe_maint(FILE *to)
{
    static const char *const lines[][3] = {
        {LIST, "list", "recurring windows (local time) whose events are not notified"},
        {LIST "[].name", "string", "the window's name: events name it as what silenced them"},
        {LIST "[].days", "list", "sun, mon ... sat: the days it opens (default: every day)"},
        {LIST "[].start", "string", "HH:MM, local time"},
        {LIST "[].end", "string", "HH:MM, local time; at or before start: the next day"},
        {LIST "[].types", "list", "only events of these types, built-in or conditions' (default: all)"},
        {LIST "[].subjects", "list", "only these subjects (default: all)"},
    };
    for (size_t i = 0; i < KT_ARRAY_SIZE(lines); i++)
        fprintf(to, "%-36s %-8s %-13s %s\n", lines[i][0], lines[i][1], "", lines[i][2]);
}

static int parse_hhmm(const char *s, unsigned *out)
{
    unsigned h, m;
    char extra;
    if (!s || sscanf(s, "%2u:%2u%c", &h, &m, &extra) != 2 || h > 23 || m > 59 || strlen(s) != 5)
        return -1;
    *out = h * 60 + m;
    return 0;
}

/* The strings of list field at the table at t; -1 on a bad one. */
static int strings(lua_State *L, int t, const char *field, apr_pool_t *pool, const char ***out,
                   unsigned *n)
{
    *n = 0;
    lua_getfield(L, t, field);
    int rc = 0;
    if (!lua_isnil(L, -1)) {
        lua_Integer count = lua_istable(L, -1) ? luaL_len(L, -1) : -1;
        if (count < 1 || count > 64)
            rc = -1;
        else
            *out = apr_pcalloc(pool, sizeof **out * (apr_size_t)count);
        for (lua_Integer i = 1; rc == 0 && i <= count; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_type(L, -1) != LUA_TSTRING || !lua_rawlen(L, -1))
                rc = -1;
            else
                (*out)[(*n)++] = apr_pstrdup(pool, lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return rc;
}

static const char *field_string(lua_State *L, int t, const char *field, apr_pool_t *pool)
{
    lua_getfield(L, t, field);
    const char *v = lua_type(L, -1) == LUA_TSTRING ? apr_pstrdup(pool, lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return v;
}

static int read_window(lua_State *L, int t, unsigned index, kt_maint_conf_t *w, apr_pool_t *pool,
                       char *msg, apr_size_t len)
{
    static const char *const known[] = {"name", "days", "start", "end", "types", "subjects"};
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int ok = 0;
        for (size_t i = 0; i < KT_ARRAY_SIZE(known) && lua_type(L, -2) == LUA_TSTRING; i++)
            ok |= strcmp(known[i], lua_tostring(L, -2)) == 0;
        if (!ok) {
            snprintf(msg, len, LIST "[%u] has an unknown field '%s' (kotod --help-config)", index,
                     lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    w->name = field_string(L, t, "name", pool);
    if (!w->name || !*w->name) {
        snprintf(msg, len, LIST "[%u].name must be a non-empty string", index);
        return -1;
    }
    if (parse_hhmm(field_string(L, t, "start", pool), &w->start_min) ||
        parse_hhmm(field_string(L, t, "end", pool), &w->end_min)) {
        snprintf(msg, len, LIST "[%u] needs start and end as HH:MM (e.g. \"02:00\")", index);
        return -1;
    }
    const char **days = NULL, **types = NULL, **subjects = NULL;
    unsigned ndays, ntypes;
    if (strings(L, t, "days", pool, &days, &ndays) || strings(L, t, "types", pool, &types, &ntypes) ||
        strings(L, t, "subjects", pool, &subjects, &w->nsubjects)) {
        snprintf(msg, len, LIST "[%u]: days, types and subjects are lists of strings", index);
        return -1;
    }
    w->days = ndays ? 0 : 0x7f;
    for (unsigned i = 0; i < ndays; i++) {
        unsigned d = 0;
        while (d < 7 && strcmp(day_names[d], days[i]) != 0)
            d++;
        if (d == 7) {
            snprintf(msg, len, LIST "[%u].days: '%s' is not one of sun, mon, tue, wed, thu, fri, sat",
                     index, days[i]);
            return -1;
        }
        w->days |= 1u << d;
    }
    for (unsigned i = 0; i < ntypes; i++) {
        int ty = kt_event_type_parse(types[i]);
        if (ty < 0) {
            snprintf(msg, len, LIST "[%u].types names an unknown event type '%s'", index, types[i]);
            return -1;
        }
        kt_type_set_add(&w->types, ty);
    }
    w->subjects = subjects;
    return 0;
}

int kt__conf_set_maint(kt_conf_t *conf, lua_State *L, int idx, apr_pool_t *pool, char *msg,
                       apr_size_t len)
{
    idx = lua_absindex(L, idx);
    lua_Integer n = lua_istable(L, idx) ? luaL_len(L, idx) : -1;
    if (n < 0 || n > 64) {
        snprintf(msg, len, LIST " must be a list of at most 64 window tables");
        return -1;
    }
    kt_maint_conf_t *list = apr_pcalloc(pool, sizeof *list * (apr_size_t)(n ? n : 1));
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        int rc = lua_istable(L, -1)
                     ? read_window(L, lua_absindex(L, -1), (unsigned)i, &list[i - 1], pool, msg, len)
                     : (snprintf(msg, len, LIST "[%u] must be a table", (unsigned)i), -1);
        lua_pop(L, 1);
        if (rc)
            return -1;
    }
    conf->maintenance = list;
    conf->nmaintenance = (unsigned)n;
    return 0;
}

int kt_maint_open(const kt_maint_conf_t *w, apr_time_t t)
{
    apr_time_exp_t x;
    if (apr_time_exp_lt(&x, t) != APR_SUCCESS)
        return 0;
    unsigned now = (unsigned)(x.tm_hour * 60 + x.tm_min), today = (unsigned)x.tm_wday;
    unsigned yesterday = (today + 6) % 7;
    if (w->end_min > w->start_min)
        return (w->days >> today & 1) && now >= w->start_min && now < w->end_min;
    /* Across midnight: the evening of an opening day, or the morning after one. */
    return ((w->days >> today & 1) && now >= w->start_min) ||
           ((w->days >> yesterday & 1) && now < w->end_min);
}

json_t *kt__conf_maint_json(const kt_conf_t *conf)
{
    json_t *list = json_array();
    for (unsigned i = 0; i < conf->nmaintenance; i++) {
        const kt_maint_conf_t *w = &conf->maintenance[i];
        json_t *days = json_array(), *types = json_array(), *subjects = json_array();
        for (unsigned d = 0; d < 7; d++)
            if (w->days >> d & 1)
                json_array_append_new(days, json_string(day_names[d]));
        for (int ty = 0, nt = kt_event_type_count(); ty < nt; ty++)
            if (kt_type_set_has(&w->types, ty))
                json_array_append_new(types, json_string(kt_event_type_name(ty)));
        for (unsigned s = 0; s < w->nsubjects; s++)
            json_array_append_new(subjects, json_string(w->subjects[s]));
        char start[8], end[8];
        snprintf(start, sizeof start, "%02u:%02u", w->start_min / 60 % 100, w->start_min % 60);
        snprintf(end, sizeof end, "%02u:%02u", w->end_min / 60 % 100, w->end_min % 60);
        json_array_append_new(list, json_pack("{s:s s:o s:s s:s s:o s:o}", "name", w->name, "days",
                                              days, "start", start, "end", end, "types", types,
                                              "subjects", subjects));
    }
    return list;
}

void kt__conf_copy_maint(kt_conf_t *dst, const kt_conf_t *src, apr_pool_t *pool)
{
    if (!src->nmaintenance)
        return;
    kt_maint_conf_t *list = apr_pmemdup(pool, src->maintenance, sizeof *list * src->nmaintenance);
    for (unsigned i = 0; i < src->nmaintenance; i++) {
        list[i].name = apr_pstrdup(pool, list[i].name);
        if (list[i].nsubjects) {
            const char **s = apr_pcalloc(pool, sizeof *s * list[i].nsubjects);
            for (unsigned j = 0; j < list[i].nsubjects; j++)
                s[j] = apr_pstrdup(pool, list[i].subjects[j]);
            list[i].subjects = s;
        }
    }
    dst->maintenance = list;
}
