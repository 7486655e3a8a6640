/*
 * shipped.c - the shipped Lua files' bytecode, made when kotod was built.
 *
 * Parsing is most of what loading the rules costs at every start (about
 * 3 ms for the 95 KB of shipped source). The build parses the shipped
 * files once (embed_lua.c) and links their bytecode into kotod; a load
 * takes a file's bytecode instead of its text only when the file on disk
 * is the very text it was made from (its SHA-256) and the Lua running is
 * the one that made it (lua_ident: bytecode is not kept compatible across
 * Lua releases). Anything else, an edited file or a user's, is parsed from
 * its text as before. Bytecode is never read from a file: it is as
 * trustworthy as kotod itself.
 *
 * A chunk is named as under the Lua directory ("rules/cpu.lua"), not by
 * its full path, which the build cannot know: a runtime error in a shipped
 * rule reads "rules/cpu.lua:42: ...".
 */
#include "rules_internal.h"

#include <string.h>

#include "kt_sys.h"

const kt__shipped_t *kt__shipped_find(const char *dir, const kt__file_t *f)
{
    size_t n = strlen(dir);
    if (!kt__nshipped || strncmp(f->path, dir, n) != 0 || f->path[n] != '/')
        return NULL;
    const char *rel = f->path + n + 1;
    const kt__shipped_t *s = NULL;
    for (unsigned i = 0; i < kt__nshipped && !s; i++)
        if (strcmp(kt__shipped[i].name, rel) == 0)
            s = &kt__shipped[i];
    unsigned char sum[32];
    if (!s || strcmp(lua_ident, kt__shipped_lua) != 0 ||
        kt_sys_sha256(f->text, f->len, sum) != APR_SUCCESS || memcmp(sum, s->sha256, 32) != 0)
        return NULL;
    return s;
}
