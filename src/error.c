/*
 * error.c - filling and printing struct ob_error.
 *
 * Every fallible function in the project reports through this record, so the
 * helpers here are tiny and allocation-free: an error path must never fail.
 */
#include "ob/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ob_error_clear(struct ob_error *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
}

static void vset(struct ob_error *err, enum ob_err_kind kind, const char *fmt, va_list ap)
{
	ob_error_clear(err);
	err->kind = kind;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int ob_error_set(struct ob_error *err, enum ob_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vset(err, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int ob_error_errno(struct ob_error *err, enum ob_err_kind kind, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vset(err, kind, fmt, ap);
	va_end(ap);
	err->sys_errno = errnum;
	len = strlen(err->message);
	snprintf(err->message + len, sizeof(err->message) - len, ": %s", strerror(errnum));
	return -1;
}

int ob_error_prefix(struct ob_error *err, const char *fmt, ...)
{
	char old[sizeof(err->message)];
	size_t len;
	va_list ap;
	int n;

	if (err == NULL)
		return -1;
	memcpy(old, err->message, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	len = (size_t)n < sizeof(err->message) ? (size_t)n : sizeof(err->message) - 1;
	/* Append ": old", truncating the tail if the record is full. */
	if (len + 2 < sizeof(err->message)) {
		memcpy(err->message + len, ": ", 2);
		len += 2;
		n = (int)strnlen(old, sizeof(old) - 1);
		if ((size_t)n > sizeof(err->message) - 1 - len)
			n = (int)(sizeof(err->message) - 1 - len);
		memcpy(err->message + len, old, (size_t)n);
		len += (size_t)n;
	}
	err->message[len] = '\0';
	return -1;
}

const char *ob_error_kind_name(enum ob_err_kind kind)
{
	switch (kind) {
	case OB_ERR_NONE: return "none";
	case OB_ERR_NOMEM: return "out of memory";
	case OB_ERR_INVALID: return "invalid";
	case OB_ERR_IO: return "i/o";
	case OB_ERR_CONFIG: return "configuration";
	case OB_ERR_PARSE: return "parse";
	case OB_ERR_TRANSPORT: return "transport";
	case OB_ERR_AWS: return "aws";
	case OB_ERR_CREDS: return "credentials";
	case OB_ERR_CANCELLED: return "cancelled";
	case OB_ERR_CONFLICT: return "conflict";
	case OB_ERR_NOTFOUND: return "not found";
	}
	return "unknown";
}

const char *ob_error_str(const struct ob_error *err, char *buf, size_t size)
{
	if (err == NULL || err->kind == OB_ERR_NONE) {
		snprintf(buf, size, "no error");
		return buf;
	}
	if (err->kind == OB_ERR_AWS)
		snprintf(buf, size, "AWS error %ld %s: %s%s%s%s", err->http_status,
			 err->aws_code[0] ? err->aws_code : "(no code)", err->message,
			 err->request_id[0] ? " (request id " : "", err->request_id,
			 err->request_id[0] ? ")" : "");
	else
		snprintf(buf, size, "%s error: %s", ob_error_kind_name(err->kind), err->message);
	return buf;
}
