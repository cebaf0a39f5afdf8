#!/bin/sh
# run.sh BUILD_DIR - SigV4 signing, source role and end-to-end benchmarks.
#
# Runs BUILD_DIR/bench-sigv4 and botocore_sign.py on the same RDS request,
# checks that both produce the same signature, and prints
#   bench sigv4_sign_us <value> us
#   bench botocore_sign_us <value> us
#   bench sigv4_speedup_vs_botocore <ratio> x
# then source_bench.py (BUILD_DIR/offsite-backupd against the emulator,
# 200 snapshot events; its per-action call breakdown goes to stderr):
#   bench source_api_calls_per_snapshot <value> calls
#   bench source_cpu_ms_per_snapshot <value> ms
#   bench source_peak_rss_mb <value> MB
#   bench source_copy_delay_median_ms <value> ms
#   bench source_wall_s <value> s
# then e2e_bench.py (both roles, source and vault daemons, 200 snapshots end
# to end; its per-account, per-action call breakdown goes to stderr):
#   bench e2e_source_api_calls_per_snapshot <value> calls
#   bench e2e_vault_api_calls_per_snapshot <value> calls
#   bench e2e_source_cpu_ms_per_snapshot <value> ms
#   bench e2e_vault_cpu_ms_per_snapshot <value> ms
#   bench e2e_source_peak_rss_mb <value> MB
#   bench e2e_vault_peak_rss_mb <value> MB
#   bench e2e_event_to_verified_median_ms <value> ms
#   bench e2e_wall_s <value> s
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! "$build/bench-sigv4" >"$tmp/c.out" 2>"$tmp/c.err"; then
	cat "$tmp/c.err" >&2
	exit 1
fi
cat "$tmp/c.out"
if ! "$python" "$here/botocore_sign.py" >"$tmp/py.out" 2>"$tmp/py.err"; then
	cat "$tmp/py.err" >&2
	echo "bench: botocore_sign.py failed (is botocore installed for $python?)" >&2
	exit 1
fi
cat "$tmp/py.out"

c_sig=$(sed -n 's/.*signature \([0-9a-f]*\)$/\1/p' "$tmp/c.err")
py_sig=$(sed -n 's/.*signature \([0-9a-f]*\)$/\1/p' "$tmp/py.err")
if [ -z "$c_sig" ] || [ "$c_sig" != "$py_sig" ]; then
	echo "bench: signatures differ: ours '$c_sig', botocore '$py_sig'" >&2
	exit 1
fi

c_us=$(awk '$2 == "sigv4_sign_us" { print $3 }' "$tmp/c.out")
py_us=$(awk '$2 == "botocore_sign_us" { print $3 }' "$tmp/py.out")
awk -v c="$c_us" -v p="$py_us" 'BEGIN {
	if (c <= 0) { print "bench: no timing from bench-sigv4" > "/dev/stderr"; exit 1 }
	printf "bench sigv4_speedup_vs_botocore %.1f x\n", p / c
}' || exit 1

if ! "$python" "$here/source_bench.py" "$build" >"$tmp/src.out" 2>"$tmp/src.err"; then
	cat "$tmp/src.out"
	cat "$tmp/src.err" >&2
	echo "bench: source_bench.py failed" >&2
	exit 1
fi
cat "$tmp/src.out"
cat "$tmp/src.err" >&2

if ! "$python" "$here/e2e_bench.py" "$build" >"$tmp/e2e.out" 2>"$tmp/e2e.err"; then
	cat "$tmp/e2e.out"
	cat "$tmp/e2e.err" >&2
	echo "bench: e2e_bench.py failed" >&2
	exit 1
fi
cat "$tmp/e2e.out"
cat "$tmp/e2e.err" >&2

# The memory campaign's 10,000-job database (tests/memory/bigdb.py --bench):
#   bench bigdb_rss_mb <value> MB
#   bench bigdb_ctl_status_ms <value> ms
#   bench bigdb_startup_ms <value> ms
if [ -x "$build/ob-seed" ]; then
	"$python" "$here/../memory/bigdb.py" --build "$build" --bench >"$tmp/big.out" 2>"$tmp/big.err"
	grep '^bench ' "$tmp/big.out"
	grep -v '^bench ' "$tmp/big.out" >&2
	cat "$tmp/big.err" >&2
else
	echo "bench: $build/ob-seed missing (make all); bigdb skipped" >&2
fi
