/*
 * aws.c - the AWS request core (see ob/aws.h).
 *
 * Each call runs the AWS SDKs' standard retry mode: up to max_attempts
 * requests, capped exponential backoff with full jitter between them, only
 * for errors ob_retry_classify() calls retryable. Two corrections do not
 * count as attempts and happen at most once per call: a clock-skew answer
 * sets the offset from the server's Date header, and an expired-token
 * answer makes the credentials provider fetch new credentials. The waits
 * here are per request and short (20 s cap); the job-level backoff that
 * survives restarts belongs to the job scheduler, not to this layer.
 */
#include "ob/aws.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "ob/retry.h"
#include "ob/sigv4.h"
#include "ob/uri.h"

#define MAX_SERVICES 8

struct service_endpoint {
	char name[32];
	char *url;
};

struct ob_aws {
	struct ob_aws_options opt;
	char *region;
	char *endpoint_url;
	struct ob_sigv4 *signer;
	struct service_endpoint services[MAX_SERVICES];
	int64_t clock_offset_ms;
	uint32_t rng;
	struct ob_aws_stats stats;
	struct ob_aws_action_stats actions[OB_AWS_ACTIONS_MAX];
	size_t n_actions;
	unsigned lim_attempts;  /* ob_aws_set_call_limits(); 0 = none */
	long lim_timeout_ms;
};

static uint32_t xorshift32(void *ctx)
{
	uint32_t *s = ctx;
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

struct ob_aws *ob_aws_new(const struct ob_aws_options *opt, struct ob_error *err)
{
	struct ob_aws *aws;

	if (opt == NULL || opt->region == NULL || opt->region[0] == '\0' ||
	    opt->http.perform == NULL || opt->creds == NULL) {
		ob_error_set(err, OB_ERR_INVALID, "AWS client needs a region, a transport and credentials");
		return NULL;
	}
	aws = calloc(1, sizeof(*aws));
	if (aws == NULL)
		goto nomem;
	aws->opt = *opt;
	if (aws->opt.clock == NULL)
		aws->opt.clock = ob_clock_system();
	if (aws->opt.max_attempts == 0)
		aws->opt.max_attempts = 3;
	if (aws->opt.backoff_base_ms <= 0)
		aws->opt.backoff_base_ms = 100;
	if (aws->opt.backoff_cap_ms <= 0)
		aws->opt.backoff_cap_ms = 20000;
	if (aws->opt.random == NULL) {
		if (getrandom(&aws->rng, sizeof(aws->rng), 0) != (ssize_t)sizeof(aws->rng) ||
		    aws->rng == 0)
			aws->rng = 0x9e3779b9u;
		aws->opt.random = xorshift32;
		aws->opt.random_ctx = &aws->rng;
	}
	aws->region = strdup(opt->region);
	aws->endpoint_url = strdup(opt->endpoint_url ? opt->endpoint_url : "");
	if (aws->region == NULL || aws->endpoint_url == NULL)
		goto nomem;
	aws->opt.region = aws->region;
	aws->opt.endpoint_url = aws->endpoint_url;
	aws->signer = ob_sigv4_new(err);
	if (aws->signer == NULL) {
		ob_aws_free(aws);
		return NULL;
	}
	return aws;
nomem:
	ob_aws_free(aws);
	ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	return NULL;
}

void ob_aws_free(struct ob_aws *aws)
{
	size_t i;

	if (aws == NULL)
		return;
	for (i = 0; i < MAX_SERVICES; i++)
		free(aws->services[i].url);
	ob_sigv4_free(aws->signer);
	free(aws->region);
	free(aws->endpoint_url);
	free(aws);
}

const char *ob_aws_endpoint(struct ob_aws *aws, const char *service)
{
	struct service_endpoint *e;
	char url[1024];
	size_t i;
	int n;

	for (i = 0; i < MAX_SERVICES; i++) {
		e = &aws->services[i];
		if (e->url != NULL && strcmp(e->name, service) == 0)
			return e->url;
		if (e->url == NULL)
			break;
	}
	if (i == MAX_SERVICES || strlen(service) >= sizeof(e->name))
		return NULL;
	if (aws->endpoint_url[0] != '\0') {
		size_t len = strlen(aws->endpoint_url);
		int slash = len > 0 && aws->endpoint_url[len - 1] == '/';

		n = snprintf(url, sizeof(url), "%s%s", aws->endpoint_url, slash ? "" : "/");
	} else {
		n = snprintf(url, sizeof(url), "https://%s.%s.amazonaws.com/", service,
			     aws->region);
	}
	if (n < 0 || (size_t)n >= sizeof(url) || (e->url = strdup(url)) == NULL)
		return NULL;
	snprintf(e->name, sizeof(e->name), "%s", service);
	return e->url;
}

int64_t ob_aws_clock_offset_ms(const struct ob_aws *aws)
{
	return aws->clock_offset_ms;
}

void ob_aws_get_stats(const struct ob_aws *aws, struct ob_aws_stats *ret)
{
	*ret = aws->stats;
}

size_t ob_aws_get_action_stats(const struct ob_aws *aws,
			       const struct ob_aws_action_stats **ret)
{
	*ret = aws->actions;
	return aws->n_actions;
}

/* The counters of (service, action); the last slot is "other" once the
 * table is full. */
static struct ob_aws_action_stats *action_stats(struct ob_aws *aws, const char *service,
						const char *action)
{
	struct ob_aws_action_stats *a;
	size_t i;

	if (action == NULL || action[0] == '\0')
		action = "other";
	for (i = 0; i < aws->n_actions; i++) {
		a = &aws->actions[i];
		if (strcmp(a->service, service) == 0 && strcmp(a->action, action) == 0)
			return a;
	}
	if (aws->n_actions == OB_AWS_ACTIONS_MAX - 1) {
		action = "other";
		service = "other";
	}
	if (aws->n_actions == OB_AWS_ACTIONS_MAX)
		return &aws->actions[OB_AWS_ACTIONS_MAX - 1];
	a = &aws->actions[aws->n_actions++];
	snprintf(a->service, sizeof(a->service), "%s", service);
	snprintf(a->action, sizeof(a->action), "%s", action);
	return a;
}

/* --- Query parameters --- */

void ob_aws_params_init(struct ob_aws_params *p, const char *action, const char *version)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->action, sizeof(p->action), "%s", action);
	ob_aws_param(p, "Action", action);
	ob_aws_param(p, "Version", version);
}

void ob_aws_param(struct ob_aws_params *p, const char *key, const char *value)
{
	if (p->form.len > 0 && ob_buf_putc(&p->form, '&') < 0)
		p->failed = 1;
	if (ob_uri_encode(&p->form, key, strlen(key), false) < 0 ||
	    ob_buf_putc(&p->form, '=') < 0 ||
	    ob_uri_encode(&p->form, value, strlen(value), false) < 0)
		p->failed = 1;
}

void ob_aws_paramf(struct ob_aws_params *p, const char *value, const char *key_fmt, ...)
{
	char key[256];
	va_list ap;
	int n;

	va_start(ap, key_fmt);
	n = vsnprintf(key, sizeof(key), key_fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(key)) {
		p->failed = 1;
		return;
	}
	ob_aws_param(p, key, value);
}

void ob_aws_param_list(struct ob_aws_params *p, const char *prefix, const char *member,
		       const char *const *values, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ob_aws_paramf(p, values[i], "%s.%s.%zu", prefix, member, i + 1);
}

void ob_aws_params_clear(struct ob_aws_params *p)
{
	ob_buf_clear(&p->form);
	p->failed = 0;
}

/* --- error documents --- */

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = 0, lead;
	unsigned char c;

	/* Keep messages printable and on one line. */
	for (; src != NULL && *src != '\0' && n + 1 < size; src++) {
		c = (unsigned char)*src;
		dst[n++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' :
			   (c < 0x20 || c == 0x7f) ? '?' : *src;
	}
	/* The parsers hand us valid UTF-8; a cut must not leave half a
	 * character behind (jansson and the journal would refuse the text). */
	if (src != NULL && *src != '\0') {
		lead = n;
		while (lead > 0 && ((unsigned char)dst[lead - 1] & 0xc0) == 0x80)
			lead--;
		if (lead > 0 && (unsigned char)dst[lead - 1] >= 0xc0) {
			c = (unsigned char)dst[lead - 1];
			if (n - (lead - 1) < (c >= 0xf0 ? 4u : c >= 0xe0 ? 3u : 2u))
				n = lead - 1;
		}
	}
	dst[n] = '\0';
}

/* AWS appends the canonical request and string to sign to some signature
 * errors; the canonical request carries the session token. Keep only the
 * explanation before them. */
static void drop_echoed_request(char *msg)
{
	static const char *const markers[] = {
		"The Canonical String", "The String-to-Sign", "Canonical String for this request",
	};
	size_t i;
	char *hit;

	for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
		hit = strstr(msg, markers[i]);
		if (hit != NULL) {
			while (hit > msg && (hit[-1] == ' ' || hit[-1] == '\n'))
				hit--;
			*hit = '\0';
		}
	}
}

/* err->message from the error body's message: printable, without an
 * echoed request, and never empty. A message that held nothing but the
 * echo (or was "" or absent) used to leave "" behind, which renders as
 * "aws error 403 SignatureDoesNotMatch: " with nothing after the colon. */
static void set_message(struct ob_error *err, const char *msg)
{
	copy_str(err->message, sizeof(err->message), msg);
	drop_echoed_request(err->message);
	if (err->message[0] == '\0')
		snprintf(err->message, sizeof(err->message), "(no message)");
}

static int unparseable(struct ob_error *err, long http_status, const char *request_id,
		       const char *what)
{
	ob_error_set(err, OB_ERR_AWS, "HTTP %ld with %s", http_status, what);
	if (err != NULL) {
		err->http_status = http_status;
		copy_str(err->request_id, sizeof(err->request_id), request_id);
	}
	return -1;
}

int ob_aws_error_from_xml(struct ob_error *err, long http_status, const char *body,
			  size_t len, const char *request_id)
{
	struct ob_xml_doc *doc = NULL;
	const struct ob_xml_node *root, *e;
	const char *rid;

	if (len == 0 || ob_xml_parse(body, len, &doc, NULL) < 0)
		return unparseable(err, http_status, request_id,
				   len == 0 ? "an empty body" : "an unparseable error body");
	root = ob_xml_root(doc);
	e = ob_xml_child(root, "Error");
	if (e == NULL)
		e = ob_xml_path(root, "Errors/Error");
	if (e == NULL) {
		ob_xml_free(doc);
		return unparseable(err, http_status, request_id, "no <Error> in the body");
	}
	ob_error_set(err, OB_ERR_AWS, "%s", "");
	if (err != NULL) {
		err->http_status = http_status;
		copy_str(err->aws_code, sizeof(err->aws_code), ob_xml_path_text(e, "Code"));
		set_message(err, ob_xml_path_text(e, "Message"));
		rid = ob_xml_path_text(root, "RequestId");
		if (rid == NULL)
			rid = ob_xml_path_text(root, "RequestID");
		copy_str(err->request_id, sizeof(err->request_id),
			 rid && rid[0] ? rid : request_id);
	}
	ob_xml_free(doc);
	return -1;
}

int ob_aws_error_from_json(struct ob_error *err, long http_status, const char *body,
			   size_t len, const char *request_id)
{
	json_t *doc, *type, *msg;
	const char *code, *hash;

	doc = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return unparseable(err, http_status, request_id,
				   len == 0 ? "an empty body" : "an unparseable error body");
	}
	type = json_object_get(doc, "__type");
	if (type == NULL)
		type = json_object_get(doc, "code");
	msg = json_object_get(doc, "message");
	if (msg == NULL)
		msg = json_object_get(doc, "Message");
	if (!json_is_string(type)) {
		json_decref(doc);
		return unparseable(err, http_status, request_id, "no error type in the body");
	}
	code = json_string_value(type);
	hash = strrchr(code, '#');
	if (hash != NULL)
		code = hash + 1;
	ob_error_set(err, OB_ERR_AWS, "%s", "");
	if (err != NULL) {
		err->http_status = http_status;
		copy_str(err->aws_code, sizeof(err->aws_code), code);
		set_message(err, json_is_string(msg) ? json_string_value(msg) : NULL);
		copy_str(err->request_id, sizeof(err->request_id), request_id);
	}
	json_decref(doc);
	return -1;
}

/* --- one call --- */

struct call {
	const char *service;
	const char *action;   /* for the counters */
	const char *content_type;
	const char *target;   /* X-Amz-Target, or NULL */
	const char *body;
	size_t body_len;
	int json;             /* error shape */
};

/* Host (with port, as curl sends it) and path of url. */
static int host_and_path(const char *url, char *host, size_t host_size, const char **path,
			 size_t *path_len)
{
	struct ob_uri_parts u;

	if (ob_uri_split(url, &u) < 0 || u.has_userinfo || u.query != NULL ||
	    u.has_fragment || u.authority_len >= host_size)
		return -1;
	memcpy(host, u.authority, u.authority_len);
	host[u.authority_len] = '\0';
	*path = u.path_len ? u.path : "/";
	*path_len = u.path_len ? u.path_len : 1;
	return 0;
}

/* Cut err->message where a piece of secret begins. Services do not echo
 * secrets, but some echo the canonical request, which holds the session
 * token; a message cut at 512 bytes may hold only its start, so the first
 * 16 bytes are what is searched for. */
static void redact(struct ob_error *err, const char *secret)
{
	char probe[17];
	char *hit;
	size_t n;

	if (err == NULL || secret == NULL || strlen(secret) < 8)
		return;
	n = strlen(secret) < 16 ? strlen(secret) : 16;
	memcpy(probe, secret, n);
	probe[n] = '\0';
	hit = strstr(err->message, probe);
	OPENSSL_cleanse(probe, sizeof(probe));
	if (hit != NULL)
		snprintf(hit, sizeof(err->message) - (size_t)(hit - err->message), "[redacted]");
}

/* Sign and send one attempt. 0 for a 2xx answer (resp holds it); -1 with
 * the transport error or the service's error document otherwise. */
static int attempt(struct ob_aws *aws, const struct call *c, const char *url,
		   struct ob_http_response *resp, struct ob_error *err)
{
	struct ob_creds creds;
	struct ob_sigv4_header sh[5];
	struct ob_http_header hh[7];
	struct ob_sigv4_request sreq;
	struct ob_sigv4_params sp;
	struct ob_sigv4_result res;
	struct ob_http_request req;
	char host[256];
	const char *path;
	size_t path_len, n = 0, i;

	if (ob_creds_provider_get(aws->opt.creds, &creds, err) < 0)
		return -1;
	if (host_and_path(url, host, sizeof(host), &path, &path_len) < 0)
		return ob_error_set(err, OB_ERR_INVALID, "bad endpoint URL for %s", c->service);

	sh[n++] = (struct ob_sigv4_header){ "host", 4, host, strlen(host) };
	sh[n++] = (struct ob_sigv4_header){ "content-type", 12, c->content_type,
					    strlen(c->content_type) };
	if (c->target != NULL)
		sh[n++] = (struct ob_sigv4_header){ "x-amz-target", 12, c->target,
						    strlen(c->target) };
	memset(&sreq, 0, sizeof(sreq));
	sreq.method = "POST";
	sreq.path = path;
	sreq.path_len = path_len;
	sreq.query = "";
	sreq.query_len = 0;
	sreq.headers = sh;
	sreq.n_headers = n;
	sreq.body = c->body;
	sreq.body_len = c->body_len;

	memset(&sp, 0, sizeof(sp));
	sp.access_key_id = creds.access_key_id;
	sp.secret_access_key = creds.secret_access_key;
	sp.session_token = creds.session_token;
	sp.region = aws->region;
	sp.service = c->service;
	sp.when = (aws->opt.clock->now_ms(aws->opt.clock->ctx) + aws->clock_offset_ms) / 1000;
	sp.flags = OB_SIGV4_NORMALIZE_PATH;

	if (ob_sigv4_sign_headers(aws->signer, &sreq, &sp, &res, err) < 0)
		return -1;
	n = 0;
	hh[n++] = (struct ob_http_header){ "Host", host };
	hh[n++] = (struct ob_http_header){ "Content-Type", c->content_type };
	if (c->target != NULL)
		hh[n++] = (struct ob_http_header){ "X-Amz-Target", c->target };
	for (i = 0; i < res.n_headers && n < sizeof(hh) / sizeof(hh[0]); i++)
		hh[n++] = (struct ob_http_header){ res.headers[i].name, res.headers[i].value };

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = hh;
	req.n_headers = n;
	req.body = c->body;
	req.body_len = c->body_len;
	req.allow_plain_http = aws->endpoint_url[0] != '\0';
	req.timeout_ms = aws->lim_timeout_ms;

	aws->stats.attempts++;
	if (aws->opt.http.perform(aws->opt.http.ctx, &req, resp, err) < 0)
		return -1;
	if (resp->status >= 200 && resp->status < 300)
		return 0;
	if (c->json)
		ob_aws_error_from_json(err, resp->status, resp->body.data, resp->body.len,
				       resp->request_id);
	else
		ob_aws_error_from_xml(err, resp->status, resp->body.data, resp->body.len,
				      resp->request_id);
	redact(err, creds.session_token);
	redact(err, creds.secret_access_key);
	return -1;
}

void ob_aws_set_call_limits(struct ob_aws *aws, unsigned max_attempts, long timeout_ms)
{
	if (aws == NULL)
		return;
	aws->lim_attempts = max_attempts;
	aws->lim_timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

static void fix_clock(struct ob_aws *aws, const struct ob_http_response *resp)
{
	int64_t server_s;

	if (ob_clock_parse_http_date(resp->date, &server_s) == 0)
		aws->clock_offset_ms = server_s * 1000 -
				       aws->opt.clock->now_ms(aws->opt.clock->ctx);
}

static int stopping(const struct ob_aws *aws)
{
	return aws->opt.stop != NULL && *aws->opt.stop;
}

/* Wait ms on the injected clock. A signal that is not a stop request (a
 * SIGHUP, say) does not cut the backoff short. -1 when asked to stop. */
static int backoff_wait(struct ob_aws *aws, int64_t ms)
{
	const struct ob_clock *clk = aws->opt.clock;
	int64_t end = clk->mono_ms(clk->ctx) + ms, left = ms;

	while (left > 0) {
		if (stopping(aws))
			return -1;
		if (clk->sleep_ms(clk->ctx, left) == 0)
			break;
		left = end - clk->mono_ms(clk->ctx);
	}
	return stopping(aws) ? -1 : 0;
}

/* One call with retries. Classification works on a local record so that a
 * caller passing err == NULL still gets every retry and correction. */
static int perform_call(struct ob_aws *aws, const struct call *c,
			struct ob_http_response *resp, struct ob_error *ret_err)
{
	struct ob_error e;
	enum ob_retry_class cls;
	struct ob_aws_action_stats *as = NULL;
	const char *url;
	unsigned tries = 0;
	int skew_fixed = 0, creds_renewed = 0;
	int64_t delay;

	ob_error_clear(&e);
	url = ob_aws_endpoint(aws, c->service);
	if (url == NULL) {
		ob_error_set(&e, OB_ERR_NOMEM, "no endpoint for %s", c->service);
		goto fail;
	}
	aws->stats.calls++;
	as = action_stats(aws, c->service, c->action);
	as->calls++;
	for (;;) {
		if (stopping(aws)) {
			ob_error_set(&e, OB_ERR_CANCELLED, "stopping");
			goto fail;
		}
		tries++;
		if (tries > 1) {
			aws->stats.retries++;
			as->retries++;
		}
		if (attempt(aws, c, url, resp, &e) == 0)
			return 0;
		cls = ob_retry_classify(&e);
		if (cls == OB_RETRY_THROTTLED)
			aws->stats.throttled++;
		if (cls == OB_RETRY_CLOCK_SKEW && !skew_fixed) {
			skew_fixed = 1;
			fix_clock(aws, resp);
			tries--;
			continue;
		}
		if (cls == OB_RETRY_EXPIRED_CREDS && !creds_renewed) {
			creds_renewed = 1;
			ob_creds_provider_invalidate(aws->opt.creds);
			tries--;
			continue;
		}
		if (cls != OB_RETRY_TRANSIENT && cls != OB_RETRY_THROTTLED)
			goto fail;
		if (tries >= (aws->lim_attempts > 0 ? aws->lim_attempts : aws->opt.max_attempts)) {
			if (tries > 1)
				ob_error_prefix(&e, "after %u attempts", tries);
			goto fail;
		}
		delay = ob_retry_backoff_ms(tries, aws->opt.backoff_base_ms,
					    aws->opt.backoff_cap_ms,
					    aws->opt.random(aws->opt.random_ctx));
		if (backoff_wait(aws, delay) < 0) {
			ob_error_set(&e, OB_ERR_CANCELLED, "stopping");
			goto fail;
		}
	}
fail:
	if (as != NULL)
		as->errors++;
	if (ret_err != NULL)
		*ret_err = e;
	return -1;
}

int ob_aws_query(struct ob_aws *aws, const char *service, const struct ob_aws_params *p,
		 struct ob_xml_doc **ret_doc, struct ob_error *err)
{
	struct ob_http_response resp;
	struct call c;
	int rc = -1;

	*ret_doc = NULL;
	if (p->failed || p->form.data == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "could not build the %s request", service);
	memset(&c, 0, sizeof(c));
	c.service = service;
	c.action = p->action;
	c.content_type = "application/x-www-form-urlencoded; charset=utf-8";
	c.body = p->form.data;
	c.body_len = p->form.len;
	ob_http_response_init(&resp);
	if (perform_call(aws, &c, &resp, err) < 0)
		goto out;
	if (ob_xml_parse(resp.body.data, resp.body.len, ret_doc, err) < 0) {
		if (err != NULL)
			err->http_status = resp.status;
		ob_error_prefix(err, "%s response", service);
		goto out;
	}
	rc = 0;
out:
	ob_http_response_clear(&resp);
	return rc;
}

int ob_aws_json(struct ob_aws *aws, const char *service, const char *target,
		json_t *body, json_t **ret, struct ob_error *err)
{
	struct ob_http_response resp;
	json_error_t jerr;
	struct call c;
	char *text;
	int rc = -1;

	*ret = NULL;
	text = body ? json_dumps(body, JSON_COMPACT) : strdup("{}");
	if (text == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "could not encode the %s request", target);
	memset(&c, 0, sizeof(c));
	c.service = service;
	c.action = strchr(target, '.') ? strchr(target, '.') + 1 : target;
	c.content_type = "application/x-amz-json-1.0";
	c.target = target;
	c.body = text;
	c.body_len = strlen(text);
	c.json = 1;
	ob_http_response_init(&resp);
	if (perform_call(aws, &c, &resp, err) < 0)
		goto out;
	if (resp.body.len == 0) {
		*ret = json_object();
	} else {
		*ret = json_loadb(resp.body.data, resp.body.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(*ret)) {
			json_decref(*ret);
			*ret = NULL;
			ob_error_set(err, OB_ERR_PARSE, "%s response: %s", target,
				     jerr.text[0] ? jerr.text : "not a JSON object");
			if (err != NULL)
				err->http_status = resp.status;
			goto out;
		}
	}
	if (*ret == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	ob_http_response_clear(&resp);
	free(text);
	return rc;
}
