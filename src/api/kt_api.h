/*
 * kt_api.h - koto's REST API: the seed's endpoints under /api/agent/, plus
 * /metrics, /healthz and the dashboard, registered on an HTTP server.
 *
 * Handlers only read snapshots and call the monitor's public functions; they
 * hold no state of their own beyond what kt_api_t points to.
 *
 * Access: anything that changes state needs "Authorization: Bearer <token>"
 * and must not come from another origin; with require_token_always (a
 * non-loopback listener) every endpoint needs the token.
 */
#ifndef KT_API_H
#define KT_API_H

#include <apr_thread_mutex.h>

#include "kt_http.h"
#include "kt_mon.h"
#include "kt_rules.h"

typedef struct kt__cache_t kt__cache_t;
typedef struct kt__stream_hub_t kt__stream_hub_t;

typedef struct {
    kt_mon_t *mon;
    kt_http_t *http;          /* for its request counters in /metrics */
    const char *token;        /* the bearer token; never NULL */
    int require_token_always;
    const char *web_dir;      /* dashboard files; NULL serves a built-in placeholder */
    apr_time_t started;
    /* Reloads configuration, rules and templates (POST /api/agent/reload);
     * 0 on success, else a "file:line: what" message in err. */
    int (*reload)(void *baton, char *err, apr_size_t errlen);
    void *reload_baton;

    /* Set by kt_api_register / kt_api_set_rules. */
    unsigned stream_sub;
    kt__stream_hub_t *stream_hub; /* the live stream's clients (stream.c) */
    apr_thread_mutex_t *rules_lock;
    kt_rules_t *rules;        /* the set in use; NULL until one is set */
    kt__cache_t *status_cache, *metrics_cache;
} kt_api_t;

/* Makes rules the set the endpoints use (retained; the previous one is
 * released once the requests using it are done), and tells the live
 * stream's clients that the settings changed ("event: config"). */
void kt_api_set_rules(kt_api_t *api, kt_rules_t *rules);

/* Adds every route to http (before kt_http_start); api must outlive the
 * server. Allocates its small state in pool. */
apr_status_t kt_api_register(kt_http_t *http, kt_api_t *api, apr_pool_t *pool);
/* Drops the monitor subscription; call after kt_http_stop, before the
 * monitor is destroyed. */
void kt_api_unregister(kt_api_t *api);

/* Reads the token from path, or creates it (32 random bytes, hex, mode 0600)
 * when the file does not exist. The token is allocated in pool. */
apr_status_t kt_api_load_token(const char *path, const char **token, int *created,
                               apr_pool_t *pool);

/* Gives directory path (the state directory) a protected DACL granting
 * full access to SYSTEM and Administrators only, inherited by what is
 * created inside; on Windows. Elsewhere a no-op returning APR_SUCCESS (the
 * directory's mode is the caller's). Temporary allocations in pool. */
apr_status_t kt_api_protect_dir(const char *path, apr_pool_t *pool);

#endif
