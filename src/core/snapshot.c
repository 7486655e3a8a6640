/*
 * snapshot.c - immutable, refcounted readings.
 *
 * A snapshot lives in its own unmanaged pool, so whichever thread drops the
 * last reference can destroy it without touching a shared parent's lock.
 */
#include "core_internal.h"

#include <stdatomic.h>

kt_snap_t *kt__snap_wrap(const kt_sample_t *s, apr_pool_t *pool, uint64_t seq, double duration_ms,
                         unsigned interval_ms)
{
    kt_snap_t *snap = apr_palloc(pool, sizeof *snap);
    snap->refs = 1;
    snap->pool = pool;
    snap->sample = *s;
    snap->seq = seq;
    snap->duration_ms = duration_ms;
    snap->interval_ms = interval_ms;
    snap->shedding = 0;
    return snap;
}

void kt_snap_release(kt_snap_t *snap)
{
    if (snap && atomic_fetch_sub(&snap->refs, 1) == 1)
        apr_pool_destroy(snap->pool);
}

const kt_sample_t *kt_snap_sample(const kt_snap_t *snap) { return &snap->sample; }
uint64_t kt_snap_seq(const kt_snap_t *snap) { return snap->seq; }
double kt_snap_duration_ms(const kt_snap_t *snap) { return snap->duration_ms; }
unsigned kt_snap_interval_ms(const kt_snap_t *snap) { return snap->interval_ms; }
int kt_snap_shedding(const kt_snap_t *snap) { return snap->shedding; }

kt_snap_t *kt_mon_acquire(kt_mon_t *m)
{
    apr_thread_mutex_lock(m->lock);
    kt_snap_t *snap = m->latest;
    if (snap)
        atomic_fetch_add(&snap->refs, 1);
    apr_thread_mutex_unlock(m->lock);
    return snap;
}
