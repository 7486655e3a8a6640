/*
 * proc.c - the process table: one /proc/<pid>/stat read per process.
 *
 * A process is identified across readings by (pid, start time), so a reused
 * pid never inherits another process's CPU time. Processes that exit while
 * we scan simply drop out. CPU % is of one core, as top prints it.
 */
#include "linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CMDLINE_MAX 512
#define USER_HZ 100 /* /proc reports ticks in USER_HZ, 100 on every Linux ABI */

static int is_pid(const char *name)
{
    if (!*name)
        return 0;
    for (; *name; name++)
        if (*name < '0' || *name > '9')
            return 0;
    return 1;
}

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

static void fill_proc(kt_plat_t *p, const kt__pidstat_t *ps, double elapsed_s, kt_proc_t *out,
                      apr_pool_t *pool)
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
    if (!kt_known_u64(ps->utime))
        return;
    uint64_t ticks = ps->utime + ps->stime;
    out->cpu_time_ms = ticks * (1000 / USER_HZ);

    if (p->prev.valid && p->prev.procs) {
        const kt__proc_prev_t *was = apr_hash_get(p->prev.procs, &ps->pid, sizeof ps->pid);
        if (was && was->starttime == ps->starttime && ticks >= was->ticks && elapsed_s > 0)
            out->cpu_pct = 100.0 * (double)(ticks - was->ticks) / USER_HZ / elapsed_s;
    }
    kt__proc_prev_t *now = apr_palloc(p->state_pool[p->cur_state], sizeof *now);
    now->pid = ps->pid;
    now->starttime = ps->starttime;
    now->ticks = ticks;
    apr_hash_set(p->next.procs, &now->pid, sizeof now->pid, now);
}

/* The command line of a process in a top list: argv joined by spaces. */
static const char *read_cmdline(kt_plat_t *p, int64_t pid, apr_pool_t *pool)
{
    char rel[48], *text;
    size_t len;
    snprintf(rel, sizeof rel, "%lld/cmdline", (long long)pid);
    if (kt__slurp(p, p->procfd, rel, &text, &len) != APR_SUCCESS)
        return NULL;
    if (len > CMDLINE_MAX)
        len = CMDLINE_MAX;
    while (len > 0 && text[len - 1] == '\0')
        len--;
    if (len == 0)
        return NULL; /* kernel threads have none */
    char *line = apr_pstrmemdup(pool, text, len);
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\0' || line[i] == '\n')
            line[i] = ' ';
    return line;
}

apr_status_t kt__read_procs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    int fd = openat(p->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return kt__source_status(p, KT__SRC_PROCS, "<pid>/stat", APR_FROM_OS_ERROR(errno));
    }

    /* Grow in a scratch array; copy once into the sample's pool at the end. */
    apr_pool_t *scratch;
    apr_pool_create(&scratch, pool);
    unsigned cap = 512, n = 0;
    kt_proc_t *procs = apr_palloc(scratch, sizeof *procs * cap);
    s->procs_running = s->procs_sleeping = s->procs_blocked = s->procs_zombie =
        s->procs_stopped = s->procs_idle = 0;
    uint64_t threads = 0;
    int threads_known = 1;

    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!is_pid(de->d_name))
            continue;
        char rel[300], *text;
        snprintf(rel, sizeof rel, "%s/stat", de->d_name);
        kt__pidstat_t ps;
        if (kt__slurp(p, p->procfd, rel, &text, NULL) != APR_SUCCESS ||
            kt__parse_pid_stat(text, &ps) != APR_SUCCESS)
            continue; /* gone since readdir, or not a process directory */
        if (n == cap) {
            kt_proc_t *bigger = apr_palloc(scratch, sizeof *procs * cap * 2);
            memcpy(bigger, procs, sizeof *procs * cap);
            procs = bigger;
            cap *= 2;
        }
        fill_proc(p, &ps, s->elapsed_s, &procs[n], pool);
        count_state(s, ps.state);
        if (kt_known_u64(ps.threads))
            threads += ps.threads;
        else
            threads_known = 0;
        n++;
    }
    closedir(dir);

    s->procs = apr_pmemdup(pool, procs, sizeof *procs * (n ? n : 1));
    s->nprocs = n;
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
    apr_pool_destroy(scratch);

    kt__plat_rank_procs(s, p->top_n, pool);
    for (unsigned i = 0; i < s->ntop_cpu; i++)
        if (!s->top_cpu[i]->cmdline)
            s->top_cpu[i]->cmdline = read_cmdline(p, s->top_cpu[i]->pid, pool);
    for (unsigned i = 0; i < s->ntop_mem; i++)
        if (!s->top_mem[i]->cmdline)
            s->top_mem[i]->cmdline = read_cmdline(p, s->top_mem[i]->pid, pool);
    return kt__source_status(p, KT__SRC_PROCS, "<pid>/stat",
                             n ? APR_SUCCESS : APR_ENOENT);
}
