/*
 * ident.c - the names the daemon derives from a source snapshot (see
 * ob/ident.h): its parsed ARN, its job id, the identifier of its export copy,
 * and whether the configured filters give it a job at all.
 *
 * Idempotence rests on these being pure: the same ARN always yields the same
 * job id and the same copy identifier, so a crash-repeated CopyDBSnapshot
 * lands on the copy that may already exist. Error messages and filter
 * reasons are fixed strings that never quote the input, because ARNs and
 * tag values arrive from outside and end up in the log. Byte comparisons
 * only, never <ctype.h>, so the locale cannot change an identifier.
 */
#include "ob/ident.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ob/awsid.h"

#define HASH_HEX_LEN 64
#define COPY_HASH_LEN 12  /* hex digits of SHA-256(source ARN) in a copy id */
#define JOB_HASH_LEN 16
#define COPY_FALLBACK "snapshot" /* when nothing of the name survives */

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static bool is_letter(unsigned char c) { return is_lower(c) || is_upper(c); }
static bool is_lower_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
static bool is_blank(unsigned char c) { return c == ' ' || c == '\t'; }

static bool span_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* SHA-256 of s as 64 lower-case hex digits. 0, or -1 when OpenSSL fails
 * (it allocates a context, so only on memory exhaustion). */
static int sha256_hex(const char *s, char out[HASH_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (!EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) || len != 32)
		return -1;
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[HASH_HEX_LEN] = '\0';
	return 0;
}

/* ---- snapshot ARNs ---- */

/* ob_awsid_arn_parse() says only yes or no; this finds the part to name in
 * the error. Called only once the ARN has been refused. */
static const char *arn_fault(const char *arn)
{
	const char *f[5], *s = arn, *colon;
	size_t len[5], i;

	if (strnlen(arn, OB_AWSID_ARN_MAX + 1) > OB_AWSID_ARN_MAX)
		return "ARN longer than 2048 bytes";
	if (strncmp(arn, "arn:", 4) != 0)
		return "not an ARN";
	s = arn + 4;
	for (i = 0; i < 5; i++) {
		colon = strchr(s, ':');
		f[i] = s;
		len[i] = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (colon == NULL && i < 4)
			return "ARN has fewer than six fields";
		s = colon != NULL ? colon + 1 : s + len[i];
	}
	if (!span_eq(f[0], len[0], "aws") && !span_eq(f[0], len[0], "aws-cn") &&
	    !span_eq(f[0], len[0], "aws-us-gov"))
		return "ARN partition is not aws, aws-cn or aws-us-gov";
	for (i = 0; i < len[1]; i++)
		if (!is_lower((unsigned char)f[1][i]) && !is_digit((unsigned char)f[1][i]) &&
		    f[1][i] != '-')
			break;
	if (len[1] == 0 || i < len[1])
		return "ARN service is empty or not [a-z0-9-]";
	if (!ob_awsid_region_ok(f[2], len[2]))
		return "ARN region is not a region";
	if (!ob_awsid_account_ok(f[3], len[3]))
		return "ARN account is not a 12-digit account id";
	if (*f[4] == '\0')
		return "ARN resource is empty";
	return "ARN region does not belong to its partition";
}

int ob_ident_parse_snapshot_arn(const char *arn, struct ob_snapshot_ref *ret,
				struct ob_error *err)
{
	struct ob_awsid_arn a;
	struct ob_snapshot_ref r;
	const char *name;
	size_t n, i;

	if (arn == NULL || ret == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "snapshot ARN: none given");
	if (ob_awsid_arn_parse(arn, &a) < 0)
		return ob_error_set(err, OB_ERR_INVALID, "snapshot ARN: %s", arn_fault(arn));
	if (!span_eq(a.service, a.service_len, "rds"))
		return ob_error_set(err, OB_ERR_INVALID, "snapshot ARN: service is not rds");
	memset(&r, 0, sizeof(r));
	if (a.resource_len > 9 && memcmp(a.resource, "snapshot:", 9) == 0) {
		r.kind = OB_SNAP_INSTANCE;
		name = a.resource + 9;
	} else if (a.resource_len > 17 && memcmp(a.resource, "cluster-snapshot:", 17) == 0) {
		r.kind = OB_SNAP_CLUSTER;
		name = a.resource + 17;
	} else if (span_eq(a.resource, a.resource_len, "snapshot:") ||
		   span_eq(a.resource, a.resource_len, "cluster-snapshot:")) {
		return ob_error_set(err, OB_ERR_INVALID, "snapshot ARN: snapshot name is empty");
	} else {
		return ob_error_set(err, OB_ERR_INVALID,
				    "snapshot ARN: resource type is not snapshot or cluster-snapshot");
	}
	n = a.resource_len - (size_t)(name - a.resource);
	if (n > OB_RDS_ID_MAX)
		return ob_error_set(err, OB_ERR_INVALID,
				    "snapshot ARN: snapshot name longer than 255 bytes");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == '/')
			return ob_error_set(err, OB_ERR_INVALID,
					    "snapshot ARN: snapshot name holds a control character or '/'");
	}
	/* The validators bound these already; checked anyway, so a change
	 * there cannot overflow the struct. */
	if (a.partition_len >= sizeof(r.partition) || a.region_len >= sizeof(r.region) ||
	    a.account_len >= sizeof(r.account))
		return ob_error_set(err, OB_ERR_INVALID, "snapshot ARN: partition or region too long");
	memcpy(r.partition, a.partition, a.partition_len);
	memcpy(r.region, a.region, a.region_len);
	memcpy(r.account, a.account, a.account_len);
	memcpy(r.name, name, n);
	*ret = r;
	return 0;
}

/* ---- job and copy identifiers ---- */

void ob_ident_job_id(const char *source_arn, char out[OB_JOB_ID_SIZE])
{
	char hex[HASH_HEX_LEN + 1];

	/* Only an out-of-memory OpenSSL fails here. There is no error to
	 * return, and any made-up id would split one snapshot into two jobs
	 * (two copies), so stop instead: systemd restarts the daemon and the
	 * job is picked up again from the queue. */
	if (sha256_hex(source_arn != NULL ? source_arn : "", hex) < 0)
		abort();
	out[0] = 'j';
	memcpy(out + 1, hex, JOB_HASH_LEN);
	out[1 + JOB_HASH_LEN] = '\0';
}

/* name lower-cased, each run of other bytes than [a-z0-9] one '-', no '-'
 * at either end, at most max bytes (cut at a byte, then trimmed again).
 * Returns the length written to out (out holds max + 1). */
static size_t sanitize(const char *name, char *out, size_t max)
{
	size_t n = 0;
	bool dash = false;
	unsigned char c;

	for (; *name != '\0' && n < max; name++) {
		c = (unsigned char)*name;
		if (is_upper(c))
			c = (unsigned char)(c - 'A' + 'a');
		if (is_lower(c) || is_digit(c)) {
			if (dash && n > 0 && n + 1 < max)
				out[n++] = '-';
			else if (dash && n > 0)
				break; /* no room for the dash and what follows it */
			dash = false;
			out[n++] = (char)c;
		} else {
			dash = true;
		}
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	return n;
}

int ob_ident_copy_id(const char *source_arn, const char *name, char *out, size_t size,
		     struct ob_error *err)
{
	/* "ob-" + part + "-" + 12 hex fits in OB_RDS_ID_MAX */
	enum { PART_MAX = OB_RDS_ID_MAX - (sizeof(OB_COPY_PREFIX) - 1) - 1 - COPY_HASH_LEN };
	char part[PART_MAX + 1], hex[HASH_HEX_LEN + 1];
	size_t n, need;

	if (out != NULL && size > 0)
		out[0] = '\0';
	if (source_arn == NULL || name == NULL || out == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "copy id: missing argument");
	n = sanitize(name, part, PART_MAX);
	if (n == 0) {
		memcpy(part, COPY_FALLBACK, sizeof(COPY_FALLBACK));
		n = sizeof(COPY_FALLBACK) - 1;
	}
	need = sizeof(OB_COPY_PREFIX) - 1 + n + 1 + COPY_HASH_LEN + 1;
	if (size < need)
		return ob_error_set(err, OB_ERR_INVALID, "copy id: buffer of %zu bytes, %zu needed",
				    size, need);
	if (sha256_hex(source_arn, hex) < 0)
		return ob_error_set(err, OB_ERR_NOMEM, "copy id: SHA-256 failed");
	memcpy(out, OB_COPY_PREFIX, sizeof(OB_COPY_PREFIX) - 1);
	memcpy(out + sizeof(OB_COPY_PREFIX) - 1, part, n);
	out[sizeof(OB_COPY_PREFIX) - 1 + n] = '-';
	memcpy(out + sizeof(OB_COPY_PREFIX) + n, hex, COPY_HASH_LEN);
	out[need - 1] = '\0';
	return 0;
}

bool ob_ident_rds_id_ok(const char *s)
{
	size_t i;

	if (s == NULL || !is_letter((unsigned char)s[0]))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= OB_RDS_ID_MAX)
			return false;
		if (c == '-') {
			if (s[i + 1] == '-' || s[i + 1] == '\0')
				return false;
		} else if (!is_letter(c) && !is_digit(c)) {
			return false;
		}
	}
	return true;
}

bool ob_ident_is_own_copy_name(const char *name)
{
	const size_t pre = sizeof(OB_COPY_PREFIX) - 1;
	size_t n, i;

	/* Exactly what ob_ident_copy_id() writes: "ob-", a non-empty
	 * [a-z0-9] part with single inner dashes, '-', 12 lower-case hex. */
	if (name == NULL || !ob_ident_rds_id_ok(name) || strncmp(name, OB_COPY_PREFIX, pre) != 0)
		return false;
	n = strlen(name);
	if (n < pre + 1 + 1 + COPY_HASH_LEN || name[n - COPY_HASH_LEN - 1] != '-')
		return false;
	for (i = n - COPY_HASH_LEN; i < n; i++)
		if (!is_lower_hex((unsigned char)name[i]))
			return false;
	for (i = pre; i < n - COPY_HASH_LEN - 1; i++)
		if (is_upper((unsigned char)name[i]))
			return false;
	return true;
}

bool ob_ident_has_provenance(const struct ob_rds_tag *tags, size_t n_tags)
{
	size_t i;

	if (tags == NULL)
		return false;
	for (i = 0; i < n_tags; i++)
		if (tags[i].key != NULL && (strcmp(tags[i].key, OB_TAG_SOURCE_ARN) == 0 ||
					    strcmp(tags[i].key, OB_TAG_JOB) == 0))
			return true;
	return false;
}

/* ---- filters ---- */

enum { LIST_MATCH, LIST_NO_MATCH, LIST_NOMEM };

/* Does s match any glob of the comma-separated list? Items are trimmed of
 * blanks and empty ones skipped, so "a, b" and "a,,b" read as "a,b". */
static int list_match(const char *list, const char *s)
{
	char small[256], *pat;
	const char *item, *comma;
	size_t n;
	int rc;

	if (list == NULL)
		return LIST_NO_MATCH;
	for (item = list; item != NULL; item = comma != NULL ? comma + 1 : NULL) {
		comma = strchr(item, ',');
		n = comma != NULL ? (size_t)(comma - item) : strlen(item);
		while (n > 0 && is_blank((unsigned char)*item)) {
			item++;
			n--;
		}
		while (n > 0 && is_blank((unsigned char)item[n - 1]))
			n--;
		if (n == 0)
			continue;
		/* fnmatch() wants a NUL-terminated pattern; globs are short. */
		pat = n < sizeof(small) ? small : malloc(n + 1);
		if (pat == NULL)
			return LIST_NOMEM;
		memcpy(pat, item, n);
		pat[n] = '\0';
		rc = fnmatch(pat, s, 0);
		if (pat != small)
			free(pat);
		if (rc == 0)
			return LIST_MATCH;
	}
	return LIST_NO_MATCH;
}

bool ob_ident_filter_match(const char *include, const char *exclude, const char *require_tag,
			   const char *db_id, const struct ob_rds_tag *tags, size_t n_tags,
			   const char **ret_reason)
{
	const char *reason = NULL, *eq, *value;
	size_t key_len, i;
	int rc;

	if (db_id == NULL) {
		reason = "no DB identifier";
		goto out;
	}
	rc = list_match(include, db_id);
	if (rc != LIST_MATCH) {
		reason = rc == LIST_NOMEM ? "out of memory matching include_db"
			 : include == NULL || include[0] == '\0' ? "include_db is empty"
			 : "not in include_db";
		goto out;
	}
	rc = list_match(exclude, db_id);
	if (rc != LIST_NO_MATCH) {
		reason = rc == LIST_NOMEM ? "out of memory matching exclude_db" : "in exclude_db";
		goto out;
	}
	if (require_tag == NULL || require_tag[0] == '\0')
		goto out;
	eq = strchr(require_tag, '=');
	if (eq == NULL) {
		reason = "require_tag is not key=value";
		goto out;
	}
	key_len = (size_t)(eq - require_tag);
	value = eq + 1;
	reason = "lacks the required tag";
	for (i = 0; tags != NULL && i < n_tags; i++) {
		if (tags[i].key != NULL && tags[i].value != NULL &&
		    strlen(tags[i].key) == key_len && memcmp(tags[i].key, require_tag, key_len) == 0 &&
		    strcmp(tags[i].value, value) == 0) {
			reason = NULL;
			break;
		}
	}
out:
	if (ret_reason != NULL)
		*ret_reason = reason;
	return reason == NULL;
}
