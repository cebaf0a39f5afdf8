/*
 * fuzz_aws_error.c - libFuzzer harness for the AWS error-response parsers
 * (ob_aws_error_from_xml for the Query protocol, ob_aws_error_from_json
 * for JSON 1.0), which turn an error body into code + message.
 *
 * Input layout: byte 0 picks the shape (even: XML, odd: JSON), byte 1 the
 * HTTP status class; the rest is the body, in a buffer of exactly its
 * length. Checks: -1 always, OB_ERR_AWS, the status kept, code, message
 * and request id NUL-terminated, free of control characters and valid
 * UTF-8 (the text goes to the journal), no echoed canonical request. The
 * same body is also parsed with a NULL error record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ob/aws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 (structure only: lead and continuation bytes) and no C0
 * control or DEL. */
static int clean_text(const char *s, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, need, k;

	if (memchr(s, '\0', cap) == NULL)
		return 0;
	while (p[i] != '\0') {
		unsigned char c = p[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c < 0xc0 || c >= 0xf8)
			return 0;
		need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
		for (k = 1; k <= need; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		i += need + 1;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 400, 403, 404, 500, 503, 200, 0, 999 };
	struct ob_error err;
	const char *rid = "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE";
	char *body;
	size_t len;
	long status;
	int json, rc;

	if (size < 2)
		return 0;
	json = data[0] & 1;
	status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
	len = size - 2;
	body = malloc(len > 0 ? len : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data + 2, len);

	memset(&err, 0x5a, sizeof(err));
	rc = json ? ob_aws_error_from_json(&err, status, body, len, rid)
		  : ob_aws_error_from_xml(&err, status, body, len, rid);
	if (rc != -1 || err.kind != OB_ERR_AWS || err.http_status != status)
		abort();
	if (!clean_text(err.aws_code, sizeof(err.aws_code)) ||
	    !clean_text(err.message, sizeof(err.message)) ||
	    !clean_text(err.request_id, sizeof(err.request_id)))
		abort();
	if (err.message[0] == '\0' || strstr(err.message, "The Canonical String") != NULL ||
	    strstr(err.message, "The String-to-Sign") != NULL)
		abort();
	if (err.request_id[0] == '\0')
		abort();

	rc = json ? ob_aws_error_from_json(NULL, status, body, len, rid)
		  : ob_aws_error_from_xml(NULL, status, body, len, rid);
	if (rc != -1)
		abort();
	free(body);
	return 0;
}
