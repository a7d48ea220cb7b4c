#!/bin/sh
# test_abi.sh: libshared.so.0 exports exactly the functions its installed public headers declare.
#
# Installs into a scratch DESTDIR (make install), lists the functions the
# installed headers declare (gcc -aux-info on a file including them all; static
# inline ones are not part of the ABI) and the symbols the installed library
# defines (nm -D --defined-only, without the version node), and fails on any
# difference either way: an internal symbol exported, or a public function
# missing from libshared/libshared.map, or a name the map lists that no
# public header declares.
B=${B:-build}
. "$(dirname "$0")/skip.sh"
need_cmd nm binutils
T=$(mktemp -d "${TMPDIR:-/tmp}/abi.$$.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM
if ! make --no-print-directory -s install B="$B" DESTDIR="$T" PREFIX=/usr > "$T/install.log" 2>&1; then
	echo "test_abi.sh: make install failed:" >&2
	tail -n 20 "$T/install.log" >&2
	exit 1
fi
inc=$T/usr/include
so=$(ls "$T"/usr/lib/libshared.so.0 2>/dev/null)
[ -n "$so" ] || { echo "test_abi.sh: no libshared.so.0 installed under $T/usr/lib" >&2; exit 1; }

for h in "$inc"/shared/*.h; do
	echo "#include <shared/$(basename "$h")>"
done > "$T/all.c"
if ! ${CC:-cc} -std=c11 -D_GNU_SOURCE -I"$inc" -aux-info "$T/aux" -fsyntax-only "$T/all.c" \
	2> "$T/cc.log"; then
	echo "test_abi.sh: the installed headers do not compile together:" >&2
	cat "$T/cc.log" >&2
	exit 1
fi
# Lines look like: /* DIR/shared/ring.h:84:NC */ extern int sp_ring_open (const char *, ...);
grep -F "/* $inc/shared/" "$T/aux" | grep -v '\*/ static ' |
	sed -e 's|^/\*[^*]*\*/ *||' -e 's| (.*||' -e 's|.*[ *]||' | sort -u > "$T/declared"
nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$T/exported"

[ -s "$T/declared" ] || { echo "test_abi.sh: no function found in $inc/shared" >&2; exit 1; }
fail=0
leaked=$(comm -13 "$T/declared" "$T/exported")
missing=$(comm -23 "$T/declared" "$T/exported")
if [ -n "$leaked" ]; then
	echo "test_abi.sh: exported but declared in no public header:" $leaked >&2
	fail=1
fi
if [ -n "$missing" ]; then
	echo "test_abi.sh: declared in a public header but not exported:" $missing >&2
	fail=1
fi
# The linker takes a name the version script lists but nothing defines
# without a word: such an entry is caught here, against the headers.
map=$(dirname "$0")/../libshared/libshared.map
sed -n 's/^[[:space:]]*\(sp_[a-z0-9_]*\);.*/\1/p' "$map" | sort -u > "$T/listed"
stale=$(comm -13 "$T/declared" "$T/listed")
if [ -n "$stale" ]; then
	echo "test_abi.sh: listed in libshared/libshared.map but declared in no public header:" $stale >&2
	fail=1
fi
n=$(wc -l < "$T/declared")
if [ "$fail" = 0 ]; then
	echo "ok   - libshared.so.0 exports exactly the $n functions of the public headers"
else
	echo "not ok - libshared.so.0 and the public headers differ (libshared/libshared.map)"
fi
exit $fail
