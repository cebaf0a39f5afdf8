/*
 * ob/aws.h - the AWS request core: endpoints, signing, retries, protocols.
 *
 * One struct ob_aws per daemon serves every service. It resolves the
 * endpoint (real AWS, or one explicit endpoint_url for emulators and
 * gateways), signs each attempt with SigV4, sends it through the injected
 * transport, retries what AWS's standard retry mode retries (with capped,
 * full-jitter backoff through the injected clock), corrects its clock offset
 * once on a skew error and refreshes credentials once on an expired token,
 * and turns both error shapes (Query XML and JSON 1.0) into one struct
 * ob_error. The per-service files (sts.c, sqs.c, rds.c, ...) only build
 * parameters and read responses.
 */
#ifndef OB_AWS_H
#define OB_AWS_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "ob/buf.h"
#include "ob/clock.h"
#include "ob/creds.h"
#include "ob/error.h"
#include "ob/http.h"
#include "ob/xml.h"

struct ob_aws_options {
	const char *region;              /* required, e.g. "eu-central-1" */
	const char *endpoint_url;        /* NULL or "" = the real AWS endpoints */
	struct ob_http_ops http;         /* required */
	const struct ob_clock *clock;    /* NULL = system clock */
	struct ob_creds_provider *creds; /* required; borrowed */
	unsigned max_attempts;           /* per call, default 3 (AWS standard mode) */
	int64_t backoff_base_ms;         /* default 100 */
	int64_t backoff_cap_ms;          /* default 20000 */
	/* A source of uniformly random 32-bit values for jitter; NULL = an
	 * internal xorshift generator seeded from getrandom(). */
	uint32_t (*random)(void *ctx);
	void *random_ctx;
	/* When non-NULL and set, no further attempt is started and the call
	 * fails with OB_ERR_CANCELLED (SIGTERM during a backoff wait). */
	const volatile sig_atomic_t *stop;
};

/* Counters since creation, for benchmarks and STATUS lines. */
struct ob_aws_stats {
	unsigned long calls;     /* API calls made by callers */
	unsigned long attempts;  /* HTTP requests sent */
	unsigned long retries;   /* attempts after the first */
	unsigned long throttled; /* attempts answered with throttling */
};

/* Per-action counters since creation (the metrics' AWS calls and retries).
 * Actions are named by our own code, so the table is small; past
 * OB_AWS_ACTIONS_MAX distinct actions the rest count as action "other". */
#define OB_AWS_ACTIONS_MAX 32

struct ob_aws_action_stats {
	char service[16];        /* "rds", "sqs", ... */
	char action[48];         /* "CopyDBSnapshot", "ReceiveMessage", ... */
	unsigned long calls;     /* API calls made by callers */
	unsigned long retries;   /* attempts after the first */
	unsigned long errors;    /* calls that failed in the end */
};

struct ob_aws;

/* Create a client. Copies the strings; borrows http, clock and creds, which
 * must outlive it. NULL + err on bad options or allocation failure. */
struct ob_aws *ob_aws_new(const struct ob_aws_options *opt, struct ob_error *err);

/* NULL is a no-op. */
void ob_aws_free(struct ob_aws *aws);

/* The URL requests for service go to ("https://rds.eu-central-1.amazonaws.com/"
 * or the endpoint_url). Valid while aws lives. */
const char *ob_aws_endpoint(struct ob_aws *aws, const char *service);

/* Learned difference server time - local time, applied when signing. */
int64_t ob_aws_clock_offset_ms(const struct ob_aws *aws);

/* Copy the counters into *ret. */
void ob_aws_get_stats(const struct ob_aws *aws, struct ob_aws_stats *ret);

/* The per-action counters: *ret points at the table (valid while aws
 * lives, changed by every call); returns its length. */
size_t ob_aws_get_action_stats(const struct ob_aws *aws,
			       const struct ob_aws_action_stats **ret);

/* Limits for the calls that follow, until set again (0, 0 = none): at
 * most max_attempts attempts per call (0 = the client's max_attempts) and
 * at most timeout_ms per HTTP request (0 = the transport's default). For a
 * caller that must not hold up the daemon loop (an alert's Publish). The
 * one clock-skew and one expired-credentials correction still happen: they
 * follow an answer, not a timeout. */
void ob_aws_set_call_limits(struct ob_aws *aws, unsigned max_attempts, long timeout_ms);

/* --- AWS Query protocol (RDS, SNS, STS, ...) --- */

/* A form-encoded parameter list being built. */
struct ob_aws_params {
	struct ob_buf form;
	int failed; /* an append failed; the call will report it */
	char action[48]; /* for the per-action counters */
};

/* Start a parameter list with Action and Version. */
void ob_aws_params_init(struct ob_aws_params *p, const char *action, const char *version);

/* Append key=value, both percent-encoded. Errors are remembered and reported
 * by ob_aws_query(), so callers can chain appends without checks. */
void ob_aws_param(struct ob_aws_params *p, const char *key, const char *value);

/* Append a key built with printf ("Filters.Filter.%d.Name") and a value. */
void ob_aws_paramf(struct ob_aws_params *p, const char *value, const char *key_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append a Query list: prefix.member.1=values[0], prefix.member.2=... (the
 * default list serialisation; services whose lists have a locationName use
 * it instead of "member", e.g. ob_aws_param_list(p, "Values", "Value", ...)).
 * Indexes start at 1, as AWS wants. Errors are remembered like
 * ob_aws_param(). */
void ob_aws_param_list(struct ob_aws_params *p, const char *prefix, const char *member,
		       const char *const *values, size_t n);

/* Free the parameter list; p can be initialised again. */
void ob_aws_params_clear(struct ob_aws_params *p);

/* Call a Query action on service ("rds", "sns", "sts", ...). On success
 * *ret_doc owns the parsed response document. On failure -1 with the AWS
 * error (OB_ERR_AWS: status, code, message, request id), a transport or
 * parse error, or OB_ERR_CANCELLED. */
int ob_aws_query(struct ob_aws *aws, const char *service, const struct ob_aws_params *p,
		 struct ob_xml_doc **ret_doc, struct ob_error *err);

/* --- AWS JSON 1.0 protocol (SQS) --- */

/* POST body (borrowed, may be NULL for "{}") to service with
 * X-Amz-Target: target (e.g. "AmazonSQS.ReceiveMessage"). On success
 * *ret owns the decoded response object (an empty object for an empty
 * body). Errors as ob_aws_query(). */
int ob_aws_json(struct ob_aws *aws, const char *service, const char *target,
		json_t *body, json_t **ret, struct ob_error *err);

/* --- error documents (exposed for tests and the fuzzers) --- */

/* Fill err (OB_ERR_AWS, http_status) from a Query error document
 * (<ErrorResponse><Error><Code>..., or <Response><Errors><Error>...). When
 * the body cannot be parsed, the code stays empty and the message says so.
 * Returns -1 always. */
int ob_aws_error_from_xml(struct ob_error *err, long http_status, const char *body,
			  size_t len, const char *request_id);

/* The same for a JSON 1.0 error ({"__type": "ns#Code", "message": ...}). */
int ob_aws_error_from_json(struct ob_error *err, long http_status, const char *body,
			   size_t len, const char *request_id);

#endif
