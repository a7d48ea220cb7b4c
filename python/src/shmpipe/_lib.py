"""_lib.py: loads libshared.so.0 with ctypes, declares the public sp_* functions, and holds
what every object shares: names, timeouts, errors, and the per-thread, per-process handles.

The library is found in this order (the first that exists wins, and a failure to load it is
an error, not a reason to try the next):
  1. the file named by the environment variable SHMPIPE_LIBRARY;
  2. a copy installed beside this package (shmpipe/libshared.so.0);
  3. the system's loader: "libshared.so.0" (LD_LIBRARY_PATH, ld.so.cache, /usr/local/lib).
Its major version must be ours and its version at least MIN_VERSION.

Handles.  A C handle is one participant and is used by one thread at a time, so every object
opens one handle per thread that uses it (threading.local), and a process forked from ours
never uses its parent's handles: os.register_at_fork bumps a generation number in the child,
and a handle of an older generation is reopened by name (the inherited one is left alone: it
is the parent's participant, and closing it would release what the parent holds).
"""
import ctypes
import errno
import os
import secrets
import threading
import time
import weakref
from ctypes import (POINTER, byref, c_char_p, c_int, c_int64, c_longlong, c_size_t,
                    c_ssize_t, c_uint, c_uint32, c_uint64, c_void_p)

MIN_VERSION = 100          # 0.1.0: the API this package calls
NAME_MAX = 100             # SP_NAME_MAX
SP_CREATE, SP_EXCL = 0x1, 0x2
SP_NOWAIT, SP_FOREVER = 0, -1


class LibraryError(ImportError):
    """libshared.so.0 was not found, or is not a version this package can use."""


def _find():
    env = os.environ.get("SHMPIPE_LIBRARY")
    if env:
        return env
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libshared.so.0")
    if os.path.exists(beside):
        return beside
    return "libshared.so.0"


def _load():
    path = _find()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise LibraryError("shmpipe: cannot load %s (%s); build it with `make` and set "
                           "SHMPIPE_LIBRARY, or `make install` it (then `ldconfig`)"
                           % (path, e)) from None
    lib.sp_version_number.restype = c_uint
    lib.sp_version_string.restype = c_char_p
    v = lib.sp_version_number()
    if v // 10000 != MIN_VERSION // 10000 or v < MIN_VERSION:
        raise LibraryError("shmpipe: %s is version %s; this package needs %d.x, at least "
                           "%d.%d.%d" % (path, lib.sp_version_string().decode(),
                                         MIN_VERSION // 10000, MIN_VERSION // 10000,
                                         MIN_VERSION // 100 % 100, MIN_VERSION % 100))
    return lib, path


lib, path = _load()
P = POINTER(c_void_p)


# The same library through ctypes.PyDLL: a call through it keeps the GIL, where a CDLL call
# releases it and takes it back (and converts each argument through argtypes).  For the hot
# paths' calls that do not wait (SP_NOWAIT tries), with arguments that are already ctypes
# objects or buffers (see fast()).
plib = ctypes.PyDLL(path)


def _proto(name, restype, *argtypes):
    try:
        f = getattr(lib, name)
    except AttributeError:
        raise LibraryError("shmpipe: %s has no %s(): it is older than this package"
                           % (path, name)) from None
    f.restype = restype
    f.argtypes = argtypes
    return f


def fast(name, restype):
    """NAME through PyDLL, for calls that never sleep: it holds the GIL (no other thread
    runs meanwhile, so no busy count is needed), and it has no argtypes, so every argument
    must already be of the C parameter's type: a ctypes object (c_void_p, c_size_t,
    c_longlong) or, for a pointer, a buffer or bytes.  About 250 ns cheaper per call than
    the CDLL function with argtypes (bench/README.md, mpqueue.py)."""
    getattr(lib, name)   # declared (and checked) by _proto above
    f = getattr(plib, name)
    f.restype = restype
    return f


NOWAIT_ARG = c_longlong(0)   # SP_NOWAIT as an argument of a fast() call


class QueueOpts(ctypes.Structure):
    _fields_ = [("capacity", c_uint64), ("flags", c_uint), ("mode", c_uint),
                ("maxsize", c_uint32)]


class PipeOpts(ctypes.Structure):
    _fields_ = [("capacity", c_uint64), ("flags", c_uint), ("mode", c_uint)]


class SemOpts(ctypes.Structure):
    _fields_ = [("value", c_uint), ("flags", c_uint), ("mode", c_uint)]


class ValueOpts(ctypes.Structure):
    _fields_ = [("type", c_int), ("length", c_uint64), ("flags", c_uint), ("mode", c_uint)]


class DictOpts(ctypes.Structure):
    _fields_ = [("capacity", c_uint32), ("key_max", c_uint32), ("val_max", c_uint32),
                ("mode", c_uint)]


class ListOpts(ctypes.Structure):
    _fields_ = [("capacity", c_uint32), ("item_max", c_uint32), ("mode", c_uint)]


class ObjInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * (NAME_MAX + 1)), ("kind", c_uint),
                ("kind_name", c_char_p), ("size", c_uint64), ("creator_pid", ctypes.c_long),
                ("creator_uid", ctypes.c_long), ("created_ns", c_int64), ("attached", c_uint),
                ("dead", c_uint), ("state", c_uint)]


OBJ_STATES = {0: "ok", 1: "unfinished", 2: "lock-only", 3: "foreign"}
ListFn = ctypes.CFUNCTYPE(c_int, POINTER(ObjInfo), c_void_p)

H, S, LL = c_void_p, c_char_p, c_longlong
name_check = _proto("sp_name_check", c_int, S)
sync_unlink = _proto("sp_sync_unlink", c_int, S)
for _k in ("lock", "rlock", "event", "cond"):
    _proto("sp_%s_open" % _k, c_int, S, c_uint, c_uint, P)
    _proto("sp_%s_close" % _k, None, H)
_proto("sp_lock_acquire", c_int, H, LL)
_proto("sp_lock_release", c_int, H)
_proto("sp_lock_locked", c_int, H)
_proto("sp_rlock_acquire", c_int, H, LL)
_proto("sp_rlock_release", c_int, H)
_proto("sp_rlock_count", c_uint, H)
_proto("sp_rlock_owner", c_int, H)
_proto("sp_sem_open", c_int, S, c_uint, POINTER(SemOpts), P)
_proto("sp_sem_close", None, H)
_proto("sp_sem_acquire", c_int, H, LL)
_proto("sp_sem_release", c_int, H, c_uint)
_proto("sp_sem_value", c_int, H)
_proto("sp_event_set", c_int, H)
_proto("sp_event_clear", c_int, H)
_proto("sp_event_is_set", c_int, H)
_proto("sp_event_wait", c_int, H, LL)
_proto("sp_cond_acquire", c_int, H, LL)
_proto("sp_cond_release", c_int, H)
_proto("sp_cond_wait", c_int, H, LL)
_proto("sp_cond_notify", c_int, H, c_uint)
_proto("sp_cond_notify_all", c_int, H)
_proto("sp_barrier_open", c_int, S, c_uint, c_uint, c_uint, P)
_proto("sp_barrier_close", None, H)
_proto("sp_barrier_wait", c_int, H, LL)
BarrierAction = ctypes.CFUNCTYPE(c_int, c_void_p)
_proto("sp_barrier_wait_action", c_int, H, LL, BarrierAction, c_void_p)
_proto("sp_barrier_reset", c_int, H)
_proto("sp_barrier_abort", c_int, H)
_proto("sp_barrier_parties", c_uint, H)
_proto("sp_barrier_n_waiting", c_uint, H)
_proto("sp_barrier_broken", c_int, H)
_proto("sp_queue_open", c_int, S, c_uint, POINTER(QueueOpts), P)
_proto("sp_queue_close", None, H)
_proto("sp_queue_unlink", c_int, S)
_proto("sp_queue_put", c_int, H, c_void_p, c_size_t, LL)
_proto("sp_queue_get", c_ssize_t, H, c_void_p, c_size_t, LL)
_proto("sp_queue_shutdown", c_int, H)
_proto("sp_queue_is_shutdown", c_int, H)
_proto("sp_queue_task_done", c_int, H)
_proto("sp_queue_join", c_int, H, LL)
_proto("sp_queue_unfinished", c_uint, H)
_proto("sp_queue_size", c_size_t, H)
_proto("sp_queue_empty", c_int, H)
_proto("sp_queue_full", c_int, H)
_proto("sp_queue_max_msg", c_size_t, H)
_proto("sp_queue_maxsize", c_uint, H)
_proto("sp_pipe_create", c_int, S, c_uint, POINTER(PipeOpts))
_proto("sp_pipe_open", c_int, S, c_uint, c_uint, POINTER(PipeOpts), P)
_proto("sp_pipe_close", None, H)
_proto("sp_pipe_unlink", c_int, S)
_proto("sp_pipe_send", c_int, H, c_void_p, c_size_t, LL)
_proto("sp_pipe_recv", c_ssize_t, H, c_void_p, c_size_t, LL)
_proto("sp_pipe_poll", c_int, H, LL)
_proto("sp_pipe_max_msg", c_size_t, H)
_proto("sp_value_open", c_int, S, c_uint, POINTER(ValueOpts), P)
_proto("sp_value_close", None, H)
_proto("sp_value_unlink", c_int, S)
_proto("sp_value_data", c_void_p, H)
_proto("sp_value_type", c_int, H)
_proto("sp_value_length", c_uint64, H)
_proto("sp_value_lock", c_int, H, LL)
_proto("sp_value_unlock", c_int, H)
_proto("sp_dict_open", c_int, S, c_uint, POINTER(DictOpts), P)
_proto("sp_dict_close", None, H)
_proto("sp_dict_unlink", c_int, S)
_proto("sp_dict_get", c_int, H, c_char_p, c_size_t, c_void_p, c_size_t, POINTER(c_size_t))
_proto("sp_dict_set", c_int, H, c_char_p, c_size_t, c_void_p, c_size_t)
_proto("sp_dict_delete", c_int, H, c_char_p, c_size_t)
_proto("sp_dict_cas", c_int, H, c_char_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t)
_proto("sp_dict_len", c_size_t, H)
_proto("sp_dict_next", c_int, H, POINTER(c_uint64), c_void_p, c_size_t, POINTER(c_size_t),
       c_void_p, c_size_t, POINTER(c_size_t))
_proto("sp_list_open", c_int, S, c_uint, POINTER(ListOpts), P)
_proto("sp_list_close", None, H)
_proto("sp_list_unlink", c_int, S)
for _k in ("append", "appendleft"):
    _proto("sp_list_" + _k, c_int, H, c_void_p, c_size_t)
for _k in ("pop", "popleft"):
    _proto("sp_list_" + _k, c_int, H, c_void_p, c_size_t, POINTER(c_size_t))
_proto("sp_list_get", c_int, H, c_longlong, c_void_p, c_size_t, POINTER(c_size_t))
_proto("sp_list_set", c_int, H, c_longlong, c_void_p, c_size_t)
_proto("sp_list_len", c_size_t, H)
_proto("sp_list_clear", c_int, H)
_proto("sp_shm_open", c_int, S, c_uint, c_size_t, c_uint, P)
_proto("sp_shm_close", None, H)
_proto("sp_shm_unlink", c_int, S)
_proto("sp_shm_data", c_void_p, H)
_proto("sp_shm_size", c_size_t, H)
_proto("sp_iplock_open", c_int, S, c_uint, P)
_proto("sp_iplock_close", None, H)
_proto("sp_iplock_acquire", c_int, H, c_uint, LL)
_proto("sp_iplock_release", c_int, H)
_proto("sp_iplock_held", c_int, H)
_proto("sp_objects_list", c_int, ListFn, c_void_p)
_proto("sp_objects_remove_stale", c_int, S, c_uint)
_proto("sp_ring_unlink", c_int, S)
del _k

# ---------------------------------------------------------------- names and errors

_counter = iter(range(1, 1 << 62))


def unique_name(kind):
    """A name nobody else will pick: the kind, our pid, a counter and 32 random bits; of one
    length in a process (as CPython's are: a pickle's size does not grow with the counter)."""
    return "py.%s.%d.%08x.%s" % (kind, os.getpid(), next(_counter), secrets.token_hex(4))


def encode_name(name, reserve=0):
    """Checks a user's name and returns it as bytes for the C calls.  reserve: characters
    the object adds for its parts (a queue's NAME.q).  Raises TypeError or ValueError."""
    if not isinstance(name, str):
        raise TypeError("name must be a str, not %s" % type(name).__name__)
    if "\0" in name:
        raise ValueError("name %r: embedded null character" % name)
    b = name.encode("utf-8", "surrogateescape")
    if len(b) > NAME_MAX - reserve:
        raise ValueError("name %r: longer than %d bytes" % (name, NAME_MAX - reserve))
    rc = name_check(b)
    if rc < 0:
        raise ValueError("name %r: 1 to %d characters of [A-Za-z0-9._-], not starting "
                         "with '.'" % (name, NAME_MAX - reserve))
    return b


def error(rc, what=None):
    """The exception for a -errno result: ValueError for bad arguments, else the OSError
    subclass of that errno (FileNotFoundError, FileExistsError, ...)."""
    e = -rc
    if e in (errno.EINVAL, errno.ENAMETOOLONG, errno.ERANGE, errno.E2BIG):
        return ValueError("%s: %s" % (what, os.strerror(e)) if what else os.strerror(e))
    if e == errno.EPROTO:
        return OSError(e, "another kind of object, or another layout version", what)
    if e == errno.EBADMSG:
        return OSError(e, "the shared memory holds an impossible value (corrupt)", what)
    return OSError(e, os.strerror(e), what)


def check(rc, what=None):
    if rc < 0:
        raise error(rc, what)
    return rc


def timeout_ns(block=True, timeout=None):
    """multiprocessing's (block, timeout) as the library's timeout_ns: not blocking, or a
    timeout of zero or less, tries once; None waits forever."""
    if not block:
        return SP_NOWAIT
    if timeout is None:
        return SP_FOREVER
    if timeout <= 0:
        return SP_NOWAIT
    return max(1, int(timeout * 1e9))


EINTR = -errno.EINTR
EAGAIN, ETIMEDOUT = -errno.EAGAIN, -errno.ETIMEDOUT

# ---------------------------------------------------------------- Ctrl-C
#
# A wait in C holds no GIL and runs no Python: a signal's Python handler (KeyboardInterrupt
# for SIGINT) runs only once the call returns.  So the main thread opts in to the library's
# interruptible waits (sp_set_interrupt_fd, common.h): Python's own C handler writes a byte to
# the wakeup fd (signal.set_wakeup_fd) for every signal it handles; the library returns
# -EINTR when that fd is readable before a sleep or a signal interrupts the sleep; wait()
# below drains the fd, which returns to the interpreter, whose handler runs (a
# KeyboardInterrupt propagates from here), and otherwise retries with the time left.
#
# The wakeup fd is one per process.  If nobody has set one, we set ours: a non-blocking
# pipe, drained by us.  If someone has (asyncio's event loop, another library), we do not
# take it over, and cannot watch it: what we get back from signal.set_wakeup_fd() is its
# write end, never readable.  The library then watches our pipe's read end all the same,
# which nothing writes to: a signal that interrupts a futex sleep still ends the wait, but one
# that lands while the thread is awake between two sleeps would be seen only when the wait
# ends.  So in that case the main thread's waits go in slices of SLICE seconds at the most,
# each a call of its own, returning to the interpreter (and its handlers) between them.  Only
# the main thread opts in: Python runs handlers only there, and the library's setting is per
# thread.

SLICE = 0.05
_proto("sp_set_interrupt_fd", c_int, c_int)
# pipe: our (r, w), r the library's fd; own: w is the wakeup fd (else somebody else's is, and
# nothing writes to w).
_intr = {"gen": None, "fd": -1, "pipe": None, "own": False}


def _intr_setup():
    """Opts the main thread in, once per process (again in a forked child, whose copy of our
    pipe is its parent's).  Elsewhere than in the main thread, does nothing."""
    import signal
    if threading.current_thread() is not threading.main_thread():
        return
    old_pipe = _intr["pipe"] if _intr["gen"] is not None else None
    _intr["gen"] = _gen
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        cur = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except (ValueError, OSError):
        os.close(r)
        os.close(w)
        return
    own = cur == -1 or bool(old_pipe and _intr["own"] and cur == old_pipe[1])
    if not own:
        # Somebody else's: give it back, with the byte of a signal that came meanwhile (a
        # wakeup fd is non-blocking: the write cannot hang).
        signal.set_wakeup_fd(cur)
        try:
            data = os.read(r, 512)
            if data:
                os.write(cur, data)
        except OSError:
            pass
    _intr["pipe"] = (r, w)
    _intr["own"] = own
    _intr["fd"] = r
    if old_pipe:
        for fd in old_pipe:
            os.close(fd)
    lib.sp_set_interrupt_fd(r)


def _intr_drain():
    p = _intr["pipe"]
    if p is not None:
        try:
            while os.read(p[0], 512):
                pass
        except OSError:
            pass


def slicing(ns):
    """Does a wait of timeout ns in this thread go in slices (see sliced)?  In the main
    thread while somebody else's wakeup fd is set, unless it does not wait (ns 0)."""
    return (ns != 0 and _intr["pipe"] is not None and not _intr["own"]
            and threading.current_thread() is threading.main_thread())


def wait(fn, h, ns, *args, slices=True, deaf=False, idle=ETIMEDOUT):
    """Calls fn(h, *args, ns) until it returns anything but -EINTR.  A wait the library gives
    up because a signal arrived returns to Python, whose handlers run here (a KeyboardInterrupt
    leaves this loop); otherwise it is retried with the time left.  slices=False: a wait that
    must not be cut into timed slices (a Barrier's: its timeout breaks it).  deaf=True: a wait
    no signal ends (see uninterrupted).  idle: what fn returns when its time ran out (see
    sliced)."""
    if _intr["gen"] != _gen:
        _intr_setup()
    if deaf:
        return uninterrupted(fn, h, *args, ns)
    if slices and slicing(ns):
        return sliced(fn, h, ns, *args, idle=idle)
    t0 = time.monotonic_ns() if ns > 0 else 0
    rc = h.call(fn, *args, ns)
    return rc if rc != EINTR else rewait(fn, h, ns, t0, *args, slices=slices, idle=idle)


def rewait(fn, h, ns, t0, *args, slices=True, idle=ETIMEDOUT):
    """wait()'s retries, for a call of timeout ns begun at t0 (time.monotonic_ns()) that
    returned -EINTR: the whole call still ends by t0 + ns."""
    rc = EINTR
    while rc == EINTR:
        # A call: the interpreter runs the signal's handler here, before the retry.
        _intr_drain()
        if ns > 0:
            ns = max(0, t0 + ns - time.monotonic_ns())
            t0 = time.monotonic_ns()
        if slices and slicing(ns):
            return sliced(fn, h, ns, *args, idle=idle)
        rc = h.call(fn, *args, ns)
    return rc


def sliced(fn, h, ns, *args, idle=ETIMEDOUT):
    """fn(h, *args, ns) as calls of SLICE seconds at the most, for a main thread whose signals
    write to somebody else's wakeup fd: Python's handlers run between the calls (a
    KeyboardInterrupt propagates from here), also for a signal that landed while the library
    was awake between two sleeps.  A call that returns idle (its time ran out: -ETIMEDOUT, 0
    for a poll) leaves nothing done; so does one that returns -EINTR (a signal interrupted
    its sleep).  Returns as fn, never -EINTR; idle once the whole ns ran out."""
    end = time.monotonic_ns() + ns if ns > 0 else None
    step = int(SLICE * 1e9)
    while True:
        left = step if end is None else min(step, end - time.monotonic_ns())
        if left <= 0:
            return idle
        rc = h.call(fn, *args, left)
        if rc == EINTR:
            _intr_drain()
        elif rc != idle:
            return rc


def again(rc, fn, h, *args):
    """rc, unless it is -EINTR: then, Python's handlers having run (a KeyboardInterrupt
    propagates from here), the call h.call(fn, *args) made again, deaf to signals.  For the
    calls that wait only for an internal mutex (a dict's, a list's), whose holder is a peer
    part-way through a few stores: interruptible in C, and never an InterruptedError."""
    if rc != EINTR:
        return rc
    _intr_drain()
    return uninterrupted(fn, h, *args)


def uninterrupted(fn, h, *args):
    """h.call(fn, *args) with the library's waits deaf to signals: for what must not stop
    half way (the rest of a message a Connection has begun to send or receive), and for
    calls whose -EINTR the caller could only retry at once (a dict's or list's mutex)."""
    if _intr["fd"] < 0 or threading.current_thread() is not threading.main_thread():
        return h.call(fn, *args)
    old = lib.sp_set_interrupt_fd(-1)
    try:
        return h.call(fn, *args)
    finally:
        lib.sp_set_interrupt_fd(old)


# ---------------------------------------------------------------- handles

_gen = 0                     # bumped in every forked child
_live = weakref.WeakSet()    # every open handle of this process, for closing at exit
_exiting = False


def _after_fork():
    global _gen, _live
    _gen += 1
    _live = weakref.WeakSet()
    if _intr["gen"] is not None:
        # Our pipe is shared with the parent now: a child of its own (see _intr_setup).
        _intr_setup()


os.register_at_fork(after_in_child=_after_fork)


class Handle:
    """One C handle, of this process and one thread.  busy counts calls in progress, so that
    closing at exit leaves alone a handle a (daemon) thread is still blocked in.  arg is ptr
    as a c_void_p, the argument fast() calls take (None once closed)."""
    __slots__ = ("ptr", "arg", "gen", "closefn", "busy", "extra", "__weakref__")

    def __init__(self, ptr, closefn, extra=None):
        self.ptr = ptr
        self.arg = c_void_p(ptr)
        self.gen = _gen
        self.closefn = closefn
        self.busy = 0
        self.extra = extra
        _live.add(self)

    def call(self, fn, *args):
        self.busy += 1
        try:
            p = self.ptr
            if p is None:
                raise ValueError("operation on a closed handle")
            return fn(p, *args)
        finally:
            self.busy -= 1

    def call_mutex(self, fn, *args):
        """call() for a call that takes an internal mutex and has no timeout (see again)."""
        rc = self.call(fn, *args)
        return rc if rc != EINTR else again(rc, fn, self, *args)

    def close(self):
        # No call between the test and the store: no other thread runs in between.
        if self.gen == _gen and self.busy == 0 and self.ptr is not None:
            p, self.ptr, self.arg = self.ptr, None, None
            self.closefn(p)

    def __del__(self):
        if self.gen == _gen:
            self.close()


def open_handle(openfn, closefn, what, *args, extra=None, cls=Handle):
    out = c_void_p()
    check(openfn(*args, byref(out)), what)
    return cls(out.value, closefn, extra)


def _close_all():
    global _exiting
    _exiting = True
    for h in list(_live):
        h.close()


import atexit  # noqa: E402  (registered after the definitions it calls)

atexit.register(_close_all)


def _register_mp_exit():
    """multiprocessing's children leave through os._exit after util._exit_function, which
    runs the finalizers with an exit priority but not atexit: close our handles there too."""
    try:
        from multiprocessing import util
    except ImportError:
        return
    util.Finalize(None, _close_all, exitpriority=-100)


_mp_exit_gen = [None]


def note_process():
    """Called when a handle is opened: makes sure this process closes its handles when it
    leaves, whichever way (atexit, or multiprocessing's exit in a child)."""
    if _mp_exit_gen[0] != _gen:
        _mp_exit_gen[0] = _gen
        _register_mp_exit()


class PerThread:
    """The handle of the calling thread for one object, opened on first use in each thread
    and in each forked child."""
    __slots__ = ("_local", "_open")

    def __init__(self, opener):
        self._local = threading.local()
        self._open = opener

    def get(self):
        # The hot path (every put and get): one attribute of the thread's local and one
        # comparison; a handle closed has ptr None and is reopened too.
        try:
            h = self._local.h
            if h.gen == _gen and h.ptr is not None:
                return h
        except AttributeError:   # no handle yet in this thread (or dropped: None)
            pass
        note_process()
        h = self._open()
        self._local.h = h
        return h

    def peek(self):
        """The calling thread's handle if it has one open, else None."""
        h = getattr(self._local, "h", None)
        return h if h is not None and h.gen == _gen and h.ptr is not None else None

    def drop(self):
        h = getattr(self._local, "h", None)
        self._local.h = None
        if h is not None:
            h.close()


def remover(unlink, name):
    """A finalizer that removes the object NAME if this is still the creating process."""
    pid = os.getpid()

    def remove():
        if os.getpid() == pid:
            unlink(name)
    return remove


_intr_setup()
