/*
 * channels.c - the `notify` list of koto.conf.lua: one table per channel,
 * checked field by field, with the secrets read from their files here so
 * that `kotod -t` refuses a missing or world-readable one before a start.
 *
 *   notify = {
 *     { name = "ops", kind = "webhook", url = "https://hooks.example/koto",
 *       secret_file = "/etc/koto/webhook.secret", min_severity = "medium" },
 *   }
 *
 * A secret is never shown: GET /api/agent/config names its file only, and
 * header values (a bearer token) are masked.
 */
#include "rules_internal.h"
#include "kt_sys.h"

#include <stdio.h>
#include <string.h>

#define LIST "notify"
#define MASK "********"

typedef struct {
    const char *name, *type, *help;
} field_t;

/* The fields a channel may have; --help-config lists them from here. */
static const field_t fields[] = {
    {"name", "string", "the channel's name ([A-Za-z0-9_.-], unique): metrics and status use it"},
    {"kind", "string", "webhook, alertmanager or email"},
    {"url", "string",
     "where it is sent: http:// or https:// (alertmanager: its base URL, e.g. "
     "http://127.0.0.1:9093; email: smtp://host:587 or smtps://host:465)"},
    {"group_s", "integer",
     "webhook (koto format) and email: events arriving within this many seconds of the first go "
     "as one message, 0..3600 (default 0: each alone)"},
    {"repeat_s", "integer",
     "webhook (koto format) and email: a reminder this often while a condition holds, "
     "0..604800 (default 0: none)"},
    {"from", "string", "email: the sender's address"},
    {"to", "list", "email: the recipients' addresses"},
    {"credentials_file", "string",
     "email: \"user:password\" on the first line of an owner-only file (default: no login)"},
    {"starttls", "boolean",
     "email with smtp://: require STARTTLS (default true; false sends in the clear)"},
    {"ca_file", "string", "email: the CA certificates to trust instead of the system's"},
    {"format", "string",
     "webhook: koto (default) or alertmanager (Alertmanager's webhook payload, version 4)"},
    {"resend_s", "integer",
     "alertmanager: firing alerts (endsAt 4 resends ahead) and resolved ones (for 15 min) are "
     "sent again this often, 1..3600 (default 60)"},
    {"secret_file", "string",
     "webhook: the Standard Webhooks signing key (whsec_<base64> or raw), an owner-only file"},
    {"headers", "table", "extra request headers { Name = \"value\" } (values masked in the API)"},
    {"min_severity", "string", "low (default), medium or high: events below are not sent"},
    {"types", "list", "only these event types, built-in or conditions' (default: every type)"},
    {"subjects", "list", "only these subjects: a mount point, a process name (default: all)"},
    {"send_resolved", "boolean", "send resolved events too (default true)"},
    {"timeout_ms", "integer", "one attempt's time limit, 100..300000 (default 10000)"},
    {"backoff_ms", "integer", "the first retry's delay, 10..3600000 (default 1000), doubled each time"},
    {"backoff_max_ms", "integer", "the retry delay's cap, 10..86400000 (default 300000)"},
    {"max_age_s", "integer", "undelivered after this long it is failed, 1..2592000 (default 86400)"},
};

void kt__conf_describe_notify(FILE *to)
{
    fprintf(to, "%-36s %-8s %-13s %s\n", LIST, "list", "",
            "notification channels, each a table of the fields below (a reload applies them; a kept name keeps its queue)");
    for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++) {
        char key[64];
        snprintf(key, sizeof key, LIST "[].%s", fields[i].name);
        fprintf(to, "%-36s %-8s %-13s %s\n", key, fields[i].type, "", fields[i].help);
    }
}

/* ---- reading one channel ------------------------------------------------------------------ */

typedef struct {
    lua_State *L;
    int t;          /* the channel's table (absolute index) */
    unsigned index; /* 1-based, for messages */
    apr_pool_t *pool;
    char *msg;
    apr_size_t len;
} reader_t;

static int fail(reader_t *r, const char *field, const char *what)
{
    snprintf(r->msg, r->len, LIST "[%u].%s %s", r->index, field, what);
    return -1;
}

/* The string field, or NULL when absent; -1 in *bad when it is not a plain string. */
static const char *get_string(reader_t *r, const char *field, int *bad)
{
    lua_getfield(r->L, r->t, field);
    const char *v = NULL;
    if (!lua_isnil(r->L, -1)) {
        if (lua_type(r->L, -1) != LUA_TSTRING || lua_rawlen(r->L, -1) == 0 ||
            strlen(lua_tostring(r->L, -1)) != lua_rawlen(r->L, -1)) {
            fail(r, field, "must be a non-empty string without NUL bytes");
            *bad = -1;
        } else {
            v = apr_pstrdup(r->pool, lua_tostring(r->L, -1));
        }
    }
    lua_pop(r->L, 1);
    return v;
}

static int get_uint(reader_t *r, const char *field, unsigned min, unsigned max, unsigned *out)
{
    lua_getfield(r->L, r->t, field);
    int rc = 0;
    if (!lua_isnil(r->L, -1)) {
        lua_Integer v = lua_isinteger(r->L, -1) ? lua_tointeger(r->L, -1) : -1;
        if (v < (lua_Integer)min || v > (lua_Integer)max) {
            char what[80];
            snprintf(what, sizeof what, "must be a whole number from %u to %u", min, max);
            rc = fail(r, field, what);
        } else {
            *out = (unsigned)v;
        }
    }
    lua_pop(r->L, 1);
    return rc;
}

/* A list of non-empty strings; *n 0 when absent. */
static int get_list(reader_t *r, const char *field, const char ***out, unsigned *n)
{
    lua_getfield(r->L, r->t, field);
    int rc = 0;
    *n = 0;
    if (!lua_isnil(r->L, -1)) {
        lua_Integer count = lua_istable(r->L, -1) ? luaL_len(r->L, -1) : -1;
        if (count < 1 || count > 256) {
            rc = fail(r, field, "must be a list of 1 to 256 strings");
        } else {
            *out = apr_pcalloc(r->pool, sizeof **out * (apr_size_t)count);
            for (lua_Integer i = 1; i <= count && rc == 0; i++) {
                lua_rawgeti(r->L, -1, i);
                if (lua_type(r->L, -1) != LUA_TSTRING || lua_rawlen(r->L, -1) == 0 ||
                    strlen(lua_tostring(r->L, -1)) != lua_rawlen(r->L, -1))
                    rc = fail(r, field, "must be a list of non-empty strings");
                else
                    (*out)[(*n)++] = apr_pstrdup(r->pool, lua_tostring(r->L, -1));
                lua_pop(r->L, 1);
            }
        }
    }
    lua_pop(r->L, 1);
    return rc;
}

static int known_field(const char *name)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++)
        if (strcmp(fields[i].name, name) == 0)
            return 1;
    return 0;
}

static int plain_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

/* A header's name is an HTTP token, its value one line. */
static int header_ok(const char *name, const char *value)
{
    if (!*name || strpbrk(name, " \t\r\n:()<>@,;\\\"/[]?={}"))
        return 0;
    return !strpbrk(value, "\r\n");
}

static int get_headers(reader_t *r, kt_notify_conf_t *c)
{
    lua_getfield(r->L, r->t, "headers");
    int rc = 0;
    if (!lua_isnil(r->L, -1)) {
        if (!lua_istable(r->L, -1)) {
            rc = fail(r, "headers", "must be a table of Name = \"value\"");
        } else {
            apr_array_header_t *a = apr_array_make(r->pool, 4, sizeof(kt_notify_header_t));
            lua_pushnil(r->L);
            while (rc == 0 && lua_next(r->L, -2)) {
                if (lua_type(r->L, -2) != LUA_TSTRING || lua_type(r->L, -1) != LUA_TSTRING ||
                    !header_ok(lua_tostring(r->L, -2), lua_tostring(r->L, -1))) {
                    rc = fail(r, "headers", "must map header names to one-line strings");
                    lua_pop(r->L, 2);
                    break;
                }
                kt_notify_header_t *h = apr_array_push(a);
                h->name = apr_pstrdup(r->pool, lua_tostring(r->L, -2));
                h->value = apr_pstrdup(r->pool, lua_tostring(r->L, -1));
                lua_pop(r->L, 1);
            }
            c->headers = (const kt_notify_header_t *)a->elts;
            c->nheaders = (unsigned)a->nelts;
        }
    }
    lua_pop(r->L, 1);
    return rc;
}

static int read_secret(reader_t *r, kt_notify_conf_t *c)
{
    char *text;
    apr_size_t n;
    apr_status_t st = kt_sys_read_secret(c->secret_file, &text, &n, r->pool);
    if (st == KT_EINPUT)
        return fail(r, "secret_file",
                    apr_psprintf(r->pool, "%s must be a regular file only its owner can read "
                                          "(chmod 600)", c->secret_file));
    if (st != APR_SUCCESS) {
        char buf[128];
        return fail(r, "secret_file", apr_psprintf(r->pool, "%s cannot be read: %s",
                                                   c->secret_file, kt_strerror(st, buf, sizeof buf)));
    }
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = '\0';
    if (!n)
        return fail(r, "secret_file", apr_psprintf(r->pool, "%s is empty", c->secret_file));
    c->secret = (const unsigned char *)text;
    c->secret_len = n;
    return 0;
}

/* One address: something@something, nothing that breaks a header line. */
static int address_ok(const char *a)
{
    const char *at = strchr(a, '@');
    return at && at != a && at[1] && !strpbrk(a, " \t\r\n<>,;\"");
}

static int read_email(reader_t *r, kt_notify_conf_t *c)
{
    int bad = 0;
    c->from = get_string(r, "from", &bad);
    c->credentials_file = get_string(r, "credentials_file", &bad);
    c->ca_file = get_string(r, "ca_file", &bad);
    if (bad)
        return -1;
    if (strncmp(c->url, "smtp://", 7) != 0 && strncmp(c->url, "smtps://", 8) != 0)
        return fail(r, "url", "must be an smtp:// or smtps:// URL for an email channel");
    if (!c->from || !address_ok(c->from))
        return fail(r, "from", "must be an address (koto@host.example)");
    const char **to = NULL;
    if (get_list(r, "to", &to, &c->nto))
        return -1;
    if (!c->nto)
        return fail(r, "to", "must list at least one address");
    for (unsigned i = 0; i < c->nto; i++)
        if (!address_ok(to[i]))
            return fail(r, "to", apr_psprintf(r->pool, "has '%s', which is not an address", to[i]));
    c->to = to;
    lua_getfield(r->L, r->t, "starttls");
    c->starttls = lua_isnil(r->L, -1) ? 1 : lua_toboolean(r->L, -1);
    int isbool = lua_isnil(r->L, -1) || lua_isboolean(r->L, -1);
    lua_pop(r->L, 1);
    if (!isbool)
        return fail(r, "starttls", "must be true or false");
    if (!c->credentials_file)
        return 0;
    char *text;
    apr_size_t n;
    apr_status_t st = kt_sys_read_secret(c->credentials_file, &text, &n, r->pool);
    if (st == KT_EINPUT)
        return fail(r, "credentials_file",
                    apr_psprintf(r->pool, "%s must be a regular file only its owner can read "
                                          "(chmod 600)", c->credentials_file));
    if (st != APR_SUCCESS) {
        char buf[128];
        return fail(r, "credentials_file",
                    apr_psprintf(r->pool, "%s cannot be read: %s", c->credentials_file,
                                 kt_strerror(st, buf, sizeof buf)));
    }
    text[strcspn(text, "\r\n")] = '\0';
    char *colon = strchr(text, ':');
    if (!colon || colon == text)
        return fail(r, "credentials_file",
                    apr_psprintf(r->pool, "%s must hold user:password on its first line",
                                 c->credentials_file));
    *colon = '\0';
    c->user = text;
    c->password = colon + 1;
    return 0;
}

static int read_channel(reader_t *r, kt_notify_conf_t *c)
{
    lua_State *L = r->L;
    lua_pushnil(L);
    while (lua_next(L, r->t)) {
        int ok = lua_type(L, -2) == LUA_TSTRING && known_field(lua_tostring(L, -2));
        if (!ok) {
            snprintf(r->msg, r->len, LIST "[%u] has an unknown field '%s' (kotod --help-config)",
                     r->index, lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    int bad = 0;
    const char *kind = get_string(r, "kind", &bad), *sev, *format;
    c->name = get_string(r, "name", &bad);
    c->url = get_string(r, "url", &bad);
    c->secret_file = get_string(r, "secret_file", &bad);
    sev = get_string(r, "min_severity", &bad);
    format = get_string(r, "format", &bad);
    if (bad)
        return -1;
    if (!c->name || !plain_name(c->name))
        return fail(r, "name", "must be 1 to 64 letters, digits, '_', '.' or '-'");
    if (kind && strcmp(kind, "webhook") == 0)
        c->kind = KT_NOTIFY_WEBHOOK;
    else if (kind && strcmp(kind, "alertmanager") == 0)
        c->kind = KT_NOTIFY_ALERTMANAGER;
    else if (kind && strcmp(kind, "email") == 0)
        c->kind = KT_NOTIFY_EMAIL;
    else
        return fail(r, "kind", "must be webhook, alertmanager or email");
    static const char *const email_only[] = {"from", "to", "credentials_file", "starttls", "ca_file"};
    for (size_t i = 0; i < KT_ARRAY_SIZE(email_only); i++) {
        lua_getfield(L, r->t, email_only[i]);
        int given = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (given && c->kind != KT_NOTIFY_EMAIL)
            return fail(r, email_only[i], "is an email channel's field");
    }
    lua_getfield(L, r->t, "headers");
    int headers = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (headers && c->kind == KT_NOTIFY_EMAIL)
        return fail(r, "headers", "is not an email channel's field");
    if (format && c->kind != KT_NOTIFY_WEBHOOK)
        return fail(r, "format", "is a webhook's field");
    if (format && strcmp(format, "alertmanager") == 0)
        c->format = KT_NOTIFY_FORMAT_ALERTMANAGER;
    else if (format && strcmp(format, "koto") != 0)
        return fail(r, "format", "must be koto or alertmanager");
    if (c->secret_file && c->kind != KT_NOTIFY_WEBHOOK)
        return fail(r, "secret_file", "is a webhook's field");
    if (!c->url || strpbrk(c->url, " \t\r\n"))
        return fail(r, "url", "must be a URL");
    if (c->kind != KT_NOTIFY_EMAIL && strncmp(c->url, "http://", 7) != 0 &&
        strncmp(c->url, "https://", 8) != 0)
        return fail(r, "url", "must be an http:// or https:// URL");
    c->min_severity = KT_SEV_LOW;
    if (sev && (c->min_severity = kt_severity_parse(sev)) < 0)
        return fail(r, "min_severity", "must be low, medium or high");
    const char **types = NULL, **subjects = NULL;
    unsigned ntypes;
    if (get_list(r, "types", &types, &ntypes) || get_list(r, "subjects", &subjects, &c->nsubjects))
        return -1;
    for (unsigned i = 0; i < ntypes; i++) {
        int t = kt_event_type_parse(types[i]);
        if (t < 0)
            return fail(r, "types", apr_psprintf(r->pool, "names an unknown event type '%s'",
                                                 types[i]));
        kt_type_set_add(&c->types, t);
    }
    c->subjects = subjects;
    lua_getfield(L, r->t, "send_resolved");
    c->send_resolved = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
    int isbool = lua_isnil(L, -1) || lua_isboolean(L, -1);
    lua_pop(L, 1);
    if (!isbool)
        return fail(r, "send_resolved", "must be true or false");
    c->timeout_ms = 10000;
    c->backoff_ms = 1000;
    c->backoff_max_ms = 300000;
    c->max_age_s = 86400;
    c->resend_s = 60;
    if (get_uint(r, "timeout_ms", 100, 300000, &c->timeout_ms) ||
        get_uint(r, "backoff_ms", 10, 3600000, &c->backoff_ms) ||
        get_uint(r, "backoff_max_ms", 10, 86400000, &c->backoff_max_ms) ||
        get_uint(r, "max_age_s", 1, 2592000, &c->max_age_s) ||
        get_uint(r, "resend_s", 1, 3600, &c->resend_s) ||
        get_uint(r, "group_s", 0, 3600, &c->group_s) ||
        get_uint(r, "repeat_s", 0, 604800, &c->repeat_s) || get_headers(r, c))
        return -1;
    int am = c->kind == KT_NOTIFY_ALERTMANAGER || c->format == KT_NOTIFY_FORMAT_ALERTMANAGER;
    if (am && c->group_s)
        return fail(r, "group_s", "is not for Alertmanager, which groups alerts itself");
    if (am && c->repeat_s)
        return fail(r, "repeat_s", "is not for Alertmanager, which repeats notifications itself");
    if (c->backoff_max_ms < c->backoff_ms)
        return fail(r, "backoff_max_ms", "must not be below backoff_ms");
    if (c->kind == KT_NOTIFY_EMAIL && read_email(r, c))
        return -1;
    return c->secret_file ? read_secret(r, c) : 0;
}

int kt__conf_set_notify(kt_conf_t *conf, lua_State *L, int idx, apr_pool_t *pool, char *msg,
                        apr_size_t len)
{
    idx = lua_absindex(L, idx);
    lua_Integer n = lua_istable(L, idx) ? luaL_len(L, idx) : -1;
    if (n < 0 || n > 64) {
        snprintf(msg, len, LIST " must be a list of at most 64 channel tables");
        return -1;
    }
    kt_notify_conf_t *list = apr_pcalloc(pool, sizeof *list * (apr_size_t)(n ? n : 1));
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        reader_t r = {L, lua_absindex(L, -1), (unsigned)i, pool, msg, len};
        int rc = lua_istable(L, -1) ? read_channel(&r, &list[i - 1])
                                    : (snprintf(msg, len, LIST "[%u] must be a table", r.index), -1);
        lua_pop(L, 1);
        if (rc != 0)
            return -1;
        for (lua_Integer j = 1; j < i; j++)
            if (strcmp(list[j - 1].name, list[i - 1].name) == 0) {
                snprintf(msg, len, LIST "[%u].name '%s' is already used by " LIST "[%u]",
                         (unsigned)i, list[i - 1].name, (unsigned)j);
                return -1;
            }
    }
    conf->notify = list;
    conf->nnotify = (unsigned)n;
    return 0;
}

const char *kt_notify_kind_name(kt_notify_kind_t k)
{
    return k == KT_NOTIFY_ALERTMANAGER ? "alertmanager" : k == KT_NOTIFY_EMAIL ? "email" : "webhook";
}

const kt_notify_conf_t *kt_conf_channel(const kt_conf_t *conf, const char *name)
{
    for (unsigned i = 0; i < conf->nnotify; i++)
        if (strcmp(conf->notify[i].name, name) == 0)
            return &conf->notify[i];
    return NULL;
}

static json_t *strings(const char *const *v, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *kt__conf_notify_json(const kt_conf_t *conf)
{
    json_t *list = json_array();
    for (unsigned i = 0; i < conf->nnotify; i++) {
        const kt_notify_conf_t *c = &conf->notify[i];
        json_t *types = json_array(), *headers = json_object();
        for (int t = 0, nt = kt_event_type_count(); t < nt; t++)
            if (kt_type_set_has(&c->types, t))
                json_array_append_new(types, json_string(kt_event_type_name(t)));
        for (unsigned h = 0; h < c->nheaders; h++)
            json_object_set_new(headers, c->headers[h].name, json_string(MASK));
        json_t *o = json_pack("{s:s s:s s:s s:s s:o s:o s:b s:i s:i s:i s:i s:o s:i s:i}",
                              "name", c->name,
                              "kind", kt_notify_kind_name(c->kind), "url", c->url, "min_severity",
                              kt_severity_name(c->min_severity), "types", types, "subjects",
                              strings(c->subjects, c->nsubjects), "send_resolved",
                              c->send_resolved, "timeout_ms", (int)c->timeout_ms, "backoff_ms",
                              (int)c->backoff_ms, "backoff_max_ms", (int)c->backoff_max_ms,
                              "max_age_s", (int)c->max_age_s, "headers", headers, "group_s",
                              (int)c->group_s, "repeat_s", (int)c->repeat_s);
        if (c->kind == KT_NOTIFY_EMAIL) {
            json_object_set_new(o, "from", json_string(c->from));
            json_object_set_new(o, "to", strings(c->to, c->nto));
            json_object_set_new(o, "starttls", json_boolean(c->starttls));
            if (c->ca_file)
                json_object_set_new(o, "ca_file", json_string(c->ca_file));
            if (c->credentials_file) {
                json_object_set_new(o, "credentials_file", json_string(c->credentials_file));
                json_object_set_new(o, "credentials", json_string(MASK));
            }
        } else if (c->kind == KT_NOTIFY_WEBHOOK)
            json_object_set_new(o, "format", json_string(c->format == KT_NOTIFY_FORMAT_ALERTMANAGER
                                                             ? "alertmanager"
                                                             : "koto"));
        else
            json_object_set_new(o, "resend_s", json_integer(c->resend_s));
        if (c->secret_file) {
            json_object_set_new(o, "secret_file", json_string(c->secret_file));
            json_object_set_new(o, "secret", json_string(MASK));
        }
        json_array_append_new(list, o);
    }
    return list;
}

void kt__conf_copy_notify(kt_conf_t *dst, const kt_conf_t *src, apr_pool_t *pool)
{
    if (!src->nnotify)
        return;
    kt_notify_conf_t *list = apr_pmemdup(pool, src->notify, sizeof *list * src->nnotify);
    for (unsigned i = 0; i < src->nnotify; i++) {
        kt_notify_conf_t *c = &list[i];
        c->name = apr_pstrdup(pool, c->name);
        c->url = apr_pstrdup(pool, c->url);
        if (c->secret_file)
            c->secret_file = apr_pstrdup(pool, c->secret_file);
        if (c->secret)
            c->secret = apr_pmemdup(pool, c->secret, c->secret_len + 1);
        if (c->nheaders) {
            kt_notify_header_t *h = apr_pmemdup(pool, c->headers, sizeof *h * c->nheaders);
            for (unsigned j = 0; j < c->nheaders; j++) {
                h[j].name = apr_pstrdup(pool, h[j].name);
                h[j].value = apr_pstrdup(pool, h[j].value);
            }
            c->headers = h;
        }
        const char **strs[] = {&c->from, &c->credentials_file, &c->user, &c->password, &c->ca_file};
        for (size_t j = 0; j < KT_ARRAY_SIZE(strs); j++)
            if (*strs[j])
                *strs[j] = apr_pstrdup(pool, *strs[j]);
        if (c->nto) {
            const char **t = apr_pcalloc(pool, sizeof *t * c->nto);
            for (unsigned j = 0; j < c->nto; j++)
                t[j] = apr_pstrdup(pool, c->to[j]);
            c->to = t;
        }
        if (c->nsubjects) {
            const char **s = apr_pcalloc(pool, sizeof *s * c->nsubjects);
            for (unsigned j = 0; j < c->nsubjects; j++)
                s[j] = apr_pstrdup(pool, c->subjects[j]);
            c->subjects = s;
        }
    }
    dst->notify = list;
}
