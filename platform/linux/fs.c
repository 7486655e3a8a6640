/*
 * fs.c - which mounts are filesystems a person cares about, and their usage.
 *
 * Left out, as df and node_exporter leave them out:
 *  - pseudo and image filesystems (proc, sysfs, cgroup, squashfs snaps, ...);
 *  - mounts below /proc, /sys, /dev (but /dev/shm, which fills up for real),
 *    container runtimes' layer stores (the "lower layers" of overlays);
 *  - network filesystems: statvfs on an unreachable server blocks for minutes
 *    and the sampler must never stall;
 *  - a mount point mounted over (only the top mount is visible);
 *  - a second mount of the same device (bind mounts), keeping the one that
 *    shows the device's root.
 * Usage is read with statvfs below the configured rootfs prefix.
 */
#include "linux.h"

#include <string.h>
#include <sys/statvfs.h>

static const char *const pseudo_types[] = {
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs",
    "devpts", "devtmpfs", "efivarfs", "erofs", "fusectl", "fuse.gvfsd-fuse",
    "fuse.lxcfs", "fuse.portal", "hugetlbfs", "iso9660", "mqueue", "nsfs", "proc",
    "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs",
    "tracefs",
    /* network filesystems, see above */
    "afs", "ceph", "cifs", "fuse.sshfs", "glusterfs", "lustre", "ncpfs", "nfs", "nfs4",
    "smb3", "smbfs",
};

static const char *const hidden_prefixes[] = {
    "/proc", "/sys", "/dev", "/run/credentials", "/var/lib/docker",
    "/var/lib/containers/storage", "/var/lib/kubelet/pods",
};

static int under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int kt__fs_is_pseudo(const char *fstype, const char *mount_point)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(pseudo_types); i++)
        if (strcmp(fstype, pseudo_types[i]) == 0)
            return 1;
    if (strcmp(mount_point, "/dev/shm") == 0)
        return 0;
    for (size_t i = 0; i < KT_ARRAY_SIZE(hidden_prefixes); i++)
        if (under(mount_point, hidden_prefixes[i]))
            return 1;
    return 0;
}

/* Marks keep[i] = 1 for the mounts that are neither mounted over nor a
 * second view of a device already listed. Two hashes keep it linear: hosts
 * running containers carry thousands of mounts. */
static void pick_visible(const kt__mount_t *m, unsigned n, char *keep, apr_pool_t *pool)
{
    apr_hash_t *top = apr_hash_make(pool), *by_dev = apr_hash_make(pool);
    unsigned *idx = apr_palloc(pool, sizeof *idx * (n ? n : 1));
    for (unsigned i = 0; i < n; i++) {
        idx[i] = i;
        keep[i] = 0;
        if (kt__fs_is_pseudo(m[i].fstype, m[i].mount_point))
            continue;
        apr_hash_set(top, m[i].mount_point, APR_HASH_KEY_STRING, &idx[i]);
        const char *dev = apr_psprintf(pool, "%u:%u", m[i].major, m[i].minor);
        const unsigned *best = apr_hash_get(by_dev, dev, APR_HASH_KEY_STRING);
        if (!best || (strcmp(m[i].root, "/") == 0 && strcmp(m[*best].root, "/") != 0))
            apr_hash_set(by_dev, dev, APR_HASH_KEY_STRING, &idx[i]);
    }
    for (apr_hash_index_t *hi = apr_hash_first(pool, by_dev); hi; hi = apr_hash_next(hi)) {
        const unsigned *i = apr_hash_this_val(hi);
        keep[*i] = *(const unsigned *)apr_hash_get(top, m[*i].mount_point,
                                                   APR_HASH_KEY_STRING) == *i;
    }
}

static void fill_usage(kt_fs_t *fs, const struct statvfs *v)
{
    uint64_t frsize = v->f_frsize ? v->f_frsize : v->f_bsize;
    fs->size_bytes = (uint64_t)v->f_blocks * frsize;
    fs->free_bytes = (uint64_t)v->f_bfree * frsize;
    fs->avail_bytes = (uint64_t)v->f_bavail * frsize;
    fs->used_bytes = fs->size_bytes - fs->free_bytes;
    /* df's formula: blocks reserved for root count as neither used nor available. */
    fs->used_pct = kt__plat_pct(fs->used_bytes, fs->used_bytes + fs->avail_bytes);
    if (v->f_files > 0) {
        fs->inodes_total = v->f_files;
        fs->inodes_free = v->f_ffree;
        fs->inodes_used_pct = kt__plat_pct(v->f_files - v->f_ffree, v->f_files);
    }
}

/* Reads the mount table and keeps the mounts to report in p->mounts. */
static apr_status_t read_mounts(kt_plat_t *p)
{
    char *text;
    p->have_mounts = 0;
    /* pid 1's mount table is the host's, as df shows it; a kept descriptor
     * stays on whichever of the two opened. */
    apr_status_t st = kt__read_file(p, KT__FILE_MOUNTINFO, "1/mountinfo", &text, NULL);
    if (st != APR_SUCCESS)
        st = kt__read_file(p, KT__FILE_MOUNTINFO, "self/mountinfo", &text, NULL);
    if (st != APR_SUCCESS)
        return kt__source_status(p, KT__SRC_MOUNTS, "self/mountinfo", st);

    if (!p->mounts_pool && (st = apr_pool_create(&p->mounts_pool, p->pool)) != APR_SUCCESS)
        return st;
    apr_pool_clear(p->mounts_pool);
    kt__mount_t *m;
    unsigned n;
    st = kt__parse_mountinfo(text, &m, &n, p->mounts_pool);
    kt__source_status(p, KT__SRC_MOUNTS, "self/mountinfo", st);
    if (st != APR_SUCCESS)
        return st;
    char *keep = apr_palloc(p->mounts_pool, n ? n : 1);
    pick_visible(m, n, keep, p->mounts_pool);
    p->nmounts = 0;
    for (unsigned i = 0; i < n; i++)
        if (keep[i])
            m[p->nmounts++] = m[i];
    p->mounts = m;
    p->have_mounts = 1;
    return APR_SUCCESS;
}

apr_status_t kt__read_filesystems(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    /* On a host with thousands of mounts (containers) reading and sorting
     * the table is most of this; it changes rarely. */
    apr_status_t st;
    if ((!p->have_mounts || !kt__file_unchanged(p, KT__FILE_MOUNTINFO)) &&
        (st = read_mounts(p)) != APR_SUCCESS)
        return st;
    s->fs = apr_pcalloc(pool, sizeof(kt_fs_t) * (p->nmounts ? p->nmounts : 1));
    s->nfs = 0;
    for (unsigned i = 0; i < p->nmounts; i++) {
        const kt__mount_t *m = &p->mounts[i];
        kt_fs_t *fs = &s->fs[s->nfs];
        fs->size_bytes = fs->free_bytes = fs->avail_bytes = fs->used_bytes =
            fs->inodes_total = fs->inodes_free = KT_UNKNOWN_U64;
        fs->used_pct = fs->inodes_used_pct = NAN;
        fs->readonly = m->readonly;
        struct statvfs v;
        const char *path = apr_pstrcat(pool, p->rootfs, m->mount_point, NULL);
        fs->device_error = statvfs(path, &v) != 0;
        if (!fs->device_error) {
            if (v.f_blocks == 0)
                continue; /* a size-less filesystem holds no data, as df -l skips it */
            fill_usage(fs, &v);
        }
        fs->mount_point = apr_pstrdup(pool, m->mount_point);
        fs->device = apr_pstrdup(pool, m->source);
        fs->fstype = apr_pstrdup(pool, m->fstype);
        s->nfs++;
    }
    return APR_SUCCESS;
}
