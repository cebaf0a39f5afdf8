/*
 * check_buf.c - the growable byte buffer: growth through append and printf,
 * the size limit (EMSGSIZE, contents untouched on refusal), steal, reset,
 * cleanse, and lengths so large that naive arithmetic would wrap.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_ob.h"
#include "ob/buf.h"

/* Every buffer the project builds must be a C string at every moment. */
static void assert_terminated(const struct ob_buf *b)
{
	ck_assert_ptr_nonnull(b->data);
	ck_assert_uint_lt(b->len, b->cap);
	ck_assert_int_eq(b->data[b->len], '\0');
}

START_TEST(test_append_grows)
{
	struct ob_buf b = OB_BUF_INIT;
	char expect[5000];
	size_t i;

	for (i = 0; i < sizeof(expect); i++) {
		char c = (char)('a' + i % 26);

		expect[i] = c;
		ck_assert_int_eq(ob_buf_append(&b, &c, 1), 0);
		assert_terminated(&b);
	}
	ck_assert_uint_eq(b.len, sizeof(expect));
	ck_assert_mem_eq(b.data, expect, sizeof(expect));
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_append_binary_and_empty)
{
	struct ob_buf b = OB_BUF_INIT;
	static const char bin[] = { 'x', '\0', 'y', '\xff' };

	ck_assert_int_eq(ob_buf_append(&b, bin, sizeof(bin)), 0);
	ck_assert_uint_eq(b.len, sizeof(bin));
	ck_assert_mem_eq(b.data, bin, sizeof(bin));
	/* n == 0 with a NULL source is allowed and changes nothing. */
	ck_assert_int_eq(ob_buf_append(&b, NULL, 0), 0);
	ck_assert_uint_eq(b.len, sizeof(bin));
	assert_terminated(&b);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_puts_putc)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_buf_puts(&b, "Action="), 0);
	ck_assert_int_eq(ob_buf_puts(&b, ""), 0);
	ck_assert_int_eq(ob_buf_putc(&b, 'X'), 0);
	ck_assert_str_eq(b.data, "Action=X");
	ck_assert_uint_eq(b.len, 8);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_printf_small_and_appending)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_buf_printf(&b, "%s=%d", "n", 42), 0);
	ck_assert_int_eq(ob_buf_printf(&b, "&%s", "m"), 0);
	ck_assert_str_eq(b.data, "n=42&m");
	ck_assert_uint_eq(b.len, 6);
	/* An empty format appends nothing. */
	ck_assert_int_eq(ob_buf_printf(&b, "%s", ""), 0);
	ck_assert_uint_eq(b.len, 6);
	ob_buf_clear(&b);
}
END_TEST

/* Output longer than the initial allocation and longer than the room left:
 * the second vsnprintf pass must produce the whole text. */
START_TEST(test_printf_grows)
{
	struct ob_buf b = OB_BUF_INIT;
	char big[3000];
	size_t i;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(ob_buf_puts(&b, "head:"), 0);
	ck_assert_int_eq(ob_buf_printf(&b, "[%s]%d", big, 7), 0);
	ck_assert_uint_eq(b.len, 5 + 1 + (sizeof(big) - 1) + 2);
	ck_assert_int_eq(strncmp(b.data, "head:[", 6), 0);
	for (i = 6; i < 6 + sizeof(big) - 1; i++)
		ck_assert_int_eq(b.data[i], 'q');
	ck_assert_str_eq(b.data + b.len - 2, "]7");
	assert_terminated(&b);
	/* Many small printfs crossing several growth steps. */
	ob_buf_reset(&b);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(ob_buf_printf(&b, "%03zu,", i), 0);
	ck_assert_uint_eq(b.len, 4000);
	ck_assert_int_eq(strncmp(b.data + 4 * 999, "999,", 4), 0);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_max_append)
{
	struct ob_buf b = OB_BUF_INIT;

	b.max = 10;
	ck_assert_int_eq(ob_buf_append(&b, "0123456789", 10), 0);
	ck_assert_uint_eq(b.len, 10);
	errno = 0;
	ck_assert_int_eq(ob_buf_putc(&b, 'x'), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(b.data, "0123456789");
	ck_assert_uint_eq(b.len, 10);
	/* A refused append never half-writes. */
	ob_buf_reset(&b);
	ck_assert_int_eq(ob_buf_puts(&b, "abc"), 0);
	errno = 0;
	ck_assert_int_eq(ob_buf_puts(&b, "defghijkl"), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(b.data, "abc");
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_max_refuses_without_allocating)
{
	struct ob_buf b = OB_BUF_INIT;

	b.max = 4;
	errno = 0;
	ck_assert_int_eq(ob_buf_reserve(&b, 5), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_int_eq(ob_buf_reserve(&b, 4), 0);
	ob_buf_clear(&b);
}
END_TEST

/* The header promises a C string whenever anything is allocated. */
START_TEST(test_reserve_terminates)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_buf_reserve(&b, 100), 0);
	ck_assert_uint_ge(b.cap, 101);
	ck_assert_uint_eq(b.len, 0);
	assert_terminated(&b);
	ck_assert_str_eq(b.data, "");
	ob_buf_clear(&b);
}
END_TEST

/* printf output that fits under the limit must be accepted even when the
 * limit is smaller than printf's first growth step. */
START_TEST(test_max_printf_fits)
{
	struct ob_buf b = OB_BUF_INIT;

	b.max = 16;
	ck_assert_int_eq(ob_buf_printf(&b, "%d", 12345), 0);
	ck_assert_str_eq(b.data, "12345");
	ck_assert_int_eq(ob_buf_printf(&b, "%s", "67890abcdef"), 0);
	ck_assert_str_eq(b.data, "1234567890abcdef");
	ck_assert_uint_eq(b.len, 16);
	errno = 0;
	ck_assert_int_eq(ob_buf_printf(&b, "%c", 'z'), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(b.data, "1234567890abcdef");
	ob_buf_clear(&b);
}
END_TEST

/* Output that would not fit under the limit is refused even when the
 * allocation happens to have room for it; the contents stay as they were. */
START_TEST(test_max_printf_refused)
{
	struct ob_buf b = OB_BUF_INIT;

	b.max = 100;
	ck_assert_int_eq(ob_buf_puts(&b, "keep"), 0);
	errno = 0;
	ck_assert_int_eq(ob_buf_printf(&b, "%0*d", 97, 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_str_eq(b.data, "keep");
	ck_assert_uint_le(b.len, b.max);
	/* Exactly at the limit is fine. */
	ck_assert_int_eq(ob_buf_printf(&b, "%0*d", 96, 1), 0);
	ck_assert_uint_eq(b.len, 100);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_huge_n_overflow)
{
	struct ob_buf b = OB_BUF_INIT;

	ck_assert_int_eq(ob_buf_puts(&b, "hello"), 0);
	errno = 0;
	ck_assert_int_eq(ob_buf_reserve(&b, SIZE_MAX), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	errno = 0;
	ck_assert_int_eq(ob_buf_reserve(&b, SIZE_MAX - 5), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	errno = 0;
	/* len + n + 1 == SIZE_MAX + 1 exactly: must not wrap to 0. */
	ck_assert_int_eq(ob_buf_append(&b, "x", SIZE_MAX - 5), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(b.data, "hello");
	ck_assert_uint_eq(b.len, 5);
	/* With a limit, a huge request that passes the overflow check is still
	 * refused before any allocation is attempted. */
	b.max = 1024;
	errno = 0;
	ck_assert_int_eq(ob_buf_reserve(&b, SIZE_MAX - 6), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	errno = 0;
	ck_assert_int_eq(ob_buf_printf(&b, "%*s", 1 << 20, ""), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(b.data, "hello");
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_steal)
{
	struct ob_buf b = OB_BUF_INIT;
	char *s;

	ck_assert_int_eq(ob_buf_puts(&b, "owned"), 0);
	s = ob_buf_steal(&b);
	ck_assert_str_eq(s, "owned");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	/* The buffer is reusable and no longer aliases the stolen string. */
	ck_assert_int_eq(ob_buf_puts(&b, "again"), 0);
	ck_assert_ptr_ne(b.data, s);
	ck_assert_str_eq(s, "owned");
	free(s);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_steal_empty)
{
	struct ob_buf b = OB_BUF_INIT;
	char *s = ob_buf_steal(&b);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_ptr_null(b.data);
	free(s);
}
END_TEST

START_TEST(test_reset)
{
	struct ob_buf b = OB_BUF_INIT;
	char *before;
	size_t cap;

	ob_buf_reset(&b); /* on a never-used buffer: no crash, still empty */
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(ob_buf_puts(&b, "some contents"), 0);
	before = b.data;
	cap = b.cap;
	ob_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_ptr_eq(b.data, before);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_int_eq(ob_buf_puts(&b, "new"), 0);
	ck_assert_str_eq(b.data, "new");
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_clear_and_cleanse)
{
	struct ob_buf b = OB_BUF_INIT;

	ob_buf_clear(NULL);
	ob_buf_cleanse(NULL);
	ob_buf_clear(&b);   /* never used */
	ob_buf_cleanse(&b);
	ck_assert_int_eq(ob_buf_puts(&b, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), 0);
	ob_buf_cleanse(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	/* Reusable after cleanse, and cleanse twice is harmless. */
	ck_assert_int_eq(ob_buf_puts(&b, "next"), 0);
	ck_assert_str_eq(b.data, "next");
	ob_buf_cleanse(&b);
	ob_buf_cleanse(&b);
	ck_assert_ptr_null(b.data);
	/* The limit survives clear: a capped buffer stays capped. */
	b.max = 3;
	ck_assert_int_eq(ob_buf_puts(&b, "abc"), 0);
	ob_buf_clear(&b);
	ck_assert_int_eq(ob_buf_puts(&b, "abcd"), -1);
	ob_buf_clear(&b);
}
END_TEST

START_TEST(test_sensitive_growth)
{
	struct ob_buf b = OB_BUF_INIT;
	char chunk[100];
	size_t i, cap_before;
	char *old;

	b.sensitive = true;
	memset(chunk, 'S', sizeof(chunk));
	for (i = 0; i < 100; i++) {
		cap_before = b.cap;
		old = b.data;
		ck_assert_int_eq(ob_buf_append(&b, chunk, sizeof(chunk)), 0);
		/* Growing moves to a new block (the old one was wiped, then
		 * freed; ASan would flag any later use of it). */
		if (cap_before != 0 && b.cap != cap_before)
			ck_assert_ptr_ne(b.data, old);
	}
	ck_assert_uint_eq(b.len, 100 * sizeof(chunk));
	for (i = 0; i < b.len; i++)
		ck_assert_int_eq(b.data[i], 'S');
	ck_assert_int_eq(b.data[b.len], '\0');
	ck_assert(b.sensitive);
	ob_buf_reset(&b);
	ck_assert(b.sensitive);
	ob_buf_cleanse(&b);
}
END_TEST

Suite *ob_suite_buf(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_grows);
	tcase_add_test(tc, test_append_binary_and_empty);
	tcase_add_test(tc, test_puts_putc);
	tcase_add_test(tc, test_printf_small_and_appending);
	tcase_add_test(tc, test_printf_grows);
	tcase_add_test(tc, test_max_append);
	tcase_add_test(tc, test_max_refuses_without_allocating);
	tcase_add_test(tc, test_reserve_terminates);
	tcase_add_test(tc, test_max_printf_fits);
	tcase_add_test(tc, test_max_printf_refused);
	tcase_add_test(tc, test_huge_n_overflow);
	tcase_add_test(tc, test_steal);
	tcase_add_test(tc, test_steal_empty);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_clear_and_cleanse);
	tcase_add_test(tc, test_sensitive_growth);
	suite_add_tcase(s, tc);
	return s;
}
