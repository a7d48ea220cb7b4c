#!/bin/sh
# test_fuzz_corpus.sh: replays each fuzz target's seed corpus (tests/fuzz/corpus/NAME) on a plain build.
B=${B:-build}
dir=$(dirname "$0")
. "$(dirname "$0")/skip.sh"
need_shm 8
fail=0 pass=0
for t in "$B"/tests/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	corpus=$dir/fuzz/corpus/${n#fuzz_}
	[ -d "$corpus" ] || continue
	if timeout 300 "$t" "$corpus" >/dev/null; then
		pass=$((pass + 1))
	else
		echo "test_fuzz_corpus.sh: $n failed on its corpus" >&2
		fail=$((fail + 1))
	fi
done
[ $((pass + fail)) = 0 ] && skip "no fuzz target built in $B (make build)"
echo "fuzz corpora: $pass passed, $fail failed"
[ "$fail" = 0 ]
