/*
 * http_fake.c - recording fake transport (see ob/private/http_fake.h).
 */
#include "ob/private/http_fake.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ob_http_fake_init(struct ob_http_fake *f)
{
	memset(f, 0, sizeof(*f));
}

void ob_http_fake_clear(struct ob_http_fake *f)
{
	size_t i;

	for (i = 0; i < f->n_replies; i++) {
		free(f->bodies[i]);
		free(f->dates[i]);
	}
	for (i = 0; i < f->n_records; i++) {
		free(f->records[i].url);
		ob_buf_clear(&f->records[i].headers);
		ob_buf_clear(&f->records[i].body);
	}
	memset(f, 0, sizeof(*f));
}

void ob_http_fake_push(struct ob_http_fake *f, long status, const char *body,
		       const char *date)
{
	size_t i = f->n_replies;

	if (i >= OB_FAKE_MAX)
		abort();
	f->bodies[i] = strdup(body ? body : "");
	f->dates[i] = date ? strdup(date) : NULL;
	f->replies[i].status = status;
	f->replies[i].body = f->bodies[i];
	f->replies[i].date = f->dates[i];
	f->n_replies++;
}

static int fake_perform(void *ctx, const struct ob_http_request *req,
			struct ob_http_response *resp, struct ob_error *err)
{
	struct ob_http_fake *f = ctx;
	struct ob_fake_record *rec;
	const struct ob_fake_reply *rep;
	size_t i;

	if (f->n_records >= OB_FAKE_MAX)
		abort();
	rec = &f->records[f->n_records++];
	memset(rec, 0, sizeof(*rec));
	strncpy(rec->method, req->method, sizeof(rec->method) - 1);
	rec->url = strdup(req->url);
	for (i = 0; i < req->n_headers; i++)
		ob_buf_printf(&rec->headers, "%s: %s\n", req->headers[i].name,
			      req->headers[i].value);
	ob_buf_append(&rec->body, req->body ? req->body : "", req->body_len);

	ob_buf_reset(&resp->body);
	resp->status = 0;
	resp->date[0] = '\0';
	resp->request_id[0] = '\0';
	if (f->next_reply >= f->n_replies)
		return ob_error_set(err, OB_ERR_TRANSPORT, "fake: no reply queued");
	rep = &f->replies[f->next_reply++];
	if (rep->status == 0)
		return ob_error_set(err, OB_ERR_TRANSPORT, "fake: connection reset");
	resp->status = rep->status;
	ob_buf_puts(&resp->body, rep->body);
	if (rep->date != NULL)
		strncpy(resp->date, rep->date, sizeof(resp->date) - 1);
	return 0;
}

struct ob_http_ops ob_http_fake_ops(struct ob_http_fake *f)
{
	struct ob_http_ops ops = { fake_perform, f };
	return ops;
}

const char *ob_http_fake_header(const struct ob_http_fake *f, size_t i,
				const char *name, char *out, size_t size)
{
	const char *p, *eol;
	size_t nlen = strlen(name), vlen;

	if (i >= f->n_records || f->records[i].headers.data == NULL)
		return NULL;
	for (p = f->records[i].headers.data; *p; p = eol + 1) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			break;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 2;
			vlen = (size_t)(eol - p);
			if (vlen >= size)
				vlen = size - 1;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return out;
		}
	}
	return NULL;
}
