#!/usr/bin/env python3
"""Integration tests: the real C binaries against the moto emulator.

The emulator (tests/emulator/obemu.py) runs in this process on 127.0.0.1 with
IAM authentication on, so every request the C client sends has its SigV4
signature checked. Outcomes are checked through the emulator's own view
(boto3 calls, its call counters), never through the binaries' report of
themselves alone.

The source role's end-to-end tests are in test_source.py, the vault role's in
test_vault.py (both loaded below).

usage: run.py --build DIR [-k NAME]... [--valgrind [--valgrind-logs DIR]]
Prints one line per test and a final "integration: N passed, M failed".

--valgrind runs every binary the tests start (offsite-backupd,
offsite-backupctl, ob-probe) under valgrind memcheck: BUILD then names a
directory of wrapper scripts of the same names that exec valgrind on the
real binary (same pid, so signals and sd_notify reach it unchanged); the
real build directory stays in REAL_BUILD. Timeouts are stretched by
TIME_SCALE (env OB_TEST_TIME_SCALE; 10 under valgrind): the tests' wait
helpers multiply by it, and every subprocess wait()/communicate() timeout is
scaled here (no test needs skipping: all pass under valgrind). After the
run every valgrind log is read (tests/memory/vglog.py): any error or leak
fails the run.
"""
import argparse
import atexit
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "emulator"))

from obemu import Emulator  # noqa: E402

BUILD = "build"        # where the tests find the binaries (wrappers under --valgrind)
REAL_BUILD = "build"   # the real build directory
EMU = None
VALGRIND = None        # the valgrind log directory under --valgrind, else None
TIME_SCALE = float(os.environ.get("OB_TEST_TIME_SCALE", "1") or "1")
BINARIES = ("offsite-backupd", "offsite-backupctl", "ob-probe")
VALGRIND_SUPP = os.path.join(HERE, "..", "memory", "valgrind.supp")
VALGRIND_EXIT = 97     # --error-exitcode: a memcheck error turns the exit code into this


def scaled(seconds):
    """A timeout stretched by TIME_SCALE (slow binaries under valgrind)."""
    return seconds * TIME_SCALE


class _ScaledPopen(subprocess.Popen):
    """subprocess.Popen whose wait()/communicate() timeouts are scaled by
    TIME_SCALE; installed as subprocess.Popen (so subprocess.run uses it
    too) only when TIME_SCALE != 1."""

    def wait(self, timeout=None):
        return super().wait(None if timeout is None else scaled(timeout))

    def communicate(self, input=None, timeout=None):  # noqa: A002 - stdlib name
        return super().communicate(input, None if timeout is None else scaled(timeout))


def install_valgrind(real_build, log_dir):
    """Write wrapper scripts for BINARIES into log_dir/bin; return that dir."""
    bindir = os.path.join(log_dir, "bin")
    os.makedirs(bindir, exist_ok=True)
    opts = ["--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            f"--error-exitcode={VALGRIND_EXIT}", "--track-fds=no",
            "--num-callers=40", f"--log-file={log_dir}/vg.%p.log"]
    if os.path.exists(VALGRIND_SUPP):
        opts.append(f"--suppressions={os.path.abspath(VALGRIND_SUPP)}")
    for name in BINARIES:
        real = os.path.join(real_build, name)
        path = os.path.join(bindir, name)
        with open(path, "w") as f:
            # exec: valgrind and then the client run in this very pid, so
            # SIGTERM/SIGHUP/SIGKILL and the sd_notify sender pid are the
            # daemon's own.
            f.write("#!/bin/sh\nexec valgrind " + " ".join(f"'{o}'" for o in opts)
                    + f" '{real}' \"$@\"\n")
        os.chmod(path, 0o755)
    return bindir


REGION = "eu-central-1"


_STATE_DIR = None


def default_state_db():
    """The state database of configurations that name none: in a directory
    of this process's own (removed at exit), so that runs side by side, or
    a database left by an older build, cannot meet."""
    global _STATE_DIR
    if _STATE_DIR is None:
        _STATE_DIR = tempfile.mkdtemp(prefix="ob-it-state-")
        atexit.register(shutil.rmtree, _STATE_DIR, True)
    return os.path.join(_STATE_DIR, "offsite-backup-test.db")


def config_text(emu, credentials="static", account="source", secret=None,
                role="source", extra_aws="", queue_url=None, state_db=None,
                daemon=None, source=None):
    """A complete configuration file pointing at the emulator.

    queue_url, state_db: override the defaults; daemon: extra [daemon] keys
    (dict, e.g. {"poll_interval": "1s"}); source: [source] keys that
    override or add to the defaults (dict, "" writes an empty value)."""
    acct = emu.accounts[account]
    if queue_url is None:
        queue_url = f"{emu.endpoint}/{acct['account_id']}/offsite-backup-events"
    lines = [
        "[daemon]",
        f"role = {role}",
        f"region = {REGION}",
        f"queue_url = {queue_url}",
        f"state_db = {state_db or default_state_db()}",
    ]
    lines += [f"{k} = {v}".rstrip() for k, v in (daemon or {}).items()]
    lines += [
        "",
        "[aws]",
        f"credentials = {credentials}",
        f"endpoint_url = {emu.endpoint}",
    ]
    if credentials == "static":
        lines += [f"access_key_id = {acct['access_key_id']}",
                  f"secret_access_key = {secret or acct['secret_access_key']}"]
    if credentials == "instance":
        lines += [f"imds_url = {emu.imds_url}"]
    lines += [extra_aws, ""]
    if role == "source":
        vault = emu.accounts["vault"]["account_id"]
        keys = {
            "export_kms_key": f"arn:aws:kms:{REGION}:{acct['account_id']}:key/"
                              "11111111-2222-3333-4444-555555555555",
            "target_account": vault,
            "notify_topic_arn": f"arn:aws:sns:{REGION}:{vault}:offsite-backup-inbox",
        }
        keys.update(source or {})
        lines += ["[source]"] + [f"{k} = {v}".rstrip() for k, v in keys.items()]
    else:
        lines += [
            "[target]",
            f"import_kms_key = arn:aws:kms:{REGION}:{acct['account_id']}:key/"
            "66666666-7777-8888-9999-000000000000",
            f"allowed_source_accounts = {emu.accounts['source']['account_id']}",
        ]
    return "\n".join(lines) + "\n"


class Case(unittest.TestCase):
    """Base: a fresh temp dir, config files and helpers to run binaries."""

    def setUp(self):
        EMU.reset()
        EMU.clear_faults()
        EMU.reset_counts()
        self.tmp = tempfile.TemporaryDirectory(prefix="ob-it-")
        self.addCleanup(self.tmp.cleanup)
        self.secrets = [a["secret_access_key"] for a in EMU.accounts.values()]

    def write_config(self, text, mode=0o600, name="offsite-backup.conf"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def assert_no_secret(self, *outputs):
        imds = EMU.imds
        with imds.lock:
            if imds.creds is not None:
                self.secrets += [imds.creds["SecretAccessKey"], imds.creds["Token"]]
            self.secrets += list(imds.tokens)
        for out in outputs:
            for s in self.secrets:
                self.assertNotIn(s, out, "a secret access key leaked into output")

    def probe(self, config, *args, attempts=None, timeout=60):
        cmd = [os.path.join(BUILD, "ob-probe"), "--config", config]
        if attempts is not None:
            cmd += ["--attempts", str(attempts)]
        cmd += list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        self.assert_no_secret(p.stdout, p.stderr)
        try:
            out = json.loads(p.stdout) if p.stdout.strip() else {}
        except json.JSONDecodeError:
            self.fail(f"probe printed non-JSON: {p.stdout!r} {p.stderr!r}")
        return p.returncode, out, p.stderr


class TestSigning(Case):
    def test_signed_request_succeeds(self):
        cfg = self.write_config(config_text(EMU))
        rc, out, err = self.probe(cfg, "identity")
        self.assertEqual(rc, 0, err)
        truth = EMU.client("sts", account="source").get_caller_identity()
        self.assertEqual(out["account"], truth["Account"])
        self.assertEqual(out["arn"], truth["Arn"])
        self.assertEqual(EMU.count("sts", "GetCallerIdentity", "source"), 2)

    def test_vault_keys_map_to_vault_account(self):
        cfg = self.write_config(config_text(EMU, account="vault", role="target"))
        rc, out, err = self.probe(cfg, "identity")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["account"], EMU.accounts["vault"]["account_id"])

    def test_wrong_secret_is_refused_and_not_retried(self):
        wrong = "x" * 40
        self.secrets.append(wrong)
        cfg = self.write_config(config_text(EMU, secret=wrong))
        rc, out, err = self.probe(cfg, "identity")
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["kind"], "aws")
        self.assertEqual(out["error"]["code"], "SignatureDoesNotMatch")
        self.assertEqual(out["error"]["http_status"], 403)
        self.assertEqual(EMU.count("sts", "GetCallerIdentity"), 1)


class TestRetries(Case):
    def make_snapshot(self, name="orders-prod-2026-11-22"):
        rds = EMU.client("rds", account="source")
        rds.create_db_instance(DBInstanceIdentifier="orders-prod", Engine="postgres",
                               DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                               MasterUsername="admin", MasterUserPassword="password123")
        rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier="orders-prod")
        return rds

    def describe(self, attempts=None):
        cfg = self.write_config(config_text(EMU))
        return self.probe(cfg, "describe-snapshots", attempts=attempts)

    def assert_matches_moto(self, out, rds):
        truth = rds.describe_db_snapshots()["DBSnapshots"]
        self.assertEqual(sorted(s["id"] for s in out["snapshots"]),
                         sorted(s["DBSnapshotIdentifier"] for s in truth))
        for mine in out["snapshots"]:
            theirs = next(s for s in truth if s["DBSnapshotIdentifier"] == mine["id"])
            self.assertEqual(mine["arn"], theirs["DBSnapshotArn"])
            self.assertEqual(mine["status"], theirs["Status"])
            self.assertEqual(mine["allocated_storage"], theirs["AllocatedStorage"])

    def test_throttling_is_retried_to_success(self):
        rds = self.make_snapshot()
        EMU.reset_counts()
        EMU.inject("rds", "DescribeDBSnapshots", "throttle", count=2)
        rc, out, err = self.describe()
        self.assertEqual(rc, 0, err)
        self.assertEqual(EMU.count("rds", "DescribeDBSnapshots"), 3)
        self.assertIn("throttled=2", err)
        self.assertIn("orders-prod-2026-11-22", [s["id"] for s in out["snapshots"]])
        self.assert_matches_moto(out, rds)

    def test_5xx_is_retried_to_success(self):
        rds = self.make_snapshot()
        EMU.reset_counts()
        EMU.inject("rds", "DescribeDBSnapshots", "error503", count=1)
        EMU.inject("rds", "DescribeDBSnapshots", "error500", count=1)
        rc, out, err = self.describe()
        self.assertEqual(rc, 0, err)
        self.assertEqual(EMU.count("rds", "DescribeDBSnapshots"), 3)
        self.assert_matches_moto(out, rds)

    def test_dropped_connection_is_retried(self):
        rds = self.make_snapshot()
        EMU.reset_counts()
        EMU.inject("rds", "DescribeDBSnapshots", "drop", count=1)
        rc, out, err = self.describe()
        self.assertEqual(rc, 0, err)
        self.assertEqual(EMU.count("rds", "DescribeDBSnapshots"), 2)
        self.assert_matches_moto(out, rds)

    def test_truncated_body_is_retried(self):
        rds = self.make_snapshot()
        EMU.reset_counts()
        EMU.inject("rds", "DescribeDBSnapshots", "truncate", count=1)
        rc, out, err = self.describe()
        self.assertEqual(rc, 0, err)
        self.assertEqual(EMU.count("rds", "DescribeDBSnapshots"), 2)
        self.assert_matches_moto(out, rds)

    def test_attempts_are_bounded(self):
        self.make_snapshot()
        EMU.reset_counts()
        EMU.inject("rds", "DescribeDBSnapshots", "error503", count=10)
        rc, out, err = self.describe(attempts=3)
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["http_status"], 503)
        self.assertIn("after 3 attempts", out["error"]["message"])
        self.assertEqual(EMU.count("rds", "DescribeDBSnapshots"), 3)

    def test_validation_error_is_not_retried(self):
        EMU.inject("rds", "DescribeDBSnapshots", "error", code="InvalidParameterValue",
                   status=400, message="bad parameter", count=5)
        rc, out, err = self.describe()
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["code"], "InvalidParameterValue")
        self.assertEqual(out["error"]["http_status"], 400)
        self.assertEqual(EMU.count("rds", "DescribeDBSnapshots"), 1)

    def test_real_not_found_error_is_not_retried(self):
        cfg = self.write_config(config_text(EMU))
        rc, out, err = self.probe(cfg, "describe-snapshots", "no-such-snapshot")
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["code"], "DBSnapshotNotFound")
        self.assertEqual(EMU.count("rds", "DescribeDBSnapshots"), 1)


class TestSqs(Case):
    def test_long_poll_returns_message_sent_during_wait(self):
        sqs = EMU.client("sqs", account="source")
        url = sqs.create_queue(QueueName="offsite-backup-events")["QueueUrl"]
        cfg = self.write_config(config_text(EMU))
        body = json.dumps({"detail-type": "RDS DB Snapshot Event", "n": "ü ✓"})
        timer = threading.Timer(1.5, lambda: sqs.send_message(QueueUrl=url, MessageBody=body))
        start = time.monotonic()
        timer.start()
        try:
            rc, out, err = self.probe(cfg, "receive", url, "10", "--delete")
        finally:
            timer.cancel()
        elapsed = time.monotonic() - start
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out["messages"]), 1)
        self.assertEqual(out["messages"][0]["body"], body)
        self.assertTrue(out["messages"][0]["md5_ok"])
        self.assertGreaterEqual(elapsed, 1.4, "returned before the message was sent")
        self.assertLess(elapsed, 9.5, "did not return when the message arrived")
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["ApproximateNumberOfMessages"], "0")
        self.assertEqual(attrs["ApproximateNumberOfMessagesNotVisible"], "0",
                         "the probe's DeleteMessage did not delete the message")

    def test_change_visibility(self):
        sqs = EMU.client("sqs", account="source")
        url = sqs.create_queue(QueueName="offsite-backup-events",
                               Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="one")
        cfg = self.write_config(config_text(EMU))
        # Received and released at once: visible again right away.
        rc, out, err = self.probe(cfg, "receive", url, "0", "--visibility", "0")
        self.assertEqual(rc, 0, err)
        self.assertEqual([m["body"] for m in out["messages"]], ["one"])
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
        self.assertEqual([m["Body"] for m in again], ["one"])
        self.assertEqual(EMU.count("sqs", "ChangeMessageVisibility", "source"), 1)

    def test_empty_long_poll_times_out_empty(self):
        sqs = EMU.client("sqs", account="source")
        url = sqs.create_queue(QueueName="offsite-backup-events")["QueueUrl"]
        cfg = self.write_config(config_text(EMU))
        rc, out, err = self.probe(cfg, "receive", url, "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["messages"], [])

    def test_missing_queue_is_an_aws_error(self):
        cfg = self.write_config(config_text(EMU))
        rc, out, err = self.probe(cfg, "receive",
                                  f"{EMU.endpoint}/111111111111/no-such-queue", "0")
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["kind"], "aws")
        self.assertIn(out["error"]["code"], ("QueueDoesNotExist", "NonExistentQueue"))
        self.assertEqual(EMU.count("sqs", "ReceiveMessage"), 1)

    def test_sqs_throttling_is_retried(self):
        sqs = EMU.client("sqs", account="source")
        url = sqs.create_queue(QueueName="offsite-backup-events")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        EMU.inject("sqs", "ReceiveMessage", "throttle", count=1)
        cfg = self.write_config(config_text(EMU))
        rc, out, err = self.probe(cfg, "receive", url, "0")
        self.assertEqual(rc, 0, err)
        self.assertEqual([m["body"] for m in out["messages"]], ["hello"])
        self.assertEqual(EMU.count("sqs", "ReceiveMessage"), 2)


class TestImds(Case):
    def test_instance_credentials_come_from_imds(self):
        cfg = self.write_config(config_text(EMU, credentials="instance"))
        rc, out, err = self.probe(cfg, "identity")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["account"], EMU.accounts["source"]["account_id"])
        self.assertIn("assumed-role", out["arn"])
        self.assertGreaterEqual(EMU.count("imds"), 3)

    def test_imds_5xx_is_retried(self):
        EMU.inject("imds", "*", "error503", count=1)
        cfg = self.write_config(config_text(EMU, credentials="instance"))
        rc, out, err = self.probe(cfg, "identity")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["account"], EMU.accounts["source"]["account_id"])
        self.assertEqual(EMU.count("sts", "GetCallerIdentity"), 1)

    def test_vault_instance_credentials(self):
        EMU.set_imds(account="vault")
        try:
            cfg = self.write_config(config_text(EMU, credentials="instance",
                                                account="vault", role="target"))
            rc, out, err = self.probe(cfg, "identity")
            self.assertEqual(rc, 0, err)
            self.assertEqual(out["account"], EMU.accounts["vault"]["account_id"])
        finally:
            EMU.set_imds(account="source")


class TestDaemon(Case):
    def daemon(self, *args):
        return [os.path.join(BUILD, "offsite-backupd")] + list(args)

    def test_check_config_ok(self):
        cfg = self.write_config(config_text(EMU))
        p = subprocess.run(self.daemon("--config", cfg, "--check-config"),
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "configuration OK")

    def test_check_config_reports_file_line(self):
        text = config_text(EMU).replace("role = source", "role = sauce")
        text += "bogus_key = 1\n"
        cfg = self.write_config(text)
        p = subprocess.run(self.daemon("--config", cfg, "--check-config"),
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{cfg}:2:", p.stderr)
        self.assertIn("bogus_key", p.stderr)
        self.assert_no_secret(p.stdout, p.stderr)

    def test_static_secret_in_readable_file_is_refused(self):
        cfg = self.write_config(config_text(EMU), mode=0o644)
        p = subprocess.run(self.daemon("--config", cfg, "--check-config"),
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("group or others have access", p.stderr)
        self.assert_no_secret(p.stdout, p.stderr)

    def test_starts_verifies_identity_and_stops_on_sigterm(self):
        cfg = self.write_config(config_text(EMU))
        proc = subprocess.Popen(self.daemon("--config", cfg, "--foreground"),
                                stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stderr.readline()
            self.assertIn("account 111111111111", line)
            self.assertEqual(EMU.count("sts", "GetCallerIdentity", "source"), 1)
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=5)
            rest = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(rc, 0, rest)
        self.assert_no_secret(line, rest)

    def test_sigterm_during_a_stalled_request_stops_promptly(self):
        EMU.inject("sts", "GetCallerIdentity", "stall", seconds=20, count=1)
        cfg = self.write_config(config_text(EMU))
        proc = subprocess.Popen(self.daemon("--config", cfg, "--foreground"),
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 10
            while EMU.count("sts", "GetCallerIdentity") == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=8)
            took = time.monotonic() - start
            rest = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(rc, 0, rest)
        self.assertLess(took, 3.0, "SIGTERM waited for the stalled request")
        self.assertNotIn("role source", rest, "declared itself ready after SIGTERM")

    def test_sighup_reloads_valid_and_keeps_old_on_invalid(self):
        EMU.client("sqs").create_queue(QueueName="offsite-backup-events")
        cfg = self.write_config(config_text(EMU))
        proc = subprocess.Popen(self.daemon("--config", cfg, "--foreground"),
                                stderr=subprocess.PIPE, text=True)
        try:
            self.assertIn("account 111111111111", proc.stderr.readline())
            time.sleep(1.5)  # let it settle into a 20 s long poll
            sent = time.monotonic()
            proc.send_signal(signal.SIGHUP)
            self.assertIn(f"reload: {cfg} applied", proc.stderr.readline())
            # the long poll is cut short, not waited out
            self.assertLess(time.monotonic() - sent, 5.0)
            with open(cfg, "a") as f:
                f.write("no_such_key = 1\n")
            proc.send_signal(signal.SIGHUP)
            diag = proc.stderr.readline()
            self.assertIn("no_such_key", diag)
            self.assertIn(f"{cfg}:", diag)
            self.assertIn("keeping the running configuration", proc.stderr.readline())
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=5)
            rest = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(rc, 0, rest)

    def test_bad_credentials_exit_1_without_leaking(self):
        wrong = "y" * 40
        self.secrets.append(wrong)
        cfg = self.write_config(config_text(EMU, secret=wrong))
        p = subprocess.run(self.daemon("--config", cfg, "--foreground"),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("SignatureDoesNotMatch", p.stderr)
        self.assert_no_secret(p.stdout, p.stderr)

    def test_vault_as_target_account_of_itself_is_refused(self):
        text = config_text(EMU).replace(
            f"target_account = {EMU.accounts['vault']['account_id']}",
            f"target_account = {EMU.accounts['source']['account_id']}")
        cfg = self.write_config(text)
        p = subprocess.run(self.daemon("--config", cfg, "--foreground"),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("own account", p.stderr)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ob-test"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.peers.add(self.client_address)
        if self.path.startswith("/stall"):
            time.sleep(3)
        size = 100000 if self.path.startswith("/big") else 5
        body = b"x" * size
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LocalServer:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 that records client peers."""

    def __init__(self, tls_dir=None):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.peers = set()
        # Clients that hang up on purpose (timeouts, body caps) are expected.
        self.httpd.handle_error = lambda request, client_address: None
        scheme = "http"
        if tls_dir is not None:
            key, cert = os.path.join(tls_dir, "key.pem"), os.path.join(tls_dir, "cert.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "1",
                            "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TestTransport(Case):
    def http(self, *args):
        p = subprocess.run([os.path.join(BUILD, "ob-probe"), "http"] + list(args),
                           capture_output=True, text=True, timeout=30)
        return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}

    def server(self, tls=False):
        srv = LocalServer(self.tmp.name if tls else None)
        self.addCleanup(srv.close)
        return srv

    def test_connection_is_kept_alive(self):
        srv = self.server()
        rc, out = self.http(srv.url + "/a", "--count", "3", "--plain")
        self.assertEqual(rc, 0, out)
        self.assertEqual([r["status"] for r in out["responses"]], [200, 200, 200])
        self.assertEqual(len(srv.httpd.peers), 1, "each request opened a new connection")

    def test_plain_http_is_refused_unless_configured(self):
        srv = self.server()
        rc, out = self.http(srv.url + "/a")
        self.assertEqual(rc, 1)
        self.assertIn("plain http is refused", out["error"]["message"])
        self.assertEqual(len(srv.httpd.peers), 0)

    def test_tls_certificate_is_verified(self):
        srv = self.server(tls=True)
        rc, out = self.http(srv.url + "/a")
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["kind"], "transport")
        self.assertRegex(out["error"]["message"].lower(), "certificate|ssl")

    def test_total_timeout(self):
        srv = self.server()
        start = time.monotonic()
        rc, out = self.http(srv.url + "/stall", "--plain", "--timeout-ms", "500")
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["kind"], "transport")
        self.assertIn("timed out", out["error"]["message"].lower())
        self.assertLess(time.monotonic() - start, 2.5)

    def test_body_cap(self):
        srv = self.server()
        rc, out = self.http(srv.url + "/big", "--plain", "--max-body", "1000")
        self.assertEqual(rc, 1)
        self.assertIn("larger than 1000 bytes", out["error"]["message"])
        rc, out = self.http(srv.url + "/big", "--plain")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["responses"][0]["length"], 100000)

    def test_query_string_never_in_errors(self):
        rc, out = self.http("https://127.0.0.1:1/x?X-Amz-Signature=deadbeefsecret")
        self.assertEqual(rc, 1)
        self.assertNotIn("deadbeefsecret", json.dumps(out))


class Result(unittest.TextTestResult):
    pass


def main():
    global BUILD, REAL_BUILD, EMU, VALGRIND, TIME_SCALE
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="run only tests whose id contains NAME (repeatable: any)")
    ap.add_argument("--valgrind", action="store_true",
                    help="run every binary under valgrind memcheck")
    ap.add_argument("--valgrind-logs", default=None,
                    help="directory for the vg.<pid>.log files (default: a temp dir)")
    args = ap.parse_args()
    BUILD = REAL_BUILD = os.path.abspath(args.build)
    if args.valgrind:
        VALGRIND = os.path.abspath(args.valgrind_logs or tempfile.mkdtemp(prefix="ob-vg-"))
        os.makedirs(VALGRIND, exist_ok=True)
        for old in os.listdir(VALGRIND):
            if old.startswith("vg.") and old.endswith(".log"):
                os.unlink(os.path.join(VALGRIND, old))
        BUILD = install_valgrind(REAL_BUILD, VALGRIND)
        if "OB_TEST_TIME_SCALE" not in os.environ:
            TIME_SCALE = 10.0
        print(f"valgrind: logs in {VALGRIND}, time scale {TIME_SCALE:g}", flush=True)
    if TIME_SCALE != 1:
        subprocess.Popen = _ScaledPopen
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [f"*{p}*" for p in args.patterns]
    suite = loader.loadTestsFromModule(sys.modules[__name__])
    # The source role's tests live in test_source.py; it imports this module
    # as "run" and must see this very module (EMU, BUILD), not a second copy.
    sys.modules.setdefault("run", sys.modules[__name__])
    import test_source  # noqa: E402
    suite.addTests(loader.loadTestsFromModule(test_source))
    import test_vault  # noqa: E402  (the vault role's tests, loaded the same way)
    suite.addTests(loader.loadTestsFromModule(test_vault))
    import test_notify  # noqa: E402  (the systemd notify protocol)
    suite.addTests(loader.loadTestsFromModule(test_notify))
    import test_ctl  # noqa: E402  (offsite-backupctl on a live database)
    suite.addTests(loader.loadTestsFromModule(test_ctl))
    import test_metrics  # noqa: E402  (the metrics file and CloudWatch)
    suite.addTests(loader.loadTestsFromModule(test_metrics))
    import test_alerts  # noqa: E402  (alerts through SNS)
    suite.addTests(loader.loadTestsFromModule(test_alerts))
    import test_export  # noqa: E402  (the source's S3 export)
    suite.addTests(loader.loadTestsFromModule(test_export))
    with Emulator(copy_delay=0) as emu:
        EMU = emu
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout,
                                         resultclass=Result).run(suite)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"integration: {passed} passed, {failed} failed")
    vg_bad = False
    if VALGRIND is not None:
        sys.path.insert(0, os.path.join(HERE, "..", "memory"))
        import vglog  # noqa: E402
        vg_bad = vglog.report(VALGRIND) != 0
    return 0 if failed == 0 and result.testsRun > 0 and not vg_bad else 1


if __name__ == "__main__":
    sys.exit(main())
