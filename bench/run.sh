#!/bin/sh
# run.sh: runs the benchmarks over the build in $B, prints their output and writes bench/results.md.
#
#   bench/run.sh [ring_bench options]        B=build by default; `make bench` runs it
#   RING_BENCH_ARGS='--scale 0.2' make bench options for ring_bench through make
#
# ring_bench runs with its own defaults (64 B and 64 KiB records, every
# transport, median of 3 runs of ~0.5 s) plus --csv, which the target check
# below reads.  The issue's targets are reported as PASS or MISS and never
# enforced: the exit status is non-zero only if a benchmark itself failed.
# Every other bench/*.sh is run afterwards, with B exported, and its output
# added to results.md under its own heading.
set -u
B=${B:-build}
export B
dir=$(dirname "$0")
bin=$B/bench/ring_bench
out=$dir/results.md
tmp=$dir/results.md.tmp

if [ $# -eq 0 ] && [ -n "${RING_BENCH_ARGS:-}" ]; then
	# Word splitting is wanted here: the variable holds several options.
	# shellcheck disable=SC2086
	set -- $RING_BENCH_ARGS
fi

log=$(mktemp) && status=$(mktemp) && report=$(mktemp) || exit 1
trap 'rm -f "$log" "$status" "$report" "$log.other"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Reads ring_bench's CSV lines (field 7: msg/s, 8: GB/s) and judges the
# issue's targets; md=1 prints Markdown table rows.
# shellcheck disable=SC2016
awk_targets='
$1 == "csv" && $2 != "transport" { v[$2 "," $3 "," 7] = $7; v[$2 "," $3 "," 8] = $8 }
function ratio(a, b) { return (a != "" && b != "" && b + 0 > 0) ? a / b : -1 }
function target(label, size, other, col, unit, want,    r, z, verdict, measured, zc) {
	r = ratio(v["ring-copy," size "," col], v[other "," size "," col])
	z = ratio(v["ring-zc," size "," col], v[other "," size "," col])
	if (r < 0) {
		measured = "not measured"; verdict = "n/a"
	} else {
		measured = sprintf("%.2fx (ring %s vs %s %s %s)", r, v["ring-copy," size "," col],
		    other, v[other "," size "," col], unit)
		verdict = r >= want ? "PASS" : "MISS"
	}
	zc = z < 0 ? "-" : sprintf("%.2fx", z)
	if (md)
		printf("| %s: ring %s >= %gx %s | %s | %s | **%s** |\n", label, unit, want, other,
		    measured, zc, verdict)
	else
		printf("target %s: ring %s >= %gx %s: %s, zero-copy %s: %s\n", label, unit, want,
		    other, measured, zc, verdict)
}
END {
	target("64 B", 64, "pipe", 7, "msg/s", 10)
	target("64 KiB", 65536, "socketpair", 8, "GB/s", 2)
}'

# The ring benchmark, its table shown as it grows; the pipe loses the
# status, so the status goes through a file.
echo "run.sh: $bin --csv${*:+ $*}"
if [ -x "$bin" ]; then
	{ "$bin" --csv "$@"; echo $? >"$status"; } | tee "$log"
	rc=$(cat "$status")
else
	echo "run.sh: $bin: not built (run make)" >&2
	rc=127
fi
echo
if [ "$rc" = 0 ]; then
	awk -F, -v md=0 "$awk_targets" "$log"
	echo "run.sh: targets are reported, not enforced"
else
	echo "run.sh: ring_bench failed (exit $rc)" >&2
fi

model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
commit=$(git -C "$dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$dir" status --porcelain 2>/dev/null)" ]; then
	commit="$commit, with uncommitted changes"
fi
{
	echo "# Benchmark results"
	echo
	echo "Written by \`bench/run.sh\`; see \`bench/README.md\` for what the columns mean and"
	echo "how far to trust them.  Targets are reported, not enforced."
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| Date | $(date -u '+%Y-%m-%d %H:%M:%S UTC') |"
	echo "| CPUs (nproc) | $(nproc) |"
	echo "| CPU model | ${model:-unknown ($(uname -m))} |"
	echo "| Kernel (uname -r) | $(uname -r) |"
	echo "| Source | $commit |"
	echo "| Command | \`B=$B bench/run.sh${*:+ $*}\`, which ran \`$bin --csv${*:+ $*}\` |"
	echo "| Exit status | $rc |"
	echo
	echo "## ring_bench"
	echo
	echo '```'
	grep -v '^csv,' "$log" | awk 'NF { for (; b > 0; b--) print ""; print; next } { b++ }'
	echo '```'
	echo
	echo "## Targets"
	echo
	echo "Judged on the copying ring (put/get), which moves every payload byte as a"
	echo "pipe and a socketpair do; the zero-copy ring is shown beside it."
	echo
	echo "| Target | Measured (ring put/get) | Zero-copy | Verdict |"
	echo "|---|---|---|---|"
	if [ "$rc" = 0 ]; then
		awk -F, -v md=1 "$awk_targets" "$log"
	else
		echo "| all | ring_bench failed (exit $rc) | - | n/a |"
	fi
	echo
	echo "## Machine-readable"
	echo
	echo '```'
	grep '^csv,' "$log"
	echo '```'
} >"$report"

# Any other benchmark script (bench/pipeline.sh, ...): run it, show and keep
# its output.
failed=
[ "$rc" = 0 ] || failed=ring_bench
for s in "$dir"/*.sh; do
	[ -f "$s" ] || continue
	name=${s##*/}
	[ "$name" = run.sh ] && continue
	echo
	echo "run.sh: sh $s"
	{ sh "$s"; echo $? >"$status"; } 2>&1 | tee "$log.other"
	src=$(cat "$status")
	[ "$src" = 0 ] || failed="$failed $name"
	{
		echo
		echo "## $name"
		echo
		echo "Exit status $src."
		echo
		echo '```'
		cat "$log.other"
		echo '```'
	} >>"$report"
done

# Built in /tmp, replaced in one rename, so a reader or a second run never
# sees half a file.
cp "$report" "$tmp" && mv -f "$tmp" "$out" || exit 1
echo
echo "run.sh: wrote $out"
if [ -n "$failed" ]; then
	echo "run.sh: failed:$failed" >&2
	exit 1
fi
exit 0
