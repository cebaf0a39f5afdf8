/*
 * ob/config.h - /etc/offsite-backup.conf.
 *
 * INI style (`[section]`, `key = value`, `#` comments), table-driven: one
 * table row per key names its section, type, default and which role may use
 * it. Loading reports every problem at once as "file:line: message" lines.
 * A file that holds a secret key must not be readable by group or others.
 */
#ifndef OB_CONFIG_H
#define OB_CONFIG_H

#include <stdint.h>

#include "ob/buf.h"
#include "ob/creds.h"
#include "ob/error.h"

enum ob_role {
	OB_ROLE_SOURCE = 0,
	OB_ROLE_TARGET,
};

enum ob_log_level {
	OB_LOG_ERR = 3,
	OB_LOG_WARNING = 4,
	OB_LOG_NOTICE = 5,
	OB_LOG_INFO = 6,
	OB_LOG_DEBUG = 7,
};

/* Every string is owned by the config (malloc'ed, never NULL: "" when
 * unset); durations are milliseconds. Comma lists (include_db, exclude_db,
 * allowed_source_accounts) are stored normalised: "a, b" becomes "a,b". */
struct ob_config {
	char *path;                  /* the file it was loaded from */

	/* [daemon] */
	enum ob_role role;
	char *region;
	char *queue_url;
	char *state_db;              /* default /var/lib/offsite-backup/state.db */
	int64_t poll_interval_ms;    /* default 30s */
	int64_t sweep_interval_ms;   /* default 1h; 0 disables the sweep */
	long max_concurrent_copies;  /* default 5, 1..20 */
	long max_attempts;           /* default 10, 1..1000 */
	enum ob_log_level log_level; /* default info */
	char *metrics_file;          /* "" = no Prometheus text file */
	char *cloudwatch_namespace;  /* "" = no CloudWatch metrics */
	char *alert_topic_arn;       /* "" = no alerts (the journal only) */
	int64_t alert_after_ms;      /* default 5m: the queue unreachable or the
				      * credentials failing this long alerts */

	/* [aws] */
	enum ob_creds_source credentials; /* default instance */
	char *access_key_id;         /* static only */
	char *secret_access_key;     /* static only; wiped on free */
	char *endpoint_url;          /* "" = the real AWS endpoints */
	char *imds_url;              /* default http://169.254.169.254 */

	/* [source] */
	char *export_kms_key;
	char *target_account;
	char *notify_topic_arn;
	char *include_db;            /* default "*" */
	char *exclude_db;
	char *require_tag;
	int64_t export_copy_retention_ms; /* default 3d */
	char *export_to_s3_bucket;   /* "" = no S3 export (docs/s3-export.md) */
	char *export_to_s3_prefix;   /* "" = the bucket's root */
	char *export_iam_role_arn;   /* the role RDS assumes to write the export */

	/* [target] */
	char *import_kms_key;
	char *allowed_source_accounts;
	long keep_daily, keep_weekly, keep_monthly, keep_yearly; /* 7, 4, 12, 5 */
	int64_t rpo_ms;              /* default 26h */
};

/* Parse and validate the file at path. On success returns 0 and a new config
 * in *ret (free with ob_config_free). On failure returns -1, leaves *ret
 * NULL, appends every problem to diag as "path:line: message\n" lines (line
 * 0 for whole-file problems such as a missing required key), and sets err to
 * a one-line summary (OB_ERR_CONFIG, or OB_ERR_IO when unreadable). */
int ob_config_load(const char *path, struct ob_config **ret, struct ob_buf *diag,
		   struct ob_error *err);

/* Same, from a string already in memory; name is used in messages and mode
 * is the file's permission bits (for the secret-file check). */
int ob_config_parse(const char *name, const char *text, size_t len, unsigned mode,
		    struct ob_config **ret, struct ob_buf *diag, struct ob_error *err);

/* Wipe secret_access_key (it becomes "") once it has been handed to the
 * credentials provider, so the daemon keeps one copy only. */
void ob_config_forget_secret(struct ob_config *cfg);

/* Wipe secrets and free. NULL is a no-op. */
void ob_config_free(struct ob_config *cfg);

/* Parse a duration with a unit ("250ms", "30s", "5m", "26h", "7d"; "0" alone
 * is allowed) into milliseconds. Overflow-safe. Returns 0 or -1. */
int ob_config_parse_duration(const char *s, int64_t *ret_ms);

const char *ob_role_name(enum ob_role role);

/* Is account one of the comma-separated list (as the configuration stores
 * allowed_source_accounts; blanks around entries tolerated)? NULL or ""
 * holds none. */
bool ob_config_account_listed(const char *list, const char *account);

#endif
