/*
 * cache.c - a response body kept until what it shows changes.
 *
 * /status and /metrics show a reading that changes once per interval, yet
 * building and printing their JSON or text costs far more than serving
 * it: under load that work was nearly all of kotod's time. A handler
 * names what its body depends on (snapshot seq, last event id, ...) as a
 * key and rebuilds only when the key moves.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

struct kt__cache_t {
    apr_thread_mutex_t *lock;
    uint64_t key[KT__CACHE_KEY];
    int valid;
    char *text;
    apr_size_t len;
};

static apr_status_t cache_free(void *data)
{
    kt__cache_t *c = data;
    free(c->text);
    c->text = NULL;
    return APR_SUCCESS;
}

kt__cache_t *kt__cache_create(apr_pool_t *pool)
{
    kt__cache_t *c = apr_pcalloc(pool, sizeof *c);
    if (apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS)
        return NULL;
    apr_pool_cleanup_register(pool, c, cache_free, apr_pool_cleanup_null);
    return c;
}

const char *kt__cache_get(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], apr_pool_t *pool,
                          apr_size_t *len)
{
    const char *copy = NULL;
    apr_thread_mutex_lock(c->lock);
    if (c->valid && memcmp(c->key, key, sizeof c->key) == 0) {
        copy = apr_pmemdup(pool, c->text, c->len + 1);
        *len = c->len;
    }
    apr_thread_mutex_unlock(c->lock);
    return copy;
}

void kt__cache_put(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], const char *text,
                   apr_size_t len)
{
    char *mine = malloc(len + 1);
    if (!mine)
        return;
    memcpy(mine, text, len);
    mine[len] = '\0';
    apr_thread_mutex_lock(c->lock);
    free(c->text);
    c->text = mine;
    c->len = len;
    memcpy(c->key, key, sizeof c->key);
    c->valid = 1;
    apr_thread_mutex_unlock(c->lock);
}
