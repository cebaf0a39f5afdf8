/*
 * fuzz_xml.c - libFuzzer harness for the XML response parser
 * (ob_xml_parse) and the tree walk every service file does
 * (ob_xml_root/child/next/path/path_text/name/text).
 *
 * The input is the response body, in a buffer of exactly its length. A
 * parsed document is walked in full; for every element the harness checks
 * that looking it up again by name (child, next, and the "a/b" path from
 * its parent) finds an element of that name, then runs the lookups AWS
 * responses use. Freed with ob_xml_free() on every path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ob/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {
	"", "/", "//", "Error", "Error/Code", "Errors/Error", "Errors/Error/Message",
	"RequestId", "ResponseMetadata/RequestId",
	"DescribeDBSnapshotsResult/DBSnapshots", "DescribeDBSnapshotsResult/Marker",
	"CopyDBSnapshotResult/DBSnapshot/Status", "a/b/c/d/e/f/g/h", "a//b", "a/",
};

static void walk(const struct ob_xml_node *n, unsigned depth, size_t *count)
{
	const struct ob_xml_node *c, *again;
	char path[1024];
	size_t i;

	if (depth > OB_XML_MAX_DEPTH)
		abort();
	(void)strlen(ob_xml_text(n));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		(void)ob_xml_path_text(n, paths[i]);
	for (c = ob_xml_child(n, NULL); c != NULL; c = ob_xml_next(c, NULL)) {
		const char *name = ob_xml_name(c);

		if (++*count > OB_XML_MAX_NODES)
			abort();
		again = ob_xml_child(n, name);
		if (again == NULL || strcmp(ob_xml_name(again), name) != 0)
			abort();
		again = ob_xml_next(c, name);
		if (again != NULL && strcmp(ob_xml_name(again), name) != 0)
			abort();
		/* A name holding '/' cannot be looked up by path; expat
		 * never hands one over. */
		if (strchr(name, '/') != NULL)
			abort();
		if (strlen(name) + 3 < sizeof(path) && name[0] != '\0') {
			const struct ob_xml_node *p;

			memcpy(path, name, strlen(name) + 1);
			p = ob_xml_path(n, path);
			if (p == NULL || strcmp(ob_xml_name(p), name) != 0)
				abort();
			strcat(path, "/x");
			(void)ob_xml_path_text(n, path);
		}
		walk(c, depth + 1, count);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_xml_doc *doc = NULL;
	struct ob_error err;
	size_t count = 1;
	int rc;

	rc = ob_xml_parse((const char *)data, size, &doc, &err);
	if (rc < 0) {
		if (doc != NULL || err.kind == OB_ERR_NONE ||
		    memchr(err.message, '\0', sizeof(err.message)) == NULL)
			abort();
		return 0;
	}
	if (doc == NULL || ob_xml_root(doc) == NULL)
		abort();
	walk(ob_xml_root(doc), 1, &count);
	ob_xml_free(doc);
	return 0;
}
