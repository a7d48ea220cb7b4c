"""containers.py: Dict (a MutableMapping) and List (a MutableSequence with deque's ends) by
name, held in shared memory with no server process, over dict.h and list.h."""
import collections.abc
import ctypes
import errno
import pickle

from . import _lib
from ._base import Named

L = _lib.lib
ENOENT, EMSGSIZE, ERANGE, ENOSPC, E2BIG = (-errno.ENOENT, -errno.EMSGSIZE, -errno.ERANGE,
                                           -errno.ENOSPC, -errno.E2BIG)

__all__ = ["Dict", "List"]
_EMPTY = object()


def _dumps(x):
    return pickle.dumps(x, pickle.HIGHEST_PROTOCOL)


def _full(rc, what, name):
    if rc == ENOSPC:
        raise OSError(errno.ENOSPC, "%s %r is full" % (what, name))
    if rc == E2BIG:
        raise ValueError("%s %r: key or value too long for it" % (what, name))
    return _lib.check(rc, name)


class Dict(Named, collections.abc.MutableMapping):
    """Manager().dict() without a server: str keys (1 to key_max bytes of UTF-8) to picklable
    values (pickled, up to val_max bytes), at most capacity keys, fixed at creation.  Every
    single operation is atomic for every process, against SIGKILL too; a sequence of them is
    not: setdefault() and compare_and_set() are the atomic read-modify-writes."""
    _prefix = "dict"
    _unlink = L.sp_dict_unlink

    def __init__(self, *, name=None, create=True, capacity=1024, key_max=64, val_max=256):
        self._opts = _lib.DictOpts(capacity, key_max, val_max, 0)
        self._setup(name, create)

    def _open(self, flags):
        h = _lib.open_handle(L.sp_dict_open, L.sp_dict_close, self._name, self._bname, flags,
                             self._opts if flags else None)
        h.extra = [ctypes.create_string_buffer(4096), ctypes.create_string_buffer(1024),
                   ctypes.c_size_t(), ctypes.c_size_t()]
        return h

    def _restore(self, state):
        self._opts = None

    @staticmethod
    def _key(k):
        if not isinstance(k, str):
            raise TypeError("Dict keys are str, not %s" % type(k).__name__)
        b = k.encode("utf-8", "surrogateescape")
        if not b:
            raise KeyError(k)
        return b

    def _get(self, h, kb):
        vbuf, n = h.extra[1], h.extra[3]
        while True:
            rc = h.call_mutex(L.sp_dict_get, kb, len(kb), vbuf, len(vbuf), ctypes.byref(n))
            if rc != EMSGSIZE:
                break
            vbuf = h.extra[1] = ctypes.create_string_buffer(n.value)
        if rc == ENOENT:
            return None
        _lib.check(rc, self._name)
        return ctypes.string_at(vbuf, n.value)

    def __getitem__(self, k):
        data = self._get(self._h(), self._key(k))
        if data is None:
            raise KeyError(k)
        return pickle.loads(data)

    def __setitem__(self, k, v):
        kb, vb = self._key(k), _dumps(v)
        _full(self._h().call_mutex(L.sp_dict_set, kb, len(kb), vb, len(vb)), "Dict", self._name)

    def __delitem__(self, k):
        kb = self._key(k)
        rc = self._h().call_mutex(L.sp_dict_delete, kb, len(kb))
        if rc == ENOENT:
            raise KeyError(k)
        _lib.check(rc, self._name)

    def __contains__(self, k):
        return isinstance(k, str) and bool(k) and self._get(self._h(), self._key(k)) is not None

    def __len__(self):
        return self._h().call(L.sp_dict_len)

    def _items(self):
        """(key, pickled value) pairs: not a snapshot (see sp_dict_next)."""
        h = self._h()
        pos = ctypes.c_uint64(0)
        kbuf, vbuf, kn, vn = h.extra
        while True:
            rc = h.call_mutex(L.sp_dict_next, ctypes.byref(pos), kbuf, len(kbuf), ctypes.byref(kn),
                        vbuf, len(vbuf), ctypes.byref(vn))
            if rc == EMSGSIZE:
                vbuf = h.extra[1] = ctypes.create_string_buffer(max(len(vbuf) * 2,
                                                                    vn.value))
                continue
            if rc == 0:
                return
            _lib.check(rc, self._name)
            yield (ctypes.string_at(kbuf, kn.value).decode("utf-8", "surrogateescape"),
                   ctypes.string_at(vbuf, vn.value))

    def __iter__(self):
        for k, _ in self._items():
            yield k

    def items(self):
        return [(k, pickle.loads(v)) for k, v in self._items()]

    def values(self):
        return [pickle.loads(v) for _, v in self._items()]

    def keys(self):
        return [k for k, _ in self._items()]

    def copy(self):
        return dict(self.items())

    def compare_and_set(self, k, expected, new):
        """Atomically: if k's value equals expected (pickled the same), set it to new and
        return True; else False.  expected=KeyError means "if k is absent"."""
        kb, nb = self._key(k), _dumps(new)
        if expected is KeyError:
            eb, elen = None, 0
        else:
            eb = _dumps(expected)
            elen = len(eb)
        rc = self._h().call_mutex(L.sp_dict_cas, kb, len(kb), eb, elen, nb, len(nb))
        return bool(_full(rc, "Dict", self._name))

    def setdefault(self, k, default=None):
        while True:
            if self.compare_and_set(k, KeyError, default):
                return default
            try:
                return self[k]
            except KeyError:
                continue     # deleted in between: try again

    def __repr__(self):
        return "<Dict %r %r>" % (self._name, self.copy())


class List(Named, collections.abc.MutableSequence):
    """Manager().list() and collections.deque without a server: picklable items (pickled, up
    to item_max bytes), at most capacity of them, fixed at creation.  Indexing from either
    end; append/pop at both ends; insertion and deletion only at the ends (IndexError
    elsewhere).  Each operation is atomic for every process, against SIGKILL too."""
    _prefix = "list"
    _unlink = L.sp_list_unlink

    def __init__(self, iterable=(), *, name=None, create=True, capacity=1024, item_max=256):
        self._opts = _lib.ListOpts(capacity, item_max, 0)
        self._setup(name, create)
        for x in iterable:
            self.append(x)

    def _open(self, flags):
        h = _lib.open_handle(L.sp_list_open, L.sp_list_close, self._name, self._bname, flags,
                             self._opts if flags else None)
        h.extra = [ctypes.create_string_buffer(1024), ctypes.c_size_t()]
        return h

    def _restore(self, state):
        self._opts = None

    def _take(self, fn, *args):
        h = self._h()
        while True:
            buf, n = h.extra
            rc = h.call_mutex(fn, *args, buf, len(buf), ctypes.byref(n))
            if rc != EMSGSIZE:
                break
            h.extra[0] = ctypes.create_string_buffer(n.value)
        if rc == ERANGE:
            return _EMPTY
        _lib.check(rc, self._name)
        return pickle.loads(ctypes.string_at(buf, n.value))

    def __len__(self):
        return self._h().call(L.sp_list_len)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        h = self._h()
        while True:
            buf, n = h.extra
            rc = h.call_mutex(L.sp_list_get, i, buf, len(buf), ctypes.byref(n))
            if rc != EMSGSIZE:
                break
            h.extra[0] = ctypes.create_string_buffer(n.value)
        if rc == ERANGE:
            raise IndexError("list index out of range")
        _lib.check(rc, self._name)
        return pickle.loads(ctypes.string_at(buf, n.value))

    def __setitem__(self, i, x):
        if isinstance(i, slice):
            raise TypeError("List does not take slice assignment")
        b = _dumps(x)
        rc = self._h().call_mutex(L.sp_list_set, i, b, len(b))
        if rc == ERANGE:
            raise IndexError("list assignment index out of range")
        _full(rc, "List", self._name)

    def __delitem__(self, i):
        n = len(self)
        if i in (0, -n) and n:
            self.popleft()
        elif i in (-1, n - 1) and n:
            self.pop()
        else:
            raise IndexError("List deletes only at its ends")

    def insert(self, i, x):
        n = len(self)
        if i == 0 or i <= -n:
            self.appendleft(x)
        elif i >= n:
            self.append(x)
        else:
            raise IndexError("List inserts only at its ends")

    def append(self, x):
        b = _dumps(x)
        _full(self._h().call_mutex(L.sp_list_append, b, len(b)), "List", self._name)

    def appendleft(self, x):
        b = _dumps(x)
        _full(self._h().call_mutex(L.sp_list_appendleft, b, len(b)), "List", self._name)

    def pop(self, i=-1):
        if i not in (-1, 0):
            raise IndexError("List pops only at its ends")
        x = self._take(L.sp_list_pop if i == -1 else L.sp_list_popleft)
        if x is _EMPTY:
            raise IndexError("pop from empty list")
        return x

    def popleft(self):
        return self.pop(0)

    def clear(self):
        _lib.check(self._h().call_mutex(L.sp_list_clear), self._name)

    def __repr__(self):
        return "<List %r %r>" % (self._name, self[:])
