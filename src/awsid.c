/*
 * awsid.c - what a well-formed AWS identifier looks like (see ob/awsid.h).
 *
 * The configuration checks the operator's regions, accounts, ARNs and KMS
 * keys with these functions, and the vault is to check the account ids and
 * snapshot ARNs in announcements with the same ones, so both sides agree on
 * what they accept. They only judge shape: whether a key or topic exists is
 * AWS's answer, not ours. Plain byte comparisons, never <ctype.h>: its answer
 * depends on the locale and on bytes >= 0x80.
 */
#include "ob/awsid.h"

#include <string.h>

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static bool is_alnum(unsigned char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c);
}
static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/* SNS topic and SQS queue names */
static bool name_char(unsigned char c) { return is_alnum(c) || c == '-' || c == '_'; }
static bool alias_char(unsigned char c) { return name_char(c) || c == '/'; }
static bool partition_char(unsigned char c) { return is_lower(c) || c == '-'; }
static bool service_char(unsigned char c) { return is_lower(c) || is_digit(c) || c == '-'; }
static bool glob_char(unsigned char c) { return is_alnum(c) || c == '-' || c == '*' || c == '?'; }
static bool range_char(unsigned char c) { return is_alnum(c) || c == '-'; }
static bool tag_char(unsigned char c)
{
	return c >= 0x80 || is_alnum(c) || (c != '\0' && strchr(" _.:/=+-@", c) != NULL);
}

static bool all_of(const char *s, size_t n, bool (*cls)(unsigned char))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!cls((unsigned char)s[i]))
			return false;
	return true;
}

static bool span_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool starts_with(const char *s, size_t n, const char *lit)
{
	size_t m = strlen(lit);

	return n >= m && memcmp(s, lit, m) == 0;
}

/* Without the ".fifo" of a FIFO topic or queue. */
static size_t strip_fifo(const char *s, size_t n)
{
	return n > 5 && memcmp(s + n - 5, ".fifo", 5) == 0 ? n - 5 : n;
}

bool ob_awsid_region_ok(const char *s, size_t n)
{
	size_t i = 0, parts = 0, start;

	if (s == NULL || n > 32)
		return false;
	while (i <= n) {
		start = i;
		while (i < n && s[i] != '-')
			i++;
		if (i == start)
			return false;
		if (parts == 0 && !(i - start == 2 && all_of(s, 2, is_lower)))
			return false;
		if (parts > 0 && i < n && !all_of(s + start, i - start, is_lower))
			return false;
		if (i == n && !(parts >= 2 && i - start <= 2 && all_of(s + start, i - start, is_digit)))
			return false;
		parts++;
		i++;
	}
	return true;
}

bool ob_awsid_account_ok(const char *s, size_t n)
{
	return s != NULL && n == 12 && all_of(s, n, is_digit);
}

int ob_awsid_arn_split(const char *arn, struct ob_awsid_arn *ret)
{
	const char *f[4], *s, *end, *colon;
	size_t len[4], i;

	if (arn == NULL || strncmp(arn, "arn:", 4) != 0)
		return -1;
	end = arn + strlen(arn);
	s = arn + 4;
	for (i = 0; i < 4; i++) {
		colon = memchr(s, ':', (size_t)(end - s));
		if (colon == NULL)
			return -1;
		f[i] = s;
		len[i] = (size_t)(colon - s);
		s = colon + 1;
	}
	if (!starts_with(f[0], len[0], "aws") || !all_of(f[0], len[0], partition_char) ||
	    len[1] == 0 || !all_of(f[1], len[1], service_char) ||
	    !ob_awsid_region_ok(f[2], len[2]) || !ob_awsid_account_ok(f[3], len[3]) || s == end)
		return -1;
	ret->partition = f[0];
	ret->partition_len = len[0];
	ret->service = f[1];
	ret->service_len = len[1];
	ret->region = f[2];
	ret->region_len = len[2];
	ret->account = f[3];
	ret->account_len = len[3];
	ret->resource = s;
	ret->resource_len = (size_t)(end - s);
	return 0;
}

int ob_awsid_arn_parse(const char *arn, struct ob_awsid_arn *ret)
{
	struct ob_awsid_arn a;
	bool cn, gov;

	/* Bounded first: a huge string from outside costs one strnlen. */
	if (arn == NULL || strnlen(arn, OB_AWSID_ARN_MAX + 1) > OB_AWSID_ARN_MAX ||
	    ob_awsid_arn_split(arn, &a) < 0)
		return -1;
	cn = starts_with(a.region, a.region_len, "cn-");
	gov = starts_with(a.region, a.region_len, "us-gov-");
	if (span_eq(a.partition, a.partition_len, "aws") ? cn || gov
	    : span_eq(a.partition, a.partition_len, "aws-cn") ? !cn
	    : span_eq(a.partition, a.partition_len, "aws-us-gov") ? !gov
	    : true)
		return -1;
	*ret = a;
	return 0;
}

static bool uuid_ok(const char *s, size_t n)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (n != sizeof(shape) - 1)
		return false;
	for (i = 0; i < n; i++)
		if (shape[i] == '-' ? s[i] != '-' : !is_hex((unsigned char)s[i]))
			return false;
	return true;
}

static bool key_id_ok(const char *s, size_t n)
{
	if (starts_with(s, n, "mrk-"))
		return n == 36 && all_of(s + 4, 32, is_hex);
	return uuid_ok(s, n);
}

static bool alias_ok(const char *s, size_t n)
{
	return starts_with(s, n, "alias/") && n > 6 && n <= 256 && all_of(s, n, alias_char);
}

bool ob_awsid_kms_key_aws_managed(const char *s)
{
	return s != NULL && (strncmp(s, "alias/aws/", 10) == 0 || strstr(s, ":alias/aws/") != NULL);
}

bool ob_awsid_kms_key_ok(const char *s)
{
	struct ob_awsid_arn a;
	const char *res;
	size_t n;

	if (s == NULL || ob_awsid_kms_key_aws_managed(s))
		return false;
	if (strncmp(s, "arn:", 4) != 0)
		return key_id_ok(s, strlen(s)) || alias_ok(s, strlen(s));
	if (ob_awsid_arn_split(s, &a) < 0 || !span_eq(a.service, a.service_len, "kms"))
		return false;
	res = a.resource;
	n = a.resource_len;
	return (starts_with(res, n, "key/") && key_id_ok(res + 4, n - 4)) || alias_ok(res, n);
}

bool ob_awsid_sns_topic_ok(const char *s, size_t n)
{
	if (s == NULL)
		return false;
	n = strip_fifo(s, n);
	return n >= 1 && n <= 256 && all_of(s, n, name_char);
}

bool ob_awsid_sqs_queue_path_ok(const char *path)
{
	const char *name;
	size_t n;

	if (path == NULL || path[0] != '/' || !ob_awsid_account_ok(path + 1, strcspn(path + 1, "/")) ||
	    path[13] != '/')
		return false;
	name = path + 14;
	n = strip_fifo(name, strlen(name));
	return n >= 1 && n <= 80 && all_of(name, n, name_char);
}

bool ob_awsid_sqs_host_region(const char *host, size_t n, const char **ret_region,
			      size_t *ret_len)
{
	const char *region, *dot;
	size_t rest;

	if (host == NULL || !starts_with(host, n, "sqs."))
		return false;
	region = host + 4;
	dot = memchr(region, '.', n - 4);
	if (dot == NULL)
		return false;
	rest = n - 4 - (size_t)(dot - region);
	if (!span_eq(dot, rest, ".amazonaws.com") && !span_eq(dot, rest, ".amazonaws.com.cn"))
		return false;
	*ret_region = region;
	*ret_len = (size_t)(dot - region);
	return true;
}

bool ob_awsid_glob_ok(const char *s, size_t n)
{
	size_t i = 0, start;

	if (s == NULL)
		return false;
	while (i < n) {
		if (s[i] != '[') {
			if (!glob_char((unsigned char)s[i]))
				return false;
			i++;
			continue;
		}
		i++;
		if (i < n && (s[i] == '!' || s[i] == '^'))
			i++;
		start = i;
		while (i < n && s[i] != ']') {
			if (!range_char((unsigned char)s[i]))
				return false;
			i++;
		}
		if (i == n || i == start)
			return false;
		i++;
	}
	return true;
}

bool ob_awsid_tag_key_ok(const char *s, size_t n)
{
	return s != NULL && n >= 1 && n <= 128 && all_of(s, n, tag_char);
}

bool ob_awsid_tag_value_ok(const char *s, size_t n)
{
	return s != NULL && n <= 256 && all_of(s, n, tag_char);
}

bool ob_awsid_access_key_id_ok(const char *s, size_t n)
{
	return s != NULL && n >= 16 && n <= 128 && all_of(s, n, is_alnum);
}
