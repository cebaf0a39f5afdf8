/*
 * export.c - the source role's S3 export: start, poll and record one
 * rds:StartExportTask per job whose export copy became available.
 *
 * The export is bookkeeping beside the job, in the `exports` table: it
 * never steps the job, so a slow, failed or refused export cannot hold up
 * the snapshot hand-off. Every change of an export row is a
 * compare-and-set on its state; every AWS call is idempotent: the task
 * name is derived from the job id, and an ExportTaskAlreadyExists answer
 * for a task exporting our copy is our own earlier start. Errors are
 * judged like the jobs' (ob_jobs_classify): throttling and transient
 * faults wait without counting, retryable ones count against
 * max_attempts, the rest fail the export loudly.
 */
#include "ob/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ob/alert.h"
#include "ob/log.h"

#define TASK_PREFIX     "ob-export-"
#define BACKOFF_CAP_MS  (15LL * 60 * 1000)
#define ADOPT_BATCH     100
#define START_BATCH     20   /* StartExportTask calls per turn */

bool ob_export_enabled(const struct ob_config *cfg)
{
	return cfg != NULL && cfg->export_to_s3_bucket != NULL && cfg->export_to_s3_bucket[0] != '\0';
}

int ob_export_task_id(const char *job_id, char *buf, size_t size, struct ob_error *err)
{
	size_t i, n;

	if (job_id == NULL || (n = strlen(job_id)) == 0 ||
	    n > OB_EXPORT_TASK_ID_MAX - strlen(TASK_PREFIX) || size <= strlen(TASK_PREFIX) + n)
		return ob_error_set(err, OB_ERR_INVALID, "no export task name for job id of %zu bytes",
				    job_id ? strlen(job_id) : 0);
	for (i = 0; i < n; i++) {
		char c = job_id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && i > 0 && job_id[i - 1] != '-')) || (c == '-' && i == n - 1))
			return ob_error_set(err, OB_ERR_INVALID, "no export task name for job id %.64s",
					    job_id);
	}
	snprintf(buf, size, "%s%s", TASK_PREFIX, job_id);
	return 0;
}

enum ob_export_state ob_export_state_of(enum ob_rds_export_status status)
{
	switch (status) {
	case OB_RDS_EXPORT_COMPLETE:
		return OB_EXPORT_COMPLETE;
	case OB_RDS_EXPORT_FAILED:
		return OB_EXPORT_FAILED;
	case OB_RDS_EXPORT_CANCELED:
		return OB_EXPORT_CANCELED;
	case OB_RDS_EXPORT_STARTING:
	case OB_RDS_EXPORT_IN_PROGRESS:
	case OB_RDS_EXPORT_CANCELING:
	case OB_RDS_EXPORT_UNKNOWN:
		break;
	}
	return OB_EXPORT_RUNNING;
}

/* ---- committing a change -------------------------------------------------- */

/* The next poll of a running export: one poll interval, at least 1 s. */
static int64_t poll_delay(const struct ob_jobs *j)
{
	return j->cfg->poll_interval_ms > 1000 ? j->cfg->poll_interval_ms : 1000;
}

/* Backoff after the n-th error in a row: base * 2^(n-1), base one poll
 * interval within 1 s..1 min, capped at 15 minutes. */
static int64_t backoff(const struct ob_jobs *j, unsigned n)
{
	int64_t d = j->pol.backoff_base_ms;

	while (n-- > 1 && d < BACKOFF_CAP_MS)
		d *= 2;
	return d < BACKOFF_CAP_MS ? d : BACKOFF_CAP_MS;
}

/* The alert of an export that ended failed or canceled: one per job,
 * terminal (the task is over; a new export needs a new snapshot). */
static void alert_export_failed(struct ob_jobs *j, const struct ob_export *e,
				const char *snapshot)
{
	char key[64], text[2048];
	json_t *d;

	if (!ob_alerts_enabled(j->alerts))
		return;
	snprintf(key, sizeof(key), "export-failed:%s", e->job_id);
	snprintf(text, sizeof(text),
		 "The S3 export %s of job %s ended %s: %.80s%s%.800s\n"
		 "Export copy: %.400s\n\n"
		 "The snapshot copy and its hand-off to the vault are not affected; only the "
		 "Parquet escrow in S3 is missing for this snapshot. Fix the cause (the export "
		 "role, the bucket, the KMS key: docs/s3-export.md); the next snapshot is exported "
		 "as usual. This alert does not clear.",
		 e->task_id, e->job_id, ob_export_state_name(e->state), e->error_code,
		 e->error_code[0] && e->error_message[0] ? ": " : "", e->error_message,
		 snapshot ? snapshot : "(unknown)");
	d = json_object();
	ob_alert_set(d, "job_id", e->job_id);
	ob_alert_set(d, "export_task_id", e->task_id);
	ob_alert_set(d, "export_state", ob_export_state_name(e->state));
	ob_alert_set(d, "copy_arn", snapshot);
	ob_alert_set(d, "error_code", e->error_code);
	ob_alert_set(d, "error_message", e->error_message);
	ob_alerts_raise(j->alerts, &(struct ob_alert){ key, "export-failed", "S3 export failed",
			text, d, true });
	json_decref(d);
}

/* Commit e (changed in place from state `from`), and log the change. A
 * failed or canceled export gets its LOG_ERR line with the MESSAGE_ID and
 * is counted. A lost compare-and-set (ctl or a second daemon moved it) is
 * logged and skipped. */
static int commit(struct ob_jobs *j, struct ob_export *e, enum ob_export_state from,
		  const char *snapshot, struct ob_error *err)
{
	int64_t now = ob_jobs_now(j);

	if (ob_store_export_update(j->store, e, from, now, err) < 0) {
		if (err != NULL && err->kind == OB_ERR_CONFLICT) {
			ob_log_job(OB_LOG_WARNING, e->job_id, NULL, snapshot, "export: %s", err->message);
			return 0;
		}
		return -1;
	}
	if (e->state == from)
		return 0;
	if (e->state == OB_EXPORT_FAILED ||
	    (e->state == OB_EXPORT_CANCELED && strcmp(e->error_code, "ExportDisabled") != 0)) {
		const char *labels[] = { e->error_code };

		ob_metrics_add(j->metrics, OB_M_EXPORT_FAILURES, labels, 1);
		ob_log_alert(OB_LOG_ERR, OB_MSGID_EXPORT_FAILED, e->job_id, NULL, snapshot,
			     "S3 export %s %s -> %s: %s%s%s (the snapshot copy and its hand-off "
			     "are not affected)", e->task_id, ob_export_state_name(from),
			     ob_export_state_name(e->state), e->error_code,
			     e->error_code[0] ? ": " : "", e->error_message);
		alert_export_failed(j, e, snapshot);
	} else {
		ob_log_job(e->state == OB_EXPORT_CANCELED ? OB_LOG_NOTICE : OB_LOG_INFO, e->job_id,
			   NULL, snapshot, "S3 export %s %s -> %s%s%s", e->task_id,
			   ob_export_state_name(from), ob_export_state_name(e->state),
			   e->error_message[0] ? ": " : "", e->error_message);
	}
	return 0;
}

/* Replace an owned string; keeps the old one when out of memory (the
 * row's text is then stale, never lost). */
static void set_str(char **dst, const char *v)
{
	char *copy = strdup(v ? v : "");

	if (copy != NULL) {
		free(*dst);
		*dst = copy;
	}
}

/* Feed an AWS error of e's current step back into e: DEFER waits (never
 * fails), RETRY counts (fails at max_attempts), FAIL fails. 0, -1 + err
 * for OB_ERR_CANCELLED or a store failure. */
static int apply_error(struct ob_jobs *j, struct ob_export *e, const struct ob_error *cause,
		       const char *snapshot, struct ob_error *err)
{
	enum ob_export_state from = e->state;
	enum ob_fsm_event_kind kind;
	char why[600];
	bool stop;

	kind = ob_jobs_classify(cause, &stop);
	if (stop) {
		*err = *cause;
		return -1;
	}
	ob_error_str(cause, why, sizeof(why));
	set_str(&e->error_code, cause->aws_code);
	set_str(&e->error_message, why);
	if (e->attempts < 1000000)
		e->attempts++;
	if (kind == OB_EV_FAIL || (kind == OB_EV_RETRY && e->attempts >= j->pol.max_attempts)) {
		e->state = OB_EXPORT_FAILED;
		e->next_at_ms = OB_FSM_NEVER;
	} else {
		e->next_at_ms = ob_jobs_now(j) + backoff(j, e->attempts);
		ob_log_job(OB_LOG_WARNING, e->job_id, NULL, snapshot, "S3 export %s: %s again in "
			   "%lld s: %s", e->task_id, kind == OB_EV_DEFER ? "delayed" : "will retry",
			   (long long)((e->next_at_ms - ob_jobs_now(j) + 999) / 1000), why);
	}
	return commit(j, e, from, snapshot, err);
}

/* Apply what DescribeExportTasks says of e's task. */
static int apply_task(struct ob_jobs *j, struct ob_export *e, const struct ob_rds_export_task *t,
		      struct ob_error *err)
{
	enum ob_export_state from = e->state;

	e->state = ob_export_state_of(t->status);
	e->percent = t->percent_progress;
	e->attempts = 0;
	if (e->state == OB_EXPORT_RUNNING) {
		e->next_at_ms = ob_jobs_now(j) + poll_delay(j);
		set_str(&e->error_code, "");
		set_str(&e->error_message, "");
	} else {
		e->next_at_ms = OB_FSM_NEVER;
		if (e->state == OB_EXPORT_COMPLETE) {
			e->percent = 100;
			set_str(&e->error_code, "");
			set_str(&e->error_message, "");
		} else {
			/* The task's own word: FAILED / CANCELED, and why. */
			set_str(&e->error_code, e->state == OB_EXPORT_FAILED ? "FAILED" : "CANCELED");
			set_str(&e->error_message, t->failure_cause[0] ? t->failure_cause
								       : "no FailureCause given");
		}
	}
	return commit(j, e, from, e->source_arn, err);
}

/* ---- adopt ---------------------------------------------------------------- */

int ob_export_adopt(struct ob_jobs *j, struct ob_error *err)
{
	static const enum ob_job_state copied[] = { OB_JOB_COPIED };
	struct ob_store_query q = { 0 };
	struct ob_job_list list;
	char task[OB_EXPORT_TASK_ID_MAX + 1];
	struct ob_error e;
	size_t i;
	int rc = 0;

	if (!ob_export_enabled(j->cfg))
		return 0;
	q.states = copied;
	q.n_states = 1;
	q.limit = ADOPT_BATCH;
	if (ob_store_jobs_list(j->store, &q, &list, err) < 0)
		return -1;
	for (i = 0; i < list.n && rc == 0; i++) {
		const struct ob_job *job = &list.items[i];
		struct ob_export x = { 0 };
		bool created;

		if (job->copy_arn[0] == '\0')
			continue; /* cannot be: the copy call answered with it */
		if (ob_export_task_id(job->id, task, sizeof(task), &e) < 0) {
			ob_log_job(OB_LOG_ERR, job->id, "copied", job->source_arn, "no S3 export: %s",
				   e.message);
			continue;
		}
		x.job_id = job->id;
		x.task_id = task;
		x.source_arn = job->copy_arn;
		x.state = OB_EXPORT_PENDING;
		x.next_at_ms = ob_jobs_now(j);
		rc = ob_store_export_insert(j->store, &x, ob_jobs_now(j), &created, err);
		if (rc == 0 && created)
			ob_log_job(OB_LOG_INFO, job->id, "copied", job->copy_arn,
				   "S3 export %s pending (to s3://%s/%s)", task, j->cfg->export_to_s3_bucket,
				   j->cfg->export_to_s3_prefix);
	}
	ob_job_list_clear(&list);
	return rc;
}

/* ---- start ---------------------------------------------------------------- */

/* An ExportTaskAlreadyExists answer: ours when the task exports our copy. */
static int start_exists(struct ob_jobs *j, struct ob_export *e, const struct ob_error *cause,
			struct ob_error *err)
{
	struct ob_rds_export_task_list l;
	const char *ids[1] = { e->task_id };
	const struct ob_rds_export_task *t = NULL;
	struct ob_error aerr;
	size_t i;

	if (ob_rds_describe_export_tasks(j->client->aws, ids, 1, &l, &aerr) < 0)
		return apply_error(j, e, &aerr, e->source_arn, err);
	for (i = 0; i < l.n; i++)
		if (strcmp(l.items[i].id, e->task_id) == 0)
			t = &l.items[i];
	if (t == NULL || strcmp(t->source_arn, e->source_arn) != 0) {
		ob_error_set(&aerr, OB_ERR_AWS, "an export task named %s exists and exports %s, "
			     "not this job's copy %s", e->task_id, t ? t->source_arn : "(not found)",
			     e->source_arn);
		snprintf(aerr.aws_code, sizeof(aerr.aws_code), "%s", cause->aws_code);
		ob_rds_export_task_list_clear(&l);
		return apply_error(j, e, &aerr, e->source_arn, err);
	}
	ob_log_job(OB_LOG_INFO, e->job_id, NULL, e->source_arn,
		   "S3 export %s: our task already exists (started before a restart)", e->task_id);
	/* Running now; the task's own state is applied right away. */
	e->state = OB_EXPORT_RUNNING;
	if (commit(j, e, OB_EXPORT_PENDING, e->source_arn, err) < 0) {
		ob_rds_export_task_list_clear(&l);
		return -1;
	}
	if (apply_task(j, e, t, err) < 0) {
		ob_rds_export_task_list_clear(&l);
		return -1;
	}
	ob_rds_export_task_list_clear(&l);
	return 0;
}

static int start_one(struct ob_jobs *j, struct ob_export *e, struct ob_error *err)
{
	struct ob_rds_export_start x = { 0 };
	struct ob_rds_export_task t;
	struct ob_error aerr;
	int rc;

	if (!ob_export_enabled(j->cfg)) {
		/* Switched off before the task started: nothing to wait for. */
		e->state = OB_EXPORT_CANCELED;
		e->next_at_ms = OB_FSM_NEVER;
		set_str(&e->error_code, "ExportDisabled");
		set_str(&e->error_message, "export_to_s3_bucket was unset before the task started");
		return commit(j, e, OB_EXPORT_PENDING, e->source_arn, err);
	}
	x.task_id = e->task_id;
	x.source_arn = e->source_arn;
	x.s3_bucket = j->cfg->export_to_s3_bucket;
	x.s3_prefix = j->cfg->export_to_s3_prefix;
	x.iam_role_arn = j->cfg->export_iam_role_arn;
	x.kms_key_id = j->cfg->export_kms_key;
	j->client->finish_on_stop = true;
	rc = ob_rds_start_export_task(j->client->aws, &x, &t, &aerr);
	j->client->finish_on_stop = false;
	if (rc < 0 && strcmp(aerr.aws_code, "ExportTaskAlreadyExists") == 0)
		return start_exists(j, e, &aerr, err);
	if (rc < 0)
		return apply_error(j, e, &aerr, e->source_arn, err);
	e->state = OB_EXPORT_RUNNING;
	e->attempts = 0;
	e->percent = t.percent_progress;
	e->next_at_ms = ob_jobs_now(j) + poll_delay(j);
	set_str(&e->error_code, "");
	set_str(&e->error_message, "");
	ob_rds_export_task_clear(&t);
	return commit(j, e, OB_EXPORT_PENDING, e->source_arn, err);
}

/* ---- poll ----------------------------------------------------------------- */

/* Describe m running exports in one call (paged) and apply the answers. */
static int poll_batch(struct ob_jobs *j, struct ob_export *rows, size_t m, struct ob_error *err)
{
	const char *ids[OB_RDS_EXPORT_IDS_MAX] = { NULL };
	struct ob_rds_export_task_list l;
	struct ob_error aerr;
	size_t i, k;

	for (i = 0; i < m; i++)
		ids[i] = rows[i].task_id;
	if (ob_rds_describe_export_tasks(j->client->aws, ids, m, &l, &aerr) < 0) {
		for (i = 0; i < m; i++)
			if (apply_error(j, &rows[i], &aerr, rows[i].source_arn, err) < 0)
				return -1;
		return 0;
	}
	for (i = 0; i < m; i++) {
		const struct ob_rds_export_task *t = NULL;
		int rc;

		for (k = 0; k < l.n; k++)
			if (strcasecmp(l.items[k].id, rows[i].task_id) == 0)
				t = &l.items[k];
		if (t != NULL) {
			rc = apply_task(j, &rows[i], t, err);
		} else {
			/* Not listed: a task just started may not be visible
			 * yet; a task that stays away fails at max_attempts. */
			ob_error_set(&aerr, OB_ERR_PARSE, "export task %s is not listed by "
				     "DescribeExportTasks", rows[i].task_id);
			rc = apply_error(j, &rows[i], &aerr, rows[i].source_arn, err);
		}
		if (rc < 0) {
			ob_rds_export_task_list_clear(&l);
			return -1;
		}
	}
	ob_rds_export_task_list_clear(&l);
	return 0;
}

/* When one running export is due, all are looked at (calls grow with
 * ticks, not with exports). */
static int poll_running(struct ob_jobs *j, struct ob_error *err)
{
	struct ob_export_list due, all;
	size_t start, m;
	int rc = 0;

	if (ob_store_exports_list(j->store, OB_EXPORT_RUNNING, ob_jobs_now(j), 1, &due, err) < 0)
		return -1;
	m = due.n;
	ob_export_list_clear(&due);
	if (m == 0)
		return 0;
	if (ob_store_exports_list(j->store, OB_EXPORT_RUNNING, INT64_MAX, 0, &all, err) < 0)
		return -1;
	for (start = 0; start < all.n && rc == 0; start += OB_RDS_EXPORT_IDS_MAX) {
		m = all.n - start < OB_RDS_EXPORT_IDS_MAX ? all.n - start : OB_RDS_EXPORT_IDS_MAX;
		rc = poll_batch(j, all.items + start, m, err);
	}
	ob_export_list_clear(&all);
	return rc;
}

int ob_export_run(struct ob_jobs *j, int64_t *ret_next_ms, struct ob_error *err)
{
	struct ob_export_list pending;
	int64_t a, b;
	size_t i;
	int rc = 0;

	*ret_next_ms = OB_FSM_NEVER;
	/* Running exports are polled to their end even after the export was
	 * switched off: their tasks run in AWS regardless. */
	if (poll_running(j, err) < 0)
		return -1;
	if (ob_store_exports_list(j->store, OB_EXPORT_PENDING, ob_jobs_now(j), START_BATCH,
				  &pending, err) < 0)
		return -1;
	for (i = 0; i < pending.n && rc == 0; i++) {
		if (ob_jobs_stopping(j)) {
			rc = ob_error_set(err, OB_ERR_CANCELLED, "stopping");
			break;
		}
		rc = start_one(j, &pending.items[i], err);
	}
	ob_export_list_clear(&pending);
	if (rc < 0)
		return -1;
	if (ob_store_export_next_due(j->store, OB_EXPORT_RUNNING, &a, err) < 0 ||
	    ob_store_export_next_due(j->store, OB_EXPORT_PENDING, &b, err) < 0)
		return -1;
	*ret_next_ms = a < b ? a : b;
	return 0;
}

int ob_export_holds_copy(struct ob_jobs *j, const char *job_id, bool *ret, struct ob_error *err)
{
	struct ob_export e;

	*ret = false;
	if (ob_store_export_get(j->store, job_id, &e, err) < 0)
		return err != NULL && err->kind == OB_ERR_NOTFOUND ? 0 : -1;
	*ret = e.state == OB_EXPORT_RUNNING ||
	       (e.state == OB_EXPORT_PENDING && ob_export_enabled(j->cfg));
	ob_export_clear(&e);
	return 0;
}
