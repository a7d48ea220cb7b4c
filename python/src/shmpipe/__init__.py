"""shmpipe: Python's multiprocessing and fasteners objects by name, for unrelated processes,
over libshared (ctypes; no compiler, no server process).

Every object takes name=: processes that know the name share the object, whoever started
them.  With no name it gets a unique one, and its creator removes it when the object goes
away or the creator exits.  Objects pickle by name, so they pass to multiprocessing.Process
under fork, spawn and forkserver.  A process that dies holding a lock leaves it to the next
acquirer, with an OwnerDiedWarning; one that dies at a Barrier breaks it.
"""
from ._base import OwnerDiedWarning
from ._lib import LibraryError
from .connection import BufferTooShort, Connection, Pipe
from .containers import Dict, List
from .iplock import (InterProcessLock, InterProcessReaderWriterLock, interprocess_locked,
                     interprocess_read_locked, interprocess_write_locked)
from .queues import JoinableQueue, Queue, ShutDown, SimpleQueue
from .shared_memory import ShareableList, SharedMemory
from .sharedctypes import Array, RawArray, RawValue, Value
from .synchronize import (Barrier, BoundedSemaphore, Condition, Event, Lock, RLock,
                          Semaphore)

__version__ = "0.1.0"
__all__ = ["Array", "Barrier", "BoundedSemaphore", "BufferTooShort", "Condition",
           "Connection", "Dict", "Event", "InterProcessLock", "InterProcessReaderWriterLock",
           "JoinableQueue", "LibraryError", "List", "Lock", "OwnerDiedWarning", "Pipe",
           "Queue", "RLock", "RawArray", "RawValue", "Semaphore", "ShareableList",
           "SharedMemory", "ShutDown", "SimpleQueue", "Value", "interprocess_locked", "interprocess_read_locked",
           "interprocess_write_locked", "library_version", "objects", "remove"]


def library_version():
    """The version string of the libshared.so.0 in use, and its path."""
    from . import _lib
    return _lib.lib.sp_version_string().decode(), _lib.path


def objects():
    """Every object of the library in /dev/shm, any kind, as dicts (name, kind, size,
    creator_pid, creator_uid, created_ns, attached, dead, state), read without attaching."""
    from . import admin
    return admin.objects()


def remove(name):
    """Removes the object NAME, of any kind, with its parts (a Queue's, a Pipe's).  Returns
    True, or False if there was none.  Processes attached keep using it."""
    import errno
    from . import _lib, admin
    rc = admin.remove(name)
    if rc == -errno.ENOENT:
        return False
    _lib.check(rc, name)
    return True
