/*
 * checks.c - the kinds of check and their state between readings.
 *
 * A kind is one file (check_process.c) and one line in the table below:
 * a judge, called at each reading with that reading, and a check of its
 * fields for `kotod -t`. The state a check keeps (a process's restarts)
 * follows the check by name, so a reload that adds, removes or reorders
 * checks keeps what each one knew.
 */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

static const kt__check_kind_t kinds[] = {
    {"process", kt__check_process, kt__check_process_valid},
    {"service", kt__check_service, kt__check_service_valid},
};

const kt__check_kind_t *kt__check_kind(const char *kind)
{
    for (size_t i = 0; kind && i < KT_ARRAY_SIZE(kinds); i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    return NULL;
}

/* Makes d->checks follow conf's list, carrying each one's state by name. */
static int follow(kt__detect_t *d, const kt_mon_conf_t *conf)
{
    int same = d->nchecks == conf->nchecks;
    for (unsigned i = 0; same && i < conf->nchecks; i++)
        same = strncmp(d->checks[i].name, conf->checks[i].name, sizeof d->checks[i].name - 1) == 0;
    if (same)
        return 0;
    kt__check_state_t *next = calloc(conf->nchecks ? conf->nchecks : 1, sizeof *next);
    if (!next)
        return -1;
    for (unsigned i = 0; i < conf->nchecks; i++) {
        snprintf(next[i].name, sizeof next[i].name, "%s", conf->checks[i].name);
        for (unsigned k = 0; k < d->nchecks; k++)
            if (strcmp(d->checks[k].name, next[i].name) == 0)
                next[i] = d->checks[k];
    }
    free(d->checks);
    d->checks = next;
    d->nchecks = conf->nchecks;
    return 0;
}

void kt__checks_run(kt__run_t *r, const kt_mon_conf_t *conf)
{
    if (follow(r->d, conf) != 0)
        return;
    for (unsigned i = 0; i < conf->nchecks; i++) {
        const kt__check_kind_t *k = kt__check_kind(conf->checks[i].kind);
        if (k)
            k->judge(r, &conf->checks[i], &r->d->checks[i]);
    }
}
