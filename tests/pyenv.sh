# pyenv.sh: sourced by the Python tests: finds an interpreter with pytest (Debian's python3-pytest),
# points the package at python/src and at the library in $B.  Returns 1 (the caller skips) if none.
TOP=$(cd "$(dirname "$0")/.." && pwd)
PY=
for p in ${SP_PYTHON:-} /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import pytest' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "$(basename "$0"): no python3 with pytest (apt-get install python3-pytest): skipped"
	return 1
fi
case $B in
*asan* | *tsan*)
	echo "$(basename "$0"): a sanitizer build ($B) cannot be loaded into python: skipped"
	return 1 ;;
esac
case $B in /*) SHMPIPE_LIBRARY=$B/libshared.so.0 ;; *) SHMPIPE_LIBRARY=$TOP/$B/libshared.so.0 ;; esac
if [ ! -f "$SHMPIPE_LIBRARY" ]; then
	echo "$(basename "$0"): $SHMPIPE_LIBRARY not built: skipped"
	return 1
fi
export SHMPIPE_LIBRARY PYTHONPATH="$TOP/python/src${PYTHONPATH:+:$PYTHONPATH}" B
