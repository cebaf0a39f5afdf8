/*
 * ob/announce.h - the announcement the source publishes to the vault
 * (DESIGN.md section 5, schema "offsite-backup/1").
 */
#ifndef OB_ANNOUNCE_H
#define OB_ANNOUNCE_H

#include <stdint.h>

#include "ob/error.h"
#include "ob/rds.h"

#define OB_ANNOUNCE_SCHEMA "offsite-backup/1"

/* The fields, borrowed. */
struct ob_announcement {
	enum ob_snap_kind kind;          /* "kind": db-snapshot | db-cluster-snapshot */
	const char *snapshot_arn;        /* the export copy, shared with the vault */
	const char *source_snapshot_arn; /* the snapshot it was copied from */
	const char *source_account;
	const char *region;
	const char *db_identifier;
	const char *engine;
	const char *engine_version;
	long allocated_storage_gib;
	int64_t snapshot_time;           /* unix seconds; "YYYY-MM-DDTHH:MM:SSZ" */
	const char *export_kms_key;
};

/* The announcement as compact JSON, keys in the order of DESIGN.md section 5
 * (schema first). Returns a malloc'ed NUL-terminated string (caller frees),
 * or NULL + err (OB_ERR_INVALID when a string is NULL/empty or not UTF-8, or
 * snapshot_time/allocated size is negative; OB_ERR_NOMEM). */
char *ob_announce_build(const struct ob_announcement *a, struct ob_error *err);

#endif
