/*
 * optimize.c - POST /api/agent/optimize: the performance analysis streamed
 * step by step as server-sent events ("event: step" per area, then
 * "event: done"), as the seed's advisory mode streamed it.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

/* Writes one server-sent event; data stays the caller's. */
static void write_event(kt_http_stream_t *st, const char *event, json_t *data)
{
    char *msg = kt__api_sse_message(event, 0, json_incref(data));
    if (msg)
        kt_http_stream_write(st, msg, strlen(msg));
    free(msg);
}

static void optimize_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return;
    kt_snap_t *snap = kt_mon_acquire(api->mon);
    if (!snap) {
        kt_http_reply_error(req, 503, "no_reading_yet",
                            "no reading has been taken yet; start monitoring and retry");
        return;
    }
    kt_mon_health_t *h = apr_palloc(kt_http_pool(req), sizeof *h);
    kt_mon_health(api->mon, h);
    json_t *steps = kt__api_raw_steps(kt_snap_sample(snap), h);
    /* The rules judge the same reading the steps show. */
    kt_rules_t *r = kt_rules_cell_get(api->rules);
    json_t *findings;
    if (r) {
        findings = kt__api_judge(api, r, snap, kt_http_pool(req));
        kt_rules_release(r);
    } else {
        findings = json_array();
    }
    uint64_t seq = kt_snap_seq(snap);
    kt_snap_release(snap);

    kt_http_stream_t *st = kt_http_stream_open(req, "text/event-stream", NULL, NULL);
    if (!st) {
        json_decref(steps);
        json_decref(findings);
        return;
    }
    /* The figures first, as the seed's advisory mode did, then what the
     * rules make of them; a rule error is a finding too, never silence. */
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s) write_event(st, "step", s);
    json_array_foreach(findings, i, s) write_event(st, "finding", s);
    json_t *done = json_pack("{s:I s:i s:i s:b}", "reading", (json_int_t)seq, "steps",
                             (int)json_array_size(steps), "findings",
                             (int)json_array_size(findings), "rules_loaded", r != NULL);
    write_event(st, "done", done);
    json_decref(done);
    json_decref(findings);
    json_decref(steps);
    kt_http_stream_close(st);
    kt_http_stream_release(st);
}

void kt__api_optimize_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "POST", "/api/agent/optimize", optimize_handler, api);
}
