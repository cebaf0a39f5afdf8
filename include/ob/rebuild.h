/*
 * ob/rebuild.h - a new job database made from AWS, for the day the old one
 * is lost or corrupt (offsite-backupctl rebuild).
 *
 * AWS is the source of truth (DESIGN.md section 3): every copy the daemon
 * makes carries provenance tags (OB_TAG_JOB, OB_TAG_SOURCE_ARN, on the
 * vault also OB_TAG_SOURCE_ACCOUNT). Rebuild lists this account's manual
 * DB snapshots and DB cluster snapshots, keeps the copies whose tags are
 * consistent with the names the daemon derives (ob/ident.h), and writes
 * one job per copy in the state from which the daemon's next steps are
 * exactly the idempotent ones:
 *
 *   source  copy creating  -> copying   (poll)
 *           copy available -> copied    (share again: set-like; announce
 *                                        again: the vault dedupes by ARN)
 *   vault   copy creating  -> importing (poll)
 *           copy available -> imported  (verify again)
 *
 * A copy whose tags disagree with each other is skipped and reported, never
 * trusted. Jobs without a copy (pending, announced) are not rebuilt here:
 * the reconciliation sweep and the queues bring them back.
 */
#ifndef OB_REBUILD_H
#define OB_REBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ob/aws.h"
#include "ob/config.h"
#include "ob/error.h"
#include "ob/fsm.h"
#include "ob/rds.h"
#include "ob/store.h"

/* Whose copies these are. Borrowed strings. */
struct ob_rebuild_scope {
	enum ob_role role;
	const char *account;          /* this account (sts:GetCallerIdentity) */
	const char *region;           /* the configuration's region */
	const char *allowed_sources;  /* vault: allowed_source_accounts ("a,b") */
};

/* Pure: the state of a rebuilt job whose copy has RDS status status in
 * role. 0 and *ret, or -1 for a status no job can resume from (failed,
 * deleting, ...). */
int ob_rebuild_state(enum ob_role role, const char *status, enum ob_job_state *ret);

/* Pure: the job copy stands for, as of now_ms. 0 and *ret (strings owned
 * by ret: ob_job_clear), 1 when copy carries no provenance tag (not ours:
 * *ret empty), or -1 + err: OB_ERR_INVALID with the reason to skip it (a
 * missing or inconsistent tag, the wrong account, region or kind, a
 * status no job resumes from), OB_ERR_NOMEM. */
int ob_rebuild_job(const struct ob_rebuild_scope *sc, const struct ob_rds_snapshot *copy,
		   int64_t now_ms, struct ob_job *ret, struct ob_error *err);

/* One copy carrying provenance tags, as rebuild handled it. Owned strings. */
struct ob_rebuild_item {
	char *copy_id;
	char *job_id;                 /* "" when skipped before it had one */
	enum ob_job_state state;      /* when rebuilt */
	char *skipped;                /* NULL when rebuilt, else why not */
};

struct ob_rebuild_report {
	struct ob_rebuild_item *items; /* in the order AWS listed them */
	size_t n;
	size_t rebuilt;
	size_t skipped;
	size_t not_ours;              /* manual snapshots without provenance tags */
	long per_state[OB_JOB_STATE_COUNT];
};

/* Make a new database at db_path from the copies in the account that aws
 * reaches. Nothing is written when db_path, or its -wal or -shm file,
 * exists (OB_ERR_CONFLICT: move them aside first): the database is built
 * in a temporary file next to it and linked into place only when complete,
 * so a failure leaves no partial database behind. Run as root, the new file
 * takes the owner of its directory (the daemon's StateDirectory=). 0 and
 * *ret (ob_rebuild_report_clear), or -1 + err: OB_ERR_CONFLICT, the AWS
 * or transport error of a Describe call, OB_ERR_IO from the store. */
int ob_rebuild_run(const struct ob_rebuild_scope *sc, struct ob_aws *aws, const char *db_path,
		   int64_t now_ms, struct ob_rebuild_report *ret, struct ob_error *err);

/* Free what the report holds; it becomes empty. NULL is a no-op. */
void ob_rebuild_report_clear(struct ob_rebuild_report *r);

#endif
