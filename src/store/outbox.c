/*
 * outbox.c - the notification outbox and the silences on disk. The outbox: a row per notification,
 * written before its first attempt, updated after each one, and the
 * pending ones read back at start so a restart delivers them with the same
 * id. Sent and failed rows stay a week for a look, then go with the trim.
 * Beside it, the events still due to be notified (events.c writes them).
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

static apr_status_t add(kt_store_t *s, const kt_store_note_t *n, const char *body)
{
    int rows;
    int rc = apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &rows, s->db.outbox_add,
                             n->id, n->channel, kt__db_ms(s, n->created), kt__db_i64(s, n->attempts),
                             kt__db_ms(s, n->next), kt__db_ms(s, apr_time_now()), body, NULL);
    if (rc != 0) {
        kt_log(KT_LOG_WARN, "store: cannot write notification %s: %s", n->id, kt__db_error(s, rc));
        return KT_EUNAVAIL;
    }
    return rows ? APR_SUCCESS : APR_EEXIST;
}

static apr_status_t set(kt_store_t *s, const kt_store_note_t *n, const char *state,
                        const char *error)
{
    int rows;
    int rc = apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &rows, s->db.outbox_set,
                             kt__db_i64(s, n->attempts), kt__db_ms(s, n->next), state, error ? error : "",
                             kt__db_ms(s, apr_time_now()), n->id, NULL);
    return rc == 0 ? APR_SUCCESS : KT_EUNAVAIL;
}

static apr_status_t body(kt_store_t *s, const char *id, char **out)
{
    apr_dbd_results_t *res = NULL;
    if (apr_dbd_pvselect(s->db.drv, s->db.scratch, s->db.handle, &res, s->db.outbox_body, 0, id,
                         NULL) != 0)
        return KT_EUNAVAIL;
    const char *v = kt__db_first(s, res);
    if (!v)
        return KT_ENOTFOUND;
    return (*out = strdup(v)) ? APR_SUCCESS : APR_ENOMEM;
}

static void copy(char *dst, size_t len, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= len)
        n = len - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static apr_status_t pending(kt_store_t *s, kt_store_note_t **out, unsigned *count)
{
    apr_dbd_results_t *res = NULL;
    *out = NULL;
    *count = 0;
    if (apr_dbd_select(s->db.drv, s->db.scratch, s->db.handle, &res,
                       "SELECT id, channel, created_ms, attempts, next_ms FROM outbox"
                       " WHERE state = 'pending' ORDER BY created_ms, rowid",
                       0) != 0)
        return KT_EUNAVAIL;
    unsigned cap = 0;
    apr_dbd_row_t *row;
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            kt_store_note_t *more = realloc(*out, sizeof *more * cap);
            if (!more)
                continue; /* the rows are read out all the same */
            *out = more;
        }
        kt_store_note_t *n = &(*out)[(*count)++];
        copy(n->id, sizeof n->id, apr_dbd_get_entry(s->db.drv, row, 0));
        copy(n->channel, sizeof n->channel, apr_dbd_get_entry(s->db.drv, row, 1));
        n->created = apr_time_from_msec(strtoll(apr_dbd_get_entry(s->db.drv, row, 2), NULL, 10));
        n->attempts = (unsigned)strtoul(apr_dbd_get_entry(s->db.drv, row, 3), NULL, 10);
        n->next = apr_time_from_msec(strtoll(apr_dbd_get_entry(s->db.drv, row, 4), NULL, 10));
    }
    return APR_SUCCESS;
}

/* ---- the events due to be notified ---- */

static apr_status_t due(kt_store_t *s, json_t **out)
{
    apr_dbd_results_t *res = NULL;
    /* An event cleared from the log since has nothing left to tell. */
    if (kt__db_exec(s, "DELETE FROM notify_due WHERE event_id NOT IN (SELECT id FROM events)") != 0 ||
        apr_dbd_select(s->db.drv, s->db.scratch, s->db.handle, &res,
                       "SELECT e.json FROM notify_due d JOIN events e ON e.id = d.event_id"
                       " ORDER BY d.event_id",
                       0) != 0)
        return KT_EUNAVAIL;
    json_t *list = json_array();
    apr_dbd_row_t *row;
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0) {
        json_t *j = json_loads(apr_dbd_get_entry(s->db.drv, row, 0), 0, NULL);
        if (j)
            json_array_append_new(list, j);
    }
    *out = list;
    return APR_SUCCESS;
}

static apr_status_t done(kt_store_t *s, uint64_t event_id)
{
    int rows;
    return apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &rows, s->db.due_done,
                           kt__db_u64(s, event_id), NULL) == 0
               ? APR_SUCCESS
               : KT_EUNAVAIL;
}

/* ---- silences ---- */

static apr_status_t silence_put(kt_store_t *s, json_t *silence)
{
    char *text = json_dumps(silence, JSON_COMPACT);
    if (!text)
        return APR_ENOMEM;
    int rows;
    int rc = apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &rows, s->db.silence_put,
                             kt__db_i64(s, json_integer_value(json_object_get(silence, "id"))),
                             kt__db_i64(s, json_integer_value(json_object_get(silence, "ends_at"))), text,
                             NULL);
    free(text);
    if (rc != 0) {
        kt_log(KT_LOG_WARN, "store: cannot write a silence: %s", kt__db_error(s, rc));
        return KT_EUNAVAIL;
    }
    return APR_SUCCESS;
}

apr_status_t kt__silences_read(kt_store_t *s, json_t **out)
{
    apr_dbd_results_t *res = NULL;
    if (apr_dbd_pvselect(s->db.drv, s->db.scratch, s->db.handle, &res, s->db.silence_list, 0,
                         kt__db_ms(s, apr_time_now() - apr_time_from_sec(86400)), NULL) != 0)
        return KT_EUNAVAIL;
    json_t *list = json_array();
    apr_dbd_row_t *row;
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0) {
        json_t *j = json_loads(apr_dbd_get_entry(s->db.drv, row, 0), 0, NULL);
        if (j)
            json_array_append_new(list, j);
    }
    *out = list;
    return APR_SUCCESS;
}

void kt__outbox_run(kt_store_t *s, kt__req_t *r)
{
    switch (r->kind) {
    case KT__REQ_OUTBOX_ADD: r->status = add(s, &r->note, r->body); break;
    case KT__REQ_OUTBOX_SET: r->status = set(s, &r->note, r->note_state, r->note_error); break;
    case KT__REQ_OUTBOX_BODY: r->status = body(s, r->note.id, &r->body); break;
    case KT__REQ_OUTBOX_PENDING: r->status = pending(s, &r->notes, &r->nnotes); break;
    case KT__REQ_SILENCE_PUT: r->status = silence_put(s, r->silence); break;
    case KT__REQ_NOTIFY_DUE: r->status = due(s, &r->result); break;
    case KT__REQ_NOTIFY_DONE: r->status = done(s, r->event_id); break;
    default: break;
    }
}

void kt__outbox_trim(kt_store_t *s)
{
    int rows;
    apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &rows, s->db.outbox_trim,
                    kt__db_ms(s, apr_time_now() - apr_time_from_sec(86400) * KT_STORE_OUTBOX_DAYS), NULL);
    apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &rows, s->db.silence_trim,
                    kt__db_ms(s, apr_time_now() - apr_time_from_sec(86400)), NULL);
}
