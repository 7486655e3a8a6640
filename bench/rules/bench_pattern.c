/*
 * bench_pattern.c - how soon a pattern bomb is stopped.
 *
 * Each bomb is a pattern that backtracks for hours in Lua's own matcher; in
 * the sandbox (src/rules/pattern.c) it charges the instruction budget and
 * ends as "instruction budget exhausted". The reference, measured in the
 * same run, is a rule that loops in Lua itself (`while true do end`),
 * stopped by the instruction hook: the same budget spent by the VM. Goal
 * (the structure issue): every bomb stopped in under 100 ms.
 *
 *   bench_pattern [-n RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>

#include "bench_util.h"
#include "rules_internal.h"

static const struct {
    const char *name, *chunk;
} cases[] = {
    {"vm loop (reference)", "while true do end"},
    {"find a-^40 b", "return string.find(string.rep('a', 300), string.rep('a-', 40) .. 'b')"},
    {"match a*^30 b", "return (string.rep('a', 500)):match(string.rep('a*', 30) .. 'b')"},
    {"gsub .-^25 y", "return string.gsub(string.rep('x', 400), string.rep('.-', 25) .. 'y', '')"},
    {"gmatch .?^60 c",
     "for w in string.gmatch(string.rep('ab', 200), string.rep('.?', 60) .. 'c') do end"},
    {"find a?^60 a^60 b",
     "return string.find(string.rep('a', 300), string.rep('a?', 60) .. string.rep('a', 60) .. 'b')"},
};

int main(int argc, char **argv)
{
    int runs = 20, opt;
    while ((opt = getopt(argc, argv, "n:")) != -1)
        runs = opt == 'n' ? atoi(optarg) : runs;
    if (runs < 1)
        runs = 1;
    apr_initialize();
    double *ms = malloc(sizeof *ms * (size_t)runs), ref = 0;
    printf("%-22s %10s %10s %s\n", "case", "median_ms", "max_ms", "stopped_by");
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char err[512] = "";
        apr_status_t st = APR_SUCCESS;
        for (int i = 0; i < runs; i++) {
            kt__lstate_t *ls = kt__lstate_new(0, 0); /* the default budget, as rules get */
            st = kt__lstate_load(ls, cases[c].chunk, strlen(cases[c].chunk), "bench", err,
                                 sizeof err);
            double t0 = kt_bench_now_ms();
            if (st == APR_SUCCESS)
                st = kt__lstate_call(ls, 0, 0, err, sizeof err);
            ms[i] = kt_bench_now_ms() - t0;
            kt__lstate_free(ls);
        }
        qsort(ms, (size_t)runs, sizeof *ms, kt_bench_by_value);
        double median = ms[runs / 2];
        if (c == 0)
            ref = median;
        char why[64];
        printf("%-22s %10.1f %10.1f %s", cases[c].name, median, ms[runs - 1],
               st == KT_EBUDGET ? "budget" : kt_strerror(st, why, sizeof why));
        if (c > 0)
            printf("  (%.2fx the VM loop; goal < 100 ms: %s)", median / ref,
                   ms[runs - 1] < 100 ? "met" : "NOT met");
        printf("\n");
    }
    free(ms);
    apr_terminate();
    return 0;
}
