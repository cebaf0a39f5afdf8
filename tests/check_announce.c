/*
 * check_announce.c - the announcement document: golden JSON for an instance
 * and a cluster snapshot, the same parsed back with jansson (every field,
 * the key order), escaping, time formatting at the edges, and every field
 * refused in turn (NULL, empty, not UTF-8, negative) with an error that
 * names the field and not its value.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_ob.h"
#include "ob/announce.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define KMS "arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"

static struct ob_announcement instance_announcement(void)
{
	struct ob_announcement a = {
		.kind = OB_SNAP_INSTANCE,
		.snapshot_arn = "arn:aws:rds:eu-central-1:111111111111:snapshot:"
				"ob-awsbackup-job-1234-ef8b3d3cc9aa",
		.source_snapshot_arn = "arn:aws:rds:eu-central-1:111111111111:snapshot:"
				       "awsbackup:job-1234",
		.source_account = "111111111111",
		.region = "eu-central-1",
		.db_identifier = "orders-prod",
		.engine = "postgres",
		.engine_version = "16.3",
		.allocated_storage_gib = 100,
		.snapshot_time = 1795323791, /* 2026-11-22T05:03:11Z (date -u -d ... +%s) */
		.export_kms_key = KMS,
	};
	return a;
}

static struct ob_announcement cluster_announcement(void)
{
	struct ob_announcement a = {
		.kind = OB_SNAP_CLUSTER,
		.snapshot_arn = "arn:aws:rds:eu-central-1:111111111111:cluster-snapshot:"
				"ob-rds-billing-aurora-2026-11-22-04-00-e1635f88b36d",
		.source_snapshot_arn = "arn:aws:rds:eu-central-1:111111111111:cluster-snapshot:"
				       "rds:billing-aurora-2026-11-22-04-00",
		.source_account = "111111111111",
		.region = "eu-central-1",
		.db_identifier = "billing-aurora",
		.engine = "aurora-postgresql",
		.engine_version = "15.4",
		.allocated_storage_gib = 1,
		.snapshot_time = 1795320000, /* 2026-11-22T04:00:00Z */
		.export_kms_key = "alias/offsite-export",
	};
	return a;
}

static const char instance_golden[] =
	"{\"schema\":\"offsite-backup/1\",\"kind\":\"db-snapshot\","
	"\"snapshot_arn\":\"arn:aws:rds:eu-central-1:111111111111:snapshot:"
	"ob-awsbackup-job-1234-ef8b3d3cc9aa\","
	"\"source_snapshot_arn\":\"arn:aws:rds:eu-central-1:111111111111:snapshot:"
	"awsbackup:job-1234\","
	"\"source_account\":\"111111111111\",\"region\":\"eu-central-1\","
	"\"db_identifier\":\"orders-prod\",\"engine\":\"postgres\",\"engine_version\":\"16.3\","
	"\"allocated_storage_gib\":100,\"snapshot_time\":\"2026-11-22T05:03:11Z\","
	"\"export_kms_key\":\"" KMS "\"}";

static const char cluster_golden[] =
	"{\"schema\":\"offsite-backup/1\",\"kind\":\"db-cluster-snapshot\","
	"\"snapshot_arn\":\"arn:aws:rds:eu-central-1:111111111111:cluster-snapshot:"
	"ob-rds-billing-aurora-2026-11-22-04-00-e1635f88b36d\","
	"\"source_snapshot_arn\":\"arn:aws:rds:eu-central-1:111111111111:cluster-snapshot:"
	"rds:billing-aurora-2026-11-22-04-00\","
	"\"source_account\":\"111111111111\",\"region\":\"eu-central-1\","
	"\"db_identifier\":\"billing-aurora\",\"engine\":\"aurora-postgresql\","
	"\"engine_version\":\"15.4\",\"allocated_storage_gib\":1,"
	"\"snapshot_time\":\"2026-11-22T04:00:00Z\",\"export_kms_key\":\"alias/offsite-export\"}";

START_TEST(test_golden_instance)
{
	struct ob_announcement a = instance_announcement();
	struct ob_error err;
	char *doc = ob_announce_build(&a, &err);

	ck_assert_msg(doc != NULL, "%s", err.message);
	ck_assert_str_eq(doc, instance_golden);
	free(doc);
}
END_TEST

START_TEST(test_golden_cluster)
{
	struct ob_announcement a = cluster_announcement();
	struct ob_error err;
	char *doc = ob_announce_build(&a, &err);

	ck_assert_msg(doc != NULL, "%s", err.message);
	ck_assert_str_eq(doc, cluster_golden);
	free(doc);
}
END_TEST

static const char *const key_order[] = {
	"schema", "kind", "snapshot_arn", "source_snapshot_arn", "source_account", "region",
	"db_identifier", "engine", "engine_version", "allocated_storage_gib", "snapshot_time",
	"export_kms_key",
};

static void assert_str_member(json_t *obj, const char *key, const char *want)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	ck_assert_str_eq(json_string_value(v), want);
}

/* Parse doc back and compare with a, independently of the golden strings. */
static void assert_round_trip(const char *doc, const struct ob_announcement *a,
			      const char *kind, const char *when)
{
	json_error_t jerr;
	json_t *root = json_loads(doc, JSON_REJECT_DUPLICATES, &jerr);
	void *it;
	size_t i = 0;

	ck_assert_msg(root != NULL, "%s", jerr.text);
	ck_assert(json_is_object(root));
	ck_assert_uint_eq(json_object_size(root), N(key_order));
	for (it = json_object_iter(root); it != NULL; it = json_object_iter_next(root, it), i++)
		ck_assert_str_eq(json_object_iter_key(it), key_order[i]);
	assert_str_member(root, "schema", OB_ANNOUNCE_SCHEMA);
	assert_str_member(root, "kind", kind);
	assert_str_member(root, "snapshot_arn", a->snapshot_arn);
	assert_str_member(root, "source_snapshot_arn", a->source_snapshot_arn);
	assert_str_member(root, "source_account", a->source_account);
	assert_str_member(root, "region", a->region);
	assert_str_member(root, "db_identifier", a->db_identifier);
	assert_str_member(root, "engine", a->engine);
	assert_str_member(root, "engine_version", a->engine_version);
	ck_assert(json_is_integer(json_object_get(root, "allocated_storage_gib")));
	ck_assert_int_eq(json_integer_value(json_object_get(root, "allocated_storage_gib")),
			 a->allocated_storage_gib);
	assert_str_member(root, "snapshot_time", when);
	assert_str_member(root, "export_kms_key", a->export_kms_key);
	json_decref(root);
}

START_TEST(test_round_trip)
{
	struct ob_announcement a = instance_announcement(), c = cluster_announcement();
	char *doc;

	doc = ob_announce_build(&a, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_null(strchr(doc, ' '));
	ck_assert_ptr_null(strchr(doc, '\n'));
	assert_round_trip(doc, &a, "db-snapshot", "2026-11-22T05:03:11Z");
	free(doc);
	doc = ob_announce_build(&c, NULL);
	ck_assert_ptr_nonnull(doc);
	assert_round_trip(doc, &c, "db-cluster-snapshot", "2026-11-22T04:00:00Z");
	free(doc);
}
END_TEST

/* Characters JSON must escape, and UTF-8, survive the trip. */
START_TEST(test_escaping)
{
	struct ob_announcement a = instance_announcement();
	char *doc;

	a.db_identifier = "quote\" back\\ slash/ tab\t nl\n";
	a.engine = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	a.engine_version = "\x01\x1f\x7f";
	doc = ob_announce_build(&a, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_null(strchr(doc, '\n'));
	ck_assert_ptr_null(strchr(doc, '\t'));
	assert_round_trip(doc, &a, "db-snapshot", "2026-11-22T05:03:11Z");
	free(doc);
}
END_TEST

START_TEST(test_time_and_size_edges)
{
	static const struct {
		int64_t t;
		const char *want;
	} rows[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 951782400, "2000-02-29T00:00:00Z" },
		{ 1795323791, "2026-11-22T05:03:11Z" },
		{ 4107542399, "2100-02-28T23:59:59Z" },
		{ 253402300799, "9999-12-31T23:59:59Z" },
	};
	struct ob_announcement a = instance_announcement();
	char *doc;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		a.snapshot_time = rows[i].t;
		doc = ob_announce_build(&a, NULL);
		ck_assert_ptr_nonnull(doc);
		assert_round_trip(doc, &a, "db-snapshot", rows[i].want);
		free(doc);
	}
	a = instance_announcement();
	a.allocated_storage_gib = 0;
	doc = ob_announce_build(&a, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_nonnull(strstr(doc, "\"allocated_storage_gib\":0,"));
	free(doc);
	a.allocated_storage_gib = 65536;
	doc = ob_announce_build(&a, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_nonnull(strstr(doc, "\"allocated_storage_gib\":65536,"));
	free(doc);
	a.allocated_storage_gib = LONG_MAX;
	doc = ob_announce_build(&a, NULL);
	ck_assert_ptr_nonnull(doc);
	assert_round_trip(doc, &a, "db-snapshot", "2026-11-22T05:03:11Z");
	free(doc);
}
END_TEST

enum field {
	F_SNAPSHOT_ARN, F_SOURCE_SNAPSHOT_ARN, F_SOURCE_ACCOUNT, F_REGION, F_DB_IDENTIFIER,
	F_ENGINE, F_ENGINE_VERSION, F_EXPORT_KMS_KEY, F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"snapshot_arn", "source_snapshot_arn", "source_account", "region", "db_identifier",
	"engine", "engine_version", "export_kms_key",
};

static void set_field(struct ob_announcement *a, enum field f, const char *v)
{
	switch (f) {
	case F_SNAPSHOT_ARN: a->snapshot_arn = v; break;
	case F_SOURCE_SNAPSHOT_ARN: a->source_snapshot_arn = v; break;
	case F_SOURCE_ACCOUNT: a->source_account = v; break;
	case F_REGION: a->region = v; break;
	case F_DB_IDENTIFIER: a->db_identifier = v; break;
	case F_ENGINE: a->engine = v; break;
	case F_ENGINE_VERSION: a->engine_version = v; break;
	case F_EXPORT_KMS_KEY: a->export_kms_key = v; break;
	case F_COUNT: break;
	}
}

static void assert_refused(const struct ob_announcement *a, const char *field)
{
	struct ob_error err;
	char *doc;

	ob_error_clear(&err);
	doc = ob_announce_build(a, &err);
	ck_assert_msg(doc == NULL, "%s accepted: %s", field, doc);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_msg(strstr(err.message, field) != NULL, "\"%s\" does not name %s", err.message,
		      field);
	ck_assert_msg(strstr(err.message, "SECRET") == NULL, "%s", err.message);
	/* NULL err is allowed */
	ck_assert_ptr_null(ob_announce_build(a, NULL));
}

START_TEST(test_each_string_refused)
{
	static const char *const bad[] = {
		NULL,
		"",
		"SECRET\xff",             /* not UTF-8 */
		"SECRET\xc3",             /* cut sequence */
		"SECRET\xc0\xaf",         /* overlong '/' */
		"SECRET\xed\xa0\x80",     /* a surrogate */
		"SECRET\xf4\x90\x80\x80", /* past U+10FFFF */
	};
	struct ob_announcement a;
	size_t f, i;

	for (f = 0; f < F_COUNT; f++) {
		for (i = 0; i < N(bad); i++) {
			a = instance_announcement();
			set_field(&a, (enum field)f, bad[i]);
			assert_refused(&a, field_names[f]);
		}
	}
}
END_TEST

START_TEST(test_other_fields_refused)
{
	struct ob_announcement a;
	struct ob_error err;

	a = instance_announcement();
	a.kind = (enum ob_snap_kind)7;
	assert_refused(&a, "kind");
	a = instance_announcement();
	a.allocated_storage_gib = -1;
	assert_refused(&a, "allocated_storage_gib");
	a.allocated_storage_gib = LONG_MIN;
	assert_refused(&a, "allocated_storage_gib");
	a = instance_announcement();
	a.snapshot_time = -1;
	assert_refused(&a, "snapshot_time");
	a.snapshot_time = INT64_MIN;
	assert_refused(&a, "snapshot_time");
	a.snapshot_time = 253402300800; /* year 10000 */
	assert_refused(&a, "snapshot_time");
	a.snapshot_time = INT64_MAX;
	assert_refused(&a, "snapshot_time");
	ck_assert_ptr_null(ob_announce_build(NULL, &err));
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
}
END_TEST

Suite *ob_suite_announce(void)
{
	Suite *s = suite_create("announce");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_golden_instance);
	tcase_add_test(tc, test_golden_cluster);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_time_and_size_edges);
	tcase_add_test(tc, test_each_string_refused);
	tcase_add_test(tc, test_other_fields_refused);
	suite_add_tcase(s, tc);
	return s;
}
