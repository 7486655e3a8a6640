/*
 * trend.c - how fast each filesystem fills: the forecast behind disk_fill.
 *
 * Each filesystem keeps the means of its used % over KT__TREND_POINTS
 * buckets spanning the window (6 h by default: 5-minute buckets), and its
 * rate is the Theil-Sen slope through them: the median of the slopes
 * between every pair of buckets. A median ignores what a minority of
 * pairs says, so a burst that was deleted again (an archive unpacked into
 * /tmp and removed) leaves the rate near zero, and a step at the end of the
 * window (a package install) moves it little, where a least-squares line
 * would follow both. The fit runs once per bucket, not per reading.
 */
#include "core_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The i-th oldest bucket. */
static unsigned at(const kt__trend_t *tr, unsigned i)
{
    return (tr->head + KT__TREND_POINTS - tr->n + i) % KT__TREND_POINTS;
}

static void fit(kt__trend_t *tr)
{
    tr->slope = NAN;
    tr->span_s = 0;
    if (tr->n < 2)
        return;
    double slopes[KT__TREND_POINTS * (KT__TREND_POINTS - 1) / 2];
    unsigned k = 0;
    for (unsigned i = 0; i < tr->n; i++)
        for (unsigned j = i + 1; j < tr->n; j++) {
            unsigned a = at(tr, i), b = at(tr, j);
            double dt = (double)(tr->t_ms[b] - tr->t_ms[a]) / 1000.0;
            if (dt > 0)
                slopes[k++] = (tr->v[b] - tr->v[a]) / dt;
        }
    if (!k)
        return;
    qsort(slopes, k, sizeof *slopes, by_value);
    tr->slope = k % 2 ? slopes[k / 2] : (slopes[k / 2 - 1] + slopes[k / 2]) / 2;
    tr->span_s = (double)(tr->t_ms[at(tr, tr->n - 1)] - tr->t_ms[at(tr, 0)]) / 1000.0;
}

static void push(kt__trend_t *tr, int64_t t_ms, double v)
{
    tr->t_ms[tr->head] = t_ms;
    tr->v[tr->head] = v;
    tr->head = (tr->head + 1) % KT__TREND_POINTS;
    if (tr->n < KT__TREND_POINTS)
        tr->n++;
    /* After a gap (kotod was down), what is older than the window goes. */
    while (tr->n > 1 && tr->t_ms[at(tr, 0)] < t_ms - tr->width_ms * KT__TREND_POINTS)
        tr->n--;
}

void kt__trend_add(kt__trend_t *tr, double window_s, apr_time_t t, double used_pct)
{
    int64_t width = (int64_t)(window_s * 1000.0 / KT__TREND_POINTS);
    if (width < 1)
        width = 1;
    if (width != tr->width_ms) { /* new, or the window was changed: start over */
        tr->width_ms = width;
        tr->n = tr->head = 0;
        tr->acc_n = 0;
        tr->slope = NAN;
        tr->span_s = 0;
    }
    if (!kt_known(used_pct))
        return;
    int64_t t_ms = apr_time_as_msec(t);
    if (tr->acc_n && t_ms >= tr->acc_start_ms + width) {
        push(tr, tr->acc_start_ms + width / 2, tr->acc_sum / tr->acc_n);
        tr->acc_n = 0;
        fit(tr);
    }
    if (!tr->acc_n) {
        tr->acc_start_ms = t_ms;
        tr->acc_sum = 0;
    }
    tr->acc_sum += used_pct;
    tr->acc_n++;
}

double kt__trend_seconds_to_full(const kt__trend_t *tr, double used_pct, double min_window_s,
                                 double min_growth_pct)
{
    if (!kt_known(used_pct) || !kt_known(tr->slope) || tr->span_s < min_window_s)
        return NAN; /* too little seen to say */
    if (tr->slope <= 0 || tr->slope * tr->span_s < min_growth_pct)
        return INFINITY; /* not filling, or too slowly to be told from noise */
    return used_pct >= 100 ? 0 : (100 - used_pct) / tr->slope;
}

json_t *kt__trend_save(const kt__trend_t *tr)
{
    json_t *t = json_array(), *v = json_array();
    for (unsigned i = 0; i < tr->n; i++) {
        json_array_append_new(t, json_integer(tr->t_ms[at(tr, i)]));
        json_array_append_new(v, json_real(round(tr->v[at(tr, i)] * 1e4) / 1e4));
    }
    return json_pack("{s:s s:I s:o s:o}", "mount", tr->mount, "width_ms", (json_int_t)tr->width_ms,
                     "t", t, "v", v);
}

void kt__trend_restore(kt__trend_t *tr, json_t *j)
{
    json_t *t = json_object_get(j, "t"), *v = json_object_get(j, "v");
    tr->width_ms = json_integer_value(json_object_get(j, "width_ms"));
    tr->n = tr->head = tr->acc_n = 0;
    for (size_t i = 0; i < json_array_size(t) && i < json_array_size(v); i++)
        if (json_is_integer(json_array_get(t, i)) && json_is_number(json_array_get(v, i)))
            push(tr, json_integer_value(json_array_get(t, i)),
                 json_number_value(json_array_get(v, i)));
    fit(tr);
}
