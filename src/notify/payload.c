/*
 * payload.c - what a notification says and to whom: routing by severity,
 * type and subject, the webhook's JSON body, and delivery ids.
 *
 * The body follows Standard Webhooks' shape, {type, timestamp, data}:
 * type is koto.event.started, .escalated or .resolved (koto.test for a
 * test), data the event as the API shows it, with the host and the
 * dashboard's link.
 */
#include "notify_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

/* A process subject is "pid 42 (java)": a channel names it by "java". */
static int subject_matches(const char *want, const char *subject)
{
    if (strcmp(want, subject) == 0)
        return 1;
    const char *open = strchr(subject, '(');
    size_t n = strlen(want);
    return strncmp(subject, "pid ", 4) == 0 && open && strncmp(open + 1, want, n) == 0 &&
           open[1 + n] == ')' && open[2 + n] == '\0';
}

int kt__notify_wants(const kt_notify_conf_t *c, const kt_event_t *e)
{
    /* A flapping condition's starts and resolutions are held back; the
     * flapping events say it instead, except to Alertmanager, whose re-sends
     * follow the condition's state at their own pace anyway. */
    if (e->in_flap || e->silenced[0])
        return 0;
    if (e->flapping && (c->kind == KT_NOTIFY_ALERTMANAGER ||
                        (c->kind == KT_NOTIFY_WEBHOOK && c->format == KT_NOTIFY_FORMAT_ALERTMANAGER)))
        return 0;
    if ((int)e->severity < c->min_severity)
        return 0;
    if (!kt_type_set_empty(&c->types) && !kt_type_set_has(&c->types, (int)e->type))
        return 0;
    if (e->resolved && !c->send_resolved)
        return 0;
    if (!c->nsubjects)
        return 1;
    for (unsigned i = 0; i < c->nsubjects; i++)
        if (subject_matches(c->subjects[i], e->subject))
            return 1;
    return 0;
}

void kt__notify_new_id(char id[KT__ID_LEN])
{
    unsigned char raw[16];
    if (apr_generate_random_bytes(raw, sizeof raw) != APR_SUCCESS) {
        /* No entropy source: the time and a counter are still unique here. */
        static unsigned counter;
        apr_time_t now = apr_time_now();
        memcpy(raw, &now, sizeof now);
        unsigned k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        memcpy(raw + sizeof now, &k, sizeof k);
    }
    memcpy(id, "msg_", 4);
    for (size_t i = 0; i < sizeof raw; i++) {
        static const char hex[] = "0123456789abcdef";
        id[4 + 2 * i] = hex[raw[i] >> 4];
        id[5 + 2 * i] = hex[raw[i] & 15];
    }
    id[4 + 2 * sizeof raw] = '\0';
}

static const char *type_of(const kt_event_t *e, int reminder)
{
    return reminder                     ? "koto.event.reminder"
           : e->flapping == KT_FLAP_START ? "koto.event.flapping_start"
           : e->flapping == KT_FLAP_END   ? "koto.event.flapping_end"
           : e->resolved                  ? "koto.event.resolved"
           : e->escalated                 ? "koto.event.escalated"
                                          : "koto.event.started";
}

char *kt__notify_payload_many(const kt_notify_conf_t *c, const kt_event_t *ev, unsigned n,
                              int reminder, const char *host, const char *dashboard)
{
    if (c->kind == KT_NOTIFY_WEBHOOK && c->format == KT_NOTIFY_FORMAT_ALERTMANAGER)
        return kt__am_webhook(c, n ? ev : NULL, host, dashboard);
    json_t *data = json_pack("{s:s s:s}", "host", host, "channel", c->name);
    const char *type = "koto.test";
    if (n == 1) {
        type = type_of(ev, reminder);
        json_object_set_new(data, "event", kt_json_event(ev));
    } else if (n > 1) {
        /* A group window folded these into one message. */
        type = "koto.events";
        json_t *list = json_array();
        for (unsigned i = 0; i < n; i++)
            json_array_append_new(list, kt_json_event(&ev[i]));
        json_object_set_new(data, "events", list);
    } else {
        json_object_set_new(data, "message",
                            json_sprintf("a test message from kotod on %s through channel %s",
                                         host, c->name));
    }
    if (dashboard)
        json_object_set_new(data, "dashboard", json_string(dashboard));
    json_t *j = json_pack("{s:s s:o s:o}", "type", type, "timestamp",
                          kt__rfc3339(n && !reminder ? ev[n - 1].time : apr_time_now()), "data",
                          data);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

char *kt__notify_payload(const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                         const char *dashboard)
{
    return kt__notify_payload_many(c, e, e ? 1 : 0, 0, host, dashboard);
}
