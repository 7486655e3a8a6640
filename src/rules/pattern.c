/*
 * pattern.c - string.find, match, gmatch and gsub for rules and templates,
 * with Lua's pattern language and a matcher that pays for its steps.
 *
 * Lua's own matcher runs inside one C call, where the instruction hook
 * never fires: "a-a-a-a-a-a-a-a-b" against a few hundred a's backtracks for
 * hours, and a rule holding it would hold a worker and the rules lock with
 * it. This matcher implements the same language (classes, sets, the four
 * quantifiers, anchors, captures and position captures, back-references,
 * %b and %f) and charges every step to the calling state's instruction
 * budget, so a pattern bomb ends like any other runaway rule: "instruction
 * budget of N exhausted", reported with the rule's file:line. The four
 * functions replace the string library's in the sandbox (sandbox.c), so
 * ("x"):match(...) uses them too. Tests compare them with Lua's own on a
 * corpus of patterns and subjects (tests/rules).
 */
#include "rules_internal.h"

#include <ctype.h>
#include <string.h>

#define MAX_CAPTURES 32 /* as LUA_MAXCAPTURES */
#define MAX_DEPTH 200   /* as Lua's matchdepth: deeper is "pattern too complex" */
#define CAP_OPEN (-1)   /* a capture begun and not yet closed */
#define CAP_POSITION (-2)
#define STEP_CHUNK 256  /* steps between budget checks */
/* Budget units per step: a matcher step takes about twice as long as a VM
 * instruction (bench/rules/bench_pattern), and the budget is meant as time. */
#define STEP_WEIGHT 2

typedef struct {
    const char *src, *src_end, *pat_end;
    lua_State *L;
    kt__lstate_t *ls;
    unsigned steps, depth, level;
    struct {
        const char *at;
        ptrdiff_t len;
    } cap[MAX_CAPTURES];
} matcher_t;

/* One step of work; every CHUNK steps the state's budget is charged, and
 * past it the call fails as the instruction hook would fail it. */
static void step(matcher_t *m)
{
    if (++m->steps < STEP_CHUNK)
        return;
    m->steps = 0;
    kt__lstate_t *ls = m->ls;
    ls->spent += STEP_CHUNK * STEP_WEIGHT;
    if (ls->spent > ls->budget) {
        ls->tripped = 1;
        luaL_error(m->L, "instruction budget of %I exhausted", (lua_Integer)ls->budget);
    }
}

/* ---- single items ------------------------------------------------------------------- */

static int class_matches(int c, int cl)
{
    int r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = c == 0; break; /* deprecated, still in Lua 5.4 */
    default: return cl == c; /* %. %% %( ...: the character itself */
    }
    return isupper(cl) ? !r : r != 0;
}

/* The end of the single item starting at p (a char, %x, or [set]). */
static const char *item_end(matcher_t *m, const char *p)
{
    if (*p == '%') {
        if (p + 1 >= m->pat_end)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 2;
    }
    if (*p != '[')
        return p + 1;
    p++;
    if (p < m->pat_end && *p == '^')
        p++;
    /* The first character of a set is itself even when it is ']'. */
    do {
        if (p >= m->pat_end)
            luaL_error(m->L, "malformed pattern (missing ']')");
        if (*p++ == '%' && p < m->pat_end)
            p++;
    } while (p >= m->pat_end || *p != ']');
    return p + 1;
}

/* [set] at p (its ']' at close) holds c. */
static int set_matches(int c, const char *p, const char *close)
{
    int negate = 0;
    if (*++p == '^') {
        negate = 1;
        p++;
    }
    /* As Lua reads a set: a range's end may be the '%' of an escape that
     * follows, and then that escape's second character stands alone. */
    for (; p < close; p++) {
        if (*p == '%') {
            if (class_matches(c, (unsigned char)*++p))
                return !negate;
        } else if (p + 2 < close && p[1] == '-') {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return !negate;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return !negate;
        }
    }
    return negate;
}

static int single_matches(const matcher_t *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return class_matches(c, (unsigned char)p[1]);
    case '[': return set_matches(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* ---- the matcher -------------------------------------------------------------------------- */

static const char *match(matcher_t *m, const char *s, const char *p);

static const char *balance(matcher_t *m, const char *s, const char *p)
{
    if (p + 1 >= m->pat_end)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != *p)
        return NULL;
    int open = *p, close = p[1], depth = 1;
    while (++s < m->src_end) {
        step(m);
        if (*s == close && --depth == 0)
            return s + 1;
        if (*s == open)
            depth++;
    }
    return NULL;
}

static const char *frontier(matcher_t *m, const char *s, const char *p, const char **next)
{
    if (p >= m->pat_end || *p != '[')
        luaL_error(m->L, "missing '[' after '%%f' in pattern");
    const char *ep = item_end(m, p);
    int before = s == m->src ? 0 : (unsigned char)s[-1];
    int here = s < m->src_end ? (unsigned char)*s : 0;
    *next = ep;
    return !set_matches(before, p, ep - 1) && set_matches(here, p, ep - 1) ? s : NULL;
}

static const char *back_reference(matcher_t *m, const char *s, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= (int)m->level || m->cap[l].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    size_t len = (size_t)m->cap[l].len;
    if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[l].at, s, len) == 0)
        return s + len;
    return NULL;
}

static const char *open_capture(matcher_t *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= MAX_CAPTURES)
        luaL_error(m->L, "too many captures");
    m->cap[m->level].at = s;
    m->cap[m->level].len = what;
    m->level++;
    const char *r = match(m, s, p);
    if (!r)
        m->level--;
    return r;
}

static const char *close_capture(matcher_t *m, const char *s, const char *p)
{
    int l = (int)m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_OPEN)
        l--;
    if (l < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].at;
    const char *r = match(m, s, p);
    if (!r)
        m->cap[l].len = CAP_OPEN;
    return r;
}

/* As many as possible, then back off one at a time. */
static const char *greedy(matcher_t *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (single_matches(m, s + n, p, ep)) {
        step(m);
        n++;
    }
    for (; n >= 0; n--) {
        step(m);
        const char *r = match(m, s + n, ep + 1);
        if (r)
            return r;
    }
    return NULL;
}

/* As few as possible, then one more at a time. */
static const char *lazy(matcher_t *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        step(m);
        const char *r = match(m, s, ep + 1);
        if (r)
            return r;
        if (!single_matches(m, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *match(matcher_t *m, const char *s, const char *p)
{
    if (++m->depth > MAX_DEPTH)
        luaL_error(m->L, "pattern too complex");
    const char *r = s;
    while (p < m->pat_end) {
        step(m);
        if (*p == '(') {
            r = p + 1 < m->pat_end && p[1] == ')' ? open_capture(m, s, p + 2, CAP_POSITION)
                                                  : open_capture(m, s, p + 1, CAP_OPEN);
            goto done;
        }
        if (*p == ')') {
            r = close_capture(m, s, p + 1);
            goto done;
        }
        if (*p == '$' && p + 1 == m->pat_end) {
            r = s == m->src_end ? s : NULL;
            goto done;
        }
        if (*p == '%' && p + 1 < m->pat_end) {
            const char *next;
            switch (p[1]) {
            case 'b':
                if (!(s = balance(m, s, p + 2))) {
                    r = NULL;
                    goto done;
                }
                p += 4;
                continue;
            case 'f':
                if (!frontier(m, s, p + 2, &next)) {
                    r = NULL;
                    goto done;
                }
                p = next;
                continue;
            default:
                if (isdigit((unsigned char)p[1])) {
                    if (!(s = back_reference(m, s, p[1]))) {
                        r = NULL;
                        goto done;
                    }
                    p += 2;
                    continue;
                }
            }
        }
        const char *ep = item_end(m, p);
        int one = single_matches(m, s, p, ep);
        char q = ep < m->pat_end ? *ep : '\0';
        if (q == '?') {
            const char *t;
            if (one && (t = match(m, s + 1, ep + 1))) {
                r = t;
                goto done;
            }
            p = ep + 1;
        } else if (q == '+') {
            r = one ? greedy(m, s + 1, p, ep) : NULL;
            goto done;
        } else if (q == '*') {
            r = greedy(m, s, p, ep);
            goto done;
        } else if (q == '-') {
            r = lazy(m, s, p, ep);
            goto done;
        } else {
            if (!one) {
                r = NULL;
                goto done;
            }
            s++;
            p = ep;
        }
    }
    r = s;
done:
    m->depth--;
    return r;
}

/* ---- from Lua --------------------------------------------------------------------------------- */

static void matcher_init(matcher_t *m, lua_State *L, const char *s, size_t ls, const char *p,
                         size_t lp)
{
    memset(m, 0, sizeof *m);
    m->L = L;
    lua_getallocf(L, (void **)&m->ls);
    m->src = s;
    m->src_end = s + ls;
    m->pat_end = p + lp;
}

/* Pushes capture i (or the whole match when there is none); returns 1. */
static int push_capture(matcher_t *m, unsigned i, const char *s, const char *e)
{
    if (i >= m->level) {
        if (i != 0)
            return luaL_error(m->L, "invalid capture index %%%d", (int)i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
    } else if (m->cap[i].len == CAP_POSITION) {
        lua_pushinteger(m->L, (m->cap[i].at - m->src) + 1);
    } else if (m->cap[i].len == CAP_OPEN) {
        return luaL_error(m->L, "unfinished capture");
    } else {
        lua_pushlstring(m->L, m->cap[i].at, (size_t)m->cap[i].len);
    }
    return 1;
}

/* Pushes every capture, or the whole match (when whole and none); returns the count. */
static int push_captures(matcher_t *m, const char *s, const char *e, int whole)
{
    unsigned n = m->level == 0 && whole ? 1 : m->level;
    luaL_checkstack(m->L, (int)n, "too many captures");
    for (unsigned i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return (int)n;
}

/* Lua's init argument: 1-based, negative from the end, clamped. */
static size_t start_at(lua_State *L, int arg, size_t len)
{
    lua_Integer init = luaL_optinteger(L, arg, 1);
    if (init > 0)
        return (size_t)init - 1;
    if (init == 0 || (size_t)-init > len)
        return 0;
    return len - (size_t)-init;
}

static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr("^$*+?.([%-", p[i]))
            return 1;
    return 0;
}

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(L, 3, ls);
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        /* Plain: a substring search, charged by its length. */
        matcher_t m;
        matcher_init(&m, L, s, ls, p, lp);
        for (const char *at = s + init; (size_t)(s + ls - at) >= lp; at++) {
            step(&m);
            if (memcmp(at, p, lp) == 0) {
                lua_pushinteger(L, (at - s) + 1);
                lua_pushinteger(L, (at - s) + (lua_Integer)lp);
                return 2;
            }
        }
        luaL_pushfail(L);
        return 1;
    }
    matcher_t m;
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    matcher_init(&m, L, s, ls, p, lp);
    const char *at = s + init;
    do {
        m.level = 0;
        m.depth = 0;
        const char *e = match(&m, at, p);
        if (e) {
            if (!find)
                return push_captures(&m, at, e, 1);
            lua_pushinteger(L, (at - s) + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&m, NULL, NULL, 0) + 2;
        }
    } while (at++ < m.src_end && !anchor);
    luaL_pushfail(L);
    return 1;
}

static int str_find(lua_State *L) { return find_or_match(L, 1); }
static int str_match(lua_State *L) { return find_or_match(L, 0); }

/* gmatch's state, a userdata upvalue: the subject and pattern stay
 * referenced as upvalues too, so the pointers stay valid. */
typedef struct {
    matcher_t m;
    const char *p, *at, *last;
} gmatch_t;

static int gmatch_next(lua_State *L)
{
    gmatch_t *g = lua_touserdata(L, lua_upvalueindex(3));
    g->m.L = L;
    for (; g->at <= g->m.src_end; g->at++) {
        g->m.level = 0;
        g->m.depth = 0;
        const char *e = match(&g->m, g->at, g->p);
        if (e && e != g->last) {
            const char *start = g->at;
            g->at = g->last = e;
            return push_captures(&g->m, start, e, 1);
        }
    }
    return 0;
}

static int str_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(L, 3, ls);
    lua_settop(L, 2);
    gmatch_t *g = lua_newuserdatauv(L, sizeof *g, 0);
    matcher_init(&g->m, L, s, ls, p, lp);
    g->p = p;
    g->at = s + (init > ls ? ls + 1 : init);
    g->last = NULL;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* Appends the replacement of one match [s, e) to b. */
static void add_value(matcher_t *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = m->L;
    if (tr == LUA_TSTRING || tr == LUA_TNUMBER) {
        size_t l;
        const char *r = lua_tolstring(L, 3, &l);
        for (size_t i = 0; i < l; i++) {
            step(m);
            if (r[i] != '%') {
                luaL_addchar(b, r[i]);
            } else if (++i < l && r[i] == '%') {
                luaL_addchar(b, '%');
            } else if (i < l && isdigit((unsigned char)r[i])) {
                if (r[i] == '0')
                    lua_pushlstring(L, s, (size_t)(e - s));
                else
                    push_capture(m, (unsigned)(r[i] - '1'), s, e);
                luaL_tolstring(L, -1, NULL);
                lua_remove(L, -2);
                luaL_addvalue(b);
            } else {
                luaL_error(L, "invalid use of '%%' in replacement string");
            }
        }
        return;
    }
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e, 1);
        lua_call(L, n, 1);
    } else { /* a table, indexed by the first capture */
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s)); /* keep the original */
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    } else {
        luaL_addvalue(b);
    }
}

static int str_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
                            tr == LUA_TTABLE, 3, "string/function/table");
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    matcher_t m;
    matcher_init(&m, L, s, ls, p, lp);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *at = s, *last = NULL;
    lua_Integer n = 0;
    while (n < max) {
        m.level = 0;
        m.depth = 0;
        const char *e = match(&m, at, p);
        if (e && e != last) {
            n++;
            add_value(&m, &b, at, e, tr);
            at = last = e;
        } else if (at < m.src_end) {
            step(&m);
            luaL_addchar(&b, *at++);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    luaL_addlstring(&b, at, (size_t)(m.src_end - at));
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

void kt__pattern_install(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"find", str_find}, {"match", str_match}, {"gmatch", str_gmatch}, {"gsub", str_gsub},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
