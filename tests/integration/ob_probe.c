/*
 * ob_probe.c - a test driver that runs one AWS call through the project's
 * own client stack (config -> credentials -> SigV4 -> libcurl) and prints
 * the outcome as JSON, so the integration tests can drive the C client
 * against the emulator and compare with the emulator's own view.
 *
 * usage: ob-probe --config FILE [--attempts N] COMMAND [ARGS]
 *   identity
 *   receive QUEUE_URL WAIT_SECONDS [--delete | --visibility SECONDS]
 *   describe-snapshots [SNAPSHOT_ID] [--shared]
 * or:    ob-probe http URL [--count N] [--timeout-ms T] [--max-body B] [--plain]
 *   GETs URL N times through the libcurl transport (no signing), printing
 *   each status and body length, to test keep-alive, TLS verification,
 *   timeouts and body caps against a local server.
 * Exit: 0 ok, 1 the call failed (error JSON on stdout), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ob/buf.h"
#include "ob/client.h"
#include "ob/config.h"
#include "ob/rds.h"
#include "ob/sqs.h"
#include "ob/sts.h"

static int print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(j);
	if (s == NULL)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int fail(const struct ob_error *err)
{
	print_json(json_pack("{s:{s:s, s:i, s:s, s:s, s:s}}", "error",
			     "kind", ob_error_kind_name(err->kind),
			     "http_status", (int)err->http_status,
			     "code", err->aws_code,
			     "message", err->message,
			     "request_id", err->request_id));
	return 1;
}

static int cmd_identity(struct ob_aws *aws)
{
	struct ob_sts_identity id;
	struct ob_error err;

	if (ob_sts_get_caller_identity(aws, &id, &err) < 0)
		return fail(&err);
	return print_json(json_pack("{s:s, s:s, s:s}", "account", id.account, "arn", id.arn,
				    "user_id", id.user_id));
}

static int cmd_receive(struct ob_aws *aws, const char *queue, int wait_s, int del,
		       int visibility)
{
	struct ob_sqs_batch b;
	struct ob_error err;
	json_t *arr = json_array();
	size_t i;

	if (ob_sqs_receive(aws, queue, 10, wait_s, 0, &b, &err) < 0) {
		json_decref(arr);
		return fail(&err);
	}
	for (i = 0; i < b.n; i++) {
		json_array_append_new(arr, json_pack("{s:s, s:s%, s:b, s:i}", "id",
						     b.msgs[i].message_id, "body", b.msgs[i].body,
						     b.msgs[i].body_len, "md5_ok",
						     (int)b.msgs[i].md5_ok, "receive_count",
						     (int)b.msgs[i].receive_count));
		if (visibility >= 0 &&
		    ob_sqs_change_visibility(aws, queue, b.msgs[i].receipt_handle, visibility,
					     &err) < 0) {
			ob_sqs_batch_clear(&b);
			json_decref(arr);
			return fail(&err);
		}
		if (del && ob_sqs_delete(aws, queue, b.msgs[i].receipt_handle, &err) < 0) {
			ob_sqs_batch_clear(&b);
			json_decref(arr);
			return fail(&err);
		}
	}
	ob_sqs_batch_clear(&b);
	return print_json(json_pack("{s:o}", "messages", arr));
}

static int cmd_describe(struct ob_aws *aws, const char *id, int shared)
{
	struct ob_rds_describe q;
	struct ob_rds_snapshot_list list;
	struct ob_error err;
	json_t *arr = json_array();
	size_t i;

	memset(&q, 0, sizeof(q));
	q.snapshot_id = id;
	q.include_shared = shared;
	if (shared)
		q.snapshot_type = "shared";
	if (ob_rds_describe_db_snapshots(aws, &q, &list, &err) < 0) {
		json_decref(arr);
		return fail(&err);
	}
	for (i = 0; i < list.n; i++) {
		const struct ob_rds_snapshot *s = &list.items[i];

		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:i, s:i}",
						     "id", s->id, "arn", s->arn, "db", s->db_id,
						     "status", s->status, "type", s->snapshot_type,
						     "encrypted", (int)s->encrypted, "kms_key_id",
						     s->kms_key_id, "allocated_storage",
						     (int)s->allocated_storage, "progress",
						     s->percent_progress));
	}
	ob_rds_snapshot_list_clear(&list);
	return print_json(json_pack("{s:o}", "snapshots", arr));
}

static int cmd_http(int argc, char **argv)
{
	struct ob_http_options hopt;
	struct ob_http_request req;
	struct ob_http_response resp;
	struct ob_http_ops ops;
	struct ob_http *http;
	struct ob_error err;
	json_t *arr;
	int count = 1, i, rc = 0;

	memset(&hopt, 0, sizeof(hopt));
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atoi(argv[++i]);
		else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
			req.timeout_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--max-body") == 0 && i + 1 < argc)
			req.max_body = (size_t)atol(argv[++i]);
		else if (strcmp(argv[i], "--plain") == 0)
			req.allow_plain_http = true;
		else
			return 2;
	}
	http = ob_http_new(&hopt, &err);
	if (http == NULL)
		return fail(&err);
	ops = ob_http_ops(http);
	arr = json_array();
	ob_http_response_init(&resp);
	for (i = 0; i < count; i++) {
		if (ops.perform(ops.ctx, &req, &resp, &err) < 0) {
			rc = fail(&err);
			goto out;
		}
		json_array_append_new(arr, json_pack("{s:i, s:i}", "status", (int)resp.status,
						     "length", (int)resp.body.len));
	}
	rc = print_json(json_pack("{s:O}", "responses", arr));
out:
	json_decref(arr);
	ob_http_response_clear(&resp);
	ob_http_free(http);
	return rc;
}

int main(int argc, char **argv)
{
	struct ob_client_options copt;
	struct ob_config *cfg = NULL;
	struct ob_client client;
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_aws_stats st;
	struct ob_error err;
	const char *config = NULL;
	unsigned attempts = 0;
	int a = 1, rc = 2;

	memset(&client, 0, sizeof(client));
	if (argc >= 3 && strcmp(argv[1], "http") == 0)
		return cmd_http(argc - 2, argv + 2);
	for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
		if (strcmp(argv[a], "--config") == 0 && a + 1 < argc)
			config = argv[++a];
		else if (strcmp(argv[a], "--attempts") == 0 && a + 1 < argc)
			attempts = (unsigned)atoi(argv[++a]);
		else
			break;
	}
	if (config == NULL || a >= argc) {
		fprintf(stderr, "usage: ob-probe --config FILE [--attempts N] COMMAND [ARGS]\n");
		return 2;
	}
	if (ob_config_load(config, &cfg, &diag, &err) < 0) {
		fputs(diag.data ? diag.data : err.message, stderr);
		ob_buf_clear(&diag);
		return 2;
	}
	memset(&copt, 0, sizeof(copt));
	copt.max_attempts = attempts;
	if (ob_client_init(&client, cfg, &copt, &err) < 0) {
		rc = fail(&err);
		goto out;
	}
	if (strcmp(argv[a], "identity") == 0)
		rc = cmd_identity(client.aws);
	else if (strcmp(argv[a], "receive") == 0 && a + 2 < argc)
		rc = cmd_receive(client.aws, argv[a + 1], atoi(argv[a + 2]),
				 a + 3 < argc && strcmp(argv[a + 3], "--delete") == 0,
				 a + 4 < argc && strcmp(argv[a + 3], "--visibility") == 0 ?
					 atoi(argv[a + 4]) : -1);
	else if (strcmp(argv[a], "describe-snapshots") == 0) {
		const char *id = NULL;
		int shared = 0, i;

		for (i = a + 1; i < argc; i++) {
			if (strcmp(argv[i], "--shared") == 0)
				shared = 1;
			else
				id = argv[i];
		}
		rc = cmd_describe(client.aws, id, shared);
	} else {
		fprintf(stderr, "ob-probe: unknown command '%s'\n", argv[a]);
		rc = 2;
	}
	ob_aws_get_stats(client.aws, &st);
	fprintf(stderr, "stats calls=%lu attempts=%lu retries=%lu throttled=%lu\n", st.calls,
		st.attempts, st.retries, st.throttled);
out:
	ob_client_clear(&client);
	ob_config_free(cfg);
	ob_buf_clear(&diag);
	return rc;
}
