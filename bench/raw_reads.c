/*
 * raw_reads.c - the bare reads of a reading's files (see raw_reads.h).
 */
#include "raw_reads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>

static char raw_buf[64 * 1024];

double kt_bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads rel to its end into the fixed buffer; returns 0 when it could be opened. */
static int raw_read(int dirfd, const char *rel)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = read(fd, raw_buf, sizeof raw_buf);
    while (n > 0 || (n < 0 && errno == EINTR));
    close(fd);
    return 0;
}

void kt_bench_raw_pass(kt_bench_raw_t *r)
{
    raw_read(r->procfd, "uptime");
    raw_read(r->procfd, "stat");
    raw_read(r->procfd, "meminfo");
    raw_read(r->procfd, "vmstat");
    raw_read(r->procfd, "loadavg");
    unsigned found = 0; /* counted, so no result is ignored */
    /* Pressure stall information, where the kernel has it (the sampler
     * reads the three files when they are there). */
    found += raw_read(r->procfd, "pressure/cpu") == 0;
    found += raw_read(r->procfd, "pressure/memory") == 0;
    found += raw_read(r->procfd, "pressure/io") == 0;

    unsigned procs = 0;
    int fd = openat(r->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir) {
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] < '0' || de->d_name[0] > '9')
                continue;
            char rel[300];
            size_t len = strlen(de->d_name);
            if (len + sizeof "/stat" > sizeof rel)
                continue;
            memcpy(rel, de->d_name, len);
            memcpy(rel + len, "/stat", sizeof "/stat");
            procs += raw_read(r->procfd, rel) == 0;
        }
        closedir(dir);
    } else if (fd >= 0) {
        close(fd);
    }
    r->raw_procs = procs;
    for (unsigned i = 0; i < r->ncmdline; i++)
        raw_read(r->procfd, r->cmdline_rel[i]);

    raw_read(r->procfd, r->mountinfo);
    for (unsigned i = 0; i < r->nmounts; i++) {
        struct statvfs v;
        found += statvfs(r->mounts[i], &v) == 0;
    }
    raw_read(r->procfd, "net/dev");
    raw_read(r->procfd, "diskstats");
    if (r->sysfd >= 0)
        for (unsigned i = 0; i < r->ndisks; i++)
            found += faccessat(r->sysfd, r->disk_rel[i], F_OK, 0) == 0;
    r->found = found;
}

apr_allocator_t *kt_bench_kept_allocator(void)
{
    apr_allocator_t *a;
    if (apr_allocator_create(&a) != APR_SUCCESS)
        return NULL;
    apr_allocator_max_free_set(a, 512 * 1024);
    return a;
}

apr_status_t kt_bench_sample_once(kt_plat_t *p, apr_allocator_t *kept, apr_pool_t *parent,
                                  unsigned *nprocs)
{
    apr_pool_t *pool;
    apr_status_t st = kept ? apr_pool_create_unmanaged_ex(&pool, NULL, kept)
                           : apr_pool_create(&pool, parent);
    if (st != APR_SUCCESS)
        return st;
    kt_sample_t s;
    if ((st = kt_plat_sample(p, &s, pool)) == APR_SUCCESS)
        *nprocs = s.nprocs;
    apr_pool_destroy(pool);
    return st;
}

static void add_cmdline(kt_bench_raw_t *r, const kt_proc_t *p, apr_pool_t *pool)
{
    for (unsigned i = 0; i < r->ncmdline; i++)
        if (r->cmdline_pid[i] == p->pid)
            return; /* in both top lists: the sampler reads it once */
    if (r->ncmdline == sizeof r->cmdline_rel / sizeof r->cmdline_rel[0])
        return;
    char buf[48];
    snprintf(buf, sizeof buf, "%lld/cmdline", (long long)p->pid);
    /* A process that has exited since would only cost a failed openat;
     * read this process's own cmdline in its place. */
    if (faccessat(r->procfd, buf, R_OK, 0) != 0)
        snprintf(buf, sizeof buf, "%ld/cmdline", (long)getpid());
    r->cmdline_pid[r->ncmdline] = p->pid;
    r->cmdline_rel[r->ncmdline++] = apr_pstrdup(pool, buf);
}

int kt_bench_raw_setup(kt_bench_raw_t *r, const kt_sample_t *s, apr_pool_t *pool)
{
    r->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->procfd < 0)
        return -1;
    r->sysfd = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r->mountinfo = faccessat(r->procfd, "1/mountinfo", R_OK, 0) == 0 ? "1/mountinfo"
                                                                     : "self/mountinfo";

    r->ncmdline = 0;
    for (unsigned i = 0; i < s->ntop_cpu; i++)
        add_cmdline(r, s->top_cpu[i], pool);
    for (unsigned i = 0; i < s->ntop_mem; i++)
        add_cmdline(r, s->top_mem[i], pool);

    /* Mounts kept by the filter but of size 0 are statvfs'ed by the sampler
     * and then dropped, so they are missing here; pseudo filesystems are
     * filtered before statvfs and are rightly absent. */
    r->nmounts = 0;
    for (unsigned i = 0; i < s->nfs && r->nmounts < KT_BENCH_MAX_LIST; i++)
        r->mounts[r->nmounts++] = apr_pstrdup(pool, s->fs[i].mount_point);

    /* Every diskstats line but loop and ram devices gets a faccessat. */
    r->ndisks = 0;
    FILE *f = fopen("/proc/diskstats", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f) && r->ndisks < KT_BENCH_MAX_LIST) {
        unsigned major, minor;
        char name[256];
        if (sscanf(line, " %u %u %255s", &major, &minor, name) != 3)
            continue;
        if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
            continue;
        r->disk_rel[r->ndisks++] = apr_pstrcat(pool, "block/", name, NULL);
    }
    if (f)
        fclose(f);
    return 0;
}
