/*
 * parse_fields.c - the kernel's name/value tables, every line kept:
 *   /proc/meminfo  "Active(anon):    123456 kB"  (sizes in KiB, counts bare)
 *   /proc/vmstat   "pgmajfault 1234"
 * The names are the kernel's, as they appear; which ones matter is for the
 * reader and the consumers to say, so a field a newer kernel adds is kept too.
 */
#include "linux.h"

#include <string.h>

static int parse_line(const char *p, kt_field_t *f, apr_pool_t *pool)
{
    const char *name = p;
    while (*p && *p != ':' && *p != ' ' && *p != '\t' && *p != '\n')
        p++;
    if (p == name)
        return -1;
    const char *end = p;
    if (*p == ':')
        p++;
    uint64_t v;
    if (kt__parse_u64(&p, &v) != 0)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    f->bytes = 0;
    if (strncmp(p, "kB", 2) == 0 && (p[2] == '\n' || p[2] == '\0' || p[2] == ' ')) {
        if (v > UINT64_MAX / 1024)
            return -1;
        v *= 1024;
        f->bytes = 1;
    } else if (*p != '\n' && *p != '\0') {
        return -1; /* a unit we do not know, or garbage after the number */
    }
    f->name = apr_pstrmemdup(pool, name, (apr_size_t)(end - name));
    f->value = v;
    return 0;
}

apr_status_t kt__parse_fields(const char *text, kt_field_t **out, unsigned *n, apr_pool_t *pool)
{
    unsigned lines = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        lines++;
    kt_field_t *f = apr_pcalloc(pool, sizeof *f * (lines ? lines : 1));
    unsigned count = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        if (parse_line(p, &f[count], pool) == 0)
            count++;
    *out = f;
    *n = count;
    return count ? APR_SUCCESS : KT_EPARSE;
}
