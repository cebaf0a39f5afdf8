/*
 * check_clients.c - the service files (sts.c, sqs.c, rds.c) through the
 * recording fake transport, fed responses captured from moto (see
 * tests/data/responses/README) and hand-made variants of them: what each
 * call sends, what it makes of a good answer, and that every malformed,
 * oversized or out-of-range answer or parameter is refused.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "check_ob.h"
#include "check_util.h"
#include "ob/aws.h"
#include "ob/creds.h"
#include "ob/private/http_fake.h"
#include "ob/rds.h"
#include "ob/sqs.h"
#include "ob/sts.h"

#define REGION  "eu-central-1"
#define QUEUE   "https://sqs." REGION ".amazonaws.com/123456789012/ob-jobs"
#define T0_MS   1795373392000LL /* 2026-11-22T18:49:52Z, as in the corpus */
#define KMS_KEY "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

/* ---- corpus ---------------------------------------------------------------- */


/* ---- fixture --------------------------------------------------------------- */

static struct ob_http_fake fake;
static int64_t t_wall;
static size_t n_sleeps;
static struct ob_creds_provider *creds;
static struct ob_aws *aws;

static int64_t t_now_ms(void *ctx)
{
	(void)ctx;
	return t_wall;
}

static int t_sleep_ms(void *ctx, int64_t ms)
{
	(void)ctx;
	t_wall += ms;
	n_sleeps++;
	return 0;
}

static const struct ob_clock tclock = { t_now_ms, t_now_ms, t_sleep_ms, NULL };

static uint32_t t_random(void *ctx)
{
	(void)ctx;
	return 0x40000000u;
}

static void setup(void)
{
	struct ob_creds_options co;
	struct ob_aws_options o;
	struct ob_error err;

	ob_http_fake_init(&fake);
	t_wall = T0_MS;
	n_sleeps = 0;
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
	o.random = t_random;
	aws = ob_aws_new(&o, &err);
	ck_assert_msg(aws != NULL, "%s", err.message);
}

static void teardown(void)
{
	ob_aws_free(aws);
	ob_creds_provider_free(creds);
	ob_http_fake_clear(&fake);
}

static const char *hdr(size_t i, const char *name)
{
	static char out[4][2048];
	static int k;

	return ob_http_fake_header(&fake, i, name, out[k++ % 4], sizeof(out[0]));
}

static const char *sent_body(size_t i)
{
	ck_assert_uint_lt(i, fake.n_records);
	return fake.records[i].body.data ? fake.records[i].body.data : "";
}

/* ==== STS =================================================================== */

START_TEST(test_sts_identity)
{
	struct ob_sts_identity id;
	struct ob_error err;
	char *doc = ob_test_load_response("sts_get_caller_identity.xml", NULL);

	ob_http_fake_push(&fake, 200, doc, NULL);
	ck_assert_msg(ob_sts_get_caller_identity(aws, &id, &err) == 0, "%s", err.message);
	ck_assert_str_eq(id.account, "123456789012");
	ck_assert_str_eq(id.arn, "arn:aws:sts::123456789012:user/moto");
	ck_assert_str_eq(id.user_id, "AKIAIOSFODNN7EXAMPLE");
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_str_eq(fake.records[0].url, "https://sts." REGION ".amazonaws.com/");
	ck_assert_str_eq(sent_body(0), "Action=GetCallerIdentity&Version=2011-06-15");
	ck_assert_ptr_nonnull(strstr(hdr(0, "Authorization"), "/" REGION "/sts/aws4_request,"));
	free(doc);
}
END_TEST

#define STS_DOC(result)                                                          \
	"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">" \
	result "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"     \
	"</GetCallerIdentityResponse>"
#define STS_RESULT(acct)                                                         \
	"<GetCallerIdentityResult><UserId>AIDAEXAMPLE</UserId>" acct               \
	"<Arn>arn:aws:iam::123456789012:user/ob</Arn></GetCallerIdentityResult>"

static const char *const sts_bad[] = {
	STS_DOC(STS_RESULT("")),                                   /* no Account */
	STS_DOC(STS_RESULT("<Account>12345678901</Account>")),     /* 11 digits */
	STS_DOC(STS_RESULT("<Account>1234567890123</Account>")),   /* 13 digits */
	STS_DOC(STS_RESULT("<Account>12345678901a</Account>")),
	STS_DOC(STS_RESULT("<Account></Account>")),
	STS_DOC(STS_RESULT("<Account> 123456789012</Account>")),
	STS_DOC(STS_RESULT("<Account>123456789012 </Account>")),
	STS_DOC(STS_RESULT("<Account>-12345678901</Account>")),
	STS_DOC("<Account>123456789012</Account>"),                /* not in the Result */
	STS_DOC(""),
	"<Other><GetCallerIdentityResult><Account>123456789012</Account>"
	"</GetCallerIdentityResult></Other>x",                       /* not XML */
	"",
};

START_TEST(test_sts_bad_answers)
{
	struct ob_sts_identity id;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, sts_bad[_i], NULL);
	memset(&id, 'X', sizeof(id));
	ck_assert_int_eq(ob_sts_get_caller_identity(aws, &id, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_str_eq(id.account, "");
	ck_assert_uint_eq(fake.n_records, 1);
}
END_TEST

/* The good shape again, to show the table's documents differ only where
 * they mean to. */
START_TEST(test_sts_inline_ok)
{
	struct ob_sts_identity id;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, STS_DOC(STS_RESULT("<Account>000000000042</Account>")),
			  NULL);
	ck_assert_int_eq(ob_sts_get_caller_identity(aws, &id, &err), 0);
	ck_assert_str_eq(id.account, "000000000042");
	ck_assert_str_eq(id.user_id, "AIDAEXAMPLE");
}
END_TEST

START_TEST(test_sts_long_fields_truncated)
{
	struct ob_sts_identity id;
	struct ob_error err;
	struct ob_buf b = OB_BUF_INIT;
	size_t i;

	ck_assert_int_eq(ob_buf_puts(&b, "<R><GetCallerIdentityResult><Account>123456789012"
					 "</Account><Arn>"), 0);
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(ob_buf_putc(&b, 'a'), 0);
	ck_assert_int_eq(ob_buf_puts(&b, "</Arn><UserId>"), 0);
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(ob_buf_putc(&b, 'u'), 0);
	ck_assert_int_eq(ob_buf_puts(&b, "</UserId></GetCallerIdentityResult></R>"), 0);
	ob_http_fake_push(&fake, 200, b.data, NULL);
	ck_assert_int_eq(ob_sts_get_caller_identity(aws, &id, &err), 0);
	ck_assert_uint_eq(strlen(id.arn), sizeof(id.arn) - 1);
	ck_assert_uint_eq(strlen(id.user_id), sizeof(id.user_id) - 1);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_sts_aws_error)
{
	static const char doc[] =
		"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
		"<Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security "
		"token included in the request is invalid.</Message></Error>"
		"<RequestId>4f3a</RequestId></ErrorResponse>";
	struct ob_sts_identity id;
	struct ob_error err;

	ob_http_fake_push(&fake, 403, doc, NULL);
	ck_assert_int_eq(ob_sts_get_caller_identity(aws, &id, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_str_eq(err.aws_code, "InvalidClientTokenId");
	ck_assert_str_eq(err.request_id, "4f3a");
	ck_assert_uint_eq(fake.n_records, 1);
}
END_TEST

/* ==== SQS =================================================================== */

static void md5_hex(const char *s, size_t n, char out[33])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	ck_assert_int_eq(EVP_Digest(s, n, md, &len, EVP_md5(), NULL), 1);
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * len] = '\0';
}

/* One well-formed message entry with a correct MD5OfBody. */
static json_t *message(const char *id, const char *body)
{
	char md5[33];
	char rh[64];

	md5_hex(body, strlen(body), md5);
	snprintf(rh, sizeof(rh), "rh-%s", id);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "MessageId", id,
			 "ReceiptHandle", rh, "MD5OfBody", md5, "Body", body, "Attributes",
			 "ApproximateReceiveCount", "1", "SentTimestamp", "1795373392831");
}

/* Queue {"Messages": msgs} (stolen) as the next answer. */
static void push_messages(json_t *msgs)
{
	json_t *doc = json_pack("{s:o}", "Messages", msgs);
	char *text = json_dumps(doc, JSON_COMPACT);

	ck_assert_ptr_nonnull(text);
	ob_http_fake_push(&fake, 200, text, NULL);
	free(text);
	json_decref(doc);
}

START_TEST(test_sqs_receive_corpus)
{
	struct ob_sqs_batch b;
	struct ob_error err;
	json_t *sent;
	char *doc = ob_test_load_response("sqs_receive_message.json", NULL);
	static const char body1[] = "caf\xc3\xa9 \xe2\x9c\x93 \"quoted\"\n";

	ob_http_fake_push(&fake, 200, doc, NULL);
	ck_assert_msg(ob_sqs_receive(aws, QUEUE, 10, 20, 300, &b, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(b.n, 2);
	ck_assert_uint_eq(b.n_malformed, 0);
	ck_assert_str_eq(b.msgs[0].message_id, "aaa312e3-6b92-4f6a-9367-78f85a51313b");
	ck_assert_str_eq(b.msgs[0].body, "{\"action\":\"backup\",\"snapshot\":\"orders-db-2026-11-22\"}");
	ck_assert_uint_eq(b.msgs[0].body_len, strlen(b.msgs[0].body));
	ck_assert_int_eq(strncmp(b.msgs[0].receipt_handle, "otznusgkbbalyufu", 16), 0);
	ck_assert(b.msgs[0].md5_ok);
	ck_assert_int_eq(b.msgs[0].receive_count, 2);
	ck_assert_int_eq(b.msgs[0].sent_ms, 1795373392831LL);
	ck_assert_str_eq(b.msgs[1].message_id, "8e8c0844-e63d-4e0a-b5bf-61b121f25539");
	ck_assert_str_eq(b.msgs[1].body, body1);
	ck_assert_uint_eq(b.msgs[1].body_len, sizeof(body1) - 1);
	ck_assert(b.msgs[1].md5_ok);
	ck_assert_int_eq(b.msgs[1].sent_ms, 1795373392833LL);

	/* what was asked */
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_str_eq(fake.records[0].url, "https://sqs." REGION ".amazonaws.com/");
	ck_assert_str_eq(hdr(0, "X-Amz-Target"), "AmazonSQS.ReceiveMessage");
	ck_assert_str_eq(hdr(0, "Content-Type"), "application/x-amz-json-1.0");
	sent = json_loads(sent_body(0), 0, NULL);
	ck_assert_ptr_nonnull(sent);
	ck_assert_str_eq(json_string_value(json_object_get(sent, "QueueUrl")), QUEUE);
	ck_assert_int_eq(json_integer_value(json_object_get(sent, "MaxNumberOfMessages")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(sent, "WaitTimeSeconds")), 20);
	ck_assert_int_eq(json_integer_value(json_object_get(sent, "VisibilityTimeout")), 300);
	ck_assert_ptr_nonnull(strstr(sent_body(0), "\"ApproximateReceiveCount\""));
	ck_assert_ptr_nonnull(strstr(sent_body(0), "\"SentTimestamp\""));
	json_decref(sent);
	ob_sqs_batch_clear(&b);
	ck_assert_ptr_null(b.msgs);
	ck_assert_uint_eq(b.n, 0);
	ob_sqs_batch_clear(&b);
	ob_sqs_batch_clear(NULL);
	free(doc);
}
END_TEST

/* visibility 0 keeps the queue's own timeout: the key is not sent. */
START_TEST(test_sqs_receive_default_visibility)
{
	struct ob_sqs_batch b;
	struct ob_error err;
	json_t *sent;

	ob_http_fake_push(&fake, 200, "{}", NULL);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 1, 0, 0, &b, &err), 0);
	sent = json_loads(sent_body(0), 0, NULL);
	ck_assert_ptr_null(json_object_get(sent, "VisibilityTimeout"));
	ck_assert_int_eq(json_integer_value(json_object_get(sent, "MaxNumberOfMessages")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(sent, "WaitTimeSeconds")), 0);
	json_decref(sent);
	ob_sqs_batch_clear(&b);
}
END_TEST

START_TEST(test_sqs_md5_tampered)
{
	struct ob_sqs_batch b;
	struct ob_error err;
	char *orig = ob_test_load_response("sqs_receive_message.json", NULL);
	json_t *doc, *msgs, *m;

	doc = json_loads(orig, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	msgs = json_object_get(doc, "Messages");
	/* one byte changed in the first body; second body's MD5 removed */
	m = json_array_get(msgs, 0);
	json_object_set_new(m, "Body",
			    json_string("{\"action\":\"backup\",\"snapshot\":\"orders-db-2026-11-23\"}"));
	json_object_del(json_array_get(msgs, 1), "MD5OfBody");
	json_array_append_new(msgs, message("m3", "intact"));
	/* an MD5 of the wrong form */
	m = message("m4", "hello");
	json_object_set_new(m, "MD5OfBody", json_string("5D41402ABC4B2A76B9719D911017C592"));
	json_array_append_new(msgs, m);
	m = message("m5", "hello");
	json_object_set_new(m, "MD5OfBody", json_integer(5));
	json_array_append_new(msgs, m);
	push_messages(json_incref(msgs));
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 0, 0, &b, &err), 0);
	ck_assert_uint_eq(b.n, 5);
	ck_assert(!b.msgs[0].md5_ok);
	ck_assert(!b.msgs[1].md5_ok);
	ck_assert(b.msgs[2].md5_ok);
	ck_assert_str_eq(b.msgs[2].body, "intact");
	ck_assert(!b.msgs[3].md5_ok);
	ck_assert(!b.msgs[4].md5_ok);
	ob_sqs_batch_clear(&b);
	json_decref(doc);
	free(orig);
}
END_TEST

START_TEST(test_sqs_empty_answers)
{
	static const char *const ok[] = {
		"{}", "", "{\"Messages\": []}", "{\"Messages\": null}",
	};
	struct ob_sqs_batch b;
	struct ob_error err;
	size_t i;
	char *doc = ob_test_load_response("sqs_receive_message_empty.json", NULL);

	ob_http_fake_push(&fake, 200, doc, NULL);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 20, 0, &b, &err), 0);
	ck_assert_uint_eq(b.n, 0);
	ob_sqs_batch_clear(&b);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ob_http_fake_push(&fake, 200, ok[i], NULL);
		ck_assert_msg(ob_sqs_receive(aws, QUEUE, 10, 20, 0, &b, &err) == 0, "%s: %s",
			      ok[i], err.message);
		ck_assert_uint_eq(b.n, 0);
		ck_assert_uint_eq(b.n_malformed, 0);
		ob_sqs_batch_clear(&b);
	}
	free(doc);
}
END_TEST

static const char *const sqs_bad_shapes[] = {
	"{\"Messages\": {}}",
	"{\"Messages\": \"m\"}",
	"{\"Messages\": 5}",
	"{\"Messages\": true}",
	"[]",
	"not json",
	"{\"Messages\": [",
};

START_TEST(test_sqs_bad_shapes)
{
	struct ob_sqs_batch b;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, sqs_bad_shapes[_i], NULL);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 20, 0, &b, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_ptr_null(b.msgs);
	ck_assert_uint_eq(fake.n_records, 1);
}
END_TEST

START_TEST(test_sqs_malformed_entries)
{
	struct ob_sqs_batch b;
	struct ob_error err;
	json_t *msgs = json_array(), *m;

	json_array_append_new(msgs, message("good-1", "one"));
	m = message("no-rh", "x");
	json_object_del(m, "ReceiptHandle");
	json_array_append_new(msgs, m);
	m = message("empty-rh", "x");
	json_object_set_new(m, "ReceiptHandle", json_string(""));
	json_array_append_new(msgs, m);
	m = message("int-id", "x");
	json_object_set_new(m, "MessageId", json_integer(7));
	json_array_append_new(msgs, m);
	m = message("no-body", "x");
	json_object_del(m, "Body");
	json_array_append_new(msgs, m);
	m = message("null-rh", "x");
	json_object_set_new(m, "ReceiptHandle", json_null());
	json_array_append_new(msgs, m);
	json_array_append_new(msgs, json_integer(42));
	json_array_append_new(msgs, json_string("message"));
	m = message("bad-attrs", "two");
	json_object_set_new(m, "Attributes", json_string("ApproximateReceiveCount=5"));
	json_array_append_new(msgs, m);
	m = message("bad-count", "three");
	json_object_set_new(json_object_get(m, "Attributes"), "ApproximateReceiveCount",
			    json_string("-3"));
	json_object_set_new(json_object_get(m, "Attributes"), "SentTimestamp",
			    json_string("12abc"));
	json_array_append_new(msgs, m);
	push_messages(msgs);

	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 0, 0, &b, &err), 0);
	ck_assert_uint_eq(b.n, 3);
	ck_assert_uint_eq(b.n_malformed, 7);
	ck_assert_str_eq(b.msgs[0].message_id, "good-1");
	ck_assert_str_eq(b.msgs[0].receipt_handle, "rh-good-1");
	ck_assert_int_eq(b.msgs[0].receive_count, 1);
	ck_assert_str_eq(b.msgs[1].message_id, "bad-attrs");
	ck_assert_int_eq(b.msgs[1].receive_count, 0);
	ck_assert_int_eq(b.msgs[1].sent_ms, 0);
	ck_assert_str_eq(b.msgs[2].message_id, "bad-count");
	ck_assert_int_eq(b.msgs[2].receive_count, 0);
	ck_assert_int_eq(b.msgs[2].sent_ms, 0);
	ck_assert(b.msgs[2].md5_ok);
	ob_sqs_batch_clear(&b);
}
END_TEST

START_TEST(test_sqs_too_many_entries)
{
	struct ob_sqs_batch b;
	struct ob_error err;
	json_t *msgs = json_array();
	char id[16];
	int i;

	for (i = 0; i < 11; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		json_array_append_new(msgs, message(id, "x"));
	}
	push_messages(msgs);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 0, 0, &b, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_ptr_null(b.msgs);
}
END_TEST

/* A body over SQS's own 256 KiB limit is dropped; one at the limit is not. */
START_TEST(test_sqs_body_size_limit)
{
	struct ob_sqs_batch b;
	struct ob_error err;
	json_t *msgs = json_array();
	char *big = malloc(OB_SQS_MAX_BODY + 2);

	ck_assert_ptr_nonnull(big);
	memset(big, 'b', OB_SQS_MAX_BODY + 1);
	big[OB_SQS_MAX_BODY + 1] = '\0';
	json_array_append_new(msgs, message("over", big));
	big[OB_SQS_MAX_BODY] = '\0';
	json_array_append_new(msgs, message("at-limit", big));
	push_messages(msgs);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 0, 0, &b, &err), 0);
	ck_assert_uint_eq(b.n, 1);
	ck_assert_uint_eq(b.n_malformed, 1);
	ck_assert_str_eq(b.msgs[0].message_id, "at-limit");
	ck_assert_uint_eq(b.msgs[0].body_len, OB_SQS_MAX_BODY);
	ck_assert(b.msgs[0].md5_ok);
	ob_sqs_batch_clear(&b);
	free(big);
}
END_TEST

/* SQS never sends NUL (its message character set excludes it), so an
 * answer carrying \u0000 is not SQS talking: refused as a whole. */
START_TEST(test_sqs_body_with_nul)
{
	static const char doc[] =
		"{\"Messages\":[{\"MessageId\":\"n\",\"ReceiptHandle\":\"r\","
		"\"MD5OfBody\":\"x\",\"Body\":\"a\\u0000b\"}]}";
	struct ob_sqs_batch b;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, doc, NULL);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 0, 0, &b, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_ptr_null(b.msgs);
}
END_TEST

static const struct {
	int max, wait, vis;
} sqs_bad_params[] = {
	{ 0, 0, 0 }, { 11, 0, 0 }, { -1, 0, 0 }, { 10, -1, 0 }, { 10, 21, 0 },
	{ 10, 20, -1 }, { 10, 20, 43201 },
};

START_TEST(test_sqs_param_ranges)
{
	struct ob_sqs_batch b;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, "{}", NULL);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, sqs_bad_params[_i].max,
					sqs_bad_params[_i].wait, sqs_bad_params[_i].vis, &b,
					&err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_uint_eq(fake.n_records, 0);
	ck_assert_uint_eq(b.n, 0);
}
END_TEST

START_TEST(test_sqs_param_bounds_ok)
{
	struct ob_sqs_batch b;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, "{}", NULL);
	ob_http_fake_push(&fake, 200, "{}", NULL);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 1, 0, 0, &b, &err), 0);
	ob_sqs_batch_clear(&b);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 20, 43200, &b, &err), 0);
	ob_sqs_batch_clear(&b);
	ck_assert_uint_eq(fake.n_records, 2);
}
END_TEST

START_TEST(test_sqs_aws_error)
{
	struct ob_sqs_batch b;
	struct ob_error err;
	char *doc = ob_test_load_response("sqs_error_queue_does_not_exist.json", NULL);

	ob_http_fake_push(&fake, 400, doc, NULL);
	ck_assert_int_eq(ob_sqs_receive(aws, QUEUE, 10, 20, 0, &b, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_str_eq(err.aws_code, "QueueDoesNotExist");
	ck_assert_uint_eq(b.n, 0);
	ck_assert_uint_eq(fake.n_records, 1);
	free(doc);
}
END_TEST

START_TEST(test_sqs_delete)
{
	struct ob_error err;

	ob_http_fake_push(&fake, 200, "{}", NULL);
	ck_assert_int_eq(ob_sqs_delete(aws, QUEUE, "rh/+=\"1\"", &err), 0);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_str_eq(hdr(0, "X-Amz-Target"), "AmazonSQS.DeleteMessage");
	ck_assert_str_eq(sent_body(0),
			 "{\"QueueUrl\":\"" QUEUE "\",\"ReceiptHandle\":\"rh/+=\\\"1\\\"\"}");
	ob_http_fake_push(&fake, 400, "{\"__type\":\"com.amazonaws.sqs#ReceiptHandleIsInvalid\","
			  "\"message\":\"bad handle\"}", NULL);
	ck_assert_int_eq(ob_sqs_delete(aws, QUEUE, "x", &err), -1);
	ck_assert_str_eq(err.aws_code, "ReceiptHandleIsInvalid");
}
END_TEST

START_TEST(test_sqs_change_visibility)
{
	struct ob_error err;

	ob_http_fake_push(&fake, 200, "{}", NULL);
	ob_http_fake_push(&fake, 200, "{}", NULL);
	ob_http_fake_push(&fake, 200, "{}", NULL);
	ck_assert_int_eq(ob_sqs_change_visibility(aws, QUEUE, "rh-1", 120, &err), 0);
	ck_assert_str_eq(hdr(0, "X-Amz-Target"), "AmazonSQS.ChangeMessageVisibility");
	ck_assert_str_eq(sent_body(0), "{\"QueueUrl\":\"" QUEUE "\",\"ReceiptHandle\":\"rh-1\","
				       "\"VisibilityTimeout\":120}");
	ck_assert_int_eq(ob_sqs_change_visibility(aws, QUEUE, "rh-1", 0, &err), 0);
	ck_assert_int_eq(ob_sqs_change_visibility(aws, QUEUE, "rh-1", 43200, &err), 0);
	ck_assert_str_eq(sent_body(2), "{\"QueueUrl\":\"" QUEUE "\",\"ReceiptHandle\":\"rh-1\","
				       "\"VisibilityTimeout\":43200}");
	ck_assert_int_eq(ob_sqs_change_visibility(aws, QUEUE, "rh-1", -1, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_int_eq(ob_sqs_change_visibility(aws, QUEUE, "rh-1", 43201, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_uint_eq(fake.n_records, 3);
}
END_TEST

/* ==== RDS =================================================================== */

#define RDS_HEAD                                                                 \
	"<DescribeDBSnapshotsResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">" \
	"<DescribeDBSnapshotsResult><DBSnapshots>"
#define RDS_TAIL                                                                 \
	"</DBSnapshots></DescribeDBSnapshotsResult><ResponseMetadata><RequestId>r"  \
	"</RequestId></ResponseMetadata></DescribeDBSnapshotsResponse>"
#define SNAP_MIN "<DBSnapshotIdentifier>s1</DBSnapshotIdentifier><Status>available</Status>"

static const struct ob_rds_snapshot *find(const struct ob_rds_snapshot_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->items[i].id, id) == 0)
			return &l->items[i];
	ck_abort_msg("snapshot %s not in the list", id);
	return NULL;
}

START_TEST(test_rds_describe_corpus)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	const struct ob_rds_snapshot *s;
	struct ob_error err;
	char *doc = ob_test_load_response("rds_describe_db_snapshots.xml", NULL);

	q.db_id = "orders-db";
	ob_http_fake_push(&fake, 200, doc, NULL);
	ck_assert_msg(ob_rds_describe_db_snapshots(aws, &q, &l, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_str_eq(fake.records[0].url, "https://rds." REGION ".amazonaws.com/");
	ck_assert_str_eq(sent_body(0), "Action=DescribeDBSnapshots&Version=2014-10-31"
				       "&DBInstanceIdentifier=orders-db&MaxRecords=100");

	s = find(&l, "orders-db-2026-11-22");
	ck_assert_str_eq(s->arn, "arn:aws:rds:eu-central-1:123456789012:snapshot:orders-db-2026-11-22");
	ck_assert_str_eq(s->db_id, "orders-db");
	ck_assert_str_eq(s->status, "available");
	ck_assert_str_eq(s->snapshot_type, "manual");
	ck_assert_str_eq(s->engine, "postgres");
	ck_assert_str_eq(s->engine_version, "16.3");
	ck_assert_str_eq(s->kms_key_id, KMS_KEY);
	ck_assert_str_eq(s->source_snapshot, "");
	ck_assert(s->encrypted);
	ck_assert_int_eq(s->allocated_storage, 20);
	ck_assert_int_eq(s->percent_progress, 0);
	ck_assert_int_eq(s->create_time, 1795373392);
	ck_assert_uint_eq(s->n_tags, 2);
	ck_assert_str_eq(s->tags[0].key, "offsite-backup");
	ck_assert_str_eq(s->tags[0].value, "yes");
	ck_assert_str_eq(ob_rds_snapshot_tag(s, "team"), "payments & <ops>");
	ck_assert_ptr_null(ob_rds_snapshot_tag(s, "absent"));
	ck_assert_ptr_null(ob_rds_snapshot_tag(s, "Team"));

	s = find(&l, "rds:orders-db-2026-11-22-18-49");
	ck_assert_str_eq(s->snapshot_type, "automated");
	ck_assert_uint_eq(s->n_tags, 0);
	ck_assert_ptr_null(ob_rds_snapshot_tag(s, "team"));
	ob_rds_snapshot_list_clear(&l);
	ck_assert_uint_eq(l.n, 0);
	ob_rds_snapshot_list_clear(&l);
	ob_rds_snapshot_list_clear(NULL);
	free(doc);
}
END_TEST

/* Fields moto leaves out: progress, source snapshot, unencrypted. */
START_TEST(test_rds_describe_more_fields)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;

	ob_http_fake_push(&fake, 200,
			  RDS_HEAD "<DBSnapshot><DBSnapshotIdentifier>copy-1</DBSnapshotIdentifier>"
			  "<Status>creating</Status><PercentProgress>42</PercentProgress>"
			  "<SourceDBSnapshotIdentifier>arn:aws:rds:eu-central-1:111111111111:"
			  "snapshot:src</SourceDBSnapshotIdentifier><Encrypted>false</Encrypted>"
			  "<AllocatedStorage>1073741824</AllocatedStorage>"
			  "<SnapshotCreateTime>2026-11-22T18:49:52+01:00</SnapshotCreateTime>"
			  "</DBSnapshot>" RDS_TAIL, NULL);
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.items[0].status, "creating");
	ck_assert_int_eq(l.items[0].percent_progress, 42);
	ck_assert_str_eq(l.items[0].source_snapshot,
			 "arn:aws:rds:eu-central-1:111111111111:snapshot:src");
	ck_assert(!l.items[0].encrypted);
	ck_assert_int_eq(l.items[0].allocated_storage, 1073741824L);
	ck_assert_int_eq(l.items[0].create_time, 1795373392 - 3600);
	ck_assert_str_eq(l.items[0].arn, "");
	ck_assert_str_eq(l.items[0].kms_key_id, "");
	ob_rds_snapshot_list_clear(&l);
}
END_TEST

START_TEST(test_rds_paging)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;
	char *p1 = ob_test_load_response("rds_describe_db_snapshots_page1.xml", NULL);
	char *p2 = ob_test_load_response("rds_describe_db_snapshots_page2.xml", NULL);

	q.snapshot_type = "manual";
	ob_http_fake_push(&fake, 200, p1, NULL);
	ob_http_fake_push(&fake, 200, p2, NULL);
	ck_assert_msg(ob_rds_describe_db_snapshots(aws, &q, &l, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.items[0].id, "rds:orders-db-2026-11-22-18-49");
	ck_assert_str_eq(l.items[1].id, "orders-db-2026-11-22");
	ck_assert_str_eq(l.items[2].id, "orders-db-2026-11-23");
	ck_assert_uint_eq(l.items[1].n_tags, 2);
	ck_assert_str_eq(sent_body(0), "Action=DescribeDBSnapshots&Version=2014-10-31"
				       "&SnapshotType=manual&MaxRecords=100");
	ck_assert_str_eq(sent_body(1), "Action=DescribeDBSnapshots&Version=2014-10-31"
				       "&SnapshotType=manual&MaxRecords=100"
				       "&Marker=c25hcHNob3QtbWFya2VyLTI%3D");
	ob_rds_snapshot_list_clear(&l);
	free(p1);
	free(p2);
}
END_TEST

START_TEST(test_rds_marker_not_advancing)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;
	char *p1 = ob_test_load_response("rds_describe_db_snapshots_page1.xml", NULL);
	size_t i;

	for (i = 0; i < 5; i++)
		ob_http_fake_push(&fake, 200, p1, NULL);
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.items);
	free(p1);
}
END_TEST

/* An error on a later page returns no partial list. */
START_TEST(test_rds_error_on_page_two)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;
	char *p1 = ob_test_load_response("rds_describe_db_snapshots_page1.xml", NULL);
	char *nf = ob_test_load_response("rds_error_db_snapshot_not_found.xml", NULL);

	ob_http_fake_push(&fake, 200, p1, NULL);
	ob_http_fake_push(&fake, 404, nf, NULL);
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_str_eq(err.aws_code, "DBSnapshotNotFound");
	ck_assert_int_eq(err.http_status, 404);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.items);
	free(p1);
	free(nf);
}
END_TEST

static const struct {
	const char *snapshot; /* inner XML of the one DBSnapshot */
	int ok;
} rds_rows[] = {
	{ SNAP_MIN, 1 },
	{ SNAP_MIN "<AllocatedStorage>0</AllocatedStorage>", 1 },
	{ SNAP_MIN "<PercentProgress>100</PercentProgress>", 1 },
	{ SNAP_MIN "<PercentProgress>0</PercentProgress>", 1 },
	{ SNAP_MIN "<SnapshotCreateTime></SnapshotCreateTime>", 1 },
	{ SNAP_MIN "<AllocatedStorage>abc</AllocatedStorage>", 0 },
	{ SNAP_MIN "<AllocatedStorage>20GB</AllocatedStorage>", 0 },
	{ SNAP_MIN "<AllocatedStorage></AllocatedStorage>", 0 },
	{ SNAP_MIN "<AllocatedStorage>-1</AllocatedStorage>", 0 },
	{ SNAP_MIN "<AllocatedStorage>99999999999999999999999</AllocatedStorage>", 0 },
	{ SNAP_MIN "<AllocatedStorage>1073741825</AllocatedStorage>", 0 },
	{ SNAP_MIN "<PercentProgress>101</PercentProgress>", 0 },
	{ SNAP_MIN "<PercentProgress>-1</PercentProgress>", 0 },
	{ SNAP_MIN "<PercentProgress>50.5</PercentProgress>", 0 },
	{ SNAP_MIN "<SnapshotCreateTime>yesterday</SnapshotCreateTime>", 0 },
	{ SNAP_MIN "<SnapshotCreateTime>2026-02-30T00:00:00Z</SnapshotCreateTime>", 0 },
	{ SNAP_MIN "<SnapshotCreateTime>2026-11-22T18:49:52</SnapshotCreateTime>", 0 },
	{ "<Status>available</Status>", 0 },                        /* no identifier */
	{ "<DBSnapshotIdentifier></DBSnapshotIdentifier><Status>available</Status>", 0 },
	{ "<DBSnapshotIdentifier>s1</DBSnapshotIdentifier>", 0 },   /* no status */
};

START_TEST(test_rds_field_table)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_buf_printf(&b, RDS_HEAD "<DBSnapshot>%s</DBSnapshot>"
					   "<DBSnapshot>" SNAP_MIN "</DBSnapshot>" RDS_TAIL,
				       rds_rows[_i].snapshot), 0);
	ob_http_fake_push(&fake, 200, b.data, NULL);
	if (rds_rows[_i].ok) {
		ck_assert_msg(ob_rds_describe_db_snapshots(aws, &q, &l, &err) == 0, "%s",
			      err.message);
		ck_assert_uint_eq(l.n, 2);
		ck_assert_str_eq(l.items[0].id, "s1");
		ob_rds_snapshot_list_clear(&l);
	} else {
		ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_PARSE);
		ck_assert_uint_eq(l.n, 0);
		ck_assert_ptr_null(l.items);
	}
	ck_assert_uint_eq(fake.n_records, 1);
	ob_buf_clear(&b);
}
END_TEST

static char *tagged_doc(int n_tags)
{
	struct ob_buf b = OB_BUF_INIT;
	int i;

	ck_assert_int_eq(ob_buf_puts(&b, RDS_HEAD "<DBSnapshot>" SNAP_MIN "<TagList>"), 0);
	for (i = 0; i < n_tags; i++)
		ck_assert_int_eq(ob_buf_printf(&b, "<Tag><Key>k%d</Key><Value>v%d</Value></Tag>",
					       i, i), 0);
	ck_assert_int_eq(ob_buf_puts(&b, "</TagList></DBSnapshot>" RDS_TAIL), 0);
	return ob_buf_steal(&b);
}

START_TEST(test_rds_tag_limit)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;
	char *d50 = tagged_doc(50), *d51 = tagged_doc(51);

	ob_http_fake_push(&fake, 200, d50, NULL);
	ob_http_fake_push(&fake, 200, d51, NULL);
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), 0);
	ck_assert_uint_eq(l.items[0].n_tags, 50);
	ck_assert_str_eq(ob_rds_snapshot_tag(&l.items[0], "k49"), "v49");
	ob_rds_snapshot_list_clear(&l);
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_uint_eq(l.n, 0);
	free(d50);
	free(d51);
}
END_TEST

START_TEST(test_rds_request_parameters)
{
	static const char *const ids[] = { "orders-db-2026-11-22", "a b&c" };
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;

	q.snapshot_id = "arn:aws:rds:eu-central-1:123456789012:snapshot:x";
	q.include_shared = true;
	q.ids = ids;
	q.n_ids = 2;
	ob_http_fake_push(&fake, 200, RDS_HEAD RDS_TAIL, NULL);
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_str_eq(sent_body(0),
			 "Action=DescribeDBSnapshots&Version=2014-10-31"
			 "&DBSnapshotIdentifier=arn%3Aaws%3Ards%3Aeu-central-1%3A123456789012"
			 "%3Asnapshot%3Ax"
			 "&IncludeShared=true"
			 "&Filters.Filter.1.Name=db-snapshot-id"
			 "&Filters.Filter.1.Values.Value.1=orders-db-2026-11-22"
			 "&Filters.Filter.1.Values.Value.2=a%20b%26c"
			 "&MaxRecords=100");
	ob_rds_snapshot_list_clear(&l);
}
END_TEST

START_TEST(test_rds_too_many_ids)
{
	static const char *ids[101];
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;
	size_t i;

	for (i = 0; i < 101; i++)
		ids[i] = "x";
	q.ids = ids;
	q.n_ids = 101;
	ob_http_fake_push(&fake, 200, RDS_HEAD RDS_TAIL, NULL);
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_uint_eq(fake.n_records, 0);
	q.n_ids = 100;
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), 0);
	ck_assert_ptr_nonnull(strstr(sent_body(0), "&Filters.Filter.1.Values.Value.100=x&"));
	ob_rds_snapshot_list_clear(&l);
}
END_TEST

/* The parser on its own: wrong document, no list, empty list. */
START_TEST(test_rds_parse_shapes)
{
	static const struct {
		const char *xml;
		int rc;
		size_t n;
	} rows[] = {
		{ "<DescribeDBSnapshotsResponse/>", -1, 0 },
		{ "<CreateDBSnapshotResponse><CreateDBSnapshotResult/></CreateDBSnapshotResponse>", -1, 0 },
		{ "<R><DescribeDBSnapshotsResult/></R>", 0, 0 },
		{ RDS_HEAD RDS_TAIL, 0, 0 },
		{ RDS_HEAD "<Other>" SNAP_MIN "</Other>" RDS_TAIL, 0, 0 },
		{ RDS_HEAD "<DBSnapshot>" SNAP_MIN "</DBSnapshot>" RDS_TAIL, 0, 1 },
	};
	struct ob_rds_snapshot_list l = { 0 };
	struct ob_xml_doc *doc;
	struct ob_error err;
	const char *marker = "set";
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_int_eq(ob_xml_parse(rows[i].xml, strlen(rows[i].xml), &doc, &err), 0);
		ck_assert_int_eq(ob_rds_parse_db_snapshots(doc, &l, &marker, &err), rows[i].rc);
		if (rows[i].rc < 0)
			ck_assert_int_eq(err.kind, OB_ERR_PARSE);
		ck_assert_uint_eq(l.n, rows[i].n);
		ck_assert_ptr_null(marker);
		ob_rds_snapshot_list_clear(&l);
		ob_xml_free(doc);
	}
}
END_TEST

/* An empty <Marker/> means the last page. */
START_TEST(test_rds_empty_marker)
{
	struct ob_rds_describe q = { 0 };
	struct ob_rds_snapshot_list l;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, RDS_HEAD "<DBSnapshot>" SNAP_MIN "</DBSnapshot>"
			  "</DBSnapshots><Marker></Marker></DescribeDBSnapshotsResult>"
			  "</DescribeDBSnapshotsResponse>", NULL);
	ck_assert_int_eq(ob_rds_describe_db_snapshots(aws, &q, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(fake.n_records, 1);
	ob_rds_snapshot_list_clear(&l);
}
END_TEST

#define ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *ob_suite_clients(void)
{
	Suite *s = suite_create("clients");
	TCase *sts = tcase_create("sts");
	TCase *sqs = tcase_create("sqs");
	TCase *rds = tcase_create("rds");

	tcase_add_checked_fixture(sts, setup, teardown);
	tcase_add_test(sts, test_sts_identity);
	tcase_add_loop_test(sts, test_sts_bad_answers, 0, ROWS(sts_bad));
	tcase_add_test(sts, test_sts_inline_ok);
	tcase_add_test(sts, test_sts_long_fields_truncated);
	tcase_add_test(sts, test_sts_aws_error);
	suite_add_tcase(s, sts);

	tcase_add_checked_fixture(sqs, setup, teardown);
	tcase_add_test(sqs, test_sqs_receive_corpus);
	tcase_add_test(sqs, test_sqs_receive_default_visibility);
	tcase_add_test(sqs, test_sqs_md5_tampered);
	tcase_add_test(sqs, test_sqs_empty_answers);
	tcase_add_loop_test(sqs, test_sqs_bad_shapes, 0, ROWS(sqs_bad_shapes));
	tcase_add_test(sqs, test_sqs_malformed_entries);
	tcase_add_test(sqs, test_sqs_too_many_entries);
	tcase_add_test(sqs, test_sqs_body_size_limit);
	tcase_add_test(sqs, test_sqs_body_with_nul);
	tcase_add_loop_test(sqs, test_sqs_param_ranges, 0, ROWS(sqs_bad_params));
	tcase_add_test(sqs, test_sqs_param_bounds_ok);
	tcase_add_test(sqs, test_sqs_aws_error);
	tcase_add_test(sqs, test_sqs_delete);
	tcase_add_test(sqs, test_sqs_change_visibility);
	suite_add_tcase(s, sqs);

	tcase_add_checked_fixture(rds, setup, teardown);
	tcase_add_test(rds, test_rds_describe_corpus);
	tcase_add_test(rds, test_rds_describe_more_fields);
	tcase_add_test(rds, test_rds_paging);
	tcase_add_test(rds, test_rds_marker_not_advancing);
	tcase_add_test(rds, test_rds_error_on_page_two);
	tcase_add_loop_test(rds, test_rds_field_table, 0, ROWS(rds_rows));
	tcase_add_test(rds, test_rds_tag_limit);
	tcase_add_test(rds, test_rds_request_parameters);
	tcase_add_test(rds, test_rds_too_many_ids);
	tcase_add_test(rds, test_rds_parse_shapes);
	tcase_add_test(rds, test_rds_empty_marker);
	suite_add_tcase(s, rds);
	return s;
}
