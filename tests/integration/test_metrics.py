"""Integration tests of the metrics (issue 7): the Prometheus text file and
CloudWatch PutMetricData, for both roles, against the emulator.

The file is parsed with prometheus_client's text parser (Debian package
python3-prometheus-client; when the test python is not Debian's, its
dist-packages directory is appended to sys.path) and, independently, with
a strict line-by-line check of the exposition format. Its values are
checked against the emulator's own view: the calls it counted per action,
the faults it injected, the export and vault copies in moto, the SNS
publishes. CloudWatch is read back from moto with list_metrics and
get_metric_data.

Run alone:  python3 tests/integration/run.py --build build -k Metrics
"""
from __future__ import annotations

import datetime
import json
import os
import re
import sys
import time

import run as R  # run.py, as loaded by itself
from test_vault import VaultCase

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # the test python is not Debian's: use the Debian package
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

NS = "OffsiteBackup/Test"

_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
_LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
_SAMPLE = re.compile(rf"^({_NAME})\{{({_NAME}={_LABEL_VALUE}(?:,{_NAME}={_LABEL_VALUE})*)\}} "
                     r"(-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$")
_HELP = re.compile(rf"^# HELP ({_NAME}) (.*)$")
_TYPE = re.compile(rf"^# TYPE ({_NAME}) (counter|gauge)$")


def strict_check(text):
    """The exposition format, strictly: HELP then TYPE before a family's
    samples, each family once, every sample line well-formed, counters named
    *_total, a final newline. Returns {name: type}."""
    assert text.endswith("\n"), "the file does not end with a newline"
    types, current = {}, None
    lines = text.split("\n")[:-1]
    i = 0
    while i < len(lines):
        m = _HELP.match(lines[i])
        assert m, f"line {i + 1}: expected # HELP, got {lines[i]!r}"
        name = m.group(1)
        assert name not in types, f"family {name} appears twice"
        t = _TYPE.match(lines[i + 1]) if i + 1 < len(lines) else None
        assert t and t.group(1) == name, f"line {i + 2}: expected # TYPE {name}"
        types[name] = t.group(2)
        if t.group(2) == "counter":
            assert name.endswith("_total"), f"counter {name} is not named *_total"
        current = name
        i += 2
        while i < len(lines) and not lines[i].startswith("#"):
            s = _SAMPLE.match(lines[i])
            assert s, f"line {i + 1}: malformed sample {lines[i]!r}"
            assert s.group(1) == current, f"line {i + 1}: sample of {s.group(1)} under {current}"
            assert s.group(2).startswith('role="'), f"line {i + 1}: no role label first"
            i += 1
    return types


def parse(text):
    """{(name, frozenset(labels.items())): value} via prometheus_client."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples, name, **labels):
    """The sample of name whose labels include these (exactly one), or 0."""
    hits = [v for (n, ls), v in samples.items()
            if n == name and all((k, v2) in ls for k, v2 in labels.items())]
    assert len(hits) <= 1, f"{name} {labels}: {len(hits)} samples"
    return hits[0] if hits else 0


def total(samples, name, **labels):
    return sum(v for (n, ls), v in samples.items()
               if n == name and all((k, v2) in ls for k, v2 in labels.items()))


class MetricsCase(VaultCase):
    def setUp(self):
        super().setUp()
        self.source_prom = os.path.join(self.tmp.name, "source.prom")
        self.target_prom = os.path.join(self.tmp.name, "target.prom")

    def config_source(self, extra=None):
        d = {"poll_interval": "1s", "sweep_interval": "0", "max_concurrent_copies": "5",
             "max_attempts": "10", "metrics_file": self.source_prom}
        d.update(extra or {})
        s = {"export_kms_key": self.bed.kms_key_arn, "target_account": self.vault,
             "notify_topic_arn": self.bed.topic_arn, "include_db": "*", "exclude_db": "",
             "require_tag": "", "export_copy_retention": "3d"}
        return self.write_config(R.config_text(
            self.emu, queue_url=self.bed.queue_url, state_db=self.source_state_db,
            daemon=d, source=s), name="source.conf")

    def start_source(self, extra=None):
        self.source = self._start("source", self.config_source(extra), "source")
        return self.source

    def read(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return text, strict_check(text), parse(text)

    def wait_file(self, path, pred, timeout, what, no_failed_jobs=True):
        def ok():
            try:
                with open(path, encoding="utf-8") as f:
                    return pred(parse(f.read()))
            except (OSError, ValueError):
                return False
        self.wait_until(ok, timeout, what, no_failed_jobs=no_failed_jobs)

    def no_temporaries(self):
        left = [n for n in os.listdir(self.tmp.name) if ".tmp." in n]
        self.assertEqual(left, [], "temporary metrics files left behind")


class TestMetricsEndToEnd(MetricsCase):
    def test_both_roles_file_and_cloudwatch_match_the_emulator(self):
        self.emu.set_copy_delay(2)
        self.create_instance("orders-prod")
        self.create_instance("billing-prod", engine="mysql", engine_version="8.0.35", storage=50)
        snaps = [self.bed.create_snapshot("orders-prod", "orders-prod-m1"),
                 self.bed.create_snapshot("billing-prod", "billing-prod-m1")]
        # Two throttled CopyDBSnapshot answers: two retries in the request core.
        rid = self.emu.inject("rds", "CopyDBSnapshot", kind="throttle", count=2, account="source")
        self.emu.reset_counts()
        started = time.time()
        self.config_target(daemon={"metrics_file": self.target_prom,
                                   "cloudwatch_namespace": NS})
        self.start_target()
        self.start_source({"cloudwatch_namespace": NS})
        self.bed.put_events(*(self.bed.snapshot_event(s) for s in snaps))
        self.bed.send_raw("this is not an event")           # malformed at the source
        self.send(json.dumps({"schema": "offsite-backup/1", "kind": "db-snapshot",
                              "snapshot_arn": "arn:aws:rds:eu-central-1:999999999999:snapshot:x"}))
        self.wait_until(lambda: sorted(j["state"] for j in self.jobs()
                                       if j["state"] != "rejected") == ["verified"] * 2,
                        90, "two verified vault copies")
        # Per-database ages appear after the next retention pass.
        self.wait_file(self.target_prom,
                       lambda s: total(s, "offsite_backup_newest_verified_copy_age_seconds") > 0
                       and len([k for k in s if k[0] ==
                                "offsite_backup_newest_verified_copy_age_seconds"]) == 2,
                       30, "per-database ages in the vault's metrics file")
        # CloudWatch: one batch a minute, the first a minute after start.
        self.wait_until(lambda: self.emu.count("*", "PutMetricData", "source") >= 1
                        and self.emu.count("*", "PutMetricData", "vault") >= 1,
                        R.scaled(90), "a PutMetricData from each daemon")
        elapsed = time.time() - started
        rule = next(r for r in self.emu.fault_rules() if r["id"] == rid)
        self.assertEqual(rule["remaining"], 0, f"not every injected fault was hit: {rule}")
        self.stop_daemons()   # the final file holds every call of the run
        self.no_temporaries()

        # At most one batch a minute (each daemon started within a few s).
        for acct in ("source", "vault"):
            puts = self.emu.count("*", "PutMetricData", acct)
            self.assertLessEqual(puts, int(elapsed // 60) + 1, f"{acct}: {puts} PutMetricData "
                                 f"calls in {elapsed:.0f} s")

        # -- the source's file ------------------------------------------------
        text, types, s = self.read(self.source_prom)
        self.assertEqual(types["offsite_backup_jobs"], "gauge")
        self.assertEqual(types["offsite_backup_aws_calls_total"], "counter")
        self.assertEqual(value(s, "offsite_backup_jobs", role="source", state="notified"), 2)
        self.assertEqual(value(s, "offsite_backup_jobs", role="source", state="failed"), 0)
        self.assertEqual(value(s, "offsite_backup_copies_in_flight", role="source"), 0)
        self.assertEqual(value(s, "offsite_backup_oldest_unfinished_job_age_seconds"), 0)
        # Export copies in moto = transitions to copied; publishes = to notified.
        copies = [c for c in self.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
                  if c["DBSnapshotIdentifier"].startswith("ob-")]
        self.assertEqual(len(copies), 2)
        self.assertEqual(value(s, "offsite_backup_transitions_total", **{"from": "copying",
                                                                        "to": "copied"}),
                         len(copies))
        self.assertEqual(value(s, "offsite_backup_transitions_total", **{"from": "shared",
                                                                        "to": "notified"}),
                         self.emu.count("sns", "Publish", "source"))
        # Calls per action: what the emulator counted (requests = calls + retries).
        self.assert_calls_match(s, "source", ["CopyDBSnapshot", "ModifyDBSnapshotAttribute",
                                              "Publish", "GetCallerIdentity",
                                              "DeleteMessageBatch", "PutMetricData"])
        self.assertEqual(value(s, "offsite_backup_aws_retries_total", action="CopyDBSnapshot"),
                         2)
        # SQS: the two events once each (deleted after commit), the
        # malformed one every time it came back.
        received = value(s, "offsite_backup_sqs_messages_received_total")
        malformed = value(s, "offsite_backup_sqs_messages_rejected_total", reason="malformed")
        self.assertGreaterEqual(malformed, 1)
        self.assertEqual(received - malformed, 2)

        # -- the vault's file -------------------------------------------------
        text_t, _, t = self.read(self.target_prom)
        vault_copies = self.vault_copies()
        self.assertEqual(value(t, "offsite_backup_jobs", role="target", state="verified"),
                         len(vault_copies))
        self.assertEqual(value(t, "offsite_backup_jobs", role="target", state="rejected"), 1)
        self.assertEqual(value(t, "offsite_backup_transitions_total", **{"from": "importing",
                                                                        "to": "imported"}),
                         self.emu.count("rds", "CopyDBSnapshot", "vault"))
        self.assertEqual(value(t, "offsite_backup_sqs_messages_received_total"), 3)
        self.assertEqual(value(t, "offsite_backup_sqs_messages_rejected_total",
                               reason="refused"), 1)
        self.assert_calls_match(t, "vault", ["CopyDBSnapshot", "DeleteMessageBatch",
                                             "GetCallerIdentity", "PutMetricData"])
        now = time.time()
        for db in ("orders-prod", "billing-prod"):
            snap_time = max(c["SnapshotCreateTime"].timestamp() for c in
                            self.rds.describe_db_snapshots(DBInstanceIdentifier=db,
                                                           SnapshotType="manual")["DBSnapshots"])
            age = value(t, "offsite_backup_newest_verified_copy_age_seconds",
                        source_account=self.src, db=db)
            self.assertAlmostEqual(age, now - snap_time, delta=R.scaled(30),
                                   msg=f"{db}: age {age}, snapshot from {snap_time}")
            self.assertEqual(value(t, "offsite_backup_rpo_breached", db=db), 0)
        self.assertEqual(value(t, "offsite_backup_rpo_breaches_total"), 0)

        # -- CloudWatch, read back from moto --------------------------------
        for acct, role in (("source", "source"), ("vault", "target")):
            cw = self.emu.client("cloudwatch", account=acct)
            metrics = cw.list_metrics(Namespace=NS)["Metrics"]
            names = {m["MetricName"] for m in metrics}
            for want in ("CopiesInFlight", "OldestUnfinishedJobAge", "JobsFailed", "AWSCalls",
                         "AWSRetries", "SQSMessagesReceived", "SQSMessagesRejected",
                         "JobFailures"):
                self.assertIn(want, names, f"{acct}: CloudWatch metrics {sorted(names)}")
            for m in metrics:
                dims = {d["Name"]: d["Value"] for d in m["Dimensions"]}
                self.assertEqual(dims.get("Role"), role, m)
            calls = self.cw_sum(cw, "AWSCalls", [{"Name": "Role", "Value": role}])
            self.assertGreater(calls, 0, f"{acct}: AWSCalls")
            file_calls = total(s if role == "source" else t, "offsite_backup_aws_calls_total")
            self.assertLessEqual(calls, file_calls, f"{acct}: more calls sent than made")
        cw = self.emu.client("cloudwatch", account="vault")
        per_db = [m for m in cw.list_metrics(Namespace=NS, MetricName="NewestVerifiedCopyAge")
                  ["Metrics"] if any(d["Name"] == "DBIdentifier" for d in m["Dimensions"])]
        self.assertEqual(sorted(d["Value"] for m in per_db for d in m["Dimensions"]
                                if d["Name"] == "DBIdentifier"), ["billing-prod", "orders-prod"])
        print("\n--- sample: source metrics file ---\n" + text +
              "--- sample: vault metrics file ---\n" + text_t, file=sys.stderr)

    def cw_sum(self, cw, name, dims):
        end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
        r = cw.get_metric_data(
            MetricDataQueries=[{"Id": "q", "MetricStat": {
                "Metric": {"Namespace": NS, "MetricName": name, "Dimensions": dims},
                "Period": 60, "Stat": "Sum"}}],
            StartTime=end - datetime.timedelta(hours=1), EndTime=end)
        return sum(r["MetricDataResults"][0]["Values"])

    def assert_calls_match(self, samples, acct, actions):
        for a in actions:
            made = value(samples, "offsite_backup_aws_calls_total", action=a)
            retried = value(samples, "offsite_backup_aws_retries_total", action=a)
            seen = self.emu.count("*", a, acct)
            self.assertEqual(made + retried, seen, f"{acct} {a}: file says {made} calls + "
                             f"{retried} retries, the emulator saw {seen} requests")
            self.assertGreater(made, 0, f"{acct} {a}: no calls")


class TestMetricsFailures(MetricsCase):
    def test_failure_by_aws_code_and_an_unwritable_file(self):
        """A vault import refused by AWS counts under its state and code; a
        metrics file that cannot be written is logged once and changes
        nothing else."""
        self.create_instance("orders-prod")
        e = self.make_export("orders-prod", "f1")
        self.emu.inject("rds", "CopyDBSnapshot", kind="error", code="KMSKeyNotAccessibleFault",
                        status=400, count=1, account="vault")
        self.config_target(daemon={"metrics_file": self.target_prom})
        self.start_target()
        self.send(json.dumps(self.announcement(e)))
        self.wait_until(lambda: [j for j in self.jobs() if j["state"] == "failed"], 30,
                        "the failed import", no_failed_jobs=False)
        self.wait_file(self.target_prom, lambda s: value(
            s, "offsite_backup_job_failures_total", state="announced",
            code="KMSKeyNotAccessibleFault") == 1, 20, "the failure in the metrics file",
            no_failed_jobs=False)
        _, _, t = self.read(self.target_prom)
        self.assertEqual(value(t, "offsite_backup_jobs", state="failed"), 1)
        self.stop_daemons()

        # Now into a directory that does not exist: logged once, daemon runs on.
        bad = os.path.join(self.tmp.name, "no-such-dir", "x.prom")
        self.state_db = os.path.join(self.tmp.name, "vault-state-2.db")  # no failed job
        self.config_target(daemon={"metrics_file": bad})
        self.start_target()
        self.quiet(4)
        lines = self.log_lines("writing the metrics file")
        self.assertEqual(len(lines), 1, "\n".join(lines) or self.daemon_output())
        self.assertIn("No such file or directory", lines[0])
        self.assertFalse(os.path.exists(os.path.dirname(bad)))
