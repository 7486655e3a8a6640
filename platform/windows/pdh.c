/*
 * pdh.c - the few values only PDH has: the processor queue length, and per
 * physical disk % busy (100 - "% Idle Time") and average queue length.
 * English counter names (PdhAddEnglishCounterW) so localized Windows works.
 *
 * Fallback: a counter that cannot be added, collected or formatted
 * (PDH_CSTATUS_NO_COUNTER, a corrupt performance registry, Wine's stub PDH)
 * leaves its value unknown; the sample still succeeds; each counter's first
 * failure is logged once per process, with the `lodctr /R` hint that rebuilds the counters.
 * Rates need two collections, so the first sample has the disk values unknown.
 */
#include "win.h"

#include <pdh.h>
#include <pdhmsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

enum { KT__PDH_QUEUE, KT__PDH_DISK_IDLE, KT__PDH_DISK_QUEUE, KT__PDH_N };
static const wchar_t *const counter_path[KT__PDH_N] = {
    L"\\System\\Processor Queue Length",
    L"\\PhysicalDisk(*)\\% Idle Time",
    L"\\PhysicalDisk(*)\\Avg. Disk Queue Length",
};

struct kt__pdh_t {
    PDH_HQUERY query;
    PDH_HCOUNTER counter[KT__PDH_N]; /* NULL: could not be added */
    unsigned failed;                 /* failures so far (for tests) */
    int collected;                   /* collections so far */
};

/* Bit per counter: its failure was logged. Process-wide, so reopening the
 * platform handle does not repeat the warning. */
static volatile LONG logged;

static void fail_once(kt__pdh_t *h, int i, const char *step, PDH_STATUS st)
{
    h->failed++;
    if (InterlockedOr(&logged, 1L << i) & (1L << i))
        return;
    char path[128];
    WideCharToMultiByte(CP_UTF8, 0, counter_path[i], -1, path, sizeof path, NULL, NULL);
    kt_log(KT_LOG_WARN,
           "PDH counter %s: %s failed (0x%08lX); its value stays unknown. If the "
           "performance counters are damaged, `lodctr /R` as Administrator rebuilds them",
           path, step, (unsigned long)st);
}

static apr_status_t close_query(void *data)
{
    kt__pdh_t *h = data;
    if (h->query)
        PdhCloseQuery(h->query);
    return APR_SUCCESS;
}

kt__pdh_t *kt__pdh_open(apr_pool_t *pool)
{
    kt__pdh_t *h = apr_pcalloc(pool, sizeof *h);
    PDH_STATUS st = PdhOpenQueryW(NULL, 0, &h->query);
    if (st != ERROR_SUCCESS) {
        h->query = NULL;
        for (int i = 0; i < KT__PDH_N; i++)
            fail_once(h, i, "PdhOpenQueryW", st);
        return h;
    }
    apr_pool_cleanup_register(pool, h, close_query, apr_pool_cleanup_null);
    for (int i = 0; i < KT__PDH_N; i++) {
        st = PdhAddEnglishCounterW(h->query, counter_path[i], 0, &h->counter[i]);
        if (st != ERROR_SUCCESS) {
            h->counter[i] = NULL;
            fail_once(h, i, "PdhAddEnglishCounterW", st);
        }
    }
    return h;
}

unsigned kt__pdh_failed(const kt__pdh_t *h) { return h->failed; }

static double single_value(kt__pdh_t *h, int i)
{
    PDH_FMT_COUNTERVALUE v;
    DWORD type;
    PDH_STATUS st = PdhGetFormattedCounterValue(h->counter[i], PDH_FMT_DOUBLE | PDH_FMT_NOCAP100,
                                                &type, &v);
    if (st != ERROR_SUCCESS || (v.CStatus != PDH_CSTATUS_VALID_DATA &&
                                v.CStatus != PDH_CSTATUS_NEW_DATA)) {
        fail_once(h, i, "PdhGetFormattedCounterValue", st != ERROR_SUCCESS ? st : (PDH_STATUS)v.CStatus);
        return NAN;
    }
    return v.doubleValue;
}

/* Instances are "0 C: D:"; the leading number is the PhysicalDriveN number. */
static void per_disk(kt__pdh_t *h, int i, kt_sample_t *s, int is_idle)
{
    DWORD bytes = 0, count = 0;
    PDH_STATUS st = PdhGetFormattedCounterArrayW(h->counter[i], PDH_FMT_DOUBLE | PDH_FMT_NOCAP100,
                                                 &bytes, &count, NULL);
    if (st != (PDH_STATUS)PDH_MORE_DATA) {
        fail_once(h, i, "PdhGetFormattedCounterArrayW", st);
        return;
    }
    PDH_FMT_COUNTERVALUE_ITEM_W *items = malloc(bytes);
    if (!items)
        return;
    st = PdhGetFormattedCounterArrayW(h->counter[i], PDH_FMT_DOUBLE | PDH_FMT_NOCAP100, &bytes,
                                      &count, items);
    if (st != ERROR_SUCCESS) {
        fail_once(h, i, "PdhGetFormattedCounterArrayW", st);
        count = 0;
    }
    for (DWORD k = 0; k < count; k++) {
        if (items[k].FmtValue.CStatus != PDH_CSTATUS_VALID_DATA ||
            !iswdigit(items[k].szName[0]))
            continue; /* _Total, or no data yet */
        char name[32];
        snprintf(name, sizeof name, "PhysicalDrive%lu", wcstoul(items[k].szName, NULL, 10));
        for (unsigned d = 0; d < s->ndisks; d++) {
            if (strcmp(s->disks[d].name, name) != 0)
                continue;
            double v = items[k].FmtValue.doubleValue;
            if (is_idle)
                s->disks[d].busy_pct = kt__win_clamp_pct(100.0 - v);
            else
                s->disks[d].queue_length = v >= 0 ? v : NAN;
        }
    }
    free(items);
}

void kt__pdh_read(kt__pdh_t *h, kt_sample_t *s)
{
    if (!h->query)
        return;
    PDH_STATUS st = PdhCollectQueryData(h->query);
    if (st != ERROR_SUCCESS) {
        for (int i = 0; i < KT__PDH_N; i++)
            if (h->counter[i])
                fail_once(h, i, "PdhCollectQueryData", st);
        return;
    }
    if (h->collected++ == 0)
        return; /* rates and averages need a second collection */
    if (h->counter[KT__PDH_QUEUE]) {
        double q = single_value(h, KT__PDH_QUEUE);
        if (kt_known(q) && q >= 0)
            s->run_queue = (uint64_t)(q + 0.5);
    }
    if (h->counter[KT__PDH_DISK_IDLE])
        per_disk(h, KT__PDH_DISK_IDLE, s, 1);
    if (h->counter[KT__PDH_DISK_QUEUE])
        per_disk(h, KT__PDH_DISK_QUEUE, s, 0);
}
