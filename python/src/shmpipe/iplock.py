"""iplock.py: fasteners' InterProcessLock and InterProcessReaderWriterLock, and their
decorators, over iplock.h: a lock file that excludes fasteners, flock(1) and us alike."""
import contextlib
import errno
import functools
import os
import threading

from . import _lib

L = _lib.lib
EAGAIN, ETIMEDOUT, EDEADLK = -errno.EAGAIN, -errno.ETIMEDOUT, -errno.EDEADLK
SHARED = 0x1

__all__ = ["InterProcessLock", "InterProcessReaderWriterLock", "interprocess_locked",
           "interprocess_read_locked", "interprocess_write_locked"]


def _canonical(path):
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return os.fspath(path)


class _FileLock:
    MAX_DELAY = 0.1
    DELAY_INCREMENT = 0.01

    def __init__(self, path, sleep_func=None, logger=None):
        # sleep_func and logger are accepted for fasteners' signature; the library does its
        # own waiting (in the kernel, or retries growing from 1 to 20 ms when timed).
        self.path = _canonical(path)
        self._h = None

    def _acquire(self, blocking, delay, max_delay, timeout, flags):
        if delay < 0:
            raise ValueError("Delay must be greater than or equal to zero")
        if timeout is not None and timeout < 0:
            raise ValueError("Timeout must be greater than or equal to zero")
        if self._h is None or self._h.gen != _lib._gen:
            d = os.path.dirname(self.path)
            if d:
                os.makedirs(d, exist_ok=True)
            _lib.note_process()
            self._h = _lib.open_handle(L.sp_iplock_open, L.sp_iplock_close, self.path,
                                       os.fsencode(self.path), 0)
        if not blocking:
            ns = _lib.SP_NOWAIT
        elif timeout is None:
            ns = _lib.SP_FOREVER
        else:
            ns = max(1, int(timeout * 1e9))
        rc = _lib.wait(L.sp_iplock_acquire, self._h, ns, flags)
        if rc in (EAGAIN, ETIMEDOUT):
            self._close()
            return False
        if rc == EDEADLK and self._h.call(L.sp_iplock_held) == (2 if flags & SHARED else 1):
            return True       # held already, in this mode (fasteners says True too)
        if rc < 0:
            raise threading.ThreadError("Unable to acquire lock on `%s` due to %s"
                                        % (self.path, _lib.error(rc, self.path)))
        return True

    def _release(self):
        h = self._h
        if h is None or h.gen != _lib._gen or h.call(L.sp_iplock_held) == 0:
            raise threading.ThreadError("Unable to release an unacquired lock")
        rc = h.call(L.sp_iplock_release)
        if rc < 0:
            raise threading.ThreadError("Could not unlock the acquired lock opened on `%s`: %s"
                                        % (self.path, _lib.error(rc, self.path)))
        self._close()

    def _close(self):
        h, self._h = self._h, None
        if h is not None:
            h.close()

    def exists(self):
        """Checks if the path that this lock exists at actually exists."""
        return os.path.exists(self.path)


class InterProcessLock(_FileLock):
    """fasteners.InterProcessLock: an exclusive lock on the file PATH (created, with its
    directories, if missing; never removed).  One object is one owner: two objects exclude
    each other even in one process, and a thread should use its own object."""

    def __init__(self, path, sleep_func=None, logger=None):
        super().__init__(path, sleep_func, logger)
        self.acquired = False

    def acquire(self, blocking=True, delay=_FileLock.DELAY_INCREMENT,
                max_delay=_FileLock.MAX_DELAY, timeout=None):
        """Returns True once acquired; False if not blocking, or timeout seconds passed."""
        if self._acquire(blocking, delay, max_delay, timeout, 0):
            self.acquired = True
            return True
        return False

    def release(self):
        if not self.acquired:
            raise threading.ThreadError("Unable to release an unaquired lock")
        self._release()
        self.acquired = False

    def __enter__(self):
        if not self.acquire():
            raise threading.ThreadError("Unable to acquire a file lock on `%s` (when used as "
                                        "a context manager)" % self.path)
        return self

    def __exit__(self, *exc):
        self.release()

    def trylock(self):
        if not self._acquire(False, 0, 0, None, 0):
            raise BlockingIOError(errno.EAGAIN, "locked by another owner", self.path)
        self.acquired = True

    def unlock(self):
        self.release()


class InterProcessReaderWriterLock(_FileLock):
    """fasteners.InterProcessReaderWriterLock: shared (read) or exclusive (write) locks on
    the file PATH; they exclude fasteners' and flock(1)'s of the same kind."""

    def acquire_read_lock(self, blocking=True, delay=_FileLock.DELAY_INCREMENT,
                          max_delay=_FileLock.MAX_DELAY, timeout=None):
        return self._acquire(blocking, delay, max_delay, timeout, SHARED)

    def acquire_write_lock(self, blocking=True, delay=_FileLock.DELAY_INCREMENT,
                           max_delay=_FileLock.MAX_DELAY, timeout=None):
        return self._acquire(blocking, delay, max_delay, timeout, 0)

    def release_read_lock(self):
        self._release()

    def release_write_lock(self):
        self._release()

    @contextlib.contextmanager
    def read_lock(self, delay=_FileLock.DELAY_INCREMENT, max_delay=_FileLock.MAX_DELAY):
        self.acquire_read_lock(True, delay, max_delay)
        try:
            yield
        finally:
            self.release_read_lock()

    @contextlib.contextmanager
    def write_lock(self, delay=_FileLock.DELAY_INCREMENT, max_delay=_FileLock.MAX_DELAY):
        self.acquire_write_lock(True, delay, max_delay)
        try:
            yield
        finally:
            self.release_write_lock()


def _decorator(make, enter):
    def decorator(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            with enter(make()):
                return f(*args, **kwargs)
        return wrapper
    return decorator


def interprocess_locked(path):
    """Holds InterProcessLock(path) around each call of the decorated function (a new lock
    object per call, so that threads exclude each other too)."""
    return _decorator(lambda: InterProcessLock(path), lambda lk: lk)


def interprocess_read_locked(path):
    """Holds a read lock on path around each call."""
    return _decorator(lambda: InterProcessReaderWriterLock(path), lambda lk: lk.read_lock())


def interprocess_write_locked(path):
    """Holds a write lock on path around each call."""
    return _decorator(lambda: InterProcessReaderWriterLock(path), lambda lk: lk.write_lock())
