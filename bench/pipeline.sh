#!/bin/sh
# pipeline.sh: the file pipeline against the shell tools, on a real disk and on tmpfs, and the stream against cat | cat.
#
#   B=build bench/pipeline.sh          (bench/run.sh runs it; B defaults to build)
#   PIPE_BENCH_MB=300                  MB of real files for the file races
#   PIPE_STREAM_MB=512                 MB of the file for the stream race
#   PIPE_BENCH_RUNS=3                  timed runs of each contender, interleaved; medians count
#   PIPE_BENCH_DISK=DIR                the real-disk folder (default: the first of $TMPDIR, /tmp,
#                                      /var/tmp that is not tmpfs; "none" skips the disk race)
#   PIPE_BENCH_TMPFS=/dev/shm          the tmpfs folder ("none" skips the tmpfs race)
#   PIPE_BENCH_COLD=1                  drop the page cache before each disk run (default:
#                                      when root; 0: warm runs, the input read beforehand)
#   PIPE_BENCH_STRACE=1                system calls per file (strace -c -f, one run each; 0: skip)
#   PIPE_BENCH_SYNC=1                  consumer --sync, one run on the disk (0: skip)
#
# The data: every regular file of /usr/include and /usr/share/doc, then of
# /usr/share and /usr/lib, in path order, until the total is reached
# (about 15,000 files for 300 MB: the thousands of small files a batch
# job meets), copied into the folder raced on, then read once so that
# every contender finds them in the page cache.
#
# Each file race runs its contenders in turn, PIPE_BENCH_RUNS rounds, so
# that a busy moment of the shared machine hits every contender alike.
# Every run writes into a fresh output folder, made before the clock
# starts, and `sync` runs before it, so that no contender pays for the
# writeback of the one before.  On the disk nothing is deleted until the
# end: on ext4, creating files in the minute after a mass delete is
# several times slower (bench/README.md), and it would fall on whichever
# contender came next.  On tmpfs each output is removed after its run.
#
#   compression, one .lz4 per file, each written beside its file in a
#   hard-link copy of the data (lz4 -m writes beside its input; so every
#   contender meets the same directories):
#     lz4 -m                  find | xargs lz4 -1 -m, one process at a time
#     xargs -P2 -n64 lz4 -m   find | xargs -P2 -n64 lz4 -1 -m
#     tar -c | lz4 -1         one compressed stream, not one file per file
#     consumer -j 1 -z and -j 2 -z, fed by producer -C DATA .
#   copy, into an empty folder:
#     cp -r, tar -c | tar -x, consumer -j 2 -o fed by producer
#   restore, a tree of .lz4 files (made by lz4 -m) back to plain files,
#   each beside its .lz4 in a hard-link copy of that tree:
#     find | xargs -P2 -n64 lz4 -d -m, and consumer -j 2 -d fed by producer
# The restore race needs consumer -d and the durable run --sync: a
# consumer without them gets neither, with a note on stderr.
# Once each, beside the races: consumer -j 2 -z --sync on the disk (every
# file and its directory fsynced before it counts as done), and every
# contender under strace -c -f for its system calls per file.
# CPU seconds are the contenders' user + system time (the shell's `times`,
# which counts every process waited for), per MB of input.
#
# The stream race moves one file (half random, half file content), on
# tmpfs, to two sinks, the contenders taking turns run by run:
#   to /dev/null, the transport alone:
#     cat FILE | cat > /dev/null
#     producer -r R - < FILE  with  consumer -r R --stdout > /dev/null
#     and the floor: cat FILE > /dev/null, the read alone, no transport;
#   to a file (checked with cmp):
#     cat FILE | cat > COPY
#     producer -r R - < FILE  with  consumer -r R --stdout > COPY
#     and the floor: cat FILE > COPY, reading and writing, no transport.
# With a file sink both contenders pay that write, so their ratio cannot
# exceed (cat | cat) / floor whatever the transport (bench/README.md).
#
# Targets (reported, never enforced), on the disk: consumer -j 2 -z >= 1.2x
# xargs -P2 lz4 -m and >= 1.8x lz4 -m, consumer -j 2 -o >= cp -r; on tmpfs
# the earlier ones: consumer -j 2 -z >= 1.7x lz4 -m and >= xargs -P2; the
# stream >= 2x cat | cat, judged on the /dev/null sink.
# Exit status: 0, or 1 if a contender failed or produced a wrong result.
set -u
B=${B:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
MB=${PIPE_BENCH_MB:-300}
SMB=${PIPE_STREAM_MB:-512}
RUNS=${PIPE_BENCH_RUNS:-3}
P=$B/producer
C=$B/consumer
export P C

for x in "$P" "$C"; do
	[ -x "$x" ] || { echo "pipeline.sh: $x not built (run make)" >&2; exit 1; }
done
for x in lz4 tar; do
	command -v $x >/dev/null || { echo "pipeline.sh: no $x command" >&2; exit 1; }
done

fstype() { stat -f -c %T "$1" 2>/dev/null; }
free_kb() { df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print $4 }'; }

# The folders raced on.  The disk race keeps every output to the end: about
# ten outputs of up to MB each per round.
disk_need=$(( MB * (10 * RUNS + 4) * 1000 ))
tmpfs_need=$(( (MB * 4 + SMB * 2 + 64) * 1000 ))
disk=${PIPE_BENCH_DISK:-}
if [ -z "$disk" ]; then
	for d in "${TMPDIR:-}" /tmp /var/tmp; do
		[ -n "$d" ] && [ -d "$d" ] && [ -w "$d" ] || continue
		[ "$(fstype "$d")" = tmpfs ] && continue
		disk=$d
		break
	done
	[ -n "$disk" ] || disk=none
fi
if [ "$disk" != none ] && [ "$(free_kb "$disk")" -lt "$disk_need" ]; then
	echo "pipeline.sh: $disk has less than $((disk_need / 1000)) MB free: no disk race" >&2
	disk=none
fi
tmpfs=${PIPE_BENCH_TMPFS:-/dev/shm}
if [ "$tmpfs" != none ] && { [ ! -d "$tmpfs" ] || [ "$(free_kb "$tmpfs")" -lt "$tmpfs_need" ]; }; then
	echo "pipeline.sh: $tmpfs missing or short of room: the tmpfs race and the stream go to the disk" >&2
	tmpfs=none
fi
[ "$disk" != none ] || [ "$tmpfs" != none ] || { echo "pipeline.sh: nowhere to race" >&2; exit 1; }

TD= TS=
R=bench$$
export R
cleanup() {
	rm -f /dev/shm/shmpipe.$R*
	[ -n "$TS" ] && rm -rf "$TS"
	[ -n "$TD" ] && rm -rf "$TD"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A reader that goes away (pipeline.sh | head) or a closed terminal: the
# scratch folders are removed all the same (dash runs no EXIT trap on a
# signal it does not catch).
trap 'exit 129' HUP
trap 'exit 141' PIPE
if [ "$disk" != none ]; then
	TD=$(mktemp -d "$disk/shmpipe-bench.XXXXXX") || exit 1
fi
if [ "$tmpfs" != none ]; then
	TS=$(mktemp -d "$tmpfs/shmpipe-bench.XXXXXX") || exit 1
fi
# Scratch files that are not raced on (lists, timings) go with the stream.
W=${TS:-$TD}

now() { date +%s.%N; }
rmring() { rm -f /dev/shm/shmpipe.$R*; }

# ---- The files.
list_files() {
	for r in /usr/include /usr/share/doc /usr/share /usr/lib; do
		find "$r" -xdev -type f -readable -size -64M -printf '%s %p\n' 2>/dev/null | sort -k 2
	done | grep -v '[[:cntrl:]]' | awk -v max=$((MB * 1000000)) '
	{ s = $1; sub(/^[0-9]+ /, ""); if (seen[$0]++ || tot + s > max) next; tot += s; print }'
}
list_files > "$W/list"
first=${TD:-$TS}
mkdir -p "$first/data"
# cp --parents keeps the tree; awkward names were left out above.
tr '\n' '\0' < "$W/list" | xargs -0 cp --parents -t "$first/data" 2>/dev/null
find "$first/data" -type f -name '*.lz4' -delete
if [ -n "$TD" ] && [ -n "$TS" ]; then
	cp -a "$TD/data" "$TS/data"
fi
NF=$(find "$first/data" -type f | wc -l)
ND=$(find "$first/data" -type d | wc -l)
BYTES=$(find "$first/data" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
fail=0

# The page cache.  Cold (the default when root): every disk run starts
# from an emptied cache (sync, then drop_caches), so it reads its input
# from the disk as a first batch job would.  Warm (PIPE_BENCH_COLD=0, or
# not root): the input is read once beforehand and every contender finds
# it cached; the header says which.  tmpfs has no disk to go back to.
cold=${PIPE_BENCH_COLD:-}
if [ -z "$cold" ]; then
	cold=0
	[ "$(id -u)" = 0 ] && cold=1
fi
if [ "$cold" = 1 ] && [ -n "$TD" ] && ! { sync && echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
	echo "pipeline.sh: cannot write /proc/sys/vm/drop_caches: the disk race runs warm" >&2
	cold=0
fi
if [ -z "$TD" ]; then
	cache=
elif [ "$cold" = 1 ]; then
	cache="; disk page cache dropped before each run"
elif [ "$(id -u)" = 0 ]; then
	cache="; disk page cache NOT dropped (PIPE_BENCH_COLD=0): warm-cache figures"
else
	cache="; disk page cache NOT dropped (not root): warm-cache figures"
fi

# What this consumer can do: the restore race needs -d, the durable run
# --sync; without them they are left out, with a note.
has_opt() { "$C" --help 2>&1 | grep -q -e "$1"; }
has_d=0 has_sync=0
has_opt '--decompress' && has_d=1
has_opt '--sync' && has_sync=1
[ "$has_d" = 1 ] || echo "pipeline.sh: $C has no --decompress: no restore race" >&2
[ "$has_sync" = 1 ] || echo "pipeline.sh: $C has no --sync: no durable run" >&2

echo "pipeline.sh: $NF files in $ND folders, $(echo "$BYTES" | awk '{ printf "%.1f", $1 / 1e6 }') MB; disk: $disk${TD:+ ($(fstype "$TD"))}; tmpfs: $tmpfs; medians of $RUNS interleaved runs$cache; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- One race.
# The contenders: "name#kind#check#command", kind L (OUT a hard-link copy of D),
# Z (a hard-link copy of the .lz4 tree Z) or E (OUT does not exist yet).
# Commands see D, Z, O (the output folder), R, P and C in the environment.
#
# run_one KIND CMD TAG: makes the output folder, syncs, runs CMD timed;
# appends "TAG wall cpu" to $W/times; prints the output folder.  Returns
# CMD's status.
run_one() {
	n_out=$((n_out + 1))
	O=$place/out.$n_out
	case $1 in
	L) cp -al "$D" "$O" ;;
	Z) cp -al "$Z" "$O" ;;
	esac
	rmring
	sync
	if [ "$cold" = 1 ] && [ "$place" = "$TD" ]; then
		echo 3 > /proc/sys/vm/drop_caches
	fi
	export O
	t0=$(now)
	sh -c "$2
rc=\$?; times > '$W/times.one'; exit \$rc"
	rc=$?
	t1=$(now)
	cpu=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$W/times.one" 2>/dev/null)
	echo "$3 $(echo "$t0 $t1" | awk '{ print $2 - $1 }') ${cpu:-0}" >> "$W/times"
	return $rc
}

# check KIND NAME: checks the output $O of the contender NAME.
check() {
	case $1 in
	z)
		n=$(find "$O" -name '*.lz4' | wc -l)
		[ "$n" = "$NF" ] || { echo "pipeline.sh: $2 wrote $n of $NF files" >&2; return 1; }
		# A sample of the frames must restore the originals.
		(cd "$D" && find . -type f | awk 'NR % 97 == 1') | while read -r f; do
			lz4 -dc "$O/$f.lz4" | cmp -s - "$D/$f" || { echo "pipeline.sh: $2: $f differs" >&2; exit 1; }
		done ;;
	c)
		n=$(find "$O" -type f | wc -l)
		[ "$n" = "$NF" ] || { echo "pipeline.sh: $2 wrote $n of $NF files" >&2; return 1; }
		(cd "$D" && find . -type f | awk 'NR % 97 == 1') | while read -r f; do
			cmp -s "$O/$f" "$D/$f" || { echo "pipeline.sh: $2: $f differs" >&2; exit 1; }
		done ;;
	d)
		n=$(find "$O" -type f ! -name '*.lz4' | wc -l)
		[ "$n" = "$NF" ] || { echo "pipeline.sh: $2 restored $n of $NF files" >&2; return 1; }
		(cd "$D" && find . -type f | awk 'NR % 97 == 1') | while read -r f; do
			cmp -s "$O/$f" "$D/$f" || { echo "pipeline.sh: $2: $f differs" >&2; exit 1; }
		done ;;
	t)
		n=$(lz4 -dc "$O.tar.lz4" | tar -tf - | grep -c -v '/$')
		[ "$n" = "$NF" ] || { echo "pipeline.sh: $2 archived $n of $NF files" >&2; return 1; }
		rm -f "$O.tar.lz4" ;;
	esac
}

# race PLACE KEEP: every contender of $contenders, RUNS rounds, in turn;
# outputs are kept (KEEP=1) or removed after their run and check.
race() {
	place=$1
	: > "$W/times"
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		echo "$contenders" | while IFS='#' read -r name kind what cmd; do
			[ -n "$name" ] || continue
			run_one "$kind" "$cmd" "$name" || { echo "pipeline.sh: $name failed" >&2; echo x >> "$W/failed"; }
			check "$what" "$name" || echo x >> "$W/failed"
			[ "$2" = 1 ] || rm -rf "$O"
			echo "$n_out" > "$W/n_out"
		done
		n_out=$(cat "$W/n_out")
		i=$((i + 1))
	done
	[ -s "$W/failed" ] && fail=1
	rm -f "$W/failed"
}

# The contenders of the file races.  xargs gets the list from the data
# (never from the output, where files appear as it runs).
contenders='
lz4 -m#L#z#(cd "$D" && find . -type f -print0) | (cd "$O" && xargs -0 lz4 -1 -m -q -f)
xargs -P2 -n64 lz4 -1 -m#L#z#(cd "$D" && find . -type f -print0) | (cd "$O" && xargs -0 -P2 -n64 lz4 -1 -m -q -f)
tar -c | lz4 -1#E#t#tar -C "$D" -cf - . | lz4 -1 -q > "$O.tar.lz4"
consumer -j 1 -z#L#z#"$C" -q -r $R -j 1 -z -o "$O" & c=$!; "$P" -q -r $R -C "$D" . && wait $c
consumer -j 2 -z#L#z#"$C" -q -r $R -j 2 -z -o "$O" & c=$!; "$P" -q -r $R -C "$D" . && wait $c
cp -r#E#c#cp -r "$D" "$O"
tar -c | tar -x#E#c#mkdir "$O" && tar -C "$D" -cf - . | tar -C "$O" -xf -
consumer -j 2 -o#E#c#"$C" -q -r $R -j 2 -o "$O" & c=$!; "$P" -q -r $R -C "$D" . && wait $c
xargs -P2 -n64 lz4 -d -m#Z#d#(cd "$Z" && find . -name "*.lz4" -print0) | (cd "$O" && xargs -0 -P2 -n64 lz4 -d -m -q -f)
consumer -j 2 -d#Z#d#"$C" -q -r $R -j 2 -d -o "$O" & c=$!; "$P" -q -r $R -C "$Z" . && wait $c
'
[ "$has_d" = 1 ] || contenders=$(echo "$contenders" | grep -v '#d#')

# The .lz4 tree the restore race starts from: what lz4 -m makes, the
# originals left out (links only: no file is freed).
make_z() {
	cp -al "$D" "$Z"
	(cd "$D" && find . -type f -print0) | (cd "$Z" && xargs -0 -P2 -n64 lz4 -1 -m -q -f)
	find "$Z" -type f ! -name '*.lz4' -delete
}

# strace_counts PLACE: each contender once under strace -c -f; prints
# "name calls-per-file top-calls..." lines into $W/strace.
strace_counts() {
	: > "$W/strace"
	command -v strace >/dev/null || { echo "(no strace: no system call counts)" > "$W/strace"; return; }
	place=$1
	echo "$contenders" | while IFS='#' read -r name kind what cmd; do
		[ -n "$name" ] || continue
		case $name in "tar -c | lz4 -1"|"consumer -j 1 -z") continue ;; esac
		n_out=$((n_out + 1))
		O=$place/strace.$n_out
		case $kind in L) cp -al "$D" "$O" ;; Z) cp -al "$Z" "$O" ;; esac
		rmring
		export O
		strace -c -f -o "$W/strace.one" sh -c "$cmd" > /dev/null 2>&1 || echo "pipeline.sh: $name failed under strace" >&2
		awk -v name="$name" -v nf="$NF" '
		$NF == "total" { total = $4 }
		$1 ~ /^[0-9.]+$/ && $NF != "total" && NF >= 5 { c[$NF] = $4 }
		END {
			line = sprintf("%-26s %6.1f ", name, total / nf)
			k = 0
			while (k < 7) {
				best = ""; for (s in c) if (best == "" || c[s] > c[best]) best = s
				if (best == "" || c[best] / nf < 0.05) break
				line = line sprintf(" %s %.1f", best, c[best] / nf); delete c[best]; k++
			}
			print line
		}' "$W/strace.one" >> "$W/strace"
		rm -rf "$O"
		echo "$n_out" > "$W/n_out"
	done
	n_out=$(cat "$W/n_out")
}

# report TITLE KIND: the table of one race from $W/times.
report() {
	awk -v b="$BYTES" -v title="$1" -v kind="$2" '
	function med(s,   a, m, i, j, t) {
		m = split(s, a, " ")
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	function lo(s,   a, m, i, x) { m = split(s, a, " "); x = a[1]; for (i = 2; i <= m; i++) if (a[i] + 0 < x + 0) x = a[i]; return x }
	{ n = $0; sub(/ [^ ]+ [^ ]+$/, "", n); nf = split($0, f, " "); w[n] = w[n] " " f[nf - 1]; c[n] = c[n] " " f[nf]
	  if (!(n in seen)) { seen[n] = 1; order[++k] = n } }
	END {
		for (i = 1; i <= k; i++) { n = order[i]; mw[n] = med(w[n]); bw[n] = lo(w[n]); mc[n] = med(c[n]) }
		printf "\n%s\n", title
		printf "%-28s %8s %8s %8s %11s %8s %8s\n", "contender", "median s", "best s", "MB/s", "CPU s/GB", "vs lz4", "vs xargs"
		for (i = 1; i <= k; i++) {
			n = order[i]
			if (n ~ /^(cp -r|xargs -P2 -n64 lz4 -d -m)$/) printf "\n"
			rl = ("lz4 -m" in mw) && mw[n] > 0 ? sprintf("%7.2fx", mw["lz4 -m"] / mw[n]) : "       -"
			rx = ("xargs -P2 -n64 lz4 -1 -m" in mw) && mw[n] > 0 ? sprintf("%7.2fx", mw["xargs -P2 -n64 lz4 -1 -m"] / mw[n]) : "       -"
			if (n ~ /^(cp -r|tar -c \| tar -x|consumer -j 2 -o)$/) { rl = sprintf("%7.2fx", mw["cp -r"] / mw[n]); rx = "(vs cp)" }
			if (n ~ /-d/) { rl = "       -"; rx = sprintf("%7.2fx", mw["xargs -P2 -n64 lz4 -d -m"] / mw[n]) }
			printf "%-28s %8.3f %8.3f %8.1f %11.2f %8s %8s\n", n, mw[n], bw[n], (mw[n] > 0 ? b / 1e6 / mw[n] : 0), mc[n] / (b / 1e9), rl, rx
		}
		z = mw["consumer -j 2 -z"]
		if (kind == "disk") {
			r1 = mw["xargs -P2 -n64 lz4 -1 -m"] / z; r2 = mw["lz4 -m"] / z; r3 = mw["cp -r"] / mw["consumer -j 2 -o"]
			printf "\ntarget: disk: consumer -j 2 -z >= 1.2x xargs -P2 lz4 -m: %.2fx: %s\n", r1, (r1 >= 1.2 ? "PASS" : "MISS")
			printf "target: disk: consumer -j 2 -z >= 1.8x lz4 -m: %.2fx: %s\n", r2, (r2 >= 1.8 ? "PASS" : "MISS")
			printf "target: disk: consumer -j 2 -o >= cp -r: %.2fx: %s\n", r3, (r3 >= 1.0 ? "PASS" : "MISS")
		} else {
			r1 = mw["lz4 -m"] / z; r2 = mw["xargs -P2 -n64 lz4 -1 -m"] / z
			printf "\ntarget: tmpfs: consumer -j 2 -z >= 1.7x lz4 -m: %.2fx: %s\n", r1, (r1 >= 1.7 ? "PASS" : "MISS")
			printf "target: tmpfs: consumer -j 2 -z >= xargs -P2 lz4 -m: %.2fx: %s\n", r2, (r2 >= 1.0 ? "PASS" : "MISS")
		}
	}' "$W/times"
}

n_out=0
file_race() {   # PLACE-DIR KIND
	D=$1/data Z=$1/z
	export D Z
	find "$D" -type f -print0 | xargs -0 cat > /dev/null
	[ "$has_d" = 1 ] && make_z
	race "$1" "$([ "$2" = disk ] && echo 1 || echo 0)"
	report "$2 ($(fstype "$1")), $(dirname "$1"): $NF files, medians of $RUNS runs" "$2"
	[ "$has_d" = 1 ] && echo "($NF files, $(echo "$BYTES" | awk '{ printf "%.1f", $1 / 1e6 }') MB in; lz4 -m makes $(find "$Z" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }') MB of them)"
	if [ "$2" = disk ] && [ "$has_sync" = 1 ] && [ "${PIPE_BENCH_SYNC:-1}" != 0 ]; then
		z=$(awk '$1 " " $2 " " $3 " " $4 == "consumer -j 2 -z" { print $5 }' "$W/times" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
		: > "$W/times"
		run_one L '"$C" -q -r $R -j 2 -z --sync -o "$O" & c=$!; "$P" -q -r $R -C "$D" . && wait $c' sync ||
			{ echo "pipeline.sh: consumer --sync failed" >&2; fail=1; }
		check z "consumer --sync" || fail=1
		awk -v b="$BYTES" -v z="$z" '{ printf "\nconsumer -j 2 -z --sync, once: %.3f s, %.1f MB/s, CPU %.2f s/GB; %.2fx the time of consumer -j 2 -z (median %.3f s)\n", $2, b / 1e6 / $2, $3 / (b / 1e9), z ? $2 / z : 0, z }' "$W/times"
	fi
	if [ "${PIPE_BENCH_STRACE:-1}" != 0 ]; then
		strace_counts "$1"
		printf "\nsystem calls per file (strace -c -f, one run each; the most frequent after the total)\n"
		cat "$W/strace"
	fi
}

if [ -n "$TD" ]; then
	file_race "$TD" disk
fi
if [ -n "$TS" ]; then
	PIPE_BENCH_SYNC=0 PIPE_BENCH_STRACE=0 file_race "$TS" tmpfs
	rm -rf "$TS/z" "$TS"/out.*
fi

# ---- The stream.
S=${TS:-$TD}
head -c $((SMB * 1000000 / 2)) /dev/urandom > "$S/big"
find "$S/data" -type f -print0 | xargs -0 cat 2>/dev/null | head -c $((SMB * 1000000 / 2)) >> "$S/big"
rm -rf "$S/data"
SB=$(stat -c %s "$S/big")
# The copy is removed before each run, outside the timing, so that every
# contender creates its file rather than freeing the last one's pages.
prep() { rm -f "$S/copy"; rmring; }
# srace NAME=CMD...: runs the commands in turn, RUNS rounds; sets t_NAME to
# each one's best wall time.  Fails if a run fails.
srace() {
	for a in "$@"; do eval "t_${a%%=*}="; done
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		for a in "$@"; do
			prep
			t0=$(now)
			sh -c "${a#*=}" || return 1
			t1=$(now)
			eval "b=\$t_${a%%=*}"
			b=$(echo "$t0 $t1 $b" | awk '{ d = $2 - $1; if ($3 == "" || d < $3) print d; else print $3 }')
			eval "t_${a%%=*}=$b"
		done
		i=$((i + 1))
	done
}
ring="'$C' -q -r $R --stdout > SINK & c=\$!; '$P' -q -r $R - < '$S/big' && wait \$c"
srace "catnull=cat '$S/big' | cat > /dev/null" "ringnull=$(echo "$ring" | sed 's|SINK|/dev/null|')" \
     "readnull=cat '$S/big' > /dev/null" \
     "catfile=cat '$S/big' | cat > '$S/copy'" "floor=cat '$S/big' > '$S/copy'" \
     "ringfile=$(echo "$ring" | sed "s|SINK|'$S/copy'|")" || fail=1
# The ring's file-sink run was the last: its copy is the one checked.
cmp -s "$S/big" "$S/copy" || { echo "pipeline.sh: the stream copy differs" >&2; fail=1; }

awk -v sb="$SB" -v cn="$t_catnull" -v rn="$t_ringnull" -v cf="$t_catfile" -v rf="$t_ringfile" \
    -v fl="$t_floor" -v rd="$t_readnull" -v where="$(fstype "$S")" '
function gbs(t) { return t ? sb / 1e9 / t : 0 }
function rat(a, t) { return t ? a / t : 0 }
BEGIN {
	printf "\n%-44s %8s %9s %8s\n", "stream to /dev/null (the transport), best", "seconds", "GB/s", "vs cat"
	printf "%-44s %8.3f %9.2f %7.2fx\n", "cat FILE | cat > /dev/null", cn, gbs(cn), 1
	printf "%-44s %8.3f %9.2f %7.2fx\n", "producer - | consumer --stdout > /dev/null", rn, gbs(rn), rat(cn, rn)
	printf "%-44s %8.3f %9.2f %7.2fx\n", "floor: cat FILE > /dev/null (no transport)", rd, gbs(rd), rat(cn, rd)
	printf "\n%-44s %8s %9s %8s\n", "stream to a file on " where ", best", "seconds", "GB/s", "vs cat"
	printf "%-44s %8.3f %9.2f %7.2fx\n", "cat FILE | cat > COPY", cf, gbs(cf), 1
	printf "%-44s %8.3f %9.2f %7.2fx\n", "producer - | consumer --stdout > COPY", rf, gbs(rf), rat(cf, rf)
	printf "%-44s %8.3f %9.2f %7.2fx\n", "floor: cat FILE > COPY (no transport)", fl, gbs(fl), rat(cf, fl)
	printf "(%.0f MB, half random, half file content.  To a file, both pay the write: no\n", sb / 1e6
	printf " transport can beat cat | cat by more than the floor does, %.2fx)\n\n", rat(cf, fl)
	v3 = "MISS"; if (rat(cn, rn) >= 2.0) v3 = "PASS"
	printf "target: stream >= 2x cat | cat (to /dev/null): %.2fx: %s\n", rat(cn, rn), v3
	printf "stream to a file: %.2fx cat | cat, of at most %.2fx (the file system write bounds it)\n", rat(cf, rf), rat(cf, fl)
}'
echo "pipeline.sh: targets are reported, not enforced"
exit $fail
