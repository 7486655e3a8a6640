/*
 * koto.c - the command-line client: `koto status` is Monit's summary for
 * koto, and each other command is one or two calls of kotod's REST API.
 * Everything it does, the dashboard and curl can do too; it exists so a
 * shell script or a person on the machine does not have to find the token
 * and write JSON by hand.
 */
#include "cli.h"

#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <io.h> /* MSVC has no unistd.h */
#else
#include <unistd.h>
#endif

#include "state_dir.h"

static const char usage[] =
    "usage: koto [--url URL] [--token-file FILE] [--cacert FILE] [--json] COMMAND [ARGS]\n"
    "\n"
    "A client of kotod's API (default http://127.0.0.1:5000, or $KOTO_URL).\n"
    "\n"
    "  status                          health, active conditions and every check\n"
    "  events [-f] [-n N] [--type T] [--severity S] [--since ID]\n"
    "                                  the event log, newest N (20); -f follows the stream\n"
    "  history [METRIC] [--from T] [--to T] [--points N]\n"
    "                                  a metric's stored history (-1h, -7d, or ms);\n"
    "                                  without METRIC, the series kept\n"
    "  silence [list]                  silences and maintenance windows\n"
    "  silence add [--type T] [--severity S] [--subject S] (--for DUR | --until MS)\n"
    "              --comment TEXT      hold back matching notifications (DUR: 90s, 30m, 2h, 1d)\n"
    "  silence rm ID                   end a silence now\n"
    "  remediations [--state S]        proposed fixes, newest first\n"
    "  show ID                         one proposal: its script, hash, dry run and run\n"
    "  approve ID [--yes] [--wait]     approve the script shown, by its sha256; --wait\n"
    "                                  prints the run's result\n"
    "  deny ID                         refuse a proposal\n"
    "  token                           which token file koto reads\n"
    "  token list                      the named tokens and their scopes\n"
    "  token add NAME [--scope S]      a new token (read, propose, control; default\n"
    "                                  read,propose), printed once on stdout\n"
    "  token revoke NAME               it is refused from the next request on\n"
    "\n"
    "The token is read from --token-file, $KOTO_TOKEN_FILE, or kotod's state\n"
    "directory (--state-dir; /var/lib/koto for root, ~/.local/state/koto otherwise).\n"
    "--cacert (or $KOTO_CACERT) names the certificate an https:// kotod is checked\n"
    "against, e.g. its self-signed STATE_DIR/tls-cert.pem.\n"
    "--json prints kotod's answers as JSON, for scripts.\n"
    "\n"
    "Exit codes: 0 done (status: all well); 1 status found an active condition or a\n"
    "failing check; 2 bad command line; 3 kotod unreachable or failing; 4 refused\n"
    "(token missing, wrong or not allowed); 5 any other refusal (not found, conflict...).\n";

/* Whether there is a person at stdin to ask. */
static int stdin_is_terminal(void)
{
#ifdef _WIN32
    return _isatty(_fileno(stdin));
#else
    return isatty(STDIN_FILENO);
#endif
}

typedef struct {
    kt_cli_t *cli;
    int json;
    apr_pool_t *pool;
    int argc;
    char **argv; /* the command's own arguments, argv[0] the command */
} cmd_t;

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "koto: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(koto --help lists the commands)\n");
    va_end(ap);
    return KT_CLI_USAGE;
}

/* The value after option NAME at argv[*i], advancing *i; NULL if missing. */
static const char *value_of(cmd_t *c, int *i)
{
    if (*i + 1 >= c->argc)
        return NULL;
    return c->argv[++*i];
}

/* A whole non-negative number, or -1. */
static long long whole(const char *s)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end ? -1 : v;
}

/* "90s", "30m", "2h", "1d" (or plain seconds) in seconds, or -1. */
static long long duration_s(const char *s)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    long long unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                   : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : -1;
    return unit < 0 || v <= 0 ? -1 : v * unit;
}

static char *escape(cmd_t *c, const char *s)
{
    /* Query values: letters, digits and -_.: pass; the rest is %XX. */
    char *out = apr_palloc(c->pool, strlen(s) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (isalnum(*p) || strchr("-_.:", *p))
            *o++ = (char)*p;
        else
            o += sprintf(o, "%%%02X", *p);
    *o = '\0';
    return out;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    if (s)
        puts(s);
    free(s);
}

/* GETs path and prints it as JSON or through show. */
static int get_and_show(cmd_t *c, const char *path, void (*show)(json_t *))
{
    json_t *answer = NULL;
    int rc = kt_cli_call(c->cli, "GET", path, NULL, &answer);
    if (rc == KT_CLI_OK)
        c->json ? print_json(answer) : show(answer);
    json_decref(answer);
    return rc;
}

/* ---- the commands --------------------------------------------------------- */

static int cmd_status(cmd_t *c)
{
    if (c->argc > 1)
        return bad_usage("status takes no arguments (got %s)", c->argv[1]);
    json_t *status = NULL, *config = NULL;
    int rc = kt_cli_call(c->cli, "GET", "/api/agent/monitor/status", NULL, &status);
    /* The checks are listed by the configuration, which needs the token;
     * without it the status still shows the conditions. */
    if (rc == KT_CLI_OK && kt_cli_call(c->cli, "GET", "/api/agent/config", NULL, &config) != KT_CLI_OK)
        fprintf(stderr, "koto: the checks are not shown (the configuration needs the token)\n");
    if (rc == KT_CLI_OK) {
        json_object_del(status, "snapshot");
        if (c->json) {
            json_t *checks = kt_cli_setting(config, "checks");
            json_object_set(status, "checks", checks ? checks : json_null());
            print_json(status);
            rc = json_array_size(json_object_get(json_object_get(status, "health"), "active"))
                     ? KT_CLI_TROUBLE : KT_CLI_OK;
        } else {
            rc = kt_cli_show_status(status, config);
        }
    }
    json_decref(status);
    json_decref(config);
    return rc;
}

static void print_stream_event(const char *event, const char *data, void *ctx)
{
    cmd_t *c = ctx;
    if (strcmp(event, "event") != 0)
        return; /* readings and config notices are the dashboard's */
    if (c->json) {
        puts(data);
    } else {
        json_t *e = json_loads(data, 0, NULL);
        if (e)
            kt_cli_show_event(e);
        json_decref(e);
    }
    fflush(stdout);
}

static int cmd_events(cmd_t *c)
{
    int follow = 0;
    long long limit = 20, since = -1;
    const char *type = NULL, *severity = NULL;
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (!strcmp(a, "-f") || !strcmp(a, "--follow"))
            follow = 1;
        else if (!strcmp(a, "-n") || !strcmp(a, "--limit")) {
            if ((limit = whole(value_of(c, &i))) < 1)
                return bad_usage("%s wants a number above 0", a);
        } else if (!strcmp(a, "--since")) {
            if ((since = whole(value_of(c, &i))) < 0)
                return bad_usage("%s wants an event id", a);
        } else if (!strcmp(a, "--type") || !strcmp(a, "--severity")) {
            const char *v = value_of(c, &i);
            if (!v)
                return bad_usage("%s wants a value", a);
            *(a[2] == 't' ? &type : &severity) = v;
        } else
            return bad_usage("events: unknown argument %s", a);
    }
    char *path = apr_psprintf(c->pool, "/api/agent/monitor/events?limit=%" APR_INT64_T_FMT, (apr_int64_t)limit);
    if (since >= 0)
        path = apr_psprintf(c->pool, "%s&since=%" APR_INT64_T_FMT, path, (apr_int64_t)since);
    if (type)
        path = apr_pstrcat(c->pool, path, "&event_type=", escape(c, type), NULL);
    if (severity)
        path = apr_pstrcat(c->pool, path, "&severity=", escape(c, severity), NULL);
    json_t *answer = NULL;
    int rc = kt_cli_call(c->cli, "GET", path, NULL, &answer);
    if (rc == KT_CLI_OK && !follow)
        c->json ? print_json(answer) : kt_cli_show_events(answer);
    if (rc == KT_CLI_OK && follow) {
        /* The listing (oldest first), then the stream from after its last. */
        json_int_t last = json_integer_value(json_object_get(answer, "last_id"));
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(answer, "events"), i, e) {
            char *s = json_dumps(e, JSON_COMPACT);
            print_stream_event("event", s, c);
            free(s);
        }
        rc = kt_cli_follow(c->cli, apr_psprintf(c->pool, "/api/agent/monitor/stream?since=%" APR_INT64_T_FMT,
                                               (apr_int64_t)last),
                           print_stream_event, c);
    }
    json_decref(answer);
    return rc;
}

static int cmd_history(cmd_t *c)
{
    const char *metric = NULL, *from = "-1h", *to = NULL;
    long long points = 60;
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (!strcmp(a, "--from") || !strcmp(a, "--to")) {
            const char *v = value_of(c, &i);
            if (!v)
                return bad_usage("%s wants a time: -1h, -7d or ms since the epoch", a);
            *(a[2] == 'f' ? &from : &to) = v;
        } else if (!strcmp(a, "--points")) {
            if ((points = whole(value_of(c, &i))) < 1)
                return bad_usage("%s wants a number above 0", a);
        } else if (a[0] == '-' || metric) {
            return bad_usage("history: unexpected argument %s", a);
        } else {
            metric = a;
        }
    }
    if (!metric)
        return get_and_show(c, "/api/agent/history/series", kt_cli_show_series);
    char *path = apr_psprintf(c->pool, "/api/agent/history?metric=%s&from=%s&points=%" APR_INT64_T_FMT,
                              escape(c, metric), escape(c, from), (apr_int64_t)points);
    if (to)
        path = apr_pstrcat(c->pool, path, "&to=", escape(c, to), NULL);
    return get_and_show(c, path, kt_cli_show_history);
}

static int silence_add(cmd_t *c)
{
    json_t *matchers = json_object(), *body = json_pack("{s:o}", "matchers", matchers);
    int rc = KT_CLI_OK, have_end = 0;
    for (int i = 2; rc == KT_CLI_OK && i < c->argc; i++) {
        const char *a = c->argv[i], *v = value_of(c, &i);
        if (!v) {
            rc = bad_usage("%s wants a value", a);
        } else if (!strcmp(a, "--type") || !strcmp(a, "--severity") || !strcmp(a, "--subject")) {
            json_object_set_new(matchers, a + 2, json_string(v));
        } else if (!strcmp(a, "--comment") || !strcmp(a, "--by")) {
            json_object_set_new(body, a[2] == 'c' ? "comment" : "created_by", json_string(v));
        } else if (!strcmp(a, "--for")) {
            long long s = duration_s(v);
            if (s < 0)
                rc = bad_usage("--for wants a duration such as 90s, 30m, 2h or 1d (got %s)", v);
            json_object_set_new(body, "duration_s", json_integer(s));
            have_end = 1;
        } else if (!strcmp(a, "--until")) {
            long long ms = whole(v);
            if (ms < 0)
                rc = bad_usage("--until wants ms since the epoch (got %s)", v);
            json_object_set_new(body, "ends_at", json_integer(ms));
            have_end = 1;
        } else {
            rc = bad_usage("silence add: unknown argument %s", a);
        }
    }
    if (rc == KT_CLI_OK && (!have_end || !json_object_get(body, "comment")))
        rc = bad_usage("silence add needs --for or --until, and --comment");
    json_t *answer = NULL;
    if (rc == KT_CLI_OK && (rc = kt_cli_call(c->cli, "POST", "/api/agent/silences", body, &answer)) == KT_CLI_OK) {
        if (c->json)
            print_json(answer);
        else
            printf("silence %lld made\n", (long long)json_integer_value(json_object_get(answer, "id")));
    }
    json_decref(answer);
    json_decref(body);
    return rc;
}

static int cmd_silence(cmd_t *c)
{
    const char *sub = c->argc > 1 ? c->argv[1] : "list";
    if (!strcmp(sub, "list") && c->argc <= 2)
        return get_and_show(c, "/api/agent/silences", kt_cli_show_silences);
    if (!strcmp(sub, "add"))
        return silence_add(c);
    if (!strcmp(sub, "rm") && c->argc == 3 && whole(c->argv[2]) > 0) {
        json_t *answer = NULL;
        int rc = kt_cli_call(c->cli, "DELETE", apr_pstrcat(c->pool, "/api/agent/silences/", c->argv[2], NULL),
                             NULL, &answer);
        if (rc == KT_CLI_OK)
            c->json ? print_json(answer) : (void)printf("silence %s ended\n", c->argv[2]);
        json_decref(answer);
        return rc;
    }
    return bad_usage("silence: list, add ... or rm ID (got %s)", sub);
}

static int cmd_token(cmd_t *c)
{
    const char *sub = c->argv[1];
    json_t *answer = NULL;
    int rc;
    if (!strcmp(sub, "list") && c->argc == 2)
        return get_and_show(c, "/api/agent/tokens", kt_cli_show_tokens);
    if (!strcmp(sub, "add") && (c->argc == 3 || (c->argc == 5 && !strcmp(c->argv[3], "--scope")))) {
        json_t *body = json_pack("{s:s}", "name", c->argv[2]);
        if (c->argc == 5)
            json_object_set_new(body, "scopes", json_string(c->argv[4]));
        rc = kt_cli_call(c->cli, "POST", "/api/agent/tokens", body, &answer);
        json_decref(body);
        if (rc == KT_CLI_OK && c->json)
            print_json(answer);
        else if (rc == KT_CLI_OK) {
            /* The token alone on stdout, so `T=$(koto token add ci)` works. */
            puts(json_string_value(json_object_get(answer, "token")));
            fprintf(stderr, "koto: token '%s' (%s) added; it is shown only now\n", c->argv[2],
                    json_string_value(json_object_get(answer, "scopes")));
        }
    } else if (!strcmp(sub, "revoke") && c->argc == 3) {
        rc = kt_cli_call(c->cli, "DELETE",
                         apr_pstrcat(c->pool, "/api/agent/tokens/", escape(c, c->argv[2]), NULL),
                         NULL, &answer);
        if (rc == KT_CLI_OK)
            c->json ? print_json(answer) : (void)printf("token %s revoked\n", c->argv[2]);
    } else {
        return bad_usage("token: list, add NAME [--scope S] or revoke NAME");
    }
    json_decref(answer);
    return rc;
}

static int cmd_remediations(cmd_t *c)
{
    const char *path = "/api/agent/remediations";
    if (c->argc == 3 && !strcmp(c->argv[1], "--state"))
        path = apr_pstrcat(c->pool, path, "?state=", escape(c, c->argv[2]), NULL);
    else if (c->argc != 1)
        return bad_usage("remediations takes only --state STATE (got %s)", c->argv[1]);
    return get_and_show(c, path, kt_cli_show_remediations);
}

/* The remediation path for argv[1], or NULL when it is not an id. */
static const char *remediation_path(cmd_t *c)
{
    return c->argc >= 2 && whole(c->argv[1]) > 0
               ? apr_pstrcat(c->pool, "/api/agent/remediations/", c->argv[1], NULL) : NULL;
}

static int cmd_show(cmd_t *c)
{
    const char *path = remediation_path(c);
    if (!path || c->argc != 2)
        return bad_usage("%s wants one remediation id", c->argv[0]);
    return get_and_show(c, path, kt_cli_show_remediation);
}

static int cmd_deny(cmd_t *c)
{
    const char *path = remediation_path(c);
    if (!path || c->argc != 2)
        return bad_usage("%s wants one remediation id", c->argv[0]);
    json_t *answer = NULL;
    int rc = kt_cli_call(c->cli, "POST", apr_pstrcat(c->pool, path, "/deny", NULL), NULL, &answer);
    if (rc == KT_CLI_OK)
        c->json ? print_json(answer) : (void)printf("remediation %s denied\n", c->argv[1]);
    json_decref(answer);
    return rc;
}

/* Polls a remediation until its run has a result; prints it. */
static int await_run(cmd_t *c, const char *path)
{
    for (int tries = 0; tries < 36000; tries++) { /* an hour at 100 ms */
        json_t *r = NULL;
        int rc = kt_cli_call(c->cli, "GET", path, NULL, &r);
        const char *state = rc == KT_CLI_OK ? json_string_value(json_object_get(r, "state")) : NULL;
        if (rc != KT_CLI_OK || (state && strcmp(state, "approved") && strcmp(state, "running"))) {
            if (rc == KT_CLI_OK)
                c->json ? print_json(r) : kt_cli_show_remediation(r);
            if (rc == KT_CLI_OK && strcmp(state, "succeeded"))
                rc = KT_CLI_FAILED;
            json_decref(r);
            return rc;
        }
        json_decref(r);
        apr_sleep(apr_time_from_msec(100));
    }
    fprintf(stderr, "koto: the run has no result after an hour\n");
    return KT_CLI_FAILED;
}

static int cmd_approve(cmd_t *c)
{
    const char *path = remediation_path(c);
    int yes = 0, wait = 0;
    for (int i = 2; path && i < c->argc; i++) {
        if (!strcmp(c->argv[i], "--yes"))
            yes = 1;
        else if (!strcmp(c->argv[i], "--wait"))
            wait = 1;
        else
            return bad_usage("approve: unknown argument %s", c->argv[i]);
    }
    if (!path)
        return bad_usage("approve wants a remediation id");
    /* The hash approved is the hash of the script shown here, so what a
     * person approves is what they read, even if a newer proposal came. */
    json_t *r = NULL, *answer = NULL;
    int rc = kt_cli_call(c->cli, "GET", path, NULL, &r);
    if (rc != KT_CLI_OK)
        return rc;
    const char *sha = json_string_value(json_object_get(r, "sha256"));
    if (!yes) {
        kt_cli_show_remediation(r);
        if (!stdin_is_terminal()) {
            json_decref(r);
            return bad_usage("approve: not a terminal to ask on; read the script with "
                                   "`koto show ID` and pass --yes");
        }
        printf("Approve and run this script? [y/N] ");
        fflush(stdout);
        char line[16] = "";
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            printf("not approved\n");
            json_decref(r);
            return KT_CLI_FAILED;
        }
    }
    json_t *body = json_pack("{s:s}", "sha256", sha ? sha : "");
    rc = kt_cli_call(c->cli, "POST", apr_pstrcat(c->pool, path, "/approve", NULL), body, &answer);
    json_decref(body);
    json_decref(r);
    if (rc == KT_CLI_OK && wait)
        rc = await_run(c, path);
    else if (rc == KT_CLI_OK)
        c->json ? print_json(answer) : (void)printf("remediation %s approved; it runs now\n", c->argv[1]);
    json_decref(answer);
    return rc;
}

/* ---- main ----------------------------------------------------------------- */

typedef struct {
    const char *name;
    int (*run)(cmd_t *);
} command_t;

static const command_t commands[] = {
    {"status", cmd_status},   {"events", cmd_events},
    {"history", cmd_history}, {"silence", cmd_silence}, {"token", cmd_token},
    {"remediations", cmd_remediations}, {"show", cmd_show},
    {"approve", cmd_approve}, {"deny", cmd_deny},
};

/* The token's text from path, or NULL (with why, when loud). */
static const char *read_token(const char *path, int loud, apr_pool_t *pool)
{
    char buf[256];
    FILE *f = fopen(path, "r");
    if (!f) {
        if (loud)
            perror(apr_psprintf(pool, "koto: %s", path));
        return NULL;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    return n ? apr_pstrdup(pool, buf) : NULL;
}

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    if (apr_app_initialize(&argc, (const char *const **)&argv, NULL) != APR_SUCCESS ||
        apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return KT_CLI_UNREACHABLE;
    const char *url = getenv("KOTO_URL"), *token_file = getenv("KOTO_TOKEN_FILE"), *state_dir = NULL,
               *cacert = getenv("KOTO_CACERT");
    int json = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return KT_CLI_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if ((!strcmp(a, "--url") || !strcmp(a, "--token-file") || !strcmp(a, "--state-dir") ||
                    !strcmp(a, "--cacert")) &&
                   i + 1 < argc) {
            *(a[2] == 'u' ? &url : a[2] == 't' ? &token_file : a[2] == 's' ? &state_dir : &cacert) =
                argv[++i];
        } else {
            return bad_usage("unknown option %s", a);
        }
    }
    if (i >= argc)
        return bad_usage("which command? (status, events, history, silence, remediations, show, "
                         "approve, deny, token)");
    if (!url || !*url)
        url = "http://127.0.0.1:5000";
    /* An explicitly named token file must be readable; the default one is
     * only used when it is (reading the status needs no token). */
    int named = token_file != NULL;
    if (!token_file) {
        char *joined = NULL;
        apr_filepath_merge(&joined, state_dir ? state_dir : kt_default_state_dir(pool), "token",
                           APR_FILEPATH_NATIVE, pool);
        token_file = joined ? joined : "token";
    }
    if (!strcmp(argv[i], "token") && i + 1 == argc) {
        const char *t = read_token(token_file, 0, pool);
        printf("%s (%s)\n", token_file, t ? "readable" : "not readable by this user");
        return t ? KT_CLI_OK : KT_CLI_REFUSED;
    }
    const char *token = read_token(token_file, named, pool);
    if (named && !token)
        return KT_CLI_REFUSED;
    for (size_t k = 0; k < sizeof commands / sizeof *commands; k++) {
        if (strcmp(argv[i], commands[k].name) != 0)
            continue;
        cmd_t c = {kt_cli_open(url, token, cacert && *cacert ? cacert : NULL), json, pool, argc - i,
                   argv + i};
        if (!c.cli) {
            fprintf(stderr, "koto: libcurl did not start\n");
            return KT_CLI_UNREACHABLE;
        }
        int rc = commands[k].run(&c);
        kt_cli_close(c.cli);
        apr_pool_destroy(pool);
        apr_terminate();
        return rc;
    }
    return bad_usage("unknown command %s", argv[i]);
}
