#!/bin/sh
# test_python_judges.sh: the judges of the Python package: CPython's own multiprocessing tests over shmpipe's objects, under fork and spawn (tests/python/judge_multiprocessing.py), and the lock-file tests run with fasteners' locks, ours, and both at random (tests/python/judge_fasteners.py); each fails if it leaves anything in /dev/shm.
B=${B:-build}
. "$(dirname "$0")/skip.sh"
# The judges need pytest, fasteners and CPython's tests in one interpreter: Debian's
# /usr/bin/python3 has them once python3-pytest, python3-fasteners and libpython3.X-testsuite
# are installed; a python3 earlier on PATH (pyenv, a venv) usually has not.
for p in ${SP_PYTHON:-} /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 &&
	   "$p" -c 'import pytest, fasteners, test._test_multiprocessing' 2>/dev/null; then
		SP_PYTHON=$p
		break
	fi
	SP_PYTHON=
done
if [ -z "$SP_PYTHON" ]; then
	v=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || v=3.X
	skip "no python3 with pytest, fasteners and test._test_multiprocessing" \
		"(apt-get install python3-pytest python3-fasteners libpython$v-testsuite)"
fi
. "$(dirname "$0")/pyenv.sh" || exit 77
st=0
for m in fork spawn; do
	py_run timeout 600 "$PY" "$TOP/tests/python/judge_multiprocessing.py" $m > "${TMPDIR:-/tmp}/judge-mp-$$.log" 2>&1 || st=1
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
py_run timeout 300 "$PY" -m pytest -q -p no:cacheprovider "$TOP/tests/python/judge_fasteners.py"
