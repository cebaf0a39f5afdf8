/*
 * check_error.c - filling, prefixing and printing struct ob_error.
 */
#include <errno.h>
#include <string.h>

#include "check_ob.h"
#include "ob/error.h"

START_TEST(test_set_and_str)
{
	struct ob_error err;
	char line[256];

	ck_assert_int_eq(ob_error_set(&err, OB_ERR_CONFIG, "bad %s", "thing"), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
	ck_assert_str_eq(err.message, "bad thing");
	ck_assert_str_eq(ob_error_str(&err, line, sizeof(line)), "configuration error: bad thing");
	ck_assert_int_eq(ob_error_set(NULL, OB_ERR_IO, "ignored"), -1);
	ob_error_clear(NULL);
	ob_error_clear(&err);
	ck_assert_str_eq(ob_error_str(&err, line, sizeof(line)), "no error");
	err.kind = OB_ERR_AWS;
	err.http_status = 403;
	strcpy(err.aws_code, "AccessDenied");
	strcpy(err.message, "no");
	strcpy(err.request_id, "r-1");
	ck_assert_str_eq(ob_error_str(&err, line, sizeof(line)),
			 "AWS error 403 AccessDenied: no (request id r-1)");
}
END_TEST

START_TEST(test_errno)
{
	struct ob_error err;

	ob_error_errno(&err, OB_ERR_IO, ENOENT, "open %s", "/x");
	ck_assert_int_eq(err.sys_errno, ENOENT);
	ck_assert_str_eq(err.message, "open /x: No such file or directory");
}
END_TEST

START_TEST(test_prefix_keeps_fields_and_truncates)
{
	struct ob_error err;
	char big[1000];

	ob_error_set(&err, OB_ERR_AWS, "inner");
	err.http_status = 503;
	strcpy(err.aws_code, "ServiceUnavailable");
	ob_error_prefix(&err, "after %u attempts", 3u);
	ck_assert_str_eq(err.message, "after 3 attempts: inner");
	ck_assert_int_eq(err.http_status, 503);
	ck_assert_str_eq(err.aws_code, "ServiceUnavailable");

	/* A full message: the prefix wins, the tail is cut, never overflowing. */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ob_error_set(&err, OB_ERR_AWS, "%s", big);
	ck_assert_uint_eq(strlen(err.message), sizeof(err.message) - 1);
	ob_error_prefix(&err, "ctx");
	ck_assert_uint_eq(strlen(err.message), sizeof(err.message) - 1);
	ck_assert_int_eq(strncmp(err.message, "ctx: mmm", 8), 0);
	/* A prefix longer than the record. */
	ob_error_prefix(&err, "%s", big);
	ck_assert_uint_eq(strlen(err.message), sizeof(err.message) - 1);
	ck_assert_int_eq(ob_error_prefix(NULL, "x"), -1);
}
END_TEST

Suite *ob_suite_error(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("error");

	tcase_add_test(tc, test_set_and_str);
	tcase_add_test(tc, test_errno);
	tcase_add_test(tc, test_prefix_keeps_fields_and_truncates);
	suite_add_tcase(s, tc);
	return s;
}
