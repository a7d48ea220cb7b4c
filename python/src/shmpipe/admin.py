"""admin.py: the library's objects in /dev/shm as data: listing, the stale rule, removal
by name of any kind (python -m shmpipe is built on these)."""
import errno
import os


def objects():
    """Every object of the library, read from the headers without attaching."""
    from . import _lib
    out = []

    def collect(info, arg):
        i = info.contents
        out.append({"name": i.name.decode("utf-8", "surrogateescape"),
                    "kind": (i.kind_name or b"?").decode(), "size": i.size,
                    "creator_pid": i.creator_pid, "creator_uid": i.creator_uid,
                    "created_ns": i.created_ns, "attached": i.attached, "dead": i.dead,
                    "state": _lib.OBJ_STATES.get(i.state, str(i.state))})
        return 0
    rc = _lib.lib.sp_objects_list(_lib.ListFn(collect), None)
    if rc < 0:
        raise OSError(-rc, os.strerror(-rc), "/dev/shm")
    return sorted(out, key=lambda o: o["name"])


def stale(o):
    """The library's rule (sp_objects_remove_stale): nobody alive is attached, and it is
    unfinished, a lone lock file, or someone died attached."""
    if o["attached"] or o["state"] == "foreign":
        return False
    return o["state"] != "ok" or o["dead"] > 0


def why(o):
    if o["state"] == "unfinished":
        return "%s, its creator died creating it" % o["kind"]
    if o["state"] == "lock-only":
        return "a lock file without its segment"
    return "%s, %d dead, none alive" % (o["kind"], o["dead"])


def _find(name):
    for o in objects():
        if o["name"] == name:
            return o
    return None


def remove(name):
    """Removes the object NAME with all its parts (a queue's NAME.q, a pipe's rings).
    Returns 0 or -errno."""
    from . import _lib
    L = _lib.lib
    o = _find(name)
    if o is None:
        return -errno.ENOENT
    b = name.encode("utf-8", "surrogateescape")
    kind = o["kind"]
    if kind == "ring":
        q = _find(name + ".q")
        return L.sp_queue_unlink(b) if q and q["kind"] == "sync" else L.sp_ring_unlink(b)
    fn = {"pipe": L.sp_pipe_unlink, "sync": L.sp_sync_unlink, "value": L.sp_value_unlink,
          "dict": L.sp_dict_unlink, "list": L.sp_list_unlink, "shm": L.sp_shm_unlink}.get(kind)
    if fn is None:
        return -errno.EPROTO
    return fn(b)
