/*
 * fuzz_procfs.c - libFuzzer target: bytes as one procfs file through its
 * parser (platform/linux/parse_*.c). The build makes one target per file,
 * the parser named by KT_FUZZ_PROCFS, so each keeps a corpus of its own:
 *   fuzz_proc_stat       /proc/stat            kt__parse_stat
 *   fuzz_proc_meminfo    /proc/meminfo         kt__parse_meminfo
 *   fuzz_proc_pid_stat   /proc/<pid>/stat      kt__parse_pid_stat
 *   fuzz_proc_mountinfo  /proc/<pid>/mountinfo kt__parse_mountinfo
 *   fuzz_proc_diskstats  /proc/diskstats       kt__parse_diskstats
 *   fuzz_proc_netdev     /proc/net/dev         kt__parse_netdev
 *   fuzz_proc_misc       loadavg, uptime, vmstat, the name/value tables of meminfo
 *                        and vmstat, pressure and os-release: the same bytes to each
 *
 * The input reaches the parser as kt__slurp hands a file over: copied into
 * a buffer of exactly its size plus the NUL (so ASan sees any read past
 * it); an embedded NUL ends the text there, as it would in the daemon.
 * Besides not crashing, each result must hold what linux.h promises: no
 * more entries than lines, names where a name is due, KT_EPARSE exactly
 * when nothing was usable, and each half-read value unknown rather than
 * made up.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static unsigned count_lines(const char *text)
{
    unsigned n = 0;
    for (const char *p = text; *p; p = kt__next_line(p))
        n++;
    return n;
}

/* A parsed name: non-empty, within the text, without the separators that end it. */
static void check_name(const char *name, const char *text, const char *stops)
{
    CHECK(name && *name);
    CHECK(strlen(name) <= strlen(text));
    CHECK(strpbrk(name, stops) == NULL);
}

/* The columns a line had are known from the first one on, without gaps,
 * and idle is among them or the CPU counts as absent. */
static void check_ticks(const kt__cpu_ticks_t *t)
{
    CHECK(t->known == 0 || (t->known & (1u << KT__CPU_IDLE)));
    CHECK((t->known & (t->known + 1)) == 0); /* 0b0..01..1 */
    CHECK(t->known < (1u << KT__CPU_NFIELDS));
}

static void fuzz_stat(const char *text, apr_pool_t *pool)
{
    kt__stat_t st;
    apr_status_t rv = kt__parse_stat(text, &st, pool);
    CHECK(rv == APR_SUCCESS || rv == KT_EPARSE);
    CHECK(st.ncores <= KT__MAX_CPUS);
    check_ticks(&st.total);
    unsigned present = 0;
    for (unsigned i = 0; i < st.ncores; i++) {
        check_ticks(&st.cores[i]);
        present += st.cores[i].known != 0;
    }
    CHECK(present <= count_lines(text));
    if (rv == KT_EPARSE)
        CHECK(st.total.known == 0 && !kt_known_u64(st.btime) && !kt_known_u64(st.procs_running) &&
              !kt_known_u64(st.procs_blocked));
}

static void fuzz_meminfo(const char *text, apr_pool_t *pool)
{
    kt__meminfo_t m;
    apr_status_t rv = kt__parse_meminfo(text, &m);
    CHECK(rv == APR_SUCCESS || rv == KT_EPARSE);
    int any = kt_known_u64(m.total) || kt_known_u64(m.free) || kt_known_u64(m.available) ||
              kt_known_u64(m.buffers) || kt_known_u64(m.cached) || kt_known_u64(m.swap_total) ||
              kt_known_u64(m.swap_free);
    /* UINT64_MAX itself reads as a value but stores as "unknown". */
    CHECK(rv == APR_SUCCESS || !any);
}

static void fuzz_pid_stat(const char *text, apr_pool_t *pool)
{
    kt__pidstat_t ps;
    apr_status_t rv = kt__parse_pid_stat(text, &ps);
    CHECK(rv == APR_SUCCESS || rv == KT_EPARSE);
    CHECK(memchr(ps.name, '\0', sizeof ps.name) != NULL);
    CHECK(rv == KT_EPARSE ? ps.pid == -1 : ps.pid >= 0);
    CHECK(ps.ppid >= -1);
    CHECK(kt_known_u64(ps.utime) == kt_known_u64(ps.stime));
}

static void fuzz_mountinfo(const char *text, apr_pool_t *pool)
{
    kt__mount_t *m;
    unsigned n;
    apr_status_t rv = kt__parse_mountinfo(text, &m, &n, pool);
    CHECK((rv == APR_SUCCESS) == (n > 0) && (rv == APR_SUCCESS || rv == KT_EPARSE));
    CHECK(n <= count_lines(text));
    for (unsigned i = 0; i < n; i++) {
        /* Decoded \ooo escapes only shorten a word (\000 may empty it, \040
         * put a blank in it); the source defaults to "none". */
        CHECK(m[i].root && m[i].mount_point && m[i].fstype && m[i].source);
        CHECK(strlen(m[i].root) <= strlen(text) && strlen(m[i].mount_point) <= strlen(text) &&
              strlen(m[i].fstype) <= strlen(text) && strlen(m[i].source) <= strlen(text));
        (void)kt__fs_is_pseudo(m[i].fstype, m[i].mount_point);
    }
}

static void fuzz_diskstats(const char *text, apr_pool_t *pool)
{
    kt__diskstat_t *d;
    unsigned n;
    apr_status_t rv = kt__parse_diskstats(text, &d, &n, pool);
    CHECK((rv == APR_SUCCESS) == (n > 0) && (rv == APR_SUCCESS || rv == KT_EPARSE));
    CHECK(n <= count_lines(text));
    for (unsigned i = 0; i < n; i++)
        check_name(d[i].name, text, " \n");
}

static void fuzz_netdev(const char *text, apr_pool_t *pool)
{
    kt__netdev_t *d;
    unsigned n;
    apr_status_t rv = kt__parse_netdev(text, &d, &n, pool);
    CHECK((rv == APR_SUCCESS) == (n > 0) && (rv == APR_SUCCESS || rv == KT_EPARSE));
    CHECK(n <= count_lines(text));
    for (unsigned i = 0; i < n; i++) {
        check_name(d[i].name, text, ":\n");
        CHECK(d[i].name[0] != ' ');
    }
}

/* A load or an uptime is a finite number >= 0, or unknown. */
static int plain_number(double v) { return isnan(v) || (isfinite(v) && v >= 0); }

static void fuzz_misc(const char *text, apr_pool_t *pool)
{
    kt__loadavg_t la;
    apr_status_t rv = kt__parse_loadavg(text, &la);
    CHECK(rv == APR_SUCCESS || rv == KT_EPARSE);
    CHECK(rv == APR_SUCCESS || isnan(la.load[0]));
    for (int i = 0; i < 3; i++)
        CHECK(plain_number(la.load[i]));
    CHECK(kt_known_u64(la.runnable) == kt_known_u64(la.threads));

    double up;
    rv = kt__parse_uptime(text, &up);
    CHECK(plain_number(up) && (rv == APR_SUCCESS) == !isnan(up));

    uint64_t in, out;
    rv = kt__parse_vmstat(text, &in, &out);
    CHECK((rv == APR_SUCCESS) == (kt_known_u64(in) || kt_known_u64(out)));

    /* Every named line of a table: no more of them than lines, each named. */
    kt_field_t *f;
    unsigned n = 0, lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    if (kt__parse_fields(text, &f, &n, pool) == APR_SUCCESS) {
        CHECK(n <= lines);
        for (unsigned i = 0; i < n; i++)
            CHECK(f[i].name && f[i].name[0] && !strchr(f[i].name, '\n'));
    }

    /* Pressure: shares of time, so 0..100 or unknown. */
    kt_psi_t psi;
    kt__parse_psi(text, &psi);
    const double shares[] = {psi.some_avg10_pct, psi.some_avg60_pct, psi.some_avg300_pct,
                             psi.full_avg10_pct, psi.full_avg60_pct, psi.full_avg300_pct};
    for (size_t i = 0; i < KT_ARRAY_SIZE(shares); i++)
        CHECK(isnan(shares[i]) || (shares[i] >= 0 && shares[i] <= 100));

    /* os-release: whatever it takes, the strings are whole C strings. */
    kt_os_release_t os;
    memset(&os, 0, sizeof os);
    if (kt__parse_os_release(text, &os, pool) == APR_SUCCESS && os.pretty_name)
        CHECK(strlen(os.pretty_name) <= strlen(text));
}

static const struct {
    const char *name;
    void (*fuzz)(const char *text, apr_pool_t *pool);
} parsers[] = {
    {"stat", fuzz_stat},
    {"meminfo", fuzz_meminfo},
    {"pid_stat", fuzz_pid_stat},
    {"mountinfo", fuzz_mountinfo},
    {"diskstats", fuzz_diskstats},
    {"netdev", fuzz_netdev},
    {"misc", fuzz_misc},
};

static apr_pool_t *root;
static void (*parse)(const char *text, apr_pool_t *pool);

static void fini(void)
{
    apr_pool_destroy(root);
    apr_terminate();
}

static void init(void)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(parsers); i++)
        if (strcmp(parsers[i].name, KT_FUZZ_PROCFS) == 0)
            parse = parsers[i].fuzz;
    if (!parse)
        abort(); /* the build named a parser this file does not have */
    apr_initialize();
    atexit(fini);
    apr_pool_create(&root, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!parse)
        init();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    apr_pool_t *p;
    apr_pool_create(&p, root);
    parse(text, p);
    apr_pool_destroy(p);
    free(text);
    return 0;
}
