/*
 * ob/metrics.h - a small metrics registry and its Prometheus text file.
 *
 * Families of counters and gauges with fixed label names, declared in a
 * const table; series are created on first use. The number of label
 * combinations of a family is capped: past the cap a new combination has
 * its "fold" label (an AWS error code, an action) replaced by "other", and
 * what still does not fit is dropped and counted, so a flood of distinct
 * error codes or database names cannot grow the daemon or the file without
 * bound. Label values are external input (AWS error codes, database
 * identifiers): they are cut to OB_METRICS_VALUE_MAX bytes, control and
 * non-ASCII bytes become '?', and the renderer escapes backslash, quote and
 * newline as the exposition format wants.
 *
 * Every function taking a struct ob_metrics * is a no-op on NULL, so the
 * modules that feed it (jobs, source, target) need no "metrics enabled?"
 * checks. Not thread-safe; one registry per daemon.
 */
#ifndef OB_METRICS_H
#define OB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ob/buf.h"
#include "ob/cloudwatch.h"
#include "ob/error.h"

#define OB_METRICS_MAX_LABELS 3   /* besides the constant role label */
#define OB_METRICS_VALUE_MAX  128 /* bytes of a label value kept */
#define OB_METRICS_OTHER      "other"

enum ob_metric_type {
	OB_METRIC_COUNTER = 0,
	OB_METRIC_GAUGE,
};

/* One family. Names follow Prometheus conventions (base units, _total for
 * counters, _seconds for times). */
struct ob_metric_def {
	const char *name;
	const char *help;
	enum ob_metric_type type;
	const char *labels[OB_METRICS_MAX_LABELS]; /* NULL after the last */
	size_t max_series;         /* cap on label combinations (>= 1) */
	int fold;                  /* label index set to "other" past the cap; -1: none */
	/* CloudWatch: MetricName (NULL: not sent), Unit, and how series
	 * become datums: one per value of the "db" label (dimension
	 * DBIdentifier) or one in all; counters send the increase since the
	 * last successful flush, gauges the current value (the maximum over
	 * the series folded into one datum when cw_max, else the sum). Only
	 * series whose label cw_filter_label has value cw_filter_value count
	 * when cw_filter_label is set. */
	const char *cw_name;
	const char *cw_unit;
	bool cw_max;
	const char *cw_filter_label;
	const char *cw_filter_value;
};

/* The product's families (ob_metrics_product_defs, in this order). */
enum ob_metric {
	OB_M_JOBS = 0,            /* gauge {state} */
	OB_M_TRANSITIONS,         /* counter {from, to} */
	OB_M_FAILURES,            /* counter {state, code}: jobs that failed */
	OB_M_RETRIES,             /* counter {state, code}: retried or delayed steps */
	OB_M_COPIES_IN_FLIGHT,    /* gauge */
	OB_M_OLDEST_UNFINISHED,   /* gauge, seconds */
	OB_M_NEWEST_COPY_AGE,     /* gauge {source_account, db}, seconds (vault) */
	OB_M_RPO_BREACHED,        /* gauge {source_account, db}, 0/1 (vault) */
	OB_M_RPO_BREACHES,        /* counter: breaches raised (vault) */
	OB_M_AWS_CALLS,           /* counter {service, action} */
	OB_M_AWS_RETRIES,         /* counter {service, action} */
	OB_M_SQS_RECEIVED,        /* counter */
	OB_M_SQS_REJECTED,        /* counter {reason} */
	OB_M_LAST_TURN,           /* gauge: unix time of the last loop turn */
	OB_M_EXPORTS,             /* gauge {state}: S3 exports (source) */
	OB_M_EXPORT_FAILURES,     /* counter {code}: S3 exports failed or canceled */
	OB_M_COUNT
};

extern const struct ob_metric_def ob_metrics_product_defs[OB_M_COUNT];

struct ob_metrics;

/* A registry over defs[0..n) (borrowed: a static table), every series
 * labelled role="<role>" first (copied). NULL + err on bad definitions
 * (a name or label that is not a valid Prometheus name, max_series 0) or
 * out of memory. */
struct ob_metrics *ob_metrics_new(const struct ob_metric_def *defs, size_t n, const char *role,
				  struct ob_error *err);

/* NULL is a no-op. */
void ob_metrics_free(struct ob_metrics *m);

/* Add delta to (counter) or set (gauge, or a counter mirrored from a
 * cumulative count kept elsewhere) the series of family fam with the given
 * label values, one per label of the family (NULL is read as ""). A series
 * that does not fit the cap is folded or dropped (see above). */
void ob_metrics_add(struct ob_metrics *m, unsigned fam, const char *const *values, double delta);
void ob_metrics_set(struct ob_metrics *m, unsigned fam, const char *const *values, double value);

/* Forget every series of fam (a gauge about to be recomputed). Counters
 * keep what CloudWatch was last sent, so use this on gauges only. */
void ob_metrics_reset(struct ob_metrics *m, unsigned fam);

/* The value of a series after folding; 0 when absent. For tests. */
double ob_metrics_get(const struct ob_metrics *m, unsigned fam, const char *const *values);

/* Series dropped so far because even the folded series did not fit. */
unsigned long ob_metrics_dropped(const struct ob_metrics *m);

/* Append the Prometheus text exposition (version 0.0.4) of every family to
 * out: "# HELP", "# TYPE", then one line per series. 0, or -1 + err (out of
 * memory). */
int ob_metrics_render(const struct ob_metrics *m, struct ob_buf *out, struct ob_error *err);

/* The CloudWatch datums of the families that have a cw_name: dimension
 * Role, plus DBIdentifier for per-database figures. The datums point into
 * m and stay valid until the next call that changes m. *ret_n may be 0.
 * 0 and *ret (free() it), or -1 + err. */
int ob_metrics_cloudwatch(struct ob_metrics *m, struct ob_cloudwatch_datum **ret,
			  size_t *ret_n, struct ob_error *err);

/* The datums of the last ob_metrics_cloudwatch() were delivered: counter
 * increases start again from the values they were computed from. */
void ob_metrics_cloudwatch_sent(struct ob_metrics *m);

/* Write len bytes of data to path atomically: a temporary file in the same
 * directory (mode 0644), fsync, rename over path, fsync the directory.
 * Readers see the old file or the new one, never a partial one; on any
 * failure the temporary file is removed and path is untouched. 0, or
 * -1 + err (OB_ERR_IO with errno, OB_ERR_INVALID for a path without a
 * directory part or too long). */
int ob_metrics_write_file(const char *path, const char *data, size_t len, struct ob_error *err);

#endif
