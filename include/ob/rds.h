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

/* Instance snapshots and Aurora cluster snapshots take the same path
 * through the daemon with the *DBClusterSnapshot* calls. */
enum ob_snap_kind {
	OB_SNAP_INSTANCE = 0,
	OB_SNAP_CLUSTER,
};

/* "db-snapshot" / "db-cluster-snapshot" (the announcement's `kind`), and
 * back: 0, or -1 for an unknown name. */
const char *ob_snap_kind_name(enum ob_snap_kind kind);
int ob_snap_kind_parse(const char *name, enum ob_snap_kind *ret);

struct ob_rds_tag {
	char *key;
	char *value;
};

/* One DB snapshot as DescribeDBSnapshots reports it, or one DB cluster
 * snapshot as DescribeDBClusterSnapshots does (the cluster names in
 * brackets). Strings are owned and never NULL ("" when absent). */
struct ob_rds_snapshot {
	enum ob_snap_kind kind;
	char *id;               /* DBSnapshotIdentifier [DBClusterSnapshotIdentifier] */
	char *arn;              /* DBSnapshotArn [DBClusterSnapshotArn] */
	char *db_id;            /* DBInstanceIdentifier [DBClusterIdentifier] */
	char *status;           /* creating | available | failed | ... */
	char *snapshot_type;    /* manual | automated | awsbackup | shared | public */
	char *engine;
	char *engine_version;
	char *kms_key_id;
	char *source_snapshot;  /* SourceDBSnapshotIdentifier [SourceDBClusterSnapshotArn] */
	int64_t create_time;    /* SnapshotCreateTime, unix seconds; 0 if absent */
	int64_t original_create_time; /* OriginalSnapshotCreateTime (instance
				       * snapshots: kept through copies, set by
				       * RDS); 0 if absent */
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

/* What to describe; every member but kind is optional (NULL/0). */
struct ob_rds_describe {
	enum ob_snap_kind kind;      /* DescribeDBSnapshots or DescribeDBClusterSnapshots */
	const char *snapshot_id;     /* DB[Cluster]SnapshotIdentifier (or an ARN) */
	const char *db_id;           /* DBInstanceIdentifier / DBClusterIdentifier */
	const char *snapshot_type;   /* SnapshotType */
	bool include_shared;         /* IncludeShared */
	const char *const *ids;      /* filter db[-cluster]-snapshot-id: any of these */
	size_t n_ids;                /* at most 100 */
};

/* rds:DescribeDBSnapshots or rds:DescribeDBClusterSnapshots (by q->kind),
 * following Marker until the last page (at most 1000 pages). *ret is owned
 * by the caller (ob_rds_snapshot_list_clear). -1 + err on AWS/transport
 * errors or a malformed answer; *ret is empty then. */
int ob_rds_describe_snapshots(struct ob_aws *aws, const struct ob_rds_describe *q,
			      struct ob_rds_snapshot_list *ret, struct ob_error *err);

/* ob_rds_describe_snapshots() for instance snapshots (q->kind ignored). */
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

/* The same for a DescribeDBClusterSnapshots result. */
int ob_rds_parse_db_cluster_snapshots(const struct ob_xml_doc *doc,
				      struct ob_rds_snapshot_list *list,
				      const char **ret_marker, struct ob_error *err);

/* Free what one snapshot holds; it becomes zeroed. NULL is a no-op. */
void ob_rds_snapshot_clear(struct ob_rds_snapshot *s);

/* A tag to set: borrowed strings. */
struct ob_rds_tag_ref {
	const char *key;
	const char *value;
};

/* A snapshot copy request. */
struct ob_rds_copy {
	enum ob_snap_kind kind;     /* CopyDBSnapshot or CopyDBClusterSnapshot */
	const char *source_id;      /* SourceDB[Cluster]SnapshotIdentifier: name or ARN */
	const char *target_id;      /* TargetDB[Cluster]SnapshotIdentifier */
	const char *kms_key_id;     /* KmsKeyId; NULL = keep the source's key */
	bool copy_tags;             /* CopyTags=true */
	const struct ob_rds_tag_ref *tags; /* Tags.Tag.N.Key/Value, at most 50 */
	size_t n_tags;
};

/* rds:CopyDBSnapshot / rds:CopyDBClusterSnapshot. On success, when ret is
 * not NULL, *ret is the new copy as the response describes it (caller
 * clears it). -1 + err: the AWS error as is (the caller decides what
 * DBSnapshotAlreadyExists, SnapshotQuotaExceeded... mean), OB_ERR_INVALID
 * for a missing field or too many tags, OB_ERR_PARSE for a malformed answer. */
int ob_rds_copy_snapshot(struct ob_aws *aws, const struct ob_rds_copy *c,
			 struct ob_rds_snapshot *ret, struct ob_error *err);

/* A list of strings, owned. */
struct ob_rds_strings {
	char **items;
	size_t n;
};

void ob_rds_strings_clear(struct ob_rds_strings *l);

/* True when l holds s. */
bool ob_rds_strings_has(const struct ob_rds_strings *l, const char *s);

/* rds:ModifyDBSnapshotAttribute / rds:ModifyDBClusterSnapshotAttribute of
 * AttributeName=restore, adding add (and/or removing remove; either may be
 * NULL, not both). On success *ret_restore (may be NULL) holds the restore
 * attribute's values as the response reports them after the change. -1 + err
 * as ob_rds_copy_snapshot(). */
int ob_rds_modify_restore(struct ob_aws *aws, enum ob_snap_kind kind, const char *snapshot_id,
			  const char *add, const char *remove, struct ob_rds_strings *ret_restore,
			  struct ob_error *err);

/* rds:DescribeDBSnapshotAttributes / rds:DescribeDBClusterSnapshotAttributes:
 * the restore attribute's values into *ret. -1 + err. */
int ob_rds_describe_restore(struct ob_aws *aws, enum ob_snap_kind kind, const char *snapshot_id,
			    struct ob_rds_strings *ret, struct ob_error *err);

/* rds:DeleteDBSnapshot / rds:DeleteDBClusterSnapshot. 0, or -1 + err (the
 * AWS error as is: DBSnapshotNotFound / DBClusterSnapshotNotFoundFault when
 * it is already gone). */
int ob_rds_delete_snapshot(struct ob_aws *aws, enum ob_snap_kind kind, const char *snapshot_id,
			   struct ob_error *err);

/* ---- account quotas (alerts: the manual snapshot quota) ---------------- */

#define OB_RDS_QUOTA_MAX_VALUE 1000000000000LL /* larger Used/Max: refused */

/* One quota to look up: the caller sets name; the parser fills the rest. */
struct ob_rds_quota {
	const char *name;  /* AccountQuotaName, e.g. "ManualSnapshots"; borrowed */
	bool found;
	long long used, max;
};

/* Read the AccountQuotas of a DescribeAccountAttributes result document
 * into q[0..n) by name (quotas not asked for are skipped). Exposed for
 * tests and fuzzers. -1 + OB_ERR_PARSE for a document without the result,
 * or when a quota asked for appears twice or has a Used or Max that is not
 * an integer in 0..OB_RDS_QUOTA_MAX_VALUE (nothing is half-filled). */
int ob_rds_parse_account_quotas(const struct ob_xml_doc *doc, struct ob_rds_quota *q, size_t n,
				struct ob_error *err);

/* rds:DescribeAccountAttributes, parsed as above. -1 + err (the AWS error
 * as is). */
int ob_rds_account_quotas(struct ob_aws *aws, struct ob_rds_quota *q, size_t n,
			  struct ob_error *err);

/* ---- S3 export tasks (docs/s3-export.md) ----------------------------------- */

/* An export task's Status. AWS answers in capitals (STARTING, IN_PROGRESS,
 * COMPLETE, CANCELING, CANCELED, FAILED), moto in lowercase: both parse. */
enum ob_rds_export_status {
	OB_RDS_EXPORT_UNKNOWN = 0, /* absent or a word this build does not know */
	OB_RDS_EXPORT_STARTING,
	OB_RDS_EXPORT_IN_PROGRESS,
	OB_RDS_EXPORT_COMPLETE,
	OB_RDS_EXPORT_CANCELING,
	OB_RDS_EXPORT_CANCELED,
	OB_RDS_EXPORT_FAILED,
};

/* Case-insensitive; NULL and unknown words are OB_RDS_EXPORT_UNKNOWN. */
enum ob_rds_export_status ob_rds_export_status_parse(const char *s);

/* One ExportTask. Strings are owned and never NULL ("" when absent). */
struct ob_rds_export_task {
	char *id;               /* ExportTaskIdentifier */
	char *source_arn;       /* SourceArn: the snapshot exported */
	char *status_text;      /* Status as sent */
	enum ob_rds_export_status status;
	char *s3_bucket;
	char *s3_prefix;
	char *iam_role_arn;
	char *kms_key_id;
	char *failure_cause;    /* FailureCause */
	int percent_progress;   /* 0..100 */
};

struct ob_rds_export_task_list {
	struct ob_rds_export_task *items;
	size_t n;
};

/* A StartExportTask request: borrowed strings; s3_prefix may be NULL. */
struct ob_rds_export_start {
	const char *task_id;      /* ExportTaskIdentifier */
	const char *source_arn;   /* the snapshot (or cluster snapshot) ARN */
	const char *s3_bucket;    /* S3BucketName */
	const char *s3_prefix;    /* S3Prefix; NULL or "" = none */
	const char *iam_role_arn; /* IamRoleArn */
	const char *kms_key_id;   /* KmsKeyId */
};

/* rds:StartExportTask. On success *ret (may be NULL) is the task as the
 * answer describes it (caller clears). -1 + err: the AWS error as is
 * (ExportTaskAlreadyExists, IamRoleNotFound, ... are the caller's to
 * judge), OB_ERR_INVALID for a missing field, OB_ERR_PARSE for an answer
 * without the task. */
int ob_rds_start_export_task(struct ob_aws *aws, const struct ob_rds_export_start *x,
			     struct ob_rds_export_task *ret, struct ob_error *err);

/* The most task identifiers one DescribeExportTasks filter takes here. */
#define OB_RDS_EXPORT_IDS_MAX 100

/* rds:DescribeExportTasks with the filter export-task-identifier = any of
 * ids (1..OB_RDS_EXPORT_IDS_MAX), following Marker (MaxRecords 100, at most
 * 1000 pages). Tasks not found are simply absent. *ret owned by the caller;
 * empty on -1 + err. */
int ob_rds_describe_export_tasks(struct ob_aws *aws, const char *const *ids, size_t n_ids,
				 struct ob_rds_export_task_list *ret, struct ob_error *err);

/* Parse one DescribeExportTasks result document into list (appending);
 * *ret_marker as ob_rds_parse_db_snapshots(). For tests and fuzzers. */
int ob_rds_parse_export_tasks(const struct ob_xml_doc *doc, struct ob_rds_export_task_list *list,
			      const char **ret_marker, struct ob_error *err);

/* NULL is a no-op; the struct becomes zeroed / the list empty. */
void ob_rds_export_task_clear(struct ob_rds_export_task *t);
void ob_rds_export_task_list_clear(struct ob_rds_export_task_list *l);

#endif
