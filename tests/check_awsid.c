/*
 * check_awsid.c - AWS identifier validators, table-driven: regions, account
 * ids, ARNs (split and the stricter parse; RDS snapshot, KMS and SNS ARNs;
 * missing fields, colons in the wrong places, bad partitions, NUL bytes,
 * truncation, every single-byte corruption, 1 MiB inputs), KMS key forms,
 * SNS topic names, SQS queue paths and hosts, globs, tags, access key ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ob.h"
#include "ob/awsid.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct span_row {
	const char *s;
	size_t n; /* 0: strlen(s); set for rows holding a NUL byte */
	bool ok;
};

static size_t row_len(const struct span_row *r) { return r->n != 0 ? r->n : strlen(r->s); }

/* A string of n bytes: prefix, then fill up to n. The caller frees it. */
static char *long_string(const char *prefix, char fill, size_t n)
{
	size_t p = strlen(prefix);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_ge(n, p);
	memcpy(s, prefix, p);
	memset(s + p, fill, n - p);
	s[n] = '\0';
	return s;
}

/* ---- regions and accounts ---- */

START_TEST(test_region_table)
{
	static const struct span_row rows[] = {
		{ "eu-central-1", 0, true },
		{ "us-east-1", 0, true },
		{ "us-gov-west-1", 0, true },
		{ "cn-north-1", 0, true },
		{ "ap-southeast-2", 0, true },
		{ "us-iso-east-1", 0, true },
		{ "eu-central-12", 0, true },
		{ "ab-cdefghijklmnopqrstuvwxyzab-12", 0, true }, /* 32 bytes */
		{ "ab-cdefghijklmnopqrstuvwxyzabc-12", 0, false }, /* 33 bytes */
		{ "", 0, false },
		{ "eu", 0, false },
		{ "eu-central", 0, false },
		{ "eu-1", 0, false },
		{ "EU-CENTRAL-1", 0, false },
		{ "eu-Central-1", 0, false },
		{ "eu-central-123", 0, false },
		{ "eu-central-1a", 0, false },
		{ "eu-central-", 0, false },
		{ "eu-central-1-", 0, false },
		{ "-eu-central-1", 0, false },
		{ "eu--central-1", 0, false },
		{ "e-central-1", 0, false },
		{ "eur-central-1", 0, false },
		{ "e1-central-1", 0, false },
		{ "eu-centr4l-1", 0, false },
		{ "eu central-1", 0, false },
		{ "eu_central_1", 0, false },
		{ " eu-central-1", 0, false },
		{ "eu-central-1 ", 0, false },
		{ "eu-cen\0ral-1", 12, false },
		{ "eu-central-\0", 12, false },
		{ "eu-c\xc3\xa9ntral-1", 0, false },
	};
	size_t i;

	for (i = 0; i < N(rows); i++)
		ck_assert_msg(ob_awsid_region_ok(rows[i].s, row_len(&rows[i])) == rows[i].ok,
			      "row %zu: \"%s\"", i, rows[i].s);
	/* A span inside a longer string. */
	ck_assert(ob_awsid_region_ok("eu-central-1.amazonaws.com", 12));
	ck_assert(!ob_awsid_region_ok("eu-central-1.amazonaws.com", 11));
	ck_assert(!ob_awsid_region_ok(NULL, 0));
}
END_TEST

START_TEST(test_account_table)
{
	static const struct span_row rows[] = {
		{ "111111111111", 0, true },
		{ "012345678901", 0, true },
		{ "000000000000", 0, true },
		{ "", 0, false },
		{ "11111111111", 0, false },   /* 11 digits */
		{ "1111111111111", 0, false }, /* 13 digits */
		{ "11111111111a", 0, false },
		{ "a11111111111", 0, false },
		{ "abcdefghijkl", 0, false },
		{ "-11111111111", 0, false },
		{ "+11111111111", 0, false },
		{ " 11111111111", 0, false },
		{ "11111111111 ", 0, false },
		{ "111111-11111", 0, false },
		{ "11111\0111111", 12, false },
		{ "\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1", 0, false }, /* Arabic-Indic 1s */
	};
	size_t i;

	for (i = 0; i < N(rows); i++)
		ck_assert_msg(ob_awsid_account_ok(rows[i].s, row_len(&rows[i])) == rows[i].ok,
			      "row %zu: \"%s\"", i, rows[i].s);
	ck_assert(ob_awsid_account_ok("1111111111112222", 12));
	ck_assert(!ob_awsid_account_ok(NULL, 12));
}
END_TEST

/* ---- ARNs ---- */

static void check_span(const char *what, const char *arn, const char *p, size_t n,
		       const char *want)
{
	ck_assert_msg(p >= arn && p + n <= arn + strlen(arn), "%s of %s: not inside the string",
		      what, arn);
	ck_assert_msg(n == strlen(want) && memcmp(p, want, n) == 0,
		      "%s of %s: got \"%.*s\", want \"%s\"", what, arn, (int)n, p, want);
}

START_TEST(test_arn_good)
{
	static const struct {
		const char *arn;
		int parse_rc; /* split always succeeds on these rows */
		const char *partition, *service, *region, *account, *resource;
	} rows[] = {
		{ "arn:aws:rds:eu-central-1:111111111111:snapshot:db1-final", 0,
		  "aws", "rds", "eu-central-1", "111111111111", "snapshot:db1-final" },
		{ "arn:aws:rds:eu-central-1:111111111111:snapshot:rds:db1-2024-01-01-00-05", 0,
		  "aws", "rds", "eu-central-1", "111111111111", "snapshot:rds:db1-2024-01-01-00-05" },
		{ "arn:aws:rds:eu-central-1:111111111111:snapshot:awsbackup:job-1", 0,
		  "aws", "rds", "eu-central-1", "111111111111", "snapshot:awsbackup:job-1" },
		{ "arn:aws:rds:us-east-1:222222222222:snapshot:awsbackup:job-1234abcd-12ab-34cd-56ef-1234567890ab", 0,
		  "aws", "rds", "us-east-1", "222222222222",
		  "snapshot:awsbackup:job-1234abcd-12ab-34cd-56ef-1234567890ab" },
		{ "arn:aws:rds:eu-west-1:111111111111:cluster-snapshot:aurora-prod-2024", 0,
		  "aws", "rds", "eu-west-1", "111111111111", "cluster-snapshot:aurora-prod-2024" },
		{ "arn:aws:rds:eu-west-1:111111111111:cluster-snapshot:awsbackup:job-2", 0,
		  "aws", "rds", "eu-west-1", "111111111111", "cluster-snapshot:awsbackup:job-2" },
		{ "arn:aws-cn:rds:cn-north-1:111111111111:snapshot:x", 0,
		  "aws-cn", "rds", "cn-north-1", "111111111111", "snapshot:x" },
		{ "arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", 0,
		  "aws", "kms", "eu-central-1", "111111111111", "key/1234abcd-12ab-34cd-56ef-1234567890ab" },
		{ "arn:aws:kms:eu-central-1:111111111111:alias/ob/export", 0,
		  "aws", "kms", "eu-central-1", "111111111111", "alias/ob/export" },
		{ "arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/mrk-1234abcd12ab34cd56ef1234567890ab", 0,
		  "aws-us-gov", "kms", "us-gov-west-1", "222222222222",
		  "key/mrk-1234abcd12ab34cd56ef1234567890ab" },
		{ "arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox", 0,
		  "aws", "sns", "eu-central-1", "222222222222", "offsite-backup-inbox" },
		{ "arn:aws:sns:eu-west-1:222222222222:inbox.fifo", 0,
		  "aws", "sns", "eu-west-1", "222222222222", "inbox.fifo" },
		{ "arn:aws:execute-api:eu-west-1:222222222222:a/b", 0,
		  "aws", "execute-api", "eu-west-1", "222222222222", "a/b" },
		{ "arn:aws:s3:eu-west-1:222222222222:x", 0, /* digits in the service */
		  "aws", "s3", "eu-west-1", "222222222222", "x" },
		{ "arn:aws:rds:eu-central-1:111111111111::", 0, /* the resource is ":" */
		  "aws", "rds", "eu-central-1", "111111111111", ":" },
		/* Shapes the configuration has always taken, refused from outside. */
		{ "arn:aws-iso:kms:us-iso-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", -1,
		  "aws-iso", "kms", "us-iso-east-1", "111111111111",
		  "key/1234abcd-12ab-34cd-56ef-1234567890ab" },
		{ "arn:aws-iso-b:rds:us-isob-east-1:111111111111:snapshot:x", -1,
		  "aws-iso-b", "rds", "us-isob-east-1", "111111111111", "snapshot:x" },
		{ "arn:awsx:rds:eu-central-1:111111111111:snapshot:x", -1,
		  "awsx", "rds", "eu-central-1", "111111111111", "snapshot:x" },
		{ "arn:aws-:rds:eu-central-1:111111111111:snapshot:x", -1,
		  "aws-", "rds", "eu-central-1", "111111111111", "snapshot:x" },
		/* Partition and region disagree. */
		{ "arn:aws:rds:cn-north-1:111111111111:snapshot:x", -1,
		  "aws", "rds", "cn-north-1", "111111111111", "snapshot:x" },
		{ "arn:aws:rds:us-gov-west-1:111111111111:snapshot:x", -1,
		  "aws", "rds", "us-gov-west-1", "111111111111", "snapshot:x" },
		{ "arn:aws-cn:rds:eu-central-1:111111111111:snapshot:x", -1,
		  "aws-cn", "rds", "eu-central-1", "111111111111", "snapshot:x" },
		{ "arn:aws-us-gov:rds:us-east-1:111111111111:snapshot:x", -1,
		  "aws-us-gov", "rds", "us-east-1", "111111111111", "snapshot:x" },
		{ "arn:aws-cn:rds:us-gov-west-1:111111111111:snapshot:x", -1,
		  "aws-cn", "rds", "us-gov-west-1", "111111111111", "snapshot:x" },
	};
	struct ob_awsid_arn a, b;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		const char *arn = rows[i].arn;

		memset(&a, 0, sizeof(a));
		ck_assert_msg(ob_awsid_arn_split(arn, &a) == 0, "split %s", arn);
		check_span("partition", arn, a.partition, a.partition_len, rows[i].partition);
		check_span("service", arn, a.service, a.service_len, rows[i].service);
		check_span("region", arn, a.region, a.region_len, rows[i].region);
		check_span("account", arn, a.account, a.account_len, rows[i].account);
		check_span("resource", arn, a.resource, a.resource_len, rows[i].resource);
		memset(&b, 0xa5, sizeof(b));
		ck_assert_msg(ob_awsid_arn_parse(arn, &b) == rows[i].parse_rc, "parse %s", arn);
		if (rows[i].parse_rc == 0)
			ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	}
}
END_TEST

START_TEST(test_arn_bad)
{
	static const char *const rows[] = {
		"",
		"arn",
		"arn:",
		"arn:aws",
		"arn:aws:rds",
		"arn:aws:rds:eu-central-1",
		"arn:aws:rds:eu-central-1:111111111111",
		"arn:aws:rds:eu-central-1:111111111111:",     /* empty resource */
		"ARN:aws:rds:eu-central-1:111111111111:snapshot:x",
		"Arn:aws:rds:eu-central-1:111111111111:snapshot:x",
		"urn:aws:rds:eu-central-1:111111111111:snapshot:x",
		"arn-aws:rds:eu-central-1:111111111111:snapshot:x",
		" arn:aws:rds:eu-central-1:111111111111:snapshot:x",
		"arn:AWS:rds:eu-central-1:111111111111:snapshot:x",
		"arn:amazon:rds:eu-central-1:111111111111:snapshot:x",
		"arn:aw:rds:eu-central-1:111111111111:snapshot:x",
		"arn:aws_cn:rds:cn-north-1:111111111111:snapshot:x",
		"arn:aws1:rds:eu-central-1:111111111111:snapshot:x",
		"arn::rds:eu-central-1:111111111111:snapshot:x",   /* no partition */
		"arn:aws::eu-central-1:111111111111:snapshot:x",   /* no service */
		"arn:aws:RDS:eu-central-1:111111111111:snapshot:x",
		"arn:aws:r ds:eu-central-1:111111111111:snapshot:x",
		"arn:aws:rds::111111111111:snapshot:x",            /* no region (IAM style) */
		"arn:aws:rds:eu-central-1::snapshot:x",            /* no account (S3 style) */
		"arn:aws:iam::111111111111:role/offsite",
		"arn:aws:s3:::bucket/key",
		/* Six colons, one in the wrong place. */
		"arn:aws:rds::eu-central-1:111111111111:snapshot",
		"arn:aws:rds:eu-central-1::111111111111:snapshot",
		"arn::aws:rds:eu-central-1:111111111111:snapshot",
		"arn:aws::rds:eu-central-1:111111111111:snapshot",
		"arn:aws:rds:eu:central-1:111111111111:snapshot",
		"arn:aws:rds:eu-central-1:111111:111111:snapshot",
		":arn:aws:rds:eu-central-1:111111111111:snapshot",
		/* Fields with the wrong contents. */
		"arn:aws:rds:eu-central:111111111111:snapshot:x",
		"arn:aws:rds:EU-CENTRAL-1:111111111111:snapshot:x",
		"arn:aws:rds:eu-central-1:11111111111:snapshot:x",
		"arn:aws:rds:eu-central-1:1111111111111:snapshot:x",
		"arn:aws:rds:eu-central-1:11111111111a:snapshot:x",
		"arn:aws:rds:eu-central-1:111111111111/snapshot:x",
		"arn:aws:rds:eu-central-1 :111111111111:snapshot:x",
		"arn;aws;rds;eu-central-1;111111111111;snapshot;x",
		"arn/aws/rds/eu-central-1/111111111111/snapshot/x",
		/* The string ends at a NUL byte. */
		"arn:aws:rds:eu-central-1:111111111111:\0snapshot:x",
		"arn:aws:rds:eu-central-1:111111\0" "111111:snapshot:x",
		"arn:aws:rds\0:eu-central-1:111111111111:snapshot:x",
		"arn\0:aws:rds:eu-central-1:111111111111:snapshot:x",
	};
	struct ob_awsid_arn a, untouched;
	size_t i;

	memset(&untouched, 0x5a, sizeof(untouched));
	for (i = 0; i < N(rows); i++) {
		a = untouched;
		ck_assert_msg(ob_awsid_arn_split(rows[i], &a) == -1, "split accepted \"%s\"", rows[i]);
		ck_assert_int_eq(memcmp(&a, &untouched, sizeof(a)), 0);
		ck_assert_msg(ob_awsid_arn_parse(rows[i], &a) == -1, "parse accepted \"%s\"", rows[i]);
		ck_assert_int_eq(memcmp(&a, &untouched, sizeof(a)), 0);
	}
	ck_assert_int_eq(ob_awsid_arn_split(NULL, &a), -1);
	ck_assert_int_eq(ob_awsid_arn_parse(NULL, &a), -1);
}
END_TEST

/* Cut a good ARN at every length: nothing short of a non-empty resource
 * passes, and every longer cut is the same ARN with a shorter resource. */
START_TEST(test_arn_truncated)
{
	static const char *const good[] = {
		"arn:aws:rds:eu-central-1:111111111111:snapshot:awsbackup:job-1",
		"arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/mrk-1234abcd12ab34cd56ef1234567890ab",
	};
	char buf[128];
	struct ob_awsid_arn full, a;
	size_t i, n, res_off;

	for (i = 0; i < N(good); i++) {
		ck_assert_int_eq(ob_awsid_arn_parse(good[i], &full), 0);
		res_off = (size_t)(full.resource - good[i]);
		for (n = 0; n < strlen(good[i]); n++) {
			memcpy(buf, good[i], n);
			buf[n] = '\0';
			ck_assert_msg(ob_awsid_arn_parse(buf, &a) == (n > res_off ? 0 : -1), "%s", buf);
			ck_assert_msg(ob_awsid_arn_split(buf, &a) == (n > res_off ? 0 : -1), "%s", buf);
			if (n > res_off) {
				ck_assert_ptr_eq(a.resource, buf + res_off);
				ck_assert_uint_eq(a.resource_len, n - res_off);
			}
		}
	}
}
END_TEST

/* Replace every byte of a good ARN by every other byte value: whatever is
 * accepted must still be six fields that tile the string exactly. */
START_TEST(test_arn_every_corruption)
{
	static const char good[] = "arn:aws:rds:eu-central-1:111111111111:snapshot:x";
	char buf[sizeof(good)];
	struct ob_awsid_arn a;
	size_t i, accepted = 0;
	int c;

	for (i = 0; i < sizeof(good) - 1; i++) {
		for (c = 1; c < 256; c++) {
			if (c == (unsigned char)good[i])
				continue;
			memcpy(buf, good, sizeof(good));
			buf[i] = (char)c;
			if (ob_awsid_arn_split(buf, &a) < 0)
				continue;
			accepted++;
			ck_assert_ptr_eq(a.partition, buf + 4);
			ck_assert_ptr_eq(a.service, a.partition + a.partition_len + 1);
			ck_assert_ptr_eq(a.region, a.service + a.service_len + 1);
			ck_assert_ptr_eq(a.account, a.region + a.region_len + 1);
			ck_assert_ptr_eq(a.resource, a.account + a.account_len + 1);
			ck_assert_ptr_eq(a.resource + a.resource_len, buf + strlen(buf));
			ck_assert_uint_gt(a.resource_len, 0);
			ck_assert_uint_eq(a.account_len, 12);
			/* A ':' put before the resource always makes one
			 * field too many before it: never valid here. */
			ck_assert_msg(i >= (size_t)(a.resource - buf) || c != ':',
				      "a ':' at %zu accepted", i);
		}
	}
	/* The resource takes almost anything; a test that accepted nothing
	 * would not be testing the invariants above. */
	ck_assert_uint_gt(accepted, 100);
}
END_TEST

START_TEST(test_arn_huge)
{
	const size_t mib = 1024 * 1024;
	struct ob_awsid_arn a;
	char *s;
	size_t head;

	/* A 1 MiB resource: the shape is fine, the length is not from outside. */
	s = long_string("arn:aws:rds:eu-central-1:111111111111:snapshot:", 'a', mib);
	ck_assert_int_eq(ob_awsid_arn_split(s, &a), 0);
	ck_assert_uint_eq(a.resource_len, mib - 38);
	ck_assert_int_eq(ob_awsid_arn_parse(s, &a), -1);
	free(s);

	/* The limit is exact. */
	s = long_string("arn:aws:rds:eu-central-1:111111111111:snapshot:", 'a', OB_AWSID_ARN_MAX);
	ck_assert_int_eq(ob_awsid_arn_parse(s, &a), 0);
	free(s);
	s = long_string("arn:aws:rds:eu-central-1:111111111111:snapshot:", 'a', OB_AWSID_ARN_MAX + 1);
	ck_assert_int_eq(ob_awsid_arn_parse(s, &a), -1);
	free(s);

	/* 1 MiB of colons, of "arn:" then colons, of "arn:" then letters. */
	s = long_string("", ':', mib);
	ck_assert_int_eq(ob_awsid_arn_split(s, &a), -1);
	ck_assert_int_eq(ob_awsid_arn_parse(s, &a), -1);
	free(s);
	s = long_string("arn:", ':', mib);
	ck_assert_int_eq(ob_awsid_arn_split(s, &a), -1);
	ck_assert_int_eq(ob_awsid_arn_parse(s, &a), -1);
	free(s);
	s = long_string("arn:", 'a', mib);
	ck_assert_int_eq(ob_awsid_arn_split(s, &a), -1);
	ck_assert_int_eq(ob_awsid_arn_parse(s, &a), -1);
	free(s);

	/* A huge partition: the configuration's old rule takes it, parse not. */
	s = long_string("arn:aws", 'a', 3000);
	head = strlen(s);
	s = realloc(s, head + 64);
	ck_assert_ptr_nonnull(s);
	strcpy(s + head, ":sns:eu-central-1:111111111111:inbox");
	ck_assert_int_eq(ob_awsid_arn_split(s, &a), 0);
	ck_assert_uint_eq(a.partition_len, 3000 - 4);
	ck_assert_int_eq(ob_awsid_arn_parse(s, &a), -1);
	free(s);
}
END_TEST

/* ---- KMS keys ---- */

START_TEST(test_kms_key_table)
{
	static const struct {
		const char *s;
		bool ok, managed;
	} rows[] = {
		{ "1234abcd-12ab-34cd-56ef-1234567890ab", true, false },
		{ "1234ABCD-12AB-34CD-56EF-1234567890AB", true, false },
		{ "mrk-1234abcd12ab34cd56ef1234567890ab", true, false },
		{ "alias/offsite-export", true, false },
		{ "alias/a", true, false },
		{ "alias/ob/export_1", true, false },
		{ "alias/aws", true, false },     /* only alias/aws/ is reserved */
		{ "alias/awsome", true, false },
		{ "arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", true, false },
		{ "arn:aws:kms:eu-central-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab", true, false },
		{ "arn:aws:kms:eu-central-1:222222222222:alias/offsite-import", true, false },
		{ "arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/mrk-1234abcd12ab34cd56ef1234567890ab", true, false },
		{ "arn:aws-cn:kms:cn-north-1:222222222222:alias/x", true, false },
		{ "arn:aws-iso:kms:us-iso-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", true, false },

		{ "alias/aws/rds", false, true },
		{ "alias/aws/", false, true },
		{ "arn:aws:kms:eu-central-1:222222222222:alias/aws/rds", false, true },
		{ "nonsense:alias/aws/x", false, true },

		{ "", false, false },
		{ "alias/", false, false },
		{ "alias", false, false },
		{ "Alias/x", false, false },
		{ "alias/a b", false, false },
		{ "alias/a.b", false, false },
		{ "alias/a:b", false, false },
		{ "1234abcd-12ab-34cd-56ef-1234567890a", false, false },   /* 35 */
		{ "1234abcd-12ab-34cd-56ef-1234567890abc", false, false }, /* 37 */
		{ "1234abcd_12ab-34cd-56ef-1234567890ab", false, false },
		{ "1234abcd-12ab-34cd-56ef1-234567890ab", false, false },
		{ "g234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ "1234abcd12ab34cd56ef1234567890ab", false, false },
		{ "mrk-1234abcd12ab34cd56ef1234567890a", false, false },
		{ "mrk-1234abcd12ab34cd56ef1234567890abc", false, false },
		{ "mrk-1234abcd12ab34cd56ef1234567890ag", false, false },
		{ "mrk-1234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ "MRK-1234abcd12ab34cd56ef1234567890ab", false, false },
		{ "key/1234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ " 1234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ "arn:aws:kms:eu-central-1:111111111111:key/nope", false, false },
		{ "arn:aws:kms:eu-central-1:111111111111:key/", false, false },
		{ "arn:aws:kms:eu-central-1:111111111111:alias/", false, false },
		{ "arn:aws:kms:eu-central-1:111111111111:1234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ "arn:aws:kms:eu-central-1:111111111111:key:1234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ "arn:aws:sns:eu-central-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab", false, false },
		{ "arn:aws:kms:eu-central:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ "arn:aws:kms:eu-central-1:11111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ "arn:aws:kms::111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", false, false },
		{ "arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab/x", false, false },
	};
	char alias[300];
	size_t i;

	for (i = 0; i < N(rows); i++) {
		ck_assert_msg(ob_awsid_kms_key_ok(rows[i].s) == rows[i].ok, "ok: \"%s\"", rows[i].s);
		ck_assert_msg(ob_awsid_kms_key_aws_managed(rows[i].s) == rows[i].managed,
			      "managed: \"%s\"", rows[i].s);
	}
	ck_assert(!ob_awsid_kms_key_ok(NULL));
	ck_assert(!ob_awsid_kms_key_aws_managed(NULL));

	/* alias/<name> is at most 256 bytes in all. */
	memcpy(alias, "alias/", 6);
	memset(alias + 6, 'k', 250);
	alias[256] = '\0';
	ck_assert(ob_awsid_kms_key_ok(alias));
	alias[256] = 'k';
	alias[257] = '\0';
	ck_assert(!ob_awsid_kms_key_ok(alias));
}
END_TEST

/* ---- SNS, SQS ---- */

START_TEST(test_sns_topic_table)
{
	static const struct span_row rows[] = {
		{ "t", 0, true },
		{ "offsite-backup-inbox", 0, true },
		{ "Inbox_2", 0, true },
		{ "inbox.fifo", 0, true },
		{ "", 0, false },
		{ ".fifo", 0, false },
		{ "inbox.FIFO", 0, false },
		{ "inbox.fifo.fifo", 0, false },
		{ "a.b", 0, false },
		{ "a:b", 0, false },
		{ "a/b", 0, false },
		{ "a b", 0, false },
		{ "in\0box", 6, false },
	};
	char name[300];
	size_t i;

	for (i = 0; i < N(rows); i++)
		ck_assert_msg(ob_awsid_sns_topic_ok(rows[i].s, row_len(&rows[i])) == rows[i].ok,
			      "row %zu: \"%s\"", i, rows[i].s);
	memset(name, 't', 256);
	ck_assert(ob_awsid_sns_topic_ok(name, 256));
	ck_assert(!ob_awsid_sns_topic_ok(name, 257));
	memcpy(name + 256, ".fifo", 5);
	ck_assert(ob_awsid_sns_topic_ok(name, 261));
	ck_assert(!ob_awsid_sns_topic_ok(NULL, 1));
}
END_TEST

START_TEST(test_sqs_queue_path_table)
{
	static const struct {
		const char *s;
		bool ok;
	} rows[] = {
		{ "/111111111111/q", true },
		{ "/111111111111/offsite-backup_inbox", true },
		{ "/111111111111/q.fifo", true },
		{ "/111111111111/"
		  "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", true }, /* 80 */
		{ "/111111111111/"
		  "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", false }, /* 81 */
		{ "", false },
		{ "/", false },
		{ "/111111111111", false },
		{ "/111111111111/", false },
		{ "/111111111111/.fifo", false },
		{ "/11111111111/q", false },
		{ "/1111111111111/q", false },
		{ "/11111111111a/q", false },
		{ "111111111111/q", false },
		{ "//111111111111/q", false },
		{ "/111111111111//q", false },
		{ "/111111111111/q/", false },
		{ "/111111111111/q/x", false },
		{ "/111111111111/q?Action=x", false },
		{ "/111111111111/q#f", false },
		{ "/111111111111/a b", false },
		{ "/111111111111/a.b", false },
		{ "/111111111111/q\0x", true }, /* a C string: ends at the NUL */
	};
	size_t i;

	for (i = 0; i < N(rows); i++)
		ck_assert_msg(ob_awsid_sqs_queue_path_ok(rows[i].s) == rows[i].ok, "row %zu: \"%s\"", i,
			      rows[i].s);
	ck_assert(!ob_awsid_sqs_queue_path_ok(NULL));
}
END_TEST

START_TEST(test_sqs_host_region_table)
{
	static const struct {
		const char *host;
		const char *region; /* NULL: not a regional SQS host */
	} rows[] = {
		{ "sqs.eu-central-1.amazonaws.com", "eu-central-1" },
		{ "sqs.cn-north-1.amazonaws.com.cn", "cn-north-1" },
		{ "sqs.us-gov-west-1.amazonaws.com", "us-gov-west-1" },
		{ "sqs.not_a_region.amazonaws.com", "not_a_region" }, /* the caller compares */
		{ "sqs..amazonaws.com", "" },
		{ "sqs.amazonaws.com", NULL },
		{ "sqs.eu-central-1.amazonaws.com.evil.example", NULL },
		{ "sqs.eu-central-1.amazonaws.co", NULL },
		{ "sqs.eu-central-1.example.com", NULL },
		{ "sqs.eu-central-1", NULL },
		{ "SQS.eu-central-1.amazonaws.com", NULL },
		{ "eu-central-1.queue.amazonaws.com", NULL },
		{ "xsqs.eu-central-1.amazonaws.com", NULL },
		{ "sqs", NULL },
		{ "sqs.", NULL },
		{ "", NULL },
	};
	const char *r, *untouched = "untouched";
	size_t i, n;

	for (i = 0; i < N(rows); i++) {
		r = untouched;
		n = 99;
		ck_assert_msg(ob_awsid_sqs_host_region(rows[i].host, strlen(rows[i].host), &r, &n) ==
			      (rows[i].region != NULL), "%s", rows[i].host);
		if (rows[i].region == NULL) {
			ck_assert_ptr_eq(r, untouched);
			ck_assert_uint_eq(n, 99);
			continue;
		}
		ck_assert_ptr_eq(r, rows[i].host + 4);
		ck_assert_uint_eq(n, strlen(rows[i].region));
		ck_assert_int_eq(memcmp(r, rows[i].region, n), 0);
	}
	/* The host is a span: what follows it in the URL is not looked at. */
	ck_assert(ob_awsid_sqs_host_region("sqs.eu-west-1.amazonaws.com:443/1/q", 27, &r, &n));
	ck_assert_uint_eq(n, 9);
	ck_assert(!ob_awsid_sqs_host_region("sqs.eu-west-1.amazonaws.com", 26, &r, &n));
	ck_assert(!ob_awsid_sqs_host_region("sqs.eu-west-1/x.amazonaws.com", 13, &r, &n));
	ck_assert(!ob_awsid_sqs_host_region(NULL, 0, &r, &n));
}
END_TEST

/* ---- globs, tags, access key ids ---- */

START_TEST(test_glob_table)
{
	static const struct span_row rows[] = {
		{ "*", 0, true },
		{ "db1", 0, true },
		{ "Prod-DB", 0, true },
		{ "db-?", 0, true },
		{ "prod-[0-9]*", 0, true },
		{ "[!a-c]x", 0, true },
		{ "[^a-c]", 0, true },
		{ "[abc][0-9]", 0, true },
		{ "", 0, true }, /* the caller refuses empty items */
		{ "[", 0, false },
		{ "[]", 0, false },
		{ "[!]", 0, false },
		{ "[^", 0, false },
		{ "[a-c", 0, false },
		{ "a]", 0, false },
		{ "[a.b]", 0, false },
		{ "[[a]", 0, false },
		{ "a b", 0, false },
		{ "a,b", 0, false },
		{ "a.b", 0, false },
		{ "a/b", 0, false },
		{ "a_b", 0, false },
		{ "\\*", 0, false },
		{ "d\xc3\xa9", 0, false },
		{ "a\0b", 3, false },
	};
	size_t i;

	for (i = 0; i < N(rows); i++)
		ck_assert_msg(ob_awsid_glob_ok(rows[i].s, row_len(&rows[i])) == rows[i].ok,
			      "row %zu: \"%s\"", i, rows[i].s);
	ck_assert(ob_awsid_glob_ok("prod-[0-9]", 5)); /* the span ends before '[' */
	ck_assert(!ob_awsid_glob_ok("prod-[0-9]", 8));
	ck_assert(!ob_awsid_glob_ok(NULL, 0));
}
END_TEST

START_TEST(test_tag_table)
{
	static const struct {
		const char *s;
		size_t n; /* 0: strlen */
		bool key_ok, value_ok;
	} rows[] = {
		{ "backup", 0, true, true },
		{ "offsite", 0, true, true },
		{ "", 0, false, true },
		{ "aws:cloudformation:stack-name", 0, true, true },
		{ "a b_c.d:e/f=g+h-i@j", 0, true, true },
		{ "\xc3\xa9t\xc3\xa9", 0, true, true }, /* "ete" with accents */
		{ "a#b", 0, false, false },
		{ "a,b", 0, false, false },
		{ "a;b", 0, false, false },
		{ "a\tb", 0, false, false },
		{ "a\nb", 0, false, false },
		{ "a\"b", 0, false, false },
		{ "a\0b", 3, false, false },
	};
	char big[300];
	size_t i, n;

	for (i = 0; i < N(rows); i++) {
		n = rows[i].n != 0 ? rows[i].n : strlen(rows[i].s);
		ck_assert_msg(ob_awsid_tag_key_ok(rows[i].s, n) == rows[i].key_ok, "key \"%s\"",
			      rows[i].s);
		ck_assert_msg(ob_awsid_tag_value_ok(rows[i].s, n) == rows[i].value_ok, "value \"%s\"",
			      rows[i].s);
	}
	memset(big, 'k', sizeof(big));
	ck_assert(ob_awsid_tag_key_ok(big, 128));
	ck_assert(!ob_awsid_tag_key_ok(big, 129));
	ck_assert(ob_awsid_tag_value_ok(big, 256));
	ck_assert(!ob_awsid_tag_value_ok(big, 257));
	ck_assert(!ob_awsid_tag_key_ok(NULL, 1));
	ck_assert(!ob_awsid_tag_value_ok(NULL, 0));
}
END_TEST

START_TEST(test_access_key_id_table)
{
	static const struct span_row rows[] = {
		{ "AKIAIOSFODNN7EXAMPLE", 0, true },
		{ "ASIA0123456789ab", 0, true },   /* 16 */
		{ "ASIA0123456789a", 0, false },   /* 15 */
		{ "", 0, false },
		{ "AKIA-IOSFODNN7EXAMPLE", 0, false },
		{ "AKIA IOSFODNN7EXAMPLE", 0, false },
		{ "AKIAIOSFODNN7EXAMPLE/", 0, false },
		{ "AKIAIOSF\0DNN7EXAMPLE", 20, false },
	};
	char big[200];
	size_t i;

	for (i = 0; i < N(rows); i++)
		ck_assert_msg(ob_awsid_access_key_id_ok(rows[i].s, row_len(&rows[i])) == rows[i].ok,
			      "row %zu: \"%s\"", i, rows[i].s);
	memset(big, 'A', sizeof(big));
	ck_assert(ob_awsid_access_key_id_ok(big, 128));
	ck_assert(!ob_awsid_access_key_id_ok(big, 129));
	ck_assert(!ob_awsid_access_key_id_ok(NULL, 20));
}
END_TEST

Suite *ob_suite_awsid(void)
{
	Suite *s = suite_create("awsid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_region_table);
	tcase_add_test(tc, test_account_table);
	tcase_add_test(tc, test_arn_good);
	tcase_add_test(tc, test_arn_bad);
	tcase_add_test(tc, test_arn_truncated);
	tcase_add_test(tc, test_arn_every_corruption);
	tcase_add_test(tc, test_arn_huge);
	tcase_add_test(tc, test_kms_key_table);
	tcase_add_test(tc, test_sns_topic_table);
	tcase_add_test(tc, test_sqs_queue_path_table);
	tcase_add_test(tc, test_sqs_host_region_table);
	tcase_add_test(tc, test_glob_table);
	tcase_add_test(tc, test_tag_table);
	tcase_add_test(tc, test_access_key_id_table);
	suite_add_tcase(s, tc);
	return s;
}
