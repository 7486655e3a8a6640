/*
 * silence_internal.h - private to src/notify/: silences and maintenance
 * windows (silence.c), shared by the notifier with libcurl (notify.c) and
 * without (none.c).
 */
#ifndef KT_SILENCE_INTERNAL_H
#define KT_SILENCE_INTERNAL_H

#include "kt_notify.h"

#include <apr_thread_mutex.h>

typedef struct {
    kt_store_t *store;        /* NULL: kept in memory only */
    apr_thread_mutex_t *lock; /* a leaf: guards what follows */
    const kt_conf_t *conf;    /* its maintenance windows; a reload replaces it */
    json_t *list;             /* the silences, by id */
    json_int_t last_id;
    uint64_t generation;
} kt__silences_t;

/* Loads the stored silences. */
apr_status_t kt__sil_init(kt__silences_t *s, const kt_conf_t *conf, kt_store_t *store,
                          apr_pool_t *pool);
void kt__sil_fini(kt__silences_t *s);
/* A reload's windows (conf's) from now on; the old conf may go once it returns. */
void kt__sil_set_conf(kt__silences_t *s, const kt_conf_t *conf);
/* Sets each event's `silenced` from the silences and windows at its time. */
void kt__sil_mark(kt__silences_t *s, kt_event_t *ev, unsigned n);
json_t *kt__sil_json(kt__silences_t *s);
json_t *kt__sil_windows_json(kt__silences_t *s);
apr_status_t kt__sil_add(kt__silences_t *s, json_t *params, const char *who, json_t **out,
                         char *err, apr_size_t errlen);
apr_status_t kt__sil_expire(kt__silences_t *s, json_int_t id, json_t **out);
uint64_t kt__sil_generation(kt__silences_t *s);

#endif
