/*
 * test_rules.c - the shipped analysis rules (lua/rules/) on written
 * snapshots (tests/fixtures/snapshots), and the sandbox they run in: the
 * instruction budget, the memory cap, the missing globals, read-only
 * libraries, load errors naming file:line, user files replacing shipped
 * ones. Ends with the cost of one analysis pass (printed, not asserted).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_general.h>

#include "kt_rules.h"
#include "rules_internal.h" /* the second thread's part of a build */

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers -------------------------------------------------------------------------- */

static kt_rules_t *shipped; /* lua/ alone, loaded once */

/* The set of Lua directory dir and user directory udir (or none); NULL,
 * with why in err when err is not NULL, when it does not load. */
static kt_rules_t *load_dirs(const char *dir, const char *udir, char *err, size_t errlen)
{
    kt_conf_t base = {.listen = "127.0.0.1:0", .script_os = "auto"};
    kt_mon_conf_defaults(&base.mon);
    kt_rules_opts_t o = {.dir = dir, .user_dir = udir};
    kt_rules_t *r = NULL;
    char buf[600];
    if (!err) {
        err = buf;
        errlen = sizeof buf;
    }
    err[0] = '\0';
    if (kt_rules_load(&r, &o, &base, err, errlen) != APR_SUCCESS)
        return NULL;
    return r;
}

static kt_rules_t *load_set(const char *udir, char *err, size_t errlen)
{
    return load_dirs(KT_LUA_DIR, udir, err, errlen);
}

static kt_rules_t *must_load(const char *udir)
{
    char err[600];
    kt_rules_t *r = load_set(udir, err, sizeof err);
    if (!r)
        fail_msg("kt_rules_load: %s", err);
    return r;
}

/* A snapshot file; its "history" (if any) is taken out into *history. */
static json_t *snapshot(const char *name, json_t **history)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.json", KT_SNAPSHOTS_DIR, name);
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        fail_msg("%s:%d: %s", path, je.line, je.text);
    *history = json_incref(json_object_get(doc, "history"));
    json_object_del(doc, "history");
    return doc;
}

static json_t *analyze_snapshot(kt_rules_t *r, const char *name)
{
    json_t *history;
    json_t *s = snapshot(name, &history);
    json_t *out = kt_rules_analyze_json(r, s, history);
    json_decref(s);
    json_decref(history);
    assert_non_null(out);
    return out;
}

/* The first finding of rule, or NULL. */
static json_t *finding_of(json_t *findings, const char *rule)
{
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        const char *name = json_string_value(json_object_get(f, "rule"));
        if (name && strcmp(name, rule) == 0)
            return f;
    }
    return NULL;
}

static size_t count_category(json_t *findings, const char *category)
{
    size_t n = 0, i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        const char *c = json_string_value(json_object_get(f, "category"));
        n += c && strcmp(c, category) == 0;
    }
    return n;
}

/* Prints the findings when a test is about to fail on them. */
static void dump(json_t *findings)
{
    char *text = json_dumps(findings, JSON_INDENT(2));
    print_message("%s\n", text ? text : "?");
    free(text);
}

static double evidence(json_t *f, const char *key)
{
    json_t *v = json_object_get(json_object_get(f, "evidence"), key);
    if (!json_is_number(v))
        fail_msg("evidence.%s is not a number", key);
    return json_number_value(v);
}

static const char *evidence_str(json_t *f, const char *key)
{
    const char *v = json_string_value(json_object_get(json_object_get(f, "evidence"), key));
    if (!v)
        fail_msg("evidence.%s is not a string", key);
    return v;
}

static int suggestion_has(json_t *f, const char *needle)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(f, "suggestions"), i, s)
        if (json_string_value(s) && strstr(json_string_value(s), needle))
            return 1;
    return 0;
}

static const char *str_of(json_t *f, const char *key)
{
    const char *v = json_string_value(json_object_get(f, key));
    return v ? v : "";
}

/* Checks the one finding a fixture is written for: the rule fires, with
 * this category and severity, and nothing else fires or fails. */
static json_t *expect_only(json_t *findings, const char *rule, const char *category,
                           const char *severity)
{
    json_t *f = finding_of(findings, rule);
    if (!f || json_array_size(findings) != 1) {
        dump(findings);
        fail_msg("expected exactly one finding, of %s", rule);
    }
    assert_string_equal(str_of(f, "category"), category);
    assert_string_equal(str_of(f, "severity"), severity);
    assert_true(strlen(str_of(f, "bottleneck")) > 10);
    assert_non_null(strstr(str_of(f, "source"), "lua/rules/"));
    assert_true(json_array_size(json_object_get(f, "suggestions")) >= 2);
    return f;
}

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a temporary user directory -------------------------------------------------------------- */

static char user_dir[96];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return flag == FTW_DP ? rmdir(path) : remove(path);
}

/* A new directory of ours under the system's temporary directory (APR's
 * calls, which Windows has as well), with rules/ in it. */
static int make_user_dir(void **state)
{
    apr_pool_t *p;
    const char *tmp;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return -1;
    apr_status_t st = apr_temp_dir_get(&tmp, p);
    for (unsigned i = 0; st == APR_SUCCESS && i < 1000; i++) {
        if (snprintf(user_dir, sizeof user_dir, "%s/kt-rules-%lu-%u", tmp,
                     (unsigned long)getpid(), i) >= (int)sizeof user_dir) {
            st = APR_ENAMETOOLONG;
            break;
        }
        st = apr_dir_make(user_dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, p);
        if (APR_STATUS_IS_EEXIST(st))
            st = APR_SUCCESS;
        else
            break;
    }
    if (st == APR_SUCCESS) {
        char sub[600];
        snprintf(sub, sizeof sub, "%s/rules", user_dir);
        st = apr_dir_make(sub, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, p);
    }
    apr_pool_destroy(p);
    return st == APR_SUCCESS ? 0 : -1;
}

static int remove_user_dir(void **state)
{
    return nftw(user_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes user_dir/rules/<name>.lua (replacing what was there). */
static void write_rule_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/rules/%s.lua", user_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_rule_file(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/rules/%s.lua", user_dir, name);
    unlink(path);
}

/* One rule named `name` whose check runs body. */
static void write_rule(const char *name, const char *body)
{
    char text[2048];
    snprintf(text, sizeof text,
             "return {\n"
             "  {\n"
             "    name = \"%s\", category = \"test\", description = \"a test rule\",\n"
             "    check = function(s, history, settings)\n"
             "      %s\n"
             "    end,\n"
             "  },\n"
             "}\n",
             name, body);
    write_rule_file(name, text);
}

/* The rule_error finding of rule, checked to mention want (and a line). */
static json_t *expect_rule_error(json_t *findings, const char *rule, const char *want)
{
    json_t *f = finding_of(findings, rule);
    if (!f || strcmp(str_of(f, "category"), "rule_error") != 0 ||
        !strstr(str_of(f, "bottleneck"), want)) {
        dump(findings);
        fail_msg("expected a rule_error of %s mentioning \"%s\"", rule, want);
    }
    char file[64];
    snprintf(file, sizeof file, "rules/%s.lua:", rule);
    assert_non_null(strstr(str_of(f, "bottleneck"), file));
    return f;
}

/* ---- the shipped rules on their fixtures ----------------------------------------------------- */

static void test_runaway_process(void **state)
{
    json_t *out = analyze_snapshot(shipped, "runaway_process");
    json_t *f = expect_only(out, "runaway_process", "process", "medium");
    assert_int_equal((int)evidence(f, "pid"), 4242);
    assert_string_equal(evidence_str(f, "name"), "python3");
    assert_float_equal(evidence(f, "cpu_pct"), 98.5, 1e-9);
    /* 98.5 % of a core out of 30 % of 4 CPUs in use */
    assert_float_equal(evidence(f, "share_of_busy_pct"), 98.5 / 120 * 100, 1e-6);
    assert_non_null(strstr(str_of(f, "bottleneck"), "python3 (pid 4242)"));
    assert_true(suggestion_has(f, "kill 4242"));
    assert_true(suggestion_has(f, "renice -n 10 -p 4242"));
    json_decref(out);
}

static void test_process_memory_hog(void **state)
{
    json_t *out = analyze_snapshot(shipped, "process_memory_hog");
    json_t *f = expect_only(out, "process_memory_hog", "process", "medium");
    assert_int_equal((int)evidence(f, "pid"), 3131);
    assert_float_equal(evidence(f, "rss_bytes"), 11.0 * (1 << 30), 1);
    assert_float_equal(evidence(f, "rss_pct"), 68.75, 1e-9);
    assert_non_null(strstr(str_of(f, "bottleneck"), "java (pid 3131) holds 68.8 % of memory "
                                                     "(11.0 GiB of 16.0 GiB)"));
    assert_true(suggestion_has(f, "pidstat -r -p 3131"));
    json_decref(out);
}

static void test_zombie_processes(void **state)
{
    json_t *out = analyze_snapshot(shipped, "zombie_processes");
    json_t *f = expect_only(out, "zombie_processes", "process", "low");
    assert_int_equal((int)evidence(f, "zombie"), 3);
    assert_non_null(strstr(str_of(f, "bottleneck"), "3 zombie"));
    /* the zombie seen in the top lists names its parent */
    assert_int_equal(json_integer_value(json_array_get(
                         json_object_get(json_object_get(f, "evidence"), "parent_pids"), 0)),
                     5001);
    assert_true(suggestion_has(f, "worker (pid 5120) is a zombie of parent pid 5001"));
    assert_true(suggestion_has(f, "kill -s CHLD 5001"));
    json_decref(out);
}

static void test_memory_pressure(void **state)
{
    json_t *out = analyze_snapshot(shipped, "memory_pressure");
    json_t *f = expect_only(out, "memory_pressure", "memory", "high");
    assert_float_equal(evidence(f, "used_pct"), 95.1, 1e-9);
    assert_float_equal(evidence(f, "available_bytes"), 400.0 * (1 << 20), 1);
    assert_float_equal(evidence(f, "swap_in_pages_ps"), 350, 1e-9);
    assert_float_equal(evidence(f, "swap_out_pages_ps"), 1200, 1e-9);
    /* 40 % -> 62.5 % of swap over the last half hour */
    assert_float_equal(evidence(f, "swap_growth_pct"), 22.5, 1e-6);
    assert_string_equal(evidence_str(f, "top_process"), "postgres (pid 2210)");
    assert_true(suggestion_has(f, "postgres (pid 2210) 3.2 GiB"));
    json_decref(out);

    /* Short of memory but not swapping, and no history: nothing to say. */
    json_t *history;
    json_t *s = snapshot("memory_pressure", &history);
    json_t *mem = json_object_get(s, "memory");
    json_object_set_new(mem, "swap_in_pages_ps", json_real(0));
    json_object_set_new(mem, "swap_out_pages_ps", json_real(0));
    out = kt_rules_analyze_json(shipped, s, NULL);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    /* ... but swap use growing over the history is swapping too */
    out = kt_rules_analyze_json(shipped, s, history);
    f = finding_of(out, "memory_pressure");
    assert_non_null(f);
    assert_string_equal(str_of(f, "severity"), "medium");
    assert_non_null(strstr(str_of(f, "bottleneck"), "swap use grew from 40 % to 62.5 % in the last 30 minutes"));
    json_decref(out);
    json_decref(s);
    json_decref(history);
}

/* Pressure stall information alone: 60 % used, not swapping, yet starved. */
static void test_memory_stall(void **state)
{
    json_t *out = analyze_snapshot(shipped, "memory_pressure_psi");
    json_t *f = expect_only(out, "memory_pressure", "memory", "medium");
    assert_float_equal(evidence(f, "pressure_some_avg60_pct"), 23, 1e-9);
    assert_float_equal(evidence(f, "pressure_full_avg60_pct"), 9.5, 1e-9);
    assert_string_equal(evidence_str(f, "top_process"), "java (pid 3300)");
    const char *b = str_of(f, "bottleneck");
    assert_non_null(strstr(b, "Memory is under pressure (60 % used"));
    assert_non_null(strstr(b, "processes waited 23 % of the last minute for memory "
                              "(all of them at once 9.5 %)"));
    assert_true(suggestion_has(f, "java (pid 3300) 6.0 GiB"));
    json_decref(out);

    /* Below the stall threshold and the used % threshold: nothing. */
    json_t *history;
    json_t *s = snapshot("memory_pressure_psi", &history);
    json_object_set_new(json_object_get(json_object_get(s, "pressure"), "memory"),
                        "some_avg60_pct", json_real(9.9));
    out = kt_rules_analyze_json(shipped, s, NULL);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    /* All tasks stalled 10 % of the minute: severe. */
    json_object_set_new(json_object_get(json_object_get(s, "pressure"), "memory"),
                        "some_avg60_pct", json_real(30));
    json_object_set_new(json_object_get(json_object_get(s, "pressure"), "memory"),
                        "full_avg60_pct", json_real(10));
    out = kt_rules_analyze_json(shipped, s, NULL);
    assert_string_equal(str_of(finding_of(out, "memory_pressure"), "severity"), "high");
    json_decref(out);
    json_decref(s);
    json_decref(history);
}

static void test_io_pressure(void **state)
{
    json_t *out = analyze_snapshot(shipped, "io_pressure");
    json_t *f = expect_only(out, "io_pressure", "disk", "medium");
    assert_float_equal(evidence(f, "pressure_some_avg60_pct"), 23, 1e-9);
    assert_float_equal(evidence(f, "pressure_full_avg60_pct"), 4.5, 1e-9);
    assert_string_equal(evidence_str(f, "disk"), "nvme0n1");
    assert_non_null(strstr(str_of(f, "bottleneck"),
                           "Processes waited 23 % of the last minute for I/O (all of them at once "
                           "4.5 %); the busiest disk, nvme0n1, was busy 88 %"));
    assert_true(suggestion_has(f, "rsync (pid 4100)"));
    json_decref(out);
}

static void test_disk_filling(void **state)
{
    json_t *out = analyze_snapshot(shipped, "disk_filling");
    json_t *f = expect_only(out, "disk_filling", "disk", "high");
    assert_string_equal(evidence_str(f, "mount_point"), "/var/lib/postgresql");
    assert_float_equal(evidence(f, "used_pct"), 92, 1e-9);
    assert_float_equal(evidence(f, "avail_bytes"), 8.0 * (1 << 30), 1);
    /* 86 -> 92 % in 2 hours: 3 points an hour, (100 - 92) / 3 hours to full */
    assert_float_equal(evidence(f, "growth_pct_per_hour"), 3, 1e-6);
    assert_float_equal(evidence(f, "hours_to_full"), 8.0 / 3, 0.01);
    assert_int_equal((int)evidence(f, "trend_points"), 13);
    assert_non_null(strstr(str_of(f, "bottleneck"), "/var/lib/postgresql is 92 % full"));
    assert_non_null(strstr(str_of(f, "bottleneck"), "about 3 hours"));
    assert_true(suggestion_has(f, "du -xh --max-depth=2 /var/lib/postgresql"));
    json_decref(out);
}

/* disk_filling.json with its history replaced by n points, 10 min apart,
 * the fullest filesystem at value(i) %. */
static json_t *disk_with_history(double (*value)(int), int n, json_t **history)
{
    json_t *old;
    json_t *s = snapshot("disk_filling", &old);
    json_decref(old);
    *history = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(*history,
                              json_pack("{s:I s:f}", "time", (json_int_t)1795500000000 + i * 600000,
                                        "disk_max_pct", value(i)));
    return s;
}

/* +1 point an hour ending at 92 %, with +-0.3 points of noise. */
static double noisy(int i) { return 92 - (47 - i) / 6.0 + (i % 2 ? 0.3 : -0.3); }
static double flat(int i) { return 92; }
static double shrinking(int i) { return 95 - i * 0.25; }

static void test_disk_time_to_full(void **state)
{
    json_t *history;
    json_t *s = disk_with_history(noisy, 48, &history);
    json_t *out = kt_rules_analyze_json(shipped, s, history);
    json_t *f = finding_of(out, "disk_filling");
    assert_non_null(f);
    /* 8 points to go at 1 point an hour; the noise moves the fit a little */
    assert_float_equal(evidence(f, "hours_to_full"), 8, 0.5);
    assert_non_null(strstr(str_of(f, "bottleneck"), "about 8 hours"));
    assert_string_equal(str_of(f, "severity"), "medium"); /* within a day */
    json_decref(out);
    json_decref(s);
    json_decref(history);
}

static void test_disk_not_growing(void **state)
{
    double (*cases[])(int) = {flat, shrinking};
    for (size_t k = 0; k < 2; k++) {
        json_t *history;
        json_t *s = disk_with_history(cases[k], 13, &history);
        if (k == 1) /* the newest point must be the flagged filesystem's value */
            json_object_set_new(json_array_get(json_object_get(s, "filesystems"), 1), "used_pct",
                                json_real(92));
        json_t *out = kt_rules_analyze_json(shipped, s, history);
        json_t *f = finding_of(out, "disk_filling");
        assert_non_null(f);
        assert_non_null(strstr(str_of(f, "bottleneck"), "not growing over the last 2 hours"));
        assert_null(json_object_get(json_object_get(f, "evidence"), "hours_to_full"));
        assert_true(json_is_false(json_object_get(json_object_get(f, "evidence"), "growing")));
        assert_string_equal(str_of(f, "severity"), "medium");
        json_decref(out);
        json_decref(s);
        json_decref(history);
    }
}

static void test_disk_trend_only_for_the_fullest(void **state)
{
    /* Another filesystem is fuller: the history's line is about that one. */
    json_t *history;
    json_t *s = snapshot("disk_filling", &history);
    json_array_append_new(json_object_get(s, "filesystems"),
                          json_pack("{s:s s:s s:f}", "mount_point", "/data", "fstype", "ext4",
                                    "used_pct", 97.0));
    json_t *out = kt_rules_analyze_json(shipped, s, history);
    assert_int_equal(json_array_size(out), 2);
    json_t *f = finding_of(out, "disk_filling");
    assert_string_equal(evidence_str(f, "mount_point"), "/var/lib/postgresql");
    assert_null(json_object_get(json_object_get(f, "evidence"), "hours_to_full"));
    assert_null(strstr(str_of(f, "bottleneck"), "growing"));
    json_decref(out);
    /* Too little history: no estimate either. */
    json_t *two = json_array();
    json_array_append(two, json_array_get(history, 11));
    json_array_append(two, json_array_get(history, 12));
    json_array_remove(json_object_get(s, "filesystems"), 2);
    out = kt_rules_analyze_json(shipped, s, two);
    f = finding_of(out, "disk_filling");
    assert_non_null(f);
    assert_null(json_object_get(json_object_get(f, "evidence"), "hours_to_full"));
    json_decref(out);
    json_decref(two);
    json_decref(s);
    json_decref(history);
}

static void test_hostile_names_are_quoted(void **state)
{
    /* A mount point named by a USB stick's label, a process named to forge
     * a line: prose shows control characters as '?', commands quote. */
    json_t *s = json_pack("{s:[{s:s s:s s:f s:f}] s:i s:{s:f} s:{s:[{s:i s:s s:f}]}}",
                          "filesystems", "mount_point", "/media/u/$(reboot) it's\nx", "fstype",
                          "vfat", "used_pct", 90.0, "inodes_used_pct", 99.0, "ncpu", 1, "cpu",
                          "busy_pct", 99.0, "processes", "top_cpu", "pid", 66, "name",
                          "evil\nline", "cpu_pct", 99.0);
    json_t *out = kt_rules_analyze_json(shipped, s, NULL);
    json_t *f = finding_of(out, "disk_filling");
    assert_non_null(f);
    assert_string_equal(evidence_str(f, "mount_point"), "/media/u/$(reboot) it's\nx");
    assert_non_null(strstr(str_of(f, "bottleneck"), "/media/u/$(reboot) it's?x is 90 % full"));
    assert_true(suggestion_has(f, "du -xh --max-depth=2 '/media/u/$(reboot) it'\\''s?x' 2>"));
    f = finding_of(out, "inode_exhaustion");
    assert_true(suggestion_has(f, "du --inodes -x '/media/u/$(reboot) it'\\''s?x' 2>"));
    f = finding_of(out, "runaway_process");
    assert_non_null(strstr(str_of(f, "bottleneck"), "evil?line (pid 66)"));
    json_decref(out);
    json_decref(s);
}

static void test_inode_exhaustion(void **state)
{
    json_t *out = analyze_snapshot(shipped, "inode_exhaustion");
    json_t *f = expect_only(out, "inode_exhaustion", "disk", "medium");
    assert_string_equal(evidence_str(f, "mount_point"), "/srv/cache");
    assert_float_equal(evidence(f, "inodes_used_pct"), 96.5, 1e-9);
    assert_float_equal(evidence(f, "inodes_free"), 229376, 1e-9);
    assert_true(suggestion_has(f, "du --inodes -x /srv/cache"));
    json_decref(out);
}

static void test_iowait_bound(void **state)
{
    json_t *out = analyze_snapshot(shipped, "iowait_bound");
    json_t *f = expect_only(out, "iowait_bound", "io", "medium");
    assert_float_equal(evidence(f, "iowait_pct"), 42, 1e-9);
    assert_string_equal(evidence_str(f, "disk"), "sda");
    assert_float_equal(evidence(f, "disk_busy_pct"), 98.7, 1e-9);
    assert_float_equal(evidence(f, "disk_queue_length"), 14.2, 1e-9);
    assert_int_equal((int)evidence(f, "blocked"), 6);
    assert_non_null(strstr(str_of(f, "bottleneck"), "sda is 98.7 % busy"));
    assert_true(suggestion_has(f, "iostat -dx 1 sda"));
    json_decref(out);
}

static void test_load_high(void **state)
{
    json_t *out = analyze_snapshot(shipped, "load_high");
    json_t *f = expect_only(out, "load_high", "cpu", "medium");
    assert_float_equal(evidence(f, "load1"), 12.4, 1e-9);
    assert_int_equal((int)evidence(f, "ncpu"), 4);
    assert_float_equal(evidence(f, "load_per_cpu"), 3.1, 1e-9);
    assert_true(suggestion_has(f, "cc1plus (pid 7001) 85 %"));
    assert_true(suggestion_has(f, "rising"));
    json_decref(out);

    /* severity follows the ratio: 6.4 per CPU is high, 1.6 low */
    json_t *history;
    json_t *s = snapshot("load_high", &history);
    const struct {
        double load;
        const char *severity;
    } cases[] = {{25.6, "high"}, {6.4, "low"}, {6.0, NULL}};
    for (size_t i = 0; i < 3; i++) {
        json_object_set_new(json_object_get(s, "load"), "1", json_real(cases[i].load));
        out = kt_rules_analyze_json(shipped, s, NULL);
        f = finding_of(out, "load_high");
        if (cases[i].severity)
            assert_string_equal(str_of(f, "severity"), cases[i].severity);
        else
            assert_null(f);
        json_decref(out);
    }
    json_decref(s);
}

static void test_cpu_steal(void **state)
{
    json_t *out = analyze_snapshot(shipped, "cpu_steal");
    json_t *f = expect_only(out, "cpu_steal", "cpu", "medium");
    assert_float_equal(evidence(f, "steal_pct"), 23.5, 1e-9);
    assert_int_equal((int)evidence(f, "worst_core"), 1);
    assert_float_equal(evidence(f, "worst_core_steal_pct"), 26, 1e-9);
    assert_non_null(strstr(str_of(f, "bottleneck"), "23.5 %"));
    json_decref(out);
}

static void test_quiet(void **state)
{
    json_t *out = analyze_snapshot(shipped, "quiet");
    if (json_array_size(out) != 0)
        dump(out);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
}

/* Every number of quiet.json (recursively) replaced by fn's value. */
static void replace_numbers(json_t *j, json_t *(*fn)(void))
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if (json_is_number(v))
                json_object_set_new(j, key, fn());
            else
                replace_numbers(v, fn);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if (json_is_number(v))
                json_array_set_new(j, i, fn());
            else
                replace_numbers(v, fn);
        }
    }
}

static json_t *make_null(void) { return json_null(); }
static json_t *make_string(void) { return json_string("x"); }

static void test_unknown_values_say_nothing(void **state)
{
    /* Every fixture with every number unknown, and with numbers of the wrong
     * type: no finding and, above all, no rule error. */
    static const char *const names[] = {
        "quiet",         "runaway_process", "process_memory_hog", "zombie_processes",
        "memory_pressure", "disk_filling",  "inode_exhaustion",   "iowait_bound",
        "load_high",     "cpu_steal",      "io_pressure",        "memory_pressure_psi",
    };
    json_t *(*fns[])(void) = {make_null, make_string};
    for (size_t n = 0; n < N_OF(names); n++) {
        for (size_t k = 0; k < 2; k++) {
            json_t *history;
            json_t *s = snapshot(names[n], &history);
            replace_numbers(s, fns[k]);
            replace_numbers(history, fns[k]);
            json_t *out = kt_rules_analyze_json(shipped, s, history);
            if (json_array_size(out) != 0) {
                dump(out);
                fail_msg("%s with unknown values", names[n]);
            }
            json_decref(out);
            json_decref(s);
            json_decref(history);
        }
    }
    /* Nothing at all: an empty reading, null, wrong shapes. */
    json_t *odd[] = {json_object(), json_null(), json_array(), json_string("x"),
                     json_pack("{s:s s:i s:[i] s:{s:s}}", "processes", "x", "filesystems", 3,
                               "disks", 1, "cpu", "busy_pct", "x")};
    for (size_t i = 0; i < N_OF(odd); i++) {
        json_t *bad_history = json_pack("[i s {s:s}]", 1, "x", "time", "x");
        json_t *out = kt_rules_analyze_json(shipped, odd[i], i % 2 ? bad_history : NULL);
        /* s itself not a table is the caller's mistake; the rules only must not crash */
        if (json_is_object(odd[i]) && json_array_size(out) != 0) {
            dump(out);
            fail_msg("odd reading %zu", i);
        }
        json_decref(out);
        json_decref(bad_history);
        json_decref(odd[i]);
    }
}

/* Both entry points give the same findings: kt_rules_analyze on a sample
 * read back from a snapshot, kt_rules_analyze_json on the snapshot. */
static void test_analyze_from_a_sample(void **state)
{
    json_t *history;
    json_t *s = snapshot("disk_filling", &history);
    apr_pool_t *pool;
    apr_pool_create_unmanaged_ex(&pool, NULL, NULL);
    kt_sample_t sample;
    char err[256];
    assert_int_equal(kt_sample_from_json(s, &sample, pool, err, sizeof err), APR_SUCCESS);
    size_t n = json_array_size(history), i;
    kt_hist_point_t *points = calloc(n, sizeof *points);
    json_t *p;
    json_array_foreach(history, i, p) {
        points[i].time = apr_time_from_msec(json_integer_value(json_object_get(p, "time")));
        points[i].cpu_pct = points[i].memory_pct = points[i].swap_pct = points[i].load1 = NAN;
        points[i].net_rx_bytes_ps = points[i].net_tx_bytes_ps = NAN;
        points[i].disk_max_pct = json_number_value(json_object_get(p, "disk_max_pct"));
    }
    json_t *out = kt_rules_analyze(shipped, &sample, points, (unsigned)n);
    json_t *f = finding_of(out, "disk_filling");
    if (!f || json_array_size(out) != 1)
        dump(out);
    assert_non_null(f);
    assert_float_equal(evidence(f, "hours_to_full"), 8.0 / 3, 0.01);
    json_decref(out);
    free(points);
    apr_pool_destroy(pool);
    json_decref(s);
    json_decref(history);
}

/* ---- the sandbox --------------------------------------------------------------------------- */

/* Backtracking patterns run inside one C call, where the instruction hook
 * never fires: each of these would take hours in Lua's own matcher. The
 * sandbox's matcher charges the budget, so each is a runaway rule. */
static void test_pattern_bombs(void **state)
{
    static const char *const bombs[] = {
        "return string.find(string.rep('a', 300), string.rep('a-', 40) .. 'b')",
        "return (string.rep('a', 500)):match(string.rep('a*', 30) .. 'b')",
        "return string.gsub(string.rep('x', 400), string.rep('.-', 25) .. 'y', '')",
        "for w in string.gmatch(string.rep('ab', 200), string.rep('.?', 60) .. 'c') do end",
        "return string.find(string.rep('a', 300), string.rep('a?', 60) .. string.rep('a', 60) .. 'b')",
    };
    for (size_t i = 0; i < KT_ARRAY_SIZE(bombs); i++) {
        write_rule("bomb", bombs[i]);
        kt_rules_t *r = must_load(user_dir);
        double t0 = now_s(CLOCK_MONOTONIC);
        json_t *out = analyze_snapshot(r, "runaway_process");
        double took = now_s(CLOCK_MONOTONIC) - t0;
        print_message("pattern bomb %u stopped after %.1f ms (the whole analysis)\n",
                      (unsigned)i, took * 1e3);
        assert_true(took < 10.0); /* a hang guard, not the measure: bench/rules has that */
        /* "too complex" (the recursion cap) is a fine way to stop too. */
        json_t *f = finding_of(out, "bomb");
        if (!f || strcmp(str_of(f, "category"), "rule_error") != 0 ||
            (!strstr(str_of(f, "bottleneck"), "instruction budget") &&
             !strstr(str_of(f, "bottleneck"), "pattern too complex"))) {
            dump(out);
            fail_msg("bomb %zu was not stopped as a runaway rule", i);
        }
        assert_non_null(strstr(str_of(f, "source"), "rules/bomb.lua:4"));
        assert_non_null(finding_of(out, "runaway_process")); /* the others still ran */
        json_decref(out);
        kt_rules_release(r);
    }
    remove_rule_file("bomb");
}

static void test_budget(void **state)
{
    write_rule("spin", "while true do end");
    kt_rules_t *r = must_load(user_dir);
    double t0 = now_s(CLOCK_MONOTONIC);
    json_t *out = analyze_snapshot(r, "runaway_process");
    double took = now_s(CLOCK_MONOTONIC) - t0;
    print_message("a rule looping forever is stopped after %.0f ms\n", took * 1e3);
    assert_true(took < 10.0);
    json_t *f = expect_rule_error(out, "spin", "instruction budget");
    assert_non_null(strstr(str_of(f, "source"), "rules/spin.lua:4"));
    /* the others still ran */
    assert_non_null(finding_of(out, "runaway_process"));
    json_decref(out);
    /* and the state it ran in serves the next pass */
    out = analyze_snapshot(r, "runaway_process");
    assert_non_null(finding_of(out, "runaway_process"));
    json_decref(out);
    kt_rules_release(r);
    remove_rule_file("spin");
}

static void test_memory_cap(void **state)
{
    write_rule("bigstring", "return { bottleneck = string.rep(\"x\", 2^30) }");
    write_rule("growtable",
               "local t = {} while true do t[#t + 1] = { 1, 2, 3, 4, 5, 6, 7, 8 } end");
    /* keeps what it takes across calls, in a file-level table */
    write_rule_file("hoard", "local kept = {}\n"
                             "return {\n"
                             "  { name = \"hoard\", category = \"test\", description = \"d\",\n"
                             "    check = function(s)\n"
                             "      while true do\n"
                             "        kept[#kept + 1] = string.rep(\"z\", 1000) .. #kept\n"
                             "      end\n"
                             "    end },\n"
                             "}\n");
    kt_rules_t *r = must_load(user_dir);
    for (int pass = 0; pass < 3; pass++) {
        json_t *out = analyze_snapshot(r, "runaway_process");
        expect_rule_error(out, "bigstring", "memory cap");
        expect_rule_error(out, "growtable", "memory cap");
        expect_rule_error(out, "hoard", "memory cap");
        /* the shipped rules, before and after them in the list, still work */
        if (!finding_of(out, "runaway_process")) {
            dump(out);
            fail_msg("pass %d: the shipped rules starved", pass);
        }
        assert_int_equal(count_category(out, "rule_error"), 3);
        json_decref(out);
    }
    kt_rules_release(r);
    remove_rule_file("bigstring");
    remove_rule_file("growtable");
    remove_rule_file("hoard");
}

static const char *const forbidden[] = {"os.execute('true')", "io.open('/etc/passwd')",
                                        "require('os')",      "load('return 1')",
                                        "dofile('/etc/passwd')", "pcall(error)",
                                        "debug.getinfo(1)",   "collectgarbage()",
                                        "print('x')",         "loadstring('x')"};

static void test_forbidden_globals(void **state)
{
    /* At call time: a rule_error naming the global and the line. */
    char name[32];
    for (size_t i = 0; i < N_OF(forbidden); i++) {
        snprintf(name, sizeof name, "forbidden%zu", i);
        write_rule(name, forbidden[i]);
    }
    kt_rules_t *r = must_load(user_dir);
    json_t *out = analyze_snapshot(r, "runaway_process");
    for (size_t i = 0; i < N_OF(forbidden); i++) {
        snprintf(name, sizeof name, "forbidden%zu", i);
        json_t *f = expect_rule_error(out, name, "unknown global");
        char line[64];
        snprintf(line, sizeof line, "rules/%s.lua:5:", name);
        assert_non_null(strstr(str_of(f, "bottleneck"), line));
    }
    assert_non_null(finding_of(out, "runaway_process"));
    json_decref(out);
    kt_rules_release(r);
    for (size_t i = 0; i < N_OF(forbidden); i++) {
        snprintf(name, sizeof name, "forbidden%zu", i);
        remove_rule_file(name);
    }

    /* At load time (the file's top level): the load fails, naming file:line. */
    for (size_t i = 0; i < N_OF(forbidden); i++) {
        char text[256], err[600];
        snprintf(text, sizeof text, "\nlocal x = %s\nreturn {}\n", forbidden[i]);
        write_rule_file("toplevel", text);
        kt_rules_t *bad = load_set(user_dir, err, sizeof err);
        assert_null(bad);
        if (!strstr(err, "rules/toplevel.lua:2:") || !strstr(err, "unknown global"))
            fail_msg("%s: %s", forbidden[i], err);
    }
    remove_rule_file("toplevel");
}

static void test_global_assignment(void **state)
{
    write_rule("setter", "\n      counter = 1");
    kt_rules_t *r = must_load(user_dir);
    json_t *out = analyze_snapshot(r, "quiet");
    json_t *f = expect_rule_error(out, "setter", "cannot set global 'counter'");
    assert_non_null(strstr(str_of(f, "bottleneck"), "rules/setter.lua:6:"));
    json_decref(out);
    kt_rules_release(r);
    remove_rule_file("setter");

    char err[600];
    write_rule_file("toplevel", "local a = 1\nhelper = function() end\nreturn {}\n");
    assert_null(load_set(user_dir, err, sizeof err));
    assert_non_null(strstr(err, "rules/toplevel.lua:2:"));
    assert_non_null(strstr(err, "cannot set global 'helper'"));
    remove_rule_file("toplevel");
}

static void test_shared_tables_are_read_only(void **state)
{
    static const struct {
        const char *code, *want;
    } attempts[] = {
        {"getmetatable('').__index.upper = nil", "unknown global 'getmetatable'"},
        {"string.format = nil", "read-only"},
        {"math.floor = function() return 0 end", "read-only"},
        {"table.concat = nil", "read-only"},
        {"fmt.bytes = function() return 'pwned' end", "read-only"},
        {"pick.num = nil", "read-only"},
        {"setmetatable(string, nil)", "protected metatable"},
        {"setmetatable(fmt, {})", "protected metatable"},
        {"local mt = setmetatable({}, { __gc = function() while true do end end })", "__gc"},
        {"rawset(string, 'format', nil)", "unknown global 'rawset'"},
        {"local s = ''; s.upper = nil", "attempt to index"},
    };
    char name[32];
    for (size_t i = 0; i < N_OF(attempts); i++) {
        snprintf(name, sizeof name, "tamper%zu", i);
        write_rule(name, attempts[i].code);
    }
    kt_rules_t *r = must_load(user_dir);
    for (int pass = 0; pass < 2; pass++) {
        json_t *out = analyze_snapshot(r, "process_memory_hog");
        for (size_t i = 0; i < N_OF(attempts); i++) {
            snprintf(name, sizeof name, "tamper%zu", i);
            expect_rule_error(out, name, attempts[i].want);
        }
        /* the shipped rules (string.format, fmt.bytes...) are untouched */
        json_t *f = finding_of(out, "process_memory_hog");
        assert_non_null(f);
        assert_non_null(strstr(str_of(f, "bottleneck"), "11.0 GiB of 16.0 GiB"));
        json_decref(out);
    }
    kt_rules_release(r);
    for (size_t i = 0; i < N_OF(attempts); i++) {
        snprintf(name, sizeof name, "tamper%zu", i);
        remove_rule_file(name);
    }
}

/* A rule file with a comma missing at the end of line 3. */
static const char missing_comma[] =
    "return {\n  {\n    name = \"broken\"\n    category = \"x\",\n  },\n}\n";

static void test_syntax_error(void **state)
{
    char err[600];
    write_rule_file("broken", missing_comma);
    assert_null(load_set(user_dir, err, sizeof err));
    char want[128];
    snprintf(want, sizeof want, "%s/rules/broken.lua:4:", user_dir);
    if (!strstr(err, want))
        fail_msg("no \"%s\" in: %s", want, err);
    remove_rule_file("broken");
}

/* The files a build reaches last are parsed on a second thread and loaded
 * from its bytecode: they keep their names and lines. One that thread
 * could not parse is parsed again from its text, for the usual error. */
static void test_parsed_on_a_second_thread(void **state)
{
    /* The shipped files come parsed (test_shipped_files_as_built): user
     * files big enough to split make the thread. */
    char big[20 * 1024 + 64] = "return {}\n";
    for (size_t n = strlen(big); n + 20 < sizeof big; n += 20)
        strcat(big, "-- padding padding\n");
    write_rule_file("big", big);
    write_rule("zz_late", "error('boom')");
    kt_rules_t *r = must_load(user_dir);
    unsigned late = r->nfiles, lib = r->nfiles;
    for (unsigned i = 0; i < r->nfiles; i++) {
        if (strcmp(r->files[i].name, "zz_late") == 0)
            late = i;
        if (r->files[i].kind == KT__FILE_LIB)
            lib = i;
    }
    assert_true(late < r->nfiles && lib < r->nfiles);
    kt__precompile_t *pc = kt__precompile_start(r);
    assert_non_null(pc);
    assert_true(kt__precompile_parsed(pc, late));
    assert_false(kt__precompile_parsed(pc, lib)); /* the build needs those first */
    kt__precompile_end(pc);
    json_t *out = analyze_snapshot(r, "quiet");
    expect_rule_error(out, "zz_late", "zz_late.lua:5: boom");
    json_decref(out);
    kt_rules_release(r);
    remove_rule_file("big");

    char err[600];
    write_rule_file("zz_late", missing_comma);
    assert_null(load_set(user_dir, err, sizeof err));
    if (!strstr(err, "rules/zz_late.lua:4:"))
        fail_msg("no zz_late.lua:4: in: %s", err);
    remove_rule_file("zz_late");
}

/* The chunk name of the check function of the first rule from file path. */
static const char *check_source(kt_rules_t *r, const char *path, char *buf, size_t len)
{
    char err[300];
    kt__lstate_t *ls;
    if (kt__rules_borrow(r, &ls, err, sizeof err) != APR_SUCCESS)
        fail_msg("%s", err);
    lua_State *L = ls->L;
    snprintf(buf, len, "(no rule from %s)", path);
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.rules");
    for (lua_Integer i = 1; i <= luaL_len(L, -1); i++) {
        lua_geti(L, -1, i);
        lua_getfield(L, -1, "_file");
        int ours = strcmp(lua_tostring(L, -1), path) == 0;
        lua_pop(L, 1);
        lua_Debug ar;
        if (ours && lua_getfield(L, -1, "check") == LUA_TFUNCTION && lua_getinfo(L, ">S", &ar)) {
            snprintf(buf, len, "%s", ar.source);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
    }
    kt__rules_return(r, ls);
    return buf;
}

/* The shipped files come as the bytecode the build made of them; a file
 * edited after the build is parsed from its text, as a user's file is. */
static void test_shipped_files_as_built(void **state)
{
    if (!kt__nshipped)
        skip(); /* a cross build could not run its Lua to make them */
    char buf[300];
    unsigned built = 0, cpu = shipped->nfiles;
    for (unsigned i = 0; i < shipped->nfiles; i++) {
        const kt__file_t *f = &shipped->files[i];
        if (f->kind == KT__FILE_CONFIG)
            assert_null(f->shipped);
        else if (f->shipped)
            built++;
        if (f->kind == KT__FILE_RULE && strcmp(f->name, "cpu") == 0)
            cpu = i;
    }
    assert_int_equal(built, kt__nshipped);
    assert_true(cpu < shipped->nfiles);
    assert_string_equal(check_source(shipped, shipped->files[cpu].path, buf, sizeof buf),
                        "@rules/cpu.lua");

    /* The same tree elsewhere, with rules/cpu.lua edited. */
    char dir[200];
    snprintf(dir, sizeof dir, "%s/copy", user_dir);
    apr_pool_t *pool;
    assert_int_equal(apr_pool_create(&pool, NULL), APR_SUCCESS);
    for (unsigned i = 0; i < shipped->nfiles; i++) {
        const kt__file_t *f = &shipped->files[i];
        char path[400];
        snprintf(path, sizeof path, "%s%s", dir, f->path + strlen(KT_LUA_DIR));
        *strrchr(path, '/') = '\0';
        assert_int_equal(apr_dir_make_recursive(path, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
        path[strlen(path)] = '/';
        FILE *out = fopen(path, "w");
        assert_non_null(out);
        fwrite(f->text, 1, f->len, out);
        if (i == cpu)
            fputs("\n-- edited after the build\n", out);
        fclose(out);
    }
    char err[600];
    kt_rules_t *r = load_dirs(dir, NULL, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    unsigned still = 0;
    for (unsigned i = 0; i < r->nfiles; i++)
        still += r->files[i].shipped != NULL;
    assert_int_equal(still, kt__nshipped - 1);
    char edited[400];
    snprintf(edited, sizeof edited, "%s/rules/cpu.lua", dir);
    char want[410];
    snprintf(want, sizeof want, "@%s", edited);
    assert_string_equal(check_source(r, edited, buf, sizeof buf), want);
    json_t *out = analyze_snapshot(r, "cpu_steal"); /* a rule of the edited file */
    assert_non_null(finding_of(out, "cpu_steal"));
    json_decref(out);
    kt_rules_release(r);
    apr_pool_destroy(pool);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_bad_rule_files(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"return 'rules'\n", "must return a list of rules"},
        {"return nil\n", "must return a list of rules"},
        /* one rule returned bare, not in a list */
        {"return { name = 'one', category = 'x', description = 'd', check = function() end }\n",
         "must return a list of rules"},
        {"return { 'not a rule' }\n", "rule 1 is not a table"},
        {"return { { name = 'x', category = 'x', description = 'd' } }\n", "'check' function"},
        {"return { { check = function() end, category = 'x', description = 'd' } }\n",
         "string 'name'"},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        char err[600];
        write_rule_file("odd", cases[i].text);
        assert_null(load_set(user_dir, err, sizeof err));
        if (!strstr(err, "rules/odd.lua:") || !strstr(err, cases[i].want))
            fail_msg("case %zu: %s", i, err);
    }
    remove_rule_file("odd");
    /* An empty list is a file with no rules, which is fine. */
    write_rule_file("odd", "return {}\n");
    kt_rules_t *r = must_load(user_dir);
    kt_rules_release(r);
    remove_rule_file("odd");
}

static void test_bad_findings(void **state)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"return 42", "check must return nil, a finding or a list"},
        {"return { severity = 'high' }", "a finding needs a string 'bottleneck'"},
        {"return { bottleneck = 'x', severity = 'dire' }", "severity must be low, medium or high"},
        {"return { bottleneck = 'x', evidence = { f = string.len } }", "plain data"},
        {"return { bottleneck = '\\xff\\xfe' }", "plain data"},
        {"return { bottleneck = 'x', evidence = setmetatable({}, { __index = function() "
         "while true do end end }) }",
         NULL},
    };
    char name[32];
    for (size_t i = 0; i < N_OF(cases); i++) {
        snprintf(name, sizeof name, "odd%zu", i);
        write_rule(name, cases[i].body);
    }
    /* metamethods on what check returns run no rule code outside the budget
     * (this used to hang, or abort on an unprotected error): an empty list */
    write_rule("sly", "return setmetatable({}, { __index = function() while true do end end, "
                      "__len = function() error('boom') end })");
    /* a list: one good finding, one bad */
    write_rule("twofold", "return { { bottleneck = 'fine', suggestions = 'one' }, { nope = 1 } }");
    kt_rules_t *r = must_load(user_dir);
    json_t *out = analyze_snapshot(r, "quiet");
    for (size_t i = 0; i < N_OF(cases); i++) {
        snprintf(name, sizeof name, "odd%zu", i);
        if (cases[i].want)
            expect_rule_error(out, name, cases[i].want);
        else /* a metatable on the evidence runs no rule code: plain {} */
            assert_string_equal(str_of(finding_of(out, name), "category"), "test");
    }
    assert_null(finding_of(out, "sly"));
    json_t *good = finding_of(out, "twofold");
    assert_non_null(good);
    assert_string_equal(str_of(good, "bottleneck"), "fine");
    assert_string_equal(str_of(good, "severity"), "medium");
    assert_string_equal(json_string_value(json_array_get(json_object_get(good, "suggestions"), 0)),
                        "one");
    json_decref(out);
    kt_rules_release(r);
    for (size_t i = 0; i < N_OF(cases); i++) {
        snprintf(name, sizeof name, "odd%zu", i);
        remove_rule_file(name);
    }
    remove_rule_file("twofold");
    remove_rule_file("sly");
}

static void test_user_file_replaces_shipped(void **state)
{
    write_rule_file("cpu", "return {\n"
                           "  { name = 'my_cpu', category = 'cpu', description = 'mine',\n"
                           "    check = function(s)\n"
                           "      return { bottleneck = 'steal is ' .. fmt.pct(s.cpu.steal_pct) }\n"
                           "    end },\n"
                           "}\n");
    kt_rules_t *r = must_load(user_dir);
    json_t *out = analyze_snapshot(r, "cpu_steal");
    /* the shipped cpu.lua (cpu_steal, load_high, iowait_bound) is gone */
    assert_null(finding_of(out, "cpu_steal"));
    json_t *f = finding_of(out, "my_cpu");
    assert_non_null(f);
    assert_string_equal(str_of(f, "bottleneck"), "steal is 23.5 %");
    assert_non_null(strstr(str_of(f, "source"), user_dir));
    json_decref(out);
    /* the other shipped files are still there */
    out = analyze_snapshot(r, "disk_filling");
    assert_non_null(finding_of(out, "disk_filling"));
    json_decref(out);
    kt_rules_release(r);
    remove_rule_file("cpu");
}

/* ---- the configured thresholds, as the rules see them ------------------------------------ */

/* A set whose user directory holds koto.conf.lua with text: the settings
 * reach the rules the way a person's file does. */
static kt_rules_t *load_with_conf(const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/koto.conf.lua", user_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    kt_rules_t *r = must_load(user_dir);
    unlink(path);
    return r;
}

/* Whether rule has a finding on s (and history) under the settings in conf. */
static int fires_with(const char *conf, const char *rule, json_t *s, json_t *history)
{
    kt_rules_t *r = load_with_conf(conf);
    json_t *out = kt_rules_analyze_json(r, s, history);
    int found = finding_of(out, rule) != NULL;
    if (count_category(out, "rule_error")) {
        dump(out);
        fail_msg("a rule failed under %s", conf);
    }
    json_decref(out);
    kt_rules_release(r);
    return found;
}

static void test_memory_threshold_is_configured(void **state)
{
    json_t *history;
    json_t *s = snapshot("memory_pressure", &history); /* 95.1 % used, swapping */
    assert_true(fires_with("", "memory_pressure", s, history)); /* 90 by default */
    assert_true(fires_with("thresholds = { memory = { threshold = 95 } }\n", "memory_pressure", s,
                           history));
    assert_false(fires_with("thresholds = { memory = { threshold = 96 } }\n", "memory_pressure",
                            s, history));
    assert_false(fires_with("thresholds = { memory = { enabled = false } }\n", "memory_pressure",
                            s, history));
    /* Without used_pct, available of total is judged against the same value:
     * 400 MiB of 8 GiB is 95.1 % used. */
    json_object_del(json_object_get(s, "memory"), "used_pct");
    assert_true(fires_with("thresholds = { memory = { threshold = 95 } }\n", "memory_pressure", s,
                           history));
    assert_false(fires_with("thresholds = { memory = { threshold = 96 } }\n", "memory_pressure",
                            s, history));
    json_decref(s);
    json_decref(history);
}

static void test_disk_threshold_is_configured(void **state)
{
    json_t *history;
    json_t *s = snapshot("disk_filling", &history); /* /var/lib/postgresql 92 %, / 40 % */
    assert_false(fires_with("thresholds = { disk = { threshold = 95 } }\n", "disk_filling", s,
                            history));
    /* A mount point's own threshold wins over the general one, either way. */
    assert_true(fires_with("thresholds = { disk = { threshold = 95 }, filesystems = { "
                           "['/var/lib/postgresql'] = { threshold = 90 } } }\n",
                           "disk_filling", s, history));
    assert_false(fires_with("thresholds = { filesystems = { "
                            "['/var/lib/postgresql'] = { threshold = 93 } } }\n",
                            "disk_filling", s, history));
    assert_false(fires_with("thresholds = { filesystems = { "
                            "['/var/lib/postgresql'] = { enabled = false } } }\n",
                            "disk_filling", s, history));
    /* Another filesystem's threshold changes nothing for this one. */
    assert_true(fires_with("thresholds = { filesystems = { ['/'] = { threshold = 99 } } }\n",
                           "disk_filling", s, history));
    json_decref(s);
    json_decref(history);
}

static void test_process_memory_threshold_is_configured(void **state)
{
    json_t *history;
    json_t *s = snapshot("process_memory_hog", &history); /* java holds 68.75 % */
    assert_true(fires_with("thresholds = { process_memory = { threshold = 68 } }\n",
                           "process_memory_hog", s, history));
    assert_false(fires_with("thresholds = { process_memory = { threshold = 69 } }\n",
                            "process_memory_hog", s, history));
    json_decref(s);
    json_decref(history);
}

/* Every setting reaches the rules, nested as koto.conf.lua writes it. */
static void test_rules_see_every_setting(void **state)
{
    write_rule("settings_seen",
               "return { bottleneck = 'seen', evidence = { interval = settings.interval_ms, "
               "cpu = settings.thresholds.cpu.threshold, "
               "var = settings.thresholds.filesystems['/var'].threshold, "
               "os = settings.script_os } }");
    kt_rules_t *r = load_with_conf("interval_ms = 12000\n"
                                   "thresholds = { cpu = { threshold = 77 }, filesystems = { "
                                   "['/var'] = { threshold = 61 } } }\n");
    json_t *out = analyze_snapshot(r, "quiet");
    json_t *found = finding_of(out, "settings_seen");
    if (!found)
        dump(out);
    assert_non_null(found);
    assert_float_equal(evidence(found, "interval"), 12000, 0);
    assert_float_equal(evidence(found, "cpu"), 77, 0);
    assert_float_equal(evidence(found, "var"), 61, 0);
    assert_string_equal(evidence_str(found, "os"), "auto");
    json_decref(out);
    kt_rules_release(r);
    remove_rule_file("settings_seen");
}

/* ---- cost ---------------------------------------------------------------------------------- */

static void time_passes(const char *what, json_t *s, json_t *history, int n)
{
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    size_t findings = 0;
    for (int i = 0; i < n; i++) {
        json_t *out = kt_rules_analyze_json(shipped, s, history);
        findings += json_array_size(out);
        json_decref(out);
    }
    double wall = (now_s(CLOCK_MONOTONIC) - w0) / n;
    double cpu = (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / n;
    print_message("one analysis pass, %s: %.3f ms wall, %.3f ms CPU (mean of %d; %lu findings)\n",
                  what, wall * 1e3, cpu * 1e3, n, (unsigned long)(findings / (size_t)n));
}

static void test_cost(void **state)
{
    json_t *history;
    json_t *s = snapshot("quiet", &history);
    time_passes("quiet.json, 10 history points", s, history, 200);
    /* what the API passes: up to 720 points (6 hours at 30 s) */
    json_t *full = json_array();
    for (int i = 0; i < 720; i++)
        json_array_append_new(full, json_pack("{s:I s:f s:f s:f s:f s:f s:f s:f}", "time",
                                              (json_int_t)1795500000000 + i * 30000, "cpu_pct",
                                              20.0 + i % 7, "memory_pct", 43.5, "swap_pct", 3.1,
                                              "load1", 1.1, "disk_max_pct", 61.0,
                                              "net_rx_bytes_ps", 250000.0, "net_tx_bytes_ps",
                                              120000.0));
    time_passes("quiet.json, 720 history points", s, full, 200);
    json_decref(full);
    json_decref(s);
    json_decref(history);
}

int main(void)
{
    apr_initialize();
    shipped = load_set(NULL, NULL, 0);
    if (!shipped) {
        char err[600];
        load_set(NULL, err, sizeof err);
        fprintf(stderr, "cannot load %s: %s\n", KT_LUA_DIR, err);
        return 1;
    }
    const struct CMUnitTest rules[] = {
        cmocka_unit_test(test_runaway_process),
        cmocka_unit_test(test_process_memory_hog),
        cmocka_unit_test(test_zombie_processes),
        cmocka_unit_test(test_memory_pressure),
        cmocka_unit_test(test_memory_stall),
        cmocka_unit_test(test_io_pressure),
        cmocka_unit_test(test_disk_filling),
        cmocka_unit_test(test_disk_time_to_full),
        cmocka_unit_test(test_disk_not_growing),
        cmocka_unit_test(test_disk_trend_only_for_the_fullest),
        cmocka_unit_test(test_inode_exhaustion),
        cmocka_unit_test(test_hostile_names_are_quoted),
        cmocka_unit_test(test_iowait_bound),
        cmocka_unit_test(test_load_high),
        cmocka_unit_test(test_cpu_steal),
        cmocka_unit_test(test_quiet),
        cmocka_unit_test(test_unknown_values_say_nothing),
        cmocka_unit_test(test_analyze_from_a_sample),
        cmocka_unit_test(test_cost),
    };
    const struct CMUnitTest sandbox[] = {
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_pattern_bombs),
        cmocka_unit_test(test_memory_cap),
        cmocka_unit_test(test_forbidden_globals),
        cmocka_unit_test(test_global_assignment),
        cmocka_unit_test(test_shared_tables_are_read_only),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_parsed_on_a_second_thread),
        cmocka_unit_test(test_shipped_files_as_built),
        cmocka_unit_test(test_bad_rule_files),
        cmocka_unit_test(test_bad_findings),
        cmocka_unit_test(test_user_file_replaces_shipped),
    };
    const struct CMUnitTest settings[] = {
        cmocka_unit_test(test_memory_threshold_is_configured),
        cmocka_unit_test(test_disk_threshold_is_configured),
        cmocka_unit_test(test_process_memory_threshold_is_configured),
        cmocka_unit_test(test_rules_see_every_setting),
    };
    int failed = cmocka_run_group_tests_name("rules", rules, NULL, NULL);
    failed += cmocka_run_group_tests_name("sandbox", sandbox, make_user_dir, remove_user_dir);
    failed += cmocka_run_group_tests_name("settings", settings, make_user_dir, remove_user_dir);
    kt_rules_release(shipped);
    apr_terminate();
    return failed;
}
