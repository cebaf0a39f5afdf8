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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ob/announce.h"
#include "ob/event.h"
#include "ob/export.h"
#include "ob/ident.h"
#include "ob/log.h"
#include "ob/rds.h"
#include "ob/jobs.h"
#include "ob/sns.h"

#define BATCH_JOBS       100  /* jobs of one state handled per run */
#define TAG_VALUE_MAX    256  /* AWS tag value limit */
#define MAX_BATCH        OB_JOBS_MAX_BATCH

struct ob_source {
	struct ob_jobs jobs;      /* first: the actions get a struct ob_source * */
	char account[13];
	int64_t next_sweep_ms;
	struct ob_source_stats stats;
};

/* ---- small helpers ------------------------------------------------------ */

/* ---- the source snapshot's tags ------------------------------------------ */

/* The source snapshot's tags to carry over to the export copy, as JSON
 * for the job row. Keys AWS reserves ("aws:") and our own provenance keys
 * are left out. NULL + err. */
static char *tags_to_json(const struct ob_rds_snapshot *snap, struct ob_error *err)
{
	struct ob_rds_tag_ref refs[OB_JOBS_TAGS_MAX];
	size_t i, n = 0;

	for (i = 0; i < snap->n_tags && n < OB_JOBS_TAGS_MAX; i++) {
		const struct ob_rds_tag *t = &snap->tags[i];

		if (strncmp(t->key, "aws:", 4) == 0 || strncmp(t->key, "offsite-backup:", 15) == 0)
			continue;
		refs[n++] = (struct ob_rds_tag_ref){ t->key, t->value };
	}
	return ob_jobs_tags_json(refs, n, err);
}

/* pending: start the export copy, with our provenance tags and the source
 * snapshot's own. */
static int do_copy(void *ctx, struct ob_job *job, struct ob_error *err)
{
	struct ob_source *s = ctx;
	struct ob_rds_tag_ref tags[OB_JOBS_TAGS_MAX];
	size_t n_tags = 0;
	json_t *source_tags;
	int rc;

	tags[n_tags++] = (struct ob_rds_tag_ref){ OB_TAG_JOB, job->id };
	/* The job tag alone proves ownership; the ARN is for people, and a
	 * tag value cannot hold more than 256 characters. */
	if (strlen(job->source_arn) <= TAG_VALUE_MAX)
		tags[n_tags++] = (struct ob_rds_tag_ref){ OB_TAG_SOURCE_ARN, job->source_arn };
	/* CopyTags copies the source's tags only when no Tags are given; with
	 * ours given, the source's are passed along explicitly. */
	source_tags = ob_jobs_tags_load(job, tags, &n_tags);
	rc = ob_jobs_copy(&s->jobs, job, s->jobs.cfg->export_kms_key, true, tags, n_tags, err);
	json_decref(source_tags);
	return rc;
}

/* copied: add the vault account to the copy's restore attribute. The
 * answer lists the attribute after the change, which confirms it. */
static int do_share(void *ctx, struct ob_job *job, struct ob_error *err)
{
	struct ob_source *s = ctx;
	struct ob_rds_strings restore = { 0 };
	struct ob_error aerr;
	int rc;

	s->jobs.client->finish_on_stop = true;
	rc = ob_rds_modify_restore(s->jobs.client->aws, job->kind, job->copy_id,
				   s->jobs.cfg->target_account, NULL, &restore, &aerr);
	s->jobs.client->finish_on_stop = false;
	if (rc < 0)
		return ob_jobs_apply_error(&s->jobs, job, &aerr, err);
	if (!ob_rds_strings_has(&restore, s->jobs.cfg->target_account)) {
		ob_rds_strings_clear(&restore);
		ob_error_set(&aerr, OB_ERR_AWS, "restore attribute of %s does not list %s "
			     "after ModifyDBSnapshotAttribute", job->copy_id, s->jobs.cfg->target_account);
		return ob_jobs_apply(&s->jobs, job, OB_EV_RETRY, NULL, &aerr, err);
	}
	ob_rds_strings_clear(&restore);
	return ob_jobs_apply(&s->jobs, job, OB_EV_SHARED, NULL, NULL, err);
}

/* shared: publish the announcement to the vault's topic. */
static int do_notify(void *ctx, struct ob_job *job, struct ob_error *err)
{
	struct ob_source *s = ctx;
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
	a.region = s->jobs.cfg->region;
	a.db_identifier = job->db_id;
	a.engine = job->engine;
	a.engine_version = job->engine_version;
	a.allocated_storage_gib = job->allocated_gib;
	a.snapshot_time = job->snapshot_time;
	a.export_kms_key = s->jobs.cfg->export_kms_key;
	doc = ob_announce_build(&a, &aerr);
	if (doc == NULL)
		return ob_jobs_apply(&s->jobs, job, OB_EV_FAIL, NULL, &aerr, err);
	s->jobs.client->finish_on_stop = true;
	rc = ob_sns_publish(s->jobs.client->aws, s->jobs.cfg->notify_topic_arn, doc, NULL, msg_id,
			    sizeof(msg_id), &aerr);
	s->jobs.client->finish_on_stop = false;
	free(doc);
	if (rc < 0)
		return ob_jobs_apply_error(&s->jobs, job, &aerr, err);
	return ob_jobs_apply(&s->jobs, job, OB_EV_NOTIFIED, NULL, NULL, err);
}

/* notified, retention over: delete the export copy, but only ours. */
static int do_expire(void *ctx, struct ob_job *job, struct ob_error *err)
{
	struct ob_source *s = ctx;
	struct ob_store_change chg = { 0 };
	struct ob_rds_snapshot snap;
	struct ob_error aerr;
	bool held;
	int found, rc;

	/* A running export task reads the copy: deleting it would break the
	 * export. Expiry waits, backing off up to 15 minutes. */
	if (ob_export_holds_copy(&s->jobs, job->id, &held, err) < 0)
		return -1;
	if (held) {
		ob_error_set(&aerr, OB_ERR_CONFLICT, "the S3 export of %s has not finished; the "
			     "export copy is kept until it has", job->copy_id);
		chg.detail = "expiry waits for the S3 export";
		return ob_jobs_apply(&s->jobs, job, OB_EV_DEFER, &chg, &aerr, err);
	}
	memset(&snap, 0, sizeof(snap));
	found = ob_jobs_describe_copy(&s->jobs, job->kind, job->copy_id, &snap, &aerr);
	if (found < 0)
		return ob_jobs_apply_error(&s->jobs, job, &aerr, err);
	if (found == 1) {
		chg.detail = "expired: export copy was already gone";
		return ob_jobs_apply(&s->jobs, job, OB_EV_EXPIRED, &chg, NULL, err);
	}
	if (!ob_jobs_is_our_copy(job, &snap)) {
		ob_rds_snapshot_clear(&snap);
		ob_error_set(&aerr, OB_ERR_INVALID, "not deleting %s: it lacks the %s=%s tag",
			     job->copy_id, OB_TAG_JOB, job->id);
		return ob_jobs_apply(&s->jobs, job, OB_EV_FAIL, NULL, &aerr, err);
	}
	ob_rds_snapshot_clear(&snap);
	s->jobs.client->finish_on_stop = true;
	rc = ob_rds_delete_snapshot(s->jobs.client->aws, job->kind, job->copy_id, &aerr);
	s->jobs.client->finish_on_stop = false;
	if (rc < 0 && !ob_jobs_code_in(&aerr, ob_jobs_not_found_codes))
		return ob_jobs_apply_error(&s->jobs, job, &aerr, err);
	return ob_jobs_apply(&s->jobs, job, OB_EV_EXPIRED, NULL, NULL, err);
}

/* ---- running due jobs --------------------------------------------------- */

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
	if (!ob_ident_filter_match(s->jobs.cfg->include_db, s->jobs.cfg->exclude_db, s->jobs.cfg->require_tag,
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
	job.next_at_ms = ob_jobs_now(&s->jobs);
	job.engine = snap->engine;
	job.engine_version = snap->engine_version;
	job.allocated_gib = snap->allocated_storage;
	job.snapshot_time = snap->create_time;
	job.origin = (char *)origin;
	job.error_code = "";
	job.error_message = "";
	job.source_tags = tags;
	snprintf(detail, sizeof(detail), "created from %s", origin);
	rc = ob_store_job_insert(s->jobs.store, &job, detail, ob_jobs_now(&s->jobs), ret_created, err);
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

/* Classify every message without calling AWS. */
static int triage(struct ob_source *s, struct item *it, struct ob_error *err)
{
	struct ob_job job;
	struct ob_error e;

	if (!it->msg->md5_ok) {
		s->stats.malformed++;
		ob_jobs_log_malformed(&s->jobs, it->msg, "body does not match its MD5");
		return 0;
	}
	switch (ob_event_parse(it->msg->body, it->msg->body_len, &it->ev)) {
	case OB_EVENT_MALFORMED:
		s->stats.malformed++;
		ob_jobs_log_malformed(&s->jobs, it->msg, it->ev.reason);
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
		s->stats.malformed++;
		ob_jobs_log_malformed(&s->jobs, it->msg, e.message);
		return 0;
	}
	if (strcmp(it->ref.account, s->account) != 0 ||
	    strcmp(it->ref.region, s->jobs.cfg->region) != 0) {
		s->stats.ignored++;
		ob_log(OB_LOG_WARNING, "message %.100s: %s is not in this account and region "
		       "(%s, %s); ignored", it->msg->message_id, it->ev.snapshot_arn, s->account,
		       s->jobs.cfg->region);
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
	if (ob_store_job_by_arn(s->jobs.store, it->ev.snapshot_arn, &job, &e) == 0) {
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
	if (ob_rds_describe_snapshots(s->jobs.client->aws, &q, &list, &aerr) < 0) {
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

static int intake(struct ob_source *s, const struct ob_sqs_batch *batch, struct ob_error *err);

/* The message counters kept in stats, mirrored into the metrics. */
int ob_source_intake(struct ob_source *s, const struct ob_sqs_batch *batch,
		     struct ob_error *err)
{
	static const char *const malformed[] = { "malformed" };
	int rc = intake(s, batch, err);

	ob_metrics_set(s->jobs.metrics, OB_M_SQS_RECEIVED, NULL, (double)s->stats.messages);
	ob_metrics_set(s->jobs.metrics, OB_M_SQS_REJECTED, malformed, (double)s->stats.malformed);
	return rc;
}

static int intake(struct ob_source *s, const struct ob_sqs_batch *batch, struct ob_error *err)
{
	struct item items[MAX_BATCH];
	bool done[MAX_BATCH];
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
	for (i = 0; i < n; i++)
		done[i] = items[i].done;
	return ob_jobs_delete_messages(&s->jobs, batch->msgs, done, n, err);
}

/* ---- sweep -------------------------------------------------------------- */

/* List the account's recent snapshots and create the jobs events missed. */
static int sweep(struct ob_source *s, struct ob_error *err)
{
	static const char *const types[] = { NULL, "awsbackup" };
	int64_t now = ob_jobs_now(&s->jobs), since = now - OB_SOURCE_SWEEP_WINDOW_MS;
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
			if (ob_rds_describe_snapshots(s->jobs.client->aws, &q, &list, &aerr) < 0) {
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
				if (ob_store_job_by_arn(s->jobs.store, snap->arn, &job, &e) == 0) {
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
	int64_t next, next_pending, next_export;
	struct ob_error rerr;
	size_t slots;

	*ret_next_ms = OB_FSM_NEVER;
	/* The alert outbox agrees with the jobs: at start-up, when a reload
	 * sets the topic, then every OB_JOBS_RECONCILE_MS. */
	if (ob_jobs_alerts_due(&s->jobs)) {
		ob_jobs_reconcile_alerts(&s->jobs);
		/* Failed exports too; a store failure is the next pass's. */
		if (ob_export_reconcile(&s->jobs, NULL, &rerr) < 0)
			ob_log(OB_LOG_WARNING, "alerts: reconciling failed S3 exports: %s",
			       rerr.message);
	}
	if (s->jobs.cfg->sweep_interval_ms > 0 && ob_jobs_now(&s->jobs) >= s->next_sweep_ms) {
		s->next_sweep_ms = ob_jobs_now(&s->jobs) + s->jobs.cfg->sweep_interval_ms;
		if (sweep(s, err) < 0)
			return -1;
	}
	if (ob_jobs_poll(&s->jobs, OB_JOB_COPYING, err) < 0)
		return -1;
	if (ob_jobs_free_slots(&s->jobs, OB_JOB_COPYING, &slots, err) < 0 ||
	    ob_jobs_run_state(&s->jobs, OB_JOB_PENDING, slots, do_copy, s, err) < 0 ||
	    /* Every job passes `copied` (its copy available) before its share
	     * is committed: that is where its S3 export row is made. */
	    ob_export_adopt(&s->jobs, err) < 0 ||
	    ob_jobs_run_state(&s->jobs, OB_JOB_COPIED, BATCH_JOBS, do_share, s, err) < 0 ||
	    ob_jobs_run_state(&s->jobs, OB_JOB_SHARED, BATCH_JOBS, do_notify, s, err) < 0 ||
	    /* After the hand-off: the exports never hold it up. */
	    ob_export_run(&s->jobs, &next_export, err) < 0 ||
	    ob_jobs_run_state(&s->jobs, OB_JOB_NOTIFIED, BATCH_JOBS, do_expire, s, err) < 0)
		return -1;

	if (ob_store_next_due(s->jobs.store, later, 4, &next, err) < 0 ||
	    ob_jobs_free_slots(&s->jobs, OB_JOB_COPYING, &slots, err) < 0)
		return -1;
	if (slots > 0) {
		if (ob_store_next_due(s->jobs.store, pending, 1, &next_pending, err) < 0)
			return -1;
		if (next_pending < next)
			next = next_pending;
	}
	if (s->jobs.cfg->sweep_interval_ms > 0 && s->next_sweep_ms < next)
		next = s->next_sweep_ms;
	if (next_export < next)
		next = next_export;
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
	ob_jobs_init(&s->jobs, opt->cfg, opt->client, opt->store, opt->clock, opt->stop,
		     opt->cfg->export_copy_retention_ms);
	s->jobs.metrics = opt->metrics;
	s->jobs.alerts = opt->alerts;
	memcpy(s->account, opt->account, 12);
	s->next_sweep_ms = ob_jobs_now(&s->jobs); /* sweep once at start: events lost while down */
	return s;
}

void ob_source_free(struct ob_source *s)
{
	free(s);
}

void ob_source_set_config(struct ob_source *s, const struct ob_config *cfg)
{
	ob_jobs_set_config(&s->jobs, cfg, cfg->export_copy_retention_ms);
}

void ob_source_get_stats(const struct ob_source *s, struct ob_source_stats *ret)
{
	*ret = s->stats;
}
