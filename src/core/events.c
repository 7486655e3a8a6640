/*
 * events.c - names of event types and severities, and queries of the event
 * log (a kt__ring_t of kt_event_t). The caller holds the monitor's lock.
 */
#include "core_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[KT_EV__COUNT] = {
    [KT_EV_CPU_HIGH] = "cpu_high",
    [KT_EV_MEMORY_HIGH] = "memory_high",
    [KT_EV_DISK_FULL] = "disk_full",
    [KT_EV_CPU_SPIKE] = "cpu_spike",
    [KT_EV_PROCESS_MEMORY_HIGH] = "process_memory_high",
    [KT_EV_DISK_FILL] = "disk_fill",
    [KT_EV_PROCESS_DOWN] = "process_down",
    [KT_EV_PROCESS_COUNT] = "process_count",
    [KT_EV_SERVICE_FAILED] = "service_failed",
    [KT_EV_REMEDIATION_FAILED] = "remediation_failed",
    [KT_EV_REMEDIATION_GAVE_UP] = "remediation_gave_up",
    [KT_EV_OVER_BUDGET] = "koto_over_budget",
    [KT_EV_RULE_ERROR] = "rule_error",
};

/* Conditions' types: appended, never removed, so a number once handed out
 * names the same condition for the life of the process (the event log and
 * the counters keep numbers). Names are written before the count that
 * publishes them, so readers need no lock. */
static char dyn_names[KT_EV_MAX_TYPES - KT_EV__COUNT][64];
static atomic_int dyn_count;
static atomic_flag dyn_lock = ATOMIC_FLAG_INIT;
static const char *const severity_names[KT_SEV__COUNT] = {"low", "medium", "high"};

/* The fix-script template each kind of event suggests (lua/templates/). */
static const char *const templates[KT_EV__COUNT] = {
    [KT_EV_CPU_HIGH] = "cpu_high",
    [KT_EV_MEMORY_HIGH] = "memory_high",
    [KT_EV_DISK_FULL] = "disk_full",
    [KT_EV_CPU_SPIKE] = "cpu_high",
    [KT_EV_PROCESS_MEMORY_HIGH] = "process_memory_high",
    [KT_EV_DISK_FILL] = "disk_full",
    [KT_EV_PROCESS_DOWN] = "service_restart",
    [KT_EV_SERVICE_FAILED] = "service_restart",
};

const char *kt_event_template(kt_event_type_t t)
{
    return (unsigned)t < KT_EV__COUNT ? templates[t] : NULL;
}

const char *kt_event_type_name(kt_event_type_t t)
{
    if ((unsigned)t < KT_EV__COUNT)
        return type_names[t];
    int k = (int)t - KT_EV__COUNT;
    return k >= 0 && k < atomic_load_explicit(&dyn_count, memory_order_acquire) ? dyn_names[k]
                                                                                 : "unknown";
}

int kt_event_type_count(void)
{
    return KT_EV__COUNT + atomic_load_explicit(&dyn_count, memory_order_acquire);
}

int kt_event_type_register(const char *name)
{
    if (!name || !*name || strlen(name) >= sizeof dyn_names[0])
        return -1;
    for (int i = 0; i < KT_EV__COUNT; i++)
        if (strcmp(type_names[i], name) == 0)
            return -1;
    while (atomic_flag_test_and_set_explicit(&dyn_lock, memory_order_acquire))
        ;
    int n = atomic_load_explicit(&dyn_count, memory_order_relaxed), found = -1;
    for (int i = 0; i < n && found < 0; i++)
        if (strcmp(dyn_names[i], name) == 0)
            found = KT_EV__COUNT + i;
    if (found < 0 && n < KT_EV_MAX_TYPES - KT_EV__COUNT) {
        snprintf(dyn_names[n], sizeof dyn_names[n], "%s", name);
        atomic_store_explicit(&dyn_count, n + 1, memory_order_release);
        found = KT_EV__COUNT + n;
    }
    atomic_flag_clear_explicit(&dyn_lock, memory_order_release);
    return found;
}

const char *kt_severity_name(kt_severity_t s)
{
    return (unsigned)s < KT_SEV__COUNT ? severity_names[s] : "unknown";
}

static int lookup(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *kt_event_state_name(const kt_event_t *e)
{
    if (e->flapping)
        return e->flapping == KT_FLAP_START ? "flapping_start" : "flapping_end";
    return e->resolved ? "resolved" : e->escalated ? "escalated" : "started";
}

int kt_event_type_parse(const char *name)
{
    int t = lookup(type_names, KT_EV__COUNT, name);
    for (int i = 0, n = kt_event_type_count() - KT_EV__COUNT; t < 0 && name && i < n; i++)
        if (strcmp(dyn_names[i], name) == 0)
            t = KT_EV__COUNT + i;
    return t;
}
int kt_severity_parse(const char *name) { return lookup(severity_names, KT_SEV__COUNT, name); }

static int matches(const kt_event_t *e, const kt_event_filter_t *f)
{
    return e->id > f->since_id && (f->type < 0 || (int)e->type == f->type) &&
           (f->severity < 0 || (int)e->severity == f->severity);
}

unsigned kt__evlog_query(const kt__ring_t *log, const kt_event_filter_t *f, kt_event_t *out,
                         unsigned max)
{
    unsigned want = f->limit && f->limit < max ? f->limit : max;
    /* Walk back from the newest to find the most recent `want` matches,
     * then copy them out oldest first. */
    unsigned first = log->count, found = 0;
    for (unsigned i = log->count; i-- > 0 && found < want;) {
        if (matches(kt__ring_at(log, i), f)) {
            first = i;
            found++;
        }
    }
    unsigned n = 0;
    for (unsigned i = first; i < log->count && n < found; i++) {
        const kt_event_t *e = kt__ring_at(log, i);
        if (matches(e, f))
            out[n++] = *e;
    }
    return n;
}
