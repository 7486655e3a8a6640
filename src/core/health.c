/*
 * health.c - the seed's health summary: the events in the log counted by type
 * and severity, and the conditions holding right now. The overall status
 * follows the worst active condition, not the log, so it turns back to "ok"
 * as soon as everything has resolved.
 */
#include "core_internal.h"

#include <string.h>

void kt_mon_health(kt_mon_t *m, kt_mon_health_t *h)
{
    memset(h, 0, sizeof *h);
    h->running = kt_mon_running(m);

    apr_thread_mutex_lock(m->lock);
    h->samples = m->samples;
    h->last_sample = m->last_sample;
    h->events_logged = m->log.count;
    h->log_cleared = m->log_cleared;
    for (unsigned i = 0; i < m->log.count; i++) {
        const kt_event_t *e = kt__ring_at(&m->log, i);
        if (e->resolved || e->escalated || e->flapping)
            continue; /* a condition counts once, by its start */
        h->by_type[e->type]++;
        h->by_severity[e->severity]++;
    }
    memcpy(h->started_total, m->started_total, sizeof h->started_total);
    memcpy(h->active, m->active, sizeof m->active[0] * m->nactive);
    h->nactive = m->nactive;
    h->self = m->self;
    apr_thread_mutex_unlock(m->lock);

    int worst = -1;
    for (unsigned i = 0; i < h->nactive; i++)
        if ((int)h->active[i].severity > worst)
            worst = (int)h->active[i].severity;
    h->status = worst < 0 ? "ok" : worst == KT_SEV_HIGH ? "critical" : "warning";
}
