/*
 * xml.c - expat into a small element tree (see ob/xml.h).
 *
 * Only elements and their character data are kept: attributes, comments and
 * processing instructions carry nothing AWS responses need. A document type
 * declaration aborts the parse, which also rules out entity expansion.
 */
#include "ob/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "ob/buf.h"

struct ob_xml_node {
	char *name;
	struct ob_buf text;
	struct ob_xml_node *parent;
	struct ob_xml_node *first_child;
	struct ob_xml_node *last_child;
	struct ob_xml_node *next;
};

struct ob_xml_doc {
	struct ob_xml_node *root;
};

struct parse_state {
	XML_Parser parser;
	struct ob_xml_node *root;
	struct ob_xml_node *cur;
	unsigned depth;
	size_t nodes;
	const char *fail; /* why we stopped the parser, or NULL */
};

static void stop(struct parse_state *st, const char *why)
{
	if (st->fail == NULL)
		st->fail = why;
	XML_StopParser(st->parser, XML_FALSE);
}

static const char *local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct parse_state *st = ud;
	struct ob_xml_node *n;

	(void)atts;
	if (st->fail != NULL)
		return;
	if (++st->depth > OB_XML_MAX_DEPTH) {
		stop(st, "nesting too deep");
		return;
	}
	if (++st->nodes > OB_XML_MAX_NODES) {
		stop(st, "too many elements");
		return;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL || (n->name = strdup(local_name(name))) == NULL) {
		free(n);
		stop(st, "out of memory");
		return;
	}
	n->parent = st->cur;
	if (st->cur == NULL) {
		st->root = n;
	} else {
		if (st->cur->last_child)
			st->cur->last_child->next = n;
		else
			st->cur->first_child = n;
		st->cur->last_child = n;
	}
	st->cur = n;
}

static void on_end(void *ud, const XML_Char *name)
{
	struct parse_state *st = ud;

	(void)name;
	if (st->fail != NULL || st->cur == NULL)
		return;
	st->depth--;
	st->cur = st->cur->parent;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct parse_state *st = ud;

	if (st->fail != NULL || st->cur == NULL || len <= 0)
		return;
	if (ob_buf_append(&st->cur->text, s, (size_t)len) < 0)
		stop(st, "out of memory");
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
		       const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	stop(ud, "document type declarations are not accepted");
}

static void on_entity(void *ud, const XML_Char *name, int is_param,
		      const XML_Char *value, int value_length, const XML_Char *base,
		      const XML_Char *sysid, const XML_Char *pubid,
		      const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_length;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	stop(ud, "entity declarations are not accepted");
}

/* Recursion depth is bounded by OB_XML_MAX_DEPTH. */
static void free_tree(struct ob_xml_node *n)
{
	struct ob_xml_node *child, *next;

	if (n == NULL)
		return;
	for (child = n->first_child; child != NULL; child = next) {
		next = child->next;
		free_tree(child);
	}
	free(n->name);
	ob_buf_clear(&n->text);
	free(n);
}

int ob_xml_parse(const char *data, size_t len, struct ob_xml_doc **ret,
		 struct ob_error *err)
{
	struct parse_state st;
	struct ob_xml_doc *doc = NULL;
	enum XML_Status status;
	int rc = -1;

	*ret = NULL;
	if (len > (size_t)INT32_MAX)
		return ob_error_set(err, OB_ERR_PARSE, "XML document too large");
	memset(&st, 0, sizeof(st));
	st.parser = XML_ParserCreate("UTF-8");
	if (st.parser == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory (XML parser)");
	XML_SetUserData(st.parser, &st);
	XML_SetElementHandler(st.parser, on_start, on_end);
	XML_SetCharacterDataHandler(st.parser, on_text);
	XML_SetStartDoctypeDeclHandler(st.parser, on_doctype);
	XML_SetEntityDeclHandler(st.parser, on_entity);
	XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);

	status = XML_Parse(st.parser, data ? data : "", (int)len, XML_TRUE);
	if (st.fail != NULL) {
		ob_error_set(err, OB_ERR_PARSE, "XML rejected: %s", st.fail);
		goto out;
	}
	if (status != XML_STATUS_OK) {
		ob_error_set(err, OB_ERR_PARSE, "malformed XML at line %lu column %lu: %s",
			     (unsigned long)XML_GetCurrentLineNumber(st.parser),
			     (unsigned long)XML_GetCurrentColumnNumber(st.parser),
			     XML_ErrorString(XML_GetErrorCode(st.parser)));
		goto out;
	}
	if (st.root == NULL) {
		ob_error_set(err, OB_ERR_PARSE, "empty XML document");
		goto out;
	}
	doc = calloc(1, sizeof(*doc));
	if (doc == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		goto out;
	}
	doc->root = st.root;
	st.root = NULL;
	*ret = doc;
	rc = 0;
out:
	free_tree(st.root);
	XML_ParserFree(st.parser);
	return rc;
}

void ob_xml_free(struct ob_xml_doc *doc)
{
	if (doc == NULL)
		return;
	free_tree(doc->root);
	free(doc);
}

const struct ob_xml_node *ob_xml_root(const struct ob_xml_doc *doc)
{
	return doc ? doc->root : NULL;
}

const char *ob_xml_name(const struct ob_xml_node *node)
{
	return node ? node->name : "";
}

const char *ob_xml_text(const struct ob_xml_node *node)
{
	return node && node->text.data ? node->text.data : "";
}

static const struct ob_xml_node *match_from(const struct ob_xml_node *n, const char *name,
					    size_t len)
{
	for (; n != NULL; n = n->next)
		if (name == NULL || (strncmp(n->name, name, len) == 0 && n->name[len] == '\0'))
			return n;
	return NULL;
}

const struct ob_xml_node *ob_xml_child(const struct ob_xml_node *node, const char *name)
{
	if (node == NULL)
		return NULL;
	return match_from(node->first_child, name, name ? strlen(name) : 0);
}

const struct ob_xml_node *ob_xml_next(const struct ob_xml_node *node, const char *name)
{
	if (node == NULL)
		return NULL;
	return match_from(node->next, name, name ? strlen(name) : 0);
}

const struct ob_xml_node *ob_xml_path(const struct ob_xml_node *node, const char *path)
{
	const char *seg = path, *slash;
	size_t len;

	while (node != NULL && seg != NULL && *seg != '\0') {
		slash = strchr(seg, '/');
		len = slash ? (size_t)(slash - seg) : strlen(seg);
		node = match_from(node->first_child, seg, len);
		seg = slash ? slash + 1 : NULL;
	}
	return node;
}

const char *ob_xml_path_text(const struct ob_xml_node *node, const char *path)
{
	const struct ob_xml_node *n = ob_xml_path(node, path);

	return n ? ob_xml_text(n) : NULL;
}
