/*
 * events.c - names of event types and severities, and queries of the event
 * log (a kt__ring_t of kt_event_t). The caller holds the monitor's lock.
 */
#include "core_internal.h"

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
};
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
    return (unsigned)t < KT_EV__COUNT ? type_names[t] : "unknown";
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

int kt_event_type_parse(const char *name) { return lookup(type_names, KT_EV__COUNT, name); }
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
