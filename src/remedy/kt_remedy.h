/*
 * kt_remedy.h - remediation as a reviewed artefact: a fix script proposed
 * from an event (or from a template and its parameters), approved by the
 * hash its reviewer saw, run once by kotod, every step in the store's
 * append-only audit.
 *
 * DESIGN
 * A proposal renders a template (kt_rules_render: every parameter checked
 * against the template's declaration and quoted for the dialect), writes
 * the script owner-only into the scripts directory, runs its own dry run
 * (--dry-run / -WhatIf) and is stored with its text, dialect, SHA-256, dry
 * run output, proposer and expiry. Approval names the SHA-256 the approver
 * saw; a different one, an expired or already decided proposal is refused.
 * An approved proposal goes to the runner thread, which refuses to run when
 * the configuration file or the scripts directory can be changed by anyone
 * but its owner (kt_sys_owner_only), hashes the file again right before it
 * starts (a changed file is refused), runs it through kt_sys_run (no shell
 * string, clean environment, timeout, output limit), stores the result and
 * removes the file: a script runs once.
 *
 * States: proposed -> approved -> running -> succeeded | failed;
 * proposed -> denied | expired; approved -> refused.
 *
 * The configuration's `remediate` list names the template (and its fixed
 * parameters) an event gets; with auto = true the runner proposes and
 * approves it itself when the event starts ("configuration" in the audit),
 * at most max_runs times within window_s (then remediation_gave_up). After
 * a run for an event, the next readings verify it: the condition resolves
 * ("verified" in the audit), or after remedy_verify_readings readings a
 * remediation_failed event says it did not.
 *
 * Thread-safety: every function may be called from any thread. Lock order:
 * the runner's queue lock is a leaf (it is never held while calling out).
 */
#ifndef KT_REMEDY_H
#define KT_REMEDY_H

#include <apr_pools.h>
#include <jansson.h>

#include "kt_base.h"
#include "kt_rules.h"
#include "kt_store.h"

typedef struct kt_remedy_t kt_remedy_t;

typedef struct {
    kt_store_t *store;        /* where proposals and the audit live; required */
    kt_rules_cell_t *rules;   /* templates and settings (scripts_dir, remedy_*, remediate) */
    const char *config_file;  /* checked to be owner-only before each run; may be NULL */
    kt_mon_t *mon;            /* events to act on and verify; NULL: by hand only */
} kt_remedy_opts_t;

apr_status_t kt_remedy_create(kt_remedy_t **out, const kt_remedy_opts_t *opts, apr_pool_t *pool);
/* Stops the runner; a script running now is ended (its whole group killed)
 * and its run recorded as cancelled. */
void kt_remedy_destroy(kt_remedy_t *r);

/* What failed, for the API: a machine code and a message. */
typedef struct {
    const char *code;
    char message[600];
} kt_remedy_err_t;

/* Proposes from body: {"event_id": N} or {"issue_type", "os"?, params...}.
 * *out is the stored proposal (caller owns it). */
apr_status_t kt_remedy_propose(kt_remedy_t *r, json_t *body, const char *who, json_t **out,
                               kt_remedy_err_t *err);
/* Approves proposal id when sha256 is its hash, it is pending and not
 * expired; queues it to run. */
apr_status_t kt_remedy_approve(kt_remedy_t *r, uint64_t id, const char *sha256, const char *who,
                               json_t **out, kt_remedy_err_t *err);
apr_status_t kt_remedy_deny(kt_remedy_t *r, uint64_t id, const char *who, json_t **out,
                            kt_remedy_err_t *err);
apr_status_t kt_remedy_get(kt_remedy_t *r, uint64_t id, json_t **out, kt_remedy_err_t *err);
/* The template and parameters a proposal from event event_id would use
 * ({issue_type, event_id, subject, event_type, params...}), proposing
 * nothing: what an agent is shown before it proposes. */
apr_status_t kt_remedy_suggest(kt_remedy_t *r, uint64_t event_id, json_t **out,
                               kt_remedy_err_t *err);

/* Runs counted since start, by template and result, for /metrics:
 * calls fn once per (template, result) pair. */
void kt_remedy_counts(kt_remedy_t *r,
                      void (*fn)(void *baton, const char *tmpl, const char *result, uint64_t n),
                      void *baton);

#endif
