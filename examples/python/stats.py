"""stats.py: lesson 3, an Event announcing "stats ready" to three waiting readers, and a
Barrier as the start line of four runners.

  stats.py init NAME RUNNERS | writer NAME N | reader NAME ID | runner NAME ID | rm NAME | demo
"""
import os
import sys
import time

import shmpipe
from _run import finish, say, start


def main(cmd, name=None, *args):
    if cmd == "demo":
        return demo()
    if cmd == "rm":
        for part in (".ready", ".stats", ".go"):
            shmpipe.remove(name + part)
        return 0
    if cmd == "init":
        shmpipe.Event(name=name + ".ready")
        shmpipe.Array("d", 2, name=name + ".stats")
        shmpipe.Barrier(int(args[0]), name=name + ".go")
        return 0
    if cmd == "runner":
        go = shmpipe.Barrier(0, name=name + ".go", create=False)   # the creator's parties
        i = go.wait(30)
        print("runner %s: off at %.3f (place %d at the line)" % (args[0], time.monotonic(), i))
        return 0
    ready = shmpipe.Event(name=name + ".ready", create=False)
    stats = shmpipe.Array("d", 2, name=name + ".stats", create=False)
    if cmd == "writer":
        n = int(args[0])
        xs = range(1, n + 1)
        with stats.get_lock():
            stats[0], stats[1] = n, sum(xs) / n
        ready.set()
        return 0
    if not ready.wait(30):
        print("reader %s: no stats within 30 s" % args[0])
        return 1
    print("reader %s: stats ready: n=%d mean=%.3f" % (args[0], stats[0], stats[1]))
    return 0


def demo():
    name = "pylesson%d-stats" % os.getpid()
    main("init", name, 4)
    readers = [start("stats.py", "reader", name, i) for i in (1, 2, 3)]
    ok = finish([start("stats.py", "writer", name, 1000)])[0]
    ok2, out = finish(readers)
    say(out)
    ok3, runs = finish([start("stats.py", "runner", name, i) for i in (1, 2, 3, 4)])
    say(runs)
    main("rm", name)
    good = out.count("stats ready: n=1000 mean=500.500") == 3 and runs.count("off at") == 4
    return 0 if ok and ok2 and ok3 and good else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
