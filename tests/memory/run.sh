#!/bin/sh
# run.sh --build DIR [--soak] - the memory campaign (issue 6, campaign 5).
#
#   valgrind.py: the integration tests under valgrind memcheck (short: a
#                representative subset, ~3 min; --soak: the whole suite)
#   bigdb.py:    the daemon over a 10,000-job database (RSS < 16 MB, ctl
#                status, start-up; --soak: each daemon runs 60 s, not 10 s)
#
# Ends with one figure line:
#   memory: valgrind <N> processes, <E> errors, <B> bytes definitely lost; bigdb rss <x> MB, ctl status <y> ms, startup <z> ms
# and exits 1 when either part failed.
set -u
build=
soak=
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--soak) soak=--soak; shift ;;
	*) echo "usage: $0 --build DIR [--soak]" >&2; exit 2 ;;
	esac
done
[ -n "$build" ] || { echo "usage: $0 --build DIR [--soak]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# Not through a pipe: sh has no pipefail, and `| tee` would report tee's
# status, not the campaign's.
rc=0
"$python" "$here/valgrind.py" --build "$build" $soak >"$tmp/vg.out" || rc=1
cat "$tmp/vg.out"
"$python" "$here/bigdb.py" --build "$build" $soak >"$tmp/big.out" || rc=1
cat "$tmp/big.out"
vg=$(sed -n 's/^valgrind: \([0-9]* processes\) checked, \(.*\)$/\1, \2/p' "$tmp/vg.out" | tail -n 1)
big=$(sed -n 's/^bigdb: 10000 jobs, \(.*\)$/\1/p' "$tmp/big.out" | tail -n 1)
echo "memory: valgrind ${vg:-FAILED}; bigdb ${big:-FAILED}"
exit $rc
