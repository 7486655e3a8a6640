/*
 * bash_judge.h - the real bash as the judge of what the quoting and the
 * templates produce (fuzz_quote, fuzz_render). No model of bash's grammar
 * is trusted: bash itself says whether a word comes back as it went in and
 * whether a script parses.
 *
 * Both run bash with --norc --noprofile, LC_ALL=C.UTF-8 (the values are
 * UTF-8), an empty environment but PATH=/nonexistent, and in a fresh
 * empty directory.
 */
#ifndef KT_FUZZ_BASH_JUDGE_H
#define KT_FUZZ_BASH_JUDGE_H

#include <stddef.h>

/* Runs code in one bash kept running across calls (spawning a shell per
 * input would cost a millisecond each) and returns, malloc'd, what it
 * printed on stdout; *len gets the byte count. The shell is restricted
 * (-r: no redirections, no cd, no commands outside PATH) and finds no
 * programs, since the code holds fuzzed bytes that correct quoting keeps
 * inert and broken quoting would run. Aborts with a message when bash
 * exits, or has not finished within 10 s (an unclosed quote makes it wait
 * for more input): either means the code did not do what it says. */
char *bash_judge_run(const char *code, size_t code_len, size_t *len);

/* 1 when `bash -n` accepts script (parses it, runs nothing), else 0 with
 * bash's complaint on stderr. */
int bash_judge_parses(const char *script, size_t len);

#endif
