#!/bin/sh
# run-lessons.sh: runs the Python lessons (each as separately launched python processes that share objects by name) and checks their results.
#
#   B=build examples/python/run-lessons.sh      (after `make`; PYTHON=python3 by default)
#
# The package is taken from python/src and the library from $B, so nothing needs installing.
B=${B:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-python3}
case $B in /*) lib=$B/libshared.so.0 ;; *) lib=$top/$B/libshared.so.0 ;; esac
[ -f "$lib" ] || { echo "run-lessons: $lib missing: run make first" >&2; exit 1; }
export SHMPIPE_LIBRARY="$lib" PYTHONPATH="$top/python/src${PYTHONPATH:+:$PYTHONPATH}"
pass=0 fail=0
for l in race nightclub stats queues primes; do
	if timeout 300 "$PYTHON" "$here/$l.py" demo; then
		pass=$((pass + 1)); echo "run-lessons (python): $l: ok"
	else
		fail=$((fail + 1)); echo "run-lessons (python): $l: FAILED"
	fi
done
echo "python lessons: $pass passed, $fail failed"
[ $fail = 0 ]
