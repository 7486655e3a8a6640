/*
 * kt_notify.h - telling someone: the channels of the `notify` list
 * (webhook, alertmanager), the outbox worker that delivers to them, and
 * their state.
 *
 * DESIGN
 * The monitor's subscriber (kt_notify_events) only copies the reading's
 * events into a bounded queue and wakes the notifier thread; nothing on
 * the sampler's path waits for a receiver. The notifier thread routes each
 * event to the channels that want it, writes each notification to the
 * store's outbox (kt_store_outbox_add) before its first attempt, and runs
 * every channel's attempts side by side in one libcurl multi handle, one
 * attempt per channel at a time, in order: a hanging or dead receiver
 * holds up its own channel only, for at most its timeout per attempt.
 *
 * Delivery: 2xx is done; 5xx, 408, 429 and network errors are retried
 * after a capped, jittered exponential backoff (the delay doubles from
 * backoff_ms up to backoff_max_ms, and each wait is drawn from its upper
 * half); any other answer fails it at once, and so does reaching
 * max_age_s. The id (the webhook-id header) is made once and kept in the
 * outbox, so a restart goes on with the same id and receivers can drop
 * duplicates. What comes before the outbox row (the notifier's queue, a
 * group window) is covered by the store: the marker (kt_notify_mark) sets
 * routed on the events a channel wants, the store keeps them as due in the
 * event's own transaction, and the notifier says when their outbox rows are
 * written. A start routes the events still due again; an event's message
 * id is derived from the channel and the event id (a group's from its first
 * event), so a message that reached the outbox before the kill is found
 * there, not made twice.
 *
 * Webhooks are signed the Standard Webhooks way: webhook-id,
 * webhook-timestamp and webhook-signature "v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>", keyed with the secret (whsec_<base64>, or the raw
 * bytes of the file). Secrets and header values are never logged.
 *
 * The handle outlives reloads: the monitor's subscriber, the API, status
 * and /metrics keep it, and see the channel set of the moment (read under
 * the lock; names are copied out), while the thread alone changes the set.
 *
 * Thread-safety: every function may be called from any thread between
 * kt_notify_create and kt_notify_destroy. Lock order: the notifier's lock
 * is a leaf (kt_mon.h), never held while calling the store or libcurl.
 */
#ifndef KT_NOTIFY_H
#define KT_NOTIFY_H

#include <apr_pools.h>
#include <jansson.h>

#include "kt_base.h"
#include "kt_mon.h"
#include "kt_rules.h"
#include "kt_store.h"

typedef struct kt_notify_t kt_notify_t;

#define KT_NOTIFY_QUEUE 4096 /* events waiting for the notifier thread; more are dropped */

/* Makes the notifier for conf's channels (copied). store may be NULL or
 * off: notifications are then kept in memory only. mon (may be NULL) gives
 * the conditions in progress that Alertmanager channels re-send. Nothing
 * is sent before kt_notify_start. */
apr_status_t kt_notify_create(kt_notify_t **out, const kt_conf_t *conf, kt_store_t *store,
                              kt_mon_t *mon, apr_pool_t *pool);
/* Starts the thread; dashboard is the dashboard's URL for links in messages.
 * The pending notifications the store kept are delivered first, and the
 * events it kept as due are routed again: call it before the monitor starts. */
apr_status_t kt_notify_start(kt_notify_t *n, const char *dashboard);
/* A reload: conf's channels and maintenance windows (copied) replace the
 * running ones, and the call returns once the thread has taken them (or
 * after some seconds, KT_EUNAVAIL: they are taken a little later).
 * Nothing is lost: a channel of the same name and kind keeps its queue,
 * its counters, its outbox rows (ids, attempts, backoff) and its attempt
 * in flight, and its new settings (url, headers, secret, timeouts, retry
 * policy, filters) apply from its next attempt; messages already made keep
 * their body. A channel no longer listed, or whose kind changed, has its
 * attempt in flight abandoned and what waits for it marked failed in the
 * outbox ("removed by a reload"), never sent. conf must have passed the
 * loader's checks: a broken configuration never gets here. */
apr_status_t kt_notify_reload(kt_notify_t *n, const kt_conf_t *conf);
/* Stops the thread, abandoning attempts in flight (they stay pending in
 * the outbox), and frees everything. */
void kt_notify_destroy(kt_notify_t *n);

/* A kt_mon_reading_fn: queues the events for the channels (baton: the
 * notifier). Never waits on a receiver or the disk. */
void kt_notify_reading(void *baton, const kt_snap_t *snap, const kt_event_t *events, unsigned n);

/* A kt_mon_mark_fn (baton: the notifier): marks events that a silence or
 * a maintenance window covers, before they are committed. */
void kt_notify_mark(void *baton, kt_event_t *ev, unsigned n);

/* Silences: {silences: [...with state pending, active or expired],
 * maintenance: [{name, open}]}. */
json_t *kt_notify_silences(kt_notify_t *n);
/* Makes a silence from params ({matchers: {type?, severity?, subject?},
 * starts_at?, ends_at | duration_s, comment, created_by?}); stored before it
 * is in force. KT_EINPUT with a message in err, KT_EUNAVAIL when the store
 * refused it. */
apr_status_t kt_notify_silence_add(kt_notify_t *n, json_t *params, const char *who, json_t **out,
                                   char *err, apr_size_t errlen);
/* Ends silence id now; KT_ENOTFOUND when there is none. */
apr_status_t kt_notify_silence_expire(kt_notify_t *n, int64_t id, json_t **out);

/* Queues a test message through channel name; its id in id. KT_ENOTFOUND
 * when there is no such channel, KT_EUNAVAIL when the queue is full. */
apr_status_t kt_notify_test(kt_notify_t *n, const char *name, char id[64]);

/* Every channel's state: [{name, kind, url, queued, in_flight, sent,
 * failed, retried, last_success, last_error, last_error_at}] in
 * {channels, dropped, silences (pending and active), maintenance}. */
json_t *kt_notify_json(kt_notify_t *n);
/* Changes whenever anything kt_notify_json shows changes (cache keys). */
uint64_t kt_notify_generation(kt_notify_t *n);

typedef struct {
    char name[72];          /* a copy: a reload may take the channel away */
    unsigned queued;        /* waiting or in flight */
    uint64_t sent, failed, retried;
} kt_notify_counts_t;
/* Up to max channels' counters into out; returns the number of channels. */
unsigned kt_notify_counts(kt_notify_t *n, kt_notify_counts_t *out, unsigned max);

/* kotod --test-notify: one attempt through channel name now, waiting for
 * the answer; what happened in msg. APR_SUCCESS when it was delivered. */
apr_status_t kt_notify_send_test(const kt_conf_t *conf, const char *name, char *msg,
                                 apr_size_t len, apr_pool_t *pool);

#endif
