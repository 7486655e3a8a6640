/*
 * proc.c - the process table from one NtQuerySystemInformation
 * (SystemProcessInformation) call: pid, parent, image name, thread count,
 * CPU times, creation time and working set (= RSS) of every process, without
 * opening any of them. The old way (a toolhelp snapshot, then OpenProcess,
 * GetProcessMemoryInfo and GetProcessTimes per process) cost a handle and
 * three calls per process, and left the processes we may not open
 * (protected, other users') without memory and CPU; it survives as the
 * reference the tests compare with (tests/windows/toolhelp.c).
 *
 * Handles are opened only for what the call lacks, and only for the top
 * lists: the image path (QueryFullProcessImageNameW), Windows' nearest to a
 * command line.
 *
 * A process is keyed across readings by (pid, creation time), so a reused pid
 * never inherits another process's CPU time. CPU % is of one core, as on
 * Linux. Windows has no R/S/D states for a process; state is '?' and the
 * state counts are unknown. The buffer the call fills is kept between
 * readings (kt_plat_t.procbuf) and grown when the table outgrows it.
 */
#include "win.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- Definitions ------------------------------------------------------------ */

#define KT__SYSTEM_PROCESS_INFORMATION 5
#define KT__STATUS_INFO_LENGTH_MISMATCH ((LONG)0xC0000004)
typedef LONG(WINAPI *ntqsi_fn)(ULONG cls, void *buf, ULONG len, ULONG *ret);

/* One entry as ntdll fills it (winternl.h documents it with reserved names);
 * thread entries follow it, and next says where the next process starts. */
typedef struct {
    ULONG next;          /* bytes to the next entry; 0 for the last */
    ULONG threads;
    LARGE_INTEGER reserved[3];
    LARGE_INTEGER create_time, user_time, kernel_time; /* 100 ns */
    struct {
        USHORT length, max_length; /* bytes */
        WCHAR *buffer;
    } image_name;
    LONG base_priority;
    HANDLE pid, parent;
    ULONG handles, session;
    ULONG_PTR key;
    SIZE_T peak_virtual, virtual_size;
    ULONG page_faults;
    SIZE_T peak_working_set, working_set;
} kt__spi_t;

_Static_assert(sizeof(void *) != 8 || offsetof(kt__spi_t, working_set) == 144,
               "SYSTEM_PROCESS_INFORMATION layout (x64)");

/* ---- Private ------------------------------------------------------------------ */

/* Fills p->procbuf; grows it while the table does not fit (processes come
 * between two tries, so with room to spare). Returns the NTSTATUS. */
static LONG query(kt_plat_t *p, ULONG *len)
{
    LONG st = KT__STATUS_INFO_LENGTH_MISMATCH;
    for (int tries = 0; tries < 5 && st == KT__STATUS_INFO_LENGTH_MISMATCH; tries++) {
        ULONG need = 0;
        if (p->procbuf)
            st = ((ntqsi_fn)p->ntqsi)(KT__SYSTEM_PROCESS_INFORMATION, p->procbuf,
                                      (ULONG)p->proccap, &need);
        if (p->procbuf && st != KT__STATUS_INFO_LENGTH_MISMATCH) {
            *len = need;
            return st;
        }
        size_t cap = p->proccap ? p->proccap * 2 : 256 * 1024;
        while (cap < (size_t)need + need / 4)
            cap *= 2;
        void *bigger = realloc(p->procbuf, cap);
        if (!bigger)
            return KT__STATUS_INFO_LENGTH_MISMATCH;
        p->procbuf = bigger;
        p->proccap = cap;
    }
    return st;
}

/* The image name (not NUL-terminated, in the buffer) in UTF-8, in pool. */
static const char *image_name(const kt__spi_t *e, int64_t pid, const char *end,
                              apr_pool_t *pool)
{
    if (pid == 0)
        return "[System Process]"; /* the call gives it none; toolhelp names it so */
    const char *name = (const char *)e->image_name.buffer;
    size_t bytes = e->image_name.length;
    if (!name || bytes == 0 || name < (const char *)e || name > end || (size_t)(end - name) < bytes)
        return "";
    return kt__win_utf8n(e->image_name.buffer, bytes / sizeof(WCHAR), pool);
}

/* What a process is kept as from one reading to the next. */
typedef struct {
    uint64_t cpu;     /* kernel + user time, 100 ns units */
    const char *path; /* its image path; "" when it cannot be had */
} kept_t;

/* A process's image path, NULL when it cannot be opened. */
static const char *image_path(int64_t pid, apr_pool_t *pool)
{
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h)
        return NULL;
    wchar_t path[MAX_PATH];
    DWORD len = KT_ARRAY_SIZE(path);
    const char *utf8 = QueryFullProcessImageNameW(h, 0, path, &len) ? kt__win_utf8(path, pool) : NULL;
    CloseHandle(h);
    return utf8;
}

static void fill_proc(kt_plat_t *p, const kt__spi_t *e, const char *end, double elapsed_s,
                      kt_proc_t *o, apr_pool_t *pool)
{
    o->pid = (int64_t)(ULONG_PTR)e->pid;
    o->ppid = (int64_t)(ULONG_PTR)e->parent;
    o->name = image_name(e, o->pid, end, pool);
    o->cmdline = NULL;
    o->state = '?';
    o->threads = e->threads;
    o->cpu_pct = NAN;
    o->cpu_time_ms = KT_UNKNOWN_U64;
    o->rss_bytes = KT_UNKNOWN_U64;
    /* pid 0 is the System Idle Process: its "CPU time" is the idle time of
     * every core, which is no process's use. */
    if (o->pid == 0)
        return;
    o->rss_bytes = e->working_set;
    uint64_t cpu = (uint64_t)e->kernel_time.QuadPart + (uint64_t)e->user_time.QuadPart;
    o->cpu_time_ms = cpu / 10000;
    apr_pool_t *state = p->state_pool[p->cur_state];
    const char *key = apr_psprintf(state, "%lld:%llu", (long long)o->pid,
                                   (unsigned long long)e->create_time.QuadPart);
    kept_t *keep = apr_palloc(state, sizeof *keep);
    keep->cpu = cpu;
    keep->path = NULL;
    apr_hash_set(p->next.procs, key, APR_HASH_KEY_STRING, keep);
    const kept_t *was =
        p->prev.valid ? apr_hash_get(p->prev.procs, key, APR_HASH_KEY_STRING) : NULL;
    if (was)
        o->cpu_pct = kt__win_proc_cpu_pct(was->cpu, cpu, elapsed_s);
    /* Every process's image path (process checks by pattern): asked once in
     * its life, then carried from reading to reading. */
    if (p->want_cmdlines) {
        const char *path = was && was->path ? was->path : image_path(o->pid, state);
        keep->path = path ? apr_pstrdup(state, path) : ""; /* "": not to be asked again */
        o->cmdline = keep->path && *keep->path ? apr_pstrdup(pool, keep->path) : NULL;
    }
}

/* The top lists carry the image path: a handle for each of those only. */
static void top_paths(kt_sample_t *s, apr_pool_t *pool)
{
    for (unsigned i = 0; i < s->ntop_cpu + s->ntop_mem; i++) {
        kt_proc_t *t = i < s->ntop_cpu ? s->top_cpu[i] : s->top_mem[i - s->ntop_cpu];
        if (!t->cmdline && t->pid != 0)
            t->cmdline = image_path(t->pid, pool);
    }
}

/* Fills s's process list and counts from one call; logs once when it fails. */
static apr_status_t read_table(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    ULONG len = 0;
    LONG st = p->ntqsi ? query(p, &len) : -1;
    kt__win_source(p, KT__WSRC_PROCS, "NtQuerySystemInformation(process information)",
                   st == 0, (unsigned long)st);
    if (st != 0)
        return APR_EGENERAL;
    /* Sized from the previous reading; grown by doubling when more came. */
    unsigned cap = p->nprocs_was + p->nprocs_was / 8 + 64, n = 0;
    kt_proc_t *procs = apr_palloc(pool, sizeof *procs * cap);
    uint64_t threads = 0;
    const char *at = p->procbuf, *end = at + (len < p->proccap ? len : p->proccap);
    while (at + sizeof(kt__spi_t) <= end) {
        const kt__spi_t *e = (const kt__spi_t *)at;
        if (n == cap) {
            kt_proc_t *bigger = apr_palloc(pool, sizeof *procs * cap * 2);
            memcpy(bigger, procs, sizeof *procs * cap);
            procs = bigger;
            cap *= 2;
        }
        fill_proc(p, e, end, s->elapsed_s, &procs[n++], pool);
        threads += e->threads;
        if (e->next == 0)
            break;
        at += e->next;
    }
    p->nprocs_was = n;
    s->procs = procs;
    s->nprocs = n;
    s->cmdlines = p->want_cmdlines;
    s->procs_total = n;
    s->threads_total = threads;
    return APR_SUCCESS;
}

/* ---- Public (to the backend) ---------------------------------------------------- */

void kt__win_read_procs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    if (read_table(p, s, pool) != APR_SUCCESS)
        return;
    kt__plat_rank_procs(s, p->top_n, pool);
    top_paths(s, pool);
}
