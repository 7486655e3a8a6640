/*
 * trim.c - giving back the pages of code that only the start ran.
 *
 * The kernel maps a whole folio of a file (64 KiB and more) around each page
 * a process touches, and leaves it mapped for the process's life. The code a
 * daemon runs once at start (the dynamic linker, Lua's compiler, SQLite's
 * schema parser, the configuration's loading) so stays in its RSS: about a
 * sixth of kotod's. Unmapping the file pages of the read-only mappings leaves
 * them in the page cache, where the kernel may reclaim them; what the
 * readings still run is mapped again at its next touch (a minor fault).
 *
 * Only private mappings that are not writable and hold no anonymous page are
 * released. A private page that was ever written (relocations before
 * mprotect, a debugger's breakpoint, a uprobe) is a copy of its own, and
 * releasing it would bring back the file's bytes in its place.
 */
#include "kt_sys.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct {
    uintptr_t lo, hi;
    int eligible;      /* private, not writable, a file's */
    unsigned long rss; /* kB */
    unsigned long anon;
} mapping_t;

static apr_size_t release(const mapping_t *m)
{
    if (!m->eligible || m->anon || !m->rss ||
        madvise((void *)m->lo, m->hi - m->lo, MADV_DONTNEED) != 0)
        return 0;
    return (apr_size_t)m->rss * 1024;
}

apr_size_t kt_sys_release_start_pages(void)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    apr_size_t released = 0;
    mapping_t m = {0};
    while (getline(&line, &cap, f) > 0) {
        unsigned long lo, hi;
        char perms[5];
        int path = 0;
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &lo, &hi, perms, &path) == 3) {
            released += release(&m);
            m = (mapping_t){.lo = lo, .hi = hi};
            m.eligible =
                path > 0 && line[path] == '/' && perms[0] == 'r' && perms[1] != 'w' && perms[3] == 'p';
            continue;
        }
        /* A mapping's fields: the ones read here are in kB. */
        if (!strncmp(line, "Rss:", 4))
            m.rss = strtoul(line + 4, NULL, 10);
        else if (!strncmp(line, "Anonymous:", 10))
            m.anon = strtoul(line + 10, NULL, 10);
    }
    released += release(&m);
    free(line);
    fclose(f);
    return released;
}
