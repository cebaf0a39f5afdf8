/*
 * sns.c - Amazon SNS Publish (Query protocol, version 2010-03-31).
 *
 * The source role announces each finished export copy by publishing to the
 * vault's topic; the MessageId in the answer is the only proof SNS took it.
 */
#include "ob/sns.h"

#include <stdio.h>
#include <string.h>

#define SNS_VERSION "2010-03-31"
#define MAX_SUBJECT 100 /* SNS: under 100 characters, no line breaks */

/* SNS refuses subjects with control characters (line breaks included). */
static int subject_ok(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > MAX_SUBJECT)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* MessageAttribute names: SNS allows letters, digits, _ - . (not first
 * or last, no "..") up to 256; ours are plain words, so take the simple
 * subset. */
static int attr_name_ok(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0, i;

	if (len == 0 || len > 256)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int ob_sns_publish(struct ob_aws *aws, const char *topic_arn, const char *message,
		   const char *subject, char *ret_message_id, size_t size,
		   struct ob_error *err)
{
	return ob_sns_publish_attrs(aws, topic_arn, message, subject, NULL, 0, ret_message_id,
				    size, err);
}

int ob_sns_publish_attrs(struct ob_aws *aws, const char *topic_arn, const char *message,
			 const char *subject, const struct ob_sns_attr *attrs, size_t n,
			 char *ret_message_id, size_t size, struct ob_error *err)
{
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	const char *id;
	size_t len, i;
	int rc = -1;

	if (ret_message_id != NULL && size > 0)
		ret_message_id[0] = '\0';
	if (topic_arn == NULL || topic_arn[0] == '\0')
		return ob_error_set(err, OB_ERR_INVALID, "Publish: no topic");
	len = message != NULL ? strlen(message) : 0;
	if (len == 0 || len > OB_SNS_MAX_MESSAGE)
		return ob_error_set(err, OB_ERR_INVALID, "Publish: message of %zu bytes "
				    "(1..%d allowed)", len, OB_SNS_MAX_MESSAGE);
	if (subject != NULL && !subject_ok(subject))
		return ob_error_set(err, OB_ERR_INVALID, "Publish: subject must be 1..%d "
				    "characters without control characters", MAX_SUBJECT);
	if (n > OB_SNS_MAX_ATTRIBUTES || (n > 0 && attrs == NULL))
		return ob_error_set(err, OB_ERR_INVALID, "Publish: at most %d message attributes",
				    OB_SNS_MAX_ATTRIBUTES);
	for (i = 0; i < n; i++)
		if (!attr_name_ok(attrs[i].name) || attrs[i].value == NULL ||
		    attrs[i].value[0] == '\0')
			return ob_error_set(err, OB_ERR_INVALID, "Publish: message attribute %zu "
					    "needs a name of letters, digits, _ and a value", i + 1);
	ob_aws_params_init(&p, "Publish", SNS_VERSION);
	ob_aws_param(&p, "TopicArn", topic_arn);
	ob_aws_param(&p, "Message", message);
	if (subject != NULL)
		ob_aws_param(&p, "Subject", subject);
	for (i = 0; i < n; i++) {
		ob_aws_paramf(&p, attrs[i].name, "MessageAttributes.entry.%zu.Name", i + 1);
		ob_aws_paramf(&p, "String", "MessageAttributes.entry.%zu.Value.DataType", i + 1);
		ob_aws_paramf(&p, attrs[i].value, "MessageAttributes.entry.%zu.Value.StringValue",
			      i + 1);
	}
	if (ob_aws_query(aws, "sns", &p, &doc, err) < 0)
		goto out;
	id = ob_xml_path_text(ob_xml_root(doc), "PublishResult/MessageId");
	if (id == NULL || id[0] == '\0') {
		ob_error_set(err, OB_ERR_PARSE, "Publish: no MessageId in the answer");
		goto out;
	}
	if (ret_message_id != NULL && size > 0)
		snprintf(ret_message_id, size, "%s", id);
	rc = 0;
out:
	ob_xml_free(doc);
	ob_aws_params_clear(&p);
	return rc;
}
