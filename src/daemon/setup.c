/*
 * setup.c - what kotod runs with: built-in defaults, then the configuration
 * file (with the rules and templates beside it), then the command line,
 * which wins because it is what the person typed just now. The result is
 * copied into the caller's pool: it outlives the rule set it came with.
 */
#include "daemon.h"

#include <apr_strings.h>

/* The built-in defaults. */
static void defaults(kt_conf_t *base, apr_pool_t *pool)
{
    *base = (kt_conf_t){
        .listen = "127.0.0.1:5000",
        .web_dir = kt_default_web_dir(pool),
        .script_os = "auto",
        .store = 1,
        .store_event_days = 90,
        .store_max_events = 100000,
        .store_max_mb = 256,
        .history_raw_hours = 48,
        .history_minute_days = 30,
        .history_hour_days = 730,
        .kept_descriptors = KT_PLAT_KEPT_FDS,
        .metrics = "both",
        .remedy_timeout_s = 60,
        .remedy_output_kb = 64,
        .remedy_expiry_s = 900,
        .remedy_verify_readings = 3,
        .session_lifetime_s = 12 * 3600,
        .session_max = 64,
    };
    kt_mon_conf_defaults(&base->mon);
}

/* What the command line says over the file, and what follows from both. */
static void command_line(kt_conf_t *conf, const kt_opts_t *o, apr_pool_t *pool)
{
    if (o->listen)
        conf->listen = o->listen;
    if (o->state_dir)
        conf->state_dir = o->state_dir;
    if (o->web_dir)
        conf->web_dir = o->web_dir;
    if (o->interval_ms)
        conf->mon.interval_ms = o->interval_ms;
    if (o->top_n)
        conf->mon.top_n = o->top_n;
    if (!conf->state_dir)
        conf->state_dir = kt_default_state_dir(pool);
    if (!conf->scripts_dir)
        conf->scripts_dir = apr_pstrcat(pool, conf->state_dir, KT_PATH_SEP "scripts", NULL);
}

static kt_rules_opts_t rules_opts(const kt_opts_t *o)
{
    return (kt_rules_opts_t){.dir = o->lua_dir, .user_dir = o->user_dir,
                             .config_file = o->config_file};
}

apr_status_t kt_setup_peek(const kt_opts_t *o, const char *const *keys, kt_conf_t *conf,
                           apr_pool_t *pool)
{
    kt_rules_opts_t ropts = rules_opts(o);
    defaults(conf, pool);
    apr_status_t st = kt_rules_conf_peek(conf, &ropts, keys, pool);
    /* As kt_setup_load: a file that names a user directory gives way to
     * that directory's own, if it has one. */
    if (st == APR_SUCCESS && !o->user_dir && conf->user_dir) {
        ropts.user_dir = conf->user_dir;
        defaults(conf, pool);
        st = kt_rules_conf_peek(conf, &ropts, keys, pool);
    }
    command_line(conf, o, pool);
    return st;
}

kt_store_opts_t kt_setup_store_opts(const kt_conf_t *c, apr_pool_t *pool)
{
    return (kt_store_opts_t){.path = kt_sys_join_path(c->state_dir, "koto.db", pool),
                             .event_days = c->store_event_days,
                             .max_events = c->store_max_events,
                             .max_mb = c->store_max_mb,
                             .raw_hours = c->history_raw_hours,
                             .minute_days = c->history_minute_days,
                             .hour_days = c->history_hour_days};
}

apr_status_t kt_setup_load(const kt_opts_t *o, kt_rules_t **rules, kt_conf_t *conf, char *err,
                           apr_size_t errlen, apr_pool_t *pool)
{
    kt_conf_t base;
    defaults(&base, pool);
    kt_rules_opts_t ropts = rules_opts(o);
    apr_status_t st = kt_rules_load(rules, &ropts, &base, err, errlen);
    if (st != APR_SUCCESS)
        return st;
    kt_conf_copy(conf, kt_rules_conf(*rules), pool);
    /* The file may name a user directory: load again with it. */
    if (!o->user_dir && conf->user_dir) {
        ropts.user_dir = conf->user_dir;
        kt_rules_t *with_user;
        if ((st = kt_rules_load(&with_user, &ropts, &base, err, errlen)) != APR_SUCCESS) {
            kt_rules_release(*rules);
            return st;
        }
        kt_rules_release(*rules);
        *rules = with_user;
        kt_conf_copy(conf, kt_rules_conf(with_user), pool);
    }
    command_line(conf, o, pool);
    kt_rules_set_conf(*rules, conf);
    return APR_SUCCESS;
}
