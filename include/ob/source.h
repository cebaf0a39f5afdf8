/*
 * ob/source.h - the source role: EventBridge intake and the export jobs.
 *
 * The shell around the pure state machine (ob/fsm.h): it turns snapshot
 * events into jobs, and drives each job by performing one AWS action,
 * feeding the outcome back as an event and committing the step before the
 * next side effect (copy -> poll -> share -> notify -> expire). Only this
 * module and the daemon loop log about jobs, once per transition.
 */
#ifndef OB_SOURCE_H
#define OB_SOURCE_H

#include <signal.h>
#include <stdint.h>

#include "ob/alert.h"
#include "ob/client.h"
#include "ob/clock.h"
#include "ob/config.h"
#include "ob/error.h"
#include "ob/metrics.h"
#include "ob/sqs.h"
#include "ob/store.h"

/* Snapshots older than this are not picked up by the sweep. */
#define OB_SOURCE_SWEEP_WINDOW_MS (2LL * 24 * 3600 * 1000)

struct ob_source_options {
	const struct ob_config *cfg;       /* borrowed; see ob_source_set_config */
	struct ob_client *client;          /* borrowed */
	struct ob_store *store;            /* borrowed */
	const struct ob_clock *clock;      /* NULL = system clock */
	const char *account;               /* this account's id (from STS) */
	const volatile sig_atomic_t *stop; /* set: finish the call in hand, return */
	struct ob_metrics *metrics;        /* borrowed; NULL = none */
	struct ob_alerts *alerts;          /* borrowed; NULL = none */
};

/* Counters since start, for STATUS= and the logs. */
struct ob_source_stats {
	unsigned long messages;    /* received */
	unsigned long ignored;     /* not for us: deleted */
	unsigned long malformed;   /* left for the dead-letter queue */
	unsigned long duplicates;  /* a job existed already */
	unsigned long filtered;    /* refused by include_db/exclude_db/require_tag */
	unsigned long own_copies;  /* about our own copies */
	unsigned long jobs_created;
	unsigned long swept;       /* jobs created by the sweep */
};

struct ob_source;

/* Create the role. Nothing is called yet. NULL + err on bad options. */
struct ob_source *ob_source_new(const struct ob_source_options *opt, struct ob_error *err);

/* NULL is a no-op. */
void ob_source_free(struct ob_source *s);

/* Use cfg (borrowed) from now on: filters, intervals, retention, copy
 * slots, attempts. The AWS settings of the old one stay in force. */
void ob_source_set_config(struct ob_source *s, const struct ob_config *cfg);

/* Handle one received batch: parse each event, create the jobs it asks
 * for, and delete from the queue every message whose job is committed or
 * that is not for us. Malformed messages are logged once and left for the
 * dead-letter queue. Per-message problems are logged, not returned. -1 +
 * err only when the store fails (the messages then stay in the queue) or
 * on OB_ERR_CANCELLED. */
int ob_source_intake(struct ob_source *s, const struct ob_sqs_batch *batch,
		     struct ob_error *err);

/* Do whatever is due now: the sweep, one batched poll of the copies in
 * flight, new copies up to the slot limit, shares, announcements and
 * expiries. *ret_next_ms is the wall-clock time something is due next
 * (OB_FSM_NEVER when nothing is). -1 + err when the store fails or on
 * OB_ERR_CANCELLED; AWS errors are steps of the jobs, not failures here. */
int ob_source_run(struct ob_source *s, int64_t *ret_next_ms, struct ob_error *err);

void ob_source_get_stats(const struct ob_source *s, struct ob_source_stats *ret);

#endif
