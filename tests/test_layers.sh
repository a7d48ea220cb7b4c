#!/bin/sh
# test_layers.sh: the programs' files call each other one way only (no circle in their call graph).
#
# For each program folder, an edge A -> B for every function A.o uses that
# B.o defines (nm on the built objects, so a call through a header counts and
# a comment does not); tsort fails on a circle and names it.  The consumer's
# intended graph (docs/pipeline.md): main -> {admin, worker, broker}, worker ->
# {assemble, stream, exec, output, broker}, assemble -> {output, exec}; main also
# calls the sweeps of assemble and output before and after the workers.
B=${B:-build}
. "$(dirname "$0")/skip.sh"
need_cmd nm binutils
need_cmd tsort coreutils
T=$(mktemp -d "${TMPDIR:-/tmp}/layers.$$.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM
fail=0
for prog in consumer producer; do
	dir=$B/obj/$prog
	ls "$dir"/*.o > /dev/null 2>&1 || { echo "test_layers.sh: no objects in $dir (run make first)" >&2; exit 1; }
	: > "$T/defs"
	for o in "$dir"/*.o; do
		nm --defined-only "$o" | awk -v f="$(basename "$o" .o)" '$2 ~ /^[TDBR]$/ { print $3, f }'
	done | sort > "$T/defs"
	for o in "$dir"/*.o; do
		f=$(basename "$o" .o)
		nm -u "$o" | awk '{ print $NF }' | sort -u | join - "$T/defs" |
			awk -v f="$f" '$2 != f { print f, $2 }'
	done | sort -u > "$T/edges.$prog"
	[ -s "$T/edges.$prog" ] || { echo "test_layers.sh: $prog: no call between its files found" >&2; fail=1; continue; }
	if ! tsort "$T/edges.$prog" > /dev/null 2> "$T/loop"; then
		echo "test_layers.sh: $prog: its files call each other in a circle:" >&2
		cat "$T/loop" >&2
		fail=1
	fi
done
[ $fail = 0 ] && echo "test_layers.sh: consumer and producer call graphs have no circle ($(wc -l < "$T/edges.consumer") and $(wc -l < "$T/edges.producer") edges)"
exit $fail
