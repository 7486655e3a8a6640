/*
 * test_plat_linux.c - the Linux backend end to end, on captured trees.
 *
 * A kt_plat_t is opened on a fixture's t0 root, sampled, pointed at t1 with
 * kt_plat_set_roots and sampled again, so every rate and share is computed
 * from counters whose difference is known exactly (tests/fixtures/README.md
 * derives each expected value). Nothing of the backend is mocked: it reads
 * files below a root, and the roots are the test's input.
 */
#include "kt_test_util.h"

#include "linux.h"

#include <apr_tables.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB(n) ((uint64_t)(n) * 1024u)
#define BASIC KT_FIXTURES_DIR "/linux-basic"
#define HOSTILE KT_FIXTURES_DIR "/linux-hostile"
#define NO_SUCH_ROOT "/nonexistent-koto-test-root"

/* ---- lookups: the sample's arrays are in no particular order ------------------- */

static const kt_proc_t *find_proc(const kt_sample_t *s, int64_t pid)
{
    for (unsigned i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == pid)
            return &s->procs[i];
    print_error("pid %lld not in the sample\n", (long long)pid);
    fail();
    return NULL;
}

static const kt_net_t *find_net(const kt_sample_t *s, const char *name)
{
    for (unsigned i = 0; i < s->nnet; i++)
        if (strcmp(s->net[i].name, name) == 0)
            return &s->net[i];
    print_error("interface %s not in the sample\n", name);
    fail();
    return NULL;
}

static const kt_disk_t *find_disk(const kt_sample_t *s, const char *name)
{
    for (unsigned i = 0; i < s->ndisks; i++)
        if (strcmp(s->disks[i].name, name) == 0)
            return &s->disks[i];
    print_error("disk %s not in the sample\n", name);
    fail();
    return NULL;
}

static const kt_fs_t *find_fs(const kt_sample_t *s, const char *mount_point)
{
    for (unsigned i = 0; i < s->nfs; i++)
        if (strcmp(s->fs[i].mount_point, mount_point) == 0)
            return &s->fs[i];
    print_error("filesystem %s not in the sample\n", mount_point);
    fail();
    return NULL;
}

static kt_plat_t *open_tree(const char *procfs, const char *sysfs, const char *rootfs,
                            unsigned top_n, apr_pool_t *pool)
{
    kt_plat_opts_t opts = {.procfs = procfs, .sysfs = sysfs, .rootfs = rootfs, .top_n = top_n};
    kt_plat_t *p = NULL;
    assert_int_equal(kt_plat_open(&p, &opts, pool), APR_SUCCESS);
    assert_non_null(p);
    return p;
}

static void assert_cpu_unknown(const kt_cpu_t *c)
{
    assert_nan(c->user_pct);
    assert_nan(c->nice_pct);
    assert_nan(c->system_pct);
    assert_nan(c->idle_pct);
    assert_nan(c->iowait_pct);
    assert_nan(c->irq_pct);
    assert_nan(c->softirq_pct);
    assert_nan(c->steal_pct);
    assert_nan(c->busy_pct);
}

/* want: user nice system idle iowait irq softirq steal busy, in percent;
 * NAN where the share must be unknown. */
static void check_cpu(const kt_cpu_t *c, const double want[9], const char *file, int line)
{
    static const char *const names[9] = {"user_pct", "nice_pct", "system_pct",
                                         "idle_pct", "iowait_pct", "irq_pct",
                                         "softirq_pct", "steal_pct", "busy_pct"};
    const double got[9] = {c->user_pct,    c->nice_pct,  c->system_pct,
                           c->idle_pct,    c->iowait_pct, c->irq_pct,
                           c->softirq_pct, c->steal_pct, c->busy_pct};
    for (int i = 0; i < 9; i++) {
        if (isnan(want[i]))
            kt_test_nan(got[i], names[i], file, line);
        else
            kt_test_close(got[i], want[i], names[i], file, line);
    }
}
#define assert_cpu(c, want) check_cpu((c), (want), __FILE__, __LINE__)

/* ---- linux-basic ------------------------------------------------------------------- */

/* What the fixture's processes hold; cpu_pct is over t0 -> t1 (10 s). */
static const struct {
    int64_t pid, ppid;
    const char *name;
    char state;
    uint64_t ms_t0, ms_t1; /* (utime + stime) * 10 */
    double cpu_pct;
    uint64_t rss_pages, threads;
    const char *cmdline; /* NULL: kernel thread or zombie */
} basic_procs[] = {
    {1, 0, "init", 'S', 3500, 3900, 4.0, 3000, 1, "/sbin/init"},
    {2, 0, "kthreadd", 'S', 50, 70, 0.2, 0, 1, NULL},
    {3700, 1, "bash", 'S', 260, 360, 1.0, 961, 1, "-bash"},
    {4100, 3700, "python3", 'S', 750, 1000, 2.5, 12000, 4, "python3 worker.py --queue jobs"},
    {4242, 3700, "a) (b", 'R', 4500, 14000, 95.0, 50000, 3, "./a) (b --spin"},
    {4300, 4100, "worker", 'Z', 40, 40, 0.0, 0, 1, NULL},
    {5000, 3700, "memhog", 'D', 6000, 9000, 30.0, 2500000, 8, "/usr/bin/memhog --size 10G"},
};

static void assert_basic_common(const kt_sample_t *s, int t1)
{
    const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    assert_string_equal(s->os, "linux");
    assert_string_equal(s->hostname, "koto-fixture");
    assert_string_equal(s->kernel, "6.18.44-fc-v657");
    assert_true(s->time > 0);
    assert_int_equal(s->ncpu, 2);
    assert_int_equal(s->ncores, 2);
    assert_int_equal(s->boot_time, 1795498072);
    assert_close(s->uptime_s, t1 ? 810.0 : 800.0);
    assert_close(s->load1, t1 ? 2.10 : 1.84);
    assert_close(s->load5, t1 ? 1.35 : 1.20);
    assert_close(s->load15, t1 ? 1.00 : 0.95);
    assert_int_equal(s->run_queue, t1 ? 2 : 3);
    assert_int_equal(s->threads_total, t1 ? 118 : 120); /* loadavg's count wins */

    /* The raw counters node_exporter exports. */
    assert_int_equal(s->io_blocked, 1);
    assert_int_equal(s->context_switches, t1 ? 261000 : 259493);
    assert_int_equal(s->forks, t1 ? 4650 : 4599);
    assert_int_equal(s->interrupts, t1 ? 121000 : 119326);
    assert_non_null(s->core_time);
    assert_close(s->core_time[0].seconds[KT_MODE_USER], t1 ? 12.74 : 4.74);
    assert_close(s->core_time[1].seconds[KT_MODE_STEAL], t1 ? 0.24 : 0.04);
    assert_int_equal(s->nmeminfo, 15);
    assert_string_equal(s->meminfo[0].name, "MemTotal");
    assert_true(s->meminfo[0].value == 16000000ull * 1024 && s->meminfo[0].bytes);
    assert_string_equal(s->meminfo[13].name, "HugePages_Total");
    assert_false(s->meminfo[13].bytes);
    assert_int_equal(s->nvmstat, 7); /* pgpgin/out, pswpin/out, pgfault, pgmajfault, oom_kill */
    assert_string_equal(s->vmstat[5].name, "pgmajfault");
    assert_int_equal(s->vmstat[5].value, t1 ? 1450 : 1200);
    assert_close(s->pressure[KT_PSI_MEMORY].some_avg60_pct, t1 ? 23.0 : 20.0);
    assert_int_equal(s->pressure[KT_PSI_MEMORY].full_total_us, t1 ? 16000000 : 15000000);
    assert_int_equal(s->pressure[KT_PSI_IO].some_total_us, t1 ? 7400000 : 7000000);
    assert_string_equal(s->domainname, "(none)");

    assert_int_equal(s->procs_total, 7);
    assert_int_equal(s->nprocs, 7);
    assert_int_equal(s->procs_running, 1);
    assert_int_equal(s->procs_sleeping, 4);
    assert_int_equal(s->procs_blocked, 1);
    assert_int_equal(s->procs_zombie, 1);
    assert_int_equal(s->procs_stopped, 0);
    assert_int_equal(s->procs_idle, 0);
    for (size_t i = 0; i < KT_ARRAY_SIZE(basic_procs); i++) {
        const kt_proc_t *pr = find_proc(s, basic_procs[i].pid);
        assert_int_equal(pr->ppid, basic_procs[i].ppid);
        assert_string_equal(pr->name, basic_procs[i].name);
        assert_int_equal(pr->state, basic_procs[i].state);
        assert_int_equal(pr->cpu_time_ms, t1 ? basic_procs[i].ms_t1 : basic_procs[i].ms_t0);
        assert_int_equal(pr->rss_bytes, basic_procs[i].rss_pages * page);
        assert_int_equal(pr->threads, basic_procs[i].threads);
    }

    const kt_mem_t *m = &s->mem;
    assert_int_equal(m->total_bytes, KIB(16000000));
    assert_int_equal(m->free_bytes, KIB(t1 ? 320000 : 400000));
    assert_int_equal(m->available_bytes, KIB(t1 ? 960000 : 1120000));
    assert_int_equal(m->used_bytes, KIB(t1 ? 15040000 : 14880000));
    assert_int_equal(m->buffers_bytes, KIB(20000));
    assert_int_equal(m->cached_bytes, KIB(t1 ? 720000 : 800000));
    assert_close(m->used_pct, t1 ? 94.0 : 93.0);
    assert_int_equal(m->swap_total_bytes, KIB(4000000));
    assert_int_equal(m->swap_used_bytes, KIB(t1 ? 1200000 : 1000000));
    assert_close(m->swap_used_pct, t1 ? 30.0 : 25.0);
    /* memhog alone holds more than half of the memory (process_memory_high) */
    assert_true(find_proc(s, 5000)->rss_bytes > m->total_bytes / 2);

    /* Interfaces in file order, counters as captured. */
    assert_int_equal(s->nnet, 4);
    assert_string_equal(s->net[0].name, "lo");
    assert_string_equal(s->net[1].name, "ifb0");
    assert_string_equal(s->net[2].name, "ifb1");
    assert_string_equal(s->net[3].name, "eth0");
    const kt_net_t *eth0 = find_net(s, "eth0");
    assert_int_equal(eth0->rx_bytes, t1 ? 31229116 : 21229116);
    assert_int_equal(eth0->tx_bytes, t1 ? 529561 : 29561);
    assert_int_equal(eth0->rx_packets, t1 ? 7582 : 582);
    assert_int_equal(eth0->tx_packets, t1 ? 1343 : 343);
    assert_int_equal(eth0->rx_errors, 1);
    assert_int_equal(eth0->rx_drops, 2);
    assert_int_equal(eth0->tx_errors, 3);
    assert_int_equal(eth0->tx_drops, 4);

    /* vda only: loop0/loop1 are loop devices, vda1 has no /sys/block entry. */
    assert_int_equal(s->ndisks, 1);
    const kt_disk_t *vda = find_disk(s, "vda");
    assert_int_equal(vda->reads, t1 ? 31239 : 30239);
    assert_int_equal(vda->writes, t1 ? 6213 : 5713);
    assert_int_equal(vda->read_bytes, (uint64_t)(t1 ? 2485570 : 2445570) * 512);
    assert_int_equal(vda->write_bytes, (uint64_t)(t1 ? 475192 : 455192) * 512);

    /* proc, sysfs, devtmpfs, devpts, cgroup2, the squashfs snap and the docker
     * overlay are pseudo; /srv/bind is a second view of /'s device. */
    assert_int_equal(s->nfs, 2);
    const kt_fs_t *root = find_fs(s, "/");
    assert_string_equal(root->device, "/dev/vda");
    assert_string_equal(root->fstype, "ext4");
    /* rootfs "": "/" is the test machine's own root, so only the shape is known. */
    assert_true(kt_known_u64(root->size_bytes) && root->size_bytes > 0);
    assert_int_equal(root->used_bytes, root->size_bytes - root->free_bytes);
    assert_true(root->avail_bytes <= root->free_bytes);
    assert_true(root->used_pct >= 0 && root->used_pct <= 100);
    const kt_fs_t *shm = find_fs(s, "/dev/shm");
    assert_string_equal(shm->device, "tmpfs");
    assert_string_equal(shm->fstype, "tmpfs");
}

static void test_basic_first_sample(void **state)
{
    apr_pool_t *pool = *state;
    kt_plat_t *p = open_tree(BASIC "/t0", BASIC "/sys", "", 7, pool);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_basic_common(&s, 0);

    /* One reading cannot give a rate or a share: unknown, never 0. */
    assert_nan(s.elapsed_s);
    assert_cpu_unknown(&s.cpu);
    assert_cpu_unknown(&s.cores[0]);
    assert_cpu_unknown(&s.cores[1]);
    assert_nan(s.mem.swap_in_pages_ps);
    assert_nan(s.mem.swap_out_pages_ps);
    for (unsigned i = 0; i < s.nprocs; i++)
        assert_nan(s.procs[i].cpu_pct);
    for (unsigned i = 0; i < s.nnet; i++) {
        assert_nan(s.net[i].rx_bytes_ps);
        assert_nan(s.net[i].tx_bytes_ps);
    }
    assert_nan(s.disks[0].read_bytes_ps);
    assert_nan(s.disks[0].write_bytes_ps);
    assert_nan(s.disks[0].busy_pct);
    assert_nan(s.disks[0].queue_length);

    /* Memory needs one reading, so its ranking is already right; CPU
     * needs two, and no process pads the list meanwhile. */
    assert_int_equal(s.ntop_cpu, 0);
    assert_int_equal(s.ntop_mem, 7);
    static const int64_t by_rss[] = {5000, 4242, 4100, 1, 3700};
    for (size_t i = 0; i < KT_ARRAY_SIZE(by_rss); i++)
        assert_int_equal(s.top_mem[i]->pid, by_rss[i]);
    kt_plat_close(p);
}

static void test_basic_second_sample(void **state)
{
    apr_pool_t *pool = *state;
    kt_plat_t *p = open_tree(BASIC "/t0", BASIC "/sys", "", 7, pool);
    kt_sample_t s0, s;
    assert_int_equal(kt_plat_sample(p, &s0, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_set_roots(p, BASIC "/t1", NULL), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_basic_common(&s, 1);
    assert_close(s.elapsed_s, 10.0); /* uptime 800.00 -> 810.00 */

    /* 2000 ticks over both CPUs, idle + iowait = 160: busy 92 %. */
    const double all[9] = {70, 2.5, 15, 6, 2, 1.5, 2, 1, 92};
    const double cpu0[9] = {80, 0, 15, 2, 0, 1, 2, 0, 98};
    const double cpu1[9] = {60, 5, 15, 10, 4, 2, 2, 2, 86};
    assert_cpu(&s.cpu, all);
    assert_cpu(&s.cores[0], cpu0);
    assert_cpu(&s.cores[1], cpu1);

    assert_close(s.mem.swap_in_pages_ps, 50.0);  /* pswpin  1000 -> 1500 */
    assert_close(s.mem.swap_out_pages_ps, 30.0); /* pswpout 2000 -> 2300 */

    for (size_t i = 0; i < KT_ARRAY_SIZE(basic_procs); i++)
        assert_close(find_proc(&s, basic_procs[i].pid)->cpu_pct, basic_procs[i].cpu_pct);

    /* Every CPU share differs, so the order is total; cmdlines are read for
     * the top lists only, and kernel threads and zombies have none. */
    static const int64_t by_cpu[] = {4242, 5000, 1, 4100, 3700, 2, 4300};
    assert_int_equal(s.ntop_cpu, 7);
    for (size_t i = 0; i < KT_ARRAY_SIZE(by_cpu); i++)
        assert_int_equal(s.top_cpu[i]->pid, by_cpu[i]);
    assert_string_equal(s.top_cpu[0]->name, "a) (b");
    assert_close(s.top_cpu[0]->cpu_pct, 95.0);
    for (size_t i = 0; i < KT_ARRAY_SIZE(basic_procs); i++) {
        const kt_proc_t *pr = find_proc(&s, basic_procs[i].pid);
        if (basic_procs[i].cmdline)
            assert_string_equal(pr->cmdline, basic_procs[i].cmdline);
        else
            assert_null(pr->cmdline);
    }
    static const int64_t by_rss[] = {5000, 4242, 4100, 1, 3700};
    for (size_t i = 0; i < KT_ARRAY_SIZE(by_rss); i++)
        assert_int_equal(s.top_mem[i]->pid, by_rss[i]);

    assert_close(find_net(&s, "eth0")->rx_bytes_ps, 1000000.0); /* +10,000,000 B */
    assert_close(find_net(&s, "eth0")->tx_bytes_ps, 50000.0);   /* +500,000 B */
    assert_close(find_net(&s, "lo")->rx_bytes_ps, 100.0);
    assert_close(find_net(&s, "lo")->tx_bytes_ps, 100.0);
    assert_close(find_net(&s, "ifb0")->rx_bytes_ps, 0.0); /* idle is a real 0 */

    const kt_disk_t *vda = find_disk(&s, "vda");
    assert_close(vda->read_bytes_ps, 2048000.0);  /* 40000 sectors * 512 / 10 s */
    assert_close(vda->write_bytes_ps, 1024000.0); /* 20000 sectors */
    assert_close(vda->busy_pct, 25.0);            /* io_ms +2500 of 10000 */
    assert_close(vda->queue_length, 0.5);         /* weighted_ms +5000 */

    /* The first sample lives in the caller's pool and is left intact. */
    assert_string_equal(find_proc(&s0, 4242)->name, "a) (b");
    assert_int_equal(find_proc(&s0, 4242)->cpu_time_ms, 4500);
    assert_close(s0.uptime_s, 800.0);
    assert_int_equal(find_net(&s0, "eth0")->rx_bytes, 21229116);
    kt_plat_close(p);
}

static void test_basic_default_top(void **state)
{
    apr_pool_t *pool = *state;
    kt_plat_t *p = open_tree(BASIC "/t0", BASIC "/sys", NULL, 0, pool);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_set_roots(p, BASIC "/t1", BASIC "/sys"), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    /* top_n 0 means 5: the two processes left out have no cmdline read. */
    assert_int_equal(s.ntop_cpu, 5);
    assert_int_equal(s.ntop_mem, 5);
    static const int64_t by_cpu[] = {4242, 5000, 1, 4100, 3700};
    for (size_t i = 0; i < KT_ARRAY_SIZE(by_cpu); i++)
        assert_int_equal(s.top_cpu[i]->pid, by_cpu[i]);
    assert_string_equal(s.top_cpu[0]->cmdline, "./a) (b --spin");
    assert_null(find_proc(&s, 2)->cmdline);
    assert_null(find_proc(&s, 4300)->cmdline);
    assert_int_equal(s.nfs, 2); /* NULL rootfs is "" */
    kt_plat_close(p);
}

static void test_basic_rootfs_missing(void **state)
{
    apr_pool_t *pool = *state;
    kt_plat_t *p = open_tree(BASIC "/t0", BASIC "/sys", NO_SUCH_ROOT, 0, pool);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    /* statvfs fails below the prefix: still listed, sizes unknown. */
    assert_int_equal(s.nfs, 2);
    for (unsigned i = 0; i < s.nfs; i++) {
        const kt_fs_t *fs = &s.fs[i];
        assert_non_null(fs->device);
        assert_non_null(fs->fstype);
        assert_unknown_u64(fs->size_bytes);
        assert_unknown_u64(fs->free_bytes);
        assert_unknown_u64(fs->avail_bytes);
        assert_unknown_u64(fs->used_bytes);
        assert_unknown_u64(fs->inodes_total);
        assert_unknown_u64(fs->inodes_free);
        assert_nan(fs->used_pct);
        assert_nan(fs->inodes_used_pct);
    }
    assert_string_equal(find_fs(&s, "/")->device, "/dev/vda");
    assert_string_equal(find_fs(&s, "/dev/shm")->fstype, "tmpfs");
    kt_plat_close(p);
}

static void test_missing_root(void **state)
{
    apr_pool_t *pool = *state;
    kt_plat_opts_t opts = {.procfs = NO_SUCH_ROOT, .sysfs = BASIC "/sys"};
    kt_plat_t *p = NULL;
    assert_int_not_equal(kt_plat_open(&p, &opts, pool), APR_SUCCESS);
    assert_null(p);

    /* A failed re-point keeps the handle on its old root. */
    p = open_tree(BASIC "/t0", BASIC "/sys", "", 0, pool);
    assert_int_not_equal(kt_plat_set_roots(p, NO_SUCH_ROOT, NULL), APR_SUCCESS);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_string_equal(s.hostname, "koto-fixture");
    assert_close(s.uptime_s, 800.0);
    kt_plat_close(p);
}

/* A third reading of the same tree: no time passed, so no rate or share
 * can be known (never a division by zero), and the state kept between
 * readings survives its pools being swapped again. */
static void test_basic_no_time_passed(void **state)
{
    apr_pool_t *pool = *state;
    kt_plat_t *p = open_tree(BASIC "/t0", BASIC "/sys", NO_SUCH_ROOT, 0, pool);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_set_roots(p, BASIC "/t1", NULL), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_nan(s.elapsed_s);
    assert_cpu_unknown(&s.cpu);
    assert_cpu_unknown(&s.cores[0]);
    assert_nan(s.mem.swap_in_pages_ps);
    assert_nan(find_proc(&s, 4242)->cpu_pct);
    assert_nan(find_net(&s, "eth0")->rx_bytes_ps);
    assert_nan(find_disk(&s, "vda")->busy_pct);
    assert_close(s.mem.used_pct, 94.0); /* levels are still read */

    /* Back to t0 and forward to t1 again: the shares come back exact. */
    assert_int_equal(kt_plat_set_roots(p, BASIC "/t0", NULL), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_nan(s.elapsed_s); /* uptime went backwards */
    assert_nan(find_net(&s, "eth0")->rx_bytes_ps);
    assert_int_equal(kt_plat_set_roots(p, BASIC "/t1", NULL), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_close(s.elapsed_s, 10.0);
    assert_close(s.cpu.busy_pct, 92.0);
    assert_close(find_proc(&s, 4242)->cpu_pct, 95.0);
    assert_close(find_net(&s, "eth0")->rx_bytes_ps, 1000000.0);
    kt_plat_close(p);
}

/* kt_plat_sample promises that everything the sample points to lives in the
 * caller's pool, so a snapshot may outlive the handle that took it. */
static void test_sample_outlives_handle(void **state)
{
    apr_pool_t *pool = *state, *plat_pool, *reuse;
    assert_int_equal(apr_pool_create(&plat_pool, pool), APR_SUCCESS);
    kt_plat_t *p = open_tree(BASIC "/t0", BASIC "/sys", NO_SUCH_ROOT, 0, plat_pool);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    kt_plat_close(p);
    apr_pool_destroy(plat_pool);
    /* APR hands freed blocks out again at once; scribble over them. */
    assert_int_equal(apr_pool_create(&reuse, NULL), APR_SUCCESS);
    for (int i = 0; i < 16; i++)
        memset(apr_palloc(reuse, 6000), 'X', 6000);
    assert_string_equal(s.hostname, "koto-fixture");
    assert_string_equal(s.kernel, "6.18.44-fc-v657");
    assert_string_equal(s.os, "linux");
    assert_string_equal(find_proc(&s, 4242)->name, "a) (b");
    assert_string_equal(find_fs(&s, "/")->device, "/dev/vda");
    apr_pool_destroy(reuse);
}

/* ---- linux-hostile ------------------------------------------------------------------ */

static void assert_hostile_common(const kt_sample_t *s, int t1)
{
    assert_string_equal(s->hostname, "koto-hostile"); /* first line only */
    assert_null(s->kernel);                           /* no osrelease */
    assert_close(s->uptime_s, t1 ? 505.0 : 500.0);
    assert_int_equal(s->boot_time, -1);               /* "btime notanumber" */
    assert_unknown_u64(s->run_queue);                 /* overflowing procs_running */
    assert_nan(s->load1);                             /* no loadavg at all */
    assert_nan(s->load5);
    assert_nan(s->load15);
    assert_int_equal(s->ncpu, 2);
    assert_int_equal(s->ncores, 2);

    /* No MemAvailable: free + buffers + cached. */
    const kt_mem_t *m = &s->mem;
    assert_int_equal(m->total_bytes, KIB(2000000));
    assert_int_equal(m->available_bytes, KIB(t1 ? 900000 : 1000000));
    assert_int_equal(m->used_bytes, KIB(t1 ? 1100000 : 1000000));
    assert_close(m->used_pct, t1 ? 55.0 : 50.0);
    assert_unknown_u64(m->swap_total_bytes); /* overflowing SwapTotal */
    assert_unknown_u64(m->swap_used_bytes);
    assert_nan(m->swap_used_pct);

    /* 4500 vanished (no stat), 4600 is garbage: neither breaks the scan. */
    assert_int_equal(s->procs_total, 3);
    assert_int_equal(s->nprocs, 3);
    assert_int_equal(s->procs_running, 1);
    assert_int_equal(s->procs_sleeping, 1);
    assert_int_equal(s->procs_zombie, 0);
    assert_unknown_u64(s->threads_total); /* 4444's thread count is unknown */
    const kt_proc_t *init = find_proc(s, 1);
    assert_string_equal(init->name, "init");
    assert_int_equal(init->cpu_time_ms, t1 ? 1800 : 1500);
    const kt_proc_t *sh = find_proc(s, 4444);
    assert_string_equal(sh->name, "sh");
    assert_int_equal(sh->state, '?');
    assert_int_equal(sh->ppid, -1);
    assert_nan(sh->cpu_pct);
    assert_unknown_u64(sh->cpu_time_ms);
    assert_unknown_u64(sh->rss_bytes);
    assert_unknown_u64(sh->threads);
    const kt_proc_t *x = find_proc(s, 4700);
    assert_string_equal(x->name, "x) y");
    assert_int_equal(x->state, 'R');
    assert_int_equal(x->ppid, 1);
    assert_nan(x->cpu_pct);
    assert_unknown_u64(x->cpu_time_ms);

    /* self/mountinfo (1/ has none); the \040 decoded; garbage and truncated
     * lines skipped; proc left out. The prefix hides every mount point. */
    assert_int_equal(s->nfs, 4);
    assert_string_equal(find_fs(s, "/mnt/my disk")->device, "/dev/sdb1");
    assert_string_equal(find_fs(s, "/mnt2")->fstype, "ext3");
    assert_string_equal(find_fs(s, "/nosource")->device, "none");
    assert_unknown_u64(find_fs(s, "/")->size_bytes);
    assert_nan(find_fs(s, "/mnt/my disk")->used_pct);

    assert_int_equal(s->nnet, 5);
    assert_unknown_u64(find_net(s, "bad")->rx_bytes);
    assert_int_equal(find_net(s, "short")->rx_bytes, t1 ? 177 : 77);
    assert_unknown_u64(find_net(s, "short")->tx_bytes);
    assert_int_equal(find_net(s, "enp0s31f6")->rx_bytes, 123);
    assert_int_equal(find_net(s, "enp0s31f6")->tx_bytes, 456);

    /* No sysfs: only the loop device is left out by its name. */
    assert_int_equal(s->ndisks, 2);
    assert_int_equal(find_disk(s, "sda")->reads, t1 ? 200 : 100);
    assert_unknown_u64(find_disk(s, "sda1")->read_bytes);
}

static void test_hostile(void **state)
{
    apr_pool_t *pool = *state;
    kt_plat_t *p = open_tree(HOSTILE "/t0", HOSTILE "/no-sysfs", NO_SUCH_ROOT, 0, pool);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_hostile_common(&s, 0);
    assert_cpu_unknown(&s.cpu);
    assert_nan(s.mem.swap_in_pages_ps);

    assert_int_equal(kt_plat_set_roots(p, HOSTILE "/t1", NULL), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_hostile_common(&s, 1);
    assert_close(s.elapsed_s, 5.0);

    /* Four-column aggregate: iowait and later are unknown, busy still exact. */
    const double all[9] = {50, 0, 20, 30, NAN, NAN, NAN, NAN, 70};
    /* cpu0's iowait went 300 -> 250: no time in iowait, not a negative share. */
    const double cpu0[9] = {60, 0, 20, 20, 0, 0, 0, 0, 80};
    const double cpu1[9] = {40, 0, 20, 40, NAN, NAN, NAN, NAN, 60};
    assert_cpu(&s.cpu, all);
    assert_cpu(&s.cores[0], cpu0);
    assert_cpu(&s.cores[1], cpu1);

    assert_close(s.mem.swap_in_pages_ps, 2.0); /* pswpin 10 -> 20 over 5 s */
    assert_nan(s.mem.swap_out_pages_ps);        /* pswpout never readable */

    assert_close(find_proc(&s, 1)->cpu_pct, 6.0); /* +30 ticks in 5 s */
    /* Unknown CPU is left out of the list. */
    assert_int_equal(s.ntop_cpu, 1);
    assert_int_equal(s.top_cpu[0]->pid, 1);
    assert_string_equal(s.top_cpu[0]->cmdline, "/sbin/init");

    /* eth0's rx went backwards (a counter reset): unknown, not negative or huge. */
    const kt_net_t *eth0 = find_net(&s, "eth0");
    assert_nan(eth0->rx_bytes_ps);
    assert_close(eth0->tx_bytes_ps, 1000.0);
    assert_close(find_net(&s, "lo")->rx_bytes_ps, 100.0);
    assert_close(find_net(&s, "short")->rx_bytes_ps, 20.0);
    assert_nan(find_net(&s, "short")->tx_bytes_ps);
    assert_nan(find_net(&s, "bad")->rx_bytes_ps);
    assert_close(find_net(&s, "enp0s31f6")->rx_bytes_ps, 0.0);

    const kt_disk_t *sda = find_disk(&s, "sda");
    assert_close(sda->read_bytes_ps, 1024000.0); /* 10000 sectors in 5 s */
    assert_close(sda->write_bytes_ps, 0.0);
    assert_close(sda->busy_pct, 100.0);          /* io_ms +6000 in 5000: clamped */
    assert_close(sda->queue_length, 0.2);
    assert_nan(find_disk(&s, "sda1")->read_bytes_ps);
    assert_nan(find_disk(&s, "sda1")->busy_pct);
    kt_plat_close(p);
}

/* ---- a generated tree: 1024 CPUs ---------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* /proc/stat for 1024 CPUs. Between t0 and t1 an even CPU spends 60 user,
 * 15 system, 25 idle ticks (75 % busy), an odd one 25, 25, 50 (50 %). */
static char *stat_1024(int t1, apr_pool_t *pool)
{
    const unsigned n = 1024;
    uint64_t user = 0, sys = 0, idle = 0;
    apr_array_header_t *lines = apr_array_make(pool, (int)n + 2, sizeof(char *));
    APR_ARRAY_PUSH(lines, char *) = NULL; /* the aggregate line, once summed */
    for (unsigned i = 0; i < n; i++) {
        unsigned u = 1000, s = 1000, d = 8000;
        if (t1) {
            u += i % 2 ? 25 : 60;
            s += i % 2 ? 25 : 15;
            d += i % 2 ? 50 : 25;
        }
        user += u;
        sys += s;
        idle += d;
        APR_ARRAY_PUSH(lines, char *) =
            apr_psprintf(pool, "cpu%u %u 0 %u %u 0 0 0 0 0 0\n", i, u, s, d);
    }
    /* APR's formatter spells 64-bit integers its own way (no %llu). */
    APR_ARRAY_IDX(lines, 0, char *) = apr_psprintf(
        pool, "cpu  %" APR_UINT64_T_FMT " 0 %" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT
              " 0 0 0 0 0 0\n",
        user, sys, idle);
    APR_ARRAY_PUSH(lines, char *) = "btime 1700000000\nprocs_running 1\n";
    return apr_array_pstrcat(pool, lines, '\0');
}

static void test_generated_1024_cpus(void **state)
{
    apr_pool_t *pool = *state;
    const char *tmp = getenv("TMPDIR");
    char *dir = apr_pstrcat(pool, tmp && *tmp ? tmp : "/tmp", "/kt-plat-XXXXXX", NULL);
    assert_non_null(mkdtemp(dir));
    const char *t0 = apr_pstrcat(pool, dir, "/t0", NULL);
    const char *t1 = apr_pstrcat(pool, dir, "/t1", NULL);
    assert_int_equal(mkdir(t0, 0700), 0);
    assert_int_equal(mkdir(t1, 0700), 0);
    write_file(apr_pstrcat(pool, t0, "/stat", NULL), stat_1024(0, pool));
    write_file(apr_pstrcat(pool, t1, "/stat", NULL), stat_1024(1, pool));

    /* Only /proc/stat exists: the sample still succeeds. */
    kt_plat_t *p = open_tree(t0, dir, "", 0, pool);
    kt_sample_t s;
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_int_equal(s.ncpu, 1024);
    assert_int_equal(s.ncores, 1024);
    assert_cpu_unknown(&s.cpu);
    assert_cpu_unknown(&s.cores[1023]);
    assert_int_equal(s.boot_time, 1700000000);
    /* No process could be read: the counts are unknown, not 0. */
    assert_int_equal(s.nprocs, 0);
    assert_int_equal(s.ntop_cpu, 0);
    assert_unknown_u64(s.procs_total);
    assert_unknown_u64(s.procs_running);
    assert_unknown_u64(s.procs_zombie);
    assert_unknown_u64(s.threads_total);
    assert_unknown_u64(s.mem.total_bytes);
    assert_int_equal(s.nnet, 0);

    assert_int_equal(kt_plat_set_roots(p, t1, NULL), APR_SUCCESS);
    assert_int_equal(kt_plat_sample(p, &s, pool), APR_SUCCESS);
    assert_int_equal(s.ncpu, 1024);
    assert_int_equal(s.ncores, 1024);
    const double even[9] = {60, 0, 15, 25, 0, 0, 0, 0, 75};
    const double odd[9] = {25, 0, 25, 50, 0, 0, 0, 0, 50};
    for (unsigned i = 0; i < s.ncores; i++)
        assert_cpu(&s.cores[i], i % 2 ? odd : even);
    /* 512 * (60 + 25) user, 512 * (15 + 25) system, of 512 * 200 ticks. */
    const double all[9] = {42.5, 0, 20, 37.5, 0, 0, 0, 0, 62.5};
    assert_cpu(&s.cpu, all);
    kt_plat_close(p);

    assert_int_equal(unlink(apr_pstrcat(pool, t0, "/stat", NULL)), 0);
    assert_int_equal(unlink(apr_pstrcat(pool, t1, "/stat", NULL)), 0);
    assert_int_equal(rmdir(t0), 0);
    assert_int_equal(rmdir(t1), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    apr_initialize();
    /* The hostile trees make the backend warn once per failing source;
     * that is expected here and only clutters the test output. */
    kt_log_set_level(KT_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_first_sample, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_basic_second_sample, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_basic_default_top, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_basic_rootfs_missing, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_basic_no_time_passed, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_missing_root, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_sample_outlives_handle, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_hostile, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_generated_1024_cpus, setup_pool, teardown_pool),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return failed;
}
