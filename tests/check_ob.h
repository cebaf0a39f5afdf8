/*
 * check_ob.h - the suites linked into the one Check runner (check_main.c).
 * Each tests/check_<module>.c defines one ob_suite_<module>() function.
 */
#ifndef CHECK_OB_H
#define CHECK_OB_H

#include <check.h>

Suite *ob_suite_error(void);
Suite *ob_suite_buf(void);
Suite *ob_suite_clock(void);
Suite *ob_suite_uri(void);
Suite *ob_suite_awsid(void);
Suite *ob_suite_sigv4(void);
Suite *ob_suite_retry(void);
Suite *ob_suite_http(void);
Suite *ob_suite_xml(void);
Suite *ob_suite_aws(void);
Suite *ob_suite_creds(void);
Suite *ob_suite_config(void);
Suite *ob_suite_clients(void);
Suite *ob_suite_fsm(void);
Suite *ob_suite_store(void);
Suite *ob_suite_event(void);
Suite *ob_suite_ident(void);
Suite *ob_suite_announce(void);
Suite *ob_suite_retain(void);
Suite *ob_suite_ctl(void);
Suite *ob_suite_rebuild(void);
Suite *ob_suite_daemon(void);
Suite *ob_suite_metrics(void);
Suite *ob_suite_alert(void);
Suite *ob_suite_export(void);

#endif
