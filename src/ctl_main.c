/*
 * ctl_main.c - offsite-backupctl: inspect and steer the daemon's state
 * database. Everything is in ctl.c (ob/ctl.h) so the tests run it
 * in-process; this file only hands it the command line and the streams.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error (see ob/ctl.h).
 */
#include <stdio.h>

#include "ob/ctl.h"

int main(int argc, char **argv)
{
	return ob_ctl_run(argc, argv, stdout, stderr);
}
