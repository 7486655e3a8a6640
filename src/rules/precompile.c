/*
 * precompile.c - a rule set's files parsed on two threads at once.
 *
 * Parsing is most of what loading a rule set from its text costs (the
 * shipped files come parsed by the build: shipped.c; this is for the rest,
 * a user's rules, and the shipped files of a build that could not parse
 * them). While the building thread parses and runs the files it reaches
 * first, a second thread parses those it reaches last, in a bare state of
 * its own, and dumps each as bytecode with its debug information, so
 * errors and tracebacks name the same file and line. The building thread
 * loads those dumps when it gets to them.
 *
 * Bytecode is loaded from nothing else than these dumps, made in this
 * process from the files' text a moment before, and the build's. A file
 * the thread could not parse is parsed again from its text, which gives
 * the error its usual words.
 */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_thread_proc.h>

/* Below this much source one thread parses it all about as fast. */
#define KT__PRECOMPILE_MIN_BYTES (16 * 1024)

typedef struct {
    char *code;
    size_t len, cap;
} dump_t;

struct kt__precompile_t {
    const kt_rules_t *r;
    apr_pool_t *pool; /* the thread's handle */
    apr_thread_t *thread;
    int joined;
    unsigned char *mine; /* by file index: the thread parses it */
    dump_t *dumps;       /* by file index: its bytecode, when it could */
};

static int write_dump(lua_State *L, const void *p, size_t n, void *ud)
{
    (void)L;
    dump_t *d = ud;
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16 * 1024;
        while (cap < d->len + n)
            cap *= 2;
        char *code = realloc(d->code, cap);
        if (!code)
            return 1;
        d->code = code;
        d->cap = cap;
    }
    memcpy(d->code + d->len, p, n);
    d->len += n;
    return 0;
}

static void *APR_THREAD_FUNC parse_main(apr_thread_t *t, void *data)
{
    (void)t;
    kt__precompile_t *pc = data;
    lua_State *L = luaL_newstate();
    for (unsigned i = 0; L && i < pc->r->nfiles; i++) {
        if (!pc->mine[i])
            continue;
        const kt__file_t *f = &pc->r->files[i];
        char chunkname[512];
        kt__chunk_name(chunkname, sizeof chunkname, f->path);
        dump_t *d = &pc->dumps[i];
        if (luaL_loadbufferx(L, f->text, f->len, chunkname, "t") == LUA_OK &&
            lua_dump(L, write_dump, d, 0) != 0) {
            free(d->code);
            *d = (dump_t){0};
        }
        lua_settop(L, 0);
    }
    if (L)
        lua_close(L);
    return NULL;
}

/* Whether a build parses f: the shipped files come as the build's bytecode. */
static int parsed(const kt__file_t *f) { return kt__build_pass(f) >= 0 && !f->shipped; }

kt__precompile_t *kt__precompile_start(const kt_rules_t *r)
{
    apr_size_t total = 0;
    for (unsigned i = 0; i < r->nfiles; i++)
        total += parsed(&r->files[i]) ? r->files[i].len : 0;
    if (total < KT__PRECOMPILE_MIN_BYTES)
        return NULL;
    kt__precompile_t *pc = calloc(1, sizeof *pc);
    if (pc)
        pc->r = r;
    if (!pc || !(pc->mine = calloc(r->nfiles, 1)) ||
        !(pc->dumps = calloc(r->nfiles, sizeof *pc->dumps))) {
        kt__precompile_end(pc);
        return NULL;
    }
    pc->joined = 1; /* until the thread exists */
    /* The files the build reaches last, up to half the source: the
     * building thread also runs what it parses, and needs the libraries
     * (its first pass) at once. */
    apr_size_t taken = 0;
    for (unsigned i = r->nfiles; i-- > 0 && taken < total / 2;)
        if (kt__build_pass(&r->files[i]) == 1 && parsed(&r->files[i])) {
            pc->mine[i] = 1;
            taken += r->files[i].len;
        }
    if (apr_pool_create_unmanaged_ex(&pc->pool, NULL, NULL) != APR_SUCCESS ||
        apr_thread_create(&pc->thread, NULL, parse_main, pc, pc->pool) != APR_SUCCESS) {
        kt__precompile_end(pc);
        return NULL;
    }
    pc->joined = 0;
    return pc;
}

int kt__precompile_parsed(kt__precompile_t *pc, unsigned i)
{
    if (!pc || !pc->mine[i])
        return 0;
    if (!pc->joined) {
        apr_status_t ignored;
        apr_thread_join(&ignored, pc->thread);
        pc->joined = 1;
    }
    return pc->dumps[i].code != NULL;
}

apr_status_t kt__precompile_load(kt__precompile_t *pc, kt__lstate_t *ls, const kt_rules_t *r,
                                 unsigned i, char *err, apr_size_t errlen)
{
    const kt__file_t *f = &r->files[i];
    if (f->shipped)
        return kt__lstate_load_mode(ls, (const char *)f->shipped->code, f->shipped->len, f->path,
                                    "b", err, errlen);
    if (kt__precompile_parsed(pc, i))
        return kt__lstate_load_mode(ls, pc->dumps[i].code, pc->dumps[i].len, f->path, "b", err,
                                    errlen);
    return kt__lstate_load(ls, f->text, f->len, f->path, err, errlen);
}

void kt__precompile_end(kt__precompile_t *pc)
{
    if (!pc)
        return;
    if (!pc->joined) {
        apr_status_t ignored;
        apr_thread_join(&ignored, pc->thread);
    }
    if (pc->pool)
        apr_pool_destroy(pc->pool);
    for (unsigned i = 0; pc->dumps && i < pc->r->nfiles; i++)
        free(pc->dumps[i].code);
    free(pc->dumps);
    free(pc->mine);
    free(pc);
}
