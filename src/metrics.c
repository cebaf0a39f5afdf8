/*
 * metrics.c - the metrics registry, its Prometheus text rendering, the
 * atomic file writer, and the CloudWatch view of the same figures.
 *
 * The registry is small on purpose: a handful of families, each a list of
 * series searched linearly (a vault with hundreds of databases costs a few
 * thousand string compares a turn). The cap keeps it small whatever the
 * input: AWS error codes and database identifiers come from outside.
 */
#include "ob/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct series {
	char *values[OB_METRICS_MAX_LABELS];
	double value;
	double cw_sent;    /* counter value CloudWatch was last sent up to */
	double cw_pending; /* the value the last datums were computed from */
};

struct family {
	const struct ob_metric_def *def;
	size_t n_labels;
	struct series *series;
	size_t n, cap;
};

struct ob_metrics {
	char *role;
	struct family *fams;
	size_t n_fams;
	unsigned long dropped;
	/* The last CloudWatch view: datums and the strings they point to. */
	char **cw_strings;
	size_t n_cw_strings;
};

/* ---- the definitions the daemon uses ------------------------------------ */

/* Caps: states and state pairs are bounded by our own tables; codes and
 * actions by what AWS and our code say, folded past 32; databases are
 * bounded by the vault's contents, capped at 1000 (the file then stays
 * under about 200 KiB). */
const struct ob_metric_def ob_metrics_product_defs[OB_M_COUNT] = {
	[OB_M_JOBS] = {
		"offsite_backup_jobs", "Jobs in the state database, by state.",
		OB_METRIC_GAUGE, { "state" }, 32, -1,
		"JobsFailed", "Count", false, "state", "failed" },
	[OB_M_TRANSITIONS] = {
		"offsite_backup_transitions_total", "Job state transitions committed, by from and to state.",
		OB_METRIC_COUNTER, { "from", "to" }, 128, -1,
		NULL, NULL, false, NULL, NULL },
	[OB_M_FAILURES] = {
		"offsite_backup_job_failures_total",
		"Jobs that failed, by the state they failed in and the AWS error code (\"\" when none).",
		OB_METRIC_COUNTER, { "state", "code" }, 32, 1,
		"JobFailures", "Count", false, NULL, NULL },
	[OB_M_RETRIES] = {
		"offsite_backup_job_retries_total",
		"Job steps retried or delayed after an error, by state and AWS error code.",
		OB_METRIC_COUNTER, { "state", "code" }, 32, 1,
		"JobRetries", "Count", false, NULL, NULL },
	[OB_M_COPIES_IN_FLIGHT] = {
		"offsite_backup_copies_in_flight", "Snapshot copies in progress (copying or importing).",
		OB_METRIC_GAUGE, { NULL }, 1, -1,
		"CopiesInFlight", "Count", false, NULL, NULL },
	[OB_M_OLDEST_UNFINISHED] = {
		"offsite_backup_oldest_unfinished_job_age_seconds",
		"Age of the oldest job not yet handed off (source) or verified (vault); 0 when none.",
		OB_METRIC_GAUGE, { NULL }, 1, -1,
		"OldestUnfinishedJobAge", "Seconds", false, NULL, NULL },
	[OB_M_NEWEST_COPY_AGE] = {
		"offsite_backup_newest_verified_copy_age_seconds",
		"Per database, the age of the snapshot behind its newest verified vault copy.",
		OB_METRIC_GAUGE, { "source_account", "db" }, 1000, -1,
		"NewestVerifiedCopyAge", "Seconds", true, NULL, NULL },
	[OB_M_RPO_BREACHED] = {
		"offsite_backup_rpo_breached",
		"Per database, 1 while its newest verified copy is older than the rpo, else 0.",
		OB_METRIC_GAUGE, { "source_account", "db" }, 1000, -1,
		"RPOBreached", "Count", true, NULL, NULL },
	[OB_M_RPO_BREACHES] = {
		"offsite_backup_rpo_breaches_total", "RPO breaches raised (one per database per breach).",
		OB_METRIC_COUNTER, { NULL }, 1, -1,
		NULL, NULL, false, NULL, NULL },
	[OB_M_AWS_CALLS] = {
		"offsite_backup_aws_calls_total", "AWS API calls made, by service and action.",
		OB_METRIC_COUNTER, { "service", "action" }, 32, 1,
		"AWSCalls", "Count", false, NULL, NULL },
	[OB_M_AWS_RETRIES] = {
		"offsite_backup_aws_retries_total",
		"AWS API requests repeated after a throttling or transient answer, by service and action.",
		OB_METRIC_COUNTER, { "service", "action" }, 32, 1,
		"AWSRetries", "Count", false, NULL, NULL },
	[OB_M_SQS_RECEIVED] = {
		"offsite_backup_sqs_messages_received_total", "SQS messages received from the queue.",
		OB_METRIC_COUNTER, { NULL }, 1, -1,
		"SQSMessagesReceived", "Count", false, NULL, NULL },
	[OB_M_SQS_REJECTED] = {
		"offsite_backup_sqs_messages_rejected_total",
		"SQS messages not acted upon: malformed (left for the dead-letter queue) or "
		"refused announcements (vault).",
		OB_METRIC_COUNTER, { "reason" }, 8, -1,
		"SQSMessagesRejected", "Count", false, NULL, NULL },
	[OB_M_LAST_TURN] = {
		"offsite_backup_last_turn_timestamp_seconds",
		"Unix time the daemon loop last took a turn (the file's freshness).",
		OB_METRIC_GAUGE, { NULL }, 1, -1,
		NULL, NULL, false, NULL, NULL },
	[OB_M_EXPORTS] = {
		"offsite_backup_exports", "S3 exports in the state database, by export state (source).",
		OB_METRIC_GAUGE, { "state" }, 8, -1,
		NULL, NULL, false, NULL, NULL },
	[OB_M_EXPORT_FAILURES] = {
		"offsite_backup_export_failures_total",
		"S3 exports that failed or were canceled, by AWS error code or task status (source).",
		OB_METRIC_COUNTER, { "code" }, 32, 0,
		"ExportFailures", "Count", false, NULL, NULL },
};

/* ---- set-up ------------------------------------------------------------- */

/* [a-zA-Z_][a-zA-Z0-9_]* (no colons: those are for recording rules). */
static bool name_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

struct ob_metrics *ob_metrics_new(const struct ob_metric_def *defs, size_t n, const char *role,
				  struct ob_error *err)
{
	struct ob_metrics *m;
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct ob_metric_def *d = &defs[i];

		for (k = 0; k < OB_METRICS_MAX_LABELS && d->labels[k] != NULL; k++)
			if (!name_ok(d->labels[k]) || strncmp(d->labels[k], "__", 2) == 0 ||
			    strcmp(d->labels[k], "role") == 0)
				break;
		if (!name_ok(d->name) || d->help == NULL || d->max_series == 0 ||
		    (k < OB_METRICS_MAX_LABELS && d->labels[k] != NULL) ||
		    d->fold >= (int)k || (k == 0 && d->max_series != 1)) {
			ob_error_set(err, OB_ERR_INVALID, "metric definition %zu is invalid", i);
			return NULL;
		}
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->fams = calloc(n ? n : 1, sizeof(*m->fams))) == NULL ||
	    (m->role = strdup(role ? role : "")) == NULL) {
		ob_metrics_free(m);
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	m->n_fams = n;
	for (i = 0; i < n; i++) {
		m->fams[i].def = &defs[i];
		for (k = 0; k < OB_METRICS_MAX_LABELS && defs[i].labels[k] != NULL; k++)
			;
		m->fams[i].n_labels = k;
	}
	return m;
}

static void cw_strings_clear(struct ob_metrics *m)
{
	size_t i;

	for (i = 0; i < m->n_cw_strings; i++)
		free(m->cw_strings[i]);
	free(m->cw_strings);
	m->cw_strings = NULL;
	m->n_cw_strings = 0;
}

static void series_free(struct family *f, struct series *s)
{
	size_t k;

	for (k = 0; k < f->n_labels; k++)
		free(s->values[k]);
}

void ob_metrics_free(struct ob_metrics *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; m->fams != NULL && i < m->n_fams; i++) {
		for (j = 0; j < m->fams[i].n; j++)
			series_free(&m->fams[i], &m->fams[i].series[j]);
		free(m->fams[i].series);
	}
	cw_strings_clear(m);
	free(m->fams);
	free(m->role);
	free(m);
}

/* ---- series ------------------------------------------------------------- */

/* What is stored of a label value: at most OB_METRICS_VALUE_MAX bytes,
 * printable ASCII and newline (which the renderer escapes); anything else
 * becomes '?', so the file is always valid UTF-8. */
static void clean_value(const char *in, char out[OB_METRICS_VALUE_MAX + 1])
{
	size_t i;

	if (in == NULL)
		in = "";
	for (i = 0; in[i] != '\0' && i < OB_METRICS_VALUE_MAX; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c == '\n' || (c >= 0x20 && c < 0x7f)) ? (char)c : '?';
	}
	out[i] = '\0';
}

static struct series *find(const struct family *f,
			   char vals[][OB_METRICS_VALUE_MAX + 1])
{
	size_t i, k;

	for (i = 0; i < f->n; i++) {
		for (k = 0; k < f->n_labels; k++)
			if (strcmp(f->series[i].values[k], vals[k]) != 0)
				break;
		if (k == f->n_labels)
			return &f->series[i];
	}
	return NULL;
}

static struct series *create(struct family *f, char vals[][OB_METRICS_VALUE_MAX + 1])
{
	struct series *s;
	size_t k;

	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 4;

		s = realloc(f->series, cap * sizeof(*s));
		if (s == NULL)
			return NULL;
		f->series = s;
		f->cap = cap;
	}
	s = &f->series[f->n];
	memset(s, 0, sizeof(*s));
	for (k = 0; k < f->n_labels; k++) {
		s->values[k] = strdup(vals[k]);
		if (s->values[k] == NULL) {
			series_free(f, s);
			return NULL;
		}
	}
	f->n++;
	return s;
}

/* The series for values, created when it fits: within max_series, or,
 * past it, with the fold label set to "other" (the folded series may take
 * the family up to twice its cap; past that, nothing more is created).
 * NULL when dropped (counted) or out of memory. */
static struct series *lookup(struct ob_metrics *m, unsigned fam, const char *const *values,
			     bool make)
{
	char vals[OB_METRICS_MAX_LABELS][OB_METRICS_VALUE_MAX + 1];
	struct family *f;
	struct series *s;
	size_t k;

	if (m == NULL || fam >= m->n_fams)
		return NULL;
	f = &m->fams[fam];
	for (k = 0; k < f->n_labels; k++)
		clean_value(values != NULL ? values[k] : NULL, vals[k]);
	s = find(f, vals);
	if (s != NULL || !make)
		goto folded;
	if (f->n < f->def->max_series)
		return create(f, vals);
	if (f->def->fold < 0)
		goto drop;
	snprintf(vals[f->def->fold], sizeof(vals[0]), "%s", OB_METRICS_OTHER);
	s = find(f, vals);
	if (s != NULL)
		return s;
	if (f->n < 2 * f->def->max_series)
		return create(f, vals);
drop:
	m->dropped++;
	return NULL;
folded:
	if (s == NULL && f->def->fold >= 0 && f->n >= f->def->max_series) {
		/* For reads: a value past the cap was counted as "other". */
		snprintf(vals[f->def->fold], sizeof(vals[0]), "%s", OB_METRICS_OTHER);
		s = find(f, vals);
	}
	return s;
}

void ob_metrics_add(struct ob_metrics *m, unsigned fam, const char *const *values, double delta)
{
	struct series *s = lookup(m, fam, values, true);

	if (s != NULL)
		s->value += delta;
}

void ob_metrics_set(struct ob_metrics *m, unsigned fam, const char *const *values, double value)
{
	struct series *s = lookup(m, fam, values, true);

	if (s != NULL)
		s->value = value;
}

void ob_metrics_reset(struct ob_metrics *m, unsigned fam)
{
	struct family *f;
	size_t i;

	if (m == NULL || fam >= m->n_fams)
		return;
	f = &m->fams[fam];
	for (i = 0; i < f->n; i++)
		series_free(f, &f->series[i]);
	f->n = 0;
}

double ob_metrics_get(const struct ob_metrics *m, unsigned fam, const char *const *values)
{
	/* lookup() does not change m when make is false. */
	const struct series *s = lookup((struct ob_metrics *)m, fam, values, false);

	return s != NULL ? s->value : 0;
}

unsigned long ob_metrics_dropped(const struct ob_metrics *m)
{
	return m != NULL ? m->dropped : 0;
}

/* ---- the text exposition format ----------------------------------------- */

/* HELP text escapes backslash and newline; label values also the quote. */
static int put_escaped(struct ob_buf *out, const char *s, bool quote)
{
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '\\')
			rc = ob_buf_puts(out, "\\\\");
		else if (*s == '\n')
			rc = ob_buf_puts(out, "\\n");
		else if (*s == '"' && quote)
			rc = ob_buf_puts(out, "\\\"");
		else
			rc = ob_buf_putc(out, *s);
	}
	return rc;
}

static int put_value(struct ob_buf *out, double v)
{
	if (isnan(v))
		return ob_buf_puts(out, "NaN");
	if (isinf(v))
		return ob_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	/* 15 significant digits: integers (counts, seconds) print exactly
	 * and fractions without binary noise. */
	return ob_buf_printf(out, "%.15g", v);
}

static int render_family(const struct ob_metrics *m, const struct family *f, struct ob_buf *out)
{
	const struct ob_metric_def *d = f->def;
	size_t i, k;

	if (ob_buf_printf(out, "# HELP %s ", d->name) < 0 || put_escaped(out, d->help, false) < 0 ||
	    ob_buf_printf(out, "\n# TYPE %s %s\n", d->name,
			  d->type == OB_METRIC_COUNTER ? "counter" : "gauge") < 0)
		return -1;
	for (i = 0; i < f->n; i++) {
		const struct series *s = &f->series[i];

		if (ob_buf_printf(out, "%s{role=\"", d->name) < 0 ||
		    put_escaped(out, m->role, true) < 0 || ob_buf_putc(out, '"') < 0)
			return -1;
		for (k = 0; k < f->n_labels; k++)
			if (ob_buf_printf(out, ",%s=\"", d->labels[k]) < 0 ||
			    put_escaped(out, s->values[k], true) < 0 || ob_buf_putc(out, '"') < 0)
				return -1;
		if (ob_buf_puts(out, "} ") < 0 || put_value(out, s->value) < 0 ||
		    ob_buf_putc(out, '\n') < 0)
			return -1;
	}
	return 0;
}

int ob_metrics_render(const struct ob_metrics *m, struct ob_buf *out, struct ob_error *err)
{
	size_t i;

	if (m == NULL)
		return 0;
	for (i = 0; i < m->n_fams; i++)
		if (render_family(m, &m->fams[i], out) < 0)
			return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	return 0;
}

/* ---- the atomic file writer --------------------------------------------- */

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int ob_metrics_write_file(const char *path, const char *data, size_t len, struct ob_error *err)
{
	char tmp[4096], dir[4096];
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;
	int fd, dfd, e;

	/* node_exporter reads *.prom only: a temporary ".name.prom.tmp.<pid>"
	 * in the same directory is never read and renames atomically. */
	if (slash == NULL || slash[1] == '\0')
		return ob_error_set(err, OB_ERR_INVALID, "metrics file %s: not a file path",
				    path ? path : "(null)");
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp.%ld", (int)(slash - path + 1), path,
		     slash + 1, (long)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path),
		     path) >= (int)sizeof(dir))
		return ob_error_set(err, OB_ERR_INVALID, "metrics file %s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return ob_error_errno(err, OB_ERR_IO, errno, "metrics file %s: cannot create %s",
				      path, tmp);
	/* The umask must not make the file unreadable for node_exporter. */
	if (fchmod(fd, 0644) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		return ob_error_errno(err, OB_ERR_IO, e, "metrics file %s: cannot write %s", path,
				      tmp);
	}
	if (close(fd) < 0) {
		e = errno;
		unlink(tmp);
		return ob_error_errno(err, OB_ERR_IO, e, "metrics file %s: cannot write %s", path,
				      tmp);
	}
	if (rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		return ob_error_errno(err, OB_ERR_IO, e, "metrics file %s: cannot rename %s", path,
				      tmp);
	}
	/* The rename itself survives a crash once the directory is synced;
	 * a failure here leaves a complete file either way. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- CloudWatch --------------------------------------------------------- */

static int label_index(const struct family *f, const char *name)
{
	size_t k;

	for (k = 0; name != NULL && k < f->n_labels; k++)
		if (strcmp(f->def->labels[k], name) == 0)
			return (int)k;
	return -1;
}

/* A string the datums point to, owned by m until the next view. */
static const char *keep(struct ob_metrics *m, const char *s)
{
	char **grown = realloc(m->cw_strings, (m->n_cw_strings + 1) * sizeof(*grown));
	char *copy;

	if (grown == NULL)
		return NULL;
	m->cw_strings = grown;
	copy = strdup(s);
	if (copy == NULL)
		return NULL;
	m->cw_strings[m->n_cw_strings++] = copy;
	return copy;
}

/* CloudWatch wants a non-blank dimension value. */
static const char *dim_value(const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if (v[i] != ' ' && v[i] != '\n')
			return v;
	return "-";
}

int ob_metrics_cloudwatch(struct ob_metrics *m, struct ob_cloudwatch_datum **ret,
			  size_t *ret_n, struct ob_error *err)
{
	struct ob_cloudwatch_datum *out = NULL, *d;
	size_t i, j, n = 0, cap = 0, t;

	*ret = NULL;
	*ret_n = 0;
	if (m == NULL)
		return 0;
	cw_strings_clear(m);
	for (i = 0; i < m->n_fams; i++) {
		struct family *f = &m->fams[i];
		const struct ob_metric_def *def = f->def;
		int db = label_index(f, "db"), filt = label_index(f, def->cw_filter_label);
		size_t first = n;

		if (def->cw_name == NULL)
			continue;
		if (db < 0) {
			/* One datum for the whole family, even with no series:
			 * CloudWatch then sees a 0 rather than missing data. */
			if (n == cap) {
				cap = cap ? 2 * cap : 32;
				if ((d = realloc(out, cap * sizeof(*out))) == NULL)
					goto nomem;
				out = d;
			}
			memset(&out[n], 0, sizeof(out[n]));
			out[n].name = def->cw_name;
			out[n].unit = def->cw_unit;
			out[n].dims[0] = (struct ob_cloudwatch_dim){ "Role", m->role };
			out[n].n_dims = 1;
			n++;
		}
		for (j = 0; j < f->n; j++) {
			struct series *s = &f->series[j];
			double v;

			if (filt >= 0 && strcmp(s->values[filt], def->cw_filter_value) != 0)
				continue;
			d = NULL;
			if (db < 0) {
				d = &out[first];
			} else {
				for (t = first; t < n; t++)
					if (strcmp(out[t].dims[1].value, dim_value(s->values[db])) == 0)
						d = &out[t];
			}
			if (d == NULL) {
				if (n == cap) {
					cap = cap ? 2 * cap : 32;
					if ((d = realloc(out, cap * sizeof(*out))) == NULL)
						goto nomem;
					out = d;
				}
				d = &out[n++];
				memset(d, 0, sizeof(*d));
				d->name = def->cw_name;
				d->unit = def->cw_unit;
				d->dims[0] = (struct ob_cloudwatch_dim){ "Role", m->role };
				d->dims[1].name = "DBIdentifier";
				d->dims[1].value = keep(m, dim_value(s->values[db]));
				if (d->dims[1].value == NULL)
					goto nomem;
				d->n_dims = 2;
				d->value = def->cw_max ? -INFINITY : 0;
			}
			if (def->type == OB_METRIC_COUNTER) {
				s->cw_pending = s->value;
				v = s->value - s->cw_sent;
			} else {
				v = s->value;
			}
			d->value = def->cw_max ? (v > d->value ? v : d->value) : d->value + v;
		}
	}
	*ret = out;
	*ret_n = n;
	return 0;
nomem:
	free(out);
	return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
}

void ob_metrics_cloudwatch_sent(struct ob_metrics *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_fams; i++)
		if (m->fams[i].def->type == OB_METRIC_COUNTER)
			for (j = 0; j < m->fams[i].n; j++)
				m->fams[i].series[j].cw_sent = m->fams[i].series[j].cw_pending;
}
