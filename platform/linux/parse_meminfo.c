/* parse_meminfo.c - /proc/meminfo, "Key:   12345 kB" lines, into bytes. */
#include "linux.h"

#include <stddef.h>
#include <string.h>

static const struct {
    const char *key;
    size_t offset;
} fields[] = {
    {"MemTotal", offsetof(kt__meminfo_t, total)},
    {"MemFree", offsetof(kt__meminfo_t, free)},
    {"MemAvailable", offsetof(kt__meminfo_t, available)},
    {"Buffers", offsetof(kt__meminfo_t, buffers)},
    {"Cached", offsetof(kt__meminfo_t, cached)},
    {"SwapTotal", offsetof(kt__meminfo_t, swap_total)},
    {"SwapFree", offsetof(kt__meminfo_t, swap_free)},
};

apr_status_t kt__parse_meminfo(const char *text, kt__meminfo_t *out)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++)
        *(uint64_t *)((char *)out + fields[i].offset) = KT_UNKNOWN_U64;

    int found = 0;
    for (const char *p = text; *p; p = kt__next_line(p)) {
        const char *colon = strchr(p, ':');
        const char *eol = strchr(p, '\n');
        if (!colon || (eol && colon > eol))
            continue;
        for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++) {
            size_t klen = strlen(fields[i].key);
            if ((size_t)(colon - p) != klen || strncmp(p, fields[i].key, klen) != 0)
                continue;
            const char *q = colon + 1;
            uint64_t v;
            if (kt__parse_u64(&q, &v) != 0)
                break;
            while (*q == ' ')
                q++;
            /* Every size line says kB (KiB); a line without a unit is a count. */
            if (strncmp(q, "kB", 2) == 0) {
                if (v > UINT64_MAX / 1024)
                    break;
                v *= 1024;
            }
            *(uint64_t *)((char *)out + fields[i].offset) = v;
            found = 1;
            break;
        }
    }
    return found ? APR_SUCCESS : KT_EPARSE;
}
