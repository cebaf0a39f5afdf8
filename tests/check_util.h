/*
 * check_util.h - helpers shared by the unit test suites.
 */
#ifndef CHECK_UTIL_H
#define CHECK_UTIL_H

#include <stdint.h>

#include <stddef.h>

/* Read tests/data/responses/<name> into a malloc'ed NUL-terminated buffer
 * (the caller frees it); *ret_len gets its length when not NULL. The runner
 * may start from the source tree root (make unit) or a build directory;
 * OB_TEST_DATA overrides. Fails the current test when the file is missing. */
char *ob_test_load_response(const char *name, size_t *ret_len);

/* The seed of a randomised test: OB_TEST_SEED from the environment, else
 * the time; never 0. Printed to stderr as "<who>: OB_TEST_SEED=N" so a
 * failure can be replayed. */
uint64_t ob_test_seed(const char *who);

/* xorshift64: the tests' reproducible pseudo-random numbers (s != 0). */
uint64_t ob_test_xorshift64(uint64_t *s);

#endif
