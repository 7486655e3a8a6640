/* shipped_rules.c - see shipped_rules.h. */
#include "shipped_rules.h"

#include <stdio.h>
#include <stdlib.h>

#include <sanitizer/lsan_interface.h>

kt_rules_t *kt_fuzz_shipped_rules(const char *who)
{
    kt_conf_t base = {.script_os = "auto"};
    kt_mon_conf_defaults(&base.mon);
    kt_rules_opts_t opts = {.dir = KT_LUA_DIR};
    char err[600];
    kt_rules_t *rules = NULL;
    /* The set lives for the whole run in an unmanaged pool, whose blocks
     * Debian's APR maps with mmap, where LeakSanitizer does not look: its
     * allocator would count as leaked after every input. */
    __lsan_disable();
    apr_status_t st = kt_rules_load(&rules, &opts, &base, err, sizeof err);
    __lsan_enable();
    if (st != APR_SUCCESS) {
        fprintf(stderr, "%s: %s\n", who, err);
        abort();
    }
    return rules;
}
