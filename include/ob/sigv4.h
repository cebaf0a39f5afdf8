/*
 * ob/sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256) request signing.
 *
 * A signer object holds the fetched OpenSSL algorithms, reusable contexts and
 * buffers, and a small cache of daily signing keys, so signing a request
 * allocates nothing in steady state. It reads no clock and does no I/O: the
 * time is a parameter. One signer serves one thread at a time.
 *
 * Usage from the HTTP layer:
 *
 *	struct ob_sigv4_header hdrs[] = { { "Host", 4, host, host_len }, ... };
 *	struct ob_sigv4_request req = { "POST", "/", 1, NULL, 0, hdrs, n,
 *					 body, body_len, NULL };
 *	struct ob_sigv4_params p = { akid, secret, token, region, "rds",
 *				     now_s, OB_SIGV4_NORMALIZE_PATH, 0 };
 *	struct ob_sigv4_result res;
 *	if (ob_sigv4_sign_headers(signer, &req, &p, &res, err) < 0) ...
 *	for (i = 0; i < res.n_headers; i++)
 *		list = curl_slist_append(list, res.headers[i].line);
 */
#ifndef OB_SIGV4_H
#define OB_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "ob/error.h"

struct ob_sigv4;

/* Flags for struct ob_sigv4_params.flags. */
/* Remove "." and ".." segments and empty segments from the path before
 * signing (every service but S3). */
#define OB_SIGV4_NORMALIZE_PATH   0x01u
/* Sign the path exactly as sent (S3). Without it the wire path is
 * URI-encoded once more, keeping '/', as all other services expect. */
#define OB_SIGV4_NO_DOUBLE_ENCODE 0x02u
/* Header mode: add and sign x-amz-content-sha256 with the payload hash
 * (S3 and a few others require it). Ignored when presigning. */
#define OB_SIGV4_SIGN_BODY        0x04u
/* Add the session token after signing, unsigned (a few services want the
 * token outside the signature). */
#define OB_SIGV4_OMIT_TOKEN       0x08u

/* Input limits; larger input is refused with OB_ERR_INVALID. */
#define OB_SIGV4_MAX_HEADERS      128
#define OB_SIGV4_MAX_VALUE_LEN    65536 /* one header value, in bytes */
#define OB_SIGV4_MAX_NAME_LEN     256   /* one header name */
#define OB_SIGV4_MAX_SCOPE_PART   64    /* region, service */
#define OB_SIGV4_MAX_SECRET_LEN   256
#define OB_SIGV4_MAX_EXPIRES      604800 /* presigned URLs: 7 days */

/* Payload hash for requests whose body is not signed (S3 presigning). */
#define OB_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* One request header, as sent. Neither string needs a terminator. */
struct ob_sigv4_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* The request to sign. All pointers are borrowed for the duration of the
 * call. Headers must include Host; the caller's X-Amz-Date and
 * Authorization headers are ignored (the signer supplies its own), as are
 * X-Amz-Security-Token when params carry a token and x-amz-content-sha256
 * with OB_SIGV4_SIGN_BODY. */
struct ob_sigv4_request {
	const char *method;                    /* "GET", "POST", ... */
	const char *path;                      /* as on the wire, before '?' */
	size_t path_len;                       /* 0 means "/" */
	const char *query;                     /* after '?', without it; may be NULL */
	size_t query_len;
	const struct ob_sigv4_header *headers;
	size_t n_headers;
	const void *body;                      /* may be NULL when body_len is 0 */
	size_t body_len;
	/* Hex SHA-256 of the body or OB_SIGV4_UNSIGNED_PAYLOAD, when the caller
	 * already has it (streamed uploads); NULL: the signer hashes body. */
	const char *payload_hash;
};

/* Who signs, where and when. Strings are NUL-terminated and borrowed. */
struct ob_sigv4_params {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;     /* NULL: long-term credentials */
	const char *region;            /* "eu-central-1" */
	const char *service;           /* "rds", "sqs", ... */
	int64_t when;                  /* signing time, unix seconds */
	unsigned flags;                /* OB_SIGV4_* */
	unsigned expires;              /* presigning: lifetime in seconds */
};

/* A header the caller must add to the request, in the order given. */
struct ob_sigv4_added_header {
	const char *name;   /* "X-Amz-Date", ... */
	const char *value;
	size_t value_len;
	const char *line;   /* "Name: value", ready for curl_slist_append() */
};

/* Output of a signing call. Every pointer points into the signer and stays
 * valid until the next signing call on it or ob_sigv4_free(). */
struct ob_sigv4_result {
	char amz_date[17];        /* "20150830T123600Z" */
	char payload_hash[65];    /* hex SHA-256 or "UNSIGNED-PAYLOAD" */
	char signature[65];       /* hex HMAC */
	/* Header mode: the Authorization value. Presigning: NULL. */
	const char *authorization;
	size_t authorization_len;
	/* Presigning: the X-Amz-* parameters to append to the URL's query
	 * (after '&' if it has one, else after '?'). Header mode: NULL. */
	const char *query;
	size_t query_len;
	/* Header mode: X-Amz-Security-Token (when a token is used), X-Amz-Date,
	 * x-amz-content-sha256 (OB_SIGV4_SIGN_BODY), Authorization.
	 * Presigning: none. */
	struct ob_sigv4_added_header headers[4];
	size_t n_headers;
};

/* Counters of the signing-key cache, for tests and diagnostics. */
struct ob_sigv4_stats {
	uint64_t key_hits;       /* signing key found in the cache */
	uint64_t key_misses;     /* signing key derived (4 HMACs) */
	uint64_t key_evictions;  /* least recently used key dropped */
};

/* Create a signer: fetch SHA-256 and HMAC once and set up reusable contexts.
 * Returns NULL (err filled) when OpenSSL or memory fails. Free with
 * ob_sigv4_free(). */
struct ob_sigv4 *ob_sigv4_new(struct ob_error *err);

/* Wipe every cached key and secret copy, then free. NULL is a no-op. */
void ob_sigv4_free(struct ob_sigv4 *s);

/* Sign req for the Authorization header. Fills ret (pointers into s, see
 * struct ob_sigv4_result); the caller adds ret->headers to the request.
 * Returns 0, or -1 with OB_ERR_INVALID/OB_ERR_NOMEM and a message that never
 * contains a secret, a token or a key. */
int ob_sigv4_sign_headers(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
			  const struct ob_sigv4_params *params,
			  struct ob_sigv4_result *ret, struct ob_error *err);

/* Presign req as a URL valid for params->expires seconds (1..7 days).
 * ret->query holds the parameters to append, X-Amz-Signature last.
 * Returns 0 or -1 as ob_sigv4_sign_headers(). */
int ob_sigv4_presign(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
		     const struct ob_sigv4_params *params,
		     struct ob_sigv4_result *ret, struct ob_error *err);

/* Copy the signing-key cache counters into ret. */
void ob_sigv4_stats(const struct ob_sigv4 *s, struct ob_sigv4_stats *ret);

#endif
