/*
 * parse_mountinfo.c - /proc/<pid>/mountinfo (proc(5)):
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * Optional fields run until a lone "-". Paths escape space, tab, newline and
 * backslash as \040 \011 \012 \134.
 */
#include "linux.h"

#include <string.h>

/* Copies one blank-separated word at *pp into pool, decoding \ooo escapes. */
static const char *take_word(const char **pp, apr_pool_t *pool)
{
    const char *p = *pp;
    while (*p == ' ')
        p++;
    const char *start = p;
    while (*p && *p != ' ' && *p != '\n')
        p++;
    if (p == start)
        return NULL;
    char *w = apr_palloc(pool, (size_t)(p - start) + 1), *d = w;
    for (const char *s = start; s < p; s++) {
        if (s[0] == '\\' && p - s >= 4 && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
            s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            *d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *d++ = *s;
        }
    }
    *d = '\0';
    *pp = p;
    return w;
}

/* 1 when the comma-separated list holds opt as a whole item. */
static int has_option(const char *list, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, opt, n) == 0)
            return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int parse_line(const char *p, kt__mount_t *m, apr_pool_t *pool)
{
    uint64_t id, parent, major, minor;
    if (kt__parse_u64(&p, &id) || kt__parse_u64(&p, &parent) ||
        kt__parse_u64(&p, &major) || *p++ != ':' || kt__parse_u64(&p, &minor))
        return -1;
    m->major = (unsigned)major;
    m->minor = (unsigned)minor;
    const char *mount_opts;
    if (!(m->root = take_word(&p, pool)) || !(m->mount_point = take_word(&p, pool)) ||
        !(mount_opts = take_word(&p, pool)))
        return -1;
    for (;;) { /* optional fields, then the "-" separator */
        const char *w = take_word(&p, pool);
        if (!w)
            return -1;
        if (strcmp(w, "-") == 0)
            break;
    }
    if (!(m->fstype = take_word(&p, pool)))
        return -1;
    m->source = take_word(&p, pool);
    if (!m->source)
        m->source = "none";
    /* Read-only is either the mount's flag or the superblock's; /proc/mounts
     * shows "ro" for both, and so does node_exporter. */
    const char *super_opts = take_word(&p, pool);
    m->readonly = has_option(mount_opts, "ro") || (super_opts && has_option(super_opts, "ro"));
    return 0;
}

apr_status_t kt__parse_mountinfo(const char *text, kt__mount_t **out, unsigned *n,
                                 apr_pool_t *pool)
{
    unsigned lines = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        lines++;
    kt__mount_t *m = apr_pcalloc(pool, sizeof *m * (lines ? lines : 1));
    unsigned count = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        if (parse_line(p, &m[count], pool) == 0)
            count++;
    *out = m;
    *n = count;
    return count ? APR_SUCCESS : KT_EPARSE;
}
