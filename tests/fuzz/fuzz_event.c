/*
 * fuzz_event.c - libFuzzer harness for the EventBridge event parser
 * (ob_event_parse). The input bytes are the SQS message body, handed over
 * in a buffer of exactly their length so a read past len is caught by
 * AddressSanitizer. Checks the contract on every result: a known result,
 * NUL-terminated what/reason, what printable ASCII only, and a snapshot
 * result that names an ARN.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ob/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_event ev;
	enum ob_event_result r;
	size_t i;

	memset(&ev, 0x5a, sizeof(ev));
	r = ob_event_parse((const char *)data, size, &ev);
	if (r != ev.result)
		abort();
	if (r != OB_EVENT_SNAPSHOT && r != OB_EVENT_IGNORED && r != OB_EVENT_MALFORMED)
		abort();
	if (memchr(ev.what, '\0', sizeof(ev.what)) == NULL ||
	    memchr(ev.reason, '\0', sizeof(ev.reason)) == NULL ||
	    memchr(ev.snapshot_arn, '\0', sizeof(ev.snapshot_arn)) == NULL)
		abort();
	for (i = 0; ev.what[i] != '\0'; i++)
		if ((unsigned char)ev.what[i] < 0x20 || (unsigned char)ev.what[i] >= 0x7f)
			abort();
	if (r == OB_EVENT_SNAPSHOT && (ev.snapshot_arn[0] == '\0' || ev.reason[0] != '\0'))
		abort();
	if (r != OB_EVENT_SNAPSHOT && ev.reason[0] == '\0')
		abort();
	(void)ob_event_result_name(r);
	return 0;
}
