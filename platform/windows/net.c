/*
 * net.c - interface counters from GetIfTable2 (64-bit octet counters).
 * Filter and other pseudo interfaces the stack layers on a real one are
 * left out, so each NIC appears once. The name is the interface alias
 * ("Ethernet", "Wi-Fi"), which is what users see and what stays stable.
 */
#include <winsock2.h>
#include <ws2ipdef.h> /* before iphlpapi.h, for GetIfTable2 */
#include <iphlpapi.h>

#include "win.h"

void kt__win_read_net(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    MIB_IF_TABLE2 *t = NULL;
    DWORD st = GetIfTable2(&t);
    kt__win_source(p, KT__WSRC_NET, "GetIfTable2", st == NO_ERROR, st);
    if (st != NO_ERROR)
        return;
    apr_pool_t *state = p->state_pool[p->cur_state];
    s->net = apr_pcalloc(pool, sizeof(kt_net_t) * (t->NumEntries ? t->NumEntries : 1));
    s->nnet = 0;
    for (ULONG i = 0; i < t->NumEntries; i++) {
        const MIB_IF_ROW2 *r = &t->Table[i];
        if (r->InterfaceAndOperStatusFlags.FilterInterface)
            continue;
        const char *name = kt__win_utf8(r->Alias, pool);
        if (!*name || apr_hash_get(p->next.net, name, APR_HASH_KEY_STRING))
            continue; /* unnamed, or a duplicate alias: keep the first */
        kt_net_t *o = &s->net[s->nnet++];
        o->name = name;
        o->rx_bytes = r->InOctets;
        o->tx_bytes = r->OutOctets;
        o->rx_packets = r->InUcastPkts + r->InNUcastPkts;
        o->tx_packets = r->OutUcastPkts + r->OutNUcastPkts;
        o->rx_errors = r->InErrors;
        o->tx_errors = r->OutErrors;
        o->rx_drops = r->InDiscards;
        o->tx_drops = r->OutDiscards;
        for (int k = 0; k < KT_NET_OTHER; k++)
            o->other[k] = KT_UNKNOWN_U64;
        o->rx_bytes_ps = o->tx_bytes_ps = NAN;
        const kt_net_t *was =
            p->prev.valid ? apr_hash_get(p->prev.net, name, APR_HASH_KEY_STRING) : NULL;
        if (was) {
            o->rx_bytes_ps = kt__plat_rate(was->rx_bytes, o->rx_bytes, s->elapsed_s);
            o->tx_bytes_ps = kt__plat_rate(was->tx_bytes, o->tx_bytes, s->elapsed_s);
        }
        kt_net_t *keep = apr_pmemdup(state, o, sizeof *o);
        keep->name = apr_pstrdup(state, name);
        apr_hash_set(p->next.net, keep->name, APR_HASH_KEY_STRING, keep);
    }
    FreeMibTable(t);
}
