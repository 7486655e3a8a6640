/*
 * state_dir.c - where kotod keeps its state on Windows (%ProgramData%\koto),
 * in a file of its own because the command-line client looks for kotod's
 * token there too.
 */
#include <stdlib.h>
#include <wchar.h>

#include <apr_strings.h>

#include "kt_sys.h"
#include "state_dir.h"

const char *kt_default_state_dir(apr_pool_t *pool)
{
    const wchar_t *data = _wgetenv(L"ProgramData");
    const char *base = data && *data ? kt_utf8(data, pool) : NULL;
    return apr_pstrcat(pool, base ? base : "C:\\ProgramData", "\\koto", NULL);
}
