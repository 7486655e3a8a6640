/*
 * rules_internal.h - private to src/rules/: the sandboxed Lua state, the
 * loaded files, and the pieces each source file provides.
 */
#ifndef KT_RULES_INTERNAL_H
#define KT_RULES_INTERNAL_H

#include "kt_rules.h"
#include "kt_base.h"
#include "shipped.h"

#include <stdatomic.h>
#include <stdio.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define KT__RULES_DEFAULT_MEM (32u << 20)
#define KT__RULES_DEFAULT_BUDGET 10000000u
#define KT__RULES_DEFAULT_STATES 4
#define KT__RULES_MAX_FILES 256
#define KT__RULES_MAX_FILE_BYTES (1u << 20)
#define KT__RULES_MAX_CONDS 128

/* ---- one sandboxed state (state.c, sandbox.c) --------------------------------------- */

typedef struct {
    lua_State *L;
    apr_size_t used, limit; /* bytes, counted by the allocator */
    unsigned long budget, spent;
    int tripped;            /* the budget ran out during this call */
} kt__lstate_t;

/* A fresh state with the sandbox's globals; NULL when out of memory. */
kt__lstate_t *kt__lstate_new(apr_size_t mem_limit, unsigned budget);
void kt__lstate_free(kt__lstate_t *ls);

/* Loads text as a chunk named "@<name>" with its own strict environment
 * (reads of unknown globals and any global write raise). Leaves the
 * function on the stack; on error returns KT_ESCRIPT (a syntax error) or
 * KT_EMEMCAP with "file:line: message" in err. */
apr_status_t kt__lstate_load(kt__lstate_t *ls, const char *text, apr_size_t len,
                             const char *name, char *err, apr_size_t errlen);
/* The same for a chunk in mode ("t", or "b" for bytecode this process
 * dumped itself: kt__precompile, which names its chunks as this does). */
apr_status_t kt__lstate_load_mode(kt__lstate_t *ls, const char *chunk, apr_size_t len,
                                  const char *name, const char *mode, char *err,
                                  apr_size_t errlen);

/* The name Lua gives file path's chunk: errors and tracebacks show it,
 * and bytecode carries it. */
static inline void kt__chunk_name(char *buf, size_t size, const char *path)
{
    snprintf(buf, size, "@%s", path);
}

/* ---- precompile.c: parsing the last files on a second thread ------------------------------ */

typedef struct kt__precompile_t kt__precompile_t;
/* Starts parsing, on a thread of its own, the files of r that the build
 * reaches last (about half the source); NULL when the set is too small to
 * gain from it or no thread can be had. */
kt__precompile_t *kt__precompile_start(const kt_rules_t *r);
/* Loads file i onto ls's stack as kt__lstate_load would, from the thread's
 * bytecode when it parsed that file (waiting for it), else from its text. */
apr_status_t kt__precompile_load(kt__precompile_t *pc, kt__lstate_t *ls, const kt_rules_t *r,
                                 unsigned i, char *err, apr_size_t errlen);
/* Whether the thread parsed file i (waiting for it): its bytecode is what
 * kt__precompile_load loads. */
int kt__precompile_parsed(kt__precompile_t *pc, unsigned i);
/* Waits for the thread and frees what it made; NULL is fine. */
void kt__precompile_end(kt__precompile_t *pc);

/* Calls the function below nargs arguments with a traceback handler, the
 * budget reset and the hook armed. Returns APR_SUCCESS with nres results on
 * the stack, or KT_EBUDGET, KT_EMEMCAP or KT_ESCRIPT with "file:line:
 * message" in err and nothing on the stack. */
apr_status_t kt__lstate_call(kt__lstate_t *ls, int nargs, int nres, char *err,
                             apr_size_t errlen);

/* Replaces find, match, gmatch and gsub in the string library on top of
 * the stack with matchers that charge the state's budget (pattern.c). */
void kt__pattern_install(lua_State *L);

/* Prefixes err with "path: " unless it names the file already: an error
 * raised without a position (error("x", 0), the memory cap) still says
 * which file it came from. */
void kt__name_file(char *err, apr_size_t errlen, const char *path);

/* Installs the read-only globals every chunk sees (sandbox.c). */
void kt__sandbox_open(lua_State *L);
/* Replaces the table on top with a read-only proxy of it; name is the
 * library named in the error a write raises (sandbox.c). */
void kt__sandbox_readonly(lua_State *L, const char *name);

/* ---- files of a set (loader.c) ---------------------------------------------------------------- */

typedef enum {
    KT__FILE_CONFIG,
    KT__FILE_RULE,
    KT__FILE_TEMPLATE,
    KT__FILE_LIB,
    KT__FILE_CONDITION
} kt__file_kind_t;

typedef struct {
    kt__file_kind_t kind;
    const char *name;  /* "cpu" for rules/cpu.lua */
    const char *path;  /* as reported in errors */
    const char *text;
    apr_size_t len;
    const kt__shipped_t *shipped; /* the build's bytecode of this very text, or NULL */
} kt__file_t;

/* When a state's build loads f: libraries in pass 0 (they become globals
 * the others see), the rest in pass 1, the configuration never (-1: it
 * is read in a state of its own). */
static inline int kt__build_pass(const kt__file_t *f)
{
    return f->kind == KT__FILE_CONFIG ? -1 : f->kind == KT__FILE_LIB ? 0 : 1;
}

/* ---- shipped.c: the shipped files, parsed when kotod was built ------------------------------- */

/* The bytecode the build made from exactly f's text when f is the shipped
 * directory dir's and this process runs the Lua that made it, else NULL. */
const kt__shipped_t *kt__shipped_find(const char *dir, const kt__file_t *f);

struct kt_rules_t {
    apr_pool_t *pool;
    atomic_uint refs;
    kt_rules_opts_t opts;
    kt_conf_t conf;
    kt__file_t *files;
    unsigned nfiles, nrules, ntemplates;
    struct kt__cond_def_t *conds; /* the conditions, described by the first state built */
    unsigned nconds;
    int described;

    apr_thread_mutex_t *lock; /* guards the idle list */
    kt__lstate_t **idle;
    unsigned nidle, cap;
};

/* qsort comparator for an array of C strings. */
int kt__by_name(const void *a, const void *b);

/* Reads the directories into r->files (user files replace shipped ones). */
apr_status_t kt__rules_read_files(kt_rules_t *r, char *err, apr_size_t errlen);

/* Builds a state holding every rule and template of r, checked: the
 * rules table (registry key "koto.rules") and the templates table
 * ("koto.templates"). */
apr_status_t kt__rules_build_state(kt_rules_t *r, kt__lstate_t **out, unsigned *rules_out,
                                   unsigned *templates_out, char *err, apr_size_t errlen);
/* Lends and returns a state of the set. */
apr_status_t kt__rules_borrow(kt_rules_t *r, kt__lstate_t **ls, char *err, apr_size_t errlen);
void kt__rules_return(kt_rules_t *r, kt__lstate_t *ls);
/* Frees the idle states (the pool cleanup of a set's pool). */
apr_status_t kt__rules_free_states(void *data);

/* A conditions file's result on top: one condition or a list, checked and
 * appended to the registry's "koto.conditions"; pops it. describe: also
 * records each in r->conds and registers its event type (the first state
 * built only). conditions.c. */
apr_status_t kt__check_conditions(kt_rules_t *r, lua_State *L, const kt__file_t *f,
                                  int describe, char *err, apr_size_t errlen);

/* ---- the configuration file (config.c) ------------------------------------------------------------- */

/* Runs the configuration file f and applies what it assigns to conf (only
 * the top-level settings named in the NULL-ended list only, and without the
 * checks across settings, when it is not NULL); KT_ECONF (a value out of
 * bounds) or the Lua call's status, with "file:line: what" in err. */
apr_status_t kt__conf_apply_file(kt_conf_t *conf, const kt__file_t *f, const char *const *only,
                                 apr_pool_t *pool, char *err, apr_size_t errlen);
/* Every setting nested as the file writes it ({thresholds = {memory =
 * {threshold = 90, ...}}, ...}): what the rules get as `settings`. */
json_t *kt__conf_nested(const kt_conf_t *conf);
/* Applies settings named as GET /api/agent/config names them
 * ("thresholds.cpu.threshold", or "cpu.threshold", or a whole section
 * "cpu": {...}) with their JSON values, checked as the file's are;
 * KT_EINPUT with what is wrong in err. */
apr_status_t kt__conf_apply_thresholds(kt_conf_t *conf, json_t *thresholds, apr_pool_t *pool,
                                       char *err, apr_size_t errlen);

/* ---- the notify list (channels.c) -------------------------------------------------------------- */

/* Reads the `notify` list at idx into conf (secrets read from their files,
 * which must be owner-only); 0, or -1 with "notify[2].url must be ..." in msg. */
int kt__conf_set_notify(kt_conf_t *conf, lua_State *L, int idx, apr_pool_t *pool, char *msg,
                        apr_size_t len);
/* The list for GET /api/agent/config: secrets and header values masked. */
json_t *kt__conf_notify_json(const kt_conf_t *conf);
/* --help-config's lines for the list and each channel field. */
void kt__conf_describe_notify(FILE *to);
/* The `maintenance` list (maint.c), as kt__conf_set_notify. */
int kt__conf_set_maint(kt_conf_t *conf, lua_State *L, int idx, apr_pool_t *pool, char *msg,
                       apr_size_t len);
json_t *kt__conf_maint_json(const kt_conf_t *conf);
void kt__conf_describe_maint(FILE *to);
void kt__conf_copy_maint(kt_conf_t *dst, const kt_conf_t *src, apr_pool_t *pool);

/* Deep-copies src's list into dst (kt_conf_copy). */
void kt__conf_copy_notify(kt_conf_t *dst, const kt_conf_t *src, apr_pool_t *pool);

/* ---- bridges between C and Lua (bridge.c) ---------------------------------------------------------- */

void kt__push_sample(lua_State *L, const kt_sample_t *s);
void kt__push_history(lua_State *L, const kt_hist_point_t *h, unsigned n);
void kt__push_json(lua_State *L, json_t *j);
/* The reading of s as kt__push_sample pushes it, with every table
 * read-only: a write raises "the reading is read-only"; reads, #, pairs,
 * ipairs, next, rawget and rawlen see the values. One copy, shared by the
 * conditions of a tick (conditions.c); its tables are made from s when
 * first read, their JSON kept in the array made until the tick ends. */
void kt__push_sample_readonly(lua_State *L, const kt_sample_t *s, json_t *made);
/* A value of that reading; mt and map are its metatable's and map's stack
 * indexes (bridge.c). */
void kt__push_json_readonly_in(lua_State *L, json_t *j, int mt, int map);
/* Before the sample or the JSON of the reading at idx is freed: the parts
 * never read raise from now on, rather than reading freed memory. */
void kt__readonly_expire(lua_State *L, int idx);
/* Sets next, rawget and rawlen in the globals table on top to versions
 * that see through those proxies (sandbox.c). */
void kt__readonly_globals(lua_State *L);
/* Converts the value at idx to JSON (tables with 1..n keys become arrays);
 * NULL for functions and other values JSON cannot hold. */
json_t *kt__to_json(lua_State *L, int idx, int depth);

#endif
