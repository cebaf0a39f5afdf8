/*
 * check_ctl.c - offsite-backupctl, run in-process with a fixed clock
 * against a state database built here with the store itself: source and
 * vault jobs, failed and rejected ones, verified copies of two databases
 * (one older than the rpo). Every command and option in text and JSON (the
 * JSON parsed back with jansson and checked value by value), exit codes
 * for unknown jobs, states, commands and missing databases (and that no
 * file appears), configuration files (target, source, an unsafe secret
 * file), retry through the state machine and the history, and the output's
 * shape: every human line within 100 columns with 255-character names,
 * long ARNs wrapped whole in `show`, hostile strings neutralised, the
 * database file untouched by the reading commands. What retry wrote is
 * read back through a separate store handle.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "check_ob.h"
#include "ob/ctl.h"
#include "ob/ident.h"
#include "ob/store.h"
#include "ob/target.h"

#define NOW_S   INT64_C(1795348800) /* 2026-11-22 12:00:00 UTC */
#define NOW_MS  (NOW_S * 1000)
#define H_MS    INT64_C(3600000)
#define ACCT_A  "111111111111"
#define ACCT_B  "333333333333"
#define ARN_A   "arn:aws:rds:eu-central-1:" ACCT_A ":snapshot:"
#define ARN_B   "arn:aws:rds:eu-central-1:" ACCT_B ":snapshot:"
#define SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

/* The fixture's jobs. */
enum {
	SRC_PENDING, SRC_COPYING, SRC_FAILED,                 /* source role */
	V_ORD_NEW, V_ORD_OLD, V_BILL, V_REJ, V_FAILED,        /* vault role */
	N_JOBS
};

static const char *const fixture_arn[N_JOBS] = {
	[SRC_PENDING] = ARN_A "rds:orders-2026-11-22-05-03",
	[SRC_COPYING] = ARN_A "rds:orders-2026-11-22-09-00",
	[SRC_FAILED] = ARN_A "manual-billing-1",
	[V_ORD_NEW] = ARN_A "ob-rds-orders-2026-11-22-05-03-aaaaaaaaaaaa",
	[V_ORD_OLD] = ARN_A "ob-rds-orders-2026-11-21-05-03-bbbbbbbbbbbb",
	[V_BILL] = ARN_B "ob-billing-2026-11-19-12-00-cccccccccccc",
	[V_REJ] = "rejected:msg-0001",
	[V_FAILED] = ARN_A "ob-rds-orders-2026-11-22-09-00-dddddddddddd",
};

static char tmpdir[64];
static char dbpath[128];
static char ids[N_JOBS][OB_JOB_ID_SIZE];

static const struct ob_fsm_policy pol = {
	.max_attempts = 3, .poll_interval_ms = 30000, .retention_ms = 72 * H_MS,
	.backoff_base_ms = 1000, .backoff_cap_ms = 900000,
};

/* ---- building databases ------------------------------------------------- */

static struct ob_store *open_rw(const char *path)
{
	struct ob_store *st = NULL;
	struct ob_error err;

	ck_assert_msg(ob_store_open(path, false, &st, &err) == 0, "%s", err.message);
	return st;
}

/* Insert a job in state at created_ms; *ret is the stored row. */
static void add_job(struct ob_store *st, const char *role, const char *arn, const char *db_id,
		    enum ob_job_state state, int64_t snap_time, int64_t created_ms,
		    const char *err_code, const char *err_msg, struct ob_job *ret)
{
	char id[OB_JOB_ID_SIZE], copy[300];
	struct ob_error err;
	struct ob_job j;
	bool created = false;

	ob_ident_job_id(arn, id);
	snprintf(copy, sizeof(copy), "ob-copy-%s", id);
	memset(&j, 0, sizeof(j));
	j.id = id;
	j.role = (char *)role;
	j.kind = OB_SNAP_INSTANCE;
	j.source_arn = (char *)arn;
	j.db_id = (char *)db_id;
	j.copy_id = copy;
	j.copy_arn = "";
	j.state = state;
	j.failed_from = state;
	j.next_at_ms = ob_job_state_active(state) ? created_ms : OB_FSM_NEVER;
	j.engine = "postgres";
	j.engine_version = "16.3";
	j.allocated_gib = 100;
	j.snapshot_time = snap_time;
	j.origin = "event";
	j.error_code = (char *)err_code;
	j.error_message = (char *)err_msg;
	/* A rejected row keeps what its announcement claimed (target.c). */
	j.source_tags = state == OB_JOB_REJECTED
				? "[{\"Key\":\"" OB_TAG_REJ_SENDER "\",\"Value\":\"444444444444\"},"
				  "{\"Key\":\"" OB_TAG_REJ_CLAIMED "\",\"Value\":\"arn:aws:rds:"
				  "eu-central-1:444444444444:snapshot:forged\"}]"
				: "[{\"Key\":\"team\",\"Value\":\"payments\"}]";
	ck_assert_msg(ob_store_job_insert(st, &j, "created", created_ms, &created, &err) == 0,
		      "%s", err.message);
	ck_assert(created);
	ck_assert_msg(ob_store_job_get(st, id, ret, &err) == 0, "%s", err.message);
}

/* Step job with ev at now_ms, keeping an error when code is given. */
static void step(struct ob_store *st, struct ob_job *job, enum ob_fsm_event_kind ev,
		 int64_t now_ms, const char *code, const char *msg)
{
	struct ob_fsm_job fj = { job->state, job->failed_from, job->attempts, job->defers };
	struct ob_fsm_event e = { ev, 7 };
	struct ob_store_change chg = { 0 };
	struct ob_fsm_step s;
	struct ob_error err;
	char detail[600];

	ck_assert_msg(ob_fsm_step(&pol, &fj, &e, now_ms, &s, &err) == 0, "%s", err.message);
	snprintf(detail, sizeof(detail), "%s%s%s", ob_fsm_event_name(ev), msg ? ": " : "",
		 msg ? msg : "");
	chg.error_code = code;
	chg.error_message = msg;
	chg.detail = detail;
	ck_assert_msg(ob_store_job_step(st, job, &s, &chg, now_ms, &err) == 0, "%s",
		      err.message);
}

/* A vault job walked from announced to verified. */
static void add_verified(struct ob_store *st, const char *arn, const char *db_id,
			 int64_t snap_s, int64_t created_ms)
{
	struct ob_job j;

	add_job(st, "target", arn, db_id, OB_JOB_ANNOUNCED, snap_s, created_ms, "", "", &j);
	step(st, &j, OB_EV_COPY_STARTED, created_ms + 1000, NULL, NULL);
	step(st, &j, OB_EV_COPY_AVAILABLE, created_ms + 600000, NULL, NULL);
	step(st, &j, OB_EV_VERIFIED, created_ms + 601000, NULL, NULL);
	ob_job_clear(&j);
}

static void build_fixture(void)
{
	struct ob_store *st = open_rw(dbpath);
	struct ob_job j;
	int i;

	for (i = 0; i < N_JOBS; i++)
		ob_ident_job_id(fixture_arn[i], ids[i]);

	add_job(st, "source", fixture_arn[SRC_PENDING], "orders", OB_JOB_PENDING, NOW_S - 7 * 3600,
		NOW_MS - 5 * H_MS, "", "", &j);
	ob_job_clear(&j);
	add_job(st, "source", fixture_arn[SRC_COPYING], "orders", OB_JOB_PENDING, NOW_S - 3 * 3600,
		NOW_MS - 3 * H_MS, "", "", &j);
	step(st, &j, OB_EV_COPY_STARTED, NOW_MS - 3 * H_MS + 1000, NULL, NULL);
	ob_job_clear(&j);
	add_job(st, "source", fixture_arn[SRC_FAILED], "billing", OB_JOB_PENDING, NOW_S - 11 * 3600,
		NOW_MS - 10 * H_MS, "", "", &j);
	step(st, &j, OB_EV_COPY_STARTED, NOW_MS - 10 * H_MS + 1000, NULL, NULL);
	step(st, &j, OB_EV_FAIL, NOW_MS - 9 * H_MS, "AccessDenied",
	     "not authorized to perform kms:CreateGrant");
	ob_job_clear(&j);

	add_verified(st, fixture_arn[V_ORD_NEW], "orders", NOW_S - 7 * 3600, NOW_MS - 6 * H_MS);
	add_verified(st, fixture_arn[V_ORD_OLD], "orders", NOW_S - 31 * 3600, NOW_MS - 30 * H_MS);
	add_verified(st, fixture_arn[V_BILL], "billing", NOW_S - 72 * 3600, NOW_MS - 70 * H_MS);
	add_job(st, "target", fixture_arn[V_REJ], "", OB_JOB_REJECTED, 0, NOW_MS - 1 * H_MS,
		"Rejected", "source account 444444444444 is not in allowed_source_accounts", &j);
	ob_job_clear(&j);
	add_job(st, "target", fixture_arn[V_FAILED], "orders", OB_JOB_ANNOUNCED, NOW_S - 3 * 3600,
		NOW_MS - 2 * H_MS, "", "", &j);
	step(st, &j, OB_EV_COPY_STARTED, NOW_MS - 2 * H_MS + 1000, NULL, NULL);
	step(st, &j, OB_EV_FAIL, NOW_MS - 1 * H_MS, "KMSKeyNotAccessibleFault",
	     "the import key is disabled");
	ob_job_clear(&j);
	ob_store_close(st);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ob-check-ctl-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
	build_fixture();
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- running the tool ---------------------------------------------------- */

static int64_t fixed_now(void *ctx)
{
	(void)ctx;
	return NOW_MS;
}

static const struct ob_clock test_clock = { fixed_now, NULL, NULL, NULL };

struct result {
	int rc;
	char *out, *err;
};

/* Columns of one line: code points. */
static size_t line_cols(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* The widest line of text. */
static size_t widest(const char *text)
{
	const char *p = text, *nl;
	size_t w = 0, n;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = line_cols(p, nl ? (size_t)(nl - p) : strlen(p));
		if (n > w)
			w = n;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return w;
}

/* Run offsite-backupctl with the arguments (NULL-terminated). Every run
 * checks what holds for all of them: a usage error or failure prints
 * nothing on stdout, a success nothing on stderr, human output fits 100
 * columns and ends with a newline. */
static struct result run(const char *first, ...)
{
	struct result r = { 0, NULL, NULL };
	char *argv[32];
	size_t olen = 0, elen = 0;
	bool json = false;
	int argc = 0;
	const char *a;
	FILE *o, *e;
	va_list ap;

	argv[argc++] = "offsite-backupctl";
	va_start(ap, first);
	for (a = first; a != NULL; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(argc, 31);
		json |= strcmp(a, "--json") == 0;
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	o = open_memstream(&r.out, &olen);
	e = open_memstream(&r.err, &elen);
	ck_assert(o != NULL && e != NULL);
	r.rc = ob_ctl_run_clock(argc, argv, o, e, &test_clock);
	ck_assert_int_eq(fclose(o), 0);
	ck_assert_int_eq(fclose(e), 0);
	if (r.rc == 0) {
		ck_assert_msg(r.err[0] == '\0', "stderr on success: %s", r.err);
		ck_assert_msg(olen > 0 && r.out[olen - 1] == '\n', "no final newline: %s", r.out);
		if (!json)
			ck_assert_msg(widest(r.out) <= 100, "a line of %zu columns:\n%s",
				      widest(r.out), r.out);
	} else {
		ck_assert_msg(r.out[0] == '\0', "stdout on failure: %s", r.out);
		ck_assert_msg(r.err[0] != '\0', "exit %d without a message", r.rc);
	}
	return r;
}

static void res_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

#define HAS(hay, needle) ck_assert_msg(strstr((hay), (needle)) != NULL, \
				       "'%s' not in:\n%s", (needle), (hay))
#define HASNT(hay, needle) ck_assert_msg(strstr((hay), (needle)) == NULL, \
					 "'%s' in:\n%s", (needle), (hay))

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	ck_assert_msg(j != NULL, "not one JSON document (%s, line %d): %s", e.text, e.line, text);
	return j;
}

static const char *jget_str(json_t *o, const char *path)
{
	json_t *v = json_object_get(o, path);

	ck_assert_msg(json_is_string(v), "%s is not a string", path);
	return json_string_value(v);
}

static json_int_t jget_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The line of text that contains needle (a copy, static), or fails. */
static const char *line_with(const char *text, const char *needle)
{
	static char line[4096];
	const char *p = strstr(text, needle), *b, *e;

	ck_assert_msg(p != NULL, "'%s' not in:\n%s", needle, text);
	for (b = p; b > text && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	snprintf(line, sizeof(line), "%.*s", (int)((e ? e : p + strlen(p)) - b), b);
	return line;
}

/* The first line of text that starts with prefix (a copy, static), or fails. */
static const char *line_starting(const char *text, const char *prefix)
{
	static char line[4096];
	const char *p = text, *e;
	size_t n = strlen(prefix);

	while (strncmp(p, prefix, n) != 0) {
		p = strchr(p, '\n');
		ck_assert_msg(p != NULL, "no line starts with '%s' in:\n%s", prefix, text);
		p++;
	}
	e = strchr(p, '\n');
	snprintf(line, sizeof(line), "%.*s", (int)((e ? e : p + strlen(p)) - p), p);
	return line;
}

/* ---- status ---------------------------------------------------------------- */

START_TEST(test_status_text)
{
	struct result r = run("--db", dbpath, "status", NULL);
	const char *breaches;
	char want[200];

	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, dbpath);
	HAS(r.out, "unknown (no configuration read)");
	HAS(r.out, "2026-11-22 12:00:00 UTC");
	ck_assert_str_eq(line_starting(r.out, "STATE"), "STATE      JOBS");
	ck_assert_str_eq(line_starting(r.out, "pending "), "pending       1");
	ck_assert_str_eq(line_starting(r.out, "verified "), "verified      3");
	ck_assert_str_eq(line_starting(r.out, "total "), "total         8");
	HASNT(r.out, "expired");
	/* The oldest unfinished job: pending since 07:00, not the failed one. */
	HAS(line_starting(r.out, "oldest unfinished "), ids[SRC_PENDING]);
	HAS(line_starting(r.out, "oldest unfinished "), "pending, created 2026-11-22 07:00:00");
	ck_assert_str_eq(line_starting(r.out, "next due "),
			 "next due           2026-11-22 07:00:00");
	HAS(line_starting(r.out, "rpo "), "not checked");
	HAS(r.out, "FAILED JOBS (2)");
	HAS(line_with(r.out, ids[SRC_FAILED]), "copying");
	HAS(line_with(r.out, ids[SRC_FAILED]), "AccessDenied");
	HAS(line_with(r.out, ids[V_FAILED]), "importing");
	HAS(r.out, "LAST VERIFIED COPY PER DATABASE (2)");
	HAS(line_starting(r.out, ACCT_A "/orders "), "2026-11-22 05:00:00");
	HAS(line_starting(r.out, ACCT_A "/orders "), "7h 00m");
	snprintf(want, sizeof(want), ACCT_A "/orders   2026-11-22 05:00:00   7h 00m       2  %s",
		 ids[V_ORD_NEW]);
	ck_assert_str_eq(line_starting(r.out, ACCT_A "/orders "), want);
	HAS(line_starting(r.out, ACCT_B "/billing "), "3d 00h");
	HASNT(r.out, "RPO BREACHES");
	res_free(&r);

	r = run("--db", dbpath, "--rpo", "26h", "status", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_starting(r.out, "rpo "), "26h: 1 of 2 databases breached");
	breaches = strstr(r.out, "RPO BREACHES (1, rpo 26h)");
	ck_assert_ptr_nonnull(breaches);
	HAS(breaches, ACCT_B "/billing");
	HASNT(breaches, ACCT_A "/orders");
	res_free(&r);

	/* Options after the command work as well. */
	r = run("status", "--rpo=2h", "--db", dbpath, NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "RPO BREACHES (2, rpo 2h)");
	res_free(&r);
}
END_TEST

START_TEST(test_status_json)
{
	struct result r = run("--db", dbpath, "status", "--json", NULL);
	json_t *doc = parse(r.out), *counts, *failed, *lv, *o;

	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(jget_str(doc, "database"), dbpath);
	ck_assert(json_is_null(json_object_get(doc, "role")));
	ck_assert_str_eq(jget_str(doc, "now"), "2026-11-22T12:00:00Z");
	counts = json_object_get(doc, "counts");
	ck_assert_int_eq(json_object_size(counts), OB_JOB_STATE_COUNT);
	ck_assert_int_eq(jget_int(counts, "pending"), 1);
	ck_assert_int_eq(jget_int(counts, "copying"), 1);
	ck_assert_int_eq(jget_int(counts, "failed"), 2);
	ck_assert_int_eq(jget_int(counts, "verified"), 3);
	ck_assert_int_eq(jget_int(counts, "rejected"), 1);
	ck_assert_int_eq(jget_int(counts, "expired"), 0);
	ck_assert_int_eq(jget_int(doc, "total"), 8);
	o = json_object_get(doc, "oldest_unfinished");
	ck_assert_str_eq(jget_str(o, "id"), ids[SRC_PENDING]);
	ck_assert_str_eq(jget_str(o, "state"), "pending");
	ck_assert_str_eq(jget_str(o, "database"), ACCT_A "/orders");
	ck_assert_str_eq(jget_str(doc, "next_due"), "2026-11-22T07:00:00Z");
	failed = json_object_get(doc, "failed");
	ck_assert_int_eq(json_array_size(failed), 2);
	ck_assert_str_eq(jget_str(json_array_get(failed, 0), "id"), ids[SRC_FAILED]);
	ck_assert_str_eq(jget_str(json_array_get(failed, 0), "failed_from"), "copying");
	ck_assert_str_eq(jget_str(json_array_get(failed, 0), "error_code"), "AccessDenied");
	ck_assert_str_eq(jget_str(json_array_get(failed, 1), "id"), ids[V_FAILED]);
	ck_assert_str_eq(jget_str(json_array_get(failed, 1), "failed_from"), "importing");
	ck_assert(json_is_null(json_object_get(doc, "rpo")));
	ck_assert(json_is_null(json_object_get(doc, "rpo_ms")));
	lv = json_object_get(doc, "last_verified");
	ck_assert_int_eq(json_array_size(lv), 2);
	o = json_array_get(lv, 0);
	ck_assert_str_eq(jget_str(o, "database"), ACCT_A "/orders");
	ck_assert_str_eq(jget_str(o, "account"), ACCT_A);
	ck_assert_str_eq(jget_str(o, "db_id"), "orders");
	ck_assert_str_eq(jget_str(o, "snapshot_time"), "2026-11-22T05:00:00Z");
	ck_assert_int_eq(jget_int(o, "age_s"), 7 * 3600);
	ck_assert_int_eq(jget_int(o, "verified_copies"), 2);
	ck_assert_str_eq(jget_str(o, "job"), ids[V_ORD_NEW]);
	ck_assert(json_is_null(json_object_get(o, "rpo_breached")));
	o = json_array_get(lv, 1);
	ck_assert_str_eq(jget_str(o, "database"), ACCT_B "/billing");
	ck_assert_int_eq(jget_int(o, "verified_copies"), 1);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "rpo_breaches")), 0);
	json_decref(doc);
	res_free(&r);

	r = run("--json", "--rpo", "26h", "--db", dbpath, "status", NULL);
	ck_assert_int_eq(r.rc, 0);
	doc = parse(r.out);
	ck_assert_str_eq(jget_str(doc, "rpo"), "26h");
	ck_assert_int_eq(jget_int(doc, "rpo_ms"), 26 * H_MS);
	lv = json_object_get(doc, "last_verified");
	ck_assert(json_is_false(json_object_get(json_array_get(lv, 0), "rpo_breached")));
	ck_assert(json_is_true(json_object_get(json_array_get(lv, 1), "rpo_breached")));
	o = json_object_get(doc, "rpo_breaches");
	ck_assert_int_eq(json_array_size(o), 1);
	ck_assert_str_eq(jget_str(json_array_get(o, 0), "database"), ACCT_B "/billing");
	ck_assert_str_eq(jget_str(json_array_get(o, 0), "snapshot_time"), "2026-11-19T12:00:00Z");
	ck_assert_int_eq(jget_int(json_array_get(o, 0), "age_s"), 72 * 3600);
	json_decref(doc);
	res_free(&r);

	/* Exactly at the rpo is not a breach; one second past it is. */
	r = run("--json", "--rpo", "7h", "--db", dbpath, "status", NULL);
	doc = parse(r.out);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "rpo_breaches")), 1);
	json_decref(doc);
	res_free(&r);
	r = run("--json", "--rpo", "25199s", "--db", dbpath, "status", NULL);
	doc = parse(r.out);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "rpo_breaches")), 2);
	json_decref(doc);
	res_free(&r);
}
END_TEST

START_TEST(test_status_empty)
{
	char empty[160];
	struct ob_store *st;
	struct result r;
	json_t *doc;

	snprintf(empty, sizeof(empty), "%s/empty.db", tmpdir);
	st = open_rw(empty);
	ob_store_close(st);
	r = run("--db", empty, "status", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(line_starting(r.out, "total "), "total         0");
	HAS(r.out, "oldest unfinished  none");
	HAS(r.out, "next due           nothing due");
	HASNT(r.out, "FAILED");
	HASNT(r.out, "LAST VERIFIED");
	res_free(&r);
	r = run("--db", empty, "status", "--json", NULL);
	doc = parse(r.out);
	ck_assert(json_is_null(json_object_get(doc, "oldest_unfinished")));
	ck_assert(json_is_null(json_object_get(doc, "next_due")));
	ck_assert_int_eq(json_array_size(json_object_get(doc, "failed")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "last_verified")), 0);
	json_decref(doc);
	res_free(&r);
	r = run("--db", empty, "list", NULL);
	ck_assert_str_eq(r.out, "no jobs\n");
	res_free(&r);
}
END_TEST

/* ---- configuration --------------------------------------------------------- */

static void write_config(const char *path, const char *role_part, const char *aws_part,
			 const char *db, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "[daemon]\nrole = %s\nregion = eu-central-1\nqueue_url = "
		"https://sqs.eu-central-1.amazonaws.com/222222222222/offsite-backup-inbox\n"
		"state_db = %s\n%s%s", strncmp(role_part, "[target]", 8) == 0 ? "target" : "source",
		db, aws_part, role_part);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

#define TARGET_PART "[target]\nimport_kms_key = arn:aws:kms:eu-central-1:222222222222:" \
	"key/1234abcd-12ab-34cd-56ef-1234567890ab\nallowed_source_accounts = 111111111111, 333333333333\nrpo = 26h\n"
#define SOURCE_PART "[source]\nexport_kms_key = arn:aws:kms:eu-central-1:111111111111:key/" \
	"1234abcd-12ab-34cd-56ef-1234567890ab\ntarget_account = 222222222222\n" \
	"notify_topic_arn = arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox\n"
#define STATIC_PART "[aws]\ncredentials = static\naccess_key_id = AKIAIOSFODNN7EXAMPLE\n" \
	"secret_access_key = " SECRET "\n"

START_TEST(test_config)
{
	char cfg[160], other[160];
	struct result r;
	json_t *doc;

	snprintf(cfg, sizeof(cfg), "%s/target.conf", tmpdir);
	write_config(cfg, TARGET_PART, "", dbpath, 0644);
	r = run("--config", cfg, "status", "--json", NULL);
	ck_assert_int_eq(r.rc, 0);
	doc = parse(r.out);
	ck_assert_str_eq(jget_str(doc, "role"), "target");
	ck_assert_str_eq(jget_str(doc, "database"), dbpath);
	ck_assert_str_eq(jget_str(doc, "rpo"), "26h");
	ck_assert_int_eq(json_array_size(json_object_get(doc, "rpo_breaches")), 1);
	json_decref(doc);
	res_free(&r);
	/* --rpo wins over the file's. */
	r = run("--config", cfg, "--rpo", "4d", "status", "--json", NULL);
	doc = parse(r.out);
	ck_assert_str_eq(jget_str(doc, "rpo"), "4d");
	ck_assert_int_eq(json_array_size(json_object_get(doc, "rpo_breaches")), 0);
	json_decref(doc);
	res_free(&r);
	r = run("--config", cfg, "status", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_starting(r.out, "role "), "target");
	HAS(r.out, "RPO BREACHES (1, rpo 26h)");
	res_free(&r);

	/* A source: no rpo. */
	snprintf(cfg, sizeof(cfg), "%s/source.conf", tmpdir);
	write_config(cfg, SOURCE_PART, "", dbpath, 0644);
	r = run("--config", cfg, "status", "--json", NULL);
	ck_assert_int_eq(r.rc, 0);
	doc = parse(r.out);
	ck_assert_str_eq(jget_str(doc, "role"), "source");
	ck_assert(json_is_null(json_object_get(doc, "rpo")));
	json_decref(doc);
	res_free(&r);

	/* --db with --config: the path from --db, the rest from the file. */
	snprintf(other, sizeof(other), "%s/elsewhere.conf", tmpdir);
	write_config(other, TARGET_PART, "", "/nonexistent/state.db", 0644);
	r = run("--config", other, "--db", dbpath, "status", "--json", NULL);
	ck_assert_int_eq(r.rc, 0);
	doc = parse(r.out);
	ck_assert_str_eq(jget_str(doc, "database"), dbpath);
	ck_assert_str_eq(jget_str(doc, "role"), "target");
	json_decref(doc);
	res_free(&r);
	/* The file's state_db when --db is absent: missing here. */
	r = run("--config", other, "list", NULL);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_str_eq(r.err, "offsite-backupctl: /nonexistent/state.db: no such database\n");
	res_free(&r);

	/* A secret readable by others: refused, exit 2, the secret unsaid. */
	snprintf(cfg, sizeof(cfg), "%s/static.conf", tmpdir);
	write_config(cfg, TARGET_PART, STATIC_PART, dbpath, 0644);
	r = run("--config", cfg, "status", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "group or others");
	HAS(r.err, "--db PATH");
	HASNT(r.err, "bPxRfiCY");
	res_free(&r);
	/* At 0600 it loads, and the secret appears nowhere. */
	ck_assert_int_eq(chmod(cfg, 0600), 0);
	r = run("--config", cfg, "status", NULL);
	ck_assert_int_eq(r.rc, 0);
	HASNT(r.out, "bPxRfiCY");
	res_free(&r);
	r = run("--config", cfg, "show", ids[SRC_FAILED], "--json", NULL);
	ck_assert_int_eq(r.rc, 0);
	HASNT(r.out, "bPxRfiCY");
	res_free(&r);

	/* Broken and missing files: configuration errors. */
	snprintf(cfg, sizeof(cfg), "%s/broken.conf", tmpdir);
	write_config(cfg, "[target]\nrpo = soon\n", "", dbpath, 0644);
	r = run("--config", cfg, "status", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "rpo");
	res_free(&r);
	snprintf(cfg, sizeof(cfg), "%s/absent.conf", tmpdir);
	r = run("--config", cfg, "status", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "absent.conf");
	res_free(&r);
	/* The default file, when this machine has none. */
	if (access("/etc/offsite-backup.conf", F_OK) != 0) {
		r = run("status", NULL);
		ck_assert_int_eq(r.rc, 2);
		HAS(r.err, "/etc/offsite-backup.conf");
		res_free(&r);
	}
}
END_TEST

/* ---- list ------------------------------------------------------------------- */

START_TEST(test_list)
{
	struct result r = run("--db", dbpath, "list", NULL);
	json_t *doc, *jobs;
	int i;

	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(count_lines(r.out), 1 + N_JOBS);
	ck_assert_msg(strncmp(r.out, "JOB ", 4) == 0, "%s", r.out);
	HAS(r.out, "STATE");
	HAS(r.out, "UPDATED");
	for (i = 0; i < N_JOBS; i++)
		HAS(r.out, ids[i]);
	/* Oldest first: the billing copy was created 70 hours ago. */
	ck_assert_ptr_eq(strstr(r.out, ids[V_BILL]), strchr(r.out, '\n') + 1);
	ck_assert(strstr(r.out, ids[V_ORD_OLD]) < strstr(r.out, ids[SRC_FAILED]));
	/* Snapshot names, not whole ARNs. */
	HAS(line_with(r.out, ids[SRC_PENDING]), " rds:orders-2026-11-22-05-03 ");
	HASNT(r.out, "arn:aws:rds");
	HAS(line_with(r.out, ids[V_REJ]), "  -                     rejected:msg-0001  ");
	res_free(&r);

	r = run("--db", dbpath, "list", "--state", "failed", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(count_lines(r.out), 3);
	HAS(r.out, ids[SRC_FAILED]);
	HAS(r.out, ids[V_FAILED]);
	res_free(&r);

	r = run("--db", dbpath, "list", "--state", "failed,verified", "--state=pending", NULL);
	ck_assert_int_eq(count_lines(r.out), 1 + 6);
	HASNT(r.out, ids[SRC_COPYING]);
	res_free(&r);

	r = run("--db", dbpath, "list", "--state", "expired", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "no jobs\n");
	res_free(&r);

	r = run("--db", dbpath, "list", "--db", "orders", NULL);
	ck_assert_int_eq(count_lines(r.out), 1 + 5);
	HASNT(r.out, ids[SRC_FAILED]);
	HASNT(r.out, ids[V_BILL]);
	res_free(&r);
	r = run("--db", dbpath, "list", "--db", "billing", NULL);
	ck_assert_int_eq(count_lines(r.out), 1 + 2);
	res_free(&r);
	r = run("--db", dbpath, "list", "--db=" ACCT_B "/billing", NULL);
	ck_assert_int_eq(count_lines(r.out), 1 + 1);
	HAS(r.out, ids[V_BILL]);
	res_free(&r);
	r = run("--db", dbpath, "list", "--db", "nosuchdb", NULL);
	ck_assert_str_eq(r.out, "no jobs\n");
	res_free(&r);

	r = run("--db", dbpath, "list", "--state", "verified", "--db", "orders", "--json", NULL);
	ck_assert_int_eq(r.rc, 0);
	doc = parse(r.out);
	ck_assert_str_eq(jget_str(doc, "database"), dbpath);
	ck_assert_str_eq(jget_str(doc, "db"), "orders");
	ck_assert_int_eq(json_array_size(json_object_get(doc, "states")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(doc, "states"), 0)),
			 "verified");
	ck_assert_int_eq(jget_int(doc, "count"), 2);
	jobs = json_object_get(doc, "jobs");
	ck_assert_int_eq(json_array_size(jobs), 2);
	ck_assert_str_eq(jget_str(json_array_get(jobs, 0), "id"), ids[V_ORD_OLD]);
	ck_assert_str_eq(jget_str(json_array_get(jobs, 1), "id"), ids[V_ORD_NEW]);
	json_decref(doc);
	res_free(&r);

	r = run("--json", "--db", dbpath, "list", NULL);
	doc = parse(r.out);
	ck_assert(json_is_null(json_object_get(doc, "states")));
	ck_assert(json_is_null(json_object_get(doc, "db")));
	ck_assert_int_eq(jget_int(doc, "count"), N_JOBS);
	json_decref(doc);
	res_free(&r);
}
END_TEST

START_TEST(test_list_bad)
{
	struct result r = run("--db", dbpath, "list", "--state", "bogus", NULL);

	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "unknown state 'bogus'");
	res_free(&r);
	r = run("--db", dbpath, "list", "--state", "failed,", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "unknown state ''");
	res_free(&r);
	r = run("--db", dbpath, "list", "--state", "FAILED", "--json", NULL);
	ck_assert_int_eq(r.rc, 2);
	res_free(&r);
	/* A path after `list --db` is a mistake worth explaining. */
	r = run("list", "--db", dbpath, NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "offsite-backupctl --db PATH list");
	res_free(&r);
	r = run("--db", dbpath, "status", "--state", "failed", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "--state belongs to list");
	res_free(&r);
}
END_TEST

/* ---- show ------------------------------------------------------------------- */

START_TEST(test_show)
{
	struct result r = run("--db", dbpath, "show", ids[SRC_FAILED], NULL);
	json_t *doc, *job, *hist, *h;
	const char *p;

	ck_assert_int_eq(r.rc, 0);
	ck_assert_msg(strncmp(r.out, "job                ", 19) == 0, "%s", r.out);
	ck_assert_str_eq(line_starting(r.out, "job "), line_with(r.out, ids[SRC_FAILED]));
	HAS(line_starting(r.out, "state "),
	    "failed (in copying; offsite-backupctl retry resumes it)");
	HAS(line_starting(r.out, "role "), "source, db-snapshot");
	HAS(line_starting(r.out, "database "), ACCT_A "/billing");
	HAS(line_starting(r.out, "source snapshot "), fixture_arn[SRC_FAILED]);
	HAS(line_starting(r.out, "snapshot time "), "2026-11-22 01:00:00");
	HAS(line_starting(r.out, "engine "), "postgres 16.3, 100 GiB");
	HAS(line_starting(r.out, "next due "), "never");
	HAS(line_starting(r.out, "error "),
	    "AccessDenied: not authorized to perform kms:CreateGrant");
	HAS(line_starting(r.out, "copy tags "), "payments");
	HAS(r.out, "\nHISTORY (3)\n");
	p = strstr(r.out, "HISTORY (3)");
	HAS(p, "\nAT                   FROM       TO         DETAIL\n");
	HAS(p, "\n2026-11-22 02:00:00  -          pending    created\n");
	HAS(p, "\n2026-11-22 02:00:01  pending    copying    copy-started\n");
	HAS(p, "\n2026-11-22 03:00:00  copying    failed     fail: not authorized");
	res_free(&r);

	r = run("--db", dbpath, "show", "--json", ids[SRC_FAILED], NULL);
	ck_assert_int_eq(r.rc, 0);
	doc = parse(r.out);
	job = json_object_get(doc, "job");
	ck_assert_str_eq(jget_str(job, "id"), ids[SRC_FAILED]);
	ck_assert_str_eq(jget_str(job, "role"), "source");
	ck_assert_str_eq(jget_str(job, "kind"), "db-snapshot");
	ck_assert_str_eq(jget_str(job, "state"), "failed");
	ck_assert_str_eq(jget_str(job, "failed_from"), "copying");
	ck_assert_str_eq(jget_str(job, "source_arn"), fixture_arn[SRC_FAILED]);
	ck_assert_str_eq(jget_str(job, "snapshot_name"), "manual-billing-1");
	ck_assert_str_eq(jget_str(job, "account"), ACCT_A);
	ck_assert_str_eq(jget_str(job, "db_id"), "billing");
	ck_assert_str_eq(jget_str(job, "snapshot_time"), "2026-11-22T01:00:00Z");
	ck_assert_str_eq(jget_str(job, "created"), "2026-11-22T02:00:00Z");
	ck_assert_str_eq(jget_str(job, "updated"), "2026-11-22T03:00:00Z");
	ck_assert(json_is_null(json_object_get(job, "next_at")));
	ck_assert_int_eq(jget_int(job, "allocated_gib"), 100);
	ck_assert_int_eq(jget_int(job, "attempts"), 0);
	ck_assert_str_eq(jget_str(job, "error_code"), "AccessDenied");
	ck_assert_str_eq(jget_str(job, "copy_arn"), "");
	ck_assert_str_eq(jget_str(json_array_get(json_object_get(job, "source_tags"), 0), "Value"),
			 "payments");
	hist = json_object_get(doc, "history");
	ck_assert_int_eq(json_array_size(hist), 3);
	h = json_array_get(hist, 0);
	ck_assert(json_is_null(json_object_get(h, "from")));
	ck_assert_str_eq(jget_str(h, "to"), "pending");
	ck_assert_str_eq(jget_str(h, "at"), "2026-11-22T02:00:00Z");
	h = json_array_get(hist, 2);
	ck_assert_str_eq(jget_str(h, "from"), "copying");
	ck_assert_str_eq(jget_str(h, "to"), "failed");
	ck_assert_str_eq(jget_str(h, "detail"), "fail: not authorized to perform kms:CreateGrant");
	json_decref(doc);
	res_free(&r);

	/* By source ARN; a pending job has a due time, the rejected no ARN. */
	r = run("--db", dbpath, "show", fixture_arn[SRC_PENDING], "--json", NULL);
	ck_assert_int_eq(r.rc, 0);
	doc = parse(r.out);
	job = json_object_get(doc, "job");
	ck_assert_str_eq(jget_str(job, "id"), ids[SRC_PENDING]);
	ck_assert(json_is_null(json_object_get(job, "failed_from")));
	ck_assert_str_eq(jget_str(job, "next_at"), "2026-11-22T07:00:00Z");
	json_decref(doc);
	res_free(&r);
	r = run("--db", dbpath, "show", ids[V_REJ], "--json", NULL);
	doc = parse(r.out);
	job = json_object_get(doc, "job");
	ck_assert(json_is_null(json_object_get(job, "account")));
	ck_assert(json_is_null(json_object_get(job, "snapshot_name")));
	ck_assert(json_is_null(json_object_get(job, "snapshot_time")));
	ck_assert(json_is_null(json_object_get(job, "database")));
	/* its tags are what the announcement claimed, and say so */
	ck_assert_str_eq(jget_str(json_object_get(job, "announcement"), "sender_account"),
			 "444444444444");
	ck_assert_str_eq(jget_str(json_object_get(job, "announcement"), "claimed_snapshot"),
			 "arn:aws:rds:eu-central-1:444444444444:snapshot:forged");
	json_decref(doc);
	res_free(&r);
	r = run("--db", dbpath, "show", ids[V_REJ], NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(line_starting(r.out, "snapshot time "), "snapshot time      -");
	ck_assert_ptr_null(strstr(r.out, "\ncopy tags "));
	HAS(line_starting(r.out, "announcement "), "named sender account 444444444444");
	HAS(r.out, "444444444444:snapshot:forged");
	HAS(line_starting(r.out, "error "), "Rejected: source account 444444444444");
	res_free(&r);
}
END_TEST

START_TEST(test_unknown_job)
{
	char want[300];
	struct result r = run("--db", dbpath, "show", "jdeadbeefdeadbeef", NULL);

	snprintf(want, sizeof(want), "offsite-backupctl: no job jdeadbeefdeadbeef in %s\n", dbpath);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_str_eq(r.err, want);
	res_free(&r);
	r = run("--db", dbpath, "retry", "jdeadbeefdeadbeef", "--json", NULL);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_str_eq(r.err, want);
	res_free(&r);
	r = run("--db", dbpath, "show", ARN_A "never-seen", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "no job " ARN_A "never-seen in ");
	res_free(&r);
}
END_TEST

/* ---- missing databases ---------------------------------------------------- */

START_TEST(test_missing_db)
{
	static const char *const cmds[][2] = {
		{ "status", NULL }, { "list", NULL }, { "show", "jdeadbeefdeadbeef" },
		{ "retry", "jdeadbeefdeadbeef" },
	};
	char path[160], want[300];
	struct result r;
	size_t i;

	snprintf(path, sizeof(path), "%s/nope.db", tmpdir);
	snprintf(want, sizeof(want), "offsite-backupctl: %s: no such database\n", path);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		r = run("--db", path, cmds[i][0], cmds[i][1], NULL);
		ck_assert_int_eq(r.rc, 2);
		ck_assert_str_eq(r.err, want);
		ck_assert_int_eq(access(path, F_OK), -1);
		res_free(&r);
	}
	/* Nor in a directory that does not exist. */
	r = run("--db", "/nonexistent-ob-dir/state.db", "retry", "j1", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "no such database");
	res_free(&r);
	/* A directory is not a database. */
	r = run("--db", tmpdir, "status", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "not a database");
	res_free(&r);
	/* A file that is not SQLite: a runtime failure, left as it was. */
	snprintf(path, sizeof(path), "%s/garbage.db", tmpdir);
	{
		static const char text[] = "this is not a database, not even close\n";
		FILE *f = fopen(path, "w");
		struct stat sb;

		ck_assert_ptr_nonnull(f);
		fputs(text, f);
		ck_assert_int_eq(fclose(f), 0);
		r = run("--db", path, "retry", ids[SRC_FAILED], NULL);
		ck_assert_int_eq(r.rc, 1);
		HAS(r.err, path);
		ck_assert_int_eq(stat(path, &sb), 0);
		ck_assert_int_eq(sb.st_size, (off_t)strlen(text));
		res_free(&r);
	}
}
END_TEST

/* ---- retry ------------------------------------------------------------------ */

static void get_job(const char *id, struct ob_job *ret, struct ob_history_list *hist)
{
	struct ob_store *st = NULL;
	struct ob_error err;

	ck_assert_msg(ob_store_open(dbpath, true, &st, &err) == 0, "%s", err.message);
	ck_assert_msg(ob_store_job_get(st, id, ret, &err) == 0, "%s", err.message);
	ck_assert_msg(ob_store_history(st, id, hist, &err) == 0, "%s", err.message);
	ob_store_close(st);
}

START_TEST(test_retry)
{
	struct result r = run("--db", dbpath, "retry", ids[SRC_FAILED], NULL);
	struct ob_history_list h;
	struct ob_job j;
	json_t *doc;

	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, ids[SRC_FAILED]);
	HAS(r.out, "failed -> copying, due 2026-11-22 12:00:00");
	HAS(r.out, "next turn");
	res_free(&r);
	get_job(ids[SRC_FAILED], &j, &h);
	ck_assert_int_eq(j.state, OB_JOB_COPYING);
	ck_assert_int_eq(j.next_at_ms, NOW_MS);
	ck_assert_int_eq(j.updated_ms, NOW_MS);
	ck_assert_int_eq(j.attempts, 0);
	ck_assert_str_eq(j.error_code, "");
	ck_assert_str_eq(j.error_message, "");
	ck_assert_uint_eq(h.n, 4);
	ck_assert_str_eq(h.items[3].from, "failed");
	ck_assert_str_eq(h.items[3].to, "copying");
	ck_assert_int_eq(h.items[3].at_ms, NOW_MS);
	HAS(h.items[3].detail, "operator-retry by uid");
	/* The failure's own row keeps the error. */
	HAS(h.items[2].detail, "not authorized");
	ob_job_clear(&j);
	ob_history_list_clear(&h);

	/* Again: it is not failed any more. Refused, nothing written. */
	r = run("--db", dbpath, "retry", ids[SRC_FAILED], NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "is copying, not failed");
	res_free(&r);
	r = run("--db", dbpath, "retry", ids[V_ORD_NEW], NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "is verified, not failed");
	res_free(&r);
	get_job(ids[SRC_FAILED], &j, &h);
	ck_assert_int_eq(j.state, OB_JOB_COPYING);
	ck_assert_uint_eq(h.n, 4);
	ob_job_clear(&j);
	ob_history_list_clear(&h);

	/* The vault's failed import, by ARN, as JSON. */
	r = run("--json", "--db", dbpath, "retry", fixture_arn[V_FAILED], NULL);
	ck_assert_int_eq(r.rc, 0);
	doc = parse(r.out);
	ck_assert_str_eq(jget_str(doc, "from"), "failed");
	ck_assert_str_eq(jget_str(doc, "to"), "importing");
	ck_assert_str_eq(jget_str(json_object_get(doc, "job"), "state"), "importing");
	ck_assert_str_eq(jget_str(json_object_get(doc, "job"), "next_at"), "2026-11-22T12:00:00Z");
	ck_assert(json_is_null(json_object_get(json_object_get(doc, "job"), "failed_from")));
	json_decref(doc);
	res_free(&r);
	get_job(ids[V_FAILED], &j, &h);
	ck_assert_int_eq(j.state, OB_JOB_IMPORTING);
	ck_assert_uint_eq(h.n, 4);
	ob_job_clear(&j);
	ob_history_list_clear(&h);

	/* Now status shows no failed job. */
	r = run("--db", dbpath, "status", NULL);
	HASNT(r.out, "FAILED JOBS");
	res_free(&r);
}
END_TEST

START_TEST(test_retry_unresumable)
{
	struct ob_store *st = open_rw(dbpath);
	char id[OB_JOB_ID_SIZE];
	struct ob_history_list h;
	struct ob_job j;
	struct result r;

	/* A failed row that does not say where it failed: the machine
	 * refuses to guess, so retry fails (1) and writes nothing. */
	add_job(st, "source", ARN_A "odd-one", "orders", OB_JOB_FAILED, NOW_S, NOW_MS - H_MS, "",
		"", &j);
	ob_store_close(st);
	r = run("--db", dbpath, "retry", j.id, NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "cannot be retried");
	res_free(&r);
	ob_job_clear(&j);
	ob_ident_job_id(ARN_A "odd-one", id);
	get_job(id, &j, &h);
	ck_assert_int_eq(j.state, OB_JOB_FAILED);
	ck_assert_uint_eq(h.n, 1);
	ob_job_clear(&j);
	ob_history_list_clear(&h);
}
END_TEST

/* ---- usage -------------------------------------------------------------------- */

START_TEST(test_usage)
{
	static const char *const bad[][5] = {
		{ NULL },
		{ "bogus", NULL },
		{ "--bogus", "status", NULL },
		{ "-x", "status", NULL },
		{ "show", NULL },
		{ "retry", NULL },
		{ "status", "extra", NULL },
		{ "show", "j1", "j2", NULL },
		{ "--rpo", "0", "status", NULL },
		{ "--rpo", "abc", "status", NULL },
		{ "--rpo", "26", "status", NULL },
		{ "status", "--db", NULL },
		{ "--db=", "status", NULL },
		{ "--json=yes", "status", NULL },
		{ "--", "--json", NULL },
	};
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = run(bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4]);
		ck_assert_msg(r.rc == 2, "case %zu: exit %d", i, r.rc);
		HAS(r.err, "usage: offsite-backupctl");
		res_free(&r);
	}
	r = run(NULL);
	HAS(r.err, "no command given");
	res_free(&r);
	r = run("frobnicate", NULL);
	HAS(r.err, "unknown command 'frobnicate'");
	res_free(&r);

	r = run("--help", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "SYNOPSIS");
	HAS(r.out, "EXIT STATUS");
	HAS(r.out, "retry JOB");
	res_free(&r);
	r = run("--db", "/nonexistent", "show", "-h", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "SYNOPSIS");
	res_free(&r);
	r = run("--version", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "offsite-backupctl ");
	ck_assert_int_eq(count_lines(r.out), 1);
	res_free(&r);
	/* After "--" a name that looks like an option is the JOB. */
	r = run("--db", dbpath, "show", "--", "--json", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "no job --json in");
	res_free(&r);
}
END_TEST

/* ---- reading commands leave the file alone ----------------------------------- */

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

START_TEST(test_read_only_untouched)
{
	size_t n0, n1;
	char *before = slurp(dbpath, &n0), *after;
	struct result r;

	r = run("--db", dbpath, "status", "--rpo", "1h", NULL);
	res_free(&r);
	r = run("--db", dbpath, "list", "--json", NULL);
	res_free(&r);
	r = run("--db", dbpath, "show", ids[SRC_FAILED], NULL);
	res_free(&r);
	r = run("--db", dbpath, "show", "jnothing", NULL);
	res_free(&r);
	after = slurp(dbpath, &n1);
	ck_assert_uint_eq(n0, n1);
	ck_assert(memcmp(before, after, n0) == 0);
	free(before);
	free(after);
}
END_TEST

/* An empty file is a database the daemon has not migrated yet: refused by
 * every command, retry included, and left empty (a read-write open would
 * have migrated it). */
START_TEST(test_unmigrated_untouched)
{
	static const char *const cmds[][2] = {
		{ "status", NULL }, { "list", NULL }, { "show", "j1" }, { "retry", "j1" },
	};
	char path[160];
	struct result r;
	struct stat sb;
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/empty.db", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fclose(f), 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		r = run("--db", path, cmds[i][0], cmds[i][1], NULL);
		ck_assert_int_eq(r.rc, 1);
		HAS(r.err, "run the daemon once to migrate");
		ck_assert_int_eq(stat(path, &sb), 0);
		ck_assert_int_eq(sb.st_size, 0);
		res_free(&r);
	}
}
END_TEST

/* ---- the shape of human output ------------------------------------------------ */

/* The value of "key" in show's output, continuation lines joined. */
static char *show_value(const char *out, const char *key)
{
	const char *p = strstr(out, key), *nl;
	size_t cap = strlen(out) + 1, len = 0;
	char *v = calloc(1, cap);

	ck_assert_ptr_nonnull(p);
	ck_assert(p == out || p[-1] == '\n');
	ck_assert_ptr_nonnull(v);
	for (;;) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_int_gt(nl - p, 19);
		memcpy(v + len, p + 19, (size_t)(nl - p - 19));
		len += (size_t)(nl - p - 19);
		p = nl + 1;
		if (strncmp(p, "                   ", 19) != 0)
			return v;
	}
}

START_TEST(test_width)
{
	char name[256], db[256], db2[256], arn[400], arn2[400], arn3[400], msg[900], path[160];
	char id[OB_JOB_ID_SIZE], *v;
	const char *p;
	struct ob_store *st;
	struct result r;
	struct ob_job j;
	size_t i;

	memset(name, 'n', 255);
	name[0] = 'N';
	name[254] = 'Z';
	name[255] = '\0';
	memset(db, 'd', 255);
	db[255] = '\0';
	memcpy(db2, db, sizeof(db));
	db2[254] = 'e';
	snprintf(arn, sizeof(arn), ARN_A "%s", name);
	snprintf(arn2, sizeof(arn2), ARN_B "%s", name);
	name[1] = 'o';
	snprintf(arn3, sizeof(arn3), ARN_A "%s", name);
	/* A long message with words, then one long word. */
	msg[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(msg, "the key is disabled ");
	for (i = strlen(msg); i < 880; i++)
		msg[i] = 'x';
	msg[880] = '\0';
	snprintf(path, sizeof(path), "%s/wide.db", tmpdir);
	st = open_rw(path);
	add_job(st, "target", arn, db, OB_JOB_ANNOUNCED, NOW_S - 40 * 3600, NOW_MS - 41 * H_MS,
		"", "", &j);
	step(st, &j, OB_EV_COPY_STARTED, NOW_MS - 40 * H_MS, NULL, NULL);
	step(st, &j, OB_EV_COPY_AVAILABLE, NOW_MS - 39 * H_MS, NULL, NULL);
	step(st, &j, OB_EV_VERIFIED, NOW_MS - 39 * H_MS, NULL, NULL);
	ob_job_clear(&j);
	add_job(st, "target", arn2, db2, OB_JOB_ANNOUNCED, NOW_S - 40 * 3600, NOW_MS - 40 * H_MS,
		"", "", &j);
	step(st, &j, OB_EV_COPY_STARTED, NOW_MS - 39 * H_MS, NULL, NULL);
	step(st, &j, OB_EV_FAIL, NOW_MS - 38 * H_MS, "KMSKeyNotAccessibleFaultWithAVeryLongName",
	     msg);
	ob_job_clear(&j);
	add_job(st, "source", arn3, db, OB_JOB_PENDING, NOW_S - 3600, NOW_MS - 50 * H_MS, "", "",
		&j);
	ob_job_clear(&j);
	ob_store_close(st);

	/* run() checks every line of every successful human answer. */
	r = run("--db", path, "--rpo", "1h", "status", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "\xe2\x80\xa6"); /* cut in the middle */
	HAS(r.out, "RPO BREACHES (1, rpo 1h)");
	res_free(&r);
	r = run("--db", path, "list", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(count_lines(r.out), 4);
	HAS(r.out, "\xe2\x80\xa6");
	/* Both ends of a long name stay visible. */
	HAS(line_with(r.out, "verified"), "Nnn");
	HAS(line_with(r.out, "verified"), "nnZ");
	res_free(&r);
	r = run("--db", path, "list", "--state", "failed", "--db", db2, NULL);
	ck_assert_int_eq(count_lines(r.out), 2);
	res_free(&r);

	ob_ident_job_id(arn2, id);
	r = run("--db", path, "show", id, NULL);
	ck_assert_int_eq(r.rc, 0);
	/* show wraps instead of cutting: the whole ARN and message are there. */
	v = show_value(r.out, "source snapshot");
	ck_assert_str_eq(v, arn2);
	free(v);
	v = show_value(r.out, "database");
	ck_assert_str_eq(v + 13, db2);
	free(v);
	HAS(r.out, "xxxxxxxxxx");
	/* Words are not cut: every line of the error starts with one. */
	p = strstr(r.out, "\nerror ");
	ck_assert_ptr_nonnull(p);
	for (p++, i = 0; strncmp(p, "copy tags", 9) != 0; p = strchr(p, '\n') + 1, i++) {
		const char *w = p + 19;

		ck_assert_msg(strncmp(w, "KMS", 3) == 0 || strncmp(w, "the ", 4) == 0 ||
			      strncmp(w, "key ", 4) == 0 || strncmp(w, "is ", 3) == 0 ||
			      strncmp(w, "disabled ", 9) == 0 || w[0] == 'x',
			      "a word cut at: %.40s", w);
	}
	ck_assert_uint_ge(i, 10);
	res_free(&r);
	r = run("--db", path, "retry", id, NULL);
	ck_assert_int_eq(r.rc, 0);
	res_free(&r);
	r = run("--help", NULL);
	ck_assert_int_le(widest(r.out), 80);
	res_free(&r);
}
END_TEST

/* ---- hostile strings ------------------------------------------------------------ */

START_TEST(test_hostile_strings)
{
	static const char evil[] = "\x1b[2J\x1b[31mred\x1b[0m\r\nFAKE LINE\xff\xfe\xe2\x80\xae!";
	struct ob_store *st = open_rw(dbpath);
	struct result r;
	struct ob_job j;
	json_t *doc;
	const char *p;

	add_job(st, "target", ARN_A "ob-evil-eeeeeeeeeeee", "db\x1b]0;title\x07", OB_JOB_ANNOUNCED,
		NOW_S - 3600, NOW_MS - H_MS, "", "", &j);
	step(st, &j, OB_EV_FAIL, NOW_MS - H_MS / 2, "Evil\x1b[1m", evil);
	ob_store_close(st);

	r = run("--db", dbpath, "show", j.id, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_null(strchr(r.out, '\x1b'));
	ck_assert_ptr_null(strchr(r.out, '\r'));
	ck_assert_ptr_null(strchr(r.out, '\x07'));
	HASNT(r.out, "\nFAKE LINE");
	HASNT(r.out, "\xe2\x80\xae");
	for (p = r.out; *p; p++)
		ck_assert_msg((unsigned char)*p != 0xff && (unsigned char)*p != 0xfe,
			      "invalid UTF-8 passed through");
	HAS(r.out, "?[2J?[31mred?[0m??FAKE LINE??\?!");
	res_free(&r);
	r = run("--db", dbpath, "status", NULL);
	ck_assert_ptr_null(strchr(r.out, '\x1b'));
	res_free(&r);
	r = run("--db", dbpath, "list", NULL);
	ck_assert_ptr_null(strchr(r.out, '\x1b'));
	res_free(&r);

	/* JSON keeps the text (escaped) and repairs the UTF-8. */
	r = run("--db", dbpath, "show", j.id, "--json", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_null(strchr(r.out, '\x1b'));
	doc = parse(r.out);
	ck_assert_str_eq(jget_str(json_object_get(doc, "job"), "error_message"),
			 "\x1b[2J\x1b[31mred\x1b[0m\r\nFAKE LINE\xef\xbf\xbd\xef\xbf\xbd"
			 "\xe2\x80\xae!");
	ck_assert_str_eq(jget_str(json_object_get(doc, "job"), "db_id"), "db\x1b]0;title\x07");
	json_decref(doc);
	res_free(&r);
	ob_job_clear(&j);
}
END_TEST

/* ---- writing to a closed pipe ------------------------------------------------------ */

START_TEST(test_output_error)
{
	char *argv[] = { "offsite-backupctl", "--db", dbpath, "list", NULL };
	char *err = NULL;
	size_t elen = 0;
	FILE *out = fopen("/dev/full", "w"), *e = open_memstream(&err, &elen);

	ck_assert(out != NULL && e != NULL);
	ck_assert_int_eq(ob_ctl_run_clock(4, argv, out, e, &test_clock), 1);
	fclose(out);
	fclose(e);
	HAS(err, "cannot write the answer");
	free(err);
}
END_TEST

Suite *ob_suite_ctl(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("ctl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_status_text);
	tcase_add_test(tc, test_status_json);
	tcase_add_test(tc, test_status_empty);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_bad);
	tcase_add_test(tc, test_show);
	tcase_add_test(tc, test_unknown_job);
	tcase_add_test(tc, test_missing_db);
	tcase_add_test(tc, test_retry);
	tcase_add_test(tc, test_retry_unresumable);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_read_only_untouched);
	tcase_add_test(tc, test_unmigrated_untouched);
	tcase_add_test(tc, test_width);
	tcase_add_test(tc, test_hostile_strings);
	tcase_add_test(tc, test_output_error);
	suite_add_tcase(s, tc);
	return s;
}
