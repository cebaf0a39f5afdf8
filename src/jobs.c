/*
 * jobs.c - the job shell both roles share: classify, step and commit, copy,
 * batched poll, run due jobs, and the intake helpers.
 *
 * Every action follows one pattern: one AWS call, its outcome classified
 * into an fsm event, ob_fsm_step() decides, the step is committed with a
 * compare-and-set, one log line. A crash between the call and the commit
 * repeats the call on restart, so every call here is idempotent: a copy has
 * a deterministic name, and an AlreadyExists answer for a copy carrying our
 * job tag is progress.
 */
#include "ob/jobs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "ob/ident.h"
#include "ob/log.h"
#include "ob/retry.h"

#define BACKOFF_CAP_MS   (15LL * 60 * 1000)
#define DESCRIBE_IDS_MAX 100 /* db-snapshot-id filter values per call */

/* ---- set-up ------------------------------------------------------------- */

static uint32_t rng_next(struct ob_jobs *j)
{
	/* xorshift64*: jitter only, not security. */
	j->rng ^= j->rng >> 12;
	j->rng ^= j->rng << 25;
	j->rng ^= j->rng >> 27;
	return (uint32_t)((j->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

int64_t ob_jobs_now(const struct ob_jobs *j)
{
	return j->clock->now_ms(j->clock->ctx);
}

bool ob_jobs_stopping(const struct ob_jobs *j)
{
	return j->stop != NULL && *j->stop;
}

void ob_jobs_set_config(struct ob_jobs *j, const struct ob_config *cfg, int64_t retention_ms)
{
	int64_t base = cfg->poll_interval_ms;

	/* Retries start at one poll interval, between 1 s and 1 min. */
	if (base < 1000)
		base = 1000;
	if (base > 60000)
		base = 60000;
	j->cfg = cfg;
	j->pol.max_attempts = (unsigned)cfg->max_attempts;
	j->pol.poll_interval_ms = cfg->poll_interval_ms;
	j->pol.retention_ms = retention_ms;
	j->pol.backoff_base_ms = base;
	j->pol.backoff_cap_ms = BACKOFF_CAP_MS > base ? BACKOFF_CAP_MS : base;
}

void ob_jobs_init(struct ob_jobs *j, const struct ob_config *cfg, struct ob_client *client,
		  struct ob_store *store, const struct ob_clock *clock,
		  const volatile sig_atomic_t *stop, int64_t retention_ms)
{
	memset(j, 0, sizeof(*j));
	j->client = client;
	j->store = store;
	j->clock = clock ? clock : ob_clock_system();
	j->stop = stop;
	if (getrandom(&j->rng, sizeof(j->rng), 0) != sizeof(j->rng) || j->rng == 0)
		j->rng = (uint64_t)ob_jobs_now(j) | 1;
	ob_jobs_set_config(j, cfg, retention_ms);
}

bool ob_jobs_code_in(const struct ob_error *err, const char *const *codes)
{
	for (; *codes != NULL; codes++)
		if (strcmp(err->aws_code, *codes) == 0)
			return true;
	return false;
}

/* ---- classify, step, commit --------------------------------------------- */

static const char *const quota_codes[] = {
	"SnapshotQuotaExceeded", "SnapshotQuotaExceededFault", NULL,
};
static const char *const not_ready_codes[] = {
	"InvalidDBSnapshotState", "InvalidDBSnapshotStateFault",
	"InvalidDBClusterSnapshotStateFault", "InvalidDBClusterSnapshotState", NULL,
};
const char *const ob_jobs_not_found_codes[] = {
	"DBSnapshotNotFound", "DBSnapshotNotFoundFault",
	"DBClusterSnapshotNotFoundFault", "DBClusterSnapshotNotFound", NULL,
};
static const char *const exists_codes[] = {
	"DBSnapshotAlreadyExists", "DBSnapshotAlreadyExistsFault",
	"DBClusterSnapshotAlreadyExistsFault", "DBClusterSnapshotAlreadyExists", NULL,
};

/* What an error means for the job: wait without counting (throttling, the
 * copy quota, and a transient fault of AWS or the network: 5xx, a reset,
 * a timeout, a truncated answer, each already retried by the request core),
 * retry with a counted attempt (clock or credentials still wrong after the
 * core corrected them, a snapshot not ready yet, local trouble), give up,
 * or stop now (shutdown). A transient fault never fails a job: an outage
 * longer than max_attempts backoffs would otherwise turn every copy in
 * flight into a failed job an operator must retry by hand, though it heals
 * by itself; the job keeps the error, warns on each try and backs off to
 * the 15-minute cap, and the RPO watch tells of a long outage. */
enum ob_fsm_event_kind ob_jobs_classify(const struct ob_error *err, bool *ret_stop)
{
	*ret_stop = err->kind == OB_ERR_CANCELLED;
	if (ob_jobs_code_in(err, quota_codes))
		return OB_EV_DEFER;
	switch (ob_retry_classify(err)) {
	case OB_RETRY_THROTTLED:
	case OB_RETRY_TRANSIENT:
		return OB_EV_DEFER;
	case OB_RETRY_CLOCK_SKEW:
	case OB_RETRY_EXPIRED_CREDS:
		return OB_EV_RETRY;
	case OB_RETRY_NEVER:
		break;
	}
	switch (err->kind) {
	case OB_ERR_NOMEM:
	case OB_ERR_IO:
	case OB_ERR_CREDS:
	case OB_ERR_PARSE:
		return OB_EV_RETRY;
	default:
		break;
	}
	if (ob_jobs_code_in(err, not_ready_codes))
		return OB_EV_RETRY;
	return OB_EV_FAIL;
}

/* ---- committing steps --------------------------------------------------- */

/* Count a committed step: a transition, a failure (by the state it failed
 * in and the AWS error code), a retry or delay. */
static void count_step(struct ob_jobs *j, enum ob_job_state from, const struct ob_fsm_step *step,
		       enum ob_fsm_event_kind kind, const struct ob_error *cause)
{
	const char *code = cause != NULL ? cause->aws_code : "";

	if (j->metrics == NULL)
		return;
	if (step->transition) {
		const char *labels[] = { ob_job_state_name(from), ob_job_state_name(step->to) };

		ob_metrics_add(j->metrics, OB_M_TRANSITIONS, labels, 1);
	}
	if (step->to == OB_JOB_FAILED && from != OB_JOB_FAILED) {
		const char *labels[] = { ob_job_state_name(from), code };

		ob_metrics_add(j->metrics, OB_M_FAILURES, labels, 1);
	} else if (!step->transition && (kind == OB_EV_RETRY || kind == OB_EV_DEFER)) {
		const char *labels[] = { ob_job_state_name(from), code };

		ob_metrics_add(j->metrics, OB_M_RETRIES, labels, 1);
	}
}

/* The alert of a job that failed (from, after why): one per job until it
 * recovers; the role names what was being copied. The live hook and the
 * reconcile pass both build it here, so both send the same message. */
void ob_jobs_alert_failed(struct ob_jobs *j, const struct ob_job *job, enum ob_job_state from,
			  bool exhausted, const char *why)
{
	char key[64], summary[200], text[2048];
	const char *what = strcmp(job->role, "source") == 0 ? "export copy" : "vault import";
	json_t *d;

	if (!ob_alerts_enabled(j->alerts))
		return;
	snprintf(key, sizeof(key), "job-failed:%s", job->id);
	snprintf(summary, sizeof(summary), "%s of %.80s failed", what,
		 job->db_id[0] ? job->db_id : job->source_arn);
	snprintf(text, sizeof(text),
		 "The %s of database %.200s failed in state %s%s and will not be tried again "
		 "by itself.\n"
		 "Job: %s\nSnapshot: %.400s\nError: %.800s\n\n"
		 "What to do: look at the error (offsite-backupctl show %s), fix its cause, then "
		 "run: offsite-backupctl retry %s",
		 what, job->db_id, ob_job_state_name(from),
		 exhausted ? " after its attempts were exhausted" : "", job->id, job->source_arn,
		 why != NULL && why[0] ? why : "(none recorded)", job->id, job->id);
	d = json_object();
	ob_alert_set(d, "job_id", job->id);
	ob_alert_set(d, "db", job->db_id);
	ob_alert_set(d, "snapshot_arn", job->source_arn);
	ob_alert_set(d, "copy_id", job->copy_id);
	ob_alert_set(d, "snapshot_kind", ob_snap_kind_name(job->kind));
	ob_alert_set(d, "failed_in", ob_job_state_name(from));
	ob_alert_set(d, "error_code", job->error_code);
	ob_alert_set(d, "error_message", why);
	json_object_set_new(d, "attempts", json_integer(job->attempts));
	json_object_set_new(d, "attempts_exhausted", json_boolean(exhausted));
	ob_alerts_raise(j->alerts, &(struct ob_alert){ key, "job-failed", summary, text, d, false });
	json_decref(d);
}

/* A job that moved on to a good state: its failure, if it had one, is
 * over (after `offsite-backupctl retry`). Cheap when it had none. */
static void alert_recovered(struct ob_jobs *j, const struct ob_job *job)
{
	char key[64], text[512];

	snprintf(key, sizeof(key), "job-failed:%s", job->id);
	if (!ob_alerts_active(j->alerts, key))
		return;
	snprintf(text, sizeof(text), "job %s (database %.200s) is running again: it reached "
		 "state %s.", job->id, job->db_id, ob_job_state_name(job->state));
	ob_alerts_clear(j->alerts, key, text);
}

/* ---- reconciling the alert outbox with the jobs ------------------------ */

bool ob_jobs_alerts_due(struct ob_jobs *j)
{
	bool on = ob_alerts_enabled(j->alerts), due;
	int64_t now = ob_jobs_now(j);

	due = on && (!j->alerts_were_on || now >= j->alerts_next_ms);
	j->alerts_were_on = on;
	if (due)
		j->alerts_next_ms = now + OB_JOBS_RECONCILE_MS;
	return due;
}

struct keys {
	char **v;
	size_t n, cap;
};

static int collect_failed_key(void *ctx, const char *key)
{
	struct keys *k = ctx;
	char *copy;

	if (strncmp(key, "job-failed:", 11) != 0)
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		char **grown = realloc(k->v, cap * sizeof(*grown));

		if (grown == NULL)
			return 1;
		k->v = grown;
		k->cap = cap;
	}
	if ((copy = strdup(key)) == NULL)
		return 1;
	k->v[k->n++] = copy;
	return 0;
}

void ob_jobs_reconcile_alerts(struct ob_jobs *j)
{
	static const enum ob_job_state failed[] = { OB_JOB_FAILED };
	struct ob_store_query q = { failed, 1, false, 0, 0, false };
	struct ob_job_list list = { NULL, 0 };
	struct keys keys = { NULL, 0, 0 };
	struct ob_error err;
	struct ob_job job;
	char text[512];
	size_t i;
	int rc;

	if (!ob_alerts_enabled(j->alerts))
		return;
	/* Every failed job has its alert (raise is a no-op for one that has). */
	if (ob_store_jobs_list(j->store, &q, &list, &err) < 0) {
		ob_log(OB_LOG_WARNING, "alerts: cannot list the failed jobs: %s", err.message);
	} else {
		for (i = 0; i < list.n; i++) {
			const struct ob_job *f = &list.items[i];

			ob_jobs_alert_failed(j, f, f->failed_from,
					     f->attempts >= j->pol.max_attempts, f->error_message);
		}
		ob_job_list_clear(&list);
	}
	/* Every job-failed alert has a failed job: collect, then act (the
	 * walk must not write). */
	rc = ob_store_alert_each_active(j->store, collect_failed_key, &keys, &err);
	if (rc < 0)
		ob_log(OB_LOG_WARNING, "alerts: cannot read the active alerts: %s", err.message);
	else if (rc > 0)
		ob_log(OB_LOG_WARNING, "alerts: out of memory reading the active alerts");
	for (i = 0; rc == 0 && i < keys.n; i++) {
		const char *id = keys.v[i] + 11;

		memset(&job, 0, sizeof(job));
		if (ob_store_job_get(j->store, id, &job, &err) == 0) {
			if (job.state != OB_JOB_FAILED) {
				snprintf(text, sizeof(text), "job %s (database %.200s) is no longer "
					 "failed: it is in state %s.", job.id, job.db_id,
					 ob_job_state_name(job.state));
				ob_alerts_clear(j->alerts, keys.v[i], text);
			}
			ob_job_clear(&job);
		} else if (err.kind == OB_ERR_NOTFOUND) {
			snprintf(text, sizeof(text), "job %.40s no longer exists in the state "
				 "database.", id);
			ob_alerts_clear(j->alerts, keys.v[i], text);
		} else {
			ob_log(OB_LOG_WARNING, "alerts: cannot read job %s: %s", id, err.message);
		}
	}
	for (i = 0; i < keys.n; i++)
		free(keys.v[i]);
	free(keys.v);
}

/* Step job with kind, commit it with chg, log once. cause (may be NULL) is
 * the error behind a RETRY/DEFER/FAIL. -1 + err when the step is refused
 * (a bug: logged) or the store fails. */
int ob_jobs_apply(struct ob_jobs *j, struct ob_job *job, enum ob_fsm_event_kind kind,
		 const struct ob_store_change *chg, const struct ob_error *cause,
		 struct ob_error *err)
{
	struct ob_fsm_event ev = { kind, rng_next(j) };
	struct ob_fsm_job fj = { job->state, job->failed_from, job->attempts, job->defers };
	struct ob_store_change c = { 0 };
	struct ob_fsm_step step;
	enum ob_job_state from = job->state;
	char why[600], detail[700];
	int64_t now = ob_jobs_now(j);

	if (chg != NULL)
		c = *chg;
	if (ob_fsm_step(&j->pol, &fj, &ev, now, &step, err) < 0) {
		ob_log_job(OB_LOG_ERR, job->id, ob_job_state_name(from), job->source_arn,
			   "internal error: %s", err->message);
		return -1;
	}
	why[0] = '\0';
	if (cause != NULL) {
		ob_error_str(cause, why, sizeof(why));
		c.error_code = cause->aws_code;
		c.error_message = why;
	} else if (step.transition) {
		c.error_code = "";
		c.error_message = "";
	}
	if (c.detail == NULL) {
		snprintf(detail, sizeof(detail), "%s%s%s", ob_fsm_event_name(kind),
			 why[0] ? ": " : "", why);
		c.detail = detail;
	}
	if (ob_store_job_step(j->store, job, &step, &c, now, err) < 0) {
		ob_log_job(OB_LOG_ERR, job->id, ob_job_state_name(from), job->source_arn,
			   "cannot commit %s: %s", ob_fsm_event_name(kind), err->message);
		return -1;
	}
	count_step(j, from, &step, kind, cause);
	if (step.to == OB_JOB_FAILED) {
		ob_log_alert(OB_LOG_ERR, OB_MSGID_JOB_FAILED, job->id, "failed", job->source_arn,
			     "%s -> failed%s: %s", ob_job_state_name(from),
			     step.exhausted ? " (attempts exhausted)" : "", why);
		if (from != OB_JOB_FAILED)
			ob_jobs_alert_failed(j, job, from, step.exhausted, why);
	} else if (step.transition) {
		alert_recovered(j, job);
		ob_log_job(OB_LOG_INFO, job->id, ob_job_state_name(step.to), job->source_arn,
			   "%s -> %s", ob_job_state_name(from), ob_job_state_name(step.to));
	} else if (kind == OB_EV_RETRY || kind == OB_EV_DEFER) {
		ob_log_job(OB_LOG_WARNING, job->id, ob_job_state_name(from), job->source_arn,
			   "%s: %s again in %lld s (attempt %u of %u): %s",
			   kind == OB_EV_DEFER ? "delayed" : "will retry",
			   ob_job_state_name(from), (long long)((step.next_at_ms - now + 999) / 1000),
			   step.attempts, j->pol.max_attempts, why);
	}
	return 0;
}

/* Feed an AWS error back into job. 0 when committed; -1 + err on a store
 * failure, or with OB_ERR_CANCELLED when the daemon is stopping (nothing
 * committed: the action is repeated after the restart). */
int ob_jobs_apply_error(struct ob_jobs *j, struct ob_job *job, const struct ob_error *cause,
		       struct ob_error *err)
{
	bool stop;
	enum ob_fsm_event_kind kind = ob_jobs_classify(cause, &stop);

	if (stop) {
		*err = *cause;
		return -1;
	}
	return ob_jobs_apply(j, job, kind, NULL, cause, err);
}

/* ---- ownership ---------------------------------------------------------- */

/* Is snap a copy this job made? Its job tag names the job. */
bool ob_jobs_is_our_copy(const struct ob_job *job, const struct ob_rds_snapshot *snap)
{
	const char *tag = ob_rds_snapshot_tag(snap, OB_TAG_JOB);

	return tag != NULL && strcmp(tag, job->id) == 0;
}

/* Find copy_id of kind. 0 and *ret (caller clears), 1 when absent, -1 + err. */
int ob_jobs_describe_copy(struct ob_jobs *j, enum ob_snap_kind kind, const char *copy_id,
			 struct ob_rds_snapshot *ret, struct ob_error *err)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list list;
	const char *ids[1] = { copy_id };
	size_t i;

	q.kind = kind;
	q.ids = ids;
	q.n_ids = 1;
	if (ob_rds_describe_snapshots(j->client->aws, &q, &list, err) < 0)
		return -1;
	for (i = 0; i < list.n; i++) {
		if (strcasecmp(list.items[i].id, copy_id) == 0) {
			*ret = list.items[i];
			memset(&list.items[i], 0, sizeof(list.items[i]));
			ob_rds_snapshot_list_clear(&list);
			return 0;
		}
	}
	ob_rds_snapshot_list_clear(&list);
	return 1;
}


/* ---- copy and poll ---------------------------------------------------- */

int ob_jobs_copy(struct ob_jobs *j, struct ob_job *job, const char *kms_key, bool copy_tags,
		 const struct ob_rds_tag_ref *tags, size_t n_tags, struct ob_error *err)
{
	struct ob_rds_copy c = { 0 };
	struct ob_rds_snapshot snap;
	struct ob_store_change chg = { 0 };
	struct ob_error aerr;
	int rc, found;

	c.kind = job->kind;
	c.source_id = job->source_arn;
	c.target_id = job->copy_id;
	c.kms_key_id = kms_key;
	c.copy_tags = copy_tags;
	c.tags = tags;
	c.n_tags = n_tags;
	memset(&snap, 0, sizeof(snap));
	j->client->finish_on_stop = true;
	rc = ob_rds_copy_snapshot(j->client->aws, &c, &snap, &aerr);
	j->client->finish_on_stop = false;
	if (rc < 0 && ob_jobs_code_in(&aerr, exists_codes)) {
		/* A copy by our name exists: ours from an attempt whose answer
		 * was lost, or someone else's. */
		found = ob_jobs_describe_copy(j, job->kind, job->copy_id, &snap, &aerr);
		if (found < 0)
			return ob_jobs_apply_error(j, job, &aerr, err);
		if (found == 1 || !ob_jobs_is_our_copy(job, &snap)) {
			ob_rds_snapshot_clear(&snap);
			ob_error_set(&aerr, OB_ERR_INVALID,
				     "a snapshot named %s exists and is not this job's copy "
				     "(no %s=%s tag)", job->copy_id, OB_TAG_JOB, job->id);
			return ob_jobs_apply(j, job, OB_EV_FAIL, NULL, &aerr, err);
		}
		chg.detail = "copy-started: our copy already exists";
	} else if (rc < 0) {
		return ob_jobs_apply_error(j, job, &aerr, err);
	}
	chg.copy_arn = snap.arn;
	rc = ob_jobs_apply(j, job, OB_EV_COPY_STARTED, &chg, NULL, err);
	/* An emulator (and a copy found existing) may already be done. */
	if (rc == 0 && strcmp(snap.status, "available") == 0)
		rc = ob_jobs_apply(j, job, OB_EV_COPY_AVAILABLE, NULL, NULL, err);
	ob_rds_snapshot_clear(&snap);
	return rc;
}

static bool status_failed(const char *status)
{
	static const char *const bad[] = {
		"failed", "error", "incompatible-restore", "incompatible-parameters",
		"deleting", "deleted", NULL,
	};
	const char *const *b;

	for (b = bad; *b != NULL; b++)
		if (strcmp(status, *b) == 0)
			return true;
	return false;
}

/* Feed one Describe answer into the jobs it covers. */
static int poll_apply(struct ob_jobs *j, struct ob_job **jobs, size_t n,
		      const struct ob_rds_snapshot_list *list, struct ob_error *err)
{
	struct ob_error why;
	size_t i, k;
	int rc;

	for (i = 0; i < n; i++) {
		const struct ob_rds_snapshot *snap = NULL;

		for (k = 0; k < list->n; k++)
			if (strcasecmp(list->items[k].id, jobs[i]->copy_id) == 0)
				snap = &list->items[k];
		if (snap == NULL) {
			ob_error_set(&why, OB_ERR_AWS, "export copy %s disappeared while copying",
				     jobs[i]->copy_id);
			rc = ob_jobs_apply(j, jobs[i], OB_EV_FAIL, NULL, &why, err);
		} else if (strcmp(snap->status, "available") == 0) {
			rc = ob_jobs_apply(j, jobs[i], OB_EV_COPY_AVAILABLE, NULL, NULL, err);
		} else if (status_failed(snap->status)) {
			ob_error_set(&why, OB_ERR_AWS, "export copy %s is %s", jobs[i]->copy_id,
				     snap->status);
			rc = ob_jobs_apply(j, jobs[i], OB_EV_FAIL, NULL, &why, err);
		} else {
			rc = ob_jobs_apply(j, jobs[i], OB_EV_COPY_PROGRESS, NULL, NULL, err);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Calls grow with ticks, not with copies: when one copy's tick is due,
 * every copy in flight is looked at and they all share the next tick. */
int ob_jobs_poll(struct ob_jobs *j, enum ob_job_state state, struct ob_error *err)
{
	struct ob_store_query q = { 0 };
	struct ob_job_list due, all;
	struct ob_job **jobs = NULL;
	size_t i, n, start;
	int rc = -1, kind;

	q.states = &state;
	q.n_states = 1;
	q.due_only = true;
	q.due_before_ms = ob_jobs_now(j);
	q.limit = 1;
	if (ob_store_jobs_list(j->store, &q, &due, err) < 0)
		return -1;
	n = due.n;
	ob_job_list_clear(&due);
	if (n == 0)
		return 0;
	q.due_only = false;
	q.limit = 0;
	if (ob_store_jobs_list(j->store, &q, &all, err) < 0)
		return -1;
	jobs = calloc(all.n ? all.n : 1, sizeof(*jobs));
	if (jobs == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (kind = OB_SNAP_INSTANCE; kind <= OB_SNAP_CLUSTER; kind++) {
		/* Gather this kind's jobs, then describe them 100 at a time. */
		n = 0;
		for (i = 0; i < all.n; i++)
			if ((int)all.items[i].kind == kind)
				jobs[n++] = &all.items[i];
		for (start = 0; start < n; start += DESCRIBE_IDS_MAX) {
			const char *ids[DESCRIBE_IDS_MAX];
			struct ob_rds_describe dq = { 0 };
			struct ob_rds_snapshot_list list;
			struct ob_error aerr;
			size_t m = n - start < DESCRIBE_IDS_MAX ? n - start : DESCRIBE_IDS_MAX;

			for (i = 0; i < m; i++)
				ids[i] = jobs[start + i]->copy_id;
			dq.kind = (enum ob_snap_kind)kind;
			dq.ids = ids;
			dq.n_ids = m;
			if (ob_rds_describe_snapshots(j->client->aws, &dq, &list, &aerr) < 0) {
				for (i = 0; i < m; i++)
					if (ob_jobs_apply_error(j, jobs[start + i], &aerr, err) < 0)
						goto out;
				continue;
			}
			if (poll_apply(j, jobs + start, m, &list, err) < 0) {
				ob_rds_snapshot_list_clear(&list);
				goto out;
			}
			ob_rds_snapshot_list_clear(&list);
		}
	}
	rc = 0;
out:
	free(jobs); /* pointers into all */
	ob_job_list_clear(&all);
	return rc;
}

/* ---- tags kept with a job ---------------------------------------------- */

char *ob_jobs_tags_json(const struct ob_rds_tag_ref *tags, size_t n, struct ob_error *err)
{
	json_t *arr = json_array();
	char *text = NULL;
	size_t i;

	for (i = 0; arr != NULL && i < n; i++) {
		if (json_array_append_new(arr, json_pack("{s:s, s:s}", "Key", tags[i].key,
							 "Value", tags[i].value)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr != NULL)
		text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (text == NULL)
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	return text;
}

json_t *ob_jobs_tags_load(const struct ob_job *job, struct ob_rds_tag_ref *tags, size_t *n)
{
	json_t *arr = job->source_tags[0] ? json_loads(job->source_tags, 0, NULL) : NULL;
	json_t *t;
	size_t i;

	json_array_foreach(arr, i, t) {
		const char *k = json_string_value(json_object_get(t, "Key"));
		const char *v = json_string_value(json_object_get(t, "Value"));

		if (k == NULL || v == NULL || *n >= OB_JOBS_TAGS_MAX)
			continue;
		tags[(*n)++] = (struct ob_rds_tag_ref){ k, v };
	}
	return arr;
}

/* ---- running due jobs -------------------------------------------------- */

int ob_jobs_run_state(struct ob_jobs *j, enum ob_job_state state, size_t limit,
		      ob_jobs_action action, void *ctx, struct ob_error *err)
{
	struct ob_store_query q = { 0 };
	struct ob_job_list list;
	size_t i;
	int rc = 0;

	if (limit == 0)
		return 0;
	q.states = &state;
	q.n_states = 1;
	q.due_only = true;
	q.due_before_ms = ob_jobs_now(j);
	q.limit = limit;
	q.by_next_at = true;
	if (ob_store_jobs_list(j->store, &q, &list, err) < 0)
		return -1;
	for (i = 0; i < list.n && rc == 0; i++) {
		if (ob_jobs_stopping(j)) {
			ob_error_set(err, OB_ERR_CANCELLED, "stopping");
			rc = -1;
			break;
		}
		rc = action(ctx, &list.items[i], err);
	}
	ob_job_list_clear(&list);
	return rc;
}

int ob_jobs_free_slots(struct ob_jobs *j, enum ob_job_state state, size_t *ret,
		       struct ob_error *err)
{
	long counts[OB_JOB_STATE_COUNT];

	if (ob_store_count_states(j->store, counts, err) < 0)
		return -1;
	*ret = counts[state] >= j->cfg->max_concurrent_copies ? 0 :
		(size_t)(j->cfg->max_concurrent_copies - counts[state]);
	return 0;
}

/* ---- intake helpers ---------------------------------------------------- */

void ob_jobs_log_malformed(struct ob_jobs *j, const struct ob_sqs_message *m, const char *why)
{
	char peek[65];
	unsigned i;
	size_t k;

	for (i = 0; i < OB_JOBS_SEEN_RING; i++)
		if (strcmp(j->seen[i], m->message_id) == 0)
			return;  /* logged when it was first received */
	snprintf(j->seen[j->seen_next], sizeof(j->seen[0]), "%s", m->message_id);
	j->seen_next = (j->seen_next + 1) % OB_JOBS_SEEN_RING;
	for (k = 0; k < m->body_len && k < sizeof(peek) - 1; k++)
		peek[k] = isprint((unsigned char)m->body[k]) ? m->body[k] : '?';
	peek[k] = '\0';
	ob_log(OB_LOG_WARNING, "message %.100s is malformed (%s); left for the dead-letter "
	       "queue; it starts: %s", m->message_id, why, peek);
}

int ob_jobs_delete_messages(struct ob_jobs *j, const struct ob_sqs_message *msgs,
			    const bool *done, size_t n, struct ob_error *err)
{
	const char *handles[OB_JOBS_MAX_BATCH];
	bool ok[OB_JOBS_MAX_BATCH];
	struct ob_error aerr;
	size_t i, m = 0;

	for (i = 0; i < n && m < OB_JOBS_MAX_BATCH; i++)
		if (done[i])
			handles[m++] = msgs[i].receipt_handle;
	if (m == 0)
		return 0;
	if (ob_sqs_delete_batch(j->client->aws, j->cfg->queue_url, handles, m, ok, &aerr) < 0) {
		if (aerr.kind == OB_ERR_CANCELLED) {
			*err = aerr;
			return -1;
		}
		ob_log(OB_LOG_WARNING, "cannot delete %zu handled message(s); they will come "
		       "back as duplicates: %s", m, aerr.message);
		return 0;
	}
	for (i = 0; i < m; i++)
		if (!ok[i])
			ob_log(OB_LOG_WARNING, "a handled message was not deleted; it will come "
			       "back as a duplicate");
	return 0;
}

