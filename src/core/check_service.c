/*
 * check_service.c - the service check: a service the system's manager
 * runs (a systemd unit on Linux, a Windows service) must be running.
 *
 * Asked at each reading through the platform (kt_sys_service_state:
 * `systemctl show` on Linux, the SCM on Windows). Failed, stopped or
 * missing is service_failed (failed and missing: high; stopped: medium);
 * starting and stopping change nothing until they end; a manager that
 * cannot be asked (no systemd in a container) leaves the state unknown.
 */
#include "core_internal.h"
#include "kt_sys.h"

#include <stdio.h>
#include <string.h>

void kt__check_service(kt__run_t *r, const kt_mon_check_t *chk, kt__check_state_t *st)
{
    (void)st;
    apr_pool_t *pool;
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return;
    kt_sys_svc_t svc;
    kt_sys_service_state(chk->unit, &svc, pool);
    apr_pool_destroy(pool);
    double failing;
    switch (svc.state) {
    case KT_SVC_ACTIVE: failing = 0; break;
    case KT_SVC_FAILED:
    case KT_SVC_MISSING: failing = 100; break;
    case KT_SVC_INACTIVE: failing = 50; break;
    default: failing = NAN; break; /* unknown, or on its way: no evidence yet */
    }
    char text[256];
    snprintf(text, sizeof text, "check %s: service %s is %s (%s)", chk->name, chk->unit,
             kt_sys_svc_state_name(svc.state), svc.detail);
    kt__detect_check(r, chk, KT_EV_SERVICE_FAILED, svc.state == KT_SVC_ACTIVE ? 1 : 0, 1, failing,
                     text, NULL, 0);
}

int kt__check_service_valid(const kt_mon_check_t *chk, char *err, size_t len)
{
    if (!chk->unit || !*chk->unit) {
        snprintf(err, len, "check %s: a service check needs unit (nginx.service, Spooler)", chk->name);
        return -1;
    }
    /* Unit names are letters, digits and ":-_.\@"; anything else is a typo
     * or worse, and never reaches the manager. */
    for (const char *p = chk->unit; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(":-_.\\@ ", *p))) {
            snprintf(err, len, "check %s: unit '%s' has a character a service name cannot have",
                     chk->name, chk->unit);
            return -1;
        }
    if (chk->unit[0] == '-') {
        snprintf(err, len, "check %s: a unit name does not start with '-'", chk->name);
        return -1;
    }
    return 0;
}
