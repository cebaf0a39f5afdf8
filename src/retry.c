/*
 * retry.c - which AWS errors to retry, and how long to wait.
 *
 * Follows the AWS SDKs' standard retry mode: transport errors, HTTP 5xx, 429
 * and the throttling/transient error codes are retried; every other 4xx is
 * the caller's mistake and retrying it only hides the bug. A credentials
 * error is retried only when the metadata service itself failed (5xx/429). Clock skew and an
 * expired session token get one retry after the client corrects itself.
 */
#include "ob/retry.h"

#include <string.h>

static const char *const throttling_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
};

static const char *const transient_codes[] = {
	"RequestTimeout",
	"RequestTimeoutException",
	"InternalError",
	"InternalFailure",
	"ServiceUnavailable",
	"ServiceUnavailableException",
	"IDPCommunicationError",
};

static const char *const skew_codes[] = {
	"RequestTimeTooSkewed",
	"RequestExpired",
	"InvalidSignatureException",
	"SignatureDoesNotMatch",
	"AuthFailure",
	"RequestInTheFuture",
};

static const char *const expired_codes[] = {
	"ExpiredToken",
	"ExpiredTokenException",
	"RequestExpiredException",
};

static int in_list(const char *code, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return 1;
	return 0;
}

#define IN(code, list) in_list((code), (list), sizeof(list) / sizeof((list)[0]))

/* Signature errors are only skew when the message says so: a wrong secret
 * also yields SignatureDoesNotMatch and must not be retried. */
static int mentions_time(const char *msg)
{
	return strstr(msg, "Signature expired") != NULL ||
	       strstr(msg, "request time") != NULL ||
	       strstr(msg, "Request time") != NULL ||
	       strstr(msg, "too skewed") != NULL ||
	       strstr(msg, "is now earlier than") != NULL ||
	       strstr(msg, "in the future") != NULL;
}

enum ob_retry_class ob_retry_classify(const struct ob_error *err)
{
	if (err == NULL)
		return OB_RETRY_NEVER;
	switch (err->kind) {
	case OB_ERR_TRANSPORT:
		return OB_RETRY_TRANSIENT;
	case OB_ERR_CREDS:
		/* The metadata service answered 5xx (or throttled): credentials
		 * may well be there on the next try. Anything else (no role
		 * attached, refused) needs an operator. */
		if (err->http_status == 429)
			return OB_RETRY_THROTTLED;
		return err->http_status >= 500 ? OB_RETRY_TRANSIENT : OB_RETRY_NEVER;
	case OB_ERR_AWS:
		break;
	default:
		return OB_RETRY_NEVER;
	}
	if (IN(err->aws_code, throttling_codes) || err->http_status == 429)
		return OB_RETRY_THROTTLED;
	if (strcmp(err->aws_code, "RequestTimeTooSkewed") == 0 ||
	    strcmp(err->aws_code, "RequestInTheFuture") == 0 ||
	    (IN(err->aws_code, skew_codes) && mentions_time(err->message)))
		return OB_RETRY_CLOCK_SKEW;
	if (IN(err->aws_code, expired_codes))
		return OB_RETRY_EXPIRED_CREDS;
	if (IN(err->aws_code, transient_codes))
		return OB_RETRY_TRANSIENT;
	if (err->http_status >= 500 && err->http_status <= 599)
		return OB_RETRY_TRANSIENT;
	return OB_RETRY_NEVER;
}

const char *ob_retry_class_name(enum ob_retry_class c)
{
	switch (c) {
	case OB_RETRY_NEVER: return "never";
	case OB_RETRY_TRANSIENT: return "transient";
	case OB_RETRY_THROTTLED: return "throttled";
	case OB_RETRY_CLOCK_SKEW: return "clock-skew";
	case OB_RETRY_EXPIRED_CREDS: return "expired-credentials";
	}
	return "unknown";
}

int64_t ob_retry_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms,
			    uint32_t random)
{
	int64_t ceiling = base_ms;
	uint64_t range, hi, lo;
	unsigned i;

	if (attempt == 0 || base_ms <= 0 || cap_ms <= 0)
		return 0;
	/* Stop doubling at the cap, before ceiling * 2 could overflow. */
	for (i = 1; i < attempt && ceiling < cap_ms; i++)
		ceiling = ceiling > cap_ms / 2 ? cap_ms : ceiling * 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	/* Full jitter: uniform in [0, ceiling], i.e. floor(random * range / 2^32)
	 * with range = ceiling + 1 <= 2^63. Split range in 32-bit halves so
	 * neither product can exceed 64 bits. */
	range = (uint64_t)ceiling + 1;
	hi = range >> 32;
	lo = range & 0xffffffffu;
	return (int64_t)((uint64_t)random * hi + ((uint64_t)random * lo >> 32));
}
