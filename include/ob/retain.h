/*
 * ob/retain.h - grandfather-father-son retention, as a pure function.
 *
 * Calendar-based, in UTC, over the copies of one database: keep the newest
 * copy of each of the newest keep_daily days that have a copy, of each of
 * the newest keep_weekly ISO weeks (Monday to Sunday) that have one, of each
 * of the newest keep_monthly calendar months and keep_yearly calendar years
 * that have one (the same rule as restic's --keep-daily/weekly/...). A copy
 * kept by any rule is kept. The newest copy is always kept, whatever the
 * policy. No clock: the answer depends on the copies' times alone, so a
 * missed day never makes retention delete more.
 */
#ifndef OB_RETAIN_H
#define OB_RETAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ob/error.h"

struct ob_retain_policy {
	long daily, weekly, monthly, yearly; /* each >= 0 */
};

/* For n copies with times[i] (unix seconds, any order, duplicates allowed),
 * set keep[i] (n entries, caller-owned) to whether copy i is kept. Ties
 * (equal times) are broken by index: the higher index counts as newer. 0,
 * or -1 + err (OB_ERR_INVALID: a NULL policy or a negative count, even
 * with n == 0; NULL arrays with n > 0; a time outside years 1970..9999;
 * OB_ERR_NOMEM), keep[] untouched then. At most
 * daily + weekly + monthly + yearly copies are kept (at least 1). */
int ob_retain_select(const int64_t *times, size_t n, const struct ob_retain_policy *p,
		     bool *keep, struct ob_error *err);

#endif
