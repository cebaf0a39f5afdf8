/*
 * check_announce.c - the announcement document, both ways.
 *
 * Writing: golden JSON for an instance and a cluster snapshot, the same
 * parsed back with jansson (every field, the key order), escaping, time
 * formatting at the edges, and every field refused in turn (NULL, empty,
 * not UTF-8, negative) with an error that names the field and not its value.
 *
 * Reading: build -> parse round trips, raw and inside the SNS envelope as
 * SNS sends it; every field refused in turn (missing, wrong type, empty, too
 * long, control characters, bad shape) with a reason that names it; bad
 * envelopes; duplicate keys; hostile sizes; every truncation; seeded random
 * garbage (OB_TEST_SEED, printed). Every refusal is checked for a zeroed
 * result and a reason free of the token planted in the body.
 *
 * Past 1,000 lines on purpose: one parser's table of refusals reads best
 * in one place, next to the builder it must round-trip with.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "check_ob.h"
#include "check_util.h"
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

/* ---- parsing ---- */

/* Planted in bad values and bad syntax: no reason may repeat it. */
#define SECRET "SECRETwJalrXUtnFEMIK7MDENGbPxRfiCY"
#define TOPIC "arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox"
#define BODY_MAX (256 * 1024)

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	out = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(out);
	va_start(ap, fmt);
	vsnprintf(out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return out;
}

/* n copies of c, NUL-terminated. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static char *build_ok(const struct ob_announcement *a)
{
	struct ob_error err;
	char *doc = ob_announce_build(a, &err);

	ck_assert_msg(doc != NULL, "%s", err.message);
	return doc;
}

/* s as a JSON string literal (quotes included), malloc'ed. */
static char *quote(const char *s, size_t flags)
{
	json_t *j = json_string(s);
	char *out;

	ck_assert_ptr_nonnull(j);
	out = json_dumps(j, JSON_ENCODE_ANY | flags);
	ck_assert_ptr_nonnull(out);
	json_decref(j);
	return out;
}

/* A notification as SNS delivers it to an SQS queue (raw delivery off):
 * its layout, its keys in its order. type and message are JSON values. */
static char *sns_envelope_raw(const char *type, const char *message)
{
	return xprintf("{\n"
		       "  \"Type\" : %s,\n"
		       "  \"MessageId\" : \"6f1c2b9e-3a4d-5e6f-8a9b-0c1d2e3f4a5b\",\n"
		       "  \"TopicArn\" : \"" TOPIC "\",\n"
		       "  \"Message\" : %s,\n"
		       "  \"Timestamp\" : \"2026-11-22T05:03:12.345Z\",\n"
		       "  \"SignatureVersion\" : \"1\",\n"
		       "  \"Signature\" : \"dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==\",\n"
		       "  \"SigningCertURL\" : \"https://sns.eu-central-1.amazonaws.com/"
		       "SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem\",\n"
		       "  \"UnsubscribeURL\" : \"https://sns.eu-central-1.amazonaws.com/"
		       "?Action=Unsubscribe&SubscriptionArn=" TOPIC
		       ":0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\"\n"
		       "}",
		       type, message);
}

/* msg (the announcement's JSON) inside a Notification. */
static char *sns_envelope(const char *msg, size_t quote_flags)
{
	char *q = quote(msg, quote_flags), *out;

	out = sns_envelope_raw("\"Notification\"", q);
	free(q);
	return out;
}

/* The instance announcement as a jansson object, to edit. */
static json_t *instance_doc(void)
{
	struct ob_announcement a = instance_announcement();
	char *doc = build_ok(&a);
	json_t *j = json_loads(doc, 0, NULL);

	ck_assert_ptr_nonnull(j);
	free(doc);
	return j;
}

/* j compact, in its key order; j is consumed. */
static char *dump(json_t *j)
{
	char *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	ck_assert_ptr_nonnull(out);
	json_decref(j);
	return out;
}

/* The instance announcement with key set to v (stolen), or removed when v
 * is NULL. */
static char *instance_with(const char *key, json_t *v)
{
	json_t *j = instance_doc();

	if (v == NULL)
		ck_assert_int_eq(json_object_del(j, key), 0);
	else
		ck_assert_int_eq(json_object_set_new(j, key, v), 0);
	return dump(j);
}

static void assert_zeroed(const struct ob_announcement_in *in, const char *what)
{
	ck_assert_msg(in->kind == 0 && in->snapshot_arn == NULL && in->source_snapshot_arn == NULL &&
		      in->source_account == NULL && in->region == NULL &&
		      in->db_identifier == NULL && in->engine == NULL &&
		      in->engine_version == NULL && in->export_kms_key == NULL &&
		      in->allocated_storage_gib == 0 && in->snapshot_time == 0 &&
		      in->topic_arn == NULL,
		      "%s: result not zeroed on failure", what);
}

/* Parse body[0..len) from a heap copy of exactly len bytes, so that
 * AddressSanitizer sees any read past the end. */
static int parse_exact(const char *body, size_t len, struct ob_announcement_in *ret,
		       char *reason, size_t size)
{
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, body, len);
	rc = ob_announce_parse(copy, len, ret, reason, size);
	free(copy);
	return rc;
}

/* Refused, *ret zeroed (it starts as junk), and a reason holding want and
 * nothing planted. Also with no reason buffer. */
static void assert_parse_refused_n(const char *body, size_t len, const char *want,
				   const char *what)
{
	struct ob_announcement_in in;
	char reason[256];
	int rc;

	memset(&in, 0xa5, sizeof(in));
	memset(reason, 'x', sizeof(reason));
	rc = parse_exact(body, len, &in, reason, sizeof(reason));
	if (rc == 0)
		ob_announce_clear(&in);
	ck_assert_msg(rc == -1, "%s: accepted", what);
	assert_zeroed(&in, what);
	ck_assert_msg(memchr(reason, '\0', sizeof(reason)) != NULL, "%s: reason unterminated", what);
	ck_assert_msg(reason[0] != '\0', "%s: no reason", what);
	ck_assert_msg(strstr(reason, want) != NULL, "%s: reason \"%s\" lacks \"%s\"", what, reason,
		      want);
	ck_assert_msg(strstr(reason, "SECRET") == NULL && strstr(reason, "wJalr") == NULL,
		      "%s: reason \"%s\" quotes the body", what, reason);
	memset(&in, 0xa5, sizeof(in));
	ck_assert_int_eq(parse_exact(body, len, &in, NULL, 0), -1);
	assert_zeroed(&in, what);
}

static void assert_parse_refused(const char *body, const char *want, const char *what)
{
	assert_parse_refused_n(body, strlen(body), want, what);
}

/* Same, and frees body. */
static void refused_free(char *body, const char *want, const char *what)
{
	assert_parse_refused(body, want, what);
	free(body);
}

static void assert_in_eq(const struct ob_announcement_in *in, const struct ob_announcement *a,
			 const char *topic)
{
	ck_assert_int_eq(in->kind, a->kind);
	ck_assert_str_eq(in->snapshot_arn, a->snapshot_arn);
	ck_assert_str_eq(in->source_snapshot_arn, a->source_snapshot_arn);
	ck_assert_str_eq(in->source_account, a->source_account);
	ck_assert_str_eq(in->region, a->region);
	ck_assert_str_eq(in->db_identifier, a->db_identifier);
	ck_assert_str_eq(in->engine, a->engine);
	ck_assert_str_eq(in->engine_version, a->engine_version);
	ck_assert_str_eq(in->export_kms_key, a->export_kms_key);
	ck_assert_int_eq(in->allocated_storage_gib, a->allocated_storage_gib);
	ck_assert_int_eq(in->snapshot_time, a->snapshot_time);
	ck_assert_str_eq(in->topic_arn, topic);
}

/* body parses into a, with topic. */
static void assert_parses_to_n(const char *body, size_t len, const struct ob_announcement *a,
			       const char *topic)
{
	struct ob_announcement_in in;
	char reason[256] = "";

	memset(&in, 0xa5, sizeof(in));
	ck_assert_msg(parse_exact(body, len, &in, reason, sizeof(reason)) == 0, "refused: %s",
		      reason);
	assert_in_eq(&in, a, topic);
	ob_announce_clear(&in);
}

static void assert_parses_to(const char *body, const struct ob_announcement *a,
			     const char *topic)
{
	assert_parses_to_n(body, strlen(body), a, topic);
}

/* a built, parsed raw and in both envelopes, equals a. */
static void assert_all_round_trips(const struct ob_announcement *a)
{
	char *doc = build_ok(a), *env;

	assert_parses_to(doc, a, "");
	env = sns_envelope(doc, 0);
	assert_parses_to(env, a, TOPIC);
	free(env);
	env = sns_envelope(doc, JSON_ESCAPE_SLASH); /* "\/" in the Message */
	assert_parses_to(env, a, TOPIC);
	free(env);
	free(doc);
}

START_TEST(test_parse_round_trip)
{
	struct ob_announcement a = instance_announcement(), c = cluster_announcement();

	assert_all_round_trips(&a);
	assert_all_round_trips(&c);
	/* JSON escapes and UTF-8 that are no control characters */
	a.db_identifier = "quote\" back\\ slash/ caf\xc3\xa9 nbsp\xc2\xa0 \xf0\x9f\x98\x80";
	a.engine = "\xe2\x80\x8b\xef\xbb\xbf";
	a.allocated_storage_gib = 0;
	a.snapshot_time = 0;
	assert_all_round_trips(&a);
	c.allocated_storage_gib = 65536;
	c.snapshot_time = 253402300799; /* 9999-12-31T23:59:59Z */
	assert_all_round_trips(&c);
	c.snapshot_time = 951782400; /* 2000-02-29 */
	assert_all_round_trips(&c);
}
END_TEST

START_TEST(test_parse_sns_envelope)
{
	struct ob_announcement a = instance_announcement();
	char *doc = build_ok(&a), *q = quote(doc, 0), *env;

	/* exactly as SNS lays it out: a byte-for-byte golden of the start */
	env = sns_envelope(doc, 0);
	ck_assert_int_eq(strncmp(env, "{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : \"", 46),
			 0);
	ck_assert_ptr_nonnull(strstr(env, "\"Message\" : \"{\\\"schema\\\":"
				     "\\\"offsite-backup/1\\\","));
	assert_parses_to(env, &a, TOPIC);
	free(env);
	/* no TopicArn: recorded as "" */
	env = xprintf("{\"Type\":\"Notification\",\"Message\":%s}", q);
	assert_parses_to(env, &a, "");
	free(env);
	/* keys in another order, MessageAttributes and unknown keys */
	env = xprintf("{\"Message\":%s,\"MessageAttributes\":{\"k\":{\"Type\":\"String\","
		      "\"Value\":\"v\"}},\"x\":[1,null,{}],\"TopicArn\":\"" TOPIC "\","
		      "\"Type\":\"Notification\"}", q);
	assert_parses_to(env, &a, TOPIC);
	free(env);
	free(q);
	free(doc);
}
END_TEST

START_TEST(test_parse_extra_fields)
{
	struct ob_announcement a = instance_announcement();
	json_t *j = instance_doc(), *r = json_object();
	const char *keys[32];
	const char *key;
	json_t *v;
	size_t n = 0;
	char *body, *env;

	/* unknown members of every type */
	ck_assert_int_eq(json_object_set_new(j, "note", json_string("x")), 0);
	ck_assert_int_eq(json_object_set_new(j, "schema_version", json_integer(3)), 0);
	ck_assert_int_eq(json_object_set_new(j, "type", json_string("lower-case, not Type")), 0);
	ck_assert_int_eq(json_object_set_new(j, "Message", json_string("not an envelope")), 0);
	ck_assert_int_eq(json_object_set_new(j, "extra", json_pack("{s:[i,f,n,b,{}]}", "a", 1, 2.5,
								  1)), 0);
	/* and the known ones in reverse order */
	ck_assert_ptr_nonnull(r);
	json_object_foreach(j, key, v) {
		ck_assert_uint_lt(n, N(keys));
		keys[n++] = key;
	}
	while (n-- > 0)
		ck_assert_int_eq(json_object_set(r, keys[n], json_object_get(j, keys[n])), 0);
	json_decref(j);
	body = dump(r);
	ck_assert_int_eq(strncmp(body, "{\"extra\":", 9), 0);
	assert_parses_to(body, &a, "");
	env = sns_envelope(body, 0);
	assert_parses_to(env, &a, TOPIC);
	free(env);
	free(body);
	/* leading and trailing white space */
	body = build_ok(&a);
	env = xprintf(" \r\n\t%s \n", body);
	assert_parses_to(env, &a, "");
	free(env);
	free(body);
}
END_TEST

START_TEST(test_parse_schema_and_kind)
{
	struct ob_announcement c = cluster_announcement();
	char *doc;
	json_t *j;

	refused_free(instance_with("schema", NULL), "schema is missing", "no schema");
	refused_free(instance_with("schema", json_string("offsite-backup/2")),
		     "schema is not offsite-backup/1", "schema 2");
	refused_free(instance_with("schema", json_string("")), "schema is not offsite-backup/1",
		     "schema empty");
	refused_free(instance_with("schema", json_string("offsite-backup/1 ")),
		     "schema is not offsite-backup/1", "schema blank");
	refused_free(instance_with("schema", json_string("Offsite-Backup/1")),
		     "schema is not offsite-backup/1", "schema case");
	refused_free(instance_with("schema", json_string(SECRET)),
		     "schema is not offsite-backup/1", "schema secret");
	refused_free(instance_with("schema", json_integer(1)), "schema is not a string",
		     "schema number");
	refused_free(instance_with("schema", json_null()), "schema is not a string", "schema null");
	refused_free(instance_with("kind", NULL), "kind is missing", "no kind");
	refused_free(instance_with("kind", json_string("db-instance-snapshot")), "kind is not",
		     "kind unknown");
	refused_free(instance_with("kind", json_string("DB-SNAPSHOT")), "kind is not", "kind case");
	refused_free(instance_with("kind", json_string(SECRET)), "kind is not", "kind secret");
	refused_free(instance_with("kind", json_string("")), "kind is empty", "kind empty");
	refused_free(instance_with("kind", json_integer(0)), "kind is not a string", "kind number");
	refused_free(instance_with("kind", json_string("db-snapshot\n")),
		     "kind holds a control character", "kind newline");
	/* the kind must match both ARNs */
	refused_free(instance_with("kind", json_string("db-cluster-snapshot")),
		     "snapshot_arn is not a db-cluster-snapshot ARN", "kind vs ARN");
	refused_free(instance_with("snapshot_arn", json_string(c.snapshot_arn)),
		     "snapshot_arn is not a db-snapshot ARN", "cluster ARN in instance");
	refused_free(instance_with("source_snapshot_arn", json_string(c.source_snapshot_arn)),
		     "source_snapshot_arn is not a db-snapshot ARN", "cluster source in instance");
	doc = build_ok(&c);
	j = json_loads(doc, 0, NULL);
	free(doc);
	ck_assert_int_eq(json_object_set_new(j, "source_snapshot_arn",
					     json_string(instance_announcement().source_snapshot_arn)),
			 0);
	refused_free(dump(j), "source_snapshot_arn is not a db-cluster-snapshot ARN",
		     "instance source in cluster");
}
END_TEST

static const size_t field_max[F_COUNT] = {
	[F_SNAPSHOT_ARN] = 2048, [F_SOURCE_SNAPSHOT_ARN] = 2048, [F_SOURCE_ACCOUNT] = 64,
	[F_REGION] = 64, [F_DB_IDENTIFIER] = 255, [F_ENGINE] = 64, [F_ENGINE_VERSION] = 64,
	[F_EXPORT_KMS_KEY] = 2048,
};

START_TEST(test_parse_each_string_refused)
{
	static const char *const controls[] = {
		"\x01", "\n", "\r", "\t", "\x1b[31m", "\x1f", "\x7f",
		"\xc2\x80", "\xc2\x85", "\xc2\x9b", "\xc2\x9f", /* C1 */
	};
	char what[128], want[128], *v;
	size_t f, i;

	for (f = 0; f < F_COUNT; f++) {
		const char *key = field_names[f];

		snprintf(what, sizeof(what), "%s missing", key);
		snprintf(want, sizeof(want), "%s is missing", key);
		refused_free(instance_with(key, NULL), want, what);

		snprintf(what, sizeof(what), "%s wrong type", key);
		snprintf(want, sizeof(want), "%s is not a string", key);
		refused_free(instance_with(key, json_integer(111111111111)), want, what);
		refused_free(instance_with(key, json_real(1.5)), want, what);
		refused_free(instance_with(key, json_null()), want, what);
		refused_free(instance_with(key, json_true()), want, what);
		refused_free(instance_with(key, json_pack("[s]", SECRET)), want, what);
		refused_free(instance_with(key, json_pack("{s:s}", "v", SECRET)), want, what);

		snprintf(what, sizeof(what), "%s empty", key);
		snprintf(want, sizeof(want), "%s is empty", key);
		refused_free(instance_with(key, json_string("")), want, what);

		snprintf(what, sizeof(what), "%s too long", key);
		snprintf(want, sizeof(want), "%s is longer than %zu bytes", key, field_max[f]);
		v = repeat('a', field_max[f] + 1);
		memcpy(v, SECRET, strlen(SECRET));
		refused_free(instance_with(key, json_string(v)), want, what);
		free(v);

		snprintf(want, sizeof(want), "%s holds a control character", key);
		for (i = 0; i < N(controls); i++) {
			snprintf(what, sizeof(what), "%s control %zu", key, i);
			v = xprintf(SECRET "%s", controls[i]);
			refused_free(instance_with(key, json_string(v)), want, what);
			free(v);
			v = xprintf("%s" SECRET, controls[i]);
			refused_free(instance_with(key, json_string(v)), want, what);
			free(v);
		}
		/* \u0000 is refused by jansson itself */
		v = instance_with(key, json_string("x"));
		refused_free(xprintf("%.*s\\u0000%s", (int)(strstr(v, "\"x\"") - v + 2), v,
				     strstr(v, "\"x\"") + 2),
			     "NUL", "\\u0000");
		free(v);
	}
}
END_TEST

/* The free-form strings take their longest length. */
START_TEST(test_parse_string_limits)
{
	struct ob_announcement a = instance_announcement();
	char *db = repeat('d', 255), *eng = repeat('e', 64), *ver = repeat('9', 64);
	char *kms = repeat('k', 2048);

	a.db_identifier = db;
	a.engine = eng;
	a.engine_version = ver;
	a.export_kms_key = kms;
	assert_all_round_trips(&a);
	free(db);
	free(eng);
	free(ver);
	free(kms);
}
END_TEST

START_TEST(test_parse_arn_account_region)
{
	static const struct {
		const char *arn;
		const char *want;
	} arns[] = {
		{ "arn:aws:ec2:eu-central-1:111111111111:snapshot/snap-" SECRET,
		  "service is not rds" },
		{ "arn:aws:s3:eu-central-1:111111111111:snapshot:" SECRET, "service is not rds" },
		{ "arn:aws:rds:eu-central-1:111111111111:db:" SECRET, "resource type" },
		{ "arn:aws:rds:eu-central-1:111111111111:snapshot", "resource type" },
		{ "arn:aws:rds:eu-central-1:111111111111:snapshot:", "snapshot name is empty" },
		{ "arn:aws:rds:eu-central-1:111111111111:cluster-snapshot:",
		  "snapshot name is empty" },
		{ "arn:aws:rds:eu-central-1:111111111111:snapshot:a/" SECRET,
		  "snapshot name holds a control character or '/'" },
		{ SECRET, "not an ARN" },
		{ "arn:aws:rds:" SECRET, "ARN has fewer than six fields" },
		{ "arn:aws:rds:eu-central-1:11111111111:snapshot:x",
		  "ARN account is not a 12-digit account id" },
		{ "arn:aws:rds:eu-central-1:" SECRET ":snapshot:x", "ARN account is not" },
		{ "arn:aws:rds:eu-central:111111111111:snapshot:x", "ARN region is not a region" },
		{ "arn:aws:rds:cn-north-1:111111111111:snapshot:x",
		  "ARN region does not belong to its partition" },
		{ "arn:" SECRET ":rds:eu-central-1:111111111111:snapshot:x", "ARN partition is not" },
	};
	static const char *const accounts[] = {
		"11111111111", "1111111111112", "11111111111a", "SECRETSECRET", " 111111111111",
		"111111111111 ", "１11111111111",
	};
	static const char *const regions[] = {
		"eu-central", "EU-central-1", "SECRET-1", "eu-central-123", "eu--1", "-eu-central-1",
		"eu-central-1-", "eu_central_1", "e-central-1",
	};
	char what[128], want[160], *name, *arn;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		const char *key = k == 0 ? "snapshot_arn" : "source_snapshot_arn";

		for (i = 0; i < N(arns); i++) {
			snprintf(what, sizeof(what), "%s %zu", key, i);
			snprintf(want, sizeof(want), "%s: %s", key, arns[i].want);
			refused_free(instance_with(key, json_string(arns[i].arn)), want, what);
		}
		name = repeat('n', 256);
		arn = xprintf("arn:aws:rds:eu-central-1:111111111111:snapshot:%s", name);
		snprintf(want, sizeof(want), "%s: snapshot name longer than 255", key);
		refused_free(instance_with(key, json_string(arn)), want, "long name");
		free(arn);
		free(name);
	}
	for (i = 0; i < N(accounts); i++)
		refused_free(instance_with("source_account", json_string(accounts[i])),
			     "source_account is not a 12-digit account id", accounts[i]);
	for (i = 0; i < N(regions); i++)
		refused_free(instance_with("region", json_string(regions[i])),
			     "region is not a region name", regions[i]);
}
END_TEST

START_TEST(test_parse_time)
{
	static const char *const bad[] = {
		"2026-11-22T05:03:11",        /* no Z */
		"2026-11-22T05:03:11z",
		"2026-11-22t05:03:11Z",
		"2026-11-22 05:03:11Z",
		"2026-11-22T05:03:11.000Z",   /* fractions */
		"2026-11-22T05:03:11+00:00",  /* offsets */
		"2026-11-22T05:03:11+01:00",
		"2026-11-22T05:03:11ZZ",
		"20261122T050311Z",           /* basic format */
		"2026-11-22",
		"2026-11-22T05:03Z",
		" 2026-11-22T05:03:11Z",
		"+2026-11-22T05:03:11Z",
		"2026-1-22T05:03:11Z",
		"2026-11-22T5:03:11Z",
		"2026-13-01T00:00:00Z",       /* no such month, day, hour... */
		"2026-00-01T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-11-31T00:00:00Z",
		"2026-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2026-11-22T24:00:00Z",
		"2026-11-22T23:60:00Z",
		"2026-11-22T23:59:60Z",       /* a leap second the source never writes */
		"2026-11-22T23:59:99Z",
		"1969-12-31T23:59:59Z",       /* before 1970 */
		"0000-01-01T00:00:00Z",
		"2026-11-22T05:03:1" SECRET,
		"Sun, 22 Nov 2026 05:03:11 GMT",
		"1795323791",
	};
	struct ob_announcement a = instance_announcement();
	char *body;
	size_t i;

	for (i = 0; i < N(bad); i++)
		refused_free(instance_with("snapshot_time", json_string(bad[i])),
			     "snapshot_time is not a valid YYYY-MM-DDTHH:MM:SSZ", bad[i]);
	refused_free(instance_with("snapshot_time", NULL), "snapshot_time is missing", "no time");
	refused_free(instance_with("snapshot_time", json_string("")), "snapshot_time is empty",
		     "time empty");
	refused_free(instance_with("snapshot_time", json_integer(1795323791)),
		     "snapshot_time is not a string", "time number");
	refused_free(instance_with("snapshot_time", json_string("2026-11-22T05:03:11Z\n")),
		     "snapshot_time holds a control character", "time newline");
	/* leap day and the edges */
	body = instance_with("snapshot_time", json_string("2024-02-29T12:00:00Z"));
	a.snapshot_time = 1709208000;
	assert_parses_to(body, &a, "");
	free(body);
	body = instance_with("snapshot_time", json_string("1970-01-01T00:00:00Z"));
	a.snapshot_time = 0;
	assert_parses_to(body, &a, "");
	free(body);
}
END_TEST

START_TEST(test_parse_storage)
{
	static const char *const bad_numbers[] = {
		"-1", "65537", "9223372036854775807", "-9223372036854775808", "1.5", "100.0",
		"1e3", "-0.0",
	};
	struct ob_announcement a = instance_announcement();
	char *doc = build_ok(&a), *at = strstr(doc, "\"allocated_storage_gib\":100,"), *body;
	int pre = (int)(at - doc) + (int)strlen("\"allocated_storage_gib\":");
	const char *post = at + strlen("\"allocated_storage_gib\":100");
	size_t i;

	ck_assert_ptr_nonnull(at);
	for (i = 0; i < N(bad_numbers); i++) {
		body = xprintf("%.*s%s%s", pre, doc, bad_numbers[i], post);
		assert_parse_refused(body, "allocated_storage_gib is not", bad_numbers[i]);
		free(body);
	}
	body = xprintf("%.*s%s%s", pre, doc, "99999999999999999999", post);
	assert_parse_refused(body, "number too large", "huge literal");
	free(body);
	refused_free(instance_with("allocated_storage_gib", NULL), "allocated_storage_gib is missing",
		     "no size");
	refused_free(instance_with("allocated_storage_gib", json_string("100")),
		     "allocated_storage_gib is not an integer", "size string");
	refused_free(instance_with("allocated_storage_gib", json_null()),
		     "allocated_storage_gib is not an integer", "size null");
	refused_free(instance_with("allocated_storage_gib", json_true()),
		     "allocated_storage_gib is not an integer", "size bool");
	refused_free(instance_with("allocated_storage_gib", json_integer(-1)),
		     "allocated_storage_gib is not in 0..65536", "size -1");
	refused_free(instance_with("allocated_storage_gib", json_integer(LLONG_MIN)),
		     "allocated_storage_gib is not in 0..65536", "size min");
	refused_free(instance_with("allocated_storage_gib", json_integer(65537)),
		     "allocated_storage_gib is not in 0..65536", "size 65537");
	refused_free(instance_with("allocated_storage_gib", json_integer(LLONG_MAX)),
		     "allocated_storage_gib is not in 0..65536", "size max");
	/* -0 is an integer zero to jansson */
	body = xprintf("%.*s%s%s", pre, doc, "-0", post);
	a.allocated_storage_gib = 0;
	assert_parses_to(body, &a, "");
	free(body);
	free(doc);
}
END_TEST

START_TEST(test_parse_envelope_refused)
{
	struct ob_announcement a = instance_announcement();
	char *doc = build_ok(&a), *q = quote(doc, 0), *bad, *qbad, *env;

	/* SNS's own confirmation messages, whatever their Message holds */
	refused_free(xprintf("{\n  \"Type\" : \"SubscriptionConfirmation\",\n"
			     "  \"MessageId\" : \"165545c9-2a5c-472c-8df2-7ff2be2b3b1b\",\n"
			     "  \"Token\" : \"2336412f37fb687f5d51e6e2425f004aed8" SECRET "\",\n"
			     "  \"TopicArn\" : \"" TOPIC "\",\n"
			     "  \"Message\" : \"You have chosen to subscribe to the topic " TOPIC
			     ".\\nTo confirm the subscription, visit the SubscribeURL included in "
			     "this message.\",\n"
			     "  \"SubscribeURL\" : \"https://sns.eu-central-1.amazonaws.com/"
			     "?Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=" SECRET "\",\n"
			     "  \"Timestamp\" : \"2026-11-22T05:00:00.000Z\",\n"
			     "  \"SignatureVersion\" : \"1\",\n"
			     "  \"Signature\" : \"EXAMPLE\",\n"
			     "  \"SigningCertURL\" : \"https://sns.eu-central-1.amazonaws.com/x.pem\"\n"
			     "}"),
		     "envelope Type is not Notification", "SubscriptionConfirmation");
	refused_free(sns_envelope_raw("\"SubscriptionConfirmation\"", q),
		     "envelope Type is not Notification", "confirmation with announcement");
	refused_free(sns_envelope_raw("\"UnsubscribeConfirmation\"", q),
		     "envelope Type is not Notification", "unsubscribe");
	refused_free(sns_envelope_raw("\"notification\"", q), "envelope Type is not Notification",
		     "type case");
	refused_free(sns_envelope_raw("\"" SECRET "\"", q), "envelope Type is not Notification",
		     "type secret");
	refused_free(sns_envelope_raw("\"\"", q), "envelope Type is not Notification", "type empty");
	refused_free(sns_envelope_raw("1", q), "envelope Type is not a string", "type number");
	refused_free(sns_envelope_raw("null", q), "envelope Type is not a string", "type null");
	refused_free(sns_envelope_raw("[\"Notification\"]", q), "envelope Type is not a string",
		     "type array");
	/* a raw announcement with a Type is an envelope */
	refused_free(instance_with("Type", json_string("Notification")),
		     "envelope Message is missing", "raw with Type");
	/* Message not a string holding JSON */
	refused_free(sns_envelope_raw("\"Notification\"", doc), "envelope Message is not a string",
		     "message object");
	refused_free(sns_envelope_raw("\"Notification\"", "42"), "envelope Message is not a string",
		     "message number");
	refused_free(sns_envelope_raw("\"Notification\"", "null"),
		     "envelope Message is not a string", "message null");
	refused_free(sns_envelope_raw("\"Notification\"", "[\"" SECRET "\"]"),
		     "envelope Message is not a string", "message array");
	refused_free(xprintf("{\"Type\":\"Notification\",\"TopicArn\":\"" TOPIC "\"}"),
		     "envelope Message is missing", "no message");
	refused_free(sns_envelope_raw("\"Notification\"", "\"\""),
		     "envelope Message ends before the JSON does", "message empty");
	refused_free(sns_envelope_raw("\"Notification\"", "\"" SECRET " hello\""),
		     "envelope Message is not valid JSON", "message text");
	refused_free(sns_envelope_raw("\"Notification\"", "\"{\\\"schema\\\": " SECRET "}\""),
		     "envelope Message is not valid JSON", "message bad token");
	refused_free(sns_envelope_raw("\"Notification\"", "\"[1,2]\""),
		     "envelope Message is not a JSON object", "message array JSON");
	refused_free(sns_envelope_raw("\"Notification\"", "\"{}\""), "schema is missing",
		     "message {}");
	/* an envelope in the envelope */
	env = sns_envelope(doc, 0);
	refused_free(sns_envelope(env, 0), "envelope Message is another envelope", "nested");
	free(env);
	/* a bad announcement inside names its field */
	bad = instance_with("region", json_string(SECRET));
	refused_free(sns_envelope(bad, 0), "region is not a region name", "bad region inside");
	free(bad);
	bad = instance_with("snapshot_arn", NULL);
	refused_free(sns_envelope(bad, 0), "snapshot_arn is missing", "missing inside");
	free(bad);
	/* TopicArn optional, but a string when there */
	refused_free(xprintf("{\"Type\":\"Notification\",\"TopicArn\":7,\"Message\":%s}", q),
		     "envelope TopicArn is not a string", "topic number");
	refused_free(xprintf("{\"Type\":\"Notification\",\"TopicArn\":\"\",\"Message\":%s}", q),
		     "envelope TopicArn is empty", "topic empty");
	refused_free(xprintf("{\"Type\":\"Notification\",\"TopicArn\":\"" SECRET "\\n\","
			     "\"Message\":%s}", q),
		     "envelope TopicArn holds a control character", "topic newline");
	bad = repeat('t', 2049);
	refused_free(xprintf("{\"Type\":\"Notification\",\"TopicArn\":\"%s\",\"Message\":%s}", bad,
			     q),
		     "envelope TopicArn is longer than 2048 bytes", "topic long");
	free(bad);
	/* duplicates in the Message */
	bad = xprintf("%.*s,\"schema\":\"offsite-backup/1\"}", (int)strlen(doc) - 1, doc);
	qbad = quote(bad, 0);
	refused_free(sns_envelope_raw("\"Notification\"", qbad),
		     "envelope Message holds a duplicate key", "message duplicate");
	free(qbad);
	free(bad);
	free(q);
	free(doc);
}
END_TEST

START_TEST(test_parse_duplicate_keys)
{
	struct ob_announcement a = instance_announcement();
	char *doc = build_ok(&a), *q = quote(doc, 0), *evil_q, *evil;
	int n = (int)strlen(doc) - 1;

	refused_free(xprintf("%.*s,\"schema\":\"offsite-backup/1\"}", n, doc),
		     "body holds a duplicate key", "schema twice");
	/* the classic smuggling: two readers, two different ARNs */
	refused_free(xprintf("%.*s,\"snapshot_arn\":\"arn:aws:rds:eu-central-1:333333333333:"
			     "snapshot:" SECRET "\"}", n, doc),
		     "body holds a duplicate key", "ARN twice");
	refused_free(xprintf("%.*s,\"extra\":{\"a\":1,\"a\":2}}", n, doc),
		     "body holds a duplicate key", "nested twice");
	refused_free(xprintf("{\"Type\":\"Notification\",\"Message\":%s,\"Message\":%s}", q, q),
		     "body holds a duplicate key", "Message twice");
	refused_free(xprintf("{\"Type\":\"Notification\",\"Type\":\"Notification\",\"Message\":%s}",
			     q),
		     "body holds a duplicate key", "Type twice");
	refused_free(xprintf("{\"Type\":\"Notification\",\"TopicArn\":\"" TOPIC "\","
			     "\"TopicArn\":\"" TOPIC "\",\"Message\":%s}", q),
		     "body holds a duplicate key", "TopicArn twice");
	/* the same key spelled with an escape is still the same key */
	evil = xprintf("%.*s,\"sch\\u0065ma\":\"offsite-backup/1\"}", n, doc);
	assert_parse_refused(evil, "duplicate key", "escaped key");
	evil_q = quote(evil, 0);
	free(evil);
	refused_free(sns_envelope_raw("\"Notification\"", evil_q), "duplicate key",
		     "escaped key inside");
	free(evil_q);
	free(q);
	free(doc);
}
END_TEST

/* The syntax errors jansson would describe by quoting the input. */
START_TEST(test_parse_reason_never_quotes)
{
	static const char *const bodies[] = {
		SECRET,
		"{\"schema\": " SECRET "}",
		"{\"" SECRET "\" 1}",
		"{\"schema\": \"" SECRET,
		"[\"" SECRET "\"]",
		"{\"schema\": \"offsite-backup/1\", \"kind\": tru" SECRET "}",
		"{\"a\":\"\\x" SECRET "\"}",
		"{\"a\":\"\\uZZZZ" SECRET "\"}",
		"{\"a\":1}" SECRET,
		"{\"Type\":\"Notification\",\"Message\":\"" SECRET "\"}",
		"{\"Type\":\"Notification\",\"Message\":\"{\\\"" SECRET "\\\":}\"}",
		"\"" SECRET "\"",
		"{\"a\":\"" SECRET "\xff\"}",
	};
	struct ob_announcement_in in;
	char small[8];
	size_t i;

	for (i = 0; i < N(bodies); i++)
		assert_parse_refused(bodies[i], " ", bodies[i]);
	/* a short buffer gets a cut but terminated reason */
	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(ob_announce_parse(bodies[0], strlen(bodies[0]), &in, small, sizeof(small)),
			 -1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	small[0] = 'x';
	ck_assert_int_eq(ob_announce_parse(bodies[0], strlen(bodies[0]), &in, small, 1), -1);
	ck_assert_int_eq(small[0], '\0');
	assert_zeroed(&in, "short reason");
}
END_TEST

/* Whatever it says, a parse leaves a whole result or a zeroed one. */
static void parse_any(const char *body, size_t len, const char *what)
{
	struct ob_announcement_in in;
	char reason[128];

	memset(&in, 0xa5, sizeof(in));
	if (parse_exact(body, len, &in, reason, sizeof(reason)) == 0) {
		ck_assert_msg(in.snapshot_arn != NULL && in.topic_arn != NULL &&
			      in.export_kms_key != NULL, "%s: accepted with NULL fields", what);
		ob_announce_clear(&in);
	} else {
		assert_zeroed(&in, what);
		ck_assert_msg(reason[0] != '\0', "%s: no reason", what);
	}
}

START_TEST(test_parse_garbage)
{
	static const char json_ish[] = "{}[]\":,0123456789 -+.eEtrufalsn\\/u\x01\xc3\xa9";
	struct ob_announcement a = instance_announcement();
	char *doc = build_ok(&a), *env = sns_envelope(doc, 0), *buf;
	const char *base;
	uint64_t seed = ob_test_seed("check_announce"), r;
	size_t i, j, len, n, base_len;

	buf = malloc(BODY_MAX);
	ck_assert_ptr_nonnull(buf);
	/* random bytes, then random JSON-ish bytes: never an announcement */
	for (i = 0; i < 4000; i++) {
		len = ob_test_xorshift64(&seed) % 700;
		for (j = 0; j < len; j++) {
			r = ob_test_xorshift64(&seed);
			buf[j] = i % 2 == 0 ? (char)(r & 0xff)
				 : json_ish[r % (sizeof(json_ish) - 1)];
		}
		if (i % 4 == 3 && len > 0)
			buf[0] = '{';
		assert_parse_refused_n(buf, len, " ", "random bytes");
	}
	/* a valid body with bytes changed, cut, or spliced: may pass (a changed
	 * name is still a name), must never crash, leak or half-fill */
	for (i = 0; i < 4000; i++) {
		base = i % 2 == 0 ? doc : env;
		base_len = strlen(base);
		memcpy(buf, base, base_len);
		len = base_len;
		n = 1 + ob_test_xorshift64(&seed) % 4;
		for (j = 0; j < n; j++) {
			r = ob_test_xorshift64(&seed);
			switch (r % 3) {
			case 0:
				buf[(r >> 8) % len] = (char)(r >> 40);
				break;
			case 1:
				buf[(r >> 8) % len] = json_ish[(r >> 40) % (sizeof(json_ish) - 1)];
				break;
			default:
				len = 1 + (r >> 8) % len;
				break;
			}
		}
		parse_any(buf, len, "mutated body");
	}
	free(buf);
	free(env);
	free(doc);
}
END_TEST

START_TEST(test_parse_truncation)
{
	struct ob_announcement a = instance_announcement(), c = cluster_announcement();
	char *docs[4];
	size_t i, k, len;

	docs[0] = build_ok(&a);
	docs[1] = build_ok(&c);
	docs[2] = sns_envelope(docs[0], 0);
	docs[3] = sns_envelope(docs[1], JSON_ESCAPE_SLASH);
	for (k = 0; k < N(docs); k++) {
		len = strlen(docs[k]);
		for (i = 0; i < len; i++)
			assert_parse_refused_n(docs[k], i, " ", "truncated");
		assert_parses_to_n(docs[k], len, k % 2 == 0 ? &a : &c, k < 2 ? "" : TOPIC);
	}
	for (k = 0; k < N(docs); k++)
		free(docs[k]);
}
END_TEST

START_TEST(test_parse_hostile_sizes)
{
	struct ob_announcement a = instance_announcement();
	char *doc = build_ok(&a), *big, *body, *q;
	size_t n = strlen(doc), i;
	json_t *deep, *inner;
	struct ob_announcement_in in;
	char reason[128];

	/* 256 KiB is the limit, white space and all */
	big = repeat(' ', BODY_MAX + 1);
	memcpy(big, doc, n);
	assert_parses_to_n(big, BODY_MAX, &a, "");
	assert_parse_refused_n(big, BODY_MAX + 1, "body is larger than 256 KiB", "256 KiB + 1");
	memset(big, '[', BODY_MAX + 1);
	assert_parse_refused_n(big, BODY_MAX + 1, "body is larger than 256 KiB", "256 KiB + 1 [");
	/* refused before a byte is read: a length far past the buffer */
	memset(&in, 0xa5, sizeof(in));
	ck_assert_int_eq(ob_announce_parse(doc, SIZE_MAX, &in, reason, sizeof(reason)), -1);
	ck_assert_str_eq(reason, "body is larger than 256 KiB");
	assert_zeroed(&in, "SIZE_MAX");
	/* nesting: jansson stops at its depth limit, far short of the stack */
	assert_parse_refused_n(big, BODY_MAX, "body is nested too deeply", "256 KiB of [");
	memset(big, ' ', BODY_MAX);
	memcpy(big, doc, n - 1);
	big[n - 1] = ',';
	memcpy(big + n, "\"x\":", 4);
	memset(big + n + 4, '[', 100000);
	assert_parse_refused_n(big, n + 4 + 100000, "body is nested too deeply", "deep extra");
	memset(big + n + 4 + 100000, ']', 100000);
	big[n + 4 + 200000] = '}';
	assert_parse_refused_n(big, n + 4 + 200001, "body is nested too deeply", "deep closed");
	/* a shallow-enough unknown member is just unknown */
	deep = json_array();
	for (i = 0; i < 1000; i++) {
		inner = json_array();
		ck_assert_int_eq(json_array_append_new(inner, deep), 0);
		deep = inner;
	}
	body = instance_with("deep", deep);
	assert_parses_to(body, &a, "");
	free(body);
	/* a 200 KiB string: fine where unknown, refused where known */
	memset(big, 'A', 200 * 1024);
	big[200 * 1024] = '\0';
	memcpy(big, SECRET, strlen(SECRET));
	body = instance_with("padding", json_string(big));
	assert_parses_to(body, &a, "");
	q = sns_envelope(body, 0);
	assert_parses_to(q, &a, TOPIC);
	free(q);
	free(body);
	for (i = 0; i < F_COUNT; i++)
		refused_free(instance_with(field_names[i], json_string(big)), "is longer than",
			     field_names[i]);
	refused_free(instance_with("schema", json_string(big)), "schema is not", "schema 200 KiB");
	refused_free(instance_with("kind", json_string(big)), "kind is longer than", "kind 200 KiB");
	refused_free(instance_with("snapshot_time", json_string(big)),
		     "snapshot_time is longer than", "time 200 KiB");
	q = quote(big, 0);
	refused_free(sns_envelope_raw("\"Notification\"", q), "envelope Message is not valid JSON",
		     "Message 200 KiB");
	refused_free(sns_envelope_raw(q, "\"{}\""), "envelope Type is not Notification",
		     "Type 200 KiB");
	free(q);
	/* 200 KiB of Message escapes, past the limit once escaped */
	memset(big, '"', 200 * 1024);
	q = quote(big, 0);
	ck_assert_uint_gt(strlen(q), BODY_MAX);
	refused_free(sns_envelope_raw("\"Notification\"", q), "body is larger than 256 KiB",
		     "escaped Message");
	free(q);
	free(big);
	free(doc);
}
END_TEST

START_TEST(test_parse_clear_and_arguments)
{
	struct ob_announcement a = instance_announcement();
	struct ob_announcement_in in;
	char *doc = build_ok(&a), reason[128];

	ob_announce_clear(NULL);
	ck_assert_int_eq(ob_announce_parse(doc, strlen(doc), &in, reason, sizeof(reason)), 0);
	ck_assert_str_eq(reason, "");
	ob_announce_clear(&in);
	assert_zeroed(&in, "clear");
	ob_announce_clear(&in);
	assert_zeroed(&in, "double clear");
	/* no result, no body */
	ck_assert_int_eq(ob_announce_parse(doc, strlen(doc), NULL, reason, sizeof(reason)), -1);
	ck_assert_str_eq(reason, "no announcement to fill");
	ck_assert_int_eq(ob_announce_parse(doc, strlen(doc), NULL, NULL, 0), -1);
	memset(&in, 0xa5, sizeof(in));
	ck_assert_int_eq(ob_announce_parse(NULL, 10, &in, reason, sizeof(reason)), -1);
	ck_assert_str_eq(reason, "body is missing");
	assert_zeroed(&in, "NULL body");
	assert_parse_refused_n("", 0, "body", "empty body");
	assert_parse_refused("   ", "body", "blank body");
	assert_parse_refused("null", "body", "null body");
	assert_parse_refused("[]", "body is not a JSON object", "array body");
	assert_parse_refused("{}", "schema is missing", "{} body");
	/* the NUL in the body ends nothing: the length rules */
	doc = realloc(doc, strlen(doc) + 2);
	memmove(doc + 1, doc, strlen(doc) + 1);
	doc[0] = '\0';
	assert_parse_refused_n(doc, strlen(doc + 1) + 1, "body", "leading NUL");
	free(doc);
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

	tc = tcase_create("parse");
	/* the truncation and garbage loops are slow under the sanitizers */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_parse_round_trip);
	tcase_add_test(tc, test_parse_sns_envelope);
	tcase_add_test(tc, test_parse_extra_fields);
	tcase_add_test(tc, test_parse_schema_and_kind);
	tcase_add_test(tc, test_parse_each_string_refused);
	tcase_add_test(tc, test_parse_string_limits);
	tcase_add_test(tc, test_parse_arn_account_region);
	tcase_add_test(tc, test_parse_time);
	tcase_add_test(tc, test_parse_storage);
	tcase_add_test(tc, test_parse_envelope_refused);
	tcase_add_test(tc, test_parse_duplicate_keys);
	tcase_add_test(tc, test_parse_reason_never_quotes);
	tcase_add_test(tc, test_parse_garbage);
	tcase_add_test(tc, test_parse_truncation);
	tcase_add_test(tc, test_parse_hostile_sizes);
	tcase_add_test(tc, test_parse_clear_and_arguments);
	suite_add_tcase(s, tc);
	return s;
}
