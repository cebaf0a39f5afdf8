/*
 * ob/log.h - logging to journald (or stderr with --foreground).
 *
 * Only the shell (main.c and the daemon loop) logs; library modules report
 * through struct ob_error. Messages must never carry secrets: callers pass
 * error records whose messages are already secret-free.
 */
#ifndef OB_LOG_H
#define OB_LOG_H

#include <stdbool.h>

#include "ob/config.h"

/* Choose the sink and the most verbose level that is emitted. */
void ob_log_init(const char *ident, bool to_stderr, enum ob_log_level max_level);

/* Change the level (after a configuration reload). */
void ob_log_set_level(enum ob_log_level max_level);

/* Log one line at level. */
void ob_log(enum ob_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A line about one job: journald gets the structured fields OB_JOB=,
 * OB_STATE= and OB_SNAPSHOT= (any may be NULL to omit it), so
 * `journalctl -u offsite-backup OB_JOB=j...` shows a job's whole story;
 * stderr gets a "job <id>: " prefix. */
void ob_log_job(enum ob_log_level level, const char *job_id, const char *state,
		const char *snapshot, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Stable journald MESSAGE_IDs of the events an operator alerts on
 * (`journalctl MESSAGE_ID=...`). Never change a published one. */
#define OB_MSGID_JOB_FAILED     "182b69b5927948fba8bd74e3467621f2"
#define OB_MSGID_REJECTED       "7dacb3da9e7140dabeeefc61542ab005"
#define OB_MSGID_VERIFY_FAILED  "fb4cb1e4a2344b268bb04b29a72e1f51"
#define OB_MSGID_RPO_BREACH     "b914fd45422b4278b6923211f207a1bb"
#define OB_MSGID_RPO_CLEARED    "97102fc787eb46e0a4ee61c22fe85cde"
#define OB_MSGID_EXPORT_FAILED  "1b917fa8d3524d6cb09246c956fefd7a"

/* ob_log_job() with a MESSAGE_ID= field (one of OB_MSGID_*); stderr shows
 * it as a "[id] " prefix to the message. */
void ob_log_alert(enum ob_log_level level, const char *message_id, const char *job_id,
		  const char *state, const char *snapshot, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#endif
