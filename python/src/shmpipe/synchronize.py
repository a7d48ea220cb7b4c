"""synchronize.py: Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier by
name, with multiprocessing's signatures, over sync.h."""
import errno
import os
import threading
import time

from . import _lib
from ._base import EOWNERDEAD, Named, owner_died

L = _lib.lib
EAGAIN, ETIMEDOUT, EPERM = -errno.EAGAIN, -errno.ETIMEDOUT, -errno.EPERM
EDEADLK, EOVERFLOW, EPIPE = -errno.EDEADLK, -errno.EOVERFLOW, -errno.EPIPE
ECANCELED = -errno.ECANCELED

__all__ = ["Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event", "Condition", "Barrier"]


def _acquired(obj, rc, ns, timeout):
    """acquire()'s result from the library's: True, or False when the time ran out."""
    if rc == 0:
        obj.owner_died = False
        return True
    if rc == EOWNERDEAD:
        owner_died(obj, "%s %r" % (type(obj).__name__, obj._name))
        return True
    if rc in (EAGAIN, ETIMEDOUT):
        return False
    if rc == EDEADLK:
        # The calling thread holds it: as in Python, that never succeeds.
        if ns == _lib.SP_FOREVER:
            raise RuntimeError("%s %r: acquired again by the thread that holds it (it is not "
                               "recursive; this would never return)" % (type(obj).__name__,
                                                                       obj._name))
        if ns > 0:
            time.sleep(timeout)
        return False
    raise _lib.error(rc, obj._name)


class _LockBase(Named):
    """Shared by Lock and RLock: one C handle per thread, so the owner is the thread."""
    _unlink = L.sp_sync_unlink
    _open_fn = _close_fn = _acquire_fn = _release_fn = None

    def __init__(self, *, name=None, create=True, ctx=None):
        self._setup(name, create)

    def _open(self, flags):
        return _lib.open_handle(type(self)._open_fn, type(self)._close_fn, self._name,
                                self._bname, flags, 0)

    def acquire(self, block=True, timeout=None):
        ns = _lib.timeout_ns(block, timeout)
        rc = _lib.wait(type(self)._acquire_fn, self._h(), ns)
        return _acquired(self, rc, ns, timeout)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class Lock(_LockBase):
    """multiprocessing.Lock by name.  The owner is the thread that acquired it: releasing it
    from another thread or process raises RuntimeError (multiprocessing allows that).  If the
    holder dies, the next acquire succeeds with a warning (OwnerDiedWarning) and sets
    owner_died."""
    _prefix = "lock"
    _open_fn, _close_fn = L.sp_lock_open, L.sp_lock_close
    _acquire_fn = L.sp_lock_acquire

    def release(self):
        h = self._h()
        rc = h.call(L.sp_lock_release)
        if rc == EPERM:
            if h.call(L.sp_lock_locked):
                raise RuntimeError("Lock %r is held by another thread or process" % self._name)
            raise ValueError("semaphore or lock released too many times")
        _lib.check(rc, self._name)

    def locked(self):
        return bool(self._h().call(L.sp_lock_locked))

    def __repr__(self):
        return "<Lock %r(%s)>" % (self._name, "locked" if self.locked() else "unlocked")


class RLock(_LockBase):
    """multiprocessing.RLock by name: recursive for the thread that holds it."""
    _prefix = "rlock"
    _open_fn, _close_fn = L.sp_rlock_open, L.sp_rlock_close
    _acquire_fn = L.sp_rlock_acquire

    def release(self):
        rc = self._h().call(L.sp_rlock_release)
        if rc == EPERM:
            raise RuntimeError("cannot release un-acquired lock")
        _lib.check(rc, self._name)

    def _is_owned(self):
        return self._h().call(L.sp_rlock_count) > 0

    def _count(self):
        return self._h().call(L.sp_rlock_count)

    def owner(self):
        """Who holds it, as multiprocessing's RLock tells it in its repr: "this thread",
        "another thread" (of this process), "process PID", or None if nobody holds it.  A
        snapshot: it may have changed on return."""
        h = self._h()
        if h.call(L.sp_rlock_count):
            return "this thread"
        pid = _lib.check(h.call(L.sp_rlock_owner), self._name)
        if pid == 0:
            return None
        return "another thread" if pid == os.getpid() else "process %d" % pid

    def __repr__(self):
        n, who = self._count(), self.owner()
        if n:
            return "<RLock %r(held %d time%s by this thread)>" % (self._name, n,
                                                                 "" if n == 1 else "s")
        return "<RLock %r(%s)>" % (self._name, "held by " + who if who else "unlocked")


class Semaphore(Named):
    """multiprocessing.Semaphore by name.  undo=True (SysV's SEM_UNDO) gives the units a
    thread holds back when it exits or its process dies: for pools of resources, not for
    signalling."""
    _prefix = "sem"
    _unlink = L.sp_sync_unlink
    _bounded = False

    def __init__(self, value=1, *, name=None, create=True, undo=False, ctx=None):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        if value > 0x7FFFFFFF:
            raise ValueError("semaphore initial value must be <= 2**31 - 1")
        self._opts = _lib.SemOpts(value, (0x1 if self._bounded else 0) | (0x2 if undo else 0), 0)
        self._setup(name, create)

    def _open(self, flags):
        return _lib.open_handle(L.sp_sem_open, L.sp_sem_close, self._name, self._bname, flags,
                                self._opts if flags else None)

    def _restore(self, state):
        self._opts = None

    def acquire(self, block=True, timeout=None):
        ns = _lib.timeout_ns(block, timeout)
        rc = _lib.wait(L.sp_sem_acquire, self._h(), ns)
        if rc in (EAGAIN, ETIMEDOUT):
            return False
        _lib.check(rc, self._name)
        return True

    def release(self, n=1):
        if n < 1:
            raise ValueError("n must be one or more")
        rc = self._h().call(L.sp_sem_release, n)
        if rc == EOVERFLOW:
            raise ValueError("semaphore or lock released too many times")
        _lib.check(rc, self._name)

    def get_value(self):
        return _lib.check(self._h().call(L.sp_sem_value), self._name)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        return "<%s %r(value=%s)>" % (type(self).__name__, self._name, self.get_value())


class BoundedSemaphore(Semaphore):
    """multiprocessing.BoundedSemaphore: releasing past the initial value raises ValueError
    and changes nothing."""
    _prefix = "bsem"
    _bounded = True


class Event(Named):
    """multiprocessing.Event by name."""
    _prefix = "event"
    _unlink = L.sp_sync_unlink

    def __init__(self, *, name=None, create=True, ctx=None):
        self._setup(name, create)

    def _open(self, flags):
        return _lib.open_handle(L.sp_event_open, L.sp_event_close, self._name, self._bname,
                                flags, 0)

    def is_set(self):
        return bool(self._h().call(L.sp_event_is_set))

    def set(self):
        _lib.check(self._h().call(L.sp_event_set), self._name)

    def clear(self):
        _lib.check(self._h().call(L.sp_event_clear), self._name)

    def wait(self, timeout=None):
        rc = _lib.wait(L.sp_event_wait, self._h(), _lib.timeout_ns(True, timeout))
        if rc in (EAGAIN, ETIMEDOUT):
            return False
        _lib.check(rc, self._name)
        return True

    def __repr__(self):
        return "<Event at %#x %r %s>" % (id(self), self._name,
                                          "set" if self.is_set() else "unset")


class Condition(Named):
    """multiprocessing.Condition by name, with its own lock: a non-recursive Lock (lock= must
    be None; Python defaults to an RLock)."""
    _prefix = "cond"
    _unlink = L.sp_sync_unlink

    def __init__(self, lock=None, *, name=None, create=True, ctx=None):
        if lock is not None:
            raise ValueError("a shmpipe Condition has its own lock: lock must be None")
        self._setup(name, create)

    def _open(self, flags):
        return _lib.open_handle(L.sp_cond_open, L.sp_cond_close, self._name, self._bname,
                                flags, 0)

    def acquire(self, block=True, timeout=None):
        ns = _lib.timeout_ns(block, timeout)
        rc = _lib.wait(L.sp_cond_acquire, self._h(), ns)
        return _acquired(self, rc, ns, timeout)

    def release(self):
        rc = self._h().call(L.sp_cond_release)
        if rc == EPERM:
            raise RuntimeError("cannot release un-acquired lock")
        _lib.check(rc, self._name)

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()

    def wait(self, timeout=None):
        """Releases the lock, waits to be notified or for timeout seconds, and takes the lock
        back (on every return, also when a signal handler raises).  Returns True if
        notified."""
        rc = _lib.wait(L.sp_cond_wait, self._h(), _lib.timeout_ns(True, timeout))
        if rc in (EAGAIN, ETIMEDOUT):
            return False
        if rc == EPERM:
            raise RuntimeError("cannot wait on un-acquired lock")
        if rc == EOWNERDEAD:
            owner_died(self, "Condition %r" % self._name)
            return True
        _lib.check(rc, self._name)
        return True

    def wait_for(self, predicate, timeout=None):
        """Waits until predicate() is true (tested with the lock held, first before any
        wait), for at most timeout seconds.  Returns the predicate's last value."""
        result = predicate()
        endtime = None
        while not result:
            if timeout is not None:
                if endtime is None:
                    endtime = time.monotonic() + timeout
                waittime = endtime - time.monotonic()
                if waittime <= 0:
                    break
                self.wait(waittime)
            else:
                self.wait()
            result = predicate()
        return result

    def notify(self, n=1):
        rc = self._h().call(L.sp_cond_notify, n)
        if rc == EPERM:
            raise RuntimeError("cannot notify on un-acquired lock")
        _lib.check(rc, self._name)

    def notify_all(self):
        rc = self._h().call(L.sp_cond_notify_all)
        if rc == EPERM:
            raise RuntimeError("cannot notify on un-acquired lock")
        _lib.check(rc, self._name)


class Barrier(Named):
    """multiprocessing.Barrier by name (1 to 128 parties).  The action, if any, is pickled
    with the barrier and run by the last party to arrive, before any party is released; if
    it raises, the barrier breaks (the others get BrokenBarrierError) and its exception
    propagates from that party's wait()."""
    _prefix = "barrier"
    _unlink = L.sp_sync_unlink

    def __init__(self, parties, action=None, timeout=None, *, name=None, create=True,
                 ctx=None):
        if not 1 <= parties <= 128 and not (parties == 0 and name is not None and not create):
            raise ValueError("parties must be 1 to 128 (or 0 to attach by name)")
        self._parties, self._action, self._timeout = parties, action, timeout
        self._setup(name, create)
        self._parties = self.parties      # the creator's, when attaching

    def _open(self, flags):
        return _lib.open_handle(L.sp_barrier_open, L.sp_barrier_close, self._name,
                                self._bname, flags, self._parties if flags else 0, 0)

    def _state(self):
        return (self._parties, self._action, self._timeout)

    def _restore(self, state):
        self._parties, self._action, self._timeout = state

    def wait(self, timeout=None):
        """Returns this party's index (0 .. parties-1); raises threading.BrokenBarrierError if
        the barrier is or becomes broken, or this wait times out (which breaks it)."""
        if timeout is None:
            timeout = self._timeout
        ns = _lib.timeout_ns(True, timeout)
        if self._action is None:
            rc = _lib.wait(L.sp_barrier_wait, self._h(), ns, slices=False)
        else:
            raised = []

            def run(_arg):
                # Called by the library in the last arrival, the others still waiting.
                try:
                    self._action()
                    return 0
                except BaseException as e:
                    raised.append(e)
                    return 1
            cb = _lib.BarrierAction(run)
            rc = _lib.wait(lambda p, t: L.sp_barrier_wait_action(p, t, cb, None), self._h(), ns,
                           slices=False)
            if raised:
                raise raised[0]
        if rc in (EPIPE, EAGAIN, ETIMEDOUT, ECANCELED):
            raise threading.BrokenBarrierError
        return _lib.check(rc, self._name)

    def reset(self):
        _lib.check(self._h().call(L.sp_barrier_reset), self._name)

    def abort(self):
        _lib.check(self._h().call(L.sp_barrier_abort), self._name)

    @property
    def parties(self):
        return self._h().call(L.sp_barrier_parties)

    @property
    def n_waiting(self):
        return self._h().call(L.sp_barrier_n_waiting)

    @property
    def broken(self):
        return bool(self._h().call(L.sp_barrier_broken))

    def __repr__(self):
        return "<Barrier %r(%d/%d waiting%s)>" % (self._name, self.n_waiting, self.parties,
                                                   ", broken" if self.broken else "")
