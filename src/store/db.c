/*
 * db.c - the database file: opening it owner-only, telling a corrupt file
 * from a newer one, the schema and its migrations, the prepared statements.
 *
 * Through APR-DBD's sqlite3 driver: its query call wants statements that
 * return no rows, so the PRAGMAs that answer with one go through select.
 * The driver hands back SQLite's own result codes; 11 (SQLITE_CORRUPT) and
 * 26 (SQLITE_NOTADB) mean the file is not a usable database, and so do
 * their messages under the generic 1 that the driver's legacy
 * sqlite3_prepare reports instead. 3, 8, 10, 13 and 14 (permission,
 * read-only, I/O error, full, cannot open) mean it cannot be written now.
 */
#include "store_internal.h"
#include "kt_sys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>

#define SQLITE_PERM 3
#define SQLITE_READONLY 8
#define SQLITE_IOERR 10
#define SQLITE_CORRUPT 11
#define SQLITE_FULL 13
#define SQLITE_CANTOPEN 14
#define SQLITE_NOTADB 26

/* Each migration takes the schema from its index to the next one. */
static const char *const migrations[] = {
    /* 0 -> 1: the event log, small facts (the last id, the detectors' state)
     * and a journal of what was done to the log. */
    "CREATE TABLE events (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " type TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,"
    " subject TEXT NOT NULL, json TEXT NOT NULL);"
    "CREATE INDEX events_time ON events (time_ms);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE journal (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " what TEXT NOT NULL, who TEXT NOT NULL, detail TEXT NOT NULL);",
    /* 1 -> 2: the history. A chunk is a series' points of one tier (0 the
     * readings, 1 minutes, 2 hours) from t0 to t1, packed (chunk.c). Without
     * rowid: the rows are found by their key and are mostly under a
     * kilobyte, so the key is the table. */
    "CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " unit TEXT NOT NULL, scale REAL NOT NULL);"
    "CREATE TABLE chunks (series INTEGER NOT NULL, tier INTEGER NOT NULL, t0 INTEGER NOT NULL,"
    " t1 INTEGER NOT NULL, step INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY (series, tier, t0)) WITHOUT ROWID;"
    "CREATE INDEX chunks_age ON chunks (tier, t1);",
    /* -> next: the notification outbox and the silences. An outbox row is
     * written before the first attempt and keeps its id (the receiver's
     * dedup key) across restarts; state is pending, sent or failed. A
     * silence is kept as the API shows it, until a day after it ended. */
    "CREATE TABLE outbox (id TEXT PRIMARY KEY, channel TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL, next_ms INTEGER NOT NULL,"
    " state TEXT NOT NULL, error TEXT NOT NULL, updated_ms INTEGER NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX outbox_state ON outbox (state, updated_ms);"
    "CREATE TABLE silences (id INTEGER PRIMARY KEY, ends_ms INTEGER NOT NULL, json TEXT NOT NULL);",
    /* -> next: remediation proposals (kept as the JSON the API answers
     * with) and their audit, which triggers keep append-only. */
    "CREATE TABLE remedies (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " state TEXT NOT NULL, json TEXT NOT NULL);"
    "CREATE INDEX remedies_state ON remedies (state);"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " action TEXT NOT NULL, who TEXT NOT NULL, remedy_id INTEGER NOT NULL,"
    " event_id INTEGER NOT NULL, sha256 TEXT NOT NULL, json TEXT NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;",
    /* -> next: the events a notification channel wants, written in the
     * event's own transaction and deleted once the notifier has their
     * outbox rows, so a kill between the two loses no notification. */
    "CREATE TABLE notify_due (event_id INTEGER PRIMARY KEY);",
};
/* The schema is the number of migrations: a new one is only appended. */
_Static_assert(KT_ARRAY_SIZE(migrations) == KT_STORE_SCHEMA, "KT_STORE_SCHEMA is the migrations' count");

void kt__db_set_off(kt_store_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    apr_thread_mutex_lock(s->lock); /* the store thread's too, when it opens again */
    s->info.state = KT_STORE_OFF;
    vsnprintf(s->info.message, sizeof s->info.message, fmt, ap);
    apr_thread_mutex_unlock(s->lock);
    va_end(ap);
    s->db.waiting = 0;
    kt_log(KT_LOG_ERROR, "store: %s; kotod goes on from memory", s->info.message);
}

const char *kt__db_i64(kt_store_t *s, int64_t v)
{
    return apr_psprintf(s->db.scratch, "%" APR_INT64_T_FMT, v);
}

const char *kt__db_u64(kt_store_t *s, uint64_t v)
{
    return apr_psprintf(s->db.scratch, "%" APR_UINT64_T_FMT, v);
}

const char *kt__db_ms(kt_store_t *s, apr_time_t t) { return kt__db_i64(s, apr_time_as_msec(t)); }

const char *kt__db_error(kt_store_t *s, int rc)
{
    const char *e = s->db.handle ? apr_dbd_error(s->db.drv, s->db.handle, rc) : NULL;
    return apr_psprintf(s->db.scratch, "%s (%d)", e ? e : "error", rc);
}

int kt__db_exec(kt_store_t *s, const char *sql)
{
    int nrows;
    return apr_dbd_query(s->db.drv, s->db.handle, &nrows, sql);
}

const char *kt__db_first(kt_store_t *s, apr_dbd_results_t *res)
{
    apr_dbd_row_t *row = NULL;
    if (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) != 0)
        return NULL;
    const char *v = apr_dbd_get_entry(s->db.drv, row, 0);
    /* Rows not read keep the statement open in some drivers: read them out. */
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0)
        ;
    return v;
}

/* Like kt__db_value, with the driver's code in *rc. */
static const char *value_rc(kt_store_t *s, const char *sql, int *rc)
{
    apr_dbd_results_t *res = NULL;
    *rc = apr_dbd_select(s->db.drv, s->db.scratch, s->db.handle, &res, sql, 0);
    return *rc == 0 ? kt__db_first(s, res) : NULL;
}

const char *kt__db_value(kt_store_t *s, const char *sql)
{
    int rc;
    return value_rc(s, sql, &rc);
}

void kt__db_measure(kt_store_t *s)
{
    uint64_t size = 0;
    const char *suffixes[] = {"", "-wal"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(suffixes); i++) {
        apr_finfo_t fi;
        const char *p = apr_pstrcat(s->db.scratch, s->opts.path, suffixes[i], NULL);
        if (apr_stat(&fi, p, APR_FINFO_SIZE, s->db.scratch) == APR_SUCCESS)
            size += (uint64_t)fi.size;
    }
    apr_thread_mutex_lock(s->lock);
    s->info.size_bytes = size;
    apr_thread_mutex_unlock(s->lock);
}

uint64_t kt__db_bytes_in_use(kt_store_t *s)
{
    const char *pages = kt__db_value(s, "PRAGMA page_count");
    const char *free_pages = kt__db_value(s, "PRAGMA freelist_count");
    const char *size = kt__db_value(s, "PRAGMA page_size");
    if (!pages || !free_pages || !size)
        return 0;
    return (strtoull(pages, NULL, 10) - strtoull(free_pages, NULL, 10)) * strtoull(size, NULL, 10);
}

void kt__db_cap_size(kt_store_t *s, uint64_t cap)
{
    /* What goes first: the oldest quarter of the readings, again and
     * again, then of the minutes, then of the hours, then of the events
     * (the newest hundred stay): what is oldest and finest is the least
     * missed. */
    for (int round = 0, tier = 0; round < 64 && kt__db_bytes_in_use(s) > cap; round++) {
        int n;
        if (tier < KT__TIERS) {
            const char *left = kt__db_value(
                s, apr_psprintf(s->db.scratch, "SELECT count(*) FROM chunks WHERE tier = %d", tier));
            uint64_t rows = left ? strtoull(left, NULL, 10) : 0;
            if (rows == 0) {
                tier++;
                continue;
            }
            kt__db_exec(s, apr_psprintf(s->db.scratch,
                                        "DELETE FROM chunks WHERE tier = %d AND t0 <= (SELECT t0"
                                        " FROM chunks WHERE tier = %d ORDER BY t0 LIMIT 1 OFFSET %"
                                        APR_UINT64_T_FMT ")",
                                        tier, tier, rows / 4));
            continue;
        }
        const char *count = kt__db_value(s, "SELECT count(*) FROM events");
        uint64_t events = count ? strtoull(count, NULL, 10) : 0;
        if (events <= 100)
            break;
        apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.delete_beyond,
                        apr_psprintf(s->db.scratch, "%" APR_UINT64_T_FMT, events - events / 4),
                        NULL);
    }
    kt__db_value(s, "PRAGMA incremental_vacuum");
    kt__db_value(s, "PRAGMA wal_checkpoint(TRUNCATE)");
}

/* The handle and its statements live in their own pool: a store that
 * waits for its disk opens and closes it again and again. */
void kt__db_close_handle(kt_store_t *s)
{
    if (s->db.handle)
        apr_dbd_close(s->db.drv, s->db.handle); /* finalizes the statements first */
    s->db.handle = NULL;
    s->db.writable = 0;
    if (s->db.conn)
        apr_pool_destroy(s->db.conn);
    s->db.conn = NULL;
}

void kt__db_close(kt_store_t *s)
{
    kt__db_close_handle(s);
    if (s->db.pool)
        apr_pool_destroy(s->db.pool);
    s->db.pool = s->db.scratch = NULL;
}

static apr_status_t open_handle(kt_store_t *s, const char *name, const char **why)
{
    *why = NULL;
    apr_status_t st = apr_pool_create(&s->db.conn, s->db.pool);
    if (st == APR_SUCCESS)
        st = apr_dbd_open_ex(s->db.drv, s->db.conn, name, &s->db.handle, why);
    if (st != APR_SUCCESS) {
        *why = apr_pstrdup(s->db.scratch, *why ? *why : "the driver could not open it");
        kt__db_close_handle(s);
    }
    return st;
}

/* Opens the file, made owner-only first when it is new, and its -wal and
 * -shm files too: on Unix SQLite gives them the database's permissions,
 * but elsewhere (Windows without inherited rights, Wine) they would be
 * made with the defaults. SQLite takes empty ones as none. */
static apr_status_t open_file(kt_store_t *s, int tentative, const char **why)
{
    /* A tentative open makes no file: it takes one that is there (SQLite
     * would make it), and SQLite gives its WAL and shared memory that
     * file's own mode. */
    if (tentative) {
        apr_finfo_t fi;
        apr_status_t st = apr_stat(&fi, s->opts.path, APR_FINFO_TYPE, s->db.scratch);
        if (st != APR_SUCCESS) {
            *why = "no file";
            return st;
        }
        return open_handle(s, s->opts.path, why);
    }
    apr_status_t st = kt_sys_create_secret(s->opts.path, "", 0, s->db.scratch);
    if (st != APR_SUCCESS && !APR_STATUS_IS_EEXIST(st)) {
        char buf[256];
        *why = apr_pstrdup(s->db.scratch, kt_strerror(st, buf, sizeof buf));
        return st;
    }
    const char *suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(suffixes); i++)
        kt_sys_create_secret(apr_pstrcat(s->db.scratch, s->opts.path, suffixes[i], NULL), "", 0,
                             s->db.scratch);
    return open_handle(s, s->opts.path, why);
}

static int damaged(kt_store_t *s, int rc)
{
    const char *e = rc ? apr_dbd_error(s->db.drv, s->db.handle, rc) : NULL;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ||
           (e && (strstr(e, "not a database") || strstr(e, "malformed")));
}

/* Moves a file that is not a database aside, with its WAL and shared memory. */
static int move_aside(kt_store_t *s, const char *what)
{
    kt__db_close_handle(s);
    char stamp[32];
    apr_time_exp_t t;
    apr_size_t n;
    apr_time_exp_gmt(&t, apr_time_now());
    apr_strftime(stamp, &n, sizeof stamp, "%Y%m%dT%H%M%SZ", &t);
    const char *aside = apr_psprintf(s->db.scratch, "%s.corrupt-%s", s->opts.path, stamp);
    if (apr_file_rename(s->opts.path, aside, s->db.scratch) != APR_SUCCESS) {
        kt__db_set_off(s, "%s is damaged (%s) and cannot be moved aside", s->opts.path, what);
        return -1;
    }
    const char *suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(suffixes); i++)
        apr_file_rename(apr_pstrcat(s->db.scratch, s->opts.path, suffixes[i], NULL),
                        apr_pstrcat(s->db.scratch, aside, suffixes[i], NULL), s->db.scratch);
    apr_thread_mutex_lock(s->lock);
    snprintf(s->info.message, sizeof s->info.message,
             "%s was damaged (%s): moved to %s, a new one was started", s->opts.path, what,
             aside);
    apr_thread_mutex_unlock(s->lock);
    kt_log(KT_LOG_ERROR, "store: %s", s->info.message);
    return 0;
}

/* The schema the file has: >= 0, or -1 when the file is not a database
 * (rc says which error). */
static int file_schema(kt_store_t *s, int *rc)
{
    const char *v = value_rc(s, "PRAGMA user_version", rc);
    if (*rc == 0 && v)
        *rc = kt__db_value(s, "SELECT count(*) FROM sqlite_master") ? 0 : SQLITE_NOTADB;
    return *rc == 0 && v ? atoi(v) : -1;
}

static int migrate(kt_store_t *s, int from)
{
    for (int v = from; v < KT_STORE_SCHEMA; v++) {
        const char *sql = apr_psprintf(s->db.scratch, "BEGIN IMMEDIATE;%sPRAGMA user_version=%d;COMMIT;",
                                       migrations[v], v + 1);
        int rc = kt__db_exec(s, sql);
        if (rc != 0) {
            kt__db_exec(s, "ROLLBACK");
            kt__db_set_off(s, "cannot bring the database to schema %d: %s", v + 1, kt__db_error(s, rc));
            return -1;
        }
    }
    return 0;
}

static int prepare(kt_store_t *s, const char *sql, apr_dbd_prepared_t **out)
{
    int rc = apr_dbd_prepare(s->db.drv, s->db.conn, s->db.handle, sql, NULL, out);
    if (rc != 0)
        kt__db_set_off(s, "cannot prepare a statement: %s", kt__db_error(s, rc));
    return rc;
}

static int prepare_all(kt_store_t *s)
{
    kt__db_t *d = &s->db;
    return prepare(s,
                   "INSERT OR REPLACE INTO events (id, time_ms, type, severity, state, subject,"
                   " json) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   &d->insert_event) ||
           /* Filters: '' or 0 means none; the last page comes newest first. */
           prepare(s,
                   "SELECT json FROM events WHERE id > %s AND id < %s AND time_ms >= %s"
                   " AND time_ms <= %s AND (%s = '' OR type = %s) AND (%s = '' OR severity = %s)"
                   " ORDER BY id ASC LIMIT %s",
                   &d->select_next) ||
           prepare(s,
                   "SELECT json FROM events WHERE id > %s AND id < %s AND time_ms >= %s"
                   " AND time_ms <= %s AND (%s = '' OR type = %s) AND (%s = '' OR severity = %s)"
                   " ORDER BY id DESC LIMIT %s",
                   &d->select_last) ||
           prepare(s, "DELETE FROM events WHERE time_ms < %s", &d->delete_older) ||
           prepare(s,
                   "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC"
                   " LIMIT 1 OFFSET %s)",
                   &d->delete_beyond) ||
           prepare(s, "INSERT OR REPLACE INTO meta (key, value) VALUES (%s, %s)", &d->put_meta) ||
           prepare(s, "SELECT value FROM meta WHERE key = %s", &d->get_meta) ||
           prepare(s, "INSERT INTO journal (time_ms, what, who, detail) VALUES (%s, %s, %s, %s)",
                   &d->journal) ||
           prepare(s, "INSERT OR IGNORE INTO series (name, unit, scale) VALUES (%s, %s, %s)",
                   &d->put_series) ||
           prepare(s, "SELECT id FROM series WHERE name = %s", &d->get_series) ||
           prepare(s,
                   "INSERT OR REPLACE INTO chunks (series, tier, t0, t1, step, n, data)"
                   " VALUES (%s, %s, %s, %s, %s, %s, %pDb)",
                   &d->put_chunk) ||
           prepare(s,
                   "SELECT c.t0, c.t1, c.step, c.n, length(c.data), s.scale, c.data FROM chunks c"
                   " JOIN series s ON s.id = c.series WHERE c.series = %s AND c.tier = %s"
                   " AND c.t1 >= %s AND c.t0 <= %s ORDER BY c.t0",
                   &d->get_chunks) ||
           /* A bounded number at a time: a trim after a long stop must not
            * hold the store thread for long. */
           prepare(s,
                   "DELETE FROM chunks WHERE (series, tier, t0) IN (SELECT series, tier, t0"
                   " FROM chunks WHERE tier = %s AND t1 < %s LIMIT 2000)",
                   &d->trim_tier) ||
           prepare(s,
                   "INSERT OR IGNORE INTO outbox (id, channel, created_ms, attempts, next_ms, state,"
                   " error, updated_ms, body) VALUES (%s, %s, %s, %s, %s, 'pending', '', %s, %s)",
                   &d->outbox_add) ||
           prepare(s,
                   "UPDATE outbox SET attempts = %s, next_ms = %s, state = %s, error = %s,"
                   " updated_ms = %s WHERE id = %s",
                   &d->outbox_set) ||
           prepare(s, "SELECT body FROM outbox WHERE id = %s", &d->outbox_body) ||
           prepare(s, "INSERT OR IGNORE INTO notify_due (event_id) VALUES (%s)", &d->due_add) ||
           prepare(s, "DELETE FROM notify_due WHERE event_id = %s", &d->due_done) ||
           prepare(s, "DELETE FROM outbox WHERE state <> 'pending' AND updated_ms < %s",
                   &d->outbox_trim) ||
           prepare(s, "INSERT OR REPLACE INTO silences (id, ends_ms, json) VALUES (%s, %s, %s)",
                   &d->silence_put) ||
           prepare(s, "SELECT json FROM silences WHERE ends_ms >= %s ORDER BY id", &d->silence_list) ||
           prepare(s, "DELETE FROM silences WHERE ends_ms < %s", &d->silence_trim) ||
           prepare(s, "INSERT INTO remedies (id, time_ms, state, json) VALUES (%s, %s, %s, %s)",
                   &d->insert_remedy) ||
           prepare(s, "UPDATE remedies SET state = %s, json = %s WHERE id = %s AND state = %s",
                   &d->update_remedy) ||
           prepare(s, "SELECT json FROM remedies WHERE id = %s", &d->select_remedy) ||
           prepare(s,
                   "SELECT json FROM remedies WHERE id < %s AND (%s = '' OR state = %s)"
                   " ORDER BY id DESC LIMIT %s",
                   &d->select_remedies) ||
           prepare(s,
                   "INSERT INTO audit (time_ms, action, who, remedy_id, event_id, sha256, json)"
                   " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   &d->insert_audit) ||
           prepare(s,
                   "SELECT json FROM audit WHERE id > %s AND id < %s ORDER BY id ASC LIMIT %s",
                   &d->select_audit_next) ||
           prepare(s,
                   "SELECT json FROM audit WHERE id > %s AND id < %s ORDER BY id DESC LIMIT %s",
                   &d->select_audit_last);
}

/* What SQLite answers for a file it cannot write now (a read-only or full
 * file system, permissions): a state that may pass. By code, or by its
 * message under the driver's generic 1, as for damaged(). */
static int cannot_write(kt_store_t *s, int rc)
{
    const char *e = rc ? apr_dbd_error(s->db.drv, s->db.handle, rc) : NULL;
    int primary = rc & 0xff; /* of an extended code */
    return primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM ||
           primary == SQLITE_IOERR || primary == SQLITE_FULL ||
           (e && (strstr(e, "unable to open") || strstr(e, "readonly") ||
                  strstr(e, "disk I/O error") || strstr(e, "is full")));
}

/* Degraded, not off: events and readings are kept in memory, and the store
 * thread opens the file again every few seconds (kt__db_reopen). */
static void set_waiting(kt_store_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_waiting(kt_store_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    apr_thread_mutex_lock(s->lock);
    s->info.state = KT_STORE_DEGRADED;
    vsnprintf(s->info.message, sizeof s->info.message, fmt, ap);
    apr_thread_mutex_unlock(s->lock);
    va_end(ap);
    if (!s->db.waiting)
        kt_log(KT_LOG_WARN, "store: %s; events and readings are kept in memory until it can write",
               s->info.message);
    s->db.waiting = 1;
    s->db.next_open = apr_time_now() + apr_time_from_sec(KT__STORE_RETRY_S);
}

/* A file that cannot be written may still be read, so that event ids go
 * on and the conditions in progress are known. In WAL mode SQLite needs
 * the -shm file to read, which a read-only file system cannot give; an
 * immutable open needs none. It takes a URI name: Debian's SQLite reads
 * those, and only an absolute Unix path makes one (the Windows build's
 * SQLite takes no URIs and reads nothing here). */
static void open_for_reading(kt_store_t *s)
{
    const char *p = s->opts.path, *why;
    if (p[0] != '/')
        return;
    char *uri = apr_palloc(s->db.scratch, strlen(p) * 3 + 32), *o = uri;
    o += sprintf(o, "file:");
    for (; *p; p++)
        o += strchr("/._~-", *p) || apr_isalnum(*p) ? sprintf(o, "%c", *p)
                                                    : sprintf(o, "%%%02X", (unsigned char)*p);
    strcpy(o, "?immutable=1");
    int rc;
    if (open_handle(s, uri, &why) != APR_SUCCESS)
        return;
    if (file_schema(s, &rc) != KT_STORE_SCHEMA || prepare_all(s) != 0)
        kt__db_close_handle(s);
}

/* A tentative open gives way, quietly: the store is off and the file left
 * for the open that may change it, which will say what it finds. */
static void give_way(kt_store_t *s, const char *why)
{
    kt_log(KT_LOG_DEBUG, "store %s: %s; left for the start to open", s->opts.path, why);
    apr_thread_mutex_lock(s->lock);
    s->info.state = KT_STORE_OFF;
    apr_thread_mutex_unlock(s->lock);
    kt__db_close_handle(s);
}

void kt__db_open(kt_store_t *s)
{
    if (!s->db.pool) {
        s->info.state = KT_STORE_OFF;
        if (apr_pool_create(&s->db.pool, s->pool) != APR_SUCCESS ||
            apr_pool_create(&s->db.scratch, s->db.pool) != APR_SUCCESS)
            return;
        apr_dbd_init(s->db.pool);
        if (apr_dbd_get_driver(s->db.pool, "sqlite3", &s->db.drv) != APR_SUCCESS) {
            kt__db_set_off(s, "APR-DBD's sqlite3 driver is not available (on Debian: libaprutil1-dbd-sqlite3)");
            return;
        }
    }
    /* A store waiting for its disk may hold a handle that only reads: it
     * goes before a new one comes, or each try would leak a connection. */
    kt__db_close_handle(s);
    apr_thread_mutex_lock(s->lock);
    int tentative = s->opts.tentative;
    apr_thread_mutex_unlock(s->lock);
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *why = NULL;
        if (open_file(s, tentative, &why) != APR_SUCCESS) {
            if (tentative)
                give_way(s, why);
            else
                set_waiting(s, "cannot open %s: %s", s->opts.path, why);
            return;
        }
        int rc, schema = file_schema(s, &rc);
        if (tentative && schema != KT_STORE_SCHEMA) { /* new, older, newer or damaged */
            give_way(s, "not a database of this build's schema");
            return;
        }
        if (schema < 0 && damaged(s, rc) && attempt == 0) {
            if (move_aside(s, kt__db_error(s, rc)) != 0)
                return;
            continue;
        }
        if (schema < 0 && cannot_write(s, rc)) {
            const char *e = kt__db_error(s, rc);
            kt__db_close_handle(s);
            open_for_reading(s);
            set_waiting(s, "cannot open %s: %s", s->opts.path, e);
            return;
        }
        if (schema < 0) {
            kt__db_set_off(s, "cannot read %s: %s", s->opts.path, kt__db_error(s, rc));
            kt__db_close_handle(s);
            return;
        }
        if (schema > KT_STORE_SCHEMA) {
            /* Refused and left exactly as it is: nothing below ran on it. */
            kt__db_set_off(s, "%s has schema version %d; this kotod knows up to %d: it is left untouched",
                    s->opts.path, schema, KT_STORE_SCHEMA);
            kt__db_close_handle(s);
            return;
        }
        /* auto_vacuum only takes on a file without tables: before the first migration. */
        if (schema == 0)
            kt__db_exec(s, "PRAGMA auto_vacuum=INCREMENTAL");
        kt__db_value(s, "PRAGMA journal_mode=WAL");
        kt__db_exec(s, "PRAGMA synchronous=NORMAL");
        kt__db_value(s, "PRAGMA busy_timeout=2000");
        /* The WAL shrinks back to this after a checkpoint, so it stays
         * within the size cap's reach. */
        kt__db_value(s, "PRAGMA journal_size_limit=4194304");
        /* A small page cache: the store writes mostly appends and reads
         * what it wrote last; SQLite's default 2 MiB would be most of
         * kotod's own memory. */
        kt__db_exec(s, "PRAGMA cache_size=-512");
        /* SQLite opens a file it cannot write for reading only: the first
         * write would tell, so ask before the migrations (and after
         * auto_vacuum, which a transaction on a new file would settle). */
        if ((rc = kt__db_exec(s, "BEGIN IMMEDIATE")) != 0 && cannot_write(s, rc)) {
            if (tentative) {
                give_way(s, "cannot write it");
                return;
            }
            const char *e = kt__db_error(s, rc);
            if (schema != KT_STORE_SCHEMA || prepare_all(s) != 0)
                kt__db_close_handle(s);
            set_waiting(s, "cannot write %s: %s", s->opts.path, e);
            return;
        }
        kt__db_exec(s, "ROLLBACK");
        if (migrate(s, schema) != 0 || prepare_all(s) != 0) {
            kt__db_close_handle(s);
            return;
        }
        apr_thread_mutex_lock(s->lock);
        s->info.state = KT_STORE_OK;
        s->info.schema = KT_STORE_SCHEMA;
        if (attempt == 0)
            s->info.message[0] = '\0';
        apr_thread_mutex_unlock(s->lock);
        s->db.writable = 1;
        s->db.waiting = 0;
        return;
    }
}
