/*
 * fuzz_render.c - libFuzzer target: fuzzed parameter values for the shipped
 * fix-script templates (lua/templates/), through the parameter checks, the
 * quoting and the template into a script (kt_rules_render).
 *
 * Input: byte 0 picks the template (in kt_rules_templates' order), bit 0 of
 * byte 1 the dialect (Bash, PowerShell); then records
 *   [key] [n] [n bytes of value]
 * where key % (parameters + 1) picks one of the template's declared
 * parameters (or, the last one, a name it does not declare) and key / 32
 * the JSON type the bytes become: 0-4 the declared type, 5 a string, 6 an
 * integer, 7 null (n = 0) or a boolean. Integers are the n bytes
 * little-endian, sign-extended, so small ones are common; a string takes
 * the bytes as they are, valid UTF-8 or not.
 *
 * The checks may refuse any value (422, as the request would be); nothing
 * else may go wrong: a template error (500) is a bug in a template. For a
 * Bash script:
 *  - `bash -n` accepts it (asked once per distinct script);
 *  - every string value the request gave comes back byte for byte when the
 *    script echoes it: where its quoted form is the right-hand side of an
 *    assignment (`name=<quoted>`, the one use lib/script.lua allows), bash
 *    runs that assignment and prints "$name"; where it appears otherwise,
 *    bash prints the quoted word.
 * PowerShell scripts are rendered only (there is no pwsh here to ask).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <jansson.h>
#include <sanitizer/lsan_interface.h>

#include "bash_judge.h"
#include "kt_base.h"
#include "kt_rules.h"
#include "shipped_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kt_rules_t *rules;
static json_t *templates; /* kt_rules_templates */

static void fini(void)
{
    json_decref(templates);
    kt_rules_release(rules);
    apr_terminate();
}

static void init(void)
{
    apr_initialize();
    atexit(fini);
    kt_log_set_level(KT_LOG_ERROR);
    rules = kt_fuzz_shipped_rules("fuzz_render");
    templates = kt_rules_templates(rules);
    if (json_array_size(templates) == 0)
        abort();
}

static json_int_t take_int(const uint8_t *v, size_t n)
{
    if (n > 8)
        n = 8;
    uint64_t u = 0;
    for (size_t i = 0; i < n; i++)
        u |= (uint64_t)v[i] << (8 * i);
    if (n && n < 8 && (v[n - 1] & 0x80))
        u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    return (json_int_t)u;
}

/* The JSON value a record's bytes become, as `type` names it. */
static json_t *make_value(const char *type, const uint8_t *v, size_t n)
{
    if (strcmp(type, "string") == 0)
        return json_stringn_nocheck((const char *)v, n);
    if (strcmp(type, "integer") == 0)
        return json_integer(take_int(v, n));
    if (strcmp(type, "number") == 0)
        return json_real((double)take_int(v, n) / 4);
    return json_boolean(n && (v[0] & 1));
}

static const char *kind_type(unsigned kind, const char *declared, size_t n)
{
    static const char *const others[] = {"string", "integer", "null"};
    if (kind <= 4)
        return declared;
    if (kind == 7 && n)
        return "boolean";
    return others[kind - 5];
}

/* Builds the request's parameters from the records after byte 1; string
 * values also go into strings, to be looked for in the script. */
static json_t *read_params(json_t *decls, const uint8_t *p, const uint8_t *end, json_t *strings)
{
    json_t *params = json_object();
    size_t nparams = json_array_size(decls);
    while (end - p >= 2) {
        unsigned key = p[0];
        size_t n = p[1];
        p += 2;
        if ((size_t)(end - p) < n)
            n = (size_t)(end - p);
        size_t which = key % (nparams + 1);
        json_t *decl = json_array_get(decls, which);
        const char *name = decl ? json_string_value(json_object_get(decl, "name")) : "unknown";
        const char *declared = decl ? json_string_value(json_object_get(decl, "type")) : "string";
        const char *type = kind_type(key / 32, declared, n);
        json_t *v = strcmp(type, "null") == 0 ? json_null() : make_value(type, p, n);
        if (v) {
            json_object_set(params, name, v);
            if (json_is_string(v))
                json_object_set(strings, name, v);
            else
                json_object_del(strings, name);
            json_decref(v);
        }
        p += n;
    }
    return params;
}

static void broken(const char *what, const char *name, json_t *params, const char *script)
{
    char *req = json_dumps(params, JSON_COMPACT | JSON_ENSURE_ASCII);
    fprintf(stderr, "fuzz_render: %s: template %s, parameters %s\n", what, name, req);
    if (script)
        fprintf(stderr, "---- script ----\n%s\n---- end ----\n", script);
    free(req);
    abort();
}

/* The variable a line assigns the word at `at` to (`name=` from the line's
 * start, the word ending the line), or 0 when the word is not that. */
static size_t assigned_name(const char *script, const char *at, size_t qlen)
{
    const char *line = at;
    while (line > script && line[-1] != '\n')
        line--;
    if (at[qlen] != '\n' && at[qlen] != '\0')
        return 0;
    size_t n = (size_t)(at - line);
    if (n < 2 || line[n - 1] != '=' || !(isalpha((unsigned char)line[0]) || line[0] == '_'))
        return 0;
    for (size_t i = 1; i < n - 1; i++)
        if (!isalnum((unsigned char)line[i]) && line[i] != '_')
            return 0;
    return n - 1;
}

/* Whether bash -n has accepted this very text before; remembers it if not.
 * Starting bash takes milliseconds, most of this target's time, and the
 * fuzzer renders the same script again and again: the same text parses the
 * same. A table of 64-bit hashes (FNV-1a), emptied when it fills up. */
static int parsed_before(const char *script)
{
    enum { SLOTS = 1 << 20 };
    static uint64_t *table;
    static unsigned used;
    if (!table && !(table = calloc(SLOTS, sizeof *table)))
        return 0;
    uint64_t h = 14695981039346656037u;
    for (const unsigned char *c = (const unsigned char *)script; *c; c++)
        h = (h ^ *c) * 1099511628211u;
    h |= 1; /* 0 marks an empty slot */
    size_t i = h & (SLOTS - 1);
    while (table[i] && table[i] != h)
        i = (i + 1) & (SLOTS - 1);
    if (table[i])
        return 1;
    if (used >= SLOTS / 2) { /* keep probes short */
        memset(table, 0, SLOTS * sizeof *table);
        used = 0;
        i = h & (SLOTS - 1);
    }
    table[i] = h;
    used++;
    return 0;
}

/* bash runs code and must print value and a NUL, nothing else. */
static int echoes(const char *code, size_t code_len, json_t *value)
{
    size_t outlen, n = json_string_length(value);
    char *out = bash_judge_run(code, code_len, &outlen);
    int same = outlen == n + 1 && memcmp(out, json_string_value(value), n) == 0 && out[n] == '\0';
    free(out);
    return same;
}

static void check_value(const char *tmpl, json_t *params, const char *script, json_t *value)
{
    char *q = kt_rules_quote(KT_DIALECT_BASH, json_string_value(value), json_string_length(value));
    if (!q)
        broken("a value the script took cannot be quoted", tmpl, params, script);
    size_t qlen = strlen(q), cap = 2 * qlen + 64;
    char *code = malloc(cap);
    int printed = 0;
    for (const char *at = strstr(script, q); at; at = strstr(at + 1, q)) {
        size_t name = assigned_name(script, at, qlen);
        if (!name)
            continue;
        int n = snprintf(code, cap, "%.*s%s\nprintf '%%s\\0' \"$%.*s\"",
                         (int)(name + 1), at - name - 1, q, (int)name, at - name - 1);
        if (!echoes(code, (size_t)n, value))
            broken("an assignment in the script does not give the value back", tmpl, params,
                   script);
        printed = 1;
    }
    if (!printed && strstr(script, q)) {
        int n = snprintf(code, cap, "printf '%%s\\0' %s", q);
        if (!echoes(code, (size_t)n, value))
            broken("a quoted value in the script is not the value", tmpl, params, script);
    }
    free(code);
    free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rules)
        init();
    if (size < 2)
        return 0;
    json_t *tmpl = json_array_get(templates, data[0] % json_array_size(templates));
    const char *name = json_string_value(json_object_get(tmpl, "name"));
    kt_dialect_t dialect = data[1] & 1 ? KT_DIALECT_POWERSHELL : KT_DIALECT_BASH;
    json_t *strings = json_object();
    json_t *params = read_params(json_object_get(tmpl, "parameters"), data + 2, data + size,
                                 strings);
    char err[512], *script;
    apr_status_t st = kt_rules_render(rules, name, dialect, params, &script, err, sizeof err);
    if (st != APR_SUCCESS && st != KT_EINPUT) /* a refusal is fine; a template error is not */
        broken(err, name, params, NULL);
    if ((st == APR_SUCCESS) != (script != NULL))
        broken("the status and the script disagree", name, params, script);
    if (script && dialect == KT_DIALECT_BASH) {
        if (!parsed_before(script) && !bash_judge_parses(script, strlen(script)))
            broken("bash -n refuses the script", name, params, script);
        const char *key;
        json_t *v;
        json_object_foreach(strings, key, v) check_value(name, params, script, v);
    }
    free(script);
    json_decref(strings);
    json_decref(params);
    return 0;
}
