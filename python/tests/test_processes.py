"""test_processes.py: objects shared with processes: by name between unrelated `python -c`
programs (and across the machine's two interpreters, and with a C program), pickled across
spawn, forkserver and fork, a holder's death, and Ctrl-C."""
import multiprocessing as mp
import os
import subprocess
import warnings

import pytest

import shmpipe
from conftest import TOOLS, expect_line, other_pythons, run_py, start_py


@pytest.mark.parametrize("putter", other_pythons())
def test_queue_by_name_unrelated(name, putter):
    """One program fills a Queue by name, another (maybe the other interpreter) drains it."""
    run_py("""
        import sys, shmpipe
        q = shmpipe.Queue(name=sys.argv[1])
        for i in range(100):
            q.put(("item", i))
        """, name, python=putter)
    p = run_py("""
        import sys, shmpipe
        q = shmpipe.Queue(name=sys.argv[1], create=False)
        print(sum(q.get(timeout=10)[1] for _ in range(100)), q.empty())
        """, name)
    assert p.stdout.split() == [str(sum(range(100))), "True"]


def test_queue_filled_by_c(name):
    """A C program (tests/tool_data) fills the queue; Python reads the raw messages."""
    q = shmpipe.Queue(name=name)
    subprocess.run([os.path.join(TOOLS, "tool_data"), "qput", name, "5"], check=True,
                   timeout=30, capture_output=True)
    assert [q.get_bytes(timeout=10) for _ in range(5)] == [b"m%d" % i for i in range(5)]


def test_queue_drained_by_c(name):
    """The other direction: Python puts raw messages, a C program (tests/tool_data) takes
    them by name."""
    q = shmpipe.Queue(name=name)
    for i in range(5):
        q.put_bytes(b"py%d" % i)
    p = subprocess.run([os.path.join(TOOLS, "tool_data"), "qget", name, "5"], check=True,
                       timeout=30, capture_output=True, text=True)
    assert p.stdout.split("\n")[:6] == ["got py%d" % i for i in range(5)] + ["done"]
    assert q.empty()


def test_lock_by_name_excludes_unrelated(name):
    lk = shmpipe.Lock(name=name)
    lk.acquire()
    p = start_py("""
        import sys, shmpipe
        lk = shmpipe.Lock(name=sys.argv[1], create=False)
        print(lk.acquire(False), flush=True)
        print(lk.acquire(timeout=30), flush=True)
        """, name)
    expect_line(p, "False")
    lk.release()
    expect_line(p, "True")
    assert p.wait(30) == 0


def _child(lock, q, v, conn, ev, barrier):
    with lock:
        v.value += 1
    q.put(("child", os.getpid()))
    conn.send(v.value)
    ev.set()
    barrier.wait(30)


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_pickled_to_process(method):
    ctx = mp.get_context(method)
    lock, q, v = shmpipe.Lock(), shmpipe.Queue(), shmpipe.Value("i", 41)
    ours, theirs = shmpipe.Pipe()
    ev, barrier = shmpipe.Event(), shmpipe.Barrier(2)
    p = ctx.Process(target=_child, args=(lock, q, v, theirs, ev, barrier))
    p.start()
    assert barrier.wait(60) in (0, 1)
    assert q.get(timeout=30)[1] == p.pid
    assert ours.recv() == 42 and ev.is_set()
    p.join(30)
    assert p.exitcode == 0
    with pytest.raises(EOFError):              # the child's end closed when it exited
        ours.recv()


def test_fork_child_reopens(name):
    """A forked child never uses the parent's handle: the lock held by the parent's thread
    excludes the child."""
    lk = shmpipe.Lock(name=name)
    lk.acquire()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if lk.acquire(False) is False else 1)
    _, st = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(st) == 0
    lk.release()


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_owner_death(name, how):
    lk = shmpipe.Lock(name=name)
    p = start_py("""
        import os, sys, time, shmpipe
        lk = shmpipe.Lock(name=sys.argv[1], create=False)
        lk.acquire()
        print("held", flush=True)
        if sys.argv[2] == "exit":
            os._exit(0)                 # dies holding it: no close, no release
        sys.stdin.read()                # until killed
        """, name, how, stdin=subprocess.PIPE)
    expect_line(p, "held")
    if how == "kill":
        p.kill()
    p.wait(30)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert lk.acquire(timeout=30) is True
    assert lk.owner_died
    assert [x.category for x in w] == [shmpipe.OwnerDiedWarning]
    lk.release()
    assert lk.acquire(timeout=1) and not lk.owner_died
    lk.release()


def test_owner_death_in_with(name):
    """`with lock:` on a dead holder's lock enters (no exception from __enter__)."""
    lk = shmpipe.RLock(name=name)
    run_py("""
        import os, sys, shmpipe
        shmpipe.RLock(name=sys.argv[1], create=False).acquire()
        os._exit(0)
        """, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lk:
            assert lk.owner_died


def test_two_interpreters_share_value(name):
    pys = other_pythons()
    v = shmpipe.Value("q", 0, name=name)
    procs = [start_py("""
        import sys, shmpipe
        v = shmpipe.Value("q", name=sys.argv[1], create=False)
        for _ in range(2000):
            with v.get_lock():
                v.value += 1
        """, name, python=pys[i % len(pys)]) for i in range(2)]
    for p in procs:
        assert p.wait(60) == 0
    assert v.value == 4000


def test_unnamed_removed_at_exit():
    p = run_py("""
        import shmpipe
        objs = [shmpipe.Lock(), shmpipe.Queue(), shmpipe.Value("i"), shmpipe.Pipe()[0],
                shmpipe.SharedMemory(create=True, size=10), shmpipe.Dict()]
        print(" ".join(o.name for o in objs))
        """)
    names = p.stdout.split()
    left = {o["name"] for o in shmpipe.objects()}
    assert not [n for n in names if n in left or n + ".q" in left]


def test_named_kept(name):
    run_py("""
        import sys, shmpipe
        shmpipe.Event(name=sys.argv[1]).set()
        """, name)
    assert shmpipe.Event(name=name, create=False).is_set()
