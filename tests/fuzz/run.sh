#!/bin/bash
# Run the libFuzzer harnesses built by tests/fuzz/fuzz.mk.
#
# usage: run.sh fuzz BUILD NAME...     fuzz each harness for FUZZ_SECONDS
#                                      (default 300), FUZZ_JOBS (default 1)
#                                      at a time, then print one line per
#                                      harness: fuzz <name> <execs> execs <crashes> crashes
#        run.sh regress BUILD NAME...  run each harness once over
#                                      tests/fuzz/corpus/<name>/ and
#                                      tests/fuzz/regress/<name>/, then print
#                                      fuzz-regress: <n> inputs, <c> crashes
# Exits 1 when any harness crashed (ASan, UBSan, leak, timeout, abort).
#
# Fuzzing works on a scratch copy of the corpus under BUILD/fuzz-work/:
# libFuzzer adds the inputs it finds to its first corpus directory, and the
# committed corpus must stay the small hand-picked set. Crash inputs land
# in BUILD/fuzz-work/<name>/artifacts/; copy the ones worth keeping to
# tests/fuzz/regress/<name>/.
set -u

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-}
build=${2:-}
shift 2 || { echo "usage: $0 fuzz|regress BUILD NAME..." >&2; exit 2; }
[ $# -gt 0 ] || { echo "run.sh: no harness named" >&2; exit 2; }
seconds=${FUZZ_SECONDS:-300}
jobs=${FUZZ_JOBS:-1}

# Largest input per harness: room for hostile sizes, small enough that
# mutations stay cheap. The XML and SigV4 limits cross the parsers' own
# (65536-byte path/query/header value) boundaries.
max_len() {
	case $1 in
	xml|sigv4) echo 131072 ;;
	*) echo 32768 ;;
	esac
}

for name in "$@"; do
	[ -x "$build/fuzz_$name" ] || { echo "run.sh: $build/fuzz_$name is not built" >&2; exit 2; }
done

inputs_of() {
	local d
	for d in "$here/corpus/$1" "$here/regress/$1"; do
		[ -d "$d" ] && find "$d" -type f ! -name '.*' ! -name README
	done
}

# ---- regress: every committed input once ------------------------------------
if [ "$mode" = regress ]; then
	total=0
	crashes=0
	for name in "$@"; do
		mapfile -t files < <(inputs_of "$name" | sort)
		[ ${#files[@]} -gt 0 ] || continue
		total=$((total + ${#files[@]}))
		log="$build/fuzz-work/regress-$name.log"
		mkdir -p "$build/fuzz-work"
		if "$build/fuzz_$name" -runs=1 "${files[@]}" >"$log" 2>&1; then
			continue
		fi
		# One of them failed: run them one by one to name and count them.
		for f in "${files[@]}"; do
			if ! "$build/fuzz_$name" -runs=1 "$f" >"$log.one" 2>&1; then
				crashes=$((crashes + 1))
				echo "fuzz-regress: $name crashes on ${f#"$here"/}" >&2
				grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log.one" | head -5 >&2
			fi
		done
	done
	echo "fuzz-regress: $total inputs, $crashes crashes"
	[ "$crashes" -eq 0 ]
	exit
fi

[ "$mode" = fuzz ] || { echo "usage: $0 fuzz|regress BUILD NAME..." >&2; exit 2; }

# ---- fuzz: one harness -------------------------------------------------------
# Writes "<execs> <crashes>" to work/<name>/result.
fuzz_one() {
	local name=$1 work="$build/fuzz-work/$1" dict=() execs crashes rc
	mkdir -p "$work/corpus" "$work/artifacts"
	rm -f "$work/artifacts/"*
	# The committed inputs join whatever earlier runs found.
	for f in $(inputs_of "$name"); do
		cp -f "$f" "$work/corpus/seed-$(basename "$f")"
	done
	[ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
	"$build/fuzz_$name" "$work/corpus" "${dict[@]}" \
		-max_total_time="$seconds" -max_len="$(max_len "$name")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" >"$work/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/log" | tail -1)
	if [ -z "$execs" ]; then
		# No final stats (killed by a signal): take the last status line.
		execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$work/log" | tail -1)
	fi
	crashes=$(find "$work/artifacts" -type f | wc -l)
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		crashes=1
	fi
	echo "${execs:-0} $crashes" >"$work/result"
}

running=0
for name in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	fuzz_one "$name" &
	running=$((running + 1))
done
wait

status=0
for name in "$@"; do
	work="$build/fuzz-work/$name"
	read -r execs crashes <"$work/result" || { execs=0; crashes=1; }
	echo "fuzz $name $execs execs $crashes crashes"
	if [ "$crashes" -ne 0 ]; then
		status=1
		for a in "$work/artifacts/"*; do
			[ -e "$a" ] && echo "  $name: crash input $a (log: $work/log)" >&2
		done
	fi
done
exit $status
