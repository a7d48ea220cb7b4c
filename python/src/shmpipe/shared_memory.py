"""shared_memory.py: SharedMemory by name, with multiprocessing.shared_memory's signature, over
shm.h, and ShareableList over it."""
import atexit
import ctypes
import errno
import os
import types
import weakref

from . import _lib

L = _lib.lib

__all__ = ["SharedMemory", "ShareableList"]


class SharedMemory:
    """multiprocessing.shared_memory.SharedMemory: `size` zero-filled bytes by name, as the
    memoryview buf.  create=True makes a new object (FileExistsError if NAME exists); with no
    name it gets a unique one and is removed when this process exits (as Python's resource
    tracker does), unless unlink() came first.  Attaching ignores size (the object keeps its
    own).  Only the creator's exit removes it: unlink() explicitly otherwise."""
    _flags = os.O_RDWR       # O_CREAT here: create if missing, attach otherwise

    def __init__(self, name=None, create=False, size=0, *, _owned=None):
        if not size >= 0:
            raise ValueError("'size' must be a positive integer")
        if create:
            if size == 0:
                raise ValueError("'size' must be a positive number different from zero")
            flags = _lib.SP_CREATE | _lib.SP_EXCL
        elif name is None:
            raise ValueError("'name' can only be None if create=True")
        elif self._flags & os.O_CREAT and size:
            # O_CREAT (a subclass's _flags, as CPython's tests make): create NAME with size
            # bytes if it is missing, else attach to it whatever its size, as CPython does.
            # With size 0 there is nothing to create (CPython would make an empty object it
            # cannot map): it only attaches, below.
            flags = _lib.SP_CREATE | _lib.SP_EXCL
        else:
            flags = size = 0
        owned = name is None if _owned is None else _owned
        if name is None:
            name = _lib.unique_name("shm")
        self._name = name
        self._bname = _lib.encode_name(name)
        out = ctypes.c_void_p()
        rc = L.sp_shm_open(self._bname, flags, size, 0, ctypes.byref(out))
        if rc == -errno.EEXIST and not create:
            rc = L.sp_shm_open(self._bname, 0, 0, 0, ctypes.byref(out))
        _lib.check(rc, name)
        _lib.note_process()
        self._handle = _lib.Handle(out.value, L.sp_shm_close)
        self._size = L.sp_shm_size(out.value)
        arr = (ctypes.c_char * self._size).from_address(L.sp_shm_data(out.value))
        # The array keeps the handle (and so the mapping) alive while views of it exist.
        arr_keep[id(arr)] = self._handle
        weakref.finalize(arr, arr_keep.pop, id(arr), None)
        self._buf = memoryview(arr).cast("B")
        if owned:
            _created[self._bname] = os.getpid()

    @property
    def name(self):
        return self._name

    @property
    def size(self):
        return self._size

    @property
    def buf(self):
        return self._buf

    def close(self):
        """Releases this object's view; the mapping goes when no other view of it is left."""
        if self._buf is not None:
            self._buf.release()
            self._buf = None

    def unlink(self):
        """Removes the name (FileNotFoundError if it was already removed); processes attached
        keep their mapping."""
        _created.pop(self._bname, None)
        _lib.check(L.sp_shm_unlink(self._bname), self._name)

    def __reduce__(self):
        return (self.__class__, (self._name, False, 0))

    def __repr__(self):
        return "%s(%r, size=%d)" % (type(self).__name__, self._name, self._size)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


arr_keep = {}
_created = {}      # names created here without a name given -> the creating pid


def _remove_owned():
    # Only at exit, and only in the creating process (not when the object is collected,
    # which Python's SharedMemory does not do either).
    pid = os.getpid()
    for bname, creator in list(_created.items()):
        if creator == pid:
            L.sp_shm_unlink(bname)
    _created.clear()


atexit.register(_remove_owned)


def _shareable_list():
    """multiprocessing.shared_memory.ShareableList over our SharedMemory: CPython's own class,
    its __init__ given globals in which SharedMemory is ours (the only name it uses to make or
    attach its segment), so that the layout, the methods and their errors are CPython's.  None
    where that cannot be done (no such class, or an __init__ that does not call SharedMemory by
    that name)."""
    try:
        from multiprocessing import shared_memory as cp
    except ImportError:  # pragma: no cover
        return None
    base = getattr(cp, "ShareableList", None)
    init = getattr(base, "__init__", None)
    code = getattr(init, "__code__", None)
    if code is None or "SharedMemory" not in code.co_names:
        return None
    g = dict(init.__globals__, SharedMemory=SharedMemory)
    f = types.FunctionType(code, g, init.__name__, init.__defaults__, init.__closure__)
    f.__kwdefaults__ = init.__kwdefaults__
    f.__qualname__ = "ShareableList.__init__"
    doc = ("multiprocessing.shared_memory.ShareableList in a shmpipe SharedMemory: a fixed "
           "list of int, float, bool, str (up to its first length), bytes and None, shared "
           "by name (self.shm.name); with no name its creator removes it at exit.")
    return type("ShareableList", (base,), {"__init__": f, "__doc__": doc,
                                           "__module__": __name__})


ShareableList = _shareable_list()
