/*
 * check_store.c - the job database: create/reopen, the pragmas the
 * durability promise rests on (read back from the store's own connection,
 * caught, and first set otherwise, by an SQLite auto-extension), schema
 * versions, refusing garbage
 * and truncated files without touching them, read-only handles, insert
 * idempotence, the compare-and-set step and its history row, the
 * append-only triggers, queries, hostile strings, unwritable places, a full
 * disk, and a child killed mid-step at a random moment (seed from
 * OB_TEST_SEED). Every check of what was written reads the file through a
 * separate raw SQLite handle, not through the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check_ob.h"
#include "ob/store.h"

static char tmpdir[64];
static char dbpath[128];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ob-check-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
}

static void remove_tmpdir(void)
{
	char cmd[128];

	/* The unwritable-directory test may have left it 0500. */
	chmod(tmpdir, 0700);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static uint32_t test_seed(void)
{
	const char *env = getenv("OB_TEST_SEED");
	uint32_t seed = env && *env ? (uint32_t)strtoul(env, NULL, 0) : (uint32_t)time(NULL);

	if (seed == 0)
		seed = 1;
	fprintf(stderr, "check_store: OB_TEST_SEED=%" PRIu32 "\n", seed);
	return seed;
}

static uint32_t xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* --- the store's own connection, caught as SQLite opens it ------------- */

static sqlite3 *captured;

/* Runs inside sqlite3_open_v2(). It also turns the settings the store must
 * make off, so reading them back later proves the store made them rather
 * than this build's defaults. */
static int capture_db(sqlite3 *db, const char **errmsg, const struct sqlite3_api_routines *api)
{
	(void)errmsg;
	(void)api;
	captured = db;
	if (sqlite3_busy_timeout(db, 0) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF", NULL, NULL,
			 NULL) != SQLITE_OK)
		return SQLITE_ERROR;
	return SQLITE_OK;
}

/* ob_store_open() that also hands back the store's sqlite3 connection. */
static struct ob_store *open_capture(const char *path, sqlite3 **ret_db)
{
	struct ob_store *st = NULL;
	struct ob_error err;

	captured = NULL;
	ck_assert_int_eq(sqlite3_auto_extension((void (*)(void))capture_db), SQLITE_OK);
	ck_assert_msg(ob_store_open(path, false, &st, &err) == 0, "%s", err.message);
	sqlite3_cancel_auto_extension((void (*)(void))capture_db);
	ck_assert_ptr_nonnull(captured);
	*ret_db = captured;
	return st;
}

/* --- raw access, independent of the store ------------------------------ */

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int raw_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	ck_assert_msg(sqlite3_step(s) == SQLITE_ROW, "%s: %s", sql, sqlite3_errmsg(db));
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* The text sql answers, into buf ("" for no row / NULL). */
static const char *raw_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *s;
	const char *t = NULL;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		t = (const char *)sqlite3_column_text(s, 0);
	snprintf(buf, size, "%s", t ? t : "");
	sqlite3_finalize(s);
	return buf;
}

/* One-shot raw query on a path. */
static int64_t path_int(const char *path, const char *sql)
{
	sqlite3 *db = raw_open(path);
	int64_t v = raw_int(db, sql);

	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	return v;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long size;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	data = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*ret_len = (size_t)size;
	return data;
}

static void spill(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* --- jobs --------------------------------------------------------------- */

/* A job whose strings live in the struct; n makes them unique. */
struct tjob {
	struct ob_job j;
	char id[32], arn[128], db[32], copy[64];
};

static struct ob_job *tjob(struct tjob *t, int n, enum ob_job_state state, int64_t next_at)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "j%016x", (unsigned)n);
	snprintf(t->arn, sizeof(t->arn), "arn:aws:rds:eu-central-1:111122223333:snapshot:s-%d", n);
	snprintf(t->db, sizeof(t->db), "db-%d", n);
	snprintf(t->copy, sizeof(t->copy), "ob-export-s-%d", n);
	t->j.id = t->id;
	t->j.role = "source";
	t->j.kind = OB_SNAP_INSTANCE;
	t->j.source_arn = t->arn;
	t->j.db_id = t->db;
	t->j.copy_id = t->copy;
	t->j.state = state;
	t->j.failed_from = state;
	t->j.next_at_ms = next_at;
	t->j.engine = "postgres";
	t->j.engine_version = "16.3";
	t->j.allocated_gib = 20;
	t->j.snapshot_time = 1700000000;
	t->j.origin = "event";
	return &t->j;
}

static struct ob_store *open_ok(const char *path, bool read_only)
{
	struct ob_store *st = NULL;
	struct ob_error err;

	ck_assert_msg(ob_store_open(path, read_only, &st, &err) == 0, "%s", err.message);
	ck_assert_ptr_nonnull(st);
	return st;
}

static void insert_ok(struct ob_store *st, const struct ob_job *j, int64_t now, bool created)
{
	struct ob_error err;
	bool c = !created;

	ck_assert_msg(ob_store_job_insert(st, j, "seen", now, &c, &err) == 0, "%s", err.message);
	ck_assert(c == created);
}

static void get_ok(struct ob_store *st, const char *id, struct ob_job *ret)
{
	struct ob_error err;

	ck_assert_msg(ob_store_job_get(st, id, ret, &err) == 0, "%s", err.message);
}

static struct ob_fsm_step mkstep(enum ob_job_state to, bool transition, unsigned attempts,
				 int64_t next_at)
{
	struct ob_fsm_step s;

	memset(&s, 0, sizeof(s));
	s.to = to;
	s.failed_from = to;
	s.attempts = attempts;
	s.next_at_ms = next_at;
	s.transition = transition;
	return s;
}

/* Rows in table, read through a raw handle. */
static int64_t count_rows(const char *table)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	return path_int(dbpath, sql);
}

/* --- open, pragmas, versions -------------------------------------------- */

START_TEST(test_open_create_reopen)
{
	struct ob_store *st;
	struct tjob t;
	struct ob_job got;
	struct stat sb;
	char wal[160];

	make_tmpdir();
	st = open_ok(dbpath, false);
	ck_assert_int_eq(ob_store_file_version(st), ob_store_schema_version());
	ck_assert_int_ge(ob_store_schema_version(), 1);
	ck_assert_int_eq(stat(dbpath, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	insert_ok(st, tjob(&t, 1, OB_JOB_PENDING, 1000), 500, true);
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ob_store_close(st);

	st = open_ok(dbpath, false);
	get_ok(st, t.id, &got);
	ck_assert_str_eq(got.id, t.id);
	ck_assert_str_eq(got.role, "source");
	ck_assert_int_eq(got.kind, OB_SNAP_INSTANCE);
	ck_assert_str_eq(got.source_arn, t.arn);
	ck_assert_str_eq(got.db_id, t.db);
	ck_assert_str_eq(got.copy_id, t.copy);
	ck_assert_str_eq(got.copy_arn, "");
	ck_assert_int_eq(got.state, OB_JOB_PENDING);
	ck_assert_int_eq(got.failed_from, OB_JOB_PENDING);
	ck_assert_uint_eq(got.attempts, 0);
	ck_assert_uint_eq(got.defers, 0);
	ck_assert_int_eq(got.next_at_ms, 1000);
	ck_assert_int_eq(got.created_ms, 500);
	ck_assert_int_eq(got.updated_ms, 500);
	ck_assert_str_eq(got.engine, "postgres");
	ck_assert_str_eq(got.engine_version, "16.3");
	ck_assert_int_eq(got.allocated_gib, 20);
	ck_assert_int_eq(got.snapshot_time, 1700000000);
	ck_assert_str_eq(got.origin, "event");
	ck_assert_str_eq(got.error_code, "");
	ck_assert_str_eq(got.error_message, "");
	ck_assert_str_eq(got.source_tags, "");
	ob_job_clear(&got);
	ck_assert_ptr_null(got.id);
	ob_job_clear(&got); /* twice is fine */
	ob_job_clear(NULL);
	ob_store_close(st);
	ob_store_close(NULL);
	ck_assert_int_eq(count_rows("jobs"), 1);
	remove_tmpdir();
}
END_TEST

START_TEST(test_pragmas)
{
	struct ob_store *st;
	sqlite3 *db, *raw;
	char buf[64];

	make_tmpdir();
	st = open_capture(dbpath, &db);
	/* The store's own connection. */
	ck_assert_str_eq(raw_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
	ck_assert_int_eq(raw_int(db, "PRAGMA synchronous"), 2); /* FULL */
	ck_assert_int_eq(raw_int(db, "PRAGMA foreign_keys"), 1);
	ck_assert_int_eq(raw_int(db, "PRAGMA busy_timeout"), 5000);
	/* What the file says to anybody. */
	raw = raw_open(dbpath);
	ck_assert_str_eq(raw_text(raw, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
	ck_assert_int_eq(raw_int(raw, "PRAGMA user_version"), ob_store_schema_version());
	ck_assert_int_eq(raw_int(raw, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"
				      " AND tbl_name = 'history'"),
			 2);
	ck_assert_int_eq(raw_int(raw, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
				      " AND tbl_name = 'jobs' AND sql LIKE '%(state, next_at)%'"),
			 1);
	ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

START_TEST(test_newer_version_refused)
{
	struct ob_store *st = NULL;
	struct ob_error err;
	sqlite3 *raw;
	char sql[64], want[32];
	int newer = ob_store_schema_version() + 1;

	make_tmpdir();
	ob_store_close(open_ok(dbpath, false));
	raw = raw_open(dbpath);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer);
	ck_assert_int_eq(raw_exec(raw, sql), SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);
	for (int ro = 0; ro < 2; ro++) {
		ck_assert_int_eq(ob_store_open(dbpath, ro, &st, &err), -1);
		ck_assert_ptr_null(st);
		ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
		snprintf(want, sizeof(want), "%d", newer);
		ck_assert_msg(strstr(err.message, want) != NULL, "%s", err.message);
		snprintf(want, sizeof(want), "%d", ob_store_schema_version());
		ck_assert_msg(strstr(err.message, want) != NULL, "%s", err.message);
		ck_assert_msg(strstr(err.message, dbpath) != NULL, "%s", err.message);
	}
	ck_assert_int_eq(path_int(dbpath, "PRAGMA user_version"), newer);
	remove_tmpdir();
}
END_TEST

/* A file at version 0 that a migration cannot apply to: the failed
 * migration leaves nothing behind. */
START_TEST(test_failed_migration_rolls_back)
{
	struct ob_store *st = NULL;
	struct ob_error err;
	sqlite3 *raw;

	make_tmpdir();
	raw = NULL;
	ck_assert_int_eq(sqlite3_open(dbpath, &raw), SQLITE_OK);
	ck_assert_int_eq(raw_exec(raw, "CREATE TABLE jobs (x); INSERT INTO jobs VALUES (42)"),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);
	/* Read-only: told to migrate. */
	ck_assert_int_eq(ob_store_open(dbpath, true, &st, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
	ck_assert_msg(strstr(err.message, "run the daemon once to migrate") != NULL, "%s",
		      err.message);
	/* Writable: the migration fails and is rolled back. */
	ck_assert_int_eq(ob_store_open(dbpath, false, &st, &err), -1);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_msg(strstr(err.message, "already exists") != NULL, "%s", err.message);
	ck_assert_int_eq(path_int(dbpath, "PRAGMA user_version"), 0);
	ck_assert_int_eq(path_int(dbpath, "SELECT COUNT(*) FROM sqlite_master"
					  " WHERE name = 'history'"),
			 0);
	ck_assert_int_eq(path_int(dbpath, "SELECT x FROM jobs"), 42);
	remove_tmpdir();
}
END_TEST

static void expect_refused(const char *path, bool read_only)
{
	struct ob_store *st = NULL;
	struct ob_error err;

	ck_assert_int_eq(ob_store_open(path, read_only, &st, &err), -1);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_msg(strstr(err.message, path) != NULL, "%s", err.message);
	ck_assert_msg(strstr(err.message, "not a usable job database") != NULL, "%s", err.message);
	/* What the daemon reads to refuse to start (exit 3). */
	ck_assert_msg(ob_store_fault_of(&err) == OB_STORE_FAULT_CORRUPT, "%s", err.message);
	ck_assert_msg(strncmp(err.message, "corrupt: ", 9) == 0, "%s", err.message);
}

/* ob_store_each_brief: one state only, ordered by db_id then source_arn,
 * the callback's stop passed back, nothing for an empty state, a bad
 * state refused. */
struct walked {
	char seen[16][64];
	int n, stop_at;
};

static int walk_cb(void *ctx, const struct ob_job_brief *b)
{
	struct walked *w = ctx;

	ck_assert_int_lt(w->n, 16);
	snprintf(w->seen[w->n], sizeof(w->seen[w->n]), "%s %s %lld", b->db_id, b->id,
		 (long long)b->snapshot_time);
	w->n++;
	return w->n == w->stop_at ? 7 : 0;
}

START_TEST(test_each_brief)
{
	static const struct { int n; const char *db; enum ob_job_state state; } rows[] = {
		{ 1, "zeta", OB_JOB_VERIFIED }, { 2, "alpha", OB_JOB_VERIFIED },
		{ 3, "alpha", OB_JOB_IMPORTING }, { 4, "mid", OB_JOB_VERIFIED },
		{ 5, "alpha", OB_JOB_VERIFIED },
	};
	struct ob_store *st;
	struct walked w = { 0 };
	struct ob_error err;
	struct tjob t;
	size_t i;

	make_tmpdir();
	st = open_ok(dbpath, false);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		tjob(&t, rows[i].n, rows[i].state, 1);
		snprintf(t.db, sizeof(t.db), "%s", rows[i].db);
		t.j.snapshot_time = 1700000000 + rows[i].n;
		insert_ok(st, &t.j, 1, true);
	}
	ck_assert_int_eq(ob_store_each_brief(st, OB_JOB_VERIFIED, walk_cb, &w, &err), 0);
	ck_assert_int_eq(w.n, 4);
	/* s-2 < s-5 by source ARN within alpha; the importing job is not seen. */
	ck_assert_str_eq(w.seen[0], "alpha j0000000000000002 1700000002");
	ck_assert_str_eq(w.seen[1], "alpha j0000000000000005 1700000005");
	ck_assert_str_eq(w.seen[2], "mid j0000000000000004 1700000004");
	ck_assert_str_eq(w.seen[3], "zeta j0000000000000001 1700000001");

	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	ck_assert_int_eq(ob_store_each_brief(st, OB_JOB_VERIFIED, walk_cb, &w, &err), 7);
	ck_assert_int_eq(w.n, 2);

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(ob_store_each_brief(st, OB_JOB_EXPIRED, walk_cb, &w, &err), 0);
	ck_assert_int_eq(w.n, 0);
	ck_assert_int_eq(ob_store_each_brief(st, (enum ob_job_state)OB_JOB_STATE_COUNT, walk_cb, &w,
					     &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ob_store_close(st);

	/* The walk's index is made on a read-write open, not a schema version. */
	ck_assert_int_eq(path_int(dbpath, "SELECT COUNT(*) FROM sqlite_master"
					  " WHERE name = 'jobs_state_db_id'"), 1);
	remove_tmpdir();
}
END_TEST

START_TEST(test_garbage_refused)
{
	uint32_t seed = test_seed();
	struct ob_store *st;
	char *orig, *now, *good;
	size_t len, nlen, glen, i;
	struct tjob t;
	static const size_t cuts[] = { 10, 100, 1000, 4096, 8192, 3, 2 }; /* 3, 2: fractions */

	make_tmpdir();
	/* Random bytes. */
	len = 16384;
	orig = malloc(len);
	ck_assert_ptr_nonnull(orig);
	for (i = 0; i < len; i++)
		orig[i] = (char)xorshift32(&seed);
	spill(dbpath, orig, len);
	expect_refused(dbpath, false);
	expect_refused(dbpath, true);
	now = slurp(dbpath, &nlen);
	ck_assert_uint_eq(nlen, len);
	ck_assert_mem_eq(now, orig, len);
	free(now);
	free(orig);

	/* A real database, cut short in various places. */
	ck_assert_int_eq(unlink(dbpath), 0);
	st = open_ok(dbpath, false);
	for (i = 0; i < 300; i++)
		insert_ok(st, tjob(&t, (int)i, OB_JOB_PENDING, 1), 1, true);
	ob_store_close(st); /* checkpoints: everything is in the main file */
	good = slurp(dbpath, &glen);
	ck_assert_uint_gt(glen, 16384);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t cut = cuts[i] < 16 ? glen / cuts[i] : cuts[i];

		spill(dbpath, good, cut);
		expect_refused(dbpath, true);
		expect_refused(dbpath, false);
		now = slurp(dbpath, &nlen);
		ck_assert_msg(nlen == cut && memcmp(now, good, cut) == 0, "cut %zu modified", cut);
		free(now);
	}
	/* Full length, but a page in the middle overwritten: only a check of
	 * the whole file (quick_check) finds this one at open. */
	for (i = glen / 2; i < glen / 2 + 1024; i++)
		good[i] = (char)xorshift32(&seed);
	spill(dbpath, good, glen);
	expect_refused(dbpath, true);
	expect_refused(dbpath, false);
	now = slurp(dbpath, &nlen);
	ck_assert_msg(nlen == glen && memcmp(now, good, glen) == 0, "corrupt file modified");
	free(now);
	free(good);
	remove_tmpdir();
}
END_TEST

START_TEST(test_read_only)
{
	struct ob_store *st = NULL, *rw, *ro;
	struct ob_error err;
	struct tjob t, u;
	struct ob_job got;
	struct ob_fsm_step s = mkstep(OB_JOB_COPYING, true, 0, 99);
	char empty[160];
	bool created = true;

	make_tmpdir();
	/* Absent: not created. */
	ck_assert_int_eq(ob_store_open(dbpath, true, &st, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_int_eq(access(dbpath, F_OK), -1);
	/* Empty (never migrated). */
	snprintf(empty, sizeof(empty), "%s/empty.db", tmpdir);
	spill(empty, "", 0);
	ck_assert_int_eq(ob_store_open(empty, true, &st, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
	ck_assert_msg(strstr(err.message, "run the daemon once to migrate") != NULL, "%s",
		      err.message);

	rw = open_ok(dbpath, false);
	insert_ok(rw, tjob(&t, 1, OB_JOB_PENDING, 10), 5, true);
	/* Next to a running writer, as offsite-backupctl is. */
	ro = open_ok(dbpath, true);
	ck_assert_int_eq(ob_store_file_version(ro), ob_store_schema_version());
	get_ok(ro, t.id, &got);
	ck_assert_int_eq(got.state, OB_JOB_PENDING);
	ck_assert_int_eq(ob_store_job_insert(ro, tjob(&u, 2, OB_JOB_PENDING, 10), NULL, 6,
					     &created, &err),
			 -1);
	ck_assert(!created);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_msg(strstr(err.message, "readonly") != NULL, "%s", err.message);
	ck_assert_int_eq(ob_store_job_step(ro, &got, &s, NULL, 7, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_int_eq(got.state, OB_JOB_PENDING);
	ob_job_clear(&got);
	/* The writer's later commits are visible to the reader. */
	get_ok(rw, t.id, &got);
	ck_assert_int_eq(ob_store_job_step(rw, &got, &s, NULL, 8, &err), 0);
	ob_job_clear(&got);
	get_ok(ro, t.id, &got);
	ck_assert_int_eq(got.state, OB_JOB_COPYING);
	ob_job_clear(&got);
	ob_store_close(ro);
	ob_store_close(rw);
	ck_assert_int_eq(count_rows("jobs"), 1);
	ck_assert_int_eq(count_rows("history"), 2);
	remove_tmpdir();
}
END_TEST

/* --- insert, get -------------------------------------------------------- */

START_TEST(test_insert_and_duplicate)
{
	struct ob_store *st;
	struct ob_history_list h;
	struct ob_error err;
	struct tjob t, dup;
	struct ob_job got;

	make_tmpdir();
	st = open_ok(dbpath, false);
	insert_ok(st, tjob(&t, 1, OB_JOB_PENDING, 100), 50, true);
	ck_assert_int_eq(ob_store_history(st, t.id, &h, &err), 0);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_str_eq(h.items[0].from, "");
	ck_assert_str_eq(h.items[0].to, "pending");
	ck_assert_str_eq(h.items[0].detail, "seen");
	ck_assert_int_eq(h.items[0].at_ms, 50);
	ob_history_list_clear(&h);
	ck_assert_ptr_null(h.items);
	ob_history_list_clear(NULL);

	/* Same source ARN, everything else different: a no-op. */
	tjob(&dup, 2, OB_JOB_COPYING, 7);
	dup.j.source_arn = t.arn;
	insert_ok(st, &dup.j, 60, false);
	ck_assert_int_eq(ob_store_job_insert(st, &dup.j, NULL, 61, NULL, &err), 0);
	ck_assert_int_eq(ob_store_job_by_arn(st, t.arn, &got, &err), 0);
	ck_assert_str_eq(got.id, t.id);
	ck_assert_str_eq(got.db_id, t.db);
	ck_assert_int_eq(got.state, OB_JOB_PENDING);
	ck_assert_int_eq(got.created_ms, 50);
	ob_job_clear(&got);
	/* Same id, another ARN: refused, nothing written. */
	tjob(&dup, 1, OB_JOB_PENDING, 7);
	dup.j.source_arn = "arn:aws:rds:eu-central-1:111122223333:snapshot:other";
	ck_assert_int_eq(ob_store_job_insert(st, &dup.j, NULL, 70, NULL, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_msg(strstr(err.message, "jobs.id") != NULL, "%s", err.message);
	ob_store_close(st);
	ck_assert_int_eq(count_rows("jobs"), 1);
	ck_assert_int_eq(count_rows("history"), 1);
	ck_assert_int_eq(path_int(dbpath, "SELECT failed_from = '' FROM jobs"), 1);
	remove_tmpdir();
}
END_TEST

START_TEST(test_invalid_arguments)
{
	struct ob_store *st;
	struct ob_error err;
	struct tjob t;
	struct ob_job got;
	struct ob_fsm_step s;
	bool created = true;

	make_tmpdir();
	st = open_ok(dbpath, false);
	tjob(&t, 1, OB_JOB_PENDING, 1);
	t.j.id = NULL;
	ck_assert_int_eq(ob_store_job_insert(st, &t.j, NULL, 1, &created, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert(!created);
	tjob(&t, 1, OB_JOB_PENDING, 1);
	t.j.copy_id = NULL;
	ck_assert_int_eq(ob_store_job_insert(st, &t.j, NULL, 1, NULL, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	tjob(&t, 1, (enum ob_job_state)OB_JOB_STATE_COUNT, 1);
	ck_assert_int_eq(ob_store_job_insert(st, &t.j, NULL, 1, NULL, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	tjob(&t, 1, OB_JOB_PENDING, 1);
	t.j.kind = (enum ob_snap_kind)7;
	ck_assert_int_eq(ob_store_job_insert(st, &t.j, NULL, 1, NULL, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	tjob(&t, 1, OB_JOB_FAILED, 1);
	t.j.failed_from = (enum ob_job_state)-1;
	ck_assert_int_eq(ob_store_job_insert(st, &t.j, NULL, 1, NULL, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	/* The schema's own checks. */
	tjob(&t, 1, OB_JOB_PENDING, 1);
	t.j.allocated_gib = -5;
	ck_assert_int_eq(ob_store_job_insert(st, &t.j, NULL, 1, NULL, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	tjob(&t, 1, OB_JOB_PENDING, 1);
	t.j.source_arn = "";
	ck_assert_int_eq(ob_store_job_insert(st, &t.j, NULL, 1, NULL, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_int_eq(count_rows("jobs"), 0);
	ck_assert_int_eq(count_rows("history"), 0);

	/* NULL optional strings are stored as "". */
	tjob(&t, 1, OB_JOB_PENDING, 1);
	t.j.engine = t.j.engine_version = t.j.origin = NULL;
	insert_ok(st, &t.j, 1, true);
	get_ok(st, t.id, &got);
	ck_assert_str_eq(got.engine, "");
	ck_assert_str_eq(got.engine_version, "");
	ck_assert_str_eq(got.origin, "");
	s = mkstep((enum ob_job_state)99, true, 0, 1);
	ck_assert_int_eq(ob_store_job_step(st, &got, &s, NULL, 2, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	s = mkstep(OB_JOB_FAILED, true, 0, 1);
	s.failed_from = (enum ob_job_state)99;
	ck_assert_int_eq(ob_store_job_step(st, &got, &s, NULL, 2, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	got.state = (enum ob_job_state)99;
	s = mkstep(OB_JOB_COPYING, true, 0, 1);
	ck_assert_int_eq(ob_store_job_step(st, &got, &s, NULL, 2, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ob_job_clear(&got);
	ck_assert_int_eq(ob_store_job_get(st, NULL, &got, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ob_store_close(st);
	ck_assert_int_eq(count_rows("history"), 1);
	ck_assert_int_eq(path_int(dbpath, "SELECT state = 'pending' FROM jobs"), 1);
	remove_tmpdir();
}
END_TEST

START_TEST(test_get_not_found)
{
	struct ob_store *st;
	struct ob_error err;
	struct ob_job got;
	struct ob_history_list h;
	struct tjob t;

	make_tmpdir();
	st = open_ok(dbpath, false);
	insert_ok(st, tjob(&t, 1, OB_JOB_PENDING, 1), 1, true);
	memset(&got, 0x5a, sizeof(got));
	ck_assert_int_eq(ob_store_job_get(st, "j-nope", &got, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_NOTFOUND);
	ck_assert_msg(strstr(err.message, "j-nope") != NULL, "%s", err.message);
	ck_assert_ptr_null(got.id);
	ck_assert_int_eq(ob_store_job_by_arn(st, "arn:aws:rds:x:1:snapshot:nope", &got, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_NOTFOUND);
	/* An id is not an ARN and the other way round. */
	ck_assert_int_eq(ob_store_job_by_arn(st, t.id, &got, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_NOTFOUND);
	ck_assert_int_eq(ob_store_job_get(st, t.arn, &got, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_NOTFOUND);
	/* No history for an unknown job: an empty list. */
	ck_assert_int_eq(ob_store_history(st, "j-nope", &h, &err), 0);
	ck_assert_uint_eq(h.n, 0);
	ob_history_list_clear(&h);
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

/* --- step ---------------------------------------------------------------- */

START_TEST(test_step_history)
{
	struct ob_store *st;
	struct ob_error err;
	struct ob_history_list h;
	struct ob_store_change ch = { 0 };
	struct ob_fsm_step s;
	struct ob_job job, got;
	struct tjob t;
	char buf[64];
	sqlite3 *raw;

	make_tmpdir();
	st = open_ok(dbpath, false);
	insert_ok(st, tjob(&t, 1, OB_JOB_PENDING, 100), 1000, true);
	get_ok(st, t.id, &job);

	/* A transition: one history row. */
	s = mkstep(OB_JOB_COPYING, true, 0, 5000);
	ch.copy_arn = "arn:aws:rds:eu-central-1:111122223333:snapshot:ob-export-s-1";
	ch.detail = "copy started";
	ck_assert_msg(ob_store_job_step(st, &job, &s, &ch, 2000, &err) == 0, "%s", err.message);
	ck_assert_int_eq(job.state, OB_JOB_COPYING);
	ck_assert_int_eq(job.failed_from, OB_JOB_COPYING);
	ck_assert_int_eq(job.next_at_ms, 5000);
	ck_assert_int_eq(job.updated_ms, 2000);
	ck_assert_int_eq(job.created_ms, 1000);
	ck_assert_str_eq(job.copy_arn, ch.copy_arn);
	get_ok(st, t.id, &got);
	ck_assert_int_eq(got.state, OB_JOB_COPYING);
	ck_assert_int_eq(got.next_at_ms, 5000);
	ck_assert_int_eq(got.updated_ms, 2000);
	ck_assert_str_eq(got.copy_arn, ch.copy_arn);
	ob_job_clear(&got);
	ck_assert_int_eq(ob_store_history(st, t.id, &h, &err), 0);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_str_eq(h.items[1].from, "pending");
	ck_assert_str_eq(h.items[1].to, "copying");
	ck_assert_str_eq(h.items[1].detail, "copy started");
	ck_assert_int_eq(h.items[1].at_ms, 2000);
	ob_history_list_clear(&h);

	/* A retry in place: counters and next_at move, no history row. */
	memset(&ch, 0, sizeof(ch));
	ch.error_code = "Throttling";
	ch.detail = "never written";
	s = mkstep(OB_JOB_COPYING, false, 1, 9000);
	s.defers = 3;
	ck_assert_int_eq(ob_store_job_step(st, &job, &s, &ch, 3000, &err), 0);
	ck_assert_uint_eq(job.attempts, 1);
	ck_assert_uint_eq(job.defers, 3);
	ck_assert_str_eq(job.error_code, "Throttling");
	ck_assert_int_eq(count_rows("history"), 2);
	raw = raw_open(dbpath);
	ck_assert_int_eq(raw_int(raw, "SELECT attempts * 10 + defers FROM jobs"), 13);
	ck_assert_int_eq(raw_int(raw, "SELECT next_at FROM jobs"), 9000);
	ck_assert_int_eq(raw_int(raw, "SELECT updated_at FROM jobs"), 3000);
	ck_assert_str_eq(raw_text(raw, "SELECT error_code FROM jobs", buf, sizeof(buf)),
			 "Throttling");

	/* Into failed: failed_from is stored, and read back. */
	s = mkstep(OB_JOB_FAILED, true, 0, OB_FSM_NEVER);
	s.failed_from = OB_JOB_COPYING;
	ck_assert_int_eq(ob_store_job_step(st, &job, &s, NULL, 4000, &err), 0);
	ck_assert_int_eq(job.failed_from, OB_JOB_COPYING);
	ck_assert_str_eq(raw_text(raw, "SELECT state || '/' || failed_from FROM jobs", buf,
				  sizeof(buf)),
			 "failed/copying");
	ck_assert_int_eq(raw_int(raw, "SELECT next_at FROM jobs"), INT64_MAX);
	get_ok(st, t.id, &got);
	ck_assert_int_eq(got.state, OB_JOB_FAILED);
	ck_assert_int_eq(got.failed_from, OB_JOB_COPYING);
	ck_assert_int_eq(got.next_at_ms, OB_FSM_NEVER);
	ck_assert_str_eq(got.error_code, "Throttling"); /* NULL change keeps it */
	ob_job_clear(&got);

	/* Back out of failed: failed_from is '' again, reads as the state. */
	s = mkstep(OB_JOB_COPYING, true, 0, 4000);
	ck_assert_int_eq(ob_store_job_step(st, &job, &s, NULL, 4001, &err), 0);
	ck_assert_str_eq(raw_text(raw, "SELECT failed_from FROM jobs", buf, sizeof(buf)), "");
	get_ok(st, t.id, &got);
	ck_assert_int_eq(got.failed_from, OB_JOB_COPYING);
	ob_job_clear(&got);
	ck_assert_int_eq(ob_store_history(st, t.id, &h, &err), 0);
	ck_assert_uint_eq(h.n, 4);
	ck_assert_str_eq(h.items[2].to, "failed");
	ck_assert_str_eq(h.items[3].from, "failed");
	ck_assert_str_eq(h.items[3].detail, "");
	ck_assert_int_eq(h.items[0].at_ms, 1000);
	ck_assert_int_eq(h.items[3].at_ms, 4001);
	ob_history_list_clear(&h);
	ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);
	ob_job_clear(&job);
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

START_TEST(test_step_conflict)
{
	struct ob_store *a, *b;
	struct ob_error err;
	struct ob_fsm_step s = mkstep(OB_JOB_COPYING, true, 0, 50);
	struct ob_store_change ch = { "arn:x", "E", "M", "d" };
	struct ob_job ja, jb, ghost;
	struct tjob t, g;
	sqlite3 *raw;

	make_tmpdir();
	a = open_ok(dbpath, false);
	b = open_ok(dbpath, false); /* the daemon and `offsite-backupctl retry` */
	insert_ok(a, tjob(&t, 1, OB_JOB_PENDING, 10), 10, true);
	get_ok(a, t.id, &ja);
	get_ok(b, t.id, &jb);
	ck_assert_int_eq(ob_store_job_step(b, &jb, &s, NULL, 20, &err), 0);

	/* a's copy is stale now. */
	s = mkstep(OB_JOB_FAILED, true, 0, OB_FSM_NEVER);
	s.failed_from = OB_JOB_PENDING;
	ck_assert_int_eq(ob_store_job_step(a, &ja, &s, &ch, 30, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CONFLICT);
	ck_assert_msg(strstr(err.message, "copying") != NULL, "%s", err.message);
	/* Nothing written, in the file or in ja. */
	raw = raw_open(dbpath);
	ck_assert_int_eq(raw_int(raw, "SELECT COUNT(*) FROM history"), 2);
	ck_assert_int_eq(raw_int(raw, "SELECT state = 'copying' AND updated_at = 20 AND"
				      " copy_arn = '' AND error_code = '' FROM jobs"),
			 1);
	ck_assert_int_eq(ja.state, OB_JOB_PENDING);
	ck_assert_int_eq(ja.updated_ms, 10);
	ck_assert_str_eq(ja.copy_arn, "");
	/* Same for a non-transition step. */
	s = mkstep(OB_JOB_PENDING, false, 1, 99);
	ck_assert_int_eq(ob_store_job_step(a, &ja, &s, &ch, 31, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CONFLICT);
	ck_assert_int_eq(raw_int(raw, "SELECT attempts FROM jobs"), 0);

	/* Unknown id. */
	tjob(&g, 2, OB_JOB_PENDING, 1);
	memset(&ghost, 0, sizeof(ghost));
	ghost.id = g.id;
	ghost.state = OB_JOB_PENDING;
	s = mkstep(OB_JOB_COPYING, true, 0, 50);
	ck_assert_int_eq(ob_store_job_step(a, &ghost, &s, &ch, 40, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_NOTFOUND);
	ck_assert_int_eq(raw_int(raw, "SELECT COUNT(*) FROM history"), 2);
	ck_assert_int_eq(raw_int(raw, "SELECT COUNT(*) FROM jobs"), 1);
	ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);

	/* After a fresh read a's step goes through. */
	ob_job_clear(&ja);
	get_ok(a, t.id, &ja);
	s = mkstep(OB_JOB_COPIED, true, 0, 60);
	ck_assert_int_eq(ob_store_job_step(a, &ja, &s, NULL, 50, &err), 0);
	ob_job_clear(&ja);
	ob_job_clear(&jb);
	ob_store_close(a);
	ob_store_close(b);
	ck_assert_int_eq(count_rows("history"), 3);
	remove_tmpdir();
}
END_TEST

START_TEST(test_change_fields)
{
	struct ob_store *st;
	struct ob_error err;
	struct ob_store_change ch = { 0 };
	struct ob_fsm_step s = mkstep(OB_JOB_PENDING, false, 1, 5);
	struct ob_job job, got;
	struct tjob t;

	make_tmpdir();
	st = open_ok(dbpath, false);
	tjob(&t, 1, OB_JOB_PENDING, 1);
	t.j.copy_arn = "arn:copy";
	t.j.error_code = "E1";
	t.j.error_message = "first";
	insert_ok(st, &t.j, 1, true);
	get_ok(st, t.id, &job);
	/* All NULL (and a NULL change): kept. */
	ck_assert_int_eq(ob_store_job_step(st, &job, &s, &ch, 2, &err), 0);
	ck_assert_int_eq(ob_store_job_step(st, &job, &s, NULL, 3, &err), 0);
	get_ok(st, t.id, &got);
	ck_assert_str_eq(got.copy_arn, "arn:copy");
	ck_assert_str_eq(got.error_code, "E1");
	ck_assert_str_eq(got.error_message, "first");
	ob_job_clear(&got);
	/* "" clears, a value replaces, NULL keeps. */
	ch.error_code = "";
	ch.error_message = "second";
	ck_assert_int_eq(ob_store_job_step(st, &job, &s, &ch, 4, &err), 0);
	ck_assert_str_eq(job.copy_arn, "arn:copy");
	ck_assert_str_eq(job.error_code, "");
	ck_assert_str_eq(job.error_message, "second");
	get_ok(st, t.id, &got);
	ck_assert_str_eq(got.copy_arn, "arn:copy");
	ck_assert_str_eq(got.error_code, "");
	ck_assert_str_eq(got.error_message, "second");
	ck_assert_int_eq(got.updated_ms, 4);
	ob_job_clear(&got);
	ob_job_clear(&job);
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

START_TEST(test_history_append_only)
{
	struct ob_store *st;
	struct tjob t;
	sqlite3 *raw;
	char buf[64];

	make_tmpdir();
	st = open_ok(dbpath, false);
	insert_ok(st, tjob(&t, 1, OB_JOB_PENDING, 1), 1, true);
	ob_store_close(st);
	raw = raw_open(dbpath);
	ck_assert_int_eq(raw_exec(raw, "UPDATE history SET detail = 'rewritten'"), SQLITE_CONSTRAINT);
	ck_assert_msg(strstr(sqlite3_errmsg(raw), "history is append-only") != NULL, "%s",
		      sqlite3_errmsg(raw));
	ck_assert_int_eq(raw_exec(raw, "DELETE FROM history"), SQLITE_CONSTRAINT);
	ck_assert_msg(strstr(sqlite3_errmsg(raw), "history is append-only") != NULL, "%s",
		      sqlite3_errmsg(raw));
	ck_assert_int_eq(raw_int(raw, "SELECT COUNT(*) FROM history"), 1);
	ck_assert_str_eq(raw_text(raw, "SELECT detail FROM history", buf, sizeof(buf)), "seen");
	ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);
	remove_tmpdir();
}
END_TEST

/* --- queries -------------------------------------------------------------- */

/* j0..j5: state, next_at; created at 10, 20, ... */
static const struct {
	enum ob_job_state state;
	int64_t next_at;
} fixture[] = {
	{ OB_JOB_PENDING, 100 }, { OB_JOB_COPYING, 50 },	  { OB_JOB_EXPIRED, 5 },
	{ OB_JOB_FAILED, OB_FSM_NEVER }, { OB_JOB_PENDING, 300 }, { OB_JOB_NOTIFIED, 10 },
};

#define N_FIXTURE (sizeof(fixture) / sizeof(fixture[0]))

static struct ob_store *open_fixture(void)
{
	struct ob_store *st = open_ok(dbpath, false);
	struct tjob t;
	size_t i;

	/* Inserted out of order so created_at, not rowid, decides. */
	for (i = N_FIXTURE; i-- > 0;)
		insert_ok(st, tjob(&t, (int)i, fixture[i].state, fixture[i].next_at),
			  (int64_t)(i + 1) * 10, true);
	return st;
}

/* The listed jobs' fixture numbers, e.g. "0,4". */
static const char *listed(struct ob_store *st, const struct ob_store_query *q, char *buf,
			  size_t size)
{
	struct ob_job_list l;
	struct ob_error err;
	size_t i, len = 0;

	ck_assert_msg(ob_store_jobs_list(st, q, &l, &err) == 0, "%s", err.message);
	buf[0] = '\0';
	for (i = 0; i < l.n; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%lx", i ? "," : "",
					strtoul(l.items[i].id + 1, NULL, 16));
	ob_job_list_clear(&l);
	ck_assert_ptr_null(l.items);
	return buf;
}

START_TEST(test_list_filters)
{
	static const enum ob_job_state pend[] = { OB_JOB_PENDING };
	static const enum ob_job_state pc[] = { OB_JOB_PENDING, OB_JOB_COPYING };
	static const enum ob_job_state dup[] = { OB_JOB_FAILED, OB_JOB_FAILED, OB_JOB_EXPIRED };
	enum ob_job_state many[OB_JOB_STATE_COUNT + 1];
	struct ob_store_query q;
	struct ob_job_list l;
	struct ob_error err;
	struct ob_store *st;
	char buf[128];
	size_t i;

	make_tmpdir();
	st = open_fixture();
	ck_assert_str_eq(listed(st, NULL, buf, sizeof(buf)), "0,1,2,3,4,5");
	memset(&q, 0, sizeof(q));
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "0,1,2,3,4,5");
	q.states = pend;
	q.n_states = 1;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "0,4");
	q.states = pc;
	q.n_states = 2;
	q.due_only = true;
	q.due_before_ms = 100;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "0,1");
	q.by_next_at = true;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "1,0");
	q.due_before_ms = 99;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "1");
	q.due_before_ms = 0;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "");
	memset(&q, 0, sizeof(q));
	q.by_next_at = true;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "2,5,1,0,4,3");
	q.limit = 2;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "2,5");
	q.by_next_at = false;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "0,1");
	q.limit = 0;
	q.states = dup;
	q.n_states = 3;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "2,3");
	q.n_states = 0; /* an empty set, not "all" */
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "");
	q.due_only = true;
	q.due_before_ms = INT64_MAX;
	q.states = NULL;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "0,1,2,3,4,5");

	/* Bad filters. */
	for (i = 0; i < OB_JOB_STATE_COUNT + 1; i++)
		many[i] = OB_JOB_PENDING;
	q.states = many;
	q.n_states = OB_JOB_STATE_COUNT + 1;
	ck_assert_int_eq(ob_store_jobs_list(st, &q, &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_ptr_null(l.items);
	q.n_states = OB_JOB_STATE_COUNT;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "0,4");
	many[3] = (enum ob_job_state)42;
	ck_assert_int_eq(ob_store_jobs_list(st, &q, &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	/* The handle still works after a refused query. */
	q.n_states = 1;
	ck_assert_str_eq(listed(st, &q, buf, sizeof(buf)), "0,4");
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

START_TEST(test_next_due)
{
	static const enum ob_job_state pend[] = { OB_JOB_PENDING };
	static const enum ob_job_state expd[] = { OB_JOB_EXPIRED, OB_JOB_FAILED };
	static const enum ob_job_state fail[] = { OB_JOB_FAILED };
	static const enum ob_job_state copied[] = { OB_JOB_COPIED };
	struct ob_store *st;
	struct ob_error err;
	int64_t at = 0;

	make_tmpdir();
	st = open_ok(dbpath, false);
	ck_assert_int_eq(ob_store_next_due(st, NULL, 0, &at, &err), 0);
	ck_assert_int_eq(at, OB_FSM_NEVER);
	ob_store_close(st);
	st = open_fixture();
	/* Active states only: the expired job's 5 does not count. */
	ck_assert_int_eq(ob_store_next_due(st, NULL, 0, &at, &err), 0);
	ck_assert_int_eq(at, 10);
	ck_assert_int_eq(ob_store_next_due(st, pend, 1, &at, &err), 0);
	ck_assert_int_eq(at, 100);
	ck_assert_int_eq(ob_store_next_due(st, expd, 2, &at, &err), 0);
	ck_assert_int_eq(at, 5);
	ck_assert_int_eq(ob_store_next_due(st, fail, 1, &at, &err), 0);
	ck_assert_int_eq(at, OB_FSM_NEVER);
	ck_assert_int_eq(ob_store_next_due(st, copied, 1, &at, &err), 0);
	ck_assert_int_eq(at, OB_FSM_NEVER);
	ck_assert_int_eq(ob_store_next_due(st, pend, OB_JOB_STATE_COUNT + 1, &at, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

START_TEST(test_count_states)
{
	struct ob_store *st;
	struct ob_error err;
	long counts[OB_JOB_STATE_COUNT];
	int i;

	make_tmpdir();
	st = open_ok(dbpath, false);
	memset(counts, 0x7f, sizeof(counts));
	ck_assert_int_eq(ob_store_count_states(st, counts, &err), 0);
	for (i = 0; i < OB_JOB_STATE_COUNT; i++)
		ck_assert_int_eq(counts[i], 0);
	ob_store_close(st);
	st = open_fixture();
	ck_assert_int_eq(ob_store_count_states(st, counts, &err), 0);
	ck_assert_int_eq(counts[OB_JOB_PENDING], 2);
	ck_assert_int_eq(counts[OB_JOB_COPYING], 1);
	ck_assert_int_eq(counts[OB_JOB_COPIED], 0);
	ck_assert_int_eq(counts[OB_JOB_SHARED], 0);
	ck_assert_int_eq(counts[OB_JOB_NOTIFIED], 1);
	ck_assert_int_eq(counts[OB_JOB_EXPIRED], 1);
	ck_assert_int_eq(counts[OB_JOB_FAILED], 1);
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

/* A name this build does not know is an error naming the job. */
START_TEST(test_unknown_names)
{
	static const char *const bad[] = {
		"UPDATE jobs SET state = 'bogus' WHERE id = 'j0000000000000001'",
		"UPDATE jobs SET state = 'Pending' WHERE id = 'j0000000000000001'",
		"UPDATE jobs SET kind = 'db-weird' WHERE id = 'j0000000000000001'",
		"UPDATE jobs SET state = 'failed', failed_from = 'zzz' WHERE id = 'j0000000000000001'",
	};
	struct ob_store *st;
	struct ob_error err;
	struct ob_job got;
	struct ob_job_list l;
	long counts[OB_JOB_STATE_COUNT];
	sqlite3 *raw;
	size_t i;

	make_tmpdir();
	st = open_fixture();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw = raw_open(dbpath);
		ck_assert_int_eq(raw_exec(raw, "UPDATE jobs SET state = 'copying', failed_from = '',"
						" kind = 'db-cluster-snapshot'"
						" WHERE id = 'j0000000000000001'"),
				 SQLITE_OK);
		get_ok(st, "j0000000000000001", &got);
		ck_assert_int_eq(got.kind, OB_SNAP_CLUSTER);
		ob_job_clear(&got);
		ck_assert_int_eq(raw_exec(raw, bad[i]), SQLITE_OK);
		ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);
		ck_assert_int_eq(ob_store_job_get(st, "j0000000000000001", &got, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_PARSE);
		ck_assert_msg(strstr(err.message, "j0000000000000001") != NULL, "%s", err.message);
		ck_assert_ptr_null(got.id);
		ck_assert_int_eq(ob_store_jobs_list(st, NULL, &l, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_PARSE);
		ck_assert_uint_eq(l.n, 0);
		ck_assert_int_eq(ob_store_job_get(st, "j0000000000000000", &got, &err), 0);
		ob_job_clear(&got);
		if (i < 2) {
			ck_assert_int_eq(ob_store_count_states(st, counts, &err), -1);
			ck_assert_int_eq(err.kind, OB_ERR_PARSE);
			ck_assert_msg(strstr(err.message, "j0000000000000001") != NULL, "%s",
				      err.message);
		}
	}
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

/* --- hostile strings, many jobs ----------------------------------------- */

START_TEST(test_strings_roundtrip)
{
	static const char quotes[] = "O'Brien \"db\"; DROP TABLE jobs;-- '' \\ %s %n";
	static const char unicode[] = "Z\xc3\xbcrich \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac "
				      "\xf0\x9f\x9a\x80";
	struct ob_store *st;
	struct ob_error err;
	struct ob_job got;
	struct ob_history_list h;
	struct ob_store_change ch = { 0 };
	struct ob_fsm_step s = mkstep(OB_JOB_COPYING, true, 0, 1);
	struct tjob t;
	char *big;
	size_t i;

	big = malloc(4097);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < 4096; i++)
		big[i] = (char)('a' + i % 26);
	big[4096] = '\0';
	make_tmpdir();
	st = open_ok(dbpath, false);
	tjob(&t, 1, OB_JOB_PENDING, 1);
	t.j.id = (char *)quotes;
	t.j.source_arn = big;
	t.j.db_id = (char *)unicode;
	t.j.copy_id = (char *)quotes;
	t.j.engine = big;
	t.j.origin = (char *)unicode;
	t.j.error_message = (char *)quotes;
	t.j.source_tags = big;
	ck_assert_int_eq(ob_store_job_insert(st, &t.j, unicode, 1, NULL, &err), 0);
	ck_assert_int_eq(ob_store_job_by_arn(st, big, &got, &err), 0);
	ck_assert_str_eq(got.id, quotes);
	ck_assert_str_eq(got.source_arn, big);
	ck_assert_str_eq(got.db_id, unicode);
	ck_assert_str_eq(got.copy_id, quotes);
	ck_assert_str_eq(got.engine, big);
	ck_assert_str_eq(got.origin, unicode);
	ck_assert_str_eq(got.error_message, quotes);
	ck_assert_str_eq(got.source_tags, big);
	ch.copy_arn = unicode;
	ch.error_code = quotes;
	ch.error_message = big;
	ch.detail = big;
	ck_assert_int_eq(ob_store_job_step(st, &got, &s, &ch, 2, &err), 0);
	ob_job_clear(&got);
	get_ok(st, quotes, &got);
	ck_assert_str_eq(got.copy_arn, unicode);
	ck_assert_str_eq(got.error_code, quotes);
	ck_assert_str_eq(got.error_message, big);
	ob_job_clear(&got);
	ck_assert_int_eq(ob_store_history(st, quotes, &h, &err), 0);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_str_eq(h.items[0].detail, unicode);
	ck_assert_str_eq(h.items[1].detail, big);
	ob_history_list_clear(&h);
	ob_store_close(st);
	/* Still one table of one row: nothing was interpreted as SQL. */
	ck_assert_int_eq(count_rows("jobs"), 1);
	ck_assert_int_eq(path_int(dbpath, "SELECT length(error_message) FROM jobs"), 4096);
	free(big);
	remove_tmpdir();
}
END_TEST

START_TEST(test_many_jobs)
{
	enum { N = 2000 };
	static const enum ob_job_state pend[] = { OB_JOB_PENDING };
	struct ob_store *st;
	struct ob_error err;
	struct ob_job_list l;
	struct ob_store_query q;
	long counts[OB_JOB_STATE_COUNT];
	struct tjob t;
	int64_t at;
	size_t i;

	make_tmpdir();
	st = open_ok(dbpath, false);
	for (i = 0; i < N; i++)
		insert_ok(st, tjob(&t, (int)i, i % 2 ? OB_JOB_PENDING : OB_JOB_COPYING,
				   (int64_t)(N - i)),
			  (int64_t)i, true);
	ck_assert_int_eq(ob_store_jobs_list(st, NULL, &l, &err), 0);
	ck_assert_uint_eq(l.n, N);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(l.items[i].created_ms, (int64_t)i);
		ck_assert_int_eq(l.items[i].state, i % 2 ? OB_JOB_PENDING : OB_JOB_COPYING);
	}
	ob_job_list_clear(&l);
	memset(&q, 0, sizeof(q));
	q.states = pend;
	q.n_states = 1;
	q.by_next_at = true;
	q.limit = 10;
	ck_assert_int_eq(ob_store_jobs_list(st, &q, &l, &err), 0);
	ck_assert_uint_eq(l.n, 10);
	ck_assert_int_eq(l.items[0].next_at_ms, 1);
	ck_assert_int_eq(l.items[9].next_at_ms, 19);
	ob_job_list_clear(&l);
	ck_assert_int_eq(ob_store_count_states(st, counts, &err), 0);
	ck_assert_int_eq(counts[OB_JOB_PENDING], N / 2);
	ck_assert_int_eq(counts[OB_JOB_COPYING], N / 2);
	ck_assert_int_eq(ob_store_next_due(st, NULL, 0, &at, &err), 0);
	ck_assert_int_eq(at, 1);
	ob_store_close(st);
	ck_assert_int_eq(count_rows("history"), N);
	remove_tmpdir();
}
END_TEST

/* --- unwritable places, a full disk ------------------------------------- */

static void expect_io(const char *path, int want_errno)
{
	struct ob_store *st = NULL;
	struct ob_error err;

	ck_assert_int_eq(ob_store_open(path, false, &st, &err), -1);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_msg(strstr(err.message, path) != NULL, "%s", err.message);
	if (want_errno != 0)
		ck_assert_msg(err.sys_errno == want_errno, "errno %d: %s", err.sys_errno,
			      err.message);
}

START_TEST(test_unwritable)
{
	char path[192], ro[160];
	int status;
	pid_t pid;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/missing/state.db", tmpdir);
	expect_io(path, ENOENT);
	expect_io(tmpdir, EISDIR);
	spill(dbpath, "", 0);
	snprintf(path, sizeof(path), "%s/state.db", dbpath);
	expect_io(path, ENOTDIR);
	ck_assert_int_eq(unlink(dbpath), 0);

	/* A directory we may not write to. Root may write anywhere, so a
	 * child drops to nobody for this part (skipped if it cannot). */
	snprintf(ro, sizeof(ro), "%s/ro", tmpdir);
	ck_assert_int_eq(mkdir(ro, 0700), 0);
	snprintf(path, sizeof(path), "%s/state.db", ro);
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(ro, 0500), 0);
		expect_io(path, EACCES);
		ck_assert_int_eq(chmod(ro, 0700), 0);
	} else {
		ck_assert_int_eq(chmod(tmpdir, 0755), 0);
		ck_assert_int_eq(chmod(ro, 0755), 0);
		fflush(NULL);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct ob_store *st = NULL;
			struct ob_error err;

			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(77);
			if (ob_store_open(path, false, &st, &err) == 0)
				_exit(1);
			_exit(err.kind == OB_ERR_IO && err.sys_errno == EACCES ? 0 : 2);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 77)
			fprintf(stderr, "check_store: cannot drop root; unwritable-directory case "
					"skipped\n");
		else
			ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(access(path, F_OK), -1);
	remove_tmpdir();
}
END_TEST

/* The fault table: SQLite's codes (primary and extended) and, only after
 * an I/O or open error, the OS error. */
START_TEST(test_classify)
{
	static const struct { int rc, sys; enum ob_store_fault want; } cases[] = {
		{ SQLITE_OK, 0, OB_STORE_FAULT_NONE },
		{ SQLITE_DONE, ENOSPC, OB_STORE_FAULT_NONE },
		{ SQLITE_FULL, 0, OB_STORE_FAULT_FULL },
		{ SQLITE_READONLY, 0, OB_STORE_FAULT_READONLY },
		{ SQLITE_READONLY_DBMOVED, 0, OB_STORE_FAULT_READONLY },
		{ SQLITE_READONLY_RECOVERY, 0, OB_STORE_FAULT_READONLY },
		{ SQLITE_PERM, 0, OB_STORE_FAULT_READONLY },
		{ SQLITE_CORRUPT, 0, OB_STORE_FAULT_CORRUPT },
		{ SQLITE_CORRUPT_INDEX, 0, OB_STORE_FAULT_CORRUPT },
		{ SQLITE_NOTADB, 0, OB_STORE_FAULT_CORRUPT },
		{ SQLITE_IOERR_WRITE, ENOSPC, OB_STORE_FAULT_FULL },
		{ SQLITE_IOERR_FSYNC, EDQUOT, OB_STORE_FAULT_FULL },
		{ SQLITE_IOERR_WRITE, EROFS, OB_STORE_FAULT_READONLY },
		{ SQLITE_CANTOPEN, EACCES, OB_STORE_FAULT_READONLY },
		{ SQLITE_CANTOPEN, EROFS, OB_STORE_FAULT_READONLY },
		{ SQLITE_IOERR_WRITE, EIO, OB_STORE_FAULT_OTHER },
		{ SQLITE_IOERR, 0, OB_STORE_FAULT_OTHER },
		{ SQLITE_CANTOPEN, ENOENT, OB_STORE_FAULT_OTHER },
		/* A stale errno after another code is not the cause. */
		{ SQLITE_CONSTRAINT, ENOSPC, OB_STORE_FAULT_OTHER },
		{ SQLITE_BUSY, EROFS, OB_STORE_FAULT_OTHER },
		{ SQLITE_MISUSE, 0, OB_STORE_FAULT_OTHER },
	};
	struct ob_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(ob_store_classify(cases[i].rc, cases[i].sys) == cases[i].want,
			      "case %zu: rc %d errno %d", i, cases[i].rc, cases[i].sys);
	ck_assert_int_eq(ob_store_fault_of(NULL), OB_STORE_FAULT_NONE);
	ob_error_clear(&err);
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_NONE);
	ob_error_errno(&err, OB_ERR_IO, ENOSPC, "x");
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_FULL);
	ob_error_errno(&err, OB_ERR_IO, EROFS, "x");
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_READONLY);
	ob_error_errno(&err, OB_ERR_IO, EACCES, "x");
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_READONLY);
	ob_error_errno(&err, OB_ERR_IO, EUCLEAN, "x");
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_CORRUPT);
	ob_error_errno(&err, OB_ERR_IO, EIO, "x");
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_OTHER);
	/* Only database I/O errors have a fault. */
	ob_error_errno(&err, OB_ERR_CONFIG, ENOSPC, "x");
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_OTHER);
	ck_assert_str_eq(ob_store_fault_name(OB_STORE_FAULT_FULL), "disk full");
	ck_assert_str_eq(ob_store_fault_name(OB_STORE_FAULT_READONLY), "read-only");
	ck_assert_str_eq(ob_store_fault_name(OB_STORE_FAULT_CORRUPT), "corrupt");
	ck_assert_str_eq(ob_store_fault_name((enum ob_store_fault)99), "?");
}
END_TEST

/* SQLITE_FULL (max_page_count on the store's own connection stands in for
 * a full disk): OB_ERR_IO, and the failed transaction leaves nothing. */
START_TEST(test_disk_full)
{
	struct ob_store *st;
	struct ob_error err;
	struct ob_store_change ch = { 0 };
	struct ob_fsm_step s = mkstep(OB_JOB_COPYING, true, 0, 1);
	struct ob_job job;
	struct tjob t;
	sqlite3 *db;
	char *big, sql[64];
	int n = 0, rc;

	big = malloc(3001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 3000);
	big[3000] = '\0';
	make_tmpdir();
	st = open_capture(dbpath, &db);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 (long long)raw_int(db, "PRAGMA page_count") + 8);
	ck_assert_int_eq(raw_int(db, sql), raw_int(db, "PRAGMA page_count") + 8);
	for (;;) {
		tjob(&t, n, OB_JOB_PENDING, 1);
		t.j.error_message = big;
		rc = ob_store_job_insert(st, &t.j, big, n, NULL, &err);
		if (rc != 0)
			break;
		n++;
		ck_assert_int_lt(n, 1000);
	}
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_msg(strstr(err.message, "full") != NULL, "%s", err.message);
	ck_assert_int_eq(ob_store_fault_of(&err), OB_STORE_FAULT_FULL);
	ck_assert_int_eq(err.sys_errno, ENOSPC);
	ck_assert_msg(strstr(err.message, "disk full: ") != NULL, "%s", err.message);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ob_store_job_get(st, t.id, &job, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_NOTFOUND);
	/* A step that needs room fails whole, and the handle stays usable. */
	get_ok(st, "j0000000000000000", &job);
	ch.error_message = big;
	ch.detail = big;
	ck_assert_int_eq(ob_store_job_step(st, &job, &s, &ch, 5, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_int_eq(job.state, OB_JOB_PENDING);
	ob_job_clear(&job);
	get_ok(st, "j0000000000000000", &job);
	ck_assert_int_eq(job.state, OB_JOB_PENDING);
	ob_job_clear(&job);
	ob_store_close(st);
	ck_assert_int_eq(count_rows("jobs"), n);
	ck_assert_int_eq(count_rows("history"), n);
	ck_assert_int_eq(path_int(dbpath, "SELECT COUNT(*) FROM jobs WHERE state <> 'pending'"), 0);
	free(big);
	remove_tmpdir();
}
END_TEST

/* Another process holding the write lock (offsite-backupctl retry, say)
 * makes a write wait for it, not fail. */
START_TEST(test_busy_waits)
{
	struct ob_store *st;
	struct ob_error err;
	struct timespec t0, t1;
	struct tjob t;
	int status, fds[2];
	char c;
	pid_t pid;

	make_tmpdir();
	st = open_ok(dbpath, false);
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec ts = { 0, 300 * 1000000L };
		sqlite3 *db = NULL;

		close(fds[0]);
		if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
		    write(fds[1], "x", 1) != 1)
			_exit(1);
		nanosleep(&ts, NULL);
		_exit(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK &&
				      sqlite3_close(db) == SQLITE_OK
			      ? 0
			      : 2);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(ob_store_job_insert(st, tjob(&t, 1, OB_JOB_PENDING, 1), NULL, 1, NULL,
					  &err) == 0,
		      "%s", err.message);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* It did have to wait for the lock. */
	ck_assert_int_ge((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000,
			 100);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ob_store_close(st);
	ck_assert_int_eq(count_rows("jobs"), 1);
	remove_tmpdir();
}
END_TEST

/* --- crash atomicity --------------------------------------------------- */

#define CRASH_JOBS 16

/* The child: step random jobs round the states forever, each transition
 * writing detail == error_message, each in-place step bumping attempts. */
static void crash_child(uint32_t seed, int64_t base, int wfd)
{
	struct ob_store *st = NULL;
	struct ob_error err;
	struct ob_store_change ch = { 0 };
	struct ob_fsm_step s;
	struct ob_job job;
	char detail[64], id[32];
	unsigned long n;

	if (ob_store_open(dbpath, false, &st, &err) != 0 || write(wfd, "x", 1) != 1)
		_exit(3);
	for (n = 0;; n++) {
		snprintf(id, sizeof(id), "j%016x", (unsigned)(xorshift32(&seed) % CRASH_JOBS));
		if (ob_store_job_get(st, id, &job, &err) != 0)
			_exit(4);
		memset(&s, 0, sizeof(s));
		if (xorshift32(&seed) % 4 == 0) {
			s.to = job.state;
			s.failed_from = job.failed_from;
			s.attempts = job.attempts + 1;
			ch.error_message = NULL;
			ch.detail = NULL;
		} else {
			s.to = (enum ob_job_state)((job.state + 1) % OB_JOB_STATE_COUNT);
			s.failed_from = s.to == OB_JOB_FAILED ? job.state : s.to;
			s.transition = true;
			snprintf(detail, sizeof(detail), "step %lu of %s", n, id);
			ch.error_message = detail;
			ch.detail = detail;
		}
		s.next_at_ms = (int64_t)n;
		if (ob_store_job_step(st, &job, &s, &ch, base + (int64_t)n, &err) != 0)
			_exit(5);
		ob_job_clear(&job);
	}
}

/* Every job's row agrees with its last history row. Returns the number of
 * history rows past the creation rows. */
static long crash_check(void)
{
	struct ob_store *st = open_ok(dbpath, false);
	struct ob_job_list l;
	struct ob_history_list h;
	struct ob_error err;
	long steps = 0;
	size_t i, k;

	ck_assert_int_eq(ob_store_jobs_list(st, NULL, &l, &err), 0);
	ck_assert_uint_eq(l.n, CRASH_JOBS);
	for (i = 0; i < l.n; i++) {
		const struct ob_job *j = &l.items[i];
		const struct ob_history *last;

		ck_assert_int_eq(ob_store_history(st, j->id, &h, &err), 0);
		ck_assert_uint_ge(h.n, 1);
		ck_assert_str_eq(h.items[0].from, "");
		for (k = 1; k < h.n; k++)
			ck_assert_str_eq(h.items[k].from, h.items[k - 1].to);
		last = &h.items[h.n - 1];
		ck_assert_str_eq(last->to, ob_job_state_name(j->state));
		ck_assert_str_eq(j->error_message, h.n > 1 ? last->detail : "");
		if (j->attempts == 0)
			ck_assert_int_eq(j->updated_ms, last->at_ms);
		else
			ck_assert_int_gt(j->updated_ms, last->at_ms);
		steps += (long)h.n - 1;
		ob_history_list_clear(&h);
	}
	ob_job_list_clear(&l);
	ob_store_close(st);
	return steps;
}

START_TEST(test_crash_atomicity)
{
	uint32_t seed = test_seed();
	struct ob_store *st;
	struct timespec ts;
	struct tjob t;
	long steps = 0, before;
	int round, status, fds[2], i;
	char c;
	pid_t pid;

	make_tmpdir();
	st = open_ok(dbpath, false);
	for (i = 0; i < CRASH_JOBS; i++)
		insert_ok(st, tjob(&t, i, OB_JOB_PENDING, 0), 0, true);
	ob_store_close(st);
	for (round = 0; round < 8; round++) {
		ck_assert_int_eq(pipe(fds), 0);
		fflush(NULL);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			crash_child(seed + (uint32_t)round * 7919u, (round + 1) * INT64_C(1000000000),
				    fds[1]);
		}
		close(fds[1]);
		ck_assert_int_eq(read(fds[0], &c, 1), 1);
		close(fds[0]);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(xorshift32(&seed) % 40000) * 1000L; /* < 40 ms */
		nanosleep(&ts, NULL);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			      "child ended by itself: status %d", status);
		before = steps;
		steps = crash_check();
		ck_assert_int_ge(steps, before);
	}
	/* The child did step, so the checks above had something to check. */
	ck_assert_int_gt(steps, 0);
	remove_tmpdir();
}
END_TEST

/* --- S3 export sub-state (schema 2) --------------------------------------- */

/* A file at schema 1 (the jobs and history only) with a job in it opens,
 * migrates to the current version, keeps the job and gains `exports`. */
START_TEST(test_migrate_v1_keeps_jobs)
{
	struct ob_store *st;
	struct tjob t;
	struct ob_job got;
	struct ob_export x = { 0 };
	struct ob_error err;
	sqlite3 *raw;
	bool created;

	make_tmpdir();
	st = open_ok(dbpath, false);
	insert_ok(st, tjob(&t, 7, OB_JOB_NOTIFIED, 100), 50, true);
	ob_store_close(st);
	/* Back to what a schema-1 build wrote: migration 0 is unchanged. */
	raw = raw_open(dbpath);
	ck_assert_int_eq(raw_exec(raw, "DROP TABLE exports; DROP TABLE alerts; PRAGMA user_version = 1"), SQLITE_OK);
	ck_assert_int_eq(raw_int(raw, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'exports'"),
			 0);
	ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);
	/* A read-only open (offsite-backupctl) refuses to guess... */
	ck_assert_int_eq(ob_store_open(dbpath, true, &st, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CONFIG);
	/* ...the daemon migrates. */
	st = open_ok(dbpath, false);
	ck_assert_int_eq(ob_store_file_version(st), ob_store_schema_version());
	ck_assert_int_ge(ob_store_schema_version(), 2);
	get_ok(st, t.id, &got);
	ck_assert_str_eq(got.source_arn, t.arn);
	ck_assert_int_eq(got.state, OB_JOB_NOTIFIED);
	ck_assert_int_eq(got.created_ms, 50);
	ob_job_clear(&got);
	x.job_id = t.id;
	x.task_id = "ob-export-j7";
	x.source_arn = "arn:aws:rds:eu-central-1:111122223333:snapshot:ob-x";
	x.state = OB_EXPORT_PENDING;
	x.next_at_ms = 10;
	ck_assert_msg(ob_store_export_insert(st, &x, 60, &created, &err) == 0, "%s", err.message);
	ck_assert(created);
	ob_store_close(st);
	ck_assert_int_eq(path_int(dbpath, "PRAGMA user_version"), ob_store_schema_version());
	ck_assert_int_eq(count_rows("jobs"), 1);
	ck_assert_int_eq(count_rows("history"), 1);
	ck_assert_int_eq(count_rows("exports"), 1);
	ck_assert_int_eq(path_int(dbpath, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
					  " AND tbl_name = 'exports' AND sql LIKE '%(state, next_at)%'"),
			 1);
	remove_tmpdir();
}
END_TEST

static void export_row(struct ob_export *x, const char *job_id, const char *task,
		       enum ob_export_state state, int64_t next_at)
{
	memset(x, 0, sizeof(*x));
	x->job_id = (char *)job_id;
	x->task_id = (char *)task;
	x->source_arn = (char *)"arn:aws:rds:eu-central-1:111122223333:snapshot:ob-copy";
	x->state = state;
	x->next_at_ms = next_at;
}

START_TEST(test_exports)
{
	struct ob_store *st;
	struct tjob t1, t2, t3;
	struct ob_export x, got;
	struct ob_export_list l;
	struct ob_error err;
	long counts[OB_EXPORT_STATE_COUNT];
	enum ob_export_state es;
	int64_t due;
	bool created;
	sqlite3 *raw;

	make_tmpdir();
	st = open_ok(dbpath, false);
	insert_ok(st, tjob(&t1, 1, OB_JOB_COPIED, 0), 1, true);
	insert_ok(st, tjob(&t2, 2, OB_JOB_COPIED, 0), 1, true);
	insert_ok(st, tjob(&t3, 3, OB_JOB_COPIED, 0), 1, true);

	/* Names both ways; unknown ones refused. */
	for (es = OB_EXPORT_PENDING; es < OB_EXPORT_STATE_COUNT; es++) {
		enum ob_export_state back;

		ck_assert_int_eq(ob_export_state_parse(ob_export_state_name(es), &back), 0);
		ck_assert_int_eq(back, es);
	}
	ck_assert_str_eq(ob_export_state_name(OB_EXPORT_STATE_COUNT), "?");
	ck_assert_int_eq(ob_export_state_parse("RUNNING", &es), -1);
	ck_assert_int_eq(ob_export_state_parse(NULL, &es), -1);

	ck_assert_int_eq(ob_store_export_next_due(st, OB_EXPORT_PENDING, &due, &err), 0);
	ck_assert(due == OB_FSM_NEVER);
	export_row(&x, t1.id, "ob-export-1", OB_EXPORT_PENDING, 100);
	ck_assert_int_eq(ob_store_export_insert(st, &x, 5, &created, &err), 0);
	ck_assert(created);
	/* Exactly once: a second insert for the job changes nothing. */
	export_row(&x, t1.id, "other", OB_EXPORT_RUNNING, 1);
	ck_assert_int_eq(ob_store_export_insert(st, &x, 6, &created, &err), 0);
	ck_assert(!created);
	export_row(&x, t2.id, "ob-export-2", OB_EXPORT_PENDING, 50);
	ck_assert_int_eq(ob_store_export_insert(st, &x, 5, &created, &err), 0);
	/* No job, no export: the row references jobs. */
	export_row(&x, "j-none", "ob-export-x", OB_EXPORT_PENDING, 50);
	ck_assert_int_eq(ob_store_export_insert(st, &x, 5, &created, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert(!created);
	/* Bad arguments. */
	export_row(&x, t3.id, "", OB_EXPORT_PENDING, 50);
	x.task_id = NULL;
	ck_assert_int_eq(ob_store_export_insert(st, &x, 5, NULL, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	export_row(&x, t3.id, "ob-export-3", OB_EXPORT_STATE_COUNT, 50);
	ck_assert_int_eq(ob_store_export_insert(st, &x, 5, NULL, &err), -1);
	export_row(&x, t3.id, "", OB_EXPORT_PENDING, 50);
	ck_assert_int_eq(ob_store_export_insert(st, &x, 5, NULL, &err), -1); /* CHECK task_id */

	ck_assert_int_eq(ob_store_export_get(st, t1.id, &got, &err), 0);
	ck_assert_str_eq(got.task_id, "ob-export-1");
	ck_assert_int_eq(got.state, OB_EXPORT_PENDING);
	ck_assert_int_eq(got.next_at_ms, 100);
	ck_assert_int_eq(got.created_ms, 5);
	ck_assert_str_eq(got.error_code, "");
	ob_export_clear(&got);
	ob_export_clear(NULL);
	ck_assert_int_eq(ob_store_export_get(st, t3.id, &got, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_NOTFOUND);

	/* Due ones, earliest first; the limit holds. */
	ck_assert_int_eq(ob_store_exports_list(st, OB_EXPORT_PENDING, 60, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.items[0].job_id, t2.id);
	ob_export_list_clear(&l);
	ck_assert_int_eq(ob_store_exports_list(st, OB_EXPORT_PENDING, INT64_MAX, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.items[0].job_id, t2.id);
	ck_assert_str_eq(l.items[1].job_id, t1.id);
	ob_export_list_clear(&l);
	ck_assert_int_eq(ob_store_exports_list(st, OB_EXPORT_PENDING, INT64_MAX, 1, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ob_export_list_clear(&l);
	ck_assert_int_eq(ob_store_exports_list(st, OB_EXPORT_STATE_COUNT, 0, 0, &l, &err), -1);
	ck_assert_int_eq(ob_store_export_next_due(st, OB_EXPORT_PENDING, &due, &err), 0);
	ck_assert_int_eq(due, 50);

	/* Compare-and-set: from pending to running once; a second writer loses. */
	ck_assert_int_eq(ob_store_export_get(st, t1.id, &got, &err), 0);
	got.state = OB_EXPORT_RUNNING;
	got.percent = 42;
	got.attempts = 3;
	free(got.error_message);
	got.error_message = strdup("why");
	ck_assert_int_eq(ob_store_export_update(st, &got, OB_EXPORT_PENDING, 77, &err), 0);
	ck_assert_int_eq(got.updated_ms, 77);
	ck_assert_int_eq(ob_store_export_update(st, &got, OB_EXPORT_PENDING, 78, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_CONFLICT);
	ck_assert_msg(strstr(err.message, "'running' now") != NULL, "%s", err.message);
	got.percent = 101;
	ck_assert_int_eq(ob_store_export_update(st, &got, OB_EXPORT_RUNNING, 78, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ob_export_clear(&got);
	ck_assert_int_eq(ob_store_export_get(st, t1.id, &got, &err), 0);
	ck_assert_int_eq(got.state, OB_EXPORT_RUNNING);
	ck_assert_int_eq(got.percent, 42);
	ck_assert_uint_eq(got.attempts, 3);
	ck_assert_str_eq(got.error_message, "why");
	ck_assert_int_eq(got.updated_ms, 77);
	ob_export_clear(&got);
	export_row(&x, "j-none", "t", OB_EXPORT_FAILED, 1);
	ck_assert_int_eq(ob_store_export_update(st, &x, OB_EXPORT_PENDING, 78, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_NOTFOUND);

	ck_assert_int_eq(ob_store_export_counts(st, counts, &err), 0);
	ck_assert_int_eq(counts[OB_EXPORT_PENDING], 1);
	ck_assert_int_eq(counts[OB_EXPORT_RUNNING], 1);
	ck_assert_int_eq(counts[OB_EXPORT_FAILED], 0);

	/* A state this build does not know is an error on read, never mapped. */
	raw = raw_open(dbpath);
	ck_assert_int_eq(raw_exec(raw, "UPDATE exports SET state = 'exploded' WHERE task_id ="
				       " 'ob-export-2'"), SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(raw), SQLITE_OK);
	ck_assert_int_eq(ob_store_export_get(st, t2.id, &got, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ck_assert_int_eq(ob_store_export_counts(st, counts, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_PARSE);
	ob_store_close(st);
	remove_tmpdir();
}
END_TEST

Suite *ob_suite_store(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	TCase *slow = tcase_create("store-slow");

	tcase_add_test(tc, test_open_create_reopen);
	tcase_add_test(tc, test_pragmas);
	tcase_add_test(tc, test_newer_version_refused);
	tcase_add_test(tc, test_failed_migration_rolls_back);
	tcase_add_test(tc, test_garbage_refused);
	tcase_add_test(tc, test_each_brief);
	tcase_add_test(tc, test_read_only);
	tcase_add_test(tc, test_insert_and_duplicate);
	tcase_add_test(tc, test_invalid_arguments);
	tcase_add_test(tc, test_get_not_found);
	tcase_add_test(tc, test_step_history);
	tcase_add_test(tc, test_step_conflict);
	tcase_add_test(tc, test_change_fields);
	tcase_add_test(tc, test_history_append_only);
	tcase_add_test(tc, test_list_filters);
	tcase_add_test(tc, test_next_due);
	tcase_add_test(tc, test_count_states);
	tcase_add_test(tc, test_unknown_names);
	tcase_add_test(tc, test_strings_roundtrip);
	tcase_add_test(tc, test_unwritable);
	tcase_add_test(tc, test_disk_full);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_busy_waits);
	tcase_add_test(tc, test_migrate_v1_keeps_jobs);
	tcase_add_test(tc, test_exports);
	suite_add_tcase(s, tc);
	tcase_add_test(slow, test_many_jobs);
	tcase_add_test(slow, test_crash_atomicity);
	tcase_set_timeout(slow, 120);
	suite_add_tcase(s, slow);
	return s;
}
