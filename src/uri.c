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

#include <string.h>
#include <strings.h>

static const char hex_upper[16] = "0123456789ABCDEF";

bool ob_uri_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

bool ob_uri_tchar(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|': case '~':
		return true;
	default:
		return false;
	}
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

int ob_uri_split(const char *url, struct ob_uri_parts *ret)
{
	const char *a, *end, *p;

	memset(ret, 0, sizeof(*ret));
	if (url == NULL)
		return -1;
	if (strncasecmp(url, "https://", 8) == 0) {
		ret->https = true;
		a = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		a = url + 7;
	} else {
		return -1;
	}
	end = a + strcspn(a, "/?#");
	if (end == a)
		return -1;
	ret->authority = a;
	ret->authority_len = (size_t)(end - a);
	ret->has_userinfo = memchr(a, '@', ret->authority_len) != NULL;
	p = end;
	ret->path = p;
	ret->path_len = *p == '/' ? strcspn(p, "?#") : 0;
	p += ret->path_len;
	if (*p == '?') {
		ret->query = p + 1;
		ret->query_len = strcspn(p + 1, "#");
		p += 1 + ret->query_len;
	}
	ret->has_fragment = *p == '#';
	return 0;
}
