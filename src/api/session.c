/*
 * session.c - the dashboard's login: the token exchanged for a session cookie.
 *
 * A browser cannot send a bearer token with a page load or an EventSource,
 * so on a listener that needs the token for everything the dashboard would
 * be unreachable. POST /api/agent/session takes the token once and answers
 * a cookie (HttpOnly: the page's scripts never see it; Secure; SameSite=
 * Strict: another site's page never sends it) naming a session kept here, in
 * memory, bounded in number; a restart ends every session.
 *
 * The cookie authenticates whatever the browser sends, so a request that
 * changes state by cookie must also carry the session's CSRF token in
 * X-CSRF-Token: the page reads it from GET /api/agent/session, another
 * origin cannot. A bearer-token request needs none (no browser adds the
 * header by itself).
 *
 * Failed logins are counted per client address: past FAILS_ALLOWED within
 * FAIL_WINDOW the address is answered 429 until the window ends, the right
 * token included, and each failure is logged with the address.
 */
#include "api_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#define SECRET_BYTES 32
#define SECRET_HEX (SECRET_BYTES * 2)
#define COOKIE_NAME "koto_session"
#define FAILS_ALLOWED 5
#define FAIL_WINDOW apr_time_from_sec(60)
#define FAIL_SLOTS 256 /* addresses remembered; the oldest window makes room */

typedef struct {
    char id[SECRET_HEX + 1];
    char csrf[SECRET_HEX + 1];
    char token[KT__TOKEN_NAME_MAX + 1]; /* the name of the token it logged in with */
    apr_time_t expires; /* 0: the slot is free */
} session_t;

typedef struct {
    char addr[64];
    apr_time_t since; /* the window's start; 0: the slot is free */
    unsigned fails;
    int told; /* its refusals were logged once: a flood of them is not */
} fails_t;

struct kt__sessions_t {
    apr_thread_mutex_t *lock; /* guards everything below */
    apr_interval_time_t lifetime;
    unsigned max;
    session_t *s;
    fails_t fails[FAIL_SLOTS];
};

apr_status_t kt__sessions_create(kt__sessions_t **out, unsigned max, unsigned lifetime_s,
                                 apr_pool_t *pool)
{
    kt__sessions_t *ss = apr_pcalloc(pool, sizeof *ss);
    ss->max = max ? max : 64;
    ss->lifetime = apr_time_from_sec(lifetime_s ? lifetime_s : 12 * 3600);
    ss->s = apr_pcalloc(pool, ss->max * sizeof *ss->s);
    apr_status_t st = apr_thread_mutex_create(&ss->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (st == APR_SUCCESS)
        *out = ss;
    return st;
}

/* ---- Private ---------------------------------------------------------- */

static apr_status_t random_hex(char out[SECRET_HEX + 1])
{
    unsigned char raw[SECRET_BYTES];
    apr_status_t st = apr_generate_random_bytes(raw, sizeof raw);
    if (st != APR_SUCCESS)
        return st;
    for (int i = 0; i < SECRET_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return APR_SUCCESS;
}

/* The koto_session value of the Cookie header, or NULL; *len its length. */
static const char *cookie_value(kt_http_req_t *req, apr_size_t *len)
{
    const char *h = kt_http_header(req, "Cookie");
    for (const char *p = h; p && *p;) {
        p += strspn(p, "; \t");
        apr_size_t n = strcspn(p, ";");
        if (n > sizeof COOKIE_NAME && strncmp(p, COOKIE_NAME "=", sizeof COOKIE_NAME) == 0) {
            *len = n - sizeof COOKIE_NAME;
            while (*len && (p[sizeof COOKIE_NAME + *len - 1] == ' ' ||
                            p[sizeof COOKIE_NAME + *len - 1] == '\t'))
                (*len)--;
            return p + sizeof COOKIE_NAME;
        }
        p += n;
    }
    return NULL;
}

/* The live session the request's cookie names, or NULL; expired ones are
 * freed on the way. Call with the lock held. */
static session_t *find_locked(kt__sessions_t *ss, kt_http_req_t *req, apr_time_t now)
{
    apr_size_t len = 0;
    const char *v = cookie_value(req, &len);
    session_t *found = NULL;
    for (unsigned i = 0; i < ss->max; i++) {
        session_t *s = &ss->s[i];
        if (s->expires && s->expires <= now)
            s->expires = 0;
        /* Every slot is compared, so the time taken says nothing of which matched. */
        if (s->expires && v && kt__api_same_secret(v, len, s->id))
            found = s;
    }
    return found;
}

/* The client's address without its port: what failures are counted by. */
static const char *client_addr(kt_http_req_t *req)
{
    const char *r = kt_http_remote(req);
    apr_pool_t *pool = kt_http_pool(req);
    if (*r == '[') {
        const char *end = strchr(r, ']');
        return end ? apr_pstrmemdup(pool, r + 1, (apr_size_t)(end - r - 1)) : r;
    }
    const char *colon = strrchr(r, ':');
    return colon ? apr_pstrmemdup(pool, r, (apr_size_t)(colon - r)) : r;
}

/* The slot of addr (a fresh one when make), or NULL. Lock held. */
static fails_t *fails_of(kt__sessions_t *ss, const char *addr, apr_time_t now, int make)
{
    fails_t *room = NULL; /* a free slot, else the oldest window */
    for (unsigned i = 0; i < FAIL_SLOTS; i++) {
        fails_t *f = &ss->fails[i];
        if (f->since && now - f->since >= FAIL_WINDOW)
            f->since = 0; /* that window is over */
        if (f->since && strcmp(f->addr, addr) == 0)
            return f;
        if (!room || (room->since && f->since < room->since))
            room = f;
    }
    if (!make)
        return NULL;
    apr_cpystrn(room->addr, addr, sizeof room->addr);
    room->since = now;
    room->fails = 0;
    room->told = 0;
    return room;
}

static void set_cookie(kt_http_req_t *req, const char *value, long max_age)
{
    kt_http_set_header(req, "Set-Cookie",
                       apr_psprintf(kt_http_pool(req),
                                    COOKIE_NAME "=%s; HttpOnly; Secure; SameSite=Strict; Path=/; "
                                    "Max-Age=%ld",
                                    value, max_age));
}

/* The token from {"token": "..."} or an Authorization: Bearer header. */
static const char *offered_token(kt_http_req_t *req, apr_size_t *len)
{
    const char *h = kt_http_header(req, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        *len = strlen(h + 7);
        return h + 7;
    }
    apr_size_t blen;
    const char *body = kt_http_body(req, &blen);
    json_t *j = blen ? json_loadb(body, blen, 0, NULL) : NULL;
    const char *t = NULL;
    if (json_is_string(json_object_get(j, "token"))) {
        *len = json_string_length(json_object_get(j, "token"));
        t = apr_pstrmemdup(kt_http_pool(req), json_string_value(json_object_get(j, "token")),
                           *len);
    }
    json_decref(j);
    return t;
}

/* ---- Internal ---------------------------------------------------------- */

/* Without the cookie there is nothing to look up: no lock taken, which
 * matters on the loop thread (inline routes check access there too). */
static int has_cookie(kt_http_req_t *req)
{
    apr_size_t len;
    return cookie_value(req, &len) != NULL;
}

/* A copy of the request's live session, the token's scopes now (0: no
 * session, or its token was revoked, which ends it). */
static unsigned session_of(kt_api_t *api, kt_http_req_t *req, session_t *out)
{
    kt__sessions_t *ss = api->sessions;
    if (!has_cookie(req))
        return 0;
    apr_thread_mutex_lock(ss->lock);
    session_t *s = find_locked(ss, req, apr_time_now());
    if (s)
        *out = *s;
    apr_thread_mutex_unlock(ss->lock);
    if (!s)
        return 0;
    unsigned scopes = kt__api_named_scopes(api, out->token);
    if (!scopes) {
        apr_thread_mutex_lock(ss->lock);
        if ((s = find_locked(ss, req, apr_time_now())) != NULL)
            s->expires = 0;
        apr_thread_mutex_unlock(ss->lock);
        kt_log(KT_LOG_INFO, "session of token '%s' ended: the token was revoked", out->token);
    }
    return scopes;
}

unsigned kt__session_scopes(kt_api_t *api, kt_http_req_t *req, char name[KT__TOKEN_NAME_MAX + 1])
{
    session_t s;
    unsigned scopes = session_of(api, req, &s);
    if (name)
        memcpy(name, scopes ? s.token : "", scopes ? sizeof s.token : 1);
    return scopes;
}

int kt__session_allow(kt_api_t *api, kt_http_req_t *req, unsigned scope, int changes_state)
{
    session_t s;
    unsigned have = session_of(api, req, &s);
    if (!have)
        return -1;
    if (!(have & scope)) {
        kt__api_refuse_scope(req, scope, have);
        return 0;
    }
    if (!changes_state)
        return 1;
    const char *h = kt_http_header(req, "X-CSRF-Token");
    if (h && kt__api_same_secret(h, strlen(h), s.csrf))
        return 1;
    kt_http_reply_error(req, 403, "csrf",
                        "%s", h ? "the X-CSRF-Token header does not match this session"
                                : "a request that changes state by session cookie needs the "
                                  "session's X-CSRF-Token header (GET /api/agent/session)");
    return 0;
}

/* ---- Handlers ---------------------------------------------------------- */

static void login_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    kt__sessions_t *ss = api->sessions;
    if (kt__api_cross_origin(api, req)) {
        kt_http_reply_error(req, 403, "cross_origin",
                            "a login must come from this host's own pages");
        return;
    }
    const char *addr = client_addr(req);
    apr_time_t now = apr_time_now();

    apr_thread_mutex_lock(ss->lock);
    fails_t *f = fails_of(ss, addr, now, 0);
    long wait_s = f && f->fails >= FAILS_ALLOWED
                      ? (long)apr_time_sec(f->since + FAIL_WINDOW - now + apr_time_from_sec(1) - 1)
                      : 0;
    int tell = wait_s > 0 && !f->told;
    if (tell)
        f->told = 1;
    apr_thread_mutex_unlock(ss->lock);
    if (wait_s > 0) {
        kt_log(tell ? KT_LOG_WARN : KT_LOG_DEBUG,
               "login from %s refused: too many failed logins; it waits %ld s", addr, wait_s);
        kt_http_set_header(req, "Retry-After", apr_ltoa(kt_http_pool(req), wait_s));
        kt_http_reply_error(req, 429, "too_many_logins",
                            "too many failed logins from %s; try again in %ld s", addr, wait_s);
        return;
    }

    apr_size_t len = 0;
    const char *t = offered_token(req, &len);
    session_t fresh = {0};
    unsigned scopes = t ? kt__api_token_scopes(api, t, len, fresh.token) : 0;
    if (!scopes) {
        apr_thread_mutex_lock(ss->lock);
        f = fails_of(ss, addr, now, 1);
        unsigned n = ++f->fails;
        apr_thread_mutex_unlock(ss->lock);
        kt_log(KT_LOG_WARN, "login from %s refused: %s (%u of %u within a minute)", addr,
               t ? "wrong token" : "no token", n, FAILS_ALLOWED);
        kt_http_reply_error(req, 401, "unauthorized",
                            "%s", t ? "the token is not valid"
                                    : "send the token as {\"token\": \"...\"}; kotod logged the "
                                      "token file's path at start");
        return;
    }

    if (random_hex(fresh.id) != APR_SUCCESS || random_hex(fresh.csrf) != APR_SUCCESS) {
        kt_http_reply_error(req, 500, "no_random", "the system's random source failed");
        return;
    }
    fresh.expires = now + ss->lifetime;
    int evicted = 0;
    apr_thread_mutex_lock(ss->lock);
    f = fails_of(ss, addr, now, 0);
    if (f)
        f->since = 0; /* the right token: its failures are forgiven */
    find_locked(ss, req, now); /* frees expired slots */
    session_t *slot = &ss->s[0];
    for (unsigned i = 0; i < ss->max; i++) {
        if (!ss->s[i].expires) {
            slot = &ss->s[i];
            break;
        }
        if (ss->s[i].expires < slot->expires)
            slot = &ss->s[i];
    }
    evicted = slot->expires != 0;
    *slot = fresh;
    apr_thread_mutex_unlock(ss->lock);

    const char *granted = kt_api_scopes_name(scopes, kt_http_pool(req));
    kt_log(KT_LOG_INFO, "login from %s with token '%s' (%s): a session for %ld s%s", addr,
           fresh.token, granted, (long)apr_time_sec(ss->lifetime),
           evicted ? " (the oldest session ended to make room)" : "");
    set_cookie(req, fresh.id, (long)apr_time_sec(ss->lifetime));
    kt_http_reply_json(req, 200,
                       json_pack("{s:b s:s s:I s:s s:s}", "session", 1, "csrf_token", fresh.csrf,
                                 "expires_in_s", (json_int_t)apr_time_sec(ss->lifetime), "token",
                                 fresh.token, "scopes", granted));
}

static void status_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    session_t s;
    unsigned scopes = session_of(api, req, &s);
    json_t *j = json_pack("{s:b s:b}", "session", scopes != 0, "token_required",
                          api->require_token_always);
    if (scopes) {
        apr_time_t left = s.expires - apr_time_now();
        json_object_set_new(j, "csrf_token", json_string(s.csrf));
        json_object_set_new(j, "expires_in_s", json_integer((json_int_t)apr_time_sec(left)));
        json_object_set_new(j, "token", json_string(s.token));
        json_object_set_new(j, "scopes", json_string(kt_api_scopes_name(scopes, kt_http_pool(req))));
    }
    kt_http_reply_json(req, 200, j);
}

static void logout_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    kt__sessions_t *ss = api->sessions;
    /* Any session may end itself (with its CSRF token); without one, this
     * is a control request that ends nothing. */
    if (kt__api_cross_origin(api, req)) {
        kt_http_reply_error(req, 403, "cross_origin", "a logout must come from this host's own pages");
        return;
    }
    int by_session = kt__session_allow(api, req, KT_SCOPE_READ, 1);
    if (by_session == 0 || (by_session < 0 && !kt__api_allow(api, req, KT_SCOPE_CONTROL)))
        return;
    apr_thread_mutex_lock(ss->lock);
    session_t *s = find_locked(ss, req, apr_time_now());
    if (s)
        s->expires = 0;
    apr_thread_mutex_unlock(ss->lock);
    if (s)
        kt_log(KT_LOG_INFO, "logout from %s", client_addr(req));
    set_cookie(req, "", 0);
    kt_http_reply_json(req, 200, json_pack("{s:b}", "ended", s != NULL));
}

void kt__api_session_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "POST", "/api/agent/session", login_handler, api);
    kt_http_route(http, "GET", "/api/agent/session", status_handler, api);
    kt_http_route(http, "DELETE", "/api/agent/session", logout_handler, api);
}
