/*
 * fuzz_config.c - libFuzzer harness for the configuration parser
 * (ob_config_parse from a memory buffer). The input is the file's text, in
 * a buffer of exactly its length; the permission bits alternate between a
 * private (0600) and a group-readable (0640) file by input length, so the
 * secret-file check is exercised too.
 *
 * Checks the contract: 0 with a config whose strings are all set and no
 * diagnostic, or -1 with no config, OB_ERR_CONFIG/NOMEM and diagnostics
 * that are "name:line: message\n" lines of printable ASCII. The config is
 * freed (after ob_config_forget_secret) on success. Nothing is printed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ob/config.h"

#define NAME "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_diag(const struct ob_buf *diag)
{
	const char *line = diag->data, *nl, *c;
	size_t nlen = strlen(NAME);

	if (line == NULL || diag->len == 0 || strlen(line) != diag->len)
		abort();
	while (*line != '\0') {
		nl = strchr(line, '\n');
		if (nl == NULL || strncmp(line, NAME, nlen) != 0 || line[nlen] != ':')
			abort();
		for (c = line; c < nl; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				abort();
		line = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_config *cfg = (struct ob_config *)&cfg; /* must be reset */
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_error err;
	unsigned mode = (size & 1) ? 0640 : 0600;
	char *text;
	int rc;

	text = malloc(size > 0 ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	ob_error_clear(&err);
	rc = ob_config_parse(NAME, text, size, mode, &cfg, &diag, &err);
	if (rc == 0) {
		if (cfg == NULL || diag.len != 0 || cfg->path == NULL || cfg->region == NULL ||
		    cfg->queue_url == NULL || cfg->state_db == NULL ||
		    cfg->access_key_id == NULL || cfg->secret_access_key == NULL ||
		    cfg->endpoint_url == NULL || cfg->imds_url == NULL ||
		    cfg->export_kms_key == NULL || cfg->target_account == NULL ||
		    cfg->notify_topic_arn == NULL || cfg->include_db == NULL ||
		    cfg->exclude_db == NULL || cfg->require_tag == NULL ||
		    cfg->import_kms_key == NULL || cfg->allowed_source_accounts == NULL)
			abort();
		if (cfg->poll_interval_ms < 0 || cfg->sweep_interval_ms < 0 ||
		    cfg->export_copy_retention_ms < 0 || cfg->rpo_ms < 0)
			abort();
		ob_config_forget_secret(cfg);
		ob_config_free(cfg);
	} else if (rc == -1) {
		if (cfg != NULL || (err.kind != OB_ERR_CONFIG && err.kind != OB_ERR_NOMEM))
			abort();
		check_diag(&diag);
	} else {
		abort();
	}
	ob_buf_clear(&diag);
	free(text);
	return 0;
}
