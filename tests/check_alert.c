/*
 * check_alert.c - alerts: the text hygiene (Subject, text, JSON values),
 * the credentials classifier, the DescribeAccountAttributes parser (garbage,
 * truncation, hostile sizes), Publish with MessageAttributes, the outbox in
 * the state database (dedup, raise + clear before delivery, failed publishes
 * kept with backoff, restarts) through a fake HTTP transport and a hand
 * clock, and the 1 -> 2 schema migration keeping the jobs.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "check_ob.h"
#include "ob/alert.h"
#include "ob/aws.h"
#include "ob/config.h"
#include "ob/creds.h"
#include "ob/jobs.h"
#include "ob/private/http_fake.h"
#include "ob/rds.h"
#include "ob/sns.h"
#include "ob/store.h"
#include "ob/target.h"
#include "ob/xml.h"

#define REGION "eu-central-1"
#define TOPIC  "arn:aws:sns:eu-central-1:111111111111:ob-alerts"
#define T0_MS  1795373392000LL
#define PUBLISHED "<PublishResponse><PublishResult><MessageId>m-1</MessageId>" \
		  "</PublishResult></PublishResponse>"
#define REFUSED "<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>" \
		"<Message>not authorized</Message></Error><RequestId>r-1</RequestId>" \
		"</ErrorResponse>"

/* ---- text hygiene ----------------------------------------------------------- */

START_TEST(test_subject_is_printable_and_bounded)
{
	char out[OB_ALERT_SUBJECT_MAX + 1], big[600];
	size_t i;

	ob_alert_subject(out, "source", "111111111111", "copy of orders-prod failed", false);
	ck_assert_str_eq(out, "offsite-backup source 111111111111: copy of orders-prod failed");
	ob_alert_subject(out, "target", "222222222222", "RPO breached", true);
	ck_assert_str_eq(out, "offsite-backup target 222222222222: resolved: RPO breached");
	/* control characters become blanks, a UTF-8 character one '?' */
	ob_alert_subject(out, "source", "1", "a\nb\tc\x7f\xc3\xbc\xe2\x82\xac.", false);
	ck_assert_str_eq(out, "offsite-backup source 1: a b c ?" "?.");
	/* invalid UTF-8 and stray continuation bytes */
	ob_alert_subject(out, "source", "1", "\xff\x80x", false);
	ck_assert_str_eq(out, "offsite-backup source 1: ?x");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ob_alert_subject(out, "source", "111111111111", big, false);
	ck_assert_uint_eq(strlen(out), OB_ALERT_SUBJECT_MAX);
	ck_assert_str_eq(out + OB_ALERT_SUBJECT_MAX - 3, "...");
	for (i = 0; out[i]; i++)
		ck_assert(out[i] >= 0x20 && out[i] < 0x7f);
	ob_alert_subject(out, NULL, NULL, NULL, false);
	ck_assert_str_eq(out, "offsite-backup ? ?: ");
}
END_TEST

START_TEST(test_clean_text)
{
	char out[16];

	ob_alert_clean_text(out, sizeof(out), "a\nb\tc\rd\x1b[31m");
	ck_assert_str_eq(out, "a\nb\tcd[31m");
	ob_alert_clean_text(out, sizeof(out), "ok \xc3\xbc \xff\xfe \xed\xa0\x80");
	ck_assert_str_eq(out, "ok \xc3\xbc ?" "? ?" "?" "?");
	/* cut at a character boundary, never inside one */
	ob_alert_clean_text(out, 6, "abcd\xe2\x82\xac");
	ck_assert_str_eq(out, "abcd");
	ob_alert_clean_text(out, 1, "abc");
	ck_assert_str_eq(out, "");
	ob_alert_clean_text(out, sizeof(out), NULL);
	ck_assert_str_eq(out, "");
	/* a truncated multi-byte sequence at the end */
	ob_alert_clean_text(out, sizeof(out), "x\xe2\x82");
	ck_assert_str_eq(out, "x?" "?");
}
END_TEST

START_TEST(test_alert_set_makes_valid_json)
{
	json_t *o = json_object();
	char big[5000], *dump;

	ob_alert_set(o, "bad", "a\xff\"b\n");
	ob_alert_set(o, "none", NULL);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ob_alert_set(o, "big", big);
	ck_assert_str_eq(json_string_value(json_object_get(o, "bad")), "a?\"b");
	ck_assert_ptr_null(json_object_get(o, "none"));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(o, "big"))), OB_ALERT_FIELD_MAX);
	dump = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_ptr_nonnull(dump);
	ck_assert_ptr_nonnull(strstr(dump, "\"bad\":\"a?\\\"b\""));
	free(dump);
	json_decref(o);
}
END_TEST

static const struct {
	enum ob_err_kind kind;
	const char *code;
	bool creds;
} creds_rows[] = {
	{ OB_ERR_CREDS, "", true },
	{ OB_ERR_AWS, "InvalidClientTokenId", true },
	{ OB_ERR_AWS, "UnrecognizedClientException", true },
	{ OB_ERR_AWS, "ExpiredToken", true },
	{ OB_ERR_AWS, "ExpiredTokenException", true },
	{ OB_ERR_AWS, "SignatureDoesNotMatch", true },
	{ OB_ERR_AWS, "InvalidAccessKeyId", true },
	{ OB_ERR_AWS, "AuthFailure", true },
	{ OB_ERR_AWS, "AccessDenied", false },            /* a permission, not the keys */
	{ OB_ERR_AWS, "AccessDeniedException", false },
	{ OB_ERR_AWS, "ThrottlingException", false },
	{ OB_ERR_AWS, "", false },
	{ OB_ERR_TRANSPORT, "InvalidClientTokenId", false }, /* no answer: not the keys */
	{ OB_ERR_NONE, "", false },
};

START_TEST(test_creds_error_table)
{
	struct ob_error e;

	memset(&e, 0, sizeof(e));
	e.kind = creds_rows[_i].kind;
	snprintf(e.aws_code, sizeof(e.aws_code), "%s", creds_rows[_i].code);
	ck_assert_msg(ob_alert_creds_error(&e) == creds_rows[_i].creds, "row %d", _i);
	if (_i == 0)
		ck_assert(!ob_alert_creds_error(NULL));
}
END_TEST

/* ---- DescribeAccountAttributes ---------------------------------------------- */

#define DAA(body) "<DescribeAccountAttributesResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">" \
		  "<DescribeAccountAttributesResult><AccountQuotas>" body \
		  "</AccountQuotas></DescribeAccountAttributesResult>" \
		  "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>" \
		  "</DescribeAccountAttributesResponse>"
#define QUOTA(name, used, max) "<AccountQuota><AccountQuotaName>" name "</AccountQuotaName>" \
			       "<Used>" used "</Used><Max>" max "</Max></AccountQuota>"

static int parse_quotas(const char *xml, struct ob_rds_quota q[2], struct ob_error *err)
{
	struct ob_xml_doc *doc = NULL;
	int rc;

	q[0] = (struct ob_rds_quota){ "ManualSnapshots", true, 7, 7 };
	q[1] = (struct ob_rds_quota){ "ManualClusterSnapshots", true, 7, 7 };
	if (ob_xml_parse(xml, strlen(xml), &doc, err) < 0)
		return -2;
	rc = ob_rds_parse_account_quotas(doc, q, 2, err);
	ob_xml_free(doc);
	return rc;
}

START_TEST(test_quota_parse_good)
{
	struct ob_rds_quota q[2];
	struct ob_error err;

	ck_assert_int_eq(parse_quotas(DAA(QUOTA("DBInstances", "3", "40")
					  QUOTA("ManualSnapshots", "90", "100")
					  QUOTA("Bogus", "x", "y")
					  QUOTA("ManualClusterSnapshots", "0", "1000000000000")), q, &err), 0);
	ck_assert(q[0].found && q[0].used == 90 && q[0].max == 100);
	ck_assert(q[1].found && q[1].used == 0 && q[1].max == 1000000000000LL);
	/* a quota not listed: not found, and no error */
	ck_assert_int_eq(parse_quotas(DAA(QUOTA("ManualSnapshots", "1", "2")), q, &err), 0);
	ck_assert(q[0].found && !q[1].found && q[1].used == 0 && q[1].max == 0);
	ck_assert_int_eq(parse_quotas(DAA(""), q, &err), 0);
	ck_assert(!q[0].found && !q[1].found);
}
END_TEST

static const char *const quota_bad[] = {
	/* no result element */
	"<DescribeAccountAttributesResponse/>",
	/* values that are not plain integers in range */
	DAA(QUOTA("ManualSnapshots", "-1", "100")),
	DAA(QUOTA("ManualSnapshots", "1", "1000000000001")),
	DAA(QUOTA("ManualSnapshots", "99999999999999999999999", "100")),
	DAA(QUOTA("ManualSnapshots", " 5", "100")),
	DAA(QUOTA("ManualSnapshots", "5", "1e3")),
	DAA(QUOTA("ManualSnapshots", "5", "")),
	DAA(QUOTA("ManualSnapshots", "0x10", "100")),
	DAA("<AccountQuota><AccountQuotaName>ManualSnapshots</AccountQuotaName><Used>1</Used>"
	    "</AccountQuota>"),
	/* listed twice: ambiguous */
	DAA(QUOTA("ManualClusterSnapshots", "1", "5") QUOTA("ManualClusterSnapshots", "1", "5")),
};

START_TEST(test_quota_parse_bad)
{
	struct ob_rds_quota q[2];
	struct ob_error err;

	ck_assert_int_eq(parse_quotas(quota_bad[_i], q, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert(!q[0].found && !q[1].found && q[0].used == 0 && q[1].max == 0);
}
END_TEST

START_TEST(test_quota_parse_truncated_and_garbage)
{
	const char *good = DAA(QUOTA("ManualSnapshots", "90", "100"));
	struct ob_rds_quota q[2];
	struct ob_error err;
	char buf[1024];
	size_t len = strlen(good), cut;
	int rc;

	/* every truncation either fails to parse as XML or is refused/empty */
	for (cut = 0; cut < len; cut++) {
		memcpy(buf, good, cut);
		buf[cut] = '\0';
		rc = parse_quotas(buf, q, &err);
		ck_assert_msg(rc != 0 || !q[0].found, "cut %zu accepted a quota", cut);
	}
	ck_assert_int_eq(parse_quotas("garbage \x01\xff", q, &err), -2);
	ck_assert_int_eq(parse_quotas("{\"AccountQuotas\":[]}", q, &err), -2);
}
END_TEST

START_TEST(test_quota_parse_many)
{
	/* a hostile answer with thousands of quotas: walked, not stored */
	size_t n = 20000, i;
	size_t cap = n * 120 + 1024, len = 0;
	char *xml = malloc(cap);
	struct ob_rds_quota q[2];
	struct ob_error err;

	ck_assert_ptr_nonnull(xml);
	len += (size_t)snprintf(xml + len, cap - len, "<DescribeAccountAttributesResponse>"
				"<DescribeAccountAttributesResult><AccountQuotas>");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(xml + len, cap - len, QUOTA("Q%zu", "1", "2"), i);
	len += (size_t)snprintf(xml + len, cap - len, QUOTA("ManualSnapshots", "3", "4")
				"</AccountQuotas></DescribeAccountAttributesResult>"
				"</DescribeAccountAttributesResponse>");
	ck_assert_uint_lt(len, cap);
	ck_assert_int_eq(parse_quotas(xml, q, &err), 0);
	ck_assert(q[0].found && q[0].used == 3 && q[0].max == 4 && !q[1].found);
	free(xml);
}
END_TEST

/* ---- fixture: fake HTTP, hand clock, a temporary state database ------------- */

static struct ob_http_fake fake;
static int64_t t_wall;
static struct ob_creds_provider *creds;
static struct ob_aws *aws;
static struct ob_store *store;
static char tmpdir[64], dbpath[128];

static int64_t t_now_ms(void *ctx)
{
	(void)ctx;
	return t_wall;
}

static int t_sleep_ms(void *ctx, int64_t ms)
{
	(void)ctx;
	t_wall += ms;
	return 0;
}

static const struct ob_clock tclock = { t_now_ms, t_now_ms, t_sleep_ms, NULL };

static void setup(void)
{
	struct ob_creds_options co;
	struct ob_aws_options o;
	struct ob_error err;

	ob_http_fake_init(&fake);
	t_wall = T0_MS;
	memset(&co, 0, sizeof(co));
	co.source = OB_CREDS_STATIC;
	co.access_key_id = "AKIDEXAMPLE";
	co.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	creds = ob_creds_provider_new(&co, &err);
	ck_assert_msg(creds != NULL, "%s", err.message);
	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.http = ob_http_fake_ops(&fake);
	o.clock = &tclock;
	o.creds = creds;
	o.max_attempts = 1;
	aws = ob_aws_new(&o, &err);
	ck_assert_msg(aws != NULL, "%s", err.message);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ob-check-alert-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
	ck_assert_int_eq(ob_store_open(dbpath, false, &store, &err), 0);
}

static void teardown(void)
{
	char cmd[128];

	ob_store_close(store);
	ob_aws_free(aws);
	ob_creds_provider_free(creds);
	ob_http_fake_clear(&fake);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct ob_alerts *alerts_new(const char *topic)
{
	struct ob_alerts_options o = { store, aws, &tclock, topic, "source", "111111111111",
				       REGION, 300000 };
	struct ob_error err;
	struct ob_alerts *a = ob_alerts_new(&o, &err);

	ck_assert_msg(a != NULL, "%s", err.message);
	return a;
}

static void raise_key(struct ob_alerts *a, const char *key, bool terminal)
{
	json_t *d = json_object();

	ob_alert_set(d, "db", "orders-prod");
	ob_alert_set(d, "state", "overridden by the fixed member");
	ob_alerts_raise(a, &(struct ob_alert){ key, "job-failed", "copy of orders-prod failed",
			"The copy failed.\nRun: offsite-backupctl retry j1", d, terminal });
	json_decref(d);
}

/* One loop turn's flush (the daemon calls ob_alerts_begin_turn() first). */
static void flush(struct ob_alerts *a)
{
	ob_alerts_begin_turn(a);
	ob_alerts_flush(a);
}

/* The form-decoded value of name in request i's body (static buffer). */
static const char *param(size_t i, const char *name)
{
	static char out[65536];
	const char *body = fake.records[i].body.data, *p;
	char key[128];
	size_t o = 0;

	snprintf(key, sizeof(key), "&%s=", name);
	p = strstr(body, key);
	ck_assert_msg(p != NULL, "no %s in request %zu", name, i);
	for (p += strlen(key); *p && *p != '&' && o + 1 < sizeof(out); p++) {
		if (*p == '%' && p[1] && p[2]) {
			char hex[3] = { p[1], p[2], 0 };

			out[o++] = (char)strtol(hex, NULL, 16);
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

static size_t outbox_rows(void)
{
	struct ob_alert_list l;
	struct ob_error err;
	size_t n;

	ck_assert_int_eq(ob_store_alert_pending(store, 100, &l, &err), 0);
	n = l.n;
	ob_alert_list_clear(&l);
	return n;
}

/* The JSON part of request i's Message. */
static json_t *details_of(size_t i)
{
	const char *msg = param(i, "Message"), *json = strstr(msg, "Details (JSON):\n");
	json_t *doc;

	ck_assert_ptr_nonnull(json);
	doc = json_loads(json + strlen("Details (JSON):\n"), 0, NULL);
	ck_assert_ptr_nonnull(doc);
	return doc;
}

START_TEST(test_raise_once_then_clear)
{
	struct ob_alerts *a = alerts_new(TOPIC);
	json_t *d;

	raise_key(a, "job-failed:j1", false);
	ck_assert(ob_alerts_active(a, "job-failed:j1"));
	raise_key(a, "job-failed:j1", false);       /* deduplicated */
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_str_eq(param(0, "Subject"),
			 "offsite-backup source 111111111111: copy of orders-prod failed");
	ck_assert_str_eq(param(0, "MessageAttributes.entry.1.Name"), "alert_kind");
	ck_assert_str_eq(param(0, "MessageAttributes.entry.1.Value.StringValue"), "job-failed");
	ck_assert_str_eq(param(0, "MessageAttributes.entry.2.Name"), "alert_state");
	ck_assert_str_eq(param(0, "MessageAttributes.entry.2.Value.StringValue"), "raised");
	ck_assert_str_eq(param(0, "MessageAttributes.entry.2.Value.DataType"), "String");
	ck_assert_ptr_nonnull(strstr(param(0, "Message"), "offsite-backupctl retry j1"));
	d = details_of(0);
	ck_assert_str_eq(json_string_value(json_object_get(d, "key")), "job-failed:j1");
	ck_assert_str_eq(json_string_value(json_object_get(d, "state")), "raised");
	ck_assert_str_eq(json_string_value(json_object_get(d, "db")), "orders-prod");
	ck_assert_str_eq(json_string_value(json_object_get(d, "role")), "source");
	ck_assert_str_eq(json_string_value(json_object_get(d, "raised_at")), "2026-11-22T18:49:52Z");
	json_decref(d);
	ck_assert_uint_eq(outbox_rows(), 0);
	flush(a);                           /* nothing more to send */
	ck_assert_uint_eq(fake.n_records, 1);
	raise_key(a, "job-failed:j1", false);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);

	t_wall += 60000;
	ob_alerts_clear(a, "job-failed:j1", "job j1 reached copying.");
	ck_assert(!ob_alerts_active(a, "job-failed:j1"));
	ob_alerts_clear(a, "job-failed:j1", "again");  /* not raised: nothing */
	ob_alerts_clear(a, "never-raised", "x");
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_str_eq(param(1, "MessageAttributes.entry.2.Value.StringValue"), "cleared");
	ck_assert_str_eq(param(1, "Subject"),
			 "offsite-backup source 111111111111: resolved: copy of orders-prod failed");
	ck_assert_ptr_nonnull(strstr(param(1, "Message"), "RESOLVED: job j1 reached copying."));
	d = details_of(1);
	ck_assert_str_eq(json_string_value(json_object_get(d, "state")), "cleared");
	ck_assert_str_eq(json_string_value(json_object_get(d, "cleared_at")), "2026-11-22T18:50:52Z");
	json_decref(d);
	ck_assert_uint_eq(outbox_rows(), 0);
	/* the row is gone: the same condition again is a new alert */
	raise_key(a, "job-failed:j1", false);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 3);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_raise_and_clear_before_delivery_sends_both)
{
	struct ob_alerts *a = alerts_new(TOPIC);

	raise_key(a, "queue", false);
	ob_alerts_clear(a, "queue", "receiving again");
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_str_eq(param(0, "MessageAttributes.entry.2.Value.StringValue"), "raised");
	ck_assert_str_eq(param(1, "MessageAttributes.entry.2.Value.StringValue"), "cleared");
	ck_assert_uint_eq(outbox_rows(), 0);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_failed_publish_is_kept_with_backoff)
{
	struct ob_alerts *a = alerts_new(TOPIC);
	int i;

	raise_key(a, "credentials", false);
	ob_http_fake_push(&fake, 403, REFUSED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	/* no spin: the next turns inside the backoff do not call SNS */
	for (i = 0; i < 50; i++)
		flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_uint_eq(outbox_rows(), 1);
	t_wall += OB_ALERT_BACKOFF_MIN_MS;
	ob_http_fake_push(&fake, 403, REFUSED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	/* the wait doubles */
	t_wall += OB_ALERT_BACKOFF_MIN_MS;
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	t_wall += OB_ALERT_BACKOFF_MIN_MS;
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 3);
	ck_assert_str_eq(param(2, "MessageAttributes.entry.1.Value.StringValue"), "job-failed");
	ck_assert_uint_eq(outbox_rows(), 0);
	/* the wait is long at most OB_ALERT_BACKOFF_MAX_MS */
	raise_key(a, "x", false);
	for (i = 0; i < 12; i++) {
		ob_http_fake_push(&fake, 403, REFUSED, NULL);
		flush(a);
		t_wall += OB_ALERT_BACKOFF_MAX_MS;
	}
	ck_assert_uint_eq(fake.n_records, 3 + 12);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_restart_neither_repeats_nor_forgets)
{
	struct ob_alerts *a = alerts_new(TOPIC);

	raise_key(a, "rpo:111111111111/orders-prod", false);
	raise_key(a, "queue", false);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	ob_alerts_clear(a, "queue", "receiving again"); /* cleared, not yet sent */
	ob_alerts_free(a);

	a = alerts_new(TOPIC);
	ck_assert(ob_alerts_active(a, "rpo:111111111111/orders-prod"));
	ck_assert(!ob_alerts_active(a, "queue"));
	raise_key(a, "rpo:111111111111/orders-prod", false); /* still on: no new message */
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);                                   /* the owed cleared message */
	ck_assert_uint_eq(fake.n_records, 3);
	ck_assert_str_eq(param(2, "MessageAttributes.entry.2.Value.StringValue"), "cleared");
	ck_assert_ptr_nonnull(strstr(param(2, "Message"), "Condition queue "));
	flush(a);
	ck_assert_uint_eq(fake.n_records, 3);
	ob_alerts_clear(a, "rpo:111111111111/orders-prod", "restored");
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 4);
	ck_assert_uint_eq(outbox_rows(), 0);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_flapping_before_the_clear_is_sent_is_one_condition)
{
	struct ob_alerts *a = alerts_new(TOPIC);

	raise_key(a, "queue", false);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ob_alerts_clear(a, "queue", "ok");
	raise_key(a, "queue", false);                  /* back before the clear went out */
	ck_assert(ob_alerts_active(a, "queue"));
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);          /* nothing owed */
	ck_assert_uint_eq(outbox_rows(), 0);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_terminal_alert_sent_once)
{
	struct ob_alerts *a = alerts_new(TOPIC);

	raise_key(a, "rejected:arn:aws:rds:eu-central-1:1:snapshot:x", true);
	raise_key(a, "rejected:arn:aws:rds:eu-central-1:1:snapshot:x", true);
	ck_assert(!ob_alerts_active(a, "rejected:arn:aws:rds:eu-central-1:1:snapshot:x"));
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_ptr_nonnull(strstr(param(0, "Message"), "does not clear"));
	ob_alerts_clear(a, "rejected:arn:aws:rds:eu-central-1:1:snapshot:x", "no");
	raise_key(a, "rejected:arn:aws:rds:eu-central-1:1:snapshot:x", true);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	ob_alerts_free(a);
	/* after a restart too, and until it is pruned (30 days) */
	a = alerts_new(TOPIC);
	raise_key(a, "rejected:arn:aws:rds:eu-central-1:1:snapshot:x", true);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	t_wall += OB_ALERT_KEEP_TERMINAL_MS + 3600 * 1000;
	flush(a);                            /* prunes */
	raise_key(a, "rejected:arn:aws:rds:eu-central-1:1:snapshot:x", true);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_without_topic_nothing_happens)
{
	struct ob_alerts *a = alerts_new("");

	ck_assert(!ob_alerts_enabled(a));
	ck_assert(!ob_alerts_enabled(NULL));
	raise_key(a, "queue", false);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 0);
	ck_assert_uint_eq(outbox_rows(), 0);
	/* NULL is a no-op everywhere */
	ob_alerts_raise(NULL, NULL);
	ob_alerts_clear(NULL, "queue", "x");
	ob_alerts_flush(NULL);
	ob_alerts_set_topic(NULL, TOPIC);
	ck_assert(!ob_alerts_active(NULL, "queue"));
	/* a reload that sets the topic turns them on */
	ob_alerts_set_topic(a, TOPIC);
	raise_key(a, "queue", false);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_str_eq(param(0, "TopicArn"), TOPIC);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_hostile_values_in_the_message)
{
	struct ob_alerts *a = alerts_new(TOPIC);
	json_t *d = json_object(), *doc;
	char summary[300];

	memset(summary, 'z', sizeof(summary) - 1);
	summary[sizeof(summary) - 1] = '\0';
	summary[3] = '\n';
	ob_alert_set(d, "claimed_snapshot_arn", "arn\x01\xff\"}\n{\"injected\":1");
	ob_alerts_raise(a, &(struct ob_alert){ "rejected:x\xff", "rejected", summary,
			"text\x1b[2J with \x07 bells", d, true });
	json_decref(d);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_uint_le(strlen(param(0, "Subject")), OB_ALERT_SUBJECT_MAX);
	ck_assert_ptr_null(strchr(param(0, "Subject"), '\n'));
	ck_assert_ptr_null(strchr(param(0, "Message"), '\x1b'));
	ck_assert_ptr_null(strchr(param(0, "Message"), '\x07'));
	doc = details_of(0);
	ck_assert_ptr_null(json_object_get(doc, "injected"));
	ck_assert_str_eq(json_string_value(json_object_get(doc, "claimed_snapshot_arn")),
			 "arn?\"}{\"injected\":1");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "key")), "rejected:x?");
	json_decref(doc);
	ob_alerts_free(a);
}
END_TEST

/* ---- review fixes: per-turn limits, short publishes, owed marks --------------- */

#define THROTTLED "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code>" \
		  "<Message>down</Message></Error><RequestId>r-2</RequestId></ErrorResponse>"

static long seen_timeouts[OB_FAKE_MAX];
static size_t n_seen_timeouts;
static struct ob_http_ops inner_ops;

static int timing_perform(void *ctx, const struct ob_http_request *req,
			  struct ob_http_response *resp, struct ob_error *err)
{
	if (n_seen_timeouts < OB_FAKE_MAX)
		seen_timeouts[n_seen_timeouts++] = req->timeout_ms;
	return inner_ops.perform(ctx, req, resp, err);
}

START_TEST(test_publish_is_one_short_attempt)
{
	struct ob_aws_options o;
	struct ob_error err;
	struct ob_aws *aws3;
	struct ob_alerts *a;
	struct ob_alerts_options ao;

	/* A client that retries (3 attempts, as the daemon's) ... */
	inner_ops = ob_http_fake_ops(&fake);
	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.http = inner_ops;
	o.http.perform = timing_perform;
	o.clock = &tclock;
	o.creds = creds;
	o.max_attempts = 3;
	n_seen_timeouts = 0;
	aws3 = ob_aws_new(&o, &err);
	ck_assert_msg(aws3 != NULL, "%s", err.message);
	ao = (struct ob_alerts_options){ store, aws3, &tclock, TOPIC, "source", "111111111111",
					 REGION, 0 };
	a = ob_alerts_new(&ao, &err);
	ck_assert_ptr_nonnull(a);
	raise_key(a, "queue", false);
	ob_http_fake_push(&fake, 500, THROTTLED, NULL);
	ob_http_fake_push(&fake, 500, THROTTLED, NULL);
	ob_http_fake_push(&fake, 500, THROTTLED, NULL);
	flush(a);
	/* ... makes one attempt of OB_ALERT_PUBLISH_TIMEOUT_MS for an alert */
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_uint_eq(n_seen_timeouts, 1);
	ck_assert_int_eq(seen_timeouts[0], OB_ALERT_PUBLISH_TIMEOUT_MS);
	ck_assert_int_le(OB_ALERT_PUBLISH_TIMEOUT_MS, 10000);
	/* and the limits do not stick to the client's other calls */
	ck_assert_int_eq(ob_sns_publish(aws3, TOPIC, "m", NULL, NULL, 0, &err), -1);
	ck_assert_uint_eq(fake.n_records, 4);        /* 3 attempts */
	ck_assert_int_eq(seen_timeouts[1], 0);
	ob_alerts_free(a);
	ob_aws_free(aws3);
}
END_TEST

START_TEST(test_backoff_starts_at_30_s)
{
	ck_assert_int_ge(OB_ALERT_BACKOFF_MIN_MS, 30000);
	ck_assert_int_eq(OB_ALERT_BACKOFF_MAX_MS, 300000);
}
END_TEST

START_TEST(test_one_failed_publish_per_turn)
{
	struct ob_alerts *a = alerts_new(TOPIC);

	raise_key(a, "queue", false);
	raise_key(a, "credentials", false);
	ob_alerts_begin_turn(a);
	ob_http_fake_push(&fake, 403, REFUSED, NULL);
	ob_alerts_flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	/* the same turn goes on for longer than the backoff: no second try */
	t_wall += OB_ALERT_BACKOFF_MAX_MS;
	ob_alerts_flush(a);
	ob_alerts_flush(a);
	ob_alerts_flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	/* the next turn tries again */
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 3);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_at_most_ten_rows_per_turn)
{
	struct ob_alerts *a = alerts_new(TOPIC);
	char key[32];
	int i;

	for (i = 0; i < 25; i++) {
		snprintf(key, sizeof(key), "job-failed:j%d", i);
		raise_key(a, key, false);
	}
	for (i = 0; i < 25; i++)
		ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	ob_alerts_begin_turn(a);
	for (i = 0; i < 4; i++)        /* the daemon flushes up to 4 times a turn */
		ob_alerts_flush(a);
	ck_assert_uint_eq(fake.n_records, OB_ALERT_FLUSH_ROWS);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2 * OB_ALERT_FLUSH_ROWS);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 25);
	ck_assert_uint_eq(outbox_rows(), 0);
	ob_alerts_free(a);
}
END_TEST

static void exec_sql(const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s",
		      sqlite3_errmsg(db));
	sqlite3_close(db);
}

START_TEST(test_failed_mark_does_not_republish)
{
	struct ob_alerts *a = alerts_new(TOPIC);

	raise_key(a, "queue", false);
	/* SNS takes the message, then the store refuses to mark it sent */
	exec_sql("CREATE TRIGGER no_mark BEFORE UPDATE ON alerts "
		 "BEGIN SELECT RAISE(ABORT, 'no writes'); END");
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	t_wall += OB_ALERT_BACKOFF_MAX_MS;
	flush(a);
	t_wall += OB_ALERT_BACKOFF_MAX_MS;
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);    /* the mark is retried, not the message */
	exec_sql("DROP TRIGGER no_mark");
	t_wall += OB_ALERT_BACKOFF_MAX_MS;
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_uint_eq(outbox_rows(), 0);
	/* the same for the cleared message (its row is deleted once out) */
	ob_alerts_clear(a, "queue", "ok");
	exec_sql("CREATE TRIGGER no_delete BEFORE DELETE ON alerts "
		 "BEGIN SELECT RAISE(ABORT, 'no writes'); END");
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	t_wall += OB_ALERT_BACKOFF_MAX_MS;
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	exec_sql("DROP TRIGGER no_delete");
	t_wall += OB_ALERT_BACKOFF_MAX_MS;
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_uint_eq(outbox_rows(), 0);
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_signing_material_is_removed)
{
	char out[512];
	struct ob_alerts *a;
	json_t *d;
	const char *msg;

	ob_alert_clean_text(out, sizeof(out),
			    "AWS error 400 IncompleteSignature: 'Credential=AKIAIOSFODNN7EXAMPLE/"
			    "20261122/eu-central-1/sns/aws4_request, SignedHeaders=host;x-amz-date, "
			    "Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024'");
	ck_assert_str_eq(out, "AWS error 400 IncompleteSignature: 'Credential=[removed], "
			 "SignedHeaders=host;x-amz-date, Signature=[removed]'");
	ob_alert_clean_text(out, sizeof(out), "key ASIAIOSFODNN7EXAMPLE refused; AKIA alone stays; "
			    "AKIAIOSFODNN7EXAMPLE1 too");
	ck_assert_str_eq(out, "key [removed] refused; AKIA alone stays; AKIAIOSFODNN7EXAMPLE1 too");
	ob_alert_clean_text(out, sizeof(out), "Credential= nothing");
	ck_assert_str_eq(out, "Credential= nothing");
	/* in the fields and in the published message */
	a = alerts_new(TOPIC);
	d = json_object();
	ob_alert_set(d, "error_message", "credential=AKIAIOSFODNN7EXAMPLE/x");
	ck_assert_str_eq(json_string_value(json_object_get(d, "error_message")),
			 "credential=[removed]");
	ob_alerts_raise(a, &(struct ob_alert){ "credentials", "credentials", "refused",
			"Error: Signature=abcdef012345 AKIAIOSFODNN7EXAMPLE", d, false });
	json_decref(d);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	msg = param(0, "Message");
	ck_assert_ptr_null(strstr(msg, "AKIAIOSFODNN7EXAMPLE"));
	ck_assert_ptr_null(strstr(msg, "abcdef012345"));
	ob_alerts_free(a);
}
END_TEST

START_TEST(test_silent_record_dedups_without_a_message)
{
	struct ob_alerts *a = alerts_new(TOPIC);
	struct ob_alert al = { "rejected:111111111111/m1", "rejected", "rejected", "t", NULL,
			       true };

	ck_assert(ob_alerts_record_silently(a, &al));
	ck_assert(!ob_alerts_raise(a, &al));           /* recorded: deduplicated */
	flush(a);
	ck_assert_uint_eq(fake.n_records, 0);
	ck_assert_uint_eq(outbox_rows(), 0);
	ob_alerts_free(a);
}
END_TEST

/* ---- the reconcile pass ------------------------------------------------------ */

#define VAULT_CONF "[daemon]\nrole = target\nregion = eu-central-1\n" \
	"queue_url = https://sqs.eu-central-1.amazonaws.com/222222222222/offsite-backup-inbox\n" \
	"state_db = /tmp/unused.db\nmax_attempts = 3\n" \
	"[target]\nallowed_source_accounts = 111111111111\n" \
	"import_kms_key = arn:aws:kms:eu-central-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab\n"

static struct ob_config *vault_config(void)
{
	struct ob_config *cfg = NULL;
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_error err;

	ck_assert_msg(ob_config_parse("vault.conf", VAULT_CONF, strlen(VAULT_CONF), 0600, &cfg,
				      &diag, &err) == 0, "%s %s", err.message,
		      diag.data ? diag.data : "");
	ob_buf_clear(&diag);
	return cfg;
}

static void insert_job(const char *id, const char *arn, enum ob_job_state state,
		       unsigned attempts, const char *error, const char *tags, int64_t at_ms)
{
	struct ob_job job;
	struct ob_error err;
	bool created;

	memset(&job, 0, sizeof(job));
	job.id = (char *)id;
	job.role = "target";
	job.kind = OB_SNAP_INSTANCE;
	job.source_arn = (char *)arn;
	job.db_id = "orders-prod";
	job.copy_id = "ob-orders-1";
	job.state = state;
	job.failed_from = state == OB_JOB_FAILED ? OB_JOB_IMPORTING : state;
	job.attempts = attempts;
	job.next_at_ms = OB_FSM_NEVER;
	job.origin = "announcement";
	job.error_code = "KMSKeyNotAccessibleFault";
	job.error_message = (char *)error;
	job.source_tags = (char *)(tags ? tags : "");
	ck_assert_int_eq(ob_store_job_insert(store, &job, "new", at_ms, &created, &err), 0);
	ck_assert(created);
}

START_TEST(test_reconcile_raises_and_clears_job_failed)
{
	struct ob_config *cfg = vault_config();
	struct ob_alerts *a = alerts_new(TOPIC);
	struct ob_jobs j;
	json_t *d;

	/* a job committed to failed whose alert row was lost */
	insert_job("j00000000000000a1", "arn:aws:rds:eu-central-1:111111111111:snapshot:ob-a",
		   OB_JOB_FAILED, 3, "AWS error 400 KMSKeyNotAccessibleFault: disabled", NULL,
		   T0_MS);
	/* a job that recovered while alerts were off, and one that is gone */
	insert_job("j00000000000000b2", "arn:aws:rds:eu-central-1:111111111111:snapshot:ob-b",
		   OB_JOB_IMPORTING, 0, "", NULL, T0_MS);
	raise_key(a, "job-failed:j00000000000000b2", false);
	raise_key(a, "job-failed:j00000000000000c3", false);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);

	ob_jobs_init(&j, cfg, NULL, store, &tclock, NULL, 0);
	j.alerts = a;
	ck_assert(ob_jobs_alerts_due(&j));            /* start-up */
	ck_assert(!ob_jobs_alerts_due(&j));
	ob_jobs_reconcile_alerts(&j);
	ck_assert(ob_alerts_active(a, "job-failed:j00000000000000a1"));
	ck_assert(!ob_alerts_active(a, "job-failed:j00000000000000b2"));
	ck_assert(!ob_alerts_active(a, "job-failed:j00000000000000c3"));
	for (int i = 0; i < 3; i++)
		ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 5);
	d = details_of(2);
	ck_assert_str_eq(json_string_value(json_object_get(d, "key")),
			 "job-failed:j00000000000000a1");
	ck_assert_str_eq(json_string_value(json_object_get(d, "failed_in")), "importing");
	ck_assert(json_is_true(json_object_get(d, "attempts_exhausted")));
	ck_assert_str_eq(json_string_value(json_object_get(d, "error_message")),
			 "AWS error 400 KMSKeyNotAccessibleFault: disabled");
	json_decref(d);
	ck_assert_ptr_nonnull(strstr(param(2, "Message"), "offsite-backupctl retry j00000000000000a1"));
	ck_assert_str_eq(param(3, "MessageAttributes.entry.2.Value.StringValue"), "cleared");
	ck_assert_str_eq(param(4, "MessageAttributes.entry.2.Value.StringValue"), "cleared");
	/* idempotent: the next pass sends nothing */
	t_wall += OB_JOBS_RECONCILE_MS;
	ck_assert(ob_jobs_alerts_due(&j));
	ob_jobs_reconcile_alerts(&j);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 5);
	/* alerts off, then a reload sets the topic: a pass at once */
	ob_alerts_set_topic(a, "");
	ck_assert(!ob_jobs_alerts_due(&j));
	ob_alerts_set_topic(a, TOPIC);
	ck_assert(ob_jobs_alerts_due(&j));
	ob_alerts_free(a);
	ob_config_free(cfg);
}
END_TEST

#define REJ_TAGS(sender, arn) "[{\"Key\":\"offsite-backup:rejected-sender-account\",\"Value\":\"" \
	sender "\"},{\"Key\":\"offsite-backup:rejected-claimed-snapshot\",\"Value\":\"" arn "\"}]"

START_TEST(test_reconcile_rejections_key_and_rate_limit)
{
	struct ob_config *cfg = vault_config();
	struct ob_alerts *a = alerts_new(TOPIC);
	struct ob_client client = { 0 };
	struct ob_target_options to = { 0 };
	struct ob_target *t;
	struct ob_error err;
	json_t *d;

	client.aws = aws;
	to = (struct ob_target_options){ cfg, &client, store, &tclock, "222222222222", NULL, NULL,
					 a };
	t = ob_target_new(&to, &err);
	ck_assert_msg(t != NULL, "%s", err.message);
	/* 31 days old: its alert was pruned on purpose, never again */
	insert_job("j00000000000000d1", "rejected:m-old", OB_JOB_REJECTED, 0, "old reason",
		   REJ_TAGS("111111111111", "arn:aws:rds:eu-central-1:111111111111:snapshot:ob-x"),
		   T0_MS - OB_ALERT_KEEP_TERMINAL_MS - 24LL * 3600 * 1000);
	/* two recent ones from one sender, one from another: lost alert rows */
	insert_job("j00000000000000d2", "rejected:m-2", OB_JOB_REJECTED, 0, "not allowed",
		   REJ_TAGS("333333333333", "arn:aws:rds:eu-central-1:111111111111:snapshot:ob-x"),
		   T0_MS - 1000);
	insert_job("j00000000000000d3", "rejected:m-3", OB_JOB_REJECTED, 0, "not allowed",
		   REJ_TAGS("333333333333", "arn:aws:rds:eu-central-1:333333333333:snapshot:ob-y"),
		   T0_MS - 500);
	insert_job("j00000000000000d4", "rejected:m-4", OB_JOB_REJECTED, 0, "bad schema",
		   REJ_TAGS("", ""), T0_MS - 100);
	/* a row from before the key existed cannot be matched: left alone */
	insert_job("j00000000000000d5", "rejected:m-5", OB_JOB_REJECTED, 0, "legacy", NULL,
		   T0_MS - 100);
	ob_target_reconcile_rejections(t);
	for (int i = 0; i < 4; i++)
		ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	/* d2 only: 333333333333 is not allowed, so it shares the bucket
	 * "other" with "unknown" (d4); d3 and d4 held back */
	ck_assert_uint_eq(fake.n_records, 1);
	d = details_of(0);
	ck_assert_str_eq(json_string_value(json_object_get(d, "key")),
			 "rejected:333333333333/arn:aws:rds:eu-central-1:111111111111:snapshot:ob-x");
	ck_assert_str_eq(json_string_value(json_object_get(d, "sender_account")), "333333333333");
	ck_assert_str_eq(json_string_value(json_object_get(d, "reason")), "not allowed");
	ck_assert_str_eq(json_string_value(json_object_get(d, "message_id")), "m-2");
	json_decref(d);
	/* again: nothing (recorded, held back ones included) */
	ob_target_reconcile_rejections(t);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	/* an hour later, the next one of that bucket says how many were held back */
	t_wall += OB_TARGET_REJECT_ALERT_EVERY_MS;
	insert_job("j00000000000000d6", "rejected:m-6", OB_JOB_REJECTED, 0, "not allowed",
		   REJ_TAGS("444444444444", "arn:aws:rds:eu-central-1:333333333333:snapshot:ob-z"),
		   t_wall);
	ob_target_reconcile_rejections(t);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	d = details_of(1);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "suppressed_before")), 2);
	json_decref(d);
	ck_assert_ptr_nonnull(strstr(param(1, "Message"), "2 further rejection(s)"));
	ck_assert_ptr_nonnull(strstr(param(1, "Message"), "not in allowed_source_accounts"));
	ob_target_free(t);
	ob_alerts_free(a);
	ob_config_free(cfg);
}
END_TEST

/* A vault target with alerts on TOPIC (for the rejection tests). */
static struct ob_target *rej_target(struct ob_config *cfg, struct ob_alerts *a,
				    struct ob_client *client)
{
	struct ob_target_options to;
	struct ob_target *t;
	struct ob_error err;

	client->aws = aws;
	to = (struct ob_target_options){ cfg, client, store, &tclock, "222222222222", NULL, NULL,
					 a };
	t = ob_target_new(&to, &err);
	ck_assert_msg(t != NULL, "%s", err.message);
	return t;
}

/* Review: a forger names any 12 digits as the sender. Every sender not in
 * allowed_source_accounts shares one bucket, so 70 forged senders make one
 * alert (not 70, and no entry is evicted with its count); an allowed
 * sender keeps its own; and when the hour ends, the run tick sends a
 * summary of the held-back ones. */
START_TEST(test_reject_limit_buckets_and_summary)
{
	struct ob_config *cfg = vault_config();
	struct ob_alerts *a = alerts_new(TOPIC);
	struct ob_client client = { 0 };
	struct ob_target *t = rej_target(cfg, a, &client);
	char id[32], mid[32], want[160], since[32];
	time_t tt = (time_t)(T0_MS / 1000);
	struct tm tm;
	json_t *d;

	for (int i = 0; i < 70; i++) {
		char tags[256];

		snprintf(id, sizeof(id), "j0000000000000f%02d", i);
		snprintf(mid, sizeof(mid), "rejected:m-f%02d", i);
		snprintf(tags, sizeof(tags), REJ_TAGS("5000000000%02d", "arn:aws:rds:eu-central-1:"
						      "5000000000%02d:snapshot:ob-f"), i, i);
		insert_job(id, mid, OB_JOB_REJECTED, 0, "not allowed", tags, T0_MS - 1000);
	}
	/* an allowed sender's rejection has its own bucket */
	insert_job("j0000000000000g01", "rejected:m-g1", OB_JOB_REJECTED, 0, "region mismatch",
		   REJ_TAGS("111111111111", "arn:aws:rds:us-east-1:111111111111:snapshot:ob-g"),
		   T0_MS - 500);
	ob_target_reconcile_rejections(t);
	for (int i = 0; i < 4; i++)
		ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	/* nothing more before the hour is over */
	t_wall += OB_TARGET_REJECT_ALERT_EVERY_MS - 1;
	ob_target_reject_summaries(t);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 2);
	/* then one summary for "other", none for the allowed sender */
	t_wall += 1;
	ob_target_reject_summaries(t);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 3);
	gmtime_r(&tt, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	d = details_of(2);
	snprintf(want, sizeof(want), "rejected-summary:other/%s", since);
	ck_assert_str_eq(json_string_value(json_object_get(d, "key")), want);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "rejected")), 69);
	json_decref(d);
	snprintf(want, sizeof(want), "69 more announcement(s) naming a sender account not in "
		 "allowed_source_accounts (or none) were rejected in the hour since %s", since);
	ck_assert_ptr_nonnull(strstr(param(2, "Message"), want));
	ck_assert_ptr_nonnull(strstr(param(2, "Message"), "offsite-backupctl list --state rejected"));
	/* once: the counts start again */
	t_wall += OB_TARGET_REJECT_ALERT_EVERY_MS;
	ob_target_reject_summaries(t);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 3);
	ob_target_free(t);
	ob_alerts_free(a);
	ob_config_free(cfg);
}
END_TEST

/* Review: a reconcile pass skips the rows whose alert it knows is in the
 * outbox, without a store write: with the rows pruned behind its back,
 * the second pass raises nothing again. */
START_TEST(test_reconcile_skips_known_rejections)
{
	struct ob_config *cfg = vault_config();
	struct ob_alerts *a = alerts_new(TOPIC);
	struct ob_client client = { 0 };
	struct ob_target *t = rej_target(cfg, a, &client);
	struct ob_alert_list pending = { NULL, 0 };
	struct ob_error err;

	insert_job("j00000000000000h1", "rejected:m-h1", OB_JOB_REJECTED, 0, "region mismatch",
		   REJ_TAGS("111111111111", "arn:aws:rds:us-east-1:111111111111:snapshot:ob-h"),
		   T0_MS - 1000);
	ck_assert(!ob_alerts_known(a, "rejected:111111111111/arn:aws:rds:us-east-1:"
				      "111111111111:snapshot:ob-h"));
	ob_target_reconcile_rejections(t);
	ck_assert(ob_alerts_known(a, "rejected:111111111111/arn:aws:rds:us-east-1:"
				     "111111111111:snapshot:ob-h"));
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	flush(a);
	ck_assert_uint_eq(fake.n_records, 1);
	/* forget every sent terminal row: a raise would write it anew */
	ck_assert(ob_store_alert_prune(store, T0_MS + 1, &err) == 0);
	t_wall += OB_TARGET_REJECT_ALERT_EVERY_MS;
	ob_target_reconcile_rejections(t);
	ck_assert(ob_store_alert_pending(store, 10, &pending, &err) == 0);
	ck_assert_uint_eq(pending.n, 0);
	ob_alert_list_clear(&pending);
	/* non-terminal keys are not cached: their rows go away when cleared */
	raise_key(a, "queue", false);
	ck_assert(!ob_alerts_known(a, "queue"));
	ob_target_free(t);
	ob_alerts_free(a);
	ob_config_free(cfg);
}
END_TEST

/* ---- Publish with MessageAttributes ----------------------------------------- */

START_TEST(test_publish_attrs_checks)
{
	struct ob_sns_attr ok[1] = { { "alert_kind", "queue" } };
	struct ob_sns_attr bad_name[1] = { { "alert kind", "queue" } };
	struct ob_sns_attr empty[1] = { { "alert_kind", "" } };
	struct ob_sns_attr many[OB_SNS_MAX_ATTRIBUTES + 1];
	struct ob_error err;
	size_t i;

	for (i = 0; i < OB_SNS_MAX_ATTRIBUTES + 1; i++)
		many[i] = ok[0];
	ck_assert_int_eq(ob_sns_publish_attrs(aws, TOPIC, "m", NULL, bad_name, 1, NULL, 0, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_int_eq(ob_sns_publish_attrs(aws, TOPIC, "m", NULL, empty, 1, NULL, 0, &err), -1);
	ck_assert_int_eq(ob_sns_publish_attrs(aws, TOPIC, "m", NULL, many,
					      OB_SNS_MAX_ATTRIBUTES + 1, NULL, 0, &err), -1);
	ck_assert_int_eq(ob_sns_publish_attrs(aws, TOPIC, "m", NULL, NULL, 1, NULL, 0, &err), -1);
	ck_assert_uint_eq(fake.n_records, 0);
	ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	ck_assert_int_eq(ob_sns_publish_attrs(aws, TOPIC, "m", "s", ok, 1, NULL, 0, &err), 0);
	ck_assert_ptr_nonnull(strstr(fake.records[0].body.data,
				     "&MessageAttributes.entry.1.Name=alert_kind"
				     "&MessageAttributes.entry.1.Value.DataType=String"
				     "&MessageAttributes.entry.1.Value.StringValue=queue"));
}
END_TEST

/* ---- the schema migration keeps the jobs -------------------------------------- */

START_TEST(test_v1_database_migrates_and_keeps_its_jobs)
{
	struct ob_job job, got;
	struct ob_error err;
	struct ob_alert_list l;
	bool created;
	sqlite3 *db;
	char **names = NULL;
	int rows = 0, cols = 0, i;

	memset(&job, 0, sizeof(job));
	job.id = "j0123456789abcdef";
	job.role = "source";
	job.kind = OB_SNAP_INSTANCE;
	job.source_arn = "arn:aws:rds:eu-central-1:111111111111:snapshot:orders-1";
	job.db_id = "orders-prod";
	job.copy_id = "ob-orders-1";
	job.state = OB_JOB_FAILED;
	job.failed_from = OB_JOB_PENDING;
	job.next_at_ms = T0_MS;
	job.origin = "event";
	ck_assert_int_eq(ob_store_job_insert(store, &job, "new", T0_MS, &created, &err), 0);
	ck_assert(created);
	ob_store_close(store);
	store = NULL;

	/* Make it a schema 1 file: every table the later migrations add goes. */
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_get_table(db, "SELECT name FROM sqlite_master WHERE type = 'table'"
					   " AND name NOT IN ('jobs', 'history')"
					   " AND name NOT LIKE 'sqlite_%'", &names, &rows, &cols,
					   NULL), SQLITE_OK);
	ck_assert_int_ge(rows, 1); /* alerts at least */
	for (i = 1; i <= rows; i++) {
		char sql[256];

		snprintf(sql, sizeof(sql), "DROP TABLE \"%s\"", names[i]);
		ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_free_table(names);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* read-only users (offsite-backupctl) are told to let the daemon migrate */
	ck_assert_int_eq(ob_store_open(dbpath, true, &store, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "run the daemon once to migrate"));
	ck_assert_int_eq(ob_store_open(dbpath, false, &store, &err), 0);
	ck_assert_int_eq(ob_store_file_version(store), ob_store_schema_version());
	ck_assert_int_ge(ob_store_schema_version(), 2);
	ck_assert_int_eq(ob_store_job_get(store, "j0123456789abcdef", &got, &err), 0);
	ck_assert_str_eq(got.source_arn, job.source_arn);
	ck_assert_int_eq(got.state, OB_JOB_FAILED);
	ob_job_clear(&got);
	ck_assert_int_eq(ob_store_alert_pending(store, 10, &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

Suite *ob_suite_alert(void)
{
	Suite *s = suite_create("alert");
	TCase *text = tcase_create("text");
	TCase *quota = tcase_create("quota");
	TCase *outbox = tcase_create("outbox");

	tcase_add_test(text, test_subject_is_printable_and_bounded);
	tcase_add_test(text, test_clean_text);
	tcase_add_test(text, test_alert_set_makes_valid_json);
	tcase_add_loop_test(text, test_creds_error_table, 0,
			    (int)(sizeof(creds_rows) / sizeof(creds_rows[0])));
	suite_add_tcase(s, text);
	tcase_add_test(quota, test_quota_parse_good);
	tcase_add_loop_test(quota, test_quota_parse_bad, 0,
			    (int)(sizeof(quota_bad) / sizeof(quota_bad[0])));
	tcase_add_test(quota, test_quota_parse_truncated_and_garbage);
	tcase_add_test(quota, test_quota_parse_many);
	suite_add_tcase(s, quota);
	tcase_add_checked_fixture(outbox, setup, teardown);
	tcase_add_test(outbox, test_raise_once_then_clear);
	tcase_add_test(outbox, test_raise_and_clear_before_delivery_sends_both);
	tcase_add_test(outbox, test_failed_publish_is_kept_with_backoff);
	tcase_add_test(outbox, test_restart_neither_repeats_nor_forgets);
	tcase_add_test(outbox, test_flapping_before_the_clear_is_sent_is_one_condition);
	tcase_add_test(outbox, test_terminal_alert_sent_once);
	tcase_add_test(outbox, test_without_topic_nothing_happens);
	tcase_add_test(outbox, test_publish_is_one_short_attempt);
	tcase_add_test(outbox, test_backoff_starts_at_30_s);
	tcase_add_test(outbox, test_one_failed_publish_per_turn);
	tcase_add_test(outbox, test_at_most_ten_rows_per_turn);
	tcase_add_test(outbox, test_failed_mark_does_not_republish);
	tcase_add_test(outbox, test_signing_material_is_removed);
	tcase_add_test(outbox, test_silent_record_dedups_without_a_message);
	tcase_add_test(outbox, test_reconcile_raises_and_clears_job_failed);
	tcase_add_test(outbox, test_reconcile_rejections_key_and_rate_limit);
	tcase_add_test(outbox, test_reject_limit_buckets_and_summary);
	tcase_add_test(outbox, test_reconcile_skips_known_rejections);
	tcase_add_test(outbox, test_hostile_values_in_the_message);
	tcase_add_test(outbox, test_publish_attrs_checks);
	tcase_add_test(outbox, test_v1_database_migrates_and_keeps_its_jobs);
	suite_add_tcase(s, outbox);
	return s;
}
