/*
 * serve.c - the running daemon, the same on every system: the monitor, the
 * HTTP API and the dashboard, started, reloaded and stopped. How the process
 * waits between start and stop (signals, a service control manager, a
 * console) belongs to the system's shell around it: unixd.c, win32/.
 */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "kt_api.h"
#include "kt_notify.h"
#include "kt_store.h"
#include "kt_http.h"

struct kt_daemon_t {
    const kt_opts_t *o;
    apr_pool_t *pool;
    kt_plat_t *plat;
    kt_mon_t *mon;
    kt_http_t *http;
    kt_api_t *api;
    kt_rules_cell_t *rules; /* the set in use; a reload swaps it */
    kt_store_t *store;      /* NULL with store = false */
    kt_notify_t *notify;    /* the notification channels (none configured: idle) */
    kt_remedy_t *remedy;    /* NULL without a store: its audit lives there */
    int exposed;            /* listening beyond loopback: the token for everything */
    kt_conf_t running;
    apr_thread_mutex_t *lock; /* one reload at a time */
};

/* ==== events to the log =================================================== */

static unsigned run_conditions(void *baton, const kt_sample_t *s, kt_mon_verdict_t *out,
                               unsigned max)
{
    kt_rules_t *r = kt_rules_cell_get(baton);
    unsigned n = r ? kt_rules_conditions(r, s, out, max) : 0;
    kt_rules_release(r);
    return n;
}

static void log_events(void *baton, const kt_snap_t *snap, const kt_event_t *events, unsigned n)
{
    (void)baton;
    (void)snap;
    for (unsigned i = 0; i < n; i++) {
        const kt_event_t *e = &events[i];
        kt_log(e->resolved ? KT_LOG_INFO : KT_LOG_WARN, "event %llu %s %s (%s): %s",
               (unsigned long long)e->id, kt_event_type_name(e->type),
               e->resolved ? "resolved" : "started", kt_severity_name(e->severity), e->message);
    }
}

/* At the second reading, the first with rates, the start is over: the code
 * only it ran (loading the Lua files, opening the store) leaves the RSS. */
static void release_start_pages(void *baton, const kt_snap_t *snap, const kt_event_t *events,
                                unsigned n)
{
    (void)baton;
    (void)events;
    (void)n;
    if (kt_snap_seq(snap) != 2)
        return;
    apr_size_t bytes = kt_sys_release_start_pages();
    kt_log(KT_LOG_INFO, "released %lu KiB of memory only the start used",
           (unsigned long)(bytes / 1024));
}

/* ==== configuration checks shared by -t and start-up ========================== */

/* Splits "host:port" or "[v6]:port" (apr_parse_addr_port refuses port 0,
 * which here means "pick a free one"). Returns the host, or NULL when the
 * address is malformed. */
static const char *listen_host(const char *listen, apr_pool_t *pool)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1] || strlen(colon + 1) > 5)
        return NULL;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return NULL;
    if (atoi(colon + 1) > 65535)
        return NULL;
    if (listen[0] == '[')
        return colon[-1] == ']' ? apr_pstrndup(pool, listen + 1, (apr_size_t)(colon - listen - 2))
                                : NULL;
    const char *host = apr_pstrndup(pool, listen, (apr_size_t)(colon - listen));
    return strchr(host, ':') ? NULL : host; /* a bare v6 address needs brackets */
}

/* 1 for 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
static int loopback_listen(const char *listen, apr_pool_t *pool)
{
    const char *host = listen_host(listen, pool);
    return host && (strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
                    strcmp(host, "localhost") == 0);
}

/* ==== TLS: which files, and whether plain HTTP may be served ================== */

typedef struct {
    const char *cert, *key, *client_ca; /* NULL: plain HTTP */
} tls_files_t;

/* The files the configuration names: its own, or the self-signed pair in
 * the state directory. */
static tls_files_t tls_files(const kt_conf_t *conf, apr_pool_t *pool)
{
    tls_files_t t = {conf->tls_cert, conf->tls_key, conf->tls_client_ca};
    if (conf->tls_self_signed) {
        t.cert = kt_sys_join_path(conf->state_dir, "tls-cert.pem", pool);
        t.key = kt_sys_join_path(conf->state_dir, "tls-key.pem", pool);
    }
    return t;
}

/* Names the self-signed certificate is for besides localhost: the listen
 * address when it is one, and server_names. */
static const char *self_signed_names(const kt_conf_t *conf, apr_pool_t *pool)
{
    const char *host = listen_host(conf->listen, pool);
    if (!host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        host = "";
    return apr_pstrcat(pool, host, ",", conf->server_names ? conf->server_names : "", NULL);
}

/* What -t and the start agree on: TLS is possible and its files are good,
 * or plain HTTP stays where only this machine can reach it. Logs the
 * problem and how to fix it; -1. at_start: the self-signed pair is made
 * (-t only looks at it). */
static int check_transport(const kt_conf_t *conf, int at_start, apr_pool_t *pool)
{
    char err[700], info[400], fp[96];
    int tls = conf->tls_cert || conf->tls_self_signed;
    if (!tls) {
        if (loopback_listen(conf->listen, pool) || conf->allow_plain_http)
            return 0;
        kt_log(KT_LOG_ERROR,
               "refusing plain HTTP on %s, which other machines can reach: the API token would "
               "cross the network in clear text. In koto.conf.lua set tls = \"self-signed\" (or "
               "tls = { cert = \"FILE\", key = \"FILE\" }), or listen on 127.0.0.1, or set "
               "allow_plain_http = true when a TLS proxy in front of kotod encrypts",
               conf->listen);
        return -1;
    }
    /* Loaded only now (Linux): a kotod without TLS never maps OpenSSL. */
    if (kt_http_tls_load(kt_default_tls_module(pool), err, sizeof err) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "tls is set, but %s: remove tls from koto.conf.lua and listen on "
                             "127.0.0.1 behind a TLS proxy, or install kotod with its TLS module",
               err);
        return -1;
    }
    tls_files_t t = tls_files(conf, pool);
    if (conf->tls_self_signed && !at_start) {
        if (kt_http_tls_check(t.cert, t.key, t.client_ca, fp, info, sizeof info, err,
                              sizeof err) != APR_SUCCESS)
            kt_log(KT_LOG_INFO, "self-signed TLS: kotod makes %s and %s at start (now: %s)",
                   t.cert, t.key, err);
        else
            kt_log(KT_LOG_INFO, "self-signed TLS certificate %s (%s), SHA-256 fingerprint %s",
                   t.cert, info, fp);
        return 0;
    }
    if (conf->tls_self_signed) {
        int made = 0;
        if (kt_http_tls_self_signed(t.cert, t.key, self_signed_names(conf, pool), &made, err,
                                    sizeof err, pool) != APR_SUCCESS) {
            kt_log(KT_LOG_ERROR, "%s", err);
            return -1;
        }
        if (made)
            kt_log(KT_LOG_INFO, "made a self-signed TLS certificate %s and its key %s", t.cert,
                   t.key);
    }
    if (kt_http_tls_check(t.cert, t.key, t.client_ca, fp, info, sizeof info, err, sizeof err) !=
        APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "%s", err);
        return -1;
    }
    kt_log(KT_LOG_INFO, "TLS certificate %s (%s), SHA-256 fingerprint %s%s%s", t.cert, info, fp,
           t.client_ca ? "; client certificates signed by " : "", t.client_ca ? t.client_ca : "");
    return 0;
}

int kt_daemon_load(const kt_opts_t *o, kt_rules_t **rules, kt_conf_t *conf, apr_pool_t *pool)
{
    char err[600];
    if (kt_setup_load(o, rules, conf, err, sizeof err, pool) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "%s", err);
        return -1;
    }
    if (!listen_host(conf->listen, pool)) {
        kt_log(KT_LOG_ERROR, "--listen '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:5000, [::1]:0)",
               conf->listen);
        kt_rules_release(*rules);
        return -1;
    }
    return 0;
}

/* Creates the state directory (owner only) and loads or makes the token. */
static int prepare_state(const char *state_dir, const char **token, apr_pool_t *pool)
{
    char err[128];
    apr_status_t st = kt_sys_private_dir(state_dir, pool);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot create the state directory %s: %s", state_dir,
               kt_strerror(st, err, sizeof err));
        return -1;
    }
    const char *path = apr_pstrcat(pool, state_dir, KT_PATH_SEP "token", NULL);
    int created;
    st = kt_api_load_token(path, token, &created, pool);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot read or create the API token %s: %s", path,
               kt_strerror(st, err, sizeof err));
        return -1;
    }
    kt_log(KT_LOG_INFO, "API token %s %s (send it as Authorization: Bearer <token>)",
           created ? "created in" : "read from", path);
    return 0;
}

static int have_dir(const char *path, apr_pool_t *pool)
{
    apr_finfo_t fi;
    return apr_stat(&fi, path, APR_FINFO_TYPE, pool) == APR_SUCCESS && fi.filetype == APR_DIR;
}

static const char *plat_source(const kt_opts_t *o)
{
    return o->nprocfs ? o->procfs[0] : KT_PLAT_DEFAULT_SOURCE;
}

/* Opens the platform with the command line's roots; logs why not, -1. */
static int open_plat(const kt_opts_t *o, const kt_conf_t *conf, kt_plat_t **plat,
                     apr_pool_t *pool)
{
    char err[128];
    kt_plat_opts_t popts = {o->nprocfs ? o->procfs[0] : NULL, o->sysfs, o->rootfs,
                            conf->mon.top_n, conf->kept_descriptors};
    apr_status_t st = kt_plat_open(plat, &popts, pool);
    if (st == APR_SUCCESS)
        return 0;
    kt_log(KT_LOG_ERROR, "cannot open %s: %s", plat_source(o), kt_strerror(st, err, sizeof err));
    return -1;
}

/* What -t can tell of the state directory without making anything: the
 * token is readable when it exists, else the start will make both. */
static int check_state(const char *state_dir, apr_pool_t *pool)
{
    char err[128];
    const char *path = apr_pstrcat(pool, state_dir, KT_PATH_SEP "token", NULL);
    apr_finfo_t fi;
    if (apr_stat(&fi, path, APR_FINFO_TYPE, pool) != APR_SUCCESS) {
        kt_log(KT_LOG_INFO, "%s has no API token yet: kotod makes it at start", state_dir);
        return 0;
    }
    apr_file_t *f;
    apr_status_t st = apr_file_open(&f, path, APR_FOPEN_READ, 0, pool);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot read the API token %s: %s", path,
               kt_strerror(st, err, sizeof err));
        return -1;
    }
    apr_file_close(f);
    return 0;
}

/* Whether kotod could listen: an address in use may be this kotod's own
 * (a check before a reload), so that is only said; anything else fails. */
static int check_listen(const char *listen, apr_pool_t *pool)
{
    char err[128];
    apr_status_t st = kt_http_try_bind(listen, pool);
    if (st == APR_SUCCESS)
        return 0;
#ifdef _WIN32
    int in_use = st == APR_FROM_OS_ERROR(WSAEADDRINUSE);
#else
    int in_use = st == APR_FROM_OS_ERROR(EADDRINUSE);
#endif
    if (in_use) {
        kt_log(KT_LOG_WARN, "%s is in use (by a running kotod?): a new one could not listen there",
               listen);
        return 0;
    }
    kt_log(KT_LOG_ERROR, "cannot listen on %s: %s", listen, kt_strerror(st, err, sizeof err));
    return -1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The rule_tests setting's files, each as `kotod --test-rules` runs it;
 * the number that failed. */
static int run_rule_tests(kt_rules_t *rules, const kt_conf_t *conf, apr_pool_t *pool)
{
    if (!conf->rule_tests || !*conf->rule_tests)
        return 0;
    apr_finfo_t fi;
    if (apr_stat(&fi, conf->rule_tests, APR_FINFO_TYPE, pool) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "rule_tests: %s: not found", conf->rule_tests);
        return 1;
    }
    apr_array_header_t *files = apr_array_make(pool, 8, sizeof(const char *));
    if (fi.filetype == APR_DIR) {
        apr_dir_t *d;
        if (apr_dir_open(&d, conf->rule_tests, pool) == APR_SUCCESS) {
            while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
                size_t n = strlen(fi.name);
                if (fi.filetype == APR_REG && n > 5 && strcmp(fi.name + n - 5, ".json") == 0)
                    APR_ARRAY_PUSH(files, const char *) =
                        kt_sys_join_path(conf->rule_tests, fi.name, pool);
            }
            apr_dir_close(d);
        }
        qsort(files->elts, (size_t)files->nelts, sizeof(const char *), cmp_names);
    } else {
        APR_ARRAY_PUSH(files, const char *) = conf->rule_tests;
    }
    int failed = 0;
    for (int i = 0; i < files->nelts; i++) {
        const char *f = APR_ARRAY_IDX(files, i, const char *);
        apr_pool_t *sub;
        apr_pool_create(&sub, pool);
        int rc = kt_test_rules_file(f, rules, conf, sub);
        apr_pool_destroy(sub);
        kt_log(rc ? KT_LOG_ERROR : KT_LOG_INFO, "rule tests %s: %s", f, rc ? "FAILED" : "passed");
        failed += rc != 0;
    }
    return failed;
}

int kt_check_config(const kt_opts_t *o, apr_pool_t *pool)
{
    kt_rules_t *rules;
    kt_conf_t conf;
    kt_plat_t *plat;
    if (kt_daemon_load(o, &rules, &conf, pool))
        return 1;
    kt_log(KT_LOG_INFO, "loaded %s", kt_rules_summary(rules, pool));
    int failed = run_rule_tests(rules, &conf, pool);
    kt_rules_release(rules);
    if (failed)
        return 1;
    if (check_state(conf.state_dir, pool) || check_listen(conf.listen, pool) ||
        check_transport(&conf, 0, pool))
        return 1;
    if (open_plat(o, &conf, &plat, pool))
        return 1;
    kt_plat_close(plat);
    if (!have_dir(conf.web_dir, pool))
        kt_log(KT_LOG_WARN, "dashboard directory %s not found; a placeholder page is served",
               conf.web_dir);
    kt_log(KT_LOG_INFO, "configuration is valid");
    return 0;
}

int kt_run_test_notify(const kt_opts_t *o, apr_pool_t *pool)
{
    kt_rules_t *rules;
    kt_conf_t conf;
    if (kt_daemon_load(o, &rules, &conf, pool))
        return 1;
    char msg[600];
    apr_status_t st = kt_notify_send_test(&conf, o->test_notify, msg, sizeof msg, pool);
    kt_rules_release(rules);
    kt_log(st == APR_SUCCESS ? KT_LOG_INFO : KT_LOG_ERROR, "notify %s: %s", o->test_notify, msg);
    return st == APR_SUCCESS ? 0 : 1;
}

/* ==== reload: SIGHUP, PARAMCHANGE and POST /api/agent/reload ==================== */

/* Restart-only settings that changed are named, not silently ignored. */
static void warn_restart_only(const kt_conf_t *was, const kt_conf_t *now)
{
    const struct {
        const char *name, *a, *b;
    } strs[] = {{"listen", was->listen, now->listen},
                {"state_dir", was->state_dir, now->state_dir},
                {"web_dir", was->web_dir, now->web_dir}};
    for (size_t i = 0; i < KT_ARRAY_SIZE(strs); i++)
        if (strcmp(strs[i].a ? strs[i].a : "", strs[i].b ? strs[i].b : "") != 0)
            kt_log(KT_LOG_WARN, "%s changed to %s; it takes effect at the next restart",
                   strs[i].name, strs[i].b);
    if (was->mon.event_capacity != now->mon.event_capacity ||
        was->mon.history_capacity != now->mon.history_capacity ||
        was->mon.top_n != now->mon.top_n || was->kept_descriptors != now->kept_descriptors)
        kt_log(KT_LOG_WARN, "event_log_size, history_size, top_processes and kept_descriptors "
                            "take effect at the next restart");
}

/* New connections get the certificate the files hold now (renewed in
 * place, or named anew); open ones keep theirs. A certificate that fails
 * its checks is refused and the running one stays. Turning TLS on or off
 * needs a restart: the listener would change its nature under its clients. */
static void reload_tls(kt_daemon_t *d, const kt_conf_t *now, apr_pool_t *pool)
{
    int was = d->running.tls_cert || d->running.tls_self_signed;
    int is = now->tls_cert || now->tls_self_signed;
    if (was != is) {
        kt_log(KT_LOG_WARN, "tls was turned %s; it takes effect at the next restart",
               is ? "on" : "off");
        return;
    }
    if (!is)
        return;
    kt_conf_t c = *now;
    c.state_dir = d->running.state_dir; /* where the self-signed pair lives */
    tls_files_t t = tls_files(&c, pool);
    char err[700], info[400], fp[96];
    if (kt_http_tls_check(t.cert, t.key, t.client_ca, fp, info, sizeof info, err, sizeof err) !=
            APR_SUCCESS ||
        kt_http_tls_reload(d->http, t.cert, t.key, t.client_ca, err, sizeof err) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "TLS certificate not reloaded, the running one stays: %s", err);
        return;
    }
    kt_log(KT_LOG_INFO, "TLS certificate %s reloaded (%s), SHA-256 fingerprint %s", t.cert, info,
           fp);
}

static apr_status_t reload(void *baton, char *err, apr_size_t errlen)
{
    kt_daemon_t *d = baton;
    apr_thread_mutex_lock(d->lock);
    kt_rules_t *rules;
    kt_conf_t conf;
    apr_pool_t *scratch;
    apr_pool_create(&scratch, d->pool);
    apr_status_t rc = kt_setup_load(d->o, &rules, &conf, err, errlen, scratch);
    if (rc != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "reload refused, the running rules stay: %s", err);
        goto done;
    }
    if ((rc = kt_mon_set_conf(d->mon, &kt_rules_conf(rules)->mon)) != APR_SUCCESS) {
        snprintf(err, errlen, "the thresholds were refused by the monitor");
        kt_rules_release(rules);
        goto done;
    }
    warn_restart_only(&d->running, kt_rules_conf(rules));
    reload_tls(d, kt_rules_conf(rules), scratch);
    kt_rules_cell_set(d->rules, rules);
    /* The notify channels and the maintenance windows: after the rules,
     * which the loader checked with them, so a broken list never gets here
     * and the running channels stay. */
    if (kt_notify_reload(d->notify, kt_rules_conf(rules)) != APR_SUCCESS)
        kt_log(KT_LOG_WARN, "the notifier is busy; the new notify list takes effect in a moment");
    if (d->store) {
        kt_store_opts_t so = kt_setup_store_opts(kt_rules_conf(rules), scratch);
        kt_store_set_retention(d->store, &so);
    }
    kt_api_settings_changed(d->api);
    kt_log(KT_LOG_INFO, "reloaded: %s", kt_rules_summary(rules, scratch));
    kt_rules_release(rules);
done:
    apr_pool_destroy(scratch);
    apr_thread_mutex_unlock(d->lock);
    return rc;
}

apr_status_t kt_daemon_reload(kt_daemon_t *d)
{
    char err[600];
    return reload(d, err, sizeof err);
}

/* ==== the store: what outlives a run ================================================ */

/* Where the store is and whether there is one, by the names the
 * configuration file gives them, and the user directory whose file may say
 * otherwise. */
static const char *const store_keys[] = {"state_dir", "store", "user_dir", NULL};

struct kt_early_store_t {
    kt_opts_t o; /* a copy: a start that fails returns from main before the end of pool */
    apr_pool_t *pool;
    apr_thread_t *thread; /* until joined */
    kt_store_t *store;    /* open on path, or NULL */
    const char *path;
};

static void *APR_THREAD_FUNC open_early(apr_thread_t *t, void *data)
{
    (void)t;
    kt_early_store_t *e = data;
    kt_conf_t conf;
    if (kt_setup_peek(&e->o, store_keys, &conf, e->pool) != APR_SUCCESS || !conf.store)
        return NULL;
    /* Tentatively: a start the load refuses then makes no file and
     * deletes, migrates or moves aside nothing. A first start, or one on a
     * file to migrate or recover, opens it in its turn. */
    kt_store_opts_t so = kt_setup_store_opts(&conf, e->pool);
    so.tentative = 1; /* the settings are the start's to give */
    kt_store_t *s;
    kt_store_info_t info;
    if (kt_store_open(&s, &so, e->pool) != APR_SUCCESS)
        return NULL;
    kt_store_info(s, &info);
    if (info.state == KT_STORE_OFF) {
        kt_store_close(s);
    } else {
        e->store = s;
        e->path = so.path;
    }
    return NULL; /* not apr_thread_exit: its forced unwind upsets ASan */
}

static void join_early(kt_early_store_t *e)
{
    apr_status_t ignored;
    if (e->thread)
        apr_thread_join(&ignored, e->thread);
    e->thread = NULL;
}

static apr_status_t end_early(void *e)
{
    join_early(e);
    return APR_SUCCESS;
}

kt_early_store_t *kt_daemon_open_store_early(const kt_opts_t *o, apr_pool_t *pool)
{
    apr_pool_t *sub;
    if (apr_pool_create(&sub, pool) != APR_SUCCESS)
        return NULL;
    kt_early_store_t *e = apr_pcalloc(sub, sizeof *e);
    e->o = *o;
    e->pool = sub;
    /* Before the store's own pool, a child of this one, goes. */
    apr_pool_pre_cleanup_register(sub, e, end_early);
    if (apr_thread_create(&e->thread, NULL, open_early, e, sub) != APR_SUCCESS)
        e->thread = NULL; /* kt_daemon_start opens it */
    return e;
}

/* The store opened early when it is the file path (NULL when the settings
 * want none), else NULL, and the early one closed. */
static kt_store_t *take_early(kt_early_store_t *e, const char *path)
{
    if (!e)
        return NULL;
    join_early(e);
    kt_store_t *s = e->store;
    e->store = NULL;
    if (s && path && strcmp(e->path, path) == 0) {
        kt_log(KT_LOG_DEBUG, "store %s: opened while the rules loaded", path);
        return s;
    }
    if (s) {
        /* A file whose settings changed between its two runs (math.random). */
        kt_log(KT_LOG_DEBUG, "store %s: opened while the rules loaded, but the settings want %s",
               e->path, path ? path : "no store");
        kt_store_close(s);
    }
    return NULL;
}

/* Opens STATE_DIR/koto.db (or takes the one opened early) and lets the
 * monitor go on where the last run stopped. A store that cannot use its
 * file is still returned (off), and kotod runs from memory. */
static int open_store(kt_daemon_t *d, const kt_conf_t *conf, kt_early_store_t *early)
{
    kt_store_opts_t so = kt_setup_store_opts(conf, d->pool);
    char err[128];
    apr_status_t st = APR_SUCCESS;
    if ((d->store = take_early(early, so.path)))
        kt_store_set_retention(d->store, &so);
    else
        st = kt_store_open(&d->store, &so, d->pool);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot start the store: %s", kt_strerror(st, err, sizeof err));
        return -1;
    }
    kt_store_info_t info;
    kt_store_info(d->store, &info);
    if (info.state == KT_STORE_OFF)
        return 0;
    if (kt_store_follow(d->store, d->mon) != APR_SUCCESS)
        kt_log(KT_LOG_ERROR, "store: readings cannot be recorded; the history stays empty");
    apr_time_t saved_at;
    json_t *state = kt_store_get_state(d->store, &saved_at);
    uint64_t last = kt_store_last_event_id(d->store);
    unsigned carried = kt_mon_restore(d->mon, last, state);
    json_decref(state);
    kt_log(KT_LOG_INFO, "store %s: %llu events, last id %llu; %u conditions in progress carried over",
           so.path, (unsigned long long)info.events, (unsigned long long)last, carried);
    return 0;
}

/* ==== start and stop ============================================================ */

static apr_status_t release_rules(void *rules)
{
    kt_rules_release(rules);
    return APR_SUCCESS;
}

int kt_daemon_start(kt_daemon_t **out, const kt_opts_t *o, kt_rules_t *rules,
                    const kt_conf_t *conf, kt_early_store_t *early, apr_pool_t *pool)
{
    char err[128];
    const char *token;
    /* Our reference lives as long as the pool, whichever way we leave. */
    apr_pool_cleanup_register(pool, rules, release_rules, apr_pool_cleanup_null);
    if (prepare_state(conf->state_dir, &token, pool))
        return -1;

    kt_daemon_t *d = apr_pcalloc(pool, sizeof *d);
    d->o = o;
    d->pool = pool;
    d->running = *conf;
    apr_thread_mutex_create(&d->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (open_plat(o, conf, &d->plat, pool))
        return -1;
    unsigned sub;
    apr_status_t st;
    if ((st = kt_mon_create(&d->mon, &conf->mon, d->plat, pool)) != APR_SUCCESS ||
        (st = kt_mon_subscribe(d->mon, log_events, NULL, &sub)) != APR_SUCCESS ||
        (st = kt_mon_subscribe(d->mon, release_start_pages, NULL, &sub)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot create the monitor: %s", kt_strerror(st, err, sizeof err));
        return -1;
    }
    if (!conf->store)
        take_early(early, NULL); /* closes what the file's first look opened */
    else if (open_store(d, conf, early))
        return -1;
    /* After the store (its outbox) and before the sampler starts. */
    kt_store_info_t si = {.state = KT_STORE_OFF};
    if (d->store)
        kt_store_info(d->store, &si);
    if ((st = kt_notify_create(&d->notify, conf, si.state == KT_STORE_OFF ? NULL : d->store, d->mon,
                               pool)) != APR_SUCCESS ||
        /* Even with no channel: a reload may add some. */
        (st = kt_mon_subscribe(d->mon, kt_notify_reading, d->notify, &sub)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot set up notifications: %s", kt_strerror(st, err, sizeof err));
        return -1;
    }
    kt_mon_set_marker(d->mon, kt_notify_mark, d->notify);

    if (check_transport(conf, 1, pool))
        return -1;
    kt_http_conf_t hconf;
    kt_http_conf_defaults(&hconf);
    hconf.listen = conf->listen;
    hconf.server_names = conf->server_names;
    tls_files_t tls = tls_files(conf, pool);
    hconf.tls_cert = tls.cert;
    hconf.tls_key = tls.key;
    hconf.tls_client_ca = tls.client_ca;
    const char *scheme = tls.cert ? "https" : "http";
    int have_web = have_dir(conf->web_dir, pool);
    d->exposed = !loopback_listen(conf->listen, pool);
    if ((st = kt_rules_cell_create(&d->rules, pool)) != APR_SUCCESS)
        return -1;
    kt_rules_cell_set(d->rules, rules);
    /* The set in the cell judges its conditions at each reading; a reload
     * swaps the set, and the monitor keeps the state of every condition
     * whose file did not change. */
    kt_mon_set_conditions(d->mon, run_conditions, d->rules);
    if (si.state != KT_STORE_OFF) {
        kt_remedy_opts_t ro = {d->store, d->rules,
                               o->config_file ? o->config_file
                                              : kt_sys_join_path(o->lua_dir ? o->lua_dir
                                                                            : kt_default_lua_dir(pool),
                                                                 "koto.conf.lua", pool),
                               d->mon};
        if ((st = kt_remedy_create(&d->remedy, &ro, pool)) != APR_SUCCESS) {
            kt_log(KT_LOG_ERROR, "cannot start the remediation runner: %s",
                   kt_strerror(st, err, sizeof err));
            return -1;
        }
    } else {
        kt_log(KT_LOG_INFO, "remediation is off: it needs the store for its audit");
    }
    kt_api_opts_t aopts = {
        .mon = d->mon,
        .rules = d->rules,
        .store = d->store,
        .notify = d->notify,
        .remedy = d->remedy,
        .token = token,
        .state_dir = conf->state_dir,
        .require_token_always = d->exposed,
        .session_max = conf->session_max,
        .session_lifetime_s = conf->session_lifetime_s,
        .web_dir = have_web ? conf->web_dir : NULL,
        .procfs = d->o->nprocfs ? d->o->procfs[0] : NULL,
        .sysfs = d->o->sysfs,
        .reload = reload,
        .reload_baton = d,
    };
    if (!have_web)
        kt_log(KT_LOG_WARN, "dashboard directory %s not found; serving a placeholder page",
               conf->web_dir);
    if ((st = kt_http_create(&d->http, &hconf, pool)) != APR_SUCCESS ||
        (st = kt_api_create(&d->api, d->http, &aopts, pool)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot set up the API: %s", kt_strerror(st, err, sizeof err));
        return -1;
    }
    kt_log(KT_LOG_INFO, "loaded %s", kt_rules_summary(rules, pool));
    if ((st = kt_http_start(d->http)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot serve on %s: %s", conf->listen,
               kt_strerror(st, err, sizeof err));
        kt_api_unregister(d->api);
        return -1;
    }
    if (d->exposed)
        kt_log(KT_LOG_WARN, "%s is reachable from other machines: every request needs the token",
               kt_http_address(d->http));
    const char *dashboard =
        apr_psprintf(pool, "%s://%s/monitoring-dashboard", scheme, kt_http_address(d->http));
    if ((st = kt_notify_start(d->notify, dashboard)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot start the notifier: %s", kt_strerror(st, err, sizeof err));
        kt_http_stop(d->http);
        kt_api_unregister(d->api);
        return -1;
    }
    if (conf->nnotify)
        kt_log(KT_LOG_INFO, "notifying %u channel%s", conf->nnotify, conf->nnotify == 1 ? "" : "s");
    if ((st = kt_mon_start(d->mon)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot start the monitor: %s", kt_strerror(st, err, sizeof err));
        kt_http_stop(d->http);
        kt_api_unregister(d->api);
        return -1;
    }
    kt_log(KT_LOG_INFO, "kotod %s started: reading %s every %u ms, dashboard at %s://%s/monitoring-dashboard (pid %ld)",
           KT_VERSION, plat_source(o), conf->mon.interval_ms, scheme, kt_http_address(d->http),
           (long)kt_getpid());
    *out = d;
    return 0;
}

const char *kt_daemon_address(const kt_daemon_t *d) { return kt_http_address(d->http); }

void kt_daemon_stop(kt_daemon_t *d)
{
    kt_http_stop(d->http);
    kt_api_unregister(d->api);
    /* Before the monitor it subscribes to and the store it writes to; a
     * script running now is ended (its group killed) and recorded so. */
    kt_remedy_destroy(d->remedy);
    kt_mon_destroy(d->mon);
    kt_notify_destroy(d->notify); /* before the store: its outbox */
    kt_store_close(d->store); /* after the monitor: its last events are written */
    kt_plat_close(d->plat);
    kt_log(KT_LOG_INFO, "stopped");
}
