/*
 * ob/jobs.h - the job shell both roles share.
 *
 * Around the pure state machine: classify an AWS outcome into an fsm event,
 * step and commit a job (one log line per transition), start a snapshot
 * copy idempotently, poll every copy in flight with one batched Describe
 * per kind, run an action over the due jobs of a state, and the small
 * intake helpers (log a malformed message once, delete handled messages ten
 * at a time). The source role's export copy and the vault's import copy
 * are the same machinery with different keys, names and tags.
 */
#ifndef OB_JOBS_H
#define OB_JOBS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ob/alert.h"
#include "ob/client.h"
#include "ob/clock.h"
#include "ob/config.h"
#include "ob/error.h"
#include "ob/fsm.h"
#include "ob/metrics.h"
#include "ob/rds.h"
#include "ob/sqs.h"
#include "ob/store.h"

#define OB_JOBS_SEEN_RING 64 /* malformed message ids remembered */
#define OB_JOBS_MAX_BATCH 10 /* SQS ReceiveMessage / DeleteMessageBatch limit */
#define OB_JOBS_TAGS_MAX  50 /* AWS tags per resource */
#define OB_JOBS_RECONCILE_MS (10LL * 60 * 1000) /* alert outbox vs jobs */

/* Embedded in each role. The members are the role's to read. */
struct ob_jobs {
	const struct ob_config *cfg;       /* borrowed */
	struct ob_client *client;          /* borrowed */
	struct ob_store *store;            /* borrowed */
	const struct ob_clock *clock;
	const volatile sig_atomic_t *stop;
	struct ob_fsm_policy pol;
	uint64_t rng;
	char seen[OB_JOBS_SEEN_RING][128]; /* malformed message ids logged */
	unsigned seen_next;
	struct ob_metrics *metrics;        /* borrowed, NULL = none: transitions,
					    * failures and retries are counted */
	struct ob_alerts *alerts;          /* borrowed, NULL = none: a job that
					    * fails raises job-failed:<id>, its
					    * next good transition clears it */
	int64_t alerts_next_ms;            /* next reconcile pass */
	bool alerts_were_on;               /* had a topic at the last look */
};

/* Set up j (clock NULL = system). retention_ms is the fsm's retention
 * (the source's export_copy_retention; unused by the vault). */
void ob_jobs_init(struct ob_jobs *j, const struct ob_config *cfg, struct ob_client *client,
		  struct ob_store *store, const struct ob_clock *clock,
		  const volatile sig_atomic_t *stop, int64_t retention_ms);

/* A reloaded configuration: the policy follows it. */
void ob_jobs_set_config(struct ob_jobs *j, const struct ob_config *cfg, int64_t retention_ms);

int64_t ob_jobs_now(const struct ob_jobs *j);
bool ob_jobs_stopping(const struct ob_jobs *j);

/* AWS error codes by meaning (both spellings RDS uses). */
extern const char *const ob_jobs_not_found_codes[];
bool ob_jobs_code_in(const struct ob_error *err, const char *const *codes);

/* What an error means for a job: DEFER (throttling, copy quota, transient
 * AWS or network faults: never fails the job), RETRY (clock skew or expired
 * credentials left after correction, not ready yet, local trouble: counted
 * against max_attempts), FAIL (the rest); *ret_stop when it is a
 * cancellation. */
enum ob_fsm_event_kind ob_jobs_classify(const struct ob_error *err, bool *ret_stop);

/* Step job with kind, commit it with chg (may be NULL), log once. cause
 * (may be NULL) is the error behind a RETRY/DEFER/FAIL and is kept with the
 * job; a transition without a cause clears the kept error. 0, or -1 + err
 * (a refused step, which is a bug and logged, or a store failure). */
int ob_jobs_apply(struct ob_jobs *j, struct ob_job *job, enum ob_fsm_event_kind kind,
		  const struct ob_store_change *chg, const struct ob_error *cause,
		  struct ob_error *err);

/* Feed an AWS error into job (classified). 0 when committed; -1 + err on a
 * store failure, or OB_ERR_CANCELLED when stopping (nothing committed: the
 * action is repeated after the restart). */
int ob_jobs_apply_error(struct ob_jobs *j, struct ob_job *job, const struct ob_error *cause,
			struct ob_error *err);

/* Is a reconcile pass of the alert outbox due: alerts on, and the first
 * look since start-up, since a reload set the topic, or
 * OB_JOBS_RECONCILE_MS after the last pass? Schedules the next one. */
bool ob_jobs_alerts_due(struct ob_jobs *j);

/* Make the alert outbox agree with the jobs. A job's commit and its
 * alert's row are two writes (a kill, an SQLITE_BUSY or alerts switched
 * off in between loses the alert), so this raises job-failed:<id> for every
 * job in `failed` (the same message as the live hook; the outbox dedups)
 * and clears each job-failed:<id> whose job is no longer `failed` or gone.
 * Failures are logged; the next pass tries again. */
void ob_jobs_reconcile_alerts(struct ob_jobs *j);

/* Raise job-failed:<job->id> for job, which failed in state from (why:
 * the error, exhausted: its attempts were used up). */
void ob_jobs_alert_failed(struct ob_jobs *j, const struct ob_job *job, enum ob_job_state from,
			  bool exhausted, const char *why);

/* Is snap a copy this job made? Its offsite-backup:job tag names the job. */
bool ob_jobs_is_our_copy(const struct ob_job *job, const struct ob_rds_snapshot *snap);

/* Find copy_id of kind. 0 and *ret (caller clears), 1 when absent, -1 + err. */
int ob_jobs_describe_copy(struct ob_jobs *j, enum ob_snap_kind kind, const char *copy_id,
			  struct ob_rds_snapshot *ret, struct ob_error *err);

/* Copy job->source_arn to job->copy_id with kms_key, CopyTags = copy_tags
 * and tags (the job tag first: it proves ownership), then step: COPY_STARTED (and COPY_AVAILABLE
 * when the answer says so). An AlreadyExists answer for a snapshot carrying
 * our job tag is progress; one without it fails the job. Errors are steps.
 * 0, or -1 + err as ob_jobs_apply_error(). */
int ob_jobs_copy(struct ob_jobs *j, struct ob_job *job, const char *kms_key, bool copy_tags,
		 const struct ob_rds_tag_ref *tags, size_t n_tags, struct ob_error *err);

/* When any job in state (the role's copying state) is due, one Describe
 * call per kind (per 100 copies) looks at every copy in that state and
 * steps each: COPY_PROGRESS, COPY_AVAILABLE, or FAIL when it failed or
 * vanished. 0, or -1 + err. */
int ob_jobs_poll(struct ob_jobs *j, enum ob_job_state state, struct ob_error *err);

/* The extra tags a job's copy gets (struct ob_job source_tags) as JSON
 * [{"Key":..,"Value":..}]: malloc'ed, or NULL + err. */
char *ob_jobs_tags_json(const struct ob_rds_tag_ref *tags, size_t n, struct ob_error *err);

/* Append job->source_tags to tags[*n] (capacity OB_JOBS_TAGS_MAX). The
 * returned JSON owns the strings: json_decref() it after the call. A
 * damaged value only loses those tags, never the caller's. */
json_t *ob_jobs_tags_load(const struct ob_job *job, struct ob_rds_tag_ref *tags, size_t *n);

typedef int (*ob_jobs_action)(void *ctx, struct ob_job *job, struct ob_error *err);

/* Run action(ctx, job) on up to limit due jobs in state, the earliest due
 * first; stops at the first -1 (store failure, OB_ERR_CANCELLED) or on a
 * stop request. */
int ob_jobs_run_state(struct ob_jobs *j, enum ob_job_state state, size_t limit,
		      ob_jobs_action action, void *ctx, struct ob_error *err);

/* max_concurrent_copies minus the jobs in state. 0, or -1 + err. */
int ob_jobs_free_slots(struct ob_jobs *j, enum ob_job_state state, size_t *ret,
		       struct ob_error *err);

/* Log a malformed message once per message id (it comes back until the
 * redrive policy moves it to the dead-letter queue): its id, why, and its
 * first 64 bytes with unprintable ones as '?'. */
void ob_jobs_log_malformed(struct ob_jobs *j, const struct ob_sqs_message *m, const char *why);

/* Delete the messages whose done[i] is set (n <= 10) in one batch. A
 * failed delete only brings the message back, as a duplicate: logged, not
 * an error. 0, or -1 + err only for OB_ERR_CANCELLED. */
int ob_jobs_delete_messages(struct ob_jobs *j, const struct ob_sqs_message *msgs,
			    const bool *done, size_t n, struct ob_error *err);

#endif
