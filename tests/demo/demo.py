#!/usr/bin/env python3
"""make demo: offsite-backup's main job, end to end, on the local emulator.

    usage: demo.py BUILD_DIR

What it does, in about a minute, leaving nothing running:

1. starts the AWS emulator (tests/emulator/obemu.py: moto with IAM auth on,
   127.0.0.1 only) with two accounts: source 111111111111, vault 222222222222;
2. builds both sides as an operator would: in the source account the export
   KMS key, the EventBridge rule (aws.rds, aws.backup) -> SQS "events" queue
   (with a dead-letter queue), two DB instances and an Aurora cluster; in the
   vault the import KMS key, the SNS topic the source publishes to and the
   SQS inbox subscribed to it;
3. writes one configuration file per daemon (mode 0600, in a temporary
   directory removed at the end) and starts offsite-backupd twice:
   role = source with the source account's keys, role = target with the
   vault's;
4. takes three snapshots (an AWS Backup recovery point announced by a
   "Backup Job State Change" event, an Aurora cluster snapshot and a manual
   snapshot, each with its RDS event) while every copy takes ~3 s, and
   prints each snapshot's journey as the daemons report it (their
   "job <id>: <from> -> <to>" lines);
5. prints what the vault holds, read back from the emulator, and stops
   everything (SIGTERM to both daemons, then the emulator).

Exit status: 0 when every snapshot arrived in the vault verified (encrypted
with the vault's import key) in time; 1 otherwise; 2 for a usage error.
Secrets are never printed: the daemons' lines are checked for the
accounts' secret keys (and redacted if one ever showed up, which also
fails the demo).
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "emulator"))

COPY_DELAY = 3.0        # seconds every snapshot copy stays "creating"
ARRIVAL_TIMEOUT = 60.0  # seconds for all snapshots to arrive verified in the vault
EVENT_GAP = 1.5         # seconds between the three snapshots

EVENTS_QUEUE = "offsite-backup-events"
INBOX = "offsite-backup-inbox"
TOPIC = "offsite-backup-inbox"
RULE = "offsite-backup-snapshots"

JOB_LINE = re.compile(r"job (j[0-9a-f]{16}): (\w+) -> (\w+)\s*$")
NEW_LINE = re.compile(r"job (j[0-9a-f]{16}): (new job for|new import of) ")
LEVEL = re.compile(r"^offsite-backupd: (\w+): ")


# ---------------------------------------------------------------------------
# the names the daemons derive (DESIGN.md section 3, docs/source-role.md)
# ---------------------------------------------------------------------------

def job_id(arn):
    return "j" + hashlib.sha256(arn.encode()).hexdigest()[:16]


def copy_id(arn):
    name = arn.split(":", 6)[6]
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    slug = slug[:255 - len("ob-") - 13].rstrip("-")
    return f"ob-{slug}-{hashlib.sha256(arn.encode()).hexdigest()[:12]}"


def now_iso(ms=True):
    now = datetime.datetime.now(datetime.timezone.utc)
    if ms:
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


class Stop(Exception):
    """SIGTERM/SIGINT to the demo: clean up and leave."""


# ---------------------------------------------------------------------------
# the demo
# ---------------------------------------------------------------------------

class Demo:
    def __init__(self, build):
        self.build = build
        self.daemon = os.path.join(build, "offsite-backupd")
        self.t0 = time.monotonic()
        self.tmp = None
        self.emu = None
        self.procs = {}          # role -> Popen
        self.readers = []
        self.lines = queue.Queue()
        self.captured = []       # every daemon line, for the secret check
        self.secrets = []
        self.snaps = []          # dicts: label, kind, db, arn, export_arn, source_job, vault_job
        self.by_job = {}         # job id -> (snapshot label, role)
        self.verified = set()    # vault job ids seen "-> verified"
        self.failed = []
        self.lock = threading.Lock()

    # -- output ----------------------------------------------------------------
    def say(self, text=""):
        print(text, flush=True)

    def stamp(self):
        wall = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-5]
        return f"{wall} +{time.monotonic() - self.t0:5.1f}s"

    def redact(self, line):
        for s in self.secrets:
            if s and s in line:
                line = line.replace(s, "[REDACTED]")
                self.failed.append("a secret access key appeared in a daemon's output")
        return line

    # -- setting up the two accounts -------------------------------------------------
    def start_emulator(self):
        from obemu import Emulator  # noqa: E402 - after sys.path

        self.emu = Emulator(copy_delay=0).start()
        self.secrets = [a["secret_access_key"] for a in self.emu.accounts.values()]
        self.say(f"emulator: moto on {self.emu.endpoint} (IAM signatures checked), region "
                 f"{self.emu.region}; source account {self.emu.accounts['source']['account_id']}, "
                 f"vault account {self.emu.accounts['vault']['account_id']}")

    def build_accounts(self):
        emu = self.emu
        self.src = emu.accounts["source"]["account_id"]
        self.vault = emu.accounts["vault"]["account_id"]
        region = emu.region
        self.rds = emu.client("rds", account="source")
        self.vrds = emu.client("rds", account="vault")

        # vault: import key, topic (the source may publish), inbox subscribed
        self.import_key = emu.client("kms", account="vault").create_key(
            Description="offsite-backup import key (vault)")["KeyMetadata"]["Arn"]
        vsns, vsqs = emu.client("sns", account="vault"), emu.client("sqs", account="vault")
        self.topic_arn = vsns.create_topic(Name=TOPIC)["TopicArn"]
        vsns.set_topic_attributes(TopicArn=self.topic_arn, AttributeName="Policy", AttributeValue=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "source-may-publish", "Effect": "Allow",
                           "Principal": {"AWS": f"arn:aws:iam::{self.src}:root"},
                           "Action": "sns:Publish", "Resource": self.topic_arn}]}))
        self.inbox_url = vsqs.create_queue(QueueName=INBOX, Attributes={
            "VisibilityTimeout": "60", "MessageRetentionPeriod": "1209600"})["QueueUrl"]
        inbox_arn = vsqs.get_queue_attributes(QueueUrl=self.inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        vsns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=inbox_arn)

        # source: export key, events queue + DLQ, EventBridge rule, databases
        self.export_key = emu.client("kms", account="source").create_key(
            Description="offsite-backup export key (source)")["KeyMetadata"]["Arn"]
        sqs = emu.client("sqs", account="source")
        dlq_url = sqs.create_queue(QueueName=EVENTS_QUEUE + "-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events_url = sqs.create_queue(QueueName=EVENTS_QUEUE, Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        })["QueueUrl"]
        events_arn = sqs.get_queue_attributes(QueueUrl=self.events_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events = emu.client("events", account="source")
        self.events.put_rule(Name=RULE, State="ENABLED",
                             EventPattern=json.dumps({"source": ["aws.rds", "aws.backup"]}))
        self.events.put_targets(Rule=RULE, Targets=[{"Id": EVENTS_QUEUE, "Arn": events_arn}])

        for db, engine, version, size in (("orders-prod", "postgres", "16.3", 100),
                                          ("billing-prod", "mysql", "8.0.35", 50)):
            self.rds.create_db_instance(DBInstanceIdentifier=db, Engine=engine, EngineVersion=version,
                                        DBInstanceClass="db.t3.micro", AllocatedStorage=size,
                                        MasterUsername="admin1", MasterUserPassword="demo-password-1")
        self.rds.create_db_cluster(DBClusterIdentifier="ledger-aurora", Engine="aurora-postgresql",
                                   EngineVersion="15.4", MasterUsername="admin1",
                                   MasterUserPassword="demo-password-1")
        self.say(f"source {self.src}: export key, EventBridge rule {RULE} -> SQS {EVENTS_QUEUE} (+ DLQ), "
                 "DB instances orders-prod (postgres) and billing-prod (mysql), Aurora cluster ledger-aurora")
        self.say(f"vault  {self.vault}: import key, SNS topic {TOPIC} -> SQS {INBOX}")
        self.region = region

    # -- the daemons ----------------------------------------------------------------
    def write_configs(self):
        self.tmp = tempfile.mkdtemp(prefix="ob-demo-")
        os.chmod(self.tmp, 0o700)
        s, v = self.emu.accounts["source"], self.emu.accounts["vault"]
        common = "poll_interval = 1s\nsweep_interval = 0\nmax_concurrent_copies = 5\nlog_level = info\n"
        source = (
            "# offsite-backup demo: the source account's daemon\n"
            f"[daemon]\nrole = source\nregion = {self.region}\nqueue_url = {self.events_url}\n"
            f"state_db = {self.tmp}/source.db\n{common}\n"
            f"[aws]\ncredentials = static\naccess_key_id = {s['access_key_id']}\n"
            f"secret_access_key = {s['secret_access_key']}\nendpoint_url = {self.emu.endpoint}\n\n"
            f"[source]\nexport_kms_key = {self.export_key}\ntarget_account = {self.vault}\n"
            f"notify_topic_arn = {self.topic_arn}\ninclude_db = *\nexport_copy_retention = 3d\n")
        target = (
            "# offsite-backup demo: the vault account's daemon\n"
            f"[daemon]\nrole = target\nregion = {self.region}\nqueue_url = {self.inbox_url}\n"
            f"state_db = {self.tmp}/vault.db\n{common}\n"
            f"[aws]\ncredentials = static\naccess_key_id = {v['access_key_id']}\n"
            f"secret_access_key = {v['secret_access_key']}\nendpoint_url = {self.emu.endpoint}\n\n"
            f"[target]\nimport_kms_key = {self.import_key}\nallowed_source_accounts = {self.src}\n"
            "keep_daily = 7\nkeep_weekly = 4\nkeep_monthly = 12\nkeep_yearly = 5\nrpo = 26h\n")
        self.configs = {}
        for role, text in (("source", source), ("target", target)):
            path = os.path.join(self.tmp, f"{role}.conf")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            self.configs[role] = path
        self.say(f"configs: {self.tmp}/{{source,target}}.conf (mode 0600, removed at the end)")

    def start_daemons(self):
        for role in ("target", "source"):
            p = subprocess.Popen([self.daemon, "--config", self.configs[role], "--foreground"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, errors="replace")
            self.procs[role] = p
            t = threading.Thread(target=self._read, args=(role, p), daemon=True)
            t.start()
            self.readers.append(t)
        # Ready: each daemon's first ReceiveMessage on its queue.
        deadline = time.monotonic() + 20
        for role, account in (("target", "vault"), ("source", "source")):
            while not self.emu.journal("sqs", "ReceiveMessage", account):
                self.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {role} daemon did not start polling its queue")
                self.pump(0.1)
        self.say(f"daemons: source pid {self.procs['source'].pid}, target pid "
                 f"{self.procs['target'].pid}, both polling their queues")

    def _read(self, role, proc):
        for line in proc.stderr:
            self.lines.put((role, line.rstrip("\n")))
        self.lines.put((role, None))

    def check_alive(self):
        for role, p in self.procs.items():
            if p.poll() is not None:
                self.pump(0.2)
                raise RuntimeError(f"the {role} daemon exited with status {p.returncode}")

    def pump(self, seconds):
        """Print what the daemons said during the next `seconds`."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            try:
                role, line = self.lines.get(timeout=max(0.0, left)) if left > 0 else self.lines.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.show(role, line)

    def show(self, role, raw):
        line = self.redact(raw)
        self.captured.append(line)
        m = JOB_LINE.search(line)
        if m:
            jid, frm, to = m.groups()
            label = self.by_job.get(jid, (jid, role))[0]
            note = {"copying": "export copy started (export key)",
                    "copied": "export copy available",
                    "shared": "shared with the vault",
                    "notified": "announced to the vault",
                    "importing": "vault copy started (import key)",
                    "imported": "vault copy available",
                    "verified": "verified: encrypted with the import key, matches the announcement",
                    "expired": "expired by retention",
                    "failed": "FAILED"}.get(to, "")
            self.say(f"{self.stamp()}  {role:6}  {label:30}  {frm:>9} -> {to:<9}  {note}")
            if role == "target" and to == "verified":
                self.verified.add(jid)
            return
        m = NEW_LINE.search(line)
        if m:
            label = self.by_job.get(m.group(1), (m.group(1), role))[0]
            what = "event accepted: new job" if role == "source" else "announcement validated: new import"
            self.say(f"{self.stamp()}  {role:6}  {label:30}  {what}")
            return
        lvl = LEVEL.match(line)
        if lvl and lvl.group(1) in ("warning", "err", "error", "crit", "alert", "emerg"):
            self.say(f"{self.stamp()}  {role:6}  ! {line[lvl.end():]}")

    # -- snapshots --------------------------------------------------------------------
    def remember(self, label, kind, db, arn):
        cluster = kind == "cluster"
        export_arn = (f"arn:aws:rds:{self.region}:{self.src}:"
                      f"{'cluster-snapshot' if cluster else 'snapshot'}:{copy_id(arn)}")
        snap = {"label": label, "kind": kind, "db": db, "arn": arn, "export_arn": export_arn,
                "source_job": job_id(arn), "vault_job": job_id(export_arn),
                "vault_copy": copy_id(export_arn)}
        self.snaps.append(snap)
        self.by_job[snap["source_job"]] = (label, "source")
        self.by_job[snap["vault_job"]] = (label, "target")
        return snap

    def put_event(self, source, detail_type, detail, resources):
        r = self.events.put_events(Entries=[{"Source": source, "DetailType": detail_type,
                                             "Detail": json.dumps(detail), "Resources": resources}])
        if r.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused the event: {r['Entries']}")

    def take_snapshots(self):
        self.emu.set_copy_delay(COPY_DELAY)
        self.say(f"\ncopies now take {COPY_DELAY:.0f} s each; the journeys:\n")
        self.say(f"{'time':10} {'elapsed':>7}  {'role':6}  {'snapshot':30}  transition")

        # 1. AWS Backup: a recovery point of orders-prod and its job event.
        job = "job-d3m0b4c7-0000-4000-8000-000000000001"
        b = self.emu.add_backup_snapshot("source", "orders-prod", job)
        s = self.remember("orders-prod (AWS Backup)", "instance", "orders-prod", b["DBSnapshotArn"])
        self.say(f"{self.stamp()}  aws     {s['label']:30}  AWS Backup job COMPLETED: {b['DBSnapshotIdentifier']}")
        self.put_event("aws.backup", "Backup Job State Change", {
            "backupJobId": job.upper(), "backupVaultName": "Default",
            "backupVaultArn": f"arn:aws:backup:{self.region}:{self.src}:backup-vault:Default",
            "resourceArn": f"arn:aws:rds:{self.region}:{self.src}:db:orders-prod",
            "resourceType": "RDS", "state": "COMPLETED", "percentDone": 100.0,
            "creationDate": now_iso(False), "completionDate": now_iso(False)}, [b["DBSnapshotArn"]])
        self.pump(EVENT_GAP)

        # 2. Aurora: a manual cluster snapshot of ledger-aurora.
        name = "ledger-aurora-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H-%M")
        c = self.rds.create_db_cluster_snapshot(DBClusterIdentifier="ledger-aurora",
                                                DBClusterSnapshotIdentifier=name)["DBClusterSnapshot"]
        s = self.remember("ledger-aurora (cluster)", "cluster", "ledger-aurora", c["DBClusterSnapshotArn"])
        self.say(f"{self.stamp()}  aws     {s['label']:30}  cluster snapshot created: {name}")
        self.put_event("aws.rds", "RDS DB Cluster Snapshot Event", {
            "EventCategories": ["creation"], "SourceType": "CLUSTER_SNAPSHOT",
            "SourceArn": c["DBClusterSnapshotArn"], "Date": now_iso(), "SourceIdentifier": name,
            "Message": "Manual cluster snapshot created", "EventID": "RDS-EVENT-0075"},
            [c["DBClusterSnapshotArn"]])
        self.pump(EVENT_GAP)

        # 3. A manual snapshot of billing-prod.
        name = "billing-prod-before-migration"
        m = self.rds.create_db_snapshot(DBInstanceIdentifier="billing-prod",
                                        DBSnapshotIdentifier=name)["DBSnapshot"]
        s = self.remember("billing-prod (manual)", "instance", "billing-prod", m["DBSnapshotArn"])
        self.say(f"{self.stamp()}  aws     {s['label']:30}  manual snapshot created: {name}")
        self.put_event("aws.rds", "RDS DB Snapshot Event", {
            "EventCategories": ["creation"], "SourceType": "SNAPSHOT", "SourceArn": m["DBSnapshotArn"],
            "Date": now_iso(), "SourceIdentifier": name, "Message": "Manual snapshot created",
            "EventID": "RDS-EVENT-0042"}, [m["DBSnapshotArn"]])

    def wait_arrivals(self):
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        want = {s["vault_job"] for s in self.snaps}
        while not want <= self.verified:
            self.check_alive()
            if time.monotonic() > deadline:
                return False
            self.pump(0.2)
        self.pump(1.0)  # the last lines
        return True

    # -- the vault, read back from the emulator ----------------------------------------
    def vault_copies(self):
        out = []
        for s in self.vrds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]:
            out.append((s["DBSnapshotIdentifier"], s["DBSnapshotArn"], s["Status"], s.get("Encrypted"),
                        s.get("KmsKeyId", "")))
        for s in self.vrds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]:
            out.append((s["DBClusterSnapshotIdentifier"], s["DBClusterSnapshotArn"], s["Status"],
                        s.get("StorageEncrypted"), s.get("KmsKeyId", "")))
        rows = []
        for name, arn, status, enc, kms in out:
            tags = {t["Key"]: t["Value"] for t in self.vrds.list_tags_for_resource(ResourceName=arn)["TagList"]}
            rows.append({"name": name, "db": tags.get("offsite-backup:db", "?"), "status": status,
                         "encrypted": bool(enc), "kms": kms,
                         "time": tags.get("offsite-backup:source-time", "?"),
                         "job": tags.get("offsite-backup:job", "")})
        return sorted(rows, key=lambda r: r["name"])

    @staticmethod
    def short_key(kms):
        """arn:aws:kms:<region>:<account>:key/<uuid> -> <account>:key/<first 8 of the uuid>..."""
        m = re.match(r"arn:aws[\w-]*:kms:[^:]*:(\d{12}):key/(.+)$", kms or "")
        return f"{m.group(1)}:key/{m.group(2)[:8]}..." if m else (kms or "-")

    def summary(self, arrived):
        rows = self.vault_copies()
        self.say(f"\nthe vault ({self.vault}), read back from the emulator:\n")
        heads = ("vault copy", "source DB", "status", "encrypted", "KMS key", "source time (tag)")
        cells = [(r["name"], r["db"], r["status"], "yes" if r["encrypted"] else "NO",
                  self.short_key(r["kms"]), r["time"]) for r in rows]
        widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(heads)]
        fmt = "  ".join("{:%d}" % w for w in widths)
        self.say(fmt.format(*heads).rstrip())
        self.say(fmt.format(*("-" * w for w in widths)))
        for c in cells:
            self.say(fmt.format(*c).rstrip())
        self.say(f"\nimport key: {self.short_key(self.import_key)}   "
                 f"export key: {self.short_key(self.export_key)}")

        ok = arrived
        by_name = {r["name"]: r for r in rows}
        for s in self.snaps:
            r = by_name.get(s["vault_copy"])
            problems = []
            if r is None:
                problems.append("no vault copy")
            else:
                if r["status"] != "available":
                    problems.append(f"status {r['status']}")
                if not r["encrypted"]:
                    problems.append("not encrypted")
                if r["kms"] != self.import_key:
                    problems.append("not encrypted with the import key")
                if r["job"] != s["vault_job"]:
                    problems.append("no job tag")
            if s["vault_job"] not in self.verified:
                problems.append("not verified by the vault daemon")
            if problems:
                ok = False
                self.failed.append(f"{s['label']}: " + ", ".join(problems))
        return ok and not self.failed

    # -- shutdown -------------------------------------------------------------------------
    def stop_daemons(self):
        for role in ("source", "target"):
            p = self.procs.get(role)
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for role, p in self.procs.items():
            try:
                rc = p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
                self.failed.append(f"the {role} daemon did not stop within 10 s of SIGTERM")
            if rc != 0:
                self.failed.append(f"the {role} daemon exited with status {rc}")
        for t in self.readers:
            t.join(timeout=5)
        # what they said while stopping
        while True:
            try:
                role, line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.show(role, line)

    def cleanup(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.emu is not None:
            self.emu.stop()
            self.emu = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def run(self):
        self.say("offsite-backup demo: snapshots travel from the source account to the vault\n")
        arrived = False
        try:
            self.start_emulator()
            self.build_accounts()
            self.write_configs()
            self.start_daemons()
            self.take_snapshots()
            arrived = self.wait_arrivals()
            if not arrived:
                self.say(f"\n!! not every snapshot arrived verified within {ARRIVAL_TIMEOUT:.0f} s")
            ok = self.summary(arrived)
            self.say("\nstopping: SIGTERM to both daemons")
            self.stop_daemons()
        except Stop:
            self.say("\ninterrupted")
            ok = False
        except Exception as e:  # noqa: BLE001 - report and clean up
            self.say(f"\ndemo failed: {self.redact(str(e))}")
            ok = False
        finally:
            try:
                self.stop_daemons()
            finally:
                self.cleanup()
        for line in self.captured:
            if any(s and s in line for s in self.secrets):
                ok = False
        if self.failed:
            ok = False
            for f in dict.fromkeys(self.failed):
                self.say(f"!! {f}")
        self.say(f"\nemulator stopped, temporary files removed; "
                 f"{'all snapshots arrived verified' if ok else 'DEMO FAILED'} "
                 f"({time.monotonic() - self.t0:.1f} s)")
        return 0 if ok else 1


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    build = os.path.abspath(argv[1])
    daemon = os.path.join(build, "offsite-backupd")
    if not os.access(daemon, os.X_OK):
        print(f"demo: {daemon} not found or not executable (make BUILD={argv[1]} all)", file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        raise Stop()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return Demo(build).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
