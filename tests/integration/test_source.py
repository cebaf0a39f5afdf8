"""Integration tests of the source role (DESIGN.md sections 2, 3, 5 and 7).

    EventBridge PutEvents -> rule -> SQS "events" -> offsite-backupd (role = source)
    -> CopyDB[Cluster]Snapshot (export key, provenance tags) -> poll -> share
    with the vault -> sns:Publish -> vault topic -> vault SQS inbox

Everything runs against the in-process emulator that run.py starts (one per
process; this module reads run.EMU and run.BUILD at test time). Proof is
always taken from the emulator: moto's view through boto3, its call
counters and call journal, and the vault inbox. The daemon's state database
is read only as a secondary check and to explain failures.

While waiting, the tests look at moto's memory directly (SourceBed.moto_*):
that makes no AWS call, so it neither shows up in the source account's
counters (the batched-polling test counts the daemon's calls) nor races
with the daemon.

Known difference from AWS: moto's EventBridge drops the "account" field of
the delivered event; everything else (version, id, detail-type, source,
time, region, resources, detail) has the real layout.

Run alone:  python3 tests/integration/run.py --build build -k Source
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import uuid

import botocore.exceptions

import run as R  # run.py, as loaded by itself (it registers under this name)

from moto.rds import models as _rds_models

TAG_SOURCE_ARN = "offsite-backup:source-arn"
TAG_JOB = "offsite-backup:job"
SCHEMA = "offsite-backup/1"
EVENTS_QUEUE = "offsite-backup-events"
VAULT_TOPIC = "offsite-backup-inbox"
VAULT_INBOX = "offsite-backup-inbox"
RULE = "offsite-backup-snapshots"


# ---------------------------------------------------------------------------
# names the daemon derives (its contract; see include/ob/ident.h)
# ---------------------------------------------------------------------------

def snapshot_name(arn):
    """The snapshot identifier in an RDS snapshot ARN (may hold ':')."""
    return arn.split(":", 6)[6]


def copy_identifier(source_arn):
    """ob- + name lower-cased, runs of non-[a-z0-9] -> '-' + '-' + 12 hex of sha256(ARN)."""
    slug = re.sub(r"[^a-z0-9]+", "-", snapshot_name(source_arn).lower()).strip("-")
    slug = slug[:255 - len("ob-") - 13].rstrip("-")
    return f"ob-{slug}-{hashlib.sha256(source_arn.encode()).hexdigest()[:12]}"


def job_identifier(source_arn):
    return "j" + hashlib.sha256(source_arn.encode()).hexdigest()[:16]


def iso_z(ts):
    return ts.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now_iso(ms=True):
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z" if ms \
        else now.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class Snap:
    """A source snapshot the fixture made (or a copy, for own-copy events)."""
    kind: str     # "db-snapshot" | "db-cluster-snapshot"
    name: str
    arn: str
    db_id: str    # DB instance or cluster identifier

    @property
    def cluster(self):
        return self.kind == "db-cluster-snapshot"


@dataclasses.dataclass
class MotoSnap:
    kind: str
    name: str
    arn: str
    status: str
    snapshot_type: str
    restore: list
    tags: dict


# ---------------------------------------------------------------------------
# the AWS side of a test: source account + vault account
# ---------------------------------------------------------------------------

class SourceBed:
    """Per test: the source KMS key, the events queue + DLQ (RedrivePolicy),
    the EventBridge rule (source aws.rds / aws.backup) targeting the queue,
    the vault topic + vault inbox queue + subscription; builders for DB
    instances, clusters, snapshots and the three event shapes; readers for
    moto's state and the vault inbox. The caller resets the emulator first."""

    def __init__(self, emu, visibility_timeout=30, max_receive_count=3):
        self.emu = emu
        self.region = emu.region
        self.src = emu.accounts["source"]["account_id"]
        self.vault = emu.accounts["vault"]["account_id"]
        self.rds = emu.client("rds", account="source")
        self.sqs = emu.client("sqs", account="source")
        self.events = emu.client("events", account="source")
        self.vsqs = emu.client("sqs", account="vault")
        self.vsns = emu.client("sns", account="vault")
        self.created = set()      # snapshot identifiers the fixture made
        self.inbox_bodies = []    # every vault inbox message body, in order

        self.kms_key_arn = emu.client("kms", account="source").create_key(
            Description="offsite-backup export key")["KeyMetadata"]["Arn"]

        self.dlq_url = self.sqs.create_queue(QueueName=EVENTS_QUEUE + "-dlq")["QueueUrl"]
        self.dlq_arn = self._queue_arn(self.sqs, self.dlq_url)
        self.queue_url = self.sqs.create_queue(QueueName=EVENTS_QUEUE, Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": self.dlq_arn,
                                         "maxReceiveCount": str(max_receive_count)}),
        })["QueueUrl"]
        self.queue_arn = self._queue_arn(self.sqs, self.queue_url)
        self.events.put_rule(Name=RULE, State="ENABLED", EventPattern=json.dumps(
            {"source": ["aws.rds", "aws.backup"]}))
        self.events.put_targets(Rule=RULE, Targets=[{"Id": EVENTS_QUEUE, "Arn": self.queue_arn}])

        self.topic_arn = self.vsns.create_topic(Name=VAULT_TOPIC)["TopicArn"]
        self.inbox_url = self.vsqs.create_queue(QueueName=VAULT_INBOX,
                                                Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        self.vsns.subscribe(TopicArn=self.topic_arn, Protocol="sqs",
                            Endpoint=self._queue_arn(self.vsqs, self.inbox_url))

    @staticmethod
    def _queue_arn(sqs, url):
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    # -- databases and snapshots (source account, through the API) ---------
    def create_instance(self, db_id, engine="postgres", engine_version="16.3", storage=100):
        self.rds.create_db_instance(DBInstanceIdentifier=db_id, Engine=engine,
                                    EngineVersion=engine_version, DBInstanceClass="db.t3.micro",
                                    AllocatedStorage=storage, MasterUsername="admin1",
                                    MasterUserPassword="password123")

    def create_cluster(self, cluster_id, engine="aurora-postgresql", engine_version="15.4"):
        self.rds.create_db_cluster(DBClusterIdentifier=cluster_id, Engine=engine,
                                   EngineVersion=engine_version, MasterUsername="admin1",
                                   MasterUserPassword="password123")

    def create_snapshot(self, db_id, name, tags=None):
        kw = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
        s = self.rds.create_db_snapshot(DBInstanceIdentifier=db_id, DBSnapshotIdentifier=name,
                                        **kw)["DBSnapshot"]
        self.created.add(name)
        return Snap("db-snapshot", name, s["DBSnapshotArn"], db_id)

    def create_cluster_snapshot(self, cluster_id, name, tags=None):
        kw = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
        s = self.rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster_id,
                                                DBClusterSnapshotIdentifier=name,
                                                **kw)["DBClusterSnapshot"]
        self.created.add(name)
        return Snap("db-cluster-snapshot", name, s["DBClusterSnapshotArn"], cluster_id)

    def backup_snapshot(self, db_id, job, cluster=False):
        """An AWS Backup recovery point "awsbackup:<job>" of an instance/cluster."""
        s = self.emu.add_backup_snapshot("source", db_id, job, cluster=cluster)
        if cluster:
            snap = Snap("db-cluster-snapshot", s["DBClusterSnapshotIdentifier"],
                        s["DBClusterSnapshotArn"], db_id)
        else:
            snap = Snap("db-snapshot", s["DBSnapshotIdentifier"], s["DBSnapshotArn"], db_id)
        self.created.add(snap.name)
        return snap

    def automated_snapshot(self, db_id):
        """The automated snapshot moto made when the instance was created."""
        s = self.rds.describe_db_snapshots(DBInstanceIdentifier=db_id,
                                           SnapshotType="automated")["DBSnapshots"][0]
        self.created.add(s["DBSnapshotIdentifier"])
        return Snap("db-snapshot", s["DBSnapshotIdentifier"], s["DBSnapshotArn"], db_id)

    # -- events (real EventBridge shapes) ------------------------------------
    def snapshot_event(self, snap, event_id=None, message=None, include_arn=True):
        """A PutEvents entry: "RDS DB Snapshot Event" / "RDS DB Cluster Snapshot Event"."""
        if snap.cluster:
            detail_type, source_type = "RDS DB Cluster Snapshot Event", "CLUSTER_SNAPSHOT"
            event_id = event_id or "RDS-EVENT-0075"
            message = message or "Manual cluster snapshot created"
        else:
            detail_type, source_type = "RDS DB Snapshot Event", "SNAPSHOT"
            event_id = event_id or "RDS-EVENT-0042"
            message = message or {"RDS-EVENT-0091": "Automated snapshot created",
                                  "RDS-EVENT-0197": "Finished copy of snapshot"}.get(
                                      event_id, "Manual snapshot created")
        detail = {"EventCategories": ["creation"], "SourceType": source_type,
                  "Date": _now_iso(), "Message": message,
                  "SourceIdentifier": snap.name, "EventID": event_id}
        if include_arn:
            detail["SourceArn"] = snap.arn
        return {"Source": "aws.rds", "DetailType": detail_type, "Detail": json.dumps(detail),
                "Resources": [snap.arn] if include_arn else []}

    def backup_event(self, snap, state="COMPLETED", resource_type=None):
        """A PutEvents entry: "Backup Job State Change" (aws.backup); the
        recovery point ARN is resources[0]."""
        kind = "cluster" if snap.cluster else "db"
        resource_type = resource_type or ("Aurora" if snap.cluster else "RDS")
        job = snap.name.split(":", 1)[-1]
        detail = {
            "backupJobId": job.replace("job-", "").upper(),
            "backupSizeInBytes": "21474836480",
            "backupVaultArn": f"arn:aws:backup:{self.region}:{self.src}:backup-vault:Default",
            "backupVaultName": "Default",
            "bytesTransferred": "21474836480",
            "creationDate": _now_iso(False),
            "iamRoleArn": f"arn:aws:iam::{self.src}:role/service-role/AWSBackupDefaultServiceRole",
            "resourceArn": f"arn:aws:rds:{self.region}:{self.src}:{kind}:{snap.db_id}",
            "resourceType": resource_type,
            "state": state,
            "completionDate": _now_iso(False),
            "startBy": _now_iso(False),
            "percentDone": 100.0 if state == "COMPLETED" else 40.0,
            "createdBy": {"backupPlanId": "8f1b7e4a-0000-4000-8000-000000000001",
                          "backupPlanArn": f"arn:aws:backup:{self.region}:{self.src}:backup-plan:"
                                           "8f1b7e4a-0000-4000-8000-000000000001",
                          "backupPlanVersion": "NzU3Y2E2NzgtNjY4NS00Yjg5",
                          "backupRuleId": "0b8f2e10-0000-4000-8000-000000000002"},
        }
        return {"Source": "aws.backup", "DetailType": "Backup Job State Change",
                "Detail": json.dumps(detail), "Resources": [snap.arn]}

    def other_event(self, source, detail_type, detail, resources=()):
        return {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
                "Resources": list(resources)}

    def envelope(self, entry):
        """The event as EventBridge delivers it to SQS (for SendMessage)."""
        return json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"],
                           "source": entry["Source"], "account": self.src, "time": _now_iso(False),
                           "region": self.region, "resources": entry.get("Resources", []),
                           "detail": json.loads(entry["Detail"])})

    def put_events(self, *entries):
        """PutEvents in calls of at most 10 entries; every entry must be accepted."""
        for i in range(0, len(entries), 10):
            r = self.events.put_events(Entries=list(entries[i:i + 10]))
            if r.get("FailedEntryCount"):
                raise AssertionError(f"PutEvents refused entries: {r['Entries']}")

    def send_raw(self, body):
        """A message straight into the events queue (not through EventBridge)."""
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    # -- moto's memory (no AWS call: not counted) -------------------------
    def _backend(self):
        return _rds_models.rds_backends[self.src][self.region]

    def moto_snapshots(self):
        """Every instance and cluster snapshot of the source account."""
        for _ in range(20):
            try:
                out = []
                backend = self._backend()
                for cls, kind in ((_rds_models.DBSnapshot, "db-snapshot"),
                                  (_rds_models.DBClusterSnapshot, "db-cluster-snapshot")):
                    for name, s in list(backend.resource_map[cls].items()):
                        out.append(MotoSnap(kind, name, s.arn, s.status, s.snapshot_type,
                                            list(s.attributes.get("restore", [])),
                                            {t["Key"]: t["Value"] for t in (s.tags or [])}))
                return out
            except RuntimeError:  # changed while iterating: look again
                time.sleep(0.01)
        raise RuntimeError("moto's snapshot maps keep changing")

    def daemon_copies(self):
        """Snapshots in the source account that the fixture did not make."""
        return [m for m in self.moto_snapshots()
                if m.name not in self.created and m.snapshot_type != "automated"]

    def moto_copy(self, snap):
        """Our export copy of snap in moto's memory, or None."""
        cid = copy_identifier(snap.arn)
        return next((m for m in self.moto_snapshots() if m.name == cid), None)

    # -- queues ---------------------------------------------------------------
    def queue_counts(self, url):
        """(visible, in flight, delayed) messages of one of the source's queues."""
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
                int(a["ApproximateNumberOfMessagesDelayed"]))

    def drain_inbox(self, wait=0):
        """Receive and delete everything in the vault inbox (vault account);
        the bodies accumulate in self.inbox_bodies."""
        while True:
            msgs = self.vsqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=wait, VisibilityTimeout=60).get("Messages", [])
            if not msgs:
                return self.inbox_bodies
            for m in msgs:
                self.inbox_bodies.append(m["Body"])
                self.vsqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=m["ReceiptHandle"])
            wait = 0


# ---------------------------------------------------------------------------
# base class: the daemon runner, waits, assertions
# ---------------------------------------------------------------------------

class SourceCase(R.Case):
    visibility_timeout = 30   # events queue; a message the daemon fails to delete stays "in flight"
    max_receive_count = 3
    poll_interval_s = 1.0

    def setUp(self):
        super().setUp()
        self.emu = R.EMU
        self.emu.set_copy_delay(0)
        self.addCleanup(self.emu.set_copy_delay, 0)
        self.addCleanup(self.emu.clear_faults)
        self.bed = SourceBed(self.emu, self.visibility_timeout, self.max_receive_count)
        self.state_db = os.path.join(self.tmp.name, "state.db")
        self.config_path = None
        self.procs = []
        self.logs = []
        self.proc = None
        self.addCleanup(self._kill_all)

    def tearDown(self):
        self.stop_daemon()
        self.assert_no_secret(self.daemon_output())

    def assert_no_secret(self, *outputs):
        """run.Case's check, without echoing the secret in the failure."""
        try:
            super().assert_no_secret(*outputs)
        except AssertionError:
            where = [f"line {n}" for out in outputs for n, line in enumerate(out.splitlines(), 1)
                     if any(sec in line for sec in self.secrets)]
            raise AssertionError("a secret leaked into the daemon's output at "
                                 + ", ".join(where[:10]) + " (not shown)") from None

    # -- configuration and process ---------------------------------------
    def config(self, daemon=None, source=None):
        d = {"poll_interval": "1s", "sweep_interval": "0", "max_concurrent_copies": "5",
             "max_attempts": "10"}
        d.update(daemon or {})
        s = {"export_kms_key": self.bed.kms_key_arn, "target_account": self.bed.vault,
             "notify_topic_arn": self.bed.topic_arn, "include_db": "*", "exclude_db": "",
             "require_tag": "", "export_copy_retention": "3d"}
        s.update(source or {})
        self.config_path = self.write_config(R.config_text(
            self.emu, queue_url=self.bed.queue_url, state_db=self.state_db, daemon=d, source=s))
        return self.config_path

    def start_daemon(self, wait_ready=True):
        if self.config_path is None:
            self.config()
        log_path = os.path.join(self.tmp.name, f"daemon-{len(self.logs) + 1}.log")
        started = time.time()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([os.path.join(R.BUILD, "offsite-backupd"), "--config",
                                     self.config_path, "--foreground"],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.logs.append(log_path)
        self.proc = proc
        if wait_ready:
            self.wait_until(lambda: self.emu.journal("sqs", "ReceiveMessage", "source", since=started),
                            30, "the daemon's first ReceiveMessage on the events queue")
        return proc

    def sigterm(self, timeout=10):
        """SIGTERM; returns (exit code, seconds it took)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.fail(f"the daemon did not exit within {timeout}s of SIGTERM" + self.diagnostics())
        return rc, time.monotonic() - start

    def sigkill(self):
        self.assertIsNone(self.proc.poll(), "the daemon had exited before SIGKILL" + self.diagnostics())
        self.proc.kill()
        self.proc.wait()

    def stop_daemon(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def _kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def daemon_output(self):
        out = []
        for path in self.logs:
            with open(path, "rb") as f:
                out.append(f.read().decode("utf-8", "replace"))
        return "".join(out)

    # -- waiting ---------------------------------------------------------
    def wait_until(self, pred, timeout, what, interval=0.2, daemon_must_live=True, no_failed_jobs=True):
        """Poll pred until it is true; fail at the timeout, when the daemon
        exits, or (only to fail early, with the reason) when the state
        database shows a failed job."""
        deadline = time.monotonic() + R.scaled(timeout)
        next_db_look = 0.0
        while True:
            value = pred()
            if value:
                return value
            if daemon_must_live and self.proc is not None and self.proc.poll() is not None:
                self.fail(f"the daemon exited (rc {self.proc.returncode}) while waiting for {what}"
                          + self.diagnostics())
            if no_failed_jobs and time.monotonic() >= next_db_look:
                next_db_look = time.monotonic() + 1.0
                failed = [j for j in self.jobs() if j.get("state") == "failed"]
                if failed:
                    self.fail(f"a job failed while waiting for {what}: "
                              + "; ".join(f"{j.get('id')} {j.get('error_code')!r} {j.get('error_message')!r}"
                                          for j in failed) + self.diagnostics())
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout}s waiting for {what}" + self.diagnostics())
            time.sleep(interval)

    def quiet(self, seconds):
        """Let the daemon run on (a few poll ticks) before checking that
        something did NOT happen (a second copy, a second announcement)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                self.fail(f"the daemon exited (rc {self.proc.returncode})" + self.diagnostics())
            time.sleep(0.2)

    def wait_announced(self, snaps, timeout=60):
        self.wait_until(lambda: all(self.announcements_for(s) for s in snaps), timeout,
                        "announcements in the vault inbox for "
                        + ", ".join(s.name for s in snaps))

    def wait_events_queue_empty(self, timeout=15):
        """The daemon deleted every message (none visible, none in flight)."""
        self.wait_until(lambda: self.bed.queue_counts(self.bed.queue_url) == (0, 0, 0), timeout,
                        "the events queue to be empty (messages deleted by the daemon)")

    # -- the daemon's state database (secondary) ----------------------------
    def jobs(self):
        if not os.path.exists(self.state_db):
            return []
        try:
            con = sqlite3.connect(f"file:{self.state_db}?mode=ro", uri=True, timeout=5)
            try:
                con.row_factory = sqlite3.Row
                return [dict(r) for r in con.execute("SELECT * FROM jobs")]
            finally:
                con.close()
        except sqlite3.Error as e:
            return [{"error": f"state db: {e}"}]

    def job_state(self, snap):
        job = next((j for j in self.jobs() if j.get("source_arn") == snap.arn), None)
        return job and job.get("state")

    def diagnostics(self):
        lines = ["", "--- daemon output (last 80 lines) ---"]
        lines += self.daemon_output().splitlines()[-80:]
        lines.append("--- jobs (state db) ---")
        for j in self.jobs():
            lines.append(" ".join(f"{k}={j.get(k)!r}" for k in
                                  ("id", "state", "source_arn", "copy_id", "attempts", "defers",
                                   "error_code", "error_message") if k in j) or repr(j))
        lines.append("--- snapshots in moto (source) ---")
        try:
            for m in self.bed.moto_snapshots():
                lines.append(f"{m.name} type={m.snapshot_type} status={m.status} restore={m.restore}")
        except Exception as e:  # noqa: BLE001 - diagnostics only
            lines.append(f"(unreadable: {e})")
        lines.append(f"--- vault inbox: {len(self.bed.inbox_bodies)} message(s) so far ---")
        lines.append("--- source calls: " + ", ".join(
            f"{r['service']}:{r['action']}={r['count']}" + (f"({r['faulted']} faulted)" if r["faulted"] else "")
            for r in self.emu.counts(account="source")))
        return "\n".join(lines)

    # -- announcements ---------------------------------------------------
    def announcements(self):
        """Every announcement received so far (SNS envelope checked, Message parsed)."""
        self.bed.drain_inbox()
        out = []
        for body in self.bed.inbox_bodies:
            try:
                env = json.loads(body)
            except ValueError:
                self.fail(f"vault inbox message is not JSON: {body[:300]!r}")
            self.assertIsInstance(env, dict, f"vault inbox message: {body[:300]!r}")
            self.assertEqual(env.get("Type"), "Notification", f"not an SNS envelope: {body[:300]!r}")
            self.assertEqual(env.get("TopicArn"), self.bed.topic_arn)
            try:
                msg = json.loads(env.get("Message", ""))
            except ValueError:
                self.fail(f"announcement is not JSON: {env.get('Message', '')[:300]!r}")
            self.assertIsInstance(msg, dict, f"announcement is not an object: {msg!r}")
            out.append(msg)
        return out

    def announcements_for(self, snap):
        return [a for a in self.announcements() if a.get("source_snapshot_arn") == snap.arn]

    # -- moto's view through the API (final checks) -----------------------
    def source_truth(self, snap):
        rds = self.bed.rds
        stype = {"SnapshotType": "awsbackup"} if snapshot_name(snap.arn).startswith("awsbackup:") else {}
        if snap.cluster:
            s = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snap.arn,
                                                  **stype)["DBClusterSnapshots"][0]
            return {"arn": s["DBClusterSnapshotArn"], "db_id": s["DBClusterIdentifier"], **s}
        s = rds.describe_db_snapshots(DBSnapshotIdentifier=snap.arn, **stype)["DBSnapshots"][0]
        return {"arn": s["DBSnapshotArn"], "db_id": s["DBInstanceIdentifier"], **s}

    def copy_truth(self, snap):
        rds, cid = self.bed.rds, copy_identifier(snap.arn)
        try:
            if snap.cluster:
                c = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=cid)["DBClusterSnapshots"][0]
                arn, encrypted = c["DBClusterSnapshotArn"], c.get("StorageEncrypted")
                attrs = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=cid)[
                    "DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
            else:
                c = rds.describe_db_snapshots(DBSnapshotIdentifier=cid)["DBSnapshots"][0]
                arn, encrypted = c["DBSnapshotArn"], c.get("Encrypted")
                attrs = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=cid)[
                    "DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
        except (botocore.exceptions.ClientError, IndexError):
            self.fail(f"no export copy {cid} of {snap.arn} in moto" + self.diagnostics())
        tags = {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}
        restore = next((a["AttributeValues"] for a in attrs if a["AttributeName"] == "restore"), [])
        return {"arn": arn, "encrypted": encrypted, "tags": tags, "restore": restore, **c}

    def assert_exported(self, snap, announcements=1):
        """The export copy of snap exists, is available, encrypted with the
        export key, carries the provenance tags, is shared with the vault,
        and the vault inbox got `announcements` announcements for it (an int,
        or a (min, max) range) whose fields match moto's view."""
        src = self.source_truth(snap)
        copy = self.copy_truth(snap)
        what = f"export copy {copy_identifier(snap.arn)} of {snap.name}"
        self.assertEqual(copy.get("Status"), "available", what)
        self.assertEqual(copy.get("KmsKeyId"), self.bed.kms_key_arn, f"{what}: KmsKeyId is not the export key")
        self.assertTrue(copy["encrypted"], f"{what}: not encrypted")
        self.assertEqual(copy["tags"].get(TAG_SOURCE_ARN), snap.arn, f"{what}: tag {TAG_SOURCE_ARN}")
        self.assertEqual(copy["tags"].get(TAG_JOB), job_identifier(snap.arn), f"{what}: tag {TAG_JOB}")
        self.assertIn(self.bed.vault, copy["restore"], f"{what}: not shared with the vault")
        anns = self.announcements_for(snap)
        lo, hi = (announcements, announcements) if isinstance(announcements, int) else announcements
        self.assertTrue(lo <= len(anns) <= hi,
                        f"{len(anns)} announcements for {snap.name}, want {announcements}: {anns}"
                        + self.diagnostics())
        expected = {
            "schema": SCHEMA,
            "kind": snap.kind,
            "snapshot_arn": copy["arn"],
            "source_snapshot_arn": snap.arn,
            "source_account": self.bed.src,
            "region": self.bed.region,
            "db_identifier": src["db_id"],
            "engine": src["Engine"],
            "engine_version": src["EngineVersion"],
            "allocated_storage_gib": src["AllocatedStorage"],
            "snapshot_time": iso_z(src["SnapshotCreateTime"]),
            "export_kms_key": self.bed.kms_key_arn,
        }
        for a in anns:
            self.assertEqual({k: a.get(k) for k in expected}, expected, f"announcement for {snap.name}")
        return copy

    def assert_one_copy_each(self, snaps, exact=True):
        """moto holds exactly one export copy per source snapshot (by name
        and by provenance tag) and, when exact, no other daemon-made snapshot."""
        made = self.bed.daemon_copies()
        names = sorted(m.name for m in made)
        self.assertFalse([n for n in names if n.startswith("ob-ob-")],
                         f"a copy of a copy was made: {names}")
        by_source = collections.Counter(m.tags.get(TAG_SOURCE_ARN) for m in made)
        for s in snaps:
            self.assertEqual(by_source.get(s.arn, 0), 1,
                             f"copies of {s.name} in moto (by tag): {by_source.get(s.arn, 0)}; "
                             f"daemon-made snapshots: {names}")
            self.assertIn(copy_identifier(s.arn), names, f"copy identifier of {s.name}")
        if exact:
            self.assertEqual(names, sorted(copy_identifier(s.arn) for s in snaps),
                             "daemon-made snapshots in moto")
        own = {m.arn for m in made}
        self.assertFalse([m.name for m in made if m.tags.get(TAG_SOURCE_ARN) in own],
                         "a copy of one of the daemon's own copies")

    def fired(self, rule_id):
        return next((r["fired"] for r in self.emu.fault_rules() if r["id"] == rule_id), 0)

    def copy_calls(self):
        """The sources named by every CopyDB[Cluster]Snapshot call of the source account."""
        calls = self.emu.journal("rds", "CopyDBSnapshot", "source") + \
            self.emu.journal("rds", "CopyDBClusterSnapshot", "source")
        return [c["params"].get("SourceDBSnapshotIdentifier") or
                c["params"].get("SourceDBClusterSnapshotIdentifier") for c in calls]

    def assert_jobs(self, expected):
        """Secondary: the state database holds these jobs ({snap: state})."""
        jobs = {j.get("source_arn"): j for j in self.jobs()}
        self.assertEqual(sorted(jobs), sorted(s.arn for s in expected),
                         "jobs in the state database" + self.diagnostics())
        for s, state in expected.items():
            j = jobs[s.arn]
            self.assertEqual(j.get("id"), job_identifier(s.arn), f"job id of {s.name}")
            self.assertEqual(j.get("copy_id"), copy_identifier(s.arn), f"copy id of {s.name}")
            self.assertEqual(j.get("state"), state, f"state of the job of {s.name}")


def _same_source(param, snap):
    """A CopyDB*Snapshot source parameter (name or ARN) names snap."""
    return param in (snap.arn, snap.name)


# ---------------------------------------------------------------------------
# the happy path, one event shape at a time
# ---------------------------------------------------------------------------

class TestSourceFlow(SourceCase):
    def run_one(self, snap, entry):
        self.start_daemon()
        self.bed.put_events(entry)
        self.wait_announced([snap])
        self.quiet(3)  # two more ticks: no second copy, no second announcement
        self.assert_exported(snap, announcements=1)
        self.assert_one_copy_each([snap])
        self.wait_events_queue_empty()
        self.assertEqual(self.emu.count("sns", "Publish", "source"), 1, "sns:Publish calls")
        self.assert_jobs({snap: "notified"})

    def test_backup_job_event_is_exported_shared_and_announced(self):
        self.bed.create_instance("orders-prod")
        snap = self.bed.backup_snapshot("orders-prod", "job-1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d")
        self.run_one(snap, self.bed.backup_event(snap))

    def test_manual_snapshot_event_is_exported_shared_and_announced(self):
        self.bed.create_instance("orders-prod")
        snap = self.bed.create_snapshot("orders-prod", "orders-prod-2026-11-22")
        self.run_one(snap, self.bed.snapshot_event(snap))

    def test_aurora_cluster_snapshot_event_is_exported_shared_and_announced(self):
        self.bed.create_cluster("ledger-aurora")
        snap = self.bed.create_cluster_snapshot("ledger-aurora", "ledger-aurora-2026-11-22")
        self.run_one(snap, self.bed.snapshot_event(snap))

    def test_automated_snapshot_event_is_exported(self):
        self.bed.create_instance("orders-prod")
        snap = self.bed.automated_snapshot("orders-prod")  # "rds:orders-prod-..."
        self.run_one(snap, self.bed.snapshot_event(snap, "RDS-EVENT-0091"))

    def test_aurora_backup_job_event_is_exported(self):
        self.bed.create_cluster("ledger-aurora")
        snap = self.bed.backup_snapshot("ledger-aurora", "job-77aa88bb-0000-4000-8000-00000000beef",
                                        cluster=True)
        self.run_one(snap, self.bed.backup_event(snap))

    def test_mixed_batch_of_events(self):
        self.bed.create_instance("orders-prod")
        self.bed.create_cluster("ledger-aurora")
        snaps = [self.bed.backup_snapshot("orders-prod", "job-00000000-1111-4222-8333-444444444444"),
                 self.bed.create_snapshot("orders-prod", "orders-prod-manual-1"),
                 self.bed.create_cluster_snapshot("ledger-aurora", "ledger-aurora-manual-1")]
        self.start_daemon()
        self.bed.put_events(self.bed.backup_event(snaps[0]), self.bed.snapshot_event(snaps[1]),
                            self.bed.snapshot_event(snaps[2]))
        self.wait_announced(snaps)
        self.quiet(3)
        for s in snaps:
            self.assert_exported(s, announcements=1)
        self.assert_one_copy_each(snaps)
        self.wait_events_queue_empty()
        self.assert_jobs({s: "notified" for s in snaps})


# ---------------------------------------------------------------------------
# slow copies: waiting in `copying`, batched polling
# ---------------------------------------------------------------------------

class TestSourceSlowCopies(SourceCase):
    def test_job_waits_in_copying_while_the_copy_is_creating(self):
        delay = 8.0
        self.emu.set_copy_delay(delay)
        self.bed.create_instance("orders-prod")
        snap = self.bed.create_snapshot("orders-prod", "orders-prod-slow")
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(snap))
        self.wait_until(lambda: (c := self.bed.moto_copy(snap)) is not None and c.status == "creating",
                        30, "moto to show the export copy as creating")
        self.wait_until(lambda: self.job_state(snap) == "copying", 10,
                        "the job to be in state copying (state db)")
        # While moto says creating: still copying, nothing shared, nothing
        # announced (state and inbox are read before moto, so a copy that
        # completes in between cannot make this flaky).
        while True:
            state, inbox = self.job_state(snap), list(self.bed.drain_inbox())
            c = self.bed.moto_copy(snap)
            if c.status != "creating":
                break
            self.assertEqual(state, "copying", "the job left copying while moto showed the copy creating")
            self.assertEqual(inbox, [], "announced while the copy was still creating")
            self.assertEqual(c.restore, [], "shared while the copy was still creating")
            self.assertIsNone(self.proc.poll(), "the daemon exited" + self.diagnostics())
            time.sleep(0.3)
        self.wait_announced([snap], 30)
        copies = [e for e in self.emu.journal("rds", "CopyDBSnapshot", "source") if not e["faulted"]]
        self.assertTrue(copies, "no CopyDBSnapshot call")
        copy_started = copies[0]["time"]
        shares = self.emu.journal("rds", "ModifyDBSnapshotAttribute", "source")
        self.assertTrue(shares, "no ModifyDBSnapshotAttribute call")
        self.assertGreaterEqual(shares[0]["time"], copy_started + delay - 0.5,
                                "ModifyDBSnapshotAttribute called before the copy was available")
        polls = [e for e in self.emu.journal("rds", "DescribeDBSnapshots", "source")
                 if copy_started < e["time"] < copy_started + delay]
        self.assertGreaterEqual(len(polls), 3, "the copy was not polled while it was creating")
        self.quiet(2)
        self.assert_exported(snap, announcements=1)
        self.assert_one_copy_each([snap])

    def describes_in_window(self, seconds):
        """DescribeDBSnapshots calls of the source account over a window that
        starts 1 s from now (no source-account call is made meanwhile)."""
        start = time.time() + 1.0
        end = start + seconds
        while time.time() < end + 0.2:
            self.assertIsNone(self.proc.poll(), "the daemon exited" + self.diagnostics())
            time.sleep(0.2)
        return len([e for e in self.emu.journal("rds", "DescribeDBSnapshots", "source")
                    if start <= e["time"] < end])

    def test_polling_is_one_describe_per_tick_whatever_the_copies_in_flight(self):
        window = 6.0
        ticks = window / self.poll_interval_s
        self.emu.set_copy_delay(600)  # ended by complete_copies()
        self.bed.create_instance("orders-prod")
        snaps = [self.bed.create_snapshot("orders-prod", f"orders-prod-batch-{i}") for i in range(7)]
        self.config(daemon={"max_concurrent_copies": "10"})
        self.start_daemon()

        self.bed.put_events(self.bed.snapshot_event(snaps[0]))
        self.wait_until(lambda: len([m for m in self.bed.daemon_copies() if m.status == "creating"]) == 1,
                        30, "one export copy creating")
        one = self.describes_in_window(window)
        self.emu.complete_copies()
        self.wait_announced(snaps[:1])

        self.bed.put_events(*(self.bed.snapshot_event(s) for s in snaps[1:]))
        self.wait_until(lambda: len([m for m in self.bed.daemon_copies() if m.status == "creating"]) == 6,
                        30, "six export copies creating")
        six = self.describes_in_window(window)
        self.emu.complete_copies()
        self.wait_announced(snaps)

        detail = f"DescribeDBSnapshots over {window:.0f}s at poll_interval 1s: 1 copy {one}, 6 copies {six}"
        self.assertGreaterEqual(one, 2, "a copy in flight was not polled; " + detail)
        self.assertLessEqual(one, ticks + 2, "more than one DescribeDBSnapshots per tick; " + detail)
        self.assertLessEqual(six, max(one + 3, ticks + 2),
                             "DescribeDBSnapshots calls grow with the copies in flight; " + detail)
        self.assertLess(six, 6 * ticks / 2, "one DescribeDBSnapshots per copy; " + detail)
        self.quiet(2)
        for s in snaps:
            self.assert_exported(s, announcements=1)
        self.assert_one_copy_each(snaps)


# ---------------------------------------------------------------------------
# throttling and quota: jobs wait, then complete
# ---------------------------------------------------------------------------

class TestSourceFaults(SourceCase):
    def run_faulted(self, n_snaps, **fault):
        self.bed.create_instance("orders-prod")
        snaps = [self.bed.create_snapshot("orders-prod", f"orders-prod-q{i}") for i in range(n_snaps)]
        # max_attempts = 2: throttling and quota errors must delay a job,
        # never count as failed attempts.
        self.config(daemon={"max_attempts": "2"})
        rid = self.emu.inject("rds", "CopyDBSnapshot", account="source", **fault)
        self.start_daemon()
        self.bed.put_events(*(self.bed.snapshot_event(s) for s in snaps))
        self.wait_announced(snaps, timeout=150)
        rule = next(r for r in self.emu.fault_rules() if r["id"] == rid)
        self.assertEqual(rule["remaining"], 0, f"not every injected fault was hit: {rule}")
        self.quiet(2)
        for s in snaps:
            self.assert_exported(s, announcements=1)
        self.assert_one_copy_each(snaps)
        self.assert_jobs({s: "notified" for s in snaps})
        self.assertGreaterEqual(self.emu.count("rds", "CopyDBSnapshot", "source"), fault["count"] + 1)

    def test_copy_throttling_delays_jobs_then_they_complete(self):
        self.run_faulted(3, kind="throttle", count=6)

    def test_snapshot_quota_exceeded_delays_jobs_then_they_complete(self):
        self.run_faulted(2, kind="error", code="SnapshotQuotaExceeded", status=400,
                         message="The request cannot be processed because it would exceed "
                                 "the maximum number of snapshots.", count=4)


# ---------------------------------------------------------------------------
# crashes and stops
# ---------------------------------------------------------------------------

class TestSourceCrash(SourceCase):
    def test_kill9_after_the_copy_call_before_its_commit(self):
        self.bed.create_instance("orders-prod")
        snaps = [self.bed.create_snapshot("orders-prod", f"orders-prod-k{i}") for i in range(2)]
        # moto executes the first CopyDBSnapshot; its response is held 8 s.
        rid = self.emu.inject("rds", "CopyDBSnapshot", kind="stall", when="after", seconds=8,
                              count=1, account="source")
        self.start_daemon()
        self.bed.put_events(*(self.bed.snapshot_event(s) for s in snaps))
        made = self.wait_until(self.bed.daemon_copies, 30, "an export copy to appear in moto")
        self.assertEqual(self.fired(rid), 1, "the CopyDBSnapshot stall was not hit")
        first = self.emu.journal("rds", "CopyDBSnapshot", "source")[0]
        self.assertTrue(first["faulted"] and time.time() < first["time"] + 7,
                        "the kill would not land while the copy's response is held")
        first = first["params"]
        stalled = next(s for s in snaps if _same_source(first.get("SourceDBSnapshotIdentifier"), s))
        self.assertIn(copy_identifier(stalled.arn), [m.name for m in made])
        self.sigkill()
        self.assertNotEqual(self.job_state(stalled), "notified")
        self.start_daemon()
        self.wait_announced(snaps)
        self.quiet(3)
        self.assert_one_copy_each(snaps)
        for s in snaps:
            # the stalled job cannot have published before the kill
            self.assert_exported(s, announcements=1 if s is stalled else (1, 2))
        self.assert_jobs({s: "notified" for s in snaps})

    def test_kill9_while_shared_before_the_publish(self):
        stall = 20.0
        self.bed.create_instance("orders-prod")
        snap = self.bed.create_snapshot("orders-prod", "orders-prod-shared-kill")
        rid = self.emu.inject("sns", "Publish", kind="stall", seconds=stall, count=1, account="source")
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(snap))
        self.wait_until(lambda: self.emu.count("sns", "Publish", "source") >= 1
                        and (c := self.bed.moto_copy(snap)) is not None and self.bed.vault in c.restore,
                        30, "the copy shared with the vault and the (stalled) Publish under way")
        self.assertEqual(self.fired(rid), 1, "the Publish stall was not hit")
        published = self.emu.journal("sns", "Publish", "source")[0]["time"]
        self.sigkill()
        self.start_daemon()
        # The stalled Publish reaches moto only when its stall ends; an
        # announcement before that comes from the restarted daemon.
        self.wait_announced([snap], timeout=max(1.0, published + stall - 1.0 - time.time()))
        self.assertGreaterEqual(self.emu.count("sns", "Publish", "source"), 2,
                                "the restarted daemon did not publish")
        while time.time() < published + stall + 2.0:  # the held Publish is executed: at-least-once
            self.quiet(0.5)
        self.assert_one_copy_each([snap])
        self.assert_exported(snap, announcements=(1, 2))
        anns = self.announcements_for(snap)
        self.assertTrue(all(a == anns[0] for a in anns), f"announcements differ: {anns}")
        self.assert_jobs({snap: "notified"})

    def test_sigterm_with_jobs_in_flight_then_restart_completes(self):
        self.emu.set_copy_delay(5)
        self.bed.create_instance("orders-prod")
        self.bed.create_cluster("ledger-aurora")
        snaps = [self.bed.create_snapshot("orders-prod", f"orders-prod-t{i}") for i in range(2)]
        snaps.append(self.bed.create_cluster_snapshot("ledger-aurora", "ledger-aurora-t0"))
        self.start_daemon()
        self.bed.put_events(*(self.bed.snapshot_event(s) for s in snaps))
        self.wait_until(lambda: len([m for m in self.bed.daemon_copies() if m.status == "creating"]) == 3,
                        30, "three export copies creating")
        rc, took = self.sigterm()
        self.assertEqual(rc, 0, "exit code on SIGTERM" + self.diagnostics())
        self.assertLess(took, 5.0, "SIGTERM took too long")
        self.start_daemon()
        self.wait_announced(snaps)
        self.quiet(3)
        self.assert_one_copy_each(snaps)
        for s in snaps:
            self.assert_exported(s, announcements=1)
        self.assert_jobs({s: "notified" for s in snaps})
        rc, _ = self.sigterm()
        self.assertEqual(rc, 0)


# ---------------------------------------------------------------------------
# events: duplicates, own copies, filters, unknown types, malformed
# ---------------------------------------------------------------------------

class TestSourceEvents(SourceCase):
    def test_duplicate_events_make_one_job_one_copy_one_announcement(self):
        self.bed.create_instance("orders-prod")
        snap = self.bed.create_snapshot("orders-prod", "orders-prod-dup")
        self.start_daemon()
        event = self.bed.snapshot_event(snap)
        self.bed.put_events(event, event, self.bed.snapshot_event(snap, "RDS-EVENT-0042"))
        self.wait_announced([snap])
        self.bed.put_events(event)  # late duplicate, after the job completed
        self.wait_events_queue_empty()
        self.quiet(3)
        self.assert_exported(snap, announcements=1)
        self.assert_one_copy_each([snap])
        self.assertEqual(self.emu.count("sns", "Publish", "source"), 1, "sns:Publish calls")
        self.assert_jobs({snap: "notified"})

    def test_events_about_own_copies_start_nothing(self):
        self.bed.create_instance("orders-prod")
        a = self.bed.create_snapshot("orders-prod", "orders-prod-a")
        b = self.bed.create_snapshot("orders-prod", "orders-prod-b")
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(a))
        self.wait_announced([a])
        copy = self.copy_truth(a)
        own = Snap("db-snapshot", copy_identifier(a.arn), copy["arn"], "orders-prod")
        self.bed.put_events(self.bed.snapshot_event(own, "RDS-EVENT-0197"),
                            self.bed.snapshot_event(own, "RDS-EVENT-0042"))
        self.bed.put_events(self.bed.snapshot_event(b))  # the daemon keeps working
        self.wait_announced([b])
        self.wait_events_queue_empty()
        self.quiet(3)
        self.assert_one_copy_each([a, b])
        self.assertEqual(len(self.announcements()), 2, "announcements")
        self.assertEqual(self.emu.count("sns", "Publish", "source"), 2, "sns:Publish calls")
        self.assertFalse([c for c in self.copy_calls() if _same_source(c, own)],
                         "CopyDBSnapshot of the daemon's own copy")
        self.assert_jobs({a: "notified", b: "notified"})

    def test_filtered_out_databases_are_not_copied(self):
        for db in ("orders-prod", "orders-test", "billing-prod", "analytics-prod"):
            self.bed.create_instance(db)
        self.bed.create_cluster("reports-aurora")
        yes = {"offsite-backup": "yes"}
        ok = self.bed.create_snapshot("orders-prod", "orders-prod-f1", tags=yes)
        refused = [
            self.bed.create_snapshot("orders-test", "orders-test-f1", tags=yes),      # exclude_db
            self.bed.create_snapshot("billing-prod", "billing-prod-f1"),              # no tag
            self.bed.create_snapshot("billing-prod", "billing-prod-f2",
                                     tags={"offsite-backup": "no"}),                 # wrong value
            self.bed.create_snapshot("analytics-prod", "analytics-prod-f1", tags=yes),  # not included
            self.bed.create_cluster_snapshot("reports-aurora", "reports-aurora-f1", tags=yes),
        ]
        self.config(source={"include_db": "orders-*, billing-*, ledger-*", "exclude_db": "*-test",
                            "require_tag": "offsite-backup=yes"})
        self.start_daemon()
        self.bed.put_events(*(self.bed.snapshot_event(s) for s in refused))
        self.bed.put_events(self.bed.snapshot_event(ok))
        self.wait_announced([ok])
        self.wait_events_queue_empty()
        self.quiet(3)
        self.assert_exported(ok, announcements=1)
        self.assert_one_copy_each([ok])
        self.assertEqual(len(self.announcements()), 1, "announcements")
        self.assertEqual([c for c in self.copy_calls() if not _same_source(c, ok)], [],
                         "CopyDB*Snapshot of a filtered-out snapshot")
        self.assertEqual(self.bed.queue_counts(self.bed.dlq_url), (0, 0, 0),
                         "filtered-out events ended in the dead-letter queue")
        self.assertFalse([j for j in self.jobs() if j.get("source_arn") != ok.arn
                          and j.get("state") not in (None, "expired")],
                         "jobs for filtered-out snapshots" + self.diagnostics())

    def test_unknown_event_types_are_deleted_and_ignored(self):
        self.bed.create_instance("orders-prod")
        ok = self.bed.create_snapshot("orders-prod", "orders-prod-u1")
        other = self.bed.create_snapshot("orders-prod", "orders-prod-u2")
        backup = self.bed.backup_snapshot("orders-prod", "job-99999999-1111-4222-8333-444444444444")
        db_arn = f"arn:aws:rds:{self.bed.region}:{self.bed.src}:db:orders-prod"
        ignored = [
            self.bed.other_event("aws.rds", "RDS DB Instance Event",
                                 {"EventCategories": ["availability"], "SourceType": "DB_INSTANCE",
                                  "SourceArn": db_arn, "Date": _now_iso(), "Message": "DB instance shutdown",
                                  "SourceIdentifier": "orders-prod", "EventID": "RDS-EVENT-0004"},
                                 [db_arn]),
            self.bed.snapshot_event(other, "RDS-EVENT-0041", "Deleted manual snapshot"),
            self.bed.backup_event(backup, state="RUNNING"),
            self.bed.backup_event(backup, state="FAILED"),
            self.bed.other_event("aws.backup", "Backup Job State Change",
                                 {"backupJobId": "EBS-1", "resourceType": "EBS", "state": "COMPLETED",
                                  "resourceArn": f"arn:aws:ec2:{self.bed.region}:{self.bed.src}:volume/vol-1"},
                                 [f"arn:aws:ec2:{self.bed.region}::snapshot/snap-0123456789abcdef0"]),
            self.bed.other_event("aws.backup", "Copy Job State Change",
                                 {"copyJobId": "C-1", "state": "COMPLETED", "resourceType": "RDS"},
                                 [backup.arn]),
        ]
        self.start_daemon()
        self.bed.put_events(*ignored)
        self.bed.put_events(self.bed.snapshot_event(ok))
        self.wait_announced([ok])
        self.wait_events_queue_empty()
        self.quiet(3)
        self.assert_exported(ok, announcements=1)
        self.assert_one_copy_each([ok])
        self.assertEqual(len(self.announcements()), 1, "announcements")
        self.assertEqual(self.bed.queue_counts(self.bed.dlq_url), (0, 0, 0),
                         "ignored events ended in the dead-letter queue")
        self.assertEqual([c for c in self.copy_calls() if not _same_source(c, ok)], [],
                         "CopyDB*Snapshot for an ignored event")


class TestSourceMalformed(SourceCase):
    visibility_timeout = 2   # a message left undeleted is received again after 2 s ...
    max_receive_count = 2    # ... and moved to the DLQ after its 2nd receive

    def test_malformed_messages_go_to_the_dead_letter_queue(self):
        self.bed.create_instance("orders-prod")
        ok = self.bed.create_snapshot("orders-prod", "orders-prod-m1")
        no_arn = self.bed.snapshot_event(ok, include_arn=False)
        bodies = ["this is not json {", "[1, 2, 3]", self.bed.envelope(no_arn)]
        self.start_daemon()
        for body in bodies:
            self.bed.send_raw(body)
        self.wait_until(lambda: self.bed.queue_counts(self.bed.dlq_url)[0] >= len(bodies), 60,
                        "the malformed messages to reach the dead-letter queue")
        self.bed.put_events(self.bed.snapshot_event(ok))  # the daemon keeps working
        self.wait_announced([ok])
        self.wait_events_queue_empty()
        self.quiet(2)
        got = []
        while True:
            msgs = self.bed.sqs.receive_message(QueueUrl=self.bed.dlq_url, MaxNumberOfMessages=10,
                                                VisibilityTimeout=60).get("Messages", [])
            if not msgs:
                break
            got += [m["Body"] for m in msgs]
        self.assertEqual(sorted(got), sorted(bodies), "dead-letter queue content")
        self.assert_exported(ok, announcements=1)
        self.assert_one_copy_each([ok])
        self.assertIsNone(self.proc.poll(), "the daemon exited")


# ---------------------------------------------------------------------------
# the reconciliation sweep catches lost events
# ---------------------------------------------------------------------------

class TestSourceSweep(SourceCase):
    def run_sweep(self, make):
        self.config(daemon={"sweep_interval": "2s"})
        self.start_daemon()
        snap = make()  # no event for it
        self.wait_announced([snap], timeout=60)
        self.quiet(5)  # two more sweeps: nothing copied twice, no copy of a copy
        self.assert_exported(snap, announcements=1)
        self.assert_one_copy_each([snap], exact=False)
        made = self.bed.daemon_copies()
        sources = collections.Counter(m.tags.get(TAG_SOURCE_ARN) for m in made)
        self.assertEqual([a for a, n in sources.items() if n != 1], [],
                         f"sources copied more than once: {[m.name for m in made]}")
        self.assertEqual(len(self.announcements()), len(made), "one announcement per copy")

    def test_lost_snapshot_event_is_caught_by_the_sweep(self):
        self.bed.create_instance("orders-prod")
        self.run_sweep(lambda: self.bed.create_snapshot("orders-prod", "orders-prod-lost"))

    def test_lost_cluster_snapshot_event_is_caught_by_the_sweep(self):
        self.bed.create_cluster("ledger-aurora")
        self.run_sweep(lambda: self.bed.create_cluster_snapshot("ledger-aurora", "ledger-aurora-lost"))

    def test_lost_backup_job_event_is_caught_by_the_sweep(self):
        self.bed.create_instance("orders-prod")
        self.run_sweep(lambda: self.bed.backup_snapshot(
            "orders-prod", "job-5a5a5a5a-1111-4222-8333-444444444444"))
