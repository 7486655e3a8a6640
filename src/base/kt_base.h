/*
 * kt_base.h - the few things every koto module shares: status codes and the log.
 *
 * Status: functions that can fail return apr_status_t. APR_SUCCESS or an APR/OS
 * code, or one of the KT_E* codes below (in APR's application range), so
 * kt_strerror() renders any of them. Outputs go last, through pointers. A
 * message for people (naming file:line where a file is involved) may come
 * beside the status, never instead of it. Only src/api turns a status into
 * an HTTP answer (one table, api/fail.c).
 *
 * Log: one line per message on stderr, "2026-11-24T05:28:38Z info  text",
 * or to a sink the daemon installs (syslog when detached).
 * Safe to call from any thread; never call from a signal handler.
 */
#ifndef KT_BASE_H
#define KT_BASE_H

#include <stddef.h>
#include <stdio.h>

#include <apr_errno.h>
#include <apr_pools.h>

#define KT_ESTART   (APR_OS_START_USERERR + 5000)
#define KT_EPARSE   (KT_ESTART + 1)  /* input did not have the expected shape */
#define KT_ETOOBIG  (KT_ESTART + 2)  /* input exceeded a documented limit */
#define KT_ECONF    (KT_ESTART + 3)  /* a configuration value is out of bounds */
#define KT_ESTATE   (KT_ESTART + 4)  /* call not valid in the object's state */
#define KT_ENOTFOUND (KT_ESTART + 5) /* no such thing (template, tool, event...) */
#define KT_EINPUT   (KT_ESTART + 6)  /* a well-formed request with a value that is not allowed */
#define KT_EUNAVAIL (KT_ESTART + 7)  /* not available now (no rules loaded, no reading yet) */
#define KT_EBUDGET  (KT_ESTART + 8)  /* a Lua call ran out of its instruction budget */
#define KT_EMEMCAP  (KT_ESTART + 9)  /* a Lua state hit its memory cap */
#define KT_ESCRIPT  (KT_ESTART + 10) /* a Lua rule, template or configuration raised an error */

/* Renders any status into buf; returns buf. */
const char *kt_strerror(apr_status_t st, char *buf, size_t len);

typedef enum { KT_LOG_ERROR, KT_LOG_WARN, KT_LOG_INFO, KT_LOG_DEBUG } kt_log_level_t;

void kt_log_set_level(kt_log_level_t level);
/* Sends messages (without timestamp and level prefix) to sink instead of
 * stderr, e.g. syslog or the Windows Event Log; NULL restores stderr. */
typedef void (*kt_log_sink_fn)(kt_log_level_t level, const char *message);
void kt_log_set_sink(kt_log_sink_fn sink);
/* Also sends each message to mirror while the timestamped line still goes
 * to stderr (not used with a sink): a Windows service logs to a file and the
 * Event Log. NULL removes it. */
void kt_log_set_mirror(kt_log_sink_fn mirror);
/* Writes the timestamped lines to out instead of stderr (NULL: stderr
 * again): a Windows service has no stderr. */
void kt_log_set_output(FILE *out);
/* Parses "error|warn|info|debug"; returns 0 on success. */
int kt_log_parse_level(const char *name, kt_log_level_t *out);
const char *kt_log_level_name(kt_log_level_t level);
void kt_log(kt_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define KT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
