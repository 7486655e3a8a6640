/*
 * clock.c - how well the kernel's clock is disciplined, from adjtimex(2)
 * with no modes set (a read; no privilege needed). This is the machine's
 * own state, not below the procfs root: a captured tree has no clock.
 */
#include "linux.h"

#include <sys/timex.h>

void kt__read_clock(kt_sample_t *s)
{
    struct timex tx = {0};
    int state = adjtimex(&tx);
    if (state < 0)
        return;
    /* STA_NANO: the offset is in nanoseconds; otherwise microseconds. */
    double div = (tx.status & STA_NANO) ? 1e9 : 1e6;
    s->clock.offset_s = (double)tx.offset / div;
    s->clock.maxerror_s = (double)tx.maxerror / 1e6;
    s->clock.esterror_s = (double)tx.esterror / 1e6;
    s->clock.synced = state != TIME_ERROR;
}
