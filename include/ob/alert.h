/*
 * ob/alert.h - operator alerts: a condition is raised once, cleared once,
 * and each of the two is published to the SNS topic alert_topic_arn as a
 * short text followed by a JSON document of the details.
 *
 * A condition is named by a key ("job-failed:<job id>", "rpo:<account>/<db>",
 * "credentials", "queue", "quota:ManualSnapshots", ...). The state database
 * is the outbox (ob_store_alert_*): a raise writes a row, a clear marks it,
 * and ob_alerts_flush(), called every loop turn, publishes what is unsent,
 * so a restart neither repeats an alert nor forgets its cleared message. A
 * failed publish is kept and retried with backoff; nothing here ever fails
 * the caller's work (a store failure is logged). Without a topic every call
 * is a no-op: the journal lines the callers write are then the only alert.
 * A row lost that way, or between a job's commit and its raise, is made up
 * for by the roles' reconcile pass (ob_jobs_reconcile_alerts()).
 */
#ifndef OB_ALERT_H
#define OB_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ob/aws.h"
#include "ob/clock.h"
#include "ob/error.h"
#include "ob/store.h"

#define OB_ALERT_SUBJECT_MAX 99       /* SNS: "less than 100 characters" */
#define OB_ALERT_FLUSH_ROWS 10        /* rows looked at per loop turn */
#define OB_ALERT_BACKOFF_MIN_MS 30000 /* after a failed publish, doubling */
#define OB_ALERT_BACKOFF_MAX_MS 300000
#define OB_ALERT_PUBLISH_TIMEOUT_MS 10000 /* per request; a Publish: one attempt */
#define OB_ALERT_PUBLISH_ATTEMPTS 1
#define OB_ALERT_KEEP_TERMINAL_MS (30LL * 24 * 3600 * 1000) /* rejection dedup */
#define OB_ALERT_FIELD_MAX 1024       /* bytes of one untrusted string kept */
#define OB_ALERT_KNOWN_MAX 65536      /* key hashes ob_alerts_known() keeps */

struct ob_alerts_options {
	struct ob_store *store;        /* borrowed */
	struct ob_aws *aws;            /* borrowed */
	const struct ob_clock *clock;  /* NULL = system clock */
	const char *topic_arn;         /* copied; NULL or "" = alerts off */
	const char *role;              /* "source" / "target"; copied */
	const char *account;           /* this daemon's account; copied */
	const char *region;            /* copied */
	int64_t after_ms;              /* alert_after; 0 = at once */
};

/* One condition to raise. Borrowed; details (may be NULL) is an object
 * whose members join the JSON document (build it with ob_alert_set()). */
struct ob_alert {
	const char *key;     /* the condition's identity (dedup) */
	const char *kind;    /* job-failed, rejected, rpo, credentials, queue, quota */
	const char *summary; /* a few words: the Subject's tail */
	const char *text;    /* for a person: what happened, what to do */
	json_t *details;
	bool terminal;       /* never cleared (a rejection): one message only */
};

struct ob_alerts;

/* New alerts on o (the store's active conditions are read once). NULL +
 * err on a bad option or a store failure. */
struct ob_alerts *ob_alerts_new(const struct ob_alerts_options *o, struct ob_error *err);
void ob_alerts_free(struct ob_alerts *a);

/* A reloaded configuration: the new topic (NULL or "" = off). */
void ob_alerts_set_topic(struct ob_alerts *a, const char *topic_arn);

/* alert_after: how long the queue may be unreachable or the credentials
 * refused before the daemon loop raises its alert (default 5 minutes). */
void ob_alerts_set_after(struct ob_alerts *a, int64_t after_ms);
int64_t ob_alerts_after_ms(const struct ob_alerts *a);

/* True when a is not NULL and has a topic. */
bool ob_alerts_enabled(const struct ob_alerts *a);

/* Raise al unless its key is raised already (then nothing happens: one
 * message per condition until it clears). NULL a is a no-op. True when a
 * new row was written (a new message, or a silent record). */
bool ob_alerts_raise(struct ob_alerts *a, const struct ob_alert *al);

/* As ob_alerts_raise(), but the row is recorded as sent without any
 * message: the key is deduplicated (a redelivery, the reconcile pass) and
 * nothing is published. For a rate-limited rejection. */
bool ob_alerts_record_silently(struct ob_alerts *a, const struct ob_alert *al);

/* Clear key with text (what ended it) if it is raised; otherwise nothing,
 * without touching the store, so callers may clear on every success. */
void ob_alerts_clear(struct ob_alerts *a, const char *key, const char *text);

/* Is the terminal key known to have a row in the outbox? True after this
 * process raised or silently recorded it, or a raise found it there
 * already (ob_store_alert_raise dedups); terminal rows stay until pruned
 * (OB_ALERT_KEEP_TERMINAL_MS after their raise). A cache of 64-bit key hashes, no store
 * access: false means "not known", not "absent" (after a start-up the
 * first reconcile pass finds out through the raise). So the reconcile
 * passes skip rows whose alert exists before building anything. */
bool ob_alerts_known(const struct ob_alerts *a, const char *key);

/* Is key raised and not cleared? */
bool ob_alerts_active(const struct ob_alerts *a, const char *key);

/* A new loop turn starts: the per-turn limits of ob_alerts_flush() start
 * again. */
void ob_alerts_begin_turn(struct ob_alerts *a);

/* Publish what is unsent. Between two ob_alerts_begin_turn() calls (one
 * loop turn), however often it is called: at most OB_ALERT_FLUSH_ROWS rows
 * are looked at, and after a failed publish nothing more is tried (then the
 * backoff, OB_ALERT_BACKOFF_MIN_MS doubling to _MAX_MS, must pass). Each
 * Publish is one attempt of at most OB_ALERT_PUBLISH_TIMEOUT_MS, plus the
 * one clock-skew and one expired-credentials correction ob_aws may add (each
 * one more request of at most that long: about 30 s in all). Cheap when
 * nothing is pending. */
void ob_alerts_flush(struct ob_alerts *a);

/* Set o[name] to the string v made safe: invalid UTF-8 bytes become '?'
 * and it is cut at OB_ALERT_FIELD_MAX bytes. NULL v is skipped. */
void ob_alert_set(json_t *o, const char *name, const char *v);

/* The SNS Subject for role/account/summary (cleared adds "resolved: "):
 * printable ASCII only, at most OB_ALERT_SUBJECT_MAX characters, cut with
 * "..." when longer. out must hold OB_ALERT_SUBJECT_MAX + 1 bytes. */
void ob_alert_subject(char *out, const char *role, const char *account, const char *summary,
		      bool cleared);

/* Copy text into out (size bytes) without control characters (newlines
 * and tabs kept) and without invalid UTF-8 (as '?'). Signing material an
 * AWS error may quote (the value after "Credential=" or "Signature=", an
 * access key id "AKIA..."/"ASIA...") becomes "[removed]"; so do the values
 * of ob_alert_set(). */
void ob_alert_clean_text(char *out, size_t size, const char *text);

/* Is err a refusal of the credentials themselves (expired, unknown key,
 * bad signature), as opposed to a missing permission or a fault? */
bool ob_alert_creds_error(const struct ob_error *err);

#endif
