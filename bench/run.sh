#!/bin/sh
# run.sh: runs every benchmark over the build in $B, prints their tables, judges the issue's targets, writes bench/results.md and draws bench/throughput.png.
#
#   bench/run.sh [--quick] [ring_bench options]   B=build by default; `make bench` runs it
#   BENCH_QUICK=1 make bench                       the quick mode (about 30 s) through make
#   RING_BENCH_ARGS='--scale 0.2' make bench       options for step 1 through make
#   BENCH_MQ_RAISE=0                               never raise msgsize_max (default: when root)
#   BENCH_LAT_CPUS=a,b                             CPUs of the latency pair ('' for none;
#                                                  default: the first two allowed)
#   BENCH_STEP_TIMEOUT=900                         seconds any one step may take
#   BENCH_OTHER=0                                  skip step 6 (the other bench/*.sh)
#
# The steps, each also bounded by its own watchdog:
#   1. ring_bench, 1 producer x 1 consumer, 64 B to 1 MiB, every transport
#   2. ring_bench --procs 2x2, 64 B to 1 MiB: the ring, one shared pipe, one queue
#   3. mpqueue.py: multiprocessing.Queue and shmpipe.Queue (--queue shmpipe) at 64 B, when python3 is present
#   4. latency: ping-pong, one-way p50/p99/p99.9
#   5. memcpy: single-core bandwidth, the ceiling
#   6. every other bench/*.sh (pipeline.sh, memory.sh, broker.sh), with B exported
# Targets are reported as PASS or MISS and never enforced: the exit status is
# non-zero only if a benchmark itself failed (or results.md could not be
# written).  The chart is drawn only when gnuplot is present.
set -u
B=${B:-build}
export B
dir=$(dirname "$0")
out=$dir/results.md
png=$dir/throughput.png
limit=${BENCH_STEP_TIMEOUT:-900}

quick=${BENCH_QUICK:-0}
[ "$quick" = 0 ] || quick=1
if [ "${1:-}" = --quick ]; then
	quick=1
	shift
fi
if [ $# -eq 0 ] && [ -n "${RING_BENCH_ARGS:-}" ]; then
	# Word splitting is wanted here: the variable holds several options.
	# shellcheck disable=SC2086
	set -- $RING_BENCH_ARGS
fi

if [ "$quick" = 1 ]; then
	mode="quick (--quick or BENCH_QUICK=1)"
	rb_common="--runs 1 --seconds 0.1"
	lat_opts="--runs 1 --seconds 0.1"
	mc_opts="--trials 2 --seconds 0.05"
	mpq_opts="--runs 1 --seconds 0.2"
	# The pipeline benchmark's own knobs, unless the caller set them.
	export PIPE_BENCH_MB="${PIPE_BENCH_MB:-40}" PIPE_STREAM_MB="${PIPE_STREAM_MB:-64}"
	export PIPE_BENCH_RUNS="${PIPE_BENCH_RUNS:-1}" BENCH_QUICK=1
else
	mode="full"
	rb_common="--runs 3 --seconds 0.5"
	lat_opts="--runs 3 --seconds 0.5"
	mc_opts="--trials 5 --seconds 0.1"
	mpq_opts="--runs 3 --seconds 0.5"
fi
mq_raise=
if [ "$(id -u)" = 0 ] && [ "${BENCH_MQ_RAISE:-1}" != 0 ]; then
	mq_raise=--mq-raise
fi
# The latency pair on two CPUs, so that a wake-up crosses cores as it does
# between a real producer and consumer: the first two this process may use.
if [ -z "${BENCH_LAT_CPUS+set}" ]; then
	BENCH_LAT_CPUS=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status 2>/dev/null |
		tr ',' '\n' | awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2) && n < 2; c++) a[n++] = c }
		END { if (n == 2) print a[0] "," a[1] }')
fi
lat_cpus=
[ -n "$BENCH_LAT_CPUS" ] && lat_cpus="--cpus $BENCH_LAT_CPUS"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
: >"$work/steps"
: >"$work/csv"
failed=
n=0
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
tty=0
[ -t 2 ] && tty=1

# Each step's own watchdog bounds its runs; timeout(1) bounds the whole step,
# in the foreground process group so that ^C still reaches the benchmark.
guard=
if command -v timeout >/dev/null 2>&1; then
	guard="timeout --foreground -k 10 $limit"
fi

# step TITLE COMMAND...: runs one benchmark under timeout(1), shows its output
# as it grows and keeps it, and records the command and its exit status.  On
# a terminal, stderr passes straight through (progress lines); elsewhere it
# is kept as well and copied after the output.
step() {
	title=$1
	shift
	n=$((n + 1))
	echo
	echo "run.sh: $*"
	if [ "$tty" = 1 ]; then
		{ $guard "$@"; echo $? >"$work/rc"; } | tee "$work/out.$n"
	else
		{ $guard "$@" 2>"$work/err.$n"; echo $? >"$work/rc"; } | tee "$work/out.$n"
		if [ -s "$work/err.$n" ]; then
			cat "$work/err.$n" >&2
			cat "$work/err.$n" >>"$work/out.$n"
		fi
	fi
	rc=$(cat "$work/rc")
	[ "$rc" = 124 ] && echo "run.sh: $title: killed after $limit s (BENCH_STEP_TIMEOUT)" |
		tee -a "$work/out.$n" >&2
	grep '^csv,' "$work/out.$n" >>"$work/csv"
	printf '%s\t%s\t%s\n' "$title" "$rc" "$*" >>"$work/steps"
	[ "$rc" = 0 ] || failed="$failed $title"
}

# skip TITLE WHY: a step that cannot run here.
skip() {
	n=$((n + 1))
	echo
	echo "run.sh: $1: skipped: $2"
	echo "skipped: $2" >"$work/out.$n"
	printf '%s\t%s\t%s\n' "$1" "skipped" "$2" >>"$work/steps"
}

need() {
	[ -x "$B/bench/$1" ] && return 0
	echo "run.sh: $B/bench/$1: not built (run make)" >&2
	return 1
}

echo "run.sh: $mode run; results go to $out"

# shellcheck disable=SC2086  # the option strings are split on purpose
{
	if need ring_bench; then
		step "ring_bench 1x1" "$B/bench/ring_bench" --csv $rb_common $mq_raise "$@"
		step "ring_bench 2x2" "$B/bench/ring_bench" --csv --procs 2x2 \
			$rb_common $mq_raise
	else
		failed="$failed ring_bench"
	fi
	if command -v python3 >/dev/null 2>&1; then
		# multiprocessing.Queue, a one-way multiprocessing.Pipe and the shmpipe package's
		# Queue over this build's library, interleaved, at 64 B and 64 KiB.
		case $B in /*) splib=$B/libshared.so.0 ;; *) splib=$PWD/$B/libshared.so.0 ;; esac
		for size in 64 65536; do
			step "mpqueue.py --size $size" python3 "$dir/mpqueue.py" --csv --size $size $mpq_opts
			step "mpqueue.py --size $size --queue pipe" python3 "$dir/mpqueue.py" --csv \
				--size $size --queue pipe $mpq_opts
			step "mpqueue.py --size $size --queue shmpipe" env SHMPIPE_LIBRARY="$splib" \
				PYTHONPATH="$dir/../python/src${PYTHONPATH:+:$PYTHONPATH}" \
				python3 "$dir/mpqueue.py" --csv --size $size --queue shmpipe $mpq_opts
		done
	else
		skip "mpqueue.py" "no python3: multiprocessing.Queue not measured"
	fi
	if need latency; then
		step "latency" "$B/bench/latency" --csv $lat_opts $lat_cpus
	else
		failed="$failed latency"
	fi
	if need memcpy; then
		step "memcpy" "$B/bench/memcpy" --csv $mc_opts
	else
		failed="$failed memcpy"
	fi
	for s in "$dir"/*.sh; do
		[ -f "$s" ] || continue
		[ "${BENCH_OTHER:-1}" = 0 ] && continue
		[ "${s##*/}" = run.sh ] && continue
		step "${s##*/}" sh "$s"
	done
}

# ---- Judging.  Every figure comes from the CSV lines of this run.
# shellcheck disable=SC2016
awk_common='
BEGIN { FS = "," }
$1 != "csv" || $2 == "columns" { next }
$2 == "tput" { mps[$3, $4, $5] = $9; gbs[$3, $4, $5] = $10; sizes[$3, $5] = 1 }
$2 == "na" { na[$3, $4, $5] = $6 }
$2 == "lat" { p50[$3] = $7; p99[$3] = $8; p999[$3] = $9 }
$2 == "memcpy" { mc[$3] = $5 }
function has(a, k) { return (k in a) && a[k] != "" }
function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
function rate(v) { return v >= 1e6 ? fmt(v / 1e6) "M" : v >= 1e3 ? fmt(v / 1e3) "k" : fmt(v) }
'

# shellcheck disable=SC2016
awk_targets='
function row(label, measured, beside, verdict) {
	if (md)
		printf("| %s | %s | %s | **%s** |\n", label, measured, beside, verdict)
	else
		printf("target %s: %s (%s): %s\n", label, measured, beside, verdict)
}
# ratio of ring mode m to transport o (procs p, size s), as text; "" if either is missing
function rr(p, m, o, s) {
	if (!has(mps, p SUBSEP m SUBSEP s) || !has(mps, p SUBSEP o SUBSEP s) || mps[p, o, s] <= 0)
		return ""
	return mps[p, m, s] / mps[p, o, s]
}
function xr(r) { return r == "" ? "-" : sprintf("%.2fx", r) }
function why(p, o, s) { return has(na, p SUBSEP o SUBSEP s) ? "n/a: " na[p, o, s] : "not measured" }
function ratio_target(label, p, s, o, want, unit,    r, z) {
	r = rr(p, "ring-copy", o, s); z = rr(p, "ring-zc", o, s)
	if (r == "") { row(label, why(p, (has(mps, p SUBSEP o SUBSEP s) ? "ring-copy" : o), s), "-", "n/a"); return }
	row(label, sprintf("%.2fx: ring-copy %s %s vs %s %s %s", r, rate(mps[p, "ring-copy", s]), unit, o,
	    rate(mps[p, o, s]), unit), z == "" ? "ring-zc -" : sprintf("ring-zc %.2fx", z),
	    r >= want ? "PASS" : "MISS")
}
END {
	ratio_target("64 B, 1x1: ring msg/s >= 20x a pipe", "1x1", 64, "pipe", 20, "msg/s")
	# The ceiling, mode against mode.
	r = rr("1x1", "ring-copy", "naive-copy", 64); z = rr("1x1", "ring-zc", "naive-zc", 64)
	if (r == "") row("64 B, 1x1: ring >= 25% of the naive spinning ring", "not measured", "-", "n/a")
	else row("64 B, 1x1: ring >= 25% of the naive spinning ring",
	    sprintf("%.0f%%: ring-copy %s msg/s vs naive-copy %s msg/s", 100 * r,
	    rate(mps["1x1", "ring-copy", 64]), rate(mps["1x1", "naive-copy", 64])),
	    z == "" ? "ring-zc -" : sprintf("ring-zc vs naive-zc %.0f%%", 100 * z), r >= 0.25 ? "PASS" : "MISS")
	if (has(mps, "1x1" SUBSEP "mpqueue" SUBSEP 64))
		ratio_target("64 B, 1x1: ring >= 200x multiprocessing.Queue", "1x1", 64, "mpqueue", 200, "msg/s")
	else
		row("64 B, 1x1: ring >= 200x multiprocessing.Queue", "not measured (no python3?)", "-", "n/a")
	# Python: both sides pay the interpreter (pickling, ctypes calls).
	r = rr("1x1", "shmqueue", "mpqueue", 64)
	if (r == "") row("64 B, 1x1: shmpipe.Queue >= 3x multiprocessing.Queue", "not measured", "-", "n/a")
	else row("64 B, 1x1: shmpipe.Queue >= 3x multiprocessing.Queue", sprintf("%.2fx: shmqueue %s msg/s vs mpqueue %s msg/s",
	    r, rate(mps["1x1", "shmqueue", 64]), rate(mps["1x1", "mpqueue", 64])),
	    sprintf("vs mppipe %s; 64 KiB: vs mpqueue %s, vs mppipe %s", xr(rr("1x1", "shmqueue", "mppipe", 64)),
	    xr(rr("1x1", "shmqueue", "mpqueue", 65536)), xr(rr("1x1", "shmqueue", "mppipe", 65536))),
	    r >= 3 ? "PASS" : "MISS")
	# 64 KiB: against the best kernel transport of this run.
	best = ""; bv = 0; skipped = ""
	split("pipe socketpair mq", ks, " ")
	for (i = 1; i <= 3; i++) {
		if (has(gbs, "1x1" SUBSEP ks[i] SUBSEP 65536) && gbs["1x1", ks[i], 65536] > bv) { bv = gbs["1x1", ks[i], 65536]; best = ks[i] }
		else if (!has(gbs, "1x1" SUBSEP ks[i] SUBSEP 65536)) skipped = skipped " " ks[i]
	}
	if (best == "" || !has(gbs, "1x1" SUBSEP "ring-copy" SUBSEP 65536))
		row("64 KiB, 1x1: ring GB/s >= 2x the best kernel transport", "not measured", "-", "n/a")
	else {
		r = gbs["1x1", "ring-copy", 65536] / bv
		z = has(gbs, "1x1" SUBSEP "ring-zc" SUBSEP 65536) ? sprintf("ring-zc %.2fx", gbs["1x1", "ring-zc", 65536] / bv) : "ring-zc -"
		row("64 KiB, 1x1: ring GB/s >= 2x the best kernel transport",
		    sprintf("%.2fx: ring-copy %s GB/s vs %s %s GB/s", r, fmt(gbs["1x1", "ring-copy", 65536]), best, fmt(bv)),
		    z (skipped == "" ? "" : "; not measured:" skipped), r >= 2 ? "PASS" : "MISS")
	}
	z = rr("1x1", "ring-zc", "naive-zc", 65536); r = rr("1x1", "ring-copy", "naive-copy", 65536)
	if (z == "") row("64 KiB, 1x1: zero-copy ring >= 60% of the naive ring GB/s", "not measured", "-", "n/a")
	else row("64 KiB, 1x1: zero-copy ring >= 60% of the naive ring GB/s",
	    sprintf("%.0f%%: ring-zc %s GB/s vs naive-zc %s GB/s", 100 * z, fmt(gbs["1x1", "ring-zc", 65536]),
	    fmt(gbs["1x1", "naive-zc", 65536])), r == "" ? "ring-copy -" : sprintf("ring-copy vs naive-copy %.0f%%", 100 * r),
	    z >= 0.6 ? "PASS" : "MISS")
	ratio_target("64 B, 2x2: ring msg/s >= 5x one shared pipe", "2x2", 64, "pipe", 5, "msg/s")
	if (!has(p50, "ring-spin")) {
		row("latency, spin then sleep: one-way p50 <= 0.5 us", "not measured", "-", "n/a")
		row("latency, spin then sleep: one-way p99 <= 2 us", "not measured", "-", "n/a")
	} else {
		row("latency, spin then sleep: one-way p50 <= 0.5 us", sprintf("%.3f us", p50["ring-spin"] / 1e3),
		    sprintf("sleeping only %s us, pipe %s us", has(p50, "ring-sleep") ? sprintf("%.3f", p50["ring-sleep"] / 1e3) : "-",
		    has(p50, "pipe") ? sprintf("%.3f", p50["pipe"] / 1e3) : "-"), p50["ring-spin"] <= 500 ? "PASS" : "MISS")
		row("latency, spin then sleep: one-way p99 <= 2 us", sprintf("%.3f us", p99["ring-spin"] / 1e3),
		    sprintf("sleeping only %s us, pipe %s us", has(p99, "ring-sleep") ? sprintf("%.3f", p99["ring-sleep"] / 1e3) : "-",
		    has(p99, "pipe") ? sprintf("%.3f", p99["pipe"] / 1e3) : "-"), p99["ring-spin"] <= 2000 ? "PASS" : "MISS")
	}
}'

# The ring over each alternative, at equal size and layout: msg/s ratios
# (the same as GB/s ratios), memcpy as a share of its GB/s.
# shellcheck disable=SC2016
awk_ratios='
function cell(p, m, o, s) {
	if (!has(mps, p SUBSEP m SUBSEP s)) return "-"
	if (!has(mps, p SUBSEP o SUBSEP s)) return has(na, p SUBSEP o SUBSEP s) ? "n/a" : "-"
	return sprintf("%.2fx", mps[p, m, s] / mps[p, o, s])
}
function sz(s) { return s >= 1048576 && s % 1048576 == 0 ? s / 1048576 " MiB" : s >= 1024 && s % 1024 == 0 ? s / 1024 " KiB" : s " B" }
END {
	ns = 0
	for (k in sizes) { split(k, a, SUBSEP); if (!(a[2] in seen)) { seen[a[2]] = 1; list[++ns] = a[2] + 0 } }
	for (i = 2; i <= ns; i++) for (j = i; j > 1 && list[j - 1] > list[j]; j--) { t = list[j]; list[j] = list[j - 1]; list[j - 1] = t }
	if (md) {
		print "| procs | ring | size | vs pipe | vs socketpair | vs mq | vs mpqueue | vs naive (same mode) | share of memcpy GB/s |"
		print "|---|---|---|---|---|---|---|---|---|"
	} else
		printf("%-5s %-9s %7s %8s %13s %8s %10s %9s %10s\n", "procs", "ring", "size", "vs pipe", "vs socketpair", "vs mq", "vs mpqueue", "vs naive", "of memcpy")
	split("1x1 2x2", pl, " ")
	for (pi = 1; pi <= 2; pi++) for (i = 1; i <= ns; i++) for (mi = 0; mi < 2; mi++) {
		p = pl[pi]; s = list[i]; m = mi ? "ring-zc" : "ring-copy"
		if (!has(mps, p SUBSEP m SUBSEP s)) continue
		mcs = has(mc, s) && mc[s] > 0 ? sprintf("%.0f%%", 100 * gbs[p, m, s] / mc[s]) : "-"
		c1 = cell(p, m, "pipe", s); c2 = cell(p, m, "socketpair", s); c3 = cell(p, m, "mq", s)
		c4 = cell(p, m, "mpqueue", s); c5 = cell(p, m, mi ? "naive-zc" : "naive-copy", s)
		if (md) printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p, m, sz(s), c1, c2, c3, c4, c5, mcs)
		else printf("%-5s %-9s %7s %8s %13s %8s %10s %9s %10s\n", p, m, sz(s), c1, c2, c3, c4, c5, mcs)
	}
}'

# Lines "target ...: PASS|MISS" printed by other scripts (bench/pipeline.sh).
other_targets() {
	i=0
	while IFS='	' read -r title rc cmd; do
		i=$((i + 1))
		case $title in *.sh) ;; *) continue ;; esac
		grep -E '^target.*: (PASS|MISS)$' "$work/out.$i" 2>/dev/null |
			sed -e 's/^target:* *//' -e "s|^|$title: |"
	done <"$work/steps"
}

echo
echo "run.sh: targets (reported, not enforced; judged on the copying ring, zero-copy beside)"
awk -v md=0 "$awk_common$awk_targets" "$work/csv"
other_targets
echo
echo "run.sh: the ring / each alternative (msg/s at equal size; memcpy: share of its GB/s)"
awk -v md=0 "$awk_common$awk_ratios" "$work/csv"

# ---- The chart: GB/s against record size, one line per transport (1x1),
# memcpy as the ceiling.
chart="no chart: gnuplot not found (apt-get install gnuplot-nox)"
if command -v gnuplot >/dev/null 2>&1; then
	mkdir -p "$work/dat"
	awk -F, -v d="$work/dat" '
	$1 == "csv" && $2 == "tput" && $3 == "1x1" { print $5, $10 > (d "/" $4); s[$5] = 1 }
	$1 == "csv" && $2 == "memcpy" { m[$3] = $5 }
	END { for (k in m) if (k in s) print k, m[k] > (d "/memcpy (ceiling)") }' "$work/csv"
	plot=
	xt=
	for f in ring-copy ring-zc naive-copy naive-zc pipe socketpair mq mpqueue "memcpy (ceiling)"; do
		[ -s "$work/dat/$f" ] || continue
		sort -n "$work/dat/$f" -o "$work/dat/$f"
		style="linespoints lw 2"
		case $f in mpqueue) style="points pt 7 ps 1.5" ;; memcpy*) style="lines dt 2 lw 2 lc rgb 'black'" ;; esac
		plot="$plot${plot:+, }'$work/dat/$f' using 1:2 with $style title '$f'"
	done
	xt=$(cat "$work/dat"/* 2>/dev/null | awk '{ print $1 }' | sort -nu | awk '
		{ s = $1; l = s >= 1048576 && s % 1048576 == 0 ? s / 1048576 " MiB" : s >= 1024 && s % 1024 == 0 ? s / 1024 " KiB" : s " B"
		  printf("%s\"%s\" %s", n++ ? ", " : "", l, s) }')
	if [ -n "$plot" ]; then
		term="pngcairo size 1000,620 noenhanced font ',10'"
		gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 || term="png size 1000,620 noenhanced"
		if gnuplot >"$work/gnuplot.log" 2>&1 <<EOF
set terminal $term
set output '$work/chart.png'
set title "Throughput against record size, 1 producer x 1 consumer ($(nproc) CPUs, $(date -u '+%Y-%m-%d'))"
set logscale x 2
set logscale y 10
set xtics ($xt)
set xlabel 'record size'
set ylabel 'GB/s of payload (10^9 B/s)'
set grid
set offsets graph 0.03, graph 0.03, 0, 0
set key outside right top
plot $plot
EOF
		then
			cp "$work/chart.png" "$png.tmp" && mv -f "$png.tmp" "$png" && chart="drawn"
			echo "run.sh: wrote $png"
		else
			chart="no chart: gnuplot failed ($(head -n 1 "$work/gnuplot.log"))"
		fi
	else
		chart="no chart: no throughput figures"
	fi
fi
[ "$chart" = drawn ] || echo "run.sh: $chart"

# ---- results.md
model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
commit=$(git -C "$dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
# Our own outputs (the chart is already drawn) do not count as changes.
if [ -n "$(git -C "$dir" status --porcelain -- ':/' ':(exclude,top)bench/results.md' \
	':(exclude,top)bench/throughput.png' 2>/dev/null)" ]; then
	commit="$commit, with uncommitted changes"
fi
lim() { cat "$1" 2>/dev/null || echo '?'; }
{
	echo "# Benchmark results"
	echo
	echo "Written by \`bench/run.sh\`; see \`bench/README.md\` for what each figure means and how"
	echo "far to trust it.  Targets are reported, not enforced.  Medians of several runs unless"
	echo "said otherwise; every ratio is between figures of this one run."
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| Date | $(date -u '+%Y-%m-%d %H:%M:%S UTC') |"
	echo "| Mode | $mode |"
	echo "| CPUs (nproc) | $(nproc) |"
	echo "| CPU model | ${model:-unknown ($(uname -m))} |"
	echo "| Kernel (uname -r) | $(uname -r) |"
	echo "| Load average, start / end | $load0 / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) |"
	echo "| Memory | $(awk '/^MemTotal/ { printf("%.1f GiB", $2 / 1048576) }' /proc/meminfo 2>/dev/null) |"
	echo "| mqueue limits | msgsize_max $(lim /proc/sys/fs/mqueue/msgsize_max), msg_max $(lim /proc/sys/fs/mqueue/msg_max), RLIMIT_MSGQUEUE $(awk '/^Max msgqueue size/ { print $4 }' /proc/self/limits 2>/dev/null) B${mq_raise:+; --mq-raise} |"
	echo "| Python | $(python3 --version 2>/dev/null || echo 'none') |"
	echo "| Source | $commit |"
	echo "| Command | \`B=$B bench/run.sh$([ "$quick" = 1 ] && printf ' --quick')${*:+ $*}\` |"
	echo "| Exit status | $([ -n "$failed" ] && echo "1 (failed:$failed)" || echo 0) |"
	echo
	echo "## Targets"
	echo
	echo "Judged on the copying ring (\`sp_ring_put\`/\`sp_ring_get\`), which moves every payload"
	echo "byte as the kernel transports do; the zero-copy ring is shown beside it.  The"
	echo "zero-copy target is judged on the zero-copy ring."
	echo
	echo "| Target | Measured | Beside | Verdict |"
	echo "|---|---|---|---|"
	awk -v md=1 "$awk_common$awk_targets" "$work/csv"
	# A '|' in a target's text ("cat | cat") would split its table cell.
	other_targets | sed -e 's/|/\\|/g' | sed -E 's/^(.*): (PASS|MISS)$/| \1 | | | **\2** |/'
	echo
	echo "The pipeline and stream targets are measured by \`bench/pipeline.sh\`, the memory"
	echo "target by \`bench/memory.sh\` (their sections below, when present)."
	echo
	echo "## The ring / each alternative"
	echo
	echo "Ratios of msg/s at equal record size and layout (the same as ratios of GB/s);"
	echo "\"vs naive\" compares like with like (copy with copy, zero-copy with zero-copy); the last"
	echo "column is the ring's GB/s as a share of single-core memcpy's at that block size."
	echo
	awk -v md=1 "$awk_common$awk_ratios" "$work/csv"
	echo
	echo "## Chart"
	echo
	if [ "$chart" = drawn ]; then
		echo "![GB/s against record size](throughput.png)"
	else
		echo "$chart."
	fi
	echo
	echo "## Commands"
	echo
	echo "| Step | Exit status | Command |"
	echo "|---|---|---|"
	while IFS='	' read -r title rc cmd; do
		echo "| $title | $rc | \`$cmd\` |"
	done <"$work/steps"
	i=0
	while IFS='	' read -r title rc cmd; do
		i=$((i + 1))
		echo
		echo "## $title"
		echo
		echo '```'
		grep -v '^csv,' "$work/out.$i" | awk 'NF { for (; b > 0; b--) print ""; print; next } { b++ }'
		echo '```'
	done <"$work/steps"
	echo
	echo "## Machine-readable"
	echo
	echo '```'
	cat "$work/csv"
	echo '```'
} >"$work/results.md"

# Built in the scratch folder, replaced in one rename, so a reader or a
# second run never sees half a file.
cp "$work/results.md" "$out.tmp" && mv -f "$out.tmp" "$out" || exit 1
echo
echo "run.sh: wrote $out"
if [ -n "$failed" ]; then
	echo "run.sh: failed:$failed" >&2
	exit 1
fi
exit 0
