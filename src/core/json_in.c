/*
 * json_in.c - a reading back from JSON: the shape kt_json_sample writes
 * (what `kotod --once` prints and the API serves). Whatever the JSON lacks
 * or holds as null stays unknown, so a hand-written snapshot needs only the
 * fields it is about. And an event back from the log, for the notifier's
 * catch-up after a restart.
 */
#include "core_internal.h"

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A real at or past 2^64 has no uint64_t (converting it is undefined): unknown. */
static uint64_t u64(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    double r = json_is_real(v) ? json_real_value(v) : -1;
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v)
           : r >= 0 && r < 18446744073709551616.0           ? (uint64_t)r
                                                           : KT_UNKNOWN_U64;
}

static const char *str(json_t *o, const char *key, apr_pool_t *pool)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? apr_pstrdup(pool, v) : NULL;
}

static void cpu_in(json_t *o, kt_cpu_t *c)
{
    c->busy_pct = num(o, "busy_pct");
    c->user_pct = num(o, "user_pct");
    c->nice_pct = num(o, "nice_pct");
    c->system_pct = num(o, "system_pct");
    c->idle_pct = num(o, "idle_pct");
    c->iowait_pct = num(o, "iowait_pct");
    c->irq_pct = num(o, "irq_pct");
    c->softirq_pct = num(o, "softirq_pct");
    c->steal_pct = num(o, "steal_pct");
}

static void proc_in(json_t *o, kt_proc_t *p, apr_pool_t *pool)
{
    json_t *pid = json_object_get(o, "pid"), *ppid = json_object_get(o, "ppid");
    p->pid = json_is_integer(pid) ? json_integer_value(pid) : -1;
    p->ppid = json_is_integer(ppid) ? json_integer_value(ppid) : -1;
    p->name = str(o, "name", pool);
    p->cmdline = str(o, "cmdline", pool);
    const char *state = json_string_value(json_object_get(o, "state"));
    p->state = state && *state ? state[0] : '?';
    p->cpu_pct = num(o, "cpu_pct");
    p->cpu_time_ms = u64(o, "cpu_time_ms");
    p->rss_bytes = u64(o, "rss_bytes");
    p->threads = u64(o, "threads");
}

static kt_proc_t *find_pid(kt_sample_t *s, int64_t pid)
{
    for (unsigned i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == pid)
            return &s->procs[i];
    return NULL;
}

/* The process table: "all" when present, else the union of the top lists. */
static void procs_in(json_t *o, kt_sample_t *s, apr_pool_t *pool)
{
    static const char *const lists[] = {"all", "top_cpu", "top_memory"};
    size_t cap = 0;
    for (size_t k = 0; k < KT_ARRAY_SIZE(lists); k++)
        cap += json_array_size(json_object_get(o, lists[k]));
    s->procs = apr_pcalloc(pool, sizeof(kt_proc_t) * (cap ? cap : 1));
    for (size_t k = 0; k < KT_ARRAY_SIZE(lists); k++) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(o, lists[k]), i, p) {
            kt_proc_t tmp;
            proc_in(p, &tmp, pool);
            if (!find_pid(s, tmp.pid))
                s->procs[s->nprocs++] = tmp;
        }
    }
    kt_proc_t ***tops[] = {&s->top_cpu, &s->top_mem};
    unsigned *ntops[] = {&s->ntop_cpu, &s->ntop_mem};
    for (int k = 0; k < 2; k++) {
        json_t *list = json_object_get(o, lists[k + 1]);
        *tops[k] = apr_pcalloc(pool, sizeof(kt_proc_t *) * (json_array_size(list) + 1));
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p) {
            json_t *pid = json_object_get(p, "pid");
            kt_proc_t *found = json_is_integer(pid) ? find_pid(s, json_integer_value(pid)) : NULL;
            if (found)
                (*tops[k])[(*ntops[k])++] = found;
        }
    }
    json_t *exited = json_object_get(o, "exited");
    json_t *ecpu = json_object_get(exited, "cpu_pct"), *epid = json_object_get(exited, "parent_pid");
    s->exited_cpu_pct = json_is_number(ecpu) ? json_number_value(ecpu) : NAN;
    s->exited_parent_pid = json_is_integer(epid) ? json_integer_value(epid) : -1;
    const char *ename = json_string_value(json_object_get(exited, "parent_name"));
    s->exited_parent_name = ename ? apr_pstrdup(pool, ename) : NULL;
    s->procs_total = u64(o, "total");
    s->threads_total = u64(o, "threads");
    s->procs_running = u64(o, "running");
    s->procs_sleeping = u64(o, "sleeping");
    s->procs_blocked = u64(o, "blocked");
    s->procs_zombie = u64(o, "zombie");
    s->procs_stopped = u64(o, "stopped");
    s->procs_idle = u64(o, "idle");
    s->run_queue = u64(o, "run_queue");
}

apr_status_t kt_sample_from_json(json_t *j, kt_sample_t *s, apr_pool_t *pool, char *err,
                                 apr_size_t errlen)
{
    kt_plat_sample_init(s);
    if (!json_is_object(j)) {
        snprintf(err, errlen, "a reading must be a JSON object");
        return KT_EPARSE;
    }
    /* A time in ms too large for apr_time_t's microseconds counts as absent. */
    json_t *t = json_object_get(j, "time");
    json_int_t ms = json_integer_value(t);
    s->time = json_is_integer(t) && ms <= INT64_MAX / 1000 && ms >= INT64_MIN / 1000
                  ? apr_time_from_msec(ms)
                  : apr_time_now();
    s->elapsed_s = num(j, "elapsed_s");
    s->os = str(j, "os", pool);
    s->hostname = str(j, "hostname", pool);
    s->kernel = str(j, "kernel", pool);
    s->ncpu = u64(j, "ncpu");
    if (json_object_get(j, "cpu"))
        cpu_in(json_object_get(j, "cpu"), &s->cpu);
    json_t *cores = json_object_get(j, "cores");
    s->ncores = (unsigned)json_array_size(cores);
    s->cores = apr_pcalloc(pool, sizeof(kt_cpu_t) * (s->ncores + 1));
    for (unsigned i = 0; i < s->ncores; i++)
        cpu_in(json_array_get(cores, i), &s->cores[i]);
    json_t *load = json_object_get(j, "load");
    s->load1 = num(load, "1");
    s->load5 = num(load, "5");
    s->load15 = num(load, "15");
    s->uptime_s = num(j, "uptime_s");
    json_t *bt = json_object_get(j, "boot_time");
    s->boot_time = json_is_integer(bt) ? json_integer_value(bt) : -1;

    json_t *m = json_object_get(j, "memory");
    if (m) {
        s->mem.total_bytes = u64(m, "total_bytes");
        s->mem.available_bytes = u64(m, "available_bytes");
        s->mem.used_bytes = u64(m, "used_bytes");
        s->mem.free_bytes = u64(m, "free_bytes");
        s->mem.buffers_bytes = u64(m, "buffers_bytes");
        s->mem.cached_bytes = u64(m, "cached_bytes");
        s->mem.used_pct = num(m, "used_pct");
        s->mem.swap_total_bytes = u64(m, "swap_total_bytes");
        s->mem.swap_used_bytes = u64(m, "swap_used_bytes");
        s->mem.swap_used_pct = num(m, "swap_used_pct");
        s->mem.swap_in_pages_ps = num(m, "swap_in_pages_ps");
        s->mem.swap_out_pages_ps = num(m, "swap_out_pages_ps");
    }
    static const char *const psi[KT_PSI__COUNT] = {"cpu", "memory", "io"};
    json_t *pressure = json_object_get(j, "pressure");
    for (int k = 0; k < KT_PSI__COUNT; k++) {
        json_t *o = json_object_get(pressure, psi[k]);
        if (!json_is_object(o))
            continue;
        kt_psi_t *ps = &s->pressure[k];
        ps->some_avg10_pct = num(o, "some_avg10_pct");
        ps->some_avg60_pct = num(o, "some_avg60_pct");
        ps->some_avg300_pct = num(o, "some_avg300_pct");
        ps->some_total_us = u64(o, "some_total_us");
        ps->full_avg10_pct = num(o, "full_avg10_pct");
        ps->full_avg60_pct = num(o, "full_avg60_pct");
        ps->full_avg300_pct = num(o, "full_avg300_pct");
        ps->full_total_us = u64(o, "full_total_us");
    }
    json_t *fs = json_object_get(j, "filesystems");
    s->fs = apr_pcalloc(pool, sizeof(kt_fs_t) * (json_array_size(fs) + 1));
    size_t i;
    json_t *v;
    json_array_foreach(fs, i, v) {
        const char *mp = str(v, "mount_point", pool);
        if (!mp)
            continue;
        kt_fs_t *f = &s->fs[s->nfs++];
        f->mount_point = mp;
        f->device = str(v, "device", pool);
        f->fstype = str(v, "fstype", pool);
        f->device = f->device ? f->device : "?";
        f->fstype = f->fstype ? f->fstype : "?";
        f->size_bytes = u64(v, "size_bytes");
        f->used_bytes = u64(v, "used_bytes");
        f->free_bytes = u64(v, "free_bytes");
        f->avail_bytes = u64(v, "avail_bytes");
        f->used_pct = num(v, "used_pct");
        f->inodes_total = u64(v, "inodes_total");
        f->inodes_free = u64(v, "inodes_free");
        f->inodes_used_pct = num(v, "inodes_used_pct");
        f->readonly = -1;
    }
    procs_in(json_object_get(j, "processes"), s, pool);
    json_t *net = json_object_get(j, "network");
    s->net = apr_pcalloc(pool, sizeof(kt_net_t) * (json_array_size(net) + 1));
    json_array_foreach(net, i, v) {
        const char *name = str(v, "name", pool);
        if (!name)
            continue;
        kt_net_t *n = &s->net[s->nnet++];
        n->name = name;
        n->rx_bytes = u64(v, "rx_bytes");
        n->tx_bytes = u64(v, "tx_bytes");
        n->rx_packets = u64(v, "rx_packets");
        n->tx_packets = u64(v, "tx_packets");
        n->rx_errors = u64(v, "rx_errors");
        n->tx_errors = u64(v, "tx_errors");
        n->rx_drops = u64(v, "rx_drops");
        n->tx_drops = u64(v, "tx_drops");
        for (int k = 0; k < KT_NET_OTHER; k++)
            n->other[k] = KT_UNKNOWN_U64;
        n->rx_bytes_ps = num(v, "rx_bytes_ps");
        n->tx_bytes_ps = num(v, "tx_bytes_ps");
    }
    json_t *disks = json_object_get(j, "disks");
    s->disks = apr_pcalloc(pool, sizeof(kt_disk_t) * (json_array_size(disks) + 1));
    json_array_foreach(disks, i, v) {
        const char *name = str(v, "name", pool);
        if (!name)
            continue;
        kt_disk_t *d = &s->disks[s->ndisks++];
        d->name = name;
        d->reads = u64(v, "reads");
        d->writes = u64(v, "writes");
        d->read_bytes = u64(v, "read_bytes");
        d->write_bytes = u64(v, "write_bytes");
        d->read_bytes_ps = num(v, "read_bytes_ps");
        d->write_bytes_ps = num(v, "write_bytes_ps");
        d->busy_pct = num(v, "busy_pct");
        d->queue_length = num(v, "queue_length");
        d->reads_merged = d->writes_merged = d->read_time_ms = d->write_time_ms = d->io_time_ms =
            d->io_weighted_ms = d->in_flight = KT_UNKNOWN_U64;
    }
    return APR_SUCCESS;
}

/* ---- an event back from the log ------------------------------------------------------------- */

static void copy_str(char *dst, size_t len, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    apr_cpystrn(dst, v ? v : "", len);
}

apr_status_t kt_event_from_json(json_t *j, kt_event_t *e)
{
    memset(e, 0, sizeof *e);
    int type = kt_event_type_parse(json_string_value(json_object_get(j, "type")));
    int sev = kt_severity_parse(json_string_value(json_object_get(j, "severity")));
    const char *state = json_string_value(json_object_get(j, "state"));
    if (!json_is_object(j) || type < 0 || sev < 0 || !state ||
        !json_is_integer(json_object_get(j, "id")))
        return KT_EPARSE;
    e->id = (uint64_t)json_integer_value(json_object_get(j, "id"));
    e->time = apr_time_from_msec(json_integer_value(json_object_get(j, "time")));
    e->type = (kt_event_type_t)type;
    e->severity = (kt_severity_t)sev;
    e->resolved = strcmp(state, "resolved") == 0;
    e->escalated = strcmp(state, "escalated") == 0;
    e->flapping = strcmp(state, "flapping_start") == 0 ? KT_FLAP_START
                  : strcmp(state, "flapping_end") == 0 ? KT_FLAP_END
                                                       : 0;
    e->while_down = json_is_true(json_object_get(j, "while_down"));
    e->in_flap = json_is_true(json_object_get(j, "flapping"));
    json_t *sid = json_object_get(j, "started_id");
    e->started_id = json_is_integer(sid) ? (uint64_t)json_integer_value(sid) : 0;
    e->value = num(j, "value");
    e->threshold = num(j, "threshold");
    copy_str(e->subject, sizeof e->subject, j, "subject");
    copy_str(e->message, sizeof e->message, j, "message");
    copy_str(e->silenced, sizeof e->silenced, j, "silenced");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "top_processes"), i, v) {
        if (e->ntop == KT_EVENT_TOP)
            break;
        kt_event_proc_t *p = &e->top[e->ntop++];
        json_t *pid = json_object_get(v, "pid");
        p->pid = json_is_integer(pid) ? json_integer_value(pid) : -1;
        copy_str(p->name, sizeof p->name, v, "name");
        p->cpu_pct = num(v, "cpu_pct");
        uint64_t rss = u64(v, "rss_bytes");
        p->rss_bytes = rss;
    }
    const char *key;
    json_object_foreach(json_object_get(j, "evidence"), key, v) {
        if (e->nevidence == KT_EVENT_EVIDENCE)
            break;
        kt_event_figure_t *f = &e->evidence[e->nevidence++];
        apr_cpystrn(f->key, key, sizeof f->key);
        f->value = json_is_number(v) ? json_number_value(v) : NAN;
    }
    return APR_SUCCESS;
}
