/*
 * test_templates.c - the shipped fix-script templates (lua/templates/)
 * through the rules engine: the listing, every parameter check, the quoting
 * of hostile values in both dialects, the generated Bash run for real in
 * --dry-run mode (checked with bash -n and shellcheck), a real stop of a
 * child of ours, the root check, and saving scripts.
 *
 * Scripts run under a fresh temporary working directory each; a payload
 * that executed would leave a file named x or pwned behind. Run as root,
 * the test runs them as nobody (setpriv), except the dry and real runs
 * aimed at a child of its own.
 *
 * Built for Windows too (tests/windows, run under Wine): there everything
 * but running programs is the same (listing, parameter checks, the quoting
 * of hostile values in both dialects, the PowerShell frame, saving); the
 * Bash scripts are checked as text only, since running them needs bash,
 * setpriv, shellcheck and fork, and each test that would run one says so.
 * Links, FIFOs and DACLs of saved files on Windows are
 * tests/windows/test_win_files.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#ifndef _WIN32
#include <poll.h>
#include <sys/wait.h>
#endif

#include <apr_file_io.h>
#include <apr_general.h>

#include "kt_rules.h"

#define RUN_TIMEOUT_S 60

#ifdef _WIN32
/* Nothing is run on Windows: see the top of this file. */
#define CAN_RUN_BASH 0
#define NO_BASH "Windows: the generated Bash is checked as text only (running it needs bash, " \
                "fork and setpriv, which the Linux build of this test has)"
#define O_CLOEXEC 0
#define realpath(path, resolved) _fullpath((resolved), (path), PATH_MAX)
#define mkdir(path, mode) mkdir(path)
#else
#define CAN_RUN_BASH 1
#define NO_BASH ""
#define O_BINARY 0
#endif

static kt_rules_t *rules;
static char base[256];           /* the test's temporary directory, resolved */
static int had_tmp_x, had_tmp_pwned;
static unsigned seq;
/* Root runs every script but the one aimed at our own child as nobody, so a
 * template acting outside run() cannot harm the machine running the tests;
 * and only once --dry-run has been seen to leave that child alone. */
static int drop_to_nobody, dry_run_proven;

static const char *const template_names[] = {
    "cpu_high", "disk_full", "disk_health", "memory_high", "process_memory_high",
    "service_restart",
};

/* Values a request might carry to break out of a script. */
static const char *const hostile[] = {
    "$(touch x)",
    "`touch x`",
    "'; touch pwned; '",
    "'\"'\"'; touch pwned; #",
    "\"; touch pwned; \"",
    "a\ntouch pwned\n",
    "\ntouch pwned",
    "; touch pwned",
    "&& touch pwned",
    "| touch pwned",
    "$HOME",
    "${IFS}touch${IFS}pwned",
    "$(New-Item -ItemType File pwned)",
    "`$(New-Item pwned)",
    "a`'; New-Item pwned; #",
    "\xe2\x80\x98; touch pwned; \xe2\x80\x99",          /* ‘; touch pwned; ’ */
    "\xe2\x80\x99",                                     /* ’ */
    "\xe2\x80\x9a touch pwned \xe2\x80\x9b",            /* ‚ touch pwned ‛ */
    "\xe2\x80\x9c; touch pwned; \xe2\x80\x9d",          /* “; touch pwned; ” */
    "\xd1\x91; touch pwned",                            /* ё: D1 91, cp1252 0x91 is ‘ */
    "",
    "*",
    "~",
    "-rf",
    "--help",
    "\\'; touch pwned; \\'",
};

/* What would show that a payload ran, or that a value leaked out of its literal. */
static const char *const markers[] = {"touch", "pwned", "HOME", "New-Item"};

/* ---- small helpers ---------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_BINARY, mode);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    chmod(path, mode);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf_t b = {0};
    char chunk[4096];
    size_t n;
    buf_add(&b, "", 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    return b.p;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = hay; len && (p = strstr(p, needle)); p += len)
        n++;
    return n;
}

/* A new empty directory under base, open to the unprivileged scripts. */
static char *fresh_dir(const char *prefix)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s%u", base, prefix, ++seq);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(chmod(path, 0755), 0);
    return xstrdup(path);
}

static int is_empty_dir(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

static char found_payload[PATH_MAX];
static int find_payload(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    const char *name = path + ftw->base;
    if (strcmp(name, "x") == 0 || strcmp(name, "pwned") == 0) {
        snprintf(found_payload, sizeof found_payload, "%s", path);
        return 1;
    }
    return 0;
}

/* No payload left a file behind: nowhere under base, nor in /tmp. */
static void assert_no_payload_ran(void)
{
    found_payload[0] = '\0';
    nftw(base, find_payload, 16, FTW_PHYS);
    if (found_payload[0])
        fail_msg("a payload ran: %s exists", found_payload);
    struct stat st;
    if (!had_tmp_x && stat("/tmp/x", &st) == 0)
        fail_msg("a payload ran: /tmp/x exists");
    if (!had_tmp_pwned && stat("/tmp/pwned", &st) == 0)
        fail_msg("a payload ran: /tmp/pwned exists");
}

/* ---- running programs ------------------------------------------------------------------------- */

typedef struct {
    int rc;   /* exit code, or 128 + signal */
    char *out, *err;
} run_t;

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

#ifndef _WIN32
/* Runs argv in cwd, stdin from /dev/null, and collects its output; kills
 * its process group after RUN_TIMEOUT_S. */
static run_t run_argv(char *const argv[], const char *cwd)
{
    int po[2], pe[2];
    assert_int_equal(pipe2(po, O_CLOEXEC), 0);
    assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        if (cwd && chdir(cwd) != 0)
            _exit(125);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    buf_t out = {0}, err = {0};
    buf_add(&out, "", 0);
    buf_add(&err, "", 0);
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    time_t deadline = time(NULL) + RUN_TIMEOUT_S;
    int open_fds = 2, killed = 0;
    while (open_fds) {
        int left = (int)(deadline - time(NULL));
        if (left <= 0 || poll(fds, 2, left * 1000) == 0) {
            kill(-pid, SIGKILL);
            killed = 1;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                buf_add(i ? &err : &out, chunk, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (killed)
        fail_msg("%s timed out after %d s; output so far:\n%s\n%s", argv[1] ? argv[1] : argv[0],
                 RUN_TIMEOUT_S, out.p, err.p);
    run_t r = {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out.p, err.p};
    return r;
}

static int have_program(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}
#else
/* Windows: no program is ever run (every caller checks CAN_RUN_BASH first). */
static run_t run_argv(char *const argv[], const char *cwd)
{
    fail_msg("%s: this test runs programs on Linux only", argv[0]);
    run_t r = {127, NULL, NULL};
    return r;
}

static int have_program(const char *name) { return 0; }
#endif

/* bash's printf %q of value: how run() prints it in "would run:" lines. */
static char *bash_q(const char *value)
{
    char *argv[] = {"bash", "-c", "printf %q \"$1\"", "_", (char *)value, NULL};
    run_t r = run_argv(argv, base);
    assert_int_equal(r.rc, 0);
    free(r.err);
    return r.out;
}

/* Exit 0, or 1 with a message of the script's own: never bash's errors. */
static void assert_clean_exit(const run_t *r, const char *what)
{
    static const char *const bash_errors[] = {"syntax error", "command not found",
                                              "unbound variable", "bad substitution",
                                              "unexpected", ": line "};
    if (r->rc != 0 && !(r->rc == 1 && r->err[0]))
        fail_msg("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r->rc, r->out, r->err);
    for (size_t i = 0; i < sizeof bash_errors / sizeof bash_errors[0]; i++)
        if (strstr(r->err, bash_errors[i]))
            fail_msg("%s: bash complained (%s):\n%s", what, bash_errors[i], r->err);
}

/* Writes script as a file under dir; returns its path. */
static char *save_tmp(const char *dir, const char *stem, const char *script)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s-%u.sh", dir, stem, ++seq);
    write_file(path, script, 0644);
    return xstrdup(path);
}

static void assert_bash_n(const char *path)
{
    char *argv[] = {"bash", "-n", (char *)path, NULL};
    run_t r = run_argv(argv, base);
    if (r.rc != 0)
        fail_msg("bash -n %s:\n%s", path, r.err);
    run_free(&r);
}

/* Runs `bash path --dry-run` in a fresh working directory that must still
 * be empty afterwards; as nobody when the test is root. own_child: the
 * script is aimed at a child of ours only, and runs as we do (and, with
 * dry_run 0, for real). */
static run_t run_script_as(const char *path, int dry_run, int own_child)
{
    if (!own_child && !dry_run_proven)
        fail_msg("--dry-run has not been seen to leave a process alone; not running %s", path);
    assert_true(dry_run || own_child);
    char *cwd = fresh_dir("w");
    assert_int_equal(chmod(cwd, 0777), 0); /* so a payload run as nobody could leave its file */
    char *argv[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    "bash", (char *)path, dry_run ? "--dry-run" : NULL, NULL};
    int nobody = drop_to_nobody && !own_child;
    run_t r = run_argv(nobody ? argv : argv + 4, cwd);
    if (!is_empty_dir(cwd))
        fail_msg("%s left files in its working directory %s", path, cwd);
    free(cwd);
    assert_no_payload_ran();
    return r;
}

static run_t run_script(const char *path) { return run_script_as(path, 1, 0); }

#ifndef _WIN32
/* A child `sleep 300` of ours to point scripts at. It must outlive the
 * longest test using it (test_hostile_parameters runs several hundred
 * scripts: over 30 s on a loaded machine); reap() ends it, and should a
 * failed test skip that, it still goes away by itself. */
static pid_t spawn_sleeper(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("sleep", "sleep", "300", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int child_alive(pid_t pid)
{
    int status;
    return waitpid(pid, &status, WNOHANG) == 0;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
#else
/* Windows: nothing runs, so any pid the templates accept will do. */
static pid_t spawn_sleeper(void) { return 4242; }
static int child_alive(pid_t pid) { return 1; }
static void reap(pid_t pid) {}
#endif

/* ---- rendering ------------------------------------------------------------------------------ */

/* The script, or NULL with *status saying why: a refusal (KT_ENOTFOUND,
 * KT_EINPUT) is the test's to judge, a template's own error fails it. */
static char *render(const char *name, kt_dialect_t d, json_t *params, apr_status_t *status)
{
    char err[512] = "";
    char *s;
    *status = kt_rules_render(rules, name, d, params, &s, err, sizeof err);
    if (*status != APR_SUCCESS && *status != KT_ENOTFOUND && *status != KT_EINPUT)
        fail_msg("%s: template error: %s", name, err);
    return s;
}

static char *render_str(const char *name, kt_dialect_t d, const char *json,
                        apr_status_t *status)
{
    json_error_t je;
    json_t *p = json_loads(json, JSON_ALLOW_NUL, &je);
    if (!p)
        fail_msg("bad test JSON %s: %s", json, je.text);
    char *s = render(name, d, p, status);
    json_decref(p);
    return s;
}

static void expect_status(const char *name, const char *json, apr_status_t want)
{
    for (int d = KT_DIALECT_BASH; d <= KT_DIALECT_POWERSHELL; d++) {
        apr_status_t status = 0;
        char *s = render_str(name, (kt_dialect_t)d, json, &status);
        if (s || status != want)
            fail_msg("%s %s (%s): status %d, want %d", name, json, d ? "powershell" : "bash",
                     status, want);
    }
}

/* ---- PowerShell's tokenizer, as far as these scripts go ----------------------------------- */

/* PowerShell takes ' and U+2018..U+201B as single quotes, " and U+201C..U+201E as double. */
static size_t ps_squote(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] == '\'')
        return 1;
    return u[0] == 0xE2 && u[1] == 0x80 && u[2] >= 0x98 && u[2] <= 0x9B ? 3 : 0;
}

static size_t ps_dquote(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] == '"')
        return 1;
    return u[0] == 0xE2 && u[1] == 0x80 && u[2] >= 0x9C && u[2] <= 0x9E ? 3 : 0;
}

typedef struct {
    buf_t code;        /* everything outside literals and comments */
    char *lits[512];   /* the single-quoted literals, unescaped */
    size_t nlits;
} ps_split_t;

static void ps_split_free(ps_split_t *t)
{
    free(t->code.p);
    for (size_t i = 0; i < t->nlits; i++)
        free(t->lits[i]);
}

/* Splits text into code and single-quoted literals: comments (# and <# #>),
 * single-quoted strings (two quote characters in a row are one), double-quoted
 * strings (backtick escapes, doubled quotes) and backtick escapes in code.
 * Returns 0 when text ends outside all of them. */
static int ps_split(const char *s, ps_split_t *t)
{
    memset(t, 0, sizeof *t);
    buf_add(&t->code, "", 0);
    while (*s) {
        size_t q;
        if (s[0] == '<' && s[1] == '#') {
            const char *e = strstr(s + 2, "#>");
            if (!e)
                return -1;
            s = e + 2;
        } else if (*s == '#') {
            s += strcspn(s, "\n");
        } else if (*s == '`') {
            if (!s[1])
                return -1;
            buf_add(&t->code, s, 2);
            s += 2;
        } else if ((q = ps_squote(s))) {
            buf_t lit = {0};
            buf_add(&lit, "", 0);
            for (s += q;;) {
                if (!*s)
                    return -1;
                size_t c = ps_squote(s);
                if (c && ps_squote(s + c)) {
                    buf_add(&lit, s, c);
                    s += c + ps_squote(s + c);
                } else if (c) {
                    s += c;
                    break;
                } else {
                    buf_add(&lit, s++, 1);
                }
            }
            if (t->nlits == sizeof t->lits / sizeof t->lits[0])
                return -1;
            t->lits[t->nlits++] = lit.p;
            buf_add(&t->code, "''", 2);
        } else if ((q = ps_dquote(s))) {
            for (s += q;;) {
                if (!*s)
                    return -1;
                size_t c = ps_dquote(s);
                if (*s == '`') {
                    if (!s[1])
                        return -1;
                    s += 2;
                } else if (c && ps_dquote(s + c)) {
                    s += c + ps_dquote(s + c);
                } else if (c) {
                    s += c;
                    break;
                } else {
                    s++;
                }
            }
            buf_add(&t->code, "\"\"", 2);
        } else {
            buf_add(&t->code, s++, 1);
        }
    }
    return 0;
}

/* The script with CRLF made LF (the frame writes CRLF, values included). */
static char *lf_only(const char *s)
{
    char *d = xstrdup(s), *o = d;
    for (; *s; s++)
        if (!(s[0] == '\r' && s[1] == '\n'))
            *o++ = *s;
    *o = '\0';
    return d;
}

static void check_powershell_frame(const char *ps, const char *what)
{
    if (strncmp(ps, "\xEF\xBB\xBF<#", 5) != 0)
        fail_msg("%s: PowerShell script must start with a UTF-8 BOM and <#", what);
    assert_non_null(strstr(ps, "[CmdletBinding(SupportsShouldProcess = $true)]"));
    for (const char *p = strchr(ps, '\n'); p; p = strchr(p + 1, '\n'))
        if (p[-1] != '\r')
            fail_msg("%s: a bare LF in the PowerShell script", what);
    char *lf = lf_only(ps + 3);
    ps_split_t t;
    if (ps_split(lf, &t) != 0)
        fail_msg("%s: the PowerShell script does not tokenize (an open literal or comment)", what);
    ps_split_free(&t);
    free(lf);
}

/* value reaches the PowerShell script only as one single-quoted literal. */
static void check_powershell_value(const char *ps, const char *value, const char *what)
{
    check_powershell_frame(ps, what);
    char *lf = lf_only(ps + 3);
    char *q = kt_rules_quote(KT_DIALECT_POWERSHELL, value, strlen(value));
    assert_non_null(q);
    if (!strstr(lf, q))
        fail_msg("%s: the quoted value %s is not in the PowerShell script", what, q);
    ps_split_t t;
    assert_int_equal(ps_split(lf, &t), 0);
    int found = 0;
    for (size_t i = 0; i < t.nlits; i++)
        found |= strcmp(t.lits[i], value) == 0;
    if (!found)
        fail_msg("%s: no single-quoted literal holds exactly the value", what);
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        if (strstr(t.code.p, markers[i]))
            fail_msg("%s: '%s' appears outside a literal in the PowerShell script", what,
                     markers[i]);
        if (count(lf, markers[i]) != count(q, markers[i]))
            fail_msg("%s: '%s' appears in the PowerShell script beyond the quoted value", what,
                     markers[i]);
    }
    ps_split_free(&t);
    free(q);
    free(lf);
}

/* value reaches the Bash script only as the quoted right-hand side of an assignment. */
static void check_bash_value(const char *sh, const char *value, const char *what)
{
    char *q = kt_rules_quote(KT_DIALECT_BASH, value, strlen(value));
    assert_non_null(q);
    size_t n = strlen(q);
    char *assign = malloc(n + 3);
    assert_non_null(assign);
    snprintf(assign, n + 3, "=%s\n", q);
    if (!strstr(sh, assign))
        fail_msg("%s: the value is not assigned as %s in the Bash script", what, q);
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
        if (count(sh, markers[i]) != count(q, markers[i]))
            fail_msg("%s: '%s' appears in the Bash script beyond the quoted value", what,
                     markers[i]);
    free(assign);
    free(q);
}

/* ---- fixtures --------------------------------------------------------------------------------- */

/* A new directory of ours under the system's temporary directory (APR's
 * calls, which Windows has as well), resolved, into base. */
static int make_base(void)
{
    apr_pool_t *p;
    const char *tmp;
    char path[PATH_MAX];
    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return -1;
    apr_status_t st = apr_temp_dir_get(&tmp, p);
    for (unsigned i = 0; st == APR_SUCCESS && i < 1000; i++) {
        snprintf(path, sizeof path, "%s/kt-templates-%lu-%u", tmp, (unsigned long)getpid(), i);
        st = apr_dir_make(path, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, p);
        if (APR_STATUS_IS_EEXIST(st))
            st = APR_SUCCESS;
        else
            break;
    }
    apr_pool_destroy(p);
    char real[PATH_MAX];
    if (st != APR_SUCCESS || !realpath(path, real) || strlen(real) >= sizeof base)
        return -1;
    strcpy(base, real);
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return flag == FTW_DP ? rmdir(path) : remove(path);
}

static int setup(void **state)
{
    if (make_base() != 0)
        return -1;
    /* nobody may pass through base (not list it) to the scripts and directories it gets. */
    if (chmod(base, 0711) != 0)
        return -1;
#ifndef _WIN32
    drop_to_nobody = geteuid() == 0 && have_program("setpriv");
#endif
    struct stat st;
    had_tmp_x = stat("/tmp/x", &st) == 0;
    had_tmp_pwned = stat("/tmp/pwned", &st) == 0;
    kt_conf_t conf = {.listen = NULL, .script_os = "auto"};
    kt_mon_conf_defaults(&conf.mon);
    kt_rules_opts_t opts = {.dir = KT_LUA_DIR};
    char err[600];
    if (kt_rules_load(&rules, &opts, &conf, err, sizeof err) != APR_SUCCESS) {
        print_error("loading %s: %s\n", KT_LUA_DIR, err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    kt_rules_release(rules);
    return nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- quoting -------------------------------------------------------------------------------- */

static void test_quote_exact_forms(void **state)
{
    static const struct {
        kt_dialect_t d;
        const char *in, *out;
    } cases[] = {
        {KT_DIALECT_BASH, "$(touch x)", "'$(touch x)'"},
        {KT_DIALECT_BASH, "`touch x`", "'`touch x`'"},
        {KT_DIALECT_BASH, "it's", "'it'\\''s'"},
        {KT_DIALECT_BASH, "'", "''\\'''"},
        {KT_DIALECT_BASH, "\"", "'\"'"},
        {KT_DIALECT_BASH, "a\nb", "'a\nb'"},
        {KT_DIALECT_BASH, "; && | $HOME", "'; && | $HOME'"},
        {KT_DIALECT_BASH, "\xe2\x80\x98", "'\xe2\x80\x98'"},
        {KT_DIALECT_BASH, "", "''"},
        {KT_DIALECT_POWERSHELL, "$(New-Item pwned)", "'$(New-Item pwned)'"},
        {KT_DIALECT_POWERSHELL, "`$(x)`n", "'`$(x)`n'"},
        {KT_DIALECT_POWERSHELL, "it's", "'it''s'"},
        {KT_DIALECT_POWERSHELL, "'", "''''"},
        {KT_DIALECT_POWERSHELL, "\"", "'\"'"},
        {KT_DIALECT_POWERSHELL, "\xe2\x80\x98", "'\xe2\x80\x98\xe2\x80\x98'"},
        {KT_DIALECT_POWERSHELL, "\xe2\x80\x99", "'\xe2\x80\x99\xe2\x80\x99'"},
        {KT_DIALECT_POWERSHELL, "\xe2\x80\x9a", "'\xe2\x80\x9a\xe2\x80\x9a'"},
        {KT_DIALECT_POWERSHELL, "\xe2\x80\x9b", "'\xe2\x80\x9b\xe2\x80\x9b'"},
        {KT_DIALECT_POWERSHELL, "\xe2\x80\x9c", "'\xe2\x80\x9c'"},
        {KT_DIALECT_POWERSHELL, "a\nb; $HOME", "'a\nb; $HOME'"},
        {KT_DIALECT_POWERSHELL, "", "''"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *q = kt_rules_quote(cases[i].d, cases[i].in, strlen(cases[i].in));
        assert_non_null(q);
        assert_string_equal(q, cases[i].out);
        free(q);
    }
}

static void test_quote_refuses_nul_and_bad_utf8(void **state)
{
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"a\0b", 3},
        {"\0", 1},
        {"\xff", 1},
        {"\xc3", 1},                 /* truncated */
        {"a\xc3(", 3},               /* bad continuation */
        {"\x80", 1},                 /* lone continuation */
        {"\xc0\xa7", 2},             /* overlong ' */
        {"\xe0\x80\xa7", 3},         /* overlong ', three bytes */
        {"\xf0\x80\x80\xa7", 4},     /* overlong ', four bytes */
        {"\xed\xa0\x80", 3},         /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 4},     /* past U+10FFFF */
        {"\xf8\x88\x80\x80\x80", 5}, /* five-byte form */
    };
    for (int d = KT_DIALECT_BASH; d <= KT_DIALECT_POWERSHELL; d++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            if (kt_rules_quote((kt_dialect_t)d, bad[i].s, bad[i].len))
                fail_msg("case %zu accepted by dialect %d", i, d);
        static const char *const good[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                           "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf", "\xd1\x91"};
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
            char *q = kt_rules_quote((kt_dialect_t)d, good[i], strlen(good[i]));
            assert_non_null(q);
            free(q);
        }
    }
}

/* Every hostile value, and one holding every ASCII byte, comes back from
 * bash exactly (Linux), and is one PowerShell literal. */
static void test_quote_round_trip(void **state)
{
    if (!CAN_RUN_BASH)
        print_message("the Bash half is not run: %s\n", NO_BASH);
    char all[160];
    size_t n = 0;
    for (int c = 1; c < 128; c++)
        all[n++] = (char)c;
    memcpy(all + n, "\xe2\x80\x98\xe2\x80\x99\xe2\x80\x9a\xe2\x80\x9b\xd1\x91", 14);
    all[n + 14] = '\0';
    size_t nvalues = sizeof hostile / sizeof hostile[0] + 1;
    for (size_t i = 0; i < nvalues; i++) {
        const char *v = i < nvalues - 1 ? hostile[i] : all;
        char *q = kt_rules_quote(KT_DIALECT_BASH, v, strlen(v));
        assert_non_null(q);
        if (CAN_RUN_BASH) {
            size_t len = strlen(q) + 16;
            char *cmd = malloc(len);
            assert_non_null(cmd);
            snprintf(cmd, len, "printf %%s %s", q);
            char *cwd = fresh_dir("q");
            char *argv[] = {"bash", "-c", cmd, NULL};
            run_t r = run_argv(argv, cwd);
            assert_int_equal(r.rc, 0);
            if (strcmp(r.out, v) != 0)
                fail_msg("bash gave back %s for value %zu", r.out, i);
            assert_true(is_empty_dir(cwd));
            run_free(&r);
            free(cwd);
            free(cmd);
        }
        free(q);

        q = kt_rules_quote(KT_DIALECT_POWERSHELL, v, strlen(v));
        assert_non_null(q);
        ps_split_t t;
        assert_int_equal(ps_split(q, &t), 0);
        assert_int_equal(t.nlits, 1);
        assert_string_equal(t.lits[0], v);
        assert_string_equal(t.code.p, "''");
        ps_split_free(&t);
        free(q);
    }
    assert_no_payload_ran();
}

/* ---- listing and parameter checks ------------------------------------------------------------ */

static json_t *find_param(json_t *tmpl, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(tmpl, "parameters"), i, p)
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            return p;
    return NULL;
}

static void test_listing(void **state)
{
    json_t *list = kt_rules_templates(rules);
    assert_int_equal(json_array_size(list), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *t = json_array_get(list, i);
        assert_string_equal(json_string_value(json_object_get(t, "name")), template_names[i]);
        assert_true(strlen(json_string_value(json_object_get(t, "description"))) > 20);
        assert_true(json_is_true(json_object_get(t, "admin")));
        json_t *d = json_object_get(t, "dialects");
        assert_int_equal(json_array_size(d), 2);
        assert_string_equal(json_string_value(json_array_get(d, 0)), "bash");
        assert_string_equal(json_string_value(json_array_get(d, 1)), "powershell");
        json_t *params = json_object_get(t, "parameters");
        assert_true(json_is_array(params) && json_array_size(params) > 0);
        size_t k;
        json_t *p;
        json_array_foreach(params, k, p) {
            const char *type = json_string_value(json_object_get(p, "type"));
            assert_non_null(type);
            assert_true(json_is_string(json_object_get(p, "description")));
            /* Every string has a length bound, every whole number a range. */
            if (strcmp(type, "string") == 0)
                assert_true(json_is_integer(json_object_get(p, "max_len")));
            if (strcmp(type, "integer") == 0)
                assert_true(json_is_integer(json_object_get(p, "min")) &&
                            json_is_integer(json_object_get(p, "max")));
        }
    }
    json_t *cpu = json_array_get(list, 0);
    json_t *pid = find_param(cpu, "pid");
    assert_non_null(pid);
    assert_string_equal(json_string_value(json_object_get(pid, "type")), "integer");
    assert_int_equal(json_integer_value(json_object_get(pid, "min")), 1);
    assert_int_equal(json_integer_value(json_object_get(pid, "max")), 4194304);
    json_t *name = find_param(cpu, "process_name");
    assert_int_equal(json_integer_value(json_object_get(name, "max_len")), 64);
    assert_true(json_is_string(json_object_get(name, "pattern")));
    assert_string_equal(json_string_value(json_object_get(find_param(cpu, "force"), "type")),
                        "boolean");
    assert_true(json_is_false(json_object_get(find_param(cpu, "force"), "default")));
    json_t *pm = json_array_get(list, 4);
    assert_true(json_is_true(json_object_get(find_param(pm, "pid"), "required")));
    json_t *svc = find_param(json_array_get(list, 5), "service_name");
    assert_true(json_is_true(json_object_get(svc, "required")));
    assert_true(json_is_string(json_object_get(svc, "pattern")));
    assert_int_equal(json_integer_value(json_object_get(find_param(json_array_get(list, 1), "path"),
                                                        "max_len")),
                     1024);
    json_decref(list);
}

static void test_bad_requests(void **state)
{
    expect_status("nope", "{}", KT_ENOTFOUND);
    expect_status("../cpu_high", "{}", KT_ENOTFOUND);
    expect_status("", "{}", KT_ENOTFOUND);
    /* unknown parameter */
    expect_status("cpu_high", "{\"bogus\": 1}", KT_EINPUT);
    expect_status("service_restart", "{\"service_name\": \"nginx\", \"command\": \"reboot\"}", KT_EINPUT);
    /* wrong type */
    expect_status("cpu_high", "{\"pid\": \"42\"}", KT_EINPUT);
    expect_status("cpu_high", "{\"pid\": 4.5}", KT_EINPUT);
    expect_status("cpu_high", "{\"pid\": true}", KT_EINPUT);
    expect_status("cpu_high", "{\"force\": \"yes\"}", KT_EINPUT);
    expect_status("cpu_high", "{\"force\": 1}", KT_EINPUT);
    expect_status("cpu_high", "{\"process_name\": 5}", KT_EINPUT);
    expect_status("disk_full", "{\"path\": [\"/\"]}", KT_EINPUT);
    expect_status("memory_high", "{\"drop_caches\": null, \"top\": {}}", KT_EINPUT);
    /* out of range */
    expect_status("cpu_high", "{\"pid\": 0}", KT_EINPUT);
    expect_status("cpu_high", "{\"pid\": -1}", KT_EINPUT);
    expect_status("cpu_high", "{\"pid\": 4194305}", KT_EINPUT);
    expect_status("cpu_high", "{\"top\": 21}", KT_EINPUT);
    expect_status("cpu_high", "{\"grace_seconds\": 0}", KT_EINPUT);
    expect_status("cpu_high", "{\"min_cpu_percent\": 101}", KT_EINPUT);
    expect_status("disk_full", "{\"days\": 0}", KT_EINPUT);
    expect_status("memory_high", "{\"top\": 51}", KT_EINPUT);
    expect_status("service_restart", "{\"service_name\": \"a\", \"wait_seconds\": 301}", KT_EINPUT);
    /* pattern */
    expect_status("cpu_high", "{\"process_name\": \"a;b\"}", KT_EINPUT);
    expect_status("cpu_high", "{\"process_name\": \"a/b\"}", KT_EINPUT);
    expect_status("service_restart", "{\"service_name\": \"-x\"}", KT_EINPUT);
    expect_status("service_restart", "{\"service_name\": \"nginx reboot\"}", KT_EINPUT);
    expect_status("disk_health", "{\"device\": \"-d\"}", KT_EINPUT);
    /* length */
    char json[1200];
    snprintf(json, sizeof json, "{\"process_name\": \"%065d\"}", 0);
    expect_status("cpu_high", json, KT_EINPUT);
    snprintf(json, sizeof json, "{\"path\": \"/%01024d\"}", 0);
    expect_status("disk_full", json, KT_EINPUT);
    /* missing required */
    expect_status("process_memory_high", "{}", KT_EINPUT);
    expect_status("process_memory_high", "{\"pid\": null}", KT_EINPUT);
    expect_status("service_restart", "{}", KT_EINPUT);
    /* a NUL byte no script can carry */
    expect_status("disk_full", "{\"path\": \"/a\\u0000b\"}", KT_EINPUT);
}

/* ---- rendering ---------------------------------------------------------------------------- */

static const struct {
    const char *name, *json;
} normal[] = {
    {"cpu_high", "{}"},
    {"cpu_high", "{\"pid\": 4242}"},
    {"cpu_high", "{\"pid\": 4242, \"process_name\": \"python3\", \"force\": true, \"grace_seconds\": 5}"},
    {"cpu_high", "{\"process_name\": \"python.exe\", \"force\": true}"},
    {"cpu_high", "{\"top\": 3, \"min_cpu_percent\": 50, \"renice\": true}"},
    {"cpu_high", "{\"os\": \"linux\", \"issue_type\": \"cpu_high\"}"},
    {"memory_high", "{}"},
    {"memory_high", "{\"top\": 5, \"drop_caches\": true}"},
    {"disk_full", "{}"},
    {"disk_full", "{\"path\": \"/var\", \"days\": 30, \"top\": 5, \"journal_max_mb\": 200, \"clean_dir\": \"/var/log/myapp\"}"},
    {"disk_full", "{\"clean_temp\": false, \"vacuum_journal\": false, \"empty_recycle_bin\": true}"},
    {"process_memory_high", "{\"pid\": 4242}"},
    {"process_memory_high", "{\"pid\": 4242, \"process_name\": \"java\", \"force\": true}"},
    {"service_restart", "{\"service_name\": \"nginx\"}"},
    {"service_restart", "{\"service_name\": \"getty@tty1.service\", \"wait_seconds\": 30}"},
    {"disk_health", "{}"},
    {"disk_health", "{\"path\": \"/home\", \"device\": \"/dev/sda\", \"self_test\": true}"},
};

/* The request of normal[i], made cheap and safe to run: paths point into
 * base, pids at our sleeper. */
static json_t *runnable(size_t i, pid_t sleeper)
{
    json_t *p = json_loads(normal[i].json, 0, NULL);
    assert_non_null(p);
    if (strncmp(normal[i].name, "disk_", 5) == 0)
        json_object_set_new(p, "path", json_string(base));
    if (json_object_get(p, "pid"))
        json_object_set_new(p, "pid", json_integer(sleeper));
    return p;
}

static void test_render_and_dry_run_normal(void **state)
{
    if (!CAN_RUN_BASH)
        print_message("rendered and checked, not run: %s\n", NO_BASH);
    char *dir = fresh_dir("normal");
    pid_t sleeper = spawn_sleeper();
    for (size_t i = 0; i < sizeof normal / sizeof normal[0]; i++) {
        int status;
        char *sh = render_str(normal[i].name, KT_DIALECT_BASH, normal[i].json, &status);
        char *ps = render_str(normal[i].name, KT_DIALECT_POWERSHELL, normal[i].json, &status);
        if (!sh || !ps)
            fail_msg("%s %s: status %d", normal[i].name, normal[i].json, status);
        assert_int_equal(strncmp(sh, "#!/usr/bin/env bash\n", 20), 0);
        assert_non_null(strstr(sh, "\nset -euo pipefail\n"));
        assert_non_null(strstr(sh, "--dry-run) DRY_RUN=1"));
        check_powershell_frame(ps, normal[i].name);
        char *path = save_tmp(dir, normal[i].name, sh);
        if (CAN_RUN_BASH)
            assert_bash_n(path);
        free(path);
        free(sh);
        free(ps);
        if (!CAN_RUN_BASH)
            continue;

        json_t *p = runnable(i, sleeper);
        sh = render(normal[i].name, KT_DIALECT_BASH, p, &status);
        assert_non_null(sh);
        path = save_tmp(dir, normal[i].name, sh);
        run_t r = run_script(path);
        char what[256];
        snprintf(what, sizeof what, "%s %s --dry-run", normal[i].name, normal[i].json);
        assert_clean_exit(&r, what);
        assert_true(child_alive(sleeper));
        run_free(&r);
        free(path);
        free(sh);
        json_decref(p);
    }
    reap(sleeper);
    free(dir);
}

/* The root check is in the script exactly when the request needs root. */
static void test_admin_only_when_needed(void **state)
{
    int status;
    char *plain = render_str("memory_high", KT_DIALECT_BASH, "{}", &status);
    char *drop = render_str("memory_high", KT_DIALECT_BASH, "{\"drop_caches\": true}", &status);
    char *ps_plain = render_str("memory_high", KT_DIALECT_POWERSHELL, "{}", &status);
    char *ps_drop = render_str("memory_high", KT_DIALECT_POWERSHELL, "{\"drop_caches\": true}",
                               &status);
    assert_null(strstr(plain, "needs root"));
    assert_non_null(strstr(drop, "needs root"));
    assert_null(strstr(ps_plain, "Administrator"));
    assert_non_null(strstr(ps_drop, "Administrator"));
    /* Every state change goes through run (Bash) or ShouldProcess (PowerShell). */
    assert_non_null(strstr(drop, "\nrun sysctl -w vm.drop_caches=1\n"));
    assert_non_null(strstr(ps_drop, "$PSCmdlet.ShouldProcess("));
    assert_null(strstr(plain, "sysctl"));
    free(plain);
    free(drop);
    free(ps_plain);
    free(ps_drop);
    for (size_t i = 0; i < sizeof template_names / sizeof template_names[0]; i++) {
        if (strcmp(template_names[i], "memory_high") == 0)
            continue;
        const char *json = strcmp(template_names[i], "process_memory_high") == 0 ? "{\"pid\": 7}"
                           : strcmp(template_names[i], "service_restart") == 0
                               ? "{\"service_name\": \"nginx\"}"
                               : "{}";
        char *sh = render_str(template_names[i], KT_DIALECT_BASH, json, &status);
        char *ps = render_str(template_names[i], KT_DIALECT_POWERSHELL, json, &status);
        assert_non_null(strstr(sh, "needs root"));
        assert_non_null(strstr(ps, "WindowsBuiltInRole]::Administrator"));
        free(sh);
        free(ps);
    }
}

/* ---- hostile values --------------------------------------------------------------------------- */

/* Characters a shell (either) would make something of; the patterns must refuse them. */
static int shell_special(const char *v)
{
    if (!*v)
        return 1;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p >= 0x80 || strchr("$`'\";&|*(){}<>~!#\\\n", *p))
            return 1;
    return 0;
}

/* The request every hostile run starts from: cheap and aimed at base. */
static json_t *hostile_base(const char *name, pid_t sleeper)
{
    json_t *p = json_object();
    if (strcmp(name, "process_memory_high") == 0)
        json_object_set_new(p, "pid", json_integer(sleeper));
    if (strcmp(name, "disk_full") == 0) {
        json_object_set_new(p, "path", json_string(base));
        json_object_set_new(p, "clean_temp", json_false());
        json_object_set_new(p, "top", json_integer(3));
    }
    if (strcmp(name, "disk_health") == 0)
        json_object_set_new(p, "path", json_string(base));
    return p;
}

/* An existing directory named value, with a file too old to survive a
 * cleaning. Only for runs of the script (Linux): most of these values are
 * not names Windows allows. */
static char *hostile_dir(const char *value)
{
#ifdef _WIN32
    fail_msg("hostile directories are made for Bash runs only (Linux)");
    return NULL;
#else
    char *parent = fresh_dir("h");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", parent, value);
    if (*value) {
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(chmod(path, 0755), 0);
    }
    char old[PATH_MAX + 8];
    snprintf(old, sizeof old, "%s/old", *value ? path : parent);
    write_file(old, "old\n", 0644);
    struct timeval tv[2] = {{time(NULL) - 30 * 86400, 0}, {time(NULL) - 30 * 86400, 0}};
    assert_int_equal(utimes(old, tv), 0);
    free(parent);
    return xstrdup(path);
#endif
}

static void hostile_run(const char *name, const char *param, int patterned, const char *v,
                        int in_dir, const char *sh, const char *ps, const char *dir,
                        pid_t sleeper, const char *what);

static void hostile_case(const char *name, json_t *decl, const char *value, int in_dir,
                         const char *dir, pid_t sleeper)
{
    const char *param = json_string_value(json_object_get(decl, "name"));
    int patterned = json_is_string(json_object_get(decl, "pattern"));
    char *v = in_dir ? hostile_dir(value) : xstrdup(value);
    json_t *req = hostile_base(name, sleeper);
    json_object_set_new(req, param, json_string(v));
    char what[256];
    snprintf(what, sizeof what, "%s %s=%s%.40s", name, param, in_dir ? "DIR/" : "", value);
    apr_status_t st_sh = 0, st_ps = 0;
    char *sh = render(name, KT_DIALECT_BASH, req, &st_sh);
    char *ps = render(name, KT_DIALECT_POWERSHELL, req, &st_ps);
    if (patterned && shell_special(v) && (sh || ps || st_sh != KT_EINPUT || st_ps != KT_EINPUT))
        fail_msg("%s: the pattern let a shell character through (%d/%d)", what, st_sh, st_ps);
    if (!sh || !ps) {
        if (!patterned || st_sh != KT_EINPUT || st_ps != KT_EINPUT)
            fail_msg("%s: refused (%d/%d) though nothing declares it wrong", what, st_sh, st_ps);
    } else {
        hostile_run(name, param, patterned, v, in_dir, sh, ps, dir, sleeper, what);
    }
    free(sh);
    free(ps);
    json_decref(req);
    free(v);
}

/* Checks a rendered pair and runs the Bash one in --dry-run mode. */
static void hostile_run(const char *name, const char *param, int patterned, const char *v,
                        int in_dir, const char *sh, const char *ps, const char *dir,
                        pid_t sleeper, const char *what)
{
    check_bash_value(sh, v, what);
    check_powershell_value(ps, v, what);
    if (!CAN_RUN_BASH)
        return;

    char *path = save_tmp(dir, name, sh);
    assert_bash_n(path);
    run_t r = run_script(path);
    assert_clean_exit(&r, what);
    if (!patterned && !in_dir && v[0] != '/') {
        /* A relative path is refused before anything uses it. */
        if (r.rc != 1 || !strstr(r.err, "must be an absolute path"))
            fail_msg("%s: exit %d, %s", what, r.rc, r.err);
    }
    if (in_dir) {
        if (r.rc != 0)
            fail_msg("%s: exit %d\n%s\n%s", what, r.rc, r.out, r.err);
        if (strcmp(param, "clean_dir") == 0) {
            /* The cleaning's one "would run:" line carries the directory as one word. */
            char real[PATH_MAX];
            assert_non_null(realpath(v, real));
            char *q = bash_q(real);
            size_t len = strlen(q) + 64;
            char *line = malloc(len);
            assert_non_null(line);
            snprintf(line, len, "\nwould run: find %s -xdev -type f -mmin +10080 -delete\n", q);
            if (!strstr(r.out, line))
                fail_msg("%s: no %s in\n%s", what, line + 1, r.out);
            free(line);
            free(q);
        } else if (!strstr(r.out, v)) {
            fail_msg("%s: the report does not name the path:\n%s", what, r.out);
        }
    }
    if (strcmp(name, "process_memory_high") == 0 || strcmp(name, "cpu_high") == 0)
        assert_true(child_alive(sleeper));
    run_free(&r);
    free(path);
}

static void test_hostile_parameters(void **state)
{
    if (!CAN_RUN_BASH)
        print_message("every value checked in both scripts, none run, no directory made with "
                      "it: %s\n", NO_BASH);
    char *dir = fresh_dir("hostile");
    pid_t sleeper = spawn_sleeper();
    json_t *list = kt_rules_templates(rules);
    size_t i, k;
    json_t *t, *decl;
    unsigned strings = 0;
    json_array_foreach(list, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_array_foreach(json_object_get(t, "parameters"), k, decl) {
            if (strcmp(json_string_value(json_object_get(decl, "type")), "string") != 0)
                continue;
            strings++;
            int patterned = json_is_string(json_object_get(decl, "pattern"));
            for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
                hostile_case(name, decl, hostile[h], 0, dir, sleeper);
                /* A free-form path also as a directory that exists, so the
                 * script goes on to use it. */
                if (!patterned && CAN_RUN_BASH)
                    hostile_case(name, decl, hostile[h], 1, dir, sleeper);
            }
        }
    }
    assert_true(strings >= 7);
    json_decref(list);
    reap(sleeper);
    free(dir);
}

/* ---- shellcheck ------------------------------------------------------------------------------ */

static void test_shellcheck(void **state)
{
    if (!CAN_RUN_BASH) {
        print_message("%s; skipped\n", NO_BASH);
        skip();
    }
    if (!have_program("shellcheck")) {
        print_message("shellcheck is not installed (scripts/install-deps.sh installs it); skipped\n");
        skip();
    }
    char *dir = fresh_dir("sc");
    int status;
    for (size_t i = 0; i < sizeof normal / sizeof normal[0]; i++) {
        char *sh = render_str(normal[i].name, KT_DIALECT_BASH, normal[i].json, &status);
        assert_non_null(sh);
        free(save_tmp(dir, normal[i].name, sh));
        free(sh);
    }
    /* And every hostile value a free-form parameter lets through. */
    static const struct {
        const char *name, *param;
    } free_form[] = {{"disk_full", "path"}, {"disk_full", "clean_dir"}, {"disk_health", "path"}};
    for (size_t f = 0; f < sizeof free_form / sizeof free_form[0]; f++) {
        for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
            json_t *req = json_pack("{s:s}", free_form[f].param, hostile[h]);
            char *sh = render(free_form[f].name, KT_DIALECT_BASH, req, &status);
            assert_non_null(sh);
            free(save_tmp(dir, free_form[f].name, sh));
            free(sh);
            json_decref(req);
        }
    }
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "shellcheck -s bash -S warning '%s'/*.sh", dir);
    char *argv[] = {"sh", "-c", cmd, NULL};
    run_t r = run_argv(argv, dir);
    if (r.rc != 0)
        fail_msg("shellcheck found problems:\n%s%s", r.out, r.err);
    run_free(&r);
    free(dir);
}

/* ---- dry run, real run, root check --------------------------------------------------------- */

#ifndef _WIN32
static char *render_for(const char *name, pid_t pid, const char *extra)
{
    char json[256];
    snprintf(json, sizeof json, "{\"pid\": %d, \"grace_seconds\": 2%s}", (int)pid, extra);
    int status;
    char *sh = render_str(name, KT_DIALECT_BASH, json, &status);
    assert_non_null(sh);
    return sh;
}

static void test_dry_run_runs_nothing(void **state)
{
    char *dir = fresh_dir("dry");
    pid_t child = spawn_sleeper();
    for (int t = 0; t < 2; t++) {
        const char *name = t ? "process_memory_high" : "cpu_high";
        char *sh = render_for(name, child, ", \"force\": true");
        char *path = save_tmp(dir, name, sh);
        run_t r = run_script_as(path, 1, 1);
        assert_int_equal(r.rc, 0);
        char line[64];
        snprintf(line, sizeof line, "would run: kill -TERM -- %d\n", (int)child);
        assert_non_null(strstr(r.out, line));
        snprintf(line, sizeof line, "would run: kill -KILL -- %d\n", (int)child);
        assert_non_null(strstr(r.out, line));
        usleep(200 * 1000);
        assert_true(child_alive(child));
        run_free(&r);
        free(path);
        free(sh);
    }
    /* A process_name that is not what the pid runs: refused, child untouched. */
    char *sh = render_for("cpu_high", child, ", \"process_name\": \"bash\"");
    char *path = save_tmp(dir, "cpu_high", sh);
    run_t r = run_script_as(path, 1, 1);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "refusing"));
    assert_true(child_alive(child));
    dry_run_proven = 1;
    run_free(&r);
    free(path);
    free(sh);

    if (geteuid() != 0) {
        reap(child);
        free(dir);
        print_message("not root: the real stop of our child is not tried\n");
        return;
    }
    /* For real, as root, against our own child only: it stops. */
    sh = render_for("cpu_high", child, ", \"process_name\": \"sleep\"");
    path = save_tmp(dir, "cpu_high", sh);
    r = run_script_as(path, 0, 1);
    if (r.rc != 0)
        fail_msg("exit %d\n%s\n%s", r.rc, r.out, r.err);
    assert_non_null(strstr(r.out, "stopped."));
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    run_free(&r);
    free(path);
    free(sh);
    free(dir);
}

static void test_root_check(void **state)
{
    if (geteuid() != 0 || !have_program("setpriv")) {
        print_message("needs root and setpriv to run a script as another user; skipped\n");
        skip();
    }
    char *dir = fresh_dir("pub");
    pid_t child = spawn_sleeper();
    char *sh = render_for("cpu_high", child, ", \"force\": true");
    char *path = save_tmp(dir, "cpu_high", sh);
    char *argv[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", path,
                    NULL};
    run_t r = run_argv(argv, "/");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "this script needs root"));
    assert_true(child_alive(child));
    run_free(&r);
    /* --dry-run needs no root. */
    char *dry[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", path,
                   "--dry-run", NULL};
    r = run_argv(dry, "/");
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "would run: kill -TERM"));
    assert_true(child_alive(child));
    run_free(&r);
    reap(child);
    free(path);
    free(sh);
    free(dir);
}
#else
static void test_dry_run_runs_nothing(void **state)
{
    print_message("%s; skipped\n", NO_BASH);
    skip();
}

static void test_root_check(void **state)
{
    print_message("%s; skipped\n", NO_BASH);
    skip();
}
#endif

/* ---- saving ------------------------------------------------------------------------------------ */

/* path exists, with this mode where files have modes (not on Windows). */
static void assert_file_mode(const char *path, int mode)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
#ifndef _WIN32
    assert_int_equal(st.st_mode & 07777, mode);
#endif
}

#ifndef _WIN32
static void on_alarm(int sig)
{
    static const char msg[] = "kt_rules_save_script blocked on a FIFO for 10 s\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

/* Links and a FIFO planted in the scripts directory lead nowhere (POSIX; on
 * Windows, tests/windows/test_win_files.c plants what Windows and Wine have). */
static void save_refuses_links_and_fifos(const char *dir)
{
    char err[256], path[PATH_MAX + 32];
    struct stat st;
    char outside[PATH_MAX], link[PATH_MAX + 32];
    snprintf(outside, sizeof outside, "%s/outside.txt", base);
    write_file(outside, "original\n", 0600);
    snprintf(link, sizeof link, "%s/evil.sh", dir);
    assert_int_equal(symlink(outside, link), 0);
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/created-through-link", base);
    snprintf(path, sizeof path, "%s/dangling.sh", dir);
    assert_int_equal(symlink(missing, path), 0);
    for (int overwrite = 0; overwrite <= 1; overwrite++) {
        assert_int_not_equal(kt_rules_save_script(dir, "evil.sh", "pwned\n", 6, overwrite, 1,
                                                  err, sizeof err),
                             APR_SUCCESS);
        assert_int_not_equal(kt_rules_save_script(dir, "dangling.sh", "pwned\n", 6, overwrite,
                                                  1, err, sizeof err),
                             APR_SUCCESS);
    }
    char *text = read_file(outside);
    assert_string_equal(text, "original\n");
    free(text);
    assert_int_equal(stat(outside, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_not_equal(stat(missing, &st), 0);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    /* A FIFO under the name: refused at once, not a thread stuck in open(). */
    snprintf(path, sizeof path, "%s/fifo.sh", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    signal(SIGALRM, on_alarm);
    alarm(10);
    assert_int_not_equal(kt_rules_save_script(dir, "fifo.sh", "x", 1, 1, 1, err, sizeof err),
                         APR_SUCCESS);
    assert_int_not_equal(kt_rules_save_script(dir, "fifo.sh", "x", 1, 0, 1, err, sizeof err),
                         APR_SUCCESS);
    alarm(0);
}
#endif

static void test_save(void **state)
{
    char dir[PATH_MAX], err[256], path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/scripts", base); /* created by the first save */
#ifndef _WIN32
    mode_t old_mask = umask(077);
#endif
    struct stat st;

    assert_null(kt_rules_check_script_name("fix_cpu_high.sh", 15));
    assert_int_equal(kt_rules_save_script(dir, "fix_cpu_high.sh", "echo one\n", 9, 0, 1, err,
                                          sizeof err),
                     APR_SUCCESS);
    snprintf(path, sizeof path, "%s/fix_cpu_high.sh", dir);
    assert_file_mode(path, 0750);
    char *text = read_file(path);
    assert_string_equal(text, "echo one\n");
    free(text);
    assert_int_equal(kt_rules_save_script(dir, "fix_disk.ps1", "Write-Output 1\r\n", 16, 0, 0,
                                          err, sizeof err),
                     APR_SUCCESS);
    snprintf(path, sizeof path, "%s/fix_disk.ps1", dir);
    assert_file_mode(path, 0640);

    static const char *const refused[] = {"../x", "/etc/passwd", "a/b", "a\\b", "CON",
                                          "con.sh", "nul.txt", "COM1", "lpt9.ps1", ".hidden",
                                          "-rf", "..", "a..b", "c:x", "a\nb.sh", "a\tb", ""};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_non_null(kt_rules_check_script_name(refused[i], strlen(refused[i])));
        err[0] = '\0';
        assert_int_not_equal(kt_rules_save_script(dir, refused[i], "x", 1, 1, 1, err, sizeof err),
                             APR_SUCCESS);
        assert_true(err[0] != '\0');
    }
    char longname[200];
    memset(longname, 'a', 129);
    strcpy(longname + 129, ".sh");
    assert_non_null(kt_rules_check_script_name(longname, strlen(longname)));
    assert_non_null(kt_rules_check_script_name("a\0b.sh", 6));
    assert_non_null(kt_rules_check_script_name("ok.sh\0", 6));
    snprintf(path, sizeof path, "%s/x", base);
    assert_int_not_equal(stat(path, &st), 0);

    /* An existing file: refused without overwrite, replaced with it. */
    apr_status_t rv = kt_rules_save_script(dir, "fix_cpu_high.sh", "echo two\n", 9, 0, 1, err,
                                           sizeof err);
    assert_true(APR_STATUS_IS_EEXIST(rv));
    assert_non_null(strstr(err, "exists"));
    snprintf(path, sizeof path, "%s/fix_cpu_high.sh", dir);
    text = read_file(path);
    assert_string_equal(text, "echo one\n");
    free(text);
    assert_int_equal(kt_rules_save_script(dir, "fix_cpu_high.sh", "echo two\n", 9, 1, 1, err,
                                          sizeof err),
                     APR_SUCCESS);
    text = read_file(path);
    assert_string_equal(text, "echo two\n");
    free(text);

#ifndef _WIN32
    save_refuses_links_and_fifos(dir);
#else
    print_message("links and FIFOs under the name: tests/windows/test_win_files.c on Windows\n");
#endif
    /* A directory under the name. */
    snprintf(path, sizeof path, "%s/sub.sh", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_not_equal(kt_rules_save_script(dir, "sub.sh", "x", 1, 1, 1, err, sizeof err),
                         APR_SUCCESS);
#ifndef _WIN32
    umask(old_mask);
#endif
}

int main(void)
{
    apr_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_exact_forms),
        cmocka_unit_test(test_quote_refuses_nul_and_bad_utf8),
        cmocka_unit_test(test_quote_round_trip),
        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_admin_only_when_needed),
        cmocka_unit_test(test_shellcheck),
        /* First of those that run scripts: the others need it to pass. */
        cmocka_unit_test(test_dry_run_runs_nothing),
        cmocka_unit_test(test_root_check),
        cmocka_unit_test(test_render_and_dry_run_normal),
        cmocka_unit_test(test_hostile_parameters),
        cmocka_unit_test(test_save),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    apr_terminate();
    return failed;
}
