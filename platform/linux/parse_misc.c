/* parse_misc.c - the one-line files: /proc/loadavg, /proc/uptime, and /proc/vmstat. */
#include "linux.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* strtod that refuses an empty field, NaN/inf spellings, and a number too
 * large for a double (strtod returns HUGE_VAL for "1e999"). */
static int parse_double(const char **pp, double *out)
{
    const char *p = *pp;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!((*p >= '0' && *p <= '9') || *p == '.'))
        return -1;
    char *end;
    double v = strtod(p, &end);
    if (end == p || !isfinite(v))
        return -1;
    *out = v;
    *pp = end;
    return 0;
}

apr_status_t kt__parse_loadavg(const char *text, kt__loadavg_t *out)
{
    out->load[0] = out->load[1] = out->load[2] = NAN;
    out->runnable = out->threads = KT_UNKNOWN_U64;
    const char *p = text;
    for (int i = 0; i < 3; i++)
        if (parse_double(&p, &out->load[i]) != 0)
            return i ? APR_SUCCESS : KT_EPARSE;
    uint64_t r, t;
    if (kt__parse_u64(&p, &r) == 0 && *p == '/') {
        p++;
        if (kt__parse_u64(&p, &t) == 0) {
            out->runnable = r;
            out->threads = t;
        }
    }
    return APR_SUCCESS;
}

apr_status_t kt__parse_uptime(const char *text, double *uptime_s)
{
    const char *p = text;
    *uptime_s = NAN;
    return parse_double(&p, uptime_s) == 0 ? APR_SUCCESS : KT_EPARSE;
}

apr_status_t kt__parse_vmstat(const char *text, uint64_t *pswpin, uint64_t *pswpout)
{
    *pswpin = *pswpout = KT_UNKNOWN_U64;
    for (const char *p = text; *p; p = kt__next_line(p)) {
        const char *q;
        if (strncmp(p, "pswpin ", 7) == 0) {
            q = p + 7;
            kt__parse_u64(&q, pswpin);
        } else if (strncmp(p, "pswpout ", 8) == 0) {
            q = p + 8;
            kt__parse_u64(&q, pswpout);
        }
    }
    return kt_known_u64(*pswpin) || kt_known_u64(*pswpout) ? APR_SUCCESS : KT_EPARSE;
}
