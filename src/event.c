/*
 * event.c - turns one SQS message body, an EventBridge event, into "this
 * snapshot", "not for us" or "malformed" (see ob/event.h).
 *
 * The body comes from a queue anyone with sqs:SendMessage can write to, so
 * it is parsed as hostile: a size cap before jansson sees it, duplicate keys
 * refused (two parsers could otherwise disagree on which value counts), and
 * the snapshot ARN held to ob_ident_parse_snapshot_arn() and to the kind the
 * event names. The reason written for the log is always one of the fixed
 * strings below and never quotes the body; `what` quotes at most a short,
 * printable-only piece of an event type or state.
 */
#include "ob/event.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ob/ident.h"

#define BODY_MAX (256 * 1024) /* the SQS message size limit */

#define RDS_SNAPSHOT_TYPE "RDS DB Snapshot Event"
#define RDS_CLUSTER_TYPE  "RDS DB Cluster Snapshot Event"
#define BACKUP_TYPE       "Backup Job State Change"

/* The RDS events that mean "a snapshot is ready to copy". */
static const char *const instance_events[] = {
	"RDS-EVENT-0042", /* manual snapshot created */
	"RDS-EVENT-0091", /* automated snapshot created */
	"RDS-EVENT-0197", /* snapshot copy finished */
	NULL,
};
static const char *const cluster_events[] = {
	"RDS-EVENT-0075", /* manual cluster snapshot created */
	"RDS-EVENT-0169", /* automated cluster snapshot created */
	NULL,
};

static enum ob_event_result set_result(struct ob_event *ev, enum ob_event_result r,
				       const char *reason)
{
	ev->result = r;
	snprintf(ev->reason, sizeof(ev->reason), "%s", reason);
	return r;
}

/* ev->what = prefix + s, cut to fit, bytes outside printable ASCII as '?'
 * so the log line stays one line of text. */
static void set_what(struct ob_event *ev, const char *prefix, const char *s)
{
	size_t n = strlen(prefix), i;

	snprintf(ev->what, sizeof(ev->what), "%s", prefix);
	for (i = 0; s[i] != '\0' && n + 1 < sizeof(ev->what); i++, n++) {
		unsigned char c = (unsigned char)s[i];

		ev->what[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	ev->what[n] = '\0';
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* A string member, or NULL when absent or of another type. */
static const char *member_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The ARN from resources[0]: resources must be a non-empty array of
 * strings. NULL + *ret_reason otherwise. */
static const char *resources_arn(const json_t *root, const char **ret_reason)
{
	const json_t *res = json_object_get(root, "resources");
	size_t i;

	if (res == NULL) {
		*ret_reason = "resources missing";
		return NULL;
	}
	if (!json_is_array(res) || json_array_size(res) == 0) {
		*ret_reason = "resources not a non-empty array";
		return NULL;
	}
	for (i = 0; i < json_array_size(res); i++) {
		if (!json_is_string(json_array_get(res, i))) {
			*ret_reason = i == 0 ? "resources[0] not a string"
				      : "resources holds a non-string";
			return NULL;
		}
	}
	return json_string_value(json_array_get(res, 0));
}

/* Check arn (from field, a short literal for the log) against the kind
 * the event names and store it: SNAPSHOT or MALFORMED. */
static enum ob_event_result take_arn(struct ob_event *ev, const char *field,
				     const json_t *str, enum ob_snap_kind want)
{
	struct ob_snapshot_ref ref;
	const char *arn = json_string_value(str);
	size_t len = json_string_length(str);
	char reason[sizeof(ev->reason)];

	/* jansson refuses \u0000 without JSON_ALLOW_NUL; checked anyway, since
	 * an ARN cut at a NUL would name another snapshot. */
	if (arn == NULL || strlen(arn) != len) {
		snprintf(reason, sizeof(reason), "%s not a string", field);
		return set_result(ev, OB_EVENT_MALFORMED, reason);
	}
	if (ob_ident_parse_snapshot_arn(arn, &ref, NULL) < 0) {
		snprintf(reason, sizeof(reason), "%s not an RDS snapshot ARN", field);
		return set_result(ev, OB_EVENT_MALFORMED, reason);
	}
	if (ref.kind != want) {
		snprintf(reason, sizeof(reason), "%s names a %s snapshot, the event %s one", field,
			 ref.kind == OB_SNAP_CLUSTER ? "cluster" : "instance",
			 want == OB_SNAP_CLUSTER ? "a cluster" : "an instance");
		return set_result(ev, OB_EVENT_MALFORMED, reason);
	}
	/* ob_ident_parse_snapshot_arn() caps it at OB_AWSID_ARN_MAX */
	memcpy(ev->snapshot_arn, arn, len + 1);
	ev->kind = want;
	ev->result = OB_EVENT_SNAPSHOT;
	ev->reason[0] = '\0';
	return OB_EVENT_SNAPSHOT;
}

static enum ob_event_result parse_rds(struct ob_event *ev, const json_t *root,
				      const json_t *detail, enum ob_snap_kind kind)
{
	const json_t *arn;
	const char *id, *reason = NULL;

	id = member_string(detail, "EventID");
	if (id == NULL)
		return set_result(ev, OB_EVENT_MALFORMED, "detail.EventID missing or not a string");
	set_what(ev, "", id);
	if (!in_list(id, kind == OB_SNAP_CLUSTER ? cluster_events : instance_events))
		return set_result(ev, OB_EVENT_IGNORED, "EventID not one the daemon acts on");
	arn = json_object_get(detail, "SourceArn");
	if (arn != NULL)
		return take_arn(ev, "detail.SourceArn", arn, kind);
	if (resources_arn(root, &reason) == NULL)
		return set_result(ev, OB_EVENT_MALFORMED, reason);
	return take_arn(ev, "resources[0]", json_array_get(json_object_get(root, "resources"), 0),
			kind);
}

static enum ob_event_result parse_backup(struct ob_event *ev, const json_t *root,
					 const json_t *detail)
{
	const char *state, *type, *reason = NULL;
	enum ob_snap_kind kind;
	const json_t *rp;

	state = member_string(detail, "state");
	type = member_string(detail, "resourceType");
	if (state == NULL)
		return set_result(ev, OB_EVENT_MALFORMED, "detail.state missing or not a string");
	if (type == NULL)
		return set_result(ev, OB_EVENT_MALFORMED,
				  "detail.resourceType missing or not a string");
	set_what(ev, "backup ", state);
	if (strcmp(state, "COMPLETED") != 0)
		return set_result(ev, OB_EVENT_IGNORED, "backup job state is not COMPLETED");
	if (strcmp(type, "RDS") == 0)
		kind = OB_SNAP_INSTANCE;
	else if (strcmp(type, "Aurora") == 0)
		kind = OB_SNAP_CLUSTER;
	else
		return set_result(ev, OB_EVENT_IGNORED, "backup resourceType is not RDS or Aurora");
	/* The shape has the recovery point (the snapshot ARN) in
	 * resources[0]; AWS Backup may instead list the protected database
	 * there and put the snapshot in detail.recoveryPointArn. Take the
	 * first of the two that names a snapshot of the right kind. */
	rp = json_object_get(detail, "recoveryPointArn");
	if (json_object_get(root, "resources") != NULL) {
		if (resources_arn(root, &reason) != NULL) {
			enum ob_event_result r = take_arn(ev, "resources[0]",
				json_array_get(json_object_get(root, "resources"), 0), kind);

			if (r == OB_EVENT_SNAPSHOT || rp == NULL)
				return r;
		} else if (rp == NULL) {
			return set_result(ev, OB_EVENT_MALFORMED, reason);
		}
	} else if (rp == NULL) {
		return set_result(ev, OB_EVENT_MALFORMED,
				  "resources and detail.recoveryPointArn missing");
	}
	return take_arn(ev, "detail.recoveryPointArn", rp, kind);
}

static enum ob_event_result parse_root(struct ob_event *ev, const json_t *root)
{
	const char *type, *source;
	const json_t *detail;
	bool backup;
	enum ob_snap_kind kind = OB_SNAP_INSTANCE;

	if (!json_is_object(root))
		return set_result(ev, OB_EVENT_MALFORMED, "not a JSON object");
	type = member_string(root, "detail-type");
	if (type == NULL)
		return set_result(ev, OB_EVENT_MALFORMED, "detail-type missing or not a string");
	source = member_string(root, "source");
	if (source == NULL)
		return set_result(ev, OB_EVENT_MALFORMED, "source missing or not a string");
	set_what(ev, "", type);
	if (strcmp(type, RDS_SNAPSHOT_TYPE) == 0) {
		backup = false;
	} else if (strcmp(type, RDS_CLUSTER_TYPE) == 0) {
		backup = false;
		kind = OB_SNAP_CLUSTER;
	} else if (strcmp(type, BACKUP_TYPE) == 0) {
		backup = true;
	} else {
		return set_result(ev, OB_EVENT_IGNORED, "detail-type not one the daemon acts on");
	}
	/* Someone else's event under a familiar name: not ours to judge. */
	if (strcmp(source, backup ? "aws.backup" : "aws.rds") != 0)
		return set_result(ev, OB_EVENT_IGNORED,
				  backup ? "source is not aws.backup" : "source is not aws.rds");
	detail = json_object_get(root, "detail");
	if (!json_is_object(detail))
		return set_result(ev, OB_EVENT_MALFORMED, "detail missing or not an object");
	return backup ? parse_backup(ev, root, detail) : parse_rds(ev, root, detail, kind);
}

enum ob_event_result ob_event_parse(const char *body, size_t len, struct ob_event *ret)
{
	json_error_t jerr;
	json_t *root;
	enum ob_event_result r;

	memset(ret, 0, sizeof(*ret));
	ret->kind = OB_SNAP_INSTANCE;
	if (body == NULL)
		return set_result(ret, OB_EVENT_MALFORMED, "no body");
	if (len > BODY_MAX)
		return set_result(ret, OB_EVENT_MALFORMED, "body larger than 256 KiB");
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		/* jerr.text may quote the body: only its code is used. */
		switch (json_error_code(&jerr)) {
		case json_error_duplicate_key:
			return set_result(ret, OB_EVENT_MALFORMED, "duplicate key in JSON");
		case json_error_stack_overflow:
			return set_result(ret, OB_EVENT_MALFORMED, "JSON nested too deeply");
		case json_error_out_of_memory:
			return set_result(ret, OB_EVENT_MALFORMED, "out of memory parsing JSON");
		default:
			return set_result(ret, OB_EVENT_MALFORMED, "not valid JSON");
		}
	}
	r = parse_root(ret, root);
	json_decref(root);
	return r;
}

const char *ob_event_result_name(enum ob_event_result r)
{
	switch (r) {
	case OB_EVENT_SNAPSHOT: return "snapshot";
	case OB_EVENT_IGNORED: return "ignored";
	case OB_EVENT_MALFORMED: return "malformed";
	}
	return "unknown";
}
