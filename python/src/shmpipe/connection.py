"""connection.py: Pipe and Connection by name, over pipe.h.

Framing: every message on the rings starts with one tag byte, 0 for the last (or only) piece
of a message, 1 for a piece with more to follow, so that messages longer than the ring's
largest record (a quarter of its capacity) go through in pieces; one end has one sender per
direction, so the pieces of two messages never interleave.
"""
import ctypes
import errno
import pickle
import threading
import weakref

from . import _lib

L = _lib.lib
EAGAIN, ETIMEDOUT, EPIPE, EBADF = -errno.EAGAIN, -errno.ETIMEDOUT, -errno.EPIPE, -errno.EBADF
ONEWAY = 0x1
DEFAULT_CAPACITY = 1 << 20

__all__ = ["Pipe", "Connection", "BufferTooShort"]

try:
    from multiprocessing import BufferTooShort
except ImportError:  # pragma: no cover
    class BufferTooShort(Exception):
        pass


def Pipe(duplex=True, *, name=None, capacity=None):
    """Returns (conn0, conn1), the two ends of a new pipe (duplex=False: conn0 only receives,
    conn1 only sends, as multiprocessing.Pipe).  Neither end is taken yet: each is taken by
    the first process that uses it, so either may be passed to another process (by pickling,
    or to multiprocessing.Process under fork, spawn or forkserver).  With no name the pipe gets
    a unique one and is removed when this process exits."""
    owned = name is None
    if owned:
        name = _lib.unique_name("pipe")
    bname = _lib.encode_name(name, 2)
    opts = _lib.PipeOpts(capacity or DEFAULT_CAPACITY, 0 if duplex else ONEWAY, 0)
    _lib.check(L.sp_pipe_create(bname, _lib.SP_EXCL if owned else 0, opts), name)
    a, b = Connection(name, 0, duplex), Connection(name, 1, duplex)
    if owned:
        # Removed once both ends are gone from this process (or at its exit).
        a._owner = b._owner = owner = _Owner()
        weakref.finalize(owner, _lib.remover(L.sp_pipe_unlink, bname))
    return a, b


class _Owner:
    """Held by both ends a process created: the pipe is removed when it goes."""


class Connection:
    """One end of a Pipe, multiprocessing.connection.Connection's methods.  The end is taken
    (opened) at its first use in a process, and that process alone holds it until close():
    then the peer reads what is left and gets EOFError.  Threads of one process share the end
    (sends are serialised, and so are receives)."""

    def __init__(self, name, end, duplex=True):
        self._name = name
        self._bname = _lib.encode_name(name, 2)
        self._end = end
        self._duplex = duplex
        self._readable = duplex or end == 0
        self._writable = duplex or end == 1
        self._h = None
        self._owner = None
        self._closed = False
        self._slock = threading.Lock()
        self._rlock = threading.Lock()

    @property
    def name(self):
        return self._name

    @property
    def end(self):
        return self._end

    @property
    def closed(self):
        return self._closed

    @property
    def readable(self):
        return self._readable

    @property
    def writable(self):
        return self._writable

    def __reduce__(self):
        return (Connection, (self._name, self._end, self._duplex))

    def _handle(self):
        if self._closed:
            raise OSError("handle is closed")
        h = self._h
        if h is None or h.gen != _lib._gen:
            _lib.note_process()
            h = _lib.open_handle(L.sp_pipe_open, L.sp_pipe_close, self._name, self._bname, 0,
                                 self._end, None)
            n = h.call(L.sp_pipe_max_msg)
            h.extra = (ctypes.create_string_buffer(n), n)
            self._h = h
        return h

    def fileno(self):
        raise OSError(errno.ENOTSUP, "a shmpipe Connection has no file descriptor")

    def close(self):
        """Closes this end, if this process holds it: the peer reads what is in flight, then
        gets EOFError.  A Connection this process never used is only marked closed here."""
        self._closed = True
        h, self._h = self._h, None
        if h is not None:
            h.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- sending

    def send_bytes(self, buf, offset=0, size=None):
        """Sends the bytes buf[offset:offset+size] as one message."""
        if self._closed:
            raise OSError("handle is closed")
        if not self._writable:
            raise OSError("connection is read-only")
        m = memoryview(buf).cast("B")
        n = len(m)
        if offset < 0:
            raise ValueError("offset is negative")
        if n < offset:
            raise ValueError("buffer length < offset")
        if size is None:
            size = n - offset
        elif size < 0:
            raise ValueError("size is negative")
        elif offset + size > n:
            raise ValueError("buffer length < offset + size")
        self._send(m[offset:offset + size])

    def send(self, obj):
        """Sends a picklable object."""
        if self._closed:
            raise OSError("handle is closed")
        if not self._writable:
            raise OSError("connection is read-only")
        self._send(memoryview(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)))

    def _send(self, m):
        with self._slock:
            h = self._handle()
            step = h.extra[1] - 1
            n = len(m)
            pos = 0
            while True:
                last = n - pos <= step
                piece = (b"\0" if last else b"\1") + m[pos:pos + step]
                # A message begun is finished: a signal may stop only its first piece, or
                # the receiver would take the rest of it for a message of its own.
                rc = _lib.wait(L.sp_pipe_send, h, _lib.SP_FOREVER, piece, len(piece),
                               deaf=pos > 0)
                if rc == EPIPE:
                    raise BrokenPipeError(errno.EPIPE, "the other end of %r closed or died"
                                          % self._name)
                _lib.check(rc, self._name)
                if last:
                    return
                pos += step

    # -- receiving

    def _recv(self, maxlength=None):
        if self._closed:
            raise OSError("handle is closed")
        if not self._readable:
            raise OSError("connection is write-only")
        with self._rlock:
            h = self._handle()
            buf, n = h.extra
            parts = []
            total = 0
            while True:
                rc = _lib.wait(L.sp_pipe_recv, h, _lib.SP_FOREVER, buf, n, deaf=bool(parts))
                if rc == EPIPE:
                    raise EOFError
                _lib.check(rc, self._name)
                if rc == 0:
                    raise OSError(errno.EBADMSG, "an empty message on %r (not a shmpipe "
                                  "Connection's)" % self._name)
                parts.append(ctypes.string_at(ctypes.addressof(buf) + 1, rc - 1))
                total += rc - 1
                if maxlength is not None and total > maxlength:
                    self.close()
                    raise OSError("bad message length")
                if buf[0] == b"\0":
                    break
            return parts[0] if len(parts) == 1 else b"".join(parts)

    def recv_bytes(self, maxlength=None):
        """Receives one message as bytes; EOFError once the peer closed and nothing is left."""
        if maxlength is not None and maxlength < 0:
            raise ValueError("negative maxlength")
        return self._recv(maxlength)

    def recv_bytes_into(self, buf, offset=0):
        """Receives one message into the writable buffer buf at byte offset; returns its
        length.  BufferTooShort (carrying the message) if it does not fit."""
        m = memoryview(buf).cast("B")
        if offset < 0 or offset > len(m):
            raise ValueError("offset out of bounds")
        data = self._recv()
        if len(data) > len(m) - offset:
            raise BufferTooShort(data)
        m[offset:offset + len(data)] = data
        return len(data)

    def recv(self):
        """Receives one object."""
        return pickle.loads(self._recv())

    def poll(self, timeout=0.0):
        """True if a message (or end of file) is ready, waiting at most timeout seconds
        (None: forever)."""
        if self._closed:
            raise OSError("handle is closed")
        if not self._readable:
            raise OSError("connection is write-only")
        with self._rlock:
            rc = _lib.wait(L.sp_pipe_poll, self._handle(), _lib.timeout_ns(True, timeout),
                           idle=0)
        return bool(_lib.check(rc, self._name))

    def __repr__(self):
        return "<Connection %r end %d%s>" % (self._name, self._end,
                                              ", closed" if self._closed else "")
