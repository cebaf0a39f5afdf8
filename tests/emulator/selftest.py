#!/usr/bin/env python3
"""Self test of the offsite-backup emulator: proves every shim and control.

    python3 tests/emulator/selftest.py [-v] [NAME...]

Runs in well under a minute, always stops the server, exits non-zero on any
failure and ends with "emulator-selftest: N passed, M failed".
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import unittest.mock
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import boto3  # noqa: E402
import botocore.auth  # noqa: E402
import botocore.config  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.utils  # noqa: E402

from obemu import ACCOUNTS, Emulator, EmulatorError  # noqa: E402

SRC, VLT = ACCOUNTS["source"], ACCOUNTS["vault"]
TESTS = []
VERBOSE = False


def test(fn):
    TESTS.append(fn)
    return fn


class Fail(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(got, want, what):
    if got != want:
        raise Fail(f"{what}: got {got!r}, want {want!r}")


def client_error(fn, *args, **kwargs):
    """Call expecting a ClientError; return (code, status, response)."""
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"].get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"], e.response
    raise Fail(f"{getattr(fn, '__name__', fn)} succeeded, expected an error")


def ctl(emu, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(emu.control_url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def signed_raw(emu, account, service, body, target=None, ctype="application/x-www-form-urlencoded; charset=utf-8",
               secret=None, timeout=5.0):
    """Send a hand-signed POST; return (status, headers, body) or raise."""
    creds = emu.accounts[account]
    headers = {"Content-Type": ctype}
    if target:
        headers["X-Amz-Target"] = target
    req = botocore.awsrequest.AWSRequest(method="POST", url=emu.endpoint + "/", data=body, headers=headers)
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds["access_key_id"], secret or creds["secret_access_key"]),
        service, emu.region).add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=timeout)
    try:
        conn.request("POST", "/", body=body.encode(), headers=dict(req.headers.items()))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def make_db_snapshot(emu, account="source", db="orders-prod", snap="snap-1"):
    rds = emu.client("rds", account)
    rds.create_db_instance(DBInstanceIdentifier=db, Engine="postgres", DBInstanceClass="db.t3.micro",
                           AllocatedStorage=20, MasterUsername="admin1", MasterUserPassword="password123")
    return rds.create_db_snapshot(DBInstanceIdentifier=db, DBSnapshotIdentifier=snap)["DBSnapshot"]


def make_cluster_snapshot(emu, account="source", cluster="aurora-prod", snap="csnap-1"):
    rds = emu.client("rds", account)
    rds.create_db_cluster(DBClusterIdentifier=cluster, Engine="aurora-postgresql",
                          MasterUsername="admin1", MasterUserPassword="password123")
    return rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster,
                                          DBClusterSnapshotIdentifier=snap)["DBClusterSnapshot"]


def kms_key(emu, account):
    return emu.client("kms", account).create_key(Description="ob test")["KeyMetadata"]["Arn"]


# ---------------------------------------------------------------------------
# authentication and accounts
# ---------------------------------------------------------------------------


@test
def signatures_are_checked(emu):
    creds = emu.accounts["source"]
    for service, call in (("sts", lambda c: c.get_caller_identity()),
                          ("rds", lambda c: c.describe_db_snapshots()),
                          ("sqs", lambda c: c.list_queues()),
                          ("sns", lambda c: c.list_topics())):
        bad = boto3.client(service, endpoint_url=emu.endpoint, region_name=emu.region,
                           aws_access_key_id=creds["access_key_id"], aws_secret_access_key="wrong-secret",
                           config=emu.no_retry_config())
        code, status, _ = client_error(call, bad)
        eq((code, status), ("SignatureDoesNotMatch", 403), f"{service} with a wrong secret")
        unknown = boto3.client(service, endpoint_url=emu.endpoint, region_name=emu.region,
                               aws_access_key_id="AKIAOBEMUUNKNOWN0000", aws_secret_access_key="x",
                               config=emu.no_retry_config())
        code, _, _ = client_error(call, unknown)
        eq(code, "InvalidClientTokenId", f"{service} with an unknown key")
    # the raw shape of a Query auth error is AWS's, not moto's nested <Errors>
    status, _, body = signed_raw(emu, "source", "rds", "Action=DescribeDBSnapshots&Version=2014-10-31", secret="nope")
    eq(status, 403, "raw status")
    check(b"<ErrorResponse" in body and b"<Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>" in body
          and b"<RequestId>" in body and b"<Errors>" not in body, f"query auth error shape: {body[:200]!r}")


@test
def signature_over_raw_body(emu):
    # '%20' for a space and an unescaped ':' are valid form encodings that AWS
    # accepts; moto alone would re-encode the body and refuse the signature.
    body = ("Action=CreateTopic&Version=2010-03-31&Name=ob-raw&Tags.member.1.Key=note"
            "&Tags.member.1.Value=a%20b:c")
    status, _, resp = signed_raw(emu, "vault", "sns", body)
    eq(status, 200, f"CreateTopic with a non-canonical body: {resp[:300]!r}")
    check(b"arn:aws:sns:eu-central-1:222222222222:ob-raw" in resp, "topic created in the vault")


@test
def request_date_is_checked(emu):
    # AWS refuses X-Amz-Date more than 15 minutes off; moto alone never checks it
    def call_at(offset):
        when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
        with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            return signed_raw(emu, "source", "sts", "Action=GetCallerIdentity&Version=2011-06-15")
    eq(call_at(-600)[0], 200, "10 minutes old")
    status, _, body = call_at(-1200)
    check(status == 403 and b"<Code>SignatureDoesNotMatch</Code><Message>Signature expired" in body, body[:200])
    status, _, body = call_at(1200)
    check(status == 403 and b"Signature not yet current" in body, body[:200])


@test
def accounts_map_by_access_key(emu):
    for name, account_id in ACCOUNTS.items():
        ident = emu.client("sts", name).get_caller_identity()
        eq(ident["Account"], account_id, f"{name} account")
        eq(ident["Arn"], f"arn:aws:iam::{account_id}:user/offsite-backup-admin", f"{name} arn")
        eq(emu.accounts[name]["account_id"], account_id, "accounts[] id")
    emu.client("sqs", "vault").create_queue(QueueName="only-in-vault")
    eq(len(emu.client("sqs", "vault").list_queues().get("QueueUrls", [])), 1, "vault queues")
    eq(len(emu.client("sqs", "source").list_queues().get("QueueUrls", [])), 0, "source queues")


# ---------------------------------------------------------------------------
# fault injection and counters
# ---------------------------------------------------------------------------


@test
def fault_throttle_query_and_json(emu):
    emu.inject("rds", "DescribeDBSnapshots", kind="throttle", count=2)
    status, headers, body = signed_raw(emu, "source", "rds", "Action=DescribeDBSnapshots&Version=2014-10-31")
    eq(status, 400, "throttle status")
    check(body.startswith(b'<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type>'
                          b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>"), body[:200])
    check(headers.get("x-amzn-requestid"), "request id header")
    rds = emu.client("rds", config=emu.no_retry_config())
    eq(client_error(rds.describe_db_snapshots)[:2], ("Throttling", 400), "second call throttled")
    rds.describe_db_snapshots()  # third succeeds: count exhausted
    # SQS speaks JSON 1.0 with query-compatible error codes
    emu.inject("sqs", "ListQueues", kind="throttle")
    status, headers, body = signed_raw(emu, "source", "sqs", "{}", target="AmazonSQS.ListQueues",
                                       ctype="application/x-amz-json-1.0")
    eq(status, 400, "sqs throttle status")
    eq(json.loads(body)["__type"], "com.amazonaws.sqs#RequestThrottled", "sqs __type")
    eq(headers.get("x-amzn-query-error"), "RequestThrottled;Sender", "x-amzn-query-error")
    # botocore's standard retry mode must see it as throttling and retry
    emu.inject("sqs", "ListQueues", kind="throttle", count=1)
    emu.client("sqs", config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 3})).list_queues()


@test
def fault_5xx_and_custom(emu):
    rds = emu.client("rds", config=emu.no_retry_config())
    emu.inject("rds", "DescribeDBSnapshots", kind="error500")
    eq(client_error(rds.describe_db_snapshots)[:2], ("InternalFailure", 500), "error500")
    emu.inject("rds", "DescribeDBSnapshots", kind="error503")
    eq(client_error(rds.describe_db_snapshots)[:2], ("ServiceUnavailable", 503), "error503")
    snap = make_db_snapshot(emu)
    emu.inject("rds", "CopyDBSnapshot", kind="error", code="SnapshotQuotaExceeded", status=400,
               message="The request cannot be processed because it would exceed the maximum number of snapshots.")
    code, status, resp = client_error(rds.copy_db_snapshot, SourceDBSnapshotIdentifier=snap["DBSnapshotIdentifier"],
                                      TargetDBSnapshotIdentifier="ob-copy")
    eq((code, status), ("SnapshotQuotaExceeded", 400), "custom error")
    eq(client_error(rds.describe_db_snapshots, DBSnapshotIdentifier="ob-copy")[0], "DBSnapshotNotFound",
       "faulted-before copy was not executed")
    # when=after: the call is executed, then the response is replaced
    emu.inject("rds", "CopyDBSnapshot", kind="error500", when="after")
    client_error(rds.copy_db_snapshot, SourceDBSnapshotIdentifier=snap["DBSnapshotIdentifier"],
                 TargetDBSnapshotIdentifier="ob-copy")
    eq(client_error(rds.copy_db_snapshot, SourceDBSnapshotIdentifier=snap["DBSnapshotIdentifier"],
                    TargetDBSnapshotIdentifier="ob-copy")[0], "DBSnapshotAlreadyExists", "retry after a lost response")
    # custom error on a JSON service
    emu.inject("sqs", "ReceiveMessage", kind="error", code="KmsThrottled", status=400, message="kms")
    status, headers, body = signed_raw(emu, "source", "sqs", '{"QueueUrl": "x"}', target="AmazonSQS.ReceiveMessage",
                                       ctype="application/x-amz-json-1.0")
    eq((status, json.loads(body)["__type"]), (400, "com.amazonaws.sqs#KmsThrottled"), "custom json error")


@test
def fault_drop_stall_truncate(emu):
    # drop: the connection closes without any response
    emu.inject("sts", "GetCallerIdentity", kind="drop")
    try:
        signed_raw(emu, "source", "sts", "Action=GetCallerIdentity&Version=2011-06-15")
        raise Fail("dropped request got a response")
    except (http.client.RemoteDisconnected, ConnectionError):
        pass
    sts = emu.client("sts", config=emu.no_retry_config())
    emu.inject("sts", "GetCallerIdentity", kind="drop")
    try:
        sts.get_caller_identity()
        raise Fail("botocore got a response to a dropped request")
    except botocore.exceptions.ConnectionClosedError:
        pass
    # stall: longer than the client's read timeout, later calls are fine
    emu.inject("sts", "GetCallerIdentity", kind="stall", seconds=1.5)
    quick = emu.client("sts", config=emu.no_retry_config(read_timeout=0.5))
    t0 = time.monotonic()
    try:
        quick.get_caller_identity()
        raise Fail("stalled request answered in time")
    except botocore.exceptions.ReadTimeoutError:
        pass
    check(time.monotonic() - t0 < 1.4, "read timeout fired before the stall ended")
    eq(quick.get_caller_identity()["Account"], SRC, "after stall")
    # truncate: full Content-Length announced, half the body sent, then close
    emu.inject("sts", "GetCallerIdentity", kind="truncate")
    try:
        signed_raw(emu, "source", "sts", "Action=GetCallerIdentity&Version=2011-06-15")
        raise Fail("truncated body read completely")
    except http.client.IncompleteRead as e:
        check(0 < len(e.partial), "some bytes arrived")
    emu.inject("sts", "GetCallerIdentity", kind="truncate", bytes=10)
    try:
        sts.get_caller_identity()
        raise Fail("botocore parsed a truncated body")
    except (botocore.exceptions.ResponseStreamingError, botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.HTTPClientError):
        pass


@test
def fault_matching_rules(emu):
    sqs_src = emu.client("sqs", "source", config=emu.no_retry_config())
    sqs_vlt = emu.client("sqs", "vault", config=emu.no_retry_config())
    # account filter
    emu.inject("sqs", "ListQueues", kind="throttle", account="vault", count=None)
    sqs_src.list_queues()
    eq(client_error(sqs_vlt.list_queues)[0], "RequestThrottled", "vault-only rule")
    emu.clear_faults()
    # skip
    emu.inject("sqs", "ListQueues", kind="error500", skip=2)
    sqs_src.list_queues(), sqs_src.list_queues()
    eq(client_error(sqs_src.list_queues)[0], "InternalFailure", "third call faulted")
    sqs_src.list_queues()
    # seeded probability: the same seed gives the same pattern
    patterns = []
    for _ in range(2):
        emu.clear_faults()
        emu.inject("sqs", "ListQueues", kind="throttle", probability=0.5, seed=42)
        pattern = ""
        for _ in range(16):
            try:
                sqs_src.list_queues()
                pattern += "."
            except botocore.exceptions.ClientError:
                pattern += "T"
        patterns.append(pattern)
    eq(patterns[0], patterns[1], "seeded pattern")
    check("T" in patterns[0] and "." in patterns[0], f"probability 0.5 pattern {patterns[0]}")
    emu.clear_faults()
    # HTTP control API for faults
    status, res = ctl(emu, "POST", "/faults", {"service": "sqs", "action": "ListQueues", "kind": "error503", "count": 1})
    eq(status, 200, "POST /faults")
    rid = res["ids"][0]
    eq([r["id"] for r in ctl(emu, "GET", "/faults")[1]["rules"]], [rid], "GET /faults")
    eq(client_error(sqs_src.list_queues)[0], "ServiceUnavailable", "rule added over HTTP")
    eq(ctl(emu, "GET", "/faults")[1]["rules"][0]["fired"], 1, "fired count")
    eq(ctl(emu, "DELETE", f"/faults/{rid}")[0], 200, "DELETE /faults/id")
    eq(ctl(emu, "POST", "/faults", {"kind": "nonsense"})[0], 400, "bad rule refused")
    try:
        emu.inject("sqs", kind="error")  # custom error without code/status
        raise Fail("bad rule accepted")
    except EmulatorError:
        pass


@test
def fault_agent_filter(emu):
    """agent: only requests whose User-Agent contains it are faulted (the
    reliability campaigns fault the daemons, never their own boto3 audit)."""
    sqs = emu.client("sqs", "source", config=emu.no_retry_config())
    rid = emu.inject("sqs", "ListQueues", kind="error500", agent="Offsite-Backup/", count=None)
    sqs.list_queues()
    sqs.list_queues()
    creds = emu.accounts["source"]
    body = "Action=ListQueues&Version=2012-11-05"
    req = botocore.awsrequest.AWSRequest(method="POST", url=emu.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "User-Agent": "offsite-backup/0.2.0"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(creds["access_key_id"], creds["secret_access_key"]),
                            "sqs", emu.region).add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        conn.request("POST", "/", body=body.encode(), headers=dict(req.headers.items()))
        resp = conn.getresponse()
        resp.read()
        eq(resp.status, 500, "daemon-like User-Agent faulted")
    finally:
        conn.close()
    rule = [r for r in emu.fault_rules() if r["id"] == rid][0]
    eq((rule["matched"], rule["fired"], rule["agent"]), (1, 1, "offsite-backup/"), "only the matching agent counted")
    eq(ctl(emu, "POST", "/faults", {"service": "sqs", "agent": "x", "kind": "throttle"})[0], 200, "agent over HTTP")
    emu.clear_faults()


@test
def counters(emu):
    emu.reset_counts()
    rds_s, rds_v = emu.client("rds", "source"), emu.client("rds", "vault", config=emu.no_retry_config())
    for _ in range(3):
        rds_s.describe_db_snapshots()
    emu.inject("rds", "DescribeDBSnapshots", kind="throttle", account="vault")
    client_error(rds_v.describe_db_snapshots)
    rds_v.describe_db_snapshots()
    eq(emu.count("rds", "DescribeDBSnapshots", "source"), 3, "source count")
    eq(emu.count("rds", "DescribeDBSnapshots", "vault"), 2, "vault count (faulted included)")
    rows = emu.counts("rds", account="vault")
    eq([(r["action"], r["count"], r["faulted"]) for r in rows], [("DescribeDBSnapshots", 2, 1)], "vault rows")
    status, res = ctl(emu, "GET", "/counts?service=rds&action=DescribeDBSnapshots")
    eq((status, res["total"]), (200, 5), "GET /counts")
    eq(ctl(emu, "GET", f"/counts?account={SRC}")[1]["total"], 3, "GET /counts by account id")
    eq(ctl(emu, "POST", "/counts/reset")[0], 200, "POST /counts/reset")
    eq(emu.count(), 0, "counts after reset")


@test
def call_journal(emu):
    emu.reset_counts()
    t0 = time.time()
    snap = make_db_snapshot(emu)
    key = kms_key(emu, "source")
    rds = emu.client("rds", "source")
    rds.copy_db_snapshot(SourceDBSnapshotIdentifier=snap["DBSnapshotArn"],
                         TargetDBSnapshotIdentifier="snap-1-copy", KmsKeyId=key)
    rds_v = emu.client("rds", "vault", config=emu.no_retry_config())
    emu.inject("rds", "DescribeDBSnapshots", kind="throttle", account="vault")
    client_error(rds_v.describe_db_snapshots)
    emu.client("events", "source").put_events(Entries=[
        {"Source": "aws.rds", "DetailType": "RDS DB Snapshot Event", "Detail": "{}",
         "Resources": [snap["DBSnapshotArn"]]},
        {"Source": "aws.rds", "DetailType": "RDS DB Snapshot Event", "Detail": "{}"}])
    t1 = time.time()
    rows = emu.journal()
    eq(len(rows), emu.count(), "one journal entry per counted call")
    times = [r["time"] for r in rows]
    check(times == sorted(times) and t0 <= times[0] and times[-1] <= t1, f"journal times {times}")
    copies = emu.journal("rds", "CopyDBSnapshot", "source")
    eq([(c["account"], c["faulted"], c["params"]) for c in copies],
       [(SRC, False, {"SourceDBSnapshotIdentifier": snap["DBSnapshotArn"],
                      "TargetDBSnapshotIdentifier": "snap-1-copy"})], "CopyDBSnapshot entry")
    eq(emu.journal("rds", "CreateDBSnapshot")[0]["params"], {"DBSnapshotIdentifier": "snap-1"},
       "CreateDBSnapshot params")
    eq([(r["action"], r["faulted"]) for r in emu.journal(account="vault")],
       [("DescribeDBSnapshots", True)], "vault entries, faulted flag")
    eq([r["params"] for r in emu.journal("events", "PutEvents", "source")],
       [{"entries": 2, "resources": [snap["DBSnapshotArn"]]}], "PutEvents entry")
    eq(emu.journal("kms")[0]["params"], {}, "other calls: no params")
    eq(len(emu.journal(since=copies[0]["time"])), 3, "since filter")
    status, res = ctl(emu, "GET", "/journal?service=rds&action=CopyDBSnapshot&account=source")
    eq((status, res["total"], res["journal"]), (200, 1, copies), "GET /journal")
    emu.reset_counts()
    eq(emu.journal(), [], "journal after reset_counts")
    rds.describe_db_snapshots()
    eq(len(emu.journal()), 1, "journal after reset_counts, new call")
    emu.reset()
    eq(ctl(emu, "GET", "/journal")[1]["total"], 0, "journal after reset")


# ---------------------------------------------------------------------------
# RDS: copy delay, cross-account copy, shared listing
# ---------------------------------------------------------------------------


@test
def copy_delay_progress(emu):
    rds = emu.client("rds")
    snap = make_db_snapshot(emu)
    eq(ctl(emu, "POST", "/copy-delay", {"seconds": 2.0})[1], {"seconds": 2.0}, "POST /copy-delay")
    t0 = time.monotonic()
    copy = rds.copy_db_snapshot(SourceDBSnapshotIdentifier=snap["DBSnapshotIdentifier"],
                                TargetDBSnapshotIdentifier="ob-delayed")["DBSnapshot"]
    eq(copy["Status"], "creating", "copy response status")
    seen = []
    while time.monotonic() - t0 < 4.0:
        s = rds.describe_db_snapshots(DBSnapshotIdentifier="ob-delayed")["DBSnapshots"][0]
        seen.append((s["Status"], s["PercentProgress"]))
        if s["Status"] == "available":
            break
        if len(seen) == 1:
            eq(client_error(rds.modify_db_snapshot_attribute, DBSnapshotIdentifier="ob-delayed",
                            AttributeName="restore", ValuesToAdd=[VLT])[0],
               "InvalidDBSnapshotState", "sharing a creating copy")
            eq(client_error(rds.copy_db_snapshot, SourceDBSnapshotIdentifier="ob-delayed",
                            TargetDBSnapshotIdentifier="ob-copy-of-creating")[0],
               "InvalidDBSnapshotState", "copying a creating copy")
        time.sleep(0.3)
    elapsed = time.monotonic() - t0
    eq(seen[-1], ("available", 100), f"final state after {elapsed:.1f}s: {seen}")
    check(1.9 <= elapsed < 3.5, f"copy took {elapsed:.1f}s")
    creating = [p for st, p in seen if st == "creating"]
    check(len(creating) >= 3 and creating == sorted(creating) and creating[-1] > creating[0] and creating[-1] < 100,
          f"rising PercentProgress {seen}")
    eq(snap["Status"], "available", "source snapshot")
    # cluster copies too; and complete_copies() finishes them at once
    emu.set_copy_delay(60)
    csnap = make_cluster_snapshot(emu)
    c = rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=csnap["DBClusterSnapshotIdentifier"],
                                     TargetDBClusterSnapshotIdentifier="ob-cdelayed")["DBClusterSnapshot"]
    eq(c["Status"], "creating", "cluster copy status")
    eq(client_error(rds.modify_db_cluster_snapshot_attribute, DBClusterSnapshotIdentifier="ob-cdelayed",
                    AttributeName="restore", ValuesToAdd=[VLT])[0],
       "InvalidDBClusterSnapshotStateFault", "sharing a creating cluster copy")
    eq(ctl(emu, "POST", "/copies/complete")[1], {"completed": 1}, "POST /copies/complete")
    c = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="ob-cdelayed")["DBClusterSnapshots"][0]
    eq((c["Status"], c["PercentProgress"]), ("available", 100), "completed cluster copy")
    emu.set_copy_delay(0)


@test
def cross_account_copy_by_arn(emu):
    rs, rv = emu.client("rds", "source"), emu.client("rds", "vault")
    export_key, import_key = kms_key(emu, "source"), kms_key(emu, "vault")
    make_db_snapshot(emu)
    exp = rs.copy_db_snapshot(SourceDBSnapshotIdentifier="snap-1", TargetDBSnapshotIdentifier="ob-export",
                              KmsKeyId=export_key)["DBSnapshot"]
    arn = exp["DBSnapshotArn"]
    eq(arn, f"arn:aws:rds:eu-central-1:{SRC}:snapshot:ob-export", "export ARN")
    # a vault snapshot with the same name must not be what gets copied
    make_db_snapshot(emu, "vault", db="decoy-db", snap="ob-export")
    code, status, resp = client_error(rv.copy_db_snapshot, SourceDBSnapshotIdentifier=arn,
                                      TargetDBSnapshotIdentifier="vault-copy", KmsKeyId=import_key)
    eq((code, status), ("DBSnapshotNotFound", 404), "copy of an unshared snapshot")
    eq(client_error(rv.describe_db_snapshots, DBSnapshotIdentifier=arn, IncludeShared=True)[0],
       "DBSnapshotNotFound", "unshared snapshot invisible")
    rs.modify_db_snapshot_attribute(DBSnapshotIdentifier="ob-export", AttributeName="restore", ValuesToAdd=[VLT])
    imp = rv.copy_db_snapshot(SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="vault-copy",
                              KmsKeyId=import_key, Tags=[{"Key": "ob:source-snapshot", "Value": arn}])["DBSnapshot"]
    eq(imp["DBSnapshotArn"], f"arn:aws:rds:eu-central-1:{VLT}:snapshot:vault-copy", "copy lives in the vault")
    eq((imp["Engine"], imp["DBInstanceIdentifier"], imp["KmsKeyId"]), ("postgres", "orders-prod", import_key),
       "copied from the shared source, not the decoy")
    eq([s["DBSnapshotIdentifier"] for s in rs.describe_db_snapshots()["DBSnapshots"]].count("vault-copy"), 0,
       "nothing created in the source")
    # an account the snapshot is not shared with still cannot see it
    rs.modify_db_snapshot_attribute(DBSnapshotIdentifier="ob-export", AttributeName="restore",
                                    ValuesToRemove=[VLT])
    eq(client_error(rv.copy_db_snapshot, SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="vault-copy-2")[0],
       "DBSnapshotNotFound", "after unsharing")
    # Aurora
    make_cluster_snapshot(emu)
    cexp = rs.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="csnap-1",
                                       TargetDBClusterSnapshotIdentifier="ob-cexport", KmsKeyId=export_key)
    carn = cexp["DBClusterSnapshot"]["DBClusterSnapshotArn"]
    eq(client_error(rv.copy_db_cluster_snapshot, SourceDBClusterSnapshotIdentifier=carn,
                    TargetDBClusterSnapshotIdentifier="vault-ccopy")[:2],
       ("DBClusterSnapshotNotFoundFault", 404), "copy of an unshared cluster snapshot")
    rs.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="ob-cexport", AttributeName="restore",
                                            ValuesToAdd=[VLT])
    cimp = rv.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=carn,
                                       TargetDBClusterSnapshotIdentifier="vault-ccopy", KmsKeyId=import_key)
    eq(cimp["DBClusterSnapshot"]["DBClusterSnapshotArn"],
       f"arn:aws:rds:eu-central-1:{VLT}:cluster-snapshot:vault-ccopy", "cluster copy lives in the vault")


@test
def shared_snapshot_listing(emu):
    rs, rv = emu.client("rds", "source"), emu.client("rds", "vault")
    make_db_snapshot(emu, snap="shared-one")
    rs.create_db_snapshot(DBInstanceIdentifier="orders-prod", DBSnapshotIdentifier="not-shared")
    rs.modify_db_snapshot_attribute(DBSnapshotIdentifier="shared-one", AttributeName="restore", ValuesToAdd=[VLT])
    make_db_snapshot(emu, "vault", db="vault-db", snap="vault-own")
    arn = f"arn:aws:rds:eu-central-1:{SRC}:snapshot:shared-one"

    def ids(resp):  # moto also makes an automated rds:<db>-<date> snapshot per instance
        return sorted(s["DBSnapshotArn"] for s in resp["DBSnapshots"] if s["SnapshotType"] != "automated")

    own = f"arn:aws:rds:eu-central-1:{VLT}:snapshot:vault-own"
    eq(ids(rv.describe_db_snapshots()), [own], "default: own only")
    eq(ids(rv.describe_db_snapshots(IncludeShared=True)), sorted([arn, own]), "IncludeShared")
    eq(ids(rv.describe_db_snapshots(SnapshotType="shared")), [arn], "SnapshotType=shared")
    eq(ids(rv.describe_db_snapshots(SnapshotType="shared", DBSnapshotIdentifier=arn)), [arn], "shared by ARN")
    eq(ids(rv.describe_db_snapshots(IncludeShared=True, Filters=[{"Name": "db-snapshot-id", "Values": [arn]}])),
       [arn], "shared by ARN filter")
    eq(client_error(rv.describe_db_snapshots, SnapshotType="shared",
                    DBSnapshotIdentifier=f"arn:aws:rds:eu-central-1:{SRC}:snapshot:not-shared")[0],
       "DBSnapshotNotFound", "unshared by ARN")
    # batched polling: one call, several identifiers (names or ARNs)
    eq(ids(rs.describe_db_snapshots(Filters=[{"Name": "db-snapshot-id", "Values": ["shared-one", "not-shared"]}])),
       sorted([arn, f"arn:aws:rds:eu-central-1:{SRC}:snapshot:not-shared"]), "batched describe")
    eq(ids(rs.describe_db_snapshots(DBSnapshotIdentifier=arn)), [arn], "own snapshot by ARN")
    # automated snapshots ("rds:<db>-<date>") resolve by ARN too (moto cut the name at the last ':')
    auto = rs.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"][0]
    eq(auto["DBSnapshotIdentifier"].startswith("rds:orders-prod-"), True, "automated snapshot name")
    copy = rs.copy_db_snapshot(SourceDBSnapshotIdentifier=auto["DBSnapshotArn"], TargetDBSnapshotIdentifier="ob-auto")
    eq(copy["DBSnapshot"]["DBInstanceIdentifier"], "orders-prod", "copy of an automated snapshot by ARN")
    # AWS Backup snapshots (names moto's API refuses) via the helper
    bk = emu.add_backup_snapshot("source", "orders-prod", "job-1234")
    eq((bk["DBSnapshotIdentifier"], bk["SnapshotType"]), ("awsbackup:job-1234", "awsbackup"), "backup snapshot")
    eq(ids(rs.describe_db_snapshots(SnapshotType="awsbackup")), [bk["DBSnapshotArn"]], "SnapshotType=awsbackup")
    copy = rs.copy_db_snapshot(SourceDBSnapshotIdentifier=bk["DBSnapshotArn"], TargetDBSnapshotIdentifier="ob-bk")
    eq(copy["DBSnapshot"]["Status"], "available", "copy of an AWS Backup snapshot by ARN")


# ---------------------------------------------------------------------------
# SNS -> SQS across accounts, EventBridge -> SQS
# ---------------------------------------------------------------------------


def _queue(emu, account, name):
    sqs = emu.client("sqs", account)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


@test
def sns_to_sqs_cross_account(emu):
    cases = [  # (label, topic owner, queue owner, subscriber, publisher)
        ("design flow: vault topic+queue, source publishes", "vault", "vault", "vault", "source"),
        ("topic owner subscribes another account's queue", "source", "vault", "source", "source"),
        ("queue owner subscribes another account's topic", "source", "vault", "vault", "source"),
    ]
    for i, (label, topic_acct, queue_acct, sub_acct, pub_acct) in enumerate(cases):
        topic = emu.client("sns", topic_acct).create_topic(Name=f"ob-inbox-{i}")["TopicArn"]
        sqs, url, qarn = _queue(emu, queue_acct, f"ob-inbox-q-{i}")
        emu.client("sns", sub_acct).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
        emu.client("sns", pub_acct).publish(TopicArn=topic, Message=json.dumps({"case": i}))
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
        eq(len(msgs), 1, f"{label}: delivered")
        envelope = json.loads(msgs[0]["Body"])
        eq((envelope["Type"], envelope["TopicArn"], json.loads(envelope["Message"])), ("Notification", topic, {"case": i}),
           f"{label}: envelope")
    subs = emu.client("sns", "source").list_subscriptions_by_topic(
        TopicArn=f"arn:aws:sns:eu-central-1:{SRC}:ob-inbox-2")["Subscriptions"]
    eq(len(subs), 1, "topic owner lists the cross-account subscription")
    emu.client("sns", "vault").unsubscribe(SubscriptionArn=subs[0]["SubscriptionArn"])
    emu.client("sns", "source").publish(TopicArn=f"arn:aws:sns:eu-central-1:{SRC}:ob-inbox-2", Message="x")
    sqs = emu.client("sqs", "vault")
    url = sqs.get_queue_url(QueueName="ob-inbox-q-2")["QueueUrl"]
    eq(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []), [], "after unsubscribe")


@test
def eventbridge_to_sqs_same_account(emu):
    sqs, url, qarn = _queue(emu, "source", "ob-events")
    events = emu.client("events", "source")
    events.put_rule(Name="ob-rds-snapshots", EventPattern=json.dumps({"source": ["aws.rds"]}))
    events.put_targets(Rule="ob-rds-snapshots", Targets=[{"Id": "q", "Arn": qarn}])
    events.put_events(Entries=[{"Source": "aws.rds", "DetailType": "RDS DB Snapshot Event",
                                "Detail": json.dumps({"EventID": "RDS-EVENT-0042"})}])
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    eq(len(msgs), 1, "event delivered")
    eq(json.loads(msgs[0]["Body"])["detail"]["EventID"], "RDS-EVENT-0042", "event body")


# ---------------------------------------------------------------------------
# IMDSv2
# ---------------------------------------------------------------------------


def imds(emu, method, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def imds_creds(emu):
    status, token = imds(emu, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    eq(status, 200, "token")
    h = {"X-aws-ec2-metadata-token": token}
    status, role = imds(emu, "GET", "/latest/meta-data/iam/security-credentials/", h)
    eq(status, 200, "role list")
    status, doc = imds(emu, "GET", "/latest/meta-data/iam/security-credentials/" + role, h)
    eq(status, 200, "credentials")
    return json.loads(doc)


def session_client(emu, service, doc):
    return boto3.client(service, endpoint_url=emu.endpoint, region_name=emu.region,
                        aws_access_key_id=doc["AccessKeyId"], aws_secret_access_key=doc["SecretAccessKey"],
                        aws_session_token=doc["Token"], config=emu.no_retry_config())


@test
def imds_v2_flow(emu):
    emu.reset_counts()
    eq(imds(emu, "GET", "/latest/meta-data/iam/security-credentials/")[0], 401, "no token")
    eq(imds(emu, "GET", "/latest/meta-data/iam/security-credentials/",
            {"X-aws-ec2-metadata-token": "forged"})[0], 401, "bad token")
    eq(imds(emu, "PUT", "/latest/api/token")[0], 400, "token without TTL header")
    doc = imds_creds(emu)
    eq(sorted(doc), sorted(["Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"]),
       "document fields")
    eq((doc["Code"], doc["Type"]), ("Success", "AWS-HMAC"), "document code/type")
    check(doc["AccessKeyId"].startswith("ASIA") and doc["Token"], "session credentials")
    check(doc["Expiration"].endswith("Z") and len(doc["Expiration"]) == 20, doc["Expiration"])
    ident = session_client(emu, "sts", doc).get_caller_identity()
    eq(ident["Account"], SRC, "IMDS creds account")
    check(":assumed-role/offsite-backup-instance/" in ident["Arn"], ident["Arn"])
    session_client(emu, "rds", doc).describe_db_snapshots()
    # a forged session token is refused
    bad = dict(doc, Token=doc["Token"][:-4] + "AAAA")
    eq(client_error(session_client(emu, "sts", bad).get_caller_identity)[0], "InvalidClientTokenId", "forged token")
    # botocore's own IMDS provider works against it
    fetcher = botocore.utils.InstanceMetadataFetcher(timeout=2, num_attempts=1,
                                                     env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": emu.imds_url + "/"},
                                                     config={"ec2_metadata_service_endpoint": emu.imds_url + "/"})
    fetched = fetcher.retrieve_iam_role_credentials()
    eq(fetched.get("role_name"), "offsite-backup-instance", "botocore IMDS fetcher")
    # switch account over the control API
    status, state = ctl(emu, "POST", "/imds", {"account": "vault"})
    eq((status, state["account_id"]), (200, VLT), "POST /imds")
    doc_v = imds_creds(emu)
    eq(session_client(emu, "sts", doc_v).get_caller_identity()["Account"], VLT, "vault IMDS creds")
    # short expiration: new credentials once half the TTL is left; old ones expire
    emu.set_imds(account="source", ttl=2)
    short = imds_creds(emu)
    eq(session_client(emu, "sts", short).get_caller_identity()["Account"], SRC, "short creds work")
    time.sleep(2.2)
    code, status, _ = client_error(session_client(emu, "sts", short).get_caller_identity)
    eq((code, status), ("ExpiredToken", 403), "expired IMDS creds refused")
    fresh = imds_creds(emu)
    check(fresh["AccessKeyId"] != short["AccessKeyId"], "refreshed credentials")
    session_client(emu, "sts", fresh).get_caller_identity()
    emu.set_imds(ttl=None)
    # hits are counted, and IMDS can be faulted like any service
    emu.inject("imds", "credentials", kind="error500")
    status, token = imds(emu, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    eq(imds(emu, "GET", "/latest/meta-data/iam/security-credentials/offsite-backup-instance",
            {"X-aws-ec2-metadata-token": token})[0], 500, "faulted IMDS")
    check(emu.count("imds", "token") >= 5 and emu.count("imds", "credentials") >= 5, str(emu.counts("imds")))
    eq(imds(emu, "GET", "/latest/dynamic/instance-identity/document", {"X-aws-ec2-metadata-token": token})[0], 200,
       "identity document")


# ---------------------------------------------------------------------------
# control API odds and ends, launcher
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# alerts: DescribeAccountAttributes (manual snapshot quotas), SNS attributes
# ---------------------------------------------------------------------------


def _quotas(emu, account):
    got = emu.client("rds", account).describe_account_attributes()["AccountQuotas"]
    return {q["AccountQuotaName"]: (q["Used"], q["Max"]) for q in got}


@test
def rds_account_quotas(emu):
    eq(_quotas(emu, "source"), {"ManualSnapshots": (0, 100), "ManualClusterSnapshots": (0, 100)}, "empty")
    make_db_snapshot(emu, snap="m-1")
    emu.client("rds", "source").create_db_snapshot(DBInstanceIdentifier="orders-prod", DBSnapshotIdentifier="m-2")
    make_cluster_snapshot(emu)
    emu.add_backup_snapshot("source", "orders-prod", "job-1")  # type awsbackup: not manual
    eq(_quotas(emu, "source"), {"ManualSnapshots": (2, 100), "ManualClusterSnapshots": (1, 100)}, "counted")
    eq(_quotas(emu, "vault"), {"ManualSnapshots": (0, 100), "ManualClusterSnapshots": (0, 100)},
       "the caller's account only")
    eq(emu.set_rds_quota_max(max=10), {"ManualSnapshots": 10, "ManualClusterSnapshots": 10}, "set both")
    eq(ctl(emu, "POST", "/rds-quotas", {"ManualClusterSnapshots": 3})[1],
       {"ManualSnapshots": 10, "ManualClusterSnapshots": 3}, "POST /rds-quotas")
    eq(_quotas(emu, "source"), {"ManualSnapshots": (2, 10), "ManualClusterSnapshots": (1, 3)}, "Max as set")
    emu.client("rds", "source").delete_db_snapshot(DBSnapshotIdentifier="m-1")
    eq(_quotas(emu, "source")["ManualSnapshots"], (1, 10), "after a deletion")
    eq(ctl(emu, "POST", "/rds-quotas", {"Bogus": 1})[0], 400, "unknown quota refused")
    eq(ctl(emu, "POST", "/rds-quotas", {"ManualSnapshots": -1})[0], 400, "negative Max refused")
    eq(ctl(emu, "GET", "/rds-quotas")[1], {"ManualSnapshots": 10, "ManualClusterSnapshots": 3}, "GET")
    emu.reset()
    eq(_quotas(emu, "source")["ManualSnapshots"], (0, 100), "reset restores the default")


@test
def sns_message_attributes_reach_sqs(emu):
    topic = emu.client("sns", "source").create_topic(Name="ob-alerts")["TopicArn"]
    sqs, url, qarn = _queue(emu, "source", "ob-alerts-q")
    emu.client("sns", "source").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    emu.client("sns", "source").publish(TopicArn=topic, Message="hello", Subject="s",
                                        MessageAttributes={"alert_kind": {"DataType": "String",
                                                                          "StringValue": "queue"}})
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
    eq(len(msgs), 1, "delivered")
    env = json.loads(msgs[0]["Body"])
    eq((env["Subject"], env["Message"], env["MessageAttributes"]["alert_kind"]["Value"]),
       ("s", "hello", "queue"), "subject, message and attribute in the envelope")


@test
def export_tasks(emu):
    """S3 export section: STARTING -> IN_PROGRESS -> COMPLETE over the export
    delay in AWS's capitals, planned failures, filters and paging."""
    rds = emu.client("rds")
    snap = make_db_snapshot(emu)
    other = rds.create_db_snapshot(DBInstanceIdentifier="orders-prod", DBSnapshotIdentifier="snap-2")["DBSnapshot"]
    eq(ctl(emu, "POST", "/export-delay", {"seconds": 2.0})[1], {"seconds": 2.0}, "POST /export-delay")
    eq(ctl(emu, "POST", "/export-failures", {"glob": "ob-export-bad*", "cause": "S3 says no"})[0], 200,
       "POST /export-failures")
    eq(ctl(emu, "POST", "/export-failures", {"cause": "x"})[0], 400, "a failure needs a glob")
    args = dict(S3BucketName="escrow", IamRoleArn=f"arn:aws:iam::{SRC}:role/export", KmsKeyId="k", S3Prefix="p")
    t0 = time.monotonic()
    eq(rds.start_export_task(ExportTaskIdentifier="ob-export-good", SourceArn=snap["DBSnapshotArn"],
                             **args)["Status"], "STARTING", "start answer")
    rds.start_export_task(ExportTaskIdentifier="ob-export-bad-1", SourceArn=other["DBSnapshotArn"], **args)
    eq(client_error(rds.start_export_task, ExportTaskIdentifier="ob-export-good",
                    SourceArn=snap["DBSnapshotArn"], **args)[0], "ExportTaskAlreadyExists", "same name again")
    seen = []
    while time.monotonic() - t0 < 4.0:
        got = rds.describe_export_tasks(Filters=[{"Name": "export-task-identifier",
                                                  "Values": ["ob-export-good"]}])["ExportTasks"]
        eq([t["ExportTaskIdentifier"] for t in got], ["ob-export-good"], "filter by identifier")
        seen.append((got[0]["Status"], got[0].get("PercentProgress", 0)))
        if got[0]["Status"] == "COMPLETE":
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - t0
    eq(seen[-1], ("COMPLETE", 100), f"final state after {elapsed:.1f}s: {seen}")
    check(1.9 <= elapsed < 3.5, f"export took {elapsed:.1f}s")
    check(seen[0][0] == "STARTING" and any(st == "IN_PROGRESS" for st, _ in seen), f"statuses {seen}")
    running = [p for st, p in seen if st == "IN_PROGRESS"]
    check(running == sorted(running) and 0 < running[0] < 100, f"rising PercentProgress {seen}")
    bad = rds.describe_export_tasks(Filters=[{"Name": "source-arn", "Values": [other["DBSnapshotArn"]]}])
    eq([(t["ExportTaskIdentifier"], t["Status"], t.get("FailureCause")) for t in bad["ExportTasks"]],
       [("ob-export-bad-1", "FAILED", "S3 says no")], "planned failure, filter by source ARN")
    # paging: 25 more tasks, 20 a page
    emu.set_export_delay(0)
    for i in range(25):
        rds.start_export_task(ExportTaskIdentifier=f"ob-export-p{i}", SourceArn=snap["DBSnapshotArn"], **args)
    p1 = rds.describe_export_tasks(MaxRecords=20)
    p2 = rds.describe_export_tasks(MaxRecords=20, Marker=p1["Marker"])
    eq((len(p1["ExportTasks"]), len(p2["ExportTasks"]), p2.get("Marker")), (20, 7, None), "pages")
    eq(client_error(rds.describe_export_tasks, Filters=[{"Name": "nope", "Values": ["x"]}])[0],
       "InvalidParameterValue", "unknown filter")
    eq(ctl(emu, "GET", "/info")[1]["export_delay"], 0.0, "info shows the export delay")


@test
def reset_keeps_accounts(emu):
    emu.client("sqs", "source").create_queue(QueueName="gone-after-reset")
    keys = json.dumps(emu.accounts, sort_keys=True)
    eq(ctl(emu, "POST", "/reset")[0], 200, "POST /reset")
    eq(json.dumps(emu.accounts, sort_keys=True), keys, "same keys after reset")
    eq(emu.client("sqs", "source").list_queues().get("QueueUrls", []), [], "state emptied")
    eq(emu.client("sts", "vault").get_caller_identity()["Account"], VLT, "vault keys still work")
    eq(ctl(emu, "GET", "/info")[1]["endpoint"], emu.endpoint, "GET /info")
    eq(ctl(emu, "GET", "/nope")[0], 404, "unknown control endpoint")


@test
def launcher(emu):
    with tempfile.TemporaryDirectory() as tmp:
        info_path = os.path.join(tmp, "emu.json")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "launch.py"), "--info", info_path,
                                 "--copy-delay", "7"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().strip()
            eq(line, "ready", "launcher prints ready")
            info = json.load(open(info_path))
            eq(os.stat(info_path).st_mode & 0o777, 0o600, "info file mode")
            for key in ("endpoint", "port", "imds_url", "control_url", "accounts", "region"):
                check(key in info, f"info has {key}")
            check(info["endpoint"].startswith("http://127.0.0.1:") and info["port"] != emu.port, info["endpoint"])
            eq(info["copy_delay"], 7.0, "copy delay option")
            sts = boto3.client("sts", endpoint_url=info["endpoint"], region_name=info["region"],
                               aws_access_key_id=info["accounts"]["vault"]["access_key_id"],
                               aws_secret_access_key=info["accounts"]["vault"]["secret_access_key"])
            eq(sts.get_caller_identity()["Account"], VLT, "launched emulator serves")
            with urllib.request.urlopen(info["control_url"] + "/health", timeout=5) as r:
                eq(json.loads(r.read()), {"ok": True}, "health")
            proc.send_signal(signal.SIGTERM)
            eq(proc.wait(timeout=10), 0, "clean exit on SIGTERM")
            try:
                socket.create_connection(("127.0.0.1", info["port"]), timeout=1).close()
                raise Fail("port still open after SIGTERM")
            except OSError:
                pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------------------


def main(argv):
    global VERBOSE
    VERBOSE = "-v" in argv
    wanted = [a for a in argv if not a.startswith("-")]
    tests = [t for t in TESTS if not wanted or t.__name__ in wanted]
    passed = failed = 0
    t0 = time.monotonic()
    emu = Emulator(copy_delay=0)
    try:
        emu.start()
        # a second emulator in the same process is refused (moto state is global)
        try:
            Emulator().start()
            raise Fail("second Emulator started")
        except EmulatorError:
            pass
        for fn in tests:
            emu.reset()
            emu.set_copy_delay(0)
            emu.set_export_delay(0)
            emu.set_imds(account="source", ttl=None, enforce_expiry=True)
            t = time.monotonic()
            try:
                fn(emu)
                passed += 1
                print(f"ok   {fn.__name__} ({time.monotonic() - t:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report and go on
                failed += 1
                print(f"FAIL {fn.__name__}: {e}", flush=True)
                if VERBOSE or not isinstance(e, Fail):
                    traceback.print_exc()
    finally:
        emu.stop()
    print(f"emulator-selftest: {passed} passed, {failed} failed ({time.monotonic() - t0:.1f}s)", flush=True)
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
