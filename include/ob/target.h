/*
 * ob/target.h - the vault role: validate announcements, import, verify,
 * retain, and watch each database's recovery point objective.
 *
 * An announcement is trusted for nothing but the pointer: the sender must
 * be allow-listed, the ARN must agree with it, and the snapshot must be
 * visible to the vault as shared with it and available. Anything else
 * becomes a `rejected` job row with the reason and a journald warning
 * (MESSAGE_ID OB_MSGID_REJECTED), and the message is deleted, so a forged
 * or misrouted announcement is visible and cannot loop. Jobs then go
 * announced -> importing -> imported -> verified, on the shell in ob/jobs.h.
 */
#ifndef OB_TARGET_H
#define OB_TARGET_H

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

/* How often an announcement whose snapshot is not visible (not shared yet,
 * or not available) is looked at again before it is rejected. */
#define OB_TARGET_VISIBLE_TRIES 6

/* At most one rejection alert in this long per bucket: each account of
 * allowed_source_accounts is one, and every other sender an announcement
 * names (and "unknown") shares the bucket "other" (a forger picks the
 * name). The rest are recorded without a message and counted in the
 * bucket's next alert, or in a summary alert when its hour ends first
 * (ob_target_reject_summaries; docs/alerts.md). */
#define OB_TARGET_REJECT_ALERT_EVERY_MS (3600LL * 1000)

/* What a rejected row keeps of its announcement (in source_tags, as tag
 * pairs), so its alert can be rebuilt from the row
 * (ob_target_reconcile_rejections) and offsite-backupctl show can say what
 * it claimed: the sender account it named and the snapshot ARN. */
#define OB_TAG_REJ_SENDER  "offsite-backup:rejected-sender-account"
#define OB_TAG_REJ_CLAIMED "offsite-backup:rejected-claimed-snapshot"

struct ob_target_options {
	const struct ob_config *cfg;       /* borrowed; see ob_target_set_config */
	struct ob_client *client;          /* borrowed */
	struct ob_store *store;            /* borrowed */
	const struct ob_clock *clock;      /* NULL = system clock */
	const char *account;               /* this (the vault) account's id */
	const volatile sig_atomic_t *stop;
	struct ob_metrics *metrics;        /* borrowed; NULL = none */
	struct ob_alerts *alerts;          /* borrowed; NULL = none */
};

struct ob_target_stats {
	unsigned long messages;
	unsigned long rejected;
	unsigned long malformed;    /* left for the dead-letter queue */
	unsigned long duplicates;
	unsigned long waiting;      /* snapshot not visible yet: looked at again later */
	unsigned long jobs_created;
	unsigned long swept;
	unsigned long expired;      /* vault copies deleted by retention */
	unsigned long rpo_breaches; /* databases whose newest copy is too old now */
};

struct ob_target;

struct ob_target *ob_target_new(const struct ob_target_options *opt, struct ob_error *err);
void ob_target_free(struct ob_target *t);
void ob_target_set_config(struct ob_target *t, const struct ob_config *cfg);

/* Validate each announcement of the batch and create its job (or its
 * rejected row); delete the message once that is committed. A valid
 * announcement whose snapshot is not visible yet stays in the queue and is
 * looked at again with backoff (its visibility timeout), then rejected
 * after OB_TARGET_VISIBLE_TRIES. -1 + err only for a store failure or
 * OB_ERR_CANCELLED. */
int ob_target_intake(struct ob_target *t, const struct ob_sqs_batch *batch,
		     struct ob_error *err);

/* Do what is due: the sweep, imports up to the copy slots, one batched
 * poll, verification, retention and the RPO watch. As ob_source_run(). */
int ob_target_run(struct ob_target *t, int64_t *ret_next_ms, struct ob_error *err);

/* The rejection half of the alert reconcile pass (ob_target_run calls it
 * with ob_jobs_reconcile_alerts() when ob_jobs_alerts_due()): every rejected
 * row younger than OB_ALERT_KEEP_TERMINAL_MS has its alert (rebuilt from
 * the row, through the same key and rate limit as the live path); older
 * ones were pruned on purpose and stay quiet. A row whose alert key is
 * known to have an outbox row (ob_alerts_known) is skipped before any
 * text or details are built. */
void ob_target_reconcile_rejections(struct ob_target *t);

/* Called by ob_target_run every tick: each bucket whose hour since its
 * last alert has ended with rejections held back gets one terminal summary
 * alert (key "rejected-summary:<bucket>/<window start>") saying how many,
 * which starts its next hour. Cheap: the buckets are in memory. */
void ob_target_reject_summaries(struct ob_target *t);

void ob_target_get_stats(const struct ob_target *t, struct ob_target_stats *ret);

#endif
