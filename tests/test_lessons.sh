#!/bin/sh
# test_lessons.sh: runs the multiprocessing lessons (examples/run-lessons.sh) when the examples are built.
B=${B:-build}
. "$(dirname "$0")/skip.sh"
need_built "$B/examples/mp_race"
need_shm 8
B=$B sh "$(dirname "$0")/../examples/run-lessons.sh"
