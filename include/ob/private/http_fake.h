/*
 * ob/private/http_fake.h - a recording fake transport for unit tests.
 *
 * Tests queue canned responses (status, body, optional Date) or transport
 * failures; every request is recorded (method, url, headers, body) so tests
 * can assert what a module sent. Only tests link this (tests/http_fake.c).
 */
#ifndef OB_PRIVATE_HTTP_FAKE_H
#define OB_PRIVATE_HTTP_FAKE_H

#include <stddef.h>

#include "ob/buf.h"
#include "ob/http.h"

#define OB_FAKE_MAX 64

struct ob_fake_reply {
	long status;          /* 0 = transport failure (no response) */
	const char *body;     /* copied when queued */
	const char *date;     /* Date header, or NULL */
};

struct ob_fake_record {
	char method[8];
	char *url;
	struct ob_buf headers; /* "name: value\n" lines in order sent */
	struct ob_buf body;
};

struct ob_http_fake {
	struct ob_fake_reply replies[OB_FAKE_MAX];
	char *bodies[OB_FAKE_MAX];
	char *dates[OB_FAKE_MAX];
	size_t n_replies, next_reply;
	struct ob_fake_record records[OB_FAKE_MAX];
	size_t n_records;
};

/* Start empty / free every queued reply and recorded request. */
void ob_http_fake_init(struct ob_http_fake *f);
void ob_http_fake_clear(struct ob_http_fake *f);

/* Queue a reply; replies are consumed in order. A request arriving with the
 * queue empty gets a transport error "fake: no reply queued". */
void ob_http_fake_push(struct ob_http_fake *f, long status, const char *body,
		       const char *date);

/* The ops view of f; valid while f lives. */
struct ob_http_ops ob_http_fake_ops(struct ob_http_fake *f);

/* Value of header `name` (case-insensitive) in record i, copied into out;
 * returns out, or NULL when absent. */
const char *ob_http_fake_header(const struct ob_http_fake *f, size_t i,
				const char *name, char *out, size_t size);

#endif
