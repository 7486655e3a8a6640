/*
 * main.c - kotod: parse options, then print one sample (--once), replay
 * readings through the rules (--test-rules), check the configuration (-t),
 * or serve the way this system runs daemons (kt_serve: unixd.c, win32/).
 */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>

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
    if (o.replay)
        return kt_run_replay(&o, pool);
    if (o.test_notify)
        return kt_run_test_notify(&o, pool);
    if (o.token_action)
        return kt_run_token(&o, pool);
    if (o.check)
        return kt_check_config(&o, pool);
    return kt_serve(&o, pool);
}
