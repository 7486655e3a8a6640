/*
 * cell.c - the rule set in use, as one retain/release cell.
 *
 * A reload builds a whole new set beside the running one and swaps it in
 * here; a request takes the set out retained, so the set it started with
 * stays whole until it is done, however many reloads happen meanwhile.
 */
#include "rules_internal.h"

#include <apr_thread_mutex.h>

struct kt_rules_cell_t {
    apr_thread_mutex_t *lock; /* held only to swap or retain: a leaf lock */
    kt_rules_t *rules;
};

static apr_status_t cell_cleanup(void *data)
{
    kt_rules_cell_set(data, NULL);
    return APR_SUCCESS;
}

apr_status_t kt_rules_cell_create(kt_rules_cell_t **out, apr_pool_t *pool)
{
    kt_rules_cell_t *c = apr_pcalloc(pool, sizeof *c);
    apr_status_t st = apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (st != APR_SUCCESS)
        return st;
    apr_pool_cleanup_register(pool, c, cell_cleanup, apr_pool_cleanup_null);
    *out = c;
    return APR_SUCCESS;
}

void kt_rules_cell_set(kt_rules_cell_t *c, kt_rules_t *rules)
{
    if (rules)
        kt_rules_retain(rules);
    apr_thread_mutex_lock(c->lock);
    kt_rules_t *old = c->rules;
    c->rules = rules;
    apr_thread_mutex_unlock(c->lock);
    kt_rules_release(old); /* outside the lock: the last release frees a whole set */
}

kt_rules_t *kt_rules_cell_get(kt_rules_cell_t *c)
{
    apr_thread_mutex_lock(c->lock);
    kt_rules_t *r = c->rules;
    if (r)
        kt_rules_retain(r);
    apr_thread_mutex_unlock(c->lock);
    return r;
}
