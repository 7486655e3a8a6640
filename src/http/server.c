/*
 * server.c - the server object: configuration, routes, start, stop, stats.
 *
 * Pools: kt_http_create makes the server's own pool as a child of the
 * caller's, with its own allocator guarded by a mutex (the loop creates
 * connection pools under it while the caller's thread may be allocating
 * from its pool). Each start makes run_pool for the listener, pollset,
 * threads and connections; stop destroys it, so a failed start leaves
 * nothing behind and stop after it has nothing to do. A pre-cleanup on the
 * caller's pool stops a server its owner forgot to stop.
 *
 * Thread-safety: create, route and start from one thread, before serving;
 * stop from any thread but a handler (it joins the workers); stats and
 * address from any thread.
 */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- Private ---------------------------------------------------------- */

static apr_status_t stop_on_cleanup(void *data)
{
    kt_http_stop(data);
    return APR_SUCCESS;
}

static int conf_ok(const kt_http_conf_t *c)
{
    return c->listen && c->workers >= 1 && c->workers <= 1024 && c->max_connections >= 1 &&
           c->max_connections <= 1000000 && c->max_header_bytes >= 64 &&
           c->max_header_bytes <= 1024 * 1024 && c->max_headers >= 1 &&
           c->max_headers <= 10000 && c->max_url_bytes >= 1 &&
           c->max_body_bytes <= (apr_size_t)1 << 30 && c->header_timeout_ms >= 1 &&
           c->body_timeout_ms >= 1 && c->idle_timeout_ms >= 1 && c->write_timeout_ms >= 1 &&
           c->max_stream_queue >= 1;
}

/* "host:port" or "[v6]:port"; port 0..65535. */
static apr_status_t parse_listen(const char *spec, char **host, apr_port_t *port,
                                 apr_pool_t *pool)
{
    const char *colon;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':')
            return APR_EINVAL;
        *host = apr_pstrmemdup(pool, spec + 1, (apr_size_t)(end - spec - 1));
        colon = end + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || memchr(spec, ':', (size_t)(colon - spec)))
            return APR_EINVAL; /* an IPv6 address needs brackets */
        *host = apr_pstrmemdup(pool, spec, (apr_size_t)(colon - spec));
    }
    const char *digits = colon + 1;
    apr_size_t n = strlen(digits);
    if (!**host || n == 0 || n > 5 || strspn(digits, "0123456789") != n)
        return APR_EINVAL;
    long v = strtol(digits, NULL, 10);
    if (v > 65535)
        return APR_EINVAL;
    *port = (apr_port_t)v;
    return APR_SUCCESS;
}

/* A socket bound to the listen address, not yet listening. */
static apr_status_t bind_address(const char *listen, apr_socket_t **out, apr_pool_t *p)
{
    char *host;
    apr_port_t port;
    apr_sockaddr_t *sa;
    apr_socket_t *sock;
    apr_status_t rv = parse_listen(listen, &host, &port, p);
    if (rv != APR_SUCCESS)
        return rv;
    if ((rv = apr_sockaddr_info_get(&sa, host, APR_UNSPEC, port, 0, p)) != APR_SUCCESS ||
        (rv = apr_socket_create(&sock, sa->family, SOCK_STREAM, APR_PROTO_TCP, p)) !=
            APR_SUCCESS)
        return rv;
    apr_socket_opt_set(sock, APR_SO_REUSEADDR, 1);
#if APR_HAVE_IPV6
    if (sa->family == APR_INET6)
        apr_socket_opt_set(sock, APR_IPV6_V6ONLY, 1);
#endif
    if ((rv = apr_socket_bind(sock, sa)) != APR_SUCCESS) {
        apr_socket_close(sock);
        return rv;
    }
    *out = sock;
    return APR_SUCCESS;
}

apr_status_t kt_http_try_bind(const char *listen, apr_pool_t *pool)
{
    apr_socket_t *sock;
    apr_status_t rv = bind_address(listen, &sock, pool);
    if (rv == APR_SUCCESS)
        apr_socket_close(sock);
    return rv;
}

static apr_status_t bind_listener(kt_http_t *s)
{
    apr_sockaddr_t *local;
    apr_socket_t *sock;
    apr_status_t rv = bind_address(s->conf.listen, &sock, s->run_pool);
    if (rv != APR_SUCCESS)
        return rv;
    if ((rv = apr_socket_listen(sock, 511)) != APR_SUCCESS ||
        (rv = apr_socket_opt_set(sock, APR_SO_NONBLOCK, 1)) != APR_SUCCESS ||
        (rv = apr_socket_timeout_set(sock, 0)) != APR_SUCCESS ||
        (rv = apr_socket_addr_get(&local, APR_LOCAL, sock)) != APR_SUCCESS) {
        apr_socket_close(sock);
        return rv;
    }
    char ip[64];
    apr_sockaddr_ip_getbuf(ip, sizeof ip, local);
    s->address = strchr(ip, ':') ? apr_psprintf(s->pool, "[%s]:%u", ip, (unsigned)local->port)
                                 : apr_psprintf(s->pool, "%s:%u", ip, (unsigned)local->port);
    s->listener = sock;
    return APR_SUCCESS;
}

static void reset_run(kt_http_t *s)
{
    s->listener = NULL;
    s->pollset = NULL;
    s->loop_thread = NULL;
    s->workers = NULL;
    s->done_mutex = NULL;
    s->done_head = NULL;
    s->poke_head = NULL;
    s->conns = s->zombies = NULL;
    s->n_conns = s->n_active = s->n_free_pools = 0;
    s->next_sweep = s->accept_resume = s->grace_deadline = 0;
    s->listener_polled = s->stop_begun = 0;
    atomic_store(&s->stopping, 0);
    atomic_store(&s->wake_pending, 0);
}

/* ---- Public ------------------------------------------------------------ */

void kt_http_conf_defaults(kt_http_conf_t *conf)
{
    memset(conf, 0, sizeof *conf);
    conf->listen = "127.0.0.1:5000";
    conf->workers = 4;
    conf->max_connections = 512;
    conf->max_header_bytes = 8192;
    conf->max_headers = 64;
    conf->max_url_bytes = 2048;
    conf->max_body_bytes = 1024 * 1024;
    conf->header_timeout_ms = 10000;
    conf->body_timeout_ms = 10000;
    conf->idle_timeout_ms = 30000;
    conf->write_timeout_ms = 10000;
    conf->shutdown_grace_ms = 5000;
    conf->max_stream_queue = 1024 * 1024;
}

apr_status_t kt_http_create(kt_http_t **out, const kt_http_conf_t *conf, apr_pool_t *pool)
{
    apr_allocator_t *alloc;
    apr_thread_mutex_t *mu;
    apr_pool_t *sp;
    apr_status_t rv;
    *out = NULL;
    if (!conf || !conf_ok(conf))
        return KT_ECONF;
    if ((rv = apr_allocator_create(&alloc)) != APR_SUCCESS)
        return rv;
    if ((rv = apr_pool_create_ex(&sp, pool, NULL, alloc)) != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return rv;
    }
    apr_allocator_owner_set(alloc, sp);
    apr_pool_tag(sp, "http");
    if ((rv = apr_thread_mutex_create(&mu, APR_THREAD_MUTEX_DEFAULT, sp)) != APR_SUCCESS) {
        apr_pool_destroy(sp);
        return rv;
    }
    apr_allocator_mutex_set(alloc, mu);

    kt_http_t *s = apr_pcalloc(sp, sizeof *s);
    s->pool = sp;
    s->conf = *conf;
    s->conf.server_names = conf->server_names ? apr_pstrdup(sp, conf->server_names) : NULL;
    s->conf.listen = apr_pstrdup(sp, conf->listen);
    s->conf.tls_cert = conf->tls_cert ? apr_pstrdup(sp, conf->tls_cert) : NULL;
    s->conf.tls_key = conf->tls_key ? apr_pstrdup(sp, conf->tls_key) : NULL;
    s->conf.tls_client_ca = conf->tls_client_ca ? apr_pstrdup(sp, conf->tls_client_ca) : NULL;
    s->routes = apr_array_make(sp, 16, sizeof(kt__route_t));
    s->life = KT__LIFE_CREATED;
    if (s->conf.tls_cert && (rv = kt__tls_server_init(s)) != APR_SUCCESS) {
        apr_pool_destroy(sp);
        return rv;
    }
    apr_pool_pre_cleanup_register(pool, s, stop_on_cleanup);
    *out = s;
    return APR_SUCCESS;
}

apr_status_t kt_http_route(kt_http_t *s, const char *method, const char *path,
                           kt_http_handler_fn fn, void *baton)
{
    return kt__http_route_add(s, method, path, NULL, fn, baton);
}

apr_status_t kt_http_route_inline(kt_http_t *s, const char *method, const char *path,
                                  kt_http_try_fn try_fn, kt_http_handler_fn fn, void *baton)
{
    if (!try_fn)
        return APR_EINVAL;
    return kt__http_route_add(s, method, path, try_fn, fn, baton);
}

apr_status_t kt_http_start(kt_http_t *s)
{
    char err[128];
    if (atomic_load(&s->life) != KT__LIFE_CREATED)
        return KT_ESTATE;
    reset_run(s);
    apr_status_t rv = apr_pool_create(&s->run_pool, s->pool);
    if (rv != APR_SUCCESS)
        return rv;
    apr_pool_tag(s->run_pool, "http-run");
    unsigned queue = s->conf.workers * 64 < 64 ? 64 : s->conf.workers * 64;
    if ((rv = bind_listener(s)) != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "http: cannot listen on %s: %s", s->conf.listen,
               kt_strerror(rv, err, sizeof err));
        goto fail;
    }
    if ((rv = kt__http_workers_create(&s->workers, s, s->conf.workers, queue, s->run_pool)) !=
        APR_SUCCESS)
        goto fail;
    atomic_store(&s->life, KT__LIFE_RUNNING);
    if ((rv = kt__http_loop_start(s)) != APR_SUCCESS) {
        atomic_store(&s->life, KT__LIFE_CREATED);
        goto fail;
    }
    kt_log(KT_LOG_INFO, "http: listening on %s", s->address);
    return APR_SUCCESS;

fail:
    if (rv != APR_SUCCESS && s->workers)
        kt__http_workers_stop(s->workers);
    apr_pool_destroy(s->run_pool);
    reset_run(s);
    s->run_pool = NULL;
    return rv;
}

const char *kt_http_address(kt_http_t *s) { return s->address ? s->address : s->conf.listen; }

void kt_http_stop(kt_http_t *s)
{
    unsigned running = KT__LIFE_RUNNING;
    if (!s || !atomic_compare_exchange_strong(&s->life, &running, KT__LIFE_STOPPING))
        return;
    atomic_store(&s->stopping, 1);
    kt__http_wake(s);
    apr_status_t ignored;
    apr_thread_join(&ignored, s->loop_thread);
    apr_pool_destroy(s->run_pool);
    reset_run(s);
    s->run_pool = NULL;
    kt_log(KT_LOG_INFO, "http: stopped serving %s", s->address);
    atomic_store(&s->life, KT__LIFE_STOPPED);
}

void kt_http_stats(kt_http_t *s, kt_http_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->requests = atomic_load(&s->st_requests);
    for (int i = 0; i < 6; i++)
        out->by_class[i] = atomic_load(&s->st_class[i]);
    out->connections_open = atomic_load(&s->st_conns);
    out->streams_open = atomic_load(&s->st_streams);
}
