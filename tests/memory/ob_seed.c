/*
 * ob_seed.c - fill a state database with jobs through the product's own
 * code, for the memory campaign (tests/memory/bigdb.py).
 *
 *   ob-seed --db PATH --role source|target --region R --source-account A
 *           --vault-account V [--retention-ms MS] < spec > manifest
 *
 * Each spec line (tab-separated) describes one job:
 *
 *   state kind source_snapshot_arn db_id engine engine_version gib
 *   snapshot_time created_ms
 *
 * kind is "db-snapshot" or "db-cluster-snapshot"; source_snapshot_arn is
 * the snapshot in the source account. A source-role job is about that
 * snapshot; a vault job is about its export copy, whose ARN is derived
 * here as the source daemon names it (ob_ident_copy_id). The job is
 * inserted the way the daemon's intake does (ob_store_job_insert, state
 * pending / announced) and walked to `state` through ob_fsm_step() and
 * ob_store_job_step(), one history row per transition, each a few minutes
 * after the previous (created_ms is the insert time). Nothing is written
 * by hand: the schema, the ids, the copy names and the history are the
 * library's. One manifest line per job goes to stdout:
 *
 *   job_id state job_source_arn copy_id
 *
 * Exit 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ob/error.h"
#include "ob/fsm.h"
#include "ob/ident.h"
#include "ob/jobs.h"
#include "ob/rds.h"
#include "ob/store.h"

#define STEP_GAP_MS (3 * 60 * 1000) /* between two transitions of a job */

static const enum ob_fsm_event_kind source_path[] = {
	OB_EV_COPY_STARTED, OB_EV_COPY_AVAILABLE, OB_EV_SHARED, OB_EV_NOTIFIED, OB_EV_EXPIRED,
};
static const enum ob_fsm_event_kind target_path[] = {
	OB_EV_COPY_STARTED, OB_EV_COPY_AVAILABLE, OB_EV_VERIFIED, OB_EV_EXPIRED,
};

struct opts {
	const char *db, *role, *region, *src_account, *vault_account;
	int64_t retention_ms;
};

static void die(const char *what, const struct ob_error *e)
{
	fprintf(stderr, "ob-seed: %s: %s\n", what, e ? e->message : strerror(errno));
	exit(1);
}

/* Split line in place at tabs into at most max fields; the count. */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

/* The provenance tags the vault's intake stores with a job. */
static char *target_tags(const char *arn, const char *account, const char *db_id,
			 int64_t snapshot_time, const char *source_snapshot)
{
	struct ob_rds_tag_ref tags[5];
	char when[32];
	time_t t = (time_t)snapshot_time;
	struct tm tm;
	struct ob_error e;
	char *json;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	tags[0] = (struct ob_rds_tag_ref){ OB_TAG_SOURCE_ARN, arn };
	tags[1] = (struct ob_rds_tag_ref){ OB_TAG_SOURCE_ACCOUNT, account };
	tags[2] = (struct ob_rds_tag_ref){ "offsite-backup:source-time", when };
	tags[3] = (struct ob_rds_tag_ref){ "offsite-backup:db", db_id };
	tags[4] = (struct ob_rds_tag_ref){ "offsite-backup:source-snapshot", source_snapshot };
	json = ob_jobs_tags_json(tags, 5, &e);
	if (json == NULL)
		die("tags", &e);
	return json;
}

static void seed_one(struct ob_store *st, const struct opts *o, const struct ob_fsm_policy *pol,
		     char **f)
{
	const bool target = strcmp(o->role, "target") == 0;
	struct ob_snapshot_ref ref;
	enum ob_job_state want;
	struct ob_job job, got;
	struct ob_error e;
	char id[OB_JOB_ID_SIZE], copy_id[OB_RDS_ID_MAX + 1], export_id[OB_RDS_ID_MAX + 1];
	char arn[600], copy_arn[600], detail[64];
	char *tags;
	int64_t now;
	bool created;
	size_t i, n_path;
	const enum ob_fsm_event_kind *path;

	if (ob_job_state_parse(f[0], &want) < 0) {
		fprintf(stderr, "ob-seed: unknown state %s\n", f[0]);
		exit(1);
	}
	if (ob_ident_parse_snapshot_arn(f[2], &ref, &e) < 0)
		die(f[2], &e);
	now = strtoll(f[8], NULL, 10);
	if (target) {
		/* The vault's job is about the source daemon's export copy. */
		if (ob_ident_copy_id(f[2], ref.name, export_id, sizeof(export_id), &e) < 0)
			die("copy id", &e);
		snprintf(arn, sizeof(arn), "arn:%s:rds:%s:%s:%s:%s", ref.partition, ref.region,
			 ref.account, ref.kind == OB_SNAP_CLUSTER ? "cluster-snapshot" : "snapshot",
			 export_id);
		if (ob_ident_copy_id(arn, export_id, copy_id, sizeof(copy_id), &e) < 0)
			die("copy id", &e);
		tags = target_tags(arn, ref.account, f[3], strtoll(f[7], NULL, 10), f[2]);
	} else {
		snprintf(arn, sizeof(arn), "%s", f[2]);
		if (ob_ident_copy_id(arn, ref.name, copy_id, sizeof(copy_id), &e) < 0)
			die("copy id", &e);
		tags = strdup("");
	}
	ob_ident_job_id(arn, id);
	snprintf(copy_arn, sizeof(copy_arn), "arn:aws:rds:%s:%s:%s:%s", o->region,
		 target ? o->vault_account : o->src_account,
		 ref.kind == OB_SNAP_CLUSTER ? "cluster-snapshot" : "snapshot", copy_id);

	memset(&job, 0, sizeof(job));
	job.id = id;
	job.role = target ? "target" : "source";
	job.kind = ref.kind;
	job.source_arn = arn;
	job.db_id = f[3];
	job.copy_id = copy_id;
	job.copy_arn = "";
	job.state = target ? OB_JOB_ANNOUNCED : OB_JOB_PENDING;
	job.failed_from = job.state;
	job.next_at_ms = now;
	job.engine = f[4];
	job.engine_version = f[5];
	job.allocated_gib = strtol(f[6], NULL, 10);
	job.snapshot_time = strtoll(f[7], NULL, 10);
	job.origin = "event";
	job.error_code = "";
	job.error_message = "";
	job.source_tags = tags;
	snprintf(detail, sizeof(detail), "created from event");
	if (ob_store_job_insert(st, &job, detail, now, &created, &e) < 0)
		die("insert", &e);
	free(tags);
	if (!created) {
		fprintf(stderr, "ob-seed: duplicate job for %s\n", arn);
		exit(1);
	}
	memset(&got, 0, sizeof(got));
	if (ob_store_job_get(st, id, &got, &e) < 0)
		die("get", &e);
	path = target ? target_path : source_path;
	n_path = target ? sizeof(target_path) / sizeof(*path) : sizeof(source_path) / sizeof(*path);
	for (i = 0; i < n_path && got.state != want; i++) {
		struct ob_fsm_job fj = { got.state, got.failed_from, got.attempts, got.defers };
		struct ob_fsm_event ev = { path[i], (uint32_t)rand() };
		struct ob_store_change chg = { 0 };
		struct ob_fsm_step step;

		now += STEP_GAP_MS;
		if (ob_fsm_step(pol, &fj, &ev, now, &step, &e) < 0)
			die("fsm", &e);
		if (path[i] == OB_EV_COPY_STARTED)
			chg.copy_arn = copy_arn;
		chg.detail = path[i] == OB_EV_EXPIRED
				     ? (target ? "expired: deleted by retention"
					       : "expired: export copy deleted")
				     : "";
		if (ob_store_job_step(st, &got, &step, &chg, now, &e) < 0)
			die("step", &e);
	}
	if (got.state != want) {
		fprintf(stderr, "ob-seed: %s cannot reach state %s\n", o->role, f[0]);
		exit(1);
	}
	printf("%s\t%s\t%s\t%s\n", id, ob_job_state_name(got.state), arn, copy_id);
	ob_job_clear(&got);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ob_fsm_policy pol = { 10, 1000, 3LL * 86400 * 1000, 1000, 300000 };
	struct ob_store *st;
	struct ob_error e;
	char line[4096];
	char *f[9];
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--db") == 0)
			o.db = argv[i + 1];
		else if (strcmp(argv[i], "--role") == 0)
			o.role = argv[i + 1];
		else if (strcmp(argv[i], "--region") == 0)
			o.region = argv[i + 1];
		else if (strcmp(argv[i], "--source-account") == 0)
			o.src_account = argv[i + 1];
		else if (strcmp(argv[i], "--vault-account") == 0)
			o.vault_account = argv[i + 1];
		else if (strcmp(argv[i], "--retention-ms") == 0)
			pol.retention_ms = strtoll(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (i != argc || !o.db || !o.role || !o.region || !o.src_account || !o.vault_account ||
	    (strcmp(o.role, "source") != 0 && strcmp(o.role, "target") != 0)) {
		fprintf(stderr, "usage: ob-seed --db PATH --role source|target --region R "
				"--source-account A --vault-account V [--retention-ms MS] "
				"< spec > manifest\n");
		return 2;
	}
	srand(1);
	if (ob_store_open(o.db, false, &st, &e) < 0)
		die(o.db, &e);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (split(line, f, 9) != 9) {
			fprintf(stderr, "ob-seed: bad spec line (need 9 tab-separated fields)\n");
			return 1;
		}
		seed_one(st, &o, &pol, f);
	}
	ob_store_close(st);
	return fflush(stdout) == 0 ? 0 : 1;
}
