/*
 * plat_win.c - the Windows backend: opens the handle and takes one reading.
 * See win.h for which API feeds which field and what is ignored on Windows.
 *
 * As on Linux, state between readings (counters rates come from) lives in two
 * pools used in turn: the reading being built writes into one while the
 * previous reading's counters are read from the other.
 */
#include "win.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kt__win_source(kt_plat_t *p, int src, const char *what, int ok, unsigned long err)
{
    unsigned bit = 1u << src;
    if (!ok && !(p->failing & bit)) {
        kt_log(KT_LOG_WARN, "cannot read %s (error %lu); its values are unknown until it recovers",
               what, err);
        p->failing |= bit;
    } else if (ok && (p->failing & bit)) {
        kt_log(KT_LOG_INFO, "%s readable again", what);
        p->failing &= ~bit;
    }
}

/* RtlGetVersion tells the truth; GetVersionEx answers per the exe's manifest. */
typedef LONG(WINAPI *rtl_get_version_fn)(OSVERSIONINFOW *);

static const char *kernel_version(apr_pool_t *pool)
{
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    rtl_get_version_fn fn = nt ? (rtl_get_version_fn)(void *)GetProcAddress(nt, "RtlGetVersion")
                               : NULL;
    OSVERSIONINFOW vi = {.dwOSVersionInfoSize = sizeof vi};
    if (!fn || fn(&vi) != 0)
        return NULL;
    return apr_psprintf(pool, "%lu.%lu.%lu", (unsigned long)vi.dwMajorVersion,
                        (unsigned long)vi.dwMinorVersion, (unsigned long)vi.dwBuildNumber);
}

static const char *host_name(apr_pool_t *pool)
{
    wchar_t name[256];
    DWORD n = KT_ARRAY_SIZE(name);
    if (!GetComputerNameExW(ComputerNameDnsHostname, name, &n))
        return NULL;
    return kt__win_utf8(name, pool);
}

void kt_plat_want_cmdlines(kt_plat_t *p, int on) { p->want_cmdlines = on; }

/* One NtQuerySystemInformation call reads the whole table: nothing to shed. */
void kt_plat_want_procs(kt_plat_t *p, int on)
{
    (void)p;
    (void)on;
}

apr_status_t kt_plat_set_roots(kt_plat_t *p, const char *procfs, const char *sysfs)
{
    (void)p, (void)procfs, (void)sysfs; /* no procfs/sysfs on Windows */
    return APR_SUCCESS;
}

static apr_status_t free_procbuf(void *data)
{
    kt_plat_t *p = data;
    free(p->procbuf);
    return APR_SUCCESS;
}

apr_status_t kt_plat_open(kt_plat_t **out, const kt_plat_opts_t *opts, apr_pool_t *pool)
{
    apr_pool_t *sub;
    apr_status_t st = apr_pool_create(&sub, pool);
    if (st != APR_SUCCESS)
        return st;
    apr_pool_tag(sub, "platform");
    kt_plat_t *p = apr_pcalloc(sub, sizeof *p);
    p->pool = sub;
    p->top_n = opts && opts->top_n ? opts->top_n : 5;
    apr_pool_cleanup_register(sub, p, free_procbuf, apr_pool_cleanup_null);
    apr_pool_create(&p->state_pool[0], sub);
    apr_pool_create(&p->state_pool[1], sub);
    LARGE_INTEGER f;
    p->qpc_freq = QueryPerformanceFrequency(&f) && f.QuadPart > 0 ? (uint64_t)f.QuadPart : 0;
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    p->ntqsi = nt ? (void *)GetProcAddress(nt, "NtQuerySystemInformation") : NULL;
    p->hostname = host_name(sub);
    p->kernel = kernel_version(sub);
    p->pdh = kt__pdh_open(sub);
    *out = p;
    return APR_SUCCESS;
}

void kt_plat_close(kt_plat_t *p)
{
    apr_pool_destroy(p->pool); /* the PDH query closes in a pool cleanup */
}

apr_status_t kt_plat_sample(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    apr_pool_t *state = kt__plat_begin(s, "windows", p->hostname, p->kernel, p->state_pool,
                                       &p->cur_state, pool);
    memset(&p->next, 0, sizeof p->next);
    p->next.procs = apr_hash_make(state);
    p->next.net = apr_hash_make(state);
    p->next.disks = apr_hash_make(state);

    LARGE_INTEGER now;
    if (p->qpc_freq && QueryPerformanceCounter(&now)) {
        p->next.qpc = (uint64_t)now.QuadPart;
        if (p->prev.valid && p->next.qpc > p->prev.qpc)
            s->elapsed_s = (double)(p->next.qpc - p->prev.qpc) / (double)p->qpc_freq;
    }

    uint64_t up_ms = GetTickCount64();
    s->uptime_s = (double)up_ms / 1000.0;
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    s->boot_time = kt__win_boot_time(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime, up_ms);

    kt__win_read_cpu(p, s, pool);
    kt__win_read_mem(p, s);
    kt__win_read_procs(p, s, pool);
    kt__win_read_fs(p, s, pool);
    kt__win_read_net(p, s, pool);
    kt__win_read_disks(p, s, pool);
    kt__pdh_read(p->pdh, s); /* last: fills run_queue and the disks' busy/queue */

    p->next.valid = 1;
    p->prev = p->next;
    unsigned all = (1u << KT__WSRC_COUNT) - 1;
    return (p->failing & all) == all ? APR_ENOENT : APR_SUCCESS;
}
