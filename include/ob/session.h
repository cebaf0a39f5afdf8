/*
 * ob/session.h - a proven AWS session: the client stack built from the
 * configuration and the credentials checked with sts:GetCallerIdentity.
 *
 * What offsite-backupd does before it touches its database, and what
 * `offsite-backupctl rebuild` does before it lists the account's copies, in
 * one place so both get credentials the same way and say the same thing
 * when they are wrong.
 */
#ifndef OB_SESSION_H
#define OB_SESSION_H

#include "ob/client.h"
#include "ob/config.h"
#include "ob/error.h"
#include "ob/sts.h"

/* Build client from cfg (ob_client_init with opt, which may be NULL), wipe
 * cfg's copy of the secret (the provider holds its own), and ask STS who
 * the credentials belong to. 0 and *ret_id, or -1 + err with client
 * cleared and err->message the whole line to print (kind, HTTP status and
 * AWS code kept): the client's error as ob_error_str() renders it, or
 * "cannot verify AWS credentials (<source>): " and the STS error;
 * OB_ERR_CANCELLED (message as is) when a stop came first. */
int ob_session_open(struct ob_client *client, struct ob_config *cfg,
		    const struct ob_client_options *opt, struct ob_sts_identity *ret_id,
		    struct ob_error *err);

#endif
