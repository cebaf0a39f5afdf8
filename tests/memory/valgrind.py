#!/usr/bin/env python3
"""valgrind.py --build DIR [--soak] [--logs DIR] - the integration tests
under valgrind memcheck.

Runs tests/integration/run.py --valgrind: every offsite-backupd,
offsite-backupctl and ob-probe the tests start runs under memcheck
(--leak-check=full, definite and indirect leaks are errors; suppressions:
tests/memory/valgrind.supp), with the tests' timeouts stretched 10x. The
short form (make memory, part of make check) is a representative subset,
about 3 minutes: the source role end to end, the vault end to end (two
instances and an Aurora cluster, both daemons), offsite-backupctl on a live
database, the probe's retry tests, the daemon's SIGTERM/SIGHUP/config
tests, SIGTERM with jobs in flight and a restart, and the sd_notify
protocol (READY, WATCHDOG, RELOADING, STOPPING). --soak runs the whole
suite (about 10 minutes).

Then every valgrind log is read (tests/memory/vglog.py): an invalid
access, a use of uninitialised memory, a definitely or indirectly lost
block or any other memcheck error fails the run, printed with its excerpt.
Processes a test kills with SIGKILL cannot report leaks; their logs are
still read for errors. Ends with

    valgrind: <N> processes checked, <E> errors, <B> bytes definitely lost

and exits 1 on any failed test or memcheck error.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "..", "integration", "run.py")

SHORT = [
    "TestSourceFlow.test_manual_snapshot_event_is_exported_shared_and_announced",
    "test_two_instances_and_an_aurora_cluster_arrive_encrypted_verified",
    "TestCtl",
    "TestRetries",
    "TestDaemon",
    "test_sigterm_with_jobs_in_flight_then_restart_completes",
    "TestNotify",
]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--soak", action="store_true", help="the whole integration suite")
    ap.add_argument("--logs", default=None, help="keep the valgrind logs here")
    args = ap.parse_args(argv[1:])
    if shutil.which("valgrind") is None:
        print("valgrind: not installed", file=sys.stderr)
        return 1
    logs = args.logs or tempfile.mkdtemp(prefix="ob-vg-")
    cmd = [sys.executable, RUN, "--build", args.build, "--valgrind", "--valgrind-logs", logs]
    if not args.soak:
        for k in SHORT:
            cmd += ["-k", k]
    t0 = time.monotonic()
    rc = subprocess.call(cmd)
    took = time.monotonic() - t0
    sys.path.insert(0, HERE)
    import vglog  # noqa: E402
    with open(os.devnull, "w") as null:
        errors = vglog.report(logs, out=null)
    keep = args.logs or rc != 0 or errors != 0
    print(f"valgrind: {'soak' if args.soak else 'short'} form took {took:.0f} s"
          + (f"; logs in {logs}" if keep else ""))
    # The figure line, last (run.py printed the excerpts already).
    logs_list, _ = vglog.summarize(logs)
    checked = sum(1 for lg in logs_list if not lg.killed)
    definite = sum(lg.definite for lg in logs_list)
    print(f"valgrind: {checked} processes checked, {max(errors, 0)} errors, "
          f"{definite} bytes definitely lost")
    if errors < 0:
        print("valgrind: no process was checked", file=sys.stderr)
        return 1
    if not keep:
        shutil.rmtree(logs, ignore_errors=True)
    return 0 if rc == 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
