"""judge_multiprocessing.py: CPython's own multiprocessing tests (test._test_multiprocessing, from
Debian's libpython3.X-testsuite) run over shmpipe's objects.

  python3 tests/python/judge_multiprocessing.py fork|spawn [-v] [-k PATTERN]

Each of CPython's test classes below is combined, as CPython's own install_tests_in_module_dict
does, with a mixin whose factories (self.Lock(), self.Queue(), ...) return shmpipe's objects;
_TestSharedMemory, which calls shared_memory.SharedMemory and ShareableList directly, sees a
shared_memory module whose SharedMemory and ShareableList are ours.  The only other
adaptation: a Condition whose multiprocessing internals (_sleeping_count, _woken_count,
_wait_semaphore, which check_invariant reads) raise NotImplementedError, the tests' own way of
saying "not available here".

Every test that fails by design is listed in judge_multiprocessing.expected with the reason:
listed "fail", it runs as an expected failure (and passing it counts as a failure, so the list
stays true); listed "skip", it does not run (it would hang or take minutes).  All others must
pass.  This file must be run as the main script: under spawn the children import it again
(as __mp_main__) and so see the same factories.

Prints one line per class (passed, failed, expected failures, skipped), the number of
expected failures, and a last line "judge-mp-METHOD: N passed, N failed, N skipped".  Exit status 0, 1 if anything failed, 77 if
the interpreter lacks CPython's tests.
"""
import os
import re
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "src"))

try:
    import test._test_multiprocessing as tm
except ImportError as e:
    print("judge_multiprocessing: no test._test_multiprocessing in %s (%s): skipped "
          "(apt-get install libpython3.%d-testsuite)" % (sys.executable, e,
                                                       sys.version_info[1]))
    sys.exit(77)
import multiprocessing
from multiprocessing import shared_memory as _cpython_shm

import shmpipe

CLASSES = ["_TestLock", "_TestSemaphore", "_TestCondition", "_TestEvent", "_TestBarrier",
           "_TestQueue", "_TestConnection", "_TestPoll", "_TestValue", "_TestArray",
           "_TestSharedMemory"]


class Condition(shmpipe.Condition):
    """shmpipe's Condition; the multiprocessing internals check_invariant reads are not
    there."""
    def _no(self):
        raise NotImplementedError("multiprocessing's internal counters: not in shmpipe")
    _sleeping_count = _woken_count = _wait_semaphore = property(_no)


class ShmpipeMixin(tm.ProcessesMixin):
    TYPE = "processes"
    Queue = staticmethod(shmpipe.Queue)
    JoinableQueue = staticmethod(shmpipe.JoinableQueue)
    Lock = staticmethod(shmpipe.Lock)
    RLock = staticmethod(shmpipe.RLock)
    Semaphore = staticmethod(shmpipe.Semaphore)
    BoundedSemaphore = staticmethod(shmpipe.BoundedSemaphore)
    Condition = Condition
    Event = staticmethod(shmpipe.Event)
    Barrier = staticmethod(shmpipe.Barrier)
    Value = staticmethod(shmpipe.Value)
    Array = staticmethod(shmpipe.Array)
    RawValue = staticmethod(shmpipe.RawValue)
    RawArray = staticmethod(shmpipe.RawArray)
    Pipe = staticmethod(shmpipe.Pipe)


# _TestSharedMemory calls shared_memory.SharedMemory and shared_memory.ShareableList (a global
# of CPython's test module): ours.
tm.shared_memory = types.SimpleNamespace(
    SharedMemory=shmpipe.SharedMemory, ShareableList=shmpipe.ShareableList, _USE_POSIX=True,
    _SHM_NAME_PREFIX=_cpython_shm._SHM_NAME_PREFIX, _make_filename=_cpython_shm._make_filename)


def read_expected(method):
    """{(class, test): (kind, reason)} from judge_multiprocessing.expected, for METHOD."""
    out = {}
    with open(os.path.join(HERE, "judge_multiprocessing.expected"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].rstrip() if line.lstrip().startswith("#") else \
                line.rstrip()
            if not line.strip():
                continue
            m = re.match(r"(?:(fork|spawn):)?(\w+)\.(\w+)\s+(fail|skip)\s+(.+)$", line.strip())
            if not m:
                raise SystemExit("judge_multiprocessing.expected: bad line: %r" % line)
            only, cls, test, kind, reason = m.groups()
            if only in (None, method):
                out[(cls, test)] = (kind, reason)
    return out


def build(method):
    """The test classes, one per CPython class, named WithShmpipeX, in this module."""
    expected = read_expected(method)
    mod = sys.modules[__name__]
    made = []
    for name in CLASSES:
        base = getattr(tm, name)
        attrs = {}
        for (cls, test), (kind, reason) in expected.items():
            if cls != name:
                continue
            if not hasattr(base, test):
                raise SystemExit("judge_multiprocessing.expected: %s.%s: no such test"
                                 % (cls, test))
            fn = getattr(base, test)
            attrs[test] = unittest.skip(reason)(fn) if kind == "skip" else \
                unittest.expectedFailure(fn)
        newname = "WithShmpipe" + name[1:]
        Temp = type(newname, (base, ShmpipeMixin, unittest.TestCase), attrs)
        Temp.__qualname__ = newname
        Temp.__module__ = __name__
        setattr(mod, newname, Temp)
        made.append(Temp)
    return made


class Result(unittest.TextTestResult):
    """Counts per class."""
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.per = {}

    def _count(self, test, what):
        c = self.per.setdefault(type(test).__name__, {"passed": 0, "failed": 0,
                                                      "xfail": 0, "skipped": 0})
        c[what] += 1

    def addSuccess(self, test):
        super().addSuccess(test)
        self._count(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._count(test, "failed")

    def addError(self, test, err):
        super().addError(test, err)
        self._count(test, "failed")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._count(test, "skipped")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._count(test, "xfail")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._count(test, "failed")
        self.stream.writeln("UNEXPECTED SUCCESS (listed as failing by design): %s" % test)


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("fork", "spawn", "forkserver"):
        print("usage: judge_multiprocessing.py fork|spawn|forkserver [-v] [-k PATTERN]",
              file=sys.stderr)
        return 64
    method = args[0]
    verbose = "-v" in args
    pattern = args[args.index("-k") + 1] if "-k" in args else None
    multiprocessing.set_start_method(method, force=True)
    tm.util.get_temp_dir()
    loader = unittest.TestLoader()
    if pattern:
        loader.testNamePatterns = ["*%s*" % pattern]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in build(method))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if verbose else 1,
                                     resultclass=Result)
    res = runner.run(suite)
    tot = {"passed": 0, "failed": 0, "xfail": 0, "skipped": 0}
    print("%-36s %6s %6s %6s %7s" % ("class (%s)" % method, "passed", "failed", "xfail",
                                     "skipped"))
    for cls, c in sorted(res.per.items()):
        print("%-36s %6d %6d %6d %7d" % (cls, c["passed"], c["failed"], c["xfail"],
                                         c["skipped"]))
        for k in tot:
            tot[k] += c[k]
    print("judge-mp-%s: %d failed as expected (judge_multiprocessing.expected says why)"
          % (method, tot["xfail"]))
    print("judge-mp-%s: %d passed, %d failed, %d skipped" % (
        method, tot["passed"], tot["failed"], tot["skipped"]))
    tm.util._cleanup_tests()
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
elif __name__ == "__mp_main__":
    # A spawned child: the classes must exist for unpickling its target.
    build(multiprocessing.get_start_method(allow_none=True) or "spawn")
