/*
 * check_util.c - helpers shared by the unit test suites.
 */
#include "check_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <check.h>

char *ob_test_load_response(const char *name, size_t *ret_len)
{
	const char *dirs[] = { getenv("OB_TEST_DATA"), "tests/data/responses",
			       "../tests/data/responses", "../../tests/data/responses" };
	char path[1024];
	size_t i, n;
	FILE *f = NULL;
	char *data;
	long size;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && f == NULL; i++) {
		if (dirs[i] == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		f = fopen(path, "rb");
	}
	ck_assert_msg(f != NULL, "corpus file %s not found (set OB_TEST_DATA)", name);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	data = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(data);
	n = fread(data, 1, (size_t)size, f);
	ck_assert_uint_eq(n, (size_t)size);
	data[n] = '\0';
	fclose(f);
	if (ret_len != NULL)
		*ret_len = n;
	return data;
}

uint64_t ob_test_seed(const char *who)
{
	const char *env = getenv("OB_TEST_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);

	if (seed == 0)
		seed = 1;
	fprintf(stderr, "%s: OB_TEST_SEED=%" PRIu64 "\n", who, seed);
	return seed;
}

uint64_t ob_test_xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}
