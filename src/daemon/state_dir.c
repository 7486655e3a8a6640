/*
 * state_dir.c - where kotod keeps its state on Unix, in a file of its own
 * because the command-line client looks for kotod's token there too.
 */
#include <stdlib.h>
#include <unistd.h>

#include <apr_strings.h>

#include "state_dir.h"

/* root: /var/lib/koto; anyone else: $XDG_STATE_HOME/koto or ~/.local/state/koto. */
const char *kt_default_state_dir(apr_pool_t *pool)
{
    if (geteuid() == 0)
        return "/var/lib/koto";
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && *xdg == '/')
        return apr_pstrcat(pool, xdg, "/koto", NULL);
    const char *home = getenv("HOME");
    return apr_pstrcat(pool, home && *home ? home : "/tmp", "/.local/state/koto", NULL);
}
