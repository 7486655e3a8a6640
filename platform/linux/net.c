/*
 * net.c - bytes, packets, errors and drops per interface, with byte rates
 * (/proc/net/dev).
 */
#include "linux.h"

#include <math.h>
#include <string.h>

void kt__read_net(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    kt__netdev_t *d;
    unsigned n;
    if (READ_SOURCE(p, KT__SRC_NETDEV, KT__FILE_NETDEV, "net/dev",
                    kt__parse_netdev(text, &d, &n, pool)) != APR_SUCCESS)
        return;
    apr_pool_t *state = p->state_pool[p->cur_state];
    s->net = apr_pcalloc(pool, sizeof(kt_net_t) * n);
    s->nnet = n;
    for (unsigned i = 0; i < n; i++) {
        kt_net_t *o = &s->net[i];
        o->name = d[i].name;
        o->rx_bytes = d[i].rx_bytes;
        o->tx_bytes = d[i].tx_bytes;
        o->rx_packets = d[i].rx_packets;
        o->tx_packets = d[i].tx_packets;
        o->rx_errors = d[i].rx_errs;
        o->tx_errors = d[i].tx_errs;
        o->rx_drops = d[i].rx_drop;
        o->tx_drops = d[i].tx_drop;
        memcpy(o->other, d[i].other, sizeof o->other);
        o->rx_bytes_ps = o->tx_bytes_ps = NAN;
        const kt__netdev_t *was =
            p->prev.valid ? apr_hash_get(p->prev.net, d[i].name, APR_HASH_KEY_STRING) : NULL;
        if (was) {
            o->rx_bytes_ps = kt__plat_rate(was->rx_bytes, d[i].rx_bytes, s->elapsed_s);
            o->tx_bytes_ps = kt__plat_rate(was->tx_bytes, d[i].tx_bytes, s->elapsed_s);
        }
        kt__netdev_t *keep = apr_pmemdup(state, &d[i], sizeof d[i]);
        keep->name = apr_pstrdup(state, d[i].name);
        apr_hash_set(p->next.net, keep->name, APR_HASH_KEY_STRING, keep);
    }
}
