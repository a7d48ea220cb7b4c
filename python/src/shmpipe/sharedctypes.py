"""sharedctypes.py: Value, Array, RawValue and RawArray by name, over value.h: a ctypes object
laid over the shared elements, with the object's own robust lock."""
import ctypes
import errno

from . import _lib
from ._base import EOWNERDEAD, Named, owner_died

L = _lib.lib
EAGAIN, ETIMEDOUT, EPERM, EEXIST = -errno.EAGAIN, -errno.ETIMEDOUT, -errno.EPERM, -errno.EEXIST
VALUE_LOCK = 0x1

__all__ = ["Value", "Array", "RawValue", "RawArray"]

# Typecodes as array/ctypes spell them -> (ctypes type, the library's element type).  Types
# the library has no name for are stored as bytes (SP_BYTES); a C program then sees bytes.
_I8, _U8, _I16, _U16, _I32, _U32, _I64, _U64, _DOUBLE, _BYTES = range(1, 11)
_SIGNED = {1: _I8, 2: _I16, 4: _I32, 8: _I64}
_UNSIGNED = {1: _U8, 2: _U16, 4: _U32, 8: _U64}
TYPECODES = {
    "c": ctypes.c_char, "u": ctypes.c_wchar, "b": ctypes.c_byte, "B": ctypes.c_ubyte,
    "h": ctypes.c_short, "H": ctypes.c_ushort, "i": ctypes.c_int, "I": ctypes.c_uint,
    "l": ctypes.c_long, "L": ctypes.c_ulong, "q": ctypes.c_longlong, "Q": ctypes.c_ulonglong,
    "f": ctypes.c_float, "d": ctypes.c_double, "?": ctypes.c_bool,
}


def _ctype(typecode_or_type):
    if isinstance(typecode_or_type, str):
        try:
            return TYPECODES[typecode_or_type]
        except KeyError:
            raise TypeError("bad typecode %r (one of %s)" % (typecode_or_type,
                                                             "".join(TYPECODES))) from None
    if isinstance(typecode_or_type, type) and issubclass(
            typecode_or_type, (ctypes._SimpleCData, ctypes.Structure, ctypes.Union)):
        return typecode_or_type
    raise TypeError("not a typecode or a ctypes type: %r" % (typecode_or_type,))


def _sptype(ct):
    """The library's element type for the ctypes type ct, and the element count factor."""
    code = getattr(ct, "_type_", None)
    size = ctypes.sizeof(ct)
    if isinstance(code, str):
        if code in "bhilq":
            return _SIGNED[size], 1
        if code in "BHILQ":
            return _UNSIGNED[size], 1
        if code == "d":
            return _DOUBLE, 1
    return _BYTES, size


class _ValueLock:
    """The lock of a Value or Array created with lock=True: acquire/release and the context
    manager, recursive for the thread that holds it (as multiprocessing's default RLock) so
    that element access under `with v.get_lock():` does not deadlock."""

    def __init__(self, owner):
        self._owner = owner

    def acquire(self, block=True, timeout=None):
        h = self._owner._h()
        if h.extra[1]:
            h.extra[1] += 1
            return True
        rc = _lib.wait(L.sp_value_lock, h, _lib.timeout_ns(block, timeout))
        if rc == EOWNERDEAD:
            owner_died(self._owner, "the lock of %r" % self._owner._name)
        elif rc in (EAGAIN, ETIMEDOUT):
            return False
        else:
            _lib.check(rc, self._owner._name)
            self._owner.owner_died = False
        h.extra[1] = 1
        return True

    def release(self):
        h = self._owner._h()
        if not h.extra[1]:
            raise RuntimeError("cannot release un-acquired lock")
        h.extra[1] -= 1
        if not h.extra[1]:
            _lib.check(h.call(L.sp_value_unlock), self._owner._name)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def __eq__(self, other):
        return isinstance(other, _ValueLock) and other._owner is self._owner

    def __hash__(self):
        return id(self._owner)

    def __repr__(self):
        return "<lock of %r>" % (self._owner,)


_pinned = set()   # handles whose ctypes object was handed out (get_obj): kept until exit


class _Shared(Named):
    _unlink = L.sp_value_unlink
    _prefix = "value"
    _lockflag = 0

    def _make(self, ct, length, init, name, create, lock):
        self._ct = ct
        self._length = length
        self._lock = lock
        self._opts = self._make_opts()
        if name is None or not create:
            self._setup(name, create)
            fresh = name is None
        else:
            # Created here (then initialised) or already there (left as it is).
            try:
                self._setup_excl(name)
                fresh = True
            except FileExistsError:
                self._setup(name, True)
                fresh = False
        if fresh and init is not None:
            init(self._h().extra[0])

    def _setup_excl(self, name):
        self.owner_died = False
        self._name = name
        self._bname = _lib.encode_name(name)
        self._handles = _lib.PerThread(self._reopen)
        self._handles._local.h = self._open(_lib.SP_CREATE | _lib.SP_EXCL)
        _lib.note_process()

    def _open(self, flags):
        h = _lib.open_handle(L.sp_value_open, L.sp_value_close, self._name, self._bname, flags,
                             self._opts)
        addr = h.call(L.sp_value_data)
        obj = (self._ct * self._length).from_address(addr) if self._array \
            else self._ct.from_address(addr)
        h.extra = [obj, 0]
        return h

    def _state(self):
        lock = None if isinstance(self._lock, _ValueLock) else self._lock
        return (self._ct, self._length, lock, self._lockflag)

    def _restore(self, state):
        self._ct, self._length, self._lock, self._lockflag = state
        self._opts = self._make_opts()
        if self._lockflag:
            self._lock = _ValueLock(self)

    def _make_opts(self):
        # The library has no empty object: an empty Array keeps one element, unused.
        t, factor = _sptype(self._ct)
        return _lib.ValueOpts(t, max(1, self._length) * factor, self._lockflag, 0)



class _WithLock:
    """get_obj, get_lock and the lock's methods, which raw objects do not have."""

    def get_obj(self):
        """The ctypes object over the shared elements (valid until this process exits)."""
        h = self._h()
        _pinned.add(h)
        return h.extra[0]

    def get_lock(self):
        return self._lock

    def acquire(self, block=True, timeout=None):
        return self._lock.acquire(block, timeout)

    def release(self):
        return self._lock.release()

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)


def _check_lock(lock):
    if lock is True or lock is None:
        return None
    if not hasattr(lock, "acquire"):
        raise AttributeError("%r has no method 'acquire'" % lock)
    return lock


class _Locked(_WithLock):
    """Element access under the lock, unless the calling thread holds it already."""

    def _locked(self, fn, *args):
        lk = self._lock
        if isinstance(lk, _ValueLock):
            h = self._h()
            if h.extra[1]:
                return fn(h.extra[0], *args)
        with lk:
            return fn(self._h().extra[0], *args)


def _getvalue(o):
    return o.value


def _setvalue(o, x):
    o.value = x


class _SynchronizedValue(_Locked, _Shared):
    """A Value with a lock (multiprocessing's Synchronized)."""
    _array = False

    @property
    def value(self):
        return self._locked(_getvalue)

    @value.setter
    def value(self, x):
        self._locked(_setvalue, x)

    def __repr__(self):
        return "<Value %r %s(%r)>" % (self._name, self._ct.__name__, self.value)


class _RawValue(_Shared):
    """A Value without a lock (multiprocessing's RawValue / Value(lock=False))."""
    _array = False

    @property
    def value(self):
        return self._h().extra[0].value

    @value.setter
    def value(self, x):
        self._h().extra[0].value = x

    def __repr__(self):
        return "<RawValue %r %s(%r)>" % (self._name, self._ct.__name__, self.value)


class _ArrayBase:
    _array = True

    def __len__(self):
        return self._length

    @property
    def value(self):
        return self._access(_getvalue)

    @value.setter
    def value(self, x):
        self._access(_setvalue, x)

    @property
    def raw(self):
        return self._access(lambda o: o.raw)

    @raw.setter
    def raw(self, x):
        def setraw(o):
            o.raw = x
        self._access(setraw)

    def __getitem__(self, i):
        return self._access(lambda o: o[i])

    def __setitem__(self, i, x):
        def setitem(o):
            o[i] = x
        self._access(setitem)

    def __repr__(self):
        return "<%s %r %s[%d]>" % (type(self).__name__.lstrip("_"), self._name,
                                   self._ct.__name__, self._length)


class _SynchronizedArray(_ArrayBase, _Locked, _Shared):
    _prefix = "array"

    def _access(self, fn, *args):
        return self._locked(fn, *args)


class _RawArray(_ArrayBase, _Shared):
    _prefix = "array"

    def _access(self, fn, *args):
        return fn(self._h().extra[0], *args)


def _init_value(args):
    def init(obj):
        if args:
            obj.value = args[0] if len(args) == 1 else args
    return init if args else None


def Value(typecode_or_type, *args, lock=True, name=None, create=True, ctx=None):
    """multiprocessing.Value by name.  lock=True (or None) uses the object's own robust lock;
    a lock object (with acquire) is used instead; lock=False gives a RawValue.  The initial
    value is written only by the process that creates the object."""
    ct = _ctype(typecode_or_type)
    if lock is False:
        return RawValue(ct, *args, name=name, create=create)
    lk = _check_lock(lock)
    v = _SynchronizedValue.__new__(_SynchronizedValue)
    v._lockflag = VALUE_LOCK if lk is None else 0
    v._make(ct, 1, _init_value(args), name, create, lk)
    if lk is None:
        v._lock = _ValueLock(v)
    return v


def RawValue(typecode_or_type, *args, name=None, create=True):
    """multiprocessing.RawValue by name: no lock."""
    v = _RawValue.__new__(_RawValue)
    v._make(_ctype(typecode_or_type), 1, _init_value(args), name, create, None)
    return v


def _init_array(size_or_initializer):
    if isinstance(size_or_initializer, int):
        if size_or_initializer < 0:
            raise ValueError("negative size")
        return size_or_initializer, None
    items = list(size_or_initializer)

    def init(obj):
        obj[:len(items)] = items
    return len(items), init


def Array(typecode_or_type, size_or_initializer, *, lock=True, name=None, create=True,
          ctx=None):
    """multiprocessing.Array by name (lock as for Value)."""
    ct = _ctype(typecode_or_type)
    if lock is False:
        return RawArray(ct, size_or_initializer, name=name, create=create)
    lk = _check_lock(lock)
    n, init = _init_array(size_or_initializer)
    a = _SynchronizedArray.__new__(_SynchronizedArray)
    a._lockflag = VALUE_LOCK if lk is None else 0
    a._make(ct, n, init, name, create, lk)
    if lk is None:
        a._lock = _ValueLock(a)
    return a


def RawArray(typecode_or_type, size_or_initializer, *, name=None, create=True):
    """multiprocessing.RawArray by name: no lock."""
    n, init = _init_array(size_or_initializer)
    a = _RawArray.__new__(_RawArray)
    a._make(_ctype(typecode_or_type), n, init, name, create, None)
    return a
