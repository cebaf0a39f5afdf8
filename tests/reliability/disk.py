#!/usr/bin/env python3
"""disk.py --build DIR [--soak] - disk and database trouble (issue 6, campaign 3).

The state database lives on a small tmpfs this script mounts under a
temporary directory (root needed; always unmounted, also on failure), and
the real daemons run against the in-process emulator (tests/emulator). Every
outcome is read from the emulator (boto3 calls, its call counters and call
journal), never from the daemon's report of itself; the daemons' state
databases are read only to explain a failure.

Cases:

  full       the tmpfs fills up while snapshot events arrive: the source
             daemon stays up and logs "disk full", no DeleteMessage[Batch]
             reaches SQS and the queue still holds every event; once the
             filler is removed the pipeline finishes by itself (export
             copies available, shared with the vault, announced).
  ro-start   the tmpfs is remounted read-only while the daemon is stopped:
             the daemon exits 1 saying "read-only", the events stay queued;
             after `remount,rw` a start finishes the pipeline.
  ro-run     read-only while running. `mount -o remount,ro` of a
             filesystem with a file open for writing is refused by the
             kernel (EBUSY; checked here), so a running daemon only ever
             meets a read-only database when the kernel forces it (ext4
             errors=remount-ro). The case makes that happen on a small ext4
             loop image (/sys/fs/ext4/<dev>/trigger_fs_error): the daemon
             stays up, logs "read-only", deletes nothing; such a filesystem
             needs fsck and a remount, i.e. a restart, after which the
             pipeline finishes.
  corrupt    both roles: copies in flight (source: two export copies made
             and announced, one still creating; vault: two imports still
             creating), both daemons stopped and their databases damaged.
             Each daemon refuses to start (exit 3, a message naming the file,
             "offsite-backupctl rebuild" and the recovery section) and leaves
             the file as it was; `offsite-backupctl rebuild` refuses while
             the file is there (exit 2); after moving it aside, rebuild
             makes the jobs (a copy with inconsistent tags is skipped), the
             daemons start and the pipeline finishes: every export copy
             available and shared with the vault, one sns:Publish per
             snapshot (the copied ones announced again, the last one for
             the first time), every vault copy available under the import
             key, and one vault copy call only (the last snapshot's): the
             rebuilt imports are polled and verified, not copied again.

Prints one figure line:
    disk: <cases> cases passed, <n> messages kept, <m> jobs rebuilt, <k> lost
and exits non-zero on any failure. --soak repeats the cases three times.
"""
import argparse
import contextlib
import datetime
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
for sub in ("emulator", "integration", "bench"):
    sys.path.insert(0, os.path.join(HERE, "..", sub))

from obemu import Emulator  # noqa: E402
import run as integration  # noqa: E402,F401  (test_source imports it as run)
import test_source  # noqa: E402  SourceBed, copy_identifier, job_identifier
import source_bench as sb  # noqa: E402  write_source_config, start_daemon, stop_daemon
import e2e_bench  # noqa: E402  write_vault_config
from moto.rds import models as _rds_models  # noqa: E402

TMPFS_SIZE = "2m"
VISIBILITY_S = 2          # events queue: a message not deleted comes back quickly
RECOVERY_DOC = "docs/reliability.md#recovering-the-state-database"


class Failed(Exception):
    pass


def log(*args):
    print("disk:", *args, file=sys.stderr, flush=True)


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise Failed(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


def wait_for(pred, timeout, what, procs=()):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        for p, name, logp in procs:
            if p.poll() is not None:
                raise Failed(f"{name} exited (rc {p.returncode}) while waiting for {what}:\n"
                             + tail(logp))
        if time.monotonic() > deadline:
            detail = "".join(f"\n--- {name}:\n{tail(logp)}" for _, name, logp in procs)
            raise Failed(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(0.2)


class Bed:
    """One case's world: a fresh emulator state, the source bed with a short
    visibility timeout (and a redrive count no case reaches), a DB instance
    and its snapshots."""

    def __init__(self, ctx, n_snaps, cluster=False):
        self.ctx = ctx
        emu = ctx.emu
        emu.reset()
        emu.set_copy_delay(0)
        self.bed = test_source.SourceBed(emu, visibility_timeout=VISIBILITY_S,
                                         max_receive_count=1000)
        self.bed.create_instance("orders")
        self.snaps = [self.bed.create_snapshot("orders", f"orders-disk-{i}") for i in range(n_snaps)]
        self.backdate()
        if cluster:
            self.bed.create_cluster("ledger")
            self.snaps.append(self.bed.create_cluster_snapshot("ledger", "ledger-disk-0"))
        self.inbox = set()   # source snapshot ARNs announced to the vault

    def backdate(self):
        """The k-th instance snapshot k days old (moto's memory, as
        e2e_bench.py does): the vault's retention keeps one copy per day and
        database, and must not delete what the case counts."""
        table = self.bed._backend().resource_map[_rds_models.DBSnapshot]
        for k, snap in enumerate(self.snaps):
            m = table[snap.name]
            m.created = m.created - datetime.timedelta(days=k)
            m.original_snapshot_create_time = m.created

    def put_events(self, snaps):
        self.bed.put_events(*[self.bed.snapshot_event(s) for s in snaps])

    def queued(self):
        vis, inflight, delayed = self.bed.queue_counts(self.bed.queue_url)
        return vis + inflight + delayed

    def read_inbox(self):
        for body in self.bed.drain_inbox():
            pass
        out = set()
        for body in self.bed.inbox_bodies:
            doc = json.loads(body)
            if doc.get("Type") == "Notification":
                doc = json.loads(doc["Message"])
            out.add(doc.get("source_snapshot_arn"))
        self.inbox = out
        return out

    def exported(self, snap):
        """The export copy is available and shared with the vault (boto3)."""
        rds = self.bed.rds
        cid = test_source.copy_identifier(snap.arn)
        try:
            if snap.cluster:
                c = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=cid)["DBClusterSnapshots"][0]
                attrs = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=cid)[
                    "DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
            else:
                c = rds.describe_db_snapshots(DBSnapshotIdentifier=cid)["DBSnapshots"][0]
                attrs = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=cid)[
                    "DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
        except Exception:  # not there (yet)
            return False
        restore = next((a.get("AttributeValues", []) for a in attrs if a["AttributeName"] == "restore"), [])
        return c["Status"] == "available" and self.bed.vault in restore

    def finished(self, snaps, inbox=True):
        """Every snapshot exported, shared, and (inbox) announced."""
        if inbox:
            self.read_inbox()
        return all(self.exported(s) and (not inbox or s.arn in self.inbox) for s in snaps)

    def deletes(self):
        emu = self.ctx.emu
        return (emu.count("sqs", "DeleteMessageBatch", "source")
                + emu.count("sqs", "DeleteMessage", "source"))


class Ctx:
    def __init__(self, build, tmp, emu):
        self.build = build
        self.daemon = os.path.join(build, "offsite-backupd")
        self.ctl = os.path.join(build, "offsite-backupctl")
        self.tmp = tmp
        self.emu = emu
        self.mnt = os.path.join(tmp, "state")
        self.kept = 0
        self.rebuilt = 0
        self.lost = 0
        self.procs = []
        self.n = 0

    def path(self, name):
        self.n += 1
        return os.path.join(self.tmp, f"{self.n:02d}-{name}")

    def start(self, cfg, logp, name):
        p = sb.start_daemon(self.daemon, cfg, logp)
        self.procs.append(p)
        return (p, name, logp)

    def stop(self, proc):
        sb.stop_daemon(proc[0], log, proc[1])

    def stop_all(self):
        for p in self.procs:
            sb.stop_daemon(p, log)
        self.procs = []

    def ctl_run(self, *args):
        return subprocess.run([self.ctl, *args], capture_output=True, text=True, timeout=60)


# -- the mounts -------------------------------------------------------------------

@contextlib.contextmanager
def tmpfs(path, size=TMPFS_SIZE):
    os.makedirs(path, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path)
    try:
        yield path
    finally:
        r = sh("umount", path, check=False)
        if r.returncode != 0:
            time.sleep(1)
            sh("umount", "-l", path, check=False)


def fill(path):
    """Fill the filesystem of path with one file; returns its name."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def first_line(path, needle):
    with open(path, errors="replace") as f:
        return next((l.strip() for l in f if needle in l), "")


def wait_listening(ctx, proc, account):
    wait_for(lambda: ctx.emu.count("sqs", "ReceiveMessage", account) > 0, 30,
             f"{proc[1]} to listen", [proc])


def clear_state(mnt):
    for p in glob.glob(os.path.join(mnt, "*")):
        os.unlink(p)


# -- (a) disk full ------------------------------------------------------------------

def case_full(ctx):
    w = Bed(ctx, 3)
    db = os.path.join(ctx.mnt, "source.db")
    cfg = sb.write_source_config(ctx.emu, w.bed, ctx.path("source.conf"), db)
    logp = ctx.path("full-source.log")
    proc = ctx.start(cfg, logp, "the source daemon")
    try:
        wait_listening(ctx, proc, "source")
        filler = fill(ctx.mnt)
        ctx.emu.reset_counts()
        w.put_events(w.snaps)
        wait_for(lambda: "disk full" in open(logp, errors="replace").read(), 30,
                 "the daemon to log 'disk full'", [proc])
        time.sleep(2 * VISIBILITY_S + 1)  # the messages come back and are tried again
        if proc[0].poll() is not None:
            raise Failed("the daemon died on a full disk:\n" + tail(logp))
        if w.deletes() != 0:
            raise Failed(f"{w.deletes()} SQS deletes while nothing could be committed")
        if ctx.emu.count("sqs", "ReceiveMessage", "source") < 2:
            raise Failed("the daemon stopped receiving (it should retry)")
        if w.queued() != len(w.snaps):
            raise Failed(f"the events queue holds {w.queued()} messages, want {len(w.snaps)}")
        kept = w.queued()
        os.unlink(filler)
        wait_for(lambda: w.finished(w.snaps), 90, "the pipeline to finish after space came back",
                 [proc])
        wait_for(lambda: w.queued() == 0, 30, "the events queue to empty", [proc])
        if "recovered after" not in open(logp, errors="replace").read():
            raise Failed("no 'recovered after' line in the daemon's log")
    finally:
        ctx.stop(proc)
    ctx.kept += kept
    log(f"full: ok ({kept} messages kept while the disk was full)\n    "
        + first_line(logp, "disk full") + "\n    " + first_line(logp, "recovered after"))


# -- (b) read-only ---------------------------------------------------------------------

def case_ro_start(ctx):
    w = Bed(ctx, 2)
    db = os.path.join(ctx.mnt, "source.db")
    cfg = sb.write_source_config(ctx.emu, w.bed, ctx.path("source.conf"), db)
    # A first run makes the database; then stop and make the disk read-only.
    logp = ctx.path("ro-start-first.log")
    proc = ctx.start(cfg, logp, "the source daemon")
    wait_listening(ctx, proc, "source")
    ctx.stop(proc)
    sh("mount", "-o", "remount,ro", ctx.mnt)
    try:
        ctx.emu.reset_counts()
        w.put_events(w.snaps)
        wait_for(lambda: w.queued() == len(w.snaps), 15, "the events in the queue")
        logp = ctx.path("ro-start.log")
        proc = ctx.start(cfg, logp, "the source daemon")
        try:
            rc = proc[0].wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Failed("the daemon kept running on a read-only database:\n" + tail(logp))
        out = open(logp, errors="replace").read()
        if rc == 0 or "read-only" not in out:
            raise Failed(f"want a non-zero exit saying 'read-only'; got rc {rc}:\n{tail(logp)}")
        if w.deletes() != 0 or w.queued() != len(w.snaps):
            raise Failed(f"messages lost: {w.deletes()} deletes, {w.queued()} queued")
        kept = w.queued()
        line = first_line(logp, "read-only")
    finally:
        sh("mount", "-o", "remount,rw", ctx.mnt)
    logp = ctx.path("ro-start-after.log")
    proc = ctx.start(cfg, logp, "the source daemon")
    try:
        wait_for(lambda: w.finished(w.snaps), 60, "the pipeline to finish after remount,rw", [proc])
    finally:
        ctx.stop(proc)
    ctx.kept += kept
    log(f"ro-start: ok (exit {rc}, {kept} messages kept)\n    {line}")


def case_ro_run(ctx):
    w = Bed(ctx, 2)
    # The kernel refuses remount,ro under an open writer: show it.
    img = os.path.join(ctx.tmp, "ext4.img")
    mnt = os.path.join(ctx.tmp, "ext4")
    os.makedirs(mnt, exist_ok=True)
    with open(img, "wb") as f:
        f.truncate(8 << 20)
    sh("mkfs.ext4", "-q", "-F", "-O", "^has_journal", img)
    sh("mount", "-o", "loop,errors=remount-ro", img, mnt)
    mounted = True
    proc = None
    try:
        dev = os.path.basename(sh("findmnt", "-n", "-o", "SOURCE", mnt).stdout.strip())
        db = os.path.join(mnt, "source.db")
        cfg = sb.write_source_config(ctx.emu, w.bed, ctx.path("source.conf"), db)
        logp = ctx.path("ro-run.log")
        proc = ctx.start(cfg, logp, "the source daemon")
        wait_listening(ctx, proc, "source")
        r = sh("mount", "-o", "remount,ro", mnt, check=False)
        if r.returncode == 0:
            raise Failed("remount,ro succeeded under the daemon's open database; "
                         "the case's premise is wrong")
        with open(f"/sys/fs/ext4/{dev}/trigger_fs_error", "w") as f:
            f.write("offsite-backup disk campaign\n")
        ctx.emu.reset_counts()
        w.put_events(w.snaps)
        wait_for(lambda: "read-only" in open(logp, errors="replace").read(), 30,
                 "the daemon to log 'read-only'", [proc])
        time.sleep(2 * VISIBILITY_S + 1)
        if proc[0].poll() is not None:
            raise Failed("the daemon died on a read-only database:\n" + tail(logp))
        if w.deletes() != 0 or w.queued() != len(w.snaps):
            raise Failed(f"messages lost: {w.deletes()} deletes, {w.queued()} queued")
        kept = w.queued()
        line = first_line(logp, "read-only")
        # What an operator does: stop, unmount, fsck, mount, start.
        ctx.stop(proc)
        sh("umount", mnt)
        mounted = False
        sh("e2fsck", "-y", "-f", img, check=False)
        sh("mount", "-o", "loop,errors=remount-ro", img, mnt)
        mounted = True
        logp = ctx.path("ro-run-after.log")
        proc = ctx.start(cfg, logp, "the source daemon")
        wait_for(lambda: w.finished(w.snaps), 60, "the pipeline to finish after the remount", [proc])
    finally:
        if proc is not None:
            ctx.stop(proc)
        if mounted:
            sh("umount", mnt, check=False)
    ctx.kept += kept
    log(f"ro-run: ok ({kept} messages kept; remount,ro under a writer refused as expected)"
        f"\n    {line}")


# -- (c) corrupt database, rebuild ------------------------------------------------------

def corrupt(path):
    """Overwrite every page but the first with garbage (b-tree pages of the
    tables): SQLite still opens it, quick_check does not pass."""
    size = os.path.getsize(path)
    if size < 2 * 4096:
        raise Failed(f"{path} is only {size} bytes; nothing to damage")
    with open(path, "r+b") as f:
        f.seek(4096)
        f.write(bytes((i * 37 + 11) & 0xff for i in range(size - 4096)))


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def refuse_corrupt(ctx, cfg, db, name):
    before = digest(db)
    logp = ctx.path(f"corrupt-{name}.log")
    proc = ctx.start(cfg, logp, f"the {name} daemon")
    try:
        rc = proc[0].wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise Failed(f"the {name} daemon started on a corrupt database:\n" + tail(logp))
    out = open(logp, errors="replace").read()
    for want in ("corrupt", db, "offsite-backupctl rebuild", RECOVERY_DOC):
        if want not in out:
            raise Failed(f"the {name} daemon's refusal lacks {want!r}:\n{tail(logp)}")
    if rc != 3:
        raise Failed(f"the {name} daemon exited {rc} on a corrupt database, want 3")
    if digest(db) != before:
        raise Failed(f"the {name} daemon changed the corrupt file")
    log(f"corrupt {name}: exit {rc}\n    " + first_line(logp, "corrupt"))


def rebuild(ctx, cfg, db, name):
    r = ctx.ctl_run("--config", cfg, "rebuild", "--json")
    if r.returncode != 2 or "exists" not in r.stderr or "aside" not in r.stderr:
        raise Failed(f"rebuild over an existing database: rc {r.returncode}, {r.stderr.strip()}")
    for sfx in ("", "-wal", "-shm"):
        if os.path.exists(db + sfx):
            os.rename(db + sfx, db + sfx + ".corrupt")
    r = ctx.ctl_run("--config", cfg, "rebuild", "--json")
    if r.returncode != 0:
        raise Failed(f"rebuild ({name}) failed: rc {r.returncode}: {r.stderr.strip()}")
    doc = json.loads(r.stdout)
    log(f"rebuild {name}: {doc['rebuilt']} jobs {doc['states']}, {doc['skipped']} skipped"
        + "".join(f"\n    skipped {s['copy_id']}: {s['reason']}" for s in doc["skipped_copies"]))
    return doc


def vault_copies(ctx):
    rds = ctx.emu.client("rds", account="vault")
    out = {}
    for page in rds.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual"):
        for s in page["DBSnapshots"]:
            out[s["DBSnapshotIdentifier"]] = s
    for page in rds.get_paginator("describe_db_cluster_snapshots").paginate(SnapshotType="manual"):
        for s in page["DBClusterSnapshots"]:
            out[s["DBClusterSnapshotIdentifier"]] = s
    return out


def case_corrupt(ctx):
    emu = ctx.emu
    w = Bed(ctx, 3, cluster=True)
    bed = w.bed
    src, region = bed.src, emu.region
    first, last = w.snaps[:2] + [w.snaps[3]], [w.snaps[2]]   # the cluster snapshot goes first
    import_key = emu.client("kms", account="vault").create_key(
        Description="offsite-backup import key")["KeyMetadata"]["Arn"]
    sdb = os.path.join(ctx.mnt, "source.db")
    vdb = os.path.join(ctx.mnt, "vault.db")
    scfg = sb.write_source_config(emu, bed, ctx.path("source.conf"), sdb)
    vcfg = e2e_bench.write_vault_config(emu, bed, import_key, ctx.path("vault.conf"), vdb)
    kind = {s.arn: ("cluster-snapshot" if s.cluster else "snapshot") for s in w.snaps}
    export_arn = {s.arn: f"arn:aws:rds:{region}:{src}:{kind[s.arn]}:"
                         f"{test_source.copy_identifier(s.arn)}" for s in w.snaps}
    vault_copy = {a: test_source.copy_identifier(e) for a, e in export_arn.items()}

    # In flight: the first snapshots exported and announced, their vault
    # copies still creating; the last one's export copy still creating.
    emu.set_copy_delay(600)
    sp = ctx.start(scfg, ctx.path("corrupt-source-1.log"), "the source daemon")
    vp = ctx.start(vcfg, ctx.path("corrupt-vault-1.log"), "the vault daemon")
    try:
        wait_listening(ctx, sp, "source")
        wait_listening(ctx, vp, "vault")
        w.put_events(first)
        wait_for(lambda: all(bed.moto_copy(s) for s in first), 30, "the export copies", [sp, vp])
        emu.complete_copies()
        wait_for(lambda: all(vault_copy[s.arn] in vault_copies(ctx) for s in first), 60,
                 "the vault imports to start", [sp, vp])
        w.put_events(last)
        wait_for(lambda: all(bed.moto_copy(s) for s in last), 30, "the last export copy", [sp, vp])
        wait_for(lambda: w.queued() == 0, 30, "the events queue to empty", [sp, vp])
    finally:
        ctx.stop(vp)
        ctx.stop(sp)
    vc = vault_copies(ctx)
    if any(vc[vault_copy[s.arn]]["Status"] != "creating" for s in first):
        raise Failed("the vault copies are not in flight any more; the case proves nothing")

    # A copy that claims to be ours but whose tags disagree: skipped.
    bed.rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="ob-forged-0",
                               Tags=[{"Key": test_source.TAG_JOB, "Value": "j0000000000000000"},
                                     {"Key": test_source.TAG_SOURCE_ARN, "Value": w.snaps[0].arn}])
    for db, cfg, name in ((sdb, scfg, "source"), (vdb, vcfg, "vault")):
        corrupt(db)
        refuse_corrupt(ctx, cfg, db, name)
    sdoc = rebuild(ctx, scfg, sdb, "source")
    vdoc = rebuild(ctx, vcfg, vdb, "vault")
    want_s = {"copied": len(first), "copying": len(last)}
    want_v = {"importing": len(first)}
    if sdoc["states"] != want_s or vdoc["states"] != want_v:
        raise Failed(f"rebuilt states: source {sdoc['states']} (want {want_s}), "
                     f"vault {vdoc['states']} (want {want_v})")
    if not any(s["copy_id"] == "ob-forged-0" for s in sdoc["skipped_copies"]):
        raise Failed("the copy with inconsistent tags was not skipped")
    ctx.rebuilt += sdoc["rebuilt"] + vdoc["rebuilt"]

    # Let the copies finish and the daemons run on the rebuilt databases.
    emu.set_copy_delay(0)
    emu.complete_copies()
    emu.reset_counts()
    sp = ctx.start(scfg, ctx.path("corrupt-source-2.log"), "the source daemon")
    vp = ctx.start(vcfg, ctx.path("corrupt-vault-2.log"), "the vault daemon")
    try:
        def done():
            if not all(w.exported(s) for s in w.snaps):
                return False
            # Each rebuilt copied job is announced again (the vault
            # dedupes), the last one for the first time: one sns:Publish
            # per snapshot (the journal does not name the snapshot; the
            # vault copy of the last one, below, proves its announcement).
            if emu.count("sns", "Publish", "source") < len(w.snaps):
                return False
            vc = vault_copies(ctx)
            return all(vault_copy[s.arn] in vc and vc[vault_copy[s.arn]]["Status"] == "available"
                       for s in w.snaps)
        wait_for(done, 90, "every snapshot to be shared, announced and copied into the vault",
                 [sp, vp])
        # Verification reruns on the rebuilt vault jobs (the daemon's own
        # record, a secondary check; the copies above are the proof).
        wait_for(lambda: len(e2e_bench.db_rows(vdb, "SELECT id FROM jobs WHERE state = 'verified'"))
                 == len(w.snaps), 30, "the vault jobs to be verified", [sp, vp])
    finally:
        ctx.stop(vp)
        ctx.stop(sp)
    vc = vault_copies(ctx)
    ours = {k: v for k, v in vc.items() if k.startswith("ob-")}
    if set(ours) != set(vault_copy.values()):
        raise Failed(f"vault copies {sorted(ours)}, want {sorted(vault_copy.values())}")
    bad = [k for k, v in ours.items() if v.get("KmsKeyId") != import_key]
    if bad:
        raise Failed(f"vault copies not under the import key: {bad}")
    calls = emu.count("rds", "CopyDBSnapshot", "vault") + emu.count("rds", "CopyDBClusterSnapshot", "vault")
    if calls != len(last):
        raise Failed(f"{calls} vault copy calls after the rebuild, want {len(last)} "
                     "(the rebuilt imports must not be copied again)")
    log(f"corrupt: ok (exit 3 for both roles, {sdoc['rebuilt'] + vdoc['rebuilt']} jobs rebuilt)")


CASES = [("full", case_full), ("ro-start", case_ro_start), ("ro-run", case_ro_run),
         ("corrupt", case_corrupt)]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--soak", action="store_true")
    ap.add_argument("-k", help="run only the cases whose name contains this")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("disk: needs root (it mounts a tmpfs and a loop device); run it as root",
              file=sys.stderr)
        return 1
    build = os.path.abspath(a.build)
    for b in ("offsite-backupd", "offsite-backupctl"):
        if not os.access(os.path.join(build, b), os.X_OK):
            print(f"disk: {build}/{b} is not an executable", file=sys.stderr)
            return 1
    passed = failed = 0
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ob-disk-") as tmp:
        with Emulator(copy_delay=0) as emu:
            ctx = Ctx(build, tmp, emu)
            for _ in range(3 if a.soak else 1):
                for name, fn in CASES:
                    if a.k and a.k not in name:
                        continue
                    try:
                        with tmpfs(ctx.mnt):
                            fn(ctx)
                        passed += 1
                    except Failed as e:
                        failed += 1
                        ctx.lost += 1
                        log(f"{name}: FAILED: {e}")
                    finally:
                        ctx.stop_all()
    log(f"{time.monotonic() - t0:.0f} s")
    lost = "0 lost" if failed == 0 else f"{failed} case(s) failed"
    print(f"disk: {passed} cases passed, {ctx.kept} messages kept, {ctx.rebuilt} jobs rebuilt, {lost}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
