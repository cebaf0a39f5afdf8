#!/usr/bin/env python3
"""e2e_bench.py BUILD_DIR - both roles end to end under 200 snapshot events.

Against the in-process emulator (copy_delay 0: copies are available at
once), with the setup of source_bench.py (imported; its building blocks):
the source account 111111111111 (export key, events queue + DLQ,
EventBridge rule, 4 DB instances, 200 manual snapshots) and the vault
222222222222 (SNS topic + inbox queue subscribed to it), plus the vault's
import KMS key. Two BUILD_DIR/offsite-backupd processes run:

* role = source with the source account's keys, configured as in
  source_bench.py (poll_interval 1s, sweep off, 20 concurrent copies);
* role = target with the vault's keys: queue_url = the vault inbox,
  import_kms_key = the vault key, allowed_source_accounts = 111111111111,
  poll_interval 1s, sweep off, 20 concurrent copies, keep_daily/weekly/
  monthly/yearly = 1000.

Retention: GFS keeps the newest copy per day (week, month, year) bucket of
each database, whatever keep_daily says, so 50 copies per database all
taken the same day would be cut to one per database (196 deletes) as soon
as they verify. The bench therefore backdates the snapshots in moto's
memory during setup (no AWS call): the 50 snapshots of each database are
one day apart, the newest (created last) keeps its real time. With
keep_daily = 1000 nothing is then deleted; the bench checks that (no vault
DeleteDBSnapshot, no expired job, N copies in moto).

Both daemons are started, the bench waits until each listens on its queue
and idles, resets the emulator's counters, then PutEvents the 200 snapshot
events in batches of 10 at source_bench's pace and waits (reading the vault
daemon's state database, no AWS call) until every vault job is `verified`.
Prints

    bench e2e_source_api_calls_per_snapshot <value> calls
    bench e2e_vault_api_calls_per_snapshot <value> calls
    bench e2e_source_cpu_ms_per_snapshot <value> ms
    bench e2e_vault_cpu_ms_per_snapshot <value> ms
    bench e2e_source_peak_rss_mb <value> MB
    bench e2e_vault_peak_rss_mb <value> MB
    bench e2e_event_to_verified_median_ms <value> ms
    bench e2e_wall_s <value> s

and, on stderr, each account's calls per action and the median time of
each leg.

* calls: every AWS call the emulator counted for the account from the
  counter reset (after all setup, with both daemons idle) to the moment the
  last job was seen verified, / 200. The bench's own calls in that span are
  the source account's PutEvents, subtracted exactly (counted by the bench,
  cross-checked with the call journal); it waits through the vault's SQLite
  database and checks moto afterwards, outside the span.
* CPU: utime + stime of each daemon (/proc/PID/stat) over the same span, / 200.
* RSS: VmHWM of each daemon (/proc/PID/status) at the end, before it stops.
* event to verified: per snapshot, the vault history row to_state =
  'verified' of its job (history.at, unix ms; job id 'j' + 16 hex of
  sha256 of the export copy ARN, the export copy named by src/ident.c's
  rule) minus the time of the PutEvents call that carried its event (the
  emulator's call journal); the median.
* wall: first PutEvents to the last 'verified' history row.

Before printing, the vault account's snapshots are read back from moto
(boto3, vault keys, after the counters were read): exactly the 200
expected vault copies, each `available` with KmsKeyId = the vault key, or
the bench fails (exit 1, nothing printed on stdout).
"""
import datetime
import os
import sqlite3
import statistics
import sys
import tempfile
import time

import source_bench as sb  # noqa: E402  (also speeds up moto's EventBridge, see there)
from source_bench import Failed, N, DBS, cpu_ms, vm_hwm_mb, tail  # noqa: E402
from obemu import Emulator  # noqa: E402  (on sys.path through source_bench)
import test_source  # noqa: E402

from moto.rds import models as _rds_models  # noqa: E402

TIMEOUT_S = 600
KEEP = "1000"


def log(*args):
    print("e2e_bench:", *args, file=sys.stderr, flush=True)


def backdate(bed, snaps):
    """Spread each database's snapshots over distinct UTC days (moto's
    memory, no AWS call): the k-th newest of a database is k days old."""
    backend = _rds_models.rds_backends[bed.src][bed.region]
    table = backend.resource_map[_rds_models.DBSnapshot]
    per_db = len(snaps) // DBS
    for i, s in enumerate(snaps):
        days = per_db - 1 - i // DBS
        m = table[s.name]
        m.created = m.created - datetime.timedelta(days=days)
        # RDS keeps OriginalSnapshotCreateTime through copies, and the vault
        # goes by it: backdate it with the creation time.
        m.original_snapshot_create_time = m.created


def write_vault_config(emu, bed, import_key, path, state_db):
    v = emu.accounts["vault"]
    lines = [
        "[daemon]",
        "role = target",
        f"region = {emu.region}",
        f"queue_url = {bed.inbox_url}",
        f"state_db = {state_db}",
        "poll_interval = 1s",
        "sweep_interval = 0",
        "max_concurrent_copies = 20",
        "max_attempts = 10",
        "",
        "[aws]",
        "credentials = static",
        f"access_key_id = {v['access_key_id']}",
        f"secret_access_key = {v['secret_access_key']}",
        f"endpoint_url = {emu.endpoint}",
        "",
        "[target]",
        f"import_kms_key = {import_key}",
        f"allowed_source_accounts = {bed.src}",
        f"keep_daily = {KEEP}",
        f"keep_weekly = {KEEP}",
        f"keep_monthly = {KEEP}",
        f"keep_yearly = {KEEP}",
        "rpo = 26h",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def db_rows(path, sql, args=()):
    """Rows of a daemon's state database (read-only; WAL lets it write on)."""
    if not os.path.exists(path):
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def first_at(path, to_state):
    """{job id: history.at (unix ms) of its first row with to_state}."""
    return {j: at for j, at in db_rows(
        path, "SELECT job_id, MIN(at) FROM history WHERE to_state = ? GROUP BY job_id", (to_state,))}


def vault_snapshots(emu):
    """Every manual instance snapshot the vault account owns (boto3)."""
    rds = emu.client("rds", account="vault")
    out = []
    for page in rds.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual"):
        out.extend(page["DBSnapshots"])
    return out


def median_ms(values):
    return statistics.median(values) if values else float("nan")


def bench(build, tmp):
    daemon = sb.daemon_path(build)
    with Emulator(copy_delay=0) as emu:
        src = emu.accounts["source"]["account_id"]
        vault = emu.accounts["vault"]["account_id"]
        region = emu.region
        # -- setup (both accounts; the counters are reset afterwards)
        bed, snaps, entries = sb.setup_source(emu)
        backdate(bed, snaps)
        import_key = emu.client("kms", account="vault").create_key(
            Description="offsite-backup import key")["KeyMetadata"]["Arn"]
        src_db = os.path.join(tmp, "source-state.db")
        vault_db = os.path.join(tmp, "vault-state.db")
        src_cfg = sb.write_source_config(emu, bed, os.path.join(tmp, "source.conf"), src_db)
        vault_cfg = write_vault_config(emu, bed, import_key, os.path.join(tmp, "vault.conf"), vault_db)

        # What the daemons will name things (src/ident.c; test_source mirrors it).
        export_arn = {s.arn: f"arn:aws:rds:{region}:{src}:snapshot:"
                             f"{test_source.copy_identifier(s.arn)}" for s in snaps}
        vault_job = {a: test_source.job_identifier(e) for a, e in export_arn.items()}
        source_job = {a: test_source.job_identifier(a) for a in export_arn}
        vault_copy = {a: test_source.copy_identifier(e) for a, e in export_arn.items()}
        want_jobs = set(vault_job.values())
        emu.reset_counts()

        src_log = os.path.join(tmp, "source.log")
        vault_log = os.path.join(tmp, "vault.log")
        procs = []

        def logs():
            return ("\n--- source daemon:\n" + tail(src_log) + "\n--- vault daemon:\n" + tail(vault_log))

        try:
            vproc = sb.start_daemon(daemon, vault_cfg, vault_log)
            procs.append((vproc, "the vault daemon"))
            sproc = sb.start_daemon(daemon, src_cfg, src_log)
            procs.append((sproc, "the source daemon"))
            # -- idle: both listening on their queue and no longer burning CPU
            sb.wait_idle(emu, vproc, vault, vault_log, "the vault daemon")
            sb.wait_idle(emu, sproc, src, src_log, "the source daemon")

            # -- the run
            emu.reset_counts()
            scpu0, vcpu0 = cpu_ms(sproc.pid), cpu_ms(vproc.pid)
            t0, put_calls = sb.put_paced(bed, entries)
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                for p, what in procs:
                    if p.poll() is not None:
                        raise Failed(f"{what} exited (rc {p.returncode})" + logs())
                rows = db_rows(vault_db, "SELECT id, state, error_code, error_message FROM jobs")
                bad = [r for r in rows if r[1] in ("failed", "rejected")]
                if bad:
                    raise Failed(f"{len(bad)} vault job(s) failed or rejected, e.g. {bad[:3]}" + logs())
                gone = [r[0] for r in rows if r[1] == "expired"]
                if gone:
                    raise Failed(f"retention expired {len(gone)} vault copies during the run "
                                 f"(e.g. {gone[0]}): the bench cannot count {N} copies" + logs())
                done = {r[0] for r in rows if r[1] == "verified"} & want_jobs
                if len(done) == N:
                    break
                if time.monotonic() > deadline:
                    raise Failed(f"only {len(done)}/{N} vault jobs verified after {TIMEOUT_S}s" + logs())
                time.sleep(0.1)
            scpu1, vcpu1 = cpu_ms(sproc.pid), cpu_ms(vproc.pid)
            srss, vrss = vm_hwm_mb(sproc.pid), vm_hwm_mb(vproc.pid)
            src_rows = emu.counts(account="source")
            vault_rows = emu.counts(account="vault")
            journal_puts = emu.journal("events", "PutEvents", "source")
            vault_copy_calls = emu.journal("rds", "CopyDBSnapshot", "vault")
            src_copy_calls = emu.journal("rds", "CopyDBSnapshot", "source")
        finally:
            for p, what in reversed(procs):
                sb.stop_daemon(p, log, what)

        # -- check moto: exactly the N vault copies, available, under the vault key
        vsnaps = vault_snapshots(emu)
        problems = []
        names = {s["DBSnapshotIdentifier"] for s in vsnaps}
        expected = set(vault_copy.values())
        if len(vsnaps) != N or names != expected:
            problems.append(f"{len(vsnaps)} vault snapshots, want {N}; "
                            f"{len(expected - names)} expected missing, {len(names - expected)} unexpected")
        for s in vsnaps:
            if s.get("Status") != "available" or s.get("KmsKeyId") != import_key:
                problems.append(f"{s['DBSnapshotIdentifier']}: status {s.get('Status')!r}, "
                                f"KmsKeyId {s.get('KmsKeyId')!r}")
        if problems:
            raise Failed("the vault does not hold the expected copies: " + "; ".join(problems[:5])
                         + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "") + logs())
        expired = db_rows(vault_db, "SELECT COUNT(*) FROM jobs WHERE state = 'expired'")[0][0]
        vdeletes = sum(r["count"] for r in vault_rows if r["action"] == "DeleteDBSnapshot")
        if expired or vdeletes:
            raise Failed(f"retention deleted vault copies during the run: {expired} expired jobs, "
                         f"{vdeletes} DeleteDBSnapshot calls" + logs())

        # -- figures
        src_total = sum(r["count"] for r in src_rows)
        vault_total = sum(r["count"] for r in vault_rows)
        if len(journal_puts) != put_calls:
            log(f"note: {len(journal_puts)} PutEvents in the journal, the bench made {put_calls}")
        put_time = sb.put_times(journal_puts)
        verified = first_at(vault_db, "verified")
        announced = first_at(vault_db, "announced")
        notified = first_at(src_db, "notified")
        by_name = {s.name: s.arn for s in snaps}
        copy_time = {}
        for e in src_copy_calls:
            ident = e["params"].get("SourceDBSnapshotIdentifier", "")
            arn = ident if ident.startswith("arn:") else by_name.get(ident)
            if arn and not e["faulted"]:
                copy_time.setdefault(arn, e["time"])
        e2v, e2c, c2n, n2a, a2v = [], [], [], [], []
        for a in export_arn:
            vj, sj = vault_job[a], source_job[a]
            if a not in put_time or vj not in verified:
                continue
            e2v.append(verified[vj] - 1000.0 * put_time[a])
            if sj in notified and vj in announced and a in copy_time:
                e2c.append(1000.0 * (copy_time[a] - put_time[a]))
                c2n.append(notified[sj] - 1000.0 * copy_time[a])
                n2a.append(announced[vj] - notified[sj])
                a2v.append(verified[vj] - announced[vj])
        if len(e2v) != N:
            log(f"note: event to verified known for {len(e2v)}/{N} snapshots")
        copied = {e["params"].get("SourceDBSnapshotIdentifier") for e in vault_copy_calls
                  if not e["faulted"]}
        if len(vault_copy_calls) != N or copied != set(export_arn.values()):
            log(f"note: {len(vault_copy_calls)} CopyDBSnapshot calls by the vault for "
                f"{len(copied)} export copies, want {N}")
        t_end = max(verified[vault_job[a]] for a in export_arn) / 1000.0

        print(f"bench e2e_source_api_calls_per_snapshot {(src_total - put_calls) / N:.2f} calls")
        print(f"bench e2e_vault_api_calls_per_snapshot {vault_total / N:.2f} calls")
        print(f"bench e2e_source_cpu_ms_per_snapshot {(scpu1 - scpu0) / N:.2f} ms")
        print(f"bench e2e_vault_cpu_ms_per_snapshot {(vcpu1 - vcpu0) / N:.2f} ms")
        print(f"bench e2e_source_peak_rss_mb {srss:.1f} MB")
        print(f"bench e2e_vault_peak_rss_mb {vrss:.1f} MB")
        print(f"bench e2e_event_to_verified_median_ms {median_ms(e2v):.0f} ms")
        print(f"bench e2e_wall_s {t_end - t0:.1f} s", flush=True)
        log(f"calls by the source account during the run: {src_total} "
            f"({put_calls} PutEvents by the bench excluded)")
        sb.log_breakdown(src_rows, N, {("events", "PutEvents"): put_calls}, log)
        log(f"calls by the vault account during the run: {vault_total} (none by the bench)")
        sb.log_breakdown(vault_rows, N, None, log)
        if e2v:
            log(f"event to verified: median {median_ms(e2v):.0f} ms, "
                f"max {max(e2v):.0f} ms; legs (medians): event to source CopyDBSnapshot "
                f"{median_ms(e2c):.0f} ms, source CopyDBSnapshot to notified {median_ms(c2n):.0f} ms, "
                f"notified to vault announced {median_ms(n2a):.0f} ms, announced to verified "
                f"{median_ms(a2v):.0f} ms")


def main(argv):
    if len(argv) != 2:
        print("usage: e2e_bench.py BUILD_DIR", file=sys.stderr)
        return 2
    build = os.path.abspath(argv[1])
    with tempfile.TemporaryDirectory(prefix="ob-e2e-bench-") as tmp:
        try:
            bench(build, tmp)
        except Failed as e:
            log(str(e))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
