/*
 * ob/clock.h - the injectable clock.
 *
 * Nothing outside clock.c reads the time or sleeps directly: modules take a
 * const struct ob_clock *, so unit tests drive time by hand and never wait.
 */
#ifndef OB_CLOCK_H
#define OB_CLOCK_H

#include <stdint.h>

struct ob_clock {
	/* Wall-clock time in milliseconds since the Unix epoch (UTC). */
	int64_t (*now_ms)(void *ctx);
	/* Monotonic milliseconds, for deadlines and durations. */
	int64_t (*mono_ms)(void *ctx);
	/* Wait ms milliseconds. Returns 0, or -1 when woken early by a signal
	 * (the caller then checks whether it was asked to stop). */
	int (*sleep_ms)(void *ctx, int64_t ms);
	void *ctx;
};

/* The real clock (CLOCK_REALTIME, CLOCK_MONOTONIC, nanosleep). Static; never
 * freed. */
const struct ob_clock *ob_clock_system(void);

/* Format unix seconds as ISO 8601 basic "YYYYMMDDTHHMMSSZ" into out[17].
 * Returns 0, or -1 when the time cannot be represented. */
int ob_clock_format_amz(int64_t unix_s, char out[17]);

/* Parse "2026-11-22T05:03:11Z" (optionally with fractional seconds, "+00:00"
 * or another numeric offset) into unix seconds. Returns 0 or -1. */
int ob_clock_parse_iso8601(const char *s, int64_t *ret_unix_s);

/* Parse an RFC 7231 HTTP date ("Sun, 22 Nov 2026 18:00:00 GMT") into unix
 * seconds. Returns 0 or -1. */
int ob_clock_parse_http_date(const char *s, int64_t *ret_unix_s);

#endif
