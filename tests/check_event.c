/*
 * check_event.c - the EventBridge event parser: every accepted shape (RDS
 * instance and cluster snapshot events by SourceArn or resources[0], AWS
 * Backup jobs for RDS and Aurora), unknown fields tolerated, every ignored
 * and every malformed case, seeded random garbage and mutations, every
 * truncation of every accepted event, hostile sizes and nesting, and
 * reasons that never repeat what the body holds.
 *
 * Bodies are always handed over in a malloc'ed buffer of exactly their
 * length, with no NUL after them, so a parser that reads past len shows up
 * under AddressSanitizer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_ob.h"
#include "check_util.h"
#include "ob/event.h"
#include "ob/ident.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define ACCT "111111111111"
#define ORDERS_ARN "arn:aws:rds:eu-central-1:" ACCT ":snapshot:rds:orders-prod-2026-11-22-05-03"
#define MANUAL_ARN "arn:aws:rds:eu-central-1:" ACCT ":snapshot:orders-before-upgrade"
#define COPY_ARN "arn:aws:rds:eu-central-1:" ACCT ":snapshot:orders-copy-1"
#define CLUSTER_ARN "arn:aws:rds:eu-central-1:" ACCT ":cluster-snapshot:rds:billing-2026-11-22-04-00"
#define CLUSTER_MANUAL_ARN "arn:aws:rds:eu-central-1:" ACCT ":cluster-snapshot:billing-manual"
#define BACKUP_ARN "arn:aws:rds:eu-central-1:" ACCT ":snapshot:awsbackup:job-1234"
#define AURORA_ARN "arn:aws:rds:eu-central-1:" ACCT ":cluster-snapshot:awsbackup:job-5678"

#define HEAD(type, source) \
	"{\"version\":\"0\",\"id\":\"6a7e8feb-b491-4cf7-a9f1-bf3703467718\"," \
	"\"detail-type\":\"" type "\",\"source\":\"" source "\",\"account\":\"" ACCT "\"," \
	"\"time\":\"2026-11-22T05:03:11Z\",\"region\":\"eu-central-1\","

/* An RDS snapshot event: resources + detail, the way RDS sends them. */
#define RDS_EVENT(type, stype, id, arn) \
	HEAD(type, "aws.rds") "\"resources\":[\"" arn "\"],\"detail\":{" \
	"\"EventCategories\":[\"creation\"],\"SourceType\":\"" stype "\"," \
	"\"SourceArn\":\"" arn "\",\"Date\":\"2026-11-22T05:03:11.882Z\"," \
	"\"SourceIdentifier\":\"x\",\"Message\":\"Automated snapshot created\"," \
	"\"EventID\":\"" id "\"}}"
#define INSTANCE_EVENT(id, arn) RDS_EVENT("RDS DB Snapshot Event", "SNAPSHOT", id, arn)
#define CLUSTER_EVENT(id, arn) \
	RDS_EVENT("RDS DB Cluster Snapshot Event", "CLUSTER_SNAPSHOT", id, arn)

#define BACKUP_EVENT(state, rtype, arn) \
	HEAD("Backup Job State Change", "aws.backup") "\"resources\":[\"" arn "\"]," \
	"\"detail\":{\"backupJobId\":\"1234\",\"backupSizeInBytes\":\"1073741824\"," \
	"\"backupVaultName\":\"Default\",\"percentDone\":\"100.0\",\"state\":\"" state "\"," \
	"\"resourceType\":\"" rtype "\",\"createdBy\":{\"backupPlanId\":\"p\"}}}"

/* A minimal RDS event whose detail is the given members. */
#define RDS_DETAIL(type, detail) HEAD(type, "aws.rds") "\"detail\":{" detail "}}"
#define SNAP_DETAIL(detail) RDS_DETAIL("RDS DB Snapshot Event", detail)
#define SNAP_RES(res, detail) \
	HEAD("RDS DB Snapshot Event", "aws.rds") "\"resources\":" res ",\"detail\":{" detail "}}"
#define BACKUP_RES(res, detail) \
	HEAD("Backup Job State Change", "aws.backup") "\"resources\":" res ",\"detail\":{" \
	detail "}}"
#define BACKUP_NORES(detail) \
	HEAD("Backup Job State Change", "aws.backup") "\"detail\":{" detail "}}"

/* Parse s[0..len) from a buffer of exactly len bytes. */
static enum ob_event_result parse_n(const char *s, size_t len, struct ob_event *ev)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum ob_event_result r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, s, len);
	memset(ev, 0x5a, sizeof(*ev));
	r = ob_event_parse(copy, len, ev);
	free(copy);
	ck_assert_int_eq(r, ev->result);
	ck_assert(memchr(ev->what, '\0', sizeof(ev->what)) != NULL);
	ck_assert(memchr(ev->reason, '\0', sizeof(ev->reason)) != NULL);
	ck_assert(memchr(ev->snapshot_arn, '\0', sizeof(ev->snapshot_arn)) != NULL);
	if (r == OB_EVENT_SNAPSHOT) {
		ck_assert_str_eq(ev->reason, "");
	} else {
		ck_assert_msg(ev->reason[0] != '\0', "no reason given");
		ck_assert_str_eq(ev->snapshot_arn, "");
	}
	return r;
}

static enum ob_event_result parse(const char *s, struct ob_event *ev)
{
	return parse_n(s, strlen(s), ev);
}

/* ---- accepted ---- */

struct good_row {
	const char *body;
	enum ob_snap_kind kind;
	const char *arn;
	const char *what;
};

static const struct good_row good_rows[] = {
	/* the example RDS sends for an automated snapshot, verbatim */
	{ "{\"version\":\"0\",\"id\":\"844e2571-85d4-695f-b930-0153b71dcb42\",\"detail-type\":"
	  "\"RDS DB Snapshot Event\",\"source\":\"aws.rds\",\"account\":\"111111111111\","
	  "\"time\":\"2026-11-22T05:03:11Z\",\"region\":\"eu-central-1\",\"resources\":"
	  "[\"arn:aws:rds:eu-central-1:111111111111:snapshot:rds:orders-prod-2026-11-22-05-03\"],"
	  "\"detail\":{\"EventCategories\":[\"creation\"],\"SourceType\":\"SNAPSHOT\","
	  "\"SourceArn\":\"arn:aws:rds:eu-central-1:111111111111:snapshot:rds:orders-prod-2026-"
	  "11-22-05-03\",\"Date\":\"2026-11-22T05:03:11.882Z\",\"SourceIdentifier\":\"rds:orders-"
	  "prod-2026-11-22-05-03\",\"Message\":\"Automated snapshot created\",\"EventID\":"
	  "\"RDS-EVENT-0091\"}}",
	  OB_SNAP_INSTANCE, ORDERS_ARN, "RDS-EVENT-0091" },
	{ INSTANCE_EVENT("RDS-EVENT-0042", MANUAL_ARN), OB_SNAP_INSTANCE, MANUAL_ARN,
	  "RDS-EVENT-0042" },
	{ INSTANCE_EVENT("RDS-EVENT-0197", COPY_ARN), OB_SNAP_INSTANCE, COPY_ARN,
	  "RDS-EVENT-0197" },
	{ CLUSTER_EVENT("RDS-EVENT-0169", CLUSTER_ARN), OB_SNAP_CLUSTER, CLUSTER_ARN,
	  "RDS-EVENT-0169" },
	{ CLUSTER_EVENT("RDS-EVENT-0075", CLUSTER_MANUAL_ARN), OB_SNAP_CLUSTER,
	  CLUSTER_MANUAL_ARN, "RDS-EVENT-0075" },
	/* no SourceArn: resources[0] */
	{ SNAP_RES("[\"" ORDERS_ARN "\"]", "\"EventID\":\"RDS-EVENT-0091\""), OB_SNAP_INSTANCE,
	  ORDERS_ARN, "RDS-EVENT-0091" },
	{ SNAP_RES("[\"" MANUAL_ARN "\",\"arn:aws:rds:eu-central-1:" ACCT ":db:orders\"]",
		   "\"EventID\":\"RDS-EVENT-0042\""),
	  OB_SNAP_INSTANCE, MANUAL_ARN, "RDS-EVENT-0042" },
	{ HEAD("RDS DB Cluster Snapshot Event", "aws.rds") "\"resources\":[\"" CLUSTER_ARN "\"],"
	  "\"detail\":{\"EventID\":\"RDS-EVENT-0169\"}}",
	  OB_SNAP_CLUSTER, CLUSTER_ARN, "RDS-EVENT-0169" },
	/* SourceArn wins over resources, which is then not looked at */
	{ SNAP_RES("\"junk\"", "\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"" ORDERS_ARN "\""),
	  OB_SNAP_INSTANCE, ORDERS_ARN, "RDS-EVENT-0091" },
	/* AWS Backup */
	{ BACKUP_EVENT("COMPLETED", "RDS", BACKUP_ARN), OB_SNAP_INSTANCE, BACKUP_ARN,
	  "backup COMPLETED" },
	{ BACKUP_EVENT("COMPLETED", "Aurora", AURORA_ARN), OB_SNAP_CLUSTER, AURORA_ARN,
	  "backup COMPLETED" },
	{ BACKUP_NORES("\"state\":\"COMPLETED\",\"resourceType\":\"RDS\","
		       "\"recoveryPointArn\":\"" BACKUP_ARN "\""),
	  OB_SNAP_INSTANCE, BACKUP_ARN, "backup COMPLETED" },
	{ BACKUP_NORES("\"state\":\"COMPLETED\",\"resourceType\":\"Aurora\","
		       "\"recoveryPointArn\":\"" AURORA_ARN "\""),
	  OB_SNAP_CLUSTER, AURORA_ARN, "backup COMPLETED" },
	/* resources[0] wins over recoveryPointArn */
	{ BACKUP_RES("[\"" BACKUP_ARN "\"]", "\"state\":\"COMPLETED\",\"resourceType\":\"RDS\","
		     "\"recoveryPointArn\":\"arn:aws:backup:eu-central-1:" ACCT ":recovery-point:x\""),
	  OB_SNAP_INSTANCE, BACKUP_ARN, "backup COMPLETED" },
	/* resources[0] unusable (empty, or the protected database): the
	 * snapshot comes from detail.recoveryPointArn */
	{ BACKUP_RES("[]", "\"state\":\"COMPLETED\",\"resourceType\":\"RDS\","
		     "\"recoveryPointArn\":\"" BACKUP_ARN "\""),
	  OB_SNAP_INSTANCE, BACKUP_ARN, "backup COMPLETED" },
	{ BACKUP_RES("[\"arn:aws:rds:eu-central-1:" ACCT ":db:orders\"]",
		     "\"state\":\"COMPLETED\",\"resourceType\":\"RDS\","
		     "\"recoveryPointArn\":\"" BACKUP_ARN "\""),
	  OB_SNAP_INSTANCE, BACKUP_ARN, "backup COMPLETED" },
	/* other partitions */
	{ INSTANCE_EVENT("RDS-EVENT-0091", "arn:aws-cn:rds:cn-north-1:" ACCT ":snapshot:rds:a"),
	  OB_SNAP_INSTANCE, "arn:aws-cn:rds:cn-north-1:" ACCT ":snapshot:rds:a", "RDS-EVENT-0091" },
	/* unknown extra fields anywhere, of any type */
	{ "{\"x-extra\":{\"deep\":[1,2,{\"a\":null}]},\"detail-type\":\"RDS DB Snapshot Event\","
	  "\"n\":1.5e3,\"source\":\"aws.rds\",\"t\":true,\"f\":false,\"z\":null,"
	  "\"detail\":{\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"" ORDERS_ARN "\","
	  "\"New\":{\"a\":[]},\"Message\":\"\\u00e9\\n\\\"quoted\\\"\"},\"version\":\"1\"}",
	  OB_SNAP_INSTANCE, ORDERS_ARN, "RDS-EVENT-0091" },
	{ BACKUP_RES("[\"" BACKUP_ARN "\"]", "\"resourceType\":\"RDS\",\"extra\":[],"
		     "\"state\":\"COMPLETED\",\"statusMessage\":null"),
	  OB_SNAP_INSTANCE, BACKUP_ARN, "backup COMPLETED" },
	/* whitespace and key order do not matter */
	{ " \n{ \"detail\" : { \"SourceArn\" : \"" ORDERS_ARN "\" , \"EventID\" : "
	  "\"RDS-EVENT-0091\" } ,\t\"source\":\"aws.rds\", \"detail-type\": "
	  "\"RDS DB Snapshot Event\" }\r\n",
	  OB_SNAP_INSTANCE, ORDERS_ARN, "RDS-EVENT-0091" },
	/* escaped characters in the ARN are decoded */
	{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":"
		      "\"arn:aws:rds:eu-central-1:" ACCT ":snapshot\\u003ards\\u003aorders\""),
	  OB_SNAP_INSTANCE, "arn:aws:rds:eu-central-1:" ACCT ":snapshot:rds:orders",
	  "RDS-EVENT-0091" },
};

START_TEST(test_accepted)
{
	struct ob_event ev;
	struct ob_snapshot_ref ref;
	size_t i;

	for (i = 0; i < N(good_rows); i++) {
		ck_assert_msg(parse(good_rows[i].body, &ev) == OB_EVENT_SNAPSHOT, "row %zu: %s (%s)",
			      i, ob_event_result_name(ev.result), ev.reason);
		ck_assert_int_eq(ev.kind, good_rows[i].kind);
		ck_assert_str_eq(ev.snapshot_arn, good_rows[i].arn);
		ck_assert_str_eq(ev.what, good_rows[i].what);
		ck_assert_int_eq(ob_ident_parse_snapshot_arn(ev.snapshot_arn, &ref, NULL), 0);
		ck_assert_int_eq(ref.kind, ev.kind);
	}
}
END_TEST

/* ---- ignored ---- */

struct bad_row {
	const char *body;
	size_t len;         /* 0: strlen(body) */
	const char *reason; /* a fragment of ev.reason */
	const char *what;   /* NULL: not checked */
};

START_TEST(test_ignored)
{
	static const struct bad_row rows[] = {
		{ HEAD("RDS DB Instance Event", "aws.rds") "\"detail\":{\"EventID\":"
		  "\"RDS-EVENT-0002\",\"SourceArn\":\"arn:aws:rds:eu-central-1:" ACCT
		  ":db:orders\"}}", 0, "detail-type", "RDS DB Instance Event" },
		{ HEAD("EC2 Instance State-change Notification", "aws.ec2") "\"detail\":{}}", 0,
		  "detail-type", "EC2 Instance State-change Notification" },
		{ "{\"detail-type\":\"\",\"source\":\"\"}", 0, "detail-type", "" },
		/* an unknown type needs nothing else */
		{ "{\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\"}", 0,
		  "detail-type", "Scheduled Event" },
		{ "{\"detail-type\":\"rds db snapshot event\",\"source\":\"aws.rds\"}", 0,
		  "detail-type", NULL },
		/* a familiar name from another source: someone else's event */
		{ HEAD("RDS DB Snapshot Event", "custom.app") "\"detail\":{\"EventID\":"
		  "\"RDS-EVENT-0091\",\"SourceArn\":\"" ORDERS_ARN "\"}}", 0, "aws.rds",
		  "RDS DB Snapshot Event" },
		{ "{\"detail-type\":\"RDS DB Snapshot Event\",\"source\":\"aws.backup\"}", 0,
		  "aws.rds", NULL },
		{ "{\"detail-type\":\"RDS DB Cluster Snapshot Event\",\"source\":\"AWS.RDS\"}", 0,
		  "aws.rds", NULL },
		{ "{\"detail-type\":\"Backup Job State Change\",\"source\":\"aws.rds\"}", 0,
		  "aws.backup", NULL },
		{ "{\"detail-type\":\"Backup Job State Change\",\"source\":\"custom.backup\","
		  "\"detail\":42}", 0, "aws.backup", NULL },
		/* other RDS events */
		{ INSTANCE_EVENT("RDS-EVENT-0040", ORDERS_ARN), 0, "EventID", "RDS-EVENT-0040" },
		{ INSTANCE_EVENT("RDS-EVENT-0090", ORDERS_ARN), 0, "EventID", "RDS-EVENT-0090" },
		{ INSTANCE_EVENT("RDS-EVENT-0075", ORDERS_ARN), 0, "EventID", NULL },
		{ CLUSTER_EVENT("RDS-EVENT-0091", CLUSTER_ARN), 0, "EventID", "RDS-EVENT-0091" },
		{ CLUSTER_EVENT("RDS-EVENT-0076", CLUSTER_ARN), 0, "EventID", NULL },
		{ INSTANCE_EVENT("rds-event-0091", ORDERS_ARN), 0, "EventID", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0091 ", ORDERS_ARN), 0, "EventID", NULL },
		{ INSTANCE_EVENT("", ORDERS_ARN), 0, "EventID", "" },
		/* an ignored EventID needs no ARN */
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0040\""), 0, "EventID", NULL },
		/* other backup jobs */
		{ BACKUP_EVENT("RUNNING", "RDS", BACKUP_ARN), 0, "COMPLETED", "backup RUNNING" },
		{ BACKUP_EVENT("FAILED", "Aurora", AURORA_ARN), 0, "COMPLETED", "backup FAILED" },
		{ BACKUP_EVENT("completed", "RDS", BACKUP_ARN), 0, "COMPLETED", NULL },
		{ BACKUP_EVENT("COMPLETED", "EBS", "arn:aws:ec2:eu-central-1::snapshot/snap-1"), 0,
		  "resourceType", "backup COMPLETED" },
		{ BACKUP_EVENT("COMPLETED", "DynamoDB", BACKUP_ARN), 0, "resourceType", NULL },
		{ BACKUP_EVENT("COMPLETED", "rds", BACKUP_ARN), 0, "resourceType", NULL },
		{ BACKUP_NORES("\"state\":\"ABORTED\",\"resourceType\":\"RDS\""), 0, "COMPLETED",
		  NULL },
	};
	struct ob_event ev;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		ck_assert_msg(parse(rows[i].body, &ev) == OB_EVENT_IGNORED, "row %zu: %s (%s)", i,
			      ob_event_result_name(ev.result), ev.reason);
		ck_assert_msg(strstr(ev.reason, rows[i].reason) != NULL, "row %zu: %s", i,
			      ev.reason);
		if (rows[i].what != NULL)
			ck_assert_str_eq(ev.what, rows[i].what);
	}
}
END_TEST

/* ---- malformed ---- */

START_TEST(test_malformed)
{
	static const struct bad_row rows[] = {
		/* not JSON, or not an object */
		{ "", 0, "JSON", NULL },
		{ "not json", 0, "JSON", NULL },
		{ "{", 0, "JSON", NULL },
		{ "{\"detail-type\":", 0, "JSON", NULL },
		{ "[]", 0, "object", NULL },
		{ "[{\"detail-type\":\"RDS DB Snapshot Event\"}]", 0, "object", NULL },
		{ "42", 0, "object", NULL },
		{ "-1.5", 0, "object", NULL },
		{ "\"RDS DB Snapshot Event\"", 0, "object", NULL },
		{ "null", 0, "object", NULL },
		{ "true", 0, "object", NULL },
		{ "{} {}", 0, "JSON", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0091", ORDERS_ARN) " x", 0, "JSON", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0091", ORDERS_ARN) "{}", 0, "JSON", NULL },
		{ "{\"detail-type\":'RDS DB Snapshot Event'}", 0, "JSON", NULL },
		{ "{detail-type:1}", 0, "JSON", NULL },
		{ "{\"a\":1,}", 0, "JSON", NULL },
		{ "\xef\xbb\xbf{}", 0, "JSON", NULL }, /* a byte order mark */
		/* a NUL byte inside, raw or escaped */
		{ "{\"detail-type\":\"x\"}\0", 20, "JSON", NULL },
		{ "{\"detail-type\":\"a\0b\",\"source\":\"aws.rds\"}", 40, "JSON", NULL },
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"" ORDERS_ARN
			      "\\u0000x\""), 0, "JSON", NULL },
		/* invalid UTF-8 */
		{ "{\"detail-type\":\"\xff\",\"source\":\"aws.rds\"}", 0, "JSON", NULL },
		{ "{\"detail-type\":\"\xc3\",\"source\":\"aws.rds\"}", 0, "JSON", NULL },
		{ "{\"detail-type\":\"\xed\xa0\x80\",\"source\":\"aws.rds\"}", 0, "JSON", NULL },
		/* detail-type and source */
		{ "{}", 0, "detail-type", NULL },
		{ "{\"source\":\"aws.rds\",\"detail\":{}}", 0, "detail-type", NULL },
		{ "{\"detail-type\":42,\"source\":\"aws.rds\"}", 0, "detail-type", NULL },
		{ "{\"detail-type\":null,\"source\":\"aws.rds\"}", 0, "detail-type", NULL },
		{ "{\"detail-type\":[\"RDS DB Snapshot Event\"],\"source\":\"aws.rds\"}", 0,
		  "detail-type", NULL },
		{ "{\"Detail-Type\":\"RDS DB Snapshot Event\",\"source\":\"aws.rds\"}", 0,
		  "detail-type", NULL },
		{ "{\"detail-type\":\"RDS DB Snapshot Event\"}", 0, "source", NULL },
		{ "{\"detail-type\":\"Other\"}", 0, "source", NULL },
		{ "{\"detail-type\":\"RDS DB Snapshot Event\",\"source\":{}}", 0, "source", NULL },
		{ "{\"detail-type\":\"RDS DB Snapshot Event\",\"source\":null}", 0, "source", NULL },
		/* detail */
		{ HEAD("RDS DB Snapshot Event", "aws.rds") "\"resources\":[\"" ORDERS_ARN "\"]}", 0,
		  "detail", NULL },
		{ HEAD("RDS DB Snapshot Event", "aws.rds") "\"detail\":\"x\"}", 0, "detail", NULL },
		{ HEAD("RDS DB Snapshot Event", "aws.rds") "\"detail\":[]}", 0, "detail", NULL },
		{ HEAD("RDS DB Snapshot Event", "aws.rds") "\"detail\":null}", 0, "detail", NULL },
		{ HEAD("RDS DB Cluster Snapshot Event", "aws.rds") "\"detail\":1}", 0, "detail",
		  NULL },
		{ HEAD("Backup Job State Change", "aws.backup") "\"detail\":[{}]}", 0, "detail",
		  NULL },
		{ HEAD("Backup Job State Change", "aws.backup") "\"x\":1}", 0, "detail", NULL },
		/* EventID */
		{ SNAP_DETAIL("\"SourceArn\":\"" ORDERS_ARN "\""), 0, "EventID", NULL },
		{ SNAP_DETAIL("\"EventID\":91,\"SourceArn\":\"" ORDERS_ARN "\""), 0, "EventID",
		  NULL },
		{ SNAP_DETAIL("\"EventID\":null,\"SourceArn\":\"" ORDERS_ARN "\""), 0, "EventID",
		  NULL },
		{ SNAP_DETAIL("\"EventID\":[\"RDS-EVENT-0091\"]"), 0, "EventID", NULL },
		{ RDS_DETAIL("RDS DB Cluster Snapshot Event", "\"eventid\":\"RDS-EVENT-0169\""), 0,
		  "EventID", NULL },
		/* SourceArn of the wrong type or shape */
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":42"), 0, "SourceArn",
		  NULL },
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":null"), 0, "SourceArn",
		  NULL },
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":[\"" ORDERS_ARN "\"]"),
		  0, "SourceArn", NULL },
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"\""), 0, "SourceArn",
		  NULL },
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"orders-prod\""), 0,
		  "SourceArn", NULL },
		/* the wrong kind of ARN for the event */
		{ INSTANCE_EVENT("RDS-EVENT-0091", CLUSTER_ARN), 0, "cluster", NULL },
		{ CLUSTER_EVENT("RDS-EVENT-0169", ORDERS_ARN), 0, "instance", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0042", "arn:aws:rds:eu-central-1:" ACCT ":db:orders"), 0,
		  "SourceArn", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0042", "arn:aws:rds:eu-central-1:" ACCT ":cluster:b"), 0,
		  "SourceArn", NULL },
		/* an ARN of another service */
		{ INSTANCE_EVENT("RDS-EVENT-0091", "arn:aws:ec2:eu-central-1:" ACCT
				 ":snapshot/snap-0123456789abcdef0"), 0, "SourceArn", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0091", "arn:aws:ec2:eu-central-1:" ACCT ":snapshot:x"),
		  0, "SourceArn", NULL },
		/* bad account, region or partition */
		{ INSTANCE_EVENT("RDS-EVENT-0091", "arn:aws:rds:eu-central-1:1234:snapshot:x"), 0,
		  "SourceArn", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0091", "arn:aws:rds:cn-north-1:" ACCT ":snapshot:x"), 0,
		  "SourceArn", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0091", "arn:aws:rds:eu-central-1:" ACCT ":snapshot:"), 0,
		  "SourceArn", NULL },
		{ INSTANCE_EVENT("RDS-EVENT-0091", "arn:aws:rds:eu-central-1:" ACCT
				 ":snapshot:a\\nb"), 0, "SourceArn", NULL },
		/* resources when there is no SourceArn */
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\""), 0, "resources", NULL },
		{ SNAP_RES("[]", "\"EventID\":\"RDS-EVENT-0091\""), 0, "resources", NULL },
		{ SNAP_RES("[42]", "\"EventID\":\"RDS-EVENT-0091\""), 0, "resources[0]", NULL },
		{ SNAP_RES("[null]", "\"EventID\":\"RDS-EVENT-0091\""), 0, "resources[0]", NULL },
		{ SNAP_RES("[[\"" ORDERS_ARN "\"]]", "\"EventID\":\"RDS-EVENT-0091\""), 0,
		  "resources[0]", NULL },
		{ SNAP_RES("[\"" ORDERS_ARN "\",7]", "\"EventID\":\"RDS-EVENT-0091\""), 0,
		  "resources", NULL },
		{ SNAP_RES("\"" ORDERS_ARN "\"", "\"EventID\":\"RDS-EVENT-0091\""), 0, "resources",
		  NULL },
		{ SNAP_RES("{\"0\":\"" ORDERS_ARN "\"}", "\"EventID\":\"RDS-EVENT-0091\""), 0,
		  "resources", NULL },
		{ SNAP_RES("null", "\"EventID\":\"RDS-EVENT-0091\""), 0, "resources", NULL },
		{ SNAP_RES("[\"" CLUSTER_ARN "\"]", "\"EventID\":\"RDS-EVENT-0091\""), 0,
		  "resources[0]", NULL },
		{ SNAP_RES("[\"arn:aws:rds:eu-central-1:" ACCT ":db:orders\"]",
			   "\"EventID\":\"RDS-EVENT-0042\""), 0, "resources[0]", NULL },
		/* AWS Backup */
		{ BACKUP_NORES("\"resourceType\":\"RDS\""), 0, "state", NULL },
		{ BACKUP_NORES("\"state\":1,\"resourceType\":\"RDS\""), 0, "state", NULL },
		{ BACKUP_NORES("\"state\":null,\"resourceType\":\"RDS\""), 0, "state", NULL },
		{ BACKUP_NORES("\"state\":\"COMPLETED\""), 0, "resourceType", NULL },
		{ BACKUP_NORES("\"state\":\"RUNNING\",\"resourceType\":[]"), 0, "resourceType",
		  NULL },
		{ BACKUP_NORES("\"state\":\"COMPLETED\",\"resourceType\":\"RDS\""), 0,
		  "recoveryPointArn", NULL },
		{ BACKUP_NORES("\"state\":\"COMPLETED\",\"resourceType\":\"RDS\","
			       "\"recoveryPointArn\":5"), 0, "recoveryPointArn", NULL },
		{ BACKUP_NORES("\"state\":\"COMPLETED\",\"resourceType\":\"RDS\","
			       "\"recoveryPointArn\":\"arn:aws:backup:eu-central-1:" ACCT
			       ":recovery-point:x\""), 0, "recoveryPointArn", NULL },
		{ BACKUP_EVENT("COMPLETED", "RDS", AURORA_ARN), 0, "cluster", NULL },
		{ BACKUP_EVENT("COMPLETED", "Aurora", BACKUP_ARN), 0, "instance", NULL },
		{ BACKUP_EVENT("COMPLETED", "RDS", "arn:aws:rds:eu-central-1:" ACCT ":db:orders"), 0,
		  "resources[0]", NULL },
		{ BACKUP_RES("[]", "\"state\":\"COMPLETED\",\"resourceType\":\"RDS\""), 0,
		  "resources", NULL },
		{ BACKUP_RES("[\"arn:aws:rds:eu-central-1:" ACCT ":db:orders\"]",
			     "\"state\":\"COMPLETED\",\"resourceType\":\"RDS\","
			     "\"recoveryPointArn\":\"arn:aws:rds:eu-central-1:" ACCT ":db:x\""), 0,
		  "recoveryPointArn", NULL },
		{ BACKUP_RES("[1]", "\"state\":\"COMPLETED\",\"resourceType\":\"RDS\""), 0,
		  "resources[0]", NULL },
		{ BACKUP_RES("\"" BACKUP_ARN "\"", "\"state\":\"COMPLETED\",\"resourceType\":\"RDS\""),
		  0, "resources", NULL },
		/* duplicate keys, top level and nested */
		{ "{\"detail-type\":\"RDS DB Snapshot Event\",\"source\":\"aws.rds\","
		  "\"source\":\"aws.rds\",\"detail\":{\"EventID\":\"RDS-EVENT-0091\","
		  "\"SourceArn\":\"" ORDERS_ARN "\"}}", 0, "duplicate", NULL },
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0040\",\"EventID\":\"RDS-EVENT-0091\","
			      "\"SourceArn\":\"" ORDERS_ARN "\""), 0, "duplicate", NULL },
		{ SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"" ORDERS_ARN "\","
			      "\"SourceArn\":\"" MANUAL_ARN "\""), 0, "duplicate", NULL },
		{ "{\"x\":{\"a\":1,\"a\":2},\"detail-type\":\"Other\",\"source\":\"x\"}", 0,
		  "duplicate", NULL },
		/* the same key spelled with an escape is the same key */
		{ "{\"source\":\"aws.rds\",\"sourc\\u0065\":\"aws.rds\",\"detail-type\":"
		  "\"RDS DB Snapshot Event\"}", 0, "duplicate", NULL },
	};
	struct ob_event ev;
	size_t i, len;

	for (i = 0; i < N(rows); i++) {
		len = rows[i].len != 0 ? rows[i].len : strlen(rows[i].body);
		ck_assert_msg(parse_n(rows[i].body, len, &ev) == OB_EVENT_MALFORMED,
			      "row %zu: %s (%s)", i, ob_event_result_name(ev.result), ev.reason);
		ck_assert_msg(strstr(ev.reason, rows[i].reason) != NULL, "row %zu: \"%s\" lacks %s",
			      i, ev.reason, rows[i].reason);
	}
	/* NULL body */
	memset(&ev, 0x5a, sizeof(ev));
	ck_assert_int_eq(ob_event_parse(NULL, 0, &ev), OB_EVENT_MALFORMED);
	ck_assert_int_eq(ev.result, OB_EVENT_MALFORMED);
	ck_assert_str_eq(ev.snapshot_arn, "");
	ck_assert_int_eq(ob_event_parse(NULL, 10, &ev), OB_EVENT_MALFORMED);
}
END_TEST

START_TEST(test_result_names)
{
	ck_assert_str_eq(ob_event_result_name(OB_EVENT_SNAPSHOT), "snapshot");
	ck_assert_str_eq(ob_event_result_name(OB_EVENT_IGNORED), "ignored");
	ck_assert_str_eq(ob_event_result_name(OB_EVENT_MALFORMED), "malformed");
	ck_assert_str_eq(ob_event_result_name((enum ob_event_result)42), "unknown");
}
END_TEST

/* `what` is cut to its buffer and kept to printable ASCII. */
START_TEST(test_what_is_sanitized)
{
	struct ob_event ev;
	size_t i;

	ck_assert_int_eq(parse("{\"detail-type\":\"Line\\nBreak\\u0007\\u00e9 and a very long "
			       "event type name that goes on and on\",\"source\":\"x\"}", &ev),
			 OB_EVENT_IGNORED);
	ck_assert_uint_eq(strlen(ev.what), sizeof(ev.what) - 1);
	ck_assert_int_eq(strncmp(ev.what, "Line?Break??? and a very long", 29), 0);
	for (i = 0; ev.what[i] != '\0'; i++)
		ck_assert(ev.what[i] >= 0x20 && ev.what[i] < 0x7f);
	ck_assert_int_eq(parse(BACKUP_EVENT("PENDING\\r\\nX", "RDS", BACKUP_ARN), &ev),
			 OB_EVENT_IGNORED);
	ck_assert_str_eq(ev.what, "backup PENDING??X");
}
END_TEST

/* ---- garbage, mutation, truncation ---- */

START_TEST(test_random_garbage)
{
	static const char json_bytes[] = "{}[]\":,0123456789.eE+-truefalsnl \\u\n";
	uint64_t seed = ob_test_seed("check_event");
	unsigned char buf[1024];
	struct ob_event ev;
	enum ob_event_result r;
	size_t len, i;
	int k;

	for (k = 0; k < 20000; k++) {
		len = (size_t)(ob_test_xorshift64(&seed) % sizeof(buf));
		for (i = 0; i < len; i++)
			buf[i] = k % 2 == 0 ? (unsigned char)ob_test_xorshift64(&seed)
				 : (unsigned char)json_bytes[ob_test_xorshift64(&seed) % (sizeof(json_bytes) - 1)];
		if (k % 4 == 1 && len > 0)
			buf[0] = '{';
		r = parse_n((const char *)buf, len, &ev);
		ck_assert_msg(r == OB_EVENT_MALFORMED || r == OB_EVENT_IGNORED, "k=%d: %s", k,
			      ob_event_result_name(r));
	}
}
END_TEST

/* Corrupt accepted events a few bytes at a time: whatever comes out must be
 * consistent, and a snapshot must carry an ARN of the kind it claims. */
START_TEST(test_random_mutations)
{
	uint64_t seed = ob_test_seed("check_event");
	char buf[4096];
	struct ob_event ev;
	struct ob_snapshot_ref ref;
	size_t len, i, n, pos;
	int k;

	for (k = 0; k < 20000; k++) {
		i = (size_t)(ob_test_xorshift64(&seed) % N(good_rows));
		len = strlen(good_rows[i].body);
		ck_assert_uint_lt(len, sizeof(buf));
		memcpy(buf, good_rows[i].body, len);
		for (n = 1 + (size_t)(ob_test_xorshift64(&seed) % 4); n > 0; n--) {
			pos = (size_t)(ob_test_xorshift64(&seed) % len);
			buf[pos] = (char)(ob_test_xorshift64(&seed) % 3 == 0 ? ob_test_xorshift64(&seed)
					  : (uint64_t)"\"{}[],:0x"[ob_test_xorshift64(&seed) % 9]);
		}
		if (parse_n(buf, len, &ev) == OB_EVENT_SNAPSHOT) {
			ck_assert_int_eq(ob_ident_parse_snapshot_arn(ev.snapshot_arn, &ref, NULL), 0);
			ck_assert_int_eq(ref.kind, ev.kind);
		}
	}
}
END_TEST

START_TEST(test_every_truncation)
{
	struct ob_event ev;
	size_t i, len, cut;

	for (i = 0; i < N(good_rows); i++) {
		len = strlen(good_rows[i].body);
		/* a trailing newline may go without changing the document */
		while (len > 0 && strchr(" \r\n\t", good_rows[i].body[len - 1]) != NULL)
			len--;
		for (cut = 0; cut < len; cut++)
			ck_assert_msg(parse_n(good_rows[i].body, cut, &ev) == OB_EVENT_MALFORMED,
				      "row %zu cut at %zu: %s", i, cut,
				      ob_event_result_name(ev.result));
		ck_assert_int_eq(parse_n(good_rows[i].body, len, &ev), OB_EVENT_SNAPSHOT);
	}
}
END_TEST

/* ---- hostile sizes ---- */

/* ORDERS event with a Message of n bytes of fill, then pad spaces so the
 * whole is total bytes (0: no padding). Caller frees; *ret_len gets the size. */
static char *big_event(size_t n, char fill, size_t total, size_t *ret_len)
{
	static const char head[] = SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\""
					       ORDERS_ARN "\",\"Message\":\"");
	static const char tail[] = "\"}}";
	size_t len = sizeof(head) - 1 + n + sizeof(tail) - 1;
	char *s;

	if (total > len)
		len = total;
	s = malloc(len + 1);
	ck_assert_ptr_nonnull(s);
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, fill, n);
	memcpy(s + sizeof(head) - 1 + n, tail, sizeof(tail) - 1);
	memset(s + sizeof(head) - 1 + n + sizeof(tail) - 1, ' ',
	       len - (sizeof(head) - 1 + n + sizeof(tail) - 1));
	s[len] = '\0';
	*ret_len = len;
	return s;
}

START_TEST(test_size_limit)
{
	struct ob_event ev;
	size_t len;
	char *s;

	/* a 200 KiB string field is fine */
	s = big_event(200 * 1024, 'A', 0, &len);
	ck_assert_int_eq(parse_n(s, len, &ev), OB_EVENT_SNAPSHOT);
	ck_assert_str_eq(ev.snapshot_arn, ORDERS_ARN);
	free(s);
	/* exactly 256 KiB is looked at */
	s = big_event(1000, 'A', 256 * 1024, &len);
	ck_assert_uint_eq(len, 256 * 1024);
	ck_assert_int_eq(parse_n(s, len, &ev), OB_EVENT_SNAPSHOT);
	free(s);
	/* one more byte is malformed unread */
	s = big_event(1000, 'A', 256 * 1024 + 1, &len);
	ck_assert_int_eq(parse_n(s, len, &ev), OB_EVENT_MALFORMED);
	ck_assert_ptr_nonnull(strstr(ev.reason, "256 KiB"));
	free(s);
	s = big_event(1024 * 1024, 'A', 0, &len);
	ck_assert_int_eq(parse_n(s, len, &ev), OB_EVENT_MALFORMED);
	free(s);
	/* an absurd length is refused before anything is read */
	ck_assert_int_eq(ob_event_parse("{}", SIZE_MAX, &ev), OB_EVENT_MALFORMED);
	ck_assert_ptr_nonnull(strstr(ev.reason, "256 KiB"));
}
END_TEST

START_TEST(test_deep_nesting)
{
	static const char head[] = HEAD("RDS DB Snapshot Event", "aws.rds")
		"\"detail\":{\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"" ORDERS_ARN
		"\",\"x\":";
	size_t depth = 100000;
	size_t len, off;
	struct ob_event ev;
	char *s;

	/* bare arrays */
	s = malloc(2 * depth);
	ck_assert_ptr_nonnull(s);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	ck_assert_int_eq(parse_n(s, 2 * depth, &ev), OB_EVENT_MALFORMED);
	/* unclosed */
	ck_assert_int_eq(parse_n(s, depth, &ev), OB_EVENT_MALFORMED);
	free(s);
	/* inside an otherwise good event, objects this time, as deep as fits
	 * under the size cap */
	depth = 40000;
	len = sizeof(head) - 1 + depth * 6 + 2;
	ck_assert_uint_le(len, 256 * 1024);
	s = malloc(len);
	ck_assert_ptr_nonnull(s);
	memcpy(s, head, sizeof(head) - 1);
	off = sizeof(head) - 1;
	for (size_t i = 0; i < depth; i++, off += 5)
		memcpy(s + off, "{\"a\":", 5);
	memset(s + off, '}', depth);
	off += depth;
	memcpy(s + off, "}}", 2);
	off += 2;
	ck_assert_uint_eq(off, len);
	ck_assert_int_eq(parse_n(s, len, &ev), OB_EVENT_MALFORMED);
	ck_assert_msg(strstr(ev.reason, "nested") != NULL, "%s", ev.reason);
	free(s);
}
END_TEST

START_TEST(test_huge_fields)
{
	struct ob_event ev;
	char *s, *arn;
	size_t n, len;

	/* an ARN past OB_AWSID_ARN_MAX, and one past the 255-byte name limit */
	for (n = 256; n <= 8192; n *= 2) {
		arn = malloc(n + 1);
		ck_assert_ptr_nonnull(arn);
		memset(arn, 'a', n);
		arn[n] = '\0';
		len = strlen(arn) + 200;
		s = malloc(len);
		ck_assert_ptr_nonnull(s);
		snprintf(s, len, "{\"detail-type\":\"RDS DB Snapshot Event\",\"source\":\"aws.rds\","
			 "\"detail\":{\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"%s%s\"}}",
			 "arn:aws:rds:eu-central-1:111111111111:snapshot:", arn);
		ck_assert_int_eq(parse(s, &ev), OB_EVENT_MALFORMED);
		free(s);
		free(arn);
	}
	/* many unknown members */
	len = 10000 * 16 + 400;
	s = malloc(len);
	ck_assert_ptr_nonnull(s);
	n = (size_t)snprintf(s, len, "%s", SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\","
						       "\"SourceArn\":\"" ORDERS_ARN "\""));
	n -= 1; /* drop the final '}' and append */
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(s + n, len - n, ",\"k%06d\":%d", i, i);
	n += (size_t)snprintf(s + n, len - n, "}");
	ck_assert_int_eq(parse_n(s, n, &ev), OB_EVENT_SNAPSHOT);
	free(s);
	/* numbers jansson cannot hold */
	ck_assert_int_eq(parse("{\"detail-type\":\"x\",\"source\":\"y\",\"n\":1e999999}", &ev),
			 OB_EVENT_MALFORMED);
	ck_assert_int_eq(parse("{\"detail-type\":\"x\",\"source\":\"y\","
			       "\"n\":123456789012345678901234567890}", &ev),
			 OB_EVENT_MALFORMED);
}
END_TEST

/* ---- what the log may see ---- */

#define SECRET "AKIAZZZZZZZZSECRET77"
#define SECRET2 "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY"

START_TEST(test_reason_never_quotes_the_body)
{
	static const char *const bodies[] = {
		/* in the fields the parser reads */
		"{\"detail-type\":\"" SECRET "\",\"source\":\"aws.rds\"}",
		"{\"detail-type\":\"RDS DB Snapshot Event\",\"source\":\"" SECRET "\"}",
		"{\"detail-type\":\"Backup Job State Change\",\"source\":\"" SECRET "\"}",
		SNAP_DETAIL("\"EventID\":\"" SECRET "\""),
		SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"" SECRET "\""),
		SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"arn:aws:rds:eu-central-1:"
			    ACCT ":snapshot:" SECRET "\\u0001\""),
		SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"arn:aws:rds:eu-central-1:"
			    ACCT ":" SECRET ":x\""),
		SNAP_DETAIL("\"EventID\":\"RDS-EVENT-0091\",\"SourceArn\":\"arn:aws:" SECRET
			    ":eu-central-1:" ACCT ":snapshot:x\""),
		SNAP_RES("[\"" SECRET "\"]", "\"EventID\":\"RDS-EVENT-0091\""),
		SNAP_RES("[\"" CLUSTER_ARN SECRET "\"]", "\"EventID\":\"RDS-EVENT-0091\""),
		BACKUP_NORES("\"state\":\"" SECRET "\",\"resourceType\":\"RDS\""),
		BACKUP_NORES("\"state\":\"COMPLETED\",\"resourceType\":\"" SECRET "\""),
		BACKUP_NORES("\"state\":\"COMPLETED\",\"resourceType\":\"RDS\","
			     "\"recoveryPointArn\":\"" SECRET "\""),
		BACKUP_EVENT("COMPLETED", "Aurora", BACKUP_ARN SECRET),
		/* in what it does not read */
		INSTANCE_EVENT("RDS-EVENT-0091", ORDERS_ARN "\",\"Token\":\"" SECRET),
		"{\"" SECRET "\":1,\"detail-type\":\"x\",\"source\":\"y\"}",
		/* in broken JSON, where a parser's own message would quote it */
		"{\"detail-type\": " SECRET "}",
		"{\"detail-type\":\"x\",\"source\":\"" SECRET "\xff\"}",
		"{\"" SECRET "\":1,\"" SECRET "\":2}",
		"[\"" SECRET "\"]",
		"{\"a\":\"" SECRET "\" \"" SECRET2 "\"}",
		SECRET,
		"{\"detail-type\":\"x\",\"source\":\"y\"} " SECRET,
	};
	struct ob_event ev;
	size_t i;

	for (i = 0; i < N(bodies); i++) {
		parse(bodies[i], &ev);
		ck_assert_msg(strstr(ev.reason, "AKIA") == NULL && strstr(ev.reason, "SECRET") == NULL &&
			      strstr(ev.reason, "wJalr") == NULL, "row %zu: %s", i, ev.reason);
	}
	/* where `what` takes no text from the body, it holds none */
	for (i = 4; i < 10; i++) {
		parse(bodies[i], &ev);
		ck_assert_msg(strstr(ev.what, "SECRET") == NULL, "row %zu: %s", i, ev.what);
	}
}
END_TEST

Suite *ob_suite_event(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_accepted);
	tcase_add_test(tc, test_ignored);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_result_names);
	tcase_add_test(tc, test_what_is_sanitized);
	tcase_add_test(tc, test_random_garbage);
	tcase_add_test(tc, test_random_mutations);
	tcase_add_test(tc, test_every_truncation);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_huge_fields);
	tcase_add_test(tc, test_reason_never_quotes_the_body);
	suite_add_tcase(s, tc);
	return s;
}
