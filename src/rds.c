/*
 * rds.c - Amazon RDS requests and responses (Query protocol).
 */
#include "ob/rds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RDS_VERSION "2014-10-31"
#define MAX_PAGES 1000
#define MAX_TAGS 50 /* AWS allows 50 tags per resource */

static char *dup_text(const struct ob_xml_node *n, const char *path)
{
	const char *t = ob_xml_path_text(n, path);

	return strdup(t ? t : "");
}

static void snapshot_clear(struct ob_rds_snapshot *s)
{
	size_t i;

	free(s->id);
	free(s->arn);
	free(s->db_id);
	free(s->status);
	free(s->snapshot_type);
	free(s->engine);
	free(s->engine_version);
	free(s->kms_key_id);
	free(s->source_snapshot);
	for (i = 0; i < s->n_tags; i++) {
		free(s->tags[i].key);
		free(s->tags[i].value);
	}
	free(s->tags);
	memset(s, 0, sizeof(*s));
}

static int parse_long(const char *t, long lo, long hi, long *ret)
{
	char *end;
	long v;

	if (t == NULL || *t == '\0')
		return -1;
	v = strtol(t, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return -1;
	*ret = v;
	return 0;
}

static int parse_tags(const struct ob_xml_node *n, struct ob_rds_snapshot *s)
{
	const struct ob_xml_node *t;
	size_t count = 0;

	for (t = ob_xml_child(ob_xml_child(n, "TagList"), "Tag"); t; t = ob_xml_next(t, "Tag"))
		count++;
	if (count == 0)
		return 0;
	if (count > MAX_TAGS)
		return -1;
	s->tags = calloc(count, sizeof(*s->tags));
	if (s->tags == NULL)
		return -1;
	for (t = ob_xml_child(ob_xml_child(n, "TagList"), "Tag"); t; t = ob_xml_next(t, "Tag")) {
		struct ob_rds_tag *tag = &s->tags[s->n_tags++];

		tag->key = dup_text(t, "Key");
		tag->value = dup_text(t, "Value");
		if (tag->key == NULL || tag->value == NULL)
			return -1;
	}
	return 0;
}

static int parse_snapshot(const struct ob_xml_node *n, struct ob_rds_snapshot *s,
			  struct ob_error *err)
{
	const char *t;
	long v;

	memset(s, 0, sizeof(*s));
	s->id = dup_text(n, "DBSnapshotIdentifier");
	s->arn = dup_text(n, "DBSnapshotArn");
	s->db_id = dup_text(n, "DBInstanceIdentifier");
	s->status = dup_text(n, "Status");
	s->snapshot_type = dup_text(n, "SnapshotType");
	s->engine = dup_text(n, "Engine");
	s->engine_version = dup_text(n, "EngineVersion");
	s->kms_key_id = dup_text(n, "KmsKeyId");
	s->source_snapshot = dup_text(n, "SourceDBSnapshotIdentifier");
	if (!s->id || !s->arn || !s->db_id || !s->status || !s->snapshot_type ||
	    !s->engine || !s->engine_version || !s->kms_key_id || !s->source_snapshot)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	if (s->id[0] == '\0' || s->status[0] == '\0')
		return ob_error_set(err, OB_ERR_PARSE,
				    "DBSnapshot without DBSnapshotIdentifier or Status");
	t = ob_xml_path_text(n, "SnapshotCreateTime");
	if (t != NULL && t[0] != '\0' && ob_clock_parse_iso8601(t, &s->create_time) < 0)
		return ob_error_set(err, OB_ERR_PARSE, "snapshot %.100s: bad SnapshotCreateTime",
				    s->id);
	t = ob_xml_path_text(n, "AllocatedStorage");
	if (t != NULL) {
		if (parse_long(t, 0, 1L << 30, &v) < 0)
			return ob_error_set(err, OB_ERR_PARSE,
					    "snapshot %.100s: bad AllocatedStorage", s->id);
		s->allocated_storage = v;
	}
	t = ob_xml_path_text(n, "PercentProgress");
	if (t != NULL) {
		if (parse_long(t, 0, 100, &v) < 0)
			return ob_error_set(err, OB_ERR_PARSE,
					    "snapshot %.100s: bad PercentProgress", s->id);
		s->percent_progress = (int)v;
	}
	t = ob_xml_path_text(n, "Encrypted");
	s->encrypted = t != NULL && strcmp(t, "true") == 0;
	if (parse_tags(n, s) < 0)
		return ob_error_set(err, OB_ERR_PARSE, "snapshot %.100s: bad or too many tags",
				    s->id);
	return 0;
}

int ob_rds_parse_db_snapshots(const struct ob_xml_doc *doc, struct ob_rds_snapshot_list *list,
			      const char **ret_marker, struct ob_error *err)
{
	const struct ob_xml_node *result, *list_node, *n;
	struct ob_rds_snapshot *grown;
	size_t count = 0;
	const char *marker;

	*ret_marker = NULL;
	result = ob_xml_child(ob_xml_root(doc), "DescribeDBSnapshotsResult");
	if (result == NULL)
		return ob_error_set(err, OB_ERR_PARSE,
				    "DescribeDBSnapshots: no DescribeDBSnapshotsResult");
	list_node = ob_xml_child(result, "DBSnapshots");
	for (n = ob_xml_child(list_node, "DBSnapshot"); n; n = ob_xml_next(n, "DBSnapshot"))
		count++;
	if (count > 0) {
		grown = realloc(list->items, (list->n + count) * sizeof(*grown));
		if (grown == NULL)
			return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		list->items = grown;
		for (n = ob_xml_child(list_node, "DBSnapshot"); n; n = ob_xml_next(n, "DBSnapshot")) {
			if (parse_snapshot(n, &list->items[list->n], err) < 0) {
				snapshot_clear(&list->items[list->n]);
				return -1;
			}
			list->n++;
		}
	}
	marker = ob_xml_path_text(result, "Marker");
	if (marker != NULL && marker[0] != '\0')
		*ret_marker = marker;
	return 0;
}

int ob_rds_describe_db_snapshots(struct ob_aws *aws, const struct ob_rds_describe *q,
				 struct ob_rds_snapshot_list *ret, struct ob_error *err)
{
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	const char *marker;
	char *next = NULL;
	int page, rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (q->n_ids > 100)
		return ob_error_set(err, OB_ERR_INVALID, "DescribeDBSnapshots: at most 100 ids");
	memset(&p, 0, sizeof(p));
	for (page = 0; page < MAX_PAGES; page++) {
		ob_aws_params_clear(&p);
		ob_aws_params_init(&p, "DescribeDBSnapshots", RDS_VERSION);
		if (q->snapshot_id != NULL)
			ob_aws_param(&p, "DBSnapshotIdentifier", q->snapshot_id);
		if (q->db_id != NULL)
			ob_aws_param(&p, "DBInstanceIdentifier", q->db_id);
		if (q->snapshot_type != NULL)
			ob_aws_param(&p, "SnapshotType", q->snapshot_type);
		if (q->include_shared)
			ob_aws_param(&p, "IncludeShared", "true");
		if (q->n_ids > 0) {
			ob_aws_param(&p, "Filters.Filter.1.Name", "db-snapshot-id");
			ob_aws_param_list(&p, "Filters.Filter.1.Values", "Value", q->ids,
					  q->n_ids);
		}
		ob_aws_param(&p, "MaxRecords", "100");
		if (next != NULL)
			ob_aws_param(&p, "Marker", next);
		if (ob_aws_query(aws, "rds", &p, &doc, err) < 0)
			goto out;
		if (ob_rds_parse_db_snapshots(doc, ret, &marker, err) < 0)
			goto out;
		if (marker == NULL) {
			rc = 0;
			goto out;
		}
		if (next != NULL && strcmp(next, marker) == 0) {
			ob_error_set(err, OB_ERR_PARSE, "DescribeDBSnapshots: Marker did not advance");
			goto out;
		}
		free(next);
		next = strdup(marker);
		ob_xml_free(doc);
		doc = NULL;
		if (next == NULL) {
			ob_error_set(err, OB_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	ob_error_set(err, OB_ERR_PARSE, "DescribeDBSnapshots: more than %d pages", MAX_PAGES);
out:
	if (rc < 0)
		ob_rds_snapshot_list_clear(ret);
	ob_xml_free(doc);
	free(next);
	ob_aws_params_clear(&p);
	return rc;
}

void ob_rds_snapshot_list_clear(struct ob_rds_snapshot_list *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++)
		snapshot_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

const char *ob_rds_snapshot_tag(const struct ob_rds_snapshot *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n_tags; i++)
		if (strcmp(s->tags[i].key, key) == 0)
			return s->tags[i].value;
	return NULL;
}
