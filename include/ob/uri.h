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

#endif
