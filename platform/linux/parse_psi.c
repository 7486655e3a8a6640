/*
 * parse_psi.c - /proc/pressure/{cpu,memory,io} (Documentation/accounting/psi.rst):
 *   some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 * avgN are percentages of wall time, total is microseconds since boot. The
 * cpu file has only "some" before Linux 5.13.
 */
#include "linux.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The number after "key=" in the line at p, or -1 when absent or malformed. */
static int field(const char *line, const char *eol, const char *key, double *d, uint64_t *u)
{
    size_t klen = strlen(key);
    for (const char *p = line; p + klen < eol; p++) {
        if ((p == line || p[-1] == ' ') && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *q = p + klen + 1;
            if (u)
                return kt__parse_u64(&q, u);
            if (!((*q >= '0' && *q <= '9') || *q == '.'))
                return -1;
            char *end;
            double v = strtod(q, &end);
            if (end == q || !isfinite(v) || v > 100.0)
                return -1;
            *d = v;
            return 0;
        }
    }
    return -1;
}

static int parse_line(const char *p, double avg[3], uint64_t *total)
{
    const char *eol = p;
    while (*eol && *eol != '\n')
        eol++;
    int ok = 0;
    ok |= field(p, eol, "avg10", &avg[0], NULL) == 0;
    ok |= field(p, eol, "avg60", &avg[1], NULL) == 0;
    ok |= field(p, eol, "avg300", &avg[2], NULL) == 0;
    ok |= field(p, eol, "total", NULL, total) == 0;
    return ok;
}

apr_status_t kt__parse_psi(const char *text, kt_psi_t *out)
{
    double some[3] = {NAN, NAN, NAN}, full[3] = {NAN, NAN, NAN};
    uint64_t some_total = KT_UNKNOWN_U64, full_total = KT_UNKNOWN_U64;
    int found = 0;
    for (const char *p = text; *p; p = kt__next_line(p)) {
        if (strncmp(p, "some ", 5) == 0)
            found |= parse_line(p + 5, some, &some_total);
        else if (strncmp(p, "full ", 5) == 0)
            found |= parse_line(p + 5, full, &full_total);
    }
    out->some_avg10_pct = some[0];
    out->some_avg60_pct = some[1];
    out->some_avg300_pct = some[2];
    out->some_total_us = some_total;
    out->full_avg10_pct = full[0];
    out->full_avg60_pct = full[1];
    out->full_avg300_pct = full[2];
    out->full_total_us = full_total;
    return found ? APR_SUCCESS : KT_EPARSE;
}
