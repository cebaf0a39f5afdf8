/*
 * target.c - the vault role: announcements become import jobs; each job is
 * driven import -> poll -> verify, and verified copies are kept under the
 * grandfather-father-son policy while each database's newest one is
 * watched against the RPO.
 *
 * Validation trusts nothing in an announcement but the pointer: the sender
 * must be allow-listed, the ARN must agree with the claimed account and
 * this region, it must name an offsite-backup export copy, and DescribeDB*
 * must show it shared with this account and available. A refused message
 * becomes a `rejected` row (the message is deleted: it cannot loop), and a
 * valid one whose share is not visible yet is looked at again with backoff.
 * The claims the vault cannot check up front (engine, version, size) are
 * checked on the vault copy itself before it counts as verified.
 */
#include "ob/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ob/announce.h"
#include "ob/ident.h"
#include "ob/jobs.h"
#include "ob/log.h"
#include "ob/rds.h"
#include "ob/retain.h"

#define BATCH_JOBS   100
#define MAX_BATCH    OB_JOBS_MAX_BATCH
#define FUTURE_SKEW  3600           /* seconds a snapshot_time may lie ahead */
#define BACKOFF_MAX_S 900           /* longest wait for a share to show */
#define TAG_VALUE_MAX 256

#define OB_TAG_SOURCE_SNAPSHOT "offsite-backup:source-snapshot"
#define REJECT_SENDER_UNKNOWN "unknown"
/* The rate limit bucket of every sender not in allowed_source_accounts
 * (and of "unknown"): a forger picks the account an announcement names. */
#define REJECT_BUCKET_OTHER "other"

/* A database's RPO state: breached or not, so the alert is raised once. */
struct rpo_entry {
	char *key;      /* "<account>/<db id>" */
	bool breached;
	bool seen;      /* has verified copies in the latest retention pass */
	int64_t newest; /* unix s of its newest verified copy */
};

/* The rejection alerts of one bucket (an allowed sender account, or
 * REJECT_BUCKET_OTHER for all the others): at most one per
 * OB_TARGET_REJECT_ALERT_EVERY_MS; the others are recorded silently and
 * counted, and the next alert of the bucket or, when the hour ends first,
 * a summary alert from the run tick says how many. Never evicted: the
 * table holds at most the allowed accounts + 1 and grows. */
struct reject_limit {
	char bucket[16];
	int64_t last_ms;         /* the last alert sent (the window's start); 0 = none */
	unsigned suppressed;     /* recorded silently since */
	int64_t suppressed_since;
};

struct ob_target {
	struct ob_jobs jobs;     /* first: the actions get a struct ob_target * */
	char account[13];
	char partition[32];      /* of the import key: the vault's partition */
	int64_t next_sweep_ms;
	int64_t next_retain_ms;
	struct ob_target_stats stats;
	struct rpo_entry *rpo;
	size_t n_rpo;
	char untagged[64][OB_JOB_ID_SIZE]; /* jobs whose copy lost our tag: warned */
	unsigned n_untagged;
	struct reject_limit *rlim;
	size_t n_rlim, cap_rlim;
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_ms(const struct ob_target *t)
{
	return ob_jobs_now(&t->jobs);
}

static void format_time(int64_t unix_s, char out[32])
{
	time_t tt = (time_t)unix_s;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)unix_s);
}

/* ---- rejected announcements --------------------------------------------- */

/* The rate limit bucket of sender: itself when allowed, else "other". */
static const char *bucket_of(const struct ob_target *t, const char *sender)
{
	if (strcmp(sender, REJECT_SENDER_UNKNOWN) != 0 &&
	    ob_config_account_listed(t->jobs.cfg->allowed_source_accounts, sender))
		return sender;
	return REJECT_BUCKET_OTHER;
}

/* bucket's rate limit entry, added when new; NULL when out of memory (then
 * the alert is not limited). */
static struct reject_limit *limit_of(struct ob_target *t, const char *bucket)
{
	struct reject_limit *e;
	size_t i;

	for (i = 0; i < t->n_rlim; i++) {
		if (strcmp(t->rlim[i].bucket, bucket) == 0)
			return &t->rlim[i];
	}
	if (t->n_rlim == t->cap_rlim) {
		size_t cap = t->cap_rlim ? 2 * t->cap_rlim : 4;
		struct reject_limit *grown = realloc(t->rlim, cap * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		t->rlim = grown;
		t->cap_rlim = cap;
	}
	e = &t->rlim[t->n_rlim++];
	memset(e, 0, sizeof(*e));
	snprintf(e->bucket, sizeof(e->bucket), "%s", bucket);
	return e;
}

/* Who a bucket stands for, in an alert's text. */
static void bucket_words(const char *bucket, char *out, size_t size)
{
	if (strcmp(bucket, REJECT_BUCKET_OTHER) == 0)
		snprintf(out, size, "naming a sender account not in allowed_source_accounts "
			 "(or none)");
	else
		snprintf(out, size, "naming sender account %s", bucket);
}

/* The alert key of a rejection (see alert_rejected); returns out. */
static const char *reject_key(char *out, size_t size, const char *sender, const char *message_id,
			      const char *claimed_arn)
{
	if (sender == NULL || sender[0] == '\0')
		sender = REJECT_SENDER_UNKNOWN;
	if (claimed_arn != NULL && claimed_arn[0] != '\0')
		snprintf(out, size, "rejected:%.15s/%.370s", sender, claimed_arn);
	else
		snprintf(out, size, "rejected:%.15s/message:%.360s", sender, message_id);
	return out;
}

/* The alert of a rejection, keyed by the sender account the announcement
 * names and the snapshot ARN it claims (its SQS message id when it claims
 * none): a forgery claiming someone else's ARN under another account does
 * not share the key of a genuine rejection. Terminal: nothing clears it.
 * At most one is sent per bucket (an allowed sender account, or "other")
 * and OB_TARGET_REJECT_ALERT_EVERY_MS; the others are recorded without a
 * message (so neither a redelivery nor the reconcile pass sends them later)
 * and counted in the next one or in the bucket's summary
 * (ob_target_reject_summaries). Used by the live path and the reconcile
 * pass alike. */
static void alert_rejected(struct ob_target *t, const char *sender, const char *message_id,
			   const char *claimed_arn, const char *reason, const char *job_id)
{
	char key[400], text[2560], more[400], since[32], who[96];
	struct reject_limit *e;
	struct ob_alert al;
	int64_t now = now_ms(t);
	bool limited;
	json_t *d;

	if (!ob_alerts_enabled(t->jobs.alerts))
		return;
	if (sender == NULL || sender[0] == '\0')
		sender = REJECT_SENDER_UNKNOWN;
	if (claimed_arn != NULL && claimed_arn[0] == '\0')
		claimed_arn = NULL;
	reject_key(key, sizeof(key), sender, message_id, claimed_arn);
	e = limit_of(t, bucket_of(t, sender));
	limited = e != NULL && e->last_ms != 0 && now - e->last_ms < OB_TARGET_REJECT_ALERT_EVERY_MS;
	more[0] = '\0';
	if (e != NULL && !limited && e->suppressed > 0) {
		format_time(e->suppressed_since / 1000, since);
		bucket_words(e->bucket, who, sizeof(who));
		snprintf(more, sizeof(more), "\n\n%u further rejection(s) of announcements %s "
			 "since %s were not alerted (at most one alert per allowed sender account "
			 "and hour, and one for all others); the journal has each "
			 "(offsite-backupctl list --state rejected).", e->suppressed, who, since);
	}
	snprintf(text, sizeof(text),
		 "The vault rejected an announcement: %.600s\n"
		 "It named sender account: %s\nIt claimed snapshot: %.400s\nSQS message id: "
		 "%.150s\nRecorded as job %s (offsite-backupctl show %s).\n\n"
		 "Nothing will be imported for it, and this alert does not clear: a rejection is "
		 "final. If the announcement is genuine, fix its cause on the source side (sender "
		 "account in allowed_source_accounts, region, snapshot shared with this account) "
		 "and let the source announce it again; if it is not, someone can publish to the "
		 "vault's topic: check the topic policy.%s",
		 reason, sender, claimed_arn ? claimed_arn : "(none)", message_id, job_id, job_id,
		 more);
	d = json_object();
	ob_alert_set(d, "message_id", message_id);
	ob_alert_set(d, "sender_account", sender);
	ob_alert_set(d, "claimed_snapshot_arn", claimed_arn);
	ob_alert_set(d, "reason", reason);
	ob_alert_set(d, "job_id", job_id);
	if (e != NULL && !limited && e->suppressed > 0)
		json_object_set_new(d, "suppressed_before", json_integer(e->suppressed));
	al = (struct ob_alert){ key, "rejected", "announcement rejected", text, d, true };
	if (limited ? ob_alerts_record_silently(t->jobs.alerts, &al)
		    : ob_alerts_raise(t->jobs.alerts, &al)) {
		if (limited) {
			if (e->suppressed++ == 0)
				e->suppressed_since = now;
			ob_log(OB_LOG_NOTICE, "rejection alert for sender account %s not sent: one "
			       "was sent less than an hour ago for its bucket %s (%u held back "
			       "since); job %s", sender, e->bucket, e->suppressed, job_id);
		} else if (e != NULL) {
			e->last_ms = now;
			e->suppressed = 0;
		}
	}
	json_decref(d);
}

void ob_target_reject_summaries(struct ob_target *t)
{
	char key[96], text[1024], since[32], who[96];
	struct ob_alert al;
	int64_t now = now_ms(t);
	size_t i;
	json_t *d;

	if (!ob_alerts_enabled(t->jobs.alerts))
		return;
	for (i = 0; i < t->n_rlim; i++) {
		struct reject_limit *e = &t->rlim[i];

		if (e->suppressed == 0 || now - e->last_ms < OB_TARGET_REJECT_ALERT_EVERY_MS)
			continue;
		format_time(e->last_ms / 1000, since);
		bucket_words(e->bucket, who, sizeof(who));
		snprintf(key, sizeof(key), "rejected-summary:%s/%s", e->bucket, since);
		snprintf(text, sizeof(text),
			 "%u more announcement(s) %s were rejected in the hour since %s; they were "
			 "not alerted one by one (at most one alert per allowed sender account and "
			 "hour, and one for all others). See offsite-backupctl list --state "
			 "rejected, and offsite-backupctl show <job> for each. Nothing will be "
			 "imported for them; this alert does not clear.",
			 e->suppressed, who, since);
		d = json_object();
		ob_alert_set(d, "bucket", e->bucket);
		ob_alert_set(d, "window_start", since);
		json_object_set_new(d, "rejected", json_integer(e->suppressed));
		al = (struct ob_alert){ key, "rejected", "announcements rejected", text, d, true };
		/* Kept when not recorded (a store failure): tried again next tick. */
		if (ob_alerts_raise(t->jobs.alerts, &al) || ob_alerts_known(t->jobs.alerts, key)) {
			e->last_ms = now;
			e->suppressed = 0;
		}
		json_decref(d);
	}
}

/* The provenance a rejected row keeps (source_tags): sender and claim. */
static char *reject_tags(const char *sender, const char *claimed_arn)
{
	json_t *a = json_array();
	char *out;

	json_array_append_new(a, json_pack("{s:s,s:s}", "Key", OB_TAG_REJ_SENDER, "Value",
					   sender ? sender : ""));
	json_array_append_new(a, json_pack("{s:s,s:s}", "Key", OB_TAG_REJ_CLAIMED, "Value",
					   claimed_arn ? claimed_arn : ""));
	out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return out;
}

/* Keep a refused message as a rejected row keyed by its message id (never
 * by the ARN it claims: a forgery must not block the real announcement),
 * warn with a stable MESSAGE_ID, and let it be deleted. sender: the
 * account the announcement names (NULL when it could not be parsed). */
static int reject(struct ob_target *t, const struct ob_sqs_message *m, const char *sender,
		  const char *claimed_arn, const char *reason, struct ob_error *err)
{
	char key[200], id[OB_JOB_ID_SIZE], detail[64];
	struct ob_job job;
	char *tags = reject_tags(sender, claimed_arn);
	bool created;
	int rc;

	snprintf(key, sizeof(key), "rejected:%.150s", m->message_id);
	ob_ident_job_id(key, id);
	memset(&job, 0, sizeof(job));
	job.id = id;
	job.role = "target";
	job.kind = OB_SNAP_INSTANCE;
	job.source_arn = key;
	job.db_id = "";
	job.copy_id = "";
	job.state = OB_JOB_REJECTED;
	job.failed_from = OB_JOB_REJECTED;
	job.next_at_ms = OB_FSM_NEVER;
	job.origin = "announcement";
	job.error_code = "Rejected";
	job.error_message = (char *)reason;
	job.source_tags = tags ? tags : (char *)"";
	snprintf(detail, sizeof(detail), "rejected");
	rc = ob_store_job_insert(t->jobs.store, &job, detail, now_ms(t), &created, err);
	free(tags);
	if (rc < 0)
		return -1;
	if (created) {
		t->stats.rejected++;
		ob_log_alert(OB_LOG_WARNING, OB_MSGID_REJECTED, id, "rejected", claimed_arn,
			     "announcement %.100s rejected: %s%s%s", m->message_id, reason,
			     claimed_arn ? "; it claimed " : "", claimed_arn ? claimed_arn : "");
		alert_rejected(t, sender, m->message_id, claimed_arn, reason, id);
	}
	return 0;
}

/* The value of tag key in a rejected row's source_tags, or NULL. */
static const char *tag_value(json_t *tags, const char *key)
{
	size_t i;
	json_t *v;

	json_array_foreach(tags, i, v) {
		if (json_is_string(json_object_get(v, "Key")) &&
		    strcmp(json_string_value(json_object_get(v, "Key")), key) == 0)
			return json_string_value(json_object_get(v, "Value"));
	}
	return NULL;
}

void ob_target_reconcile_rejections(struct ob_target *t)
{
	static const enum ob_job_state rejected[] = { OB_JOB_REJECTED };
	struct ob_store_query q = { rejected, 1, false, 0, 0, false };
	struct ob_job_list list = { NULL, 0 };
	struct ob_error err;
	char key[400];
	int64_t now = now_ms(t);
	size_t i;

	if (!ob_alerts_enabled(t->jobs.alerts))
		return;
	if (ob_store_jobs_list(t->jobs.store, &q, &list, &err) < 0) {
		ob_log(OB_LOG_WARNING, "alerts: cannot list the rejected jobs: %s", err.message);
		return;
	}
	for (i = 0; i < list.n; i++) {
		const struct ob_job *r = &list.items[i];
		json_t *tags;
		const char *sender, *claimed;

		/* Older rows' alerts were pruned on purpose: never again. */
		if (r->created_ms < now - OB_ALERT_KEEP_TERMINAL_MS ||
		    strncmp(r->source_arn, "rejected:", 9) != 0)
			continue;
		tags = json_loads(r->source_tags, 0, NULL);
		sender = tag_value(tags, OB_TAG_REJ_SENDER);
		claimed = tag_value(tags, OB_TAG_REJ_CLAIMED);
		/* A row without them predates the key: it cannot be matched.
		 * One whose alert row is known to exist costs nothing more. */
		if (sender != NULL && claimed != NULL &&
		    !ob_alerts_known(t->jobs.alerts,
				     reject_key(key, sizeof(key), sender, r->source_arn + 9, claimed)))
			alert_rejected(t, sender, r->source_arn + 9, claimed, r->error_message,
				       r->id);
		json_decref(tags);
	}
	ob_job_list_clear(&list);
}

/* ---- jobs --------------------------------------------------------------- */

/* What a vault job is made from: an announcement, or a shared snapshot the
 * sweep found. Borrowed strings. */
struct origin {
	enum ob_snap_kind kind;
	const char *arn;
	const char *source_snapshot; /* may be "" */
	const char *db_id;
	const char *engine;
	const char *engine_version;
	long allocated_gib;
	int64_t snapshot_time;
	const char *origin;          /* "announcement" / "sweep" */
};

static int create_job(struct ob_target *t, const struct origin *o, bool *ret_created,
		      struct ob_error *err)
{
	struct ob_rds_tag_ref tags[5];
	struct ob_snapshot_ref ref;
	char id[OB_JOB_ID_SIZE], copy_id[OB_RDS_ID_MAX + 1], when[32], detail[64];
	struct ob_job job;
	size_t n = 0;
	char *tag_json;
	int rc;

	*ret_created = false;
	if (ob_ident_parse_snapshot_arn(o->arn, &ref, err) < 0)
		return -1;
	ob_ident_job_id(o->arn, id);
	if (ob_ident_copy_id(o->arn, ref.name, copy_id, sizeof(copy_id), err) < 0)
		return -1;
	format_time(o->snapshot_time, when);
	if (strlen(o->arn) <= TAG_VALUE_MAX)
		tags[n++] = (struct ob_rds_tag_ref){ OB_TAG_SOURCE_ARN, o->arn };
	tags[n++] = (struct ob_rds_tag_ref){ OB_TAG_SOURCE_ACCOUNT, ref.account };
	tags[n++] = (struct ob_rds_tag_ref){ OB_TAG_SOURCE_TIME, when };
	tags[n++] = (struct ob_rds_tag_ref){ OB_TAG_DB, o->db_id };
	if (o->source_snapshot[0] != '\0' && strlen(o->source_snapshot) <= TAG_VALUE_MAX)
		tags[n++] = (struct ob_rds_tag_ref){ OB_TAG_SOURCE_SNAPSHOT, o->source_snapshot };
	tag_json = ob_jobs_tags_json(tags, n, err);
	if (tag_json == NULL)
		return -1;
	memset(&job, 0, sizeof(job));
	job.id = id;
	job.role = "target";
	job.kind = o->kind;
	job.source_arn = (char *)o->arn;
	job.db_id = (char *)o->db_id;
	job.copy_id = copy_id;
	job.state = OB_JOB_ANNOUNCED;
	job.failed_from = OB_JOB_ANNOUNCED;
	job.next_at_ms = now_ms(t);
	job.engine = (char *)o->engine;
	job.engine_version = (char *)o->engine_version;
	job.allocated_gib = o->allocated_gib;
	job.snapshot_time = o->snapshot_time;
	job.origin = (char *)o->origin;
	job.source_tags = tag_json;
	snprintf(detail, sizeof(detail), "created from %s", o->origin);
	rc = ob_store_job_insert(t->jobs.store, &job, detail, now_ms(t), ret_created, err);
	free(tag_json);
	if (rc < 0)
		return -1;
	if (*ret_created) {
		t->stats.jobs_created++;
		ob_log_job(OB_LOG_INFO, id, "announced", o->arn, "new import of %s snapshot of %s "
			   "(account %s, taken %s; %s)", ob_snap_kind_name(o->kind), o->db_id,
			   ref.account, when, o->origin);
	} else {
		t->stats.duplicates++;
	}
	return 0;
}

/* announced: copy the shared snapshot into the vault with the import key. */
static int do_import(void *ctx, struct ob_job *job, struct ob_error *err)
{
	struct ob_target *t = ctx;
	struct ob_rds_tag_ref tags[OB_JOBS_TAGS_MAX];
	size_t n = 0;
	json_t *kept;
	int rc;

	tags[n++] = (struct ob_rds_tag_ref){ OB_TAG_JOB, job->id };
	kept = ob_jobs_tags_load(job, tags, &n);
	/* Only our provenance tags: the export copy's own (the source job's
	 * tags among them) stay behind. */
	rc = ob_jobs_copy(&t->jobs, job, t->jobs.cfg->import_kms_key, false, tags, n, err);
	json_decref(kept);
	return rc;
}

/* Does the KmsKeyId RDS reports name the configured key (an ARN, or a key
 * id that the reported ARN ends with)? */
static bool same_key(const char *reported, const char *configured)
{
	size_t r = strlen(reported), c = strlen(configured);

	if (strcmp(reported, configured) == 0)
		return true;
	return c > 0 && r > c + 4 && strcmp(reported + r - c, configured) == 0 &&
	       strncmp(reported + r - c - 4, "key/", 4) == 0;
}

/* imported: the vault copy must be ours, available, encrypted with the
 * import key, and match the announcement's engine, version and size. */
static int do_verify(void *ctx, struct ob_job *job, struct ob_error *err)
{
	struct ob_target *t = ctx;
	struct ob_rds_snapshot snap;
	struct ob_error why;
	char bad[400];
	size_t len = 0;
	int found, rc;

	memset(&snap, 0, sizeof(snap));
	found = ob_jobs_describe_copy(&t->jobs, job->kind, job->copy_id, &snap, &why);
	if (found < 0)
		return ob_jobs_apply_error(&t->jobs, job, &why, err);
	if (found == 1) {
		ob_error_set(&why, OB_ERR_AWS, "vault copy %s disappeared before verification",
			     job->copy_id);
		return ob_jobs_apply(&t->jobs, job, OB_EV_FAIL, NULL, &why, err);
	}
	bad[0] = '\0';
#define MISMATCH(...) (len += (size_t)snprintf(bad + len, len < sizeof(bad) ? sizeof(bad) - len : 0, __VA_ARGS__))
	if (!ob_jobs_is_our_copy(job, &snap))
		MISMATCH("; no %s=%s tag", OB_TAG_JOB, job->id);
	if (strcmp(snap.status, "available") != 0)
		MISMATCH("; status %s", snap.status);
	if (!snap.encrypted)
		MISMATCH("; not encrypted");
	if (!same_key(snap.kms_key_id, t->jobs.cfg->import_kms_key))
		MISMATCH("; KmsKeyId %s is not the import key", snap.kms_key_id);
	if (strcmp(snap.engine, job->engine) != 0)
		MISMATCH("; engine %s, announced %s", snap.engine, job->engine);
	if (strcmp(snap.engine_version, job->engine_version) != 0)
		MISMATCH("; engine version %s, announced %s", snap.engine_version,
			 job->engine_version);
	if (snap.allocated_storage != job->allocated_gib)
		MISMATCH("; allocated storage %ld GiB, announced %ld", snap.allocated_storage,
			 job->allocated_gib);
#undef MISMATCH
	ob_rds_snapshot_clear(&snap);
	if (bad[0] != '\0') {
		ob_error_set(&why, OB_ERR_INVALID, "verification of %s failed: %s", job->copy_id,
			     bad + 2);
		ob_log_alert(OB_LOG_ERR, OB_MSGID_VERIFY_FAILED, job->id, "imported",
			     job->source_arn, "%s", why.message);
		return ob_jobs_apply(&t->jobs, job, OB_EV_FAIL, NULL, &why, err);
	}
	rc = ob_jobs_apply(&t->jobs, job, OB_EV_VERIFIED, NULL, NULL, err);
	t->next_retain_ms = now_ms(t); /* retention and the RPO watch look now */
	return rc;
}

/* ---- intake ------------------------------------------------------------- */

/* When the source snapshot was taken, as RDS reports it: an instance
 * snapshot's OriginalSnapshotCreateTime survives copies; a cluster
 * snapshot has only SnapshotCreateTime (at worst the export copy's own
 * time: later, so retention errs on keeping). 0 when RDS says neither. */
static int64_t snapshot_time_of(const struct ob_rds_snapshot *snap)
{
	return snap->original_create_time != 0 ? snap->original_create_time : snap->create_time;
}

/* How long an announcement waits before it is looked at again: the poll
 * interval (at least 1 s), doubling with each receive, at most
 * BACKOFF_MAX_S. */
static int64_t look_again_s(const struct ob_target *t, const struct ob_sqs_message *m)
{
	int64_t wait_s = t->jobs.cfg->poll_interval_ms / 1000;
	long shift = m->receive_count > 1 ? m->receive_count - 1 : 0;

	if (wait_s < 1)
		wait_s = 1;
	for (; shift > 0 && wait_s < BACKOFF_MAX_S; shift--)
		wait_s <<= 1;
	return wait_s > BACKOFF_MAX_S ? BACKOFF_MAX_S : wait_s;
}

/* Leave the announcement in the queue, hidden for look_again_s(). Only a
 * shutdown is an error: if the visibility cannot be changed, the queue's
 * own timeout brings the message back. 0, or -1 + err (cancelled). */
static int look_again(struct ob_target *t, const struct ob_sqs_message *m, struct ob_error *err)
{
	struct ob_error e;

	if (ob_sqs_change_visibility(t->jobs.client->aws, t->jobs.cfg->queue_url, m->receipt_handle,
				     (int)look_again_s(t, m), &e) < 0 &&
	    e.kind == OB_ERR_CANCELLED) {
		*err = e;
		return -1;
	}
	return 0;
}

/* The snapshot as the vault sees it shared: 0 and *ret (caller clears),
 * 1 when not visible, -1 + err. */
static int describe_shared(struct ob_target *t, enum ob_snap_kind kind, const char *arn,
			   struct ob_rds_snapshot *ret, struct ob_error *err)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list list;
	size_t i;

	q.kind = kind;
	q.snapshot_id = arn;
	q.snapshot_type = "shared";
	if (ob_rds_describe_snapshots(t->jobs.client->aws, &q, &list, err) < 0) {
		/* Not found is "not visible", an answer, not a failure. */
		if (ob_jobs_code_in(err, ob_jobs_not_found_codes))
			return 1;
		return -1;
	}
	for (i = 0; i < list.n; i++) {
		if (strcmp(list.items[i].arn, arn) == 0) {
			*ret = list.items[i];
			memset(&list.items[i], 0, sizeof(list.items[i]));
			ob_rds_snapshot_list_clear(&list);
			return 0;
		}
	}
	ob_rds_snapshot_list_clear(&list);
	return 1;
}

/* Validate one message; *ret_done when it may be deleted. -1 + err only
 * for the store or a stop. */
static int take(struct ob_target *t, const struct ob_sqs_message *m, bool *ret_done,
		struct ob_error *err)
{
	const struct ob_config *cfg = t->jobs.cfg;
	struct ob_announcement_in a;
	struct ob_snapshot_ref ref;
	struct ob_rds_snapshot snap;
	struct ob_error e;
	struct ob_job job;
	struct origin o;
	char reason[300];
	int64_t truth;
	bool created;
	int rc = 0, found;

	*ret_done = false;
	if (!m->md5_ok) {
		t->stats.malformed++;
		ob_jobs_log_malformed(&t->jobs, m, "body does not match its MD5");
		return 0;
	}
	if (ob_announce_parse(m->body, m->body_len, &a, reason, sizeof(reason)) < 0) {
		*ret_done = true;
		return reject(t, m, NULL, NULL, reason, err);
	}
	memset(&snap, 0, sizeof(snap));
	*ret_done = true;
	if (!ob_config_account_listed(cfg->allowed_source_accounts, a.source_account)) {
		snprintf(reason, sizeof(reason), "source account %s is not in "
			 "allowed_source_accounts", a.source_account);
		rc = reject(t, m, a.source_account, a.snapshot_arn, reason, err);
		goto out;
	}
	if (ob_ident_parse_snapshot_arn(a.snapshot_arn, &ref, &e) < 0) {
		rc = reject(t, m, a.source_account, a.snapshot_arn, e.message, err);
		goto out;
	}
	if (strcmp(ref.account, a.source_account) != 0) {
		snprintf(reason, sizeof(reason), "the snapshot ARN is in account %s, the "
			 "announcement claims %s", ref.account, a.source_account);
		rc = reject(t, m, a.source_account, a.snapshot_arn, reason, err);
		goto out;
	}
	if (strcmp(ref.region, cfg->region) != 0 || strcmp(a.region, cfg->region) != 0 ||
	    strcmp(ref.partition, t->partition) != 0) {
		snprintf(reason, sizeof(reason), "the snapshot is in %s %s (announced %s); this "
			 "vault is in %s %s", ref.partition, ref.region, a.region, t->partition,
			 cfg->region);
		rc = reject(t, m, a.source_account, a.snapshot_arn, reason, err);
		goto out;
	}
	if (!ob_ident_is_own_copy_name(ref.name)) {
		rc = reject(t, m, a.source_account, a.snapshot_arn,
			    "the snapshot is not an offsite-backup export copy (name)", err);
		goto out;
	}
	if (a.snapshot_time > now_ms(t) / 1000 + FUTURE_SKEW) {
		rc = reject(t, m, a.source_account, a.snapshot_arn,
			    "snapshot_time lies in the future", err);
		goto out;
	}
	memset(&job, 0, sizeof(job));
	if (ob_store_job_by_arn(t->jobs.store, a.snapshot_arn, &job, &e) == 0) {
		t->stats.duplicates++;
		ob_log_job(OB_LOG_DEBUG, job.id, ob_job_state_name(job.state), job.source_arn,
			   "duplicate announcement");
		ob_job_clear(&job);
		goto out;
	}
	if (e.kind != OB_ERR_NOTFOUND) {
		*err = e;
		rc = -1;
		goto out;
	}
	found = describe_shared(t, a.kind, a.snapshot_arn, &snap, &e);
	if (found < 0) {
		*ret_done = false;
		if (e.kind == OB_ERR_CANCELLED) {
			*err = e;
			rc = -1;
		} else {
			/* AWS trouble: back off like a share not visible yet, so a
			 * long outage does not run the announcement through the
			 * queue's maxReceiveCount into the dead-letter queue. */
			ob_log(OB_LOG_WARNING, "cannot look up announced %s; looking again in "
			       "%lld s: %s", a.snapshot_arn, (long long)look_again_s(t, m),
			       e.message);
			rc = look_again(t, m, err);
		}
		goto out;
	}
	if (found == 1 || strcmp(snap.status, "available") != 0) {
		if (m->receive_count >= OB_TARGET_VISIBLE_TRIES) {
			snprintf(reason, sizeof(reason), "the snapshot is not shared with this "
				 "account and available (%ld looks)", m->receive_count);
			rc = reject(t, m, a.source_account, a.snapshot_arn, reason, err);
			goto out;
		}
		/* Not visible yet: the share may still be on its way. */
		*ret_done = false;
		t->stats.waiting++;
		ob_log(OB_LOG_INFO, "announced %s is not visible as shared and available yet; "
		       "looking again in %lld s", a.snapshot_arn, (long long)look_again_s(t, m));
		rc = look_again(t, m, err);
		goto out;
	}
	/* Retention and the RPO watch go by the database and the time RDS
	 * reports, never by the claims: a source admin could otherwise share
	 * a fresh snapshot claiming an old day of a database and have
	 * retention trade a real copy of that day for it. */
	truth = snapshot_time_of(&snap);
	if (strcmp(snap.db_id, a.db_identifier) != 0) {
		snprintf(reason, sizeof(reason), "announced db_identifier %.100s, but the snapshot "
			 "is of %.100s", a.db_identifier, snap.db_id);
		rc = reject(t, m, a.source_account, a.snapshot_arn, reason, err);
		goto out;
	}
	if (truth == 0 || a.snapshot_time > truth + OB_CLAIM_SKEW_S) {
		snprintf(reason, sizeof(reason), "announced snapshot_time is after the time RDS "
			 "reports for the snapshot");
		rc = reject(t, m, a.source_account, a.snapshot_arn, reason, err);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.kind = a.kind;
	o.arn = a.snapshot_arn;
	o.source_snapshot = a.source_snapshot_arn;
	o.db_id = snap.db_id;
	o.engine = a.engine;
	o.engine_version = a.engine_version;
	o.allocated_gib = a.allocated_storage_gib;
	o.snapshot_time = truth;
	o.origin = "announcement";
	rc = create_job(t, &o, &created, err);
	if (rc < 0)
		*ret_done = false;
out:
	ob_rds_snapshot_clear(&snap);
	ob_announce_clear(&a);
	return rc;
}

static int intake(struct ob_target *t, const struct ob_sqs_batch *batch, struct ob_error *err);

/* The message counters kept in stats, mirrored into the metrics. */
int ob_target_intake(struct ob_target *t, const struct ob_sqs_batch *batch,
		     struct ob_error *err)
{
	static const char *const malformed[] = { "malformed" }, *const refused[] = { "refused" };
	int rc = intake(t, batch, err);

	ob_metrics_set(t->jobs.metrics, OB_M_SQS_RECEIVED, NULL, (double)t->stats.messages);
	ob_metrics_set(t->jobs.metrics, OB_M_SQS_REJECTED, malformed, (double)t->stats.malformed);
	ob_metrics_set(t->jobs.metrics, OB_M_SQS_REJECTED, refused, (double)t->stats.rejected);
	return rc;
}

static int intake(struct ob_target *t, const struct ob_sqs_batch *batch, struct ob_error *err)
{
	bool done[MAX_BATCH];
	size_t i, n = batch->n < MAX_BATCH ? batch->n : MAX_BATCH;

	t->stats.messages += batch->n + batch->n_malformed;
	t->stats.malformed += batch->n_malformed;
	if (batch->n_malformed > 0)
		ob_log(OB_LOG_WARNING, "%zu message(s) unreadable (no id, receipt handle or body, "
		       "or over 256 KiB); left for the dead-letter queue", batch->n_malformed);
	for (i = 0; i < n; i++) {
		if (take(t, &batch->msgs[i], &done[i], err) < 0) {
			/* Delete what was committed before the failure. */
			struct ob_error e2;

			ob_jobs_delete_messages(&t->jobs, batch->msgs, done, i, &e2);
			return -1;
		}
	}
	return ob_jobs_delete_messages(&t->jobs, batch->msgs, done, n, err);
}

/* ---- retention and the RPO watch ---------------------------------------- */

static struct rpo_entry *rpo_find(struct ob_target *t, const char *key)
{
	struct rpo_entry *grown;
	size_t i;

	for (i = 0; i < t->n_rpo; i++)
		if (strcmp(t->rpo[i].key, key) == 0)
			return &t->rpo[i];
	grown = realloc(t->rpo, (t->n_rpo + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	t->rpo = grown;
	t->rpo[t->n_rpo].key = strdup(key);
	t->rpo[t->n_rpo].breached = false;
	t->rpo[t->n_rpo].seen = false;
	t->rpo[t->n_rpo].newest = 0;
	if (t->rpo[t->n_rpo].key == NULL)
		return NULL;
	return &t->rpo[t->n_rpo++];
}

/* The RPO alert of key ("<account>/<db>"): raised once per breach (the
 * outbox dedups, across restarts too). */
static void alert_rpo(struct ob_target *t, const char *key, const char *when, int64_t age_s)
{
	char akey[300], summary[200], text[1024];
	const char *slash = strchr(key, '/');
	json_t *d;

	if (!ob_alerts_enabled(t->jobs.alerts))
		return;
	snprintf(akey, sizeof(akey), "rpo:%s", key);
	if (ob_alerts_active(t->jobs.alerts, akey))
		return;
	snprintf(summary, sizeof(summary), "RPO breached for %.80s", key);
	snprintf(text, sizeof(text),
		 "The newest verified vault copy of database %.200s is from %s, %lld h %02lld m "
		 "ago: older than the recovery point objective (rpo = %lld h).\n\n"
		 "What to do: check the source daemon of that account (is it running, are its "
		 "jobs failing: offsite-backupctl status on both sides) and whether the database "
		 "still takes snapshots. This alert clears when a newer copy is verified.",
		 key, when, (long long)(age_s / 3600), (long long)(age_s % 3600 / 60),
		 (long long)(t->jobs.cfg->rpo_ms / 3600000));
	d = json_object();
	if (slash != NULL) {
		char account[32];

		snprintf(account, sizeof(account), "%.*s", (int)(slash - key), key);
		ob_alert_set(d, "source_account", account);
		ob_alert_set(d, "db", slash + 1);
	}
	ob_alert_set(d, "newest_verified_copy", when);
	json_object_set_new(d, "age_seconds", json_integer(age_s));
	json_object_set_new(d, "rpo_seconds", json_integer(t->jobs.cfg->rpo_ms / 1000));
	ob_alerts_raise(t->jobs.alerts, &(struct ob_alert){ akey, "rpo", summary, text, d, false });
	json_decref(d);
}

static void alert_rpo_clear(struct ob_target *t, const char *key, const char *when)
{
	char akey[300], text[512];

	snprintf(akey, sizeof(akey), "rpo:%s", key);
	if (!ob_alerts_active(t->jobs.alerts, akey))
		return;
	snprintf(text, sizeof(text), "RPO restored for %.200s: its newest verified vault copy "
		 "is from %s.", key, when);
	ob_alerts_clear(t->jobs.alerts, akey, text);
}

/* Raise the alert once when key's newest verified copy (newest, unix s)
 * is older than rpo; clear it when it is not any more. */
static void rpo_check(struct ob_target *t, const char *key, int64_t newest)
{
	struct rpo_entry *e = rpo_find(t, key);
	int64_t age_s = now_ms(t) / 1000 - newest;
	char when[32];

	if (e == NULL)
		return;
	e->seen = true;
	e->newest = newest;
	format_time(newest, when);
	if (age_s * 1000 > t->jobs.cfg->rpo_ms) {
		alert_rpo(t, key, when, age_s);
		if (!e->breached) {
			e->breached = true;
			t->stats.rpo_breaches++;
			ob_metrics_add(t->jobs.metrics, OB_M_RPO_BREACHES, NULL, 1);
			ob_log_alert(OB_LOG_WARNING, OB_MSGID_RPO_BREACH, NULL, NULL, NULL,
				     "RPO breached for %s: newest verified copy is from %s, %lld h "
				     "%02lld m old (rpo %lld h)", key, when, (long long)(age_s / 3600),
				     (long long)(age_s % 3600 / 60),
				     (long long)(t->jobs.cfg->rpo_ms / 3600000));
		}
	} else {
		if (e->breached) {
			e->breached = false;
			ob_log_alert(OB_LOG_NOTICE, OB_MSGID_RPO_CLEARED, NULL, NULL, NULL,
				     "RPO restored for %s: newest verified copy is from %s", key,
				     when);
		}
		/* Also after a restart, when the breach ended while the daemon
		 * was stopped: the alert outbox remembers it, e does not. */
		alert_rpo_clear(t, key, when);
	}
}

/* Per database seen in the last pass: the age of its newest verified copy
 * and whether it is in breach. Databases without verified copies any more
 * leave the file. */
static void rpo_metrics(struct ob_target *t)
{
	struct ob_metrics *m = t->jobs.metrics;
	char account[32];
	size_t i;

	if (m == NULL)
		return;
	ob_metrics_reset(m, OB_M_NEWEST_COPY_AGE);
	ob_metrics_reset(m, OB_M_RPO_BREACHED);
	for (i = 0; i < t->n_rpo; i++) {
		const struct rpo_entry *e = &t->rpo[i];
		const char *slash = strchr(e->key, '/');
		const char *labels[2];
		int64_t age = now_ms(t) / 1000 - e->newest;

		if (!e->seen || slash == NULL)
			continue;
		snprintf(account, sizeof(account), "%.*s", (int)(slash - e->key), e->key);
		labels[0] = account;
		labels[1] = slash + 1;
		ob_metrics_set(m, OB_M_NEWEST_COPY_AGE, labels, (double)(age > 0 ? age : 0));
		ob_metrics_set(m, OB_M_RPO_BREACHED, labels, e->breached ? 1 : 0);
	}
}

/* Delete one vault copy retention let go: only if it carries our job tag. */
static int expire_copy(struct ob_target *t, struct ob_job *job, struct ob_error *err)
{
	struct ob_store_change chg = { 0 };
	struct ob_rds_snapshot snap;
	struct ob_error e;
	int found;

	memset(&snap, 0, sizeof(snap));
	found = ob_jobs_describe_copy(&t->jobs, job->kind, job->copy_id, &snap, &e);
	if (found < 0)
		goto later;
	if (found == 0 && !ob_jobs_is_our_copy(job, &snap)) {
		unsigned i, n = t->n_untagged < 64 ? t->n_untagged : 64;

		ob_rds_snapshot_clear(&snap);
		for (i = 0; i < n; i++)
			if (strcmp(t->untagged[i], job->id) == 0)
				return 0; /* warned already; it stays untouched */
		snprintf(t->untagged[t->n_untagged++ % 64], OB_JOB_ID_SIZE, "%s", job->id);
		ob_log_job(OB_LOG_WARNING, job->id, "verified", job->source_arn,
			   "retention: %s lacks the %s=%s tag; not deleting it", job->copy_id,
			   OB_TAG_JOB, job->id);
		return 0;
	}
	ob_rds_snapshot_clear(&snap);
	if (found == 0) {
		t->jobs.client->finish_on_stop = true;
		if (ob_rds_delete_snapshot(t->jobs.client->aws, job->kind, job->copy_id, &e) < 0 &&
		    !ob_jobs_code_in(&e, ob_jobs_not_found_codes)) {
			t->jobs.client->finish_on_stop = false;
			goto later;
		}
		t->jobs.client->finish_on_stop = false;
		chg.detail = "expired: deleted by retention";
	} else {
		chg.detail = "expired: vault copy was already gone";
	}
	t->stats.expired++;
	return ob_jobs_apply(&t->jobs, job, OB_EV_EXPIRED, &chg, NULL, err);
later:
	if (e.kind == OB_ERR_CANCELLED) {
		*err = e;
		return -1;
	}
	ob_log_job(OB_LOG_WARNING, job->id, "verified", job->source_arn,
		   "retention: cannot delete %s now; next pass: %s", job->copy_id, e.message);
	return 0;
}

/* A verified copy as the retention walk holds it: its database,
 * "<source account>/<db id>", its id and the snapshot's time. */
struct held {
	char key[300];
	char id[OB_JOB_ID_SIZE];
	int64_t time;
	size_t pos; /* order of arrival, for a stable sort */
};

/* The retention walk: the verified copies of the db_id being gathered (the
 * store hands them over ordered by db_id, so one database at a time is in
 * memory), and the ids of the copies the policy lets go. */
struct retain_walk {
	struct ob_target *t;
	struct ob_retain_policy pol;
	struct held *rows;
	size_t n, cap;
	bool *keep;
	int64_t *times;
	char (*doomed)[OB_JOB_ID_SIZE];
	size_t n_doomed;
	char db_id[300]; /* of the rows gathered */
	struct ob_error *err;
};

/* By database, then in order of arrival (qsort is not stable; retention
 * breaks ties between equal times by position). */
static int by_key(const void *pa, const void *pb)
{
	const struct held *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c != 0)
		return c;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Retention and the RPO watch over the gathered rows (one db_id, possibly
 * several source accounts): per database, the policy picks what to keep;
 * the rest is queued for deletion, at most BATCH_JOBS per pass. */
static int retain_group(struct retain_walk *w)
{
	size_t i, k, n;

	qsort(w->rows, w->n, sizeof(*w->rows), by_key);
	for (i = 0; i < w->n; i += n) {
		int64_t newest = INT64_MIN;

		for (n = 0; i + n < w->n && strcmp(w->rows[i + n].key, w->rows[i].key) == 0; n++) {
			w->times[n] = w->rows[i + n].time;
			if (w->times[n] > newest)
				newest = w->times[n];
		}
		rpo_check(w->t, w->rows[i].key, newest);
		if (ob_retain_select(w->times, n, &w->pol, w->keep, w->err) < 0) {
			ob_log(OB_LOG_ERR, "retention for %s: %s", w->rows[i].key, w->err->message);
			continue;
		}
		for (k = 0; k < n && w->n_doomed < BATCH_JOBS; k++)
			if (!w->keep[k])
				memcpy(w->doomed[w->n_doomed++], w->rows[i + k].id, OB_JOB_ID_SIZE);
	}
	w->n = 0;
	return 0;
}

/* ob_store_each_brief's callback: gather one db_id's copies, hand each
 * finished group to retain_group(). */
static int retain_row(void *ctx, const struct ob_job_brief *b)
{
	struct retain_walk *w = ctx;
	struct ob_snapshot_ref ref;
	struct held *h;

	if (w->n > 0 && strncmp(w->db_id, b->db_id, sizeof(w->db_id)) != 0)
		retain_group(w);
	snprintf(w->db_id, sizeof(w->db_id), "%s", b->db_id);
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct held *rows = realloc(w->rows, cap * sizeof(*rows));
		bool *keep = rows ? realloc(w->keep, cap * sizeof(*keep)) : NULL;
		int64_t *times = keep ? realloc(w->times, cap * sizeof(*times)) : NULL;

		if (rows != NULL)
			w->rows = rows;
		if (keep != NULL)
			w->keep = keep;
		if (times == NULL) {
			ob_error_set(w->err, OB_ERR_NOMEM, "out of memory");
			return -1;
		}
		w->times = times;
		w->cap = cap;
	}
	h = &w->rows[w->n];
	if (ob_ident_parse_snapshot_arn(b->source_arn, &ref, NULL) < 0)
		snprintf(h->key, sizeof(h->key), "?/%s", b->db_id);
	else
		snprintf(h->key, sizeof(h->key), "%s/%s", ref.account, b->db_id);
	snprintf(h->id, sizeof(h->id), "%s", b->id);
	h->time = b->snapshot_time;
	h->pos = w->n++;
	return 0;
}

/* One pass over every verified copy, database by database: retention
 * deletes what the GFS policy lets go (never the newest), the RPO watch
 * looks at the newest. The store walks the copies ordered by database, so
 * the pass holds one database's copies at a time (a 10,000-copy vault stays
 * small) and costs O(n log n); the doomed copies are read back and deleted
 * after the walk, since nothing may write to the store during it. */
static int retain_pass(struct ob_target *t, struct ob_error *err)
{
	const struct ob_config *cfg = t->jobs.cfg;
	struct retain_walk w = { .t = t, .err = err };
	struct ob_job job;
	size_t i;
	int rc = -1;

	w.pol = (struct ob_retain_policy){ cfg->keep_daily, cfg->keep_weekly, cfg->keep_monthly,
					   cfg->keep_yearly };
	w.doomed = calloc(BATCH_JOBS, sizeof(*w.doomed));
	if (w.doomed == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < t->n_rpo; i++)
		t->rpo[i].seen = false;
	if (ob_store_each_brief(t->jobs.store, OB_JOB_VERIFIED, retain_row, &w, err) != 0)
		goto out;
	if (w.n > 0)
		retain_group(&w);
	rpo_metrics(t);
	for (i = 0; i < w.n_doomed; i++) {
		int e;

		if (ob_store_job_get(t->jobs.store, w.doomed[i], &job, err) < 0) {
			if (err != NULL && err->kind == OB_ERR_NOTFOUND)
				continue;
			goto out;
		}
		e = job.state == OB_JOB_VERIFIED ? expire_copy(t, &job, err) : 0;
		ob_job_clear(&job);
		if (e < 0)
			goto out;
	}
	rc = 0;
out:
	free(w.rows);
	free(w.keep);
	free(w.times);
	free(w.doomed);
	return rc;
}

/* ---- sweep -------------------------------------------------------------- */

/* List the snapshots shared with this vault and import the export copies
 * of allowed accounts that have no job: lost announcements. */
static int sweep(struct ob_target *t, struct ob_error *err)
{
	const struct ob_config *cfg = t->jobs.cfg;
	unsigned long before = t->stats.swept;
	struct ob_error aerr, e;
	struct ob_job job;
	bool created;
	size_t i;
	int kind;

	for (kind = OB_SNAP_INSTANCE; kind <= OB_SNAP_CLUSTER; kind++) {
		struct ob_rds_describe q = { 0 };
		struct ob_rds_snapshot_list list;

		q.kind = (enum ob_snap_kind)kind;
		q.snapshot_type = "shared";
		if (ob_rds_describe_snapshots(t->jobs.client->aws, &q, &list, &aerr) < 0) {
			if (aerr.kind == OB_ERR_CANCELLED) {
				*err = aerr;
				return -1;
			}
			ob_log(OB_LOG_WARNING, "sweep: cannot list shared %s snapshots: %s",
			       ob_snap_kind_name(q.kind), aerr.message);
			continue;
		}
		for (i = 0; i < list.n; i++) {
			const struct ob_rds_snapshot *snap = &list.items[i];
			struct ob_snapshot_ref ref;
			struct origin o;

			if (strcmp(snap->status, "available") != 0 ||
			    ob_ident_parse_snapshot_arn(snap->arn, &ref, &e) < 0 ||
			    !ob_ident_is_own_copy_name(ref.name) ||
			    strcmp(ref.region, cfg->region) != 0 ||
			    !ob_config_account_listed(cfg->allowed_source_accounts, ref.account))
				continue;
			memset(&job, 0, sizeof(job));
			if (ob_store_job_by_arn(t->jobs.store, snap->arn, &job, &e) == 0) {
				ob_job_clear(&job);
				continue;
			}
			if (e.kind != OB_ERR_NOTFOUND) {
				*err = e;
				ob_rds_snapshot_list_clear(&list);
				return -1;
			}
			memset(&o, 0, sizeof(o));
			o.kind = snap->kind;
			o.arn = snap->arn;
			o.source_snapshot = "";
			o.db_id = snap->db_id;
			o.engine = snap->engine;
			o.engine_version = snap->engine_version;
			o.allocated_gib = snap->allocated_storage;
			o.snapshot_time = snapshot_time_of(snap);
			o.origin = "sweep";
			if (create_job(t, &o, &created, err) < 0) {
				ob_rds_snapshot_list_clear(&list);
				return -1;
			}
			if (created)
				t->stats.swept++;
		}
		ob_rds_snapshot_list_clear(&list);
	}
	if (t->stats.swept != before)
		ob_log(OB_LOG_NOTICE, "sweep: %lu shared snapshot(s) had no job (lost "
		       "announcements); imports created", t->stats.swept - before);
	return 0;
}

/* ---- the role ----------------------------------------------------------- */

int ob_target_run(struct ob_target *t, int64_t *ret_next_ms, struct ob_error *err)
{
	static const enum ob_job_state later[] = { OB_JOB_IMPORTING, OB_JOB_IMPORTED };
	static const enum ob_job_state announced[] = { OB_JOB_ANNOUNCED };
	const struct ob_config *cfg = t->jobs.cfg;
	int64_t next, next_announced;
	size_t slots;

	*ret_next_ms = OB_FSM_NEVER;
	/* The alert outbox agrees with the jobs: at start-up, when a reload
	 * sets the topic, then every OB_JOBS_RECONCILE_MS. */
	if (ob_jobs_alerts_due(&t->jobs)) {
		ob_jobs_reconcile_alerts(&t->jobs);
		ob_target_reconcile_rejections(t);
	}
	ob_target_reject_summaries(t);
	if (cfg->sweep_interval_ms > 0 && now_ms(t) >= t->next_sweep_ms) {
		t->next_sweep_ms = now_ms(t) + cfg->sweep_interval_ms;
		if (sweep(t, err) < 0)
			return -1;
	}
	if (ob_jobs_poll(&t->jobs, OB_JOB_IMPORTING, err) < 0 ||
	    ob_jobs_free_slots(&t->jobs, OB_JOB_IMPORTING, &slots, err) < 0 ||
	    ob_jobs_run_state(&t->jobs, OB_JOB_ANNOUNCED, slots, do_import, t, err) < 0 ||
	    ob_jobs_run_state(&t->jobs, OB_JOB_IMPORTED, BATCH_JOBS, do_verify, t, err) < 0)
		return -1;
	if (now_ms(t) >= t->next_retain_ms) {
		t->next_retain_ms = now_ms(t) + cfg->poll_interval_ms;
		if (retain_pass(t, err) < 0)
			return -1;
	}
	if (ob_store_next_due(t->jobs.store, later, 2, &next, err) < 0 ||
	    ob_jobs_free_slots(&t->jobs, OB_JOB_IMPORTING, &slots, err) < 0)
		return -1;
	if (slots > 0) {
		if (ob_store_next_due(t->jobs.store, announced, 1, &next_announced, err) < 0)
			return -1;
		if (next_announced < next)
			next = next_announced;
	}
	if (cfg->sweep_interval_ms > 0 && t->next_sweep_ms < next)
		next = t->next_sweep_ms;
	if (t->next_retain_ms < next)
		next = t->next_retain_ms;
	*ret_next_ms = next;
	return 0;
}

struct ob_target *ob_target_new(const struct ob_target_options *opt, struct ob_error *err)
{
	struct ob_target *t;
	const char *key;
	size_t n;

	if (opt->cfg == NULL || opt->client == NULL || opt->client->aws == NULL ||
	    opt->store == NULL || opt->account == NULL || strlen(opt->account) != 12) {
		ob_error_set(err, OB_ERR_INVALID, "target role: missing options");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	ob_jobs_init(&t->jobs, opt->cfg, opt->client, opt->store, opt->clock, opt->stop, 0);
	t->jobs.metrics = opt->metrics;
	t->jobs.alerts = opt->alerts;
	memcpy(t->account, opt->account, 12);
	/* The vault's partition, from its import key ARN (arn:<partition>:kms:...);
	 * a bare key id means the standard one. */
	key = opt->cfg->import_kms_key;
	snprintf(t->partition, sizeof(t->partition), "aws");
	if (strncmp(key, "arn:", 4) == 0) {
		n = strcspn(key + 4, ":");
		if (n > 0 && n < sizeof(t->partition))
			snprintf(t->partition, sizeof(t->partition), "%.*s", (int)n, key + 4);
	}
	t->next_sweep_ms = now_ms(t); /* sweep once at start */
	t->next_retain_ms = now_ms(t);
	return t;
}

void ob_target_free(struct ob_target *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_rpo; i++)
		free(t->rpo[i].key);
	free(t->rpo);
	free(t->rlim);
	free(t);
}

void ob_target_set_config(struct ob_target *t, const struct ob_config *cfg)
{
	ob_jobs_set_config(&t->jobs, cfg, 0);
}

void ob_target_get_stats(const struct ob_target *t, struct ob_target_stats *ret)
{
	*ret = t->stats;
}
