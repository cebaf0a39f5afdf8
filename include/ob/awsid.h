/*
 * ob/awsid.h - validators and a parser for AWS identifiers: regions, account
 * ids, ARNs, KMS key references, SNS topic and SQS queue names, tags, DB
 * identifier globs, access key ids.
 *
 * Pure functions: no allocation, no locale, no I/O. Tokens that usually sit
 * inside a larger string (a region, an account id, a tag key) are passed as
 * a pointer and a length; a byte outside the allowed set, NUL included, makes
 * them false. Whole values (an ARN, a KMS key reference, a queue URL path)
 * are NUL-terminated strings. NULL is never valid.
 */
#ifndef OB_AWSID_H
#define OB_AWSID_H

#include <stdbool.h>
#include <stddef.h>

/* Longest ARN ob_awsid_arn_parse() accepts, in bytes (IAM documents 2048). */
#define OB_AWSID_ARN_MAX 2048

/* True for a region name as AWS writes them: two lower-case letters, one or
 * more lower-case words, a number of at most two digits, joined by '-'
 * (eu-central-1, us-gov-west-1, cn-north-1); at most 32 bytes. */
bool ob_awsid_region_ok(const char *s, size_t n);

/* True for an AWS account id: exactly 12 ASCII digits. */
bool ob_awsid_account_ok(const char *s, size_t n);

/* An ARN split into its six fields. Each pointer points into the string that
 * was parsed (not NUL-terminated at the field's end); the lengths say where
 * each field ends. "arn" itself is not kept. */
struct ob_awsid_arn {
	const char *partition;
	size_t partition_len;
	const char *service;
	size_t service_len;
	const char *region;
	size_t region_len;
	const char *account;
	size_t account_len;
	const char *resource; /* everything after the fifth ':', ':' and '/' included */
	size_t resource_len;
};

/* Split "arn:<partition>:<service>:<region>:<account>:<resource>" as the
 * configuration always has: partition "aws" + [a-z-]* (aws-iso-b too), service
 * [a-z0-9-]+, region and account present and valid (so no IAM or S3 ARNs),
 * resource non-empty (':' and '/' allowed), no length limit. Returns 0 and
 * fills *ret, or -1 and leaves *ret untouched. */
int ob_awsid_arn_split(const char *arn, struct ob_awsid_arn *ret);

/* ob_awsid_arn_split(), stricter, for ARNs from outside (announcements, API
 * replies): at most OB_AWSID_ARN_MAX bytes, partition aws, aws-cn or aws-us-gov,
 * and a region of that partition (cn-* only in aws-cn, us-gov-* only in
 * aws-us-gov). Returns as ob_awsid_arn_split(). */
int ob_awsid_arn_parse(const char *arn, struct ob_awsid_arn *ret);

/* True when s names an AWS managed KMS key (alias/aws/..., or ":alias/aws/"
 * anywhere, as in an alias ARN), whether or not s is otherwise well formed:
 * such keys cannot be shared with another account, and callers say so. */
bool ob_awsid_kms_key_aws_managed(const char *s);

/* True for a customer managed KMS key: a key id (UUID, or "mrk-" + 32 hex
 * digits), "alias/<name>" (1-250 of [A-Za-z0-9_/-]), or a kms ARN (as
 * ob_awsid_arn_split()) of "key/<id>" or "alias/<name>". False for AWS managed keys. */
bool ob_awsid_kms_key_ok(const char *s);

/* True for an SNS topic name: 1-256 letters, digits, '-' and '_', then
 * ".fifo" for a FIFO topic. */
bool ob_awsid_sns_topic_ok(const char *s, size_t n);

/* True for an SQS queue URL's path with nothing after it (no query, no
 * fragment): "/<account>/<queue>", the queue 1-80 of [A-Za-z0-9_-], plus
 * ".fifo" for a FIFO queue. */
bool ob_awsid_sqs_queue_path_ok(const char *path);

/* True when host[0..n) is sqs.<region>.amazonaws.com or ...amazonaws.com.cn;
 * the <region> span, unchecked and maybe empty, is for the caller to compare.
 * On false *ret_region and *ret_len are untouched. */
bool ob_awsid_sqs_host_region(const char *host, size_t n, const char **ret_region,
			      size_t *ret_len);

/* True for a glob on RDS DB identifiers: letters, digits, '-', '*', '?' and
 * non-empty [...], [!...] or [^...] of letters, digits and '-'. An empty glob
 * is true: refusing empty list items is the caller's business. */
bool ob_awsid_glob_ok(const char *s, size_t n);

/* True for a resource tag key (1-128 bytes) or value (0-256 bytes): letters
 * of any script (any byte >= 0x80; UTF-8 validity is the caller's), digits,
 * space and _ . : / = + - @. */
bool ob_awsid_tag_key_ok(const char *s, size_t n);
bool ob_awsid_tag_value_ok(const char *s, size_t n);

/* True for an access key id as the configuration takes it: 16-128 ASCII
 * letters and digits. */
bool ob_awsid_access_key_id_ok(const char *s, size_t n);

#endif
