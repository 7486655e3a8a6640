/* api_internal.h - private to src/api/: the API's state, the operations that
 * endpoints and tools share, and the checks every handler runs. */
#ifndef KT_API_INTERNAL_H
#define KT_API_INTERNAL_H

#include "kt_api.h"
#include "kt_base.h"

#include <stdatomic.h>

typedef struct kt__cache_t kt__cache_t;
typedef struct kt__stream_hub_t kt__stream_hub_t;
typedef struct kt__tokens_t kt__tokens_t;
typedef struct kt__sessions_t kt__sessions_t;

struct kt_api_t {
    kt_mon_t *mon;
    kt_rules_cell_t *rules;
    kt_store_t *store;
    kt_notify_t *notify;
    kt_remedy_t *remedy; /* NULL: remediation is off (no store) */
    kt_http_t *http; /* for its request counters in /metrics */
    const char *token; /* the default one: control */
    kt__tokens_t *tokens; /* the named ones (tokens.c) */
    const char *state_dir;
    apr_thread_mutex_t *tokens_edit; /* one edit of STATE_DIR/tokens at a time (tokens_api.c) */
    int require_token_always;
    kt__sessions_t *sessions; /* the dashboard's logins (session.c) */
    const char *web_dir;
    const char *procfs, *sysfs;
    apr_time_t started;
    apr_status_t (*reload)(void *baton, char *err, apr_size_t errlen);
    void *reload_baton;
    unsigned stream_sub;
    kt__stream_hub_t *stream_hub; /* the live stream's clients (stream.c) */
    kt__cache_t *status_cache;
    kt__cache_t *pages[2][2]; /* /metrics, [OpenMetrics][gzip] */
    /* The /metrics families the settings turned on when a worker last
     * rendered the page (0: not yet); read by the loop, which takes no lock. */
    atomic_uint metrics_mask;
    atomic_size_t metrics_len; /* the last page's length: the next one's first allocation */
    /* The families read from /proc and /sys per page (metrics_procfs.c,
     * metrics_sysfs.c) as last read, per format (1: OpenMetrics): re-read
     * at most every KT__METRICS_FILES_EVERY, whatever the scrape rate. */
    apr_thread_mutex_t *files_lock;
    struct {
        char *text; /* malloc'd */
        size_t len;
        unsigned mask;
        apr_time_t at;
    } files[2];
};
#define KT__METRICS_FILES_EVERY apr_time_from_sec(15)

/* What an endpoint needs: one scope (KT_SCOPE_*), with KT__TOKEN_ALWAYS
 * when a read must show the token even on loopback (remediations, the
 * audit, /mcp). */
#define KT__TOKEN_ALWAYS 0x100u
/* Returns 1 when the request may proceed; otherwise it has already answered
 * 401 (no or wrong token), 403 insufficient_scope (a token without the
 * scope) or 403 cross_origin, and returns 0. */
int kt__api_allow(kt_api_t *api, kt_http_req_t *req, unsigned need);
/* The scopes of the request's bearer token, 0 when it has none or an unknown
 * one; name (may be NULL) gets the token's name ("default" for the token
 * file's). */
#define KT__TOKEN_NAME_MAX 64
unsigned kt__api_scopes(kt_api_t *api, kt_http_req_t *req, char name[KT__TOKEN_NAME_MAX + 1]);
/* tokens.c: the named tokens of STATE_DIR/tokens, reread when it changes. */
apr_status_t kt__tokens_create(kt__tokens_t **out, const char *state_dir, apr_pool_t *pool);
unsigned kt__tokens_lookup(kt__tokens_t *t, const char *token, char name[KT__TOKEN_NAME_MAX + 1]);
/* The scopes the token called name has now; 0 once it is revoked. */
unsigned kt__tokens_scopes_of(kt__tokens_t *t, const char *name);
/* The scopes of token (len bytes: the default one or a named one), 0 when
 * it is neither; name gets its name. */
unsigned kt__api_token_scopes(kt_api_t *api, const char *token, apr_size_t len,
                              char name[KT__TOKEN_NAME_MAX + 1]);
/* The scopes of the token called name now ("default": every one). */
unsigned kt__api_named_scopes(kt_api_t *api, const char *name);
/* Answers 403 insufficient_scope: need is what the request wanted. */
void kt__api_refuse_scope(kt_http_req_t *req, unsigned need, unsigned have);

/* 1 when req carries the token or a live session's cookie; answers nothing. */
int kt__api_authenticated(kt_api_t *api, kt_http_req_t *req);
/* Whether secret a (la bytes) is b, compared without an early exit, so the
 * time taken does not tell how much of a guess was right. */
int kt__api_same_secret(const char *a, apr_size_t la, const char *b);
/* 1 when req comes from a page of another origin (Origin, Sec-Fetch-Site). */
int kt__api_cross_origin(kt_api_t *api, kt_http_req_t *req);

/* ---- the dashboard's sessions (session.c) --------------------------------------------- */

/* At most max sessions at once, each living lifetime_s from its login. */
apr_status_t kt__sessions_create(kt__sessions_t **out, unsigned max, unsigned lifetime_s,
                                 apr_pool_t *pool);
/* The scopes of the live session the request's koto_session cookie names
 * (those its token has now), 0 when none; name (may be NULL) gets the
 * token's name. A session whose token was revoked ends here. */
unsigned kt__session_scopes(kt_api_t *api, kt_http_req_t *req, char name[KT__TOKEN_NAME_MAX + 1]);
/* -1: no live session named by the cookie; 1: the session lets the request
 * through; 0: its token lacks scope, or it changes state without the
 * session's X-CSRF-Token, and it has been answered 403. */
int kt__session_allow(kt_api_t *api, kt_http_req_t *req, unsigned scope, int changes_state);
void kt__api_session_routes(kt_http_t *http, kt_api_t *api);

/* Parses an optional unsigned query parameter; on a bad value answers 400
 * and returns -1. */
int kt__api_query_u64(kt_http_req_t *req, const char *name, uint64_t def, uint64_t max,
                      uint64_t *out);

/* ---- operations: what an endpoint and a tool do, without HTTP ------------------------ */
/*
 * An operation takes its parameters as a JSON object and either fills
 * *result (the caller owns it) and returns APR_SUCCESS, or returns a status
 * (kt_base.h) with a code and a message in *err. Endpoints serve them
 * (kt__api_serve_op), the tool registry dispatches to them from its table
 * (tools.c); kt__api_reply_failure is the one place a status becomes an
 * HTTP answer (fail.c).
 */
typedef struct {
    const char *code;  /* machine-readable: the JSON error's "code" */
    char message[600]; /* for people; names file:line where a file is involved */
} kt__api_err_t;

typedef struct {
    kt_api_t *api;
    apr_pool_t *pool; /* the request's */
    const char *who;  /* the client: "token NAME from ADDR", for the log and the audit */
    unsigned scopes;  /* its token's (0: none) */
} kt__api_call_t;

typedef apr_status_t (*kt__api_op_fn)(const kt__api_call_t *call, json_t *params,
                                      json_t **result, kt__api_err_t *err);

/* Fills err; returns st, so an operation can `return kt__api_fail(...)`. */
apr_status_t kt__api_fail(kt__api_err_t *err, apr_status_t st, const char *code,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Answers a failed operation: KT_EPARSE 400, KT_ENOTFOUND 404, EEXIST 409,
 * KT_ETOOBIG 413, KT_EINPUT and KT_ECONF 422, KT_EUNAVAIL 503, else 500. */
void kt__api_reply_failure(kt_http_req_t *req, apr_status_t st, const kt__api_err_t *err);
/* Answers 200 with result, or the failure. */
void kt__api_answer(kt_http_req_t *req, apr_status_t st, json_t *result, const kt__api_err_t *err);
/* The call an operation gets for req. */
kt__api_call_t kt__api_call(kt_api_t *api, kt_http_req_t *req);
/* The request body as a JSON object ({} when there is none); KT_EPARSE. */
apr_status_t kt__api_body_object(kt_http_req_t *req, json_t **out, kt__api_err_t *err);
/* Serves op on req: the access check, the body as a JSON object (none: {}),
 * the operation, its answer. */
void kt__api_serve_op(kt_http_req_t *req, kt_api_t *api, unsigned need, kt__api_op_fn op);

/* monitor.c */
apr_status_t kt__op_start(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_stop(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_anomalies(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_health(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_clear(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_status(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
/* history.c: {metric, from, to, points} -> the series over the range (kt_store_history) */
apr_status_t kt__op_history(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
/* analysis.c */
apr_status_t kt__op_analyze(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_suggest(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
/* scripts.c */
apr_status_t kt__op_generate(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_save(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_templates(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_script_type(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);

/* tools.c: the registry GET /api/agent/tools lists and /mcp serves. */
enum {
    KT__TOOL_READ = 1,        /* changes nothing (MCP readOnlyHint) */
    KT__TOOL_IDEMPOTENT = 2,  /* a second call changes nothing more (idempotentHint) */
    KT__TOOL_DESTRUCTIVE = 4, /* may remove or overwrite something (destructiveHint) */
};
typedef struct {
    const char *name, *description;
    const char *schema; /* JSON Schema of the parameters object */
    int changes_state;  /* needs control */
    unsigned hints;     /* KT__TOOL_* */
    kt__api_op_fn op;   /* the operation its endpoint (if any) serves too */
} kt__tool_t;
unsigned kt__tools_count(void);
/* Tool i and its parsed schema (shared, not owned), or NULL past the end. */
const kt__tool_t *kt__tools_get(unsigned i, json_t **schema);
/* NULL when params fit schema (the registry's small subset of JSON Schema),
 * else what is wrong, in pool. */
const char *kt__tools_check(json_t *schema, json_t *params, apr_pool_t *pool);

/* remedy.c */
apr_status_t kt__op_propose(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_remediation(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_approve(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
apr_status_t kt__op_deny(const kt__api_call_t *, json_t *, json_t **, kt__api_err_t *);
void kt__api_remedy_routes(kt_http_t *http, kt_api_t *api);

/* ---- shared pieces ------------------------------------------------------------------------ */

/* A response body kept until its key changes (cache.c); thread-safe. The
 * part filled by get and put is shared, not copied: it stays valid until
 * pool (the request's) is cleared, so it can go out with
 * kt_http_reply_parts, from its sealed file where the system has one. */
#define KT__CACHE_KEY 5
/* sealed: each body kept gets a sealed file at its second answer, for
 * kt_http_reply_parts to send it from when it is the last part (cache.c). */
kt__cache_t *kt__cache_create(apr_pool_t *pool, int sealed);
/* The kept body in *part when key matches: 1; else 0. */
int kt__cache_get(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], apr_pool_t *pool,
                  kt_http_part_t *part);
/* Keeps a copy of text under key (replacing what was kept) and puts it in
 * *part: 1; 0 when out of memory. */
int kt__cache_put(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], const char *text,
                  apr_size_t len, apr_pool_t *pool, kt_http_part_t *part);
/* The same with text itself kept, not a copy: malloc'd, with room for a NUL
 * after len bytes, and the cache's from then on (freed even on failure).
 * cap > 0 (text's size) lets the block, once nobody serves it, be the
 * spare that kt__cache_spare hands to the next page made. */
int kt__cache_put_owned(kt__cache_t *c, const uint64_t key[KT__CACHE_KEY], char *text,
                        apr_size_t len, apr_size_t cap, apr_pool_t *pool, kt_http_part_t *part);
/* The spare block (malloc'd, *cap bytes, the caller's), or NULL when there is none. */
char *kt__cache_spare(apr_size_t *cap);

/* ---- gzip (gzip.c with zlib, gzip_none.c without) ------------------------------------ */

/* Whether this build can answer in gzip. */
int kt__gzip_able(void);
/* text deflated once, to be kept (kt__cache_put_owned: malloc'd, room for
 * a NUL) and sent by kt__gzip_parts; NULL when out of memory. */
char *kt__gzip_page(const char *text, size_t len, size_t *out_len);
/* The body of a gzip answer: lines (sent as they are, compressed by none)
 * then what kt__gzip_page made of a page, as three parts in pool. */
void kt__gzip_parts(const char *lines, size_t lines_len, const char *page, size_t page_len,
                    kt_http_part_t parts[3], apr_pool_t *pool);

/* ---- /metrics: the exposition formats (prom.c) and the node_* families ------------ */

/* A growing text buffer (malloc'd; the caller frees buf), in the text format
 * or OpenMetrics. failed is set when memory ran out; the text is then cut. */
typedef struct {
    char *buf;
    size_t len, cap;
    int openmetrics, failed;
} kt__prom_t;

/* hint: the bytes expected (the last page's length), 0 when not known. */
void kt__prom_init(kt__prom_t *o, int openmetrics, size_t hint);
/* The same writing into buf (malloc'd, cap bytes, o's from then on) when it
 * holds hint bytes; else buf is freed and a block of hint bytes is made. */
void kt__prom_init_in(kt__prom_t *o, int openmetrics, size_t hint, char *buf, size_t cap);
void kt__prom_put(kt__prom_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* len bytes of text, as they are (text already in the format). */
void kt__prom_append(kt__prom_t *o, const char *text, size_t len);
/* "# HELP" and "# TYPE" lines; type is counter, gauge or untyped, and
 * counter names end in _total (OpenMetrics drops it from the family name). */
void kt__prom_family(kt__prom_t *o, const char *name, const char *type, const char *help);
/* One sample; an unknown value (NAN, KT_UNKNOWN_U64) writes nothing. labels
 * is NULL or "{...}" (kt__prom_labels). */
void kt__prom_sample(kt__prom_t *o, const char *name, const char *labels, double v);
void kt__prom_sample_u64(kt__prom_t *o, const char *name, const char *labels, uint64_t v);
/* "{k1=\"v1\",k2=\"v2\"}" with the values escaped, in pool; the arguments
 * are name/value pairs ending with NULL. */
const char *kt__prom_labels(apr_pool_t *pool, ...);
/* v as Go's FormatFloat(v, 'g', -1, 64) prints it (node_exporter's numbers). */
void kt__prom_number(char *out, size_t len, double v);

/* node_exporter's collectors that kotod serves, for ?collect[]= (metrics_node.c),
 * and KT__COLLECT_KOTO for kotod's own koto_* families. */
enum {
    KT__COLLECT_CPU = 1u << 0,
    KT__COLLECT_MEMINFO = 1u << 1,
    KT__COLLECT_LOADAVG = 1u << 2,
    KT__COLLECT_STAT = 1u << 3,
    KT__COLLECT_TIME = 1u << 4,
    KT__COLLECT_TIMEX = 1u << 5,
    KT__COLLECT_PROCESSES = 1u << 6,
    KT__COLLECT_FILESYSTEM = 1u << 7,
    KT__COLLECT_NETDEV = 1u << 8,
    KT__COLLECT_DISKSTATS = 1u << 9,
    KT__COLLECT_VMSTAT = 1u << 10,
    KT__COLLECT_PRESSURE = 1u << 11,
    KT__COLLECT_UNAME = 1u << 12,
    KT__COLLECT_OS = 1u << 13,
    KT__COLLECT_NETSTAT = 1u << 14,
    KT__COLLECT_SOCKSTAT = 1u << 15,
    KT__COLLECT_FILEFD = 1u << 16,
    KT__COLLECT_ENTROPY = 1u << 17,
    KT__COLLECT_NETCLASS = 1u << 18,
    KT__COLLECT_CONNTRACK = 1u << 19,
    KT__COLLECT_HWMON = 1u << 20,
    KT__COLLECT_NODE = (1u << 21) - 1,
    KT__COLLECT_KOTO = 1u << 21,
};
/* The collector named name (node_exporter's names, and "koto"), or 0. */
unsigned kt__collector(const char *name);
/* The node_* families of the collectors in mask, from reading s, in pool
 * (node_time_seconds excepted: it is the time of the answer, not of the
 * reading, and goes out with each one). */
void kt__metrics_node(kt__prom_t *o, const kt_sample_t *s, unsigned mask, apr_pool_t *pool);
/* The node_* families kotod's reading does not hold, read from procfs (its
 * root) as the page is rendered, at most once per reading: netstat,
 * sockstat, filefd, entropy, conntrack (metrics_procfs.c). Linux only: elsewhere the
 * files are absent and nothing is written. */
void kt__metrics_procfs(kt__prom_t *o, const char *procfs, unsigned mask, apr_pool_t *pool);
/* netclass's node_network_* families from sysfs (its root), likewise
 * (metrics_sysfs.c). */
void kt__metrics_sysfs(kt__prom_t *o, const char *sysfs, unsigned mask, apr_pool_t *pool);
/* hwmon's temperatures, chip names and sensor labels, likewise (metrics_hwmon.c). */
void kt__metrics_hwmon(kt__prom_t *o, const char *sysfs, unsigned mask, apr_pool_t *pool);

#define KT__HISTORY_FOR_RULES 720 /* the readings rules see: 6 hours at 30 s */

/* The store's state for status answers (api.c). */
json_t *kt__api_store_json(const kt_store_info_t *si);
/* 1 when the event log is on disk (monitor.c): the store is there and not off. */
int kt__api_store_on(kt_api_t *api);
/* The rule set in use, retained; KT_EUNAVAIL (with err) when none is loaded. */
apr_status_t kt__api_rules(kt_api_t *api, kt_rules_t **r, kt__api_err_t *err);
/* For a GET that reads the loaded rules: the access check and the rules
 * (release them), or NULL when it has answered (401/403, 503). */
kt_rules_t *kt__api_read_rules(kt_api_t *api, kt_http_req_t *req);
/* The findings of rule set r on snap and the recent history (analysis.c). */
json_t *kt__api_judge(kt_api_t *api, kt_rules_t *r, kt_snap_t *snap, apr_pool_t *pool);

/* The analysis steps (analysis.c) shared by /optimize and the tools. */
json_t *kt__api_raw_steps(const kt_sample_t *s, const kt_mon_health_t *h);
/* The latest reading without the full process table, or null (monitor.c). */
json_t *kt__api_snapshot_json(kt_api_t *api);
/* The OS whose dialect a script gets when the request names none: the
 * configured script_os, where "auto" (or no rules) means the OS kotod was
 * built for (scripts.c). */
const char *kt__api_script_os(kt_api_t *api);

/* One server-sent event, "id: N\nevent: E\ndata: JSON\n\n" (no id line
 * when id is 0); takes ownership of data; malloc'd, NULL on failure. */
char *kt__api_sse_message(const char *event, uint64_t id, json_t *data);

apr_status_t kt__api_stream_routes(kt_http_t *http, kt_api_t *api, apr_pool_t *pool,
                                   unsigned *sub_id);
void kt__api_monitor_routes(kt_http_t *http, kt_api_t *api);
void kt__api_history_routes(kt_http_t *http, kt_api_t *api);
void kt__api_metrics_routes(kt_http_t *http, kt_api_t *api);
void kt__api_optimize_routes(kt_http_t *http, kt_api_t *api);
void kt__api_scripts_routes(kt_http_t *http, kt_api_t *api);
void kt__api_config_routes(kt_http_t *http, kt_api_t *api);
void kt__api_conditions_routes(kt_http_t *http, kt_api_t *api);
void kt__api_replay_routes(kt_http_t *http, kt_api_t *api);
void kt__api_tools_routes(kt_http_t *http, kt_api_t *api);
void kt__api_web_routes(kt_http_t *http, kt_api_t *api);
void kt__api_notify_routes(kt_http_t *http, kt_api_t *api);
void kt__api_tokens_routes(kt_http_t *http, kt_api_t *api);

#endif
