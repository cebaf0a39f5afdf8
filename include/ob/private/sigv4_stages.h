/*
 * ob/private/sigv4_stages.h - the SigV4 pipeline one stage at a time.
 *
 * Only tests and the suite runner include this: it lets them compare each
 * intermediate (canonical request, string to sign, signing key, signature,
 * Authorization value) with golden files. Production code calls
 * ob_sigv4_sign_headers() / ob_sigv4_presign(), which run the same stages
 * on the signer's internal buffers.
 *
 * Each stage is a pure function of its arguments; the signer only lends
 * its fetched algorithms, contexts and scratch buffers.
 */
#ifndef OB_PRIVATE_SIGV4_STAGES_H
#define OB_PRIVATE_SIGV4_STAGES_H

#include <stddef.h>

#include "ob/buf.h"
#include "ob/error.h"
#include "ob/sigv4.h"

/* Signing keys kept per signer (least recently used is evicted). */
#define OB_SIGV4_KEY_SLOTS 4

enum ob_sigv4_mode {
	OB_SIGV4_MODE_HEADER, /* Authorization header */
	OB_SIGV4_MODE_QUERY,  /* presigned URL */
};

/* Stage 1. Replace ret_creq's contents with the canonical request of req as
 * signed in mode (query mode includes the X-Amz-* parameters). Returns 0,
 * or -1 with err filled (OB_ERR_INVALID for bad input, OB_ERR_NOMEM). */
int ob_sigv4_canonical_request(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
			       const struct ob_sigv4_params *params, enum ob_sigv4_mode mode,
			       struct ob_buf *ret_creq, struct ob_error *err);

/* Stage 2. Replace ret_sts's contents with the string to sign for the
 * canonical request creq[0..creq_len), signed at amz_date
 * ("YYYYMMDDTHHMMSSZ") for region and service. Returns 0 or -1. */
int ob_sigv4_string_to_sign(struct ob_sigv4 *s, const char *amz_date, const char *region,
			    const char *service, const char *creq, size_t creq_len,
			    struct ob_buf *ret_sts, struct ob_error *err);

/* Stage 3. Derive the daily signing key into ret_key without touching the
 * cache. The caller wipes ret_key. Returns 0 or -1. */
int ob_sigv4_signing_key(struct ob_sigv4 *s, const char *secret, const char *amz_date,
			 const char *region, const char *service, unsigned char ret_key[32],
			 struct ob_error *err);

/* Stage 3 through the cache, exactly as the signing calls do: counts a hit
 * or a miss (and an eviction) in ob_sigv4_stats(). Returns 0 or -1. */
int ob_sigv4_cached_signing_key(struct ob_sigv4 *s, const char *secret, const char *amz_date,
				const char *region, const char *service,
				unsigned char ret_key[32], struct ob_error *err);

/* Stage 4. ret_hex = lowercase hex HMAC-SHA256(key, sts). Returns 0 or -1. */
int ob_sigv4_signature(struct ob_sigv4 *s, const unsigned char key[32], const char *sts,
		       size_t sts_len, char ret_hex[65], struct ob_error *err);

/* Stage 5. Replace ret_authz's contents with the Authorization header value.
 * signed_headers is the ';'-joined list from the canonical request.
 * Returns 0, or -1 on allocation failure. */
int ob_sigv4_authorization(const char *access_key_id, const char *amz_date, const char *region,
			   const char *service, const char *signed_headers,
			   const char *signature_hex, struct ob_buf *ret_authz,
			   struct ob_error *err);

#endif
