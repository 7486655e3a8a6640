/* ring.c - a fixed-capacity ring of equal-sized elements; no locking of its own. */
#include "core_internal.h"

#include <string.h>

void kt__ring_init(kt__ring_t *r, size_t elem_size, unsigned cap, apr_pool_t *pool)
{
    r->size = elem_size;
    r->cap = cap;
    r->start = r->count = 0;
    /* Not zeroed: pages are only touched as the ring fills. */
    r->data = apr_palloc(pool, elem_size * cap);
}

void kt__ring_push(kt__ring_t *r, const void *elem)
{
    unsigned slot = (r->start + r->count) % r->cap;
    memcpy(r->data + (size_t)slot * r->size, elem, r->size);
    if (r->count == r->cap)
        r->start = (r->start + 1) % r->cap;
    else
        r->count++;
}

const void *kt__ring_at(const kt__ring_t *r, unsigned i)
{
    return r->data + (size_t)((r->start + i) % r->cap) * r->size;
}

void kt__ring_clear(kt__ring_t *r)
{
    r->start = r->count = 0;
}
