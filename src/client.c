/*
 * client.c - wire transport, credentials and the AWS core from a config.
 */
#include "ob/client.h"

#include <string.h>
#include <time.h>

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The transport's progress callback: a stop request aborts the transfer at
 * once, or after a grace period while finish_on_stop is set, instead of
 * waiting out its timeout. */
static int on_progress(void *ctx)
{
	struct ob_client *c = ctx;

	int interrupt = c->opt.progress != NULL ? c->opt.progress(c->opt.progress_ctx) : 0;

	if (c->opt.stop != NULL && *c->opt.stop) {
		if (!c->finish_on_stop)
			return 1;
		if (c->stop_seen_ms == 0)
			c->stop_seen_ms = mono_ms();
		else if (mono_ms() - c->stop_seen_ms >= OB_CLIENT_STOP_GRACE_MS)
			return 1;
	}
	return interrupt && !c->finish_on_stop;
}

int ob_client_init(struct ob_client *c, const struct ob_config *cfg,
		   const struct ob_client_options *opt, struct ob_error *err)
{
	struct ob_http_options hopt;
	struct ob_creds_options copt;
	struct ob_aws_options aopt;

	memset(c, 0, sizeof(*c));
	if (opt != NULL)
		c->opt = *opt;
	memset(&hopt, 0, sizeof(hopt));
	hopt.progress = on_progress;
	hopt.progress_ctx = c;
	c->http = ob_http_new(&hopt, err);
	if (c->http == NULL)
		goto fail;

	memset(&copt, 0, sizeof(copt));
	copt.source = cfg->credentials;
	copt.access_key_id = cfg->access_key_id;
	copt.secret_access_key = cfg->secret_access_key;
	copt.imds_url = cfg->imds_url;
	copt.http = ob_http_ops(c->http);
	c->creds = ob_creds_provider_new(&copt, err);
	if (c->creds == NULL)
		goto fail;

	memset(&aopt, 0, sizeof(aopt));
	aopt.region = cfg->region;
	aopt.endpoint_url = cfg->endpoint_url;
	aopt.http = ob_http_ops(c->http);
	aopt.creds = c->creds;
	aopt.stop = c->opt.stop;
	aopt.max_attempts = c->opt.max_attempts;
	c->aws = ob_aws_new(&aopt, err);
	if (c->aws == NULL)
		goto fail;
	return 0;
fail:
	ob_client_clear(c);
	return -1;
}

void ob_client_clear(struct ob_client *c)
{
	ob_aws_free(c->aws);
	ob_creds_provider_free(c->creds);
	ob_http_free(c->http);
	memset(c, 0, sizeof(*c));
}
