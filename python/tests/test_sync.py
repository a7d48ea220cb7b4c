"""test_sync.py: Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier in
one process (threads each get their own handle), with multiprocessing's results."""
import subprocess
import threading
import time

import pytest

import shmpipe
from conftest import expect_line, start_py


def test_lock(name):
    lk = shmpipe.Lock(name=name)
    assert lk.acquire() is True
    assert lk.acquire(False) is False           # held by this thread: not recursive
    assert lk.acquire(timeout=0.05) is False
    assert lk.locked()
    lk.release()
    with pytest.raises(ValueError):
        lk.release()
    with lk:
        assert lk.locked()
    assert not lk.locked()


def test_lock_threads_exclude(name):
    lk = shmpipe.Lock(name=name)
    got = []
    lk.acquire()
    t = threading.Thread(target=lambda: got.append(lk.acquire(timeout=0.1)))
    t.start()
    t.join()
    assert got == [False]                        # another thread is another owner
    held, done = threading.Event(), threading.Event()

    def holder():
        got.append(lk.acquire(timeout=30))
        held.set()
        done.wait(30)                            # holds it until the main thread has tried
        lk.release()
    t = threading.Thread(target=holder)
    t.start()
    lk.release()
    assert held.wait(30)
    with pytest.raises(RuntimeError):
        lk.release()                             # the other thread holds it
    assert lk.acquire(False) is False
    done.set()
    t.join()
    assert got == [False, True]


def test_lock_counter_threads(name):
    lk = shmpipe.Lock(name=name)
    v = shmpipe.RawValue("i", 0, name=name + ".v")

    def work():
        for _ in range(2000):
            with lk:
                v.value = v.value + 1
    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert v.value == 8000


def test_rlock(name):
    r = shmpipe.RLock(name=name)
    assert r.acquire() and r.acquire() and r.acquire()
    r.release()
    r.release()
    r.release()
    with pytest.raises(RuntimeError):
        r.release()
    got = []
    assert r.owner() is None and "unlocked" in repr(r)
    with r:
        t = threading.Thread(target=lambda: got.append((r.acquire(False), r.owner())))
        t.start()
        t.join()
        assert r.owner() == "this thread" and "held 1 time by this thread" in repr(r)
    assert got == [(False, "another thread")]


def test_rlock_owner_other_process(name):
    """multiprocessing's RLock says who holds it: another process, by its pid."""
    r = shmpipe.RLock(name=name)
    p = start_py("""
        import sys, shmpipe
        r = shmpipe.RLock(name=sys.argv[1], create=False)
        r.acquire(); r.acquire()
        print("held", flush=True)
        sys.stdin.readline()
        """, name, stdin=subprocess.PIPE)
    expect_line(p, "held")
    assert r.owner() == "process %d" % p.pid
    assert "held by process %d" % p.pid in repr(r) and r.acquire(False) is False
    p.stdin.close()
    assert p.wait(30) == 0
    assert r.owner() is None


def test_semaphore(name):
    s = shmpipe.Semaphore(2, name=name)
    assert s.get_value() == 2
    assert s.acquire() and s.acquire()
    assert s.acquire(False) is False
    t0 = time.monotonic()
    assert s.acquire(timeout=0.1) is False
    assert time.monotonic() - t0 >= 0.09
    s.release()
    s.release(3)
    assert s.get_value() == 4
    with pytest.raises(ValueError):
        shmpipe.Semaphore(-1)


def test_bounded_semaphore(name):
    s = shmpipe.BoundedSemaphore(2, name=name)
    s.acquire()
    s.release()
    with pytest.raises(ValueError):
        s.release()
    assert s.get_value() == 2


def test_event(name):
    e = shmpipe.Event(name=name)
    assert not e.is_set()
    assert e.wait(0) is False
    assert e.wait(0.05) is False
    t = threading.Thread(target=e.set)
    t.start()
    assert e.wait(30) is True
    t.join()
    e.clear()
    assert not e.is_set()
    assert "unset" in repr(e)


def test_condition(name):
    c = shmpipe.Condition(name=name)
    state = []

    def waiter():
        with c:
            state.append(c.wait_for(lambda: len(state) >= 1, timeout=30))

    t = threading.Thread(target=waiter)
    with c:
        t.start()
        assert c.wait(0.05) is False             # nobody notifies yet
        state.append("go")
        c.notify()
    t.join()
    assert state == ["go", True]
    with pytest.raises(RuntimeError):
        c.notify()                               # not holding the lock
    with pytest.raises(RuntimeError):
        c.wait(0)
    with pytest.raises(ValueError):
        shmpipe.Condition(shmpipe.Lock())


def test_barrier(name):
    b = shmpipe.Barrier(3, name=name, timeout=30)
    out = []
    ts = [threading.Thread(target=lambda: out.append(b.wait())) for _ in range(2)]
    for t in ts:
        t.start()
    out.append(b.wait())
    for t in ts:
        t.join()
    assert sorted(out) == [0, 1, 2]
    assert b.parties == 3 and b.n_waiting == 0 and not b.broken
    with pytest.raises(threading.BrokenBarrierError):
        b.wait(0.05)                             # alone: times out, which breaks it
    assert b.broken
    with pytest.raises(threading.BrokenBarrierError):
        b.wait()
    b.reset()
    assert not b.broken
    b.abort()
    assert b.broken


def test_barrier_attach_parties(name):
    shmpipe.Barrier(4, name=name)
    assert shmpipe.Barrier(0, name=name, create=False).parties == 4


def test_barrier_action(name):
    """The action runs once per round, in the last arrival, before anyone is released: every
    party's wait() returns after it; an action that raises breaks the barrier, its exception
    comes out of that party's wait() and the others get BrokenBarrierError."""
    ran = []

    def action():
        ran.append(b.n_waiting)                  # the other two are still waiting
    b = shmpipe.Barrier(3, action, timeout=30, name=name)
    seen = []
    ts = [threading.Thread(target=lambda: (b.wait(), seen.append(len(ran))))
          for _ in range(2)]
    for t in ts:
        t.start()
    b.wait()
    seen.append(len(ran))
    for t in ts:
        t.join()
    assert ran == [2] and seen == [1, 1, 1]

    def fails():
        raise KeyError("action")
    f = shmpipe.Barrier(2, fails, timeout=30, name=name + ".f")
    got = []

    def other():
        try:
            f.wait()
        except threading.BrokenBarrierError:
            got.append("broken")
    t = threading.Thread(target=other)
    t.start()
    while f.n_waiting != 1:                      # the thread has arrived: we are last
        time.sleep(0.001)
    with pytest.raises(KeyError):
        f.wait()
    t.join()
    assert got == ["broken"] and f.broken
