/*
 * parse_osrelease.c - os-release(5): KEY=value lines in a subset of shell
 * syntax. Values may be bare or in single or double quotes; inside double
 * quotes a backslash escapes $ " \ and `. Comments and blank lines are
 * skipped, unknown keys ignored.
 */
#include "linux.h"

#include <stddef.h>
#include <string.h>

static const struct {
    const char *key;
    size_t offset;
} keys[] = {
    {"NAME", offsetof(kt_os_release_t, name)},
    {"ID", offsetof(kt_os_release_t, id)},
    {"ID_LIKE", offsetof(kt_os_release_t, id_like)},
    {"PRETTY_NAME", offsetof(kt_os_release_t, pretty_name)},
    {"VERSION", offsetof(kt_os_release_t, version)},
    {"VERSION_ID", offsetof(kt_os_release_t, version_id)},
    {"VERSION_CODENAME", offsetof(kt_os_release_t, version_codename)},
    {"BUILD_ID", offsetof(kt_os_release_t, build_id)},
    {"VARIANT", offsetof(kt_os_release_t, variant)},
    {"VARIANT_ID", offsetof(kt_os_release_t, variant_id)},
    {"IMAGE_ID", offsetof(kt_os_release_t, image_id)},
    {"IMAGE_VERSION", offsetof(kt_os_release_t, image_version)},
};

/* The value at p up to the end of the line, unquoted, into pool. */
static const char *unquote(const char *p, const char *eol, apr_pool_t *pool)
{
    char *v = apr_palloc(pool, (size_t)(eol - p) + 1), *d = v;
    char quote = (*p == '"' || *p == '\'') ? *p++ : 0;
    for (; p < eol; p++) {
        if (quote && *p == quote)
            break;
        if (quote == '"' && *p == '\\' && p + 1 < eol && strchr("$\"\\`", p[1]))
            p++;
        *d++ = *p;
    }
    if (!quote)
        while (d > v && (d[-1] == ' ' || d[-1] == '\t' || d[-1] == '\r'))
            d--;
    *d = '\0';
    return v;
}

apr_status_t kt__parse_os_release(const char *text, kt_os_release_t *out, apr_pool_t *pool)
{
    memset(out, 0, sizeof *out);
    for (const char *p = text; *p; p = kt__next_line(p)) {
        const char *eq = strchr(p, '='), *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        if (!eq || eq > eol || *p == '#')
            continue;
        for (size_t i = 0; i < KT_ARRAY_SIZE(keys); i++) {
            size_t klen = strlen(keys[i].key);
            if ((size_t)(eq - p) == klen && strncmp(p, keys[i].key, klen) == 0) {
                *(const char **)((char *)out + keys[i].offset) = unquote(eq + 1, eol, pool);
                out->known = 1;
                break;
            }
        }
    }
    return out->known ? APR_SUCCESS : KT_EPARSE;
}
