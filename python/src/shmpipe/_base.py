"""_base.py: what every named object shares: its name, who removes it, its per-thread
handles, pickling by name, and the owner-died report."""
import errno
import warnings
import weakref

from . import _lib


class OwnerDiedWarning(RuntimeWarning):
    """A lock was acquired from a holder that died holding it: the data it protects may be
    half updated."""


EOWNERDEAD = -errno.EOWNERDEAD


def owner_died(obj, what):
    obj.owner_died = True
    warnings.warn("%s: acquired from a holder that died holding it; the data it protects "
                  "may be half updated" % what, OwnerDiedWarning, stacklevel=3)


class Named:
    """Base of every object: NAME, its parts, and its handles.

    A subclass sets _prefix (for unique names), _reserve (characters its parts add to the
    name), _unlink (a function of the name's bytes) and implements _open(flags) -> Handle
    and _state() -> the arguments _rebuild needs besides the name.
    """
    _prefix = "obj"
    _reserve = 0
    _unlink = None

    def _setup(self, name, create):
        """Opens (with create: creating if needed) the object in the calling thread.  With no
        name the object gets a unique one and is removed when this object goes away or this
        process exits, whichever comes first."""
        self.owner_died = False
        if name is None:
            name = _lib.unique_name(self._prefix)
            flags = _lib.SP_CREATE | _lib.SP_EXCL
            owned = True
        else:
            flags = _lib.SP_CREATE if create else 0
            owned = False
        self._name = name
        self._bname = _lib.encode_name(name, self._reserve)
        self._handles = _lib.PerThread(self._reopen)
        self._handles._local.h = self._open(flags)
        _lib.note_process()
        if owned:
            weakref.finalize(self, _lib.remover(type(self)._unlink, self._bname))

    def _reopen(self):
        return self._open(0)

    @property
    def name(self):
        return self._name

    def _h(self):
        return self._handles.get()

    def unlink(self):
        """Removes the object's name (processes attached keep using it)."""
        _lib.check(type(self)._unlink(self._bname), self._name)

    def __reduce__(self):
        return (_rebuild, (type(self), self._name, self._state()))

    def _state(self):
        return None

    def _restore(self, state):
        pass

    def __repr__(self):
        return "<%s %r>" % (type(self).__name__, self._name)


def _rebuild(cls, name, state):
    """Unpickling: opens the object NAME (it must exist) in the calling thread."""
    obj = cls.__new__(cls)
    obj._restore(state)
    obj._setup(name, False)
    return obj
