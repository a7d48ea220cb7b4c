#!/bin/sh
# test_python_lessons.sh: runs the Python lessons (examples/python/run-lessons.sh).
B=${B:-build}
. "$(dirname "$0")/pyenv.sh" || exit 77
PYTHON=$PY sh "$TOP/examples/python/run-lessons.sh"
