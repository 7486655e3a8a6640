/*
 * none.c - the notifier of a build without libcurl (the Windows builds,
 * until their dependencies provide it): the channels are configured and
 * shown, and every notification is refused with the reason, so nothing is
 * silently not sent.
 */
#include "kt_notify.h"
#include "silence_internal.h"

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#define WHY "this kotod was built without libcurl: notifications cannot be sent"

struct kt_notify_t {
    apr_thread_mutex_t *lock; /* a leaf: guards conf */
    kt_conf_t *conf;          /* the channels listed, shown as not sending */
    apr_pool_t *conf_pool;    /* unmanaged: a reload frees the set it replaces */
    kt__silences_t sil; /* silences still mark events: the log says what was silenced */
};

static kt_conf_t *conf_dup(const kt_conf_t *conf, apr_pool_t **pool)
{
    if (apr_pool_create_unmanaged_ex(pool, NULL, NULL) != APR_SUCCESS)
        return NULL;
    kt_conf_t *c = apr_palloc(*pool, sizeof *c);
    kt_conf_copy(c, conf, *pool);
    return c;
}

apr_status_t kt_notify_create(kt_notify_t **out, const kt_conf_t *conf, kt_store_t *store,
                              kt_mon_t *mon, apr_pool_t *pool)
{
    (void)mon;
    kt_notify_t *n = apr_pcalloc(pool, sizeof *n);
    if (!(n->conf = conf_dup(conf, &n->conf_pool)))
        return APR_ENOMEM;
    if (conf->nnotify)
        kt_log(KT_LOG_WARN, "notify: %s", WHY);
    apr_status_t st = apr_thread_mutex_create(&n->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (st == APR_SUCCESS)
        st = kt__sil_init(&n->sil, n->conf, store, pool);
    if (st != APR_SUCCESS) {
        apr_pool_destroy(n->conf_pool);
        return st;
    }
    *out = n;
    return APR_SUCCESS;
}

apr_status_t kt_notify_start(kt_notify_t *n, const char *dashboard)
{
    (void)n;
    (void)dashboard;
    return APR_SUCCESS;
}

apr_status_t kt_notify_reload(kt_notify_t *n, const kt_conf_t *conf)
{
    apr_pool_t *pool;
    kt_conf_t *c = conf_dup(conf, &pool);
    if (!c)
        return APR_ENOMEM;
    if (conf->nnotify)
        kt_log(KT_LOG_WARN, "notify: %s", WHY);
    kt__sil_set_conf(&n->sil, c);
    apr_thread_mutex_lock(n->lock);
    apr_pool_t *old = n->conf_pool;
    n->conf = c;
    n->conf_pool = pool;
    apr_thread_mutex_unlock(n->lock);
    apr_pool_destroy(old);
    return APR_SUCCESS;
}

void kt_notify_destroy(kt_notify_t *n)
{
    if (n && n->conf_pool) {
        kt__sil_fini(&n->sil);
        apr_pool_destroy(n->conf_pool);
        n->conf_pool = NULL;
    }
}

void kt_notify_mark(void *baton, kt_event_t *ev, unsigned count)
{
    kt_notify_t *n = baton;
    kt__sil_mark(&n->sil, ev, count);
    for (unsigned i = 0; i < count; i++)
        ev[i].routed = 0; /* nothing here sends, so nothing is due */
}

json_t *kt_notify_silences(kt_notify_t *n)
{
    return json_pack("{s:o s:o}", "silences", kt__sil_json(&n->sil), "maintenance",
                     kt__sil_windows_json(&n->sil));
}

apr_status_t kt_notify_silence_add(kt_notify_t *n, json_t *params, const char *who, json_t **out,
                                   char *err, apr_size_t errlen)
{
    return kt__sil_add(&n->sil, params, who, out, err, errlen);
}

apr_status_t kt_notify_silence_expire(kt_notify_t *n, int64_t id, json_t **out)
{
    return kt__sil_expire(&n->sil, (json_int_t)id, out);
}

void kt_notify_reading(void *baton, const kt_snap_t *snap, const kt_event_t *events, unsigned n)
{
    (void)baton;
    (void)snap;
    (void)events;
    (void)n;
}

apr_status_t kt_notify_test(kt_notify_t *n, const char *name, char id[64])
{
    id[0] = '\0';
    apr_thread_mutex_lock(n->lock);
    int found = kt_conf_channel(n->conf, name) != NULL;
    apr_thread_mutex_unlock(n->lock);
    return found ? KT_EUNAVAIL : KT_ENOTFOUND;
}

json_t *kt_notify_json(kt_notify_t *n)
{
    json_t *list = json_array();
    apr_thread_mutex_lock(n->lock);
    for (unsigned i = 0; i < n->conf->nnotify; i++)
        json_array_append_new(list, json_pack("{s:s s:s s:s s:i s:b s:i s:i s:i s:n s:s s:n}",
                                              "name", n->conf->notify[i].name, "kind",
                                              kt_notify_kind_name(n->conf->notify[i].kind),
                                              "url", n->conf->notify[i].url, "queued", 0,
                                              "in_flight", 0, "sent", 0, "failed", 0, "retried", 0,
                                              "last_success_ms", "last_error", WHY,
                                              "last_error_ms"));
    apr_thread_mutex_unlock(n->lock);
    json_t *j = json_pack("{s:o s:i}", "channels", list, "dropped", 0);
    json_t *all = kt__sil_json(&n->sil), *live = json_array();
    size_t k;
    json_t *v;
    json_array_foreach(all, k, v)
        if (strcmp(json_string_value(json_object_get(v, "state")), "expired") != 0)
            json_array_append(live, v);
    json_decref(all);
    json_object_set_new(j, "silences", live);
    json_object_set_new(j, "maintenance", kt__sil_windows_json(&n->sil));
    return j;
}

uint64_t kt_notify_generation(kt_notify_t *n) { return kt__sil_generation(&n->sil); }

unsigned kt_notify_counts(kt_notify_t *n, kt_notify_counts_t *out, unsigned max)
{
    apr_thread_mutex_lock(n->lock);
    unsigned count = n->conf->nnotify;
    for (unsigned i = 0; i < count && i < max; i++) {
        out[i] = (kt_notify_counts_t){.queued = 0};
        apr_cpystrn(out[i].name, n->conf->notify[i].name, sizeof out[i].name);
    }
    apr_thread_mutex_unlock(n->lock);
    return count;
}

apr_status_t kt_notify_send_test(const kt_conf_t *conf, const char *name, char *msg,
                                 apr_size_t len, apr_pool_t *pool)
{
    (void)pool;
    if (!kt_conf_channel(conf, name)) {
        snprintf(msg, len, "no channel '%s' in the notify list", name);
        return KT_ENOTFOUND;
    }
    snprintf(msg, len, WHY);
    return KT_EUNAVAIL;
}
