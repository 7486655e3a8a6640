/*
 * service.c - a service's state on Linux: systemd's, through `systemctl
 * show` (run without a shell, the unit after "--" so it is never taken for
 * an option, with a 5 s timeout). systemctl rather than systemd's D-Bus API:
 * no D-Bus library to link, and the same answer a person gets by hand. It
 * costs a process per check and reading, so service checks suit intervals
 * of seconds, not the 100 ms minimum.
 *
 * Its answer is KEY=value lines: LoadState not-found means there is no such
 * unit; otherwise ActiveState (active, reloading, inactive, failed,
 * activating, deactivating) says the rest, SubState and Result the detail.
 */
#include "kt_sys.h"
#include "kt_base.h"
#include "run_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

static const char *const systemctl_paths[] = {"/usr/bin/systemctl", "/bin/systemctl"};

const char *kt_sys_svc_state_name(kt_sys_svc_state_t s)
{
    static const char *const names[] = {"unknown", "active", "inactive", "failed",
                                        "activating", "deactivating", "missing"};
    return (unsigned)s < KT_ARRAY_SIZE(names) ? names[s] : "unknown";
}

/* The value of KEY= in text, copied into out ("" when absent). */
static void field(const char *text, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);
    out[0] = '\0';
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t v = n - klen - 1;
            if (v >= len)
                v = len - 1;
            memcpy(out, p + klen + 1, v);
            out[v] = '\0';
            if (v && out[v - 1] == '\r')
                out[v - 1] = '\0';
            return;
        }
        p = eol ? eol + 1 : NULL;
    }
}

void kt_sys_parse_systemctl_show(const char *text, kt_sys_svc_t *out)
{
    char load[32], active[32], sub[32], result[32];
    field(text, "LoadState", load, sizeof load);
    field(text, "ActiveState", active, sizeof active);
    field(text, "SubState", sub, sizeof sub);
    field(text, "Result", result, sizeof result);
    out->state = KT_SVC_UNKNOWN;
    if (strcmp(load, "not-found") == 0)
        out->state = KT_SVC_MISSING;
    else if (strcmp(active, "active") == 0 || strcmp(active, "reloading") == 0)
        out->state = KT_SVC_ACTIVE;
    else if (strcmp(active, "inactive") == 0)
        out->state = KT_SVC_INACTIVE;
    else if (strcmp(active, "failed") == 0)
        out->state = KT_SVC_FAILED;
    else if (strcmp(active, "activating") == 0)
        out->state = KT_SVC_ACTIVATING;
    else if (strcmp(active, "deactivating") == 0)
        out->state = KT_SVC_DEACTIVATING;
    snprintf(out->detail, sizeof out->detail, "%s/%s%s%s%s", active[0] ? active : "?",
             sub[0] ? sub : "?", result[0] ? " (" : "", result, result[0] ? ")" : "");
}

apr_status_t kt_sys_service_state(const char *name, kt_sys_svc_t *out, apr_pool_t *pool)
{
    memset(out, 0, sizeof *out);
    const char *prog = NULL;
    for (size_t i = 0; i < KT_ARRAY_SIZE(systemctl_paths) && !prog; i++)
        if (access(systemctl_paths[i], X_OK) == 0)
            prog = systemctl_paths[i];
    if (!prog) {
        snprintf(out->detail, sizeof out->detail, "systemctl is not installed");
        return APR_ENOENT;
    }
    char *argv[] = {(char *)prog, "show", "--property=LoadState,ActiveState,SubState,Result",
                    "--", apr_pstrdup(pool, name), NULL};
    kt_sys_run_result_t res;
    apr_status_t st = kt__sys_run_argv(argv, apr_time_from_sec(5), 4096, NULL, &res, pool);
    if (st != APR_SUCCESS)
        return st;
    if (res.exit_code != 0 || res.timed_out) {
        /* No systemd (a container), or no answer: nothing is known. */
        snprintf(out->detail, sizeof out->detail, "systemctl: %.80s",
                 res.timed_out ? "no answer in 5 s" : res.output);
        char *nl = strchr(out->detail, '\n');
        if (nl)
            *nl = '\0';
        return APR_SUCCESS;
    }
    kt_sys_parse_systemctl_show(res.output, out);
    return APR_SUCCESS;
}
