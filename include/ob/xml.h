/*
 * ob/xml.h - AWS Query responses as a small read-only tree (expat).
 *
 * AWS answers Query calls with small, regular XML documents. Parsing them
 * into a tree of elements (local name + text + children) keeps every
 * service file a handful of path lookups. The parser is defensive: no DTDs
 * or entity declarations (no billion laughs), bounded depth and node count,
 * and any malformed or truncated input is an OB_ERR_PARSE error.
 */
#ifndef OB_XML_H
#define OB_XML_H

#include <stddef.h>

#include "ob/error.h"

struct ob_xml_node;
struct ob_xml_doc;

#define OB_XML_MAX_DEPTH 64
#define OB_XML_MAX_NODES 200000

/* Parse data[0..len). On success *ret owns the tree (free with
 * ob_xml_free). -1 + OB_ERR_PARSE on malformed, truncated, DTD-bearing or
 * oversized (depth/nodes) input. */
int ob_xml_parse(const char *data, size_t len, struct ob_xml_doc **ret,
		 struct ob_error *err);

/* NULL is a no-op. */
void ob_xml_free(struct ob_xml_doc *doc);

/* The document element. Never NULL for a parsed document. */
const struct ob_xml_node *ob_xml_root(const struct ob_xml_doc *doc);

/* Local name (namespace prefix stripped) and text content ("" when none;
 * for elements with children, the concatenated direct text). */
const char *ob_xml_name(const struct ob_xml_node *node);
const char *ob_xml_text(const struct ob_xml_node *node);

/* First child element named name (any name when NULL), or NULL. node may be
 * NULL (then NULL). */
const struct ob_xml_node *ob_xml_child(const struct ob_xml_node *node, const char *name);

/* Next sibling element named name (any when NULL) after node, or NULL. */
const struct ob_xml_node *ob_xml_next(const struct ob_xml_node *node, const char *name);

/* Follow a '/'-separated path of child names from node ("A/B/C"), taking the
 * first match at each step. NULL when absent. */
const struct ob_xml_node *ob_xml_path(const struct ob_xml_node *node, const char *path);

/* Text of ob_xml_path(node, path), or NULL when the element is absent. */
const char *ob_xml_path_text(const struct ob_xml_node *node, const char *path);

#endif
