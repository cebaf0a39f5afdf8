/*
 * sts.c - AWS STS requests (Query protocol, version 2011-06-15).
 */
#include "ob/sts.h"

#include <stdio.h>
#include <string.h>

#include "ob/awsid.h"

int ob_sts_get_caller_identity(struct ob_aws *aws, struct ob_sts_identity *ret,
			       struct ob_error *err)
{
	struct ob_aws_params p;
	struct ob_xml_doc *doc = NULL;
	const struct ob_xml_node *r;
	const char *account, *arn, *uid;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	ob_aws_params_init(&p, "GetCallerIdentity", "2011-06-15");
	if (ob_aws_query(aws, "sts", &p, &doc, err) < 0)
		goto out;
	r = ob_xml_child(ob_xml_root(doc), "GetCallerIdentityResult");
	account = ob_xml_path_text(r, "Account");
	arn = ob_xml_path_text(r, "Arn");
	uid = ob_xml_path_text(r, "UserId");
	if (account == NULL || !ob_awsid_account_ok(account, strlen(account))) {
		ob_error_set(err, OB_ERR_PARSE, "GetCallerIdentity: no 12-digit account in the answer");
		goto out;
	}
	snprintf(ret->account, sizeof(ret->account), "%s", account);
	snprintf(ret->arn, sizeof(ret->arn), "%s", arn ? arn : "");
	snprintf(ret->user_id, sizeof(ret->user_id), "%s", uid ? uid : "");
	rc = 0;
out:
	ob_xml_free(doc);
	ob_aws_params_clear(&p);
	return rc;
}
