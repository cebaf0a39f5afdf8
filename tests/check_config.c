/*
 * check_config.c - the configuration parser: every key's value, defaults,
 * each diagnostic with its exact "file:line: message" text, the secret-file
 * mode rule, secrets never echoed, hostile input (garbage, truncation, NUL
 * bytes, huge lines and files, random bytes seeded from OB_TEST_SEED) and the
 * shipped etc/offsite-backup.conf.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_ob.h"
#include "ob/config.h"

#define NAME "t.conf"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SECRET_PART "bPxRfiCY"
#define KEY_ID "AKIAIOSFODNN7EXAMPLE"

/* Expected diagnostics. */
#define ERR(line, msg) NAME ":" #line ": " msg "\n"
#define FERR(msg) NAME ": " msg "\n"
#define URL_MSG "expected an http:// or https:// URL"
#define Q_MSG "expected an SQS queue URL such as https://sqs.<region>.amazonaws.com/<account>/<queue>"
#define KMS_MSG "expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), alias ARN, key id or alias/<name>"
#define GLOB_MSG "expected a comma-separated list of globs on DB identifiers (letters, digits, -, *, ?, [...])"
#define DUR_MSG "expected a duration with a unit such as 30s, 5m, 26h, 7d"
#define ROLE_LINE "export_iam_role_arn = arn:aws:iam::111111111111:role/rds-s3-export\n"
#define B63 "b23456789012345678901234567890123456789012345678901234567890123"
#define X64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define N64 X64
#define P512 X64 X64 X64 X64 X64 X64 X64 X64
#define ROLE_MSG "expected an IAM role ARN such as arn:aws:iam::111111111111:role/rds-s3-export"
#define BN_CHARS "expected an S3 bucket name: lowercase letters, digits, '.' and '-' only"
#define BN_LEN "expected an S3 bucket name: 3 to 63 characters"
#define PFX_MSG "expected an S3 key prefix: 1 to 512 printable ASCII characters"

/* Full configurations, one key per line, so that a case can override a
 * key's value and know the line number of the message it expects. */
static const char *const SRC[] = {
	"[daemon]",                                                    /* 1 */
	"role = source",                                               /* 2 */
	"region = eu-central-1",                                       /* 3 */
	"queue_url = https://sqs.eu-central-1.amazonaws.com/111111111111/offsite-backup-events",
	"state_db = /var/lib/offsite-backup/state.db",                 /* 5 */
	"poll_interval = 30s",                                         /* 6 */
	"sweep_interval = 1h",                                         /* 7 */
	"max_concurrent_copies = 5",                                   /* 8 */
	"max_attempts = 10",                                           /* 9 */
	"log_level = info",                                            /* 10 */
	"[aws]",                                                       /* 11 */
	"credentials = instance",                                      /* 12 */
	"access_key_id =",                                             /* 13 */
	"secret_access_key =",                                         /* 14 */
	"endpoint_url =",                                              /* 15 */
	"imds_url = http://169.254.169.254",                           /* 16 */
	"[source]",                                                    /* 17 */
	"export_kms_key = arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	"target_account = 222222222222",                               /* 19 */
	"notify_topic_arn = arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox",
	"include_db = *",                                              /* 21 */
	"exclude_db =",                                                /* 22 */
	"require_tag =",                                               /* 23 */
	"export_copy_retention = 3d",                                  /* 24 */
	NULL,
};

static const char *const TGT[] = {
	"[daemon]",                                                    /* 1 */
	"role = target",                                               /* 2 */
	"region = eu-central-1",                                       /* 3 */
	"queue_url = https://sqs.eu-central-1.amazonaws.com/222222222222/offsite-backup-inbox",
	"state_db = /var/lib/offsite-backup/state.db",                 /* 5 */
	"poll_interval = 30s",                                         /* 6 */
	"sweep_interval = 1h",                                         /* 7 */
	"max_concurrent_copies = 5",                                   /* 8 */
	"max_attempts = 10",                                           /* 9 */
	"log_level = info",                                            /* 10 */
	"[aws]",                                                       /* 11 */
	"credentials = instance",                                      /* 12 */
	"access_key_id =",                                             /* 13 */
	"secret_access_key =",                                         /* 14 */
	"endpoint_url =",                                              /* 15 */
	"imds_url = http://169.254.169.254",                           /* 16 */
	"[target]",                                                    /* 17 */
	"import_kms_key = arn:aws:kms:eu-central-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	"allowed_source_accounts = 111111111111",                      /* 19 */
	"keep_daily = 7",                                              /* 20 */
	"keep_weekly = 4",                                             /* 21 */
	"keep_monthly = 12",                                           /* 22 */
	"keep_yearly = 5",                                             /* 23 */
	"rpo = 26h",                                                   /* 24 */
	NULL,
};

/* Every string field, to check none is ever NULL. */
static const size_t string_fields[] = {
	offsetof(struct ob_config, path), offsetof(struct ob_config, region),
	offsetof(struct ob_config, queue_url), offsetof(struct ob_config, state_db),
	offsetof(struct ob_config, access_key_id), offsetof(struct ob_config, secret_access_key),
	offsetof(struct ob_config, endpoint_url), offsetof(struct ob_config, imds_url),
	offsetof(struct ob_config, export_kms_key), offsetof(struct ob_config, target_account),
	offsetof(struct ob_config, notify_topic_arn), offsetof(struct ob_config, include_db),
	offsetof(struct ob_config, exclude_db), offsetof(struct ob_config, require_tag),
	offsetof(struct ob_config, import_kms_key),
	offsetof(struct ob_config, allowed_source_accounts),
	offsetof(struct ob_config, metrics_file),
	offsetof(struct ob_config, cloudwatch_namespace),
	offsetof(struct ob_config, export_to_s3_bucket),
	offsetof(struct ob_config, export_to_s3_prefix),
	offsetof(struct ob_config, export_iam_role_arn),
};

static const char *str_at(const struct ob_config *c, size_t off)
{
	return *(char *const *)((const char *)c + off);
}

/* Build a template with key values replaced (set[i][0] = key, [1] = value)
 * and extra text appended. Caller frees. */
static char *build(const char *const *tmpl, const char *const set[][2], size_t nset,
		   const char *extra)
{
	struct ob_buf b = OB_BUF_INIT;
	size_t i, j, klen;
	const char *line;

	for (i = 0; tmpl[i] != NULL; i++) {
		line = tmpl[i];
		for (j = 0; j < nset && set[j][0] != NULL; j++) {
			klen = strlen(set[j][0]);
			if (strncmp(line, set[j][0], klen) == 0 && strncmp(line + klen, " =", 2) == 0) {
				ck_assert_int_eq(ob_buf_printf(&b, "%s = %s", set[j][0], set[j][1]), 0);
				line = NULL;
				break;
			}
		}
		if (line != NULL)
			ck_assert_int_eq(ob_buf_puts(&b, line), 0);
		ck_assert_int_eq(ob_buf_putc(&b, '\n'), 0);
	}
	if (extra != NULL)
		ck_assert_int_eq(ob_buf_puts(&b, extra), 0);
	return ob_buf_steal(&b);
}

/* Every diagnostic line is "name:N: msg" or "name: msg", printable, and ends
 * with a newline. */
static void check_diag_shape(const char *name, const char *d)
{
	size_t nlen = strlen(name);
	const char *line = d, *nl;

	ck_assert_ptr_nonnull(d);
	while (*line != '\0') {
		nl = strchr(line, '\n');
		ck_assert_msg(nl != NULL, "diag line without newline: %s", line);
		ck_assert_msg(strncmp(line, name, nlen) == 0 && line[nlen] == ':',
			      "diag line without file name: %.*s", (int)(nl - line), line);
		for (const char *c = line; c < nl; c++)
			ck_assert_msg((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f,
				      "raw byte 0x%02x in diag", (unsigned char)*c);
		line = nl + 1;
	}
}

/* Parse text and check every invariant of the result. Returns rc. */
static int parse(const char *text, size_t len, unsigned mode, struct ob_config **cfg,
		 struct ob_buf *diag, struct ob_error *err)
{
	int rc;
	size_t i;

	ob_error_clear(err);
	rc = ob_config_parse(NAME, text, len, mode, cfg, diag, err);
	ck_assert(rc == 0 || rc == -1);
	if (rc == 0) {
		ck_assert_ptr_nonnull(*cfg);
		ck_assert_msg(diag->len == 0, "diag on success: %s", diag->data);
		for (i = 0; i < sizeof(string_fields) / sizeof(string_fields[0]); i++)
			ck_assert_ptr_nonnull(str_at(*cfg, string_fields[i]));
	} else {
		ck_assert_ptr_null(*cfg);
		ck_assert_msg(diag->len > 0, "failure without a diagnostic");
		ck_assert(err->kind == OB_ERR_CONFIG || err->kind == OB_ERR_NOMEM);
		check_diag_shape(NAME, diag->data);
	}
	return rc;
}

static int parse_str(const char *text, unsigned mode, struct ob_config **cfg,
		     struct ob_buf *diag, struct ob_error *err)
{
	return parse(text, strlen(text), mode, cfg, diag, err);
}

/* ---- durations ---- */

static const struct {
	const char *s;
	int rc;
	int64_t ms;
} durations[] = {
	{ "0", 0, 0 },
	{ "0s", 0, 0 },
	{ "1ms", 0, 1 },
	{ "250ms", 0, 250 },
	{ "30s", 0, 30000 },
	{ "5m", 0, 300000 },
	{ "26h", 0, 93600000 },
	{ "7d", 0, 604800000 },
	{ "007d", 0, 604800000 },
	{ "9223372036854775807ms", 0, INT64_MAX },
	{ "9223372036854775s", 0, INT64_C(9223372036854775000) },
	{ "106751991167d", 0, INT64_C(106751991167) * 86400000 },
	{ "9223372036854775808ms", -1, 0 },
	{ "9223372036854776s", -1, 0 },
	{ "106751991168d", -1, 0 },
	{ "99999999999999999999999999d", -1, 0 },
	{ "", -1, 0 },
	{ "30", -1, 0 },
	{ "00", -1, 0 },
	{ "-5s", -1, 0 },
	{ "+5s", -1, 0 },
	{ "5 s", -1, 0 },
	{ " 5s", -1, 0 },
	{ "5s ", -1, 0 },
	{ "5S", -1, 0 },
	{ "1.5h", -1, 0 },
	{ "1h30m", -1, 0 },
	{ "5x", -1, 0 },
	{ "5sec", -1, 0 },
	{ "s", -1, 0 },
	{ "ms", -1, 0 },
	{ "1w", -1, 0 },
};

START_TEST(test_duration)
{
	int64_t ms = -42;
	int rc = ob_config_parse_duration(durations[_i].s, &ms);

	ck_assert_msg(rc == durations[_i].rc, "\"%s\": rc %d", durations[_i].s, rc);
	if (rc == 0)
		ck_assert_msg(ms == durations[_i].ms, "\"%s\": %lld ms", durations[_i].s,
			      (long long)ms);
}
END_TEST

START_TEST(test_duration_null)
{
	int64_t ms;

	ck_assert_int_eq(ob_config_parse_duration(NULL, &ms), -1);
	ck_assert_int_eq(ob_config_parse_duration("5s", NULL), -1);
}
END_TEST

/* ---- valid configurations ---- */

START_TEST(test_source_full)
{
	static const char *const set[][2] = {
		{ "state_db", "/srv/ob/state.db" },
		{ "poll_interval", "250ms" },
		{ "sweep_interval", "0" },
		{ "max_concurrent_copies", "20" },
		{ "max_attempts", "1000" },
		{ "log_level", "debug" },
		{ "credentials", "static" },
		{ "access_key_id", KEY_ID },
		{ "secret_access_key", SECRET },
		{ "endpoint_url", "http://127.0.0.1:5000" },
		{ "imds_url", "http://127.0.0.1:5000/imds" },
		{ "queue_url", "http://127.0.0.1:5000/111111111111/events" },
		{ "export_kms_key", "alias/offsite-export" },
		{ "include_db", "orders-* , billing-[0-9]*,x?" },
		{ "exclude_db", "*-test" },
		{ "require_tag", "backup=offsite" },
		{ "export_copy_retention", "36h" },
	};
	char *text = build(SRC, set, sizeof(set) / sizeof(set[0]), NULL);
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(parse_str(text, 0600, &c, &diag, &err), 0);
	ck_assert_str_eq(c->path, NAME);
	ck_assert_int_eq(c->role, OB_ROLE_SOURCE);
	ck_assert_str_eq(c->region, "eu-central-1");
	ck_assert_str_eq(c->queue_url, "http://127.0.0.1:5000/111111111111/events");
	ck_assert_str_eq(c->state_db, "/srv/ob/state.db");
	ck_assert_int_eq(c->poll_interval_ms, 250);
	ck_assert_int_eq(c->sweep_interval_ms, 0);
	ck_assert_int_eq(c->max_concurrent_copies, 20);
	ck_assert_int_eq(c->max_attempts, 1000);
	ck_assert_int_eq(c->log_level, OB_LOG_DEBUG);
	ck_assert_int_eq(c->credentials, OB_CREDS_STATIC);
	ck_assert_str_eq(c->access_key_id, KEY_ID);
	ck_assert_str_eq(c->secret_access_key, SECRET);
	ck_assert_str_eq(c->endpoint_url, "http://127.0.0.1:5000");
	ck_assert_str_eq(c->imds_url, "http://127.0.0.1:5000/imds");
	ck_assert_str_eq(c->export_kms_key, "alias/offsite-export");
	ck_assert_str_eq(c->target_account, "222222222222");
	ck_assert_str_eq(c->notify_topic_arn,
			 "arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox");
	ck_assert_str_eq(c->include_db, "orders-*,billing-[0-9]*,x?");
	ck_assert_str_eq(c->exclude_db, "*-test");
	ck_assert_str_eq(c->require_tag, "backup=offsite");
	ck_assert_int_eq(c->export_copy_retention_ms, 36 * 3600000LL);
	/* the other role's keys: empty strings, table defaults */
	ck_assert_str_eq(c->import_kms_key, "");
	ck_assert_str_eq(c->allowed_source_accounts, "");
	ck_assert_int_eq(c->keep_daily, 7);
	ck_assert_int_eq(c->rpo_ms, 26 * 3600000LL);
	ob_config_free(c);
	ob_buf_clear(&diag);
	free(text);
}
END_TEST

START_TEST(test_target_full)
{
	static const char *const set[][2] = {
		{ "region", "us-gov-west-1" },
		{ "queue_url", "https://sqs.us-gov-west-1.amazonaws.com/222222222222/inbox.fifo" },
		{ "log_level", "err" },
		{ "credentials", "env" },
		{ "endpoint_url", "https://[::1]:4566" },
		{ "import_kms_key",
		  "arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/mrk-1234abcd12ab34cd56ef1234567890ab" },
		{ "allowed_source_accounts", "111111111111 , 333333333333,444444444444" },
		{ "keep_daily", "0" },
		{ "keep_weekly", "0" },
		{ "keep_monthly", "0" },
		{ "keep_yearly", "10000" },
		{ "rpo", "2d" },
	};
	char *text = build(TGT, set, sizeof(set) / sizeof(set[0]), NULL);
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(parse_str(text, 0644, &c, &diag, &err), 0);
	ck_assert_int_eq(c->role, OB_ROLE_TARGET);
	ck_assert_str_eq(c->region, "us-gov-west-1");
	ck_assert_str_eq(c->queue_url,
			 "https://sqs.us-gov-west-1.amazonaws.com/222222222222/inbox.fifo");
	ck_assert_int_eq(c->log_level, OB_LOG_ERR);
	ck_assert_int_eq(c->credentials, OB_CREDS_ENV);
	ck_assert_str_eq(c->endpoint_url, "https://[::1]:4566");
	ck_assert_str_eq(c->import_kms_key,
			 "arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/mrk-1234abcd12ab34cd56ef1234567890ab");
	ck_assert_str_eq(c->allowed_source_accounts, "111111111111,333333333333,444444444444");
	ck_assert_int_eq(c->keep_daily, 0);
	ck_assert_int_eq(c->keep_weekly, 0);
	ck_assert_int_eq(c->keep_monthly, 0);
	ck_assert_int_eq(c->keep_yearly, 10000);
	ck_assert_int_eq(c->rpo_ms, 2 * 86400000LL);
	ck_assert_str_eq(c->export_kms_key, "");
	ck_assert_str_eq(c->target_account, "");
	ck_assert_str_eq(c->notify_topic_arn, "");
	ck_assert_str_eq(c->include_db, "*");
	ob_config_free(c);
	ob_buf_clear(&diag);
	free(text);
}
END_TEST

static const char SRC_MIN[] =
	"[daemon]\n"
	"role = source\n"
	"region = eu-central-1\n"
	"queue_url = https://sqs.eu-central-1.amazonaws.com/111111111111/offsite-backup-events\n"
	"[source]\n"
	"export_kms_key = arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab\n"
	"target_account = 222222222222\n"
	"notify_topic_arn = arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox\n";

static const char TGT_MIN[] =
	"[daemon]\n"
	"role = target\n"
	"region = eu-central-1\n"
	"queue_url = https://sqs.eu-central-1.amazonaws.com/222222222222/offsite-backup-inbox\n"
	"[target]\n"
	"import_kms_key = arn:aws:kms:eu-central-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab\n"
	"allowed_source_accounts = 111111111111\n";

static void check_defaults(const struct ob_config *c)
{
	ck_assert_str_eq(c->state_db, "/var/lib/offsite-backup/state.db");
	ck_assert_int_eq(c->poll_interval_ms, 30000);
	ck_assert_int_eq(c->sweep_interval_ms, 3600000);
	ck_assert_int_eq(c->max_concurrent_copies, 5);
	ck_assert_int_eq(c->max_attempts, 10);
	ck_assert_int_eq(c->log_level, OB_LOG_INFO);
	ck_assert_str_eq(c->metrics_file, "");
	ck_assert_str_eq(c->cloudwatch_namespace, "");
	ck_assert_int_eq(c->credentials, OB_CREDS_INSTANCE);
	ck_assert_str_eq(c->access_key_id, "");
	ck_assert_str_eq(c->secret_access_key, "");
	ck_assert_str_eq(c->endpoint_url, "");
	ck_assert_str_eq(c->imds_url, "http://169.254.169.254");
	ck_assert_str_eq(c->include_db, "*");
	ck_assert_str_eq(c->exclude_db, "");
	ck_assert_str_eq(c->require_tag, "");
	ck_assert_int_eq(c->export_copy_retention_ms, 3 * 86400000LL);
	ck_assert_int_eq(c->keep_daily, 7);
	ck_assert_int_eq(c->keep_weekly, 4);
	ck_assert_int_eq(c->keep_monthly, 12);
	ck_assert_int_eq(c->keep_yearly, 5);
	ck_assert_int_eq(c->rpo_ms, 26 * 3600000LL);
}

/* Blanks around keys, values and headers, and "key=value" without blanks. */
START_TEST(test_whitespace)
{
	static const char *const extras[] = {
		"[daemon]\n\tlog_level\t=\tdebug\t\n",
		"  [ daemon ]  # again\nlog_level=debug\n",
		"[daemon]\n   log_level   =debug#not a comment\n",
	};
	struct ob_buf text = OB_BUF_INIT, diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	size_t i;

	for (i = 0; i < 2; i++) {
		ob_buf_reset(&text);
		ck_assert_int_eq(ob_buf_printf(&text, "%s%s", SRC_MIN, extras[i]), 0);
		ck_assert_msg(parse_str(text.data, 0600, &c, &diag, &err) == 0, "%s", diag.data);
		ck_assert_int_eq(c->log_level, OB_LOG_DEBUG);
		ob_config_free(c);
	}
	ob_buf_reset(&text);
	ck_assert_int_eq(ob_buf_printf(&text, "%s%s", SRC_MIN, extras[2]), 0);
	ck_assert_int_eq(parse_str(text.data, 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, ERR(10, "log_level: expected one of err, warning, notice, info, debug, "
					"got \"debug#not a comment\""));
	ob_buf_clear(&text);
	ob_buf_clear(&diag);
}
END_TEST

START_TEST(test_defaults)
{
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(parse_str(SRC_MIN, 0644, &c, &diag, &err), 0);
	check_defaults(c);
	ck_assert_str_eq(c->import_kms_key, "");
	ob_config_free(c);
	ck_assert_int_eq(parse_str(TGT_MIN, 0644, &c, &diag, &err), 0);
	check_defaults(c);
	ck_assert_str_eq(c->target_account, "");
	ck_assert_str_eq(c->allowed_source_accounts, "111111111111");
	ob_config_free(c);
	ob_buf_clear(&diag);
}
END_TEST

/* Valid variations: each parses and sets one field to the expected value. */
enum fkind { FS, FL, FD, FE };
static const struct {
	const char *const *tmpl;
	const char *set[3][2];
	const char *extra;
	enum fkind kind;
	size_t off;
	const char *want_s;
	long long want_n;
} valids[] = {
#define O(f) offsetof(struct ob_config, f)
	{ SRC, { { "region", "eu-central-1 # Frankfurt" } }, NULL, FS, O(region), "eu-central-1", 0 },
	{ SRC, { { "region", "eu-central-1\t#tab before comment" } }, NULL, FS, O(region), "eu-central-1", 0 },
	{ SRC, { { "state_db", "/var/lib/ob#1/state.db" } }, NULL, FS, O(state_db), "/var/lib/ob#1/state.db", 0 },
	{ SRC, { { "state_db", "/var/lib/\xc3\xbcnic\xc3\xb6" "de.db" } }, NULL, FS, O(state_db),
	  "/var/lib/\xc3\xbcnic\xc3\xb6" "de.db", 0 },
	{ SRC, { { "log_level", "" } }, NULL, FE, O(log_level), NULL, OB_LOG_INFO },
	{ SRC, { { "log_level", "# only a comment" } }, NULL, FE, O(log_level), NULL, OB_LOG_INFO },
	{ SRC, { { "log_level", "warning" } }, NULL, FE, O(log_level), NULL, OB_LOG_WARNING },
	{ SRC, { { "log_level", "notice" } }, NULL, FE, O(log_level), NULL, OB_LOG_NOTICE },
	{ SRC, { { "sweep_interval", "0" } }, NULL, FD, O(sweep_interval_ms), NULL, 0 },
	{ SRC, { { "max_concurrent_copies", "1" } }, NULL, FL, O(max_concurrent_copies), NULL, 1 },
	{ SRC, { { "max_attempts", "1" } }, NULL, FL, O(max_attempts), NULL, 1 },
	{ SRC, { { "region", "cn-north-1" }, { "queue_url", "https://sqs.cn-north-1.amazonaws.com.cn/111111111111/q" } },
	  NULL, FS, O(region), "cn-north-1", 0 },
	{ SRC, { { "queue_url", "https://vpce-1.sqs.eu-central-1.vpce.amazonaws.com/111111111111/q" } },
	  NULL, FS, O(queue_url), "https://vpce-1.sqs.eu-central-1.vpce.amazonaws.com/111111111111/q", 0 },
	{ SRC, { { "export_kms_key", "1234abcd-12ab-34cd-56ef-1234567890ab" } }, NULL, FS, O(export_kms_key),
	  "1234abcd-12ab-34cd-56ef-1234567890ab", 0 },
	{ SRC, { { "export_kms_key", "mrk-1234abcd12ab34cd56ef1234567890ab" } }, NULL, FS, O(export_kms_key),
	  "mrk-1234abcd12ab34cd56ef1234567890ab", 0 },
	{ SRC, { { "export_kms_key", "arn:aws:kms:eu-central-1:111111111111:alias/ob/export" } }, NULL, FS,
	  O(export_kms_key), "arn:aws:kms:eu-central-1:111111111111:alias/ob/export", 0 },
	{ SRC, { { "notify_topic_arn", "arn:aws:sns:eu-west-1:222222222222:inbox.fifo" } }, NULL, FS,
	  O(notify_topic_arn), "arn:aws:sns:eu-west-1:222222222222:inbox.fifo", 0 },
	{ SRC, { { NULL } }, "[daemon]\nalert_topic_arn = arn:aws:sns:eu-central-1:111111111111:alerts\n",
	  FS, O(alert_topic_arn), "arn:aws:sns:eu-central-1:111111111111:alerts", 0 },
	{ SRC, { { "require_tag", "aws:backup:source-resource=db-1" } }, NULL, FS, O(require_tag),
	  "aws:backup:source-resource=db-1", 0 },
	{ SRC, { { "require_tag", "offsite=" } }, NULL, FS, O(require_tag), "offsite=", 0 },
	{ SRC, { { "include_db", "[!a-c]x,[^d]*" } }, NULL, FS, O(include_db), "[!a-c]x,[^d]*", 0 },
	{ SRC, { { "include_db", "" } }, NULL, FS, O(include_db), "*", 0 },
	{ SRC, { { NULL } }, "[source] # comment after a header\n", FS, O(target_account), "222222222222", 0 },
	{ SRC, { { NULL } }, "[target]\nimport_kms_key =\nkeep_daily =\n", FS, O(import_kms_key), "", 0 },
	{ SRC, { { "credentials", "static" }, { "access_key_id", KEY_ID }, { "secret_access_key", SECRET } },
	  NULL, FE, O(credentials), NULL, OB_CREDS_STATIC },
	{ TGT, { { "allowed_source_accounts", "111111111111" } }, "[target]\n", FS, O(allowed_source_accounts),
	  "111111111111", 0 },
	{ TGT, { { "endpoint_url", "http://localhost:4566" },
		 { "queue_url", "http://sqs.eu-central-1.localhost.localstack.cloud:4566/000000000000/q" } },
	  NULL, FS, O(queue_url), "http://sqs.eu-central-1.localhost.localstack.cloud:4566/000000000000/q", 0 },
	{ TGT, { { "endpoint_url", "https://gw.example.com" }, { "region", "eu-west-1" } }, NULL, FS,
	  O(region), "eu-west-1", 0 }, /* an explicit endpoint: no region check on the queue host */
	{ TGT, { { "keep_daily", "0" }, { "keep_weekly", "0" }, { "keep_monthly", "1" } }, NULL, FL,
	  O(keep_monthly), NULL, 1 },
	{ TGT, { { NULL } }, "[daemon]\nmetrics_file = /run/ob/x.prom\ncloudwatch_namespace = Offsite Backup/1\n",
	  FS, O(cloudwatch_namespace), "Offsite Backup/1", 0 },
	{ SRC, { { NULL } }, "[daemon]\nmetrics_file = /run/ob/x.prom\n", FS, O(metrics_file),
	  "/run/ob/x.prom", 0 },
	/* S3 export */
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = ob-escrow.vault-1\n" ROLE_LINE, FS,
	  O(export_to_s3_bucket), "ob-escrow.vault-1", 0 },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = abc\n" ROLE_LINE, FS,
	  O(export_to_s3_bucket), "abc", 0 },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = " B63 "\n" ROLE_LINE, FS,
	  O(export_to_s3_bucket), B63, 0 },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = 1.2.3.4.5\n" ROLE_LINE, FS,
	  O(export_to_s3_bucket), "1.2.3.4.5", 0 },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_to_s3_prefix = rds/exports #x\n"
	  ROLE_LINE, FS, O(export_to_s3_prefix), "rds/exports", 0 },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_to_s3_prefix = a b/C=1!\n"
	  ROLE_LINE, FS, O(export_to_s3_prefix), "a b/C=1!", 0 },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_to_s3_prefix = " P512 "\n"
	  ROLE_LINE, FS, O(export_to_s3_prefix), P512, 0 },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = "
	  "arn:aws:iam::111111111111:role/service-role/rds+s3=export,x.y@z_1\n", FS, O(export_iam_role_arn),
	  "arn:aws:iam::111111111111:role/service-role/rds+s3=export,x.y@z_1", 0 },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = "
	  "arn:aws-cn:iam::111111111111:role/" N64 "\n", FS, O(export_iam_role_arn),
	  "arn:aws-cn:iam::111111111111:role/" N64, 0 },
	{ SRC, { { NULL } }, "", FS, O(export_to_s3_bucket), "", 0 },
#undef O
};

START_TEST(test_valid)
{
	char *text = build(valids[_i].tmpl, valids[_i].set, 3, valids[_i].extra);
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	const char *p;

	ck_assert_msg(parse_str(text, 0600, &c, &diag, &err) == 0, "case %d: %s", _i, diag.data);
	p = (const char *)c + valids[_i].off;
	switch (valids[_i].kind) {
	case FS: ck_assert_str_eq(*(char *const *)p, valids[_i].want_s); break;
	case FL: ck_assert_int_eq(*(const long *)p, valids[_i].want_n); break;
	case FD: ck_assert_int_eq(*(const int64_t *)p, valids[_i].want_n); break;
	case FE: ck_assert_int_eq(*(const int *)p, valids[_i].want_n); break;
	}
	ob_config_free(c);
	ob_buf_clear(&diag);
	free(text);
}
END_TEST

/* ---- every error, with its exact text ---- */


static const struct {
	const char *const *tmpl;
	const char *set[3][2];
	const char *extra;
	const char *expect;
} errors[] = {
	/* structure */
	{ SRC, { { NULL } }, "[bogus]\nfoo = 1\n",
	  ERR(25, "unknown section \"bogus\"; expected [daemon], [aws], [source] or [target]") },
	{ SRC, { { NULL } }, "[Daemon]\n", ERR(25, "unknown section; expected [daemon], [aws], [source] or [target]") },
	{ SRC, { { NULL } }, "[daemon\nlog_level = debug\n",
	  ERR(25, "section header without closing ']'")
	  ERR(26, "duplicate key log_level (first set on line 10)") },
	{ SRC, { { NULL } }, "[source] junk\n", ERR(25, "unexpected text after ']'") },
	{ SRC, { { NULL } }, "[daemon]\npol_interval = 5s\n",
	  ERR(26, "unknown key \"pol_interval\" in [daemon]; did you mean poll_interval?") },
	{ SRC, { { NULL } }, "[daemon]\nRegion = x\n",
	  ERR(26, "unknown key in [daemon]; did you mean region?") },
	{ SRC, { { NULL } }, "[daemon]\nfrobnicate = 1\n", ERR(26, "unknown key \"frobnicate\" in [daemon]") },
	{ SRC, { { NULL } }, "[aws]\npoll_interval = 5s\n", ERR(26, "poll_interval belongs in [daemon], not [aws]") },
	{ SRC, { { NULL } }, "[daemon]\nregion = eu-west-1\n", ERR(26, "duplicate key region (first set on line 3)") },
	{ SRC, { { NULL } }, "[daemon]\nregion =\n", ERR(26, "duplicate key region (first set on line 3)") },
	{ SRC, { { NULL } }, "[daemon]\npoll_interval 5s\n",
	  ERR(26, "expected \"key = value\", \"[section]\" or a # comment") },
	{ SRC, { { NULL } }, "[daemon]\nlog_level\n", ERR(26, "expected \"key = value\", \"[section]\" or a # comment") },
	{ SRC, { { NULL } }, "[daemon]\n = 5\n", ERR(26, "missing key name before '='") },
	/* [daemon] values */
	{ SRC, { { "role", "both" } }, NULL, ERR(2, "role: expected one of source, target, got \"both\"") },
	{ SRC, { { "role", "" } }, NULL, ERR(2, "role is required in [daemon]") },
	{ SRC, { { "region", "eu-central" } }, NULL,
	  ERR(3, "region: expected an AWS region such as eu-central-1, got \"eu-central\"") },
	{ SRC, { { "region", "EU-CENTRAL-1" } }, NULL,
	  ERR(3, "region: expected an AWS region such as eu-central-1, got \"EU-CENTRAL-1\"") },
	{ SRC, { { "region", "" } }, NULL, ERR(3, "region is required in [daemon]") },
	{ SRC, { { "region", "eu-west-1" } }, NULL, ERR(4, "queue_url: the queue is not in region eu-west-1") },
	/* the alert topic must be in the daemon's region */
	{ SRC, { { NULL } }, "[daemon]\nalert_topic_arn = arn:aws:sns:eu-west-1:111111111111:alerts\n",
	  ERR(26, "alert_topic_arn: the topic is in region eu-west-1, but [daemon] region is "
	      "eu-central-1: the alert topic must be in the daemon's region") },
	{ SRC, { { "queue_url", "https://sqs.us-east-1.amazonaws.com.cn/111111111111/q" } }, NULL,
	  ERR(4, "queue_url: the queue is not in region eu-central-1") },
	{ SRC, { { "queue_url", "https://sqs.us-east-1.amazonaws.com:443/111111111111/q" } }, NULL,
	  ERR(4, "queue_url: the queue is not in region eu-central-1") },
	{ SRC, { { "queue_url", "http://sqs.eu-central-1.amazonaws.com/111111111111/q" } }, NULL,
	  ERR(4, "queue_url: https:// is required unless endpoint_url is set") },
	{ SRC, { { "queue_url", "arn:aws:sqs:eu-central-1:111111111111:q" } }, NULL,
	  ERR(4, "queue_url: " Q_MSG ", got \"arn:aws:sqs:eu-central-1:111111111111:q\"") },
	{ SRC, { { "queue_url", "https://sqs.eu-central-1.amazonaws.com/q" } }, NULL,
	  ERR(4, "queue_url: " Q_MSG ", got \"https://sqs.eu-central-1.amazonaws.com/q\"") },
	{ SRC, { { "queue_url", "https://sqs.eu-central-1.amazonaws.com/111111111111/q?x=1" } }, NULL,
	  ERR(4, "queue_url: " Q_MSG ", got \"https://sqs.eu-central-1.amazonaws.com/111111111111/q?x=1\"") },
	{ SRC, { { "queue_url", "" } }, NULL, ERR(4, "queue_url is required in [daemon]") },
	{ SRC, { { "state_db", "state.db" } }, NULL, ERR(5, "state_db: expected an absolute path, got \"state.db\"") },
	{ SRC, { { "poll_interval", "30" } }, NULL, ERR(6, "poll_interval: " DUR_MSG ", got \"30\"") },
	{ SRC, { { "poll_interval", "-5s" } }, NULL, ERR(6, "poll_interval: " DUR_MSG ", got \"-5s\"") },
	{ SRC, { { "poll_interval", "0" } }, NULL,
	  ERR(6, "poll_interval: expected a duration greater than 0, got \"0\"") },
	{ SRC, { { "poll_interval", "106751991168d" } }, NULL,
	  ERR(6, "poll_interval: expected a duration of at most 106751991167d, got \"106751991168d\"") },
	{ SRC, { { "sweep_interval", "1 h" } }, NULL, ERR(7, "sweep_interval: " DUR_MSG ", got \"1 h\"") },
	{ SRC, { { "max_concurrent_copies", "21" } }, NULL,
	  ERR(8, "max_concurrent_copies: expected an integer from 1 to 20, got \"21\"") },
	{ SRC, { { "max_concurrent_copies", "0" } }, NULL,
	  ERR(8, "max_concurrent_copies: expected an integer from 1 to 20, got \"0\"") },
	{ SRC, { { "max_concurrent_copies", "5x" } }, NULL,
	  ERR(8, "max_concurrent_copies: expected an integer from 1 to 20, got \"5x\"") },
	{ SRC, { { "max_concurrent_copies", "+5" } }, NULL,
	  ERR(8, "max_concurrent_copies: expected an integer from 1 to 20, got \"+5\"") },
	{ SRC, { { "max_attempts", "1001" } }, NULL,
	  ERR(9, "max_attempts: expected an integer from 1 to 1000, got \"1001\"") },
	{ SRC, { { "max_attempts", "99999999999999999999999" } }, NULL,
	  ERR(9, "max_attempts: expected an integer from 1 to 1000, got \"99999999999999999999999\"") },
	{ SRC, { { "max_attempts", "-9223372036854775808" } }, NULL,
	  ERR(9, "max_attempts: expected an integer from 1 to 1000, got \"-9223372036854775808\"") },
	{ SRC, { { "log_level", "verbose" } }, NULL,
	  ERR(10, "log_level: expected one of err, warning, notice, info, debug, got \"verbose\"") },
	/* [aws] */
	{ SRC, { { "credentials", "bogus" } }, NULL,
	  ERR(12, "credentials: expected one of instance, env, static, got \"bogus\"") },
	{ SRC, { { "credentials", "static" } }, NULL,
	  ERR(12, "credentials = static requires access_key_id in [aws]")
	  ERR(12, "credentials = static requires secret_access_key in [aws]") },
	{ SRC, { { "credentials", "static" }, { "access_key_id", KEY_ID } }, NULL,
	  ERR(12, "credentials = static requires secret_access_key in [aws]") },
	{ SRC, { { "access_key_id", KEY_ID } }, NULL,
	  ERR(13, "access_key_id is only allowed with credentials = static") },
	{ SRC, { { "credentials", "env" }, { "secret_access_key", SECRET } }, NULL,
	  ERR(14, "secret_access_key is only allowed with credentials = static") },
	{ SRC, { { "credentials", "static" }, { "access_key_id", "AKIA-short" }, { "secret_access_key", SECRET } },
	  NULL, ERR(13, "access_key_id: expected 16 to 128 letters and digits") },
	{ SRC, { { "endpoint_url", "ftp://127.0.0.1" } }, NULL,
	  ERR(15, "endpoint_url: " URL_MSG ", got \"ftp://127.0.0.1\"") },
	{ SRC, { { "endpoint_url", "127.0.0.1:5000" } }, NULL,
	  ERR(15, "endpoint_url: " URL_MSG ", got \"127.0.0.1:5000\"") },
	{ SRC, { { "endpoint_url", "http://" } }, NULL,
	  ERR(15, "endpoint_url: expected an http:// or https:// URL with a host, got \"http://\"") },
	{ SRC, { { "endpoint_url", "http://host:99999" } }, NULL,
	  ERR(15, "endpoint_url: expected an http:// or https:// URL with a valid port, got \"http://host:99999\"") },
	{ SRC, { { "endpoint_url", "http://host/a b" } }, NULL,
	  ERR(15, "endpoint_url: expected an http:// or https:// URL without blanks or non-ASCII bytes, got \"http://host/a b\"") },
	{ SRC, { { "endpoint_url", "http://user:pw@host" } }, NULL,
	  ERR(15, "endpoint_url: expected a URL without a user name or password") },
	{ SRC, { { "endpoint_url", "http://host:5000?a=b" } }, NULL,
	  ERR(15, "endpoint_url: expected an http:// or https:// URL without a query or fragment, got \"http://host:5000?a=b\"") },
	{ SRC, { { "endpoint_url", "http://host:5000#x" } }, NULL,
	  ERR(15, "endpoint_url: expected an http:// or https:// URL without a query or fragment, got \"http://host:5000#x\"") },
	{ SRC, { { "imds_url", "169.254.169.254" } }, NULL,
	  ERR(16, "imds_url: " URL_MSG ", got \"169.254.169.254\"") },
	/* [source] */
	{ SRC, { { "export_kms_key", "alias/aws/rds" } }, NULL,
	  ERR(18, "export_kms_key: expected a customer managed KMS key: AWS managed keys (alias/aws/...) cannot be shared, got \"alias/aws/rds\"") },
	{ SRC, { { "export_kms_key", "arn:aws:kms:eu-central-1:111111111111:key/nope" } }, NULL,
	  ERR(18, "export_kms_key: " KMS_MSG ", got \"arn:aws:kms:eu-central-1:111111111111:key/nope\"") },
	{ SRC, { { "export_kms_key", "arn:aws:sns:eu-central-1:111111111111:key/mrk-0123456789abcdef" } }, NULL,
	  ERR(18, "export_kms_key: " KMS_MSG ", got \"arn:aws:sns:eu-central-1:111111111111:key/mrk-0123456789abcdef\"") },
	{ SRC, { { "export_kms_key", "" } }, NULL,
	  ERR(18, "export_kms_key is required in [source] with role = source") },
	{ SRC, { { "target_account", "22222222222" } }, NULL,
	  ERR(19, "target_account: expected a 12-digit AWS account id, got \"22222222222\"") },
	{ SRC, { { "target_account", "2222222222223" } }, NULL,
	  ERR(19, "target_account: expected a 12-digit AWS account id, got \"2222222222223\"") },
	{ SRC, { { "target_account", "22222222222x" } }, NULL,
	  ERR(19, "target_account: expected a 12-digit AWS account id, got \"22222222222x\"") },
	{ SRC, { { "notify_topic_arn", "arn:aws:sqs:eu-central-1:222222222222:inbox" } }, NULL,
	  ERR(20, "notify_topic_arn: expected an sns ARN such as arn:aws:sns:<region>:<account>:<name>, got \"arn:aws:sqs:eu-central-1:222222222222:inbox\"") },
	{ SRC, { { "notify_topic_arn", "arn:aws:sns:eu-central-1:222222222222:a:b" } }, NULL,
	  ERR(20, "notify_topic_arn: expected an sns ARN such as arn:aws:sns:<region>:<account>:<name>, got \"arn:aws:sns:eu-central-1:222222222222:a:b\"") },
	{ SRC, { { "include_db", "orders-*,,x" } }, NULL, ERR(21, "include_db: " GLOB_MSG ", got \"orders-*,,x\"") },
	{ SRC, { { "include_db", "[abc" } }, NULL, ERR(21, "include_db: " GLOB_MSG ", got \"[abc\"") },
	{ SRC, { { "exclude_db", "a#b" } }, NULL, ERR(22, "exclude_db: " GLOB_MSG ", got \"a#b\"") },
	{ SRC, { { "require_tag", "backup" } }, NULL,
	  ERR(23, "require_tag: expected a tag as key=value, e.g. backup=offsite, got \"backup\"") },
	{ SRC, { { "export_copy_retention", "0" } }, NULL,
	  ERR(24, "export_copy_retention: expected a duration greater than 0, got \"0\"") },
	{ SRC, { { NULL } }, "[target]\nkeep_daily = 7\nimport_kms_key = alias/x\n",
	  ERR(26, "keep_daily: [target] keys are not allowed with role = source")
	  ERR(27, "import_kms_key: [target] keys are not allowed with role = source") },
	/* [target] */
	{ TGT, { { "import_kms_key", "" } }, NULL, ERR(18, "import_kms_key is required in [target] with role = target") },
	{ TGT, { { "import_kms_key", "arn:aws:kms:eu-central-1:222222222222:alias/aws/rds" } }, NULL,
	  ERR(18, "import_kms_key: expected a customer managed KMS key: AWS managed keys (alias/aws/...) cannot be shared, got \"arn:aws:kms:eu-central-1:222222222222:alias/aws/rds\"") },
	{ TGT, { { "allowed_source_accounts", "111111111111, 12345" } }, NULL,
	  ERR(19, "allowed_source_accounts: expected a comma-separated list of 12-digit AWS account ids, got \"111111111111, 12345\"") },
	{ TGT, { { "allowed_source_accounts", "111111111111," } }, NULL,
	  ERR(19, "allowed_source_accounts: expected a comma-separated list of 12-digit AWS account ids, got \"111111111111,\"") },
	{ TGT, { { "keep_daily", "-1" } }, NULL, ERR(20, "keep_daily: expected an integer from 0 to 10000, got \"-1\"") },
	{ TGT, { { "keep_yearly", "10001" } }, NULL, ERR(23, "keep_yearly: expected an integer from 0 to 10000, got \"10001\"") },
	{ TGT, { { "rpo", "0" } }, NULL, ERR(24, "rpo: expected a duration greater than 0, got \"0\"") },
	{ TGT, { { NULL } }, "[source]\ninclude_db = x\n",
	  ERR(26, "include_db: [source] keys are not allowed with role = target") },
	/* S3 export: values */
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = ab\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: " BN_LEN ", got \"ab\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = " B63 "4\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: " BN_LEN ", got \"" B63 "4\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = My-Bucket\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: " BN_CHARS ", got \"My-Bucket\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = my_bucket\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: " BN_CHARS ", got \"my_bucket\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = caf\xc3\xa9s\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: " BN_CHARS ", got \"caf\\xc3\\xa9s\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = -bucket\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: expected an S3 bucket name that starts and ends with a letter or digit, got \"-bucket\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = bucket.\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: expected an S3 bucket name that starts and ends with a letter or digit, got \"bucket.\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = a..b\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: expected an S3 bucket name without two adjacent dots, got \"a..b\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = 192.168.5.4\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: expected an S3 bucket name, not an IP address, got \"192.168.5.4\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = xn--bucket\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: expected an S3 bucket name without a prefix AWS reserves (xn--, sthree-, amzn-s3-demo-), got \"xn--bucket\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b--ol-s3\n" ROLE_LINE,
	  ERR(26, "export_to_s3_bucket: expected an S3 bucket name without a suffix AWS reserves (-s3alias, --ol-s3, --x-s3), got \"b--ol-s3\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_to_s3_prefix = /rds\n" ROLE_LINE,
	  ERR(27, "export_to_s3_prefix: expected an S3 key prefix without a leading '/', got \"/rds\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_to_s3_prefix = a//b\n" ROLE_LINE,
	  ERR(27, "export_to_s3_prefix: expected an S3 key prefix without empty path segments (\"//\"), got \"a//b\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_to_s3_prefix = " P512 "a\n" ROLE_LINE,
	  ERR(27, "export_to_s3_prefix: " PFX_MSG ", got \"" X64 "\"...") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_to_s3_prefix = r\xc3\xa9s\n" ROLE_LINE,
	  ERR(27, "export_to_s3_prefix: " PFX_MSG ", got \"r\\xc3\\xa9s\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_to_s3_prefix = a\x01z\n" ROLE_LINE,
	  ERR(27, "export_to_s3_prefix: value contains a control character") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = arn:aws:iam::11111111111:role/x\n",
	  ERR(27, "export_iam_role_arn: " ROLE_MSG ", got \"arn:aws:iam::11111111111:role/x\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = arn:aws:iam::111111111111:user/x\n",
	  ERR(27, "export_iam_role_arn: " ROLE_MSG ", got \"arn:aws:iam::111111111111:user/x\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = arn:aws:iam:eu-central-1:111111111111:role/x\n",
	  ERR(27, "export_iam_role_arn: " ROLE_MSG ", got \"arn:aws:iam:eu-central-1:111111111111:role/x\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = arn:aws:s3::111111111111:role/x\n",
	  ERR(27, "export_iam_role_arn: " ROLE_MSG ", got \"arn:aws:s3::111111111111:role/x\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = arn:aws:iam::111111111111:role/\n",
	  ERR(27, "export_iam_role_arn: " ROLE_MSG ", got \"arn:aws:iam::111111111111:role/\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = arn:aws:iam::111111111111:role/p/\n",
	  ERR(27, "export_iam_role_arn: " ROLE_MSG ", got \"arn:aws:iam::111111111111:role/p/\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = arn:aws:iam::111111111111:role/a b\n",
	  ERR(27, "export_iam_role_arn: " ROLE_MSG ", got \"arn:aws:iam::111111111111:role/a b\"") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\nexport_iam_role_arn = arn:aws:iam::111111111111:role/" N64 "a\n",
	  ERR(27, "export_iam_role_arn: " ROLE_MSG ", got \"arn:aws:iam::111111111111:role/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...") },
	/* S3 export: keys that need each other */
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\n",
	  ERR(26, "export_to_s3_bucket requires export_iam_role_arn in [source]") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_prefix = rds\n",
	  ERR(26, "export_to_s3_prefix requires export_to_s3_bucket in [source]") },
	{ SRC, { { NULL } }, "[source]\n" ROLE_LINE,
	  ERR(26, "export_iam_role_arn requires export_to_s3_bucket in [source]") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket =\nexport_to_s3_prefix = x\n" ROLE_LINE,
	  ERR(27, "export_to_s3_prefix requires export_to_s3_bucket in [source]")
	  ERR(28, "export_iam_role_arn requires export_to_s3_bucket in [source]") },
	{ SRC, { { NULL } }, "[source]\nexport_to_s3_bucket = Bad\n",
	  ERR(26, "export_to_s3_bucket: " BN_CHARS ", got \"Bad\"")
	  ERR(26, "export_to_s3_bucket requires export_iam_role_arn in [source]") },
	{ TGT, { { NULL } }, "[source]\nexport_to_s3_bucket = b-1\n",
	  ERR(26, "export_to_s3_bucket: [source] keys are not allowed with role = target") },
	/* metrics */
	{ SRC, { { NULL } }, "[daemon]\nmetrics_file = relative.prom\n",
	  ERR(26, "metrics_file: expected an absolute file path (at most 1024 bytes), got \"relative.prom\"") },
	{ SRC, { { NULL } }, "[daemon]\nmetrics_file = /var/lib/x/\n",
	  ERR(26, "metrics_file: expected an absolute file path (at most 1024 bytes), got \"/var/lib/x/\"") },
	{ TGT, { { NULL } }, "[daemon]\ncloudwatch_namespace = AWS/RDS\n",
	  ERR(26, "cloudwatch_namespace: expected a namespace of your own: AWS/ is reserved for AWS services, got \"AWS/RDS\"") },
	{ TGT, { { NULL } }, "[daemon]\ncloudwatch_namespace = caf\xc3\xa9\n",
	  ERR(26, "cloudwatch_namespace: expected a CloudWatch namespace: 1 to 255 printable ASCII characters, got \"caf\\xc3\\xa9\"") },
	/* bytes */
	{ SRC, { { "region", "eu\x01" "central-1" } }, NULL, ERR(3, "region: value contains a control character") },
	{ SRC, { { "region", "eu\rcentral-1" } }, NULL, ERR(3, "region: value contains a control character") },
	{ SRC, { { "state_db", "/var/lib/\xff.db" } }, NULL, ERR(5, "state_db: value is not valid UTF-8") },
	{ SRC, { { "state_db", "/var/lib/\xc0\xaf.db" } }, NULL, ERR(5, "state_db: value is not valid UTF-8") },
	{ SRC, { { "state_db", "/var/lib/\xed\xa0\x80.db" } }, NULL, ERR(5, "state_db: value is not valid UTF-8") },
	{ SRC, { { "state_db", "/var/lib/\xe2\x82" } }, NULL, ERR(5, "state_db: value is not valid UTF-8") },
	{ SRC, { { NULL } }, "[d\x7f\xc3\xa9\"\\]\n",
	  ERR(25, "unknown section; expected [daemon], [aws], [source] or [target]") },
	{ SRC, { { NULL } }, "[" SECRET "]\n", ERR(25, "unknown section; expected [daemon], [aws], [source] or [target]") },
	{ SRC, { { NULL } }, "[aws]\n" SECRET " = x\n", ERR(26, "unknown key in [aws]") },
	{ SRC, { { NULL } }, "[aws]\nsecret-access-key = x\n",
	  ERR(26, "unknown key \"secret-access-key\" in [aws]; did you mean secret_access_key?") },
	{ SRC, { { "state_db", "r\xc3\xa9l" } }, NULL, ERR(5, "state_db: expected an absolute path, got \"r\\xc3\\xa9l\"") },
	{ SRC, { { "state_db", "rel\"ative\\" } }, NULL,
	  ERR(5, "state_db: expected an absolute path, got \"rel\\\"ative\\\\\"") },
	{ SRC, { { "state_db", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbb" } }, NULL,
	  ERR(5, "state_db: expected an absolute path, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...") },
};

START_TEST(test_error)
{
	char *text = build(errors[_i].tmpl, errors[_i].set, 3, errors[_i].extra);
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	const char *expect = errors[_i].expect;

	ck_assert_int_eq(parse_str(text, 0600, &c, &diag, &err), -1);
	ck_assert_msg(strcmp(diag.data, expect) == 0, "case %d:\n got: %s want: %s", _i, diag.data,
		      expect);
	ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
	ob_buf_clear(&diag);
	free(text);
}
END_TEST

START_TEST(test_retention_all_zero)
{
	static const char *const set[][2] = {
		{ "keep_daily", "0" }, { "keep_weekly", "0" }, { "keep_monthly", "0" }, { "keep_yearly", "0" },
	};
	char *text = build(TGT, set, 4, NULL);
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(parse_str(text, 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, FERR("keep_daily, keep_weekly, keep_monthly and keep_yearly are all 0; "
					 "at least one must keep copies"));
	ob_buf_clear(&diag);
	free(text);
}
END_TEST

START_TEST(test_key_outside_section)
{
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	char *text = build(SRC, NULL, 0, NULL);
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_buf_printf(&b, "# header\nlog_level = debug\nfoo = 1\n%s", text), 0);
	ck_assert_int_eq(parse_str(b.data, 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, ERR(2, "log_level must be under [daemon]")
			 ERR(3, "key \"foo\" outside of a section; start with [daemon]"));
	ob_buf_clear(&diag);
	ob_buf_clear(&b);
	free(text);
}
END_TEST

START_TEST(test_missing_required)
{
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(parse_str("[daemon]\nrole = source\n", 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, FERR("region is required in [daemon]")
			 FERR("queue_url is required in [daemon]")
			 FERR("export_kms_key is required in [source] with role = source")
			 FERR("target_account is required in [source] with role = source")
			 FERR("notify_topic_arn is required in [source] with role = source"));
	ob_buf_reset(&diag);
	ck_assert_int_eq(parse_str("[daemon]\nrole = target\n[target]\nimport_kms_key = 1234abcd-12ab-34cd-56ef-1234567890ab\n", 0600,
				   &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, FERR("region is required in [daemon]")
			 FERR("queue_url is required in [daemon]")
			 FERR("allowed_source_accounts is required in [target] with role = target"));
	ob_buf_clear(&diag);
}
END_TEST

START_TEST(test_empty_file)
{
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(parse("", 0, 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, FERR("role is required in [daemon]")
			 FERR("region is required in [daemon]") FERR("queue_url is required in [daemon]"));
	ck_assert_str_eq(err.message, NAME ": 3 errors in the configuration");
	ob_buf_reset(&diag);
	/* NULL text with length 0 is an empty file too */
	ck_assert_int_eq(ob_config_parse(NAME, NULL, 0, 0600, &c, &diag, NULL), -1);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(diag.data, FERR("role is required in [daemon]")
			 FERR("region is required in [daemon]") FERR("queue_url is required in [daemon]"));
	ob_buf_clear(&diag);
}
END_TEST

START_TEST(test_many_errors_at_once)
{
	static const char *const set[][2] = {
		{ "poll_interval", "30" }, { "max_attempts", "0" }, { "target_account", "x" },
	};
	char *text = build(SRC, set, 3, "[bogus]\n[daemon]\nwhat\n");
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(parse_str(text, 0644, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, ERR(6, "poll_interval: " DUR_MSG ", got \"30\"")
			 ERR(9, "max_attempts: expected an integer from 1 to 1000, got \"0\"")
			 ERR(19, "target_account: expected a 12-digit AWS account id, got \"x\"")
			 ERR(25, "unknown section \"bogus\"; expected [daemon], [aws], [source] or [target]")
			 ERR(27, "expected \"key = value\", \"[section]\" or a # comment"));
	ck_assert_str_eq(err.message, NAME ": 5 errors in the configuration");
	ob_buf_clear(&diag);
	free(text);
}
END_TEST

START_TEST(test_too_many_errors)
{
	struct ob_buf text = OB_BUF_INIT, diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	const char *last;
	size_t i, lines = 0;

	for (i = 0; i < 500; i++)
		ck_assert_int_eq(ob_buf_puts(&text, "junk\n"), 0);
	ck_assert_int_eq(parse(text.data, text.len, 0600, &c, &diag, &err), -1);
	for (i = 0; i < diag.len; i++)
		lines += diag.data[i] == '\n';
	ck_assert_uint_eq(lines, 101);
	ck_assert_ptr_nonnull(strstr(diag.data, ERR(100, "expected \"key = value\", \"[section]\" or a # comment")));
	last = diag.data + diag.len - strlen(FERR("403 more errors not shown"));
	ck_assert_str_eq(last, FERR("403 more errors not shown"));
	ck_assert_str_eq(err.message, NAME ": 503 errors in the configuration");
	ob_buf_clear(&diag);
	ob_buf_clear(&text);
}
END_TEST

/* ---- hostile bytes ---- */

START_TEST(test_nul_byte)
{
	static const char extra[] = "[daemon]\nlog_level = de\0bug\n";
	char *base = build(SRC, NULL, 0, NULL);
	struct ob_buf text = OB_BUF_INIT, diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(ob_buf_puts(&text, base), 0);
	ck_assert_int_eq(ob_buf_append(&text, extra, sizeof(extra) - 1), 0);
	ck_assert_int_eq(parse(text.data, text.len, 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, ERR(26, "line contains a NUL byte"));
	ob_buf_clear(&diag);
	ob_buf_clear(&text);
	free(base);
}
END_TEST

START_TEST(test_crlf_bom_no_newline)
{
	char *base = build(SRC, NULL, 0, NULL);
	struct ob_buf text = OB_BUF_INIT, diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	size_t i;

	ck_assert_int_eq(ob_buf_puts(&text, "\xef\xbb\xbf"), 0);
	for (i = 0; base[i] != '\0'; i++) {
		if (base[i] == '\n')
			ck_assert_int_eq(ob_buf_putc(&text, '\r'), 0);
		ck_assert_int_eq(ob_buf_putc(&text, base[i]), 0);
	}
	ck_assert_int_eq(parse(text.data, text.len, 0600, &c, &diag, &err), 0);
	ck_assert_str_eq(c->region, "eu-central-1");
	ck_assert_str_eq(c->notify_topic_arn, "arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox");
	ck_assert_int_eq(c->export_copy_retention_ms, 3 * 86400000LL);
	ob_config_free(c);
	/* no newline after the last value */
	ck_assert_int_eq(parse(base, strlen(base) - 1, 0600, &c, &diag, &err), 0);
	ck_assert_int_eq(c->export_copy_retention_ms, 3 * 86400000LL);
	ob_config_free(c);
	/* ... nor a \r before the end */
	ob_buf_reset(&text);
	ck_assert_int_eq(ob_buf_append(&text, base, strlen(base) - 1), 0);
	ck_assert_int_eq(ob_buf_puts(&text, "\r"), 0);
	ck_assert_int_eq(parse(text.data, text.len, 0600, &c, &diag, &err), 0);
	ck_assert_int_eq(c->export_copy_retention_ms, 3 * 86400000LL);
	ob_config_free(c);
	ob_buf_clear(&diag);
	ob_buf_clear(&text);
	free(base);
}
END_TEST

START_TEST(test_long_lines)
{
	char *base = build(SRC, NULL, 0, NULL);
	struct ob_buf text = OB_BUF_INIT, diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	size_t i;

	/* 4096 bytes is still a line */
	ck_assert_int_eq(ob_buf_puts(&text, base), 0);
	ck_assert_int_eq(ob_buf_putc(&text, '#'), 0);
	for (i = 1; i < 4096; i++)
		ck_assert_int_eq(ob_buf_putc(&text, 'x'), 0);
	ck_assert_int_eq(ob_buf_puts(&text, "\r\n"), 0);
	ck_assert_int_eq(parse(text.data, text.len, 0600, &c, &diag, &err), 0);
	ob_config_free(c);
	/* 4097 is not, and neither is 100 KB, even without a newline */
	ob_buf_reset(&text);
	ck_assert_int_eq(ob_buf_puts(&text, base), 0);
	for (i = 0; i < 4097; i++)
		ck_assert_int_eq(ob_buf_putc(&text, '#'), 0);
	ck_assert_int_eq(ob_buf_puts(&text, "\n[daemon]\nregion = "), 0);
	for (i = 0; i < 100 * 1024; i++)
		ck_assert_int_eq(ob_buf_putc(&text, 'a'), 0);
	ck_assert_int_eq(parse(text.data, text.len, 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, ERR(25, "line is longer than 4096 bytes")
			 ERR(27, "line is longer than 4096 bytes"));
	ob_buf_clear(&diag);
	ob_buf_clear(&text);
	free(base);
}
END_TEST

START_TEST(test_garbage_only)
{
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10[\x01=\xff]\n=\n[\n";
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_int_eq(parse(png, sizeof(png) - 1, 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, FERR("role is required in [daemon]") /* line 0 first */
			 FERR("region is required in [daemon]")
			 FERR("queue_url is required in [daemon]")
			 ERR(1, "expected \"key = value\", \"[section]\" or a # comment")
			 ERR(2, "expected \"key = value\", \"[section]\" or a # comment")
			 ERR(3, "line contains a NUL byte")
			 ERR(4, "missing key name before '='")
			 ERR(5, "section header without closing ']'"));
	ob_buf_clear(&diag);
}
END_TEST

START_TEST(test_oversized_text)
{
	size_t len = 2 * 1024 * 1024;
	char *big = malloc(len);
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;

	ck_assert_ptr_nonnull(big);
	memset(big, '\n', len);
	ck_assert_int_eq(parse(big, len, 0600, &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, FERR("is larger than 1 MiB (2097152 bytes)"));
	ob_buf_clear(&diag);
	free(big);
}
END_TEST

/* ---- secrets ---- */

START_TEST(test_secret_never_echoed)
{
	static const struct {
		const char *set[3][2];
		const char *extra;
	} cases[] = {
		{ { { "credentials", "static" }, { "access_key_id", KEY_ID },
		    { "secret_access_key", SECRET " trailing" } }, NULL },
		{ { { "credentials", "static" }, { "access_key_id", KEY_ID },
		    { "secret_access_key", SECRET "\x01" } }, NULL },
		{ { { "credentials", "static" }, { "access_key_id", KEY_ID },
		    { "secret_access_key", SECRET "\xff" } }, NULL },
		{ { { "credentials", "static" }, { "access_key_id", KEY_ID },
		    { "secret_access_key", SECRET SECRET SECRET SECRET } }, NULL },
		{ { { "credentials", "static" }, { "access_key_id", KEY_ID },
		    { "secret_access_key", SECRET } }, "[aws]\nsecret_access_key = " SECRET "\n" },
		{ { { "credentials", "instance" }, { "secret_access_key", SECRET } }, NULL },
		{ { { "credentials", "static" }, { "access_key_id", SECRET }, { "secret_access_key", "x" } }, NULL },
		{ { { NULL } }, "[aws]\nsecret_acess_key = " SECRET "\n" },
		{ { { NULL } }, "[aws]\n" SECRET "\n" },
		{ { { NULL } }, "[aws]\nsecret_access_key " SECRET "\n" },
		{ { { NULL } }, "[daemon]\nsecret_access_key = " SECRET "\n" },
		{ { { NULL } }, "secret_access_key = " SECRET "\n" },
		{ { { NULL } }, "[aws\nsecret_access_key = " SECRET "\n" },
		{ { { NULL } }, "[aws]\nsecret_access_key\n= " SECRET "\n" },
		{ { { NULL } }, "[aws]\n" SECRET " = secret_access_key\n" },
		{ { { NULL } }, "[" SECRET "]\n" },
		{ { { NULL } }, SECRET " = x\n[daemon]\n" },
		{ { { "endpoint_url", "https://" KEY_ID ":" SECRET "@example.com" } }, NULL },
		{ { { "queue_url", "https://" KEY_ID ":" SECRET "@sqs.eu-central-1.amazonaws.com/1/q" } }, NULL },
	};
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	unsigned modes[] = { 0600, 0644 };
	size_t i, m;
	char *text;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (m = 0; m < 2; m++) {
			text = build(SRC, cases[i].set, 3, cases[i].extra);
			ob_buf_reset(&diag);
			ck_assert_int_eq(parse_str(text, modes[m], &c, &diag, &err), -1);
			ck_assert_msg(strstr(diag.data, SECRET_PART) == NULL, "case %zu leaks: %s", i,
				      diag.data);
			ck_assert_msg(strstr(err.message, SECRET_PART) == NULL, "case %zu leaks", i);
			ck_assert_msg(strstr(diag.data, KEY_ID) == NULL, "case %zu leaks the key id: %s",
				      i, diag.data);
			free(text);
		}
	}
	ob_buf_clear(&diag);
}
END_TEST

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ob-check-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

static int load(const char *path, struct ob_config **c, struct ob_buf *diag, struct ob_error *err)
{
	int rc;

	ob_buf_reset(diag);
	ob_error_clear(err);
	rc = ob_config_load(path, c, diag, err);
	if (rc == 0) {
		ck_assert_ptr_nonnull(*c);
		ck_assert_uint_eq(diag->len, 0);
	} else {
		ck_assert_ptr_null(*c);
		check_diag_shape(path, diag->data);
	}
	return rc;
}

START_TEST(test_secret_file_mode)
{
	static const char *const set[][2] = {
		{ "credentials", "static" }, { "access_key_id", KEY_ID }, { "secret_access_key", SECRET },
	};
	static const struct {
		bool secret;
		unsigned mode;
		const char *expect; /* after "path: " */
	} cases[] = {
		{ true, 0600, NULL },
		{ true, 0400, NULL },
		{ true, 0644, "holds secret_access_key but group or others have access (mode 0644); "
			      "chmod 0600 and make the daemon's user its owner\n" },
		{ true, 0640, "holds secret_access_key but group or others have access (mode 0640); "
			      "chmod 0600 and make the daemon's user its owner\n" },
		{ true, 0604, "holds secret_access_key but group or others have access (mode 0604); "
			      "chmod 0600 and make the daemon's user its owner\n" },
		{ true, 0620, "holds secret_access_key but group or others have access (mode 0620); "
			      "chmod 0600 and make the daemon's user its owner\n" },
		{ false, 0644, NULL },
		{ false, 0640, NULL },
		{ false, 0666, "is writable by others (mode 0666); chmod o-w\n" },
	};
	char path[128], *with, *without, want[512];
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	size_t i;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/offsite-backup.conf", tmpdir);
	with = build(SRC, set, 3, NULL);
	without = build(SRC, NULL, 0, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].secret ? with : without;

		write_file(path, t, strlen(t), cases[i].mode);
		if (cases[i].expect == NULL) {
			ck_assert_msg(load(path, &c, &diag, &err) == 0, "mode %04o: %s", cases[i].mode,
				      diag.data);
			ck_assert_str_eq(c->path, path);
			if (cases[i].secret)
				ck_assert_str_eq(c->secret_access_key, SECRET);
			ob_config_free(c);
		} else {
			ck_assert_int_eq(load(path, &c, &diag, &err), -1);
			snprintf(want, sizeof(want), "%s: %s", path, cases[i].expect);
			ck_assert_str_eq(diag.data, want);
			ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
		}
	}
	ob_buf_clear(&diag);
	free(with);
	free(without);
	remove_tmpdir();
}
END_TEST

START_TEST(test_load_hostile_files)
{
	char path[128], want[256];
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	char *big, *base = build(SRC, NULL, 0, NULL);
	size_t len, blen = strlen(base);

	make_tmpdir();
	/* missing */
	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	ck_assert_int_eq(load(path, &c, &diag, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_int_eq(err.sys_errno, ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: %s\n", path, strerror(ENOENT));
	ck_assert_str_eq(diag.data, want);
	/* a directory */
	ck_assert_int_eq(load(tmpdir, &c, &diag, &err), -1);
	snprintf(want, sizeof(want), "%s: is not a regular file\n", tmpdir);
	ck_assert_str_eq(diag.data, want);
	/* a FIFO: must not block waiting for a writer */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(load(path, &c, &diag, &err), -1);
	snprintf(want, sizeof(want), "%s: is not a regular file\n", path);
	ck_assert_str_eq(diag.data, want);
	/* a character device */
	ck_assert_int_eq(load("/dev/null", &c, &diag, &err), -1);
	ck_assert_str_eq(diag.data, "/dev/null: is not a regular file\n");
	/* 2 MiB */
	len = 2 * 1024 * 1024;
	big = malloc(len);
	ck_assert_ptr_nonnull(big);
	memset(big, '#', len);
	snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
	write_file(path, big, len, 0600);
	ck_assert_int_eq(load(path, &c, &diag, &err), -1);
	snprintf(want, sizeof(want), "%s: is larger than 1 MiB (2097152 bytes)\n", path);
	ck_assert_str_eq(diag.data, want);
	ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
	/* exactly 1 MiB: a valid file padded with comment lines is fine */
	len = 1024 * 1024;
	memcpy(big, base, blen);
	memset(big + blen, '#', len - blen);
	for (size_t i = blen + 4000; i < len; i += 4000)
		big[i] = '\n';
	snprintf(path, sizeof(path), "%s/full.conf", tmpdir);
	write_file(path, big, len, 0600);
	ck_assert_msg(load(path, &c, &diag, &err) == 0, "%s", diag.data);
	ck_assert_str_eq(c->region, "eu-central-1");
	ob_config_free(c);
	/* a symlink to a valid file is followed */
	snprintf(want, sizeof(want), "%s/link.conf", tmpdir);
	ck_assert_int_eq(symlink(path, want), 0);
	ck_assert_int_eq(load(want, &c, &diag, &err), 0);
	ob_config_free(c);
	free(big);
	free(base);
	ob_buf_clear(&diag);
	remove_tmpdir();
}
END_TEST

/* ---- random input ---- */

static unsigned long long rng_state;

static unsigned rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state >> 11);
}

static unsigned seed(void)
{
	const char *env = getenv("OB_TEST_SEED");
	unsigned s = env != NULL ? (unsigned)strtoul(env, NULL, 0)
				 : (unsigned)time(NULL) ^ (unsigned)getpid();

	fprintf(stderr, "check_config: OB_TEST_SEED=%u\n", s);
	rng_state = (unsigned long long)s * 0x9e3779b97f4a7c15ULL + 1;
	return s;
}

START_TEST(test_random_bytes)
{
	static const char alphabet[] = "[]=# \t\r\n,:/\\\"*?-_.aeiorsdzAZ09\x01\x7f\x80\xc3\xff";
	static const char *const set[][2] = {
		{ "credentials", "static" }, { "access_key_id", KEY_ID }, { "secret_access_key", SECRET },
	};
	char *base = build(SRC, set, 3, NULL);
	size_t blen = strlen(base), i, j, n, pos;
	struct ob_buf text = OB_BUF_INIT, diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	unsigned s = seed();
	int rc;

	for (i = 0; i < 2000; i++) {
		ob_buf_reset(&text);
		ob_buf_reset(&diag);
		if (i % 4 == 0) {
			/* pure noise */
			n = rnd() % 3000;
			for (j = 0; j < n; j++) {
				unsigned r = rnd();
				char ch = r & 1 ? (char)(r >> 8) : alphabet[(r >> 8) % (sizeof(alphabet) - 1)];

				ck_assert_int_eq(ob_buf_putc(&text, ch), 0);
			}
		} else {
			/* a valid file with a few bytes changed, inserted or deleted */
			ck_assert_int_eq(ob_buf_append(&text, base, blen), 0);
			n = 1 + rnd() % 4;
			for (j = 0; j < n && text.len > 0; j++) {
				unsigned r = rnd();
				char ch = alphabet[(r >> 4) % (sizeof(alphabet) - 1)];

				pos = rnd() % text.len;
				if (r % 3 == 0) {
					text.data[pos] = ch;
				} else if (r % 3 == 1) {
					ck_assert_int_eq(ob_buf_putc(&text, 0), 0);
					memmove(text.data + pos + 1, text.data + pos, text.len - pos - 1);
					text.data[pos] = ch;
				} else {
					memmove(text.data + pos, text.data + pos + 1, text.len - pos - 1);
					text.len--;
				}
			}
		}
		rc = parse(text.data, text.len, 0600, &c, &diag, &err);
		ck_assert_msg(diag.data == NULL || strstr(diag.data, SECRET) == NULL,
			      "seed %u iteration %zu leaks the secret: %s", s, i, diag.data);
		if (rc == 0)
			ob_config_free(c);
	}
	ob_buf_clear(&text);
	ob_buf_clear(&diag);
	free(base);
}
END_TEST

START_TEST(test_truncation)
{
	static const char *const set[][2] = {
		{ "credentials", "static" }, { "access_key_id", KEY_ID }, { "secret_access_key", SECRET },
	};
	char *base = build(SRC, set, 3, NULL);
	size_t blen = strlen(base), n;
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c;
	struct ob_error err;
	int ok = 0, last_ok = 0;

	for (n = 0; n <= blen; n++) {
		ob_buf_reset(&diag);
		/* a copy of exactly n bytes, so ASan sees any read past the end */
		char *t = malloc(n + 1);

		ck_assert_ptr_nonnull(t);
		memcpy(t, base, n);
		if (parse(t, n, 0600, &c, &diag, &err) == 0) {
			ok++;
			last_ok += n + 1 >= blen;
			ob_config_free(c);
		} else {
			ck_assert(strstr(diag.data, SECRET_PART) == NULL);
		}
		free(t);
	}
	/* the whole file, and the whole file minus its newline; shorter cuts
	 * fail until all required keys are whole */
	ck_assert_int_eq(last_ok, 2);
	ck_assert_int_lt(ok, (int)blen / 2);
	ob_buf_clear(&diag);
	free(base);
}
END_TEST

/* ---- the shipped example file ---- */

static char *read_example(void)
{
	static const char *const paths[] = { "etc/offsite-backup.conf", "../etc/offsite-backup.conf" };
	struct ob_buf b = OB_BUF_INIT;
	char chunk[4096];
	size_t i, n;
	FILE *f = NULL;

	for (i = 0; i < 2 && f == NULL; i++)
		f = fopen(paths[i], "r");
	ck_assert_msg(f != NULL, "etc/offsite-backup.conf not found (run from the source tree)");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_assert_int_eq(ob_buf_append(&b, chunk, n), 0);
	fclose(f);
	return ob_buf_steal(&b);
}

/* Fill the example's empty required keys from set and, when uncomment,
 * turn every "#key = value" default line of the sections in use into a
 * setting, so that the defaults it shows are checked against the table. */
static char *fill_example(const char *ex, const char *const set[][2], size_t nset,
			  const char *skip_section, bool uncomment)
{
	struct ob_buf out = OB_BUF_INIT;
	const char *line = ex, *nl;
	bool skip = false;
	size_t len, j, k;

	for (; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		len = (size_t)(nl - line);
		if (line[0] == '[')
			skip = strncmp(line, skip_section, strlen(skip_section)) == 0;
		for (j = 0; j < nset; j++) {
			k = strlen(set[j][0]);
			if (len == k + 2 && strncmp(line, set[j][0], k) == 0 && strncmp(line + k, " =", 2) == 0)
				break;
		}
		if (j < nset) {
			ck_assert_int_eq(ob_buf_printf(&out, "%s = %s\n", set[j][0], set[j][1]), 0);
			continue;
		}
		k = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (uncomment && !skip && line[0] == '#' && k > 0 && strncmp(line + 1 + k, " =", 2) == 0)
			line++, len--;
		ck_assert_int_eq(ob_buf_append(&out, line, len), 0);
		ck_assert_int_eq(ob_buf_putc(&out, '\n'), 0);
	}
	return ob_buf_steal(&out);
}

static void same_config(const struct ob_config *a, const struct ob_config *b)
{
	size_t i;

	for (i = 1; i < sizeof(string_fields) / sizeof(string_fields[0]); i++)
		ck_assert_str_eq(str_at(a, string_fields[i]), str_at(b, string_fields[i]));
	ck_assert_int_eq(a->role, b->role);
	ck_assert_int_eq(a->poll_interval_ms, b->poll_interval_ms);
	ck_assert_int_eq(a->sweep_interval_ms, b->sweep_interval_ms);
	ck_assert_int_eq(a->max_concurrent_copies, b->max_concurrent_copies);
	ck_assert_int_eq(a->max_attempts, b->max_attempts);
	ck_assert_int_eq(a->log_level, b->log_level);
	ck_assert_int_eq(a->credentials, b->credentials);
	ck_assert_int_eq(a->export_copy_retention_ms, b->export_copy_retention_ms);
	ck_assert_int_eq(a->keep_daily, b->keep_daily);
	ck_assert_int_eq(a->keep_weekly, b->keep_weekly);
	ck_assert_int_eq(a->keep_monthly, b->keep_monthly);
	ck_assert_int_eq(a->keep_yearly, b->keep_yearly);
	ck_assert_int_eq(a->rpo_ms, b->rpo_ms);
}

START_TEST(test_example_file)
{
	static const char *const src[][2] = {
		{ "role", "source" }, { "region", "eu-central-1" },
		{ "queue_url", "https://sqs.eu-central-1.amazonaws.com/111111111111/offsite-backup-events" },
		{ "export_kms_key", "arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
		{ "target_account", "222222222222" },
		{ "notify_topic_arn", "arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox" },
	};
	static const char *const tgt[][2] = {
		{ "role", "target" }, { "region", "eu-central-1" },
		{ "queue_url", "https://sqs.eu-central-1.amazonaws.com/222222222222/offsite-backup-inbox" },
		{ "import_kms_key", "arn:aws:kms:eu-central-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
		{ "allowed_source_accounts", "111111111111" },
	};
	char *ex = read_example(), *t;
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *c, *ref;
	struct ob_error err;
	const char *p;

	/* every key of the table is in the file, set or shown commented out */
	static const char *const all[] = {
		"role", "region", "queue_url", "state_db", "poll_interval", "sweep_interval",
		"max_concurrent_copies", "max_attempts", "log_level", "credentials", "access_key_id",
		"secret_access_key", "endpoint_url", "imds_url", "export_kms_key", "target_account",
		"notify_topic_arn", "include_db", "exclude_db", "require_tag", "export_copy_retention",
		"import_kms_key", "allowed_source_accounts", "keep_daily", "keep_weekly", "keep_monthly",
		"keep_yearly", "rpo", "export_to_s3_bucket", "export_to_s3_prefix",
		"export_iam_role_arn",
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char k1[64], k2[64];

		snprintf(k1, sizeof(k1), "\n%s =", all[i]);
		snprintf(k2, sizeof(k2), "\n#%s =", all[i]);
		ck_assert_msg(strstr(ex, k1) != NULL || strstr(ex, k2) != NULL, "%s missing", all[i]);
	}

	/* as shipped it does not pass: the required keys are empty */
	ck_assert_int_eq(parse_str(ex, 0640, &c, &diag, &err), -1);
	p = strstr(diag.data, ": role is required in [daemon]\n");
	ck_assert_msg(p != NULL, "%s", diag.data);
	ck_assert_ptr_nonnull(strstr(diag.data, ": region is required in [daemon]\n"));
	ck_assert_ptr_nonnull(strstr(diag.data, ": queue_url is required in [daemon]\n"));

	/* filled in for each role, with and without the defaults uncommented:
	 * the same configuration as the minimal file (the defaults it shows are
	 * the real ones) */
	for (int uncomment = 0; uncomment < 2; uncomment++) {
		ob_buf_reset(&diag);
		t = fill_example(ex, src, sizeof(src) / sizeof(src[0]), "[target]", uncomment);
		ck_assert_msg(parse_str(t, 0640, &c, &diag, &err) == 0, "%s", diag.data);
		ck_assert_int_eq(parse_str(SRC_MIN, 0640, &ref, &diag, &err), 0);
		same_config(c, ref);
		ob_config_free(c);
		ob_config_free(ref);
		free(t);

		t = fill_example(ex, tgt, sizeof(tgt) / sizeof(tgt[0]), "[source]", uncomment);
		ck_assert_msg(parse_str(t, 0640, &c, &diag, &err) == 0, "%s", diag.data);
		ck_assert_int_eq(parse_str(TGT_MIN, 0640, &ref, &diag, &err), 0);
		same_config(c, ref);
		ob_config_free(c);
		ob_config_free(ref);
		free(t);
	}
	ob_buf_clear(&diag);
	free(ex);
}
END_TEST

START_TEST(test_misc)
{
	ob_config_free(NULL);
	ck_assert_str_eq(ob_role_name(OB_ROLE_SOURCE), "source");
	ck_assert_str_eq(ob_role_name(OB_ROLE_TARGET), "target");
	ck_assert_str_eq(ob_role_name((enum ob_role)7), "unknown");
}
END_TEST

START_TEST(test_null_diag_and_err)
{
	struct ob_config *c = (struct ob_config *)&c;

	ck_assert_int_eq(ob_config_parse(NAME, "junk\n", 5, 0600, &c, NULL, NULL), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(ob_config_parse(NAME, SRC_MIN, strlen(SRC_MIN), 0600, &c, NULL, NULL), 0);
	ob_config_free(c);
	ck_assert_int_eq(ob_config_load("/nonexistent/offsite-backup.conf", &c, NULL, NULL), -1);
	ck_assert_ptr_null(c);
}
END_TEST

/* The vault checks each copy's KmsKeyId (a key ARN) against
 * import_kms_key: an alias there could never match, so it is refused. */
START_TEST(test_import_key_alias_refused)
{
	static const char *const bad[] = {
		"alias/offsite-import",
		"arn:aws:kms:eu-central-1:222222222222:alias/offsite-import",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *set[][2] = { { "import_kms_key", bad[i] } };
		char *text = build(TGT, set, 1, NULL);
		struct ob_buf diag = OB_BUF_INIT;
		struct ob_config *c = NULL;
		struct ob_error err;

		ck_assert_int_eq(parse_str(text, 0644, &c, &diag, &err), -1);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(diag.data, "not an alias") != NULL, "%s", diag.data);
		ob_buf_clear(&diag);
		free(text);
	}
}
END_TEST

/* The allow-list the vault and rebuild check source accounts against. */
START_TEST(test_account_listed)
{
	ck_assert(ob_config_account_listed("111111111111", "111111111111"));
	ck_assert(ob_config_account_listed("111111111111,222222222222", "222222222222"));
	ck_assert(ob_config_account_listed(" 111111111111 , 222222222222 ", "111111111111"));
	ck_assert(!ob_config_account_listed("111111111111,222222222222", "22222222222"));
	ck_assert(!ob_config_account_listed("1111111111112", "111111111111"));
	ck_assert(!ob_config_account_listed("11111111111", "111111111111"));
	ck_assert(!ob_config_account_listed(",,", "111111111111"));
	ck_assert(!ob_config_account_listed("", "111111111111"));
	ck_assert(!ob_config_account_listed(NULL, "111111111111"));
	ck_assert(!ob_config_account_listed("111111111111", ""));
	ck_assert(!ob_config_account_listed(",,", ""));
}
END_TEST

Suite *ob_suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_duration, 0, (int)(sizeof(durations) / sizeof(durations[0])));
	tcase_add_test(tc, test_duration_null);
	tcase_add_test(tc, test_source_full);
	tcase_add_test(tc, test_target_full);
	tcase_add_test(tc, test_import_key_alias_refused);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_whitespace);
	tcase_add_loop_test(tc, test_valid, 0, (int)(sizeof(valids) / sizeof(valids[0])));
	tcase_add_loop_test(tc, test_error, 0, (int)(sizeof(errors) / sizeof(errors[0])));
	tcase_add_test(tc, test_retention_all_zero);
	tcase_add_test(tc, test_key_outside_section);
	tcase_add_test(tc, test_missing_required);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_many_errors_at_once);
	tcase_add_test(tc, test_too_many_errors);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_crlf_bom_no_newline);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_garbage_only);
	tcase_add_test(tc, test_oversized_text);
	tcase_add_test(tc, test_secret_never_echoed);
	tcase_add_test(tc, test_secret_file_mode);
	tcase_add_test(tc, test_load_hostile_files);
	tcase_add_test(tc, test_random_bytes);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_example_file);
	tcase_add_test(tc, test_misc);
	tcase_add_test(tc, test_null_diag_and_err);
	tcase_add_test(tc, test_account_listed);
	suite_add_tcase(s, tc);
	return s;
}
