/*
 * parse_diskstats.c - /proc/diskstats (Documentation/admin-guide/iostats.rst):
 *   major minor name reads rd_merged rd_sectors rd_ms writes wr_merged wr_sectors
 *   wr_ms in_flight io_ms weighted_ms [discard and flush fields on newer kernels]
 * Sectors are always 512 bytes here, whatever the device's sector size.
 */
#include "linux.h"

static int parse_line(const char *p, kt__diskstat_t *d, apr_pool_t *pool)
{
    uint64_t major, minor;
    if (kt__parse_u64(&p, &major) || kt__parse_u64(&p, &minor))
        return -1;
    while (*p == ' ')
        p++;
    const char *name = p;
    while (*p && *p != ' ' && *p != '\n')
        p++;
    if (p == name)
        return -1;
    d->name = apr_pstrmemdup(pool, name, (apr_size_t)(p - name));
    d->major = (unsigned)major;
    d->minor = (unsigned)minor;
    uint64_t v[11];
    int i;
    for (i = 0; i < 11; i++)
        if (kt__parse_u64(&p, &v[i]) != 0)
            break;
    uint64_t *const dst[11] = {&d->reads,  &d->reads_merged,  &d->read_sectors,  &d->read_ms,
                               &d->writes, &d->writes_merged, &d->write_sectors, &d->write_ms,
                               &d->in_flight, &d->io_ms, &d->weighted_ms};
    for (int k = 0; k < 11; k++)
        *dst[k] = k < i ? v[k] : KT_UNKNOWN_U64;
    return 0;
}

apr_status_t kt__parse_diskstats(const char *text, kt__diskstat_t **out, unsigned *n,
                                 apr_pool_t *pool)
{
    unsigned lines = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        lines++;
    kt__diskstat_t *d = apr_pcalloc(pool, sizeof *d * (lines ? lines : 1));
    unsigned count = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        if (parse_line(p, &d[count], pool) == 0)
            count++;
    *out = d;
    *n = count;
    return count ? APR_SUCCESS : KT_EPARSE;
}
