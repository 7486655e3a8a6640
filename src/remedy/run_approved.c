/*
 * run_approved.c - koto-run-approved: the one way a remediation runs as
 * root (README, "Remediation as root").
 *
 * kotod runs as the unprivileged user koto. systemd starts this program as
 * root for each connection to koto-run-approved.socket, which only koto
 * may open (dist/); it reads one request on stdin and answers on stdout
 * (the protocol: platform/linux/approved.c):
 *
 *   run|dry-run remedy-ID.sh SHA256 TIMEOUT_S
 *
 * and runs nothing unless all of this holds:
 *   - the peer is --user (or root);
 *   - the line is exactly that shape: no other word, no option, no path;
 *   - --spool (koto's scripts directory) and the file in it are what they
 *     seem: a directory and a regular file with one link, no symbolic
 *     link, both --user's and writable by nobody else;
 *   - the file's bytes hash to SHA256, the hash kotod's store holds for the
 *     approval.
 * Then /bin/bash runs a root-only copy of exactly the bytes that were
 * hashed (the file may change after the check; the copy cannot), with
 * --dry-run for a dry run and nothing else, a clean environment and the
 * timeout (at most --max-timeout), its whole process group killed after.
 * This narrows what root does for koto to "an approved script kotod wrote";
 * it cannot make a compromised koto account harmless, which is why the
 * path is off until the administrator turns it on.
 */
#include "remedy_internal.h"
#include "kt_sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>

#define MAX_SCRIPT (4u << 20) /* as the runner thread (runner.c) */
#define MAX_LINE 200

typedef struct {
    const char *spool, *user, *work;
    unsigned max_timeout_s;
} conf_t;

static int refuse(const char *why)
{
    printf("refused %s\n", why);
    fflush(stdout);
    fprintf(stderr, "koto-run-approved: refused: %s\n", why);
    return 1;
}

static int is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

/* remedy-<1 to 19 digits>.sh, the names remedy.c gives the files. */
static int is_script_name(const char *s)
{
    if (strncmp(s, "remedy-", 7) != 0)
        return 0;
    size_t d = 0;
    while (s[7 + d] >= '0' && s[7 + d] <= '9')
        d++;
    return d >= 1 && d <= 19 && strcmp(s + 7 + d, ".sh") == 0;
}

static int serve(const conf_t *c, apr_pool_t *pool)
{
    const char *why = NULL;
    if (kt_sys_stdin_peer_is(c->user, &why, pool) == 0)
        return refuse(why);

    char line[MAX_LINE + 2];
    if (!fgets(line, sizeof line, stdin))
        return refuse("no request");
    size_t n = strlen(line);
    if (n == 0 || line[n - 1] != '\n' || n > MAX_LINE)
        return refuse("a request longer than a line");
    line[n - 1] = '\0';
    /* Exactly four words separated by single spaces. */
    char *words[5] = {0};
    int nw = 0;
    for (char *p = line; nw < 5;) {
        words[nw++] = p;
        char *sp = strchr(p, ' ');
        if (!sp)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    if (nw != 4)
        return refuse("the request is not: run|dry-run NAME SHA256 TIMEOUT_S");
    int dry_run = strcmp(words[0], "dry-run") == 0;
    if (!dry_run && strcmp(words[0], "run") != 0)
        return refuse("the request is neither run nor dry-run");
    if (!is_script_name(words[1]))
        return refuse("the name is not remedy-ID.sh");
    if (!is_hex64(words[2]))
        return refuse("the hash is not 64 lowercase hex digits");
    char *end;
    unsigned long timeout = strtoul(words[3], &end, 10);
    if (!*words[3] || *end || words[3][0] == '-' || timeout < 1 || strlen(words[3]) > 6)
        return refuse("the timeout is not a whole number of seconds");
    if (timeout > c->max_timeout_s)
        timeout = c->max_timeout_s;

    char *data;
    apr_size_t len;
    if (kt_sys_read_owned(c->spool, words[1], c->user, MAX_SCRIPT, &data, &len, &why, pool) != APR_SUCCESS)
        return refuse(why);
    char sha[65];
    kt__sha256_hex(data, len, sha);
    if (strcmp(sha, words[2]) != 0)
        return refuse(apr_psprintf(pool, "%s hashes to %s, not to the approved %s", words[1], sha, words[2]));

    /* The copy that runs: root's, in a root-only directory. */
    if (kt_sys_private_dir(c->work, pool) != APR_SUCCESS)
        return refuse(apr_psprintf(pool, "cannot make %s", c->work));
    char *copy = apr_pstrcat(pool, c->work, "/run-XXXXXX", NULL);
    apr_file_t *f;
    apr_size_t wrote = len;
    if (apr_file_mktemp(&f, copy, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL, pool) != APR_SUCCESS)
        return refuse("cannot write the copy to run");
    apr_status_t st = apr_file_write_full(f, data, len, &wrote);
    apr_file_close(f);
    if (st != APR_SUCCESS) {
        apr_file_remove(copy, pool);
        return refuse("cannot write the copy to run");
    }
    static const char *const dry[] = {"--dry-run", NULL};
    kt_sys_run_opts_t o = {NULL, dry_run ? dry : NULL, apr_time_from_sec(timeout), KT_SYS_RUN_OUTPUT,
                           NULL};
    kt_sys_run_result_t res;
    st = kt_sys_run(copy, &o, &res, pool);
    apr_file_remove(copy, pool);
    if (st != APR_SUCCESS)
        return refuse("bash could not be started");
    fprintf(stderr, "koto-run-approved: %s %s (sha256 %.12s...): exit code %d\n", words[0], words[1],
            sha, res.exit_code);
    printf("ok %d %d %d %d %lld %lu\n", res.exit_code, res.signal, res.timed_out, res.truncated,
           (long long)res.duration, (unsigned long)res.output_len);
    fwrite(res.output, 1, res.output_len, stdout);
    fflush(stdout);
    return 0;
}

static void usage(FILE *to)
{
    fputs("usage: koto-run-approved [--spool DIR] [--user NAME] [--work DIR] [--max-timeout S]\n"
          "Serves one remediation request on stdin (see kotod(8) and the README).\n"
          "  --spool DIR        kotod's scripts directory (default /var/lib/koto/scripts)\n"
          "  --user NAME        the only user served, who owns the spool (default koto)\n"
          "  --work DIR         root-only directory for the copy that runs (default /run/koto-run-approved)\n"
          "  --max-timeout S    longest run in seconds (default 3600)\n",
          to);
}

int main(int argc, const char *const *argv)
{
    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS)
        return 2;
    atexit(apr_terminate);
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    conf_t c = {"/var/lib/koto/scripts", "koto", "/run/koto-run-approved", 3600};
    static const apr_getopt_option_t opts[] = {
        {"spool", 's', 1, ""}, {"user", 'u', 1, ""},  {"work", 'w', 1, ""},
        {"max-timeout", 't', 1, ""}, {"help", 'h', 0, ""}, {NULL, 0, 0, NULL}};
    apr_getopt_t *g;
    apr_getopt_init(&g, pool, argc, argv);
    int ch;
    const char *arg;
    apr_status_t st;
    while ((st = apr_getopt_long(g, opts, &ch, &arg)) == APR_SUCCESS) {
        switch (ch) {
        case 's': c.spool = arg; break;
        case 'u': c.user = arg; break;
        case 'w': c.work = arg; break;
        case 't': c.max_timeout_s = (unsigned)strtoul(arg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        }
    }
    if (st != APR_EOF || g->ind < argc || c.max_timeout_s < 1) {
        usage(stderr);
        return 2;
    }
    return serve(&c, pool);
}
