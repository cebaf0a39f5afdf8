/*
 * check_creds.c - credential providers against the recording fake transport
 * and a hand-driven clock: env, static, IMDSv2 (requests sent, caching,
 * refresh timing, failure while still valid, token renewal), every malformed
 * IMDS answer, and that no failure message ever carries a secret.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ob.h"
#include "ob/creds.h"
#include "ob/private/http_fake.h"

#define IMDS         "http://imds.test:1338"
#define TOKEN_URL    IMDS "/latest/api/token"
#define ROLES_URL    IMDS "/latest/meta-data/iam/security-credentials/"
#define ROLE         "ob-backup-role"
#define ROLE_URL     ROLES_URL ROLE

#define IMDS_TOK1    "imds-session-token-AAAAAAAA"
#define IMDS_TOK2    "imds-session-token-BBBBBBBB"
#define KEY_ID       "ASIAEXAMPLEKEYID1111"
#define SECRET       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET1111"
#define TOKEN        "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN1111+/="
#define KEY_ID2      "ASIAEXAMPLEKEYID2222"
#define SECRET2      "zK9mQ2pLw8vX/N4bR7tY1uI3oE5aS6dF2222"
#define TOKEN2       "FwoGZXIvYXdzEXAMPLESESSIONTOKEN2222"

#define T0           "2026-11-22T14:00:00Z"
#define EXP          "2026-11-22T20:00:00Z" /* T0 + 6 h */
#define EXP2         "2026-11-23T02:00:00Z" /* T0 + 12 h */

#define MIN_MS       (60 * 1000LL)
#define HOUR_MS      (60 * MIN_MS)

/* A credentials document, field by field, so malformed variants are easy to
 * spell. Every field but LAST ends with a comma. */
#define F_CODE   "\"Code\":\"Success\","
#define F_TYPE   "\"Type\":\"AWS-HMAC\","
#define F_ID     "\"AccessKeyId\":\"" KEY_ID "\","
#define F_SECRET "\"SecretAccessKey\":\"" SECRET "\","
#define F_TOKEN  "\"Token\":\"" TOKEN "\","
#define F_EXP    "\"Expiration\":\"" EXP "\","
#define F_LAST   "\"LastUpdated\":\"2026-11-22T13:54:00Z\""
#define DOC      "{" F_CODE F_TYPE F_ID F_SECRET F_TOKEN F_EXP F_LAST "}"
#define DOC2                                                                   \
	"{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"" KEY_ID2 \
	"\",\"SecretAccessKey\":\"" SECRET2 "\",\"Token\":\"" TOKEN2             \
	"\",\"Expiration\":\"" EXP2 "\",\"LastUpdated\":\"2026-11-22T19:54:00Z\"}"

/* ---- fixture: fake clock, spying transport ------------------------------ */

static struct ob_http_fake fake;
static int64_t t_now; /* wall and monotonic alike */
static struct ob_creds_provider *prov;

/* What the fake does not record: the per-request transport settings. */
static struct {
	bool allow_plain_http;
	long timeout_ms;
} sent[OB_FAKE_MAX];

static int64_t t_now_ms(void *ctx)
{
	(void)ctx;
	return t_now;
}

static int t_sleep_ms(void *ctx, int64_t ms)
{
	(void)ctx;
	(void)ms;
	ck_abort_msg("the credentials module must never sleep");
	return -1;
}

static const struct ob_clock tclock = { t_now_ms, t_now_ms, t_sleep_ms, NULL };

static int spy_perform(void *ctx, const struct ob_http_request *req,
		       struct ob_http_response *resp, struct ob_error *err)
{
	struct ob_http_ops ops = ob_http_fake_ops(&fake);

	(void)ctx;
	if (fake.n_records < OB_FAKE_MAX) {
		sent[fake.n_records].allow_plain_http = req->allow_plain_http;
		sent[fake.n_records].timeout_ms = req->timeout_ms;
	}
	return ops.perform(ops.ctx, req, resp, err);
}

static int64_t iso_ms(const char *s)
{
	int64_t v;

	ck_assert_int_eq(ob_clock_parse_iso8601(s, &v), 0);
	return v * 1000;
}

static void setup(void)
{
	ob_http_fake_init(&fake);
	memset(sent, 0, sizeof(sent));
	t_now = iso_ms(T0);
	prov = NULL;
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
}

static void teardown(void)
{
	ob_creds_provider_free(prov);
	prov = NULL;
	ob_http_fake_clear(&fake);
}

static struct ob_creds_provider *instance_new(const char *url, int64_t margin_ms)
{
	struct ob_creds_options opt = { 0 };
	struct ob_http_ops ops = { spy_perform, NULL };
	struct ob_error err;
	struct ob_creds_provider *p;

	opt.source = OB_CREDS_INSTANCE;
	opt.imds_url = url;
	opt.http = ops;
	opt.clock = &tclock;
	opt.refresh_margin_ms = margin_ms;
	p = ob_creds_provider_new(&opt, &err);
	ck_assert_msg(p != NULL, "new: %s", err.message);
	return p;
}

/* No failure message may hold a key id, secret or token, nor the start of
 * one (a truncated document must not leak a prefix either). */
static void assert_no_secrets(const struct ob_error *err)
{
	static const char *const secrets[] = {
		IMDS_TOK1, IMDS_TOK2, KEY_ID, SECRET, TOKEN, KEY_ID2, SECRET2, TOKEN2,
		"imds-session", "ASIAEXAM", "wJalrXUt", "IQoJb3Jp", "zK9mQ2pL", "FwoGZXIv",
	};
	char line[1024];
	size_t i;

	ob_error_str(err, line, sizeof(line));
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		ck_assert_msg(strstr(err->message, secrets[i]) == NULL,
			      "message leaks \"%s\": %s", secrets[i], err->message);
		ck_assert_msg(strstr(line, secrets[i]) == NULL, "rendered error leaks \"%s\"",
			      secrets[i]);
	}
}

/* Request i was `method url`, over the IMDS settings, with the session
 * token header token (NULL: absent) and the TTL header when ttl. */
static void assert_req(size_t i, const char *method, const char *url, const char *token,
		       bool ttl)
{
	char v[256];

	ck_assert_uint_gt(fake.n_records, i);
	ck_assert_str_eq(fake.records[i].method, method);
	ck_assert_str_eq(fake.records[i].url, url);
	if (token != NULL) {
		ck_assert_ptr_nonnull(ob_http_fake_header(&fake, i, "X-aws-ec2-metadata-token",
							  v, sizeof(v)));
		ck_assert_str_eq(v, token);
	} else {
		ck_assert_ptr_null(ob_http_fake_header(&fake, i, "X-aws-ec2-metadata-token", v,
						       sizeof(v)));
	}
	if (ttl) {
		ck_assert_ptr_nonnull(ob_http_fake_header(
			&fake, i, "X-aws-ec2-metadata-token-ttl-seconds", v, sizeof(v)));
		ck_assert_str_eq(v, "21600");
	} else {
		ck_assert_ptr_null(ob_http_fake_header(
			&fake, i, "X-aws-ec2-metadata-token-ttl-seconds", v, sizeof(v)));
	}
	ck_assert_msg(sent[i].allow_plain_http, "request %zu must allow plain http", i);
	ck_assert_msg(sent[i].timeout_ms >= 1000 && sent[i].timeout_ms <= 5000,
		      "request %zu timeout %ld ms is not short", i, sent[i].timeout_ms);
	ck_assert_uint_eq(fake.records[i].body.len, 0);
}

static void assert_creds(const struct ob_creds *c, const char *id, const char *secret,
			 const char *token, int64_t exp_ms)
{
	ck_assert_str_eq(c->access_key_id, id);
	ck_assert_str_eq(c->secret_access_key, secret);
	if (token == NULL)
		ck_assert_ptr_null(c->session_token);
	else
		ck_assert_str_eq(c->session_token, token);
	ck_assert_int_eq(c->expiration_ms, exp_ms);
}

static void assert_get_fails(enum ob_err_kind kind, struct ob_error *err)
{
	struct ob_creds c;

	memset(&c, 0xa5, sizeof(c));
	ck_assert_int_eq(ob_creds_provider_get(prov, &c, err), -1);
	ck_assert_msg(err->kind == kind, "kind %s, want %s: %s", ob_error_kind_name(err->kind),
		      ob_error_kind_name(kind), err->message);
	ck_assert_msg(err->message[0] != '\0', "empty message");
	ck_assert_ptr_null(c.access_key_id);
	ck_assert_ptr_null(c.secret_access_key);
	ck_assert_ptr_null(c.session_token);
	assert_no_secrets(err);
}

/* The first fetch: token, role listing, document. */
static void push_fetch(const char *imds_token, const char *doc)
{
	ob_http_fake_push(&fake, 200, imds_token, NULL);
	ob_http_fake_push(&fake, 200, ROLE "\n", NULL);
	ob_http_fake_push(&fake, 200, doc, NULL);
}

/* A fetch with the session token still cached: listing, document. */
static void push_refresh(const char *doc)
{
	ob_http_fake_push(&fake, 200, ROLE "\n", NULL);
	ob_http_fake_push(&fake, 200, doc, NULL);
}

static void get_ok(struct ob_creds *c)
{
	struct ob_error err;

	ck_assert_msg(ob_creds_provider_get(prov, c, &err) == 0, "get: %s", err.message);
	ck_assert_int_eq(err.kind, OB_ERR_NONE);
}

/* ---- env ---------------------------------------------------------------- */

static struct ob_creds_provider *env_new(void)
{
	struct ob_creds_options opt = { 0 };
	struct ob_creds_provider *p;

	opt.source = OB_CREDS_ENV;
	opt.clock = &tclock;
	p = ob_creds_provider_new(&opt, NULL);
	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(test_env_full)
{
	struct ob_creds c;

	setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	setenv("AWS_SESSION_TOKEN", TOKEN, 1);
	prov = env_new();
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, 0);
	/* copies, not the environment's own storage */
	ck_assert_ptr_ne(c.secret_access_key, getenv("AWS_SECRET_ACCESS_KEY"));
	ck_assert_uint_eq(fake.n_records, 0);
}
END_TEST

START_TEST(test_env_no_token)
{
	struct ob_creds c;

	setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	prov = env_new();
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, NULL, 0);
	setenv("AWS_SESSION_TOKEN", "", 1);
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, NULL, 0);
}
END_TEST

static const struct env_case {
	const char *id, *secret, *token; /* NULL: unset */
	const char *names;               /* variable the message must name */
} env_bad[] = {
	{ NULL, NULL, NULL, "AWS_ACCESS_KEY_ID" },
	{ NULL, SECRET, TOKEN, "AWS_ACCESS_KEY_ID" },
	{ "", SECRET, NULL, "AWS_ACCESS_KEY_ID" },
	{ KEY_ID, NULL, TOKEN, "AWS_SECRET_ACCESS_KEY" },
	{ KEY_ID, "", NULL, "AWS_SECRET_ACCESS_KEY" },
	{ KEY_ID, SECRET "\n", NULL, "AWS_SECRET_ACCESS_KEY" },
	{ KEY_ID, "wJalrXUt " SECRET, NULL, "AWS_SECRET_ACCESS_KEY" },
	{ KEY_ID, SECRET, TOKEN "\r\nX-Injected: 1", "AWS_SESSION_TOKEN" },
	{ KEY_ID "\t", SECRET, NULL, "AWS_ACCESS_KEY_ID" },
};

START_TEST(test_env_missing)
{
	const struct env_case *ec = &env_bad[_i];
	struct ob_error err;

	if (ec->id)
		setenv("AWS_ACCESS_KEY_ID", ec->id, 1);
	if (ec->secret)
		setenv("AWS_SECRET_ACCESS_KEY", ec->secret, 1);
	if (ec->token)
		setenv("AWS_SESSION_TOKEN", ec->token, 1);
	prov = env_new();
	assert_get_fails(OB_ERR_CREDS, &err);
	ck_assert_msg(strstr(err.message, ec->names) != NULL, "message does not name %s: %s",
		      ec->names, err.message);
}
END_TEST

START_TEST(test_env_reread)
{
	struct ob_creds c;
	struct ob_error err;

	setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	prov = env_new();
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, NULL, 0);

	setenv("AWS_ACCESS_KEY_ID", KEY_ID2, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET2, 1);
	setenv("AWS_SESSION_TOKEN", TOKEN2, 1);
	get_ok(&c);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, 0);

	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_get_fails(OB_ERR_CREDS, &err);
	ck_assert_ptr_nonnull(strstr(err.message, "AWS_SECRET_ACCESS_KEY"));
	ck_assert_ptr_nonnull(strstr(err.message, "not set"));
}
END_TEST

/* ---- static ------------------------------------------------------------- */

START_TEST(test_static_ok)
{
	char id[] = KEY_ID, secret[] = SECRET;
	struct ob_creds_options opt = { 0 };
	struct ob_creds c;

	opt.source = OB_CREDS_STATIC;
	opt.access_key_id = id;
	opt.secret_access_key = secret;
	prov = ob_creds_provider_new(&opt, NULL);
	ck_assert_ptr_nonnull(prov);
	/* the provider holds copies: the caller may wipe its own */
	memset(id, 'x', sizeof(id) - 1);
	memset(secret, 'x', sizeof(secret) - 1);
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, NULL, 0);
	/* nothing to fetch anew: invalidate keeps them */
	ob_creds_provider_invalidate(prov);
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, NULL, 0);
	ck_assert_uint_eq(fake.n_records, 0);
}
END_TEST

static const struct static_case {
	const char *id, *secret, *names;
} static_bad[] = {
	{ NULL, SECRET, "access_key_id" },
	{ "", SECRET, "access_key_id" },
	{ KEY_ID, NULL, "secret_access_key" },
	{ KEY_ID, "", "secret_access_key" },
	{ NULL, NULL, "access_key_id" },
	{ KEY_ID, SECRET "\n", "secret_access_key" },
};

START_TEST(test_static_missing)
{
	const struct static_case *sc = &static_bad[_i];
	struct ob_creds_options opt = { 0 };
	struct ob_error err;

	opt.source = OB_CREDS_STATIC;
	opt.access_key_id = sc->id;
	opt.secret_access_key = sc->secret;
	ck_assert_ptr_null(ob_creds_provider_new(&opt, &err));
	ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
	ck_assert_msg(strstr(err.message, sc->names) != NULL, "message does not name %s: %s",
		      sc->names, err.message);
	assert_no_secrets(&err);
}
END_TEST

/* ---- options ------------------------------------------------------------ */

START_TEST(test_new_invalid)
{
	struct ob_creds_options opt = { 0 };
	struct ob_error err;

	ck_assert_ptr_null(ob_creds_provider_new(NULL, &err));
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);

	opt.source = (enum ob_creds_source)42;
	ck_assert_ptr_null(ob_creds_provider_new(&opt, &err));
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);

	/* instance without a transport */
	opt.source = OB_CREDS_INSTANCE;
	ck_assert_ptr_null(ob_creds_provider_new(&opt, &err));
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);

	/* err may be NULL */
	ck_assert_ptr_null(ob_creds_provider_new(&opt, NULL));
	ob_creds_provider_free(NULL);
	ob_creds_provider_invalidate(NULL);
}
END_TEST

START_TEST(test_source_names)
{
	ck_assert_str_eq(ob_creds_source_name(OB_CREDS_INSTANCE), "instance");
	ck_assert_str_eq(ob_creds_source_name(OB_CREDS_ENV), "env");
	ck_assert_str_eq(ob_creds_source_name(OB_CREDS_STATIC), "static");
	ck_assert_str_eq(ob_creds_source_name((enum ob_creds_source)9), "unknown");
}
END_TEST

/* ---- instance: the happy path and caching -------------------------------- */

START_TEST(test_instance_happy)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	ck_assert_uint_eq(fake.n_records, 0); /* no I/O in _new */
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
	ck_assert_uint_eq(fake.n_records, 3);
	assert_req(0, "PUT", TOKEN_URL, NULL, true);
	assert_req(1, "GET", ROLES_URL, IMDS_TOK1, false);
	assert_req(2, "GET", ROLE_URL, IMDS_TOK1, false);
}
END_TEST

START_TEST(test_instance_default_url)
{
	struct ob_creds c;

	prov = instance_new(NULL, 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	ck_assert_str_eq(fake.records[0].url, "http://169.254.169.254/latest/api/token");
	ob_creds_provider_free(prov);

	/* the configuration's "" means unset; a trailing '/' is not doubled */
	prov = instance_new("", 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	ck_assert_str_eq(fake.records[3].url, "http://169.254.169.254/latest/api/token");
	ob_creds_provider_free(prov);

	prov = instance_new(IMDS "/", 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	ck_assert_str_eq(fake.records[6].url, TOKEN_URL);
	ck_assert_str_eq(fake.records[8].url, ROLE_URL);
}
END_TEST

/* moto's emulator omits Code, Type and LastUpdated; the credentials are
 * still complete, so the document is accepted. */
START_TEST(test_instance_moto_document)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	push_fetch("fake-imdsv2-token",
		   "{\"AccessKeyId\": \"" KEY_ID "\", \"SecretAccessKey\": \"" SECRET
		   "\", \"Token\": \"" TOKEN "\", \"Expiration\": \"" EXP "\"}");
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
}
END_TEST

START_TEST(test_instance_cached)
{
	struct ob_creds c1, c2;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c1);
	t_now += HOUR_MS;
	get_ok(&c2);
	ck_assert_uint_eq(fake.n_records, 3);
	assert_creds(&c2, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
	ck_assert_ptr_eq(c1.secret_access_key, c2.secret_access_key);
}
END_TEST

/* ---- instance: refresh timing ------------------------------------------- */

START_TEST(test_instance_refresh_at_margin)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);

	t_now = iso_ms(EXP) - 5 * MIN_MS - 1;
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 3);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));

	t_now = iso_ms(EXP) - 5 * MIN_MS;
	push_refresh(DOC2);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 5);
	/* the session token is still good: no new PUT */
	assert_req(3, "GET", ROLES_URL, IMDS_TOK1, false);
	assert_req(4, "GET", ROLE_URL, IMDS_TOK1, false);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));
}
END_TEST

/* The margin cannot go below 5 minutes; larger margins are honoured. */
START_TEST(test_instance_margin)
{
	struct ob_creds c;

	prov = instance_new(IMDS, MIN_MS);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	t_now = iso_ms(EXP) - 5 * MIN_MS;
	push_refresh(DOC2);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 5);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));
	ob_creds_provider_free(prov);

	prov = instance_new(IMDS, 20 * MIN_MS);
	t_now = iso_ms(T0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	t_now = iso_ms(EXP) - 20 * MIN_MS - 1;
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 8);
	t_now += 1;
	push_refresh(DOC2);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 10);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));
	ob_creds_provider_free(prov);

	/* absurd margins neither overflow (UBSan) nor refresh on every call */
	prov = instance_new(IMDS, INT64_MAX);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 13);
	t_now += 30 * 1000;
	push_refresh(DOC2);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 15);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));
}
END_TEST

/* Failing refresh replies, as the listing's answer (the token is cached). */
static const struct refresh_fail {
	long status; /* 0: transport failure */
	const char *body;
	enum ob_err_kind kind; /* of the error once the credentials expired */
} refresh_fails[] = {
	{ 0, NULL, OB_ERR_TRANSPORT },
	{ 500, "oops", OB_ERR_CREDS },
	{ 503, "", OB_ERR_CREDS },
	{ 404, "", OB_ERR_CREDS },
	{ 200, "", OB_ERR_CREDS },
	{ 200, "bad/role", OB_ERR_PARSE },
};

START_TEST(test_instance_refresh_fail_keeps_valid)
{
	const struct refresh_fail *rf = &refresh_fails[_i];
	struct ob_creds c;
	struct ob_error err;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);

	t_now = iso_ms(EXP) - 4 * MIN_MS;
	ob_http_fake_push(&fake, rf->status, rf->body, NULL);
	memset(&err, 0xa5, sizeof(err));
	ck_assert_int_eq(ob_creds_provider_get(prov, &c, &err), 0);
	ck_assert_int_eq(err.kind, OB_ERR_NONE);
	ck_assert_str_eq(err.message, "");
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
	ck_assert_uint_eq(fake.n_records, 4);

	/* IMDS is not asked again on every call while it is failing */
	t_now += 29 * 1000;
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 4);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));

	/* ... but once the credentials expire, the failure is the caller's
	 * (by then the 6 h session token is due for renewal too) */
	t_now = iso_ms(EXP);
	ob_http_fake_push(&fake, 200, IMDS_TOK2, NULL);
	ob_http_fake_push(&fake, rf->status, rf->body, NULL);
	assert_get_fails(rf->kind, &err);
	ck_assert_uint_eq(fake.n_records, 6);
	assert_req(4, "PUT", TOKEN_URL, NULL, true);
	assert_req(5, "GET", ROLES_URL, IMDS_TOK2, false);
	if (rf->status != 0 && rf->status != 200)
		ck_assert_int_eq(err.http_status, rf->status);

	/* nothing stale is served afterwards; a working IMDS recovers */
	assert_get_fails(OB_ERR_TRANSPORT, &err); /* no reply queued */
	push_refresh(DOC2);
	get_ok(&c);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));
}
END_TEST

START_TEST(test_instance_refresh_retried_after_pause)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);

	t_now = iso_ms(EXP) - 5 * MIN_MS;
	ob_http_fake_push(&fake, 500, "", NULL);
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
	t_now += 30 * 1000;
	push_refresh(DOC2);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 6);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));
}
END_TEST

START_TEST(test_instance_fail_without_cache)
{
	struct ob_error err;

	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, 0, NULL, NULL);
	assert_get_fails(OB_ERR_TRANSPORT, &err);
	ck_assert_ptr_nonnull(strstr(err.message, "IMDS"));
	ck_assert_uint_eq(fake.n_records, 1);
	/* no pause when there is nothing to fall back on */
	push_fetch(IMDS_TOK1, DOC);
	{
		struct ob_creds c;

		get_ok(&c);
		assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
	}
}
END_TEST

/* IMDS may hand out credentials that are already inside the margin; they are
 * used, and the next attempt waits for the pause rather than every call. */
START_TEST(test_instance_short_lived)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, "{" F_CODE F_TYPE F_ID F_SECRET F_TOKEN
				"\"Expiration\":\"2026-11-22T14:02:00Z\"," F_LAST "}");
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms("2026-11-22T14:02:00Z"));
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 3);
	t_now += 30 * 1000;
	push_refresh(DOC2);
	get_ok(&c);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));
}
END_TEST

START_TEST(test_instance_invalidate)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	ob_creds_provider_invalidate(prov);
	push_refresh(DOC2);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 5);
	assert_req(3, "GET", ROLES_URL, IMDS_TOK1, false);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));
}
END_TEST

/* ---- instance: the IMDSv2 session token --------------------------------- */

START_TEST(test_instance_401_new_token)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	ob_creds_provider_invalidate(prov);

	ob_http_fake_push(&fake, 401, "", NULL);
	ob_http_fake_push(&fake, 200, IMDS_TOK2, NULL);
	push_refresh(DOC2);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 7);
	assert_req(3, "GET", ROLES_URL, IMDS_TOK1, false);
	assert_req(4, "PUT", TOKEN_URL, NULL, true);
	assert_req(5, "GET", ROLES_URL, IMDS_TOK2, false);
	assert_req(6, "GET", ROLE_URL, IMDS_TOK2, false);
	assert_creds(&c, KEY_ID2, SECRET2, TOKEN2, iso_ms(EXP2));

	/* a 401 on the document itself is handled the same way */
	ob_creds_provider_invalidate(prov);
	ob_http_fake_push(&fake, 200, ROLE, NULL);
	ob_http_fake_push(&fake, 401, "", NULL);
	ob_http_fake_push(&fake, 200, IMDS_TOK1, NULL);
	ob_http_fake_push(&fake, 200, DOC, NULL);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 11);
	assert_req(8, "GET", ROLE_URL, IMDS_TOK2, false);
	assert_req(9, "PUT", TOKEN_URL, NULL, true);
	assert_req(10, "GET", ROLE_URL, IMDS_TOK1, false);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
}
END_TEST

START_TEST(test_instance_401_twice)
{
	struct ob_error err;

	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, 200, IMDS_TOK1, NULL);
	ob_http_fake_push(&fake, 401, "", NULL);
	ob_http_fake_push(&fake, 200, IMDS_TOK2, NULL);
	ob_http_fake_push(&fake, 401, "", NULL);
	assert_get_fails(OB_ERR_CREDS, &err);
	ck_assert_int_eq(err.http_status, 401);
	ck_assert_uint_eq(fake.n_records, 4);
}
END_TEST

START_TEST(test_instance_token_ttl)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, DOC2); /* valid for 12 h, longer than the token */
	get_ok(&c);

	/* 5 h 58 min: the 6 h token is still used */
	t_now += 5 * HOUR_MS + 58 * MIN_MS;
	ob_creds_provider_invalidate(prov);
	push_refresh(DOC2);
	get_ok(&c);
	assert_req(3, "GET", ROLES_URL, IMDS_TOK1, false);

	/* 5 h 59 min: within a minute of its end, a new one is fetched first */
	t_now += MIN_MS;
	ob_creds_provider_invalidate(prov);
	push_fetch(IMDS_TOK2, DOC2);
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 8);
	assert_req(5, "PUT", TOKEN_URL, NULL, true);
	assert_req(6, "GET", ROLES_URL, IMDS_TOK2, false);
	assert_req(7, "GET", ROLE_URL, IMDS_TOK2, false);
}
END_TEST

static const struct token_case {
	long status;
	const char *body;
	enum ob_err_kind kind;
} token_bad[] = {
	{ 0, NULL, OB_ERR_TRANSPORT },
	{ 403, "Forbidden", OB_ERR_CREDS },
	{ 404, "", OB_ERR_CREDS },
	{ 500, "", OB_ERR_CREDS },
	{ 200, "", OB_ERR_PARSE },
	{ 200, IMDS_TOK1 "\r\nX-Injected: 1", OB_ERR_PARSE },
	{ 200, "imds-session token", OB_ERR_PARSE },
};

START_TEST(test_instance_token_fails)
{
	const struct token_case *tc = &token_bad[_i];
	struct ob_error err;

	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, tc->status, tc->body, NULL);
	assert_get_fails(tc->kind, &err);
	ck_assert_uint_eq(fake.n_records, 1);
	if (tc->status != 0 && tc->status != 200)
		ck_assert_int_eq(err.http_status, tc->status);
}
END_TEST

START_TEST(test_instance_token_too_long)
{
	char *big = malloc(5000);
	struct ob_error err;

	ck_assert_ptr_nonnull(big);
	memset(big, 'A', 4999);
	big[4999] = '\0';
	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, 200, big, NULL);
	free(big);
	assert_get_fails(OB_ERR_PARSE, &err);
}
END_TEST

/* ---- instance: role listing --------------------------------------------- */

START_TEST(test_instance_no_role)
{
	struct ob_error err;

	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, 200, IMDS_TOK1, NULL);
	ob_http_fake_push(&fake, 404, "<html>Not Found</html>", NULL);
	assert_get_fails(OB_ERR_CREDS, &err);
	ck_assert_ptr_nonnull(strstr(err.message, "no IAM role attached to this instance"));
	ck_assert_int_eq(err.http_status, 404);
	ck_assert_uint_eq(fake.n_records, 2);
}
END_TEST

START_TEST(test_instance_role_gone)
{
	struct ob_error err;

	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, 200, IMDS_TOK1, NULL);
	ob_http_fake_push(&fake, 200, ROLE, NULL);
	ob_http_fake_push(&fake, 404, "", NULL);
	assert_get_fails(OB_ERR_CREDS, &err);
	ck_assert_ptr_nonnull(strstr(err.message, ROLE));
	ck_assert_int_eq(err.http_status, 404);
}
END_TEST

START_TEST(test_instance_status_errors)
{
	struct ob_error err;

	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, 200, IMDS_TOK1, NULL);
	ob_http_fake_push(&fake, 500, "", NULL);
	assert_get_fails(OB_ERR_CREDS, &err);
	ck_assert_int_eq(err.http_status, 500);

	ob_http_fake_push(&fake, 200, ROLE, NULL);
	ob_http_fake_push(&fake, 503, SECRET, NULL); /* a body is never quoted */
	assert_get_fails(OB_ERR_CREDS, &err);
	ck_assert_int_eq(err.http_status, 503);

	ob_http_fake_push(&fake, 200, ROLE, NULL);
	ob_http_fake_push(&fake, 0, NULL, NULL);
	assert_get_fails(OB_ERR_TRANSPORT, &err);
	ck_assert_uint_eq(fake.n_records, 6);
}
END_TEST

/* Role-name extraction and validation, one row per listing body. want NULL:
 * refused with kind, and the document is never requested. */
static const struct role_case {
	const char *listing;
	const char *want;
	enum ob_err_kind kind;
} roles[] = {
	{ "ob-backup-role", "ob-backup-role", OB_ERR_NONE },
	{ "ob-backup-role\n", "ob-backup-role", OB_ERR_NONE },
	{ "  ob-backup-role \r\n", "ob-backup-role", OB_ERR_NONE },
	{ "\tob-backup-role\t", "ob-backup-role", OB_ERR_NONE },
	{ "first\nsecond\n", "first", OB_ERR_NONE },
	{ "a", "a", OB_ERR_NONE },
	{ "Role+=,.@_-9", "Role+=,.@_-9", OB_ERR_NONE },
	{ "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr",
	  "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr", OB_ERR_NONE },
	{ "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr", NULL,
	  OB_ERR_PARSE }, /* 65 characters */
	{ "", NULL, OB_ERR_CREDS },
	{ "\n", NULL, OB_ERR_CREDS },
	{ "   \r\n", NULL, OB_ERR_CREDS },
	{ "\nob-backup-role", NULL, OB_ERR_CREDS },
	{ "a/b", NULL, OB_ERR_PARSE },
	{ "/", NULL, OB_ERR_PARSE },
	{ "../../api/token", NULL, OB_ERR_PARSE },
	{ "role name", NULL, OB_ERR_PARSE },
	{ "role?x=1", NULL, OB_ERR_PARSE },
	{ "role#frag", NULL, OB_ERR_PARSE },
	{ "role%2Fx", NULL, OB_ERR_PARSE },
	{ "r\xc3\xb4le", NULL, OB_ERR_PARSE },
	{ "role\x01", NULL, OB_ERR_PARSE },
	{ "{\"role\":1}", NULL, OB_ERR_PARSE },
};

START_TEST(test_role_names)
{
	const struct role_case *rc = &roles[_i];
	char url[256];
	struct ob_creds c;
	struct ob_error err;

	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, 200, IMDS_TOK1, NULL);
	ob_http_fake_push(&fake, 200, rc->listing, NULL);
	if (rc->want != NULL) {
		ob_http_fake_push(&fake, 200, DOC, NULL);
		get_ok(&c);
		snprintf(url, sizeof(url), "%s%s", ROLES_URL, rc->want);
		ck_assert_uint_eq(fake.n_records, 3);
		ck_assert_str_eq(fake.records[2].url, url);
	} else {
		assert_get_fails(rc->kind, &err);
		ck_assert_uint_eq(fake.n_records, 2);
	}
}
END_TEST

/* ---- instance: malformed credential documents --------------------------- */

static const struct doc_case {
	const char *name;
	const char *body;
	size_t pad_to; /* > 0: body padded with spaces to this many bytes */
	enum ob_err_kind kind;
} docs[] = {
	{ "garbage", "\xff\xfe\x01garbage{", 0, OB_ERR_PARSE },
	{ "html", "<html><body>error</body></html>", 0, OB_ERR_PARSE },
	{ "empty", "", 0, OB_ERR_PARSE },
	{ "truncated in secret",
	  "{" F_CODE F_TYPE F_ID "\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG", 0, OB_ERR_PARSE },
	{ "truncated after token", "{" F_CODE F_TYPE F_ID F_SECRET F_TOKEN, 0, OB_ERR_PARSE },
	/* jansson's own error text quotes the input near the fault: these
	 * put the fault inside a secret */
	{ "raw newline in secret",
	  "{" F_CODE F_ID "\"SecretAccessKey\":\"wJalrXUtnFEMI\nK7MDENG\"," F_TOKEN F_EXP F_LAST "}", 0,
	  OB_ERR_PARSE },
	{ "bad escape in token",
	  "{" F_CODE F_ID F_SECRET "\"Token\":\"IQoJb3JpZ2lu\\x\"," F_EXP F_LAST "}", 0, OB_ERR_PARSE },
	{ "unquoted secret", "{" F_CODE F_ID "\"SecretAccessKey\":wJalrXUtnFEMI," F_TOKEN F_EXP F_LAST "}",
	  0, OB_ERR_PARSE },
	{ "trailing garbage", DOC "x", 0, OB_ERR_PARSE },
	{ "two documents", DOC DOC, 0, OB_ERR_PARSE },
	{ "array", "[" DOC "]", 0, OB_ERR_PARSE },
	{ "string", "\"" SECRET "\"", 0, OB_ERR_PARSE },
	{ "null", "null", 0, OB_ERR_PARSE },
	{ "duplicate key", "{" F_CODE F_ID F_SECRET F_TOKEN F_EXP "\"SecretAccessKey\":\"" SECRET2 "\"}",
	  0, OB_ERR_PARSE },
	{ "Code Failure", "{\"Code\":\"Failure\"," F_TYPE F_ID F_SECRET F_TOKEN F_EXP F_LAST "}", 0,
	  OB_ERR_CREDS },
	{ "Code Failure, no fields", "{\"Code\":\"Failure\",\"Message\":\"no role\"}", 0,
	  OB_ERR_CREDS },
	{ "Code number", "{\"Code\":0," F_TYPE F_ID F_SECRET F_TOKEN F_EXP F_LAST "}", 0,
	  OB_ERR_PARSE },
	{ "Code secret-like", "{\"Code\":\"" SECRET "\"," F_ID F_SECRET F_TOKEN F_EXP F_LAST "}", 0,
	  OB_ERR_CREDS },
	{ "Type other", "{" F_CODE "\"Type\":\"AWS-OTHER\"," F_ID F_SECRET F_TOKEN F_EXP F_LAST "}",
	  0, OB_ERR_CREDS },
	{ "no AccessKeyId", "{" F_CODE F_TYPE F_SECRET F_TOKEN F_EXP F_LAST "}", 0, OB_ERR_PARSE },
	{ "no SecretAccessKey", "{" F_CODE F_TYPE F_ID F_TOKEN F_EXP F_LAST "}", 0, OB_ERR_PARSE },
	{ "no Token", "{" F_CODE F_TYPE F_ID F_SECRET F_EXP F_LAST "}", 0, OB_ERR_PARSE },
	{ "no Expiration", "{" F_CODE F_TYPE F_ID F_SECRET F_TOKEN F_LAST "}", 0, OB_ERR_PARSE },
	{ "AccessKeyId number", "{" F_CODE "\"AccessKeyId\":1234," F_SECRET F_TOKEN F_EXP F_LAST "}",
	  0, OB_ERR_PARSE },
	{ "SecretAccessKey null", "{" F_CODE F_ID "\"SecretAccessKey\":null," F_TOKEN F_EXP F_LAST "}",
	  0, OB_ERR_PARSE },
	{ "Token object", "{" F_CODE F_ID F_SECRET "\"Token\":{\"v\":\"" TOKEN "\"}," F_EXP F_LAST "}",
	  0, OB_ERR_PARSE },
	{ "Token array", "{" F_CODE F_ID F_SECRET "\"Token\":[\"" TOKEN "\"]," F_EXP F_LAST "}", 0,
	  OB_ERR_PARSE },
	{ "Expiration number", "{" F_CODE F_ID F_SECRET F_TOKEN "\"Expiration\":1795550400," F_LAST "}",
	  0, OB_ERR_PARSE },
	{ "Expiration words", "{" F_CODE F_ID F_SECRET F_TOKEN "\"Expiration\":\"tomorrow\"," F_LAST "}",
	  0, OB_ERR_PARSE },
	{ "Expiration month 13",
	  "{" F_CODE F_ID F_SECRET F_TOKEN "\"Expiration\":\"2026-13-22T20:00:00Z\"," F_LAST "}", 0,
	  OB_ERR_PARSE },
	{ "Expiration no zone",
	  "{" F_CODE F_ID F_SECRET F_TOKEN "\"Expiration\":\"2026-11-22T20:00:00\"," F_LAST "}", 0,
	  OB_ERR_PARSE },
	{ "Expiration empty", "{" F_CODE F_ID F_SECRET F_TOKEN "\"Expiration\":\"\"," F_LAST "}", 0,
	  OB_ERR_PARSE },
	{ "Expiration past",
	  "{" F_CODE F_ID F_SECRET F_TOKEN "\"Expiration\":\"2026-11-22T13:00:00Z\"," F_LAST "}", 0,
	  OB_ERR_CREDS },
	{ "Expiration now",
	  "{" F_CODE F_ID F_SECRET F_TOKEN "\"Expiration\":\"" T0 "\"," F_LAST "}", 0, OB_ERR_CREDS },
	{ "empty SecretAccessKey", "{" F_CODE F_ID "\"SecretAccessKey\":\"\"," F_TOKEN F_EXP F_LAST "}",
	  0, OB_ERR_PARSE },
	{ "newline in Token", "{" F_CODE F_ID F_SECRET "\"Token\":\"" TOKEN "\\r\\nX: 1\"," F_EXP F_LAST "}",
	  0, OB_ERR_PARSE },
	{ "NUL in SecretAccessKey",
	  "{" F_CODE F_ID "\"SecretAccessKey\":\"" SECRET "\\u0000x\"," F_TOKEN F_EXP F_LAST "}", 0,
	  OB_ERR_PARSE },
	{ "non-ASCII AccessKeyId",
	  "{" F_CODE "\"AccessKeyId\":\"ASIA\\u00e9\"," F_SECRET F_TOKEN F_EXP F_LAST "}", 0,
	  OB_ERR_PARSE },
	{ "deep nesting", "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	  0, OB_ERR_PARSE },
	{ "1 MiB document", DOC, 1024 * 1024, OB_ERR_PARSE },
	{ "64 KiB + 1 document", DOC, 64 * 1024 + 1, OB_ERR_PARSE },
};

START_TEST(test_instance_bad_document)
{
	const struct doc_case *dc = &docs[_i];
	struct ob_error err;
	char *body;
	size_t len = strlen(dc->body);

	prov = instance_new(IMDS, 0);
	body = malloc((dc->pad_to > len ? dc->pad_to : len) + 1);
	ck_assert_ptr_nonnull(body);
	memcpy(body, dc->body, len);
	if (dc->pad_to > len) {
		memset(body + len, ' ', dc->pad_to - len);
		len = dc->pad_to;
	}
	body[len] = '\0';
	push_fetch(IMDS_TOK1, body);
	free(body);
	assert_get_fails(dc->kind, &err);
	ck_assert_msg(fake.n_records == 3, "%s: %zu requests", dc->name, fake.n_records);
}
END_TEST

/* The size limit is a limit, not an off-by-one: exactly 64 KiB parses. */
START_TEST(test_instance_document_at_limit)
{
	size_t len = strlen(DOC), max = 64 * 1024;
	char *body = malloc(max + 1);
	struct ob_creds c;

	ck_assert_ptr_nonnull(body);
	memcpy(body, DOC, len);
	memset(body + len, '\n', max - len);
	body[max] = '\0';
	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, body);
	free(body);
	get_ok(&c);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
}
END_TEST

/* A huge role listing is refused before it is looked at. */
START_TEST(test_instance_huge_listing)
{
	char *body = malloc(1024 * 1024 + 1);
	struct ob_error err;

	ck_assert_ptr_nonnull(body);
	memset(body, 'r', 1024 * 1024);
	body[1024 * 1024] = '\0';
	prov = instance_new(IMDS, 0);
	ob_http_fake_push(&fake, 200, IMDS_TOK1, NULL);
	ob_http_fake_push(&fake, 200, body, NULL);
	free(body);
	assert_get_fails(OB_ERR_PARSE, &err);
	ck_assert_uint_eq(fake.n_records, 2);
}
END_TEST

/* A bad document while cached credentials are still valid is survived like
 * any other refresh failure. */
START_TEST(test_instance_bad_document_keeps_valid)
{
	struct ob_creds c;

	prov = instance_new(IMDS, 0);
	push_fetch(IMDS_TOK1, DOC);
	get_ok(&c);
	t_now = iso_ms(EXP) - 2 * MIN_MS;
	push_refresh("{\"Code\":\"Failure\"}");
	get_ok(&c);
	ck_assert_uint_eq(fake.n_records, 5);
	assert_creds(&c, KEY_ID, SECRET, TOKEN, iso_ms(EXP));
}
END_TEST

Suite *ob_suite_creds(void)
{
	Suite *s = suite_create("creds");
	TCase *tc;

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
	tc = tcase_create("env");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_env_full);
	tcase_add_test(tc, test_env_no_token);
	tcase_add_loop_test(tc, test_env_missing, 0, N(env_bad));
	tcase_add_test(tc, test_env_reread);
	suite_add_tcase(s, tc);

	tc = tcase_create("static");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_static_ok);
	tcase_add_loop_test(tc, test_static_missing, 0, N(static_bad));
	tcase_add_test(tc, test_new_invalid);
	tcase_add_test(tc, test_source_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("instance");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_instance_happy);
	tcase_add_test(tc, test_instance_default_url);
	tcase_add_test(tc, test_instance_moto_document);
	tcase_add_test(tc, test_instance_cached);
	tcase_add_test(tc, test_instance_refresh_at_margin);
	tcase_add_test(tc, test_instance_margin);
	tcase_add_loop_test(tc, test_instance_refresh_fail_keeps_valid, 0, N(refresh_fails));
	tcase_add_test(tc, test_instance_refresh_retried_after_pause);
	tcase_add_test(tc, test_instance_fail_without_cache);
	tcase_add_test(tc, test_instance_short_lived);
	tcase_add_test(tc, test_instance_invalidate);
	tcase_add_test(tc, test_instance_401_new_token);
	tcase_add_test(tc, test_instance_401_twice);
	tcase_add_test(tc, test_instance_token_ttl);
	tcase_add_loop_test(tc, test_instance_token_fails, 0, N(token_bad));
	tcase_add_test(tc, test_instance_token_too_long);
	tcase_add_test(tc, test_instance_no_role);
	tcase_add_test(tc, test_instance_role_gone);
	tcase_add_test(tc, test_instance_status_errors);
	tcase_add_loop_test(tc, test_role_names, 0, N(roles));
	tcase_add_loop_test(tc, test_instance_bad_document, 0, N(docs));
	tcase_add_test(tc, test_instance_document_at_limit);
	tcase_add_test(tc, test_instance_huge_listing);
	tcase_add_test(tc, test_instance_bad_document_keeps_valid);
	suite_add_tcase(s, tc);
#undef N
	return s;
}
