/*
 * ob/report.h - the daemon's figures, once a turn: gathered into the
 * metrics registry, written to the Prometheus text file, and sent to
 * CloudWatch at most once a minute.
 *
 * The roles and the job shell add their events (transitions, failures,
 * messages) to the registry as they happen; what is a state rather than an
 * event (jobs by state, copies in flight, the oldest unfinished job, AWS
 * calls by action) is read here from the store and the AWS core. Nothing
 * here is fatal: a file that cannot be written or a CloudWatch call that
 * fails is logged once (and when it recovers), and the daemon goes on.
 */
#ifndef OB_REPORT_H
#define OB_REPORT_H

#include <stdint.h>

#include "ob/client.h"
#include "ob/clock.h"
#include "ob/config.h"
#include "ob/error.h"
#include "ob/metrics.h"
#include "ob/store.h"

#define OB_REPORT_CLOUDWATCH_PERIOD_MS 60000 /* at most one PutMetricData batch a minute */

struct ob_report;

/* A reporter for role over store and client (both borrowed). clock NULL =
 * system. NULL + err on out of memory. */
struct ob_report *ob_report_new(enum ob_role role, struct ob_store *store,
				struct ob_client *client, const struct ob_clock *clock,
				struct ob_error *err);

/* NULL is a no-op. */
void ob_report_free(struct ob_report *r);

/* The registry the roles and the job shell add to (owned by r). */
struct ob_metrics *ob_report_metrics(struct ob_report *r);

/* Gather the figures, write cfg->metrics_file (when set) and, when a
 * minute has passed since the last batch, send cfg->cloudwatch_namespace
 * (when set). cfg is read anew each call, so a reload takes effect on the
 * next turn. Failures are logged, never returned. */
void ob_report_turn(struct ob_report *r, const struct ob_config *cfg);

/* The last word at a stop: gather and write the file (no CloudWatch call:
 * the stop cancels it, and the next start's counters begin again), so the
 * file holds every call and transition of the run. */
void ob_report_final(struct ob_report *r, const struct ob_config *cfg);

#endif
