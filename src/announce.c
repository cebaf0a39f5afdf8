/*
 * announce.c - the announcement the source publishes to the vault (DESIGN.md
 * section 5, schema "offsite-backup/1"; see ob/announce.h): written by the
 * source, read back by the vault from its queue.
 *
 * jansson builds, escapes and parses the document; this file fixes the key
 * order (schema first, then the order of the design) and judges each field
 * alone. Writing refuses what the vault could not use (an empty or
 * non-UTF-8 string, a negative size, a time that does not print as
 * "YYYY-MM-DDTHH:MM:SSZ"). Reading takes the document raw or inside the SNS
 * envelope and refuses anything but exactly that shape. Every message and
 * reason names the field and the fault, never the value: the body comes
 * from outside and the reason goes to the log.
 */
#include "ob/announce.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ob/awsid.h"
#include "ob/clock.h"
#include "ob/ident.h"

#define TIME_LEN 20 /* "2026-11-22T05:03:11Z" */
#define BODY_MAX ((size_t)256 * 1024)
#define STORAGE_MAX 65536 /* GiB; RDS allocates at most 64 TiB */
#define DB_ID_MAX 255
#define ENGINE_MAX 64
#define SHORT_MAX 64      /* kind, account, region, time: the checks bound them further */

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

/* ---- reading ---- */

/* Where a refusal's reason goes: the caller's buffer, maybe NULL/0. */
struct why {
	char *buf;
	size_t size;
};

/* Format the reason; always -1. fmt and its arguments are static texts,
 * field names and numbers, never message content. */
__attribute__((format(printf, 2, 3)))
static int refuse(struct why *w, const char *fmt, ...)
{
	va_list ap;

	if (w->buf == NULL || w->size == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(w->buf, w->size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Why jansson refused a document. Its own text cannot be used: it quotes
 * the input ("invalid token near '...'"), and the input may hold anything. */
static const char *load_fault(const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_out_of_memory: return "cannot be parsed: out of memory";
	case json_error_stack_overflow: return "is nested too deeply";
	case json_error_invalid_utf8: return "is not UTF-8";
	case json_error_premature_end_of_input: return "ends before the JSON does";
	case json_error_end_of_input_expected: return "goes on after the JSON";
	case json_error_null_character:
	case json_error_null_byte_in_key: return "holds a NUL character";
	case json_error_duplicate_key: return "holds a duplicate key";
	case json_error_numeric_overflow: return "holds a number too large";
	default: return "is not valid JSON";
	}
}

/* Parse what, a JSON object of at most BODY_MAX bytes. New reference, or
 * NULL + reason. */
static json_t *load_object(const char *what, const char *s, size_t n, struct why *w)
{
	json_error_t jerr;
	json_t *j;

	if (n > BODY_MAX) {
		refuse(w, "%s is larger than 256 KiB", what);
		return NULL;
	}
	j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		refuse(w, "%s %s", what, load_fault(&jerr));
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		refuse(w, "%s is not a JSON object", what);
		return NULL;
	}
	return j;
}

/* A control character: C0, DEL, or C1 (U+0080..U+009F, 0xc2 0x80..0x9f in
 * UTF-8, which jansson has checked). They would break a log line. */
static bool has_control(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9f))
			return true;
	}
	return false;
}

/* obj's member key as a string of 1..max bytes without control characters,
 * borrowed from obj; NULL + reason naming the field as label. */
static const char *get_string(json_t *obj, const char *key, const char *label, size_t max,
			      struct why *w)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n;

	if (v == NULL) {
		refuse(w, "%s is missing", label);
		return NULL;
	}
	if (!json_is_string(v)) {
		refuse(w, "%s is not a string", label);
		return NULL;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0) {
		refuse(w, "%s is empty", label);
		return NULL;
	}
	if (n > max) {
		refuse(w, "%s is longer than %zu bytes", label, max);
		return NULL;
	}
	if (has_control(s, n)) {
		refuse(w, "%s holds a control character", label);
		return NULL;
	}
	return s;
}

/* An RDS snapshot ARN of kind. ident.c's messages are fixed texts that do
 * not quote the ARN, so they may go into the reason. */
static int check_arn(const char *key, const char *arn, enum ob_snap_kind kind, struct why *w)
{
	static const char prefix[] = "snapshot ARN: ";
	struct ob_snapshot_ref ref;
	struct ob_error err;
	const char *msg;

	if (ob_ident_parse_snapshot_arn(arn, &ref, &err) < 0) {
		msg = err.message;
		if (strncmp(msg, prefix, sizeof(prefix) - 1) == 0)
			msg += sizeof(prefix) - 1;
		return refuse(w, "%s: %s", key, msg);
	}
	if (ref.kind != kind)
		return refuse(w, "%s is not a %s ARN", key, ob_snap_kind_name(kind));
	return 0;
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ", what ob_announce_build() writes:
 * ob_clock_parse_iso8601() also takes fractions, offsets, 't', ' ' and a
 * leap second, none of which the source ever sends. */
static int parse_time(const char *s, int64_t *ret)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (strlen(s) != TIME_LEN)
		return -1;
	for (i = 0; i < TIME_LEN; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return -1;
	if (s[17] > '5')
		return -1;
	return ob_clock_parse_iso8601(s, ret);
}

/* The announcement's fields from doc into in (strings copied). */
static int parse_fields(json_t *doc, struct ob_announcement_in *in, struct why *w)
{
	const struct {
		const char *key;
		size_t max;
		char **dst;
	} strings[] = {
		{ "snapshot_arn", OB_AWSID_ARN_MAX, &in->snapshot_arn },
		{ "source_snapshot_arn", OB_AWSID_ARN_MAX, &in->source_snapshot_arn },
		{ "source_account", SHORT_MAX, &in->source_account },
		{ "region", SHORT_MAX, &in->region },
		{ "db_identifier", DB_ID_MAX, &in->db_identifier },
		{ "engine", ENGINE_MAX, &in->engine },
		{ "engine_version", ENGINE_MAX, &in->engine_version },
		{ "export_kms_key", OB_AWSID_ARN_MAX, &in->export_kms_key },
	};
	const char *s;
	json_t *v;
	json_int_t gib;
	size_t i;

	v = json_object_get(doc, "schema");
	if (v == NULL)
		return refuse(w, "schema is missing");
	if (!json_is_string(v))
		return refuse(w, "schema is not a string");
	if (strcmp(json_string_value(v), OB_ANNOUNCE_SCHEMA) != 0)
		return refuse(w, "schema is not " OB_ANNOUNCE_SCHEMA);
	s = get_string(doc, "kind", "kind", SHORT_MAX, w);
	if (s == NULL)
		return -1;
	if (ob_snap_kind_parse(s, &in->kind) < 0)
		return refuse(w, "kind is not db-snapshot or db-cluster-snapshot");
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		s = get_string(doc, strings[i].key, strings[i].key, strings[i].max, w);
		if (s == NULL)
			return -1;
		*strings[i].dst = strdup(s);
		if (*strings[i].dst == NULL)
			return refuse(w, "out of memory");
	}
	if (check_arn("snapshot_arn", in->snapshot_arn, in->kind, w) < 0 ||
	    check_arn("source_snapshot_arn", in->source_snapshot_arn, in->kind, w) < 0)
		return -1;
	if (!ob_awsid_account_ok(in->source_account, strlen(in->source_account)))
		return refuse(w, "source_account is not a 12-digit account id");
	if (!ob_awsid_region_ok(in->region, strlen(in->region)))
		return refuse(w, "region is not a region name");

	v = json_object_get(doc, "allocated_storage_gib");
	if (v == NULL)
		return refuse(w, "allocated_storage_gib is missing");
	if (!json_is_integer(v))
		return refuse(w, "allocated_storage_gib is not an integer");
	gib = json_integer_value(v);
	if (gib < 0 || gib > STORAGE_MAX)
		return refuse(w, "allocated_storage_gib is not in 0..%d", STORAGE_MAX);
	in->allocated_storage_gib = (long)gib;

	s = get_string(doc, "snapshot_time", "snapshot_time", SHORT_MAX, w);
	if (s == NULL)
		return -1;
	if (parse_time(s, &in->snapshot_time) < 0)
		return refuse(w, "snapshot_time is not a valid YYYY-MM-DDTHH:MM:SSZ");
	return 0;
}

/* The SNS envelope around the announcement: Type "Notification", Message
 * the announcement's JSON, TopicArn (optional) into in->topic_arn. The
 * parsed Message into *ret_doc (new reference). */
static int open_envelope(json_t *env, struct ob_announcement_in *in, json_t **ret_doc,
			 struct why *w)
{
	json_t *v;

	v = json_object_get(env, "Type");
	if (!json_is_string(v))
		return refuse(w, "envelope Type is not a string");
	/* SubscriptionConfirmation and UnsubscribeConfirmation carry a URL to
	 * visit; the vault subscribes through its own API calls and never
	 * follows one from a message. */
	if (strcmp(json_string_value(v), "Notification") != 0)
		return refuse(w, "envelope Type is not Notification");
	if (json_object_get(env, "TopicArn") != NULL) {
		const char *arn = get_string(env, "TopicArn", "envelope TopicArn",
					     OB_AWSID_ARN_MAX, w);

		if (arn == NULL)
			return -1;
		in->topic_arn = strdup(arn);
		if (in->topic_arn == NULL)
			return refuse(w, "out of memory");
	}
	v = json_object_get(env, "Message");
	if (v == NULL)
		return refuse(w, "envelope Message is missing");
	if (!json_is_string(v))
		return refuse(w, "envelope Message is not a string");
	*ret_doc = load_object("envelope Message", json_string_value(v), json_string_length(v), w);
	if (*ret_doc == NULL)
		return -1;
	if (json_object_get(*ret_doc, "Type") != NULL)
		return refuse(w, "envelope Message is another envelope");
	return 0;
}

int ob_announce_parse(const char *body, size_t len, struct ob_announcement_in *ret,
		      char *reason, size_t size)
{
	struct why w = { reason, size };
	struct ob_announcement_in in;
	json_t *outer = NULL, *inner = NULL;
	int rc = -1;

	memset(&in, 0, sizeof(in));
	if (reason != NULL && size > 0)
		reason[0] = '\0';
	if (ret == NULL)
		return refuse(&w, "no announcement to fill");
	memset(ret, 0, sizeof(*ret));
	if (body == NULL) {
		refuse(&w, "body is missing");
		goto out;
	}
	/* load_object() refuses a body over 256 KiB before jansson reads it. */
	outer = load_object("body", body, len, &w);
	if (outer == NULL)
		goto out;
	/* "Type" marks the SNS envelope; a raw announcement never has one. */
	if (json_object_get(outer, "Type") != NULL &&
	    open_envelope(outer, &in, &inner, &w) < 0)
		goto out;
	if (parse_fields(inner != NULL ? inner : outer, &in, &w) < 0)
		goto out;
	if (in.topic_arn == NULL && (in.topic_arn = strdup("")) == NULL) {
		refuse(&w, "out of memory");
		goto out;
	}
	*ret = in;
	memset(&in, 0, sizeof(in));
	rc = 0;
out:
	ob_announce_clear(&in);
	json_decref(inner);
	json_decref(outer);
	return rc;
}

void ob_announce_clear(struct ob_announcement_in *a)
{
	if (a == NULL)
		return;
	free(a->snapshot_arn);
	free(a->source_snapshot_arn);
	free(a->source_account);
	free(a->region);
	free(a->db_identifier);
	free(a->engine);
	free(a->engine_version);
	free(a->export_kms_key);
	free(a->topic_arn);
	memset(a, 0, sizeof(*a));
}
