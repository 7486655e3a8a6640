/*
 * proc.c - the process table: one /proc/<pid>/stat read per process, through
 * the descriptor kept open for it (fdcache.c).
 *
 * A process is identified across readings by (pid, start time), so a reused
 * pid never inherits another process's CPU time. Processes that exit while
 * we scan simply drop out. CPU % is of one core, as top prints it.
 *
 * Processes that ended between two readings are never seen in a scan, but
 * their parents reaped them: the rise of the parents' cutime + cstime is
 * their CPU. From it goes what the processes that vanished since the last
 * reading had already been seen using (their own and their reaped
 * children's time, counted before), so a long-lived process that ends is
 * not counted twice.
 */
#include "linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMDLINE_MAX 512
#define USER_HZ 100 /* /proc reports ticks in USER_HZ, 100 on every Linux ABI */

static void count_state(kt_sample_t *s, char state)
{
    switch (state) {
    case 'R': s->procs_running++; break;
    case 'S': s->procs_sleeping++; break;
    case 'D': s->procs_blocked++; break;
    case 'Z': s->procs_zombie++; break;
    case 'T': case 't': s->procs_stopped++; break;
    case 'I': s->procs_idle++; break;
    default: break;
    }
}

static void fill_proc(kt_plat_t *p, const kt__pidstat_t *ps, const kt__proc_entry_t *was,
                      kt__proc_entry_t *now, double elapsed_s, kt_proc_t *out, apr_pool_t *pool)
{
    out->pid = ps->pid;
    out->ppid = ps->ppid;
    out->name = apr_pstrdup(pool, ps->name);
    out->cmdline = NULL;
    out->state = ps->state;
    out->threads = ps->threads;
    out->rss_bytes = kt_known_u64(ps->rss_pages) ? ps->rss_pages * (uint64_t)p->page_size
                                                 : KT_UNKNOWN_U64;
    out->cpu_pct = NAN;
    out->cpu_time_ms = KT_UNKNOWN_U64;
    now->starttime = ps->starttime;
    now->ticks = KT_UNKNOWN_U64;
    now->cticks = ps->cticks;
    /* Counters are kept for the process the directory's own stat names; a
     * reused pid is a new process (another start time) and starts afresh. */
    if (!kt_known_u64(ps->utime) || ps->pid != now->pid)
        return;
    uint64_t ticks = ps->utime + ps->stime;
    out->cpu_time_ms = ticks * (1000 / USER_HZ);
    now->ticks = ticks;
    if (p->prev.valid && kt_known_u64(was->ticks) && was->starttime == ps->starttime &&
        ticks >= was->ticks && elapsed_s > 0)
        out->cpu_pct = 100.0 * (double)(ticks - was->ticks) / USER_HZ / elapsed_s;
    /* Ticks are counted at the scheduler's tick and the elapsed time at our
     * own clock: over a short interval a busy thread can seem to have run
     * more than the interval. No thread runs faster than one core. */
    if (kt_known(out->cpu_pct) && kt_known_u64(ps->threads) && ps->threads > 0 &&
        out->cpu_pct > 100.0 * (double)ps->threads)
        out->cpu_pct = 100.0 * (double)ps->threads;
}

/* The CPU ticks a process reaped from its children since the last reading:
 * all it reaped when it is new since then. */
static uint64_t reaped(const kt_plat_t *p, const kt__pidstat_t *ps, const kt__proc_entry_t *was)
{
    if (!p->prev.valid || !kt_known_u64(ps->cticks))
        return 0;
    if (was->starttime != ps->starttime || !kt_known_u64(was->cticks))
        return kt_known_u64(was->starttime) && was->starttime == ps->starttime ? 0 : ps->cticks;
    return ps->cticks >= was->cticks ? ps->cticks - was->cticks : 0;
}

/* What the processes gone since the last reading had been seen using. */
static uint64_t vanished_ticks(const kt_plat_t *p)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < p->kept.nwas; i++) {
        const kt__proc_entry_t *e = &p->kept.was[i];
        if (e->fd == -2)
            continue; /* carried into this reading: still there */
        sum += (kt_known_u64(e->ticks) ? e->ticks : 0) + (kt_known_u64(e->cticks) ? e->cticks : 0);
    }
    return sum;
}

/* A process's command line, argv joined by spaces, in p->buf (*len 0:
 * none, as kernel threads have); -1 when it cannot be read. */
static int read_cmdline_raw(kt_plat_t *p, int64_t pid, char **text, size_t *len)
{
    char rel[48];
    snprintf(rel, sizeof rel, "%lld/cmdline", (long long)pid);
    if (kt__slurp(p, p->procfd, rel, text, len) != APR_SUCCESS)
        return -1;
    if (*len > CMDLINE_MAX)
        *len = CMDLINE_MAX;
    while (*len > 0 && (*text)[*len - 1] == '\0')
        (*len)--;
    for (size_t i = 0; i < *len; i++)
        if ((*text)[i] == '\0' || (*text)[i] == '\n')
            (*text)[i] = ' ';
    return 0;
}

/* A top list's command line is read again after this long: a process may
 * rewrite its argv (setproctitle: postgres, nginx's workers), or have been
 * read between its fork and an exec that kept its short name. */
#define TOP_CMDLINE_S 60

/* A process's command line, kept in its entry: read once in the process's
 * life (every process's with kt_plat_want_cmdlines), again after an exec
 * changed its short name or when it is older than max_age (0: never). A
 * reused pid starts without one (the scan drops it with the start time). */
static const char *kept_cmdline(kt_plat_t *p, kt__proc_entry_t *e, const char *name,
                                apr_time_t now, apr_interval_time_t max_age, apr_pool_t *pool)
{
    if (!e->cmdline || strncmp(e->comm, name, sizeof e->comm - 1) != 0 ||
        (max_age && (now - e->cmdline_time >= max_age || now < e->cmdline_time))) {
        char *text;
        size_t len;
        free(e->cmdline);
        e->cmdline = NULL;
        if (read_cmdline_raw(p, e->pid, &text, &len) != 0 || !(e->cmdline = malloc(len + 1)))
            return NULL; /* tried again at the next reading */
        memcpy(e->cmdline, text, len);
        e->cmdline[len] = '\0';
        snprintf(e->comm, sizeof e->comm, "%.15s", name);
        e->cmdline_time = now;
    }
    return *e->cmdline ? apr_pstrdup(pool, e->cmdline) : NULL;
}

/* The command lines of the top lists' processes. */
static void top_cmdlines(kt_plat_t *p, kt_proc_t **top, unsigned n, apr_time_t now,
                         apr_pool_t *pool)
{
    for (unsigned i = 0; i < n; i++) {
        kt__proc_entry_t *e = kt__proc_kept(p, (int32_t)top[i]->pid);
        if (!top[i]->cmdline && e && top[i]->name)
            top[i]->cmdline =
                kept_cmdline(p, e, top[i]->name, now, apr_time_from_sec(TOP_CMDLINE_S), pool);
    }
}

/* The pid a directory of the root is named for, or -1 (not a pid, or beyond
 * any pid the kernel hands out). */
static int32_t dir_pid(const char *name)
{
    if (!*name)
        return -1;
    int64_t v = 0;
    for (; *name; name++) {
        if (*name < '0' || *name > '9' || v > INT32_MAX / 10)
            return -1;
        v = v * 10 + (*name - '0');
    }
    return v <= INT32_MAX ? (int32_t)v : -1;
}

/* Seconds since the last process scan, by the clock s->elapsed_s is measured
 * with; NAN before the first. A reading that skipped the scan (kt_plat_want_procs)
 * makes it longer than s->elapsed_s. */
static double since_scan(kt_plat_t *p, const kt_sample_t *s)
{
    double was = p->procs_uptime_s;
    apr_time_t was_t = p->procs_time;
    p->procs_uptime_s = s->uptime_s;
    p->procs_time = s->time;
    if (!was_t || !kt_known(s->elapsed_s))
        return s->elapsed_s;
    double dt = kt_known(s->uptime_s) && kt_known(was) ? s->uptime_s - was
                                                       : (double)(s->time - was_t) / APR_USEC_PER_SEC;
    return dt > 0 ? dt : NAN;
}

/*
 * Listing the root walks every task the kernel has: a tenth of a reading's
 * CPU on an idle machine. The listing is skipped when no task has been
 * created since the last one: the kernel counts every fork and clone in
 * /proc/stat's "processes", so while that count stands still every live pid
 * is in the last scan's table, and one that has exited fails its read and
 * is dropped as after a listing. The root is listed anyway every RELIST_S,
 * so that a process whose read failed for another reason (no descriptor to
 * be had) comes back. Only on procfs: a captured tree's directories change
 * while its counter does not.
 */
#define RELIST_S 30

typedef struct {
    DIR *dir;      /* NULL: the pids of the last scan's table */
    unsigned next; /* the next of them */
    char name[16]; /* the pid as the root names its directory */
} pids_t;

static int may_skip_listing(const kt_plat_t *p, const kt_sample_t *s)
{
    const kt__fdcache_t *c = &p->kept;
    return c->on_procfs && c->listed_time && c->nwas && kt_known_u64(s->forks) &&
           s->forks == c->listed_forks && s->time >= c->listed_time &&
           s->time - c->listed_time < apr_time_from_sec(RELIST_S);
}

/* The next pid of the scan and the name of its directory, or NULL at the end. */
static const char *next_pid(kt_plat_t *p, pids_t *it, int32_t *pid)
{
    if (it->dir) {
        struct dirent *de;
        while ((de = readdir(it->dir)) != NULL)
            if ((*pid = dir_pid(de->d_name)) >= 0)
                return de->d_name;
        return NULL;
    }
    if (it->next >= p->kept.nwas)
        return NULL;
    *pid = p->kept.was[it->next++].pid;
    snprintf(it->name, sizeof it->name, "%d", (int)*pid);
    return it->name;
}

apr_status_t kt__read_procs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    pids_t it = {0};
    if (!may_skip_listing(p, s) && !(it.dir = kt__procs_dir(p))) {
        apr_status_t st = APR_FROM_OS_ERROR(errno);
        /* No process seen: none may rate against a reading before this one. */
        kt__procs_begin(p);
        kt__procs_end(p);
        return kt__source_status(p, KT__SRC_PROCS, "<pid>/stat", st);
    }

    /* Sized from the previous reading, in the sample's pool: no copy, and a
     * growth (many new processes) wastes only the smaller array. */
    unsigned cap = p->kept.nwas + p->kept.nwas / 8 + 64, n = 0;
    kt_proc_t *procs = apr_palloc(pool, sizeof *procs * cap);
    s->procs_running = s->procs_sleeping = s->procs_blocked = s->procs_zombie =
        s->procs_stopped = s->procs_idle = 0;
    uint64_t threads = 0, children = 0, most = 0;
    int threads_known = 1;
    int64_t reaper = -1;
    const char *reaper_name = NULL;

    double elapsed = since_scan(p, s);
    kt__procs_begin(p);
    int complete = 1;
    int32_t pid;
    const char *name;
    while ((name = next_pid(p, &it, &pid)) != NULL) {
        kt__proc_entry_t was, *e = kt__proc_add(p, pid, &was);
        if (!e) {
            complete = 0;
            break; /* out of memory: the processes listed so far */
        }
        char *text;
        kt__pidstat_t ps;
        if (kt__proc_read_stat(p, e, name, &text) != APR_SUCCESS ||
            kt__parse_pid_stat(text, &ps) != APR_SUCCESS) {
            kt__proc_drop(p, e); /* gone since it was listed, or not a process directory */
            continue;
        }
        if (e->cmdline && was.starttime != ps.starttime) {
            free(e->cmdline); /* another process under a reused pid */
            e->cmdline = NULL;
        }
        if (n == cap) {
            kt_proc_t *bigger = apr_palloc(pool, sizeof *procs * cap * 2);
            memcpy(bigger, procs, sizeof *procs * cap);
            procs = bigger;
            cap *= 2;
        }
        fill_proc(p, &ps, &was, e, elapsed, &procs[n], pool);
        if (p->want_cmdlines)
            procs[n].cmdline = kept_cmdline(p, e, ps.name, s->time, 0, pool);
        uint64_t r = reaped(p, &ps, &was);
        children += r;
        if (r > most) {
            most = r;
            reaper = ps.pid;
            reaper_name = procs[n].name;
        }
        count_state(s, ps.state);
        if (kt_known_u64(ps.threads))
            threads += ps.threads;
        else
            threads_known = 0;
        n++;
    }
    if (it.dir) {
        kt__procs_dir_done(p, it.dir);
        p->kept.listed_forks = s->forks;
        p->kept.listed_time = kt_known_u64(s->forks) ? s->time : 0;
        p->kept.listings++;
    }
    if (!complete)
        p->kept.listed_time = 0; /* the table lacks some: list the root next time */
    if (p->prev.valid && elapsed > 0) {
        uint64_t gone = vanished_ticks(p);
        s->exited_cpu_pct =
            children > gone ? 100.0 * (double)(children - gone) / USER_HZ / elapsed : 0.0;
        s->exited_parent_pid = reaper;
        s->exited_parent_name = reaper_name;
    }
    kt__procs_end(p);

    s->procs = procs;
    s->nprocs = n;
    s->cmdlines = p->want_cmdlines;
    if (n == 0) {
        /* Every system runs at least one process: none readable means the
         * source failed, so the counts are unknown rather than 0. */
        s->procs_running = s->procs_sleeping = s->procs_blocked = s->procs_zombie =
            s->procs_stopped = s->procs_idle = KT_UNKNOWN_U64;
    } else {
        s->procs_total = n;
        if (!kt_known_u64(s->threads_total) && threads_known)
            s->threads_total = threads;
    }

    kt__plat_rank_procs(s, p->top_n, pool);
    top_cmdlines(p, s->top_cpu, s->ntop_cpu, s->time, pool);
    top_cmdlines(p, s->top_mem, s->ntop_mem, s->time, pool);
    return kt__source_status(p, KT__SRC_PROCS, "<pid>/stat",
                             n ? APR_SUCCESS : APR_ENOENT);
}
