"""python -m shmpipe list|info|remove|remove-stale: the administration of the library's objects
in /dev/shm, as the consumer's --list, --info, --remove and --remove-stale, for every kind.

Exit status: 0; 64 bad usage; 66 no such object; 71 a system error.
"""
import argparse
import errno
import os
import sys
import time

from .admin import _find, objects, remove, stale, why

PROG = "python -m shmpipe"
EX_USAGE, EX_NOINPUT, EX_OSERR = 64, 66, 71


def cmd_list(a):
    objs = objects()
    print("%-40s %-6s %10s %8s %4s %8s %-10s" % ("NAME", "KIND", "SIZE", "ATTACHED", "DEAD",
                                                  "CREATOR", "STATE"))
    for o in objs:
        print("%-40s %-6s %10d %8d %4d %8d %-10s" % (
            o["name"], o["kind"], o["size"], o["attached"], o["dead"], o["creator_pid"],
            "stale" if stale(o) else o["state"]))
    return 0


def cmd_info(a):
    o = _find(a.name)
    if o is None:
        print("%s: %s: no such object" % (PROG, a.name), file=sys.stderr)
        return EX_NOINPUT
    for k in ("name", "kind", "size", "creator_pid", "creator_uid"):
        print("%s=%s" % (k, o[k]))
    print("created=%s" % time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                       time.localtime(o["created_ns"] / 1e9)))
    for k in ("attached", "dead"):
        print("%s=%s" % (k, o[k]))
    print("state=%s" % ("stale" if stale(o) else o["state"]))
    return 0


def cmd_remove(a):
    status = 0
    for name in a.names:
        rc = remove(name)
        if rc < 0:
            msg = "no such object" if rc == -errno.ENOENT else \
                "not an object this package knows" if rc == -errno.EPROTO else \
                os.strerror(-rc)
            print("%s: %s: %s" % (PROG, name, msg), file=sys.stderr)
            status = status or (EX_NOINPUT if rc in (-errno.ENOENT, -errno.EPROTO) else
                                EX_OSERR)
    return status


def cmd_remove_stale(a):
    from . import _lib
    prefix = a.prefix or ""
    before = [o for o in objects() if o["name"].startswith(prefix) and
              (stale(o) or (a.unused and not o["attached"] and o["state"] != "foreign"))]
    if before:
        rc = _lib.lib.sp_objects_remove_stale(prefix.encode("utf-8", "surrogateescape"),
                                              0x1 if a.unused else 0)
        if rc < 0:
            print("%s: /dev/shm: %s" % (PROG, os.strerror(-rc)), file=sys.stderr)
            return EX_OSERR
    left = {o["name"] for o in objects()}
    for o in before:
        if o["name"] not in left:
            print("removed %s (%s)" % (o["name"], why(o) if stale(o) else
                                       "%s, unused" % o["kind"]))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description="Lists and removes the objects of "
                                 "libshared (shmpipe) in /dev/shm.")
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND")
    p = sub.add_parser("list", help="every object: name, kind, size, attached, dead, state")
    p.set_defaults(fn=cmd_list)
    p = sub.add_parser("info", help="one object as key=value lines")
    p.add_argument("name")
    p.set_defaults(fn=cmd_info)
    p = sub.add_parser("remove", help="remove objects by name, with their parts")
    p.add_argument("names", nargs="+", metavar="name")
    p.set_defaults(fn=cmd_remove)
    p = sub.add_parser("remove-stale", help="remove objects nobody alive uses and in which "
                       "someone died (or that are unfinished, or lone lock files)")
    p.add_argument("prefix", nargs="?", help="only names that begin with PREFIX")
    p.add_argument("--unused", action="store_true",
                   help="also objects nobody is attached to at all")
    p.set_defaults(fn=cmd_remove_stale)
    a = ap.parse_args(argv)
    if not a.cmd:
        ap.print_usage(sys.stderr)
        print("%s: a command is needed" % PROG, file=sys.stderr)
        return EX_USAGE
    try:
        return a.fn(a)
    except OSError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return EX_OSERR
    except ImportError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return EX_OSERR


if __name__ == "__main__":
    sys.exit(main())
