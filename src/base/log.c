/*
 * log.c - timestamped lines on stderr (or a file), or messages to a sink.
 *
 * Each message is formatted into one buffer and written with a single
 * fputs under the stdio lock, so lines from different threads never interleave.
 */
#include "kt_base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile kt_log_level_t log_level = KT_LOG_INFO;
static kt_log_sink_fn log_sink, log_mirror;
static FILE *log_out; /* NULL: stderr */
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void kt_log_set_level(kt_log_level_t level) { log_level = level; }
void kt_log_set_sink(kt_log_sink_fn sink) { log_sink = sink; }
void kt_log_set_mirror(kt_log_sink_fn mirror) { log_mirror = mirror; }
void kt_log_set_output(FILE *out) { log_out = out; }

int kt_log_parse_level(const char *name, kt_log_level_t *out)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (kt_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

const char *kt_log_level_name(kt_log_level_t level) { return level_names[level]; }

void kt_log(kt_log_level_t level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[1024];
    va_list ap;
    if (log_sink) {
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        log_sink(level, line);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, "%-5s ", level_names[level]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (log_mirror)
        log_mirror(level, line + n);
    size_t len = strlen(line);
    if (len == sizeof line - 1)
        len--; /* truncated: keep room for the newline */
    line[len] = '\n';
    line[len + 1] = '\0';
    FILE *out = log_out ? log_out : stderr;
    fputs(line, out);
    fflush(out); /* Windows' C runtime buffers even stderr when it is not a console */
}
