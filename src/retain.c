/*
 * retain.c - grandfather-father-son retention over the copies of one
 * database, as a pure function of their times (no clock, no I/O).
 *
 * The copies are sorted newest first once; then a single walk hands each
 * copy to the four rules (day, ISO week, month, year). A rule that still
 * has buckets to take keeps a copy whenever the copy's bucket differs from
 * the previous copy's: walking newest first, that copy is the newest of its
 * bucket, and buckets arrive newest first, so each rule ends up with the
 * newest copy of each of its newest k buckets, as restic does. Because the
 * answer depends on the set of copies alone, running it again over what it
 * kept keeps the same copies, and running it every day gives the same
 * result as running it once at the end.
 *
 * All bucket keys are integers that grow with time. Days and ISO weeks are
 * counted from the epoch (unix time has no leap seconds, and an ISO week is
 * named by its Monday, so "days since the Monday 1969-12-29, over 7" is the
 * week: no ISO-year arithmetic, nothing special at New Year); months and
 * years come from gmtime_r().
 */
#include "ob/retain.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, as the header promises. */
#define TIME_MIN ((int64_t)0)
#define TIME_MAX ((int64_t)253402300799)

#define SECS_PER_DAY 86400

enum { RULE_DAY, RULE_WEEK, RULE_MONTH, RULE_YEAR, RULE_COUNT };

static const char *const rule_names[RULE_COUNT] = { "daily", "weekly", "monthly", "yearly" };

/* One copy in the sorted walk: its time, where it sits in the caller's
 * arrays (the index also breaks ties) and its month, worked out before the
 * sort so that a calendar failure is found before keep[] is touched. */
struct copy {
	int64_t t;
	size_t i;
	int32_t month; /* year * 12 + (month - 1) */
};

/* Newest first: later time, then higher index. Indices are unique, so the
 * order is total and qsort's instability cannot show. */
static int newer_first(const void *a, const void *b)
{
	const struct copy *x = a, *y = b;

	if (x->t != y->t)
		return x->t > y->t ? -1 : 1;
	if (x->i != y->i)
		return x->i > y->i ? -1 : 1;
	return 0;
}

/* Months since year 0 of a range-checked time t; -1 when time_t cannot
 * hold it (a 32-bit time_t) or gmtime_r() refuses it. */
static int32_t month_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL)
		return -1;
	return (int32_t)((tm.tm_year + 1900) * 12 + tm.tm_mon);
}

/* Bucket keys of one copy, one per rule; each grows with time. */
static void bucket_keys(const struct copy *c, int64_t key[RULE_COUNT])
{
	int64_t days = c->t / SECS_PER_DAY;

	key[RULE_DAY] = days;
	/* Day 0 is a Thursday, so days + 3 counts from Monday 1969-12-29. */
	key[RULE_WEEK] = (days + 3) / 7;
	key[RULE_MONTH] = c->month;
	key[RULE_YEAR] = c->month / 12;
}

static int check_input(const int64_t *times, size_t n, const struct ob_retain_policy *p,
		       const bool *keep, struct ob_error *err)
{
	const long counts[RULE_COUNT] = { p->daily, p->weekly, p->monthly, p->yearly };
	size_t i;
	int r;

	for (r = 0; r < RULE_COUNT; r++)
		if (counts[r] < 0)
			return ob_error_set(err, OB_ERR_INVALID, "retain: %s count %ld is negative",
					    rule_names[r], counts[r]);
	if (n > 0 && (times == NULL || keep == NULL))
		return ob_error_set(err, OB_ERR_INVALID, "retain: missing array for %zu copies", n);
	for (i = 0; i < n; i++)
		if (times[i] < TIME_MIN || times[i] > TIME_MAX)
			return ob_error_set(err, OB_ERR_INVALID,
					    "retain: copy %zu: time %lld outside years 1970..9999", i,
					    (long long)times[i]);
	return 0;
}

int ob_retain_select(const int64_t *times, size_t n, const struct ob_retain_policy *p,
		     bool *keep, struct ob_error *err)
{
	int64_t last[RULE_COUNT] = { 0 };
	long left[RULE_COUNT];
	struct copy *order;
	size_t i, rules_open;
	int r, rc = -1;

	if (p == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "retain: missing policy");
	if (check_input(times, n, p, keep, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*order))
		return ob_error_set(err, OB_ERR_NOMEM, "retain: %zu copies", n);
	order = malloc(n * sizeof(*order));
	if (order == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "retain: %zu copies", n);
	for (i = 0; i < n; i++) {
		order[i] = (struct copy){ times[i], i, month_of(times[i]) };
		if (order[i].month < 0) {
			ob_error_set(err, OB_ERR_INVALID, "retain: copy %zu: time %lld has no date",
				     i, (long long)times[i]);
			goto out;
		}
	}
	qsort(order, n, sizeof(*order), newer_first);

	left[RULE_DAY] = p->daily;
	left[RULE_WEEK] = p->weekly;
	left[RULE_MONTH] = p->monthly;
	left[RULE_YEAR] = p->yearly;
	for (i = 0; i < n; i++)
		keep[i] = false;
	/* The newest copy is kept whatever the policy: a rule with k > 0
	 * would take it anyway, and an all-zero policy must not empty the
	 * vault. */
	keep[order[0].i] = true;

	rules_open = 0;
	for (r = 0; r < RULE_COUNT; r++)
		rules_open += left[r] > 0;
	for (i = 0; i < n && rules_open > 0; i++) {
		int64_t key[RULE_COUNT];

		bucket_keys(&order[i], key);
		for (r = 0; r < RULE_COUNT; r++) {
			if (left[r] == 0)
				continue;
			/* Keys only shrink along the walk, so "differs from the
			 * previous copy's bucket" is "a bucket not seen yet". */
			if (i > 0 && key[r] == last[r])
				continue;
			last[r] = key[r];
			keep[order[i].i] = true;
			if (--left[r] == 0)
				rules_open--;
		}
	}
	rc = 0;
out:
	free(order);
	return rc;
}
