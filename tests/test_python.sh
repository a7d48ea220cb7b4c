#!/bin/sh
# test_python.sh: the Python package's own pytest suite (python/tests), with the package from python/src over $B/libshared.so.0; fails if it leaves anything in /dev/shm.
B=${B:-build}
. "$(dirname "$0")/pyenv.sh" || exit 77
py_run timeout 600 "$PY" -m pytest -q -p no:cacheprovider "$TOP/python/tests"
