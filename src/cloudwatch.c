/*
 * cloudwatch.c - Amazon CloudWatch PutMetricData (Query protocol, version
 * 2010-08-01, endpoint prefix "monitoring").
 *
 * The current API model speaks CBOR and JSON too, but keeps the Query
 * protocol the SDKs have always used; it is the one our request core
 * speaks, and the answer carries nothing but a request id.
 */
#include "ob/cloudwatch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CW_VERSION "2010-08-01"

/* CloudWatch refuses ASCII control characters in names and values. */
static bool text_ok(const char *s, size_t max)
{
	size_t len = s != NULL ? strlen(s) : 0, i;

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int ob_cloudwatch_build(struct ob_aws_params *p, const char *ns,
			const struct ob_cloudwatch_datum *datums, size_t n, struct ob_error *err)
{
	char num[64];
	size_t i, k;

	ob_aws_params_init(p, "PutMetricData", CW_VERSION);
	if (!text_ok(ns, OB_CLOUDWATCH_NAME_MAX) || strncmp(ns, "AWS/", 4) == 0)
		return ob_error_set(err, OB_ERR_INVALID, "PutMetricData: bad namespace");
	if (n > OB_CLOUDWATCH_MAX_DATUMS)
		return ob_error_set(err, OB_ERR_INVALID, "PutMetricData: %zu datums (at most %d)",
				    n, OB_CLOUDWATCH_MAX_DATUMS);
	ob_aws_param(p, "Namespace", ns);
	for (i = 0; i < n; i++) {
		const struct ob_cloudwatch_datum *d = &datums[i];

		if (!text_ok(d->name, OB_CLOUDWATCH_NAME_MAX) || !isfinite(d->value) ||
		    d->n_dims > OB_CLOUDWATCH_MAX_DIMS)
			return ob_error_set(err, OB_ERR_INVALID, "PutMetricData: bad datum %zu", i);
		ob_aws_paramf(p, d->name, "MetricData.member.%zu.MetricName", i + 1);
		for (k = 0; k < d->n_dims; k++) {
			if (!text_ok(d->dims[k].name, OB_CLOUDWATCH_NAME_MAX) ||
			    !text_ok(d->dims[k].value, OB_CLOUDWATCH_NAME_MAX))
				return ob_error_set(err, OB_ERR_INVALID, "PutMetricData: datum %zu "
						    "has a bad dimension", i);
			ob_aws_paramf(p, d->dims[k].name, "MetricData.member.%zu.Dimensions.member.%zu.Name",
				      i + 1, k + 1);
			ob_aws_paramf(p, d->dims[k].value,
				      "MetricData.member.%zu.Dimensions.member.%zu.Value", i + 1, k + 1);
		}
		/* %.17g round-trips a double; CloudWatch reads it as one. */
		snprintf(num, sizeof(num), "%.17g", d->value);
		ob_aws_paramf(p, num, "MetricData.member.%zu.Value", i + 1);
		if (d->unit != NULL)
			ob_aws_paramf(p, d->unit, "MetricData.member.%zu.Unit", i + 1);
	}
	if (p->failed)
		return ob_error_set(err, OB_ERR_NOMEM, "PutMetricData: out of memory");
	return 0;
}

int ob_cloudwatch_put_metric_data(struct ob_aws *aws, const char *ns,
				  const struct ob_cloudwatch_datum *datums, size_t n,
				  struct ob_error *err)
{
	size_t start, m;

	for (start = 0; start < n; start += m) {
		struct ob_aws_params p;
		struct ob_xml_doc *doc = NULL;
		int rc;

		m = n - start < OB_CLOUDWATCH_MAX_DATUMS ? n - start : OB_CLOUDWATCH_MAX_DATUMS;
		rc = ob_cloudwatch_build(&p, ns, datums + start, m, err);
		if (rc == 0)
			rc = ob_aws_query(aws, "monitoring", &p, &doc, err);
		ob_xml_free(doc);
		ob_aws_params_clear(&p);
		if (rc < 0)
			return -1;
	}
	return 0;
}
