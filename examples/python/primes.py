"""primes.py: lesson 5, a process pool: the workers take chunks of 10^11 .. 10^11+1000 from
a tasks Queue and put the primes they find on a results Queue; the master times 1 to 4
workers and prints the speedup table.

  primes.py init NAME WORKERS | worker NAME | master NAME WORKERS | rm NAME | demo
"""
import os
import sys
import time

import shmpipe
from _run import finish, say, start

FIRST, COUNT, CHUNK = 10 ** 11, 1000, 50     # C's lesson starts at 10^13: Python divides slower


def is_prime(n):
    if n < 2 or n % 2 == 0:
        return n == 2
    f = 3
    while f * f <= n:
        if n % f == 0:
            return False
        f += 2
    return True


def main(cmd, name=None, *args):
    if cmd == "demo":
        return demo()
    if cmd == "rm":
        shmpipe.remove(name + ".tasks")
        shmpipe.remove(name + ".results")
        shmpipe.remove(name + ".go")
        return 0
    if cmd == "init":
        shmpipe.Queue(name=name + ".tasks")
        shmpipe.Queue(name=name + ".results")
        shmpipe.Barrier(int(args[0]) + 1, name=name + ".go")   # the workers and the master
        return 0
    tasks = shmpipe.Queue(name=name + ".tasks", create=False)
    results = shmpipe.Queue(name=name + ".results", create=False)
    shmpipe.Barrier(0, name=name + ".go", create=False).wait(60)   # everyone started
    if cmd == "worker":
        while True:
            try:
                first = tasks.get(timeout=60)
            except shmpipe.ShutDown:
                return 0
            results.put([x for x in range(first, min(first + CHUNK, FIRST + COUNT))
                         if is_prime(x)])
    t0 = time.monotonic()
    chunks = range(FIRST, FIRST + COUNT, CHUNK)
    for first in chunks:
        tasks.put(first)
    primes = [p for _ in chunks for p in results.get(timeout=60)]
    print("%s %.3f %d %d" % (args[0], time.monotonic() - t0, len(primes), max(primes)))
    tasks.shutdown()                  # the workers exit
    return 0


def demo():
    name = "pylesson%d-primes" % os.getpid()
    rows, ok = [], True
    for w in (1, 2, 3, 4):
        main("init", name, w)
        workers = [start("primes.py", "worker", name) for _ in range(w)]
        ok1, out = finish([start("primes.py", "master", name, w)])
        ok2, _ = finish(workers)
        ok = ok and ok1 and ok2
        main("rm", name)
        rows.append(out.split())
    say("primes among 10^11 .. 10^11+1000: %s" % rows[0][2])
    say("workers  seconds  speedup  efficiency")
    t1 = float(rows[0][1])
    for w, t, _, _ in rows:
        say("%7s  %7.3f  %7.2f  %9.0f%%" % (w, float(t), t1 / float(t),
                                            100 * t1 / float(t) / int(w)))
    return 0 if ok and len({r[2] for r in rows}) == 1 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
