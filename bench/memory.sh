#!/bin/sh
# memory.sh: peak RSS of producer and consumer streaming a 2 GB input (producer - | consumer --stdout).
#
#   B=build bench/memory.sh            (bench/run.sh runs it)
#   MEM_BENCH_MB=2048                  MB streamed
#
# The input is read from a pipe and the output counted, so no 2 GB file is
# needed; what is measured is each program's own peak resident set, which
# must not grow with the input (target: under 64 MB each).
# Exit status: 0, or 1 if a program failed or the byte count is wrong.
set -u
B=${B:-build}
MB=${MEM_BENCH_MB:-2048}
P=$B/producer
C=$B/consumer
R=mem$$
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"; rm -f /dev/shm/shmpipe.$R*' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for x in "$P" "$C" /usr/bin/time; do
	[ -x "$x" ] || { echo "memory.sh: $x missing" >&2; exit 1; }
done

timeout 600 /usr/bin/time -f %M -o "$T/c.rss" "$C" -q -r "$R" --stdout 2>"$T/c.err" |
	wc -c > "$T/count" &
cpid=$!
head -c $((MB * 1048576)) /dev/zero |
	timeout 600 /usr/bin/time -f %M -o "$T/p.rss" "$P" -q -r "$R" - 2>"$T/p.err"
prc=$?
wait $cpid
crc=$?
want=$((MB * 1048576))
got=$(tr -d ' ' < "$T/count")
prss=$(tail -n 1 "$T/p.rss") crss=$(tail -n 1 "$T/c.rss")
echo "memory.sh: $MB MB through producer - | consumer --stdout: $got bytes out"
echo "memory.sh: peak RSS producer $((prss / 1024)) MB, consumer $((crss / 1024)) MB"
verdict=PASS
[ "$prss" -lt 65536 ] && [ "$crss" -lt 65536 ] || verdict=MISS
echo "target: memory: peak RSS of each under 64 MB: producer $((prss / 1024)) MB, consumer $((crss / 1024)) MB: $verdict"
if [ "$prc" != 0 ] || [ "$crc" != 0 ] || [ "$got" != "$want" ]; then
	echo "memory.sh: failed (producer $prc, consumer $crc, $got of $want bytes)" >&2
	cat "$T/p.err" "$T/c.err" >&2
	exit 1
fi
