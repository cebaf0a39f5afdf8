/*
 * ob/ctl.h - offsite-backupctl, the operator's view of the state database.
 *
 * `status`, `list`, `show JOB` and `retry JOB`, each as aligned text that
 * fits 100 columns or, with --json, as one JSON document on stdout. The
 * whole tool lives here so tests run it in-process against a temporary
 * database; ctl_main.c only hands it argv and the standard streams.
 * Reading commands open the database read-only; `retry` commits one
 * compare-and-set step, which is safe while the daemon runs.
 */
#ifndef OB_CTL_H
#define OB_CTL_H

#include <stdio.h>

#include "ob/clock.h"

/* Exit codes (DESIGN.md section 6). */
#define OB_CTL_EXIT_OK      0 /* done */
#define OB_CTL_EXIT_FAILURE 1 /* runtime failure: database, memory, output, lost race */
#define OB_CTL_EXIT_USAGE   2 /* usage or configuration error, unknown job or state,
			       * missing database, retry of a job that is not failed */

/* Run the command line argv[0..argc) (argv[0] is the program name and is
 * ignored). Results go to out, messages to errf; the streams stay open.
 * Returns one of the exit codes above. Never exits, never reads stdin. */
int ob_ctl_run(int argc, char *const argv[], FILE *out, FILE *errf);

/* Same with the clock injected (NULL = the system clock): "now" for ages,
 * RPO checks and the time a retry is due. */
int ob_ctl_run_clock(int argc, char *const argv[], FILE *out, FILE *errf,
		     const struct ob_clock *clock);

#endif
