"""Alerts ([daemon] alert_topic_arn, docs/alerts.md), read the way an
operator would: an SQS queue subscribed to the alert topic in the emulator.

Each test creates the alert topic in the daemon's own account, subscribes
a queue to it, provokes one condition through the emulator (a fault rule,
a forged announcement, an old copy, snapshots against a lowered quota) and
reads the queue with boto3: exactly one raised message per condition, with
the human-readable text, a parsable JSON document and the alert_kind /
alert_state MessageAttributes; one cleared message when it ends; nothing
repeated across a restart; nothing lost while SNS refuses to publish.

Run alone:  python3 tests/integration/run.py --build build -k Alert
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time

import run as R  # run.py, as loaded by itself
from test_source import job_identifier
from test_vault import VaultCase

SEP = "\n\nDetails (JSON):\n"
DAEMON_AGENT = "offsite-backup/"  # fault rules that spare the test's own boto3


class AlertCase(VaultCase):
    def setUp(self):
        super().setUp()
        self.alerts = []      # every alert read so far, in order
        self.topics = {}

    def alert_topic(self, account):
        """The alert topic of account ("source"/"vault") and its subscribed
        queue, made once."""
        if account not in self.topics:
            sns = self.emu.client("sns", account=account)
            sqs = self.emu.client("sqs", account=account)
            topic = sns.create_topic(Name="offsite-backup-alerts")["TopicArn"]
            url = sqs.create_queue(QueueName="offsite-backup-alerts-mail")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
            self.topics[account] = (topic, sqs, url)
        return self.topics[account][0]

    def config_source_alerts(self, daemon=None):
        d = {"poll_interval": "1s", "sweep_interval": "0", "max_concurrent_copies": "5",
             "max_attempts": "10", "alert_topic_arn": self.alert_topic("source")}
        d.update(daemon or {})
        s = {"export_kms_key": self.bed.kms_key_arn, "target_account": self.vault,
             "notify_topic_arn": self.bed.topic_arn}
        return self.write_config(R.config_text(
            self.emu, queue_url=self.bed.queue_url, state_db=self.source_state_db,
            daemon=d, source=s), name="source.conf")

    def start_vault(self, daemon=None, target=None):
        d = {"alert_topic_arn": self.alert_topic("vault")}
        d.update(daemon or {})
        return self.start_target(daemon=d, target=target)

    # -- reading the alert queue ---------------------------------------------
    def read(self):
        """Move what the alert queues hold into self.alerts; each alert is
        {subject, text, details, kind, state} (the attributes)."""
        for topic, sqs, url in self.topics.values():
            while True:
                msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
                if not msgs:
                    break
                for m in msgs:
                    env = json.loads(m["Body"])
                    self.assertEqual(env["TopicArn"], topic)
                    message = env["Message"]
                    self.assertIn(SEP, message, f"no JSON part in {message!r}")
                    text, _, doc = message.partition(SEP)
                    attrs = {k: v["Value"] for k, v in env.get("MessageAttributes", {}).items()}
                    self.alerts.append({"subject": env.get("Subject", ""), "text": text,
                                        "details": json.loads(doc), "raw": message,
                                        "kind": attrs.get("alert_kind"),
                                        "state": attrs.get("alert_state")})
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return self.alerts

    def of(self, kind, state=None):
        return [a for a in self.read() if a["kind"] == kind and state in (None, a["state"])]

    def wait_alert(self, kind, state="raised", n=1, timeout=30, **kw):
        self.wait_until(lambda: len(self.of(kind, state)) >= n, timeout,
                        f"{n} {state} {kind} alert(s)", **kw)
        return self.of(kind, state)

    def assert_alert_shape(self, a, kind, state, role):
        d = a["details"]
        self.assertEqual((a["kind"], a["state"]), (kind, state), "MessageAttributes")
        self.assertEqual((d["kind"], d["state"], d["role"], d["region"]),
                         (kind, state, role, self.region), "JSON details")
        self.assertEqual(d["schema"], "offsite-backup-alert/1")
        self.assertTrue(d["key"] and d["host"] and d["raised_at"].endswith("Z"), d)
        self.assertLessEqual(len(a["subject"]), 100, a["subject"])
        self.assertTrue(all(0x20 <= ord(c) < 0x7f for c in a["subject"]), a["subject"])
        self.assertTrue(a["subject"].startswith(f"offsite-backup {role} "), a["subject"])
        if state == "cleared":
            self.assertTrue(a["text"].startswith("RESOLVED: "), a["text"])
            self.assertIn("cleared_at", d)
        self.assert_no_secret(a["raw"])

    def ctl(self, db, *args):
        p = subprocess.run([os.path.join(R.BUILD, "offsite-backupctl"), "--db", db, *args],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, f"ctl {args}: {p.stdout}{p.stderr}")
        return p.stdout


class TestAlerts(AlertCase):
    # (a) a job failure: one alert, the text says how to retry; the retry
    # that brings it back clears it.
    def test_job_failure_alerts_once_and_clears_after_retry(self):
        self.bed.create_instance("orders-prod")
        snap = self.bed.create_snapshot("orders-prod", "orders-manual-1")
        self.emu.inject("rds", "CopyDBSnapshot", kind="error", code="KMSKeyNotAccessibleFault",
                        status=400, message="The export key is disabled", count=1)
        self.source = self._start("source", self.config_source_alerts(), "source")
        self.bed.put_events(self.bed.snapshot_event(snap))
        jid = job_identifier(snap.arn)
        (a,) = self.wait_alert("job-failed", no_failed_jobs=False)
        self.assert_alert_shape(a, "job-failed", "raised", "source")
        d = a["details"]
        self.assertEqual((d["key"], d["job_id"], d["db"], d["snapshot_arn"], d["error_code"]),
                         (f"job-failed:{jid}", jid, "orders-prod", snap.arn,
                          "KMSKeyNotAccessibleFault"))
        self.assertIn(f"offsite-backupctl retry {jid}", a["text"])
        self.assertIn("orders-prod", a["subject"])
        self.quiet(3)
        self.assertEqual(len(self.of("job-failed")), 1, "one message per failure")
        self.ctl(self.source_state_db, "retry", jid)
        (c,) = self.wait_alert("job-failed", "cleared", no_failed_jobs=False)
        self.assert_alert_shape(c, "job-failed", "cleared", "source")
        self.assertEqual(c["details"]["key"], f"job-failed:{jid}")
        self.quiet(2)
        self.assertEqual([(x["kind"], x["state"]) for x in self.read()],
                         [("job-failed", "raised"), ("job-failed", "cleared")])

    # (b) a rejected announcement: one alert per claimed snapshot, terminal.
    def test_rejected_announcement_alerts_once(self):
        self.create_instance("orders-prod")
        e = self.make_export("orders-prod", "orders-prod-1")
        self.start_vault()
        forged = self.announcement(e, source_account="999999999999")
        self.send(forged)
        (a,) = self.wait_alert("rejected")
        self.assert_alert_shape(a, "rejected", "raised", "target")
        # keyed by the sender account the announcement names and the claim
        self.assertEqual(a["details"]["key"], f"rejected:999999999999/{e.arn}")
        self.assertEqual(a["details"]["sender_account"], "999999999999")
        self.assertEqual(a["details"]["claimed_snapshot_arn"], e.arn)
        self.assertTrue(a["details"]["terminal"])
        self.assertIn("does not clear", a["text"])
        self.send(forged)  # the same claim again, another message id
        self.wait_until(lambda: len(self.rejected()) == 2, 20, "the second rejected row")
        self.quiet(3)
        self.assertEqual(len(self.of("rejected")), 1, "one alert per claimed snapshot")

    # (b2) review: a forger names a new 12-digit sender each time. Senders
    # not in allowed_source_accounts share one rate-limit bucket, so three
    # forged senders page once within the hour, not three times.
    def test_forged_senders_share_one_rejection_bucket(self):
        self.create_instance("orders-prod")
        e = self.make_export("orders-prod", "orders-prod-1")
        self.start_vault()
        for sender in ("999999999991", "999999999992", "999999999993"):
            self.send(self.announcement(e, source_account=sender))
        self.wait_until(lambda: len(self.rejected()) == 3, 30, "three rejected rows")
        (a,) = self.wait_alert("rejected")
        self.assertIn(a["details"]["sender_account"], ("999999999991", "999999999992", "999999999993"))
        self.quiet(3)
        self.assertEqual(len(self.of("rejected")), 1, "one alert for all unlisted senders")

    # (c) RPO: raised once, not again after a restart, cleared once a newer
    # copy is verified.
    def test_rpo_breach_raised_once_across_restart_and_cleared(self):
        self.create_instance("orders-prod")
        old = self.make_export("orders-prod", "orders-prod-old", when=time.time() - 2 * 86400)
        self.start_vault(target={"rpo": "1h"})
        self.send(self.announcement(old))
        self.wait_verified([old])
        (a,) = self.wait_alert("rpo")
        self.assert_alert_shape(a, "rpo", "raised", "target")
        self.assertEqual((a["details"]["key"], a["details"]["db"], a["details"]["source_account"]),
                         (f"rpo:{self.src}/orders-prod", "orders-prod", self.src))
        self.stop_daemons()
        self.start_vault(target={"rpo": "1h"})
        self.quiet(4)  # several retention passes of the new process
        self.assertEqual(len(self.of("rpo")), 1, "RPO alert repeated after a restart")
        new = self.make_export("orders-prod", "orders-prod-new")
        self.send(self.announcement(new))
        self.wait_verified([new])
        (c,) = self.wait_alert("rpo", "cleared")
        self.assert_alert_shape(c, "rpo", "cleared", "target")
        self.quiet(3)
        self.assertEqual([(x["kind"], x["state"]) for x in self.read()],
                         [("rpo", "raised"), ("rpo", "cleared")])

    def test_rpo_recovered_while_stopped_is_cleared_at_the_next_pass(self):
        self.create_instance("orders-prod")
        old = self.make_export("orders-prod", "orders-prod-old", when=time.time() - 2 * 86400)
        self.start_vault(target={"rpo": "1h"})
        self.send(self.announcement(old))
        self.wait_verified([old])
        self.wait_alert("rpo")
        self.stop_daemons()
        # While stopped, the breach ends (the policy is relaxed): the next
        # process never sees the breach, yet owes the cleared message.
        self.start_vault(target={"rpo": "30d"})
        (c,) = self.wait_alert("rpo", "cleared")
        self.assertEqual(c["details"]["key"], f"rpo:{self.src}/orders-prod")

    # (d) the queue unreachable for longer than alert_after.
    def test_queue_unreachable_alerts_after_alert_after_and_clears(self):
        self.start_vault(daemon={"alert_after": "3s"})
        started = time.monotonic()
        rule = self.emu.inject("sqs", "ReceiveMessage", kind="error", status=400,
                               code="AWS.SimpleQueueService.NonExistentQueue",
                               message="The specified queue does not exist.", count=100000,
                               agent=DAEMON_AGENT)
        (a,) = self.wait_alert("queue", timeout=40)
        self.assertGreaterEqual(time.monotonic() - started, 3.0, "raised before alert_after")
        self.assert_alert_shape(a, "queue", "raised", "target")
        self.assertEqual(a["details"]["key"], "queue")
        self.assertIn("NonExistentQueue", a["details"]["error_code"])
        self.assertEqual(self.of("credentials"), [])
        self.emu.clear_faults(rule)
        (c,) = self.wait_alert("queue", "cleared", timeout=90)
        self.assert_alert_shape(c, "queue", "cleared", "target")
        self.quiet(2)
        self.assertEqual(len(self.of("queue")), 2)

    # (e) credentials refused on the queue calls while SNS still works.
    def test_credentials_refused_alert_and_clear(self):
        self.start_vault(daemon={"alert_after": "3s"})
        rule = self.emu.inject("sqs", "ReceiveMessage", kind="error", status=403,
                               code="InvalidClientTokenId",
                               message="The security token included in the request is invalid.",
                               count=100000, agent=DAEMON_AGENT)
        (a,) = self.wait_alert("credentials", timeout=40)
        self.assert_alert_shape(a, "credentials", "raised", "target")
        self.assertEqual(a["details"]["error_code"], "InvalidClientTokenId")
        self.assertEqual(self.of("queue"), [], "a credentials failure is not a queue alert")
        self.emu.clear_faults(rule)
        self.wait_alert("credentials", "cleared", timeout=90)
        self.quiet(2)
        self.assertEqual(len(self.of("credentials")), 2)

    # (f) the manual snapshot quota at 90 %.
    def test_manual_snapshot_quota_alert_and_clear(self):
        self.emu.set_rds_quota_max(ManualSnapshots=10)
        vrds = self.vrds
        vrds.create_db_instance(DBInstanceIdentifier="vault-db", Engine="postgres",
                                DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                                MasterUsername="admin1", MasterUserPassword="password123")
        for i in range(8):
            vrds.create_db_snapshot(DBInstanceIdentifier="vault-db", DBSnapshotIdentifier=f"m-{i}")
        # 8 of 10: below 90 %; the quota is looked at every sweep (2 s).
        self.start_vault(daemon={"sweep_interval": "2s"})
        self.wait_until(lambda: self.emu.count("rds", "DescribeAccountAttributes", "vault") >= 2,
                        20, "two quota look-ups")
        self.assertEqual(self.of("quota"), [], "alert below 90 %")
        vrds.create_db_snapshot(DBInstanceIdentifier="vault-db", DBSnapshotIdentifier="m-8")
        (a,) = self.wait_alert("quota")
        self.assert_alert_shape(a, "quota", "raised", "target")
        d = a["details"]
        self.assertEqual((d["key"], d["used"], d["max"]), ("quota:ManualSnapshots", 9, 10))
        self.quiet(5)
        self.assertEqual(len(self.of("quota")), 1, "one alert while it lasts")
        for i in range(2):
            vrds.delete_db_snapshot(DBSnapshotIdentifier=f"m-{i}")
        (c,) = self.wait_alert("quota", "cleared")
        self.assertEqual(c["details"]["key"], "quota:ManualSnapshots")

    # (g) SNS refusing to publish loses nothing and does not spin.
    def test_publish_failures_lose_no_alert(self):
        self.create_instance("orders-prod")
        e = self.make_export("orders-prod", "orders-prod-1")
        rule = self.emu.inject("sns", "Publish", kind="error", status=403, code="AuthorizationError",
                               message="not authorized to perform SNS:Publish", count=100000,
                               account="vault", agent=DAEMON_AGENT)
        self.start_vault()
        self.send(self.announcement(e, source_account="999999999999"))
        self.wait_until(lambda: self.emu.count("sns", "Publish", "vault") >= 1, 20,
                        "a refused publish")
        self.quiet(7)
        tries = self.emu.count("sns", "Publish", "vault")
        self.assertLessEqual(tries, 3, f"{tries} publish attempts in ~7 s: no backoff")
        self.assertEqual(self.read(), [], "delivered despite the fault")
        self.stop_daemons()   # and a restart in between must not lose it either
        self.start_vault()
        self.emu.clear_faults(rule)
        (a,) = self.wait_alert("rejected", timeout=40)
        self.assertEqual(a["details"]["claimed_snapshot_arn"], e.arn)
        self.quiet(3)
        self.assertEqual(len(self.read()), 1, "delivered exactly once")

    # (h) the job's commit and its alert's row are two writes: a kill -9
    # (or an SQLITE_BUSY) between them loses the row. The reconcile pass at
    # start-up raises it again: delivered, exactly once.
    def test_lost_alert_row_is_raised_again_at_start_up(self):
        self.bed.create_instance("orders-prod")
        snap = self.bed.create_snapshot("orders-prod", "orders-manual-1")
        self.emu.inject("rds", "CopyDBSnapshot", kind="error", code="KMSKeyNotAccessibleFault",
                        status=400, message="The export key is disabled", count=1)
        # nothing gets out before the "kill": the row stays unsent
        rule = self.emu.inject("sns", "Publish", kind="error", status=403,
                               code="AuthorizationError", message="not authorized", count=100000,
                               account="source", agent=DAEMON_AGENT)
        config = self.config_source_alerts()
        self.source = self._start("source", config, "source")
        self.bed.put_events(self.bed.snapshot_event(snap))
        jid = job_identifier(snap.arn)
        self.wait_until(lambda: any(j.get("id") == jid and j.get("state") == "failed"
                                    for j in self.jobs(self.source_state_db)),
                        30, "the job to fail", no_failed_jobs=False)
        self.stop_daemons()
        con = sqlite3.connect(self.source_state_db, timeout=10)
        try:
            self.assertGreaterEqual(con.execute("DELETE FROM alerts").rowcount, 1)
            con.commit()
        finally:
            con.close()
        self.emu.clear_faults(rule)
        self.assertEqual(self.read(), [])
        self.source = self._start("source", config, "source")
        (a,) = self.wait_alert("job-failed", timeout=30, no_failed_jobs=False)
        self.assert_alert_shape(a, "job-failed", "raised", "source")
        d = a["details"]
        self.assertEqual((d["key"], d["failed_in"], d["error_code"]),
                         (f"job-failed:{jid}", "pending", "KMSKeyNotAccessibleFault"))
        self.assertIn(f"offsite-backupctl retry {jid}", a["text"])
        self.quiet(3)
        self.assertEqual(len(self.of("job-failed")), 1, "delivered exactly once")

    # (i) SNS black-holed (requests hang): the loop goes on with its work,
    # one short Publish attempt per backoff interval, and the alert goes out
    # once SNS answers again.
    def test_black_holed_sns_does_not_hold_up_the_work(self):
        self.create_instance("orders-prod")
        e = self.make_export("orders-prod", "orders-prod-1")
        rule = self.emu.inject("sns", "Publish", kind="stall", seconds=75, count=100000,
                               account="vault", agent=DAEMON_AGENT)
        self.start_vault()
        self.send(self.announcement(e, source_account="999999999999"))
        self.wait_until(lambda: self.emu.count("sns", "Publish", "vault") >= 1, 20,
                        "a Publish that hangs")
        started = time.monotonic()
        self.send(self.announcement(e))
        self.wait_verified([e], timeout=90)
        took = time.monotonic() - started
        # Before the fix a hanging Publish held the loop for 3 x 60 s.
        self.assertLess(took, 45, f"the vault copy took {took:.0f} s while SNS hung")
        self.emu.clear_faults(rule)
        alerts = self.wait_alert("rejected", timeout=120)
        self.assertEqual(alerts[0]["details"]["claimed_snapshot_arn"], e.arn)
        # A Publish the daemon gave up on may still be taken by SNS (here:
        # when the stall ends): duplicates, never more than the attempts.
        self.assertLessEqual(len(alerts), self.emu.count("sns", "Publish", "vault"))
