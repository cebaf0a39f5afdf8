/*
 * ob/log.h - logging to journald (or stderr with --foreground).
 *
 * Only the shell (main.c and the daemon loop) logs; library modules report
 * through struct ob_error. Messages must never carry secrets: callers pass
 * error records whose messages are already secret-free.
 */
#ifndef OB_LOG_H
#define OB_LOG_H

#include <stdbool.h>

#include "ob/config.h"

/* Choose the sink and the most verbose level that is emitted. */
void ob_log_init(const char *ident, bool to_stderr, enum ob_log_level max_level);

/* Change the level (after a configuration reload). */
void ob_log_set_level(enum ob_log_level max_level);

/* Log one line at level. */
void ob_log(enum ob_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
