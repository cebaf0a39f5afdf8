/*
 * ob/fsm.h - the per-snapshot job state machine, as a pure function.
 *
 * DESIGN.md section 3. ob_fsm_step() looks the (state, event) pair up in a
 * const transition table and says what the job becomes: its next state,
 * counters and when the shell should act on it next. No I/O, no clock (the
 * time is an argument), no logging. An unknown pair is an error, never a
 * silent no-op. States are stored in SQLite by name, so the order of the
 * enum is free to change.
 */
#ifndef OB_FSM_H
#define OB_FSM_H

#include <stdbool.h>
#include <stdint.h>

#include "ob/error.h"

/* Job states of both roles (DESIGN.md section 3). */
enum ob_job_state {
	/* source */
	OB_JOB_PENDING = 0, /* snapshot seen, waiting for a copy slot */
	OB_JOB_COPYING,     /* export copy in progress */
	OB_JOB_COPIED,      /* export copy available */
	OB_JOB_SHARED,      /* restore attribute holds the vault account */
	OB_JOB_NOTIFIED,    /* announcement published; copy kept until retention */
	/* both */
	OB_JOB_EXPIRED,     /* our copy deleted (export expiry / vault retention); done */
	OB_JOB_FAILED,      /* gave up; `offsite-backupctl retry` resumes */
	/* target (vault) */
	OB_JOB_ANNOUNCED,   /* announcement accepted, snapshot confirmed shared */
	OB_JOB_IMPORTING,   /* vault copy in progress */
	OB_JOB_IMPORTED,    /* vault copy available, not yet verified */
	OB_JOB_VERIFIED,    /* held in the vault under the retention policy */
	OB_JOB_REJECTED,    /* announcement refused; never acted upon */
	OB_JOB_STATE_COUNT
};

/* What the shell observed after acting on a job. The copy events serve
 * both roles: the vault's import is a copy too (announced -> importing ->
 * imported). */
enum ob_fsm_event_kind {
	OB_EV_COPY_STARTED = 0, /* pending/announced: CopyDB*Snapshot accepted, or our copy exists */
	OB_EV_COPY_PROGRESS,    /* copying/importing: the copy is still in progress */
	OB_EV_COPY_AVAILABLE,   /* copying/importing: the copy is available */
	OB_EV_SHARED,           /* copied: restore attribute holds the vault */
	OB_EV_NOTIFIED,         /* shared: announcement published */
	OB_EV_EXPIRED,          /* notified/verified: our copy deleted (or already gone) */
	OB_EV_RETRY,            /* active: a retryable error; counts as an attempt */
	OB_EV_DEFER,            /* active: throttled, quota full; never fails the job */
	OB_EV_FAIL,             /* active: a non-retryable error, or the copy failed/vanished */
	OB_EV_OPERATOR_RETRY,   /* failed: the operator asked to try again */
	OB_EV_VERIFIED,         /* imported: the vault copy matches the announcement */
	OB_EV_COUNT
};

struct ob_fsm_event {
	enum ob_fsm_event_kind kind;
	uint32_t random; /* uniformly random; chooses the jitter of a backoff */
};

/* The part of a job the machine reads. */
struct ob_fsm_job {
	enum ob_job_state state;
	enum ob_job_state failed_from; /* the state a failed job left; else ignored */
	unsigned attempts;             /* retryable errors since the last transition */
	unsigned defers;               /* throttle/quota delays since the last transition */
};

/* Settings, from the configuration. */
struct ob_fsm_policy {
	unsigned max_attempts;      /* >= 1: the RETRY that reaches it fails the job */
	int64_t poll_interval_ms;   /* copying/importing: next look */
	int64_t retention_ms;       /* notified: when the export copy expires */
	int64_t backoff_base_ms;    /* first retry delay before jitter */
	int64_t backoff_cap_ms;     /* longest delay */
};

#define OB_FSM_NEVER INT64_MAX /* next_at of a job nothing will act on */

/* The outcome of one step. */
struct ob_fsm_step {
	enum ob_job_state to;
	enum ob_job_state failed_from; /* to == failed: where it failed; else == to */
	unsigned attempts, defers;     /* both 0 after a transition */
	int64_t next_at_ms;            /* when to act next; OB_FSM_NEVER when terminal/failed */
	bool transition;               /* state changed: write history, log once */
	bool exhausted;                /* a RETRY hit max_attempts and failed the job */
};

/* Apply ev to job at now_ms under pol. 0 and *ret filled, or -1 + err
 * (OB_ERR_INVALID) for a pair the table does not allow, a state/event out
 * of range, an invalid policy, or an OPERATOR_RETRY whose failed_from is not
 * an active state; *ret is untouched then. Counters saturate; next_at of a
 * job still in progress saturates at OB_FSM_NEVER - 1.
 *
 * Delays: a transition to copying or importing waits poll_interval, to
 * notified waits retention, to copied/shared/imported (or back from failed)
 * is due now; expired, failed and verified are never due (the vault's
 * intake creates jobs in announced or rejected directly, as the source's
 * creates them in pending). RETRY and DEFER keep the state and back off: with
 * n = attempts + defers after the step, d = min(cap, base * 2^(n-1)), the
 * delay is d/2 + (random mod (d/2 + 1)) ("equal jitter": never shorter than
 * half). */
int ob_fsm_step(const struct ob_fsm_policy *pol, const struct ob_fsm_job *job,
		const struct ob_fsm_event *ev, int64_t now_ms, struct ob_fsm_step *ret,
		struct ob_error *err);

/* "pending", "copying", ...; "?" when out of range. */
const char *ob_job_state_name(enum ob_job_state s);

/* Inverse of ob_job_state_name: 0, or -1 for an unknown name. */
int ob_job_state_parse(const char *name, enum ob_job_state *ret);

/* "copy-started", "retry", ...; "?" when out of range. */
const char *ob_fsm_event_name(enum ob_fsm_event_kind k);

/* True for states the daemon acts on when their next_at comes: not
 * expired, failed, rejected, nor verified (retention looks at verified
 * copies per database, not per job). */
bool ob_job_state_active(enum ob_job_state s);

#endif
