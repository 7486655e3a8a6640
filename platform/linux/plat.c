/*
 * plat.c - the Linux backend: opens the roots and takes one reading, source
 * by source (cpu.c, mem.c, proc.c, fs.c, net.c, disk.c).
 *
 * Every path is relative to a directory fd of the configured procfs / sysfs
 * root (node_exporter's --path.procfs), so the same code reads the live
 * machine, a container's view of its host, or a captured fixture tree.
 *
 * State between readings (the counters rates are computed from) lives in
 * two pools used in turn: the reading being built writes into one while the
 * previous reading's counters are read from the other. The files read at
 * every reading stay open between readings (fdcache.c); a new root closes them.
 */
#include "linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <apr_strings.h>

static apr_status_t open_root(const char *path, int *fd)
{
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return *fd < 0 ? APR_FROM_OS_ERROR(errno) : APR_SUCCESS;
}

static const char *read_line(kt_plat_t *p, const char *rel)
{
    char *text;
    if (kt__slurp(p, p->procfd, rel, &text, NULL) != APR_SUCCESS)
        return NULL;
    text[strcspn(text, "\n")] = '\0';
    return apr_pstrdup(p->pool, text);
}

static apr_status_t close_fds(void *data)
{
    kt_plat_t *p = data;
    kt__fdcache_close(p);
    kt__fdcache_free(p);
    if (p->procfd >= 0)
        close(p->procfd);
    if (p->sysfd >= 0)
        close(p->sysfd);
    free(p->buf);
    return APR_SUCCESS;
}

void kt_plat_want_cmdlines(kt_plat_t *p, int on) { p->want_cmdlines = on; }

void kt_plat_want_procs(kt_plat_t *p, int on) { p->skip_procs = !on; }

apr_status_t kt_plat_set_roots(kt_plat_t *p, const char *procfs, const char *sysfs)
{
    if (procfs) {
        int fd;
        apr_status_t st = open_root(procfs, &fd);
        if (st != APR_SUCCESS)
            return st;
        if (p->procfd >= 0)
            close(p->procfd);
        p->procfd = fd;
        p->procfs = apr_pstrdup(p->pool, procfs);
        /* Descriptors of the old root name its files, not the new root's. */
        kt__fdcache_close(p);
        p->hostname = read_line(p, "sys/kernel/hostname");
        p->kernel = read_line(p, "sys/kernel/osrelease");
        p->kernel_version = read_line(p, "sys/kernel/version");
        p->domainname = read_line(p, "sys/kernel/domainname");
    }
    if (sysfs) {
        if (p->sysfd >= 0)
            close(p->sysfd);
        /* Without sysfs only the disk list loses its partition filter. */
        if (open_root(sysfs, &p->sysfd) != APR_SUCCESS)
            p->sysfd = -1;
        p->disk_kind = NULL; /* the new root's /sys/block answers */
        p->sysfs = apr_pstrdup(p->pool, sysfs);
    }
    return APR_SUCCESS;
}

/* os-release(5): /etc first, then /usr/lib, below the rootfs prefix. Read
 * once: it changes only with an upgrade, which restarts kotod anyway. */
static void read_os_release(kt_plat_t *p)
{
    static const char *const paths[] = {"/etc/os-release", "/usr/lib/os-release"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(paths); i++) {
        char *text;
        const char *path = apr_pstrcat(p->pool, p->rootfs, paths[i], NULL);
        if (kt__slurp(p, AT_FDCWD, path, &text, NULL) == APR_SUCCESS &&
            kt__parse_os_release(text, &p->os_release, p->pool) == APR_SUCCESS)
            return;
    }
}

/* The sample may outlive the handle: its strings go into the sample's pool. */
static void copy_os_release(const kt_os_release_t *from, kt_os_release_t *to, apr_pool_t *pool)
{
    *to = *from;
    const char **const f[] = {&to->name, &to->id, &to->id_like, &to->pretty_name, &to->version,
                              &to->version_id, &to->version_codename, &to->build_id,
                              &to->variant, &to->variant_id, &to->image_id, &to->image_version};
    for (size_t i = 0; i < KT_ARRAY_SIZE(f); i++)
        *f[i] = apr_pstrdup(pool, *f[i]);
}

apr_status_t kt_plat_open(kt_plat_t **out, const kt_plat_opts_t *opts, apr_pool_t *pool)
{
    apr_pool_t *sub;
    apr_status_t st = apr_pool_create(&sub, pool);
    if (st != APR_SUCCESS)
        return st;
    apr_pool_tag(sub, "platform");
    kt_plat_t *p = apr_pcalloc(sub, sizeof *p);
    p->pool = sub;
    p->procfd = p->sysfd = -1;
    kt__fdcache_init(p, opts->kept_fds ? opts->kept_fds : KT_PLAT_KEPT_FDS);
    apr_pool_cleanup_register(sub, p, close_fds, apr_pool_cleanup_null);
    p->rootfs = apr_pstrdup(sub, opts->rootfs ? opts->rootfs : "");
    p->top_n = opts->top_n ? opts->top_n : 5;
    p->page_size = sysconf(_SC_PAGESIZE);
    apr_pool_create(&p->state_pool[0], sub);
    apr_pool_create(&p->state_pool[1], sub);

    st = kt_plat_set_roots(p, opts->procfs ? opts->procfs : "/proc",
                           opts->sysfs ? opts->sysfs : "/sys");
    if (st != APR_SUCCESS) {
        apr_pool_destroy(sub);
        return st;
    }
    struct utsname u;
    if (uname(&u) == 0)
        p->machine = apr_pstrdup(sub, u.machine);
    read_os_release(p);
    *out = p;
    return APR_SUCCESS;
}

void kt_plat_close(kt_plat_t *p)
{
    apr_pool_destroy(p->pool);
}

apr_status_t kt_plat_sample(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    apr_pool_t *state = kt__plat_begin(s, "linux", p->hostname, p->kernel, p->state_pool,
                                       &p->cur_state, pool);
    s->kernel_version = apr_pstrdup(pool, p->kernel_version);
    s->domainname = apr_pstrdup(pool, p->domainname);
    s->machine = apr_pstrdup(pool, p->machine);
    copy_os_release(&p->os_release, &s->os_release, pool);
    memset(&p->next, 0, sizeof p->next);
    p->next.net = apr_hash_make(state);
    p->next.disks = apr_hash_make(state);
    p->next.time = s->time;

    double uptime = NAN;
    READ_SOURCE(p, KT__SRC_UPTIME, KT__FILE_UPTIME, "uptime", kt__parse_uptime(text, &uptime));
    s->uptime_s = uptime;
    p->next.uptime_s = uptime;
    if (p->prev.valid) {
        /* The kernel's uptime is the clock the counters tick by, and it makes
         * captured t0/t1 trees give the same rates on every run. */
        double dt = kt_known(uptime) && kt_known(p->prev.uptime_s)
                        ? uptime - p->prev.uptime_s
                        : (double)(s->time - p->prev.time) / APR_USEC_PER_SEC;
        s->elapsed_s = dt > 0 ? dt : NAN;
    }

    kt__read_cpu(p, s, pool);
    kt__read_memory(p, s, pool);
    kt__read_load(p, s);
    if (p->skip_procs && p->prev.valid)
        s->procs_carried = 1; /* the caller carries the previous table over */
    else
        kt__read_procs(p, s, pool);
    kt__read_filesystems(p, s, pool);
    kt__read_net(p, s, pool);
    kt__read_disks(p, s, pool);
    kt__read_pressure(p, s);
    kt__read_clock(s);

    p->next.valid = 1;
    p->prev = p->next;
    /* Something must have been readable for the sample to mean anything. */
    unsigned all = (1u << KT__SRC_COUNT) - 1;
    return (p->failing & all) == all ? APR_ENOENT : APR_SUCCESS;
}
