/*
 * fuzz_sigv4.c - libFuzzer harness for the SigV4 request canonicaliser
 * (stage 1 of include/ob/private/sigv4_stages.h) and the header signing
 * that runs on top of it.
 *
 * The input reads like the AWS SigV4 suite's request.txt: a request line
 * "METHOD target [HTTP/1.1]" (target = path?query), header lines
 * "Name:value" (a line starting with SP/HT continues the previous value,
 * line break included, so obs-fold reaches the signer), a blank line, then
 * the body. Every piece is handed over as pointer + length into one copy
 * of the input, never NUL-terminated, so a read past a length shows up.
 * The request is canonicalised in header mode (normalised path) and in
 * query mode (no double encoding, session token), then signed for the
 * Authorization header. The credentials are the suite's published example
 * values; nothing is printed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ob/buf.h"
#include "ob/private/sigv4_stages.h"
#include "ob/sigv4.h"

#define MAX_HEADERS (OB_SIGV4_MAX_HEADERS + 4) /* a few over: the limit is tested */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ob_sigv4 *signer;

/* The next line of [*p, end): its start and length without "\n" (or
 * "\r\n"); *p moves past it. */
static const char *next_line(const char **p, const char *end, size_t *ret_len)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
	const char *e = nl != NULL ? nl : end;

	*p = nl != NULL ? nl + 1 : end;
	if (e > s && e[-1] == '\r')
		e--;
	*ret_len = (size_t)(e - s);
	return s;
}

/* The stage-1 contract: 0 and a NUL-terminated canonical request of
 * creq->len bytes, or -1 with an error kind and a terminated message. */
static int check_creq(const struct ob_buf *creq, int rc, const struct ob_error *err)
{
	if (rc == 0)
		return creq->data != NULL && strlen(creq->data) == creq->len;
	return rc == -1 && err->kind != OB_ERR_NONE &&
	       memchr(err->message, '\0', sizeof(err->message)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_sigv4_header hdrs[MAX_HEADERS];
	struct ob_sigv4_request req;
	struct ob_sigv4_params params;
	struct ob_sigv4_result res;
	struct ob_buf creq = OB_BUF_INIT;
	struct ob_error err;
	char *copy, method[40];
	const char *p, *end, *line, *sp, *target, *q;
	size_t n = 0, len, tlen, mlen;
	int rc;

	if (signer == NULL && (signer = ob_sigv4_new(NULL)) == NULL)
		abort();
	copy = malloc(size > 0 ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	p = copy;
	end = copy + size;
	memset(&req, 0, sizeof(req));

	/* Request line. The method is NUL-terminated (the API takes a C
	 * string); a NUL inside it just shortens it. */
	line = next_line(&p, end, &len);
	sp = memchr(line, ' ', len);
	mlen = sp != NULL ? (size_t)(sp - line) : len;
	if (mlen >= sizeof(method))
		mlen = sizeof(method) - 1;
	memcpy(method, line, mlen);
	method[mlen] = '\0';
	req.method = method;
	target = sp != NULL ? sp + 1 : line + len;
	tlen = (size_t)(line + len - target);
	if (tlen >= 9 && memcmp(target + tlen - 9, " HTTP/1.1", 9) == 0)
		tlen -= 9;
	q = memchr(target, '?', tlen);
	req.path = target;
	req.path_len = q != NULL ? (size_t)(q - target) : tlen;
	if (q != NULL) {
		req.query = q + 1;
		req.query_len = tlen - req.path_len - 1;
	}

	/* Headers up to a blank line. */
	while (p < end) {
		const char *colon;

		line = next_line(&p, end, &len);
		if (len == 0)
			break;
		if ((line[0] == ' ' || line[0] == '\t') && n > 0) {
			/* obs-fold: the value runs on over the line break */
			hdrs[n - 1].value_len = (size_t)(line + len - hdrs[n - 1].value);
			continue;
		}
		if (n == MAX_HEADERS)
			continue;
		colon = memchr(line, ':', len);
		hdrs[n].name = line;
		hdrs[n].name_len = colon != NULL ? (size_t)(colon - line) : len;
		hdrs[n].value = colon != NULL ? colon + 1 : line + len;
		hdrs[n].value_len = colon != NULL ? len - hdrs[n].name_len - 1 : 0;
		n++;
	}
	req.headers = hdrs;
	req.n_headers = n;
	req.body = p < end ? p : NULL;
	req.body_len = (size_t)(end - p);

	memset(&params, 0, sizeof(params));
	params.access_key_id = "AKIDEXAMPLE";
	params.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	params.region = "us-east-1";
	params.service = "service";
	params.when = 1440938160; /* 2015-08-30T12:36:00Z */
	params.flags = OB_SIGV4_NORMALIZE_PATH;
	params.expires = 3600;

	ob_error_clear(&err);
	rc = ob_sigv4_canonical_request(signer, &req, &params, OB_SIGV4_MODE_HEADER, &creq, &err);
	if (!check_creq(&creq, rc, &err))
		abort();

	params.flags = OB_SIGV4_NO_DOUBLE_ENCODE | OB_SIGV4_SIGN_BODY;
	params.session_token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW";
	ob_error_clear(&err);
	rc = ob_sigv4_canonical_request(signer, &req, &params, OB_SIGV4_MODE_QUERY, &creq, &err);
	if (!check_creq(&creq, rc, &err))
		abort();

	params.flags = OB_SIGV4_NORMALIZE_PATH | OB_SIGV4_SIGN_BODY;
	ob_error_clear(&err);
	rc = ob_sigv4_sign_headers(signer, &req, &params, &res, &err);
	if (rc == 0) {
		if (res.authorization == NULL || strlen(res.authorization) != res.authorization_len ||
		    strlen(res.signature) != 64 || res.n_headers == 0 || res.n_headers > 4)
			abort();
		/* The secret must never reach an output. */
		if (strstr(res.authorization, params.secret_access_key) != NULL)
			abort();
	} else if (strstr(err.message, params.secret_access_key) != NULL ||
		   strstr(err.message, params.session_token) != NULL) {
		/* Neither can be part of a header name (both hold '/'), the
		 * one piece of the request a message may quote. */
		abort();
	}

	ob_buf_clear(&creq);
	free(copy);
	return 0;
}
