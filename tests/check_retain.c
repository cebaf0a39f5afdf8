/*
 * check_retain.c - GFS retention: hand-worked tables (days, ISO weeks across
 * New Year, months of every length and leap days, years, unsorted input,
 * ties), n = 0 and 1, invalid input, a calendar sweep over every day from
 * 1970 to 2200, a 400-day simulation that applies retention each day and
 * checks it against an expectation computed from every copy ever made, and
 * a seeded random comparison. The reference here names buckets with
 * strftime() strings ("%G-W%V" for ISO weeks, checked first against dates
 * worked by hand) and picks them by brute force, not by sorting and walking
 * as the module does.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_ob.h"
#include "ob/retain.h"

#define ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* For hot loops: Check's ck_assert*() records a mark point on every pass
 * (a write to the runner's pipe); this one only speaks on failure. */
#define REQUIRE(cond, ...)					\
	do {							\
		if (!(cond))					\
			ck_abort_msg(__VA_ARGS__);		\
	} while (0)

#define DAY ((int64_t)86400)
#define T_LAST ((int64_t)253402300799) /* 9999-12-31T23:59:59Z */

/* ---- helpers -------------------------------------------------------------- */

/* "YYYY-MM-DD[ HH:MM[:SS]]" in UTC. A date that does not exist (2023-02-29)
 * fails the test rather than rolling over, so a table cannot lie. */
static int64_t at(const char *s)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n;
	struct tm tm, back;
	time_t t;

	n = sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec);
	REQUIRE(n == 3 || n == 5 || n == 6, "bad time \"%s\"", s);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	REQUIRE(gmtime_r(&t, &back) != NULL && back.tm_year == y - 1900 &&
			back.tm_mon == mo - 1 && back.tm_mday == d && back.tm_hour == h &&
			back.tm_min == mi && back.tm_sec == sec,
		"no such time \"%s\"", s);
	return (int64_t)t;
}

static uint32_t test_seed(const char *test)
{
	const char *env = getenv("OB_TEST_SEED");
	uint32_t seed = env && *env ? (uint32_t)strtoul(env, NULL, 0) : (uint32_t)time(NULL);

	if (seed == 0)
		seed = 1;
	fprintf(stderr, "check_retain: %s: OB_TEST_SEED=%" PRIu32 "\n", test, seed);
	return seed;
}

static uint32_t xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint64_t rand64(uint32_t *s)
{
	uint64_t hi = xorshift32(s);

	return hi << 32 | xorshift32(s);
}

/* ob_retain_select() that must succeed and leave err alone. */
static void select_ok(const int64_t *t, size_t n, const struct ob_retain_policy *p, bool *keep,
		      const char *what)
{
	struct ob_error e;
	int rc;

	ob_error_clear(&e);
	rc = ob_retain_select(t, n, p, keep, &e);
	REQUIRE(rc == 0, "%s: refused: %s", what, e.message);
	REQUIRE(e.kind == OB_ERR_NONE, "%s: error set on success", what);
}

/* ---- the reference -------------------------------------------------------- */

enum { R_DAY, R_WEEK, R_MONTH, R_YEAR, R_COUNT };

/* Bucket names, zero-padded and of fixed width, so string order is time
 * order for years 1970..9999 (ref_keys() checks the width). */
static const char *const key_fmt[R_COUNT] = { "%Y-%m-%d", "%G-W%V", "%Y-%m", "%Y" };

typedef char bucket_keys[R_COUNT][16];

static void ref_keys(int64_t t, bucket_keys key)
{
	time_t tt = (time_t)t;
	struct tm tm;

	REQUIRE(gmtime_r(&tt, &tm) != NULL, "gmtime_r(%" PRId64 ")", t);
	/* literal formats, so that -Wformat=2 can check them */
	REQUIRE(strftime(key[R_DAY], sizeof(key[R_DAY]), "%Y-%m-%d", &tm) == 10 &&
			strftime(key[R_WEEK], sizeof(key[R_WEEK]), "%G-W%V", &tm) == 8 &&
			strftime(key[R_MONTH], sizeof(key[R_MONTH]), "%Y-%m", &tm) == 7 &&
			strftime(key[R_YEAR], sizeof(key[R_YEAR]), "%Y", &tm) == 4,
		"strftime(%" PRId64 ")", t);
}

static long rule_count(const struct ob_retain_policy *p, int r)
{
	const long c[R_COUNT] = { p->daily, p->weekly, p->monthly, p->yearly };

	return c[r];
}

/* i is newer than j: later, or as late and later in the array. */
static bool newer(const int64_t *t, size_t i, size_t j)
{
	return t[i] > t[j] || (t[i] == t[j] && i > j);
}

/* For each rule: repeatedly find the largest bucket key below the last one
 * taken (a scan over every copy), keep the newest copy holding it, until k
 * buckets or no more. Plus the newest copy overall. O(n * buckets). */
static void ref_select(const int64_t *t, const bucket_keys *key, size_t n,
		       const struct ob_retain_policy *p, bool *want)
{
	size_t i, newest = 0;
	int r;

	for (i = 0; i < n; i++) {
		want[i] = false;
		if (newer(t, i, newest))
			newest = i;
	}
	if (n == 0)
		return;
	want[newest] = true;
	for (r = 0; r < R_COUNT; r++) {
		const char *below = NULL;
		long taken;

		for (taken = 0; taken < rule_count(p, r); taken++) {
			size_t best = n;

			for (i = 0; i < n; i++) {
				int c;

				if (below != NULL && strcmp(key[i][r], below) >= 0)
					continue;
				if (best == n) {
					best = i;
					continue;
				}
				c = strcmp(key[i][r], key[best][r]);
				if (c > 0 || (c == 0 && newer(t, i, best)))
					best = i;
			}
			if (best == n)
				break;
			want[best] = true;
			below = key[best][r];
		}
	}
}

/* The reference must first get ISO weeks right where they go wrong. */
START_TEST(test_reference_iso_weeks)
{
	static const struct { const char *day, *week; } rows[] = {
		{ "1970-01-01", "1970-W01" }, { "1970-01-04", "1970-W01" },
		{ "1970-01-05", "1970-W02" }, { "2015-12-31", "2015-W53" },
		{ "2016-01-03", "2015-W53" }, { "2016-01-04", "2016-W01" },
		{ "2018-12-30", "2018-W52" }, { "2018-12-31", "2019-W01" },
		{ "2019-12-29", "2019-W52" }, { "2019-12-30", "2020-W01" },
		{ "2020-12-31", "2020-W53" }, { "2021-01-01", "2020-W53" },
		{ "2021-01-03", "2020-W53" }, { "2021-01-04", "2021-W01" },
		{ "2024-12-29", "2024-W52" }, { "2024-12-30", "2025-W01" },
		{ "2026-12-28", "2026-W53" }, { "2027-01-03", "2026-W53" },
		{ "2027-01-04", "2027-W01" }, { "9999-01-01", "9998-W53" },
		{ "9999-12-31", "9999-W52" },
	};
	bucket_keys key;
	int i;

	for (i = 0; i < ROWS(rows); i++) {
		ref_keys(at(rows[i].day) + 43200, key);
		ck_assert_msg(strcmp(key[R_WEEK], rows[i].week) == 0, "%s: week %s, want %s",
			      rows[i].day, key[R_WEEK], rows[i].week);
		ref_keys(at(rows[i].day), key);
		ck_assert_str_eq(key[R_WEEK], rows[i].week);
		ref_keys(at(rows[i].day) + DAY - 1, key);
		ck_assert_str_eq(key[R_WEEK], rows[i].week);
	}
}
END_TEST

/* ---- hand-worked tables --------------------------------------------------- */

#define MAX_ROW 16

struct table_case {
	const char *name;
	struct ob_retain_policy p;
	const char *times[MAX_ROW]; /* ends at the first NULL */
	const char *want;           /* per copy: 'K' kept, '.' deleted */
};

static const struct table_case tables[] = {
	{ "daily 7 over 10 consecutive days keeps the last 7", { 7, 0, 0, 0 },
	  { "2024-03-01 12:00", "2024-03-02 12:00", "2024-03-03 12:00", "2024-03-04 12:00",
	    "2024-03-05 12:00", "2024-03-06 12:00", "2024-03-07 12:00", "2024-03-08 12:00",
	    "2024-03-09 12:00", "2024-03-10 12:00" },
	  "...KKKKKKK" },
	{ "daily 3: two a day keeps the newer", { 3, 0, 0, 0 },
	  { "2024-03-01 10:00", "2024-03-01 22:00", "2024-03-02 08:00", "2024-03-03 00:00",
	    "2024-03-03 23:59:59" },
	  ".KK.K" },
	{ "daily 2: the third day goes", { 2, 0, 0, 0 },
	  { "2024-03-01 10:00", "2024-03-01 22:00", "2024-03-02 08:00", "2024-03-03 00:00",
	    "2024-03-03 23:59:59" },
	  "..K.K" },
	{ "daily: midnight starts a day", { 2, 0, 0, 0 },
	  { "2024-03-01 23:59:59", "2024-03-02 00:00:00", "2024-03-02 00:00:01" },
	  "K.K" },
	{ "daily: a gap does not count as a day", { 3, 0, 0, 0 },
	  { "2024-01-01 12:00", "2024-02-01 12:00", "2024-03-01 12:00", "2024-03-05 12:00" },
	  ".KKK" },
	{ "weekly 3 across 2019/2020 (ISO 2020-W01 starts 2019-12-30)", { 0, 3, 0, 0 },
	  { "2019-12-21 12:00", "2019-12-28 12:00", "2019-12-29 12:00", "2019-12-30 12:00",
	    "2020-01-01 12:00", "2020-01-05 23:59:59", "2020-01-06 00:00" },
	  "..K..KK" },
	{ "weekly 2 across 2020/2021 (2020-W53)", { 0, 2, 0, 0 },
	  { "2020-12-27 12:00", "2020-12-28 08:00", "2020-12-31 12:00", "2021-01-01 12:00",
	    "2021-01-03 23:00", "2021-01-04 01:00" },
	  "....KK" },
	{ "weekly 3 across 2020/2021 (2020-W53)", { 0, 3, 0, 0 },
	  { "2020-12-27 12:00", "2020-12-28 08:00", "2020-12-31 12:00", "2021-01-01 12:00",
	    "2021-01-03 23:00", "2021-01-04 01:00" },
	  "K...KK" },
	{ "weekly 3 across 2026/2027 (2026-W53)", { 0, 3, 0, 0 },
	  { "2026-12-27 12:00", "2026-12-28 00:00", "2027-01-01 12:00", "2027-01-03 12:00",
	    "2027-01-04 12:00", "2027-01-10 23:59:59" },
	  "K..K.K" },
	{ "weekly: Sunday night and Monday morning", { 0, 2, 0, 0 },
	  { "2024-06-09 23:59:59", "2024-06-10 00:00:00", "2024-06-03 00:00:00",
	    "2024-06-02 23:59:59" },
	  "KK.." },
	{ "monthly 4: 31, 29 (leap), 31, 30-day months", { 0, 0, 4, 0 },
	  { "2024-01-31 12:00", "2024-02-01 00:00", "2024-02-29 23:59:59", "2024-03-01 00:00",
	    "2024-03-31 23:59:59", "2024-04-30 23:59:59", "2024-05-01 00:00" },
	  "..K.KKK" },
	{ "monthly 3: February 2023 has 28 days", { 0, 0, 3, 0 },
	  { "2023-01-31 23:59:59", "2023-02-28 23:59:59", "2023-03-01 00:00", "2023-02-01 00:00" },
	  "KKK." },
	{ "monthly 2: 2100 is not a leap year", { 0, 0, 2, 0 },
	  { "2100-02-28 23:59:59", "2100-03-01 00:00:00", "2100-02-01 00:00" },
	  "KK." },
	{ "monthly 2: 2000 is a leap year", { 0, 0, 2, 0 },
	  { "2000-02-28 23:59:59", "2000-02-29 23:59:59", "2000-03-01 00:00:00" },
	  ".KK" },
	{ "yearly 3", { 0, 0, 0, 3 },
	  { "2021-12-31 23:59:59", "2022-01-01 00:00:00", "2022-06-01 12:00", "2023-03-01 12:00",
	    "2024-12-31 23:59:59", "2020-07-01" },
	  "..KKK." },
	{ "yearly 2 at the end of time", { 0, 0, 0, 2 },
	  { "9999-12-31 23:59:59", "9999-01-01 00:00", "9998-12-31 23:59:59", "1970-01-01" },
	  "K.K." },
	{ "daily 1, weekly 2 at the start of time", { 1, 2, 0, 0 },
	  { "1970-01-01 00:00:00", "1970-01-04 23:59:59", "1970-01-05 00:00:00" },
	  ".KK" },
	/* daily -> 03-02, 03-01; weekly -> 03-02 (week of 02-26);
	 * monthly -> 03-02, 02-27, 01-15. */
	{ "daily 2, weekly 1, monthly 3: the union", { 2, 1, 3, 0 },
	  { "2024-01-15 12:00", "2024-02-20 12:00", "2024-02-27 12:00", "2024-03-01 12:00",
	    "2024-03-02 12:00" },
	  "K.KKK" },
	/* daily -> 12-31, 12-30; weekly -> 12-31 (2025-W01), 12-29 (W52);
	 * monthly -> 12-31, 11-30; yearly -> 12-31, 2023-06-15. */
	{ "7/4/12/5 shape in miniature: 2/2/2/2", { 2, 2, 2, 2 },
	  { "2023-06-15 12:00", "2024-11-01 12:00", "2024-11-30 12:00", "2024-12-29 12:00",
	    "2024-12-30 12:00", "2024-12-31 12:00", "2024-12-28 12:00" },
	  "K.KKKK." },
	{ "all zero keeps only the newest", { 0, 0, 0, 0 },
	  { "2024-03-03", "2024-03-05", "2024-03-04", "2024-03-01", "2024-03-02" },
	  ".K..." },
	{ "unsorted input", { 3, 0, 0, 0 },
	  { "2024-03-05", "2024-03-01", "2024-03-04", "2024-03-02", "2024-03-03" },
	  "K.K.K" },
	{ "equal times: the higher index is newer", { 2, 0, 0, 0 },
	  { "2024-03-02 12:00", "2024-03-01 12:00", "2024-03-02 12:00", "2024-03-01 12:00" },
	  "..KK" },
	{ "all zero, three equal newest", { 0, 0, 0, 0 },
	  { "2024-03-02 12:00", "2024-03-02 12:00", "2024-03-02 12:00", "2024-03-01 12:00" },
	  "..K." },
	{ "counts beyond the history keep one per bucket", { 100, 100, 100, 100 },
	  { "2024-03-01 10:00", "2024-03-01 11:00", "2024-03-02 09:00" },
	  ".KK" },
	{ "LONG_MAX counts", { LONG_MAX, LONG_MAX, LONG_MAX, LONG_MAX },
	  { "2024-03-01 10:00", "2024-03-01 11:00", "1970-01-01", "9999-12-31 23:59:59" },
	  ".KKK" },
};

START_TEST(test_table)
{
	const struct table_case *c = &tables[_i];
	int64_t t[MAX_ROW];
	bool keep[MAX_ROW], want[MAX_ROW];
	bucket_keys key[MAX_ROW];
	size_t n, i;

	for (n = 0; n < MAX_ROW && c->times[n] != NULL; n++) {
		t[n] = at(c->times[n]);
		ref_keys(t[n], key[n]);
	}
	ck_assert_msg(strlen(c->want) == n, "%s: want has %zu marks for %zu copies", c->name,
		      strlen(c->want), n);
	select_ok(t, n, &c->p, keep, c->name);
	ref_select(t, (const bucket_keys *)key, n, &c->p, want);
	for (i = 0; i < n; i++) {
		ck_assert_msg(keep[i] == (c->want[i] == 'K'), "%s: copy %zu (%s) %s", c->name, i,
			      c->times[i], keep[i] ? "kept" : "deleted");
		/* The hand-worked tables also check the reference. */
		ck_assert_msg(want[i] == (c->want[i] == 'K'), "%s: reference disagrees on %zu",
			      c->name, i);
	}
}
END_TEST

/* ---- small n, bad input --------------------------------------------------- */

START_TEST(test_n_zero_and_one)
{
	static const struct ob_retain_policy pols[] = {
		{ 0, 0, 0, 0 }, { 7, 4, 12, 5 }, { 0, 0, 0, 1 }, { LONG_MAX, 0, LONG_MAX, 0 },
	};
	const int64_t one[1] = { 1700000000 };
	bool keep[1];
	int i;

	for (i = 0; i < ROWS(pols); i++) {
		select_ok(NULL, 0, &pols[i], NULL, "n = 0, NULL arrays");
		select_ok(one, 0, &pols[i], keep, "n = 0");
		keep[0] = false;
		select_ok(one, 1, &pols[i], keep, "n = 1");
		ck_assert(keep[0]);
	}
	keep[0] = false;
	select_ok((const int64_t[]){ 0 }, 1, &pols[0], keep, "n = 1, epoch");
	ck_assert(keep[0]);
	keep[0] = false;
	select_ok((const int64_t[]){ T_LAST }, 1, &pols[0], keep, "n = 1, 9999");
	ck_assert(keep[0]);
}
END_TEST

/* The call must fail with OB_ERR_INVALID, leave keep[] as it was (checked
 * as bytes) and fail the same way with err == NULL. */
static void assert_rejected(const int64_t *t, size_t n, const struct ob_retain_policy *p,
			    bool *keep, const char *what)
{
	unsigned char before[8];
	struct ob_error e;
	size_t m = n < sizeof(before) ? n : sizeof(before);

	if (keep != NULL)
		memset(keep, 0x5a, m);
	memset(before, 0x5a, sizeof(before));
	ob_error_clear(&e);
	ck_assert_msg(ob_retain_select(t, n, p, keep, &e) == -1, "%s: accepted", what);
	ck_assert_msg(e.kind == OB_ERR_INVALID, "%s: error kind %d", what, (int)e.kind);
	ck_assert_msg(e.message[0] != '\0', "%s: empty message", what);
	if (keep != NULL)
		ck_assert_msg(memcmp(keep, before, m) == 0, "%s: keep[] written on error", what);
	ck_assert_msg(ob_retain_select(t, n, p, keep, NULL) == -1, "%s: accepted (NULL err)",
		      what);
	if (keep != NULL)
		ck_assert_msg(memcmp(keep, before, m) == 0, "%s: keep[] written (NULL err)", what);
}

START_TEST(test_invalid)
{
	static const int64_t bad_times[] = { -1, T_LAST + 1, INT64_MIN, INT64_MAX, -DAY,
					     (int64_t)1 << 40 };
	static const long bad_counts[] = { -1, -7, LONG_MIN };
	const struct ob_retain_policy ok = { 7, 4, 12, 5 };
	int64_t t[4] = { 1700000000, 1700086400, 1600000000, 1500000000 };
	bool keep[4];
	char what[96];
	int i, j, pos;

	for (i = 0; i < ROWS(bad_counts); i++) {
		for (j = 0; j < 4; j++) {
			struct ob_retain_policy p = ok;
			long *field[4] = { &p.daily, &p.weekly, &p.monthly, &p.yearly };

			*field[j] = bad_counts[i];
			snprintf(what, sizeof(what), "count %d = %ld", j, bad_counts[i]);
			assert_rejected(t, 4, &p, keep, what);
			/* a bad policy is bad even with nothing to keep */
			assert_rejected(NULL, 0, &p, NULL, what);
		}
	}
	assert_rejected(t, 4, NULL, keep, "NULL policy");
	assert_rejected(NULL, 0, NULL, NULL, "NULL policy, n = 0");
	assert_rejected(NULL, 4, &ok, keep, "NULL times");
	assert_rejected(t, 4, &ok, NULL, "NULL keep");
	assert_rejected(NULL, 1, &ok, NULL, "both NULL");
	for (i = 0; i < ROWS(bad_times); i++) {
		for (pos = 0; pos < 4; pos++) {
			int64_t u[4] = { 1700000000, 1700086400, 1600000000, 1500000000 };

			u[pos] = bad_times[i];
			snprintf(what, sizeof(what), "time %" PRId64 " at %d", bad_times[i], pos);
			assert_rejected(u, 4, &ok, keep, what);
		}
	}
	/* ... and the edges of the range are fine */
	t[0] = 0;
	t[3] = T_LAST;
	select_ok(t, 4, &ok, keep, "edges");
	ck_assert(keep[3]);
}
END_TEST

/* ---- the calendar, day by day --------------------------------------------- */

/* Two copies, on day d and day d + 1, with count 2 for one rule: the older
 * survives exactly when the two days fall in different buckets. Every day
 * from 1970 to 2200, and the last ten years. */
static void sweep(int64_t from, int64_t to)
{
	static const struct ob_retain_policy pol[R_COUNT] = {
		{ 2, 0, 0, 0 }, { 0, 2, 0, 0 }, { 0, 0, 2, 0 }, { 0, 0, 0, 2 },
	};
	bucket_keys prev, cur;
	int64_t d;
	int r;

	ref_keys(from, prev);
	for (d = from; d + DAY <= to; d += DAY) {
		/* late on one day, early on the next: no slack for off-by-ones */
		int64_t t[2] = { d + DAY - 1, d + DAY };
		bool keep[2];

		ref_keys(t[1], cur);
		for (r = 0; r < R_COUNT; r++) {
			struct ob_error e;
			bool differ = strcmp(prev[r], cur[r]) != 0;

			REQUIRE(ob_retain_select(t, 2, &pol[r], keep, &e) == 0, "%s", e.message);
			REQUIRE(keep[1], "%s: newest dropped", cur[R_DAY]);
			REQUIRE(keep[0] == differ, "%s -> %s, rule %s: older copy %s",
				prev[R_DAY], cur[R_DAY], key_fmt[r],
				keep[0] ? "kept" : "deleted");
		}
		memcpy(prev, cur, sizeof(prev));
	}
}

START_TEST(test_calendar_sweep)
{
	sweep(0, at("2200-12-31"));
	sweep(at("9990-01-01"), T_LAST);
}
END_TEST

/* ---- 400 days, applied every day ------------------------------------------ */

#define SIM_DAYS 400
#define SIM_MAX (SIM_DAYS * 3)

struct sim {
	int64_t t[SIM_MAX];      /* every copy ever made, in creation order */
	bucket_keys key[SIM_MAX];
	size_t n_all;
	size_t live[SIM_MAX];    /* ids still kept, in creation order */
	size_t n_live;
	bool want[SIM_MAX];
};

/* How many snapshots day d gets: none for a missing week, a few missing
 * days and the day before yesterday at the end; two or three now and
 * then; three on the leap day. */
static int snaps_on(int d, int leap_day)
{
	if ((d >= 150 && d <= 156) || d % 17 == 9 || d == SIM_DAYS - 3)
		return 0;
	if (d == leap_day || d % 13 == 5)
		return 3;
	if (d % 7 == 3)
		return 2;
	return 1;
}

/* The newest copy made on calendar day day0 + d, or SIZE_MAX. */
static size_t newest_on(const struct sim *s, int64_t day)
{
	size_t i, best = SIZE_MAX;

	for (i = 0; i < s->n_all; i++)
		if (s->t[i] >= day && s->t[i] < day + DAY && (best == SIZE_MAX ||
							    newer(s->t, i, best)))
			best = i;
	return best;
}

static bool is_live(const struct sim *s, size_t id)
{
	size_t j;

	for (j = 0; j < s->n_live; j++)
		if (s->live[j] == id)
			return true;
	return false;
}

START_TEST(test_simulation_400_days)
{
	static struct sim s;
	const struct ob_retain_policy pol = { 7, 4, 12, 5 };
	const int64_t day0 = at("2023-11-30"); /* day 399 is 2025-01-02 */
	const int leap_day = (int)((at("2024-02-29") - day0) / DAY);
	int64_t times[SIM_MAX];
	bool keep[SIM_MAX];
	size_t i, j, newest = SIZE_MAX, max_live = 0;
	int d, k;

	memset(&s, 0, sizeof(s));
	for (d = 0; d < SIM_DAYS; d++) {
		const int64_t today = day0 + d * DAY; /* the injected clock */
		size_t n_want = 0;

		for (k = 0; k < snaps_on(d, leap_day); k++) {
			size_t id = s.n_all++;

			s.t[id] = today + 3600 + k * 7 * 3600 + (d * 37) % 3600;
			/* now and then two snapshots at the very same second */
			if (k == 1 && d % 29 == 0)
				s.t[id] = s.t[id - 1];
			ref_keys(s.t[id], s.key[id]);
			s.live[s.n_live++] = id;
			newest = id;
		}
		for (j = 0; j < s.n_live; j++)
			times[j] = s.t[s.live[j]];
		select_ok(times, s.n_live, &pol, keep, "simulation");
		for (i = j = 0; j < s.n_live; j++)
			if (keep[j])
				s.live[i++] = s.live[j];
		s.n_live = i;
		if (s.n_live > max_live)
			max_live = s.n_live;

		REQUIRE(newest == SIZE_MAX || is_live(&s, newest),
			"day %d: the newest copy (%zu) was deleted", d, newest);
		REQUIRE(s.n_live <= 7 + 4 + 12 + 5, "day %d: %zu kept", d, s.n_live);
		/* Retention every day gives what retention once over every
		 * copy ever made gives, on every day, not only the last. */
		ref_select(s.t, (const bucket_keys *)s.key, s.n_all, &pol, s.want);
		for (i = 0; i < s.n_all; i++)
			if (s.want[i])
				n_want++;
		REQUIRE(n_want == s.n_live, "day %d: %zu kept, reference %zu", d, s.n_live,
			n_want);
		for (j = 0; j < s.n_live; j++)
			REQUIRE(s.want[s.live[j]], "day %d: copy %zu (%s) kept, not wanted", d,
				s.live[j], s.key[s.live[j]][R_DAY]);
	}

	/* Once at the end over everything: the same survivors. */
	select_ok(s.t, s.n_all, &pol, keep, "simulation, once");
	for (i = 0, j = 0; i < s.n_all; i++) {
		if (!keep[i])
			continue;
		ck_assert_msg(is_live(&s, i), "once: copy %zu (%s) kept, daily run deleted it", i,
			      s.key[i][R_DAY]);
		j++;
	}
	ck_assert_uint_eq(j, s.n_live);

	/* Worked by hand for 2025-01-02 (day 399; 2024-12-31, 12-17 and 11-30
	 * have no copy): daily 7 = 01-02, 01-01, 12-30 back to 12-26; weekly
	 * 4 = 2025-W01 (01-02) and W52 (12-29), both already kept, then W51
	 * (12-22) and W50 (12-15); monthly 12 = 2025-01 and 2024-12 (kept),
	 * then 11-29 and the last copies of October back to February (the
	 * leap day), 10 more; yearly = 2025 and 2024 (kept), 2023 (12-31),
	 * and no older year. 7 + 2 + 10 + 1 = 20. */
	ck_assert_int_eq(snaps_on(SIM_DAYS - 3, leap_day), 0);
	ck_assert(is_live(&s, newest_on(&s, at("2024-02-29"))));
	ck_assert(is_live(&s, newest_on(&s, at("2023-12-31"))));
	ck_assert(is_live(&s, newest_on(&s, at("2024-12-30"))));
	for (i = 0; i < s.n_all; i++) {
		if (!is_live(&s, i))
			continue;
		ck_assert_msg(strcmp(s.key[i][R_DAY], "2024-01-01") < 0 ||
				      strcmp(s.key[i][R_DAY], "2024-02-01") >= 0,
			      "a January 2024 copy survived: %s", s.key[i][R_DAY]);
		ck_assert_msg(strcmp(s.key[i][R_DAY], "2023-12-01") < 0 ||
				      strcmp(s.key[i][R_DAY], "2023-12-31") >= 0,
			      "a December 2023 copy before the 31st survived: %s",
			      s.key[i][R_DAY]);
	}
	ck_assert_uint_eq(s.n_live, 20);
	ck_assert_uint_le(max_live, 7 + 4 + 12 + 5);
}
END_TEST

/* ---- random ---------------------------------------------------------------- */

static long random_count(uint32_t *seed)
{
	uint32_t x = xorshift32(seed) % 20;

	if (x < 5)
		return 0;
	if (x == 19)
		return LONG_MAX;
	return (long)(xorshift32(seed) % 15);
}

/* Random times over 30 years in clumps of random width (a day, a week, two
 * months, two years, all 30), some repeated to the second; random policies;
 * the module against the reference, then against itself on what it kept. */
START_TEST(test_random_vs_reference)
{
	enum { MAXN = 160 };
	static const int64_t widths[] = { DAY, 7 * DAY, 60 * DAY, 730 * DAY, 30 * 365 * DAY };
	uint32_t seed = test_seed("random_vs_reference");
	const int64_t start = at("1995-01-01");
	static int64_t t[MAXN], sub[MAXN];
	static bucket_keys key[MAXN];
	static bool keep[MAXN], want[MAXN], again[MAXN];
	int iter;

	for (iter = 0; iter < 1500; iter++) {
		struct ob_retain_policy p;
		size_t n = xorshift32(&seed) % MAXN, i, m, kept = 0;
		int64_t width = widths[xorshift32(&seed) % ROWS(widths)];
		int64_t base = start + (int64_t)(rand64(&seed) %
						 (uint64_t)(30 * 365 * DAY - width + 1));
		__int128 bound;

		p.daily = random_count(&seed);
		p.weekly = random_count(&seed);
		p.monthly = random_count(&seed);
		p.yearly = random_count(&seed);
		for (i = 0; i < n; i++) {
			if (i > 0 && xorshift32(&seed) % 8 == 0)
				t[i] = t[xorshift32(&seed) % i];
			else
				t[i] = base + (int64_t)(rand64(&seed) % (uint64_t)width);
			ref_keys(t[i], key[i]);
		}
		select_ok(t, n, &p, keep, "random");
		ref_select(t, (const bucket_keys *)key, n, &p, want);
		for (i = 0; i < n; i++) {
			REQUIRE(keep[i] == want[i],
				"iter %d (n %zu, policy %ld/%ld/%ld/%ld): copy %zu at %" PRId64
				" %s, reference says %s",
				iter, n, p.daily, p.weekly, p.monthly, p.yearly, i, t[i],
				keep[i] ? "kept" : "deleted", want[i] ? "keep" : "delete");
			kept += keep[i];
		}
		bound = (__int128)p.daily + p.weekly + p.monthly + p.yearly;
		REQUIRE(n == 0 || (kept >= 1 && (__int128)kept <= (bound > 1 ? bound : 1)),
			"iter %d: %zu kept", iter, kept);
		/* Idempotent: what was kept, run again in the same order, stays. */
		for (i = m = 0; i < n; i++)
			if (keep[i])
				sub[m++] = t[i];
		select_ok(sub, m, &p, again, "random, again");
		for (i = 0; i < m; i++)
			REQUIRE(again[i], "iter %d: second run dropped a kept copy", iter);
	}
}
END_TEST

/* Many copies: still right (against the reference) and quick. */
START_TEST(test_large)
{
	enum { N = 100000 };
	uint32_t seed = test_seed("large");
	const struct ob_retain_policy p = { 7, 4, 12, 5 };
	const int64_t start = at("1995-01-01");
	int64_t *t = malloc(N * sizeof(*t));
	bucket_keys *key = malloc(N * sizeof(*key));
	bool *keep = malloc(N * sizeof(*keep)), *want = malloc(N * sizeof(*want));
	size_t i, kept = 0;

	ck_assert(t != NULL && key != NULL && keep != NULL && want != NULL);
	for (i = 0; i < N; i++) {
		t[i] = start + (int64_t)(rand64(&seed) % (uint64_t)(30 * 365 * DAY));
		ref_keys(t[i], key[i]);
	}
	select_ok(t, N, &p, keep, "large");
	ref_select(t, (const bucket_keys *)key, N, &p, want);
	for (i = 0; i < N; i++) {
		REQUIRE(keep[i] == want[i], "copy %zu at %" PRId64 " %s", i, t[i],
			keep[i] ? "kept" : "deleted");
		kept += keep[i];
	}
	/* Every rule takes the newest copy first, so at most 28 - 3; the
	 * twelve months alone are twelve different copies. */
	ck_assert_uint_le(kept, 7 + 4 + 12 + 5 - 3);
	ck_assert_uint_ge(kept, 12);
	free(t);
	free(key);
	free(keep);
	free(want);
}
END_TEST

Suite *ob_suite_retain(void)
{
	Suite *s = suite_create("retain");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reference_iso_weeks);
	tcase_add_loop_test(tc, test_table, 0, ROWS(tables));
	tcase_add_test(tc, test_n_zero_and_one);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_calendar_sweep);
	tcase_add_test(tc, test_simulation_400_days);
	tcase_add_test(tc, test_random_vs_reference);
	tcase_add_test(tc, test_large);
	suite_add_tcase(s, tc);
	return s;
}
