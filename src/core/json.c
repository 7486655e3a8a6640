/*
 * json.c - samples, events, health and history as jansson values. Unknown
 * values become null, so a consumer never mistakes "could not read" for 0.
 */
#include "core_internal.h"

#include <stdlib.h>

json_t *kt_json_num(double v) { return kt_known(v) ? json_real(v) : json_null(); }

json_t *kt_json_u64(uint64_t v)
{
    /* json_int_t is long long; counters beyond it do not occur in practice. */
    return kt_known_u64(v) && v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v)
                                                              : json_null();
}

static json_t *str(const char *s) { return s ? json_string(s) : json_null(); }

/* Milliseconds since the epoch, what JavaScript's Date wants. */
static json_t *time_ms(apr_time_t t) { return json_integer((json_int_t)apr_time_as_msec(t)); }

static json_t *cpu_json(const kt_cpu_t *c)
{
    return json_pack("{s:o s:o s:o s:o s:o s:o s:o s:o s:o}", "busy_pct", kt_json_num(c->busy_pct),
                     "user_pct", kt_json_num(c->user_pct), "nice_pct", kt_json_num(c->nice_pct), "system_pct",
                     kt_json_num(c->system_pct), "idle_pct", kt_json_num(c->idle_pct), "iowait_pct",
                     kt_json_num(c->iowait_pct), "irq_pct", kt_json_num(c->irq_pct), "softirq_pct",
                     kt_json_num(c->softirq_pct), "steal_pct", kt_json_num(c->steal_pct));
}

json_t *kt_json_proc(const kt_proc_t *p)
{
    char state[2] = {p->state, '\0'};
    return json_pack("{s:I s:I s:o s:o s:s s:o s:o s:o s:o}", "pid", (json_int_t)p->pid, "ppid",
                     (json_int_t)p->ppid, "name", str(p->name), "cmdline", str(p->cmdline),
                     "state", state, "cpu_pct", kt_json_num(p->cpu_pct), "cpu_time_ms",
                     kt_json_u64(p->cpu_time_ms), "rss_bytes", kt_json_u64(p->rss_bytes), "threads",
                     kt_json_u64(p->threads));
}

static json_t *procs_json(kt_proc_t *const *list, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(a, kt_json_proc(list[i]));
    return a;
}

static json_t *mem_json(const kt_mem_t *m)
{
    return json_pack("{s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o}", "total_bytes",
                     kt_json_u64(m->total_bytes), "available_bytes", kt_json_u64(m->available_bytes),
                     "used_bytes", kt_json_u64(m->used_bytes), "free_bytes", kt_json_u64(m->free_bytes),
                     "buffers_bytes", kt_json_u64(m->buffers_bytes), "cached_bytes",
                     kt_json_u64(m->cached_bytes), "used_pct", kt_json_num(m->used_pct), "swap_total_bytes",
                     kt_json_u64(m->swap_total_bytes), "swap_used_bytes", kt_json_u64(m->swap_used_bytes),
                     "swap_used_pct", kt_json_num(m->swap_used_pct), "swap_in_pages_ps",
                     kt_json_num(m->swap_in_pages_ps), "swap_out_pages_ps", kt_json_num(m->swap_out_pages_ps));
}

/* Names may be NULL (a replayed reading knows a filesystem by its mount
 * point alone): "s?" makes them null where "s" would fail the whole item. */
static json_t *fs_json(const kt_fs_t *f)
{
    return json_pack("{s:s? s:s? s:s? s:o s:o s:o s:o s:o s:o s:o s:o}", "mount_point",
                     f->mount_point, "device", f->device, "fstype", f->fstype, "size_bytes",
                     kt_json_u64(f->size_bytes), "used_bytes", kt_json_u64(f->used_bytes), "free_bytes",
                     kt_json_u64(f->free_bytes), "avail_bytes", kt_json_u64(f->avail_bytes), "used_pct",
                     kt_json_num(f->used_pct), "inodes_total", kt_json_u64(f->inodes_total), "inodes_free",
                     kt_json_u64(f->inodes_free), "inodes_used_pct", kt_json_num(f->inodes_used_pct));
}

static json_t *net_json(const kt_net_t *n)
{
    return json_pack("{s:s? s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o}", "name", n->name,
                     "rx_bytes", kt_json_u64(n->rx_bytes), "tx_bytes", kt_json_u64(n->tx_bytes), "rx_packets",
                     kt_json_u64(n->rx_packets), "tx_packets", kt_json_u64(n->tx_packets), "rx_errors",
                     kt_json_u64(n->rx_errors), "tx_errors", kt_json_u64(n->tx_errors), "rx_drops",
                     kt_json_u64(n->rx_drops), "tx_drops", kt_json_u64(n->tx_drops), "rx_bytes_ps",
                     kt_json_num(n->rx_bytes_ps), "tx_bytes_ps", kt_json_num(n->tx_bytes_ps));
}

static json_t *disk_json(const kt_disk_t *d)
{
    return json_pack("{s:s? s:o s:o s:o s:o s:o s:o s:o s:o}", "name", d->name, "reads",
                     kt_json_u64(d->reads), "writes", kt_json_u64(d->writes), "read_bytes", kt_json_u64(d->read_bytes),
                     "write_bytes", kt_json_u64(d->write_bytes), "read_bytes_ps", kt_json_num(d->read_bytes_ps),
                     "write_bytes_ps", kt_json_num(d->write_bytes_ps), "busy_pct", kt_json_num(d->busy_pct),
                     "queue_length", kt_json_num(d->queue_length));
}

/* Pressure stall information per resource; null where the kernel has none. */
static json_t *psi_json(const kt_psi_t *p)
{
    if (!kt_known(p->some_avg10_pct) && !kt_known(p->some_avg60_pct) &&
        !kt_known_u64(p->some_total_us))
        return json_null();
    return json_pack("{s:o s:o s:o s:o s:o s:o s:o s:o}", "some_avg10_pct",
                     kt_json_num(p->some_avg10_pct), "some_avg60_pct", kt_json_num(p->some_avg60_pct),
                     "some_avg300_pct", kt_json_num(p->some_avg300_pct), "some_total_us",
                     kt_json_u64(p->some_total_us), "full_avg10_pct", kt_json_num(p->full_avg10_pct),
                     "full_avg60_pct", kt_json_num(p->full_avg60_pct), "full_avg300_pct",
                     kt_json_num(p->full_avg300_pct), "full_total_us", kt_json_u64(p->full_total_us));
}

static int by_pid(const void *a, const void *b)
{
    int64_t x = (*(kt_proc_t *const *)a)->pid, y = (*(kt_proc_t *const *)b)->pid;
    return (x > y) - (x < y);
}

/* Every process, ordered by pid: the scan order is the directory's, which
 * differs between filesystems and would make output unstable. */
static json_t *all_procs_json(const kt_sample_t *s)
{
    kt_proc_t **order = malloc(sizeof *order * (s->nprocs ? s->nprocs : 1));
    if (!order)
        return json_null();
    for (unsigned i = 0; i < s->nprocs; i++)
        order[i] = &s->procs[i];
    qsort(order, s->nprocs, sizeof *order, by_pid);
    json_t *a = procs_json(order, s->nprocs);
    free(order);
    return a;
}

/* ---- the reading, one top-level member at a time ---- */

static json_t *part_time(const kt_sample_t *s, int top_only) { (void)top_only; return time_ms(s->time); }
static json_t *part_elapsed(const kt_sample_t *s, int top_only) { (void)top_only; return kt_json_num(s->elapsed_s); }
static json_t *part_os(const kt_sample_t *s, int top_only) { (void)top_only; return str(s->os); }
static json_t *part_hostname(const kt_sample_t *s, int top_only) { (void)top_only; return str(s->hostname); }
static json_t *part_kernel(const kt_sample_t *s, int top_only) { (void)top_only; return str(s->kernel); }
static json_t *part_ncpu(const kt_sample_t *s, int top_only) { (void)top_only; return kt_json_u64(s->ncpu); }
static json_t *part_cpu(const kt_sample_t *s, int top_only) { (void)top_only; return cpu_json(&s->cpu); }
static json_t *part_uptime(const kt_sample_t *s, int top_only) { (void)top_only; return kt_json_num(s->uptime_s); }
static json_t *part_memory(const kt_sample_t *s, int top_only) { (void)top_only; return mem_json(&s->mem); }

static json_t *part_boot_time(const kt_sample_t *s, int top_only)
{
    (void)top_only;
    return s->boot_time >= 0 ? json_integer(s->boot_time) : json_null();
}

static json_t *part_cores(const kt_sample_t *s, int top_only)
{
    (void)top_only;
    json_t *a = json_array();
    for (unsigned i = 0; i < s->ncores; i++)
        json_array_append_new(a, cpu_json(&s->cores[i]));
    return a;
}

static json_t *part_load(const kt_sample_t *s, int top_only)
{
    (void)top_only;
    return json_pack("{s:o s:o s:o}", "1", kt_json_num(s->load1), "5", kt_json_num(s->load5), "15",
                     kt_json_num(s->load15));
}

static json_t *part_pressure(const kt_sample_t *s, int top_only)
{
    (void)top_only;
    return json_pack("{s:o s:o s:o}", "cpu", psi_json(&s->pressure[KT_PSI_CPU]), "memory",
                     psi_json(&s->pressure[KT_PSI_MEMORY]), "io", psi_json(&s->pressure[KT_PSI_IO]));
}

static json_t *part_filesystems(const kt_sample_t *s, int top_only)
{
    (void)top_only;
    json_t *a = json_array();
    for (unsigned i = 0; i < s->nfs; i++)
        json_array_append_new(a, fs_json(&s->fs[i]));
    return a;
}

static json_t *part_network(const kt_sample_t *s, int top_only)
{
    (void)top_only;
    json_t *a = json_array();
    for (unsigned i = 0; i < s->nnet; i++)
        json_array_append_new(a, net_json(&s->net[i]));
    return a;
}

static json_t *part_disks(const kt_sample_t *s, int top_only)
{
    (void)top_only;
    json_t *a = json_array();
    for (unsigned i = 0; i < s->ndisks; i++)
        json_array_append_new(a, disk_json(&s->disks[i]));
    return a;
}

static json_t *part_processes(const kt_sample_t *s, int top_only)
{
    json_t *procs = json_pack("{s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o}", "total",
                              kt_json_u64(s->procs_total), "threads", kt_json_u64(s->threads_total), "running",
                              kt_json_u64(s->procs_running), "sleeping", kt_json_u64(s->procs_sleeping),
                              "blocked", kt_json_u64(s->procs_blocked), "zombie", kt_json_u64(s->procs_zombie),
                              "stopped", kt_json_u64(s->procs_stopped), "idle", kt_json_u64(s->procs_idle),
                              "run_queue", kt_json_u64(s->run_queue), "top_cpu",
                              procs_json(s->top_cpu, s->ntop_cpu), "top_memory",
                              procs_json(s->top_mem, s->ntop_mem));
    if (!top_only)
        json_object_set_new(procs, "all", all_procs_json(s));
    json_object_set_new(procs, "carried", json_boolean(s->procs_carried));
    json_object_set_new(procs, "exited",
                        json_pack("{s:o s:o s:o}", "cpu_pct", kt_json_num(s->exited_cpu_pct),
                                  "parent_pid",
                                  s->exited_parent_pid >= 0 ? json_integer(s->exited_parent_pid)
                                                            : json_null(),
                                  "parent_name", str(s->exited_parent_name)));
    return procs;
}

const kt_json_part_t kt_json_sample_parts[] = {
    {"time", part_time, 0},         {"elapsed_s", part_elapsed, 0},
    {"os", part_os, 0},             {"hostname", part_hostname, 0},
    {"kernel", part_kernel, 0},     {"ncpu", part_ncpu, 0},
    {"cpu", part_cpu, 1},           {"cores", part_cores, 1},
    {"load", part_load, 1},         {"uptime_s", part_uptime, 0},
    {"boot_time", part_boot_time, 0}, {"memory", part_memory, 1},
    {"pressure", part_pressure, 1}, {"filesystems", part_filesystems, 1},
    {"processes", part_processes, 1}, {"network", part_network, 1},
    {"disks", part_disks, 1},
};
const unsigned kt_json_sample_nparts = KT_ARRAY_SIZE(kt_json_sample_parts);

json_t *kt_json_sample(const kt_sample_t *s, int top_only)
{
    json_t *o = json_object();
    for (unsigned i = 0; i < kt_json_sample_nparts; i++)
        json_object_set_new(o, kt_json_sample_parts[i].key, kt_json_sample_parts[i].make(s, top_only));
    return o;
}

static json_t *top_json(const kt_event_proc_t *p)
{
    return json_pack("{s:I s:s s:o s:o}", "pid", (json_int_t)p->pid, "name", p->name, "cpu_pct",
                     kt_json_num(p->cpu_pct), "rss_bytes", kt_json_u64(p->rss_bytes));
}

json_t *kt_json_event(const kt_event_t *e)
{
    json_t *top = json_array();
    for (unsigned i = 0; i < e->ntop; i++)
        json_array_append_new(top, top_json(&e->top[i]));
    json_t *o = json_pack("{s:I s:o s:s s:s s:s s:o s:o s:s s:s s:o}", "id", (json_int_t)e->id,
                          "time", time_ms(e->time), "type", kt_event_type_name(e->type),
                          "severity", kt_severity_name(e->severity), "state",
                          kt_event_state_name(e), "value", kt_json_num(e->value),
                          "threshold", kt_json_num(e->threshold), "subject", e->subject, "message",
                          e->message, "top_processes", top);
    if (e->resolved || e->escalated)
        json_object_set_new(o, "started_id", json_integer((json_int_t)e->started_id));
    if (e->while_down)
        json_object_set_new(o, "while_down", json_true());
    if (kt_event_template(e->type))
        json_object_set_new(o, "suggested_template", json_string(kt_event_template(e->type)));
    if (e->nevidence) {
        json_t *ev = json_object();
        for (unsigned i = 0; i < e->nevidence && i < KT_EVENT_EVIDENCE; i++)
            json_object_set_new(ev, e->evidence[i].key, kt_json_num(e->evidence[i].value));
        json_object_set_new(o, "evidence", ev);
    }
    if (e->in_flap)
        json_object_set_new(o, "flapping", json_true());
    if (e->source[0])
        json_object_set_new(o, "source", json_string(e->source));
    if (e->silenced[0])
        json_object_set_new(o, "silenced", json_string(e->silenced));
    return o;
}

json_t *kt_json_health(const kt_mon_health_t *h)
{
    json_t *by_type = json_object(), *by_sev = json_object(), *active = json_array();
    for (int t = 0; t < kt_event_type_count(); t++)
        json_object_set_new(by_type, kt_event_type_name(t), json_integer(h->by_type[t]));
    for (int s = 0; s < KT_SEV__COUNT; s++)
        json_object_set_new(by_sev, kt_severity_name(s), json_integer(h->by_severity[s]));
    for (unsigned i = 0; i < h->nactive; i++) {
        const kt_mon_active_t *a = &h->active[i];
        json_array_append_new(
            active, json_pack("{s:s s:s s:I s:o s:o s:o s:s}", "type", kt_event_type_name(a->type),
                              "severity", kt_severity_name(a->severity), "started_id",
                              (json_int_t)a->started_id, "since", time_ms(a->since), "value",
                              kt_json_num(a->value), "threshold", kt_json_num(a->threshold), "subject",
                              a->subject));
    }
    const kt_mon_self_t *me = &h->self;
    json_t *self = json_pack("{s:o s:o s:o s:o s:o s:b s:b}", "rss_bytes", kt_json_num(me->rss_bytes),
                             "cpu_pct", kt_json_num(me->cpu_pct), "cpu_seconds",
                             kt_json_num(me->cpu_seconds), "budget_rss_bytes",
                             kt_json_num(me->budget_rss_bytes), "budget_cpu_pct",
                             kt_json_num(me->budget_cpu_pct), "over_budget", me->over, "shedding",
                             me->shedding);
    return json_pack("{s:s s:b s:I s:o s:i s:o s:o s:o s:o s:o}", "status", h->status, "running",
                     h->running, "samples", (json_int_t)h->samples, "last_sample",
                     h->last_sample ? time_ms(h->last_sample) : json_null(), "events_logged",
                     (int)h->events_logged, "log_cleared",
                     h->log_cleared ? time_ms(h->log_cleared) : json_null(), "by_type", by_type,
                     "by_severity", by_sev, "active", active, "self", self);
}

json_t *kt_json_history_point(const kt_hist_point_t *p)
{
    return json_pack("{s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o}", "time", time_ms(p->time),
                     "cpu_pct", kt_json_num(p->cpu_pct), "memory_pct", kt_json_num(p->memory_pct),
                     "swap_pct", kt_json_num(p->swap_pct), "load1", kt_json_num(p->load1),
                     "disk_max_pct", kt_json_num(p->disk_max_pct), "net_rx_bytes_ps",
                     kt_json_num(p->net_rx_bytes_ps), "net_tx_bytes_ps",
                     kt_json_num(p->net_tx_bytes_ps), "cpu_pressure_pct",
                     kt_json_num(p->cpu_pressure_pct), "memory_pressure_pct",
                     kt_json_num(p->memory_pressure_pct), "io_pressure_pct",
                     kt_json_num(p->io_pressure_pct));
}
