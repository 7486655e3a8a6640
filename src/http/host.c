/*
 * host.c - which Host a request may name (DNS rebinding).
 *
 * A page on evil.example can make its own name resolve to 127.0.0.1; the
 * browser then sends kotod requests that are same-origin to that page, with
 * "Host: evil.example". The name is the only thing that tells such a request
 * from the user's own, so a request is answered only when its Host names
 * localhost, the address the connection came in on (an IP literal cannot be
 * rebound), or one of the configured server names; anything else gets 421.
 * The port is not compared: the name is what rebinding forges.
 */
#include "http_internal.h"

#include <string.h>

#include <apr_strings.h>

/* [name, name+len) matches want, case-insensitively, a trailing '.' of a
 * fully qualified name ignored. */
static int same_name(const char *name, apr_size_t len, const char *want, apr_size_t wlen)
{
    if (len > 1 && name[len - 1] == '.')
        len--;
    return len == wlen && apr_cstr_casecmpn(name, want, len) == 0;
}

/* Each name of the comma- or space-separated list. */
static int listed(const char *name, apr_size_t len, const char *list)
{
    for (const char *p = list; p && *p;) {
        p += strspn(p, ", \t");
        apr_size_t n = strcspn(p, ", \t");
        if (n && same_name(name, len, p, n))
            return 1;
        p += n;
    }
    return 0;
}

int kt__http_host_allowed(const kt__conn_t *c, const char *host)
{
    /* Split "name[:port]" or "[v6]:port"; the port, when there, is digits. */
    const char *name = host, *end;
    if (*host == '[') {
        name = host + 1;
        if (!(end = strchr(name, ']')))
            return 0;
        end++;
    } else {
        end = host + strcspn(host, ":");
    }
    const char *port = *end == ':' ? end + 1 : end;
    if (*end && *end != ':')
        return 0;
    if (port != end && (!*port || strspn(port, "0123456789") != strlen(port)))
        return 0;
    apr_size_t len = (apr_size_t)(end - name) - (*host == '[');
    if (len == 0)
        return 0;

    if (same_name(name, len, "localhost", 9))
        return 1;
    /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
    const char *local = c->local_ip;
    if (strncmp(local, "::ffff:", 7) == 0 && !memchr(name, ':', len))
        local += 7;
    if (*local && len == strlen(local) && apr_cstr_casecmpn(name, local, len) == 0)
        return 1;
    return listed(name, len, c->s->conf.server_names);
}
