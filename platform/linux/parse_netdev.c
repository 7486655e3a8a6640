/*
 * parse_netdev.c - /proc/net/dev: two header lines, then
 *   "  eth0: rx_bytes packets errs drop fifo frame compressed multicast
 *           tx_bytes packets errs drop fifo colls carrier compressed"
 * Names are right-aligned in six columns, so a long one starts the line, and
 * it may touch its numbers ("enp0s31f6:123"); names cannot hold ':' or blanks.
 */
#include "linux.h"

#include <string.h>

static int parse_line(const char *p, kt__netdev_t *d, apr_pool_t *pool)
{
    while (*p == ' ')
        p++;
    const char *colon = strchr(p, ':');
    const char *eol = strchr(p, '\n');
    if (!colon || colon == p || (eol && colon > eol))
        return -1;
    d->name = apr_pstrmemdup(pool, p, (apr_size_t)(colon - p));
    p = colon + 1;
    uint64_t v[16];
    int i;
    for (i = 0; i < 16; i++)
        if (kt__parse_u64(&p, &v[i]) != 0)
            break;
    d->rx_bytes = i > 0 ? v[0] : KT_UNKNOWN_U64;
    d->rx_packets = i > 1 ? v[1] : KT_UNKNOWN_U64;
    d->rx_errs = i > 2 ? v[2] : KT_UNKNOWN_U64;
    d->rx_drop = i > 3 ? v[3] : KT_UNKNOWN_U64;
    d->tx_bytes = i > 8 ? v[8] : KT_UNKNOWN_U64;
    d->tx_packets = i > 9 ? v[9] : KT_UNKNOWN_U64;
    d->tx_errs = i > 10 ? v[10] : KT_UNKNOWN_U64;
    d->tx_drop = i > 11 ? v[11] : KT_UNKNOWN_U64;
    static const int other[KT_NET_OTHER] = {4, 5, 6, 7, 12, 13, 14, 15};
    for (int k = 0; k < KT_NET_OTHER; k++)
        d->other[k] = i > other[k] ? v[other[k]] : KT_UNKNOWN_U64;
    return 0;
}

apr_status_t kt__parse_netdev(const char *text, kt__netdev_t **out, unsigned *n,
                              apr_pool_t *pool)
{
    unsigned lines = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        lines++;
    kt__netdev_t *d = apr_pcalloc(pool, sizeof *d * (lines ? lines : 1));
    unsigned count = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        if (parse_line(p, &d[count], pool) == 0) /* the header lines hold no ':' */
            count++;
    *out = d;
    *n = count;
    return count ? APR_SUCCESS : KT_EPARSE;
}
