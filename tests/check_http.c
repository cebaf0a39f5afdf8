/*
 * check_http.c - the libcurl transport's refusals, which happen before any
 * byte is sent (connection reuse, TLS verification, timeouts and body caps
 * are tested against real local servers in tests/integration/run.py).
 */
#include <string.h>

#include "check_ob.h"
#include "ob/http.h"

static struct ob_http *http;

static void setup(void)
{
	struct ob_error err;

	http = ob_http_new(NULL, &err);
	ck_assert_msg(http != NULL, "%s", err.message);
}

static void teardown(void)
{
	ob_http_free(http);
	http = NULL;
}

static int get(const char *url, const struct ob_http_header *h, size_t n, int plain,
	       struct ob_error *err)
{
	struct ob_http_ops ops = ob_http_ops(http);
	struct ob_http_response resp;
	struct ob_http_request req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.headers = h;
	req.n_headers = n;
	req.allow_plain_http = plain;
	/* Nothing listens on port 1: a request that got through would fail
	 * with a transport error, which the tests tell apart. */
	ob_http_response_init(&resp);
	rc = ops.perform(ops.ctx, &req, &resp, err);
	ob_http_response_clear(&resp);
	return rc;
}

START_TEST(test_header_injection_refused)
{
	static const struct ob_http_header bad_values[] = {
		{ "X-Amz-Security-Token", "tok\r\nX-Injected: yes" },
		{ "X-Amz-Security-Token", "tok\nX-Injected: yes" },
		{ "X-Amz-Security-Token", "tok\r" },
	};
	static const struct ob_http_header bad_names[] = {
		{ "X Injected", "v" }, { "X:Injected", "v" }, { "", "v" },
		{ "X\r\nY", "v" }, { "X\xc3\xa9", "v" },
	};
	struct ob_error err;
	size_t i;

	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		ck_assert_int_eq(get("http://127.0.0.1:1/", &bad_values[i], 1, 1, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_INVALID);
		ck_assert_ptr_nonnull(strstr(err.message, "refusing a header"));
		ck_assert_ptr_null(strstr(err.message, "tok"));
	}
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		ck_assert_int_eq(get("http://127.0.0.1:1/", &bad_names[i], 1, 1, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	}
}
END_TEST

START_TEST(test_bad_method_refused)
{
	static const char *const bad[] = { "", "GET /x", "GE\r\nT", NULL };
	struct ob_http_ops ops = ob_http_ops(http);
	struct ob_http_response resp;
	struct ob_http_request req;
	struct ob_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.method = bad[i];
		req.url = "http://127.0.0.1:1/";
		req.allow_plain_http = true;
		ob_http_response_init(&resp);
		ck_assert_int_eq(ops.perform(ops.ctx, &req, &resp, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_INVALID);
		ob_http_response_clear(&resp);
	}
}
END_TEST

START_TEST(test_good_header_reaches_transport)
{
	static const struct ob_http_header ok = { "X-Amz-Target", "AmazonSQS.ReceiveMessage" };
	struct ob_error err;

	ck_assert_int_eq(get("http://127.0.0.1:1/", &ok, 1, 1, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_TRANSPORT);
	ck_assert_int_ne(err.transport_code, 0);
}
END_TEST

START_TEST(test_url_refusals)
{
	static const char *const bad[] = {
		"", "127.0.0.1/", "ftp://127.0.0.1/", "file:///etc/passwd", "https:///path", "http://",
	};
	struct ob_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(get(bad[i], NULL, 0, 1, &err), -1);
		ck_assert_msg(err.kind == OB_ERR_INVALID, "%s: %s", bad[i], err.message);
	}
	ck_assert_int_eq(get("http://127.0.0.1:1/x?X-Amz-Signature=s3cr3t", NULL, 0, 0, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "plain http is refused"));
	ck_assert_ptr_null(strstr(err.message, "s3cr3t"));
}
END_TEST

START_TEST(test_transport_error_hides_query)
{
	struct ob_error err;

	ck_assert_int_eq(get("http://127.0.0.1:1/path?X-Amz-Signature=s3cr3t", NULL, 0, 1, &err),
			 -1);
	ck_assert_int_eq(err.kind, OB_ERR_TRANSPORT);
	ck_assert_ptr_nonnull(strstr(err.message, "http://127.0.0.1:1/path"));
	ck_assert_ptr_null(strstr(err.message, "s3cr3t"));
}
END_TEST

Suite *ob_suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("refusals");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_header_injection_refused);
	tcase_add_test(tc, test_bad_method_refused);
	tcase_add_test(tc, test_good_header_reaches_transport);
	tcase_add_test(tc, test_url_refusals);
	tcase_add_test(tc, test_transport_error_hides_query);
	suite_add_tcase(s, tc);
	return s;
}
