/*
 * derive.c - a rule set made from another with changes a request proposes
 * (other thresholds, added or replaced conditions), for judging history
 * against them (POST /api/agent/rules/replay). The new set is checked as a
 * reload checks one and is the caller's alone: the running set, its
 * conditions' state and its Lua states are not touched.
 */
#include "rules_internal.h"

#include <stdio.h>
#include <string.h>

/* "disk_io" or "disk_io.lua": the condition file's name without ".lua"; NULL when invalid. */
static const char *cond_name(const char *name, apr_pool_t *pool)
{
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".lua") == 0)
        n -= 4;
    if (n == 0 || n > 60)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || name[i] == '-'))
            return NULL;
    return apr_pstrndup(pool, name, n);
}

apr_status_t kt_rules_derive(kt_rules_t **out, const kt_rules_t *base, json_t *thresholds,
                             json_t *conditions, char *err, apr_size_t errlen)
{
    if (conditions && !json_is_array(conditions)) {
        snprintf(err, errlen, "conditions must be a list of {name, source}");
        return KT_EINPUT;
    }
    if (json_array_size(conditions) > KT_RULES_MAX_PROPOSED) {
        snprintf(err, errlen, "at most %d conditions may be proposed at once",
                 KT_RULES_MAX_PROPOSED);
        return KT_EINPUT;
    }
    /* A proposed condition's name becomes an event type for the life of
     * the process; keep room for the ones a reload brings. */
    if (json_array_size(conditions) &&
        kt_event_type_count() + (int)json_array_size(conditions) >
            KT_EV_MAX_TYPES - KT_RULES_TYPES_KEPT) {
        snprintf(err, errlen,
                 "conditions: %d event types are registered already; the last %d are kept for "
                 "the configuration (a restart frees those proposals registered)",
                 kt_event_type_count(), KT_RULES_TYPES_KEPT);
        return KT_EINPUT;
    }
    apr_pool_t *pool;
    apr_status_t st = apr_pool_create_unmanaged_ex(&pool, NULL, NULL);
    if (st != APR_SUCCESS)
        return st;
    apr_pool_tag(pool, "rules");
    kt_rules_t *r = apr_pcalloc(pool, sizeof *r);
    r->pool = pool;
    r->refs = 1;
    r->opts = base->opts;
    r->cap = 1;
    r->idle = apr_pcalloc(pool, sizeof *r->idle * r->cap);
    apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_pool_cleanup_register(pool, r, kt__rules_free_states, apr_pool_cleanup_null);
    kt_conf_copy(&r->conf, &base->conf, pool);
    r->files = apr_pcalloc(pool, sizeof(kt__file_t) * KT__RULES_MAX_FILES);
    for (unsigned i = 0; i < base->nfiles; i++) {
        const kt__file_t *f = &base->files[i];
        r->files[r->nfiles++] = (kt__file_t){f->kind, apr_pstrdup(pool, f->name),
                                             apr_pstrdup(pool, f->path),
                                             apr_pstrmemdup(pool, f->text, f->len), f->len,
                                             f->shipped};
    }
    size_t i;
    json_t *c;
    json_array_foreach(conditions, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *src = json_object_get(c, "source");
        const char *file = name ? cond_name(name, pool) : NULL;
        if (!file || !json_is_string(src)) {
            snprintf(err, errlen,
                     "conditions[%zu] needs a 'name' (a-z, 0-9, _ and -, ending .lua) and its "
                     "'source'",
                     i);
            st = KT_EINPUT;
            goto failed;
        }
        if (json_string_length(src) > KT__RULES_MAX_FILE_BYTES) {
            snprintf(err, errlen, "conditions/%s.lua: larger than %u bytes", file,
                     KT__RULES_MAX_FILE_BYTES);
            st = KT_EINPUT;
            goto failed;
        }
        unsigned at = 0;
        while (at < r->nfiles &&
               !(r->files[at].kind == KT__FILE_CONDITION && strcmp(r->files[at].name, file) == 0))
            at++;
        if (at == r->nfiles) {
            if (r->nfiles == KT__RULES_MAX_FILES) {
                snprintf(err, errlen, "more than %d files", KT__RULES_MAX_FILES);
                st = KT_EINPUT;
                goto failed;
            }
            r->nfiles++;
        }
        r->files[at] = (kt__file_t){KT__FILE_CONDITION, file,
                                    apr_pstrcat(pool, "conditions/", file, ".lua", NULL),
                                    apr_pstrmemdup(pool, json_string_value(src),
                                                   json_string_length(src)),
                                    json_string_length(src), NULL};
    }
    kt__lstate_t *ls;
    if ((st = kt__rules_build_state(r, &ls, &r->nrules, &r->ntemplates, err, errlen)) !=
        APR_SUCCESS) {
        st = KT_EINPUT; /* the proposal's fault: the running set loaded */
        goto failed;
    }
    r->idle[r->nidle++] = ls;
    r->described = 1;
    if (thresholds &&
        (st = kt__conf_apply_thresholds(&r->conf, thresholds, pool, err, errlen)) != APR_SUCCESS)
        goto failed;
    *out = r;
    return APR_SUCCESS;

failed:
    apr_pool_destroy(pool);
    return st;
}
