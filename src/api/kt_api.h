/*
 * kt_api.h - koto's REST API: the seed's endpoints under /api/agent/, plus
 * /metrics, /healthz and the dashboard, registered on an HTTP server.
 *
 * Handlers only read snapshots and call the monitor's public functions; they
 * hold no state of their own beyond what kt_api_t points to.
 *
 * Access: every endpoint needs a scope (tokens.c): read, propose or
 * control. Anything beyond read needs "Authorization: Bearer <token>" with
 * that scope and must not come from another origin; reads need the token
 * with require_token_always (a non-loopback listener), and for remediations
 * and the audit always. A browser may exchange the token for a session
 * cookie (POST /api/agent/session) that carries the token's scopes; by
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

/* A token's scopes; each implies the ones before it (tokens.c). */
enum { KT_SCOPE_READ = 1u, KT_SCOPE_PROPOSE = 2u, KT_SCOPE_CONTROL = 4u };

typedef struct {
    kt_mon_t *mon;
    kt_rules_cell_t *rules;   /* the rule set in use; a reload replaces it there */
    kt_store_t *store;        /* the event log on disk; NULL or off: from memory */
    kt_notify_t *notify;      /* the notification channels; may be NULL */
    kt_remedy_t *remedy;      /* proposals, approval, runs; NULL: remediation is off */
    const char *token;        /* the default bearer token (control); never NULL */
    const char *state_dir;    /* its "tokens" file names more; NULL: none */
    int require_token_always;
    unsigned session_max;        /* dashboard logins kept at once */
    unsigned session_lifetime_s; /* a login's session lasts this long */
    const char *web_dir;      /* dashboard files; NULL serves a built-in placeholder */
    const char *procfs;       /* Linux: /proc's root for the node_* families read per
                               * page (sockstat, netstat, ...); NULL: "/proc" */
    const char *sysfs;        /* and /sys's, for netclass and hwmon; NULL: "/sys" */
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

/* "read,propose" into scopes (with what each implies); KT_EINPUT for an
 * empty list or an unknown name. */
apr_status_t kt_api_scopes_parse(const char *text, unsigned *scopes);
/* The scopes as "read,propose,control", in pool. */
const char *kt_api_scopes_name(unsigned scopes, apr_pool_t *pool);
/* kotod --token: adds a token named name to STATE_DIR/tokens and returns it
 * (in pool; shown once, only its hash is kept); revokes one; lists them as
 * [{name, scopes}] (the default token first). On failure err says why. */
apr_status_t kt_api_token_add(const char *state_dir, const char *name, unsigned scopes,
                              const char **token, char *err, apr_size_t errlen, apr_pool_t *pool);
apr_status_t kt_api_token_revoke(const char *state_dir, const char *name, char *err,
                                 apr_size_t errlen, apr_pool_t *pool);
apr_status_t kt_api_token_list(const char *state_dir, json_t **out, apr_pool_t *pool);

/* ---- replaying the history (replay_run.c) --------------------------------------------- */

#define KT_REPLAY_MAX_READINGS 20000u  /* readings judged in one replay */
#define KT_REPLAY_MAX_CELLS 4000000    /* series values held at once (32 MB) */
#define KT_REPLAY_MAX_SPANS 10000      /* intervals listed per side */
#define KT_REPLAY_EVENT_PAGES 5        /* pages of 10000 stored events read */

/* Feeds the history stored over [from, to] through rules' thresholds and
 * conditions (rules must be the caller's own: its conditions' state is
 * reset) and sets what would have fired beside the stored events. *out
 * (the caller owns it) is POST /api/agent/rules/replay's answer. KT_EINPUT
 * (a bad range), KT_EUNAVAIL (no store), with why in err. */
/* A time for --from/--to and the API's "from": a span back from now
 * ("90m", "24h", "7d", "2w"; s, m, h, d, w) or epoch milliseconds. */
apr_status_t kt_replay_parse_time(const char *text, apr_time_t now, apr_time_t *out);
apr_status_t kt_replay_run(kt_store_t *store, kt_rules_t *rules, apr_time_t from, apr_time_t to,
                           json_t **out, char *err, apr_size_t errlen);

#endif
