/* history.c - the small per-reading points kept for charts and trends. */
#include "core_internal.h"

#include <string.h>

void kt__history_point(const kt_sample_t *s, kt_hist_point_t *p)
{
    p->time = s->time;
    p->cpu_pct = s->cpu.busy_pct;
    p->memory_pct = s->mem.used_pct;
    p->swap_pct = s->mem.swap_used_pct;
    p->load1 = s->load1;
    p->disk_max_pct = NAN;
    for (unsigned i = 0; i < s->nfs; i++)
        if (kt_known(s->fs[i].used_pct) &&
            (!kt_known(p->disk_max_pct) || s->fs[i].used_pct > p->disk_max_pct))
            p->disk_max_pct = s->fs[i].used_pct;
    p->cpu_pressure_pct = s->pressure[KT_PSI_CPU].some_avg60_pct;
    p->memory_pressure_pct = s->pressure[KT_PSI_MEMORY].some_avg60_pct;
    p->io_pressure_pct = s->pressure[KT_PSI_IO].some_avg60_pct;
    p->net_rx_bytes_ps = p->net_tx_bytes_ps = NAN;
    for (unsigned i = 0; i < s->nnet; i++) {
        const kt_net_t *n = &s->net[i];
        if (strcmp(n->name, "lo") == 0 || !kt_known(n->rx_bytes_ps))
            continue;
        p->net_rx_bytes_ps = (kt_known(p->net_rx_bytes_ps) ? p->net_rx_bytes_ps : 0) + n->rx_bytes_ps;
        p->net_tx_bytes_ps = (kt_known(p->net_tx_bytes_ps) ? p->net_tx_bytes_ps : 0) + n->tx_bytes_ps;
    }
}

unsigned kt__history_query(const kt__ring_t *h, apr_time_t since, kt_hist_point_t *out,
                           unsigned max)
{
    /* The newest max points after since, oldest first. */
    unsigned first = h->count;
    while (first > 0 && h->count - first < max &&
           ((const kt_hist_point_t *)kt__ring_at(h, first - 1))->time > since)
        first--;
    unsigned n = 0;
    for (unsigned i = first; i < h->count; i++)
        out[n++] = *(const kt_hist_point_t *)kt__ring_at(h, i);
    return n;
}
