#!/usr/bin/env python3
"""bigdb.py --build DIR [--soak] [--bench] - the daemon over a 10,000-job database.

For each role (vault = role target, then source) a state database of 10,000
jobs is made by the product's own code: DIR/ob-seed (tests/memory/ob_seed.c)
inserts each job as the daemon's intake does and walks it through
ob_fsm_step()/ob_store_job_step() to its state, with a history row per
transition; ids, copy identifiers and ARNs are src/ident.c's.

* vault: 25 databases x 380 days of verified copies (9,500, one a day, the
  history a year deep), plus 500 unfinished jobs, the 20 days after them
  (a crash's leftovers and a backlog): 20 imported, 20 importing, 460
  announced.
* source: 25 x 380 days of jobs whose export copy expired (older than the
  3-day export_copy_retention), plus 500 unfinished of the last 20 days:
  20 shared, 20 copied, 20 copying, 440 pending.

In flight (importing, copying) are max_concurrent_copies (20) jobs, the
most the daemon ever has; the announced (vault) and pending (source)
backlog waits for a copy slot by design, so at exec only as many of them
are due as there are free slots (none here): they count for correctness
(all must finish), not for the start-up figure. The emulator holds what the
unfinished jobs need (boto3 calls, before the daemon starts): the source
snapshots, the export copies (shared with the vault for the vault's jobs),
and the vault copies of importing/imported jobs, each tagged with its job.
The verified/expired/notified jobs need nothing in moto: the vault's
retention policy (keep_daily = 400) keeps all 9,500 verified copies, so the
retention pass walks them all and deletes none.

The database is seeded on /dev/shm and then copied to a temporary
directory on the ordinary disk, where the daemon runs with it (SQLite's
fsync costs are real).

Measured, per role:

(a) rss: VmHWM of the daemon (/proc/PID/status) after it has resumed every
    unfinished job and run on for 10 s (soak: 60 s); the vault runs its
    retention pass over the 9,500 verified copies every poll interval (1 s)
    in that time. Must be under 16 MB (failure otherwise).
(b) ctl status: wall time of `offsite-backupctl --db DB status`, the median
    of 20 runs while the daemon runs. Target 100 ms.
(c) startup: from just before exec to the moment the daemon has taken up
    every job that was unfinished and due at exec. A job is taken up at its
    first AWS call that names it in the emulator's call journal:
    CopyDB[Cluster]Snapshot with its copy as target (announced, pending),
    ModifyDBSnapshotAttribute of its copy (copied: share). Jobs the
    daemon reaches through calls whose journal entry does not name them
    (importing, imported and copying: Describe with a db-snapshot-id
    filter; shared: sns:Publish) are taken up at the first history row the
    daemon commits for them (the state database, unix ms). READY=1 over a NOTIFY_SOCKET is reported too. Target
    1 s.

Correctness (failure): the daemon stays up, exits 0 on SIGTERM, every
unfinished job ends verified (vault) or notified (source) with no failed
job, the vault keeps all 9,500 verified copies (no DeleteDBSnapshot), and
moto holds a vault copy for each import.

Prints per role `bigdb: <role> ...` detail lines, then

    bigdb: 10000 jobs, rss <x> MB, ctl status <y> ms, startup <z> ms

(the worst role of each). A speed figure over its target prints a WARNING
and fails only beyond 3x the target. --bench prints instead
`bench bigdb_rss_mb <x> MB`, `bench bigdb_ctl_status_ms <y> ms`,
`bench bigdb_startup_ms <z> ms`.
"""
import argparse
import datetime
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# moto's per-account snapshot quota (1000) is below what the source role's
# 500 unfinished jobs need (snapshots + export copies); this is not AWS's.
os.environ.setdefault("MOTO_RDS_SNAPSHOT_LIMIT", "100000")
sys.path.insert(0, os.path.join(HERE, "..", "emulator"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from obemu import Emulator  # noqa: E402
import run as integration  # noqa: E402  config_text()
import test_source  # noqa: E402  SourceBed: the integration tests' fixture

N_JOBS = 10000
N_DBS = 25
N_DAYS = 380
RSS_LIMIT_MB = 16.0
STATUS_TARGET_MS = 100.0
STARTUP_TARGET_MS = 1000.0
MAX_COPIES = 20
# What a crash can leave behind: at most max_concurrent_copies copies in
# flight (importing / copying), as many that had just finished one step
# (imported; copied, shared), and a backlog waiting for a copy slot.
VAULT_MIX = {"imported": 20, "importing": 20, "announced": 460}
SOURCE_MIX = {"shared": 20, "copied": 20, "copying": 20, "pending": 440}
BACKLOG = ("announced", "pending")   # wait for a free copy slot
IN_FLIGHT = ("importing", "copying")  # hold a copy slot
RETENTION_S = 3 * 86400
PREFIX = os.environ.get("OB_BIGDB_DAEMON_PREFIX", "").split()  # e.g. a massif run (debugging)


class Failed(Exception):
    pass


def log(*args):
    print("bigdb:", *args, file=sys.stderr, flush=True)


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise Failed("no VmHWM")


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class Notify:
    """A NOTIFY_SOCKET recording the time.time() of each datagram line."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.path = path
        self.lines = []
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.time()
            self.lines += [(now, ln) for ln in data.decode(errors="replace").split("\n") if ln]

    def first(self, text):
        return next((t for t, ln in list(self.lines) if ln.startswith(text)), None)

    def close(self):
        self.done = True
        self.thread.join(2)
        self.sock.close()


def db_rows(path, sql, args=()):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def build_spec(emu, mix, now):
    """Spec lines for ob-seed and the unfinished jobs' source snapshot names:
    ([line], {name: (state, db)}). Old jobs: one a day per database at 03:00
    UTC; unfinished: the last hours, newest first."""
    src, region = emu.accounts["source"]["account_id"], emu.region
    lines, unfinished = [], {}
    today = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(
        hour=3, minute=0, second=0, microsecond=0)
    n_old = N_JOBS - sum(mix.values())
    per_db = n_old // N_DBS
    assert per_db * N_DBS == n_old and per_db <= N_DAYS + 5
    dbs = [f"app{d:02d}-prod" for d in range(N_DBS)]

    def line(state, name, db, snap_t, created_ms):
        arn = f"arn:aws:rds:{region}:{src}:snapshot:{name}"
        return "\t".join([state, "db-snapshot", arn, db, "postgres", "16.3", "100",
                          str(int(snap_t)), str(int(created_ms))])

    # Unfinished: the last 20 days of each database (a backlog, one a day:
    # the vault's GFS policy keeps the newest copy per day, so several on
    # one day would be cut to one as soon as they verify); done: the 380
    # days before.
    n_recent = sum(mix.values()) // N_DBS
    for day in range(per_db + n_recent, n_recent, -1):
        when = today - datetime.timedelta(days=day)
        t = when.timestamp()
        for db in dbs:
            name = f"{db}-{when:%Y-%m-%d}"
            if mix is VAULT_MIX:
                state = "verified"
            else:
                state = "notified" if now - (t + 1200) < RETENTION_S - 3600 else "expired"
            lines.append(line(state, name, db, t, (t + 1200) * 1000))
    k = 0
    for state, count in mix.items():
        for _ in range(count):
            db = dbs[k % N_DBS]
            t = now - 3600 - (k // N_DBS) * 86400
            name = f"{db}-manual-{k:04d}"
            unfinished[name] = (state, db)
            lines.append(line(state, name, db, t, (t + 60) * 1000))
            k += 1
    return lines, unfinished


def seed(build, role, emu, lines, db_path):
    """Run ob-seed on /dev/shm, copy the database to db_path; the manifest
    {source snapshot name: (job id, state, job source ARN, copy id)}."""
    shm = tempfile.mkdtemp(prefix="ob-seed-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        tmp_db = os.path.join(shm, "state.db")
        t0 = time.monotonic()
        p = subprocess.run([os.path.join(build, "ob-seed"), "--db", tmp_db, "--role", role,
                            "--region", emu.region,
                            "--source-account", emu.accounts["source"]["account_id"],
                            "--vault-account", emu.accounts["vault"]["account_id"]],
                           input="\n".join(lines) + "\n", capture_output=True, text=True,
                           timeout=600)
        if p.returncode != 0:
            raise Failed(f"ob-seed ({role}) failed: {p.stderr}")
        log(f"{role}: seeded {len(lines)} jobs in {time.monotonic() - t0:.1f} s")
        for f in os.listdir(shm):
            shutil.copy(os.path.join(shm, f), os.path.join(os.path.dirname(db_path),
                                                           f.replace("state.db", os.path.basename(db_path))))
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    manifest = {}
    for ln in p.stdout.splitlines():
        job_id, state, arn, copy_id = ln.split("\t")
        manifest[job_id] = (state, arn, copy_id)
    if len(manifest) != len(lines):
        raise Failed(f"ob-seed made {len(manifest)} jobs, not {len(lines)}")
    return manifest


def prepare_moto(emu, bed, role, unfinished, manifest, import_key):
    """What the unfinished jobs need in moto (boto3). Returns {job id: (state, copy id)}."""
    rds, vrds, vault = bed.rds, emu.client("rds", account="vault"), bed.vault
    by_name = {}
    for job_id, (state, arn, copy_id) in manifest.items():
        by_name[test_source.snapshot_name(arn)] = (job_id, state, arn, copy_id)
    out = {}
    t0 = time.monotonic()
    for db in sorted({db for _, db in unfinished.values()}):
        bed.create_instance(db)
    for name, (state, db) in unfinished.items():
        if role == "target":
            export_id = test_source.copy_identifier(
                f"arn:aws:rds:{emu.region}:{bed.src}:snapshot:{name}")
            job_id, st, arn, copy_id = by_name[export_id]
            rds.create_db_snapshot(DBInstanceIdentifier=db, DBSnapshotIdentifier=export_id)
            rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=export_id,
                                             AttributeName="restore", ValuesToAdd=[vault])
            if state in ("importing", "imported"):
                vrds.copy_db_snapshot(SourceDBSnapshotIdentifier=arn,
                                      TargetDBSnapshotIdentifier=copy_id, KmsKeyId=import_key,
                                      Tags=[{"Key": "offsite-backup:job", "Value": job_id}])
        else:
            job_id, st, arn, copy_id = by_name[name]
            rds.create_db_snapshot(DBInstanceIdentifier=db, DBSnapshotIdentifier=name)
            if state != "pending":
                rds.copy_db_snapshot(SourceDBSnapshotIdentifier=name,
                                     TargetDBSnapshotIdentifier=copy_id, KmsKeyId=bed.kms_key_arn,
                                     Tags=[{"Key": "offsite-backup:job", "Value": job_id}])
            if state == "shared":
                rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=copy_id,
                                                 AttributeName="restore", ValuesToAdd=[vault])
        if st != state:
            raise Failed(f"{name}: seeded {st}, wanted {state}")
        out[job_id] = (state, copy_id)
    log(f"{role}: {len(out)} unfinished jobs' snapshots made in moto in "
        f"{time.monotonic() - t0:.1f} s")
    return out


def write_config(emu, bed, role, db_path, path, import_key):
    d = {"poll_interval": "1s", "sweep_interval": "0",
         "max_concurrent_copies": str(MAX_COPIES), "max_attempts": "10"}
    if role == "target":
        v = emu.accounts["vault"]
        lines = ["[daemon]", "role = target", f"region = {emu.region}",
                 f"queue_url = {bed.inbox_url}", f"state_db = {db_path}"]
        lines += [f"{k} = {val}" for k, val in d.items()]
        lines += ["", "[aws]", "credentials = static", f"access_key_id = {v['access_key_id']}",
                  f"secret_access_key = {v['secret_access_key']}",
                  f"endpoint_url = {emu.endpoint}", "", "[target]",
                  f"import_kms_key = {import_key}", f"allowed_source_accounts = {bed.src}",
                  "keep_daily = 400", "keep_weekly = 4", "keep_monthly = 12", "keep_yearly = 5",
                  "rpo = 26h"]
        text = "\n".join(lines) + "\n"
    else:
        s = {"export_kms_key": bed.kms_key_arn, "target_account": bed.vault,
             "notify_topic_arn": bed.topic_arn, "include_db": "*", "exclude_db": "",
             "require_tag": "", "export_copy_retention": "3d"}
        text = integration.config_text(emu, queue_url=bed.queue_url, state_db=db_path,
                                       daemon=d, source=s)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


# Journal actions that name a job's copy, per state at exec.
NAMED = {
    "announced": ("CopyDBSnapshot", "TargetDBSnapshotIdentifier"),
    "pending": ("CopyDBSnapshot", "TargetDBSnapshotIdentifier"),
    "copied": ("ModifyDBSnapshotAttribute", "DBSnapshotIdentifier"),
}


def taken_up(emu, account, db_path, jobs, t_exec):
    """{job id: time (time.time()) it was taken up}, for the jobs seen so far."""
    first = {}
    by_copy = {}
    for job_id, (state, copy_id) in jobs.items():
        if state in NAMED:
            by_copy[(NAMED[state][0], copy_id)] = job_id
    for e in emu.journal("rds", "*", account, since=t_exec):
        for key in ("TargetDBSnapshotIdentifier", "DBSnapshotIdentifier"):
            cid = (e.get("params") or {}).get(key)
            job_id = by_copy.get((e["action"], cid)) if cid else None
            if job_id and NAMED[jobs[job_id][0]][1] == key:
                first.setdefault(job_id, e["time"])
    rows = db_rows(db_path, "SELECT job_id, MIN(at) FROM history WHERE at >= ? GROUP BY job_id",
                   (int(t_exec * 1000),))
    for job_id, at in rows:
        if job_id in jobs and jobs[job_id][0] not in NAMED:
            first.setdefault(job_id, at / 1000.0)
    return first


def ctl_status_ms(build, db_path, runs=20):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run([os.path.join(build, "offsite-backupctl"), "--db", db_path, "status"],
                           capture_output=True, text=True, timeout=60)
        times.append((time.perf_counter() - t0) * 1000)
        if p.returncode != 0 or "10000" not in p.stdout.replace(",", ""):
            raise Failed(f"ctl status failed (rc {p.returncode}): {p.stdout}{p.stderr}")
    return statistics.median(times)


def run_role(build, role, run_s, tmp):
    mix = VAULT_MIX if role == "target" else SOURCE_MIX
    with Emulator(copy_delay=0) as emu:
        bed = test_source.SourceBed(emu)
        import_key = emu.client("kms", account="vault").create_key(
            Description="offsite-backup import key")["KeyMetadata"]["Arn"]
        db_path = os.path.join(tmp, f"{role}.db")
        lines, unfinished = build_spec(emu, mix, time.time())
        manifest = seed(build, role, emu, lines, db_path)
        jobs = prepare_moto(emu, bed, role, unfinished, manifest, import_key)
        cfg = write_config(emu, bed, role, db_path, os.path.join(tmp, f"{role}.conf"), import_key)
        account = "vault" if role == "target" else "source"
        emu.reset_counts()

        notify = Notify(os.path.join(tmp, f"{role}.notify"))
        log_path = os.path.join(tmp, f"{role}.log")
        env = dict(os.environ, NOTIFY_SOCKET=notify.path)
        env.pop("WATCHDOG_USEC", None)
        with open(log_path, "wb") as lf:
            t_exec = time.time()
            proc = subprocess.Popen(PREFIX + [os.path.join(build, "offsite-backupd"), "--config", cfg,
                                     "--foreground"], stdin=subprocess.DEVNULL, stdout=lf,
                                    stderr=subprocess.STDOUT, env=env)
        free_slots = MAX_COPIES - sum(1 for st, _ in jobs.values() if st in IN_FLIGHT)
        due = {j: v for j, v in jobs.items() if v[0] not in BACKLOG}
        due.update(dict(sorted((j, v) for j, v in jobs.items() if v[0] in BACKLOG)[:max(free_slots, 0)]))
        try:
            deadline = time.monotonic() + 120
            first = {}
            while len(first) < len(due):
                if proc.poll() is not None:
                    raise Failed(f"{role} daemon exited (rc {proc.returncode}):\n" + tail(log_path))
                if time.monotonic() > deadline:
                    missing = sorted(set(due) - set(first))[:5]
                    raise Failed(f"{role}: {len(due) - len(first)} unfinished due jobs never "
                                 f"taken up (e.g. {missing}):\n" + tail(log_path))
                time.sleep(0.2)
                first = taken_up(emu, account, db_path, due, t_exec)
            startup_ms = (max(first.values()) - t_exec) * 1000
            first_ms = (min(first.values()) - t_exec) * 1000
            with open(f"/proc/{proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            startup_cpu_ms = (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
            log(f"{role}: {len(due)} of {len(jobs)} unfinished jobs due at exec; "
                f"first taken up at {first_ms:.0f} ms, the last at "
                f"{startup_ms:.0f} ms; daemon CPU so far {startup_cpu_ms:.0f} ms")
            ready = notify.first("READY=1")
            ready_ms = (ready - t_exec) * 1000 if ready else float("nan")

            # Let it finish the work and run on (retention passes).
            done_state = "verified" if role == "target" else "notified"
            end = time.monotonic() + run_s
            while time.monotonic() < end or db_rows(
                    db_path, "SELECT COUNT(*) FROM jobs WHERE state IN "
                    "('announced','importing','imported','pending','copying','copied','shared')"
            )[0][0] > 0:
                if proc.poll() is not None:
                    raise Failed(f"{role} daemon exited (rc {proc.returncode}):\n" + tail(log_path))
                if time.monotonic() > end + 120:
                    raise Failed(f"{role}: unfinished jobs left after {run_s + 120} s:\n"
                                 + tail(log_path))
                time.sleep(0.5)
            status_ms = ctl_status_ms(build, db_path)
            rss = vm_hwm_mb(proc.pid)
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=30)
            if rc != 0:
                raise Failed(f"{role} daemon exited {rc} on SIGTERM:\n" + tail(log_path))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            notify.close()

        # -- correctness, from the database and moto
        states = dict(db_rows(db_path, "SELECT state, COUNT(*) FROM jobs GROUP BY state"))
        if states.get("failed"):
            raise Failed(f"{role}: failed jobs: {states}\n" + tail(log_path))
        for job_id in jobs:
            st = db_rows(db_path, "SELECT state FROM jobs WHERE id = ?", (job_id,))[0][0]
            if st != done_state:
                raise Failed(f"{role}: job {job_id} ended {st}, not {done_state}")
        if role == "target":
            if states.get("verified") != N_JOBS:
                raise Failed(f"vault: {states} (want {N_JOBS} verified: retention keeps all)")
            if emu.count("rds", "DeleteDBSnapshot", "vault"):
                raise Failed("vault: retention deleted copies it should keep")
            copies = {s["DBSnapshotIdentifier"] for page in emu.client("rds", account="vault")
                      .get_paginator("describe_db_snapshots").paginate(SnapshotType="manual")
                      for s in page["DBSnapshots"]}
            missing = [c for _, c in jobs.values() if c not in copies]
            if missing:
                raise Failed(f"vault: copies missing in moto: {missing[:5]}")
        calls = sum(r["count"] for r in emu.counts(account=account))
        log(f"{role}: states {states}; {calls} AWS calls")
        return {"role": role, "rss": rss, "status": status_ms, "startup": startup_ms,
                "ready": ready_ms, "jobs": len(jobs)}


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--soak", action="store_true", help="run each daemon 60 s, not 10 s")
    ap.add_argument("--bench", action="store_true", help="print bench lines")
    ap.add_argument("--role", choices=("target", "source"), default=None,
                    help="only this role (debugging)")
    args = ap.parse_args(argv[1:])
    build = os.path.abspath(args.build)
    run_s = 60 if args.soak else 10
    res = []
    try:
        with tempfile.TemporaryDirectory(prefix="ob-bigdb-") as tmp:
            for role in ([args.role] if args.role else ["target", "source"]):
                r = run_role(build, role, run_s, tmp)
                print(f"bigdb: {'vault' if role == 'target' else role}: {N_JOBS} jobs "
                      f"({r['jobs']} unfinished), rss {r['rss']:.1f} MB, ctl status "
                      f"{r['status']:.0f} ms, startup {r['startup']:.0f} ms "
                      f"(READY=1 at {r['ready']:.0f} ms)", flush=True)
                res.append(r)
    except Failed as e:
        print(f"bigdb: FAILED: {e}", flush=True)
        return 1
    rss = max(r["rss"] for r in res)
    status = max(r["status"] for r in res)
    startup = max(r["startup"] for r in res)
    rc = 0
    if rss >= RSS_LIMIT_MB:
        print(f"bigdb: FAILED: peak RSS {rss:.1f} MB is over the {RSS_LIMIT_MB:g} MB limit")
        rc = 1
    for name, value, target in (("ctl status", status, STATUS_TARGET_MS),
                                ("startup", startup, STARTUP_TARGET_MS)):
        if value > 3 * target:
            print(f"bigdb: FAILED: {name} {value:.0f} ms is over 3x its {target:.0f} ms target")
            rc = 1
        elif value > target:
            print(f"bigdb: WARNING: {name} {value:.0f} ms is over its {target:.0f} ms target")
    if args.bench:
        print(f"bench bigdb_rss_mb {rss:.1f} MB")
        print(f"bench bigdb_ctl_status_ms {status:.0f} ms")
        print(f"bench bigdb_startup_ms {startup:.0f} ms")
    else:
        print(f"bigdb: {N_JOBS} jobs, rss {rss:.1f} MB, ctl status {status:.0f} ms, "
              f"startup {startup:.0f} ms")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
