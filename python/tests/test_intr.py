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
    _check_left(o, kind, _interrupt(start_py(CHILD, kind, name)))


def _check_left(o, kind, rest):
    """Checks what an interrupted child left of o (made by _make(kind)), given the lines it
    printed after "interrupted"; returns the lines left after those."""
    if kind == "cond":
        assert rest.pop(0) == "held"
    if kind == "barrier":
        assert rest.pop(0) == "broken"
        assert o.broken
    if kind == "lock":
        o.release()                  # still ours: the child took nothing
    if kind == "queue":
        o.put(1)
        assert o.get(timeout=5) == 1
    if kind == "pipe":
        o[0].close()
        o[1].close()
    return rest


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


# Preludes to CHILD.  THEIRS: the program set a wakeup fd of its own before shmpipe came (as
# asyncio does); THEIRS_END checks that shmpipe left its bytes to it.  AWAKE: the main thread
# blocks SIGINT, so that the kernel gives it to another thread: Python's C handler runs there
# (it writes the wakeup fd's byte, the handler is left to the main thread) and no sleep of
# the main thread is interrupted, as for a signal that lands while the main thread is awake
# between two of the library's sleeps.  A wakeup fd of ours: the library sees it readable
# before its next sleep.  The program's: the package's slices return to the interpreter.
THEIRS = """
import os as _os, signal as _signal
_r, _w = _os.pipe2(_os.O_NONBLOCK)
_signal.set_wakeup_fd(_w)
"""
THEIRS_END = """
assert _signal.set_wakeup_fd(-1) == _w
assert _os.read(_r, 100)
print("undrained", flush=True)
"""
AWAKE = """
import signal as _signal, threading as _threading
_threading.Thread(target=_threading.Event().wait, daemon=True).start()
_signal.pthread_sigmask(_signal.SIG_BLOCK, [_signal.SIGINT])
"""


@pytest.mark.parametrize("whose", ["ours", "theirs"])
@pytest.mark.parametrize("kind", ["lock", "rlock", "sem", "queue", "event", "cond",
                                  "barrier", "pipe"])
def test_sigint_that_interrupts_no_sleep(name, kind, whose):
    """A signal whose C handler ran while the main thread was not asleep in the library is
    not lost: the wait ends with KeyboardInterrupt, leaving what the others leave.  With the
    program's wakeup fd, a Barrier (never cut into slices) would wait for its end: not run."""
    if kind == "barrier" and whose == "theirs":
        pytest.skip("a Barrier's wait is never cut into slices (docs/python.md, Ctrl-C)")
    o = _make(kind, name)
    code = (THEIRS if whose == "theirs" else "") + AWAKE + CHILD
    rest = _interrupt(start_py(code + (THEIRS_END if whose == "theirs" else ""), kind, name))
    rest = _check_left(o, kind, rest)
    if whose == "theirs":
        assert rest[0] == "undrained", rest


def test_slices_honour_the_timeout(name):
    """With the program's wakeup fd, waits go in slices: each timed wait still lasts its
    whole timeout and reports a timeout as it would (a poll False, a Condition's lock held)."""
    p = start_py(THEIRS + """
import queue, sys, time, shmpipe
from shmpipe import _lib
name = sys.argv[1]
assert _lib.slicing(-1)
lk = shmpipe.Lock(name=name + "l")
lk.acquire()
ev = shmpipe.Event(name=name + "e")
q = shmpipe.Queue(name=name + "q")
cond = shmpipe.Condition(name=name + "c")
a, b = shmpipe.Pipe(name=name + "p")
def took(what, fn, t=0.2):
    t0 = time.monotonic()
    r = fn(t)
    d = time.monotonic() - t0
    assert d >= t, (what, d)
    print(what, r, flush=True)
def get(t):
    try:
        q.get(timeout=t)
    except queue.Empty:
        return "Empty"
took("event", ev.wait)
took("poll", b.poll)
took("queue", get)
with cond:
    took("cond", cond.wait)
    cond.notify()                     # RuntimeError unless the lock is held
took("lock", lambda t: shmpipe.Lock(name=name + "l", create=False).acquire(timeout=t))
a.send(1)
took("poll", b.poll, 0)
for o in (a, b, q):
    o.close()
""", name)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert out.split("\n")[:-1] == ["event False", "poll False", "queue Empty",
                                      "cond False", "lock False", "poll True"], (out, err)


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
