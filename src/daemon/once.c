/*
 * once.c - kotod --once: two readings (so rates are real), the second
 * printed as JSON. With two --procfs roots the readings come from a captured
 * t0/t1 pair instead of the live clock.
 */
#include "daemon.h"

#include <stdio.h>

#include <apr_time.h>

int kt_run_once(const kt_opts_t *o, apr_pool_t *pool)
{
    kt_plat_opts_t popts = {o->nprocfs ? o->procfs[0] : NULL, o->sysfs, o->rootfs,
                            o->top_n ? o->top_n : 5, KT_PLAT_KEPT_FDS};
    kt_plat_t *plat;
    char err[128];
    apr_status_t st = kt_plat_open(&plat, &popts, pool);
    if (st != APR_SUCCESS) {
        fprintf(stderr, "kotod: cannot open %s: %s\n", popts.procfs ? popts.procfs : "/proc",
                kt_strerror(st, err, sizeof err));
        return 1;
    }
    kt_sample_t s;
    for (int reading = 0; reading < 2; reading++) {
        if (reading == 1 && o->nprocfs == 2) {
            if ((st = kt_plat_set_roots(plat, o->procfs[1], NULL)) != APR_SUCCESS) {
                fprintf(stderr, "kotod: cannot open %s: %s\n", o->procfs[1],
                        kt_strerror(st, err, sizeof err));
                return 1;
            }
        } else if (reading == 1) {
            apr_sleep((apr_interval_time_t)o->once_delay_ms * 1000);
        }
        if ((st = kt_plat_sample(plat, &s, pool)) != APR_SUCCESS) {
            fprintf(stderr, "kotod: nothing could be read: %s\n", kt_strerror(st, err, sizeof err));
            return 1;
        }
    }
    json_t *j = kt_json_sample(&s, 0);
    int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == 0 ? 0 : 1;
    fputc('\n', stdout);
    json_decref(j);
    kt_plat_close(plat);
    return rc;
}
