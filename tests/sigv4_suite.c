/*
 * sigv4_suite.c - run the AWS SigV4 test-vector folders against the signer.
 *
 *	sigv4-suite [--context FILE] DIR...
 *
 * Each DIR is a case folder or a folder of case folders (searched
 * recursively). Three layouts are recognised (see
 * ../shared/sigv4-suite/README.md):
 *
 *   v4            request.txt + context.json + header-* / query-* files;
 *                 every stage whose expected file is present is compared.
 *   legacy        <case>.req/.creq/.sts/.authz (botocore); signed with
 *                 botocore's harness defaults; .sreq is not compared.
 *   double-encode request.txt without context.json (smithy-rs); the context
 *                 comes from --context and only the canonical request and
 *                 string to sign are compared.
 *
 * One line per case and variant goes to stdout: "PASS name header" or
 * "FAIL name query: string-to-sign"; a failure also prints expected and
 * actual text to stderr with the secret key and session token redacted.
 * Exit status is 1 when any case fails or a DIR holds no case at all.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "ob/buf.h"
#include "ob/clock.h"
#include "ob/error.h"
#include "ob/private/sigv4_stages.h"
#include "ob/sigv4.h"
#include "ob/uri.h"

#define MAX_HEADERS OB_SIGV4_MAX_HEADERS

/* botocore tests/unit/auth/test_sigv4.py harness values. */
#define LEGACY_AKID "AKIDEXAMPLE"
#define LEGACY_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define LEGACY_TIME "2015-08-30T12:36:00Z"
#define LEGACY_TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

struct context {
	char *akid, *secret, *token, *region, *service;
	int64_t when;
	unsigned expires;
	bool normalize, sign_body, omit_token;
};

/* A parsed request.txt / .req; every pointer points into raw. */
struct request {
	struct ob_buf raw;
	char method[33];
	const char *line;    /* request line, without its line end */
	size_t line_len;
	const char *path, *query, *version;
	size_t path_len, query_len, version_len;
	bool has_query;
	const char *head;    /* header lines exactly as given */
	size_t head_len;
	struct ob_sigv4_header headers[MAX_HEADERS];
	size_t n_headers;
	const char *body;
	size_t body_len;
};

struct runner {
	struct ob_sigv4 *signer;
	const char *default_context; /* --context */
	unsigned passed, failed;
};

enum layout { LAYOUT_NONE, LAYOUT_V4, LAYOUT_LEGACY };

static void context_clear(struct context *c)
{
	if (c->secret != NULL)
		OPENSSL_cleanse(c->secret, strlen(c->secret));
	free(c->akid);
	free(c->secret);
	free(c->token);
	free(c->region);
	free(c->service);
	memset(c, 0, sizeof(*c));
}

static int read_file(const char *path, struct ob_buf *out)
{
	char chunk[8192];
	FILE *f;
	size_t n;
	int rc = 0;

	ob_buf_reset(out);
	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (ob_buf_append(out, chunk, n) < 0)
			rc = -1;
	if (ferror(f))
		rc = -1;
	fclose(f);
	if (rc == 0 && out->data == NULL)
		rc = ob_buf_reserve(out, 0);
	return rc;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static char *dup_json_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static bool json_flag(json_t *obj, const char *key, bool dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static int load_context(const char *path, struct context *c, char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *root, *creds, *v;
	char *ts = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	root = json_load_file(path, 0, &jerr);
	if (root == NULL) {
		snprintf(why, why_len, "%s (line %d)", jerr.text, jerr.line);
		return -1;
	}
	creds = json_object_get(root, "credentials");
	c->akid = dup_json_string(creds, "access_key_id");
	c->secret = dup_json_string(creds, "secret_access_key");
	c->token = dup_json_string(creds, "token");
	c->region = dup_json_string(root, "region");
	c->service = dup_json_string(root, "service");
	ts = dup_json_string(root, "timestamp");
	v = json_object_get(root, "expiration_in_seconds");
	c->expires = json_is_integer(v) ? (unsigned)json_integer_value(v) : 0;
	c->normalize = json_flag(root, "normalize", true);
	c->sign_body = json_flag(root, "sign_body", false);
	c->omit_token = json_flag(root, "omit_session_token", false);
	if (c->akid == NULL || c->secret == NULL || c->region == NULL || c->service == NULL ||
	    ts == NULL) {
		snprintf(why, why_len, "credentials, region, service or timestamp missing");
		goto out;
	}
	if (ob_clock_parse_iso8601(ts, &c->when) < 0) {
		snprintf(why, why_len, "bad timestamp");
		goto out;
	}
	rc = 0;
out:
	free(ts);
	json_decref(root);
	if (rc < 0)
		context_clear(c);
	return rc;
}

static int legacy_context(const char *name, struct context *c)
{
	memset(c, 0, sizeof(*c));
	c->akid = strdup(LEGACY_AKID);
	c->secret = strdup(LEGACY_SECRET);
	c->region = strdup("us-east-1");
	c->service = strdup("service");
	/* botocore's harness passes a token only to this one case. */
	if (strstr(name, "session-token") != NULL)
		c->token = strdup(LEGACY_TOKEN);
	c->normalize = true;
	if (c->akid == NULL || c->secret == NULL || c->region == NULL || c->service == NULL ||
	    (strstr(name, "session-token") != NULL && c->token == NULL) ||
	    ob_clock_parse_iso8601(LEGACY_TIME, &c->when) < 0) {
		context_clear(c);
		return -1;
	}
	return 0;
}

/* Split "METHOD target VERSION\nName:value\n  continued\n\nbody". The
 * target may hold spaces and raw UTF-8, so method ends at the first space
 * and version starts after the last one. */
static int parse_request(struct request *r, char *why, size_t why_len)
{
	const char *p = r->raw.data, *end = r->raw.data + r->raw.len;
	const char *eol, *sp1, *sp2, *q;
	struct ob_sigv4_header *cur = NULL;

	eol = memchr(p, '\n', (size_t)(end - p));
	r->line = p;
	r->line_len = (size_t)((eol ? eol : end) - p);
	if (r->line_len > 0 && p[r->line_len - 1] == '\r')
		r->line_len--;
	sp1 = memchr(p, ' ', r->line_len);
	sp2 = p + r->line_len;
	while (sp2 > p && sp2[-1] != ' ')
		sp2--;
	if (sp1 == NULL || sp2 - 1 <= sp1 || (size_t)(sp1 - p) >= sizeof(r->method)) {
		snprintf(why, why_len, "request line is not 'METHOD target VERSION'");
		return -1;
	}
	memcpy(r->method, p, (size_t)(sp1 - p));
	r->method[sp1 - p] = '\0';
	r->version = sp2;
	r->version_len = (size_t)(p + r->line_len - sp2);
	r->path = sp1 + 1;
	r->path_len = (size_t)(sp2 - 1 - r->path);
	q = memchr(r->path, '?', r->path_len);
	if (q != NULL) {
		r->has_query = true;
		r->query = q + 1;
		r->query_len = (size_t)(r->path + r->path_len - r->query);
		r->path_len = (size_t)(q - r->path);
	}

	p = eol ? eol + 1 : end;
	r->head = p;
	while (p < end) {
		const char *line = p, *colon;
		size_t len;

		eol = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((eol ? eol : end) - p);
		p = eol ? eol + 1 : end;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0) {
			r->body = p;
			r->body_len = (size_t)(end - p);
			return 0;
		}
		r->head_len = (size_t)(p - r->head);
		if (line[0] == ' ' || line[0] == '\t') {
			/* obs-fold: the value runs on; the signer joins it. */
			if (cur == NULL) {
				snprintf(why, why_len, "continuation line before any header");
				return -1;
			}
			cur->value_len = (size_t)(line + len - cur->value);
			continue;
		}
		colon = memchr(line, ':', len);
		if (colon == NULL) {
			snprintf(why, why_len, "header line without ':'");
			return -1;
		}
		if (r->n_headers == MAX_HEADERS) {
			snprintf(why, why_len, "more than %d headers", MAX_HEADERS);
			return -1;
		}
		cur = &r->headers[r->n_headers++];
		cur->name = line;
		cur->name_len = (size_t)(colon - line);
		cur->value = colon + 1;
		cur->value_len = (size_t)(line + len - cur->value);
	}
	r->body = end;
	r->body_len = 0;
	return 0;
}

static int load_request(const char *path, struct request *r, char *why, size_t why_len)
{
	memset(r, 0, sizeof(*r));
	if (read_file(path, &r->raw) < 0) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	return parse_request(r, why, why_len);
}

static void fill_sign_args(const struct request *r, const struct context *c,
			   struct ob_sigv4_request *req, struct ob_sigv4_params *params)
{
	memset(req, 0, sizeof(*req));
	req->method = r->method;
	req->path = r->path;
	req->path_len = r->path_len;
	req->query = r->query;
	req->query_len = r->query_len;
	req->headers = r->headers;
	req->n_headers = r->n_headers;
	req->body = r->body;
	req->body_len = r->body_len;
	memset(params, 0, sizeof(*params));
	params->access_key_id = c->akid;
	params->secret_access_key = c->secret;
	params->session_token = c->token;
	params->region = c->region;
	params->service = c->service;
	params->when = c->when;
	params->expires = c->expires;
	params->flags = (c->normalize ? OB_SIGV4_NORMALIZE_PATH : 0) |
			(c->sign_body ? OB_SIGV4_SIGN_BODY : 0) |
			(c->omit_token ? OB_SIGV4_OMIT_TOKEN : 0);
}

/* Render the signed request the way the v4 suite's *-signed-request.txt
 * files do: request line and header lines as given, the added headers as
 * "Name:value", a blank line, the body. */
static int render_signed(const struct request *r, enum ob_sigv4_mode mode,
			 const struct ob_sigv4_result *res, struct ob_buf *out)
{
	size_t i;
	int rc = 0;

	ob_buf_reset(out);
	if (mode == OB_SIGV4_MODE_HEADER) {
		rc |= ob_buf_append(out, r->line, r->line_len);
	} else {
		rc |= ob_buf_append(out, r->method, strlen(r->method));
		rc |= ob_buf_putc(out, ' ');
		rc |= ob_buf_append(out, r->path, r->path_len);
		rc |= ob_buf_putc(out, '?');
		if (r->query_len > 0) {
			rc |= ob_buf_append(out, r->query, r->query_len);
			rc |= ob_buf_putc(out, '&');
		}
		rc |= ob_buf_append(out, res->query, res->query_len);
		rc |= ob_buf_putc(out, ' ');
		rc |= ob_buf_append(out, r->version, r->version_len);
	}
	rc |= ob_buf_putc(out, '\n');
	rc |= ob_buf_append(out, r->head, r->head_len);
	if (r->head_len > 0 && r->head[r->head_len - 1] != '\n')
		rc |= ob_buf_putc(out, '\n');
	for (i = 0; i < res->n_headers; i++) {
		rc |= ob_buf_puts(out, res->headers[i].name);
		rc |= ob_buf_putc(out, ':');
		rc |= ob_buf_append(out, res->headers[i].value, res->headers[i].value_len);
		rc |= ob_buf_putc(out, '\n');
	}
	rc |= ob_buf_putc(out, '\n');
	rc |= ob_buf_append(out, r->body, r->body_len);
	return rc;
}

/* Print text with the context's secret and token replaced. */
static void print_redacted(const char *label, const char *p, size_t n, const struct context *c)
{
	struct ob_buf enc = OB_BUF_INIT;
	const char *secrets[3];
	size_t i, k, ns = 0;

	if (c->secret != NULL && c->secret[0] != '\0')
		secrets[ns++] = c->secret;
	if (c->token != NULL && c->token[0] != '\0') {
		secrets[ns++] = c->token;
		if (ob_uri_encode(&enc, c->token, strlen(c->token), false) == 0)
			secrets[ns++] = enc.data;
	}
	fprintf(stderr, "----- %s -----\n", label);
	for (i = 0; i < n;) {
		bool hit = false;

		for (k = 0; k < ns; k++) {
			size_t sl = strlen(secrets[k]);

			if (sl <= n - i && memcmp(p + i, secrets[k], sl) == 0) {
				fputs("<redacted>", stderr);
				i += sl;
				hit = true;
				break;
			}
		}
		if (!hit)
			fputc(p[i++], stderr);
	}
	fputs("\n----- end -----\n", stderr);
	ob_buf_cleanse(&enc);
}

/* Compare actual with the expected file dir/file, if present.
 * Returns 1 when absent, 0 when equal, -1 when different or unreadable. */
static int compare(const char *dir, const char *file, const char *actual, size_t actual_len,
		   bool strip_newline, const struct context *c)
{
	struct ob_buf want = OB_BUF_INIT;
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!file_exists(path))
		return 1;
	if (read_file(path, &want) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	/* smithy-rs files end with a newline that is not part of the value. */
	if (strip_newline && want.len > 0 && want.data[want.len - 1] == '\n')
		want.data[--want.len] = '\0';
	rc = want.len == actual_len && memcmp(want.data, actual, actual_len) == 0 ? 0 : -1;
	if (rc < 0) {
		fprintf(stderr, "%s: differs from the signer's output\n", path);
		print_redacted("expected", want.data, want.len, c);
		print_redacted("actual", actual, actual_len, c);
	}
	ob_buf_clear(&want);
	return rc;
}

static void report(struct runner *run, const char *name, const char *variant,
		   const char *stage)
{
	if (stage == NULL) {
		printf("PASS %s %s\n", name, variant);
		run->passed++;
	} else {
		printf("FAIL %s %s: %s\n", name, variant, stage);
		run->failed++;
	}
	fflush(stdout);
}

/* Run one variant (header or query) of a case. files[] names the expected
 * canonical-request, string-to-sign, signature, signed-request / authz
 * files; NULL entries are not compared. Returns the first failing stage. */
static const char *run_variant(struct runner *run, const char *dir, const struct request *r,
			       const struct context *c, enum ob_sigv4_mode mode,
			       const char *const files[4], bool final_is_authz,
			       bool strip_newline)
{
	static char stage_buf[sizeof(((struct ob_error *)0)->message) + 64];
	struct ob_buf creq = OB_BUF_INIT, sts = OB_BUF_INIT, authz = OB_BUF_INIT;
	struct ob_buf signed_req = OB_BUF_INIT;
	struct ob_sigv4_request req;
	struct ob_sigv4_params params;
	struct ob_sigv4_result res;
	struct ob_error err;
	unsigned char key[32];
	char amz_date[17], sig[65];
	const char *stage = NULL;
	int rc;

	fill_sign_args(r, c, &req, &params);
	ob_clock_format_amz(c->when, amz_date);

	if (ob_sigv4_canonical_request(run->signer, &req, &params, mode, &creq, &err) < 0) {
		snprintf(stage_buf, sizeof(stage_buf), "canonical-request (%s)", err.message);
		stage = stage_buf;
		goto out;
	}
	if (files[0] != NULL &&
	    compare(dir, files[0], creq.data, creq.len, strip_newline, c) < 0) {
		stage = "canonical-request";
		goto out;
	}
	if (ob_sigv4_string_to_sign(run->signer, amz_date, c->region, c->service, creq.data,
				    creq.len, &sts, &err) < 0) {
		snprintf(stage_buf, sizeof(stage_buf), "string-to-sign (%s)", err.message);
		stage = stage_buf;
		goto out;
	}
	if (files[1] != NULL && compare(dir, files[1], sts.data, sts.len, strip_newline, c) < 0) {
		stage = "string-to-sign";
		goto out;
	}
	if (files[2] == NULL && files[3] == NULL)
		goto out;

	/* The remaining stages come from the public call, which must agree
	 * with the stage-by-stage pipeline. */
	if (ob_sigv4_signing_key(run->signer, c->secret, amz_date, c->region, c->service, key,
				 &err) < 0 ||
	    ob_sigv4_signature(run->signer, key, sts.data, sts.len, sig, &err) < 0) {
		OPENSSL_cleanse(key, sizeof(key));
		snprintf(stage_buf, sizeof(stage_buf), "signature (%s)", err.message);
		stage = stage_buf;
		goto out;
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (mode == OB_SIGV4_MODE_HEADER)
		rc = ob_sigv4_sign_headers(run->signer, &req, &params, &res, &err);
	else
		rc = ob_sigv4_presign(run->signer, &req, &params, &res, &err);
	if (rc < 0) {
		snprintf(stage_buf, sizeof(stage_buf), "signature (%s)", err.message);
		stage = stage_buf;
		goto out;
	}
	if (strcmp(sig, res.signature) != 0) {
		stage = "signature (stages disagree with the signing call)";
		goto out;
	}
	if (files[2] != NULL && compare(dir, files[2], res.signature, 64, false, c) < 0) {
		stage = "signature";
		goto out;
	}
	if (files[3] == NULL)
		goto out;
	if (final_is_authz) {
		/* Stage 5 alone must build the same value. */
		const char *sh_start = strstr(res.authorization, "SignedHeaders=");
		char sh[2048];
		size_t n = 0;

		if (sh_start != NULL) {
			sh_start += strlen("SignedHeaders=");
			while (sh_start[n] != ',' && sh_start[n] != '\0' && n + 1 < sizeof(sh))
				n++;
			memcpy(sh, sh_start, n);
		}
		sh[n] = '\0';
		if (ob_sigv4_authorization(c->akid, amz_date, c->region, c->service, sh,
					   res.signature, &authz, &err) < 0 ||
		    authz.len != res.authorization_len ||
		    memcmp(authz.data, res.authorization, authz.len) != 0) {
			stage = "authorization (stages disagree with the signing call)";
			goto out;
		}
		if (compare(dir, files[3], res.authorization, res.authorization_len, false, c) < 0)
			stage = "authorization";
		goto out;
	}
	if (render_signed(r, mode, &res, &signed_req) < 0) {
		stage = "signed-request (out of memory)";
		goto out;
	}
	if (compare(dir, files[3], signed_req.data, signed_req.len, false, c) < 0)
		stage = "signed-request";
out:
	ob_buf_cleanse(&creq);
	ob_buf_cleanse(&sts);
	ob_buf_cleanse(&authz);
	ob_buf_cleanse(&signed_req);
	return stage;
}

static bool variant_present(const char *dir, const char *prefix)
{
	static const char *const stages[] = {
		"canonical-request.txt", "string-to-sign.txt", "signature.txt",
		"signed-request.txt",
	};
	char path[4096];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s-%s", dir, prefix, stages[i]);
		if (file_exists(path))
			return true;
	}
	return false;
}

static void run_v4(struct runner *run, const char *dir, const char *name)
{
	static const char *const header_files[4] = {
		"header-canonical-request.txt", "header-string-to-sign.txt",
		"header-signature.txt", "header-signed-request.txt",
	};
	static const char *const query_files[4] = {
		"query-canonical-request.txt", "query-string-to-sign.txt",
		"query-signature.txt", "query-signed-request.txt",
	};
	static const char *const header_partial[4] = {
		"header-canonical-request.txt", "header-string-to-sign.txt", NULL, NULL,
	};
	static const char *const query_partial[4] = {
		"query-canonical-request.txt", "query-string-to-sign.txt", NULL, NULL,
	};
	struct context c;
	struct request r;
	char path[4096], why[512];
	bool partial, any = false;

	snprintf(path, sizeof(path), "%s/context.json", dir);
	partial = !file_exists(path);
	if (partial && run->default_context == NULL) {
		fprintf(stderr, "%s: no context.json and no --context given\n", dir);
		report(run, name, "header", "setup (no context)");
		return;
	}
	if (load_context(partial ? run->default_context : path, &c, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", partial ? run->default_context : path, why);
		report(run, name, "header", "setup (context)");
		return;
	}
	snprintf(path, sizeof(path), "%s/request.txt", dir);
	if (load_request(path, &r, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", path, why);
		report(run, name, "header", "setup (request.txt)");
		goto out;
	}
	if (variant_present(dir, "header")) {
		any = true;
		report(run, name, "header",
		       run_variant(run, dir, &r, &c, OB_SIGV4_MODE_HEADER,
				   partial ? header_partial : header_files, false, partial));
	}
	if (variant_present(dir, "query")) {
		any = true;
		report(run, name, "query",
		       run_variant(run, dir, &r, &c, OB_SIGV4_MODE_QUERY,
				   partial ? query_partial : query_files, false, partial));
	}
	if (!any) {
		fprintf(stderr, "%s: no header-* or query-* expected files\n", dir);
		report(run, name, "header", "setup (no expected files)");
	}
out:
	ob_buf_clear(&r.raw);
	context_clear(&c);
}

static void run_legacy(struct runner *run, const char *dir, const char *name)
{
	const char *base = base_name(dir);
	char files[4][512], path[4096], why[512];
	const char *names[4];
	struct context c;
	struct request r;

	if (legacy_context(base, &c) < 0) {
		report(run, name, "header", "setup (out of memory)");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.req", dir, base);
	if (load_request(path, &r, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", path, why);
		report(run, name, "header", "setup (.req)");
		goto out;
	}
	snprintf(files[0], sizeof(files[0]), "%s.creq", base);
	snprintf(files[1], sizeof(files[1]), "%s.sts", base);
	files[2][0] = '\0';
	snprintf(files[3], sizeof(files[3]), "%s.authz", base);
	names[0] = files[0];
	names[1] = files[1];
	names[2] = NULL;
	names[3] = files[3];
	report(run, name, "header",
	       run_variant(run, dir, &r, &c, OB_SIGV4_MODE_HEADER, names, true, false));
out:
	ob_buf_clear(&r.raw);
	context_clear(&c);
}

static enum layout detect(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/request.txt", dir);
	if (file_exists(path))
		return LAYOUT_V4;
	snprintf(path, sizeof(path), "%s/%s.req", dir, base_name(dir));
	if (file_exists(path))
		return LAYOUT_LEGACY;
	return LAYOUT_NONE;
}

static int only_dirs(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Run dir if it is a case, else every case below it. Returns the number
 * of cases run. */
static unsigned run_tree(struct runner *run, const char *dir, int depth)
{
	struct dirent **list = NULL;
	unsigned count = 0;
	int i, n;

	switch (detect(dir)) {
	case LAYOUT_V4:
		run_v4(run, dir, dir);
		return 1;
	case LAYOUT_LEGACY:
		run_legacy(run, dir, dir);
		return 1;
	case LAYOUT_NONE:
		break;
	}
	if (depth > 8)
		return 0;
	n = scandir(dir, &list, only_dirs, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 0;
	}
	for (i = 0; i < n; i++) {
		char sub[4096];

		snprintf(sub, sizeof(sub), "%s/%s", dir, list[i]->d_name);
		if (dir_exists(sub))
			count += run_tree(run, sub, depth + 1);
		free(list[i]);
	}
	free(list);
	return count;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sigv4-suite [--context FILE] DIR...\n"
		   "  DIR      a SigV4 test case folder, or a folder of them\n"
		   "  --context FILE  context.json for cases that have none\n");
}

int main(int argc, char **argv)
{
	struct runner run = { 0 };
	struct ob_error err;
	bool empty_dir = false;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--context") == 0 && i + 1 < argc) {
			run.default_context = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	run.signer = ob_sigv4_new(&err);
	if (run.signer == NULL) {
		fprintf(stderr, "sigv4-suite: %s\n", err.message);
		return 1;
	}
	for (; i < argc; i++) {
		char dir[4096];
		size_t len;

		snprintf(dir, sizeof(dir), "%s", argv[i]);
		len = strlen(dir);
		while (len > 1 && dir[len - 1] == '/')
			dir[--len] = '\0';
		if (!dir_exists(dir)) {
			fprintf(stderr, "sigv4-suite: %s: not a directory\n", dir);
			empty_dir = true;
			continue;
		}
		if (run_tree(&run, dir, 0) == 0) {
			fprintf(stderr, "sigv4-suite: %s: no test cases found\n", dir);
			empty_dir = true;
		}
	}
	ob_sigv4_free(run.signer);
	return run.failed == 0 && !empty_dir && run.passed > 0 ? 0 : 1;
}
