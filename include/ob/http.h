/*
 * ob/http.h - the HTTP transport seam.
 *
 * Modules never call libcurl: they call struct ob_http_ops, which production
 * code gets from ob_http_new() (libcurl, one kept-alive handle per endpoint)
 * and unit tests get from a recording fake (ob/private/http_fake.h).
 */
#ifndef OB_HTTP_H
#define OB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "ob/buf.h"
#include "ob/error.h"

struct ob_http_header {
	const char *name;
	const char *value;
};

struct ob_http_request {
	const char *method;  /* "GET", "PUT", "POST" */
	const char *url;     /* absolute http(s) URL */
	const struct ob_http_header *headers;
	size_t n_headers;
	const void *body;    /* may be NULL when body_len is 0 */
	size_t body_len;
	/* Plain http:// is refused unless this is set: only an explicitly
	 * configured endpoint_url and the link-local IMDS may use it. */
	bool allow_plain_http;
	long timeout_ms;     /* total time for this request; 0 = transport default */
	size_t max_body;     /* response body cap for this request; 0 = transport
			      * default, and never above it */
};

struct ob_http_response {
	long status;           /* HTTP status code */
	struct ob_buf body;    /* response body; capped by the transport */
	char date[64];         /* the Date header, "" if absent */
	char request_id[64];   /* x-amzn-RequestId or x-amz-request-id, "" if absent */
};

/* Prepare resp for use / release what it holds. clear(NULL) is a no-op. */
void ob_http_response_init(struct ob_http_response *resp);
void ob_http_response_clear(struct ob_http_response *resp);

struct ob_http_ops {
	/* Perform one request, no retries. resp must have been initialised; it
	 * is reset first. Returns 0 when an HTTP response arrived (whatever its
	 * status), -1 with OB_ERR_TRANSPORT (or OB_ERR_INVALID for a refused URL)
	 * when none did. */
	int (*perform)(void *ctx, const struct ob_http_request *req,
		       struct ob_http_response *resp, struct ob_error *err);
	void *ctx;
};

struct ob_http_options {
	long connect_timeout_ms;  /* default 5000 */
	long timeout_ms;          /* default total per request: 60000 */
	size_t max_body;          /* response body cap; default 16 MiB */
	/* Called about once a second while a request is in flight (libcurl's
	 * progress callback), e.g. to ping the systemd watchdog. Returning
	 * non-zero aborts the transfer (shutdown). May be NULL. */
	int (*progress)(void *ctx);
	void *progress_ctx;
};

struct ob_http;

/* Create a libcurl transport. opt may be NULL for defaults. Returns NULL and
 * fills err on failure. */
struct ob_http *ob_http_new(const struct ob_http_options *opt, struct ob_error *err);

/* Close every kept-alive connection and free. NULL is a no-op. */
void ob_http_free(struct ob_http *http);

/* The ops view of a transport; valid while http lives. */
struct ob_http_ops ob_http_ops(struct ob_http *http);

#endif
