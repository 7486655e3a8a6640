/*
 * disk.c - physical disks (\\.\PhysicalDriveN with IOCTL_DISK_PERFORMANCE).
 *
 * Opening a physical drive with no access rights is allowed for
 * unprivileged users; the IOCTL needs the disk performance counters, which
 * Windows enables on demand. A drive that opens but refuses the IOCTL is
 * listed with unknown counters. busy_pct and queue_length come from PDH (pdh.c).
 */
#include "win.h"

#include <winioctl.h>

#include <wchar.h>

#define KT__MAX_DRIVES 32 /* PhysicalDrive0 .. 31 */

typedef struct {
    uint64_t read_bytes, write_bytes, idle, query;
} kt__win_disk_raw_t;

void kt__win_read_disks(kt_plat_t *p, kt_sample_t *s, apr_pool_t *pool)
{
    apr_pool_t *state = p->state_pool[p->cur_state];
    s->disks = apr_pcalloc(pool, sizeof(kt_disk_t) * KT__MAX_DRIVES);
    s->ndisks = 0;
    unsigned misses = 0;
    for (unsigned i = 0; i < KT__MAX_DRIVES && misses < 4; i++) {
        wchar_t path[40];
        swprintf(path, KT_ARRAY_SIZE(path), L"\\\\.\\PhysicalDrive%u", i);
        HANDLE h = CreateFileW(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                               0, NULL);
        if (h == INVALID_HANDLE_VALUE) {
            misses++; /* numbers can have gaps after a removal */
            continue;
        }
        DISK_PERFORMANCE dp;
        DWORD got = 0;
        int ok = DeviceIoControl(h, IOCTL_DISK_PERFORMANCE, NULL, 0, &dp, sizeof dp, &got, NULL) &&
                 got >= sizeof dp;
        CloseHandle(h);

        kt_disk_t *o = &s->disks[s->ndisks++];
        o->name = apr_psprintf(pool, "PhysicalDrive%u", i);
        o->reads = o->writes = o->read_bytes = o->write_bytes = o->reads_merged =
            o->writes_merged = o->read_time_ms = o->write_time_ms = o->io_time_ms =
                o->io_weighted_ms = o->in_flight = KT_UNKNOWN_U64;
        o->read_bytes_ps = o->write_bytes_ps = o->busy_pct = o->queue_length = NAN;
        if (!ok)
            continue;
        o->reads = dp.ReadCount;
        o->writes = dp.WriteCount;
        o->read_bytes = (uint64_t)dp.BytesRead.QuadPart;
        o->write_bytes = (uint64_t)dp.BytesWritten.QuadPart;
        /* 100 ns units; the queue depth is what is in flight now. */
        o->read_time_ms = (uint64_t)dp.ReadTime.QuadPart / 10000;
        o->write_time_ms = (uint64_t)dp.WriteTime.QuadPart / 10000;
        o->in_flight = dp.QueueDepth;
        kt__win_disk_raw_t *keep = apr_palloc(state, sizeof *keep);
        keep->read_bytes = o->read_bytes;
        keep->write_bytes = o->write_bytes;
        keep->idle = (uint64_t)dp.IdleTime.QuadPart;
        keep->query = (uint64_t)dp.QueryTime.QuadPart;
        const char *key = apr_pstrdup(state, o->name);
        apr_hash_set(p->next.disks, key, APR_HASH_KEY_STRING, keep);
        const kt__win_disk_raw_t *was =
            p->prev.valid ? apr_hash_get(p->prev.disks, key, APR_HASH_KEY_STRING) : NULL;
        if (was) {
            o->read_bytes_ps = kt__plat_rate(was->read_bytes, keep->read_bytes, s->elapsed_s);
            o->write_bytes_ps = kt__plat_rate(was->write_bytes, keep->write_bytes, s->elapsed_s);
            /* The native idle time gives busy % without PDH; PDH refines it below. */
            o->busy_pct = kt__win_disk_busy_pct(was->idle, was->query, keep->idle, keep->query);
        }
    }
}
