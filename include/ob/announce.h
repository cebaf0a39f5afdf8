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

/* An announcement as the vault received it. Strings are owned
 * (ob_announce_clear) and never NULL after a successful parse. */
struct ob_announcement_in {
	enum ob_snap_kind kind;
	char *snapshot_arn;
	char *source_snapshot_arn;
	char *source_account;
	char *region;
	char *db_identifier;
	char *engine;
	char *engine_version;
	char *export_kms_key;
	long allocated_storage_gib;
	int64_t snapshot_time;      /* unix seconds */
	char *topic_arn;            /* the SNS envelope's TopicArn; "" when raw */
};

/* Parse an SQS message body holding an announcement, raw or inside the SNS
 * envelope ({"Type":"Notification","Message":"<the JSON>",...}). Checks the
 * document alone: schema exactly OB_ANNOUNCE_SCHEMA, a known kind, every
 * field present with the right type and a sane size, snapshot_arn an RDS
 * snapshot ARN of that kind (source_snapshot_arn too), source_account 12
 * digits, region valid, snapshot_time "YYYY-MM-DDTHH:MM:SSZ", the size 0..
 * 65536 GiB. Unknown extra fields are ignored. It does not compare fields
 * with each other or with the configuration: the caller does (allowed
 * account, ARN account and region), and trusts nothing but the pointer.
 * 0 and *ret, or -1 with a short static-text reason (never message
 * content) in reason[size] and *ret zeroed. Bodies over 256 KiB are
 * refused unparsed. */
int ob_announce_parse(const char *body, size_t len, struct ob_announcement_in *ret,
		      char *reason, size_t size);

/* Free the strings; NULL is a no-op. */
void ob_announce_clear(struct ob_announcement_in *a);

#endif
