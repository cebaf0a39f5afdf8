/*
 * check_export.c - the S3 export pieces that need no emulator: the
 * StartExportTask / DescribeExportTasks requests and parser of rds.c
 * (through the recording fake transport, with garbage, truncated and
 * hostile answers), and the pure helpers of export.c (task names, what a
 * task status means).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ob.h"
#include "ob/alert.h"
#include "ob/aws.h"
#include "ob/client.h"
#include "ob/jobs.h"
#include "ob/creds.h"
#include "ob/export.h"
#include "ob/private/http_fake.h"
#include "ob/rds.h"
#include "ob/xml.h"

#define REGION  "eu-central-1"
#define T0_MS   1795373392000LL
#define COPY_ARN "arn:aws:rds:eu-central-1:111111111111:snapshot:ob-orders-1"
#define ROLE    "arn:aws:iam::111111111111:role/rds-s3-export"
#define KEY     "arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"

#define DX_HEAD                                                                  \
	"<DescribeExportTasksResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">" \
	"<DescribeExportTasksResult>"
#define DX_TAIL                                                                  \
	"</DescribeExportTasksResult><ResponseMetadata><RequestId>r</RequestId>"   \
	"</ResponseMetadata></DescribeExportTasksResponse>"
#define TASK(id, status, extra)                                                  \
	"<ExportTask><ExportTaskIdentifier>" id "</ExportTaskIdentifier><SourceArn>" \
	COPY_ARN "</SourceArn><Status>" status "</Status>" extra "</ExportTask>"
#define SX(inner)                                                                \
	"<StartExportTaskResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">" \
	"<StartExportTaskResult>" inner "</StartExportTaskResult><ResponseMetadata>" \
	"<RequestId>r</RequestId></ResponseMetadata></StartExportTaskResponse>"

static struct ob_http_fake fake;
static int64_t t_wall;
static struct ob_creds_provider *creds;
static struct ob_aws *aws;

static int64_t t_now_ms(void *ctx)
{
	(void)ctx;
	return t_wall;
}

static int t_sleep_ms(void *ctx, int64_t ms)
{
	(void)ctx;
	t_wall += ms;
	return 0;
}

static const struct ob_clock tclock = { t_now_ms, t_now_ms, t_sleep_ms, NULL };

static uint32_t t_random(void *ctx)
{
	(void)ctx;
	return 0x40000000u;
}

static void setup(void)
{
	struct ob_creds_options co;
	struct ob_aws_options o;
	struct ob_error err;

	ob_http_fake_init(&fake);
	t_wall = T0_MS;
	memset(&co, 0, sizeof(co));
	co.source = OB_CREDS_STATIC;
	co.access_key_id = "AKIDEXAMPLE";
	co.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	creds = ob_creds_provider_new(&co, &err);
	ck_assert_msg(creds != NULL, "%s", err.message);
	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.http = ob_http_fake_ops(&fake);
	o.clock = &tclock;
	o.creds = creds;
	o.random = t_random;
	aws = ob_aws_new(&o, &err);
	ck_assert_msg(aws != NULL, "%s", err.message);
}

static void teardown(void)
{
	ob_aws_free(aws);
	ob_creds_provider_free(creds);
	ob_http_fake_clear(&fake);
}

static const char *sent_body(size_t i)
{
	ck_assert_uint_lt(i, fake.n_records);
	return fake.records[i].body.data ? fake.records[i].body.data : "";
}

/* ---- status words ---------------------------------------------------------- */

START_TEST(test_status_parse)
{
	static const struct {
		const char *word;
		enum ob_rds_export_status status;
		enum ob_export_state state;
	} rows[] = {
		{ "STARTING", OB_RDS_EXPORT_STARTING, OB_EXPORT_RUNNING },
		{ "starting", OB_RDS_EXPORT_STARTING, OB_EXPORT_RUNNING },
		{ "IN_PROGRESS", OB_RDS_EXPORT_IN_PROGRESS, OB_EXPORT_RUNNING },
		{ "in_progress", OB_RDS_EXPORT_IN_PROGRESS, OB_EXPORT_RUNNING },
		{ "COMPLETE", OB_RDS_EXPORT_COMPLETE, OB_EXPORT_COMPLETE },
		{ "complete", OB_RDS_EXPORT_COMPLETE, OB_EXPORT_COMPLETE }, /* moto */
		{ "Complete", OB_RDS_EXPORT_COMPLETE, OB_EXPORT_COMPLETE },
		{ "CANCELING", OB_RDS_EXPORT_CANCELING, OB_EXPORT_RUNNING },
		{ "CANCELED", OB_RDS_EXPORT_CANCELED, OB_EXPORT_CANCELED },
		{ "canceled", OB_RDS_EXPORT_CANCELED, OB_EXPORT_CANCELED },
		{ "FAILED", OB_RDS_EXPORT_FAILED, OB_EXPORT_FAILED },
		{ "failed", OB_RDS_EXPORT_FAILED, OB_EXPORT_FAILED },
		/* Unknown words: keep polling, never "complete". */
		{ "COMPLETED", OB_RDS_EXPORT_UNKNOWN, OB_EXPORT_RUNNING },
		{ "COMPLETE ", OB_RDS_EXPORT_UNKNOWN, OB_EXPORT_RUNNING },
		{ "", OB_RDS_EXPORT_UNKNOWN, OB_EXPORT_RUNNING },
		{ "IN PROGRESS", OB_RDS_EXPORT_UNKNOWN, OB_EXPORT_RUNNING },
		{ NULL, OB_RDS_EXPORT_UNKNOWN, OB_EXPORT_RUNNING },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_msg(ob_rds_export_status_parse(rows[i].word) == rows[i].status, "row %zu", i);
		ck_assert_msg(ob_export_state_of(rows[i].status) == rows[i].state, "row %zu", i);
	}
}
END_TEST

/* ---- task names ------------------------------------------------------------ */

START_TEST(test_task_id)
{
	char buf[OB_EXPORT_TASK_ID_MAX + 1], small[12];
	char long_id[64];
	struct ob_error err;

	ck_assert_int_eq(ob_export_task_id("j0123456789abcdef", buf, sizeof(buf), &err), 0);
	ck_assert_str_eq(buf, "ob-export-j0123456789abcdef");
	/* Deterministic: the same job, the same name. */
	ck_assert_int_eq(ob_export_task_id("j0123456789abcdef", small, sizeof(small), &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_int_eq(ob_export_task_id("", buf, sizeof(buf), &err), -1);
	ck_assert_int_eq(ob_export_task_id(NULL, buf, sizeof(buf), &err), -1);
	ck_assert_int_eq(ob_export_task_id("j_1", buf, sizeof(buf), &err), -1);
	ck_assert_int_eq(ob_export_task_id("j--1", buf, sizeof(buf), &err), -1);
	ck_assert_int_eq(ob_export_task_id("j1-", buf, sizeof(buf), &err), -1);
	ck_assert_int_eq(ob_export_task_id("j\xc3\xa9", buf, sizeof(buf), &err), -1);
	/* 60 characters at most, prefix included. */
	memset(long_id, 'a', 50);
	long_id[50] = '\0';
	ck_assert_int_eq(ob_export_task_id(long_id, buf, sizeof(buf), &err), 0);
	ck_assert_uint_eq(strlen(buf), 60);
	long_id[50] = 'a';
	long_id[51] = '\0';
	ck_assert_int_eq(ob_export_task_id(long_id, buf, sizeof(buf), &err), -1);
}
END_TEST

START_TEST(test_enabled)
{
	struct ob_config c;

	memset(&c, 0, sizeof(c));
	ck_assert(!ob_export_enabled(NULL));
	ck_assert(!ob_export_enabled(&c));
	c.export_to_s3_bucket = (char *)"";
	ck_assert(!ob_export_enabled(&c));
	c.export_to_s3_bucket = (char *)"b-1";
	ck_assert(ob_export_enabled(&c));
}
END_TEST

/* ---- StartExportTask ------------------------------------------------------- */

START_TEST(test_start_request)
{
	struct ob_rds_export_start x = { "ob-export-j1", COPY_ARN, "escrow-1", "rds/a b", ROLE, KEY };
	struct ob_rds_export_task t;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, SX("<ExportTaskIdentifier>ob-export-j1</ExportTaskIdentifier>"
					 "<SourceArn>" COPY_ARN "</SourceArn><Status>STARTING</Status>"
					 "<S3Bucket>escrow-1</S3Bucket><PercentProgress>0</PercentProgress>"),
			  NULL);
	ck_assert_msg(ob_rds_start_export_task(aws, &x, &t, &err) == 0, "%s", err.message);
	ck_assert_str_eq(sent_body(0),
			 "Action=StartExportTask&Version=2014-10-31"
			 "&ExportTaskIdentifier=ob-export-j1"
			 "&SourceArn=arn%3Aaws%3Ards%3Aeu-central-1%3A111111111111%3Asnapshot%3Aob-orders-1"
			 "&S3BucketName=escrow-1&S3Prefix=rds%2Fa%20b"
			 "&IamRoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Frds-s3-export"
			 "&KmsKeyId=arn%3Aaws%3Akms%3Aeu-central-1%3A111111111111%3Akey%2F"
			 "1234abcd-12ab-34cd-56ef-1234567890ab");
	ck_assert_str_eq(t.id, "ob-export-j1");
	ck_assert_str_eq(t.source_arn, COPY_ARN);
	ck_assert_int_eq(t.status, OB_RDS_EXPORT_STARTING);
	ck_assert_str_eq(t.s3_bucket, "escrow-1");
	ck_assert_str_eq(t.failure_cause, "");
	ob_rds_export_task_clear(&t);
	ob_rds_export_task_clear(NULL);

	/* No prefix: no S3Prefix parameter. */
	x.s3_prefix = "";
	ob_http_fake_push(&fake, 200, SX("<ExportTaskIdentifier>ob-export-j1</ExportTaskIdentifier>"
					 "<Status>STARTING</Status>"), NULL);
	ck_assert_int_eq(ob_rds_start_export_task(aws, &x, NULL, &err), 0);
	ck_assert_ptr_null(strstr(sent_body(1), "S3Prefix"));
}
END_TEST

START_TEST(test_start_bad_args)
{
	struct ob_rds_export_start ok = { "ob-export-j1", COPY_ARN, "escrow-1", NULL, ROLE, KEY }, x;
	struct ob_rds_export_task t;
	struct ob_error err;
	int i;

	ck_assert_int_eq(ob_rds_start_export_task(aws, NULL, &t, &err), -1);
	for (i = 0; i < 5; i++) {
		x = ok;
		switch (i) {
		case 0: x.task_id = ""; break;
		case 1: x.source_arn = NULL; break;
		case 2: x.s3_bucket = ""; break;
		case 3: x.iam_role_arn = NULL; break;
		case 4: x.kms_key_id = ""; break;
		}
		ck_assert_int_eq(ob_rds_start_export_task(aws, &x, &t, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	}
	ck_assert_uint_eq(fake.n_records, 0);
}
END_TEST

/* Answers that are not a started task are not a confirmation. */
START_TEST(test_start_bad_answers)
{
	static const char *const bodies[] = {
		"",
		"garbage",
		"<StartExportTaskResponse>",
		SX(""),
		SX("<ExportTaskIdentifier>x</ExportTaskIdentifier>"),
		SX("<Status>STARTING</Status>"),
		SX("<ExportTaskIdentifier>x</ExportTaskIdentifier><Status>STARTING</Status>"
		   "<PercentProgress>101</PercentProgress>"),
		SX("<ExportTaskIdentifier>x</ExportTaskIdentifier><Status>STARTING</Status>"
		   "<PercentProgress>-1</PercentProgress>"),
		SX("<ExportTaskIdentifier>x</ExportTaskIdentifier><Status>STARTING</Status>"
		   "<PercentProgress>99999999999999999999999</PercentProgress>"),
		"<OtherResponse><OtherResult/></OtherResponse>",
	};
	struct ob_rds_export_start x = { "ob-export-j1", COPY_ARN, "escrow-1", NULL, ROLE, KEY };
	struct ob_rds_export_task t;
	struct ob_error err;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ob_http_fake_clear(&fake);
		ob_http_fake_init(&fake);
		ob_http_fake_push(&fake, 200, bodies[i], NULL);
		/* a retried transient answer finds no reply: also an error */
		ck_assert_msg(ob_rds_start_export_task(aws, &x, &t, &err) == -1, "body %zu", i);
		ck_assert_ptr_null(t.id);
	}
}
END_TEST

START_TEST(test_start_aws_errors)
{
	static const struct {
		int status;
		const char *code;
	} rows[] = {
		{ 400, "ExportTaskAlreadyExists" }, { 404, "IamRoleNotFound" },
		{ 400, "KMSKeyNotAccessibleFault" }, { 400, "InvalidS3BucketFault" },
		{ 400, "InvalidExportSourceState" }, { 403, "AccessDenied" },
	};
	struct ob_rds_export_start x = { "ob-export-j1", COPY_ARN, "escrow-1", NULL, ROLE, KEY };
	struct ob_error err;
	char body[512];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(body, sizeof(body),
			 "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error>"
			 "<Type>Sender</Type><Code>%s</Code><Message>no</Message></Error>"
			 "<RequestId>r1</RequestId></ErrorResponse>", rows[i].code);
		ob_http_fake_push(&fake, rows[i].status, body, NULL);
		ck_assert_int_eq(ob_rds_start_export_task(aws, &x, NULL, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_AWS);
		ck_assert_str_eq(err.aws_code, rows[i].code);
	}
	ck_assert_uint_eq(fake.n_records, sizeof(rows) / sizeof(rows[0])); /* none retried */
}
END_TEST

/* ---- DescribeExportTasks --------------------------------------------------- */

START_TEST(test_describe_request_and_paging)
{
	static const char *const ids[] = { "ob-export-j1", "ob-export-j2" };
	struct ob_rds_export_task_list l;
	struct ob_error err;

	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>"
			  TASK("ob-export-j1", "IN_PROGRESS", "<PercentProgress>42</PercentProgress>"
			       "<S3Bucket>b</S3Bucket><S3Prefix>p</S3Prefix><IamRoleArn>" ROLE
			       "</IamRoleArn><KmsKeyId>" KEY "</KmsKeyId>")
			  "</ExportTasks><Marker>m1</Marker>" DX_TAIL, NULL);
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>"
			  TASK("ob-export-j2", "FAILED", "<FailureCause>S3 access denied &amp; "
			       "more</FailureCause>")
			  "</ExportTasks>" DX_TAIL, NULL);
	ck_assert_msg(ob_rds_describe_export_tasks(aws, ids, 2, &l, &err) == 0, "%s", err.message);
	ck_assert_str_eq(sent_body(0), "Action=DescribeExportTasks&Version=2014-10-31"
				       "&Filters.Filter.1.Name=export-task-identifier"
				       "&Filters.Filter.1.Values.Value.1=ob-export-j1"
				       "&Filters.Filter.1.Values.Value.2=ob-export-j2"
				       "&MaxRecords=100");
	ck_assert_str_eq(sent_body(1), "Action=DescribeExportTasks&Version=2014-10-31"
				       "&Filters.Filter.1.Name=export-task-identifier"
				       "&Filters.Filter.1.Values.Value.1=ob-export-j1"
				       "&Filters.Filter.1.Values.Value.2=ob-export-j2"
				       "&MaxRecords=100&Marker=m1");
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(l.items[0].status, OB_RDS_EXPORT_IN_PROGRESS);
	ck_assert_int_eq(l.items[0].percent_progress, 42);
	ck_assert_str_eq(l.items[0].s3_prefix, "p");
	ck_assert_str_eq(l.items[0].iam_role_arn, ROLE);
	ck_assert_str_eq(l.items[0].kms_key_id, KEY);
	ck_assert_int_eq(l.items[1].status, OB_RDS_EXPORT_FAILED);
	ck_assert_str_eq(l.items[1].failure_cause, "S3 access denied & more");
	ck_assert_str_eq(l.items[1].status_text, "FAILED");
	ob_rds_export_task_list_clear(&l);
	ck_assert_ptr_null(l.items);
	ob_rds_export_task_list_clear(NULL);
}
END_TEST

START_TEST(test_describe_bad_args)
{
	static const char *ids[OB_RDS_EXPORT_IDS_MAX + 1];
	static const char *const empty_id[] = { "a", "" };
	struct ob_rds_export_task_list l;
	struct ob_error err;
	size_t i;

	for (i = 0; i < OB_RDS_EXPORT_IDS_MAX + 1; i++)
		ids[i] = "x";
	ck_assert_int_eq(ob_rds_describe_export_tasks(aws, ids, 0, &l, &err), -1);
	ck_assert_int_eq(ob_rds_describe_export_tasks(aws, NULL, 1, &l, &err), -1);
	ck_assert_int_eq(ob_rds_describe_export_tasks(aws, ids, OB_RDS_EXPORT_IDS_MAX + 1, &l, &err),
			 -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_int_eq(ob_rds_describe_export_tasks(aws, empty_id, 2, &l, &err), -1);
	ck_assert_uint_eq(fake.n_records, 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_describe_marker_loops)
{
	static const char *const ids[] = { "ob-export-j1" };
	struct ob_rds_export_task_list l;
	struct ob_error err;
	int i;

	for (i = 0; i < 3; i++)
		ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "STARTING", "")
				  "</ExportTasks><Marker>same</Marker>" DX_TAIL, NULL);
	ck_assert_int_eq(ob_rds_describe_export_tasks(aws, ids, 1, &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_uint_eq(l.n, 0); /* no partial answer */
	ck_assert_ptr_null(l.items);
}
END_TEST

/* The parser alone: garbage, truncation, wrong shapes, huge values. */
START_TEST(test_parse_shapes)
{
	static const struct {
		const char *xml;
		int rc;
		size_t n;
	} rows[] = {
		{ DX_HEAD DX_TAIL, 0, 0 },
		{ DX_HEAD "<ExportTasks/>" DX_TAIL, 0, 0 },
		{ DX_HEAD "<ExportTasks>" TASK("a", "COMPLETE", "") TASK("b", "STARTING", "")
		  "</ExportTasks>" DX_TAIL, 0, 2 },
		/* an unknown status is kept, as text */
		{ DX_HEAD "<ExportTasks>" TASK("a", "EXPLODED", "") "</ExportTasks>" DX_TAIL, 0, 1 },
		/* tasks elsewhere are not tasks */
		{ DX_HEAD "<Other>" TASK("a", "COMPLETE", "") "</Other>" DX_TAIL, 0, 0 },
		{ "<DescribeExportTasksResponse><Other/></DescribeExportTasksResponse>", -1, 0 },
		{ "<X><DescribeExportTasksResult/></X>", 0, 0 },
		{ DX_HEAD "<ExportTasks><ExportTask><Status>COMPLETE</Status></ExportTask>"
		  "</ExportTasks>" DX_TAIL, -1, 0 },
		{ DX_HEAD "<ExportTasks><ExportTask><ExportTaskIdentifier>a</ExportTaskIdentifier>"
		  "</ExportTask></ExportTasks>" DX_TAIL, -1, 0 },
		{ DX_HEAD "<ExportTasks>" TASK("a", "COMPLETE", "<PercentProgress>x</PercentProgress>")
		  "</ExportTasks>" DX_TAIL, -1, 0 },
		{ DX_HEAD "<ExportTasks>" TASK("a", "COMPLETE", "<PercentProgress></PercentProgress>")
		  "</ExportTasks>" DX_TAIL, -1, 0 },
		{ DX_HEAD "<ExportTasks>" TASK("a", "COMPLETE", "<PercentProgress>1e2</PercentProgress>")
		  "</ExportTasks>" DX_TAIL, -1, 0 },
		{ DX_HEAD "<ExportTasks>" TASK("a", "COMPLETE",
					       "<PercentProgress>184467440737095516160</PercentProgress>")
		  "</ExportTasks>" DX_TAIL, -1, 0 },
		/* the first good task and then a bad one: nothing half-parsed */
		{ DX_HEAD "<ExportTasks>" TASK("a", "COMPLETE", "") "<ExportTask/></ExportTasks>" DX_TAIL,
		  -1, 1 },
	};
	struct ob_rds_export_task_list l;
	struct ob_xml_doc *doc;
	struct ob_error err;
	const char *marker;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&l, 0, sizeof(l));
		ck_assert_int_eq(ob_xml_parse(rows[i].xml, strlen(rows[i].xml), &doc, &err), 0);
		ck_assert_msg(ob_rds_parse_export_tasks(doc, &l, &marker, &err) == rows[i].rc,
			      "row %zu", i);
		ck_assert_msg(l.n == rows[i].n, "row %zu: %zu tasks", i, l.n);
		if (rows[i].rc < 0)
			ck_assert_int_eq(err.kind, OB_ERR_PARSE);
		ob_rds_export_task_list_clear(&l);
		ob_xml_free(doc);
	}
}
END_TEST

/* Truncated at every byte: the XML layer refuses, or the parser does, or
 * it yields a consistent list; never a crash or a leak (ASan build). */
START_TEST(test_parse_truncated)
{
	static const char full[] = DX_HEAD "<ExportTasks>"
		TASK("ob-export-j1", "IN_PROGRESS", "<PercentProgress>42</PercentProgress>"
		     "<FailureCause>x</FailureCause>")
		"</ExportTasks><Marker>m</Marker>" DX_TAIL;
	struct ob_rds_export_task_list l;
	struct ob_xml_doc *doc;
	struct ob_error err;
	const char *marker;
	size_t cut, parsed = 0;

	for (cut = 0; cut < sizeof(full) - 1; cut++) {
		if (ob_xml_parse(full, cut, &doc, &err) < 0)
			continue;
		memset(&l, 0, sizeof(l));
		(void)ob_rds_parse_export_tasks(doc, &l, &marker, &err);
		parsed++;
		ob_rds_export_task_list_clear(&l);
		ob_xml_free(doc);
	}
	/* only the whole document is well-formed */
	ck_assert_uint_eq(parsed, 0);
	ck_assert_int_eq(ob_xml_parse(full, sizeof(full) - 1, &doc, &err), 0);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(ob_rds_parse_export_tasks(doc, &l, &marker, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(marker, "m");
	ob_rds_export_task_list_clear(&l);
	ob_xml_free(doc);
}
END_TEST

/* Huge values: a 1 MiB FailureCause and 5,000 tasks parse and are kept
 * whole (bounded by the XML layer's own limits, not truncated here). */
START_TEST(test_parse_huge)
{
	struct ob_rds_export_task_list l = { 0 };
	struct ob_xml_doc *doc;
	struct ob_error err;
	const char *marker;
	size_t cap = 8u << 20, len = 0, i;
	char *xml = malloc(cap);

	ck_assert_ptr_nonnull(xml);
	len += (size_t)snprintf(xml + len, cap - len, "%s<ExportTasks>", DX_HEAD);
	len += (size_t)snprintf(xml + len, cap - len, "<ExportTask><ExportTaskIdentifier>big"
				"</ExportTaskIdentifier><Status>FAILED</Status><FailureCause>");
	memset(xml + len, 'c', 1u << 20);
	len += 1u << 20;
	len += (size_t)snprintf(xml + len, cap - len, "</FailureCause></ExportTask>");
	for (i = 0; i < 5000; i++)
		len += (size_t)snprintf(xml + len, cap - len, "<ExportTask><ExportTaskIdentifier>t%zu"
					"</ExportTaskIdentifier><Status>STARTING</Status></ExportTask>", i);
	len += (size_t)snprintf(xml + len, cap - len, "</ExportTasks>%s", DX_TAIL);
	ck_assert_uint_lt(len, cap);
	ck_assert_msg(ob_xml_parse(xml, len, &doc, &err) == 0, "%s", err.message);
	ck_assert_msg(ob_rds_parse_export_tasks(doc, &l, &marker, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(l.n, 5001);
	ck_assert_uint_eq(strlen(l.items[0].failure_cause), 1u << 20);
	ck_assert_str_eq(l.items[5000].id, "t4999");
	ob_rds_export_task_list_clear(&l);
	ob_xml_free(doc);
	free(xml);
}
END_TEST

/* ---- the export loop against the fake RDS ---------------------------------- */

#define SX_OK(id)                                                                \
	SX("<ExportTaskIdentifier>" id "</ExportTaskIdentifier><SourceArn>" COPY_ARN \
	   "</SourceArn><Status>STARTING</Status><PercentProgress>0</PercentProgress>")
#define AWS_ERR(code)                                                            \
	"<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error>" \
	"<Type>Sender</Type><Code>" code "</Code><Message>no</Message></Error>"      \
	"<RequestId>r1</RequestId></ErrorResponse>"
#define TOPIC "arn:aws:sns:eu-central-1:111111111111:ob-alerts"

static char xdir[64], xdb[128];
static struct ob_store *xst;
static struct ob_config xcfg;
static struct ob_client xcl;
static struct ob_jobs xj;
static struct ob_alerts *xal;
static volatile sig_atomic_t xstop;

static void xsetup(void)
{
	struct ob_alerts_options ao = { 0 };
	struct ob_error err;

	setup();
	snprintf(xdir, sizeof(xdir), "/tmp/ob-check-export-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(xdir));
	snprintf(xdb, sizeof(xdb), "%s/state.db", xdir);
	ck_assert_msg(ob_store_open(xdb, false, &xst, &err) == 0, "%s", err.message);
	memset(&xcfg, 0, sizeof(xcfg));
	xcfg.poll_interval_ms = 30000;
	xcfg.max_attempts = 3;
	xcfg.export_to_s3_bucket = (char *)"escrow-1";
	xcfg.export_to_s3_prefix = (char *)"rds";
	xcfg.export_iam_role_arn = (char *)ROLE;
	xcfg.export_kms_key = (char *)KEY;
	memset(&xcl, 0, sizeof(xcl));
	xcl.aws = aws;
	xstop = 0;
	ob_jobs_init(&xj, &xcfg, &xcl, xst, &tclock, &xstop, 0);
	ao.store = xst;
	ao.aws = aws;
	ao.clock = &tclock;
	ao.topic_arn = TOPIC;
	ao.role = "source";
	ao.account = "111111111111";
	ao.region = REGION;
	xal = ob_alerts_new(&ao, &err);
	ck_assert_msg(xal != NULL, "%s", err.message);
	xj.alerts = xal;
}

static void xteardown(void)
{
	char cmd[128];

	ob_alerts_free(xal);
	ob_store_close(xst);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", xdir);
	ck_assert_int_eq(system(cmd), 0);
	teardown();
}

/* Job j<n> in `copied`, its copy COPY_ARN. */
static void xjob(int n)
{
	struct ob_job job;
	char id[16], arn[128], copy[32];
	struct ob_error err;

	memset(&job, 0, sizeof(job));
	snprintf(id, sizeof(id), "j%d", n);
	snprintf(arn, sizeof(arn), "arn:aws:rds:eu-central-1:111111111111:snapshot:rds:s-%d", n);
	snprintf(copy, sizeof(copy), "ob-s-%d", n);
	job.id = id;
	job.role = "source";
	job.kind = OB_SNAP_INSTANCE;
	job.source_arn = arn;
	job.db_id = "orders";
	job.copy_id = copy;
	job.copy_arn = COPY_ARN;
	job.state = OB_JOB_COPIED;
	job.failed_from = OB_JOB_COPIED;
	job.next_at_ms = t_wall;
	job.engine = "postgres";
	job.origin = "event";
	ck_assert_msg(ob_store_job_insert(xst, &job, "seen", t_wall, NULL, &err) == 0, "%s",
		      err.message);
}

static enum ob_export_state xstate(const char *job_id, char *code, size_t size)
{
	struct ob_export e;
	struct ob_error err;
	enum ob_export_state st;

	ck_assert_msg(ob_store_export_get(xst, job_id, &e, &err) == 0, "%s", err.message);
	st = e.state;
	if (code != NULL)
		snprintf(code, size, "%s", e.error_code);
	ob_export_clear(&e);
	return st;
}

static bool xholds(const char *job_id)
{
	struct ob_error err;
	bool held = false;

	ck_assert_msg(ob_export_holds_copy(&xj, job_id, &held, &err) == 0, "%s", err.message);
	return held;
}

static int64_t xrun(void)
{
	struct ob_error err;
	int64_t next = 0;

	ck_assert_msg(ob_export_run(&xj, &next, &err) == 0, "%s", err.message);
	return next;
}

static size_t xalerts_pending(void)
{
	struct ob_alert_list l;
	struct ob_error err;
	size_t n;

	ck_assert_msg(ob_store_alert_pending(xst, 100, &l, &err) == 0, "%s", err.message);
	n = l.n;
	ob_alert_list_clear(&l);
	return n;
}

#define PUBLISHED "<PublishResponse><PublishResult><MessageId>m-1</MessageId>" \
		  "</PublishResult></PublishResponse>"

/* Publish what is unsent (one loop turn), every Publish answered; the
 * number of Publish calls made. */
static size_t xflush(void)
{
	size_t before = fake.n_records, i, n = 0;

	for (i = 0; i < 20; i++)
		ob_http_fake_push(&fake, 200, PUBLISHED, NULL);
	ob_alerts_begin_turn(xal);
	ob_alerts_flush(xal);
	for (i = before; i < fake.n_records; i++)
		if (strstr(sent_body(i), "Action=Publish") != NULL)
			n++;
	ob_http_fake_clear(&fake);
	ob_http_fake_init(&fake);
	return n;
}

static bool xunwatched(const char *job_id)
{
	char key[64];

	snprintf(key, sizeof(key), "export-unwatched:%s", job_id);
	return ob_alerts_active(xal, key);
}

static unsigned xattempts(const char *job_id)
{
	struct ob_export e;
	struct ob_error err;
	unsigned n;

	ck_assert_msg(ob_store_export_get(xst, job_id, &e, &err) == 0, "%s", err.message);
	n = e.attempts;
	ob_export_clear(&e);
	return n;
}

/* j1 pending -> running through a successful start. */
static void xstart_j1(void)
{
	struct ob_error err;

	xjob(1);
	ck_assert_int_eq(ob_export_adopt(&xj, &err), 0);
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_PENDING);
	ob_http_fake_push(&fake, 200, SX_OK("ob-export-j1"), NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_RUNNING);
}

/* Errors in watching a running task never end it, and its copy stays held;
 * only a terminal status does. */
START_TEST(test_poll_errors_keep_running)
{
	char code[64];
	int i;

	xstart_j1();
	/* rds:DescribeExportTasks dropped from the policy. */
	t_wall += 60000;
	ob_http_fake_push(&fake, 403, AWS_ERR("AccessDenied"), NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", code, sizeof(code)), OB_EXPORT_RUNNING);
	ck_assert_str_eq(code, "AccessDenied");
	ck_assert(xholds("j1"));
	/* Not silent: export-unwatched, not terminal. */
	ck_assert(xunwatched("j1"));
	/* Many times over: still running, never counted to a failure. */
	for (i = 0; i < 12; i++) {
		t_wall += 16 * 60000;
		ob_http_fake_push(&fake, 403, AWS_ERR("AccessDenied"), NULL);
		xrun();
		ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_RUNNING);
	}
	/* 5xx (retried by the core, then given up). */
	t_wall += 16 * 60000;
	for (i = 0; i < 3; i++)
		ob_http_fake_push(&fake, 503, AWS_ERR("ServiceUnavailable"), NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", code, sizeof(code)), OB_EXPORT_RUNNING);
	ck_assert(xholds("j1"));
	/* The task not listed (eventual consistency, or gone from view). */
	for (i = 0; i < 5; i++) {
		t_wall += 16 * 60000;
		ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks/>" DX_TAIL, NULL);
		xrun();
		ck_assert_int_eq(xstate("j1", code, sizeof(code)), OB_EXPORT_RUNNING);
		ck_assert_str_eq(code, "ExportTaskNotListed");
	}
	ck_assert(xholds("j1"));
	ck_assert(xunwatched("j1"));
	/* Visible again (the alert clears), then complete. */
	t_wall += 16 * 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "IN_PROGRESS",
			  "<PercentProgress>40</PercentProgress>") "</ExportTasks>" DX_TAIL, NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", code, sizeof(code)), OB_EXPORT_RUNNING);
	ck_assert_str_eq(code, "");
	ck_assert(!xunwatched("j1"));
	t_wall += 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "COMPLETE", "")
			  "</ExportTasks>" DX_TAIL, NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_COMPLETE);
	ck_assert(!xholds("j1"));
	ck_assert(!xunwatched("j1"));
}
END_TEST

/* A task that stays unlisted (transient each time): export-unwatched is
 * raised only at max_attempts looks, then cleared by a terminal answer. */
START_TEST(test_unwatched_unlisted)
{
	unsigned i;

	xstart_j1();
	for (i = 1; i < (unsigned)xcfg.max_attempts; i++) {
		t_wall += 16 * 60000;
		ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks/>" DX_TAIL, NULL);
		xrun();
		ck_assert(!xunwatched("j1"));
	}
	ck_assert_uint_eq(xflush(), 0);
	t_wall += 16 * 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks/>" DX_TAIL, NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_RUNNING);
	ck_assert(xunwatched("j1"));
	ck_assert_uint_eq(xflush(), 1);
	/* More looks: no second message while raised. */
	t_wall += 16 * 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks/>" DX_TAIL, NULL);
	xrun();
	ck_assert_uint_eq(xflush(), 0);
	/* The task's terminal status clears it. */
	t_wall += 16 * 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "FAILED", "")
			  "</ExportTasks>" DX_TAIL, NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_FAILED);
	ck_assert(!xunwatched("j1"));
}
END_TEST

/* A terminal status ends it: FAILED raises the alert and releases. */
START_TEST(test_poll_failed_ends)
{
	xstart_j1();
	t_wall += 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "FAILED",
			  "<FailureCause>S3 access denied</FailureCause>") "</ExportTasks>" DX_TAIL,
			  NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_FAILED);
	ck_assert(!xholds("j1"));
	ck_assert_uint_eq(xalerts_pending(), 1);
}
END_TEST

/* ExportTaskAlreadyExists: ours is adopted; not (yet) listed or not
 * describable waits (pending, held); another snapshot's task fails. */
START_TEST(test_start_exists)
{
	struct ob_error err;
	char code[64];

	xjob(1);
	xjob(2);
	ck_assert_int_eq(ob_export_adopt(&xj, &err), 0);
	/* j1: exists, not listed yet; j2: exists, describe refused. */
	ob_http_fake_push(&fake, 400, AWS_ERR("ExportTaskAlreadyExists"), NULL);
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks/>" DX_TAIL, NULL);
	ob_http_fake_push(&fake, 400, AWS_ERR("ExportTaskAlreadyExists"), NULL);
	ob_http_fake_push(&fake, 403, AWS_ERR("AccessDenied"), NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", code, sizeof(code)), OB_EXPORT_PENDING);
	ck_assert_str_eq(code, "ExportTaskNotListed");
	ck_assert_int_eq(xstate("j2", code, sizeof(code)), OB_EXPORT_PENDING);
	ck_assert_str_eq(code, "AccessDenied");
	ck_assert(xholds("j1") && xholds("j2"));
	ck_assert(!xunwatched("j1") && xunwatched("j2"));
	ck_assert_uint_eq(xflush(), 1);
	/* Then: j1's task is ours and running; j2's name exports another
	 * snapshot. */
	t_wall += 60LL * 60000;
	ob_http_fake_push(&fake, 400, AWS_ERR("ExportTaskAlreadyExists"), NULL);
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "IN_PROGRESS", "")
			  "</ExportTasks>" DX_TAIL, NULL);
	ob_http_fake_push(&fake, 400, AWS_ERR("ExportTaskAlreadyExists"), NULL);
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks><ExportTask><ExportTaskIdentifier>"
			  "ob-export-j2</ExportTaskIdentifier><SourceArn>arn:aws:rds:eu-central-1:"
			  "111111111111:snapshot:other</SourceArn><Status>IN_PROGRESS</Status>"
			  "</ExportTask></ExportTasks>" DX_TAIL, NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_RUNNING);
	ck_assert_int_eq(xstate("j2", code, sizeof(code)), OB_EXPORT_FAILED);
	ck_assert_str_eq(code, "ExportTaskAlreadyExists");
	ck_assert(xholds("j1") && !xholds("j2"));
	ck_assert(!xunwatched("j2")); /* it left pending: cleared */
	ck_assert_uint_eq(xflush(), 2); /* that clear, and export-failed */
}
END_TEST

/* Switched off with rows pending: one describe; a task that exists runs
 * on, the others are canceled; a failing describe cancels nothing. */
START_TEST(test_disable_describes_first)
{
	struct ob_error err;
	char code[64];
	const char *body;

	xjob(1);
	xjob(2);
	ck_assert_int_eq(ob_export_adopt(&xj, &err), 0);
	xcfg.export_to_s3_bucket = (char *)"";
	ob_http_fake_push(&fake, 403, AWS_ERR("AccessDenied"), NULL);
	xrun();
	ck_assert_uint_eq(fake.n_records, 1);
	body = sent_body(0);
	ck_assert_ptr_nonnull(strstr(body, "Action=DescribeExportTasks"));
	ck_assert_ptr_nonnull(strstr(body, "ob-export-j1"));
	ck_assert_ptr_nonnull(strstr(body, "ob-export-j2"));
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_PENDING);
	ck_assert_int_eq(xstate("j2", NULL, 0), OB_EXPORT_PENDING);
	ck_assert(xholds("j1") && xholds("j2"));
	ck_assert(xunwatched("j1") && xunwatched("j2"));
	t_wall += 60LL * 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "IN_PROGRESS", "")
			  "</ExportTasks>" DX_TAIL, NULL);
	xrun();
	ck_assert_uint_eq(fake.n_records, 2); /* one batched call */
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_RUNNING);
	ck_assert_int_eq(xstate("j2", code, sizeof(code)), OB_EXPORT_CANCELED);
	ck_assert_str_eq(code, "ExportDisabled");
	ck_assert(xholds("j1") && !xholds("j2"));
	/* An answer for each: both cleared; no export-failed for j2. */
	ck_assert(!xunwatched("j1") && !xunwatched("j2"));
	ck_assert_uint_eq(xflush(), 4); /* two raised, two cleared */
	/* j1 is followed to its end though the export is off. */
	t_wall += 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "COMPLETE", "")
			  "</ExportTasks>" DX_TAIL, NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_COMPLETE);
}
END_TEST

/* Switched off seconds after a start whose answer was lost: the task is
 * not listed yet, so the row stays pending (held) and is canceled only
 * when still unlisted UNLISTED_MARGIN_MS after that start try. */
START_TEST(test_disable_recent_start_waits)
{
	struct ob_error err;
	char code[64];
	int64_t next, tried;
	int i;

	xjob(1);
	ck_assert_int_eq(ob_export_adopt(&xj, &err), 0);
	t_wall += 60LL * 60000; /* the row is old; its start try is not */
	for (i = 0; i < 3; i++)
		ob_http_fake_push(&fake, 503, AWS_ERR("ServiceUnavailable"), NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_PENDING);
	tried = t_wall;
	xcfg.export_to_s3_bucket = (char *)"";
	t_wall += 60000; /* its backoff passed, the margin not */
	ob_http_fake_clear(&fake);
	ob_http_fake_init(&fake);
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks/>" DX_TAIL, NULL);
	next = xrun();
	ck_assert_uint_eq(fake.n_records, 1);
	ck_assert_int_eq(xstate("j1", code, sizeof(code)), OB_EXPORT_PENDING);
	ck_assert_str_eq(code, "ExportTaskNotListed");
	ck_assert(xholds("j1"));
	ck_assert_int_eq(next, tried + 15LL * 60000);
	/* Not due before then: no describe. */
	t_wall = tried + 14LL * 60000;
	xrun();
	ck_assert_uint_eq(fake.n_records, 1);
	/* Then still not listed: canceled, the copy released. */
	t_wall = tried + 15LL * 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks/>" DX_TAIL, NULL);
	xrun();
	ck_assert_uint_eq(fake.n_records, 2);
	ck_assert_int_eq(xstate("j1", code, sizeof(code)), OB_EXPORT_CANCELED);
	ck_assert_str_eq(code, "ExportDisabled");
	ck_assert(!xholds("j1"));
}
END_TEST

/* Looks that could not see the task (export off, describe refused) do not
 * use up the start's retry budget once it is switched on again. */
START_TEST(test_watch_keeps_start_budget)
{
	struct ob_error err;
	int i;

	xjob(1);
	ck_assert_int_eq(ob_export_adopt(&xj, &err), 0);
	xcfg.export_to_s3_bucket = (char *)"";
	for (i = 0; i < 4; i++) {
		ob_http_fake_push(&fake, 500, AWS_ERR("InternalFailure"), NULL);
		ob_http_fake_push(&fake, 500, AWS_ERR("InternalFailure"), NULL);
		ob_http_fake_push(&fake, 500, AWS_ERR("InternalFailure"), NULL);
		xrun();
		t_wall += 16 * 60000;
	}
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_PENDING);
	ck_assert_uint_ge(xattempts("j1"), (unsigned)xcfg.max_attempts);
	/* On again: one retryable start error retries, it does not fail. */
	xcfg.export_to_s3_bucket = (char *)"escrow-1";
	ob_http_fake_push(&fake, 400, AWS_ERR("InvalidDBSnapshotState"), NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_PENDING);
	ck_assert_uint_eq(xattempts("j1"), 1);
	t_wall += 16 * 60000;
	ob_http_fake_push(&fake, 200, SX_OK("ob-export-j1"), NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", NULL, 0), OB_EXPORT_RUNNING);
}
END_TEST

/* At most OB_EXPORT_TASKS_MAX tasks at once; the rest wait, not busily. */
START_TEST(test_cap)
{
	static const char *const starts[] = {
		SX_OK("ob-export-j1"), SX_OK("ob-export-j2"), SX_OK("ob-export-j3"),
		SX_OK("ob-export-j4"), SX_OK("ob-export-j5"),
	};
	struct ob_error err;
	bool stop;
	int64_t next;
	size_t i;
	int n;

	ck_assert_uint_eq(ob_export_free_slots(0), 5);
	ck_assert_uint_eq(ob_export_free_slots(4), 1);
	ck_assert_uint_eq(ob_export_free_slots(5), 0);
	ck_assert_uint_eq(ob_export_free_slots(9), 0);
	for (n = 1; n <= 7; n++)
		xjob(n);
	ck_assert_int_eq(ob_export_adopt(&xj, &err), 0);
	for (i = 0; i < 5; i++)
		ob_http_fake_push(&fake, 200, starts[i], NULL);
	next = xrun();
	ck_assert_uint_eq(fake.n_records, 5);
	ck_assert_int_eq(xstate("j6", NULL, 0), OB_EXPORT_PENDING);
	ck_assert_int_eq(xstate("j7", NULL, 0), OB_EXPORT_PENDING);
	ck_assert_int_ge(next, t_wall + 1000); /* the next poll, not the pending rows */
	/* Nothing started while full. */
	next = xrun();
	ck_assert_uint_eq(fake.n_records, 5);
	/* j1 ends: one slot, j6 starts. */
	t_wall += 60000;
	ob_http_fake_push(&fake, 200, DX_HEAD "<ExportTasks>" TASK("ob-export-j1", "COMPLETE", "")
			  TASK("ob-export-j2", "IN_PROGRESS", "") TASK("ob-export-j3", "IN_PROGRESS", "")
			  TASK("ob-export-j4", "IN_PROGRESS", "") TASK("ob-export-j5", "IN_PROGRESS", "")
			  "</ExportTasks>" DX_TAIL, NULL);
	ob_http_fake_push(&fake, 200, SX_OK("ob-export-j6"), NULL);
	xrun();
	ck_assert_uint_eq(fake.n_records, 7);
	ck_assert_int_eq(xstate("j6", NULL, 0), OB_EXPORT_RUNNING);
	ck_assert_int_eq(xstate("j7", NULL, 0), OB_EXPORT_PENDING);
	/* The account's own limit answered anyway: wait, never fail. */
	{
		struct ob_error q;

		ob_error_set(&q, OB_ERR_AWS, "limit");
		snprintf(q.aws_code, sizeof(q.aws_code), "%s", "ExportTaskLimitReached");
		ck_assert_int_eq(ob_export_classify(&q, &stop), OB_EV_DEFER);
		snprintf(q.aws_code, sizeof(q.aws_code), "%s", "SnapshotExportQuotaExceeded");
		ck_assert_int_eq(ob_export_classify(&q, &stop), OB_EV_DEFER);
		snprintf(q.aws_code, sizeof(q.aws_code), "%s", "AccessDenied");
		ck_assert_int_eq(ob_export_classify(&q, &stop), OB_EV_FAIL);
	}
}
END_TEST

/* Every job in `copied` gets its row, however many there are. */
START_TEST(test_adopt_all)
{
	struct ob_export_list l;
	struct ob_error err;
	long counts[OB_EXPORT_STATE_COUNT];
	int n;

	for (n = 1; n <= 130; n++)
		xjob(n);
	ck_assert_int_eq(ob_store_exports_unadopted(xst, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 130);
	ck_assert_str_eq(l.items[0].source_arn, COPY_ARN);
	ob_export_list_clear(&l);
	ck_assert_int_eq(ob_export_adopt(&xj, &err), 0);
	ck_assert_int_eq(ob_store_export_counts(xst, counts, &err), 0);
	ck_assert_int_eq(counts[OB_EXPORT_PENDING], 130);
	ck_assert_int_eq(ob_store_exports_unadopted(xst, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);
	ob_export_list_clear(&l);
}
END_TEST

/* Lost export-failed alerts are raised again; recent ones only, once. */
START_TEST(test_reconcile)
{
	static const struct {
		enum ob_export_state state;
		const char *code;
		int64_t age_ms;
	} rows[] = {
		{ OB_EXPORT_FAILED, "IamRoleNotFound", 60000 },             /* j1: alert */
		{ OB_EXPORT_CANCELED, "ExportDisabled", 60000 },            /* j2: none */
		{ OB_EXPORT_CANCELED, "CANCELED", 60000 },                  /* j3: alert */
		{ OB_EXPORT_FAILED, "FAILED", OB_ALERT_KEEP_TERMINAL_MS + 1 }, /* j4: pruned */
		{ OB_EXPORT_COMPLETE, "", 60000 },                          /* j5: none */
		{ OB_EXPORT_RUNNING, "AccessDenied", 60000 },               /* j6: none */
	};
	struct ob_error err;
	size_t i, raised;
	char id[8];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ob_export x = { 0 };
		char task[32];

		xjob((int)i + 1);
		snprintf(id, sizeof(id), "j%zu", i + 1);
		snprintf(task, sizeof(task), "ob-export-%s", id);
		x.job_id = id;
		x.task_id = task;
		x.source_arn = (char *)COPY_ARN;
		x.state = rows[i].state;
		x.next_at_ms = OB_FSM_NEVER;
		ck_assert_int_eq(ob_store_export_insert(xst, &x, t_wall - rows[i].age_ms, NULL, &err), 0);
		x.error_code = (char *)rows[i].code;
		x.error_message = (char *)"why";
		ck_assert_int_eq(ob_store_export_update(xst, &x, rows[i].state,
							 t_wall - rows[i].age_ms, &err), 0);
	}
	ck_assert_uint_eq(xalerts_pending(), 0);
	ck_assert_int_eq(ob_export_reconcile(&xj, &raised, &err), 0);
	ck_assert_uint_eq(raised, 2);
	ck_assert_uint_eq(xalerts_pending(), 2);
	ck_assert_uint_eq(xflush(), 2);
	ck_assert_uint_eq(xalerts_pending(), 0);
	/* Again, after they were published: deduplicated by key, nothing new
	 * is sent. */
	ck_assert_int_eq(ob_export_reconcile(&xj, &raised, &err), 0);
	ck_assert_uint_eq(raised, 2);
	ck_assert_uint_eq(xalerts_pending(), 0);
	ck_assert_uint_eq(xflush(), 0);
}
END_TEST

/* A failure that is not an AWS error keeps a meaningful code. */
START_TEST(test_error_codes)
{
	struct ob_error e;
	char code[64];

	ob_error_set(&e, OB_ERR_TRANSPORT, "reset");
	ck_assert_str_eq(ob_export_error_code(&e), "transport");
	ob_error_set(&e, OB_ERR_AWS, "no");
	snprintf(e.aws_code, sizeof(e.aws_code), "%s", "IamRoleNotFound");
	ck_assert_str_eq(ob_export_error_code(&e), "IamRoleNotFound");
	/* A start answered with garbage, max_attempts times: failed, "parse". */
	xcfg.max_attempts = 1;
	ob_jobs_set_config(&xj, &xcfg, 0);
	xjob(1);
	ck_assert_int_eq(ob_export_adopt(&xj, &e), 0);
	ob_http_fake_push(&fake, 200, "<StartExportTaskResponse><StartExportTaskResult>"
			  "</StartExportTaskResult></StartExportTaskResponse>", NULL);
	xrun();
	ck_assert_int_eq(xstate("j1", code, sizeof(code)), OB_EXPORT_FAILED);
	ck_assert_str_eq(code, "parse");
}
END_TEST

Suite *ob_suite_export(void)
{
	Suite *s = suite_create("export");
	TCase *tc = tcase_create("export");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_status_parse);
	tcase_add_test(tc, test_task_id);
	tcase_add_test(tc, test_enabled);
	tcase_add_test(tc, test_start_request);
	tcase_add_test(tc, test_start_bad_args);
	tcase_add_test(tc, test_start_bad_answers);
	tcase_add_test(tc, test_start_aws_errors);
	tcase_add_test(tc, test_describe_request_and_paging);
	tcase_add_test(tc, test_describe_bad_args);
	tcase_add_test(tc, test_describe_marker_loops);
	tcase_add_test(tc, test_parse_shapes);
	tcase_add_test(tc, test_parse_truncated);
	tcase_add_test(tc, test_parse_huge);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("export-loop");
	tcase_add_checked_fixture(tc, xsetup, xteardown);
	tcase_add_test(tc, test_poll_errors_keep_running);
	tcase_add_test(tc, test_unwatched_unlisted);
	tcase_add_test(tc, test_disable_recent_start_waits);
	tcase_add_test(tc, test_watch_keeps_start_budget);
	tcase_add_test(tc, test_poll_failed_ends);
	tcase_add_test(tc, test_start_exists);
	tcase_add_test(tc, test_disable_describes_first);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_adopt_all);
	tcase_add_test(tc, test_reconcile);
	tcase_add_test(tc, test_error_codes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
