/*
 * ob/sns.h - Amazon SNS (AWS Query protocol, version 2010-03-31).
 *
 * Publish only: the source role hands each finished export copy to the
 * vault by publishing its announcement to the vault's topic, and both roles
 * publish their alerts (with MessageAttributes) to the alert topic.
 */
#ifndef OB_SNS_H
#define OB_SNS_H

#include <stddef.h>

#include "ob/aws.h"

#define OB_SNS_MAX_MESSAGE (256 * 1024) /* SNS's own limit, in bytes */

/* sns:Publish message (UTF-8, at most OB_SNS_MAX_MESSAGE bytes) to
 * topic_arn, with subject (NULL for none). When ret_message_id is not NULL
 * it receives the MessageId (size bytes, truncated, NUL-terminated). 0, or
 * -1 + err: OB_ERR_INVALID for an empty or oversized message or a missing
 * topic, the AWS error, OB_ERR_PARSE when the answer has no MessageId. */
int ob_sns_publish(struct ob_aws *aws, const char *topic_arn, const char *message,
		   const char *subject, char *ret_message_id, size_t size,
		   struct ob_error *err);

#define OB_SNS_MAX_ATTRIBUTES 10 /* SNS's limit per message */

/* A String message attribute (subscription filter policies match these). */
struct ob_sns_attr {
	const char *name;  /* borrowed; 1..256 of [A-Za-z0-9_.-] */
	const char *value; /* borrowed; non-empty */
};

/* ob_sns_publish() with up to OB_SNS_MAX_ATTRIBUTES String
 * MessageAttributes (attrs may be NULL when n is 0). OB_ERR_INVALID for a
 * bad name, an empty value or too many. */
int ob_sns_publish_attrs(struct ob_aws *aws, const char *topic_arn, const char *message,
			 const char *subject, const struct ob_sns_attr *attrs, size_t n,
			 char *ret_message_id, size_t size, struct ob_error *err);

#endif
