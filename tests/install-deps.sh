#!/bin/sh
# Install the Debian packages offsite-backup builds and tests with, and check
# the emulator (moto, boto3, the aws CLI) in the default python3.
# A quick no-op when everything is present. Needs root (or sudo) to install.
#
# usage: install-deps.sh [--packages-only]
#   --packages-only  install the Debian packages but skip the emulator check
#                    (make deb / make package-test need no emulator)
set -eu

PACKAGES_ONLY=0
[ "${1:-}" = "--packages-only" ] && PACKAGES_ONLY=1

PKGS="gcc make pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev
libexpat1-dev libsystemd-dev libsqlite3-dev check openssl"
# The Debian package (make deb) and its test (make package-test):
# dpkg-buildpackage, dh, lintian, systemd-analyze, and the package's own
# dependency adduser.
PKGS="$PKGS dpkg-dev debhelper lintian systemd adduser"
# The metrics integration test parses the Prometheus text file with
# prometheus_client's parser.
PKGS="$PKGS python3-prometheus-client"
# The libFuzzer harnesses (make fuzz, make fuzz-regress): clang and its
# fuzzer and sanitizer runtimes.
PKGS="$PKGS clang libclang-rt-14-dev"
# The reliability campaigns (make check, make soak): valgrind memcheck, and
# mkfs.ext4/fsck for the disk campaign's loop-mounted filesystem.
PKGS="$PKGS valgrind e2fsprogs"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=""
	elif command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "deps: need root (or sudo) to install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi

[ "$PACKAGES_ONLY" -eq 1 ] && exit 0

# The emulator is not packaged in Debian 12: it comes with the machine's
# default python3. Say so plainly instead of failing later in a test.
PY=${PYTHON:-python3}
if ! "$PY" -c 'import moto, boto3, botocore' >/dev/null 2>&1; then
	echo "deps: $PY lacks moto/boto3 (the emulator); the integration tests and" >&2
	echo "deps: benchmarks need moto 5.x with its server extras in the default python3" >&2
	exit 1
fi
