/*
 * check_uri.c - percent-encoding: every byte value, the unreserved set,
 * bytes >= 0x80, empty input, truncated and malformed escapes, appending,
 * size limits.
 */
#include <stdio.h>
#include <string.h>

#include "check_ob.h"
#include "ob/buf.h"
#include "ob/uri.h"

static const char unreserved[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";

START_TEST(unreserved_set_is_exact)
{
	int c;

	for (c = 0; c < 256; c++) {
		bool want = c != 0 && strchr(unreserved, c) != NULL;

		ck_assert_msg(ob_uri_unreserved((unsigned char)c) == want, "byte 0x%02x", c);
	}
}
END_TEST

START_TEST(encode_every_byte)
{
	struct ob_buf b = OB_BUF_INIT;
	int c;

	for (c = 0; c < 256; c++) {
		char in = (char)c, want[4];

		if (c != 0 && strchr(unreserved, c) != NULL)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		ob_buf_reset(&b);
		ck_assert_int_eq(ob_uri_encode(&b, &in, 1, false), 0);
		ck_assert_str_eq(b.data, want);
	}
	ob_buf_clear(&b);
}
END_TEST

START_TEST(encode_examples)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_uri_encode(&b, "a b+c*d%e/f", 11, false), 0);
	ck_assert_str_eq(b.data, "a%20b%2Bc%2Ad%25e%2Ff");
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_uri_encode(&b, "/a b/c", 6, true), 0);
	ck_assert_str_eq(b.data, "/a%20b/c");
	ob_buf_reset(&b);
	/* U+1234 in UTF-8: never judged by locale-dependent ctype. */
	ck_assert_int_eq(ob_uri_encode(&b, "\xe1\x88\xb4", 3, true), 0);
	ck_assert_str_eq(b.data, "%E1%88%B4");
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_uri_encode(&b, "\xff\x80", 2, false), 0);
	ck_assert_str_eq(b.data, "%FF%80");
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_uri_encode(&b, unreserved, strlen(unreserved), false), 0);
	ck_assert_str_eq(b.data, unreserved);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(encode_embedded_nul)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_uri_encode(&b, "a\0b", 3, false), 0);
	ck_assert_str_eq(b.data, "a%00b");
	ck_assert_uint_eq(b.len, 5);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(encode_empty_and_append)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_uri_encode(&b, "", 0, false), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(ob_buf_puts(&b, "k="), 0);
	ck_assert_int_eq(ob_uri_encode(&b, "v w", 3, false), 0);
	ck_assert_int_eq(ob_uri_encode(&b, "", 0, true), 0);
	ck_assert_str_eq(b.data, "k=v%20w");
	ck_assert_uint_eq(b.len, 7);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(encode_respects_limit)
{
	struct ob_buf b = OB_BUF_INIT;

	b.max = 5;
	ck_assert_int_eq(ob_uri_encode(&b, "abcde", 5, false), 0); /* fits exactly */
	ck_assert_str_eq(b.data, "abcde");
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_uri_encode(&b, "ab de", 5, false), -1); /* 7 > 5 */
	ck_assert_uint_eq(b.len, 0);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(decode_examples)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_uri_decode(&b, "%41%42c", 7), 0);
	ck_assert_str_eq(b.data, "ABc");
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_uri_decode(&b, "%e1%88%B4", 9), 0);
	ck_assert_str_eq(b.data, "\xe1\x88\xb4");
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_uri_decode(&b, "a+b", 3), 0);
	ck_assert_str_eq(b.data, "a+b"); /* '+' is not a space here */
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_uri_decode(&b, "%%41", 4), 0);
	ck_assert_str_eq(b.data, "%A");
	ob_buf_clear(&b);
}
END_TEST

START_TEST(decode_truncated_and_bad_escapes)
{
	static const char *const cases[][2] = {
		{ "%", "%" }, { "%4", "%4" }, { "abc%", "abc%" }, { "abc%4", "abc%4" },
		{ "%zz", "%zz" }, { "%4g", "%4g" }, { "%g4", "%g4" }, { "% 1", "% 1" },
	};
	struct ob_buf b = OB_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ob_buf_reset(&b);
		ck_assert_int_eq(ob_uri_decode(&b, cases[i][0], strlen(cases[i][0])), 0);
		ck_assert_str_eq(b.data, cases[i][1]);
	}
	/* The length bounds the input: an escape cut by it stays literal. */
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_uri_decode(&b, "%41", 2), 0);
	ck_assert_str_eq(b.data, "%4");
	ob_buf_clear(&b);
}
END_TEST

START_TEST(decode_empty_and_nul)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_uri_decode(&b, "", 0), 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(ob_uri_decode(&b, "a%00b", 5), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "a\0b", 3), 0);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(round_trip_all_bytes)
{
	struct ob_buf enc = OB_BUF_INIT, dec = OB_BUF_INIT;
	char all[256];
	int c;

	for (c = 0; c < 256; c++)
		all[c] = (char)c;
	ck_assert_int_eq(ob_uri_encode(&enc, all, sizeof(all), false), 0);
	ck_assert_int_eq(ob_uri_decode(&dec, enc.data, enc.len), 0);
	ck_assert_uint_eq(dec.len, sizeof(all));
	ck_assert_int_eq(memcmp(dec.data, all, sizeof(all)), 0);
	ob_buf_clear(&enc);
	ob_buf_clear(&dec);
}
END_TEST

START_TEST(test_split)
{
	static const struct {
		const char *url;
		int rc;
		bool https;
		const char *authority, *path, *query;
		bool fragment, userinfo;
	} rows[] = {
		{ "https://rds.eu-central-1.amazonaws.com/", 0, true,
		  "rds.eu-central-1.amazonaws.com", "/", NULL, false, false },
		{ "http://127.0.0.1:5000", 0, false, "127.0.0.1:5000", "", NULL, false, false },
		{ "HTTP://[::1]:4566/a/b?x=1#f", 0, false, "[::1]:4566", "/a/b", "x=1", true, false },
		{ "https://h?", 0, true, "h", "", "", false, false },
		{ "https://u:p@h/x", 0, true, "u:p@h", "/x", NULL, false, true },
		{ "https://h#", 0, true, "h", "", NULL, true, false },
		{ "https://", -1, false, NULL, NULL, NULL, false, false },
		{ "https:///x", -1, false, NULL, NULL, NULL, false, false },
		{ "ftp://h/", -1, false, NULL, NULL, NULL, false, false },
		{ "h/x", -1, false, NULL, NULL, NULL, false, false },
		{ "", -1, false, NULL, NULL, NULL, false, false },
	};
	struct ob_uri_parts u;
	size_t i;

	ck_assert_int_eq(ob_uri_split(NULL, &u), -1);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_msg(ob_uri_split(rows[i].url, &u) == rows[i].rc, "%s", rows[i].url);
		if (rows[i].rc < 0)
			continue;
		ck_assert_int_eq(u.https, rows[i].https);
		ck_assert_uint_eq(u.authority_len, strlen(rows[i].authority));
		ck_assert_int_eq(strncmp(u.authority, rows[i].authority, u.authority_len), 0);
		ck_assert_uint_eq(u.path_len, strlen(rows[i].path));
		ck_assert_int_eq(strncmp(u.path, rows[i].path, u.path_len), 0);
		if (rows[i].query == NULL) {
			ck_assert_ptr_null(u.query);
		} else {
			ck_assert_ptr_nonnull(u.query);
			ck_assert_uint_eq(u.query_len, strlen(rows[i].query));
			ck_assert_int_eq(strncmp(u.query, rows[i].query, u.query_len), 0);
		}
		ck_assert_int_eq(u.has_fragment, rows[i].fragment);
		ck_assert_int_eq(u.has_userinfo, rows[i].userinfo);
	}
}
END_TEST

Suite *ob_suite_uri(void)
{
	Suite *s = suite_create("uri");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, unreserved_set_is_exact);
	tcase_add_test(tc, encode_every_byte);
	tcase_add_test(tc, encode_examples);
	tcase_add_test(tc, encode_embedded_nul);
	tcase_add_test(tc, encode_empty_and_append);
	tcase_add_test(tc, encode_respects_limit);
	tcase_add_test(tc, decode_examples);
	tcase_add_test(tc, decode_truncated_and_bad_escapes);
	tcase_add_test(tc, decode_empty_and_nul);
	tcase_add_test(tc, round_trip_all_bytes);
	tcase_add_test(tc, test_split);
	suite_add_tcase(s, tc);
	return s;
}
