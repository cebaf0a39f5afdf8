/*
 * ob/buf.h - a growable byte buffer, always NUL-terminated.
 *
 * The one string builder of the project: responses, canonical requests and
 * request bodies are built in it. A buffer that held secret material is
 * released with ob_buf_cleanse() so the bytes are wiped before free.
 */
#ifndef OB_BUF_H
#define OB_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct ob_buf {
	char *data;  /* NUL-terminated when cap > 0; NULL when empty and unused */
	size_t len;  /* bytes used, excluding the terminator */
	size_t cap;  /* bytes allocated */
	size_t max;  /* refuse to grow past this many bytes; 0 = no limit */
	/* Holds secrets: growing copies into a new block and wipes the old
	 * one instead of realloc(), which would free it unwiped. */
	bool sensitive;
};

#define OB_BUF_INIT { NULL, 0, 0, 0, false }

/* Make sure room for n more bytes (plus terminator). 0, or -1 on overflow,
 * limit or allocation failure (errno ENOMEM or EMSGSIZE). */
int ob_buf_reserve(struct ob_buf *b, size_t n);

/* Append n bytes / a C string / a single byte / printf output.
 * Return 0, or -1 as ob_buf_reserve(). */
int ob_buf_append(struct ob_buf *b, const void *p, size_t n);
int ob_buf_puts(struct ob_buf *b, const char *s);
int ob_buf_putc(struct ob_buf *b, char c);
int ob_buf_printf(struct ob_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Forget the contents but keep the allocation. */
void ob_buf_reset(struct ob_buf *b);

/* Free the allocation (wiping it first when b->sensitive); b becomes empty
 * and reusable, keeping max and sensitive. NULL is a no-op. */
void ob_buf_clear(struct ob_buf *b);

/* Wipe the whole allocation with OPENSSL_cleanse(), then free it. */
void ob_buf_cleanse(struct ob_buf *b);

/* Take ownership of the contents (a malloc'ed NUL-terminated string, never
 * NULL unless allocation fails); b becomes empty. */
char *ob_buf_steal(struct ob_buf *b);

#endif
