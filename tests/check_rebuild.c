/*
 * check_rebuild.c - the pure half of offsite-backupctl rebuild: which state
 * a copy's status resumes in, and which copies are believed. Every tag the
 * rebuild reads is falsified in turn and must make it skip the copy, never
 * trust it.
 */
#include <stdlib.h>
#include <string.h>

#include "check_ob.h"
#include "ob/ident.h"
#include "ob/rebuild.h"


#define REGION "eu-central-1"
#define SRC    "111111111111"
#define VAULT  "222222222222"
#define SRC_ARN "arn:aws:rds:" REGION ":" SRC ":snapshot:awsbackup:job-1234"
#define CLU_ARN "arn:aws:rds:" REGION ":" SRC ":cluster-snapshot:ledger-2026"

/* A snapshot as Describe gives it, with up to 8 tags; strings static. */
struct tsnap {
	struct ob_rds_snapshot s;
	struct ob_rds_tag tags[8];
	char id[OB_RDS_ID_MAX + 1], arn[400], job[OB_JOB_ID_SIZE];
	char export_arn[400];
};

static void set_tag(struct tsnap *t, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < t->s.n_tags; i++)
		if (strcmp(t->tags[i].key, key) == 0) {
			if (value == NULL) {
				memmove(&t->tags[i], &t->tags[i + 1],
					(t->s.n_tags - i - 1) * sizeof(t->tags[0]));
				t->s.n_tags--;
			} else {
				t->tags[i].value = (char *)value;
			}
			return;
		}
	if (value != NULL) {
		ck_assert_uint_lt(t->s.n_tags, 8);
		t->tags[t->s.n_tags].key = (char *)key;
		t->tags[t->s.n_tags].value = (char *)value;
		t->s.n_tags++;
	}
}

static void base(struct tsnap *t, enum ob_snap_kind kind, const char *status)
{
	memset(t, 0, sizeof(*t));
	t->s.kind = kind;
	t->s.status = (char *)status;
	t->s.snapshot_type = "manual";
	t->s.engine = "postgres";
	t->s.engine_version = "16.3";
	t->s.kms_key_id = "arn:aws:kms:" REGION ":" SRC ":key/k";
	t->s.source_snapshot = "";
	t->s.allocated_storage = 100;
	t->s.create_time = 1800000100;
	t->s.original_create_time = 1800000000;
	t->s.tags = t->tags;
}

/* The export copy of source_arn in the source account, as source.c tags it,
 * plus one of the source snapshot's own tags. */
static struct ob_rds_snapshot *export_copy(struct tsnap *t, const char *source_arn,
					   const char *status)
{
	struct ob_snapshot_ref ref;

	base(t, strstr(source_arn, ":cluster-snapshot:") ? OB_SNAP_CLUSTER : OB_SNAP_INSTANCE,
	     status);
	ck_assert_int_eq(ob_ident_parse_snapshot_arn(source_arn, &ref, NULL), 0);
	ck_assert_int_eq(ob_ident_copy_id(source_arn, ref.name, t->id, sizeof(t->id), NULL), 0);
	ob_ident_job_id(source_arn, t->job);
	snprintf(t->arn, sizeof(t->arn), "arn:aws:rds:%s:%s:%s:%s", REGION, SRC,
		 t->s.kind == OB_SNAP_CLUSTER ? "cluster-snapshot" : "snapshot", t->id);
	t->s.id = t->id;
	t->s.arn = t->arn;
	t->s.db_id = "orders-prod";
	set_tag(t, OB_TAG_JOB, t->job);
	set_tag(t, OB_TAG_SOURCE_ARN, source_arn);
	set_tag(t, "team", "payments");
	set_tag(t, "aws:backup:source-resource", "x");
	return &t->s;
}

/* The vault copy of the export copy of SRC_ARN, as target.c tags it. */
static struct ob_rds_snapshot *vault_copy(struct tsnap *t, const char *status)
{
	struct tsnap ex;
	struct ob_snapshot_ref ref;

	export_copy(&ex, SRC_ARN, "available");
	base(t, OB_SNAP_INSTANCE, status);
	snprintf(t->export_arn, sizeof(t->export_arn), "%s", ex.arn);
	ck_assert_int_eq(ob_ident_parse_snapshot_arn(t->export_arn, &ref, NULL), 0);
	ck_assert_int_eq(ob_ident_copy_id(t->export_arn, ref.name, t->id, sizeof(t->id), NULL), 0);
	ob_ident_job_id(t->export_arn, t->job);
	snprintf(t->arn, sizeof(t->arn), "arn:aws:rds:%s:%s:snapshot:%s", REGION, VAULT, t->id);
	t->s.id = t->id;
	t->s.arn = t->arn;
	t->s.db_id = "orders-prod";
	t->s.kms_key_id = "arn:aws:kms:" REGION ":" VAULT ":key/import";
	set_tag(t, OB_TAG_JOB, t->job);
	set_tag(t, OB_TAG_SOURCE_ARN, t->export_arn);
	set_tag(t, OB_TAG_SOURCE_ACCOUNT, SRC);
	set_tag(t, "offsite-backup:source-time", "2027-01-15T08:00:00Z"); /* RDS's time */
	set_tag(t, "offsite-backup:db", "orders-prod");
	set_tag(t, "offsite-backup:source-snapshot", SRC_ARN);
	return &t->s;
}

static const struct ob_rebuild_scope source_scope = { OB_ROLE_SOURCE, SRC, REGION, "" };
static const struct ob_rebuild_scope vault_scope = { OB_ROLE_TARGET, VAULT, REGION,
						      "333333333333," SRC };

/* The copy must be skipped, with a reason holding why. */
static void expect_skip(const struct ob_rebuild_scope *sc, const struct ob_rds_snapshot *s,
			const char *why)
{
	struct ob_job job;
	struct ob_error err;

	ck_assert_int_eq(ob_rebuild_job(sc, s, 5, &job, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_msg(strstr(err.message, why) != NULL, "want '%s' in: %s", why, err.message);
	ck_assert_ptr_null(job.id);
	ob_job_clear(&job);
}

START_TEST(test_state_choice)
{
	static const struct {
		enum ob_role role;
		const char *status;
		int rc;
		enum ob_job_state want;
	} cases[] = {
		{ OB_ROLE_SOURCE, "creating", 0, OB_JOB_COPYING },
		{ OB_ROLE_SOURCE, "available", 0, OB_JOB_COPIED },
		{ OB_ROLE_TARGET, "creating", 0, OB_JOB_IMPORTING },
		{ OB_ROLE_TARGET, "available", 0, OB_JOB_IMPORTED },
		{ OB_ROLE_SOURCE, "failed", -1, 0 },
		{ OB_ROLE_TARGET, "failed", -1, 0 },
		{ OB_ROLE_SOURCE, "deleting", -1, 0 },
		{ OB_ROLE_TARGET, "", -1, 0 },
		{ OB_ROLE_SOURCE, "Available", -1, 0 },
		{ OB_ROLE_SOURCE, NULL, -1, 0 },
	};
	enum ob_job_state s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = OB_JOB_STATE_COUNT;
		ck_assert_msg(ob_rebuild_state(cases[i].role, cases[i].status, &s) == cases[i].rc,
			      "case %zu", i);
		if (cases[i].rc == 0)
			ck_assert_msg(s == cases[i].want, "case %zu: %s", i, ob_job_state_name(s));
	}
	/* Every state chosen is one the daemon acts on, due at once. */
	ck_assert(ob_job_state_active(OB_JOB_COPYING) && ob_job_state_active(OB_JOB_COPIED));
	ck_assert(ob_job_state_active(OB_JOB_IMPORTING) && ob_job_state_active(OB_JOB_IMPORTED));
}
END_TEST

START_TEST(test_source_copy)
{
	struct tsnap t;
	struct ob_job job;
	struct ob_error err;

	ck_assert_int_eq(ob_rebuild_job(&source_scope, export_copy(&t, SRC_ARN, "available"), 77,
					&job, &err), 0);
	ck_assert_str_eq(job.id, t.job);
	ck_assert_str_eq(job.role, "source");
	ck_assert_int_eq(job.kind, OB_SNAP_INSTANCE);
	ck_assert_str_eq(job.source_arn, SRC_ARN);
	ck_assert_str_eq(job.copy_id, t.id);
	ck_assert_str_eq(job.copy_arn, t.arn);
	ck_assert_str_eq(job.db_id, "orders-prod");
	ck_assert_int_eq(job.state, OB_JOB_COPIED);
	ck_assert_int_eq(job.next_at_ms, 77);
	ck_assert_int_eq(job.attempts, 0);
	ck_assert_str_eq(job.engine, "postgres");
	ck_assert_str_eq(job.engine_version, "16.3");
	ck_assert_int_eq(job.allocated_gib, 100);
	ck_assert_int_eq(job.snapshot_time, 1800000000); /* the original time */
	ck_assert_str_eq(job.origin, "rebuild");
	/* The source's own tags ride along; ours and aws:* do not. */
	ck_assert_str_eq(job.source_tags, "[{\"Key\":\"team\",\"Value\":\"payments\"}]");
	ob_job_clear(&job);

	ck_assert_int_eq(ob_rebuild_job(&source_scope, export_copy(&t, CLU_ARN, "creating"), 1,
					&job, &err), 0);
	ck_assert_int_eq(job.kind, OB_SNAP_CLUSTER);
	ck_assert_int_eq(job.state, OB_JOB_COPYING);
	ob_job_clear(&job);
}
END_TEST

START_TEST(test_vault_copy)
{
	struct tsnap t;
	struct ob_job job;
	struct ob_error err;

	ck_assert_int_eq(ob_rebuild_job(&vault_scope, vault_copy(&t, "creating"), 9, &job, &err), 0);
	ck_assert_str_eq(job.role, "target");
	ck_assert_str_eq(job.source_arn, t.export_arn);
	ck_assert_str_eq(job.id, t.job);
	ck_assert_int_eq(job.state, OB_JOB_IMPORTING);
	/* The time RDS reports (the tag agrees). */
	ck_assert_int_eq(job.snapshot_time, 1800000000);
	ck_assert_str_eq(job.db_id, "orders-prod");
	/* Our provenance tags are kept for the copy; the job tag is not. */
	ck_assert_ptr_nonnull(strstr(job.source_tags, OB_TAG_SOURCE_ACCOUNT));
	ck_assert_ptr_nonnull(strstr(job.source_tags, "offsite-backup:source-snapshot"));
	ck_assert_ptr_null(strstr(job.source_tags, "\"" OB_TAG_JOB "\""));
	ob_job_clear(&job);
	/* Without the time tag: what RDS kept. */
	vault_copy(&t, "available");
	set_tag(&t, "offsite-backup:source-time", NULL);
	ck_assert_int_eq(ob_rebuild_job(&vault_scope, &t.s, 9, &job, &err), 0);
	ck_assert_int_eq(job.state, OB_JOB_IMPORTED);
	ck_assert_int_eq(job.snapshot_time, 1800000000);
	ob_job_clear(&job);
}
END_TEST

/* Retention and the RPO watch go by what RDS reports: tags that disagree
 * with it (a hand edit, or someone who may tag in the vault) are not
 * trusted, the copy is skipped. */
START_TEST(test_vault_tags_checked_against_rds)
{
	struct tsnap t;
	struct ob_job job;
	struct ob_error err;

	vault_copy(&t, "available");
	set_tag(&t, "offsite-backup:source-time", "2027-01-15T09:00:00Z"); /* an hour off */
	expect_skip(&vault_scope, &t.s, "disagrees with the time RDS reports");
	vault_copy(&t, "available");
	set_tag(&t, "offsite-backup:source-time", "yesterday");
	expect_skip(&vault_scope, &t.s, "is not a time");
	vault_copy(&t, "available");
	set_tag(&t, "offsite-backup:db", "billing-prod");
	expect_skip(&vault_scope, &t.s, "disagrees with RDS's database orders-prod");
	vault_copy(&t, "available");
	t.s.db_id = "";
	expect_skip(&vault_scope, &t.s, "RDS reports no database");

	/* A cluster copy: RDS keeps no original time, the tag (the export
	 * copy's time) counts when it lies within the day before the vault
	 * copy was made (create_time 1800000100). */
	vault_copy(&t, "available");
	t.s.original_create_time = 0;
	set_tag(&t, "offsite-backup:source-time", "2027-01-15T07:00:00Z"); /* 1799996400 */
	ck_assert_int_eq(ob_rebuild_job(&vault_scope, &t.s, 9, &job, &err), 0);
	ck_assert_int_eq(job.snapshot_time, 1799996400);
	ob_job_clear(&job);
	set_tag(&t, "offsite-backup:source-time", "2027-01-15T09:00:00Z"); /* after the copy */
	expect_skip(&vault_scope, &t.s, "not within the day before the copy was made");
	set_tag(&t, "offsite-backup:source-time", "2027-01-13T08:00:00Z"); /* two days before */
	expect_skip(&vault_scope, &t.s, "not within the day before the copy was made");
	set_tag(&t, "offsite-backup:source-time", NULL);
	ck_assert_int_eq(ob_rebuild_job(&vault_scope, &t.s, 9, &job, &err), 0);
	ck_assert_int_eq(job.snapshot_time, 1800000100);
	ob_job_clear(&job);
}
END_TEST

START_TEST(test_not_ours)
{
	struct tsnap t;
	struct ob_job job;
	struct ob_error err;

	export_copy(&t, SRC_ARN, "available");
	set_tag(&t, OB_TAG_JOB, NULL);
	set_tag(&t, OB_TAG_SOURCE_ARN, NULL);
	ck_assert_int_eq(ob_rebuild_job(&source_scope, &t.s, 1, &job, &err), 1);
	ck_assert_ptr_null(job.id);
	t.s.n_tags = 0;
	t.s.tags = NULL;
	ck_assert_int_eq(ob_rebuild_job(&source_scope, &t.s, 1, &job, &err), 1);
}
END_TEST

START_TEST(test_inconsistent_skipped)
{
	struct tsnap t;
	char other_job[OB_JOB_ID_SIZE];

	/* Each provenance tag missing. */
	export_copy(&t, SRC_ARN, "available");
	set_tag(&t, OB_TAG_JOB, NULL);
	expect_skip(&source_scope, &t.s, "no offsite-backup:job tag");
	export_copy(&t, SRC_ARN, "available");
	set_tag(&t, OB_TAG_SOURCE_ARN, NULL);
	expect_skip(&source_scope, &t.s, "no offsite-backup:source-arn tag");
	/* The job tag of another snapshot. */
	export_copy(&t, SRC_ARN, "available");
	ob_ident_job_id(CLU_ARN, other_job);
	set_tag(&t, OB_TAG_JOB, other_job);
	expect_skip(&source_scope, &t.s, "is not the job of its");
	/* A source ARN that is not one. */
	export_copy(&t, SRC_ARN, "available");
	set_tag(&t, OB_TAG_SOURCE_ARN, "arn:aws:s3:::bucket");
	expect_skip(&source_scope, &t.s, "offsite-backup:source-arn tag");
	/* The copy renamed (or a copy someone tagged by hand). */
	export_copy(&t, SRC_ARN, "available");
	t.s.id = "ob-forged-0";
	expect_skip(&source_scope, &t.s, "named ob-forged-0");
	/* A cluster ARN on an instance copy. */
	export_copy(&t, SRC_ARN, "available");
	t.s.kind = OB_SNAP_CLUSTER;
	expect_skip(&source_scope, &t.s, "names a db-snapshot, the copy is a db-cluster-snapshot");
	/* An account tag that disagrees with the ARN. */
	export_copy(&t, SRC_ARN, "available");
	set_tag(&t, OB_TAG_SOURCE_ACCOUNT, "999999999999");
	expect_skip(&source_scope, &t.s, "disagrees");
	/* Another account's snapshot, on the source. */
	export_copy(&t, SRC_ARN, "available");
	expect_skip(&(struct ob_rebuild_scope){ OB_ROLE_SOURCE, "444444444444", REGION, "" },
		    &t.s, "not this one");
	/* Another region. */
	expect_skip(&(struct ob_rebuild_scope){ OB_ROLE_SOURCE, SRC, "us-east-1", "" }, &t.s,
		    "region eu-central-1, not us-east-1");
	/* A status no job resumes from. */
	export_copy(&t, SRC_ARN, "failed");
	expect_skip(&source_scope, &t.s, "status failed");

	/* The vault: the account tag is required, and must be allowed. */
	vault_copy(&t, "available");
	set_tag(&t, OB_TAG_SOURCE_ACCOUNT, NULL);
	expect_skip(&vault_scope, &t.s, "no offsite-backup:source-account tag");
	vault_copy(&t, "available");
	expect_skip(&(struct ob_rebuild_scope){ OB_ROLE_TARGET, VAULT, REGION, "333333333333" },
		    &t.s, "not in allowed_source_accounts");
	expect_skip(&(struct ob_rebuild_scope){ OB_ROLE_TARGET, VAULT, REGION, "" }, &t.s,
		    "not in allowed_source_accounts");
	/* A vault copy whose source is the vault itself. */
	expect_skip(&(struct ob_rebuild_scope){ OB_ROLE_TARGET, SRC, REGION, SRC }, &t.s,
		    "not in allowed_source_accounts");
}
END_TEST

Suite *ob_suite_rebuild(void)
{
	Suite *s = suite_create("rebuild");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_state_choice);
	tcase_add_test(tc, test_source_copy);
	tcase_add_test(tc, test_vault_copy);
	tcase_add_test(tc, test_vault_tags_checked_against_rds);
	tcase_add_test(tc, test_not_ours);
	tcase_add_test(tc, test_inconsistent_skipped);
	suite_add_tcase(s, tc);
	return s;
}
