/*
 * kt_api.h - koto's REST API: the seed's endpoints under /api/agent/, plus
 * /metrics, /healthz and the dashboard, registered on an HTTP server.
 *
 * Handlers only read snapshots and call the monitor's public functions; they
 * hold no state of their own beyond what kt_api_t points to.
 *
 * Access: anything that changes state needs "Authorization: Bearer <token>"
 * and must not come from another origin; with require_token_always (a
 * non-loopback listener) every endpoint needs the token. A browser may
 * exchange the token for a session cookie (POST /api/agent/session); by
 * cookie, a change of state also needs the session's X-CSRF-Token header.
 */
#ifndef KT_API_H
#define KT_API_H

#include "kt_http.h"
#include "kt_mon.h"
#include "kt_notify.h"
#include "kt_rules.h"
#include "kt_remedy.h"
#include "kt_store.h"

typedef struct kt_api_t kt_api_t;

typedef struct {
    kt_mon_t *mon;
    kt_rules_cell_t *rules;   /* the rule set in use; a reload replaces it there */
    kt_store_t *store;        /* the event log on disk; NULL or off: from memory */
    kt_notify_t *notify;      /* the notification channels; may be NULL */
    kt_remedy_t *remedy;      /* proposals, approval, runs; NULL: remediation is off */
    const char *token;        /* the bearer token; never NULL */
    int require_token_always;
    unsigned session_max;        /* dashboard logins kept at once */
    unsigned session_lifetime_s; /* a login's session lasts this long */
    const char *web_dir;      /* dashboard files; NULL serves a built-in placeholder */
    /* Reloads configuration, rules and templates (POST /api/agent/reload):
     * APR_SUCCESS, or a status with a "file:line: what" message in err. */
    apr_status_t (*reload)(void *baton, char *err, apr_size_t errlen);
    void *reload_baton;
} kt_api_opts_t;

/* Adds every route to http (before kt_http_start). The API keeps what opts
 * points to (it must outlive the server) and allocates its state in pool. */
apr_status_t kt_api_create(kt_api_t **out, kt_http_t *http, const kt_api_opts_t *opts,
                           apr_pool_t *pool);
/* Tells the live stream's clients that the settings changed ("event:
 * config"; GET /api/agent/config has them): call after a reload applied. */
void kt_api_settings_changed(kt_api_t *api);
/* Drops the monitor subscription; call after kt_http_stop, before the
 * monitor is destroyed. */
void kt_api_unregister(kt_api_t *api);

/* Reads the token from path, or creates it (32 random bytes, hex, mode 0600)
 * when the file does not exist. The token is allocated in pool. */
apr_status_t kt_api_load_token(const char *path, const char **token, int *created,
                               apr_pool_t *pool);

#endif
