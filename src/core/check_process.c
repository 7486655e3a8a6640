/*
 * check_process.c - the process check: how many processes of a name (or
 * the one a pidfile names, or those whose command line matches a pattern)
 * run, against a minimum and a maximum.
 *
 * Judged from the reading's own process table, so it costs no extra pass
 * over /proc: one comparison of names per process and check. A name
 * matches the process's short name exactly; Linux keeps only the first 15
 * bytes of it (comm), so a longer name matches on those. A pidfile is read
 * (a few bytes) at each reading and the pid looked up in the table. A
 * command-line pattern is a glob (* any run of characters, ? one) over the
 * whole line, argv joined by spaces (the image path on Windows): with such
 * a check the platform keeps every process's line (kt_plat_want_cmdlines),
 * read once per process rather than once per reading. A glob, not a regular
 * expression: it is matched in time bounded by the two lengths, and means
 * the same on both systems.
 *
 * Events: process_down below the minimum (severity by how many are
 * missing: none running is high), process_count above the maximum. The
 * processes found (pid, CPU, memory) are the event's evidence, and the
 * message says how often the process came back under another pid
 * (restarts, as Monit counts them).
 */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>

#define COMM_LEN 15 /* Linux's TASK_COMM_LEN less its NUL */

static int name_matches(const char *have, const char *want)
{
    if (!have)
        return 0;
    if (strcmp(have, want) == 0)
        return 1;
    return strlen(want) > COMM_LEN && strlen(have) == COMM_LEN &&
           strncmp(have, want, COMM_LEN) == 0;
}

/* Star-and-question-mark matching over the whole of s: on a mismatch the
 * last star takes one more character, so the work is at most the product of
 * the two lengths. */
static int glob_matches(const char *s, const char *pat)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat && (*pat == '?' || *pat == *s)) {
            s++;
            pat++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

/* Each of the check's criteria it names holds for p, and p runs: a zombie
 * (dead, not yet reaped by its parent) keeps its name but runs no more. */
static int proc_matches(const kt_mon_check_t *chk, const kt_proc_t *p, int64_t want_pid)
{
    if (p->state == 'Z' || p->state == 'X')
        return 0;
    if (chk->pidfile && p->pid != want_pid)
        return 0;
    if (chk->process && !name_matches(p->name, chk->process))
        return 0; /* with a pidfile: the pid was reused by another program */
    return !chk->cmdline || (p->cmdline && glob_matches(p->cmdline, chk->cmdline));
}

/* The pid the file holds, 0 when it holds none (or cannot be read). */
static int64_t read_pidfile(const char *path)
{
    apr_pool_t *pool;
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return 0;
    int64_t pid = 0;
    apr_file_t *f;
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, pool) == APR_SUCCESS) {
        char buf[32] = {0};
        apr_size_t n = sizeof buf - 1;
        if (apr_file_read(f, buf, &n) == APR_SUCCESS) {
            buf[n] = '\0';
            char *end;
            long long v = strtoll(buf, &end, 10);
            if (end != buf && v > 0 && (*end == '\0' || *end == '\n' || *end == '\r'))
                pid = v;
        }
        apr_file_close(f);
    }
    apr_pool_destroy(pool);
    return pid;
}

void kt__check_process(kt__run_t *r, const kt_mon_check_t *chk, kt__check_state_t *st)
{
    const kt_sample_t *s = r->s;
    if (s->nprocs == 0 || (chk->cmdline && !s->cmdlines))
        return; /* no process table (or no command lines) this time: no evidence either way */
    int64_t want_pid = chk->pidfile ? read_pidfile(chk->pidfile) : 0;
    kt_event_proc_t ev[KT_EVENT_TOP];
    unsigned count = 0, nev = 0;
    int64_t lowest = 0;
    double cpu = 0;
    uint64_t rss = 0;
    for (unsigned i = 0; i < s->nprocs; i++) {
        const kt_proc_t *p = &s->procs[i];
        if (!proc_matches(chk, p, want_pid))
            continue;
        count++;
        if (!lowest || p->pid < lowest)
            lowest = p->pid;
        if (kt_known(p->cpu_pct))
            cpu += p->cpu_pct;
        if (kt_known_u64(p->rss_bytes))
            rss += p->rss_bytes;
        if (nev < KT_EVENT_TOP) {
            kt_event_proc_t *e = &ev[nev++];
            e->pid = p->pid;
            snprintf(e->name, sizeof e->name, "%s", p->name ? p->name : "?");
            e->cpu_pct = p->cpu_pct;
            e->rss_bytes = p->rss_bytes;
        }
    }
    /* Back under another pid: a restart (by whoever restarted it). */
    if (lowest && st->last_pid && lowest != st->last_pid)
        st->restarts++;
    if (lowest)
        st->last_pid = lowest;

    const char *what = chk->pidfile ? chk->pidfile : chk->process ? chk->process : chk->cmdline;
    const char *how = chk->pidfile ? "from " : chk->process ? "named " : "matching ";
    char text[256], rss_text[32], bound[32];
    kt__fmt_bytes(rss, rss_text, sizeof rss_text);
    if (chk->max)
        snprintf(bound, sizeof bound, "%u..%u", chk->min, chk->max);
    else
        snprintf(bound, sizeof bound, "at least %u", chk->min);
    int n = count == 0
                ? snprintf(text, sizeof text, "check %s: no process %s%s runs (%s wanted)",
                           chk->name, how, what, bound)
                : snprintf(text, sizeof text, "check %s: %u process%s %s%s run%s (%s wanted), "
                           "%.1f%% CPU, %s",
                           chk->name, count, count == 1 ? "" : "es", how, what,
                           count == 1 ? "s" : "", bound, cpu, rss_text);
    if (st->restarts && n > 0 && (size_t)n < sizeof text)
        snprintf(text + n, sizeof text - (size_t)n, "; restarted %u time%s since kotod started",
                 st->restarts, st->restarts == 1 ? "" : "s");

    double down = count < chk->min ? 100.0 * (chk->min - count) / chk->min : 0;
    kt__detect_check(r, chk, KT_EV_PROCESS_DOWN, count, chk->min, down, text, ev, nev);
    if (chk->max) {
        double over = count > chk->max ? 100.0 * (count - chk->max) / chk->max : 0;
        kt__detect_check(r, chk, KT_EV_PROCESS_COUNT, count, chk->max, over > 100 ? 100 : over,
                         text, ev, nev);
    }
}

int kt__check_process_valid(const kt_mon_check_t *chk, char *err, size_t len)
{
    if (!chk->process && !chk->pidfile && !chk->cmdline) {
        snprintf(err, len, "check %s: a process check needs process (a name), cmdline (a pattern)"
                 " or pidfile", chk->name);
        return -1;
    }
    if (chk->max && chk->max < chk->min) {
        snprintf(err, len, "check %s: max (%u) is below min (%u)", chk->name, chk->max, chk->min);
        return -1;
    }
    return 0;
}
