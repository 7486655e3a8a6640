/*
 * metrics_procfs.c - node_exporter's netstat, sockstat, filefd, entropy and
 * conntrack families, read from procfs as the page is rendered.
 *
 * kotod's own judgement needs none of these files, so the reading does not
 * hold them: they are read only when a page with their families is made,
 * which the page's cache limits to once per reading, and never when nobody
 * scrapes. Names, HELP, types and values are node_exporter 1.5's: the kernel's
 * numbers read as doubles (Go's ParseFloat), the netstat fields filtered by
 * its default --collector.netstat.fields.
 */
#include "api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

/* What node_exporter multiplies sockstat's mem by: its own page size. */
static double page_size(void)
{
#ifdef _WIN32
    return 4096; /* never asked: Windows has no sockstat */
#else
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (double)n : 4096;
#endif
}

/* The whole of root/rel, NUL-terminated, in pool; NULL when unreadable.
 * open and read into the pool, not stdio: a dozen files each time they are
 * read, and fopen's buffer and locking were a good part of the cost. */
static char *slurp(const char *root, const char *rel, apr_pool_t *pool)
{
#ifdef _WIN32
    (void)root, (void)rel, (void)pool;
    return NULL; /* no procfs */
#else
    int fd = open(apr_pstrcat(pool, root, "/", rel, NULL), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 8192, len = 0;
    char *buf = apr_palloc(pool, cap);
    for (;;) {
        size_t want = cap - 1 - len;
        ssize_t n = read(fd, buf + len, want);
        if (n <= 0)
            break;
        len += (size_t)n;
        /* procfs's seq files and /proc/sys fill the buffer until their end:
         * a short read is the end, and saves the read that would say so. */
        if ((size_t)n < want)
            break;
        char *bigger = apr_palloc(pool, cap * 2); /* /proc/net/netstat grows with the kernel */
        memcpy(bigger, buf, len);
        buf = bigger;
        cap *= 2;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
#endif
}

/* The number at *p (skipping blanks), as ParseFloat reads the kernel's. */
static int number(const char **p, double *v)
{
    char *end;
    while (**p == ' ' || **p == '\t')
        (*p)++;
    *v = strtod(*p, &end);
    if (end == *p)
        return -1;
    *p = end;
    return 0;
}

static void gauge(kt__prom_t *o, const char *name, const char *help, double v)
{
    kt__prom_family(o, name, "gauge", help);
    kt__prom_sample(o, name, NULL, v);
}

/* ---- filefd, entropy ---------------------------------------------------------------- */

static void filefd(kt__prom_t *o, const char *root, apr_pool_t *pool)
{
    /* "allocated  unused  maximum" */
    const char *p = slurp(root, "sys/fs/file-nr", pool);
    double allocated, unused, maximum;
    if (!p || number(&p, &allocated) || number(&p, &unused) || number(&p, &maximum))
        return;
    gauge(o, "node_filefd_allocated", "File descriptor statistics: allocated.", allocated);
    gauge(o, "node_filefd_maximum", "File descriptor statistics: maximum.", maximum);
}

static void entropy(kt__prom_t *o, const char *root, apr_pool_t *pool)
{
    const char *p = slurp(root, "sys/kernel/random/entropy_avail", pool);
    double v;
    if (!p || number(&p, &v))
        return;
    gauge(o, "node_entropy_available_bits", "Bits of available entropy.", v);
    p = slurp(root, "sys/kernel/random/poolsize", pool);
    if (p && number(&p, &v) == 0)
        gauge(o, "node_entropy_pool_size_bits", "Bits of entropy pool.", v);
}

/* ---- conntrack ------------------------------------------------------------------------- */

/* The table's use and size, what the node-mixin's conntrack alert divides.
 * As node_exporter: nothing without the count (no nf_conntrack module), and
 * the limit only when its file reads. */
static void conntrack(kt__prom_t *o, const char *root, apr_pool_t *pool)
{
    const char *p = slurp(root, "sys/net/netfilter/nf_conntrack_count", pool);
    double v;
    if (!p || number(&p, &v))
        return;
    gauge(o, "node_nf_conntrack_entries",
          "Number of currently allocated flow entries for connection tracking.", v);
    p = slurp(root, "sys/net/netfilter/nf_conntrack_max", pool);
    if (p && number(&p, &v) == 0)
        gauge(o, "node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.",
              v);
}

/* ---- sockstat -------------------------------------------------------------------------- */

/* "TCP: inuse 2 orphan 0 tw 195 alloc 2 mem 80": node_sockstat_TCP_inuse and
 * so on, the fields node_exporter knows; mem (pages) also as _mem_bytes. */
static void sockstat_file(kt__prom_t *o, const char *text, apr_pool_t *pool)
{
    static const char *const known[] = {"inuse", "orphan", "tw", "alloc", "mem", "memory"};
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        const char *colon = strchr(line, ':');
        if (!colon || (eol && colon > eol)) {
            line = eol ? eol + 1 : NULL;
            continue;
        }
        char *proto = apr_pstrmemdup(pool, line, (apr_size_t)(colon - line));
        const char *p = colon + 1;
        while (p && *p && *p != '\n') {
            while (*p == ' ')
                p++;
            const char *key = p;
            while (*p && *p != ' ' && *p != '\n')
                p++;
            char *k = apr_pstrmemdup(pool, key, (apr_size_t)(p - key));
            double v;
            if (!*k || number(&p, &v) != 0)
                break;
            if (strcmp(proto, "sockets") == 0) {
                if (strcmp(k, "used") == 0)
                    gauge(o, "node_sockstat_sockets_used", "Number of IPv4 sockets in use.", v);
                continue;
            }
            int ok = 0;
            for (size_t i = 0; i < KT_ARRAY_SIZE(known); i++)
                ok |= strcmp(k, known[i]) == 0;
            if (!ok)
                continue;
            gauge(o, apr_psprintf(pool, "node_sockstat_%s_%s", proto, k),
                  apr_psprintf(pool, "Number of %s sockets in state %s.", proto, k), v);
            if (strcmp(k, "mem") == 0)
                gauge(o, apr_psprintf(pool, "node_sockstat_%s_mem_bytes", proto),
                      apr_psprintf(pool, "Number of %s sockets in state mem_bytes.", proto),
                      v * page_size());
        }
        line = eol ? eol + 1 : NULL;
    }
}

static void sockstat(kt__prom_t *o, const char *root, apr_pool_t *pool)
{
    const char *text = slurp(root, "net/sockstat", pool);
    if (!text)
        return;
    sockstat_file(o, text, pool);
    if ((text = slurp(root, "net/sockstat6", pool)) != NULL)
        sockstat_file(o, text, pool);
}

/* ---- netstat ------------------------------------------------------------------------------ */

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static int in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* node_exporter 1.5's default --collector.netstat.fields, written out:
 * ^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|
 *   Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|
 *   TCPTimeouts)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|
 *   RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|
 *   RcvbufErrors|SndbufErrors))$ */
static int netstat_field(const char *proto, const char *name)
{
    static const char *const octets[] = {"InOctets", "OutOctets"};
    static const char *const msgs[] = {"InMsgs", "OutMsgs"};
    static const char *const tcpext[] = {"TCPSynRetrans", "TCPTimeouts"};
    static const char *const tcp[] = {"ActiveOpens", "InSegs",      "OutSegs",  "OutRsts",
                                      "PassiveOpens", "RetransSegs", "CurrEstab"};
    static const char *const udp[] = {"InDatagrams", "OutDatagrams", "NoPorts", "RcvbufErrors",
                                      "SndbufErrors"};
    if (ends_with(name, "_InErrors") || ends_with(name, "_InErrs") ||
        strcmp(name, "InErrors") == 0 || strcmp(name, "InErrs") == 0)
        return 1;
    if (strcmp(proto, "Ip") == 0)
        return strcmp(name, "Forwarding") == 0;
    if (strcmp(proto, "Ip6") == 0 || strcmp(proto, "IpExt") == 0)
        return in(name, octets, KT_ARRAY_SIZE(octets));
    if (strcmp(proto, "Icmp") == 0 || strcmp(proto, "Icmp6") == 0)
        return in(name, msgs, KT_ARRAY_SIZE(msgs));
    if (strcmp(proto, "TcpExt") == 0)
        return strncmp(name, "Listen", 6) == 0 || strncmp(name, "Syncookies", 10) == 0 ||
               in(name, tcpext, KT_ARRAY_SIZE(tcpext));
    if (strcmp(proto, "Tcp") == 0)
        return in(name, tcp, KT_ARRAY_SIZE(tcp));
    if (strcmp(proto, "Udp") == 0 || strcmp(proto, "Udp6") == 0)
        return in(name, udp, KT_ARRAY_SIZE(udp));
    return 0;
}

static void netstat_one(kt__prom_t *o, const char *proto, const char *name, double v,
                        apr_pool_t *pool)
{
    if (!netstat_field(proto, name))
        return;
    const char *metric = apr_pstrcat(pool, "node_netstat_", proto, "_", name, NULL);
    kt__prom_family(o, metric, "untyped", apr_pstrcat(pool, "Statistic ", proto, name, ".", NULL));
    kt__prom_sample(o, metric, NULL, v);
}

/* /proc/net/netstat and /proc/net/snmp: line pairs, "Tcp: Name Name ..."
 * then "Tcp: 1 2 ...". */
static void netstat_pairs(kt__prom_t *o, char *text, apr_pool_t *pool)
{
    char *save = NULL;
    for (char *names = apr_strtok(text, "\n", &save); names;
         names = apr_strtok(NULL, "\n", &save)) {
        char *values = apr_strtok(NULL, "\n", &save);
        char *colon = strchr(names, ':');
        if (!values || !colon)
            return;
        *colon = '\0';
        const char *proto = names;
        char *ns = NULL, *vs = NULL;
        char *name = apr_strtok(colon + 1, " ", &ns);
        char *value = apr_strtok(strchr(values, ':') ? strchr(values, ':') + 1 : values, " ", &vs);
        for (; name && value; name = apr_strtok(NULL, " ", &ns), value = apr_strtok(NULL, " ", &vs)) {
            const char *p = value;
            double v;
            if (number(&p, &v) == 0)
                netstat_one(o, proto, name, v, pool);
        }
    }
}

/* /proc/net/snmp6: "Ip6InReceives  123", the protocol up to its "6". */
static void netstat_snmp6(kt__prom_t *o, char *text, apr_pool_t *pool)
{
    char *save = NULL;
    for (char *line = apr_strtok(text, "\n", &save); line; line = apr_strtok(NULL, "\n", &save)) {
        char *ls = NULL;
        char *key = apr_strtok(line, " \t", &ls), *value = apr_strtok(NULL, " \t", &ls);
        char *six = key ? strchr(key, '6') : NULL;
        if (!value || !six)
            continue;
        const char *proto = apr_pstrmemdup(pool, key, (apr_size_t)(six + 1 - key));
        const char *p = value;
        double v;
        if (number(&p, &v) == 0)
            netstat_one(o, proto, six + 1, v, pool);
    }
}

static void netstat(kt__prom_t *o, const char *root, apr_pool_t *pool)
{
    /* node_exporter answers nothing of netstat when a file is missing. */
    char *net = slurp(root, "net/netstat", pool), *snmp = slurp(root, "net/snmp", pool);
    if (!net || !snmp)
        return;
    netstat_pairs(o, net, pool);
    netstat_pairs(o, snmp, pool);
    char *snmp6 = slurp(root, "net/snmp6", pool);
    if (snmp6)
        netstat_snmp6(o, snmp6, pool);
}

void kt__metrics_procfs(kt__prom_t *o, const char *procfs, unsigned mask, apr_pool_t *pool)
{
    if (mask & KT__COLLECT_NETSTAT)
        netstat(o, procfs, pool);
    if (mask & KT__COLLECT_SOCKSTAT)
        sockstat(o, procfs, pool);
    if (mask & KT__COLLECT_FILEFD)
        filefd(o, procfs, pool);
    if (mask & KT__COLLECT_ENTROPY)
        entropy(o, procfs, pool);
    if (mask & KT__COLLECT_CONNTRACK)
        conntrack(o, procfs, pool);
}
