/*
 * check_fsm.c - the job state machine of both roles: every (state, event)
 * pair against an expectation table written here by hand (not the module's
 * table), the attempt limit at its edges, deferral that never fails, equal-jitter
 * backoff bounds over a seeded sweep and absurd counters, saturation near
 * INT64_MAX, bad policies, out-of-range values and the state names.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_ob.h"
#include "ob/fsm.h"

#define ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* For hot loops: Check's ck_assert*() records a mark point on every pass
 * (a write to the runner's pipe); this one only speaks on failure. */
#define REQUIRE(cond, ...)					\
	do {							\
		if (!(cond))					\
			ck_abort_msg(__VA_ARGS__);		\
	} while (0)

#define NOW ((int64_t)1700000000000)
#define NEVER INT64_MAX

static const struct ob_fsm_policy pol_default = {
	.max_attempts = 5,
	.poll_interval_ms = 30000,
	.retention_ms = 7LL * 24 * 3600 * 1000,
	.backoff_base_ms = 100,
	.backoff_cap_ms = 20000,
};

/* ---- helpers -------------------------------------------------------------- */

/* A byte pattern no real step has: *ret must keep it when a step fails. */
static void fill_sentinel(struct ob_fsm_step *s)
{
	memset(s, 0xa5, sizeof(*s));
}

static int is_sentinel(const struct ob_fsm_step *s)
{
	struct ob_fsm_step want;

	fill_sentinel(&want);
	return memcmp(s, &want, sizeof(want)) == 0;
}

/* d = min(cap, base * 2^(n-1)) in 128-bit arithmetic: a different route
 * from the module's halving-and-compare loop. */
static int64_t want_ceiling(uint64_t n, int64_t base, int64_t cap)
{
	unsigned __int128 d = (unsigned __int128)base;

	if (n == 0)
		n = 1;
	if (n - 1 >= 64)
		return cap;
	d <<= (unsigned)(n - 1);
	return d > (unsigned __int128)cap ? cap : (int64_t)d;
}

static int64_t want_delay(uint64_t n, int64_t base, int64_t cap, uint32_t random)
{
	int64_t d = want_ceiling(n, base, cap);

	return d / 2 + (int64_t)(random % ((uint64_t)(d / 2) + 1));
}

static int64_t want_due(int64_t now, int64_t delay)
{
	__int128 t = (__int128)now + delay;

	return t >= NEVER ? NEVER - 1 : (int64_t)t;
}

static int step(const struct ob_fsm_policy *pol, enum ob_job_state state,
		enum ob_job_state failed_from, unsigned attempts, unsigned defers,
		enum ob_fsm_event_kind kind, uint32_t random, int64_t now,
		struct ob_fsm_step *ret, struct ob_error *err)
{
	struct ob_fsm_job job = { state, failed_from, attempts, defers };
	struct ob_fsm_event ev = { kind, random };

	return ob_fsm_step(pol, &job, &ev, now, ret, err);
}

/* The step must fail with OB_ERR_INVALID, leave *ret alone and say the
 * same with err == NULL. */
static void assert_rejected(const struct ob_fsm_policy *pol, const struct ob_fsm_job *job,
			    const struct ob_fsm_event *ev, int64_t now, const char *what)
{
	struct ob_fsm_step got;
	struct ob_error e;

	ob_error_clear(&e);
	fill_sentinel(&got);
	ck_assert_msg(ob_fsm_step(pol, job, ev, now, &got, &e) == -1, "%s: accepted", what);
	ck_assert_msg(e.kind == OB_ERR_INVALID, "%s: error kind %d", what, (int)e.kind);
	ck_assert_msg(e.message[0] != '\0', "%s: empty message", what);
	ck_assert_msg(is_sentinel(&got), "%s: *ret written on error", what);
	fill_sentinel(&got);
	ck_assert_msg(ob_fsm_step(pol, job, ev, now, &got, NULL) == -1, "%s: accepted (NULL err)",
		      what);
	ck_assert_msg(is_sentinel(&got), "%s: *ret written on error (NULL err)", what);
}

static uint32_t test_seed(const char *test)
{
	const char *env = getenv("OB_TEST_SEED");
	uint32_t seed = env && *env ? (uint32_t)strtoul(env, NULL, 0) : (uint32_t)time(NULL);

	if (seed == 0)
		seed = 1;
	fprintf(stderr, "check_fsm: %s: OB_TEST_SEED=%" PRIu32 "\n", test, seed);
	return seed;
}

static uint32_t xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* ---- every (state, event) pair ------------------------------------------- */

enum want_kind {
	W_ILLEGAL = 0, /* the default: every cell not listed below */
	W_GO,          /* transition to .to, due per .due */
	W_PROGRESS,    /* stay, counters reset, due after the poll interval */
	W_RETRY,       /* attempts + 1, back off; or fail when exhausted */
	W_DEFER,       /* defers + 1, back off; never fails */
	W_FAIL,        /* to failed, never due */
	W_RESUME,      /* back to failed_from, due now */
};

enum want_due { D_NOW, D_POLL, D_RETENTION, D_NEVER };

struct want {
	enum want_kind kind;
	enum ob_job_state to;
	enum want_due due;
};

#define GO(s, d) { W_GO, (s), (d) }
#define R { W_RETRY, 0, 0 }
#define D { W_DEFER, 0, 0 }
#define F { W_FAIL, 0, 0 }

/* DESIGN.md section 3, both roles, written out cell by cell. */
static const struct want expect[OB_JOB_STATE_COUNT][OB_EV_COUNT] = {
	/* source */
	[OB_JOB_PENDING] = {
		[OB_EV_COPY_STARTED] = GO(OB_JOB_COPYING, D_POLL),
		[OB_EV_RETRY] = R, [OB_EV_DEFER] = D, [OB_EV_FAIL] = F,
	},
	[OB_JOB_COPYING] = {
		[OB_EV_COPY_PROGRESS] = { W_PROGRESS, OB_JOB_COPYING, D_POLL },
		[OB_EV_COPY_AVAILABLE] = GO(OB_JOB_COPIED, D_NOW),
		[OB_EV_RETRY] = R, [OB_EV_DEFER] = D, [OB_EV_FAIL] = F,
	},
	[OB_JOB_COPIED] = {
		[OB_EV_SHARED] = GO(OB_JOB_SHARED, D_NOW),
		[OB_EV_RETRY] = R, [OB_EV_DEFER] = D, [OB_EV_FAIL] = F,
	},
	[OB_JOB_SHARED] = {
		[OB_EV_NOTIFIED] = GO(OB_JOB_NOTIFIED, D_RETENTION),
		[OB_EV_RETRY] = R, [OB_EV_DEFER] = D, [OB_EV_FAIL] = F,
	},
	[OB_JOB_NOTIFIED] = {
		[OB_EV_EXPIRED] = GO(OB_JOB_EXPIRED, D_NEVER),
		[OB_EV_RETRY] = R, [OB_EV_DEFER] = D, [OB_EV_FAIL] = F,
	},
	/* both */
	[OB_JOB_EXPIRED] = { { W_ILLEGAL, 0, 0 } },
	[OB_JOB_FAILED] = {
		[OB_EV_OPERATOR_RETRY] = { W_RESUME, 0, D_NOW },
	},
	/* target (vault): the import is a copy, so it reuses the copy events */
	[OB_JOB_ANNOUNCED] = {
		[OB_EV_COPY_STARTED] = GO(OB_JOB_IMPORTING, D_POLL),
		[OB_EV_RETRY] = R, [OB_EV_DEFER] = D, [OB_EV_FAIL] = F,
	},
	[OB_JOB_IMPORTING] = {
		[OB_EV_COPY_PROGRESS] = { W_PROGRESS, OB_JOB_IMPORTING, D_POLL },
		[OB_EV_COPY_AVAILABLE] = GO(OB_JOB_IMPORTED, D_NOW),
		[OB_EV_RETRY] = R, [OB_EV_DEFER] = D, [OB_EV_FAIL] = F,
	},
	[OB_JOB_IMPORTED] = {
		[OB_EV_VERIFIED] = GO(OB_JOB_VERIFIED, D_NEVER),
		[OB_EV_RETRY] = R, [OB_EV_DEFER] = D, [OB_EV_FAIL] = F,
	},
	/* not active: retention acts per database and simply tries a failed
	 * delete again at its next pass, so no setbacks here */
	[OB_JOB_VERIFIED] = {
		[OB_EV_EXPIRED] = GO(OB_JOB_EXPIRED, D_NEVER),
	},
	[OB_JOB_REJECTED] = { { W_ILLEGAL, 0, 0 } },
};

#undef GO
#undef R
#undef D
#undef F

static int64_t due_of(enum want_due d, const struct ob_fsm_policy *pol, int64_t now)
{
	switch (d) {
	case D_NOW: return now;
	case D_POLL: return now + pol->poll_interval_ms;
	case D_RETENTION: return now + pol->retention_ms;
	case D_NEVER: return NEVER;
	}
	return -1;
}

static void assert_step(const struct ob_fsm_step *got, enum ob_job_state to,
			enum ob_job_state failed_from, unsigned attempts, unsigned defers,
			int64_t next_at, bool transition, bool exhausted, const char *what)
{
	ck_assert_msg(got->to == to, "%s: to %s, want %s", what, ob_job_state_name(got->to),
		      ob_job_state_name(to));
	ck_assert_msg(got->failed_from == failed_from, "%s: failed_from %s, want %s", what,
		      ob_job_state_name(got->failed_from), ob_job_state_name(failed_from));
	ck_assert_msg(got->attempts == attempts, "%s: attempts %u, want %u", what, got->attempts,
		      attempts);
	ck_assert_msg(got->defers == defers, "%s: defers %u, want %u", what, got->defers, defers);
	ck_assert_msg(got->next_at_ms == next_at, "%s: next_at %" PRId64 ", want %" PRId64, what,
		      got->next_at_ms, next_at);
	ck_assert_msg(got->transition == transition, "%s: transition %d", what, got->transition);
	ck_assert_msg(got->exhausted == exhausted, "%s: exhausted %d", what, got->exhausted);
}

/* One loop iteration per pair. Each pair is tried on two jobs: one with
 * room for more attempts (2 attempts, 3 defers) and one a RETRY away from
 * the limit; failed jobs remember `shared` and `importing` respectively. */
START_TEST(test_every_pair)
{
	const struct ob_fsm_policy *pol = &pol_default;
	enum ob_job_state s = (enum ob_job_state)(_i / OB_EV_COUNT);
	enum ob_fsm_event_kind k = (enum ob_fsm_event_kind)(_i % OB_EV_COUNT);
	const struct want *w = &expect[s][k];
	const uint32_t random = 0x9e3779b9u;
	static const unsigned attempts[2] = { 2, 4 }, defers[2] = { 3, 0 };
	static const enum ob_job_state failed_from[2] = { OB_JOB_SHARED, OB_JOB_IMPORTING };
	char what[96];
	int j;

	for (j = 0; j < 2; j++) {
		struct ob_fsm_job job = { s, failed_from[j], attempts[j], defers[j] };
		struct ob_fsm_event ev = { k, random };
		struct ob_fsm_step got;
		struct ob_error e;
		int rc;

		snprintf(what, sizeof(what), "%s + %s (attempts %u, defers %u)",
			 ob_job_state_name(s), ob_fsm_event_name(k), attempts[j], defers[j]);
		if (w->kind == W_ILLEGAL) {
			assert_rejected(pol, &job, &ev, NOW, what);
			continue;
		}
		ob_error_clear(&e);
		fill_sentinel(&got);
		rc = ob_fsm_step(pol, &job, &ev, NOW, &got, &e);
		ck_assert_msg(rc == 0, "%s: rejected: %s", what, e.message);
		ck_assert_msg(e.kind == OB_ERR_NONE, "%s: error set on success", what);
		switch (w->kind) {
		case W_GO:
			assert_step(&got, w->to, w->to, 0, 0, due_of(w->due, pol, NOW), true,
				    false, what);
			break;
		case W_PROGRESS:
			assert_step(&got, s, s, 0, 0, due_of(w->due, pol, NOW), false, false,
				    what);
			break;
		case W_RETRY:
			if (attempts[j] + 1 >= pol->max_attempts)
				assert_step(&got, OB_JOB_FAILED, s, 0, 0, NEVER, true, true, what);
			else
				assert_step(&got, s, s, attempts[j] + 1, defers[j],
					    NOW + want_delay(attempts[j] + 1 + defers[j], 100, 20000,
							     random),
					    false, false, what);
			break;
		case W_DEFER:
			assert_step(&got, s, s, attempts[j], defers[j] + 1,
				    NOW + want_delay(attempts[j] + defers[j] + 1, 100, 20000, random),
				    false, false, what);
			break;
		case W_FAIL:
			assert_step(&got, OB_JOB_FAILED, s, 0, 0, NEVER, true, false, what);
			break;
		case W_RESUME:
			assert_step(&got, failed_from[j], failed_from[j], 0, 0, NOW, true, false,
				    what);
			break;
		case W_ILLEGAL:
			break;
		}
	}
}
END_TEST

/* The walk's hand-computed anchor: attempts 2 + 1, defers 3 -> n = 6,
 * d = min(20000, 100 * 32) = 3200, delay = 1600 + random % 1601. */
START_TEST(test_backoff_worked_example)
{
	struct ob_fsm_step got;

	ck_assert_int_eq(step(&pol_default, OB_JOB_COPIED, 0, 2, 3, OB_EV_RETRY, 0, NOW, &got,
			      NULL), 0);
	ck_assert_int_eq(got.next_at_ms, NOW + 1600);
	ck_assert_int_eq(step(&pol_default, OB_JOB_COPIED, 0, 2, 3, OB_EV_RETRY, 1600, NOW, &got,
			      NULL), 0);
	ck_assert_int_eq(got.next_at_ms, NOW + 3200);
	ck_assert_int_eq(step(&pol_default, OB_JOB_COPIED, 0, 2, 3, OB_EV_RETRY, 1601, NOW, &got,
			      NULL), 0);
	ck_assert_int_eq(got.next_at_ms, NOW + 1600);
	/* first setback: n = 1, d = base */
	ck_assert_int_eq(step(&pol_default, OB_JOB_PENDING, 0, 0, 0, OB_EV_DEFER, UINT32_MAX, NOW,
			      &got, NULL), 0);
	ck_assert_int_eq(got.next_at_ms, NOW + 50 + (int64_t)(UINT32_MAX % 51));
	/* far past the cap */
	ck_assert_int_eq(step(&pol_default, OB_JOB_PENDING, 0, 0, 40, OB_EV_DEFER, 0, NOW, &got,
			      NULL), 0);
	ck_assert_int_eq(got.next_at_ms, NOW + 10000);
	ck_assert_int_eq(step(&pol_default, OB_JOB_PENDING, 0, 0, 40, OB_EV_DEFER, 10000, NOW,
			      &got, NULL), 0);
	ck_assert_int_eq(got.next_at_ms, NOW + 20000);
}
END_TEST

/* ---- the attempt limit ---------------------------------------------------- */

static const enum ob_job_state active_states[] = {
	OB_JOB_PENDING, OB_JOB_COPYING, OB_JOB_COPIED, OB_JOB_SHARED, OB_JOB_NOTIFIED,
	OB_JOB_ANNOUNCED, OB_JOB_IMPORTING, OB_JOB_IMPORTED,
};

START_TEST(test_max_attempts_one)
{
	struct ob_fsm_policy pol = pol_default;
	struct ob_fsm_step got;
	int i;

	pol.max_attempts = 1;
	for (i = 0; i < ROWS(active_states); i++) {
		enum ob_job_state s = active_states[i];

		ck_assert_int_eq(step(&pol, s, 0, 0, 7, OB_EV_RETRY, 5, NOW, &got, NULL), 0);
		assert_step(&got, OB_JOB_FAILED, s, 0, 0, NEVER, true, true,
			    ob_job_state_name(s));
		/* DEFER is not an attempt, even with the tightest limit */
		ck_assert_int_eq(step(&pol, s, 0, 0, 7, OB_EV_DEFER, 5, NOW, &got, NULL), 0);
		ck_assert_int_eq(got.to, s);
		ck_assert(!got.exhausted && !got.transition);
		ck_assert_uint_eq(got.defers, 8);
	}
}
END_TEST

/* Feed RETRY back N times, with DEFERs in between: the N-th RETRY fails.
 * Once per role, in the state that waits on a copy. */
static const enum ob_job_state copy_states[] = { OB_JOB_COPYING, OB_JOB_IMPORTING };

START_TEST(test_max_attempts_n)
{
	static const unsigned limits[] = { 2, 3, 5, 10, 100 };
	const enum ob_job_state s = copy_states[_i];
	int li;

	for (li = 0; li < ROWS(limits); li++) {
		struct ob_fsm_policy pol = pol_default;
		struct ob_fsm_job job = { s, OB_JOB_PENDING, 0, 0 };
		struct ob_fsm_step got;
		unsigned n;

		pol.max_attempts = limits[li];
		for (n = 1; n <= limits[li]; n++) {
			struct ob_fsm_event retry = { OB_EV_RETRY, n * 7919u };
			struct ob_fsm_event defer = { OB_EV_DEFER, n * 104729u };

			ck_assert_int_eq(ob_fsm_step(&pol, &job, &defer, NOW, &got, NULL), 0);
			ck_assert_int_eq(got.to, s);
			job.attempts = got.attempts;
			job.defers = got.defers;
			ck_assert_int_eq(ob_fsm_step(&pol, &job, &retry, NOW, &got, NULL), 0);
			if (n < limits[li]) {
				ck_assert_msg(got.to == s && !got.exhausted,
					      "%s, limit %u: retry %u failed early",
					      ob_job_state_name(s), limits[li], n);
				ck_assert_uint_eq(got.attempts, n);
				ck_assert_uint_eq(got.defers, n);
				ck_assert_int_lt(got.next_at_ms, NEVER);
				job.attempts = got.attempts;
				job.defers = got.defers;
			} else {
				assert_step(&got, OB_JOB_FAILED, s, 0, 0, NEVER, true, true,
					    "last retry");
			}
		}
		/* The operator brings it back where it failed, fresh. */
		job.state = got.to;
		job.failed_from = got.failed_from;
		job.attempts = got.attempts;
		job.defers = got.defers;
		{
			struct ob_fsm_event op = { OB_EV_OPERATOR_RETRY, 0 };

			ck_assert_int_eq(ob_fsm_step(&pol, &job, &op, NOW, &got, NULL), 0);
			assert_step(&got, s, s, 0, 0, NOW, true, false, "operator retry");
		}
	}
}
END_TEST

/* A job already at or past the limit (a lowered max_attempts, or a
 * corrupt row) fails on the next RETRY; the counter never wraps. */
START_TEST(test_attempts_at_extremes)
{
	struct ob_fsm_policy pol = pol_default;
	struct ob_fsm_step got;

	ck_assert_int_eq(step(&pol, OB_JOB_SHARED, 0, 50, 0, OB_EV_RETRY, 0, NOW, &got, NULL), 0);
	ck_assert(got.exhausted);
	ck_assert_int_eq(step(&pol, OB_JOB_SHARED, 0, UINT_MAX, 0, OB_EV_RETRY, 0, NOW, &got,
			      NULL), 0);
	assert_step(&got, OB_JOB_FAILED, OB_JOB_SHARED, 0, 0, NEVER, true, true, "UINT_MAX");
	pol.max_attempts = UINT_MAX;
	ck_assert_int_eq(step(&pol, OB_JOB_SHARED, 0, UINT_MAX - 2, 0, OB_EV_RETRY, 0, NOW, &got,
			      NULL), 0);
	ck_assert(!got.exhausted);
	ck_assert_uint_eq(got.attempts, UINT_MAX - 1);
	ck_assert_int_eq(step(&pol, OB_JOB_SHARED, 0, UINT_MAX - 1, 0, OB_EV_RETRY, 0, NOW, &got,
			      NULL), 0);
	ck_assert(got.exhausted);
	ck_assert_int_eq(step(&pol, OB_JOB_SHARED, 0, UINT_MAX, 0, OB_EV_RETRY, 0, NOW, &got,
			      NULL), 0);
	ck_assert(got.exhausted);
}
END_TEST

/* ---- DEFER never fails ---------------------------------------------------- */

START_TEST(test_defer_never_fails)
{
	struct ob_fsm_policy pol = pol_default;
	struct ob_fsm_job job = { OB_JOB_PENDING, OB_JOB_PENDING, 0, 0 };
	struct ob_fsm_step got;
	unsigned n;

	pol.max_attempts = 1;
	for (n = 1; n <= 10000; n++) {
		struct ob_fsm_event ev = { OB_EV_DEFER, n * 2654435761u };

		ck_assert_int_eq(ob_fsm_step(&pol, &job, &ev, NOW, &got, NULL), 0);
		ck_assert_msg(got.to == OB_JOB_PENDING && !got.transition && !got.exhausted,
			      "defer %u moved the job", n);
		ck_assert_uint_eq(got.defers, n);
		ck_assert_uint_eq(got.attempts, 0);
		ck_assert_int_ge(got.next_at_ms, NOW + want_ceiling(n, 100, 20000) / 2);
		ck_assert_int_le(got.next_at_ms, NOW + want_ceiling(n, 100, 20000));
		job.defers = got.defers;
	}
	/* The counter saturates rather than wrapping to 0. */
	ck_assert_int_eq(step(&pol, OB_JOB_PENDING, 0, UINT_MAX, UINT_MAX, OB_EV_DEFER, 0, NOW,
			      &got, NULL), 0);
	ck_assert_uint_eq(got.defers, UINT_MAX);
	ck_assert_uint_eq(got.attempts, UINT_MAX);
	ck_assert_int_eq(got.to, OB_JOB_PENDING);
	ck_assert_int_eq(got.next_at_ms, NOW + 10000);
}
END_TEST

/* COPY_PROGRESS is a good look at the copy (the export's or the vault's
 * import): earlier setbacks are forgiven. */
START_TEST(test_progress_resets_counters)
{
	struct ob_fsm_step got;
	int i;

	for (i = 0; i < ROWS(copy_states); i++) {
		enum ob_job_state s = copy_states[i];

		ck_assert_int_eq(step(&pol_default, s, OB_JOB_FAILED, 4, 900,
				      OB_EV_COPY_PROGRESS, 77, NOW, &got, NULL), 0);
		assert_step(&got, s, s, 0, 0, NOW + 30000, false, false, ob_job_state_name(s));
		/* ... so the limit starts over */
		ck_assert_int_eq(step(&pol_default, s, 0, got.attempts, got.defers,
				      OB_EV_RETRY, 0, NOW, &got, NULL), 0);
		ck_assert(!got.exhausted);
		ck_assert_int_eq(got.to, s);
		ck_assert_uint_eq(got.attempts, 1);
	}
}
END_TEST

/* ---- backoff bounds ------------------------------------------------------- */

START_TEST(test_backoff_bounds_random)
{
	static const struct { int64_t base, cap; } cfg[] = {
		{ 100, 20000 }, { 1, 1 }, { 1, 2 }, { 1, 7 }, { 250, 1000 }, { 7, 7 },
		{ 1000, INT64_MAX }, { INT64_MAX / 4, INT64_MAX }, { INT64_MAX, INT64_MAX },
		{ 3, 1LL << 40 }, { 1, INT64_MAX - 1 },
	};
	static const unsigned big[] = { 62, 63, 64, 65, 100, 1000, 100000, UINT_MAX / 2,
					UINT_MAX - 1, UINT_MAX };
	uint32_t seed = test_seed("backoff_bounds_random");
	size_t c;
	int i;

	for (c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		struct ob_fsm_policy pol = pol_default;
		unsigned n;

		pol.backoff_base_ms = cfg[c].base;
		pol.backoff_cap_ms = cfg[c].cap;
		for (n = 1; n <= 80 + ROWS(big); n++) {
			/* n = attempts + defers after the step; split it between
			 * the two counters and use both events. */
			unsigned total = n <= 80 ? n : big[n - 81];
			int64_t d = want_ceiling(total, cfg[c].base, cfg[c].cap);
			long double sum = 0;

			for (i = 0; i < 200; i++) {
				uint32_t r = xorshift32(&seed);
				bool defer = i & 1;
				unsigned a = defer ? total / 3 : 0;
				unsigned df = total - 1 - a;
				struct ob_fsm_step got;
				int64_t delay;

				pol.max_attempts = UINT_MAX;
				REQUIRE(step(&pol, OB_JOB_NOTIFIED, 0, a, df,
					     defer ? OB_EV_DEFER : OB_EV_RETRY, r, 0, &got, NULL) == 0,
					"n %u refused", total);
				REQUIRE(!got.exhausted, "n %u exhausted", total);
				REQUIRE((uint64_t)got.attempts + got.defers == total,
					"n %u: counters %u + %u", total, got.attempts, got.defers);
				delay = got.next_at_ms;
				REQUIRE(delay >= d / 2 && delay <= d,
					"base %" PRId64 " cap %" PRId64 " n %u: %" PRId64
					" outside [%" PRId64 ", %" PRId64 "]",
					cfg[c].base, cfg[c].cap, total, delay, d / 2, d);
				REQUIRE(delay == want_delay(total, cfg[c].base, cfg[c].cap, r),
					"base %" PRId64 " cap %" PRId64 " n %u random %" PRIu32
					": %" PRId64 ", want %" PRId64, cfg[c].base, cfg[c].cap,
					total, r, delay,
					want_delay(total, cfg[c].base, cfg[c].cap, r));
				sum += (long double)(delay - d / 2);
			}
			/* The jitter is spread, not pinned to an end (for ceilings
			 * the 32-bit random can cover). */
			if (d >= 1000 && d / 2 < (int64_t)UINT32_MAX) {
				long double mean = sum / 200 / (long double)(d / 2);

				ck_assert_msg(mean > 0.3L && mean < 0.7L,
					      "n %u: jitter mean %.3Lf of d/2", total, mean);
			}
		}
	}
}
END_TEST

/* n = attempts + defers is summed without wrapping: 2 + UINT_MAX is far
 * past the cap, not 1. */
START_TEST(test_backoff_counter_sum)
{
	struct ob_fsm_policy pol = pol_default;
	struct ob_fsm_step got;

	pol.max_attempts = UINT_MAX;
	ck_assert_int_eq(step(&pol, OB_JOB_COPYING, 0, 2, UINT_MAX - 1, OB_EV_DEFER, 0, NOW, &got,
			      NULL), 0);
	ck_assert_uint_eq(got.defers, UINT_MAX);
	ck_assert_int_eq(got.next_at_ms, NOW + 10000);
	ck_assert_int_eq(step(&pol, OB_JOB_COPYING, 0, 1, UINT_MAX, OB_EV_RETRY, 0, NOW, &got,
			      NULL), 0);
	ck_assert_uint_eq(got.attempts, 2);
	ck_assert_int_eq(got.next_at_ms, NOW + 10000);
	ck_assert_int_eq(step(&pol, OB_JOB_COPYING, 0, UINT_MAX - 2, UINT_MAX, OB_EV_RETRY,
			      10000, NOW, &got, NULL), 0);
	ck_assert_int_eq(got.next_at_ms, NOW + 20000);
}
END_TEST

/* ---- saturation near INT64_MAX ------------------------------------------- */

START_TEST(test_now_near_max)
{
	struct ob_fsm_policy pol = pol_default;
	const int64_t nows[] = { NEVER - 1, NEVER - 10, NEVER - 30000, NEVER };
	struct ob_fsm_step got;
	int i;

	pol.retention_ms = INT64_MAX;
	pol.backoff_cap_ms = INT64_MAX;
	for (i = 0; i < ROWS(nows); i++) {
		int64_t now = nows[i];

		ck_assert_int_eq(step(&pol, OB_JOB_PENDING, 0, 0, 0, OB_EV_COPY_STARTED, 0, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, want_due(now, 30000));
		ck_assert_int_eq(step(&pol, OB_JOB_COPYING, 0, 0, 0, OB_EV_COPY_PROGRESS, 0, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, want_due(now, 30000));
		ck_assert_int_eq(step(&pol, OB_JOB_SHARED, 0, 0, 0, OB_EV_NOTIFIED, 0, now, &got,
				      NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER - 1);
		ck_assert_int_eq(step(&pol, OB_JOB_COPIED, 0, 3, 60, OB_EV_RETRY, UINT32_MAX, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER - 1);
		ck_assert_int_eq(step(&pol, OB_JOB_COPIED, 0, 0, UINT_MAX - 1, OB_EV_DEFER, 0, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER - 1);
		/* due now: a job to act on is never parked at NEVER */
		ck_assert_int_eq(step(&pol, OB_JOB_COPYING, 0, 0, 0, OB_EV_COPY_AVAILABLE, 0, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, want_due(now, 0));
		ck_assert_int_lt(got.next_at_ms, NEVER);
		ck_assert_int_eq(step(&pol, OB_JOB_FAILED, OB_JOB_NOTIFIED, 0, 0,
				      OB_EV_OPERATOR_RETRY, 0, now, &got, NULL), 0);
		ck_assert_int_lt(got.next_at_ms, NEVER);
		/* terminal and failed stay exactly NEVER */
		ck_assert_int_eq(step(&pol, OB_JOB_NOTIFIED, 0, 0, 0, OB_EV_EXPIRED, 0, now, &got,
				      NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER);
		ck_assert_int_eq(step(&pol, OB_JOB_NOTIFIED, 0, 0, 0, OB_EV_FAIL, 0, now, &got,
				      NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER);
		/* the vault's rows the same way */
		ck_assert_int_eq(step(&pol, OB_JOB_ANNOUNCED, 0, 0, 0, OB_EV_COPY_STARTED, 0, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, want_due(now, 30000));
		ck_assert_int_eq(step(&pol, OB_JOB_IMPORTING, 0, 0, 0, OB_EV_COPY_PROGRESS, 0, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, want_due(now, 30000));
		ck_assert_int_eq(step(&pol, OB_JOB_IMPORTED, 0, 3, 60, OB_EV_RETRY, UINT32_MAX, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER - 1);
		ck_assert_int_eq(step(&pol, OB_JOB_ANNOUNCED, 0, 0, UINT_MAX - 1, OB_EV_DEFER, 0,
				      now, &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER - 1);
		ck_assert_int_eq(step(&pol, OB_JOB_IMPORTING, 0, 0, 0, OB_EV_COPY_AVAILABLE, 0, now,
				      &got, NULL), 0);
		ck_assert_int_eq(got.next_at_ms, want_due(now, 0));
		ck_assert_int_lt(got.next_at_ms, NEVER);
		ck_assert_int_eq(step(&pol, OB_JOB_FAILED, OB_JOB_IMPORTED, 0, 0,
				      OB_EV_OPERATOR_RETRY, 0, now, &got, NULL), 0);
		ck_assert_int_lt(got.next_at_ms, NEVER);
		ck_assert_int_eq(step(&pol, OB_JOB_IMPORTED, 0, 0, 0, OB_EV_VERIFIED, 0, now, &got,
				      NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER);
		ck_assert_int_eq(step(&pol, OB_JOB_VERIFIED, 0, 0, 0, OB_EV_EXPIRED, 0, now, &got,
				      NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER);
		ck_assert_int_eq(step(&pol, OB_JOB_IMPORTING, 0, 0, 0, OB_EV_FAIL, 0, now, &got,
				      NULL), 0);
		ck_assert_int_eq(got.next_at_ms, NEVER);
	}
	/* Far in the past nothing saturates. */
	ck_assert_int_eq(step(&pol, OB_JOB_SHARED, 0, 0, 0, OB_EV_NOTIFIED, 0, INT64_MIN, &got,
			      NULL), 0);
	ck_assert_int_eq(got.next_at_ms, -1);
	ck_assert_int_eq(step(&pol_default, OB_JOB_PENDING, 0, 0, 0, OB_EV_COPY_STARTED, 0, 0,
			      &got, NULL), 0);
	ck_assert_int_eq(got.next_at_ms, 30000);
}
END_TEST

/* ---- bad input ------------------------------------------------------------ */

START_TEST(test_invalid_policies)
{
	static const struct ob_fsm_policy bad[] = {
		{ 0, 30000, 1000, 100, 20000 },          /* no attempts at all */
		{ 5, -1, 1000, 100, 20000 },             /* negative poll */
		{ 5, INT64_MIN, 1000, 100, 20000 },
		{ 5, 30000, -1, 100, 20000 },            /* negative retention */
		{ 5, 30000, 1000, 0, 20000 },            /* base 0 */
		{ 5, 30000, 1000, -100, 20000 },
		{ 5, 30000, 1000, INT64_MIN, 20000 },
		{ 5, 30000, 1000, 100, 99 },             /* cap below base */
		{ 5, 30000, 1000, 100, 0 },
		{ 5, 30000, 1000, 100, -20000 },
		{ 5, 30000, 1000, INT64_MAX, INT64_MAX - 1 },
	};
	static const struct ob_fsm_policy edge[] = {
		{ 1, 0, 0, 1, 1 },
		{ UINT_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX },
		{ 1, 0, 0, 100, 100 },
	};
	/* every kind of event, so no path skips the check */
	struct ob_fsm_job jobs[] = {
		{ OB_JOB_PENDING, 0, 0, 0 }, { OB_JOB_COPYING, 0, 1, 1 },
		{ OB_JOB_NOTIFIED, 0, 0, 0 }, { OB_JOB_FAILED, OB_JOB_COPIED, 0, 0 },
		{ OB_JOB_IMPORTED, 0, 0, 0 }, { OB_JOB_FAILED, OB_JOB_IMPORTING, 0, 0 },
	};
	static const enum ob_fsm_event_kind evs[] = {
		OB_EV_COPY_STARTED, OB_EV_COPY_PROGRESS, OB_EV_EXPIRED, OB_EV_OPERATOR_RETRY,
		OB_EV_VERIFIED, OB_EV_OPERATOR_RETRY,
	};
	static const enum ob_fsm_event_kind setbacks[] = { OB_EV_RETRY, OB_EV_DEFER, OB_EV_FAIL };
	struct ob_fsm_step got;
	char what[64];
	int i, j;

	for (i = 0; i < ROWS(bad); i++) {
		for (j = 0; j < ROWS(jobs); j++) {
			struct ob_fsm_event ev = { evs[j], 1 };

			snprintf(what, sizeof(what), "policy %d, %s", i, ob_fsm_event_name(evs[j]));
			assert_rejected(&bad[i], &jobs[j], &ev, NOW, what);
		}
		for (j = 0; j < ROWS(setbacks); j++) {
			struct ob_fsm_event ev = { setbacks[j], 1 };

			snprintf(what, sizeof(what), "policy %d, %s", i,
				 ob_fsm_event_name(setbacks[j]));
			assert_rejected(&bad[i], &jobs[0], &ev, NOW, what);
		}
	}
	for (i = 0; i < ROWS(edge); i++) {
		for (j = 0; j < ROWS(jobs); j++) {
			struct ob_fsm_event ev = { evs[j], UINT32_MAX };

			ck_assert_msg(ob_fsm_step(&edge[i], &jobs[j], &ev, NOW, &got, NULL) == 0,
				      "edge policy %d refused", i);
		}
		for (j = 0; j < ROWS(setbacks); j++) {
			struct ob_fsm_event ev = { setbacks[j], UINT32_MAX };

			ck_assert_msg(ob_fsm_step(&edge[i], &jobs[0], &ev, NOW, &got, NULL) == 0,
				      "edge policy %d refused %s", i,
				      ob_fsm_event_name(setbacks[j]));
		}
	}
	/* base = cap = 1: d = 1, d/2 = 0, so every backoff is due now */
	ck_assert_int_eq(step(&edge[0], OB_JOB_PENDING, 0, 0, 0, OB_EV_DEFER, UINT32_MAX, NOW, &got,
			      NULL), 0);
	ck_assert_int_eq(got.next_at_ms, NOW);
}
END_TEST

START_TEST(test_out_of_range)
{
	static const int states[] = { OB_JOB_STATE_COUNT, OB_JOB_STATE_COUNT + 1, 100, -1,
				      INT_MAX, INT_MIN };
	static const int events[] = { OB_EV_COUNT, OB_EV_COUNT + 1, 1000, -1, INT_MAX, INT_MIN };
	struct ob_fsm_step got;
	char what[64];
	int i, k;

	for (i = 0; i < ROWS(states); i++) {
		for (k = 0; k < OB_EV_COUNT; k++) {
			struct ob_fsm_job job = { (enum ob_job_state)states[i], OB_JOB_PENDING, 0, 0 };
			struct ob_fsm_event ev = { (enum ob_fsm_event_kind)k, 0 };

			snprintf(what, sizeof(what), "state %d, event %d", states[i], k);
			assert_rejected(&pol_default, &job, &ev, NOW, what);
		}
	}
	for (i = 0; i < ROWS(events); i++) {
		for (k = 0; k < OB_JOB_STATE_COUNT; k++) {
			struct ob_fsm_job job = { (enum ob_job_state)k, OB_JOB_PENDING, 0, 0 };
			struct ob_fsm_event ev = { (enum ob_fsm_event_kind)events[i], 0 };

			snprintf(what, sizeof(what), "state %d, event %d", k, events[i]);
			assert_rejected(&pol_default, &job, &ev, NOW, what);
		}
	}
	/* failed_from is ignored unless a failed job is resumed */
	ck_assert_int_eq(step(&pol_default, OB_JOB_PENDING, (enum ob_job_state)99, 0, 0,
			      OB_EV_COPY_STARTED, 0, NOW, &got, NULL), 0);
	ck_assert_int_eq(got.failed_from, OB_JOB_COPYING);
	ck_assert_int_eq(step(&pol_default, OB_JOB_COPIED, (enum ob_job_state)-1, 0, 0,
			      OB_EV_FAIL, 0, NOW, &got, NULL), 0);
	ck_assert_int_eq(got.failed_from, OB_JOB_COPIED);
	ck_assert_int_eq(step(&pol_default, OB_JOB_ANNOUNCED, (enum ob_job_state)99, 0, 0,
			      OB_EV_COPY_STARTED, 0, NOW, &got, NULL), 0);
	ck_assert_int_eq(got.failed_from, OB_JOB_IMPORTING);
	ck_assert_int_eq(step(&pol_default, OB_JOB_IMPORTED, OB_JOB_REJECTED, 0, 0, OB_EV_FAIL,
			      0, NOW, &got, NULL), 0);
	ck_assert_int_eq(got.failed_from, OB_JOB_IMPORTED);
}
END_TEST

START_TEST(test_null_arguments)
{
	struct ob_fsm_job job = { OB_JOB_PENDING, OB_JOB_PENDING, 0, 0 };
	struct ob_fsm_event ev = { OB_EV_COPY_STARTED, 0 };
	struct ob_error e;

	assert_rejected(NULL, &job, &ev, NOW, "NULL policy");
	assert_rejected(&pol_default, NULL, &ev, NOW, "NULL job");
	assert_rejected(&pol_default, &job, NULL, NOW, "NULL event");
	ob_error_clear(&e);
	ck_assert_int_eq(ob_fsm_step(&pol_default, &job, &ev, NOW, NULL, &e), -1);
	ck_assert_int_eq(e.kind, OB_ERR_INVALID);
	ck_assert_int_eq(ob_fsm_step(&pol_default, &job, &ev, NOW, NULL, NULL), -1);
}
END_TEST

/* Resuming needs an active state to go back to; anything else (a finished,
 * refused or failed state, or garbage) is refused. */
START_TEST(test_operator_retry_failed_from)
{
	static const int bad[] = { OB_JOB_FAILED, OB_JOB_EXPIRED, OB_JOB_VERIFIED,
				   OB_JOB_REJECTED, OB_JOB_STATE_COUNT, 42, -1, INT_MIN };
	struct ob_fsm_step got;
	char what[64];
	int i;

	for (i = 0; i < ROWS(bad); i++) {
		struct ob_fsm_job job = { OB_JOB_FAILED, (enum ob_job_state)bad[i], 3, 4 };
		struct ob_fsm_event ev = { OB_EV_OPERATOR_RETRY, 0 };

		snprintf(what, sizeof(what), "failed_from %d", bad[i]);
		assert_rejected(&pol_default, &job, &ev, NOW, what);
	}
	for (i = 0; i < ROWS(active_states); i++) {
		enum ob_job_state s = active_states[i];

		ck_assert_int_eq(step(&pol_default, OB_JOB_FAILED, s, 3, 4, OB_EV_OPERATOR_RETRY,
				      99, NOW, &got, NULL), 0);
		assert_step(&got, s, s, 0, 0, NOW, true, false, ob_job_state_name(s));
	}
}
END_TEST

/* ---- names ---------------------------------------------------------------- */

START_TEST(test_state_names)
{
	static const struct { enum ob_job_state s; const char *name; bool active; } rows[] = {
		{ OB_JOB_PENDING, "pending", true },     { OB_JOB_COPYING, "copying", true },
		{ OB_JOB_COPIED, "copied", true },       { OB_JOB_SHARED, "shared", true },
		{ OB_JOB_NOTIFIED, "notified", true },   { OB_JOB_EXPIRED, "expired", false },
		{ OB_JOB_FAILED, "failed", false },      { OB_JOB_ANNOUNCED, "announced", true },
		{ OB_JOB_IMPORTING, "importing", true }, { OB_JOB_IMPORTED, "imported", true },
		{ OB_JOB_VERIFIED, "verified", false },  { OB_JOB_REJECTED, "rejected", false },
	};
	static const char *const unknown[] = {
		"", "?", "Pending", "PENDING", "pending ", " pending", "pend", "pendingx",
		"copy", "fail", "failed\n", "retry", "copy-started", "announce", "Announced",
		"import", "imported ", "verify", "verified\n", "reject", "rejectedx",
		"operator-retry",
	};
	enum ob_job_state got;
	int i;

	ck_assert_int_eq(ROWS(rows), OB_JOB_STATE_COUNT);
	for (i = 0; i < ROWS(rows); i++) {
		ck_assert_str_eq(ob_job_state_name(rows[i].s), rows[i].name);
		got = OB_JOB_STATE_COUNT;
		ck_assert_int_eq(ob_job_state_parse(rows[i].name, &got), 0);
		ck_assert_int_eq(got, rows[i].s);
		ck_assert_int_eq(ob_job_state_active(rows[i].s), rows[i].active);
	}
	for (i = 0; i < ROWS(unknown); i++) {
		got = OB_JOB_COPIED;
		ck_assert_msg(ob_job_state_parse(unknown[i], &got) == -1, "\"%s\" parsed",
			      unknown[i]);
		ck_assert_int_eq(got, OB_JOB_COPIED);
	}
	got = OB_JOB_COPIED;
	ck_assert_int_eq(ob_job_state_parse(NULL, &got), -1);
	ck_assert_int_eq(got, OB_JOB_COPIED);
	ck_assert_str_eq(ob_job_state_name(OB_JOB_STATE_COUNT), "?");
	ck_assert_str_eq(ob_job_state_name((enum ob_job_state)-1), "?");
	ck_assert_str_eq(ob_job_state_name((enum ob_job_state)INT_MAX), "?");
	ck_assert(!ob_job_state_active(OB_JOB_STATE_COUNT));
	ck_assert(!ob_job_state_active((enum ob_job_state)-1));
}
END_TEST

START_TEST(test_event_names)
{
	static const struct { enum ob_fsm_event_kind k; const char *name; } rows[] = {
		{ OB_EV_COPY_STARTED, "copy-started" },
		{ OB_EV_COPY_PROGRESS, "copy-progress" },
		{ OB_EV_COPY_AVAILABLE, "copy-available" },
		{ OB_EV_SHARED, "shared" },
		{ OB_EV_NOTIFIED, "notified" },
		{ OB_EV_EXPIRED, "expired" },
		{ OB_EV_RETRY, "retry" },
		{ OB_EV_DEFER, "defer" },
		{ OB_EV_FAIL, "fail" },
		{ OB_EV_OPERATOR_RETRY, "operator-retry" },
		{ OB_EV_VERIFIED, "verified" },
	};
	int i;

	ck_assert_int_eq(ROWS(rows), OB_EV_COUNT);
	for (i = 0; i < ROWS(rows); i++)
		ck_assert_str_eq(ob_fsm_event_name(rows[i].k), rows[i].name);
	ck_assert_str_eq(ob_fsm_event_name(OB_EV_COUNT), "?");
	ck_assert_str_eq(ob_fsm_event_name((enum ob_fsm_event_kind)-1), "?");
	ck_assert_str_eq(ob_fsm_event_name((enum ob_fsm_event_kind)INT_MIN), "?");
}
END_TEST

/* ---- a random walk -------------------------------------------------------- */

/* Which role a state belongs to; a job never crosses from one to the
 * other. Written from DESIGN.md's two tables, not from the module. */
enum { ROLE_SOURCE = 1, ROLE_TARGET = 2, ROLE_BOTH = ROLE_SOURCE | ROLE_TARGET };

static int role_of(enum ob_job_state s)
{
	switch (s) {
	case OB_JOB_PENDING:
	case OB_JOB_COPYING:
	case OB_JOB_COPIED:
	case OB_JOB_SHARED:
	case OB_JOB_NOTIFIED:
		return ROLE_SOURCE;
	case OB_JOB_ANNOUNCED:
	case OB_JOB_IMPORTING:
	case OB_JOB_IMPORTED:
	case OB_JOB_VERIFIED:
	case OB_JOB_REJECTED:
		return ROLE_TARGET;
	case OB_JOB_EXPIRED:
	case OB_JOB_FAILED:
		return ROLE_BOTH;
	case OB_JOB_STATE_COUNT:
		break;
	}
	return 0;
}

/* Random events on random jobs: whatever the machine answers keeps its
 * invariants, stays in the job's role, and agrees with the hand-written
 * table on legality and on where the job goes. A finished job (expired,
 * rejected) is offered a few events too, then replaced by a new one: a
 * source job, a vault job, or a refused announcement. At the end every
 * (state, event) pair must have been tried and every active state resumed
 * from failed, so no part of the table escapes the walk. */
START_TEST(test_random_walk)
{
	static const enum ob_job_state entries[] = { OB_JOB_PENDING, OB_JOB_ANNOUNCED,
						     OB_JOB_REJECTED };
	uint32_t seed = test_seed("random_walk");
	struct ob_fsm_job job = { OB_JOB_PENDING, OB_JOB_PENDING, 0, 0 };
	int role = ROLE_SOURCE;
	static unsigned hits[OB_JOB_STATE_COUNT][OB_EV_COUNT], resumed[OB_JOB_STATE_COUNT];
	int i, k;

	memset(hits, 0, sizeof(hits));
	memset(resumed, 0, sizeof(resumed));
	for (i = 0; i < 200000; i++) {
		struct ob_fsm_event ev;
		int64_t now;
		const struct want *w;
		struct ob_fsm_step got;
		int rc;

		if ((job.state == OB_JOB_EXPIRED || job.state == OB_JOB_REJECTED) &&
		    xorshift32(&seed) % 4 == 0) {
			enum ob_job_state e = entries[xorshift32(&seed) % ROWS(entries)];

			job = (struct ob_fsm_job){ e, e, 0, 0 };
			role = role_of(e);
		}
		ev = (struct ob_fsm_event){ (enum ob_fsm_event_kind)(xorshift32(&seed) % OB_EV_COUNT),
					    xorshift32(&seed) };
		now = (int64_t)(xorshift32(&seed) % 1000000) * 1000;
		w = &expect[job.state][ev.kind];
		hits[job.state][ev.kind]++;
		fill_sentinel(&got);
		rc = ob_fsm_step(&pol_default, &job, &ev, now, &got, NULL);
		REQUIRE((rc == 0) == (w->kind != W_ILLEGAL),
			"step %d: %s + %s gave %d", i, ob_job_state_name(job.state),
			ob_fsm_event_name(ev.kind), rc);
		if (rc < 0) {
			REQUIRE(is_sentinel(&got), "step %d: *ret written on error", i);
			continue;
		}
		REQUIRE((unsigned)got.to < OB_JOB_STATE_COUNT, "step %d: to %d", i, (int)got.to);
		switch (w->kind) {
		case W_GO:
			REQUIRE(got.to == w->to, "step %d: %s + %s went to %s, want %s", i,
				ob_job_state_name(job.state), ob_fsm_event_name(ev.kind),
				ob_job_state_name(got.to), ob_job_state_name(w->to));
			break;
		case W_PROGRESS:
		case W_DEFER:
			REQUIRE(got.to == job.state, "step %d: %s + %s went to %s", i,
				ob_job_state_name(job.state), ob_fsm_event_name(ev.kind),
				ob_job_state_name(got.to));
			break;
		case W_RETRY:
			REQUIRE(got.to == (got.exhausted ? OB_JOB_FAILED : job.state),
				"step %d: %s + retry went to %s", i, ob_job_state_name(job.state),
				ob_job_state_name(got.to));
			break;
		case W_FAIL:
			REQUIRE(got.to == OB_JOB_FAILED, "step %d: %s + fail went to %s", i,
				ob_job_state_name(job.state), ob_job_state_name(got.to));
			break;
		case W_RESUME:
			REQUIRE(got.to == job.failed_from, "step %d: resumed to %s, left %s", i,
				ob_job_state_name(got.to), ob_job_state_name(job.failed_from));
			resumed[got.to]++;
			break;
		case W_ILLEGAL:
			break;
		}
		REQUIRE(role_of(got.to) & role, "step %d: %s job went to %s", i,
			role == ROLE_SOURCE ? "source" : "vault", ob_job_state_name(got.to));
		REQUIRE(got.transition == (got.to != job.state), "step %d: transition flag", i);
		REQUIRE(!got.exhausted || (w->kind == W_RETRY && got.to == OB_JOB_FAILED),
			"step %d: exhausted flag", i);
		if (got.to == OB_JOB_FAILED)
			REQUIRE(ob_job_state_active(got.failed_from) &&
					role_of(got.failed_from) == role,
				"step %d: failed_from %s", i, ob_job_state_name(got.failed_from));
		else
			REQUIRE(got.failed_from == got.to, "step %d: failed_from %s != to", i,
				ob_job_state_name(got.failed_from));
		if (got.transition)
			REQUIRE(got.attempts == 0 && got.defers == 0,
				"step %d: counters kept over a transition", i);
		REQUIRE(got.attempts < pol_default.max_attempts, "step %d: attempts %u", i,
			got.attempts);
		if (ob_job_state_active(got.to))
			REQUIRE(got.next_at_ms >= now && got.next_at_ms < NEVER,
				"step %d: next_at %" PRId64, i, got.next_at_ms);
		else
			REQUIRE(got.next_at_ms == NEVER, "step %d: next_at %" PRId64, i,
				got.next_at_ms);
		job.state = got.to;
		job.failed_from = got.failed_from;
		job.attempts = got.attempts;
		job.defers = got.defers;
	}
	for (i = 0; i < OB_JOB_STATE_COUNT; i++) {
		for (k = 0; k < OB_EV_COUNT; k++)
			ck_assert_msg(hits[i][k] > 0, "walk never tried %s + %s",
				      ob_job_state_name((enum ob_job_state)i),
				      ob_fsm_event_name((enum ob_fsm_event_kind)k));
		if (ob_job_state_active((enum ob_job_state)i))
			ck_assert_msg(resumed[i] > 0, "walk never resumed to %s",
				      ob_job_state_name((enum ob_job_state)i));
	}
}
END_TEST

Suite *ob_suite_fsm(void)
{
	Suite *s = suite_create("fsm");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_every_pair, 0, OB_JOB_STATE_COUNT * OB_EV_COUNT);
	tcase_add_test(tc, test_backoff_worked_example);
	tcase_add_test(tc, test_max_attempts_one);
	tcase_add_loop_test(tc, test_max_attempts_n, 0, ROWS(copy_states));
	tcase_add_test(tc, test_attempts_at_extremes);
	tcase_add_test(tc, test_defer_never_fails);
	tcase_add_test(tc, test_progress_resets_counters);
	tcase_add_test(tc, test_backoff_bounds_random);
	tcase_add_test(tc, test_backoff_counter_sum);
	tcase_add_test(tc, test_now_near_max);
	tcase_add_test(tc, test_invalid_policies);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_null_arguments);
	tcase_add_test(tc, test_operator_retry_failed_from);
	tcase_add_test(tc, test_state_names);
	tcase_add_test(tc, test_event_names);
	tcase_add_test(tc, test_random_walk);
	suite_add_tcase(s, tc);
	return s;
}
