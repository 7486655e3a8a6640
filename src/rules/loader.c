/*
 * loader.c - reading a set's files, building checked Lua states from them,
 * and lending those states to callers.
 *
 * Layout of a directory (shipped lua/ and the optional user directory):
 *   koto.conf.lua       settings (config.c)
 *   rules/<area>.lua    returns a list of rules: {name, category, description, check}
 *   templates/<t>.lua   returns one template: {description, admin, params, bash, powershell}
 *   lib/<name>.lua      returns a table of helpers, visible to rules and templates as <name>
 *   conditions/<c>.lua  returns a condition or a list of them (conditions.c)
 * A user file replaces the shipped file of the same kind and name.
 */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdatomic.h>
#include <apr_file_io.h>
#include <apr_strings.h>

static const struct {
    kt__file_kind_t kind;
    const char *subdir;
} kinds[] = {
    {KT__FILE_LIB, "lib"},
    {KT__FILE_RULE, "rules"},
    {KT__FILE_TEMPLATE, "templates"},
    {KT__FILE_CONDITION, "conditions"},
};

static int find_file(kt_rules_t *r, kt__file_kind_t kind, const char *name)
{
    for (unsigned i = 0; i < r->nfiles; i++)
        if (r->files[i].kind == kind && strcmp(r->files[i].name, name) == 0)
            return (int)i;
    return -1;
}

static apr_status_t add_file(kt_rules_t *r, kt__file_kind_t kind, const char *name,
                             const char *path, char *err, apr_size_t errlen)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t st = apr_file_open(&f, path, APR_FOPEN_READ, 0, r->pool);
    if (st == APR_SUCCESS)
        st = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (st != APR_SUCCESS) {
        char e[128];
        snprintf(err, errlen, "%s: %s", path, kt_strerror(st, e, sizeof e));
        return st;
    }
    if (fi.size > KT__RULES_MAX_FILE_BYTES) {
        apr_file_close(f);
        snprintf(err, errlen, "%s: larger than %u bytes", path, KT__RULES_MAX_FILE_BYTES);
        return KT_ETOOBIG;
    }
    char *text = apr_palloc(r->pool, (apr_size_t)fi.size + 1);
    apr_size_t got = 0;
    st = apr_file_read_full(f, text, (apr_size_t)fi.size, &got);
    apr_file_close(f);
    if (st != APR_SUCCESS && !(APR_STATUS_IS_EOF(st) && got == 0)) {
        snprintf(err, errlen, "%s: read failed", path);
        return st;
    }
    text[got] = '\0';
    int at = find_file(r, kind, name);
    if (at < 0) {
        if (r->nfiles == KT__RULES_MAX_FILES) {
            snprintf(err, errlen, "%s: more than %d files", path, KT__RULES_MAX_FILES);
            return KT_ETOOBIG;
        }
        at = (int)r->nfiles++;
    }
    r->files[at] = (kt__file_t){kind, apr_pstrdup(r->pool, name), apr_pstrdup(r->pool, path),
                                text, got, NULL};
    return APR_SUCCESS;
}

int kt__by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* dir's koto.conf.lua, or NULL when it has none. */
static const char *conf_in(const char *dir, apr_pool_t *pool)
{
    const char *path = apr_pstrcat(pool, dir, "/koto.conf.lua", NULL);
    apr_finfo_t fi;
    return apr_stat(&fi, path, APR_FINFO_TYPE, pool) == APR_SUCCESS ? path : NULL;
}

/* Adds every <subdir>/NAME.lua of dir, in name order so loading is repeatable. */
static apr_status_t scan_dir(kt_rules_t *r, const char *dir, int required, char *err,
                             apr_size_t errlen)
{
    apr_status_t st;
    const char *conf = conf_in(dir, r->pool);
    apr_finfo_t fi;
    if (conf && (st = add_file(r, KT__FILE_CONFIG, "koto.conf", conf, err, errlen)) != APR_SUCCESS)
        return st;
    for (size_t k = 0; k < KT_ARRAY_SIZE(kinds); k++) {
        const char *sub = apr_pstrcat(r->pool, dir, "/", kinds[k].subdir, NULL);
        apr_dir_t *d;
        if ((st = apr_dir_open(&d, sub, r->pool)) != APR_SUCCESS) {
            if (required && kinds[k].kind != KT__FILE_LIB && kinds[k].kind != KT__FILE_CONDITION) {
                snprintf(err, errlen, "%s: not a readable directory", sub);
                return st;
            }
            continue;
        }
        apr_array_header_t *names = apr_array_make(r->pool, 16, sizeof(const char *));
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
            size_t n = strlen(fi.name);
            if (fi.filetype == APR_REG && n > 4 && strcmp(fi.name + n - 4, ".lua") == 0 &&
                fi.name[0] != '.')
                APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(r->pool, fi.name);
        }
        apr_dir_close(d);
        qsort(names->elts, (size_t)names->nelts, sizeof(const char *), kt__by_name);
        for (int i = 0; i < names->nelts; i++) {
            const char *file = APR_ARRAY_IDX(names, i, const char *);
            const char *name = apr_pstrndup(r->pool, file, strlen(file) - 4);
            if ((st = add_file(r, kinds[k].kind, name, apr_pstrcat(r->pool, sub, "/", file, NULL),
                               err, errlen)) != APR_SUCCESS)
                return st;
        }
    }
    return APR_SUCCESS;
}

apr_status_t kt__rules_read_files(kt_rules_t *r, char *err, apr_size_t errlen)
{
    r->files = apr_pcalloc(r->pool, sizeof(kt__file_t) * KT__RULES_MAX_FILES);
    apr_status_t st = scan_dir(r, r->opts.dir, 1, err, errlen);
    if (st == APR_SUCCESS && r->opts.user_dir)
        st = scan_dir(r, r->opts.user_dir, 0, err, errlen);
    if (st == APR_SUCCESS && r->opts.config_file)
        st = add_file(r, KT__FILE_CONFIG, "koto.conf", r->opts.config_file, err, errlen);
    for (unsigned i = 0; st == APR_SUCCESS && i < r->nfiles; i++)
        if (kt__build_pass(&r->files[i]) >= 0)
            r->files[i].shipped = kt__shipped_find(r->opts.dir, &r->files[i]);
    return st;
}

/* The file kt__rules_read_files would take as the configuration: the one
 * named, else the user directory's, else the shipped one; NULL when none. */
static const char *conf_file(const kt_rules_opts_t *opts, apr_pool_t *pool)
{
    if (opts->config_file)
        return opts->config_file;
    const char *user = opts->user_dir ? conf_in(opts->user_dir, pool) : NULL;
    return user ? user : opts->dir ? conf_in(opts->dir, pool) : NULL;
}

apr_status_t kt_rules_conf_peek(kt_conf_t *conf, const kt_rules_opts_t *opts,
                                const char *const *keys, apr_pool_t *pool)
{
    const char *path = conf_file(opts, pool);
    if (!path)
        return APR_SUCCESS;
    kt__file_t file;
    kt_rules_t one = {.pool = pool, .files = &file}; /* add_file's table, of one */
    char err[300];
    apr_status_t st = add_file(&one, KT__FILE_CONFIG, "koto.conf", path, err, sizeof err);
    if (st == APR_SUCCESS)
        st = kt__conf_apply_file(conf, &file, keys, pool, err, sizeof err);
    return st;
}

/* ---- building a state ------------------------------------------------------------------------ */

/* A file that loaded but is not the shape its kind wants. */
static apr_status_t fail(char *err, apr_size_t errlen, const kt__file_t *f, int line,
                         const char *what)
{
    snprintf(err, errlen, "%s:%d: %s", f->path, line, what);
    return KT_ESCRIPT;
}

/* Line where the function at idx was defined, for messages about it. */
static int defined_at(lua_State *L, int idx)
{
    lua_Debug ar;
    lua_pushvalue(L, idx);
    return lua_getinfo(L, ">S", &ar) ? ar.linedefined : 0;
}

/* Checks that the table on top has a string field `key`. */
static int has_string(lua_State *L, const char *key)
{
    int ok = lua_getfield(L, -1, key) == LUA_TSTRING;
    lua_pop(L, 1);
    return ok;
}

/* A rules file returns a list of rules; each is checked and appended to the
 * registry's "koto.rules", remembering its file. Pops the list. */
static apr_status_t check_rules(lua_State *L, const kt__file_t *f, unsigned *count, char *err,
                                apr_size_t errlen)
{
    /* A list has only the keys 1..n; one rule returned bare (a common slip)
     * would otherwise load as an empty list, silently. */
    lua_Unsigned keys = 0;
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            keys++;
        }
    }
    if (!lua_istable(L, -1) || keys != lua_rawlen(L, -1))
        return fail(err, errlen, f, 1, "a rules file must return a list of rules { {...}, ... }");
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.rules");
    lua_insert(L, -2); /* registry list, file's list */
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        char msg[160];
        if (lua_geti(L, -1, i) != LUA_TTABLE) {
            snprintf(msg, sizeof msg, "rule %lld is not a table", (long long)i);
            return fail(err, errlen, f, 1, msg);
        }
        int line = 1, ok = lua_getfield(L, -1, "check") == LUA_TFUNCTION;
        if (ok)
            line = defined_at(L, -1);
        lua_pop(L, 1);
        const char *missing = !ok ? "a 'check' function"
                              : !has_string(L, "name") ? "a string 'name'"
                              : !has_string(L, "category") ? "a string 'category'"
                              : !has_string(L, "description") ? "a string 'description'"
                                                              : NULL;
        if (missing) {
            snprintf(msg, sizeof msg, "rule %lld needs %s", (long long)i, missing);
            return fail(err, errlen, f, line, msg);
        }
        lua_pushstring(L, f->path);
        lua_setfield(L, -2, "_file");
        lua_seti(L, -3, luaL_len(L, -3) + 1);
        (*count)++;
    }
    lua_pop(L, 2);
    return APR_SUCCESS;
}

static const char *const param_types[] = {"string", "integer", "number", "boolean"};

/* A template file returns one table; it is checked and stored in the
 * registry's "koto.templates" under the file's name. Pops it. */
static apr_status_t check_template(lua_State *L, const kt__file_t *f, char *err,
                                   apr_size_t errlen)
{
    if (!lua_istable(L, -1))
        return fail(err, errlen, f, 1, "a template file must return a table");
    if (!has_string(L, "description"))
        return fail(err, errlen, f, 1, "the template needs a string 'description'");
    int dialects = 0;
    static const char *const fns[] = {"bash", "powershell"};
    for (size_t k = 0; k < KT_ARRAY_SIZE(fns); k++) {
        int t = lua_getfield(L, -1, fns[k]);
        if (t == LUA_TFUNCTION)
            dialects++;
        else if (t != LUA_TNIL)
            return fail(err, errlen, f, 1, "'bash' and 'powershell' must be functions");
        lua_pop(L, 1);
    }
    if (!dialects)
        return fail(err, errlen, f, 1, "the template needs a 'bash' or 'powershell' function");
    if (lua_getfield(L, -1, "params") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_setfield(L, -2, "params");
    } else {
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            char msg[200];
            int ok = lua_geti(L, -1, i) == LUA_TTABLE && has_string(L, "name") &&
                     has_string(L, "type");
            if (ok) {
                lua_getfield(L, -1, "type");
                const char *type = lua_tostring(L, -1);
                ok = 0;
                for (size_t k = 0; k < KT_ARRAY_SIZE(param_types); k++)
                    ok |= strcmp(type, param_types[k]) == 0;
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
            if (!ok) {
                snprintf(msg, sizeof msg, "parameter %lld needs a 'name' and a 'type' of "
                         "string, integer, number or boolean", (long long)i);
                return fail(err, errlen, f, 1, msg);
            }
        }
        lua_pop(L, 1);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.templates");
    lua_insert(L, -2);
    lua_setfield(L, -2, f->name);
    lua_pop(L, 1);
    return APR_SUCCESS;
}

apr_status_t kt__rules_build_state(kt_rules_t *r, kt__lstate_t **out, unsigned *rules_out,
                                   unsigned *templates_out, char *err, apr_size_t errlen)
{
    kt__lstate_t *ls = kt__lstate_new(r->opts.mem_limit, r->opts.budget);
    if (!ls) {
        snprintf(err, errlen, "cannot create a Lua state");
        return APR_ENOMEM;
    }
    apr_status_t rc;
    lua_State *L = ls->L;
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "koto.rules");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "koto.templates");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "koto.conditions");
    unsigned nrules = 0, ntemplates = 0;
    kt__precompile_t *pc = kt__precompile_start(r);

    /* Libraries first: they become globals that rules and templates see. */
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < r->nfiles; i++) {
            const kt__file_t *f = &r->files[i];
            if (kt__build_pass(f) != pass)
                continue;
            if ((rc = kt__precompile_load(pc, ls, r, i, err, errlen)) != APR_SUCCESS ||
                (rc = kt__lstate_call(ls, 0, 1, err, errlen)) != APR_SUCCESS) {
                kt__name_file(err, errlen, f->path);
                goto failed;
            }
            rc = APR_SUCCESS;
            if (f->kind == KT__FILE_LIB) {
                if (!lua_istable(L, -1)) {
                    rc = fail(err, errlen, f, 1, "a lib file must return a table");
                } else {
                    /* Read-only, as string and math are: one file cannot
                     * change a helper for every other. */
                    kt__sandbox_readonly(L, f->name);
                    lua_getfield(L, LUA_REGISTRYINDEX, "koto.globals");
                    lua_insert(L, -2);
                    lua_setfield(L, -2, f->name);
                    lua_pop(L, 1);
                }
            } else if (f->kind == KT__FILE_RULE) {
                rc = check_rules(L, f, &nrules, err, errlen);
            } else if (f->kind == KT__FILE_CONDITION) {
                rc = kt__check_conditions(r, L, f, !r->described, err, errlen);
            } else {
                rc = check_template(L, f, err, errlen);
                ntemplates++;
            }
            if (rc != APR_SUCCESS)
                goto failed;
        }
    }
    kt__precompile_end(pc);
    if (rules_out)
        *rules_out = nrules;
    if (templates_out)
        *templates_out = ntemplates;
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    *out = ls;
    return APR_SUCCESS;

failed:
    kt__precompile_end(pc);
    kt__lstate_free(ls);
    return rc;
}

/* ---- lending states ------------------------------------------------------------------------ */

apr_status_t kt__rules_borrow(kt_rules_t *r, kt__lstate_t **ls, char *err, apr_size_t errlen)
{
    *ls = NULL;
    apr_thread_mutex_lock(r->lock);
    if (r->nidle)
        *ls = r->idle[--r->nidle];
    apr_thread_mutex_unlock(r->lock);
    /* All lent out: build another; it joins the idle list if there is room. */
    return *ls ? APR_SUCCESS : kt__rules_build_state(r, ls, NULL, NULL, err, errlen);
}

void kt__rules_return(kt_rules_t *r, kt__lstate_t *ls)
{
    lua_settop(ls->L, 0);
    apr_thread_mutex_lock(r->lock);
    if (r->nidle < r->cap) {
        r->idle[r->nidle++] = ls;
        ls = NULL;
    }
    apr_thread_mutex_unlock(r->lock);
    kt__lstate_free(ls);
}

/* ---- the set's life ------------------------------------------------------------------------ */

apr_status_t kt__rules_free_states(void *data)
{
    kt_rules_t *r = data;
    for (unsigned i = 0; i < r->nidle; i++)
        kt__lstate_free(r->idle[i]);
    r->nidle = 0;
    return APR_SUCCESS;
}

apr_status_t kt_rules_load(kt_rules_t **out, const kt_rules_opts_t *opts, const kt_conf_t *base,
                           char *err, apr_size_t errlen)
{
    if (!opts->dir) {
        snprintf(err, errlen, "no rules directory given");
        return KT_ECONF;
    }
    apr_pool_t *pool;
    apr_status_t st = apr_pool_create_unmanaged_ex(&pool, NULL, NULL);
    if (st != APR_SUCCESS)
        return st;
    apr_pool_tag(pool, "rules");
    kt_rules_t *r = apr_pcalloc(pool, sizeof *r);
    r->pool = pool;
    r->refs = 1;
    r->opts = *opts;
    r->opts.dir = apr_pstrdup(pool, opts->dir);
    r->opts.user_dir = opts->user_dir ? apr_pstrdup(pool, opts->user_dir) : NULL;
    r->opts.config_file = opts->config_file ? apr_pstrdup(pool, opts->config_file) : NULL;
    r->cap = opts->states ? opts->states : KT__RULES_DEFAULT_STATES;
    r->idle = apr_pcalloc(pool, sizeof *r->idle * r->cap);
    r->conf = *base;
    apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_pool_cleanup_register(pool, r, kt__rules_free_states, apr_pool_cleanup_null);

    if ((st = kt__rules_read_files(r, err, errlen)) != APR_SUCCESS)
        goto failed;
    /* Build one state now: it checks every file, and serves the first
     * caller. Before the settings: it registers the conditions' event
     * types, which the notify, maintenance and remediate lists may name. */
    kt__lstate_t *ls;
    if ((st = kt__rules_build_state(r, &ls, &r->nrules, &r->ntemplates, err, errlen)) !=
        APR_SUCCESS)
        goto failed;
    r->idle[r->nidle++] = ls;
    r->described = 1;
    int conf_at = find_file(r, KT__FILE_CONFIG, "koto.conf");
    if (conf_at >= 0 &&
        (st = kt__conf_apply_file(&r->conf, &r->files[conf_at], NULL, pool, err, errlen)) !=
            APR_SUCCESS)
        goto failed;
    /* Unless the file names a user directory this load did not read yet
     * (the caller loads again with it), every type remediate names exists. */
    for (unsigned i = 0; (opts->user_dir || !r->conf.user_dir) && i < r->conf.nremediate; i++)
        if (kt_event_type_parse(r->conf.remediate[i].event) < 0) {
            snprintf(err, errlen, "%s: remediate[%u].event names an unknown event type '%s'",
                     conf_at >= 0 ? r->files[conf_at].path : "configuration", i + 1,
                     r->conf.remediate[i].event);
            st = KT_ECONF;
            goto failed;
        }
    *out = r;
    return APR_SUCCESS;

failed:
    apr_pool_destroy(pool);
    return st;
}

void kt_rules_retain(kt_rules_t *r) { atomic_fetch_add(&r->refs, 1); }

void kt_rules_release(kt_rules_t *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1)
        apr_pool_destroy(r->pool);
}

const kt_conf_t *kt_rules_conf(const kt_rules_t *r) { return &r->conf; }

void kt_conf_copy(kt_conf_t *dst, const kt_conf_t *src, apr_pool_t *pool)
{
    *dst = *src;
    const char **strings[] = {&dst->listen, &dst->server_names, &dst->state_dir, &dst->scripts_dir,
                              &dst->web_dir, &dst->user_dir, &dst->rule_tests, &dst->script_os,
                              &dst->metrics, &dst->remedy_interpreter, &dst->tls_cert,
                              &dst->tls_key, &dst->tls_client_ca, &dst->remedy_root_socket};
    for (size_t i = 0; i < KT_ARRAY_SIZE(strings); i++)
        if (*strings[i])
            *strings[i] = apr_pstrdup(pool, *strings[i]);
    if (src->mon.ndisk_overrides) {
        kt_mon_fs_rule_t *o = apr_pmemdup(pool, src->mon.disk_overrides,
                                          sizeof *o * src->mon.ndisk_overrides);
        for (unsigned i = 0; i < src->mon.ndisk_overrides; i++)
            o[i].mount_point = apr_pstrdup(pool, o[i].mount_point);
        dst->mon.disk_overrides = o;
    }
    kt__conf_copy_notify(dst, src, pool);
    kt__conf_copy_maint(dst, src, pool);
    if (src->mon.nchecks) {
        kt_mon_check_t *k = apr_pmemdup(pool, src->mon.checks, sizeof *k * src->mon.nchecks);
        for (unsigned i = 0; i < src->mon.nchecks; i++) {
            const char **s[] = {&k[i].name, &k[i].kind, &k[i].process, &k[i].pidfile,
                                &k[i].cmdline, &k[i].unit};
            for (size_t j = 0; j < KT_ARRAY_SIZE(s); j++)
                if (*s[j])
                    *s[j] = apr_pstrdup(pool, *s[j]);
        }
        dst->mon.checks = k;
    }
    if (src->nremediate) {
        kt_remedy_rule_t *k = apr_pmemdup(pool, src->remediate, sizeof *k * src->nremediate);
        for (unsigned i = 0; i < src->nremediate; i++) {
            const char **s[] = {&k[i].event, &k[i].subject, &k[i].template, &k[i].params};
            for (size_t j = 0; j < KT_ARRAY_SIZE(s); j++)
                if (*s[j])
                    *s[j] = apr_pstrdup(pool, *s[j]);
        }
        dst->remediate = k;
    }
}

void kt_rules_set_conf(kt_rules_t *r, const kt_conf_t *conf)
{
    kt_conf_copy(&r->conf, conf, r->pool);
}

const char *kt_rules_summary(const kt_rules_t *r, apr_pool_t *pool)
{
    unsigned rule_files = 0;
    for (unsigned i = 0; i < r->nfiles; i++)
        rule_files += r->files[i].kind == KT__FILE_RULE;
    return apr_psprintf(pool, "%u rules in %u files, %u templates, %u conditions", r->nrules,
                        rule_files, r->ntemplates, r->nconds);
}
