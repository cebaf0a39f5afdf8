/*
 * ob/event.h - the EventBridge events the source role consumes.
 *
 * A pure parser from an SQS message body to "this snapshot", "not for us"
 * or "malformed". It accepts, tolerating unknown extra fields:
 *  - "RDS DB Snapshot Event" (source aws.rds), EventID RDS-EVENT-0042
 *    (manual created), -0091 (automated created), -0197 (copy finished);
 *    the ARN in detail.SourceArn, else resources[0];
 *  - "RDS DB Cluster Snapshot Event" (aws.rds), RDS-EVENT-0075 (manual),
 *    -0169 (automated); ARN as above;
 *  - "Backup Job State Change" (aws.backup) with detail.state COMPLETED and
 *    detail.resourceType RDS or Aurora; the recovery point ARN is
 *    resources[0].
 * Any other well-formed event is ignored (the caller deletes it). A body
 * that is not a JSON object, lacks detail-type/source, or lacks a field its
 * type requires (or carries it with the wrong type, or an ARN that is not an
 * RDS snapshot of the kind the event names) is malformed: the caller leaves
 * it for the dead-letter queue.
 */
#ifndef OB_EVENT_H
#define OB_EVENT_H

#include <stddef.h>

#include "ob/awsid.h"
#include "ob/rds.h"

enum ob_event_result {
	OB_EVENT_SNAPSHOT = 0, /* a snapshot to consider: kind + snapshot_arn */
	OB_EVENT_IGNORED,      /* a valid event the daemon does not act on */
	OB_EVENT_MALFORMED,    /* not an event, or a required field missing */
};

struct ob_event {
	enum ob_event_result result;
	enum ob_snap_kind kind;
	char snapshot_arn[OB_AWSID_ARN_MAX + 1];
	char what[48];    /* "RDS-EVENT-0042", "backup COMPLETED", or the detail-type (cut) */
	char reason[160]; /* ignored/malformed: why, for the log; no message content */
};

/* Parse body (len bytes, need not be NUL-terminated; at most 256 KiB is
 * looked at, anything longer is malformed). Always fills *ret; returns
 * ret->result. */
enum ob_event_result ob_event_parse(const char *body, size_t len, struct ob_event *ret);

/* "snapshot", "ignored", "malformed". */
const char *ob_event_result_name(enum ob_event_result r);

#endif
