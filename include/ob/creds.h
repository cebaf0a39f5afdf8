/*
 * ob/creds.h - where AWS credentials come from.
 *
 * One provider per `[aws] credentials` value: env, static (from the
 * configuration file) and instance (IMDSv2 role credentials, refreshed before
 * they expire). The provider owns the secret strings and wipes them with
 * OPENSSL_cleanse() when it replaces or frees them. Nothing here logs, and no
 * error message carries a key, secret or token.
 */
#ifndef OB_CREDS_H
#define OB_CREDS_H

#include <stdint.h>

#include "ob/clock.h"
#include "ob/error.h"
#include "ob/http.h"

enum ob_creds_source {
	OB_CREDS_INSTANCE = 0,
	OB_CREDS_ENV,
	OB_CREDS_STATIC,
};

/* A borrowed view of the current credentials. */
struct ob_creds {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;  /* NULL when there is none */
	int64_t expiration_ms;      /* wall clock; 0 = does not expire */
};

struct ob_creds_options {
	enum ob_creds_source source;
	const char *access_key_id;      /* static only; copied */
	const char *secret_access_key;  /* static only; copied */
	const char *imds_url;           /* instance only; default http://169.254.169.254 */
	struct ob_http_ops http;        /* instance only */
	const struct ob_clock *clock;   /* NULL = system clock */
	/* instance only: refresh this long before Expiration (default and
	 * minimum 5 minutes). */
	int64_t refresh_margin_ms;
};

struct ob_creds_provider;

/* Build a provider. env reads the environment on each refresh; static copies
 * the strings. No network I/O happens here. NULL + err on failure. */
struct ob_creds_provider *ob_creds_provider_new(const struct ob_creds_options *opt,
						struct ob_error *err);

/* Current credentials, fetching or refreshing them when missing or within the
 * refresh margin of expiring. *ret points into the provider and stays valid
 * until the next get/invalidate/free. -1 + err (OB_ERR_CREDS, or the
 * transport/parse error of the IMDS call) when none can be had. */
int ob_creds_provider_get(struct ob_creds_provider *p, struct ob_creds *ret,
			  struct ob_error *err);

/* Forget cached credentials so the next get fetches anew (e.g. after an
 * ExpiredToken answer). */
void ob_creds_provider_invalidate(struct ob_creds_provider *p);

/* Wipe and free. NULL is a no-op. */
void ob_creds_provider_free(struct ob_creds_provider *p);

/* "instance", "env" or "static". */
const char *ob_creds_source_name(enum ob_creds_source source);

#endif
