/*
 * config.c - /etc/offsite-backup.conf: reading, parsing and validation.
 *
 * Every key is one row of a const table (section, name, type, default, role,
 * required-ness, field offset); the line parser, the value checkers and the
 * cross-key rules are generic over that table, so adding a key is adding a
 * row. Parsing never stops at the first problem: each one becomes a
 * "file:line: message" diagnostic and the operator fixes the file in one go.
 *
 * Values are operator text and may hold a secret, so a diagnostic quotes at
 * most 64 escaped bytes of a value, and never the value of a secret key or of
 * a line that could not be split into key and value. The file text and every
 * copy of a value are wiped before they are freed.
 *
 * What an AWS identifier looks like (regions, accounts, ARNs, KMS keys,
 * topic and queue names, globs, tags) is ob/awsid.h's to say, so that the vault
 * judges announcements by the same rules; this file picks the message. The URL,
 * UTF-8, integer and duration checkers are part of the grammar and stay here.
 *
 * Why ~1,200 lines: the key table, the line grammar, the cross-key rules and
 * the diagnostics of one file format; what is reusable elsewhere has moved
 * out (ob/awsid.h, ob_uri_split).
 */
#include "ob/config.h"
#include "ob/awsid.h"
#include "ob/uri.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define MAX_FILE_SIZE (1024 * 1024) /* nobody writes a 1 MiB config */
#define MAX_LINE 4096
#define MAX_DIAGS 100               /* a garbage file must not flood stderr */
#define ECHO_MAX 64                 /* bytes of a value quoted in a message */

#define MS_PER_S INT64_C(1000)
#define MS_PER_DAY (INT64_C(86400) * MS_PER_S)

/* Enums are stored through an int lvalue (the table is generic). */
_Static_assert(sizeof(enum ob_role) == sizeof(int), "enum ob_role is not an int");
_Static_assert(sizeof(enum ob_log_level) == sizeof(int), "enum ob_log_level is not an int");
_Static_assert(sizeof(enum ob_creds_source) == sizeof(int), "enum ob_creds_source is not an int");

enum key_type {
	KT_ENUM,          /* one of names[] -> int */
	KT_PATH,          /* absolute path */
	KT_REGION,        /* eu-central-1 */
	KT_URL,           /* http:// or https:// */
	KT_QUEUE_URL,     /* http(s)://host/<account>/<queue>; scheme checked later */
	KT_DURATION,      /* ob_config_parse_duration() -> int64_t ms */
	KT_INTEGER,       /* decimal -> long, within min..max */
	KT_ACCESS_KEY_ID, /* 16-128 letters and digits */
	KT_SECRET,        /* printable, no blanks, at most 128 bytes */
	KT_ACCOUNT,       /* 12 digits */
	KT_ACCOUNT_LIST,  /* comma-separated 12-digit ids, stored as "a,b" */
	KT_ARN,           /* ARN of service arg */
	KT_KMS_KEY,       /* KMS key or alias, as ARN, id or alias/name */
	KT_GLOB_LIST,     /* comma-separated globs, stored as "a,b" */
	KT_TAG,           /* key=value */
	KT_FILE,          /* absolute path of a file (not ending in '/') */
	KT_NAMESPACE,     /* CloudWatch namespace */
	KT_S3_BUCKET,     /* S3 bucket name (general purpose bucket rules) */
	KT_S3_PREFIX,     /* S3 key prefix: printable ASCII, no leading '/' */
	KT_IAM_ROLE,      /* arn:<partition>:iam::<account>:role/<path/name> */
};

enum key_role { KR_BOTH, KR_SOURCE, KR_TARGET };
enum key_need { KN_OPTIONAL, KN_ALWAYS, KN_FOR_ROLE };

struct enum_name {
	const char *name;
	int value;
};

struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	const char *def;     /* default as written in the file; "" = none */
	enum key_role role;  /* who may set it */
	enum key_need need;  /* KN_FOR_ROLE: required when role matches */
	bool secret;         /* never quote the value */
	size_t offset;       /* field in struct ob_config */
	int64_t min, max;    /* KT_INTEGER; KT_DURATION in ms */
	const char *arg;     /* KT_ARN: the service; KT_KMS_KEY: "key" = no alias */
	const struct enum_name *names; /* KT_ENUM */
};

static const struct enum_name role_names[] = {
	{ "source", OB_ROLE_SOURCE }, { "target", OB_ROLE_TARGET }, { NULL, 0 },
};
static const struct enum_name level_names[] = {
	{ "err", OB_LOG_ERR }, { "warning", OB_LOG_WARNING }, { "notice", OB_LOG_NOTICE },
	{ "info", OB_LOG_INFO }, { "debug", OB_LOG_DEBUG }, { NULL, 0 },
};
static const struct enum_name creds_names[] = {
	{ "instance", OB_CREDS_INSTANCE }, { "env", OB_CREDS_ENV },
	{ "static", OB_CREDS_STATIC }, { NULL, 0 },
};

#define F(field) offsetof(struct ob_config, field)
#define DMAX INT64_MAX

static const struct key_def keys[] = {
	/* section  name                     type             default
	 *          role       need          secret offset                 min max arg names */
	{ "daemon", "role",                  KT_ENUM,         "",
	  KR_BOTH,   KN_ALWAYS,   false, F(role),                  0, 0, NULL, role_names },
	{ "daemon", "region",                KT_REGION,       "",
	  KR_BOTH,   KN_ALWAYS,   false, F(region),                0, 0, NULL, NULL },
	{ "daemon", "queue_url",             KT_QUEUE_URL,    "",
	  KR_BOTH,   KN_ALWAYS,   false, F(queue_url),             0, 0, NULL, NULL },
	{ "daemon", "state_db",              KT_PATH,         "/var/lib/offsite-backup/state.db",
	  KR_BOTH,   KN_OPTIONAL, false, F(state_db),              0, 0, NULL, NULL },
	{ "daemon", "poll_interval",         KT_DURATION,     "30s",
	  KR_BOTH,   KN_OPTIONAL, false, F(poll_interval_ms),      1, DMAX, NULL, NULL },
	{ "daemon", "sweep_interval",        KT_DURATION,     "1h",
	  KR_BOTH,   KN_OPTIONAL, false, F(sweep_interval_ms),     0, DMAX, NULL, NULL },
	{ "daemon", "max_concurrent_copies", KT_INTEGER,      "5",
	  KR_BOTH,   KN_OPTIONAL, false, F(max_concurrent_copies), 1, 20, NULL, NULL },
	{ "daemon", "max_attempts",          KT_INTEGER,      "10",
	  KR_BOTH,   KN_OPTIONAL, false, F(max_attempts),          1, 1000, NULL, NULL },
	{ "daemon", "log_level",             KT_ENUM,         "info",
	  KR_BOTH,   KN_OPTIONAL, false, F(log_level),             0, 0, NULL, level_names },
	{ "daemon", "metrics_file",          KT_FILE,         "",
	  KR_BOTH,   KN_OPTIONAL, false, F(metrics_file),          0, 0, NULL, NULL },
	{ "daemon", "cloudwatch_namespace",  KT_NAMESPACE,    "",
	  KR_BOTH,   KN_OPTIONAL, false, F(cloudwatch_namespace),  0, 0, NULL, NULL },
	{ "daemon", "alert_topic_arn",       KT_ARN,          "",
	  KR_BOTH,   KN_OPTIONAL, false, F(alert_topic_arn),       0, 0, "sns", NULL },
	{ "daemon", "alert_after",           KT_DURATION,     "5m",
	  KR_BOTH,   KN_OPTIONAL, false, F(alert_after_ms),        0, DMAX, NULL, NULL },

	{ "aws",    "credentials",           KT_ENUM,         "instance",
	  KR_BOTH,   KN_OPTIONAL, false, F(credentials),           0, 0, NULL, creds_names },
	{ "aws",    "access_key_id",         KT_ACCESS_KEY_ID, "",
	  KR_BOTH,   KN_OPTIONAL, true,  F(access_key_id),         0, 0, NULL, NULL },
	{ "aws",    "secret_access_key",     KT_SECRET,       "",
	  KR_BOTH,   KN_OPTIONAL, true,  F(secret_access_key),     0, 0, NULL, NULL },
	{ "aws",    "endpoint_url",          KT_URL,          "",
	  KR_BOTH,   KN_OPTIONAL, false, F(endpoint_url),          0, 0, NULL, NULL },
	{ "aws",    "imds_url",              KT_URL,          "http://169.254.169.254",
	  KR_BOTH,   KN_OPTIONAL, false, F(imds_url),              0, 0, NULL, NULL },

	{ "source", "export_kms_key",        KT_KMS_KEY,      "",
	  KR_SOURCE, KN_FOR_ROLE, false, F(export_kms_key),        0, 0, NULL, NULL },
	{ "source", "target_account",        KT_ACCOUNT,      "",
	  KR_SOURCE, KN_FOR_ROLE, false, F(target_account),        0, 0, NULL, NULL },
	{ "source", "notify_topic_arn",      KT_ARN,          "",
	  KR_SOURCE, KN_FOR_ROLE, false, F(notify_topic_arn),      0, 0, "sns", NULL },
	{ "source", "include_db",            KT_GLOB_LIST,    "*",
	  KR_SOURCE, KN_OPTIONAL, false, F(include_db),            0, 0, NULL, NULL },
	{ "source", "exclude_db",            KT_GLOB_LIST,    "",
	  KR_SOURCE, KN_OPTIONAL, false, F(exclude_db),            0, 0, NULL, NULL },
	{ "source", "require_tag",           KT_TAG,          "",
	  KR_SOURCE, KN_OPTIONAL, false, F(require_tag),           0, 0, NULL, NULL },
	{ "source", "export_copy_retention", KT_DURATION,     "3d",
	  KR_SOURCE, KN_OPTIONAL, false, F(export_copy_retention_ms), 1, DMAX, NULL, NULL },
	/* S3 export (docs/s3-export.md); check_s3_export() ties them together. */
	{ "source", "export_to_s3_bucket",   KT_S3_BUCKET,    "",
	  KR_SOURCE, KN_OPTIONAL, false, F(export_to_s3_bucket),   0, 0, NULL, NULL },
	{ "source", "export_to_s3_prefix",   KT_S3_PREFIX,    "",
	  KR_SOURCE, KN_OPTIONAL, false, F(export_to_s3_prefix),   0, 0, NULL, NULL },
	{ "source", "export_iam_role_arn",   KT_IAM_ROLE,     "",
	  KR_SOURCE, KN_OPTIONAL, false, F(export_iam_role_arn),   0, 0, NULL, NULL },

	{ "target", "import_kms_key",        KT_KMS_KEY,      "",
	  KR_TARGET, KN_FOR_ROLE, false, F(import_kms_key),        0, 0, "key", NULL },
	{ "target", "allowed_source_accounts", KT_ACCOUNT_LIST, "",
	  KR_TARGET, KN_FOR_ROLE, false, F(allowed_source_accounts), 0, 0, NULL, NULL },
	{ "target", "keep_daily",            KT_INTEGER,      "7",
	  KR_TARGET, KN_OPTIONAL, false, F(keep_daily),            0, 10000, NULL, NULL },
	{ "target", "keep_weekly",           KT_INTEGER,      "4",
	  KR_TARGET, KN_OPTIONAL, false, F(keep_weekly),           0, 10000, NULL, NULL },
	{ "target", "keep_monthly",          KT_INTEGER,      "12",
	  KR_TARGET, KN_OPTIONAL, false, F(keep_monthly),          0, 10000, NULL, NULL },
	{ "target", "keep_yearly",           KT_INTEGER,      "5",
	  KR_TARGET, KN_OPTIONAL, false, F(keep_yearly),           0, 10000, NULL, NULL },
	{ "target", "rpo",                   KT_DURATION,     "26h",
	  KR_TARGET, KN_OPTIONAL, false, F(rpo_ms),                1, DMAX, NULL, NULL },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = { "daemon", "aws", "source", "target" };
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))
#define SEC_NONE (-1)    /* before the first header */
#define SEC_UNKNOWN (-2) /* after a bad header: its keys are skipped */

struct diag {
	unsigned line;
	size_t seq; /* keeps qsort stable */
	char *msg;
};

struct seen {
	unsigned line; /* 0 = not in the file */
	bool bad;      /* value bytes already reported */
	bool valid;    /* parsed and stored */
	char *value;   /* trimmed, comment stripped; wiped on free */
};

struct parse {
	const char *name;
	struct ob_config *cfg;
	struct seen seen[NKEYS];
	struct diag *diags;
	size_t ndiags, capdiags, dropped;
	bool nomem;
};

/* ---- small helpers (ASCII only, no locale) ---- */

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static bool is_alpha(unsigned char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
static bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static bool is_blank(unsigned char c) { return c == ' ' || c == '\t'; }
static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static unsigned char to_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static bool all_of(const char *s, size_t n, bool (*cls)(unsigned char))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!cls((unsigned char)s[i]))
			return false;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank((unsigned char)(*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

static bool span_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static void wipe_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* Quote s[0..n) for a message: at most ECHO_MAX bytes, non-printable bytes,
 * '"' and '\' escaped, "..." when cut. out must hold ECHO_BUF bytes. */
#define ECHO_BUF (ECHO_MAX * 4 + 9)
static const char *quote(char *out, const char *s, size_t n)
{
	size_t i, o = 0;

	out[o++] = '"';
	for (i = 0; i < n && i < ECHO_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	if (n > ECHO_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ---- diagnostics ---- */

static void add_diag(struct parse *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_diag(struct parse *p, unsigned line, const char *fmt, ...)
{
	char msg[768];
	struct diag *d;
	va_list ap;

	if (p->ndiags >= MAX_DIAGS) {
		p->dropped++;
		return;
	}
	if (p->ndiags == p->capdiags) {
		size_t cap = p->capdiags ? p->capdiags * 2 : 16;

		d = realloc(p->diags, cap * sizeof(*d));
		if (d == NULL) {
			p->nomem = true;
			return;
		}
		p->diags = d;
		p->capdiags = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d = &p->diags[p->ndiags];
	d->line = line;
	d->seq = p->ndiags;
	d->msg = strdup(msg);
	if (d->msg == NULL) {
		p->nomem = true;
		return;
	}
	p->ndiags++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Append the sorted diagnostics to out (may be NULL). 0 or -1 (no memory). */
static int flush_diags(struct parse *p, struct ob_buf *out)
{
	size_t i;
	int rc = 0;

	if (p->ndiags > 1)
		qsort(p->diags, p->ndiags, sizeof(*p->diags), diag_cmp);
	for (i = 0; out != NULL && i < p->ndiags; i++) {
		if (p->diags[i].line > 0)
			rc |= ob_buf_printf(out, "%s:%u: %s\n", p->name, p->diags[i].line,
					    p->diags[i].msg);
		else
			rc |= ob_buf_printf(out, "%s: %s\n", p->name, p->diags[i].msg);
	}
	if (out != NULL && p->dropped > 0)
		rc |= ob_buf_printf(out, "%s: %zu more errors not shown\n", p->name, p->dropped);
	return rc < 0 ? -1 : 0;
}

/* ---- value checkers: each returns NULL or what was expected ---- */

static const char *check_bytes(const char *s, size_t n)
{
	size_t i = 0, j, need;
	unsigned cp;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return "contains a control character";
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return "is not valid UTF-8";
		if (n - i - 1 < need)
			return "is not valid UTF-8";
		for (j = 1; j <= need; j++) {
			unsigned char cc = (unsigned char)s[i + j];

			if ((cc & 0xc0) != 0x80)
				return "is not valid UTF-8";
			cp = cp << 6 | (cc & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return "is not valid UTF-8";
		i += need + 1;
	}
	return NULL;
}

/* http:// or https://, a host, an optional port, no user name or password.
 * *ret_https says which; *ret_path points after the authority. */
static const char *check_url(const char *s, bool *ret_https, const char **ret_host,
			     size_t *ret_hostlen, const char **ret_path)
{
	const char *a, *end, *port = NULL, *host_end;
	struct ob_uri_parts u;
	size_t i;

	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return "an http:// or https:// URL";
	if (ob_uri_split(s, &u) < 0)
		return "an http:// or https:// URL with a host";
	*ret_https = u.https;
	a = u.authority;
	end = a + u.authority_len;
	if (u.has_userinfo)
		return "a URL without a user name or password";
	if (*a == '[') {
		host_end = memchr(a, ']', (size_t)(end - a));
		if (host_end == NULL || host_end == a + 1)
			return "an http:// or https:// URL";
		for (i = 1; a + i < host_end; i++)
			if (!is_hex((unsigned char)a[i]) && a[i] != ':' && a[i] != '.')
				return "an http:// or https:// URL";
		host_end++;
		if (host_end < end && *host_end != ':')
			return "an http:// or https:// URL";
	} else {
		host_end = memchr(a, ':', (size_t)(end - a));
		if (host_end == NULL)
			host_end = end;
		for (i = 0; a + i < host_end; i++)
			if (!is_alnum((unsigned char)a[i]) && a[i] != '-' && a[i] != '.')
				return "an http:// or https:// URL";
	}
	if (host_end == a)
		return "an http:// or https:// URL with a host";
	if (host_end < end) {
		long v = 0;

		port = host_end + 1;
		if (port == end || end - port > 5)
			return "an http:// or https:// URL with a valid port";
		for (i = 0; port + i < end; i++) {
			if (!is_digit((unsigned char)port[i]))
				return "an http:// or https:// URL with a valid port";
			v = v * 10 + (port[i] - '0');
		}
		if (v < 1 || v > 65535)
			return "an http:// or https:// URL with a valid port";
	}
	for (i = 0; end[i] != '\0'; i++)
		if ((unsigned char)end[i] <= 0x20 || (unsigned char)end[i] >= 0x7f)
			return "an http:// or https:// URL without blanks or non-ASCII bytes";
	*ret_host = a;
	*ret_hostlen = (size_t)(host_end - a);
	*ret_path = end;
	return NULL;
}

static const char *check_queue_url(const char *s)
{
	static const char want[] = "an SQS queue URL such as https://sqs.<region>.amazonaws.com/<account>/<queue>";
	const char *host, *path, *why;
	size_t hostlen;
	bool https;

	why = check_url(s, &https, &host, &hostlen, &path);
	if (why != NULL)
		return strcmp(why, "an http:// or https:// URL") == 0 ? want : why;
	return ob_awsid_sqs_queue_path_ok(path) ? NULL : want;
}

/* Split a comma list, check each item, and build "a,b" in *ret. */
static const char *check_list(const char *s, bool (*item_ok)(const char *, size_t),
			      const char *want, char **ret)
{
	struct ob_buf out = OB_BUF_INIT;
	const char *item, *comma;
	size_t n;

	for (item = s;; item = comma + 1) {
		comma = strchr(item, ',');
		n = comma ? (size_t)(comma - item) : strlen(item);
		trim(&item, &n);
		if (n == 0 || !item_ok(item, n)) {
			ob_buf_clear(&out);
			return want;
		}
		if ((out.len > 0 && ob_buf_putc(&out, ',') < 0) || ob_buf_append(&out, item, n) < 0) {
			ob_buf_clear(&out);
			return NULL; /* *ret stays NULL: the caller sees no memory */
		}
		if (comma == NULL)
			break;
	}
	*ret = ob_buf_steal(&out);
	return NULL;
}

/* key=value; the first '=' separates them. */
static const char *check_tag(const char *s)
{
	const char *eq = strchr(s, '=');

	if (eq == NULL || !ob_awsid_tag_key_ok(s, (size_t)(eq - s)) ||
	    !ob_awsid_tag_value_ok(eq + 1, strlen(eq + 1)))
		return "a tag as key=value, e.g. backup=offsite";
	return NULL;
}

static bool secret_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

static bool parse_long(const char *s, long *ret)
{
	bool neg = *s == '-';
	unsigned long v = 0;

	if (neg)
		s++;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!is_digit((unsigned char)*s) || v > (ULONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > (unsigned long)LONG_MAX)
		return false;
	*ret = neg ? -(long)v : (long)v;
	return true;
}

/* Parse the duration in s; *ret_range is set when it is well-formed but too
 * large for int64 milliseconds. */
static int parse_duration(const char *s, int64_t *ret_ms, bool *ret_range)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", MS_PER_S }, { "m", 60 * MS_PER_S },
		{ "h", 3600 * MS_PER_S }, { "d", MS_PER_DAY },
	};
	int64_t v = 0;
	size_t i;

	*ret_range = false;
	if (strcmp(s, "0") == 0) {
		*ret_ms = 0;
		return 0;
	}
	if (!is_digit((unsigned char)*s))
		return -1;
	for (; is_digit((unsigned char)*s); s++) {
		if (v > (INT64_MAX - (*s - '0')) / 10)
			*ret_range = true;
		else
			v = v * 10 + (*s - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].unit) != 0)
			continue;
		if (*ret_range || v > INT64_MAX / units[i].ms) {
			*ret_range = true;
			return -1;
		}
		*ret_ms = v * units[i].ms;
		return 0;
	}
	*ret_range = false;
	return -1;
}

int ob_config_parse_duration(const char *s, int64_t *ret_ms)
{
	bool range;

	if (s == NULL || ret_ms == NULL)
		return -1;
	return parse_duration(s, ret_ms, &range);
}

/* ---- applying one value ---- */

static void *field(struct ob_config *cfg, const struct key_def *k)
{
	return (char *)cfg + k->offset;
}

static bool is_string_type(enum key_type t)
{
	return t != KT_ENUM && t != KT_DURATION && t != KT_INTEGER;
}

/* CloudWatch: 1-255 ASCII characters without control characters, and not
 * AWS's own "AWS/..." namespaces (PutMetricData refuses those). */
static const char *check_namespace(const char *v)
{
	size_t i, n = strlen(v);

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			break;
	if (n == 0 || n > 255 || i < n || v[0] == ' ' || v[n - 1] == ' ')
		return "a CloudWatch namespace: 1 to 255 printable ASCII characters";
	if (strncmp(v, "AWS/", 4) == 0)
		return "a namespace of your own: AWS/ is reserved for AWS services";
	return NULL;
}

/* S3 general purpose bucket names: 3-63 bytes of lowercase letters, digits,
 * dots and hyphens, a letter or digit at both ends, no "..", and not
 * shaped like an IPv4 address (S3 refuses those). The "xn--" / "sthree-"
 * prefixes and "-s3alias" / "--ol-s3" suffixes AWS reserves are refused
 * too: CreateBucket would never have made such a bucket. */
static const char *check_s3_bucket(const char *v)
{
	static const char *const bad_prefix[] = { "xn--", "sthree-", "amzn-s3-demo-", NULL };
	static const char *const bad_suffix[] = { "-s3alias", "--ol-s3", "--x-s3", NULL };
	size_t i, n = strlen(v);
	int dots = 0, digits_only = 1;

	if (n < 3 || n > 63)
		return "an S3 bucket name: 3 to 63 characters";
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return "an S3 bucket name: lowercase letters, digits, '.' and '-' only";
		if (c == '.')
			dots++;
		else if (!(c >= '0' && c <= '9'))
			digits_only = 0;
	}
	if (!isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1]))
		return "an S3 bucket name that starts and ends with a letter or digit";
	if (strstr(v, "..") != NULL)
		return "an S3 bucket name without two adjacent dots";
	if (dots == 3 && digits_only)
		return "an S3 bucket name, not an IP address";
	for (i = 0; bad_prefix[i] != NULL; i++)
		if (strncmp(v, bad_prefix[i], strlen(bad_prefix[i])) == 0)
			return "an S3 bucket name without a prefix AWS reserves (xn--, sthree-, amzn-s3-demo-)";
	for (i = 0; bad_suffix[i] != NULL; i++) {
		size_t k = strlen(bad_suffix[i]);

		if (n >= k && strcmp(v + n - k, bad_suffix[i]) == 0)
			return "an S3 bucket name without a suffix AWS reserves (-s3alias, --ol-s3, --x-s3)";
	}
	return NULL;
}

/* The export writes <prefix>/<task id>/<database>/<table>/... and S3 keys
 * end at 1024 bytes, so the prefix gets at most half of that. Printable
 * ASCII only: a control byte or a stray UTF-8 sequence in a key is a
 * typo, never intended. */
#define S3_PREFIX_MAX 512

static bool prefix_char(unsigned char c) { return c >= 0x20 && c < 0x7f; }

static const char *check_s3_prefix(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > S3_PREFIX_MAX || !all_of(v, n, prefix_char))
		return "an S3 key prefix: 1 to 512 printable ASCII characters";
	if (v[0] == '/')
		return "an S3 key prefix without a leading '/'";
	if (strstr(v, "//") != NULL)
		return "an S3 key prefix without empty path segments (\"//\")";
	return NULL;
}

/* IAM role names: 1-64 of [A-Za-z0-9+=,.@_-], after an optional path of
 * the same characters and '/' (at most 512 bytes). */
static bool role_char(unsigned char c)
{
	return isalnum(c) || strchr("+=,.@_-", c) != NULL;
}

static const char *check_iam_role(const char *v)
{
	static const char want[] = "an IAM role ARN such as arn:aws:iam::111111111111:role/rds-s3-export";
	const char *p, *res, *name, *end;
	size_t i;

	/* arn:<partition>:iam::<account>:role/...: IAM is global, so the
	 * region field is empty (ob_awsid_arn_split() wants one). */
	if (strlen(v) > 2048 || strncmp(v, "arn:", 4) != 0)
		return want;
	p = strchr(v + 4, ':');
	if (p == NULL || p - (v + 4) < 3 || strncmp(v + 4, "aws", 3) != 0)
		return want;
	for (i = 4; v + i < p; i++)
		if (!(islower((unsigned char)v[i]) || v[i] == '-'))
			return want;
	if (strncmp(p, ":iam::", 6) != 0 || !ob_awsid_account_ok(p + 6, 12) ||
	    strncmp(p + 18, ":role/", 6) != 0)
		return want;
	res = p + 24;
	end = v + strlen(v);
	for (name = end; name > res && name[-1] != '/'; name--)
		;
	if (name == end || end - name > 64 || name - res > 511 || strstr(res, "//") != NULL ||
	    res[0] == '/')
		return want;
	for (p = res; p < end; p++)
		if (*p != '/' && !role_char((unsigned char)*p))
			return want;
	return NULL;
}

/* Check v for k and store it. On a bad value report it at line (0 = the
 * table's own default, which the tests keep valid) and return -1. */
static int store(struct parse *p, const struct key_def *k, const char *v, unsigned line)
{
	char want[192], q[ECHO_BUF];
	const char *why = NULL, *host, *path;
	struct ob_awsid_arn arn;
	char *norm = NULL, **sp;
	size_t hostlen, i;
	int64_t ms;
	long lv;
	bool https, range;

	switch (k->type) {
	case KT_ENUM:
		for (i = 0; k->names[i].name != NULL; i++) {
			if (strcmp(v, k->names[i].name) == 0) {
				memcpy(field(p->cfg, k), &k->names[i].value, sizeof(int));
				return 0;
			}
		}
		snprintf(want, sizeof(want), "one of");
		for (i = 0; k->names[i].name != NULL; i++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s %s",
				 i > 0 ? "," : "", k->names[i].name);
		why = want;
		break;
	case KT_DURATION:
		if (parse_duration(v, &ms, &range) < 0) {
			why = range ? "a duration of at most 106751991167d"
				    : "a duration with a unit such as 30s, 5m, 26h, 7d";
		} else if (ms < k->min) { /* min is 0 or 1 ms in the table */
			why = "a duration greater than 0";
		} else {
			memcpy(field(p->cfg, k), &ms, sizeof(ms));
			return 0;
		}
		break;
	case KT_INTEGER:
		if (parse_long(v, &lv) && lv >= k->min && lv <= k->max) {
			memcpy(field(p->cfg, k), &lv, sizeof(lv));
			return 0;
		}
		snprintf(want, sizeof(want), "an integer from %lld to %lld", (long long)k->min,
			 (long long)k->max);
		why = want;
		break;
	case KT_PATH:
		if (v[0] != '/')
			why = "an absolute path";
		break;
	case KT_REGION:
		if (!ob_awsid_region_ok(v, strlen(v)))
			why = "an AWS region such as eu-central-1";
		break;
	case KT_URL:
		/* endpoint_url and imds_url are bases that paths are appended
		 * to: a query or fragment would be sent unsigned or end up in
		 * the Host header. */
		why = check_url(v, &https, &host, &hostlen, &path);
		if (why == NULL && strpbrk(path, "?#") != NULL)
			why = "an http:// or https:// URL without a query or fragment";
		break;
	case KT_QUEUE_URL:
		why = check_queue_url(v);
		break;
	case KT_ACCESS_KEY_ID:
		if (!ob_awsid_access_key_id_ok(v, strlen(v)))
			why = "16 to 128 letters and digits";
		break;
	case KT_SECRET:
		if (strlen(v) > 128 || !all_of(v, strlen(v), secret_char))
			why = "at most 128 printable characters without blanks";
		break;
	case KT_ACCOUNT:
		if (!ob_awsid_account_ok(v, strlen(v)))
			why = "a 12-digit AWS account id";
		break;
	case KT_ACCOUNT_LIST:
		why = check_list(v, ob_awsid_account_ok, "a comma-separated list of 12-digit AWS account ids",
				 &norm);
		if (why == NULL && norm == NULL)
			goto nomem;
		break;
	case KT_GLOB_LIST:
		why = check_list(v, ob_awsid_glob_ok,
				 "a comma-separated list of globs on DB identifiers (letters, digits, -, *, ?, [...])",
				 &norm);
		if (why == NULL && norm == NULL)
			goto nomem;
		break;
	case KT_ARN:
		if (ob_awsid_arn_split(v, &arn) < 0 || !span_eq(arn.service, arn.service_len, k->arg) ||
		    (strcmp(k->arg, "sns") == 0 && !ob_awsid_sns_topic_ok(arn.resource, arn.resource_len))) {
			snprintf(want, sizeof(want), "an %s ARN such as arn:aws:%s:<region>:<account>:<name>",
				 k->arg, k->arg);
			why = want;
		}
		break;
	case KT_KMS_KEY:
		if (ob_awsid_kms_key_aws_managed(v))
			why = "a customer managed KMS key: AWS managed keys (alias/aws/...) cannot be shared";
		else if (!ob_awsid_kms_key_ok(v))
			why = "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), alias ARN, key id or alias/<name>";
		/* arg "key": the key itself; the vault compares each copy's
		 * KmsKeyId (always the key ARN) with it, an alias never matches. */
		else if (k->arg != NULL && strstr(v, "alias/") != NULL)
			why = "the key itself (a key ARN or key id), not an alias: each vault copy's KmsKeyId is checked against it";
		break;
	case KT_TAG:
		why = check_tag(v);
		break;
	case KT_FILE:
		if (v[0] != '/' || v[strlen(v) - 1] == '/' || strlen(v) > 1024)
			why = "an absolute file path (at most 1024 bytes)";
		break;
	case KT_NAMESPACE:
		why = check_namespace(v);
		break;
	case KT_S3_BUCKET:
		why = check_s3_bucket(v);
		break;
	case KT_S3_PREFIX:
		why = check_s3_prefix(v);
		break;
	case KT_IAM_ROLE:
		why = check_iam_role(v);
		break;
	}
	if (why != NULL) {
		free(norm);
		if (line == 0)
			add_diag(p, 0, "%s: internal error: bad default", k->name);
		else if (k->secret || ((k->type == KT_URL || k->type == KT_QUEUE_URL) &&
					strchr(v, '@') != NULL)) /* it may hold a password */
			add_diag(p, line, "%s: expected %s", k->name, why);
		else
			add_diag(p, line, "%s: expected %s, got %s", k->name, why,
				 quote(q, v, strlen(v)));
		return -1;
	}
	sp = field(p->cfg, k);
	*sp = norm != NULL ? norm : strdup(v);
	if (*sp == NULL)
		goto nomem;
	return 0;
nomem:
	p->nomem = true;
	return -1;
}

/* ---- the line pass ---- */

static int find_key(int section, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, sections[section]) == 0 && span_eq(name, n, keys[i].name))
			return (int)i;
	return -1;
}

static int find_section(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < NSECTIONS; i++)
		if (span_eq(name, n, sections[i]))
			return (int)i;
	return SEC_UNKNOWN;
}

/* Levenshtein distance ignoring ASCII case; 99 when a or b is long. */
static size_t distance(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b), i, j, row[65], prev, tmp;

	if (n > 64 || m > 64)
		return 99;
	for (j = 0; j <= m; j++)
		row[j] = j;
	for (i = 1; i <= n; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= m; j++) {
			tmp = row[j];
			row[j] = prev + (to_lower((unsigned char)a[i - 1]) != to_lower((unsigned char)b[j - 1]));
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[m];
}

/* A name from the file as ' "name"' for a message, or "" when it does not
 * look like one of ours (lower case, digits, _ - .): a secret that slipped
 * into a key's or section's place (mixed case, '/', '+') is never echoed. */
static const char *name_echo(char out[ECHO_BUF], const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_lower((unsigned char)s[i]) && !is_digit((unsigned char)s[i]) &&
		    strchr("_-.", s[i]) == NULL)
			return "";
	if (n == 0 || n > 48)
		return "";
	out[0] = ' ';
	quote(out + 1, s, n);
	return out;
}

static void unknown_key(struct parse *p, unsigned line, int section, const char *key, size_t n)
{
	char q[ECHO_BUF];
	size_t i, d, best_d = 3;
	const struct key_def *best = NULL;

	for (i = 0; i < NKEYS; i++) {
		if (span_eq(key, n, keys[i].name)) {
			if (section == SEC_NONE)
				add_diag(p, line, "%s must be under [%s]", keys[i].name, keys[i].section);
			else
				add_diag(p, line, "%s belongs in [%s], not [%s]", keys[i].name,
					 keys[i].section, sections[section]);
			return;
		}
	}
	if (section == SEC_NONE) {
		add_diag(p, line, "key%s outside of a section; start with [daemon]",
			 name_echo(q, key, n));
		return;
	}
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, sections[section]) != 0)
			continue;
		d = distance(key, n, keys[i].name);
		if (d < best_d && d < n) {
			best_d = d;
			best = &keys[i];
		}
	}
	if (best != NULL)
		add_diag(p, line, "unknown key%s in [%s]; did you mean %s?", name_echo(q, key, n),
			 sections[section], best->name);
	else
		add_diag(p, line, "unknown key%s in [%s]", name_echo(q, key, n), sections[section]);
}

static void section_line(struct parse *p, unsigned line, const char *s, size_t n, int *section)
{
	char q[ECHO_BUF];
	const char *rb = memchr(s, ']', n), *name = s + 1, *rest;
	size_t namelen, restlen;

	if (rb == NULL) {
		namelen = n - 1;
		trim(&name, &namelen);
		add_diag(p, line, "section header without closing ']'");
		*section = find_section(name, namelen); /* [daemon without ]: still daemon */
		return;
	}
	namelen = (size_t)(rb - name);
	trim(&name, &namelen);
	rest = rb + 1;
	restlen = n - (size_t)(rest - s);
	trim(&rest, &restlen);
	*section = find_section(name, namelen);
	if (*section == SEC_UNKNOWN)
		add_diag(p, line, "unknown section%s; expected [daemon], [aws], [source] or [target]",
			 name_echo(q, name, namelen));
	else if (restlen > 0 && rest[0] != '#')
		add_diag(p, line, "unexpected text after ']'");
}

static void parse_line(struct parse *p, unsigned line, const char *s, size_t n, int *section)
{
	const char *eq, *key, *val;
	size_t klen, vlen, i;
	struct seen *sn;
	const char *why;
	int k;

	if (n > MAX_LINE) {
		add_diag(p, line, "line is longer than %d bytes", MAX_LINE);
		return;
	}
	if (memchr(s, '\0', n) != NULL) {
		add_diag(p, line, "line contains a NUL byte");
		return;
	}
	trim(&s, &n);
	if (n == 0 || s[0] == '#')
		return;
	if (s[0] == '[') {
		section_line(p, line, s, n, section);
		return;
	}
	/* The line is not echoed: it may be a secret pasted on its own. */
	eq = memchr(s, '=', n);
	if (eq == NULL) {
		add_diag(p, line, "expected \"key = value\", \"[section]\" or a # comment");
		return;
	}
	key = s;
	klen = (size_t)(eq - s);
	trim(&key, &klen);
	val = eq + 1;
	vlen = n - (size_t)(val - s);
	trim(&val, &vlen);
	/* A '#' that starts the value or follows a blank starts a comment. */
	for (i = 0; i < vlen; i++) {
		if (val[i] == '#' && (i == 0 || is_blank((unsigned char)val[i - 1]))) {
			vlen = i;
			break;
		}
	}
	trim(&val, &vlen);
	if (klen == 0) {
		add_diag(p, line, "missing key name before '='");
		return;
	}
	if (*section == SEC_UNKNOWN)
		return;
	k = *section == SEC_NONE ? -1 : find_key(*section, key, klen);
	if (k < 0) {
		unknown_key(p, line, *section, key, klen);
		return;
	}
	sn = &p->seen[k];
	if (sn->line != 0) {
		add_diag(p, line, "duplicate key %s (first set on line %u)", keys[k].name, sn->line);
		return;
	}
	sn->line = line;
	why = check_bytes(val, vlen);
	if (why != NULL) {
		add_diag(p, line, "%s: value %s", keys[k].name, why);
		sn->bad = true;
		return;
	}
	sn->value = strndup(val, vlen);
	if (sn->value == NULL)
		p->nomem = true;
}

static void parse_lines(struct parse *p, const char *text, size_t len)
{
	int section = SEC_NONE;
	unsigned line = 0;
	size_t pos = 0, n;
	const char *s, *nl;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* a byte order mark some editors add */
	while (pos < len) {
		s = text + pos;
		nl = memchr(s, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL);
		line++;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		parse_line(p, line, s, n, &section);
	}
}

/* ---- applying the table and the rules between keys ---- */

static size_t key_of(size_t offset)
{
	size_t i;

	for (i = 0; i < NKEYS && keys[i].offset != offset; i++)
		;
	return i;
}

static bool role_matches(enum key_role kr, enum ob_role role)
{
	return kr == KR_BOTH || (kr == KR_SOURCE) == (role == OB_ROLE_SOURCE);
}

static void apply_key(struct parse *p, size_t i, bool role_known)
{
	const struct key_def *k = &keys[i];
	struct seen *sn = &p->seen[i];
	enum ob_role role = p->cfg->role;
	bool in_file = sn->line != 0 && sn->value != NULL && sn->value[0] != '\0';
	bool needed = k->need == KN_ALWAYS ||
		      (k->need == KN_FOR_ROLE && role_known && role_matches(k->role, role));

	if (sn->bad)
		return;
	if (in_file && role_known && !role_matches(k->role, role)) {
		add_diag(p, sn->line, "%s: [%s] keys are not allowed with role = %s", k->name,
			 k->section, ob_role_name(role));
		return;
	}
	if (in_file) {
		sn->valid = store(p, k, sn->value, sn->line) == 0;
		return;
	}
	if (needed && k->need == KN_FOR_ROLE)
		add_diag(p, sn->line, "%s is required in [%s] with role = %s", k->name, k->section,
			 ob_role_name(role));
	else if (needed)
		add_diag(p, sn->line, "%s is required in [%s]", k->name, k->section);
	else if (k->def[0] != '\0')
		sn->valid = store(p, k, k->def, 0) == 0;
}

static const char *str_of(struct parse *p, size_t offset)
{
	const char *const *sp = field(p->cfg, &keys[key_of(offset)]);

	return *sp != NULL ? *sp : "";
}

static void check_credentials(struct parse *p)
{
	size_t ic = key_of(F(credentials)), i;
	const size_t pair[2] = { key_of(F(access_key_id)), key_of(F(secret_access_key)) };

	if (!p->seen[ic].valid)
		return;
	for (i = 0; i < 2; i++) {
		const struct seen *sn = &p->seen[pair[i]];
		bool set = sn->line != 0 && (sn->bad || (sn->value != NULL && sn->value[0] != '\0'));

		if (p->cfg->credentials == OB_CREDS_STATIC && !set)
			add_diag(p, p->seen[ic].line, "credentials = static requires %s in [aws]",
				 keys[pair[i]].name);
		else if (p->cfg->credentials != OB_CREDS_STATIC && set)
			add_diag(p, sn->line, "%s is only allowed with credentials = static",
				 keys[pair[i]].name);
	}
}

static void check_queue_url_rules(struct parse *p)
{
	size_t iq = key_of(F(queue_url)), ir = key_of(F(region));
	const char *url = str_of(p, F(queue_url)), *host, *path, *region;
	size_t hostlen, rlen;
	bool https, endpoint = str_of(p, F(endpoint_url))[0] != '\0';

	if (!p->seen[iq].valid || check_url(url, &https, &host, &hostlen, &path) != NULL)
		return;
	if (!https && !endpoint) {
		add_diag(p, p->seen[iq].line,
			 "queue_url: https:// is required unless endpoint_url is set");
		return;
	}
	/* sqs.<region>.amazonaws.com: the queue must be in the region we sign for */
	if (!endpoint && p->seen[ir].valid &&
	    ob_awsid_sqs_host_region(host, hostlen, &region, &rlen) &&
	    !span_eq(region, rlen, p->cfg->region))
		add_diag(p, p->seen[iq].line, "queue_url: the queue is not in region %s",
			 p->cfg->region);
}

/* The alert topic must be in the region the daemon signs for: SNS refuses
 * a Publish to another region's topic, and every alert would only end in
 * a warning. */
static void check_alert_topic_region(struct parse *p)
{
	size_t it = key_of(F(alert_topic_arn)), ir = key_of(F(region));
	const char *arn = str_of(p, F(alert_topic_arn));
	struct ob_awsid_arn a;

	if (!p->seen[it].valid || !p->seen[ir].valid || arn[0] == '\0' ||
	    ob_awsid_arn_split(arn, &a) < 0 || span_eq(a.region, a.region_len, p->cfg->region))
		return;
	add_diag(p, p->seen[it].line, "alert_topic_arn: the topic is in region %.*s, but "
		 "[daemon] region is %s: the alert topic must be in the daemon's region",
		 (int)a.region_len, a.region, p->cfg->region);
}

static void check_retention(struct parse *p)
{
	const struct ob_config *c = p->cfg;
	const size_t keep[4] = { key_of(F(keep_daily)), key_of(F(keep_weekly)),
				 key_of(F(keep_monthly)), key_of(F(keep_yearly)) };
	size_t i;

	for (i = 0; i < 4; i++)
		if (!p->seen[keep[i]].valid)
			return;
	if (c->keep_daily == 0 && c->keep_weekly == 0 && c->keep_monthly == 0 && c->keep_yearly == 0)
		add_diag(p, 0, "keep_daily, keep_weekly, keep_monthly and keep_yearly are all 0; "
			 "at least one must keep copies");
}

/* S3 export: the bucket needs the role RDS writes with, and the prefix and
 * role mean nothing without a bucket. A key set to a bad value counts as
 * set, so the operator hears about the value, not a missing key too. */
static void check_s3_export(struct parse *p)
{
	const struct seen *b = &p->seen[key_of(F(export_to_s3_bucket))];
	const struct seen *x = &p->seen[key_of(F(export_to_s3_prefix))];
	const struct seen *r = &p->seen[key_of(F(export_iam_role_arn))];
	bool has_b = b->line != 0 && (b->bad || (b->value != NULL && b->value[0] != '\0'));
	bool has_x = x->line != 0 && (x->bad || (x->value != NULL && x->value[0] != '\0'));
	bool has_r = r->line != 0 && (r->bad || (r->value != NULL && r->value[0] != '\0'));

	if (has_b && !has_r)
		add_diag(p, b->line, "export_to_s3_bucket requires export_iam_role_arn in [source]");
	if (!has_b && has_x)
		add_diag(p, x->line, "export_to_s3_prefix requires export_to_s3_bucket in [source]");
	if (!has_b && has_r)
		add_diag(p, r->line, "export_iam_role_arn requires export_to_s3_bucket in [source]");
}

static void check_mode(struct parse *p, unsigned mode)
{
	const struct seen *sn = &p->seen[key_of(F(secret_access_key))];
	bool secret = sn->line != 0 && (sn->bad || (sn->value != NULL && sn->value[0] != '\0'));

	mode &= 07777;
	if (secret && (mode & 077) != 0)
		add_diag(p, 0, "holds secret_access_key but group or others have access (mode %04o); "
			 "chmod 0600 and make the daemon's user its owner", mode);
	else if ((mode & 002) != 0)
		add_diag(p, 0, "is writable by others (mode %04o); chmod o-w", mode);
}

static void apply_all(struct parse *p, unsigned mode)
{
	size_t ir = key_of(F(role)), i;
	bool role_known;
	char **sp;

	apply_key(p, ir, false);
	role_known = p->seen[ir].valid;
	for (i = 0; i < NKEYS; i++)
		if (i != ir)
			apply_key(p, i, role_known);
	check_credentials(p);
	check_queue_url_rules(p);
	check_alert_topic_region(p);
	if (role_known && p->cfg->role == OB_ROLE_SOURCE)
		check_s3_export(p);
	if (role_known && p->cfg->role == OB_ROLE_TARGET)
		check_retention(p);
	check_mode(p, mode);
	for (i = 0; i < NKEYS; i++) {
		if (!is_string_type(keys[i].type))
			continue;
		sp = field(p->cfg, &keys[i]);
		if (*sp == NULL && (*sp = strdup("")) == NULL)
			p->nomem = true;
	}
}

/* ---- public ---- */

void ob_config_forget_secret(struct ob_config *cfg)
{
	if (cfg == NULL || cfg->secret_access_key == NULL)
		return;
	/* Wipe in place and keep the (now empty) string: the field is never
	 * NULL. */
	OPENSSL_cleanse(cfg->secret_access_key, strlen(cfg->secret_access_key));
	cfg->secret_access_key[0] = '\0';
}

void ob_config_free(struct ob_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NKEYS; i++)
		if (is_string_type(keys[i].type))
			wipe_free(*(char **)field(cfg, &keys[i]));
	free(cfg->path);
	free(cfg);
}

int ob_config_parse(const char *name, const char *text, size_t len, unsigned mode,
		    struct ob_config **ret, struct ob_buf *diag, struct ob_error *err)
{
	struct parse p;
	size_t i, nerr;
	int rc = -1;

	*ret = NULL;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (p.cfg == NULL || (p.cfg->path = strdup(name)) == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory reading %s", name);
		goto out;
	}
	if (len > MAX_FILE_SIZE) {
		add_diag(&p, 0, "is larger than 1 MiB (%zu bytes)", len);
	} else {
		parse_lines(&p, text, len);
		apply_all(&p, mode); /* even after syntax errors: report everything */
	}
	if (p.nomem || flush_diags(&p, diag) < 0) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory reading %s", name);
		goto out;
	}
	nerr = p.ndiags + p.dropped;
	if (nerr > 0) {
		ob_error_set(err, OB_ERR_CONFIG, "%s: %zu error%s in the configuration", name, nerr,
			     nerr == 1 ? "" : "s");
		goto out;
	}
	*ret = p.cfg;
	p.cfg = NULL;
	rc = 0;
out:
	for (i = 0; i < NKEYS; i++)
		wipe_free(p.seen[i].value);
	for (i = 0; i < p.ndiags; i++)
		free(p.diags[i].msg);
	free(p.diags);
	ob_config_free(p.cfg);
	return rc;
}

static void file_diag(struct ob_buf *diag, const char *path, const char *msg, int errnum)
{
	if (diag == NULL)
		return;
	if (errnum != 0)
		ob_buf_printf(diag, "%s: %s: %s\n", path, msg, strerror(errnum));
	else
		ob_buf_printf(diag, "%s: %s\n", path, msg);
}

int ob_config_load(const char *path, struct ob_config **ret, struct ob_buf *diag,
		   struct ob_error *err)
{
	struct stat st;
	char *text = NULL;
	size_t size = 0, len = 0;
	ssize_t n;
	int fd, e, rc = -1;

	*ret = NULL;
	/* O_NONBLOCK: opening a FIFO must not hang --check-config. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		file_diag(diag, path, "cannot open", e);
		ob_error_errno(err, OB_ERR_IO, e, "cannot open %s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		file_diag(diag, path, "cannot stat", e);
		ob_error_errno(err, OB_ERR_IO, e, "cannot stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		file_diag(diag, path, "is not a regular file", 0);
		ob_error_set(err, OB_ERR_CONFIG, "%s is not a regular file", path);
		goto out;
	}
	if (st.st_size > MAX_FILE_SIZE) {
		if (diag != NULL)
			ob_buf_printf(diag, "%s: is larger than 1 MiB (%lld bytes)\n", path,
				      (long long)st.st_size);
		ob_error_set(err, OB_ERR_CONFIG, "%s is larger than 1 MiB", path);
		goto out;
	}
	/* One allocation, one byte more than fstat said, so that nothing holding
	 * the secret is ever realloc'ed away unwiped and growth is noticed. */
	size = (size_t)st.st_size + 1;
	text = malloc(size);
	if (text == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory reading %s", path);
		goto out;
	}
	while (len < size) {
		n = read(fd, text + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			file_diag(diag, path, "cannot read", e);
			ob_error_errno(err, OB_ERR_IO, e, "cannot read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == size) {
		file_diag(diag, path, "changed while it was being read; try again", 0);
		ob_error_set(err, OB_ERR_IO, "%s changed while it was being read", path);
		goto out;
	}
	rc = ob_config_parse(path, text, len, (unsigned)st.st_mode & 07777, ret, diag, err);
out:
	if (text != NULL) {
		OPENSSL_cleanse(text, size);
		free(text);
	}
	close(fd);
	return rc;
}

const char *ob_role_name(enum ob_role role)
{
	switch (role) {
	case OB_ROLE_SOURCE: return "source";
	case OB_ROLE_TARGET: return "target";
	}
	return "unknown";
}

bool ob_config_account_listed(const char *list, const char *account)
{
	size_t n = strlen(account);
	const char *p = list ? list : "";

	if (n == 0)
		return false;
	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == n && memcmp(p, account, n) == 0)
			return true;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}
