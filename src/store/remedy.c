/*
 * remedy.c - remediation proposals and their audit on disk.
 *
 * A proposal is kept as the JSON the API answers with, beside its id and
 * state; a change of state is a compare-and-set (UPDATE ... WHERE state =
 * the state the caller saw), so two approvals of one proposal cannot both
 * succeed. Every change is written with its audit row in one transaction:
 * nothing happens to a remediation that the audit does not show. The audit
 * table refuses UPDATE and DELETE (triggers, db.c), and is not trimmed.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

typedef enum { OP_PUT, OP_AUDIT, OP_GET, OP_LIST, OP_AUDIT_LIST } op_t;

struct kt__remedy_req_t {
    op_t op;
    uint64_t id, event_id, since, before;
    unsigned limit;
    char *expect, *state, *action, *who, *sha256;
    json_t *doc, *detail, *result;
    int has_audit;
};

void kt__remedy_req_free(kt__remedy_req_t *q)
{
    free(q->expect);
    free(q->state);
    free(q->action);
    free(q->who);
    free(q->sha256);
    json_decref(q->doc);
    json_decref(q->detail);
    json_decref(q->result);
    free(q);
}

static const char *now_ms(kt_store_t *s) { return kt__db_u64(s, (uint64_t)apr_time_as_msec(apr_time_now())); }

static char *dump(kt_store_t *s, json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT);
    char *copy = t ? apr_pstrdup(s->db.scratch, t) : NULL;
    free(t);
    return copy;
}

static int audit_row(kt_store_t *s, kt__remedy_req_t *q)
{
    const char *time = now_ms(s);
    /* The row's own id is the next one: the audit is only appended to. */
    const char *next = kt__db_value(s, "SELECT coalesce(max(id), 0) + 1 FROM audit");
    json_t *row = json_pack("{s:I s:I s:s s:s s:I s:I s:s}", "id",
                            (json_int_t)(next ? strtoll(next, NULL, 10) : 1), "time_ms",
                            (json_int_t)strtoll(time, NULL, 10), "action", q->action, "who",
                            q->who, "remediation_id", (json_int_t)q->id, "event_id",
                            (json_int_t)q->event_id, "sha256", q->sha256);
    if (!row)
        return -1;
    if (q->detail)
        json_object_set(row, "detail", q->detail);
    char *text = dump(s, row);
    json_decref(row);
    int n;
    return text ? apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n, s->db.insert_audit,
                                  time, q->action, q->who, kt__db_u64(s, q->id), kt__db_u64(s, q->event_id),
                                  q->sha256, text, NULL)
                : -1;
}

static apr_status_t put(kt_store_t *s, kt__remedy_req_t *q)
{
    int rc = kt__db_exec(s, "BEGIN IMMEDIATE"), n = 0;
    apr_status_t st = APR_SUCCESS;
    if (rc == 0 && q->id == 0) {
        const char *next = kt__db_value(s, "SELECT coalesce(max(id), 0) + 1 FROM remedies");
        q->id = next ? strtoull(next, NULL, 10) : 1;
        json_object_set_new(q->doc, "id", json_integer((json_int_t)q->id));
        json_object_set_new(q->doc, "state", json_string(q->state));
        char *text = dump(s, q->doc);
        rc = text ? apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n,
                                    s->db.insert_remedy, kt__db_u64(s, q->id), now_ms(s), q->state, text,
                                    NULL)
                  : -1;
    } else if (rc == 0) {
        json_object_set_new(q->doc, "state", json_string(q->state));
        char *text = dump(s, q->doc);
        rc = text ? apr_dbd_pvquery(s->db.drv, s->db.scratch, s->db.handle, &n,
                                    s->db.update_remedy, q->state, text, kt__db_u64(s, q->id),
                                    q->expect ? q->expect : "", NULL)
                  : -1;
        if (rc == 0 && n == 0)
            st = KT_ESTATE;
    }
    if (rc == 0 && st == APR_SUCCESS && q->has_audit)
        rc = audit_row(s, q);
    if (rc == 0 && st == APR_SUCCESS)
        rc = kt__db_exec(s, "COMMIT");
    if (rc != 0 || st != APR_SUCCESS) {
        kt__db_exec(s, "ROLLBACK");
        if (rc != 0)
            kt_log(KT_LOG_ERROR, "store: cannot write remediation %llu: %s",
                   (unsigned long long)q->id, kt__db_error(s, rc));
        return st != APR_SUCCESS ? st : APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The rows' first column parsed as JSON, into an array; reversed when asked. */
static json_t *rows(kt_store_t *s, apr_dbd_results_t *res, int reverse)
{
    json_t *list = json_array();
    apr_dbd_row_t *row;
    while (apr_dbd_get_row(s->db.drv, s->db.scratch, res, &row, -1) == 0) {
        json_t *e = json_loads(apr_dbd_get_entry(s->db.drv, row, 0), 0, NULL);
        if (e)
            json_array_append_new(list, e);
    }
    if (reverse) {
        json_t *fwd = json_array();
        for (size_t i = json_array_size(list); i-- > 0;)
            json_array_append(fwd, json_array_get(list, i));
        json_decref(list);
        list = fwd;
    }
    return list;
}

apr_status_t kt__remedy_run(kt_store_t *s, kt__remedy_req_t *q)
{
    apr_dbd_results_t *res = NULL;
    int rc;
    switch (q->op) {
    case OP_PUT:
        return put(s, q);
    case OP_AUDIT:
        rc = audit_row(s, q);
        return rc == 0 ? APR_SUCCESS : APR_EGENERAL;
    case OP_GET:
        rc = apr_dbd_pvselect(s->db.drv, s->db.scratch, s->db.handle, &res, s->db.select_remedy, 0,
                              kt__db_u64(s, q->id), NULL);
        if (rc != 0)
            return APR_EGENERAL;
        q->result = rows(s, res, 0);
        if (json_array_size(q->result) == 0) {
            json_decref(q->result);
            q->result = NULL;
            return KT_ENOTFOUND;
        }
        json_t *one = json_incref(json_array_get(q->result, 0));
        json_decref(q->result);
        q->result = one;
        return APR_SUCCESS;
    case OP_LIST:
        rc = apr_dbd_pvselect(s->db.drv, s->db.scratch, s->db.handle, &res, s->db.select_remedies,
                              0, kt__db_u64(s, q->before ? q->before : INT64_MAX),
                              q->state ? q->state : "", q->state ? q->state : "",
                              kt__db_u64(s, q->limit), NULL);
        if (rc != 0)
            return APR_EGENERAL;
        q->result = rows(s, res, 0);
        return APR_SUCCESS;
    case OP_AUDIT_LIST: {
        int next = q->since && !q->before;
        rc = apr_dbd_pvselect(s->db.drv, s->db.scratch, s->db.handle, &res,
                              next ? s->db.select_audit_next : s->db.select_audit_last, 0,
                              kt__db_u64(s, q->since), kt__db_u64(s, q->before ? q->before : INT64_MAX),
                              kt__db_u64(s, q->limit), NULL);
        if (rc != 0)
            return APR_EGENERAL;
        q->result = rows(s, res, !next);
        return APR_SUCCESS;
    }
    }
    return APR_EGENERAL;
}

/* ---- the API: a request to the store thread, waited for ------------------------------- */

static char *dup_or_empty(const char *v) { return strdup(v ? v : ""); }

static apr_status_t call(kt_store_t *s, kt__remedy_req_t *q, json_t **out, uint64_t *id)
{
    if (!s || !s->usable) {
        kt__remedy_req_free(q);
        return KT_EUNAVAIL;
    }
    kt__req_t *r = kt__store_req_new(KT__REQ_REMEDY);
    if (!r) {
        kt__remedy_req_free(q);
        return APR_ENOMEM;
    }
    r->remedy = q;
    apr_status_t st = kt__store_submit(s, r, 1);
    if (!kt__store_still_mine(st))
        return st;
    if (out) {
        *out = q->result;
        q->result = NULL;
    }
    if (id)
        *id = q->id;
    kt__req_free(r);
    return st;
}

static kt__remedy_req_t *req(op_t op)
{
    kt__remedy_req_t *q = calloc(1, sizeof *q);
    if (q)
        q->op = op;
    return q;
}

static void set_audit(kt__remedy_req_t *q, const kt_store_audit_t *a)
{
    q->has_audit = 1;
    q->action = dup_or_empty(a->action);
    q->who = dup_or_empty(a->who);
    q->sha256 = dup_or_empty(a->sha256);
    q->event_id = a->event_id;
    q->detail = a->detail ? json_deep_copy(a->detail) : NULL;
}

apr_status_t kt_store_put_remedy(kt_store_t *s, uint64_t *id, const char *expect,
                                 const char *state, json_t *doc, const kt_store_audit_t *audit)
{
    kt__remedy_req_t *q = req(OP_PUT);
    if (!q)
        return APR_ENOMEM;
    q->id = *id;
    q->expect = expect ? strdup(expect) : NULL;
    q->state = dup_or_empty(state);
    q->doc = json_deep_copy(doc);
    if (audit)
        set_audit(q, audit);
    apr_status_t st = call(s, q, NULL, id);
    if (st == APR_SUCCESS) {
        json_object_set_new(doc, "id", json_integer((json_int_t)*id));
        json_object_set_new(doc, "state", json_string(state));
    }
    return st;
}

apr_status_t kt_store_put_audit(kt_store_t *s, const kt_store_audit_t *audit)
{
    kt__remedy_req_t *q = req(OP_AUDIT);
    if (!q)
        return APR_ENOMEM;
    set_audit(q, audit);
    q->id = audit->remedy_id;
    return call(s, q, NULL, NULL);
}

apr_status_t kt_store_get_remedy(kt_store_t *s, uint64_t id, json_t **out)
{
    kt__remedy_req_t *q = req(OP_GET);
    if (!q)
        return APR_ENOMEM;
    q->id = id;
    return call(s, q, out, NULL);
}

apr_status_t kt_store_remedies(kt_store_t *s, const char *state, uint64_t before_id,
                               unsigned limit, json_t **out)
{
    kt__remedy_req_t *q = req(OP_LIST);
    if (!q)
        return APR_ENOMEM;
    q->state = state && *state ? strdup(state) : NULL;
    q->before = before_id;
    q->limit = limit ? limit : 1;
    return call(s, q, out, NULL);
}

apr_status_t kt_store_audit(kt_store_t *s, uint64_t since_id, uint64_t before_id, unsigned limit,
                            json_t **out)
{
    kt__remedy_req_t *q = req(OP_AUDIT_LIST);
    if (!q)
        return APR_ENOMEM;
    q->since = since_id;
    q->before = before_id;
    q->limit = limit ? limit : 1;
    return call(s, q, out, NULL);
}
