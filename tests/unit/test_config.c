/*
 * test_config.c - koto.conf.lua through the rules engine's loader: values
 * land where config.c says, mistakes name file and line, and the sandbox
 * holds for the configuration file too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_general.h>

#include "kt_rules.h"

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    strcpy(dir, "/tmp/koto-conf-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char sub[128];
    snprintf(sub, sizeof sub, "%s/rules", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/templates", dir);
    mkdir(sub, 0700);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Loads dir with conf_text as koto.conf.lua; returns the status, err filled. */
static apr_status_t load(const char *conf_text, kt_conf_t *out, char *err, size_t len)
{
    write_file("koto.conf.lua", conf_text);
    kt_conf_t base = {.listen = "127.0.0.1:5000", .script_os = "auto"};
    kt_mon_conf_defaults(&base.mon);
    kt_rules_opts_t opts = {.dir = dir};
    kt_rules_t *r;
    apr_status_t st = kt_rules_load(&r, &opts, &base, err, len);
    if (st == APR_SUCCESS) {
        apr_pool_t *pool;
        apr_pool_create(&pool, NULL);
        kt_conf_copy(out, kt_rules_conf(r), pool); /* leaked with the test: fine */
        kt_rules_release(r);
    }
    return st;
}

static void test_defaults_when_silent(void **state)
{
    kt_conf_t c;
    char err[512];
    assert_int_equal(load("-- nothing set\n", &c, err, sizeof err), APR_SUCCESS);
    assert_int_equal(c.mon.interval_ms, 30000);
    assert_true(c.mon.cpu.threshold == 85.0);
    assert_string_equal(c.listen, "127.0.0.1:5000");
}

static void test_values_land(void **state)
{
    kt_conf_t c;
    char err[512];
    assert_int_equal(load("interval_ms = 1000\n"
                          "interval_ms = interval_ms * 2 -- later lines see earlier ones\n"
                          "thresholds = {\n"
                          "  cpu = { threshold = 70, hold_samples = 3 },\n"
                          "  disk = { threshold = 80 },\n"
                          "  filesystems = { ['/var'] = { threshold = 95 } },\n"
                          "}\n"
                          "listen = '[::1]:5001'\n"
                          "script_os = 'windows'\n",
                          &c, err, sizeof err),
                     APR_SUCCESS);
    assert_int_equal(c.mon.interval_ms, 2000);
    assert_true(c.mon.cpu.threshold == 70.0);
    assert_int_equal(c.mon.cpu.hold_samples, 3);
    assert_true(c.mon.cpu.clear_margin == 5.0); /* unset: the default stays */
    assert_int_equal(c.mon.ndisk_overrides, 1);
    assert_string_equal(c.mon.disk_overrides[0].mount_point, "/var");
    assert_true(c.mon.disk_overrides[0].rule.threshold == 95.0);
    assert_true(c.mon.disk_overrides[0].rule.clear_margin == 2.0); /* inherits disk */
    assert_string_equal(c.listen, "[::1]:5001");
    assert_string_equal(c.script_os, "windows");
}

static void expect_error(const char *text, const char *want)
{
    kt_conf_t c;
    char err[512], full[512];
    assert_int_not_equal(load(text, &c, err, sizeof err), APR_SUCCESS);
    snprintf(full, sizeof full, "%s/koto.conf.lua:%s", dir, want);
    if (strcmp(err, full) != 0)
        fail_msg("want \"%s\"\ngot  \"%s\"", full, err);
}

static void test_mistakes_name_file_and_line(void **state)
{
    expect_error("interval_ms = 1000\n\ninterval_ms = 50\n",
                 "3: interval_ms must be a whole number from 100 to 86400000");
    /* A table spanning lines is reported where its assignment ends. */
    expect_error("thresholds = {\n cpu = { threshold = 150 },\n}\n",
                 "3: thresholds.cpu.threshold must be a number from 0 to 100");
    expect_error("intervall_ms = 5\n",
                 "1: unknown setting 'intervall_ms' (kotod --help-config lists them)");
    expect_error("thresholds = { cpu = { treshold = 90 } }\n",
                 "1: unknown setting 'thresholds.cpu.treshold' (kotod --help-config lists them)");
    expect_error("listen = 5000\n", "1: listen must be a non-empty string");
    /* Found by fuzz_config: a NUL made it "" in C. */
    expect_error("listen = '\\0\\0[::1]:0'\n", "1: listen must not contain a NUL byte");
    expect_error("interval_ms = 1.5\n",
                 "1: interval_ms must be a whole number from 100 to 86400000");
    expect_error("x = = 1\n", "1: unexpected symbol near '='");
    expect_error("os.execute('touch /tmp/koto-pwned')\n", "1: unknown name 'os'");
    expect_error("local f = io.open('/etc/passwd')\n", "1: unknown name 'io'");
    expect_error("thresholds = { filesystems = { var = { threshold = 1 } } }\n",
                 "1: thresholds.filesystems keys are mount points (\"/var\") and values tables");
}

static void test_cross_field_checks(void **state)
{
    kt_conf_t c;
    char err[512], want[512];
    assert_int_not_equal(load("thresholds = { memory = { threshold = 10, clear_margin = 20 } }\n",
                              &c, err, sizeof err),
                         APR_SUCCESS);
    snprintf(want, sizeof want,
             "%s/koto.conf.lua:1: memory.clear_margin must be between 0 and the threshold 10 "
             "(got 20)", dir);
    assert_string_equal(err, want);
    assert_int_not_equal(load("script_os = 'beos'\n", &c, err, sizeof err), APR_SUCCESS);
    assert_non_null(strstr(err, "script_os must be auto, linux or windows"));
}

static void test_runaway_config_is_stopped(void **state)
{
    kt_conf_t c;
    char err[512];
    assert_int_not_equal(load("while true do end\n", &c, err, sizeof err), APR_SUCCESS);
    if (!strstr(err, "instruction budget"))
        fail_msg("got \"%s\"", err);
}

/* An error raised without a position still names the file. */
static void test_positionless_errors_name_the_file(void **state)
{
    kt_conf_t c;
    char err[512], want[512];
    assert_int_equal(load("error('oops', 0)\n", &c, err, sizeof err), KT_ESCRIPT);
    snprintf(want, sizeof want, "%s/koto.conf.lua: oops", dir);
    assert_string_equal(err, want);
    assert_int_equal(load("local t = {} while true do t[#t + 1] = {} end\n", &c, err, sizeof err),
                     KT_EMEMCAP);
    snprintf(want, sizeof want, "%s/koto.conf.lua: memory cap", dir);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("want \"%s...\"\ngot  \"%s\"", want, err);
}

/* tls: a table of files, or the one word "self-signed"; half a pair and
 * both forms at once are refused. */
static void test_tls_forms(void **state)
{
    kt_conf_t c;
    char err[512];
    assert_int_equal(load("tls = { cert = '/c.pem', key = '/k.pem', client_ca = '/ca.pem' }\n"
                          "allow_plain_http = true\n",
                          &c, err, sizeof err),
                     APR_SUCCESS);
    assert_string_equal(c.tls_cert, "/c.pem");
    assert_string_equal(c.tls_key, "/k.pem");
    assert_string_equal(c.tls_client_ca, "/ca.pem");
    assert_int_equal(c.tls_self_signed, 0);
    assert_int_equal(c.allow_plain_http, 1);
    assert_int_equal(load("tls = 'self-signed'\n", &c, err, sizeof err), APR_SUCCESS);
    assert_int_equal(c.tls_self_signed, 1);
    assert_null(c.tls_cert);
    expect_error("tls = 'self-signd'\n", "1: tls must be \"self-signed\" or a table { cert = FILE, "
                                        "key = FILE, client_ca = FILE }");
    expect_error("tls = { crt = 'x' }\n",
                 "1: unknown setting 'tls.crt' (kotod --help-config lists them)");
    char full[512];
    assert_int_not_equal(load("tls = { cert = '/c.pem' }\n", &c, err, sizeof err), APR_SUCCESS);
    snprintf(full, sizeof full, "%s/koto.conf.lua: tls needs both cert and key (client_ca only "
                                "with them)", dir);
    assert_string_equal(err, full);
}

static void test_describe_lists_every_setting(void **state)
{
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    kt_conf_describe(f);
    fclose(f);
    const char *keys[] = {"interval_ms", "event_log_size", "thresholds.cpu.threshold",
                          "thresholds.process_memory.hold_samples", "thresholds.filesystems",
                          "listen", "scripts_dir", "script_os", "session_lifetime_s",
                          "session_max", "tls.cert", "tls.client_ca", "tls.self_signed",
                          "allow_plain_http", "(restart to change)"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strstr(buf, keys[i]))
            fail_msg("--help-config lacks %s", keys[i]);
    free(buf);
}

int main(void)
{
    apr_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_when_silent),
        cmocka_unit_test(test_values_land),
        cmocka_unit_test(test_mistakes_name_file_and_line),
        cmocka_unit_test(test_cross_field_checks),
        cmocka_unit_test(test_runaway_config_is_stopped),
        cmocka_unit_test(test_positionless_errors_name_the_file),
        cmocka_unit_test(test_describe_lists_every_setting),
        cmocka_unit_test(test_tls_forms),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    apr_terminate();
    return failed;
}
