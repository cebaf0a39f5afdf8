#!/usr/bin/env python3
"""The packaged daemon, run for real by systemd under its hardened unit.

    python3 tests/package/sandbox.py DEB

systemd-analyze only scores the unit; this proves the daemon still works
inside the sandbox the unit builds (seccomp filter, no capabilities,
PrivateUsers, ProtectSystem=strict, RestrictAddressFamilies, ...). It needs
no systemd on the machine running it: it boots a throwaway systemd as PID 1
of new PID, mount and cgroup namespaces, on an overlay of this machine's
root file system (writes go to a tmpfs, so the machine is not changed), with
the network shared so that the daemon reaches the test emulator:

1. the emulator (tests/emulator, in this process) with a source and a vault
   account, one DB snapshot in the source account, the vault topic and
   inbox (tests/integration/test_source.py's SourceBed), and an HTTPS front
   end for it on 127.0.0.1 whose test CA is added to the overlay's CA bundle;
2. in the overlay: dpkg -i DEB (so postinst creates the user and enables
   the unit), the configuration filled in as an operator would (role
   source, credentials = instance, every AWS call over HTTPS to
   https://aws.offsite-backup-sandbox.test:PORT, a name a test DNS server
   on 127.0.0.77 resolves (the overlay's resolv.conf points there), IMDSv2
   over HTTP to localhost), left 0640 root:offsite-backup;
3. systemd boots, `systemctl start offsite-backup`, and the checks: the
   unit reaches active (READY=1 through the notify socket), runs as
   offsite-backup, pings the watchdog, creates its database (with -wal)
   0600 in /var/lib/offsite-backup, logs to journald with OB_JOB= fields,
   exports the snapshot (start-up sweep -> copy -> share -> announce; the
   vault inbox receives the announcement) over DNS-resolved, CA-verified
   HTTPS, offsite-backupctl sees the job,
   `systemctl reload` applies, no restart and no SIGSYS happened, and
   `systemctl stop` ends it cleanly.

Needs root, unshare and nsenter (util-linux), overlayfs and a cgroup2
mount, and the emulator (moto) in python3. Prints one line per check and
"package-sandbox: N passed, M failed"; exits 0 only when nothing failed.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path[:0] = [os.path.join(TOP, "tests", "emulator"), os.path.join(TOP, "tests", "integration")]

PASSED = 0
FAILED = 0


def check(ok: bool, what: str, detail: str = "") -> bool:
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok   {what}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL {what}", flush=True)
        for line in detail.rstrip().splitlines()[-40:]:
            print(f"     {line}", flush=True)
    return ok


def wait_until(pred, timeout: float, step: float = 0.5):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


# ---------------------------------------------------------------------------
# an HTTPS front end for the emulator
# ---------------------------------------------------------------------------

def make_ca_and_cert(d: str) -> tuple[str, str, str]:
    """A test CA and a localhost server certificate signed by it."""
    ca_key, ca_pem = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, pem = os.path.join(d, "srv.key"), os.path.join(d, "srv.csr"), os.path.join(d, "srv.pem")
    ext = os.path.join(d, "srv.ext")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=offsite-backup sandbox test CA", "-keyout", ca_key, "-out", ca_pem,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{TEST_NAME},DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-extfile", ext, "-out", pem)
    return ca_pem, pem, key


class TlsFront:
    """TLS on 127.0.0.1:<free port>, bytes passed through to backend_port."""

    def __init__(self, backend_port: int, cert: str, key: str) -> None:
        self.backend_port = backend_port
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(self, c) -> None:
        try:
            t = self.ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError):
            c.close()
            return
        self.handshakes += 1
        b = socket.create_connection(("127.0.0.1", self.backend_port))
        threading.Thread(target=self._pipe, args=(b, t), daemon=True).start()
        self._pipe(t, b)

    def close(self) -> None:
        self.stopping = True
        self.sock.close()


# ---------------------------------------------------------------------------
# a DNS server for the test name
# ---------------------------------------------------------------------------

DNS_ADDR = "127.0.0.77"   # any loopback address; the overlay's resolv.conf names it
TEST_NAME = "aws.offsite-backup-sandbox.test"


class TinyDns:
    """UDP DNS on DNS_ADDR:53: A TEST_NAME -> 127.0.0.1, an empty answer for
    any other question about TEST_NAME, NXDOMAIN for the rest."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((DNS_ADDR, 53))
        self.answered = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                q, peer = self.sock.recvfrom(512)
            except OSError:
                return
            try:
                self.sock.sendto(self._answer(q), peer)
            except (OSError, IndexError, ValueError):
                pass

    def _answer(self, q: bytes) -> bytes:
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        qtype = int.from_bytes(q[i + 1:i + 3], "big")
        question = q[12:i + 5]
        name = ".".join(labels).lower().rstrip(".")
        flags = 0x8180  # response, recursion desired + available, NOERROR
        answers = b""
        if name != TEST_NAME:
            flags |= 3  # NXDOMAIN
        elif qtype == 1:
            answers = (b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big")
                       + (60).to_bytes(4, "big") + (4).to_bytes(2, "big") + socket.inet_aton("127.0.0.1"))
            self.answered += 1
        head = (q[:2] + flags.to_bytes(2, "big") + (1).to_bytes(2, "big")
                + (1 if answers else 0).to_bytes(2, "big") + b"\x00\x00\x00\x00")
        return head + question + answers

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------------------
# a throwaway systemd on an overlay of /
# ---------------------------------------------------------------------------

BOOT = r"""
set -eu
R=$D/root
mount -t tmpfs -o mode=0755 tmpfs "$D/rw"
mkdir "$D/rw/upper" "$D/rw/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$D/rw/upper,workdir=$D/rw/work" "$R"
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# The package, installed as an administrator would (no systemd running yet:
# postinst creates the user and enables the unit).
cp "$D/in/offsite-backup.deb" "$R/var/cache/offsite-backup-sandbox.deb"
chroot "$R" env -i PATH=$PATH DEBIAN_FRONTEND=noninteractive \
	dpkg -i /var/cache/offsite-backup-sandbox.deb >"$D/dpkg.log" 2>&1
rm -f "$R/var/cache/offsite-backup-sandbox.deb"
# The operator fills in the configuration, keeping its mode and group.
cat "$D/in/offsite-backup.conf" >"$R/etc/offsite-backup.conf"
chroot "$R" stat -c '%a %U:%G' /etc/offsite-backup.conf >"$D/conf.stat"
# The emulator's HTTPS front end is signed by the test CA; its name is
# resolved by the test DNS server (glibc's resolver: nss "dns", UDP).
cat "$D/in/ca.pem" >>"$R/etc/ssl/certs/ca-certificates.crt"
rm -f "$R/etc/resolv.conf"
echo "nameserver $DNS_ADDR" >"$R/etc/resolv.conf"
# Boot to a target that starts nothing but journald; keep this machine's
# timers and periodic jobs out of the throwaway system.
cat >"$R/etc/systemd/system/offsite-backup-sandbox.target" <<'EOF'
[Unit]
Description=offsite-backup sandbox test
Wants=systemd-journald.service
EOF
for u in timers.target getty.target systemd-timesyncd.service systemd-pstore.service \
	console-getty.service; do
	ln -sf /dev/null "$R/etc/systemd/system/$u"
done
# pivot_root, not chroot: in a chroot the kernel refuses new user namespaces
# (unshare(CLONE_NEWUSER) fails with EPERM), which PrivateUsers= needs.
mkdir "$R/.old-root"
cd "$R"
pivot_root . .old-root
umount -l /.old-root
rmdir /.old-root
exec /usr/bin/env -i container=offsite-backup-sandbox PATH=$PATH \
	/lib/systemd/systemd --system systemd.unit=offsite-backup-sandbox.target \
	systemd.unified_cgroup_hierarchy=1 systemd.show_status=0
"""


def cgroup2_root() -> str:
    """This process's cgroup2 directory."""
    mnt = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                mnt = left.split()[4]
                break
    if mnt is None:
        raise RuntimeError("no cgroup2 mount")
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return os.path.join(mnt, line[3:].strip().lstrip("/"))
    return mnt


class Sandbox:
    def __init__(self, work: str) -> None:
        self.work = work
        for sub in ("rw", "root", "in"):
            os.makedirs(os.path.join(work, sub), exist_ok=True)
        self.cgroup = os.path.join(cgroup2_root(), f"offsite-backup-sandbox-{os.getpid()}")
        self.proc: subprocess.Popen | None = None
        self.pid = 0  # systemd, as this namespace sees it

    def boot(self, timeout: float = 60) -> str:
        os.mkdir(self.cgroup)
        # sh puts itself in the new cgroup, then becomes unshare: the cgroup
        # namespace is rooted there, so systemd manages only that subtree.
        self.proc = subprocess.Popen(
            ["sh", "-c", 'echo $$ >"$CG/cgroup.procs" && exec unshare --mount --pid --fork '
             '--cgroup --propagation private --kill-child sh -c "$BOOT"'],
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CG": self.cgroup, "BOOT": BOOT,
                 "D": self.work, "DNS_ADDR": DNS_ADDR},
            stdin=subprocess.DEVNULL, stdout=open(os.path.join(self.work, "boot.log"), "wb"),
            stderr=subprocess.STDOUT, start_new_session=True)

        def systemd_pid():
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    kids = f.read().split()
                for k in kids:
                    with open(f"/proc/{k}/comm") as f:
                        if f.read().strip() == "systemd":
                            return int(k)
            except OSError:
                pass
            return 0

        self.pid = wait_until(systemd_pid, timeout, 0.2)
        if not self.pid:
            return "systemd did not start:\n" + self.log("boot.log") + self.log("dpkg.log")
        state = wait_until(lambda: self.sh("systemctl is-system-running").stdout.strip()
                           in ("running", "degraded") and "up", timeout)
        if not state:
            return "systemd did not finish booting: " + self.sh("systemctl is-system-running").stdout
        return ""

    def log(self, name: str) -> str:
        try:
            with open(os.path.join(self.work, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sh(self, script: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a shell script inside the throwaway system."""
        return subprocess.run(["nsenter", "-t", str(self.pid), "-a", "-r", "-w",
                               "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                               "LC_ALL=C.UTF-8", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=",
                               "sh", "-c", script],
                              capture_output=True, text=True, timeout=timeout)

    def shutdown(self) -> None:
        if self.proc is None:
            return
        if self.pid:
            try:
                self.sh("systemctl poweroff --no-block", timeout=10)
            except (subprocess.SubprocessError, OSError):
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            if self.pid:
                try:
                    os.kill(self.pid, signal.SIGKILL)  # PID 1 of the namespace: all of it
                except ProcessLookupError:
                    pass
            self.proc.kill()
            self.proc.wait()
        # The namespaces are gone with their processes; so are the overlay
        # and its tmpfs. What is left: the cgroup subtree.
        for _ in range(50):
            try:
                for root, dirs, _files in os.walk(self.cgroup, topdown=False):
                    for d in dirs:
                        os.rmdir(os.path.join(root, d))
                os.rmdir(self.cgroup)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.2)


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------

def config_text(emu, bed, https_port: int) -> str:
    https = f"https://{TEST_NAME}:{https_port}"
    return "\n".join([
        "[daemon]",
        "role = source",
        f"region = {emu.region}",
        f"queue_url = {https}/{bed.src}/offsite-backup-events",
        "poll_interval = 1s",
        "log_level = debug",
        "",
        "[aws]",
        "credentials = instance",
        f"endpoint_url = {https}",
        f"imds_url = http://localhost:{emu.port}",
        "",
        "[source]",
        f"export_kms_key = {bed.kms_key_arn}",
        f"target_account = {bed.vault}",
        f"notify_topic_arn = {bed.topic_arn}",
        "",
    ])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} DEB", file=sys.stderr)
        return 2
    deb = os.path.abspath(argv[1])
    if os.geteuid() != 0:
        print("package-sandbox: needs root; 0 passed, 1 failed")
        return 1
    for tool in ("unshare", "nsenter", "openssl"):
        if shutil.which(tool) is None:
            print(f"package-sandbox: {tool} is missing; 0 passed, 1 failed")
            return 1

    from obemu import Emulator
    import test_source  # SourceBed: the source and vault side of a test

    work = tempfile.mkdtemp(prefix="ob-sandbox.")
    os.chmod(work, 0o755)
    emu = Emulator(copy_delay=0).start()
    front = dns = None
    sbx = Sandbox(work)
    try:
        bed = test_source.SourceBed(emu)
        bed.create_instance("orders-prod")
        snap = bed.create_snapshot("orders-prod", "orders-prod-sandbox")
        ca, cert, key = make_ca_and_cert(os.path.join(work, "in"))
        front = TlsFront(emu.port, cert, key)
        dns = TinyDns()
        shutil.copy(deb, os.path.join(work, "in", "offsite-backup.deb"))
        with open(os.path.join(work, "in", "offsite-backup.conf"), "w") as f:
            f.write(config_text(emu, bed, front.port))

        err = sbx.boot()
        if not check(not err, "a throwaway systemd boots on an overlay of / (package installed in it)",
                     err):
            return 1
        check(sbx.log("conf.stat").strip() == "640 root:offsite-backup",
              f"filled-in configuration kept 0640 root:offsite-backup ({sbx.log('conf.stat').strip()})")
        r = sbx.sh("systemctl is-enabled offsite-backup; systemctl is-active offsite-backup")
        check(r.stdout.split() == ["enabled", "inactive"],
              "after boot: enabled, not started", r.stdout + r.stderr)
        r = sbx.sh("offsite-backupd --check-config")
        check(r.returncode == 0, "offsite-backupd --check-config on the filled-in file",
              r.stdout + r.stderr)

        started = time.time()
        r = sbx.sh("systemctl start offsite-backup", timeout=90)
        journal = lambda: sbx.sh("journalctl -b -u offsite-backup --no-pager -o short-monotonic").stdout  # noqa: E731
        check(r.returncode == 0, "systemctl start offsite-backup (Type=notify: waits for READY=1)",
              r.stdout + r.stderr + journal())
        props = lambda: dict(  # noqa: E731
            line.split("=", 1) for line in sbx.sh(
                "systemctl show offsite-backup -p ActiveState -p SubState -p MainPID -p NRestarts "
                "-p Result -p ExecMainStatus -p ExecMainCode -p StatusText -p WatchdogUSec "
                "-p WatchdogTimestampMonotonic -p User").stdout.splitlines() if "=" in line)
        p = props()
        check(p.get("ActiveState") == "active" and p.get("SubState") == "running",
              f"unit active (running), status: {p.get('StatusText', '')}", json.dumps(p, indent=1))
        check(p.get("WatchdogUSec") in ("1min", "60000000"), f"watchdog armed ({p.get('WatchdogUSec')})")
        mainpid = p.get("MainPID", "0")
        r = sbx.sh(f"stat -c '%U:%G' /proc/{mainpid}; grep -E '^(Cap(Eff|Prm|Bnd)|NoNewPrivs|Seccomp):' "
                   f"/proc/{mainpid}/status")
        st = r.stdout.split()
        check(st[:1] == ["offsite-backup:offsite-backup"], "daemon runs as offsite-backup", r.stdout + r.stderr)
        status = dict(zip(st[1::2], st[2::2]))
        check(status.get("CapEff:") == "0000000000000000" and status.get("CapBnd:") == "0000000000000000",
              "no capabilities (effective and bounding set empty)", r.stdout)
        check(status.get("NoNewPrivs:") == "1" and status.get("Seccomp:") == "2",
              "no_new_privs set, seccomp filter active", r.stdout)

        # The start-up sweep finds the snapshot: copy, share, announce.
        def announced():
            msgs = bed.vsqs.receive_message(QueueUrl=bed.inbox_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=1).get("Messages", [])
            return [m for m in msgs if snap.arn in m["Body"]]
        got = wait_until(announced, 90, 0.2)
        check(bool(got), "the snapshot is exported and announced to the vault (HTTPS, IMDSv2, SQLite)",
              journal())
        check(front.handshakes > 0,
              f"AWS calls went over HTTPS, verified against the CA bundle ({front.handshakes} TLS handshakes)")
        check(dns.answered > 0, f"the AWS endpoint's name was resolved over DNS ({dns.answered} answers)")
        r = sbx.sh("offsite-backupctl --json list")
        try:
            jobs = json.loads(r.stdout)["jobs"]
        except (ValueError, KeyError):
            jobs = []
        check(any(j.get("source_arn") == snap.arn and j.get("state") == "notified" for j in jobs),
              "offsite-backupctl list: the job is notified", r.stdout + r.stderr)
        r = sbx.sh("stat -c '%n %a %U:%G' /var/lib/offsite-backup /var/lib/offsite-backup/state.db "
                   "/var/lib/offsite-backup/state.db-wal")
        lines = r.stdout.splitlines()
        check(lines == ["/var/lib/offsite-backup 750 offsite-backup:offsite-backup",
                        "/var/lib/offsite-backup/state.db 600 offsite-backup:offsite-backup",
                        "/var/lib/offsite-backup/state.db-wal 600 offsite-backup:offsite-backup"],
              "state directory 0750, database and WAL 0600, owned by offsite-backup",
              r.stdout + r.stderr)
        r = sbx.sh("journalctl -b -u offsite-backup --no-pager -o json OB_SNAPSHOT=" + snap.arn)
        fields = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        check(any(f.get("OB_JOB") and f.get("OB_STATE") for f in fields),
              f"journald has the job's lines with OB_JOB=/OB_STATE= ({len(fields)} lines)",
              r.stdout + r.stderr)
        j = journal()
        check("role source, account " + bed.src in j, "journal: start-up line (role, account)", j)

        check(wait_until(lambda: props().get("WatchdogTimestampMonotonic", "0") not in ("0", ""), 40),
              "the daemon pings the watchdog (WATCHDOG=1 received)", json.dumps(props(), indent=1))

        r = sbx.sh("systemctl reload offsite-backup", timeout=60)
        ok = r.returncode == 0 and wait_until(lambda: "reload: /etc/offsite-backup.conf applied" in journal(), 20)
        check(bool(ok), "systemctl reload (SIGHUP) applies the configuration", r.stderr + journal())
        p = props()
        check(p.get("ActiveState") == "active", "still active after the reload", json.dumps(p, indent=1))

        j = journal()
        bad = [line for line in j.splitlines()
               if any(w in line for w in ("SIGSYS", "Bad system call", "core-dump", "Operation not permitted",
                                          "Permission denied", "Read-only file system",
                                          "Address family not supported"))]
        check(not bad, "no sandbox denial in the journal", "\n".join(bad))
        check(p.get("NRestarts") == "0", f"no restart (NRestarts={p.get('NRestarts')})")

        t0 = time.monotonic()
        r = sbx.sh("systemctl stop offsite-backup", timeout=60)
        took = time.monotonic() - t0
        p = props()
        check(r.returncode == 0 and p.get("ActiveState") == "inactive" and p.get("Result") == "success"
              and p.get("ExecMainStatus") == "0",
              f"systemctl stop: clean exit 0 in {took:.1f}s", json.dumps(p, indent=1) + journal())
        print(f"     (daemon ran {time.time() - started:.0f}s under the unit)")
        return 0
    finally:
        sbx.shutdown()
        if front is not None:
            front.close()
        if dns is not None:
            dns.close()
        emu.stop()
        shutil.rmtree(work, ignore_errors=True)
        print(f"package-sandbox: {PASSED} passed, {FAILED} failed", flush=True)


if __name__ == "__main__":
    rc = main(sys.argv)
    sys.exit(rc if rc else (1 if FAILED else 0))
