/*
 * daemon.c - the deadline-driven loop: due work, then a long poll cut to
 * the next deadline, then intake; STATUS= for systemd; pauses (never
 * exits) while AWS or the disk is in trouble, since nothing is lost by
 * waiting: unhandled messages stay in the queue, jobs stay in SQLite.
 */
#include "ob/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "ob/fsm.h"
#include "ob/log.h"
#include "ob/rds.h"
#include "ob/store.h"

#define PAUSE_MIN_MS 1000
#define PAUSE_MAX_MS 60000

struct loop {
	const struct ob_daemon_options *opt;
	const struct ob_clock *clock;
	char *queue_url;
	int64_t pause_ms;        /* current pause after a failure; 0 = healthy */
	char status[512];        /* last STATUS= sent */
	char last_problem[300];  /* last logged failure, to log changes only */
	int64_t creds_since_ms;  /* first of a run of refused credentials; 0 = none */
	int64_t queue_since_ms;  /* first of a run of failed receives; 0 = none */
	int64_t next_quota_ms;   /* next look at the snapshot quota */
	bool quota_warned;       /* its look-up failed and was logged */
};

static bool stopping(const struct loop *l)
{
	return *l->opt->stop != 0;
}

/* ---- the loop's own alerts ------------------------------------------------ */

/* Raise the credentials or queue alert once its run of failures has
 * lasted alert_after. */
static void degraded(struct loop *l, const char *key, int64_t since, const char *what,
		     const struct ob_error *err)
{
	struct ob_alerts *a = l->opt->alerts;
	char text[1536], line[600], when[32];
	int64_t now = l->clock->now_ms(l->clock->ctx);
	bool creds = strcmp(key, "credentials") == 0;
	time_t tt = (time_t)(since / 1000);
	struct tm tm;
	json_t *d;

	if (!ob_alerts_enabled(a) || ob_alerts_active(a, key) ||
	    now - since < ob_alerts_after_ms(a))
		return;
	if (gmtime_r(&tt, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	ob_error_str(err, line, sizeof(line));
	if (creds)
		snprintf(text, sizeof(text),
			 "AWS has refused this daemon's credentials since %s (%s: %s). Nothing is "
			 "copied meanwhile; nothing is lost either (messages stay in the queue, "
			 "jobs in the state database).\n\n"
			 "What to do: check the instance role (or [aws] credentials), the instance's "
			 "clock, and that the keys are neither expired nor deleted; then watch "
			 "journalctl -u offsite-backup.", when, what, line);
	else
		snprintf(text, sizeof(text),
			 "The daemon has not been able to receive from its queue since %s (%s: %s). "
			 "No new snapshot or announcement is picked up meanwhile; jobs already "
			 "known go on.\n\n"
			 "What to do: check queue_url, the queue's existence and policy, "
			 "sqs:ReceiveMessage in the role's policy and the network path to SQS; "
			 "then watch journalctl -u offsite-backup.", when, what, line);
	d = json_object();
	ob_alert_set(d, "failing_since", when);
	ob_alert_set(d, "operation", what);
	ob_alert_set(d, "error_code", err->aws_code);
	ob_alert_set(d, "error_message", err->message);
	ob_alert_set(d, "error_kind", ob_error_kind_name(err->kind));
	if (err->http_status > 0)
		json_object_set_new(d, "http_status", json_integer(err->http_status));
	json_object_set_new(d, "alert_after_seconds", json_integer(ob_alerts_after_ms(a) / 1000));
	ob_alerts_raise(a, &(struct ob_alert){ key, key,
			creds ? "AWS credentials refused" : "queue unreachable", text, d, false });
	json_decref(d);
}

/* A failure in the loop: start or extend the run it belongs to. */
static void note_failure(struct loop *l, const char *what, const struct ob_error *err,
			 bool receiving)
{
	int64_t now = l->clock->now_ms(l->clock->ctx);

	if (ob_alert_creds_error(err)) {
		if (l->creds_since_ms == 0)
			l->creds_since_ms = now;
		degraded(l, "credentials", l->creds_since_ms, what, err);
	} else if (receiving) {
		if (l->queue_since_ms == 0)
			l->queue_since_ms = now;
		degraded(l, "queue", l->queue_since_ms, what, err);
	}
	ob_alerts_flush(l->opt->alerts);
}

/* A message batch came in: the credentials and the queue work. */
static void receive_ok(struct loop *l)
{
	l->creds_since_ms = 0;
	l->queue_since_ms = 0;
	ob_alerts_clear(l->opt->alerts, "credentials",
			"AWS accepts the daemon's credentials again.");
	ob_alerts_clear(l->opt->alerts, "queue", "The daemon receives from its queue again.");
}

int ob_daemon_quota_verdict(long long used, long long max)
{
	if (max <= 0 || used * 100 < max * OB_DAEMON_QUOTA_CLEAR_PERCENT)
		return -1;
	return used * 100 >= max * OB_DAEMON_QUOTA_PERCENT ? 1 : 0;
}

/* One quota against OB_DAEMON_QUOTA_PERCENT (raise) and
 * OB_DAEMON_QUOTA_CLEAR_PERCENT (clear): no raise/clear pair per look
 * while it hovers at the threshold. */
static void quota_one(struct loop *l, const struct ob_rds_quota *q, const char *what)
{
	struct ob_alerts *a = l->opt->alerts;
	char key[64], text[1536], summary[128];
	json_t *d;
	int verdict;

	snprintf(key, sizeof(key), "quota:%s", q->name);
	if (!q->found)
		return;
	verdict = ob_daemon_quota_verdict(q->used, q->max);
	if (verdict < 0) {
		snprintf(text, sizeof(text), "The %s quota is below %d %% again: %lld of %lld "
			 "used.", what, OB_DAEMON_QUOTA_CLEAR_PERCENT, q->used, q->max);
		ob_alerts_clear(a, key, text);
		return;
	}
	if (verdict == 0 || ob_alerts_active(a, key))
		return;
	snprintf(summary, sizeof(summary), "RDS %s quota at %lld of %lld", what, q->used, q->max);
	snprintf(text, sizeof(text),
		 "This account has used %lld of its %lld %s (RDS quota %s). When none is left, "
		 "every snapshot copy (export copies on a source, vault copies on the vault) "
		 "fails with SnapshotQuotaExceeded and waits: backups stop.\n\n"
		 "What to do: delete manual snapshots that are no longer needed, shorten "
		 "retention (export_copy_retention on a source, keep_* on the vault), or ask for "
		 "a higher quota in Service Quotas (Amazon RDS).",
		 q->used, q->max, what, q->name);
	d = json_object();
	ob_alert_set(d, "quota", q->name);
	json_object_set_new(d, "used", json_integer(q->used));
	json_object_set_new(d, "max", json_integer(q->max));
	json_object_set_new(d, "threshold_percent", json_integer(OB_DAEMON_QUOTA_PERCENT));
	json_object_set_new(d, "clear_below_percent", json_integer(OB_DAEMON_QUOTA_CLEAR_PERCENT));
	ob_alerts_raise(a, &(struct ob_alert){ key, "quota", summary, text, d, false });
	json_decref(d);
}

/* Look at the manual snapshot quotas when due (both roles make manual
 * snapshots: export copies and vault copies). A failed look-up is logged
 * once and tried again at the next interval: it never stops the loop. */
static void quota_watch(struct loop *l)
{
	struct ob_rds_quota q[2] = { { "ManualSnapshots", false, 0, 0 },
				     { "ManualClusterSnapshots", false, 0, 0 } };
	int64_t now = l->clock->now_ms(l->clock->ctx);
	struct ob_error err;
	char line[600];

	if (!ob_alerts_enabled(l->opt->alerts) || now < l->next_quota_ms)
		return;
	l->next_quota_ms = now + (l->opt->quota_every_ms > 0 ? l->opt->quota_every_ms
							     : OB_DAEMON_QUOTA_EVERY_MS);
	if (ob_rds_account_quotas(l->opt->client->aws, q, 2, &err) < 0) {
		if (err.kind != OB_ERR_CANCELLED && !l->quota_warned)
			ob_log(OB_LOG_WARNING, "cannot read the RDS snapshot quotas "
			       "(rds:DescribeAccountAttributes): %s; trying again later",
			       ob_error_str(&err, line, sizeof(line)));
		l->quota_warned = err.kind != OB_ERR_CANCELLED;
		return;
	}
	l->quota_warned = false;
	quota_one(l, &q[0], "manual DB snapshots");
	quota_one(l, &q[1], "manual DB cluster snapshots");
}

/* ---- the loop ------------------------------------------------------------- */

/* Log a failure once (until it changes or things recover) and pause with
 * a doubling delay; a stop request cuts the pause short. */
static void trouble(struct loop *l, const char *what, const struct ob_error *err)
{
	char line[600], msg[sizeof(l->last_problem)];
	int64_t left;
	int n;

	ob_error_str(err, line, sizeof(line));
	n = snprintf(msg, sizeof(msg), "%s: ", what);
	if (n > 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, "%.*s", (int)(sizeof(msg) - (size_t)n - 1), line);
	l->pause_ms = l->pause_ms == 0 ? PAUSE_MIN_MS :
		(l->pause_ms * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : l->pause_ms * 2);
	if (strcmp(msg, l->last_problem) != 0) {
		ob_log(OB_LOG_WARNING, "%s; trying again in %lld s", msg,
		       (long long)(l->pause_ms / 1000));
		snprintf(l->last_problem, sizeof(l->last_problem), "%s", msg);
	}
	/* In one-second slices: a stop ends the pause, the watchdog is fed. */
	for (left = l->pause_ms; left > 0 && !stopping(l); left -= 1000) {
		if (l->opt->tick != NULL)
			l->opt->tick(l->opt->tick_ctx);
		l->clock->sleep_ms(l->clock->ctx, left < 1000 ? left : 1000);
	}
}

static void healthy(struct loop *l)
{
	if (l->last_problem[0] != '\0')
		ob_log(OB_LOG_NOTICE, "recovered after: %s", l->last_problem);
	l->last_problem[0] = '\0';
	l->pause_ms = 0;
}

/* STATUS= with the job counts per state, sent when it changes. */
static void send_status(struct loop *l)
{
	long counts[OB_JOB_STATE_COUNT];
	char buf[sizeof(l->status)];
	struct ob_error err;
	size_t len;
	int i;

	if (ob_store_count_states(l->opt->store, counts, &err) < 0)
		return;
	/* The states that have jobs, in table order: "source: 2 copying, 40
	 * notified"; a role's other states and empty ones would be noise. */
	len = (size_t)snprintf(buf, sizeof(buf), "%s:", l->opt->role.name);
	for (i = 0; i < OB_JOB_STATE_COUNT && len < sizeof(buf); i++)
		if (counts[i] > 0)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %ld %s",
						strchr(buf, ' ') ? "," : "", counts[i],
						ob_job_state_name((enum ob_job_state)i));
	if (strchr(buf, ' ') == NULL && len < sizeof(buf))
		snprintf(buf + len, sizeof(buf) - len, " no jobs");
	if (strcmp(buf, l->status) == 0)
		return;
	memcpy(l->status, buf, sizeof(buf));
	sd_notifyf(0, "STATUS=%s", buf);
}

/* Seconds to long-poll: up to the next deadline, rounded up, 0..20. */
static int wait_seconds(const struct loop *l, int64_t next_ms)
{
	int64_t left;

	if (next_ms == OB_FSM_NEVER)
		return OB_DAEMON_MAX_WAIT_S;
	left = next_ms - l->clock->now_ms(l->clock->ctx);
	if (left <= 0)
		return 0;
	if (left >= (int64_t)OB_DAEMON_MAX_WAIT_S * 1000)
		return OB_DAEMON_MAX_WAIT_S;
	return (int)((left + 999) / 1000);
}

/* A failed turn: pause and go on (trouble), except for a corrupt state
 * database, which no pause mends: that ends the loop, -1 + *fatal (what
 * the daemon exits with: the operator must rebuild it). Else 0. */
static int problem(struct loop *l, const char *what, const struct ob_error *err,
		   struct ob_error *fatal)
{
	if (ob_store_fault_of(err) == OB_STORE_FAULT_CORRUPT) {
		*fatal = *err;
		ob_error_prefix(fatal, "%s", what);
		return -1;
	}
	note_failure(l, what, err, false);
	trouble(l, what, err);
	return 0;
}

/* One turn. 1 when the loop should end, -1 + *fatal when it must end on
 * an error, else 0. */
static int turn(struct loop *l, struct ob_error *fatal)
{
	const struct ob_daemon_role *role = &l->opt->role;
	struct ob_sqs_batch batch;
	struct ob_error err;
	int64_t next = OB_FSM_NEVER;

	if (l->opt->each_turn != NULL)
		l->opt->each_turn(l->opt->each_turn_ctx);
	if (stopping(l))
		return 1;
	if (l->opt->report != NULL)
		l->opt->report(l->opt->report_ctx);
	/* However often a turn flushes: at most one failed Publish and
	 * OB_ALERT_FLUSH_ROWS rows per turn. */
	ob_alerts_begin_turn(l->opt->alerts);
	ob_alerts_flush(l->opt->alerts);
	quota_watch(l);
	if (stopping(l))
		return 1;
	if (role->run(role->ctx, &next, &err) < 0) {
		/* Cancelled without a stop: a reload cut a read short; the
		 * next turn applies it and does the work again. */
		if (err.kind == OB_ERR_CANCELLED)
			return stopping(l) ? 1 : 0;
		return problem(l, "jobs", &err, fatal);
	}
	send_status(l);
	/* What the work raised or cleared goes out now, not after the poll. */
	ob_alerts_flush(l->opt->alerts);
	if (stopping(l))
		return 1;
	if (ob_sqs_receive(l->opt->client->aws, l->queue_url, 10, wait_seconds(l, next), 0,
			   &batch, &err) < 0) {
		if (err.kind == OB_ERR_CANCELLED)
			return stopping(l) ? 1 : 0;
		note_failure(l, "ReceiveMessage", &err, true);
		trouble(l, "receiving from the queue", &err);
		return 0;
	}
	receive_ok(l);
	if (batch.n > 0 || batch.n_malformed > 0) {
		if (role->intake(role->ctx, &batch, &err) < 0) {
			ob_sqs_batch_clear(&batch);
			if (err.kind == OB_ERR_CANCELLED)
				return stopping(l) ? 1 : 0;
			return problem(l, "handling messages", &err, fatal);
		}
	}
	ob_sqs_batch_clear(&batch);
	ob_alerts_flush(l->opt->alerts);
	healthy(l);
	return 0;
}

int ob_daemon_run(const struct ob_daemon_options *opt, struct ob_error *err)
{
	struct loop l;
	int rc;

	if (opt->client == NULL || opt->store == NULL || opt->queue_url == NULL ||
	    opt->stop == NULL || opt->role.run == NULL || opt->role.intake == NULL ||
	    opt->role.name == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "daemon loop: missing options");
	memset(&l, 0, sizeof(l));
	l.opt = opt;
	l.clock = opt->clock ? opt->clock : ob_clock_system();
	l.queue_url = strdup(opt->queue_url);
	if (l.queue_url == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	while ((rc = turn(&l, err)) == 0)
		;
	free(l.queue_url);
	return rc < 0 ? -1 : 0;
}
