#!/usr/bin/env python3
"""two_sources.py - two source daemons consuming one queue (issue 6, campaign 6).

usage: two_sources.py --build DIR [--soak] [--seed N]

Two instances of an auto-scaling group: two source daemons with a state
database each, one events queue, one vault daemon. Against the emulator
(copy delay 2 s), the campaign sends the snapshot events through EventBridge
in batches, every event TWICE (EventBridge delivers at least once; the two
copies may well land on different daemons, which then both own a job for the
same snapshot), then restarts both sources once (each start sweeps recent
snapshots, so both see every recent one again).

Checked through the emulator's own view (boto3 and its call journal):
  * every snapshot has exactly one export copy (the copy name is derived
    from the source ARN, so the second daemon's CopyDBSnapshot gets
    AlreadyExists and takes the copy, tagged with the same job, as its own),
    shared with the vault, and exactly one verified vault copy;
  * no snapshot was copied under two names, and no vault copy was made twice;
  * the vault received duplicate announcements and deduplicated them (one
    job per export copy, no rejection, no failure);
  * queues drained, nothing in a dead-letter queue (poison messages are the
    crash campaign's; here they would outlive the export copies' retention);
  * once export_copy_retention has passed, the export copies are deleted
    exactly once between the two daemons and no job of either ends failed.

Prints one figure line:
  two-sources: <n> snapshots / <copies> export copies / <dups> duplicate announcements deduplicated / <d> duplicates
and exits 0 only when every check passed.
"""
import argparse
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bed as B  # noqa: E402
from obemu import Emulator  # noqa: E402

RETENTION_S = 40


def log(*args):
    print("two-sources:", *args, file=sys.stderr, flush=True)


def campaign(build, tmp, n, seed):
    rng = random.Random(seed)
    with Emulator(copy_delay=2) as emu:
        p = B.Pipeline(emu, build, tmp, sources=2, export_retention=f"{RETENTION_S}s")
        try:
            p.start("vault")
            p.start("source")
            p.start("source2")
            snaps = p.snapshots(n)
            entries = [p.bed.snapshot_event(s) for s in snaps]
            twice = entries + entries
            rng.shuffle(twice)
            for i in range(0, len(twice), 10):
                p.bed.put_events(*twice[i:i + 10])
                time.sleep(rng.uniform(0.0, 0.5))
            # Both restart once mid-way: each start sweeps again.
            time.sleep(2.0)
            for name in ("source", "source2"):
                rc = p.daemons[name].stop()
                if rc != 0:
                    raise B.Failed(f"{name} exited {rc} on SIGTERM" + p.logs())
                p.start(name)
            took = p.wait_complete(snaps, timeout=180)
            log(f"every snapshot verified in the vault after {took:.1f} s")
            audit = p.audit(snaps, settle=20)  # before export_copy_retention runs out

            # -- the emulator's journal: who copied what, how often
            names = {}
            for e in emu.journal("rds", "CopyDBSnapshot", "source") + \
                    emu.journal("rds", "CopyDBClusterSnapshot", "source"):
                prm = e["params"]
                src = prm.get("SourceDBSnapshotIdentifier") or prm.get("SourceDBClusterSnapshotIdentifier")
                tgt = prm.get("TargetDBSnapshotIdentifier") or prm.get("TargetDBClusterSnapshotIdentifier")
                names.setdefault(src, set()).add(tgt)
            bad = {k: v for k, v in names.items() if len(v) > 1}
            if bad:
                raise B.Failed(f"snapshots copied under more than one name: {bad}")
            vault_copies = emu.count("rds", "CopyDBSnapshot", "vault") + \
                emu.count("rds", "CopyDBClusterSnapshot", "vault")
            publishes = emu.count("sns", "Publish", "source")
            jobs = {name: p.daemons[name].jobs() for name in ("source", "source2")}
            both = {j["id"] for j in jobs["source"]} & {j["id"] for j in jobs["source2"]}
            log(f"jobs: source {len(jobs['source'])}, source2 {len(jobs['source2'])}, "
                f"{len(both)} held by both; {publishes} announcements published, "
                f"{vault_copies} vault CopyDB*Snapshot calls")
            if len(both) == 0:
                raise B.Failed("no snapshot was taken up by both daemons: the campaign did not "
                               "exercise the overlap it exists for" + p.logs())
            vjobs = p.daemons["vault"].jobs()
            dup_announcements = publishes - len({j["source_arn"] for j in vjobs})
            if dup_announcements <= 0:
                raise B.Failed(f"{publishes} announcements for {len(vjobs)} vault jobs: "
                               "no duplicate reached the vault")

            # -- expiry: both daemons hold jobs for the same copies
            t0 = time.monotonic()
            while True:
                p.check_alive()
                left = [s for s in snaps if any(
                    ident == B.test_source.copy_identifier(s.arn)
                    for _, ident, _, _ in p._snapshots("source"))]
                settled = all(j["state"] in ("expired", "failed")
                              for name in ("source", "source2") for j in p.daemons[name].jobs()
                              if j["source_arn"] in {s.arn for s in snaps})
                if not left and settled:
                    break
                if time.monotonic() - t0 > RETENTION_S + 90:
                    raise B.Failed(f"{len(left)} export copies still present {RETENTION_S + 90} s "
                                   "after the run" + p.diagnostics() + p.logs())
                time.sleep(2.0)
            failed = [(name, j["id"], j.get("error_message")) for name in ("source", "source2")
                      for j in p.daemons[name].jobs() if j["state"] == "failed"]
            if failed:
                raise B.Failed(f"jobs failed while expiring: {failed[:5]}" + p.logs())
            deletes = emu.count("rds", "DeleteDBSnapshot", "source") + \
                emu.count("rds", "DeleteDBClusterSnapshot", "source")
            log(f"export copies deleted: {deletes} delete calls for {len(snaps)} copies")
            p.stop_all()
            return audit, len(names), dup_announcements
        finally:
            p.kill_all()


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--soak", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    n = 60 if args.soak else 20
    print(f"two-sources: seed {seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ob-two-sources-") as tmp:
        try:
            audit, copied, dups = campaign(os.path.abspath(args.build), tmp, n, seed)
        except B.Failed as e:
            print(f"two-sources: FAILED: {e}", flush=True)
            return 1
    print(f"two-sources: {audit['snapshots']} snapshots / {copied} export copies / "
          f"{dups} duplicate announcements deduplicated / {audit['duplicates']} duplicates", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
