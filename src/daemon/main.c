/*
 * main.c - kotod: parse options, then either print one sample (--once) or
 * run the monitor in the foreground until SIGINT or SIGTERM.
 *
 * Signals: all are blocked before any thread starts (apr_setup_signal_thread)
 * and the main thread takes them synchronously with sigwait
 * (apr_signal_thread), so no code runs in signal-handler context.
 */
#include "daemon.h"

#include <signal.h>
#include <unistd.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_thread_proc.h>

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

/* ==== signals ================================================================ */

static int on_signal(int signum)
{
    switch (signum) {
    case SIGINT:
    case SIGTERM:
        kt_log(KT_LOG_INFO, "%s received, stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
        return 1; /* leave apr_signal_thread */
    case SIGHUP:
        kt_log(KT_LOG_INFO, "SIGHUP received; there is no configuration file to reload yet");
        return 0;
    default:
        return 0;
    }
}

/* ==== the daemon ================================================================ */

static int run_daemon(const kt_opts_t *o, apr_pool_t *pool)
{
    char err[128];
    kt_plat_opts_t popts = {o->nprocfs ? o->procfs[0] : NULL, o->sysfs, o->rootfs, o->top_n};
    kt_plat_t *plat;
    apr_status_t st = kt_plat_open(&plat, &popts, pool);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot open %s: %s", popts.procfs ? popts.procfs : "/proc",
               kt_strerror(st, err, sizeof err));
        return 1;
    }
    kt_mon_conf_t conf;
    kt_mon_conf_defaults(&conf);
    conf.interval_ms = o->interval_ms;
    conf.top_n = o->top_n;

    kt_mon_t *mon;
    unsigned sub;
    if ((st = kt_mon_create(&mon, &conf, plat, pool)) != APR_SUCCESS ||
        (st = kt_mon_subscribe(mon, log_events, NULL, &sub)) != APR_SUCCESS ||
        (st = kt_mon_start(mon)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "cannot start the monitor: %s", kt_strerror(st, err, sizeof err));
        return 1;
    }
    kt_log(KT_LOG_INFO, "kotod %s started: reading %s every %u ms (pid %ld)", KT_VERSION,
           popts.procfs ? popts.procfs : "/proc", conf.interval_ms, (long)getpid());

    apr_signal_thread(on_signal);

    kt_mon_stop(mon);
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

    if (o.once)
        return kt_run_once(&o, pool);
    /* Must precede every thread, so they all inherit the blocked mask. */
    apr_setup_signal_thread();
    return run_daemon(&o, pool);
}
