/*
 * test_win_run.c - kt_sys_run on Windows (under Wine in CI), with the
 * stand-in interpreter standin.exe (PowerShell is absent under Wine) beside
 * this test: the command line is PowerShell's (the stand-in refuses any
 * other), arguments follow the file, the environment is the fixed one,
 * output and exit code come back, and a script that hangs after starting a
 * child is ended at its timeout with that child (the job object).
 * Also kt_sys_owner_only on a directory this test makes.
 */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "kt_sys.h"

static char dir[MAX_PATH], standin[MAX_PATH];

static int setup(void **state)
{
    apr_pool_t *pool;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return -1;
    *state = pool;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

static const char *script(apr_pool_t *pool, const char *name, const char *text)
{
    const char *path = apr_pstrcat(pool, dir, "\\", name, NULL);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void output_args_and_exit(void **state)
{
    apr_pool_t *pool = *state;
    const char *p = script(pool, "a.ps1", "echo hello\nargs\nexit 4\n");
    const char *const args[] = {"-WhatIf", "a \"b\" c\\", NULL};
    kt_sys_run_opts_t o = {.interpreter = standin, .args = args};
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
    assert_int_equal(r.exit_code, 4);
    assert_false(r.timed_out);
    assert_non_null(strstr(r.output, "hello"));
    assert_non_null(strstr(r.output, "[-WhatIf][a \"b\" c\\]"));
}

static void clean_environment(void **state)
{
    apr_pool_t *pool = *state;
    SetEnvironmentVariableA("KT_TEST_SECRET", "leaked");
    const char *p = script(pool, "env.ps1", "env KT_TEST_SECRET\nenv SystemRoot\n");
    kt_sys_run_opts_t o = {.interpreter = standin};
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
    SetEnvironmentVariableA("KT_TEST_SECRET", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_non_null(strstr(r.output, "KT_TEST_SECRET="));
    assert_null(strstr(r.output, "leaked"));
    assert_null(strstr(r.output, "SystemRoot=\n"));
}

static void hang_with_child_killed_at_timeout(void **state)
{
    apr_pool_t *pool = *state;
    const char *pidfile = apr_pstrcat(pool, dir, "\\child.pid", NULL);
    const char *p = script(pool, "hang.ps1",
                           apr_psprintf(pool, "spawn %s\necho started\nsleep 300000\n", pidfile));
    kt_sys_run_opts_t o = {.interpreter = standin, .timeout = apr_time_from_sec(2)};
    kt_sys_run_result_t r;
    assert_int_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
    assert_true(r.timed_out);
    assert_int_equal(r.exit_code, -1);
    assert_non_null(strstr(r.output, "started"));
    FILE *f = fopen(pidfile, "r");
    assert_non_null(f);
    unsigned long pid = 0;
    assert_int_equal(fscanf(f, "%lu", &pid), 1);
    fclose(f);
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    if (h) { /* still known: it must end (it was killed with the job) */
        assert_int_equal(WaitForSingleObject(h, 10000), WAIT_OBJECT_0);
        CloseHandle(h);
    }
}

static void missing_interpreter(void **state)
{
    apr_pool_t *pool = *state;
    const char *p = script(pool, "x.ps1", "exit 0\n");
    kt_sys_run_opts_t o = {.interpreter = "C:\\nonexistent\\powershell.exe"};
    kt_sys_run_result_t r;
    assert_int_not_equal(kt_sys_run(p, &o, &r, pool), APR_SUCCESS);
}

/* CNG's SHA-256, the hash proposals are approved by, on the standard's vectors. */
static void sha256_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        unsigned char d[32];
        char hex[65];
        assert_int_equal(kt_sys_sha256(v[i].in, strlen(v[i].in), d), APR_SUCCESS);
        for (int k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", d[k]);
        assert_string_equal(hex, v[i].hex);
    }
}

static void owner_only(void **state)
{
    apr_pool_t *pool = *state;
    const char *d = apr_pstrcat(pool, dir, "\\private", NULL);
    assert_int_equal(kt_sys_private_dir(d, pool), APR_SUCCESS);
    int ok = 0;
    const char *why = NULL;
    assert_int_equal(kt_sys_owner_only(d, &ok, &why, pool), APR_SUCCESS);
    if (!ok)
        print_message("owner_only: %s\n", why ? why : "?");
    assert_true(ok);
}

/* The SCM: a service that does not exist is missing; one Wine has is known. */
static void service_states(void **state)
{
    apr_pool_t *pool = *state;
    kt_sys_svc_t svc;
    assert_int_equal(kt_sys_service_state("kt-no-such-service", &svc, pool), APR_SUCCESS);
    assert_int_equal(svc.state, KT_SVC_MISSING);
    assert_int_equal(kt_sys_service_state("PlugPlay", &svc, pool), APR_SUCCESS);
    assert_int_not_equal(svc.state, KT_SVC_UNKNOWN);
    assert_int_not_equal(svc.state, KT_SVC_MISSING);
    print_message("PlugPlay: %s (%s)\n", kt_sys_svc_state_name(svc.state), svc.detail);
}

int main(void)
{
    apr_initialize();
    char self[MAX_PATH];
    DWORD n = GetModuleFileNameA(NULL, self, MAX_PATH);
    char *slash = n ? strrchr(self, '\\') : NULL;
    if (!slash) {
        fprintf(stderr, "test_win_run: no path to this program\n");
        return 1;
    }
    *slash = 0;
    snprintf(standin, sizeof standin, "%s\\kt_standin.exe", self);
    char tmp[MAX_PATH];
    if (!GetTempPathA(MAX_PATH, tmp)) {
        fprintf(stderr, "test_win_run: no temporary directory\n");
        return 1;
    }
    /* Wine reuses process ids, and an earlier run's directory stays behind
     * in the prefix: take the first name that is free. */
    for (unsigned i = 0;; i++) {
        snprintf(dir, sizeof dir, "%skt-test-run-%lu.%u", tmp, (unsigned long)GetCurrentProcessId(), i);
        if (CreateDirectoryA(dir, NULL))
            break;
        if (GetLastError() != ERROR_ALREADY_EXISTS || i == 999) {
            fprintf(stderr, "test_win_run: cannot make %s (error %lu)\n", dir, GetLastError());
            return 1;
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_vectors),
        cmocka_unit_test_setup_teardown(output_args_and_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(clean_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(hang_with_child_killed_at_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_interpreter, setup, teardown),
        cmocka_unit_test_setup_teardown(owner_only, setup, teardown),
        cmocka_unit_test_setup_teardown(service_states, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return failed;
}
