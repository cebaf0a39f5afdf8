#!/usr/bin/env python3
"""source_bench.py BUILD_DIR - the source role under 200 snapshot events.

Against the in-process emulator (copy_delay 0): sets up the source account
(export key, events queue + DLQ, EventBridge rule) and the vault (topic +
inbox queue), creates 200 manual snapshots over 4 DB instances, starts
BUILD_DIR/offsite-backupd (poll_interval 1s, sweep off, 20 concurrent
copies), waits until it idles, then PutEvents the 200 snapshot events in
batches of 10 at a steady pace and waits until the vault inbox holds an
announcement for every snapshot. Prints

    bench source_api_calls_per_snapshot <value> calls
    bench source_cpu_ms_per_snapshot <value> ms
    bench source_peak_rss_mb <value> MB
    bench source_copy_delay_median_ms <value> ms
    bench source_wall_s <value> s

and, on stderr, the source account's calls per action.

* calls: every AWS call the emulator counted for the source account from
  the moment the events start (counters reset after all setup) to the last
  announcement, minus the bench's own PutEvents calls (the only
  source-account calls the bench makes meanwhile; it watches the vault
  inbox with the vault account's keys and moto's memory directly), / 200.
* CPU: utime + stime of the daemon (/proc/PID/stat) over the same span, / 200.
* RSS: VmHWM of the daemon (/proc/PID/status) at the end, before it stops.
* copy delay: per snapshot, the time of the first CopyDBSnapshot call for it
  in the emulator's call journal minus the time of the PutEvents call that
  carried its event; the median.
* wall: first PutEvents to the last announcement.

The emulator runs in this process; moto's slow EventBridge delivery is
sped up here (see the jsonpath cache below) so that the figures are the
daemon's, not moto's.

The setup, the daemon runner and the figure helpers below are functions
so that e2e_bench.py (both roles end to end) can import them.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "emulator"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from obemu import Emulator  # noqa: E402

# moto's EventBridge builds 8 jsonpath parsers (ply yacc tables) per event
# it delivers to a target (EventTemplateParser.parse -> jsonpath_ng.ext.parse):
# about 0.11 s of CPU per event, under the GIL of the process that also
# serves the daemon. 200 events would cost the emulator ~23 s and distort
# the wall time and the copy delay. The paths are constant, so the parsed
# expressions are cached (bench only; same results, find() does not mutate).
import functools  # noqa: E402
import jsonpath_ng.ext  # noqa: E402

jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
import run as integration  # noqa: E402  config_text()
import test_source  # noqa: E402  SourceBed: the same fixture as the integration tests

N = 200
DBS = 4
BATCH = 10
PACE_S = 0.25           # one PutEvents of 10 every 0.25 s: 40 events/s
TIMEOUT_S = 600
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print("source_bench:", *args, file=sys.stderr, flush=True)


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / CLK_TCK  # utime, stime


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/PID/status")


class Failed(Exception):
    pass


def tail(path, n=40):
    with open(path, "rb") as f:
        return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])


# -- building blocks, shared with e2e_bench.py ---------------------------------

def daemon_path(build):
    daemon = os.path.join(build, "offsite-backupd")
    if not os.access(daemon, os.X_OK):
        raise Failed(f"{daemon} is not an executable")
    return daemon


def setup_source(emu):
    """The source account (export key, events queue + DLQ, EventBridge rule)
    and the vault's topic + inbox (SourceBed), DBS instances and N manual
    snapshots over them. Returns (bed, snaps, PutEvents entries)."""
    bed = test_source.SourceBed(emu)
    snaps = []
    for d in range(DBS):
        bed.create_instance(f"orders-{d}")
    for i in range(N):
        snaps.append(bed.create_snapshot(f"orders-{i % DBS}", f"orders-{i % DBS}-bench-{i:03d}"))
    entries = [bed.snapshot_event(s) for s in snaps]
    return bed, snaps, entries


def write_source_config(emu, bed, path, state_db):
    """The source daemon's configuration (mode 0600): poll_interval 1s,
    sweep off, 20 concurrent copies."""
    with open(path, "w") as f:
        f.write(integration.config_text(
            emu, queue_url=bed.queue_url, state_db=state_db,
            daemon={"poll_interval": "1s", "sweep_interval": "0", "max_concurrent_copies": "20",
                    "max_attempts": "10"},
            source={"export_kms_key": bed.kms_key_arn, "target_account": bed.vault,
                    "notify_topic_arn": bed.topic_arn, "include_db": "*", "exclude_db": "",
                    "require_tag": "", "export_copy_retention": "3d"}))
    os.chmod(path, 0o600)
    return path


def start_daemon(daemon, cfg, log_path):
    with open(log_path, "wb") as logf:
        return subprocess.Popen([daemon, "--config", cfg, "--foreground"], stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=subprocess.STDOUT)


def wait_idle(emu, proc, account, log_path, what="the daemon"):
    """Wait until the daemon listens on its queue (a ReceiveMessage by
    account since the last counter reset) and no longer burns CPU."""
    deadline = time.monotonic() + 30
    while emu.count("sqs", "ReceiveMessage", account) == 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise Failed(f"{what} did not start listening:\n" + tail(log_path))
        time.sleep(0.1)
    last = cpu_ms(proc.pid)
    while True:
        time.sleep(1.0)
        now = cpu_ms(proc.pid)
        if now - last < 20 or time.monotonic() > deadline:
            break
        last = now


def put_paced(bed, entries):
    """PutEvents the entries in batches of BATCH, one batch every PACE_S.
    Returns (t0 = time.time() of the start, number of PutEvents calls)."""
    t0 = time.time()
    put_calls = 0
    for b, i in enumerate(range(0, len(entries), BATCH)):
        wake = t0 + b * PACE_S
        if wake > time.time():
            time.sleep(wake - time.time())
        bed.put_events(*entries[i:i + BATCH])
        put_calls += 1
    return t0, put_calls


def stop_daemon(proc, log=log, what="the daemon"):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            log(f"{what} did not stop within 15 s of SIGTERM")


def put_times(journal_puts):
    """{resource ARN: time of the first PutEvents that carried it}."""
    out = {}
    for e in journal_puts:
        for arn in e["params"].get("resources", []):
            out.setdefault(arn, e["time"])
    return out


def log_breakdown(rows, n, exclude=None, log=log):
    """One stderr line per (service, action) of counter rows, minus the
    bench's own calls exclude = {(service, action): count}."""
    exclude = exclude or {}
    for r in sorted(rows, key=lambda r: -r["count"]):
        mine = exclude.get((r["service"], r["action"]), 0)
        if r["count"] - mine == 0:
            continue
        faulted = f" ({r['faulted']} faulted)" if r["faulted"] else ""
        log(f"  {r['service']}:{r['action']} {r['count'] - mine}{faulted}"
            f"  {(r['count'] - mine) / n:.3f}/snapshot")


# -- the source bench -------------------------------------------------------------

def bench(build, tmp):
    daemon = daemon_path(build)
    with Emulator(copy_delay=0) as emu:
        src = emu.accounts["source"]["account_id"]
        # -- setup (source account calls; the counters are reset afterwards)
        bed, snaps, entries = setup_source(emu)
        cfg = write_source_config(emu, bed, os.path.join(tmp, "offsite-backup.conf"),
                                  os.path.join(tmp, "state.db"))
        emu.reset_counts()

        log_path = os.path.join(tmp, "daemon.log")
        proc = start_daemon(daemon, cfg, log_path)
        try:
            # -- idle: listening on the queue and no longer burning CPU
            wait_idle(emu, proc, src, log_path)

            # -- the run
            emu.reset_counts()
            cpu0 = cpu_ms(proc.pid)
            t0, put_calls = put_paced(bed, entries)
            seen = set()
            deadline = time.monotonic() + TIMEOUT_S
            want = {s.arn for s in snaps}
            while not want <= seen:
                if proc.poll() is not None:
                    raise Failed(f"the daemon exited (rc {proc.returncode}):\n" + tail(log_path))
                if time.monotonic() > deadline:
                    raise Failed(f"only {len(seen & want)}/{N} announcements after {TIMEOUT_S}s:\n"
                                 + tail(log_path))
                before = len(bed.inbox_bodies)
                for body in bed.drain_inbox(wait=1)[before:]:
                    try:
                        seen.add(json.loads(json.loads(body)["Message"])["source_snapshot_arn"])
                    except (ValueError, KeyError, TypeError):
                        log("unparsable announcement:", body[:200])
            t1 = time.time()
            cpu1 = cpu_ms(proc.pid)
            rss = vm_hwm_mb(proc.pid)
            rows = emu.counts(account="source")
            journal_puts = emu.journal("events", "PutEvents", "source")
            copies = emu.journal("rds", "CopyDBSnapshot", "source")
        finally:
            stop_daemon(proc)

        # -- figures
        total = sum(r["count"] for r in rows)
        if len(journal_puts) != put_calls:
            log(f"note: {len(journal_puts)} PutEvents in the journal, the bench made {put_calls}")
        daemon_calls = total - put_calls
        put_time = put_times(journal_puts)
        by_name = {s.name: s.arn for s in snaps}
        copy_time = {}
        for e in copies:
            if e["faulted"]:
                continue
            ident = e["params"].get("SourceDBSnapshotIdentifier", "")
            arn = ident if ident.startswith("arn:") else by_name.get(ident)
            if arn:
                copy_time.setdefault(arn, e["time"])
        delays = [1000.0 * (copy_time[a] - put_time[a]) for a in want if a in copy_time and a in put_time]
        if len(delays) != N:
            log(f"note: copy delay known for {len(delays)}/{N} snapshots")
        made = bed.daemon_copies()
        if len(made) != N or len(bed.inbox_bodies) != N:
            log(f"note: {len(made)} export copies in moto, {len(bed.inbox_bodies)} announcements, want {N} each")

        print(f"bench source_api_calls_per_snapshot {daemon_calls / N:.2f} calls")
        print(f"bench source_cpu_ms_per_snapshot {(cpu1 - cpu0) / N:.2f} ms")
        print(f"bench source_peak_rss_mb {rss:.1f} MB")
        print(f"bench source_copy_delay_median_ms {statistics.median(delays) if delays else float('nan'):.0f} ms")
        print(f"bench source_wall_s {t1 - t0:.1f} s", flush=True)
        log(f"calls by the source account during the run: {total} "
            f"({put_calls} PutEvents by the bench excluded)")
        log_breakdown(rows, N, {("events", "PutEvents"): put_calls})


def main(argv):
    if len(argv) != 2:
        print("usage: source_bench.py BUILD_DIR", file=sys.stderr)
        return 2
    build = os.path.abspath(argv[1])
    with tempfile.TemporaryDirectory(prefix="ob-bench-") as tmp:
        try:
            bench(build, tmp)
        except Failed as e:
            log(str(e))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
