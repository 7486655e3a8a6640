/*
 * cache.c - a response body kept until what it shows changes.
 *
 * /status and /metrics show a reading that changes once per interval, yet
 * building and printing their JSON or text costs far more than serving
 * it: under load that work was nearly all of kotod's time. A handler
 * names what its body depends on (snapshot seq, last event id, ...) as a
 * key and rebuilds only when the key moves.
 *
 * The kept text is never copied per request: it is a refcounted block,
 * immutable once made. In a cache made sealed, a page asked for a second
 * time gets a sealed file of the same bytes beside it (kt_sys_sealed_file)
 * that a plain connection sends from without copying the page into the
 * socket: for a large page under load, that copy was a third of what an
 * answer cost. A page served once (a scrape per reading) is not worth a
 * file: making it cost more than the one copy it saves. The cache holds one
 * reference, each request serving it another (dropped by a cleanup on the
 * request's pool, once the loop has written the answer), so a rebuild can
 * replace it while answers still being written go on pointing at the old
 * one.
 */
#include "api_internal.h"
#include "kt_sys.h"

#include <stdlib.h>
#include <string.h>

#include <stdatomic.h>
#include <apr_strings.h>

typedef struct {
    atomic_uint refs;
    apr_size_t len, cap; /* cap: text's size, 0 when it is not to be reused */
    char *text;          /* len bytes and a NUL, malloc'd */
    int fd;              /* the same bytes in a sealed file; -1: none (yet) */
    int file_due;        /* a sealed cache's page: the file comes at its second answer */
} blob_t;

/* The last page block nobody serves any more, kept for the next page made.
 * A page is made by whichever worker takes the request, and glibc gives
 * each thread an arena that keeps its high-water mark: a fresh block per
 * page left a page-sized hole in every worker's arena (a third of what the
 * node_* families added to kotod's memory) and new pages to fault in. One
 * block handed on keeps a page's memory in one place. Process-wide: it is
 * only a block of memory, and a static keeps it reachable at exit. */
static _Atomic(blob_t *) spare;

struct kt__cache_t {
    apr_thread_mutex_t *lock; /* guards key and blob (the pointer, not its refs) */
    uint64_t key[KT__CACHE_KEY];
    blob_t *blob; /* NULL: nothing kept */
    int sealed;   /* each blob gets a sealed file */
};

static void blob_free(blob_t *b)
{
    if (b) {
        free(b->text);
        free(b);
    }
}

/* The file goes with the last answer: the next page gets a file of its own,
 * so bytes still on their way are never rewritten. */
static void blob_release(blob_t *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
        kt_sys_sealed_close(b->fd);
        b->fd = -1;
        if (b->cap)
            blob_free(atomic_exchange(&spare, b));
        else
            blob_free(b);
    }
}

char *kt__cache_spare(apr_size_t *cap)
{
    blob_t *b = atomic_exchange(&spare, NULL);
    if (!b)
        return NULL;
    char *text = b->text;
    *cap = b->cap;
    free(b);
    return text;
}

static apr_status_t request_done(void *data)
{
    blob_release(data);
    return APR_SUCCESS;
}

/* Hands one reference on b over to pool; fd is b's file as the caller saw
 * it under the cache's lock (another request may be making it). */
static void lend(blob_t *b, int fd, apr_pool_t *pool, kt_http_part_t *part)
{
    apr_pool_cleanup_register(pool, b, request_done, apr_pool_cleanup_null);
    *part = (kt_http_part_t){.data = b->text, .len = b->len, .fd = fd};
}

static apr_status_t cache_free(void *data)
{
    kt__cache_t *c = data;
    blob_release(c->blob);
    c->blob = NULL;
    return APR_SUCCESS;
}

kt__cache_t *kt__cache_create(apr_pool_t *pool, int sealed)
{
    kt__cache_t *c = apr_pcalloc(pool, sizeof *c);
    c->sealed = sealed;
    if (apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS)
        return NULL;
    apr_pool_cleanup_register(pool, c, cache_free, apr_pool_cleanup_null);
    return c;
}

int kt__cache_get(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], apr_pool_t *pool,
                  kt_http_part_t *part)
{
    blob_t *b = NULL;
    int fd = -1;
    apr_thread_mutex_lock(c->lock);
    if (c->blob && memcmp(c->key, key, sizeof c->key) == 0) {
        b = c->blob;
        atomic_fetch_add(&b->refs, 1);
        if (b->file_due) { /* once, whether or not the file can be had */
            b->file_due = 0;
            b->fd = kt_sys_sealed_file(b->text, b->len);
        }
        fd = b->fd;
    }
    apr_thread_mutex_unlock(c->lock);
    if (b)
        lend(b, fd, pool, part);
    return b != NULL;
}

int kt__cache_put(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], const char *text,
                  apr_size_t len, apr_pool_t *pool, kt_http_part_t *part)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return 0;
    memcpy(copy, text, len);
    return kt__cache_put_owned(c, key, copy, len, 0, pool, part);
}

int kt__cache_put_owned(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], char *text,
                        apr_size_t len, apr_size_t cap, apr_pool_t *pool, kt_http_part_t *part)
{
    blob_t *b = malloc(sizeof *b);
    if (!b) {
        free(text);
        return 0;
    }
    b->text = text;
    b->text[len] = '\0';
    b->len = len;
    b->cap = cap;
    b->fd = -1;
    b->file_due = c->sealed;
    b->refs = 2; /* the cache's and pool's */
    apr_thread_mutex_lock(c->lock);
    blob_t *old = c->blob;
    c->blob = b;
    memcpy(c->key, key, sizeof c->key);
    apr_thread_mutex_unlock(c->lock);
    blob_release(old);
    lend(b, -1, pool, part);
    return 1;
}
