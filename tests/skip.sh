# skip.sh: sourced by the shell tests: where the machine cannot run a test, one line saying why, and exit 77 (skipped).
#
# A test sources it first: . "$(dirname "$0")/skip.sh"
# tests/run.sh sets SP_SKIP_WHY, a file the reason goes to as well, for
# its summary (the Check suites' tu_skip writes it too).
SKIP_NAME=${SKIP_NAME:-$(basename "$0")}

# skip WHY...: says "NAME: skipped: WHY" and exits 77.
skip() {
	echo "$SKIP_NAME: skipped: $*"
	if [ -n "${SP_SKIP_WHY:-}" ]; then echo "$*" > "$SP_SKIP_WHY"; fi
	exit 77
}

# need_cmd CMD [PACKAGE]: skips without the command CMD on PATH.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "no $1 command${2:+ (apt-get install $2)}"
}

# need_built FILE...: skips if a program of the build is missing.
need_built() {
	for f; do
		[ -x "$f" ] || skip "$f not built (make build)"
	done
}

# need_shm MIB: skips without a writable /dev/shm with MIB MiB free.
need_shm() {
	{ [ -d /dev/shm ] && [ -w /dev/shm ]; } || skip "/dev/shm is not writable"
	room=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
	[ -z "$room" ] || [ "$room" -ge $(($1 * 1024)) ] || skip "less than $1 MiB free in /dev/shm"
}
