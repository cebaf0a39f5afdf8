#!/bin/sh
# tests/reliability/run.sh BUILD [--soak] - the reliability campaigns of
# docs/reliability.md, one after the other: the short forms (make check) or,
# with --soak, the long ones (make soak). Each campaign's output goes to
# BUILD/reliability/<name>.log; its figure lines (stdout lines that start
# with "<name>:") are echoed, and the log's tail on failure. Exits 1 when any
# campaign failed. SANITIZE=1 in the environment (set by the Makefile) skips
# the memory campaign (valgrind and RSS figures), which needs the plain
# build; the plain pass runs it.
set -u
BUILD=${1:?usage: run.sh BUILD [--soak]}
shift
MODE=""
[ "${1:-}" = "--soak" ] && MODE="--soak"
HERE=$(dirname "$0")
TESTS=$(cd "$HERE/.." && pwd)
PYTHON=${PYTHON:-python3}
LOGS="$BUILD/reliability"
mkdir -p "$LOGS"

failed=""
ran=0
campaign() {
	name=$1
	shift
	log="$LOGS/$name.log"
	start=$(date +%s)
	echo "== $name $MODE"
	if "$@" >"$log" 2>&1; then
		status=ok
	else
		status=FAILED
		failed="$failed $name"
	fi
	ran=$((ran + 1))
	grep -E "^$name:" "$log" || true
	echo "== $name: $status in $(($(date +%s) - start)) s (log: $log)"
	if [ "$status" = FAILED ]; then
		echo "--- last lines of $log:"
		tail -n 40 "$log"
	fi
}

campaign crash "$PYTHON" "$TESTS/reliability/crash.py" --build "$BUILD" $MODE
campaign faults "$PYTHON" "$TESTS/reliability/faults.py" --build "$BUILD" $MODE
campaign disk "$PYTHON" "$TESTS/reliability/disk.py" --build "$BUILD" $MODE
campaign two-sources "$PYTHON" "$TESTS/reliability/two_sources.py" --build "$BUILD" $MODE
if [ "${SANITIZE:-0}" = 1 ]; then
	echo "== memory: skipped on the AddressSanitizer build (valgrind cannot run on it and its"
	echo "   RSS is not the daemon's); the plain pass runs it"
else
	campaign memory sh "$TESTS/memory/run.sh" --build "$BUILD" $MODE
fi

if [ -n "$failed" ]; then
	echo "reliability: $ran campaigns, failed:$failed"
	exit 1
fi
echo "reliability: $ran campaigns passed"
