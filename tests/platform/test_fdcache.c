/*
 * test_fdcache.c - the kept descriptors (platform/linux/fdcache.c): a
 * reading through them is the reading open/read/close gives, whatever the
 * budget, and they follow processes as they come and go.
 *
 * Two sources, nothing mocked:
 *  - a generated tree of 400 processes, changed between two readings the
 *    ways a capture is changed (a file edited in place, a file renamed
 *    over, a process gone, a new one, a pid reused), read by handles with a
 *    budget of 1 (every process file opened at each reading), 12 (most) and
 *    the default (all kept), whose readings must be equal in every value;
 *  - the live /proc with 300 idle children of the test, read the same way,
 *    then half of the children killed: the descriptors kept for them must
 *    be closed, and the readings must still agree.
 * And a top list's command line is read once per process, /proc is listed
 * again only when a task was created, and the mount table read again only
 * when it changes.
 */
#include "kt_test_util.h"

#include "linux.h"

#include <errno.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NPROCS 400
#define NCHILDREN 300

/* ---- comparing two readings ------------------------------------------------------- */

static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

#define SAME_U64(a, b, what)                                                                   \
    do {                                                                                       \
        if ((uint64_t)(a) != (uint64_t)(b)) {                                                  \
            print_error("%s: %llu != %llu\n", what, (unsigned long long)(a),                   \
                        (unsigned long long)(b));                                              \
            fail();                                                                            \
        }                                                                                      \
    } while (0)
#define SAME_DBL(a, b, what)                                                                   \
    do {                                                                                       \
        if (!same_double((a), (b))) {                                                          \
            print_error("%s: %.17g != %.17g\n", what, (double)(a), (double)(b));               \
            fail();                                                                            \
        }                                                                                      \
    } while (0)

static const kt_proc_t *proc_of(const kt_sample_t *s, int64_t pid)
{
    for (unsigned i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == pid)
            return &s->procs[i];
    return NULL;
}

static void same_cpu(const kt_cpu_t *a, const kt_cpu_t *b)
{
    SAME_DBL(a->user_pct, b->user_pct, "user_pct");
    SAME_DBL(a->system_pct, b->system_pct, "system_pct");
    SAME_DBL(a->idle_pct, b->idle_pct, "idle_pct");
    SAME_DBL(a->iowait_pct, b->iowait_pct, "iowait_pct");
    SAME_DBL(a->busy_pct, b->busy_pct, "busy_pct");
}

/* cmdline: compare the command lines too (only a top list's have one). */
static void same_proc(const kt_proc_t *a, const kt_proc_t *b, int cmdline)
{
    SAME_U64(a->pid, b->pid, "pid");
    SAME_U64(a->ppid, b->ppid, "ppid");
    assert_string_equal(a->name, b->name);
    if (cmdline && (a->cmdline || b->cmdline)) {
        assert_non_null(a->cmdline);
        assert_non_null(b->cmdline);
        assert_string_equal(a->cmdline, b->cmdline);
    }
    SAME_U64(a->state, b->state, "state");
    SAME_DBL(a->cpu_pct, b->cpu_pct, "cpu_pct");
    SAME_U64(a->cpu_time_ms, b->cpu_time_ms, "cpu_time_ms");
    SAME_U64(a->rss_bytes, b->rss_bytes, "rss_bytes");
    SAME_U64(a->threads, b->threads, "threads");
}

/* Every value of a and b, but the wall-clock time, is the same. */
static void assert_same_reading(const kt_sample_t *a, const kt_sample_t *b)
{
    SAME_DBL(a->elapsed_s, b->elapsed_s, "elapsed_s");
    SAME_DBL(a->uptime_s, b->uptime_s, "uptime_s");
    SAME_U64(a->ncpu, b->ncpu, "ncpu");
    same_cpu(&a->cpu, &b->cpu);
    SAME_U64(a->ncores, b->ncores, "ncores");
    for (unsigned i = 0; i < a->ncores; i++)
        same_cpu(&a->cores[i], &b->cores[i]);
    SAME_DBL(a->load1, b->load1, "load1");
    SAME_U64(a->boot_time, b->boot_time, "boot_time");
    SAME_U64(a->procs_total, b->procs_total, "procs_total");
    SAME_U64(a->threads_total, b->threads_total, "threads_total");
    SAME_U64(a->procs_running, b->procs_running, "procs_running");
    SAME_U64(a->procs_sleeping, b->procs_sleeping, "procs_sleeping");
    SAME_U64(a->procs_zombie, b->procs_zombie, "procs_zombie");
    SAME_U64(a->mem.total_bytes, b->mem.total_bytes, "mem.total_bytes");
    SAME_U64(a->mem.available_bytes, b->mem.available_bytes, "mem.available_bytes");
    SAME_DBL(a->mem.swap_in_pages_ps, b->mem.swap_in_pages_ps, "swap_in_pages_ps");
    SAME_U64(a->nprocs, b->nprocs, "nprocs");
    for (unsigned i = 0; i < a->nprocs; i++) {
        const kt_proc_t *other = proc_of(b, a->procs[i].pid);
        if (!other) {
            print_error("pid %lld in one reading only\n", (long long)a->procs[i].pid);
            fail();
        }
        same_proc(&a->procs[i], other, 1);
    }
    SAME_U64(a->ntop_cpu, b->ntop_cpu, "ntop_cpu");
    for (unsigned i = 0; i < a->ntop_cpu; i++)
        same_proc(a->top_cpu[i], b->top_cpu[i], 1);
    SAME_U64(a->ntop_mem, b->ntop_mem, "ntop_mem");
    for (unsigned i = 0; i < a->ntop_mem; i++)
        same_proc(a->top_mem[i], b->top_mem[i], 1);
}

/* ---- a generated tree --------------------------------------------------------------- */

static void put_bytes(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "w"); /* in place: same inode, new content */
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void put(const char *path, const char *text) { put_bytes(path, text, strlen(text)); }

/* A new file renamed over the old, as the integration tests edit a tree. */
static void replace(const char *path, const char *text, apr_pool_t *pool)
{
    const char *tmp = apr_pstrcat(pool, path, ".new", NULL);
    put(tmp, text);
    assert_int_equal(rename(tmp, path), 0);
}

static int64_t pid_at(unsigned i) { return 100 + 7 * (int64_t)i; }

/* /proc/<pid>/stat of generated process i at reading t (0 or 1). */
static const char *stat_of(unsigned i, int t, uint64_t starttime, apr_pool_t *pool)
{
    static const char *const names[] = {"worker", "a) (b", "x y", "((", "kworker/0:1"};
    uint64_t utime = 1000 + 13 * i + (t ? 3 * (i % 11) : 0), stime = 200 + i % 17;
    return apr_psprintf(pool,
                        "%" APR_INT64_T_FMT " (%s) %c 1 1 1 0 -1 4194560 0 0 0 0 %" APR_UINT64_T_FMT
                        " %" APR_UINT64_T_FMT " 0 0 20 0 %u 0 %" APR_UINT64_T_FMT
                        " 4000000 %u 18446744073709551615\n",
                        pid_at(i), names[i % 5], i % 9 == 0 ? 'R' : 'S', utime, stime,
                        1 + i % 4, starttime, 500 + 37 * i);
}

static void write_proc(const char *root, unsigned i, int t, uint64_t starttime, int in_place,
                       apr_pool_t *pool)
{
    const char *dir = apr_psprintf(pool, "%s/%" APR_INT64_T_FMT, root, pid_at(i));
    mkdir(dir, 0700);
    const char *path = apr_pstrcat(pool, dir, "/stat", NULL);
    if (in_place)
        put(path, stat_of(i, t, starttime, pool));
    else
        replace(path, stat_of(i, t, starttime, pool), pool);
    if (t == 0) {
        char argv[64];
        int n = snprintf(argv, sizeof argv, "/usr/bin/gen%u%c--n%c%u%c", i, 0, 0, i, 0);
        put_bytes(apr_pstrcat(pool, dir, "/cmdline", NULL), argv, (size_t)n);
    }
}

static void write_system(const char *root, int t, apr_pool_t *pool)
{
    replace(apr_pstrcat(pool, root, "/uptime", NULL), t ? "810.00 1500.00\n" : "800.00 1480.00\n",
            pool);
    /* in place: the kept descriptor sees the new text from offset 0 */
    put(apr_pstrcat(pool, root, "/stat", NULL),
        t ? "cpu  1700 0 300 8000 0 0 0 0 0 0\ncpu0 1700 0 300 8000 0 0 0 0 0 0\n"
            "btime 1700000000\nprocs_running 3\n"
          : "cpu  1000 0 200 7000 0 0 0 0 0 0\ncpu0 1000 0 200 7000 0 0 0 0 0 0\n"
            "btime 1700000000\nprocs_running 2\n");
    put(apr_pstrcat(pool, root, "/meminfo", NULL),
        t ? "MemTotal: 1000000 kB\nMemFree: 100000 kB\nMemAvailable: 300000 kB\n"
          : "MemTotal: 1000000 kB\nMemFree: 200000 kB\nMemAvailable: 400000 kB\n");
    replace(apr_pstrcat(pool, root, "/loadavg", NULL),
            t ? "1.50 1.00 0.50 2/900 4242\n" : "1.00 1.00 0.50 1/880 4200\n", pool);
}

/* t0: processes 0..NPROCS-1 (and two directories that are none). t1: every process's counters move (odd ones
 * by a new file renamed over, even ones in place), the last 20 are gone,
 * 20 new ones come, and process 5's pid is a new process's (start time). */
static void write_tree(const char *root, int t, apr_pool_t *pool)
{
    write_system(root, t, pool);
    /* Not processes: a directory without stat (gone), and garbage. */
    mkdir(apr_pstrcat(pool, root, "/9", NULL), 0700);
    mkdir(apr_pstrcat(pool, root, "/11", NULL), 0700);
    put(apr_pstrcat(pool, root, "/11/stat", NULL), "garbage\n");
    unsigned first = 0, end = NPROCS;
    if (t) {
        for (unsigned i = NPROCS - 20; i < NPROCS; i++) {
            const char *dir = apr_psprintf(pool, "%s/%" APR_INT64_T_FMT, root, pid_at(i));
            unlink(apr_pstrcat(pool, dir, "/stat", NULL));
            unlink(apr_pstrcat(pool, dir, "/cmdline", NULL));
            assert_int_equal(rmdir(dir), 0);
        }
        end = NPROCS - 20;
    }
    for (unsigned i = first; i < end; i++)
        write_proc(root, i, t, t && i == 5 ? 70000 : 5000 + i, i % 2 == 0, pool);
    if (t)
        for (unsigned i = NPROCS; i < NPROCS + 20; i++)
            write_proc(root, i, 1, 6000 + i, 0, pool);
}

static kt_plat_t *open_budget(const char *root, unsigned budget, apr_pool_t *pool)
{
    kt_plat_opts_t opts = {.procfs = root, .sysfs = root, .rootfs = "/nonexistent-koto-root",
                           .top_n = 10, .kept_fds = budget};
    kt_plat_t *p = NULL;
    assert_int_equal(kt_plat_open(&p, &opts, pool), APR_SUCCESS);
    return p;
}

static void remove_tree(const char *root)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_budget_gives_the_same_reading(void **state)
{
    apr_pool_t *pool = *state;
    const char *tmp = getenv("TMPDIR");
    char *root = apr_pstrcat(pool, tmp && *tmp ? tmp : "/tmp", "/kt-fdcache-XXXXXX", NULL);
    assert_non_null(mkdtemp(root));
    write_tree(root, 0, pool);

    const unsigned budgets[3] = {1, 12, 0};
    kt_plat_t *p[3];
    kt_sample_t s[3];
    for (int i = 0; i < 3; i++) {
        p[i] = open_budget(root, budgets[i], pool);
        assert_int_equal(kt_plat_sample(p[i], &s[i], pool), APR_SUCCESS);
    }
    assert_int_equal(s[2].nprocs, NPROCS);
    assert_same_reading(&s[0], &s[2]);
    assert_same_reading(&s[1], &s[2]);
    /* The four system files there are, then processes up to the budget. */
    assert_int_equal(p[0]->kept.used, 1);
    assert_int_equal(p[1]->kept.used, 12);
    assert_int_equal(p[2]->kept.used, 4 + NPROCS);

    write_tree(root, 1, pool);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kt_plat_sample(p[i], &s[i], pool), APR_SUCCESS);
    assert_int_equal(s[2].nprocs, NPROCS);
    assert_same_reading(&s[0], &s[2]);
    assert_same_reading(&s[1], &s[2]);
    /* The gone processes' descriptors are closed, the new ones' kept. */
    assert_int_equal(p[2]->kept.used, 4 + NPROCS);
    assert_int_equal(p[1]->kept.used, 12);

    /* What changed was read: new counters through kept descriptors, renamed
     * files anew, and the reused pid is a new process without a CPU share. */
    assert_close(s[2].elapsed_s, 10.0);
    assert_close(s[2].cpu.busy_pct, 100.0 * 800 / 1800); /* user +700, system +100, idle +1000 */
    assert_int_equal(s[2].mem.available_bytes, 300000ull * 1024);
    assert_close(s[2].load1, 1.5);
    const kt_proc_t *even = proc_of(&s[2], pid_at(10)), *odd = proc_of(&s[2], pid_at(21));
    assert_non_null(even);
    assert_non_null(odd);
    assert_close(even->cpu_pct, 100.0 * (3 * (10 % 11)) / 100 / 10.0);
    assert_close(odd->cpu_pct, 100.0 * (3 * (21 % 11)) / 100 / 10.0);
    assert_nan(proc_of(&s[2], pid_at(5))->cpu_pct);
    assert_null(proc_of(&s[2], pid_at(NPROCS - 1)));
    assert_non_null(proc_of(&s[2], pid_at(NPROCS + 19)));
    assert_nan(proc_of(&s[2], pid_at(NPROCS + 19))->cpu_pct);
    assert_string_equal(proc_of(&s[2], pid_at(1))->name, "a) (b");

    for (int i = 0; i < 3; i++)
        kt_plat_close(p[i]);
    remove_tree(root);
}

/* A top list's command line is read once a minute at most: not again at
 * the next reading of the same process (an edit of the file is not seen),
 * at once for a new process under the pid (another start time) and after an
 * exec (another short name). */
static void test_top_cmdline_kept(void **state)
{
    apr_pool_t *pool = *state;
    const char *tmp = getenv("TMPDIR");
    char *root = apr_pstrcat(pool, tmp && *tmp ? tmp : "/tmp", "/kt-fdcache-XXXXXX", NULL);
    assert_non_null(mkdtemp(root));
    write_tree(root, 0, pool);
    kt_plat_t *p = open_budget(root, 0, pool);
    const unsigned big = NPROCS - 1; /* the most memory: first in top_mem */
    const char *dir = apr_psprintf(pool, "%s/%" APR_INT64_T_FMT, root, pid_at(big));
    const char *cmdline = apr_pstrcat(pool, dir, "/cmdline", NULL);
    const char *stat = apr_pstrcat(pool, dir, "/stat", NULL);
    kt_sample_t s;

    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_int_equal(s.top_mem[0]->pid, pid_at(big));
    assert_string_equal(s.top_mem[0]->cmdline, "/usr/bin/gen399 --n 399");

    put_bytes(cmdline, "edited\0", 7);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_string_equal(s.top_mem[0]->cmdline, "/usr/bin/gen399 --n 399");

    replace(stat, stat_of(big, 0, 99999, pool), pool);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_int_equal(s.top_mem[0]->pid, pid_at(big));
    assert_string_equal(s.top_mem[0]->cmdline, "edited");

    /* An exec: the same process (start time) under another short name. */
    char *text = apr_pstrdup(pool, stat_of(big, 0, 99999, pool));
    char *open_paren = strchr(text, '('), *close_paren = strrchr(text, ')');
    *open_paren = '\0';
    replace(stat, apr_pstrcat(pool, text, "(newprog", close_paren, NULL), pool);
    put_bytes(cmdline, "newprog\0--x\0", 12);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_string_equal(s.top_mem[0]->name, "newprog");
    assert_string_equal(s.top_mem[0]->cmdline, "newprog --x");

    kt_plat_close(p);
    remove_tree(root);
}

/* ---- the live /proc -------------------------------------------------------------------- */

static unsigned open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static pid_t kids[NCHILDREN];

static void start_children(void)
{
    pid_t parent = getpid();
    for (unsigned i = 0; i < NCHILDREN; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            for (;;)
                pause();
        }
        kids[i] = pid;
    }
}

/* Until the process sleeps in pause(): then nothing of its moves. */
static void wait_sleeping_pid(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int tries = 0;; tries++) {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *close = strrchr(buf, ')');
        if (close && close[1] == ' ' && close[2] == 'S')
            break;
        assert_true(tries < 500);
        usleep(10000);
    }
}

static void wait_sleeping(void)
{
    for (unsigned i = 0; i < NCHILDREN; i++)
        wait_sleeping_pid(kids[i]);
}

static void stop_children(unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        kill(kids[i], SIGKILL);
    for (unsigned i = from; i < to; i++)
        while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
            ;
}

/* The children's values: they sleep, so both handles must read the same.
 * Whether a child is in a top list (and so has its command line read)
 * depends on the rest of the machine at each reading: not compared. */
static void same_children(const kt_sample_t *a, const kt_sample_t *b, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        const kt_proc_t *x = proc_of(a, kids[i]), *y = proc_of(b, kids[i]);
        if (!x || !y) {
            print_error("child %d missing from a reading\n", (int)kids[i]);
            fail();
        }
        same_proc(x, y, 0);
        SAME_U64(x->ppid, (uint64_t)getpid(), "ppid");
    }
}

static void test_live_children(void **state)
{
    apr_pool_t *pool = *state;
    unsigned fds0 = open_fds();
    kt_plat_t *small = open_budget("/proc", 20, pool), *all = open_budget("/proc", 0, pool);
    if (all->kept.budget < 4096) {
        print_message("skipped: the open-files limit leaves %u kept descriptors\n",
                      all->kept.budget);
        kt_plat_close(small);
        kt_plat_close(all);
        skip();
    }
    start_children();
    wait_sleeping();
    kt_sample_t a, b;
    assert_int_equal(kt_plat_sample(small, &a, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(all, &b, pool), APR_SUCCESS);
    same_children(&a, &b, 0, NCHILDREN);
    assert_int_equal(small->kept.used, 20);
    /* One descriptor per process kept (and the system files'). */
    unsigned kept = all->kept.used;
    assert_true(kept >= b.nprocs);
    assert_int_equal(open_fds(), fds0 + 4 + 20 + kept); /* + both handles' roots */

    /* A second reading goes through the kept descriptors: the same again.
     * (Apart by more than the uptime's 10 ms: with no time between two
     * readings a process's CPU share is unknown, for one handle only.) */
    usleep(30000);
    assert_int_equal(kt_plat_sample(small, &a, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(all, &b, pool), APR_SUCCESS);
    same_children(&a, &b, 0, NCHILDREN);

    /* Half of them gone: out of both readings, their descriptors closed. */
    stop_children(0, NCHILDREN / 2);
    usleep(30000);
    assert_int_equal(kt_plat_sample(small, &a, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(all, &b, pool), APR_SUCCESS);
    for (unsigned i = 0; i < NCHILDREN / 2; i++) {
        assert_null(proc_of(&a, kids[i]));
        assert_null(proc_of(&b, kids[i]));
    }
    same_children(&a, &b, NCHILDREN / 2, NCHILDREN);
    const kt__fdcache_t *c = &all->kept;
    for (unsigned i = 0; i < c->nwas; i++)
        for (unsigned k = 0; k < NCHILDREN; k++)
            if (c->was[i].pid == kids[k] && (k < NCHILDREN / 2 || c->was[i].fd < 0)) {
                print_error("child %d: entry with descriptor %d\n", (int)kids[k], c->was[i].fd);
                fail();
            }
    /* Every descriptor counted is open, and no other. */
    assert_int_equal(open_fds(), fds0 + 4 + 20 + all->kept.used);

    stop_children(NCHILDREN / 2, NCHILDREN);
    kt_plat_close(small);
    kt_plat_close(all);
    assert_int_equal(open_fds(), fds0);
}

/* ---- the root listed only when a task was created ------------------------------------ */

/* How many processes of a are gone from b, kid aside. */
static unsigned ended_besides(const kt_sample_t *a, const kt_sample_t *b, int64_t kid)
{
    unsigned n = 0;
    for (unsigned i = 0; i < a->nprocs; i++)
        n += a->procs[i].pid != kid && !proc_of(b, a->procs[i].pid);
    return n;
}

/* Whether the kernel counted a fork or clone between two readings decides
 * whether the second listed /proc: with the count unchanged it takes its
 * pids from the first's table, and a process that exited in between is
 * still gone from it. */
static void test_listing_follows_forks(void **state)
{
    apr_pool_t *pool = *state;
    kt_plat_t *p = open_budget("/proc", 0, pool);
    kt_sample_t a, b;
    assert_int_equal(kt_plat_sample(p, &a, pool), APR_SUCCESS);
    assert_int_equal(p->kept.listings, 1);
    /* Whether anything forked in between or not, the listing follows the
     * count; tried until a pair of readings had none in between. */
    int skipped = 0;
    for (int i = 0; i < 200 && !skipped; i++) {
        unsigned before = p->kept.listings;
        assert_int_equal(kt_plat_sample(p, &b, pool), APR_SUCCESS);
        assert_true(kt_known_u64(b.forks));
        /* The count at the last listing is the previous reading's. */
        skipped = b.forks == a.forks;
        assert_int_equal(p->kept.listings, before + !skipped);
        assert_non_null(proc_of(&b, getpid()));
        a = b;
    }
    assert_true(skipped);
    /* A fork of ours moves the count: listed. */
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0)
        _exit(0);
    while (waitpid(kid, NULL, 0) < 0 && errno == EINTR)
        ;
    unsigned before = p->kept.listings;
    assert_int_equal(kt_plat_sample(p, &b, pool), APR_SUCCESS);
    assert_true(b.forks > a.forks);
    assert_int_equal(p->kept.listings, before + 1);

    /* A child that exits with no fork after it: gone from the next reading,
     * listed or not, and the CPU it was seen using is not counted again as
     * used by processes that ended (its parent's cutime takes it in when it
     * is reaped). Tried again while something else on the machine forks or
     * ends between the two readings. */
    int exercised = 0;
    for (int i = 0; i < 50 && !exercised; i++) {
        kid = fork();
        assert_true(kid >= 0);
        if (kid == 0) {
            for (clock_t t0 = clock(); clock() - t0 < CLOCKS_PER_SEC / 10;)
                ; /* 100 ms of CPU, then sleep */
            for (;;)
                pause();
        }
        wait_sleeping_pid(kid);
        assert_int_equal(kt_plat_sample(p, &a, pool), APR_SUCCESS);
        assert_non_null(proc_of(&a, kid)); /* its fork moved the count: listed */
        kill(kid, SIGKILL);
        while (waitpid(kid, NULL, 0) < 0 && errno == EINTR)
            ;
        usleep(30000); /* apart by more than the uptime's 10 ms: rates known */
        before = p->kept.listings;
        assert_int_equal(kt_plat_sample(p, &b, pool), APR_SUCCESS);
        assert_null(proc_of(&b, kid));
        assert_non_null(proc_of(&b, getpid()));
        /* Only a round where the child alone ended tells: on a busy
         * machine others end too, and what they used counts rightly. */
        if (b.forks != a.forks || p->kept.listings != before || ended_besides(&a, &b, kid))
            continue;
        /* Counted again, its 100 ms would be over 300 % of 30 ms. The
         * kernel rounds a process's ticks to its runtime when it reaps it,
         * so a tick or two may remain. */
        double seen_pct = proc_of(&a, kid)->cpu_time_ms / 10.0 / b.elapsed_s;
        assert_true(kt_known(b.exited_cpu_pct) && seen_pct > 100);
        if (b.exited_cpu_pct >= seen_pct / 2) {
            print_error("processes that ended: %.1f %%, the child seen using %.1f %%\n",
                        b.exited_cpu_pct, seen_pct);
            fail();
        }
        exercised = 1;
    }
    kt_plat_close(p);
    if (!exercised) {
        print_message("skipped: something else forked or ended between every two readings\n");
        skip();
    }
}

/* ---- the mount table, read again only when it changes ------------------------------ */

static int has_mount(const kt_sample_t *s, const char *dir)
{
    for (unsigned i = 0; i < s->nfs; i++)
        if (strcmp(s->fs[i].mount_point, dir) == 0)
            return strcmp(s->fs[i].fstype, "tmpfs") == 0 && s->fs[i].size_bytes == 1 << 20;
    return 0;
}

static char *slurp_text(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Whether a mount made here shows in the table kotod reads: pid 1's when
 * it can be read (the same as ours: one namespace), else ours. */
static int same_table(void)
{
    static char one[1 << 16], self[1 << 16];
    return !slurp_text("/proc/1/mountinfo", one, sizeof one) ||
           (slurp_text("/proc/self/mountinfo", self, sizeof self) && strcmp(one, self) == 0);
}

/* On procfs the kept mountinfo is polled: a reading reuses the table until
 * the kernel flags a change, and a mount or unmount shows at the next
 * reading. Needs root (to mount a tmpfs). */
static void test_live_mounts_follow_changes(void **state)
{
    apr_pool_t *pool = *state;
    if (geteuid() != 0 || !same_table()) {
        print_message("skipped: needs root, in pid 1's mount namespace\n");
        skip();
    }
    char dir[] = "/tmp/kt-mounts-XXXXXX";
    assert_non_null(mkdtemp(dir));
    kt_plat_opts_t opts = {.procfs = "/proc", .sysfs = "/sys"};
    kt_plat_t *p = NULL;
    assert_int_equal(kt_plat_open(&p, &opts, pool), APR_SUCCESS);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_true(s.nfs > 0);
    assert_false(has_mount(&s, dir));
    assert_true(p->kept.files[KT__FILE_MOUNTINFO] >= 0);
    assert_true(kt__file_unchanged(p, KT__FILE_MOUNTINFO)); /* nothing since the read */

    if (mount("kt-test", dir, "tmpfs", 0, "size=1m") != 0) {
        int err = errno;
        kt_plat_close(p);
        rmdir(dir);
        print_message("skipped: cannot mount a tmpfs: %s\n", strerror(err));
        skip();
    }
    /* Asserted after the unmount: a failure must not leave the tmpfs behind. */
    apr_status_t st1 = kt_plat_sample(p, &s, pool);
    int seen = st1 == APR_SUCCESS && has_mount(&s, dir);
    apr_status_t st2 = kt_plat_sample(p, &s, pool); /* from the kept table */
    int still = st2 == APR_SUCCESS && has_mount(&s, dir);
    int unmounted = umount(dir);
    apr_status_t st3 = kt_plat_sample(p, &s, pool);
    int gone = st3 == APR_SUCCESS && !has_mount(&s, dir);
    kt_plat_close(p);
    rmdir(dir);
    assert_int_equal(st1, APR_SUCCESS);
    assert_int_equal(st2, APR_SUCCESS);
    assert_int_equal(unmounted, 0);
    assert_int_equal(st3, APR_SUCCESS);
    assert_true(seen);
    assert_true(still);
    assert_true(gone);
}

/* The budget is cut to what the open-files limit leaves beside the reserve,
 * after the soft limit was raised toward the hard one (in a child: a lowered
 * hard limit cannot be raised again). */
static void test_limit_caps_the_budget(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        apr_pool_t *pool;
        apr_pool_create(&pool, NULL);
        struct rlimit rl = {1100, 1600};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(10);
        kt_plat_t *p = open_budget("/proc", 5000, pool);
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur != 1600)
            _exit(11); /* raised to the hard limit */
        if (p->kept.budget != 1600 - KT__FD_RESERVE)
            _exit(12);
        kt_plat_close(p);
        rl.rlim_cur = 1100;
        setrlimit(RLIMIT_NOFILE, &rl);
        p = open_budget("/proc", 100, pool); /* 100 + the reserve: raised only that far */
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur != 100 + KT__FD_RESERVE ||
            p->kept.budget != 100)
            _exit(13);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    apr_initialize();
    kt_log_set_level(KT_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_budget_gives_the_same_reading, setup_pool,
                                        teardown_pool),
        cmocka_unit_test_setup_teardown(test_top_cmdline_kept, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_live_children, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_listing_follows_forks, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_live_mounts_follow_changes, setup_pool, teardown_pool),
        cmocka_unit_test(test_limit_caps_the_budget),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return failed;
}
