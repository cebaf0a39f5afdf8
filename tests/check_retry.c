/*
 * check_retry.c - the retry decision as a table over (kind, HTTP status, AWS
 * code, message), and full-jitter backoff: bounds, the two ends of the
 * random range, absurd attempt numbers and sizes without overflow.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_ob.h"
#include "ob/jobs.h"
#include "ob/retry.h"

static const struct {
	enum ob_err_kind kind;
	long status;
	const char *code;
	const char *message;
	enum ob_retry_class want;
} rows[] = {
	/* no response at all */
	{ OB_ERR_TRANSPORT, 0, "", "connection reset", OB_RETRY_TRANSIENT },
	{ OB_ERR_TRANSPORT, 0, "", "Operation timed out", OB_RETRY_TRANSIENT },
	/* server side */
	{ OB_ERR_AWS, 500, "InternalFailure", "", OB_RETRY_TRANSIENT },
	{ OB_ERR_AWS, 500, "", "", OB_RETRY_TRANSIENT },
	{ OB_ERR_AWS, 502, "", "HTTP 502 with an unparseable error body", OB_RETRY_TRANSIENT },
	{ OB_ERR_AWS, 503, "ServiceUnavailable", "", OB_RETRY_TRANSIENT },
	{ OB_ERR_AWS, 504, "", "", OB_RETRY_TRANSIENT },
	{ OB_ERR_AWS, 400, "RequestTimeout", "", OB_RETRY_TRANSIENT },
	{ OB_ERR_AWS, 400, "InternalError", "", OB_RETRY_TRANSIENT },
	/* throttling, by status and by code whatever the status */
	{ OB_ERR_AWS, 429, "", "", OB_RETRY_THROTTLED },
	{ OB_ERR_AWS, 429, "SomethingNew", "", OB_RETRY_THROTTLED },
	{ OB_ERR_AWS, 400, "Throttling", "Rate exceeded", OB_RETRY_THROTTLED },
	{ OB_ERR_AWS, 400, "ThrottlingException", "Rate exceeded", OB_RETRY_THROTTLED },
	{ OB_ERR_AWS, 503, "RequestLimitExceeded", "", OB_RETRY_THROTTLED },
	{ OB_ERR_AWS, 400, "TooManyRequestsException", "", OB_RETRY_THROTTLED },
	{ OB_ERR_AWS, 503, "SlowDown", "", OB_RETRY_THROTTLED },
	{ OB_ERR_AWS, 400, "ProvisionedThroughputExceededException", "", OB_RETRY_THROTTLED },
	/* the caller's mistakes */
	{ OB_ERR_AWS, 400, "ValidationError", "1 validation error detected", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 400, "InvalidParameterValue", "bad id", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 403, "AccessDenied", "not authorized", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 403, "AccessDeniedException", "", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 400, "DBSnapshotAlreadyExists", "", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 404, "DBSnapshotNotFound", "", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 400, "QueueDoesNotExist", "", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 403, "InvalidClientTokenId", "The security token included in the request is invalid.", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 400, "", "HTTP 400 with an empty body", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 404, "", "", OB_RETRY_NEVER },
	/* codes match exactly, not by prefix or case */
	{ OB_ERR_AWS, 400, "throttling", "", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 400, "ThrottlingX", "", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 400, "Throttl", "", OB_RETRY_NEVER },
	/* clock skew */
	{ OB_ERR_AWS, 403, "RequestTimeTooSkewed",
	  "The difference between the request time and the current time is too large.",
	  OB_RETRY_CLOCK_SKEW },
	{ OB_ERR_AWS, 403, "RequestTimeTooSkewed", "", OB_RETRY_CLOCK_SKEW },
	{ OB_ERR_AWS, 403, "SignatureDoesNotMatch",
	  "The request signature we calculated does not match the signature you provided. "
	  "Check your AWS Secret Access Key and signing method.",
	  OB_RETRY_NEVER },
	{ OB_ERR_AWS, 403, "SignatureDoesNotMatch",
	  "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z "
	  "(20150830T125100Z - 15 min.)",
	  OB_RETRY_CLOCK_SKEW },
	{ OB_ERR_AWS, 400, "InvalidSignatureException",
	  "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z",
	  OB_RETRY_CLOCK_SKEW },
	{ OB_ERR_AWS, 400, "InvalidSignatureException",
	  "The request signature we calculated does not match", OB_RETRY_NEVER },
	{ OB_ERR_AWS, 401, "AuthFailure", "AWS was not able to validate the provided access credentials",
	  OB_RETRY_NEVER },
	/* expired session credentials */
	{ OB_ERR_AWS, 400, "ExpiredToken", "The security token included in the request is expired",
	  OB_RETRY_EXPIRED_CREDS },
	{ OB_ERR_AWS, 403, "ExpiredTokenException", "", OB_RETRY_EXPIRED_CREDS },
	/* local failures are never worth a second request */
	{ OB_ERR_PARSE, 200, "", "malformed XML", OB_RETRY_NEVER },
	{ OB_ERR_PARSE, 503, "", "", OB_RETRY_NEVER },
	{ OB_ERR_CONFIG, 0, "", "", OB_RETRY_NEVER },
	{ OB_ERR_INVALID, 0, "", "", OB_RETRY_NEVER },
	{ OB_ERR_NOMEM, 0, "", "", OB_RETRY_NEVER },
	{ OB_ERR_IO, 0, "", "", OB_RETRY_NEVER },
	{ OB_ERR_CREDS, 0, "", "", OB_RETRY_NEVER },
	{ OB_ERR_CREDS, 404, "", "no IAM role attached to this instance", OB_RETRY_NEVER },
	{ OB_ERR_CREDS, 500, "", "IMDS: unexpected HTTP status 500", OB_RETRY_TRANSIENT },
	{ OB_ERR_CREDS, 503, "", "", OB_RETRY_TRANSIENT },
	{ OB_ERR_CREDS, 429, "", "", OB_RETRY_THROTTLED },
	{ OB_ERR_CANCELLED, 0, "", "", OB_RETRY_NEVER },
	{ OB_ERR_NONE, 0, "", "", OB_RETRY_NEVER },
	/* a throttling code on a non-AWS kind does not count */
	{ OB_ERR_PARSE, 429, "Throttling", "", OB_RETRY_NEVER },
};

START_TEST(test_classify_table)
{
	struct ob_error e;
	enum ob_retry_class got;

	ob_error_clear(&e);
	e.kind = rows[_i].kind;
	e.http_status = rows[_i].status;
	snprintf(e.aws_code, sizeof(e.aws_code), "%s", rows[_i].code);
	snprintf(e.message, sizeof(e.message), "%s", rows[_i].message);
	got = ob_retry_classify(&e);
	ck_assert_msg(got == rows[_i].want, "row %d (%s %ld \"%s\"): got %s, want %s", _i,
		      ob_error_kind_name(rows[_i].kind), rows[_i].status, rows[_i].code,
		      ob_retry_class_name(got), ob_retry_class_name(rows[_i].want));
}
END_TEST

START_TEST(test_classify_null)
{
	ck_assert_int_eq(ob_retry_classify(NULL), OB_RETRY_NEVER);
}
END_TEST

START_TEST(test_class_names)
{
	ck_assert_str_eq(ob_retry_class_name(OB_RETRY_NEVER), "never");
	ck_assert_str_eq(ob_retry_class_name(OB_RETRY_TRANSIENT), "transient");
	ck_assert_str_eq(ob_retry_class_name(OB_RETRY_THROTTLED), "throttled");
	ck_assert_str_eq(ob_retry_class_name(OB_RETRY_CLOCK_SKEW), "clock-skew");
	ck_assert_str_eq(ob_retry_class_name(OB_RETRY_EXPIRED_CREDS), "expired-credentials");
	ck_assert_str_eq(ob_retry_class_name((enum ob_retry_class)99), "unknown");
}
END_TEST

/* ---- backoff ------------------------------------------------------------- */

/* min(cap, base * 2^(attempt-1)) computed without any overflow. */
static int64_t ceiling_of(unsigned attempt, int64_t base, int64_t cap)
{
	int64_t c = base;
	unsigned i;

	for (i = 1; i < attempt; i++) {
		if (c >= cap || c > INT64_MAX / 2)
			return cap;
		c *= 2;
	}
	return c < cap ? c : cap;
}

START_TEST(test_backoff_attempt_zero)
{
	ck_assert_int_eq(ob_retry_backoff_ms(0, 100, 20000, 0), 0);
	ck_assert_int_eq(ob_retry_backoff_ms(0, 100, 20000, UINT32_MAX), 0);
}
END_TEST

START_TEST(test_backoff_random_zero)
{
	unsigned a;

	for (a = 1; a < 200; a++)
		ck_assert_int_eq(ob_retry_backoff_ms(a, 100, 20000, 0), 0);
	ck_assert_int_eq(ob_retry_backoff_ms(UINT32_MAX, 100, 20000, 0), 0);
}
END_TEST

/* random = UINT32_MAX reaches exactly the ceiling: 100, 200, 400 ... 20000. */
START_TEST(test_backoff_random_max_is_ceiling)
{
	static const int64_t want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 12800,
					20000, 20000, 20000 };
	unsigned a;

	for (a = 1; a <= sizeof(want) / sizeof(want[0]); a++)
		ck_assert_int_eq(ob_retry_backoff_ms(a, 100, 20000, UINT32_MAX), want[a - 1]);
	ck_assert_int_eq(ob_retry_backoff_ms(64, 100, 20000, UINT32_MAX), 20000);
	ck_assert_int_eq(ob_retry_backoff_ms(65, 100, 20000, UINT32_MAX), 20000);
	ck_assert_int_eq(ob_retry_backoff_ms(1000000, 100, 20000, UINT32_MAX), 20000);
	ck_assert_int_eq(ob_retry_backoff_ms(UINT32_MAX, 100, 20000, UINT32_MAX), 20000);
	/* base above cap: the cap wins from the first retry */
	ck_assert_int_eq(ob_retry_backoff_ms(1, 500, 100, UINT32_MAX), 100);
}
END_TEST

START_TEST(test_backoff_degenerate_inputs)
{
	ck_assert_int_eq(ob_retry_backoff_ms(3, 0, 20000, UINT32_MAX), 0);
	ck_assert_int_eq(ob_retry_backoff_ms(3, -100, 20000, UINT32_MAX), 0);
	ck_assert_int_eq(ob_retry_backoff_ms(3, 100, 0, UINT32_MAX), 0);
	ck_assert_int_eq(ob_retry_backoff_ms(3, 100, -1, UINT32_MAX), 0);
}
END_TEST

static uint32_t test_seed(void)
{
	const char *env = getenv("OB_TEST_SEED");
	uint32_t seed = env && *env ? (uint32_t)strtoul(env, NULL, 0) : (uint32_t)time(NULL);

	if (seed == 0)
		seed = 1;
	fprintf(stderr, "check_retry: OB_TEST_SEED=%" PRIu32 "\n", seed);
	return seed;
}

static uint32_t xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Seeded sweep: every value lies in [0, ceiling], and the draws are spread
 * over the range (mean near ceiling / 2), so "always 0" or "always the
 * ceiling" implementations fail. */
START_TEST(test_backoff_bounds_random)
{
	static const struct { int64_t base, cap; } cfg[] = {
		{ 100, 20000 }, { 1, 1 }, { 1, 7 }, { 250, 1000 },
		{ 1000, INT64_MAX }, { INT64_MAX / 4, INT64_MAX }, { 3, 1LL << 40 },
	};
	uint32_t seed = test_seed();
	size_t c;
	unsigned a;
	int i;

	for (c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		for (a = 1; a <= 70; a++) {
			int64_t ceil = ceiling_of(a, cfg[c].base, cfg[c].cap);
			long double sum = 0;

			for (i = 0; i < 400; i++) {
				int64_t d = ob_retry_backoff_ms(a, cfg[c].base, cfg[c].cap,
								xorshift32(&seed));

				ck_assert_msg(d >= 0 && d <= ceil,
					      "base %" PRId64 " cap %" PRId64 " attempt %u: %" PRId64
					      " outside [0, %" PRId64 "]",
					      cfg[c].base, cfg[c].cap, a, d, ceil);
				sum += (long double)d;
			}
			if (ceil >= 1000) {
				long double mean = sum / 400 / (long double)ceil;

				ck_assert_msg(mean > 0.35L && mean < 0.65L,
					      "attempt %u: mean %.3Lf of the ceiling", a, mean);
			}
		}
	}
}
END_TEST

/* Sizes near INT64_MAX: doubling and the jitter product must not overflow
 * (UBSan turns a signed overflow into a failure here). */
START_TEST(test_backoff_no_overflow)
{
	int64_t d;

	d = ob_retry_backoff_ms(1, INT64_MAX, INT64_MAX, UINT32_MAX);
	ck_assert_int_ge(d, INT64_MAX / 2);
	ck_assert_int_le(d, INT64_MAX);
	d = ob_retry_backoff_ms(2, INT64_MAX / 2 + 1, INT64_MAX, UINT32_MAX);
	ck_assert_int_ge(d, INT64_MAX / 2);
	ck_assert_int_le(d, INT64_MAX);
	d = ob_retry_backoff_ms(UINT32_MAX, 1, INT64_MAX, UINT32_MAX);
	ck_assert_int_ge(d, INT64_MAX / 2);
	d = ob_retry_backoff_ms(UINT32_MAX, 3, INT64_MAX - 1, 1u << 31);
	ck_assert_int_ge(d, INT64_MAX / 4);
	ck_assert_int_le(d, INT64_MAX / 2 + 1);
	d = ob_retry_backoff_ms(UINT32_MAX, INT64_MAX, INT64_MAX, 0);
	ck_assert_int_eq(d, 0);
	/* A ceiling of 2^32 and up keeps using the whole random range. */
	d = ob_retry_backoff_ms(1, 1LL << 40, 1LL << 40, 1u << 31);
	ck_assert_int_eq(d, 1LL << 39);
}
END_TEST

/* What an error means for a job (ob_jobs_classify): faults of AWS or the
 * network, however many, delay a job and never fail it (the faults
 * campaign, tests/reliability/faults.py, found jobs failed by a 40 s RDS
 * outage); what needs a person fails it, what may be a passing state
 * counts an attempt. */
static const struct {
	enum ob_err_kind kind;
	long status;
	const char *code;
	const char *message;
	enum ob_fsm_event_kind want;
	bool stop;
} job_rows[] = {
	/* the wire: reset, timeout, truncated body, 5xx */
	{ OB_ERR_TRANSPORT, 0, "", "Recv failure: Connection reset by peer", OB_EV_DEFER, false },
	{ OB_ERR_TRANSPORT, 0, "", "Operation timed out after 60000 milliseconds", OB_EV_DEFER, false },
	{ OB_ERR_TRANSPORT, 0, "", "transfer closed with 191 bytes remaining to read", OB_EV_DEFER, false },
	{ OB_ERR_TRANSPORT, 0, "", "Empty reply from server", OB_EV_DEFER, false },
	{ OB_ERR_AWS, 500, "InternalFailure", "", OB_EV_DEFER, false },
	{ OB_ERR_AWS, 503, "ServiceUnavailable", "", OB_EV_DEFER, false },
	{ OB_ERR_AWS, 502, "", "", OB_EV_DEFER, false },
	{ OB_ERR_CREDS, 500, "", "IMDS: unexpected HTTP status 500", OB_EV_DEFER, false },
	/* throttling and the copy quota */
	{ OB_ERR_AWS, 400, "Throttling", "Rate exceeded", OB_EV_DEFER, false },
	{ OB_ERR_AWS, 400, "RequestThrottled", "", OB_EV_DEFER, false },
	{ OB_ERR_AWS, 400, "SnapshotQuotaExceeded", "", OB_EV_DEFER, false },
	/* counted: not ready yet, still wrong after correction, local trouble */
	{ OB_ERR_AWS, 400, "InvalidDBSnapshotState", "", OB_EV_RETRY, false },
	{ OB_ERR_AWS, 400, "InvalidDBClusterSnapshotStateFault", "", OB_EV_RETRY, false },
	{ OB_ERR_AWS, 403, "RequestTimeTooSkewed", "", OB_EV_RETRY, false },
	{ OB_ERR_AWS, 400, "ExpiredToken", "", OB_EV_RETRY, false },
	{ OB_ERR_PARSE, 200, "", "malformed XML", OB_EV_RETRY, false },
	{ OB_ERR_IO, 0, "", "", OB_EV_RETRY, false },
	{ OB_ERR_NOMEM, 0, "", "", OB_EV_RETRY, false },
	{ OB_ERR_CREDS, 404, "", "no IAM role attached to this instance", OB_EV_RETRY, false },
	/* the rest needs a person */
	{ OB_ERR_AWS, 400, "InvalidParameterValue", "", OB_EV_FAIL, false },
	{ OB_ERR_AWS, 403, "AccessDenied", "", OB_EV_FAIL, false },
	{ OB_ERR_AWS, 404, "DBSnapshotNotFound", "", OB_EV_FAIL, false },
	{ OB_ERR_INVALID, 0, "", "", OB_EV_FAIL, false },
	/* shutdown */
	{ OB_ERR_CANCELLED, 0, "", "stopping", OB_EV_FAIL, true },
};

START_TEST(test_job_classify_table)
{
	struct ob_error e;
	enum ob_fsm_event_kind got;
	bool stop = !job_rows[_i].stop;

	ob_error_clear(&e);
	e.kind = job_rows[_i].kind;
	e.http_status = job_rows[_i].status;
	snprintf(e.aws_code, sizeof(e.aws_code), "%s", job_rows[_i].code);
	snprintf(e.message, sizeof(e.message), "%s", job_rows[_i].message);
	got = ob_jobs_classify(&e, &stop);
	ck_assert_int_eq(stop, job_rows[_i].stop);
	if (!job_rows[_i].stop)
		ck_assert_msg(got == job_rows[_i].want, "job row %d (%s %ld \"%s\"): got %s, want %s",
			      _i, ob_error_kind_name(job_rows[_i].kind), job_rows[_i].status,
			      job_rows[_i].code, ob_fsm_event_name(got),
			      ob_fsm_event_name(job_rows[_i].want));
}
END_TEST

#define ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *ob_suite_retry(void)
{
	Suite *s = suite_create("retry");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_classify_table, 0, ROWS(rows));
	tcase_add_loop_test(tc, test_job_classify_table, 0, ROWS(job_rows));
	tcase_add_test(tc, test_classify_null);
	tcase_add_test(tc, test_class_names);
	tcase_add_test(tc, test_backoff_attempt_zero);
	tcase_add_test(tc, test_backoff_random_zero);
	tcase_add_test(tc, test_backoff_random_max_is_ceiling);
	tcase_add_test(tc, test_backoff_degenerate_inputs);
	tcase_add_test(tc, test_backoff_bounds_random);
	tcase_add_test(tc, test_backoff_no_overflow);
	suite_add_tcase(s, tc);
	return s;
}
