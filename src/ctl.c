/*
 * ctl.c - offsite-backupctl: status, list, show and retry over the job
 * database the daemon keeps (ob/store.h), and rebuild, which makes a new
 * one from AWS (the work is ob/rebuild.h's; here only its report).
 *
 * Reading commands open the database read-only. `retry` is the one
 * operator event the state machine knows (OB_EV_OPERATOR_RETRY): it goes
 * through ob_fsm_step() and is committed with the store's compare-and-set
 * like any step of the daemon, so it is safe while the daemon runs, and a
 * job that moved meanwhile is reported rather than overwritten.
 *
 * Much of what the database holds came from outside (an announcement, an
 * AWS error message), so human output passes through one sanitiser (valid
 * UTF-8, no control characters: nothing can move the cursor or fake a line)
 * and one table printer that keeps every line within 100 columns, cutting
 * long values in the middle with an ellipsis or wrapping the last column.
 * JSON output is built with jansson, invalid UTF-8 replaced by U+FFFD.
 * The configuration is read for three values (state_db, role, rpo) and
 * freed at once, so its secret, if any, is wiped before anything is read
 * from the database.
 *
 * Why ~1,700 lines: five commands, four of them in two output forms, plus
 * the terminal text helpers (sanitiser, middle cut, word wrap, table
 * printer). Those helpers are the part to lift into a module of their own
 * the day a second tool prints tables.
 */
#include "ob/ctl.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ob/buf.h"
#include "ob/config.h"
#include "ob/fsm.h"
#include "ob/ident.h"
#include "ob/rds.h"
#include "ob/rebuild.h"
#include "ob/session.h"
#include "ob/store.h"
#include "ob/target.h"
#include "ob/version.h"

#define PROG "offsite-backupctl"
#define DEFAULT_CONFIG "/etc/offsite-backup.conf"
#define WIDTH 100           /* no line of human output is wider */
#define KEY_W 19            /* the key column of "key  value" lines */
#define MAX_COLS 6          /* columns of the widest table */
#define FAILED_SHOWN 20     /* status lists at most this many failed jobs */
#define DB_KEY_SIZE 300     /* as the vault daemon groups databases (target.c) */
#define ELLIPSIS "\xe2\x80\xa6"
#define REPLACEMENT "\xef\xbf\xbd"

enum command { CMD_NONE, CMD_STATUS, CMD_LIST, CMD_SHOW, CMD_RETRY, CMD_REBUILD };

struct ctl {
	FILE *out, *errf;
	int64_t now_ms;
	enum command cmd;
	bool json;
	const char *config_path;        /* --config; NULL = default unless --db */
	const char *db_path;            /* --db PATH */
	const char *job_arg;            /* show/retry JOB */
	const char *db_filter;          /* list --db NAME */
	bool states[OB_JOB_STATE_COUNT]; /* list --state */
	bool have_states;
	bool have_rpo;
	int64_t rpo_ms;
	int role;                       /* enum ob_role, or -1 when unknown */
	char *state_db;                 /* the database in use (owned) */
	struct ob_store *store;
	bool oom;                       /* an allocation failed while printing */
};

static const char help_text[] =
	"NAME\n"
	"    offsite-backupctl - inspect and steer the offsite-backupd job database\n"
	"\n"
	"SYNOPSIS\n"
	"    offsite-backupctl [--config FILE] [--db PATH] [--rpo DURATION] [--json]\n"
	"                      COMMAND [ARGS]\n"
	"    offsite-backupctl --help | --version\n"
	"\n"
	"DESCRIPTION\n"
	"    Reads the SQLite state database the daemon keeps (state_db in its\n"
	"    configuration). status, list and show open it read-only; retry commits\n"
	"    one compare-and-set step, which is safe while the daemon runs. Times are\n"
	"    UTC. With --json the answer is one JSON document on stdout.\n"
	"\n"
	"COMMANDS\n"
	"    status\n"
	"        Jobs per state, the oldest unfinished job, when the next job is due,\n"
	"        the failed jobs and, on the vault, every database's last verified\n"
	"        copy (database = source account/DB identifier) and the databases\n"
	"        whose newest verified copy is older than the rpo.\n"
	"    list [--state S[,S...]] [--db NAME]\n"
	"        Jobs, oldest first. --state keeps jobs in the given states (may be\n"
	"        repeated); --db keeps one database's jobs: NAME is a DB identifier\n"
	"        or ACCOUNT/IDENTIFIER.\n"
	"    show JOB\n"
	"        One job, by id or by source snapshot ARN, with its full history.\n"
	"    retry JOB\n"
	"        Put a failed job back in the state it failed in, due at once; the\n"
	"        daemon picks it up at its next turn. Any other state is refused.\n"
	"    rebuild\n"
	"        Make a new state database from AWS after the old one was lost or\n"
	"        found corrupt: one job per copy in this account that carries\n"
	"        consistent provenance tags (source: creating -> copying, available\n"
	"        -> copied; vault: creating -> importing, available -> imported), so\n"
	"        the daemon finishes them with idempotent steps. Reads the whole\n"
	"        configuration and uses its credentials, as the daemon does. Never\n"
	"        overwrites: stop the daemon and move the old file (with its -wal\n"
	"        and -shm) aside first. Copies whose tags disagree are skipped and\n"
	"        listed.\n"
	"\n"
	"OPTIONS\n"
	"    --config FILE   the daemon's configuration, for state_db, role and rpo\n"
	"                    (default " DEFAULT_CONFIG ")\n"
	"    --db PATH       the state database; the configuration is then not read\n"
	"                    unless --config is given too. After `list`, --db NAME\n"
	"                    selects a database instead (see above).\n"
	"    --rpo DURATION  report databases whose newest verified copy is older than\n"
	"                    DURATION (30m, 26h, 2d); default: the vault's rpo\n"
	"    --json          one JSON document on stdout\n"
	"    -h, --help      this text\n"
	"    --version       the version\n"
	"\n"
	"STATES\n"
	"    source  pending copying copied shared notified expired failed\n"
	"    vault   announced importing imported verified expired failed rejected\n"
	"\n"
	"EXIT STATUS\n"
	"    0  done\n"
	"    1  runtime failure: the database, memory, output, or the job changed\n"
	"       while retry looked at it (look again)\n"
	"    2  usage or configuration error, unknown job or state name, missing\n"
	"       database, retry of a job that is not failed, rebuild over an\n"
	"       existing database\n"
	"    rebuild: 1 also for an AWS error (nothing is written then)\n"
	"\n"
	"EXAMPLES\n"
	"    offsite-backupctl status\n"
	"    offsite-backupctl list --state failed\n"
	"    offsite-backupctl --db /srv/ob/state.db show j64cdd26ad1fb05e2\n"
	"    offsite-backupctl retry j64cdd26ad1fb05e2\n"
	"    mv state.db state.db.corrupt; offsite-backupctl rebuild\n"
	"\n"
	"SEE ALSO\n"
	"    offsite-backupd(8), docs/ctl.md,\n"
	"    docs/reliability.md#recovering-the-state-database\n";

/* ---- text fit for a terminal -------------------------------------------- */

/* Decode the UTF-8 sequence at s: its length (1-4) and *ret_cp, or 0 when s
 * does not start a valid shortest-form sequence of a Unicode scalar. */
static size_t utf8_next(const unsigned char *s, uint32_t *ret_cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*ret_cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminator */
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*ret_cp = c;
	return n;
}

/* Characters that would let a string steer the terminal or the reading:
 * C0, DEL, C1, line/paragraph separators and bidirectional overrides. */
static bool unprintable(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* s as a new string in valid UTF-8: each invalid byte becomes '?' (terminal)
 * or U+FFFD (JSON), and for the terminal every unprintable character '?'.
 * NULL s is "". NULL only when out of memory. */
static char *clean(const char *s, bool terminal)
{
	struct ob_buf b = OB_BUF_INIT;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	uint32_t cp;
	size_t n;
	int rc = ob_buf_reserve(&b, strlen((const char *)p));

	while (rc == 0 && *p != '\0') {
		n = utf8_next(p, &cp);
		if (n == 0) {
			rc = ob_buf_puts(&b, terminal ? "?" : REPLACEMENT);
			p++;
		} else {
			rc = terminal && unprintable(cp) ? ob_buf_putc(&b, '?')
							 : ob_buf_append(&b, p, n);
			p += n;
		}
	}
	if (rc != 0) {
		ob_buf_clear(&b);
		return NULL;
	}
	return ob_buf_steal(&b);
}

/* Columns of a cleaned string: one per code point (wide CJK characters are
 * counted as one; the names this tool shows are ASCII in practice). */
static size_t ncols(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Byte offset of code point number n of cleaned string s (or of its end). */
static size_t cp_off(const char *s, size_t n)
{
	size_t i = 0;

	for (; s[i] != '\0' && n > 0; n--)
		for (i++; ((unsigned char)s[i] & 0xc0) == 0x80; i++)
			;
	return i;
}

static void spaces(struct ctl *c, struct ob_buf *b, size_t n)
{
	while (n-- > 0)
		c->oom |= ob_buf_putc(b, ' ') != 0;
}

/* Append cleaned s in w columns: cut in the middle with an ellipsis when
 * longer (the end of an ARN or a name is as telling as its start), padded
 * to w when pad, on the left when right. */
static void put_fit(struct ctl *c, struct ob_buf *b, const char *s, size_t w, bool pad,
		    bool right)
{
	size_t n = ncols(s), shown = n < w ? n : w, head, tail;

	if (pad && right)
		spaces(c, b, w - shown);
	if (n <= w) {
		c->oom |= ob_buf_puts(b, s) != 0;
	} else if (w > 0) {
		tail = (w - 1) / 2;
		head = w - 1 - tail;
		c->oom |= ob_buf_append(b, s, cp_off(s, head)) != 0 ||
			  ob_buf_puts(b, ELLIPSIS) != 0 ||
			  ob_buf_puts(b, s + cp_off(s, n - tail)) != 0;
	}
	if (pad && !right)
		spaces(c, b, w - shown);
}

/* The next line of at most w columns of cleaned text *s: *ret_len bytes to
 * print; *s moves past them and past the space broken at. Prefers breaking
 * at a space in the second half of the line over cutting a word. */
static void wrap_line(const char **s, size_t w, size_t *ret_len)
{
	const char *p = *s;
	size_t end, i, k, brk = 0;

	if (w == 0)
		w = 1;
	end = cp_off(p, w);
	if (p[end] == '\0') {
		*ret_len = end;
		*s = p + end;
		return;
	}
	for (i = 0, k = 0; i <= end; i++) {
		if (((unsigned char)p[i] & 0xc0) == 0x80)
			continue;
		if (p[i] == ' ' && k > 0 && k * 2 >= w)
			brk = i;
		k++;
	}
	*ret_len = brk > 0 ? brk : end;
	*s = p + (brk > 0 ? brk + 1 : end);
}

/* Write the line in b without trailing blanks, and empty b. */
static void emit(struct ctl *c, struct ob_buf *b)
{
	size_t n = b->len;

	while (n > 0 && b->data[n - 1] == ' ')
		n--;
	if (n > 0)
		fwrite(b->data, 1, n, c->out);
	fputc('\n', c->out);
	ob_buf_reset(b);
}

/* "key" in KEY_W columns, then value (raw; cleaned here) wrapped over the
 * rest of the line, continuation lines indented under it. */
static void kv(struct ctl *c, const char *key, const char *value)
{
	struct ob_buf b = OB_BUF_INIT;
	char *v = clean(value, true);
	const char *p, *line;
	size_t len;
	bool first = true;

	if (v == NULL) {
		c->oom = true;
		return;
	}
	p = v;
	do {
		line = p;
		wrap_line(&p, WIDTH - KEY_W, &len);
		put_fit(c, &b, first ? key : "", KEY_W, true, false);
		c->oom |= ob_buf_append(&b, line, len) != 0;
		emit(c, &b);
		first = false;
	} while (*p != '\0');
	ob_buf_clear(&b);
	free(v);
}

static void kvf(struct ctl *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kvf(struct ctl *c, const char *key, const char *fmt, ...)
{
	struct ob_buf b = OB_BUF_INIT;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || ob_buf_reserve(&b, (size_t)n + 1) != 0) {
		c->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	kv(c, key, b.data);
	ob_buf_clear(&b);
}

/* ---- tables -------------------------------------------------------------- */

struct tcol {
	const char *head;
	size_t min;  /* never narrower (headers and times stay whole) */
	bool right;  /* numbers */
};

/* Rows of cleaned cells. A column starts as wide as its widest cell (at
 * least min); while the line is wider than WIDTH, the widest column above
 * its minimum gives up one column. Cells are cut in the middle, except the
 * last column's when wrap: those continue on indented lines. */
struct table {
	const struct tcol *col;
	size_t ncol;
	bool wrap;
	char **cell; /* row-major, owned */
	size_t nrow, cap;
};

static void tbl_add(struct ctl *c, struct table *t, ...)
{
	char **grown;
	const char *s;
	va_list ap;
	size_t i;

	if (t->nrow == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		grown = realloc(t->cell, t->cap * t->ncol * sizeof(*grown));
		if (grown == NULL) {
			t->cap = t->nrow;
			c->oom = true;
			return;
		}
		t->cell = grown;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncol; i++) {
		s = va_arg(ap, const char *);
		t->cell[t->nrow * t->ncol + i] = clean(s, true);
		c->oom |= t->cell[t->nrow * t->ncol + i] == NULL;
	}
	va_end(ap);
	t->nrow++;
}

static void tbl_line(struct ctl *c, const struct table *t, const size_t *w, size_t indent,
		     char *const *cells)
{
	struct ob_buf b = OB_BUF_INIT;
	size_t i, last = t->ncol - 1, len;
	const char *p, *line;

	for (i = 0; i < last; i++) {
		put_fit(c, &b, cells[i] ? cells[i] : "", w[i], true, t->col[i].right);
		spaces(c, &b, 2);
	}
	p = cells[last] ? cells[last] : "";
	if (!t->wrap) {
		put_fit(c, &b, p, w[last], t->col[last].right, t->col[last].right);
		emit(c, &b);
	} else {
		do {
			line = p;
			wrap_line(&p, w[last], &len);
			c->oom |= ob_buf_append(&b, line, len) != 0;
			emit(c, &b);
			spaces(c, &b, indent);
		} while (*p != '\0');
	}
	ob_buf_clear(&b);
}

static void tbl_print(struct ctl *c, struct table *t)
{
	char *head[MAX_COLS];
	size_t w[MAX_COLS], total = 0, i, r, n, best;

	for (i = 0; i < t->ncol; i++) {
		head[i] = (char *)t->col[i].head;
		w[i] = ncols(head[i]) > t->col[i].min ? ncols(head[i]) : t->col[i].min;
		for (r = 0; r < t->nrow; r++) {
			n = t->cell[r * t->ncol + i] ? ncols(t->cell[r * t->ncol + i]) : 0;
			if (n > w[i])
				w[i] = n;
		}
		total += w[i] + (i > 0 ? 2 : 0);
	}
	while (total > WIDTH) {
		best = t->ncol;
		for (i = 0; i < t->ncol; i++)
			if (w[i] > t->col[i].min && (best == t->ncol || w[i] > w[best]))
				best = i;
		if (best == t->ncol)
			break;
		w[best]--;
		total--;
	}
	tbl_line(c, t, w, total - w[t->ncol - 1], head);
	for (r = 0; r < t->nrow; r++)
		tbl_line(c, t, w, total - w[t->ncol - 1], &t->cell[r * t->ncol]);
}

static void tbl_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrow * t->ncol; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->nrow = t->cap = 0;
}

/* ---- times, durations, names --------------------------------------------- */

/* Unix seconds as "YYYY-MM-DD HH:MM:SS" (iso: "YYYY-MM-DDTHH:MM:SSZ"), UTC.
 * NULL when the time has no four-digit year. */
static const char *fmt_time(int64_t unix_s, bool iso, char out[32])
{
	time_t tt = (time_t)unix_s;
	struct tm tm;

	if ((int64_t)tt != unix_s || gmtime_r(&tt, &tm) == NULL || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900)
		return NULL;
	if (strftime(out, 32, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return NULL;
	return out;
}

static int64_t ms_to_s(int64_t ms)
{
	return ms / 1000 - (ms % 1000 < 0); /* floor */
}

/* A human time of job fields: "-" for unset (snapshot time 0) or absurd. */
static const char *htime_s(int64_t unix_s, char out[32])
{
	const char *t = unix_s != 0 ? fmt_time(unix_s, false, out) : NULL;

	return t ? t : "-";
}

static const char *htime_ms(int64_t ms, char out[32])
{
	const char *t = fmt_time(ms_to_s(ms), false, out);

	return t ? t : "-";
}

/* An age: "42m 07s", "5h 02m", "3d 04h"; "in the future" when negative. */
static const char *fmt_age(int64_t s, char out[32])
{
	if (s < 0)
		snprintf(out, 32, "in the future");
	else if (s < 3600)
		snprintf(out, 32, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 2 * 86400)
		snprintf(out, 32, "%lldh %02lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else
		snprintf(out, 32, "%lldd %02lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	return out;
}

/* A duration in the configuration's syntax: "26h", "90m", "2d", "1500ms". */
static const char *fmt_duration(int64_t ms, char out[32])
{
	static const struct { int64_t ms; const char *unit; } units[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(out, 32, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
			return out;
		}
	snprintf(out, 32, "%lldms", (long long)ms);
	return out;
}

/* What a job's source ARN says, and the database the job belongs to:
 * "<source account>/<db id>", exactly as the vault groups copies for
 * retention and the RPO watch; "?/<db id>" when the ARN does not parse,
 * and "" when there is neither (a rejected announcement). */
struct jinfo {
	bool arn_ok;
	struct ob_snapshot_ref ref;
	char db[DB_KEY_SIZE];
};

static void job_info(const struct ob_job *j, struct jinfo *ret)
{
	ret->arn_ok = ob_ident_parse_snapshot_arn(j->source_arn, &ret->ref, NULL) == 0;
	if (!ret->arn_ok && j->db_id[0] == '\0')
		ret->db[0] = '\0';
	else
		snprintf(ret->db, sizeof(ret->db), "%s/%s", ret->arn_ok ? ret->ref.account : "?",
			 j->db_id);
}

static const char *or_dash(const char *s)
{
	return s[0] ? s : "-";
}

/* The snapshot a job is about, short: the name from the ARN, else the ARN. */
static const char *snap_name(const struct ob_job *j, const struct jinfo *ji)
{
	return ji->arn_ok ? ji->ref.name : j->source_arn;
}

static bool job_in_db(const struct ob_job *j, const char *name)
{
	struct jinfo ji;

	if (strcmp(j->db_id, name) == 0)
		return true;
	job_info(j, &ji);
	return strcmp(ji.db, name) == 0;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *jstr(const char *s)
{
	char *t = clean(s, false);
	json_t *v = t ? json_string(t) : NULL;

	free(t);
	return v;
}

/* An ISO 8601 UTC time of unix seconds, or null (unset or absurd). */
static json_t *jtime_s(int64_t unix_s)
{
	char buf[32];
	const char *t = unix_s != 0 ? fmt_time(unix_s, true, buf) : NULL;

	return t ? json_string(t) : json_null();
}

/* Of milliseconds; OB_FSM_NEVER is null. */
static json_t *jtime_ms(int64_t ms)
{
	char buf[32];
	const char *t = ms != OB_FSM_NEVER ? fmt_time(ms_to_s(ms), true, buf) : NULL;

	return t ? json_string(t) : json_null();
}

/* Set key to v (stolen), remembering a failure (v NULL: out of memory). */
static void jset(struct ctl *c, json_t *o, const char *key, json_t *v)
{
	if (o == NULL || json_object_set_new(o, key, v) != 0)
		c->oom = true;
}

static void jpush(struct ctl *c, json_t *a, json_t *v)
{
	if (a == NULL || json_array_append_new(a, v) != 0)
		c->oom = true;
}

/* The value of tag key in a tag array, or NULL. */
static const char *tag_value(json_t *tags, const char *key)
{
	size_t i;
	json_t *v;

	json_array_foreach(tags, i, v) {
		json_t *k = json_object_get(v, "Key");

		if (json_is_string(k) && strcmp(json_string_value(k), key) == 0)
			return json_string_value(json_object_get(v, "Value"));
	}
	return NULL;
}

/* A rejected row's claims, from its tags: {sender_account, claimed_snapshot}
 * (null when not kept or empty). */
static json_t *claimed_json(json_t *tags)
{
	const char *sender = tag_value(tags, OB_TAG_REJ_SENDER);
	const char *arn = tag_value(tags, OB_TAG_REJ_CLAIMED);
	json_t *o = json_object(), *v;

	v = sender && sender[0] ? jstr(sender) : NULL;
	json_object_set_new(o, "sender_account", v ? v : json_null());
	v = arn && arn[0] ? jstr(arn) : NULL;
	json_object_set_new(o, "claimed_snapshot", v ? v : json_null());
	return o;
}

/* Every field of a job, under keys that stay. */
static json_t *job_json(struct ctl *c, const struct ob_job *j)
{
	json_t *o = json_object(), *tags;
	struct jinfo ji;

	job_info(j, &ji);
	tags = j->source_tags[0] ? json_loads(j->source_tags, 0, NULL) : NULL;
	if (!json_is_array(tags)) {
		json_decref(tags);
		tags = json_array(); /* none, or damaged: the daemon ignores them too */
	}
	jset(c, o, "id", jstr(j->id));
	jset(c, o, "role", jstr(j->role));
	jset(c, o, "kind", json_string(ob_snap_kind_name(j->kind)));
	jset(c, o, "state", json_string(ob_job_state_name(j->state)));
	jset(c, o, "failed_from", j->state == OB_JOB_FAILED
					  ? json_string(ob_job_state_name(j->failed_from))
					  : json_null());
	jset(c, o, "database", ji.db[0] ? jstr(ji.db) : json_null());
	jset(c, o, "account", ji.arn_ok ? json_string(ji.ref.account) : json_null());
	jset(c, o, "db_id", jstr(j->db_id));
	jset(c, o, "source_arn", jstr(j->source_arn));
	jset(c, o, "snapshot_name", ji.arn_ok ? jstr(ji.ref.name) : json_null());
	jset(c, o, "snapshot_time", jtime_s(j->snapshot_time));
	jset(c, o, "copy_id", jstr(j->copy_id));
	jset(c, o, "copy_arn", jstr(j->copy_arn));
	jset(c, o, "engine", jstr(j->engine));
	jset(c, o, "engine_version", jstr(j->engine_version));
	jset(c, o, "allocated_gib", json_integer(j->allocated_gib));
	jset(c, o, "origin", jstr(j->origin));
	jset(c, o, "attempts", json_integer(j->attempts));
	jset(c, o, "defers", json_integer(j->defers));
	jset(c, o, "next_at", jtime_ms(j->next_at_ms));
	jset(c, o, "created", jtime_ms(j->created_ms));
	jset(c, o, "updated", jtime_ms(j->updated_ms));
	jset(c, o, "error_code", jstr(j->error_code));
	jset(c, o, "error_message", jstr(j->error_message));
	/* A rejected row's tags are not a copy's: what its announcement
	 * claimed (the sender account it named, the snapshot ARN). */
	if (j->state == OB_JOB_REJECTED)
		jset(c, o, "announcement", claimed_json(tags));
	jset(c, o, "source_tags", tags);
	return o;
}

/* Print doc (stolen) as the one document of the answer. */
static void json_emit(struct ctl *c, json_t *doc)
{
	if (doc == NULL || c->oom ||
	    json_dumpf(doc, c->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		c->oom = true;
	else
		fputc('\n', c->out);
	json_decref(doc);
}

/* ---- the database ------------------------------------------------------------ */

static void fail(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", c->errf);
	va_start(ap, fmt);
	vfprintf(c->errf, fmt, ap);
	va_end(ap);
	fputc('\n', c->errf);
}

/* Where the database is, and the role and rpo when the configuration is
 * read. The configuration is freed before returning: its secret is wiped
 * and never needed here. */
static int load_config(struct ctl *c)
{
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_config *cfg = NULL;
	struct ob_error err;
	const char *path = c->config_path ? c->config_path : DEFAULT_CONFIG;
	int rc = OB_CTL_EXIT_OK;

	if (c->db_path != NULL && c->config_path == NULL) {
		c->state_db = strdup(c->db_path);
		goto out;
	}
	if (ob_config_load(path, &cfg, &diag, &err) < 0) {
		if (diag.len > 0)
			fputs(diag.data, c->errf);
		fail(c, "%s%s", err.message,
		     c->db_path ? "" : " (--db PATH reads a state database without it)");
		rc = OB_CTL_EXIT_USAGE;
		goto out;
	}
	c->role = (int)cfg->role;
	if (!c->have_rpo && cfg->role == OB_ROLE_TARGET) {
		c->have_rpo = true;
		c->rpo_ms = cfg->rpo_ms;
	}
	c->state_db = strdup(c->db_path ? c->db_path : cfg->state_db);
out:
	if (rc == OB_CTL_EXIT_OK && c->state_db == NULL) {
		fail(c, "out of memory");
		rc = OB_CTL_EXIT_FAILURE;
	}
	ob_config_free(cfg);
	ob_buf_clear(&diag);
	return rc;
}

/* Open the database, which must exist: a read-write open would create an
 * empty one, and a typo must not leave a stray file behind. A read-write
 * open is preceded by a read-only one, which refuses a file the daemon has
 * not migrated yet: migrating is the daemon's business, not retry's. */
static int open_db(struct ctl *c, bool read_only)
{
	struct ob_error err;
	struct stat sb;

	if (stat(c->state_db, &sb) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			fail(c, "%s: no such database", c->state_db);
			return OB_CTL_EXIT_USAGE;
		}
		fail(c, "%s: %s", c->state_db, strerror(errno));
		return OB_CTL_EXIT_FAILURE;
	}
	if (!S_ISREG(sb.st_mode)) {
		fail(c, "%s: not a database (not a regular file)", c->state_db);
		return OB_CTL_EXIT_USAGE;
	}
	if (!read_only) {
		if (ob_store_open(c->state_db, true, &c->store, &err) < 0) {
			fail(c, "%s", err.message);
			return OB_CTL_EXIT_FAILURE;
		}
		ob_store_close(c->store);
		c->store = NULL;
	}
	if (ob_store_open(c->state_db, read_only, &c->store, &err) < 0) {
		fail(c, "%s", err.message);
		return OB_CTL_EXIT_FAILURE;
	}
	return OB_CTL_EXIT_OK;
}

/* Fetch JOB: an id, or a source snapshot ARN. */
static int find_job(struct ctl *c, struct ob_job *ret)
{
	struct ob_error err;
	int rc;

	if (strncmp(c->job_arg, "arn:", 4) == 0)
		rc = ob_store_job_by_arn(c->store, c->job_arg, ret, &err);
	else
		rc = ob_store_job_get(c->store, c->job_arg, ret, &err);
	if (rc == 0)
		return OB_CTL_EXIT_OK;
	if (err.kind == OB_ERR_NOTFOUND) {
		fail(c, "no job %s in %s", c->job_arg, c->state_db);
		return OB_CTL_EXIT_USAGE;
	}
	fail(c, "%s", err.message);
	return OB_CTL_EXIT_FAILURE;
}

static int store_fail(struct ctl *c, const struct ob_error *err)
{
	fail(c, "%s", err->message);
	return OB_CTL_EXIT_FAILURE;
}

/* ---- status ------------------------------------------------------------------- */

/* One database of the vault: its newest verified copy. */
struct dbrow {
	char key[DB_KEY_SIZE];
	char newest_id[OB_JOB_ID_SIZE];
	int64_t newest_time;
	struct ob_job job;           /* the newest, read back after the walk */
	const struct ob_job *newest; /* &job once read */
	size_t copies;
	int64_t age_s;
	bool breached;
};

static int dbrow_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dbrow *)a)->key, ((const struct dbrow *)b)->key);
}

/* The walk over the verified copies (ob_store_each_brief hands them over
 * ordered by db_id, so a database's row is looked for among the rows of the
 * current db_id only). */
struct status_walk {
	struct dbrow *rows;
	size_t n, cap, group;
	char db_id[DB_KEY_SIZE];
	bool nomem;
};

static int status_row(void *ctx, const struct ob_job_brief *b)
{
	struct status_walk *w = ctx;
	struct ob_snapshot_ref ref;
	char key[DB_KEY_SIZE];
	size_t k;

	if (ob_ident_parse_snapshot_arn(b->source_arn, &ref, NULL) == 0)
		snprintf(key, sizeof(key), "%s/%s", ref.account, b->db_id);
	else if (b->db_id[0] != '\0')
		snprintf(key, sizeof(key), "?/%s", b->db_id);
	else
		key[0] = '\0';
	if (strncmp(w->db_id, b->db_id, sizeof(w->db_id)) != 0) {
		w->group = w->n;
		snprintf(w->db_id, sizeof(w->db_id), "%s", b->db_id);
	}
	for (k = w->group; k < w->n && strcmp(w->rows[k].key, key) != 0; k++)
		;
	if (k == w->n) {
		if (w->n == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 16;
			struct dbrow *rows = realloc(w->rows, cap * sizeof(*rows));

			if (rows == NULL) {
				w->nomem = true;
				return -1;
			}
			w->rows = rows;
			w->cap = cap;
		}
		memset(&w->rows[k], 0, sizeof(w->rows[k]));
		snprintf(w->rows[k].key, sizeof(w->rows[k].key), "%s", key);
		w->rows[k].newest_time = INT64_MIN;
		w->n++;
	}
	w->rows[k].copies++;
	/* The latest snapshot time, the later row on a tie, as the vault's
	 * retention pass counts it. */
	if (b->snapshot_time >= w->rows[k].newest_time) {
		w->rows[k].newest_time = b->snapshot_time;
		snprintf(w->rows[k].newest_id, sizeof(w->rows[k].newest_id), "%s", b->id);
	}
	return 0;
}

/* Group the verified copies by database in one walk over the store (one
 * row per database in memory, not every copy: a 10,000-copy vault answers
 * at once), then read each database's newest copy back. 0 and *ret_rows
 * (the caller frees them with free_rows), or -1 after fail(). */
static int group_verified(struct ctl *c, struct dbrow **ret_rows, size_t *ret_n)
{
	struct status_walk w = { 0 };
	struct ob_error err;
	size_t k;

	if (ob_store_each_brief(c->store, OB_JOB_VERIFIED, status_row, &w, &err) != 0) {
		if (w.nomem)
			fail(c, "out of memory");
		else
			store_fail(c, &err);
		goto fail;
	}
	for (k = 0; k < w.n; k++) {
		if (ob_store_job_get(c->store, w.rows[k].newest_id, &w.rows[k].job, &err) < 0) {
			store_fail(c, &err);
			w.n = k;
			goto fail;
		}
	}
	if (w.n > 0)
		qsort(w.rows, w.n, sizeof(*w.rows), dbrow_cmp);
	for (k = 0; k < w.n; k++) {
		w.rows[k].newest = &w.rows[k].job; /* after the sort moved the rows */
		/* The vault's own test: whole seconds of age against the rpo
		 * (target.c rpo_check), without its overflow on absurd times. */
		if (__builtin_sub_overflow(ms_to_s(c->now_ms), w.rows[k].newest->snapshot_time,
					   &w.rows[k].age_s))
			w.rows[k].age_s = w.rows[k].newest->snapshot_time < 0 ? INT64_MAX : INT64_MIN;
		w.rows[k].breached = c->have_rpo && (w.rows[k].age_s > INT64_MAX / 1000 ||
						     w.rows[k].age_s * 1000 > c->rpo_ms);
	}
	*ret_rows = w.rows;
	*ret_n = w.n;
	return 0;
fail:
	for (k = 0; k < w.n; k++)
		ob_job_clear(&w.rows[k].job);
	free(w.rows);
	return -1;
}

static void free_rows(struct dbrow *rows, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		ob_job_clear(&rows[k].job);
	free(rows);
}

/* S3 export counts by state, shown by `status` when there are any. */
static void status_exports_text(struct ctl *c, const long *ex)
{
	static const struct tcol cols[] = { { "S3 EXPORT", 9, false }, { "JOBS", 4, true } };
	struct table t = { .col = cols, .ncol = 2 };
	char num[32];
	long total = 0;
	int s;

	for (s = 0; s < OB_EXPORT_STATE_COUNT; s++)
		total += ex[s];
	if (total == 0)
		return;
	fputc('\n', c->out);
	for (s = 0; s < OB_EXPORT_STATE_COUNT; s++) {
		if (ex[s] == 0)
			continue;
		snprintf(num, sizeof(num), "%ld", ex[s]);
		tbl_add(c, &t, ob_export_state_name((enum ob_export_state)s), num);
	}
	tbl_print(c, &t);
	tbl_free(&t);
}

static void status_text(struct ctl *c, const long *counts, const struct ob_job_list *oldest,
			int64_t next_due, const struct ob_job_list *failed,
			const struct dbrow *rows, size_t n_rows, size_t n_breached)
{
	static const struct tcol count_cols[] = { { "STATE", 9, false }, { "JOBS", 4, true } };
	static const struct tcol failed_cols[] = {
		{ "JOB", 17, false }, { "FAILED IN", 9, false }, { "SINCE", 19, false },
		{ "DATABASE", 12, false }, { "ERROR", 12, false },
	};
	static const struct tcol db_cols[] = {
		{ "DATABASE", 12, false }, { "SNAPSHOT TIME", 19, false }, { "AGE", 7, true },
		{ "COPIES", 6, true }, { "JOB", 17, false },
	};
	static const struct tcol breach_cols[] = {
		{ "DATABASE", 12, false }, { "SNAPSHOT TIME", 19, false }, { "AGE", 7, true },
	};
	struct table t = { 0 };
	char num[32], t1[32], t2[32];
	const struct ob_job *j;
	struct jinfo ji;
	long total = 0;
	size_t i;
	int s;

	kv(c, "database", c->state_db);
	kv(c, "role", c->role < 0 ? "unknown (no configuration read)"
				   : ob_role_name((enum ob_role)c->role));
	kvf(c, "now", "%s UTC", htime_ms(c->now_ms, t1));
	fputc('\n', c->out);

	t.col = count_cols, t.ncol = 2;
	for (s = 0; s < OB_JOB_STATE_COUNT; s++) {
		total += counts[s];
		if (counts[s] == 0)
			continue;
		snprintf(num, sizeof(num), "%ld", counts[s]);
		tbl_add(c, &t, ob_job_state_name((enum ob_job_state)s), num);
	}
	snprintf(num, sizeof(num), "%ld", total);
	tbl_add(c, &t, "total", num);
	tbl_print(c, &t);
	tbl_free(&t);
	fputc('\n', c->out);

	if (oldest->n > 0) {
		j = &oldest->items[0];
		job_info(j, &ji);
		kvf(c, "oldest unfinished", "%s %s, created %s, %s", j->id,
		    ob_job_state_name(j->state), htime_ms(j->created_ms, t1), or_dash(ji.db));
	} else {
		kv(c, "oldest unfinished", "none");
	}
	kv(c, "next due", next_due == OB_FSM_NEVER ? "nothing due" : htime_ms(next_due, t1));
	if (c->have_rpo)
		kvf(c, "rpo", "%s: %zu of %zu database%s breached", fmt_duration(c->rpo_ms, t1),
		    n_breached, n_rows, n_rows == 1 ? "" : "s");
	else
		kv(c, "rpo", "not checked (give --rpo, or --config of a vault)");

	if (failed->n > 0) {
		fprintf(c->out, "\nFAILED JOBS (%zu)\n", failed->n);
		t = (struct table){ .col = failed_cols, .ncol = 5 };
		for (i = 0; i < failed->n && i < FAILED_SHOWN; i++) {
			j = &failed->items[i];
			job_info(j, &ji);
			tbl_add(c, &t, j->id, ob_job_state_name(j->failed_from),
				htime_ms(j->updated_ms, t1), or_dash(ji.db),
				j->error_code[0] ? j->error_code : j->error_message);
		}
		tbl_print(c, &t);
		tbl_free(&t);
		if (failed->n > FAILED_SHOWN)
			fprintf(c->out, "... and %zu more: " PROG " list --state failed\n",
				failed->n - FAILED_SHOWN);
	}

	if (n_rows > 0 || c->role == OB_ROLE_TARGET) {
		fprintf(c->out, "\nLAST VERIFIED COPY PER DATABASE (%zu)\n", n_rows);
		t = (struct table){ .col = db_cols, .ncol = 5 };
		for (i = 0; i < n_rows; i++) {
			j = rows[i].newest;
			snprintf(num, sizeof(num), "%zu", rows[i].copies);
			tbl_add(c, &t, rows[i].key, htime_s(j->snapshot_time, t1),
				fmt_age(rows[i].age_s, t2), num, j->id);
		}
		if (n_rows > 0)
			tbl_print(c, &t);
		else
			fputs("no verified copies yet\n", c->out);
		tbl_free(&t);
	}

	if (n_breached > 0) {
		fprintf(c->out, "\nRPO BREACHES (%zu, rpo %s)\n", n_breached,
			fmt_duration(c->rpo_ms, t1));
		t = (struct table){ .col = breach_cols, .ncol = 3 };
		for (i = 0; i < n_rows; i++)
			if (rows[i].breached)
				tbl_add(c, &t, rows[i].key,
					htime_s(rows[i].newest->snapshot_time, t1),
					fmt_age(rows[i].age_s, t2));
		tbl_print(c, &t);
		tbl_free(&t);
	}
}

static void status_json(struct ctl *c, const long *counts, const struct ob_job_list *oldest,
			int64_t next_due, const struct ob_job_list *failed,
			const struct dbrow *rows, size_t n_rows, const long *ex)
{
	json_t *doc = json_object(), *cnt = json_object(), *fl = json_array();
	json_t *exc = json_object();
	json_t *dbs = json_array(), *br = json_array(), *o;
	const struct ob_job *j;
	struct jinfo ji;
	long total = 0;
	char buf[32];
	size_t i;
	int s;

	for (s = 0; s < OB_JOB_STATE_COUNT; s++) {
		total += counts[s];
		jset(c, cnt, ob_job_state_name((enum ob_job_state)s), json_integer(counts[s]));
	}
	for (i = 0; i < failed->n; i++)
		jpush(c, fl, job_json(c, &failed->items[i]));
	for (i = 0; i < n_rows; i++) {
		j = rows[i].newest;
		job_info(j, &ji);
		o = json_object();
		jset(c, o, "database", jstr(rows[i].key));
		jset(c, o, "account", ji.arn_ok ? json_string(ji.ref.account) : json_null());
		jset(c, o, "db_id", jstr(j->db_id));
		jset(c, o, "snapshot_time", jtime_s(j->snapshot_time));
		jset(c, o, "age_s", json_integer(rows[i].age_s));
		jset(c, o, "verified_copies", json_integer((json_int_t)rows[i].copies));
		jset(c, o, "job", jstr(j->id));
		jset(c, o, "copy_arn", jstr(j->copy_arn));
		jset(c, o, "rpo_breached", c->have_rpo ? json_boolean(rows[i].breached)
						       : json_null());
		jpush(c, dbs, o);
		if (rows[i].breached) {
			o = json_object();
			jset(c, o, "database", jstr(rows[i].key));
			jset(c, o, "snapshot_time", jtime_s(j->snapshot_time));
			jset(c, o, "age_s", json_integer(rows[i].age_s));
			jpush(c, br, o);
		}
	}
	jset(c, doc, "database", jstr(c->state_db));
	jset(c, doc, "role", c->role < 0 ? json_null()
					 : json_string(ob_role_name((enum ob_role)c->role)));
	jset(c, doc, "now", jtime_ms(c->now_ms));
	jset(c, doc, "counts", cnt);
	jset(c, doc, "total", json_integer(total));
	jset(c, doc, "oldest_unfinished", oldest->n > 0 ? job_json(c, &oldest->items[0])
							: json_null());
	jset(c, doc, "next_due", jtime_ms(next_due));
	jset(c, doc, "failed", fl);
	jset(c, doc, "rpo", c->have_rpo ? json_string(fmt_duration(c->rpo_ms, buf)) : json_null());
	jset(c, doc, "rpo_ms", c->have_rpo ? json_integer(c->rpo_ms) : json_null());
	jset(c, doc, "last_verified", dbs);
	jset(c, doc, "rpo_breaches", br);
	for (s = 0; s < OB_EXPORT_STATE_COUNT; s++)
		jset(c, exc, ob_export_state_name((enum ob_export_state)s), json_integer(ex[s]));
	jset(c, doc, "s3_exports", exc);
	json_emit(c, doc);
}

static int cmd_status(struct ctl *c)
{
	static const enum ob_job_state failed_st[] = { OB_JOB_FAILED };
	enum ob_job_state active[OB_JOB_STATE_COUNT];
	struct ob_job_list oldest = { 0 }, failed = { 0 };
	struct ob_store_query q = { 0 };
	long counts[OB_JOB_STATE_COUNT], ex[OB_EXPORT_STATE_COUNT];
	struct dbrow *rows = NULL;
	size_t n_active = 0, n_rows = 0, n_breached = 0, i;
	struct ob_error err;
	int64_t next_due;
	int rc = OB_CTL_EXIT_FAILURE, s;

	for (s = 0; s < OB_JOB_STATE_COUNT; s++)
		if (ob_job_state_active((enum ob_job_state)s))
			active[n_active++] = (enum ob_job_state)s;
	if (ob_store_count_states(c->store, counts, &err) < 0 ||
	    ob_store_next_due(c->store, NULL, 0, &next_due, &err) < 0)
		goto store_err;
	q.states = active, q.n_states = n_active, q.limit = 1;
	if (ob_store_jobs_list(c->store, &q, &oldest, &err) < 0)
		goto store_err;
	q = (struct ob_store_query){ .states = failed_st, .n_states = 1 };
	if (ob_store_jobs_list(c->store, &q, &failed, &err) < 0)
		goto store_err;
	if (group_verified(c, &rows, &n_rows) < 0)
		goto out;
	for (i = 0; i < n_rows; i++)
		n_breached += rows[i].breached;
	if (ob_store_export_counts(c->store, ex, &err) < 0)
		goto store_err;
	if (c->json) {
		status_json(c, counts, &oldest, next_due, &failed, rows, n_rows, ex);
	} else {
		status_text(c, counts, &oldest, next_due, &failed, rows, n_rows, n_breached);
		status_exports_text(c, ex);
	}
	rc = OB_CTL_EXIT_OK;
	goto out;
store_err:
	rc = store_fail(c, &err);
out:
	free_rows(rows, n_rows);
	ob_job_list_clear(&oldest);
	ob_job_list_clear(&failed);
	return rc;
}

/* ---- list -------------------------------------------------------------------- */

static int cmd_list(struct ctl *c)
{
	static const struct tcol cols[] = {
		{ "JOB", 17, false }, { "STATE", 9, false }, { "DATABASE", 12, false },
		{ "SNAPSHOT", 12, false }, { "UPDATED", 19, false },
	};
	enum ob_job_state want[OB_JOB_STATE_COUNT];
	struct ob_store_query q = { 0 };
	struct ob_job_list list;
	struct table t = { .col = cols, .ncol = 5 };
	json_t *doc, *jobs, *states;
	struct ob_error err;
	struct jinfo ji;
	size_t i, n = 0;
	char t1[32];
	int s;

	if (c->have_states) {
		for (s = 0; s < OB_JOB_STATE_COUNT; s++)
			if (c->states[s])
				want[q.n_states++] = (enum ob_job_state)s;
		q.states = want;
	}
	if (ob_store_jobs_list(c->store, &q, &list, &err) < 0)
		return store_fail(c, &err);
	doc = c->json ? json_object() : NULL;
	jobs = c->json ? json_array() : NULL;
	for (i = 0; i < list.n; i++) {
		const struct ob_job *j = &list.items[i];

		if (c->db_filter != NULL && !job_in_db(j, c->db_filter))
			continue;
		n++;
		if (c->json) {
			jpush(c, jobs, job_json(c, j));
			continue;
		}
		job_info(j, &ji);
		tbl_add(c, &t, j->id, ob_job_state_name(j->state), or_dash(ji.db),
			snap_name(j, &ji), htime_ms(j->updated_ms, t1));
	}
	if (c->json) {
		states = c->have_states ? json_array() : json_null();
		for (s = 0; c->have_states && s < OB_JOB_STATE_COUNT; s++)
			if (c->states[s])
				jpush(c, states,
				      json_string(ob_job_state_name((enum ob_job_state)s)));
		jset(c, doc, "database", jstr(c->state_db));
		jset(c, doc, "states", states);
		jset(c, doc, "db", c->db_filter ? jstr(c->db_filter) : json_null());
		jset(c, doc, "count", json_integer((json_int_t)n));
		jset(c, doc, "jobs", jobs);
		json_emit(c, doc);
	} else if (n == 0) {
		fputs("no jobs\n", c->out);
	} else {
		tbl_print(c, &t);
	}
	tbl_free(&t);
	ob_job_list_clear(&list);
	return OB_CTL_EXIT_OK;
}

/* ---- show -------------------------------------------------------------------- */

/* The S3 export line(s) of `show` (x NULL: the job has none). */
static void show_export_text(struct ctl *c, const struct ob_export *x)
{
	char t1[32];

	if (x == NULL) {
		kv(c, "s3 export", "-");
		return;
	}
	if (x->state == OB_EXPORT_RUNNING || x->state == OB_EXPORT_PENDING)
		kvf(c, "s3 export", "%s (%d%%), task %s, next look %s", ob_export_state_name(x->state),
		    x->percent, x->task_id,
		    x->next_at_ms == OB_FSM_NEVER ? "never" : htime_ms(x->next_at_ms, t1));
	else
		kvf(c, "s3 export", "%s, task %s, at %s", ob_export_state_name(x->state), x->task_id,
		    htime_ms(x->updated_ms, t1));
	if (x->error_code[0] || x->error_message[0])
		kvf(c, "s3 export error", "%s%s%s", x->error_code, x->error_code[0] ? ": " : "",
		    x->error_message);
}

static json_t *export_json(struct ctl *c, const struct ob_export *x)
{
	json_t *o;

	if (x == NULL)
		return json_null();
	o = json_object();
	jset(c, o, "state", json_string(ob_export_state_name(x->state)));
	jset(c, o, "task_id", jstr(x->task_id));
	jset(c, o, "source_arn", jstr(x->source_arn));
	jset(c, o, "percent", json_integer(x->percent));
	jset(c, o, "attempts", json_integer(x->attempts));
	jset(c, o, "next_at", jtime_ms(x->next_at_ms));
	jset(c, o, "created", jtime_ms(x->created_ms));
	jset(c, o, "updated", jtime_ms(x->updated_ms));
	jset(c, o, "error_code", jstr(x->error_code));
	jset(c, o, "error_message", jstr(x->error_message));
	return o;
}

static void show_text(struct ctl *c, const struct ob_job *j, const struct ob_history_list *h,
		      const struct ob_export *x)
{
	static const struct tcol cols[] = {
		{ "AT", 19, false }, { "FROM", 9, false }, { "TO", 9, false },
		{ "DETAIL", 20, false },
	};
	struct table t = { .col = cols, .ncol = 4, .wrap = true };
	char t1[32], t2[32];
	struct jinfo ji;
	size_t i;

	job_info(j, &ji);
	kv(c, "job", j->id);
	if (j->state == OB_JOB_FAILED)
		kvf(c, "state", "failed (in %s; " PROG " retry resumes it)",
		    ob_job_state_name(j->failed_from));
	else
		kv(c, "state", ob_job_state_name(j->state));
	kvf(c, "role", "%s, %s", j->role, ob_snap_kind_name(j->kind));
	kv(c, "database", or_dash(ji.db));
	kv(c, "source snapshot", j->source_arn);
	kv(c, "snapshot time", htime_s(j->snapshot_time, t1));
	kv(c, "copy id", or_dash(j->copy_id));
	kv(c, "copy arn", or_dash(j->copy_arn));
	if (j->engine[0] || j->engine_version[0] || j->allocated_gib > 0)
		kvf(c, "engine", "%s %s, %ld GiB", or_dash(j->engine), j->engine_version,
		    j->allocated_gib);
	else
		kv(c, "engine", "-");
	kv(c, "origin", or_dash(j->origin));
	kvf(c, "attempts", "%u (and %u deferrals) since the last transition", j->attempts,
	    j->defers);
	kv(c, "next due", j->next_at_ms == OB_FSM_NEVER ? "never" : htime_ms(j->next_at_ms, t1));
	kvf(c, "created", "%s, updated %s", htime_ms(j->created_ms, t1),
	    htime_ms(j->updated_ms, t2));
	if (j->error_code[0] || j->error_message[0])
		kvf(c, "error", "%s%s%s", j->error_code, j->error_code[0] ? ": " : "",
		    j->error_message);
	else
		kv(c, "error", "-");
	if (j->state == OB_JOB_REJECTED) {
		/* Not a copy's tags: what the announcement claimed. */
		json_t *tags = j->source_tags[0] ? json_loads(j->source_tags, 0, NULL) : NULL;
		const char *sender = json_is_array(tags) ? tag_value(tags, OB_TAG_REJ_SENDER) : NULL;
		const char *arn = json_is_array(tags) ? tag_value(tags, OB_TAG_REJ_CLAIMED) : NULL;

		kvf(c, "announcement", "named sender account %s, claimed snapshot %s",
		    sender && sender[0] ? sender : "-", arn && arn[0] ? arn : "-");
		json_decref(tags);
	} else {
		kv(c, "copy tags", or_dash(j->source_tags));
	}
	show_export_text(c, x);

	fprintf(c->out, "\nHISTORY (%zu)\n", h->n);
	for (i = 0; i < h->n; i++)
		tbl_add(c, &t, htime_ms(h->items[i].at_ms, t1), or_dash(h->items[i].from),
			h->items[i].to, h->items[i].detail);
	tbl_print(c, &t);
	tbl_free(&t);
}

static int cmd_show(struct ctl *c)
{
	struct ob_history_list h = { 0 };
	struct ob_job job = { 0 };
	struct ob_export x = { 0 };
	bool have_x = false;
	struct ob_error err;
	json_t *doc, *hist, *o;
	size_t i;
	int rc;

	rc = find_job(c, &job);
	if (rc != OB_CTL_EXIT_OK)
		return rc;
	if (ob_store_history(c->store, job.id, &h, &err) < 0) {
		rc = store_fail(c, &err);
		goto out;
	}
	if (ob_store_export_get(c->store, job.id, &x, &err) == 0)
		have_x = true;
	else if (err.kind != OB_ERR_NOTFOUND) {
		rc = store_fail(c, &err);
		goto out;
	}
	if (!c->json) {
		show_text(c, &job, &h, have_x ? &x : NULL);
		goto out;
	}
	doc = json_object();
	hist = json_array();
	for (i = 0; i < h.n; i++) {
		o = json_object();
		jset(c, o, "at", jtime_ms(h.items[i].at_ms));
		jset(c, o, "from", h.items[i].from[0] ? jstr(h.items[i].from) : json_null());
		jset(c, o, "to", jstr(h.items[i].to));
		jset(c, o, "detail", jstr(h.items[i].detail));
		jpush(c, hist, o);
	}
	jset(c, doc, "job", job_json(c, &job));
	jset(c, doc, "history", hist);
	jset(c, doc, "s3_export", export_json(c, have_x ? &x : NULL));
	json_emit(c, doc);
out:
	ob_export_clear(&x);
	ob_history_list_clear(&h);
	ob_job_clear(&job);
	return rc;
}

/* ---- retry ------------------------------------------------------------------- */

static int cmd_retry(struct ctl *c)
{
	/* OPERATOR_RETRY makes the job due now whatever the policy says; the
	 * machine still insists on a valid one. */
	static const struct ob_fsm_policy pol = {
		.max_attempts = 1, .poll_interval_ms = 0, .retention_ms = 0,
		.backoff_base_ms = 1, .backoff_cap_ms = 1,
	};
	struct ob_fsm_event ev = { .kind = OB_EV_OPERATOR_RETRY, .random = 0 };
	struct ob_store_change chg = { 0 };
	struct ob_job job = { 0 };
	struct ob_fsm_job fj;
	struct ob_fsm_step step;
	struct ob_error err;
	char detail[96], t1[32];
	json_t *doc;
	int rc;

	rc = find_job(c, &job);
	if (rc != OB_CTL_EXIT_OK)
		return rc;
	if (job.state != OB_JOB_FAILED) {
		fail(c, "job %s is %s, not failed: only a failed job can be retried", job.id,
		     ob_job_state_name(job.state));
		rc = OB_CTL_EXIT_USAGE;
		goto out;
	}
	fj = (struct ob_fsm_job){ job.state, job.failed_from, job.attempts, job.defers };
	if (ob_fsm_step(&pol, &fj, &ev, c->now_ms, &step, &err) < 0) {
		fail(c, "job %s cannot be retried: %s", job.id, err.message);
		rc = OB_CTL_EXIT_FAILURE;
		goto out;
	}
	/* As the daemon does on a transition without a cause: the kept error
	 * goes, it stays in the history row of the failure. */
	snprintf(detail, sizeof(detail), "%s by uid %u (" PROG ")",
		 ob_fsm_event_name(ev.kind), (unsigned)getuid());
	chg.error_code = "";
	chg.error_message = "";
	chg.detail = detail;
	if (ob_store_job_step(c->store, &job, &step, &chg, c->now_ms, &err) < 0) {
		if (err.kind == OB_ERR_CONFLICT)
			fail(c, "job %s changed while retry looked at it; nothing done, look "
			     "again with " PROG " show %s", job.id, job.id);
		else
			fail(c, "%s", err.message);
		rc = OB_CTL_EXIT_FAILURE;
		goto out;
	}
	if (c->json) {
		doc = json_object();
		jset(c, doc, "from", json_string("failed"));
		jset(c, doc, "to", json_string(ob_job_state_name(job.state)));
		jset(c, doc, "job", job_json(c, &job));
		json_emit(c, doc);
	} else {
		kvf(c, "retried", "%s: failed -> %s, due %s", job.id, ob_job_state_name(job.state),
		    htime_ms(job.next_at_ms, t1));
		kv(c, "", "the daemon picks it up at its next turn");
	}
out:
	ob_job_clear(&job);
	return rc;
}

/* ---- rebuild ----------------------------------------------------------------- */

static void rebuild_print(struct ctl *c, const struct ob_config *cfg, const char *account,
			  const struct ob_rebuild_report *r)
{
	static const struct tcol cols[] = {
		{ "COPY", 20, false }, { "JOB", 17, false }, { "STATE", 9, false },
	};
	static const struct tcol skip_cols[] = { { "COPY", 20, false }, { "WHY", 30, false } };
	struct table t = { .col = cols, .ncol = 3 };
	struct table sk = { .col = skip_cols, .ncol = 2, .wrap = true };
	json_t *doc, *states, *jobs, *skipped, *o;
	size_t i;
	int s;

	if (c->json) {
		doc = json_object();
		states = json_object();
		jobs = json_array();
		skipped = json_array();
		for (s = 0; s < OB_JOB_STATE_COUNT; s++)
			if (r->per_state[s] > 0)
				jset(c, states, ob_job_state_name((enum ob_job_state)s),
				     json_integer(r->per_state[s]));
		for (i = 0; i < r->n; i++) {
			o = json_object();
			jset(c, o, "copy_id", jstr(r->items[i].copy_id));
			if (r->items[i].skipped == NULL) {
				jset(c, o, "job", jstr(r->items[i].job_id));
				jset(c, o, "state", json_string(ob_job_state_name(r->items[i].state)));
				jpush(c, jobs, o);
			} else {
				jset(c, o, "reason", jstr(r->items[i].skipped));
				jpush(c, skipped, o);
			}
		}
		jset(c, doc, "database", jstr(c->state_db));
		jset(c, doc, "role", json_string(ob_role_name(cfg->role)));
		jset(c, doc, "account", jstr(account));
		jset(c, doc, "rebuilt", json_integer((json_int_t)r->rebuilt));
		jset(c, doc, "skipped", json_integer((json_int_t)r->skipped));
		jset(c, doc, "not_ours", json_integer((json_int_t)r->not_ours));
		jset(c, doc, "states", states);
		jset(c, doc, "jobs", jobs);
		jset(c, doc, "skipped_copies", skipped);
		json_emit(c, doc);
		return;
	}
	kvf(c, "database", "%s", c->state_db);
	kvf(c, "role", "%s in account %s", ob_role_name(cfg->role), account);
	kvf(c, "rebuilt", "%zu job%s", r->rebuilt, r->rebuilt == 1 ? "" : "s");
	for (s = 0; s < OB_JOB_STATE_COUNT; s++)
		if (r->per_state[s] > 0)
			kvf(c, "", "%ld %s", r->per_state[s], ob_job_state_name((enum ob_job_state)s));
	kvf(c, "skipped", "%zu cop%s with inconsistent provenance tags or status", r->skipped,
	    r->skipped == 1 ? "y" : "ies");
	kvf(c, "not ours", "%zu manual snapshot%s without provenance tags", r->not_ours,
	    r->not_ours == 1 ? "" : "s");
	for (i = 0; i < r->n; i++) {
		if (r->items[i].skipped == NULL)
			tbl_add(c, &t, r->items[i].copy_id, r->items[i].job_id,
				ob_job_state_name(r->items[i].state));
		else
			tbl_add(c, &sk, r->items[i].copy_id, r->items[i].skipped);
	}
	if (t.nrow > 0) {
		fputc('\n', c->out);
		tbl_print(c, &t);
	}
	if (sk.nrow > 0) {
		fputc('\n', c->out);
		tbl_print(c, &sk);
	}
	if (r->rebuilt > 0) {
		fputc('\n', c->out);
		kv(c, "next", "start the daemon: it polls, shares, announces or verifies these "
		   "jobs again (every step is idempotent)");
	}
	tbl_free(&t);
	tbl_free(&sk);
}

/* The whole configuration is needed here (credentials, role, region, the
 * vault's allowed accounts), so it is read apart from load_config(). */
/* Set by SIGINT, SIGTERM and SIGHUP while rebuild runs: the AWS call in
 * flight is cancelled, rebuild fails and removes its temporary files. */
static volatile sig_atomic_t rebuild_stop;
static const int rebuild_sigs[3] = { SIGINT, SIGTERM, SIGHUP };

static void rebuild_on_signal(int sig)
{
	(void)sig;
	rebuild_stop = 1;
}

/* Catch the signals that end a terminal command (old[] keeps what was
 * there, for rebuild_signals_restore). */
static void rebuild_signals_catch(struct sigaction old[3])
{
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rebuild_on_signal;
	sigemptyset(&sa.sa_mask);
	rebuild_stop = 0;
	for (i = 0; i < 3; i++)
		sigaction(rebuild_sigs[i], &sa, &old[i]);
}

static void rebuild_signals_restore(const struct sigaction old[3])
{
	int i;

	for (i = 0; i < 3; i++)
		sigaction(rebuild_sigs[i], &old[i], NULL);
}

static int cmd_rebuild(struct ctl *c)
{
	struct ob_client_options copt = { .stop = &rebuild_stop };
	struct sigaction old_sa[3];
	const char *path = c->config_path ? c->config_path : DEFAULT_CONFIG;
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_rebuild_report report;
	struct ob_rebuild_scope sc;
	struct ob_sts_identity id;
	struct ob_config *cfg = NULL;
	struct ob_client client;
	struct ob_error err;
	char line[600];
	int rc = OB_CTL_EXIT_FAILURE;

	memset(&client, 0, sizeof(client));
	memset(&report, 0, sizeof(report));
	if (ob_config_load(path, &cfg, &diag, &err) < 0) {
		if (diag.len > 0)
			fputs(diag.data, c->errf);
		fail(c, "%s (rebuild needs the daemon's configuration: its credentials and role)",
		     err.message);
		rc = OB_CTL_EXIT_USAGE;
		goto out;
	}
	c->state_db = strdup(c->db_path ? c->db_path : cfg->state_db);
	if (c->state_db == NULL) {
		fail(c, "out of memory");
		goto out;
	}
	rebuild_signals_catch(old_sa);
	if (ob_session_open(&client, cfg, &copt, &id, &err) < 0) {
		rebuild_signals_restore(old_sa);
		fail(c, "%s", err.message);
		goto out;
	}
	sc.role = cfg->role;
	sc.account = id.account;
	sc.region = cfg->region;
	sc.allowed_sources = cfg->allowed_source_accounts;
	rc = ob_rebuild_run(&sc, client.aws, c->state_db, c->now_ms, &report, &err);
	rebuild_signals_restore(old_sa);
	if (rc < 0) {
		rc = OB_CTL_EXIT_FAILURE;
		/* Local trouble reads best as is; an AWS error with its code. */
		if (err.kind == OB_ERR_CANCELLED)
			fail(c, "rebuild: interrupted; nothing was written");
		else if (err.kind == OB_ERR_CONFLICT || err.kind == OB_ERR_IO ||
		    err.kind == OB_ERR_INVALID)
			fail(c, "rebuild: %s", err.message);
		else
			fail(c, "rebuild: %s", ob_error_str(&err, line, sizeof(line)));
		if (err.kind == OB_ERR_CONFLICT || err.kind == OB_ERR_INVALID)
			rc = OB_CTL_EXIT_USAGE;
		goto out;
	}
	rebuild_print(c, cfg, id.account, &report);
	rc = OB_CTL_EXIT_OK;
out:
	ob_rebuild_report_clear(&report);
	ob_client_clear(&client);
	ob_config_free(cfg);
	ob_buf_clear(&diag);
	return rc;
}

/* ---- the command line -------------------------------------------------------- */

static int usage_error(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", c->errf);
	va_start(ap, fmt);
	vfprintf(c->errf, fmt, ap);
	va_end(ap);
	fputs("\nusage: " PROG " [--config FILE] [--db PATH] [--rpo DURATION] [--json]\n"
	      "       {status | list [--state S] [--db NAME] | show JOB | retry JOB | rebuild}\n"
	      "Try '" PROG " --help' for more.\n",
	      c->errf);
	return OB_CTL_EXIT_USAGE;
}

static int add_states(struct ctl *c, const char *arg)
{
	enum ob_job_state s;
	const char *p = arg, *end;
	char name[32];
	size_t n;

	for (;;) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n >= sizeof(name) || (memcpy(name, p, n), name[n] = '\0',
					  ob_job_state_parse(name, &s) != 0)) {
			fail(c, "unknown state '%.*s' (known: pending, copying, copied, shared, "
			     "notified, expired, failed, announced, importing, imported, verified, "
			     "rejected)", (int)(n > 64 ? 64 : n), p);
			return OB_CTL_EXIT_USAGE;
		}
		c->states[s] = true;
		c->have_states = true;
		if (end == NULL)
			return OB_CTL_EXIT_OK;
		p = end + 1;
	}
}

static int set_command(struct ctl *c, const char *a)
{
	static const struct { const char *name; enum command cmd; } cmds[] = {
		{ "status", CMD_STATUS }, { "list", CMD_LIST }, { "show", CMD_SHOW },
		{ "retry", CMD_RETRY }, { "rebuild", CMD_REBUILD },
	};
	size_t i;

	if (c->cmd == CMD_NONE) {
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(a, cmds[i].name) == 0) {
				c->cmd = cmds[i].cmd;
				return OB_CTL_EXIT_OK;
			}
		return usage_error(c, "unknown command '%s'", a);
	}
	if ((c->cmd == CMD_SHOW || c->cmd == CMD_RETRY) && c->job_arg == NULL) {
		c->job_arg = a;
		return OB_CTL_EXIT_OK;
	}
	return usage_error(c, "unexpected argument '%s'", a);
}

/* Options may come before or after the command; --db before it (or after
 * any command but list) is the database path, after `list` a DB name. -1
 * when --help or --version answered. */
static int parse_args(struct ctl *c, int argc, char *const argv[])
{
	enum { O_CONFIG, O_DB, O_RPO, O_STATE, O_N };
	static const char *const with_value[O_N] = { "--config", "--db", "--rpo", "--state" };
	const char *a, *eq, *val;
	bool done = false;
	size_t n, k;
	int i, rc;

	for (i = 1; i < argc; i++) { /* --help wins wherever it is */
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(help_text, c->out);
			return -1;
		}
		if (strcmp(argv[i], "--version") == 0) {
			fprintf(c->out, PROG " %s\n", OB_VERSION);
			return -1;
		}
	}
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (done || a[0] != '-' || a[1] == '\0') {
			if ((rc = set_command(c, a)) != OB_CTL_EXIT_OK)
				return rc;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			done = true;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = true;
			continue;
		}
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < O_N; k++)
			if (strlen(with_value[k]) == n && strncmp(a, with_value[k], n) == 0)
				break;
		if (k == O_N)
			return usage_error(c, "unknown option '%.*s'", (int)(n > 64 ? 64 : n), a);
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error(c, "%s needs a value", a);
		switch (k) {
		case O_CONFIG:
			c->config_path = val;
			break;
		case O_DB:
			if (c->cmd != CMD_LIST) {
				if (val[0] == '\0')
					return usage_error(c, "--db needs a path");
				c->db_path = val;
			} else if (val[0] == '/' || val[0] == '.' || val[0] == '\0') {
				return usage_error(c, "list --db takes a DB identifier, not '%s'; "
						   "give the database path before the command: "
						   PROG " --db PATH list", val);
			} else {
				c->db_filter = val;
			}
			break;
		case O_RPO:
			if (ob_config_parse_duration(val, &c->rpo_ms) != 0 || c->rpo_ms <= 0)
				return usage_error(c, "--rpo: expected a duration such as 26h, got "
						   "'%s'", val);
			c->have_rpo = true;
			break;
		default:
			if ((rc = add_states(c, val)) != OB_CTL_EXIT_OK)
				return rc;
			break;
		}
	}
	if (c->cmd == CMD_NONE)
		return usage_error(c, "no command given");
	if ((c->cmd == CMD_SHOW || c->cmd == CMD_RETRY) && c->job_arg == NULL)
		return usage_error(c, "%s needs a JOB", c->cmd == CMD_SHOW ? "show" : "retry");
	if (c->have_states && c->cmd != CMD_LIST)
		return usage_error(c, "--state belongs to list");
	if (c->have_rpo && c->cmd == CMD_REBUILD)
		return usage_error(c, "--rpo does not apply to rebuild");
	return OB_CTL_EXIT_OK;
}

int ob_ctl_run_clock(int argc, char *const argv[], FILE *out, FILE *errf,
		     const struct ob_clock *clock)
{
	struct ctl c = { .out = out, .errf = errf, .role = -1 };
	int rc;

	if (clock == NULL)
		clock = ob_clock_system();
	c.now_ms = clock->now_ms(clock->ctx);
	rc = parse_args(&c, argc, argv);
	if (rc < 0) {
		rc = OB_CTL_EXIT_OK;
		goto flush;
	}
	if (rc != OB_CTL_EXIT_OK)
		return rc;
	/* rebuild reads the configuration itself and makes the database. */
	if (c.cmd != CMD_REBUILD &&
	    ((rc = load_config(&c)) != OB_CTL_EXIT_OK ||
	     (rc = open_db(&c, c.cmd != CMD_RETRY)) != OB_CTL_EXIT_OK))
		goto out;
	switch (c.cmd) {
	case CMD_STATUS: rc = cmd_status(&c); break;
	case CMD_LIST: rc = cmd_list(&c); break;
	case CMD_SHOW: rc = cmd_show(&c); break;
	case CMD_RETRY: rc = cmd_retry(&c); break;
	case CMD_REBUILD: rc = cmd_rebuild(&c); break;
	case CMD_NONE: break;
	}
	if (rc == OB_CTL_EXIT_OK && c.oom) {
		fail(&c, "out of memory");
		rc = OB_CTL_EXIT_FAILURE;
	}
flush:
	if (fflush(out) != 0 || ferror(out)) {
		fail(&c, "cannot write the answer: %s", strerror(errno));
		rc = OB_CTL_EXIT_FAILURE;
	}
out:
	ob_store_close(c.store);
	free(c.state_db);
	return rc;
}

int ob_ctl_run(int argc, char *const argv[], FILE *out, FILE *errf)
{
	return ob_ctl_run_clock(argc, argv, out, errf, NULL);
}
