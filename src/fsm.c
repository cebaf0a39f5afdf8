/*
 * fsm.c - the per-snapshot job state machines of both roles (DESIGN.md
 * section 3), as a pure function over one const transition table.
 *
 * The shell acts on a job, turns what it saw into an event and asks
 * ob_fsm_step() what the job becomes; it then commits that with a
 * compare-and-set. Nothing here reads a clock, does I/O, logs or keeps
 * state, so every answer depends on the arguments alone and the whole
 * machine can be table-tested. A pair the table does not list is an error:
 * a silent no-op would hide a shell bug and leave the job stuck.
 */
#include "ob/fsm.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

/* Where a row leads, besides a plain state. */
enum {
	TO_SAME = -1,        /* keep the state */
	TO_FAILED_FROM = -2, /* the state the failed job left */
};

/* When the job is due after a row, and what happens to its counters. */
enum delay_kind {
	DELAY_NOW,       /* due at once; counters reset */
	DELAY_POLL,      /* now + poll_interval; counters reset */
	DELAY_RETENTION, /* now + retention; counters reset */
	DELAY_NEVER,     /* terminal or failed; counters reset */
	DELAY_RETRY,     /* attempts + 1 and back off, or fail when exhausted */
	DELAY_DEFER,     /* defers + 1 and back off; never fails */
};

struct fsm_row {
	enum ob_job_state from;
	enum ob_fsm_event_kind ev;
	int to; /* an enum ob_job_state, TO_SAME or TO_FAILED_FROM */
	enum delay_kind delay;
};

/* Every active state takes the same three setbacks. */
#define SETBACKS(s)						\
	{ (s), OB_EV_RETRY, TO_SAME, DELAY_RETRY },		\
	{ (s), OB_EV_DEFER, TO_SAME, DELAY_DEFER },		\
	{ (s), OB_EV_FAIL, OB_JOB_FAILED, DELAY_NEVER }

static const struct fsm_row table[] = {
	{ OB_JOB_PENDING, OB_EV_COPY_STARTED, OB_JOB_COPYING, DELAY_POLL },
	SETBACKS(OB_JOB_PENDING),

	/* Progress is a successful look at the copy: the errors before it
	 * no longer count against the job. */
	{ OB_JOB_COPYING, OB_EV_COPY_PROGRESS, TO_SAME, DELAY_POLL },
	{ OB_JOB_COPYING, OB_EV_COPY_AVAILABLE, OB_JOB_COPIED, DELAY_NOW },
	SETBACKS(OB_JOB_COPYING),

	{ OB_JOB_COPIED, OB_EV_SHARED, OB_JOB_SHARED, DELAY_NOW },
	SETBACKS(OB_JOB_COPIED),

	{ OB_JOB_SHARED, OB_EV_NOTIFIED, OB_JOB_NOTIFIED, DELAY_RETENTION },
	SETBACKS(OB_JOB_SHARED),

	{ OB_JOB_NOTIFIED, OB_EV_EXPIRED, OB_JOB_EXPIRED, DELAY_NEVER },
	SETBACKS(OB_JOB_NOTIFIED),

	/* The vault: the import is a copy; verifying needs no wait. */
	{ OB_JOB_ANNOUNCED, OB_EV_COPY_STARTED, OB_JOB_IMPORTING, DELAY_POLL },
	SETBACKS(OB_JOB_ANNOUNCED),

	{ OB_JOB_IMPORTING, OB_EV_COPY_PROGRESS, TO_SAME, DELAY_POLL },
	{ OB_JOB_IMPORTING, OB_EV_COPY_AVAILABLE, OB_JOB_IMPORTED, DELAY_NOW },
	SETBACKS(OB_JOB_IMPORTING),

	{ OB_JOB_IMPORTED, OB_EV_VERIFIED, OB_JOB_VERIFIED, DELAY_NEVER },
	SETBACKS(OB_JOB_IMPORTED),

	/* Retention runs per database; a delete that fails is tried again at
	 * the next pass, the copy stays verified meanwhile. */
	{ OB_JOB_VERIFIED, OB_EV_EXPIRED, OB_JOB_EXPIRED, DELAY_NEVER },

	/* expired, rejected: nothing. */

	{ OB_JOB_FAILED, OB_EV_OPERATOR_RETRY, TO_FAILED_FROM, DELAY_NOW },
};

static const char *const state_names[OB_JOB_STATE_COUNT] = {
	[OB_JOB_PENDING] = "pending",
	[OB_JOB_COPYING] = "copying",
	[OB_JOB_COPIED] = "copied",
	[OB_JOB_SHARED] = "shared",
	[OB_JOB_NOTIFIED] = "notified",
	[OB_JOB_EXPIRED] = "expired",
	[OB_JOB_FAILED] = "failed",
	[OB_JOB_ANNOUNCED] = "announced",
	[OB_JOB_IMPORTING] = "importing",
	[OB_JOB_IMPORTED] = "imported",
	[OB_JOB_VERIFIED] = "verified",
	[OB_JOB_REJECTED] = "rejected",
};

static const char *const event_names[OB_EV_COUNT] = {
	[OB_EV_COPY_STARTED] = "copy-started",
	[OB_EV_COPY_PROGRESS] = "copy-progress",
	[OB_EV_COPY_AVAILABLE] = "copy-available",
	[OB_EV_SHARED] = "shared",
	[OB_EV_NOTIFIED] = "notified",
	[OB_EV_EXPIRED] = "expired",
	[OB_EV_RETRY] = "retry",
	[OB_EV_DEFER] = "defer",
	[OB_EV_FAIL] = "fail",
	[OB_EV_OPERATOR_RETRY] = "operator-retry",
	[OB_EV_VERIFIED] = "verified",
};

/* Enums may be signed or unsigned; one unsigned compare catches both ends. */
static bool state_ok(enum ob_job_state s)
{
	return (unsigned)s < OB_JOB_STATE_COUNT;
}

static bool event_ok(enum ob_fsm_event_kind k)
{
	return (unsigned)k < OB_EV_COUNT;
}

const char *ob_job_state_name(enum ob_job_state s)
{
	return state_ok(s) ? state_names[s] : "?";
}

int ob_job_state_parse(const char *name, enum ob_job_state *ret)
{
	unsigned i;

	if (name == NULL)
		return -1;
	for (i = 0; i < OB_JOB_STATE_COUNT; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			if (ret != NULL)
				*ret = (enum ob_job_state)i;
			return 0;
		}
	}
	return -1;
}

const char *ob_fsm_event_name(enum ob_fsm_event_kind k)
{
	return event_ok(k) ? event_names[k] : "?";
}

bool ob_job_state_active(enum ob_job_state s)
{
	return state_ok(s) && s != OB_JOB_EXPIRED && s != OB_JOB_FAILED &&
	       s != OB_JOB_REJECTED && s != OB_JOB_VERIFIED;
}

static const struct fsm_row *lookup(enum ob_job_state from, enum ob_fsm_event_kind ev)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].from == from && table[i].ev == ev)
			return &table[i];
	return NULL;
}

static unsigned inc_sat(unsigned v)
{
	return v == UINT_MAX ? UINT_MAX : v + 1;
}

/* now + delay (delay >= 0). A job something will act on is never due at
 * OB_FSM_NEVER, so the sum stops one short of it. */
static int64_t due_at(int64_t now_ms, int64_t delay_ms)
{
	if (now_ms > OB_FSM_NEVER - 1 - delay_ms)
		return OB_FSM_NEVER - 1;
	return now_ms + delay_ms;
}

/* Equal jitter over d = min(cap, base * 2^(n-1)): d/2 + random mod (d/2 + 1).
 * The doubling stops at the cap, before it could overflow, so n may be as
 * large as attempts + defers can make it. */
static int64_t backoff_ms(const struct ob_fsm_policy *pol, uint64_t n, uint32_t random)
{
	int64_t d = pol->backoff_base_ms, half;
	uint64_t i;

	for (i = 1; i < n && d < pol->backoff_cap_ms; i++)
		d = d > pol->backoff_cap_ms / 2 ? pol->backoff_cap_ms : d * 2;
	if (d > pol->backoff_cap_ms)
		d = pol->backoff_cap_ms;
	half = d / 2;
	return half + (int64_t)((uint64_t)random % ((uint64_t)half + 1));
}

static int check_policy(const struct ob_fsm_policy *pol, struct ob_error *err)
{
	if (pol->max_attempts < 1)
		return ob_error_set(err, OB_ERR_INVALID, "fsm: max_attempts must be at least 1");
	if (pol->poll_interval_ms < 0 || pol->retention_ms < 0)
		return ob_error_set(err, OB_ERR_INVALID,
				    "fsm: poll interval and retention must not be negative");
	if (pol->backoff_base_ms < 1)
		return ob_error_set(err, OB_ERR_INVALID, "fsm: backoff base must be at least 1 ms");
	if (pol->backoff_cap_ms < pol->backoff_base_ms)
		return ob_error_set(err, OB_ERR_INVALID,
				    "fsm: backoff cap must not be below the backoff base");
	return 0;
}

int ob_fsm_step(const struct ob_fsm_policy *pol, const struct ob_fsm_job *job,
		const struct ob_fsm_event *ev, int64_t now_ms, struct ob_fsm_step *ret,
		struct ob_error *err)
{
	const struct fsm_row *row;
	struct ob_fsm_step step;

	if (pol == NULL || job == NULL || ev == NULL || ret == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "fsm: missing argument");
	if (check_policy(pol, err) < 0)
		return -1;
	if (!state_ok(job->state))
		return ob_error_set(err, OB_ERR_INVALID, "fsm: state %d out of range",
				    (int)job->state);
	if (!event_ok(ev->kind))
		return ob_error_set(err, OB_ERR_INVALID, "fsm: event %d out of range",
				    (int)ev->kind);
	row = lookup(job->state, ev->kind);
	if (row == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "fsm: event %s not allowed in state %s",
				    event_names[ev->kind], state_names[job->state]);

	memset(&step, 0, sizeof(step));
	if (row->to == TO_SAME) {
		step.to = job->state;
	} else if (row->to == TO_FAILED_FROM) {
		/* Only a state the daemon acts on can be resumed; anything
		 * else is a corrupt row, and guessing would skip work. */
		if (!ob_job_state_active(job->failed_from))
			return ob_error_set(err, OB_ERR_INVALID,
					    "fsm: failed job has no state to resume (%s)",
					    ob_job_state_name(job->failed_from));
		step.to = job->failed_from;
	} else {
		step.to = (enum ob_job_state)row->to;
	}

	switch (row->delay) {
	case DELAY_NOW:
		step.next_at_ms = due_at(now_ms, 0);
		break;
	case DELAY_POLL:
		step.next_at_ms = due_at(now_ms, pol->poll_interval_ms);
		break;
	case DELAY_RETENTION:
		step.next_at_ms = due_at(now_ms, pol->retention_ms);
		break;
	case DELAY_NEVER:
		step.next_at_ms = OB_FSM_NEVER;
		break;
	case DELAY_RETRY:
		step.attempts = inc_sat(job->attempts);
		step.defers = job->defers;
		if (step.attempts >= pol->max_attempts) {
			step.to = OB_JOB_FAILED;
			step.attempts = 0;
			step.defers = 0;
			step.next_at_ms = OB_FSM_NEVER;
			step.exhausted = true;
			break;
		}
		step.next_at_ms = due_at(now_ms, backoff_ms(pol, (uint64_t)step.attempts +
								   step.defers, ev->random));
		break;
	case DELAY_DEFER:
		step.attempts = job->attempts;
		step.defers = inc_sat(job->defers);
		step.next_at_ms = due_at(now_ms, backoff_ms(pol, (uint64_t)step.attempts +
								   step.defers, ev->random));
		break;
	}

	step.transition = step.to != job->state;
	step.failed_from = step.to == OB_JOB_FAILED ? job->state : step.to;
	*ret = step;
	return 0;
}
