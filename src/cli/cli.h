/*
 * cli.h - koto, the command-line client: kotod's REST API through libcurl,
 * as tables for people and as JSON for scripts.
 *
 * The exit codes are the interface scripts rely on, so they are fixed here
 * and listed in `koto --help` and the README.
 */
#ifndef KT_CLI_H
#define KT_CLI_H

#include <jansson.h>

enum {
    KT_CLI_OK = 0,
    KT_CLI_TROUBLE = 1,     /* `status`: a condition is active or a check fails */
    KT_CLI_USAGE = 2,       /* bad command line */
    KT_CLI_UNREACHABLE = 3, /* no answer from kotod, or a 5xx */
    KT_CLI_REFUSED = 4,     /* 401 or 403: no token, a wrong one, or too narrow a scope */
    KT_CLI_FAILED = 5,      /* any other refusal (404, 409, 422...) */
};

typedef struct kt_cli kt_cli_t;

/* A client of the kotod at url ("http://127.0.0.1:5000", or https://);
 * token may be NULL; cacert (may be NULL) is the PEM file an HTTPS kotod's
 * certificate is checked against instead of the system's CAs (its
 * self-signed STATE_DIR/tls-cert.pem). */
kt_cli_t *kt_cli_open(const char *url, const char *token, const char *cacert);
void kt_cli_close(kt_cli_t *c);

/* One request; body (may be NULL) is sent as JSON. On success *answer is
 * the parsed JSON answer (the caller decrefs it) and KT_CLI_OK returned;
 * otherwise kotod's error is printed to stderr and an exit code returned. */
int kt_cli_call(kt_cli_t *c, const char *method, const char *path, json_t *body, json_t **answer);

/* Follows a server-sent event stream until it ends or fails, calling
 * on_event(name, data) for each event; returns an exit code. */
typedef void kt_cli_event_fn(const char *event, const char *data, void *ctx);
int kt_cli_follow(kt_cli_t *c, const char *path, kt_cli_event_fn *on_event, void *ctx);

/* The renderers: what each command prints for a person (show.c). */
int kt_cli_show_status(json_t *status, json_t *config); /* returns OK or TROUBLE */
void kt_cli_show_event(json_t *event);
void kt_cli_show_events(json_t *answer);
void kt_cli_show_history(json_t *answer);
void kt_cli_show_series(json_t *answer);
void kt_cli_show_silences(json_t *answer);
void kt_cli_show_remediations(json_t *answer);
void kt_cli_show_remediation(json_t *remediation);
void kt_cli_show_tokens(json_t *answer);

/* The value of one setting in GET /api/agent/config's answer, or NULL. */
json_t *kt_cli_setting(json_t *config, const char *key);

/* "2026-12-04 14:03:07" in local time, from ms since the epoch. */
const char *kt_cli_time(json_int_t ms, char *buf, size_t len);

#endif
