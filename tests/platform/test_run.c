/*
 * test_run.c - kt_sys_run on Linux with real scripts: exit codes and
 * output, the clean environment, the output limit, arguments passed after
 * the file (--dry-run), a script that hangs with children of its own
 * killed at its timeout together with them, a child left running by a
 * script that ends in time left alone, and kt_sys_owner_only.
 */
#include "kt_test_util.h"

#include "kt_sys.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>

static char dir[64];

/* Writes text as dir/name; returns its path. */
static const char *script(apr_pool_t *pool, const char *name, const char *text)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static long read_pid(apr_pool_t *pool, const char *name)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "r");
    long pid = -1;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = -1;
        fclose(f);
    }
    return pid;
}

/* A process is gone when kill(0) says so or it is a zombie waiting for init. */
static int gone(long pid)
{
    if (kill((pid_t)pid, 0) != 0)
        return errno == ESRCH;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'Z';
}

static int gone_within(long pid, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (gone(pid))
            return 1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void exit_code_and_output(void **state)
{
    apr_pool_t *pool = *state;
    const char *p = script(pool, "a.sh", "echo out; echo err >&2; exit 3\n");
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, NULL, &r, pool), APR_SUCCESS);
    assert_int_equal(r.exit_code, 3);
    assert_false(r.timed_out);
    assert_false(r.truncated);
    assert_string_equal(r.output, "out\nerr\n");
    assert_true(r.duration > 0);
}

static void clean_environment(void **state)
{
    apr_pool_t *pool = *state;
    setenv("KT_TEST_SECRET", "leaked", 1);
    setenv("BASH_ENV", "/nonexistent-should-not-be-read", 1);
    const char *p = script(pool, "env.sh",
                           "echo \"secret=${KT_TEST_SECRET-}\"; echo \"PATH=$PATH\"; "
                           "echo \"cwd=$PWD\"; read -r line; echo \"stdin=$?\"\n");
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, NULL, &r, pool), APR_SUCCESS);
    unsetenv("KT_TEST_SECRET");
    unsetenv("BASH_ENV");
    assert_int_equal(r.exit_code, 0);
    assert_non_null(strstr(r.output, "secret=\n"));
    assert_non_null(strstr(r.output, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
    assert_non_null(strstr(r.output, "cwd=/\n"));
    assert_non_null(strstr(r.output, "stdin=1\n")); /* /dev/null: end of input at once */
}

static void arguments_follow_the_file(void **state)
{
    apr_pool_t *pool = *state;
    const char *p = script(pool, "args.sh", "printf '[%s]' \"$@\"; echo\n");
    const char *const args[] = {"--dry-run", "a b; $(touch x)", NULL};
    kt_sys_run_opts_t o = {.args = args};
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
    assert_string_equal(r.output, "[--dry-run][a b; $(touch x)]\n");
}

static void output_limit(void **state)
{
    apr_pool_t *pool = *state;
    /* 1 MiB through a 100-byte limit: all read (no blocked writer), 100 kept. */
    const char *p = script(pool, "big.sh", "head -c 1048576 /dev/zero | tr '\\0' x; echo done >&2\n");
    kt_sys_run_opts_t o = {.output_limit = 100};
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
    assert_int_equal(r.exit_code, 0);
    assert_false(r.timed_out);
    assert_true(r.truncated);
    assert_int_equal(r.output_len, 100);
    assert_int_equal(strlen(r.output), 100);
}

static void hang_with_children_killed_at_timeout(void **state)
{
    apr_pool_t *pool = *state;
    const char *p = script(pool, "hang.sh",
                           apr_psprintf(pool,
                                        "sleep 300 & echo $! > %s/child1\n"
                                        "( sleep 300; echo never ) & echo $! > %s/child2\n"
                                        "echo started\n"
                                        "wait\n",
                                        dir, dir));
    kt_sys_run_opts_t o = {.timeout = apr_time_from_msec(700)};
    kt_sys_run_result_t r;
    apr_time_t t0 = apr_time_now();
    assert_int_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
    apr_interval_time_t took = apr_time_now() - t0;
    assert_true(r.timed_out);
    assert_int_equal(r.exit_code, -1);
    assert_int_equal(r.signal, SIGKILL);
    assert_non_null(strstr(r.output, "started\n"));
    assert_true(took >= apr_time_from_msec(700));
    assert_true(took < apr_time_from_sec(10));
    long c1 = read_pid(pool, "child1"), c2 = read_pid(pool, "child2");
    assert_true(c1 > 0 && c2 > 0);
    assert_true(gone_within(c1, 10));
    assert_true(gone_within(c2, 10));
}

static void child_left_running_when_script_ends_in_time(void **state)
{
    apr_pool_t *pool = *state;
    /* A restart leaves the service running: the script's own end does
     * not kill what it started, only the timeout does. */
    const char *p = script(pool, "leave.sh",
                           apr_psprintf(pool,
                                        "sleep 300 >/dev/null 2>&1 & echo $! > %s/left\n"
                                        "echo bye\n",
                                        dir));
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, NULL, &r, pool), APR_SUCCESS);
    assert_int_equal(r.exit_code, 0);
    assert_false(r.timed_out);
    assert_string_equal(r.output, "bye\n");
    long pid = read_pid(pool, "left");
    assert_true(pid > 0);
    assert_false(gone(pid));
    kill((pid_t)pid, SIGKILL);
}

static void cancelled_like_a_timeout(void **state)
{
    apr_pool_t *pool = *state;
    const char *p = script(pool, "cancel.sh", "echo begun; sleep 30\n");
    atomic_int cancel = 1; /* kotod stopping: the run ends at once */
    kt_sys_run_opts_t o = {.cancel = &cancel};
    kt_sys_run_result_t r;
    apr_time_t t0 = apr_time_now();
    assert_int_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
    assert_true(apr_time_now() - t0 < apr_time_from_sec(10));
    assert_true(r.cancelled);
    assert_false(r.timed_out);
    assert_int_equal(r.exit_code, -1);
}

static void missing_interpreter(void **state)
{
    apr_pool_t *pool = *state;
    const char *p = script(pool, "x.sh", "exit 0\n");
    kt_sys_run_opts_t o = {.interpreter = "/nonexistent/bash"};
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
    assert_int_equal(r.exit_code, 127); /* execve failed in the child */
}

static void owner_only(void **state)
{
    apr_pool_t *pool = *state;
    const char *d = apr_pstrcat(pool, dir, "/conf", NULL);
    assert_int_equal(mkdir(d, 0700), 0);
    int ok = 0;
    const char *why = NULL;
    assert_int_equal(kt_sys_owner_only(d, &ok, &why, pool), APR_SUCCESS);
    assert_true(ok);
    assert_null(why);
    chmod(d, 0770);
    assert_int_equal(kt_sys_owner_only(d, &ok, &why, pool), APR_SUCCESS);
    assert_false(ok);
    assert_non_null(strstr(why, "group"));
    chmod(d, 0757);
    assert_int_equal(kt_sys_owner_only(d, &ok, &why, pool), APR_SUCCESS);
    assert_false(ok);
    assert_non_null(strstr(why, "others"));
    assert_int_not_equal(kt_sys_owner_only("/nonexistent/x", &ok, &why, pool), APR_SUCCESS);
}

/* systemctl show's answers, as recorded from systemd 252 (Debian 12): CI
 * has no systemd running, so the parser is checked against these. */
static void systemctl_show_answers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        kt_sys_svc_state_t want;
        const char *detail;
    } cases[] = {
        {"LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\n",
         KT_SVC_ACTIVE, "active/running (success)"},
        {"LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code\n",
         KT_SVC_FAILED, "failed/failed (exit-code)"},
        {"LoadState=loaded\nActiveState=inactive\nSubState=dead\nResult=success\n",
         KT_SVC_INACTIVE, "inactive/dead (success)"},
        {"LoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success\n",
         KT_SVC_MISSING, "inactive/dead (success)"},
        {"LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nResult=exit-code\n",
         KT_SVC_ACTIVATING, "activating/auto-restart (exit-code)"},
        {"LoadState=loaded\r\nActiveState=reloading\r\nSubState=reload\r\n", KT_SVC_ACTIVE,
         "reloading/reload"},
        {"", KT_SVC_UNKNOWN, "?/?"},
        {"ActiveState=bogus\n", KT_SVC_UNKNOWN, "bogus/?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kt_sys_svc_t svc;
        kt_sys_parse_systemctl_show(cases[i].text, &svc);
        assert_int_equal(svc.state, cases[i].want);
        assert_string_equal(svc.detail, cases[i].detail);
    }
    assert_string_equal(kt_sys_svc_state_name(KT_SVC_FAILED), "failed");
}

/* Without systemd running (CI, containers) the state is unknown, never a guess. */
static void service_state_without_systemd(void **state)
{
    apr_pool_t *pool = *state;
    if (access("/run/systemd/system", F_OK) == 0) {
        print_message("systemd runs here: skipped (the answers above cover the parser)\n");
        skip();
    }
    kt_sys_svc_t svc;
    kt_sys_service_state("cron.service", &svc, pool);
    assert_int_equal(svc.state, KT_SVC_UNKNOWN);
}

int main(void)
{
    apr_initialize();
    snprintf(dir, sizeof dir, "/tmp/kt-test-run-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(exit_code_and_output, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(clean_environment, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(arguments_follow_the_file, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(output_limit, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(hang_with_children_killed_at_timeout, setup_pool,
                                        teardown_pool),
        cmocka_unit_test_setup_teardown(child_left_running_when_script_ends_in_time, setup_pool,
                                        teardown_pool),
        cmocka_unit_test_setup_teardown(cancelled_like_a_timeout, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(missing_interpreter, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(owner_only, setup_pool, teardown_pool),
        cmocka_unit_test(systemctl_show_answers),
        cmocka_unit_test_setup_teardown(service_state_without_systemd, setup_pool, teardown_pool),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        failed++;
    apr_terminate();
    return failed;
}
