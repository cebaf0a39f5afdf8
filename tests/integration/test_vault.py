"""Integration tests of the vault (target) role (DESIGN.md sections 2, 3, 5, 7).

    vault SQS inbox -> offsite-backupd (role = target): validate the
    announcement -> CopyDB[Cluster]Snapshot(export copy ARN, import key,
    provenance tags) -> poll -> verify -> GFS retention, RPO watch, sweep

Both accounts live in the in-process emulator that run.py starts (run.EMU,
one per process). Most tests run the target daemon alone and play the source
themselves with boto3 in the source account: a snapshot, its copy under an
export-copy name (`ob-...-<12 hex>`, encrypted with the export key), the
`restore` share with the vault, and the announcement, sent straight into
the vault inbox. The end-to-end test runs both daemons.

Proof is taken from moto's view through boto3 (the vault account's
snapshots, their tags, encryption and key; the inbox; the emulator's call
journal). The daemon's state database (jobs table) and its stderr are a
secondary check: rejected rows and the warning lines with their stable
MESSAGE_IDs.

Run alone:  python3 tests/integration/run.py --build build -k Vault
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid

from moto.rds import models as _rds_models  # the emulator's RDS, in this process

import run as R  # run.py, as loaded by itself (it registers under this name)
from test_source import SourceBed, copy_identifier, job_identifier

SCHEMA = "offsite-backup/1"
TAG_JOB = "offsite-backup:job"
TAG_SOURCE_ARN = "offsite-backup:source-arn"
TAG_SOURCE_ACCOUNT = "offsite-backup:source-account"
TAG_SOURCE_TIME = "offsite-backup:source-time"
TAG_DB = "offsite-backup:db"
TAG_SOURCE_SNAPSHOT = "offsite-backup:source-snapshot"

MSGID_REJECTED = "7dacb3da9e7140dabeeefc61542ab005"
MSGID_VERIFY_FAILED = "fb4cb1e4a2344b268bb04b29a72e1f51"
MSGID_RPO_BREACH = "b914fd45422b4278b6923211f207a1bb"
MSGID_RPO_CLEARED = "97102fc787eb46e0a4ee61c22fe85cde"
MSGID_JOB_FAILED = "182b69b5927948fba8bd74e3467621f2"

UNFINISHED = ("announced", "importing", "imported")


def hex12(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def iso_ts(unix_s):
    return datetime.datetime.fromtimestamp(int(unix_s), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def export_arn_of(region, account, source_arn, cluster=False):
    """The export copy ARN the source daemon makes for source_arn."""
    kind = "cluster-snapshot" if cluster else "snapshot"
    return f"arn:aws:rds:{region}:{account}:{kind}:{copy_identifier(source_arn)}"


def gfs_keep(times, daily, weekly, monthly, yearly):
    """The indices of times (unix seconds) that restic-style GFS retention
    keeps: per rule, the newest copy of each of the newest k buckets that
    hold copies (UTC day, ISO week starting Monday, month, year); the union;
    the newest copy always. Written independently of src/retain.c."""
    if not times:
        return set()
    order = sorted(range(len(times)), key=lambda i: times[i], reverse=True)
    keep = {order[0]}

    def day(t):
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).date()

    rules = (
        (daily, lambda t: day(t)),
        (weekly, lambda t: day(t).isocalendar()[:2]),
        (monthly, lambda t: (day(t).year, day(t).month)),
        (yearly, lambda t: day(t).year),
    )
    for k, bucket in rules:
        seen = []
        for i in order:
            b = bucket(times[i])
            if b in seen:
                continue
            if len(seen) == k:
                break
            seen.append(b)
            keep.add(i)  # walking newest first: the newest copy of bucket b
    return keep


@dataclasses.dataclass
class Export:
    """An export copy in the source account, as the source daemon would make it."""
    kind: str           # "db-snapshot" | "db-cluster-snapshot"
    name: str
    arn: str
    source_arn: str     # the snapshot it was copied from
    db_id: str
    engine: str
    engine_version: str
    storage: int
    # The time RDS reports for the shared export copy, which is what the
    # vault goes by: its OriginalSnapshotCreateTime (instance snapshots; kept
    # through copies), else its SnapshotCreateTime (cluster snapshots: the
    # export copy's own creation).
    create_time: datetime.datetime

    @property
    def cluster(self):
        return self.kind == "db-cluster-snapshot"

    @property
    def vault_copy_id(self):
        return copy_identifier(self.arn)

    @property
    def job_id(self):
        return job_identifier(self.arn)


class Daemon:
    """One offsite-backupd process; stdout and stderr go to a log file."""

    def __init__(self, role, config, log_path):
        self.role = role
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [os.path.join(R.BUILD, "offsite-backupd"), "--config", config, "--foreground"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# base class
# ---------------------------------------------------------------------------

class VaultCase(R.Case):
    """Per test: a fresh emulator state, the source side (SourceBed: export
    key, events queue + rule, vault topic, vault inbox + subscription), the
    vault's import key, and helpers to play the source, run daemons, wait
    and check moto's view."""

    def setUp(self):
        super().setUp()
        self.emu = R.EMU
        self.emu.set_copy_delay(0)
        self.addCleanup(self.emu.set_copy_delay, 0)
        self.addCleanup(self.emu.clear_faults)
        self.bed = SourceBed(self.emu)
        self.region = self.emu.region
        self.src = self.bed.src
        self.vault = self.bed.vault
        self.rds = self.bed.rds                               # source account
        self.vrds = self.emu.client("rds", account="vault")
        self.vsqs = self.bed.vsqs
        self.import_key = self.emu.client("kms", account="vault").create_key(
            Description="offsite-backup import key")["KeyMetadata"]["Arn"]
        self.inbox_url = self.bed.inbox_url
        self.state_db = os.path.join(self.tmp.name, "vault-state.db")
        self.source_state_db = os.path.join(self.tmp.name, "source-state.db")
        self.daemons = []
        self.target = None
        self.source = None
        self.target_config = None
        self.dbs = set()
        self.addCleanup(self._kill_all)

    def tearDown(self):
        self.stop_daemons()
        self.assert_no_secret(self.daemon_output())

    def assert_no_secret(self, *outputs):
        """run.Case's check, without echoing the secret in the failure."""
        try:
            super().assert_no_secret(*outputs)
        except AssertionError:
            where = [f"line {n}" for out in outputs for n, line in enumerate(out.splitlines(), 1)
                     if any(sec in line for sec in self.secrets)]
            raise AssertionError("a secret leaked into the daemon output at "
                                 + ", ".join(where[:10]) + " (not shown)") from None

    # -- configuration and processes ----------------------------------------
    def config_target(self, daemon=None, target=None):
        v = self.emu.accounts["vault"]
        d = {"role": "target", "region": self.region, "queue_url": self.inbox_url,
             "state_db": self.state_db, "poll_interval": "1s", "sweep_interval": "0",
             "max_concurrent_copies": "5", "max_attempts": "10"}
        d.update(daemon or {})
        t = {"import_kms_key": self.import_key, "allowed_source_accounts": self.src,
             "keep_daily": "7", "keep_weekly": "4", "keep_monthly": "12", "keep_yearly": "5",
             "rpo": "26h"}
        t.update(target or {})
        lines = ["[daemon]"] + [f"{k} = {val}" for k, val in d.items()]
        lines += ["", "[aws]", "credentials = static", f"access_key_id = {v['access_key_id']}",
                  f"secret_access_key = {v['secret_access_key']}",
                  f"endpoint_url = {self.emu.endpoint}", ""]
        lines += ["[target]"] + [f"{k} = {val}" for k, val in t.items()]
        self.target_config = self.write_config("\n".join(lines) + "\n", name="vault.conf")
        return self.target_config

    def config_source(self):
        d = {"poll_interval": "1s", "sweep_interval": "0", "max_concurrent_copies": "5",
             "max_attempts": "10"}
        s = {"export_kms_key": self.bed.kms_key_arn, "target_account": self.vault,
             "notify_topic_arn": self.bed.topic_arn, "include_db": "*", "exclude_db": "",
             "require_tag": "", "export_copy_retention": "3d"}
        return self.write_config(R.config_text(
            self.emu, queue_url=self.bed.queue_url, state_db=self.source_state_db,
            daemon=d, source=s), name="source.conf")

    def _start(self, role, config, account):
        log_path = os.path.join(self.tmp.name, f"{role}-{len(self.daemons) + 1}.log")
        started = time.time()
        d = Daemon(role, config, log_path)
        self.daemons.append(d)
        self.wait_until(lambda: [e for e in self.emu.journal("sqs", "ReceiveMessage", account,
                                                             since=started)],
                        30, f"the {role} daemon's first ReceiveMessage", daemons=[d])
        return d

    def start_target(self, **config):
        if config or self.target_config is None:
            self.config_target(**config)
        self.target = self._start("target", self.target_config, "vault")
        return self.target

    def start_source(self):
        self.source = self._start("source", self.config_source(), "source")
        return self.source

    def kill9(self, d):
        self.assertIsNone(d.proc.poll(), f"the {d.role} daemon had exited before SIGKILL"
                          + self.diagnostics())
        d.proc.kill()
        d.proc.wait()

    def stop_daemons(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.send_signal(signal.SIGTERM)
                try:
                    d.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    d.proc.kill()
                    d.proc.wait()

    def _kill_all(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()

    def daemon_output(self, role=None):
        return "".join(d.output() for d in self.daemons if role in (None, d.role))

    def log_lines(self, needle, role="target"):
        return [ln for ln in self.daemon_output(role).splitlines() if needle in ln]

    def live_daemons(self):
        return [d for d in self.daemons if d in (self.target, self.source)]

    # -- waiting ---------------------------------------------------------------
    def wait_until(self, pred, timeout, what, interval=0.25, daemons=None, no_failed_jobs=True):
        """Poll pred until true; fail at the timeout, when a daemon exits, or
        (to fail early, with the reason) when a vault job failed."""
        deadline = time.monotonic() + R.scaled(timeout)
        next_db_look = 0.0
        watch = self.live_daemons() if daemons is None else daemons
        while True:
            value = pred()
            if value:
                return value
            for d in watch:
                if d.proc.poll() is not None:
                    self.fail(f"the {d.role} daemon exited (rc {d.proc.returncode}) while waiting "
                              f"for {what}" + self.diagnostics())
            if no_failed_jobs and time.monotonic() >= next_db_look:
                next_db_look = time.monotonic() + 1.0
                failed = [j for j in self.jobs() if j.get("state") == "failed"]
                if failed:
                    self.fail(f"a vault job failed while waiting for {what}: " + "; ".join(
                        f"{j.get('id')} {j.get('error_code')!r} {j.get('error_message')!r}"
                        for j in failed) + self.diagnostics())
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout}s waiting for {what}" + self.diagnostics())
            time.sleep(interval)

    def quiet(self, seconds):
        """Let the daemons run on before checking that something did NOT happen."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for d in self.live_daemons():
                if d.proc.poll() is not None:
                    self.fail(f"the {d.role} daemon exited (rc {d.proc.returncode})"
                              + self.diagnostics())
            time.sleep(0.2)

    # -- playing the source (source account, boto3) ---------------------------
    def create_instance(self, db_id, engine="postgres", engine_version="16.3", storage=100):
        self.bed.create_instance(db_id, engine, engine_version, storage)
        self.dbs.add(db_id)

    def create_cluster(self, cluster_id, engine="aurora-postgresql", engine_version="15.4"):
        self.bed.create_cluster(cluster_id, engine, engine_version)
        self.dbs.add(cluster_id)

    def backdate(self, kind, name, when):
        """Set the creation time of the source-account snapshot `name` to
        `when` (unix seconds) in moto's memory (no AWS call): an instance
        snapshot's SnapshotCreateTime and OriginalSnapshotCreateTime (which
        its copies inherit), a cluster snapshot's SnapshotCreateTime."""
        backend = _rds_models.rds_backends[self.src][self.region]
        if kind == "db-cluster-snapshot":
            m = backend.resource_map[_rds_models.DBClusterSnapshot][name]
        else:
            m = backend.resource_map[_rds_models.DBSnapshot][name]
        dt = datetime.datetime.fromtimestamp(int(when), datetime.timezone.utc)
        if m.created.tzinfo is None:
            dt = dt.replace(tzinfo=None)
        m.created = dt
        if kind != "db-cluster-snapshot":
            m.original_snapshot_create_time = dt

    def reported_time(self, kind, ident):
        """The time RDS (moto, source account) reports for a snapshot, the
        way the vault reads it: OriginalSnapshotCreateTime, else
        SnapshotCreateTime."""
        if kind == "db-cluster-snapshot":
            c = self.rds.describe_db_cluster_snapshots(
                DBClusterSnapshotIdentifier=ident)["DBClusterSnapshots"][0]
        else:
            c = self.rds.describe_db_snapshots(DBSnapshotIdentifier=ident)["DBSnapshots"][0]
        return c.get("OriginalSnapshotCreateTime") or c["SnapshotCreateTime"]

    def make_export(self, db_id, label, share=True, cluster=False, delete_source=False, when=None):
        """A snapshot `label` of db_id, copied to an export-copy name with the
        export key (as the source daemon does), shared with the vault. With
        `when` (unix seconds), the snapshot is backdated in moto's memory:
        an instance snapshot before it is copied (the export copy inherits
        its OriginalSnapshotCreateTime), a cluster snapshot's export copy
        (the vault goes by the export copy's SnapshotCreateTime)."""
        rds = self.rds
        kind = "db-cluster-snapshot" if cluster else "db-snapshot"
        if cluster:
            s = rds.create_db_cluster_snapshot(DBClusterIdentifier=db_id,
                                               DBClusterSnapshotIdentifier=label)["DBClusterSnapshot"]
            source_arn = s["DBClusterSnapshotArn"]
            name = copy_identifier(source_arn)
            c = rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=source_arn,
                                             TargetDBClusterSnapshotIdentifier=name,
                                             KmsKeyId=self.bed.kms_key_arn)["DBClusterSnapshot"]
            arn, storage = c["DBClusterSnapshotArn"], c.get("AllocatedStorage", 0)
            if when is not None:
                self.backdate(kind, name, when)
        else:
            s = rds.create_db_snapshot(DBInstanceIdentifier=db_id,
                                       DBSnapshotIdentifier=label)["DBSnapshot"]
            source_arn = s["DBSnapshotArn"]
            name = copy_identifier(source_arn)
            if when is not None:
                self.backdate(kind, label, when)
            c = rds.copy_db_snapshot(SourceDBSnapshotIdentifier=source_arn,
                                     TargetDBSnapshotIdentifier=name,
                                     KmsKeyId=self.bed.kms_key_arn)["DBSnapshot"]
            arn, storage = c["DBSnapshotArn"], c["AllocatedStorage"]
        created = self.reported_time(kind, name)
        if when is not None:
            self.assertEqual(iso_ts(created.timestamp()), iso_ts(when),
                             f"backdating {name} in moto did not take")
        e = Export(kind, name, arn, source_arn, db_id, c["Engine"], c["EngineVersion"], storage,
                   created)
        if delete_source:
            if cluster:
                rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=label)
            else:
                rds.delete_db_snapshot(DBSnapshotIdentifier=label)
        if share:
            self.share(e)
        return e

    def share(self, e):
        if e.cluster:
            self.rds.modify_db_cluster_snapshot_attribute(
                DBClusterSnapshotIdentifier=e.name, AttributeName="restore",
                ValuesToAdd=[self.vault])
        else:
            self.rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=e.name,
                                                  AttributeName="restore", ValuesToAdd=[self.vault])

    def announcement(self, e, snapshot_time=None, **override):
        """The announcement the source daemon would publish for e (DESIGN.md 5);
        by default its snapshot_time is the time RDS reports for e."""
        when = snapshot_time if snapshot_time is not None else e.create_time.timestamp()
        a = {"schema": SCHEMA, "kind": e.kind, "snapshot_arn": e.arn,
             "source_snapshot_arn": e.source_arn, "source_account": self.src,
             "region": self.region, "db_identifier": e.db_id, "engine": e.engine,
             "engine_version": e.engine_version, "allocated_storage_gib": e.storage,
             "snapshot_time": iso_ts(when), "export_kms_key": self.bed.kms_key_arn}
        a.update(override)
        return a

    def envelope(self, message):
        """An SNS Notification envelope around message (a str), as SNS
        delivers it to SQS."""
        return json.dumps({
            "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": self.bed.topic_arn,
            "Message": message,
            "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"),
            "SignatureVersion": "1", "Signature": "EXAMPLEpH+..",
            "SigningCertURL": "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeURL": "https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe"})

    def send(self, body):
        """A message straight into the vault inbox; body: a dict
        (announcement, JSON-encoded) or a str. Returns the SQS MessageId."""
        if not isinstance(body, str):
            body = json.dumps(body)
        return self.vsqs.send_message(QueueUrl=self.inbox_url, MessageBody=body)["MessageId"]

    def send_many(self, bodies):
        for i in range(0, len(bodies), 10):
            entries = [{"Id": str(k), "MessageBody": json.dumps(b) if not isinstance(b, str) else b}
                       for k, b in enumerate(bodies[i:i + 10])]
            r = self.vsqs.send_message_batch(QueueUrl=self.inbox_url, Entries=entries)
            self.assertFalse(r.get("Failed"), f"SendMessageBatch refused entries: {r.get('Failed')}")

    def publish(self, message):
        """Through the real path: the source account publishes to the vault topic."""
        self.emu.client("sns", account="source").publish(TopicArn=self.bed.topic_arn,
                                                          Message=message)

    # -- moto's view (vault account, through the API) -------------------------
    def vault_snapshots(self):
        """Every manual instance and cluster snapshot the vault owns:
        {name: {kind, name, arn, status, encrypted, kms, tags, engine,
        engine_version, storage, db_id}}."""
        out = {}
        pages = self.vrds.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual")
        for page in pages:
            for s in page["DBSnapshots"]:
                out[s["DBSnapshotIdentifier"]] = {
                    "kind": "db-snapshot", "name": s["DBSnapshotIdentifier"],
                    "arn": s["DBSnapshotArn"], "status": s["Status"],
                    "encrypted": s.get("Encrypted"), "kms": s.get("KmsKeyId"),
                    "tags": {t["Key"]: t["Value"] for t in s.get("TagList", [])},
                    "engine": s.get("Engine"), "engine_version": s.get("EngineVersion"),
                    "storage": s.get("AllocatedStorage"), "db_id": s.get("DBInstanceIdentifier")}
        pages = self.vrds.get_paginator("describe_db_cluster_snapshots").paginate(
            SnapshotType="manual")
        for page in pages:
            for s in page["DBClusterSnapshots"]:
                out[s["DBClusterSnapshotIdentifier"]] = {
                    "kind": "db-cluster-snapshot", "name": s["DBClusterSnapshotIdentifier"],
                    "arn": s["DBClusterSnapshotArn"], "status": s["Status"],
                    "encrypted": s.get("StorageEncrypted"), "kms": s.get("KmsKeyId"),
                    "tags": {t["Key"]: t["Value"] for t in s.get("TagList", [])},
                    "engine": s.get("Engine"), "engine_version": s.get("EngineVersion"),
                    "storage": s.get("AllocatedStorage"), "db_id": s.get("DBClusterIdentifier")}
        return out

    def vault_tags(self, arn):
        return {t["Key"]: t["Value"]
                for t in self.vrds.list_tags_for_resource(ResourceName=arn)["TagList"]}

    def vault_copies(self):
        """The vault snapshots carrying the daemon's job tag."""
        return {n: s for n, s in self.vault_snapshots().items() if TAG_JOB in s["tags"]}

    def inbox_counts(self):
        a = self.vsqs.get_queue_attributes(QueueUrl=self.inbox_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
                int(a["ApproximateNumberOfMessagesDelayed"]))

    def wait_inbox_empty(self, timeout=20):
        self.wait_until(lambda: self.inbox_counts() == (0, 0, 0), timeout,
                        "the vault inbox to be empty (messages deleted by the daemon)")

    def vault_copy_calls(self):
        """The sources named by the vault account's CopyDB[Cluster]Snapshot calls."""
        calls = self.emu.journal("rds", "CopyDBSnapshot", "vault") + \
            self.emu.journal("rds", "CopyDBClusterSnapshot", "vault")
        return [c["params"].get("SourceDBSnapshotIdentifier") or
                c["params"].get("SourceDBClusterSnapshotIdentifier") for c in calls]

    # -- the state database (secondary) -----------------------------------------
    def jobs(self, path=None):
        path = path or self.state_db
        if not os.path.exists(path):
            return []
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            try:
                con.row_factory = sqlite3.Row
                return [dict(r) for r in con.execute("SELECT * FROM jobs")]
            finally:
                con.close()
        except sqlite3.Error as e:
            return [{"error": f"state db: {e}"}]

    def job(self, e):
        return next((j for j in self.jobs() if j.get("source_arn") == e.arn), None)

    def job_state(self, e):
        j = self.job(e)
        return j and j.get("state")

    def rejected(self):
        return [j for j in self.jobs() if j.get("state") == "rejected"]

    def diagnostics(self):
        lines = ["", "--- daemon output (last 80 lines each) ---"]
        for d in self.daemons:
            lines.append(f"[{d.role} pid {d.proc.pid} rc {d.proc.poll()}]")
            lines += d.output().splitlines()[-80:]
        lines.append("--- vault jobs (state db) ---")
        for j in self.jobs()[:60]:
            lines.append(" ".join(f"{k}={j.get(k)!r}" for k in
                                  ("id", "state", "source_arn", "copy_id", "snapshot_time",
                                   "error_code", "error_message") if k in j) or repr(j))
        lines.append("--- vault snapshots in moto ---")
        try:
            snaps = self.vault_snapshots()
            for s in list(snaps.values())[:60]:
                lines.append(f"{s['name']} status={s['status']} job={s['tags'].get(TAG_JOB)} "
                             f"time={s['tags'].get(TAG_SOURCE_TIME)}")
            lines.append(f"({len(snaps)} in all)")
        except Exception as exc:  # noqa: BLE001 - diagnostics only
            lines.append(f"(unreadable: {exc})")
        try:
            lines.append(f"--- vault inbox (visible, in flight, delayed): {self.inbox_counts()}")
        except Exception as exc:  # noqa: BLE001
            lines.append(f"(inbox unreadable: {exc})")
        lines.append("--- vault calls: " + ", ".join(
            f"{r['service']}:{r['action']}={r['count']}" + (f"({r['faulted']} faulted)" if r["faulted"] else "")
            for r in self.emu.counts(account="vault")))
        return "\n".join(lines)

    # -- the assertions ---------------------------------------------------------
    def wait_verified(self, exports, timeout=60):
        """Until moto holds every vault copy available and the state db says verified."""
        def done():
            snaps = self.vault_snapshots()
            return all(e.vault_copy_id in snaps and snaps[e.vault_copy_id]["status"] == "available"
                       and self.job_state(e) == "verified" for e in exports)
        self.wait_until(done, timeout, "vault copies of " + ", ".join(e.name for e in exports)
                        + " available and verified")

    def assert_in_vault(self, e, snapshot_time=None, swept=False):
        """The vault copy of export e: one, available, encrypted with the import
        key, carrying the provenance tags, matching the source snapshot. A
        swept copy has no announcement: no source-snapshot tag."""
        snaps = self.vault_snapshots()
        what = f"vault copy {e.vault_copy_id} of {e.name}"
        self.assertIn(e.vault_copy_id, snaps, f"{what} missing in moto" + self.diagnostics())
        c = snaps[e.vault_copy_id]
        self.assertEqual(c["kind"], e.kind, what)
        self.assertEqual(c["status"], "available", what)
        self.assertIs(c["encrypted"], True, f"{what}: not encrypted")
        self.assertEqual(c["kms"], self.import_key, f"{what}: KmsKeyId is not the import key")
        self.assertNotEqual(c["kms"], self.bed.kms_key_arn, what)
        tags = self.vault_tags(c["arn"])
        # By default: the time RDS reports for the shared export copy, never
        # the announced one.
        when = iso_ts(snapshot_time if snapshot_time is not None else e.create_time.timestamp())
        if swept and tags.get(TAG_SOURCE_TIME) in self.original_times(e):
            # The sweep has no announcement: the export copy's creation time,
            # or (better) its OriginalSnapshotCreateTime, are both fair.
            when = tags.get(TAG_SOURCE_TIME)
        self.assertEqual({k: tags.get(k) for k in (TAG_JOB, TAG_SOURCE_ARN, TAG_SOURCE_ACCOUNT,
                                                   TAG_SOURCE_TIME, TAG_DB, TAG_SOURCE_SNAPSHOT)},
                         {TAG_JOB: e.job_id, TAG_SOURCE_ARN: e.arn, TAG_SOURCE_ACCOUNT: self.src,
                          TAG_SOURCE_TIME: when, TAG_DB: e.db_id,
                          TAG_SOURCE_SNAPSHOT: None if swept else e.source_arn},
                         f"{what}: provenance tags")
        self.assertEqual((c["engine"], c["engine_version"], c["db_id"]),
                         (e.engine, e.engine_version, e.db_id), what)
        copies = [s for s in snaps.values() if s["tags"].get(TAG_SOURCE_ARN) == e.arn]
        self.assertEqual(len(copies), 1, f"vault copies of {e.name} by tag: "
                         f"{[s['name'] for s in copies]}")
        return c

    def original_times(self, e):
        """The times a swept copy may carry as its source time: the export
        copy's creation and, for instances, its OriginalSnapshotCreateTime."""
        if e.cluster:
            c = self.rds.describe_db_cluster_snapshots(
                DBClusterSnapshotIdentifier=e.name)["DBClusterSnapshots"][0]
        else:
            c = self.rds.describe_db_snapshots(DBSnapshotIdentifier=e.name)["DBSnapshots"][0]
        return {iso_ts(t.timestamp()) for t in (c.get("SnapshotCreateTime"),
                                                c.get("OriginalSnapshotCreateTime")) if t}

    def assert_vault_holds(self, exports, others=()):
        """The vault owns exactly these copies (+ the named others), no more."""
        snaps = self.vault_snapshots()
        self.assertEqual(sorted(snaps), sorted([e.vault_copy_id for e in exports] + list(others)),
                         "the vault's snapshots in moto" + self.diagnostics())
        by_source = collections.Counter(s["tags"].get(TAG_SOURCE_ARN) for s in snaps.values())
        for e in exports:
            self.assertEqual(by_source[e.arn], 1, f"vault copies of {e.name} (by tag)")

    def assert_no_warnings(self, msgid, role="target"):
        self.assertEqual(self.log_lines(f"[{msgid}]", role), [],
                         f"unexpected [{msgid}] lines" + self.diagnostics())


# ---------------------------------------------------------------------------
# end to end: both daemons
# ---------------------------------------------------------------------------

class TestVaultEndToEnd(VaultCase):
    def test_two_instances_and_an_aurora_cluster_arrive_encrypted_verified(self):
        """EventBridge -> source daemon -> export copy, share, sns:Publish ->
        vault inbox -> target daemon -> vault copy with the import key."""
        self.emu.set_copy_delay(2)   # both sides wait in copying / importing a little
        self.create_instance("orders-prod")
        self.create_instance("billing-prod", engine="mysql", engine_version="8.0.35", storage=50)
        self.create_cluster("ledger-aurora")
        backup = self.bed.backup_snapshot("orders-prod", "job-0e2e0e2e-1111-4222-8333-444444444444")
        manual = self.bed.create_snapshot("billing-prod", "billing-prod-2026-11-22")
        aurora = self.bed.create_cluster_snapshot("ledger-aurora", "ledger-aurora-2026-11-22")
        snaps = [backup, manual, aurora]
        self.start_target()
        self.start_source()
        self.bed.put_events(self.bed.backup_event(backup), self.bed.snapshot_event(manual),
                            self.bed.snapshot_event(aurora))
        exports = []
        exports_src_time = {}
        for s in snaps:
            stype = {"SnapshotType": "awsbackup"} if s.name.startswith("awsbackup:") else {}
            if s.cluster:
                t = self.rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=s.arn,
                                                           **stype)["DBClusterSnapshots"][0]
            else:
                t = self.rds.describe_db_snapshots(DBSnapshotIdentifier=s.arn,
                                                   **stype)["DBSnapshots"][0]
            exports.append(Export(s.kind, copy_identifier(s.arn),
                                  export_arn_of(self.region, self.src, s.arn, s.cluster), s.arn,
                                  s.db_id, t["Engine"], t["EngineVersion"],
                                  t.get("AllocatedStorage", 0), t["SnapshotCreateTime"]))
            exports_src_time[s.arn] = t.get("OriginalSnapshotCreateTime") or t["SnapshotCreateTime"]
        self.wait_verified(exports, timeout=90)
        self.quiet(3)  # more ticks on both sides: nothing copied twice
        # The vault goes by the time RDS reports for the shared export copy
        # (an instance copy keeps its source's OriginalSnapshotCreateTime; a
        # cluster copy has its own SnapshotCreateTime), not the announced one.
        exports = [dataclasses.replace(e, create_time=self.reported_time(e.kind, e.arn))
                   for e in exports]
        for e, s in zip(exports, snaps):
            if not e.cluster:
                self.assertEqual(iso_ts(e.create_time.timestamp()),
                                 iso_ts(exports_src_time[s.arn].timestamp()),
                                 f"{e.name}: OriginalSnapshotCreateTime is not its source's")
        for e in exports:
            self.assert_in_vault(e)
        self.assert_vault_holds(exports)
        self.wait_inbox_empty()
        self.assertEqual(self.rejected(), [], "rejected announcements" + self.diagnostics())
        self.assertEqual(sorted(j["state"] for j in self.jobs()), ["verified"] * 3,
                         "vault jobs" + self.diagnostics())
        self.assert_no_warnings(MSGID_VERIFY_FAILED)
        self.assert_no_warnings(MSGID_JOB_FAILED, role=None)
        # The vault copied exactly the three shared export copies, by ARN.
        self.assertEqual(sorted(set(self.vault_copy_calls())), sorted(e.arn for e in exports))
        for role in ("source", "target"):
            out = self.daemon_output(role)
            self.assertTrue(out, f"no {role} daemon output")
            for acct in self.emu.accounts.values():
                # (not assertNotIn: its message would print the secret)
                self.assertFalse(acct["secret_access_key"] in out,
                                 f"a secret access key appears in the {role} daemon's output")


# ---------------------------------------------------------------------------
# forged and malformed announcements
# ---------------------------------------------------------------------------

class TestVaultForged(VaultCase):
    """Each forgery goes straight into the vault inbox next to one valid
    announcement (the control: proves the daemon was working while it
    refused the forgery)."""

    def assert_vault_holds(self, exports, others=()):
        # The vault-account snapshot planted by one test is not a copy.
        snaps = self.vault_snapshots()
        planted = [n for n, s in snaps.items() if s["db_id"] == "vault-db"]
        super().assert_vault_holds(exports, list(others) + planted)

    def run_forged(self, make_body, reason, setup=None, timeout=30):
        self.create_instance("orders-prod")
        control = self.make_export("orders-prod", "orders-prod-control")
        extra = setup() if setup else None
        self.start_target()
        body = make_body(extra)
        mid = self.send(body)
        self.send(self.announcement(control))
        self.wait_until(lambda: any(j.get("source_arn") == f"rejected:{mid}" for j in self.rejected()),
                        timeout, f"the rejected row of message {mid}")
        self.wait_verified([control])
        self.wait_inbox_empty()
        self.quiet(2)
        rows = self.rejected()
        self.assertEqual([j["source_arn"] for j in rows], [f"rejected:{mid}"],
                         "rejected rows" + self.diagnostics())
        self.assertRegex(rows[0]["error_message"], reason, "the rejected row's reason")
        warn = self.log_lines(f"[{MSGID_REJECTED}]")
        self.assertEqual(len(warn), 1, f"rejection warning lines: {warn}" + self.diagnostics())
        self.assertIn(mid, warn[0])
        self.assertIn("warning", warn[0])
        self.assertRegex(warn[0], reason)
        # Nothing but the control was copied into the vault.
        self.assert_vault_holds([control])
        self.assert_in_vault(control)
        self.assertEqual(set(self.vault_copy_calls()), {control.arn},
                         "CopyDB*Snapshot calls of the vault")
        self.assertEqual(self.inbox_counts(), (0, 0, 0), "vault inbox after the rejection")
        self.assertEqual(sorted((j["source_arn"], j["state"]) for j in self.jobs()),
                         sorted([(control.arn, "verified"), (f"rejected:{mid}", "rejected")]))
        return extra

    def test_unknown_source_account_is_rejected(self):
        # Well-formed, from an account that is not allow-listed (its ARN agrees).
        other = "999999999999"

        def body(_):
            name = f"ob-orders-prod-x-{hex12('stranger')}"
            return {"schema": SCHEMA, "kind": "db-snapshot",
                    "snapshot_arn": f"arn:aws:rds:{self.region}:{other}:snapshot:{name}",
                    "source_snapshot_arn": f"arn:aws:rds:{self.region}:{other}:snapshot:orders-prod-x",
                    "source_account": other, "region": self.region, "db_identifier": "orders-prod",
                    "engine": "postgres", "engine_version": "16.3", "allocated_storage_gib": 100,
                    "snapshot_time": iso_ts(time.time() - 60),
                    "export_kms_key": f"arn:aws:kms:{self.region}:{other}:key/{uuid.uuid4()}"}
        self.run_forged(body, rf"source account {other} is not in allowed_source_accounts")

    def test_arn_of_another_account_than_claimed_is_rejected(self):
        # Claims the allowed source account, points at a snapshot elsewhere
        # (here: an export-copy-named snapshot in the vault account itself).
        def setup():
            vr = self.vrds
            vr.create_db_instance(DBInstanceIdentifier="vault-db", Engine="postgres",
                                  EngineVersion="16.3", DBInstanceClass="db.t3.micro",
                                  AllocatedStorage=100, MasterUsername="admin1",
                                  MasterUserPassword="password123")
            name = f"ob-vault-db-x-{hex12('vault-db-x')}"
            s = vr.create_db_snapshot(DBInstanceIdentifier="vault-db",
                                      DBSnapshotIdentifier=name)["DBSnapshot"]
            return s

        def body(s):
            return {"schema": SCHEMA, "kind": "db-snapshot", "snapshot_arn": s["DBSnapshotArn"],
                    "source_snapshot_arn": s["DBSnapshotArn"], "source_account": self.src,
                    "region": self.region, "db_identifier": "vault-db", "engine": "postgres",
                    "engine_version": "16.3", "allocated_storage_gib": 100,
                    "snapshot_time": iso_ts(time.time() - 60),
                    "export_kms_key": self.bed.kms_key_arn}
        s = self.run_forged(body, rf"the snapshot ARN is in account {self.vault}, the "
                                  rf"announcement claims {self.src}", setup=setup)
        # The vault's own snapshot is still there, untouched, and was not copied.
        self.assertEqual(self.vault_snapshots()[s["DBSnapshotIdentifier"]]["status"], "available")
        self.assertNotIn(s["DBSnapshotArn"], self.vault_copy_calls())

    def test_snapshot_not_shared_is_rejected_after_retries(self):
        # Valid in every field, but never shared: looked at again with backoff
        # (visibility timeout 1, 2, 4 ... s) and rejected after 6 receives.
        started = time.monotonic()
        e = self.run_forged(lambda e: self.announcement(e),
                            r"not shared with this account and available",
                            setup=lambda: self.make_export("orders-prod", "orders-prod-unshared",
                                                           share=False),
                            timeout=75)
        took = time.monotonic() - started
        self.assertGreater(took, 15, "rejected without waiting for the share to show")
        looks = [c for c in self.emu.journal("rds", "DescribeDBSnapshots", "vault")
                 if c["params"].get("DBSnapshotIdentifier") == e.arn]
        self.assertGreaterEqual(len(looks), 6, "DescribeDBSnapshots looks at the unshared snapshot")
        waits = self.log_lines("is not visible as shared and available yet")
        self.assertGreaterEqual(len(waits), 5, "no 'not visible yet' lines")

    def test_snapshot_that_is_not_an_export_copy_is_rejected(self):
        # Shared with the vault and real, but not one of the daemon's export copies.
        def setup():
            s = self.rds.create_db_snapshot(DBInstanceIdentifier="orders-prod",
                                            DBSnapshotIdentifier="orders-prod-handmade")["DBSnapshot"]
            self.rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="orders-prod-handmade",
                                                  AttributeName="restore", ValuesToAdd=[self.vault])
            return Export("db-snapshot", "orders-prod-handmade", s["DBSnapshotArn"], s["DBSnapshotArn"],
                          "orders-prod", s["Engine"], s["EngineVersion"], s["AllocatedStorage"],
                          s["SnapshotCreateTime"])
        self.run_forged(lambda e: self.announcement(e),
                        r"not an offsite-backup export copy", setup=setup)

    def test_snapshot_time_in_the_future_is_rejected(self):
        self.run_forged(lambda e: self.announcement(e, snapshot_time=time.time() + 2 * 86400),
                        r"snapshot_time lies in the future",
                        setup=lambda: self.make_export("orders-prod", "orders-prod-future"))

    def test_db_identifier_of_another_database_is_rejected(self):
        # A real, shared export copy of orders-prod, announced as billing-prod's.
        self.run_forged(lambda e: self.announcement(e, db_identifier="billing-prod"),
                        r"db_identifier billing-prod, but the snapshot is of orders-prod",
                        setup=lambda: self.make_export("orders-prod", "orders-prod-otherdb"))

    def test_snapshot_time_after_the_snapshots_own_is_rejected(self):
        # Claims to be an hour newer than RDS says the snapshot is (which
        # would hide an RPO breach and skew retention).
        self.run_forged(
            lambda e: self.announcement(e, snapshot_time=e.create_time.timestamp() + 3600),
            r"snapshot_time is after the time RDS reports for the snapshot",
            setup=lambda: self.make_export("orders-prod", "orders-prod-later",
                                           when=time.time() - 2 * 3600))

    def test_snapshot_in_another_region_is_rejected(self):
        def body(e):
            return self.announcement(e, region="us-east-1",
                                     snapshot_arn=e.arn.replace(f":{self.region}:", ":us-east-1:"),
                                     source_snapshot_arn=e.source_arn.replace(f":{self.region}:",
                                                                              ":us-east-1:"))
        self.run_forged(body, r"the snapshot is in aws us-east-1 .*this vault is in aws eu-central-1",
                        setup=lambda: self.make_export("orders-prod", "orders-prod-elsewhere"))

    def test_schema_missing_is_rejected(self):
        def body(e):
            a = self.announcement(e)
            del a["schema"]
            return a
        self.run_forged(body, r"schema is missing",
                        setup=lambda: self.make_export("orders-prod", "orders-prod-noschema"))

    def test_garbage_json_is_rejected(self):
        self.run_forged(lambda _: '{"schema": "offsite-backup/1", "kind": "db-snapshot", garbage',
                        r"body is not valid JSON|body ends before the JSON does")

    def test_sns_envelope_with_non_json_message_is_rejected(self):
        self.run_forged(lambda _: self.envelope("snapshot ready: see the console {"),
                        r"envelope Message is not valid JSON|envelope Message .*JSON")


# ---------------------------------------------------------------------------
# duplicates, order, late shares
# ---------------------------------------------------------------------------

class TestVaultIntake(VaultCase):
    def test_duplicate_announcements_make_one_job_and_one_copy(self):
        self.create_instance("orders-prod")
        e = self.make_export("orders-prod", "orders-prod-dup")
        self.start_target()
        a = json.dumps(self.announcement(e))
        self.send(a)
        self.send(a)
        self.publish(a)  # the third through SNS: the same announcement in its envelope
        self.wait_verified([e])
        self.wait_inbox_empty()
        self.send(a)     # a late duplicate, after the job completed
        self.wait_inbox_empty()
        self.quiet(3)
        self.assert_in_vault(e)
        self.assert_vault_holds([e])
        self.assertEqual([(j["source_arn"], j["state"]) for j in self.jobs()], [(e.arn, "verified")],
                         "vault jobs" + self.diagnostics())
        self.assertEqual(set(self.vault_copy_calls()), {e.arn})
        self.assert_no_warnings(MSGID_REJECTED)

    def test_announcements_out_of_order_are_both_imported(self):
        self.create_instance("orders-prod")
        # Two days and an hour old in RDS (backdated before the export copy).
        old = self.make_export("orders-prod", "orders-prod-older", when=time.time() - 2 * 86400)
        new = self.make_export("orders-prod", "orders-prod-newer", when=time.time() - 3600)
        self.start_target()
        self.send(self.announcement(new))
        self.wait_verified([new])
        # Arrives later, is older. Its announcement understates the time by
        # ten minutes (allowed): the vault still goes by the time RDS reports.
        self.send(self.announcement(old, snapshot_time=old.create_time.timestamp() - 600))
        self.wait_verified([old, new])
        self.wait_inbox_empty()
        self.quiet(3)
        self.assert_in_vault(new)
        self.assert_in_vault(old)
        self.assert_vault_holds([old, new])
        self.assert_no_warnings(MSGID_REJECTED)

    def test_announcement_before_the_share_is_visible_is_imported(self):
        self.create_instance("orders-prod")
        e = self.make_export("orders-prod", "orders-prod-late-share", share=False)
        self.start_target()
        sent = time.time()
        self.send(self.announcement(e))
        self.wait_until(lambda: self.log_lines("is not visible as shared and available yet"), 15,
                        "the daemon to look at the unshared snapshot")
        time.sleep(max(0.0, sent + 3.0 - time.time()))
        self.assertEqual(self.vault_snapshots(), {}, "imported before it was shared")
        self.share(e)
        self.wait_verified([e], timeout=40)
        self.wait_inbox_empty()
        self.quiet(2)
        self.assert_in_vault(e)
        self.assert_vault_holds([e])
        self.assertEqual(self.rejected(), [], "rejected rows" + self.diagnostics())
        self.assert_no_warnings(MSGID_REJECTED)

    def test_announcement_during_an_rds_outage_backs_off_and_is_imported(self):
        """RDS failing the validation lookup (5xx beyond the request core's
        own retries) neither rejects the announcement nor leaves it to the
        queue's visibility timeout: it is hidden for a backoff
        (ChangeMessageVisibility) and imported once RDS answers."""
        self.create_instance("orders-prod")
        e = self.make_export("orders-prod", "orders-prod-outage")
        rule = self.emu.inject("rds", "DescribeDBSnapshots", kind="error503", count=8,
                               account="vault")
        self.start_target()
        self.emu.reset_counts()
        self.send(self.announcement(e))
        self.wait_until(lambda: self.log_lines("cannot look up announced"), 30,
                        "the daemon to meet the outage")
        self.wait_verified([e], timeout=60)
        self.assertGreaterEqual(self.emu.count("sqs", "ChangeMessageVisibility", "vault"), 1,
                                "the announcement was not hidden for a backoff")
        self.assertEqual(next(r["fired"] for r in self.emu.fault_rules() if r["id"] == rule), 8)
        self.wait_inbox_empty()
        self.assert_in_vault(e)
        self.assert_vault_holds([e])
        self.assertEqual(self.rejected(), [], "rejected rows" + self.diagnostics())
        self.assert_no_warnings(MSGID_REJECTED)

# ---------------------------------------------------------------------------
# verification
# ---------------------------------------------------------------------------

class TestVaultVerify(VaultCase):
    def test_copy_that_does_not_match_the_announcement_fails_verification(self):
        """The claims the vault cannot check up front (engine, version, size)
        are checked on the vault copy: a lie fails the job, with an alert."""
        self.create_instance("orders-prod")
        liar = self.make_export("orders-prod", "orders-prod-liar")
        honest = self.make_export("orders-prod", "orders-prod-honest")
        self.start_target()
        self.send(self.announcement(liar, allocated_storage_gib=liar.storage * 2,
                                    snapshot_time=time.time() - 86400))
        self.send(self.announcement(honest))
        self.wait_until(lambda: self.job_state(liar) == "failed", 30,
                        "the lying announcement's job to fail", no_failed_jobs=False)
        self.wait_until(lambda: self.job_state(honest) == "verified", 30,
                        "the honest announcement's job to be verified", no_failed_jobs=False)
        self.quiet(2)
        j = self.job(liar)
        self.assertRegex(j["error_message"], rf"allocated storage {liar.storage} GiB, announced "
                                             rf"{liar.storage * 2}")
        alerts = self.log_lines(f"[{MSGID_VERIFY_FAILED}]")
        self.assertEqual(len(alerts), 1, f"verification alerts: {alerts}" + self.diagnostics())
        self.assertIn(liar.job_id, alerts[0])
        self.assertIn("allocated storage", alerts[0])
        self.assert_in_vault(honest)
        self.assertEqual(self.job_state(honest), "verified")
        self.assertEqual(self.job_state(liar), "failed", "a copy that failed verification")
        self.assert_no_warnings(MSGID_REJECTED)


# ---------------------------------------------------------------------------
# crashes
# ---------------------------------------------------------------------------

class TestVaultCrash(VaultCase):
    def test_kill9_while_importing_then_restart(self):
        self.create_instance("orders-prod")
        self.create_cluster("ledger-aurora")
        # One day apart (in RDS): two copies of a database from the same day
        # would rightly leave only one under keep_daily.
        now = time.time()
        exports = [self.make_export("orders-prod", f"orders-prod-k{i}", when=now - 60 - i * 86400)
                   for i in range(2)]
        exports.append(self.make_export("ledger-aurora", "ledger-aurora-k0", cluster=True,
                                        when=now - 60 - 2 * 86400))
        self.emu.set_copy_delay(5)  # vault copies stay creating for 5 s
        self.start_target()
        self.send_many([self.announcement(e) for e in exports])
        self.wait_until(lambda: all(
            (s := self.vault_snapshots().get(e.vault_copy_id)) is not None and s["status"] == "creating"
            for e in exports), 30, "three vault copies creating")
        self.wait_until(lambda: all(self.job_state(e) == "importing" for e in exports), 10,
                        "three jobs importing (state db)")
        self.kill9(self.target)
        self.start_target()
        self.wait_verified(exports, timeout=60)
        self.quiet(3)
        for e in exports:
            self.assert_in_vault(e)
        self.assert_vault_holds(exports)
        self.assertEqual(sorted(j["state"] for j in self.jobs()), ["verified"] * 3)
        self.wait_inbox_empty()

    def test_kill9_after_the_copy_call_before_its_commit(self):
        self.create_instance("orders-prod")
        # One day apart (in RDS), so that keep_daily keeps both.
        now = time.time()
        exports = [self.make_export("orders-prod", f"orders-prod-s{i}", when=now - 60 - i * 86400)
                   for i in range(2)]
        # moto executes the first CopyDBSnapshot of the vault; its answer is held 8 s.
        self.emu.inject("rds", "CopyDBSnapshot", kind="stall", when="after", seconds=8, count=1,
                        account="vault")
        self.start_target()
        self.send_many([self.announcement(e) for e in exports])
        self.wait_until(lambda: self.vault_snapshots(), 30, "a vault copy to appear in moto")
        first = self.vault_copy_calls()[0]
        stalled = next(e for e in exports if first in (e.arn, e.name))
        self.assertIn(stalled.vault_copy_id, self.vault_snapshots())
        self.assertEqual(self.job_state(stalled), "announced",
                         "the copy's answer was held, yet the job moved on")
        self.kill9(self.target)
        self.start_target()
        self.wait_verified(exports, timeout=60)
        self.quiet(3)
        for e in exports:
            self.assert_in_vault(e)
        self.assert_vault_holds(exports)
        calls = collections.Counter(self.vault_copy_calls())
        self.assertGreaterEqual(calls[stalled.arn], 2, "the restarted daemon did not copy again "
                                "(and find its copy by name)")
        self.assertEqual(sorted(j["state"] for j in self.jobs()), ["verified"] * 2)


# ---------------------------------------------------------------------------
# retention
# ---------------------------------------------------------------------------

class TestVaultRetention(VaultCase):
    def test_gfs_retention_over_400_days(self):
        """One database with daily snapshots over the 400 past days: 14 days
        missing, 5 days with two snapshots (distinct hours): 391 in all. Each is a
        real export copy in the source account, shared and announced (the
        source snapshot it came from is deleted at once to stay within moto's
        1000-snapshot quota). An untagged snapshot with an export-copy-like
        name is planted in the vault. keep 7/4/12/5: the vault must end up
        with exactly the GFS set computed here, and the planted snapshot."""
        missing = {3, 9, 10, 11, 40, 41, 97, 180, 181, 182, 183, 250, 366, 367}
        doubles = {2, 8, 33, 120, 399}
        today = datetime.datetime.now(datetime.timezone.utc).replace(
            hour=0, minute=0, second=0, microsecond=0)
        plan = []   # (label, unix time)
        for day in range(1, 401):
            if day in missing:
                continue
            base = today - datetime.timedelta(days=day)
            plan.append((f"orders-prod-d{day}a", (base + datetime.timedelta(hours=5, minutes=7)).timestamp()))
            if day in doubles:
                plan.append((f"orders-prod-d{day}b", (base + datetime.timedelta(hours=17, minutes=41)).timestamp()))
        self.create_instance("orders-prod")
        started = time.monotonic()
        # Backdated in moto before the export copy is made (which keeps the
        # OriginalSnapshotCreateTime); the times below are the ones RDS reports.
        exports = [self.make_export("orders-prod", label, delete_source=True, when=t)
                   for label, t in plan]
        exports = [(e, e.create_time.timestamp()) for e in exports]
        made = time.monotonic() - started
        # The planted snapshot: vault-owned, export-copy-like name, no tags.
        self.vrds.create_db_instance(DBInstanceIdentifier="orders-prod", Engine="postgres",
                                     EngineVersion="16.3", DBInstanceClass="db.t3.micro",
                                     AllocatedStorage=100, MasterUsername="admin1",
                                     MasterUserPassword="password123")
        planted = f"ob-ob-orders-prod-d500a-{hex12('planted-a')}-{hex12('planted-b')}"
        self.vrds.create_db_snapshot(DBInstanceIdentifier="orders-prod", DBSnapshotIdentifier=planted)
        expected = {exports[i][0].vault_copy_id
                    for i in gfs_keep([t for _, t in exports], 7, 4, 12, 5)}
        self.assertTrue(20 <= len(expected) <= 30, f"the plan gives {len(expected)} copies to keep")

        self.start_target(daemon={"max_concurrent_copies": "20"}, target={"rpo": "30d"})
        # Announced newest first, as a vault catching up with a backlog would see them.
        self.send_many([self.announcement(e, snapshot_time=t)
                        for e, t in sorted(exports, key=lambda x: -x[1])])

        def settled():
            states = collections.Counter(j.get("state") for j in self.jobs())
            if sum(states[s] for s in UNFINISHED) or sum(states.values()) < len(exports):
                return False
            return set(self.vault_copies()) == expected
        try:
            self.wait_until(settled, 240, f"retention to settle on the {len(expected)} GFS copies",
                            interval=1.0)
            timed_out = None
        except self.failureException as exc:  # report which copies differ first
            timed_out = exc
        else:
            self.quiet(4)  # more retention passes: nothing else goes
        snaps = self.vault_snapshots()
        kept = {n for n, s in snaps.items() if TAG_JOB in s["tags"]}
        by_name = {e.vault_copy_id: (e, t) for e, t in exports}
        detail = ("missing: " + ", ".join(sorted(iso_ts(by_name[n][1]) for n in expected - kept))
                  + "; extra: " + ", ".join(sorted(iso_ts(by_name[n][1]) for n in kept - expected
                                                   if n in by_name)))
        self.assertEqual(kept, expected, "GFS set in the vault: " + detail
                         + (f"\n{timed_out}" if timed_out else ""))
        if timed_out:
            raise timed_out
        self.assertEqual(set(snaps), expected | {planted}, "vault snapshots")
        self.assertEqual(snaps[planted]["status"], "available", "the planted snapshot")
        self.assertEqual(self.vault_tags(snaps[planted]["arn"]), {}, "the planted snapshot's tags")
        for n in expected:
            e, t = by_name[n]
            self.assertEqual(snaps[n]["tags"].get(TAG_SOURCE_TIME), iso_ts(t), n)
            self.assertEqual(snaps[n]["kms"], self.import_key, n)
        states = collections.Counter(j["state"] for j in self.jobs())
        self.assertEqual(dict(states), {"verified": len(expected), "expired": len(exports) - len(expected)},
                         "job states (state db)")
        self.assertNotIn(planted, [c["params"].get("DBSnapshotIdentifier")
                                   for c in self.emu.journal("rds", "DeleteDBSnapshot", "vault")],
                         "DeleteDBSnapshot of the planted snapshot")
        settled_after = time.monotonic() - started

        # Phase 2: a tighter policy (keep_daily 3, applied by SIGHUP) lets
        # more copies go; one of them lost its job tag meanwhile (someone
        # else's now, as far as the daemon can tell): that one must stay.
        times = [t for _, t in exports]
        keep3 = {exports[i][0].vault_copy_id for i in gfs_keep(times, 3, 4, 12, 5)}
        dropped = sorted(expected - keep3, key=lambda n: by_name[n][1])
        self.assertTrue(dropped, "keep_daily 3 drops nothing: the plan is wrong")
        stripped = dropped[0]
        self.vrds.remove_tags_from_resource(ResourceName=snaps[stripped]["arn"], TagKeys=[TAG_JOB])
        self.config_target(daemon={"max_concurrent_copies": "20"},
                           target={"rpo": "30d", "keep_daily": "3"})
        self.target.proc.send_signal(signal.SIGHUP)
        self.wait_until(lambda: self.log_lines("reload: ") and self.log_lines("applied"), 10,
                        "the reload to be applied")
        want = keep3 | {stripped}
        self.wait_until(lambda: set(self.vault_snapshots()) == want | {planted}, 30,
                        f"retention to settle on keep_daily 3 ({len(keep3)} copies + the stripped one)")
        self.quiet(3)
        snaps = self.vault_snapshots()
        self.assertEqual(set(snaps), want | {planted}, "vault snapshots after keep_daily 3")
        self.assertNotIn(TAG_JOB, self.vault_tags(snaps[stripped]["arn"]))
        self.assertTrue([ln for ln in self.log_lines("not deleting it") if stripped in ln],
                        "no warning about the copy without the job tag" + self.diagnostics())
        self.assertNotIn(stripped, [c["params"].get("DBSnapshotIdentifier")
                                    for c in self.emu.journal("rds", "DeleteDBSnapshot", "vault")],
                         "DeleteDBSnapshot of the copy without the job tag")
        print(f"  [{len(exports)} snapshots over 400 days, made in {made:.1f}s, settled after "
              f"{settled_after:.1f}s in all, {len(expected)} kept; keep_daily 3: {len(keep3)}]",
              end=" ", flush=True)


# ---------------------------------------------------------------------------
# RPO watch
# ---------------------------------------------------------------------------

class TestVaultRpo(VaultCase):
    def test_rpo_breach_is_raised_once_and_cleared(self):
        self.create_instance("orders-prod")
        self.create_instance("billing-prod")
        # Two days old in RDS (backdated before the export copy is made).
        old = self.make_export("orders-prod", "orders-prod-old", when=time.time() - 2 * 86400)
        fresh_other = self.make_export("billing-prod", "billing-prod-fresh",
                                       when=time.time() - 60)
        self.start_target(target={"rpo": "1h"})
        key = f"{self.src}/orders-prod"
        breach = f"[{MSGID_RPO_BREACH}] RPO breached for {key}"
        cleared = f"[{MSGID_RPO_CLEARED}] RPO restored for {key}"
        self.send(self.announcement(old))
        self.send(self.announcement(fresh_other))
        self.wait_verified([old, fresh_other])
        self.wait_until(lambda: self.log_lines(breach), 15, "the RPO breach warning")
        self.quiet(6)  # six more retention passes
        self.assertEqual(len(self.log_lines(breach)), 1, "RPO breach lines" + self.diagnostics())
        self.assertIn("warning", self.log_lines(breach)[0])
        self.assertEqual(self.log_lines(cleared), [], "restored before a newer copy came")
        self.assertEqual(self.log_lines(f"RPO breached for {self.src}/billing-prod"), [],
                         "a fresh database was reported as breached")
        new = self.make_export("orders-prod", "orders-prod-new")
        self.send(self.announcement(new))
        self.wait_verified([new])
        self.wait_until(lambda: self.log_lines(cleared), 15, "the RPO restored notice")
        self.quiet(4)
        self.assertEqual(len(self.log_lines(breach)), 1, "RPO breach lines after the restore")
        self.assertEqual(len(self.log_lines(cleared)), 1, "RPO restored lines")
        out = self.daemon_output("target")
        self.assertLess(out.index(breach), out.index(cleared))
        self.assert_vault_holds([old, fresh_other, new])


# ---------------------------------------------------------------------------
# the reconciliation sweep
# ---------------------------------------------------------------------------

class TestVaultSweep(VaultCase):
    def test_lost_announcement_is_caught_by_the_sweep(self):
        self.create_instance("orders-prod")
        self.create_cluster("ledger-aurora")
        self.start_target(daemon={"sweep_interval": "2s"})
        self.quiet(1)
        # Shared with the vault, never announced.
        lost = self.make_export("orders-prod", "orders-prod-lost")
        lost_cluster = self.make_export("ledger-aurora", "ledger-aurora-lost", cluster=True)
        # Shared too, but not an export copy: the sweep leaves it alone.
        plain = self.rds.create_db_snapshot(DBInstanceIdentifier="orders-prod",
                                            DBSnapshotIdentifier="orders-prod-plain")["DBSnapshot"]
        self.rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="orders-prod-plain",
                                              AttributeName="restore", ValuesToAdd=[self.vault])
        self.wait_verified([lost, lost_cluster], timeout=45)
        self.quiet(5)  # two more sweeps: nothing imported twice
        for e in (lost, lost_cluster):
            self.assert_in_vault(e, swept=True)
        self.assert_vault_holds([lost, lost_cluster])
        self.assertNotIn(plain["DBSnapshotArn"], self.vault_copy_calls(), "copied a non-export snapshot")
        self.assertEqual(sorted((j["source_arn"], j["origin"]) for j in self.jobs()),
                         sorted([(lost.arn, "sweep"), (lost_cluster.arn, "sweep")]))
        self.assert_no_warnings(MSGID_REJECTED)
