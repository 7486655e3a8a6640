/*
 * stream.c - GET /api/agent/monitor/stream: the live feed as server-sent
 * events. Every reading goes out as "event: sample" (the latest snapshot
 * without the full process table) and every detector event as
 * "event: event" with its id, so a browser's EventSource resumes after a
 * reconnect with Last-Event-ID and misses nothing still in the log. When a
 * reload (POST /api/agent/reload, SIGHUP, the service's PARAMCHANGE) puts
 * new settings in force, "event: config" tells the clients to fetch
 * GET /api/agent/config again: the dashboard's threshold lines follow
 * without a page refresh, whoever reloaded.
 *
 * One monitor subscription (the hub) fans out to every client; each
 * reading is serialised once, whatever the number of clients.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#define MAX_CLIENTS 64
#define REPLAY_MAX 1000
#define REPLAY_PAGES 10 /* stored events replayed at most: REPLAY_MAX times this */

typedef struct {
    kt_http_stream_t *st;
    uint64_t last_id; /* events up to this id were sent (replay or live) */
    kt__stream_hub_t *hub;
    int used;
} client_t;

struct kt__stream_hub_t {
    apr_thread_mutex_t *lock;
    client_t clients[MAX_CLIENTS];
    unsigned nclients;
    unsigned sub_id;
    kt_api_t *api;
};
typedef kt__stream_hub_t hub_t;

char *kt__api_sse_message(const char *event, uint64_t id, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (!text)
        return NULL;
    char head[64] = "";
    if (id)
        snprintf(head, sizeof head, "id: %llu\n", (unsigned long long)id);
    size_t len = strlen(head) + strlen(event) + strlen(text) + 32;
    char *msg = malloc(len);
    if (msg)
        snprintf(msg, len, "%sevent: %s\ndata: %s\n\n", head, event, text);
    free(text);
    return msg;
}

static json_t *sample_json(const kt_snap_t *snap)
{
    json_t *j = kt_json_sample(kt_snap_sample(snap), 1);
    json_object_set_new(j, "seq", json_integer((json_int_t)kt_snap_seq(snap)));
    return j;
}

static void send_text(client_t *c, const char *text)
{
    if (text)
        kt_http_stream_write(c->st, text, strlen(text));
}

static unsigned client_count(hub_t *hub)
{
    apr_thread_mutex_lock(hub->lock);
    unsigned n = hub->nclients;
    apr_thread_mutex_unlock(hub->lock);
    return n;
}

/* The monitor's subscriber: runs on the sampler thread after each reading.
 * The reading is serialised before the hub lock is taken, so clients that
 * connect meanwhile wait for a fan-out, not for JSON. A client that
 * connects after the count below gets the same from its own replay. */
static void on_reading(void *baton, const kt_snap_t *snap, const kt_event_t *events, unsigned n)
{
    hub_t *hub = baton;
    if (client_count(hub) == 0)
        return;
    char *sample = kt__api_sse_message("sample", 0, sample_json(snap));
    char **ev = calloc(n ? n : 1, sizeof *ev);
    for (unsigned i = 0; ev && i < n; i++)
        ev[i] = kt__api_sse_message("event", events[i].id, kt_json_event(&events[i]));
    apr_thread_mutex_lock(hub->lock);
    for (unsigned c = 0; c < MAX_CLIENTS; c++) {
        client_t *cl = &hub->clients[c];
        if (!cl->used)
            continue;
        for (unsigned i = 0; ev && i < n; i++) {
            if (events[i].id <= cl->last_id)
                continue; /* already sent by the replay */
            send_text(cl, ev[i]);
            cl->last_id = events[i].id;
        }
        send_text(cl, sample);
    }
    apr_thread_mutex_unlock(hub->lock);
    for (unsigned i = 0; ev && i < n; i++)
        free(ev[i]);
    free(ev);
    free(sample);
}

/* Runs on whichever thread applied the new settings; the same fan-out as a
 * reading's, without the reading. The data is only a marker (an SSE event
 * with no data is never dispatched): the settings themselves stay in one
 * place, GET /api/agent/config. */
void kt_api_settings_changed(kt_api_t *api)
{
    static const char msg[] = "event: config\ndata: {}\n\n";
    hub_t *hub = api->stream_hub;
    if (!hub)
        return;
    apr_thread_mutex_lock(hub->lock);
    for (unsigned c = 0; c < MAX_CLIENTS && hub->nclients; c++)
        if (hub->clients[c].used)
            send_text(&hub->clients[c], msg);
    apr_thread_mutex_unlock(hub->lock);
}

/* Sends the stored events after since, oldest first, a page at a time:
 * a client back from a long absence, or from a kotod restart, misses none
 * still in the store (up to REPLAY_PAGES pages). Under the hub lock. */
static void replay_stored(client_t *c, kt_api_t *api, uint64_t since)
{
    for (unsigned page = 0; page < REPLAY_PAGES; page++) {
        kt_store_query_t q = {-1, -1, since, 0, 0, 0, REPLAY_MAX};
        json_t *list = NULL;
        if (kt_store_events(api->store, &q, &list) != APR_SUCCESS)
            return;
        size_t i, n = json_array_size(list);
        json_t *e;
        json_array_foreach(list, i, e) {
            since = (uint64_t)json_integer_value(json_object_get(e, "id"));
            char *msg = kt__api_sse_message("event", since, json_incref(e));
            send_text(c, msg);
            free(msg);
            c->last_id = since;
        }
        json_decref(list);
        if (n < REPLAY_MAX)
            return;
    }
}

/* Runs on the HTTP loop thread when a client goes away or the server stops. */
static void on_close(void *baton)
{
    client_t *c = baton;
    hub_t *hub = c->hub;
    apr_thread_mutex_lock(hub->lock);
    kt_http_stream_t *st = c->st;
    c->used = 0;
    c->st = NULL;
    hub->nclients--;
    apr_thread_mutex_unlock(hub->lock);
    kt_http_stream_release(st);
}

static void stream_handler(kt_http_req_t *req, void *baton)
{
    hub_t *hub = baton;
    kt_api_t *api = hub->api;
    if (!kt__api_allow(api, req, KT_SCOPE_READ))
        return;
    /* EventSource sends Last-Event-ID on reconnect; ?since= does the same by hand. */
    uint64_t since = 0;
    const char *last = kt_http_header(req, "Last-Event-ID");
    if (last)
        since = strtoull(last, NULL, 10);
    else if (kt__api_query_u64(req, "since", 0, UINT64_MAX >> 1, &since))
        return;

    apr_thread_mutex_lock(hub->lock);
    client_t *c = NULL;
    for (unsigned i = 0; i < MAX_CLIENTS && !c; i++)
        if (!hub->clients[i].used)
            c = &hub->clients[i];
    if (!c) {
        apr_thread_mutex_unlock(hub->lock);
        kt_http_reply_error(req, 503, "too_many_streams",
                            "%d live streams are open already; close one and retry", MAX_CLIENTS);
        return;
    }
    c->hub = hub;
    c->st = kt_http_stream_open(req, "text/event-stream", on_close, c);
    if (!c->st) {
        apr_thread_mutex_unlock(hub->lock);
        return;
    }
    c->used = 1;
    c->last_id = since;
    hub->nclients++;
    send_text(c, "retry: 2000\n\n");

    /* Replay under the hub lock: the sampler's next fan-out waits, and
     * last_id keeps an event from going out twice. */
    if ((last || kt_http_query(req, "since")) && kt__api_store_on(api)) {
        replay_stored(c, api, since);
    } else if (last || kt_http_query(req, "since")) {
        kt_event_t *ev = malloc(sizeof *ev * REPLAY_MAX);
        kt_event_filter_t f = {-1, -1, since, REPLAY_MAX};
        unsigned n = ev ? kt_mon_events(api->mon, &f, ev, REPLAY_MAX) : 0;
        for (unsigned i = 0; i < n; i++) {
            char *msg = kt__api_sse_message("event", ev[i].id, kt_json_event(&ev[i]));
            send_text(c, msg);
            free(msg);
            c->last_id = ev[i].id;
        }
        free(ev);
    }
    kt_snap_t *snap = kt_mon_acquire(api->mon);
    if (snap) {
        char *msg = kt__api_sse_message("sample", 0, sample_json(snap));
        send_text(c, msg);
        free(msg);
        kt_snap_release(snap);
    }
    apr_thread_mutex_unlock(hub->lock);
}

apr_status_t kt__api_stream_routes(kt_http_t *http, kt_api_t *api, apr_pool_t *pool,
                                   unsigned *sub_id)
{
    hub_t *hub = apr_pcalloc(pool, sizeof *hub);
    hub->api = api;
    apr_status_t st = apr_thread_mutex_create(&hub->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (st == APR_SUCCESS)
        api->stream_hub = hub;
    if (st == APR_SUCCESS)
        st = kt_mon_subscribe(api->mon, on_reading, hub, sub_id);
    if (st == APR_SUCCESS)
        st = kt_http_route(http, "GET", "/api/agent/monitor/stream", stream_handler, hub);
    return st;
}
