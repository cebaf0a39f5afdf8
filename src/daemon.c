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

#include <systemd/sd-daemon.h>

#include "ob/fsm.h"
#include "ob/log.h"
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
};

static bool stopping(const struct loop *l)
{
	return *l->opt->stop != 0;
}

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
	if (role->run(role->ctx, &next, &err) < 0) {
		/* Cancelled without a stop: a reload cut a read short; the
		 * next turn applies it and does the work again. */
		if (err.kind == OB_ERR_CANCELLED)
			return stopping(l) ? 1 : 0;
		return problem(l, "jobs", &err, fatal);
	}
	send_status(l);
	if (stopping(l))
		return 1;
	if (ob_sqs_receive(l->opt->client->aws, l->queue_url, 10, wait_seconds(l, next), 0,
			   &batch, &err) < 0) {
		if (err.kind == OB_ERR_CANCELLED)
			return stopping(l) ? 1 : 0;
		trouble(l, "receiving from the queue", &err);
		return 0;
	}
	if (batch.n > 0 || batch.n_malformed > 0) {
		if (role->intake(role->ctx, &batch, &err) < 0) {
			ob_sqs_batch_clear(&batch);
			if (err.kind == OB_ERR_CANCELLED)
				return stopping(l) ? 1 : 0;
			return problem(l, "handling messages", &err, fatal);
		}
	}
	ob_sqs_batch_clear(&batch);
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
