/*
 * fuzz_announce.c - libFuzzer harness for the announcement parser
 * (ob_announce_parse), raw or inside the SNS envelope. The input is the
 * SQS message body in a buffer of exactly its length. Checks the contract:
 * on success every string is non-NULL and the reason empty; on failure the
 * output is zeroed and the reason a non-empty NUL-terminated line. The
 * announcement is freed with ob_announce_clear() either way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ob/announce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_announcement_in in;
	char reason[128];
	int rc;

	memset(&in, 0x5a, sizeof(in));
	memset(reason, 0x5a, sizeof(reason));
	rc = ob_announce_parse((const char *)data, size, &in, reason, sizeof(reason));
	if (memchr(reason, '\0', sizeof(reason)) == NULL)
		abort();
	if (rc == 0) {
		if (in.snapshot_arn == NULL || in.source_snapshot_arn == NULL ||
		    in.source_account == NULL || in.region == NULL || in.db_identifier == NULL ||
		    in.engine == NULL || in.engine_version == NULL || in.export_kms_key == NULL ||
		    in.topic_arn == NULL || reason[0] != '\0')
			abort();
		if (in.allocated_storage_gib < 0 || in.allocated_storage_gib > 65536)
			abort();
	} else if (rc == -1) {
		if (!all_zero(&in, sizeof(in)) || reason[0] == '\0' || strchr(reason, '\n') != NULL)
			abort();
	} else {
		abort();
	}
	ob_announce_clear(&in);
	return 0;
}
