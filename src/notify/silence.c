/*
 * silence.c - silences (made through the API, kept in the store, ending by
 * themselves) and the configured maintenance windows: what marks an event
 * silenced before it is committed, so it is logged as such and not
 * notified.
 *
 * A silence: {id, matchers: {type?, severity?, subject?}, starts_at,
 * ends_at (ms since the epoch), comment, created_by, created_at}; an event
 * matches when every matcher given equals it (a subject also matches a
 * process by name, as routing does). None given: everything.
 */
#include "silence_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#define MAX_SILENCES 1000
#define MAX_SPAN_S (366 * 86400)

static json_int_t now_ms(void) { return (json_int_t)apr_time_as_msec(apr_time_now()); }

apr_status_t kt__sil_init(kt__silences_t *s, const kt_conf_t *conf, kt_store_t *store,
                          apr_pool_t *pool)
{
    memset(s, 0, sizeof *s);
    s->conf = conf;
    s->store = store;
    s->list = json_array();
    apr_status_t st = apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (st != APR_SUCCESS)
        return st;
    json_t *kept = NULL;
    if (store && kt_store_silences(store, &kept) == APR_SUCCESS) {
        json_decref(s->list);
        s->list = kept;
    }
    size_t i;
    json_t *v;
    json_array_foreach(s->list, i, v) {
        json_int_t id = json_integer_value(json_object_get(v, "id"));
        if (id > s->last_id)
            s->last_id = id;
    }
    return APR_SUCCESS;
}

void kt__sil_fini(kt__silences_t *s)
{
    json_decref(s->list);
    s->list = NULL;
}

void kt__sil_set_conf(kt__silences_t *s, const kt_conf_t *conf)
{
    apr_thread_mutex_lock(s->lock);
    s->conf = conf;
    s->generation++;
    apr_thread_mutex_unlock(s->lock);
}

static int subject_matches(const char *want, const char *subject)
{
    if (strcmp(want, subject) == 0)
        return 1;
    const char *open = strrchr(subject, '(');
    size_t n = strlen(want);
    return strncmp(subject, "pid ", 4) == 0 && open && strncmp(open + 1, want, n) == 0 &&
           open[1 + n] == ')' && open[2 + n] == '\0';
}

static int silence_matches(json_t *sil, const kt_event_t *e, json_int_t t)
{
    if (t < json_integer_value(json_object_get(sil, "starts_at")) ||
        t >= json_integer_value(json_object_get(sil, "ends_at")))
        return 0;
    json_t *m = json_object_get(sil, "matchers");
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *sev = json_string_value(json_object_get(m, "severity"));
    const char *subject = json_string_value(json_object_get(m, "subject"));
    return (!type || strcmp(type, kt_event_type_name(e->type)) == 0) &&
           (!sev || strcmp(sev, kt_severity_name(e->severity)) == 0) &&
           (!subject || subject_matches(subject, e->subject));
}

static int window_matches(const kt_maint_conf_t *w, const kt_event_t *e)
{
    if (!kt_type_set_empty(&w->types) && !kt_type_set_has(&w->types, (int)e->type))
        return 0;
    int subject = !w->nsubjects;
    for (unsigned i = 0; i < w->nsubjects && !subject; i++)
        subject = subject_matches(w->subjects[i], e->subject);
    return subject && kt_maint_open(w, e->time);
}

void kt__sil_mark(kt__silences_t *s, kt_event_t *ev, unsigned n)
{
    apr_thread_mutex_lock(s->lock);
    for (unsigned i = 0; i < n; i++) {
        kt_event_t *e = &ev[i];
        json_int_t t = (json_int_t)apr_time_as_msec(e->time);
        size_t k;
        json_t *v;
        json_array_foreach(s->list, k, v)
            if (silence_matches(v, e, t)) {
                snprintf(e->silenced, sizeof e->silenced, "silence %lld",
                         (long long)json_integer_value(json_object_get(v, "id")));
                break;
            }
        for (unsigned w = 0; !e->silenced[0] && w < s->conf->nmaintenance; w++)
            if (window_matches(&s->conf->maintenance[w], e))
                snprintf(e->silenced, sizeof e->silenced, "maintenance %.60s",
                         s->conf->maintenance[w].name);
    }
    apr_thread_mutex_unlock(s->lock);
}

/* The silence with its state now: pending, active or expired. */
static json_t *shown(json_t *v, json_int_t now)
{
    json_t *o = json_copy(v);
    json_int_t starts = json_integer_value(json_object_get(v, "starts_at"));
    json_int_t ends = json_integer_value(json_object_get(v, "ends_at"));
    json_object_set_new(o, "state", json_string(now < starts ? "pending" : now < ends ? "active" : "expired"));
    return o;
}

json_t *kt__sil_json(kt__silences_t *s)
{
    json_t *list = json_array();
    json_int_t now = now_ms();
    apr_thread_mutex_lock(s->lock);
    size_t i;
    json_t *v;
    json_array_foreach(s->list, i, v)
        json_array_append_new(list, shown(v, now));
    apr_thread_mutex_unlock(s->lock);
    return list;
}

json_t *kt__sil_windows_json(kt__silences_t *s)
{
    json_t *list = json_array();
    apr_time_t now = apr_time_now();
    apr_thread_mutex_lock(s->lock);
    for (unsigned i = 0; i < s->conf->nmaintenance; i++)
        json_array_append_new(list, json_pack("{s:s s:b}", "name", s->conf->maintenance[i].name,
                                              "open", kt_maint_open(&s->conf->maintenance[i], now)));
    apr_thread_mutex_unlock(s->lock);
    return list;
}

static json_int_t int_param(json_t *params, const char *name, int *bad)
{
    json_t *v = json_object_get(params, name);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        *bad = 1;
        return 0;
    }
    return json_integer_value(v);
}

apr_status_t kt__sil_add(kt__silences_t *s, json_t *params, const char *who, json_t **out,
                         char *err, apr_size_t errlen)
{
    json_t *m = json_object_get(params, "matchers");
    if (m && !json_is_object(m)) {
        snprintf(err, errlen, "matchers must be an object of type, severity and subject");
        return KT_EINPUT;
    }
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *sev = json_string_value(json_object_get(m, "severity"));
    const char *subject = json_string_value(json_object_get(m, "subject"));
    const char *key;
    json_t *val;
    json_object_foreach(m, key, val)
        if ((strcmp(key, "type") && strcmp(key, "severity") && strcmp(key, "subject")) ||
            !json_is_string(val)) {
            snprintf(err, errlen, "matchers takes type, severity and subject, each a string");
            return KT_EINPUT;
        }
    if ((type && kt_event_type_parse(type) < 0) || (sev && kt_severity_parse(sev) < 0) ||
        (subject && (!*subject || strlen(subject) >= 160))) {
        snprintf(err, errlen, "matchers: type must be an event type, severity low, medium or "
                              "high, subject 1 to 159 bytes");
        return KT_EINPUT;
    }
    const char *comment = json_string_value(json_object_get(params, "comment"));
    const char *by = json_string_value(json_object_get(params, "created_by"));
    if (!comment || !*comment || strlen(comment) > 500 || (by && (!*by || strlen(by) > 100))) {
        snprintf(err, errlen, "comment (1 to 500 bytes) is required; created_by is 1 to 100 bytes");
        return KT_EINPUT;
    }
    int bad = 0;
    json_int_t now = now_ms();
    json_int_t starts = int_param(params, "starts_at", &bad);
    json_int_t ends = int_param(params, "ends_at", &bad);
    json_int_t duration = int_param(params, "duration_s", &bad);
    if (!starts)
        starts = now;
    if (!ends && duration)
        ends = starts + duration * 1000;
    if (bad || !ends || ends <= starts || ends <= now ||
        ends - starts > (json_int_t)MAX_SPAN_S * 1000 ||
        (json_object_get(params, "ends_at") && json_object_get(params, "duration_s"))) {
        snprintf(err, errlen, "give ends_at (ms since the epoch) or duration_s, ending after "
                              "starts_at and after now, at most a year long");
        return KT_EINPUT;
    }
    json_t *matchers = json_object();
    if (type)
        json_object_set_new(matchers, "type", json_string(type));
    if (sev)
        json_object_set_new(matchers, "severity", json_string(sev));
    if (subject)
        json_object_set_new(matchers, "subject", json_string(subject));
    apr_thread_mutex_lock(s->lock);
    if (json_array_size(s->list) >= MAX_SILENCES) {
        apr_thread_mutex_unlock(s->lock);
        json_decref(matchers);
        snprintf(err, errlen, "there are %d silences already", MAX_SILENCES);
        return KT_EUNAVAIL;
    }
    json_t *sil = json_pack("{s:I s:o s:I s:I s:s s:s s:I}", "id", (json_int_t)++s->last_id,
                            "matchers", matchers, "starts_at", starts, "ends_at", ends, "comment",
                            comment, "created_by", by ? by : who, "created_at", now);
    apr_thread_mutex_unlock(s->lock);
    /* On disk first, then in force: a silence the API confirmed outlives a restart. */
    if (s->store && kt_store_silence_put(s->store, json_incref(sil)) != APR_SUCCESS) {
        json_decref(sil);
        snprintf(err, errlen, "the store did not keep the silence");
        return KT_EUNAVAIL;
    }
    apr_thread_mutex_lock(s->lock);
    json_array_append(s->list, sil);
    s->generation++;
    apr_thread_mutex_unlock(s->lock);
    *out = shown(sil, now);
    json_decref(sil);
    return APR_SUCCESS;
}

apr_status_t kt__sil_expire(kt__silences_t *s, json_int_t id, json_t **out)
{
    json_int_t now = now_ms();
    apr_thread_mutex_lock(s->lock);
    size_t i;
    json_t *v, *found = NULL;
    json_array_foreach(s->list, i, v)
        if (json_integer_value(json_object_get(v, "id")) == id)
            found = v;
    json_t *copy = found ? json_deep_copy(found) : NULL;
    apr_thread_mutex_unlock(s->lock);
    if (!copy)
        return KT_ENOTFOUND;
    if (json_integer_value(json_object_get(copy, "ends_at")) > now) {
        json_object_set_new(copy, "ends_at", json_integer(now));
        if (json_integer_value(json_object_get(copy, "starts_at")) > now)
            json_object_set_new(copy, "starts_at", json_integer(now));
        if (s->store && kt_store_silence_put(s->store, json_incref(copy)) != APR_SUCCESS) {
            json_decref(copy);
            return KT_EUNAVAIL;
        }
        apr_thread_mutex_lock(s->lock);
        json_array_foreach(s->list, i, v)
            if (json_integer_value(json_object_get(v, "id")) == id)
                json_array_set(s->list, i, copy);
        s->generation++;
        apr_thread_mutex_unlock(s->lock);
    }
    *out = shown(copy, now);
    json_decref(copy);
    return APR_SUCCESS;
}

uint64_t kt__sil_generation(kt__silences_t *s)
{
    apr_thread_mutex_lock(s->lock);
    uint64_t g = s->generation;
    apr_thread_mutex_unlock(s->lock);
    return g;
}
