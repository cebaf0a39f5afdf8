/*
 * sqs.c - Amazon SQS requests and responses (JSON 1.0, target AmazonSQS.*).
 */
#include "ob/sqs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static int json_set(json_t *obj, const char *key, json_t *value)
{
	/* json_object_set_new steals value even on failure. */
	return value == NULL || json_object_set_new(obj, key, value) < 0 ? -1 : 0;
}

static int md5_matches(const char *body, size_t len, const char *expected_hex)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;
	char out[2 * EVP_MAX_MD_SIZE + 1];

	if (expected_hex == NULL ||
	    EVP_Digest(body, len, md, &md_len, EVP_md5(), NULL) != 1)
		return 0;
	for (i = 0; i < md_len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * md_len] = '\0';
	return strcmp(out, expected_hex) == 0;
}

static long attr_long(json_t *attrs, const char *name)
{
	const char *s = json_string_value(json_object_get(attrs, name));
	char *end;
	long long v;

	if (s == NULL)
		return 0;
	v = strtoll(s, &end, 10);
	return *end == '\0' && end != s && v >= 0 ? (long)v : 0;
}

static int take_message(json_t *m, struct ob_sqs_message *out)
{
	json_t *id = json_object_get(m, "MessageId");
	json_t *rh = json_object_get(m, "ReceiptHandle");
	json_t *body = json_object_get(m, "Body");
	json_t *attrs = json_object_get(m, "Attributes");
	size_t len;

	if (!json_is_string(id) || !json_is_string(rh) || !json_is_string(body) ||
	    json_string_length(rh) == 0)
		return -1;
	len = json_string_length(body);
	if (len > OB_SQS_MAX_BODY)
		return -1;
	memset(out, 0, sizeof(*out));
	out->message_id = strdup(json_string_value(id));
	out->receipt_handle = strdup(json_string_value(rh));
	out->body = malloc(len + 1);
	if (out->message_id == NULL || out->receipt_handle == NULL || out->body == NULL) {
		free(out->message_id);
		free(out->receipt_handle);
		free(out->body);
		memset(out, 0, sizeof(*out));
		return -2;
	}
	memcpy(out->body, json_string_value(body), len);
	out->body[len] = '\0';
	out->body_len = len;
	out->md5_ok = md5_matches(out->body, len,
				  json_string_value(json_object_get(m, "MD5OfBody")));
	if (json_is_object(attrs)) {
		out->receive_count = attr_long(attrs, "ApproximateReceiveCount");
		out->sent_ms = attr_long(attrs, "SentTimestamp");
	}
	return 0;
}

int ob_sqs_receive(struct ob_aws *aws, const char *queue_url, int max, int wait_s,
		   int visibility_s, struct ob_sqs_batch *ret, struct ob_error *err)
{
	json_t *req, *resp = NULL, *msgs, *names;
	size_t i, n;
	int rc = -1, r;

	memset(ret, 0, sizeof(*ret));
	if (max < 1 || max > 10 || wait_s < 0 || wait_s > 20 || visibility_s < 0 ||
	    visibility_s > 43200)
		return ob_error_set(err, OB_ERR_INVALID, "ReceiveMessage: parameters out of range");
	req = json_object();
	names = json_array();
	if (req == NULL || names == NULL ||
	    json_array_append_new(names, json_string("ApproximateReceiveCount")) < 0 ||
	    json_array_append_new(names, json_string("SentTimestamp")) < 0 ||
	    json_set(req, "QueueUrl", json_string(queue_url)) < 0 ||
	    json_set(req, "MaxNumberOfMessages", json_integer(max)) < 0 ||
	    json_set(req, "WaitTimeSeconds", json_integer(wait_s)) < 0 ||
	    (visibility_s > 0 &&
	     json_set(req, "VisibilityTimeout", json_integer(visibility_s)) < 0)) {
		json_decref(names);
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (json_set(req, "MessageSystemAttributeNames", names) < 0) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (ob_aws_json(aws, "sqs", "AmazonSQS.ReceiveMessage", req, &resp, err) < 0)
		goto out;
	msgs = json_object_get(resp, "Messages");
	if (msgs == NULL || json_is_null(msgs)) {
		rc = 0;
		goto out;
	}
	if (!json_is_array(msgs) || json_array_size(msgs) > 10) {
		ob_error_set(err, OB_ERR_PARSE, "ReceiveMessage: Messages is not a list of at most 10");
		goto out;
	}
	n = json_array_size(msgs);
	ret->msgs = calloc(n ? n : 1, sizeof(*ret->msgs));
	if (ret->msgs == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		r = take_message(json_array_get(msgs, i), &ret->msgs[ret->n]);
		if (r == -2) {
			ob_error_set(err, OB_ERR_NOMEM, "out of memory");
			ob_sqs_batch_clear(ret);
			goto out;
		}
		if (r < 0)
			ret->n_malformed++;
		else
			ret->n++;
	}
	rc = 0;
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

void ob_sqs_batch_clear(struct ob_sqs_batch *batch)
{
	size_t i;

	if (batch == NULL)
		return;
	for (i = 0; i < batch->n; i++) {
		free(batch->msgs[i].message_id);
		free(batch->msgs[i].receipt_handle);
		free(batch->msgs[i].body);
	}
	free(batch->msgs);
	memset(batch, 0, sizeof(*batch));
}

static int simple_call(struct ob_aws *aws, const char *target, json_t *req,
		       struct ob_error *err)
{
	json_t *resp = NULL;
	int rc;

	if (req == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	rc = ob_aws_json(aws, "sqs", target, req, &resp, err);
	json_decref(resp);
	json_decref(req);
	return rc;
}

int ob_sqs_delete(struct ob_aws *aws, const char *queue_url, const char *receipt_handle,
		  struct ob_error *err)
{
	return simple_call(aws, "AmazonSQS.DeleteMessage",
			   json_pack("{s:s, s:s}", "QueueUrl", queue_url,
				     "ReceiptHandle", receipt_handle), err);
}

int ob_sqs_change_visibility(struct ob_aws *aws, const char *queue_url,
			     const char *receipt_handle, int timeout_s,
			     struct ob_error *err)
{
	if (timeout_s < 0 || timeout_s > 43200)
		return ob_error_set(err, OB_ERR_INVALID, "visibility timeout out of range");
	return simple_call(aws, "AmazonSQS.ChangeMessageVisibility",
			   json_pack("{s:s, s:s, s:i}", "QueueUrl", queue_url,
				     "ReceiptHandle", receipt_handle,
				     "VisibilityTimeout", timeout_s), err);
}

/* Mark in seen[] (n entries) the entry whose Id the answer's element e
 * names: the Ids are the decimal indexes sent, so anything else (another
 * spelling, out of range, not a string) matches nothing. */
static void note_entry(json_t *e, size_t n, unsigned char *seen)
{
	const char *id = json_string_value(json_object_get(e, "Id"));
	char want[24];
	size_t i;

	if (id == NULL)
		return;
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%zu", i);
		if (strcmp(id, want) == 0) {
			if (seen[i] < 2)
				seen[i]++;
			return;
		}
	}
}

/* Absent, null or a list of at most one batch. */
static int list_ok(json_t *l)
{
	return l == NULL || json_is_null(l) || (json_is_array(l) && json_array_size(l) <= 10);
}

int ob_sqs_delete_batch(struct ob_aws *aws, const char *queue_url,
			const char *const *receipt_handles, size_t n, bool *ret_ok,
			struct ob_error *err)
{
	unsigned char ok[10] = { 0 }, failed[10] = { 0 };
	json_t *req = NULL, *entries, *resp = NULL, *succ, *fail;
	char id[24];
	size_t i;
	int rc = -1;

	if (ret_ok != NULL)
		for (i = 0; i < n; i++)
			ret_ok[i] = false;
	if (n < 1 || n > 10)
		return ob_error_set(err, OB_ERR_INVALID, "DeleteMessageBatch: %zu entries "
				    "(1..10 allowed)", n);
	if (queue_url == NULL || receipt_handles == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "DeleteMessageBatch: no queue or handles");
	for (i = 0; i < n; i++)
		if (receipt_handles[i] == NULL || receipt_handles[i][0] == '\0')
			return ob_error_set(err, OB_ERR_INVALID,
					    "DeleteMessageBatch: entry %zu has no receipt handle", i);
	req = json_object();
	entries = json_array();
	if (req == NULL || json_set(req, "QueueUrl", json_string(queue_url)) < 0 ||
	    json_set(req, "Entries", entries) < 0) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%zu", i);
		if (json_array_append_new(entries, json_pack("{s:s, s:s}", "Id", id,
							     "ReceiptHandle",
							     receipt_handles[i])) < 0) {
			ob_error_set(err, OB_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (ob_aws_json(aws, "sqs", "AmazonSQS.DeleteMessageBatch", req, &resp, err) < 0)
		goto out;
	succ = json_object_get(resp, "Successful");
	fail = json_object_get(resp, "Failed");
	/* The API promises both lists; an empty one left out (or null) is
	 * tolerated, neither, another type, or more than a batch is not SQS. */
	if ((succ == NULL || json_is_null(succ)) && (fail == NULL || json_is_null(fail))) {
		ob_error_set(err, OB_ERR_PARSE, "DeleteMessageBatch: neither Successful nor Failed");
		goto out;
	}
	if (!list_ok(succ) || !list_ok(fail)) {
		ob_error_set(err, OB_ERR_PARSE, "DeleteMessageBatch: Successful or Failed is not "
			     "a list of at most 10");
		goto out;
	}
	for (i = 0; i < json_array_size(succ); i++)
		note_entry(json_array_get(succ, i), n, ok);
	for (i = 0; i < json_array_size(fail); i++)
		note_entry(json_array_get(fail, i), n, failed);
	/* Deleted only when reported successful exactly once and never failed. */
	if (ret_ok != NULL)
		for (i = 0; i < n; i++)
			ret_ok[i] = ok[i] == 1 && failed[i] == 0;
	rc = 0;
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}
