#!/bin/sh
# demo.sh: the main job: a batch of real files through the ring, compressed by 2 workers, checked with lz4 -d.
#
#   make demo                      builds everything, then runs this with B=build
#   B=build examples/demo.sh [DIR] the same without the build; DIR defaults to
#                                  /usr/include (/usr/share/doc if there is none)
#
# One producer sends every file under DIR; one consumer with 2 worker
# processes writes each as a standard LZ4 frame (FILE.lz4) into a scratch
# folder; the stock `lz4 -d` then restores them all and `diff -r` compares
# them with the originals.  Everything it made is removed at the end.
set -u
B=${B:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
SRC=${1:-/usr/include}
[ -d "$SRC" ] || SRC=/usr/share/doc
P=$B/producer
C=$B/consumer
for x in "$P" "$C"; do
	[ -x "$x" ] || { echo "demo: $x is not built: run make" >&2; exit 1; }
done
command -v lz4 >/dev/null || { echo "demo: the lz4 command is missing (apt-get install lz4)" >&2; exit 1; }

# Scratch space: $TMPDIR if set, else tmpfs (/dev/shm) when it has room,
# so that the figures show the pipeline rather than the cost of creating
# files on a slow disk.
dir=${TMPDIR:-}
if [ -z "$dir" ]; then
	dir=/tmp
	free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
	[ -w /dev/shm ] && [ "${free_kb:-0}" -gt 1000000 ] && dir=/dev/shm
fi
T=$(mktemp -d "$dir/shmpipe-demo.XXXXXX") || exit 1
R=demo$$
# The consumer removes the ring when the batch is done; this covers a failure.
trap '"$C" --remove "$R" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SRC=$(cd "$SRC" && pwd)
PARENT=$(dirname "$SRC")
NAME=$(basename "$SRC")
echo "demo: $SRC -> producer -> ring $R -> consumer -j 2 -z -> $T/out"

# The consumer may start first: it creates the ring and waits for the batch.
"$C" -r "$R" -j 2 -z -o "$T/out" --progress --stats="$T/stats.json" & cpid=$!
"$P" -r "$R" -C "$PARENT" "$NAME"
prc=$?
wait $cpid
crc=$?
if [ "$prc" != 0 ] || [ "$crc" != 0 ]; then
	echo "demo: producer exited $prc, consumer exited $crc" >&2
	exit 1
fi

# The check: every .lz4 restored by the stock lz4, compared with its original.
nlz=$(find "$T/out" -name '*.lz4' -printf x | wc -c)
find "$T/out" -name '*.lz4' -print0 | xargs -0 -r lz4 -d -m -q --rm
if diff -r --no-dereference "$SRC" "$T/out/$NAME" >/dev/null; then
	verdict="all $nlz files restored byte-identical by lz4 -d"
else
	echo "demo: lz4 -d did not restore the originals:" >&2
	diff -r --no-dereference "$SRC" "$T/out/$NAME" | head -n 5 >&2
	exit 1
fi

get() { grep -o "\"$1\":[0-9.]*" "$T/stats.json" | head -n 1 | cut -d: -f2; }
echo
awk -v f="$(get files)" -v bi="$(get bytes)" -v bo="$(get bytes_out)" -v s="$(get seconds)" 'BEGIN {
	printf "%8s %12s %12s %7s %8s\n", "files", "MB in", "MB out", "ratio", "MB/s"
	printf "%8d %12.1f %12.1f %7.2f %8.1f\n", f, bi / 1e6, bo / 1e6, bo ? bi / bo : 0, s ? bi / 1e6 / s : 0
}'
echo
echo "demo: $verdict"
