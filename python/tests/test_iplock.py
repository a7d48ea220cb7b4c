"""test_iplock.py: InterProcessLock and InterProcessReaderWriterLock, and their exclusion of
fasteners' locks (fasteners' own tests run in tests/test_python_judges.sh)."""
import os
import threading

import pytest

import shmpipe


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "sub" / "lockfile")


def test_interprocess_lock(path):
    a, b = shmpipe.InterProcessLock(path), shmpipe.InterProcessLock(path)
    assert a.acquire() and a.acquired and os.path.exists(path)
    assert b.acquire(blocking=False) is False
    assert b.acquire(timeout=0.05) is False
    with pytest.raises(threading.ThreadError):
        b.release()
    a.release()
    with b:
        assert b.acquired
    assert not b.acquired
    with pytest.raises(ValueError):
        a.acquire(delay=-1)
    with pytest.raises(ValueError):
        a.acquire(timeout=-1)


def test_reader_writer(path):
    r1, r2 = shmpipe.InterProcessReaderWriterLock(path), shmpipe.InterProcessReaderWriterLock(path)
    w = shmpipe.InterProcessReaderWriterLock(path)
    assert r1.acquire_read_lock() and r2.acquire_read_lock(blocking=False)
    assert w.acquire_write_lock(blocking=False) is False
    r1.release_read_lock()
    r2.release_read_lock()
    with w.write_lock():
        assert r1.acquire_read_lock(timeout=0.05) is False


def test_excludes_fasteners(path):
    fasteners = pytest.importorskip("fasteners")
    ours = shmpipe.InterProcessLock(path)
    theirs = fasteners.InterProcessLock(path)
    assert ours.acquire()
    # fasteners takes fcntl record locks, which belong to the process: test from a child.
    pid = os.fork()
    if pid == 0:
        os._exit(0 if not fasteners.InterProcessLock(path).acquire(blocking=False) else 1)
    assert os.WEXITSTATUS(os.waitpid(pid, 0)[1]) == 0
    ours.release()
    assert theirs.acquire(blocking=False)
    assert shmpipe.InterProcessLock(path).acquire(blocking=False) is False
    theirs.release()


def test_decorators(path):
    calls = []

    @shmpipe.interprocess_locked(path)
    def f(x):
        calls.append(shmpipe.InterProcessLock(path).acquire(blocking=False))
        return x

    @shmpipe.interprocess_write_locked(path)
    def g():
        calls.append(shmpipe.InterProcessReaderWriterLock(path).acquire_read_lock(False))

    @shmpipe.interprocess_read_locked(path)
    def h():
        calls.append(shmpipe.InterProcessReaderWriterLock(path).acquire_read_lock(False))
    assert f(3) == 3
    g()
    h()
    assert calls == [False, False, True]
