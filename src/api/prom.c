/*
 * prom.c - writing the Prometheus exposition formats: the text format 0.0.4
 * and OpenMetrics 1.0, which differ, for what kotod prints, only in how a
 * counter family is named (OpenMetrics names the family without _total),
 * in calling an untyped family "unknown", and in the "# EOF" that ends it.
 *
 * Numbers are printed as Go's strconv.FormatFloat(v, 'g', -1, 64) prints
 * them, which is what node_exporter's client library uses: the shortest
 * digits that read back as the same double, in exponent form from 1e+06
 * up and below 1e-04. Equal values then read the same in both exporters'
 * answers, byte for byte.
 */
#include "api_internal.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

void kt__prom_init(kt__prom_t *o, int openmetrics, size_t hint)
{
    kt__prom_init_in(o, openmetrics, hint, NULL, 0);
}

void kt__prom_init_in(kt__prom_t *o, int openmetrics, size_t hint, char *buf, size_t cap)
{
    if (buf && cap >= hint && cap >= 4096) {
        o->cap = cap;
        o->buf = buf;
        o->len = 0;
        o->failed = 0;
        o->openmetrics = openmetrics;
        return;
    }
    free(buf);
    o->cap = hint > 4096 ? hint : 4096;
    o->buf = malloc(o->cap);
    o->len = 0;
    o->failed = !o->buf;
    o->openmetrics = openmetrics;
}

/* Room for n more bytes; 0 when memory ran out (o->failed is then set). */
static int room(kt__prom_t *o, size_t n)
{
    if (o->failed)
        return 0;
    if (n < o->cap - o->len)
        return 1;
    size_t cap = o->cap * 2 + n;
    char *bigger = realloc(o->buf, cap);
    if (!bigger) {
        o->failed = 1;
        return 0;
    }
    o->buf = bigger;
    o->cap = cap;
    return 1;
}

void kt__prom_put(kt__prom_t *o, const char *fmt, ...)
{
    while (!o->failed) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        room(o, (size_t)n);
    }
}

void kt__prom_append(kt__prom_t *o, const char *text, size_t len)
{
    if (!room(o, len))
        return;
    memcpy(o->buf + o->len, text, len);
    o->len += len;
}

/* Written piece by piece rather than through printf: a page with the node_*
 * families has a thousand lines, rendered once per reading, and printf's
 * parsing was most of what rendering cost. */
void kt__prom_family(kt__prom_t *o, const char *name, const char *type, const char *help)
{
    size_t n = strlen(name);
    if (o->openmetrics && strcmp(type, "counter") == 0 && n > 6 &&
        strcmp(name + n - 6, "_total") == 0)
        n -= 6;
    if (o->openmetrics && strcmp(type, "untyped") == 0)
        type = "unknown";
    size_t h = strlen(help), t = strlen(type);
    if (!room(o, 2 * n + h + t + 18))
        return;
    char *p = o->buf + o->len;
    memcpy(p, "# HELP ", 7), p += 7;
    memcpy(p, name, n), p += n;
    *p++ = ' ';
    memcpy(p, help, h), p += h;
    memcpy(p, "\n# TYPE ", 8), p += 8;
    memcpy(p, name, n), p += n;
    *p++ = ' ';
    memcpy(p, type, t), p += t;
    *p++ = '\n';
    o->len = (size_t)(p - o->buf);
}

/* The decimal digits of u, at the end of buf[24]; returns where they start. */
static char *u64_digits(char *end, uint64_t u)
{
    do
        *--end = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    return end;
}

/* text into out[len], cut to fit: a copy, not snprintf's "%s" (a page has
 * a thousand numbers, and printf's parsing cost more than the digits). */
static void put_text(char *out, size_t len, const char *text, size_t n)
{
    if (!len)
        return;
    if (n >= len)
        n = len - 1;
    memcpy(out, text, n);
    out[n] = '\0';
}

/* Go's 'g' form of the decimal digits[0..nd) times 10^(exp - nd + 1), their
 * trailing zeros dropped: %e from an exponent of 1e+06 up and below 1e-04,
 * plain decimals between. */
static void format_digits(char *out, size_t len, int negative, const char *digits, int nd, int exp)
{
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    char buf[64], *p = buf;
    if (negative)
        *p++ = '-';
    if (exp < -4 || exp >= 6) {
        *p++ = digits[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, (size_t)nd - 1), p += nd - 1;
        }
        *p++ = 'e';
        *p++ = exp < 0 ? '-' : '+';
        int a = exp < 0 ? -exp : exp;
        if (a >= 100)
            *p++ = (char)('0' + a / 100);
        *p++ = (char)('0' + a / 10 % 10);
        *p++ = (char)('0' + a % 10);
    } else if (exp < 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > exp; i--)
            *p++ = '0';
        memcpy(p, digits, (size_t)nd), p += nd;
    } else {
        for (int i = 0; i < nd || i <= exp; i++) {
            if (i == exp + 1)
                *p++ = '.';
            *p++ = i < nd ? digits[i] : '0';
        }
    }
    put_text(out, len, buf, (size_t)(p - buf));
}

/* The shortest digits of v, as the exact decimal r / 10^k, when one with at
 * most 15 significant digits reads back as v: no other decimal of 15 digits
 * or fewer reads as the same double (DBL_DIG), so that one is the shortest.
 * r / 10^k in double arithmetic is the correctly rounded quotient, what
 * strtod would read, so the test needs no strtod. Counters kept in ticks,
 * milliseconds or microseconds (seconds as ticks / 100, ms * 0.001) all
 * land here. Returns 0 when v needs more digits or another scale. */
static int format_short(char *out, size_t len, double v)
{
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    double scale = 1;
    for (int k = 0; k <= 9; k++, scale *= 10) {
        double r = nearbyint(a * scale);
        if (r >= 1e15)
            return 0;
        if (r / scale != a)
            continue;
        char end[24], *d = u64_digits(end + sizeof end, (uint64_t)r);
        int nd = (int)(end + sizeof end - d);
        int exp = nd - 1 - k;
        format_digits(out, len, v < 0, d, nd, exp);
        return 1;
    }
    return 0;
}

void kt__prom_number(char *out, size_t len, double v)
{
    if (isnan(v)) {
        put_text(out, len, "NaN", 3);
        return;
    }
    if (isinf(v)) {
        put_text(out, len, v > 0 ? "+Inf" : "-Inf", 4);
        return;
    }
    if (v == 0) {
        put_text(out, len, signbit(v) ? "-0" : "0", signbit(v) ? 2 : 1);
        return;
    }
    if (format_short(out, len, v))
        return;
    /* Integers of 16 digits and more, and what has more than 15 digits or
     * is very large or small: the shortest digits found by trying. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        char end[24], *d = u64_digits(end + sizeof end, (uint64_t)fabs(v));
        int nd = (int)(end + sizeof end - d), exp = nd - 1;
        format_digits(out, len, v < 0, d, nd, exp);
        return;
    }
    /* Fifteen significant digits read back as v when any fifteen or fewer
     * do (DBL_DIG, as in format_short), and then their trailing zeros go;
     * else sixteen, else seventeen, which always do: three tries at most,
     * not one per precision. Subnormals have too few bits for that
     * argument: every precision is tried. */
    char e[40];
    int prec;
    for (prec = fabs(v) < DBL_MIN ? 1 : 15; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(e, sizeof e, "%.16e", v);
    /* Its digits, without sign and point, in Go's form. */
    char digits[24];
    int nd = 0;
    const char *mark = strchr(e, 'e');
    for (const char *c = e; c < mark; c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    format_digits(out, len, v < 0, digits, nd, atoi(mark + 1));
}

void kt__prom_sample(kt__prom_t *o, const char *name, const char *labels, double v)
{
    if (!kt_known(v))
        return; /* unknown is left out, never exported as NaN or 0 */
    char num[48];
    kt__prom_number(num, sizeof num, v);
    size_t n = strlen(name), l = labels ? strlen(labels) : 0, m = strlen(num);
    if (!room(o, n + l + m + 2))
        return;
    char *p = o->buf + o->len;
    memcpy(p, name, n), p += n;
    if (l)
        memcpy(p, labels, l), p += l;
    *p++ = ' ';
    memcpy(p, num, m), p += m;
    *p++ = '\n';
    o->len = (size_t)(p - o->buf);
}

void kt__prom_sample_u64(kt__prom_t *o, const char *name, const char *labels, uint64_t v)
{
    if (kt_known_u64(v))
        kt__prom_sample(o, name, labels, (double)v);
}

static size_t escaped_len(const char *v)
{
    size_t n = 0;
    for (; v && *v; v++)
        n += (*v == '\\' || *v == '"' || *v == '\n') ? 2 : 1;
    return n;
}

const char *kt__prom_labels(apr_pool_t *pool, ...)
{
    va_list ap;
    size_t need = 3;
    va_start(ap, pool);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;)
        need += strlen(k) + 4 + escaped_len(va_arg(ap, const char *));
    va_end(ap);
    char *buf = apr_palloc(pool, need), *d = buf;
    *d++ = '{';
    va_start(ap, pool);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *v = va_arg(ap, const char *);
        if (d > buf + 1)
            *d++ = ',';
        size_t klen = strlen(k);
        memcpy(d, k, klen);
        d += klen;
        *d++ = '=';
        *d++ = '"';
        for (; v && *v; v++) {
            if (*v == '\\' || *v == '"') {
                *d++ = '\\';
                *d++ = *v;
            } else if (*v == '\n') {
                *d++ = '\\';
                *d++ = 'n';
            } else {
                *d++ = *v;
            }
        }
        *d++ = '"';
    }
    va_end(ap);
    *d++ = '}';
    *d = '\0';
    return buf;
}
