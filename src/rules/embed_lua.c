/*
 * embed_lua.c - run by the build: the shipped Lua files as bytecode, in a
 * C file linked into kotod (shipped.c says why and when it is used).
 *
 *   embed_lua OUT.c DIR NAME...
 *
 * Parses each DIR/NAME with the Lua kotod links, as chunk "@NAME", and
 * writes its bytecode (with debug information: errors and tracebacks keep
 * their lines), the SHA-256 of its text, and lua_ident. A file that does
 * not parse fails the build, with Lua's message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "kt_sys.h"

typedef struct {
    FILE *out;
    size_t n;
} writer_t;

static int write_code(lua_State *L, const void *p, size_t len, void *ud)
{
    (void)L;
    writer_t *w = ud;
    for (size_t i = 0; i < len; i++, w->n++)
        fprintf(w->out, "%s0x%02x,", w->n % 16 ? "" : "\n    ", ((const unsigned char *)p)[i]);
    return 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)size + 1)) && fread(text, 1, (size_t)size, f) == (size_t)size) {
        *len = (size_t)size;
    } else {
        free(text);
        text = NULL;
    }
    if (f)
        fclose(f);
    return text;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: embed_lua OUT.c DIR NAME...\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    lua_State *L = luaL_newstate();
    if (!out || !L) {
        fprintf(stderr, "embed_lua: cannot write %s\n", argv[1]);
        return 1;
    }
    fprintf(out, "/* Generated at build time by src/rules/embed_lua.c from %s. */\n"
                 "#include \"shipped.h\"\n",
            argv[2]);
    int nfiles = argc - 3, failed = 0;
    unsigned char (*sums)[32] = calloc((size_t)nfiles + 1, 32);
    for (int i = 0; i < nfiles && !failed; i++) {
        size_t len;
        char path[4096], chunk[1024];
        snprintf(path, sizeof path, "%s/%s", argv[2], argv[3 + i]);
        snprintf(chunk, sizeof chunk, "@%s", argv[3 + i]);
        char *text = read_all(path, &len);
        if (!text) {
            fprintf(stderr, "embed_lua: cannot read %s\n", path);
            failed = 1;
        } else if (luaL_loadbufferx(L, text, len, chunk, "t") != LUA_OK) {
            fprintf(stderr, "embed_lua: %s\n", lua_tostring(L, -1));
            failed = 1;
        } else {
            kt_sys_sha256(text, len, sums[i]);
            writer_t w = {out, 0};
            fprintf(out, "\nstatic const unsigned char code%d[] = {", i);
            lua_dump(L, write_code, &w, 0);
            fprintf(out, "\n};\n");
        }
        lua_settop(L, 0);
        free(text);
    }
    fprintf(out, "\nconst kt__shipped_t kt__shipped[] = {\n");
    for (int i = 0; i < nfiles && !failed; i++) {
        fprintf(out, "    {\"%s\", {", argv[3 + i]);
        for (int k = 0; k < 32; k++)
            fprintf(out, "%s0x%02x", k ? "," : "", sums[i][k]);
        fprintf(out, "}, code%d, sizeof code%d},\n", i, i);
    }
    fprintf(out, "};\nconst unsigned kt__nshipped = %d;\nconst char kt__shipped_lua[] = \"", nfiles);
    for (const char *c = lua_ident; *c; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', out);
        fputc(*c, out);
    }
    fprintf(out, "\";\n");
    free(sums);
    lua_close(L);
    if (fclose(out) != 0 || failed) {
        remove(argv[1]);
        return 1;
    }
    return 0;
}
