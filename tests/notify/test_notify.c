/*
 * test_notify.c - the notifier's pure parts: the Standard Webhooks
 * signature against the specification's own example, how an answer is
 * judged, routing by severity, type, subject and resolution, and the
 * payload's shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>

#include "notify_internal.h"

static kt_notify_conf_t channel(void)
{
    kt_notify_conf_t c;
    memset(&c, 0, sizeof c);
    c.name = "ops";
    c.url = "http://127.0.0.1:9/hook";
    c.send_resolved = 1;
    c.min_severity = KT_SEV_LOW;
    return c;
}

static kt_event_t event(kt_event_type_t type, kt_severity_t sev, const char *subject)
{
    kt_event_t e;
    memset(&e, 0, sizeof e);
    e.id = 7;
    e.time = apr_time_from_sec(1700000000);
    e.type = type;
    e.severity = sev;
    strcpy(e.subject, subject);
    strcpy(e.message, "memory is 94% used");
    return e;
}

/* standard-webhooks' own example (spec and libraries' tests). */
static void test_signature_matches_the_spec(void **state)
{
    (void)state;
    kt_notify_conf_t c = channel();
    const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    c.secret = (const unsigned char *)secret;
    c.secret_len = strlen(secret);
    char sig[128];
    kt__webhook_sign(&c, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}", sig,
                     sizeof sig);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* A raw secret (no whsec_ prefix) is used as it is: another signature. */
    c.secret = (const unsigned char *)"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    c.secret_len = 32;
    kt__webhook_sign(&c, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}", sig,
                     sizeof sig);
    assert_string_not_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_int_equal(strncmp(sig, "v1,", 3), 0);
}

static void test_answers_are_judged(void **state)
{
    (void)state;
    char msg[300];
    assert_int_equal(kt__notify_judge(CURLE_OK, 200, "", msg, sizeof msg), KT__SENT);
    assert_int_equal(kt__notify_judge(CURLE_OK, 204, "", msg, sizeof msg), KT__SENT);
    assert_int_equal(kt__notify_judge(CURLE_OK, 503, "", msg, sizeof msg), KT__RETRY);
    assert_string_equal(msg, "HTTP 503");
    assert_int_equal(kt__notify_judge(CURLE_OK, 500, "", msg, sizeof msg), KT__RETRY);
    assert_int_equal(kt__notify_judge(CURLE_OK, 408, "", msg, sizeof msg), KT__RETRY);
    assert_int_equal(kt__notify_judge(CURLE_OK, 429, "", msg, sizeof msg), KT__RETRY);
    assert_int_equal(kt__notify_judge(CURLE_OK, 400, "", msg, sizeof msg), KT__FAILED);
    assert_int_equal(kt__notify_judge(CURLE_OK, 404, "", msg, sizeof msg), KT__FAILED);
    assert_int_equal(kt__notify_judge(CURLE_OK, 301, "", msg, sizeof msg), KT__FAILED);
    assert_int_equal(kt__notify_judge(CURLE_COULDNT_CONNECT, 0, "Connection refused", msg,
                                      sizeof msg),
                     KT__RETRY);
    assert_string_equal(msg, "Connection refused");
    assert_int_equal(kt__notify_judge(CURLE_OPERATION_TIMEDOUT, 0, "", msg, sizeof msg), KT__RETRY);
}

static void test_routing(void **state)
{
    (void)state;
    kt_notify_conf_t c = channel();
    kt_event_t mem = event(KT_EV_MEMORY_HIGH, KT_SEV_LOW, "");
    assert_true(kt__notify_wants(&c, &mem));
    c.min_severity = KT_SEV_MEDIUM;
    assert_false(kt__notify_wants(&c, &mem));
    mem.severity = KT_SEV_HIGH;
    assert_true(kt__notify_wants(&c, &mem));
    kt_type_set_add(&c.types, KT_EV_DISK_FULL);
    assert_false(kt__notify_wants(&c, &mem));
    kt_type_set_add(&c.types, KT_EV_MEMORY_HIGH);
    assert_true(kt__notify_wants(&c, &mem));
    /* Past the first 32 types: a condition's own. */
    kt_event_t late = event((kt_event_type_t)(KT_EV_MAX_TYPES - 1), KT_SEV_HIGH, "");
    assert_false(kt__notify_wants(&c, &late));
    kt_type_set_add(&c.types, KT_EV_MAX_TYPES - 1);
    assert_true(kt__notify_wants(&c, &late));
    mem.resolved = 1;
    c.send_resolved = 0;
    assert_false(kt__notify_wants(&c, &mem));

    kt_notify_conf_t s = channel();
    const char *subjects[] = {"/var", "java"};
    s.subjects = subjects;
    s.nsubjects = 2;
    kt_event_t var = event(KT_EV_DISK_FULL, KT_SEV_LOW, "/var");
    kt_event_t root = event(KT_EV_DISK_FULL, KT_SEV_LOW, "/");
    kt_event_t java = event(KT_EV_PROCESS_MEMORY_HIGH, KT_SEV_LOW, "pid 42 (java)");
    kt_event_t javac = event(KT_EV_PROCESS_MEMORY_HIGH, KT_SEV_LOW, "pid 43 (javac)");
    assert_true(kt__notify_wants(&s, &var));
    assert_false(kt__notify_wants(&s, &root));
    assert_true(kt__notify_wants(&s, &java));
    assert_false(kt__notify_wants(&s, &javac));
}

static void test_payload(void **state)
{
    (void)state;
    kt_notify_conf_t c = channel();
    kt_event_t e = event(KT_EV_MEMORY_HIGH, KT_SEV_HIGH, "");
    char *text = kt__notify_payload(&c, &e, "host1", "http://127.0.0.1:5000/monitoring-dashboard");
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "koto.event.started");
    assert_string_equal(json_string_value(json_object_get(j, "timestamp")), "2023-11-14T22:13:20.000Z");
    json_t *data = json_object_get(j, "data");
    assert_string_equal(json_string_value(json_object_get(data, "host")), "host1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(data, "event"), "id")), 7);
    json_decref(j);
    e.resolved = 1;
    text = kt__notify_payload(&c, &e, "host1", NULL);
    j = json_loads(text, 0, NULL);
    free(text);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "koto.event.resolved");
    assert_null(json_object_get(json_object_get(j, "data"), "dashboard"));
    json_decref(j);
    text = kt__notify_payload(&c, NULL, "host1", NULL);
    j = json_loads(text, 0, NULL);
    free(text);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "koto.test");
    json_decref(j);
}

static void test_email_message(void **state)
{
    (void)state;
    kt_notify_conf_t c = channel();
    const char *to[] = {"a@example.com", "b@example.com"};
    c.kind = KT_NOTIFY_EMAIL;
    c.from = "koto@example.com";
    c.to = to;
    c.nto = 2;
    kt_event_t e = event(KT_EV_DISK_FULL, KT_SEV_MEDIUM, "/var/lib/データ");
    e.ntop = 1;
    strcpy(e.top[0].name, "java");
    e.top[0].pid = 42;
    e.top[0].cpu_pct = 12.5;
    e.top[0].rss_bytes = 1048576;
    char *m = kt__email_message(&c, &e, "host1", "http://127.0.0.1:5000/monitoring-dashboard", "msg_x");
    assert_non_null(m);
    assert_non_null(strstr(m, "From: koto@example.com\r\nTo: a@example.com, b@example.com\r\n"));
    /* Not ASCII: the subject is an RFC 2047 encoded word. */
    assert_non_null(strstr(m, "\r\nSubject: =?UTF-8?B?"));
    assert_non_null(strstr(m, "\r\nMessage-ID: <msg_x@host1>\r\n"));
    assert_non_null(strstr(m, "\r\n\r\n")); /* headers end */
    assert_non_null(strstr(m, "  java (pid 42): 12.5% CPU, 1.0 MiB resident\r\n"));
    assert_non_null(strstr(m, "curl -s -X POST http://127.0.0.1:5000/api/agent/generate-script"));
    free(m);
    char msg[300];
    assert_int_equal(kt__notify_judge_smtp(CURLE_OK, 250, "", msg, sizeof msg), KT__SENT);
    assert_int_equal(kt__notify_judge_smtp(CURLE_SEND_ERROR, 550, "rejected", msg, sizeof msg),
                     KT__FAILED);
    assert_int_equal(kt__notify_judge_smtp(CURLE_SEND_ERROR, 451, "later", msg, sizeof msg),
                     KT__RETRY);
    assert_int_equal(kt__notify_judge_smtp(CURLE_USE_SSL_FAILED, 0, "", msg, sizeof msg), KT__RETRY);
}

/* 2026-mm-dd hh:mm UTC. */
static apr_time_t utc(int mon, int day, int hour, int min)
{
    apr_time_exp_t x;
    memset(&x, 0, sizeof x);
    x.tm_year = 126;
    x.tm_mon = mon - 1;
    x.tm_mday = day;
    x.tm_hour = hour;
    x.tm_min = min;
    apr_time_t t;
    apr_time_exp_gmt_get(&t, &x);
    return t;
}

/* Sunday 02:00-04:00 in Berlin, on the nights the clocks change: the
 * window is the wall clock's, an hour long in spring, three in autumn. */
static void test_maintenance_across_daylight_saving(void **state)
{
    (void)state;
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    kt_maint_conf_t w = {.name = "backups", .days = 1u << 0, .start_min = 2 * 60, .end_min = 4 * 60};
    /* 29 March 2026: 02:00 CET becomes 03:00 CEST at 01:00 UTC. */
    assert_false(kt_maint_open(&w, utc(3, 29, 0, 30)));  /* 01:30 CET */
    assert_true(kt_maint_open(&w, utc(3, 29, 1, 0)));    /* 03:00 CEST */
    assert_true(kt_maint_open(&w, utc(3, 29, 1, 59)));   /* 03:59 CEST */
    assert_false(kt_maint_open(&w, utc(3, 29, 2, 0)));   /* 04:00 CEST */
    /* 25 October 2026: 03:00 CEST becomes 02:00 CET at 01:00 UTC. */
    assert_false(kt_maint_open(&w, utc(10, 24, 23, 59))); /* 01:59 CEST */
    assert_true(kt_maint_open(&w, utc(10, 25, 0, 0)));    /* 02:00 CEST */
    assert_true(kt_maint_open(&w, utc(10, 25, 1, 30)));   /* 02:30 CET, the second time */
    assert_true(kt_maint_open(&w, utc(10, 25, 2, 59)));   /* 03:59 CET */
    assert_false(kt_maint_open(&w, utc(10, 25, 3, 0)));   /* 04:00 CET */
    /* Only on Sundays: the Monday after is closed at the same hour. */
    assert_false(kt_maint_open(&w, utc(10, 26, 2, 0)));   /* Monday 03:00 CET */
    /* Across midnight: Saturday 23:00 to 01:00, open into Sunday morning. */
    kt_maint_conf_t night = {.name = "night", .days = 1u << 6, .start_min = 23 * 60, .end_min = 60};
    assert_true(kt_maint_open(&night, utc(10, 24, 21, 30)));  /* Sat 23:30 CEST */
    assert_true(kt_maint_open(&night, utc(10, 24, 22, 30)));  /* Sun 00:30 CEST */
    assert_false(kt_maint_open(&night, utc(10, 24, 23, 30))); /* Sun 01:30 CEST */
    assert_false(kt_maint_open(&night, utc(10, 25, 22, 30))); /* Sun 23:30 CET: not Saturday */
    /* The same instant elsewhere is another wall-clock time. */
    setenv("TZ", "America/New_York", 1);
    tzset();
    assert_false(kt_maint_open(&w, utc(10, 25, 1, 0)));       /* Sat 21:00 EDT */
    assert_true(kt_maint_open(&w, utc(10, 25, 6, 30)));       /* Sun 02:30 EDT */
    unsetenv("TZ");
    tzset();
}

static void test_ids(void **state)
{
    (void)state;
    char a[64], b[64];
    kt__notify_new_id(a);
    kt__notify_new_id(b);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(strncmp(a, "msg_", 4), 0);
    assert_string_not_equal(a, b);
}

static int setup(void **state)
{
    (void)state;
    return apr_initialize() == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    apr_terminate();
    return 0;
}

int main(void)
{
    apr_initialize(); /* the loader keeps libcurl in a pool of its own */
    /* libcurl as kotod has it at its first notification (curl_api.h). */
    char why[256];
    if (kt__curl_load(why, sizeof why) != APR_SUCCESS) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_matches_the_spec),
        cmocka_unit_test(test_answers_are_judged),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_payload),
        cmocka_unit_test(test_email_message),
        cmocka_unit_test(test_maintenance_across_daylight_saving),
        cmocka_unit_test(test_ids),
    };
    return cmocka_run_group_tests_name("notify", tests, setup, teardown);
}
