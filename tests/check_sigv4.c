/*
 * check_sigv4.c - the SigV4 signer stage by stage against golden values from
 * the AWS suite (header and query variants, session tokens signed and
 * omitted, body signing), the signing-key cache, path and query
 * canonicalisation tables, hostile input, and a seeded random test.
 *
 * The random test takes its seed from OB_TEST_SEED and prints it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_ob.h"
#include "ob/buf.h"
#include "ob/error.h"
#include "ob/private/sigv4_stages.h"
#include "ob/sigv4.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define WHEN INT64_C(1440938160) /* 2015-08-30T12:36:00Z */
#define AMZ_DATE "20150830T123600Z"
#define TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define STS_TOKEN                                                                       \
	"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwA" \
	"eMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8p" \
	"hUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT" \
	"38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabI" \
	"Qwj2ICCR/oLxBA=="
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SCOPE "20150830/us-east-1/service/aws4_request"

#define HDR(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static struct ob_sigv4 *signer;

static void setup(void)
{
	struct ob_error err;

	signer = ob_sigv4_new(&err);
	ck_assert_msg(signer != NULL, "ob_sigv4_new: %s", err.message);
}

static void teardown(void)
{
	ob_sigv4_free(signer);
	signer = NULL;
}

static const struct ob_sigv4_header host_only[] = {
	HDR("Host", "example.amazonaws.com"),
};

static const struct ob_sigv4_header form_headers[] = {
	HDR("Content-Type", "application/x-www-form-urlencoded"),
	HDR("Host", "example.amazonaws.com"),
	HDR("Content-Length", "13"),
};

static const struct ob_sigv4_header value_order_headers[] = {
	HDR("Host", "example.amazonaws.com"), HDR("My-Header1", "value4"),
	HDR("My-Header1", "value1"),          HDR("My-Header1", "value3"),
	HDR("My-Header1", "value2"),
};

static void base_request(struct ob_sigv4_request *req, const char *method)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = "/";
	req->path_len = 1;
	req->headers = host_only;
	req->n_headers = 1;
}

static void base_params(struct ob_sigv4_params *p)
{
	memset(p, 0, sizeof(*p));
	p->access_key_id = AKID;
	p->secret_access_key = SECRET;
	p->region = "us-east-1";
	p->service = "service";
	p->when = WHEN;
	p->flags = OB_SIGV4_NORMALIZE_PATH;
	p->expires = 3600;
}

/* ---- golden stages (from ../shared/sigv4-suite/v4) ------------------------ */

struct golden {
	const char *name;
	const char *method;
	const struct ob_sigv4_header *headers;
	size_t n_headers;
	const char *body;
	const char *token;
	unsigned flags;
	enum ob_sigv4_mode mode;
	const char *creq, *sts, *sig;
};

static const struct golden goldens[] = {
	{ "get-vanilla header", "GET", host_only, 1, NULL, NULL, 0, OB_SIGV4_MODE_HEADER,
	  "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "host;x-amz-date\n" EMPTY_SHA256,
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla query", "GET", host_only, 1, NULL, NULL, 0, OB_SIGV4_MODE_QUERY,
	  "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2F"
	  "us-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600"
	  "&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\n" EMPTY_SHA256,
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "bb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5",
	  "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d" },
	{ "get-vanilla-with-session-token header", "GET", host_only, 1, NULL, TOKEN, 0,
	  OB_SIGV4_MODE_HEADER,
	  "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
	  "x-amz-security-token:" TOKEN "\n\nhost;x-amz-date;x-amz-security-token\n" EMPTY_SHA256,
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
	  "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8" },
	{ "get-vanilla-with-session-token query", "GET", host_only, 1, NULL, TOKEN, 0,
	  OB_SIGV4_MODE_QUERY,
	  "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2F"
	  "us-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600"
	  "&X-Amz-Security-Token=" TOKEN "&X-Amz-SignedHeaders=host\n"
	  "host:example.amazonaws.com\n\nhost\n" EMPTY_SHA256,
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "cb30434103085aa9e73780fc60dc9a9df818fd2a7b1de12a9f6f4d791f898761",
	  "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c" },
	{ "post-x-www-form-urlencoded header", "POST", form_headers, 3, "Param1=value1", NULL,
	  OB_SIGV4_SIGN_BODY, OB_SIGV4_MODE_HEADER,
	  "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
	  "host:example.amazonaws.com\nx-amz-content-sha256:"
	  "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
	  "x-amz-date:20150830T123600Z\n\n"
	  "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
	  "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
	  "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b" },
	{ "post-x-www-form-urlencoded query", "POST", form_headers, 3, "Param1=value1", NULL,
	  OB_SIGV4_SIGN_BODY, OB_SIGV4_MODE_QUERY,
	  "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2F"
	  "us-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600"
	  "&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost\n"
	  "content-length:13\ncontent-type:application/x-www-form-urlencoded\n"
	  "host:example.amazonaws.com\n\ncontent-length;content-type;host\n"
	  "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "ee5059a7c437165a28d0e775e6498be428761255d657d8c04cb1baa41de6514c",
	  "89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9" },
	{ "post-sts-header-after header", "POST", host_only, 1, NULL, STS_TOKEN,
	  OB_SIGV4_OMIT_TOKEN, OB_SIGV4_MODE_HEADER,
	  "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "host;x-amz-date\n" EMPTY_SHA256,
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
	  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
	{ "post-sts-header-after query", "POST", host_only, 1, NULL, STS_TOKEN,
	  OB_SIGV4_OMIT_TOKEN, OB_SIGV4_MODE_QUERY,
	  "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2F"
	  "us-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600"
	  "&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\n" EMPTY_SHA256,
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "d27fc6fe1afc1d88b248c5ae9194ec0943a693dd6d81d8d815c88a369eb0471e",
	  "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b" },
	{ "get-header-value-order header", "GET", value_order_headers, 5, NULL, NULL, 0,
	  OB_SIGV4_MODE_HEADER,
	  "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
	  "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_SHA256,
	  "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE "\n"
	  "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
	  "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01" },
};

static void golden_args(const struct golden *g, struct ob_sigv4_request *req,
			struct ob_sigv4_params *p)
{
	base_request(req, g->method);
	req->headers = g->headers;
	req->n_headers = g->n_headers;
	req->body = g->body;
	req->body_len = g->body != NULL ? strlen(g->body) : 0;
	base_params(p);
	p->session_token = g->token;
	p->flags |= g->flags;
}

START_TEST(golden_stages)
{
	const struct golden *g = &goldens[_i];
	struct ob_buf creq = OB_BUF_INIT, sts = OB_BUF_INIT, authz = OB_BUF_INIT;
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_error err;
	unsigned char key[32];
	char sig[65];
	const char *sh;

	golden_args(g, &req, &p);
	ck_assert_msg(ob_sigv4_canonical_request(signer, &req, &p, g->mode, &creq, &err) == 0,
		      "%s: %s", g->name, err.message);
	ck_assert_msg(strcmp(creq.data, g->creq) == 0, "%s: canonical request\n%s", g->name,
		      creq.data);
	ck_assert_int_eq(ob_sigv4_string_to_sign(signer, AMZ_DATE, "us-east-1", "service",
						 creq.data, creq.len, &sts, &err), 0);
	ck_assert_str_eq(sts.data, g->sts);
	ck_assert_int_eq(ob_sigv4_signing_key(signer, SECRET, AMZ_DATE, "us-east-1", "service",
					      key, &err), 0);
	ck_assert_int_eq(ob_sigv4_signature(signer, key, sts.data, sts.len, sig, &err), 0);
	ck_assert_str_eq(sig, g->sig);

	/* The one-call API agrees with the stages. */
	if (g->mode == OB_SIGV4_MODE_HEADER) {
		ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
		ck_assert_ptr_null(res.query);
		sh = strrchr(g->creq, '\n');
		ck_assert_ptr_nonnull(sh);
		/* signed headers: the line before the payload hash */
		{
			char list[256];
			const char *start = sh - 1;
			size_t n;

			while (start > g->creq && start[-1] != '\n')
				start--;
			n = (size_t)(sh - start);
			ck_assert_uint_lt(n, sizeof(list));
			memcpy(list, start, n);
			list[n] = '\0';
			ck_assert_int_eq(ob_sigv4_authorization(AKID, AMZ_DATE, "us-east-1",
								"service", list, g->sig, &authz,
								&err), 0);
		}
		ck_assert_str_eq(res.authorization, authz.data);
		ck_assert_uint_eq(res.authorization_len, authz.len);
	} else {
		ck_assert_int_eq(ob_sigv4_presign(signer, &req, &p, &res, &err), 0);
		ck_assert_ptr_null(res.authorization);
		ck_assert_uint_eq(res.n_headers, 0);
		ck_assert_ptr_nonnull(strstr(res.query, g->sig));
	}
	ck_assert_str_eq(res.signature, g->sig);
	ck_assert_str_eq(res.amz_date, AMZ_DATE);
	ob_buf_clear(&creq);
	ob_buf_clear(&sts);
	ob_buf_clear(&authz);
}
END_TEST

START_TEST(header_result_lists_added_headers)
{
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_error err;

	golden_args(&goldens[2], &req, &p); /* session token, signed */
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
	ck_assert_uint_eq(res.n_headers, 3);
	ck_assert_str_eq(res.headers[0].name, "X-Amz-Security-Token");
	ck_assert_str_eq(res.headers[0].value, TOKEN);
	ck_assert_uint_eq(res.headers[0].value_len, strlen(TOKEN));
	ck_assert_str_eq(res.headers[0].line, "X-Amz-Security-Token: " TOKEN);
	ck_assert_str_eq(res.headers[1].line, "X-Amz-Date: " AMZ_DATE);
	ck_assert_str_eq(res.headers[2].name, "Authorization");
	ck_assert_str_eq(res.headers[2].line,
			 "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" SCOPE
			 ", SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
			 "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
	ck_assert_ptr_eq(res.headers[2].value, res.authorization);
	ck_assert_str_eq(res.payload_hash, EMPTY_SHA256);

	golden_args(&goldens[4], &req, &p); /* body signed */
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
	ck_assert_uint_eq(res.n_headers, 3);
	ck_assert_str_eq(res.headers[0].name, "X-Amz-Date");
	ck_assert_str_eq(res.headers[1].line, "x-amz-content-sha256: "
			 "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
	ck_assert_str_eq(res.headers[2].name, "Authorization");

	golden_args(&goldens[6], &req, &p); /* token omitted from the signature */
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
	ck_assert_uint_eq(res.n_headers, 3);
	ck_assert_str_eq(res.headers[0].value, STS_TOKEN);
	ck_assert_ptr_nonnull(strstr(res.authorization, "SignedHeaders=host;x-amz-date,"));
}
END_TEST

START_TEST(presign_query_order)
{
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_error err;

	golden_args(&goldens[3], &req, &p);
	ck_assert_int_eq(ob_sigv4_presign(signer, &req, &p, &res, &err), 0);
	ck_assert_str_eq(res.query,
			 "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830"
			 "%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z"
			 "&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Security-Token=" TOKEN
			 "&X-Amz-Signature="
			 "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c");
	ck_assert_uint_eq(res.query_len, strlen(res.query));

	/* An omitted token is still sent, percent-encoded, but not signed. */
	golden_args(&goldens[7], &req, &p);
	ck_assert_int_eq(ob_sigv4_presign(signer, &req, &p, &res, &err), 0);
	ck_assert_ptr_nonnull(strstr(res.query, "&X-Amz-Security-Token=AQoDYXdzEPT%2F%2F"));
	ck_assert_ptr_nonnull(strstr(res.query, "lTJabIQwj2ICCR%2FoLxBA%3D%3D&X-Amz-Signature="
						"2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b"));
}
END_TEST

START_TEST(caller_signing_headers_are_replaced)
{
	static const struct ob_sigv4_header hdrs[] = {
		HDR("Host", "example.amazonaws.com"),
		HDR("X-Amz-Date", "19990101T000000Z"),
		HDR("authorization", "AWS4-HMAC-SHA256 junk"),
		HDR("X-Amz-Security-Token", "stale-token"),
	};
	struct ob_buf creq = OB_BUF_INIT;
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_error err;

	golden_args(&goldens[2], &req, &p);
	req.headers = hdrs;
	req.n_headers = 4;
	ck_assert_int_eq(ob_sigv4_canonical_request(signer, &req, &p, OB_SIGV4_MODE_HEADER,
						    &creq, &err), 0);
	ck_assert_str_eq(creq.data, goldens[2].creq);
	ob_buf_clear(&creq);
}
END_TEST

START_TEST(payload_hash_override)
{
	struct ob_buf creq = OB_BUF_INIT;
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_error err;

	base_request(&req, "PUT");
	base_params(&p);
	p.flags = OB_SIGV4_NO_DOUBLE_ENCODE | OB_SIGV4_SIGN_BODY;
	req.body = "ignored";
	req.body_len = 7;
	req.payload_hash = OB_SIGV4_UNSIGNED_PAYLOAD;
	ck_assert_int_eq(ob_sigv4_canonical_request(signer, &req, &p, OB_SIGV4_MODE_HEADER,
						    &creq, &err), 0);
	ck_assert_ptr_nonnull(strstr(creq.data, "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
	ck_assert_ptr_nonnull(strstr(creq.data, "\nUNSIGNED-PAYLOAD"));
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
	ck_assert_str_eq(res.payload_hash, "UNSIGNED-PAYLOAD");
	ob_buf_clear(&creq);
}
END_TEST

/* ---- canonicalisation tables -------------------------------------------- */

/* Line n (0-based) of the canonical request for path/query/headers. */
static void creq_line(const char *path, size_t path_len, const char *query, unsigned flags,
		      const struct ob_sigv4_header *hdrs, size_t n_hdrs, int line,
		      char *out, size_t out_size)
{
	struct ob_buf creq = OB_BUF_INIT;
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_error err;
	const char *s, *e;
	int i;

	base_request(&req, "GET");
	req.path = path;
	req.path_len = path_len;
	req.query = query;
	req.query_len = query != NULL ? strlen(query) : 0;
	if (hdrs != NULL) {
		req.headers = hdrs;
		req.n_headers = n_hdrs;
	}
	base_params(&p);
	p.flags = flags;
	ck_assert_msg(ob_sigv4_canonical_request(signer, &req, &p, OB_SIGV4_MODE_HEADER, &creq,
						 &err) == 0, "%s", err.message);
	s = creq.data;
	for (i = 0; i < line; i++)
		s = strchr(s, '\n') + 1;
	e = strchr(s, '\n');
	ck_assert_uint_lt((size_t)(e - s), out_size);
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	ob_buf_clear(&creq);
}

static const struct {
	const char *path;
	unsigned flags;
	const char *want;
} path_cases[] = {
	{ "/example/..", OB_SIGV4_NORMALIZE_PATH, "/" },
	{ "//example//", OB_SIGV4_NORMALIZE_PATH, "/example/" },
	{ "/a/./b/../c/", OB_SIGV4_NORMALIZE_PATH, "/a/c/" },
	{ "/a/b/..", OB_SIGV4_NORMALIZE_PATH, "/a/" },
	{ "/a/b/.", OB_SIGV4_NORMALIZE_PATH, "/a/b/" },
	{ "/..", OB_SIGV4_NORMALIZE_PATH, "/" },
	{ "/a/b/../../../c", OB_SIGV4_NORMALIZE_PATH, "/c" },
	{ "/./.", OB_SIGV4_NORMALIZE_PATH, "/" },
	{ "/a/...", OB_SIGV4_NORMALIZE_PATH, "/a/..." },
	{ "/a//b", OB_SIGV4_NORMALIZE_PATH, "/a/b" },
	{ "/a//b", 0, "/a//b" },
	{ "/example/..", 0, "/example/.." },
	{ "", OB_SIGV4_NORMALIZE_PATH, "/" },
	{ "", 0, "/" },
	{ "/a b/%41", 0, "/a%20b/%2541" },
	{ "/a%20b", OB_SIGV4_NO_DOUBLE_ENCODE, "/a%20b" },
	{ "//a/../b", OB_SIGV4_NO_DOUBLE_ENCODE | OB_SIGV4_NORMALIZE_PATH, "/b" },
	{ "/~user/x-y_z.txt", OB_SIGV4_NORMALIZE_PATH, "/~user/x-y_z.txt" },
	{ "/\xe1\x88\xb4", OB_SIGV4_NORMALIZE_PATH, "/%E1%88%B4" },
	{ "/$delete", 0, "/%24delete" },
};

START_TEST(path_table)
{
	char got[128];

	creq_line(path_cases[_i].path, strlen(path_cases[_i].path), NULL, path_cases[_i].flags,
		  NULL, 0, 1, got, sizeof(got));
	ck_assert_msg(strcmp(got, path_cases[_i].want) == 0, "path '%s' flags %u: got '%s'",
		      path_cases[_i].path, path_cases[_i].flags, got);
}
END_TEST

static const struct {
	const char *query;
	const char *want;
} query_cases[] = {
	{ "b=2&a=1&a=0&c", "a=0&a=1&b=2&c=" },
	{ "&&a=1&", "a=1" },
	{ "k=%zz", "k=%25zz" },
	{ "a+b=c d", "a%2Bb=c%20d" },
	{ "a=b=c", "a=b%3Dc" },
	{ "%41=%7e", "A=~" },
	{ "=v", "=v" },
	{ "", "" },
	{ "a", "a=" },
	{ "a=", "a=" },
	{ "B=1&a=1", "B=1&a=1" },
	{ "a=2&a=10", "a=10&a=2" },
	{ "Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2" },
	{ "\xe1\x88\xb4=bar", "%E1%88%B4=bar" },
	{ "x=%2f%2F/", "x=%2F%2F%2F" },
};

START_TEST(query_table)
{
	char got[256];

	creq_line("/", 1, query_cases[_i].query, 0, NULL, 0, 2, got, sizeof(got));
	ck_assert_msg(strcmp(got, query_cases[_i].want) == 0, "query '%s': got '%s'",
		      query_cases[_i].query, got);
}
END_TEST

START_TEST(header_values_normalised)
{
	static const struct ob_sigv4_header hdrs[] = {
		HDR("Host", "example.amazonaws.com"),
		HDR("X-Spaces", "  a   b  "),
		HDR("X-Tabs", "\tx\t\ty\t"),
		HDR("X-Fold", "v1\r\n  v2\n\tv3"),
		HDR("X-Empty", ""),
		HDR("X-Blank", "   "),
	};
	char got[128];

	creq_line("/", 1, NULL, 0, hdrs, 6, 3, got, sizeof(got));
	ck_assert_str_eq(got, "host:example.amazonaws.com");
	creq_line("/", 1, NULL, 0, hdrs, 6, 4, got, sizeof(got));
	ck_assert_str_eq(got, "x-amz-date:" AMZ_DATE);
	creq_line("/", 1, NULL, 0, hdrs, 6, 5, got, sizeof(got));
	ck_assert_str_eq(got, "x-blank:");
	creq_line("/", 1, NULL, 0, hdrs, 6, 6, got, sizeof(got));
	ck_assert_str_eq(got, "x-empty:");
	creq_line("/", 1, NULL, 0, hdrs, 6, 7, got, sizeof(got));
	ck_assert_str_eq(got, "x-fold:v1 v2 v3");
	creq_line("/", 1, NULL, 0, hdrs, 6, 8, got, sizeof(got));
	ck_assert_str_eq(got, "x-spaces:a b");
	creq_line("/", 1, NULL, 0, hdrs, 6, 9, got, sizeof(got));
	ck_assert_str_eq(got, "x-tabs:x y");
	creq_line("/", 1, NULL, 0, hdrs, 6, 11, got, sizeof(got));
	ck_assert_str_eq(got, "host;x-amz-date;x-blank;x-empty;x-fold;x-spaces;x-tabs");
}
END_TEST

/* More headers than the insertion-sort cut-off: the merge sort must keep
 * repeated names in request order. */
START_TEST(many_headers_sorted_stably)
{
	struct ob_sigv4_header hdrs[41];
	char names[40][16], values[40][16];
	struct ob_buf creq = OB_BUF_INIT, want = OB_BUF_INIT;
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_error err;
	int i;

	hdrs[0] = host_only[0];
	for (i = 0; i < 40; i++) {
		/* x-h39 .. x-h00, with every fourth one named x-dup */
		if (i % 4 == 0)
			snprintf(names[i], sizeof(names[i]), "X-Dup");
		else
			snprintf(names[i], sizeof(names[i]), "X-H%02d", 39 - i);
		snprintf(values[i], sizeof(values[i]), "v%d", i);
		hdrs[i + 1].name = names[i];
		hdrs[i + 1].name_len = strlen(names[i]);
		hdrs[i + 1].value = values[i];
		hdrs[i + 1].value_len = strlen(values[i]);
	}
	base_request(&req, "GET");
	req.headers = hdrs;
	req.n_headers = 41;
	base_params(&p);
	ck_assert_int_eq(ob_sigv4_canonical_request(signer, &req, &p, OB_SIGV4_MODE_HEADER,
						    &creq, &err), 0);

	ob_buf_puts(&want, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:" AMZ_DATE "\n");
	ob_buf_puts(&want, "x-dup:v0,v4,v8,v12,v16,v20,v24,v28,v32,v36\n");
	for (i = 0; i < 40; i++)
		if ((39 - i) % 4 != 0)
			ob_buf_printf(&want, "x-h%02d:v%d\n", i, 39 - i);
	ob_buf_puts(&want, "\nhost;x-amz-date;x-dup");
	for (i = 0; i < 40; i++)
		if ((39 - i) % 4 != 0)
			ob_buf_printf(&want, ";x-h%02d", i);
	ob_buf_puts(&want, "\n" EMPTY_SHA256);
	ck_assert_str_eq(creq.data, want.data);
	ob_buf_clear(&creq);
	ob_buf_clear(&want);
}
END_TEST

/* ---- signing keys and the cache ------------------------------------------ */

static void hex(const unsigned char *k, char out[65])
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", k[i]);
}

START_TEST(signing_key_matches_aws_example)
{
	unsigned char key[32];
	char h[65];
	struct ob_error err;

	/* AWS documentation, "Examples of how to derive a signing key". */
	ck_assert_int_eq(ob_sigv4_signing_key(signer, SECRET, AMZ_DATE, "us-east-1", "iam", key,
					      &err), 0);
	hex(key, h);
	ck_assert_str_eq(h, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}
END_TEST

START_TEST(cache_reuses_key)
{
	unsigned char a[32], b[32], c[32];
	struct ob_sigv4_stats st;
	struct ob_error err;

	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "us-east-1",
						     "service", a, &err), 0);
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, "20150830T235959Z",
						     "us-east-1", "service", b, &err), 0);
	ob_sigv4_stats(signer, &st);
	ck_assert_uint_eq(st.key_misses, 1);
	ck_assert_uint_eq(st.key_hits, 1); /* same day, other time: same key */
	ck_assert_int_eq(memcmp(a, b, 32), 0);
	ck_assert_int_eq(ob_sigv4_signing_key(signer, SECRET, AMZ_DATE, "us-east-1", "service",
					      c, &err), 0);
	ck_assert_int_eq(memcmp(a, c, 32), 0);
}
END_TEST

START_TEST(cache_distinguishes_every_part)
{
	static const struct {
		const char *secret, *date, *region, *service;
	} v[] = {
		{ SECRET, AMZ_DATE, "us-east-1", "service" },
		{ SECRET, "20150831T123600Z", "us-east-1", "service" },
		{ SECRET, AMZ_DATE, "eu-central-1", "service" },
		{ SECRET, AMZ_DATE, "us-east-1", "rds" },
		{ SECRET "X", AMZ_DATE, "us-east-1", "service" },
		{ "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", AMZ_DATE, "us-east-1", "service" },
	};
	unsigned char keys[6][32];
	struct ob_sigv4_stats st;
	struct ob_error err;
	size_t i, j;

	for (i = 0; i < 6; i++)
		ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, v[i].secret, v[i].date,
							     v[i].region, v[i].service, keys[i],
							     &err), 0);
	ob_sigv4_stats(signer, &st);
	ck_assert_uint_eq(st.key_misses, 6);
	ck_assert_uint_eq(st.key_hits, 0);
	for (i = 0; i < 6; i++)
		for (j = i + 1; j < 6; j++)
			ck_assert_msg(memcmp(keys[i], keys[j], 32) != 0, "keys %zu and %zu", i, j);
}
END_TEST

START_TEST(cache_evicts_least_recently_used)
{
	static const char *const regions[] = { "r0", "r1", "r2", "r3", "r4" };
	unsigned char key[32], first[32];
	struct ob_sigv4_stats st;
	struct ob_error err;
	size_t i;

	ck_assert_int_eq(OB_SIGV4_KEY_SLOTS, 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, regions[i],
							     "service", i == 0 ? first : key,
							     &err), 0);
	/* touch r0: r1 becomes the least recently used */
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "r0", "service",
						     key, &err), 0);
	ck_assert_int_eq(memcmp(key, first, 32), 0);
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "r4", "service",
						     key, &err), 0);
	ob_sigv4_stats(signer, &st);
	ck_assert_uint_eq(st.key_misses, 5);
	ck_assert_uint_eq(st.key_hits, 1);
	ck_assert_uint_eq(st.key_evictions, 1);

	/* r0, r2, r3, r4 are still there ... */
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "r0", "service",
						     key, &err), 0);
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "r2", "service",
						     key, &err), 0);
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "r3", "service",
						     key, &err), 0);
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "r4", "service",
						     key, &err), 0);
	ob_sigv4_stats(signer, &st);
	ck_assert_uint_eq(st.key_hits, 5);
	ck_assert_uint_eq(st.key_misses, 5);
	/* ... r1 is gone and comes back by evicting the now oldest, r0. */
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "r1", "service",
						     key, &err), 0);
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "r0", "service",
						     key, &err), 0);
	ck_assert_int_eq(memcmp(key, first, 32), 0);
	ob_sigv4_stats(signer, &st);
	ck_assert_uint_eq(st.key_misses, 7);
	ck_assert_uint_eq(st.key_evictions, 3);
}
END_TEST

START_TEST(signing_uses_cache)
{
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_sigv4_stats st;
	struct ob_error err;
	char first[65];

	golden_args(&goldens[0], &req, &p);
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
	memcpy(first, res.signature, sizeof(first));
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
	ck_assert_str_eq(res.signature, first);
	ob_sigv4_stats(signer, &st);
	ck_assert_uint_eq(st.key_misses, 1);
	ck_assert_uint_eq(st.key_hits, 1);
	p.when += 86400; /* next day: new key */
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
	ck_assert_str_ne(res.signature, first);
	ob_sigv4_stats(signer, &st);
	ck_assert_uint_eq(st.key_misses, 2);
	ob_sigv4_stats(NULL, &st);
	ck_assert_uint_eq(st.key_misses, 0);
}
END_TEST

/* ---- hostile input ------------------------------------------------------- */

static char big_value[OB_SIGV4_MAX_VALUE_LEN + 1];
static struct ob_sigv4_header many[OB_SIGV4_MAX_HEADERS + 1];
static struct ob_sigv4_header one_bad[2];

/* Each mutator breaks one thing in an otherwise valid request. */
#define MUTATOR(fn, stmt)                                                     \
	static void fn(struct ob_sigv4_request *r, struct ob_sigv4_params *p) \
	{                                                                     \
		(void)r;                                                      \
		(void)p;                                                      \
		stmt;                                                         \
	}

static void set_bad_header(struct ob_sigv4_request *r, const char *name, size_t nl,
			   const char *value, size_t vl)
{
	one_bad[0] = host_only[0];
	one_bad[1].name = name;
	one_bad[1].name_len = nl;
	one_bad[1].value = value;
	one_bad[1].value_len = vl;
	r->headers = one_bad;
	r->n_headers = 2;
}

MUTATOR(m_method_null, r->method = NULL)
MUTATOR(m_method_empty, r->method = "")
MUTATOR(m_method_space, r->method = "GE T")
MUTATOR(m_method_long, r->method = "GETGETGETGETGETGETGETGETGETGETGETGET")
MUTATOR(m_path_relative, r->path = "a/b"; r->path_len = 3)
MUTATOR(m_path_nul, r->path = "/a\0b"; r->path_len = 4)
MUTATOR(m_path_newline, r->path = "/a\r\nX: y"; r->path_len = 8)
MUTATOR(m_path_null, r->path = NULL; r->path_len = 3)
MUTATOR(m_path_huge, big_value[0] = '/'; r->path = big_value; r->path_len = sizeof(big_value))
MUTATOR(m_query_nul, r->query = "a=\0"; r->query_len = 3)
MUTATOR(m_query_null, r->query = NULL; r->query_len = 2)
MUTATOR(m_headers_null, r->headers = NULL; r->n_headers = 1)
static void m_too_many_headers(struct ob_sigv4_request *r, struct ob_sigv4_params *p)
{
	size_t i;

	(void)p;
	for (i = 0; i < OB_SIGV4_MAX_HEADERS + 1; i++)
		many[i] = host_only[0];
	r->headers = many;
	r->n_headers = OB_SIGV4_MAX_HEADERS + 1;
}
MUTATOR(m_name_empty, set_bad_header(r, "", 0, "v", 1))
MUTATOR(m_name_null, set_bad_header(r, NULL, 3, "v", 1))
MUTATOR(m_name_colon, set_bad_header(r, "Bad:Name", 8, "v", 1))
MUTATOR(m_name_space, set_bad_header(r, "Bad Name", 8, "v", 1))
static void m_name_long(struct ob_sigv4_request *r, struct ob_sigv4_params *p)
{
	(void)p;
	memset(big_value, 'a', sizeof(big_value));
	set_bad_header(r, big_value, OB_SIGV4_MAX_NAME_LEN + 1, "v", 1);
}
MUTATOR(m_value_bare_lf, set_bad_header(r, "X-A", 3, "SECRETISH\nX-Evil: 1", 19))
MUTATOR(m_value_trailing_crlf, set_bad_header(r, "X-A", 3, "v\r\n", 3))
MUTATOR(m_value_nul, set_bad_header(r, "X-A", 3, "a\0b", 3))
MUTATOR(m_value_null, set_bad_header(r, "X-A", 3, NULL, 3))
static void m_value_huge(struct ob_sigv4_request *r, struct ob_sigv4_params *p)
{
	(void)p;
	memset(big_value, 'a', sizeof(big_value));
	set_bad_header(r, "X-Big", 5, big_value, sizeof(big_value));
}
MUTATOR(m_no_host, r->headers = NULL; r->n_headers = 0)
MUTATOR(m_body_null, r->body = NULL; r->body_len = 5)
MUTATOR(m_hash_long, r->payload_hash = EMPTY_SHA256 "0")
MUTATOR(m_hash_space, r->payload_hash = "UNSIGNED PAYLOAD")
MUTATOR(m_akid_null, p->access_key_id = NULL)
MUTATOR(m_akid_bad, p->access_key_id = "AKID/EXAMPLE")
MUTATOR(m_secret_null, p->secret_access_key = NULL)
MUTATOR(m_secret_empty, p->secret_access_key = "")
static void m_secret_long(struct ob_sigv4_request *r, struct ob_sigv4_params *p)
{
	(void)r;
	memset(big_value, 'S', sizeof(big_value));
	big_value[OB_SIGV4_MAX_SECRET_LEN + 1] = '\0';
	p->secret_access_key = big_value;
}
MUTATOR(m_token_empty, p->session_token = "")
MUTATOR(m_token_newline, p->session_token = TOKEN "\r\nX-Evil: 1")
MUTATOR(m_region_null, p->region = NULL)
MUTATOR(m_region_slash, p->region = "us/east")
MUTATOR(m_service_empty, p->service = "")
MUTATOR(m_flags, p->flags = 0x100)
MUTATOR(m_when_negative, p->when = -1)
MUTATOR(m_when_huge, p->when = INT64_MAX)

static const struct {
	const char *what;
	void (*mutate)(struct ob_sigv4_request *, struct ob_sigv4_params *);
	enum ob_err_kind kind;
} bad_cases[] = {
	{ "method NULL", m_method_null, OB_ERR_INVALID },
	{ "method empty", m_method_empty, OB_ERR_INVALID },
	{ "method with space", m_method_space, OB_ERR_INVALID },
	{ "method too long", m_method_long, OB_ERR_INVALID },
	{ "relative path", m_path_relative, OB_ERR_INVALID },
	{ "path with NUL", m_path_nul, OB_ERR_INVALID },
	{ "path with CRLF", m_path_newline, OB_ERR_INVALID },
	{ "path NULL", m_path_null, OB_ERR_INVALID },
	{ "path huge", m_path_huge, OB_ERR_INVALID },
	{ "query with NUL", m_query_nul, OB_ERR_INVALID },
	{ "query NULL", m_query_null, OB_ERR_INVALID },
	{ "headers NULL", m_headers_null, OB_ERR_INVALID },
	{ "too many headers", m_too_many_headers, OB_ERR_INVALID },
	{ "header name empty", m_name_empty, OB_ERR_INVALID },
	{ "header name NULL", m_name_null, OB_ERR_INVALID },
	{ "header name with colon", m_name_colon, OB_ERR_INVALID },
	{ "header name with space", m_name_space, OB_ERR_INVALID },
	{ "header name too long", m_name_long, OB_ERR_INVALID },
	{ "header value with bare LF", m_value_bare_lf, OB_ERR_INVALID },
	{ "header value with trailing CRLF", m_value_trailing_crlf, OB_ERR_INVALID },
	{ "header value with NUL", m_value_nul, OB_ERR_INVALID },
	{ "header value NULL", m_value_null, OB_ERR_INVALID },
	{ "header value too long", m_value_huge, OB_ERR_INVALID },
	{ "no Host header", m_no_host, OB_ERR_INVALID },
	{ "body NULL", m_body_null, OB_ERR_INVALID },
	{ "payload hash too long", m_hash_long, OB_ERR_INVALID },
	{ "payload hash with space", m_hash_space, OB_ERR_INVALID },
	{ "access key id NULL", m_akid_null, OB_ERR_CREDS },
	{ "access key id with slash", m_akid_bad, OB_ERR_CREDS },
	{ "secret NULL", m_secret_null, OB_ERR_CREDS },
	{ "secret empty", m_secret_empty, OB_ERR_CREDS },
	{ "secret too long", m_secret_long, OB_ERR_CREDS },
	{ "token empty", m_token_empty, OB_ERR_CREDS },
	{ "token with CRLF", m_token_newline, OB_ERR_CREDS },
	{ "region NULL", m_region_null, OB_ERR_INVALID },
	{ "region with slash", m_region_slash, OB_ERR_INVALID },
	{ "service empty", m_service_empty, OB_ERR_INVALID },
	{ "unknown flag", m_flags, OB_ERR_INVALID },
	{ "time before 1970", m_when_negative, OB_ERR_INVALID },
	{ "time after 9999", m_when_huge, OB_ERR_INVALID },
};

static void assert_no_secret(const struct ob_error *err)
{
	ck_assert_ptr_null(strstr(err->message, SECRET));
	ck_assert_ptr_null(strstr(err->message, "EXAMPLEKEY"));
	ck_assert_ptr_null(strstr(err->message, TOKEN));
	ck_assert_ptr_null(strstr(err->message, "6e86291e"));
	ck_assert_ptr_null(strstr(err->message, "SECRETISH"));
	ck_assert_ptr_null(strstr(err->message, "SSSSSSSS"));
}

START_TEST(bad_input_is_refused)
{
	struct ob_buf creq = OB_BUF_INIT;
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_error err;
	int pass;

	for (pass = 0; pass < 3; pass++) {
		base_request(&req, "GET");
		base_params(&p);
		p.session_token = TOKEN;
		bad_cases[_i].mutate(&req, &p);
		memset(&res, 0x5a, sizeof(res));
		ob_error_clear(&err);
		if (pass == 0)
			ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), -1);
		else if (pass == 1)
			ck_assert_int_eq(ob_sigv4_presign(signer, &req, &p, &res, &err), -1);
		else
			ck_assert_int_eq(ob_sigv4_canonical_request(signer, &req, &p,
								    OB_SIGV4_MODE_HEADER, &creq,
								    &err), -1);
		ck_assert_msg(err.kind == bad_cases[_i].kind, "%s: kind %d (%s)",
			      bad_cases[_i].what, err.kind, err.message);
		ck_assert_msg(strncmp(err.message, "sigv4: ", 7) == 0, "%s: '%s'",
			      bad_cases[_i].what, err.message);
		assert_no_secret(&err);
		if (pass < 2) {
			ck_assert_ptr_null(res.authorization);
			ck_assert_ptr_null(res.query);
			ck_assert_uint_eq(res.n_headers, 0);
		}
		/* A NULL error record is allowed. */
		if (pass == 0)
			ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, NULL), -1);
	}
	ob_buf_clear(&creq);
}
END_TEST

START_TEST(presign_specific_errors)
{
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_error err;

	base_request(&req, "GET");
	base_params(&p);
	p.expires = 0;
	ck_assert_int_eq(ob_sigv4_presign(signer, &req, &p, &res, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	p.expires = OB_SIGV4_MAX_EXPIRES + 1;
	ck_assert_int_eq(ob_sigv4_presign(signer, &req, &p, &res, &err), -1);
	p.expires = OB_SIGV4_MAX_EXPIRES;
	ck_assert_int_eq(ob_sigv4_presign(signer, &req, &p, &res, &err), 0);
	req.query = "a=1&X-Amz-Signature=abc";
	req.query_len = strlen(req.query);
	ck_assert_int_eq(ob_sigv4_presign(signer, &req, &p, &res, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	/* header mode does not care about expires */
	p.expires = 0;
	req.query = NULL;
	req.query_len = 0;
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
}
END_TEST

START_TEST(null_handles)
{
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_buf b = OB_BUF_INIT;
	struct ob_error err;
	unsigned char key[32] = { 0 };
	char sig[65];

	base_request(&req, "GET");
	base_params(&p);
	ck_assert_int_eq(ob_sigv4_sign_headers(NULL, &req, &p, &res, &err), -1);
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, NULL, &p, &res, &err), -1);
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, NULL, &res, &err), -1);
	ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, NULL, &err), -1);
	ck_assert_int_eq(ob_sigv4_presign(NULL, &req, &p, &res, NULL), -1);
	ck_assert_int_eq(ob_sigv4_canonical_request(signer, &req, &p, OB_SIGV4_MODE_HEADER, NULL,
						    &err), -1);
	ck_assert_int_eq(ob_sigv4_string_to_sign(signer, "2015", "us-east-1", "service", "x", 1,
						 &b, &err), -1);
	ck_assert_int_eq(ob_sigv4_signing_key(signer, NULL, AMZ_DATE, "us-east-1", "s", key,
					      &err), -1);
	ck_assert_int_eq(ob_sigv4_cached_signing_key(signer, SECRET, AMZ_DATE, "", "s", key,
						     &err), -1);
	ck_assert_int_eq(ob_sigv4_signature(signer, NULL, "x", 1, sig, &err), -1);
	ck_assert_int_eq(ob_sigv4_authorization(AKID, AMZ_DATE, "us-east-1", "s", "host", "abc",
						&b, &err), -1);
	ob_sigv4_free(NULL);
	ob_buf_clear(&b);
}
END_TEST

/* ---- seeded random input ------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

/* Mostly plausible bytes; with hostile set, also NUL, CR and LF. */
static void random_bytes(char *out, size_t n, bool hostile)
{
	static const char alphabet[] = "aZ09-_.~/%2F?&= +:;\t\x80\xff\xe1";
	static const char evil[] = { '\0', '\r', '\n' };
	size_t i;

	for (i = 0; i < n; i++) {
		if (hostile && rnd() % 16 == 0)
			out[i] = evil[rnd() % 3];
		else
			out[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
	}
}

/* Canonical header names must come out strictly ascending (repeats are
 * joined into one line). */
static void assert_headers_sorted(const char *creq)
{
	const char *line = creq, *prev = NULL;
	size_t prev_len = 0;
	int i;

	for (i = 0; i < 3; i++)
		line = strchr(line, '\n') + 1;
	while (*line != '\n') {
		const char *colon = strchr(line, ':');
		size_t len = (size_t)(colon - line);

		if (prev != NULL) {
			int c = memcmp(prev, line, prev_len < len ? prev_len : len);

			ck_assert(c < 0 || (c == 0 && prev_len < len));
		}
		prev = line;
		prev_len = len;
		line = strchr(line, '\n') + 1;
	}
}

START_TEST(random_requests_never_crash)
{
	static const char *const names[] = { "Host", "X-A", "x-a", "X-B", "x-amz-date",
					     "Content-Type", "X-C", "Bad Name" };
	struct ob_sigv4_header hdrs[48];
	char pool[48][24], path[40], query[40];
	struct ob_buf creq = OB_BUF_INIT;
	struct ob_sigv4_request req;
	struct ob_sigv4_params p;
	struct ob_sigv4_result res;
	struct ob_error err;
	const char *env = getenv("OB_TEST_SEED");
	uint64_t seed;
	int iter, ok = 0;

	seed = env != NULL ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	printf("check_sigv4: random_requests_never_crash OB_TEST_SEED=%llu\n",
	       (unsigned long long)seed);
	fflush(stdout);
	rng_state = seed * 2 + 1;
	for (iter = 0; iter < 3000; iter++) {
		size_t i, n = 1 + rnd() % 48;
		bool hostile = rnd() % 4 == 0;

		for (i = 0; i < n; i++) {
			size_t vl = rnd() % sizeof(pool[i]);

			random_bytes(pool[i], vl, hostile);
			hdrs[i].name = i == 0 ? "Host" : names[rnd() % (hostile ? 8 : 7)];
			hdrs[i].name_len = strlen(hdrs[i].name);
			hdrs[i].value = pool[i];
			hdrs[i].value_len = vl;
		}
		random_bytes(path, sizeof(path), hostile);
		path[0] = rnd() % 20 ? '/' : 'x';
		random_bytes(query, sizeof(query), hostile);
		base_request(&req, rnd() % 2 ? "GET" : "POST");
		req.path = path;
		req.path_len = rnd() % sizeof(path);
		req.query = query;
		req.query_len = rnd() % sizeof(query);
		req.headers = hdrs;
		req.n_headers = n;
		req.body = query;
		req.body_len = rnd() % sizeof(query);
		base_params(&p);
		p.flags = rnd() % 16;
		p.session_token = rnd() % 2 ? TOKEN : NULL;
		p.when = WHEN + (int64_t)(rnd() % 200000);

		if (ob_sigv4_canonical_request(signer, &req, &p, OB_SIGV4_MODE_HEADER, &creq,
					       &err) == 0) {
			assert_headers_sorted(creq.data);
			ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), 0);
			ck_assert_uint_eq(strspn(res.signature, "0123456789abcdef"), 64);
			ck_assert_int_eq(strncmp(res.authorization, "AWS4-HMAC-SHA256 Credential="
						 AKID "/", 29 + strlen(AKID)), 0);
			ok++;
		} else {
			ck_assert(err.kind == OB_ERR_INVALID);
			ck_assert(err.message[0] != '\0');
			assert_no_secret(&err);
			ck_assert_int_eq(ob_sigv4_sign_headers(signer, &req, &p, &res, &err), -1);
		}
		if (ob_sigv4_presign(signer, &req, &p, &res, &err) == 0)
			ck_assert_ptr_nonnull(strstr(res.query, "&X-Amz-Signature="));
	}
	/* The generator must exercise the success path too. */
	ck_assert_int_gt(ok, 50);
	ob_buf_clear(&creq);
}
END_TEST

Suite *ob_suite_sigv4(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tc;

	tc = tcase_create("golden");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, golden_stages, 0, (int)(sizeof(goldens) / sizeof(goldens[0])));
	tcase_add_test(tc, header_result_lists_added_headers);
	tcase_add_test(tc, presign_query_order);
	tcase_add_test(tc, caller_signing_headers_are_replaced);
	tcase_add_test(tc, payload_hash_override);
	suite_add_tcase(s, tc);

	tc = tcase_create("canonical");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, path_table, 0, (int)(sizeof(path_cases) / sizeof(path_cases[0])));
	tcase_add_loop_test(tc, query_table, 0,
			    (int)(sizeof(query_cases) / sizeof(query_cases[0])));
	tcase_add_test(tc, header_values_normalised);
	tcase_add_test(tc, many_headers_sorted_stably);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, signing_key_matches_aws_example);
	tcase_add_test(tc, cache_reuses_key);
	tcase_add_test(tc, cache_distinguishes_every_part);
	tcase_add_test(tc, cache_evicts_least_recently_used);
	tcase_add_test(tc, signing_uses_cache);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, bad_input_is_refused, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, presign_specific_errors);
	tcase_add_test(tc, null_handles);
	tcase_add_test(tc, random_requests_never_crash);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
