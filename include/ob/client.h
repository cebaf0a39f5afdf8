/*
 * ob/client.h - the AWS client stack built from a configuration.
 *
 * Transport, credentials provider and request core, created in that order
 * and freed in reverse, so main.c and the tools wire them the same way.
 */
#ifndef OB_CLIENT_H
#define OB_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "ob/aws.h"
#include "ob/config.h"
#include "ob/creds.h"
#include "ob/http.h"

/* How long a request already in flight may still run after a stop request
 * (while finish_on_stop is set), so its outcome can be committed. */
#define OB_CLIENT_STOP_GRACE_MS 5000

struct ob_client_options {
	/* When set, no new attempt or backoff starts (struct ob_aws_options).
	 * The transfer in flight is aborted within about a second, or, while
	 * finish_on_stop is set, after OB_CLIENT_STOP_GRACE_MS, so an API call
	 * that changes something normally completes and its outcome is
	 * committed. */
	const volatile sig_atomic_t *stop;
	/* Also called about once a second during transfers (e.g. to ping the
	 * systemd watchdog); non-zero aborts the transfer (OB_ERR_CANCELLED)
	 * unless finish_on_stop is set, e.g. to cut a long poll short for a
	 * reload. May be NULL. */
	int (*progress)(void *ctx);
	void *progress_ctx;
	unsigned max_attempts;             /* 0 = AWS standard mode default */
};

struct ob_client {
	struct ob_http *http;
	struct ob_creds_provider *creds;
	struct ob_aws *aws;
	struct ob_client_options opt;      /* the transport's progress context */
	/* Set by the caller around calls that change something (a copy, a
	 * publish): a stop then lets them finish, within the grace period.
	 * Reads and long polls are dropped at once: nothing is lost. */
	bool finish_on_stop;
	int64_t stop_seen_ms;              /* monotonic time the stop was first seen */
};

/* Build the stack for cfg ([daemon] region, [aws] section). No network I/O
 * happens here. c must stay where it is while in use (the transport points
 * at it). 0, or -1 + err; on failure nothing is left allocated. */
int ob_client_init(struct ob_client *c, const struct ob_config *cfg,
		   const struct ob_client_options *opt, struct ob_error *err);

/* Free in reverse order of creation. Safe on a zeroed or cleared client. */
void ob_client_clear(struct ob_client *c);

#endif
