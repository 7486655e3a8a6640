/* opts.c - kotod's command line, parsed with apr_getopt_long. */
#include "daemon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_getopt.h>
#include <apr_strings.h>

#ifdef _WIN32
#define KT_LUA_DIR_HELP "lua\\ beside kotod.exe"
#define KT_WEB_DIR_HELP "web\\ beside kotod.exe"
#define KT_CONF_HELP "LUA_DIR\\koto.conf.lua"
#define KT_RUN_HELP "Runs as the service kotod when the SCM starts it, else in this console\n" \
                    "until Ctrl-C."
#else
#define KT_LUA_DIR_HELP KT_REL_LUA_DIR " from kotod's directory, or lua/ beside it"
#define KT_WEB_DIR_HELP KT_REL_WEB_DIR " from kotod's directory, or web/ beside it"
#define KT_CONF_HELP "koto.conf.lua in /etc/koto or PREFIX/etc/koto when installed, else in LUA_DIR"
#define KT_RUN_HELP "Runs in the foreground; stop it with SIGINT or SIGTERM."
#endif

enum { OPT_PROCFS = 256, OPT_SYSFS, OPT_ROOTFS, OPT_INTERVAL, OPT_ONCE, OPT_ONCE_DELAY,
       OPT_TOP, OPT_LOG_LEVEL, OPT_LISTEN, OPT_STATE_DIR, OPT_WEB_DIR, OPT_PIDFILE, OPT_SYSLOG,
       OPT_LUA_DIR, OPT_USER_DIR, OPT_TEST_RULES, OPT_HELP_CONFIG, OPT_INSTALL, OPT_UNINSTALL,
       OPT_START_TYPE, OPT_FOREGROUND, OPT_CONTROL, OPT_TEST_NOTIFY, OPT_TOKEN, OPT_SCOPE,
       OPT_REPLAY, OPT_FROM, OPT_TO };

static const apr_getopt_option_t options[] = {
    {"config", 'c', 1, "configuration file (default " KT_CONF_HELP ")"},
    {"lua-dir", OPT_LUA_DIR, 1, "shipped rules and templates (default " KT_LUA_DIR_HELP ")"},
    {"user-dir", OPT_USER_DIR, 1, "your rules/ and templates/, overriding shipped ones by name"},
    {"test-rules", OPT_TEST_RULES, 1, "feed recorded readings (JSON) through thresholds and rules"},
    {"replay", OPT_REPLAY, 0, "judge the stored history against this configuration and exit"},
    {"from", OPT_FROM, 1, "with --replay: start (7d, 24h, 90m back, or epoch ms; default 24h)"},
    {"to", OPT_TO, 1, "with --replay: end (a span back from now or epoch ms; default now)"},
    {"help-config", OPT_HELP_CONFIG, 0, "list every configuration setting and exit"},
    {"test-notify", OPT_TEST_NOTIFY, 1, "send a test message through notify channel NAME and exit"},
    {"listen", OPT_LISTEN, 1, "address to serve on (default 127.0.0.1:5000; port 0 picks one)"},
    {"state-dir", OPT_STATE_DIR, 1, "where the API tokens are kept"},
    {"token", OPT_TOKEN, 1, "add NAME, revoke NAME or list: the API's named tokens, then exit"},
    {"scope", OPT_SCOPE, 1, "with --token add: read, propose, control (default read,propose)"},
    {"web-dir", OPT_WEB_DIR, 1, "dashboard files (default " KT_WEB_DIR_HELP ")"},
#ifdef _WIN32
    {"install", OPT_INSTALL, 0, "install the service kotod with the other options given"},
    {"start-type", OPT_START_TYPE, 1, "with --install: auto (default) or demand"},
    {"uninstall", OPT_UNINSTALL, 0, "stop and remove the service"},
    {"control", OPT_CONTROL, 1, "start, stop, reload or status of the service"},
    {"foreground", OPT_FOREGROUND, 0, "run in this console (also the default from a prompt)"},
#else
    {"daemon", 'd', 0, "detach from the terminal (log to syslog, lock the pidfile)"},
    {"pidfile", OPT_PIDFILE, 1, "pidfile for --daemon (default STATE_DIR/kotod.pid)"},
    {"syslog", OPT_SYSLOG, 0, "log to syslog instead of stderr"},
#endif
    {"check", 't', 0, "check the configuration and exit (0 when valid)"},
    {"procfs", OPT_PROCFS, 1, "read /proc from DIR (twice with --once: a t0/t1 pair)"},
    {"sysfs", OPT_SYSFS, 1, "read /sys from DIR"},
    {"rootfs", OPT_ROOTFS, 1, "prefix for filesystem mount points (statvfs)"},
    {"interval", OPT_INTERVAL, 1, "milliseconds between readings (default 30000, min 100)"},
    {"once", OPT_ONCE, 0, "print one full sample as JSON and exit"},
    {"once-delay", OPT_ONCE_DELAY, 1, "milliseconds between the two readings of --once (1000)"},
    {"top", OPT_TOP, 1, "processes in the top lists (default 5)"},
    {"log-level", OPT_LOG_LEVEL, 1, "error, warn, info (default) or debug"},
    {"help", 'h', 0, "show this help"},
    {"version", 'V', 0, "show the version"},
    {NULL, 0, 0, NULL},
};

static void usage(FILE *to)
{
    fprintf(to, "usage: kotod [options]\n\n"
                "Watches this machine, detects trouble and explains it.\n"
                KT_RUN_HELP "\n\n");
    for (const apr_getopt_option_t *o = options; o->name; o++) {
        char left[40];
        snprintf(left, sizeof left, "%s%c%s--%s%s", o->optch < 256 ? "-" : "",
                 o->optch < 256 ? o->optch : ' ', o->optch < 256 ? ", " : "  ", o->name,
                 o->has_arg ? " ARG" : "");
        fprintf(to, "  %-24s %s\n", o->optch < 256 ? left : left + 1, o->description);
    }
}

static int parse_uint(const char *name, const char *arg, unsigned min, unsigned max,
                      unsigned *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || arg[0] == '-' || v < min || v > max) {
        fprintf(stderr, "kotod: --%s wants a whole number from %u to %u, not '%s'\n", name, min,
                max, arg);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static void print_error(void *data, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void print_error(void *data, const char *fmt, ...)
{
    (void)data;
    va_list ap;
    va_start(ap, fmt);
    fputs("kotod: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int kt_opts_parse(kt_opts_t *o, int argc, const char *const *argv, apr_pool_t *pool)
{
    memset(o, 0, sizeof *o);
    o->once_delay_ms = 1000;
    o->log_level = KT_LOG_INFO;
    o->lua_dir = kt_default_lua_dir(pool);

    apr_getopt_t *g;
    apr_getopt_init(&g, pool, argc, argv);
    g->errfn = print_error;
    int ch, lua_given = 0;
    const char *arg;
    apr_status_t st;
    while ((st = apr_getopt_long(g, options, &ch, &arg)) == APR_SUCCESS) {
        switch (ch) {
        case OPT_PROCFS:
            if (o->nprocfs == KT_MAX_PROCFS) {
                fprintf(stderr, "kotod: --procfs given more than twice\n");
                return -1;
            }
            o->procfs[o->nprocfs++] = arg;
            break;
        case OPT_SYSFS: o->sysfs = arg; break;
        case 'c': o->config_file = arg; break;
        case OPT_LUA_DIR: o->lua_dir = arg; lua_given = 1; break;
        case OPT_USER_DIR: o->user_dir = arg; break;
        case OPT_TEST_RULES: o->test_rules = arg; break;
        case OPT_TEST_NOTIFY: o->test_notify = arg; break;
        case OPT_REPLAY: o->replay = 1; break;
        case OPT_FROM: o->replay_from = arg; break;
        case OPT_TO: o->replay_to = arg; break;
        case OPT_HELP_CONFIG: o->help_config = 1; break;
        case OPT_LISTEN: o->listen = arg; break;
        case OPT_STATE_DIR: o->state_dir = arg; break;
        case OPT_TOKEN:
            if (strcmp(arg, "add") != 0 && strcmp(arg, "revoke") != 0 &&
                strcmp(arg, "list") != 0) {
                fprintf(stderr, "kotod: --token wants add NAME, revoke NAME or list, not '%s'\n",
                        arg);
                return -1;
            }
            o->token_action = arg;
            break;
        case OPT_SCOPE: o->token_scope = arg; break;
        case OPT_WEB_DIR: o->web_dir = arg; break;
        case OPT_PIDFILE: o->pidfile = arg; break;
        case OPT_SYSLOG: o->syslog = 1; break;
        case 'd': o->daemonize = 1; break;
        case OPT_INSTALL: o->install = 1; break;
        case OPT_UNINSTALL: o->uninstall = 1; break;
        case OPT_FOREGROUND: o->foreground = 1; break;
        case OPT_CONTROL: o->control = arg; break;
        case OPT_START_TYPE:
            if (strcmp(arg, "auto") != 0 && strcmp(arg, "demand") != 0) {
                fprintf(stderr, "kotod: --start-type wants auto or demand, not '%s'\n", arg);
                return -1;
            }
            o->start_demand = arg[0] == 'd';
            break;
        case 't': o->check = 1; break;
        case OPT_ROOTFS: o->rootfs = arg; break;
        case OPT_INTERVAL:
            if (parse_uint("interval", arg, KT_MON_MIN_INTERVAL_MS, KT_MON_MAX_INTERVAL_MS,
                           &o->interval_ms))
                return -1;
            break;
        case OPT_ONCE: o->once = 1; break;
        case OPT_ONCE_DELAY:
            if (parse_uint("once-delay", arg, 0, 60000, &o->once_delay_ms))
                return -1;
            break;
        case OPT_TOP:
            if (parse_uint("top", arg, 1, 100, &o->top_n))
                return -1;
            break;
        case OPT_LOG_LEVEL:
            if (kt_log_parse_level(arg, &o->log_level) != 0) {
                fprintf(stderr, "kotod: --log-level wants error, warn, info or debug, not '%s'\n",
                        arg);
                return -1;
            }
            break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("kotod %s\n", KT_VERSION); return 1;
        }
    }
    if (st != APR_EOF) {
        fputs("Try 'kotod --help'.\n", stderr);
        return -1;
    }
    if (o->token_action && strcmp(o->token_action, "list") != 0) {
        /* getopt stops at NAME; "--scope S" may follow it. */
        if (g->ind >= argc || argv[g->ind][0] == '-') {
            fprintf(stderr, "kotod: --token %s wants a NAME\n", o->token_action);
            return -1;
        }
        o->token_name = argv[g->ind++];
        if (g->ind + 1 < argc && strcmp(argv[g->ind], "--scope") == 0) {
            o->token_scope = argv[g->ind + 1];
            g->ind += 2;
        } else if (g->ind < argc && strncmp(argv[g->ind], "--scope=", 8) == 0) {
            o->token_scope = argv[g->ind++] + 8;
        }
    }
    if (o->token_scope && (!o->token_action || strcmp(o->token_action, "add") != 0)) {
        fprintf(stderr, "kotod: --scope goes with --token add\n");
        return -1;
    }
    if (g->ind < argc) {
        fprintf(stderr, "kotod: unexpected argument '%s'\nTry 'kotod --help'.\n", argv[g->ind]);
        return -1;
    }
    /* An installed kotod reads sysconfdir's file; a Lua directory given
     * on the command line brings its own koto.conf.lua. */
    if (!o->config_file && !lua_given)
        o->config_file = kt_default_config_file(pool);
    if (o->nprocfs == 2 && !o->once) {
        fprintf(stderr, "kotod: a second --procfs only makes sense with --once\n");
        return -1;
    }
    return 0;
}
