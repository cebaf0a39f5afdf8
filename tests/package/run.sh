#!/bin/sh
# Package test: lint the Debian package, score the systemd unit's sandbox
# (systemd-analyze security, exposure <= 2.0), run the packaged daemon under
# the unit in a throwaway systemd (sandbox.py, when the emulator is present),
# then install the package on this machine with dpkg -i, inspect what it
# installed, and purge it again.
#
# usage: tests/package/run.sh BUILD_DIR
#   BUILD_DIR is the make build directory; the package is the one `make deb`
#   left in BUILD_DIR/deb/ (offsite-backup_<version>_<arch>.deb).
#
# Needs root (re-runs itself through sudo when it can). It refuses to run
# when offsite-backup is already installed, or when its files are present
# without the package (a `make install`), so it never touches a real
# installation. It leaves the machine as it found it: the package is purged
# even when a check fails, and the system user offsite-backup, which a purge
# keeps on purpose, is deleted again when this test created it.
#
# Prints one line per check and a final "package: N passed, M failed";
# exits 0 only when nothing failed.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo sh "$0" "$@"
	fi
	echo "package: needs root (dpkg -i); 0 passed, 1 failed" >&2
	exit 1
fi

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "package: no directory $1" >&2; exit 2; }
PKG=offsite-backup
USER_NAME=offsite-backup
CONF=/etc/offsite-backup.conf
UNIT=/lib/systemd/system/offsite-backup.service
WANTS=/etc/systemd/system/multi-user.target.wants/offsite-backup.service
STATE=/var/lib/offsite-backup
MAX_EXPOSURE=2.0
ARCH=$(dpkg --print-architecture)
VERSION=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
DEB=$BUILD/deb/${PKG}_${VERSION}_${ARCH}.deb

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
# check DESCRIPTION COMMAND...: pass when COMMAND succeeds.
check() {
	d=$1
	shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}
finish() {
	echo "package: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

# mode_is PATH MODE OWNER:GROUP
mode_is() {
	got=$(stat -c '%a %U:%G' "$1" 2>/dev/null) || { echo "     $1: missing"; return 1; }
	[ "$got" = "$2 $3" ] || { echo "     $1: $got, want $2 $3"; return 1; }
}

TMP=$(mktemp -d /tmp/ob-package-test.XXXXXX)
chmod 0755 "$TMP" # the daemon's user reads test configurations in here
we_installed=0
user_existed=0
getent passwd "$USER_NAME" >/dev/null && user_existed=1
group_existed=0
getent group "$USER_NAME" >/dev/null && group_existed=1

cleanup() {
	if [ "$we_installed" -eq 1 ] && dpkg-query -W "$PKG" >/dev/null 2>&1; then
		dpkg --purge "$PKG" >/dev/null 2>&1 || true
	fi
	if [ "$we_installed" -eq 1 ]; then
		if [ "$user_existed" -eq 0 ] && getent passwd "$USER_NAME" >/dev/null; then
			userdel "$USER_NAME" >/dev/null 2>&1 || true
		fi
		if [ "$group_existed" -eq 0 ] && getent group "$USER_NAME" >/dev/null; then
			groupdel "$USER_NAME" >/dev/null 2>&1 || true
		fi
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "package: $DEB"

# ---- refuse to touch a real installation -----------------------------------
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv 'not-installed'; then
	fail "$PKG is already installed (or has config files) on this machine; not touching it"
	finish
fi
for f in $CONF /usr/sbin/offsite-backupd /usr/bin/offsite-backupctl $UNIT $STATE; do
	if [ -e "$f" ]; then
		fail "$f exists without the package (make install?); not touching it"
		finish
	fi
done
if [ ! -f "$DEB" ]; then
	fail "no package $DEB (run make deb)"
	finish
fi

# ---- the package as built --------------------------------------------------
# (lintian says "running with root privileges is not recommended!" on stderr.)
out=$(lintian --fail-on error,warning "$DEB" 2>/dev/null)
rc=$?
echo "     lintian --fail-on error,warning $(basename "$DEB"): exit $rc, ${out:-no tags}"
check "lintian reports no errors and no warnings" \
	sh -c '[ "$1" -eq 0 ] && ! echo "$2" | grep -q "^[EW]: "' sh "$rc" "$out"

check "package version $VERSION matches debian/changelog" \
	test "$(dpkg-deb -f "$DEB" Version)" = "$VERSION"
check "Depends on adduser (postinst creates the user)" \
	sh -c "dpkg-deb -f '$DEB' Depends | grep -qw adduser"

exposure() {
	systemd-analyze security --offline=true "$1" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p'
}
line=$(systemd-analyze security --offline=true "$TOP/systemd/offsite-backup.service" 2>&1 |
	grep 'Overall exposure level')
echo "     systemd-analyze security --offline=true systemd/offsite-backup.service: $line"
score=$(exposure "$TOP/systemd/offsite-backup.service")
check "unit exposure ${score:-?} <= $MAX_EXPOSURE" \
	awk -v e="${score:-99}" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e + 0 <= m + 0) }'

check "unit: Type=notify, watchdog, restart, reload, user, state directory" sh -c '
	for l in "Type=notify" "WatchdogSec=60s" "Restart=on-failure" \
		"ExecReload=/bin/kill -HUP \$MAINPID" "User=offsite-backup" \
		"StateDirectory=offsite-backup" "ProtectSystem=strict" \
		"CapabilityBoundingSet=" "SystemCallFilter=@system-service" \
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" "UMask=0077"; do
		grep -qxF "$l" "$1" || { echo "     unit lacks $l"; exit 1; }
	done' sh "$TOP/systemd/offsite-backup.service"

# ---- the daemon under its unit, for real -----------------------------------
# sandbox.py boots a throwaway systemd on an overlay of / (this machine is not
# changed), installs the package there and runs the daemon under the unit
# against the emulator. It needs the emulator (moto) in python3, as make check
# does; without it this part is skipped, said plainly.
PY=${PYTHON:-python3}
if "$PY" -c 'import moto, boto3' >/dev/null 2>&1; then
	"$PY" "$HERE/sandbox.py" "$DEB" >"$TMP/sandbox.out" 2>&1
	rc=$?
	grep -v '^package-sandbox:' "$TMP/sandbox.out"
	sline=$(grep '^package-sandbox:' "$TMP/sandbox.out" | tail -n 1)
	sp=$(echo "$sline" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	sf=$(echo "$sline" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	if [ -z "$sp" ] || [ -z "$sf" ] || { [ $rc -ne 0 ] && [ "${sf:-0}" -eq 0 ]; }; then
		fail "sandbox.py did not finish (exit $rc)"
	else
		passed=$((passed + sp))
		failed=$((failed + sf))
	fi
else
	echo "skip the daemon under its unit (tests/package/sandbox.py): $PY lacks moto/boto3"
fi

# ---- install ---------------------------------------------------------------
we_installed=1
out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" 2>&1)
rc=$?
[ $rc -eq 0 ] || echo "$out" | sed 's/^/     /'
check "dpkg -i installs it" test $rc -eq 0
check "dpkg reports $PKG $VERSION installed" \
	test "$(dpkg-query -W -f='${Status} ${Version}' "$PKG" 2>/dev/null)" = "install ok installed $VERSION"

# ---- files, modes, owners --------------------------------------------------
check "/usr/sbin/offsite-backupd 0755 root:root" mode_is /usr/sbin/offsite-backupd 755 root:root
check "/usr/bin/offsite-backupctl 0755 root:root" mode_is /usr/bin/offsite-backupctl 755 root:root
check "$UNIT 0644 root:root" mode_is $UNIT 644 root:root
check "$CONF 0640 root:$USER_NAME" mode_is $CONF 640 root:$USER_NAME
check "$CONF is a conffile" \
	sh -c "dpkg-query -W -f='\${Conffiles}' $PKG | grep -q '^ $CONF '"
check "$CONF is etc/offsite-backup.conf" cmp -s $CONF "$TOP/etc/offsite-backup.conf"
for m in man1/offsite-backupctl.1 man5/offsite-backup.conf.5 man8/offsite-backupd.8; do
	check "/usr/share/man/$m.gz 0644 root:root" mode_is /usr/share/man/$m.gz 644 root:root
done
check "copyright and changelog in /usr/share/doc/$PKG" \
	test -f /usr/share/doc/$PKG/copyright -a -f /usr/share/doc/$PKG/changelog.gz
check "installed unit is the source tree's" cmp -s $UNIT "$TOP/systemd/offsite-backup.service"
score=$(exposure $UNIT)
check "installed unit exposure ${score:-?} <= $MAX_EXPOSURE" \
	awk -v e="${score:-99}" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e + 0 <= m + 0) }'

# Built with dpkg-buildflags' hardening: PIE, full RELRO, fortified calls.
hardened() {
	readelf -h "$1" | grep -q 'Type:.*DYN' || { echo "     $1: not PIE"; return 1; }
	readelf -lW "$1" | grep -q GNU_RELRO || { echo "     $1: no RELRO"; return 1; }
	readelf -dW "$1" | grep -q 'FLAGS.*BIND_NOW\|FLAGS_1.*NOW' || { echo "     $1: no BIND_NOW"; return 1; }
	readelf --dyn-syms -W "$1" | grep -q '__[a-z_]*_chk' || { echo "     $1: not fortified"; return 1; }
}
check "offsite-backupd is hardened (PIE, RELRO, BIND_NOW, fortify)" hardened /usr/sbin/offsite-backupd
check "offsite-backupctl is hardened (PIE, RELRO, BIND_NOW, fortify)" hardened /usr/bin/offsite-backupctl

# ---- the system user ---------------------------------------------------------
pw=$(getent passwd $USER_NAME)
check "user $USER_NAME exists" test -n "$pw"
uid=$(echo "$pw" | cut -d: -f3)
check "user $USER_NAME is a system user (uid ${uid:-?} < 1000)" test "${uid:-1000}" -lt 1000
check "user $USER_NAME: home $STATE, shell nologin, primary group $USER_NAME" sh -c '
	[ "$(echo "$1" | cut -d: -f6)" = "$2" ] &&
	[ "$(echo "$1" | cut -d: -f7)" = /usr/sbin/nologin ] &&
	[ "$(id -gn "$3")" = "$3" ]' sh "$pw" "$STATE" "$USER_NAME"

# ---- enabled, not started ------------------------------------------------------
if [ -d /run/systemd/system ]; then
	check "unit enabled (systemctl is-enabled)" \
		test "$(systemctl is-enabled offsite-backup.service 2>&1)" = enabled
	st=$(systemctl is-active offsite-backup.service 2>&1)
	check "unit not started on install (is-active: $st)" test "$st" != active -a "$st" != activating
else
	echo "     systemd is not PID 1 here: checking the enablement symlink"
	check "unit enabled: $WANTS -> $UNIT" \
		test "$(readlink $WANTS 2>/dev/null)" = $UNIT
	check "unit enabled (systemctl is-enabled, offline)" \
		test "$(systemctl is-enabled offsite-backup.service 2>&1)" = enabled
	# Other offsite-backupd processes (tests in build trees) may run here:
	# look for the installed binary only.
	check "unit not started on install (no process runs /usr/sbin/offsite-backupd)" sh -c '
		for e in /proc/[0-9]*/exe; do
			[ "$(readlink "$e" 2>/dev/null)" = /usr/sbin/offsite-backupd ] && exit 1
		done
		exit 0'
fi
check "no state directory before the first start" test ! -e $STATE

# ---- the installed binaries --------------------------------------------------
out=$(/usr/sbin/offsite-backupd --version 2>&1)
check "offsite-backupd --version says $VERSION ($out)" test "$out" = "offsite-backupd $VERSION"
out=$(/usr/bin/offsite-backupctl --version 2>&1)
check "offsite-backupctl --version says $VERSION ($out)" test "$out" = "offsite-backupctl $VERSION"
out=$(/usr/bin/offsite-backupctl --help 2>&1)
rc=$?
check "offsite-backupctl --help exits 0" test $rc -eq 0
check "offsite-backupctl --help shows the manual" \
	sh -c 'echo "$1" | grep -q "^SYNOPSIS" && echo "$1" | grep -q "retry JOB"' sh "$out"
out=$(/usr/sbin/offsite-backupd --help 2>&1)
check "offsite-backupd --help exits 0" test $? -eq 0

# The shipped file as it is: the daemon's user can read it, and it asks for
# the required keys (exit 2) instead of starting.
out=$(runuser -u $USER_NAME -- /usr/sbin/offsite-backupd --check-config 2>&1)
rc=$?
check "shipped $CONF as $USER_NAME: --check-config exits 2 (required keys empty)" test $rc -eq 2
check "shipped $CONF: reports role, region and queue_url as required" sh -c '
	for k in role region queue_url; do
		echo "$1" | grep -q "$k is required" || exit 1
	done
	! echo "$1" | grep -q "cannot open"' sh "$out"

# fill FILE ROLE: the installed file with the role's required keys filled in,
# as the operator does. Fails unless every required key was found.
fill() {
	if [ "$2" = source ]; then
		set -- "$1" "$2" 's|^role =$|role = source|
s|^region =$|region = eu-central-1|
s|^queue_url =$|queue_url = https://sqs.eu-central-1.amazonaws.com/111111111111/offsite-backup-events|
s|^export_kms_key =$|export_kms_key = arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab|
s|^target_account =$|target_account = 222222222222|
s|^notify_topic_arn =$|notify_topic_arn = arn:aws:sns:eu-central-1:222222222222:offsite-backup-inbox|' 6
	else
		set -- "$1" "$2" 's|^role =$|role = target|
s|^region =$|region = eu-central-1|
s|^queue_url =$|queue_url = https://sqs.eu-central-1.amazonaws.com/222222222222/offsite-backup-inbox|
s|^import_kms_key =$|import_kms_key = arn:aws:kms:eu-central-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab|
s|^allowed_source_accounts =$|allowed_source_accounts = 111111111111, 333333333333|' 5
	fi
	sed "$3" $CONF >"$1" || return 1
	install -m 0640 -o root -g $USER_NAME /dev/null "$1.tmp" && cat "$1" >"$1.tmp" &&
		mv "$1.tmp" "$1" || return 1
	[ "$(diff $CONF "$1" | grep -c '^>')" -eq "$4" ]
}
for role in source target; do
	cfg=$TMP/$role.conf
	check "filled-in $role configuration written (0640 root:$USER_NAME)" fill "$cfg" $role
	out=$(/usr/sbin/offsite-backupd --check-config --config "$cfg" 2>&1)
	rc=$?
	check "offsite-backupd --check-config, $role, as root: $out" \
		test $rc -eq 0 -a "$out" = "configuration OK"
	out=$(runuser -u $USER_NAME -- /usr/sbin/offsite-backupd --check-config --config "$cfg" 2>&1)
	rc=$?
	check "offsite-backupd --check-config, $role, as $USER_NAME: $out" \
		test $rc -eq 0 -a "$out" = "configuration OK"
	# Every shown default taken literally must be valid too.
	sed 's/^#\([a-z_]* = \)/\1/' "$cfg" | grep -v '^\(access_key_id\|secret_access_key\) =' |
		if [ $role = source ]; then
			awk '/^\[target\]/ { t = 1 } /^\[/ && !/^\[target\]/ { t = 0 } !t || !/^[a-z_]+ = /'
		else
			awk '/^\[source\]/ { s = 1 } /^\[/ && !/^\[source\]/ { s = 0 } !s || !/^[a-z_]+ = /'
		fi >"$TMP/$role-defaults.conf"
	out=$(/usr/sbin/offsite-backupd --check-config --config "$TMP/$role-defaults.conf" 2>&1)
	check "$role with every commented default uncommented: $out" test "$out" = "configuration OK"
done

# ---- manual pages ------------------------------------------------------------
for m in offsite-backupd:8 offsite-backupctl:1 offsite-backup.conf:5; do
	name=${m%:*}
	sec=${m#*:}
	page=/usr/share/man/man$sec/$name.$sec.gz
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
	check "man page $name($sec) formats without warnings${out:+: $out}" test -z "$out"
	check "man page $name($sec): NAME line" sh -c \
		"LC_ALL=C.UTF-8 MANWIDTH=80 man -l '$page' 2>/dev/null | grep -q '^ *$name - '"
	if command -v man >/dev/null 2>&1; then
		check "man -w $sec $name finds it" test "$(man -w "$sec" "$name" 2>/dev/null)" = "$page"
	fi
done

# ---- reinstall keeps the administrator's settings --------------------------
chown $USER_NAME:$USER_NAME $CONF
chmod 0600 $CONF
echo "# local edit" >>$CONF
out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" 2>&1)
rc=$?
[ $rc -eq 0 ] || echo "$out" | sed 's/^/     /'
check "dpkg -i again (reinstall) succeeds" test $rc -eq 0
check "reinstall keeps an edited $CONF and its 0600 $USER_NAME" mode_is $CONF 600 $USER_NAME:$USER_NAME
check "reinstall keeps the edit" sh -c "tail -n 1 $CONF | grep -qx '# local edit'"
check "reinstall keeps one $USER_NAME user" test "$(getent passwd | grep -c "^$USER_NAME:")" -eq 1

# ---- purge -------------------------------------------------------------------
# What the daemon leaves behind at run time, which a purge must take along.
install -d -m 0750 -o $USER_NAME -g $USER_NAME $STATE
for f in state.db state.db-wal state.db-shm; do
	install -m 0600 -o $USER_NAME -g $USER_NAME /dev/null $STATE/$f
done
out=$(dpkg --purge $PKG 2>&1)
rc=$?
[ $rc -eq 0 ] || echo "$out" | sed 's/^/     /'
check "dpkg --purge succeeds" test $rc -eq 0
check "dpkg no longer knows $PKG" sh -c "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -q 'installed\|config-files'"
left=""
for f in /usr/sbin/offsite-backupd /usr/bin/offsite-backupctl $UNIT $CONF $CONF.dpkg-old \
	$CONF.dpkg-dist $CONF.dpkg-new $WANTS $STATE /usr/share/doc/$PKG \
	/usr/share/man/man1/offsite-backupctl.1.gz /usr/share/man/man5/offsite-backup.conf.5.gz \
	/usr/share/man/man8/offsite-backupd.8.gz \
	/var/lib/systemd/deb-systemd-helper-enabled/offsite-backup.service.dsh-also \
	/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/offsite-backup.service; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check "purge leaves nothing behind${left:+:$left}" test -z "$left"
check "purge keeps the system user $USER_NAME (Debian practice)" \
	sh -c "getent passwd $USER_NAME >/dev/null"
[ "$user_existed" -eq 0 ] && echo "     (the user was created by this test's install; it is deleted on exit)"

finish
