/*
 * parse_pid.c - /proc/<pid>/stat.
 *
 * The name (comm) may hold spaces and parentheses ("a) (b"), so it runs from
 * the first '(' to the LAST ')'; the numbered fields follow that. Field
 * numbers below are those of proc(5).
 */
#include "linux.h"

#include <string.h>

apr_status_t kt__parse_pid_stat(const char *text, kt__pidstat_t *out)
{
    out->pid = out->ppid = -1;
    out->name[0] = '\0';
    out->state = '?';
    out->utime = out->stime = out->threads = out->starttime = out->rss_pages = KT_UNKNOWN_U64;
    out->cticks = KT_UNKNOWN_U64;
    uint64_t cutime = KT_UNKNOWN_U64;

    const char *p = text;
    uint64_t pid;
    if (kt__parse_u64(&p, &pid) != 0 || pid > INT64_MAX)
        return KT_EPARSE;
    out->pid = (int64_t)pid;

    const char *open = strchr(p, '(');
    const char *close = strrchr(p, ')');
    if (!open || !close || close < open)
        return APR_SUCCESS; /* the pid alone is still worth listing */
    size_t n = (size_t)(close - open - 1);
    if (n >= sizeof out->name)
        n = sizeof out->name - 1;
    memcpy(out->name, open + 1, n);
    out->name[n] = '\0';

    p = close + 1;
    while (*p == ' ')
        p++;
    if (!*p || *p == '\n')
        return APR_SUCCESS;
    out->state = *p++;

    /* Fields 4.. are all integers; keep the ones we use, stop at the first gap. */
    for (int field = 4; field <= 24; field++) {
        uint64_t v;
        while (*p == ' ')
            p++;
        if (*p == '-') { /* a few fields (cutime, cstime, priority, nice) may be negative */
            p++;
            if (kt__parse_u64(&p, &v) != 0)
                break;
            if (field == 16)
                cutime = KT_UNKNOWN_U64 - 1; /* negative: not a usable count */
            continue;
        }
        if (kt__parse_u64(&p, &v) != 0)
            break;
        switch (field) {
        case 4: out->ppid = v <= INT64_MAX ? (int64_t)v : -1; break;
        case 14: out->utime = v; break;
        case 15: out->stime = v; break;
        case 16: cutime = v; break;
        case 17:
            if (cutime < KT_UNKNOWN_U64 - 1)
                out->cticks = cutime + v;
            break;
        case 20: out->threads = v; break;
        case 22: out->starttime = v; break;
        case 24: out->rss_pages = v; break;
        default: break;
        }
    }
    /* A truncated line may have given utime without stime: a half-known
     * CPU time would read as a drop, so keep both or neither. */
    if (!kt_known_u64(out->utime) || !kt_known_u64(out->stime))
        out->utime = out->stime = KT_UNKNOWN_U64;
    return APR_SUCCESS;
}
