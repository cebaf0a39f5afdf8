/*
 * sigv4.c - AWS Signature Version 4 request signing (see ob/sigv4.h).
 *
 * Every request the daemon sends to AWS is signed here, and this is the only
 * wire-format canonicalisation written by hand in the project. The pipeline
 * is the one AWS documents -- canonical request, string to sign, daily
 * signing key, signature, Authorization header or presigned query -- kept as
 * separate pure stages (ob/private/sigv4_stages.h) so that each is
 * golden-tested against the AWS suite.
 *
 * The signer object exists for speed and hygiene: it fetches SHA-256 and
 * HMAC once, reuses its digest contexts and buffers (nothing of ours is
 * allocated per request once the buffers have grown), caches the few daily
 * signing keys in use together with an HMAC context already keyed with
 * each, and wipes keys, secret copies and token-bearing buffers when they
 * go. Nothing here reads the clock, performs I/O or logs.
 *
 * Why one file of ~1,400 lines: it is one concern. About a third is input
 * validation (every header, path and query byte is checked before it is
 * signed) and the test-only stage entry points; splitting canonicalisation
 * from signing would only spread the signer's reused buffers over two files.
 */
#include "ob/sigv4.h"
#include "ob/private/sigv4_stages.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "ob/buf.h"
#include "ob/clock.h"
#include "ob/uri.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define MAX_METHOD_LEN 32
#define MAX_AKID_LEN 128
#define MAX_URI_PART_LEN 65536 /* path, and query, each */
#define MAX_PAYLOAD_HASH_LEN 64
#define SMALL_SORT 16 /* insertion sort up to this many entries */

/* "YYYYMMDD/region/service/aws4_request" */
#define SCOPE_MAX (8 + 1 + OB_SIGV4_MAX_SCOPE_PART + 1 + OB_SIGV4_MAX_SCOPE_PART + 1 + 12)
/* ALGORITHM "\n" amz_date "\n" scope "\n" hex */
#define STS_MAX (sizeof(ALGORITHM) + 17 + SCOPE_MAX + 1 + 64 + 1)

static char digest_name[] = "SHA256";
static const char hex_lower[16] = "0123456789abcdef";

/* A (name, value) or (key, value) pair as offsets into one buffer, so the
 * buffer may grow while pairs are collected. */
struct ent {
	size_t a_off, a_len;
	size_t b_off, b_len;
};

struct ent_vec {
	struct ent *v;
	size_t len, cap;
};

struct key_slot {
	bool used;
	uint64_t last_use;
	char *secret; /* malloc'ed copy to match against; wiped on eviction */
	size_t secret_len;
	char date[9];
	char region[OB_SIGV4_MAX_SCOPE_PART + 1];
	char service[OB_SIGV4_MAX_SCOPE_PART + 1];
	unsigned char key[32];
	EVP_MAC_CTX *mac; /* HMAC already keyed with key; created once */
};

struct ob_sigv4 {
	EVP_MD *sha256;
	EVP_MAC *hmac;
	EVP_MD_CTX *md;
	EVP_MAC_CTX *mac; /* key derivation and the uncached stage API */
	bool reinit_ok;   /* EVP_MAC_init(ctx, NULL, ...) restarts with the old key */
	struct key_slot slots[OB_SIGV4_KEY_SLOTS];
	uint64_t tick;
	struct ob_sigv4_stats stats;

	struct ob_buf hbuf; /* lowercased header names, normalised values */
	struct ob_buf qbuf; /* re-encoded query keys and values */
	struct ob_buf tmp;  /* percent-decoding scratch */
	struct ob_buf path; /* normalised path */
	struct ob_buf sh;   /* "host;x-amz-date" */
	struct ob_buf creq; /* canonical request */
	struct ob_buf out;  /* what struct ob_sigv4_result points into */
	struct ent_vec hents, qents;
	struct ent *sort_tmp;
	size_t sort_tmp_cap;
	size_t cred_off, cred_len; /* encoded X-Amz-Credential value in qbuf */
	size_t shq_off, shq_len;   /* encoded X-Amz-SignedHeaders value in qbuf */
};

/* Per-call values shared by the stages. */
struct job {
	enum ob_sigv4_mode mode;
	char amz_date[17];
	char payload_hash[MAX_PAYLOAD_HASH_LEN + 1];
	char expires[12];
	bool token_signed; /* the token is part of the canonical request */
};

static int nomem(struct ob_error *err, const char *what)
{
	return ob_error_set(err, OB_ERR_NOMEM, "sigv4: out of memory building the %s", what);
}

static int invalid(struct ob_error *err, const char *msg)
{
	return ob_error_set(err, OB_ERR_INVALID, "sigv4: %s", msg);
}

static int crypto_failed(struct ob_error *err, const char *what)
{
	return ob_error_set(err, OB_ERR_INVALID, "sigv4: OpenSSL %s failed", what);
}

static void hex32(const unsigned char in[32], char out[65])
{
	size_t i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hex_lower[in[i] >> 4];
		out[2 * i + 1] = hex_lower[in[i] & 0x0f];
	}
	out[64] = '\0';
}

static bool all_unreserved(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ob_uri_unreserved((unsigned char)s[i]))
			return false;
	return true;
}

/* memchr() is vectorised: session tokens run past a kilobyte. */
static bool has_nul_or_newline(const char *s, size_t n)
{
	return memchr(s, '\n', n) != NULL || memchr(s, '\r', n) != NULL ||
	       memchr(s, '\0', n) != NULL;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

static bool bytes_eq(const char *a, size_t an, const char *lit)
{
	size_t n = strlen(lit);

	return an == n && memcmp(a, lit, n) == 0;
}

/* ---- crypto ------------------------------------------------------------ */

static int sha256(struct ob_sigv4 *s, const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	if (!EVP_DigestInit_ex2(s->md, s->sha256, NULL) || !EVP_DigestUpdate(s->md, p, n) ||
	    !EVP_DigestFinal_ex(s->md, out, &len) || len != 32)
		return -1;
	return 0;
}

static int hmac_keyed(EVP_MAC_CTX *ctx, const void *key, size_t keylen, const void *msg,
		      size_t n, unsigned char out[32])
{
	size_t len = 0;

	if (!EVP_MAC_init(ctx, key, keylen, NULL) || !EVP_MAC_update(ctx, msg, n) ||
	    !EVP_MAC_final(ctx, out, &len, 32) || len != 32)
		return -1;
	return 0;
}

static EVP_MAC_CTX *new_hmac_ctx(struct ob_sigv4 *s)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;

	ctx = EVP_MAC_CTX_new(s->hmac);
	if (ctx == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(ctx, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Does EVP_MAC_init() with a NULL key restart HMAC with the key already
 * set? OpenSSL 3.0.22 does; checked at run time so that an OpenSSL that
 * does not only costs speed, never a wrong signature. */
static bool check_reinit(struct ob_sigv4 *s)
{
	static const unsigned char key[32] = { 1, 2, 3 };
	unsigned char a[32], b[32], c[32];
	size_t len = 0;
	bool ok;

	if (hmac_keyed(s->mac, key, sizeof(key), "abc", 3, a) < 0 ||
	    hmac_keyed(s->mac, key, sizeof(key), "xyz", 3, c) < 0)
		return false;
	ok = EVP_MAC_init(s->mac, NULL, 0, NULL) &&
	     EVP_MAC_update(s->mac, (const unsigned char *)"abc", 3) &&
	     EVP_MAC_final(s->mac, b, &len, sizeof(b)) && len == 32 &&
	     memcmp(a, b, 32) == 0 && memcmp(a, c, 32) != 0;
	return ok;
}

static size_t put_scope(char out[SCOPE_MAX + 1], const char *amz_date, const char *region,
			const char *service)
{
	size_t rl = strlen(region), sl = strlen(service), n = 0;

	memcpy(out, amz_date, 8);
	n = 8;
	out[n++] = '/';
	memcpy(out + n, region, rl);
	n += rl;
	out[n++] = '/';
	memcpy(out + n, service, sl);
	n += sl;
	out[n++] = '/';
	memcpy(out + n, TERMINATOR, sizeof(TERMINATOR) - 1);
	n += sizeof(TERMINATOR) - 1;
	out[n] = '\0';
	return n;
}

static const unsigned char zero_key[32];

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request"). Intermediate keys are wiped, and the derivation context
 * is re-keyed with zeros so no key lingers inside OpenSSL either. */
static int derive_key(struct ob_sigv4 *s, const char *secret, size_t secret_len,
		      const char *date8, const char *region, const char *service,
		      unsigned char key[32])
{
	unsigned char ksecret[4 + OB_SIGV4_MAX_SECRET_LEN];
	unsigned char k1[32], k2[32];
	int rc = -1;

	if (secret_len > OB_SIGV4_MAX_SECRET_LEN)
		return -1;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret, secret_len);
	if (hmac_keyed(s->mac, ksecret, 4 + secret_len, date8, 8, k1) < 0 ||
	    hmac_keyed(s->mac, k1, 32, region, strlen(region), k2) < 0 ||
	    hmac_keyed(s->mac, k2, 32, service, strlen(service), k1) < 0 ||
	    hmac_keyed(s->mac, k1, 32, TERMINATOR, sizeof(TERMINATOR) - 1, key) < 0)
		goto out;
	rc = 0;
out:
	EVP_MAC_init(s->mac, zero_key, sizeof(zero_key), NULL);
	OPENSSL_cleanse(ksecret, sizeof(ksecret));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	if (rc < 0)
		OPENSSL_cleanse(key, 32);
	return rc;
}

/* Forget a cached key: the secret copy, the key and, by re-keying it with
 * zeros, the HMAC state derived from the key inside OpenSSL. */
static void wipe_slot(struct key_slot *slot)
{
	if (slot->mac != NULL && slot->used)
		EVP_MAC_init(slot->mac, zero_key, sizeof(zero_key), NULL);
	if (slot->secret != NULL) {
		OPENSSL_cleanse(slot->secret, slot->secret_len);
		free(slot->secret);
	}
	slot->secret = NULL;
	slot->secret_len = 0;
	OPENSSL_cleanse(slot->key, sizeof(slot->key));
	slot->used = false;
}

/* The slot holding the signing key for (secret, date, region, service),
 * deriving it into the least recently used slot on a miss. */
static struct key_slot *lookup_key(struct ob_sigv4 *s, const char *secret, const char *amz_date,
				   const char *region, const char *service, struct ob_error *err)
{
	size_t secret_len = strlen(secret);
	struct key_slot *victim = NULL, *slot;
	size_t i;

	for (i = 0; i < OB_SIGV4_KEY_SLOTS; i++) {
		slot = &s->slots[i];
		if (!slot->used) {
			if (victim == NULL || victim->used)
				victim = slot;
			continue;
		}
		if (slot->secret_len == secret_len && memcmp(slot->date, amz_date, 8) == 0 &&
		    strcmp(slot->region, region) == 0 && strcmp(slot->service, service) == 0 &&
		    CRYPTO_memcmp(slot->secret, secret, secret_len) == 0) {
			slot->last_use = ++s->tick;
			s->stats.key_hits++;
			return slot;
		}
		if (victim == NULL || (victim->used && slot->last_use < victim->last_use))
			victim = slot;
	}

	s->stats.key_misses++;
	slot = victim;
	if (slot->used) {
		s->stats.key_evictions++;
		wipe_slot(slot);
	}
	if (slot->mac == NULL && (slot->mac = new_hmac_ctx(s)) == NULL) {
		crypto_failed(err, "HMAC context");
		return NULL;
	}
	slot->secret = malloc(secret_len + 1);
	if (slot->secret == NULL) {
		nomem(err, "signing key cache");
		return NULL;
	}
	memcpy(slot->secret, secret, secret_len + 1);
	slot->secret_len = secret_len;
	if (derive_key(s, secret, secret_len, amz_date, region, service, slot->key) < 0 ||
	    !EVP_MAC_init(slot->mac, slot->key, sizeof(slot->key), NULL)) {
		wipe_slot(slot);
		crypto_failed(err, "signing key derivation");
		return NULL;
	}
	memcpy(slot->date, amz_date, 8);
	slot->date[8] = '\0';
	memcpy(slot->region, region, strlen(region) + 1);
	memcpy(slot->service, service, strlen(service) + 1);
	slot->used = true;
	slot->last_use = ++s->tick;
	return slot;
}

static int slot_sign(struct ob_sigv4 *s, struct key_slot *slot, const char *sts, size_t n,
		     unsigned char out[32])
{
	size_t len = 0;

	if (!s->reinit_ok)
		return hmac_keyed(slot->mac, slot->key, sizeof(slot->key), sts, n, out);
	if (!EVP_MAC_init(slot->mac, NULL, 0, NULL) ||
	    !EVP_MAC_update(slot->mac, (const unsigned char *)sts, n) ||
	    !EVP_MAC_final(slot->mac, out, &len, 32) || len != 32)
		return -1;
	return 0;
}

/* ---- sorting without allocation --------------------------------------- */

static int ent_cmp(const char *base, const struct ent *x, const struct ent *y, bool by_value)
{
	int c = bytes_cmp(base + x->a_off, x->a_len, base + y->a_off, y->a_len);

	if (c != 0 || !by_value)
		return c;
	return bytes_cmp(base + x->b_off, x->b_len, base + y->b_off, y->b_len);
}

static void insertion_sort(struct ent *v, size_t n, const char *base, bool by_value)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct ent e = v[i];

		for (j = i; j > 0 && ent_cmp(base, &v[j - 1], &e, by_value) > 0; j--)
			v[j] = v[j - 1];
		v[j] = e;
	}
}

/* Stable: duplicate header names must keep their order. Bottom-up merge
 * sort over runs of SMALL_SORT; tmp holds n entries. */
static void stable_sort(struct ent *v, struct ent *tmp, size_t n, const char *base,
			bool by_value)
{
	struct ent *src = v, *dst = tmp, *swap;
	size_t width, lo, i;

	for (lo = 0; lo < n; lo += SMALL_SORT)
		insertion_sort(v + lo, n - lo < SMALL_SORT ? n - lo : SMALL_SORT, base, by_value);
	for (width = SMALL_SORT; width < n; width *= 2) {
		for (lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t a = lo, b = mid;

			for (i = lo; i < hi; i++) {
				if (a < mid && (b >= hi || ent_cmp(base, &src[a], &src[b], by_value) <= 0))
					dst[i] = src[a++];
				else
					dst[i] = src[b++];
			}
		}
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

static int ent_reserve(struct ent_vec *vec, size_t n)
{
	struct ent *p;
	size_t cap;

	if (n <= vec->cap)
		return 0;
	cap = vec->cap ? vec->cap : 16;
	while (cap < n)
		cap *= 2;
	p = realloc(vec->v, cap * sizeof(*p));
	if (p == NULL)
		return -1;
	vec->v = p;
	vec->cap = cap;
	return 0;
}

static int sort_ents(struct ob_sigv4 *s, struct ent_vec *vec, const char *base, bool by_value)
{
	struct ent *p;

	if (vec->len <= SMALL_SORT) {
		insertion_sort(vec->v, vec->len, base, by_value);
		return 0;
	}
	if (vec->len > s->sort_tmp_cap) {
		p = realloc(s->sort_tmp, vec->cap * sizeof(*p));
		if (p == NULL)
			return -1;
		s->sort_tmp = p;
		s->sort_tmp_cap = vec->cap;
	}
	stable_sort(vec->v, s->sort_tmp, vec->len, base, by_value);
	return 0;
}

/* ---- validation --------------------------------------------------------- */

static bool scope_part_ok(const char *p)
{
	size_t n;

	if (p == NULL)
		return false;
	n = strlen(p);
	return n > 0 && n <= OB_SIGV4_MAX_SCOPE_PART && all_unreserved(p, n);
}

static int check_params(const struct ob_sigv4_params *p, enum ob_sigv4_mode mode,
			struct job *job, struct ob_error *err)
{
	size_t n;

	if (p == NULL)
		return invalid(err, "no signing parameters");
	if (p->access_key_id == NULL || p->access_key_id[0] == '\0')
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: access key id is missing");
	n = strlen(p->access_key_id);
	if (n > MAX_AKID_LEN || !all_unreserved(p->access_key_id, n))
		return ob_error_set(err, OB_ERR_CREDS,
				    "sigv4: access key id is malformed (%zu bytes)", n);
	if (p->secret_access_key == NULL || p->secret_access_key[0] == '\0')
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: secret access key is missing");
	if (strlen(p->secret_access_key) > OB_SIGV4_MAX_SECRET_LEN)
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: secret access key is too long");
	if (p->session_token != NULL) {
		n = strlen(p->session_token);
		if (n == 0)
			return ob_error_set(err, OB_ERR_CREDS, "sigv4: session token is empty");
		if (n > OB_SIGV4_MAX_VALUE_LEN)
			return ob_error_set(err, OB_ERR_CREDS, "sigv4: session token is too long");
		if (has_nul_or_newline(p->session_token, n))
			return ob_error_set(err, OB_ERR_CREDS,
					    "sigv4: session token contains a line break");
	}
	if (!scope_part_ok(p->region))
		return invalid(err, "region is missing or not made of A-Z a-z 0-9 - _ . ~");
	if (!scope_part_ok(p->service))
		return invalid(err, "service is missing or not made of A-Z a-z 0-9 - _ . ~");
	if ((p->flags & ~(OB_SIGV4_NORMALIZE_PATH | OB_SIGV4_NO_DOUBLE_ENCODE |
			  OB_SIGV4_SIGN_BODY | OB_SIGV4_OMIT_TOKEN)) != 0)
		return ob_error_set(err, OB_ERR_INVALID, "sigv4: unknown flags 0x%x", p->flags);
	if (ob_clock_format_amz(p->when, job->amz_date) < 0)
		return invalid(err, "signing time out of range");
	if (mode == OB_SIGV4_MODE_QUERY) {
		if (p->expires == 0 || p->expires > OB_SIGV4_MAX_EXPIRES)
			return ob_error_set(err, OB_ERR_INVALID,
					    "sigv4: presign expiry %u not in 1..%d seconds",
					    p->expires, OB_SIGV4_MAX_EXPIRES);
		snprintf(job->expires, sizeof(job->expires), "%u", p->expires);
	}
	job->mode = mode;
	job->token_signed = p->session_token != NULL && !(p->flags & OB_SIGV4_OMIT_TOKEN);
	return 0;
}

static int check_request(const struct ob_sigv4_request *req, struct ob_error *err)
{
	size_t i, n;

	if (req == NULL)
		return invalid(err, "no request");
	if (req->method == NULL || req->method[0] == '\0')
		return invalid(err, "request method is missing");
	n = strlen(req->method);
	if (n > MAX_METHOD_LEN)
		return invalid(err, "request method is too long");
	for (i = 0; i < n; i++)
		if (!ob_uri_tchar((unsigned char)req->method[i]))
			return invalid(err, "request method has a character not allowed in a token");
	if (req->path == NULL && req->path_len > 0)
		return invalid(err, "request path is NULL");
	if (req->path_len > MAX_URI_PART_LEN)
		return invalid(err, "request path is too long");
	if (req->path_len > 0 && req->path[0] != '/')
		return invalid(err, "request path does not start with '/'");
	if (req->path_len > 0 && has_nul_or_newline(req->path, req->path_len))
		return invalid(err, "request path contains a NUL byte or a line break");
	if (req->query == NULL && req->query_len > 0)
		return invalid(err, "request query is NULL");
	if (req->query_len > MAX_URI_PART_LEN)
		return invalid(err, "request query is too long");
	if (req->query_len > 0 && has_nul_or_newline(req->query, req->query_len))
		return invalid(err, "request query contains a NUL byte or a line break");
	if (req->headers == NULL && req->n_headers > 0)
		return invalid(err, "request headers are NULL");
	if (req->n_headers > OB_SIGV4_MAX_HEADERS)
		return ob_error_set(err, OB_ERR_INVALID, "sigv4: more than %d headers",
				    OB_SIGV4_MAX_HEADERS);
	if (req->body == NULL && req->body_len > 0)
		return invalid(err, "request body is NULL");
	if (req->payload_hash != NULL) {
		n = strlen(req->payload_hash);
		if (n == 0 || n > MAX_PAYLOAD_HASH_LEN)
			return invalid(err, "payload hash must be 1..64 characters");
		for (i = 0; i < n; i++)
			if (req->payload_hash[i] <= ' ' || req->payload_hash[i] >= 0x7f)
				return invalid(err, "payload hash has a character outside printable ASCII");
	}
	return 0;
}

/* ---- stage 1: canonical request ---------------------------------------- */

/* Append the canonical form of a header value: leading and trailing
 * whitespace dropped, runs of SP/HT and obs-fold line breaks ("\r\n " or
 * "\n ") collapsed to one space. A NUL, or a line break that does not
 * continue the value, is refused: it would let a value smuggle a header. */
static int put_header_value(struct ob_buf *b, const char *v, size_t n)
{
	char *w = b->data + b->len;
	bool space = false, any = false;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = v[i];

		if (c == '\r') {
			if (i + 1 >= n || v[i + 1] != '\n')
				return -1;
			continue;
		}
		if (c == '\n') {
			if (i + 1 >= n || (v[i + 1] != ' ' && v[i + 1] != '\t'))
				return -1;
			space = any;
			continue;
		}
		if (c == ' ' || c == '\t') {
			space = any;
			continue;
		}
		if (c == '\0')
			return -1;
		if (space) {
			*w++ = ' ';
			space = false;
		}
		*w++ = c;
		any = true;
	}
	b->len = (size_t)(w - b->data);
	b->data[b->len] = '\0';
	return 0;
}

/* Append a header the signer supplies; the value needs no normalising. */
static int push_own_header(struct ob_sigv4 *s, const char *name, const char *value)
{
	struct ent *e = &s->hents.v[s->hents.len];
	size_t nl = strlen(name), vl = strlen(value);
	int rc = 0;

	e->a_off = s->hbuf.len;
	e->a_len = nl;
	rc |= ob_buf_append(&s->hbuf, name, nl);
	e->b_off = s->hbuf.len;
	e->b_len = vl;
	rc |= ob_buf_append(&s->hbuf, value, vl);
	if (rc < 0)
		return -1;
	s->hents.len++;
	return 0;
}

static int canon_headers(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
			 const struct ob_sigv4_params *p, const struct job *job,
			 struct ob_error *err)
{
	bool have_host = false, sign_body;
	size_t i, j;
	int rc = 0;

	sign_body = job->mode == OB_SIGV4_MODE_HEADER && (p->flags & OB_SIGV4_SIGN_BODY);
	ob_buf_reset(&s->hbuf);
	ob_buf_reset(&s->sh);
	s->hents.len = 0;
	if (ent_reserve(&s->hents, req->n_headers + 3) < 0)
		return nomem(err, "canonical headers");

	for (i = 0; i < req->n_headers; i++) {
		const struct ob_sigv4_header *h = &req->headers[i];
		size_t mark = s->hbuf.len;
		struct ent *e;
		char *name;

		if (h->name == NULL || h->name_len == 0)
			return ob_error_set(err, OB_ERR_INVALID, "sigv4: header %zu has no name", i);
		if (h->name_len > OB_SIGV4_MAX_NAME_LEN)
			return ob_error_set(err, OB_ERR_INVALID,
					    "sigv4: header %zu: name longer than %d bytes", i,
					    OB_SIGV4_MAX_NAME_LEN);
		for (j = 0; j < h->name_len; j++)
			if (!ob_uri_tchar((unsigned char)h->name[j]))
				return ob_error_set(err, OB_ERR_INVALID,
						    "sigv4: header %zu: name has a character not "
						    "allowed in HTTP header names", i);
		/* From here on the name is a plain token, safe to print; the
		 * value never is. */
		if (h->value == NULL && h->value_len > 0)
			return ob_error_set(err, OB_ERR_INVALID, "sigv4: header %.*s has a NULL value",
					    (int)h->name_len, h->name);
		if (h->value_len > OB_SIGV4_MAX_VALUE_LEN)
			return ob_error_set(err, OB_ERR_INVALID,
					    "sigv4: header %.*s: value longer than %d bytes",
					    (int)h->name_len, h->name, OB_SIGV4_MAX_VALUE_LEN);
		if (ob_buf_reserve(&s->hbuf, h->name_len + h->value_len) < 0)
			return nomem(err, "canonical headers");
		name = s->hbuf.data + mark;
		for (j = 0; j < h->name_len; j++) {
			char c = h->name[j];

			name[j] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
		}
		s->hbuf.len += h->name_len;
		s->hbuf.data[s->hbuf.len] = '\0';

		/* The signer owns these; the caller's copies are dropped. */
		if (bytes_eq(name, h->name_len, "authorization") ||
		    bytes_eq(name, h->name_len, "x-amz-date") ||
		    (p->session_token != NULL &&
		     bytes_eq(name, h->name_len, "x-amz-security-token")) ||
		    (sign_body && bytes_eq(name, h->name_len, "x-amz-content-sha256"))) {
			s->hbuf.len = mark;
			s->hbuf.data[mark] = '\0';
			continue;
		}
		if (bytes_eq(name, h->name_len, "host"))
			have_host = true;
		e = &s->hents.v[s->hents.len++];
		e->a_off = mark;
		e->a_len = h->name_len;
		e->b_off = s->hbuf.len;
		if (h->value_len > 0 && put_header_value(&s->hbuf, h->value, h->value_len) < 0)
			return ob_error_set(err, OB_ERR_INVALID,
					    "sigv4: header %.*s: value has a NUL byte or a bare "
					    "line break", (int)h->name_len, h->name);
		e->b_len = s->hbuf.len - e->b_off;
	}
	if (!have_host)
		return invalid(err, "request has no Host header");

	if (job->mode == OB_SIGV4_MODE_HEADER) {
		rc |= push_own_header(s, "x-amz-date", job->amz_date);
		if (job->token_signed)
			rc |= push_own_header(s, "x-amz-security-token", p->session_token);
		if (sign_body)
			rc |= push_own_header(s, "x-amz-content-sha256", job->payload_hash);
	}
	if (rc < 0 || sort_ents(s, &s->hents, s->hbuf.data, false) < 0)
		return nomem(err, "canonical headers");

	for (i = 0; i < s->hents.len; i++) {
		const struct ent *e = &s->hents.v[i];

		if (i > 0 &&
		    bytes_cmp(s->hbuf.data + e->a_off, e->a_len,
			      s->hbuf.data + s->hents.v[i - 1].a_off, s->hents.v[i - 1].a_len) == 0)
			continue;
		if (i > 0)
			rc |= ob_buf_putc(&s->sh, ';');
		rc |= ob_buf_append(&s->sh, s->hbuf.data + e->a_off, e->a_len);
	}
	if (rc < 0)
		return nomem(err, "signed headers");
	return 0;
}

/* Append one query component, percent-decoded then re-encoded, to qbuf. */
static int put_query_part(struct ob_sigv4 *s, const char *p, size_t n, size_t *ret_off,
			  size_t *ret_len)
{
	*ret_off = s->qbuf.len;
	if (memchr(p, '%', n) == NULL) {
		if (ob_uri_encode(&s->qbuf, p, n, false) < 0)
			return -1;
	} else {
		ob_buf_reset(&s->tmp);
		if (ob_uri_decode(&s->tmp, p, n) < 0 ||
		    ob_uri_encode(&s->qbuf, s->tmp.data, s->tmp.len, false) < 0)
			return -1;
	}
	*ret_len = s->qbuf.len - *ret_off;
	return 0;
}

static int push_own_param(struct ob_sigv4 *s, const char *key, const char *value, size_t vl,
			  bool encode, size_t *ret_voff, size_t *ret_vlen)
{
	struct ent *e;
	int rc = 0;

	if (ent_reserve(&s->qents, s->qents.len + 1) < 0)
		return -1;
	e = &s->qents.v[s->qents.len];
	e->a_off = s->qbuf.len;
	e->a_len = strlen(key);
	rc |= ob_buf_append(&s->qbuf, key, e->a_len);
	e->b_off = s->qbuf.len;
	if (encode)
		rc |= ob_uri_encode(&s->qbuf, value, vl, false);
	else
		rc |= ob_buf_append(&s->qbuf, value, vl);
	if (rc < 0)
		return -1;
	e->b_len = s->qbuf.len - e->b_off;
	if (ret_voff != NULL) {
		*ret_voff = e->b_off;
		*ret_vlen = e->b_len;
	}
	s->qents.len++;
	return 0;
}

static bool is_presign_key(const char *k, size_t n)
{
	static const char *const keys[] = {
		"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
		"X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
	};
	size_t i;

	if (n < 6 || memcmp(k, "X-Amz-", 6) != 0)
		return false;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (bytes_eq(k, n, keys[i]))
			return true;
	return false;
}

static int canon_query(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
		       const struct ob_sigv4_params *p, const struct job *job,
		       struct ob_error *err)
{
	const char *q = req->query_len > 0 ? req->query : NULL;
	const char *end = q != NULL ? q + req->query_len : NULL;
	char cred[MAX_AKID_LEN + 1 + SCOPE_MAX + 1];
	size_t cl;

	ob_buf_reset(&s->qbuf);
	s->qents.len = 0;
	while (q != NULL && q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *eq;
		struct ent *e;

		if (amp == NULL)
			amp = end;
		if (amp == q) {
			q = amp + 1;
			continue;
		}
		eq = memchr(q, '=', (size_t)(amp - q));
		if (ent_reserve(&s->qents, s->qents.len + 1) < 0)
			return nomem(err, "canonical query");
		e = &s->qents.v[s->qents.len];
		if (put_query_part(s, q, (size_t)((eq ? eq : amp) - q), &e->a_off, &e->a_len) < 0 ||
		    put_query_part(s, eq ? eq + 1 : amp, eq ? (size_t)(amp - eq - 1) : 0,
				   &e->b_off, &e->b_len) < 0)
			return nomem(err, "canonical query");
		if (job->mode == OB_SIGV4_MODE_QUERY &&
		    is_presign_key(s->qbuf.data + e->a_off, e->a_len))
			return invalid(err, "query already carries X-Amz-* signing parameters");
		s->qents.len++;
		q = amp + 1;
	}

	if (job->mode == OB_SIGV4_MODE_QUERY) {
		cl = strlen(p->access_key_id);
		memcpy(cred, p->access_key_id, cl);
		cred[cl++] = '/';
		cl += put_scope(cred + cl, job->amz_date, p->region, p->service);
		if (push_own_param(s, "X-Amz-Algorithm", ALGORITHM, sizeof(ALGORITHM) - 1, false,
				   NULL, NULL) < 0 ||
		    push_own_param(s, "X-Amz-Credential", cred, cl, true, &s->cred_off,
				   &s->cred_len) < 0 ||
		    push_own_param(s, "X-Amz-Date", job->amz_date, 16, false, NULL, NULL) < 0 ||
		    push_own_param(s, "X-Amz-Expires", job->expires, strlen(job->expires), false,
				   NULL, NULL) < 0 ||
		    push_own_param(s, "X-Amz-SignedHeaders", s->sh.data, s->sh.len, true,
				   &s->shq_off, &s->shq_len) < 0 ||
		    (job->token_signed &&
		     push_own_param(s, "X-Amz-Security-Token", p->session_token,
				    strlen(p->session_token), true, NULL, NULL) < 0))
			return nomem(err, "canonical query");
	}
	if (sort_ents(s, &s->qents, s->qbuf.data, true) < 0)
		return nomem(err, "canonical query");
	return 0;
}

/* RFC 3986 remove_dot_segments plus collapsing empty segments; a trailing
 * slash (or a final "." / "..") is kept: "/a/./b/../c/" -> "/a/c/". */
static int normalize_path(struct ob_buf *out, const char *p, size_t n)
{
	bool trailing = false;
	size_t i = 0, w = 0;
	char *d;

	ob_buf_reset(out);
	if (ob_buf_reserve(out, n + 2) < 0)
		return -1;
	d = out->data;
	while (i < n) {
		size_t start, len;

		if (p[i] == '/') {
			trailing = true;
			i++;
			continue;
		}
		start = i;
		while (i < n && p[i] != '/')
			i++;
		len = i - start;
		if (len == 1 && p[start] == '.') {
			trailing = true;
		} else if (len == 2 && p[start] == '.' && p[start + 1] == '.') {
			while (w > 0 && d[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
			trailing = true;
		} else {
			d[w++] = '/';
			memcpy(d + w, p + start, len);
			w += len;
			trailing = false;
		}
	}
	if (w == 0 || trailing)
		d[w++] = '/';
	out->len = w;
	d[w] = '\0';
	return 0;
}

/* Build s->creq: method, path, query, headers, signed headers, payload
 * hash. Leaves s->sh and the query offsets set for the later stages. */
static int build_creq(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
		      const struct ob_sigv4_params *p, struct job *job, struct ob_error *err)
{
	const char *path = req->path_len > 0 ? req->path : "/";
	size_t path_len = req->path_len > 0 ? req->path_len : 1;
	unsigned char digest[32];
	size_t i;
	int rc = 0;

	if (req->payload_hash != NULL) {
		memcpy(job->payload_hash, req->payload_hash, strlen(req->payload_hash) + 1);
	} else {
		if (sha256(s, req->body, req->body_len, digest) < 0)
			return crypto_failed(err, "SHA-256");
		hex32(digest, job->payload_hash);
	}
	if (canon_headers(s, req, p, job, err) < 0 || canon_query(s, req, p, job, err) < 0)
		return -1;

	if (p->flags & OB_SIGV4_NORMALIZE_PATH) {
		if (normalize_path(&s->path, path, path_len) < 0)
			return nomem(err, "canonical path");
		path = s->path.data;
		path_len = s->path.len;
	}

	ob_buf_reset(&s->creq);
	rc |= ob_buf_puts(&s->creq, req->method);
	rc |= ob_buf_putc(&s->creq, '\n');
	if (p->flags & OB_SIGV4_NO_DOUBLE_ENCODE)
		rc |= ob_buf_append(&s->creq, path, path_len);
	else
		rc |= ob_uri_encode(&s->creq, path, path_len, true);
	rc |= ob_buf_putc(&s->creq, '\n');
	for (i = 0; i < s->qents.len; i++) {
		const struct ent *e = &s->qents.v[i];

		if (i > 0)
			rc |= ob_buf_putc(&s->creq, '&');
		rc |= ob_buf_append(&s->creq, s->qbuf.data + e->a_off, e->a_len);
		rc |= ob_buf_putc(&s->creq, '=');
		rc |= ob_buf_append(&s->creq, s->qbuf.data + e->b_off, e->b_len);
	}
	rc |= ob_buf_putc(&s->creq, '\n');
	for (i = 0; i < s->hents.len; i++) {
		const struct ent *e = &s->hents.v[i];

		rc |= ob_buf_append(&s->creq, s->hbuf.data + e->a_off, e->a_len);
		rc |= ob_buf_putc(&s->creq, ':');
		rc |= ob_buf_append(&s->creq, s->hbuf.data + e->b_off, e->b_len);
		/* Repeated names: one line, values joined by ',' in order. */
		while (i + 1 < s->hents.len &&
		       bytes_cmp(s->hbuf.data + e->a_off, e->a_len,
				 s->hbuf.data + s->hents.v[i + 1].a_off, s->hents.v[i + 1].a_len) == 0) {
			const struct ent *next = &s->hents.v[++i];

			rc |= ob_buf_putc(&s->creq, ',');
			rc |= ob_buf_append(&s->creq, s->hbuf.data + next->b_off, next->b_len);
		}
		rc |= ob_buf_putc(&s->creq, '\n');
	}
	rc |= ob_buf_putc(&s->creq, '\n');
	rc |= ob_buf_append(&s->creq, s->sh.data, s->sh.len);
	rc |= ob_buf_putc(&s->creq, '\n');
	rc |= ob_buf_puts(&s->creq, job->payload_hash);
	if (rc < 0)
		return nomem(err, "canonical request");
	return 0;
}

/* ---- stage 2: string to sign -------------------------------------------- */

static int build_sts(struct ob_sigv4 *s, const char *amz_date, const char *region,
		     const char *service, const char *creq, size_t creq_len, char out[STS_MAX],
		     size_t *ret_len)
{
	unsigned char digest[32];
	size_t n = 0;

	if (sha256(s, creq, creq_len, digest) < 0)
		return -1;
	memcpy(out, ALGORITHM "\n", sizeof(ALGORITHM));
	n = sizeof(ALGORITHM);
	memcpy(out + n, amz_date, 16);
	n += 16;
	out[n++] = '\n';
	n += put_scope(out + n, amz_date, region, service);
	out[n++] = '\n';
	hex32(digest, out + n);
	n += 64;
	*ret_len = n;
	return 0;
}

/* ---- the whole pipeline ------------------------------------------------- */

static int put_line(struct ob_buf *b, const char *name, const char *value, size_t vl,
		    size_t *ret_off)
{
	int rc = 0;

	*ret_off = b->len;
	rc |= ob_buf_puts(b, name);
	rc |= ob_buf_append(b, ": ", 2);
	rc |= ob_buf_append(b, value, vl);
	rc |= ob_buf_putc(b, '\0');
	return rc;
}

static int put_authorization(struct ob_buf *b, const char *akid, const char *amz_date,
			     const char *region, const char *service, const char *sh,
			     size_t sh_len, const char *sig)
{
	char scope[SCOPE_MAX + 1];
	size_t n = put_scope(scope, amz_date, region, service);
	int rc = 0;

	rc |= ob_buf_puts(b, ALGORITHM " Credential=");
	rc |= ob_buf_puts(b, akid);
	rc |= ob_buf_putc(b, '/');
	rc |= ob_buf_append(b, scope, n);
	rc |= ob_buf_puts(b, ", SignedHeaders=");
	rc |= ob_buf_append(b, sh, sh_len);
	rc |= ob_buf_puts(b, ", Signature=");
	rc |= ob_buf_append(b, sig, 64);
	return rc;
}

static int header_outputs(struct ob_sigv4 *s, const struct ob_sigv4_params *p,
			  const struct job *job, struct ob_sigv4_result *ret)
{
	static const char *const names[4] = {
		"X-Amz-Security-Token", "X-Amz-Date", "x-amz-content-sha256", "Authorization",
	};
	size_t off[4], authz_off;
	bool want[4];
	size_t i, n = 0;
	int rc = 0;

	want[0] = p->session_token != NULL;
	want[1] = true;
	want[2] = (p->flags & OB_SIGV4_SIGN_BODY) != 0;
	want[3] = true;
	ob_buf_reset(&s->out);
	if (want[0])
		rc |= put_line(&s->out, names[0], p->session_token, strlen(p->session_token),
			       &off[0]);
	rc |= put_line(&s->out, names[1], job->amz_date, 16, &off[1]);
	if (want[2])
		rc |= put_line(&s->out, names[2], job->payload_hash, strlen(job->payload_hash),
			       &off[2]);
	off[3] = s->out.len;
	rc |= ob_buf_puts(&s->out, "Authorization: ");
	authz_off = s->out.len;
	rc |= put_authorization(&s->out, p->access_key_id, job->amz_date, p->region, p->service,
				s->sh.data, s->sh.len, ret->signature);
	rc |= ob_buf_putc(&s->out, '\0');
	if (rc < 0)
		return -1;
	/* Pointers only now: the buffer no longer moves. */
	for (i = 0; i < 4; i++) {
		struct ob_sigv4_added_header *h;

		if (!want[i])
			continue;
		h = &ret->headers[n++];
		h->name = names[i];
		h->line = s->out.data + off[i];
		h->value = h->line + strlen(names[i]) + 2;
		h->value_len = strlen(h->value);
	}
	ret->n_headers = n;
	ret->authorization = s->out.data + authz_off;
	ret->authorization_len = strlen(ret->authorization);
	return 0;
}

static int query_outputs(struct ob_sigv4 *s, const struct ob_sigv4_params *p,
			 const struct job *job, struct ob_sigv4_result *ret)
{
	int rc = 0;

	ob_buf_reset(&s->out);
	rc |= ob_buf_puts(&s->out, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=");
	rc |= ob_buf_append(&s->out, s->qbuf.data + s->cred_off, s->cred_len);
	rc |= ob_buf_puts(&s->out, "&X-Amz-Date=");
	rc |= ob_buf_append(&s->out, job->amz_date, 16);
	rc |= ob_buf_puts(&s->out, "&X-Amz-SignedHeaders=");
	rc |= ob_buf_append(&s->out, s->qbuf.data + s->shq_off, s->shq_len);
	rc |= ob_buf_puts(&s->out, "&X-Amz-Expires=");
	rc |= ob_buf_puts(&s->out, job->expires);
	if (p->session_token != NULL) {
		rc |= ob_buf_puts(&s->out, "&X-Amz-Security-Token=");
		rc |= ob_uri_encode(&s->out, p->session_token, strlen(p->session_token), false);
	}
	rc |= ob_buf_puts(&s->out, "&X-Amz-Signature=");
	rc |= ob_buf_append(&s->out, ret->signature, 64);
	if (rc < 0)
		return -1;
	ret->query = s->out.data;
	ret->query_len = s->out.len;
	return 0;
}

static int sign(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
		const struct ob_sigv4_params *p, enum ob_sigv4_mode mode,
		struct ob_sigv4_result *ret, struct ob_error *err)
{
	struct job job;
	struct key_slot *slot;
	char sts[STS_MAX];
	unsigned char mac[32];
	size_t sts_len;
	int rc;

	if (ret == NULL)
		return invalid(err, "no result");
	memset(ret, 0, sizeof(*ret));
	if (s == NULL)
		return invalid(err, "no signer");
	if (check_params(p, mode, &job, err) < 0 || check_request(req, err) < 0 ||
	    build_creq(s, req, p, &job, err) < 0)
		return -1;
	if (build_sts(s, job.amz_date, p->region, p->service, s->creq.data, s->creq.len, sts,
		      &sts_len) < 0)
		return crypto_failed(err, "SHA-256");
	slot = lookup_key(s, p->secret_access_key, job.amz_date, p->region, p->service, err);
	if (slot == NULL)
		return -1;
	if (slot_sign(s, slot, sts, sts_len, mac) < 0)
		return crypto_failed(err, "HMAC");
	hex32(mac, ret->signature);
	memcpy(ret->amz_date, job.amz_date, sizeof(ret->amz_date));
	memcpy(ret->payload_hash, job.payload_hash, sizeof(ret->payload_hash));
	if (mode == OB_SIGV4_MODE_HEADER)
		rc = header_outputs(s, p, &job, ret);
	else
		rc = query_outputs(s, p, &job, ret);
	if (rc < 0) {
		memset(ret, 0, sizeof(*ret));
		return nomem(err, "signed request");
	}
	return 0;
}

/* ---- public API --------------------------------------------------------- */

struct ob_sigv4 *ob_sigv4_new(struct ob_error *err)
{
	struct ob_sigv4 *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		nomem(err, "signer");
		return NULL;
	}
	s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (s->sha256 == NULL || s->hmac == NULL) {
		crypto_failed(err, "fetch of SHA256/HMAC");
		goto fail;
	}
	s->md = EVP_MD_CTX_new();
	s->mac = new_hmac_ctx(s);
	if (s->md == NULL || s->mac == NULL) {
		crypto_failed(err, "context setup");
		goto fail;
	}
	s->reinit_ok = check_reinit(s);
	/* Session tokens and the Authorization line pass through these. */
	s->hbuf.sensitive = true;
	s->qbuf.sensitive = true;
	s->tmp.sensitive = true;
	s->creq.sensitive = true;
	s->out.sensitive = true;
	return s;
fail:
	ob_sigv4_free(s);
	return NULL;
}

void ob_sigv4_free(struct ob_sigv4 *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < OB_SIGV4_KEY_SLOTS; i++) {
		wipe_slot(&s->slots[i]);
		EVP_MAC_CTX_free(s->slots[i].mac);
	}
	EVP_MAC_CTX_free(s->mac);
	EVP_MD_CTX_free(s->md);
	EVP_MAC_free(s->hmac);
	EVP_MD_free(s->sha256);
	/* Session tokens pass through all of these. */
	ob_buf_cleanse(&s->hbuf);
	ob_buf_cleanse(&s->qbuf);
	ob_buf_cleanse(&s->tmp);
	ob_buf_cleanse(&s->path);
	ob_buf_cleanse(&s->sh);
	ob_buf_cleanse(&s->creq);
	ob_buf_cleanse(&s->out);
	free(s->hents.v);
	free(s->qents.v);
	free(s->sort_tmp);
	free(s);
}

int ob_sigv4_sign_headers(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
			  const struct ob_sigv4_params *params,
			  struct ob_sigv4_result *ret, struct ob_error *err)
{
	return sign(s, req, params, OB_SIGV4_MODE_HEADER, ret, err);
}

int ob_sigv4_presign(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
		     const struct ob_sigv4_params *params,
		     struct ob_sigv4_result *ret, struct ob_error *err)
{
	return sign(s, req, params, OB_SIGV4_MODE_QUERY, ret, err);
}

void ob_sigv4_stats(const struct ob_sigv4 *s, struct ob_sigv4_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (s != NULL)
		*ret = s->stats;
}

/* ---- stage API (ob/private/sigv4_stages.h) ------------------------------ */

static bool amz_date_ok(const char *d)
{
	size_t i;

	if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return false;
	return true;
}

static int check_scope_args(const char *amz_date, const char *region, const char *service,
			    struct ob_error *err)
{
	if (!amz_date_ok(amz_date))
		return invalid(err, "date is not YYYYMMDDTHHMMSSZ");
	if (!scope_part_ok(region))
		return invalid(err, "region is missing or not made of A-Z a-z 0-9 - _ . ~");
	if (!scope_part_ok(service))
		return invalid(err, "service is missing or not made of A-Z a-z 0-9 - _ . ~");
	return 0;
}

int ob_sigv4_canonical_request(struct ob_sigv4 *s, const struct ob_sigv4_request *req,
			       const struct ob_sigv4_params *params, enum ob_sigv4_mode mode,
			       struct ob_buf *ret_creq, struct ob_error *err)
{
	struct job job;

	if (s == NULL || ret_creq == NULL)
		return invalid(err, "no signer or output buffer");
	if (check_params(params, mode, &job, err) < 0 || check_request(req, err) < 0 ||
	    build_creq(s, req, params, &job, err) < 0)
		return -1;
	ob_buf_reset(ret_creq);
	if (ob_buf_append(ret_creq, s->creq.data, s->creq.len) < 0)
		return nomem(err, "canonical request");
	return 0;
}

int ob_sigv4_string_to_sign(struct ob_sigv4 *s, const char *amz_date, const char *region,
			    const char *service, const char *creq, size_t creq_len,
			    struct ob_buf *ret_sts, struct ob_error *err)
{
	char sts[STS_MAX];
	size_t n;

	if (s == NULL || ret_sts == NULL || (creq == NULL && creq_len > 0))
		return invalid(err, "no signer, canonical request or output buffer");
	if (check_scope_args(amz_date, region, service, err) < 0)
		return -1;
	if (build_sts(s, amz_date, region, service, creq, creq_len, sts, &n) < 0)
		return crypto_failed(err, "SHA-256");
	ob_buf_reset(ret_sts);
	if (ob_buf_append(ret_sts, sts, n) < 0)
		return nomem(err, "string to sign");
	return 0;
}

int ob_sigv4_signing_key(struct ob_sigv4 *s, const char *secret, const char *amz_date,
			 const char *region, const char *service, unsigned char ret_key[32],
			 struct ob_error *err)
{
	if (s == NULL || ret_key == NULL)
		return invalid(err, "no signer or output");
	if (secret == NULL || secret[0] == '\0')
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: secret access key is missing");
	if (strlen(secret) > OB_SIGV4_MAX_SECRET_LEN)
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: secret access key is too long");
	if (check_scope_args(amz_date, region, service, err) < 0)
		return -1;
	if (derive_key(s, secret, strlen(secret), amz_date, region, service, ret_key) < 0)
		return crypto_failed(err, "signing key derivation");
	return 0;
}

int ob_sigv4_cached_signing_key(struct ob_sigv4 *s, const char *secret, const char *amz_date,
				const char *region, const char *service,
				unsigned char ret_key[32], struct ob_error *err)
{
	struct key_slot *slot;

	if (s == NULL || ret_key == NULL)
		return invalid(err, "no signer or output");
	if (secret == NULL || secret[0] == '\0')
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: secret access key is missing");
	if (strlen(secret) > OB_SIGV4_MAX_SECRET_LEN)
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: secret access key is too long");
	if (check_scope_args(amz_date, region, service, err) < 0)
		return -1;
	slot = lookup_key(s, secret, amz_date, region, service, err);
	if (slot == NULL)
		return -1;
	memcpy(ret_key, slot->key, 32);
	return 0;
}

int ob_sigv4_signature(struct ob_sigv4 *s, const unsigned char key[32], const char *sts,
		       size_t sts_len, char ret_hex[65], struct ob_error *err)
{
	unsigned char mac[32];

	if (s == NULL || key == NULL || ret_hex == NULL || (sts == NULL && sts_len > 0))
		return invalid(err, "no signer, key, string to sign or output");
	int rc;

	rc = hmac_keyed(s->mac, key, 32, sts, sts_len, mac);
	EVP_MAC_init(s->mac, zero_key, sizeof(zero_key), NULL);
	if (rc < 0)
		return crypto_failed(err, "HMAC");
	hex32(mac, ret_hex);
	return 0;
}

int ob_sigv4_authorization(const char *access_key_id, const char *amz_date, const char *region,
			   const char *service, const char *signed_headers,
			   const char *signature_hex, struct ob_buf *ret_authz,
			   struct ob_error *err)
{
	size_t n;

	if (ret_authz == NULL || signed_headers == NULL || signature_hex == NULL ||
	    strlen(signature_hex) != 64)
		return invalid(err, "no output, signed headers or 64-digit signature");
	if (access_key_id == NULL || access_key_id[0] == '\0')
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: access key id is missing");
	n = strlen(access_key_id);
	if (n > MAX_AKID_LEN || !all_unreserved(access_key_id, n))
		return ob_error_set(err, OB_ERR_CREDS, "sigv4: access key id is malformed");
	if (check_scope_args(amz_date, region, service, err) < 0)
		return -1;
	ob_buf_reset(ret_authz);
	if (put_authorization(ret_authz, access_key_id, amz_date, region, service, signed_headers,
			      strlen(signed_headers), signature_hex) < 0)
		return nomem(err, "Authorization header");
	return 0;
}
