/* state_dir.h - where kotod keeps its state by default (per platform:
 * src/daemon/state_dir.c, win32/paths.c); the client reads the token there. */
#ifndef KT_STATE_DIR_H
#define KT_STATE_DIR_H

#include <apr_pools.h>

/* Unix: root /var/lib/koto, others $XDG_STATE_HOME/koto or
 * ~/.local/state/koto. Windows: %ProgramData%\koto. */
const char *kt_default_state_dir(apr_pool_t *pool);

#endif
