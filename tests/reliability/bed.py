"""bed.py - the test bed the reliability campaigns share (tests/reliability/).

One emulator (tests/emulator/obemu.py) with both accounts set up as in the
integration tests (test_source.SourceBed: the source's export key, events
queue + dead-letter queue, EventBridge rule; the vault's topic and inbox),
plus the vault's import key and a dead-letter queue for the vault inbox; one
or more source daemons (each with its own state database, as instances of an
auto-scaling group would have) and one vault daemon, started, killed and
restarted at will; snapshots made through the API and announced through
EventBridge; and a final audit that reads the outcome from the emulator's own
view (boto3 calls), never from the daemons' report of themselves.

Nothing here is product code. Typical use:

    with Emulator(copy_delay=3) as emu:
        bed = Pipeline(emu, build, tmp, seed=seed)
        bed.start("vault"); bed.start("source")
        snaps = bed.snapshots(30)
        bed.put(snaps)
        bed.wait_complete(snaps, timeout=300)
        audit = bed.audit(snaps)          # raises Failed on any defect
        bed.stop_all()
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "emulator"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import run as integration  # noqa: E402  config_text(): the daemons' configuration
import test_source  # noqa: E402  SourceBed, copy_identifier(), job_identifier()
from moto.rds import models as _rds_models  # noqa: E402

TAG_JOB = test_source.TAG_JOB
TAG_SOURCE_ARN = test_source.TAG_SOURCE_ARN
TERMINAL = {"source": {"notified", "expired", "failed"},
            "vault": {"verified", "expired", "failed", "rejected"}}


@contextlib.contextmanager
def _no_automated_snapshots():
    """moto takes an automated snapshot whenever it creates an instance or
    a cluster; the sources' sweep would export it too, and one taken the
    same UTC day as a campaign snapshot of the same database would, by the
    vault's GFS retention (newest per day), retire the campaign's copy. The
    bed's databases are created without it (moto's models, in-process)."""
    saved = [(cls, cls.save_automated_backup) for cls in (_rds_models.DBInstance, _rds_models.DBCluster)]
    for cls, _ in saved:
        cls.save_automated_backup = lambda self: None
    try:
        yield
    finally:
        for cls, fn in saved:
            cls.save_automated_backup = fn


class Failed(Exception):
    """A campaign found a defect (or could not run); the message says which."""


def tail(path, n=60):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return f"(no log: {e})"


class Daemon:
    """One offsite-backupd process slot: its config, state database and log
    (appended to across restarts). wrap: a command prefix (e.g. valgrind)."""

    def __init__(self, name, binary, config, state_db, log_path, wrap=()):
        self.name, self.binary, self.config = name, binary, config
        self.state_db, self.log_path, self.wrap = state_db, log_path, list(wrap)
        self.proc = None
        self.starts = 0
        self.kills = 0
        self.killed = False  # the current process was killed by us (not a crash of its own)

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        if self.alive:
            raise Failed(f"{self.name} is already running")
        with open(self.log_path, "ab") as logf:
            logf.write(f"--- start {self.starts + 1} at {time.time():.3f}\n".encode())
            logf.flush()
            self.proc = subprocess.Popen(self.wrap + [self.binary, "--config", self.config, "--foreground"],
                                         stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        self.starts += 1
        self.killed = False

    def kill(self):
        """SIGKILL (a crash: nothing is flushed, nothing is cleaned up)."""
        if self.alive:
            self.proc.kill()
            self.proc.wait()
            self.kills += 1
            self.killed = True

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code (SIGKILL after timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failed(f"{self.name} did not stop within {timeout} s of SIGTERM\n" + tail(self.log_path))
        return self.proc.returncode

    def check_alive(self):
        """Failed when the process exited on its own (not killed by us)."""
        if self.proc is not None and not self.killed and self.proc.poll() is not None:
            raise Failed(f"{self.name} exited by itself (rc {self.proc.returncode})\n" + tail(self.log_path))

    def jobs(self):
        """The jobs table (read-only; a secondary check and for diagnostics)."""
        if not os.path.exists(self.state_db):
            return []
        try:
            con = sqlite3.connect(f"file:{self.state_db}?mode=ro", uri=True, timeout=5)
            con.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in con.execute("SELECT * FROM jobs")]
            finally:
                con.close()
        except sqlite3.Error:
            return []


class Pipeline:
    """Both accounts, N source daemons and one vault daemon on one emulator.

    visibility_timeout applies to both the events queue and the vault inbox
    (short, so a message a killed daemon held comes back quickly);
    max_receive_count sends a message to the dead-letter queue after that many
    receives (high enough that kills alone never do). source_daemon /
    vault_daemon: extra [daemon] keys; export_retention: the sources'
    export_copy_retention (the audit allows an expired export copy only
    when the caller says so)."""

    def __init__(self, emu, build, tmp, sources=1, visibility_timeout=5, max_receive_count=10,
                 wrap=(), source_daemon=None, vault_daemon=None, export_retention="30d"):
        self.emu, self.tmp = emu, tmp
        self.export_retention = export_retention
        self.binary = os.path.join(build, "offsite-backupd")
        if not os.access(self.binary, os.X_OK):
            raise Failed(f"{self.binary} is not built")
        self.bed = test_source.SourceBed(emu, visibility_timeout=visibility_timeout,
                                         max_receive_count=max_receive_count)
        b = self.bed
        self.region, self.src, self.vault = b.region, b.src, b.vault
        vsqs = b.vsqs
        self.inbox_dlq_url = vsqs.create_queue(QueueName="offsite-backup-inbox-dlq")["QueueUrl"]
        dlq_arn = vsqs.get_queue_attributes(QueueUrl=self.inbox_dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        vsqs.set_queue_attributes(QueueUrl=b.inbox_url, Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": str(max_receive_count)})})
        self.import_key = emu.client("kms", account="vault").create_key(
            Description="offsite-backup import key")["KeyMetadata"]["Arn"]
        self.daemons = {}
        self.dbs = 0
        for i in range(sources):
            name = "source" if i == 0 else f"source{i + 1}"
            self._add(name, self._source_config(name, source_daemon), wrap)
        self._add("vault", self._vault_config(vault_daemon), wrap)

    # -- configuration ------------------------------------------------------
    def _paths(self, name):
        return (os.path.join(self.tmp, f"{name}.conf"), os.path.join(self.tmp, f"{name}-state.db"),
                os.path.join(self.tmp, f"{name}.log"))

    def _add(self, name, conf, wrap):
        path, db, log = self._paths(name)
        self.daemons[name] = Daemon(name, self.binary, path, db, log, wrap)

    def _write(self, name, text):
        path = self._paths(name)[0]
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def _source_config(self, name, extra):
        b = self.bed
        daemon = {"poll_interval": "1s", "max_concurrent_copies": "20", "max_attempts": "10"}
        daemon.update(extra or {})
        return self._write(name, integration.config_text(
            self.emu, queue_url=b.queue_url, state_db=self._paths(name)[1], daemon=daemon,
            source={"export_kms_key": b.kms_key_arn, "target_account": b.vault,
                    "notify_topic_arn": b.topic_arn, "include_db": "*", "exclude_db": "",
                    "require_tag": "", "export_copy_retention": self.export_retention}))

    def _vault_config(self, extra):
        v = self.emu.accounts["vault"]
        daemon = {"poll_interval": "1s", "max_concurrent_copies": "20", "max_attempts": "10"}
        daemon.update(extra or {})
        lines = ["[daemon]", "role = target", f"region = {self.region}",
                 f"queue_url = {self.bed.inbox_url}", f"state_db = {self._paths('vault')[1]}"]
        lines += [f"{k} = {val}" for k, val in daemon.items()]
        lines += ["", "[aws]", "credentials = static", f"access_key_id = {v['access_key_id']}",
                  f"secret_access_key = {v['secret_access_key']}", f"endpoint_url = {self.emu.endpoint}",
                  "", "[target]", f"import_kms_key = {self.import_key}",
                  f"allowed_source_accounts = {self.src}",
                  "keep_daily = 1000", "keep_weekly = 1000", "keep_monthly = 1000", "keep_yearly = 1000",
                  "rpo = 400d"]
        return self._write("vault", "\n".join(lines) + "\n")

    # -- daemons -------------------------------------------------------------
    def start(self, name):
        self.daemons[name].start()

    def kill(self, name):
        self.daemons[name].kill()

    def stop_all(self):
        """SIGTERM every running daemon; Failed if one does not exit 0."""
        bad = []
        for d in self.daemons.values():
            rc = d.stop()
            if rc not in (None, 0, -signal.SIGKILL) and d.proc is not None:
                bad.append(f"{d.name} exited {rc} on SIGTERM")
        if bad:
            raise Failed("; ".join(bad))

    def kill_all(self):
        for d in self.daemons.values():
            d.kill()

    def check_alive(self):
        for d in self.daemons.values():
            d.check_alive()

    def logs(self, n=40):
        return "".join(f"\n--- {d.name} ({d.log_path}):\n{tail(d.log_path, n)}" for d in self.daemons.values())

    # -- snapshots and events ------------------------------------------------
    def snapshots(self, n, dbs=None, cluster_every=4):
        """n new snapshots, each of a database of its own: an instance, and
        every cluster_every-th a cluster (dbs: ignored, kept for callers).

        The vault keeps the newest copy per database and UTC day (GFS), and
        the campaigns count every copy, so no two snapshots share a
        database. (Backdating snapshots in moto instead would race with a
        running daemon's sweep: a snapshot seen before its date moved would
        be announced with a time RDS no longer reports, and rightly
        rejected.)"""
        b = self.bed
        base = self.dbs
        self.dbs += 1
        out = []
        stamp = f"{time.time_ns() % 10**9:09d}"
        for i in range(n):
            if cluster_every and i % cluster_every == cluster_every - 1:
                cid = f"ledger-{base}-{i}"
                with _no_automated_snapshots():
                    b.create_cluster(cid)
                out.append(b.create_cluster_snapshot(cid, f"{cid}-{stamp}"))
            else:
                d = f"orders-{base}-{i}"
                with _no_automated_snapshots():
                    b.create_instance(d)
                out.append(b.create_snapshot(d, f"{d}-{stamp}"))
        return out

    def put(self, snaps):
        """Announce each snapshot through EventBridge (the real event shape)."""
        self.bed.put_events(*[self.bed.snapshot_event(s) for s in snaps])

    def poison(self, n):
        """n malformed messages straight into the events queue; they must end
        in its dead-letter queue and nowhere else. Returns their bodies."""
        bodies = [f"poison-{i}-{time.time_ns()} {{not json" for i in range(n)]
        for body in bodies:
            self.bed.send_raw(body)
        return bodies

    # -- the emulator's view -------------------------------------------------
    def export_arn(self, snap):
        kind = "cluster-snapshot" if snap.cluster else "snapshot"
        return f"arn:aws:rds:{self.region}:{self.src}:{kind}:{test_source.copy_identifier(snap.arn)}"

    def _snapshots(self, account):
        """Every manual instance and cluster snapshot of an account, with
        tags (boto3, paginated): [(kind, identifier, arn, description)]."""
        rds = self.emu.client("rds", account=account)
        out = []
        for page in rds.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual"):
            out += [("db-snapshot", s["DBSnapshotIdentifier"], s["DBSnapshotArn"], s)
                    for s in page["DBSnapshots"]]
        for page in rds.get_paginator("describe_db_cluster_snapshots").paginate(SnapshotType="manual"):
            out += [("db-cluster-snapshot", s["DBClusterSnapshotIdentifier"], s["DBClusterSnapshotArn"], s)
                    for s in page["DBClusterSnapshots"]]
        for i, (kind, ident, arn, s) in enumerate(out):
            tags = s.get("TagList")
            if tags is None:
                tags = rds.list_tags_for_resource(ResourceName=arn)["TagList"]
            s["_tags"] = {t["Key"]: t["Value"] for t in tags}
        return out

    def _shared_with_vault(self, kind, ident):
        rds = self.emu.client("rds", account="source")
        if kind == "db-cluster-snapshot":
            r = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=ident)[
                "DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
        else:
            r = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=ident)[
                "DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
        restore = next((a.get("AttributeValues", []) for a in r if a["AttributeName"] == "restore"), [])
        return self.vault in restore

    def _queue_depth(self, sqs, url):
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return sum(int(v) for v in a.values())

    def _peek(self, sqs, url):
        """Every body in a queue (received with a 1 s visibility, not deleted)."""
        bodies = []
        for _ in range(50):
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       WaitTimeSeconds=0).get("Messages", [])
            if not msgs:
                break
            bodies += [m["Body"] for m in msgs]
        return bodies

    def vault_copies(self):
        """{export copy ARN: [vault snapshot dicts]} for vault snapshots that
        carry our provenance tag."""
        out = {}
        for kind, ident, arn, s in self._snapshots("vault"):
            src = s["_tags"].get(TAG_SOURCE_ARN)
            if src:
                out.setdefault(src, []).append(s)
        return out

    def completed(self, snaps):
        """The snapshots whose vault copy exists, is available and is under
        the import key (cheap enough to poll every second or two)."""
        copies = self.vault_copies()
        done = []
        for s in snaps:
            for v in copies.get(self.export_arn(s), []):
                if v.get("Status") == "available" and v.get("KmsKeyId") == self.import_key:
                    done.append(s)
                    break
        return done

    def wait_complete(self, snaps, timeout, during=None, check_alive=True):
        """Wait until completed(snaps) covers every snapshot; during() is
        called every second (e.g. to kill and restart daemons). Returns the
        seconds it took."""
        t0 = time.monotonic()
        while True:
            if during is not None:
                during()
            if check_alive:
                self.check_alive()
            done = self.completed(snaps)
            if len(done) == len(snaps):
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                missing = [s.name for s in snaps if s not in done]
                raise Failed(f"after {timeout} s only {len(done)}/{len(snaps)} snapshots reached the "
                             f"vault; missing e.g. {missing[:5]}" + self.diagnostics() + self.logs())
            time.sleep(1.0)

    def diagnostics(self):
        lines = []
        for d in self.daemons.values():
            states = {}
            for j in d.jobs():
                states[j.get("state")] = states.get(j.get("state"), 0) + 1
            lines.append(f"{d.name} jobs by state: {states}")
            for j in d.jobs():
                if j.get("state") == "failed":
                    lines.append(f"  failed {j.get('id')}: {j.get('error_code')} {j.get('error_message')}")
        return "\n" + "\n".join(lines)

    def audit(self, snaps, poison=(), settle=30):
        """The end-of-run audit, all from the emulator's view. Waits up to
        settle seconds for the queues to drain (poison messages to reach the
        dead-letter queue) and every job to reach a final state. Returns {"snapshots", "duplicates", "lost",
        "stuck", "dlq"}; raises Failed listing every defect."""
        problems = []
        bed = self.bed
        deadline = time.monotonic() + settle
        while True:
            events_left = self._queue_depth(bed.sqs, bed.queue_url)
            inbox_left = self._queue_depth(bed.vsqs, bed.inbox_url)
            dlq_n = self._queue_depth(bed.sqs, bed.dlq_url)
            busy = sum(1 for d in self.daemons.values() for j in d.jobs()
                       if j.get("state") not in TERMINAL["vault" if d.name == "vault" else "source"])
            if (events_left == 0 and inbox_left == 0 and dlq_n >= len(poison) and busy == 0) \
                    or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        if events_left:
            problems.append(f"{events_left} message(s) still in the events queue")
        if inbox_left:
            problems.append(f"{inbox_left} message(s) still in the vault inbox")
        dlq = self._peek(bed.sqs, bed.dlq_url)
        unexpected = [b for b in dlq if b not in poison]
        if unexpected:
            problems.append(f"{len(unexpected)} real message(s) in the events dead-letter queue, "
                            f"e.g. {unexpected[0][:200]}")
        missing_poison = [p for p in poison if p not in dlq]
        if missing_poison:
            problems.append(f"{len(missing_poison)} poison message(s) not in the dead-letter queue")
        inbox_dlq = self._peek(bed.vsqs, self.inbox_dlq_url)
        if inbox_dlq:
            problems.append(f"{len(inbox_dlq)} announcement(s) in the vault inbox dead-letter queue")

        exports = {}
        for kind, ident, arn, s in self._snapshots("source"):
            src = s["_tags"].get(TAG_SOURCE_ARN)
            if src:
                exports.setdefault(src, []).append((kind, ident, arn, s))
        vault = self.vault_copies()
        duplicates = lost = 0
        for snap in snaps:
            mine = exports.get(snap.arn, [])
            if len(mine) > 1:
                duplicates += len(mine) - 1
                problems.append(f"{snap.name}: {len(mine)} export copies {[m[1] for m in mine]}")
            if not mine:
                lost += 1
                problems.append(f"{snap.name}: no export copy")
                continue
            kind, ident, arn, s = mine[0]
            if ident != test_source.copy_identifier(snap.arn):
                problems.append(f"{snap.name}: export copy named {ident}")
            if s.get("Status") != "available":
                problems.append(f"{snap.name}: export copy {s.get('Status')}")
            if not self._shared_with_vault(kind, ident):
                problems.append(f"{snap.name}: export copy not shared with the vault")
            vcopies = vault.get(arn, [])
            if len(vcopies) > 1:
                duplicates += len(vcopies) - 1
                problems.append(f"{snap.name}: {len(vcopies)} vault copies")
            good = [v for v in vcopies if v.get("Status") == "available"
                    and v.get("KmsKeyId") == self.import_key
                    and (v.get("Encrypted") or v.get("StorageEncrypted"))]
            if not good:
                lost += 1
                problems.append(f"{snap.name}: no verified vault copy ({len(vcopies)} present)")
        stuck = 0
        for d in self.daemons.values():
            role = "vault" if d.name == "vault" else "source"
            for j in d.jobs():
                if j.get("state") not in TERMINAL[role] or j.get("state") in ("failed", "rejected"):
                    stuck += 1
                    problems.append(f"{d.name}: job {j.get('id')} left {j.get('state')} "
                                    f"({j.get('error_code')} {j.get('error_message')})")
        result = {"snapshots": len(snaps), "duplicates": duplicates, "lost": lost, "stuck": stuck,
                  "dlq": len(dlq)}
        if problems:
            e = Failed(f"audit: {len(problems)} problem(s):\n  " + "\n  ".join(problems[:30])
                       + self.logs())
            e.result = result  # the figures, for the campaign's report line
            raise e
        return result
