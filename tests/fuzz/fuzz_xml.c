/*
 * fuzz_xml.c - libFuzzer harness for the XML response parser
 * (ob_xml_parse) and the tree walk every service file does
 * (ob_xml_root/child/next/path/path_text/name/text).
 *
 * The input is the response body, in a buffer of exactly its length. A
 * parsed document is walked in full; for every element the harness checks
 * that looking it up again by name (child, next, and the "a/b" path from
 * its parent) finds an element of that name, then runs the lookups AWS
 * responses use. Then the RDS result parsers read the same document
 * (snapshots, cluster snapshots, export tasks, account quotas), and what
 * they accept must keep their promises: strings never NULL, progress
 * 0..100, quota figures in range, an error set on failure. Freed with
 * ob_xml_free() on every path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ob/rds.h"
#include "ob/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {
	"", "/", "//", "Error", "Error/Code", "Errors/Error", "Errors/Error/Message",
	"RequestId", "ResponseMetadata/RequestId",
	"DescribeDBSnapshotsResult/DBSnapshots", "DescribeDBSnapshotsResult/Marker",
	"CopyDBSnapshotResult/DBSnapshot/Status", "a/b/c/d/e/f/g/h", "a//b", "a/",
	"DescribeExportTasksResult/ExportTasks", "DescribeAccountAttributesResult/AccountQuotas",
};

static void walk(const struct ob_xml_node *n, unsigned depth, size_t *count)
{
	const struct ob_xml_node *c, *again;
	char path[1024];
	size_t i;

	if (depth > OB_XML_MAX_DEPTH)
		abort();
	(void)strlen(ob_xml_text(n));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		(void)ob_xml_path_text(n, paths[i]);
	for (c = ob_xml_child(n, NULL); c != NULL; c = ob_xml_next(c, NULL)) {
		const char *name = ob_xml_name(c);

		if (++*count > OB_XML_MAX_NODES)
			abort();
		again = ob_xml_child(n, name);
		if (again == NULL || strcmp(ob_xml_name(again), name) != 0)
			abort();
		again = ob_xml_next(c, name);
		if (again != NULL && strcmp(ob_xml_name(again), name) != 0)
			abort();
		/* A name holding '/' cannot be looked up by path; expat
		 * never hands one over. */
		if (strchr(name, '/') != NULL)
			abort();
		if (strlen(name) + 3 < sizeof(path) && name[0] != '\0') {
			const struct ob_xml_node *p;

			memcpy(path, name, strlen(name) + 1);
			p = ob_xml_path(n, path);
			if (p == NULL || strcmp(ob_xml_name(p), name) != 0)
				abort();
			strcat(path, "/x");
			(void)ob_xml_path_text(n, path);
		}
		walk(c, depth + 1, count);
	}
}

/* A parser's -1 must come with an error that is set and terminated. */
static void check_failure(const struct ob_error *err)
{
	if (err->kind == OB_ERR_NONE || memchr(err->message, '\0', sizeof(err->message)) == NULL)
		abort();
}

static void check_snapshots(const struct ob_rds_snapshot_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->items[i].id == NULL || l->items[i].arn == NULL || l->items[i].status == NULL)
			abort();
}

/* The RDS result parsers over doc: every one must accept or refuse it
 * cleanly, and keep its promises about what it accepted. */
static void rds_parsers(const struct ob_xml_doc *doc)
{
	struct ob_rds_snapshot_list snaps = { 0 };
	struct ob_rds_export_task_list tasks = { 0 };
	struct ob_rds_quota q[2] = { { "ManualSnapshots", false, 0, 0 },
				     { "ManualClusterSnapshots", false, 0, 0 } };
	const char *marker = NULL;
	struct ob_error err;
	size_t i;

	if (ob_rds_parse_db_snapshots(doc, &snaps, &marker, &err) < 0)
		check_failure(&err);
	check_snapshots(&snaps);
	ob_rds_snapshot_list_clear(&snaps);
	if (ob_rds_parse_db_cluster_snapshots(doc, &snaps, &marker, &err) < 0)
		check_failure(&err);
	check_snapshots(&snaps);
	ob_rds_snapshot_list_clear(&snaps);
	if (ob_rds_parse_export_tasks(doc, &tasks, &marker, &err) < 0)
		check_failure(&err);
	for (i = 0; i < tasks.n; i++) {
		const struct ob_rds_export_task *t = &tasks.items[i];

		if (t->id == NULL || t->source_arn == NULL || t->status_text == NULL ||
		    t->failure_cause == NULL || t->percent_progress < 0 ||
		    t->percent_progress > 100 || (unsigned)t->status > OB_RDS_EXPORT_FAILED)
			abort();
	}
	ob_rds_export_task_list_clear(&tasks);
	if (ob_rds_parse_account_quotas(doc, q, 2, &err) < 0) {
		check_failure(&err);
		return;
	}
	for (i = 0; i < 2; i++)
		if (q[i].found && (q[i].used < 0 || q[i].max < 0 ||
				   q[i].used > OB_RDS_QUOTA_MAX_VALUE ||
				   q[i].max > OB_RDS_QUOTA_MAX_VALUE))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_xml_doc *doc = NULL;
	struct ob_error err;
	size_t count = 1;
	int rc;

	rc = ob_xml_parse((const char *)data, size, &doc, &err);
	if (rc < 0) {
		if (doc != NULL || err.kind == OB_ERR_NONE ||
		    memchr(err.message, '\0', sizeof(err.message)) == NULL)
			abort();
		return 0;
	}
	if (doc == NULL || ob_xml_root(doc) == NULL)
		abort();
	walk(ob_xml_root(doc), 1, &count);
	rds_parsers(doc);
	ob_xml_free(doc);
	return 0;
}
