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
    /* As node_exporter converts them: frequencies are ppm with a 16-bit
     * fraction, the PPS jitter in the offset's unit, the tick in µs. */
    const double ppm16frac = 1000000.0 * 65536.0;
    double *t = s->clock.timex;
    t[KT_TIMEX_FREQ_RATIO] = 1 + (double)tx.freq / ppm16frac;
    t[KT_TIMEX_STATUS] = (double)tx.status;
    t[KT_TIMEX_CONSTANT] = (double)tx.constant;
    t[KT_TIMEX_TICK_S] = (double)tx.tick / 1e6;
    t[KT_TIMEX_PPSFREQ_HZ] = (double)tx.ppsfreq / ppm16frac;
    t[KT_TIMEX_JITTER_S] = (double)tx.jitter / div;
    t[KT_TIMEX_SHIFT] = (double)tx.shift;
    t[KT_TIMEX_STABIL_HZ] = (double)tx.stabil / ppm16frac;
    t[KT_TIMEX_JITCNT] = (double)tx.jitcnt;
    t[KT_TIMEX_CALCNT] = (double)tx.calcnt;
    t[KT_TIMEX_ERRCNT] = (double)tx.errcnt;
    t[KT_TIMEX_STBCNT] = (double)tx.stbcnt;
    t[KT_TIMEX_TAI_S] = (double)tx.tai;
}
