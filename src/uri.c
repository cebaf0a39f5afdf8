/*
 * uri.c - RFC 3986 percent-encoding the way AWS SigV4 and the Query protocol
 * want it (see ob/uri.h).
 *
 * Plain byte comparisons on purpose: isalnum() and friends depend on the C
 * locale and may misjudge bytes >= 0x80, which silently breaks signatures.
 * Output space is reserved once per call, so encoding a long string costs
 * one bounds check rather than one per byte.
 */
#include "ob/uri.h"

static const char hex_upper[16] = "0123456789ABCDEF";

bool ob_uri_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

int ob_uri_encode(struct ob_buf *out, const char *s, size_t len, bool keep_slash)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, need = len;
	char *w;

	/* Exact size first: a buffer with a limit must accept any output that
	 * fits, and the second pass then needs no bounds checks. */
	for (i = 0; i < len; i++)
		if (!ob_uri_unreserved(p[i]) && !(keep_slash && p[i] == '/'))
			need += 2;
	if (ob_buf_reserve(out, need) < 0)
		return -1;
	w = out->data + out->len;
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (ob_uri_unreserved(c) || (keep_slash && c == '/')) {
			*w++ = (char)c;
		} else {
			*w++ = '%';
			*w++ = hex_upper[c >> 4];
			*w++ = hex_upper[c & 0x0f];
		}
	}
	out->len += need;
	out->data[out->len] = '\0';
	return 0;
}

/* Value of a hex digit, or -1. Either case is accepted on input. */
static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ob_uri_decode(struct ob_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *w;
	size_t i;

	/* Decoding never grows the input. */
	if (ob_buf_reserve(out, len) < 0)
		return -1;
	w = out->data + out->len;
	for (i = 0; i < len; i++) {
		int hi, lo;

		if (p[i] == '%' && i + 2 < len && (hi = hex_value(p[i + 1])) >= 0 &&
		    (lo = hex_value(p[i + 2])) >= 0) {
			*w++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*w++ = (char)p[i];
		}
	}
	out->len = (size_t)(w - out->data);
	out->data[out->len] = '\0';
	return 0;
}
