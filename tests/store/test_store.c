/*
 * test_store.c - the store on a real SQLite file: events written and paged,
 * ids that go on across clears and restarts, retention, the monitor's state,
 * a corrupt file moved aside, a newer schema left untouched, permissions.
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

#include <apr_dbd.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "kt_store.h"
#include "kt_sys.h"

static apr_pool_t *root;
static char dir[128];
static const char *db;

static kt_store_t *open_store(unsigned days, unsigned max)
{
    kt_store_opts_t o = {.path = db, .event_days = days, .max_events = max};
    kt_store_t *s;
    assert_int_equal(kt_store_open(&s, &o, root), APR_SUCCESS);
    return s;
}

static kt_event_t event(uint64_t id, const char *type, int severity, apr_time_t t)
{
    kt_event_t e;
    memset(&e, 0, sizeof e);
    e.id = id;
    e.time = t;
    e.type = kt_event_type_parse(type);
    e.severity = severity;
    e.value = 91.5;
    e.threshold = 90;
    snprintf(e.subject, sizeof e.subject, "/var's \"quoted\" '; DROP TABLE events; --");
    snprintf(e.message, sizeof e.message, "event %llu", (unsigned long long)id);
    return e;
}

static json_t *page(kt_store_t *s, uint64_t since, uint64_t before, unsigned limit)
{
    kt_store_query_t q = {-1, -1, since, before, 0, 0, limit};
    json_t *out = NULL;
    assert_int_equal(kt_store_events(s, &q, &out), APR_SUCCESS);
    return out;
}

static uint64_t id_at(json_t *list, size_t i)
{
    return (uint64_t)json_integer_value(json_object_get(json_array_get(list, i), "id"));
}

/* Files through APR, not a shell: the same tests run on Windows (under Wine). */
static void remove_tree(const char *path)
{
    apr_pool_t *p;
    apr_pool_create(&p, root);
    apr_dir_t *d;
    if (apr_dir_open(&d, path, p) == APR_SUCCESS) {
        apr_finfo_t fi;
        apr_status_t st;
        while ((st = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)) == APR_SUCCESS ||
               st == APR_INCOMPLETE) {
            if (strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0)
                continue;
            const char *child = apr_pstrcat(p, path, "/", fi.name, NULL);
            if (fi.filetype == APR_DIR)
                remove_tree(child);
            else
                apr_file_remove(child, p);
        }
        apr_dir_close(d);
        apr_dir_remove(path, p);
    }
    apr_pool_destroy(p);
}

/* Whether dir holds a file whose name starts with prefix. */
static int has_file_starting(const char *prefix)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t st;
    int found = 0;
    assert_int_equal(apr_dir_open(&d, dir, root), APR_SUCCESS);
    while (!found && ((st = apr_dir_read(&fi, APR_FINFO_NAME, d)) == APR_SUCCESS ||
                      st == APR_INCOMPLETE))
        found = strncmp(fi.name, prefix, strlen(prefix)) == 0;
    apr_dir_close(d);
    return found;
}

/* The whole file, its length in *len. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void fresh(void)
{
    remove_tree(dir);
    assert_int_equal(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, root), APR_SUCCESS);
}

static void test_events_round_trip(void **state)
{
    fresh();
    kt_store_t *s = open_store(0, 0);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_string_equal(kt_store_state_name(info.state), "ok");
    assert_int_equal(info.schema, KT_STORE_SCHEMA);
    /* Owner-only: mode 0600 here; on Windows a DACL (kt_sys_create_secret
     * made the file; tests/windows/test_win_files.c checks what it applies). */
    if (strcmp(kt_sys_os_name(), "windows") != 0) {
        struct stat st;
        assert_int_equal(stat(db, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }

    apr_time_t t0 = apr_time_from_sec(1700000000);
    kt_event_t ev[10];
    for (int i = 0; i < 10; i++)
        ev[i] = event((uint64_t)i + 1, i % 2 ? "cpu_high" : "disk_full", i % 3,
                      t0 + apr_time_from_sec(60) * i);
    assert_int_equal(kt_store_put_events(s, ev, 6), APR_SUCCESS);
    assert_int_equal(kt_store_put_events(s, ev + 6, 4), APR_SUCCESS);
    assert_int_equal(kt_store_last_event_id(s), 10);

    json_t *p = page(s, 0, 0, 3); /* the newest page, oldest first */
    assert_int_equal(json_array_size(p), 3);
    assert_int_equal(id_at(p, 0), 8);
    assert_int_equal(id_at(p, 2), 10);
    const char *subject = json_string_value(json_object_get(json_array_get(p, 0), "subject"));
    assert_string_equal(subject, ev[0].subject); /* quotes went in and out as text */
    json_decref(p);
    p = page(s, 4, 0, 3); /* the next page after 4 */
    assert_int_equal(json_array_size(p), 3);
    assert_int_equal(id_at(p, 0), 5);
    assert_int_equal(id_at(p, 2), 7);
    json_decref(p);
    p = page(s, 0, 4, 10); /* everything before 4 */
    assert_int_equal(json_array_size(p), 3);
    assert_int_equal(id_at(p, 0), 1);
    json_decref(p);

    kt_store_query_t q = {kt_event_type_parse("cpu_high"), -1, 0, 0,
                          t0 + apr_time_from_sec(120), t0 + apr_time_from_sec(420), 100};
    json_t *out;
    assert_int_equal(kt_store_events(s, &q, &out), APR_SUCCESS);
    assert_int_equal(json_array_size(out), 3); /* 4, 6, 8: cpu_high at minutes 2..7 */
    assert_int_equal(id_at(out, 0), 4);
    assert_int_equal(id_at(out, 2), 8);
    json_decref(out);
    q = (kt_store_query_t){-1, KT_SEV_HIGH, 0, 0, 0, 0, 100};
    assert_int_equal(kt_store_events(s, &q, &out), APR_SUCCESS);
    assert_int_equal(json_array_size(out), 3); /* 3, 6, 9 */
    json_decref(out);

    unsigned removed;
    assert_int_equal(kt_store_clear_events(s, "test", &removed), APR_SUCCESS);
    assert_int_equal(removed, 10);
    p = page(s, 0, 0, 100);
    assert_int_equal(json_array_size(p), 0);
    json_decref(p);
    kt_store_close(s);

    /* After a restart: the last id is remembered though the log was cleared. */
    s = open_store(0, 0);
    assert_int_equal(kt_store_last_event_id(s), 10);
    kt_event_t more = event(11, "cpu_high", 0, t0);
    assert_int_equal(kt_store_put_events(s, &more, 1), APR_SUCCESS);
    kt_store_close(s);
    s = open_store(0, 0);
    p = page(s, 0, 0, 100);
    assert_int_equal(json_array_size(p), 1);
    assert_int_equal(id_at(p, 0), 11);
    json_decref(p);
    kt_store_close(s);
}

static void test_retention(void **state)
{
    fresh();
    kt_store_t *s = open_store(0, 0);
    apr_time_t now = apr_time_now();
    kt_event_t ev[20];
    for (int i = 0; i < 20; i++) /* ten old ones (100 days ago), then ten new */
        ev[i] = event((uint64_t)i + 1, "cpu_high", 0,
                      i < 10 ? now - apr_time_from_sec(86400) * 100 : now);
    assert_int_equal(kt_store_put_events(s, ev, 20), APR_SUCCESS);
    kt_store_set_retention(s, &(kt_store_opts_t){.event_days = 90});
    kt_event_t one = event(21, "cpu_high", 0, now);
    assert_int_equal(kt_store_put_events(s, &one, 1), APR_SUCCESS); /* the trim follows it */
    json_t *p = page(s, 0, 0, 100);
    assert_int_equal(json_array_size(p), 11);
    assert_int_equal(id_at(p, 0), 11);
    json_decref(p);
    kt_store_set_retention(s, &(kt_store_opts_t){.event_days = 90, .max_events = 4});
    one = event(22, "cpu_high", 0, now);
    assert_int_equal(kt_store_put_events(s, &one, 1), APR_SUCCESS);
    p = page(s, 0, 0, 100);
    assert_int_equal(json_array_size(p), 4);
    assert_int_equal(id_at(p, 0), 19);
    json_decref(p);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_int_equal(info.events, 4);
    assert_true(info.size_bytes > 0);
    kt_store_close(s);
}

/* A new file holding events 1 to 50, all at time now, closed. */
static void fifty_events(apr_time_t now)
{
    fresh();
    kt_store_t *s = open_store(0, 0);
    kt_event_t ev[50];
    for (int i = 0; i < 50; i++)
        ev[i] = event((uint64_t)i + 1, "cpu_high", 0, now);
    assert_int_equal(kt_store_put_events(s, ev, 50), APR_SUCCESS);
    kt_store_close(s);
}

/* A log over the cap at start (the cap lowered while kotod was down) is
 * trimmed by the store thread before it answers anything, and the count
 * known at once is the file's. */
static void test_trimmed_at_start(void **state)
{
    fifty_events(apr_time_now());
    kt_store_t *s = open_store(0, 10);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_true(info.events == 50 || info.events == 10); /* before or after the thread's trim */
    json_t *p = page(s, 0, 0, 100);
    assert_int_equal(json_array_size(p), 10);
    assert_int_equal(id_at(p, 0), 41);
    json_decref(p);
    kt_store_info(s, &info);
    assert_int_equal(info.events, 10);
    kt_store_close(s);
}

/* A store opened before its settings are final deletes nothing until it is
 * given them: kotod's start opens it while the configuration is checked. */
static void test_trims_held(void **state)
{
    apr_time_t now = apr_time_now();
    fifty_events(now);
    kt_store_t *s;
    kt_store_opts_t o = {.path = db, .max_events = 10, .tentative = 1};
    assert_int_equal(kt_store_open(&s, &o, root), APR_SUCCESS);
    kt_event_t one = event(51, "cpu_high", 0, now);
    assert_int_equal(kt_store_put_events(s, &one, 1), APR_SUCCESS);
    json_t *p = page(s, 0, 0, 100);
    assert_int_equal(json_array_size(p), 51);
    json_decref(p);
    kt_store_set_retention(s, &o); /* the final settings: the trims resume */
    one = event(52, "cpu_high", 0, now);
    assert_int_equal(kt_store_put_events(s, &one, 1), APR_SUCCESS);
    p = page(s, 0, 0, 100);
    assert_int_equal(json_array_size(p), 10);
    assert_int_equal(id_at(p, 0), 43);
    json_decref(p);
    kt_store_close(s);
}

/* The size cap: the file stays under it, the oldest events going first. */
static void test_size_cap(void **state)
{
    fresh();
    kt_store_t *s = open_store(0, 0);
    kt_store_set_retention(s, &(kt_store_opts_t){.max_mb = 1}); /* 1 MiB */
    apr_time_t now = apr_time_now();
    kt_event_t ev[500];
    for (int batch = 0; batch < 20; batch++) { /* 10 000 events, about 5 MiB as JSON */
        for (int i = 0; i < 500; i++) {
            ev[i] = event((uint64_t)batch * 500 + i + 1, "disk_full", 1, now);
            memset(ev[i].message, 'x', sizeof ev[i].message - 1);
            ev[i].message[sizeof ev[i].message - 1] = '\0';
        }
        assert_int_equal(kt_store_put_events(s, ev, 500), APR_SUCCESS);
    }
    kt_event_t last = event(10001, "disk_full", 1, now);
    assert_int_equal(kt_store_put_events(s, &last, 1), APR_SUCCESS);
    kt_store_info_t info;
    kt_store_info(s, &info);
    print_message("size cap 1 MiB: %llu bytes on disk, %llu events kept\n",
                  (unsigned long long)info.size_bytes, (unsigned long long)info.events);
    assert_true(info.size_bytes <= (1u << 20) + (256u << 10)); /* a page-sized margin */
    assert_true(info.events > 100 && info.events < 10001);
    json_t *p = page(s, 0, 0, 1);
    assert_int_equal(id_at(p, 0), 10001); /* never the newest */
    json_decref(p);
    kt_store_close(s);
}

static void test_monitor_state(void **state)
{
    fresh();
    kt_store_t *s = open_store(0, 0);
    apr_time_t at;
    assert_null(kt_store_get_state(s, &at));
    kt_store_put_state(s, json_pack("{s:i}", "first", 1));
    kt_store_put_state(s, json_pack("{s:i}", "second", 2)); /* the newest wins */
    kt_store_close(s);
    s = open_store(0, 0);
    json_t *got = kt_store_get_state(s, &at);
    assert_non_null(got);
    assert_int_equal(json_integer_value(json_object_get(got, "second")), 2);
    assert_true(at > 0 && at <= apr_time_now());
    json_decref(got);
    kt_store_close(s);
}

/* The outbox: a note written before its first attempt comes back pending
 * after a restart, with its id, attempts and body; one sent does not. */
static void test_outbox(void **state)
{
    (void)state;
    fresh();
    kt_store_t *s = open_store(0, 0);
    kt_store_note_t a = {"msg_a", "ops", apr_time_from_sec(1000), apr_time_from_sec(1000), 0};
    kt_store_note_t b = {"msg_b", "mail", apr_time_from_sec(1001), apr_time_from_sec(1001), 0};
    assert_int_equal(kt_store_outbox_add(s, &a, "{\"n\":1}"), APR_SUCCESS);
    assert_int_equal(kt_store_outbox_add(s, &b, "{\"n\":2}"), APR_SUCCESS);
    /* The same id again changes nothing, and says so: a retry never forks a
     * second row, and an event routed again after a restart finds its own. */
    assert_int_equal(kt_store_outbox_add(s, &a, "{\"n\":99}"), APR_EEXIST);
    a.attempts = 3;
    a.next = apr_time_from_sec(2000);
    kt_store_outbox_set(s, &a, "pending", "HTTP 503");
    b.attempts = 1;
    kt_store_outbox_set(s, &b, "sent", "");
    kt_store_close(s);

    s = open_store(0, 0);
    kt_store_note_t *notes;
    unsigned n;
    assert_int_equal(kt_store_outbox_pending(s, &notes, &n), APR_SUCCESS);
    assert_int_equal(n, 1);
    assert_string_equal(notes[0].id, "msg_a");
    assert_string_equal(notes[0].channel, "ops");
    assert_int_equal(notes[0].attempts, 3);
    assert_true(notes[0].created == apr_time_from_sec(1000));
    assert_true(notes[0].next == apr_time_from_sec(2000));
    free(notes);
    char *body = NULL;
    assert_int_equal(kt_store_outbox_body(s, "msg_a", &body), APR_SUCCESS);
    assert_string_equal(body, "{\"n\":1}");
    free(body);
    assert_int_equal(kt_store_outbox_body(s, "msg_none", &body), KT_ENOTFOUND);
    kt_store_close(s);
}

/* Events a channel wants stay due, from their own transaction on, until
 * the notifier says their outbox rows are written; across a restart, and
 * round trip through the log's JSON. */
static void test_notify_due(void **state)
{
    (void)state;
    fresh();
    kt_store_t *s = open_store(0, 0);
    kt_event_t ev[3];
    for (int i = 0; i < 3; i++)
        ev[i] = event(10 + (uint64_t)i, "disk_full", KT_SEV_HIGH, apr_time_from_sec(5000 + i));
    ev[0].routed = ev[2].routed = 1;
    ev[2].resolved = 1;
    ev[2].started_id = 10;
    ev[2].ntop = 1;
    ev[2].top[0] = (kt_event_proc_t){42, "java", 12.5, 1 << 20};
    ev[2].nevidence = 1;
    ev[2].evidence[0] = (kt_event_figure_t){"used_pct", 91.5};
    assert_int_equal(kt_store_put_events(s, ev, 3), APR_SUCCESS);
    kt_store_notify_done(s, 10);
    kt_store_close(s);

    s = open_store(0, 0);
    json_t *due = NULL;
    assert_int_equal(kt_store_notify_due(s, &due), APR_SUCCESS);
    assert_int_equal(json_array_size(due), 1);
    kt_event_t back;
    assert_int_equal(kt_event_from_json(json_array_get(due, 0), &back), APR_SUCCESS);
    assert_int_equal(back.id, 12);
    assert_int_equal(back.type, KT_EV_DISK_FULL);
    assert_int_equal(back.severity, KT_SEV_HIGH);
    assert_true(back.resolved && !back.escalated && back.started_id == 10);
    assert_true(back.time == apr_time_from_sec(5002));
    assert_string_equal(back.subject, ev[2].subject);
    assert_string_equal(back.message, "event 12");
    assert_int_equal(back.ntop, 1);
    assert_string_equal(back.top[0].name, "java");
    assert_int_equal(back.top[0].rss_bytes, 1 << 20);
    assert_int_equal(back.nevidence, 1);
    assert_string_equal(back.evidence[0].key, "used_pct");
    json_decref(due);
    kt_store_notify_done(s, 12);
    assert_int_equal(kt_store_notify_due(s, &due), APR_SUCCESS); /* after the done: one queue */
    assert_int_equal(json_array_size(due), 0);
    json_decref(due);
    kt_store_close(s);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_corrupt_file_moved_aside(void **state)
{
    fresh();
    write_file(db, "this is not an SQLite database, not even a little; this is not one either\n");
    kt_store_t *s = open_store(0, 0);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_string_equal(kt_store_state_name(info.state), "ok");
    assert_non_null(strstr(info.message, "moved to"));
    assert_true(has_file_starting("koto.db.corrupt-"));
    kt_event_t e = event(1, "cpu_high", 0, apr_time_now());
    assert_int_equal(kt_store_put_events(s, &e, 1), APR_SUCCESS);
    kt_store_close(s);
}

/* A store of this build's, closed, whose user_version is then set to v. */
static void stored_with_schema(int v)
{
    fresh();
    kt_store_close(open_store(0, 0));
    const apr_dbd_driver_t *drv;
    apr_dbd_t *h;
    int n;
    char sql[40];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
    assert_int_equal(apr_dbd_get_driver(root, "sqlite3", &drv), APR_SUCCESS);
    assert_int_equal(apr_dbd_open(drv, root, db, &h), APR_SUCCESS);
    assert_int_equal(apr_dbd_query(drv, h, &n, "PRAGMA wal_checkpoint(TRUNCATE)"), 100);
    assert_int_equal(apr_dbd_query(drv, h, &n, sql), 0);
    apr_dbd_close(drv, h);
}

/* A tentative open of db: the store is off, and says nothing of it. */
static void open_tentative_off(void)
{
    kt_store_t *s;
    kt_store_opts_t o = {.path = db, .tentative = 1};
    assert_int_equal(kt_store_open(&s, &o, root), APR_SUCCESS);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_string_equal(kt_store_state_name(info.state), "off");
    assert_string_equal(info.message, "");
    kt_store_close(s);
}

/* A tentative open (kotod's start, before its settings stand) takes a file
 * only as it is: one to make, migrate or move aside is left, byte for
 * byte, for the next open. */
static void test_tentative_changes_nothing(void **state)
{
    /* None, an empty one (a store to make) and a damaged one. */
    const char *const texts[] = {NULL, "", "this is not an SQLite database, nor anything like one"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(texts); i++) {
        fresh();
        if (texts[i])
            write_file(db, texts[i]);
        open_tentative_off();
        assert_int_equal(has_file_starting("koto.db"), texts[i] != NULL);
        assert_false(has_file_starting("koto.db."));
        assert_false(has_file_starting("koto.db-"));
        if (texts[i]) {
            size_t len;
            char *after = read_all(db, &len);
            assert_int_equal(len, strlen(texts[i]));
            assert_memory_equal(after, texts[i], len);
            free(after);
        }
    }
    /* An older schema and a newer one. */
    const int versions[] = {KT_STORE_SCHEMA - 1, KT_STORE_SCHEMA + 1};
    for (size_t i = 0; i < KT_ARRAY_SIZE(versions); i++) {
        stored_with_schema(versions[i]);
        size_t len_before, len_after;
        char *before = read_all(db, &len_before);
        open_tentative_off();
        char *after = read_all(db, &len_after);
        assert_int_equal(len_after, len_before);
        assert_memory_equal(after, before, len_before);
        free(before);
        free(after);
    }
}

static void test_newer_schema_untouched(void **state)
{
    /* A later kotod's file: user_version above what this build knows. */
    stored_with_schema(99);
    size_t len_before, len_after;
    char *before = read_all(db, &len_before);

    kt_store_t *s = open_store(0, 0);
    kt_store_info_t info;
    kt_store_info(s, &info);
    assert_string_equal(kt_store_state_name(info.state), "off");
    assert_non_null(strstr(info.message, "schema version 99"));
    char knows[32];
    snprintf(knows, sizeof knows, "knows up to %d", KT_STORE_SCHEMA);
    assert_non_null(strstr(info.message, knows));
    kt_event_t e = event(1, "cpu_high", 0, apr_time_now());
    assert_int_equal(kt_store_put_events(s, &e, 1), KT_EUNAVAIL);
    kt_store_close(s);
    char *after = read_all(db, &len_after);
    assert_int_equal(len_after, len_before); /* not a byte changed */
    assert_memory_equal(after, before, len_before);
    free(before);
    free(after);
}

static int setup(void **state)
{
    apr_initialize();
    kt_log_set_level(KT_LOG_ERROR);
    apr_pool_create(&root, NULL);
    apr_dbd_init(root);
    const char *tmp = NULL;
    assert_int_equal(apr_temp_dir_get(&tmp, root), APR_SUCCESS); /* TMPDIR, or the system's */
    snprintf(dir, sizeof dir, "%s/kt-store-%d", tmp, (int)getpid());
    db = apr_pstrcat(root, dir, "/koto.db", NULL);
    return 0;
}

static int teardown(void **state)
{
    remove_tree(dir);
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}

/* Proposals: a new one gets an id, a change of state is a compare-and-set,
 * each change has its audit row, and the audit refuses UPDATE and DELETE. */
static void test_remedies_and_audit(void **state)
{
    fresh();
    kt_store_t *s = open_store(0, 0);
    json_t *doc = json_pack("{s:s s:s}", "template", "service_restart", "script", "echo 'x'; $(y)");
    uint64_t id = 0;
    kt_store_audit_t a = {"proposed", "127.0.0.1", 0, 7, "abc", NULL};
    assert_int_equal(kt_store_put_remedy(s, &id, NULL, "proposed", doc, &a), APR_SUCCESS);
    assert_int_equal(id, 1);
    uint64_t id2 = 0;
    assert_int_equal(kt_store_put_remedy(s, &id2, NULL, "proposed", doc, NULL), APR_SUCCESS);
    assert_int_equal(id2, 2);

    a.action = "approved";
    a.remedy_id = id;
    assert_int_equal(kt_store_put_remedy(s, &id, "proposed", "approved", doc, &a), APR_SUCCESS);
    /* A second approval saw "proposed" too: refused, and not audited. */
    assert_int_equal(kt_store_put_remedy(s, &id, "proposed", "approved", doc, &a), KT_ESTATE);

    json_t *got = NULL;
    assert_int_equal(kt_store_get_remedy(s, id, &got), APR_SUCCESS);
    assert_string_equal(json_string_value(json_object_get(got, "state")), "approved");
    assert_string_equal(json_string_value(json_object_get(got, "script")), "echo 'x'; $(y)");
    json_decref(got);
    assert_int_equal(kt_store_get_remedy(s, 99, &got), KT_ENOTFOUND);

    json_t *list = NULL;
    assert_int_equal(kt_store_remedies(s, "proposed", 0, 10, &list), APR_SUCCESS);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);

    kt_store_audit_t run = {"run_ended", "kotod", id, 7, "abc", NULL};
    assert_int_equal(kt_store_put_audit(s, &run), APR_SUCCESS);
    assert_int_equal(kt_store_audit(s, 0, 0, 10, &list), APR_SUCCESS);
    assert_int_equal(json_array_size(list), 3);
    const char *want[] = {"proposed", "approved", "run_ended"};
    for (size_t i = 0; i < 3; i++) {
        json_t *row = json_array_get(list, i);
        assert_string_equal(json_string_value(json_object_get(row, "action")), want[i]);
        assert_int_equal(json_integer_value(json_object_get(row, "id")), (json_int_t)i + 1);
    }
    json_decref(list);
    assert_int_equal(kt_store_audit(s, 1, 0, 1, &list), APR_SUCCESS); /* the next page */
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 2);
    json_decref(list);
    kt_store_close(s);
    json_decref(doc);

    const apr_dbd_driver_t *drv;
    apr_dbd_t *h;
    int n;
    assert_int_equal(apr_dbd_get_driver(root, "sqlite3", &drv), APR_SUCCESS);
    assert_int_equal(apr_dbd_open(drv, root, db, &h), APR_SUCCESS);
    assert_int_not_equal(apr_dbd_query(drv, h, &n, "DELETE FROM audit"), 0);
    assert_int_not_equal(apr_dbd_query(drv, h, &n, "UPDATE audit SET who = 'x'"), 0);
    apr_dbd_close(drv, h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_round_trip),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_trimmed_at_start),
        cmocka_unit_test(test_trims_held),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_monitor_state),
        cmocka_unit_test(test_outbox),
        cmocka_unit_test(test_notify_due),
        cmocka_unit_test(test_corrupt_file_moved_aside),
        cmocka_unit_test(test_tentative_changes_nothing),
        cmocka_unit_test(test_newer_schema_untouched),
        cmocka_unit_test(test_remedies_and_audit),
    };
    return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
