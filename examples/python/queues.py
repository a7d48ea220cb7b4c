"""queues.py: lesson 4, a Queue with five readers and a producer; then a JoinableQueue whose
producer waits in join() until three workers have marked every task done.

  queues.py init NAME [joinable] | produce NAME N READERS | read NAME ID
            | jproduce NAME N | work NAME ID | rm NAME | demo
"""
import os
import sys

import shmpipe
from _run import finish, say, start


def main(cmd, name=None, *args):
    if cmd == "demo":
        return demo()
    if cmd == "rm":
        shmpipe.remove(name)
        return 0
    if cmd == "init":
        (shmpipe.JoinableQueue if args[:1] == ("joinable",) else shmpipe.Queue)(name=name)
        return 0
    if cmd in ("produce", "read"):
        q = shmpipe.Queue(name=name, create=False)
    else:
        q = shmpipe.JoinableQueue(name=name, create=False)
    if cmd == "produce":
        for i in range(int(args[0])):
            q.put(("item", i))
        for _ in range(int(args[1])):
            q.put(None)                       # one end marker per reader
    elif cmd == "read":
        n = 0
        while q.get(timeout=30) is not None:
            n += 1
        print("reader %s: %d items" % (args[0], n))
    elif cmd == "jproduce":
        for i in range(int(args[0])):
            q.put(i)
        if not q.join(timeout=60):
            return 1
        print("producer: join() returned: every task is done")
        q.shutdown()                          # the workers stop
    elif cmd == "work":
        n = 0
        while True:
            try:
                q.get(timeout=30)
            except shmpipe.ShutDown:
                break
            n += 1
            q.task_done()
        print("worker %s: %d tasks" % (args[0], n))
    return 0


def total(out, what):
    return sum(int(line.split(": ")[1].split()[0]) for line in out.splitlines()
               if line.startswith(what))


def demo():
    name = "pylesson%d-q" % os.getpid()
    main("init", name)
    readers = [start("queues.py", "read", name, i) for i in range(1, 6)]
    ok = finish([start("queues.py", "produce", name, 1000, 5)])[0]
    ok2, out = finish(readers)
    say(out)
    main("rm", name)
    main("init", name, "joinable")
    workers = [start("queues.py", "work", name, i) for i in (1, 2, 3)]
    ok3, jout = finish([start("queues.py", "jproduce", name, 500)])
    ok4, wout = finish(workers)
    say(wout + jout)
    main("rm", name)
    good = total(out, "reader") == 1000 and total(wout, "worker") == 500 and \
        "join() returned" in jout
    return 0 if ok and ok2 and ok3 and ok4 and good else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
