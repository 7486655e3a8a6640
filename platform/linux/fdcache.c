/*
 * fdcache.c - descriptors kept open between readings.
 *
 * Opening a /proc file walks its path and sets up a file for one read; for
 * a process's stat that is half of what reading it costs. So the files read
 * at every reading (the system files, and each process's stat) are opened
 * once and re-read with pread from offset 0, which makes procfs produce
 * their text afresh.
 *
 * A process's descriptor is opened when the scan of the root first lists
 * it and closed when the scan no longer does, or when reading it fails. On
 * procfs a descriptor is bound to its process, not to the number: once the
 * process is gone it answers ESRCH, so a reused pid is never read through
 * the old process's descriptor; it gets a fresh one, and its start time
 * (proc.c) tells it from the old process for the CPU counters.
 *
 * A captured tree is no procfs: its files are plain files that a test or a
 * person may replace (write a new file, rename it over the old), and a kept
 * descriptor would go on reading the replaced one. Below such a root a
 * kept file whose link count fell to 0 is opened again by its path.
 *
 * The budget caps the descriptors kept at once: the system files take theirs
 * first, processes the rest in the order the scan lists them; a process
 * beyond it is read by open, read and close at each reading. The process
 * table (pid, descriptor, start time, CPU ticks) is two arrays sorted by pid,
 * the previous reading's and the one being built; procfs lists pids in
 * ascending order, so a lookup is almost always the next entry.
 *
 * Everything here belongs to the kt_plat_t and its one thread.
 */
#include "linux.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

/* ---- Private -------------------------------------------------------------------- */

/* Raises the soft open-files limit toward the hard one, as far as the
 * budget and the reserve need; returns the room left for kept descriptors. */
static unsigned room_for(unsigned budget)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t want = (rlim_t)KT__FD_RESERVE + budget;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        struct rlimit raised = {want, rl.rlim_max};
        if (rl.rlim_max != RLIM_INFINITY && raised.rlim_cur > rl.rlim_max)
            raised.rlim_cur = rl.rlim_max;
        if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = raised.rlim_cur;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return budget;
    return rl.rlim_cur > KT__FD_RESERVE ? (unsigned)(rl.rlim_cur - KT__FD_RESERVE) : 0;
}

static int on_procfs(int dirfd)
{
    struct statfs sf;
    return fstatfs(dirfd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

/* Still the file its path names? Always on procfs; below a captured tree,
 * not once it has been unlinked or replaced. */
static int still_named(const kt__fdcache_t *c, int fd)
{
    struct stat st;
    return c->on_procfs || (fstat(fd, &st) == 0 && st.st_nlink > 0);
}

static void forget_fd(kt__fdcache_t *c, int32_t *fd)
{
    if (*fd < 0)
        return;
    close(*fd);
    *fd = -1;
    c->used--;
}

/* Opens rel below the root and reads it; keeps the descriptor in *slot
 * when the budget allows, else closes it. */
static apr_status_t open_and_read(kt_plat_t *p, int32_t *slot, const char *rel, int one_record,
                                  char **text, size_t *len)
{
    kt__fdcache_t *c = &p->kept;
    int fd = openat(p->procfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return APR_FROM_OS_ERROR(errno);
    apr_status_t st = kt__pread_all(p, fd, one_record, text, len);
    if (st == APR_SUCCESS && c->used < c->budget) {
        *slot = fd;
        c->used++;
    } else {
        close(fd);
    }
    return st;
}

/* Reads through *slot when it holds a descriptor that still names rel;
 * else, or when that read fails, opens rel anew. */
static apr_status_t reread(kt_plat_t *p, int32_t *slot, const char *rel, int one_record,
                           char **text, size_t *len)
{
    kt__fdcache_t *c = &p->kept;
    if (*slot >= 0) {
        if (kt__pread_all(p, *slot, one_record, text, len) == APR_SUCCESS &&
            still_named(c, *slot))
            return APR_SUCCESS;
        /* Gone (ESRCH: its process exited, and the name may be a new one's),
         * replaced, or failing: the path decides. */
        forget_fd(c, slot);
    }
    return open_and_read(p, slot, rel, one_record, text, len);
}

static int grow(kt__proc_entry_t **a, unsigned *cap, unsigned need)
{
    if (need <= *cap)
        return 0;
    unsigned ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    kt__proc_entry_t *bigger = realloc(*a, sizeof **a * ncap);
    if (!bigger)
        return -1;
    *a = bigger;
    *cap = ncap;
    return 0;
}

static int by_pid(const void *a, const void *b)
{
    int32_t x = ((const kt__proc_entry_t *)a)->pid, y = ((const kt__proc_entry_t *)b)->pid;
    return x < y ? -1 : x > y;
}

/* The index of pid in the previous reading's table; c->nwas when absent. */
static unsigned was_index(const kt__fdcache_t *c, int32_t pid)
{
    unsigned lo = 0, hi = c->nwas;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (c->was[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nwas && c->was[lo].pid == pid ? lo : c->nwas;
}

/* The previous reading's entry of pid, if it has one not yet carried over. */
static kt__proc_entry_t *find_was(kt__fdcache_t *c, int32_t pid)
{
    unsigned i = c->hint;
    if (!(i < c->nwas && c->was[i].pid == pid) && (i = was_index(c, pid)) == c->nwas)
        return NULL;
    c->hint = i + 1;
    return c->was[i].fd == -2 ? NULL : &c->was[i]; /* -2: carried already */
}

/* ---- Public (to the backend) ---------------------------------------------------------- */

void kt__fdcache_init(kt_plat_t *p, unsigned budget)
{
    kt__fdcache_t *c = &p->kept;
    memset(c, 0, sizeof *c);
    for (int i = 0; i < KT__FILE_COUNT; i++)
        c->files[i] = -1;
    c->budget = room_for(budget);
    if (c->budget < budget)
        kt_log(KT_LOG_INFO, "keeping %u descriptors open between readings, not %u: the "
                            "open-files limit leaves no more beside %u for the rest",
               c->budget, budget, KT__FD_RESERVE);
}

void kt__fdcache_close(kt_plat_t *p)
{
    kt__fdcache_t *c = &p->kept;
    if (c->dir) {
        closedir(c->dir);
        c->dir = NULL;
        c->used--;
    }
    for (int i = 0; i < KT__FILE_COUNT; i++)
        forget_fd(c, &c->files[i]);
    for (unsigned i = 0; i < c->nwas; i++)
        forget_fd(c, &c->was[i].fd);
    c->on_procfs = p->procfd >= 0 && on_procfs(p->procfd);
    c->listed_time = 0; /* another root, maybe: the next scan lists it */
}

void kt__fdcache_free(kt_plat_t *p)
{
    kt__fdcache_t *c = &p->kept;
    for (unsigned i = 0; i < c->nwas; i++)
        free(c->was[i].cmdline);
    free(c->was);
    free(c->now);
    c->was = c->now = NULL;
    c->nwas = c->nnow = c->capwas = c->capnow = 0;
}

apr_status_t kt__read_file(kt_plat_t *p, int file, const char *rel, char **text, size_t *len)
{
    return reread(p, &p->kept.files[file], rel, 0, text, len);
}

int kt__file_unchanged(kt_plat_t *p, int file)
{
    int fd = p->kept.files[file];
    if (fd < 0 || !p->kept.on_procfs)
        return 0;
    /* Not POLLIN: a procfs file is always readable. */
    struct pollfd pfd = {.fd = fd, .events = POLLPRI};
    return poll(&pfd, 1, 0) == 0;
}

void kt__procs_begin(kt_plat_t *p)
{
    kt__fdcache_t *c = &p->kept;
    c->nnow = 0;
    c->hint = 0;
    c->last_was = c->nwas;
    c->sorted = 1;
}

/* On procfs a rewind makes the kernel list the pids afresh, so the one
 * listing is kept: opening it costs each reading an open, an fstat and the
 * allocation of its 32 KiB buffer. A captured tree's directory may be
 * replaced under its name, so there it is opened at each scan. */
DIR *kt__procs_dir(kt_plat_t *p)
{
    kt__fdcache_t *c = &p->kept;
    if (c->dir) {
        rewinddir(c->dir);
        return c->dir;
    }
    int fd = openat(p->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        errno = err;
        return NULL;
    }
    if (c->on_procfs && c->used < c->budget) {
        c->dir = dir;
        c->used++;
    }
    return dir;
}

void kt__procs_dir_done(kt_plat_t *p, DIR *dir)
{
    if (dir != p->kept.dir)
        closedir(dir);
}

kt__proc_entry_t *kt__proc_kept(kt_plat_t *p, int32_t pid)
{
    kt__fdcache_t *c = &p->kept;
    unsigned i = was_index(c, pid);
    return i < c->nwas ? &c->was[i] : NULL;
}

kt__proc_entry_t *kt__proc_add(kt_plat_t *p, int32_t pid, kt__proc_entry_t *was)
{
    kt__fdcache_t *c = &p->kept;
    /* Room for the whole previous table up front: one allocation per growth. */
    if (grow(&c->now, &c->capnow, (c->nnow < c->nwas ? c->nwas : c->nnow) + 1) != 0)
        return NULL;
    kt__proc_entry_t *old = find_was(c, pid), *e = &c->now[c->nnow];
    c->last_was = old ? (unsigned)(old - c->was) : c->nwas;
    if (old) {
        *e = *old;
        *was = *old;
        old->fd = -2;
    } else {
        e->pid = pid;
        e->fd = -1;
        e->starttime = e->ticks = e->cticks = KT_UNKNOWN_U64;
        e->cmdline = NULL;
        e->comm[0] = '\0';
        e->cmdline_time = 0;
        *was = *e;
    }
    if (c->nnow > 0 && c->now[c->nnow - 1].pid >= pid)
        c->sorted = 0;
    c->nnow++;
    return e;
}

apr_status_t kt__proc_read_stat(kt_plat_t *p, kt__proc_entry_t *e, const char *dir, char **text)
{
    char rel[300];
    size_t n = strlen(dir);
    if (n + sizeof "/stat" > sizeof rel)
        return APR_ENAMETOOLONG;
    memcpy(rel, dir, n);
    memcpy(rel + n, "/stat", sizeof "/stat");
    return reread(p, &e->fd, rel, 1, text, NULL);
}

void kt__proc_drop(kt_plat_t *p, kt__proc_entry_t *e)
{
    kt__fdcache_t *c = &p->kept;
    forget_fd(c, &e->fd);
    free(e->cmdline);
    /* The entry it came from is no longer carried: the process is gone, and
     * what it was seen using counts among the vanished (proc.c). */
    if (c->last_was < c->nwas) {
        c->was[c->last_was].fd = -1;
        c->was[c->last_was].cmdline = NULL; /* freed with e */
        c->last_was = c->nwas;
    }
    c->nnow--; /* e is the last entry */
}

void kt__procs_end(kt_plat_t *p)
{
    kt__fdcache_t *c = &p->kept;
    for (unsigned i = 0; i < c->nwas; i++)
        if (c->was[i].fd != -2) { /* not listed any more (-2: carried) */
            forget_fd(c, &c->was[i].fd);
            free(c->was[i].cmdline);
        }
    if (!c->sorted)
        qsort(c->now, c->nnow, sizeof *c->now, by_pid);
    kt__proc_entry_t *t = c->was;
    unsigned tcap = c->capwas;
    c->was = c->now;
    c->nwas = c->nnow;
    c->capwas = c->capnow;
    c->now = t;
    c->capnow = tcap;
    c->nnow = 0;
}
