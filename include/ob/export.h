/*
 * ob/export.h - the source role's optional S3 export (docs/s3-export.md).
 *
 * When [source] export_to_s3_bucket is set, every job whose export copy
 * becomes available gets an export row (`pending`); the row's task is
 * started with rds:StartExportTask under a name derived from the job id, so
 * a repeated start after a crash finds its own task (`running`), and every
 * running task is polled with one batched rds:DescribeExportTasks per 100
 * tasks until it is COMPLETE, FAILED or CANCELED. The export is a sub-state
 * beside the job: it never moves the job, and the job's hand-off (share,
 * notify) never waits for it. The one tie: the export copy is not expired
 * while a task exports it or may (ob_export_holds_copy()). At most
 * OB_EXPORT_TASKS_MAX tasks run at once. Errors in watching a task never
 * end its export: only the task's own terminal status does.
 */
#ifndef OB_EXPORT_H
#define OB_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ob/config.h"
#include "ob/error.h"
#include "ob/jobs.h"
#include "ob/rds.h"
#include "ob/store.h"

/* ExportTaskIdentifier: 1-60 letters, digits and hyphens, a letter first. */
#define OB_EXPORT_TASK_ID_MAX 60

/* Export tasks in progress at once: the RDS limit per account ("up to
 * five concurrent DB snapshot export tasks in progress per AWS account").
 * Pending exports start as running ones end. */
#define OB_EXPORT_TASKS_MAX 5

/* Is the S3 export configured? */
bool ob_export_enabled(const struct ob_config *cfg);

/* The task identifier of job_id ("ob-export-" + job id) into buf. 0, or -1
 * + err when job_id would not make a valid identifier. */
int ob_export_task_id(const char *job_id, char *buf, size_t size, struct ob_error *err);

/* Pure: what a described task means for its export: RUNNING (STARTING,
 * IN_PROGRESS, CANCELING, and words this build does not know: keep
 * polling), COMPLETE, FAILED or CANCELED. */
enum ob_export_state ob_export_state_of(enum ob_rds_export_status status);

/* What an error of StartExportTask means for a pending export: like
 * ob_jobs_classify(), and an AWS code naming a quota or limit (the account's
 * exports in progress, whatever its exact word) waits (DEFER), never fails. */
enum ob_fsm_event_kind ob_export_classify(const struct ob_error *cause, bool *ret_stop);

/* The code an export row and the failure metric keep for cause: its AWS
 * code, or the kind of a local error ("transport", "parse", ...). */
const char *ob_export_error_code(const struct ob_error *cause);

/* Does e's state raise the export-failed alert (failed, or canceled other
 * than by ExportDisabled)? */
bool ob_export_alerts(const struct ob_export *e);

/* Tasks that may start with `running` exports in progress. */
size_t ob_export_free_slots(long running);

/* Does an export in state keep its copy? (running, pending) */
bool ob_export_holds(enum ob_export_state state);

/* Create the `pending` export row of every job in `copied` that has none,
 * when the export is configured. Idempotent. 0, or -1 + err (store). */
int ob_export_adopt(struct ob_jobs *j, struct ob_error *err);

/* Start the due pending exports (while fewer than OB_EXPORT_TASKS_MAX
 * run) and, when any running export is due, poll all of them in batches.
 * Start errors are steps of the exports (throttling, quota and transient
 * faults defer, permanent errors fail the export with a LOG_ERR line
 * carrying OB_MSGID_EXPORT_FAILED); errors in describing a task defer it,
 * whatever they are. With the export switched off, pending rows are
 * described first: a task that exists is followed (running), the others
 * are canceled once their last start try (updated_ms) is 15 minutes old,
 * the younger ones described again then. An export whose task cannot be
 * watched (a permanent describe error, or max_attempts looks failing or
 * not listing it) raises export-unwatched (not terminal), cleared by the
 * next answer for it; these looks have their own count, apart from the
 * start's retries. *ret_next_ms: when an export is due next (OB_FSM_NEVER:
 * none). -1 + err on a store failure or OB_ERR_CANCELLED. */
int ob_export_run(struct ob_jobs *j, int64_t *ret_next_ms, struct ob_error *err);

/* Raise (again) the export-failed alert of every export that ended failed,
 * or canceled other than by ExportDisabled, within the last
 * OB_ALERT_KEEP_TERMINAL_MS: an alert lost between the row's commit and
 * its raise (a kill) is raised now; one already in the outbox is not
 * repeated (terminal alerts dedup by key); older ones were pruned on
 * purpose and are not re-sent. *ret_raised (may be NULL): rows looked
 * at. No-op without alerts. 0, or -1 + err (store). */
int ob_export_reconcile(struct ob_jobs *j, size_t *ret_raised, struct ob_error *err);

/* Must the export copy of job_id stay? True while its task runs, and while
 * it is pending (its task may exist: a start accepted just before a crash),
 * whether the export is still configured or not. 0, or -1 + err. */
int ob_export_holds_copy(struct ob_jobs *j, const char *job_id, bool *ret, struct ob_error *err);

#endif
