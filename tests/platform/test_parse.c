/*
 * test_parse.c - the Linux backend's pure parsers, fed strings.
 *
 * Each parser gets the real shape of its file, the shapes older kernels
 * print, and hostile text (empty, truncated, overflowing, garbage). Both the
 * return code and every value are checked: a value the text does not give
 * must come back unknown, never 0.
 */
#include "kt_test_util.h"

#include "linux.h"

#include <stdio.h>
#include <string.h>

#define KIB(n) ((uint64_t)(n) * 1024u)
#define ALL_CPU_FIELDS ((1u << KT__CPU_NFIELDS) - 1)
#define OVERFLOW "99999999999999999999999" /* > UINT64_MAX */

/* ---- kt__parse_u64 --------------------------------------------------------- */

static void test_u64(void **state)
{
    (void)state;
    const char *p = "  \t18446744073709551615 rest";
    uint64_t v = 7;
    assert_int_equal(kt__parse_u64(&p, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_string_equal(p, " rest");

    /* One past UINT64_MAX overflows: failure, value and cursor untouched. */
    p = "18446744073709551616";
    v = 7;
    assert_int_equal(kt__parse_u64(&p, &v), -1);
    assert_int_equal(v, 7);
    assert_string_equal(p, "18446744073709551616");

    p = OVERFLOW;
    assert_int_equal(kt__parse_u64(&p, &v), -1);
    p = "";
    assert_int_equal(kt__parse_u64(&p, &v), -1);
    p = "-1";
    assert_int_equal(kt__parse_u64(&p, &v), -1);
    p = "\n5";
    assert_int_equal(kt__parse_u64(&p, &v), -1); /* never crosses a line */
}

/* ---- /proc/stat ------------------------------------------------------------ */

static const char real_stat[] =
    "cpu  1217 0 1315 157043 218 0 27 6 0 0\n"
    "cpu0 474 0 542 78871 6 0 9 1 0 0\n"
    "cpu1 743 0 773 78171 212 0 17 4 0 0\n"
    "intr 119326 0 0 0 0 0 0\n"
    "ctxt 259493\n"
    "btime 1795498072\n"
    "processes 4599\n"
    "procs_running 3\n"
    "procs_blocked 0\n"
    "softirq 88137 0 12408 4 689 33965 0 2 23328 0 17741\n";

static void test_stat_real(void **state)
{
    kt__stat_t st;
    assert_int_equal(kt__parse_stat(real_stat, &st, *state), APR_SUCCESS);
    const uint64_t total[] = {1217, 0, 1315, 157043, 218, 0, 27, 6};
    const uint64_t cpu1[] = {743, 0, 773, 78171, 212, 0, 17, 4};
    assert_int_equal(st.total.known, ALL_CPU_FIELDS);
    assert_memory_equal(st.total.v, total, sizeof total);
    assert_int_equal(st.ncores, 2);
    assert_int_equal(st.cores[0].known, ALL_CPU_FIELDS);
    assert_int_equal(st.cores[0].v[KT__CPU_USER], 474);
    assert_int_equal(st.cores[0].v[KT__CPU_IDLE], 78871);
    assert_int_equal(st.cores[1].known, ALL_CPU_FIELDS);
    assert_memory_equal(st.cores[1].v, cpu1, sizeof cpu1);
    assert_int_equal(st.btime, 1795498072);
    assert_int_equal(st.procs_running, 3);
    assert_int_equal(st.procs_blocked, 0); /* a real 0, not unknown */
    assert_int_equal(st.ctxt, 259493);
    assert_int_equal(st.processes, 4599);
    assert_int_equal(st.intr, 119326); /* the total, not the first interrupt's count */
}

static void test_stat_old_kernels(void **state)
{
    kt__stat_t st;
    /* Before 2.6: user nice system idle only; iowait and later stay unknown. */
    assert_int_equal(kt__parse_stat("cpu  100 1 50 1000\ncpu0 100 1 50 1000\n", &st, *state),
                     APR_SUCCESS);
    assert_int_equal(st.total.known, 0xFu);
    assert_int_equal(st.total.v[KT__CPU_IDLE], 1000);
    assert_false(st.total.known & (1u << KT__CPU_IOWAIT));
    assert_int_equal(st.cores[0].known, 0xFu);
    assert_unknown_u64(st.btime);
    assert_unknown_u64(st.procs_running);
    assert_unknown_u64(st.procs_blocked);

    /* 2.6.0 .. 2.6.10: seven columns, no steal. */
    assert_int_equal(kt__parse_stat("cpu 1 2 3 4 5 6 7\n", &st, *state), APR_SUCCESS);
    assert_int_equal(st.total.known, 0x7Fu);
    assert_int_equal(st.total.v[KT__CPU_SOFTIRQ], 7);
    assert_int_equal(st.ncores, 0);
}

static void test_stat_1024_cores(void **state)
{
    /* 1024 cpuN lines: one buffer big enough for all of them. */
    static char text[1024 * 48 + 64];
    size_t off = (size_t)snprintf(text, sizeof text, "cpu  %u 0 %u %u 0 0 0 0\n", 1024u * 10,
                                  1024u * 5, 1024u * 85);
    for (unsigned i = 0; i < 1024; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, "cpu%u %u 0 5 85 0 0 0 0\n", i,
                                10 + i);
    assert_true(off < sizeof text - 1);

    kt__stat_t st;
    assert_int_equal(kt__parse_stat(text, &st, *state), APR_SUCCESS);
    assert_int_equal(st.ncores, 1024);
    for (unsigned i = 0; i < 1024; i++) {
        assert_int_equal(st.cores[i].known, ALL_CPU_FIELDS);
        assert_int_equal(st.cores[i].v[KT__CPU_USER], 10 + i);
    }
    assert_int_equal(st.cores[1023].v[KT__CPU_IDLE], 85);
    assert_int_equal(st.total.v[KT__CPU_IDLE], 1024 * 85);
}

static void test_stat_gaps_and_limits(void **state)
{
    kt__stat_t st;
    /* Offline CPUs leave holes: cpu1 and cpu2 absent (known == 0). */
    assert_int_equal(kt__parse_stat("cpu0 1 0 1 8\ncpu3 1 0 1 8\n", &st, *state), APR_SUCCESS);
    assert_int_equal(st.ncores, 4);
    assert_int_equal(st.total.known, 0); /* no aggregate line */
    assert_int_not_equal(st.cores[0].known, 0);
    assert_int_equal(st.cores[1].known, 0);
    assert_int_equal(st.cores[2].known, 0);
    assert_int_not_equal(st.cores[3].known, 0);

    /* CPU numbers at or past KT__MAX_CPUS, or overflowing, are ignored. */
    assert_int_equal(kt__parse_stat("cpu0 1 0 1 8\ncpu8192 1 2 3 4\n"
                                    "cpu" OVERFLOW " 1 2 3 4\n",
                                    &st, *state),
                     APR_SUCCESS);
    assert_int_equal(st.ncores, 1);
    assert_int_equal(kt__parse_stat("cpu8191 1 2 3 4\n", &st, *state), APR_SUCCESS);
    assert_int_equal(st.ncores, 8192);
    assert_int_not_equal(st.cores[8191].known, 0);
}

static void test_stat_hostile(void **state)
{
    kt__stat_t st;
    assert_int_equal(kt__parse_stat("", &st, *state), KT_EPARSE);
    assert_int_equal(st.ncores, 0);
    assert_int_equal(st.total.known, 0);
    assert_int_equal(kt__parse_stat("garbage\n\n\n", &st, *state), KT_EPARSE);

    /* Fewer than four columns: no idle, so no share can be computed. */
    assert_int_equal(kt__parse_stat("cpu  1 2 3\n", &st, *state), KT_EPARSE);
    assert_int_equal(st.total.known, 0);

    /* An overflowing column ends the line; what came before is kept. */
    assert_int_equal(kt__parse_stat("cpu  " OVERFLOW " 1 2 3\n", &st, *state), KT_EPARSE);
    assert_int_equal(kt__parse_stat("cpu  1 2 3 4 " OVERFLOW " 6 7 8\n", &st, *state),
                     APR_SUCCESS);
    assert_int_equal(st.total.known, 0xFu);

    /* Keywords with a bad or missing value stay unknown; the line without a
     * newline at the end of the text still counts. */
    assert_int_equal(kt__parse_stat("btime " OVERFLOW "\nbtime\nprocs_running x\n"
                                    "procs_runningX 5\nprocs_blocked 4",
                                    &st, *state),
                     APR_SUCCESS);
    assert_unknown_u64(st.btime);
    assert_unknown_u64(st.procs_running);
    assert_int_equal(st.procs_blocked, 4);

    /* "cpuX", a bare "cpu", and words that merely start with "cpu". */
    assert_int_equal(kt__parse_stat("cpuX 1 2 3 4\ncpu\ncpufreq 1 2 3 4\n", &st, *state),
                     KT_EPARSE);
    assert_int_equal(st.ncores, 0);
}

/* ---- /proc/meminfo --------------------------------------------------------- */

static void test_meminfo_real(void **state)
{
    (void)state;
    kt__meminfo_t mi;
    assert_int_equal(kt__parse_meminfo("MemTotal:       24684092 kB\n"
                                       "MemFree:        24356372 kB\n"
                                       "MemAvailable:   24363636 kB\n"
                                       "Buffers:            1156 kB\n"
                                       "Cached:           194608 kB\n"
                                       "SwapCached:            0 kB\n"
                                       "SwapTotal:             0 kB\n"
                                       "SwapFree:              0 kB\n"
                                       "HugePages_Total:       0\n"
                                       "Hugepagesize:       2048 kB\n",
                                       &mi),
                     APR_SUCCESS);
    assert_int_equal(mi.total, KIB(24684092));
    assert_int_equal(mi.free, KIB(24356372));
    assert_int_equal(mi.available, KIB(24363636));
    assert_int_equal(mi.buffers, KIB(1156));
    assert_int_equal(mi.cached, KIB(194608)); /* not SwapCached */
    assert_int_equal(mi.swap_total, 0);
    assert_int_equal(mi.swap_free, 0);
}

static void test_meminfo_old_and_units(void **state)
{
    (void)state;
    kt__meminfo_t mi;
    /* Before 3.14 there is no MemAvailable: it stays unknown here (the
     * reader estimates it). A line without "kB" is taken as a count. */
    assert_int_equal(kt__parse_meminfo("MemTotal: 2000 kB\nMemFree: 500 kB\nBuffers: 7\n", &mi),
                     APR_SUCCESS);
    assert_int_equal(mi.total, KIB(2000));
    assert_int_equal(mi.free, KIB(500));
    assert_int_equal(mi.buffers, 7);
    assert_unknown_u64(mi.available);
    assert_unknown_u64(mi.cached);
    assert_unknown_u64(mi.swap_total);
    assert_unknown_u64(mi.swap_free);
}

static void test_meminfo_hostile(void **state)
{
    (void)state;
    kt__meminfo_t mi;
    assert_int_equal(kt__parse_meminfo("", &mi), KT_EPARSE);
    assert_unknown_u64(mi.total);
    assert_int_equal(kt__parse_meminfo("garbage\n: 5 kB\nMemTotalX: 5 kB\nMemTotal:\n"
                                       "MemFree: x kB\nXMemTotal: 5 kB\n",
                                       &mi),
                     KT_EPARSE);
    assert_unknown_u64(mi.total);
    assert_unknown_u64(mi.free);

    /* Overflow of the number itself, and of the kB -> bytes multiplication. */
    assert_int_equal(kt__parse_meminfo("MemTotal: " OVERFLOW " kB\n"
                                       "MemFree: 18014398509481984 kB\n"
                                       "Cached: 18014398509481983 kB\n",
                                       &mi),
                     APR_SUCCESS);
    assert_unknown_u64(mi.total);
    assert_unknown_u64(mi.free);
    assert_int_equal(mi.cached, UINT64_C(18014398509481983) * 1024);

    /* A line without a colon must not borrow the next line's colon. */
    assert_int_equal(kt__parse_meminfo("MemTotal 5 kB\nMemFree: 1 kB", &mi), APR_SUCCESS);
    assert_unknown_u64(mi.total);
    assert_int_equal(mi.free, 1024);
}

/* ---- /proc/loadavg, /proc/uptime, /proc/vmstat ------------------------------- */

static void test_loadavg(void **state)
{
    (void)state;
    kt__loadavg_t la;
    assert_int_equal(kt__parse_loadavg("0.02 1.50 12.25 1/83 4601\n", &la), APR_SUCCESS);
    assert_close(la.load[0], 0.02);
    assert_close(la.load[1], 1.5);
    assert_close(la.load[2], 12.25);
    assert_int_equal(la.runnable, 1);
    assert_int_equal(la.threads, 83);

    /* Truncated: what was read is kept. */
    assert_int_equal(kt__parse_loadavg("1.5 2.5", &la), APR_SUCCESS);
    assert_close(la.load[1], 2.5);
    assert_nan(la.load[2]);
    assert_unknown_u64(la.runnable);
    assert_unknown_u64(la.threads);

    assert_int_equal(kt__parse_loadavg("1 2 3 x/5 9\n", &la), APR_SUCCESS);
    assert_close(la.load[2], 3.0);
    assert_unknown_u64(la.threads);
    assert_int_equal(kt__parse_loadavg("1 2 3 1/" OVERFLOW " 9\n", &la), APR_SUCCESS);
    assert_unknown_u64(la.runnable);
    assert_unknown_u64(la.threads);
}

static void test_loadavg_hostile(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "\n", "garbage", "-1.0 2 3", "nan nan nan",
                                      "inf 1 1", "1e999 1 1", ". 1 1"};
    kt__loadavg_t la;
    for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
        assert_int_equal(kt__parse_loadavg(bad[i], &la), KT_EPARSE);
        assert_nan(la.load[0]);
        assert_nan(la.load[1]);
        assert_nan(la.load[2]);
    }
    /* A huge but finite load is still a number. */
    assert_int_equal(kt__parse_loadavg(OVERFLOW " 1 1", &la), APR_SUCCESS);
    assert_close(la.load[0], 1e23);
}

static void test_uptime(void **state)
{
    (void)state;
    double up;
    assert_int_equal(kt__parse_uptime("801.15 1570.43\n", &up), APR_SUCCESS);
    assert_close(up, 801.15);
    assert_int_equal(kt__parse_uptime("12", &up), APR_SUCCESS);
    assert_close(up, 12.0);
    static const char *const bad[] = {"", " ", "garbage 1", "-5.0 1", "nan", "infinity",
                                      "1e999 1"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
        up = 1;
        assert_int_equal(kt__parse_uptime(bad[i], &up), KT_EPARSE);
        assert_nan(up);
    }
}

static void test_vmstat(void **state)
{
    (void)state;
    uint64_t in, out;
    assert_int_equal(kt__parse_vmstat("nr_free_pages 1022157\npgpgin 5\npswpin 1000\n"
                                      "pswpout 2000\npgfault 7\n",
                                      &in, &out),
                     APR_SUCCESS);
    assert_int_equal(in, 1000);
    assert_int_equal(out, 2000);

    /* One of the two is enough; the other stays unknown. */
    assert_int_equal(kt__parse_vmstat("garbage\npswpin 10\npswpout x\n", &in, &out),
                     APR_SUCCESS);
    assert_int_equal(in, 10);
    assert_unknown_u64(out);

    assert_int_equal(kt__parse_vmstat("", &in, &out), KT_EPARSE);
    assert_int_equal(kt__parse_vmstat("pswpin " OVERFLOW "\npswpinx 3\nxpswpout 4\n", &in, &out),
                     KT_EPARSE);
    assert_unknown_u64(in);
    assert_unknown_u64(out);
}

/* ---- /proc/<pid>/stat ---------------------------------------------------------- */

static void test_pid_stat_real(void **state)
{
    (void)state;
    kt__pidstat_t ps;
    assert_int_equal(
        kt__parse_pid_stat("3700 (bash) S 3699 3700 3700 0 -1 4194560 2726 49037 0 43 0 2 "
                           "26 11 20 0 1 0 79429 5124096 961 18446744073709551615 "
                           "94833776635904 94833777425309 140729562385184 0 0 0 65536 4 "
                           "1132560123 1 0 0 17 1 0 0 0 0 0\n",
                           &ps),
        APR_SUCCESS);
    assert_int_equal(ps.pid, 3700);
    assert_int_equal(ps.ppid, 3699);
    assert_string_equal(ps.name, "bash");
    assert_int_equal(ps.state, 'S');
    assert_int_equal(ps.utime, 0);
    assert_int_equal(ps.stime, 2);
    assert_int_equal(ps.threads, 1);
    assert_int_equal(ps.starttime, 79429);
    assert_int_equal(ps.rss_pages, 961);
}

static void test_pid_stat_names(void **state)
{
    (void)state;
    kt__pidstat_t ps;
    /* The name runs to the LAST ')'. */
    assert_int_equal(kt__parse_pid_stat("4242 (a) (b) R 1 4242 1 0 -1 0 0 0 0 0 900 50 0 0 20 "
                                        "0 3 0 500 1000 77\n",
                                        &ps),
                     APR_SUCCESS);
    assert_string_equal(ps.name, "a) (b");
    assert_int_equal(ps.state, 'R');
    assert_int_equal(ps.ppid, 1);
    assert_int_equal(ps.utime, 900);
    assert_int_equal(ps.stime, 50);
    assert_int_equal(ps.threads, 3);
    assert_int_equal(ps.rss_pages, 77);

    /* Negative fields (an RT priority, a nice value) do not shift the rest. */
    assert_int_equal(kt__parse_pid_stat("9 (rt) S 2 0 0 0 -1 0 0 0 0 0 1 2 0 0 -51 -20 6 0 99 0 "
                                        "0\n",
                                        &ps),
                     APR_SUCCESS);
    assert_int_equal(ps.threads, 6);
    assert_int_equal(ps.starttime, 99);
    assert_int_equal(ps.rss_pages, 0);

    /* A 100-character name is cut to fit, NUL-terminated, and the fields
     * after it are still found. */
    char line[256], name[101];
    memset(name, 'n', 100);
    name[100] = '\0';
    name[0] = ')';
    snprintf(line, sizeof line, "77 (%s) S 1 0 0 0 -1 0 0 0 0 0 3 4 0 0 20 0 2 0 5 0 9\n", name);
    assert_int_equal(kt__parse_pid_stat(line, &ps), APR_SUCCESS);
    assert_int_equal(strlen(ps.name), KT__COMM_MAX - 1);
    assert_memory_equal(ps.name, name, KT__COMM_MAX - 1);
    assert_int_equal(ps.state, 'S');
    assert_int_equal(ps.utime, 3);
    assert_int_equal(ps.rss_pages, 9);
}

static void test_pid_stat_truncated(void **state)
{
    (void)state;
    kt__pidstat_t ps;
    /* Cut right after the name: the process is still listed, by pid and name. */
    assert_int_equal(kt__parse_pid_stat("4444 (sh)", &ps), APR_SUCCESS);
    assert_int_equal(ps.pid, 4444);
    assert_string_equal(ps.name, "sh");
    assert_int_equal(ps.state, '?');
    assert_int_equal(ps.ppid, -1);
    assert_unknown_u64(ps.utime);
    assert_unknown_u64(ps.stime);
    assert_unknown_u64(ps.threads);
    assert_unknown_u64(ps.starttime);
    assert_unknown_u64(ps.rss_pages);

    assert_int_equal(kt__parse_pid_stat("4444 (sh)  \n", &ps), APR_SUCCESS);
    assert_int_equal(ps.state, '?');

    /* No closing parenthesis, or only a pid. */
    assert_int_equal(kt__parse_pid_stat("4444 (sh", &ps), APR_SUCCESS);
    assert_int_equal(ps.pid, 4444);
    assert_string_equal(ps.name, "");
    assert_int_equal(ps.state, '?');
    assert_int_equal(kt__parse_pid_stat("4444", &ps), APR_SUCCESS);
    assert_int_equal(ps.pid, 4444);

    /* utime without stime would read as a drop in CPU time: both unknown. */
    assert_int_equal(kt__parse_pid_stat("5 (x) S 1 0 0 0 -1 0 0 0 0 0 50", &ps), APR_SUCCESS);
    assert_int_equal(ps.ppid, 1);
    assert_unknown_u64(ps.utime);
    assert_unknown_u64(ps.stime);

    /* An overflowing field ends the scan; earlier fields are kept. */
    assert_int_equal(kt__parse_pid_stat("5 (x) S 1 0 0 0 -1 0 0 0 0 0 " OVERFLOW " 5 0 0 20 0 "
                                        "1 0 1 0 1",
                                        &ps),
                     APR_SUCCESS);
    assert_int_equal(ps.ppid, 1);
    assert_unknown_u64(ps.utime);
    assert_unknown_u64(ps.threads);
    assert_unknown_u64(ps.rss_pages);
}

static void test_pid_stat_hostile(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "\n", "garbage", "(x) S 1", "-5 (x) S 1",
                                      OVERFLOW " (x) S 1", "9223372036854775808 (x) S 1"};
    kt__pidstat_t ps;
    for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
        assert_int_equal(kt__parse_pid_stat(bad[i], &ps), KT_EPARSE);
        assert_int_equal(ps.pid, -1);
        assert_string_equal(ps.name, "");
        assert_int_equal(ps.state, '?');
    }
    assert_int_equal(kt__parse_pid_stat("9223372036854775807 (x) Z 1", &ps), APR_SUCCESS);
    assert_int_equal(ps.pid, INT64_MAX);
    assert_int_equal(ps.state, 'Z');
}

/* ---- /proc/<pid>/mountinfo --------------------------------------------------------- */

static void test_mountinfo_real(void **state)
{
    kt__mount_t *m;
    unsigned n;
    assert_int_equal(
        kt__parse_mountinfo(
            "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
            "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
            "40 27 7:0 / /snap/core/1 ro shared:20 master:3 propagate_from:4 - squashfs "
            "/dev/loop0 ro\n",
            &m, &n, *state),
        APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].root, "/mnt1");
    assert_string_equal(m[0].mount_point, "/mnt2");
    assert_string_equal(m[0].fstype, "ext3");
    assert_string_equal(m[0].source, "/dev/root");
    assert_int_equal(m[0].major, 98);
    assert_int_equal(m[0].minor, 0);
    assert_string_equal(m[1].mount_point, "/"); /* no optional fields at all */
    assert_string_equal(m[1].fstype, "ext4");
    assert_int_equal(m[1].major, 254);
    assert_string_equal(m[2].mount_point, "/snap/core/1"); /* three optional fields */
    assert_string_equal(m[2].fstype, "squashfs");
    assert_string_equal(m[2].source, "/dev/loop0");
    assert_int_equal(m[2].minor, 0);
    /* Read-only: the mount's own flag, or the superblock's. */
    assert_false(m[0].readonly);
    assert_false(m[1].readonly);
    assert_true(m[2].readonly);
    assert_int_equal(kt__parse_mountinfo("1 0 8:1 / /a rw,relatime - ext4 /dev/sda1 ro,errors=x\n"
                                         "2 0 8:2 / /b rw,rox - ext4 /dev/sda2 rw,noro\n"
                                         "3 0 8:3 / /c nodev,ro - ext4 /dev/sda3\n",
                                         &m, &n, *state),
                     APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_true(m[0].readonly);
    assert_false(m[1].readonly); /* "rox" and "noro" are other options */
    assert_true(m[2].readonly);  /* no superblock options at all */
}

static void test_mountinfo_escapes(void **state)
{
    kt__mount_t *m;
    unsigned n;
    assert_int_equal(kt__parse_mountinfo("60 27 8:17 /a\\134b /mnt/my\\040disk rw shared:5 - "
                                         "ext4 /dev/disk\\011x rw\n"
                                         "61 27 8:18 / /nl\\012x rw - ext4 /dev/sdc rw\n"
                                         /* not escapes: too short, not octal, > \377 */
                                         "62 27 8:19 / /a\\04 rw - ext4 \\8x\\400 rw\n",
                                         &m, &n, *state),
                     APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].mount_point, "/mnt/my disk");
    assert_string_equal(m[0].root, "/a\\b");
    assert_string_equal(m[0].source, "/dev/disk\tx");
    assert_string_equal(m[1].mount_point, "/nl\nx");
    assert_string_equal(m[2].mount_point, "/a\\04");
    assert_string_equal(m[2].source, "\\8x\\400");
}

static void test_mountinfo_hostile(void **state)
{
    kt__mount_t *m;
    unsigned n = 9;
    assert_int_equal(kt__parse_mountinfo("", &m, &n, *state), KT_EPARSE);
    assert_int_equal(n, 0);
    assert_int_equal(kt__parse_mountinfo("garbage\n"
                                         "62 27 abc\n"
                                         "62 27 8:1\n"                      /* no root */
                                         "62 27 8:1 / /x rw shared:1\n"     /* no "-" */
                                         "62 27 8:1 / /x rw -\n"            /* no fstype */
                                         "62 27 8" OVERFLOW ":1 / /x rw - ext4 /dev/x rw\n"
                                         "\n",
                                         &m, &n, *state),
                     KT_EPARSE);
    assert_int_equal(n, 0);

    /* Good lines among bad ones are all found; a missing source reads "none". */
    assert_int_equal(kt__parse_mountinfo("junk\n63 27 8:33 / /nosource rw - ext4\njunk\n"
                                         "64 27 8:34 / /last rw - xfs /dev/sdd rw",
                                         &m, &n, *state),
                     APR_SUCCESS);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].mount_point, "/nosource");
    assert_string_equal(m[0].source, "none");
    assert_string_equal(m[1].mount_point, "/last");
    assert_string_equal(m[1].fstype, "xfs");
}

static void test_fs_is_pseudo(void **state)
{
    (void)state;
    static const struct {
        const char *fstype, *mount_point;
        int pseudo;
    } cases[] = {
        {"ext4", "/", 0},
        {"xfs", "/home", 0},
        {"btrfs", "/srv/bind", 0},
        {"overlay", "/", 0},         /* a container's own root holds its data */
        {"tmpfs", "/dev/shm", 0},    /* fills up for real */
        {"tmpfs", "/run", 0},
        {"ext4", "/devices", 0},     /* a prefix only counts at a path boundary */
        {"ext4", "/proc2", 0},
        {"proc", "/proc", 1},
        {"sysfs", "/sys", 1},
        {"cgroup2", "/sys/fs/cgroup", 1},
        {"cgroup", "/elsewhere", 1}, /* the type alone decides */
        {"devpts", "/dev/pts", 1},
        {"devtmpfs", "/dev", 1},
        {"tmpfs", "/dev", 1},
        {"tmpfs", "/dev/shm/x", 1},
        {"tmpfs", "/sys/fs/cgroup", 1},
        {"tmpfs", "/run/credentials/getty.service", 1},
        {"squashfs", "/snap/core/1", 1},
        {"overlay", "/var/lib/docker/overlay2/x/merged", 1},
        {"overlay", "/var/lib/containers/storage/overlay/x/merged", 1},
        {"tmpfs", "/var/lib/kubelet/pods/x/volumes/token", 1},
        {"nfs4", "/mnt/nas", 1},
        {"cifs", "/mnt/share", 1},
        {"fuse.sshfs", "/home/u/remote", 1},
        {"autofs", "/net", 1},
    };
    for (size_t i = 0; i < KT_ARRAY_SIZE(cases); i++) {
        if (kt__fs_is_pseudo(cases[i].fstype, cases[i].mount_point) != cases[i].pseudo) {
            print_error("kt__fs_is_pseudo(%s, %s) != %d\n", cases[i].fstype,
                        cases[i].mount_point, cases[i].pseudo);
            fail();
        }
    }
}

/* ---- /proc/net/dev ------------------------------------------------------------------ */

static const char real_netdev[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
    "errs drop fifo colls carrier compressed\n"
    "    lo:    3267      29    0    0    0     0          0         0     3267      29    0 "
    "   0    0     0       0          0\n"
    "  eth0: 21229116     582    1    2    0     0          0         0    29561     343    3"
    "    4    0     0       0          0\n";

static void test_netdev_real(void **state)
{
    kt__netdev_t *d;
    unsigned n;
    assert_int_equal(kt__parse_netdev(real_netdev, &d, &n, *state), APR_SUCCESS);
    assert_int_equal(n, 2); /* the two header lines are not interfaces */
    assert_string_equal(d[0].name, "lo");
    assert_int_equal(d[0].rx_bytes, 3267);
    assert_int_equal(d[0].tx_bytes, 3267);
    assert_string_equal(d[1].name, "eth0");
    assert_int_equal(d[1].rx_bytes, 21229116);
    assert_int_equal(d[1].rx_packets, 582);
    assert_int_equal(d[1].rx_errs, 1);
    assert_int_equal(d[1].rx_drop, 2);
    assert_int_equal(d[1].tx_bytes, 29561);
    assert_int_equal(d[1].tx_packets, 343);
    assert_int_equal(d[1].tx_errs, 3);
    assert_int_equal(d[1].tx_drop, 4);
}

static void test_netdev_hostile(void **state)
{
    kt__netdev_t *d;
    unsigned n = 9;
    assert_int_equal(kt__parse_netdev("", &d, &n, *state), KT_EPARSE);
    assert_int_equal(n, 0);
    assert_int_equal(kt__parse_netdev("garbage\n: 1 2 3\n   \n", &d, &n, *state), KT_EPARSE);

    /* A long name touches its numbers; a short line leaves the rest unknown;
     * an overflowing first number leaves everything unknown. */
    assert_int_equal(kt__parse_netdev("garbage\n"
                                      "enp0s31f6:123 1 2 3 0 0 0 0 456 4 5 6 0 0 0 0\n"
                                      " short: 77 1\n"
                                      "  big: " OVERFLOW " 1 2 3\n"
                                      "wlan0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
                                      &d, &n, *state),
                     APR_SUCCESS);
    assert_int_equal(n, 4);
    assert_string_equal(d[0].name, "enp0s31f6");
    assert_int_equal(d[0].rx_bytes, 123);
    assert_int_equal(d[0].rx_packets, 1);
    assert_int_equal(d[0].rx_drop, 3);
    assert_int_equal(d[0].tx_bytes, 456);
    assert_int_equal(d[0].tx_drop, 6);
    assert_string_equal(d[1].name, "short");
    assert_int_equal(d[1].rx_bytes, 77);
    assert_int_equal(d[1].rx_packets, 1);
    assert_unknown_u64(d[1].rx_errs);
    assert_unknown_u64(d[1].tx_bytes);
    assert_unknown_u64(d[1].tx_drop);
    assert_string_equal(d[2].name, "big");
    assert_unknown_u64(d[2].rx_bytes);
    assert_unknown_u64(d[2].tx_bytes);
    assert_string_equal(d[3].name, "wlan0");
    assert_int_equal(d[3].tx_bytes, 9);
    assert_int_equal(d[3].tx_drop, 12);
}

/* ---- /proc/diskstats ------------------------------------------------------------------ */

static void test_diskstats(void **state)
{
    kt__diskstat_t *d;
    unsigned n;
    assert_int_equal(
        kt__parse_diskstats(
            " 254       0 vda 30239 6325 2445570 8522 5713 6009 455192 1221 0 2928 9980 4194 "
            "55 113584 211 662 25\n"
            "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
            /* 2.6 kernels: the eleven classic fields only */
            "   8      16 sdb 100 0 2000 0 50 0 1000 0 0 100 200\n",
            &d, &n, *state),
        APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_string_equal(d[0].name, "vda");
    assert_int_equal(d[0].major, 254);
    assert_int_equal(d[0].minor, 0);
    assert_int_equal(d[0].reads, 30239);
    assert_int_equal(d[0].read_sectors, 2445570);
    assert_int_equal(d[0].writes, 5713);
    assert_int_equal(d[0].write_sectors, 455192);
    assert_int_equal(d[0].io_ms, 2928);
    assert_int_equal(d[0].weighted_ms, 9980);
    assert_int_equal(d[0].reads_merged, 6325);
    assert_int_equal(d[0].read_ms, 8522);
    assert_int_equal(d[0].writes_merged, 6009);
    assert_int_equal(d[0].write_ms, 1221);
    assert_int_equal(d[0].in_flight, 0);
    assert_string_equal(d[1].name, "loop0");
    assert_int_equal(d[1].reads, 0);
    assert_string_equal(d[2].name, "sdb");
    assert_int_equal(d[2].minor, 16);
    assert_int_equal(d[2].io_ms, 100);
    assert_int_equal(d[2].weighted_ms, 200);
}

static void test_diskstats_hostile(void **state)
{
    kt__diskstat_t *d;
    unsigned n = 9;
    assert_int_equal(kt__parse_diskstats("", &d, &n, *state), KT_EPARSE);
    assert_int_equal(n, 0);
    assert_int_equal(kt__parse_diskstats("garbage\n 254 0\n 254\n\n", &d, &n, *state),
                     KT_EPARSE);
    assert_int_equal(kt__parse_diskstats("x\n   8 1 sda1 1 2\n   8 0 sda 5 0 " OVERFLOW " 1 2\n",
                                         &d, &n, *state),
                     APR_SUCCESS);
    assert_int_equal(n, 2);
    assert_string_equal(d[0].name, "sda1");
    assert_int_equal(d[0].reads, 1);
    assert_unknown_u64(d[0].read_sectors);
    assert_unknown_u64(d[0].writes);
    assert_unknown_u64(d[0].io_ms);
    assert_unknown_u64(d[0].in_flight);
    assert_int_equal(d[0].reads_merged, 2);
    assert_unknown_u64(d[0].read_ms);
    assert_string_equal(d[1].name, "sda");
    assert_int_equal(d[1].reads, 5);
    assert_unknown_u64(d[1].read_sectors);
    assert_unknown_u64(d[1].weighted_ms);
}

/* ---- name/value tables: /proc/meminfo, /proc/vmstat ------------------------------ */

static void test_fields_meminfo(void **state)
{
    kt_field_t *f;
    unsigned n;
    assert_int_equal(kt__parse_fields("MemTotal:       16000000 kB\n"
                                      "Active(anon):    1000 kB\n"
                                      "HugePages_Total:       0\n"
                                      "Hugepagesize:       2048 kB\n",
                                      &f, &n, *state),
                     APR_SUCCESS);
    assert_int_equal(n, 4);
    assert_string_equal(f[0].name, "MemTotal");
    assert_true(f[0].value == KIB(16000000) && f[0].bytes);
    assert_string_equal(f[1].name, "Active(anon)"); /* the kernel's name, as it is */
    assert_true(f[1].value == KIB(1000) && f[1].bytes);
    assert_string_equal(f[2].name, "HugePages_Total");
    assert_true(f[2].value == 0 && !f[2].bytes); /* a count: no unit */
    assert_string_equal(f[3].name, "Hugepagesize");
    assert_true(f[3].value == KIB(2048));
}

static void test_fields_vmstat(void **state)
{
    kt_field_t *f;
    unsigned n;
    assert_int_equal(
        kt__parse_fields("nr_free_pages 1022157\npgmajfault 42\noom_kill 0\n", &f, &n, *state),
        APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_string_equal(f[1].name, "pgmajfault");
    assert_true(f[1].value == 42 && !f[1].bytes);
    assert_string_equal(f[2].name, "oom_kill");
    assert_int_equal(f[2].value, 0);
}

static void test_fields_hostile(void **state)
{
    kt_field_t *f;
    unsigned n = 9;
    assert_int_equal(kt__parse_fields("", &f, &n, *state), KT_EPARSE);
    assert_int_equal(n, 0);
    /* Skipped: no number, overflow, overflow once in bytes, an unknown unit,
     * garbage after the number, a name alone, no name. Kept: the good line. */
    assert_int_equal(kt__parse_fields("Foo:\nBar: " OVERFLOW " kB\n"
                                      "Big: 18014398509481984 kB\nOdd: 12 MB\nX 12x\n"
                                      "name\n: 5\nGood: 7 kB\n",
                                      &f, &n, *state),
                     APR_SUCCESS);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].name, "Good");
    assert_true(f[0].value == KIB(7));
    /* No final newline. */
    assert_int_equal(kt__parse_fields("pgfault 3", &f, &n, *state), APR_SUCCESS);
    assert_true(n == 1 && f[0].value == 3);
}

/* ---- /proc/pressure ---------------------------------------------------------------- */

static void test_psi(void **state)
{
    (void)state;
    kt_psi_t p;
    assert_int_equal(kt__parse_psi("some avg10=1.50 avg60=23.00 avg300=0.01 total=123456789\n"
                                   "full avg10=0.00 avg60=7.25 avg300=0.00 total=4567\n",
                                   &p),
                     APR_SUCCESS);
    assert_close(p.some_avg10_pct, 1.5);
    assert_close(p.some_avg60_pct, 23.0);
    assert_close(p.some_avg300_pct, 0.01);
    assert_int_equal(p.some_total_us, 123456789);
    assert_close(p.full_avg10_pct, 0.0); /* a real 0 */
    assert_close(p.full_avg60_pct, 7.25);
    assert_int_equal(p.full_total_us, 4567);

    /* cpu before Linux 5.13: "some" only; full stays unknown. */
    assert_int_equal(kt__parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n", &p),
                     APR_SUCCESS);
    assert_int_equal(p.some_total_us, 5);
    assert_nan(p.full_avg10_pct);
    assert_unknown_u64(p.full_total_us);
}

static void test_psi_hostile(void **state)
{
    (void)state;
    kt_psi_t p;
    assert_int_equal(kt__parse_psi("", &p), KT_EPARSE);
    assert_int_equal(kt__parse_psi("garbage\nsome\nfull x=1\n", &p), KT_EPARSE);
    assert_nan(p.some_avg10_pct);
    assert_unknown_u64(p.some_total_us);
    /* Bad values stay unknown, the good ones are kept; a share above 100 %
     * and a key that merely ends like another are not read. */
    assert_int_equal(kt__parse_psi("some avg10=nan avg60=150 xavg300=3 avg300=2.5 total=" OVERFLOW
                                   "\nfull avg10=-1 total=9\n",
                                   &p),
                     APR_SUCCESS);
    assert_nan(p.some_avg10_pct);
    assert_nan(p.some_avg60_pct);
    assert_close(p.some_avg300_pct, 2.5);
    assert_unknown_u64(p.some_total_us);
    assert_nan(p.full_avg10_pct);
    assert_int_equal(p.full_total_us, 9);
}

/* ---- os-release ---------------------------------------------------------------------- */

static void test_os_release(void **state)
{
    kt_os_release_t o;
    assert_int_equal(kt__parse_os_release("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                                          "NAME=\"Debian GNU/Linux\"\n"
                                          "VERSION_ID=\"12\"\n"
                                          "# a comment=1\n"
                                          "ID=debian\n"
                                          "ID_LIKE='rhel fedora'\n"
                                          "VARIANT=\"say \\\"hi\\\" \\$x\"\n"
                                          "HOME_URL=\"https://www.debian.org/\"\n"
                                          "BUILD_ID=rolling   \n",
                                          &o, *state),
                     APR_SUCCESS);
    assert_true(o.known);
    assert_string_equal(o.pretty_name, "Debian GNU/Linux 12 (bookworm)");
    assert_string_equal(o.name, "Debian GNU/Linux");
    assert_string_equal(o.version_id, "12");
    assert_string_equal(o.id, "debian");
    assert_string_equal(o.id_like, "rhel fedora");
    assert_string_equal(o.variant, "say \"hi\" $x");
    assert_string_equal(o.build_id, "rolling");
    assert_null(o.version); /* not in the file */
    assert_null(o.image_id);

    assert_int_equal(kt__parse_os_release("", &o, *state), KT_EPARSE);
    assert_false(o.known);
    assert_int_equal(kt__parse_os_release("garbage\n=x\nOTHER=1\nNAME=\"open", &o, *state),
                     APR_SUCCESS);
    assert_string_equal(o.name, "open"); /* an unclosed quote ends with the line */
}

int main(void)
{
    apr_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),
        cmocka_unit_test_setup_teardown(test_stat_real, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_stat_old_kernels, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_stat_1024_cores, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_stat_gaps_and_limits, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_stat_hostile, setup_pool, teardown_pool),
        cmocka_unit_test(test_meminfo_real),
        cmocka_unit_test(test_meminfo_old_and_units),
        cmocka_unit_test(test_meminfo_hostile),
        cmocka_unit_test(test_loadavg),
        cmocka_unit_test(test_loadavg_hostile),
        cmocka_unit_test(test_uptime),
        cmocka_unit_test(test_vmstat),
        cmocka_unit_test(test_pid_stat_real),
        cmocka_unit_test(test_pid_stat_names),
        cmocka_unit_test(test_pid_stat_truncated),
        cmocka_unit_test(test_pid_stat_hostile),
        cmocka_unit_test_setup_teardown(test_mountinfo_real, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_mountinfo_escapes, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_mountinfo_hostile, setup_pool, teardown_pool),
        cmocka_unit_test(test_fs_is_pseudo),
        cmocka_unit_test_setup_teardown(test_netdev_real, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_netdev_hostile, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_diskstats, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_diskstats_hostile, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_fields_meminfo, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_fields_vmstat, setup_pool, teardown_pool),
        cmocka_unit_test_setup_teardown(test_fields_hostile, setup_pool, teardown_pool),
        cmocka_unit_test(test_psi),
        cmocka_unit_test(test_psi_hostile),
        cmocka_unit_test_setup_teardown(test_os_release, setup_pool, teardown_pool),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return failed;
}
