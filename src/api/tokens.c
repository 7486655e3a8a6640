/*
 * tokens.c - named API tokens with scopes, kept in STATE_DIR/tokens.
 *
 * Scopes: read (readings, events, history, proposals and the audit),
 * propose (create a remediation proposal, the way an AI agent suggests a
 * fix), control (everything that changes what kotod does: start, stop,
 * clear, save, reload, silences, approving and denying remediations). Each
 * implies the ones before it: a token that may approve may read what it
 * approves. The token in STATE_DIR/token, made at first start, is "default"
 * with control; tokens made with `kotod --token add` carry what they were
 * given.
 *
 * The file holds one line per token: name, scopes, and the SHA-256 of the
 * token in hex; the token itself is printed once, when it is made, and never
 * stored, so a copy of the file lets nobody in. It is written whole to
 * tokens.new (owner-only) and renamed over tokens. The daemon notices a
 * change by the file's size and modification time on the next request that
 * presents a token it does not know as the default one, so `--token revoke`
 * takes effect without a restart.
 *
 * Thread-safety: kt__tokens_lookup may be called from any worker; the list
 * is guarded by its mutex, held only to compare and to swap in a reread.
 */
#include "api_internal.h"
#include "kt_sys.h"

#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#define TOKEN_BYTES 32
#define MAX_TOKENS 256
#define NAME_MAX_LEN KT__TOKEN_NAME_MAX

typedef struct {
    char name[NAME_MAX_LEN + 1];
    unsigned scopes;
    char hash[65]; /* SHA-256 of the token, hex */
} entry_t;

struct kt__tokens_t {
    const char *path; /* STATE_DIR/tokens; NULL: only the default token */
    apr_thread_mutex_t *lock; /* guards the fields below */
    entry_t *list;            /* malloc'd */
    unsigned n;
    apr_time_t mtime;
    apr_off_t size;
    int seen; /* the file existed at the last look */
};

/* ---- Private ------------------------------------------------------------------------- */

static const char *const scope_names[] = {"read", "propose", "control"};

static unsigned implied(unsigned s)
{
    if (s & KT_SCOPE_CONTROL)
        s |= KT_SCOPE_PROPOSE;
    if (s & KT_SCOPE_PROPOSE)
        s |= KT_SCOPE_READ;
    return s;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || strcmp(name, "default") == 0)
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void hash_hex(const char *token, char out[65])
{
    unsigned char d[32];
    if (kt_sys_sha256(token, strlen(token), d) != APR_SUCCESS) {
        memset(out, 0, 65); /* matches no stored hash: 64 hex digits */
        return;
    }
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}


/* Parses the file's text into list (malloc'd, *n entries); a line that is
 * not "name scopes hash" is skipped: a person may have edited the file. */
static entry_t *parse(char *text, unsigned *n)
{
    entry_t *list = calloc(MAX_TOKENS, sizeof *list);
    *n = 0;
    if (!list)
        return NULL;
    char *save = NULL;
    for (char *line = apr_strtok(text, "\n", &save); line && *n < MAX_TOKENS;
         line = apr_strtok(NULL, "\n", &save)) {
        char name[NAME_MAX_LEN + 1], scopes[64], hash[65];
        if (sscanf(line, "%64s %63s %64s", name, scopes, hash) != 3 || strlen(hash) != 64 ||
            !name_ok(name))
            continue;
        entry_t *e = &list[*n];
        if (kt_api_scopes_parse(scopes, &e->scopes) != APR_SUCCESS)
            continue;
        memcpy(e->name, name, sizeof name);
        memcpy(e->hash, hash, sizeof hash);
        (*n)++;
    }
    return list;
}

/* Reads path into a fresh list; ENOENT is an empty list. */
static apr_status_t load_file(const char *path, entry_t **list, unsigned *n, apr_pool_t *pool)
{
    char *text;
    apr_size_t len;
    apr_status_t st = kt_sys_read_secret(path, &text, &len, pool);
    if (APR_STATUS_IS_ENOENT(st)) {
        *list = calloc(1, sizeof **list);
        *n = 0;
        return *list ? APR_SUCCESS : APR_ENOMEM;
    }
    if (st != APR_SUCCESS)
        return st;
    *list = parse(text, n);
    return *list ? APR_SUCCESS : APR_ENOMEM;
}

static apr_status_t write_file(const char *path, const entry_t *list, unsigned n,
                               apr_pool_t *pool)
{
    char *text = apr_pstrdup(pool, "");
    for (unsigned i = 0; i < n; i++)
        text = apr_psprintf(pool, "%s%s %s %s\n", text, list[i].name,
                            kt_api_scopes_name(list[i].scopes, pool), list[i].hash);
    const char *tmp = apr_pstrcat(pool, path, ".new", NULL);
    apr_file_remove(tmp, pool);
    apr_status_t st = kt_sys_create_secret(tmp, text, strlen(text), pool);
    if (st == APR_SUCCESS)
        st = apr_file_rename(tmp, path, pool);
    if (st != APR_SUCCESS)
        apr_file_remove(tmp, pool);
    return st;
}

static void refresh(kt__tokens_t *t)
{
    apr_pool_t *pool;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return;
    apr_finfo_t fi;
    int exists = apr_stat(&fi, t->path, APR_FINFO_MTIME | APR_FINFO_SIZE, pool) == APR_SUCCESS;
    if (exists == t->seen && (!exists || (fi.mtime == t->mtime && fi.size == t->size))) {
        apr_pool_destroy(pool);
        return;
    }
    entry_t *list = NULL;
    unsigned n = 0;
    if (load_file(t->path, &list, &n, pool) == APR_SUCCESS) {
        free(t->list);
        t->list = list;
        t->n = n;
        t->seen = exists;
        t->mtime = exists ? fi.mtime : 0;
        t->size = exists ? fi.size : 0;
    } else if (t->list) {
        /* Unreadable (or readable by others): no named token counts. */
        t->n = 0;
    }
    apr_pool_destroy(pool);
}

static apr_status_t tokens_cleanup(void *data)
{
    kt__tokens_t *t = data;
    free(t->list);
    t->list = NULL;
    return APR_SUCCESS;
}

/* ---- Internal ------------------------------------------------------------------------ */

apr_status_t kt__tokens_create(kt__tokens_t **out, const char *state_dir, apr_pool_t *pool)
{
    kt__tokens_t *t = apr_pcalloc(pool, sizeof *t);
    t->path = state_dir ? kt_sys_join_path(state_dir, "tokens", pool) : NULL;
    apr_status_t st = apr_thread_mutex_create(&t->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (st != APR_SUCCESS)
        return st;
    apr_pool_cleanup_register(pool, t, tokens_cleanup, apr_pool_cleanup_null);
    *out = t;
    return APR_SUCCESS;
}

unsigned kt__tokens_lookup(kt__tokens_t *t, const char *token, char name[KT__TOKEN_NAME_MAX + 1])
{
    name[0] = '\0';
    if (!t || !t->path || !*token)
        return 0;
    char hash[65];
    hash_hex(token, hash);
    unsigned scopes = 0;
    apr_thread_mutex_lock(t->lock);
    refresh(t);
    for (unsigned i = 0; i < t->n; i++)
        if (kt__api_same_secret(hash, strlen(hash), t->list[i].hash)) {
            scopes = t->list[i].scopes;
            memcpy(name, t->list[i].name, sizeof t->list[i].name);
        }
    apr_thread_mutex_unlock(t->lock);
    return scopes;
}

unsigned kt__tokens_scopes_of(kt__tokens_t *t, const char *name)
{
    if (!t || !t->path)
        return 0;
    unsigned scopes = 0;
    apr_thread_mutex_lock(t->lock);
    refresh(t);
    for (unsigned i = 0; i < t->n; i++)
        if (strcmp(t->list[i].name, name) == 0)
            scopes = t->list[i].scopes;
    apr_thread_mutex_unlock(t->lock);
    return scopes;
}

/* ---- Public -------------------------------------------------------------------------- */

apr_status_t kt_api_scopes_parse(const char *text, unsigned *scopes)
{
    *scopes = 0;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        for (unsigned i = 0; i < KT_ARRAY_SIZE(scope_names); i++)
            if (n == strlen(scope_names[i]) && strncmp(p, scope_names[i], n) == 0)
                bit = 1u << i;
        if (!bit)
            return KT_EINPUT;
        *scopes |= bit;
        p += n;
        if (*p == ',')
            p++;
    }
    if (!*scopes)
        return KT_EINPUT;
    *scopes = implied(*scopes);
    return APR_SUCCESS;
}

const char *kt_api_scopes_name(unsigned scopes, apr_pool_t *pool)
{
    const char *s = "";
    for (unsigned i = 0; i < KT_ARRAY_SIZE(scope_names); i++)
        if (scopes & (1u << i))
            s = *s ? apr_pstrcat(pool, s, ",", scope_names[i], NULL) : scope_names[i];
    return s;
}

apr_status_t kt_api_token_add(const char *state_dir, const char *name, unsigned scopes,
                              const char **token, char *err, apr_size_t errlen, apr_pool_t *pool)
{
    if (!name_ok(name)) {
        snprintf(err, errlen, "a token's name is 1 to 64 letters, digits, '.', '_' or '-' "
                              "(and not 'default'), not '%s'", name);
        return KT_EINPUT;
    }
    const char *path = kt_sys_join_path(state_dir, "tokens", pool);
    entry_t *list;
    unsigned n;
    apr_status_t st = load_file(path, &list, &n, pool);
    if (st != APR_SUCCESS) {
        snprintf(err, errlen, "cannot read %s (it must be readable by its owner only)", path);
        return st;
    }
    for (unsigned i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0) {
            free(list);
            snprintf(err, errlen, "a token named '%s' exists; revoke it first", name);
            return APR_EEXIST;
        }
    entry_t *more = n < MAX_TOKENS ? realloc(list, (n + 1) * sizeof *list) : NULL;
    if (!more) {
        free(list);
        snprintf(err, errlen, "%s holds %d tokens, the most it may", path, MAX_TOKENS);
        return KT_ETOOBIG;
    }
    list = more;
    unsigned char raw[TOKEN_BYTES];
    if ((st = apr_generate_random_bytes(raw, sizeof raw)) != APR_SUCCESS) {
        free(list);
        snprintf(err, errlen, "the system's random source failed");
        return st;
    }
    char *hex = apr_palloc(pool, TOKEN_BYTES * 2 + 1);
    for (int i = 0; i < TOKEN_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    entry_t *e = &list[n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->scopes = implied(scopes);
    hash_hex(hex, e->hash);
    st = write_file(path, list, n, pool);
    free(list);
    if (st != APR_SUCCESS) {
        snprintf(err, errlen, "cannot write %s", path);
        return st;
    }
    *token = hex;
    return APR_SUCCESS;
}

apr_status_t kt_api_token_revoke(const char *state_dir, const char *name, char *err,
                                 apr_size_t errlen, apr_pool_t *pool)
{
    const char *path = kt_sys_join_path(state_dir, "tokens", pool);
    entry_t *list;
    unsigned n, kept = 0;
    apr_status_t st = load_file(path, &list, &n, pool);
    if (st != APR_SUCCESS) {
        snprintf(err, errlen, "cannot read %s (it must be readable by its owner only)", path);
        return st;
    }
    for (unsigned i = 0; i < n; i++)
        if (strcmp(list[i].name, name) != 0)
            list[kept++] = list[i];
    if (kept == n) {
        free(list);
        snprintf(err, errlen, strcmp(name, "default") == 0
                                  ? "the default token is the file 'token' in the state "
                                    "directory: delete it and restart kotod for a new one"
                                  : "there is no token named '%s'", name);
        return KT_ENOTFOUND;
    }
    st = write_file(path, list, kept, pool);
    free(list);
    if (st != APR_SUCCESS)
        snprintf(err, errlen, "cannot write %s", path);
    return st;
}

apr_status_t kt_api_token_list(const char *state_dir, json_t **out, apr_pool_t *pool)
{
    const char *path = kt_sys_join_path(state_dir, "tokens", pool);
    entry_t *list;
    unsigned n;
    apr_status_t st = load_file(path, &list, &n, pool);
    if (st != APR_SUCCESS)
        return st;
    json_t *a = json_array();
    json_array_append_new(a, json_pack("{s:s s:s}", "name", "default", "scopes",
                                       kt_api_scopes_name(implied(KT_SCOPE_CONTROL), pool)));
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s s:s}", "name", list[i].name, "scopes",
                                           kt_api_scopes_name(list[i].scopes, pool)));
    free(list);
    *out = a;
    return APR_SUCCESS;
}
