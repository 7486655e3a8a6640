/*
 * token.c - kotod --token add NAME [--scope S] | revoke NAME | list: the
 * API's named tokens in STATE_DIR/tokens (kt_api.h). The state directory is
 * the one the daemon would use (the command line, else the configuration
 * file, else the default), so a running kotod sees the change at its next
 * request. A new token is printed once on stdout; only its hash is kept.
 */
#include "daemon.h"

#include <stdio.h>
#include <string.h>

#include "kt_api.h"

int kt_run_token(const kt_opts_t *o, apr_pool_t *pool)
{
    kt_rules_t *rules;
    kt_conf_t conf;
    if (kt_daemon_load(o, &rules, &conf, pool))
        return 1;
    kt_rules_release(rules);
    char err[600] = "";
    char serr[128];
    apr_status_t st = kt_sys_private_dir(conf.state_dir, pool);
    if (st != APR_SUCCESS) {
        fprintf(stderr, "kotod: cannot create the state directory %s: %s\n", conf.state_dir,
                kt_strerror(st, serr, sizeof serr));
        return 1;
    }
    if (strcmp(o->token_action, "add") == 0) {
        unsigned scopes;
        const char *want = o->token_scope ? o->token_scope : "read,propose";
        if (kt_api_scopes_parse(want, &scopes) != APR_SUCCESS) {
            fprintf(stderr, "kotod: --scope wants read, propose and control, comma separated, "
                            "not '%s'\n", want);
            return 2;
        }
        const char *token;
        if ((st = kt_api_token_add(conf.state_dir, o->token_name, scopes, &token, err, sizeof err,
                                   pool)) != APR_SUCCESS) {
            fprintf(stderr, "kotod: %s\n", err);
            return 1;
        }
        printf("%s\n", token);
        fprintf(stderr, "kotod: token '%s' (%s) added; it is shown only now: send it as "
                        "Authorization: Bearer <token>\n",
                o->token_name, kt_api_scopes_name(scopes, pool));
        return 0;
    }
    if (strcmp(o->token_action, "revoke") == 0) {
        if ((st = kt_api_token_revoke(conf.state_dir, o->token_name, err, sizeof err, pool)) !=
            APR_SUCCESS) {
            fprintf(stderr, "kotod: %s\n", err);
            return 1;
        }
        fprintf(stderr, "kotod: token '%s' revoked\n", o->token_name);
        return 0;
    }
    json_t *list;
    if ((st = kt_api_token_list(conf.state_dir, &list, pool)) != APR_SUCCESS) {
        fprintf(stderr, "kotod: cannot read the tokens in %s: %s\n", conf.state_dir,
                kt_strerror(st, serr, sizeof serr));
        return 1;
    }
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
        printf("%-24s %s\n", json_string_value(json_object_get(t, "name")),
               json_string_value(json_object_get(t, "scopes")));
    json_decref(list);
    return 0;
}
