#!/usr/bin/env python3
"""crash.py - reliability campaign 1, "crash anywhere" (issue 6).

Both daemons run against the emulator (copies take a few seconds) over 30
snapshots while a seeded driver kill -9s one of them at random moments and
restarts it after a short random pause, until the kill budget is spent. The
snapshot events are fed over the kill phase (so kills overlap intake), a few
poison messages are planted at the start. Then both daemons run undisturbed
until every snapshot reached the vault, and the outcome is audited through
the emulator's own view (bed.Pipeline.audit): one export copy and one
verified vault copy per snapshot, no job stuck, queues drained, the
dead-letter queue holding only the poison. The call journal adds: no source
snapshot was ever copied under two different target names (re-issued copies
under the same name are idempotent retries, counted for information).

    python3 tests/reliability/crash.py --build DIR [--soak] [--seed N] [--kills K]

Prints `crash: seed N` first (replay with --seed N) and, last, exactly one
figure line:

    crash: <kills> kills survived / <snapshots> snapshots / <duplicates> duplicates / <lost> lost

Exit 0 only when duplicates == 0, lost == 0 and the audit passed.
"""
from __future__ import annotations

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

SNAPSHOTS = 30
# Calls a kill may be aimed right after: each is a side effect (or an
# intake step) followed by a commit that the kill may beat.
TRIGGERS = {
    "source": [("rds", "CopyDBSnapshot"), ("rds", "CopyDBClusterSnapshot"),
               ("rds", "ModifyDBSnapshotAttribute"), ("rds", "ModifyDBClusterSnapshotAttribute"),
               ("rds", "DescribeDBSnapshots"), ("sns", "Publish"), ("sqs", "DeleteMessageBatch"),
               ("sqs", "ReceiveMessage")],
    "vault": [("rds", "CopyDBSnapshot"), ("rds", "CopyDBClusterSnapshot"),
              ("rds", "DescribeDBSnapshots"), ("rds", "DescribeDBClusterSnapshots"),
              ("sqs", "DeleteMessageBatch"), ("sqs", "ReceiveMessage")],
}
POISON = 3
COPY_DELAY = 3.0


def log(msg):
    print(f"crash: {msg}", flush=True)


class Driver:
    """Kills and restarts daemons at seeded random moments, feeding the
    snapshot events on a schedule spread over the kill phase."""

    def __init__(self, pipe, rng, kills, n_snaps, soak):
        self.p, self.rng, self.budget, self.soak = pipe, rng, kills, soak
        self.kills = 0
        self.kinds = {}          # kill moment kind -> count
        self.by_daemon = {"source": 0, "vault": 0}
        # Snapshots are made and announced in batches of 2-5 over roughly
        # the first 70% of the phase: each is new when its event comes, so
        # kills land in intake too (a restart's sweep finds the ones whose
        # event is still queued: duplicates the daemon must absorb).
        self.batches = []
        left = n_snaps
        while left > 0:
            k = min(left, rng.randint(2, 5))
            self.batches.append(k)
            left -= k
        self.fed = 0
        self.snaps = []

    def feed_one(self):
        k = self.batches[self.fed]
        snaps = self.p.snapshots(k, dbs=min(3, k), cluster_every=3)
        self.p.put(snaps)
        self.snaps += snaps
        self.fed += 1

    def feed_due(self, progress):
        """Make and announce the batches due at this fraction (0..1) of the
        kill budget."""
        want = min(len(self.batches), int(len(self.batches) * min(1.0, progress / 0.7)) + 1)
        while self.fed < want:
            self.feed_one()

    def feed_all(self):
        while self.fed < len(self.batches):
            self.feed_one()

    def wait(self, seconds, progress):
        """Sleep in slices, feeding events and checking that no daemon died
        by itself."""
        end = time.monotonic() + seconds
        while True:
            self.feed_due(progress)
            self.p.check_alive()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    def delay(self):
        """How long the victim runs before the kill: biased so that some
        kills hit start-up (store open, first sweep), some right after it,
        and the rest spread over the copy / share / notify / import / verify
        phases (copies take COPY_DELAY seconds)."""
        r = self.rng.random()
        if r < 0.15:
            return "start-up", self.rng.uniform(0.0, 0.15)
        if r < 0.35:
            return "after-restart", self.rng.uniform(0.15, 1.0)
        if r < 0.8:
            return "mid-run", self.rng.uniform(1.0, COPY_DELAY + 1.5)
        return "long-run", self.rng.uniform(COPY_DELAY + 1.5, 3 * COPY_DELAY + (6 if self.soak else 2))

    def wait_call(self, victim, service, action, progress, timeout, base=None, gaps=(0.005, 0.05)):
        """Wait until victim's account makes a new service:action call (as
        the emulator counts it, on arrival; base: the count to exceed), then
        a few milliseconds more: the kill lands between an AWS call and its
        commit (or before the answer was read: a lost response). False on
        timeout."""
        account = "vault" if victim == "vault" else "source"
        if base is None:
            base = self.p.emu.count(service, action, account)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.p.emu.count(service, action, account) > base:
                gap = self.rng.choice([0.0, self.rng.uniform(0.0, gaps[0]), self.rng.uniform(*gaps)])
                if gap:
                    time.sleep(gap)
                return True
            self.feed_due(progress)
            self.p.check_alive()
            time.sleep(0.002)
        return False

    def run(self):
        names = ["source", "vault"]
        # Sometimes a daemon dies during its very first start: the state
        # database is being created and its schema migrated.
        for name in names:
            if self.kills < self.budget and self.rng.random() < 0.5:
                # Right after GetCallerIdentity: the store is being opened.
                if not self.wait_call(name, "sts", "GetCallerIdentity", 0.0, timeout=5.0,
                                      base=self.sts_base[name], gaps=(0.0, 0.03)):
                    raise B.Failed(f"{name} made no GetCallerIdentity call at start-up")
                self.p.kill(name)
                self.kills += 1
                self.by_daemon[name] += 1
                self.kinds["first start"] = self.kinds.get("first start", 0) + 1
                self.p.start(name)
        while self.kills < self.budget:
            progress = self.kills / self.budget
            victim = self.rng.choice(names)
            # Sometimes both die close together (an instance-wide event).
            both = self.rng.random() < 0.08
            r = self.rng.random()
            if r < 0.1:
                # A restart, then a kill while the store is opened.
                base = self.p.emu.count("sts", "GetCallerIdentity", victim)
                self.p.kill(victim)
                self.kills += 1
                self.by_daemon[victim] += 1
                self.kinds["before store-open"] = self.kinds.get("before store-open", 0) + 1
                self.p.start(victim)
                kind = "store-open"
                if not self.wait_call(victim, "sts", "GetCallerIdentity", progress, timeout=5.0,
                                      base=base, gaps=(0.0, 0.03)):
                    raise B.Failed(f"{victim} made no GetCallerIdentity call at start-up")
            elif r < 0.55:
                service, action = self.rng.choice(TRIGGERS[victim])
                kind = f"after {action}"
                if not self.wait_call(victim, service, action, progress, timeout=5.0):
                    kind = f"no {action} (timeout)"
            else:
                kind, d = self.delay()
                self.wait(d, progress)
            self.p.kill(victim)
            self.kills += 1
            self.by_daemon[victim] += 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            other = None
            if both and self.kills < self.budget:
                other = "vault" if victim == "source" else "source"
                self.wait(self.rng.uniform(0.0, 0.5), progress)
                self.p.kill(other)
                self.kills += 1
                self.by_daemon[other] += 1
                self.kinds["both"] = self.kinds.get("both", 0) + 1
            # A short pause (the service manager's restart delay), or none.
            self.wait(self.rng.choice([0.0, self.rng.uniform(0.05, 0.6), self.rng.uniform(0.6, 2.0)]),
                      progress)
            self.p.start(victim)
            if other is not None:
                self.p.start(other)
        self.feed_all()


def journal_check(emu, pipe):
    """From the call journal: a source snapshot copied under two different
    target names is a defect; the same name re-issued is an idempotent
    retry (informational). Returns (problems, reissued, copy_calls)."""
    problems, reissued, calls = [], 0, 0
    for account in ("source", "vault"):
        for action, skey, tkey in (("CopyDBSnapshot", "SourceDBSnapshotIdentifier",
                                    "TargetDBSnapshotIdentifier"),
                                   ("CopyDBClusterSnapshot", "SourceDBClusterSnapshotIdentifier",
                                    "TargetDBClusterSnapshotIdentifier")):
            names = {}
            for e in emu.journal(service="rds", action=action, account=account):
                src, dst = e["params"].get(skey), e["params"].get(tkey)
                if src is None or dst is None:
                    continue
                calls += 1
                names.setdefault(src, []).append(dst.lower())
            for src, dsts in names.items():
                if len(set(dsts)) > 1:
                    problems.append(f"{account} {action}: {src} copied under {sorted(set(dsts))}")
                reissued += len(dsts) - 1
    return problems, reissued, calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build directory with offsite-backupd")
    ap.add_argument("--soak", action="store_true", help="the long form (make soak)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--kills", type=int, default=None, help="kill budget (default 12, soak 60)")
    ap.add_argument("--keep", action="store_true", help="keep the logs and state databases")
    args = ap.parse_args()

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    log(f"seed {seed}")
    rng = random.Random(seed)
    kills = args.kills if args.kills is not None else (60 if args.soak else 12)
    complete_timeout = 240 if args.soak else 120
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="ob-crash-")
    ok = False
    figure = None
    pipe = None
    try:
        with Emulator(copy_delay=COPY_DELAY) as emu:
            pipe = B.Pipeline(emu, args.build, tmp)
            poison = pipe.poison(POISON)
            sts_base = {n: emu.count("sts", "GetCallerIdentity", n) for n in ("source", "vault")}
            pipe.start("vault")
            pipe.start("source")
            drv = Driver(pipe, rng, kills, SNAPSHOTS, args.soak)
            drv.sts_base = sts_base
            snaps = drv.snaps  # filled as the driver makes them
            res = None
            problems = []
            try:
                drv.run()
                t_kill = time.monotonic() - t0
                log(f"kill phase done in {t_kill:.0f} s: {drv.kills} kills "
                    f"(source {drv.by_daemon['source']}, vault {drv.by_daemon['vault']}; "
                    + ", ".join(f"{k} {v}" for k, v in sorted(drv.kinds.items())) + ")")
                took = pipe.wait_complete(snaps, timeout=complete_timeout)
                log(f"all {len(snaps)} snapshots in the vault {took:.0f} s after the last kill")
                res = pipe.audit(snaps, poison=poison, settle=90)
            except B.Failed as e:
                problems.append(str(e))
                res = getattr(e, "result", None)
                if res is None:
                    # Still count duplicates and losses for the figure.
                    try:
                        res = pipe.audit(snaps, poison=poison, settle=5)
                    except B.Failed as e2:
                        res = getattr(e2, "result", None)
            jproblems, reissued, calls = journal_check(emu, pipe)
            problems += jproblems
            publishes = sum(c["count"] for c in emu.counts(service="sns", action="Publish"))
            log(f"journal: {calls} copy calls, {reissued} re-issued under the same name "
                f"(idempotent), {len(jproblems)} under a second name; {publishes} announcements "
                f"published for {len(snaps)} snapshots")
            try:
                pipe.stop_all()
            except B.Failed as e:
                problems.append(str(e))
            finally:
                pipe.kill_all()  # nothing outlives the campaign
            if res is None:
                res = {"snapshots": len(snaps), "duplicates": "?", "lost": "?"}
            for p in problems:
                print(p, flush=True)
                with open(os.path.join(tmp, "problems.txt"), "a") as f:
                    f.write(p + "\n")
            ok = not problems and res.get("duplicates") == 0 and res.get("lost") == 0
            figure = (f"crash: {drv.kills} kills survived / {res['snapshots']} snapshots / "
                      f"{res['duplicates']} duplicates / {res['lost']} lost")
    except B.Failed as e:
        print(str(e), flush=True)
        ok = False
    finally:
        if pipe is not None:
            pipe.kill_all()
        log(f"{'passed' if ok else 'FAILED'} in {time.monotonic() - t0:.0f} s (seed {seed}); "
            f"logs in {tmp}" if (args.keep or not ok) else
            f"passed in {time.monotonic() - t0:.0f} s (seed {seed})")
        if ok and not args.keep:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    print(figure if figure else "crash: 0 kills survived / 0 snapshots / ? duplicates / ? lost",
          flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
