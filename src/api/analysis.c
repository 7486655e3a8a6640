/*
 * analysis.c - what POST /api/agent/optimize and the analysis tools say:
 * the measured figures as steps (cpu, memory, disk, processes, conditions;
 * each labelled "raw"), and the findings of the Lua rules on the latest
 * reading and the recent history.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>


static json_t *procs(kt_proc_t *const *list, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n && i < 3; i++)
        json_array_append_new(a, json_pack("{s:I s:s s:o s:o}", "pid", (json_int_t)list[i]->pid,
                                           "name", list[i]->name ? list[i]->name : "?",
                                           "cpu_pct", kt_json_num(list[i]->cpu_pct), "rss_bytes",
                                           kt_json_u64(list[i]->rss_bytes)));
    return a;
}

static json_t *step(const char *name, json_t *values)
{
    return json_pack("{s:s s:s s:s s:o}", "step", name, "kind", "raw", "label",
                     "measured figures; the rules' findings follow", "values", values);
}

json_t *kt__api_judge(kt_api_t *api, kt_rules_t *r, kt_snap_t *snap, apr_pool_t *pool)
{
    kt_hist_point_t *hist = apr_palloc(pool, sizeof *hist * KT__HISTORY_FOR_RULES);
    unsigned n = kt_mon_history(api->mon, 0, hist, KT__HISTORY_FOR_RULES);
    return kt_rules_analyze(r, kt_snap_sample(snap), hist, n);
}

/* The findings of the rules on the latest reading, of one category or all. */
static apr_status_t findings(const kt__api_call_t *call, const char *category, json_t **out,
                             kt__api_err_t *err)
{
    kt_api_t *api = call->api;
    kt_rules_t *r;
    apr_status_t st = kt__api_rules(api, &r, err);
    if (st != APR_SUCCESS)
        return st;
    kt_snap_t *snap = kt_mon_acquire(api->mon);
    if (!snap) {
        kt_rules_release(r);
        return kt__api_fail(err, KT_EUNAVAIL, "no_reading_yet",
                            "no reading has been taken yet; start monitoring and retry");
    }
    json_t *all = kt__api_judge(api, r, snap, call->pool);
    kt_snap_release(snap);
    kt_rules_release(r);
    if (!category) {
        *out = all;
        return APR_SUCCESS;
    }
    json_t *some = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(all, i, f) {
        const char *c = json_string_value(json_object_get(f, "category"));
        if (c && strcmp(c, category) == 0)
            json_array_append(some, f);
    }
    json_decref(all);
    *out = some;
    return APR_SUCCESS;
}

apr_status_t kt__op_analyze(const kt__api_call_t *call, json_t *params, json_t **result,
                            kt__api_err_t *err)
{
    json_t *found = NULL;
    apr_status_t st = findings(call, NULL, &found, err);
    if (st != APR_SUCCESS)
        return st;
    kt_mon_t *mon = call->api->mon;
    kt_snap_t *snap = kt_mon_acquire(mon);
    kt_mon_health_t *h = apr_palloc(call->pool, sizeof *h);
    kt_mon_health(mon, h);
    json_t *steps = kt__api_raw_steps(kt_snap_sample(snap), h);
    kt_snap_release(snap);
    *result = json_pack("{s:o s:o}", "steps", steps, "findings", found);
    return APR_SUCCESS;
}

apr_status_t kt__op_suggest(const kt__api_call_t *call, json_t *params, json_t **result,
                            kt__api_err_t *err)
{
    const char *category = json_string_value(json_object_get(params, "category"));
    json_t *found = NULL;
    apr_status_t st = findings(call, category, &found, err);
    if (st != APR_SUCCESS)
        return st;
    json_t *suggestions = json_array();
    size_t i, k;
    json_t *f, *s;
    json_array_foreach(found, i, f) {
        json_array_foreach(json_object_get(f, "suggestions"), k, s) json_array_append(suggestions, s);
    }
    *result = json_pack("{s:o s:o}", "findings", found, "suggestions", suggestions);
    return APR_SUCCESS;
}

static int by_used_desc(const void *a, const void *b)
{
    double x = (*(const kt_fs_t *const *)a)->used_pct, y = (*(const kt_fs_t *const *)b)->used_pct;
    x = kt_known(x) ? x : -1;
    y = kt_known(y) ? y : -1;
    return (x < y) - (x > y);
}

json_t *kt__api_raw_steps(const kt_sample_t *s, const kt_mon_health_t *h)
{
    json_t *steps = json_array();
    double per_cpu = kt_known(s->load1) && kt_known_u64(s->ncpu) && s->ncpu
                         ? s->load1 / (double)s->ncpu
                         : NAN;
    json_array_append_new(
        steps, step("cpu", json_pack("{s:o s:o s:o s:o s:o s:o}", "busy_pct", kt_json_num(s->cpu.busy_pct),
                                     "iowait_pct", kt_json_num(s->cpu.iowait_pct), "steal_pct",
                                     kt_json_num(s->cpu.steal_pct), "load1", kt_json_num(s->load1),
                                     "load1_per_cpu", kt_json_num(per_cpu), "top_processes",
                                     procs(s->top_cpu, s->ntop_cpu))));
    json_array_append_new(
        steps, step("memory", json_pack("{s:o s:o s:o s:o s:o s:o}", "used_pct",
                                        kt_json_num(s->mem.used_pct), "available_bytes",
                                        kt_json_u64(s->mem.available_bytes), "swap_used_pct",
                                        kt_json_num(s->mem.swap_used_pct), "swap_in_pages_ps",
                                        kt_json_num(s->mem.swap_in_pages_ps), "swap_out_pages_ps",
                                        kt_json_num(s->mem.swap_out_pages_ps), "top_processes",
                                        procs(s->top_mem, s->ntop_mem))));

    const kt_fs_t **order = malloc(sizeof *order * (s->nfs ? s->nfs : 1));
    json_t *fs = json_array();
    if (order) {
        for (unsigned i = 0; i < s->nfs; i++)
            order[i] = &s->fs[i];
        qsort(order, s->nfs, sizeof *order, by_used_desc);
        for (unsigned i = 0; i < s->nfs && i < 3; i++)
            json_array_append_new(fs, json_pack("{s:s s:o s:o s:o}", "mount_point",
                                                order[i]->mount_point, "used_pct",
                                                kt_json_num(order[i]->used_pct), "avail_bytes",
                                                kt_json_u64(order[i]->avail_bytes), "inodes_used_pct",
                                                kt_json_num(order[i]->inodes_used_pct)));
        free(order);
    }
    json_t *disks = json_array();
    for (unsigned i = 0; i < s->ndisks; i++)
        json_array_append_new(disks, json_pack("{s:s s:o s:o}", "name", s->disks[i].name,
                                               "busy_pct", kt_json_num(s->disks[i].busy_pct),
                                               "queue_length", kt_json_num(s->disks[i].queue_length)));
    json_array_append_new(steps, step("disk", json_pack("{s:o s:o}", "fullest_filesystems", fs,
                                                        "disks", disks)));
    json_array_append_new(
        steps, step("processes", json_pack("{s:o s:o s:o s:o s:o}", "total", kt_json_u64(s->procs_total),
                                           "running", kt_json_u64(s->procs_running), "blocked",
                                           kt_json_u64(s->procs_blocked), "zombie", kt_json_u64(s->procs_zombie),
                                           "run_queue", kt_json_u64(s->run_queue))));
    json_t *health = kt_json_health(h);
    json_array_append_new(steps, step("conditions", json_pack("{s:O s:O}", "status",
                                                              json_object_get(health, "status"),
                                                              "active",
                                                              json_object_get(health, "active"))));
    json_decref(health);
    return steps;
}
