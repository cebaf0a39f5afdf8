#!/usr/bin/env python3
"""Run the offsite-backup test emulator (obemu) until SIGTERM/SIGINT.

    python3 tests/emulator/launch.py --info /tmp/emu.json [--copy-delay 30]

Listens on 127.0.0.1 on a free port.  Once serving it writes the JSON info
file (endpoint, port, imds_url, control_url, region, accounts with their
keys; mode 0600, written atomically) and prints "ready" on stdout.  On
SIGTERM or SIGINT it stops the server and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from obemu import ACCOUNTS, DEFAULT_REGION, Emulator  # noqa: E402


def _write_info(path: str, info: dict) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--info", metavar="FILE", help="write endpoint, keys etc. as JSON to FILE")
    parser.add_argument("--copy-delay", type=float, default=0.0, metavar="SECONDS",
                        help="CopyDB[Cluster]Snapshot copies stay 'creating' this long (default 0)")
    parser.add_argument("--region", default=DEFAULT_REGION, help=f"default region (default {DEFAULT_REGION})")
    parser.add_argument("--imds-account", choices=list(ACCOUNTS), default="source",
                        help="account whose role credentials IMDS serves (default source)")
    parser.add_argument("--imds-ttl", type=float, default=None, metavar="SECONDS",
                        help="lifetime of IMDS credentials (default 6h)")
    parser.add_argument("--max-clock-skew", type=float, default=900, metavar="SECONDS",
                        help="refuse requests whose X-Amz-Date is further off (default 900, 0: no check)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    emu = Emulator(copy_delay=args.copy_delay, region=args.region, imds_account=args.imds_account,
                   imds_ttl=args.imds_ttl, verbose=args.verbose,
                   max_clock_skew=args.max_clock_skew or None)
    emu.start()
    try:
        if args.info:
            _write_info(args.info, emu.info())
        print("ready", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
