/*
 * alertmanager.c - koto's conditions as Alertmanager alerts: pushed to
 * POST /api/v2/alerts (kind = "alertmanager"), or as Alertmanager's own
 * webhook payload, version 4 (a webhook with format = "alertmanager").
 *
 * Alertmanager keeps no state of its own about a sender, so, as Prometheus
 * does (rules/alerting.go), a firing alert is sent again every resend_s with
 * endsAt four resends ahead (it resolves by itself if kotod goes away), and a
 * resolved one is sent with endsAt = the resolution, again and again for
 * RESOLVED_KEEP_S. The channel's table holds what was sent, keyed by the
 * label set's fingerprint; re-sends also take the monitor's conditions in
 * progress, so after a restart they go on firing without a new event.
 *
 * Labels: alertname (the event type), severity, instance (the host),
 * job="koto", and the subject: filesystem (disk_full), process and pid (a
 * process), else subject. A rise in severity changes the label set: the old
 * alert resolves and the new one fires.
 */
#include "notify_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#define RESOLVED_KEEP_S (15 * 60) /* Prometheus' resolvedRetention */
#define ZERO_TIME "0001-01-01T00:00:00Z"

static const char *time_text(apr_time_t t, char buf[96])
{
    apr_time_exp_t x;
    apr_time_exp_gmt(&x, t);
    snprintf(buf, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", x.tm_year + 1900, x.tm_mon + 1,
             x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec, x.tm_usec / 1000);
    return buf;
}

json_t *kt__rfc3339(apr_time_t t)
{
    char buf[96];
    return json_string(time_text(t, buf));
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Alertmanager's fingerprint (prometheus/common model.LabelSet.Fingerprint):
 * FNV-1a 64 over the names and values sorted by name, each followed by 0xff. */
void kt__am_fingerprint(json_t *labels, char out[17])
{
    const char *names[32];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
        if (n < KT_ARRAY_SIZE(names))
            names[n++] = k;
    qsort(names, n, sizeof *names, by_name);
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        const char *parts[] = {names[i], json_string_value(json_object_get(labels, names[i]))};
        for (size_t p = 0; p < 2; p++) {
            for (const unsigned char *c = (const unsigned char *)(parts[p] ? parts[p] : ""); *c; c++)
                h = (h ^ *c) * 1099511628211ull;
            h = (h ^ 0xff) * 1099511628211ull;
        }
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The labels of a condition (type, severity, subject) on host. */
static json_t *labels_of(kt_event_type_t type, kt_severity_t sev, const char *subject,
                         const char *host)
{
    json_t *l = json_pack("{s:s s:s s:s s:s}", "alertname", kt_event_type_name(type), "severity",
                          kt_severity_name(sev), "instance", host, "job", "koto");
    const char *open = strchr(subject, '(');
    size_t n = strlen(subject);
    if (!*subject)
        return l;
    if (strncmp(subject, "pid ", 4) == 0 && open && n > 0 && subject[n - 1] == ')') {
        json_object_set_new(l, "process", json_stringn(open + 1, (size_t)(subject + n - 1 - open - 1)));
        json_object_set_new(l, "pid", json_stringn(subject + 4, (size_t)(open - subject - 4 - 1)));
    } else {
        json_object_set_new(l, type == KT_EV_DISK_FULL ? "filesystem" : "subject", json_string(subject));
    }
    return l;
}

static json_t *annotations_of(const kt_event_t *e, const char *summary)
{
    char desc[1024];
    int len = snprintf(desc, sizeof desc, "%s %.1f, threshold %.1f.", kt_event_type_name(e->type),
                       e->value, e->threshold);
    for (unsigned i = 0; i < e->ntop && len > 0 && (size_t)len < sizeof desc; i++) {
        char cpu[32] = "";
        if (isfinite(e->top[i].cpu_pct))
            snprintf(cpu, sizeof cpu, "%.1f%% CPU, ", e->top[i].cpu_pct);
        len += snprintf(desc + len, sizeof desc - (size_t)len, "%s %s (pid %lld): %s%.1f MiB",
                        i ? ";" : " Busiest processes:", e->top[i].name, (long long)e->top[i].pid,
                        cpu, (double)e->top[i].rss_bytes / 1048576.0);
    }
    return json_pack("{s:s s:s}", "summary", summary, "description", desc);
}

/* ---- the push channel's table -------------------------------------------------------- */

static json_t *entry(json_t *labels, json_t *annotations, apr_time_t starts, const char *dashboard,
                     kt_event_type_t type, const char *subject)
{
    json_t *alert = json_pack("{s:o s:o}", "labels", labels, "annotations", annotations);
    if (starts)
        json_object_set_new(alert, "startsAt", kt__rfc3339(starts));
    if (dashboard)
        json_object_set_new(alert, "generatorURL", json_string(dashboard));
    return json_pack("{s:o s:I s:i s:s}", "alert", alert, "resolved_ms", (json_int_t)0, "type",
                     (int)type, "subject", subject);
}

/* The key of the firing entry for (type, subject), or NULL. */
static const char *firing(json_t *table, kt_event_type_t type, const char *subject)
{
    const char *k;
    json_t *v;
    json_object_foreach(table, k, v)
        if (json_integer_value(json_object_get(v, "type")) == type &&
            strcmp(json_string_value(json_object_get(v, "subject")), subject) == 0 &&
            json_integer_value(json_object_get(v, "resolved_ms")) == 0)
            return k;
    return NULL;
}

static void resolve(json_t *table, const char *key, apr_time_t at)
{
    json_object_set_new(json_object_get(table, key), "resolved_ms",
                        json_integer((json_int_t)apr_time_as_msec(at)));
}

/* The alert as sent now: endsAt four resends ahead while firing, else the resolution. */
static json_t *as_sent(json_t *e, unsigned resend_s)
{
    json_t *a = json_deep_copy(json_object_get(e, "alert"));
    json_int_t resolved = json_integer_value(json_object_get(e, "resolved_ms"));
    apr_time_t ends = resolved ? apr_time_from_msec(resolved)
                               : apr_time_now() + apr_time_from_sec(4 * (apr_int64_t)resend_s);
    json_object_set_new(a, "endsAt", kt__rfc3339(ends));
    return a;
}

static char *dump_new(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

char *kt__am_event(json_t *table, const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                   const char *dashboard)
{
    const char *old = firing(table, e->type, e->subject);
    json_t *labels = labels_of(e->type, e->severity, e->subject, host);
    char fp[17];
    kt__am_fingerprint(labels, fp);
    json_t *batch = json_array();
    if (old && strcmp(old, fp) != 0) {
        /* Escalated: the old severity's alert resolves as the new one fires. */
        resolve(table, old, e->time);
        json_array_append_new(batch, as_sent(json_object_get(table, old), c->resend_s));
    }
    json_t *prev = json_object_get(table, fp);
    json_t *starts = prev ? json_object_get(json_object_get(prev, "alert"), "startsAt") : NULL;
    json_t *en = entry(labels, annotations_of(e, e->message), e->resolved ? 0 : e->time, dashboard,
                       e->type, e->subject);
    if (starts)
        json_object_set(json_object_get(en, "alert"), "startsAt", starts);
    json_object_set_new(table, fp, en);
    if (e->resolved)
        resolve(table, fp, e->time);
    json_array_append_new(batch, as_sent(en, c->resend_s));
    return dump_new(batch);
}

char *kt__am_resend(json_t *table, const kt_notify_conf_t *c, const kt_mon_health_t *h,
                    const char *host, const char *dashboard)
{
    apr_time_t now = apr_time_now();
    if (h) {
        /* Conditions in progress the table lacks (a restart): they fire on. */
        for (unsigned i = 0; i < h->nactive; i++) {
            const kt_mon_active_t *a = &h->active[i];
            kt_event_t pseudo;
            memset(&pseudo, 0, sizeof pseudo);
            pseudo.type = a->type;
            pseudo.severity = a->severity;
            pseudo.value = a->value;
            pseudo.threshold = a->threshold;
            apr_cpystrn(pseudo.subject, a->subject, sizeof pseudo.subject);
            if (!kt__notify_wants(c, &pseudo) || firing(table, a->type, a->subject))
                continue;
            json_t *labels = labels_of(a->type, a->severity, a->subject, host);
            char fp[17], summary[300];
            kt__am_fingerprint(labels, fp);
            snprintf(summary, sizeof summary, "%s%s%s on %s", kt_event_type_name(a->type),
                     *a->subject ? " " : "", a->subject, host);
            json_object_set_new(table, fp, entry(labels, annotations_of(&pseudo, summary), a->since,
                                                 dashboard, a->type, a->subject));
        }
        /* Firing in the table, gone from the monitor without a resolution seen. */
        const char *k;
        json_t *v;
        json_object_foreach(table, k, v) {
            if (json_integer_value(json_object_get(v, "resolved_ms")))
                continue;
            int held = 0;
            for (unsigned i = 0; i < h->nactive && !held; i++)
                held = (int)h->active[i].type == json_integer_value(json_object_get(v, "type")) &&
                       strcmp(h->active[i].subject, json_string_value(json_object_get(v, "subject"))) == 0;
            if (!held)
                resolve(table, k, now);
        }
    }
    json_t *batch = json_array();
    const char *k;
    json_t *v;
    void *iter;
    json_object_foreach_safe(table, iter, k, v) {
        json_int_t resolved = json_integer_value(json_object_get(v, "resolved_ms"));
        if (resolved && now - apr_time_from_msec(resolved) > apr_time_from_sec(RESOLVED_KEEP_S)) {
            json_object_del(table, k);
            continue;
        }
        json_array_append_new(batch, as_sent(v, c->resend_s));
    }
    if (!json_array_size(batch)) {
        json_decref(batch);
        return NULL;
    }
    return dump_new(batch);
}

char *kt__am_test(const kt_notify_conf_t *c, const char *host, const char *dashboard)
{
    (void)c;
    apr_time_t now = apr_time_now();
    json_t *alert = json_pack("{s:{s:s s:s s:s s:s} s:{s:s s:s} s:o s:o}", "labels", "alertname",
                              "koto_test", "severity", "none", "instance", host, "job", "koto",
                              "annotations", "summary", "a test alert from kotod",
                              "description", "sent by POST /api/agent/notify/test or kotod --test-notify",
                              "startsAt", kt__rfc3339(now), "endsAt",
                              kt__rfc3339(now + apr_time_from_sec(300)));
    if (dashboard)
        json_object_set_new(alert, "generatorURL", json_string(dashboard));
    return dump_new(json_pack("[o]", alert));
}

char *kt__am_webhook(const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                     const char *dashboard)
{
    apr_time_t now = apr_time_now();
    json_t *labels, *annotations;
    apr_time_t starts = now;
    int resolved = 0;
    if (e) {
        labels = labels_of(e->type, e->severity, e->subject, host);
        annotations = annotations_of(e, e->message);
        starts = e->time;
        resolved = e->resolved;
    } else {
        labels = json_pack("{s:s s:s s:s s:s}", "alertname", "koto_test", "severity", "none",
                           "instance", host, "job", "koto");
        annotations = json_pack("{s:s}", "summary", "a test alert from kotod");
    }
    char fp[17];
    kt__am_fingerprint(labels, fp);
    const char *status = resolved ? "resolved" : "firing";
    json_t *alert = json_pack("{s:s s:O s:O s:o s:o s:s s:s}", "status", status, "labels", labels,
                              "annotations", annotations, "startsAt",
                              resolved ? json_string(ZERO_TIME) : kt__rfc3339(starts), "endsAt",
                              resolved ? kt__rfc3339(e->time) : json_string(ZERO_TIME),
                              "generatorURL", dashboard ? dashboard : "", "fingerprint", fp);
    json_t *group = json_pack("{s:O}", "alertname", json_object_get(labels, "alertname"));
    /* Alertmanager's groupKey: the route's matchers, then the group labels. */
    char key[300];
    snprintf(key, sizeof key, "{}:{alertname=\"%s\"}",
             json_string_value(json_object_get(labels, "alertname")));
    json_t *j = json_pack("{s:s s:s s:i s:s s:s s:o s:o s:o s:s s:[o]}", "version", "4",
                          "groupKey", key, "truncatedAlerts", 0, "status", status, "receiver",
                          c->name, "groupLabels", group, "commonLabels", labels,
                          "commonAnnotations", annotations, "externalURL",
                          dashboard ? dashboard : "", "alerts", alert);
    return dump_new(j);
}
