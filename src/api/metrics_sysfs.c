/*
 * metrics_sysfs.c - node_exporter's netclass families that the dashboards
 * and alerts use (node_network_info, _up, _mtu_bytes, _speed_bytes), from
 * /sys/class/net/<device>/, read as the page is rendered.
 *
 * As with metrics_procfs.c, nothing of kotod's judgement needs them: they
 * are read only when a page with them is made (at most once per reading).
 * Each property is one small file; one the kernel refuses to read (the
 * speed of a virtual device) is left out, as node_exporter leaves it out.
 * netclass's other properties (carrier, flags, ifindex...), a file each,
 * would triple what a page costs to make; they are not served.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#endif

#include <apr_strings.h>
#include <apr_tables.h>

#ifdef _WIN32
void kt__metrics_sysfs(kt__prom_t *o, const char *sysfs, unsigned mask, apr_pool_t *pool)
{
    (void)o, (void)sysfs, (void)mask, (void)pool; /* no sysfs */
}
#else
/* The first line of the device's file (dirfd: its directory), in pool;
 * NULL when it cannot be read. openat and read, not a path and stdio: the
 * page reads seven files per device each time it is made. */
static char *line_of(int dirfd, const char *file, apr_pool_t *pool)
{
    int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return apr_pstrdup(pool, buf);
}

/* An integer property ("1500", "-1"), as node_exporter parses it. */
static int integer(int dirfd, const char *file, double *v, apr_pool_t *pool)
{
    const char *text = line_of(dirfd, file, pool);
    char *end;
    if (!text || !*text)
        return -1;
    long long n = strtoll(text, &end, 10);
    if (*end)
        return -1;
    *v = (double)n;
    return 0;
}

typedef struct {
    const char *name, *label;
    const char *address, *broadcast, *duplex, *ifalias, *operstate;
    double mtu, speed;
    int has_mtu, has_speed;
} netdev_t;

void kt__metrics_sysfs(kt__prom_t *o, const char *sysfs, unsigned mask, apr_pool_t *pool)
{
    if (!(mask & KT__COLLECT_NETCLASS))
        return;
    DIR *dir = opendir(apr_pstrcat(pool, sysfs, "/class/net", NULL));
    if (!dir)
        return;
    apr_array_header_t *devs = apr_array_make(pool, 8, sizeof(netdev_t));
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        int fd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;
        netdev_t *d = apr_array_push(devs);
        d->name = apr_pstrdup(pool, e->d_name);
        d->label = kt__prom_labels(pool, "device", d->name, NULL);
        d->address = line_of(fd, "address", pool);
        d->broadcast = line_of(fd, "broadcast", pool);
        d->duplex = line_of(fd, "duplex", pool);
        d->ifalias = line_of(fd, "ifalias", pool);
        d->operstate = line_of(fd, "operstate", pool);
        d->has_mtu = integer(fd, "mtu", &d->mtu, pool) == 0;
        d->has_speed = integer(fd, "speed", &d->speed, pool) == 0;
        close(fd);
    }
    closedir(dir);
    /* readdir's order is the directory's; node_exporter's answer is sorted
     * by device, and so is this one, for whoever reads it by eye. */
    netdev_t *dv = (netdev_t *)devs->elts;
    for (int i = 1; i < devs->nelts; i++)
        for (int j = i; j > 0 && strcmp(dv[j - 1].name, dv[j].name) > 0; j--) {
            netdev_t t = dv[j];
            dv[j] = dv[j - 1];
            dv[j - 1] = t;
        }
    if (!devs->nelts)
        return;
    kt__prom_family(o, "node_network_info", "gauge",
                    "Non-numeric data from /sys/class/net/<iface>, value is always 1.");
    for (int i = 0; i < devs->nelts; i++) {
        const netdev_t *d = &dv[i];
        kt__prom_sample(o, "node_network_info",
                        kt__prom_labels(pool, "address", d->address ? d->address : "",
                                        "broadcast", d->broadcast ? d->broadcast : "", "device",
                                        d->name, "duplex", d->duplex ? d->duplex : "", "ifalias",
                                        d->ifalias ? d->ifalias : "", "operstate",
                                        d->operstate ? d->operstate : "", NULL),
                        1);
    }
    int started = 0;
    for (int i = 0; i < devs->nelts; i++)
        if (dv[i].has_mtu) {
            if (!started++)
                kt__prom_family(o, "node_network_mtu_bytes", "gauge",
                                "Network device property: mtu_bytes");
            kt__prom_sample(o, "node_network_mtu_bytes", dv[i].label, dv[i].mtu);
        }
    started = 0;
    for (int i = 0; i < devs->nelts; i++)
        if (dv[i].has_speed) {
            if (!started++)
                kt__prom_family(o, "node_network_speed_bytes", "gauge",
                                "Network device property: speed_bytes");
            /* Mb/s in the file, bytes/s served; -1 (unknown) as -125000, as
             * node_exporter 1.5 serves it. */
            kt__prom_sample(o, "node_network_speed_bytes", dv[i].label,
                            dv[i].speed * 1000.0 * 1000.0 / 8.0);
        }
    kt__prom_family(o, "node_network_up", "gauge",
                    "Value is 1 if operstate is 'up', 0 otherwise.");
    for (int i = 0; i < devs->nelts; i++)
        kt__prom_sample(o, "node_network_up", dv[i].label,
                        dv[i].operstate && strcmp(dv[i].operstate, "up") == 0);
}
#endif
