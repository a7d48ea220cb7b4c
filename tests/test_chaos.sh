#!/bin/sh
# test_chaos.sh: SIGKILL to random participants of running batches, many times over; the output must equal the input.
#
# Rounds, each a whole batch on a ring of its own (t<pid>-chaos<round>): a
# producer streams a real tree (with a few large files travelling in many
# parts) to a consumer with 2 or 3 workers, while this driver sends SIGKILL
# at random moments to the producer, the consumer's main process or one of
# its workers, restarting a killed producer or consumer at once (a killed
# worker is replaced by its consumer).  After each round: the output tree
# equals the input byte for byte (links as links, modes, mtimes), no
# temporary file is left anywhere under it, every consumer that was not
# killed exited 0, and after `consumer --remove` nothing of the ring is left
# in /dev/shm.
#
# Randomness (which participant, when, and each round's options) comes from
# one seed, printed first: CHAOS_SEED=<seed> replays the same choices (the
# timing of the machine still varies).
#
# Environment: B (build folder, default build), CHAOS_KILLS (kills in all,
# default 30), CHAOS_SECONDS (no new round after that long, default 45: the
# test says how many kills it made), CHAOS_SEED, CHAOS_DIR (scratch space,
# default /dev/shm when it has room for three copies of /usr/include, since
# on a disk creating files costs far more than the pipeline, else $TMPDIR),
# CHAOS_TREE (default /usr/include, or /usr/include/linux when the scratch
# space is a disk or in broker mode), CHAOS_DELAY_MS (largest pause before a kill; default:
# half of what the first round, run without kills, took, so that kills fall
# early, late and after the end of a batch on a fast machine or a slow one).
# `make chaos` runs the long version.  Every wait is bounded; the trap stops
# every process of the test and removes every ring and folder it made.
#
# Broker mode (CHAOS_BROKER=1, or the argument "broker"; `make chaos` runs
# it after the ring's): the same rounds through a batch on a redis-server
# of the test's own (tests/tool_redis: a unix socket in the scratch folder,
# --save '', stopped by its pid) instead of a ring: producer --broker
# (--window 8M, so that the server holds a few MB, not the tree), consumer
# --broker, each run of it under one of two host names chosen at random
# (--claim-ms 1000): a consumer started again under its dead run's name
# re-reads what that one's workers held, under the other name it claims
# them after a second.  At the end of a round nothing of the batch may be
# left on the server but the marker and host set that a host killed before
# it left keeps until they expire (deleted then), and nothing in /dev/shm.
# Skipped (77) without redis-server, redis-cli or the programs' --broker.
B=${B:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
P=$B/producer
C=$B/consumer
KILLS=${CHAOS_KILLS:-30}
SECONDS_MAX=${CHAOS_SECONDS:-45}
DELAY=${CHAOS_DELAY_MS:-}
SEED=${CHAOS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
BROKER=${CHAOS_BROKER:-0}
[ "${1:-}" = broker ] && BROKER=1
MAX_ROUNDS=$((KILLS * 2 + 10))
pass=0
fail=0

. "$(dirname "$0")/skip.sh"
need_built "$P" "$C"
need_cmd lz4 lz4
need_cmd pgrep procps
need_cmd timeout coreutils
need_shm 64
mode=
if [ "$BROKER" = 1 ]; then
	SKIP_NAME="test_chaos.sh (broker)"
	mode=" CHAOS_BROKER=1"
	need_built "$B/tests/tool_redis"
	need_cmd redis-server redis-server
	need_cmd redis-cli redis-tools
	"$P" --help 2>/dev/null | grep -q -e '--broker' || skip "producer has no --broker"
	"$C" --help 2>/dev/null | grep -q -e '--host' || skip "consumer has no --broker --host"
fi
echo "test_chaos: seed $SEED, $KILLS kills (replay:$mode CHAOS_SEED=$SEED CHAOS_KILLS=$KILLS)"

if [ -z "${CHAOS_DIR:-}" ]; then
	CHAOS_DIR=${TMPDIR:-/tmp}
	need=$(($(du -sk "${CHAOS_TREE:-/usr/include}" 2>/dev/null | cut -f1) * 3 + 65536))
	room=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
	[ -n "$room" ] && [ "$room" -gt "$need" ] && CHAOS_DIR=/dev/shm
fi
if [ -n "${CHAOS_TREE:-}" ]; then
	TREE=$CHAOS_TREE
elif [ "$CHAOS_DIR" = /dev/shm ] && [ "$BROKER" != 1 ]; then
	TREE=/usr/include
else
	TREE=/usr/include/linux
fi
start_time=$(date +%s)
T=$(mktemp -d "$CHAOS_DIR/shmpipe-chaos.XXXXXX") || exit 1
ppid= cpid= srv= srvt= round=0
cleanup() {
	# Producers and consumer main processes we started, then whatever
	# is left of each round (workers whose main process was killed end
	# by themselves: they get SIGTERM when it dies).
	for p in $ppid $cpid; do kill -TERM "$p" 2>/dev/null; done
	for r in $(ls /dev/shm 2>/dev/null | sed -n "s/^shmpipe\.\(t$$-chaos[0-9]*\)\.lock$/\1/p") \
		 $(i=0; while [ $i -lt $round ]; do i=$((i + 1)); echo "t$$-chaos$i"; done); do
		for p in $(consumers_of "$r"); do kill -TERM "$p" 2>/dev/null; done
	done
	timeout 10 sh -c "while pgrep -f -- '$CPAT$$-chaos' >/dev/null; do sleep 0.05; done"
	[ -z "$srv" ] || kill -TERM "$srv" 2>/dev/null
	[ -z "$srvt" ] || { timeout 10 tail --pid="$srvt" -f /dev/null; wait "$srvt"; } 2>/dev/null
	rm -rf "$T"
	rm -f /dev/shm/shmpipe.t$$-chaos*
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
nok() { fail=$((fail + 1)); echo "FAIL - $1"; }
# (_what: a name no case uses, since the checks are evals of the cases' variables.)
check() { _what=$1; shift; if "$@"; then ok "$_what"; else nok "$_what"; fi; }

# The random numbers, one a line, all from the seed.
awk -v s="$SEED" 'BEGIN { srand(s); for (i = 0; i < 100000; i++) printf "%d\n", int(rand() * 1000000) }' > "$T/rand"
exec 8< "$T/rand"
# rnd N: sets R to a number from 0 to N-1.
rnd() { read -r _r <&8; R=$((_r % $1)); }

# A process of ours is running (not exited, not a zombie waiting for wait).
alive() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# Waits (bounded: then kills it) for a process of ours to end; sets W to
# its status.
reap() {
	timeout 60 tail --pid="$1" -s 0.01 -f /dev/null || kill -KILL "$1" 2>/dev/null
	wait "$1"; W=$?
}
# Every process (main or worker) of the consumers of ring $1.
# ([c]: so that the pattern does not match a command line holding it.)
if [ "$BROKER" = 1 ]; then
	CPAT="$B/[c]onsumer -q --broker [^ ]*stream=t"
else
	CPAT="$B/[c]onsumer -q -r t"
fi
consumers_of() { pgrep -f -- "$CPAT${1#t} " 2>/dev/null; }
no_shm() { ! ls /dev/shm | grep -q "shmpipe\.$1\(\.\|$\)"; }
if [ "$BROKER" = 1 ]; then
	rcli() { redis-cli -s "$T/srv/redis.sock" "$@"; }
	keys_of() { rcli --scan --pattern "shmpipe:{$1}:*"; }
	# The batch's state is gone: complete (or never made).
	no_ring() { [ "$(rcli EXISTS "shmpipe:{$1}:m")" = 0 ]; }
	# A batch no producer has sealed: its state is there, sealed 0 (a
	# complete batch's state is deleted at once, while its consumers
	# still sweep and leave: those are not to be stopped).
	unsealed() { [ "$(rcli HGET "shmpipe:{$1}:m" sealed)" = 0 ]; }
	# Nothing left but what a host killed before it left keeps (its
	# marker and host set expire); then the rest is deleted.
	remove_ring() {
		_left=$(keys_of "$1" | grep -v ":[dh]$\|:l:[^:]*$")
		keys_of "$1" | while read -r _k; do rcli DEL "$_k" >/dev/null; done
		[ -z "$_left" ] || { echo "$_left" | head -n 3; return 1; }
		no_shm "$1"
	}
else
	no_ring() { no_shm "$1"; }
	# The ring is not sealed (nor is a missing or stale ring).
	unsealed() { ! $C --info "$1" 2>/dev/null | grep -q '^sealed=[1-9]'; }
	remove_ring() { $C --remove "$1" 2>/dev/null; no_ring "$1"; }
fi
no_tmp() { [ -z "$(find "$1" -name '.shmpipe.*' 2>/dev/null)" ]; }
# Same tree: content, links as links, each regular file's mode and mtime.
# With -z ($3 = z), every file is FILE.lz4: compare modes and mtimes of the
# .lz4 files, then restore them with lz4 -d and compare contents.
same_tree() {
	(cd "$1" && find . -type f -printf '%p %m %T@\n' | sort) > "$T/meta.a"
	if [ "$3" = z ]; then
		(cd "$2" && find . -type f -printf '%p %m %T@\n' | sed 's/\.lz4 / /' | sort) > "$T/meta.b"
		find "$2" -name '*.lz4' -print0 | xargs -0 -r lz4 -d -m -q --rm 2>"$T/lz4.err" || return 1
		[ -s "$T/lz4.err" ] && return 1
	else
		(cd "$2" && find . -type f -printf '%p %m %T@\n' | sort) > "$T/meta.b"
	fi
	cmp -s "$T/meta.a" "$T/meta.b" || { diff "$T/meta.a" "$T/meta.b" | head -n 5; return 1; }
	diff -r --no-dereference "$1" "$2" > "$T/diff" 2>&1 || { head -n 5 "$T/diff"; return 1; }
}

# ---- The data: the tree, plus what it lacks: files large enough to travel
# in many parts (64K chunks), empty ones, links, an empty folder, modes.
SRC=$T/src
mkdir -p "$SRC/big" "$SRC/extra/empty-dir"
if [ -d "$TREE" ]; then
	cp -a "$TREE" "$SRC/tree"
else
	mkdir -p "$SRC/tree"
	for i in $(seq 1 500); do seq 1 "$i" > "$SRC/tree/f$i.h"; done
fi
head -c 2000000 /dev/urandom > "$SRC/big/random.bin"
find "$SRC/tree" -type f -name '*.h' -exec cat {} + 2>/dev/null | head -c 1500000 > "$SRC/big/text.txt"
head -c 700001 /dev/urandom > "$SRC/big/odd-size.bin"
chmod 600 "$SRC/big/random.bin"
chmod 755 "$SRC/big/odd-size.bin"
: > "$SRC/extra/empty-file"
ln -s ../big/text.txt "$SRC/extra/link"
NFILES=$(find "$SRC" -type f -printf x | wc -c)
echo "test_chaos: $NFILES files, $(du -sk "$SRC" | cut -f1) KB"

# start_producer R OPTS / start_consumer R OPTS OUT: in the background,
# not under timeout(1), since the driver kills these very processes.
if [ "$BROKER" = 1 ]; then
	mkdir -p "$T/srv"
	mkfifo "$T/srv.pipe"
	"$B/tests/tool_redis" "$T/srv" > "$T/srv.pipe" 2>"$T/srv.err" & srvt=$!
	read -r srv < "$T/srv.pipe"
	[ -n "$srv" ] || { echo "test_chaos: redis-server would not start: $(tail -n 3 "$T/srv.err")"; exit 1; }
	url() { echo "unix://$T/srv/redis.sock?stream=$1"; }
	start_producer() {
		$P -q --broker "$(url "$1")" --window 8M --chunk 64K $2 -C "$SRC" . 2>>"$T/producer.err" & ppid=$!
	}
	start_consumer() {
		rnd 2
		$C -q --broker "$(url "$1")" --host "h$R" --claim-ms 1000 $2 -o "$3" 2>>"$T/consumer.err" & cpid=$!
	}
else
	start_producer() { $P -q -r "$1" --capacity 1M --chunk 64K $2 -C "$SRC" . 2>>"$T/producer.err" & ppid=$!; }
	start_consumer() { $C -q -r "$1" $2 -o "$3" 2>>"$T/consumer.err" & cpid=$!; }
fi

kills=0
: > "$T/kills"
while [ $kills -lt "$KILLS" ] && [ $round -lt $MAX_ROUNDS ] &&
      [ $(($(date +%s) - start_time)) -lt "$SECONDS_MAX" ]; do
	round=$((round + 1))
	r=t$$-chaos$round
	out=$T/out$round
	rnd 2; jobs=$((R + 2))
	rnd 2; lz=; [ $R = 1 ] && lz=--lz4
	rnd 4; z=; [ $R = 0 ] && z=z
	copts="-j $jobs${z:+ -z}"
	: > "$T/consumer.err"
	: > "$T/producer.err"
	bad_exit=
	start_consumer "$r" "$copts" "$out"
	start_producer "$r" "$lz"
	rnd 5; nk=$((R + 2))
	if [ -z "$DELAY" ]; then
		nk=0        # the first round measures how long a batch takes
		t0=$(date +%s%N)
	fi
	k=0
	prc=
	while [ $k -lt $nk ] && [ $kills -lt "$KILLS" ]; do
		rnd "$DELAY"
		sleep "$((R / 1000)).$(printf %03d $((R % 1000)))"
		# Whoever ended by itself: the producer when it has sent all,
		# the consumer when the batch is complete.
		if [ -n "$ppid" ] && ! alive "$ppid"; then reap "$ppid"; prc=$W; ppid=; fi
		if [ -n "$cpid" ] && ! alive "$cpid"; then
			reap "$cpid"
			[ "$W" = 0 ] || bad_exit="$bad_exit consumer:$W"
			cpid=
		fi
		[ -z "$ppid" ] && [ -z "$cpid" ] && break
		rnd 3; what=$R
		for _ in 1 2 3; do
			case $what in
			0) [ -n "$ppid" ] && break ;;
			1) [ -n "$cpid" ] && break ;;
			2) [ -n "$cpid" ] && [ -n "$(pgrep -P "$cpid")" ] && break ;;
			esac
			what=$(((what + 1) % 3))
		done
		case $what in
		0)
			victim=$ppid
			kill -KILL "$victim" 2>/dev/null && reap "$victim"
			ppid=
			start_producer "$r" "$lz"
			who=producer ;;
		1)
			victim=$cpid
			kill -KILL "$victim" 2>/dev/null && reap "$victim"
			cpid=
			start_consumer "$r" "$copts" "$out"
			who=consumer ;;
		2)
			set -- $(pgrep -P "$cpid")
			[ $# -gt 0 ] || continue
			rnd $#
			shift "$R"
			victim=$1
			kill -KILL "$victim" 2>/dev/null
			who=worker ;;
		esac
		k=$((k + 1))
		kills=$((kills + 1))
		echo "round $round ($copts${lz:+ $lz}): kill $kills: $who $victim" >> "$T/kills"
	done

	if [ -z "$DELAY" ]; then
		reap "$ppid"; prc=$W; ppid=
		reap "$cpid"; [ "$W" = 0 ] || bad_exit="$bad_exit consumer:$W"; cpid=
		ms=$((($(date +%s%N) - t0) / 1000000))
		# Half a batch: most kills fall while it runs, some after.
		DELAY=$((ms / 2))
		[ "$DELAY" -ge 20 ] || DELAY=20
		echo "test_chaos: a batch takes about $ms ms: pauses before kills up to $DELAY ms"
	fi

	# ---- The end of the round.  The producer's last run must succeed
	# (69: a producer killed after it sealed the ring had sent it all),
	# and so must every consumer not killed.  Two cases need a hand: a
	# producer restarted after a consumer finished the batch and removed
	# the ring makes a new ring and sends it all again: a consumer must
	# take it; a consumer restarted then makes a new ring no producer will
	# seal: it is stopped (it exits 75) and the ring removed.
	deadline=$(($(date +%s) + 60))
	termed=
	note=
	while [ "$(date +%s)" -lt $deadline ]; do
		if [ -n "$ppid" ] && ! alive "$ppid"; then reap "$ppid"; prc=$W; ppid=; fi
		if [ -n "$cpid" ] && ! alive "$cpid"; then
			reap "$cpid"
			# Stopped: 75, or 143 if SIGTERM came before it set
			# up its handlers.
			[ "$W" = 0 ] || { [ "$termed" = "$cpid" ] && { [ "$W" = 75 ] || [ "$W" = 143 ]; }; } ||
				bad_exit="$bad_exit consumer:$W"
			cpid=
		fi
		if [ -z "$cpid" ] && [ -z "$(consumers_of "$r")" ]; then
			if [ -z "$ppid" ]; then
				no_ring "$r" && break
				# Not sealed once the producer is done: such a
				# new ring (maybe stale: its consumer was killed).
				if unsealed "$r"; then
					remove_ring "$r" >/dev/null
					break
				fi
			fi
			start_consumer "$r" "$copts" "$out"
		elif [ -n "$cpid" ] && [ -z "$ppid" ] && [ "$termed" != "$cpid" ] && unsealed "$r"; then
			kill -TERM "$cpid" 2>/dev/null
			termed=$cpid
			note="; a consumer had to be stopped (SIGTERM): the producer was done, and the ring or batch it waited on was one nobody sealed"
		fi
		sleep 0.05
	done
	[ -z "$ppid" ] || { nok "round $round: the producer did not finish"; kill -TERM "$ppid"; reap "$ppid"; ppid=; }
	[ -z "$prc" ] || [ "$prc" = 0 ] || [ "$prc" = 69 ] || bad_exit="$bad_exit producer:$prc"
	if [ -n "$cpid" ]; then
		nok "round $round: the consumer did not finish"
		# What it is waiting for: its processes, the ring.
		ps -o pid,ppid,stat,wchan:24,args -p "$cpid" $(consumers_of "$r") 2>/dev/null | cut -c1-150
		if [ "$BROKER" = 1 ]; then
			rcli HGETALL "shmpipe:{$r}:m" | tr '\n' ' '; echo
		else
			$C --info "$r" 2>&1 | tr '\n' ' '; echo
		fi
		kill -TERM "$cpid"; reap "$cpid"; cpid=
	fi
	timeout 30 sh -c "while pgrep -f -- '$CPAT${r#t} ' >/dev/null; do sleep 0.05; done"

	n=$(grep -c "^round $round " "$T/kills")
	what="round $round ($copts${lz:+ $lz}, $n kills)"
	why=
	[ -z "$bad_exit" ] || why="$why; exit statuses:$bad_exit"
	same_tree "$SRC" "$out" $z > "$T/why" || why="$why; output differs: $(head -c 300 "$T/why")"
	no_tmp "$out" || why="$why; temporary files left: $(find "$out" -name '.shmpipe.*' | head -n 3)"
	if [ "$BROKER" = 1 ]; then
		remove_ring "$r" > "$T/left" || why="$why; left on the server or in /dev/shm: $(tr '\n' ' ' < "$T/left")"
	else
		remove_ring "$r" || why="$why; ring objects left in /dev/shm"
	fi
	! grep -q ": lost:\|do not match\|incomplete" "$T/consumer.err" ||
		why="$why; consumer reported: $(grep ": lost:\|do not match\|incomplete" "$T/consumer.err" | head -n 3)"
	if [ -z "$why" ]; then
		ok "$what: output equals input, no temporary file, no ring left, exit statuses"
	else
		nok "$what$why$note"
	fi
	if [ "$fail" != 0 ]; then
		echo "test_chaos: kills so far (seed $SEED):"
		cat "$T/kills"
		echo "test_chaos: consumer messages:"
		head -n 20 "$T/consumer.err"
		break
	fi
	rm -rf "$out"
done

echo "test_chaos: $kills kills in $round rounds, $(($(date +%s) - start_time)) s (seed $SEED): $(grep -c ' producer ' "$T/kills") producers, $(grep -c ' consumer ' "$T/kills") consumers, $(grep -c ' worker ' "$T/kills") workers"
[ $kills -ge "$KILLS" ] || [ "$fail" != 0 ] ||
	echo "test_chaos: note: time is up (CHAOS_SECONDS=$SECONDS_MAX) after $kills of $KILLS kills"
echo "test_chaos: $pass passed, $fail failed"
[ "$fail" = 0 ]
