/*
 * check_aws.c - the AWS request core through the recording fake transport
 * and a hand-driven clock: what a Query and a JSON 1.0 call put on the wire
 * (with the SigV4 signature recomputed here independently), the retry loop
 * (5xx, throttling, transport failures, exhaustion, backoff waits taken from
 * the injected clock), clock-skew and expired-token corrections, the stop
 * flag, both error document shapes against good and hostile input, and that
 * the secret key never leaves the signer.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check_ob.h"
#include "check_util.h"
#include "ob/aws.h"
#include "ob/creds.h"
#include "ob/private/http_fake.h"
#include "ob/retry.h"

#define AKID      "AKIDEXAMPLE"
#define SECRET    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define REGION    "eu-central-1"
#define T0_MS     1440938160000LL /* 2015-08-30T12:36:00Z */
#define T0_AMZ    "20150830T123600Z"
#define FORM_CT   "application/x-www-form-urlencoded; charset=utf-8"
#define JSON_CT   "application/x-amz-json-1.0"
#define RDS_URL   "https://rds." REGION ".amazonaws.com/"
#define SQS_URL   "https://sqs." REGION ".amazonaws.com/"
#define QUEUE     "https://sqs." REGION ".amazonaws.com/123456789012/ob-jobs"
#define RDS_AUTH_PREFIX                                                         \
	"AWS4-HMAC-SHA256 Credential=" AKID "/20150830/" REGION "/rds/aws4_request, " \
	"SignedHeaders=content-type;host;x-amz-date, Signature="

#define OK_XML                                                                  \
	"<DescribeDBSnapshotsResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">" \
	"<DescribeDBSnapshotsResult><DBSnapshots/></DescribeDBSnapshotsResult>"  \
	"<ResponseMetadata><RequestId>ok-1</RequestId></ResponseMetadata>"       \
	"</DescribeDBSnapshotsResponse>"

/* ---- corpus ---------------------------------------------------------------- */


/* ---- fixture: fake clock, deterministic jitter, spying transport ---------- */

static struct ob_http_fake fake;
static int64_t t_wall, t_mono;
static int64_t sleeps[OB_FAKE_MAX];
static size_t n_sleeps;
static int stop_on_sleep;          /* the "SIGTERM" arrives during a backoff */
static int stop_in_request;        /* ... or while a request is in flight */
static int interrupt_sleep_once;   /* a non-stop signal (SIGHUP) cuts a sleep */
static volatile sig_atomic_t stop_flag;
static uint32_t rnd_value;
static unsigned n_random;
static bool sent_plain_http[OB_FAKE_MAX];
static struct ob_creds_provider *creds;
static struct ob_aws *aws;

static int64_t t_now_ms(void *ctx)
{
	(void)ctx;
	return t_wall;
}

static int64_t t_mono_ms(void *ctx)
{
	(void)ctx;
	return t_mono;
}

static int t_sleep_ms(void *ctx, int64_t ms)
{
	(void)ctx;
	ck_assert_uint_lt(n_sleeps, OB_FAKE_MAX);
	sleeps[n_sleeps++] = ms;
	if (interrupt_sleep_once) {
		interrupt_sleep_once = 0;
		t_wall += ms / 2;
		t_mono += ms / 2;
		return -1;
	}
	t_wall += ms;
	t_mono += ms;
	if (stop_on_sleep) {
		stop_flag = 1;
		return -1;
	}
	return 0;
}

static const struct ob_clock tclock = { t_now_ms, t_mono_ms, t_sleep_ms, NULL };

static uint32_t t_random(void *ctx)
{
	(void)ctx;
	n_random++;
	return rnd_value;
}

/* The fake records method, URL, headers and body; this records the rest. */
static int spy_perform(void *ctx, const struct ob_http_request *req,
		       struct ob_http_response *resp, struct ob_error *err)
{
	struct ob_http_ops inner = ob_http_fake_ops(ctx);

	if (fake.n_records < OB_FAKE_MAX)
		sent_plain_http[fake.n_records] = req->allow_plain_http;
	if (stop_in_request)
		stop_flag = 1;
	return inner.perform(inner.ctx, req, resp, err);
}

static struct ob_aws_options base_options(const char *endpoint_url)
{
	struct ob_aws_options o;

	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.endpoint_url = endpoint_url;
	o.http.perform = spy_perform;
	o.http.ctx = &fake;
	o.clock = &tclock;
	o.creds = creds;
	o.random = t_random;
	o.stop = &stop_flag;
	return o;
}

static void make_aws(const struct ob_aws_options *o)
{
	struct ob_error err;

	ob_aws_free(aws);
	aws = ob_aws_new(o, &err);
	ck_assert_msg(aws != NULL, "ob_aws_new: %s", err.message);
}

static void setup(void)
{
	struct ob_creds_options co;
	struct ob_aws_options o;
	struct ob_error err;

	ob_http_fake_init(&fake);
	t_wall = T0_MS;
	t_mono = 1000000;
	n_sleeps = 0;
	stop_on_sleep = 0;
	stop_in_request = 0;
	interrupt_sleep_once = 0;
	stop_flag = 0;
	rnd_value = 0x80000000u;
	n_random = 0;
	memset(sent_plain_http, 0, sizeof(sent_plain_http));
	memset(&co, 0, sizeof(co));
	co.source = OB_CREDS_STATIC;
	co.access_key_id = AKID;
	co.secret_access_key = SECRET;
	co.clock = &tclock;
	creds = ob_creds_provider_new(&co, &err);
	ck_assert_msg(creds != NULL, "creds: %s", err.message);
	aws = NULL;
	o = base_options(NULL);
	make_aws(&o);
}

static void teardown(void)
{
	ob_aws_free(aws);
	aws = NULL;
	ob_creds_provider_free(creds);
	creds = NULL;
	ob_http_fake_clear(&fake);
}

/* ---- helpers --------------------------------------------------------------- */

static const char *hdr(size_t i, const char *name)
{
	static char out[8][2048];
	static int k;
	char *o = out[k++ % 8];

	return ob_http_fake_header(&fake, i, name, o, sizeof(out[0]));
}

static const char *sent_body(size_t i)
{
	ck_assert_uint_lt(i, fake.n_records);
	return fake.records[i].body.data ? fake.records[i].body.data : "";
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	ck_assert_int_eq(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
	hex(md, len, out);
}

static void hmac256(const unsigned char *key, size_t klen, const char *msg,
		    unsigned char out[32])
{
	unsigned int len = 32;

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
				   strlen(msg), out, &len));
	ck_assert_uint_eq(len, 32);
}

/* Recompute request i's SigV4 signature from what was recorded, by the
 * book (AWS General Reference, "Create a signed AWS API request"), and
 * compare the whole Authorization value. signed_headers is the expected
 * SignedHeaders list, so a header left out of (or added to) the signature
 * fails here too. */
static void assert_signed(size_t i, const char *service, const char *signed_headers,
			  const char *akid, const char *secret)
{
	struct ob_buf creq = OB_BUF_INIT, sts = OB_BUF_INIT;
	char body_hash[65], creq_hash[65], sig[65], date8[9], want[1024], name[64];
	const char *amz_date = hdr(i, "X-Amz-Date"), *auth = hdr(i, "Authorization");
	const char *url = fake.records[i].url, *path, *h, *semi;
	unsigned char k[32], k2[32];
	char key0[300];

	ck_assert_ptr_nonnull(amz_date);
	ck_assert_ptr_nonnull(auth);
	ck_assert_uint_eq(strlen(amz_date), 16);
	memcpy(date8, amz_date, 8);
	date8[8] = '\0';
	path = strstr(url, "://");
	ck_assert_ptr_nonnull(path);
	path = strchr(path + 3, '/');
	ck_assert_ptr_nonnull(path);

	ck_assert_int_eq(ob_buf_printf(&creq, "%s\n%s\n\n", fake.records[i].method, path), 0);
	for (h = signed_headers; *h; h = *semi ? semi + 1 : semi) {
		const char *v;

		semi = h + strcspn(h, ";");
		snprintf(name, sizeof(name), "%.*s", (int)(semi - h), h);
		v = hdr(i, name);
		ck_assert_msg(v != NULL, "request %zu: signed header %s not sent", i, name);
		ck_assert_int_eq(ob_buf_printf(&creq, "%s:%s\n", name, v), 0);
	}
	sha256_hex(fake.records[i].body.data ? fake.records[i].body.data : "",
		   fake.records[i].body.len, body_hash);
	ck_assert_int_eq(ob_buf_printf(&creq, "\n%s\n%s", signed_headers, body_hash), 0);
	sha256_hex(creq.data, creq.len, creq_hash);
	ck_assert_int_eq(ob_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
				       amz_date, date8, REGION, service, creq_hash), 0);
	snprintf(key0, sizeof(key0), "AWS4%s", secret);
	hmac256((const unsigned char *)key0, strlen(key0), date8, k);
	hmac256(k, 32, REGION, k2);
	hmac256(k2, 32, service, k);
	hmac256(k, 32, "aws4_request", k2);
	hmac256(k2, 32, sts.data, k);
	hex(k, 32, sig);
	snprintf(want, sizeof(want),
		 "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
		 "Signature=%s", akid, date8, REGION, service, signed_headers, sig);
	ck_assert_str_eq(auth, want);
	ob_buf_clear(&creq);
	ob_buf_clear(&sts);
}

static void rds_params(struct ob_aws_params *p)
{
	ob_aws_params_init(p, "DescribeDBSnapshots", "2014-10-31");
}

/* One Query call to rds; returns its result and frees the document. */
static int call_rds(struct ob_error *err)
{
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	int rc;

	rds_params(&p);
	rc = ob_aws_query(aws, "rds", &p, &doc, err);
	if (rc == 0)
		ck_assert_ptr_nonnull(doc);
	else
		ck_assert_ptr_null(doc);
	ob_xml_free(doc);
	ob_aws_params_clear(&p);
	return rc;
}

/* Nothing that was sent, nor the error, carries the secret key. */
static void assert_no_secret(const struct ob_error *err, const char *secret)
{
	size_t i;

	for (i = 0; i < fake.n_records; i++) {
		ck_assert_ptr_null(strstr(fake.records[i].url, secret));
		if (fake.records[i].headers.data != NULL)
			ck_assert_ptr_null(strstr(fake.records[i].headers.data, secret));
		if (fake.records[i].body.data != NULL)
			ck_assert_ptr_null(strstr(fake.records[i].body.data, secret));
	}
	if (err != NULL) {
		ck_assert_ptr_null(strstr(err->message, secret));
		ck_assert_ptr_null(strstr(err->aws_code, secret));
		ck_assert_ptr_null(strstr(err->request_id, secret));
	}
}

/* ---- (1) the Query request ------------------------------------------------- */

START_TEST(test_query_request_default_endpoint)
{
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	struct ob_aws_stats st;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ob_aws_params_init(&p, "DescribeDBSnapshots", "2014-10-31");
	ob_aws_param(&p, "DBSnapshotIdentifier", "a b/c&d=e~");
	ob_aws_paramf(&p, "db-snapshot-id", "Filters.Filter.%d.Name", 1);
	ck_assert_int_eq(ob_aws_query(aws, "rds", &p, &doc, &err), 0);
	ck_assert_str_eq(ob_xml_name(ob_xml_root(doc)), "DescribeDBSnapshotsResponse");

	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_str_eq(fake.records[0].method, "POST");
	ck_assert_str_eq(fake.records[0].url, RDS_URL);
	ck_assert_str_eq(ob_aws_endpoint(aws, "rds"), RDS_URL);
	ck_assert(!sent_plain_http[0]);
	ck_assert_str_eq(hdr(0, "Host"), "rds." REGION ".amazonaws.com");
	ck_assert_str_eq(hdr(0, "Content-Type"), FORM_CT);
	ck_assert_str_eq(hdr(0, "X-Amz-Date"), T0_AMZ);
	ck_assert_ptr_null(hdr(0, "X-Amz-Target"));
	ck_assert_ptr_null(hdr(0, "X-Amz-Security-Token"));
	ck_assert_str_eq(sent_body(0), "Action=DescribeDBSnapshots&Version=2014-10-31"
				       "&DBSnapshotIdentifier=a%20b%2Fc%26d%3De~"
				       "&Filters.Filter.1.Name=db-snapshot-id");
	ck_assert_int_eq(strncmp(hdr(0, "Authorization"), RDS_AUTH_PREFIX,
				 strlen(RDS_AUTH_PREFIX)), 0);
	ck_assert_uint_eq(strlen(hdr(0, "Authorization")), strlen(RDS_AUTH_PREFIX) + 64);
	assert_signed(0, "rds", "content-type;host;x-amz-date", AKID, SECRET);

	ob_aws_get_stats(aws, &st);
	ck_assert_uint_eq(st.calls, 1);
	ck_assert_uint_eq(st.attempts, 1);
	ck_assert_uint_eq(st.retries, 0);
	ck_assert_uint_eq(n_sleeps, 0);
	ob_xml_free(doc);
	ob_aws_params_clear(&p);
}
END_TEST

START_TEST(test_query_request_endpoint_url)
{
	static const char *const urls[] = { "http://127.0.0.1:5000", "http://127.0.0.1:5000/" };
	struct ob_aws_options o;
	struct ob_error err;
	size_t i;

	for (i = 0; i < 2; i++) {
		o = base_options(urls[i]);
		make_aws(&o);
		ob_http_fake_push(&fake, 200, OK_XML, NULL);
		ck_assert_int_eq(call_rds(&err), 0);
		ck_assert_str_eq(fake.records[i].url, "http://127.0.0.1:5000/");
		ck_assert(sent_plain_http[i]);
		ck_assert_str_eq(hdr(i, "Host"), "127.0.0.1:5000");
		assert_signed(i, "rds", "content-type;host;x-amz-date", AKID, SECRET);
		/* one endpoint for every service */
		ck_assert_str_eq(ob_aws_endpoint(aws, "sqs"), "http://127.0.0.1:5000/");
	}
}
END_TEST

START_TEST(test_endpoints_per_service)
{
	const char *a;

	ck_assert_str_eq(ob_aws_endpoint(aws, "sqs"), SQS_URL);
	ck_assert_str_eq(ob_aws_endpoint(aws, "sts"), "https://sts." REGION ".amazonaws.com/");
	a = ob_aws_endpoint(aws, "rds");
	ck_assert_str_eq(a, RDS_URL);
	ck_assert_ptr_eq(ob_aws_endpoint(aws, "rds"), a); /* cached, stable */
}
END_TEST

START_TEST(test_new_bad_options)
{
	struct ob_aws_options o = base_options(NULL);
	struct ob_error err;

	ck_assert_ptr_null(ob_aws_new(NULL, &err));
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	o.region = NULL;
	ck_assert_ptr_null(ob_aws_new(&o, &err));
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	o.region = "";
	ck_assert_ptr_null(ob_aws_new(&o, &err));
	o = base_options(NULL);
	o.http.perform = NULL;
	ck_assert_ptr_null(ob_aws_new(&o, &err));
	o = base_options(NULL);
	o.creds = NULL;
	ck_assert_ptr_null(ob_aws_new(&o, NULL));
	ob_aws_free(NULL);
}
END_TEST

/* A parameter key that cannot be built fails the call, with no request. */
START_TEST(test_params_failure_reported)
{
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	struct ob_error err;
	char longkey[300];

	memset(longkey, 'K', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	rds_params(&p);
	ob_aws_paramf(&p, "v", "%s", longkey);
	ck_assert(p.failed);
	ck_assert_int_eq(ob_aws_query(aws, "rds", &p, &doc, &err), -1);
	ck_assert_ptr_null(doc);
	ck_assert_int_ne(err.kind, OB_ERR_NONE);
	ck_assert_uint_eq(fake.n_records, 0);
	ob_aws_params_clear(&p);
}
END_TEST

/* ---- (2) the JSON request -------------------------------------------------- */

START_TEST(test_json_request)
{
	json_t *body = json_pack("{s:s, s:s}", "QueueUrl", QUEUE, "ReceiptHandle", "rh+/=1");
	json_t *ret = NULL;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, "{\"ok\": true}", NULL);
	ck_assert_int_eq(ob_aws_json(aws, "sqs", "AmazonSQS.DeleteMessage", body, &ret, &err), 0);
	ck_assert(json_is_true(json_object_get(ret, "ok")));
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_str_eq(fake.records[0].method, "POST");
	ck_assert_str_eq(fake.records[0].url, SQS_URL);
	ck_assert_str_eq(hdr(0, "Content-Type"), JSON_CT);
	ck_assert_str_eq(hdr(0, "X-Amz-Target"), "AmazonSQS.DeleteMessage");
	ck_assert_str_eq(hdr(0, "Host"), "sqs." REGION ".amazonaws.com");
	ck_assert_str_eq(sent_body(0), "{\"QueueUrl\":\"" QUEUE "\",\"ReceiptHandle\":\"rh+/=1\"}");
	assert_signed(0, "sqs", "content-type;host;x-amz-date;x-amz-target", AKID, SECRET);
	json_decref(ret);
	json_decref(body);
}
END_TEST

/* No body sends "{}"; an empty 2xx answer is an empty object. */
START_TEST(test_json_empty_bodies)
{
	json_t *ret = NULL;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, "", NULL);
	ck_assert_int_eq(ob_aws_json(aws, "sqs", "AmazonSQS.ListQueues", NULL, &ret, &err), 0);
	ck_assert(json_is_object(ret));
	ck_assert_uint_eq(json_object_size(ret), 0);
	ck_assert_str_eq(sent_body(0), "{}");
	assert_signed(0, "sqs", "content-type;host;x-amz-date;x-amz-target", AKID, SECRET);
	json_decref(ret);
}
END_TEST

/* ---- (3) retries ----------------------------------------------------------- */

START_TEST(test_retry_503_then_ok)
{
	struct ob_aws_stats st;
	struct ob_error err;

	ob_http_fake_push(&fake, 503, "<html>Service Unavailable</html>", NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_uint_eq(n_sleeps, 1);
	ck_assert_int_ge(sleeps[0], 0);
	ck_assert_int_le(sleeps[0], 100); /* base 100 ms, first retry */
	ck_assert_int_eq(sleeps[0], ob_retry_backoff_ms(1, 100, 20000, rnd_value));
	ck_assert_uint_eq(n_random, 1);
	/* the retry is signed anew, at the clock's new time */
	ck_assert_str_eq(sent_body(1), sent_body(0));
	assert_signed(1, "rds", "content-type;host;x-amz-date", AKID, SECRET);
	ob_aws_get_stats(aws, &st);
	ck_assert_uint_eq(st.calls, 1);
	ck_assert_uint_eq(st.attempts, 2);
	ck_assert_uint_eq(st.retries, 1);
	ck_assert_uint_eq(st.throttled, 0);
}
END_TEST

START_TEST(test_retry_throttling_then_ok)
{
	struct ob_aws_stats st;
	struct ob_error err;
	char *thr = ob_test_load_response("rds_error_throttling.xml", NULL);

	rnd_value = UINT32_MAX; /* the ceiling: 100, then 200 */
	ob_http_fake_push(&fake, 400, thr, NULL);
	ob_http_fake_push(&fake, 400, thr, NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_uint_eq(fake.n_records, 3);
	ck_assert_uint_eq(n_sleeps, 2);
	ck_assert_int_eq(sleeps[0], 100);
	ck_assert_int_eq(sleeps[1], 200);
	ob_aws_get_stats(aws, &st);
	ck_assert_uint_eq(st.throttled, 2);
	ck_assert_uint_eq(st.retries, 2);
	free(thr);
}
END_TEST

/* The per-action table behind the metrics: calls once per call, retries
 * per extra attempt, errors per failed call, JSON actions by their target's
 * operation; past the table's size, "other". */
START_TEST(test_action_stats)
{
	const struct ob_aws_action_stats *as;
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	struct ob_error err;
	json_t *ret = NULL;
	char *thr = ob_test_load_response("rds_error_throttling.xml", NULL);
	char action[32];
	size_t n, i;

	ob_http_fake_push(&fake, 400, thr, NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ob_http_fake_push(&fake, 400, thr, NULL);
	ob_http_fake_push(&fake, 400, thr, NULL);
	ob_http_fake_push(&fake, 400, thr, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ob_http_fake_push(&fake, 200, "{}", NULL);
	ck_assert_int_eq(ob_aws_json(aws, "sqs", "AmazonSQS.ReceiveMessage", NULL, &ret, &err), 0);
	json_decref(ret);
	n = ob_aws_get_action_stats(aws, &as);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(as[0].service, "rds");
	ck_assert_str_eq(as[0].action, "DescribeDBSnapshots");
	ck_assert_uint_eq(as[0].calls, 2);
	ck_assert_uint_eq(as[0].retries, 3);
	ck_assert_uint_eq(as[0].errors, 1);
	ck_assert_str_eq(as[1].service, "sqs");
	ck_assert_str_eq(as[1].action, "ReceiveMessage");
	ck_assert_uint_eq(as[1].calls, 1);
	/* 40 more actions: the table holds OB_AWS_ACTIONS_MAX, the last "other". */
	for (i = 0; i < 40; i++) {
		snprintf(action, sizeof(action), "Action%zu", i);
		ob_aws_params_init(&p, action, "2014-10-31");
		ob_http_fake_push(&fake, 200, OK_XML, NULL);
		ck_assert_int_eq(ob_aws_query(aws, "rds", &p, &doc, &err), 0);
		ob_xml_free(doc);
		ob_aws_params_clear(&p);
	}
	n = ob_aws_get_action_stats(aws, &as);
	ck_assert_uint_eq(n, OB_AWS_ACTIONS_MAX);
	ck_assert_str_eq(as[n - 1].action, "other");
	ck_assert_uint_eq(as[n - 1].calls, 40 - (OB_AWS_ACTIONS_MAX - 3));
	free(thr);
}
END_TEST

START_TEST(test_retry_transport_then_ok)
{
	struct ob_error err;

	ob_http_fake_push(&fake, 0, NULL, NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_uint_eq(n_sleeps, 1);
	ck_assert_int_le(sleeps[0], 100);
}
END_TEST

START_TEST(test_backoff_options_used)
{
	struct ob_aws_options o = base_options(NULL);
	struct ob_error err;

	o.max_attempts = 4;
	o.backoff_base_ms = 1000;
	o.backoff_cap_ms = 1500;
	make_aws(&o);
	rnd_value = UINT32_MAX;
	ob_http_fake_push(&fake, 500, "", NULL);
	ob_http_fake_push(&fake, 502, "", NULL);
	ob_http_fake_push(&fake, 504, "", NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_uint_eq(fake.n_records, 4);
	ck_assert_uint_eq(n_sleeps, 3);
	ck_assert_int_eq(sleeps[0], 1000);
	ck_assert_int_eq(sleeps[1], 1500);
	ck_assert_int_eq(sleeps[2], 1500);
}
END_TEST

START_TEST(test_validation_error_not_retried)
{
	struct ob_error err;
	char *doc = ob_test_load_response("rds_error_validation.xml", NULL);

	ob_http_fake_push(&fake, 400, doc, NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_uint_eq(n_sleeps, 0);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_int_eq(err.http_status, 400);
	ck_assert_str_eq(err.aws_code, "InvalidParameterValue");
	ck_assert_str_eq(err.message, "Invalid snapshot identifier:  orders--db");
	ck_assert_str_eq(err.request_id, "0b2d8f3c-5ee1-4b8e-9a1d-5c3cEXAMPLE");
	free(doc);
}
END_TEST

START_TEST(test_attempts_exhausted)
{
	struct ob_error err;
	char *thr = ob_test_load_response("rds_error_throttling.xml", NULL);

	ob_http_fake_push(&fake, 503, "", NULL);
	ob_http_fake_push(&fake, 0, NULL, NULL);
	ob_http_fake_push(&fake, 400, thr, NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_uint_eq(fake.n_records, 3);
	ck_assert_uint_eq(n_sleeps, 2);
	/* the last error, with the attempt count */
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_int_eq(err.http_status, 400);
	ck_assert_str_eq(err.aws_code, "Throttling");
	ck_assert_ptr_nonnull(strstr(err.message, "after 3 attempts"));
	ck_assert_ptr_nonnull(strstr(err.message, "Rate exceeded"));
	ck_assert_str_eq(err.request_id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
	free(thr);
}
END_TEST

START_TEST(test_attempts_exhausted_transport)
{
	struct ob_error err;

	ob_http_fake_push(&fake, 0, NULL, NULL);
	ob_http_fake_push(&fake, 0, NULL, NULL);
	ob_http_fake_push(&fake, 0, NULL, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_uint_eq(fake.n_records, 3);
	ck_assert_int_eq(err.kind, OB_ERR_TRANSPORT);
	ck_assert_ptr_nonnull(strstr(err.message, "after 3 attempts"));
}
END_TEST

START_TEST(test_single_attempt)
{
	struct ob_aws_options o = base_options(NULL);
	struct ob_error err;

	o.max_attempts = 1;
	make_aws(&o);
	ob_http_fake_push(&fake, 503, "", NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_uint_eq(n_sleeps, 0);
	ck_assert_int_eq(err.http_status, 503);
	ck_assert_ptr_null(strstr(err.message, "attempts"));
}
END_TEST

/* ---- (4) clock skew -------------------------------------------------------- */

START_TEST(test_clock_skew_corrected)
{
	struct ob_error err;
	char *skew = ob_test_load_response("sts_error_request_time_too_skewed.xml", NULL);

	/* the server is 15 minutes ahead of our clock */
	ob_http_fake_push(&fake, 403, skew, "Sun, 30 Aug 2015 12:51:00 GMT");
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_str_eq(hdr(0, "X-Amz-Date"), T0_AMZ);
	ck_assert_str_eq(hdr(1, "X-Amz-Date"), "20150830T125100Z");
	assert_signed(1, "rds", "content-type;host;x-amz-date", AKID, SECRET);
	ck_assert_int_eq(ob_aws_clock_offset_ms(aws), 900000);
	ck_assert_uint_eq(n_sleeps, 0); /* a correction, not a backoff */
	/* the offset sticks for later calls */
	t_wall += 60000;
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_str_eq(hdr(2, "X-Amz-Date"), "20150830T125200Z");
	free(skew);
}
END_TEST

START_TEST(test_clock_skew_behind)
{
	struct ob_error err;
	static const char sig_expired[] =
		"<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
		"<Message>Signature expired: 20150830T123600Z is now earlier than "
		"20150830T122100Z (20150830T123100Z - 10 min.)</Message></Error>"
		"<RequestId>r-1</RequestId></ErrorResponse>";

	/* our clock runs 5 minutes fast */
	ob_http_fake_push(&fake, 403, sig_expired, "Sun, 30 Aug 2015 12:31:00 GMT");
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_int_eq(ob_aws_clock_offset_ms(aws), -300000);
	ck_assert_str_eq(hdr(1, "X-Amz-Date"), "20150830T123100Z");
}
END_TEST

/* One correction per call: a second skew answer is returned. */
START_TEST(test_clock_skew_once)
{
	struct ob_error err;
	char *skew = ob_test_load_response("sts_error_request_time_too_skewed.xml", NULL);

	ob_http_fake_push(&fake, 403, skew, "Sun, 30 Aug 2015 12:51:00 GMT");
	ob_http_fake_push(&fake, 403, skew, "Sun, 30 Aug 2015 13:51:00 GMT");
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_str_eq(err.aws_code, "RequestTimeTooSkewed");
	ck_assert_int_eq(err.http_status, 403);
	free(skew);
}
END_TEST

/* A skew answer without a usable Date leaves the offset alone. */
START_TEST(test_clock_skew_without_date)
{
	struct ob_error err;
	char *skew = ob_test_load_response("sts_error_request_time_too_skewed.xml", NULL);

	ob_http_fake_push(&fake, 403, skew, "yesterday-ish");
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_int_eq(ob_aws_clock_offset_ms(aws), 0);
	ck_assert_str_eq(hdr(1, "X-Amz-Date"), T0_AMZ);
	free(skew);
}
END_TEST

/* A wrong secret also answers SignatureDoesNotMatch: no retry, no skew. */
START_TEST(test_wrong_secret_not_retried)
{
	struct ob_error err;
	static const char wrong[] =
		"<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
		"<Message>The request signature we calculated does not match the signature "
		"you provided. Check your AWS Secret Access Key and signing method.</Message>"
		"</Error><RequestId>r-2</RequestId></ErrorResponse>";

	ob_http_fake_push(&fake, 403, wrong, "Sun, 30 Aug 2015 14:00:00 GMT");
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_int_eq(ob_aws_clock_offset_ms(aws), 0);
	ck_assert_str_eq(err.aws_code, "SignatureDoesNotMatch");
}
END_TEST

/* ---- (5) expired session token ------------------------------------------- */

#define IMDS_ROLE "ob-backup-role"
#define KEY1 "ASIAEXAMPLEKEYID1111"
#define SEC1 "zK9mQ2pLw8vX/N4bR7tY1uI3oE5aS6dF1111"
#define TOK1 "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN1111"
#define KEY2 "ASIAEXAMPLEKEYID2222"
#define SEC2 "zK9mQ2pLw8vX/N4bR7tY1uI3oE5aS6dF2222"
#define TOK2 "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN2222"
#define IMDS_DOC(k, s, t)                                                        \
	"{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"" k        \
	"\",\"SecretAccessKey\":\"" s "\",\"Token\":\"" t                         \
	"\",\"Expiration\":\"2015-08-30T18:36:00Z\","                             \
	"\"LastUpdated\":\"2015-08-30T12:30:00Z\"}"

START_TEST(test_expired_token_refreshes_creds)
{
	struct ob_http_fake imds;
	struct ob_creds_options co;
	struct ob_creds_provider *inst;
	struct ob_aws_options o;
	struct ob_error err;
	char *expired = ob_test_load_response("sts_error_expired_token.xml", NULL);
	const char *signed_hdrs = "content-type;host;x-amz-date;x-amz-security-token";

	ob_http_fake_init(&imds);
	ob_http_fake_push(&imds, 200, "imds-session-token", NULL);
	ob_http_fake_push(&imds, 200, IMDS_ROLE, NULL);
	ob_http_fake_push(&imds, 200, IMDS_DOC(KEY1, SEC1, TOK1), NULL);
	ob_http_fake_push(&imds, 200, IMDS_ROLE, NULL);
	ob_http_fake_push(&imds, 200, IMDS_DOC(KEY2, SEC2, TOK2), NULL);
	memset(&co, 0, sizeof(co));
	co.source = OB_CREDS_INSTANCE;
	co.imds_url = "http://imds.test";
	co.http = ob_http_fake_ops(&imds);
	co.clock = &tclock;
	inst = ob_creds_provider_new(&co, &err);
	ck_assert_msg(inst != NULL, "%s", err.message);
	o = base_options(NULL);
	o.creds = inst;
	make_aws(&o);

	ob_http_fake_push(&fake, 400, expired, NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_msg(call_rds(&err) == 0, "%s", err.message);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_uint_eq(n_sleeps, 0);
	/* the provider went back to IMDS for the second set */
	ck_assert_uint_eq(imds.n_records, 5);
	ck_assert_str_eq(hdr(0, "X-Amz-Security-Token"), TOK1);
	ck_assert_str_eq(hdr(1, "X-Amz-Security-Token"), TOK2);
	assert_signed(0, "rds", signed_hdrs, KEY1, SEC1);
	assert_signed(1, "rds", signed_hdrs, KEY2, SEC2);
	assert_no_secret(&err, SEC1);
	assert_no_secret(&err, SEC2);

	/* A second ExpiredToken in the same call is returned, not looped on. */
	ob_http_fake_push(&imds, 200, IMDS_ROLE, NULL);
	ob_http_fake_push(&imds, 200, IMDS_DOC(KEY1, SEC1, TOK1), NULL);
	ob_http_fake_push(&fake, 400, expired, NULL);
	ob_http_fake_push(&fake, 400, expired, NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_uint_eq(fake.n_records, 4);
	ck_assert_str_eq(err.aws_code, "ExpiredToken");

	ob_aws_free(aws);
	aws = NULL;
	ob_creds_provider_free(inst);
	ob_http_fake_clear(&imds);
	free(expired);
}
END_TEST

/* ---- (6) stop flag --------------------------------------------------------- */

START_TEST(test_stop_before_request)
{
	struct ob_error err;
	json_t *ret = NULL;

	stop_flag = 1;
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CANCELLED);
	ck_assert_int_eq(ob_aws_json(aws, "sqs", "AmazonSQS.ListQueues", NULL, &ret, &err), -1);
	ck_assert_ptr_null(ret);
	ck_assert_int_eq(err.kind, OB_ERR_CANCELLED);
	ck_assert_uint_eq(fake.n_records, 0);
}
END_TEST

START_TEST(test_stop_during_backoff)
{
	struct ob_error err;

	stop_on_sleep = 1;
	ob_http_fake_push(&fake, 503, "", NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CANCELLED);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_uint_eq(n_sleeps, 1);
}
END_TEST

START_TEST(test_stop_during_request)
{
	struct ob_error err;

	/* SIGTERM lands while the request is in flight: its handler has run,
	 * so no sleep would be interrupted; the core must not start a backoff. */
	stop_in_request = 1;
	ob_http_fake_push(&fake, 503, "", NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CANCELLED);
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_uint_eq(n_sleeps, 0);
}
END_TEST

START_TEST(test_signal_does_not_cut_backoff)
{
	struct ob_error err;

	rnd_value = UINT32_MAX; /* first backoff: the full 100 ms */
	interrupt_sleep_once = 1;
	ob_http_fake_push(&fake, 503, "", NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ck_assert_uint_eq(n_sleeps, 2);
	ck_assert_int_eq(sleeps[0], 100);
	ck_assert_int_eq(sleeps[1], 50); /* the remainder, not a fresh retry */
}
END_TEST

START_TEST(test_null_err_still_retries)
{
	/* NULL is an allowed error record: it must not switch retries off. */
	ob_http_fake_push(&fake, 503, "", NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(NULL), 0);
	ck_assert_uint_eq(fake.n_records, 2);
	ob_http_fake_push(&fake, 400, "<ErrorResponse><Error><Code>ValidationError</Code>"
			  "<Message>no</Message></Error></ErrorResponse>", NULL);
	ck_assert_int_eq(call_rds(NULL), -1);
	ck_assert_uint_eq(fake.n_records, 3);
}
END_TEST

START_TEST(test_echoed_secrets_redacted)
{
	struct ob_error err;
	char doc[2048];

	/* Some signature errors echo the canonical request (which holds the
	 * session token); a service could also echo a secret outright. */
	snprintf(doc, sizeof(doc),
		 "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The request "
		 "signature we calculated does not match the signature you provided.\n\nThe "
		 "Canonical String for this request should have been\n'POST\n/\n\nhost:x\n"
		 "x-amz-security-token:TOKENTOKENTOKEN'</Message></Error></ErrorResponse>");
	ob_http_fake_push(&fake, 403, doc, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_str_eq(err.aws_code, "SignatureDoesNotMatch");
	ck_assert_str_eq(err.message, "The request signature we calculated does not match "
			 "the signature you provided.");
	snprintf(doc, sizeof(doc),
		 "<ErrorResponse><Error><Code>InvalidParameterValue</Code><Message>bad value "
		 "%.20s...</Message></Error></ErrorResponse>", SECRET);
	ob_http_fake_push(&fake, 400, doc, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	ck_assert_ptr_null(strstr(err.message, SECRET));
	ck_assert_str_eq(err.message, "bad value [redacted]");
}
END_TEST

START_TEST(test_param_list)
{
	static const char *const ids[] = { "a", "b c", "d" };
	struct ob_aws_params p;

	ob_aws_params_init(&p, "DescribeThings", "2014-10-31");
	ob_aws_param_list(&p, "Ids", "member", ids, 3);
	ob_aws_param_list(&p, "Filters.Filter.1.Values", "Value", ids, 1);
	ob_aws_param_list(&p, "Empty", "member", NULL, 0);
	ck_assert_int_eq(p.failed, 0);
	ck_assert_str_eq(p.form.data, "Action=DescribeThings&Version=2014-10-31"
			 "&Ids.member.1=a&Ids.member.2=b%20c&Ids.member.3=d"
			 "&Filters.Filter.1.Values.Value.1=a");
	ob_aws_params_clear(&p);
}
END_TEST

/* ---- (8) a 2xx answer that is not the protocol's document ---------------- */

START_TEST(test_ok_status_bad_xml)
{
	static const char *const bodies[] = {
		"", "not xml", "<DescribeDBSnapshotsResponse><DescribeDBSnapshotsResult>",
		"{\"Messages\": []}", "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
	};
	struct ob_error err;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ob_http_fake_push(&fake, 200, bodies[i], NULL);
		ck_assert_int_eq(call_rds(&err), -1);
		ck_assert_msg(err.kind == OB_ERR_PARSE, "body %zu: kind %d", i, err.kind);
		ck_assert_int_eq(err.http_status, 200);
		ck_assert_ptr_nonnull(strstr(err.message, "rds"));
		ck_assert_uint_eq(fake.n_records, i + 1); /* never retried */
	}
}
END_TEST

START_TEST(test_ok_status_bad_json)
{
	static const char *const bodies[] = {
		"not json", "{\"Messages\": [", "[]", "\"string\"", "42", "null",
		"{\"a\":1,\"a\":2}", "<xml/>",
	};
	struct ob_error err;
	json_t *ret = NULL;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ob_http_fake_push(&fake, 200, bodies[i], NULL);
		ck_assert_int_eq(ob_aws_json(aws, "sqs", "AmazonSQS.ReceiveMessage", NULL,
					     &ret, &err), -1);
		ck_assert_ptr_null(ret);
		ck_assert_msg(err.kind == OB_ERR_PARSE, "body %zu: kind %d", i, err.kind);
		ck_assert_int_eq(err.http_status, 200);
		ck_assert_uint_eq(fake.n_records, i + 1);
	}
}
END_TEST

/* ---- (7) error documents --------------------------------------------------- */

START_TEST(test_error_xml_rds)
{
	struct ob_error err;
	size_t len;
	char *doc = ob_test_load_response("rds_error_db_snapshot_not_found.xml", &len);

	ck_assert_int_eq(ob_aws_error_from_xml(&err, 404, doc, len, "header-id"), -1);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_int_eq(err.http_status, 404);
	ck_assert_str_eq(err.aws_code, "DBSnapshotNotFound");
	ck_assert_str_eq(err.message, "DBSnapshot nope not found.");
	/* the body's request id wins over the header's */
	ck_assert_uint_gt(strlen(err.request_id), 10);
	ck_assert_str_ne(err.request_id, "header-id");
	ck_assert_ptr_nonnull(strstr(doc, err.request_id));
	free(doc);
}
END_TEST

START_TEST(test_error_xml_ec2_style)
{
	struct ob_error err;
	size_t len;
	char *doc = ob_test_load_response("ec2_error_request_limit_exceeded.xml", &len);

	ck_assert_int_eq(ob_aws_error_from_xml(&err, 503, doc, len, ""), -1);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_str_eq(err.aws_code, "RequestLimitExceeded");
	ck_assert_str_eq(err.message, "Request limit exceeded.");
	ck_assert_str_eq(err.request_id, "ea966190-f9aa-478e-9ede-example");
	ck_assert_int_eq(ob_retry_classify(&err), OB_RETRY_THROTTLED);
	free(doc);
}
END_TEST

START_TEST(test_error_xml_partial)
{
	static const char no_msg[] =
		"<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>";
	static const char no_error[] = "<ErrorResponse><Oops/></ErrorResponse>";
	struct ob_error err;

	ob_aws_error_from_xml(&err, 403, no_msg, sizeof(no_msg) - 1, "hdr-rid");
	ck_assert_str_eq(err.aws_code, "AccessDenied");
	ck_assert_str_eq(err.message, "(no message)");
	ck_assert_str_eq(err.request_id, "hdr-rid"); /* none in the body */

	ob_aws_error_from_xml(&err, 500, no_error, sizeof(no_error) - 1, "hdr-rid");
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_int_eq(err.http_status, 500);
	ck_assert_str_eq(err.aws_code, "");
	ck_assert_str_ne(err.message, "");
	ck_assert_str_eq(err.request_id, "hdr-rid");
	ck_assert_int_eq(ob_retry_classify(&err), OB_RETRY_TRANSIENT);
	ob_aws_error_from_xml(NULL, 500, no_error, sizeof(no_error) - 1, NULL);
}
END_TEST

START_TEST(test_error_xml_garbage)
{
	static const char *const bodies[] = {
		"<html><body>502 Bad Gateway</body></html",
		"{\"__type\":\"Throttling\"}",
		"\xff\xfe<\0E\0r\0",
		"<!DOCTYPE x [<!ENTITY a \"b\">]><ErrorResponse><Error><Code>&a;</Code></Error></ErrorResponse>",
	};
	struct ob_error err;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ck_assert_int_eq(ob_aws_error_from_xml(&err, 502, bodies[i], strlen(bodies[i]),
						       "rid-9"), -1);
		ck_assert_int_eq(err.kind, OB_ERR_AWS);
		ck_assert_int_eq(err.http_status, 502);
		ck_assert_str_eq(err.aws_code, "");
		ck_assert_str_eq(err.request_id, "rid-9");
		ck_assert_ptr_nonnull(strstr(err.message, "502"));
	}
	ob_aws_error_from_xml(&err, 400, "", 0, "rid");
	ck_assert_ptr_nonnull(strstr(err.message, "empty"));
	ob_aws_error_from_xml(&err, 400, NULL, 0, NULL);
	ck_assert_str_eq(err.aws_code, "");
	ck_assert_str_eq(err.request_id, "");
}
END_TEST

/* Every prefix of a real error document: no crash, and no code until the
 * document is whole. */
START_TEST(test_error_xml_truncated)
{
	struct ob_error err;
	size_t len, n, complete;
	char *doc = ob_test_load_response("rds_error_db_snapshot_not_found.xml", &len);
	const char *end = "</ErrorResponse>";
	char *copy;

	complete = (size_t)(strstr(doc, end) - doc) + strlen(end);
	for (n = 0; n <= len; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, doc, n);
		ck_assert_int_eq(ob_aws_error_from_xml(&err, 404, copy, n, "rid"), -1);
		ck_assert_int_eq(err.kind, OB_ERR_AWS);
		if (n < complete)
			ck_assert_str_eq(err.aws_code, "");
		else
			ck_assert_str_eq(err.aws_code, "DBSnapshotNotFound");
		free(copy);
	}
	free(doc);
}
END_TEST

START_TEST(test_error_json_sqs)
{
	struct ob_error err;
	size_t len;
	char *doc = ob_test_load_response("sqs_error_queue_does_not_exist.json", &len);

	ck_assert_int_eq(ob_aws_error_from_json(&err, 400, doc, len, "json-rid"), -1);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_int_eq(err.http_status, 400);
	ck_assert_str_eq(err.aws_code, "QueueDoesNotExist");
	ck_assert_str_eq(err.message, "The specified queue does not exist.");
	ck_assert_str_eq(err.request_id, "json-rid");
	free(doc);
}
END_TEST

static const struct {
	const char *body;
	const char *code;    /* NULL: unparseable, code stays "" */
	const char *message; /* NULL: not checked */
} json_rows[] = {
	{ "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"gone\"}",
	  "QueueDoesNotExist", "gone" },
	{ "{\"__type\":\"ThrottlingException\",\"Message\":\"Rate exceeded\"}",
	  "ThrottlingException", "Rate exceeded" },
	{ "{\"__type\":\"a#b#InvalidParameterValue\",\"message\":\"m\",\"Message\":\"M\"}",
	  "InvalidParameterValue", "m" },
	{ "{\"code\":\"AccessDenied\",\"message\":\"no\"}", "AccessDenied", "no" },
	{ "{\"__type\":\"X#\",\"message\":\"empty code\"}", "", "empty code" },
	{ "{\"__type\":\"Throttling\"}", "Throttling", "(no message)" },
	{ "{\"__type\":\"Throttling\",\"message\":7}", "Throttling", "(no message)" },
	{ "{\"__type\":\"Throttling\",\"message\":null}", "Throttling", "(no message)" },
	/* Found by fuzz_aws_error (tests/fuzz/regress/aws_error/): a message
	 * that is empty, or nothing but an echoed request, is not left "". */
	{ "{\"__type\":\"Throttling\",\"message\":\"\"}", "Throttling", "(no message)" },
	{ "{\"__type\":\"ThiottlingException\",\"Message\":\"The String-to-Signd\"}",
	  "ThiottlingException", "(no message)" },
	{ "{\"__type\":\"X\",\"message\":\" \\nThe Canonical String for this request\"}", "X",
	  "(no message)" },
	/* wrong types and shapes */
	{ "{\"__type\":5,\"message\":\"m\"}", NULL, NULL },
	{ "{\"__type\":null}", NULL, NULL },
	{ "{\"__type\":[\"ThrottlingException\"]}", NULL, NULL },
	{ "{\"message\":\"no type\"}", NULL, NULL },
	{ "[\"__type\",\"Throttling\"]", NULL, NULL },
	{ "\"ThrottlingException\"", NULL, NULL },
	{ "null", NULL, NULL },
	{ "{}", NULL, NULL },
	/* garbage and truncation */
	{ "{\"__type\":\"Throttling\"", NULL, NULL },
	{ "{\"__type\":\"Thrott", NULL, NULL },
	{ "<ErrorResponse/>", NULL, NULL },
	{ "{\"__type\":\"A\",\"__type\":\"B\"}", NULL, NULL },
	{ "\xff\xff", NULL, NULL },
};

START_TEST(test_error_json_table)
{
	struct ob_error err;
	const char *body = json_rows[_i].body;

	ck_assert_int_eq(ob_aws_error_from_json(&err, 400, body, strlen(body), "rid"), -1);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_int_eq(err.http_status, 400);
	ck_assert_str_eq(err.request_id, "rid");
	if (json_rows[_i].code == NULL) {
		ck_assert_str_eq(err.aws_code, "");
		ck_assert_ptr_nonnull(strstr(err.message, "400"));
	} else {
		ck_assert_str_eq(err.aws_code, json_rows[_i].code);
	}
	if (json_rows[_i].message != NULL)
		ck_assert_str_eq(err.message, json_rows[_i].message);
}
END_TEST

START_TEST(test_error_json_empty)
{
	struct ob_error err;

	ob_aws_error_from_json(&err, 503, "", 0, "rid");
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_ptr_nonnull(strstr(err.message, "empty"));
	ob_aws_error_from_json(&err, 503, NULL, 0, NULL);
	ck_assert_str_eq(err.aws_code, "");
	ck_assert_int_eq(ob_aws_error_from_json(NULL, 503, "{}", 2, NULL), -1);
	ck_assert_int_eq(ob_aws_error_from_json(NULL, 400, "{\"__type\":\"X\"}", 14, NULL), -1);
}
END_TEST

static void assert_valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int need;

	while (*p) {
		need = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
		       (*p & 0xf8) == 0xf0 ? 3 : -1;
		ck_assert_msg(need >= 0, "bad UTF-8 lead byte 0x%02x in \"%s\"", *p, s);
		for (p++; need > 0; need--, p++)
			ck_assert_msg((*p & 0xc0) == 0x80, "cut UTF-8 sequence in \"%s\"", s);
	}
}

/* A megabyte of message, code and request id: cut to the record's sizes,
 * NUL-terminated, and not cut inside a multibyte character. */
START_TEST(test_error_hostile_sizes)
{
	const size_t big = 1u << 20;
	struct ob_buf b = OB_BUF_INIT;
	struct ob_error err;
	char *fill = malloc(big);
	size_t i;

	ck_assert_ptr_nonnull(fill);
	/* XML: a 1 MB code and request id, and a 1 MB message of "a" then
	 * 2-byte characters, so the cut at 511 bytes lands inside one */
	ck_assert_int_eq(ob_buf_puts(&b, "<ErrorResponse><Error><Code>"), 0);
	memset(fill, 'C', big);
	ck_assert_int_eq(ob_buf_append(&b, fill, big), 0);
	ck_assert_int_eq(ob_buf_puts(&b, "</Code><Message>"), 0);
	memset(fill, 'a', 510);
	for (i = 510; i + 1 < big; i += 2)
		memcpy(fill + i, "\xc3\xa9", 2);
	ck_assert_int_eq(ob_buf_append(&b, fill, i), 0);
	ck_assert_int_eq(ob_buf_puts(&b, "</Message></Error><RequestId>"), 0);
	memset(fill, 'R', big);
	ck_assert_int_eq(ob_buf_append(&b, fill, big), 0);
	ck_assert_int_eq(ob_buf_puts(&b, "</RequestId></ErrorResponse>"), 0);
	ob_aws_error_from_xml(&err, 400, b.data, b.len, NULL);
	ck_assert_int_eq(err.kind, OB_ERR_AWS);
	ck_assert_uint_eq(strlen(err.aws_code), sizeof(err.aws_code) - 1);
	ck_assert_uint_eq(strlen(err.request_id), sizeof(err.request_id) - 1);
	ck_assert_uint_ge(strlen(err.message), sizeof(err.message) - 4);
	ck_assert_uint_le(strlen(err.message), sizeof(err.message) - 1);
	ck_assert_int_eq(strncmp(err.message, "aaaa", 4), 0);
	assert_valid_utf8(err.message);

	/* JSON: the same through the other parser, 3-byte characters */
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_buf_puts(&b, "{\"__type\":\"ns#Throttling\",\"message\":\"xy"), 0);
	for (i = 0; i + 2 < big; i += 3)
		memcpy(fill + i, "\xe2\x9c\x93", 3);
	ck_assert_int_eq(ob_buf_append(&b, fill, i), 0);
	ck_assert_int_eq(ob_buf_puts(&b, "\"}"), 0);
	ob_aws_error_from_json(&err, 400, b.data, b.len, NULL);
	ck_assert_str_eq(err.aws_code, "Throttling");
	ck_assert_uint_ge(strlen(err.message), sizeof(err.message) - 4);
	assert_valid_utf8(err.message);
	ob_buf_clear(&b);
	free(fill);
}
END_TEST

/* Control characters from the peer never reach a log line raw. */
START_TEST(test_error_control_chars)
{
	static const char json[] =
		"{\"__type\":\"Bad\\u001b[2J\\nCode\","
		"\"message\":\"line1\\nline2\\r\\tx\\u001b[31mred\\u0007\\u007f!\"}";
	static const char xml[] =
		"<ErrorResponse><Error><Code>Code&#10;X</Code><Message>a&#10;b&#13;c&#9;d"
		"</Message></Error><RequestId>id&#10;2</RequestId></ErrorResponse>";
	struct ob_error err;
	const char *p;

	ob_aws_error_from_json(&err, 400, json, sizeof(json) - 1, "rid\n\x1b[0m");
	for (p = err.message; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f,
			      "control byte 0x%02x in message", (unsigned char)*p);
	for (p = err.aws_code; *p; p++)
		ck_assert_uint_ge((unsigned char)*p, 0x20);
	for (p = err.request_id; *p; p++)
		ck_assert_uint_ge((unsigned char)*p, 0x20);
	ck_assert_ptr_nonnull(strstr(err.message, "line1 line2"));
	ck_assert_ptr_nonnull(strstr(err.message, "red"));

	ob_aws_error_from_xml(&err, 400, xml, sizeof(xml) - 1, NULL);
	ck_assert_str_eq(err.message, "a b c d");
	ck_assert_str_eq(err.aws_code, "Code X");
	ck_assert_str_eq(err.request_id, "id 2");
}
END_TEST

/* ---- (9) the secret never leaves ------------------------------------------ */

START_TEST(test_secret_never_sent)
{
	struct ob_error err;
	json_t *ret = NULL;
	char *thr = ob_test_load_response("rds_error_throttling.xml", NULL);
	char *val = ob_test_load_response("rds_error_validation.xml", NULL);

	ob_http_fake_push(&fake, 503, "", NULL);
	ob_http_fake_push(&fake, 400, thr, NULL);
	ob_http_fake_push(&fake, 200, OK_XML, NULL);
	ck_assert_int_eq(call_rds(&err), 0);
	ob_http_fake_push(&fake, 400, val, NULL);
	ck_assert_int_eq(call_rds(&err), -1);
	assert_no_secret(&err, SECRET);
	ob_http_fake_push(&fake, 0, NULL, NULL);
	ob_http_fake_push(&fake, 0, NULL, NULL);
	ob_http_fake_push(&fake, 0, NULL, NULL);
	ck_assert_int_eq(ob_aws_json(aws, "sqs", "AmazonSQS.ReceiveMessage", NULL, &ret, &err), -1);
	assert_no_secret(&err, SECRET);
	/* nor a recognisable half of it */
	assert_no_secret(&err, "wJalrXUtnFEMI");
	assert_no_secret(&err, "EXAMPLEKEY");
	ck_assert_uint_eq(fake.n_records, 7);
	free(thr);
	free(val);
}
END_TEST

#define ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *ob_suite_aws(void)
{
	Suite *s = suite_create("aws");
	TCase *req = tcase_create("requests");
	TCase *retry = tcase_create("retries");
	TCase *errs = tcase_create("error-documents");

	tcase_add_checked_fixture(req, setup, teardown);
	tcase_add_test(req, test_query_request_default_endpoint);
	tcase_add_test(req, test_query_request_endpoint_url);
	tcase_add_test(req, test_endpoints_per_service);
	tcase_add_test(req, test_new_bad_options);
	tcase_add_test(req, test_params_failure_reported);
	tcase_add_test(req, test_json_request);
	tcase_add_test(req, test_json_empty_bodies);
	tcase_add_test(req, test_param_list);
	tcase_add_test(req, test_ok_status_bad_xml);
	tcase_add_test(req, test_ok_status_bad_json);
	tcase_add_test(req, test_secret_never_sent);
	suite_add_tcase(s, req);

	tcase_add_checked_fixture(retry, setup, teardown);
	tcase_add_test(retry, test_retry_503_then_ok);
	tcase_add_test(retry, test_retry_throttling_then_ok);
	tcase_add_test(retry, test_action_stats);
	tcase_add_test(retry, test_retry_transport_then_ok);
	tcase_add_test(retry, test_backoff_options_used);
	tcase_add_test(retry, test_validation_error_not_retried);
	tcase_add_test(retry, test_attempts_exhausted);
	tcase_add_test(retry, test_attempts_exhausted_transport);
	tcase_add_test(retry, test_single_attempt);
	tcase_add_test(retry, test_clock_skew_corrected);
	tcase_add_test(retry, test_clock_skew_behind);
	tcase_add_test(retry, test_clock_skew_once);
	tcase_add_test(retry, test_clock_skew_without_date);
	tcase_add_test(retry, test_wrong_secret_not_retried);
	tcase_add_test(retry, test_expired_token_refreshes_creds);
	tcase_add_test(retry, test_stop_before_request);
	tcase_add_test(retry, test_stop_during_backoff);
	tcase_add_test(retry, test_stop_during_request);
	tcase_add_test(retry, test_signal_does_not_cut_backoff);
	tcase_add_test(retry, test_null_err_still_retries);
	tcase_add_test(retry, test_echoed_secrets_redacted);
	suite_add_tcase(s, retry);

	tcase_add_test(errs, test_error_xml_rds);
	tcase_add_test(errs, test_error_xml_ec2_style);
	tcase_add_test(errs, test_error_xml_partial);
	tcase_add_test(errs, test_error_xml_garbage);
	tcase_add_test(errs, test_error_xml_truncated);
	tcase_add_test(errs, test_error_json_sqs);
	tcase_add_loop_test(errs, test_error_json_table, 0, ROWS(json_rows));
	tcase_add_test(errs, test_error_json_empty);
	tcase_add_test(errs, test_error_hostile_sizes);
	tcase_add_test(errs, test_error_control_chars);
	tcase_set_timeout(errs, 60);
	suite_add_tcase(s, errs);
	return s;
}
