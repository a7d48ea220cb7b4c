#!/bin/sh
# run.sh: runs each test program given (Check binaries, shell tests) and sums up.
# Environment: B (the build folder), SP_VALGRIND=1 to run Check binaries under memcheck.
# A test that cannot run here exits 77 and writes why to $SP_SKIP_WHY (tests/skip.sh,
# tu_skip in tests/util/suite.c): the summary names each skipped test with its reason.
B=${B:-build}
export B
pass=0 fail=0 skip=0 failed= skipped=
why=$(mktemp "${TMPDIR:-/tmp}/run-skip.$$.XXXXXX") || exit 1
trap 'rm -f "$why"' EXIT
trap 'exit 1' HUP INT TERM
for t in "$@"; do
	name=$(basename "$t")
	: > "$why"
	case "$t" in
	*.sh) SP_SKIP_WHY=$why sh "$t" ;;
	*)
		if [ "${SP_VALGRIND:-0}" = 1 ]; then
			SP_SKIP_WHY=$why CK_TIMEOUT_MULTIPLIER=20 valgrind -q --error-exitcode=99 \
				--leak-check=full --errors-for-leak-kinds=definite \
				--trace-children=no "$t"
		else
			SP_SKIP_WHY=$why "$t"
		fi ;;
	esac
	rc=$?
	case $rc in
	0) pass=$((pass + 1)) ;;
	77)
		skip=$((skip + 1))
		reason=$(head -n 1 "$why")
		echo "run.sh: $name: skipped${reason:+: $reason}"
		skipped="$skipped
  $name${reason:+: $reason}" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; echo "run.sh: $name: FAILED (exit $rc)" ;;
	esac
done
echo "summary: $pass passed, $fail failed, $skip skipped"
[ -n "$skipped" ] && echo "skipped (this machine cannot run them):$skipped"
[ -n "$failed" ] && echo "failed:$failed"
[ "$fail" = 0 ]
