#!/usr/bin/env python3
"""vglog.py - read a directory of valgrind memcheck logs (vg.<pid>.log).

Used by tests/integration/run.py --valgrind and tests/memory/valgrind.sh;
also a command of its own:

    vglog.py DIR      print every problem with its log excerpt and the line
                      "valgrind: <N> processes checked, <E> errors,
                      <B> bytes definitely lost"; exit 1 on any problem.

A problem is any memcheck error block (invalid read/write/free, use of
uninitialised values, overlapping copies, fishy arguments, definitely or
indirectly lost blocks), a LEAK SUMMARY with "definitely lost" or
"indirectly lost" above 0, or an ERROR SUMMARY above 0. A log without an
ERROR SUMMARY belongs to a process that was killed (SIGKILL from a test):
its error blocks still count, but it could not report leaks, so it is
counted as "killed" rather than "checked".
"""
import glob
import os
import re
import sys

# First line of a memcheck error block (after the "==PID== " prefix).
ERROR_START = re.compile(
    r"^(Invalid (read|write|free|realloc)|Mismatched free|"
    r"Conditional jump or move depends on uninitialised|"
    r"Use of uninitialised value|Syscall param .* uninitialised|"
    r"Syscall param .* unaddressable|"
    r"Source and destination overlap|Argument '.*' of function .* has a fishy|"
    r"Invalid alignment|.* bytes in .* blocks are (definitely|indirectly) lost|"
    r"Jump to the invalid address|Process terminating with default action of signal 11)")
PREFIX = re.compile(r"^==(\d+)== ?(.*)$")
LOST = re.compile(r"^\s*(definitely|indirectly) lost: ([\d,]+) bytes in ([\d,]+) blocks")
ERRSUM = re.compile(r"^ERROR SUMMARY: ([\d,]+) errors from ([\d,]+) contexts")
COMMAND = re.compile(r"^Command: (.*)$")


def _num(text):
    return int(text.replace(",", ""))


class Log:
    """One process's log: command, error blocks, leak and error summaries."""

    def __init__(self, path):
        self.path = path
        self.command = "?"
        self.blocks = []          # [lines] of each error block
        self.definite = 0         # bytes definitely lost (LEAK SUMMARY)
        self.indirect = 0
        self.errors = None        # ERROR SUMMARY count; None: the process was killed
        with open(path, errors="replace") as f:
            body = [PREFIX.match(ln.rstrip("\n")) for ln in f]
        lines = [m.group(2) for m in body if m]
        block = None
        for ln in lines:
            if block is not None:
                if ln.strip() == "":
                    self.blocks.append(block)
                    block = None
                else:
                    block.append(ln)
                continue
            if ERROR_START.match(ln):
                block = [ln]
                continue
            m = COMMAND.match(ln)
            if m:
                self.command = m.group(1)
            m = LOST.match(ln)
            if m:
                if m.group(1) == "definitely":
                    self.definite = _num(m.group(2))
                else:
                    self.indirect = _num(m.group(2))
            m = ERRSUM.match(ln)
            if m:
                self.errors = _num(m.group(1))
        if block:
            self.blocks.append(block)

    @property
    def killed(self):
        return self.errors is None

    def problems(self):
        """Human-readable problems, each with its excerpt; [] when clean."""
        out = []
        for b in self.blocks:
            out.append("\n".join("    " + ln for ln in b[:40]))
        if self.definite or self.indirect:
            out.append(f"    LEAK SUMMARY: definitely lost {self.definite} bytes, "
                       f"indirectly lost {self.indirect} bytes")
        if self.errors and not self.blocks:
            out.append(f"    ERROR SUMMARY: {self.errors} errors (see the log)")
        return out


def summarize(log_dir):
    """(logs, problems): every Log in log_dir and a list of (log, [problem])."""
    logs = [Log(p) for p in sorted(glob.glob(os.path.join(log_dir, "vg.*.log")))]
    return logs, [(lg, lg.problems()) for lg in logs if lg.problems()]


def report(log_dir, out=sys.stdout):
    """Print the problems and the figure line; return the number of errors."""
    logs, problems = summarize(log_dir)
    for lg, probs in problems:
        print(f"valgrind: {lg.path}: {lg.command}", file=out)
        for p in probs:
            print(p, file=out)
    checked = sum(1 for lg in logs if not lg.killed)
    killed = len(logs) - checked
    errors = sum(max(lg.errors or 0, len(lg.blocks)) for lg in logs) + \
        sum(1 for lg in logs if (lg.definite or lg.indirect) and not lg.errors)
    definite = sum(lg.definite for lg in logs)
    if killed:
        print(f"valgrind: {killed} processes were killed (SIGKILL) and could not "
              "report leaks; their logs were read for errors", file=out)
    print(f"valgrind: {checked} processes checked, {errors} errors, "
          f"{definite} bytes definitely lost", file=out)
    return errors if logs else -1


def main(argv):
    if len(argv) != 2:
        print("usage: vglog.py DIR", file=sys.stderr)
        return 2
    n = report(argv[1])
    if n < 0:
        print("valgrind: no logs found", file=sys.stderr)
        return 1
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
