/*
 * clock.c - the system clock behind struct ob_clock, and the few time
 * formats AWS speaks (SigV4's basic ISO 8601, ISO 8601 timestamps in
 * documents, RFC 7231 HTTP dates).
 *
 * The parsers are strict and locale-free: they accept exactly the shapes AWS
 * sends and reject everything else, because a wrong time silently shifts
 * credential refreshes and signatures.
 */
#include "ob/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t sys_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_mono_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sys_sleep_ms(void *ctx, int64_t ms)
{
	struct timespec ts;

	(void)ctx;
	if (ms <= 0)
		return 0;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	/* A signal ends the wait early: the caller decides whether to stop. */
	return nanosleep(&ts, NULL) == 0 ? 0 : -1;
}

static const struct ob_clock system_clock = {
	sys_now_ms, sys_mono_ms, sys_sleep_ms, NULL,
};

const struct ob_clock *ob_clock_system(void)
{
	return &system_clock;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil); no timegm(), no TZ dependence. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : mdays[m - 1];
}

static int make_time(int y, int mo, int d, int h, int mi, int s, int64_t *ret)
{
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
	    s > 60)
		return -1;
	*ret = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* The inverse of days_from_civil (Hinnant's civil_from_days). */
int ob_clock_format_amz(int64_t unix_s, char out[17])
{
	int64_t days, era, doe, yoe, doy, mp, y, secs;
	unsigned d, m;

	if (unix_s < 0 || unix_s >= 253402300800LL) /* 10000-01-01 */
		return -1;
	days = unix_s / 86400;
	secs = unix_s % 86400;
	days += 719468;
	era = days / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	y += m <= 2;
	put2(out, (unsigned)(y / 100));
	put2(out + 2, (unsigned)(y % 100));
	put2(out + 4, m);
	put2(out + 6, d);
	out[8] = 'T';
	put2(out + 9, (unsigned)(secs / 3600));
	put2(out + 11, (unsigned)(secs / 60 % 60));
	put2(out + 13, (unsigned)(secs % 60));
	out[15] = 'Z';
	out[16] = '\0';
	return 0;
}

/* Read exactly n decimal digits. */
static int digits(const char **p, int n, int *ret)
{
	int v = 0;

	while (n-- > 0) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*ret = v;
	return 0;
}

int ob_clock_parse_iso8601(const char *s, int64_t *ret_unix_s)
{
	int y, mo, d, h, mi, sec, oh, om;
	int64_t t;
	const char *p = s;

	if (s == NULL || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (make_time(y, mo, d, h, mi, sec, &t) < 0)
		return -1;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*ret_unix_s = t;
		return 0;
	}
	if ((*p == '+' || *p == '-')) {
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || *p != '\0' ||
		    oh > 23 || om > 59)
			return -1;
		*ret_unix_s = t - sign * (oh * 3600 + om * 60);
		return 0;
	}
	return -1;
}

int ob_clock_parse_http_date(const char *s, int64_t *ret_unix_s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char wday[4], mon[4], zone[4];
	int d, y, h, mi, sec, n = 0, mo;
	const char *hit;

	if (s == NULL)
		return -1;
	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", wday, &d,
		   mon, &y, &h, &mi, &sec, zone, &n) != 8 || s[n] != '\0' ||
	    strcmp(zone, "GMT") != 0)
		return -1;
	hit = strlen(mon) == 3 ? strstr(months, mon) : NULL;
	if (hit == NULL || (hit - months) % 3 != 0)
		return -1;
	mo = (int)(hit - months) / 3 + 1;
	return make_time(y, mo, d, h, mi, sec, ret_unix_s);
}
