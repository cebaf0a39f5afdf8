/*
 * check_clock.c - the time formats AWS speaks: SigV4's basic ISO 8601
 * (table + a seeded comparison against gmtime_r), ISO 8601 timestamps with
 * fractions and offsets, RFC 7231 HTTP dates, and every malformed,
 * truncated or out-of-range variant refused.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_ob.h"
#include "check_util.h"
#include "ob/clock.h"

#define FAIL INT64_MIN /* "must be refused" in the tables */

/* ---- ob_clock_format_amz ------------------------------------------------ */

static const struct {
	int64_t t;
	const char *want; /* NULL = refused */
} amz_rows[] = {
	{ 0, "19700101T000000Z" },
	{ 1, "19700101T000001Z" },
	{ 1440938160, "20150830T123600Z" },
	{ 951782400, "20000229T000000Z" },          /* leap day, century rule */
	{ 951782400 + 86400, "20000301T000000Z" },
	{ 1709208000, "20240229T120000Z" },
	{ 946684799, "19991231T235959Z" },
	{ 2147483648LL, "20380119T031408Z" },       /* past 32-bit time_t */
	{ 4107542400LL, "21000301T000000Z" },       /* 2100 is not a leap year */
	{ 4107542400LL - 1, "21000228T235959Z" },
	{ 253402300799LL, "99991231T235959Z" },      /* last representable */
	{ 253402300800LL, NULL },                    /* year 10000 */
	{ -1, NULL },
	{ INT64_MIN, NULL },
	{ INT64_MAX, NULL },
};

START_TEST(test_format_amz_table)
{
	char out[17];
	int rc;

	memset(out, '#', sizeof(out));
	rc = ob_clock_format_amz(amz_rows[_i].t, out);
	if (amz_rows[_i].want == NULL) {
		ck_assert_msg(rc == -1, "%" PRId64 " must be refused", amz_rows[_i].t);
	} else {
		ck_assert_msg(rc == 0, "%" PRId64 " refused", amz_rows[_i].t);
		ck_assert_str_eq(out, amz_rows[_i].want);
	}
}
END_TEST

/* Random instants across the whole range, against libc's gmtime_r and back
 * through the ISO 8601 parser. */
START_TEST(test_format_amz_random_vs_gmtime)
{
	uint64_t seed = ob_test_seed("check_clock");
	char out[17], want[32], iso[32];
	struct tm tm;
	time_t tt;
	int64_t t, back;
	int i;

	for (i = 0; i < 20000; i++) {
		t = (int64_t)(ob_test_xorshift64(&seed) % 253402300800ULL);
		tt = (time_t)t;
		ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
		strftime(want, sizeof(want), "%Y%m%dT%H%M%SZ", &tm);
		ck_assert_int_eq(ob_clock_format_amz(t, out), 0);
		ck_assert_msg(strcmp(out, want) == 0, "t=%" PRId64 ": %s != %s", t, out, want);
		snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", out, out + 4,
			 out + 6, out + 9, out + 11, out + 13);
		ck_assert_int_eq(ob_clock_parse_iso8601(iso, &back), 0);
		ck_assert_int_eq(back, t);
	}
}
END_TEST

/* ---- ob_clock_parse_iso8601 --------------------------------------------- */

static const struct {
	const char *s;
	int64_t want; /* FAIL = refused */
} iso_rows[] = {
	{ "2015-08-30T12:36:00Z", 1440938160 },
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2015-08-30T12:36:00.000Z", 1440938160 },
	{ "2015-08-30T12:36:00.999999Z", 1440938160 }, /* fractions truncate */
	{ "2026-11-22T18:47:05.468157Z", 1795373225 },  /* as RDS sends it */
	{ "2015-08-30T12:36:00+00:00", 1440938160 },
	{ "2015-08-30T12:36:00-00:00", 1440938160 },
	{ "2015-08-30T13:36:00+01:00", 1440938160 },
	{ "2015-08-30T07:06:00-05:30", 1440938160 },
	{ "2015-08-30T12:36:00.5+01:00", 1440938160 - 3600 },
	{ "2024-02-29T12:00:00Z", 1709208000 },          /* leap day */
	{ "2000-02-29T00:00:00Z", 951782400 },
	{ "9999-12-31T23:59:59Z", 253402300799LL },
	/* impossible dates and times */
	{ "2026-02-30T00:00:00Z", FAIL },
	{ "2023-02-29T00:00:00Z", FAIL },
	{ "2100-02-29T00:00:00Z", FAIL },
	{ "2026-04-31T00:00:00Z", FAIL },
	{ "2026-13-01T00:00:00Z", FAIL },
	{ "2026-00-10T00:00:00Z", FAIL },
	{ "2026-01-00T00:00:00Z", FAIL },
	{ "2026-01-32T00:00:00Z", FAIL },
	{ "2026-01-01T24:00:00Z", FAIL },
	{ "2026-01-01T23:60:00Z", FAIL },
	{ "2026-01-01T23:00:61Z", FAIL },
	{ "1969-12-31T23:59:59Z", FAIL },                 /* before the epoch */
	/* offsets */
	{ "2015-08-30T12:36:00+24:00", FAIL },
	{ "2015-08-30T12:36:00+01:60", FAIL },
	{ "2015-08-30T12:36:00+0100", FAIL },
	{ "2015-08-30T12:36:00+01", FAIL },
	{ "2015-08-30T12:36:00+1:00", FAIL },
	{ "2015-08-30T12:36:00+01:00Z", FAIL },
	/* shape */
	{ "2015-08-30T12:36:00", FAIL },                  /* no zone */
	{ "2015-08-30T12:36:00.Z", FAIL },                /* empty fraction */
	{ "2015-08-30T12:36:00ZZ", FAIL },
	{ "2015-08-30T12:36:00Z ", FAIL },
	{ " 2015-08-30T12:36:00Z", FAIL },
	{ "2015-08-30X12:36:00Z", FAIL },
	{ "2015-8-30T12:36:00Z", FAIL },
	{ "2015-08-30T12:36Z", FAIL },
	{ "15-08-30T12:36:00Z", FAIL },
	{ "2015/08/30T12:36:00Z", FAIL },
	{ "20150830T123600Z", FAIL },                     /* basic format */
	{ "+015-08-30T12:36:00Z", FAIL },
	{ "2015-08-30T-1:36:00Z", FAIL },
	{ "2015-08-30", FAIL },
	{ "garbage", FAIL },
	{ "", FAIL },
};

START_TEST(test_parse_iso8601_table)
{
	int64_t got = 12345;
	int rc = ob_clock_parse_iso8601(iso_rows[_i].s, &got);

	if (iso_rows[_i].want == FAIL) {
		ck_assert_msg(rc == -1, "\"%s\" accepted as %" PRId64, iso_rows[_i].s, got);
	} else {
		ck_assert_msg(rc == 0, "\"%s\" refused", iso_rows[_i].s);
		ck_assert_int_eq(got, iso_rows[_i].want);
	}
}
END_TEST

START_TEST(test_parse_iso8601_null)
{
	int64_t got = 0;

	ck_assert_int_eq(ob_clock_parse_iso8601(NULL, &got), -1);
}
END_TEST

/* Every proper prefix of a valid timestamp is incomplete and refused; the
 * copy on the heap lets ASan see a read past the end. */
START_TEST(test_parse_iso8601_truncated)
{
	static const char full[] = "2015-08-30T12:36:00.123+01:00";
	int64_t got;
	size_t n;
	char *p;

	ck_assert_int_eq(ob_clock_parse_iso8601(full, &got), 0);
	for (n = 0; n < sizeof(full) - 1; n++) {
		p = strndup(full, n);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(ob_clock_parse_iso8601(p, &got) == -1, "prefix \"%s\" accepted", p);
		free(p);
	}
}
END_TEST

/* ---- ob_clock_parse_http_date ------------------------------------------- */

static const struct {
	const char *s;
	int64_t want;
} http_rows[] = {
	{ "Sun, 30 Aug 2015 12:36:00 GMT", 1440938160 },
	{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
	{ "Sun, 22 Nov 2026 18:47:05 GMT", 1795373225 },
	{ "Thu, 29 Feb 2024 12:00:00 GMT", 1709208000 },
	{ "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799LL },
	/* wrong zone */
	{ "Sun, 30 Aug 2015 12:36:00 UTC", FAIL },
	{ "Sun, 30 Aug 2015 12:36:00 PST", FAIL },
	{ "Sun, 30 Aug 2015 12:36:00 +0000", FAIL },
	{ "Sun, 30 Aug 2015 12:36:00 gmt", FAIL },
	{ "Sun, 30 Aug 2015 12:36:00 GMTX", FAIL },
	{ "Sun, 30 Aug 2015 12:36:00 GMT ", FAIL },
	/* bad month */
	{ "Sun, 30 Foo 2015 12:36:00 GMT", FAIL },
	{ "Sun, 30 aug 2015 12:36:00 GMT", FAIL },
	{ "Sun, 30 anF 2015 12:36:00 GMT", FAIL },  /* straddles "Jan"+"Feb" */
	{ "Sun, 30 Au 2015 12:36:00 GMT", FAIL },
	{ "Sun, 30 August 2015 12:36:00 GMT", FAIL },
	/* impossible values */
	{ "Sun, 31 Sep 2015 12:36:00 GMT", FAIL },
	{ "Sun, 29 Feb 2015 12:36:00 GMT", FAIL },
	{ "Sun, 00 Aug 2015 12:36:00 GMT", FAIL },
	{ "Sun, 30 Aug 2015 24:00:00 GMT", FAIL },
	{ "Sun, 30 Aug 2015 12:60:00 GMT", FAIL },
	{ "Sun, 30 Aug 1969 12:36:00 GMT", FAIL },
	{ "Sun, 30 Aug 2015 -1:36:00 GMT", FAIL },   /* negative fields */
	{ "Sun, 30 Aug 2015 12:-1:00 GMT", FAIL },
	{ "Sun, 30 Aug 2015 12:36:-1 GMT", FAIL },
	{ "Sun, -1 Aug 2015 12:36:00 GMT", FAIL },
	/* truncated */
	{ "Sun, 30 Aug 2015 12:36:00", FAIL },
	{ "Sun, 30 Aug 2015 12:36", FAIL },
	{ "Sun, 30 Aug 2015", FAIL },
	{ "Sun, 30 Aug", FAIL },
	{ "Sun,", FAIL },
	{ "", FAIL },
	/* other date formats are not what AWS sends */
	{ "Sunday, 30-Aug-15 12:36:00 GMT", FAIL },
	{ "Sun Aug 30 12:36:00 2015", FAIL },
	{ "2015-08-30T12:36:00Z", FAIL },
	{ "garbage", FAIL },
};

START_TEST(test_parse_http_date_table)
{
	int64_t got = 12345;
	int rc = ob_clock_parse_http_date(http_rows[_i].s, &got);

	if (http_rows[_i].want == FAIL) {
		ck_assert_msg(rc == -1, "\"%s\" accepted as %" PRId64, http_rows[_i].s, got);
	} else {
		ck_assert_msg(rc == 0, "\"%s\" refused", http_rows[_i].s);
		ck_assert_int_eq(got, http_rows[_i].want);
	}
}
END_TEST

START_TEST(test_parse_http_date_null)
{
	int64_t got = 0;

	ck_assert_int_eq(ob_clock_parse_http_date(NULL, &got), -1);
}
END_TEST

/* ---- the system clock --------------------------------------------------- */

START_TEST(test_system_clock)
{
	const struct ob_clock *c = ob_clock_system();
	int64_t wall, m1, m2;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(c, ob_clock_system());
	wall = c->now_ms(c->ctx);
	ck_assert_int_ge(wall, (int64_t)time(NULL) * 1000 - 2000);
	ck_assert_int_le(wall, (int64_t)time(NULL) * 1000 + 2000);
	m1 = c->mono_ms(c->ctx);
	ck_assert_int_eq(c->sleep_ms(c->ctx, 20), 0);
	m2 = c->mono_ms(c->ctx);
	ck_assert_int_ge(m2 - m1, 19);
	/* Non-positive waits return at once. */
	ck_assert_int_eq(c->sleep_ms(c->ctx, 0), 0);
	ck_assert_int_eq(c->sleep_ms(c->ctx, -5), 0);
}
END_TEST

#define ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *ob_suite_clock(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_format_amz_table, 0, ROWS(amz_rows));
	tcase_add_test(tc, test_format_amz_random_vs_gmtime);
	tcase_add_loop_test(tc, test_parse_iso8601_table, 0, ROWS(iso_rows));
	tcase_add_test(tc, test_parse_iso8601_null);
	tcase_add_test(tc, test_parse_iso8601_truncated);
	tcase_add_loop_test(tc, test_parse_http_date_table, 0, ROWS(http_rows));
	tcase_add_test(tc, test_parse_http_date_null);
	tcase_add_test(tc, test_system_clock);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
