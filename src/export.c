/*
 * export.c - the source role's S3 export: start, poll and record one
 * rds:StartExportTask per job whose export copy became available.
 *
 * The export is bookkeeping beside the job, in the `exports` table: it
 * never steps the job, so a slow, failed or refused export cannot hold up
 * the snapshot hand-off. Every change of an export row is a
 * compare-and-set on its state; every AWS call is idempotent: the task
 * name is derived from the job id, and an ExportTaskAlreadyExists answer
 * for a task exporting our copy is our own earlier start. Errors of a
 * start are judged like the jobs' (ob_export_classify): throttling,
 * quota and transient faults wait without counting, retryable ones count
 * against max_attempts, the rest fail the export loudly. Errors in
 * watching a task (DescribeExportTasks refused or failing, the task not
 * listed) never end an export: only the task's own terminal status does,
 * so the copy it reads is never released on a guess (watch_error()); one
 * that lasts (a permanent error, or max_attempts looks in a row) raises
 * the non-terminal export-unwatched alert, cleared by the next answer.
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
#define NOT_LISTED      "ExportTaskNotListed" /* our code: describe omits the task */
#define DISABLED        "ExportDisabled"
/* error_message of an error in watching: tells it from a start's error,
 * whose retry budget (attempts) it must not use up, and back. */
#define WATCHING        "cannot see the task: "
/* With the export off, an unlisted pending row is canceled only this long
 * after its last start try (updated_ms): a start accepted whose answer was
 * lost may not be listed yet. */
#define UNLISTED_MARGIN_MS (15LL * 60 * 1000)

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

static bool code_has(const char *code, const char *word)
{
	return code != NULL && strstr(code, word) != NULL;
}

enum ob_fsm_event_kind ob_export_classify(const struct ob_error *cause, bool *ret_stop)
{
	enum ob_fsm_event_kind kind = ob_jobs_classify(cause, ret_stop);

	/* The per-account limit of exports in progress (and any other quota
	 * or limit word): a full account frees up as tasks end, so wait. */
	if (kind == OB_EV_FAIL &&
	    (code_has(cause->aws_code, "Quota") || code_has(cause->aws_code, "Limit") ||
	     code_has(cause->aws_code, "TooMany")))
		return OB_EV_DEFER;
	return kind;
}

const char *ob_export_error_code(const struct ob_error *cause)
{
	if (cause->aws_code[0] != '\0')
		return cause->aws_code;
	return ob_error_kind_name(cause->kind);
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

/* The JSON details both export alerts carry: the job, its task and
 * state, the copy it exports and the error behind the alert. */
static json_t *export_details(const struct ob_export *e, const char *copy_arn, const char *why)
{
	json_t *d = json_object();

	ob_alert_set(d, "job_id", e->job_id);
	ob_alert_set(d, "export_task_id", e->task_id);
	ob_alert_set(d, "export_state", ob_export_state_name(e->state));
	ob_alert_set(d, "copy_arn", copy_arn);
	ob_alert_set(d, "error_code", e->error_code);
	ob_alert_set(d, "error_message", why);
	return d;
}

/* The alert of an export that ended failed or canceled: one per job,
 * terminal (the task is over; a new export needs a new snapshot). */
static void alert_export_failed(struct ob_jobs *j, const struct ob_export *e,
				const char *snapshot)
{
	char key[96], text[2048];
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
	d = export_details(e, snapshot, e->error_message);
	ob_alerts_raise(j->alerts, &(struct ob_alert){ .key = key, .kind = "export-failed",
			.summary = "S3 export failed", .text = text, .details = d,
			.terminal = true });
	json_decref(d);
}

/* The alert of an export whose task cannot be watched (a permanent error
 * in describing it, or max_attempts looks in a row failing or not finding
 * it): not terminal, cleared by the next answer for the row
 * (clear_unwatched()). why: the last error. */
static void alert_unwatched(struct ob_jobs *j, const struct ob_export *e, const char *why)
{
	char key[96], text[2048];
	json_t *d;

	if (!ob_alerts_enabled(j->alerts))
		return;
	snprintf(key, sizeof(key), "export-unwatched:%s", e->job_id);
	snprintf(text, sizeof(text),
		 "The S3 export %s of job %s (%s) cannot be watched: %.800s\n"
		 "Export copy: %.400s\n\n"
		 "The export does not end on this error: its export copy is kept%s until the "
		 "task's own status can be read. Check that the daemon's role may call "
		 "rds:DescribeExportTasks, and look for the task %s in the RDS console (Exports "
		 "in Amazon S3). This alert clears by itself when the task can be seen again.",
		 e->task_id, e->job_id, ob_export_state_name(e->state), why, e->source_arn,
		 e->state == OB_EXPORT_RUNNING ? " and it takes one of the export task slots" : "",
		 e->task_id);
	d = export_details(e, e->source_arn, why);
	ob_alerts_raise(j->alerts, &(struct ob_alert){ .key = key, .kind = "export-unwatched",
			.summary = "S3 export cannot be watched", .text = text, .details = d,
			.terminal = false });
	json_decref(d);
}

/* An answer for e's task came (or e left the watched states): its
 * export-unwatched alert, if raised, clears. */
static void clear_unwatched(struct ob_jobs *j, const struct ob_export *e)
{
	char key[96], text[512];

	if (!ob_alerts_enabled(j->alerts))
		return;
	snprintf(key, sizeof(key), "export-unwatched:%s", e->job_id);
	snprintf(text, sizeof(text), "The S3 export %s of job %s can be watched again; it is %s.",
		 e->task_id, e->job_id, ob_export_state_name(e->state));
	ob_alerts_clear(j->alerts, key, text);
}

static bool is_watching_error(const struct ob_export *e)
{
	return strncmp(e->error_message, WATCHING, strlen(WATCHING)) == 0;
}

bool ob_export_alerts(const struct ob_export *e)
{
	return e->state == OB_EXPORT_FAILED ||
	       (e->state == OB_EXPORT_CANCELED && strcmp(e->error_code, DISABLED) != 0);
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
	clear_unwatched(j, e);
	if (ob_export_alerts(e)) {
		const char *labels[] = { e->error_code[0] ? e->error_code : "unknown" };

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

	kind = ob_export_classify(cause, &stop);
	if (stop) {
		*err = *cause;
		return -1;
	}
	ob_error_str(cause, why, sizeof(why));
	/* The start's own budget: looks that could not see the task (with the
	 * export off, or after ExportTaskAlreadyExists) do not use it up. */
	if (is_watching_error(e))
		e->attempts = 0;
	set_str(&e->error_code, ob_export_error_code(cause));
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

/* An error in watching e's task (a describe refused or failing, the task
 * not listed): never ends the export, whatever the error. The task runs
 * in AWS regardless of what we can see of it, so e keeps its state (and
 * with it the copy it holds) and looks again after a backoff. Logged as a
 * warning once per change of the error code, not on every look. A
 * permanent error (ob_jobs_classify() FAIL: permission, ...) or
 * max_attempts such looks in a row raise export-unwatched (not terminal),
 * so a row that holds its copy (and a slot) indefinitely is not silent.
 * started: e (pending) tried a start just now, so updated_ms moves (the
 * time of its last start try); other looks keep it. 0, -1 + err for
 * OB_ERR_CANCELLED or a store failure. */
static int watch_error(struct ob_jobs *j, struct ob_export *e, const struct ob_error *cause,
		       bool started, struct ob_error *err)
{
	const char *code = ob_export_error_code(cause);
	enum ob_fsm_event_kind kind;
	char why[600], msg[700];
	bool stop, changed, loud;

	kind = ob_jobs_classify(cause, &stop);
	if (stop) {
		*err = *cause;
		return -1;
	}
	ob_error_str(cause, why, sizeof(why));
	/* Its own budget: a start's errors before do not count here. */
	if (!is_watching_error(e))
		e->attempts = 0;
	changed = strcmp(e->error_code, code) != 0;
	snprintf(msg, sizeof(msg), "%s%s", WATCHING, why);
	set_str(&e->error_code, code);
	set_str(&e->error_message, msg);
	if (e->attempts < 1000000)
		e->attempts++;
	e->next_at_ms = ob_jobs_now(j) + backoff(j, e->attempts);
	if (changed)
		ob_log_job(OB_LOG_WARNING, e->job_id, NULL, e->source_arn, "S3 export %s: cannot "
			   "see its task; the export stays %s and its copy is kept, looking again "
			   "with backoff (logged again when the error changes): %s", e->task_id,
			   ob_export_state_name(e->state), why);
	/* Not listed is "not visible yet" at first: only a run of them counts. */
	loud = (kind == OB_EV_FAIL && strcmp(code, NOT_LISTED) != 0) ||
	       e->attempts >= j->pol.max_attempts;
	if (started) {
		if (commit(j, e, e->state, e->source_arn, err) < 0)
			return -1;
	} else if (ob_store_export_note(j->store, e, err) < 0) {
		if (err == NULL || err->kind != OB_ERR_CONFLICT)
			return -1;
		ob_log_job(OB_LOG_WARNING, e->job_id, NULL, e->source_arn, "export: %s",
			   err->message);
		return 0;
	}
	if (loud)
		alert_unwatched(j, e, why);
	return 0;
}

/* The task of e is not in a describe's answer. */
static int not_listed(struct ob_jobs *j, struct ob_export *e, bool started, struct ob_error *err)
{
	struct ob_error cause;

	ob_error_set(&cause, OB_ERR_NOTFOUND, "export task %s is not listed by "
		     "DescribeExportTasks (not visible yet?)", e->task_id);
	snprintf(cause.aws_code, sizeof(cause.aws_code), "%s", NOT_LISTED);
	return watch_error(j, e, &cause, started, err);
}

/* The task named e->task_id in l, or NULL. */
static const struct ob_rds_export_task *find_task(const struct ob_rds_export_task_list *l,
						  const struct ob_export *e)
{
	size_t k;

	for (k = 0; k < l->n; k++)
		if (l->items[k].id != NULL && strcasecmp(l->items[k].id, e->task_id) == 0)
			return &l->items[k];
	return NULL;
}

/* Apply what DescribeExportTasks says of e's task. */
static int apply_task(struct ob_jobs *j, struct ob_export *e, const struct ob_rds_export_task *t,
		      struct ob_error *err)
{
	enum ob_export_state from = e->state;

	e->state = ob_export_state_of(t->status);
	e->percent = t->percent_progress >= 0 && t->percent_progress <= 100 ? t->percent_progress
									      : e->percent;
	e->attempts = 0;
	if (e->state == OB_EXPORT_RUNNING) {
		if (from == OB_EXPORT_RUNNING && e->error_code[0] != '\0')
			ob_log_job(OB_LOG_NOTICE, e->job_id, NULL, e->source_arn, "S3 export %s: "
				   "its task is visible again (%s)", e->task_id, e->error_code);
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
	if (commit(j, e, from, e->source_arn, err) < 0)
		return -1;
	clear_unwatched(j, e); /* an answer for its task */
	return 0;
}

/* ---- adopt ---------------------------------------------------------------- */

int ob_export_adopt(struct ob_jobs *j, struct ob_error *err)
{
	struct ob_export_list list;
	char task[OB_EXPORT_TASK_ID_MAX + 1];
	struct ob_error e;
	size_t i;
	int rc = 0;

	if (!ob_export_enabled(j->cfg))
		return 0;
	/* Only the jobs in `copied` without a row, all of them: a job must
	 * not be shared (do_share) before its row exists. */
	if (ob_store_exports_unadopted(j->store, 0, &list, err) < 0)
		return -1;
	for (i = 0; i < list.n && rc == 0; i++) {
		struct ob_export *x = &list.items[i];
		bool created;

		if (x->source_arn[0] == '\0')
			continue; /* cannot be: the copy call answered with it */
		if (ob_export_task_id(x->job_id, task, sizeof(task), &e) < 0) {
			ob_log_job(OB_LOG_ERR, x->job_id, "copied", x->source_arn, "no S3 export: %s",
				   e.message);
			continue;
		}
		set_str(&x->task_id, task);
		x->state = OB_EXPORT_PENDING;
		x->next_at_ms = ob_jobs_now(j);
		rc = ob_store_export_insert(j->store, x, ob_jobs_now(j), &created, err);
		if (rc == 0 && created)
			ob_log_job(OB_LOG_INFO, x->job_id, "copied", x->source_arn,
				   "S3 export %s pending (to s3://%s/%s)", task, j->cfg->export_to_s3_bucket,
				   j->cfg->export_to_s3_prefix);
	}
	ob_export_list_clear(&list);
	return rc;
}

/* ---- start ---------------------------------------------------------------- */

/* End e (pending) as failed with code and message. */
static int fail_now(struct ob_jobs *j, struct ob_export *e, const char *code, const char *msg,
		    struct ob_error *err)
{
	enum ob_export_state from = e->state;

	e->state = OB_EXPORT_FAILED;
	e->next_at_ms = OB_FSM_NEVER;
	set_str(&e->error_code, code);
	set_str(&e->error_message, msg);
	return commit(j, e, from, e->source_arn, err);
}

/* e (pending) has a task in AWS, t: running now, and the task's own state
 * is applied right away. */
static int adopt_task(struct ob_jobs *j, struct ob_export *e, const struct ob_rds_export_task *t,
		      const char *why, struct ob_error *err)
{
	ob_log_job(OB_LOG_INFO, e->job_id, NULL, e->source_arn, "S3 export %s: our task already "
		   "exists (%s)", e->task_id, why);
	e->state = OB_EXPORT_RUNNING;
	e->attempts = 0;
	set_str(&e->error_code, "");
	set_str(&e->error_message, "");
	if (commit(j, e, OB_EXPORT_PENDING, e->source_arn, err) < 0)
		return -1;
	if (e->state != OB_EXPORT_RUNNING)
		return 0; /* lost the compare-and-set */
	return apply_task(j, e, t, err);
}

/* An ExportTaskAlreadyExists answer: ours when the task exports our copy.
 * A describe that fails or does not list the task (yet: eventual
 * consistency) is an error in watching, never a failure: e stays pending,
 * holds its copy and tries again. Only a task of that name exporting
 * another snapshot fails e. */
static int start_exists(struct ob_jobs *j, struct ob_export *e, const struct ob_error *cause,
			struct ob_error *err)
{
	struct ob_rds_export_task_list l;
	const char *ids[1] = { e->task_id };
	const struct ob_rds_export_task *t;
	struct ob_error aerr;
	char msg[1200];
	int rc;

	if (ob_rds_describe_export_tasks(j->client->aws, ids, 1, &l, &aerr) < 0)
		return watch_error(j, e, &aerr, true, err);
	t = find_task(&l, e);
	if (t == NULL) {
		rc = not_listed(j, e, true, err);
	} else if (strcmp(t->source_arn ? t->source_arn : "", e->source_arn) != 0) {
		snprintf(msg, sizeof(msg), "an export task named %s exists and exports %.400s, not "
			 "this job's copy %.400s", e->task_id, t->source_arn ? t->source_arn : "",
			 e->source_arn);
		rc = fail_now(j, e, cause->aws_code, msg, err);
	} else {
		rc = adopt_task(j, e, t, "started before a restart", err);
	}
	ob_rds_export_task_list_clear(&l);
	return rc;
}

static bool already_exists(const struct ob_error *e)
{
	return strcmp(e->aws_code, "ExportTaskAlreadyExists") == 0 ||
	       strcmp(e->aws_code, "ExportTaskAlreadyExistsFault") == 0;
}

static int start_one(struct ob_jobs *j, struct ob_export *e, struct ob_error *err)
{
	struct ob_rds_export_start x = { 0 };
	struct ob_rds_export_task t;
	struct ob_error aerr;
	int rc;

	x.task_id = e->task_id;
	x.source_arn = e->source_arn;
	x.s3_bucket = j->cfg->export_to_s3_bucket;
	x.s3_prefix = j->cfg->export_to_s3_prefix;
	x.iam_role_arn = j->cfg->export_iam_role_arn;
	x.kms_key_id = j->cfg->export_kms_key;
	j->client->finish_on_stop = true;
	rc = ob_rds_start_export_task(j->client->aws, &x, &t, &aerr);
	j->client->finish_on_stop = false;
	if (rc < 0 && already_exists(&aerr))
		return start_exists(j, e, &aerr, err);
	if (rc < 0)
		return apply_error(j, e, &aerr, e->source_arn, err);
	e->state = OB_EXPORT_RUNNING;
	e->attempts = 0;
	e->percent = t.percent_progress >= 0 && t.percent_progress <= 100 ? t.percent_progress : 0;
	e->next_at_ms = ob_jobs_now(j) + poll_delay(j);
	set_str(&e->error_code, "");
	set_str(&e->error_message, "");
	ob_rds_export_task_clear(&t);
	return commit(j, e, OB_EXPORT_PENDING, e->source_arn, err);
}

/* Describe the tasks of m rows (m <= OB_RDS_EXPORT_IDS_MAX) in one call
 * (paged). 1 and *ret when AWS answered (the caller clears it); when it
 * did not, the error is each row's error in watching (watch_error()):
 * 0, or -1 + err. */
static int describe_rows(struct ob_jobs *j, struct ob_export *rows, size_t m,
			 struct ob_rds_export_task_list *ret, struct ob_error *err)
{
	const char *ids[OB_RDS_EXPORT_IDS_MAX] = { NULL };
	struct ob_error aerr;
	size_t i;
	int rc = 0;

	for (i = 0; i < m; i++)
		ids[i] = rows[i].task_id;
	if (ob_rds_describe_export_tasks(j->client->aws, ids, m, ret, &aerr) == 0)
		return 1;
	for (i = 0; i < m && rc == 0; i++)
		rc = watch_error(j, &rows[i], &aerr, false, err);
	return rc;
}

/* The export was switched off with rows still pending. A pending row's
 * task may exist all the same (StartExportTask accepted, the daemon gone
 * before the commit): one batched describe tells. A task of ours runs to
 * its end (running, polled, its copy kept); a row AWS knows no task of
 * is canceled (ExportDisabled) once its last start try (updated_ms) is
 * UNLISTED_MARGIN_MS old: a younger one's task may just not be listed yet
 * (as start_exists() judges the same answer), so it stays pending, held,
 * and looks again then. A describe that fails cancels nothing: the rows
 * stay pending, holding their copies, and look again. */
static int resolve_disabled(struct ob_jobs *j, struct ob_export *rows, size_t m,
			    struct ob_error *err)
{
	struct ob_rds_export_task_list l;
	size_t i;
	int rc;

	rc = describe_rows(j, rows, m, &l, err);
	if (rc <= 0)
		return rc;
	rc = 0;
	for (i = 0; i < m && rc == 0; i++) {
		struct ob_export *e = &rows[i];
		const struct ob_rds_export_task *t = find_task(&l, e);

		if (t != NULL && strcmp(t->source_arn ? t->source_arn : "", e->source_arn) == 0) {
			rc = adopt_task(j, e, t, "started before the export was switched off; it "
					"is followed to its end", err);
			continue;
		}
		if (ob_jobs_now(j) - e->updated_ms < UNLISTED_MARGIN_MS) {
			char msg[300];

			snprintf(msg, sizeof(msg), "%sexport task %s is not listed by "
				 "DescribeExportTasks %lld s after its last start try; the export "
				 "is off, canceled when still not listed %lld s after it", WATCHING,
				 e->task_id, (long long)((ob_jobs_now(j) - e->updated_ms) / 1000),
				 (long long)(UNLISTED_MARGIN_MS / 1000));
			set_str(&e->error_code, NOT_LISTED);
			set_str(&e->error_message, msg);
			e->next_at_ms = e->updated_ms + UNLISTED_MARGIN_MS;
			rc = ob_store_export_note(j->store, e, err);
			if (rc < 0 && err != NULL && err->kind == OB_ERR_CONFLICT)
				rc = 0;
			continue;
		}
		e->state = OB_EXPORT_CANCELED;
		e->next_at_ms = OB_FSM_NEVER;
		set_str(&e->error_code, DISABLED);
		set_str(&e->error_message, "export_to_s3_bucket was unset before the task started");
		rc = commit(j, e, OB_EXPORT_PENDING, e->source_arn, err);
	}
	ob_rds_export_task_list_clear(&l);
	return rc;
}

/* ---- poll ----------------------------------------------------------------- */

/* Describe m running exports in one call (paged) and apply the answers.
 * Only a terminal status ends one; an error or a task not listed is an
 * error in watching (watch_error()). */
static int poll_batch(struct ob_jobs *j, struct ob_export *rows, size_t m, struct ob_error *err)
{
	struct ob_rds_export_task_list l;
	size_t i;
	int rc;

	rc = describe_rows(j, rows, m, &l, err);
	if (rc <= 0)
		return rc;
	rc = 0;
	for (i = 0; i < m && rc == 0; i++) {
		const struct ob_rds_export_task *t = find_task(&l, &rows[i]);

		rc = t != NULL ? apply_task(j, &rows[i], t, err)
			       : not_listed(j, &rows[i], false, err);
	}
	ob_rds_export_task_list_clear(&l);
	return rc;
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

size_t ob_export_free_slots(long running)
{
	return running >= OB_EXPORT_TASKS_MAX ? 0 : (size_t)(OB_EXPORT_TASKS_MAX - running);
}

static int free_slots(struct ob_jobs *j, size_t *ret, struct ob_error *err)
{
	long counts[OB_EXPORT_STATE_COUNT];

	if (ob_store_export_counts(j->store, counts, err) < 0)
		return -1;
	*ret = ob_export_free_slots(counts[OB_EXPORT_RUNNING]);
	return 0;
}

int ob_export_run(struct ob_jobs *j, int64_t *ret_next_ms, struct ob_error *err)
{
	struct ob_export_list pending;
	bool enabled = ob_export_enabled(j->cfg);
	int64_t a, b;
	size_t i, slots = 0;
	int rc = 0;

	*ret_next_ms = OB_FSM_NEVER;
	/* Running exports are polled to their end even after the export was
	 * switched off: their tasks run in AWS regardless. */
	if (poll_running(j, err) < 0)
		return -1;
	if (enabled) {
		/* At most OB_EXPORT_TASKS_MAX tasks in progress (the account's
		 * limit): more start as slots free up. */
		if (free_slots(j, &slots, err) < 0)
			return -1;
		if (slots == 0)
			pending.n = 0, pending.items = NULL;
		else if (ob_store_exports_list(j->store, OB_EXPORT_PENDING, ob_jobs_now(j),
					       slots < START_BATCH ? slots : START_BATCH, &pending,
					       err) < 0)
			return -1;
		for (i = 0; i < pending.n && rc == 0; i++) {
			if (ob_jobs_stopping(j)) {
				rc = ob_error_set(err, OB_ERR_CANCELLED, "stopping");
				break;
			}
			rc = start_one(j, &pending.items[i], err);
		}
	} else {
		if (ob_store_exports_list(j->store, OB_EXPORT_PENDING, ob_jobs_now(j),
					  OB_RDS_EXPORT_IDS_MAX, &pending, err) < 0)
			return -1;
		if (pending.n > 0)
			rc = resolve_disabled(j, pending.items, pending.n, err);
	}
	ob_export_list_clear(&pending);
	if (rc < 0)
		return -1;
	if (ob_store_export_next_due(j->store, OB_EXPORT_RUNNING, &a, err) < 0 ||
	    ob_store_export_next_due(j->store, OB_EXPORT_PENDING, &b, err) < 0 ||
	    (enabled && free_slots(j, &slots, err) < 0))
		return -1;
	/* With every slot taken, pending rows wait for a running one to end:
	 * they are not due before its next poll. */
	if (enabled && slots == 0)
		b = OB_FSM_NEVER;
	*ret_next_ms = a < b ? a : b;
	return 0;
}

/* ---- alert reconciliation ------------------------------------------------- */

int ob_export_reconcile(struct ob_jobs *j, size_t *ret_raised, struct ob_error *err)
{
	struct ob_export_list l;
	size_t i, n = 0;

	if (ret_raised != NULL)
		*ret_raised = 0;
	if (!ob_alerts_enabled(j->alerts))
		return 0;
	if (ob_store_exports_ended(j->store, ob_jobs_now(j) - OB_ALERT_KEEP_TERMINAL_MS, &l,
				   err) < 0)
		return -1;
	for (i = 0; i < l.n; i++) {
		if (!ob_export_alerts(&l.items[i]))
			continue; /* the store selects these only; kept for safety */
		alert_export_failed(j, &l.items[i], l.items[i].source_arn);
		n++;
	}
	ob_export_list_clear(&l);
	if (ret_raised != NULL)
		*ret_raised = n;
	return 0;
}

int ob_export_holds_copy(struct ob_jobs *j, const char *job_id, bool *ret, struct ob_error *err)
{
	struct ob_export e;
	struct ob_error gerr;

	*ret = false;
	if (ob_store_export_get(j->store, job_id, &e, &gerr) < 0) {
		if (gerr.kind == OB_ERR_NOTFOUND)
			return 0;
		if (err != NULL)
			*err = gerr;
		return -1;
	}
	*ret = ob_export_holds(e.state);
	ob_export_clear(&e);
	return 0;
}

bool ob_export_holds(enum ob_export_state state)
{
	/* Pending holds too, configured or not: a pending row's task may
	 * exist (a start accepted just before a crash) until a describe
	 * says otherwise (resolve_disabled()). */
	return state == OB_EXPORT_RUNNING || state == OB_EXPORT_PENDING;
}
