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

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

void kt__prom_init(kt__prom_t *o, int openmetrics)
{
    o->cap = 65536;
    o->buf = malloc(o->cap);
    o->len = 0;
    o->failed = !o->buf;
    o->openmetrics = openmetrics;
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
        size_t cap = o->cap * 2 + (size_t)n;
        char *bigger = realloc(o->buf, cap);
        if (!bigger) {
            o->failed = 1;
            return;
        }
        o->buf = bigger;
        o->cap = cap;
    }
}

void kt__prom_family(kt__prom_t *o, const char *name, const char *type, const char *help)
{
    size_t n = strlen(name);
    if (o->openmetrics && strcmp(type, "counter") == 0 && n > 6 &&
        strcmp(name + n - 6, "_total") == 0)
        n -= 6;
    if (o->openmetrics && strcmp(type, "untyped") == 0)
        type = "unknown";
    kt__prom_put(o, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
}

/* Digits of an integer-valued |v| < 2^53, where the shortest form is the
 * exact one less its trailing zeros. */
static void format_integer(char *out, size_t len, double v)
{
    char digits[24];
    uint64_t u = (uint64_t)fabs(v);
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
    const char *sign = v < 0 ? "-" : "";
    int exp = n - 1;
    if (exp < 6) {
        snprintf(out, len, "%s%s", sign, digits);
        return;
    }
    int nd = n;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    snprintf(out, len, "%s%c%s%.*se+%02d", sign, digits[0], nd > 1 ? "." : "", nd - 1, digits + 1,
             exp);
}

void kt__prom_number(char *out, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(out, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, len, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(out, len, "%s", signbit(v) ? "-0" : "0");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        format_integer(out, len, v);
        return;
    }
    char e[40];
    int prec;
    for (prec = 1; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(e, sizeof e, "%.16e", v);
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6)
        snprintf(out, len, "%s", e);
    else
        snprintf(out, len, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

void kt__prom_sample(kt__prom_t *o, const char *name, const char *labels, double v)
{
    if (!kt_known(v))
        return; /* unknown is left out, never exported as NaN or 0 */
    char num[48];
    kt__prom_number(num, sizeof num, v);
    kt__prom_put(o, "%s%s %s\n", name, labels ? labels : "", num);
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
