/*
 * ob/uri.h - RFC 3986 percent-encoding as AWS wants it.
 *
 * Every byte except the unreserved set A-Z a-z 0-9 - _ . ~ is encoded with
 * uppercase hex; no locale-dependent ctype calls. Used by the SigV4 signer
 * and by the AWS Query form encoder.
 */
#ifndef OB_URI_H
#define OB_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "ob/buf.h"

/* Append the encoding of s[0..len) to out; '/' is kept as is when keep_slash.
 * Returns 0, or -1 on allocation failure. */
int ob_uri_encode(struct ob_buf *out, const char *s, size_t len, bool keep_slash);

/* Append the percent-decoding of s[0..len) to out ("%41" -> "A"; a '%' not
 * followed by two hex digits is copied literally; '+' is NOT a space).
 * Returns 0, or -1 on allocation failure. */
int ob_uri_decode(struct ob_buf *out, const char *s, size_t len);

/* True for the unreserved bytes A-Z a-z 0-9 - _ . ~ */
bool ob_uri_unreserved(unsigned char c);

/* True for an RFC 7230 token byte (header names, methods). */
bool ob_uri_tchar(unsigned char c);

/* The parts of an absolute http(s) URL, pointing into the string. */
struct ob_uri_parts {
	bool https;
	const char *authority;   /* "host[:port]" or "user@host:port", as written */
	size_t authority_len;
	const char *path;        /* from the first '/' up to '?' or '#'; "" if none */
	size_t path_len;
	const char *query;       /* after '?', up to '#'; NULL when there is no '?' */
	size_t query_len;
	bool has_fragment;
	bool has_userinfo;       /* an '@' in the authority */
};

/* Split url ("http://" or "https://", case-insensitive, then a non-empty
 * authority). The one URL splitter of the project: the transport, the
 * request core and the configuration checks agree on what a URL means.
 * Returns 0, or -1 for anything else. No allocation. */
int ob_uri_split(const char *url, struct ob_uri_parts *ret);

#endif
