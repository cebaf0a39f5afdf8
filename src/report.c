/*
 * report.c - once a turn: gather the daemon's figures into the metrics
 * registry, write the Prometheus text file, and send CloudWatch a batch at
 * most once a minute. Failures are logged when they start, change or end,
 * never returned: metrics must not stop backups.
 */
#include "ob/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ob/cloudwatch.h"
#include "ob/fsm.h"
#include "ob/log.h"

struct ob_report {
	enum ob_role role;
	struct ob_store *store;
	struct ob_client *client;
	const struct ob_clock *clock;
	struct ob_metrics *m;
	int64_t next_cw_ms;
	char file_problem[300];  /* last logged failure, to log changes only */
	char cw_problem[300];
};

/* The states each role's jobs can be in, and which of them are still on
 * their way (not handed off, verified or given up). */
static const enum ob_job_state source_states[] = {
	OB_JOB_PENDING, OB_JOB_COPYING, OB_JOB_COPIED, OB_JOB_SHARED, OB_JOB_NOTIFIED,
	OB_JOB_EXPIRED, OB_JOB_FAILED,
};
static const enum ob_job_state target_states[] = {
	OB_JOB_ANNOUNCED, OB_JOB_IMPORTING, OB_JOB_IMPORTED, OB_JOB_VERIFIED, OB_JOB_EXPIRED,
	OB_JOB_REJECTED, OB_JOB_FAILED,
};
static const enum ob_job_state source_unfinished[] = {
	OB_JOB_PENDING, OB_JOB_COPYING, OB_JOB_COPIED, OB_JOB_SHARED,
};
static const enum ob_job_state target_unfinished[] = {
	OB_JOB_ANNOUNCED, OB_JOB_IMPORTING, OB_JOB_IMPORTED,
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct ob_report *ob_report_new(enum ob_role role, struct ob_store *store,
				struct ob_client *client, const struct ob_clock *clock,
				struct ob_error *err)
{
	struct ob_report *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	r->role = role;
	r->store = store;
	r->client = client;
	r->clock = clock ? clock : ob_clock_system();
	r->m = ob_metrics_new(ob_metrics_product_defs, OB_M_COUNT, ob_role_name(role), err);
	if (r->m == NULL) {
		free(r);
		return NULL;
	}
	/* Counters that exist from the start at 0, so a rate() or an alert
	 * on them has a series to look at before the first event. */
	{
		static const char *const malformed[] = { "malformed" }, *const refused[] = { "refused" };

		ob_metrics_add(r->m, OB_M_SQS_RECEIVED, NULL, 0);
		ob_metrics_add(r->m, OB_M_SQS_REJECTED, malformed, 0);
		if (role == OB_ROLE_TARGET) {
			ob_metrics_add(r->m, OB_M_SQS_REJECTED, refused, 0);
			ob_metrics_add(r->m, OB_M_RPO_BREACHES, NULL, 0);
		}
	}
	/* The first batch goes out a minute after start, with a minute of
	 * counts in it. */
	r->next_cw_ms = r->clock->now_ms(r->clock->ctx) + OB_REPORT_CLOUDWATCH_PERIOD_MS;
	return r;
}

void ob_report_free(struct ob_report *r)
{
	if (r == NULL)
		return;
	ob_metrics_free(r->m);
	free(r);
}

struct ob_metrics *ob_report_metrics(struct ob_report *r)
{
	return r != NULL ? r->m : NULL;
}

/* Log what went wrong once, until it changes; say when it is over. */
static void problem(char *last, size_t size, const char *what, const struct ob_error *err)
{
	char line[600], msg[300];

	ob_error_str(err, line, sizeof(line));
	snprintf(msg, sizeof(msg), "%s: %.250s", what, line);
	if (strcmp(msg, last) == 0)
		return;
	snprintf(last, size, "%s", msg);
	ob_log(OB_LOG_WARNING, "%s (metrics only: backups go on)", msg);
}

static void fine(char *last, const char *what)
{
	if (last[0] == '\0')
		return;
	ob_log(OB_LOG_NOTICE, "%s works again", what);
	last[0] = '\0';
}

/* What is a state rather than an event: read it afresh. */
static int gather(struct ob_report *r, int64_t now, struct ob_error *err)
{
	const struct ob_aws_action_stats *as;
	long counts[OB_JOB_STATE_COUNT];
	const enum ob_job_state *states, *unfinished;
	struct ob_store_query q = { 0 };
	struct ob_job_list oldest;
	size_t n_states, n_unfinished, i, n;
	double age = 0;

	if (r->role == OB_ROLE_SOURCE) {
		states = source_states;
		n_states = N(source_states);
		unfinished = source_unfinished;
		n_unfinished = N(source_unfinished);
	} else {
		states = target_states;
		n_states = N(target_states);
		unfinished = target_unfinished;
		n_unfinished = N(target_unfinished);
	}
	ob_metrics_set(r->m, OB_M_LAST_TURN, NULL, (double)(now / 1000));
	n = ob_aws_get_action_stats(r->client->aws, &as);
	for (i = 0; i < n; i++) {
		const char *labels[] = { as[i].service, as[i].action };

		ob_metrics_set(r->m, OB_M_AWS_CALLS, labels, (double)as[i].calls);
		ob_metrics_set(r->m, OB_M_AWS_RETRIES, labels, (double)as[i].retries);
	}
	if (ob_store_count_states(r->store, counts, err) < 0)
		return -1;
	for (i = 0; i < n_states; i++) {
		const char *labels[] = { ob_job_state_name(states[i]) };

		ob_metrics_set(r->m, OB_M_JOBS, labels, (double)counts[states[i]]);
	}
	ob_metrics_set(r->m, OB_M_COPIES_IN_FLIGHT, NULL,
		       (double)counts[r->role == OB_ROLE_SOURCE ? OB_JOB_COPYING : OB_JOB_IMPORTING]);
	/* The store lists oldest first. */
	q.states = unfinished;
	q.n_states = n_unfinished;
	q.limit = 1;
	if (ob_store_jobs_list(r->store, &q, &oldest, err) < 0)
		return -1;
	if (oldest.n > 0 && now > oldest.items[0].created_ms)
		age = (double)((now - oldest.items[0].created_ms) / 1000);
	ob_job_list_clear(&oldest);
	ob_metrics_set(r->m, OB_M_OLDEST_UNFINISHED, NULL, age);
	if (r->role == OB_ROLE_SOURCE) {
		long ex[OB_EXPORT_STATE_COUNT];
		int s;

		if (ob_store_export_counts(r->store, ex, err) < 0)
			return -1;
		for (s = 0; s < OB_EXPORT_STATE_COUNT; s++) {
			const char *labels[] = { ob_export_state_name((enum ob_export_state)s) };

			ob_metrics_set(r->m, OB_M_EXPORTS, labels, (double)ex[s]);
		}
	}
	return 0;
}

static void write_file(struct ob_report *r, const char *path)
{
	struct ob_buf text = OB_BUF_INIT;
	struct ob_error err;

	if (ob_metrics_render(r->m, &text, &err) < 0 ||
	    ob_metrics_write_file(path, text.data ? text.data : "", text.len, &err) < 0)
		problem(r->file_problem, sizeof(r->file_problem), "writing the metrics file", &err);
	else
		fine(r->file_problem, "writing the metrics file");
	ob_buf_clear(&text);
}

static void flush_cloudwatch(struct ob_report *r, const char *ns)
{
	struct ob_cloudwatch_datum *datums = NULL;
	struct ob_error err;
	size_t n = 0;

	if (ob_metrics_cloudwatch(r->m, &datums, &n, &err) < 0 ||
	    ob_cloudwatch_put_metric_data(r->client->aws, ns, datums, n, &err) < 0) {
		/* A stop cut it short: nothing to report. */
		if (err.kind != OB_ERR_CANCELLED)
			problem(r->cw_problem, sizeof(r->cw_problem),
				"sending metrics to CloudWatch", &err);
	} else {
		/* Counter increases start from what was delivered; after a
		 * failure they keep growing and go out with the next batch. */
		ob_metrics_cloudwatch_sent(r->m);
		fine(r->cw_problem, "sending metrics to CloudWatch");
	}
	free(datums);
}

void ob_report_final(struct ob_report *r, const struct ob_config *cfg)
{
	struct ob_error err;

	if (r == NULL || cfg->metrics_file[0] == '\0')
		return;
	if (gather(r, r->clock->now_ms(r->clock->ctx), &err) < 0)
		problem(r->file_problem, sizeof(r->file_problem), "reading the job counts", &err);
	write_file(r, cfg->metrics_file);
}

void ob_report_turn(struct ob_report *r, const struct ob_config *cfg)
{
	struct ob_error err;
	int64_t now;

	if (r == NULL || (cfg->metrics_file[0] == '\0' && cfg->cloudwatch_namespace[0] == '\0'))
		return;
	now = r->clock->now_ms(r->clock->ctx);
	if (gather(r, now, &err) < 0)
		problem(r->file_problem, sizeof(r->file_problem), "reading the job counts", &err);
	if (cfg->metrics_file[0] != '\0')
		write_file(r, cfg->metrics_file);
	if (cfg->cloudwatch_namespace[0] != '\0' && now >= r->next_cw_ms) {
		r->next_cw_ms = now + OB_REPORT_CLOUDWATCH_PERIOD_MS;
		flush_cloudwatch(r, cfg->cloudwatch_namespace);
	}
}
