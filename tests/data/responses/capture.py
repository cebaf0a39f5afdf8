#!/usr/bin/env python3
"""Capture raw AWS response bodies from moto for the unit-test corpus.

Runs the project's emulator (tests/emulator/obemu.py: moto in-process, IAM
auth on, account "source" = 111111111111) and drives it with boto3; a
botocore after-call hook keeps each response's raw body bytes, which are
written unchanged. Errors that need a limit to be hit (SnapshotQuotaExceeded)
are provoked through moto's own knobs (MOTO_RDS_SNAPSHOT_LIMIT).

    python3 tests/data/responses/capture.py [OUTDIR]   # default: this directory

Only the files listed in tests/data/responses/README under "capture.py" are
written; the older captures are left alone. Identifiers, ARNs, request ids
and timestamps differ from run to run, so the tests that read these files
must be updated after a re-capture.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "emulator"))

from botocore.exceptions import ClientError  # noqa: E402
from obemu import Emulator  # noqa: E402


class Recorder:
    def __init__(self, outdir):
        self.outdir = outdir
        self.last = None
        self.status = 0

    def hook(self, http_response=None, **_):
        if http_response is not None:
            self.last = http_response.content
            self.status = http_response.status_code

    def attach(self, client):
        client.meta.events.register("after-call.*", self.hook)
        return client

    def save(self, name):
        assert self.last is not None, name
        with open(os.path.join(self.outdir, name), "wb") as f:
            f.write(self.last)
        print(f"{name}: HTTP {self.status}, {len(self.last)} bytes")
        self.last = None


def expect_error(fn, code):
    try:
        fn()
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response["Error"]
        return
    raise AssertionError(f"expected {code}")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else HERE
    rec = Recorder(outdir)
    with Emulator(copy_delay=0) as emu:
        vault = emu.accounts["vault"]["account_id"]
        kms = emu.client("kms", account="source")
        rds = rec.attach(emu.client("rds", account="source", config=emu.no_retry_config()))
        sns = rec.attach(emu.client("sns", account="source"))
        sqs = rec.attach(emu.client("sqs", account="source"))
        key = kms.create_key(Description="offsite-backup export key")["KeyMetadata"]["Arn"]

        # ---- instance snapshots
        rds.create_db_instance(DBInstanceIdentifier="orders-db", DBInstanceClass="db.t3.micro",
                               Engine="postgres", EngineVersion="16.3", AllocatedStorage=20,
                               MasterUsername="admin", MasterUserPassword="secret-password",
                               StorageEncrypted=True, KmsKeyId=key)
        rds.create_db_snapshot(DBInstanceIdentifier="orders-db",
                               DBSnapshotIdentifier="orders-db-2026-11-22",
                               Tags=[{"Key": "team", "Value": "payments & <ops>"}])
        rds.copy_db_snapshot(SourceDBSnapshotIdentifier="orders-db-2026-11-22",
                             TargetDBSnapshotIdentifier="ob-orders-db-2026-11-22",
                             KmsKeyId=key, CopyTags=True,
                             Tags=[{"Key": "offsite-backup-job", "Value": "job-1234"}])
        rec.save("rds_copy_db_snapshot.xml")
        expect_error(lambda: rds.copy_db_snapshot(
            SourceDBSnapshotIdentifier="orders-db-2026-11-22",
            TargetDBSnapshotIdentifier="ob-orders-db-2026-11-22"), "DBSnapshotAlreadyExists")
        rec.save("rds_error_db_snapshot_already_exists.xml")
        # moto's own quota check (MOTO_RDS_SNAPSHOT_LIMIT, read on every call):
        # automated + manual + copy = 3 snapshots, so a limit of 3 refuses the next
        os.environ["MOTO_RDS_SNAPSHOT_LIMIT"] = "3"
        try:
            expect_error(lambda: rds.copy_db_snapshot(
                SourceDBSnapshotIdentifier="orders-db-2026-11-22",
                TargetDBSnapshotIdentifier="ob-orders-db-quota"), "SnapshotQuotaExceeded")
        finally:
            del os.environ["MOTO_RDS_SNAPSHOT_LIMIT"]
        rec.save("rds_error_snapshot_quota_exceeded.xml")
        rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="ob-orders-db-2026-11-22",
                                         AttributeName="restore", ValuesToAdd=[vault])
        rec.save("rds_modify_db_snapshot_attribute.xml")
        rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="ob-orders-db-2026-11-22")
        rec.save("rds_describe_db_snapshot_attributes.xml")
        rds.delete_db_snapshot(DBSnapshotIdentifier="ob-orders-db-2026-11-22")
        rec.save("rds_delete_db_snapshot.xml")

        # ---- cluster snapshots
        rds.create_db_cluster(DBClusterIdentifier="orders-cluster", Engine="aurora-postgresql",
                              EngineVersion="16.3", MasterUsername="admin",
                              MasterUserPassword="secret-password", StorageEncrypted=True,
                              KmsKeyId=key)
        rds.create_db_cluster_snapshot(DBClusterIdentifier="orders-cluster",
                                       DBClusterSnapshotIdentifier="orders-cluster-2026-11-22",
                                       Tags=[{"Key": "team", "Value": "payments"}])
        rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="orders-cluster-2026-11-22",
            TargetDBClusterSnapshotIdentifier="ob-orders-cluster-2026-11-22",
            KmsKeyId=key, CopyTags=True,
            Tags=[{"Key": "offsite-backup-job", "Value": "job-5678"}])
        rec.save("rds_copy_db_cluster_snapshot.xml")
        rds.describe_db_cluster_snapshots(DBClusterIdentifier="orders-cluster")
        rec.save("rds_describe_db_cluster_snapshots.xml")
        rds.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier="ob-orders-cluster-2026-11-22",
            AttributeName="restore", ValuesToAdd=[vault, "333333333333"])
        rec.save("rds_modify_db_cluster_snapshot_attribute.xml")
        rds.describe_db_cluster_snapshot_attributes(
            DBClusterSnapshotIdentifier="ob-orders-cluster-2026-11-22")
        rec.save("rds_describe_db_cluster_snapshot_attributes.xml")
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="ob-orders-cluster-2026-11-22")
        rec.save("rds_delete_db_cluster_snapshot.xml")
        expect_error(lambda: rds.delete_db_cluster_snapshot(
            DBClusterSnapshotIdentifier="ob-orders-cluster-2026-11-22"),
            "DBClusterSnapshotNotFoundFault")
        rec.save("rds_error_db_cluster_snapshot_not_found.xml")

        # ---- SNS Publish
        topic = sns.create_topic(Name="ob-vault-announcements")["TopicArn"]
        sns.publish(TopicArn=topic, Subject="offsite-backup announcement",
                    Message='{"kind":"db-snapshot","snapshot":"ob-orders-db-2026-11-22"}')
        rec.save("sns_publish.xml")
        expect_error(lambda: sns.publish(TopicArn=topic + "-gone", Message="x"), "NotFound")
        rec.save("sns_error_not_found.xml")

        # ---- SQS DeleteMessageBatch: two good handles and one that is not
        url = sqs.create_queue(QueueName="ob-jobs")["QueueUrl"]
        for body in ("one", "two"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert len(msgs) == 2, msgs
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
        entries.append({"Id": "2", "ReceiptHandle": "not-a-receipt-handle"})
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        rec.save("sqs_delete_message_batch.json")
    derive_cluster_pages(outdir)


def derive_cluster_pages(outdir):
    """Split the cluster listing into two pages joined by a Marker: moto
    ignores MaxRecords on DescribeDBClusterSnapshots, so it never pages."""
    with open(os.path.join(outdir, "rds_describe_db_cluster_snapshots.xml")) as f:
        doc = f.read()
    items = re.findall(r"<DBClusterSnapshot>.*?</DBClusterSnapshot>", doc)
    assert len(items) == 3, len(items)
    head = doc[:doc.index("<DBClusterSnapshot>")]
    tail = doc[doc.index("</DBClusterSnapshots>"):]
    pages = {
        "rds_describe_db_cluster_snapshots_page1.xml":
            head + items[0] + items[1] + "</DBClusterSnapshots><Marker>Y2x1c3Rlci1tYXJrZXItMg==</Marker>"
            + tail[len("</DBClusterSnapshots>"):],
        "rds_describe_db_cluster_snapshots_page2.xml": head + items[2] + tail,
    }
    for name, text in pages.items():
        with open(os.path.join(outdir, name), "w") as f:
            f.write(text)
        print(f"{name}: derived")


if __name__ == "__main__":
    main()
