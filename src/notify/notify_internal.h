/*
 * notify_internal.h - private to src/notify/: the messages (payload.c),
 * the webhook request (webhook.c) and the worker (notify.c).
 */
#ifndef KT_NOTIFY_INTERNAL_H
#define KT_NOTIFY_INTERNAL_H

#include "kt_notify.h"

#include "curl_api.h"

/* The JSON body of a webhook for event e (NULL: a test message), malloc'd. */
char *kt__notify_payload(const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                         const char *dashboard);
/* The body for n events folded by a group window (one: as above; reminder:
 * the condition still holds), koto's JSON or Alertmanager's. */
char *kt__notify_payload_many(const kt_notify_conf_t *c, const kt_event_t *ev, unsigned n,
                              int reminder, const char *host, const char *dashboard);
/* 1 when channel c wants event e (severity, type, subject, resolved). */
int kt__notify_wants(const kt_notify_conf_t *c, const kt_event_t *e);
/* A new delivery id, "msg_" and 32 hex digits. */
#define KT__ID_LEN 40 /* msg_, 32 hex digits, NUL */
void kt__notify_new_id(char id[KT__ID_LEN]);

/* One attempt's request, ready for curl_easy_perform or a multi handle:
 * URL, body (borrowed: it must outlive the attempt), signed headers
 * (*hdrs, freed by the caller after the attempt), timeout, errbuf (at
 * least CURL_ERROR_SIZE). NULL when libcurl cannot make one. */
CURL *kt__webhook_request(const kt_notify_conf_t *c, const char *url, const char *id,
                          const char *body, struct curl_slist **hdrs, char *errbuf);
/* Where channel c's requests go (malloc'd): alertmanager's push API under its URL. */
char *kt__notify_target(const kt_notify_conf_t *c);
/* The Standard Webhooks signature "v1,<base64>" of id.timestamp.body
 * keyed with c's secret, into sig. */
void kt__webhook_sign(const kt_notify_conf_t *c, const char *id, long long ts, const char *body,
                      char *sig, apr_size_t len);

/* ---- alertmanager.c ---- */

/* t as RFC 3339 with milliseconds, UTC. */
json_t *kt__rfc3339(apr_time_t t);
/* Alertmanager's fingerprint of a label set: 16 hex digits. */
void kt__am_fingerprint(json_t *labels, char out[17]);
/* Records event e in a push channel's table (firing, escalated, resolved)
 * and returns the POST /api/v2/alerts body for it (malloc'd). */
char *kt__am_event(json_t *table, const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                   const char *dashboard);
/* The periodic re-send: the table's alerts, with the monitor's conditions in
 * progress (h, may be NULL) added and those gone resolved; resolved ones
 * drop out after a while. NULL when there is nothing to send. */
char *kt__am_resend(json_t *table, const kt_notify_conf_t *c, const kt_mon_health_t *h,
                    const char *host, const char *dashboard);
/* A test alert (koto_test, ending in 5 minutes) for a push channel. */
char *kt__am_test(const kt_notify_conf_t *c, const char *host, const char *dashboard);
/* Alertmanager's webhook payload (version 4) for e (NULL: a test). */
char *kt__am_webhook(const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                     const char *dashboard);

typedef enum { KT__SENT, KT__RETRY, KT__FAILED } kt__outcome_t;

/* ---- email.c ---- */

/* What libcurl reads an upload from. */
typedef struct {
    const char *data;
    size_t len, pos;
} kt__upload_t;
/* The whole message (headers and plain-text body, CRLF) for e (NULL: a
 * test), with Message-ID <id@host>; malloc'd. */
char *kt__email_message(const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                        const char *dashboard, const char *id);
char *kt__email_message_many(const kt_notify_conf_t *c, const kt_event_t *ev, unsigned n,
                             int reminder, const char *host, const char *dashboard,
                             const char *id);
/* The SMTP attempt: body read through *up, recipients in *rcpts (freed by
 * the caller after the attempt). */
CURL *kt__email_request(const kt_notify_conf_t *c, const char *body, kt__upload_t *up,
                        struct curl_slist **rcpts, char *errbuf);
/* 5xx replies and a refused login fail at once; the rest is retried. */
kt__outcome_t kt__notify_judge_smtp(CURLcode res, long code, const char *errbuf, char *msg,
                                    apr_size_t len);
/* Judges a finished attempt: res and the HTTP code; why in msg. */
kt__outcome_t kt__notify_judge(CURLcode res, long code, const char *errbuf, char *msg,
                               apr_size_t len);

#endif
