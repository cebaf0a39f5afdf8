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
 * while a task exports it (ob_export_holds_copy()).
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

/* Is the S3 export configured? */
bool ob_export_enabled(const struct ob_config *cfg);

/* The task identifier of job_id ("ob-export-" + job id) into buf. 0, or -1
 * + err when job_id would not make a valid identifier. */
int ob_export_task_id(const char *job_id, char *buf, size_t size, struct ob_error *err);

/* Pure: what a described task means for its export: RUNNING (STARTING,
 * IN_PROGRESS, CANCELING, and words this build does not know: keep
 * polling), COMPLETE, FAILED or CANCELED. */
enum ob_export_state ob_export_state_of(enum ob_rds_export_status status);

/* Create the `pending` export row of every job in `copied` that has none,
 * when the export is configured. Idempotent. 0, or -1 + err (store). */
int ob_export_adopt(struct ob_jobs *j, struct ob_error *err);

/* Start the due pending exports and, when any running export is due, poll
 * all of them in batches. AWS errors are steps of the exports (throttling
 * and transient faults defer, permanent errors fail the export with a
 * LOG_ERR line carrying OB_MSGID_EXPORT_FAILED). *ret_next_ms: when an
 * export is due next (OB_FSM_NEVER: none). -1 + err on a store failure or
 * OB_ERR_CANCELLED. */
int ob_export_run(struct ob_jobs *j, int64_t *ret_next_ms, struct ob_error *err);

/* Must the export copy of job_id stay? True while its task runs, and while
 * it is pending with the export configured. 0, or -1 + err. */
int ob_export_holds_copy(struct ob_jobs *j, const char *job_id, bool *ret, struct ob_error *err);

#endif
