/*
 * fuzz_config.c - libFuzzer target: bytes as koto.conf.lua, loaded as
 * kotod loads it at start and on reload: kt_rules_load on a directory
 * holding the file (and empty rules/ and templates/, so each input costs
 * the configuration only), over setup.c's built-in defaults. The file is
 * Lua run in the sandbox (src/rules/state.c, sandbox.c), its assignments
 * checked against the table of settings (src/rules/config.c).
 *
 * Properties, besides no crash, leak or undefined behaviour:
 *  - refused: with a message;
 *  - accepted: the settings pass the monitor's own check, script_os is one
 *    of its three words, every string setting is non-empty, and a deep
 *    copy (kt_conf_copy) lists the same settings (kt_conf_to_json) as the
 *    original.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_general.h>
#include <jansson.h>

#include "kt_base.h"
#include "kt_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;
static char dir[] = "/tmp/koto-fuzz-config-XXXXXX";
static char conf_path[sizeof dir + 32];
static char rules_dir[sizeof dir + 32], templates_dir[sizeof dir + 32];

static void fini(void)
{
    unlink(conf_path);
    rmdir(rules_dir);
    rmdir(templates_dir);
    rmdir(dir);
    apr_pool_destroy(root);
    apr_terminate();
}

static void init(void)
{
    apr_initialize();
    kt_log_set_level(KT_LOG_ERROR);
    apr_pool_create(&root, NULL);
    if (!mkdtemp(dir))
        abort();
    snprintf(conf_path, sizeof conf_path, "%s/koto.conf.lua", dir);
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", dir);
    snprintf(templates_dir, sizeof templates_dir, "%s/templates", dir);
    if (mkdir(rules_dir, 0700) || mkdir(templates_dir, 0700))
        abort();
    atexit(fini);
}

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void check_accepted(const kt_conf_t *conf)
{
    char msg[300];
    if (kt_mon_conf_check(&conf->mon, msg, sizeof msg) != APR_SUCCESS)
        broken("accepted settings the monitor refuses", msg);
    if (!conf->script_os || (strcmp(conf->script_os, "auto") != 0 &&
                             strcmp(conf->script_os, "linux") != 0 &&
                             strcmp(conf->script_os, "windows") != 0))
        broken("accepted a script_os that is not auto, linux or windows", conf->script_os);
    const char *strings[] = {conf->listen, conf->state_dir, conf->scripts_dir, conf->web_dir,
                             conf->user_dir};
    for (size_t i = 0; i < KT_ARRAY_SIZE(strings); i++)
        if (strings[i] && !*strings[i])
            broken("accepted an empty string setting", NULL);
    apr_pool_t *p;
    apr_pool_create(&p, root);
    kt_conf_t copy;
    kt_conf_copy(&copy, conf, p);
    json_t *a = kt_conf_to_json(conf), *b = kt_conf_to_json(&copy);
    if (!json_is_array(a) || !json_equal(a, b))
        broken("a copy of the settings lists other settings", NULL);
    json_decref(a);
    json_decref(b);
    apr_pool_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root)
        init();
    FILE *f = fopen(conf_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    /* setup.c's defaults: what the file does not set keeps these. */
    kt_conf_t base = {.listen = "127.0.0.1:5000", .web_dir = "/nonexistent/web",
                      .script_os = "auto"};
    kt_mon_conf_defaults(&base.mon);
    kt_rules_opts_t opts = {.dir = dir};
    kt_rules_t *r;
    char err[600] = "";
    if (kt_rules_load(&r, &opts, &base, err, sizeof err) != APR_SUCCESS) {
        if (!*err)
            broken("refused without a message", NULL);
        return 0;
    }
    check_accepted(kt_rules_conf(r));
    kt_rules_release(r);
    return 0;
}
