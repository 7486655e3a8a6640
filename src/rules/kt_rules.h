/*
 * kt_rules.h - the Lua side of koto: the configuration file, the analysis
 * rules and the fix-script templates, all files a person edits.
 *
 * DESIGN
 * A rule set (kt_rules_t) is everything loaded from the shipped directory
 * (lua/) and an optional user directory, whose files override shipped ones
 * of the same name: koto.conf.lua, rules/<area>.lua, templates/<issue>.lua.
 * Loading builds the whole set beside the one in use and checks every file;
 * it either succeeds as a whole or reports the first problem as
 * "file:line: message" and leaves the running set alone. A set is
 * immutable and refcounted, so a reload swaps one pointer.
 *
 * Sandbox: every chunk is text (no bytecode) and runs in its own
 * environment over a read-only set of safe globals (no os, io, package,
 * debug, require, load, dofile, pcall); reading or writing an unknown global
 * is an error. Every call into Lua has an instruction budget and the state a
 * memory cap; exceeding either fails that call with a clear error while the
 * daemon goes on. Lua states are never shared between threads: a set keeps a
 * small pool of states and lends one to each caller.
 *
 * Values from requests reach a generated script only through the quoting
 * helpers of its dialect (kt_rules_quote_*): templates see parameters
 * already quoted, never raw.
 */
#ifndef KT_RULES_H
#define KT_RULES_H

#include <stdio.h>

#include <apr_pools.h>
#include <jansson.h>

#include "kt_base.h"
#include "kt_mon.h"

typedef struct kt_rules_t kt_rules_t;

typedef struct {
    const char *dir;       /* the shipped lua/ directory */
    const char *user_dir;  /* optional: adds and overrides by file name; may be NULL */
    const char *config_file; /* optional: this file instead of the dirs' koto.conf.lua */
    apr_size_t mem_limit;  /* bytes per Lua state (0: 32 MiB) */
    unsigned budget;       /* VM instructions per call (0: 10 million) */
    unsigned states;       /* Lua states kept for concurrent callers (0: 4) */
} kt_rules_opts_t;

/* ---- the configuration the file sets (declared once, in config.c) ------------------ */

/* One notification channel of the `notify` list (src/notify/ sends them). */
typedef enum { KT_NOTIFY_WEBHOOK, KT_NOTIFY_ALERTMANAGER, KT_NOTIFY_EMAIL } kt_notify_kind_t;
/* What a webhook sends: koto's JSON, or Alertmanager's webhook payload (version 4). */
typedef enum { KT_NOTIFY_FORMAT_KOTO, KT_NOTIFY_FORMAT_ALERTMANAGER } kt_notify_format_t;

typedef struct {
    const char *name, *value;
} kt_notify_header_t;

typedef struct {
    const char *name;          /* [A-Za-z0-9_.-], unique in the list */
    kt_notify_kind_t kind;
    kt_notify_format_t format; /* webhook only */
    const char *url;           /* http:// or https://; alertmanager: its base URL */
    const char *secret_file;   /* NULL: unsigned */
    const unsigned char *secret; /* the signing key read from it (never shown) */
    apr_size_t secret_len;
    const kt_notify_header_t *headers; /* extra request headers (values never shown) */
    unsigned nheaders;
    int min_severity;          /* kt_severity_t: events below are not sent */
    kt_type_set_t types;       /* empty: every type */
    const char *const *subjects; /* only these subjects (mount point, process name); NULL: all */
    unsigned nsubjects;
    int send_resolved;         /* resolved events too (default on) */
    unsigned timeout_ms;       /* one attempt's limit */
    unsigned backoff_ms;       /* the first retry's delay; doubled each time */
    unsigned backoff_max_ms;   /* the delay's cap */
    unsigned max_age_s;        /* undelivered after this long: failed */
    unsigned resend_s;         /* alertmanager: firing and recently resolved alerts re-sent this often */
    unsigned group_s;          /* events within this many seconds go as one message (0: each alone) */
    unsigned repeat_s;         /* a reminder this often while a condition holds (0: none) */
    /* email */
    const char *from;
    const char *const *to;
    unsigned nto;
    const char *credentials_file; /* "user:password" on its first line; NULL: no login */
    const char *user, *password;  /* read from it (never shown) */
    int starttls;              /* smtp://: STARTTLS required (default on) */
    const char *ca_file;       /* trust these CAs instead of the system's */
} kt_notify_conf_t;

/* A recurring maintenance window of the `maintenance` list: events that
 * fall in it (and match its types and subjects) are logged, marked, and
 * not notified. Local wall-clock time, so a daylight-saving change moves
 * nothing: 02:00-04:00 is 02:00-04:00 on the clock, however long that is. */
typedef struct {
    const char *name;
    unsigned days;             /* bit 0 Sunday .. bit 6 Saturday: days the window opens */
    unsigned start_min, end_min; /* minutes after midnight; end <= start: ends the next day */
    kt_type_set_t types;       /* empty: every type */
    const char *const *subjects; /* NULL: all */
    unsigned nsubjects;
} kt_maint_conf_t;
/* One entry of the `remediate` list: which fix an event gets. */
typedef struct {
    const char *event;     /* an event type (process_down...) */
    const char *subject;   /* the event's subject (a check's name), or NULL: any */
    const char *template;  /* a fix-script template */
    const char *params;    /* its fixed parameters, a JSON object's text */
    int auto_run;          /* auto = true: proposed and approved by the configuration */
    unsigned max_runs;     /* the circuit breaker: at most this many automatic runs... */
    unsigned window_s;     /* ...within this many seconds, then remediation_gave_up */
} kt_remedy_rule_t;

typedef struct {
    kt_mon_conf_t mon;          /* interval, thresholds, capacities */
    const char *listen;
    const char *server_names;   /* Host names answered besides localhost and the address */
    const char *tls_cert, *tls_key; /* PEM files: the listener speaks TLS */
    const char *tls_client_ca;  /* PEM: clients must show a certificate it signed */
    int tls_self_signed;        /* tls = "self-signed": made in state_dir at first start */
    int allow_plain_http;       /* plain HTTP on an address other machines reach */
    const char *state_dir;
    unsigned session_lifetime_s; /* a dashboard login lasts this long */
    unsigned session_max;        /* dashboard logins kept at once */
    const char *scripts_dir;    /* where save_script_to_file writes */
    const char *web_dir;
    const char *user_dir;       /* the user rules/templates directory */
    const char *rule_tests;     /* a test file, or a directory of them, that kotod -t runs */
    const char *script_os;      /* "auto", "linux" or "windows" */
    int store;                  /* keep events and alert state in STATE_DIR/koto.db */
    unsigned store_event_days;  /* events older than this are deleted (0: kept) */
    unsigned store_max_events;  /* beyond this many, the oldest events go (0: no limit) */
    unsigned store_max_mb;      /* koto.db never grows past this many MiB */
    unsigned history_raw_hours;   /* every reading's values are kept this long */
    unsigned history_minute_days; /* 1-minute min/avg/max */
    unsigned history_hour_days;   /* 1-hour min/avg/max */
    unsigned kept_descriptors;  /* Linux: files kept open between readings (kt_plat_opts_t) */
    const char *metrics;        /* /metrics' families: "koto", "node" or "both" */
    const kt_notify_conf_t *notify; /* the notification channels */
    unsigned nnotify;
    const kt_maint_conf_t *maintenance; /* recurring windows without notifications */
    unsigned nmaintenance;
    unsigned remedy_timeout_s;  /* a remediation's run is killed (its whole group) after this */
    unsigned remedy_output_kb;  /* output kept of a run */
    unsigned remedy_expiry_s;   /* a proposal not approved by then expires */
    const char *remedy_interpreter; /* NULL: the OS's (bash, powershell.exe) */
    const char *remedy_root_socket; /* NULL: scripts run as kotod's user; else koto-run-approved's socket */
    unsigned remedy_verify_readings; /* readings after a run for its condition to resolve */
    const kt_remedy_rule_t *remediate; /* may be NULL */
    unsigned nremediate;
} kt_conf_t;

/* A deep copy: every string and the disk overrides allocated in pool. */
void kt_conf_copy(kt_conf_t *dst, const kt_conf_t *src, apr_pool_t *pool);

/* Describes every configuration key, one line each, for `kotod --help-config`. */
void kt_conf_describe(FILE *to);
/* Every setting with its value, type, bounds and whether a reload applies
 * it, from the same table: [{key, type, value, min?, max?, reloadable, help}]. */
json_t *kt_conf_to_json(const kt_conf_t *conf);

/* 1 when local time t falls in window w (whatever the event). */
int kt_maint_open(const kt_maint_conf_t *w, apr_time_t t);

/* "webhook", "alertmanager". */
const char *kt_notify_kind_name(kt_notify_kind_t k);
/* The channel called name, or NULL. */
const kt_notify_conf_t *kt_conf_channel(const kt_conf_t *conf, const char *name);

/* ---- loading ------------------------------------------------------------------------------- */

/* Loads and checks everything. base supplies the values the file does not
 * set (command-line options win over the file, so the caller applies them
 * afterwards). On failure returns non-success and writes "file:line: what"
 * into err. The set lives until the last kt_rules_release. */
apr_status_t kt_rules_load(kt_rules_t **out, const kt_rules_opts_t *opts, const kt_conf_t *base,
                           char *err, apr_size_t errlen);
/* Only the settings named in keys (a NULL-ended list of top-level names,
 * as kotod --help-config writes them) from the configuration file that
 * kt_rules_load would read, over what conf holds: for work that starts
 * before the rules are loaded. One run of that file alone, in a state of its
 * own; safe beside a load on another thread. A failure is the full load's to
 * report: conf then holds what was applied before it. */
apr_status_t kt_rules_conf_peek(kt_conf_t *conf, const kt_rules_opts_t *opts,
                                const char *const *keys, apr_pool_t *pool);
void kt_rules_retain(kt_rules_t *r);
void kt_rules_release(kt_rules_t *r);

/* The configuration the set was loaded with (owned by the set). */
const kt_conf_t *kt_rules_conf(const kt_rules_t *r);
/* Replaces it with the effective one (command-line options applied); only
 * before the set is shared with other threads. Strings are copied. */
void kt_rules_set_conf(kt_rules_t *r, const kt_conf_t *conf);
/* The set in use, kept for the threads that use it: a reload swaps a new
 * set in with kt_rules_cell_set, and every caller takes the current one out
 * with kt_rules_cell_get, retained, releasing it when done. Thread-safe. The
 * cell's set is released when pool is destroyed. */
typedef struct kt_rules_cell_t kt_rules_cell_t;
apr_status_t kt_rules_cell_create(kt_rules_cell_t **out, apr_pool_t *pool);
/* Puts rules (retained; may be NULL) in the cell and releases the one before. */
void kt_rules_cell_set(kt_rules_cell_t *c, kt_rules_t *rules);
/* The cell's set, retained (kt_rules_release it), or NULL when it has none. */
kt_rules_t *kt_rules_cell_get(kt_rules_cell_t *c);

/* A new set: base's files and configuration, with thresholds (a JSON
 * object of settings as GET /api/agent/config names them, "cpu.threshold"
 * or "thresholds.cpu.threshold" = 70, or a section "cpu" = {...}; may be
 * NULL) applied and conditions ([{name: "x.lua", source: "<Lua>"}], at
 * most KT_RULES_MAX_PROPOSED; may be NULL) added, replacing base's of the
 * same name. Checked as a reload is: KT_EINPUT with "file:line: what" or
 * "setting: what" in err. The set is the caller's (kt_rules_release). */
#define KT_RULES_MAX_PROPOSED 16
/* Each proposed condition registers its event type for the life of the
 * process (kt_event_type_register): proposals are refused once fewer than
 * this many of KT_EV_MAX_TYPES would stay free for the configuration. */
#define KT_RULES_TYPES_KEPT 16
apr_status_t kt_rules_derive(kt_rules_t **out, const kt_rules_t *base, json_t *thresholds,
                             json_t *conditions, char *err, apr_size_t errlen);

/* "N rules in M files, K templates" for logs. */
const char *kt_rules_summary(const kt_rules_t *r, apr_pool_t *pool);

/* ---- analysis ---------------------------------------------------------------------------- */

/* Runs every rule against a sample and the recent history. Returns a JSON
 * array of findings (caller owns it):
 *   {rule, bottleneck, category, severity, evidence: {...}, suggestions: [...], source}
 * A rule that fails (error, budget, memory) is reported as a finding with
 * category "rule_error" and its file:line, and the others still run. */
json_t *kt_rules_analyze(kt_rules_t *r, const kt_sample_t *s, const kt_hist_point_t *hist,
                         unsigned nhist);
/* The same on a reading already in JSON (the shape kt_json_sample writes,
 * e.g. `kotod --once` or a written fixture) and a JSON array of history
 * points (kt_json_history_point's shape, oldest first; NULL: none). Both
 * stay the caller's; the rules see exactly these values. */
json_t *kt_rules_analyze_json(kt_rules_t *r, json_t *sample, json_t *history);

/* ---- conditions (conditions.c) ------------------------------------------------------------ */

/* Runs every condition of the set on s and writes their verdicts for the
 * monitor to judge (kt_mon_set_conditions); a condition that fails is
 * switched off and yields a rule_error verdict from then on. Only one
 * thread at a time per set (the one that ingests readings). */
unsigned kt_rules_conditions(kt_rules_t *r, const kt_sample_t *s, kt_mon_verdict_t *out,
                             unsigned max);
unsigned kt_rules_nconditions(const kt_rules_t *r);
/* The set's conditions as loaded, in file order: [{name, key, source
 * ("file:line" of value), above | below, clear_below | clear_above, hold,
 * severity: {low, medium, high} (null: unused band), each, match}]. key is
 * what their verdicts carry (kt_mon_verdict_t), to find their state. Any
 * thread: only what loading wrote. */
json_t *kt_rules_conditions_json(const kt_rules_t *r);
/* Switches every condition back on (a test case starts afresh). */
void kt_rules_conditions_reset(kt_rules_t *r);

/* ---- fix-script templates -------------------------------------------------------------------- */

/* [{name, description, admin, dialects: [..], parameters: [{name, type, required, ...}]}] */
json_t *kt_rules_templates(kt_rules_t *r);

typedef enum { KT_DIALECT_BASH, KT_DIALECT_POWERSHELL } kt_dialect_t;

/* Renders template `name` with params (a JSON object) into *script
 * (malloc'd; the caller frees it). Fails with KT_ENOTFOUND (no such
 * template), KT_EINPUT (a parameter the template refuses, or a dialect it
 * lacks), or the Lua call's KT_ESCRIPT, KT_EBUDGET or KT_EMEMCAP, with a
 * message in err (file:line for a template's own error). */
apr_status_t kt_rules_render(kt_rules_t *r, const char *name, kt_dialect_t dialect,
                             json_t *params, char **script, char *err, apr_size_t errlen);

/* ---- quoting (quote.c), pure functions, also used by tests and fuzzers ------------------- */

/* Quotes value as one literal word of the dialect; NULL when it cannot be
 * represented safely (a NUL byte, invalid UTF-8). Result malloc'd. */
char *kt_rules_quote(kt_dialect_t dialect, const char *value, apr_size_t len);

/* ---- saving (save.c) ------------------------------------------------------------------------- */

/* NULL when name is a plain file name a script may be saved under, else why not. */
const char *kt_rules_check_script_name(const char *name, apr_size_t len);
/* Writes content as dir/name (see save.c for every refusal); err says why not. */
apr_status_t kt_rules_save_script(const char *dir, const char *name, const char *content,
                                  apr_size_t len, int overwrite, int executable, char *err,
                                  apr_size_t errlen);

#endif
