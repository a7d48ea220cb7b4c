# pyenv.sh: sourced by the Python tests: finds an interpreter with pytest (Debian's python3-pytest),
# points the package at python/src and at the library in $B.  Skips the test (exit 77) where it
# cannot run: no such interpreter, a sanitizer build, no room in /dev/shm.
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/skip.sh"
PY=
for p in ${SP_PYTHON:-} /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import pytest' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip "no python3 with pytest (apt-get install python3-pytest)"
case $B in
*asan* | *tsan*) skip "a sanitizer build ($B) cannot be loaded into python" ;;
esac
need_shm 8
case $B in /*) SHMPIPE_LIBRARY=$B/libshared.so.0 ;; *) SHMPIPE_LIBRARY=$TOP/$B/libshared.so.0 ;; esac
[ -f "$SHMPIPE_LIBRARY" ] || skip "$SHMPIPE_LIBRARY not built (make build)"
export SHMPIPE_LIBRARY PYTHONPATH="$TOP/python/src${PYTHONPATH:+:$PYTHONPATH}" B

# py_run CMD...: runs CMD with a /dev/shm of its own, a tmpfs in a private mount namespace
# (unshare -m as root, else unshare -rm in a user namespace), so that the objects of programs
# running beside it are not seen, and fails (status 1) if CMD left anything in it: an unnamed
# object is removed by its creator, a test removes what it named.  Where no namespace can be
# made, CMD runs on the shared /dev/shm, and what appeared there meanwhile is counted as left
# by CMD (and removed): right on a machine running nothing else (.ci/run).
py_run() {
	if [ -z "${SP_PY_UNSHARE+set}" ]; then
		SP_PY_UNSHARE=
		for u in "unshare -m" "unshare -rm"; do
			if $u sh -c 'mount -t tmpfs none /dev/shm' 2>/dev/null; then
				SP_PY_UNSHARE=$u
				break
			fi
		done
		[ -n "$SP_PY_UNSHARE" ] || echo "$(basename "$0"): cannot make a private /dev/shm" \
			"(unshare): what appears in /dev/shm while the tests run counts as theirs"
	fi
	if [ -n "$SP_PY_UNSHARE" ]; then
		$SP_PY_UNSHARE sh -c '
			mount -t tmpfs -o mode=1777 shmpipe-test /dev/shm || exit 1
			"$@"
			st=$?
			left=$(ls -A /dev/shm)
			if [ -n "$left" ]; then
				echo "$0: left in /dev/shm:" $left
				[ $st = 0 ] && st=1
			fi
			exit $st' "$(basename "$0")" "$@"
		return
	fi
	before=$(ls -A /dev/shm)
	"$@"
	st=$?
	left=$(ls -A /dev/shm | while read -r f; do
		case "
$before
" in *"
$f
"*) ;; *) echo "$f" ;; esac
	done)
	if [ -n "$left" ]; then
		echo "$(basename "$0"): left in /dev/shm:" $left
		(cd /dev/shm && rm -f -- $left)
		[ $st = 0 ] && st=1
	fi
	return $st
}
