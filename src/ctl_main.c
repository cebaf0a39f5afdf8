/*
 * ctl_main.c - offsite-backupctl: inspect the daemon's state database.
 *
 * The job store arrives with the source role; until then the tool knows its
 * commands and says plainly that there is no state to show.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "ob/version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: offsite-backupctl [--json] COMMAND\n"
		"commands:\n"
		"  status            job counts per state, RPO breaches\n"
		"  list [--state S]  jobs, optionally in one state\n"
		"  show JOB          one job and its history\n"
		"  retry JOB         put a failed job back where it failed\n"
		"  --version, --help\n");
}

int main(int argc, char **argv)
{
	static const char *const commands[] = { "status", "list", "show", "retry" };
	size_t i;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[a], "--version") == 0) {
			printf("offsite-backupctl %s\n", OB_VERSION);
			return 0;
		}
		if (strcmp(argv[a], "--json") == 0)
			continue;
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[a], commands[i]) == 0) {
				fprintf(stderr, "offsite-backupctl: %s: this version keeps no job "
					"state yet (the job store comes with the source role)\n",
					commands[i]);
				return 1;
			}
		fprintf(stderr, "offsite-backupctl: unknown command '%s'\n", argv[a]);
		usage(stderr);
		return 2;
	}
	usage(stderr);
	return 2;
}
