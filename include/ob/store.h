/*
 * ob/store.h - the job database (SQLite).
 *
 * One row per job in `jobs`, unique per source snapshot ARN, and an
 * append-only `history` (job_id, at, from, to, detail) that triggers keep
 * from being rewritten. WAL mode with synchronous=FULL: a committed
 * transition survives a crash or power loss. The schema is versioned with
 * PRAGMA user_version and migrated forward on open; a database from a newer
 * release is refused rather than guessed at. Every state change is a
 * compare-and-set (UPDATE ... WHERE id = ? AND state = ?) plus its history
 * row, in one transaction.
 *
 * Not thread-safe; one handle per process. offsite-backupctl opens the same
 * file read-only (or for `retry`) while the daemon runs; a busy timeout
 * covers the short write transactions.
 */
#ifndef OB_STORE_H
#define OB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ob/error.h"
#include "ob/fsm.h"
#include "ob/rds.h"

struct ob_store;

/* A job row. Strings are owned by the struct (ob_job_clear) and never NULL
 * once read from the store ("" when unset). */
struct ob_job {
	char *id;                  /* "j" + 16 hex digits, from the source ARN */
	char *role;                /* "source" (the vault's jobs: "target") */
	enum ob_snap_kind kind;    /* stored as "db-snapshot" / "db-cluster-snapshot" */
	char *source_arn;          /* the snapshot the job is about; unique */
	char *db_id;               /* DB instance or cluster identifier */
	char *copy_id;             /* our copy's identifier (deterministic) */
	char *copy_arn;            /* "" until the copy call answered */
	enum ob_job_state state;
	enum ob_job_state failed_from; /* meaningful when state == failed */
	unsigned attempts, defers;
	int64_t next_at_ms;        /* OB_FSM_NEVER when nothing is due */
	int64_t created_ms, updated_ms;
	char *engine, *engine_version;
	long allocated_gib;
	int64_t snapshot_time;     /* source SnapshotCreateTime, unix seconds */
	char *origin;              /* "event" or "sweep" */
	char *error_code;          /* last error's AWS code, "" if none */
	char *error_message;       /* last error's message, "" if none */
	char *source_tags;         /* tags our copy gets besides the job tag,
				    * JSON [{"Key":..,"Value":..}], "" if none:
				    * the source snapshot's own (source role),
				    * the provenance tags (vault) */
};

struct ob_job_list {
	struct ob_job *items;
	size_t n;
};

/* One history row. */
struct ob_history {
	int64_t at_ms;
	char *from;   /* "" for the creation row */
	char *to;
	char *detail;
};

struct ob_history_list {
	struct ob_history *items;
	size_t n;
};

/* Open (creating when absent unless read_only) the database at path, set
 * WAL + synchronous=FULL + a busy timeout, and migrate the schema to the
 * current version. 0 and *ret, or -1 + err (OB_ERR_IO with the SQLite
 * message and its fault, see below: unreadable, corrupt (a quick_check
 * runs first), disk full, read-only;
 * OB_ERR_CONFIG for a schema newer than this build knows, or a read-only
 * open of a file not yet migrated). Nothing is written to a file that is
 * refused. */
int ob_store_open(const char *path, bool read_only, struct ob_store **ret,
		  struct ob_error *err);

/* NULL is a no-op. */
void ob_store_close(struct ob_store *st);

/* What a database error means for the operator. Every OB_ERR_IO error of
 * this module that is one of the first three says so: its message starts
 * with ob_store_fault_name() ("disk full: /var/lib/...: commit: database
 * or disk is full") and its sys_errno is ENOSPC, EROFS (or the EACCES /
 * EPERM the OS gave) or EUCLEAN (corrupt), which ob_store_fault_of()
 * reads back. Disk full and read-only pass: the failed transaction was
 * rolled back, nothing was committed, and the next call tries again.
 * Corrupt does not pass by itself: see offsite-backupctl rebuild. */
enum ob_store_fault {
	OB_STORE_FAULT_NONE = 0,
	OB_STORE_FAULT_FULL,      /* SQLITE_FULL, ENOSPC, EDQUOT */
	OB_STORE_FAULT_READONLY,  /* SQLITE_READONLY, SQLITE_PERM, EROFS, EACCES, EPERM */
	OB_STORE_FAULT_CORRUPT,   /* SQLITE_CORRUPT, SQLITE_NOTADB, quick_check not ok */
	OB_STORE_FAULT_OTHER,     /* any other failure */
};

/* Pure: the fault of a SQLite result code (primary or extended) and the OS
 * error SQLite saw (sqlite3_system_errno; read only after SQLITE_IOERR and
 * SQLITE_CANTOPEN, where it is the cause). */
enum ob_store_fault ob_store_classify(int sqlite_rc, int sys_errno);

/* The fault an error of this module reports (NONE for NULL or no error,
 * OTHER for what is not a database I/O fault). */
enum ob_store_fault ob_store_fault_of(const struct ob_error *err);

/* "disk full", "read-only", "corrupt", "database error", "ok". */
const char *ob_store_fault_name(enum ob_store_fault f);

/* The schema version this build writes, and the one the file has. */
int ob_store_schema_version(void);
int ob_store_file_version(struct ob_store *st);

/* Insert job (state, next_at_ms and every field as given; created/updated
 * set to now_ms) with its creation history row (from "" to the state,
 * detail), unless a job for job->source_arn exists. *ret_created says which
 * happened. 0, or -1 + err. */
int ob_store_job_insert(struct ob_store *st, const struct ob_job *job, const char *detail,
			int64_t now_ms, bool *ret_created, struct ob_error *err);

/* Fetch a job by id, or by source ARN. *ret is overwritten (not freed
 * first). 0 and *ret (owned by the caller), or -1 + err: OB_ERR_NOTFOUND
 * when there is none. */
int ob_store_job_get(struct ob_store *st, const char *id, struct ob_job *ret,
		     struct ob_error *err);
int ob_store_job_by_arn(struct ob_store *st, const char *source_arn, struct ob_job *ret,
			struct ob_error *err);

/* Which jobs to list. Zero-initialised = all, oldest first. */
struct ob_store_query {
	const enum ob_job_state *states; /* any of these; NULL = all states,
					  * n_states == 0 = none */
	size_t n_states;
	bool due_only;                   /* next_at_ms <= due_before_ms */
	int64_t due_before_ms;
	size_t limit;                    /* 0 = no limit */
	bool by_next_at;                 /* order by next_at_ms instead of created */
};

/* 0 and *ret (owned by the caller), or -1 + err. */
int ob_store_jobs_list(struct ob_store *st, const struct ob_store_query *q,
		       struct ob_job_list *ret, struct ob_error *err);

/* The earliest next_at_ms among jobs in states (NULL = every active
 * state); OB_FSM_NEVER when none. 0, or -1 + err. */
int ob_store_next_due(struct ob_store *st, const enum ob_job_state *states, size_t n_states,
		      int64_t *ret_ms, struct ob_error *err);

/* Number of jobs per state, indexed by enum ob_job_state. 0, or -1 + err. */
int ob_store_count_states(struct ob_store *st, long ret_counts[OB_JOB_STATE_COUNT],
			  struct ob_error *err);

/* Optional field changes that ride along with a step. NULL members keep
 * the stored value; "" clears a string. */
struct ob_store_change {
	const char *copy_arn;
	const char *error_code;
	const char *error_message;
	const char *detail;        /* history detail; NULL = "" */
};

/* Commit step for job: compare-and-set on (job->id, job->state), writing
 * step's state, failed_from, counters and next_at, the change, updated =
 * now_ms, and (when step->transition) one history row, all in one
 * transaction. On success job's fields are updated to match. -1 + err,
 * nothing written: OB_ERR_CONFLICT when the stored state is no longer
 * job->state, OB_ERR_NOTFOUND for an unknown id, OB_ERR_INVALID for an
 * out-of-range state, OB_ERR_IO on a database error. */
int ob_store_job_step(struct ob_store *st, struct ob_job *job, const struct ob_fsm_step *step,
		      const struct ob_store_change *change, int64_t now_ms,
		      struct ob_error *err);

/* The job's history, oldest first (empty for an unknown job). 0 and *ret,
 * or -1 + err. */
int ob_store_history(struct ob_store *st, const char *job_id, struct ob_history_list *ret,
		     struct ob_error *err);

/* What a walk over many jobs needs of each (ob_store_each_brief); the
 * strings belong to the store and live until fn returns. */
struct ob_job_brief {
	const char *id;
	const char *source_arn;
	const char *db_id;
	int64_t snapshot_time;
};

/* Call fn(ctx, brief) for every job in `state`, ordered by db_id then
 * source_arn, one row in memory at a time (a 10,000-job vault walks in
 * constant memory). fn must not write to the store (collect, then act).
 * Returns 0 when every row was seen, fn's nonzero return when it stopped
 * the walk, or -1 + err on a database error. */
int ob_store_each_brief(struct ob_store *st, enum ob_job_state state,
			int (*fn)(void *ctx, const struct ob_job_brief *brief), void *ctx,
			struct ob_error *err);

/* Free what these hold; they become empty. NULL is a no-op. */
void ob_job_clear(struct ob_job *job);
void ob_job_list_clear(struct ob_job_list *list);
void ob_history_list_clear(struct ob_history_list *list);

/* ---- alerts: the outbox of alert messages (ob/alert.h) ----------------- *
 *
 * One row per condition key: inserted by a raise (unsent), marked by a
 * clear, deleted once its cleared message is out. Terminal rows (a
 * rejection: never cleared) stay after their one message, so the same key
 * is not announced twice; ob_store_alert_prune() forgets old ones. */

struct ob_alert_row {
	char *key;
	char *kind;
	char *subject;     /* the condition in a few words (Subject's tail) */
	char *text;        /* the raise message's human-readable text */
	char *details;     /* a JSON object, as text */
	char *clear_text;  /* "" until cleared */
	int64_t raised_at; /* ms */
	int64_t cleared_at;/* ms; 0 while the condition lasts */
	bool raised_sent;
	bool terminal;
};

struct ob_alert_list {
	struct ob_alert_row *items;
	size_t n;
};

/* Insert row (key, kind, subject, text, details, terminal; raised_at =
 * now_ms, unsent) unless key has a row. A non-terminal row that was
 * cleared but whose cleared message is not out yet becomes active again
 * (one continuing condition). *ret_changed: whether anything was written.
 * 0, or -1 + err. */
int ob_store_alert_raise(struct ob_store *st, const struct ob_alert_row *row, int64_t now_ms,
			 bool *ret_changed, struct ob_error *err);

/* Mark key's active, non-terminal row cleared at now_ms with text.
 * *ret_changed: whether there was one. 0, or -1 + err. */
int ob_store_alert_clear(struct ob_store *st, const char *key, const char *text, int64_t now_ms,
			 bool *ret_changed, struct ob_error *err);

/* Call fn(ctx, key) for each active, non-terminal key (fn: 0 goes on).
 * 0, fn's nonzero return, or -1 + err. */
int ob_store_alert_each_active(struct ob_store *st, int (*fn)(void *ctx, const char *key),
			       void *ctx, struct ob_error *err);

/* Up to limit rows with a message to send (raise unsent, or cleared),
 * oldest first. 0 and *ret (ob_alert_list_clear), or -1 + err. */
int ob_store_alert_pending(struct ob_store *st, size_t limit, struct ob_alert_list *ret,
			   struct ob_error *err);

/* The raise message of key went out: mark it sent. */
int ob_store_alert_raise_sent(struct ob_store *st, const char *key, struct ob_error *err);

/* The cleared message of key (cleared at cleared_at) went out: delete the
 * row, unless it was raised again meanwhile. */
int ob_store_alert_clear_sent(struct ob_store *st, const char *key, int64_t cleared_at,
			      struct ob_error *err);

/* Delete terminal rows whose message went out and that were raised before
 * before_ms. 0, or -1 + err. */
int ob_store_alert_prune(struct ob_store *st, int64_t before_ms, struct ob_error *err);

void ob_alert_row_clear(struct ob_alert_row *row);
void ob_alert_list_clear(struct ob_alert_list *list);

/* ---- S3 export sub-state (schema 2; docs/s3-export.md) -------------------- */

/* A source job's S3 export, stored by name in its own table `exports`. */
enum ob_export_state {
	OB_EXPORT_PENDING = 0, /* copy available, task not started yet */
	OB_EXPORT_RUNNING,     /* StartExportTask accepted; polled */
	OB_EXPORT_COMPLETE,    /* the task reported COMPLETE */
	OB_EXPORT_FAILED,      /* the task FAILED, or starting it was refused */
	OB_EXPORT_CANCELED,    /* the task was CANCELED, or the feature switched off
				* before it started */
	OB_EXPORT_STATE_COUNT
};

/* "pending", ...; "?" out of range. */
const char *ob_export_state_name(enum ob_export_state s);
/* 0, or -1 for an unknown name. */
int ob_export_state_parse(const char *name, enum ob_export_state *ret);

/* An export row. Strings owned, never NULL once read ("" when unset). */
struct ob_export {
	char *job_id;
	char *task_id;          /* ExportTaskIdentifier (deterministic) */
	char *source_arn;       /* the export copy's ARN the task exports */
	enum ob_export_state state;
	unsigned attempts;      /* counted retries since the last state change */
	int64_t next_at_ms;     /* OB_FSM_NEVER when nothing is due */
	int64_t created_ms, updated_ms;
	int percent;            /* PercentProgress last seen */
	char *error_code;       /* AWS error code, "" if none */
	char *error_message;    /* last error or FailureCause, "" if none */
};

struct ob_export_list {
	struct ob_export *items;
	size_t n;
};

/* Insert e (job_id, task_id, source_arn, state, next_at_ms; the rest
 * zero/"") unless the job has an export row already; *ret_created says
 * which. -1 + err (OB_ERR_INVALID for an unknown job: the row references
 * jobs). */
int ob_store_export_insert(struct ob_store *st, const struct ob_export *e, int64_t now_ms,
			   bool *ret_created, struct ob_error *err);

/* The export of job_id: 0 and *ret (caller clears), -1 + err
 * (OB_ERR_NOTFOUND when the job has none). */
int ob_store_export_get(struct ob_store *st, const char *job_id, struct ob_export *ret,
			struct ob_error *err);

/* Exports in state, next_at <= due_before_ms (INT64_MAX: all), the
 * earliest due first, at most limit (0 = all). 0 and *ret, or -1 + err. */
int ob_store_exports_list(struct ob_store *st, enum ob_export_state state, int64_t due_before_ms,
			  size_t limit, struct ob_export_list *ret, struct ob_error *err);

/* Write e's state, attempts, next_at, percent and error fields, updated =
 * now_ms, if the stored state is still `from` (compare-and-set). On
 * success e->updated_ms = now_ms. -1 + err: OB_ERR_CONFLICT when the state
 * moved on, OB_ERR_NOTFOUND when there is no row. */
int ob_store_export_update(struct ob_store *st, struct ob_export *e, enum ob_export_state from,
			   int64_t now_ms, struct ob_error *err);

/* As ob_store_export_update() with from = e->state, but updated_at is
 * kept: a look that changed nothing (an error in watching the task), so
 * updated_at of a pending row stays the time of its last start try. */
int ob_store_export_note(struct ob_store *st, struct ob_export *e, struct ob_error *err);

/* Rows per state. 0, or -1 + err. */
int ob_store_export_counts(struct ob_store *st, long ret_counts[OB_EXPORT_STATE_COUNT],
			   struct ob_error *err);

/* The earliest next_at among exports in state; OB_FSM_NEVER when none. */
int ob_store_export_next_due(struct ob_store *st, enum ob_export_state state, int64_t *ret_ms,
			     struct ob_error *err);

/* Jobs in `copied` that have no export row yet, oldest first, at most
 * limit (0 = all), as rows with job_id and source_arn (the job's copy_arn)
 * set, task_id "" and the rest zero. 0 and *ret, or -1 + err. */
int ob_store_exports_unadopted(struct ob_store *st, size_t limit, struct ob_export_list *ret,
			       struct ob_error *err);

/* Exports that ended failed, or canceled with an error_code other than
 * ExportDisabled, updated at or after since_ms, oldest first. 0 and *ret,
 * or -1 + err. */
int ob_store_exports_ended(struct ob_store *st, int64_t since_ms, struct ob_export_list *ret,
			   struct ob_error *err);

void ob_export_clear(struct ob_export *e);
void ob_export_list_clear(struct ob_export_list *l);

#endif
