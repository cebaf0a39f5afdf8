"""Integration tests of the source's S3 export (issue 7, docs/s3-export.md).

    snapshot event -> export copy -> share -> announce (the hand-off)
                                  \\-> StartExportTask(copy) -> DescribeExportTasks ... COMPLETE

The export tasks are read back from the emulator with boto3
(describe_export_tasks), the share with describe_db_snapshot_attributes and
the announcement from the vault's inbox; the daemon's state database and
offsite-backupctl are secondary. The emulator's S3 export shim makes tasks
go STARTING -> IN_PROGRESS -> COMPLETE over the export delay, and can make
tasks end FAILED (tests/emulator/README.md).

Run alone:  python3 tests/integration/run.py --build build -k Export
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time

import run as R  # run.py, as loaded by itself
import test_source as S

MSGID_EXPORT_FAILED = "1b917fa8d3524d6cb09246c956fefd7a"  # include/ob/log.h
BUCKET = "ob-escrow-source-111111111111"
PREFIX = "rds/exports"


def task_identifier(source_arn):
    """ob-export- + the job id (include/ob/export.h)."""
    return "ob-export-" + S.job_identifier(source_arn)


class ExportCase(S.SourceCase):
    export_delay = 4.0

    def setUp(self):
        super().setUp()
        self.emu.set_export_delay(self.export_delay)
        self.addCleanup(self.emu.set_export_delay, 0)
        # The bucket the export writes to (moto's S3 does not check that RDS
        # writes, but the configuration names a real bucket).
        s3 = self.emu.client("s3", account="source")
        s3.create_bucket(Bucket=BUCKET,
                         CreateBucketConfiguration={"LocationConstraint": self.emu.region})
        self.role_arn = f"arn:aws:iam::{self.bed.src}:role/offsite-backup-rds-export"
        iam = self.emu.client("iam", account="source")
        iam.create_role(RoleName="offsite-backup-rds-export", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "export.rds.amazonaws.com"}}]}))

    def export_config(self, daemon=None, **source):
        s = {"export_to_s3_bucket": BUCKET, "export_to_s3_prefix": PREFIX,
             "export_iam_role_arn": self.role_arn}
        s.update(source)
        self.metrics_path = os.path.join(self.tmp.name, "ob.prom")
        return self.config(daemon={"metrics_file": self.metrics_path, **(daemon or {})}, source=s)

    def alert_queue(self):
        """An alert topic in the source account with a queue subscribed to
        it, as an operator's mail gateway would be: (topic ARN, read()),
        read() returning the alerts delivered so far as (attributes, text)."""
        sns = self.emu.client("sns", account="source")
        sqs = self.emu.client("sqs", account="source")
        topic = sns.create_topic(Name="offsite-backup-alerts")["TopicArn"]
        url = sqs.create_queue(QueueName="offsite-backup-alerts-mail")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        got = []

        def read():
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                         WaitTimeSeconds=0).get("Messages", []):
                env = json.loads(m["Body"])
                attrs = {k: v["Value"] for k, v in env.get("MessageAttributes", {}).items()}
                got.append((attrs, env["Message"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return got
        return topic, read

    def metric(self, line_start):
        """The value of the metrics file's line that starts with line_start, or None."""
        try:
            with open(self.metrics_path, encoding="utf-8") as f:
                for line in f:
                    if line.startswith(line_start + " "):
                        return float(line.split()[-1])
        except FileNotFoundError:
            pass
        return None

    # -- the emulator's view ---------------------------------------------
    def tasks_for(self, copy_arn):
        return self.bed.rds.describe_export_tasks(
            Filters=[{"Name": "source-arn", "Values": [copy_arn]}])["ExportTasks"]

    def task(self, snap):
        got = self.bed.rds.describe_export_tasks(
            Filters=[{"Name": "export-task-identifier", "Values": [task_identifier(snap.arn)]}])
        return next(iter(got["ExportTasks"]), None)

    def copy_arn(self, snap):
        return self.copy_truth(snap)["arn"]

    # -- the daemon's view (secondary) -----------------------------------
    def export_row(self, snap):
        if not os.path.exists(self.state_db):
            return None
        con = sqlite3.connect(f"file:{self.state_db}?mode=ro", uri=True, timeout=5)
        try:
            con.row_factory = sqlite3.Row
            try:
                r = con.execute("SELECT * FROM exports WHERE job_id = ?",
                                (S.job_identifier(snap.arn),)).fetchone()
            except sqlite3.OperationalError:  # not migrated yet
                return None
            return dict(r) if r else None
        finally:
            con.close()

    def ctl(self, *args):
        out = subprocess.run([os.path.join(R.BUILD, "offsite-backupctl"), "--db", self.state_db,
                              *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def ctl_show(self, snap):
        return json.loads(self.ctl("show", S.job_identifier(snap.arn), "--json"))

    def make_snapshot(self, name="orders-prod-2026-11-22"):
        self.bed.create_instance("orders-prod")
        return self.bed.create_snapshot("orders-prod", name)

    def assert_handed_off(self, snap):
        """Shared with the vault (moto, through the API) and announced."""
        attrs = self.bed.rds.describe_db_snapshot_attributes(
            DBSnapshotIdentifier=S.copy_identifier(snap.arn))["DBSnapshotAttributesResult"]
        restore = next(a["AttributeValues"] for a in attrs["DBSnapshotAttributes"]
                       if a["AttributeName"] == "restore")
        self.assertIn(self.bed.vault, restore, "the export copy is shared with the vault")
        self.assertEqual(len(self.announcements_for(snap)), 1, "one announcement in the vault inbox")


class TestExport(ExportCase):
    def test_export_runs_to_complete_without_holding_up_the_hand_off(self):
        snap = self.make_snapshot()
        self.export_config()
        # one throttled start: delayed, not failed
        rid = self.emu.inject("rds", "StartExportTask", kind="throttle", count=1, account="source",
                              agent="offsite-backup/")
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(snap))
        self.wait_announced([snap])
        t = self.task(snap)
        # the hand-off did not wait for the export (4 s)
        self.assertTrue(t is None or t["Status"] in ("STARTING", "IN_PROGRESS"),
                        f"export already finished at the announcement: {t}")
        t = self.wait_until(lambda: (self.task(snap) or {}).get("Status") == "COMPLETE" and self.task(snap),
                            60, "the export task to be COMPLETE")
        copy_arn = self.copy_arn(snap)
        self.assertEqual(t["SourceArn"], copy_arn, "the task exports our export copy")
        self.assertEqual(t["S3Bucket"], BUCKET)
        self.assertEqual(t["S3Prefix"], PREFIX)
        self.assertEqual(t["IamRoleArn"], self.role_arn)
        self.assertEqual(t["KmsKeyId"], self.bed.kms_key_arn)
        self.assertEqual(self.fired(rid), 1, "the throttle was hit")
        self.wait_until(lambda: (self.export_row(snap) or {}).get("state") == "complete", 30,
                        "the daemon to record the export complete")
        self.quiet(2)
        self.assertEqual(len(self.tasks_for(copy_arn)), 1, "one task for the copy")
        self.assert_handed_off(snap)
        self.assert_jobs({snap: "notified"})
        show = self.ctl_show(snap)
        self.assertEqual(show["s3_export"]["state"], "complete")
        self.assertEqual(show["s3_export"]["task_id"], task_identifier(snap.arn))
        self.assertEqual(show["s3_export"]["percent"], 100)
        self.assertIn(f"s3 export          complete, task {task_identifier(snap.arn)}",
                      self.ctl("show", S.job_identifier(snap.arn)))
        status = json.loads(self.ctl("status", "--json"))
        self.assertEqual(status["s3_exports"], {"pending": 0, "running": 0, "complete": 1,
                                                "failed": 0, "canceled": 0})
        self.wait_until(lambda: self.metric('offsite_backup_exports{role="source",state="complete"}') == 1,
                        30, "the exports gauge in the metrics file")
        self.assertEqual(self.metric('offsite_backup_exports{role="source",state="running"}'), 0)
        text = self.ctl("status")
        self.assertRegex(text, r"S3 EXPORT\s+JOBS\s*\ncomplete\s+1\b")

    def test_kill9_after_start_export_task_makes_one_task(self):
        snap = self.make_snapshot()
        self.export_config()
        # moto starts the task; its answer is held 8 s, and the daemon is killed meanwhile
        rid = self.emu.inject("rds", "StartExportTask", kind="stall", when="after", seconds=8,
                              count=1, account="source", agent="offsite-backup/")
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(snap))
        self.wait_until(lambda: self.task(snap), 30, "the export task to exist in the emulator")
        self.assertEqual(self.fired(rid), 1)
        self.sigkill()
        self.assertIn((self.export_row(snap) or {}).get("state"), ("pending", None),
                      "the start was not committed before the kill")
        self.start_daemon()
        self.wait_until(lambda: (self.export_row(snap) or {}).get("state") == "complete", 60,
                        "the restarted daemon to find its task and see it complete")
        self.assertGreaterEqual(self.emu.count("rds", "StartExportTask", "source"), 2,
                                "the restarted daemon repeated the start")
        tasks = self.tasks_for(self.copy_arn(snap))
        self.assertEqual([x["ExportTaskIdentifier"] for x in tasks], [task_identifier(snap.arn)],
                         "exactly one task for the job")
        self.assertEqual(tasks[0]["Status"], "COMPLETE")
        self.assert_handed_off(snap)

    def test_failed_export_fails_loudly_and_the_job_is_still_notified(self):
        snap = self.make_snapshot()
        cause = "The IAM role does not have permission to write to the S3 bucket"
        self.emu.fail_exports("ob-export-*", cause)
        topic, alerts = self.alert_queue()
        self.export_config(daemon={"alert_topic_arn": topic})
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(snap))
        self.wait_announced([snap])
        t = self.wait_until(lambda: (self.task(snap) or {}).get("Status") == "FAILED" and self.task(snap),
                            60, "the export task to end FAILED")
        self.assertEqual(t["FailureCause"], cause)
        row = self.wait_until(lambda: (self.export_row(snap) or {}).get("state") == "failed"
                              and self.export_row(snap), 30, "the daemon to record the failure")
        self.assertEqual(row["error_code"], "FAILED")
        self.assertEqual(row["error_message"], cause)
        self.assert_handed_off(snap)
        self.assert_jobs({snap: "notified"})
        lines = [ln for ln in self.daemon_output().splitlines()
                 if f"[{MSGID_EXPORT_FAILED}]" in ln]
        self.assertEqual(len(lines), 1, "one alert line" + self.diagnostics())
        self.assertIn(": error: ", lines[0])
        self.assertIn(cause, lines[0])
        self.wait_until(lambda: self.metric(
            'offsite_backup_export_failures_total{role="source",code="FAILED"}') == 1, 30,
            "the export failure counted in the metrics file")
        show = self.ctl_show(snap)
        self.assertEqual(show["s3_export"]["state"], "failed")
        self.assertEqual(show["s3_export"]["error_message"], cause)
        # One alert through SNS (the subscribed queue), terminal: no clear.
        self.wait_until(lambda: alerts(), 30, "the export-failed alert")
        self.quiet(3)
        got = alerts()
        self.assertEqual([a["alert_kind"] for a, _ in got], ["export-failed"], got)
        self.assertEqual(got[0][0]["alert_state"], "raised")
        text, _, doc = got[0][1].partition("\n\nDetails (JSON):\n")
        self.assertIn(cause, text)
        details = json.loads(doc)
        self.assertEqual((details["job_id"], details["export_state"], details["error_message"]),
                         (S.job_identifier(snap.arn), "failed", cause))
        self.assertEqual(details["copy_arn"], self.copy_arn(snap))

    def test_permanent_start_error_fails_the_export_not_the_job(self):
        snap = self.make_snapshot()
        self.export_config()
        rid = self.emu.inject("rds", "StartExportTask", kind="error", code="IamRoleNotFound",
                              status=404, message="Role offsite-backup-rds-export not found",
                              count=1, account="source", agent="offsite-backup/")
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(snap))
        self.wait_announced([snap])
        row = self.wait_until(lambda: (self.export_row(snap) or {}).get("state") == "failed"
                              and self.export_row(snap), 30, "the export to fail")
        self.assertEqual(self.fired(rid), 1)
        self.assertEqual(row["error_code"], "IamRoleNotFound")
        self.quiet(3)
        self.assertEqual(self.emu.count("rds", "StartExportTask", "source"), 1, "not retried")
        self.assertIsNone(self.task(snap), "no task in the emulator")
        self.assert_handed_off(snap)
        self.assert_jobs({snap: "notified"})
        self.assertEqual(sum(f"[{MSGID_EXPORT_FAILED}]" in ln
                             for ln in self.daemon_output().splitlines()), 1)


class TestExportExpiry(ExportCase):
    export_delay = 8.0

    def test_expiry_waits_for_the_running_export(self):
        snap = self.make_snapshot()
        self.export_config(export_copy_retention="1s")
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(snap))
        self.wait_announced([snap])
        started = self.wait_until(lambda: self.emu.journal("rds", "StartExportTask", "source"), 30,
                                  "StartExportTask")[0]["time"]
        # retention (1 s) is long over while the task runs: the copy stays
        self.quiet(4)
        self.assertEqual(self.task(snap)["Status"], "IN_PROGRESS")
        self.assertIsNotNone(self.bed.moto_copy(snap), "the copy was deleted under a running export")
        self.wait_until(lambda: self.job_state(snap) == "expired", 60, "the job to expire")
        self.assertIsNone(self.bed.moto_copy(snap), "the export copy is deleted after the export")
        deleted = self.emu.journal("rds", "DeleteDBSnapshot", "source")
        self.assertEqual(len(deleted), 1)
        self.assertGreaterEqual(deleted[0]["time"], started + self.export_delay,
                                "the delete came after the export had finished")
        self.assertEqual((self.export_row(snap) or {}).get("state"), "complete")

    def test_permission_error_while_polling_keeps_the_export_and_its_copy(self):
        """rds:DescribeExportTasks refused while the task runs: the export
        stays running, its copy is kept past export_copy_retention, and once
        the permission is back the export is seen to its end."""
        snap = self.make_snapshot()
        self.export_config(export_copy_retention="1s")
        rid = self.emu.inject("rds", "DescribeExportTasks", kind="error", code="AccessDenied",
                              status=403, message="not authorized to perform rds:DescribeExportTasks",
                              count=None, account="source", agent="offsite-backup/")
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(snap))
        self.wait_announced([snap])
        self.wait_until(lambda: (self.export_row(snap) or {}).get("error_code") == "AccessDenied",
                        30, "a refused DescribeExportTasks")
        # Past the export delay (the task is COMPLETE in the emulator) and
        # far past the retention (1 s): still running, the copy kept.
        self.quiet(self.export_delay + 4)
        self.assertGreaterEqual(self.fired(rid), 2)
        row = self.export_row(snap)
        self.assertEqual((row["state"], row["error_code"]), ("running", "AccessDenied"),
                         self.diagnostics())
        self.assertIsNotNone(self.bed.moto_copy(snap),
                             "the copy was deleted while its export could not be watched")
        copy_arn = self.copy_arn(snap)
        self.assertEqual(self.emu.journal("rds", "DeleteDBSnapshot", "source"), [])
        self.assertNotEqual(self.job_state(snap), "expired")
        self.assertFalse(any(f"[{MSGID_EXPORT_FAILED}]" in ln
                             for ln in self.daemon_output().splitlines()), "no export-failed line")
        # The permission is back: the export completes, then the copy goes.
        self.emu.clear_faults(rid)
        self.wait_until(lambda: (self.export_row(snap) or {}).get("state") == "complete", 90,
                        "the export to be seen COMPLETE once describable again")
        self.assertEqual(self.task(snap)["Status"], "COMPLETE")
        self.assertEqual(self.task(snap)["SourceArn"], copy_arn)
        self.wait_until(lambda: self.job_state(snap) == "expired", 60, "the job to expire")
        self.assertIsNone(self.bed.moto_copy(snap), "the copy is deleted after the export")
