/*
 * session.c - build the AWS client from the configuration and prove the
 * credentials with sts:GetCallerIdentity (ob/session.h). Shared by the
 * daemon's start-up and offsite-backupctl rebuild.
 */
#include "ob/session.h"

#include <stdio.h>
#include <string.h>

#include "ob/creds.h"

/* err->message becomes the one line to print: prefix (may be "") and
 * ob_error_str() of the error; the other fields stay. */
static void as_line(struct ob_error *err, const char *prefix)
{
	char line[sizeof(err->message)];
	size_t n = strlen(prefix);

	ob_error_str(err, line, sizeof(line));
	if (n >= sizeof(err->message))
		n = sizeof(err->message) - 1;
	memcpy(err->message, prefix, n);
	snprintf(err->message + n, sizeof(err->message) - n, "%.*s",
		 (int)(sizeof(err->message) - n - 1), line);
}

int ob_session_open(struct ob_client *client, struct ob_config *cfg,
		    const struct ob_client_options *opt, struct ob_sts_identity *ret_id,
		    struct ob_error *err)
{
	memset(ret_id, 0, sizeof(*ret_id));
	char prefix[80];

	if (ob_client_init(client, cfg, opt, err) < 0) {
		if (err != NULL)
			as_line(err, "");
		return -1;
	}
	/* The provider holds its own copy; this one is not needed again. */
	ob_config_forget_secret(cfg);
	if (ob_sts_get_caller_identity(client->aws, ret_id, err) < 0) {
		if (err != NULL && err->kind != OB_ERR_CANCELLED) {
			snprintf(prefix, sizeof(prefix), "cannot verify AWS credentials (%s): ",
				 ob_creds_source_name(cfg->credentials));
			as_line(err, prefix);
		}
		ob_client_clear(client);
		return -1;
	}
	return 0;
}
