/*
 * http.c - the libcurl transport behind struct ob_http_ops.
 *
 * One easy handle is kept per endpoint (scheme://host:port) so connections
 * stay alive between calls; curl_easy_reset() clears options but keeps the
 * live connection, TLS session and DNS caches. TLS verification is always
 * on, every transfer has connect and total timeouts, and plain http is
 * refused unless the caller says the URL was configured explicitly.
 * Response bodies are capped so a hostile peer cannot exhaust memory.
 * Error messages name the method, scheme, host and path, never the query
 * string (it may carry a presigned signature).
 */
#include "ob/http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "ob/uri.h"
#include "ob/version.h"

#define MAX_ENDPOINTS 8

struct endpoint {
	char *key;       /* "scheme://host:port" */
	CURL *curl;
	uint64_t last_used;
};

struct transfer {
	struct ob_http *http;
	struct ob_http_response *resp;
	int too_large;
	int aborted;
	int64_t last_progress_ms;
};

struct ob_http {
	struct ob_http_options opt;
	struct endpoint endpoints[MAX_ENDPOINTS];
	uint64_t use_counter;
};

static int curl_ready;

void ob_http_response_init(struct ob_http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
}

void ob_http_response_clear(struct ob_http_response *resp)
{
	if (resp == NULL)
		return;
	ob_buf_cleanse(&resp->body);
	memset(resp, 0, sizeof(*resp));
}

struct ob_http *ob_http_new(const struct ob_http_options *opt, struct ob_error *err)
{
	struct ob_http *http;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			ob_error_set(err, OB_ERR_TRANSPORT, "libcurl initialisation failed");
			return NULL;
		}
		curl_ready = 1;
	}
	http = calloc(1, sizeof(*http));
	if (http == NULL) {
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (opt != NULL)
		http->opt = *opt;
	if (http->opt.connect_timeout_ms <= 0)
		http->opt.connect_timeout_ms = 5000;
	if (http->opt.timeout_ms <= 0)
		http->opt.timeout_ms = 60000;
	if (http->opt.max_body == 0)
		http->opt.max_body = 16u << 20;
	return http;
}

void ob_http_free(struct ob_http *http)
{
	size_t i;

	if (http == NULL)
		return;
	for (i = 0; i < MAX_ENDPOINTS; i++) {
		if (http->endpoints[i].curl != NULL)
			curl_easy_cleanup(http->endpoints[i].curl);
		free(http->endpoints[i].key);
	}
	free(http);
}

/* The endpoint key "scheme://authority" of url, and the loggable part of
 * the URL (scheme, authority, path: never the query, which may carry a
 * presigned signature). Returns 0, or -1 for a URL that is not absolute
 * http(s) or does not fit. */
static int split_url(const char *url, char *key, size_t key_size, char *safe,
		     size_t safe_size, int *is_https)
{
	struct ob_uri_parts u;
	int n;

	if (ob_uri_split(url, &u) < 0)
		return -1;
	*is_https = u.https;
	n = snprintf(key, key_size, "%s://%.*s", u.https ? "https" : "http",
		     (int)u.authority_len, u.authority);
	if (n < 0 || (size_t)n >= key_size)
		return -1;
	snprintf(safe, safe_size, "%s%.*s", key, (int)u.path_len, u.path);
	return 0;
}

/* The kept-alive handle for key, creating one (evicting the least recently
 * used) when needed. */
static CURL *handle_for(struct ob_http *http, const char *key)
{
	struct endpoint *slot = NULL, *e;
	size_t i;

	for (i = 0; i < MAX_ENDPOINTS; i++) {
		e = &http->endpoints[i];
		if (e->key != NULL && strcmp(e->key, key) == 0) {
			e->last_used = ++http->use_counter;
			return e->curl;
		}
	}
	/* A free slot, else the least recently used one. */
	for (i = 0; i < MAX_ENDPOINTS; i++) {
		e = &http->endpoints[i];
		if (e->key == NULL) {
			slot = e;
			break;
		}
		if (slot == NULL || e->last_used < slot->last_used)
			slot = e;
	}
	if (slot->curl != NULL)
		curl_easy_cleanup(slot->curl);
	free(slot->key);
	slot->key = strdup(key);
	slot->curl = slot->key ? curl_easy_init() : NULL;
	if (slot->curl == NULL) {
		free(slot->key);
		slot->key = NULL;
		return NULL;
	}
	slot->last_used = ++http->use_counter;
	return slot->curl;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;

	if (ob_buf_append(&t->resp->body, ptr, n) < 0) {
		t->too_large = 1;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	return n;
}

/* Copy the value of header line "Name: value\r\n" into out when the name
 * matches. */
static void header_value(const char *line, size_t len, const char *name,
			 char *out, size_t size)
{
	size_t nlen = strlen(name), vlen;
	const char *v;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return;
	v = line + nlen + 1;
	len -= nlen + 1;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	vlen = len < size - 1 ? len : size - 1;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
}

static size_t on_header(char *buffer, size_t size, size_t nitems, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nitems;

	/* A new status line (e.g. after "100 Continue") starts a new header
	 * block: forget what the previous one said. */
	if (n >= 5 && strncmp(buffer, "HTTP/", 5) == 0) {
		t->resp->date[0] = '\0';
		t->resp->request_id[0] = '\0';
	}
	header_value(buffer, n, "Date", t->resp->date, sizeof(t->resp->date));
	header_value(buffer, n, "x-amzn-RequestId", t->resp->request_id,
		     sizeof(t->resp->request_id));
	header_value(buffer, n, "x-amz-request-id", t->resp->request_id,
		     sizeof(t->resp->request_id));
	return n;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer *t = clientp;
	int64_t now;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (t->http->opt.progress == NULL)
		return 0;
	now = mono_ms();
	if (now - t->last_progress_ms < 1000)
		return 0;
	t->last_progress_ms = now;
	if (t->http->opt.progress(t->http->opt.progress_ctx) != 0) {
		t->aborted = 1;
		return 1;
	}
	return 0;
}

static int set_method(CURL *c, const struct ob_http_request *req)
{
	const void *body = req->body ? req->body : "";

	if (strcmp(req->method, "GET") == 0 && req->body_len == 0)
		return curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -1;
	if (strcmp(req->method, "POST") != 0 &&
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK)
		return -1;
	if (curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK)
		return -1;
	return 0;
}

static int token_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL || *p == '\0')
		return 0;
	for (; *p; p++)
		if (!ob_uri_tchar(*p))
			return 0;
	return 1;
}

/* A header name is an RFC 7230 token; a value may not break the line. */
static int header_ok(const struct ob_http_header *h)
{
	return token_ok(h->name) && h->value != NULL && strpbrk(h->value, "\r\n") == NULL;
}

static int perform(void *ctx, const struct ob_http_request *req,
		   struct ob_http_response *resp, struct ob_error *err)
{
	struct ob_http *http = ctx;
	struct transfer t;
	struct curl_slist *hdrs = NULL, *tmp;
	char key[512], safe[1024], errbuf[CURL_ERROR_SIZE];
	struct ob_buf line = { .sensitive = true };
	int is_https, rc = -1;
	long timeout;
	CURLcode cc;
	CURL *c;
	size_t i;

	ob_buf_reset(&resp->body);
	resp->body.max = req->max_body > 0 && req->max_body < http->opt.max_body ?
			 req->max_body : http->opt.max_body;
	resp->status = 0;
	resp->date[0] = '\0';
	resp->request_id[0] = '\0';

	if (!token_ok(req->method))
		return ob_error_set(err, OB_ERR_INVALID, "bad HTTP method");
	if (req->url == NULL ||
	    split_url(req->url, key, sizeof(key), safe, sizeof(safe), &is_https) < 0)
		return ob_error_set(err, OB_ERR_INVALID, "not an absolute http(s) URL");
	if (!is_https && !req->allow_plain_http)
		return ob_error_set(err, OB_ERR_INVALID,
				    "%s: plain http is refused (https only unless configured explicitly)",
				    safe);
	c = handle_for(http, key);
	if (c == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory (curl handle)");
	/* The handle was reset after its previous transfer (see out:). */

	for (i = 0; i < req->n_headers; i++) {
		if (!header_ok(&req->headers[i])) {
			ob_error_set(err, OB_ERR_INVALID,
				     "%s: refusing a header with a bad name or a line break in its value",
				     safe);
			goto out;
		}
		ob_buf_reset(&line);
		if (ob_buf_printf(&line, "%s: %s", req->headers[i].name,
				  req->headers[i].value) < 0)
			goto nomem;
		tmp = curl_slist_append(hdrs, line.data);
		if (tmp == NULL)
			goto nomem;
		hdrs = tmp;
	}
	/* No "Expect: 100-continue" round trip for larger bodies. */
	tmp = curl_slist_append(hdrs, "Expect:");
	if (tmp == NULL)
		goto nomem;
	hdrs = tmp;

	memset(&t, 0, sizeof(t));
	t.http = http;
	t.resp = resp;
	t.last_progress_ms = mono_ms();
	errbuf[0] = '\0';
	timeout = req->timeout_ms > 0 ? req->timeout_ms : http->opt.timeout_ms;

	if (curl_easy_setopt(c, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, is_https ? "https" : "http") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, http->opt.connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, OB_USER_AGENT) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    set_method(c, req) < 0) {
		ob_error_set(err, OB_ERR_TRANSPORT, "%s: cannot set up the transfer", safe);
		goto out;
	}

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (t.too_large)
			ob_error_set(err, OB_ERR_TRANSPORT,
				     "%s %s: response body larger than %zu bytes", req->method,
				     safe, resp->body.max);
		else if (t.aborted)
			ob_error_set(err, OB_ERR_CANCELLED, "%s %s: aborted", req->method, safe);
		else
			ob_error_set(err, OB_ERR_TRANSPORT, "%s %s: %s", req->method, safe,
				     errbuf[0] ? errbuf : curl_easy_strerror(cc));
		if (err != NULL)
			err->transport_code = (int)cc;
		ob_buf_reset(&resp->body);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	rc = 0;
	goto out;
nomem:
	ob_error_set(err, OB_ERR_NOMEM, "out of memory");
out:
	/* The handle must keep no pointer into this frame or the caller's body
	 * (reset keeps the live connection), and header copies hold the
	 * Authorization line and tokens: wipe them. */
	curl_easy_reset(c);
	for (tmp = hdrs; tmp != NULL; tmp = tmp->next)
		OPENSSL_cleanse(tmp->data, strlen(tmp->data));
	curl_slist_free_all(hdrs);
	ob_buf_cleanse(&line);
	return rc;
}

struct ob_http_ops ob_http_ops(struct ob_http *http)
{
	struct ob_http_ops ops = { perform, http };
	return ops;
}
