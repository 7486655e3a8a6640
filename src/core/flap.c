/*
 * flap.c - flap detection, Nagios' way (base/flapping.c): each condition's
 * state (active or not) at each of its last flap_window readings; the
 * share of state changes among them, the newer ones weighing more (0.8 for
 * the oldest change up to 1.2 for the newest); above flap_high % the
 * condition flaps, and it settles only below flap_low %.
 *
 * A condition that flaps gets one flapping_start event, and one
 * flapping_end when it settles; the starts and resolutions in between are
 * still logged, marked in_flap, and the notifier holds them back. A
 * condition's history outlives its resolution (a resolution is the state
 * change that matters here) and goes once its window holds no change.
 * The histories are saved with the detectors' state (kt__detect_save), so
 * a condition that flapped before a restart still flaps after it.
 */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

struct kt__flap_t {
    char key[KT__COND_KEY];
    kt_event_type_t type;
    char subject[160];
    uint64_t bits; /* the states, newest in bit 0 */
    unsigned n;    /* states recorded, up to the window */
    int flapping;
    kt_severity_t sev;
};

void kt__flap_fini(kt__detect_t *d)
{
    apr_hash_index_t *hi;
    while ((hi = apr_hash_first(NULL, d->flaps))) {
        const void *key;
        apr_ssize_t klen;
        void *f;
        apr_hash_this(hi, &key, &klen, &f);
        apr_hash_set(d->flaps, key, klen, NULL);
        free(f);
    }
}

/* The weighted share of changes, in %, over the window (Nagios divides by
 * the window's transitions, however few states are known yet). */
static double change_pct(const kt__flap_t *f, unsigned window)
{
    unsigned n = f->n < window ? f->n : window;
    if (n < 2)
        return 0;
    double total = 0;
    for (unsigned i = 0; i + 1 < n; i++) { /* i = 0: the newest change */
        int changed = ((f->bits >> i) ^ (f->bits >> (i + 1))) & 1;
        unsigned age = n - 2 - i; /* 0 for the oldest transition */
        if (changed)
            total += 0.8 + 0.4 * (double)age / (double)(window - 2);
    }
    return 100.0 * total / (double)(window - 1);
}

static kt_event_t *flap_event(kt__detect_t *d, const kt__flap_t *f, apr_time_t now, int which,
                              double pct, unsigned window, int active, kt_event_t *out,
                              unsigned *n, unsigned max)
{
    if (*n == max)
        return NULL;
    kt_event_t *e = &out[(*n)++];
    memset(e, 0, sizeof *e);
    e->id = ++d->next_id;
    e->time = now;
    e->type = f->type;
    e->severity = f->sev;
    e->flapping = which;
    kt_mon_active_t a;
    e->value = e->threshold = NAN;
    if (kt__detect_active_one(d, f->key, &a)) {
        e->value = a.value;
        e->threshold = a.threshold;
        e->severity = a.severity;
    }
    snprintf(e->subject, sizeof e->subject, "%s", f->subject);
    const char *what = kt_event_type_name(f->type);
    char msg[600]; /* cut to the event's message below */
    if (which == KT_FLAP_START)
        snprintf(msg, sizeof msg,
                 "%s%s%s is flapping: %.0f%% of its last %u readings changed state; its starts "
                 "and resolutions are not notified until it settles",
                 what, *f->subject ? " " : "", f->subject, pct, window);
    else
        snprintf(msg, sizeof msg,
                 "%s%s%s stopped flapping (%.0f%% of its last %u readings changed state); it is "
                 "%s now",
                 what, *f->subject ? " " : "", f->subject, pct, window,
                 active ? "active" : "clear");
    apr_cpystrn(e->message, msg, sizeof e->message);
    return e;
}

unsigned kt__flap_run(kt__detect_t *d, const kt_mon_conf_t *c, apr_time_t now, kt_event_t *out,
                      unsigned first, unsigned n, unsigned max)
{
    unsigned window = c->flap_window;
    if (!window) {
        kt__flap_fini(d);
        return n;
    }
    /* This run's starts and resolutions of conditions already flapping. */
    for (unsigned i = first; i < n; i++)
        for (apr_hash_index_t *hi = apr_hash_first(NULL, d->flaps); hi; hi = apr_hash_next(hi)) {
            const kt__flap_t *f = apr_hash_this_val(hi);
            if (f->flapping && f->type == out[i].type && strcmp(f->subject, out[i].subject) == 0)
                out[i].in_flap = 1;
        }
    /* Every condition active now has a history; a new one starts from "not active". */
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->conds); hi; hi = apr_hash_next(hi)) {
        const char *key = apr_hash_this_key(hi);
        kt_mon_active_t a;
        if (!kt__detect_active_one(d, key, &a) || apr_hash_get(d->flaps, key, APR_HASH_KEY_STRING))
            continue;
        kt__flap_t *f = calloc(1, sizeof *f);
        if (!f)
            break;
        snprintf(f->key, sizeof f->key, "%s", key);
        f->type = a.type;
        f->sev = a.severity;
        snprintf(f->subject, sizeof f->subject, "%s", a.subject);
        f->n = 1; /* the reading before: not active */
        apr_hash_set(d->flaps, f->key, APR_HASH_KEY_STRING, f);
    }
    uint64_t mask = window >= 64 ? ~0ull : (1ull << window) - 1;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->flaps); hi;) {
        kt__flap_t *f = apr_hash_this_val(hi);
        hi = apr_hash_next(hi);
        kt_mon_active_t a;
        int active = kt__detect_active_one(d, f->key, &a);
        if (active)
            f->sev = a.severity;
        f->bits = ((f->bits << 1) | (uint64_t)active) & mask;
        if (f->n < window)
            f->n++;
        double pct = change_pct(f, window);
        if (!f->flapping && pct > c->flap_high) {
            f->flapping = 1;
            flap_event(d, f, now, KT_FLAP_START, pct, window, active, out, &n, max);
        } else if (f->flapping && pct < c->flap_low) {
            f->flapping = 0;
            flap_event(d, f, now, KT_FLAP_END, pct, window, active, out, &n, max);
        }
        /* Quiet for a whole window and not active: nothing left to judge. */
        if (!f->flapping && !active && f->n >= window && (f->bits & mask) == 0) {
            apr_hash_set(d->flaps, f->key, APR_HASH_KEY_STRING, NULL);
            free(f);
        }
    }
    return n;
}

json_t *kt__flap_save(const kt__detect_t *d)
{
    json_t *list = json_array();
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->flaps); hi; hi = apr_hash_next(hi)) {
        const kt__flap_t *f = apr_hash_this_val(hi);
        char bits[17]; /* as hex: a JSON integer may not hold 64 bits */
        snprintf(bits, sizeof bits, "%016llx", (unsigned long long)f->bits);
        json_array_append_new(list, json_pack("{s:s s:s s:s s:s s:i s:b s:s}", "key", f->key,
                                              "type", kt_event_type_name(f->type), "subject",
                                              f->subject, "bits", bits, "n", (int)f->n,
                                              "flapping", f->flapping, "severity",
                                              kt_severity_name(f->sev)));
    }
    return list;
}

void kt__flap_restore(kt__detect_t *d, json_t *list)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        const char *key = json_string_value(json_object_get(o, "key"));
        const char *subject = json_string_value(json_object_get(o, "subject"));
        const char *bits = json_string_value(json_object_get(o, "bits"));
        int type = kt_event_type_parse(json_string_value(json_object_get(o, "type")));
        int sev = kt_severity_parse(json_string_value(json_object_get(o, "severity")));
        json_int_t n = json_integer_value(json_object_get(o, "n"));
        if (!key || !subject || !bits || type < 0 || sev < 0 || n < 0 ||
            n > KT_MON_MAX_FLAP_WINDOW || apr_hash_get(d->flaps, key, APR_HASH_KEY_STRING))
            continue; /* written by another version, or damaged: not guessed at */
        kt__flap_t *f = calloc(1, sizeof *f);
        if (!f)
            break;
        snprintf(f->key, sizeof f->key, "%s", key);
        snprintf(f->subject, sizeof f->subject, "%s", subject);
        f->type = (kt_event_type_t)type;
        f->sev = (kt_severity_t)sev;
        f->bits = strtoull(bits, NULL, 16);
        f->n = (unsigned)n;
        f->flapping = json_is_true(json_object_get(o, "flapping"));
        apr_hash_set(d->flaps, f->key, APR_HASH_KEY_STRING, f);
    }
}
