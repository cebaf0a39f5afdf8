/*
 * rds.c - Amazon RDS requests and responses (Query protocol).
 *
 * Instance snapshots and Aurora cluster snapshots are the same calls with
 * different names: DescribeDBSnapshots / DescribeDBClusterSnapshots,
 * DBSnapshotIdentifier / DBClusterSnapshotIdentifier, Encrypted /
 * StorageEncrypted... Each call is written once and reads the names it
 * needs from the kind's row of `names` below, so the two variants cannot
 * drift apart.
 */
#include "ob/rds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RDS_VERSION "2014-10-31"
#define MAX_PAGES 1000
#define MAX_IDS 100         /* filter values per DescribeDB*Snapshots call */
#define MAX_TAGS 50         /* AWS allows 50 tags per resource */
#define MAX_ATTR_VALUES 1000 /* AWS shares with at most 20 accounts */

/* The element and parameter names of one snapshot kind. The result element
 * of an action is always "<Action>Result". */
struct kind_names {
	const char *kind_name;      /* the announcement's kind */
	const char *describe;       /* Describe action */
	const char *list;           /* list element in its result */
	const char *item;           /* one snapshot: list member, Copy/Delete result */
	const char *id;             /* identifier: parameter and element */
	const char *db_id;          /* instance / cluster: parameter and element */
	const char *id_filter;      /* Filters.Filter.N.Name for identifiers */
	const char *arn;            /* element */
	const char *source;         /* element: where a copy came from */
	const char *encrypted;      /* element */
	const char *copy;           /* Copy action */
	const char *copy_source;    /* its parameters */
	const char *copy_target;
	const char *modify_attr;    /* Modify...SnapshotAttribute action */
	const char *describe_attrs; /* Describe...SnapshotAttributes action */
	const char *attrs_result;   /* element inside either's result */
	const char *attrs_list;
	const char *attr_item;
	const char *delete;         /* Delete action */
};

static const struct kind_names names[] = {
	[OB_SNAP_INSTANCE] = {
		.kind_name = "db-snapshot",
		.describe = "DescribeDBSnapshots",
		.list = "DBSnapshots",
		.item = "DBSnapshot",
		.id = "DBSnapshotIdentifier",
		.db_id = "DBInstanceIdentifier",
		.id_filter = "db-snapshot-id",
		.arn = "DBSnapshotArn",
		.source = "SourceDBSnapshotIdentifier",
		.encrypted = "Encrypted",
		.copy = "CopyDBSnapshot",
		.copy_source = "SourceDBSnapshotIdentifier",
		.copy_target = "TargetDBSnapshotIdentifier",
		.modify_attr = "ModifyDBSnapshotAttribute",
		.describe_attrs = "DescribeDBSnapshotAttributes",
		.attrs_result = "DBSnapshotAttributesResult",
		.attrs_list = "DBSnapshotAttributes",
		.attr_item = "DBSnapshotAttribute",
		.delete = "DeleteDBSnapshot",
	},
	[OB_SNAP_CLUSTER] = {
		.kind_name = "db-cluster-snapshot",
		.describe = "DescribeDBClusterSnapshots",
		.list = "DBClusterSnapshots",
		.item = "DBClusterSnapshot",
		.id = "DBClusterSnapshotIdentifier",
		.db_id = "DBClusterIdentifier",
		.id_filter = "db-cluster-snapshot-id",
		.arn = "DBClusterSnapshotArn",
		.source = "SourceDBClusterSnapshotArn",
		.encrypted = "StorageEncrypted",
		.copy = "CopyDBClusterSnapshot",
		.copy_source = "SourceDBClusterSnapshotIdentifier",
		.copy_target = "TargetDBClusterSnapshotIdentifier",
		.modify_attr = "ModifyDBClusterSnapshotAttribute",
		.describe_attrs = "DescribeDBClusterSnapshotAttributes",
		.attrs_result = "DBClusterSnapshotAttributesResult",
		.attrs_list = "DBClusterSnapshotAttributes",
		.attr_item = "DBClusterSnapshotAttribute",
		.delete = "DeleteDBClusterSnapshot",
	},
};

/* The names of kind, or NULL for a value outside the enum. */
static const struct kind_names *kind_names(enum ob_snap_kind kind)
{
	if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return &names[kind];
}

const char *ob_snap_kind_name(enum ob_snap_kind kind)
{
	const struct kind_names *k = kind_names(kind);

	return k ? k->kind_name : "unknown";
}

int ob_snap_kind_parse(const char *name, enum ob_snap_kind *ret)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].kind_name) == 0) {
			*ret = (enum ob_snap_kind)i;
			return 0;
		}
	}
	return -1;
}

static bool empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* The <action>Result element under the document element, or NULL. */
static const struct ob_xml_node *result_of(const struct ob_xml_doc *doc, const char *action)
{
	char name[96];

	snprintf(name, sizeof(name), "%sResult", action);
	return ob_xml_child(ob_xml_root(doc), name);
}

static char *dup_text(const struct ob_xml_node *n, const char *path)
{
	const char *t = ob_xml_path_text(n, path);

	return strdup(t ? t : "");
}

void ob_rds_snapshot_clear(struct ob_rds_snapshot *s)
{
	size_t i;

	if (s == NULL)
		return;
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

/* TagList/Tag into s->tags: -1 for too many tags or one without a Key, -2
 * when out of memory. */
static int parse_tags(const struct ob_xml_node *n, struct ob_rds_snapshot *s)
{
	const struct ob_xml_node *list = ob_xml_child(n, "TagList"), *t;
	size_t count = 0;

	for (t = ob_xml_child(list, "Tag"); t; t = ob_xml_next(t, "Tag")) {
		if (empty(ob_xml_path_text(t, "Key")))
			return -1;
		count++;
	}
	if (count == 0)
		return 0;
	if (count > MAX_TAGS)
		return -1;
	s->tags = calloc(count, sizeof(*s->tags));
	if (s->tags == NULL)
		return -2;
	for (t = ob_xml_child(list, "Tag"); t; t = ob_xml_next(t, "Tag")) {
		struct ob_rds_tag *tag = &s->tags[s->n_tags++];

		tag->key = dup_text(t, "Key");
		tag->value = dup_text(t, "Value");
		if (tag->key == NULL || tag->value == NULL)
			return -2;
	}
	return 0;
}

/* One DBSnapshot / DBClusterSnapshot element into *s (zeroed first; the
 * caller clears it on failure too). */
static int parse_snapshot(const struct ob_xml_node *n, enum ob_snap_kind kind,
			  struct ob_rds_snapshot *s, struct ob_error *err)
{
	const struct kind_names *k = &names[kind];
	const char *t;
	long v;
	int r;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->id = dup_text(n, k->id);
	s->arn = dup_text(n, k->arn);
	s->db_id = dup_text(n, k->db_id);
	s->status = dup_text(n, "Status");
	s->snapshot_type = dup_text(n, "SnapshotType");
	s->engine = dup_text(n, "Engine");
	s->engine_version = dup_text(n, "EngineVersion");
	s->kms_key_id = dup_text(n, "KmsKeyId");
	s->source_snapshot = dup_text(n, k->source);
	if (!s->id || !s->arn || !s->db_id || !s->status || !s->snapshot_type ||
	    !s->engine || !s->engine_version || !s->kms_key_id || !s->source_snapshot)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	if (s->id[0] == '\0' || s->status[0] == '\0')
		return ob_error_set(err, OB_ERR_PARSE, "%s without %s or Status", k->item, k->id);
	t = ob_xml_path_text(n, "SnapshotCreateTime");
	if (t != NULL && t[0] != '\0' && ob_clock_parse_iso8601(t, &s->create_time) < 0)
		return ob_error_set(err, OB_ERR_PARSE, "snapshot %.100s: bad SnapshotCreateTime",
				    s->id);
	t = ob_xml_path_text(n, "OriginalSnapshotCreateTime");
	if (t != NULL && t[0] != '\0' &&
	    ob_clock_parse_iso8601(t, &s->original_create_time) < 0)
		return ob_error_set(err, OB_ERR_PARSE,
				    "snapshot %.100s: bad OriginalSnapshotCreateTime", s->id);
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
	t = ob_xml_path_text(n, k->encrypted);
	s->encrypted = t != NULL && strcmp(t, "true") == 0;
	r = parse_tags(n, s);
	if (r == -2)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	if (r < 0)
		return ob_error_set(err, OB_ERR_PARSE, "snapshot %.100s: bad or too many tags",
				    s->id);
	return 0;
}

static int parse_list(const struct ob_xml_doc *doc, enum ob_snap_kind kind,
		      struct ob_rds_snapshot_list *list, const char **ret_marker,
		      struct ob_error *err)
{
	const struct kind_names *k = &names[kind];
	const struct ob_xml_node *result, *list_node, *n;
	struct ob_rds_snapshot *grown;
	size_t count = 0;
	const char *marker;

	*ret_marker = NULL;
	result = result_of(doc, k->describe);
	if (result == NULL)
		return ob_error_set(err, OB_ERR_PARSE, "%s: no %sResult", k->describe, k->describe);
	list_node = ob_xml_child(result, k->list);
	for (n = ob_xml_child(list_node, k->item); n; n = ob_xml_next(n, k->item))
		count++;
	if (count > 0) {
		grown = realloc(list->items, (list->n + count) * sizeof(*grown));
		if (grown == NULL)
			return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		list->items = grown;
		for (n = ob_xml_child(list_node, k->item); n; n = ob_xml_next(n, k->item)) {
			if (parse_snapshot(n, kind, &list->items[list->n], err) < 0) {
				ob_rds_snapshot_clear(&list->items[list->n]);
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

int ob_rds_parse_db_snapshots(const struct ob_xml_doc *doc, struct ob_rds_snapshot_list *list,
			      const char **ret_marker, struct ob_error *err)
{
	return parse_list(doc, OB_SNAP_INSTANCE, list, ret_marker, err);
}

int ob_rds_parse_db_cluster_snapshots(const struct ob_xml_doc *doc,
				      struct ob_rds_snapshot_list *list,
				      const char **ret_marker, struct ob_error *err)
{
	return parse_list(doc, OB_SNAP_CLUSTER, list, ret_marker, err);
}

/* One page's parameters: the query, then Marker when paging. */
static void describe_params(struct ob_aws_params *p, const struct kind_names *k,
			    const struct ob_rds_describe *q, const char *marker)
{
	ob_aws_params_init(p, k->describe, RDS_VERSION);
	if (q->snapshot_id != NULL)
		ob_aws_param(p, k->id, q->snapshot_id);
	if (q->db_id != NULL)
		ob_aws_param(p, k->db_id, q->db_id);
	if (q->snapshot_type != NULL)
		ob_aws_param(p, "SnapshotType", q->snapshot_type);
	if (q->include_shared)
		ob_aws_param(p, "IncludeShared", "true");
	if (q->n_ids > 0) {
		ob_aws_param(p, "Filters.Filter.1.Name", k->id_filter);
		ob_aws_param_list(p, "Filters.Filter.1.Values", "Value", q->ids, q->n_ids);
	}
	ob_aws_param(p, "MaxRecords", "100");
	if (marker != NULL)
		ob_aws_param(p, "Marker", marker);
}

int ob_rds_describe_snapshots(struct ob_aws *aws, const struct ob_rds_describe *q,
			      struct ob_rds_snapshot_list *ret, struct ob_error *err)
{
	const struct kind_names *k;
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	const char *marker;
	char *next = NULL;
	size_t i;
	int page, rc = -1;

	memset(ret, 0, sizeof(*ret));
	k = kind_names(q->kind);
	if (k == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "describe snapshots: unknown kind %d",
				    (int)q->kind);
	if (q->n_ids > MAX_IDS || (q->n_ids > 0 && q->ids == NULL))
		return ob_error_set(err, OB_ERR_INVALID, "%s: at most %d ids", k->describe,
				    MAX_IDS);
	for (i = 0; i < q->n_ids; i++)
		if (q->ids[i] == NULL)
			return ob_error_set(err, OB_ERR_INVALID, "%s: id %zu is NULL",
					    k->describe, i);
	memset(&p, 0, sizeof(p));
	for (page = 0; page < MAX_PAGES; page++) {
		ob_aws_params_clear(&p);
		describe_params(&p, k, q, next);
		if (ob_aws_query(aws, "rds", &p, &doc, err) < 0)
			goto out;
		if (parse_list(doc, q->kind, ret, &marker, err) < 0)
			goto out;
		if (marker == NULL) {
			rc = 0;
			goto out;
		}
		if (next != NULL && strcmp(next, marker) == 0) {
			ob_error_set(err, OB_ERR_PARSE, "%s: Marker did not advance", k->describe);
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
	ob_error_set(err, OB_ERR_PARSE, "%s: more than %d pages", k->describe, MAX_PAGES);
out:
	if (rc < 0)
		ob_rds_snapshot_list_clear(ret);
	ob_xml_free(doc);
	free(next);
	ob_aws_params_clear(&p);
	return rc;
}

int ob_rds_describe_db_snapshots(struct ob_aws *aws, const struct ob_rds_describe *q,
				 struct ob_rds_snapshot_list *ret, struct ob_error *err)
{
	struct ob_rds_describe iq = *q;

	iq.kind = OB_SNAP_INSTANCE;
	return ob_rds_describe_snapshots(aws, &iq, ret, err);
}

void ob_rds_snapshot_list_clear(struct ob_rds_snapshot_list *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++)
		ob_rds_snapshot_clear(&list->items[i]);
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

/* ---- Copy ------------------------------------------------------------------ */

static int check_copy(const struct ob_rds_copy *c, struct ob_error *err)
{
	size_t i;

	if (kind_names(c->kind) == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "copy snapshot: unknown kind %d",
				    (int)c->kind);
	if (empty(c->source_id) || empty(c->target_id))
		return ob_error_set(err, OB_ERR_INVALID, "%s: source and target are required",
				    names[c->kind].copy);
	if (c->kms_key_id != NULL && c->kms_key_id[0] == '\0')
		return ob_error_set(err, OB_ERR_INVALID, "%s: empty KmsKeyId (NULL keeps the "
				    "source's key)", names[c->kind].copy);
	if (c->n_tags > MAX_TAGS || (c->n_tags > 0 && c->tags == NULL))
		return ob_error_set(err, OB_ERR_INVALID, "%s: at most %d tags",
				    names[c->kind].copy, MAX_TAGS);
	for (i = 0; i < c->n_tags; i++)
		if (empty(c->tags[i].key))
			return ob_error_set(err, OB_ERR_INVALID, "%s: tag %zu has no key",
					    names[c->kind].copy, i);
	return 0;
}

int ob_rds_copy_snapshot(struct ob_aws *aws, const struct ob_rds_copy *c,
			 struct ob_rds_snapshot *ret, struct ob_error *err)
{
	const struct kind_names *k;
	const struct ob_xml_node *n;
	struct ob_rds_snapshot copy;
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	size_t i;
	int rc = -1;

	memset(&copy, 0, sizeof(copy));
	if (ret != NULL)
		memset(ret, 0, sizeof(*ret));
	if (check_copy(c, err) < 0)
		return -1;
	k = &names[c->kind];
	ob_aws_params_init(&p, k->copy, RDS_VERSION);
	ob_aws_param(&p, k->copy_source, c->source_id);
	ob_aws_param(&p, k->copy_target, c->target_id);
	if (c->kms_key_id != NULL)
		ob_aws_param(&p, "KmsKeyId", c->kms_key_id);
	if (c->copy_tags)
		ob_aws_param(&p, "CopyTags", "true");
	for (i = 0; i < c->n_tags; i++) {
		ob_aws_paramf(&p, c->tags[i].key, "Tags.Tag.%zu.Key", i + 1);
		if (c->tags[i].value != NULL)
			ob_aws_paramf(&p, c->tags[i].value, "Tags.Tag.%zu.Value", i + 1);
	}
	if (ob_aws_query(aws, "rds", &p, &doc, err) < 0)
		goto out;
	n = ob_xml_child(result_of(doc, k->copy), k->item);
	if (n == NULL) {
		ob_error_set(err, OB_ERR_PARSE, "%s: no %sResult/%s", k->copy, k->copy, k->item);
		goto out;
	}
	/* Parsed even when the caller does not want it: a malformed answer is
	 * not a confirmation. */
	if (parse_snapshot(n, c->kind, &copy, err) < 0)
		goto out;
	if (ret != NULL) {
		*ret = copy;
		memset(&copy, 0, sizeof(copy));
	}
	rc = 0;
out:
	ob_rds_snapshot_clear(&copy);
	ob_xml_free(doc);
	ob_aws_params_clear(&p);
	return rc;
}

/* ---- the restore attribute ------------------------------------------------- */

void ob_rds_strings_clear(struct ob_rds_strings *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

bool ob_rds_strings_has(const struct ob_rds_strings *l, const char *s)
{
	size_t i;

	if (l == NULL || s == NULL)
		return false;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

/* The restore attribute's values from a Modify...Attribute or
 * Describe...Attributes answer into *ret (may be NULL: checked only). The
 * attribute must be there exactly once: both AWS and moto always report it
 * for a manual snapshot, and an answer without it must not read as "shared
 * with nobody". */
static int parse_restore(const struct ob_xml_doc *doc, const char *action,
			 const struct kind_names *k, struct ob_rds_strings *ret,
			 struct ob_error *err)
{
	const struct ob_xml_node *result, *a, *restore = NULL, *v;
	struct ob_rds_strings l = { 0 };
	const char *name;
	size_t count = 0;

	result = ob_xml_child(result_of(doc, action), k->attrs_result);
	if (result == NULL)
		return ob_error_set(err, OB_ERR_PARSE, "%s: no %sResult/%s", action, action,
				    k->attrs_result);
	for (a = ob_xml_child(ob_xml_child(result, k->attrs_list), k->attr_item); a;
	     a = ob_xml_next(a, k->attr_item)) {
		name = ob_xml_path_text(a, "AttributeName");
		if (name == NULL || strcmp(name, "restore") != 0)
			continue;
		if (restore != NULL)
			return ob_error_set(err, OB_ERR_PARSE, "%s: restore attribute twice",
					    action);
		restore = a;
	}
	if (restore == NULL)
		return ob_error_set(err, OB_ERR_PARSE, "%s: no restore attribute", action);
	for (v = ob_xml_child(ob_xml_child(restore, "AttributeValues"), "AttributeValue"); v;
	     v = ob_xml_next(v, "AttributeValue")) {
		if (ob_xml_text(v)[0] == '\0')
			return ob_error_set(err, OB_ERR_PARSE, "%s: empty AttributeValue", action);
		count++;
	}
	if (count > MAX_ATTR_VALUES)
		return ob_error_set(err, OB_ERR_PARSE, "%s: more than %d restore values",
				    action, MAX_ATTR_VALUES);
	if (ret == NULL || count == 0)
		return 0;
	l.items = calloc(count, sizeof(*l.items));
	if (l.items == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	for (v = ob_xml_child(ob_xml_child(restore, "AttributeValues"), "AttributeValue"); v;
	     v = ob_xml_next(v, "AttributeValue")) {
		l.items[l.n] = strdup(ob_xml_text(v));
		if (l.items[l.n] == NULL) {
			ob_rds_strings_clear(&l);
			return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		}
		l.n++;
	}
	*ret = l;
	return 0;
}

/* Send an attribute action (p built) and read the restore values. */
static int attr_call(struct ob_aws *aws, struct ob_aws_params *p, const char *action,
		     const struct kind_names *k, struct ob_rds_strings *ret,
		     struct ob_error *err)
{
	struct ob_xml_doc *doc = NULL;
	int rc = -1;

	if (ob_aws_query(aws, "rds", p, &doc, err) == 0)
		rc = parse_restore(doc, action, k, ret, err);
	ob_xml_free(doc);
	ob_aws_params_clear(p);
	return rc;
}

int ob_rds_modify_restore(struct ob_aws *aws, enum ob_snap_kind kind, const char *snapshot_id,
			  const char *add, const char *remove, struct ob_rds_strings *ret_restore,
			  struct ob_error *err)
{
	const struct kind_names *k = kind_names(kind);
	struct ob_aws_params p;

	if (ret_restore != NULL)
		memset(ret_restore, 0, sizeof(*ret_restore));
	if (k == NULL || empty(snapshot_id))
		return ob_error_set(err, OB_ERR_INVALID, "modify restore: no snapshot");
	if ((add == NULL && remove == NULL) || (add != NULL && add[0] == '\0') ||
	    (remove != NULL && remove[0] == '\0'))
		return ob_error_set(err, OB_ERR_INVALID, "%s: nothing (or an empty value) to "
				    "add or remove", k->modify_attr);
	ob_aws_params_init(&p, k->modify_attr, RDS_VERSION);
	ob_aws_param(&p, k->id, snapshot_id);
	ob_aws_param(&p, "AttributeName", "restore");
	if (add != NULL)
		ob_aws_param_list(&p, "ValuesToAdd", "AttributeValue", &add, 1);
	if (remove != NULL)
		ob_aws_param_list(&p, "ValuesToRemove", "AttributeValue", &remove, 1);
	return attr_call(aws, &p, k->modify_attr, k, ret_restore, err);
}

int ob_rds_describe_restore(struct ob_aws *aws, enum ob_snap_kind kind, const char *snapshot_id,
			    struct ob_rds_strings *ret, struct ob_error *err)
{
	const struct kind_names *k = kind_names(kind);
	struct ob_aws_params p;

	memset(ret, 0, sizeof(*ret));
	if (k == NULL || empty(snapshot_id))
		return ob_error_set(err, OB_ERR_INVALID, "describe restore: no snapshot");
	ob_aws_params_init(&p, k->describe_attrs, RDS_VERSION);
	ob_aws_param(&p, k->id, snapshot_id);
	return attr_call(aws, &p, k->describe_attrs, k, ret, err);
}

/* ---- Delete ---------------------------------------------------------------- */

int ob_rds_delete_snapshot(struct ob_aws *aws, enum ob_snap_kind kind, const char *snapshot_id,
			   struct ob_error *err)
{
	const struct kind_names *k = kind_names(kind);
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	int rc = -1;

	if (k == NULL || empty(snapshot_id))
		return ob_error_set(err, OB_ERR_INVALID, "delete snapshot: no snapshot");
	ob_aws_params_init(&p, k->delete, RDS_VERSION);
	ob_aws_param(&p, k->id, snapshot_id);
	if (ob_aws_query(aws, "rds", &p, &doc, err) < 0)
		goto out;
	/* The snapshot it reports is not needed; its presence confirms that
	 * this was RDS answering this call. */
	if (result_of(doc, k->delete) == NULL) {
		ob_error_set(err, OB_ERR_PARSE, "%s: no %sResult", k->delete, k->delete);
		goto out;
	}
	rc = 0;
out:
	ob_xml_free(doc);
	ob_aws_params_clear(&p);
	return rc;
}

/* ---- S3 export tasks --------------------------------------------------------- */

#define MAX_EXPORT_TASKS 100000 /* tasks in one answer: far beyond any account */

enum ob_rds_export_status ob_rds_export_status_parse(const char *s)
{
	static const struct {
		const char *name;
		enum ob_rds_export_status status;
	} words[] = {
		{ "STARTING", OB_RDS_EXPORT_STARTING },
		{ "IN_PROGRESS", OB_RDS_EXPORT_IN_PROGRESS },
		{ "COMPLETE", OB_RDS_EXPORT_COMPLETE },
		{ "CANCELING", OB_RDS_EXPORT_CANCELING },
		{ "CANCELED", OB_RDS_EXPORT_CANCELED },
		{ "FAILED", OB_RDS_EXPORT_FAILED },
	};
	size_t i;

	if (s == NULL)
		return OB_RDS_EXPORT_UNKNOWN;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i].name) == 0)
			return words[i].status;
	return OB_RDS_EXPORT_UNKNOWN;
}

void ob_rds_export_task_clear(struct ob_rds_export_task *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->source_arn);
	free(t->status_text);
	free(t->s3_bucket);
	free(t->s3_prefix);
	free(t->iam_role_arn);
	free(t->kms_key_id);
	free(t->failure_cause);
	memset(t, 0, sizeof(*t));
}

void ob_rds_export_task_list_clear(struct ob_rds_export_task_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		ob_rds_export_task_clear(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* One ExportTask element into *t (zeroed first; the caller clears it on
 * failure too). An identifier and a Status are required: a task without
 * them cannot be matched or judged. An unknown Status word is kept as
 * text (UNKNOWN) for the caller to treat as "still running". */
static int parse_export_task(const struct ob_xml_node *n, struct ob_rds_export_task *t,
			     struct ob_error *err)
{
	const char *p;
	long v;

	memset(t, 0, sizeof(*t));
	t->id = dup_text(n, "ExportTaskIdentifier");
	t->source_arn = dup_text(n, "SourceArn");
	t->status_text = dup_text(n, "Status");
	t->s3_bucket = dup_text(n, "S3Bucket");
	t->s3_prefix = dup_text(n, "S3Prefix");
	t->iam_role_arn = dup_text(n, "IamRoleArn");
	t->kms_key_id = dup_text(n, "KmsKeyId");
	t->failure_cause = dup_text(n, "FailureCause");
	if (!t->id || !t->source_arn || !t->status_text || !t->s3_bucket || !t->s3_prefix ||
	    !t->iam_role_arn || !t->kms_key_id || !t->failure_cause)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	if (t->id[0] == '\0' || t->status_text[0] == '\0')
		return ob_error_set(err, OB_ERR_PARSE, "ExportTask without ExportTaskIdentifier or Status");
	t->status = ob_rds_export_status_parse(t->status_text);
	p = ob_xml_path_text(n, "PercentProgress");
	if (p != NULL) {
		if (parse_long(p, 0, 100, &v) < 0)
			return ob_error_set(err, OB_ERR_PARSE, "export task %.100s: bad PercentProgress",
					    t->id);
		t->percent_progress = (int)v;
	}
	return 0;
}

int ob_rds_parse_export_tasks(const struct ob_xml_doc *doc, struct ob_rds_export_task_list *list,
			      const char **ret_marker, struct ob_error *err)
{
	const struct ob_xml_node *result, *tasks, *n;
	struct ob_rds_export_task *grown;
	size_t count = 0;
	const char *marker;

	*ret_marker = NULL;
	result = result_of(doc, "DescribeExportTasks");
	if (result == NULL)
		return ob_error_set(err, OB_ERR_PARSE, "DescribeExportTasks: no DescribeExportTasksResult");
	tasks = ob_xml_child(result, "ExportTasks");
	for (n = ob_xml_child(tasks, "ExportTask"); n; n = ob_xml_next(n, "ExportTask"))
		count++;
	if (count > MAX_EXPORT_TASKS || list->n > MAX_EXPORT_TASKS - count)
		return ob_error_set(err, OB_ERR_PARSE, "DescribeExportTasks: more than %d tasks",
				    MAX_EXPORT_TASKS);
	if (count > 0) {
		grown = realloc(list->items, (list->n + count) * sizeof(*grown));
		if (grown == NULL)
			return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		list->items = grown;
		for (n = ob_xml_child(tasks, "ExportTask"); n; n = ob_xml_next(n, "ExportTask")) {
			if (parse_export_task(n, &list->items[list->n], err) < 0) {
				ob_rds_export_task_clear(&list->items[list->n]);
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

int ob_rds_start_export_task(struct ob_aws *aws, const struct ob_rds_export_start *x,
			     struct ob_rds_export_task *ret, struct ob_error *err)
{
	const struct ob_xml_node *n;
	struct ob_rds_export_task task;
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	int rc = -1;

	memset(&task, 0, sizeof(task));
	if (ret != NULL)
		memset(ret, 0, sizeof(*ret));
	if (x == NULL || empty(x->task_id) || empty(x->source_arn) || empty(x->s3_bucket) ||
	    empty(x->iam_role_arn) || empty(x->kms_key_id))
		return ob_error_set(err, OB_ERR_INVALID, "StartExportTask: task id, source ARN, "
				    "bucket, IAM role and KMS key are required");
	ob_aws_params_init(&p, "StartExportTask", RDS_VERSION);
	ob_aws_param(&p, "ExportTaskIdentifier", x->task_id);
	ob_aws_param(&p, "SourceArn", x->source_arn);
	ob_aws_param(&p, "S3BucketName", x->s3_bucket);
	if (!empty(x->s3_prefix))
		ob_aws_param(&p, "S3Prefix", x->s3_prefix);
	ob_aws_param(&p, "IamRoleArn", x->iam_role_arn);
	ob_aws_param(&p, "KmsKeyId", x->kms_key_id);
	if (ob_aws_query(aws, "rds", &p, &doc, err) < 0)
		goto out;
	/* The result element is the task itself. */
	n = result_of(doc, "StartExportTask");
	if (n == NULL) {
		ob_error_set(err, OB_ERR_PARSE, "StartExportTask: no StartExportTaskResult");
		goto out;
	}
	if (parse_export_task(n, &task, err) < 0)
		goto out;
	if (ret != NULL) {
		*ret = task;
		memset(&task, 0, sizeof(task));
	}
	rc = 0;
out:
	ob_rds_export_task_clear(&task);
	ob_xml_free(doc);
	ob_aws_params_clear(&p);
	return rc;
}

int ob_rds_describe_export_tasks(struct ob_aws *aws, const char *const *ids, size_t n_ids,
				 struct ob_rds_export_task_list *ret, struct ob_error *err)
{
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	const char *marker;
	char *next = NULL;
	size_t i;
	int page, rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (ids == NULL || n_ids == 0 || n_ids > OB_RDS_EXPORT_IDS_MAX)
		return ob_error_set(err, OB_ERR_INVALID, "DescribeExportTasks: 1 to %d ids",
				    OB_RDS_EXPORT_IDS_MAX);
	for (i = 0; i < n_ids; i++)
		if (empty(ids[i]))
			return ob_error_set(err, OB_ERR_INVALID, "DescribeExportTasks: id %zu is empty",
					    i);
	memset(&p, 0, sizeof(p));
	for (page = 0; page < MAX_PAGES; page++) {
		ob_aws_params_clear(&p);
		ob_aws_params_init(&p, "DescribeExportTasks", RDS_VERSION);
		ob_aws_param(&p, "Filters.Filter.1.Name", "export-task-identifier");
		ob_aws_param_list(&p, "Filters.Filter.1.Values", "Value", ids, n_ids);
		ob_aws_param(&p, "MaxRecords", "100");
		if (next != NULL)
			ob_aws_param(&p, "Marker", next);
		if (ob_aws_query(aws, "rds", &p, &doc, err) < 0)
			goto out;
		if (ob_rds_parse_export_tasks(doc, ret, &marker, err) < 0)
			goto out;
		if (marker == NULL) {
			rc = 0;
			goto out;
		}
		if (next != NULL && strcmp(next, marker) == 0) {
			ob_error_set(err, OB_ERR_PARSE, "DescribeExportTasks: Marker did not advance");
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
	ob_error_set(err, OB_ERR_PARSE, "DescribeExportTasks: more than %d pages", MAX_PAGES);
out:
	if (rc < 0)
		ob_rds_export_task_list_clear(ret);
	ob_xml_free(doc);
	free(next);
	ob_aws_params_clear(&p);
	return rc;
}

/* ---- account quotas (alerts: the manual snapshot quota) ---------------- */

/* A quota figure: an integer in 0..OB_RDS_QUOTA_MAX_VALUE (strtoll would
 * take blanks, a sign and overflow silently). */
static int parse_quota_value(const char *t, long long *ret)
{
	long long v = 0;
	size_t i;

	if (t == NULL || t[0] == '\0' || strlen(t) > 13)
		return -1;
	for (i = 0; t[i] != '\0'; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		v = v * 10 + (t[i] - '0');
	}
	if (v > OB_RDS_QUOTA_MAX_VALUE)
		return -1;
	*ret = v;
	return 0;
}

int ob_rds_parse_account_quotas(const struct ob_xml_doc *doc, struct ob_rds_quota *q, size_t n,
				struct ob_error *err)
{
	const struct ob_xml_node *result, *n_quota;
	const char *name;
	size_t i;

	for (i = 0; i < n; i++) {
		q[i].found = false;
		q[i].used = q[i].max = 0;
	}
	result = result_of(doc, "DescribeAccountAttributes");
	if (result == NULL)
		return ob_error_set(err, OB_ERR_PARSE,
				    "DescribeAccountAttributes: no DescribeAccountAttributesResult");
	for (n_quota = ob_xml_path(result, "AccountQuotas/AccountQuota"); n_quota != NULL;
	     n_quota = ob_xml_next(n_quota, "AccountQuota")) {
		name = ob_xml_path_text(n_quota, "AccountQuotaName");
		for (i = 0; name != NULL && i < n; i++) {
			if (q[i].name == NULL || strcmp(q[i].name, name) != 0)
				continue;
			if (q[i].found) {
				ob_error_set(err, OB_ERR_PARSE, "DescribeAccountAttributes: "
					     "quota %s listed twice", q[i].name);
				goto bad;
			}
			if (parse_quota_value(ob_xml_path_text(n_quota, "Used"), &q[i].used) < 0 ||
			    parse_quota_value(ob_xml_path_text(n_quota, "Max"), &q[i].max) < 0) {
				ob_error_set(err, OB_ERR_PARSE, "DescribeAccountAttributes: quota %s "
					     "without a usable Used and Max (0..%lld)", q[i].name,
					     OB_RDS_QUOTA_MAX_VALUE);
				goto bad;
			}
			q[i].found = true;
		}
	}
	return 0;
bad:
	for (i = 0; i < n; i++) {
		q[i].found = false;
		q[i].used = q[i].max = 0;
	}
	return -1;
}

int ob_rds_account_quotas(struct ob_aws *aws, struct ob_rds_quota *q, size_t n,
			  struct ob_error *err)
{
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	int rc = -1;

	ob_aws_params_init(&p, "DescribeAccountAttributes", RDS_VERSION);
	if (ob_aws_query(aws, "rds", &p, &doc, err) == 0)
		rc = ob_rds_parse_account_quotas(doc, q, n, err);
	ob_xml_free(doc);
	ob_aws_params_clear(&p);
	return rc;
}
