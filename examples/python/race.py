"""race.py: lesson 1, the race condition: two processes add and subtract 100 on a shared
Value, without and with its lock.

  race.py init NAME | run NAME DELTA N lock|nolock | show NAME | rm NAME | demo
"""
import sys

import shmpipe
from _run import finish, say, start


def main(cmd, name=None, *args):
    if cmd == "demo":
        return demo()
    if cmd == "rm":
        shmpipe.remove(name)
        shmpipe.remove(name + ".go")
        return 0
    if cmd == "init":
        shmpipe.Value("q", 0, name=name)
        shmpipe.Barrier(2, name=name + ".go")
        return 0
    balance = shmpipe.Value("q", name=name, create=False)
    if cmd == "show":
        print(balance.value)
        return 0
    delta, n, mode = int(args[0]), int(args[1]), args[2]
    go = shmpipe.Barrier(2, name=name + ".go", create=False)
    go.wait(30)                       # both start together
    if mode == "lock":
        for _ in range(n):
            with balance.get_lock():
                balance.value = balance.value + delta
    else:
        raw = balance.get_obj()       # the shared integer itself: no lock at all
        for _ in range(n):
            raw.value = raw.value + delta
    return 0


def once(name, mode, n):
    main("init", name)
    ok, _ = finish([start("race.py", "run", name, 100, n, mode),
                    start("race.py", "run", name, -100, n, mode)])
    balance = shmpipe.Value("q", name=name, create=False).value
    main("rm", name)
    return ok, balance


def demo():
    import os
    name = "pylesson%d-race" % os.getpid()
    ok1, racy = once(name, "nolock", 200000)
    say("without the lock the balance is %d (it should be 0)" % racy)
    ok2, safe = once(name, "lock", 50000)
    say("with the lock the balance is %d" % safe)
    if racy == 0:
        say("(no update was lost this time: the race is real but not certain)")
    return 0 if ok1 and ok2 and safe == 0 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
