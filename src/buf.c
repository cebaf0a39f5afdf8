/*
 * buf.c - growable, NUL-terminated byte buffer (see ob/buf.h).
 *
 * Growth doubles the allocation so appends are amortised O(1); a buffer may
 * carry a size limit so that a hostile peer cannot make us allocate without
 * bound (response bodies, parsed documents).
 */
#include "ob/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int ob_buf_reserve(struct ob_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > SIZE_MAX - b->len - 1) {
		errno = EMSGSIZE;
		return -1;
	}
	need = b->len + n + 1;
	if (b->max != 0 && need - 1 > b->max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->sensitive) {
		p = malloc(cap);
		if (p != NULL && b->data != NULL) {
			memcpy(p, b->data, b->len + 1);
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
	} else {
		p = realloc(b->data, cap);
	}
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	/* A first allocation must be a C string too (ob_buf_steal, readers of
	 * a buffer that was only reserved). */
	p[b->len] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int ob_buf_append(struct ob_buf *b, const void *p, size_t n)
{
	if (ob_buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ob_buf_puts(struct ob_buf *b, const char *s)
{
	return ob_buf_append(b, s, strlen(s));
}

int ob_buf_putc(struct ob_buf *b, char c)
{
	return ob_buf_append(b, &c, 1);
}

int ob_buf_printf(struct ob_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	size_t room;

	/* Format into whatever room there is, then reserve the exact length:
	 * reserving a fixed amount first would refuse short output in a buffer
	 * whose limit is close, and output that fits the allocation must still
	 * respect the limit. */
	if (ob_buf_reserve(b, 0) < 0)
		return -1;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return -1;
	}
	if (ob_buf_reserve(b, (size_t)n) < 0) {
		b->data[b->len] = '\0';
		return -1;
	}
	if ((size_t)n >= room) {
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

void ob_buf_reset(struct ob_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void ob_buf_clear(struct ob_buf *b)
{
	if (b == NULL)
		return;
	if (b->sensitive && b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void ob_buf_cleanse(struct ob_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	ob_buf_clear(b);
}

char *ob_buf_steal(struct ob_buf *b)
{
	char *p;

	if (b->data == NULL && ob_buf_reserve(b, 0) < 0)
		return NULL;
	p = b->data;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
