"""The systemd notify protocol, through a test NOTIFY_SOCKET.

The daemon runs as systemd would start it (NOTIFY_SOCKET, WATCHDOG_USEC,
WATCHDOG_PID) against the emulator; a datagram socket owned by the test
collects what it sends: READY=1 only after start-up (identity proven, state
database migrated), STATUS= with job counts, WATCHDOG=1 at half the interval
also while it sits in a 20 s long poll, RELOADING=1/READY=1 around a SIGHUP
(a bad file keeps the old configuration), STOPPING=1 on SIGTERM.
"""
import os
import signal
import socket
import subprocess
import sqlite3
import threading
import time

import run as R  # noqa: E402  (loaded by run.py, which is on sys.path)


class Notify:
    """A NOTIFY_SOCKET: every datagram, with its arrival time."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []  # (monotonic time, text)
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data.decode()))

    def lines(self):
        with self.lock:
            return [(t, line) for t, m in self.msgs for line in m.split("\n") if line]

    def wait_for(self, text, timeout=20, after=0.0):
        deadline = time.monotonic() + R.scaled(timeout)
        while time.monotonic() < deadline:
            for t, line in self.lines():
                if t >= after and line.startswith(text):
                    return t, line
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} from the daemon; got {self.lines()!r}")

    def close(self):
        self.done = True
        self.thread.join(2)
        self.sock.close()


class TestNotify(R.Case):
    def start(self, cfg, watchdog_usec=2_000_000):
        self.notify = Notify(os.path.join(self.tmp.name, "notify.sock"))
        self.addCleanup(self.notify.close)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify.path,
                   WATCHDOG_USEC=str(watchdog_usec))
        env.pop("JOURNAL_STREAM", None)
        proc = subprocess.Popen([os.path.join(R.BUILD, "offsite-backupd"), "--config", cfg,
                                 "--foreground"], stderr=subprocess.PIPE, text=True, env=env)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)
        return proc

    def config(self, **daemon):
        R.EMU.client("sqs").create_queue(QueueName="offsite-backup-events")
        keys = {"state_db": os.path.join(self.tmp.name, "state.db"), "poll_interval": "1s",
                "sweep_interval": "0"}
        keys.update(daemon)
        text = R.config_text(R.EMU, state_db=keys.pop("state_db"), daemon=keys)
        return self.write_config(text)

    def test_ready_status_watchdog_reload_stopping(self):
        cfg = self.config()
        proc = self.start(cfg)
        t_ready, _ = self.notify.wait_for("READY=1")
        # READY only after the identity was proven and the database migrated
        self.assertGreater(R.EMU.count("sts", "GetCallerIdentity"), 0)
        db = sqlite3.connect(os.path.join(self.tmp.name, "state.db"))
        self.assertGreaterEqual(db.execute("PRAGMA user_version").fetchone()[0], 1)
        db.close()
        _, status = self.notify.wait_for("STATUS=source:")
        self.assertEqual(status, "STATUS=source: no jobs")

        # Watchdog pings keep coming while the daemon sits in 20 s long polls:
        # WATCHDOG_USEC 2 s means a ping about every second.
        time.sleep(5)
        pings = [t for t, line in self.notify.lines() if line == "WATCHDOG=1" and t > t_ready]
        self.assertGreaterEqual(len(pings), 3, self.notify.lines())
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertLess(max(gaps), 2.0, f"watchdog gaps {gaps}")
        self.assertGreater(R.EMU.count("sqs", "ReceiveMessage"), 0)

        # A valid reload: RELOADING=1 then READY=1.
        t0 = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        t_rel, _ = self.notify.wait_for("RELOADING=1", after=t0)
        self.notify.wait_for("READY=1", after=t_rel)

        # A bad file: refused with file:line, old configuration stays, and the
        # daemon keeps serving (and pinging).
        with open(cfg, "a") as f:
            f.write("poll_interval = soon\n")
        t1 = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        t_rel, _ = self.notify.wait_for("RELOADING=1", after=t1)
        self.notify.wait_for("READY=1", after=t_rel)
        self.notify.wait_for("WATCHDOG=1", after=t_rel + 0.1, timeout=5)
        self.assertIsNone(proc.poll())

        t2 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        self.notify.wait_for("STOPPING=1", after=t2, timeout=10)
        rc = proc.wait(timeout=10)
        err = proc.stderr.read()
        self.assertEqual(rc, 0, err)
        self.assertIn(f"{cfg}:", err)          # the file:line diagnostic
        self.assertIn("poll_interval", err)
        self.assertIn("keeping the running configuration", err)
        self.assert_no_secret(err)

    def test_no_ready_when_the_database_cannot_be_opened(self):
        cfg = self.config(state_db="/proc/ob-no-such-dir/state.db")
        proc = self.start(cfg)
        rc = proc.wait(timeout=30)
        err = proc.stderr.read()
        self.assertEqual(rc, 1, err)
        self.assertIn("job database", err)
        self.assertNotIn("READY=1", [line for _, line in self.notify.lines()])
