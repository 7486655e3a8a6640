/*
 * chunk.c - the packed form of a series' points: one chunk holds up to a
 * few hundred consecutive points of one series in one tier.
 *
 * A point's time is its slot: t0 + slot * step. The sampler keeps a steady
 * cadence, so consecutive readings take consecutive slots and a time costs
 * nothing; a missed slot (a reading that failed, a series that was absent)
 * costs one skip code. Values are integers in the series' own resolution
 * (0.1 % for CPU, a byte per second for rates...), each coded as the
 * difference from the previous point in a prefix code that gives 1 bit to
 * "unchanged" and 8 to a small change: an idle machine's series mostly cost
 * 1 to 8 bits a point, where a row per point would cost tens of bytes.
 * Coarse tiers code min, average and max per bucket: the average as a
 * difference, min and max as distances below and above it.
 *
 * The codes (most significant bit first):
 *   0                      0
 *   10      +  6 bits      1 .. 64
 *   110     + 12 bits      65 .. 4160
 *   1110    + 20 bits      4161 .. 1052736
 *   11110   + 32 bits      the next 2^32
 *   111110  + 64 bits      anything
 *   111111  + 16 bits      skip that many slots, plus one
 * Differences go through a zig-zag map first, so small negative ones stay small.
 */
#include "store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    unsigned width;
    uint64_t base;
} codes[] = {
    {0, 0}, {6, 1}, {12, 65}, {20, 4161}, {32, 1052737}, {64, 0},
};
#define LAST_CODE 5 /* the 64-bit one: its value is not offset */

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* ---- bits ----------------------------------------------------------------------------- */

static int put_bits(kt__chunk_t *c, uint64_t v, unsigned n)
{
    size_t need = (c->nbits + n + 7) / 8;
    if (need > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        while (cap < need)
            cap *= 2;
        uint8_t *d = realloc(c->data, cap);
        if (!d)
            return -1;
        memset(d + c->cap, 0, cap - c->cap);
        c->data = d;
        c->cap = cap;
    }
    for (unsigned i = n; i-- > 0;) {
        if ((v >> i) & 1)
            c->data[c->nbits / 8] |= (uint8_t)(0x80u >> (c->nbits % 8));
        c->nbits++;
    }
    return 0;
}

typedef struct {
    const uint8_t *data;
    size_t nbits, pos;
} reader_t;

/* Reads n bits; -1 when the stream is shorter. */
static int get_bits(reader_t *r, unsigned n, uint64_t *v)
{
    if (r->pos + n > r->nbits)
        return -1;
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++, r->pos++)
        x = (x << 1) | ((r->data[r->pos / 8] >> (7 - r->pos % 8)) & 1);
    *v = x;
    return 0;
}

static int put_code(kt__chunk_t *c, uint64_t v)
{
    for (unsigned k = 0; k < LAST_CODE; k++) {
        uint64_t span = codes[k].width ? (uint64_t)1 << codes[k].width : 1;
        if (v >= codes[k].base && v - codes[k].base < span)
            return put_bits(c, ((uint64_t)1 << (k + 1)) - 2, k + 1) ||
                   put_bits(c, v - codes[k].base, codes[k].width);
    }
    return put_bits(c, 0x3e, 6) || put_bits(c, v, 64);
}

/* A value (0) or a skip of *skip slots (1); -1 at the end or on a bad stream. */
static int get_code(reader_t *r, uint64_t *v, unsigned *skip)
{
    unsigned ones = 0;
    uint64_t bit;
    while (ones < 6) {
        if (get_bits(r, 1, &bit) != 0)
            return -1;
        if (!bit)
            break;
        ones++;
    }
    if (ones == 6) {
        if (get_bits(r, 16, &bit) != 0)
            return -1;
        *skip = (unsigned)bit + 1;
        return 1;
    }
    if (get_bits(r, codes[ones].width, v) != 0)
        return -1;
    *v += codes[ones].base;
    return 0;
}

/* ---- chunks --------------------------------------------------------------------------- */

void kt__chunk_start(kt__chunk_t *c, int64_t t0_ms, int64_t step_ms, unsigned nvals,
                     unsigned max_slots)
{
    c->t0_ms = t0_ms;
    c->max_slots = max_slots < KT__CHUNK_MAX_SLOTS ? max_slots : KT__CHUNK_MAX_SLOTS;
    c->step_ms = step_ms > 0 ? step_ms : 1;
    c->nvals = nvals;
    c->nslots = c->npoints = 0;
    c->nbits = 0;
    if (c->data)
        memset(c->data, 0, c->cap);
    c->prev = 0;
    c->dirty = 0;
}

void kt__chunk_free(kt__chunk_t *c)
{
    free(c->data);
    memset(c, 0, sizeof *c);
}

int64_t kt__chunk_end_ms(const kt__chunk_t *c)
{
    return c->npoints ? c->t0_ms + (int64_t)(c->nslots - 1) * c->step_ms : c->t0_ms;
}

int kt__chunk_append(kt__chunk_t *c, int64_t t_ms, const int64_t *q)
{
    int64_t offset = t_ms - c->t0_ms;
    if (offset < 0)
        return 1;
    /* The nearest slot: the cadence jitters by milliseconds, not by half a step. */
    uint64_t slot = (uint64_t)((offset + c->step_ms / 2) / c->step_ms);
    if (c->npoints && slot < c->nslots)
        slot = c->nslots; /* a late reading followed by an early one */
    /* Past the end, or after a long gap (kotod was down): a new chunk, so
     * what came before ages out with its own chunk. */
    if (slot >= c->max_slots || (c->npoints && slot > c->nslots + c->max_slots / 4))
        return 1;
    size_t mark = c->nbits;
    if (slot > c->nslots && put_bits(c, 0x3f, 6) == 0)
        put_bits(c, slot - c->nslots - 1, 16);
    int rc = put_code(c, zigzag(q[0] - c->prev));
    if (rc == 0 && c->nvals == 3) /* min and max as distances below and above the average */
        rc = put_code(c, q[1] < q[0] ? (uint64_t)(q[0] - q[1]) : 0) ||
             put_code(c, q[2] > q[0] ? (uint64_t)(q[2] - q[0]) : 0);
    if (rc != 0) {
        /* Out of memory: the chunk stays as it was. */
        for (size_t b = mark; b < c->nbits; b++)
            c->data[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
        c->nbits = mark;
        return -1;
    }
    c->prev = q[0];
    c->nslots = (unsigned)slot + 1;
    c->npoints++;
    c->dirty = 1;
    return 0;
}

unsigned kt__chunk_decode(const uint8_t *data, size_t nbytes, unsigned nvals, int64_t t0_ms,
                          int64_t step_ms, unsigned npoints, double scale, kt__point_t *out)
{
    reader_t r = {data, nbytes * 8, 0};
    int64_t prev = 0;
    uint64_t slot = 0;
    unsigned n = 0;
    while (n < npoints) {
        uint64_t v = 0;
        unsigned skip = 0;
        int kind = get_code(&r, &v, &skip);
        if (kind < 0)
            break;
        if (kind == 1) {
            slot += skip;
            continue;
        }
        int64_t avg = prev + unzigzag(v), lo = avg, hi = avg;
        if (nvals == 3) {
            uint64_t below, above;
            if (get_code(&r, &below, &skip) != 0 || get_code(&r, &above, &skip) != 0)
                break;
            lo = avg - (int64_t)below;
            hi = avg + (int64_t)above;
        }
        prev = avg;
        out[n].t_ms = t0_ms + (int64_t)slot * step_ms;
        out[n].avg = (double)avg * scale;
        out[n].min = (double)lo * scale;
        out[n].max = (double)hi * scale;
        n++;
        slot++;
    }
    return n;
}

int64_t kt__quantize(double v, double scale)
{
    double q = nearbyint(v / scale);
    const double limit = 4.6e18; /* within int64_t, with room for a difference */
    return q > limit ? (int64_t)limit : q < -limit ? -(int64_t)limit : (int64_t)q;
}
