#!/bin/sh
# run.sh: runs each test program given (Check binaries, shell tests) and sums up.
# Environment: B (the build folder), SP_VALGRIND=1 to run Check binaries under memcheck.
B=${B:-build}
export B
pass=0 fail=0 skip=0 failed=
for t in "$@"; do
	name=$(basename "$t")
	case "$t" in
	*.sh) sh "$t" ;;
	*)
		if [ "${SP_VALGRIND:-0}" = 1 ]; then
			CK_TIMEOUT_MULTIPLIER=20 valgrind -q --error-exitcode=99 \
				--leak-check=full --errors-for-leak-kinds=definite \
				--trace-children=no "$t"
		else
			"$t"
		fi ;;
	esac
	rc=$?
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)); echo "run.sh: $name: skipped" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; echo "run.sh: $name: FAILED (exit $rc)" ;;
	esac
done
echo "summary: $pass passed, $fail failed, $skip skipped"
[ -n "$failed" ] && echo "failed:$failed"
[ "$fail" = 0 ]
