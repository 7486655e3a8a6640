/*
 * shipped_rules.h - the rules and templates in lua/, loaded once for a
 * fuzz target's whole run (fuzz_readings, fuzz_render).
 */
#ifndef KT_FUZZ_SHIPPED_RULES_H
#define KT_FUZZ_SHIPPED_RULES_H

#include "kt_rules.h"

/* The shipped set with the built-in defaults; aborts, naming who, when it
 * does not load. */
kt_rules_t *kt_fuzz_shipped_rules(const char *who);

#endif
