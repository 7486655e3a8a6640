/* conf.c - the monitor's defaults (the seed's numbers) and their bounds. */
#include "core_internal.h"

#include <apr_strings.h>
#include <stdio.h>
#include <string.h>

void kt_mon_conf_defaults(kt_mon_conf_t *c)
{
    *c = (kt_mon_conf_t){
        .interval_ms = 30000,
        .event_capacity = 100,
        .history_capacity = 1440, /* 12 hours at the default interval */
        .top_n = 5,
        /* One busy reading is noise; two in a row are a condition. */
        .cpu = {1, 85.0, 5.0, 2},
        .memory = {1, 90.0, 5.0, 2},
        /* Disks fill slowly and never spike: one reading is enough. */
        .disk = {1, 85.0, 2.0, 1},
        .process_memory = {1, 50.0, 5.0, 2},
        .cpu_spike = {1, 20.0, 5.0, 1},
        .spike_warmup = 5,
        .spike_window = 10,
        /* Full within a day at the rate of the last 6 hours; resolved once
         * the forecast is past 30 h. Not from less than half an hour of
         * history, nor from less than 1 point of growth over it. */
        .disk_fill = {1, 24.0, 6.0, 2},
        .fill_window_s = 6 * 3600,
        .fill_min_window_s = 1800,
        .fill_min_growth_pct = 1.0,
        /* Nagios' service defaults: 21 states, 20 % starts, 5 % ends. */
        .flap_window = 21,
        .flap_high = 20.0,
        .flap_low = 5.0,
        /* What an agent that watches a machine may cost it, by the
         * install-and-operate issue: 32 MiB and 1 % of one core. */
        .budget_rss_mb = 32,
        .budget_cpu_pct = 1.0,
    };
}

static int check_rule(const char *name, const kt_mon_rule_t *r, double max, char *err,
                      apr_size_t len)
{
    if (!(r->threshold > 0 && r->threshold < max))
        snprintf(err, len, "%s.threshold must be between 0 and %g (got %g)", name, max,
                 r->threshold);
    else if (!(r->clear_margin >= 0 && r->clear_margin <= r->threshold))
        snprintf(err, len, "%s.clear_margin must be between 0 and the threshold %g (got %g)",
                 name, r->threshold, r->clear_margin);
    else if (r->hold_samples < 1 || r->hold_samples > 10000)
        snprintf(err, len, "%s.hold_samples must be between 1 and 10000 (got %u)", name,
                 r->hold_samples);
    else
        return 0;
    return -1;
}

apr_status_t kt_mon_conf_check(const kt_mon_conf_t *c, char *err, apr_size_t len)
{
    if (c->interval_ms < KT_MON_MIN_INTERVAL_MS || c->interval_ms > KT_MON_MAX_INTERVAL_MS)
        snprintf(err, len, "interval_ms must be between %u and %u (got %u)",
                 KT_MON_MIN_INTERVAL_MS, KT_MON_MAX_INTERVAL_MS, c->interval_ms);
    else if (c->event_capacity < 1 || c->event_capacity > 1000000)
        snprintf(err, len, "event_capacity must be between 1 and 1000000 (got %u)",
                 c->event_capacity);
    else if (c->history_capacity < 1 || c->history_capacity > 1000000)
        snprintf(err, len, "history_capacity must be between 1 and 1000000 (got %u)",
                 c->history_capacity);
    else if (c->top_n < 1 || c->top_n > 100)
        snprintf(err, len, "top_n must be between 1 and 100 (got %u)", c->top_n);
    else if (c->spike_window < 1 || c->spike_warmup > 10000)
        snprintf(err, len, "spike_window must be at least 1 and spike_warmup at most 10000");
    else if (c->flap_window != 0 && (c->flap_window < 3 || c->flap_window > KT_MON_MAX_FLAP_WINDOW))
        snprintf(err, len, "flapping.window must be 0 (off) or from 3 to %d (got %u)",
                 KT_MON_MAX_FLAP_WINDOW, c->flap_window);
    else if (!(c->flap_low >= 0 && c->flap_low < c->flap_high && c->flap_high <= 100))
        snprintf(err, len, "flapping.low must be below flapping.high, both from 0 to 100 "
                           "(got %g and %g)", c->flap_low, c->flap_high);
    else if (check_rule("cpu", &c->cpu, 100, err, len) ||
             check_rule("memory", &c->memory, 100, err, len) ||
             check_rule("disk", &c->disk, 100, err, len) ||
             check_rule("process_memory", &c->process_memory, 100, err, len) ||
             check_rule("cpu_spike", &c->cpu_spike, 100, err, len) ||
             check_rule("disk_fill", &c->disk_fill, 8760, err, len))
        return KT_ECONF;
    else if (!(c->fill_window_s >= 1 && c->fill_window_s <= 30 * 86400) ||
             !(c->fill_min_window_s >= 0 && c->fill_min_window_s <= c->fill_window_s) ||
             !(c->fill_min_growth_pct >= 0 && c->fill_min_growth_pct <= 100)) {
        snprintf(err, len, "disk_fill: window must be 1 s..30 days, min_window at most the "
                           "window, min_growth 0..100");
        return KT_ECONF;
    }
    else {
        for (unsigned i = 0; i < c->nchecks; i++) {
            const kt_mon_check_t *k = &c->checks[i];
            const kt__check_kind_t *kind = kt__check_kind(k->kind);
            if (!k->name || !*k->name || strlen(k->name) >= 64) {
                snprintf(err, len, "check %u needs a name (at most 63 bytes)", i + 1);
                return KT_ECONF;
            }
            for (unsigned j = 0; j < i; j++)
                if (strcmp(c->checks[j].name, k->name) == 0) {
                    snprintf(err, len, "two checks are named %s", k->name);
                    return KT_ECONF;
                }
            if (!kind) {
                snprintf(err, len, "check %s: unknown kind '%s' (process, service)", k->name,
                         k->kind ? k->kind : "");
                return KT_ECONF;
            }
            if (kind->valid(k, err, len) != 0)
                return KT_ECONF;
        }
        for (unsigned i = 0; i < c->ndisk_overrides; i++) {
            const kt_mon_fs_rule_t *o = &c->disk_overrides[i];
            char name[200];
            snprintf(name, sizeof name, "disk[%s]", o->mount_point ? o->mount_point : "?");
            if (!o->mount_point || check_rule(name, &o->rule, 100, err, len)) {
                if (!o->mount_point)
                    snprintf(err, len, "disk override %u has no mount point", i);
                return KT_ECONF;
            }
        }
        return APR_SUCCESS;
    }
    return KT_ECONF;
}
