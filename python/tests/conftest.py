"""conftest.py: runs the package from python/src over the library in $B (build/ by default),
gives each test unique pid-based names and removes every object under them afterwards."""
import itertools
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(TOP, "python", "src")
B = os.environ.get("B", "build")
LIB = os.path.join(TOP, B, "libshared.so.0") if not os.path.isabs(B) else \
    os.path.join(B, "libshared.so.0")
os.environ.setdefault("SHMPIPE_LIBRARY", LIB)
os.environ["PYTHONPATH"] = SRC + (":" + os.environ["PYTHONPATH"]
                                  if os.environ.get("PYTHONPATH") else "")
sys.path.insert(0, SRC)
TOOLS = os.path.join(TOP, B, "tests") if not os.path.isabs(B) else os.path.join(B, "tests")

PREFIX = "pyt%d-" % os.getpid()
_n = itertools.count()


@pytest.fixture
def name():
    """A fresh name per test; everything named under the test's prefix is removed after it."""
    import shmpipe
    prefix = "%s%d" % (PREFIX, next(_n))
    yield prefix
    for o in shmpipe.objects():
        if o["name"].startswith(prefix):
            shmpipe.remove(o["name"])


def other_pythons():
    """sys.executable and any other python3 on the machine (Debian's beside pyenv's)."""
    seen, out = set(), []
    for p in [sys.executable, "/usr/bin/python3", shutil.which("python3")]:
        if p and os.path.exists(p):
            real = os.path.realpath(p)
            if real not in seen:
                seen.add(real)
                out.append(p)
    return out


def run_py(code, *args, python=None, timeout=60, check=True, **kw):
    """Runs `python -c code args...` as a program of its own; returns the CompletedProcess."""
    p = subprocess.run([python or sys.executable, "-c", textwrap.dedent(code)] +
                       [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("child failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return p


def start_py(code, *args, python=None, **kw):
    """Starts `python -c code args...`; its stdout is a pipe of text lines."""
    return subprocess.Popen([python or sys.executable, "-c", textwrap.dedent(code)] +
                            [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def expect_line(p, want, timeout=30):
    """Reads the child's next line (the child's own synchronisation point)."""
    import select
    r, _, _ = select.select([p.stdout], [], [], timeout)
    assert r, "no line from the child within %d s" % timeout
    line = p.stdout.readline().strip()
    assert line == want, (line, p.stderr.read() if p.poll() is not None else "")
