#!/bin/sh
# test_pipeline.sh: drives the real producer and consumer as a script would, over real file trees.
#
# Environment: B, the build folder (default build).  Every ring is named
# t<pid>-<case>; the trap removes rings, temporary folders and background
# processes whatever happens.  Every program runs under timeout(1).
B=${B:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
P=$B/producer
C=$B/consumer
TB=$B/tests/tool_batch
TO="timeout 60"
pass=0
fail=0
skipped=0
pids=

. "$(dirname "$0")/skip.sh"
need_built "$P" "$C" "$TB"
need_cmd lz4 lz4
need_shm 64

T=$(mktemp -d "${TMPDIR:-/tmp}/shmpipe-test.XXXXXX") || exit 1
cleanup() {
	# Most are timeout(1) processes: TERM, which they pass on (a KILL
	# would orphan the program under them).
	for p in $pids; do pkill -TERM -P "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
	rm -rf "$T"
	rm -f /dev/shm/shmpipe.t$$-*
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
nok() { fail=$((fail + 1)); echo "FAIL - $1"; }
# not_here WHAT: a case this machine cannot run, skipped (and counted).
not_here() { skipped=$((skipped + 1)); echo "skip - $1"; }
# check NAME COMMAND...: passes when the command succeeds.
# (_what: a name no case uses, since the checks are evals of the cases' variables.)
check() { _what=$1; shift; if "$@"; then ok "$_what"; else nok "$_what"; fi; }

# No ring objects of that name left, no temporary file left in a folder.
no_ring() { ! ls /dev/shm | grep -q "shmpipe\.$1\(\.\|$\)"; }
no_tmp() { [ -z "$(find "$1" -name '.shmpipe.*' 2>/dev/null)" ]; }
# Same tree: content, links as links, and each regular file's mode and mtime.
same_tree() {
	diff -r --no-dereference "$1" "$2" >/dev/null || return 1
	(cd "$1" && find . -type f -printf '%p %m %T@\n' | sort) > "$T/meta.a"
	(cd "$2" && find . -type f -printf '%p %m %T@\n' | sort) > "$T/meta.b"
	cmp -s "$T/meta.a" "$T/meta.b"
}
# Waits (bounded) until a command succeeds: for states, never for time.
wait_for() { $TO sh -c "until $1; do sleep 0.02; done"; }
# SIGTERM to the program a $TO wrapper runs, not to the wrapper: timeout(1)
# of coreutils 9.1 forks before it blocks signals, so a TERM that reaches it
# before it has noted its child makes it exit 143 at once, and the child,
# never told, runs on (seen here: one run in ten).
term_wrapped() { kill -TERM "$(pgrep -P "$1")" 2>/dev/null || kill -TERM "$1"; }
# The first (top-level) value of a numeric key in a --stats file.
json_get() { grep -o "\"$2\":[0-9.]*" "$1" | head -n 1 | cut -d: -f2; }

# ---- The data: a real tree (/usr/include/linux when there is one), plus
# what it lacks: empty files and folders, links, awkward names, a file
# large enough to travel in parts.
SRC=$T/src
mkdir -p "$SRC/extra/empty-dir" "$SRC/extra/sub"
if [ -d /usr/include/linux ]; then
	cp -a /usr/include/linux "$SRC/linux"
else
	mkdir -p "$SRC/linux"
	for i in $(seq 1 300); do seq 1 "$i" > "$SRC/linux/f$i.h"; done
fi
: > "$SRC/extra/empty-file"
ln -s ../linux "$SRC/extra/link-to-dir"
ln -s empty-file "$SRC/extra/link-to-file"
head -c 3000000 /dev/urandom > "$SRC/extra/sub/random.bin"
cat "$SRC"/linux/*.h | head -c 2500000 > "$SRC/extra/sub/text.txt"
chmod 640 "$SRC/extra/sub/text.txt"
printf 'a' > "$SRC/extra/with space"
printf 'b' > "$SRC/extra/new
line"
printf 'c' > "$SRC/extra/caf$(printf '\303\251')"
NFILES=$(find "$SRC" -type f -printf x | wc -c)

# ---- Programs: help, version, usage errors, administration.
$P --help > "$T/help" 2>/dev/null; r1=$?
$C --help >> "$T/help" 2>/dev/null; r2=$?
check "--help: usage on stdout, status 0" \
	eval '[ "$r1$r2" = 00 ] && [ "$(grep -c "^Usage:" "$T/help")" = 2 ]'
$P -V | grep -q 'producer' && $C --version | grep -q 'consumer'
rc=$?
check "-V and --version" [ $rc = 0 ]
$P --bogus 2>/dev/null; r1=$?
$C -r x 2>/dev/null; r2=$?
$P -r x 2>/dev/null; r3=$?
check "bad usage exits 64 (EX_USAGE)" [ "$r1$r2$r3" = 646464 ]
$C --stdout -j 2 -r x 2>/dev/null
rc=$?
check "--stdout refuses -j 2" [ $rc = 64 ]
awk 'length > 79 { bad = 1 } END { exit bad }' "$T/help"
rc=$?
check "usage lines under 80 columns" [ $rc = 0 ]

# ---- Round trips of the tree through -o, with and without --lz4, -j 1, 2, 4.
# The consumer starts first and creates the ring.
for lz in "" "--lz4"; do
	for j in 1 2 4; do
		r=t$$-rt$j${lz:+z}
		out=$T/out-$j${lz:+z}
		$TO $C -q -r "$r" -j "$j" -o "$out" --stats="$T/st-$r" & cp=$!
		pids="$pids $cp"
		$TO $P -q -r "$r" $lz -C "$SRC" .; prc=$?
		wait $cp; crc=$?
		check "round trip -j $j ${lz:-raw}: exit codes ($prc, $crc)" [ "$prc$crc" = 00 ]
		check "round trip -j $j ${lz:-raw}: identical tree, modes, mtimes" same_tree "$SRC" "$out"
		check "round trip -j $j ${lz:-raw}: $NFILES files counted" \
			[ "$(json_get "$T/st-$r" files)" = "$NFILES" ]
		check "round trip -j $j ${lz:-raw}: no temporary file, no ring left" \
			eval 'no_tmp "$out" && no_ring "$r"'
		rm -rf "$out"
	done
done

# ---- The two ways a whole file gets its name: an unnamed file (O_TMPFILE)
# linked in, or, where the file system refuses that (SHMPIPE_NO_TMPFILE=1
# stands for one), a hidden temporary name renamed.  Either way a name that
# is taken is replaced, never followed: a stale file and a link to a file
# outside the output folder stand where the batch writes.
for nt in 0 1; do
	r=t$$-nt$nt
	out=$T/out-nt$nt
	mkdir -p "$out/extra"
	echo stale > "$out/extra/with space"
	echo outside > "$T/outside-$nt"
	ln -s "$T/outside-$nt" "$out/extra/empty-file"
	SHMPIPE_NO_TMPFILE=$nt $TO $C -q -r "$r" -j 2 -o "$out" & cp=$!
	pids="$pids $cp"
	$TO $P -q -r "$r" -C "$SRC" .; prc=$?
	wait $cp; crc=$?
	check "names taken, SHMPIPE_NO_TMPFILE=$nt: exit codes ($prc, $crc)" [ "$prc$crc" = 00 ]
	check "names taken, SHMPIPE_NO_TMPFILE=$nt: replaced, identical tree" same_tree "$SRC" "$out"
	check "names taken, SHMPIPE_NO_TMPFILE=$nt: the link's target untouched" \
		eval '[ "$(cat "$T/outside-$nt")" = outside ] && no_tmp "$out" && no_ring "$r"'
	rm -rf "$out" "$T/outside-$nt"
done

# ---- A consumer under umask 077 still gives every file its mode: an
# unnamed file is made with its mode, and the umask takes bits from it.
r=t$$-umask
out=$T/out-umask
(umask 077; exec $TO $C -q -r "$r" -j 2 -o "$out") & cp=$!
pids="$pids $cp"
chmod 664 "$SRC/extra/with space"
$TO $P -q -r "$r" -C "$SRC" .; prc=$?
wait $cp; crc=$?
check "umask 077: every file keeps its mode ($prc, $crc)" \
	eval '[ "$prc$crc" = 00 ] && same_tree "$SRC" "$out" && [ "$(stat -c %a "$out/extra/with space")" = 664 ]'
chmod 644 "$SRC/extra/with space"
rm -rf "$out"

# ---- --sync: the same tree, every file (parted ones too) fsynced before
# it is named; counted with strace where there is one.  LeakSanitizer
# cannot run under ptrace, so a sanitizer build's consumer skips its leak
# check there (the other runs keep it).
r=t$$-sync
out=$T/out-sync
ST=
if strace -f -qq -o /dev/null true 2>/dev/null; then
	ST="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=fsync -o $T/sync.trace"
else
	not_here "--sync's fsync count, kills while writing a restored file (no strace, or ptrace refused here)"
fi
$TO $ST $C -q -r "$r" -j 2 --sync -o "$out" & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" --chunk 1M -C "$SRC" .; prc=$?
wait $cp; crc=$?
check "--sync: exit codes ($prc, $crc), identical tree" \
	eval '[ "$prc$crc" = 00 ] && same_tree "$SRC" "$out" && no_tmp "$out" && no_ring "$r"'
if [ -n "$ST" ]; then
	nsync=$(grep -c '^[0-9]* *fsync(' "$T/sync.trace")
	check "--sync: at least two fsyncs a file ($nsync for $NFILES)" [ "$nsync" -ge $((NFILES * 2)) ]
fi
rm -rf "$out" "$T/sync.trace"

# Small parts: every file over 4K travels in parts taken by any worker.
r=t$$-parts
$TO $C -q -r "$r" -j 4 -o "$T/out-parts" & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" --chunk 4K --lz4 -C "$SRC" .; prc=$?
wait $cp; crc=$?
check "4K parts over 4 workers: identical tree" eval '[ "$prc$crc" = 00 ] && same_tree "$SRC" "$T/out-parts" && no_tmp "$T/out-parts"'
rm -rf "$T/out-parts"

# ---- -z: one LZ4 frame per file (parted files: one frame per part, made by
# whichever worker took the part), restored by the stock lz4 command.
r=t$$-z
$TO $C -q -r "$r" -j 4 -z -o "$T/out-z" & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" --chunk 8K -C "$SRC" .; prc=$?
wait $cp; crc=$?
check "-z: exit codes ($prc, $crc)" [ "$prc$crc" = 00 ]
nz=$(find "$T/out-z" -name "*.lz4" -printf x | wc -c)
check "-z: one .lz4 per file ($nz of $NFILES)" [ "$nz" = "$NFILES" ]
find "$T/out-z" -name '*.lz4' -print0 | xargs -0 lz4 -d -m -q --rm 2>"$T/lz4.err"
check "-z: lz4 -d restores every file byte-identical" \
	eval '[ ! -s "$T/lz4.err" ] && diff -r --no-dereference "$SRC" "$T/out-z" >/dev/null'
rm -rf "$T/out-z"

# ---- -d: the restore direction.  The tree of .lz4 files -z makes goes back
# through the pipeline to plain files: the same bytes, modes and times,
# whole files and parted ones (--chunk 8K), into unnamed files and, where
# there are none (SHMPIPE_NO_TMPFILE=1), hidden names.
r=t$$-zd
$TO $C -q -r "$r" -j 2 -z -o "$T/zd" & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" -C "$SRC" .; prc=$?
wait $cp; crc=$?
check "-d: the .lz4 tree to restore made ($prc, $crc)" [ "$prc$crc" = 00 ]
for nt in 0 1; do
	for ch in 1M 8K; do
		r=t$$-d$nt$ch
		out=$T/out-d$nt$ch
		SHMPIPE_NO_TMPFILE=$nt $TO $C -q -r "$r" -j 2 -d -o "$out" --stats="$T/st-$r" & cp=$!
		pids="$pids $cp"
		$TO $P -q -r "$r" --chunk $ch -C "$T/zd" .; prc=$?
		wait $cp; crc=$?
		check "-z then -d, --chunk $ch, SHMPIPE_NO_TMPFILE=$nt: exit codes ($prc, $crc), identical tree, modes, mtimes" \
			eval '[ "$prc$crc" = 00 ] && same_tree "$SRC" "$out" && [ "$(json_get "$T/st-$r" files)" = "$NFILES" ] && no_tmp "$out" && no_ring "$r"'
		rm -rf "$out"
	done
done
# What the stock lz4 writes: 4M blocks, and frames one after the other
# (lz4 -d reads them as one stream).
mkdir -p "$T/stock"
lz4 -q -9 "$SRC/extra/sub/text.txt" "$T/stock/text.txt.lz4"
lz4 -q -c "$SRC/extra/sub/random.bin" > "$T/stock/two.lz4"
lz4 -q -c "$SRC/extra/sub/text.txt" >> "$T/stock/two.lz4"
r=t$$-dstock
$TO $C -q -r "$r" -d -o "$T/out-stock" & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" --chunk 1M -C "$T/stock" .; prc=$?
wait $cp; crc=$?
check "-d: lz4's own frames, and two frames one after the other, restored as lz4 -d does" \
	eval '[ "$prc$crc" = 00 ] && cmp -s "$SRC/extra/sub/text.txt" "$T/out-stock/text.txt" && lz4 -dc "$T/stock/two.lz4" | cmp -s - "$T/out-stock/two" && no_tmp "$T/out-stock"'
rm -rf "$T/out-stock"

# Bad input: a flipped byte (its checksum fails), a frame cut short, a file
# that is not LZ4, a name without .lz4, a corrupt parted file: each named
# with why, nothing under its name, exit 65; the good one restored.
mkdir -p "$T/bad"
cp "$T/zd/extra/sub/text.txt.lz4" "$T/bad/parted.txt.lz4"
printf 'XXXX' | dd of="$T/bad/parted.txt.lz4" bs=1 seek=600000 conv=notrunc 2>/dev/null
lz4 -q -c "$SRC/extra/sub/text.txt" | head -c 100000 > "$T/bad/cut.lz4"
# A frame whose blocks are whole but whose content is changed: one byte of
# a small frame's literal text.
printf 'hello, hello, hello, world\n' | lz4 -q -c > "$T/bad/flip.lz4"
printf 'H' | dd of="$T/bad/flip.lz4" bs=1 seek=12 conv=notrunc 2>/dev/null
echo 'not lz4' > "$T/bad/not.lz4"
echo plain > "$T/bad/plain.txt"
cp "$T/zd/extra/with space.lz4" "$T/bad/good.lz4"
r=t$$-dbad
for nt in 0 1; do
	rm -rf "$T/out-bad"
	SHMPIPE_NO_TMPFILE=$nt $TO $C -r "$r" -j 2 -d -o "$T/out-bad" 2>"$T/bad.err" & cp=$!
	pids="$pids $cp"
	$TO $P -q -r "$r" --chunk 256K -C "$T/bad" .; prc=$?
	wait $cp; crc=$?
	check "-d, SHMPIPE_NO_TMPFILE=$nt: bad input exits 65, the good file restored, nothing else" \
		eval '[ "$prc$crc" = 065 ] && [ "$(cat "$T/out-bad/good")" = a ] && [ "$(ls -A "$T/out-bad")" = good ]'
	check "-d, SHMPIPE_NO_TMPFILE=$nt: each bad file named, with why" \
		eval 'grep -q "^consumer: flip.lz4: discarded: corrupt LZ4 data (contentChecksum_invalid)$" "$T/bad.err" &&
		      grep -q "^consumer: cut.lz4: discarded: corrupt LZ4 data (the last frame is cut short)$" "$T/bad.err" &&
		      grep -q "^consumer: not.lz4: discarded: not LZ4 data (no LZ4 frame header)$" "$T/bad.err" &&
		      grep -q "^consumer: plain.txt: refused: not a .lz4 file (-d restores .lz4 files)$" "$T/bad.err" &&
		      grep -q "^consumer: parted.txt.lz4: discarded: corrupt LZ4 data" "$T/bad.err" &&
		      grep -q "5 failed$" "$T/bad.err" || { cat "$T/bad.err"; false; }'
done
$C -d -r x --stdout 2>/dev/null; r1=$?
$C -d -z -r x -o "$T/never" 2>/dev/null; r2=$?
check "-d needs -o and refuses -z (exit 64)" eval '[ "$r1$r2" = 6464 ] && [ ! -e "$T/never" ]'

# A kill at any moment leaves no partial file.  The consumer and its worker
# are killed while the worker writes a restored file (strace holds the
# worker at its second write of it, so it cannot finish first): its name
# never appears, only hidden helpers stay; a consumer started again on the
# ring and folder restores it whole and leaves nothing.  A whole record
# (12 MB of zeros, a small frame) and a parted one (12 MB of text).
if [ -n "$ST" ]; then
	for i in 1 2 3 4 5; do cat "$SRC/extra/sub/text.txt"; done > "$T/kd.parted"
	head -c 12000000 /dev/zero > "$T/kd.whole"
	for kind in whole parted; do
		rm -rf "$T/kd"
		mkdir -p "$T/kd"
		lz4 -q -1 "$T/kd.$kind" "$T/kd/$kind.lz4"
		for nt in 0 1; do
			r=t$$-dkill$nt$kind
			out=$T/out-dkill$nt
			mkdir -p "$out"
			SHMPIPE_NO_TMPFILE=$nt $TO env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
				strace -f -qq -o /dev/null -e trace=write -e inject=write:delay_enter=50000000:when=2 \
				$C -q -r "$r" -j 1 -d -o "$out" 2>/dev/null & cp=$!
			pids="$pids $cp"
			$TO $P -q -r "$r" -C "$T/kd" . & pp=$!
			pids="$pids $pp"
			# Until a process holds a file in the folder open, its
			# journal aside: the file being written.
			wait_for "ls -l /proc/[0-9]*/fd 2>/dev/null | grep -F '$out/' | grep -q -v '\.wrk$'"
			rc=$?
			# timeout, then strace (env execs it), the consumer, its worker.
			sup=$(pgrep -P "$(pgrep -P $cp)")
			kill -KILL $(pgrep -P "$sup") "$sup"
			# strace would sit out the delay of a tracee that is gone
			# (and ignores TERM meanwhile); its tracees are dead already.
			kill -KILL "$(pgrep -P $cp)"
			{ wait $cp; } 2>/dev/null
			check "-d, $kind, SHMPIPE_NO_TMPFILE=$nt: killed writing a restored file: no file under its name" \
				eval '[ "$rc" = 0 ] && [ -z "$(find "$out" -mindepth 1 ! -name ".shmpipe.*")" ]'
			SHMPIPE_NO_TMPFILE=$nt $TO $C -q -r "$r" -j 1 -d -o "$out"; crc=$?
			wait $pp; prc=$?
			check "-d, $kind, SHMPIPE_NO_TMPFILE=$nt: the next consumer restores it whole, leaves nothing" \
				eval '[ "$prc$crc" = 00 ] && cmp -s "$T/kd.$kind" "$out/$kind" && no_tmp "$out" && no_ring "$r"'
			rm -rf "$out"
		done
	done
fi
rm -rf "$T/zd" "$T/bad" "$T/out-bad" "$T/stock" "$T/kd" "$T"/kd.*

# ---- A large stream: producer - / consumer --stdout.
head -c 40000000 /dev/urandom > "$T/big"
cat "$SRC/extra/sub/text.txt" "$SRC/extra/sub/text.txt" >> "$T/big"
for lz in "" "--lz4"; do
	r=t$$-pipe${lz:+z}
	$TO $C -q -r "$r" --stdout > "$T/big.copy" & cp=$!
	pids="$pids $cp"
	$TO $P -q -r "$r" $lz - < "$T/big"; prc=$?
	wait $cp; crc=$?
	check "stream ${lz:-raw}: producer - | consumer --stdout identical" \
		eval '[ "$prc$crc" = 00 ] && cmp -s "$T/big" "$T/big.copy" && no_ring "$r"'
done
# An empty stream and a tiny one: the first part, too, is read straight
# into a reservation; an empty stream still arrives (as nothing).
r=t$$-tiny
$TO $C -q -r "$r" --stdout > "$T/tiny.out" & cp=$!
pids="$pids $cp"
printf 'hello\n' | $TO $P -q -r "$r" -; prc=$?
wait $cp; crc=$?
check "a 6-byte stream arrives whole" eval '[ "$prc$crc" = 00 ] && [ "$(cat "$T/tiny.out")" = hello ] && no_ring "$r"'
$TO $C -q -r "$r" --stdout > "$T/tiny.out" & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" - < /dev/null; prc=$?
wait $cp; crc=$?
check "an empty stream arrives as nothing" eval '[ "$prc$crc" = 00 ] && [ ! -s "$T/tiny.out" ] && no_ring "$r"'

# Through a real pipe upstream, with the consumer attached second.
r=t$$-pipe2
cat "$T/big" | $TO $P -q -r "$r" --name big.bin - & pp=$!
pids="$pids $pp"
$TO $C -q -r "$r" -o "$T/out-stream"; crc=$?
wait $pp; prc=$?
check "stream from a pipe to -o, named by --name" \
	eval '[ "$prc$crc" = 00 ] && cmp -s "$T/big" "$T/out-stream/big.bin"'
rm -f "$T/big.copy"
# Files (two of them parted) to --stdout: their contents, in the walk's order.
r=t$$-cat
$TO $C -q -r "$r" --stdout > "$T/cat.out" & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" --lz4 -C "$SRC/extra/sub" .; prc=$?
wait $cp; crc=$?
cat "$SRC/extra/sub/random.bin" "$SRC/extra/sub/text.txt" > "$T/cat.want"
check "files to --stdout: concatenated in order, like cat" \
	eval '[ "$prc$crc" = 00 ] && cmp -s "$T/cat.want" "$T/cat.out"'
rm -f "$T/cat.out" "$T/cat.want"
# A producer beyond the expected number finds the ring closed.
r=t$$-closed
$TO $P -q -r "$r" --capacity 64M -C "$SRC" extra/empty-file
$TO $P -q -r "$r" -C "$SRC" extra/empty-file 2>"$T/closed.err"; prc=$?
$C --remove "$r"
check "a producer too many: exit 69, the ring is closed" \
	eval '[ "$prc" = 69 ] && grep -q "closed" "$T/closed.err"'

# ---- --files-from -0 with awkward names.
r=t$$-list
$TO $C -q -r "$r" -o "$T/out-list" & cp=$!
pids="$pids $cp"
(cd "$SRC" && find extra -type f -print0 | $TO $P -q -r "$r" -0 -T -); prc=$?
wait $cp; crc=$?
check "--files-from - -0: spaces, newline, non-ASCII names" \
	eval '[ "$prc$crc" = 00 ] && cmp -s "$SRC/extra/new
line" "$T/out-list/extra/new
line" && cmp -s "$SRC/extra/with space" "$T/out-list/extra/with space" && [ -f "$T/out-list/extra/caf$(printf "\303\251")" ]'
(cd "$SRC" && find extra -type f) | sed '/^line$/d; /^extra\/new$/d' | sort > "$T/want"
(cd "$T/out-list" && find extra -type f) | sed '/^line$/d; /^extra\/new$/d' | sort > "$T/got"
check "--files-from: exactly the listed files" cmp -s "$T/want" "$T/got"

# ---- Empty files and an empty batch.
r=t$$-empty
$TO $P -q -r "$r" -T /dev/null; prc=$?
$TO $C -r "$r" -o "$T/out-empty" --stats="$T/st-empty" 2>"$T/err"; crc=$?
check "empty batch: both exit 0, 0 files" \
	eval '[ "$prc$crc" = 00 ] && [ "$(json_get "$T/st-empty" files)" = 0 ] && no_ring "$r"'
r=t$$-empties
$TO $P -q -r "$r" -C "$SRC/extra" empty-file empty-dir; prc=$?
$TO $C -q -r "$r" -o "$T/out-empties"; crc=$?
check "empty file and empty folder recreated" \
	eval '[ "$prc$crc" = 00 ] && [ -f "$T/out-empties/empty-file" ] && [ ! -s "$T/out-empties/empty-file" ] && [ -d "$T/out-empties/empty-dir" ]'

# ---- Consumer started after the producer finished (the ring holds it all).
r=t$$-after
$TO $P -q -r "$r" --capacity 64M -C "$SRC" extra; prc=$?
$TO $C -q -r "$r" -j 2 -o "$T/out-after"; crc=$?
check "consumer started after the producer" \
	eval '[ "$prc$crc" = 00 ] && same_tree "$SRC/extra" "$T/out-after/extra" && no_ring "$r"'

# ---- 2 producers x 2 consumers; the ring expects 2 producers.
r=t$$-2x2
$TO $C -q -r "$r" --producers 2 -j 2 -o "$T/out-2x2" --stats="$T/st-2x2a" & c1=$!
$TO $C -q -r "$r" --producers 2 -j 2 -o "$T/out-2x2" --stats="$T/st-2x2b" & c2=$!
pids="$pids $c1 $c2"
$TO $P -q -r "$r" --producers 2 --chunk 16K -C "$SRC" linux & p1=$!
pids="$pids $p1"
$TO $P -q -r "$r" --producers 2 --chunk 16K -C "$SRC" extra; p2rc=$?
wait $p1; p1rc=$?
wait $c1; c1rc=$?
wait $c2; c2rc=$?
n2=$(( $(json_get "$T/st-2x2a" files) + $(json_get "$T/st-2x2b" files) ))
check "2 producers x 2 consumers: exit codes ($p1rc $p2rc $c1rc $c2rc)" [ "$p1rc$p2rc$c1rc$c2rc" = 0000 ]
check "2 producers x 2 consumers: identical tree, $n2 of $NFILES files" \
	eval 'same_tree "$SRC" "$T/out-2x2" && [ "$n2" = "$NFILES" ] && no_tmp "$T/out-2x2" && no_ring "$r"'

# ---- Hostile records crafted with the library: escapes are refused.
r=t$$-evil
mkdir -p "$T/evil" "$T/outside"
ln -s ../outside "$T/evil/pre"
$TO $TB "$r" file ok.txt fine file /etc/evil x file ../evil x file 'a/../../evil' x \
	symlink esc ../outside file esc/pwned x file pre/pwned x file pre replaced \
	file .shmpipe.0-1.tmp x garbage badsum bad.txt hi truncated cut.txt hi \
	symlink deep/l /etc file deep/l/passwd x; trc=$?
$TO $C -r "$r" -o "$T/evil" 2>"$T/evil.err"; crc=$?
check "hostile records: consumer exits 65 (EX_DATAERR)" [ "$trc$crc" = 065 ]
check "hostile records: nothing written outside" eval '[ -z "$(ls -A "$T/outside")" ] && [ ! -e /etc/evil ]'
check "hostile records: the good file arrived, the link was replaced, not followed" \
	eval '[ "$(cat "$T/evil/ok.txt")" = fine ] && [ ! -L "$T/evil/pre" ] && [ "$(cat "$T/evil/pre")" = replaced ]'
check "hostile records: each refusal reported" \
	eval '[ "$(grep -c refused "$T/evil.err")" = 7 ] && grep -q "bad.txt: record rejected: checksum" "$T/evil.err"'
check "hostile records: no corrupt or partial file" \
	eval '[ ! -e "$T/evil/bad.txt" ] && [ ! -e "$T/evil/cut.txt" ] && no_tmp "$T/evil"'
# Bad paths: a NUL byte in the path, a name longer than a file system
# allows, a header claiming a path longer than the format's 4095 bytes.
r=t$$-badpath
long255=$(printf '%255s' | tr ' ' n)
$TO $TB "$r" file good.txt fine nulpath dir evil x longname 300 x longname 255 ok255 \
	overlong 5000 x file after.txt fine2; trc=$?
$TO $C -r "$r" -o "$T/badpath" 2>"$T/badpath.err"; crc=$?
check "bad paths: consumer exits 65 (EX_DATAERR)" [ "$trc$crc" = 065 ]
check "bad paths: NUL refused, name too long refused, overlong header rejected" \
	eval 'grep -q "dir?evil: refused: a NUL byte in the path" "$T/badpath.err" && grep -q "refused: a name is longer than the file system allows" "$T/badpath.err" && grep -q "record of 5097 bytes: record rejected: malformed" "$T/badpath.err"'
check "bad paths: the good files arrived (a 255-byte name too), nothing else" \
	eval '[ "$(ls -A "$T/badpath" | sort | tr "\n" " ")" = "after.txt good.txt $long255 " ] && [ "$(cat "$T/badpath/$long255")" = ok255 ]'
"$TB" selftest >/dev/null
rc=$?
check "record codec self-test (XXH64 vectors, bounds, bit flips)" [ $rc = 0 ]

# ---- A file whose content does not match its size while it is read (a
# /proc file says size 0 and has bytes): read straight into a ring
# reservation, which is given up; reported by name, nothing delivered.
if [ -r /proc/version ]; then
	r=t$$-grew
	$TO $P -r "$r" -C /proc version 2>"$T/grew.err"; prc=$?
	$TO $C -q -r "$r" -o "$T/out-grew"; crc=$?
	check "a file that changed while read: producer exits 66 and names it, nothing arrives" \
		eval '[ "$prc$crc" = 660 ] && grep -q "version: file changed while being read" "$T/grew.err" && [ -z "$(ls -A "$T/out-grew")" ] && no_ring "$r"'
fi

# ---- An unreadable file: reported by name, the rest arrives, status says so.
mkdir -p "$T/unread"
echo secret > "$T/unread/locked"
echo open > "$T/unread/open"
chmod 000 "$T/unread/locked"
chmod 755 "$T" "$T/unread"
as_user=
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null && as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ "$(id -u)" != 0 ] || [ -n "$as_user" ]; then
	r=t$$-unread
	$TO $as_user $P -r "$r" -C "$T/unread" . 2>"$T/unread.err"; prc=$?
	$TO $C -q -r "$r" -o "$T/out-unread"; crc=$?
	check "unreadable file: producer exits 66 and names it" \
		eval '[ "$prc" = 66 ] && grep -q "locked" "$T/unread.err"'
	check "unreadable file: the rest of the batch arrives" \
		eval '[ "$crc" = 0 ] && [ "$(cat "$T/out-unread/open")" = open ] && [ ! -e "$T/out-unread/locked" ]'
	# An output folder the consumer cannot write: refused at start, before
	# it takes anything, so the batch waits in the ring for one that can.
	r=t$$-rofs
	mkdir -p "$T/ro"
	chmod 555 "$T/ro"
	$TO $P -q -r "$r" --producers 1 -C "$T/unread" open; prc=$?
	$TO $as_user $C -r "$r" -o "$T/ro" 2>"$T/ro.err"; crc=$?
	check "output folder not writable: exit 73, reported, nothing taken from the ring" \
		eval '[ "$prc$crc" = 073 ] && grep -q "ro: cannot write there: Permission denied" "$T/ro.err" && [ -z "$(ls -A "$T/ro")" ] && $C --info "$r" | grep -qx records=1'
	chmod 755 "$T/ro"
	$TO $C -q -r "$r" -o "$T/ro"; crc=$?
	check "output folder not writable: a consumer that can write gets the batch" \
		eval '[ "$crc" = 0 ] && [ "$(cat "$T/ro/open")" = open ] && no_ring "$r"'
else
	not_here "unreadable file, output folder not writable (root without setpriv)"
fi
chmod 700 "$T"

# ---- --exec: one command per file, content on stdin, path in the environment.
r=t$$-exec
X=$T/out-exec
export X
$TO $C -q -r "$r" -j 2 -x 'mkdir -p "$X/$(dirname "$SHMPIPE_PATH")" && cat > "$X/$SHMPIPE_PATH"' & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" --chunk 32K -C "$SRC" linux; prc=$?
wait $cp; crc=$?
check "--exec: every file fed to the command" \
	eval '[ "$prc$crc" = 00 ] && diff -r "$SRC/linux" "$X/linux" >/dev/null'
r=t$$-exec2
$TO $C -r "$r" -x 'test "$SHMPIPE_PATH" != extra/sub/text.txt' 2>"$T/exec.err" & cp=$!
pids="$pids $cp"
$TO $P -q -r "$r" -C "$SRC" extra/sub; prc=$?
wait $cp; crc=$?
check "--exec: a failing command is reported and counted (exit 69)" \
	eval '[ "$prc$crc" = 069 ] && grep -q "text.txt: exec: command exited with status 1" "$T/exec.err"'

# ---- SIGTERM: a consumer holding half a file stops; the parts it received
# are kept (hidden), and the next consumer on the ring and folder completes it.
r=t$$-term
mkfifo "$T/fifo"
head -c 200000 /dev/urandom > "$T/half.src"
$TO $C -q -r "$r" -o "$T/out-term" & cp=$!
pids="$pids $cp"
# Not under timeout: a test below kills this very process.  The trap kills
# it if the test dies first.
$P -q -r "$r" --chunk 4K --name half.bin - < "$T/fifo" & pp=$!
pids="$pids $pp"
exec 9> "$T/fifo"
head -c 100000 "$T/half.src" >&9
wait_for "ls -A '$T/out-term' 2>/dev/null | grep -q shmpipe"
rc=$?
check "SIGTERM: the file was being assembled" [ $rc = 0 ]
term_wrapped $cp
wait $cp; crc=$?
check "SIGTERM: consumer exits 75 (EX_TEMPFAIL); only the partly received file's hidden helpers stay" \
	eval '[ "$crc" = 75 ] && [ -z "$(find "$T/out-term" -mindepth 1 ! -name ".shmpipe.*.prog" ! -name ".shmpipe.*.tmp")" ] && no_tmp "$T/out-term/extra"'
# Not holding the fifo open (9>&-), or the stream would never end.
$TO $C -q -r "$r" -o "$T/out-term" 9>&- & cp=$!
pids="$pids $cp"
tail -c +100001 "$T/half.src" >&9
exec 9>&-
$TO tail --pid=$pp -f /dev/null; wait $pp; prc=$?
wait $cp; crc=$?
check "every consumer interrupted: the next one completes the partly received file" \
	eval '[ "$prc$crc" = 00 ] && cmp -s "$T/half.src" "$T/out-term/half.bin" && no_tmp "$T/out-term" && no_ring "$r"'
rm -rf "$T/out-term"

# The producer dies half-way through a parted file: it does not count as
# finished; a restarted one completes the batch; the dead one's partial file
# is discarded with a warning.
r=t$$-kprod
$TO $C -r "$r" -o "$T/out-term" 2>"$T/kprod.err" & cp=$!
pids="$pids $cp"
$P -q -r "$r" --chunk 4K --name half.bin - < "$T/fifo" & pp=$!
pids="$pids $pp"
exec 9> "$T/fifo"
head -c 100000 "$T/half.src" >&9
wait_for "ls -A '$T/out-term' 2>/dev/null | grep -q shmpipe"
kill -KILL $pp
exec 9>&-
{ wait $pp; } 2>/dev/null
$TO $P -q -r "$r" -C "$SRC" extra; prc=$?
wait $cp; crc=$?
check "killed producer: not counted; a restarted one completes the batch" \
	eval '[ "$prc$crc" = 00 ] && same_tree "$SRC/extra" "$T/out-term/extra" && [ ! -e "$T/out-term/half.bin" ] && no_tmp "$T/out-term" && no_ring "$r"'
check "killed producer: its unfinished file reported as discarded" \
	grep -q "half.bin: discarded: its producer did not finish" "$T/kprod.err"

# ---- Out of room: a full disk on the consumer side (a 128K tmpfs over the
# output folder, in a mount namespace of its own; root only).  The file that
# does not fit fails cleanly (no partial file), is named, the exit status is
# 73, the consumer stops taking records, and the rest of the batch stays in
# the ring for a consumer with room.
if [ "$(id -u)" = 0 ] && $TO unshare -m sh -c "mount -t tmpfs -o size=64k tmpfs '$T' && umount '$T'" 2>/dev/null; then
	r=t$$-full
	mkdir -p "$T/fullsrc" "$T/full"
	echo first > "$T/fullsrc/a.txt"
	head -c 300000 /dev/urandom > "$T/fullsrc/b.bin"
	echo last > "$T/fullsrc/c.txt"
	$TO $P -q -r "$r" -C "$T/fullsrc" a.txt b.bin c.txt; prc=$?
	$TO unshare -m sh -c "mount -t tmpfs -o size=128k tmpfs '$T/full' &&
		{ $C -r '$r' -j 1 -o '$T/full' 2>'$T/full.err'; echo \$? > '$T/full.rc';
		  ls -A '$T/full' > '$T/full.ls'; }"
	check "disk full: exit 73, the file named, no partial or temporary file" \
		eval '[ "$prc$(cat "$T/full.rc")" = 073 ] && grep -q "b.bin: write: No space left on device" "$T/full.err" && [ "$(cat "$T/full.ls")" = a.txt ]'
	check "disk full: the consumer stopped; the rest is still in the ring" \
		eval 'grep -q "out of room" "$T/full.err" && $C --info "$r" | grep -qx records=1'
	$TO $C -q -r "$r" -o "$T/full2"; crc=$?
	check "disk full: the rest arrives once there is room" \
		eval '[ "$crc" = 0 ] && [ "$(cat "$T/full2/c.txt")" = last ] && no_ring "$r"'
else
	not_here "disk full (needs root and unshare -m with a tmpfs mount)"
fi

# ---- A worker killed while it holds a record taken after the ring was
# closed (here: the producer finished before the consumer started).  The
# ring does not hand such a record to another reader; the worker had left a
# copy with its consumer, whose new worker handles it.  The -x command
# blocks on a fifo the first time it gets b, so that the kill is certain to
# find b in hand; it is released at the end.
r=t$$-rescue
mkdir -p "$T/rsrc" "$T/rout"
echo a > "$T/rsrc/a"; echo bb > "$T/rsrc/b"; echo ccc > "$T/rsrc/c"
mkfifo "$T/rfifo"
RX=$T/rout RF=$T/rfifo RM=$T/rmark
export RX RF RM
blocker='if [ "$SHMPIPE_PATH" = b ] && mkdir "$RM" 2>/dev/null; then echo $$ > "$RM/pid"; read x < "$RF"; exit 0; fi; cat > "$RX/$SHMPIPE_PATH"'
# Lets a blocker still reading the fifo go (opening it read-write never
# blocks, whether or not a reader is there).
release_fifo() { echo go 1<>"$RF"; }
$TO $P -q -r "$r" -C "$T/rsrc" a b c; prc=$?
$TO $C -r "$r" -j 1 -x "$blocker" 2>"$T/rescue.err" & cp=$!
pids="$pids $cp"
wait_for "[ -s '$RM/pid' ]"
w=$(pgrep -P "$(pgrep -P $cp)")
bpid=$(cat "$RM/pid")
kill -KILL $w
wait $cp; crc=$?
# Gone, or a zombie (this one's parent died: reaped by init, if init reaps).
wait_for "! grep -qs '^$bpid ([^)]*) [RSD] ' /proc/$bpid/stat"; brc=$?
release_fifo
check "worker killed after the ring closed: replaced, its record handled from its copy" \
	eval '[ "$prc$crc" = 00 ] && [ "$(cat "$RX/a" "$RX/b" "$RX/c" | tr "\n" " ")" = "a bb ccc " ] && grep -q "killed by signal 9; starting another" "$T/rescue.err" && no_ring "$r"'
check "worker killed in -x: its command got SIGTERM with it, not left running beside its second run ($brc)" \
	eval '[ "$brc" = 0 ]'

# Taken before the ring closed, its worker killed after: the ring will not
# hand it out again, and no copy was made: reported by name, exit 65,
# never silently lost.  (If the ring learns to hand such records out, b
# arrives instead, and the report would be wrong: this test then fails.)
r=t$$-lost
rm -rf "$RM" "$RX"/*
$TO $TB "$r" file a a file b bb file c ccc noseal; trc=$?
$TO $C -r "$r" -j 1 -x "$blocker" 2>"$T/lost.err" & cp=$!
pids="$pids $cp"
wait_for "[ -s '$RM/pid' ]"
$TO $TB "$r" dir sealed-now
w=$(pgrep -P "$(pgrep -P $cp)")
kill -KILL $w
wait $cp; crc=$?
release_fifo
if [ -e "$RX/b" ]; then
	check "worker killed after the ring closed, no copy: delivered again" \
		eval '[ "$trc$crc" = 00 ] && ! grep -q "lost" "$T/lost.err" || { echo "trc=$trc crc=$crc"; cat "$T/lost.err"; false; }'
else
	check "worker killed after the ring closed, no copy: reported lost by name, exit 65" \
		eval '[ "$trc$crc" = 065 ] && grep -q "^consumer: b: lost: " "$T/lost.err" && [ "$(cat "$RX/c")" = ccc ]'
fi

# ---- Administration.
r=t$$-admin
$TO $P -q -r "$r" --producers 2 -C "$SRC" extra/with\ space
$C --list > "$T/list"
check "--list: the ring, its producers, sealed count and state" \
	eval 'grep -q "^NAME  *PRODUCERS" "$T/list" && grep -q "^$r  *2  *1 .* open$" "$T/list"'
$C --info "$r" > "$T/info"
check "--info: counters as key=value" \
	eval 'grep -qx "producers=2" "$T/info" && grep -qx "sealed=1" "$T/info" && grep -qx "records=1" "$T/info"'
$C --remove "$r"
rc=$?
check "--remove: every object of the ring gone" eval '[ $rc = 0 ] && no_ring "$r"'
$C --remove "$r" 2>/dev/null
rc=$?
check "--remove of a missing ring exits 66" [ $rc = 66 ]
# Rings whose only participant was killed.  The listings read them without
# attaching (attaching recycles a dead participant's slot, which would erase
# the evidence) and call them stale; the next consumer says so on attach;
# --remove-stale removes them (only those whose names start with the prefix
# given: other users' objects are left alone).
mkfifo "$T/fifo3"
stale_ring() {
	$P -q -r "$1" --name s - < "$T/fifo3" & pp=$!
	pids="$pids $pp"
	exec 7> "$T/fifo3"
	wait_for "$C --info '$1' 2>/dev/null | grep -qx attached=1"
	kill -KILL $pp
	exec 7>&-
	{ wait $pp; } 2>/dev/null
}
r=t$$-stale
stale_ring "$r"
$C --list > "$T/list"
$C --info "$r" > "$T/info"
check "--list, --info: a ring whose participants all died is stale, its dead counted" \
	eval 'grep -q "^$r  *-  *-  *-  *-  *0  *1  *-  *- stale$" "$T/list" && grep -qx state=stale "$T/info" && grep -qx dead=1 "$T/info"'
$TO $C -r "$r" -o "$T/out-stale" 2>"$T/stale.err" & cp=$!
pids="$pids $cp"
wait_for "grep -q 'ring $r: resuming after 1 participant died' '$T/stale.err'"
rc=$?
term_wrapped $cp
wait $cp; crc=$?
check "a ring whose participants all died: reported on attach, and reused" eval '[ "$rc$crc" = 075 ]'
$C --remove "$r"
r=t$$-stale2
stale_ring "$r"
$C --remove-stale="t$$-stale" > "$T/stale.out"; rc=$?
check "--remove-stale: the stale ring removed, and named" \
	eval '[ $rc = 0 ] && [ "$(cat "$T/stale.out")" = "removed $r (ring, 1 dead, none alive)" ] && no_ring "$r"'
if command -v python3 >/dev/null; then
	python3 -m json.tool "$T/st-t$$-rt2z" >/dev/null
	rc=$?
	check "--stats is valid JSON" [ $rc = 0 ]
else
	not_here "--stats is valid JSON (no python3)"
fi

echo "test_pipeline: $pass passed, $fail failed, $skipped cases skipped"
[ "$fail" = 0 ]
