"""judge_fasteners.py: the behaviour fasteners 0.17.3's own tests check for its lock files
(test_process_lock.py, test_reader_writer_lock.py), written anew here and run three ways:
with fasteners' locks (the reference: every test must pass with them too), with shmpipe's,
and mixed, each lock object fasteners' or shmpipe's at random, so that both must exclude
each other.

  python3 -m pytest tests/python/judge_fasteners.py      (the package from python/src)

fasteners' test files themselves are not in this repository (see docs/python.md); these tests
follow the same scenarios: exclusion between processes for exclusive, read and write locks,
release by a crashing holder, non-blocking acquires, the decorators, and the lock file's
life (created with its directories, never truncated, never removed).
"""
import multiprocessing
import os
import random
import threading
import time

import pytest

import shmpipe

fasteners = pytest.importorskip("fasteners")

IMPLS = ["fasteners", "shmpipe", "mixed"]
CROSS = ["fasteners/shmpipe", "shmpipe/fasteners"]     # the holder's kind / the others'


def split(impl):
    """"A/B": the holder is A's, the others B's; otherwise both impl."""
    return impl.split("/") if "/" in impl else (impl, impl)
CTX = multiprocessing.get_context("fork")
PROCS, ROUNDS = 12, 10


def exclusive(impl, path):
    if impl == "mixed":
        impl = random.choice(["fasteners", "shmpipe"])
    return (fasteners.InterProcessLock if impl == "fasteners" else
            shmpipe.InterProcessLock)(path)


def rw(impl, path):
    if impl == "mixed":
        impl = random.choice(["fasteners", "shmpipe"])
    return (fasteners.InterProcessReaderWriterLock if impl == "fasteners" else
            shmpipe.InterProcessReaderWriterLock)(path)


def decorators(impl):
    if impl == "mixed":
        impl = random.choice(["fasteners", "shmpipe"])
    return fasteners if impl == "fasteners" else shmpipe


@pytest.fixture(params=IMPLS)
def impl(request):
    return request.param


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "lock")


@pytest.fixture
def counters():
    """active, most ever active at once, visits: shared between the processes below, and
    changed only under the lock being judged (the raw ctypes integers, no lock of their own)."""
    vs = [shmpipe.RawValue("q", 0) for _ in range(3)]
    return vs


def join_all(procs, timeout=60):
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
        p.join()
    assert not alive, "%d processes did not finish" % len(alive)
    return [p.exitcode for p in procs]


def _visit(active, most, visits, exclusive_visit):
    active.value += 1
    if active.value > most.value:
        most.value = active.value
    time.sleep(random.random() / 1000)          # the work under the lock (not synchronisation)
    active.value -= 1
    visits.value += 1


def _writer_rounds(impl, path, counters, seed):
    random.seed(seed)
    active, most, visits = counters
    for _ in range(ROUNDS):
        with exclusive(impl, path):
            _visit(active, most, visits, True)


def test_no_two_holders(impl, path, counters):
    """PROCS processes x ROUNDS: never two inside the exclusive lock at once."""
    procs = [CTX.Process(target=_writer_rounds, args=(impl, path, counters, i))
             for i in range(PROCS)]
    for p in procs:
        p.start()
    assert join_all(procs) == [0] * PROCS
    active, most, visits = counters
    assert (active.value, most.value, visits.value) == (0, 1, PROCS * ROUNDS)


def _rw_rounds(impl, path, counters, writers, seed):
    random.seed(seed)
    active, most, visits = counters
    for _ in range(ROUNDS):
        lk = rw(impl, path)
        reader = random.random() < 0.5
        with (lk.read_lock() if reader else lk.write_lock()):
            if reader:
                # Readers count themselves apart: a writer must find no reader inside.
                # Readers share the lock, so the count has a lock of its own.
                with writers[1].get_lock():
                    writers[1].value += 1
                time.sleep(random.random() / 1000)
                with writers[1].get_lock():
                    writers[1].value -= 1
            else:
                if writers[1].value:
                    writers[0].value += 1       # a reader was inside with this writer
                _visit(active, most, visits, True)


def test_readers_and_writers(impl, path, counters):
    """Writers exclude writers and readers; readers may share."""
    clash = [shmpipe.RawValue("q", 0), shmpipe.Value("q", 0)]
    procs = [CTX.Process(target=_rw_rounds, args=(impl, path, counters, clash, i))
             for i in range(PROCS)]
    for p in procs:
        p.start()
    assert join_all(procs) == [0] * PROCS
    active, most, _ = counters
    assert (active.value, clash[0].value, clash[1].value) == (0, 0, 0)
    assert most.value <= 1


def _write_then_read(impl, path, out):
    got = []
    for mode in ("read", "write"):
        lk = rw(impl, path)
        ok = (lk.acquire_read_lock if mode == "read" else lk.acquire_write_lock)(blocking=False)
        got.append(ok)
        if ok:
            (lk.release_read_lock if mode == "read" else lk.release_write_lock)()
    out.put(tuple(got))


@pytest.mark.parametrize("impls", IMPLS + CROSS)
def test_rw_cross(impls, path):
    """A reader held here admits readers and refuses writers of the other kind, and a writer
    refuses both."""
    holder, impl = split(impls)
    q = shmpipe.Queue()
    for mode in ("read", "write"):
        lk = rw(holder, path)
        (lk.acquire_read_lock if mode == "read" else lk.acquire_write_lock)()
        p = CTX.Process(target=_write_then_read, args=(impl, path, q))
        p.start()
        assert join_all([p]) == [0]
        got_read, got_write = q.get(timeout=10)
        assert (got_read, got_write) == ((True, False) if mode == "read" else (False, False))
        (lk.release_read_lock if mode == "read" else lk.release_write_lock)()


def _readers_meet(impl, path, barrier):
    lk = rw(impl, path)
    with lk.read_lock():
        barrier.wait(30)            # every reader inside at once, or this times out


def test_readers_share(impl, path):
    n = 4
    barrier = shmpipe.Barrier(n)
    procs = [CTX.Process(target=_readers_meet, args=(impl, path, barrier)) for _ in range(n)]
    for p in procs:
        p.start()
    assert join_all(procs) == [0] * n


def _try_exclusive(impl, path, out):
    out.put(exclusive(impl, path).acquire(blocking=False))


@pytest.mark.parametrize("impls", IMPLS + CROSS)
def test_held_lock_refuses_children(impls, path):
    """While we hold it, no child gets it; once released, they do."""
    holder, impl = split(impls)
    held = exclusive(holder, path)
    assert held.acquire()
    q = shmpipe.Queue()
    try:
        procs = [CTX.Process(target=_try_exclusive, args=(impl, path, q)) for _ in range(6)]
        for p in procs:
            p.start()
        assert join_all(procs) == [0] * 6
        assert [q.get(timeout=10) for _ in procs] == [False] * 6
    finally:
        held.release()
    p = CTX.Process(target=_try_exclusive, args=(impl, path, q))
    p.start()
    assert join_all([p]) == [0] and q.get(timeout=10) is True


def _crash_holding(impl, path, mode, kind):
    lk = rw(impl, path) if kind != "exclusive" else exclusive(impl, path)
    if kind == "read":
        lk.acquire_read_lock()
    elif kind == "write":
        lk.acquire_write_lock()
    else:
        lk.acquire()
    if mode == "kill":
        os.kill(os.getpid(), 9)
    raise RuntimeError("dies holding the lock")


@pytest.mark.parametrize("kind", ["exclusive", "read", "write"])
@pytest.mark.parametrize("mode", ["raise", "kill"])
def test_holder_death_releases(impl, path, kind, mode):
    p = CTX.Process(target=_crash_holding, args=(impl, path, mode, kind))
    p.start()
    assert join_all([p]) != [0]
    lk = rw(impl, path)
    assert lk.acquire_write_lock(timeout=5)
    lk.release_write_lock()


def _hold_until(impl, path, ready, done):
    lk = exclusive(impl, path)
    assert lk.acquire()
    ready.set()
    done.wait(30)
    lk.release()


@pytest.mark.parametrize("impls", IMPLS + CROSS)
def test_nonblocking_returns_false(impls, path):
    """A non-blocking or timed acquire on a lock another process holds returns False."""
    holder, impl = split(impls)
    ready, done = shmpipe.Event(), shmpipe.Event()
    p = CTX.Process(target=_hold_until, args=(holder, path, ready, done))
    p.start()
    try:
        assert ready.wait(30)
        lk = exclusive(impl, path)
        assert lk.acquire(blocking=False) is False
        assert lk.acquire(timeout=0.05) is False
    finally:
        done.set()
        join_all([p])


def test_acquire_release_and_errors(impl, path):
    lk = exclusive(impl, path)
    with pytest.raises(threading.ThreadError):
        lk.release()                    # never acquired
    assert lk.acquire(blocking=False)
    lk.release()
    with lk:
        assert os.path.exists(path)
    with pytest.raises(ValueError):
        lk.acquire(delay=-1)
    with pytest.raises(ValueError):
        lk.acquire(timeout=-1)
    r = rw(impl, path)
    with r.write_lock():
        pass
    with r.read_lock():
        pass


def test_lock_file_kept(impl, tmp_path):
    """Missing directories are made; the file's contents are never touched."""
    path = str(tmp_path / "a" / "b" / "lock")
    with exclusive(impl, path):
        assert os.path.exists(path)
    with open(path, "w") as f:
        f.write("test")
    with exclusive(impl, path):
        with open(path) as f:
            assert f.read() == "test"
    assert os.path.exists(path)


def test_decorators_nested(impl, tmp_path):
    sentinel = object()
    d = decorators(impl)

    @d.interprocess_locked(str(tmp_path / "one"))
    def outer():
        @d.interprocess_locked(str(tmp_path / "two"))
        def inner():
            assert os.path.exists(str(tmp_path / "two"))
            return sentinel
        return inner()
    assert outer() is sentinel

    @d.interprocess_write_locked(str(tmp_path / "rw"))
    def w():
        return 1

    @d.interprocess_read_locked(str(tmp_path / "rw"))
    def r():
        return 2
    assert (w(), r()) == (1, 2)
