/*
 * fs.c - filesystems: every fixed or removable volume with a drive letter.
 *
 * mount_point is "C:\\", device the volume GUID path when known, fstype
 * from GetVolumeInformationW ("NTFS"); inode fields stay unknown. A
 * removable drive without media is skipped, not reported as 0 bytes.
 */
#include "win.h"

#include <wchar.h>

void kt__win_read_fs(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    wchar_t drives[512];
    DWORD n = GetLogicalDriveStringsW(KT_ARRAY_SIZE(drives) - 1, drives);
    int ok = n > 0 && n < KT_ARRAY_SIZE(drives);
    kt__win_source(p, KT__WSRC_FS, "GetLogicalDriveStringsW", ok, ok ? 0 : GetLastError());
    if (!ok)
        return;
    s->fs = apr_pcalloc(pool, sizeof(kt_fs_t) * 26);
    s->nfs = 0;
    /* No "insert disk" dialog for an empty removable drive. */
    UINT old_mode = SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX);
    for (const wchar_t *d = drives; *d && s->nfs < 26; d += wcslen(d) + 1) {
        UINT type = GetDriveTypeW(d);
        if (type != DRIVE_FIXED && type != DRIVE_REMOVABLE)
            continue;
        ULARGE_INTEGER avail, size, free_;
        if (!GetDiskFreeSpaceExW(d, &avail, &size, &free_))
            continue;
        kt_fs_t *f = &s->fs[s->nfs++];
        f->mount_point = kt__win_utf8(d, pool);
        wchar_t guid[64], fsname[32];
        DWORD flags = 0;
        f->device = GetVolumeNameForVolumeMountPointW(d, guid, KT_ARRAY_SIZE(guid))
                        ? kt__win_utf8(guid, pool)
                        : f->mount_point;
        int info = GetVolumeInformationW(d, NULL, 0, NULL, NULL, &flags, fsname,
                                         KT_ARRAY_SIZE(fsname)) != 0;
        f->fstype = info ? kt__win_utf8(fsname, pool) : "unknown";
        f->readonly = info ? (flags & FILE_READ_ONLY_VOLUME) != 0 : -1;
        f->device_error = 0;
        f->size_bytes = size.QuadPart;
        f->free_bytes = free_.QuadPart;
        f->avail_bytes = avail.QuadPart;
        f->used_bytes = size.QuadPart >= free_.QuadPart ? size.QuadPart - free_.QuadPart : 0;
        f->used_pct = f->used_bytes + f->avail_bytes
                          ? 100.0 * (double)f->used_bytes / (double)(f->used_bytes + f->avail_bytes)
                          : NAN;
        f->inodes_total = f->inodes_free = KT_UNKNOWN_U64;
        f->inodes_used_pct = NAN;
    }
    SetErrorMode(old_mode);
}
