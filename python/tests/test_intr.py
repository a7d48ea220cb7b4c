"""test_intr.py: Ctrl-C works: a child python3 blocked in a wait gets SIGINT and raises
KeyboardInterrupt within a few seconds, leaving the object in Python's state (a Condition's
lock held, a Barrier broken); other signals' handlers run and the wait goes on."""
import os
import signal
import subprocess

import pytest

import shmpipe
from conftest import expect_line, start_py

BOUND = 3.0       # seconds from the signal to the exception; the library's bound is 50 ms


def blocked(pid, timeout=10.0):
    """Waits until process pid sleeps in a futex (inside one of the library's waits), as
    tests/util's wait_blocked does; where the kernel hides wait channels, until it sleeps.
    A condition polled with a bound, not a sleep standing in for synchronisation."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open("/proc/%d/wchan" % pid) as f:
                wchan = f.read()
            if "futex" in wchan:
                return True
            if wchan in ("", "0"):
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "S":
                        return True
        except OSError:
            return False
        time.sleep(0.001)
    return False


# Each child opens NAME as KIND, prints "waiting" and blocks for ever; on KeyboardInterrupt
# it prints "interrupted SECONDS" and what the wait left: "held" (it still holds the
# Condition's lock), "broken" (the Barrier is).
CHILD = """
import sys, time, shmpipe
kind, name = sys.argv[1], sys.argv[2]
if kind == "lock":
    o = shmpipe.Lock(name=name, create=False); wait = o.acquire
elif kind == "rlock":
    o = shmpipe.RLock(name=name, create=False); wait = o.acquire
elif kind == "sem":
    o = shmpipe.Semaphore(name=name, create=False); wait = o.acquire
elif kind == "queue":
    o = shmpipe.Queue(name=name, create=False); wait = o.get
elif kind == "event":
    o = shmpipe.Event(name=name, create=False); wait = o.wait
elif kind == "cond":
    o = shmpipe.Condition(name=name, create=False); o.acquire(); wait = o.wait
elif kind == "barrier":
    o = shmpipe.Barrier(0, name=name, create=False); wait = o.wait
elif kind == "pipe":
    a, b = shmpipe.Pipe(name=name); wait = b.recv
t0 = None
try:
    print("waiting", flush=True)
    t0 = time.monotonic()
    wait()
    print("returned", flush=True)
except KeyboardInterrupt:
    print("interrupted %.3f" % (time.monotonic() - t0), flush=True)
    if kind == "cond":
        o.release()              # RuntimeError unless the lock is held again
        print("held", flush=True)
    if kind == "barrier":
        print("broken" if o.broken else "not broken", flush=True)
"""


def _make(kind, name):
    if kind == "lock":
        o = shmpipe.Lock(name=name)
        o.acquire()
    elif kind == "rlock":
        o = shmpipe.RLock(name=name)
        o.acquire()
    elif kind == "sem":
        o = shmpipe.Semaphore(0, name=name)
    elif kind == "queue":
        o = shmpipe.Queue(name=name)
    elif kind == "event":
        o = shmpipe.Event(name=name)
    elif kind == "cond":
        o = shmpipe.Condition(name=name)
    elif kind == "barrier":
        o = shmpipe.Barrier(2, name=name)
    elif kind == "pipe":
        o = shmpipe.Pipe(name=name)
    return o


def _interrupt(p, timeout=30):
    expect_line(p, "waiting")
    assert blocked(p.pid), "the child never blocked"
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("SIGINT did not end the wait")
    assert p.returncode == 0, err
    lines = out.split("\n")
    assert lines[0].startswith("interrupted "), (out, err)
    assert float(lines[0].split()[1]) < BOUND, out
    return lines[1:]


@pytest.mark.parametrize("kind", ["lock", "rlock", "sem", "queue", "event", "cond",
                                  "barrier", "pipe"])
def test_sigint_raises_keyboardinterrupt(name, kind):
    o = _make(kind, name)
    rest = _interrupt(start_py(CHILD, kind, name))
    if kind == "cond":
        assert rest[0] == "held"
    if kind == "barrier":
        assert rest[0] == "broken"
        assert o.broken
    if kind == "lock":
        o.release()                  # still ours: the child took nothing
    if kind == "queue":
        o.put(1)
        assert o.get(timeout=5) == 1
    if kind == "pipe":
        o[0].close()
        o[1].close()


def test_sigint_with_a_wakeup_fd_of_the_programs(name):
    """The program set a wakeup fd of its own before shmpipe came (as asyncio does): shmpipe
    leaves it alone and a SIGINT still interrupts the wait."""
    lk = _make("lock", name)
    p = start_py("""
        import os, signal, sys, time
        r, w = os.pipe2(os.O_NONBLOCK)
        signal.set_wakeup_fd(w)
        import shmpipe
        lk = shmpipe.Lock(name=sys.argv[1], create=False)
        try:
            print("waiting", flush=True)
            t0 = time.monotonic()
            lk.acquire()
        except KeyboardInterrupt:
            print("interrupted %.3f" % (time.monotonic() - t0), flush=True)
        assert signal.set_wakeup_fd(-1) == w
        assert os.read(r, 100)        # ours to drain: shmpipe did not
        """, name)
    _interrupt(p)
    lk.release()


def test_other_signal_runs_its_handler_and_the_wait_goes_on(name):
    """A handler that returns: the wait is retried (with the time left) and succeeds."""
    lk = _make("lock", name)
    p = start_py("""
        import signal, sys, shmpipe
        signal.signal(signal.SIGUSR1, lambda *a: print("handler", flush=True))
        lk = shmpipe.Lock(name=sys.argv[1], create=False)
        print("waiting", flush=True)
        assert lk.acquire(timeout=60)
        print("acquired", flush=True)
        lk.release()
        """, name)
    expect_line(p, "waiting")
    assert blocked(p.pid)
    p.send_signal(signal.SIGUSR1)
    # The handler runs only in the interpreter: the wait returned to it, and went on.
    expect_line(p, "handler")
    lk.release()
    expect_line(p, "acquired")
    assert p.wait(timeout=30) == 0, p.stderr.read()


def test_forked_child_has_a_wakeup_pipe_of_its_own():
    """The parent's pipe, inherited, would let each process drain the other's signals: a
    forked child sets up its own, and a SIGINT interrupts its waits."""
    p = start_py("""
        import os, signal, sys, time, shmpipe
        from shmpipe import _lib
        mine = _lib._intr["pipe"]
        assert mine and signal.set_wakeup_fd(mine[1]) == mine[1]
        ev = shmpipe.Event()
        pid = os.fork()
        if pid == 0:
            theirs = _lib._intr["pipe"]
            ok = theirs and theirs != mine and signal.set_wakeup_fd(theirs[1]) == theirs[1]
            try:
                print("waiting %d" % os.getpid() if ok else "shared %r %r" % (mine, theirs),
                      flush=True)
                ev.wait()
            except KeyboardInterrupt:
                os._exit(3)
            os._exit(1)
        _, st = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(st), flush=True)
        """)
    line = p.stdout.readline().split()
    assert line[0] == "waiting", line
    child = int(line[1])
    assert blocked(child)
    os.kill(child, signal.SIGINT)
    expect_line(p, "3")
    assert p.wait(timeout=30) == 0, p.stderr.read()
