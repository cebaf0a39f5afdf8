/*
 * store.c - the job database: one SQLite file holding every job and the
 * append-only history of its transitions.
 *
 * The daemon's promise that a crash at any instant loses nothing rests on
 * this file: every state change is one BEGIN IMMEDIATE ... COMMIT holding the
 * compare-and-set UPDATE and its history row, in WAL mode with
 * synchronous=FULL, and any failure rolls the whole transaction back. The
 * schema is versioned with PRAGMA user_version and migrated forward on open,
 * one transaction per step; a file from a newer release, a corrupt file or
 * something that is not a database is refused before anything writes to it.
 * States and snapshot kinds are stored by name (fsm.c and rds.c own the
 * names), and a name this build does not know is an error on read, never
 * silently mapped. Statements are prepared once at open and reused.
 */
/* O_TMPFILE (fs_fault). */
#define _GNU_SOURCE
#include "ob/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 5000
#define OPT(s) ((s) ? (s) : "")

/* Migration i takes user_version i to i + 1. Append only: a released
 * script never changes, a new schema is a new entry. */
static const char *const migrations[] = {
	/* 0 -> 1: jobs and their history. */
	"CREATE TABLE jobs ("
	" id TEXT NOT NULL PRIMARY KEY CHECK (id <> ''),"
	" role TEXT NOT NULL CHECK (role <> ''),"
	" kind TEXT NOT NULL,"
	" source_arn TEXT NOT NULL UNIQUE CHECK (source_arn <> ''),"
	" db_id TEXT NOT NULL,"
	" copy_id TEXT NOT NULL,"
	" copy_arn TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state <> ''),"
	" failed_from TEXT NOT NULL DEFAULT '',"
	" attempts INTEGER NOT NULL CHECK (typeof(attempts) = 'integer' AND attempts >= 0),"
	" defers INTEGER NOT NULL CHECK (typeof(defers) = 'integer' AND defers >= 0),"
	" next_at INTEGER NOT NULL CHECK (typeof(next_at) = 'integer'),"
	" created_at INTEGER NOT NULL CHECK (typeof(created_at) = 'integer'),"
	" updated_at INTEGER NOT NULL CHECK (typeof(updated_at) = 'integer'),"
	" engine TEXT NOT NULL DEFAULT '',"
	" engine_version TEXT NOT NULL DEFAULT '',"
	" allocated_gib INTEGER NOT NULL DEFAULT 0 CHECK (allocated_gib >= 0),"
	" snapshot_time INTEGER NOT NULL DEFAULT 0,"
	" origin TEXT NOT NULL DEFAULT '',"
	" error_code TEXT NOT NULL DEFAULT '',"
	" error_message TEXT NOT NULL DEFAULT '',"
	" source_tags TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX jobs_state_next_at ON jobs (state, next_at);"
	"CREATE TABLE history ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" job_id TEXT NOT NULL REFERENCES jobs (id),"
	" at INTEGER NOT NULL,"
	" from_state TEXT NOT NULL,"
	" to_state TEXT NOT NULL,"
	" detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX history_job_id ON history (job_id);"
	"CREATE TRIGGER history_no_update BEFORE UPDATE ON history"
	" BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;"
	"CREATE TRIGGER history_no_delete BEFORE DELETE ON history"
	" BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;",
	/* 1 -> 2: the alert outbox (alert.c; the section at the end), and
	 * the S3 export sub-state of a source job (docs/s3-export.md), a table
	 * of its own so the job row stays as it was (export.c). */
	"CREATE TABLE alerts ("
	" key TEXT NOT NULL PRIMARY KEY CHECK (key <> ''),"
	" kind TEXT NOT NULL CHECK (kind <> ''),"
	" subject TEXT NOT NULL,"
	" text TEXT NOT NULL,"
	" details TEXT NOT NULL,"
	" raised_at INTEGER NOT NULL CHECK (typeof(raised_at) = 'integer'),"
	" raised_sent INTEGER NOT NULL DEFAULT 0 CHECK (raised_sent IN (0, 1)),"
	" cleared_at INTEGER CHECK (cleared_at IS NULL OR typeof(cleared_at) = 'integer'),"
	" clear_text TEXT NOT NULL DEFAULT '',"
	" terminal INTEGER NOT NULL DEFAULT 0 CHECK (terminal IN (0, 1)));"
	"CREATE TABLE exports ("
	" job_id TEXT NOT NULL PRIMARY KEY REFERENCES jobs (id),"
	" task_id TEXT NOT NULL CHECK (task_id <> ''),"
	" source_arn TEXT NOT NULL CHECK (source_arn <> ''),"
	" state TEXT NOT NULL CHECK (state <> ''),"
	" attempts INTEGER NOT NULL DEFAULT 0 CHECK (typeof(attempts) = 'integer' AND attempts >= 0),"
	" next_at INTEGER NOT NULL CHECK (typeof(next_at) = 'integer'),"
	" created_at INTEGER NOT NULL CHECK (typeof(created_at) = 'integer'),"
	" updated_at INTEGER NOT NULL CHECK (typeof(updated_at) = 'integer'),"
	" percent INTEGER NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),"
	" error_code TEXT NOT NULL DEFAULT '',"
	" error_message TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX exports_state_next_at ON exports (state, next_at);",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define JOB_COLS                                                                      \
	"id, role, kind, source_arn, db_id, copy_id, copy_arn, state, failed_from,"  \
	" attempts, defers, next_at, created_at, updated_at, engine, engine_version," \
	" allocated_gib, snapshot_time, origin, error_code, error_message, source_tags"

/* Column numbers of JOB_COLS. */
enum {
	C_ID, C_ROLE, C_KIND, C_ARN, C_DB_ID, C_COPY_ID, C_COPY_ARN, C_STATE, C_FAILED_FROM,
	C_ATTEMPTS, C_DEFERS, C_NEXT_AT, C_CREATED, C_UPDATED, C_ENGINE, C_ENGINE_VERSION,
	C_GIB, C_SNAP_TIME, C_ORIGIN, C_ERR_CODE, C_ERR_MSG, C_SOURCE_TAGS,
};

/* The cached statements. The queries over a set of states take one named
 * parameter per state, unused ones bound to NULL. */
enum {
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_INSERT, S_HISTORY_ADD, S_GET, S_BY_ARN, S_STEP,
	S_STATE_OF, S_LIST, S_NEXT_DUE, S_COUNT, S_HISTORY, S_N
};

#define STATES ":s0, :s1, :s2, :s3, :s4, :s5, :s6, :s7, :s8, :s9, :s10, :s11"
_Static_assert(OB_JOB_STATE_COUNT == 12, "STATES needs one placeholder per job state");

static const char *const stmt_sql[S_N] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_INSERT] = "INSERT INTO jobs (" JOB_COLS ") VALUES (:id, :role, :kind, :arn,"
		     " :db_id, :copy_id, :copy_arn, :state, :failed_from, :attempts, :defers,"
		     " :next_at, :now, :now, :engine, :engine_version, :gib, :snap_time,"
		     " :origin, :err_code, :err_msg, :source_tags) ON CONFLICT (source_arn) DO NOTHING",
	[S_HISTORY_ADD] = "INSERT INTO history (job_id, at, from_state, to_state, detail)"
			  " VALUES (:id, :at, :from, :to, :detail)",
	[S_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = :id",
	[S_BY_ARN] = "SELECT " JOB_COLS " FROM jobs WHERE source_arn = :arn",
	[S_STEP] = "UPDATE jobs SET state = :to, failed_from = :failed_from,"
		   " attempts = :attempts, defers = :defers, next_at = :next_at,"
		   " updated_at = :now, copy_arn = COALESCE(:copy_arn, copy_arn),"
		   " error_code = COALESCE(:err_code, error_code),"
		   " error_message = COALESCE(:err_msg, error_message)"
		   " WHERE id = :id AND state = :from",
	[S_STATE_OF] = "SELECT state FROM jobs WHERE id = :id",
	[S_LIST] = "SELECT " JOB_COLS " FROM jobs WHERE (:all OR state IN (" STATES ")) AND"
		   " next_at <= :due ORDER BY CASE WHEN :by_next THEN next_at ELSE created_at END,"
		   " id LIMIT :limit",
	[S_NEXT_DUE] = "SELECT MIN(next_at) FROM jobs WHERE state IN (" STATES ")",
	[S_COUNT] = "SELECT state, COUNT(*), MIN(id) FROM jobs GROUP BY state",
	[S_HISTORY] = "SELECT at, from_state, to_state, detail FROM history"
		      " WHERE job_id = :id ORDER BY seq",
};

struct ob_store {
	sqlite3 *db;
	char *path;
	int file_version;
	sqlite3_stmt *stmt[S_N];
};

enum ob_store_fault ob_store_classify(int sqlite_rc, int sys_errno)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return OB_STORE_FAULT_NONE;
	case SQLITE_FULL:
		return OB_STORE_FAULT_FULL;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return OB_STORE_FAULT_READONLY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return OB_STORE_FAULT_CORRUPT;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		/* Only here is the OS error the cause; after other codes it
		 * may be left over from an earlier call. */
		if (sys_errno == ENOSPC || sys_errno == EDQUOT)
			return OB_STORE_FAULT_FULL;
		if (sys_errno == EROFS || sys_errno == EACCES || sys_errno == EPERM)
			return OB_STORE_FAULT_READONLY;
		return OB_STORE_FAULT_OTHER;
	default:
		return OB_STORE_FAULT_OTHER;
	}
}

enum ob_store_fault ob_store_fault_of(const struct ob_error *err)
{
	if (err == NULL || err->kind == OB_ERR_NONE)
		return OB_STORE_FAULT_NONE;
	if (err->kind != OB_ERR_IO)
		return OB_STORE_FAULT_OTHER;
	switch (err->sys_errno) {
	case ENOSPC:
	case EDQUOT:
		return OB_STORE_FAULT_FULL;
	case EROFS:
	case EACCES:
	case EPERM:
		return OB_STORE_FAULT_READONLY;
	case EUCLEAN:
		return OB_STORE_FAULT_CORRUPT;
	default:
		return OB_STORE_FAULT_OTHER;
	}
}

const char *ob_store_fault_name(enum ob_store_fault f)
{
	switch (f) {
	case OB_STORE_FAULT_NONE: return "ok";
	case OB_STORE_FAULT_FULL: return "disk full";
	case OB_STORE_FAULT_READONLY: return "read-only";
	case OB_STORE_FAULT_CORRUPT: return "corrupt";
	case OB_STORE_FAULT_OTHER: return "database error";
	}
	return "?";
}

/* Make err say fault (an OB_ERR_IO record): its errno becomes the one
 * ob_store_fault_of() reads (keeping a more precise one the OS gave) and
 * its message starts with the fault's name, so the one line an operator
 * sees says what is wrong before it says where. */
static void mark_fault(struct ob_error *err, enum ob_store_fault fault)
{
	if (err == NULL || fault == OB_STORE_FAULT_NONE || fault == OB_STORE_FAULT_OTHER)
		return;
	err->kind = OB_ERR_IO;
	if (ob_store_fault_of(err) != fault)
		err->sys_errno = fault == OB_STORE_FAULT_FULL ? ENOSPC :
				 fault == OB_STORE_FAULT_READONLY ? EROFS : EUCLEAN;
	ob_error_prefix(err, "%s", ob_store_fault_name(fault));
}

/* SQLite's OS error number is not reliable after an I/O error (it reads
 * errno after the rollback has made other calls), so an I/O error that
 * classify() cannot place is checked against the filesystem itself: one
 * the kernel has made read-only (ext4 errors=remount-ro) answers writes
 * with EROFS, which SQLite reports as a plain "disk I/O error". */
/* Does the filesystem holding path refuse to create a file (EROFS)? */
static bool tmpfile_refused(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return false;
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EROFS;
}

static enum ob_store_fault fs_fault(const char *path)
{
	struct statvfs sv;

	if (statvfs(path, &sv) == 0 && sv.f_bavail == 0)
		return OB_STORE_FAULT_FULL;
	/* Never open the database file itself: closing a descriptor of it
	 * would drop every POSIX lock this process holds on it (SQLite's
	 * among them), and another process could then delete the WAL under
	 * the live connection. access() sees a read-only mount or missing
	 * permission; ext4's emergency read-only state (errors=remount-ro)
	 * is ext4's own and shows only to a write inside the filesystem: an
	 * unnamed O_TMPFILE in the database's directory, which leaves nothing
	 * behind. */
	if (access(path, W_OK) < 0)
		return errno == EROFS || errno == EACCES || errno == EPERM
			       ? OB_STORE_FAULT_READONLY : OB_STORE_FAULT_OTHER;
	return tmpfile_refused(path) ? OB_STORE_FAULT_READONLY : OB_STORE_FAULT_OTHER;
}

/* -1 + err for a failed SQLite call, with the path and SQLite's message,
 * marked with its fault (disk full, read-only, corrupt) when it is one.
 * Call it before anything else touches the connection (errmsg is the last
 * call's). Constraint violations are the caller's input; the rest is I/O. */
static int db_error(struct ob_store *st, int rc, struct ob_error *err, const char *what)
{
	enum ob_err_kind kind = OB_ERR_IO;
	int sys;

	if ((rc & 0xff) == SQLITE_NOMEM)
		kind = OB_ERR_NOMEM;
	else if ((rc & 0xff) == SQLITE_CONSTRAINT)
		kind = OB_ERR_INVALID;
	sys = st->db ? sqlite3_system_errno(st->db) : 0;
	ob_error_set(err, kind, "%s: %s: %s", st->path, what,
		     st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	if (err != NULL && kind == OB_ERR_IO) {
		enum ob_store_fault fault = ob_store_classify(rc, sys);

		if (fault == OB_STORE_FAULT_OTHER &&
		    ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN))
			fault = fs_fault(st->path);
		err->sys_errno = sys;
		mark_fault(err, fault);
	}
	return -1;
}

/* Ready a cached statement for the next use. The step's error, which reset
 * repeats, has already been reported by then. */
static void stmt_done(sqlite3_stmt *s)
{
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

/* Named-parameter binding that keeps the first failure, so a statement's
 * binds read as a list and stmt_step() reports a failed bind as it would a
 * failed step. */
struct binder {
	struct ob_store *st;
	sqlite3_stmt *s;
	int rc;
};

#define BINDER(st, which) { (st), (st)->stmt[which], SQLITE_OK }

/* NULL binds SQL NULL. The text is borrowed until stmt_done(). An unknown
 * name is index 0, which bind refuses with SQLITE_RANGE. */
static void bind_text(struct binder *b, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(b->s, name);

	if (b->rc == SQLITE_OK)
		b->rc = v ? sqlite3_bind_text(b->s, i, v, -1, SQLITE_STATIC)
			  : sqlite3_bind_null(b->s, i);
}

static void bind_int(struct binder *b, const char *name, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->s, sqlite3_bind_parameter_index(b->s, name), v);
}

static int stmt_step(struct binder *b)
{
	return b->rc != SQLITE_OK ? b->rc : sqlite3_step(b->s);
}

/* Step a statement that returns no rows, and ready it for the next use. */
static int run(struct binder *b, const char *what, struct ob_error *err)
{
	int rc = stmt_step(b);

	if (rc != SQLITE_DONE)
		db_error(b->st, rc, err, what);
	stmt_done(b->s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int tx_begin(struct ob_store *st, struct ob_error *err)
{
	struct binder b = BINDER(st, S_BEGIN);

	return run(&b, "begin", err);
}

/* ROLLBACK unless SQLite already ended the transaction itself (it does
 * after some I/O errors, and then ROLLBACK would fail). If ROLLBACK fails
 * the connection is broken and the transaction dies with it. */
static void tx_rollback(struct ob_store *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		(void)sqlite3_step(st->stmt[S_ROLLBACK]);
		stmt_done(st->stmt[S_ROLLBACK]);
	}
}

/* COMMIT when rc is 0; else, or when COMMIT fails, ROLLBACK. 0 or -1. */
static int tx_end(struct ob_store *st, int rc, struct ob_error *err)
{
	struct binder b = BINDER(st, S_COMMIT);

	if (rc == 0 && run(&b, "commit", err) == 0)
		return 0;
	tx_rollback(st);
	return -1;
}

/* A state's stored name, or NULL for a value fsm.c does not name. */
static const char *state_name(enum ob_job_state s)
{
	const char *name = ob_job_state_name(s);
	enum ob_job_state back;

	if (name == NULL || ob_job_state_parse(name, &back) != 0 || back != s)
		return NULL;
	return name;
}

static const char *kind_name(enum ob_snap_kind k)
{
	const char *name = ob_snap_kind_name(k);
	enum ob_snap_kind back;

	if (name == NULL || ob_snap_kind_parse(name, &back) != 0 || back != k)
		return NULL;
	return name;
}

/* Bind :s0... (unused ones NULL) and, where the query has it, :all, which
 * states NULL sets: every row, whatever its state's name. */
static int bind_states(struct binder *b, const enum ob_job_state *states, size_t n,
		       struct ob_error *err)
{
	char pname[16];
	size_t i;

	if (n > OB_JOB_STATE_COUNT)
		return ob_error_set(err, OB_ERR_INVALID, "store: %zu states in a filter, at most %d",
				    n, (int)OB_JOB_STATE_COUNT);
	for (i = 0; i < OB_JOB_STATE_COUNT; i++) {
		const char *name = NULL;

		if (states != NULL && i < n && (name = state_name(states[i])) == NULL)
			return ob_error_set(err, OB_ERR_INVALID, "store: state %d out of range",
					    (int)states[i]);
		snprintf(pname, sizeof(pname), ":s%zu", i);
		bind_text(b, pname, name);
	}
	if (sqlite3_bind_parameter_index(b->s, ":all") > 0)
		bind_int(b, ":all", states == NULL);
	return 0;
}

/* The first column of the row sql answers, as text into buf ("" when it
 * answers no row). */
static int query1(struct ob_store *st, const char *sql, char *buf, size_t size,
		  struct ob_error *err)
{
	sqlite3_stmt *s = NULL;
	const char *t;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_error(st, rc, err, sql);
		sqlite3_finalize(s);
		return -1;
	}
	t = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
	snprintf(buf, size, "%s", t ? t : "");
	for (; *buf != '\0'; buf++) /* quick_check answers on several lines */
		if (*buf == '\n')
			*buf = ' ';
	sqlite3_finalize(s);
	return 0;
}

/* The query must answer want (e.g. "wal", "ok"). */
static int expect(struct ob_store *st, const char *sql, const char *want, struct ob_error *err)
{
	char got[256];

	if (query1(st, sql, got, sizeof(got), err) != 0)
		return -1;
	if (strcmp(got, want) != 0)
		return ob_error_set(err, OB_ERR_IO, "%s: %s answered '%s', not '%s'", st->path, sql,
				    got, want);
	return 0;
}

static int user_version(struct ob_store *st, long long *ret, struct ob_error *err)
{
	char buf[32];

	if (query1(st, "PRAGMA user_version", buf, sizeof(buf), err) != 0)
		return -1;
	*ret = strtoll(buf, NULL, 10);
	return 0;
}

static int exec_sql(struct ob_store *st, const char *sql, const char *what, struct ob_error *err)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_error(st, rc, err, what);
}

/* Apply every migration the file lacks, each in its own transaction with
 * its user_version, re-reading the version under the write lock in case
 * another process migrated first. */
static int migrate(struct ob_store *st, struct ob_error *err)
{
	char set[64];
	long long v;

	for (;;) {
		if (exec_sql(st, "BEGIN IMMEDIATE", "migrate: begin", err) != 0)
			return -1;
		if (user_version(st, &v, err) != 0)
			goto fail;
		if (v >= SCHEMA_VERSION)
			break;
		if (v < 0) {
			ob_error_set(err, OB_ERR_CONFIG, "%s: schema version %lld is invalid", st->path, v);
			goto fail;
		}
		snprintf(set, sizeof(set), "PRAGMA user_version = %d", (int)v + 1);
		if (exec_sql(st, migrations[v], "migrate", err) != 0 ||
		    exec_sql(st, set, "migrate: set user_version", err) != 0 ||
		    exec_sql(st, "COMMIT", "migrate: commit", err) != 0)
			goto fail;
	}
	return exec_sql(st, "COMMIT", "migrate: commit", err);
fail:
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	ob_error_prefix(err, "migrating to schema version %d", SCHEMA_VERSION);
	return -1;
}

/* Append text to err's message, as far as it fits. */
static void append(struct ob_error *err, const char *text)
{
	size_t len = strlen(err->message);

	snprintf(err->message + len, sizeof(err->message) - len, "%s", text);
}

/* Connection settings, checks that leave the file untouched, then WAL and
 * the migrations. A corrupt or foreign file fails in the checks, before
 * anything could write to it. */
static int setup(struct ob_store *st, bool read_only, struct ob_error *err)
{
	char check[256];
	long long v;

	if (sqlite3_extended_result_codes(st->db, 1) != SQLITE_OK ||
	    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
		return db_error(st, SQLITE_MISUSE, err, "connection settings");
	if (user_version(st, &v, err) != 0 ||
	    query1(st, "PRAGMA quick_check(1)", check, sizeof(check), err) != 0) {
		if (err != NULL && err->kind == OB_ERR_IO)
			append(err, " (not a usable job database; left untouched)");
		return -1;
	}
	if (strcmp(check, "ok") != 0) {
		/* SQLite read the file but found it damaged. */
		ob_error_set(err, OB_ERR_IO, "%s: PRAGMA quick_check answered '%s' "
			     "(not a usable job database; left untouched)", st->path, check);
		mark_fault(err, OB_STORE_FAULT_CORRUPT);
		return -1;
	}
	if (exec_sql(st, "PRAGMA foreign_keys = ON", "foreign keys", err) != 0 ||
	    exec_sql(st, "PRAGMA synchronous = FULL", "synchronous", err) != 0 ||
	    /* 1 MiB of page cache (SQLite's default is 2): the daemon's walks
	     * read each page once, and the kernel caches the file anyway. */
	    exec_sql(st, "PRAGMA cache_size = -1024", "cache size", err) != 0 ||
	    expect(st, "PRAGMA foreign_keys", "1", err) != 0 ||
	    expect(st, "PRAGMA synchronous", "2", err) != 0)
		return -1;
	if (v > SCHEMA_VERSION)
		return ob_error_set(err, OB_ERR_CONFIG,
				    "%s: schema version %lld is newer than this build's %d; "
				    "refusing to guess (use a newer release)",
				    st->path, v, SCHEMA_VERSION);
	if (read_only && v < SCHEMA_VERSION)
		return ob_error_set(err, OB_ERR_CONFIG,
				    "%s: schema version %lld, this build needs %d; "
				    "run the daemon once to migrate",
				    st->path, v, SCHEMA_VERSION);
	/* Indexes change nothing an older build would misread, so they are
	 * not a schema version (a rollback of the package keeps working):
	 * this one serves the walks over one state's jobs database by
	 * database (ob_store_each_brief: retention, ctl status). */
	if (!read_only && (expect(st, "PRAGMA journal_mode = WAL", "wal", err) != 0 ||
			   migrate(st, err) != 0 ||
			   exec_sql(st, "CREATE INDEX IF NOT EXISTS jobs_state_db_id"
				    " ON jobs (state, db_id, source_arn)", "index", err) != 0))
		return -1;
	st->file_version = SCHEMA_VERSION;
	return 0;
}

static int prepare_all(struct ob_store *st, struct ob_error *err)
{
	int i, rc;

	for (i = 0; i < S_N; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return db_error(st, rc, err, "prepare");
	}
	return 0;
}

int ob_store_open(const char *path, bool read_only, struct ob_store **ret,
		  struct ob_error *err)
{
	struct ob_store *st = NULL;
	int rc, fd;

	*ret = NULL;
	if (path == NULL || *path == '\0')
		return ob_error_set(err, OB_ERR_INVALID, "store: no database path");
	if (!read_only) {
		/* Create it ourselves so it is 0600 from the start; SQLite gives
		 * the -wal and -shm files the same mode. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0) {
			int e = errno;

			ob_error_errno(err, OB_ERR_IO, e, "%s: cannot open", path);
			mark_fault(err, ob_store_classify(SQLITE_CANTOPEN, e));
			return -1;
		}
		close(fd);
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->path = strdup(path)) == NULL) {
		rc = ob_error_set(err, OB_ERR_NOMEM, "store: out of memory");
		goto out;
	}
	rc = sqlite3_open_v2(path, &st->db,
			     read_only ? SQLITE_OPEN_READONLY
				       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			     NULL);
	if (rc != SQLITE_OK) {
		rc = db_error(st, rc, err, "cannot open");
		goto out;
	}
	rc = setup(st, read_only, err);
	if (rc == 0)
		rc = prepare_all(st, err);
	if (rc == 0) {
		*ret = st;
		st = NULL;
	}
out:
	ob_store_close(st);
	return rc;
}

void ob_store_close(struct ob_store *st)
{
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < S_N; i++)
		sqlite3_finalize(st->stmt[i]);
	/* Every statement is finalized, so close cannot be left busy; it
	 * checkpoints the WAL when this is the last connection. */
	(void)sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int ob_store_schema_version(void)
{
	return SCHEMA_VERSION;
}

int ob_store_file_version(struct ob_store *st)
{
	return st ? st->file_version : -1;
}

/* The strings a job owns, with their JOB_COLS columns. */
#define JOB_NSTR 12

static const int job_str_cols[JOB_NSTR] = {
	C_ID, C_ROLE, C_ARN, C_DB_ID, C_COPY_ID, C_COPY_ARN, C_ENGINE, C_ENGINE_VERSION,
	C_ORIGIN, C_ERR_CODE, C_ERR_MSG, C_SOURCE_TAGS,
};

static void job_strings(struct ob_job *j, char **ret[JOB_NSTR])
{
	char **p[JOB_NSTR] = {
		&j->id, &j->role, &j->source_arn, &j->db_id, &j->copy_id, &j->copy_arn,
		&j->engine, &j->engine_version, &j->origin, &j->error_code, &j->error_message,
		&j->source_tags,
	};

	memcpy(ret, p, sizeof(p));
}

void ob_job_clear(struct ob_job *job)
{
	char **strs[JOB_NSTR];
	int i;

	if (job == NULL)
		return;
	job_strings(job, strs);
	for (i = 0; i < JOB_NSTR; i++)
		free(*strs[i]);
	memset(job, 0, sizeof(*job));
}

void ob_job_list_clear(struct ob_job_list *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++)
		ob_job_clear(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

void ob_history_list_clear(struct ob_history_list *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++) {
		free(list->items[i].from);
		free(list->items[i].to);
		free(list->items[i].detail);
	}
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* Room for one more item in a list of cap, doubling. */
static int grow(void **items, size_t n, size_t *cap, size_t size, struct ob_error *err)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*items, ncap * size);
	if (p == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "store: out of memory");
	*items = p;
	*cap = ncap;
	return 0;
}

/* A copy of a text column; "" for NULL. NULL only when out of memory. */
static char *col_dup(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	return strdup(t ? t : "");
}

/* The current row of a JOB_COLS query into *ret (overwritten). */
static int read_job(struct ob_store *st, sqlite3_stmt *s, struct ob_job *ret,
		    struct ob_error *err)
{
	struct ob_job j = { 0 };
	const char *state, *ff, *kind, *bad, *name;
	char **strs[JOB_NSTR];
	sqlite3_int64 attempts, defers;
	int rc = -1, i;

	job_strings(&j, strs);
	for (i = 0; i < JOB_NSTR; i++)
		if ((*strs[i] = col_dup(s, job_str_cols[i])) == NULL) {
			ob_error_set(err, OB_ERR_NOMEM, "store: out of memory");
			goto out;
		}
	state = (const char *)sqlite3_column_text(s, C_STATE);
	ff = (const char *)sqlite3_column_text(s, C_FAILED_FROM);
	kind = (const char *)sqlite3_column_text(s, C_KIND);
	name = OPT(state);
	bad = ob_job_state_parse(name, &j.state) != 0 ? "state" : NULL;
	j.failed_from = j.state;
	if (bad == NULL && j.state == OB_JOB_FAILED && *OPT(ff) != '\0') {
		name = ff;
		bad = ob_job_state_parse(name, &j.failed_from) != 0 ? "failed_from" : NULL;
	}
	if (bad == NULL) {
		name = OPT(kind);
		bad = ob_snap_kind_parse(name, &j.kind) != 0 ? "kind" : NULL;
	}
	if (bad != NULL) {
		ob_error_set(err, OB_ERR_PARSE, "%s: job %s has unknown %s '%s'", st->path, j.id,
			     bad, name);
		goto out;
	}
	attempts = sqlite3_column_int64(s, C_ATTEMPTS);
	defers = sqlite3_column_int64(s, C_DEFERS);
	if (attempts < 0 || attempts > UINT_MAX || defers < 0 || defers > UINT_MAX) {
		ob_error_set(err, OB_ERR_PARSE, "%s: job %s has a counter out of range", st->path,
			     j.id);
		goto out;
	}
	j.attempts = (unsigned)attempts;
	j.defers = (unsigned)defers;
	j.next_at_ms = sqlite3_column_int64(s, C_NEXT_AT);
	j.created_ms = sqlite3_column_int64(s, C_CREATED);
	j.updated_ms = sqlite3_column_int64(s, C_UPDATED);
	j.allocated_gib = (long)sqlite3_column_int64(s, C_GIB);
	j.snapshot_time = sqlite3_column_int64(s, C_SNAP_TIME);
	*ret = j;
	memset(&j, 0, sizeof(j));
	rc = 0;
out:
	ob_job_clear(&j);
	return rc;
}

/* One job by a unique key: which is S_GET or S_BY_ARN. */
static int job_fetch(struct ob_store *st, int which, const char *name, const char *key,
		     struct ob_job *ret, struct ob_error *err)
{
	struct binder b = BINDER(st, which);
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (key == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "store: no job key");
	bind_text(&b, name, key);
	rc = stmt_step(&b);
	if (rc == SQLITE_ROW)
		rc = read_job(st, b.s, ret, err);
	else if (rc == SQLITE_DONE)
		rc = ob_error_set(err, OB_ERR_NOTFOUND, "%s: no job %s %s", st->path,
				  which == S_GET ? "with id" : "for", key);
	else
		rc = db_error(st, rc, err, "read job");
	stmt_done(b.s);
	return rc;
}

int ob_store_job_get(struct ob_store *st, const char *id, struct ob_job *ret,
		     struct ob_error *err)
{
	return job_fetch(st, S_GET, ":id", id, ret, err);
}

int ob_store_job_by_arn(struct ob_store *st, const char *source_arn, struct ob_job *ret,
			struct ob_error *err)
{
	return job_fetch(st, S_BY_ARN, ":arn", source_arn, ret, err);
}

static int history_add(struct ob_store *st, const char *id, int64_t at, const char *from,
		       const char *to, const char *detail, struct ob_error *err)
{
	struct binder b = BINDER(st, S_HISTORY_ADD);

	bind_text(&b, ":id", id);
	bind_int(&b, ":at", at);
	bind_text(&b, ":from", from);
	bind_text(&b, ":to", to);
	bind_text(&b, ":detail", detail ? detail : "");
	return run(&b, "write history", err);
}

int ob_store_job_insert(struct ob_store *st, const struct ob_job *job, const char *detail,
			int64_t now_ms, bool *ret_created, struct ob_error *err)
{
	struct binder b = BINDER(st, S_INSERT);
	const char *state, *ff = "", *kind;
	bool created = false;
	int rc;

	if (ret_created != NULL)
		*ret_created = false;
	if (job == NULL || !job->id || !job->role || !job->source_arn || !job->db_id ||
	    !job->copy_id)
		return ob_error_set(err, OB_ERR_INVALID,
				    "store: a job needs id, role, source_arn, db_id and copy_id");
	state = state_name(job->state);
	kind = kind_name(job->kind);
	if (state == NULL || kind == NULL ||
	    (job->state == OB_JOB_FAILED && (ff = state_name(job->failed_from)) == NULL))
		return ob_error_set(err, OB_ERR_INVALID, "store: job %s: state or kind out of range",
				    job->id);
	if (tx_begin(st, err) != 0)
		return -1;
	bind_text(&b, ":id", job->id);
	bind_text(&b, ":role", job->role);
	bind_text(&b, ":kind", kind);
	bind_text(&b, ":arn", job->source_arn);
	bind_text(&b, ":db_id", job->db_id);
	bind_text(&b, ":copy_id", job->copy_id);
	bind_text(&b, ":copy_arn", OPT(job->copy_arn));
	bind_text(&b, ":state", state);
	bind_text(&b, ":failed_from", ff);
	bind_int(&b, ":attempts", job->attempts);
	bind_int(&b, ":defers", job->defers);
	bind_int(&b, ":next_at", job->next_at_ms);
	bind_int(&b, ":now", now_ms);
	bind_text(&b, ":engine", OPT(job->engine));
	bind_text(&b, ":engine_version", OPT(job->engine_version));
	bind_int(&b, ":gib", job->allocated_gib);
	bind_int(&b, ":snap_time", job->snapshot_time);
	bind_text(&b, ":origin", OPT(job->origin));
	bind_text(&b, ":err_code", OPT(job->error_code));
	bind_text(&b, ":err_msg", OPT(job->error_message));
	bind_text(&b, ":source_tags", OPT(job->source_tags));
	rc = run(&b, "insert job", err);
	if (rc == 0 && sqlite3_changes(st->db) > 0) {
		created = true;
		rc = history_add(st, job->id, now_ms, "", state, detail, err);
	}
	if (tx_end(st, rc, err) != 0)
		return ob_error_prefix(err, "job %s", job->id);
	if (ret_created != NULL)
		*ret_created = created;
	return 0;
}

/* Why the compare-and-set matched no row: the job is gone or moved on. */
static int step_lost(struct ob_store *st, const struct ob_job *job, struct ob_error *err)
{
	struct binder b = BINDER(st, S_STATE_OF);
	int rc;

	bind_text(&b, ":id", job->id);
	rc = stmt_step(&b);
	if (rc == SQLITE_ROW)
		ob_error_set(err, OB_ERR_CONFLICT, "%s: job %s is '%s' now, not '%s'", st->path,
			     job->id, (const char *)sqlite3_column_text(b.s, 0),
			     ob_job_state_name(job->state));
	else if (rc == SQLITE_DONE)
		ob_error_set(err, OB_ERR_NOTFOUND, "%s: no job with id %s", st->path, job->id);
	else
		db_error(st, rc, err, "read job state");
	stmt_done(b.s);
	return -1;
}

/* A copy of src (NULL stays NULL), made before the transaction so that
 * install() after COMMIT cannot fail. */
static int copy_change(const char *src, char **ret_copy, struct ob_error *err)
{
	*ret_copy = NULL;
	if (src != NULL && (*ret_copy = strdup(src)) == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "store: out of memory");
	return 0;
}

static void install(char **dst, char **copy)
{
	if (*copy != NULL) {
		free(*dst);
		*dst = *copy;
		*copy = NULL;
	}
}

int ob_store_job_step(struct ob_store *st, struct ob_job *job, const struct ob_fsm_step *step,
		      const struct ob_store_change *change, int64_t now_ms,
		      struct ob_error *err)
{
	static const struct ob_store_change none;
	struct binder b = BINDER(st, S_STEP);
	const char *from, *to, *ff = "";
	char *arn = NULL, *code = NULL, *msg = NULL;
	int rc = -1;

	if (change == NULL)
		change = &none;
	if (job == NULL || job->id == NULL || step == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "store: step needs a job and a step");
	from = state_name(job->state);
	to = state_name(step->to);
	if (from == NULL || to == NULL ||
	    (step->to == OB_JOB_FAILED && (ff = state_name(step->failed_from)) == NULL))
		return ob_error_set(err, OB_ERR_INVALID, "store: job %s: state out of range",
				    job->id);
	if (copy_change(change->copy_arn, &arn, err) != 0 ||
	    copy_change(change->error_code, &code, err) != 0 ||
	    copy_change(change->error_message, &msg, err) != 0 || tx_begin(st, err) != 0)
		goto out;
	bind_text(&b, ":to", to);
	bind_text(&b, ":failed_from", ff);
	bind_int(&b, ":attempts", step->attempts);
	bind_int(&b, ":defers", step->defers);
	bind_int(&b, ":next_at", step->next_at_ms);
	bind_int(&b, ":now", now_ms);
	bind_text(&b, ":copy_arn", change->copy_arn);
	bind_text(&b, ":err_code", change->error_code);
	bind_text(&b, ":err_msg", change->error_message);
	bind_text(&b, ":id", job->id);
	bind_text(&b, ":from", from);
	rc = run(&b, "update job", err);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = step_lost(st, job, err);
	if (rc == 0 && step->transition)
		rc = history_add(st, job->id, now_ms, from, to, change->detail, err);
	rc = tx_end(st, rc, err);
	if (rc != 0)
		goto out;
	job->state = step->to;
	job->failed_from = step->to == OB_JOB_FAILED ? step->failed_from : step->to;
	job->attempts = step->attempts;
	job->defers = step->defers;
	job->next_at_ms = step->next_at_ms;
	job->updated_ms = now_ms;
	install(&job->copy_arn, &arn);
	install(&job->error_code, &code);
	install(&job->error_message, &msg);
out:
	free(arn);
	free(code);
	free(msg);
	return rc;
}

int ob_store_jobs_list(struct ob_store *st, const struct ob_store_query *q,
		       struct ob_job_list *ret, struct ob_error *err)
{
	static const struct ob_store_query all;
	struct ob_job_list l = { NULL, 0 };
	struct binder b = BINDER(st, S_LIST);
	size_t cap = 0;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (q == NULL)
		q = &all;
	if (bind_states(&b, q->states, q->states ? q->n_states : 0, err) != 0) {
		stmt_done(b.s);
		return -1;
	}
	bind_int(&b, ":by_next", q->by_next_at);
	bind_int(&b, ":due", q->due_only ? q->due_before_ms : INT64_MAX);
	bind_int(&b, ":limit",
		 q->limit == 0 || q->limit > (size_t)INT64_MAX ? -1 : (int64_t)q->limit);
	while ((rc = stmt_step(&b)) == SQLITE_ROW) {
		if (grow((void **)&l.items, l.n, &cap, sizeof(*l.items), err) != 0 ||
		    read_job(st, b.s, &l.items[l.n], err) != 0)
			goto out;
		l.n++;
	}
	if (rc != SQLITE_DONE)
		db_error(st, rc, err, "list jobs");
out:
	stmt_done(b.s);
	if (rc == SQLITE_DONE)
		*ret = l;
	else
		ob_job_list_clear(&l);
	return rc == SQLITE_DONE ? 0 : -1;
}

int ob_store_next_due(struct ob_store *st, const enum ob_job_state *states, size_t n_states,
		      int64_t *ret_ms, struct ob_error *err)
{
	enum ob_job_state active[OB_JOB_STATE_COUNT];
	struct binder b = BINDER(st, S_NEXT_DUE);
	int rc, i;

	*ret_ms = OB_FSM_NEVER;
	if (states == NULL) {
		n_states = 0;
		for (i = 0; i < OB_JOB_STATE_COUNT; i++)
			if (ob_job_state_active((enum ob_job_state)i))
				active[n_states++] = (enum ob_job_state)i;
		states = active;
	}
	if (bind_states(&b, states, n_states, err) != 0) {
		stmt_done(b.s);
		return -1;
	}
	rc = stmt_step(&b);
	if (rc == SQLITE_ROW && sqlite3_column_type(b.s, 0) != SQLITE_NULL)
		*ret_ms = sqlite3_column_int64(b.s, 0);
	if (rc != SQLITE_ROW)
		db_error(st, rc, err, "next due");
	stmt_done(b.s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int ob_store_count_states(struct ob_store *st, long ret_counts[OB_JOB_STATE_COUNT],
			  struct ob_error *err)
{
	struct binder b = BINDER(st, S_COUNT);
	enum ob_job_state state;
	const char *name;
	int rc;

	memset(ret_counts, 0, OB_JOB_STATE_COUNT * sizeof(ret_counts[0]));
	while ((rc = stmt_step(&b)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(b.s, 0);
		if (ob_job_state_parse(name ? name : "", &state) != 0) {
			ob_error_set(err, OB_ERR_PARSE, "%s: job %s has unknown state '%s'", st->path,
				     (const char *)sqlite3_column_text(b.s, 2), name ? name : "");
			break;
		}
		ret_counts[state] = (long)sqlite3_column_int64(b.s, 1);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		db_error(st, rc, err, "count jobs");
	stmt_done(b.s);
	if (rc == SQLITE_DONE)
		return 0;
	memset(ret_counts, 0, OB_JOB_STATE_COUNT * sizeof(ret_counts[0]));
	return -1;
}

int ob_store_history(struct ob_store *st, const char *job_id, struct ob_history_list *ret,
		     struct ob_error *err)
{
	struct binder b = BINDER(st, S_HISTORY);
	struct ob_history_list l = { NULL, 0 };
	struct ob_history *h;
	size_t cap = 0;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (job_id == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "store: no job id");
	bind_text(&b, ":id", job_id);
	while ((rc = stmt_step(&b)) == SQLITE_ROW) {
		if (grow((void **)&l.items, l.n, &cap, sizeof(*l.items), err) != 0)
			goto out;
		h = &l.items[l.n++];
		h->at_ms = sqlite3_column_int64(b.s, 0);
		h->from = col_dup(b.s, 1);
		h->to = col_dup(b.s, 2);
		h->detail = col_dup(b.s, 3);
		if (h->from == NULL || h->to == NULL || h->detail == NULL) {
			ob_error_set(err, OB_ERR_NOMEM, "store: out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		db_error(st, rc, err, "read history");
out:
	stmt_done(b.s);
	if (rc == SQLITE_DONE)
		*ret = l;
	else
		ob_history_list_clear(&l);
	return rc == SQLITE_DONE ? 0 : -1;
}

int ob_store_each_brief(struct ob_store *st, enum ob_job_state state,
			int (*fn)(void *ctx, const struct ob_job_brief *brief), void *ctx,
			struct ob_error *err)
{
	static const char sql[] = "SELECT id, source_arn, db_id, snapshot_time FROM jobs"
				  " WHERE state = ? ORDER BY db_id, source_arn";
	sqlite3_stmt *s = NULL;
	struct ob_job_brief brief;
	int rc, stop = 0;

	if ((unsigned)state >= OB_JOB_STATE_COUNT)
		return ob_error_set(err, OB_ERR_INVALID, "job state %d out of range", (int)state);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, ob_job_state_name(state), -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		db_error(st, rc, err, "walk jobs");
		sqlite3_finalize(s);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		brief.id = (const char *)sqlite3_column_text(s, 0);
		brief.source_arn = (const char *)sqlite3_column_text(s, 1);
		brief.db_id = (const char *)sqlite3_column_text(s, 2);
		brief.snapshot_time = sqlite3_column_int64(s, 3);
		if (brief.id == NULL || brief.source_arn == NULL || brief.db_id == NULL) {
			/* NOT NULL columns: only an allocation fails here. */
			ob_error_set(err, OB_ERR_NOMEM, "%s: walk jobs: out of memory", st->path);
			stop = -1;
			break;
		}
		if ((stop = fn(ctx, &brief)) != 0)
			break;
	}
	if (stop == 0 && rc != SQLITE_DONE) {
		db_error(st, rc, err, "walk jobs");
		stop = -1;
	}
	sqlite3_finalize(s);
	return stop;
}

/* ---- alerts: the outbox of alert messages -------------------------------
 *
 * Rare writes (a condition starts or ends), so the statements are prepared
 * per call rather than cached with the job statements. */

/* Prepare sql; -1 + err (and *ret NULL) on failure. */
static int alert_prepare(struct ob_store *st, const char *sql, sqlite3_stmt **ret,
			 struct ob_error *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, ret, NULL);

	if (rc == SQLITE_OK)
		return 0;
	sqlite3_finalize(*ret);
	*ret = NULL;
	return db_error(st, rc, err, "alerts");
}

/* Step s (no rows expected), finalize it; *ret_changed (may be NULL) =
 * whether a row changed. 0, or -1 + err. */
static int alert_exec(struct ob_store *st, struct binder *b, bool *ret_changed,
		      struct ob_error *err)
{
	int rc = stmt_step(b);

	if (ret_changed != NULL)
		*ret_changed = rc == SQLITE_DONE && sqlite3_changes(st->db) > 0;
	if (rc != SQLITE_DONE)
		db_error(st, rc, err, "alerts");
	sqlite3_finalize(b->s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int ob_store_alert_raise(struct ob_store *st, const struct ob_alert_row *row, int64_t now_ms,
			 bool *ret_changed, struct ob_error *err)
{
	static const char sql[] =
		"INSERT INTO alerts (key, kind, subject, text, details, raised_at, terminal)"
		" VALUES (:key, :kind, :subject, :text, :details, :now, :terminal)"
		" ON CONFLICT (key) DO UPDATE SET cleared_at = NULL, clear_text = ''"
		" WHERE cleared_at IS NOT NULL AND terminal = 0";
	struct binder b = { st, NULL, SQLITE_OK };

	*ret_changed = false;
	if (row->key == NULL || row->kind == NULL || row->subject == NULL || row->text == NULL ||
	    row->details == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "alerts: incomplete row");
	if (alert_prepare(st, sql, &b.s, err) < 0)
		return -1;
	bind_text(&b, ":key", row->key);
	bind_text(&b, ":kind", row->kind);
	bind_text(&b, ":subject", row->subject);
	bind_text(&b, ":text", row->text);
	bind_text(&b, ":details", row->details);
	bind_int(&b, ":now", now_ms);
	bind_int(&b, ":terminal", row->terminal ? 1 : 0);
	return alert_exec(st, &b, ret_changed, err);
}

int ob_store_alert_clear(struct ob_store *st, const char *key, const char *text, int64_t now_ms,
			 bool *ret_changed, struct ob_error *err)
{
	static const char sql[] = "UPDATE alerts SET cleared_at = :now, clear_text = :text"
				  " WHERE key = :key AND cleared_at IS NULL AND terminal = 0";
	struct binder b = { st, NULL, SQLITE_OK };

	*ret_changed = false;
	if (alert_prepare(st, sql, &b.s, err) < 0)
		return -1;
	bind_int(&b, ":now", now_ms);
	bind_text(&b, ":text", OPT(text));
	bind_text(&b, ":key", OPT(key));
	return alert_exec(st, &b, ret_changed, err);
}

int ob_store_alert_each_active(struct ob_store *st, int (*fn)(void *ctx, const char *key),
			       void *ctx, struct ob_error *err)
{
	static const char sql[] = "SELECT key FROM alerts WHERE cleared_at IS NULL AND terminal = 0";
	sqlite3_stmt *s = NULL;
	const char *key;
	int rc, stop = 0;

	if (alert_prepare(st, sql, &s, err) < 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		key = (const char *)sqlite3_column_text(s, 0);
		if (key == NULL) {
			ob_error_set(err, OB_ERR_NOMEM, "%s: alerts: out of memory", st->path);
			stop = -1;
			break;
		}
		if ((stop = fn(ctx, key)) != 0)
			break;
	}
	if (stop == 0 && rc != SQLITE_DONE) {
		db_error(st, rc, err, "alerts");
		stop = -1;
	}
	sqlite3_finalize(s);
	return stop;
}

int ob_store_alert_pending(struct ob_store *st, size_t limit, struct ob_alert_list *ret,
			   struct ob_error *err)
{
	static const char sql[] =
		"SELECT key, kind, subject, text, details, clear_text, raised_at,"
		" COALESCE(cleared_at, 0), raised_sent, terminal FROM alerts"
		" WHERE raised_sent = 0 OR cleared_at IS NOT NULL"
		" ORDER BY raised_at, key LIMIT :limit";
	struct binder b = { st, NULL, SQLITE_OK };
	struct ob_alert_list l = { NULL, 0 };
	struct ob_alert_row *r;
	size_t cap = 0;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (alert_prepare(st, sql, &b.s, err) < 0)
		return -1;
	bind_int(&b, ":limit", limit > INT32_MAX ? INT32_MAX : (int64_t)limit);
	while ((rc = stmt_step(&b)) == SQLITE_ROW) {
		if (grow((void **)&l.items, l.n, &cap, sizeof(*l.items), err) != 0)
			goto out;
		r = &l.items[l.n++];
		memset(r, 0, sizeof(*r));
		r->key = col_dup(b.s, 0);
		r->kind = col_dup(b.s, 1);
		r->subject = col_dup(b.s, 2);
		r->text = col_dup(b.s, 3);
		r->details = col_dup(b.s, 4);
		r->clear_text = col_dup(b.s, 5);
		r->raised_at = sqlite3_column_int64(b.s, 6);
		r->cleared_at = sqlite3_column_int64(b.s, 7);
		r->raised_sent = sqlite3_column_int64(b.s, 8) != 0;
		r->terminal = sqlite3_column_int64(b.s, 9) != 0;
		if (r->key == NULL || r->kind == NULL || r->subject == NULL || r->text == NULL ||
		    r->details == NULL || r->clear_text == NULL) {
			ob_error_set(err, OB_ERR_NOMEM, "store: out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		db_error(st, rc, err, "alerts");
out:
	sqlite3_finalize(b.s);
	if (rc == SQLITE_DONE)
		*ret = l;
	else
		ob_alert_list_clear(&l);
	return rc == SQLITE_DONE ? 0 : -1;
}

int ob_store_alert_raise_sent(struct ob_store *st, const char *key, struct ob_error *err)
{
	static const char sql[] = "UPDATE alerts SET raised_sent = 1 WHERE key = :key";
	struct binder b = { st, NULL, SQLITE_OK };

	if (alert_prepare(st, sql, &b.s, err) < 0)
		return -1;
	bind_text(&b, ":key", OPT(key));
	return alert_exec(st, &b, NULL, err);
}

int ob_store_alert_clear_sent(struct ob_store *st, const char *key, int64_t cleared_at,
			      struct ob_error *err)
{
	static const char sql[] = "DELETE FROM alerts WHERE key = :key AND cleared_at = :at"
				  " AND raised_sent = 1";
	struct binder b = { st, NULL, SQLITE_OK };

	if (alert_prepare(st, sql, &b.s, err) < 0)
		return -1;
	bind_text(&b, ":key", OPT(key));
	bind_int(&b, ":at", cleared_at);
	return alert_exec(st, &b, NULL, err);
}

int ob_store_alert_prune(struct ob_store *st, int64_t before_ms, struct ob_error *err)
{
	static const char sql[] = "DELETE FROM alerts WHERE terminal = 1 AND raised_sent = 1"
				  " AND raised_at < :before";
	struct binder b = { st, NULL, SQLITE_OK };

	if (alert_prepare(st, sql, &b.s, err) < 0)
		return -1;
	bind_int(&b, ":before", before_ms);
	return alert_exec(st, &b, NULL, err);
}

void ob_alert_row_clear(struct ob_alert_row *row)
{
	if (row == NULL)
		return;
	free(row->key);
	free(row->kind);
	free(row->subject);
	free(row->text);
	free(row->details);
	free(row->clear_text);
	memset(row, 0, sizeof(*row));
}

void ob_alert_list_clear(struct ob_alert_list *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++)
		ob_alert_row_clear(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* ---- S3 export sub-state (schema 2) ------------------------------------------
 *
 * One row per source job that gets an S3 export, in `exports`. These
 * statements are prepared on use (sqlite3_prepare_v2 per call): the export
 * poll runs once per tick, not per job, and the cached-statement table
 * above stays the jobs' own.
 */

static const char *const export_state_names[OB_EXPORT_STATE_COUNT] = {
	[OB_EXPORT_PENDING] = "pending",
	[OB_EXPORT_RUNNING] = "running",
	[OB_EXPORT_COMPLETE] = "complete",
	[OB_EXPORT_FAILED] = "failed",
	[OB_EXPORT_CANCELED] = "canceled",
};

const char *ob_export_state_name(enum ob_export_state s)
{
	return (unsigned)s < OB_EXPORT_STATE_COUNT ? export_state_names[s] : "?";
}

int ob_export_state_parse(const char *name, enum ob_export_state *ret)
{
	int i;

	for (i = 0; name != NULL && i < OB_EXPORT_STATE_COUNT; i++) {
		if (strcmp(name, export_state_names[i]) == 0) {
			*ret = (enum ob_export_state)i;
			return 0;
		}
	}
	return -1;
}

void ob_export_clear(struct ob_export *e)
{
	if (e == NULL)
		return;
	free(e->job_id);
	free(e->task_id);
	free(e->source_arn);
	free(e->error_code);
	free(e->error_message);
	memset(e, 0, sizeof(*e));
}

void ob_export_list_clear(struct ob_export_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		ob_export_clear(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

#define EXPORT_COLS "job_id, task_id, source_arn, state, attempts, next_at, created_at," \
		    " updated_at, percent, error_code, error_message"

/* A one-off statement, or -1 + err. */
static int prep(struct ob_store *st, const char *sql, sqlite3_stmt **ret, struct ob_error *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, ret, NULL);

	return rc == SQLITE_OK ? 0 : db_error(st, rc, err, "prepare export statement");
}

/* The current EXPORT_COLS row into *ret. */
static int read_export(struct ob_store *st, sqlite3_stmt *s, struct ob_export *ret,
		       struct ob_error *err)
{
	struct ob_export e = { 0 };
	const char *state = (const char *)sqlite3_column_text(s, 3);
	sqlite3_int64 attempts = sqlite3_column_int64(s, 4);

	e.job_id = col_dup(s, 0);
	e.task_id = col_dup(s, 1);
	e.source_arn = col_dup(s, 2);
	e.error_code = col_dup(s, 9);
	e.error_message = col_dup(s, 10);
	if (!e.job_id || !e.task_id || !e.source_arn || !e.error_code || !e.error_message) {
		ob_export_clear(&e);
		return ob_error_set(err, OB_ERR_NOMEM, "store: out of memory");
	}
	if (ob_export_state_parse(state, &e.state) != 0 || attempts < 0 || attempts > UINT_MAX) {
		ob_error_set(err, OB_ERR_PARSE, "%s: export of job %s has unknown state '%s' or a "
			     "counter out of range", st->path, e.job_id, OPT(state));
		ob_export_clear(&e);
		return -1;
	}
	e.attempts = (unsigned)attempts;
	e.next_at_ms = sqlite3_column_int64(s, 5);
	e.created_ms = sqlite3_column_int64(s, 6);
	e.updated_ms = sqlite3_column_int64(s, 7);
	e.percent = (int)sqlite3_column_int64(s, 8);
	*ret = e;
	return 0;
}

int ob_store_export_insert(struct ob_store *st, const struct ob_export *e, int64_t now_ms,
			   bool *ret_created, struct ob_error *err)
{
	static const char sql[] = "INSERT INTO exports (" EXPORT_COLS ") VALUES (?1, ?2, ?3, ?4,"
				  " 0, ?5, ?6, ?6, 0, '', '') ON CONFLICT (job_id) DO NOTHING";
	sqlite3_stmt *s = NULL;
	const char *state;
	int rc;

	if (ret_created != NULL)
		*ret_created = false;
	if (e == NULL || !e->job_id || !e->task_id || !e->source_arn ||
	    (state = ob_export_state_name(e->state))[0] == '?')
		return ob_error_set(err, OB_ERR_INVALID, "store: an export needs job, task, source "
				    "ARN and a valid state");
	if (prep(st, sql, &s, err) != 0)
		return -1;
	if ((rc = sqlite3_bind_text(s, 1, e->job_id, -1, SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(s, 2, e->task_id, -1, SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(s, 3, e->source_arn, -1, SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(s, 4, state, -1, SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(s, 5, e->next_at_ms)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(s, 6, now_ms)) == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		db_error(st, rc, err, "insert export");
		sqlite3_finalize(s);
		return ob_error_prefix(err, "job %s", e->job_id);
	}
	if (ret_created != NULL)
		*ret_created = sqlite3_changes(st->db) > 0;
	sqlite3_finalize(s);
	return 0;
}

int ob_store_export_get(struct ob_store *st, const char *job_id, struct ob_export *ret,
			struct ob_error *err)
{
	static const char sql[] = "SELECT " EXPORT_COLS " FROM exports WHERE job_id = ?1";
	sqlite3_stmt *s = NULL;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (job_id == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "store: no job id");
	if (prep(st, sql, &s, err) != 0)
		return -1;
	rc = sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = read_export(st, s, ret, err);
	else if (rc == SQLITE_DONE)
		rc = ob_error_set(err, OB_ERR_NOTFOUND, "%s: job %s has no export", st->path, job_id);
	else
		rc = db_error(st, rc, err, "read export");
	sqlite3_finalize(s);
	return rc;
}

int ob_store_exports_list(struct ob_store *st, enum ob_export_state state, int64_t due_before_ms,
			  size_t limit, struct ob_export_list *ret, struct ob_error *err)
{
	static const char sql[] = "SELECT " EXPORT_COLS " FROM exports WHERE state = ?1 AND"
				  " next_at <= ?2 ORDER BY next_at, job_id LIMIT ?3";
	struct ob_export_list l = { NULL, 0 };
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if ((unsigned)state >= OB_EXPORT_STATE_COUNT)
		return ob_error_set(err, OB_ERR_INVALID, "store: export state %d out of range",
				    (int)state);
	if (prep(st, sql, &s, err) != 0)
		return -1;
	if ((rc = sqlite3_bind_text(s, 1, ob_export_state_name(state), -1, SQLITE_STATIC)) ==
		    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(s, 2, due_before_ms)) == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, limit == 0 || limit > (size_t)INT64_MAX
						     ? -1 : (int64_t)limit);
	if (rc != SQLITE_OK) {
		db_error(st, rc, err, "list exports");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&l.items, l.n, &cap, sizeof(*l.items), err) != 0 ||
		    read_export(st, s, &l.items[l.n], err) != 0)
			goto out;
		l.n++;
	}
	if (rc != SQLITE_DONE)
		db_error(st, rc, err, "list exports");
out:
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		*ret = l;
	else
		ob_export_list_clear(&l);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* now_ms < 0: updated_at is kept (ob_store_export_note()). */
static int export_update(struct ob_store *st, struct ob_export *e, enum ob_export_state from,
			 int64_t now_ms, struct ob_error *err)
{
	static const char sql[] = "UPDATE exports SET state = ?1, attempts = ?2, next_at = ?3,"
				  " percent = ?4, error_code = ?5, error_message = ?6,"
				  " updated_at = CASE WHEN ?7 < 0 THEN updated_at ELSE ?7 END"
				  " WHERE job_id = ?8 AND state = ?9";
	sqlite3_stmt *s = NULL;
	int rc, changed;

	if (e == NULL || e->job_id == NULL || (unsigned)e->state >= OB_EXPORT_STATE_COUNT ||
	    (unsigned)from >= OB_EXPORT_STATE_COUNT || e->percent < 0 || e->percent > 100)
		return ob_error_set(err, OB_ERR_INVALID, "store: bad export update");
	if (prep(st, sql, &s, err) != 0)
		return -1;
	if ((rc = sqlite3_bind_text(s, 1, ob_export_state_name(e->state), -1, SQLITE_STATIC)) ==
		    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(s, 2, e->attempts)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(s, 3, e->next_at_ms)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(s, 4, e->percent)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(s, 5, OPT(e->error_code), -1, SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(s, 6, OPT(e->error_message), -1, SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(s, 7, now_ms)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(s, 8, e->job_id, -1, SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(s, 9, ob_export_state_name(from), -1, SQLITE_STATIC)) ==
		    SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		db_error(st, rc, err, "update export");
		sqlite3_finalize(s);
		return -1;
	}
	changed = sqlite3_changes(st->db);
	sqlite3_finalize(s);
	if (changed == 0) {
		struct ob_export now;

		if (ob_store_export_get(st, e->job_id, &now, err) != 0)
			return -1;
		ob_error_set(err, OB_ERR_CONFLICT, "%s: export of job %s is '%s' now, not '%s'",
			     st->path, e->job_id, ob_export_state_name(now.state),
			     ob_export_state_name(from));
		ob_export_clear(&now);
		return -1;
	}
	if (now_ms >= 0)
		e->updated_ms = now_ms;
	return 0;
}

int ob_store_export_update(struct ob_store *st, struct ob_export *e, enum ob_export_state from,
			   int64_t now_ms, struct ob_error *err)
{
	if (now_ms < 0)
		return ob_error_set(err, OB_ERR_INVALID, "store: bad export update time");
	return export_update(st, e, from, now_ms, err);
}

int ob_store_export_note(struct ob_store *st, struct ob_export *e, struct ob_error *err)
{
	if (e == NULL)
		return ob_error_set(err, OB_ERR_INVALID, "store: bad export update");
	return export_update(st, e, e->state, -1, err);
}

int ob_store_export_counts(struct ob_store *st, long ret_counts[OB_EXPORT_STATE_COUNT],
			   struct ob_error *err)
{
	static const char sql[] = "SELECT state, COUNT(*) FROM exports GROUP BY state";
	enum ob_export_state state;
	sqlite3_stmt *s = NULL;
	const char *name;
	int rc;

	memset(ret_counts, 0, OB_EXPORT_STATE_COUNT * sizeof(ret_counts[0]));
	if (prep(st, sql, &s, err) != 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(s, 0);
		if (ob_export_state_parse(name, &state) != 0) {
			ob_error_set(err, OB_ERR_PARSE, "%s: an export has unknown state '%s'",
				     st->path, OPT(name));
			break;
		}
		ret_counts[state] = (long)sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		db_error(st, rc, err, "count exports");
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return 0;
	memset(ret_counts, 0, OB_EXPORT_STATE_COUNT * sizeof(ret_counts[0]));
	return -1;
}

int ob_store_export_next_due(struct ob_store *st, enum ob_export_state state, int64_t *ret_ms,
			     struct ob_error *err)
{
	static const char sql[] = "SELECT MIN(next_at) FROM exports WHERE state = ?1";
	sqlite3_stmt *s = NULL;
	int rc;

	*ret_ms = OB_FSM_NEVER;
	if ((unsigned)state >= OB_EXPORT_STATE_COUNT)
		return ob_error_set(err, OB_ERR_INVALID, "store: export state out of range");
	if (prep(st, sql, &s, err) != 0)
		return -1;
	rc = sqlite3_bind_text(s, 1, ob_export_state_name(state), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		*ret_ms = sqlite3_column_int64(s, 0);
	if (rc != SQLITE_ROW)
		db_error(st, rc, err, "next export due");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The rows of a one-off SELECT of EXPORT_COLS with ?1 bound to v1 (when
 * has1). */
static int exports_query(struct ob_store *st, const char *sql, bool has1, int64_t v1,
			 struct ob_export_list *ret, struct ob_error *err)
{
	struct ob_export_list l = { NULL, 0 };
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc = SQLITE_OK;

	memset(ret, 0, sizeof(*ret));
	if (prep(st, sql, &s, err) != 0)
		return -1;
	if (has1 && (rc = sqlite3_bind_int64(s, 1, v1)) != SQLITE_OK) {
		db_error(st, rc, err, "list exports");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&l.items, l.n, &cap, sizeof(*l.items), err) != 0 ||
		    read_export(st, s, &l.items[l.n], err) != 0)
			goto out;
		l.n++;
	}
	if (rc != SQLITE_DONE)
		db_error(st, rc, err, "list exports");
out:
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		*ret = l;
	else
		ob_export_list_clear(&l);
	return rc == SQLITE_DONE ? 0 : -1;
}

int ob_store_exports_unadopted(struct ob_store *st, size_t limit, struct ob_export_list *ret,
			       struct ob_error *err)
{
	/* The columns of EXPORT_COLS, from the job: the row it would get. */
	static const char sql[] =
		"SELECT jobs.id, 'x', jobs.copy_arn, 'pending', 0, 0, jobs.created_at,"
		" jobs.created_at, 0, '', '' FROM jobs LEFT JOIN exports ON exports.job_id = jobs.id"
		" WHERE jobs.state = 'copied' AND exports.job_id IS NULL"
		" ORDER BY jobs.created_at, jobs.id LIMIT ?1";
	size_t i;

	if (exports_query(st, sql, true, limit == 0 || limit > (size_t)INT64_MAX ? -1
										: (int64_t)limit,
			  ret, err) < 0)
		return -1;
	for (i = 0; i < ret->n; i++)
		ret->items[i].task_id[0] = '\0';
	return 0;
}

int ob_store_exports_ended(struct ob_store *st, int64_t since_ms, struct ob_export_list *ret,
			   struct ob_error *err)
{
	static const char sql[] =
		"SELECT " EXPORT_COLS " FROM exports WHERE (state = 'failed' OR (state = 'canceled'"
		" AND error_code <> 'ExportDisabled')) AND updated_at >= ?1"
		" ORDER BY updated_at, job_id";

	return exports_query(st, sql, true, since_ms, ret, err);
}
