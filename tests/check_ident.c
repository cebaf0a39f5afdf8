/*
 * check_ident.c - derived names: snapshot ARN parsing (good shapes, every
 * way to be wrong, error messages that never quote the input), job ids and
 * copy ids against golden values computed with sha256sum(1), a seeded
 * property test of copy ids against a plain reference sanitizer, the RDS
 * identifier and own-copy-name tables, provenance tags and the filters.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_ob.h"
#include "check_util.h"
#include "ob/ident.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define ACCT "111111111111"
#define SNAP_ARN(name) "arn:aws:rds:eu-central-1:" ACCT ":snapshot:" name
#define CLUS_ARN(name) "arn:aws:rds:eu-central-1:" ACCT ":cluster-snapshot:" name

/* printf '%s' ARN | sha256sum */
#define ARN_BACKUP SNAP_ARN("awsbackup:job-1234")
#define SHA_BACKUP "ef8b3d3cc9aa1750db078a431eae07e3664d81643086d646942f85fd5ea119c0"
#define ARN_ORDERS SNAP_ARN("rds:orders-prod-2026-11-22-05-03")
#define SHA_ORDERS "7634054d78960e05a9eabe49a0710ccc1d8686917f8293a4ce6359e1f8566e7e"
#define ARN_AURORA CLUS_ARN("rds:billing-aurora-2026-11-22-04-00")
#define SHA_AURORA "e1635f88b36dca4130a0af81df97605f9ac078ad0a337fe71d569b6f87a1b361"
#define ARN_ODD "arn:aws:rds:us-east-1:222222222222:snapshot:Orders_PROD..Nightly__2026"
#define SHA_ODD "c44cc29ca97fda4154e2578db54dd601e24eb11fba7cd2622eef5180a56af991"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A malloc'ed string: prefix, n copies of fill, suffix. */
static char *build(const char *prefix, char fill, size_t n, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);
	char *out = malloc(p + n + s + 1);

	ck_assert_ptr_nonnull(out);
	memcpy(out, prefix, p);
	memset(out + p, fill, n);
	memcpy(out + p + n, suffix, s + 1);
	return out;
}

/* ---- snapshot ARNs ---- */

struct arn_good {
	const char *arn;
	enum ob_snap_kind kind;
	const char *partition, *region, *account, *name;
};

START_TEST(test_parse_arn_good)
{
	static const struct arn_good rows[] = {
		{ ARN_ORDERS, OB_SNAP_INSTANCE, "aws", "eu-central-1", ACCT,
		  "rds:orders-prod-2026-11-22-05-03" },
		{ ARN_BACKUP, OB_SNAP_INSTANCE, "aws", "eu-central-1", ACCT, "awsbackup:job-1234" },
		{ ARN_AURORA, OB_SNAP_CLUSTER, "aws", "eu-central-1", ACCT,
		  "rds:billing-aurora-2026-11-22-04-00" },
		{ SNAP_ARN("orders-manual-1"), OB_SNAP_INSTANCE, "aws", "eu-central-1", ACCT,
		  "orders-manual-1" },
		{ SNAP_ARN("x"), OB_SNAP_INSTANCE, "aws", "eu-central-1", ACCT, "x" },
		{ SNAP_ARN("a:b:c"), OB_SNAP_INSTANCE, "aws", "eu-central-1", ACCT, "a:b:c" },
		{ SNAP_ARN("with space"), OB_SNAP_INSTANCE, "aws", "eu-central-1", ACCT,
		  "with space" },
		{ SNAP_ARN("caf\xc3\xa9"), OB_SNAP_INSTANCE, "aws", "eu-central-1", ACCT,
		  "caf\xc3\xa9" },
		{ SNAP_ARN("snapshot:x"), OB_SNAP_INSTANCE, "aws", "eu-central-1", ACCT,
		  "snapshot:x" },
		{ CLUS_ARN("snapshot:x"), OB_SNAP_CLUSTER, "aws", "eu-central-1", ACCT,
		  "snapshot:x" },
		{ "arn:aws-cn:rds:cn-north-1:123456789012:snapshot:s1", OB_SNAP_INSTANCE, "aws-cn",
		  "cn-north-1", "123456789012", "s1" },
		{ "arn:aws-us-gov:rds:us-gov-west-1:123456789012:cluster-snapshot:c1",
		  OB_SNAP_CLUSTER, "aws-us-gov", "us-gov-west-1", "123456789012", "c1" },
		/* the longest region shape the validator allows: 32 bytes */
		{ "arn:aws:rds:ab-cdefghijklmnopqrstuvwxyzab-12:123456789012:snapshot:s1",
		  OB_SNAP_INSTANCE, "aws", "ab-cdefghijklmnopqrstuvwxyzab-12", "123456789012", "s1" },
	};
	struct ob_snapshot_ref ref;
	struct ob_error err;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		memset(&ref, 0x5a, sizeof(ref));
		ck_assert_msg(ob_ident_parse_snapshot_arn(rows[i].arn, &ref, &err) == 0,
			      "row %zu: %s", i, err.message);
		ck_assert_int_eq(ref.kind, rows[i].kind);
		ck_assert_str_eq(ref.partition, rows[i].partition);
		ck_assert_str_eq(ref.region, rows[i].region);
		ck_assert_str_eq(ref.account, rows[i].account);
		ck_assert_str_eq(ref.name, rows[i].name);
	}
	/* NULL err is allowed */
	ck_assert_int_eq(ob_ident_parse_snapshot_arn(ARN_ORDERS, &ref, NULL), 0);
}
END_TEST

START_TEST(test_parse_arn_name_255)
{
	struct ob_snapshot_ref ref;
	struct ob_error err;
	char *arn = build(SNAP_ARN(""), 'n', 255, "");

	ck_assert_int_eq(ob_ident_parse_snapshot_arn(arn, &ref, &err), 0);
	ck_assert_uint_eq(strlen(ref.name), 255);
	free(arn);
	arn = build(CLUS_ARN(""), 'n', 256, "");
	ck_assert_int_eq(ob_ident_parse_snapshot_arn(arn, &ref, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "255"));
	free(arn);
	/* past OB_AWSID_ARN_MAX */
	arn = build(SNAP_ARN(""), 'n', 4000, "");
	ck_assert_int_eq(ob_ident_parse_snapshot_arn(arn, &ref, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "2048"));
	free(arn);
}
END_TEST

struct arn_bad {
	const char *arn;
	const char *want; /* fragment of the error message */
};

START_TEST(test_parse_arn_bad)
{
	static const struct arn_bad rows[] = {
		{ "", "not an ARN" },
		{ "arn", "not an ARN" },
		{ "ARN:aws:rds:eu-central-1:" ACCT ":snapshot:x", "not an ARN" },
		{ "urn:aws:rds:eu-central-1:" ACCT ":snapshot:x", "not an ARN" },
		{ "arn:aws:rds:eu-central-1:" ACCT, "fewer than six" },
		{ "arn:aws:rds", "fewer than six" },
		{ "arn:aws:rds:eu-central-1:" ACCT ":", "resource" },
		/* another service */
		{ "arn:aws:ec2:eu-central-1:" ACCT ":snapshot/snap-0123", "service is not rds" },
		{ "arn:aws:ec2:eu-central-1:" ACCT ":snapshot:x", "service is not rds" },
		{ "arn:aws:backup:eu-central-1:" ACCT ":recovery-point:x", "service is not rds" },
		{ "arn:aws:RDS:eu-central-1:" ACCT ":snapshot:x", "service" },
		{ "arn:aws::eu-central-1:" ACCT ":snapshot:x", "service" },
		/* unknown resource types */
		{ "arn:aws:rds:eu-central-1:" ACCT ":db:orders-prod", "resource type" },
		{ "arn:aws:rds:eu-central-1:" ACCT ":cluster:orders", "resource type" },
		{ "arn:aws:rds:eu-central-1:" ACCT ":snapshot", "resource type" },
		{ "arn:aws:rds:eu-central-1:" ACCT ":Snapshot:x", "resource type" },
		{ "arn:aws:rds:eu-central-1:" ACCT ":snapshot/x", "resource type" },
		{ "arn:aws:rds:eu-central-1:" ACCT ":db-snapshot:x", "resource type" },
		/* empty name */
		{ SNAP_ARN(""), "empty" },
		{ CLUS_ARN(""), "empty" },
		/* control characters and '/' */
		{ SNAP_ARN("a\001b"), "control" },
		{ SNAP_ARN("a\tb"), "control" },
		{ SNAP_ARN("a\nb"), "control" },
		{ SNAP_ARN("ab\x7f"), "control" },
		{ SNAP_ARN("a/b"), "control" },
		/* account */
		{ "arn:aws:rds:eu-central-1:11111111111:snapshot:x", "account" },
		{ "arn:aws:rds:eu-central-1:1111111111111:snapshot:x", "account" },
		{ "arn:aws:rds:eu-central-1:11111111111a:snapshot:x", "account" },
		{ "arn:aws:rds:eu-central-1::snapshot:x", "account" },
		/* region and partition */
		{ "arn:aws:rds::" ACCT ":snapshot:x", "region" },
		{ "arn:aws:rds:EU-central-1:" ACCT ":snapshot:x", "region" },
		{ "arn:aws:rds:eu-central:" ACCT ":snapshot:x", "region" },
		{ "arn:aws:rds:cn-north-1:" ACCT ":snapshot:x", "partition" },
		{ "arn:aws-cn:rds:eu-central-1:" ACCT ":snapshot:x", "partition" },
		{ "arn:aws-us-gov:rds:us-east-1:" ACCT ":snapshot:x", "partition" },
		{ "arn:azure:rds:eu-central-1:" ACCT ":snapshot:x", "partition" },
		{ "arn:aws-iso:rds:us-iso-east-1:" ACCT ":snapshot:x", "partition" },
		{ "arn::rds:eu-central-1:" ACCT ":snapshot:x", "partition" },
		/* 33 bytes: one more than a region may have */
		{ "arn:aws:rds:ab-cdefghijklmnopqrstuvwxyzabc-12:" ACCT ":snapshot:x", "region" },
	};
	struct ob_snapshot_ref ref, before;
	struct ob_error err;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		memset(&ref, 0x5a, sizeof(ref));
		before = ref;
		ob_error_clear(&err);
		ck_assert_msg(ob_ident_parse_snapshot_arn(rows[i].arn, &ref, &err) == -1,
			      "row %zu accepted", i);
		ck_assert_int_eq(err.kind, OB_ERR_INVALID);
		ck_assert_msg(strstr(err.message, rows[i].want) != NULL, "row %zu: \"%s\" lacks %s",
			      i, err.message, rows[i].want);
		ck_assert_msg(memcmp(&ref, &before, sizeof(ref)) == 0, "row %zu: *ret touched", i);
		ck_assert_int_eq(ob_ident_parse_snapshot_arn(rows[i].arn, &ref, NULL), -1);
	}
	ck_assert_int_eq(ob_ident_parse_snapshot_arn(NULL, &ref, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
}
END_TEST

/* The input reaches the log through err->message: never quoted. */
START_TEST(test_parse_arn_error_quotes_nothing)
{
	static const char *const arns[] = {
		SNAP_ARN("AKIASECRETTOKEN\001"),
		"arn:aws:rds:eu-central-1:" ACCT ":AKIASECRETTOKEN:x",
		"arn:aws:AKIASECRETTOKEN:eu-central-1:" ACCT ":snapshot:x",
		"arn:aws:rds:eu-central-1:AKIASECRETTOKEN:snapshot:x",
		"arn:AKIASECRETTOKEN:rds:eu-central-1:" ACCT ":snapshot:x",
		"AKIASECRETTOKEN",
	};
	struct ob_snapshot_ref ref;
	struct ob_error err;
	size_t i;

	for (i = 0; i < N(arns); i++) {
		ck_assert_int_eq(ob_ident_parse_snapshot_arn(arns[i], &ref, &err), -1);
		ck_assert_msg(strstr(err.message, "AKIA") == NULL, "row %zu: %s", i, err.message);
	}
}
END_TEST

/* ---- job ids and copy ids ---- */

START_TEST(test_job_id_golden)
{
	static const struct {
		const char *arn, *sha;
	} rows[] = {
		{ ARN_BACKUP, SHA_BACKUP },
		{ ARN_ORDERS, SHA_ORDERS },
		{ ARN_AURORA, SHA_AURORA },
		{ ARN_ODD, SHA_ODD },
		{ "", SHA_EMPTY },
	};
	char id[OB_JOB_ID_SIZE], again[OB_JOB_ID_SIZE], want[OB_JOB_ID_SIZE];
	size_t i;

	for (i = 0; i < N(rows); i++) {
		snprintf(want, sizeof(want), "j%.16s", rows[i].sha);
		memset(id, '#', sizeof(id));
		ob_ident_job_id(rows[i].arn, id);
		ck_assert_str_eq(id, want);
		ob_ident_job_id(rows[i].arn, again);
		ck_assert_str_eq(id, again);
	}
	ob_ident_job_id(ARN_ORDERS, id);
	ck_assert_str_eq(id, "j7634054d78960e05");
	ob_ident_job_id(ARN_AURORA, again);
	ck_assert_str_ne(id, again);
}
END_TEST

START_TEST(test_copy_id_golden)
{
	static const struct {
		const char *arn, *name, *want;
	} rows[] = {
		{ ARN_BACKUP, "awsbackup:job-1234", "ob-awsbackup-job-1234-ef8b3d3cc9aa" },
		{ ARN_ORDERS, "rds:orders-prod-2026-11-22-05-03",
		  "ob-rds-orders-prod-2026-11-22-05-03-7634054d7896" },
		{ ARN_AURORA, "rds:billing-aurora-2026-11-22-04-00",
		  "ob-rds-billing-aurora-2026-11-22-04-00-e1635f88b36d" },
		{ ARN_ODD, "Orders_PROD..Nightly__2026", "ob-orders-prod-nightly-2026-c44cc29ca97f" },
		/* the hash is of the ARN, whatever name the caller passes */
		{ ARN_BACKUP, "::", "ob-snapshot-ef8b3d3cc9aa" },
		{ ARN_BACKUP, "", "ob-snapshot-ef8b3d3cc9aa" },
		{ ARN_BACKUP, "--a--", "ob-a-ef8b3d3cc9aa" },
		{ ARN_BACKUP, "ABC", "ob-abc-ef8b3d3cc9aa" },
		{ ARN_BACKUP, "caf\xc3\xa9-db", "ob-caf-db-ef8b3d3cc9aa" },
		{ ARN_BACKUP, " x  y\t", "ob-x-y-ef8b3d3cc9aa" },
		{ ARN_BACKUP, "9lives", "ob-9lives-ef8b3d3cc9aa" },
		{ ARN_BACKUP, "\xff\xfe", "ob-snapshot-ef8b3d3cc9aa" },
		{ "", "x", "ob-x-e3b0c44298fc" },
	};
	char out[256];
	struct ob_error err;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		ck_assert_msg(ob_ident_copy_id(rows[i].arn, rows[i].name, out, sizeof(out), &err) == 0,
			      "row %zu: %s", i, err.message);
		ck_assert_str_eq(out, rows[i].want);
		ck_assert(ob_ident_rds_id_ok(out));
		ck_assert(ob_ident_is_own_copy_name(out));
	}
}
END_TEST

/* Names long enough to be cut: the whole stays within 255 and never ends
 * the name part with '-'. */
START_TEST(test_copy_id_long_names)
{
	static const char hash[] = "-ef8b3d3cc9aa";
	char out[256], want[256];
	char *name;

	name = build("", 'a', 255, "");
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, name, out, sizeof(out), NULL), 0);
	ck_assert_uint_eq(strlen(out), 255);
	memset(want, 'a', sizeof(want));
	memcpy(want, "ob-", 3);
	memcpy(want + 3 + 239, hash, sizeof(hash));
	ck_assert_str_eq(out, want);
	free(name);

	/* uppercase: lower-cased, the same cut */
	name = build("", 'A', 255, "");
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, name, out, sizeof(out), NULL), 0);
	ck_assert_str_eq(out, want);
	free(name);

	/* the cut lands on a '-': trimmed, 254 in all */
	name = build("", 'a', 238, "-bbbbbbbbbbbbbbbbbbbb");
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, name, out, sizeof(out), NULL), 0);
	ck_assert_uint_eq(strlen(out), 254);
	ck_assert_str_eq(out + 3 + 238, hash);
	ck_assert(ob_ident_is_own_copy_name(out));
	free(name);

	/* a run of odd characters just before the cut becomes one '-' */
	name = build("", 'a', 237, "::::bbbb");
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, name, out, sizeof(out), NULL), 0);
	ck_assert_uint_eq(strlen(out), 255);
	ck_assert_int_eq(memcmp(out + 3 + 237, "-b-ef8b3d3cc9aa", 16), 0);
	free(name);

	/* a very long name of odd characters only */
	name = build("", ':', 10000, "");
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, name, out, sizeof(out), NULL), 0);
	ck_assert_str_eq(out, "ob-snapshot-ef8b3d3cc9aa");
	free(name);
}
END_TEST

START_TEST(test_copy_id_size)
{
	static const char want[] = "ob-awsbackup-job-1234-ef8b3d3cc9aa";
	char out[256];
	struct ob_error err;

	memset(out, '#', sizeof(out));
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, "awsbackup:job-1234", out, sizeof(want),
					  &err), 0);
	ck_assert_str_eq(out, want);
	memset(out, '#', sizeof(out));
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, "awsbackup:job-1234", out,
					  sizeof(want) - 1, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, "x", out, 0, &err), -1);
	ck_assert_int_eq(ob_ident_copy_id(NULL, "x", out, sizeof(out), &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, NULL, out, sizeof(out), &err), -1);
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, "x", NULL, 256, &err), -1);
	ck_assert_int_eq(ob_ident_copy_id(ARN_BACKUP, "x", out, sizeof(out), NULL), 0);
}
END_TEST

/* The copy id's name part written the plain way: sanitize everything, then
 * cut to 239 and trim, then the fallback. */
static void reference_part(const char *name, char *out)
{
	size_t n = 0;
	unsigned char c;

	for (; *name != '\0'; name++) {
		c = (unsigned char)*name;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[n++] = (char)c;
		else if (n > 0 && out[n - 1] != '-')
			out[n++] = '-';
	}
	if (n > 239)
		n = 239;
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	if (n == 0)
		strcpy(out, "snapshot");
}

START_TEST(test_copy_id_random)
{
	static const char alphabet[] = "abcxyzABCXYZ0189-_:. /\t\x01\x7f\x80\xc3\xa9\xff";
	uint64_t seed = ob_test_seed("check_ident");
	char name[400], arn1[600], arn2[600], part[400], want[410];
	char id1[256], id2[256], id3[256];
	size_t len, i;
	int k;

	for (k = 0; k < 20000; k++) {
		len = (size_t)(ob_test_xorshift64(&seed) % 320);
		for (i = 0; i < len; i++)
			name[i] = alphabet[ob_test_xorshift64(&seed) % (sizeof(alphabet) - 1)];
		name[len] = '\0';
		snprintf(arn1, sizeof(arn1), "arn:aws:rds:eu-central-1:111111111111:snapshot:%s", name);
		snprintf(arn2, sizeof(arn2), "arn:aws:rds:eu-central-1:222222222222:snapshot:%s", name);
		ck_assert_int_eq(ob_ident_copy_id(arn1, name, id1, sizeof(id1), NULL), 0);
		ck_assert_int_eq(ob_ident_copy_id(arn1, name, id2, sizeof(id2), NULL), 0);
		ck_assert_int_eq(ob_ident_copy_id(arn2, name, id3, sizeof(id3), NULL), 0);
		ck_assert_msg(ob_ident_rds_id_ok(id1), "k=%d: %s", k, id1);
		ck_assert_msg(ob_ident_is_own_copy_name(id1), "k=%d: %s", k, id1);
		ck_assert_uint_le(strlen(id1), OB_RDS_ID_MAX);
		ck_assert_str_eq(id1, id2);
		ck_assert_str_ne(id1, id3);
		reference_part(name, part);
		snprintf(want, sizeof(want), "ob-%s-", part);
		ck_assert_msg(strncmp(id1, want, strlen(want)) == 0, "k=%d: %s vs %s", k, id1, want);
		ck_assert_uint_eq(strlen(id1), strlen(want) + 12);
	}
}
END_TEST

/* ---- RDS identifiers and our own copies ---- */

START_TEST(test_rds_id_ok_table)
{
	static const struct {
		const char *s;
		bool ok;
	} rows[] = {
		{ "a", true },
		{ "orders-prod", true },
		{ "Orders-Prod-1", true },
		{ "ob-rds-orders-7634054d7896", true },
		{ "a1-2-3", true },
		{ "", false },
		{ "1orders", false },
		{ "-orders", false },
		{ "orders-", false },
		{ "orders--prod", false },
		{ "rds:orders", false },
		{ "orders_prod", false },
		{ "orders prod", false },
		{ "orders.prod", false },
		{ "caf\xc3\xa9", false },
	};
	char *s;
	size_t i;

	for (i = 0; i < N(rows); i++)
		ck_assert_msg(ob_ident_rds_id_ok(rows[i].s) == rows[i].ok, "row %zu: %s", i,
			      rows[i].s);
	ck_assert(!ob_ident_rds_id_ok(NULL));
	s = build("a", 'b', 254, "");
	ck_assert(ob_ident_rds_id_ok(s));
	free(s);
	s = build("a", 'b', 255, "");
	ck_assert(!ob_ident_rds_id_ok(s));
	free(s);
}
END_TEST

START_TEST(test_is_own_copy_name_table)
{
	static const struct {
		const char *s;
		bool ok;
	} rows[] = {
		{ "ob-awsbackup-job-1234-ef8b3d3cc9aa", true },
		{ "ob-rds-orders-prod-2026-11-22-05-03-7634054d7896", true },
		{ "ob-snapshot-ef8b3d3cc9aa", true },
		{ "ob-a-000000000000", true },
		{ "ob-9-abcdefabcdef", true },
		{ "ob-orders", false },                       /* no hash */
		{ "ob-orders-prod", false },
		{ "ob-ef8b3d3cc9aa", false },                 /* no name part */
		{ "ob--ef8b3d3cc9aa", false },
		{ "ob-a-EF8B3D3CC9AA", false },               /* uppercase hex */
		{ "ob-a-ef8b3d3cc9aA", false },
		{ "ob-a-ef8b3d3cc9a", false },                /* 11 hex */
		{ "ob-a-ef8b3d3cc9aab", false },              /* 13 hex */
		{ "ob-a-ef8b3d3cc9aa-ef8b3d3cc9aa", true },   /* hex in the name part */
		{ "ob-a-ef8b3d3cc9ag", false },               /* not hex */
		{ "ob-a--ef8b3d3cc9aa", false },
		{ "ob-a_ef8b3d3cc9aa", false },
		{ "ob-Orders-ef8b3d3cc9aa", false },          /* not what we write */
		{ "OB-a-ef8b3d3cc9aa", false },
		{ "xob-a-ef8b3d3cc9aa", false },
		{ "orders-prod-2026-11-22", false },          /* user names */
		{ "rds:orders-prod-2026-11-22-05-03", false },
		{ "awsbackup:job-1234", false },
		{ "ob-a-ef8b3d3cc9aa-", false },
		{ "", false },
	};
	char *s;
	size_t i;

	for (i = 0; i < N(rows); i++)
		ck_assert_msg(ob_ident_is_own_copy_name(rows[i].s) == rows[i].ok, "row %zu: %s", i,
			      rows[i].s);
	ck_assert(!ob_ident_is_own_copy_name(NULL));
	s = build("ob-", 'a', 239, "-ef8b3d3cc9aa");
	ck_assert(ob_ident_is_own_copy_name(s));
	free(s);
	s = build("ob-", 'a', 240, "-ef8b3d3cc9aa");
	ck_assert(!ob_ident_is_own_copy_name(s));
	free(s);
}
END_TEST

START_TEST(test_has_provenance)
{
	struct ob_rds_tag none[] = { { "env", "prod" }, { "offsite-backup:source-account", "1" } };
	struct ob_rds_tag arn[] = { { "env", "prod" }, { OB_TAG_SOURCE_ARN, ARN_ORDERS } };
	struct ob_rds_tag job[] = { { OB_TAG_JOB, "j7634054d78960e05" } };
	struct ob_rds_tag nulls[] = { { NULL, NULL }, { OB_TAG_JOB, "" } };
	struct ob_rds_tag near[] = { { "offsite-backup:source-arn ", "x" },
				     { "Offsite-Backup:job", "x" } };

	ck_assert(!ob_ident_has_provenance(NULL, 0));
	ck_assert(!ob_ident_has_provenance(NULL, 3));
	ck_assert(!ob_ident_has_provenance(none, 2));
	ck_assert(ob_ident_has_provenance(arn, 2));
	ck_assert(!ob_ident_has_provenance(arn, 1)); /* n_tags is honoured */
	ck_assert(ob_ident_has_provenance(job, 1));
	ck_assert(ob_ident_has_provenance(nulls, 2));
	ck_assert(!ob_ident_has_provenance(near, 2));
}
END_TEST

/* ---- filters ---- */

struct filter_row {
	const char *include, *exclude, *require_tag, *db_id;
	bool ok;
	const char *reason; /* when !ok */
};

START_TEST(test_filter_table)
{
	static const struct filter_row rows[] = {
		{ "*", "", "", "orders-prod", true, NULL },
		{ "*", "", "", "", true, NULL },
		{ "", "", "", "orders-prod", false, "include_db" },
		{ " , ", "", "", "orders-prod", false, "not in include_db" },
		{ "orders-*,billing", "", "", "orders-prod", true, NULL },
		{ "orders-*,billing", "", "", "billing", true, NULL },
		{ "orders-*,billing", "", "", "billing-2", false, "not in include_db" },
		{ "orders-*,billing", "", "", "orders", false, "not in include_db" },
		{ "orders-*,billing", "", "", "Orders-prod", false, "not in include_db" },
		{ "orders-* , billing", "", "", "billing", true, NULL },
		{ " orders-*,\tbilling ", "", "", "orders-x", true, NULL },
		{ "a,,billing", "", "", "billing", true, NULL },
		{ "db-?", "", "", "db-1", true, NULL },
		{ "db-?", "", "", "db-12", false, "not in include_db" },
		{ "db-[0-9]*", "", "", "db-1x", true, NULL },
		{ "db-[!0-9]*", "", "", "db-1x", false, "not in include_db" },
		{ "*", "*-test", "", "orders-test", false, "in exclude_db" },
		{ "*", "*-test", "", "orders-prod", true, NULL },
		{ "*", "a, orders-*", "", "orders-prod", false, "in exclude_db" },
		{ "*", " , ", "", "orders-prod", true, NULL },
		{ "orders-*", "orders-prod", "", "orders-prod", false, "in exclude_db" },
		{ "*", "", "backup=offsite", "orders-prod", true, NULL },
		{ "*", "", "backup=nightly", "orders-prod", false, "lacks the required tag" },
		{ "*", "", "Backup=offsite", "orders-prod", false, "lacks the required tag" },
		{ "*", "", "owner=", "orders-prod", true, NULL },
		{ "*", "", "team=a=b", "orders-prod", true, NULL },
		{ "*", "", "missing=x", "orders-prod", false, "lacks the required tag" },
		{ "*", "", "backup", "orders-prod", false, "require_tag" },
		{ "*", "", "backup=offsit", "orders-prod", false, "lacks the required tag" },
		{ "*", "", "backup=offsite ", "orders-prod", false, "lacks the required tag" },
		/* include is checked first, then exclude, then the tag */
		{ "x", "*", "missing=x", "orders-prod", false, "not in include_db" },
		{ "*", "*", "missing=x", "orders-prod", false, "in exclude_db" },
	};
	struct ob_rds_tag tags[] = {
		{ "env", "prod" }, { "backup", "offsite" }, { "owner", "" }, { "team", "a=b" },
	};
	const char *reason;
	bool ok;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		reason = "untouched";
		ok = ob_ident_filter_match(rows[i].include, rows[i].exclude, rows[i].require_tag,
					   rows[i].db_id, tags, N(tags), &reason);
		ck_assert_msg(ok == rows[i].ok, "row %zu: %d (%s)", i, ok, reason ? reason : "");
		if (ok) {
			ck_assert_ptr_null(reason);
		} else {
			ck_assert_ptr_nonnull(reason);
			ck_assert_msg(strstr(reason, rows[i].reason) != NULL, "row %zu: %s", i, reason);
		}
		/* ret_reason may be NULL */
		ck_assert(ob_ident_filter_match(rows[i].include, rows[i].exclude,
						rows[i].require_tag, rows[i].db_id, tags, N(tags),
						NULL) == rows[i].ok);
	}
}
END_TEST

START_TEST(test_filter_edges)
{
	struct ob_rds_tag tags[] = { { NULL, NULL }, { "backup", NULL }, { "backup", "offsite" } };
	const char *reason;
	char *glob;

	/* no tags at all */
	ck_assert(!ob_ident_filter_match("*", "", "backup=offsite", "db", NULL, 0, &reason));
	ck_assert_str_eq(reason, "lacks the required tag");
	/* NULL members are skipped, a later match counts */
	ck_assert(ob_ident_filter_match("*", "", "backup=offsite", "db", tags, 3, &reason));
	ck_assert(!ob_ident_filter_match("*", "", "backup=offsite", "db", tags, 2, &reason));
	/* NULL strings read as empty */
	ck_assert(!ob_ident_filter_match(NULL, NULL, NULL, "db", NULL, 0, &reason));
	ck_assert(ob_ident_filter_match("*", NULL, NULL, "db", NULL, 0, &reason));
	ck_assert(!ob_ident_filter_match("*", "", "", NULL, NULL, 0, &reason));
	ck_assert_ptr_nonnull(reason);
	/* a glob longer than the stack buffer */
	glob = build("", '?', 600, "");
	ck_assert(!ob_ident_filter_match(glob, "", "", "short", NULL, 0, &reason));
	glob[599] = '*';
	glob[0] = '*';
	ck_assert(!ob_ident_filter_match(glob, "", "", "short", NULL, 0, &reason));
	free(glob);
	glob = build("", '*', 600, "");
	ck_assert(ob_ident_filter_match(glob, "", "", "short", NULL, 0, &reason));
	ck_assert(!ob_ident_filter_match("*", glob, "", "short", NULL, 0, &reason));
	ck_assert_str_eq(reason, "in exclude_db");
	free(glob);
}
END_TEST

Suite *ob_suite_ident(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parse_arn_good);
	tcase_add_test(tc, test_parse_arn_name_255);
	tcase_add_test(tc, test_parse_arn_bad);
	tcase_add_test(tc, test_parse_arn_error_quotes_nothing);
	tcase_add_test(tc, test_job_id_golden);
	tcase_add_test(tc, test_copy_id_golden);
	tcase_add_test(tc, test_copy_id_long_names);
	tcase_add_test(tc, test_copy_id_size);
	tcase_add_test(tc, test_copy_id_random);
	tcase_add_test(tc, test_rds_id_ok_table);
	tcase_add_test(tc, test_is_own_copy_name_table);
	tcase_add_test(tc, test_has_provenance);
	tcase_add_test(tc, test_filter_table);
	tcase_add_test(tc, test_filter_edges);
	suite_add_tcase(s, tc);
	return s;
}
