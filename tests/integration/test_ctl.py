"""offsite-backupctl on a state database the real daemon produced.

The source daemon exports two snapshots; one copy is refused with a fatal
AWS error (an injected KMSKeyNotAccessibleFault), so its job fails. Then,
while the daemon keeps running: `status`, `list` and `show` (human and
--json) must agree with moto's view, and `retry` must send the failed job
back so that the daemon completes it (checked through moto: the export copy
exists and was announced).
"""
import json
import os
import subprocess

import run as R  # noqa: E402
from test_source import SourceCase, job_identifier  # noqa: E402


class TestCtl(SourceCase):
    def ctl(self, *args, expect=0):
        p = subprocess.run([os.path.join(R.BUILD, "offsite-backupctl"), "--db", self.state_db,
                            *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, expect, f"ctl {args}: {p.stdout}{p.stderr}")
        self.assert_no_secret(p.stdout, p.stderr)
        if "--json" not in args:  # human tables fit 100 columns; JSON need not
            for line in p.stdout.splitlines():
                self.assertLessEqual(len(line), 100, f"ctl {args}: line over 100 columns: {line!r}")
        return p.stdout

    def test_status_list_show_and_retry_on_a_live_database(self):
        self.bed.create_instance("orders-prod")
        self.bed.create_instance("billing-prod")
        good = self.bed.create_snapshot("orders-prod", "orders-manual-1")
        bad = self.bed.create_snapshot("billing-prod", "billing-manual-1")
        # The first copy call fails for good (not retryable): that job fails.
        self.emu.inject("rds", "CopyDBSnapshot", kind="error", code="KMSKeyNotAccessibleFault",
                        status=400, message="The export key is disabled", count=1)
        self.config(daemon={"max_concurrent_copies": "1"})
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(bad))
        self.wait_until(lambda: self.job_state(bad) == "failed", 30, "the billing job to fail",
                        no_failed_jobs=False)
        self.bed.put_events(self.bed.snapshot_event(good))
        self.wait_until(lambda: self.announcements_for(good), 60,
                        "the orders announcement", no_failed_jobs=False)

        bad_id, good_id = job_identifier(bad.arn), job_identifier(good.arn)
        status = json.loads(self.ctl("status", "--json"))
        counts = status["counts"] if "counts" in status else status.get("states", {})
        self.assertEqual(counts.get("failed"), 1, status)
        self.assertEqual(counts.get("notified"), 1, status)
        human = self.ctl("status")
        self.assertIn("failed", human)
        self.assertIn(bad_id, human)

        listed = json.loads(self.ctl("list", "--state", "failed", "--json"))
        jobs = listed["jobs"] if isinstance(listed, dict) else listed
        self.assertEqual([j["id"] for j in jobs], [bad_id])
        self.assertEqual(jobs[0]["error_code"], "KMSKeyNotAccessibleFault")

        shown = json.loads(self.ctl("show", good_id, "--json"))
        job = shown.get("job", shown)
        # the copy the daemon reports is the one moto holds
        self.assertEqual(job["copy_arn"], self.bed.moto_copy(good).arn)
        history = shown.get("history", [])
        self.assertEqual([h["to"] for h in history],
                         ["pending", "copying", "copied", "shared", "notified"])
        self.assertIn("KMSKeyNotAccessibleFault", self.ctl("show", bad_id))

        self.ctl("retry", good_id, expect=2)           # not failed: refused, unchanged
        self.ctl("show", "j0000000000000000", expect=2)  # unknown job
        self.ctl("retry", bad_id)
        self.wait_announced([bad])
        self.assert_exported(bad, announcements=1)
        self.assert_one_copy_each([good, bad])
        self.assertEqual(self.job_state(bad), "notified")
        history = json.loads(self.ctl("show", bad_id, "--json")).get("history", [])
        self.assertIn("failed", [h["to"] for h in history])
        self.assertEqual(history[-1]["to"], "notified")

    def test_missing_database_is_exit_2_and_not_created(self):
        path = os.path.join(self.tmp.name, "nope.db")
        p = subprocess.run([os.path.join(R.BUILD, "offsite-backupctl"), "--db", path, "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("nope.db", p.stderr)
        self.assertFalse(os.path.exists(path))

    def test_rebuild_after_the_database_is_lost(self):
        """A database lost mid-flight (one copy available, announced; one still
        creating): rebuild refuses while the file is there, then makes the two
        jobs from the copies' provenance tags, and the daemon finishes both
        (moto: both copies shared, both announced)."""
        self.bed.create_instance("orders-prod")
        done = self.bed.create_snapshot("orders-prod", "orders-manual-1")
        slow = self.bed.create_snapshot("orders-prod", "orders-manual-2")
        self.config()
        self.start_daemon()
        self.bed.put_events(self.bed.snapshot_event(done))
        self.wait_announced([done])
        self.emu.set_copy_delay(600)
        self.bed.put_events(self.bed.snapshot_event(slow))
        self.wait_until(lambda: self.bed.moto_copy(slow) is not None, 30, "the slow copy")
        self.wait_events_queue_empty()
        self.stop_daemon()
        ctl = [os.path.join(R.BUILD, "offsite-backupctl"), "--config", self.config_path]
        p = subprocess.run(ctl + ["rebuild"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("aside", p.stderr)
        for sfx in ("", "-wal", "-shm"):
            if os.path.exists(self.state_db + sfx):
                os.rename(self.state_db + sfx, self.state_db + sfx + ".lost")
        p = subprocess.run(ctl + ["--json", "rebuild"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_no_secret(p.stdout, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["states"], {"copying": 1, "copied": 1}, doc)
        self.assertEqual({j["job"] for j in doc["jobs"]},
                         {job_identifier(done.arn), job_identifier(slow.arn)})
        self.bed.drain_inbox()
        self.bed.inbox_bodies.clear()
        self.emu.set_copy_delay(0)
        self.emu.complete_copies()
        self.start_daemon()
        self.wait_announced([done, slow])
        self.assert_exported(slow)

    def test_rebuild_interrupted_leaves_nothing_behind(self):
        """Ctrl-C while rebuild waits on AWS (a stalled DescribeDBSnapshots):
        it stops within seconds, exit 1, says nothing was written, and leaves
        neither a database nor its temporary files in the directory."""
        self.config()
        self.emu.inject("rds", "DescribeDBSnapshots", "stall", seconds=30, count=1)
        ctl = [os.path.join(R.BUILD, "offsite-backupctl"), "--config", self.config_path]
        before = set(os.listdir(os.path.dirname(self.state_db)))
        proc = subprocess.Popen(ctl + ["rebuild"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # Interrupt once the stalled listing is in flight (the emulator saw it).
        self.wait_until(lambda: self.emu.count("rds", "DescribeDBSnapshots") > 0, 20,
                        "rebuild to list the snapshots")
        proc.send_signal(2)  # SIGINT, as Ctrl-C
        try:
            out, errs = proc.communicate(timeout=R.scaled(10))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail("rebuild did not stop within 10 s of SIGINT")
        self.assertEqual(proc.returncode, 1, errs)
        self.assertIn("interrupted", errs)
        self.assert_no_secret(out, errs)
        self.assertEqual(set(os.listdir(os.path.dirname(self.state_db))), before)
