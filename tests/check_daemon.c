/*
 * check_daemon.c - the daemon loop's one fatal case: a state database found
 * corrupt while running ends the loop with that error (main.c exits 3 for
 * a rebuild) instead of pausing and trying again for ever, as it does for
 * every other failure of a turn.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ob/daemon.h"
#include "ob/store.h"
#include "check_ob.h"

struct fake {
	struct ob_error fail; /* what run() answers */
	int runs;
};

static int fake_run(void *ctx, int64_t *ret_next_ms, struct ob_error *err)
{
	struct fake *f = ctx;

	f->runs++;
	*ret_next_ms = 0;
	*err = f->fail;
	return -1;
}

static int fake_intake(void *ctx, const struct ob_sqs_batch *batch, struct ob_error *err)
{
	(void)ctx, (void)batch, (void)err;
	ck_abort_msg("no message was received");
	return -1;
}

START_TEST(test_corrupt_store_ends_the_loop)
{
	char dir[] = "/tmp/ob-check-daemon-XXXXXX", path[128];
	struct ob_daemon_options opt = { 0 };
	volatile sig_atomic_t stop = 0;
	struct ob_store *st = NULL;
	struct fake f = { 0 };
	struct ob_error err;
	int fd;

	/* A real corrupt-database error, as the store reports it. */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "SQLite format 3\0 and then garbage, garbage, garbage", 52), 52);
	close(fd);
	ck_assert_int_eq(ob_store_open(path, false, &st, &f.fail), -1);
	ck_assert_int_eq(ob_store_fault_of(&f.fail), OB_STORE_FAULT_CORRUPT);

	opt.client = (struct ob_client *)&f; /* not used before run() fails */
	opt.store = (struct ob_store *)&f;
	opt.queue_url = "http://127.0.0.1:9/queue";
	opt.stop = &stop;
	opt.role = (struct ob_daemon_role){ "source", &f, fake_intake, fake_run };
	ck_assert_int_eq(ob_daemon_run(&opt, &err), -1);
	ck_assert_int_eq(f.runs, 1); /* no pause, no second try */
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_CORRUPT);
	ck_assert_msg(strstr(err.message, "jobs: corrupt: ") == err.message, "%s", err.message);

	unlink(path);
	rmdir(dir);
}
END_TEST

/* The quota alert raises at 90 % and clears only below 85 %: hovering at
 * the threshold (89 <-> 90 of 100) sends no raise/clear pair per look. */
START_TEST(test_quota_hysteresis)
{
	ck_assert_int_eq(ob_daemon_quota_verdict(90, 100), 1);
	ck_assert_int_eq(ob_daemon_quota_verdict(100, 100), 1);
	ck_assert_int_eq(ob_daemon_quota_verdict(89, 100), 0);  /* in between: as it is */
	ck_assert_int_eq(ob_daemon_quota_verdict(85, 100), 0);
	ck_assert_int_eq(ob_daemon_quota_verdict(84, 100), -1);
	ck_assert_int_eq(ob_daemon_quota_verdict(0, 100), -1);
	ck_assert_int_eq(ob_daemon_quota_verdict(5, 0), -1);    /* no quota known */
	ck_assert_int_eq(ob_daemon_quota_verdict(899, 1000), 0);
	ck_assert_int_eq(ob_daemon_quota_verdict(849, 1000), -1);
}
END_TEST

Suite *ob_suite_daemon(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_corrupt_store_ends_the_loop);
	tcase_add_test(tc, test_quota_hysteresis);
	suite_add_tcase(s, tc);
	return s;
}
