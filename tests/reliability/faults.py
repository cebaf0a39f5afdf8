#!/usr/bin/env python3
"""faults.py --build DIR [--soak] [--seed N] - faults on the wire (issue 6, campaign 2).

The real daemons (one source, one vault) run against the in-process emulator
(tests/emulator/obemu.py) through the shared test bed (bed.py), while the
emulator's fault injection hits about 20 % of every call the daemons make,
in both accounts and on every service and action they use (RDS, SQS, SNS,
and STS / KMS if ever called): the rules match `agent="offsite-backup/"`
(the daemons' User-Agent), so the test's own boto3 calls (making snapshots,
announcing them through EventBridge, the audit) are never faulted.

The faults, about equal shares of the five kinds:

  5xx       500 InternalFailure / 503 ServiceUnavailable, both before the
            call (not executed) and after it (executed in moto, the reply
            replaced: a copy, share, publish or delete that happened but
            whose answer says it failed);
  throttle  Throttling (Query services) / RequestThrottled (SQS);
  drop      the connection closed without a reply byte, before and after
            the call was executed;
  stall     the reply held back 10 s (before and after execution; the
            daemon's transport has a 60 s total timeout per request, so an
            ordinary call just takes longer, and a ReceiveMessage long poll
            of up to 20 s plus a 10 s stall still ends within it);
  truncate  moto executes the call; the headers announce the full body,
            half of it is sent and the socket closes.

On top of that, once copies are in flight, the source account's RDS goes
away for OUTAGE_S seconds (503 for every daemon RDS call the random rules
leave alone), with the source daemon's max_attempts at 2: a transient
outage must delay jobs, never fail them (they resume by themselves when the
service is back; the RPO watch is what tells an operator about a long one).

Every snapshot must still reach the vault (one export copy, shared, one
verified vault copy: bed.audit()), with no duplicate copy anywhere, no job
failed or stuck, both queues drained, no real message dead-lettered, and no
daemon exiting by itself (checked every second) or uncleanly on SIGTERM.
Everything is read from the emulator (boto3, the fault rules' counters),
never from the daemons' report of themselves.

Prints `faults: seed N`, a line with the calls and the faulted fraction,
and exactly one figure line at the end:

    faults: <injected> faults injected / <completed> snapshots completed / <duplicates> duplicates

exit 0 only when every snapshot completed, there is no duplicate, no daemon
exited and the audit passed. 30 snapshots (make check), 100 with --soak.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bed as B  # noqa: E402  (puts tests/emulator and tests/integration on the path)
from obemu import Emulator  # noqa: E402

AGENT = "offsite-backup/"   # the daemons' User-Agent (include/ob/version.h)
RATE = 0.20                 # of all the daemons' calls
STALL_S = 10.0
OUTAGE_AT_S = 25.0          # after the snapshots are announced
OUTAGE_S = 30.0             # the source's RDS answers 503 to the daemons
OUTAGE_MAX_ATTEMPTS = "2"   # the source daemon's max_attempts

# (kind, when, share of the faulted calls): five kinds, about a fifth each.
MIX = [
    ("error500", "before", 0.05), ("error500", "after", 0.05),
    ("error503", "before", 0.05), ("error503", "after", 0.05),
    ("throttle", "before", 0.20),
    ("drop", "before", 0.10), ("drop", "after", 0.10),
    ("stall", "before", 0.10), ("stall", "after", 0.10),
    ("truncate", "after", 0.20),
]


def say(*args):
    print("faults:", *args, flush=True)


def inject_all(emu, seed):
    """One rule per (kind, when), all services, actions and accounts, only
    the daemons' requests. Rules are tried in order and the first that fires
    wins, so rule i fires with p_i = share_i / (1 - earlier shares) of what
    reaches it: RATE * share_i of all calls overall."""
    ids, left = [], 1.0
    for i, (kind, when, share) in enumerate(MIX):
        want = RATE * share
        p = min(1.0, want / left)
        left -= want
        spec = dict(probability=p, seed=seed * 1000 + i, when=when, agent=AGENT)
        if kind == "stall":
            spec["seconds"] = STALL_S
        ids.append(emu.inject("*", "*", kind=kind, **spec))
    return ids


def fault_stats(emu, ids):
    rules = {r["id"]: r for r in emu.fault_rules()}
    mine = [rules[i] for i in ids if i in rules]
    daemon_calls = mine[0]["matched"] if mine else 0   # the first rule sees every daemon call
    by_kind = {}
    for r in mine:
        key = f"{r['kind']}/{r['when']}"
        by_kind[key] = by_kind.get(key, 0) + r["fired"]
    return sum(r["fired"] for r in mine), daemon_calls, by_kind


class Outage:
    """during(): from OUTAGE_AT_S after start, OUTAGE_S seconds of 503 on
    every daemon RDS call in the source account."""

    def __init__(self, emu, p):
        self.emu, self.p, self.t0, self.rule, self.fired = emu, p, time.monotonic(), None, 0
        self.done = False
        self.next_look = 0.0

    def __call__(self):
        t = time.monotonic() - self.t0
        if t >= self.next_look:  # a failed job never completes: say so at once
            self.next_look = t + 3.0
            for d in self.p.daemons.values():
                bad = [j for j in d.jobs() if j.get("state") == "failed"]
                if bad:
                    raise B.Failed(f"{d.name}: {len(bad)} job(s) failed, e.g. {bad[0].get('id')} "
                                   f"from {bad[0].get('failed_from')}: {bad[0].get('error_message')}")
        if self.rule is None and not self.done and t >= OUTAGE_AT_S:
            self.rule = self.emu.inject("rds", "*", kind="error503", account="source",
                                        probability=1.0, agent=AGENT)
            say(f"outage: the source's RDS is down for {OUTAGE_S:.0f} s")
        elif self.rule is not None and t >= OUTAGE_AT_S + OUTAGE_S:
            self.end()

    def end(self):
        if self.rule is not None:
            self.fired = next((r["fired"] for r in self.emu.fault_rules() if r["id"] == self.rule), 0)
            self.emu.clear_faults(self.rule)
            self.rule = None
            self.done = True
            say(f"outage over: {self.fired} calls refused")


def count_duplicates(p, snaps):
    """Export copies and vault copies beyond the first, per snapshot (the
    audit's count, also when the audit fails for another reason)."""
    exports = {}
    for kind, ident, arn, s in p._snapshots("source"):
        src = s["_tags"].get(B.TAG_SOURCE_ARN)
        if src:
            exports.setdefault(src, []).append(arn)
    vault = p.vault_copies()
    dup = 0
    for snap in snaps:
        mine = exports.get(snap.arn, [])
        dup += max(0, len(mine) - 1)
        for arn in mine:
            dup += max(0, len(vault.get(arn, [])) - 1)
    return dup


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--soak", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--snapshots", type=int, default=None, help="override 30 / 100")
    ap.add_argument("--timeout", type=float, default=None, help="seconds to wait for completion")
    ap.add_argument("--keep", metavar="DIR", help="keep configs, logs and state databases in DIR")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    n = args.snapshots or (100 if args.soak else 30)
    timeout = args.timeout or (900 if args.soak else 200)
    say(f"seed {seed}")
    random.seed(seed)

    injected = completed = duplicates = 0
    ok = False
    t0 = time.monotonic()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        tmpdir = contextlib.nullcontext(os.path.abspath(args.keep))
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="ob-faults-")
    with tmpdir as tmp, Emulator(copy_delay=3) as emu:
        p = None
        ids = []
        snaps = []
        outage = None
        try:
            p = B.Pipeline(emu, os.path.abspath(args.build), tmp,
                           source_daemon={"max_attempts": OUTAGE_MAX_ATTEMPTS})
            ids = inject_all(emu, seed)
            # The snapshots exist (and are backdated in moto's memory, which
            # AWS could never do) before the source starts: its start-up sweep
            # must never see one before its backdating. The sweep and the
            # events then race for the jobs (duplicates map to one job).
            snaps = p.snapshots(n)
            p.start("vault")
            p.start("source")
            outage = Outage(emu, p)
            p.put(snaps)
            took = p.wait_complete(snaps, timeout=timeout, during=outage)
            outage.end()
            if not outage.done:
                raise B.Failed("the pipeline finished before the outage began")
            say(f"{n} snapshots in the vault after {took:.0f} s")
            audit = p.audit(snaps, settle=60)
            p.check_alive()
            ok = True
            say(f"audit: {audit}")
        except B.Failed as e:
            say("FAILED:", e)
        except Exception:  # a bug in the campaign itself
            say("ERROR:", traceback.format_exc())
        finally:
            try:
                if p is not None:
                    completed = len(p.completed(snaps)) if snaps else 0
                    duplicates = count_duplicates(p, snaps) if snaps else 0
            except Exception as e:  # noqa: BLE001
                say(f"cannot count the outcome: {e}")
                ok = False
            injected, daemon_calls, by_kind = fault_stats(emu, ids) if ids else (0, 0, {})
            if outage is not None:
                outage.end()
                injected += outage.fired
            emu.clear_faults()
            rows = emu.counts()
            total = sum(r["count"] for r in rows)
            faulted = sum(r["faulted"] for r in rows)
            if p is not None:
                try:
                    p.stop_all()
                except B.Failed as e:
                    say("FAILED:", e)
                    ok = False
            random_faults = faulted - (outage.fired if outage else 0)
            frac = random_faults / daemon_calls if daemon_calls else 0.0
            say(f"calls: {daemon_calls} by the daemons ({total} counted in all), "
                f"{random_faults} faulted at random = {100 * frac:.1f} % of the daemons' calls, "
                f"+ {outage.fired if outage else 0} in the outage; "
                f"by kind: {', '.join(f'{k} {v}' for k, v in by_kind.items())}; "
                f"{time.monotonic() - t0:.0f} s")
    if completed != n or duplicates:
        ok = False
    print(f"faults: {injected} faults injected / {completed} snapshots completed / "
          f"{duplicates} duplicates", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
