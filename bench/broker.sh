#!/bin/sh
# broker.sh: the same batch through the broker (a private redis-server) against the ring on one host, and a CPU-bound -x batch on one and two pinned consumer "hosts".
#
#   B=build bench/broker.sh            (bench/run.sh runs it; B defaults to build)
#   BROKER_BENCH_MB=100                MB of real files for the copy race (on tmpfs)
#   BROKER_BENCH_RUNS=3                timed runs of each contender, interleaved; medians count
#   BROKER_X_FILES=24                  files of the -x batch (each BROKER_X_KB of text)
#   BROKER_X_KB=768
#   BROKER_X_CMD='lz4 -12 -c > /dev/null'   the -x command: CPU-bound, tens of ms a file
#   BROKER_CPUS=a,b                    the two CPUs of the -x race (default: the first two allowed)
#
# The copy race (tmpfs, consumer -o, every file checked by count and a sample
# compared), contenders in turn, BROKER_BENCH_RUNS rounds:
#   ring                  consumer -r R -j 2 -o    fed by producer -r R
#   broker, 1 consumer    consumer --broker URL --host h1 -j 2 -o
#   broker, 2 consumers   two consumers, --host h1 and h2, -j 1 each, one output folder each
# each fed by producer --broker URL.  MB/s of input; CPU s per MB: the
# programs' user + system time (the shell's `times`, every process waited
# for) and, for the broker, the server's own (/proc/PID/stat of the
# redis-server, before and after the run), given apart and summed.
#
# The -x race: a batch of BROKER_X_FILES text files whose command is
# CPU-bound, one consumer (-j 1) pinned with taskset to one CPU, against two
# consumer "hosts" (-j 1 each) pinned to two CPUs.  Target (reported, never
# enforced): two hosts finish in at most 0.6x the time of one.
#
# The server: redis-server --port 0 on a unix socket of our scratch folder,
# --save '' --appendonly no, started here and stopped by its pid.
# Without --broker in the programs or without redis-server it says so and
# exits 0 (nothing measured).  Exit status: 0, or 1 if a run failed or
# produced a wrong result.
set -u
B=${B:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
P=$B/producer
C=$B/consumer
MB=${BROKER_BENCH_MB:-100}
RUNS=${BROKER_BENCH_RUNS:-3}
XF=${BROKER_X_FILES:-24}
XKB=${BROKER_X_KB:-768}
XCMD=${BROKER_X_CMD:-lz4 -12 -c > /dev/null}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	MB=${BROKER_BENCH_MB:-30}
	RUNS=${BROKER_BENCH_RUNS:-1}
	XF=${BROKER_X_FILES:-12}
fi

for x in "$P" "$C"; do
	[ -x "$x" ] || { echo "broker.sh: $x not built (run make)" >&2; exit 1; }
done
if ! "$P" --help 2>&1 | grep -q -e '--broker' || ! "$C" --help 2>&1 | grep -q -e '--broker'; then
	echo "broker.sh: skipped: these programs have no --broker"
	exit 0
fi
if ! "$C" --help 2>&1 | grep -q -e "--host"; then
	echo "broker.sh: skipped: consumer has no --host (a consumer host name)"
	exit 0
fi
for x in redis-server redis-cli lz4; do
	command -v $x >/dev/null || { echo "broker.sh: skipped: no $x command"; exit 0; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/shmpipe-broker-bench.XXXXXX") || exit 1
T=$W
room=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ -n "$room" ] && [ "$room" -gt $(( (MB * 5 + 64) * 1000 )) ]; then
	T=$(mktemp -d /dev/shm/shmpipe-broker-bench.XXXXXX) || exit 1
fi
R=bbench$$
srv=
cleanup() {
	[ -n "$srv" ] && { kill -TERM "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
	rm -f /dev/shm/shmpipe.$R*
	rm -rf "$W"
	[ "$T" = "$W" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# ---- The server.
SOCK=$W/redis.sock
redis-server --port 0 --bind 127.0.0.1 --protected-mode yes --unixsocket "$SOCK" \
	--unixsocketperm 700 --save '' --appendonly no --daemonize no --dir "$W" \
	--logfile "$W/redis.log" &
srv=$!
i=0
while [ ! -S "$SOCK" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$srv" 2>/dev/null; then
		echo "broker.sh: redis-server did not start: $(tail -n 2 "$W/redis.log" 2>/dev/null)" >&2
		exit 1
	fi
	sleep 0.05
done
# CPU seconds the server has used so far.
srv_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$srv/stat"; }
# Keys left on the server (a complete batch leaves none).
dbsize() { redis-cli -s "$SOCK" DBSIZE 2>/dev/null || echo '?'; }

now() { date +%s.%N; }
# CPU seconds of the processes a shell waited for ("times", second line).
tcpu() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1" 2>/dev/null; }
med() { sort -n | awk '{ a[NR] = $1 } END { print NR ? (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) : 0 }'; }

# ---- The data: files of /usr/include then /usr/share/doc, in path order,
# until MB, on tmpfs when it has room.
D=$T/data
mkdir -p "$D"
for r in /usr/include /usr/share/doc /usr/share; do
	find "$r" -xdev -type f -readable -size -4096k -printf '%s %p\n' 2>/dev/null | sort -k 2
done | grep -v '[[:cntrl:]]' | awk -v max=$((MB * 1000000)) '
{ s = $1; sub(/^[0-9]+ /, ""); if (seen[$0]++ || tot + s > max) next; tot += s; print }' |
	tr '\n' '\0' | xargs -0 cp --parents -t "$D" 2>/dev/null
NF=$(find "$D" -type f | wc -l)
BYTES=$(find "$D" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')

# ---- One timed run.  run_one NAME CMD: CMD sees D, O, URL, R, P, C; appends
# "NAME wall programs-cpu server-cpu" to $W/times.
n=0
run_one() {
	n=$((n + 1))
	O=$T/out.$n
	URL="unix://$SOCK?stream=b$$-$n"
	export D O URL R P C
	rm -f /dev/shm/shmpipe.$R*
	s0=$(srv_cpu)
	t0=$(now)
	timeout -k 5 300 sh -c "$2
rc=\$?; times > '$W/times.one'; exit \$rc"
	rc=$?
	t1=$(now)
	s1=$(srv_cpu)
	echo "$1	$(echo "$t0 $t1" | awk '{ print $2 - $1 }') $(tcpu "$W/times.one") $(echo "$s0 $s1" | awk '{ print $2 - $1 }')" >> "$W/times"
	return $rc
}

# check: the output folders $O* hold every file once, a sample byte-identical.
check() {
	got=$(find "$O" "$O".* -type f 2>/dev/null | wc -l)
	[ "$got" = "$NF" ] || { echo "broker.sh: $1 wrote $got of $NF files" >&2; return 1; }
	(cd "$D" && find . -type f | awk 'NR % 53 == 1') | while read -r f; do
		for o in "$O" "$O".*; do
			# if, not &&: a file that went to the other folder is no failure
			if [ -f "$o/$f" ] && ! cmp -s "$o/$f" "$D/$f"; then
				echo "broker.sh: $1: $f differs" >&2
				exit 1
			fi
		done
	done
}

# race LIST CHECK: the contenders of LIST ("name#command" lines) in turn,
# RUNS rounds; CHECK (check, or true) judges each run's output, then removed.
race() {
	i=0
	while [ $i -lt "$RUNS" ]; do
		echo "$1" | while IFS='#' read -r name cmd; do
			run_one "$name" "$cmd" || { echo "broker.sh: $name failed" >&2; echo x >> "$W/failed"; }
			$2 "$name" || echo x >> "$W/failed"
			rm -rf "$O" "$O".*
			echo $n > "$W/n"
		done
		n=$(cat "$W/n")
		i=$((i + 1))
	done
	[ -s "$W/failed" ] && fail=1
	rm -f "$W/failed"
}

contenders='ring, consumer -j 2#"$C" -q -r $R -j 2 -o "$O" & c=$!; "$P" -q -r $R -C "$D" . && wait $c
broker, 1 consumer -j 2#"$C" -q --broker "$URL" --host h1 -j 2 -o "$O" & c=$!; "$P" -q --broker "$URL" -C "$D" . && wait $c
broker, 2 consumers -j 1#"$C" -q --broker "$URL" --host h1 -j 1 -o "$O" & c=$!; "$C" -q --broker "$URL" --host h2 -j 1 -o "$O.2" & d=$!; "$P" -q --broker "$URL" -C "$D" . && wait $c && wait $d'

fail=0
: > "$W/times"
find "$D" -type f -print0 | xargs -0 cat > /dev/null
echo "broker.sh: $NF files, $(echo "$BYTES" | awk '{ printf "%.1f", $1 / 1e6 }') MB on $(stat -f -c %T "$T"); medians of $RUNS interleaved runs; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | cut -d' ' -f1-3)"
race "$contenders" check
left=$(dbsize)
[ "$left" = 0 ] || { echo "broker.sh: $left keys left on the server after the batches" >&2; fail=1; }

printf '\n%-26s %9s %8s %14s %13s %13s\n' "copy race (-o, tmpfs)" "median s" "MB/s" "CPU s/MB progs" "server s/MB" "total s/MB"
for name in "ring, consumer -j 2" "broker, 1 consumer -j 2" "broker, 2 consumers -j 1"; do
	w=$(awk -F'\t' -v n="$name" '$1 == n { split($2, f, " "); print f[1] }' "$W/times" | med)
	c=$(awk -F'\t' -v n="$name" '$1 == n { split($2, f, " "); print f[2] }' "$W/times" | med)
	s=$(awk -F'\t' -v n="$name" '$1 == n { split($2, f, " "); print f[3] }' "$W/times" | med)
	awk -v b="$BYTES" -v n="$name" -v w="$w" -v c="$c" -v s="$s" 'BEGIN { mb = b / 1e6; if (n ~ /^ring/) s = 0
		printf "%-26s %9.3f %8.1f %14.4f %13.4f %13.4f\n", n, w, (w > 0 ? mb / w : 0), c / mb, s / mb, (c + s) / mb }'
done
echo "(CPU: the programs' user + system time; the server's from /proc, the ring has none)"

# ---- The -x race: CPU-bound work per file, one pinned host against two.
cpus=${BROKER_CPUS:-$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status 2>/dev/null |
	tr ',' '\n' | awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2) && n < 2; c++) a[n++] = c }
	END { if (n == 2) print a[0] "," a[1] }')}
if [ -z "$cpus" ] || ! command -v taskset >/dev/null; then
	echo
	echo "broker.sh: -x race: n/a: no two CPUs to pin to, or no taskset"
	echo "broker.sh: targets are reported, not enforced"
	exit $fail
fi
c0=${cpus%,*} c1=${cpus#*,}
X=$T/x
mkdir -p "$X"
find /usr/share/doc /usr/include -type f -readable -size -1024k 2>/dev/null | sort |
	tr '\n' '\0' | xargs -0 cat 2>/dev/null | head -c $((XF * XKB * 1024 * 2)) > "$W/text"
j=0
while [ $j -lt "$XF" ]; do
	dd if="$W/text" of="$X/f$j.txt" bs=1024 skip=$((j * XKB)) count="$XKB" 2>/dev/null
	j=$((j + 1))
done
XCMD_Q=$(printf '%s' "$XCMD" | sed "s/'/'\\\\''/g")
xcontenders="one host, CPU $c0#taskset -c $c0 \"\$C\" -q --broker \"\$URL\" --host h1 -j 1 -x '$XCMD_Q' & c=\$!; \"\$P\" -q --broker \"\$URL\" -C \"\$D\" . && wait \$c
two hosts, CPUs $c0 and $c1#taskset -c $c0 \"\$C\" -q --broker \"\$URL\" --host h1 -j 1 -x '$XCMD_Q' & c=\$!; taskset -c $c1 \"\$C\" -q --broker \"\$URL\" --host h2 -j 1 -x '$XCMD_Q' & d=\$!; \"\$P\" -q --broker \"\$URL\" -C \"\$D\" . && wait \$c && wait \$d"
: > "$W/times"
D=$X
race "$xcontenders" true
one=$(awk -F'\t' -v n="one host, CPU $c0" '$1 == n { split($2, f, " "); print f[1] }' "$W/times" | med)
two=$(awk -F'\t' -v n="two hosts, CPUs $c0 and $c1" '$1 == n { split($2, f, " "); print f[1] }' "$W/times" | med)
printf '\n-x race: %d files of %d KB, -x %s, medians of %d runs\n' "$XF" "$XKB" "$XCMD" "$RUNS"
printf '%-26s %9.3f s\n' "one host, CPU $c0" "$one" "two hosts, CPUs $c0 and $c1" "$two"
echo "$one $two" | awk '{ r = $1 > 0 ? $2 / $1 : 0
	printf "\ntarget: broker -x, two hosts on two CPUs <= 0.6x the time of one host on one CPU: %.2fx: %s\n", r, (r > 0 && r <= 0.6 ? "PASS" : "MISS") }'
left=$(dbsize)
[ "$left" = 0 ] || { echo "broker.sh: $left keys left on the server after the batches" >&2; fail=1; }
echo "broker.sh: targets are reported, not enforced"
exit $fail
