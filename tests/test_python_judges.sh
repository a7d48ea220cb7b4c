#!/bin/sh
# test_python_judges.sh: the judges of the Python package: CPython's own multiprocessing tests over shmpipe's objects, under fork and spawn (tests/python/judge_multiprocessing.py), and the lock-file tests run with fasteners' locks, ours, and both at random (tests/python/judge_fasteners.py).
B=${B:-build}
. "$(dirname "$0")/pyenv.sh" || exit 77
if ! "$PY" -c 'import test._test_multiprocessing' 2>/dev/null; then
	echo "test_python_judges.sh: $PY has no test._test_multiprocessing (apt-get install libpython3.11-testsuite): skipped"
	exit 77
fi
st=0
for m in fork spawn; do
	timeout 600 "$PY" "$TOP/tests/python/judge_multiprocessing.py" $m > "${TMPDIR:-/tmp}/judge-mp-$$.log" 2>&1 || st=1
	if [ $st = 0 ]; then
		sed -n '/^class (/,$p' "${TMPDIR:-/tmp}/judge-mp-$$.log"
	else
		tail -n 60 "${TMPDIR:-/tmp}/judge-mp-$$.log"
	fi
	rm -f "${TMPDIR:-/tmp}/judge-mp-$$.log"
	[ $st = 0 ] || break
done
[ $st = 0 ] || exit $st
echo "fasteners' scenarios, with fasteners' locks, ours, and both at random:"
timeout 300 "$PY" -m pytest -q -p no:cacheprovider "$TOP/tests/python/judge_fasteners.py"
