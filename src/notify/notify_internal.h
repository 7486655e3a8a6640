/*
 * notify_internal.h - private to src/notify/: the messages (payload.c),
 * the webhook request (webhook.c) and the worker (notify.c).
 */
#ifndef KT_NOTIFY_INTERNAL_H
#define KT_NOTIFY_INTERNAL_H

#include "kt_notify.h"

#include <curl/curl.h>

/* The JSON body of a webhook for event e (NULL: a test message), malloc'd. */
char *kt__notify_payload(const kt_notify_conf_t *c, const kt_event_t *e, const char *host,
                         const char *dashboard);
/* 1 when channel c wants event e (severity, type, subject, resolved). */
int kt__notify_wants(const kt_notify_conf_t *c, const kt_event_t *e);
/* A new delivery id, "msg_" and 32 hex digits. */
void kt__notify_new_id(char id[64]);

/* One attempt's request, ready for curl_easy_perform or a multi handle:
 * URL, body (borrowed: it must outlive the attempt), signed headers
 * (*hdrs, freed by the caller after the attempt), timeout, errbuf (at
 * least CURL_ERROR_SIZE). NULL when libcurl cannot make one. */
CURL *kt__webhook_request(const kt_notify_conf_t *c, const char *id, const char *body,
                          struct curl_slist **hdrs, char *errbuf);
/* The Standard Webhooks signature "v1,<base64>" of id.timestamp.body
 * keyed with c's secret, into sig. */
void kt__webhook_sign(const kt_notify_conf_t *c, const char *id, long long ts, const char *body,
                      char *sig, apr_size_t len);

typedef enum { KT__SENT, KT__RETRY, KT__FAILED } kt__outcome_t;
/* Judges a finished attempt: res and the HTTP code; why in msg. */
kt__outcome_t kt__notify_judge(CURLcode res, long code, const char *errbuf, char *msg,
                               apr_size_t len);

#endif
