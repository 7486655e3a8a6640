/*
 * conditions.c - conditions written in Lua: at each reading, every
 * condition's value(r) becomes a verdict the monitor judges with its own
 * state machine (hold-down, clearing margin, severity, flap damping), so a
 * condition's events are ordinary events: stored, streamed, notified,
 * silenced and remediable like cpu_high.
 *
 * A file conditions/<name>.lua returns one condition or a list:
 *   { name = "load_high", value = function(r) return r.load["1"] / r.ncpu end,
 *     above = 2, clear_below = 1.5, hold = 5,
 *     severity = { low = 2, medium = 3, high = 4 },
 *     message = "load {value:.2f} per CPU" }
 * `below` instead of `above` fires on low values (clear_above then). With
 * `each` ("filesystems", "interfaces", "disks" or "processes") value(r, x)
 * is called once per item x, optionally only those whose name matches the
 * Lua pattern `match`, and each item is a subject judged on its own.
 *
 * Each call runs in protected mode with the set's budget and memory cap.
 * The reading is copied into Lua once per reading and shared by the
 * conditions (a copy each would cost more than the reading itself), every
 * table of it read-only (bridge.c): a condition that writes to it fails
 * like any other, and the next one sees the reading as it was. A condition that fails is switched off
 * for the life of the set and raises a rule_error condition naming its
 * file:line, which resolves once a reload brings a set where it works; the
 * others go on. A condition's identity is its name and a digest of its
 * file, so a reload that leaves the file alone keeps its state (a
 * condition holding stays held, without a second "started").
 */
#include "rules_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const eaches[] = {"filesystems", "interfaces", "disks", "processes"};

/* The Lua condition's definition, read once at load. */
struct kt__cond_def_t {
    char name[64];
    char key[120];      /* name#digest: what the monitor keys its state on */
    char source[96];    /* file:line of value */
    int type;
    int below, each;    /* each: -1 none, else an index into eaches */
    double threshold, clear;
    unsigned hold;
    double bands[3];
    int by_memory;
    char message[256];
    char match[128];
    lua_Integer index;  /* in the registry's "koto.conditions" */
    int disabled;       /* failed: only the set's ingesting thread reads and writes it */
    char error[200];
};

static uint64_t digest(const char *text, apr_size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (apr_size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211ull;
    return h;
}

static int number_field(lua_State *L, const char *key, double *out)
{
    int t = lua_getfield(L, -1, key);
    if (t == LUA_TNUMBER)
        *out = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return t == LUA_TNUMBER ? 1 : t == LUA_TNIL ? 0 : -1;
}

static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* One condition table on top: checked, described into d. msg says why not. */
static int read_def(lua_State *L, const kt__file_t *f, struct kt__cond_def_t *d, char *msg,
                    size_t len)
{
    memset(d, 0, sizeof *d);
    d->each = -1;
    int line = 1;
    if (lua_getfield(L, -1, "value") == LUA_TFUNCTION) {
        lua_Debug ar;
        lua_pushvalue(L, -1);
        if (lua_getinfo(L, ">S", &ar))
            line = ar.linedefined;
    }
    int has_value = lua_isfunction(L, -1);
    lua_pop(L, 1);
    snprintf(d->source, sizeof d->source, "%s:%d", f->path, line);
    if (lua_getfield(L, -1, "name") == LUA_TSTRING)
        snprintf(d->name, sizeof d->name, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    if (!valid_name(d->name)) {
        snprintf(msg, len, "a condition needs a 'name' of a-z, 0-9 and _");
        return line;
    }
    if (!has_value) {
        snprintf(msg, len, "condition %s needs a 'value' function", d->name);
        return line;
    }
    double above = NAN, below = NAN, clear = NAN;
    int ha = number_field(L, "above", &above), hb = number_field(L, "below", &below);
    if (ha < 0 || hb < 0 || ha + hb != 1) {
        snprintf(msg, len, "condition %s needs one number: 'above' or 'below'", d->name);
        return line;
    }
    d->below = hb;
    d->threshold = hb ? below : above;
    int hc = number_field(L, d->below ? "clear_above" : "clear_below", &clear);
    if (hc < 0 || (hc && (d->below ? clear < d->threshold : clear > d->threshold))) {
        snprintf(msg, len, "condition %s: '%s' must be a number on the quiet side of the threshold",
                 d->name, d->below ? "clear_above" : "clear_below");
        return line;
    }
    d->clear = hc ? clear : d->threshold;
    double hold = 1;
    if (number_field(L, "hold", &hold) < 0 || hold < 1 || hold > 10000) {
        snprintf(msg, len, "condition %s: 'hold' must be 1..10000 readings", d->name);
        return line;
    }
    d->hold = (unsigned)hold;
    d->bands[0] = d->threshold;
    d->bands[1] = d->bands[2] = NAN;
    int t = lua_getfield(L, -1, "severity");
    if (t == LUA_TTABLE) {
        static const char *const names[] = {"low", "medium", "high"};
        for (int b = 0; b < 3; b++)
            if (number_field(L, names[b], &d->bands[b]) < 0) {
                lua_pop(L, 1);
                snprintf(msg, len, "condition %s: severity.%s must be a number", d->name, names[b]);
                return line;
            }
    } else if (t == LUA_TSTRING) {
        /* One fixed severity: every band from the threshold on. */
        int sev = kt_severity_parse(lua_tostring(L, -1));
        if (sev < 0) {
            lua_pop(L, 1);
            snprintf(msg, len, "condition %s: severity must be low, medium, high or bands",
                     d->name);
            return line;
        }
        for (int b = 1; b <= sev; b++)
            d->bands[b] = d->threshold;
    } else if (t != LUA_TNIL) {
        lua_pop(L, 1);
        snprintf(msg, len, "condition %s: severity must be low, medium, high or bands", d->name);
        return line;
    }
    lua_pop(L, 1);
    snprintf(d->message, sizeof d->message, "%s {value:.2f}", d->name);
    if ((t = lua_getfield(L, -1, "message")) == LUA_TSTRING)
        snprintf(d->message, sizeof d->message, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "each") == LUA_TSTRING) {
        for (size_t k = 0; k < KT_ARRAY_SIZE(eaches); k++)
            if (strcmp(eaches[k], lua_tostring(L, -1)) == 0)
                d->each = (int)k;
        if (d->each < 0) {
            lua_pop(L, 1);
            snprintf(msg, len, "condition %s: 'each' must be filesystems, interfaces, disks or "
                     "processes", d->name);
            return line;
        }
    }
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "match") == LUA_TSTRING)
        snprintf(d->match, sizeof d->match, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "evidence") == LUA_TSTRING)
        d->by_memory = strcmp(lua_tostring(L, -1), "memory") == 0;
    lua_pop(L, 1);
    return 0;
}

apr_status_t kt__check_conditions(kt_rules_t *r, lua_State *L, const kt__file_t *f,
                                  int describe, char *err, apr_size_t errlen)
{
    if (!lua_istable(L, -1)) {
        snprintf(err, errlen, "%s:1: a conditions file must return a condition or a list", f->path);
        return KT_ESCRIPT;
    }
    lua_getfield(L, -1, "name");
    int single = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (single) { /* one condition: make it a list of one */
        lua_createtable(L, 1, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.conditions");
    lua_insert(L, -2); /* registry list, file's list */
    lua_Integer n = luaL_len(L, -1);
    uint64_t dig = digest(f->text, f->len);
    for (lua_Integer i = 1; i <= n; i++) {
        struct kt__cond_def_t d;
        char msg[200];
        if (lua_geti(L, -1, i) != LUA_TTABLE) {
            snprintf(err, errlen, "%s:1: condition %lld is not a table", f->path, (long long)i);
            return KT_ESCRIPT;
        }
        int line = read_def(L, f, &d, msg, sizeof msg);
        if (line) {
            snprintf(err, errlen, "%s:%d: %s", f->path, line, msg);
            return KT_ESCRIPT;
        }
        lua_Integer index = luaL_len(L, -3) + 1;
        lua_seti(L, -3, index);
        if (!describe)
            continue;
        for (unsigned k = 0; k < r->nconds; k++)
            if (strcmp(r->conds[k].name, d.name) == 0) {
                snprintf(err, errlen, "%s: condition %s is defined twice (also at %s)", d.source,
                         d.name, r->conds[k].source);
                return KT_ESCRIPT;
            }
        if ((d.type = kt_event_type_register(d.name)) < 0) {
            snprintf(err, errlen, "%s: condition %s: %s", d.source, d.name,
                     kt_event_type_parse(d.name) >= 0 ? "a built-in event type has that name"
                                                      : "too many condition names");
            return KT_ESCRIPT;
        }
        if (r->nconds == KT__RULES_MAX_CONDS) {
            snprintf(err, errlen, "%s: more than %d conditions", d.source, KT__RULES_MAX_CONDS);
            return KT_ETOOBIG;
        }
        snprintf(d.key, sizeof d.key, "%s#%016llx.%lld", d.name, (unsigned long long)dig,
                 (long long)i);
        d.index = index;
        /* Not zeroed: each entry is written whole, and the pages of the
         * ones no file fills (120 KiB in all) are never touched. */
        if (!r->conds)
            r->conds = apr_palloc(r->pool, sizeof *r->conds * KT__RULES_MAX_CONDS);
        r->conds[r->nconds++] = d;
    }
    lua_pop(L, 2);
    return APR_SUCCESS;
}

unsigned kt_rules_nconditions(const kt_rules_t *r) { return r->nconds; }

json_t *kt_rules_conditions_json(const kt_rules_t *r)
{
    json_t *list = json_array();
    for (unsigned i = 0; i < r->nconds; i++) {
        const struct kt__cond_def_t *d = &r->conds[i];
        json_t *c = json_pack("{s:s s:s s:s s:o s:o s:I}", "name", d->name, "key", d->key,
                              "source", d->source, d->below ? "below" : "above",
                              kt_json_num(d->threshold), d->below ? "clear_above" : "clear_below",
                              kt_json_num(d->clear), "hold", (json_int_t)d->hold);
        json_object_set_new(c, "severity",
                            json_pack("{s:o s:o s:o}", "low", kt_json_num(d->bands[0]), "medium",
                                      kt_json_num(d->bands[1]), "high", kt_json_num(d->bands[2])));
        json_object_set_new(c, "each", d->each >= 0 ? json_string(eaches[d->each]) : json_null());
        json_object_set_new(c, "match", d->match[0] ? json_string(d->match) : json_null());
        json_array_append_new(list, c);
    }
    return list;
}

void kt_rules_conditions_reset(kt_rules_t *r)
{
    for (unsigned i = 0; i < r->nconds; i++)
        r->conds[i].disabled = 0;
}

/* ---- formatting the message ------------------------------------------------------------- */

/* "{value:.2f} on {subject}": {name}, {subject}, {value}, {threshold}, with
 * an optional :.Nf (or :d) for the numbers. Anything else is copied. */
static void format_message(const struct kt__cond_def_t *d, const char *subject, double value,
                           char *buf, size_t len)
{
    size_t o = 0;
    const char *p = d->message;
    while (*p && o + 1 < len) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close || close - p > 40) {
            buf[o++] = *p++;
            continue;
        }
        char field[48];
        snprintf(field, sizeof field, "%.*s", (int)(close - p - 1), p + 1);
        char *colon = strchr(field, ':');
        int prec = -1;
        if (colon) {
            *colon = '\0';
            if (colon[1] == '.' && colon[2] >= '0' && colon[2] <= '9')
                prec = colon[2] - '0';
            else if (colon[1] == 'd')
                prec = 0;
        }
        double num = NAN;
        const char *str = NULL;
        if (strcmp(field, "value") == 0)
            num = value;
        else if (strcmp(field, "threshold") == 0)
            num = d->threshold;
        else if (strcmp(field, "name") == 0)
            str = d->name;
        else if (strcmp(field, "subject") == 0)
            str = subject;
        else {
            buf[o++] = *p++;
            continue;
        }
        int w;
        if (str)
            w = snprintf(buf + o, len - o, "%s", str);
        else if (!kt_known(num))
            w = snprintf(buf + o, len - o, "unknown");
        else if (prec >= 0)
            w = snprintf(buf + o, len - o, "%.*f", prec, num);
        else
            w = snprintf(buf + o, len - o, "%.4g", num);
        o += w > 0 ? (size_t)w : 0;
        if (o >= len)
            o = len - 1;
        p = close + 1;
    }
    buf[o] = '\0';
}

/* ---- one reading ------------------------------------------------------------------------- */

typedef struct {
    struct kt__cond_def_t *d;
    const kt_sample_t *s;
    json_t *made;      /* the reading's members made into JSON for Lua this tick */
    kt_mon_verdict_t *out;
    unsigned n, max;
} pass_t;

static void add_verdict(pass_t *p, const char *subject, double value)
{
    if (p->n == p->max)
        return;
    const struct kt__cond_def_t *d = p->d;
    kt_mon_verdict_t *v = &p->out[p->n++];
    v->type = d->type;
    snprintf(v->key, sizeof v->key, "%s", d->key);
    snprintf(v->subject, sizeof v->subject, "%s", subject);
    v->value = value;
    v->below = d->below;
    v->threshold = d->threshold;
    v->clear = d->clear;
    v->hold = d->hold;
    memcpy(v->bands, d->bands, sizeof v->bands);
    v->by_memory = d->by_memory;
    format_message(d, subject, value, v->message, sizeof v->message);
    snprintf(v->source, sizeof v->source, "%s", d->source);
}

/* value's result on top: a number, or nil (unknown). Raises on anything else. */
static double result(lua_State *L, const struct kt__cond_def_t *d)
{
    if (lua_isnil(L, -1))
        return NAN;
    if (lua_type(L, -1) == LUA_TNUMBER)
        return lua_tonumber(L, -1);
    if (lua_isboolean(L, -1)) /* true: holds; false: does not */
        return lua_toboolean(L, -1) ? 1 : 0;
    luaL_error(L, "%s: value must return a number, a boolean or nil, not a %s", d->source,
               luaL_typename(L, -1));
    return NAN;
}

/* The name item i of each's list goes by: the reading's tables (r.filesystems,
 * r.network, r.disks) hold the sample's items one for one, in its order. */
static const char *item_name(const kt_sample_t *s, int each, size_t i)
{
    const char *name =
        each == 0 ? s->fs[i].mount_point : each == 1 ? s->net[i].name : s->disks[i].name;
    return name ? name : "";
}

/* The reading as Lua sees it, built once per reading in protected mode
 * (argument 1 is the pass) and kept in the registry for every condition. */
static int push_reading(lua_State *L)
{
    pass_t *p = lua_touserdata(L, 1);
    kt__push_sample_readonly(L, p->s, p->made);
    lua_setfield(L, LUA_REGISTRYINDEX, "koto.reading");
    return 0;
}

/* A pattern with no magic character (but a leading ^) is matched here,
 * not through Lua: 1 or 0, or -1 when it needs Lua's matcher. */
static int plain_match(const char *pattern, const char *name)
{
    int anchored = *pattern == '^';
    const char *lit = pattern + anchored;
    if (strpbrk(lit, "^$*+?.([%-"))
        return -1;
    return anchored ? strncmp(name, lit, strlen(lit)) == 0 : strstr(name, lit) != NULL;
}

/* One condition in protected mode: argument 1 is the pass. */
static int run_condition(lua_State *L)
{
    pass_t *p = lua_touserdata(L, 1);
    const struct kt__cond_def_t *d = p->d;
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.conditions");
    lua_rawgeti(L, -1, p->d->index);
    lua_getfield(L, -1, "value");
    int fn = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.reading");
    int reading = lua_gettop(L);
    if (d->each < 0) {
        lua_pushvalue(L, fn);
        lua_pushvalue(L, reading);
        lua_call(L, 1, 1);
        add_verdict(p, "", result(L, d));
        return 0;
    }
    if (d->each == 3) { /* processes: only those matched go to Lua */
        if (d->match[0]) {
            lua_getfield(L, LUA_REGISTRYINDEX, "koto.globals");
            lua_getfield(L, -1, "string");
            lua_getfield(L, -1, "find"); /* the sandbox's: budgeted like any pattern */
            lua_replace(L, -3);
            lua_pop(L, 1);
        }
        int find = lua_gettop(L);
        for (unsigned i = 0; i < p->s->nprocs; i++) {
            const kt_proc_t *pr = &p->s->procs[i];
            int plain = d->match[0] ? plain_match(d->match, pr->name ? pr->name : "") : 1;
            if (plain == 0)
                continue;
            if (plain < 0) {
                lua_pushvalue(L, find);
                lua_pushstring(L, pr->name ? pr->name : "");
                lua_pushstring(L, d->match);
                lua_call(L, 2, 1);
                int hit = !lua_isnil(L, -1);
                lua_pop(L, 1);
                if (!hit)
                    continue;
            }
            char subject[160];
            snprintf(subject, sizeof subject, "%s (pid %lld)", pr->name ? pr->name : "?",
                     (long long)pr->pid);
            json_t *item = kt_json_proc(pr);
            lua_pushvalue(L, fn);
            lua_pushvalue(L, reading);
            kt__push_json(L, item);
            json_decref(item);
            lua_call(L, 2, 1);
            add_verdict(p, subject, result(L, d));
            lua_pop(L, 1);
        }
        return 0;
    }
    /* The items are the reading's own tables, the ones r holds. */
    static const char *const lists[] = {"filesystems", "network", "disks"};
    lua_pushstring(L, lists[d->each]);
    lua_gettable(L, reading); /* through the read-only proxy */
    int list = lua_gettop(L);
    if (d->match[0]) {
        lua_getfield(L, LUA_REGISTRYINDEX, "koto.globals");
        lua_getfield(L, -1, "string");
        lua_getfield(L, -1, "find"); /* the sandbox's: budgeted like any pattern */
        lua_replace(L, -3);
        lua_pop(L, 1);
    }
    int find = lua_gettop(L);
    size_t n = d->each == 0 ? p->s->nfs : d->each == 1 ? p->s->nnet : p->s->ndisks;
    for (size_t i = 0; i < n && lua_istable(L, list); i++) {
        const char *name = item_name(p->s, d->each, i);
        if (d->match[0]) {
            lua_pushvalue(L, find);
            lua_pushstring(L, name);
            lua_pushstring(L, d->match);
            lua_call(L, 2, 1);
            int hit = !lua_isnil(L, -1);
            lua_pop(L, 1);
            if (!hit)
                continue;
        }
        char subject[160];
        snprintf(subject, sizeof subject, "%s", *name ? name : "?");
        lua_pushvalue(L, fn);
        lua_pushvalue(L, reading);
        lua_geti(L, list, (lua_Integer)i + 1);
        lua_call(L, 2, 1);
        add_verdict(p, subject, result(L, d));
        lua_pop(L, 1);
    }
    return 0;
}

static void add_error(pass_t *p, const struct kt__cond_def_t *d)
{
    if (p->n == p->max)
        return;
    kt_mon_verdict_t *v = &p->out[p->n++];
    memset(v, 0, sizeof *v);
    v->type = KT_EV_RULE_ERROR;
    snprintf(v->key, sizeof v->key, "%s", d->key);
    snprintf(v->subject, sizeof v->subject, "%s", d->source);
    v->value = 1;
    v->threshold = v->clear = 0.5;
    v->hold = 1;
    v->bands[0] = v->bands[1] = 0.5; /* medium: something the user wrote stopped working */
    v->bands[2] = NAN;
    snprintf(v->message, sizeof v->message, "condition %.60s switched off: %.160s", d->name,
             d->error);
    snprintf(v->source, sizeof v->source, "%s", d->source);
}

/* After the reading's expiry: what the pass made. */
static void pass_free(pass_t *p)
{
    json_decref(p->made);
}

unsigned kt_rules_conditions(kt_rules_t *r, const kt_sample_t *s, kt_mon_verdict_t *out,
                             unsigned max)
{
    if (!r->nconds)
        return 0;
    char err[400];
    kt__lstate_t *ls;
    if (kt__rules_borrow(r, &ls, err, sizeof err) != APR_SUCCESS) {
        kt_log(KT_LOG_WARN, "conditions: %s", err);
        return 0;
    }
    pass_t p = {.s = s, .made = json_array(), .out = out, .max = max};
    unsigned failed = 0;
    lua_settop(ls->L, 0);
    lua_pushcfunction(ls->L, push_reading);
    lua_pushlightuserdata(ls->L, &p);
    if (kt__lstate_call(ls, 1, 0, err, sizeof err) != APR_SUCCESS) {
        kt_log(KT_LOG_WARN, "conditions: the reading: %s", err);
        kt__lstate_free(ls);
        pass_free(&p);
        return 0;
    }
    for (unsigned i = 0; i < r->nconds; i++) {
        struct kt__cond_def_t *d = &r->conds[i];
        if (d->disabled) {
            add_error(&p, d);
            continue;
        }
        unsigned first = p.n;
        p.d = d;
        lua_settop(ls->L, 0);
        lua_pushcfunction(ls->L, run_condition);
        lua_pushlightuserdata(ls->L, &p);
        if (kt__lstate_call(ls, 1, 0, err, sizeof err) != APR_SUCCESS) {
            /* Its verdicts of this reading go with it: its subjects are no
             * longer judged, and the error says why. */
            p.n = first;
            d->disabled = 1;
            char path[96];
            snprintf(path, sizeof path, "%s", d->source);
            char *colon = strrchr(path, ':');
            if (colon)
                *colon = '\0';
            kt__name_file(err, sizeof err, path);
            snprintf(d->error, sizeof d->error, "%.*s", (int)sizeof d->error - 1, err);
            kt_log(KT_LOG_WARN, "condition %s (%s) switched off: %s", d->name, d->source, err);
            add_error(&p, d);
            failed++;
        }
    }
    lua_settop(ls->L, 0);
    lua_getfield(ls->L, LUA_REGISTRYINDEX, "koto.reading");
    kt__readonly_expire(ls->L, -1);
    lua_pushnil(ls->L);
    lua_setfield(ls->L, LUA_REGISTRYINDEX, "koto.reading");
    lua_settop(ls->L, 0);
    pass_free(&p);
    if (failed && ls->used > ls->limit / 2)
        kt__lstate_free(ls);
    else
        kt__rules_return(r, ls);
    return p.n;
}
