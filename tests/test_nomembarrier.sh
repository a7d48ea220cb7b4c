#!/bin/sh
# test_nomembarrier.sh: the ring and crash suites again, with membarrier(2) refused to every process
# (a seccomp filter, tests/tool_nomb.c), as in sandboxes that refuse it: no asymmetric fences, no bias.
B=${B:-build}
. "$(dirname "$0")/skip.sh"
wrap=$B/tests/tool_nomb
[ -x "$wrap" ] || { echo "test_nomembarrier.sh: $wrap not built (run make)" >&2; exit 1; }
"$wrap" true
case $? in
0) ;;
77) skip "seccomp filters cannot be set here" ;;
*) echo "test_nomembarrier.sh: $wrap does not work" >&2; exit 1 ;;
esac
fail=0 pass=0 skipped=
for t in check_ring check_crash; do
	"$wrap" "$B/tests/$t" > "${TMPDIR:-/tmp}/nomb.$$.out" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		pass=$((pass + 1))
	elif [ $rc = 77 ]; then
		skipped="$skipped $t"
		cat "${TMPDIR:-/tmp}/nomb.$$.out"
	else
		echo "test_nomembarrier.sh: $t failed without membarrier:" >&2
		tail -n 20 "${TMPDIR:-/tmp}/nomb.$$.out" >&2
		fail=$((fail + 1))
	fi
done
rm -f "${TMPDIR:-/tmp}/nomb.$$.out"
echo "without membarrier: $pass passed, $fail failed${skipped:+, skipped:$skipped}"
[ $((pass + fail)) = 0 ] && skip "check_ring and check_crash skip here"
[ "$fail" = 0 ]
