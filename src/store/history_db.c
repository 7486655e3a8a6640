/*
 * history_db.c - the tiers on disk, as the store thread writes and reads
 * them: one row per chunk (a series' points of one tier, packed by
 * chunk.c), rewritten as the chunk fills, so the disk holds every reading
 * up to the last flush.
 *
 * Writes that fail stay here as the newest copy of each chunk, bounded,
 * and are tried again; the store is degraded meanwhile, and catches up
 * when the disk takes them.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

/* The row id of a series, made on its first write; 0 on failure. */
static int64_t series_id(kt_store_t *s, const kt__chunk_row_t *r)
{
    if (!s->series_ids) /* a file opened late: its ids are learnt as they are needed */
        s->series_ids = apr_hash_make(s->db.pool);
    int64_t *id = apr_hash_get(s->series_ids, r->name, APR_HASH_KEY_STRING);
    if (id)
        return *id;
    int n;
    if (apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.put_series, r->name,
                        r->unit, apr_psprintf(s->db.scratch, "%.17g", r->scale), NULL) != 0)
        return 0;
    apr_dbd_results_t *res = NULL;
    if (apr_dbd_pvselect(s->db.drv, s->db.scratch, s->db.handle, &res, s->db.get_series, 0,
                         r->name, NULL) != 0)
        return 0;
    const char *v = kt__db_first(s, res);
    if (!v)
        return 0;
    id = apr_palloc(s->db.pool, sizeof *id);
    *id = strtoll(v, NULL, 10);
    apr_hash_set(s->series_ids, apr_pstrdup(s->db.pool, r->name), APR_HASH_KEY_STRING, id);
    return *id;
}

static int put_row(kt_store_t *s, const kt__chunk_row_t *r)
{
    int64_t id = series_id(s, r);
    if (!id)
        return -1;
    int n;
    /* A blob takes four arguments: the bytes, their length, table and column. */
    return apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.put_chunk,
                           kt__db_i64(s, id), kt__db_i64(s, r->tier), kt__db_i64(s, r->t0_ms), kt__db_i64(s, r->t1_ms),
                           kt__db_i64(s, r->step_ms), kt__db_i64(s, r->npoints), (const char *)r->data,
                           kt__db_i64(s, (int64_t)r->nbytes), "chunks", "data", NULL);
}

static void write_pending(kt_store_t *s)
{
    if (!s->db.writable) {
        s->hist_retry = apr_time_now() + apr_time_from_sec(KT__STORE_RETRY_S);
        return;
    }
    int rc = kt__db_exec(s, "BEGIN IMMEDIATE");
    for (unsigned i = 0; rc == 0 && i < s->nhpending; i++)
        rc = put_row(s, &s->hpending[i]);
    if (rc == 0)
        rc = kt__db_exec(s, "COMMIT");
    if (rc == 0) {
        kt__rows_free(s->hpending, s->nhpending);
        s->hpending = NULL;
        s->nhpending = 0;
        return;
    }
    kt__db_exec(s, "ROLLBACK");
    s->hist_retry = apr_time_now() + apr_time_from_sec(KT__STORE_RETRY_S);
    apr_thread_mutex_lock(s->lock);
    snprintf(s->info.message, sizeof s->info.message, "cannot write the history: %s",
             rc < 0 ? "a series could not be named" : kt__db_error(s, rc));
    apr_thread_mutex_unlock(s->lock);
}

void kt__hist_write(kt_store_t *s, kt__chunk_row_t *rows, unsigned n)
{
    if (!s->nhpending) { /* the usual case: nothing older waits */
        s->hpending = rows;
        s->nhpending = n;
        write_pending(s);
        return;
    }
    /* Each chunk's newest copy replaces any older one still pending (a
     * batch holds each chunk once). */
    for (unsigned i = 0; i < n; i++) {
        unsigned j = 0;
        while (j < s->nhpending &&
               (s->hpending[j].tier != rows[i].tier || s->hpending[j].t0_ms != rows[i].t0_ms ||
                strcmp(s->hpending[j].name, rows[i].name) != 0))
            j++;
        if (j < s->nhpending) {
            free(s->hpending[j].data);
            s->hpending[j] = rows[i];
            continue;
        }
        if (s->nhpending >= KT__HIST_PENDING) { /* the oldest go: a bound on memory */
            free(s->hpending[0].data);
            memmove(s->hpending, s->hpending + 1, sizeof *s->hpending * --s->nhpending);
        }
        kt__chunk_row_t *p = realloc(s->hpending, sizeof *p * (s->nhpending + 1));
        if (!p) {
            free(rows[i].data);
            continue;
        }
        s->hpending = p;
        s->hpending[s->nhpending++] = rows[i];
    }
    free(rows);
    write_pending(s);
}

void kt__hist_retry(kt_store_t *s)
{
    if (s->nhpending && apr_time_now() >= s->hist_retry)
        write_pending(s);
}

apr_status_t kt__hist_read(kt_store_t *s, const char *name, int tier, int64_t from_ms,
                           int64_t to_ms, kt__chunk_row_t **rows, unsigned *n)
{
    *rows = NULL;
    *n = 0;
    int64_t *id = s->series_ids ? apr_hash_get(s->series_ids, name, APR_HASH_KEY_STRING) : NULL;
    if (!id)
        return APR_SUCCESS; /* not written yet: all of it is in memory */
    apr_dbd_results_t *res = NULL;
    int rc = apr_dbd_pvselect(s->db.drv, s->db.scratch, s->db.handle, &res, s->db.get_chunks, 0,
                              kt__db_i64(s, *id), kt__db_i64(s, tier), kt__db_i64(s, from_ms), kt__db_i64(s, to_ms), NULL);
    if (rc != 0)
        return APR_EGENERAL;
    apr_dbd_row_t *row = NULL;
    unsigned cap = 0;
    apr_status_t st = APR_SUCCESS;
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0) {
        if (st != APR_SUCCESS)
            continue; /* read out */
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            kt__chunk_row_t *p = realloc(*rows, sizeof *p * cap);
            if (!p) {
                st = APR_ENOMEM;
                continue;
            }
            *rows = p;
        }
        kt__chunk_row_t *r = &(*rows)[*n];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", name);
        r->tier = tier;
        r->t0_ms = strtoll(apr_dbd_get_entry(s->db.drv, row, 0), NULL, 10);
        r->t1_ms = strtoll(apr_dbd_get_entry(s->db.drv, row, 1), NULL, 10);
        r->step_ms = strtoll(apr_dbd_get_entry(s->db.drv, row, 2), NULL, 10);
        r->npoints = (unsigned)strtoul(apr_dbd_get_entry(s->db.drv, row, 3), NULL, 10);
        r->nbytes = strtoul(apr_dbd_get_entry(s->db.drv, row, 4), NULL, 10);
        r->scale = strtod(apr_dbd_get_entry(s->db.drv, row, 5), NULL);
        const char *data = apr_dbd_get_entry(s->db.drv, row, 6);
        if (!(r->data = malloc(r->nbytes + 1))) {
            st = APR_ENOMEM;
            continue;
        }
        if (data)
            memcpy(r->data, data, r->nbytes);
        else
            r->nbytes = 0;
        (*n)++;
    }
    if (st != APR_SUCCESS) {
        kt__rows_free(*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return st;
}

apr_status_t kt__hist_series(kt_store_t *s, json_t **out)
{
    apr_dbd_results_t *res = NULL;
    if (apr_dbd_select(s->db.drv, s->db.scratch, s->db.handle, &res,
                       "SELECT s.name, s.unit, min(c.t0), max(c.t1) FROM series s"
                       " JOIN chunks c ON c.series = s.id GROUP BY s.id ORDER BY s.name",
                       0) != 0)
        return APR_EGENERAL;
    json_t *list = json_array();
    apr_dbd_row_t *row = NULL;
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0)
        json_array_append_new(
            list, json_pack("{s:s s:s s:I s:I}", "metric", apr_dbd_get_entry(s->db.drv, row, 0),
                            "unit", apr_dbd_get_entry(s->db.drv, row, 1), "first",
                            (json_int_t)strtoll(apr_dbd_get_entry(s->db.drv, row, 2), NULL, 10),
                            "last",
                            (json_int_t)strtoll(apr_dbd_get_entry(s->db.drv, row, 3), NULL, 10)));
    *out = list;
    return APR_SUCCESS;
}

int kt__hist_trim(kt_store_t *s)
{
    apr_thread_mutex_lock(s->lock);
    int64_t keep[KT__TIERS] = {(int64_t)s->opts.raw_hours * 3600000,
                               (int64_t)s->opts.minute_days * 86400000,
                               (int64_t)s->opts.hour_days * 86400000};
    apr_thread_mutex_unlock(s->lock);
    int64_t now = apr_time_as_msec(apr_time_now());
    int more = 0;
    for (int t = 0; t < KT__TIERS; t++) {
        int n = 0;
        apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.trim_tier, kt__db_i64(s, t),
                        kt__db_i64(s, now - keep[t]), NULL);
        more |= n >= 2000;
    }
    return more;
}

/* ---- where each series left off ----------------------------------------------------------- */

/* Where each series' tiers end: the time of each tier's newest point
 * (INT64_MIN for none), by series id, from one query rather than one per
 * series and tier (a few milliseconds of the start). */
typedef struct {
    int64_t newest[KT__TIERS];
} ends_t;

static apr_hash_t *tier_ends(kt_store_t *s)
{
    apr_hash_t *ends = apr_hash_make(s->db.scratch);
    apr_dbd_results_t *res = NULL;
    if (apr_dbd_select(s->db.drv, s->db.scratch, s->db.handle, &res,
                       "SELECT series, tier, max(t1) FROM chunks GROUP BY series, tier", 0) != 0)
        return ends;
    apr_dbd_row_t *row = NULL;
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0) {
        const char *id = apr_dbd_get_entry(s->db.drv, row, 0);
        int tier = atoi(apr_dbd_get_entry(s->db.drv, row, 1));
        if (!id || tier < 0 || tier >= KT__TIERS)
            continue;
        ends_t *e = apr_hash_get(ends, id, APR_HASH_KEY_STRING);
        if (!e) {
            e = apr_palloc(s->db.scratch, sizeof *e);
            for (int t = 0; t < KT__TIERS; t++)
                e->newest[t] = INT64_MIN;
            apr_hash_set(ends, apr_pstrdup(s->db.scratch, id), APR_HASH_KEY_STRING, e);
        }
        e->newest[tier] = strtoll(apr_dbd_get_entry(s->db.drv, row, 2), NULL, 10);
    }
    return ends;
}

/* The points of a tier from `after` on, decoded (malloc'd). */
static kt__point_t *points_after(kt_store_t *s, const char *name, int tier, int64_t after,
                                 unsigned *count)
{
    kt__chunk_row_t *rows;
    unsigned n;
    *count = 0;
    if (kt__hist_read(s, name, tier, after, INT64_MAX, &rows, &n) != APR_SUCCESS || !n)
        return NULL;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += rows[i].npoints;
    kt__point_t *pts = malloc(sizeof *pts * (total + 1));
    for (unsigned i = 0; pts && i < n; i++) {
        unsigned got = kt__chunk_decode(rows[i].data, rows[i].nbytes, tier ? 3 : 1, rows[i].t0_ms,
                                        rows[i].step_ms, rows[i].npoints, rows[i].scale,
                                        pts + *count);
        unsigned kept = *count;
        for (unsigned j = *count; j < *count + got; j++)
            if (pts[j].t_ms >= after)
                pts[kept++] = pts[j];
        *count = kept;
    }
    kt__rows_free(rows, n);
    return pts;
}

void kt__hist_load(kt_store_t *s)
{
    s->series_ids = apr_hash_make(s->db.pool);
    apr_dbd_results_t *res = NULL;
    if (apr_dbd_select(s->db.drv, s->db.scratch, s->db.handle, &res,
                       "SELECT id, name, unit, scale FROM series", 0) != 0)
        return;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *ids = apr_array_make(s->db.scratch, 16, sizeof(const char *));
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0) {
        const char *name = apr_pstrdup(s->db.pool, apr_dbd_get_entry(s->db.drv, row, 1));
        int64_t *id = apr_palloc(s->db.pool, sizeof *id);
        *id = strtoll(apr_dbd_get_entry(s->db.drv, row, 0), NULL, 10);
        apr_hash_set(s->series_ids, name, APR_HASH_KEY_STRING, id);
        APR_ARRAY_PUSH(ids, const char *) = apr_pstrdup(s->db.scratch, apr_dbd_get_entry(s->db.drv, row, 0));
        APR_ARRAY_PUSH(ids, const char *) = name;
        APR_ARRAY_PUSH(ids, const char *) = apr_pstrdup(s->db.scratch, apr_dbd_get_entry(s->db.drv, row, 2));
        APR_ARRAY_PUSH(ids, const char *) = apr_pstrdup(s->db.scratch, apr_dbd_get_entry(s->db.drv, row, 3));
    }
    apr_hash_t *ends = tier_ends(s);
    static const ends_t none = {{INT64_MIN, INT64_MIN, INT64_MIN}};
    for (int i = 0; i + 3 < ids->nelts; i += 4) {
        const ends_t *e = apr_hash_get(ends, APR_ARRAY_IDX(ids, i, const char *), APR_HASH_KEY_STRING);
        if (!e)
            e = &none;
        const char *name = APR_ARRAY_IDX(ids, i + 1, const char *);
        int64_t last_raw = e->newest[KT__TIER_RAW];
        int64_t last_minute = e->newest[KT__TIER_MINUTE];
        int64_t last_hour = e->newest[KT__TIER_HOUR];
        /* The buckets open at the stop: readings after the last stored
         * minute, minutes after the last stored hour. */
        unsigned nraw = 0, nminute = 0;
        kt__point_t *raw = points_after(
            s, name, KT__TIER_RAW, last_minute == INT64_MIN ? INT64_MIN : last_minute + 60000, &nraw);
        kt__point_t *minute = points_after(
            s, name, KT__TIER_MINUTE, last_hour == INT64_MIN ? INT64_MIN : last_hour + 3600000,
            &nminute);
        kt__hist_resume(s, name, APR_ARRAY_IDX(ids, i + 2, const char *),
                        strtod(APR_ARRAY_IDX(ids, i + 3, const char *), NULL), last_raw, raw, nraw,
                        minute, nminute);
        free(raw);
        free(minute);
    }
}
