/*
 * metrics.c - GET /metrics: the Prometheus text exposition format 0.0.4, or
 * OpenMetrics 1.0 when the scraper asks for it.
 *
 * Two sets of families, chosen by the metrics setting (koto, node, both)
 * and filtered by ?collect[]= as node_exporter's: node_exporter's own
 * node_* (metrics_node.c), so that a Prometheus, its dashboards and its
 * alert rules written for node_exporter work unchanged; and kotod's koto_*,
 * host metrics under node_exporter's conventions (base units, _bytes,
 * _seconds, _ratio in 0..1, _total for counters) and kotod's own. An
 * unknown value is left out rather than exported as NaN or 0. Label values
 * are escaped as the format requires (backslash, double quote, newline).
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "kt_revision.h" /* KT_REVISION, written at build time (cmake/revision.cmake) */

/* The koto_* families below write through these, as they always have:
 * kotod's own numbers keep their printf forms. */
#define put kt__prom_put
#define family kt__prom_family
typedef kt__prom_t out_t;

/* A label value with \, " and newline escaped, in a buffer of its own. */
static const char *esc(char *buf, size_t len, const char *v)
{
    size_t j = 0;
    for (size_t i = 0; v && v[i] && j + 3 < len; i++) {
        if (v[i] == '\\' || v[i] == '"') {
            buf[j++] = '\\';
            buf[j++] = v[i];
        } else if (v[i] == '\n') {
            buf[j++] = '\\';
            buf[j++] = 'n';
        } else {
            buf[j++] = v[i];
        }
    }
    buf[j] = '\0';
    return buf;
}

static void gauge(out_t *o, const char *name, const char *labels, double v)
{
    if (kt_known(v))
        put(o, "%s%s %.17g\n", name, labels ? labels : "", v);
}

static void gauge_u64(out_t *o, const char *name, const char *labels, uint64_t v)
{
    if (kt_known_u64(v))
        put(o, "%s%s %llu\n", name, labels ? labels : "", (unsigned long long)v);
}

static double ratio(double pct) { return kt_known(pct) ? pct / 100.0 : NAN; }

static void cpu_metrics(out_t *o, const kt_sample_t *s)
{
    static const char *const modes[] = {"user", "nice", "system", "idle", "iowait",
                                        "irq", "softirq", "steal"};
    const double shares[] = {s->cpu.user_pct, s->cpu.nice_pct, s->cpu.system_pct,
                             s->cpu.idle_pct, s->cpu.iowait_pct, s->cpu.irq_pct,
                             s->cpu.softirq_pct, s->cpu.steal_pct};
    family(o, "koto_cpu_mode_ratio", "gauge", "Share of CPU time in each mode over the last interval.");
    for (size_t i = 0; i < KT_ARRAY_SIZE(modes); i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "{mode=\"%s\"}", modes[i]);
        gauge(o, "koto_cpu_mode_ratio", labels, ratio(shares[i]));
    }
    family(o, "koto_cpu_busy_ratio", "gauge", "Share of CPU time not idle nor waiting for I/O, all CPUs.");
    gauge(o, "koto_cpu_busy_ratio", NULL, ratio(s->cpu.busy_pct));
    family(o, "koto_cpu_core_busy_ratio", "gauge", "Busy share of each logical CPU.");
    for (unsigned i = 0; i < s->ncores; i++) {
        char labels[32];
        snprintf(labels, sizeof labels, "{cpu=\"%u\"}", i);
        gauge(o, "koto_cpu_core_busy_ratio", labels, ratio(s->cores[i].busy_pct));
    }
    family(o, "koto_cpus", "gauge", "Logical CPUs online.");
    gauge_u64(o, "koto_cpus", NULL, s->ncpu);
    family(o, "koto_load1", "gauge", "1-minute load average.");
    gauge(o, "koto_load1", NULL, s->load1);
    family(o, "koto_load5", "gauge", "5-minute load average.");
    gauge(o, "koto_load5", NULL, s->load5);
    family(o, "koto_load15", "gauge", "15-minute load average.");
    gauge(o, "koto_load15", NULL, s->load15);
    family(o, "koto_boot_time_seconds", "gauge", "Boot time, seconds since the epoch.");
    if (s->boot_time >= 0)
        put(o, "koto_boot_time_seconds %lld\n", (long long)s->boot_time);
    family(o, "koto_uptime_seconds", "gauge", "Seconds since boot.");
    gauge(o, "koto_uptime_seconds", NULL, s->uptime_s);
}

static void memory_metrics(out_t *o, const kt_sample_t *s)
{
    const kt_mem_t *m = &s->mem;
    family(o, "koto_memory_total_bytes", "gauge", "Physical memory.");
    gauge_u64(o, "koto_memory_total_bytes", NULL, m->total_bytes);
    family(o, "koto_memory_available_bytes", "gauge", "Memory available for new work without swapping.");
    gauge_u64(o, "koto_memory_available_bytes", NULL, m->available_bytes);
    family(o, "koto_memory_used_ratio", "gauge", "Share of memory in use (total - available).");
    gauge(o, "koto_memory_used_ratio", NULL, ratio(m->used_pct));
    family(o, "koto_swap_total_bytes", "gauge", "Swap space.");
    gauge_u64(o, "koto_swap_total_bytes", NULL, m->swap_total_bytes);
    family(o, "koto_swap_used_bytes", "gauge", "Swap space in use.");
    gauge_u64(o, "koto_swap_used_bytes", NULL, m->swap_used_bytes);
}

static void process_metrics(out_t *o, const kt_sample_t *s)
{
    const struct {
        const char *state;
        uint64_t n;
    } states[] = {{"running", s->procs_running}, {"sleeping", s->procs_sleeping},
                  {"blocked", s->procs_blocked}, {"zombie", s->procs_zombie},
                  {"stopped", s->procs_stopped}, {"idle", s->procs_idle}};
    family(o, "koto_processes", "gauge", "Processes by state.");
    for (size_t i = 0; i < KT_ARRAY_SIZE(states); i++) {
        char labels[48];
        snprintf(labels, sizeof labels, "{state=\"%s\"}", states[i].state);
        gauge_u64(o, "koto_processes", labels, states[i].n);
    }
    family(o, "koto_threads", "gauge", "Threads of all processes.");
    gauge_u64(o, "koto_threads", NULL, s->threads_total);
}

static void fs_metrics(out_t *o, const kt_sample_t *s)
{
    static const char *const names[] = {"koto_filesystem_size_bytes", "koto_filesystem_avail_bytes",
                                        "koto_filesystem_used_ratio",
                                        "koto_filesystem_inodes_used_ratio"};
    static const char *const help[] = {"Filesystem size.", "Space available to unprivileged users.",
                                       "Share used, as df computes it.", "Share of inodes used."};
    for (size_t k = 0; k < KT_ARRAY_SIZE(names); k++) {
        family(o, names[k], "gauge", help[k]);
        for (unsigned i = 0; i < s->nfs; i++) {
            const kt_fs_t *f = &s->fs[i];
            char a[512], b[512], c[128], labels[1200];
            snprintf(labels, sizeof labels, "{mountpoint=\"%s\",device=\"%s\",fstype=\"%s\"}",
                     esc(a, sizeof a, f->mount_point), esc(b, sizeof b, f->device),
                     esc(c, sizeof c, f->fstype));
            if (k == 0)
                gauge_u64(o, names[k], labels, f->size_bytes);
            else if (k == 1)
                gauge_u64(o, names[k], labels, f->avail_bytes);
            else
                gauge(o, names[k], labels, ratio(k == 2 ? f->used_pct : f->inodes_used_pct));
        }
    }
}

static void net_metrics(out_t *o, const kt_sample_t *s)
{
    static const char *const names[] = {"koto_network_receive_bytes_total",
                                        "koto_network_transmit_bytes_total",
                                        "koto_network_receive_packets_total",
                                        "koto_network_transmit_packets_total"};
    for (size_t k = 0; k < KT_ARRAY_SIZE(names); k++) {
        family(o, names[k], "counter", "Network interface counter since boot.");
        for (unsigned i = 0; i < s->nnet; i++) {
            const kt_net_t *n = &s->net[i];
            const uint64_t v[] = {n->rx_bytes, n->tx_bytes, n->rx_packets, n->tx_packets};
            char a[256], labels[300];
            snprintf(labels, sizeof labels, "{device=\"%s\"}", esc(a, sizeof a, n->name));
            gauge_u64(o, names[k], labels, v[k]);
        }
    }
    static const char *const dnames[] = {"koto_disk_read_bytes_total",
                                         "koto_disk_written_bytes_total"};
    for (size_t k = 0; k < KT_ARRAY_SIZE(dnames); k++) {
        family(o, dnames[k], "counter", "Block device counter since boot.");
        for (unsigned i = 0; i < s->ndisks; i++) {
            char a[256], labels[300];
            snprintf(labels, sizeof labels, "{device=\"%s\"}", esc(a, sizeof a, s->disks[i].name));
            gauge_u64(o, dnames[k], labels, k ? s->disks[i].write_bytes : s->disks[i].read_bytes);
        }
    }
    family(o, "koto_disk_busy_ratio", "gauge", "Share of the last interval with I/O in flight.");
    for (unsigned i = 0; i < s->ndisks; i++) {
        char a[256], labels[300];
        snprintf(labels, sizeof labels, "{device=\"%s\"}", esc(a, sizeof a, s->disks[i].name));
        gauge(o, "koto_disk_busy_ratio", labels, ratio(s->disks[i].busy_pct));
    }
}

/* kotod's own families that change only with a reading, an event or
 * start/stop: kept with the host's. */
static void monitor_metrics(out_t *o, const kt_mon_health_t *h, kt_snap_t *snap)
{
    family(o, "koto_events_total", "counter", "Conditions that started, by type and severity.");
    for (int t = 0; t < kt_event_type_count(); t++)
        for (int v = 0; v < KT_SEV__COUNT; v++)
            put(o, "koto_events_total{type=\"%s\",severity=\"%s\"} %llu\n", kt_event_type_name(t),
                kt_severity_name(v), (unsigned long long)h->started_total[t][v]);
    family(o, "koto_active_conditions", "gauge", "Conditions holding now, by type.");
    unsigned active[KT_EV_MAX_TYPES] = {0};
    for (unsigned i = 0; i < h->nactive; i++)
        active[h->active[i].type]++;
    for (int t = 0; t < kt_event_type_count(); t++)
        put(o, "koto_active_conditions{type=\"%s\"} %u\n", kt_event_type_name(t), active[t]);
    family(o, "koto_monitor_running", "gauge", "1 while the sampler runs.");
    put(o, "koto_monitor_running %d\n", h->running);
    family(o, "koto_samples_total", "counter", "Readings taken.");
    put(o, "koto_samples_total %llu\n", (unsigned long long)h->samples);
    family(o, "koto_sample_duration_seconds", "gauge", "CPU-side time the last reading took.");
    if (snap)
        put(o, "koto_sample_duration_seconds %.9f\n", kt_snap_duration_ms(snap) / 1000.0);
}

/* kotod itself as its readings see it, under Prometheus' usual process_
 * names, and its budget (src/core/budget.c). */
static void self_metrics(out_t *o, const kt_mon_self_t *me)
{
    family(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    gauge(o, "process_resident_memory_bytes", NULL, me->rss_bytes);
    family(o, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    gauge(o, "process_cpu_seconds_total", NULL, me->cpu_seconds);
    family(o, "koto_self_cpu_ratio", "gauge", "kotod's share of one core over its last readings.");
    gauge(o, "koto_self_cpu_ratio", NULL, ratio(me->cpu_pct));
    family(o, "koto_budget_rss_bytes", "gauge", "kotod's memory budget (0: none).");
    gauge(o, "koto_budget_rss_bytes", NULL, me->budget_rss_bytes);
    family(o, "koto_budget_cpu_ratio", "gauge", "kotod's CPU budget, share of one core (0: none).");
    gauge(o, "koto_budget_cpu_ratio", NULL, ratio(me->budget_cpu_pct));
    family(o, "koto_shedding", "gauge", "1 while kotod is over its budget and sheds optional work.");
    put(o, "koto_shedding %d\n", me->shedding);
}

/* The store's state: refreshed with the reading (the body is kept until then). */
static void store_metrics(out_t *o, kt_store_t *store)
{
    if (!store)
        return;
    kt_store_info_t si;
    kt_store_info(store, &si);
    family(o, "koto_store_state", "gauge", "1 for the store's state: ok, degraded or off.");
    for (int st = KT_STORE_OK; st <= KT_STORE_OFF; st++)
        put(o, "koto_store_state{state=\"%s\"} %d\n", kt_store_state_name(st), (int)si.state == st);
    family(o, "koto_store_size_bytes", "gauge", "The database file with its write-ahead log.");
    put(o, "koto_store_size_bytes %llu\n", (unsigned long long)si.size_bytes);
    family(o, "koto_store_events", "gauge", "Events in the stored log.");
    put(o, "koto_store_events %llu\n", (unsigned long long)si.events);
    family(o, "koto_store_pending_events", "gauge", "Events kept in memory until the disk takes them.");
    put(o, "koto_store_pending_events %llu\n", (unsigned long long)si.pending);
}

/* The channels' counters and queues; the page is rebuilt when they change. */
static void notify_metrics(out_t *o, kt_notify_t *n, apr_pool_t *pool)
{
    if (!n)
        return;
    kt_notify_counts_t c[64];
    unsigned count = kt_notify_counts(n, c, KT_ARRAY_SIZE(c));
    if (count > KT_ARRAY_SIZE(c))
        count = KT_ARRAY_SIZE(c);
    if (!count)
        return;
    family(o, "koto_notifications_total", "counter",
           "Notification attempts by channel and result: sent, retried (to be tried again), failed.");
    for (unsigned i = 0; i < count; i++) {
        static const char *const results[] = {"sent", "retried", "failed"};
        uint64_t v[] = {c[i].sent, c[i].retried, c[i].failed};
        for (size_t r = 0; r < KT_ARRAY_SIZE(results); r++)
            kt__prom_sample_u64(o, "koto_notifications_total",
                                kt__prom_labels(pool, "channel", c[i].name, "result", results[r],
                                                NULL),
                                v[r]);
    }
    family(o, "koto_notification_queue", "gauge", "Notifications waiting or in flight, by channel.");
    for (unsigned i = 0; i < count; i++)
        kt__prom_sample_u64(o, "koto_notification_queue",
                            kt__prom_labels(pool, "channel", c[i].name, NULL), c[i].queued);
}

/* ---- the lines that change with every request ---------------------------------- */

/* koto_build_info's labels, as node_exporter_build_info's are for it
 * (version, revision, goversion, goos, goarch): kotod's own, not
 * node_exporter's, whose version it would be misleading to claim. */
#if defined(__clang__)
#define BUILD_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define BUILD_COMPILER "gcc " __VERSION__
#elif defined(_MSC_VER)
#define BUILD_COMPILER "msvc"
#else
#define BUILD_COMPILER "unknown"
#endif
#ifdef _WIN32
#define BUILD_OS "windows"
#elif defined(__linux__)
#define BUILD_OS "linux"
#else
#define BUILD_OS "unknown"
#endif
#if defined(__x86_64__) || defined(_M_X64)
#define BUILD_ARCH "amd64"
#elif defined(__aarch64__) || defined(_M_ARM64)
#define BUILD_ARCH "arm64"
#elif defined(__i386__) || defined(_M_IX86)
#define BUILD_ARCH "386"
#elif defined(__arm__)
#define BUILD_ARCH "arm"
#else
#define BUILD_ARCH "unknown"
#endif

/* The request counters and the time of the answer change with every
 * answer, so they are printed for each one, on the loop thread: plain
 * copies and integer digits, no printf. The two constant families after
 * the counters keep the page's order. OpenMetrics names a counter family
 * without its _total and ends the answer with "# EOF". */
#define HTTP_HELP "# HELP koto_http_requests_total HTTP responses sent, by status class.\n"
#define HTTP_FAMILIES HTTP_HELP "# TYPE koto_http_requests_total counter\n"
#define HTTP_FAMILIES_OM                                                                \
    "# HELP koto_http_requests HTTP responses sent, by status class.\n"                \
    "# TYPE koto_http_requests counter\n"
#define CONN_FAMILY                                                                     \
    "# HELP koto_http_connections Open HTTP connections.\n"                            \
    "# TYPE koto_http_connections gauge\n"                                             \
    "koto_http_connections "
#define BUILD_AND_START                                                                 \
    "# HELP koto_build_info A metric with a constant '1' value labeled by the version, "   \
    "revision, compiler, os and arch kotod was built from and for.\n"                   \
    "# TYPE koto_build_info gauge\n"                                                   \
    "koto_build_info{arch=\"" BUILD_ARCH "\",compiler=\"" BUILD_COMPILER "\",os=\""      \
    BUILD_OS "\",revision=\"" KT_REVISION "\",version=\"" KT_VERSION "\"} 1\n"          \
    "# HELP koto_start_time_seconds When kotod started, seconds since the epoch.\n"    \
    "# TYPE koto_start_time_seconds gauge\n"                                           \
    "koto_start_time_seconds "
#define NODE_TIME                                                                       \
    "# HELP node_time_seconds System time in seconds since epoch (1970).\n"            \
    "# TYPE node_time_seconds gauge\n"                                                 \
    "node_time_seconds "
#define END_OM "# EOF\n"
#define CLASS_LINE "koto_http_requests_total{code=\"1xx\"} "
#define U64_DIGITS 20
#define TAIL_MAX                                                                        \
    (sizeof HTTP_FAMILIES_OM + sizeof HTTP_FAMILIES + 5 * (sizeof CLASS_LINE + U64_DIGITS + 1) + \
     sizeof CONN_FAMILY + U64_DIGITS + 1 + sizeof BUILD_AND_START + U64_DIGITS + 1 +        \
     sizeof NODE_TIME + U64_DIGITS + 8)

static char *copy(char *p, const char *text, size_t len)
{
    memcpy(p, text, len);
    return p + len;
}

static char *u64_digits(char *p, uint64_t v)
{
    char digits[U64_DIGITS], *d = digits + sizeof digits;
    do
        *--d = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return copy(p, d, (size_t)(digits + sizeof digits - d));
}

static char *u64_line(char *p, uint64_t v)
{
    p = u64_digits(p, v);
    *p++ = '\n';
    return p;
}

/* Seconds with the microseconds as a decimal fraction, trailing zeros cut. */
static char *time_line(char *p, apr_time_t t)
{
    p = u64_digits(p, (uint64_t)apr_time_sec(t));
    unsigned us = (unsigned)apr_time_usec(t);
    if (us) {
        char frac[7];
        for (int i = 5; i >= 0; i--, us /= 10)
            frac[i] = (char)('0' + us % 10);
        int n = 6;
        while (frac[n - 1] == '0')
            n--;
        *p++ = '.';
        p = copy(p, frac, (size_t)n);
    }
    *p++ = '\n';
    return p;
}

/* What one answer shows: the families (KT__COLLECT_* bits), the format and
 * whether it goes in gzip. */
typedef struct {
    unsigned mask;
    int openmetrics, gzip;
} view_t;

typedef struct {
    out_t *o;
    apr_pool_t *pool;
} runs_t;

static void run_line(void *baton, const char *tmpl, const char *result, uint64_t n)
{
    runs_t *r = baton;
    kt__prom_sample_u64(r->o, "koto_remediation_runs_total",
                        kt__prom_labels(r->pool, "template", tmpl, "result", result, NULL), n);
}

/* Remediation runs by template and result (they change between readings,
 * so they are never kept with the page); malloc'd text in o. */
static void remedy_metrics(kt_api_t *api, out_t *o, int openmetrics, apr_pool_t *pool)
{
    kt__prom_init(o, openmetrics, 0);
    family(o, "koto_remediation_runs_total", "counter",
           "Remediation runs since start, by template and result (ok, failed, timeout, "
           "refused, error).");
    runs_t r = {o, pool};
    kt_remedy_counts(api->remedy, run_line, &r);
}

static kt_http_part_t per_answer(kt_api_t *api, const view_t *v, apr_pool_t *pool)
{
    out_t runs = {0};
    if ((v->mask & KT__COLLECT_KOTO) && api->remedy)
        remedy_metrics(api, &runs, v->openmetrics, pool);
    char *buf = apr_palloc(pool, TAIL_MAX + runs.len), *p = buf;
    if (runs.len && !runs.failed)
        p = copy(p, runs.buf, runs.len);
    free(runs.buf);
    if (v->mask & KT__COLLECT_KOTO) {
        kt_http_stats_t hs;
        kt_http_stats(api->http, &hs);
        p = v->openmetrics ? copy(p, HTTP_FAMILIES_OM, sizeof HTTP_FAMILIES_OM - 1)
                           : copy(p, HTTP_FAMILIES, sizeof HTTP_FAMILIES - 1);
        for (int c = 1; c <= 5; c++) {
            char line[] = CLASS_LINE;
            line[sizeof "koto_http_requests_total{code=\"" - 1] = (char)('0' + c);
            p = copy(p, line, sizeof line - 1);
            p = u64_line(p, hs.by_class[c]);
        }
        p = copy(p, CONN_FAMILY, sizeof CONN_FAMILY - 1);
        p = u64_line(p, hs.connections_open);
        p = copy(p, BUILD_AND_START, sizeof BUILD_AND_START - 1);
        apr_time_t started = apr_time_sec(api->started);
        p = u64_line(p, started > 0 ? (uint64_t)started : 0);
    }
    if (v->mask & KT__COLLECT_TIME) {
        p = copy(p, NODE_TIME, sizeof NODE_TIME - 1);
        p = time_line(p, apr_time_now());
    }
    return (kt_http_part_t){.data = buf, .len = (apr_size_t)(p - buf)};
}

/* ---- what is asked for ------------------------------------------------------------ */

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_OM "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The families the metrics setting turns on. */
static unsigned enabled(kt_api_t *api)
{
    kt_rules_t *r = kt_rules_cell_get(api->rules);
    const char *m = r ? kt_rules_conf(r)->metrics : NULL;
    unsigned mask = !m || strcmp(m, "both") == 0 ? KT__COLLECT_NODE | KT__COLLECT_KOTO
                    : strcmp(m, "node") == 0     ? KT__COLLECT_NODE
                                                 : KT__COLLECT_KOTO;
    kt_rules_release(r);
    return mask;
}

/* Prometheus asks for OpenMetrics first in its Accept header; anything that
 * names it gets it, everything else the text format. */
static int wants_openmetrics(kt_http_req_t *req)
{
    const char *accept = kt_http_header(req, "Accept");
    return accept && strstr(accept, "application/openmetrics-text") != NULL;
}

/* Whether the client takes gzip (Accept-Encoding: gzip, not with q=0) and
 * this build can make it. */
static int wants_gzip(kt_http_req_t *req)
{
    const char *accept = kt_http_header(req, "Accept-Encoding");
    if (!accept || !kt__gzip_able())
        return 0;
    for (const char *p = accept; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t;,");
        int gzip = n == 4 && apr_cstr_casecmpn(p, "gzip", 4) == 0;
        p += n;
        const char *end = p + strcspn(p, ",");
        const char *q = strstr(p, "q=");
        if (gzip)
            return !(q && q < end && strtod(q + 2, NULL) <= 0);
        p = end;
    }
    return 0;
}

/* The kept page for view v. */
static kt__cache_t *page_cache(kt_api_t *api, const view_t *v)
{
    return api->pages[v->openmetrics != 0][v->gzip != 0];
}

/* Answers with the per-answer lines and the page (kept, or made for this
 * answer), in gzip when v says so. */
static void answer(kt_http_req_t *req, kt_api_t *api, const view_t *v, const kt_http_part_t *page)
{
    kt_http_part_t body[3];
    unsigned n = 2;
    body[0] = per_answer(api, v, kt_http_pool(req));
    if (v->gzip) {
        kt__gzip_parts(body[0].data, body[0].len, page->data, page->len, body,
                       kt_http_pool(req));
        kt_http_set_header(req, "Content-Encoding", "gzip");
        n = 3;
    } else {
        body[1] = *page;
    }
    kt_http_reply_parts(req, 200, v->openmetrics ? CONTENT_TYPE_OM : CONTENT_TYPE, body, n);
}

/* The view for req, with ?collect[]= as node_exporter reads it: only the
 * collectors named, each one known and on. Returns 0, or -1 having answered 400. */
static int view_of(kt_api_t *api, kt_http_req_t *req, view_t *v)
{
    v->openmetrics = wants_openmetrics(req);
    v->gzip = wants_gzip(req);
    v->mask = enabled(api);
    const char *name = kt_http_query_nth(req, "collect[]", 0);
    if (!name)
        return 0;
    unsigned asked = 0;
    for (unsigned i = 0; name; name = kt_http_query_nth(req, "collect[]", ++i)) {
        unsigned bit = kt__collector(name);
        if (!bit) {
            kt_http_reply_error(req, 400, "bad_parameter", "collect[]: no collector named '%s'",
                                name);
            return -1;
        }
        if (!(bit & v->mask)) {
            kt_http_reply_error(req, 400, "bad_parameter",
                                "collect[]: collector '%s' is off (the metrics setting)", name);
            return -1;
        }
        asked |= bit;
    }
    v->mask = asked;
    return 0;
}

/* ---- the handler ---------------------------------------------------------------- */

/* What the kept part shows changes only with these: the reading (host
 * families, samples, active conditions, sample duration), the last event
 * (events by type), whether the sampler runs, and the families served.
 * Read in this order before rendering, the key is never newer than what is
 * rendered with it. */
static void metrics_key(uint64_t key[KT__CACHE_KEY], uint64_t last_id, kt_snap_t *snap,
                        int running, const view_t *v, uint64_t notify)
{
    key[4] = notify;
    key[0] = snap ? kt_snap_seq(snap) : 0;
    key[1] = last_id;
    key[2] = (uint64_t)running;
    key[3] = v->mask;
}

/* On the loop thread (an inline route): the kept part while it is current,
 * then the per-answer lines; a rebuild, or a filtered answer, is work for
 * a worker. */
static int metrics_try(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return KT_HTTP_DONE;
    if (kt_http_query_nth(req, "collect[]", 0))
        return KT_HTTP_DEFER;
    /* The families as the last rebuild found them in the settings: the loop
     * takes no lock, so a reload that changes them shows from the next
     * reading on (or the next filtered request). */
    view_t v = {atomic_load(&api->metrics_mask), wants_openmetrics(req), wants_gzip(req)};
    if (!v.mask)
        return KT_HTTP_DEFER;
    uint64_t key[KT__CACHE_KEY];
    uint64_t notify = api->notify ? kt_notify_generation(api->notify) : 0;
    uint64_t last_id = kt_mon_last_event_id(api->mon);
    kt_snap_t *snap = kt_mon_acquire(api->mon);
    metrics_key(key, last_id, snap, kt_mon_running(api->mon), &v, notify);
    kt_snap_release(snap);
    kt_http_part_t page;
    if (!kt__cache_get(page_cache(api, &v), key, kt_http_pool(req), &page))
        return KT_HTTP_DEFER;
    answer(req, api, &v, &page);
    return KT_HTTP_DONE;
}

/* The families read from /proc and /sys (netstat, sockstat, filefd, entropy,
 * conntrack, netclass, hwmon). Reading them is most of what a page costs to
 * make: three dozen files, and sysfs opens are dear. So a page made within
 * KT__METRICS_FILES_EVERY of the last read serves what that read found:
 * a Prometheus scraping every 15 s or slower sees every scrape read them, as
 * node_exporter would; one scraping every second sees them move every 15 s
 * and costs kotod a fifteenth of the reads. A filtered answer reads them. */
static void files_metrics(kt_api_t *api, out_t *o, const view_t *v, int filtered,
                          apr_pool_t *pool)
{
    int f = v->openmetrics ? 1 : 0;
    apr_time_t now = apr_time_now();
    if (!filtered) {
        apr_thread_mutex_lock(api->files_lock);
        if (api->files[f].text && api->files[f].mask == v->mask &&
            now - api->files[f].at < KT__METRICS_FILES_EVERY && now >= api->files[f].at) {
            kt__prom_append(o, api->files[f].text, api->files[f].len);
            apr_thread_mutex_unlock(api->files_lock);
            return;
        }
        apr_thread_mutex_unlock(api->files_lock);
    }
    out_t files;
    kt__prom_init(&files, v->openmetrics, 0);
    kt__metrics_procfs(&files, api->procfs, v->mask, pool);
    kt__metrics_sysfs(&files, api->sysfs, v->mask, pool);
    kt__metrics_hwmon(&files, api->sysfs, v->mask, pool);
    if (files.failed) {
        free(files.buf);
        o->failed = 1;
        return;
    }
    kt__prom_append(o, files.buf, files.len);
    if (filtered) {
        free(files.buf);
        return;
    }
    apr_thread_mutex_lock(api->files_lock);
    free(api->files[f].text);
    api->files[f].text = files.buf;
    api->files[f].len = files.len;
    api->files[f].mask = v->mask;
    api->files[f].at = now;
    apr_thread_mutex_unlock(api->files_lock);
}

static void metrics_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    /* Again here: the access check is this handler's own, and another worker
     * may have rebuilt the page since the loop looked. */
    int filtered = kt_http_query_nth(req, "collect[]", 0) != NULL;
    if (!filtered && metrics_try(req, baton) == KT_HTTP_DONE)
        return;
    if (filtered && !kt__api_allow(api, req, KT_SCOPE_READ))
        return;
    view_t v;
    if (view_of(api, req, &v) != 0)
        return;
    if (!filtered)
        atomic_store(&api->metrics_mask, v.mask);
    apr_pool_t *pool = kt_http_pool(req);
    out_t o;
    /* A page is about as long as the last one: one allocation of that size
     * (and a little) rather than a fixed large one grown by doubling; and
     * the block of a page nobody serves any more when there is one
     * (kt__cache_spare). */
    apr_size_t spare_cap = 0;
    char *spare = filtered ? NULL : kt__cache_spare(&spare_cap);
    kt__prom_init_in(&o, v.openmetrics, atomic_load(&api->metrics_len) * 9 / 8, spare, spare_cap);
    uint64_t notify = api->notify ? kt_notify_generation(api->notify) : 0;
    uint64_t last_id = kt_mon_last_event_id(api->mon);
    kt_snap_t *snap = kt_mon_acquire(api->mon);
    kt_mon_health_t *h = apr_palloc(pool, sizeof *h);
    kt_mon_health(api->mon, h);
    uint64_t key[KT__CACHE_KEY];
    metrics_key(key, last_id, snap, h->running, &v, notify);
    if (snap) {
        const kt_sample_t *s = kt_snap_sample(snap);
        kt__metrics_node(&o, s, v.mask, pool);
        if (s->os && strcmp(s->os, "linux") == 0)
            files_metrics(api, &o, &v, filtered, pool);
        if (v.mask & KT__COLLECT_KOTO) {
            cpu_metrics(&o, s);
            memory_metrics(&o, s);
            process_metrics(&o, s);
            fs_metrics(&o, s);
            net_metrics(&o, s);
        }
    }
    if (v.mask & KT__COLLECT_KOTO) {
        monitor_metrics(&o, h, snap);
        self_metrics(&o, &h->self);
        store_metrics(&o, api->store);
        notify_metrics(&o, api->notify, pool);
    }
    kt_snap_release(snap);
    if (v.openmetrics)
        kt__prom_append(&o, END_OM, sizeof END_OM - 1);
    if (o.failed) {
        free(o.buf);
        kt_http_reply_error(req, 503, "out_of_memory", "no memory for the metrics page");
        return;
    }
    /* The per-answer lines go first, the page last: families may come in
     * any order, OpenMetrics' end marker is the page's, and a page sent from
     * its file must be the last piece. */
    kt_http_part_t page;
    char *text = o.buf;
    apr_size_t len = o.len, cap = o.cap;
    if (!filtered)
        atomic_store(&api->metrics_len, o.len);
    if (v.gzip) {
        text = kt__gzip_page(o.buf, o.len, &len);
        free(o.buf);
        cap = 0; /* not a block for the next page's text */
        if (!text) {
            kt_http_reply_error(req, 503, "out_of_memory", "no memory for the metrics page");
            return;
        }
    }
    if (!filtered) { /* filtered answers are made for the one asking */
        /* The buffer itself is kept, not a copy of it: one page-sized block
         * per reading instead of two. */
        if (!kt__cache_put_owned(page_cache(api, &v), key, text, len, cap, pool, &page)) {
            kt_http_reply_error(req, 503, "out_of_memory", "no memory for the metrics page");
            return;
        }
    } else {
        page = (kt_http_part_t){.data = apr_pmemdup(pool, text, len ? len : 1), .len = len};
        free(text);
    }
    answer(req, api, &v, &page);
}

void kt__api_metrics_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route_inline(http, "GET", "/metrics", metrics_try, metrics_handler, api);
}
