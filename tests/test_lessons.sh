#!/bin/sh
# test_lessons.sh: runs the multiprocessing lessons (examples/run-lessons.sh) when the examples are built.
B=${B:-build}
if [ ! -x "$B/examples/mp_race" ]; then
	echo "test_lessons.sh: examples not built (make build): skipped"
	exit 77
fi
B=$B sh "$(dirname "$0")/../examples/run-lessons.sh"
