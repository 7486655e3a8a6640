/*
 * main.c - kotod: parse options, then print one sample (--once), check the
 * configuration (-t), or serve: the monitor, the HTTP API and the dashboard,
 * in the foreground (or detached with -d) until SIGINT or SIGTERM.
 *
 * Signals: all are blocked before any thread starts (apr_setup_signal_thread)
 * and the main thread takes them synchronously with sigwait
 * (apr_signal_thread), so no code runs in signal-handler context.
 */
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "kt_api.h"
#include "kt_http.h"

/* ==== events to the log =================================================== */

static void log_events(void *baton, const kt_snap_t *snap, const kt_event_t *events, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const kt_event_t *e = &events[i];
        kt_log(e->resolved ? KT_LOG_INFO : KT_LOG_WARN, "event %llu %s %s (%s): %s",
               (unsigned long long)e->id, kt_event_type_name(e->type),
               e->resolved ? "resolved" : "started", kt_severity_name(e->severity), e->message);
    }
}

/* ==== reload: SIGHUP and POST /api/agent/reload ============================== */

/* What a reload needs; one daemon per process, reached from the signal
 * callback, which takes no baton. */
typedef struct {
    const kt_opts_t *o;
    apr_pool_t *pool;
    kt_mon_t *mon;
    kt_api_t *api;
    kt_conf_t running;
    apr_thread_mutex_t *lock; /* one reload at a time */
} daemon_t;

static daemon_t *the_daemon;

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
        was->mon.history_capacity != now->mon.history_capacity || was->mon.top_n != now->mon.top_n)
        kt_log(KT_LOG_WARN, "event_log_size, history_size and top_processes take effect at the "
                            "next restart");
}

static int reload(void *baton, char *err, apr_size_t errlen)
{
    daemon_t *d = baton;
    apr_thread_mutex_lock(d->lock);
    kt_rules_t *rules;
    kt_conf_t conf;
    apr_pool_t *scratch;
    apr_pool_create(&scratch, d->pool);
    int rc = -1;
    if (kt_setup_load(d->o, &rules, &conf, err, errlen, scratch) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "reload refused, the running rules stay: %s", err);
        goto done;
    }
    if (kt_mon_set_conf(d->mon, &kt_rules_conf(rules)->mon) != APR_SUCCESS) {
        snprintf(err, errlen, "the thresholds were refused by the monitor");
        kt_rules_release(rules);
        goto done;
    }
    warn_restart_only(&d->running, kt_rules_conf(rules));
    kt_api_set_rules(d->api, rules);
    kt_log(KT_LOG_INFO, "reloaded: %s", kt_rules_summary(rules, scratch));
    kt_rules_release(rules);
    rc = 0;
done:
    apr_pool_destroy(scratch);
    apr_thread_mutex_unlock(d->lock);
    return rc;
}

/* ==== signals ================================================================ */

static int on_signal(int signum)
{
    char err[600];
    switch (signum) {
    case SIGINT:
    case SIGTERM:
        kt_log(KT_LOG_INFO, "%s received, stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
        return 1; /* leave apr_signal_thread */
    case SIGHUP:
        kt_log(KT_LOG_INFO, "SIGHUP received: reloading configuration, rules and templates");
        kt_notify_reloading();
        if (the_daemon)
            reload(the_daemon, err, sizeof err);
        kt_notify_reloaded();
        return 0;
    default:
        return 0;
    }
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

static int check_listen(const char *listen, apr_pool_t *pool)
{
    if (!listen_host(listen, pool)) {
        kt_log(KT_LOG_ERROR, "--listen '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:5000, [::1]:0)",
               listen);
        return -1;
    }
    return 0;
}

/* Creates the state directory (owner only) and loads or makes the token. */
static int prepare_state(const char *state_dir, const char **token, apr_pool_t *pool)
{
    char err[128];
    apr_status_t st = apr_dir_make_recursive(state_dir, APR_FPROT_OS_DEFAULT & 0700, pool);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot create the state directory %s: %s", state_dir,
               kt_strerror(st, err, sizeof err));
        return -1;
    }
    const char *path = apr_pstrcat(pool, state_dir, "/token", NULL);
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

/* Loads settings and rules; logs the problem and returns -1 on failure. */
static int load_setup(const kt_opts_t *o, kt_rules_t **rules, kt_conf_t *conf, apr_pool_t *pool)
{
    char err[600];
    if (kt_setup_load(o, rules, conf, err, sizeof err, pool) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "%s", err);
        return -1;
    }
    if (check_listen(conf->listen, pool) != 0) {
        kt_rules_release(*rules);
        return -1;
    }
    return 0;
}

static int check_config(const kt_opts_t *o, apr_pool_t *pool)
{
    const char *token;
    kt_rules_t *rules;
    kt_conf_t conf;
    kt_plat_opts_t popts = {o->nprocfs ? o->procfs[0] : NULL, o->sysfs, o->rootfs, 5};
    kt_plat_t *plat;
    char err[128];
    apr_status_t st;
    if (load_setup(o, &rules, &conf, pool))
        return 1;
    kt_log(KT_LOG_INFO, "loaded %s", kt_rules_summary(rules, pool));
    kt_rules_release(rules);
    if (prepare_state(conf.state_dir, &token, pool))
        return 1;
    if ((st = kt_plat_open(&plat, &popts, pool)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot open %s: %s", popts.procfs ? popts.procfs : "/proc",
               kt_strerror(st, err, sizeof err));
        return 1;
    }
    kt_plat_close(plat);
    apr_finfo_t fi;
    if (apr_stat(&fi, conf.web_dir, APR_FINFO_TYPE, pool) != APR_SUCCESS || fi.filetype != APR_DIR)
        kt_log(KT_LOG_WARN, "dashboard directory %s not found; a placeholder page is served",
               conf.web_dir);
    kt_log(KT_LOG_INFO, "configuration is valid");
    return 0;
}

/* ==== the daemon ================================================================ */

static apr_status_t release_rules(void *rules)
{
    kt_rules_release(rules);
    return APR_SUCCESS;
}

static int run_daemon(const kt_opts_t *o, apr_pool_t *pool)
{
    char err[128];
    const char *token;
    kt_rules_t *rules;
    kt_conf_t conf;
    if (load_setup(o, &rules, &conf, pool))
        return 1;
    if (prepare_state(conf.state_dir, &token, pool)) {
        kt_rules_release(rules);
        return 1;
    }
    const char *pidfile = o->pidfile ? o->pidfile
                                     : apr_pstrcat(pool, conf.state_dir, "/kotod.pid", NULL);
    if (o->daemonize) {
        /* The rules were loaded to report mistakes on the terminal; the
         * detached child loads them again (the parent exits in between). */
        kt_rules_release(rules);
        if (kt_daemonize(pidfile) != 0 || load_setup(o, &rules, &conf, pool))
            return 1;
    }
    /* Our reference lives as long as the process pool, whichever way we leave. */
    apr_pool_cleanup_register(pool, rules, release_rules, apr_pool_cleanup_null);
    if (o->syslog && !o->daemonize)
        kt_log_use_syslog();
    /* Must precede every thread, so they all inherit the blocked mask. */
    apr_setup_signal_thread();

    kt_plat_opts_t popts = {o->nprocfs ? o->procfs[0] : NULL, o->sysfs, o->rootfs,
                            conf.mon.top_n};
    kt_plat_t *plat;
    apr_status_t st = kt_plat_open(&plat, &popts, pool);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot open %s: %s", popts.procfs ? popts.procfs : "/proc",
               kt_strerror(st, err, sizeof err));
        return 1;
    }
    kt_mon_t *mon;
    unsigned sub;
    if ((st = kt_mon_create(&mon, &conf.mon, plat, pool)) != APR_SUCCESS ||
        (st = kt_mon_subscribe(mon, log_events, NULL, &sub)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot create the monitor: %s", kt_strerror(st, err, sizeof err));
        return 1;
    }

    kt_http_conf_t hconf;
    kt_http_conf_defaults(&hconf);
    hconf.listen = conf.listen;
    apr_finfo_t fi;
    int have_web = apr_stat(&fi, conf.web_dir, APR_FINFO_TYPE, pool) == APR_SUCCESS &&
                   fi.filetype == APR_DIR;
    daemon_t d = {.o = o, .pool = pool, .mon = mon, .running = conf};
    apr_thread_mutex_create(&d.lock, APR_THREAD_MUTEX_DEFAULT, pool);
    kt_api_t api = {
        .mon = mon,
        .token = token,
        .require_token_always = !loopback_listen(conf.listen, pool),
        .web_dir = have_web ? conf.web_dir : NULL,
        .started = apr_time_now(),
        .reload = reload,
        .reload_baton = &d,
    };
    d.api = &api;
    if (!have_web)
        kt_log(KT_LOG_WARN, "dashboard directory %s not found; serving a placeholder page",
               conf.web_dir);
    kt_http_t *http;
    if ((st = kt_http_create(&http, &hconf, pool)) != APR_SUCCESS ||
        (st = kt_api_register(http, &api, pool)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot set up the API: %s", kt_strerror(st, err, sizeof err));
        return 1;
    }
    kt_api_set_rules(&api, rules);
    kt_log(KT_LOG_INFO, "loaded %s", kt_rules_summary(rules, pool));
    if ((st = kt_http_start(http)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot serve on %s: %s", conf.listen, kt_strerror(st, err, sizeof err));
        kt_api_unregister(&api);
        return 1;
    }
    if (api.require_token_always)
        kt_log(KT_LOG_WARN, "%s is reachable from other machines: every request needs the token",
               kt_http_address(http));
    if ((st = kt_mon_start(mon)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot start the monitor: %s", kt_strerror(st, err, sizeof err));
        kt_http_stop(http);
        kt_api_unregister(&api);
        return 1;
    }
    the_daemon = &d;
    kt_log(KT_LOG_INFO, "kotod %s started: reading %s every %u ms, dashboard at http://%s/monitoring-dashboard (pid %ld)",
           KT_VERSION, popts.procfs ? popts.procfs : "/proc", conf.mon.interval_ms,
           kt_http_address(http), (long)getpid());
    kt_notify_ready(kt_http_address(http));

    apr_signal_thread(on_signal);

    the_daemon = NULL;
    kt_notify_stopping();
    kt_http_stop(http);
    kt_api_unregister(&api);
    kt_mon_destroy(mon);
    kt_plat_close(plat);
    kt_log(KT_LOG_INFO, "stopped");
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_status_t st = apr_app_initialize(&argc, &argv, NULL);
    if (st != APR_SUCCESS)
        return 1;
    atexit(apr_terminate);
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    apr_pool_tag(pool, "process");

    kt_opts_t o;
    int r = kt_opts_parse(&o, argc, argv, pool);
    if (r != 0)
        return r > 0 ? 0 : 2;
    kt_log_set_level(o.log_level);

    if (o.help_config) {
        kt_conf_describe(stdout);
        return 0;
    }
    if (o.once)
        return kt_run_once(&o, pool);
    if (o.test_rules)
        return kt_run_test_rules(&o, pool);
    if (o.check)
        return check_config(&o, pool);
    return run_daemon(&o, pool);
}
