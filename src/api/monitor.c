/*
 * monitor.c - /api/agent/monitor/{start,stop,status,events,clear,stream}
 * the seed's monitoring endpoints.
 */
#include "api_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#define MAX_EVENTS_REPLY 1000

apr_status_t kt__op_start(const kt__api_call_t *call, json_t *params, json_t **result,
                          kt__api_err_t *err)
{
    kt_mon_t *mon = call->api->mon;
    int was = kt_mon_running(mon);
    apr_status_t st = was ? APR_SUCCESS : kt_mon_start(mon);
    if (st != APR_SUCCESS) {
        char why[128];
        return kt__api_fail(err, st, "start_failed", "the sampler did not start: %s",
                            kt_strerror(st, why, sizeof why));
    }
    if (!was)
        kt_log(KT_LOG_INFO, "monitoring started by %s", call->who);
    *result = json_pack("{s:s s:b}", "status", was ? "already_running" : "started", "running", 1);
    return APR_SUCCESS;
}

apr_status_t kt__op_stop(const kt__api_call_t *call, json_t *params, json_t **result,
                         kt__api_err_t *err)
{
    int was = kt_mon_running(call->api->mon);
    kt_mon_stop(call->api->mon);
    if (was)
        kt_log(KT_LOG_INFO, "monitoring stopped by %s", call->who);
    *result = json_pack("{s:s s:b}", "status", was ? "stopped" : "already_stopped", "running", 0);
    return APR_SUCCESS;
}

static void start_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_CONTROL, kt__op_start);
}

static void stop_handler(kt_http_req_t *req, void *baton)
{
    kt__api_serve_op(req, baton, KT_SCOPE_CONTROL, kt__op_stop);
}

static json_t *events_json(const kt_event_t *ev, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(a, kt_json_event(&ev[i]));
    return a;
}

/* The latest reading without the full process table, or null before the first. */
json_t *kt__api_snapshot_json(kt_api_t *api)
{
    kt_snap_t *snap = kt_mon_acquire(api->mon);
    if (!snap)
        return json_null();
    json_t *j = kt_json_sample(kt_snap_sample(snap), 1);
    json_object_set_new(j, "seq", json_integer((json_int_t)kt_snap_seq(snap)));
    json_object_set_new(j, "duration_ms", json_real(kt_snap_duration_ms(snap)));
    kt_snap_release(snap);
    return j;
}

/* The id of the newest event in the log, 0 when it is empty: it moves when
 * events are logged and when the log is cleared (ids are never reused). */
static uint64_t newest_event(kt_api_t *api)
{
    kt_event_t ev;
    kt_event_filter_t f = {-1, -1, 0, 1};
    return kt_mon_events(api->mon, &f, &ev, 1) ? ev.id : 0;
}

/* What the status body shows changes only with these: a reading (samples),
 * start and stop, and the log. None goes back to a value it had once the
 * body moved on, except running, which the rebuild takes from the health
 * it renders: a body is never kept under a key newer than itself. */
static void status_key(uint64_t key[KT__CACHE_KEY], uint64_t samples, int running,
                       uint64_t newest, uint64_t notify)
{
    key[0] = samples;
    key[1] = (uint64_t)running;
    key[2] = newest;
    key[3] = notify;
    key[4] = 0;
}

/* On the loop thread (an inline route): the kept body while it is current;
 * a rebuild is work for a worker (status_handler). The key is read without
 * the health summary, whose copy walks the whole event log. */
static int status_try(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return KT_HTTP_DONE;
    uint64_t key[KT__CACHE_KEY];
    uint64_t newest = newest_event(api);
    kt_snap_t *snap = kt_mon_acquire(api->mon); /* its seq is the samples count */
    status_key(key, snap ? kt_snap_seq(snap) : 0, kt_mon_running(api->mon), newest,
               api->notify ? kt_notify_generation(api->notify) : 0);
    kt_snap_release(snap);
    kt_http_part_t body;
    if (!kt__cache_get(api->status_cache, key, kt_http_pool(req), &body))
        return KT_HTTP_DEFER;
    kt_http_reply_parts(req, 200, "application/json", &body, 1);
    return KT_HTTP_DONE;
}

static void status_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    /* Again here: the access check is this handler's own, and another worker
     * may have rebuilt the body since the loop looked. */
    if (status_try(req, baton) == KT_HTTP_DONE)
        return;
    uint64_t key[KT__CACHE_KEY];
    uint64_t newest = newest_event(api); /* before the log is read for the body */
    uint64_t notify_gen = api->notify ? kt_notify_generation(api->notify) : 0;
    kt_mon_health_t *h = apr_palloc(kt_http_pool(req), sizeof *h);
    kt_mon_health(api->mon, h);
    status_key(key, h->samples, h->running, newest, notify_gen);
    kt_event_t *ev = apr_palloc(kt_http_pool(req), sizeof *ev * 5);
    kt_event_filter_t f = {-1, -1, 0, 5};
    unsigned n = kt_mon_events(api->mon, &f, ev, 5);
    json_t *j = json_pack("{s:b s:o s:o s:o}", "running", h->running, "health", kt_json_health(h),
                          "snapshot", kt__api_snapshot_json(api), "recent_events",
                          events_json(ev, n));
    if (api->store) {
        kt_store_info_t si;
        kt_store_info(api->store, &si);
        json_object_set_new(j, "store", kt__api_store_json(&si));
    }
    if (api->notify)
        json_object_set_new(j, "notify", kt_notify_json(api->notify));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text) {
        kt_http_reply_error(req, 500, "encoding_failed", "the status could not be encoded");
        return;
    }
    kt_http_part_t body;
    if (kt__cache_put(api->status_cache, key, text, strlen(text), kt_http_pool(req), &body))
        kt_http_reply_parts(req, 200, "application/json", &body, 1); /* the kept copy, shared */
    else
        kt_http_reply(req, 200, "application/json", text, strlen(text));
    free(text);
}

/* Reads event_type, severity, since and limit; answers 400 itself on a bad one. */
static int parse_filter(kt_http_req_t *req, kt_event_filter_t *f, unsigned def_limit)
{
    uint64_t since, limit;
    if (kt__api_query_u64(req, "since", 0, UINT64_MAX >> 1, &since) ||
        kt__api_query_u64(req, "limit", def_limit, MAX_EVENTS_REPLY, &limit))
        return -1;
    const char *type = kt_http_query(req, "event_type");
    const char *sev = kt_http_query(req, "severity");
    f->type = type ? kt_event_type_parse(type) : -1;
    f->severity = sev ? kt_severity_parse(sev) : -1;
    if (type && f->type < 0) {
        char names[512] = "";
        for (int t = 0; t < kt_event_type_count(); t++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", t ? ", " : "",
                     kt_event_type_name(t));
        kt_http_reply_error(req, 400, "bad_parameter", "event_type must be one of %s; not '%s'",
                            names, type);
        return -1;
    }
    if (sev && f->severity < 0) {
        kt_http_reply_error(req, 400, "bad_parameter",
                            "severity must be low, medium or high; not '%s'", sev);
        return -1;
    }
    f->since_id = since;
    f->limit = (unsigned)limit;
    return 0;
}

int kt__api_store_on(kt_api_t *api)
{
    if (!api->store)
        return 0;
    kt_store_info_t info;
    kt_store_info(api->store, &info);
    return info.state == KT_STORE_OK; /* degraded: the newest are in memory only */
}

/* The whole stored log, paged: since (the next page), before, from, to. */
static void stored_events(kt_http_req_t *req, kt_api_t *api, const kt_event_filter_t *f)
{
    uint64_t before, from, to;
    if (kt__api_query_u64(req, "before", 0, UINT64_MAX >> 1, &before) ||
        kt__api_query_u64(req, "from", 0, UINT64_MAX >> 12, &from) ||
        kt__api_query_u64(req, "to", 0, UINT64_MAX >> 12, &to))
        return;
    kt_store_query_t q = {f->type, f->severity, f->since_id, before,
                          apr_time_from_msec(from), apr_time_from_msec(to),
                          f->limit ? f->limit : MAX_EVENTS_REPLY};
    json_t *list = NULL;
    kt__api_err_t err = {0};
    apr_status_t st = kt_store_events(api->store, &q, &list);
    if (st != APR_SUCCESS) {
        char why[128];
        kt__api_fail(&err, KT_EUNAVAIL, "store_unavailable", "the event store did not answer: %s",
                     kt_strerror(st, why, sizeof why));
        kt__api_reply_failure(req, KT_EUNAVAIL, &err);
        return;
    }
    kt_http_reply_json(req, 200,
                       json_pack("{s:o s:i s:I s:s}", "events", list, "count",
                                 (int)json_array_size(list), "last_id",
                                 (json_int_t)kt_mon_last_event_id(api->mon), "source", "store"));
}

static void events_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    kt_event_filter_t f;
    if (!kt__api_allow(api, req, KT_SCOPE_READ) || parse_filter(req, &f, 20) != 0)
        return;
    if (kt__api_store_on(api)) {
        stored_events(req, api, &f);
        return;
    }
    unsigned max = f.limit ? f.limit : MAX_EVENTS_REPLY;
    kt_event_t *ev = apr_palloc(kt_http_pool(req), sizeof *ev * max);
    unsigned n = kt_mon_events(api->mon, &f, ev, max);
    kt_http_reply_json(req, 200,
                       json_pack("{s:o s:i s:I s:s}", "events", events_json(ev, n), "count",
                                 (int)n, "last_id", (json_int_t)kt_mon_last_event_id(api->mon),
                                 "source", "memory"));
}

/* Empties the log in memory and on disk (where the clearing is recorded);
 * *removed: how many events went. Nothing is cleared when the store fails. */
static apr_status_t clear_log(kt_api_t *api, const char *who, unsigned *removed,
                              kt__api_err_t *err)
{
    kt_mon_health_t h;
    kt_mon_health(api->mon, &h);
    *removed = (unsigned)h.events_logged;
    kt_store_info_t si = {.state = KT_STORE_OFF};
    if (api->store)
        kt_store_info(api->store, &si);
    /* Degraded too: the events waiting for the disk are the log's as well. */
    if (si.state != KT_STORE_OFF && kt_store_clear_events(api->store, who, removed) != APR_SUCCESS)
        return kt__api_fail(err, KT_EUNAVAIL, "store_unavailable",
                            "the stored event log could not be cleared; nothing was cleared");
    kt_mon_clear(api->mon);
    kt_log(KT_LOG_INFO, "event log cleared by %s (%u events)", who, *removed);
    return APR_SUCCESS;
}

static void clear_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_CONTROL))
        return;
    kt__api_err_t err = {0};
    unsigned removed;
    apr_status_t st = clear_log(api, kt_http_remote(req), &removed, &err);
    kt__api_answer(req, st, st == APR_SUCCESS ? json_pack("{s:i}", "cleared", (int)removed) : NULL,
                   &err);
}

/* ---- what only the tools ask -------------------------------------------------------- */

/* The tools' parameters were checked against their schema (tools.c). */
apr_status_t kt__op_anomalies(const kt__api_call_t *call, json_t *params, json_t **result,
                              kt__api_err_t *err)
{
    json_t *v;
    kt_event_filter_t f = {-1, -1, 0, 20};
    if ((v = json_object_get(params, "limit")))
        f.limit = (unsigned)json_integer_value(v);
    if ((v = json_object_get(params, "since")))
        f.since_id = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(params, "event_type")))
        f.type = kt_event_type_parse(json_string_value(v));
    if ((v = json_object_get(params, "severity")))
        f.severity = kt_severity_parse(json_string_value(v));
    kt_event_t *ev = apr_palloc(call->pool, sizeof *ev * f.limit);
    unsigned n = kt_mon_events(call->api->mon, &f, ev, f.limit);
    *result = json_pack("{s:o s:i}", "events", events_json(ev, n), "count", (int)n);
    return APR_SUCCESS;
}

apr_status_t kt__op_health(const kt__api_call_t *call, json_t *params, json_t **result,
                           kt__api_err_t *err)
{
    kt_mon_health_t *h = apr_palloc(call->pool, sizeof *h);
    kt_mon_health(call->api->mon, h);
    *result = kt_json_health(h);
    return APR_SUCCESS;
}

apr_status_t kt__op_clear(const kt__api_call_t *call, json_t *params, json_t **result,
                          kt__api_err_t *err)
{
    unsigned removed;
    apr_status_t st = clear_log(call->api, call->who, &removed, err);
    if (st == APR_SUCCESS)
        *result = json_pack("{s:b}", "cleared", 1);
    return st;
}

apr_status_t kt__op_status(const kt__api_call_t *call, json_t *params, json_t **result,
                           kt__api_err_t *err)
{
    json_t *health;
    kt__op_health(call, params, &health, err);
    *result = json_pack("{s:b s:o s:o}", "running", kt_mon_running(call->api->mon), "health",
                        health, "snapshot", kt__api_snapshot_json(call->api));
    return APR_SUCCESS;
}

void kt__api_monitor_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "POST", "/api/agent/monitor/start", start_handler, api);
    kt_http_route(http, "POST", "/api/agent/monitor/stop", stop_handler, api);
    kt_http_route_inline(http, "GET", "/api/agent/monitor/status", status_try, status_handler,
                         api);
    kt_http_route(http, "GET", "/api/agent/monitor/events", events_handler, api);
    kt_http_route(http, "POST", "/api/agent/monitor/clear", clear_handler, api);
}
