/* shipped_none.c - no shipped bytecode: a cross build cannot run the
 * build's Lua (embed_lua.c), so kotod parses every file from its text. */
#include "shipped.h"

const kt__shipped_t kt__shipped[1];
const unsigned kt__nshipped = 0;
const char kt__shipped_lua[] = "";
