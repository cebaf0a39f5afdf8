/*
 * ob/daemon.h - the one deadline-driven loop both roles run in.
 *
 * Each turn does the role's due work, then long-polls the queue for at
 * most the time until the next deadline (0..20 s), then hands what arrived
 * to the role. A copy slot freeing up or a poll tick therefore waits at
 * most one shortened long poll. Signal handlers only set flags; the loop
 * checks them every turn, and a stop aborts the long poll at once.
 */
#ifndef OB_DAEMON_H
#define OB_DAEMON_H

#include <signal.h>
#include <stdint.h>

#include "ob/alert.h"
#include "ob/client.h"
#include "ob/clock.h"
#include "ob/error.h"
#include "ob/sqs.h"
#include "ob/store.h"

#define OB_DAEMON_MAX_WAIT_S 20 /* SQS's longest long poll */
#define OB_DAEMON_QUOTA_EVERY_MS (10 * 60 * 1000) /* quota look-ups at most */
#define OB_DAEMON_QUOTA_PERCENT 90 /* manual snapshots used: alert from here */
#define OB_DAEMON_QUOTA_CLEAR_PERCENT 85 /* ... and clear only below this */

/* What a role plugs into the loop. */
struct ob_daemon_role {
	const char *name;  /* "source" / "target", for STATUS= */
	void *ctx;
	/* Handle a received batch (never empty). -1 + err stops the turn:
	 * OB_ERR_CANCELLED ends the loop, a corrupt state database
	 * (ob_store_fault_of) ends it with that error, anything else is
	 * logged and retried after a pause. */
	int (*intake)(void *ctx, const struct ob_sqs_batch *batch, struct ob_error *err);
	/* Do the due work; *ret_next_ms = when something is due next (wall
	 * clock, OB_FSM_NEVER for nothing). Errors as intake. */
	int (*run)(void *ctx, int64_t *ret_next_ms, struct ob_error *err);
};

struct ob_daemon_options {
	struct ob_client *client;          /* borrowed */
	struct ob_store *store;            /* borrowed; job counts for STATUS= */
	const char *queue_url;             /* copied */
	const struct ob_clock *clock;      /* NULL = system clock */
	const volatile sig_atomic_t *stop; /* required */
	/* Called at the top of every turn (e.g. to apply a SIGHUP reload);
	 * may be NULL. */
	void (*each_turn)(void *ctx);
	void *each_turn_ctx;
	/* Called about once a second while the loop pauses after a failure
	 * (e.g. to ping the systemd watchdog); may be NULL. */
	void (*tick)(void *ctx);
	void *tick_ctx;
	/* Called at the top of every turn, after each_turn, to report the
	 * figures (metrics file, CloudWatch); may be NULL. */
	void (*report)(void *ctx);
	void *report_ctx;
	struct ob_daemon_role role;
	/* The loop's own alerts (may be NULL): the credentials refused or the
	 * queue unreachable for alert_after, the RDS manual snapshot quota
	 * at 90 %; flushed every turn. */
	struct ob_alerts *alerts;          /* borrowed */
	int64_t quota_every_ms;            /* 0 = OB_DAEMON_QUOTA_EVERY_MS */
};

/* Run until *stop. Returns 0 on a requested stop; -1 + err only for a
 * problem the loop cannot wait out: bad options, or a state database
 * found corrupt (err keeps its fault: the caller exits for a rebuild). */
int ob_daemon_run(const struct ob_daemon_options *opt, struct ob_error *err);

/* The quota alert's hysteresis: 1 = raise (used >= OB_DAEMON_QUOTA_PERCENT
 * of max), -1 = clear (below OB_DAEMON_QUOTA_CLEAR_PERCENT, or no max),
 * 0 = leave it as it is (in between). */
int ob_daemon_quota_verdict(long long used, long long max);

#endif
