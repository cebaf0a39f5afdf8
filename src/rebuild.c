/*
 * rebuild.c - make a new job database from the copies in this account and
 * their provenance tags (ob/rebuild.h), for offsite-backupctl rebuild.
 *
 * The pure half (ob_rebuild_state, ob_rebuild_job) decides what a copy is
 * worth: a tag is believed only when it agrees with the names the daemon
 * derives from the source ARN (ob/ident.h), since a copy someone tagged by
 * hand, or a tag cut short, must not become a job that shares or deletes
 * the wrong snapshot. The other half lists the copies (one paginated
 * Describe per kind: RDS returns the tags with them) and writes the jobs
 * through the store API into a temporary file that is linked into place
 * only when complete and never over an existing database.
 */
#include "ob/rebuild.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ob/clock.h"
#include "ob/ident.h"
#include "ob/jobs.h"

/* Every tag of ours starts so (ob/ident.h). */
#define TAG_PREFIX "offsite-backup:"

#define ORIGIN "rebuild"

int ob_rebuild_state(enum ob_role role, const char *status, enum ob_job_state *ret)
{
	bool vault = role == OB_ROLE_TARGET;

	if (status == NULL)
		return -1;
	if (strcmp(status, "creating") == 0)
		*ret = vault ? OB_JOB_IMPORTING : OB_JOB_COPYING;
	else if (strcmp(status, "available") == 0)
		*ret = vault ? OB_JOB_IMPORTED : OB_JOB_COPIED;
	else
		return -1;
	return 0;
}

/* The tags the job keeps for its copy (struct ob_job source_tags): the
 * source's own tags on the source (the copy carries them), our provenance
 * tags on the vault; the job tag never (the daemon adds it). */
static char *kept_tags(enum ob_role role, const struct ob_rds_snapshot *copy,
		       struct ob_error *err)
{
	struct ob_rds_tag_ref refs[OB_JOBS_TAGS_MAX];
	size_t i, n = 0;

	for (i = 0; i < copy->n_tags && n < OB_JOBS_TAGS_MAX; i++) {
		const struct ob_rds_tag *t = &copy->tags[i];
		bool ours = strncmp(t->key, TAG_PREFIX, strlen(TAG_PREFIX)) == 0;

		if (strcmp(t->key, OB_TAG_JOB) == 0 || strncmp(t->key, "aws:", 4) == 0)
			continue;
		if (ours == (role == OB_ROLE_TARGET))
			refs[n++] = (struct ob_rds_tag_ref){ t->key, t->value };
	}
	return ob_jobs_tags_json(refs, n, err);
}

static int skip(struct ob_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int skip(struct ob_error *err, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(err->message)];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ob_error_set(err, OB_ERR_INVALID, "%s", msg);
}

/* The snapshot time a job keeps: the vault's tag (the time the
 * announcement gave), else what RDS says survived the copy. */
/* Retention and the RPO watch group by the database and order by the time
 * RDS reports, never by claims (target.c); the vault's tags only mirror
 * them. A vault copy's time: RDS's OriginalSnapshotCreateTime (instance
 * snapshots keep it through copies). Cluster snapshots have none; the
 * vault went by the export copy's own time, which only the tag still
 * holds: it is taken when it lies within the day before the vault copy
 * was made, never after it. Returns 0 and *ret_s, or -1 with the reason
 * the copy is skipped in why. */
static int vault_time(const struct ob_rds_snapshot *copy, const char *tag, int64_t *ret_s,
		      char *why, size_t size)
{
	int64_t t;

	if (tag == NULL) {
		*ret_s = copy->original_create_time != 0 ? copy->original_create_time
							 : copy->create_time;
		return 0;
	}
	if (ob_clock_parse_iso8601(tag, &t) < 0) {
		snprintf(why, size, "%s tag %.40s is not a time", OB_TAG_SOURCE_TIME, tag);
		return -1;
	}
	if (copy->original_create_time != 0) {
		if (llabs(t - copy->original_create_time) > OB_CLAIM_SKEW_S) {
			snprintf(why, size, "%s tag %.40s disagrees with the time RDS reports",
				 OB_TAG_SOURCE_TIME, tag);
			return -1;
		}
		*ret_s = copy->original_create_time;
		return 0;
	}
	if (t > copy->create_time + OB_CLAIM_SKEW_S || t < copy->create_time - 86400) {
		snprintf(why, size, "%s tag %.40s is not within the day before the copy was made",
			 OB_TAG_SOURCE_TIME, tag);
		return -1;
	}
	*ret_s = t;
	return 0;
}

static char *dupstr(const char *s, bool *oom)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		*oom = true;
	return d;
}

int ob_rebuild_job(const struct ob_rebuild_scope *sc, const struct ob_rds_snapshot *copy,
		   int64_t now_ms, struct ob_job *ret, struct ob_error *err)
{
	const char *job_tag = ob_rds_snapshot_tag(copy, OB_TAG_JOB);
	const char *arn = ob_rds_snapshot_tag(copy, OB_TAG_SOURCE_ARN);
	const char *acct = ob_rds_snapshot_tag(copy, OB_TAG_SOURCE_ACCOUNT);
	const char *db_tag = ob_rds_snapshot_tag(copy, OB_TAG_DB);
	bool vault = sc->role == OB_ROLE_TARGET, oom = false;
	int64_t when = 0;
	char why[200];
	char id[OB_JOB_ID_SIZE], cid[OB_RDS_ID_MAX + 1];
	struct ob_snapshot_ref ref;
	enum ob_job_state state;
	struct ob_error e;
	char *tags;

	memset(ret, 0, sizeof(*ret));
	if (!ob_ident_has_provenance(copy->tags, copy->n_tags) && acct == NULL)
		return 1;
	if (job_tag == NULL)
		return skip(err, "no %s tag", OB_TAG_JOB);
	if (arn == NULL)
		return skip(err, "no %s tag: which snapshot it copies is unknown", OB_TAG_SOURCE_ARN);
	if (ob_ident_parse_snapshot_arn(arn, &ref, &e) < 0)
		return skip(err, "%s tag: %s", OB_TAG_SOURCE_ARN, e.message);
	if (ref.kind != copy->kind)
		return skip(err, "%s tag names a %s, the copy is a %s", OB_TAG_SOURCE_ARN,
			    ob_snap_kind_name(ref.kind), ob_snap_kind_name(copy->kind));
	ob_ident_job_id(arn, id);
	if (strcmp(job_tag, id) != 0)
		return skip(err, "%s tag %.40s is not the job of its %s (%s)", OB_TAG_JOB, job_tag,
			    OB_TAG_SOURCE_ARN, id);
	if (ob_ident_copy_id(arn, ref.name, cid, sizeof(cid), &e) < 0)
		return skip(err, "%s tag: %s", OB_TAG_SOURCE_ARN, e.message);
	if (strcasecmp(copy->id, cid) != 0)
		return skip(err, "named %.100s, not %.100s as its %s says", copy->id, cid,
			    OB_TAG_SOURCE_ARN);
	if (acct != NULL && strcmp(acct, ref.account) != 0)
		return skip(err, "%s tag %.20s disagrees with its %s (account %s)",
			    OB_TAG_SOURCE_ACCOUNT, acct, OB_TAG_SOURCE_ARN, ref.account);
	if (strcmp(ref.region, sc->region) != 0)
		return skip(err, "its source snapshot is in region %s, not %s", ref.region,
			    sc->region);
	if (!vault && strcmp(ref.account, sc->account) != 0)
		return skip(err, "its source snapshot is in account %s, not this one (%s)",
			    ref.account, sc->account);
	if (vault && acct == NULL)
		return skip(err, "no %s tag", OB_TAG_SOURCE_ACCOUNT);
	if (vault && (strcmp(ref.account, sc->account) == 0 ||
		      !ob_config_account_listed(sc->allowed_sources, ref.account)))
		return skip(err, "source account %s is not in allowed_source_accounts",
			    ref.account);
	if (ob_rebuild_state(sc->role, copy->status, &state) < 0)
		return skip(err, "status %.40s: no job resumes from it", copy->status);
	if (copy->db_id == NULL || copy->db_id[0] == '\0')
		return skip(err, "RDS reports no database for it");
	if (vault && db_tag != NULL && strcmp(db_tag, copy->db_id) != 0)
		return skip(err, "%s tag %.64s disagrees with RDS's database %.64s", OB_TAG_DB, db_tag,
			    copy->db_id);
	if (vault && vault_time(copy, ob_rds_snapshot_tag(copy, OB_TAG_SOURCE_TIME), &when, why,
				sizeof(why)) < 0)
		return skip(err, "%s", why);
	if (!vault)
		when = copy->original_create_time != 0 ? copy->original_create_time
						       : copy->create_time;

	tags = kept_tags(sc->role, copy, err);
	if (tags == NULL)
		return -1;
	ret->source_tags = tags;
	ret->id = dupstr(id, &oom);
	ret->role = dupstr(ob_role_name(sc->role), &oom);
	ret->kind = copy->kind;
	ret->source_arn = dupstr(arn, &oom);
	ret->db_id = dupstr(copy->db_id, &oom);
	ret->copy_id = dupstr(copy->id, &oom);
	ret->copy_arn = dupstr(copy->arn, &oom);
	ret->state = state;
	ret->failed_from = state;
	ret->next_at_ms = now_ms;
	ret->created_ms = now_ms;
	ret->updated_ms = now_ms;
	ret->engine = dupstr(copy->engine, &oom);
	ret->engine_version = dupstr(copy->engine_version, &oom);
	ret->allocated_gib = copy->allocated_storage;
	ret->snapshot_time = when;
	ret->origin = dupstr(ORIGIN, &oom);
	ret->error_code = dupstr("", &oom);
	ret->error_message = dupstr("", &oom);
	if (oom) {
		ob_job_clear(ret);
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* ---- the report ---------------------------------------------------------- */

void ob_rebuild_report_clear(struct ob_rebuild_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->items[i].copy_id);
		free(r->items[i].job_id);
		free(r->items[i].skipped);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}

/* Record copy_id: rebuilt as job (skipped NULL) or skipped. */
static int report_add(struct ob_rebuild_report *r, size_t *cap, const char *copy_id,
		      const struct ob_job *job, const char *skipped, struct ob_error *err)
{
	struct ob_rebuild_item *it;

	if (r->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(r->items, ncap * sizeof(*r->items));

		if (p == NULL)
			return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		r->items = p;
		*cap = ncap;
	}
	it = &r->items[r->n];
	memset(it, 0, sizeof(*it));
	it->copy_id = strdup(copy_id);
	it->job_id = strdup(job && job->id ? job->id : "");
	it->skipped = skipped ? strdup(skipped) : NULL;
	if (it->copy_id == NULL || it->job_id == NULL || (skipped && it->skipped == NULL)) {
		free(it->copy_id);
		free(it->job_id);
		free(it->skipped);
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	}
	it->state = job ? job->state : OB_JOB_FAILED;
	r->n++;
	if (skipped != NULL) {
		r->skipped++;
	} else {
		r->rebuilt++;
		r->per_state[job->state]++;
	}
	return 0;
}

/* ---- the database file ---------------------------------------------------- */

/* OB_ERR_CONFLICT when path or one of SQLite's companions exists: a WAL
 * left behind would be replayed into the new file. */
static int refuse_existing(const char *path, struct ob_error *err)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[4096];
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= sizeof(p))
			return ob_error_set(err, OB_ERR_INVALID, "%.100s...: path too long", path);
		if (lstat(p, &sb) == 0)
			return ob_error_set(err, OB_ERR_CONFLICT,
					    "%s exists; rebuild never overwrites a database: stop the "
					    "daemon and move %s (with its -wal and -shm files) aside "
					    "first", p, path);
		if (errno != ENOENT)
			return ob_error_errno(err, OB_ERR_IO, errno, "%s", p);
	}
	return 0;
}

/* Remove the temporary database and its companions. */
static void remove_tmp(const char *tmp)
{
	char p[4200];

	unlink(tmp);
	snprintf(p, sizeof(p), "%s-wal", tmp);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", tmp);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", tmp);
	unlink(p);
}

/* Run as root, give the file its directory's owner: the daemon runs as its
 * own user and must be able to write what rebuild made. */
static int adopt_owner(const char *tmp, const char *path, struct ob_error *err)
{
	char dir[4096], *slash;
	struct stat sb;

	if (geteuid() != 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &sb) != 0)
		return ob_error_errno(err, OB_ERR_IO, errno, "%s", dir);
	if (chown(tmp, sb.st_uid, sb.st_gid) != 0)
		return ob_error_errno(err, OB_ERR_IO, errno, "%s: chown", tmp);
	return 0;
}

/* Make the directory entry of path durable. */
static void sync_dir(const char *path)
{
	char dir[4096], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* ---- the run -------------------------------------------------------------- */

/* Turn every copy in list into a job in st, recording each in r. */
static int add_jobs(const struct ob_rebuild_scope *sc, struct ob_store *st,
		    const struct ob_rds_snapshot_list *list, int64_t now_ms,
		    struct ob_rebuild_report *r, size_t *cap, struct ob_error *err)
{
	struct ob_job job;
	struct ob_error why;
	char detail[96];
	bool created;
	size_t i;
	int rc;

	for (i = 0; i < list->n; i++) {
		const struct ob_rds_snapshot *copy = &list->items[i];

		rc = ob_rebuild_job(sc, copy, now_ms, &job, &why);
		if (rc == 1) {
			r->not_ours++;
			continue;
		}
		if (rc < 0) {
			if (why.kind != OB_ERR_INVALID) {
				*err = why;
				return -1;
			}
			if (report_add(r, cap, copy->id, NULL, why.message, err) < 0)
				return -1;
			continue;
		}
		snprintf(detail, sizeof(detail), "rebuilt from %s %s by offsite-backupctl",
			 ob_snap_kind_name(copy->kind), copy->status);
		rc = ob_store_job_insert(st, &job, detail, now_ms, &created, err);
		if (rc == 0)
			rc = report_add(r, cap, copy->id, &job,
					created ? NULL : "a second copy of the same source snapshot",
					err);
		ob_job_clear(&job);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int ob_rebuild_run(const struct ob_rebuild_scope *sc, struct ob_aws *aws, const char *db_path,
		   int64_t now_ms, struct ob_rebuild_report *ret, struct ob_error *err)
{
	static const enum ob_snap_kind kinds[] = { OB_SNAP_INSTANCE, OB_SNAP_CLUSTER };
	struct ob_rds_snapshot_list lists[2] = { { NULL, 0 }, { NULL, 0 } };
	struct ob_rebuild_report r;
	struct ob_store *st = NULL;
	char tmp[4096];
	size_t cap = 0, k;
	int rc = -1, fd;

	memset(ret, 0, sizeof(*ret));
	memset(&r, 0, sizeof(r));
	tmp[0] = '\0';
	if (db_path == NULL || *db_path == '\0')
		return ob_error_set(err, OB_ERR_INVALID, "rebuild: no database path");
	if (refuse_existing(db_path, err) < 0)
		return -1;
	/* Everything AWS says first: an AWS error leaves no file behind. */
	for (k = 0; k < 2; k++) {
		struct ob_rds_describe q;

		memset(&q, 0, sizeof(q));
		q.kind = kinds[k];
		q.snapshot_type = "manual"; /* our copies; IncludeShared stays false */
		if (ob_rds_describe_snapshots(aws, &q, &lists[k], err) < 0)
			goto out;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.rebuild-XXXXXX", db_path) >= sizeof(tmp)) {
		tmp[0] = '\0';
		ob_error_set(err, OB_ERR_INVALID, "%.100s...: path too long", db_path);
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		ob_error_errno(err, OB_ERR_IO, errno, "%s: cannot create", tmp);
		tmp[0] = '\0';
		goto out;
	}
	close(fd);
	if (ob_store_open(tmp, false, &st, err) < 0)
		goto out;
	for (k = 0; k < 2; k++)
		if (add_jobs(sc, st, &lists[k], now_ms, &r, &cap, err) < 0)
			goto out;
	/* The last connection's close checkpoints the WAL into the file. */
	ob_store_close(st);
	st = NULL;
	if (adopt_owner(tmp, db_path, err) < 0)
		goto out;
	/* link(2) never replaces: a database that appeared meanwhile wins. */
	if (link(tmp, db_path) != 0) {
		if (errno == EEXIST)
			ob_error_set(err, OB_ERR_CONFLICT, "%s appeared while rebuilding; "
				     "nothing replaced", db_path);
		else
			ob_error_errno(err, OB_ERR_IO, errno, "%s: cannot create", db_path);
		goto out;
	}
	sync_dir(db_path);
	*ret = r;
	memset(&r, 0, sizeof(r));
	rc = 0;
out:
	ob_store_close(st);
	if (tmp[0] != '\0')
		remove_tmp(tmp);
	for (k = 0; k < 2; k++)
		ob_rds_snapshot_list_clear(&lists[k]);
	ob_rebuild_report_clear(&r);
	return rc;
}
