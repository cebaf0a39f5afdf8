/*
 * ob/rds.h - Amazon RDS (AWS Query protocol, version 2014-10-31).
 *
 * The snapshot calls the daemon drives. This file grows one call at a time
 * with the features that need them; every call pages through Marker itself
 * so callers always see the whole answer.
 */
#ifndef OB_RDS_H
#define OB_RDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ob/aws.h"

struct ob_rds_tag {
	char *key;
	char *value;
};

/* One DB snapshot as DescribeDBSnapshots reports it. Strings are owned and
 * never NULL ("" when absent). */
struct ob_rds_snapshot {
	char *id;               /* DBSnapshotIdentifier */
	char *arn;              /* DBSnapshotArn */
	char *db_id;            /* DBInstanceIdentifier */
	char *status;           /* creating | available | failed | ... */
	char *snapshot_type;    /* manual | automated | awsbackup | shared | public */
	char *engine;
	char *engine_version;
	char *kms_key_id;
	char *source_snapshot;  /* SourceDBSnapshotIdentifier (copies) */
	int64_t create_time;    /* SnapshotCreateTime, unix seconds; 0 if absent */
	long allocated_storage; /* GiB */
	int percent_progress;   /* 0..100 */
	bool encrypted;
	struct ob_rds_tag *tags;
	size_t n_tags;
};

struct ob_rds_snapshot_list {
	struct ob_rds_snapshot *items;
	size_t n;
};

/* What to describe; every member is optional (NULL/0). */
struct ob_rds_describe {
	const char *snapshot_id;     /* DBSnapshotIdentifier (or an ARN) */
	const char *db_id;           /* DBInstanceIdentifier */
	const char *snapshot_type;   /* SnapshotType */
	bool include_shared;         /* IncludeShared */
	const char *const *ids;      /* filter db-snapshot-id: any of these */
	size_t n_ids;                /* at most 100 */
};

/* rds:DescribeDBSnapshots, following Marker until the last page (at most
 * 1000 pages). *ret is owned by the caller (ob_rds_snapshot_list_clear).
 * -1 + err on AWS/transport errors or a malformed answer. */
int ob_rds_describe_db_snapshots(struct ob_aws *aws, const struct ob_rds_describe *q,
				 struct ob_rds_snapshot_list *ret, struct ob_error *err);

/* Free the items; the list becomes empty. NULL is a no-op. */
void ob_rds_snapshot_list_clear(struct ob_rds_snapshot_list *list);

/* Value of tag key on s, or NULL. */
const char *ob_rds_snapshot_tag(const struct ob_rds_snapshot *s, const char *key);

/* Parse one DescribeDBSnapshots result document into list (appending).
 * Exposed for tests and fuzzers. *ret_marker is set to the Marker text or
 * NULL (borrowed from doc). */
int ob_rds_parse_db_snapshots(const struct ob_xml_doc *doc, struct ob_rds_snapshot_list *list,
			      const char **ret_marker, struct ob_error *err);

#endif
