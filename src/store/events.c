/*
 * events.c - the event log on disk: writing, paging, clearing, trimming;
 * and the small facts beside it (the highest id given out, the detectors'
 * state).
 *
 * Each event is kept as the JSON the API answers with, plus the columns it
 * is looked up by, so a page is read without rebuilding anything.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include <apr_strings.h>

static int put_meta(kt_store_t *s, const char *key, const char *value)
{
    int n;
    return apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.put_meta, key, value,
                           NULL);
}

static const char *get_meta(kt_store_t *s, const char *key)
{
    apr_dbd_results_t *res = NULL;
    if (apr_dbd_pvselect(s->db.drv, s->db.scratch, s->db.handle, &res, s->db.get_meta, 0, key,
                         NULL) != 0)
        return NULL;
    return kt__db_first(s, res);
}

/* Records a failed write as the reason the store is degraded. */
static apr_status_t write_failed(kt_store_t *s, const char *what, int rc)
{
    apr_thread_mutex_lock(s->lock);
    snprintf(s->info.message, sizeof s->info.message, "cannot write %s: %s", what,
             kt__db_error(s, rc));
    apr_thread_mutex_unlock(s->lock);
    return APR_EGENERAL;
}

apr_status_t kt__events_write(kt_store_t *s, const kt_event_t *ev, unsigned n)
{
    int rc = kt__db_exec(s, "BEGIN IMMEDIATE");
    uint64_t top = 0;
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        json_t *j = kt_json_event(&ev[i]);
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        int rows;
        rc = text ? apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &rows,
                                    s->db.insert_event, kt__db_u64(s, ev[i].id), kt__db_ms(s, ev[i].time),
                                    kt_event_type_name(ev[i].type),
                                    kt_severity_name(ev[i].severity), kt_event_state_name(&ev[i]),
                                    ev[i].subject, text, NULL)
                  : -1;
        free(text);
        /* In the same transaction: a committed event that a channel wants
         * is notified, even when kotod dies before the outbox has it. */
        if (rc == 0 && ev[i].routed)
            rc = apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &rows, s->db.due_add,
                                 kt__db_u64(s, ev[i].id), NULL);
        if (ev[i].id > top)
            top = ev[i].id;
    }
    /* The mark only moves up; the thread knows it, so it need not be read. */
    if (rc == 0 && top > s->mark_id)
        rc = put_meta(s, "last_event_id", kt__db_u64(s, top));
    if (rc == 0)
        rc = kt__db_exec(s, "COMMIT");
    if (rc != 0) {
        kt__db_exec(s, "ROLLBACK");
        return write_failed(s, "events", rc);
    }
    if (top > s->mark_id)
        s->mark_id = top;
    apr_thread_mutex_lock(s->lock);
    s->info.events += n; /* the trim recounts */
    apr_thread_mutex_unlock(s->lock);
    return APR_SUCCESS;
}

uint64_t kt__events_last_id(kt_store_t *s)
{
    const char *stored = kt__db_value(s, "SELECT max(id) FROM events");
    const char *mark = get_meta(s, "last_event_id");
    uint64_t a = stored ? strtoull(stored, NULL, 10) : 0, b = mark ? strtoull(mark, NULL, 10) : 0;
    return a > b ? a : b;
}

apr_status_t kt__events_query(kt_store_t *s, const kt_store_query_t *q, json_t **out)
{
    /* The next page after since_id, else the newest page (before before_id). */
    int next = q->since_id && !q->before_id;
    const char *type = q->type >= 0 ? kt_event_type_name(q->type) : "";
    const char *sev = q->severity >= 0 ? kt_severity_name(q->severity) : "";
    apr_dbd_results_t *res = NULL;
    int rc = apr_dbd_pvselect(
        s->db.drv, s->db.scratch, s->db.handle, &res, next ? s->db.select_next : s->db.select_last,
        0, kt__db_u64(s, q->since_id), kt__db_u64(s, q->before_id ? q->before_id : INT64_MAX),
        kt__db_ms(s, q->from), q->to ? kt__db_ms(s, q->to) : kt__db_u64(s, INT64_MAX), type, type, sev, sev,
        kt__db_u64(s, q->limit ? q->limit : 1), NULL);
    if (rc != 0)
        return write_failed(s, "(reading) events", rc);
    json_t *list = json_array();
    apr_dbd_row_t *row;
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0) {
        json_t *e = json_loads(apr_dbd_get_entry(s->db.drv, row, 0), 0, NULL);
        if (e)
            json_array_append_new(list, e);
    }
    if (!next) { /* newest first from the database; oldest first for the caller */
        size_t n = json_array_size(list);
        json_t *fwd = json_array();
        for (size_t i = n; i-- > 0;)
            json_array_append(fwd, json_array_get(list, i));
        json_decref(list);
        list = fwd;
    }
    *out = list;
    return APR_SUCCESS;
}

static int journal(kt_store_t *s, const char *what, const char *who, const char *detail)
{
    int n;
    return apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.journal,
                           kt__db_ms(s, apr_time_now()), what, who, detail, NULL);
}

apr_status_t kt__events_clear(kt_store_t *s, const char *who, unsigned *removed)
{
    const char *count = kt__db_value(s, "SELECT count(*) FROM events");
    *removed = count ? (unsigned)strtoul(count, NULL, 10) : 0;
    int rc = kt__db_exec(s, "BEGIN IMMEDIATE");
    if (rc == 0)
        rc = kt__db_exec(s, "DELETE FROM events");
    if (rc == 0)
        rc = journal(s, "events_cleared", who, apr_psprintf(s->db.scratch, "%u events", *removed));
    if (rc == 0)
        rc = kt__db_exec(s, "COMMIT");
    if (rc != 0) {
        kt__db_exec(s, "ROLLBACK");
        return write_failed(s, "the clearing of the log", rc);
    }
    kt__events_trim(s);
    return APR_SUCCESS;
}

void kt__events_count(kt_store_t *s)
{
    const char *count = kt__db_value(s, "SELECT count(*) FROM events");
    apr_thread_mutex_lock(s->lock);
    s->info.events = count ? strtoull(count, NULL, 10) : 0;
    apr_thread_mutex_unlock(s->lock);
}

void kt__events_trim(kt_store_t *s)
{
    apr_thread_mutex_lock(s->lock);
    unsigned days = s->opts.event_days, max = s->opts.max_events, max_mb = s->opts.max_mb;
    uint64_t events = s->info.events; /* as counted last, and written since */
    apr_thread_mutex_unlock(s->lock);
    int n;
    if (days)
        apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.delete_older,
                        kt__db_ms(s, apr_time_now() - apr_time_from_sec(86400) * days), NULL);
    /* Finding where to cut walks max rows: only when there may be more. */
    if (max && events > max)
        apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.delete_beyond,
                        kt__db_u64(s, max), NULL);
    /* Give the freed pages back, a bounded number at a time. */
    kt__db_value(s, "PRAGMA incremental_vacuum(256)");
    if (max_mb)
        kt__db_cap_size(s, (uint64_t)max_mb << 20);
    kt__events_count(s);
}

apr_status_t kt__state_write(kt_store_t *s, json_t *state)
{
    char *text = json_dumps(state, JSON_COMPACT);
    if (!text)
        return APR_ENOMEM;
    int rc = kt__db_exec(s, "BEGIN IMMEDIATE");
    if (rc == 0)
        rc = put_meta(s, "monitor_state", text);
    if (rc == 0)
        rc = put_meta(s, "monitor_state_at", kt__db_ms(s, apr_time_now()));
    if (rc == 0)
        rc = kt__db_exec(s, "COMMIT");
    free(text);
    if (rc != 0) {
        kt__db_exec(s, "ROLLBACK");
        return write_failed(s, "the monitor's state", rc);
    }
    return APR_SUCCESS;
}

json_t *kt__state_read(kt_store_t *s, apr_time_t *saved_at)
{
    const char *text = get_meta(s, "monitor_state"), *at = get_meta(s, "monitor_state_at");
    *saved_at = at ? apr_time_from_msec(strtoll(at, NULL, 10)) : 0;
    return text ? json_loads(text, 0, NULL) : NULL;
}
