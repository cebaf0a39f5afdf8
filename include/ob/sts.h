/*
 * ob/sts.h - AWS STS: who are we?
 *
 * The daemon calls GetCallerIdentity at start-up to learn its account and
 * to fail fast on bad credentials, before it touches a queue.
 */
#ifndef OB_STS_H
#define OB_STS_H

#include "ob/aws.h"

struct ob_sts_identity {
	char account[16];  /* 12 digits */
	char arn[512];
	char user_id[256];
};

/* sts:GetCallerIdentity. Fills *ret. -1 + err on an AWS/transport error, or
 * OB_ERR_PARSE when the answer lacks a 12-digit account. */
int ob_sts_get_caller_identity(struct ob_aws *aws, struct ob_sts_identity *ret,
			       struct ob_error *err);

#endif
