#!/bin/sh
# test_python_lessons.sh: runs the Python lessons (examples/python/run-lessons.sh), and fails if they leave anything in /dev/shm.
B=${B:-build}
. "$(dirname "$0")/pyenv.sh" || exit 77
py_run env PYTHON="$PY" sh "$TOP/examples/python/run-lessons.sh"
