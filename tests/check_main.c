/*
 * check_main.c - the one Check runner: every module's suite in one binary,
 * linked against libob.a. Exit status is non-zero when any test fails.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check_ob.h"


int main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(ob_suite_error());
	srunner_add_suite(sr, ob_suite_buf());
	srunner_add_suite(sr, ob_suite_clock());
	srunner_add_suite(sr, ob_suite_uri());
	srunner_add_suite(sr, ob_suite_awsid());
	srunner_add_suite(sr, ob_suite_sigv4());
	srunner_add_suite(sr, ob_suite_retry());
	srunner_add_suite(sr, ob_suite_http());
	srunner_add_suite(sr, ob_suite_xml());
	srunner_add_suite(sr, ob_suite_aws());
	srunner_add_suite(sr, ob_suite_creds());
	srunner_add_suite(sr, ob_suite_config());
	srunner_add_suite(sr, ob_suite_clients());
	srunner_add_suite(sr, ob_suite_fsm());
	srunner_add_suite(sr, ob_suite_store());
	srunner_add_suite(sr, ob_suite_event());
	srunner_add_suite(sr, ob_suite_ident());
	srunner_add_suite(sr, ob_suite_announce());
	srunner_add_suite(sr, ob_suite_retain());
	srunner_add_suite(sr, ob_suite_ctl());
	srunner_add_suite(sr, ob_suite_rebuild());
	srunner_add_suite(sr, ob_suite_daemon());
	srunner_add_suite(sr, ob_suite_metrics());
	srunner_add_suite(sr, ob_suite_alert());
	srunner_add_suite(sr, ob_suite_export());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	/* A plain closing line of our own, on stdout after everything the
	 * suites printed to stderr (their seeds), so CI can read the result. */
	fflush(stderr);
	printf("\nunit: %d passed, %d failed\n", srunner_ntests_run(sr) - failed, failed);
	fflush(stdout);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
