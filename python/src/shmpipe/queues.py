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
                             self._opts if flags else None)
        n = h.call(L.sp_queue_max_msg)
        buf = ctypes.create_string_buffer(n)
        h.extra = (buf, n, memoryview(buf).cast("B"))
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
    # put() and get() are the hot path (bench/mpqueue.py): one handle lookup, the C call made
    # here rather than through Handle.call and _lib.wait, the message unpickled straight out of
    # the receive buffer.  What they skip is only repeated work: the busy count that close-at-exit
    # looks at is kept, and a call the library ends with -EINTR goes the slow way (_retry).

    def _send(self, h, data, block, timeout):
        ns = SP_FOREVER if block and timeout is None else _lib.timeout_ns(block, timeout)
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

    def _recv(self, block, timeout):
        """The next message, as a memoryview of this thread's receive buffer (valid until
        this thread's next get)."""
        h = self._hq()
        buf, n, view = h.extra
        ns = SP_FOREVER if block and timeout is None else _lib.timeout_ns(block, timeout)
        t0 = _monotonic_ns() if ns > 0 else 0
        h.busy += 1
        try:
            rc = _get(h.ptr, buf, n, ns)
        finally:
            h.busy -= 1
        if rc == EINTR:
            rc = _lib.rewait(_get, h, ns, t0, buf, n)
        if rc >= 0:
            return view[:rc]
        if rc in (EAGAIN, ETIMEDOUT):
            raise _queue.Empty
        if rc == ESHUTDOWN:
            raise ShutDown
        raise _lib.error(rc, self._name)

    def put_bytes(self, data, block=True, timeout=None):
        """Puts one raw message (bytes-like, up to max_message() bytes)."""
        self._send(self._hq(), bytes(data), block, timeout)

    def get_bytes(self, block=True, timeout=None):
        """Gets the next message as bytes, as it was put."""
        return bytes(self._recv(block, timeout))

    def max_message(self):
        """The longest raw message, in bytes (a quarter of the ring's capacity)."""
        return self._hq().extra[1]

    def put(self, obj, block=True, timeout=None):
        data = _dumps(obj, _PROTOCOL)
        h = self._hq()
        if len(data) <= h.extra[1]:
            return self._send(h, data, block, timeout)
        data = _spill(data)
        try:
            self._send(h, data, block, timeout)
        except BaseException:
            _unspill(data, keep=False)
            raise

    def get(self, block=True, timeout=None):
        m = self._recv(block, timeout)
        if m[:1] == b"\0" and m[:len(SPILL)] == SPILL:
            return _loads(_unspill(bytes(m)))
        return _loads(m)

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
