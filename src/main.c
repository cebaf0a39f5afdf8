/*
 * main.c - offsite-backupd: parse the command line, load the configuration,
 * build the AWS client, prove the credentials with sts:GetCallerIdentity,
 * open (and migrate) the job database, tell systemd we are ready, and run
 * the role's loop until SIGTERM.
 *
 * This file only wires modules together.
 *
 * Exit codes: 0 ok, 1 runtime failure (credentials, a database that is
 * full, read-only or unreadable: systemd restarts it), 2 usage or
 * configuration error, 3 the state database is corrupt (refused; see
 * offsite-backupctl rebuild).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "ob/alert.h"
#include "ob/buf.h"
#include "ob/client.h"
#include "ob/config.h"
#include "ob/daemon.h"
#include "ob/log.h"
#include "ob/report.h"
#include "ob/session.h"
#include "ob/source.h"
#include "ob/store.h"
#include "ob/target.h"
#include "ob/version.h"

#define DEFAULT_CONFIG "/etc/offsite-backup.conf"
#define EXIT_CORRUPT 3 /* the state database is corrupt: not restarted (see the unit) */
#define RECOVERY_DOC "docs/reliability.md#recovering-the-state-database"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static uint64_t watchdog_usec;  /* WatchdogSec= from systemd; 0 = none */
static uint64_t watchdog_last;  /* monotonic usec of the last ping */

/* Ping the systemd watchdog at half its interval. Called every loop turn,
 * about once a second during HTTP transfers (long polls included) and
 * during pauses. */
static void watchdog_feed(void)
{
	struct timespec ts;
	uint64_t now;

	if (watchdog_usec == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (now - watchdog_last < watchdog_usec / 2)
		return;
	watchdog_last = now;
	sd_notify(0, "WATCHDOG=1");
}

static void on_tick(void *ctx)
{
	(void)ctx;
	watchdog_feed();
}

/* A pending reload cuts a long poll short, so `systemctl reload` takes
 * effect within about a second, not after up to 20 s. */
static int on_transfer_progress(void *ctx)
{
	(void)ctx;
	watchdog_feed();
	return reload_requested != 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: offsite-backupd [--config FILE] [--check-config] [--foreground]\n"
		"  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
		"  -n, --check-config  validate the configuration and exit\n"
		"  -f, --foreground    log to stderr instead of the journal\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          this help\n");
}

/* Load path; on failure print every diagnostic line to stderr. */
static struct ob_config *load_config(const char *path)
{
	struct ob_config *cfg = NULL;
	struct ob_buf diag = OB_BUF_INIT;
	struct ob_error err;
	char line[1024];

	if (ob_config_load(path, &cfg, &diag, &err) < 0) {
		if (diag.len > 0)
			fputs(diag.data, stderr);
		else
			fprintf(stderr, "%s\n", ob_error_str(&err, line, sizeof(line)));
		ob_buf_clear(&diag);
		return NULL;
	}
	ob_buf_clear(&diag);
	return cfg;
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* What a reload has to reach. */
struct running {
	const char *config_path;
	struct ob_config **cfg;
	struct ob_source *source;  /* the role's state: one of the two is set */
	struct ob_target *target;
	struct ob_report *report;  /* the metrics; follows *cfg */
	struct ob_alerts *alerts;  /* follows *cfg (alert_topic_arn, alert_after) */
	struct ob_error fatal;     /* why the loop ended, when it failed */
};

/* The first setting that differs between old and fresh and is only read
 * at start-up (the client, the store and the queue are built from them),
 * or NULL. The secret is not compared: the running copy is wiped. */
static const char *restart_only_change(const struct ob_config *old,
				       const struct ob_config *fresh)
{
	if (old->role != fresh->role)
		return "role";
	if (old->credentials != fresh->credentials)
		return "credentials";
	if (strcmp(old->region, fresh->region) != 0)
		return "region";
	if (strcmp(old->queue_url, fresh->queue_url) != 0)
		return "queue_url";
	if (strcmp(old->state_db, fresh->state_db) != 0)
		return "state_db";
	if (strcmp(old->endpoint_url, fresh->endpoint_url) != 0)
		return "endpoint_url";
	if (strcmp(old->imds_url, fresh->imds_url) != 0)
		return "imds_url";
	if (strcmp(old->access_key_id, fresh->access_key_id) != 0)
		return "access_key_id";
	return NULL;
}

/* Re-read the configuration file: a valid one replaces the reloadable
 * settings (log_level, metrics_file, cloudwatch_namespace, alert_topic_arn,
 * alert_after, and the job
 * settings: filters, intervals, retention, copy slots, attempts); one that
 * changes what is only read at start-up (restart_only_change) is refused,
 * and so is an invalid one, reported line by line: the running
 * configuration stays. */
static void reload(struct running *r)
{
	struct ob_config *fresh;
	const char *key;

	reload_requested = 0;
	sd_notify(0, "RELOADING=1");
	fresh = load_config(r->config_path);
	if (fresh == NULL) {
		ob_log(OB_LOG_ERR, "reload: %s is invalid; keeping the running configuration",
		       r->config_path);
	} else if ((key = restart_only_change(*r->cfg, fresh)) != NULL) {
		ob_log(OB_LOG_ERR, "reload: %s changes %s, which needs a restart; keeping the "
		       "running configuration", r->config_path, key);
		ob_config_free(fresh);
	} else {
		ob_config_forget_secret(fresh);
		ob_log_set_level(fresh->log_level);
		if (r->source != NULL)
			ob_source_set_config(r->source, fresh);
		if (r->target != NULL)
			ob_target_set_config(r->target, fresh);
		ob_alerts_set_topic(r->alerts, fresh->alert_topic_arn);
		ob_alerts_set_after(r->alerts, fresh->alert_after_ms);
		ob_config_free(*r->cfg);
		*r->cfg = fresh;
		ob_log(OB_LOG_INFO, "reload: %s applied", r->config_path);
	}
	sd_notify(0, "READY=1");
}

static void each_turn(void *ctx)
{
	watchdog_feed();
	if (reload_requested)
		reload(ctx);
}

static void report_turn(void *ctx)
{
	struct running *r = ctx;

	ob_report_turn(r->report, *r->cfg);
}

static int target_intake(void *ctx, const struct ob_sqs_batch *batch, struct ob_error *err)
{
	return ob_target_intake(ctx, batch, err);
}

static int target_run(void *ctx, int64_t *ret_next_ms, struct ob_error *err)
{
	return ob_target_run(ctx, ret_next_ms, err);
}

static int source_intake(void *ctx, const struct ob_sqs_batch *batch, struct ob_error *err)
{
	return ob_source_intake(ctx, batch, err);
}

static int source_run(void *ctx, int64_t *ret_next_ms, struct ob_error *err)
{
	return ob_source_run(ctx, ret_next_ms, err);
}

/* Run the configured role's loop until a stop. */
static int run_role(struct running *r, struct ob_client *client, struct ob_store *store,
		    const char *account)
{
	const struct ob_config *cfg = *r->cfg;
	struct ob_daemon_options dopt;
	struct ob_error err;
	char line[1024];
	int rc;

	memset(&dopt, 0, sizeof(dopt));
	r->report = ob_report_new(cfg->role, store, client, NULL, &err);
	if (r->report == NULL) {
		ob_log(OB_LOG_ERR, "%s", ob_error_str(&err, line, sizeof(line)));
		return -1;
	}
	if (cfg->role == OB_ROLE_SOURCE) {
		struct ob_source_options o = { cfg, client, store, NULL, account, &stop_requested,
					       ob_report_metrics(r->report), r->alerts };

		r->source = ob_source_new(&o, &err);
		dopt.role.ctx = r->source;
		dopt.role.intake = source_intake;
		dopt.role.run = source_run;
	} else {
		struct ob_target_options o = { cfg, client, store, NULL, account, &stop_requested,
					       ob_report_metrics(r->report), r->alerts };

		r->target = ob_target_new(&o, &err);
		dopt.role.ctx = r->target;
		dopt.role.intake = target_intake;
		dopt.role.run = target_run;
	}
	if (dopt.role.ctx == NULL) {
		ob_log(OB_LOG_ERR, "%s", ob_error_str(&err, line, sizeof(line)));
		ob_report_free(r->report);
		r->report = NULL;
		return -1;
	}
	dopt.role.name = ob_role_name(cfg->role);
	dopt.client = client;
	dopt.store = store;
	dopt.queue_url = cfg->queue_url;
	dopt.stop = &stop_requested;
	dopt.each_turn = each_turn;
	dopt.each_turn_ctx = r;
	dopt.tick = on_tick;
	dopt.report = report_turn;
	dopt.report_ctx = r;
	dopt.alerts = r->alerts;
	/* The quota is looked at every sweep, at most every 10 minutes. */
	dopt.quota_every_ms = cfg->sweep_interval_ms > 0 &&
			      cfg->sweep_interval_ms < OB_DAEMON_QUOTA_EVERY_MS
			      ? cfg->sweep_interval_ms : OB_DAEMON_QUOTA_EVERY_MS;
	rc = ob_daemon_run(&dopt, &err);
	ob_report_final(r->report, *r->cfg);
	if (rc < 0) {
		r->fatal = err;
		if (ob_store_fault_of(&err) != OB_STORE_FAULT_CORRUPT)
			ob_log(OB_LOG_ERR, "%s", ob_error_str(&err, line, sizeof(line)));
	}
	ob_source_free(r->source);
	ob_target_free(r->target);
	ob_report_free(r->report);
	r->source = NULL;
	r->target = NULL;
	r->report = NULL;
	return rc;
}

/* Say why the job database cannot be opened, and choose the exit code: a
 * corrupt file is never repaired, replaced or deleted here (the jobs it
 * holds may be the only record of copies in flight); the operator moves
 * it aside and rebuilds it from AWS. Anything else (disk full, read-only,
 * unreadable) may pass, so systemd's restart tries again. */
static int store_refused(const char *path, const struct ob_error *err, const char *doing)
{
	char line[1024];

	if (ob_store_fault_of(err) == OB_STORE_FAULT_CORRUPT) {
		ob_log(OB_LOG_ERR, "state database %s is corrupt (%s); %s. "
		       "Recovery: stop the service, move the file (and any -wal, -shm) aside, "
		       "run 'offsite-backupctl rebuild', start the service; see "
		       "offsite-backupctl(1) and " RECOVERY_DOC, path, err->message, doing);
		return EXIT_CORRUPT;
	}
	ob_log(OB_LOG_ERR, "cannot open the job database %s: %s", path,
	       ob_error_str(err, line, sizeof(line)));
	return 1;
}

/* Keep secrets out of core files: no dumps, and not ptrace-attachable by
 * other processes of the same user. */
static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = DEFAULT_CONFIG;
	int check_only = 0, foreground = 0, ch, rc = 1;
	struct ob_client_options copt;
	struct ob_client client;
	struct ob_sts_identity id;
	struct ob_store *store = NULL;
	struct running run;
	struct ob_config *cfg;
	struct ob_error err;

	memset(&client, 0, sizeof(client));
	no_core_dumps(); /* before the configuration (and its secret) is read */
	while ((ch = getopt_long(argc, argv, "c:nfVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'n': check_only = 1; break;
		case 'f': foreground = 1; break;
		case 'V': printf("offsite-backupd %s\n", OB_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "offsite-backupd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	cfg = load_config(config_path);
	if (cfg == NULL)
		return 2;
	if (check_only) {
		printf("configuration OK\n");
		ob_config_free(cfg);
		return 0;
	}

	ob_log_init("offsite-backupd", foreground || getenv("JOURNAL_STREAM") == NULL,
		    cfg->log_level);
	if (install_signals() < 0) {
		ob_log(OB_LOG_ERR, "cannot install signal handlers: %s", strerror(errno));
		goto out;
	}
	memset(&copt, 0, sizeof(copt));
	copt.stop = &stop_requested;
	copt.progress = on_transfer_progress;
	if (ob_session_open(&client, cfg, &copt, &id, &err) < 0) {
		if (err.kind == OB_ERR_CANCELLED) {
			ob_log(OB_LOG_INFO, "stopped during start-up");
			rc = 0;
			goto out;
		}
		ob_log(OB_LOG_ERR, "%s", err.message);
		goto out;
	}
	if (cfg->role == OB_ROLE_SOURCE && strcmp(id.account, cfg->target_account) == 0) {
		ob_log(OB_LOG_ERR, "target_account %s is this daemon's own account; "
		       "the vault must be a separate account", cfg->target_account);
		rc = 2;
		goto out;
	}
	ob_log(OB_LOG_INFO, "offsite-backupd %s: role %s, account %s, region %s",
	       OB_VERSION, ob_role_name(cfg->role), id.account, cfg->region);
	if (stop_requested) {
		rc = 0;
		goto out;
	}
	if (ob_store_open(cfg->state_db, false, &store, &err) < 0) {
		rc = store_refused(cfg->state_db, &err, "refusing to start");
		goto out;
	}
	if (sd_watchdog_enabled(0, &watchdog_usec) <= 0)
		watchdog_usec = 0;
	sd_notifyf(0, "READY=1\nSTATUS=role %s in account %s", ob_role_name(cfg->role),
		   id.account);
	watchdog_feed();
	memset(&run, 0, sizeof(run));
	run.config_path = config_path;
	run.cfg = &cfg;
	{
		struct ob_alerts_options ao = { store, client.aws, NULL, cfg->alert_topic_arn,
						ob_role_name(cfg->role), id.account, cfg->region,
						cfg->alert_after_ms };

		run.alerts = ob_alerts_new(&ao, &err);
		if (run.alerts == NULL) {
			rc = store_refused(cfg->state_db, &err, "refusing to start");
			goto out;
		}
	}
	if (run_role(&run, &client, store, id.account) < 0) {
		/* Damage SQLite met only now (quick_check does not compare
		 * indexes with their tables): the same exit and advice as at
		 * start-up, not a restart loop. */
		if (ob_store_fault_of(&run.fatal) == OB_STORE_FAULT_CORRUPT)
			rc = store_refused(cfg->state_db, &run.fatal, "stopping");
		ob_alerts_free(run.alerts);
		goto out;
	}
	ob_alerts_free(run.alerts);
	sd_notify(0, "STOPPING=1");
	ob_log(OB_LOG_INFO, "stopping");
	rc = 0;
out:
	ob_store_close(store);
	ob_client_clear(&client);
	ob_config_free(cfg);
	return rc;
}
