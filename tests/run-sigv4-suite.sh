#!/bin/sh
# run-sigv4-suite.sh SUITE_BIN SUITE_DIR
#
# Run every case of the AWS SigV4 test vectors under SUITE_DIR (v4/,
# legacy/ with its nested folders, double-encode/v4/) through SUITE_BIN and
# print "sigv4-suite: N passed, M failed". Fails when the suite is missing,
# when any case fails, or when nothing ran: a suite that cannot be found
# must never pass silently.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 SUITE_BIN SUITE_DIR" >&2
	exit 2
fi
bin=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
context="$here/data/sigv4-double-encode-context.json"

if [ ! -d "$dir" ]; then
	echo "sigv4 suite not found at $dir; set SIGV4_SUITE_DIR" >&2
	exit 1
fi
case $bin in
/*) ;;
*) bin="$(pwd)/$bin" ;;
esac
if [ ! -x "$bin" ]; then
	echo "sigv4 suite runner $bin not built" >&2
	exit 1
fi

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM

# Case names are printed relative to the suite folder.
rc=0
(cd "$dir" && "$bin" --context "$context" v4 legacy double-encode/v4) >"$out" || rc=1
cat "$out"
passed=$(grep -c '^PASS ' "$out")
failed=$(grep -c '^FAIL ' "$out")
echo "sigv4-suite: $passed passed, $failed failed"
if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
	exit 1
fi
exit 0
