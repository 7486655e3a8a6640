/*
 * parse_stat.c - /proc/stat: the aggregate and per-CPU time counters, boot
 * time, the run queue and blocked threads, and the context switch, fork and
 * interrupt counters.
 *
 * Kernels before 2.6 print four CPU columns, 2.6.0 seven, 2.6.11 eight; the
 * columns a kernel does not print stay unknown. guest and guest_nice are
 * already included in user and nice, so they are not read.
 */
#include "linux.h"

#include <string.h>

static void parse_cpu_fields(const char *p, kt__cpu_ticks_t *t)
{
    t->known = 0;
    for (int i = 0; i < KT__CPU_NFIELDS; i++) {
        if (kt__parse_u64(&p, &t->v[i]) != 0)
            break;
        t->known |= 1u << i;
    }
    /* Without idle there is no share to compute. */
    if (!(t->known & (1u << KT__CPU_IDLE)))
        t->known = 0;
}

static int starts_with(const char *p, const char *word)
{
    size_t n = strlen(word);
    return strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\t');
}

apr_status_t kt__parse_stat(const char *text, kt__stat_t *out, apr_pool_t *pool)
{
    memset(out, 0, sizeof *out);
    out->btime = out->procs_running = out->procs_blocked = out->ctxt = out->processes =
        out->intr = KT_UNKNOWN_U64;

    /* First pass: how many CPU slots to allocate. */
    unsigned ncores = 0;
    for (const char *p = text; *p; p = kt__next_line(p)) {
        uint64_t n;
        const char *q = p + 3;
        if (strncmp(p, "cpu", 3) == 0 && *q >= '0' && *q <= '9' && kt__parse_u64(&q, &n) == 0 &&
            n < KT__MAX_CPUS && n + 1 > ncores)
            ncores = (unsigned)n + 1;
    }
    out->ncores = ncores;
    out->cores = apr_pcalloc(pool, sizeof(kt__cpu_ticks_t) * (ncores ? ncores : 1));

    int found = 0;
    for (const char *p = text; *p; p = kt__next_line(p)) {
        if (starts_with(p, "cpu")) {
            parse_cpu_fields(p + 3, &out->total);
            found |= out->total.known != 0;
        } else if (strncmp(p, "cpu", 3) == 0) {
            const char *q = p + 3;
            uint64_t n;
            if (*q >= '0' && *q <= '9' && kt__parse_u64(&q, &n) == 0 && n < ncores) {
                parse_cpu_fields(q, &out->cores[n]);
                found = 1;
            }
        } else if (starts_with(p, "btime")) {
            const char *q = p + 5;
            found |= kt__parse_u64(&q, &out->btime) == 0;
        } else if (starts_with(p, "procs_running")) {
            const char *q = p + 13;
            found |= kt__parse_u64(&q, &out->procs_running) == 0;
        } else if (starts_with(p, "procs_blocked")) {
            const char *q = p + 13;
            found |= kt__parse_u64(&q, &out->procs_blocked) == 0;
        } else if (starts_with(p, "ctxt")) {
            const char *q = p + 4;
            found |= kt__parse_u64(&q, &out->ctxt) == 0;
        } else if (starts_with(p, "processes")) {
            const char *q = p + 9;
            found |= kt__parse_u64(&q, &out->processes) == 0;
        } else if (starts_with(p, "intr")) {
            const char *q = p + 4; /* the total; one count per interrupt line follows */
            found |= kt__parse_u64(&q, &out->intr) == 0;
        }
    }
    return found ? APR_SUCCESS : KT_EPARSE;
}
