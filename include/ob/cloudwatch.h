/*
 * ob/cloudwatch.h - Amazon CloudWatch (AWS Query protocol, version
 * 2010-08-01, endpoint prefix "monitoring").
 *
 * PutMetricData only: the daemon's key figures, batched (the caller sends
 * at most once a minute), at most OB_CLOUDWATCH_MAX_DATUMS per request.
 */
#ifndef OB_CLOUDWATCH_H
#define OB_CLOUDWATCH_H

#include <stddef.h>

#include "ob/aws.h"
#include "ob/error.h"

#define OB_CLOUDWATCH_MAX_DATUMS 1000 /* MetricData members per request */
#define OB_CLOUDWATCH_MAX_DIMS   2    /* we send Role and DBIdentifier */
#define OB_CLOUDWATCH_NAME_MAX   255  /* namespace, metric, dimension value */

struct ob_cloudwatch_dim {
	const char *name;
	const char *value;
};

/* One datum; strings borrowed. */
struct ob_cloudwatch_datum {
	const char *name;   /* MetricName */
	const char *unit;   /* a StandardUnit ("Count", "Seconds"), or NULL */
	struct ob_cloudwatch_dim dims[OB_CLOUDWATCH_MAX_DIMS];
	size_t n_dims;
	double value;       /* finite */
};

/* Pure: the Query parameters of one PutMetricData request for datums
 * [0..n), n <= OB_CLOUDWATCH_MAX_DATUMS, into *p (initialised here; the
 * caller clears it). 0, or -1 + err: OB_ERR_INVALID for an empty or bad
 * namespace (control characters, longer than 255, "AWS/..."), too many
 * datums, a non-finite value, an empty name or dimension value, or a
 * dimension value with control characters. */
int ob_cloudwatch_build(struct ob_aws_params *p, const char *ns,
			const struct ob_cloudwatch_datum *datums, size_t n, struct ob_error *err);

/* cloudwatch:PutMetricData of datums [0..n) under namespace ns, in as many
 * requests as OB_CLOUDWATCH_MAX_DATUMS takes (none for n == 0). Stops at
 * the first failed request. 0, or -1 + err (as ob_cloudwatch_build, or the
 * AWS error). */
int ob_cloudwatch_put_metric_data(struct ob_aws *aws, const char *ns,
				  const struct ob_cloudwatch_datum *datums, size_t n,
				  struct ob_error *err);

#endif
