/*
 * show.c - what koto prints for a person: one line per thing, in columns,
 * times in local time. Scripts use --json instead, so nothing here is an
 * interface to parse.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *kt_cli_time(json_int_t ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, len, "%lld", (long long)ms);
    return buf;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : "-";
}

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* A number as a person reads it: no trailing zeros, "-" for null. */
static const char *figure(json_t *v, char *buf, size_t len)
{
    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.6g", json_real_value(v));
    else
        snprintf(buf, len, "-");
    return buf;
}

/* ---- status --------------------------------------------------------------- */

json_t *kt_cli_setting(json_t *config, const char *key)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(config, "settings"), i, s)
        if (strcmp(str(s, "key"), key) == 0)
            return json_object_get(s, "value");
    return NULL;
}

/* The active condition a check's failure raised, if any: check events name
 * the check as their subject. */
static json_t *check_condition(json_t *active, const char *name)
{
    static const char *const kinds[] = {"process_down", "process_count", "service_failed"};
    size_t i;
    json_t *a;
    json_array_foreach(active, i, a)
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
            if (strcmp(str(a, "type"), kinds[k]) == 0 && strcmp(str(a, "subject"), name) == 0)
                return a;
    return NULL;
}

static void status_line(const char *what, const char *state, json_t *cond)
{
    char since[32], value[32], threshold[32];
    printf("%-28s %-8s %-8s %-19s %10s %10s  %s\n", what, state, cond ? str(cond, "severity") : "-",
           cond ? kt_cli_time(num(cond, "since"), since, sizeof since) : "-",
           cond ? figure(json_object_get(cond, "value"), value, sizeof value) : "-",
           cond ? figure(json_object_get(cond, "threshold"), threshold, sizeof threshold) : "-",
           cond ? str(cond, "subject") : "");
}

int kt_cli_show_status(json_t *status, json_t *config)
{
    json_t *health = json_object_get(status, "health");
    json_t *active = json_object_get(health, "active");
    json_t *store = json_object_get(status, "store");
    char last[32];
    printf("monitoring %s, health %s, %lld readings (last %s)", json_is_true(json_object_get(status, "running")) ? "running" : "stopped",
           str(health, "status"), (long long)num(health, "samples"),
           kt_cli_time(num(health, "last_sample"), last, sizeof last));
    if (store)
        printf(", store %s", str(store, "state"));
    printf("\n\n%-28s %-8s %-8s %-19s %10s %10s  %s\n", "CONDITION OR CHECK", "STATE", "SEVERITY",
           "SINCE", "VALUE", "THRESHOLD", "SUBJECT");

    int trouble = 0;
    size_t i;
    json_t *a;
    json_array_foreach(active, i, a) {
        const char *type = str(a, "type");
        if (strcmp(type, "process_down") && strcmp(type, "process_count") &&
            strcmp(type, "service_failed"))
            status_line(type, "active", a);
        trouble = 1;
    }
    json_t *c;
    json_array_foreach(kt_cli_setting(config, "checks"), i, c) {
        char what[64];
        snprintf(what, sizeof what, "%s (%s)", str(c, "name"), str(c, "kind"));
        json_t *cond = check_condition(active, str(c, "name"));
        status_line(what, cond ? "failing" : "ok", cond);
    }
    if (!json_array_size(active) && !json_array_size(kt_cli_setting(config, "checks")))
        printf("(no condition active, no checks configured)\n");
    return trouble ? KT_CLI_TROUBLE : KT_CLI_OK;
}

/* ---- events --------------------------------------------------------------- */

void kt_cli_show_event(json_t *e)
{
    char when[32];
    const char *subject = str(e, "subject");
    printf("%6lld  %s  %-8s %-20s %-6s  %s%s%s%s\n", (long long)num(e, "id"),
           kt_cli_time(num(e, "time"), when, sizeof when), str(e, "state"), str(e, "type"),
           str(e, "severity"), strcmp(subject, "-") ? "[" : "", strcmp(subject, "-") ? subject : "",
           strcmp(subject, "-") ? "] " : "", str(e, "message"));
}

void kt_cli_show_events(json_t *answer)
{
    json_t *list = json_object_get(answer, "events");
    if (!json_array_size(list)) {
        printf("(no events)\n");
        return;
    }
    printf("%6s  %-19s  %-8s %-20s %-6s  %s\n", "ID", "TIME", "STATE", "TYPE", "SEV", "MESSAGE");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        kt_cli_show_event(e);
}

/* ---- history -------------------------------------------------------------- */

void kt_cli_show_history(json_t *h)
{
    printf("%s (%s), tier %s, %lld ms per point\n", str(h, "metric"), str(h, "unit"), str(h, "tier"),
           (long long)num(h, "bucket_ms"));
    printf("%-19s %12s %12s %12s\n", "TIME", "AVG", "MIN", "MAX");
    json_t *t = json_object_get(h, "t"), *avg = json_object_get(h, "avg"),
           *min = json_object_get(h, "min"), *max = json_object_get(h, "max");
    for (size_t i = 0; i < json_array_size(t); i++) {
        char when[32], a[32], lo[32], hi[32];
        printf("%-19s %12s %12s %12s\n",
               kt_cli_time(json_integer_value(json_array_get(t, i)), when, sizeof when),
               figure(json_array_get(avg, i), a, sizeof a), figure(json_array_get(min, i), lo, sizeof lo),
               figure(json_array_get(max, i), hi, sizeof hi));
    }
}

void kt_cli_show_series(json_t *answer)
{
    printf("%-32s %-5s %-19s %-19s\n", "METRIC", "UNIT", "FIRST", "LAST");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(answer, "series"), i, s) {
        char first[32], last[32];
        printf("%-32s %-5s %-19s %-19s\n", str(s, "metric"), str(s, "unit"),
               kt_cli_time(num(s, "first"), first, sizeof first),
               kt_cli_time(num(s, "last"), last, sizeof last));
    }
}

/* ---- silences and remediations -------------------------------------------- */

void kt_cli_show_tokens(json_t *answer)
{
    printf("%-24s %s\n", "NAME", "SCOPES");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(answer, "tokens"), i, t)
        printf("%-24s %s\n", str(t, "name"), str(t, "scopes"));
}

void kt_cli_show_silences(json_t *answer)
{
    json_t *list = json_object_get(answer, "silences");
    printf("%5s  %-8s %-19s %-19s %-40s %s\n", "ID", "STATE", "FROM", "UNTIL", "MATCHERS", "COMMENT (BY)");
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        char from[32], until[32], match[128] = "";
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(s, "matchers"), key, v) {
            size_t n = strlen(match);
            snprintf(match + n, sizeof match - n, "%s%s=%s", n ? " " : "", key, json_string_value(v));
        }
        printf("%5lld  %-8s %-19s %-19s %-40s %s (%s)\n", (long long)num(s, "id"), str(s, "state"),
               kt_cli_time(num(s, "starts_at"), from, sizeof from),
               kt_cli_time(num(s, "ends_at"), until, sizeof until), *match ? match : "(every event)",
               str(s, "comment"), str(s, "created_by"));
    }
    size_t j;
    json_t *w;
    json_array_foreach(json_object_get(answer, "maintenance"), j, w)
        printf("maintenance window %s: %s\n", str(w, "name"),
               json_is_true(json_object_get(w, "open")) ? "open now" : "closed");
}

void kt_cli_show_remediations(json_t *answer)
{
    json_t *list = json_object_get(answer, "remediations");
    if (!json_array_size(list)) {
        printf("(no remediations)\n");
        return;
    }
    printf("%5s  %-10s %-22s %-20s %6s  %-19s %s\n", "ID", "STATE", "TEMPLATE", "SUBJECT", "EVENT",
           "PROPOSED", "BY");
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r) {
        char when[32];
        printf("%5lld  %-10s %-22s %-20s %6lld  %-19s %s\n", (long long)num(r, "id"), str(r, "state"),
               str(r, "template"), str(r, "subject"), (long long)num(r, "event_id"),
               kt_cli_time(num(r, "created_ms"), when, sizeof when), str(r, "proposed_by"));
    }
}

static void show_output(const char *title, json_t *o)
{
    if (!o)
        return;
    const char *skipped = json_string_value(json_object_get(o, "skipped"));
    if (skipped) {
        printf("%s: skipped (%s)\n", title, skipped);
        return;
    }
    printf("%s: exit %lld%s in %lld ms\n", title, (long long)num(o, "exit_code"),
           json_is_true(json_object_get(o, "timed_out")) ? " (timed out)" : "",
           (long long)num(o, "duration_ms"));
    const char *out = json_string_value(json_object_get(o, "output"));
    if (out && *out)
        printf("%s%s", out, out[strlen(out) - 1] == '\n' ? "" : "\n");
}

void kt_cli_show_remediation(json_t *r)
{
    char when[32];
    printf("remediation %lld: %s\n", (long long)num(r, "id"), str(r, "state"));
    printf("template %s (%s, %s) for event %lld, subject %s\n", str(r, "template"), str(r, "os"),
           str(r, "dialect"), (long long)num(r, "event_id"), str(r, "subject"));
    printf("proposed by %s at %s\n", str(r, "proposed_by"),
           kt_cli_time(num(r, "created_ms"), when, sizeof when));
    if (json_object_get(r, "decided_by"))
        printf("decided by %s at %s\n", str(r, "decided_by"),
               kt_cli_time(num(r, "decided_ms"), when, sizeof when));
    printf("sha256 %s\n--- script ---\n%s", str(r, "sha256"), str(r, "script"));
    printf("--------------\n");
    show_output("dry run", json_object_get(r, "dry_run"));
    show_output("run", json_object_get(r, "run"));
}
