/*
 * ob/sqs.h - Amazon SQS (AWS JSON 1.0 protocol).
 *
 * Long-polled receive, delete and visibility change: all the daemon needs
 * to consume a queue at least once. Each received body is checked against
 * its MD5OfBody, so a message damaged in transit is never acted upon.
 */
#ifndef OB_SQS_H
#define OB_SQS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ob/aws.h"

#define OB_SQS_MAX_BODY (256 * 1024) /* SQS's own message size limit */

struct ob_sqs_message {
	char *message_id;
	char *receipt_handle;
	char *body;
	size_t body_len;
	long receive_count;  /* ApproximateReceiveCount, 0 if absent */
	int64_t sent_ms;     /* SentTimestamp, 0 if absent */
	bool md5_ok;         /* MD5OfBody matched the body */
};

struct ob_sqs_batch {
	struct ob_sqs_message *msgs;
	size_t n;
	/* Entries dropped: no id, receipt handle or body, or a body over
	 * OB_SQS_MAX_BODY. They are not deleted, so the queue's redrive policy
	 * moves them to its dead-letter queue. */
	size_t n_malformed;
};

/* sqs:ReceiveMessage on queue_url: up to max (1..10) messages, long polling
 * for wait_s (0..20) seconds; visibility_s > 0 overrides the queue's
 * visibility timeout. *ret is filled (and owned by the caller, free with
 * ob_sqs_batch_clear) even when empty. -1 + err on AWS/transport errors or
 * a response that is not the documented shape. */
int ob_sqs_receive(struct ob_aws *aws, const char *queue_url, int max, int wait_s,
		   int visibility_s, struct ob_sqs_batch *ret, struct ob_error *err);

/* Free what a batch holds; it becomes empty. NULL is a no-op. */
void ob_sqs_batch_clear(struct ob_sqs_batch *batch);

/* sqs:DeleteMessage of one received message. 0, or -1 + err (AWS,
 * transport or OB_ERR_CANCELLED); a failed delete leaves the message to
 * reappear after its visibility timeout, never lost. */
int ob_sqs_delete(struct ob_aws *aws, const char *queue_url, const char *receipt_handle,
		  struct ob_error *err);

/* sqs:DeleteMessageBatch of n (1..10) received messages. ret_ok[i] (n
 * entries, may be NULL) tells whether entry i was deleted; an entry that
 * failed stays in the queue and reappears, never lost. 0 when the call went
 * through (even if some entries failed: see ret_ok), or -1 + err
 * (OB_ERR_INVALID for n out of range; AWS, transport, OB_ERR_CANCELLED),
 * with every ret_ok false. */
int ob_sqs_delete_batch(struct ob_aws *aws, const char *queue_url,
			const char *const *receipt_handles, size_t n, bool *ret_ok,
			struct ob_error *err);

/* sqs:ChangeMessageVisibility to timeout_s (0..43200) seconds; 0 makes
 * the message visible again at once. 0, or -1 + err (OB_ERR_INVALID for an
 * out-of-range timeout, else as ob_sqs_delete). */
int ob_sqs_change_visibility(struct ob_aws *aws, const char *queue_url,
			     const char *receipt_handle, int timeout_s,
			     struct ob_error *err);

#endif
