/*
 * shipped.h - private to src/rules/: the shipped Lua files as bytecode,
 * made at build time (embed_lua.c writes shipped_lua.c; a cross build
 * links shipped_none.c). shipped.c says when a load takes them. Those two
 * files include this alone, so they link to nothing.
 */
#ifndef KT_SHIPPED_H
#define KT_SHIPPED_H

#include <stddef.h>

/* One shipped file: lua_dump with its debug information, the chunk named
 * "@" NAME. */
typedef struct kt__shipped_t {
    const char *name;             /* under the Lua directory: "rules/cpu.lua" */
    unsigned char sha256[32];     /* of the text it was made from */
    const unsigned char *code;
    size_t len;
} kt__shipped_t;

/* Every file of the Lua directory but the configuration, and lua_ident of
 * the Lua that made them. */
extern const kt__shipped_t kt__shipped[];
extern const unsigned kt__nshipped;
extern const char kt__shipped_lua[];

#endif
