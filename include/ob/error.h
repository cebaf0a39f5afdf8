/*
 * ob/error.h - one error record for every module.
 *
 * Functions return 0 or -1 and fill a caller-owned struct ob_error, which may
 * be NULL when the caller does not care. The record carries everything an
 * operator or the retry classifier needs (kind, errno, HTTP status, AWS error
 * code, request id) and a human message. Messages never hold secrets: modules
 * that handle keys or tokens write only what is safe to print.
 */
#ifndef OB_ERROR_H
#define OB_ERROR_H

#include <stddef.h>

enum ob_err_kind {
	OB_ERR_NONE = 0,
	OB_ERR_NOMEM,     /* allocation failed */
	OB_ERR_INVALID,   /* bad argument or input from the caller */
	OB_ERR_IO,        /* file or system call failed; see sys_errno */
	OB_ERR_CONFIG,    /* configuration is wrong */
	OB_ERR_PARSE,     /* a response or document could not be parsed */
	OB_ERR_TRANSPORT, /* no HTTP response: connect, TLS, timeout, reset */
	OB_ERR_AWS,       /* the service answered with an error */
	OB_ERR_CREDS,     /* no usable credentials */
	OB_ERR_CANCELLED, /* stopped on request (shutdown) */
	OB_ERR_CONFLICT,  /* the row changed under us (compare-and-set lost) */
	OB_ERR_NOTFOUND,  /* no such job or record */
};

struct ob_error {
	enum ob_err_kind kind;
	int sys_errno;      /* errno, or 0 */
	int transport_code; /* libcurl CURLcode for OB_ERR_TRANSPORT, or 0 */
	long http_status;   /* HTTP status when a response arrived, else 0 */
	char aws_code[64];  /* e.g. "ThrottlingException", or "" */
	char request_id[64];
	char message[512];
};

/* Reset err to OB_ERR_NONE with empty strings. NULL is a no-op. */
void ob_error_clear(struct ob_error *err);

/* Fill err with kind and a printf-style message; other fields are cleared.
 * Always returns -1 so callers can write `return ob_error_set(...)`.
 * NULL err is allowed. */
int ob_error_set(struct ob_error *err, enum ob_err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like ob_error_set() and also records errno value errnum and appends
 * ": strerror(errnum)" to the message. Returns -1. */
int ob_error_errno(struct ob_error *err, enum ob_err_kind kind, int errnum,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prefix err->message with "prefix: " (for adding context on the way up),
 * truncating if needed. Keeps every other field. Returns -1. */
int ob_error_prefix(struct ob_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Short constant name of a kind ("transport", "aws", ...). */
const char *ob_error_kind_name(enum ob_err_kind kind);

/* Render err into buf as one line, e.g.
 * "aws error 400 SignatureDoesNotMatch: ... (request id ...)". Returns buf. */
const char *ob_error_str(const struct ob_error *err, char *buf, size_t size);

#endif
