/*
 * check_metrics.c - the metrics registry and its text rendering (exact
 * output, escaping of hostile label values, the cap and the fold into
 * "other", bad definitions), the atomic file writer (replaces, never leaves
 * a temporary file, fails cleanly on a missing or read-only directory),
 * the CloudWatch view (counter increases, per-database datums) and the
 * PutMetricData request builder (parameters, chunk limit, bad input).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_ob.h"
#include "ob/cloudwatch.h"
#include "ob/metrics.h"

static const struct ob_metric_def defs[] = {
	{ "t_events_total", "Events.", OB_METRIC_COUNTER, { "state", "code" }, 3, 1,
	  "Events", "Count", false, NULL, NULL },
	{ "t_age_seconds", "Age\\of \"db\"\nsecond line.", OB_METRIC_GAUGE, { "db" }, 2, -1,
	  "Age", "Seconds", true, NULL, NULL },
	{ "t_up", "Up.", OB_METRIC_GAUGE, { NULL }, 1, -1, NULL, NULL, false, NULL, NULL },
};

static struct ob_metrics *new_metrics(void)
{
	struct ob_error err;
	struct ob_metrics *m = ob_metrics_new(defs, 3, "source", &err);

	ck_assert_msg(m != NULL, "%s", err.message);
	return m;
}

static char *render(const struct ob_metrics *m)
{
	struct ob_buf b = OB_BUF_INIT;
	struct ob_error err;

	ck_assert_int_eq(ob_metrics_render(m, &b, &err), 0);
	return b.data ? ob_buf_steal(&b) : strdup("");
}

START_TEST(test_render_exact)
{
	struct ob_metrics *m = new_metrics();
	const char *a[] = { "copying", "Throttling" }, *db[] = { "orders" };
	char *text;

	ob_metrics_add(m, 0, a, 1);
	ob_metrics_add(m, 0, a, 2);
	ob_metrics_set(m, 1, db, 3600);
	ob_metrics_set(m, 2, NULL, 1);
	text = render(m);
	ck_assert_str_eq(text,
		"# HELP t_events_total Events.\n"
		"# TYPE t_events_total counter\n"
		"t_events_total{role=\"source\",state=\"copying\",code=\"Throttling\"} 3\n"
		"# HELP t_age_seconds Age\\\\of \"db\"\\nsecond line.\n"
		"# TYPE t_age_seconds gauge\n"
		"t_age_seconds{role=\"source\",db=\"orders\"} 3600\n"
		"# HELP t_up Up.\n"
		"# TYPE t_up gauge\n"
		"t_up{role=\"source\"} 1\n");
	ck_assert(ob_metrics_get(m, 0, a) == 3);
	free(text);
	ob_metrics_free(m);
}
END_TEST

START_TEST(test_hostile_labels)
{
	struct ob_metrics *m = new_metrics();
	const char *a[] = { "a\"b\\c\nd", "x\x01y\xc3\xa9z\x7f" };
	char big[400];
	const char *b[] = { big, NULL };
	char *text;

	memset(big, 'Q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ob_metrics_add(m, 0, a, 1);
	ob_metrics_add(m, 0, b, 1);
	text = render(m);
	/* Quote, backslash and newline escaped; control and non-ASCII bytes
	 * replaced; a huge value cut; NULL read as "". */
	ck_assert_ptr_nonnull(strstr(text, "state=\"a\\\"b\\\\c\\nd\",code=\"x?y??z?\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, ",code=\"\"} 1\n"));
	ck_assert_ptr_null(strstr(text, "QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"));
	ck_assert_ptr_nonnull(strstr(text, "QQQQQQQQ\",code"));
	/* Every line ends where it should: no raw newline inside a value. */
	{
		char *line, *save = NULL;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			ck_assert_msg(line[0] == '#' || strncmp(line, "t_", 2) == 0, "line: %s", line);
	}
	free(text);
	ob_metrics_free(m);
}
END_TEST

START_TEST(test_cap_folds_into_other)
{
	struct ob_metrics *m = new_metrics();
	char code[32];
	const char *l[] = { "copying", code };
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(code, sizeof(code), "Code%d", i);
		ob_metrics_add(m, 0, l, 1);
	}
	/* Three series fit; the 97 others share code="other". */
	snprintf(code, sizeof(code), "Code%d", 0);
	ck_assert(ob_metrics_get(m, 0, l) == 1);
	snprintf(code, sizeof(code), "other");
	ck_assert(ob_metrics_get(m, 0, l) == 97);
	snprintf(code, sizeof(code), "Code%d", 50);
	ck_assert(ob_metrics_get(m, 0, l) == 97); /* read through the fold */
	ck_assert_uint_eq(ob_metrics_dropped(m), 0);
	ob_metrics_free(m);
}
END_TEST

START_TEST(test_cap_without_fold_drops)
{
	struct ob_metrics *m = new_metrics();
	char db[32];
	const char *l[] = { db };
	char *text;
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(db, sizeof(db), "db%d", i);
		ob_metrics_set(m, 1, l, i);
	}
	ck_assert_uint_eq(ob_metrics_dropped(m), 3);
	text = render(m);
	ck_assert_ptr_nonnull(strstr(text, "db=\"db1\"} 1\n"));
	ck_assert_ptr_null(strstr(text, "db2"));
	free(text);
	/* A reset gauge family starts again from nothing. */
	ob_metrics_reset(m, 1);
	snprintf(db, sizeof(db), "db4");
	ob_metrics_set(m, 1, l, 4);
	ck_assert(ob_metrics_get(m, 1, l) == 4);
	ob_metrics_free(m);
}
END_TEST

START_TEST(test_values_and_null)
{
	struct ob_metrics *m = new_metrics();
	char *text;

	ob_metrics_set(m, 2, NULL, NAN);
	text = render(m);
	ck_assert_ptr_nonnull(strstr(text, "t_up{role=\"source\"} NaN\n"));
	free(text);
	ob_metrics_set(m, 2, NULL, INFINITY);
	text = render(m);
	ck_assert_ptr_nonnull(strstr(text, "} +Inf\n"));
	free(text);
	ob_metrics_set(m, 2, NULL, 0.1);
	text = render(m);
	ck_assert_ptr_nonnull(strstr(text, "} 0.1\n"));
	free(text);
	ob_metrics_set(m, 2, NULL, 1234567890123.0);
	text = render(m);
	ck_assert_ptr_nonnull(strstr(text, "} 1234567890123\n"));
	free(text);
	ob_metrics_free(m);
	/* NULL registry: every call is a no-op. */
	ob_metrics_add(NULL, 0, NULL, 1);
	ob_metrics_set(NULL, 0, NULL, 1);
	ob_metrics_reset(NULL, 0);
	ck_assert(ob_metrics_get(NULL, 0, NULL) == 0);
	ob_metrics_free(NULL);
	/* Out-of-range family: ignored. */
	m = new_metrics();
	ob_metrics_add(m, 99, NULL, 1);
	ob_metrics_free(m);
}
END_TEST

START_TEST(test_bad_defs)
{
	static const struct ob_metric_def bad_name[] = {
		{ "9bad", "x", OB_METRIC_GAUGE, { NULL }, 1, -1, NULL, NULL, false, NULL, NULL } };
	static const struct ob_metric_def bad_label[] = {
		{ "ok", "x", OB_METRIC_GAUGE, { "a-b" }, 1, -1, NULL, NULL, false, NULL, NULL } };
	static const struct ob_metric_def role_label[] = {
		{ "ok", "x", OB_METRIC_GAUGE, { "role" }, 1, -1, NULL, NULL, false, NULL, NULL } };
	static const struct ob_metric_def bad_fold[] = {
		{ "ok", "x", OB_METRIC_GAUGE, { "a" }, 1, 1, NULL, NULL, false, NULL, NULL } };
	static const struct ob_metric_def no_cap[] = {
		{ "ok", "x", OB_METRIC_GAUGE, { "a" }, 0, -1, NULL, NULL, false, NULL, NULL } };
	struct ob_error err;

	ck_assert_ptr_null(ob_metrics_new(bad_name, 1, "r", &err));
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_ptr_null(ob_metrics_new(bad_label, 1, "r", &err));
	ck_assert_ptr_null(ob_metrics_new(role_label, 1, "r", &err));
	ck_assert_ptr_null(ob_metrics_new(bad_fold, 1, "r", &err));
	ck_assert_ptr_null(ob_metrics_new(no_cap, 1, "r", &err));
	/* The product's own table is valid. */
	ob_metrics_free(ob_metrics_new(ob_metrics_product_defs, OB_M_COUNT, "target", &err));
}
END_TEST

/* ---- the file writer ---------------------------------------------------- */

static char *make_dir(void)
{
	char tmpl[] = "/tmp/ob-metrics-XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 4096);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_write_file)
{
	char *dir = make_dir(), path[256], *got;
	struct ob_error err;
	struct stat st;

	snprintf(path, sizeof(path), "%s/offsite-backup.prom", dir);
	ck_assert_int_eq(ob_metrics_write_file(path, "a 1\n", 4, &err), 0);
	got = slurp(path);
	ck_assert_str_eq(got, "a 1\n");
	free(got);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	/* Replaced whole; no temporary file left behind. */
	ck_assert_int_eq(ob_metrics_write_file(path, "b 2\nc 3\n", 8, &err), 0);
	got = slurp(path);
	ck_assert_str_eq(got, "b 2\nc 3\n");
	free(got);
	ck_assert_int_eq(count_entries(dir), 1);
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

START_TEST(test_write_file_errors)
{
	char *dir = make_dir(), path[256], *got;
	struct ob_error err;

	/* A directory that does not exist. */
	snprintf(path, sizeof(path), "%s/missing/x.prom", dir);
	ck_assert_int_eq(ob_metrics_write_file(path, "a 1\n", 4, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_IO);
	ck_assert_int_eq(err.sys_errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err.message, "x.prom"));
	/* Not a file path. */
	ck_assert_int_eq(ob_metrics_write_file("relative.prom", "", 0, &err), -1);
	ck_assert_int_eq(err.kind, OB_ERR_INVALID);
	ck_assert_int_eq(ob_metrics_write_file("/tmp/", "", 0, &err), -1);
	/* A read-only directory: the old file stays whole, nothing is left. */
	snprintf(path, sizeof(path), "%s/x.prom", dir);
	ck_assert_int_eq(ob_metrics_write_file(path, "old 1\n", 6, &err), 0);
	ck_assert_int_eq(chmod(dir, 0555), 0);
	if (access(dir, W_OK) != 0) { /* root writes anyway */
		ck_assert_int_eq(ob_metrics_write_file(path, "new 2\n", 6, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_IO);
		ck_assert_int_eq(err.sys_errno, EACCES);
	}
	chmod(dir, 0755);
	got = slurp(path);
	ck_assert(strcmp(got, "old 1\n") == 0 || strcmp(got, "new 2\n") == 0);
	free(got);
	ck_assert_int_eq(count_entries(dir), 1);
	/* The target is a directory: rename fails, the temporary goes. */
	snprintf(path, sizeof(path), "%s/sub", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	{
		char inner[300];

		snprintf(inner, sizeof(inner), "%s/f", path);
		ck_assert_int_eq(ob_metrics_write_file(inner, "x", 1, &err), 0);
		ck_assert_int_eq(ob_metrics_write_file(path, "y 1\n", 4, &err), -1);
		ck_assert_int_eq(err.kind, OB_ERR_IO);
		unlink(inner);
	}
	ck_assert_int_eq(count_entries(dir), 2); /* x.prom and sub */
	rmdir(path);
	snprintf(path, sizeof(path), "%s/x.prom", dir);
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

/* ---- CloudWatch --------------------------------------------------------- */

static const struct ob_cloudwatch_datum *datum(const struct ob_cloudwatch_datum *d, size_t n,
					       const char *name, const char *db)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(d[i].name, name) == 0 &&
		    (db == NULL ? d[i].n_dims == 1 :
		     d[i].n_dims == 2 && strcmp(d[i].dims[1].value, db) == 0))
			return &d[i];
	return NULL;
}

START_TEST(test_cloudwatch_view)
{
	struct ob_metrics *m = new_metrics();
	const char *a[] = { "copying", "Throttling" }, *b[] = { "copied", "X" };
	const char *d1[] = { "orders" }, *d2[] = { " " };
	struct ob_cloudwatch_datum *d;
	const struct ob_cloudwatch_datum *x;
	struct ob_error err;
	size_t n;

	ob_metrics_add(m, 0, a, 5);
	ob_metrics_add(m, 0, b, 2);
	ob_metrics_set(m, 1, d1, 60);
	ob_metrics_set(m, 1, d2, 7);
	ck_assert_int_eq(ob_metrics_cloudwatch(m, &d, &n, &err), 0);
	ck_assert_uint_eq(n, 3); /* Events, Age x2; t_up has no cw_name */
	x = datum(d, n, "Events", NULL);
	ck_assert_ptr_nonnull(x);
	ck_assert(x->value == 7);
	ck_assert_str_eq(x->dims[0].name, "Role");
	ck_assert_str_eq(x->dims[0].value, "source");
	ck_assert_str_eq(x->unit, "Count");
	x = datum(d, n, "Age", "orders");
	ck_assert_ptr_nonnull(x);
	ck_assert(x->value == 60);
	ck_assert_str_eq(x->dims[1].name, "DBIdentifier");
	ck_assert_ptr_nonnull(datum(d, n, "Age", "-")); /* blank value made non-blank */
	free(d);
	/* Not delivered: the increase keeps growing. */
	ob_metrics_add(m, 0, a, 1);
	ck_assert_int_eq(ob_metrics_cloudwatch(m, &d, &n, &err), 0);
	ck_assert(datum(d, n, "Events", NULL)->value == 8);
	free(d);
	ob_metrics_cloudwatch_sent(m);
	ob_metrics_add(m, 0, b, 1);
	ck_assert_int_eq(ob_metrics_cloudwatch(m, &d, &n, &err), 0);
	ck_assert(datum(d, n, "Events", NULL)->value == 1);
	free(d);
	ob_metrics_free(m);
}
END_TEST

START_TEST(test_cloudwatch_build)
{
	struct ob_cloudwatch_datum d[2] = {
		{ "CopiesInFlight", "Count", { { "Role", "source" } }, 1, 3 },
		{ "NewestVerifiedCopyAge", "Seconds",
		  { { "Role", "target" }, { "DBIdentifier", "orders prod" } }, 2, 0.5 },
	};
	struct ob_aws_params p;
	struct ob_error err;

	ck_assert_int_eq(ob_cloudwatch_build(&p, "Offsite/Backup", d, 2, &err), 0);
	ck_assert_str_eq(p.form.data,
		"Action=PutMetricData&Version=2010-08-01&Namespace=Offsite%2FBackup"
		"&MetricData.member.1.MetricName=CopiesInFlight"
		"&MetricData.member.1.Dimensions.member.1.Name=Role"
		"&MetricData.member.1.Dimensions.member.1.Value=source"
		"&MetricData.member.1.Value=3&MetricData.member.1.Unit=Count"
		"&MetricData.member.2.MetricName=NewestVerifiedCopyAge"
		"&MetricData.member.2.Dimensions.member.1.Name=Role"
		"&MetricData.member.2.Dimensions.member.1.Value=target"
		"&MetricData.member.2.Dimensions.member.2.Name=DBIdentifier"
		"&MetricData.member.2.Dimensions.member.2.Value=orders%20prod"
		"&MetricData.member.2.Value=0.5&MetricData.member.2.Unit=Seconds");
	ck_assert_str_eq(p.action, "PutMetricData");
	ob_aws_params_clear(&p);
	/* No datums is a valid (if pointless) request. */
	ck_assert_int_eq(ob_cloudwatch_build(&p, "ns", d, 0, &err), 0);
	ob_aws_params_clear(&p);
}
END_TEST

START_TEST(test_cloudwatch_build_bad)
{
	struct ob_cloudwatch_datum d = { "X", "Count", { { "Role", "source" } }, 1, 1 };
	struct ob_aws_params p;
	struct ob_error err;
	char longns[300];

	memset(longns, 'n', sizeof(longns) - 1);
	longns[sizeof(longns) - 1] = '\0';
#define BAD(ns, dp, n)								\
	do {									\
		ck_assert_int_eq(ob_cloudwatch_build(&p, ns, dp, n, &err), -1);	\
		ck_assert_int_eq(err.kind, OB_ERR_INVALID);			\
		ob_aws_params_clear(&p);					\
	} while (0)
	BAD("", &d, 1);
	BAD(NULL, &d, 1);
	BAD("AWS/RDS", &d, 1);
	BAD("a\nb", &d, 1);
	BAD(longns, &d, 1);
	BAD("ns", &d, OB_CLOUDWATCH_MAX_DATUMS + 1);
	d.value = NAN;
	BAD("ns", &d, 1);
	d.value = INFINITY;
	BAD("ns", &d, 1);
	d.value = 1;
	d.dims[0].value = "";
	BAD("ns", &d, 1);
	d.dims[0].value = "a\tb";
	BAD("ns", &d, 1);
	d.dims[0].value = "source";
	d.name = "";
	BAD("ns", &d, 1);
	d.name = "X";
	d.n_dims = 3;
	BAD("ns", &d, 1);
#undef BAD
}
END_TEST

Suite *ob_suite_metrics(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_render_exact);
	tcase_add_test(tc, test_hostile_labels);
	tcase_add_test(tc, test_cap_folds_into_other);
	tcase_add_test(tc, test_cap_without_fold_drops);
	tcase_add_test(tc, test_values_and_null);
	tcase_add_test(tc, test_bad_defs);
	tcase_add_test(tc, test_write_file);
	tcase_add_test(tc, test_write_file_errors);
	tcase_add_test(tc, test_cloudwatch_view);
	tcase_add_test(tc, test_cloudwatch_build);
	tcase_add_test(tc, test_cloudwatch_build_bad);
	suite_add_tcase(s, tc);
	return s;
}
