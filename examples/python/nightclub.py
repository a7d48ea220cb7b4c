"""nightclub.py: lesson 2, the semaphore nightclub: ten guests, room for five.  The doorman is
a Semaphore with undo (a guest who dies gives its place back); each guest counts itself in
and out on a Value and records the most ever inside.

  nightclub.py init NAME CAPACITY | guest NAME ID VISITS | show NAME CAPACITY | rm NAME | demo
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
        for part in ("", ".inside", ".most"):
            shmpipe.remove(name + part)
        return 0
    if cmd == "init":
        shmpipe.Semaphore(int(args[0]), name=name, undo=True)
        shmpipe.Value("q", 0, name=name + ".inside")
        shmpipe.Value("q", 0, name=name + ".most")
        return 0
    inside = shmpipe.Value("q", name=name + ".inside", create=False)
    most = shmpipe.Value("q", name=name + ".most", create=False)
    if cmd == "show":
        print("most guests inside at once: %d (capacity %s)" % (most.value, args[0]))
        return 0 if most.value <= int(args[0]) else 1
    door = shmpipe.Semaphore(name=name, create=False)
    for _ in range(int(args[1])):
        with door:                                 # wait for a place
            with inside.get_lock():
                inside.value += 1
                now = inside.value
            with most.get_lock():
                most.value = max(most.value, now)
            time.sleep(0.002)                      # the visit (not synchronisation)
            with inside.get_lock():
                inside.value -= 1
    return 0


def demo():
    name = "pylesson%d-club" % os.getpid()
    main("init", name, 5)
    ok, _ = finish([start("nightclub.py", "guest", name, i, 50) for i in range(1, 11)])
    p = start("nightclub.py", "show", name, 5)
    ok2, out = finish([p])
    say(out)
    main("rm", name)
    return 0 if ok and ok2 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
