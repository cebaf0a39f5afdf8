/*
 * source.c - the source role: snapshot events become export jobs, and each
 * job is driven copy -> poll -> share -> notify -> expire.
 *
 * The shell around the pure state machine. Every action follows the same
 * pattern: do one AWS call, turn its outcome into an fsm event
 * (classify()), let ob_fsm_step() decide, commit the step with a
 * compare-and-set, log once. A crash between the call and the commit
 * repeats the call on restart, so every call is idempotent: the copy has a
 * deterministic name (an AlreadyExists answer for a copy carrying our job
 * tag is progress), sharing adds an account to a set, deleting an absent
 * copy is done. Only an announcement can be repeated, and the vault maps
 * duplicates to one job.
 */
#include "ob/source.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include "ob/announce.h"
#include "ob/event.h"
#include "ob/ident.h"
#include "ob/log.h"
#include "ob/rds.h"
#include "ob/retry.h"
#include "ob/sns.h"

#define BACKOFF_CAP_MS   (15LL * 60 * 1000)
#define BATCH_JOBS       100  /* jobs of one state handled per run */
#define DESCRIBE_IDS_MAX 100  /* db-snapshot-id filter values per call */
#define TAG_VALUE_MAX    256  /* AWS tag value limit */
#define TAGS_MAX         50   /* AWS tags per resource */
#define SEEN_RING        64   /* malformed message ids already logged */
#define MAX_BATCH        10   /* SQS ReceiveMessage / DeleteMessageBatch limit */

struct ob_source {
	const struct ob_config *cfg;
	struct ob_client *client;
	struct ob_store *store;
	const struct ob_clock *clock;
	char account[13];
	const volatile sig_atomic_t *stop;
	struct ob_fsm_policy pol;
	uint64_t rng;
	int64_t next_sweep_ms;
	struct ob_source_stats stats;
	char seen[SEEN_RING][128];  /* ring of malformed message ids logged */
	unsigned seen_next;
};

/* ---- small helpers ------------------------------------------------------ */

static uint32_t rng_next(struct ob_source *s)
{
	/* xorshift64*: jitter only, not security. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (uint32_t)((s->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static int64_t now_ms(const struct ob_source *s)
{
	return s->clock->now_ms(s->clock->ctx);
}

static bool stopping(const struct ob_source *s)
{
	return s->stop != NULL && *s->stop;
}

static void set_policy(struct ob_source *s)
{
	const struct ob_config *cfg = s->cfg;
	int64_t base = cfg->poll_interval_ms;

	/* Retries start at one poll interval, between 1 s and 1 min. */
	if (base < 1000)
		base = 1000;
	if (base > 60000)
		base = 60000;
	s->pol.max_attempts = (unsigned)cfg->max_attempts;
	s->pol.poll_interval_ms = cfg->poll_interval_ms;
	s->pol.retention_ms = cfg->export_copy_retention_ms;
	s->pol.backoff_base_ms = base;
	s->pol.backoff_cap_ms = BACKOFF_CAP_MS > base ? BACKOFF_CAP_MS : base;
}

static bool code_in(const struct ob_error *err, const char *const *codes)
{
	for (; *codes != NULL; codes++)
		if (strcmp(err->aws_code, *codes) == 0)
			return true;
	return false;
}

static const char *const quota_codes[] = {
	"SnapshotQuotaExceeded", "SnapshotQuotaExceededFault", NULL,
};
static const char *const not_ready_codes[] = {
	"InvalidDBSnapshotState", "InvalidDBSnapshotStateFault",
	"InvalidDBClusterSnapshotStateFault", "InvalidDBClusterSnapshotState", NULL,
};
static const char *const not_found_codes[] = {
	"DBSnapshotNotFound", "DBSnapshotNotFoundFault",
	"DBClusterSnapshotNotFoundFault", "DBClusterSnapshotNotFound", NULL,
};
static const char *const exists_codes[] = {
	"DBSnapshotAlreadyExists", "DBSnapshotAlreadyExistsFault",
	"DBClusterSnapshotAlreadyExistsFault", "DBClusterSnapshotAlreadyExists", NULL,
};

/* What an error means for the job: wait without counting (throttling, the
 * copy quota), retry with a counted attempt (transient, a snapshot not
 * ready yet, local trouble), give up, or stop now (shutdown). */
static enum ob_fsm_event_kind classify(const struct ob_error *err, bool *ret_stop)
{
	*ret_stop = err->kind == OB_ERR_CANCELLED;
	if (code_in(err, quota_codes))
		return OB_EV_DEFER;
	switch (ob_retry_classify(err)) {
	case OB_RETRY_THROTTLED:
		return OB_EV_DEFER;
	case OB_RETRY_TRANSIENT:
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
	case OB_ERR_TRANSPORT:
		return OB_EV_RETRY;
	default:
		break;
	}
	if (code_in(err, not_ready_codes))
		return OB_EV_RETRY;
	return OB_EV_FAIL;
}

/* ---- committing steps --------------------------------------------------- */

/* Step job with kind, commit it with chg, log once. cause (may be NULL) is
 * the error behind a RETRY/DEFER/FAIL. -1 + err when the step is refused
 * (a bug: logged) or the store fails. */
static int apply(struct ob_source *s, struct ob_job *job, enum ob_fsm_event_kind kind,
		 const struct ob_store_change *chg, const struct ob_error *cause,
		 struct ob_error *err)
{
	struct ob_fsm_event ev = { kind, rng_next(s) };
	struct ob_fsm_job fj = { job->state, job->failed_from, job->attempts, job->defers };
	struct ob_store_change c = { 0 };
	struct ob_fsm_step step;
	enum ob_job_state from = job->state;
	char why[600], detail[700];
	int64_t now = now_ms(s);

	if (chg != NULL)
		c = *chg;
	if (ob_fsm_step(&s->pol, &fj, &ev, now, &step, err) < 0) {
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
	if (ob_store_job_step(s->store, job, &step, &c, now, err) < 0) {
		ob_log_job(OB_LOG_ERR, job->id, ob_job_state_name(from), job->source_arn,
			   "cannot commit %s: %s", ob_fsm_event_name(kind), err->message);
		return -1;
	}
	if (step.to == OB_JOB_FAILED) {
		ob_log_job(OB_LOG_ERR, job->id, "failed", job->source_arn,
			   "%s -> failed%s: %s", ob_job_state_name(from),
			   step.exhausted ? " (attempts exhausted)" : "", why);
	} else if (step.transition) {
		ob_log_job(OB_LOG_INFO, job->id, ob_job_state_name(step.to), job->source_arn,
			   "%s -> %s", ob_job_state_name(from), ob_job_state_name(step.to));
	} else if (kind == OB_EV_RETRY || kind == OB_EV_DEFER) {
		ob_log_job(OB_LOG_WARNING, job->id, ob_job_state_name(from), job->source_arn,
			   "%s: %s again in %lld s (attempt %u of %u): %s",
			   kind == OB_EV_DEFER ? "delayed" : "will retry",
			   ob_job_state_name(from), (long long)((step.next_at_ms - now + 999) / 1000),
			   step.attempts, s->pol.max_attempts, why);
	}
	return 0;
}

/* Feed an AWS error back into job. 0 when committed; -1 + err on a store
 * failure, or with OB_ERR_CANCELLED when the daemon is stopping (nothing
 * committed: the action is repeated after the restart). */
static int apply_error(struct ob_source *s, struct ob_job *job, const struct ob_error *cause,
		       struct ob_error *err)
{
	bool stop;
	enum ob_fsm_event_kind kind = classify(cause, &stop);

	if (stop) {
		*err = *cause;
		return -1;
	}
	return apply(s, job, kind, NULL, cause, err);
}

/* ---- ownership ---------------------------------------------------------- */

/* Is snap a copy this job made? Its job tag names the job. */
static bool is_our_copy(const struct ob_job *job, const struct ob_rds_snapshot *snap)
{
	const char *tag = ob_rds_snapshot_tag(snap, OB_TAG_JOB);

	return tag != NULL && strcmp(tag, job->id) == 0;
}

/* Find copy_id of kind. 0 and *ret (caller clears), 1 when absent, -1 + err. */
static int describe_copy(struct ob_source *s, enum ob_snap_kind kind, const char *copy_id,
			 struct ob_rds_snapshot *ret, struct ob_error *err)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list list;
	const char *ids[1] = { copy_id };
	size_t i;

	q.kind = kind;
	q.ids = ids;
	q.n_ids = 1;
	if (ob_rds_describe_snapshots(s->client->aws, &q, &list, err) < 0)
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

/* ---- the source snapshot's tags ------------------------------------------ */

/* The tags to carry over, as JSON for the job row. Keys AWS reserves
 * ("aws:") and our own provenance keys are left out. NULL + err. */
static char *tags_to_json(const struct ob_rds_snapshot *snap, struct ob_error *err)
{
	json_t *arr = json_array();
	char *text = NULL;
	size_t i;

	if (arr == NULL)
		goto nomem;
	for (i = 0; i < snap->n_tags; i++) {
		const struct ob_rds_tag *t = &snap->tags[i];

		if (strncmp(t->key, "aws:", 4) == 0 || strncmp(t->key, "offsite-backup:", 15) == 0)
			continue;
		if (json_array_append_new(arr, json_pack("{s:s, s:s}", "Key", t->key,
							 "Value", t->value)) < 0)
			goto nomem;
	}
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (text == NULL)
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	return text;
nomem:
	json_decref(arr);
	ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	return NULL;
}

/* Append the job's stored source tags to tags[*n] (capacity TAGS_MAX).
 * The returned JSON owns the strings; free it after the call. A damaged
 * value only loses the carried-over tags, never the provenance ones. */
static json_t *tags_from_json(const struct ob_job *job, struct ob_rds_tag_ref *tags, size_t *n)
{
	json_t *arr = job->source_tags[0] ? json_loads(job->source_tags, 0, NULL) : NULL;
	json_t *t;
	size_t i;

	json_array_foreach(arr, i, t) {
		const char *k = json_string_value(json_object_get(t, "Key"));
		const char *v = json_string_value(json_object_get(t, "Value"));

		if (k == NULL || v == NULL || *n >= TAGS_MAX)
			continue;
		tags[(*n)++] = (struct ob_rds_tag_ref){ k, v };
	}
	return arr;
}

/* ---- copy --------------------------------------------------------------- */

/* pending: start the export copy. */
static int do_copy(struct ob_source *s, struct ob_job *job, struct ob_error *err)
{
	struct ob_rds_tag_ref tags[TAGS_MAX];
	struct ob_rds_copy c = { 0 };
	struct ob_rds_snapshot snap;
	struct ob_store_change chg = { 0 };
	struct ob_error aerr;
	size_t n_tags = 0;
	json_t *source_tags;
	int rc, found;

	tags[n_tags++] = (struct ob_rds_tag_ref){ OB_TAG_JOB, job->id };
	/* The job tag alone proves ownership; the ARN is for people, and a
	 * tag value cannot hold more than 256 characters. */
	if (strlen(job->source_arn) <= TAG_VALUE_MAX)
		tags[n_tags++] = (struct ob_rds_tag_ref){ OB_TAG_SOURCE_ARN, job->source_arn };
	/* CopyTags copies the source's tags only when no Tags are given; with
	 * ours given, the source's are passed along explicitly. */
	source_tags = tags_from_json(job, tags, &n_tags);
	c.kind = job->kind;
	c.source_id = job->source_arn;
	c.target_id = job->copy_id;
	c.kms_key_id = s->cfg->export_kms_key;
	c.copy_tags = true;
	c.tags = tags;
	c.n_tags = n_tags;
	memset(&snap, 0, sizeof(snap));
	s->client->finish_on_stop = true;
	rc = ob_rds_copy_snapshot(s->client->aws, &c, &snap, &aerr);
	s->client->finish_on_stop = false;
	json_decref(source_tags);
	if (rc < 0 && code_in(&aerr, exists_codes)) {
		/* A copy by our name exists: ours from an attempt whose answer
		 * was lost, or someone else's. */
		found = describe_copy(s, job->kind, job->copy_id, &snap, &aerr);
		if (found < 0)
			return apply_error(s, job, &aerr, err);
		if (found == 1 || !is_our_copy(job, &snap)) {
			ob_rds_snapshot_clear(&snap);
			ob_error_set(&aerr, OB_ERR_INVALID,
				     "a snapshot named %s exists and is not this job's copy "
				     "(no %s=%s tag)", job->copy_id, OB_TAG_JOB, job->id);
			return apply(s, job, OB_EV_FAIL, NULL, &aerr, err);
		}
		chg.detail = "copy-started: our copy already exists";
	} else if (rc < 0) {
		return apply_error(s, job, &aerr, err);
	}
	chg.copy_arn = snap.arn;
	rc = apply(s, job, OB_EV_COPY_STARTED, &chg, NULL, err);
	/* An emulator (and a copy found existing) may already be done. */
	if (rc == 0 && strcmp(snap.status, "available") == 0)
		rc = apply(s, job, OB_EV_COPY_AVAILABLE, NULL, NULL, err);
	ob_rds_snapshot_clear(&snap);
	return rc;
}

/* ---- poll --------------------------------------------------------------- */

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
static int poll_apply(struct ob_source *s, struct ob_job **jobs, size_t n,
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
			rc = apply(s, jobs[i], OB_EV_FAIL, NULL, &why, err);
		} else if (strcmp(snap->status, "available") == 0) {
			rc = apply(s, jobs[i], OB_EV_COPY_AVAILABLE, NULL, NULL, err);
		} else if (status_failed(snap->status)) {
			ob_error_set(&why, OB_ERR_AWS, "export copy %s is %s", jobs[i]->copy_id,
				     snap->status);
			rc = apply(s, jobs[i], OB_EV_FAIL, NULL, &why, err);
		} else {
			rc = apply(s, jobs[i], OB_EV_COPY_PROGRESS, NULL, NULL, err);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* copying: when any copy's tick is due, one Describe call per kind (per
 * 100 copies) looks at every copy in flight, so calls grow with ticks, not
 * with copies. */
static int poll_copies(struct ob_source *s, struct ob_error *err)
{
	static const enum ob_job_state copying[] = { OB_JOB_COPYING };
	struct ob_store_query q = { 0 };
	struct ob_job_list due, all;
	struct ob_job **jobs = NULL;
	size_t i, n, start;
	int rc = -1, kind;

	q.states = copying;
	q.n_states = 1;
	q.due_only = true;
	q.due_before_ms = now_ms(s);
	q.limit = 1;
	if (ob_store_jobs_list(s->store, &q, &due, err) < 0)
		return -1;
	n = due.n;
	ob_job_list_clear(&due);
	if (n == 0)
		return 0;
	q.due_only = false;
	q.limit = 0;
	if (ob_store_jobs_list(s->store, &q, &all, err) < 0)
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
			if (ob_rds_describe_snapshots(s->client->aws, &dq, &list, &aerr) < 0) {
				for (i = 0; i < m; i++)
					if (apply_error(s, jobs[start + i], &aerr, err) < 0)
						goto out;
				continue;
			}
			if (poll_apply(s, jobs + start, m, &list, err) < 0) {
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

/* ---- share, notify, expire ---------------------------------------------- */

/* copied: add the vault account to the copy's restore attribute. The
 * answer lists the attribute after the change, which confirms it. */
static int do_share(struct ob_source *s, struct ob_job *job, struct ob_error *err)
{
	struct ob_rds_strings restore = { 0 };
	struct ob_error aerr;
	int rc;

	s->client->finish_on_stop = true;
	rc = ob_rds_modify_restore(s->client->aws, job->kind, job->copy_id,
				   s->cfg->target_account, NULL, &restore, &aerr);
	s->client->finish_on_stop = false;
	if (rc < 0)
		return apply_error(s, job, &aerr, err);
	if (!ob_rds_strings_has(&restore, s->cfg->target_account)) {
		ob_rds_strings_clear(&restore);
		ob_error_set(&aerr, OB_ERR_AWS, "restore attribute of %s does not list %s "
			     "after ModifyDBSnapshotAttribute", job->copy_id, s->cfg->target_account);
		return apply(s, job, OB_EV_RETRY, NULL, &aerr, err);
	}
	ob_rds_strings_clear(&restore);
	return apply(s, job, OB_EV_SHARED, NULL, NULL, err);
}

/* shared: publish the announcement to the vault's topic. */
static int do_notify(struct ob_source *s, struct ob_job *job, struct ob_error *err)
{
	struct ob_announcement a;
	struct ob_error aerr;
	char msg_id[128];
	char *doc;
	int rc;

	memset(&a, 0, sizeof(a));
	a.kind = job->kind;
	a.snapshot_arn = job->copy_arn;
	a.source_snapshot_arn = job->source_arn;
	a.source_account = s->account;
	a.region = s->cfg->region;
	a.db_identifier = job->db_id;
	a.engine = job->engine;
	a.engine_version = job->engine_version;
	a.allocated_storage_gib = job->allocated_gib;
	a.snapshot_time = job->snapshot_time;
	a.export_kms_key = s->cfg->export_kms_key;
	doc = ob_announce_build(&a, &aerr);
	if (doc == NULL)
		return apply(s, job, OB_EV_FAIL, NULL, &aerr, err);
	s->client->finish_on_stop = true;
	rc = ob_sns_publish(s->client->aws, s->cfg->notify_topic_arn, doc, NULL, msg_id,
			    sizeof(msg_id), &aerr);
	s->client->finish_on_stop = false;
	free(doc);
	if (rc < 0)
		return apply_error(s, job, &aerr, err);
	return apply(s, job, OB_EV_NOTIFIED, NULL, NULL, err);
}

/* notified, retention over: delete the export copy, but only ours. */
static int do_expire(struct ob_source *s, struct ob_job *job, struct ob_error *err)
{
	struct ob_store_change chg = { 0 };
	struct ob_rds_snapshot snap;
	struct ob_error aerr;
	int found, rc;

	memset(&snap, 0, sizeof(snap));
	found = describe_copy(s, job->kind, job->copy_id, &snap, &aerr);
	if (found < 0)
		return apply_error(s, job, &aerr, err);
	if (found == 1) {
		chg.detail = "expired: export copy was already gone";
		return apply(s, job, OB_EV_EXPIRED, &chg, NULL, err);
	}
	if (!is_our_copy(job, &snap)) {
		ob_rds_snapshot_clear(&snap);
		ob_error_set(&aerr, OB_ERR_INVALID, "not deleting %s: it lacks the %s=%s tag",
			     job->copy_id, OB_TAG_JOB, job->id);
		return apply(s, job, OB_EV_FAIL, NULL, &aerr, err);
	}
	ob_rds_snapshot_clear(&snap);
	s->client->finish_on_stop = true;
	rc = ob_rds_delete_snapshot(s->client->aws, job->kind, job->copy_id, &aerr);
	s->client->finish_on_stop = false;
	if (rc < 0 && !code_in(&aerr, not_found_codes))
		return apply_error(s, job, &aerr, err);
	return apply(s, job, OB_EV_EXPIRED, NULL, NULL, err);
}

/* ---- running due jobs --------------------------------------------------- */

typedef int (*job_action)(struct ob_source *s, struct ob_job *job, struct ob_error *err);

/* Run action on up to limit due jobs in state, oldest due first. Stops
 * early on a stop request or a store failure. */
static int run_state(struct ob_source *s, enum ob_job_state state, size_t limit,
		     job_action action, struct ob_error *err)
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
	q.due_before_ms = now_ms(s);
	q.limit = limit;
	q.by_next_at = true;
	if (ob_store_jobs_list(s->store, &q, &list, err) < 0)
		return -1;
	for (i = 0; i < list.n && rc == 0; i++) {
		if (stopping(s)) {
			ob_error_set(err, OB_ERR_CANCELLED, "stopping");
			rc = -1;
			break;
		}
		rc = action(s, &list.items[i], err);
	}
	ob_job_list_clear(&list);
	return rc;
}

/* Free copy slots: max_concurrent_copies minus the copies in flight. */
static int free_slots(struct ob_source *s, size_t *ret, struct ob_error *err)
{
	long counts[OB_JOB_STATE_COUNT];

	if (ob_store_count_states(s->store, counts, err) < 0)
		return -1;
	*ret = counts[OB_JOB_COPYING] >= s->cfg->max_concurrent_copies ? 0 :
		(size_t)(s->cfg->max_concurrent_copies - counts[OB_JOB_COPYING]);
	return 0;
}

/* ---- intake ------------------------------------------------------------- */

/* Does snap get a job? Logs and counts the refusals. */
static bool wanted(struct ob_source *s, const struct ob_rds_snapshot *snap, const char *origin)
{
	const char *reason = NULL;

	if (ob_ident_has_provenance(snap->tags, snap->n_tags)) {
		s->stats.own_copies++;
		ob_log(OB_LOG_DEBUG, "%s: %s is one of our copies; no job", origin, snap->arn);
		return false;
	}
	if (!ob_ident_filter_match(s->cfg->include_db, s->cfg->exclude_db, s->cfg->require_tag,
				   snap->db_id, snap->tags, snap->n_tags, &reason)) {
		s->stats.filtered++;
		ob_log(OB_LOG_INFO, "%s: skipping %s of %s: %s", origin, snap->arn, snap->db_id,
		       reason ? reason : "filtered out");
		return false;
	}
	return true;
}

/* Create the job for snap (not ours, wanted). *ret_created says whether it
 * is new. 0, or -1 + err from the store. */
static int create_job(struct ob_source *s, const struct ob_rds_snapshot *snap,
		      const char *origin, bool *ret_created, struct ob_error *err)
{
	struct ob_snapshot_ref ref;
	char id[OB_JOB_ID_SIZE], copy_id[OB_RDS_ID_MAX + 1], detail[64];
	struct ob_job job;
	char *tags;
	int rc;

	*ret_created = false;
	if (ob_ident_parse_snapshot_arn(snap->arn, &ref, err) < 0) {
		/* An answer from RDS we cannot name: log, skip. */
		ob_log(OB_LOG_WARNING, "%s: snapshot %.100s has an unusable ARN: %s", origin,
		       snap->id, err->message);
		return 0;
	}
	ob_ident_job_id(snap->arn, id);
	if (ob_ident_copy_id(snap->arn, ref.name, copy_id, sizeof(copy_id), err) < 0)
		return -1;
	tags = tags_to_json(snap, err);
	if (tags == NULL)
		return -1;
	memset(&job, 0, sizeof(job));
	job.id = id;
	job.role = "source";
	job.kind = snap->kind;
	job.source_arn = snap->arn;
	job.db_id = snap->db_id;
	job.copy_id = copy_id;
	job.copy_arn = "";
	job.state = OB_JOB_PENDING;
	job.failed_from = OB_JOB_PENDING;
	job.next_at_ms = now_ms(s);
	job.engine = snap->engine;
	job.engine_version = snap->engine_version;
	job.allocated_gib = snap->allocated_storage;
	job.snapshot_time = snap->create_time;
	job.origin = (char *)origin;
	job.error_code = "";
	job.error_message = "";
	job.source_tags = tags;
	snprintf(detail, sizeof(detail), "created from %s", origin);
	rc = ob_store_job_insert(s->store, &job, detail, now_ms(s), ret_created, err);
	free(tags);
	if (rc < 0)
		return -1;
	if (*ret_created) {
		s->stats.jobs_created++;
		ob_log_job(OB_LOG_INFO, id, "pending", snap->arn, "new job for %s snapshot %s of %s (%s)",
			   ob_snap_kind_name(snap->kind), snap->id, snap->db_id, origin);
	} else {
		s->stats.duplicates++;
	}
	return 0;
}

/* One message being handled. */
struct item {
	const struct ob_sqs_message *msg;
	struct ob_event ev;
	struct ob_snapshot_ref ref;
	bool candidate;   /* needs a Describe */
	bool done;        /* delete it */
};

static void log_malformed(struct ob_source *s, const struct ob_sqs_message *m, const char *why)
{
	char peek[65];
	unsigned i;
	size_t k;

	s->stats.malformed++;
	for (i = 0; i < SEEN_RING; i++)
		if (strcmp(s->seen[i], m->message_id) == 0)
			return;  /* logged when it was first received */
	snprintf(s->seen[s->seen_next], sizeof(s->seen[0]), "%s", m->message_id);
	s->seen_next = (s->seen_next + 1) % SEEN_RING;
	for (k = 0; k < m->body_len && k < sizeof(peek) - 1; k++)
		peek[k] = isprint((unsigned char)m->body[k]) ? m->body[k] : '?';
	peek[k] = '\0';
	ob_log(OB_LOG_WARNING, "message %.100s is malformed (%s); left for the dead-letter "
	       "queue; it starts: %s", m->message_id, why, peek);
}

/* Classify every message without calling AWS. */
static int triage(struct ob_source *s, struct item *it, struct ob_error *err)
{
	struct ob_job job;
	struct ob_error e;

	if (!it->msg->md5_ok) {
		log_malformed(s, it->msg, "body does not match its MD5");
		return 0;
	}
	switch (ob_event_parse(it->msg->body, it->msg->body_len, &it->ev)) {
	case OB_EVENT_MALFORMED:
		log_malformed(s, it->msg, it->ev.reason);
		return 0;
	case OB_EVENT_IGNORED:
		s->stats.ignored++;
		ob_log(OB_LOG_DEBUG, "message %.100s ignored: %s", it->msg->message_id,
		       it->ev.reason);
		it->done = true;
		return 0;
	case OB_EVENT_SNAPSHOT:
		break;
	}
	if (ob_ident_parse_snapshot_arn(it->ev.snapshot_arn, &it->ref, &e) < 0) {
		log_malformed(s, it->msg, e.message);
		return 0;
	}
	if (strcmp(it->ref.account, s->account) != 0 ||
	    strcmp(it->ref.region, s->cfg->region) != 0) {
		s->stats.ignored++;
		ob_log(OB_LOG_WARNING, "message %.100s: %s is not in this account and region "
		       "(%s, %s); ignored", it->msg->message_id, it->ev.snapshot_arn, s->account,
		       s->cfg->region);
		it->done = true;
		return 0;
	}
	if (ob_ident_is_own_copy_name(it->ref.name)) {
		s->stats.own_copies++;
		ob_log(OB_LOG_DEBUG, "%s %s is about our own copy; no job", it->ev.what,
		       it->ev.snapshot_arn);
		it->done = true;
		return 0;
	}
	memset(&job, 0, sizeof(job));
	if (ob_store_job_by_arn(s->store, it->ev.snapshot_arn, &job, &e) == 0) {
		s->stats.duplicates++;
		ob_log_job(OB_LOG_DEBUG, job.id, ob_job_state_name(job.state), job.source_arn,
			   "duplicate event %s", it->ev.what);
		ob_job_clear(&job);
		it->done = true;
		return 0;
	}
	if (e.kind != OB_ERR_NOTFOUND) {
		*err = e;
		return -1;
	}
	it->candidate = true;
	return 0;
}

/* Describe the candidates of one (kind, AWS Backup or not) group in one
 * call, and create their jobs. */
static int describe_group(struct ob_source *s, struct item *items, size_t n,
			  enum ob_snap_kind kind, bool backup, struct ob_error *err)
{
	const char *ids[MAX_BATCH];
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list list;
	struct ob_error aerr;
	size_t i, k, m = 0;
	char line[600];
	bool created;

	for (i = 0; i < n; i++) {
		if (!items[i].candidate || items[i].ref.kind != kind ||
		    (strncmp(items[i].ref.name, "awsbackup:", 10) == 0) != backup)
			continue;
		ids[m++] = items[i].ref.name;
	}
	if (m == 0)
		return 0;
	q.kind = kind;
	q.ids = ids;
	q.n_ids = m;
	q.snapshot_type = backup ? "awsbackup" : NULL;
	if (ob_rds_describe_snapshots(s->client->aws, &q, &list, &aerr) < 0) {
		if (aerr.kind == OB_ERR_CANCELLED) {
			*err = aerr;
			return -1;
		}
		/* Leave these messages in the queue: they come back after the
		 * visibility timeout. */
		ob_log(OB_LOG_WARNING, "cannot look up %zu new snapshot(s); will see them again: %s",
		       m, ob_error_str(&aerr, line, sizeof(line)));
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct ob_rds_snapshot *snap = NULL;

		if (!items[i].candidate || items[i].ref.kind != kind ||
		    (strncmp(items[i].ref.name, "awsbackup:", 10) == 0) != backup)
			continue;
		for (k = 0; k < list.n; k++)
			if (strcmp(list.items[k].arn, items[i].ev.snapshot_arn) == 0)
				snap = &list.items[k];
		items[i].candidate = false;
		if (snap == NULL) {
			s->stats.ignored++;
			ob_log(OB_LOG_WARNING, "%s: snapshot %s no longer exists; nothing to copy",
			       items[i].ev.what, items[i].ev.snapshot_arn);
			items[i].done = true;
			continue;
		}
		if (!wanted(s, snap, "event")) {
			items[i].done = true;
			continue;
		}
		if (create_job(s, snap, "event", &created, err) < 0) {
			ob_rds_snapshot_list_clear(&list);
			return -1;
		}
		items[i].done = true;
	}
	ob_rds_snapshot_list_clear(&list);
	return 0;
}

/* Delete the handled messages, ten at a time. A failed delete only means
 * the message comes back, and then it is a duplicate. */
static int delete_done(struct ob_source *s, const struct item *items, size_t n,
		       struct ob_error *err)
{
	const char *handles[MAX_BATCH];
	bool ok[MAX_BATCH];
	struct ob_error aerr;
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (items[i].done)
			handles[m++] = items[i].msg->receipt_handle;
	if (m == 0)
		return 0;
	if (ob_sqs_delete_batch(s->client->aws, s->cfg->queue_url, handles, m, ok, &aerr) < 0) {
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

int ob_source_intake(struct ob_source *s, const struct ob_sqs_batch *batch,
		     struct ob_error *err)
{
	struct item items[MAX_BATCH];
	size_t i, n = batch->n < MAX_BATCH ? batch->n : MAX_BATCH;
	int kind;

	s->stats.messages += batch->n + batch->n_malformed;
	s->stats.malformed += batch->n_malformed;
	if (batch->n_malformed > 0)
		ob_log(OB_LOG_WARNING, "%zu message(s) unreadable (no id, receipt handle or body, "
		       "or over 256 KiB); left for the dead-letter queue", batch->n_malformed);
	memset(items, 0, sizeof(items));
	for (i = 0; i < n; i++) {
		items[i].msg = &batch->msgs[i];
		if (triage(s, &items[i], err) < 0)
			return -1;
	}
	for (kind = OB_SNAP_INSTANCE; kind <= OB_SNAP_CLUSTER; kind++) {
		if (describe_group(s, items, n, (enum ob_snap_kind)kind, false, err) < 0 ||
		    describe_group(s, items, n, (enum ob_snap_kind)kind, true, err) < 0)
			return -1;
	}
	return delete_done(s, items, n, err);
}

/* ---- sweep -------------------------------------------------------------- */

/* List the account's recent snapshots and create the jobs events missed. */
static int sweep(struct ob_source *s, struct ob_error *err)
{
	static const char *const types[] = { NULL, "awsbackup" };
	int64_t now = now_ms(s), since = now - OB_SOURCE_SWEEP_WINDOW_MS;
	unsigned long before = s->stats.swept;
	struct ob_error aerr, e;
	struct ob_job job;
	bool created;
	size_t i, t;
	int kind;

	for (kind = OB_SNAP_INSTANCE; kind <= OB_SNAP_CLUSTER; kind++) {
		for (t = 0; t < 2; t++) {
			struct ob_rds_describe q = { 0 };
			struct ob_rds_snapshot_list list;

			q.kind = (enum ob_snap_kind)kind;
			q.snapshot_type = types[t];
			if (ob_rds_describe_snapshots(s->client->aws, &q, &list, &aerr) < 0) {
				if (aerr.kind == OB_ERR_CANCELLED) {
					*err = aerr;
					return -1;
				}
				ob_log(OB_LOG_WARNING, "sweep: cannot list %s snapshots: %s",
				       ob_snap_kind_name(q.kind), aerr.message);
				continue;
			}
			for (i = 0; i < list.n; i++) {
				const struct ob_rds_snapshot *snap = &list.items[i];
				struct ob_snapshot_ref ref;

				if (strcmp(snap->status, "available") != 0 ||
				    snap->create_time * 1000 < since ||
				    ob_ident_parse_snapshot_arn(snap->arn, &ref, &e) < 0 ||
				    ob_ident_is_own_copy_name(ref.name))
					continue;
				memset(&job, 0, sizeof(job));
				if (ob_store_job_by_arn(s->store, snap->arn, &job, &e) == 0) {
					ob_job_clear(&job);
					continue;
				}
				if (e.kind != OB_ERR_NOTFOUND) {
					*err = e;
					ob_rds_snapshot_list_clear(&list);
					return -1;
				}
				if (!wanted(s, snap, "sweep"))
					continue;
				if (create_job(s, snap, "sweep", &created, err) < 0) {
					ob_rds_snapshot_list_clear(&list);
					return -1;
				}
				if (created)
					s->stats.swept++;
			}
			ob_rds_snapshot_list_clear(&list);
		}
	}
	if (s->stats.swept != before)
		ob_log(OB_LOG_NOTICE, "sweep: %lu snapshot(s) had no job (lost events); jobs created",
		       s->stats.swept - before);
	return 0;
}

/* ---- the role ----------------------------------------------------------- */

int ob_source_run(struct ob_source *s, int64_t *ret_next_ms, struct ob_error *err)
{
	static const enum ob_job_state later[] = {
		OB_JOB_COPYING, OB_JOB_COPIED, OB_JOB_SHARED, OB_JOB_NOTIFIED,
	};
	static const enum ob_job_state pending[] = { OB_JOB_PENDING };
	int64_t next, next_pending;
	size_t slots;

	*ret_next_ms = OB_FSM_NEVER;
	if (s->cfg->sweep_interval_ms > 0 && now_ms(s) >= s->next_sweep_ms) {
		s->next_sweep_ms = now_ms(s) + s->cfg->sweep_interval_ms;
		if (sweep(s, err) < 0)
			return -1;
	}
	if (poll_copies(s, err) < 0)
		return -1;
	if (free_slots(s, &slots, err) < 0 ||
	    run_state(s, OB_JOB_PENDING, slots, do_copy, err) < 0 ||
	    run_state(s, OB_JOB_COPIED, BATCH_JOBS, do_share, err) < 0 ||
	    run_state(s, OB_JOB_SHARED, BATCH_JOBS, do_notify, err) < 0 ||
	    run_state(s, OB_JOB_NOTIFIED, BATCH_JOBS, do_expire, err) < 0)
		return -1;

	if (ob_store_next_due(s->store, later, 4, &next, err) < 0 ||
	    free_slots(s, &slots, err) < 0)
		return -1;
	if (slots > 0) {
		if (ob_store_next_due(s->store, pending, 1, &next_pending, err) < 0)
			return -1;
		if (next_pending < next)
			next = next_pending;
	}
	if (s->cfg->sweep_interval_ms > 0 && s->next_sweep_ms < next)
		next = s->next_sweep_ms;
	*ret_next_ms = next;
	return 0;
}

struct ob_source *ob_source_new(const struct ob_source_options *opt, struct ob_error *err)
{
	struct ob_source *s;

	if (opt->cfg == NULL || opt->client == NULL || opt->client->aws == NULL ||
	    opt->store == NULL || opt->account == NULL || strlen(opt->account) != 12) {
		ob_error_set(err, OB_ERR_INVALID, "source role: missing options");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->client = opt->client;
	s->store = opt->store;
	s->clock = opt->clock ? opt->clock : ob_clock_system();
	s->stop = opt->stop;
	memcpy(s->account, opt->account, 12);
	if (getrandom(&s->rng, sizeof(s->rng), 0) != sizeof(s->rng) || s->rng == 0)
		s->rng = (uint64_t)now_ms(s) | 1;
	ob_source_set_config(s, opt->cfg);
	s->next_sweep_ms = now_ms(s); /* sweep once at start: events lost while down */
	return s;
}

void ob_source_free(struct ob_source *s)
{
	free(s);
}

void ob_source_set_config(struct ob_source *s, const struct ob_config *cfg)
{
	s->cfg = cfg;
	set_policy(s);
}

void ob_source_get_stats(const struct ob_source *s, struct ob_source_stats *ret)
{
	*ret = s->stats;
}
