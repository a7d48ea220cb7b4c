#!/bin/sh
# run-lessons.sh: runs each multiprocessing lesson as separately launched processes and checks its result.
#
#   B=build examples/run-lessons.sh       (after `make`)
#
# Every process below is started on its own by this script, as unrelated
# programs would be: they find each other's objects by name only.
B=${B:-build}
EX=$B/examples
ID=lesson$$
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "run-lessons: $1: ok"; }
bad() { fail=$((fail + 1)); echo "run-lessons: $1: FAILED: $2"; }

for p in mp_race mp_nightclub mp_stats mp_queue mp_primes; do
	[ -x "$EX/$p" ] || { echo "run-lessons: $EX/$p missing: run make first" >&2; exit 1; }
done

# 1. The race condition: +100 and -100, a million times each, at once.
lesson_race() {
	n=$ID-race
	"$EX/mp_race" init $n
	"$EX/mp_race" run $n 100 1000000 nolock & a=$!
	"$EX/mp_race" run $n -100 1000000 nolock & b=$!
	wait $a; wait $b
	racy=$("$EX/mp_race" show $n)
	"$EX/mp_race" rm $n
	echo "  without the lock the balance is $racy (it should be 0)"
	"$EX/mp_race" init $n
	"$EX/mp_race" run $n 100 1000000 lock & a=$!
	"$EX/mp_race" run $n -100 1000000 lock & b=$!
	wait $a && wait $b || { bad race "a process failed"; "$EX/mp_race" rm $n; return; }
	safe=$("$EX/mp_race" show $n)
	"$EX/mp_race" rm $n
	echo "  with the lock the balance is $safe"
	[ "$safe" = 0 ] && ok race || bad race "balance $safe with the lock"
	[ "$racy" = 0 ] && echo "  (no update was lost this time: the race is real but not certain)"
}

# 2. The nightclub: 10 guests, room for 5.
lesson_nightclub() {
	n=$ID-club
	"$EX/mp_nightclub" init $n 5
	pids=
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$EX/mp_nightclub" guest $n $i 50 & pids="$pids $!"
	done
	st=0
	for p in $pids; do wait $p || st=1; done
	"$EX/mp_nightclub" show $n 5 || st=1
	"$EX/mp_nightclub" rm $n
	[ $st = 0 ] && ok nightclub || bad nightclub "more than 5 inside, or a guest failed"
}

# 3. An Event announcing "stats ready" to 3 waiting readers; a Barrier as a
#    start line for 4 runners.
lesson_event_barrier() {
	n=$ID-stats
	"$EX/mp_stats" init $n 4
	out=$(mktemp)
	pids=
	for i in 1 2 3; do "$EX/mp_stats" reader $n $i >>"$out" & pids="$pids $!"; done
	"$EX/mp_stats" writer $n 1000 >>"$out" || st=1
	st=0
	for p in $pids; do wait $p || st=1; done
	ready=$(grep -c "stats ready: n=1000 mean=500.500" "$out")
	cat "$out" | sed 's/^/  /'
	pids=
	: >"$out"
	for i in 1 2 3 4; do "$EX/mp_stats" runner $n $i >>"$out" & pids="$pids $!"; done
	for p in $pids; do wait $p || st=1; done
	sed 's/^/  /' "$out"
	runners=$(grep -c "off at" "$out")
	rm -f "$out"
	"$EX/mp_stats" rm $n
	[ $st = 0 ] && [ "$ready" = 3 ] && [ "$runners" = 4 ] && ok event-barrier ||
		bad event-barrier "readers $ready/3, runners $runners/4"
}

# 4. A Queue with 5 readers and a producer; a JoinableQueue whose producer
#    waits in join() for 3 workers.
lesson_queue() {
	n=$ID-q
	"$EX/mp_queue" init $n
	out=$(mktemp)
	pids=
	for i in 1 2 3 4 5; do "$EX/mp_queue" read $n $i >>"$out" & pids="$pids $!"; done
	"$EX/mp_queue" produce $n 1000 5 >>"$out" || st=1
	st=0
	for p in $pids; do wait $p || st=1; done
	sed 's/^/  /' "$out"
	total=$(sed -n 's/^reader [0-9]*: \([0-9]*\) items$/\1/p' "$out" | awk '{s += $1} END {print s + 0}')
	"$EX/mp_queue" rm $n
	"$EX/mp_queue" init $n joinable
	: >"$out"
	pids=
	for i in 1 2 3; do "$EX/mp_queue" work $n $i >>"$out" & pids="$pids $!"; done
	"$EX/mp_queue" jproduce $n 500 >>"$out" || st=1
	for p in $pids; do wait $p || st=1; done
	sed 's/^/  /' "$out"
	done=$(sed -n 's/^worker [0-9]*: \([0-9]*\) tasks$/\1/p' "$out" | awk '{s += $1} END {print s + 0}')
	joined=$(grep -c "join() returned" "$out")
	rm -f "$out"
	"$EX/mp_queue" rm $n
	[ $st = 0 ] && [ "$total" = 1000 ] && [ "$done" = 500 ] && [ "$joined" = 1 ] && ok queue ||
		bad queue "read $total/1000, done $done/500, joined $joined"
}

# 5. A process pool: map is_prime over 10^13 .. 10^13+1000, filter the
#    primes, with 1 to 4 workers; print the speedup table.
lesson_primes() {
	n=$ID-primes
	out=$(mktemp)
	st=0
	for w in 1 2 3 4; do
		"$EX/mp_primes" init $n
		pids=
		i=0
		while [ $i -lt $w ]; do "$EX/mp_primes" worker $n & pids="$pids $!"; i=$((i + 1)); done
		"$EX/mp_primes" master $n $w >>"$out" || st=1
		for p in $pids; do wait $p || st=1; done
		"$EX/mp_primes" rm $n
	done
	echo "  primes among 10^13 .. 10^13+1000: $(awk 'NR == 1 {print $3}' "$out")"
	echo "  workers  seconds  speedup  efficiency"
	awk 'NR == 1 {t1 = $2} {printf "  %7d  %7.3f  %7.2f  %9.0f%%\n", $1, $2, t1 / $2, 100 * t1 / $2 / $1}' "$out"
	counts=$(awk '{print $3}' "$out" | sort -u | wc -l)
	rm -f "$out"
	[ $st = 0 ] && [ "$counts" = 1 ] && ok primes || bad primes "the pools disagree or failed"
}

lesson_race
lesson_nightclub
lesson_event_barrier
lesson_queue
lesson_primes
echo "lessons: $pass passed, $fail failed"
[ $fail = 0 ]
