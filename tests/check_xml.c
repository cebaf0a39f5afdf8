/*
 * check_xml.c - the defensive expat tree: walking real responses (paths,
 * siblings, namespace prefixes, default namespaces, entities), and every
 * kind of bad input: garbage, every truncation of a real RDS response,
 * empty input, DTDs and entity bombs, excessive depth and node counts,
 * invalid UTF-8 and a 10 MB text node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ob.h"
#include "check_util.h"
#include "ob/xml.h"

/* ---- corpus ---------------------------------------------------------------- */


static struct ob_xml_doc *parse_ok(const char *s, size_t len)
{
	struct ob_xml_doc *doc = NULL;
	struct ob_error err;

	ob_error_clear(&err);
	ck_assert_msg(ob_xml_parse(s, len, &doc, &err) == 0, "parse failed: %s", err.message);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(err.kind, OB_ERR_NONE);
	return doc;
}

/* A refused document: -1, OB_ERR_PARSE (or NOMEM), *ret NULL, a message. */
static void parse_fails(const char *s, size_t len)
{
	struct ob_xml_doc *doc = (struct ob_xml_doc *)&doc; /* not NULL: must be reset */
	struct ob_error err;

	ob_error_clear(&err);
	ck_assert_int_eq(ob_xml_parse(s, len, &doc, &err), -1);
	ck_assert_ptr_null(doc);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_str_ne(err.message, "");
}

#define PARSE_FAILS(lit) parse_fails((lit), sizeof(lit) - 1)

/* ---- happy path ------------------------------------------------------------ */

START_TEST(test_rds_response_walk)
{
	size_t len;
	char *xml = ob_test_load_response("rds_describe_db_snapshots.xml", &len);
	struct ob_xml_doc *doc = parse_ok(xml, len);
	const struct ob_xml_node *root = ob_xml_root(doc), *snaps, *s, *tag;
	int n = 0;

	ck_assert_str_eq(ob_xml_name(root), "DescribeDBSnapshotsResponse");
	snaps = ob_xml_path(root, "DescribeDBSnapshotsResult/DBSnapshots");
	ck_assert_ptr_nonnull(snaps);
	ck_assert_str_eq(ob_xml_name(snaps), "DBSnapshots");
	for (s = ob_xml_child(snaps, "DBSnapshot"); s != NULL; s = ob_xml_next(s, "DBSnapshot"))
		n++;
	ck_assert_int_eq(n, 3);
	s = ob_xml_next(ob_xml_child(snaps, "DBSnapshot"), "DBSnapshot");
	ck_assert_str_eq(ob_xml_path_text(s, "DBSnapshotIdentifier"), "orders-db-2026-11-22");
	ck_assert_str_eq(ob_xml_path_text(s, "AllocatedStorage"), "20");
	/* entities decoded in text */
	tag = ob_xml_next(ob_xml_path(s, "TagList/Tag"), "Tag");
	ck_assert_str_eq(ob_xml_path_text(tag, "Key"), "team");
	ck_assert_str_eq(ob_xml_path_text(tag, "Value"), "payments & <ops>");
	ck_assert_ptr_null(ob_xml_next(tag, "Tag"));
	/* empty element: present, text "" */
	s = ob_xml_next(s, "DBSnapshot");
	ck_assert_ptr_nonnull(ob_xml_child(s, "TagList"));
	ck_assert_str_eq(ob_xml_path_text(s, "TagList"), "");
	ck_assert_ptr_null(ob_xml_path(s, "TagList/Tag"));
	ck_assert_ptr_nonnull(ob_xml_path_text(root, "ResponseMetadata/RequestId"));
	ck_assert_uint_gt(strlen(ob_xml_path_text(root, "ResponseMetadata/RequestId")), 10);
	ob_xml_free(doc);
	free(xml);
}
END_TEST

START_TEST(test_namespaces_and_siblings)
{
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ns:Root xmlns:ns=\"urn:a\" xmlns:q=\"urn:q\" attr=\"ignored\">"
		"<ns:A>1</ns:A><B x=\"y\">2</B><q:A>3</q:A><!-- c --><AB>4</AB><A/>"
		"<C><D><E>deep</E></D><Dx>no</Dx></C></ns:Root>";
	struct ob_xml_doc *doc = parse_ok(xml, sizeof(xml) - 1);
	const struct ob_xml_node *root = ob_xml_root(doc), *a, *n;

	ck_assert_str_eq(ob_xml_name(root), "Root");
	a = ob_xml_child(root, "A");
	ck_assert_str_eq(ob_xml_name(a), "A");
	ck_assert_str_eq(ob_xml_text(a), "1");
	n = ob_xml_next(a, NULL);
	ck_assert_str_eq(ob_xml_name(n), "B");
	ck_assert_str_eq(ob_xml_text(n), "2");
	n = ob_xml_next(a, "A");
	ck_assert_str_eq(ob_xml_text(n), "3");
	n = ob_xml_next(n, "A"); /* skips AB: names match exactly */
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(ob_xml_text(n), "");
	ck_assert_ptr_null(ob_xml_next(n, "A"));
	ck_assert_str_eq(ob_xml_path_text(root, "AB"), "4");
	ck_assert_str_eq(ob_xml_path_text(root, "C/D/E"), "deep");
	ck_assert_ptr_null(ob_xml_path(root, "C/D/E/F"));
	ck_assert_ptr_null(ob_xml_path(root, "C/X/E"));
	ck_assert_ptr_null(ob_xml_path_text(root, "Missing"));
	ck_assert_ptr_null(ob_xml_path(root, "C//E"));
	/* a path is matched segment by segment, not by prefix */
	ck_assert_ptr_null(ob_xml_path(root, "C/Dx/E"));
	ck_assert_ptr_null(ob_xml_path(root, "A/B"));
	ck_assert_ptr_eq(ob_xml_path(root, ""), root);
	ck_assert_ptr_eq(ob_xml_child(root, NULL), ob_xml_child(root, "A"));
	ob_xml_free(doc);
}
END_TEST

START_TEST(test_default_namespace)
{
	size_t len;
	char *xml = ob_test_load_response("sts_get_caller_identity.xml", &len);
	struct ob_xml_doc *doc = parse_ok(xml, len);
	const struct ob_xml_node *root = ob_xml_root(doc);

	ck_assert_ptr_nonnull(strstr(xml, "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\""));
	ck_assert_str_eq(ob_xml_name(root), "GetCallerIdentityResponse");
	ck_assert_str_eq(ob_xml_path_text(root, "GetCallerIdentityResult/Account"), "123456789012");
	ck_assert_str_eq(ob_xml_path_text(root, "GetCallerIdentityResult/Arn"),
			 "arn:aws:sts::123456789012:user/moto");
	ob_xml_free(doc);
	free(xml);
}
END_TEST

START_TEST(test_text_forms)
{
	static const char xml[] =
		"<r>\n  <a>x &amp; y &lt;&gt; &quot;&apos; &#65;&#x42; \xc3\xa9</a>"
		"<b><![CDATA[<raw> & stuff]]></b>pre<c/>post"
		"<d>one<!-- gap -->two</d></r>";
	struct ob_xml_doc *doc = parse_ok(xml, sizeof(xml) - 1);
	const struct ob_xml_node *root = ob_xml_root(doc);

	ck_assert_str_eq(ob_xml_path_text(root, "a"), "x & y <> \"' AB \xc3\xa9");
	ck_assert_str_eq(ob_xml_path_text(root, "b"), "<raw> & stuff");
	ck_assert_str_eq(ob_xml_path_text(root, "d"), "onetwo");
	/* mixed content: the element's own direct text, children excluded */
	ck_assert_str_eq(ob_xml_text(root), "\n  prepost");
	ob_xml_free(doc);
}
END_TEST

START_TEST(test_null_handling)
{
	ck_assert_ptr_null(ob_xml_root(NULL));
	ck_assert_str_eq(ob_xml_name(NULL), "");
	ck_assert_str_eq(ob_xml_text(NULL), "");
	ck_assert_ptr_null(ob_xml_child(NULL, "A"));
	ck_assert_ptr_null(ob_xml_next(NULL, "A"));
	ck_assert_ptr_null(ob_xml_path(NULL, "A/B"));
	ck_assert_ptr_null(ob_xml_path_text(NULL, "A"));
	ob_xml_free(NULL);
}
END_TEST

/* ---- bad input ------------------------------------------------------------- */

START_TEST(test_garbage)
{
	PARSE_FAILS("not xml at all");
	PARSE_FAILS("{\"__type\":\"Throttling\"}");
	PARSE_FAILS("<a>");
	PARSE_FAILS("</a>");
	PARSE_FAILS("<a></b>");
	PARSE_FAILS("<a><b></a></b>");
	PARSE_FAILS("<a/><b/>");              /* two document elements */
	PARSE_FAILS("<a/>trailing");
	PARSE_FAILS("<<a>>");
	PARSE_FAILS("<a b=c/>");
	PARSE_FAILS("<a>&undefined;</a>");    /* entity without a DTD */
	PARSE_FAILS("<a>&#0;</a>");
	PARSE_FAILS("<a>&#xFFFFFFFF;</a>");
	PARSE_FAILS("<1a/>");
	PARSE_FAILS("<?xml version=\"1.0\"?>");
	PARSE_FAILS("<!-- only a comment -->");
	PARSE_FAILS("<html><body><h1>502 Bad Gateway</h1></body>"); /* proxy page, cut */
}
END_TEST

START_TEST(test_empty)
{
	parse_fails("", 0);
	parse_fails(NULL, 0);
	PARSE_FAILS("   \n\t ");
}
END_TEST

/* Every prefix of a real response: never a crash (ASan watches the heap
 * copies), always an error until the document element is closed, and
 * success from there on (trailing whitespace is allowed). */
START_TEST(test_truncated_every_offset)
{
	size_t len, n, complete;
	char *xml = ob_test_load_response("rds_describe_db_snapshots.xml", &len);
	const char *end_tag = "</DescribeDBSnapshotsResponse>";
	struct ob_xml_doc *doc;
	struct ob_error err;
	char *copy;
	int rc;

	ck_assert_ptr_nonnull(strstr(xml, end_tag));
	complete = (size_t)(strstr(xml, end_tag) - xml) + strlen(end_tag);
	for (n = 0; n <= len; n++) {
		copy = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, xml, n);
		doc = NULL;
		rc = ob_xml_parse(copy, n, &doc, &err);
		if (n < complete) {
			ck_assert_msg(rc == -1, "prefix of %zu bytes accepted", n);
			ck_assert_ptr_null(doc);
			ck_assert_int_eq(err.kind, OB_ERR_PARSE);
		} else {
			ck_assert_msg(rc == 0, "complete document of %zu bytes refused: %s", n,
				      err.message);
			ck_assert_ptr_nonnull(ob_xml_path(ob_xml_root(doc),
							  "DescribeDBSnapshotsResult/DBSnapshots"));
		}
		ob_xml_free(doc);
		free(copy);
	}
	free(xml);
}
END_TEST

START_TEST(test_doctype_rejected)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE lolz [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n<lolz>&lol9;</lolz>";

	PARSE_FAILS(laughs);
	PARSE_FAILS("<!DOCTYPE a><a/>");
	PARSE_FAILS("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>");
	PARSE_FAILS("<!DOCTYPE a [<!ENTITY x \"y\">]><a/>"); /* declared, unused */
	PARSE_FAILS("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>");
	PARSE_FAILS("<!DOCTYPE a [<!ENTITY % p SYSTEM \"http://127.0.0.1/x.dtd\"> %p;]><a/>");
	PARSE_FAILS("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>");
}
END_TEST

/* n nested elements <e><e>...</e></e>. */
static char *nested(size_t n, size_t *ret_len)
{
	char *s = malloc(7 * n + 1), *p = s;
	size_t i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++, p += 3)
		memcpy(p, "<e>", 3);
	for (i = 0; i < n; i++, p += 4)
		memcpy(p, "</e>", 4);
	*p = '\0';
	*ret_len = (size_t)(p - s);
	return s;
}

START_TEST(test_depth_limit)
{
	struct ob_xml_doc *doc;
	const struct ob_xml_node *n;
	size_t len, depth = 0;
	char *s;

	s = nested(OB_XML_MAX_DEPTH, &len);
	doc = parse_ok(s, len);
	for (n = ob_xml_root(doc); n != NULL; n = ob_xml_child(n, "e"))
		depth++;
	ck_assert_uint_eq(depth, OB_XML_MAX_DEPTH);
	ob_xml_free(doc);
	free(s);

	s = nested(OB_XML_MAX_DEPTH + 1, &len);
	parse_fails(s, len);
	free(s);
	s = nested(100000, &len); /* would blow a recursive tree free */
	parse_fails(s, len);
	free(s);
}
END_TEST

/* A root with n - 1 empty children: n elements in all. */
static char *wide(size_t n, size_t *ret_len)
{
	char *s = malloc(4 * n + 16), *p = s;
	size_t i;

	ck_assert_ptr_nonnull(s);
	memcpy(p, "<r>", 3);
	p += 3;
	for (i = 1; i < n; i++, p += 4)
		memcpy(p, "<e/>", 4);
	memcpy(p, "</r>", 5);
	*ret_len = (size_t)(p - s) + 4;
	return s;
}

START_TEST(test_node_limit)
{
	struct ob_xml_doc *doc;
	const struct ob_xml_node *n;
	size_t len, count = 0;
	char *s;

	s = wide(OB_XML_MAX_NODES, &len);
	doc = parse_ok(s, len);
	for (n = ob_xml_child(ob_xml_root(doc), "e"); n != NULL; n = ob_xml_next(n, "e"))
		count++;
	ck_assert_uint_eq(count, OB_XML_MAX_NODES - 1);
	ob_xml_free(doc);
	free(s);

	s = wide(OB_XML_MAX_NODES + 1, &len);
	parse_fails(s, len);
	free(s);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	static const char good[] = "<a>\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80</a>";

	PARSE_FAILS("<a>\xff</a>");
	PARSE_FAILS("<a>\xc3</a>");                 /* truncated sequence */
	PARSE_FAILS("<a>\xc0\xaf</a>");             /* overlong '/' */
	PARSE_FAILS("<a>\xed\xa0\x80</a>");         /* UTF-16 surrogate */
	PARSE_FAILS("<a>\xf4\x90\x80\x80</a>");     /* above U+10FFFF */
	PARSE_FAILS("<\xff/>");
	PARSE_FAILS("<a>x\x01y</a>");                /* control character */
	parse_fails("<a>x\0y</a>", 10);              /* embedded NUL */
	/* The same document with valid UTF-8 is fine. */
	ob_xml_free(parse_ok(good, sizeof(good) - 1));
}
END_TEST

START_TEST(test_huge_text_node)
{
	const size_t text_len = 10u * 1024 * 1024;
	size_t len = text_len + 7;
	char *s = malloc(len + 1);
	struct ob_xml_doc *doc = NULL;
	struct ob_error err;
	const char *t;
	size_t i;

	ck_assert_ptr_nonnull(s);
	memcpy(s, "<a>", 3);
	for (i = 0; i < text_len; i++)
		s[3 + i] = (char)('a' + i % 26);
	memcpy(s + 3 + text_len, "</a>", 5);
	/* Either a clean success with every byte, or a clean refusal. */
	if (ob_xml_parse(s, len, &doc, &err) == 0) {
		t = ob_xml_text(ob_xml_root(doc));
		ck_assert_uint_eq(strlen(t), text_len);
		ck_assert_mem_eq(t, s + 3, text_len);
	} else {
		ck_assert_ptr_null(doc);
		ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	}
	ob_xml_free(doc);
	free(s);
}
END_TEST

/* A failed parse leaves nothing behind (ASan's leak check sees the rest)
 * and a later parse works: no state shared between calls. */
START_TEST(test_failure_then_success)
{
	struct ob_xml_doc *doc = NULL;

	PARSE_FAILS("<a><b><c>");
	PARSE_FAILS("<!DOCTYPE a><a/>");
	doc = parse_ok("<ok/>", 5);
	ck_assert_str_eq(ob_xml_name(ob_xml_root(doc)), "ok");
	ob_xml_free(doc);
}
END_TEST

/* The error record is optional. */
START_TEST(test_null_err)
{
	struct ob_xml_doc *doc = NULL;

	ck_assert_int_eq(ob_xml_parse("<a>", 3, &doc, NULL), -1);
	ck_assert_ptr_null(doc);
	ck_assert_int_eq(ob_xml_parse("<a/>", 4, &doc, NULL), 0);
	ob_xml_free(doc);
}
END_TEST

Suite *ob_suite_xml(void)
{
	Suite *s = suite_create("xml");
	TCase *tc = tcase_create("walk");
	TCase *bad = tcase_create("bad-input");

	tcase_add_test(tc, test_rds_response_walk);
	tcase_add_test(tc, test_namespaces_and_siblings);
	tcase_add_test(tc, test_default_namespace);
	tcase_add_test(tc, test_text_forms);
	tcase_add_test(tc, test_null_handling);
	suite_add_tcase(s, tc);

	tcase_add_test(bad, test_garbage);
	tcase_add_test(bad, test_empty);
	tcase_add_test(bad, test_truncated_every_offset);
	tcase_add_test(bad, test_doctype_rejected);
	tcase_add_test(bad, test_depth_limit);
	tcase_add_test(bad, test_node_limit);
	tcase_add_test(bad, test_invalid_utf8);
	tcase_add_test(bad, test_huge_text_node);
	tcase_add_test(bad, test_failure_then_success);
	tcase_add_test(bad, test_null_err);
	tcase_set_timeout(bad, 120);
	suite_add_tcase(s, bad);
	return s;
}
