/*
 * log.c - one log line to journald or stderr.
 *
 * journald gets PRIORITY and SYSLOG_IDENTIFIER as structured fields so
 * `journalctl -u offsite-backup -p warning` works; stderr gets a level
 * prefix for --foreground runs and tests.
 */
#include "ob/log.h"

#include <stdarg.h>
#include <stdio.h>

#include <systemd/sd-journal.h>

static const char *log_ident = "offsite-backup";
static bool log_stderr = true;
static enum ob_log_level log_max = OB_LOG_INFO;

void ob_log_init(const char *ident, bool to_stderr, enum ob_log_level max_level)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_max = max_level;
}

void ob_log_set_level(enum ob_log_level max_level)
{
	log_max = max_level;
}

static const char *level_name(enum ob_log_level level)
{
	switch (level) {
	case OB_LOG_ERR: return "error";
	case OB_LOG_WARNING: return "warning";
	case OB_LOG_NOTICE: return "notice";
	case OB_LOG_INFO: return "info";
	case OB_LOG_DEBUG: return "debug";
	}
	return "info";
}

void ob_log(enum ob_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_stderr) {
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_name(level), msg);
		return;
	}
	sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", (int)level,
			"SYSLOG_IDENTIFIER=%s", log_ident, NULL);
}

/* One line about a job, with or without a MESSAGE_ID. */
static void job_line(enum ob_log_level level, const char *message_id, const char *job_id,
		     const char *state, const char *snapshot, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_stderr) {
		fprintf(stderr, "%s: %s: %s%s%s%s%s%s%s\n", log_ident, level_name(level),
			message_id ? "[" : "", message_id ? message_id : "",
			message_id ? "] " : "", job_id ? "job " : "", job_id ? job_id : "",
			job_id ? ": " : "", msg);
		return;
	}
	/* Absent job fields are sent empty: sd_journal_send takes a fixed list. */
	if (message_id != NULL)
		sd_journal_send("MESSAGE=%s", msg, "MESSAGE_ID=%s", message_id,
				"PRIORITY=%d", (int)level, "SYSLOG_IDENTIFIER=%s", log_ident,
				"OB_JOB=%s", job_id ? job_id : "", "OB_STATE=%s", state ? state : "",
				"OB_SNAPSHOT=%s", snapshot ? snapshot : "", NULL);
	else
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", (int)level,
				"SYSLOG_IDENTIFIER=%s", log_ident,
				"OB_JOB=%s", job_id ? job_id : "", "OB_STATE=%s", state ? state : "",
				"OB_SNAPSHOT=%s", snapshot ? snapshot : "", NULL);
}

void ob_log_job(enum ob_log_level level, const char *job_id, const char *state,
		const char *snapshot, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	job_line(level, NULL, job_id, state, snapshot, fmt, ap);
	va_end(ap);
}

void ob_log_alert(enum ob_log_level level, const char *message_id, const char *job_id,
		  const char *state, const char *snapshot, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	job_line(level, message_id, job_id, state, snapshot, fmt, ap);
	va_end(ap);
}
