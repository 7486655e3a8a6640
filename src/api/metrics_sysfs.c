/*
 * metrics_sysfs.c - node_exporter's netclass families (node_network_up,
 * _info, _mtu_bytes, _speed_bytes and the other properties of
 * /sys/class/net/<device>/), read from sysfs as the page is rendered.
 *
 * As with metrics_procfs.c, nothing of kotod's judgement needs them: they
 * are read only when a page with them is made (at most once per reading).
 * Each property is one small file; one the kernel refuses to read (carrier
 * of a device that is down, speed of a virtual one) is left out, as
 * node_exporter leaves it out.
 */
#include "api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>

/* The first line of dir/file, in pool; NULL when it cannot be read. */
static char *line_of(const char *dir, const char *file, apr_pool_t *pool)
{
    FILE *f = fopen(apr_pstrcat(pool, dir, "/", file, NULL), "rb");
    if (!f)
        return NULL;
    char buf[256];
    char *got = fgets(buf, sizeof buf, f);
    int err = ferror(f);
    fclose(f);
    if (!got || err)
        return NULL;
    buf[strcspn(buf, "\n")] = '\0';
    return apr_pstrdup(pool, buf);
}

/* An integer property ("4", "0x1003"), as node_exporter parses it. */
static int integer(const char *dir, const char *file, double *v, apr_pool_t *pool)
{
    const char *text = line_of(dir, file, pool);
    char *end;
    if (!text || !*text)
        return -1;
    long long n = strtoll(text, &end, 0);
    if (*end)
        return -1;
    *v = (double)n;
    return 0;
}

/* In name order: the family, its type, the file it comes from and what the
 * file's number is multiplied by (speed is Mb/s, served in bytes/s). */
static const struct {
    const char *family, *type, *file;
    double scale;
} props[] = {
    {"address_assign_type", "gauge", "addr_assign_type", 1},
    {"carrier", "gauge", "carrier", 1},
    {"carrier_changes_total", "counter", "carrier_changes", 1},
    {"carrier_down_changes_total", "counter", "carrier_down_count", 1},
    {"carrier_up_changes_total", "counter", "carrier_up_count", 1},
    {"device_id", "gauge", "dev_id", 1},
    {"dormant", "gauge", "dormant", 1},
    {"flags", "gauge", "flags", 1},
    {"iface_id", "gauge", "ifindex", 1},
    {"iface_link", "gauge", "iflink", 1},
    {"iface_link_mode", "gauge", "link_mode", 1},
    {"mtu_bytes", "gauge", "mtu", 1},
    {"name_assign_type", "gauge", "name_assign_type", 1},
    {"net_dev_group", "gauge", "netdev_group", 1},
    {"protocol_type", "gauge", "type", 1},
    {"speed_bytes", "gauge", "speed", 1000.0 * 1000.0 / 8.0},
    {"transmit_queue_length", "gauge", "tx_queue_len", 1},
};

typedef struct {
    const char *name, *dir, *label;
} netdev_t;

void kt__metrics_sysfs(kt__prom_t *o, const char *sysfs, unsigned mask, apr_pool_t *pool)
{
    if (!(mask & KT__COLLECT_NETCLASS))
        return;
    const char *root = apr_pstrcat(pool, sysfs, "/class/net", NULL);
    apr_dir_t *dir;
    if (apr_dir_open(&dir, root, pool) != APR_SUCCESS)
        return;
    apr_array_header_t *devs = apr_array_make(pool, 8, sizeof(netdev_t));
    apr_finfo_t fi;
    while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
        if (!fi.name || fi.name[0] == '.')
            continue;
        netdev_t *d = apr_array_push(devs);
        d->name = apr_pstrdup(pool, fi.name);
        d->dir = apr_pstrcat(pool, root, "/", fi.name, NULL);
        d->label = kt__prom_labels(pool, "device", d->name, NULL);
    }
    apr_dir_close(dir);
    const netdev_t *dv = (const netdev_t *)devs->elts;
    for (size_t k = 0; k < KT_ARRAY_SIZE(props); k++) {
        const char *family = apr_pstrcat(pool, "node_network_", props[k].family, NULL);
        int started = 0;
        for (int i = 0; i < devs->nelts; i++) {
            double v;
            if (integer(dv[i].dir, props[k].file, &v, pool) != 0)
                continue;
            if (!started++)
                kt__prom_family(o, family, props[k].type,
                                apr_pstrcat(pool, "Network device property: ", props[k].family,
                                            NULL));
            kt__prom_sample(o, family, dv[i].label, v * props[k].scale);
        }
    }
    if (!devs->nelts)
        return;
    kt__prom_family(o, "node_network_info", "gauge",
                    "Non-numeric data from /sys/class/net/<iface>, value is always 1.");
    const char **operstate = apr_pcalloc(pool, sizeof *operstate * (size_t)devs->nelts);
    for (int i = 0; i < devs->nelts; i++) {
        const char *address = line_of(dv[i].dir, "address", pool);
        const char *broadcast = line_of(dv[i].dir, "broadcast", pool);
        const char *duplex = line_of(dv[i].dir, "duplex", pool);
        const char *ifalias = line_of(dv[i].dir, "ifalias", pool);
        operstate[i] = line_of(dv[i].dir, "operstate", pool);
        kt__prom_sample(o, "node_network_info",
                        kt__prom_labels(pool, "address", address ? address : "", "broadcast",
                                        broadcast ? broadcast : "", "device", dv[i].name,
                                        "duplex", duplex ? duplex : "", "ifalias",
                                        ifalias ? ifalias : "", "operstate",
                                        operstate[i] ? operstate[i] : "", NULL),
                        1);
    }
    kt__prom_family(o, "node_network_up", "gauge",
                    "Value is 1 if operstate is 'up', 0 otherwise.");
    for (int i = 0; i < devs->nelts; i++)
        kt__prom_sample(o, "node_network_up", dv[i].label,
                        operstate[i] && strcmp(operstate[i], "up") == 0);
}
