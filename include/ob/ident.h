/*
 * ob/ident.h - names the daemon derives: job ids, copy identifiers,
 * provenance tags, snapshot ARNs, and the snapshot filters.
 *
 * Everything here is a pure function of its arguments, so the same source
 * snapshot always gives the same job id and the same copy identifier: a
 * retried or crash-repeated CopyDBSnapshot targets the copy that may already
 * exist instead of making a second one.
 */
#ifndef OB_IDENT_H
#define OB_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#include "ob/error.h"
#include "ob/rds.h"

/* Provenance tags on every copy the daemon makes. */
#define OB_TAG_SOURCE_ARN     "offsite-backup:source-arn"
#define OB_TAG_JOB            "offsite-backup:job"
#define OB_TAG_SOURCE_ACCOUNT "offsite-backup:source-account"
/* On vault copies only: a mirror of the database and the time RDS reported
 * for the shared snapshot (retention and the RPO watch go by those). */
#define OB_TAG_SOURCE_TIME    "offsite-backup:source-time"
#define OB_TAG_DB             "offsite-backup:db"

/* Seconds a claimed (announced or tagged) snapshot time may differ from the
 * time RDS reports. */
#define OB_CLAIM_SKEW_S 300

/* Export copies are named OB_COPY_PREFIX + <name> + "-" + 12 hex digits. */
#define OB_COPY_PREFIX "ob-"

#define OB_JOB_ID_SIZE 18   /* "j" + 16 hex + NUL */
#define OB_RDS_ID_MAX  255  /* longest RDS snapshot identifier */

/* A parsed RDS snapshot ARN:
 * arn:<partition>:rds:<region>:<account>:snapshot:<name> (instance) or
 * ...:cluster-snapshot:<name> (cluster); <name> may hold ':'
 * ("rds:orders-2026-11-22-05-03", "awsbackup:job-1234"). */
struct ob_snapshot_ref {
	enum ob_snap_kind kind;
	char partition[32];
	char region[33];   /* ob_awsid_region_ok allows 32 bytes */
	char account[13];
	char name[OB_RDS_ID_MAX + 1];
};

/* Parse arn strictly (via ob_awsid_arn_parse, service rds, a known resource
 * type, a non-empty name of at most 255 bytes without control characters
 * or '/'). 0, or -1 + err (OB_ERR_INVALID, saying which part is wrong). */
int ob_ident_parse_snapshot_arn(const char *arn, struct ob_snapshot_ref *ret,
				struct ob_error *err);

/* The job id of a source snapshot: "j" + the first 16 hex digits of
 * SHA-256(source_arn). */
void ob_ident_job_id(const char *source_arn, char out[OB_JOB_ID_SIZE]);

/* The export copy identifier of a source snapshot: OB_COPY_PREFIX, then
 * name lower-cased with every run of other characters than [a-z0-9] turned
 * into one '-' (trimmed, cut so the whole fits in 255), then '-' and the
 * first 12 hex digits of SHA-256(source_arn). Always a valid RDS
 * identifier. 0, or -1 + err when size is too small (at least 256 works). */
int ob_ident_copy_id(const char *source_arn, const char *name, char *out, size_t size,
		     struct ob_error *err);

/* True for a valid RDS snapshot identifier: 1..255 of [A-Za-z0-9-],
 * starting with a letter, no "--", not ending in '-'. */
bool ob_ident_rds_id_ok(const char *s);

/* True when name has the shape of one of our copies (OB_COPY_PREFIX ...
 * "-" 12 lowercase hex digits), so events about our own copies never start
 * a job. */
bool ob_ident_is_own_copy_name(const char *name);

/* True when tags carry either provenance tag. */
bool ob_ident_has_provenance(const struct ob_rds_tag *tags, size_t n_tags);

/* Does a snapshot of db_id with these tags get a job? include and exclude
 * are comma-separated fnmatch(3) globs as the configuration stores them
 * ("" include matches nothing, "" exclude excludes nothing); require_tag is
 * "key=value" or "" (no requirement). When false, *ret_reason (may be
 * NULL) is a static string saying which rule refused it. */
bool ob_ident_filter_match(const char *include, const char *exclude, const char *require_tag,
			   const char *db_id, const struct ob_rds_tag *tags, size_t n_tags,
			   const char **ret_reason);

#endif
