"""queues.py: Queue, JoinableQueue and SimpleQueue by name, over queue.h: pickled objects,
and raw byte messages for programs in other languages."""
import ctypes
import errno
import pickle
import queue as _queue
from time import monotonic_ns as _monotonic_ns

from . import _lib
from ._base import Named

L = _lib.lib
_put, _get = L.sp_queue_put, L.sp_queue_get
# The hot path's tries (SP_NOWAIT, through PyDLL: the GIL kept, no argtypes); a try that
# finds the queue full or empty is followed by the waiting call above (through CDLL).
_try_put, _try_get = _lib.fast("sp_queue_put", ctypes.c_int), _lib.fast("sp_queue_get",
                                                                         ctypes.c_ssize_t)
NOWAIT = _lib.NOWAIT_ARG
_UnpicklingError = pickle.UnpicklingError
_dumps, _loads, _PROTOCOL = pickle.dumps, pickle.loads, pickle.HIGHEST_PROTOCOL
SP_FOREVER, EINTR = _lib.SP_FOREVER, _lib.EINTR
EAGAIN, ETIMEDOUT = -errno.EAGAIN, -errno.ETIMEDOUT
ESHUTDOWN, EMSGSIZE, EINVAL = -errno.ESHUTDOWN, -errno.EMSGSIZE, -errno.EINVAL

__all__ = ["Queue", "JoinableQueue", "SimpleQueue", "ShutDown"]

# A pickle starts with the PROTO opcode (0x80); a message too long for the ring travels in a
# SharedMemory object of its own, and the message names it behind this marker instead.
SPILL = b"\0shmpipe-spill\0"
DEFAULT_CAPACITY = 1 << 20


class ShutDown(Exception):
    """The queue was shut down (Python 3.13's queue.ShutDown): puts fail, gets fail once the
    queue is drained."""


class _QHandle(_lib.Handle):
    """A queue's handle with what its hot path needs at hand: the receive buffer (buf, of
    size bytes, and a view of it), and the fast calls' size and length arguments."""
    __slots__ = ("buf", "size", "view", "size_arg", "len_arg")


class Queue(Named):
    """multiprocessing.Queue by name.  Objects are pickled at put() (an unpicklable object
    raises there, in the caller) and written straight into the shared ring: there is no feeder
    thread, and a put() that returned is visible to every process.

    maxsize counts items as in Python (0: no limit but the ring's capacity, bytes, which bounds
    what fits at once; a put() waits for room either way); it is the creator's, and an
    attaching Queue's maxsize argument is ignored.  close() closes this process's
    handles; shutdown() shuts the queue down for every process (Python 3.13's semantics).
    put_bytes()/get_bytes() move raw messages for programs in other languages.
    """
    _prefix = "queue"
    _reserve = 2
    _unlink = L.sp_queue_unlink
    _flags = 0

    def __init__(self, maxsize=0, *, name=None, create=True, capacity=None, ctx=None):
        if maxsize < 0:
            maxsize = 0
        if maxsize > 0xFFFFFFFF:
            raise ValueError("maxsize must be less than 2**32")
        self._opts = _lib.QueueOpts(capacity or DEFAULT_CAPACITY, self._flags, 0, maxsize)
        self._closed = False
        self._setup(name, create)

    def _open(self, flags):
        h = _lib.open_handle(L.sp_queue_open, L.sp_queue_close, self._name, self._bname, flags,
                             self._opts if flags else None, cls=_QHandle)
        h.size = n = h.call(L.sp_queue_max_msg)
        h.buf = ctypes.create_string_buffer(n)
        h.view = memoryview(h.buf).cast("B")
        h.size_arg, h.len_arg = ctypes.c_size_t(n), ctypes.c_size_t()
        return h

    def _restore(self, state):
        self._opts = None
        self._closed = False

    @property
    def maxsize(self):
        """The creator's maxsize (0: unbounded)."""
        return self._hq().call(L.sp_queue_maxsize)

    def _hq(self):
        if self._closed:
            raise ValueError("Queue %r is closed" % self._name)
        return self._handles.get()

    # -- raw messages and objects
    #
    # put() and get() are the hot path (bench/mpqueue.py, bench/README.md): one handle lookup,
    # then a try that does not wait, through PyDLL (_lib.fast(): the GIL kept, prebuilt ctypes
    # arguments, no busy count needed); only a try that finds the queue full or empty (or a
    # signal) goes on to _put_wait/_get_wait, the waiting call through CDLL, which releases
    # the GIL and keeps the busy count that close-at-exit looks at.  A get unpickles straight
    # out of the receive buffer.

    def _put_wait(self, h, data, block, timeout, rc):
        """After a try that returned rc (not 0): waits for room as block and timeout say, or
        raises."""
        ns = SP_FOREVER if block and timeout is None else _lib.timeout_ns(block, timeout)
        if (rc == EINTR or (rc == EAGAIN and ns != 0)) and _lib.slicing(ns):
            # Somebody else's wakeup fd (_lib's Ctrl-C): the wait in slices.
            rc = _lib.sliced(_put, h, ns, data, len(data))
        elif rc == EINTR or (rc == EAGAIN and ns != 0):
            t0 = _monotonic_ns() if ns > 0 else 0
            h.busy += 1
            try:
                rc = _put(h.ptr, data, len(data), ns)
            finally:
                h.busy -= 1
            if rc == EINTR:
                rc = _lib.rewait(_put, h, ns, t0, data, len(data))
        if rc < 0:
            if rc in (EAGAIN, ETIMEDOUT):
                raise _queue.Full
            if rc == ESHUTDOWN:
                raise ShutDown
            raise _lib.error(rc, self._name)

    def _get_wait(self, h, block, timeout, rc):
        """After a try that returned rc (< 0): waits for a message as block and timeout say
        and returns its length, or raises."""
        ns = SP_FOREVER if block and timeout is None else _lib.timeout_ns(block, timeout)
        if (rc == EINTR or (rc == EAGAIN and ns != 0)) and _lib.slicing(ns):
            # Somebody else's wakeup fd (_lib's Ctrl-C): the wait in slices.
            rc = _lib.sliced(_get, h, ns, h.buf, h.size)
        elif rc == EINTR or (rc == EAGAIN and ns != 0):
            t0 = _monotonic_ns() if ns > 0 else 0
            h.busy += 1
            try:
                rc = _get(h.ptr, h.buf, h.size, ns)
            finally:
                h.busy -= 1
            if rc == EINTR:
                rc = _lib.rewait(_get, h, ns, t0, h.buf, h.size)
        if rc >= 0:
            return rc
        if rc in (EAGAIN, ETIMEDOUT):
            raise _queue.Empty
        if rc == ESHUTDOWN:
            raise ShutDown
        raise _lib.error(rc, self._name)

    def put_bytes(self, data, block=True, timeout=None):
        """Puts one raw message (bytes-like, up to max_message() bytes)."""
        self._send(self._hq(), bytes(data), block, timeout)

    def _send(self, h, data, block, timeout):
        h.len_arg.value = len(data)
        rc = _try_put(h.arg, data, h.len_arg, NOWAIT)
        if rc:
            self._put_wait(h, data, block, timeout, rc)

    def get_bytes(self, block=True, timeout=None):
        """Gets the next message as bytes, as it was put."""
        h = self._hq()
        rc = _try_get(h.arg, h.buf, h.size_arg, NOWAIT)
        if rc < 0:
            rc = self._get_wait(h, block, timeout, rc)
        return bytes(h.view[:rc])

    def max_message(self):
        """The longest raw message, in bytes (a quarter of the ring's capacity)."""
        return self._hq().size

    def put(self, obj, block=True, timeout=None):
        data = _dumps(obj, _PROTOCOL)
        if self._closed:
            raise ValueError("Queue %r is closed" % self._name)
        h = self._handles.get()
        n = len(data)
        if n > h.size:
            return self._put_spilled(h, data, block, timeout)
        h.len_arg.value = n
        rc = _try_put(h.arg, data, h.len_arg, NOWAIT)
        if rc:
            self._put_wait(h, data, block, timeout, rc)

    def _put_spilled(self, h, data, block, timeout):
        data = _spill(data)
        try:
            self._send(h, data, block, timeout)
        except BaseException:
            _unspill(data, keep=False)
            raise

    def get(self, block=True, timeout=None):
        if self._closed:
            raise ValueError("Queue %r is closed" % self._name)
        h = self._handles.get()
        rc = _try_get(h.arg, h.buf, h.size_arg, NOWAIT)
        if rc < 0:
            rc = self._get_wait(h, block, timeout, rc)
        m = h.view[:rc]
        try:
            return _loads(m)
        except _UnpicklingError:
            # A pickle starts with PROTO (0x80): a spill marker is not one.
            if m[:len(SPILL)] != SPILL:
                raise
        return _loads(_unspill(bytes(m)))

    def put_nowait(self, obj):
        return self.put(obj, False)

    def get_nowait(self):
        return self.get(False)

    def qsize(self):
        return self._hq().call(L.sp_queue_size)

    def empty(self):
        return bool(self._hq().call(L.sp_queue_empty))

    def full(self):
        return bool(self._hq().call(L.sp_queue_full))

    def close(self):
        """This process puts and gets no more through this object (multiprocessing's
        close()); the queue itself goes on for the others."""
        self._closed = True
        self._handles.drop()

    def join_thread(self):
        """Nothing to wait for: put() writes into shared memory before it returns."""

    def cancel_join_thread(self):
        """Nothing to cancel (see join_thread)."""

    def shutdown(self, immediate=False):
        """Shuts the queue down for every process: puts raise ShutDown, gets raise it once
        the queue is drained (immediate=True is not supported)."""
        if immediate:
            raise NotImplementedError("immediate shutdown")
        _lib.check(self._hq().call(L.sp_queue_shutdown), self._name)

    def is_shutdown(self):
        return bool(self._hq().call(L.sp_queue_is_shutdown))


class JoinableQueue(Queue):
    """multiprocessing.JoinableQueue by name: task_done() and join().  Tasks a process got
    and never marked done are given up when it exits or dies, so join() does not hang on a
    dead consumer."""
    _prefix = "jqueue"
    _flags = 0x1

    def task_done(self):
        rc = self._hq().call(L.sp_queue_task_done)
        if rc == EINVAL:
            raise ValueError("task_done() called too many times")
        _lib.check(rc, self._name)

    def join(self, timeout=None):
        """Waits until every task put has been marked done.  Returns True, or False if timeout
        seconds passed first."""
        rc = _lib.wait(L.sp_queue_join, self._hq(), _lib.timeout_ns(True, timeout))
        if rc in (EAGAIN, ETIMEDOUT):
            return False
        _lib.check(rc, self._name)
        return True

    def unfinished_tasks(self):
        return self._hq().call(L.sp_queue_unfinished)


class SimpleQueue(Queue):
    """multiprocessing.SimpleQueue: get, put, empty, close."""
    _prefix = "squeue"

    def __init__(self, *, name=None, create=True, capacity=None, ctx=None):
        super().__init__(0, name=name, create=create, capacity=capacity)


def _spill(data):
    from .shared_memory import SharedMemory
    m = SharedMemory(_lib.unique_name("spill"), create=True, size=len(data), _owned=False)
    m.buf[:len(data)] = data
    name = m.name
    m.close()
    return SPILL + name.encode()


def _unspill(marker, keep=True):
    from .shared_memory import SharedMemory
    m = SharedMemory(marker[len(SPILL):].decode())
    try:
        data = bytes(m.buf) if keep else None
    finally:
        m.close()
        m.unlink()
    return data
