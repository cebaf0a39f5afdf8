/*
 * creds.c - AWS credential providers: env, static and instance (IMDSv2).
 *
 * The provider owns every copy of a secret it hands out (secret key, session
 * token, IMDS session token) and wipes it with OPENSSL_cleanse() whenever it
 * is replaced, dropped or freed; response bodies that carried a secret are
 * wiped too. Error messages name what is missing or wrong (a variable, a
 * field, an HTTP status) and never quote a credential value: jansson's own
 * error text is not used because it quotes the input near the fault.
 *
 * Instance credentials are refreshed ahead of Expiration. A failed refresh is
 * not fatal while the cached credentials are still valid: the daemon keeps
 * signing with them and tries IMDS again after a short pause, so an IMDS
 * hiccup costs at most one slow call every IMDS_RETRY_MS, not one per
 * request.
 */
#include "ob/creds.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "ob/buf.h"

#define DEFAULT_IMDS_URL    "http://169.254.169.254"
#define IMDS_TOKEN_PATH     "/latest/api/token"
#define IMDS_ROLES_PATH     "/latest/meta-data/iam/security-credentials/"
#define IMDS_TOKEN_HEADER   "X-aws-ec2-metadata-token"
#define IMDS_TTL_HEADER     "X-aws-ec2-metadata-token-ttl-seconds"
#define IMDS_TOKEN_TTL_S    21600
#define IMDS_TOKEN_TTL_STR  "21600"
/* Fetch a new session token this long before IMDS would reject the old one,
 * so a request never races the token's expiry. */
#define IMDS_TOKEN_SLACK_MS (60 * 1000)
/* IMDS is a link-local service: an answer takes milliseconds or never
 * comes (no IMDS, hop limit too low in a container). */
#define IMDS_TIMEOUT_MS     2000
/* Nothing IMDS sends us is anywhere near this; a bigger body is refused
 * before it is parsed. */
#define IMDS_BODY_MAX       (64 * 1024)
#define IMDS_TOKEN_MAX      4096
/* Pause between refresh attempts while the cached credentials are still
 * valid but inside the refresh margin. */
#define IMDS_RETRY_MS       (30 * 1000)

/* IMDS publishes new credentials at least 5 minutes before the old ones
 * expire, so an earlier refresh could only fetch the same set again. The
 * cap keeps the arithmetic in range; a margin longer than the credentials
 * live just means "refresh on every pause". */
#define MIN_REFRESH_MARGIN_MS (5 * 60 * 1000LL)
#define MAX_REFRESH_MARGIN_MS (24 * 60 * 60 * 1000LL)

/* IAM limits a role name to 64 characters of [A-Za-z0-9+=,.@_-]. */
#define ROLE_NAME_MAX       64

/* Length limits for credential strings; generous, but bounded so a broken
 * source cannot make us sign with megabytes of header. */
#define KEY_ID_MAX          128
#define SECRET_MAX          256
#define SESSION_TOKEN_MAX   16384

/* One set of credentials; every string malloc'ed and owned. */
struct cred_set {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;     /* NULL when there is none */
	int64_t expiration_ms;   /* 0 = does not expire */
};

struct ob_creds_provider {
	enum ob_creds_source source;
	const struct ob_clock *clock;
	struct cred_set cur;     /* access_key_id == NULL: none cached */

	/* instance only */
	struct ob_http_ops http;
	char *imds_url;          /* without trailing '/' */
	int64_t refresh_margin_ms;
	char *imds_token;        /* IMDSv2 session token; a secret */
	int64_t imds_token_renew_mono; /* fetch a new token at/after this */
	int64_t next_attempt_mono;     /* earliest early refresh after one */
};

/* Wipe and free a string we own; *s becomes NULL. */
static void wipe_str(char **s)
{
	if (*s == NULL)
		return;
	OPENSSL_cleanse(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

static void cred_set_wipe(struct cred_set *c)
{
	wipe_str(&c->access_key_id);
	wipe_str(&c->secret_access_key);
	wipe_str(&c->session_token);
	c->expiration_ms = 0;
}

/* Drop the current credentials and take over next's strings. */
static void cred_set_replace(struct cred_set *cur, struct cred_set *next)
{
	cred_set_wipe(cur);
	*cur = *next;
	memset(next, 0, sizeof(*next));
}

/* A credential string goes into a signature and an HTTP header, so it must
 * be non-empty, bounded and printable ASCII without spaces (no CR/LF header
 * injection). Returns a reason, or NULL when s is acceptable. */
static const char *cred_value_problem(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0)
		return "is empty";
	if (len > max)
		return "is too long";
	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return "holds characters not allowed in a credential";
	return NULL;
}

static char *dup_or_nomem(const char *s, struct ob_error *err)
{
	char *d = strdup(s);

	if (d == NULL)
		ob_error_set(err, OB_ERR_NOMEM, "out of memory copying credentials");
	return d;
}

/* ---- env ---------------------------------------------------------------- */

/* Read one variable into *ret (a copy), or fail naming the variable. An
 * optional variable that is unset or empty yields *ret == NULL. */
static int env_read(const char *name, size_t max, bool optional, char **ret,
		    struct ob_error *err)
{
	const char *v = getenv(name);
	const char *why;

	*ret = NULL;
	if (v == NULL || v[0] == '\0') {
		if (optional)
			return 0;
		return ob_error_set(err, OB_ERR_CREDS, "environment variable %s is %s",
				    name, v == NULL ? "not set" : "empty");
	}
	why = cred_value_problem(v, strlen(v), max);
	if (why != NULL)
		return ob_error_set(err, OB_ERR_CREDS, "environment variable %s %s",
				    name, why);
	*ret = dup_or_nomem(v, err);
	return *ret == NULL ? -1 : 0;
}

/* The environment is read on every get: three getenv() calls and copies,
 * small next to a signature, and it keeps this source free of cached
 * state. Copies keep the handed-out pointers stable until the next get. */
static int env_load(struct ob_creds_provider *p, struct ob_error *err)
{
	struct cred_set next = { 0 };
	int rc = -1;

	if (env_read("AWS_ACCESS_KEY_ID", KEY_ID_MAX, false, &next.access_key_id, err) < 0 ||
	    env_read("AWS_SECRET_ACCESS_KEY", SECRET_MAX, false, &next.secret_access_key,
		     err) < 0 ||
	    env_read("AWS_SESSION_TOKEN", SESSION_TOKEN_MAX, true, &next.session_token,
		     err) < 0) {
		cred_set_wipe(&p->cur);
		goto out;
	}
	cred_set_replace(&p->cur, &next);
	rc = 0;
out:
	cred_set_wipe(&next);
	return rc;
}

/* ---- instance: IMDSv2 transport ------------------------------------------ */

/* Record the HTTP status on an error already set, for the retry classifier. */
static void set_status(struct ob_error *err, long status)
{
	if (err != NULL)
		err->http_status = status;
}

/* Perform one IMDS request with the settings every IMDS call shares.
 * Returns 0 when a response arrived (any status; the body bounded), else -1
 * with the transport's error. */
static int imds_perform(struct ob_creds_provider *p, const char *method, const char *path,
			const struct ob_http_header *headers, size_t n_headers,
			struct ob_http_response *resp, struct ob_error *err)
{
	struct ob_http_request req = { 0 };
	struct ob_buf url = OB_BUF_INIT;
	int rc = -1;

	if (ob_buf_printf(&url, "%s%s", p->imds_url, path) < 0) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory building the IMDS URL");
		goto out;
	}
	req.method = method;
	req.url = url.data;
	req.headers = headers;
	req.n_headers = n_headers;
	/* IMDS speaks plain http on a link-local address by design. */
	req.allow_plain_http = true;
	req.timeout_ms = IMDS_TIMEOUT_MS;
	/* One byte over the limit, so an oversized document is both cut off
	 * early by the transport and still recognised as too large below. */
	req.max_body = IMDS_BODY_MAX + 1;
	if (p->http.perform(p->http.ctx, &req, resp, err) < 0) {
		/* the transport's message already names method and URL */
		ob_error_prefix(err, "IMDS");
		goto out;
	}
	if (resp->body.len > IMDS_BODY_MAX) {
		ob_error_set(err, OB_ERR_PARSE,
			     "IMDS %s %s: response of %zu bytes is over the %d byte limit",
			     method, path, resp->body.len, IMDS_BODY_MAX);
		set_status(err, resp->status);
		goto out;
	}
	rc = 0;
out:
	ob_buf_clear(&url);
	return rc;
}

static int imds_status_error(struct ob_error *err, const char *what, long status)
{
	ob_error_set(err, OB_ERR_CREDS, "IMDS %s: unexpected HTTP status %ld", what, status);
	set_status(err, status);
	return -1;
}

static void imds_token_drop(struct ob_creds_provider *p)
{
	wipe_str(&p->imds_token);
	p->imds_token_renew_mono = 0;
}

/* PUT /latest/api/token: a fresh IMDSv2 session token into p->imds_token. */
static int imds_token_fetch(struct ob_creds_provider *p, struct ob_error *err)
{
	static const struct ob_http_header hdr[] = {
		{ IMDS_TTL_HEADER, IMDS_TOKEN_TTL_STR },
	};
	struct ob_http_response resp;
	const char *why;
	int rc = -1;

	imds_token_drop(p);
	ob_http_response_init(&resp);
	resp.body.sensitive = true; /* IMDS tokens and credential documents */
	if (imds_perform(p, "PUT", IMDS_TOKEN_PATH, hdr, 1, &resp, err) < 0)
		goto out;
	if (resp.status != 200) {
		imds_status_error(err, "session token request", resp.status);
		goto out;
	}
	why = cred_value_problem(resp.body.data ? resp.body.data : "", resp.body.len,
				 IMDS_TOKEN_MAX);
	if (why != NULL) {
		ob_error_set(err, OB_ERR_PARSE, "IMDS session token %s", why);
		goto out;
	}
	p->imds_token = dup_or_nomem(resp.body.data, err);
	if (p->imds_token == NULL)
		goto out;
	p->imds_token_renew_mono = p->clock->mono_ms(p->clock->ctx) +
				   IMDS_TOKEN_TTL_S * 1000LL - IMDS_TOKEN_SLACK_MS;
	rc = 0;
out:
	ob_http_response_clear(&resp);
	return rc;
}

/* GET path with the session token, fetching one first when there is none or
 * it is about to lapse. A 401 means IMDS no longer accepts our token (IMDS
 * restarted, clock skew): fetch a new one and try once more. Returns 0 with
 * any status in resp, or -1. */
static int imds_get(struct ob_creds_provider *p, const char *path,
		    struct ob_http_response *resp, struct ob_error *err)
{
	struct ob_http_header hdr[1];
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (p->imds_token == NULL ||
		    p->clock->mono_ms(p->clock->ctx) >= p->imds_token_renew_mono) {
			if (imds_token_fetch(p, err) < 0)
				return -1;
		}
		hdr[0].name = IMDS_TOKEN_HEADER;
		hdr[0].value = p->imds_token;
		if (imds_perform(p, "GET", path, hdr, 1, resp, err) < 0)
			return -1;
		if (resp->status != 401)
			return 0;
		imds_token_drop(p);
	}
	return 0;
}

/* ---- instance: parsing -------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool role_char_ok(char c)
{
	if (c == '\0')
		return false;
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("+=,.@_-", c) != NULL;
}

/* The role listing names one role per line (an instance profile has one).
 * Take the first line, trimmed; it becomes a URL path segment, so anything
 * outside IAM's role-name alphabet ('/', '%', '?', spaces, bytes >= 0x80) is
 * refused rather than escaped. */
static int parse_role_list(const char *data, size_t len, char ret[ROLE_NAME_MAX + 1],
			   struct ob_error *err)
{
	size_t start = 0, end, i;

	for (end = 0; end < len && data[end] != '\n'; end++)
		;
	while (start < end && is_blank(data[start]))
		start++;
	while (end > start && is_blank(data[end - 1]))
		end--;
	if (end == start)
		return ob_error_set(err, OB_ERR_CREDS,
				    "no IAM role attached to this instance (IMDS lists none)");
	if (end - start > ROLE_NAME_MAX)
		return ob_error_set(err, OB_ERR_PARSE,
				    "IMDS role listing: role name longer than %d characters",
				    ROLE_NAME_MAX);
	for (i = start; i < end; i++)
		if (!role_char_ok(data[i]))
			return ob_error_set(err, OB_ERR_PARSE,
					    "IMDS role listing: not a valid IAM role name");
	memcpy(ret, data + start, end - start);
	ret[end - start] = '\0';
	return 0;
}

/* A short word from the document (Code, Type) that is safe to quote in a
 * message; anything else is replaced. */
static const char *printable_word(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= 32 || !role_char_ok(s[i]))
			return "(unprintable)";
	return i == 0 ? "(empty)" : s;
}

/* Optional string member: absent is fine, present must equal want. */
static int check_word(json_t *root, const char *key, const char *want, enum ob_err_kind kind,
		      struct ob_error *err)
{
	json_t *v = json_object_get(root, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return ob_error_set(err, OB_ERR_PARSE,
				    "IMDS credentials document: %s is not a string", key);
	if (strcmp(json_string_value(v), want) != 0)
		return ob_error_set(err, kind, "IMDS credentials document: %s is \"%s\", not \"%s\"",
				    key, printable_word(json_string_value(v)), want);
	return 0;
}

/* Required credential member: copied into *ret after the same checks as
 * every other credential string. */
static int take_cred(json_t *root, const char *key, size_t max, char **ret,
		     struct ob_error *err)
{
	json_t *v = json_object_get(root, key);
	const char *why;

	if (v == NULL)
		return ob_error_set(err, OB_ERR_PARSE, "IMDS credentials document: %s is missing",
				    key);
	if (!json_is_string(v))
		return ob_error_set(err, OB_ERR_PARSE,
				    "IMDS credentials document: %s is not a string", key);
	why = cred_value_problem(json_string_value(v), json_string_length(v), max);
	if (why != NULL)
		return ob_error_set(err, OB_ERR_PARSE, "IMDS credentials document: %s %s", key,
				    why);
	*ret = dup_or_nomem(json_string_value(v), err);
	return *ret == NULL ? -1 : 0;
}

/* jansson keeps its own malloc'ed copy of every string; wipe the secret ones
 * in place before the tree is freed. The buffer belongs to the json_t and is
 * not const storage, only the accessor is. */
static void wipe_json_string(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);

	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

/* Parse the security-credentials document into *ret. now_ms is used to
 * refuse credentials that have already expired. */
static int parse_document(const char *data, size_t len, int64_t now_ms, struct cred_set *ret,
			  struct ob_error *err)
{
	json_error_t jerr;
	json_t *root, *exp;
	int64_t exp_s;
	int rc = -1;

	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* jerr.text quotes the input near the fault: position only. */
		ob_error_set(err, OB_ERR_PARSE,
			     "IMDS credentials document is not valid JSON (line %d, column %d)",
			     jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		ob_error_set(err, OB_ERR_PARSE, "IMDS credentials document is not a JSON object");
		goto out;
	}
	/* Real IMDS always sends Code and Type; moto's emulator sends neither,
	 * so they are checked when present and not required. */
	if (check_word(root, "Code", "Success", OB_ERR_CREDS, err) < 0 ||
	    check_word(root, "Type", "AWS-HMAC", OB_ERR_CREDS, err) < 0)
		goto out;
	if (take_cred(root, "AccessKeyId", KEY_ID_MAX, &ret->access_key_id, err) < 0 ||
	    take_cred(root, "SecretAccessKey", SECRET_MAX, &ret->secret_access_key, err) < 0 ||
	    take_cred(root, "Token", SESSION_TOKEN_MAX, &ret->session_token, err) < 0)
		goto out;
	exp = json_object_get(root, "Expiration");
	if (exp == NULL) {
		ob_error_set(err, OB_ERR_PARSE, "IMDS credentials document: Expiration is missing");
		goto out;
	}
	if (!json_is_string(exp) || ob_clock_parse_iso8601(json_string_value(exp), &exp_s) < 0) {
		ob_error_set(err, OB_ERR_PARSE,
			     "IMDS credentials document: Expiration is not an ISO 8601 time");
		goto out;
	}
	ret->expiration_ms = exp_s * 1000;
	if (ret->expiration_ms <= now_ms) {
		char when[17];

		if (ob_clock_format_amz(exp_s, when) < 0)
			strcpy(when, "(out of range)");
		ob_error_set(err, OB_ERR_CREDS,
			     "IMDS credentials document: Expiration %s is not in the future",
			     when);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		cred_set_wipe(ret);
	if (root != NULL) {
		wipe_json_string(root, "AccessKeyId");
		wipe_json_string(root, "SecretAccessKey");
		wipe_json_string(root, "Token");
		json_decref(root);
	}
	OPENSSL_cleanse(&jerr, sizeof(jerr));
	return rc;
}

/* ---- instance: refresh -------------------------------------------------- */

/* One complete IMDS round: role name, then that role's credentials. */
static int imds_fetch(struct ob_creds_provider *p, struct cred_set *ret, struct ob_error *err)
{
	char role[ROLE_NAME_MAX + 1];
	char path[sizeof(IMDS_ROLES_PATH) + ROLE_NAME_MAX];
	struct ob_http_response resp;
	int rc = -1;

	ob_http_response_init(&resp);
	resp.body.sensitive = true; /* IMDS tokens and credential documents */
	if (imds_get(p, IMDS_ROLES_PATH, &resp, err) < 0)
		goto out;
	if (resp.status == 404) {
		ob_error_set(err, OB_ERR_CREDS, "no IAM role attached to this instance");
		set_status(err, 404);
		goto out;
	}
	if (resp.status != 200) {
		imds_status_error(err, "role listing", resp.status);
		goto out;
	}
	if (parse_role_list(resp.body.data ? resp.body.data : "", resp.body.len, role, err) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s%s", IMDS_ROLES_PATH, role);

	if (imds_get(p, path, &resp, err) < 0)
		goto out;
	if (resp.status == 404) {
		ob_error_set(err, OB_ERR_CREDS, "IMDS has no credentials for IAM role %s", role);
		set_status(err, 404);
		goto out;
	}
	if (resp.status != 200) {
		imds_status_error(err, "credentials request", resp.status);
		goto out;
	}
	if (parse_document(resp.body.data ? resp.body.data : "", resp.body.len,
			   p->clock->now_ms(p->clock->ctx), ret, err) < 0) {
		ob_error_prefix(err, "IAM role %s", role);
		goto out;
	}
	rc = 0;
out:
	ob_http_response_clear(&resp);
	return rc;
}

/* Make p->cur usable: refresh when absent, expired or inside the margin. */
static int instance_ensure(struct ob_creds_provider *p, struct ob_error *err)
{
	struct cred_set next = { 0 };
	int64_t now = p->clock->now_ms(p->clock->ctx);
	bool have = p->cur.access_key_id != NULL;

	if (have && now < p->cur.expiration_ms - p->refresh_margin_ms)
		return 0;
	if (have && now < p->cur.expiration_ms &&
	    p->clock->mono_ms(p->clock->ctx) < p->next_attempt_mono)
		return 0;

	if (imds_fetch(p, &next, err) == 0) {
		cred_set_replace(&p->cur, &next);
		/* IMDS may still hand out the old set just inside the margin;
		 * pace the next early refresh either way. */
		p->next_attempt_mono = p->clock->mono_ms(p->clock->ctx) + IMDS_RETRY_MS;
		return 0;
	}
	p->next_attempt_mono = p->clock->mono_ms(p->clock->ctx) + IMDS_RETRY_MS;
	if (have && p->clock->now_ms(p->clock->ctx) < p->cur.expiration_ms) {
		/* Still valid: IMDS trouble must not stop the daemon. */
		ob_error_clear(err);
		return 0;
	}
	cred_set_wipe(&p->cur);
	return -1;
}

/* ---- public ------------------------------------------------------------- */

static int copy_static(struct ob_creds_provider *p, const struct ob_creds_options *opt,
		       struct ob_error *err)
{
	const char *why;

	if (opt->access_key_id == NULL || opt->access_key_id[0] == '\0')
		return ob_error_set(err, OB_ERR_CONFIG,
				    "credentials = static needs [aws] access_key_id");
	if (opt->secret_access_key == NULL || opt->secret_access_key[0] == '\0')
		return ob_error_set(err, OB_ERR_CONFIG,
				    "credentials = static needs [aws] secret_access_key");
	why = cred_value_problem(opt->access_key_id, strlen(opt->access_key_id), KEY_ID_MAX);
	if (why != NULL)
		return ob_error_set(err, OB_ERR_CONFIG, "[aws] access_key_id %s", why);
	why = cred_value_problem(opt->secret_access_key, strlen(opt->secret_access_key),
				 SECRET_MAX);
	if (why != NULL)
		return ob_error_set(err, OB_ERR_CONFIG, "[aws] secret_access_key %s", why);
	p->cur.access_key_id = dup_or_nomem(opt->access_key_id, err);
	if (p->cur.access_key_id == NULL)
		return -1;
	p->cur.secret_access_key = dup_or_nomem(opt->secret_access_key, err);
	return p->cur.secret_access_key == NULL ? -1 : 0;
}

static int setup_instance(struct ob_creds_provider *p, const struct ob_creds_options *opt,
			  struct ob_error *err)
{
	const char *url = opt->imds_url;
	size_t len;

	if (opt->http.perform == NULL)
		return ob_error_set(err, OB_ERR_INVALID,
				    "instance credentials need an HTTP transport");
	if (url == NULL || url[0] == '\0')
		url = DEFAULT_IMDS_URL;
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	if (len == 0)
		return ob_error_set(err, OB_ERR_CONFIG, "[aws] imds_url is not a URL");
	p->imds_url = strndup(url, len);
	if (p->imds_url == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	p->http = opt->http;
	p->refresh_margin_ms = opt->refresh_margin_ms;
	if (p->refresh_margin_ms < MIN_REFRESH_MARGIN_MS)
		p->refresh_margin_ms = MIN_REFRESH_MARGIN_MS;
	if (p->refresh_margin_ms > MAX_REFRESH_MARGIN_MS)
		p->refresh_margin_ms = MAX_REFRESH_MARGIN_MS;
	return 0;
}

struct ob_creds_provider *ob_creds_provider_new(const struct ob_creds_options *opt,
						struct ob_error *err)
{
	struct ob_creds_provider *p = NULL;
	int rc = -1;

	ob_error_clear(err);
	if (opt == NULL) {
		ob_error_set(err, OB_ERR_INVALID, "no credentials options");
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	p->source = opt->source;
	p->clock = opt->clock != NULL ? opt->clock : ob_clock_system();
	switch (opt->source) {
	case OB_CREDS_ENV:
		rc = 0;
		break;
	case OB_CREDS_STATIC:
		rc = copy_static(p, opt, err);
		break;
	case OB_CREDS_INSTANCE:
		rc = setup_instance(p, opt, err);
		break;
	default:
		ob_error_set(err, OB_ERR_INVALID, "unknown credentials source %d",
			     (int)opt->source);
		break;
	}
out:
	if (rc < 0) {
		ob_creds_provider_free(p);
		return NULL;
	}
	return p;
}

int ob_creds_provider_get(struct ob_creds_provider *p, struct ob_creds *ret,
			  struct ob_error *err)
{
	int rc = 0;

	ob_error_clear(err);
	memset(ret, 0, sizeof(*ret));
	switch (p->source) {
	case OB_CREDS_ENV:
		rc = env_load(p, err);
		break;
	case OB_CREDS_STATIC:
		break;
	case OB_CREDS_INSTANCE:
		rc = instance_ensure(p, err);
		break;
	}
	if (rc < 0)
		return -1;
	ret->access_key_id = p->cur.access_key_id;
	ret->secret_access_key = p->cur.secret_access_key;
	ret->session_token = p->cur.session_token;
	ret->expiration_ms = p->cur.expiration_ms;
	return 0;
}

void ob_creds_provider_invalidate(struct ob_creds_provider *p)
{
	/* Static credentials cannot be fetched anew; env is re-read anyway. */
	if (p == NULL || p->source != OB_CREDS_INSTANCE)
		return;
	cred_set_wipe(&p->cur);
	p->next_attempt_mono = 0;
}

void ob_creds_provider_free(struct ob_creds_provider *p)
{
	if (p == NULL)
		return;
	cred_set_wipe(&p->cur);
	imds_token_drop(p);
	free(p->imds_url);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

const char *ob_creds_source_name(enum ob_creds_source source)
{
	switch (source) {
	case OB_CREDS_INSTANCE: return "instance";
	case OB_CREDS_ENV: return "env";
	case OB_CREDS_STATIC: return "static";
	}
	return "unknown";
}
