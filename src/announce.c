/*
 * announce.c - writes the announcement the source publishes to the vault
 * (DESIGN.md section 5, schema "offsite-backup/1"; see ob/announce.h).
 *
 * jansson builds and escapes the document; this file only fixes the key
 * order (schema first, then the order of the design) and refuses fields the
 * vault could not use: an empty or non-UTF-8 string, a negative size or a
 * time that does not print as "YYYY-MM-DDTHH:MM:SSZ". Error messages name
 * the field, never its value.
 */
#include "ob/announce.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define TIME_LEN 20 /* "2026-11-22T05:03:11Z" */

/* A JSON string for field, or NULL + err. */
static json_t *field_string(const char *field, const char *s, struct ob_error *err)
{
	json_t *j;

	if (s == NULL || s[0] == '\0') {
		ob_error_set(err, OB_ERR_INVALID, "announcement: %s is empty", field);
		return NULL;
	}
	/* json_stringn() checks UTF-8 and also fails on memory; tell them apart
	 * with jansson's own validator so the error says which. */
	j = json_stringn(s, strlen(s));
	if (j == NULL) {
		json_t *probe = json_string_nocheck("");

		if (probe == NULL)
			ob_error_set(err, OB_ERR_NOMEM, "announcement: out of memory");
		else
			ob_error_set(err, OB_ERR_INVALID, "announcement: %s is not UTF-8", field);
		json_decref(probe);
	}
	return j;
}

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (UTC). 0, or -1 outside years
 * 0..9999 or before 1970. */
static int format_time(int64_t t, char out[TIME_LEN + 1])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t < 0 || (int64_t)tt != t || gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return -1;
	return strftime(out, TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) == TIME_LEN ? 0 : -1;
}

char *ob_announce_build(const struct ob_announcement *a, struct ob_error *err)
{
	const struct {
		const char *key;
		const char *value;
	} strings[] = {
		{ "snapshot_arn", a != NULL ? a->snapshot_arn : NULL },
		{ "source_snapshot_arn", a != NULL ? a->source_snapshot_arn : NULL },
		{ "source_account", a != NULL ? a->source_account : NULL },
		{ "region", a != NULL ? a->region : NULL },
		{ "db_identifier", a != NULL ? a->db_identifier : NULL },
		{ "engine", a != NULL ? a->engine : NULL },
		{ "engine_version", a != NULL ? a->engine_version : NULL },
	};
	char when[TIME_LEN + 1];
	const char *kind;
	json_t *doc = NULL, *v;
	char *out = NULL;
	size_t i;

	if (a == NULL) {
		ob_error_set(err, OB_ERR_INVALID, "announcement: none given");
		goto out;
	}
	kind = a->kind == OB_SNAP_INSTANCE || a->kind == OB_SNAP_CLUSTER
	       ? ob_snap_kind_name(a->kind) : NULL;
	if (kind == NULL) {
		ob_error_set(err, OB_ERR_INVALID, "announcement: kind is unknown");
		goto out;
	}
	if (a->allocated_storage_gib < 0) {
		ob_error_set(err, OB_ERR_INVALID, "announcement: allocated_storage_gib is negative");
		goto out;
	}
	if (format_time(a->snapshot_time, when) < 0) {
		ob_error_set(err, OB_ERR_INVALID, "announcement: snapshot_time is out of range");
		goto out;
	}
	doc = json_object();
	if (doc == NULL || json_object_set_new(doc, "schema", json_string(OB_ANNOUNCE_SCHEMA)) < 0 ||
	    json_object_set_new(doc, "kind", json_string(kind)) < 0)
		goto nomem;
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		v = field_string(strings[i].key, strings[i].value, err);
		if (v == NULL)
			goto out;
		if (json_object_set_new(doc, strings[i].key, v) < 0)
			goto nomem;
	}
	if (json_object_set_new(doc, "allocated_storage_gib",
				json_integer((json_int_t)a->allocated_storage_gib)) < 0 ||
	    json_object_set_new(doc, "snapshot_time", json_string(when)) < 0)
		goto nomem;
	v = field_string("export_kms_key", a->export_kms_key, err);
	if (v == NULL)
		goto out;
	if (json_object_set_new(doc, "export_kms_key", v) < 0)
		goto nomem;
	out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (out == NULL)
		goto nomem;
	goto out;
nomem:
	ob_error_set(err, OB_ERR_NOMEM, "announcement: out of memory");
out:
	json_decref(doc);
	return out;
}
