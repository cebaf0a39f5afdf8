/*
 * ob/retry.h - AWS "standard" retry mode, as pure functions.
 *
 * Whether an error is worth another attempt is decided from the error record
 * alone (kind, HTTP status, AWS code), so the decision is table-tested and
 * the same for every service. Backoff is capped exponential with full jitter.
 */
#ifndef OB_RETRY_H
#define OB_RETRY_H

#include <stdint.h>

#include "ob/error.h"

enum ob_retry_class {
	OB_RETRY_NEVER = 0,   /* fatal for this request: 4xx validation, auth, parse */
	OB_RETRY_TRANSIENT,   /* transport failure, 5xx, transient AWS codes */
	OB_RETRY_THROTTLED,   /* throttling: slow down, then retry */
	OB_RETRY_CLOCK_SKEW,  /* signature time out of range: fix the offset, retry once */
	OB_RETRY_EXPIRED_CREDS, /* token expired: refresh credentials, retry once */
};

/* Classify an error. OB_ERR_NONE and non-network kinds are OB_RETRY_NEVER. */
enum ob_retry_class ob_retry_classify(const struct ob_error *err);

/* "never", "transient", ... */
const char *ob_retry_class_name(enum ob_retry_class c);

/* Full-jitter backoff before retry number `attempt` (1 = the first retry):
 * a value in [0, min(cap_ms, base_ms * 2^(attempt-1))], chosen by `random`
 * (any 32-bit value, uniformly distributed). Overflow-safe. */
int64_t ob_retry_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms,
			    uint32_t random);

#endif
