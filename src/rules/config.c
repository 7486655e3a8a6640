/*
 * config.c - the settings koto.conf.lua may assign, declared once.
 *
 * The table below is the single description of every setting: its type,
 * bounds, where it lands in kt_conf_t and whether a reload applies it.
 * Loading, `kotod -t`, `kotod --help-config` and the README's list all come
 * from it (as Valkey's static_configs[] serves CONFIG SET, rewrite and
 * validation alike).
 *
 * The file is Lua: it assigns globals (`interval_ms = 30000`, or a whole
 * table: `thresholds = { cpu = { threshold = 90 } }`). Each assignment is
 * recorded with its line, so a bad value is reported as
 * "lua/koto.conf.lua:12: thresholds.cpu.threshold must be ...".
 */
#include "rules_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

typedef enum { T_UINT, T_NUM, T_BOOL, T_STR } ctype_t;

typedef struct {
    const char *key;
    ctype_t type;
    double min, max;
    size_t offset;
    int reloadable;
    const char *help;
} item_t;

#define MON(field) offsetof(kt_conf_t, mon) + offsetof(kt_mon_conf_t, field)
#define RULE(name, field) MON(name) + offsetof(kt_mon_rule_t, field)
#define RULE_ITEMS(name, what)                                                              \
    {"thresholds." #name ".enabled", T_BOOL, 0, 1, RULE(name, enabled), 1,                  \
     "judge " what " at all"},                                                              \
    {"thresholds." #name ".threshold", T_NUM, 0, 100, RULE(name, threshold), 1,             \
     "the condition starts above this (" what ")"},                                         \
    {"thresholds." #name ".clear_margin", T_NUM, 0, 100, RULE(name, clear_margin), 1,       \
     "it resolves below threshold minus this"},                                             \
    {"thresholds." #name ".hold_samples", T_UINT, 1, 10000, RULE(name, hold_samples), 1,    \
     "readings in a row past the threshold before it starts"}

static const item_t items[] = {
    {"interval_ms", T_UINT, KT_MON_MIN_INTERVAL_MS, KT_MON_MAX_INTERVAL_MS, MON(interval_ms), 1,
     "milliseconds between readings"},
    {"event_log_size", T_UINT, 1, 1000000, MON(event_capacity), 0, "events kept in memory"},
    {"history_size", T_UINT, 1, 1000000, MON(history_capacity), 0,
     "readings kept for charts"},
    {"top_processes", T_UINT, 1, 100, MON(top_n), 0, "processes in the top lists"},
    {"kept_descriptors", T_UINT, 1, 1048576, offsetof(kt_conf_t, kept_descriptors), 0,
     "Linux: /proc files kept open between readings (the system files, then one per "
     "process; a process beyond them has its file opened at each reading), within the "
     "open-files limit less 1024"},
    RULE_ITEMS(cpu, "CPU busy %"),
    RULE_ITEMS(memory, "memory used %"),
    RULE_ITEMS(disk, "used % of each filesystem"),
    RULE_ITEMS(process_memory, "one process's share of memory, %"),
    RULE_ITEMS(cpu_spike, "points above the recent CPU baseline"),
    {"thresholds.cpu_spike.warmup", T_UINT, 0, 10000, MON(spike_warmup), 1,
     "readings before spikes are judged"},
    {"thresholds.cpu_spike.window", T_UINT, 1, 10000, MON(spike_window), 1,
     "readings the CPU baseline averages over"},
    {"thresholds.disk_fill.enabled", T_BOOL, 0, 1, RULE(disk_fill, enabled), 1,
     "forecast when each filesystem will be full at its recent rate"},
    {"thresholds.disk_fill.threshold", T_NUM, 0, 8760, RULE(disk_fill, threshold), 1,
     "hours: disk_fill starts when a filesystem will be full sooner than this"},
    {"thresholds.disk_fill.clear_margin", T_NUM, 0, 8760, RULE(disk_fill, clear_margin), 1,
     "hours: it resolves once the forecast is this much past the threshold"},
    {"thresholds.disk_fill.hold_samples", T_UINT, 1, 10000, RULE(disk_fill, hold_samples), 1,
     "readings in a row under the threshold before it starts"},
    {"thresholds.disk_fill.window_s", T_NUM, 1, 2592000, MON(fill_window_s), 1,
     "seconds of history the rate is fitted over (a robust fit: bursts deleted again "
     "do not count)"},
    {"thresholds.disk_fill.min_window_s", T_NUM, 0, 2592000, MON(fill_min_window_s), 1,
     "no forecast from less history than this many seconds"},
    {"thresholds.disk_fill.min_growth_pct", T_NUM, 0, 100, MON(fill_min_growth_pct), 1,
     "no forecast when the filesystem grew by fewer points of used % over that history"},
    {"flapping.window", T_UINT, 0, KT_MON_MAX_FLAP_WINDOW, MON(flap_window), 1,
     "readings of a condition judged for flapping (0: off)"},
    {"flapping.high", T_NUM, 0, 100, MON(flap_high), 1,
     "above this weighted % of state changes a condition flaps: its starts and resolutions are "
     "logged but not notified"},
    {"flapping.low", T_NUM, 0, 100, MON(flap_low), 1, "below this % it settles again"},
    {"budget_rss_mb", T_NUM, 0, 1048576, MON(budget_rss_mb), 1,
     "kotod's own memory budget in MiB: over it, koto_over_budget, fewer series stored and processes scanned every second reading (0: off)"},
    {"budget_cpu_pct", T_NUM, 0, 100, MON(budget_cpu_pct), 1,
     "kotod's own CPU budget, % of one core over its last 16 readings (0: off)"},
    {"listen", T_STR, 0, 0, offsetof(kt_conf_t, listen), 0, "address to serve on"},
    {"server_names", T_STR, 0, 0, offsetof(kt_conf_t, server_names), 0,
     "names (comma separated) a request's Host may carry besides localhost and the listen "
     "address; other names are refused (DNS rebinding)"},
    {"tls.cert", T_STR, 0, 0, offsetof(kt_conf_t, tls_cert), 1,
     "TLS: the certificate file (PEM, its chain after it); with tls.key the listener speaks "
     "HTTPS only (TLS 1.2 or later); reload picks up a renewed file"},
    {"tls.key", T_STR, 0, 0, offsetof(kt_conf_t, tls_key), 1,
     "TLS: the certificate's private key file (PEM, no passphrase)"},
    {"tls.client_ca", T_STR, 0, 0, offsetof(kt_conf_t, tls_client_ca), 1,
     "TLS: clients must show a certificate signed by a CA in this PEM file (mutual TLS)"},
    {"tls.self_signed", T_BOOL, 0, 1, offsetof(kt_conf_t, tls_self_signed), 0,
     "TLS with a certificate kotod makes itself in STATE_DIR (tls-cert.pem, tls-key.pem; its "
     "SHA-256 fingerprint is logged); also written tls = \"self-signed\""},
    {"allow_plain_http", T_BOOL, 0, 1, offsetof(kt_conf_t, allow_plain_http), 0,
     "serve plain HTTP on an address other machines can reach (refused without this: the "
     "token would cross the network in clear text)"},
    {"state_dir", T_STR, 0, 0, offsetof(kt_conf_t, state_dir), 0, "where the API token lives"},
    {"session_lifetime_s", T_UINT, 1, 2592000, offsetof(kt_conf_t, session_lifetime_s), 0,
     "seconds a dashboard login (the session cookie the token is exchanged for) lasts"},
    {"session_max", T_UINT, 1, 10000, offsetof(kt_conf_t, session_max), 0,
     "dashboard logins kept at once; a new one beyond ends the oldest"},
    {"scripts_dir", T_STR, 0, 0, offsetof(kt_conf_t, scripts_dir), 1,
     "where saved fix scripts go"},
    {"web_dir", T_STR, 0, 0, offsetof(kt_conf_t, web_dir), 0, "the dashboard's files"},
    {"user_dir", T_STR, 0, 0, offsetof(kt_conf_t, user_dir), 1,
     "your rules/, conditions/ and templates/, overriding shipped ones by name"},
    {"rule_tests", T_STR, 0, 0, offsetof(kt_conf_t, rule_tests), 1,
     "a --test-rules file, or a directory of them (*.json), that kotod -t runs: the check "
     "fails when an expectation is not met"},
    {"store", T_BOOL, 0, 1, offsetof(kt_conf_t, store), 0,
     "keep the event log and the alert state in STATE_DIR/koto.db across restarts"},
    {"store_event_days", T_UINT, 0, 36500, offsetof(kt_conf_t, store_event_days), 1,
     "stored events older than this many days are deleted (0: never)"},
    {"store_max_events", T_UINT, 0, 100000000, offsetof(kt_conf_t, store_max_events), 1,
     "beyond this many stored events the oldest go (0: no limit)"},
    {"store_max_mb", T_UINT, 1, 1000000, offsetof(kt_conf_t, store_max_mb), 1,
     "koto.db never grows past this many MiB: the oldest readings go first, then the "
     "1-minute and 1-hour history, then the oldest events"},
    {"history_raw_hours", T_UINT, 1, 8760, offsetof(kt_conf_t, history_raw_hours), 1,
     "every reading's values are kept this many hours"},
    {"history_minute_days", T_UINT, 1, 3650, offsetof(kt_conf_t, history_minute_days), 1,
     "1-minute min/average/max are kept this many days"},
    {"history_hour_days", T_UINT, 1, 36500, offsetof(kt_conf_t, history_hour_days), 1,
     "1-hour min/average/max are kept this many days"},
    {"script_os", T_STR, 0, 0, offsetof(kt_conf_t, script_os), 1,
     "dialect of generated scripts: auto (windows on a Windows build, else linux), "
     "linux (Bash) or windows (PowerShell)"},
    {"metrics", T_STR, 0, 0, offsetof(kt_conf_t, metrics), 1,
     "families GET /metrics serves: koto (koto_*), node (node_exporter's node_*) or both"},
    {"remedy_timeout_s", T_UINT, 1, 86400, offsetof(kt_conf_t, remedy_timeout_s), 1,
     "an approved remediation running longer than this many seconds is killed with "
     "everything it started"},
    {"remedy_output_kb", T_UINT, 1, 16384, offsetof(kt_conf_t, remedy_output_kb), 1,
     "KiB of a remediation's output (and of its dry run) kept"},
    {"remedy_expiry_s", T_UINT, 1, 604800, offsetof(kt_conf_t, remedy_expiry_s), 1,
     "a remediation proposal not approved within this many seconds expires"},
    {"remedy_verify_readings", T_UINT, 1, 10000, offsetof(kt_conf_t, remedy_verify_readings), 1,
     "readings after a remediation's run for its event's condition to resolve; then "
     "remediation_failed"},
    {"remedy_interpreter", T_STR, 0, 0, offsetof(kt_conf_t, remedy_interpreter), 1,
     "the program that runs remediation scripts instead of /bin/bash (Windows: "
     "powershell.exe of the system directory), given the same arguments; unset: the OS's"},
    {"remedy_root_socket", T_STR, 0, 0, offsetof(kt_conf_t, remedy_root_socket), 1,
     "the socket of koto-run-approved (/run/koto-run-approved.sock), through which approved "
     "Bash remediations run as root (Linux; README, \"Remediation as root\"); unset: they run "
     "as kotod's own user"},
};

#define FS_OVERRIDES "thresholds.filesystems"
#define CHECKS "checks"
#define REMEDIATE "remediate"

void kt_conf_describe(FILE *to)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(items); i++) {
        const item_t *it = &items[i];
        static const char *const types[] = {"integer", "number", "boolean", "string"};
        fprintf(to, "%-36s %-8s", it->key, types[it->type]);
        if (it->type == T_UINT || it->type == T_NUM)
            fprintf(to, " %.15g..%-10.15g", it->min, it->max);
        else
            fprintf(to, " %-13s", "");
        fprintf(to, " %s%s\n", it->help, it->reloadable ? "" : " (restart to change)");
    }
    fprintf(to, "%-36s %-8s %-13s %s\n", "tls", "table", "",
            "HTTPS: tls = { cert = \"FILE\", key = \"FILE\", client_ca = \"FILE\" } (the tls.* "
            "settings above), or tls = \"self-signed\"");
    fprintf(to, "%-36s %-8s %-13s %s\n", FS_OVERRIDES, "table", "",
            "per mount point: { [\"/var\"] = { threshold = 95 } }");
    kt__conf_describe_notify(to);
    kt__conf_describe_maint(to);
    fprintf(to, "%-36s %-8s %-13s %s\n", CHECKS, "list", "",
            "what must be so, judged at each reading: { { name = \"web\", process = \"nginx\", "
            "min = 1, max = 0, hold_samples = 1 }, { name = \"db\", pidfile = \"/run/db.pid\" }, "
            "{ name = \"api\", cmdline = \"*gunicorn*myapp*\" } (a glob over the command line), "
            "{ name = \"cron\", kind = \"service\", unit = \"cron.service\" } } "
            "(events process_down, process_count, service_failed)");
    fprintf(to, "%-36s %-8s %-13s %s\n", REMEDIATE, "list", "",
            "which fix an event gets: { { event = \"process_down\", subject = \"web\", template = "
            "\"service_restart\", params = { service_name = \"nginx\" }, auto = false, max_runs = 3, "
            "window_s = 600 } }; auto = true runs it without a person (still proposed and audited), "
            "at most max_runs times within window_s, then remediation_gave_up");
}

json_t *kt_conf_to_json(const kt_conf_t *conf)
{
    static const char *const types[] = {"integer", "number", "boolean", "string"};
    json_t *list = json_array();
    for (size_t i = 0; i < KT_ARRAY_SIZE(items); i++) {
        const item_t *it = &items[i];
        const char *at = (const char *)conf + it->offset;
        json_t *v;
        switch (it->type) {
        case T_UINT: v = json_integer(*(const unsigned *)at); break;
        case T_NUM: v = json_real(*(const double *)at); break;
        case T_BOOL: v = json_boolean(*(const int *)at); break;
        default: v = *(const char *const *)at ? json_string(*(const char *const *)at) : json_null();
        }
        json_t *o = json_pack("{s:s s:s s:o s:b s:s}", "key", it->key, "type", types[it->type],
                              "value", v, "reloadable", it->reloadable, "help", it->help);
        if (it->type == T_UINT || it->type == T_NUM) {
            json_object_set_new(o, "min", json_real(it->min));
            json_object_set_new(o, "max", json_real(it->max));
        }
        json_array_append_new(list, o);
    }
    json_t *fs = json_object();
    for (unsigned i = 0; i < conf->mon.ndisk_overrides; i++) {
        const kt_mon_rule_t *r = &conf->mon.disk_overrides[i].rule;
        json_object_set_new(fs, conf->mon.disk_overrides[i].mount_point,
                            json_pack("{s:b s:f s:f s:i}", "enabled", r->enabled, "threshold",
                                      r->threshold, "clear_margin", r->clear_margin,
                                      "hold_samples", (int)r->hold_samples));
    }
    json_array_append_new(list, json_pack("{s:s s:s s:o s:b s:s}", "key", FS_OVERRIDES, "type",
                                          "table", "value", fs, "reloadable", 1, "help",
                                          "per mount point thresholds"));
    json_array_append_new(list, json_pack("{s:s s:s s:o s:b s:s}", "key", "notify", "type", "list",
                                          "value", kt__conf_notify_json(conf), "reloadable", 1,
                                          "help", "notification channels (secrets masked)"));
    json_array_append_new(list, json_pack("{s:s s:s s:o s:b s:s}", "key", "maintenance", "type",
                                          "list", "value", kt__conf_maint_json(conf), "reloadable",
                                          1, "help", "recurring windows without notifications"));
    json_t *checks = json_array();
    for (unsigned i = 0; i < conf->mon.nchecks; i++) {
        const kt_mon_check_t *k = &conf->mon.checks[i];
        json_t *o = json_pack("{s:s s:s s:i s:i s:i}", "name", k->name, "kind", k->kind, "min",
                              (int)k->min, "max", (int)k->max, "hold_samples", (int)k->hold_samples);
        if (k->process)
            json_object_set_new(o, "process", json_string(k->process));
        if (k->pidfile)
            json_object_set_new(o, "pidfile", json_string(k->pidfile));
        if (k->cmdline)
            json_object_set_new(o, "cmdline", json_string(k->cmdline));
        if (k->unit)
            json_object_set_new(o, "unit", json_string(k->unit));
        json_array_append_new(checks, o);
    }
    json_array_append_new(list, json_pack("{s:s s:s s:o s:b s:s}", "key", CHECKS, "type", "list",
                                          "value", checks, "reloadable", 1, "help",
                                          "process checks judged at each reading"));
    json_t *rem = json_array();
    for (unsigned i = 0; i < conf->nremediate; i++) {
        const kt_remedy_rule_t *k = &conf->remediate[i];
        json_t *o = json_pack("{s:s s:s s:b s:i s:i}", "event", k->event, "template", k->template,
                              "auto", k->auto_run, "max_runs", (int)k->max_runs, "window_s",
                              (int)k->window_s);
        if (k->subject)
            json_object_set_new(o, "subject", json_string(k->subject));
        json_object_set_new(o, "params", json_loads(k->params ? k->params : "{}", 0, NULL));
        json_array_append_new(rem, o);
    }
    json_array_append_new(list, json_pack("{s:s s:s s:o s:b s:s}", "key", REMEDIATE, "type", "list",
                                          "value", rem, "reloadable", 1, "help",
                                          "which fix each event gets, and whether it runs by itself"));
    return list;
}

/* The settings as koto.conf.lua assigns them, nested at the dots of their
 * keys: {interval_ms = ..., thresholds = {memory = {threshold = 90, ...},
 * filesystems = {["/var"] = {...}}}, ...}. Built from kt_conf_to_json, so
 * the rules see exactly what GET /api/agent/config shows. */
json_t *kt__conf_nested(const kt_conf_t *conf)
{
    json_t *flat = kt_conf_to_json(conf);
    json_t *root = json_object();
    size_t i;
    json_t *item;
    json_array_foreach(flat, i, item) {
        const char *key = json_string_value(json_object_get(item, "key"));
        json_t *at = root;
        for (const char *dot; (dot = strchr(key, '.')) != NULL; key = dot + 1) {
            char part[64];
            snprintf(part, sizeof part, "%.*s", (int)(dot - key), key);
            json_t *sub = json_object_get(at, part);
            if (!sub) {
                sub = json_object();
                json_object_set_new(at, part, sub);
            }
            at = sub;
        }
        json_object_set(at, key, json_object_get(item, "value"));
    }
    json_decref(flat);
    return root;
}

/* ---- applying one value ------------------------------------------------------------------- */

static const item_t *find_item(const char *key)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(items); i++)
        if (strcmp(items[i].key, key) == 0)
            return &items[i];
    return NULL;
}

/* 1 when some setting's key starts with prefix + "." (a section). */
static int is_section(const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < KT_ARRAY_SIZE(items); i++)
        if (strncmp(items[i].key, prefix, n) == 0 && items[i].key[n] == '.')
            return 1;
    return strcmp(prefix, "thresholds") == 0;
}

/* Checks the value at idx against it and stores it at base + it->offset. */
static int set_value(void *base, const item_t *it, lua_State *L, int idx, apr_pool_t *pool,
                     char *msg, apr_size_t len)
{
    char *dst = (char *)base + it->offset;
    int isnum = lua_type(L, idx) == LUA_TNUMBER;
    double v = isnum ? lua_tonumber(L, idx) : 0;
    switch (it->type) {
    case T_UINT:
        if (!isnum || !lua_isinteger(L, idx) || v < it->min || v > it->max) {
            snprintf(msg, len, "%s must be a whole number from %.15g to %.15g", it->key, it->min,
                     it->max);
            return -1;
        }
        *(unsigned *)dst = (unsigned)v;
        return 0;
    case T_NUM:
        if (!isnum || !(v >= it->min && v <= it->max)) {
            snprintf(msg, len, "%s must be a number from %.15g to %.15g", it->key, it->min, it->max);
            return -1;
        }
        *(double *)dst = v;
        return 0;
    case T_BOOL:
        if (!lua_isboolean(L, idx)) {
            snprintf(msg, len, "%s must be true or false", it->key);
            return -1;
        }
        *(int *)dst = lua_toboolean(L, idx);
        return 0;
    case T_STR:
        if (lua_type(L, idx) != LUA_TSTRING || lua_rawlen(L, idx) == 0) {
            snprintf(msg, len, "%s must be a non-empty string", it->key);
            return -1;
        }
        /* A Lua string may hold NUL bytes; as a C string it would end at the
         * first one and name something else ("" at worst). */
        if (strlen(lua_tostring(L, idx)) != lua_rawlen(L, idx)) {
            snprintf(msg, len, "%s must not contain a NUL byte", it->key);
            return -1;
        }
        *(const char **)dst = apr_pstrdup(pool, lua_tostring(L, idx));
        return 0;
    }
    return -1;
}

/* thresholds.filesystems = { ["/var"] = { threshold = 95, clear_margin = 2, hold_samples = 1 } } */
static int set_fs_overrides(kt_conf_t *conf, lua_State *L, int idx, apr_pool_t *pool, char *msg,
                            apr_size_t len)
{
    if (!lua_istable(L, idx)) {
        snprintf(msg, len, FS_OVERRIDES " must be a table of mount point = { ... }");
        return -1;
    }
    apr_array_header_t *o = apr_array_make(pool, 4, sizeof(kt_mon_fs_rule_t));
    lua_pushnil(L);
    while (lua_next(L, idx < 0 ? idx - 1 : idx)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_tostring(L, -2)[0] != '/' ||
            !lua_istable(L, -1)) {
            snprintf(msg, len, FS_OVERRIDES " keys are mount points (\"/var\") and values tables");
            lua_pop(L, 2);
            return -1;
        }
        kt_mon_fs_rule_t *fr = apr_array_push(o);
        fr->mount_point = apr_pstrdup(pool, lua_tostring(L, -2));
        fr->rule = conf->mon.disk; /* unset fields inherit the disk defaults */
        static const struct {
            const char *name;
            ctype_t type;
            double min, max;
            size_t offset;
        } fields[] = {
            {"enabled", T_BOOL, 0, 1, offsetof(kt_mon_rule_t, enabled)},
            {"threshold", T_NUM, 0, 100, offsetof(kt_mon_rule_t, threshold)},
            {"clear_margin", T_NUM, 0, 100, offsetof(kt_mon_rule_t, clear_margin)},
            {"hold_samples", T_UINT, 1, 10000, offsetof(kt_mon_rule_t, hold_samples)},
        };
        for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++) {
            lua_getfield(L, -1, fields[i].name);
            if (!lua_isnil(L, -1)) {
                char key[300];
                snprintf(key, sizeof key, FS_OVERRIDES "[\"%s\"].%s", fr->mount_point,
                         fields[i].name);
                item_t it = {key, fields[i].type, fields[i].min, fields[i].max,
                             fields[i].offset, 1, ""};
                if (set_value(&fr->rule, &it, L, -1, pool, msg, len) != 0) {
                    lua_pop(L, 3);
                    return -1;
                }
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    conf->mon.disk_overrides = (const kt_mon_fs_rule_t *)o->elts;
    conf->mon.ndisk_overrides = (unsigned)o->nelts;
    return 0;
}

/* checks = { { name = "web", process = "nginx", min = 1 }, ... } */
static int set_checks(kt_conf_t *conf, lua_State *L, int idx, apr_pool_t *pool, char *msg,
                      apr_size_t len)
{
    static const struct {
        const char *name;
        ctype_t type;
        double min, max;
        size_t offset;
    } fields[] = {
        {"name", T_STR, 0, 0, offsetof(kt_mon_check_t, name)},
        {"kind", T_STR, 0, 0, offsetof(kt_mon_check_t, kind)},
        {"process", T_STR, 0, 0, offsetof(kt_mon_check_t, process)},
        {"pidfile", T_STR, 0, 0, offsetof(kt_mon_check_t, pidfile)},
        {"cmdline", T_STR, 0, 0, offsetof(kt_mon_check_t, cmdline)},
        {"unit", T_STR, 0, 0, offsetof(kt_mon_check_t, unit)},
        {"min", T_UINT, 0, 100000, offsetof(kt_mon_check_t, min)},
        {"max", T_UINT, 0, 100000, offsetof(kt_mon_check_t, max)},
        {"hold_samples", T_UINT, 1, 10000, offsetof(kt_mon_check_t, hold_samples)},
    };
    if (!lua_istable(L, idx)) {
        snprintf(msg, len, CHECKS " must be a list of { name = ..., process = ... } tables");
        return -1;
    }
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(kt_mon_check_t));
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        if (!lua_istable(L, -1)) {
            snprintf(msg, len, CHECKS "[%lld] must be a table", (long long)i);
            lua_pop(L, 1);
            return -1;
        }
        kt_mon_check_t *k = apr_array_push(a);
        memset(k, 0, sizeof *k);
        k->kind = "process";
        k->min = 1;
        k->hold_samples = 1;
        /* Every key must be a field: a typo must not pass as a check that
         * silently watches nothing. */
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            size_t f = 0;
            while (f < KT_ARRAY_SIZE(fields) &&
                   (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), fields[f].name)))
                f++;
            if (f == KT_ARRAY_SIZE(fields)) {
                snprintf(msg, len, CHECKS "[%lld]: unknown field '%s' (name, kind, process, pidfile, "
                         "cmdline, unit, min, max, hold_samples)", (long long)i, luaL_tolstring(L, -2, NULL));
                lua_pop(L, 4);
                return -1;
            }
            char key[64];
            snprintf(key, sizeof key, CHECKS "[%lld].%s", (long long)i, fields[f].name);
            item_t it = {key, fields[f].type, fields[f].min, fields[f].max, fields[f].offset, 1, ""};
            if (set_value(k, &it, L, -1, pool, msg, len) != 0) {
                lua_pop(L, 3);
                return -1;
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (!k->name) {
            snprintf(msg, len, CHECKS "[%lld] needs a name", (long long)i);
            return -1;
        }
    }
    conf->mon.checks = (const kt_mon_check_t *)a->elts;
    conf->mon.nchecks = (unsigned)a->nelts;
    return 0;
}

/* remediate = { { event = "process_down", subject = "web", template = "service_restart",
 *                params = { service_name = "nginx" }, auto = true, max_runs = 3,
 *                window_s = 600 }, ... } */
static int set_remediate(kt_conf_t *conf, lua_State *L, int idx, apr_pool_t *pool, char *msg,
                         apr_size_t len)
{
    static const struct {
        const char *name;
        ctype_t type;
        double min, max;
        size_t offset;
    } fields[] = {
        {"event", T_STR, 0, 0, offsetof(kt_remedy_rule_t, event)},
        {"subject", T_STR, 0, 0, offsetof(kt_remedy_rule_t, subject)},
        {"template", T_STR, 0, 0, offsetof(kt_remedy_rule_t, template)},
        {"auto", T_BOOL, 0, 1, offsetof(kt_remedy_rule_t, auto_run)},
        {"max_runs", T_UINT, 1, 1000, offsetof(kt_remedy_rule_t, max_runs)},
        {"window_s", T_UINT, 1, 604800, offsetof(kt_remedy_rule_t, window_s)},
    };
    if (!lua_istable(L, idx)) {
        snprintf(msg, len, REMEDIATE " must be a list of { event = ..., template = ... } tables");
        return -1;
    }
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(kt_remedy_rule_t));
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        if (!lua_istable(L, -1)) {
            snprintf(msg, len, REMEDIATE "[%lld] must be a table", (long long)i);
            lua_pop(L, 1);
            return -1;
        }
        kt_remedy_rule_t *k = apr_array_push(a);
        memset(k, 0, sizeof *k);
        k->max_runs = 3;
        k->window_s = 600;
        k->params = "{}";
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
            char key[64];
            snprintf(key, sizeof key, REMEDIATE "[%lld].%s", (long long)i, name);
            if (strcmp(name, "params") == 0) {
                json_t *j = lua_istable(L, -1) ? kt__to_json(L, lua_gettop(L), 0) : NULL;
                char *text = json_is_object(j) ? json_dumps(j, JSON_COMPACT) : NULL;
                json_decref(j);
                if (!text) {
                    snprintf(msg, len, "%s must be a table of the template's parameters", key);
                    lua_pop(L, 3);
                    return -1;
                }
                k->params = apr_pstrdup(pool, text);
                free(text);
                lua_pop(L, 1);
                continue;
            }
            size_t f = 0;
            while (f < KT_ARRAY_SIZE(fields) && strcmp(name, fields[f].name) != 0)
                f++;
            if (f == KT_ARRAY_SIZE(fields)) {
                snprintf(msg, len, REMEDIATE "[%lld]: unknown field '%s' (event, subject, template, "
                         "params, auto, max_runs, window_s)", (long long)i, name);
                lua_pop(L, 4);
                return -1;
            }
            item_t it = {key, fields[f].type, fields[f].min, fields[f].max, fields[f].offset, 1, ""};
            if (set_value(k, &it, L, -1, pool, msg, len) != 0) {
                lua_pop(L, 3);
                return -1;
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        /* A condition's type may come from a user directory this file
         * names, loaded after it: kt_rules_load checks the name then. */
        if (!k->event || !*k->event || strspn(k->event, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
                                           strlen(k->event) || !k->template) {
            snprintf(msg, len, REMEDIATE "[%lld] needs an event (an event type) and a template",
                     (long long)i);
            return -1;
        }
    }
    conf->remediate = (const kt_remedy_rule_t *)a->elts;
    conf->nremediate = (unsigned)a->nelts;
    return 0;
}

/* Applies the value at idx to setting `key`, descending into sections. */
static int apply(kt_conf_t *conf, const char *key, lua_State *L, int idx, apr_pool_t *pool,
                 char *msg, apr_size_t len)
{
    idx = lua_absindex(L, idx);
    if (strcmp(key, FS_OVERRIDES) == 0)
        return set_fs_overrides(conf, L, idx, pool, msg, len);
    if (strcmp(key, "notify") == 0)
        return kt__conf_set_notify(conf, L, idx, pool, msg, len);
    if (strcmp(key, "maintenance") == 0)
        return kt__conf_set_maint(conf, L, idx, pool, msg, len);
    if (strcmp(key, CHECKS) == 0)
        return set_checks(conf, L, idx, pool, msg, len);
    if (strcmp(key, REMEDIATE) == 0)
        return set_remediate(conf, L, idx, pool, msg, len);
    if (strcmp(key, "tls") == 0 && lua_type(L, idx) == LUA_TSTRING) {
        if (strcmp(lua_tostring(L, idx), "self-signed") != 0) {
            snprintf(msg, len, "tls must be \"self-signed\" or a table { cert = FILE, key = FILE, "
                               "client_ca = FILE }");
            return -1;
        }
        conf->tls_self_signed = 1;
        return 0;
    }
    const item_t *it = find_item(key);
    if (it)
        return set_value(conf, it, L, idx, pool, msg, len);
    if (!is_section(key)) {
        snprintf(msg, len, "unknown setting '%s' (kotod --help-config lists them)", key);
        return -1;
    }
    if (!lua_istable(L, idx)) {
        snprintf(msg, len, "%s must be a table", key);
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(msg, len, "%s has a key that is not a name", key);
            lua_pop(L, 2);
            return -1;
        }
        const char *sub = apr_pstrcat(pool, key, ".", lua_tostring(L, -2), NULL);
        if (apply(conf, sub, L, -1, pool, msg, len) != 0) {
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* A threshold set below the margin it kept from the defaults (cpu at 3 %
 * with the default margin of 5) takes a margin scaled with it (5/85 of
 * 3); a margin the file set itself is judged as set. */
static void scale_margins(kt_mon_conf_t *now, const kt_mon_conf_t *was)
{
    kt_mon_rule_t *rules[] = {&now->cpu, &now->memory, &now->disk, &now->process_memory,
                              &now->cpu_spike, &now->disk_fill};
    const kt_mon_rule_t *olds[] = {&was->cpu, &was->memory, &was->disk, &was->process_memory,
                                   &was->cpu_spike, &was->disk_fill};
    for (size_t i = 0; i < KT_ARRAY_SIZE(rules); i++) {
        kt_mon_rule_t *r = rules[i];
        const kt_mon_rule_t *o = olds[i];
        if (r->clear_margin == o->clear_margin && r->threshold != o->threshold &&
            r->clear_margin > r->threshold && o->threshold > 0)
            r->clear_margin = r->threshold * o->clear_margin / o->threshold;
    }
}

/* ---- running the file ---------------------------------------------------------------------- */

/* __newindex of the file's environment: records value and line by name. */
static int record_assignment(lua_State *L)
{
    luaL_checkstring(L, 2);
    lua_Debug ar;
    int line = lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar) ? ar.currentline : 0;
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.conf.values");
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.conf.lines");
    lua_pushvalue(L, 2);
    lua_pushinteger(L, line);
    lua_rawset(L, -3);
    return 0;
}

/* __index of the file's environment: what the file assigned so far, then
 * the sandbox's globals. Nothing is stored in the environment itself, so
 * every assignment, a second one to the same name too, is recorded. */
static int read_setting(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.conf.values");
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL)
        return 1;
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.globals");
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL)
        return 1;
    return luaL_error(L, "unknown name '%s'", luaL_tolstring(L, 2, NULL));
}

static int listed(const char *const *keys, const char *key)
{
    while (*keys && strcmp(*keys, key) != 0)
        keys++;
    return *keys != NULL;
}

apr_status_t kt__conf_apply_file(kt_conf_t *conf, const kt__file_t *f, const char *const *only,
                                 apr_pool_t *pool, char *err, apr_size_t errlen)
{
    kt__lstate_t *ls = kt__lstate_new(0, 0);
    if (!ls) {
        snprintf(err, errlen, "%s: cannot create a Lua state", f->path);
        return APR_ENOMEM;
    }
    lua_State *L = ls->L;
    apr_status_t rc;
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "koto.conf.values");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "koto.conf.lines");
    if ((rc = kt__lstate_load(ls, f->text, f->len, f->path, err, errlen)) != APR_SUCCESS)
        goto done;
    /* Swap the strict environment's handlers for the recorder. */
    lua_getupvalue(L, -1, 1);
    lua_getmetatable(L, -1);
    lua_pushcfunction(L, record_assignment);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, read_setting);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
    if ((rc = kt__lstate_call(ls, 0, 0, err, errlen)) != APR_SUCCESS) {
        kt__name_file(err, errlen, f->path);
        goto done;
    }
    rc = KT_ECONF; /* what follows refuses values */

    kt_mon_conf_t before = conf->mon;
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.conf.values");
    lua_getfield(L, LUA_REGISTRYINDEX, "koto.conf.lines");
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        const char *key = lua_tostring(L, -2);
        char msg[400];
        if (only && !listed(only, key)) {
            lua_pop(L, 1);
            continue;
        }
        if (apply(conf, key, L, -1, pool, msg, sizeof msg) != 0) {
            lua_getfield(L, -3, key);
            snprintf(err, errlen, "%s:%lld: %s", f->path, (long long)lua_tointeger(L, -1), msg);
            goto done;
        }
        lua_pop(L, 1);
    }
    if (only) { /* the checks below are the whole file's */
        rc = APR_SUCCESS;
        goto done;
    }
    scale_margins(&conf->mon, &before);
    /* The monitor's own cross-field checks (margin below threshold...),
     * blamed on the line that set the thresholds. */
    char msg[300];
    if (kt_mon_conf_check(&conf->mon, msg, sizeof msg) != APR_SUCCESS) {
        lua_getfield(L, -1, "thresholds");
        long long line = lua_tointeger(L, -1);
        if (line > 0)
            snprintf(err, errlen, "%s:%lld: %s", f->path, line, msg);
        else
            snprintf(err, errlen, "%s: %s", f->path, msg);
        goto done;
    }
    if (conf->script_os && strcmp(conf->script_os, "auto") != 0 &&
        strcmp(conf->script_os, "linux") != 0 && strcmp(conf->script_os, "windows") != 0) {
        snprintf(err, errlen, "%s: script_os must be auto, linux or windows", f->path);
        goto done;
    }
    if ((conf->tls_cert != NULL) != (conf->tls_key != NULL) ||
        (conf->tls_client_ca && !conf->tls_cert && !conf->tls_self_signed)) {
        snprintf(err, errlen, "%s: tls needs both cert and key (client_ca only with them)", f->path);
        goto done;
    }
    if (conf->tls_cert && conf->tls_self_signed) {
        snprintf(err, errlen, "%s: tls is either self-signed or a cert and key, not both", f->path);
        goto done;
    }
    if (conf->metrics && strcmp(conf->metrics, "koto") != 0 && strcmp(conf->metrics, "node") != 0 &&
        strcmp(conf->metrics, "both") != 0) {
        snprintf(err, errlen, "%s: metrics must be koto, node or both", f->path);
        goto done;
    }
    if (conf->remedy_root_socket && conf->remedy_root_socket[0] != '/') {
        snprintf(err, errlen, "%s: remedy_root_socket must be an absolute path", f->path);
        goto done;
    }
    rc = APR_SUCCESS;
done:
    kt__lstate_free(ls);
    return rc;
}

/* ---- settings from a request ------------------------------------------------------------------- */

apr_status_t kt__conf_apply_thresholds(kt_conf_t *conf, json_t *thresholds, apr_pool_t *pool,
                                       char *err, apr_size_t errlen)
{
    if (!json_is_object(thresholds)) {
        snprintf(err, errlen, "thresholds must be an object of setting = value");
        return KT_EINPUT;
    }
    kt__lstate_t *ls = kt__lstate_new(0, 0);
    if (!ls) {
        snprintf(err, errlen, "cannot create a Lua state");
        return APR_ENOMEM;
    }
    lua_State *L = ls->L;
    apr_status_t rc = KT_EINPUT;
    kt_mon_conf_t before = conf->mon;
    const char *key;
    json_t *v;
    json_object_foreach(thresholds, key, v) {
        /* As GET /api/agent/config names them, or without the section. */
        const char *full = strncmp(key, "thresholds.", 11) == 0 || strncmp(key, "flapping.", 9) == 0
                               ? key
                               : apr_pstrcat(pool, "thresholds.", key, NULL);
        if (strncmp(full, "thresholds.", 11) != 0 && strncmp(full, "flapping.", 9) != 0) {
            snprintf(err, errlen, "%s: not a threshold", key);
            goto done;
        }
        /* Integers stay integers: an integer setting refuses 3.0. */
        kt__push_json(L, v);
        char msg[400];
        int bad = apply(conf, full, L, -1, pool, msg, sizeof msg);
        lua_settop(L, 0);
        if (bad) {
            snprintf(err, errlen, "%s", msg);
            goto done;
        }
    }
    scale_margins(&conf->mon, &before);
    char msg[300];
    if (kt_mon_conf_check(&conf->mon, msg, sizeof msg) != APR_SUCCESS) {
        snprintf(err, errlen, "thresholds: %s", msg);
        goto done;
    }
    rc = APR_SUCCESS;
done:
    kt__lstate_free(ls);
    return rc;
}
