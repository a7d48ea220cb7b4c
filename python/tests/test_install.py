"""test_install.py: `pip install ./python` offline (no index, no setuptools: the build backend
in python/_build is the standard library's), then the installed package finds libshared.so.0
in each of its three places (SHMPIPE_LIBRARY, the copy beside the package, the system's
loader), refuses a library of another version, and reads a Queue a C program filled by name.
Without pip (.ci/run installs none), the package is installed as pip would install its pure
wheel: the backend's build_wheel() in an isolated interpreter, the wheel checked against its
RECORD and unpacked; only test_pip_install_offline is then skipped."""
import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import LIB, SRC, TOOLS, TOP

try:
    import pip  # noqa: F401  (only whether it is there)
    HAVE_PIP = True
except ImportError:
    HAVE_PIP = False


def _env(**kw):
    """The environment without the test suite's pointers at python/src and the library, and
    without pip settings that could reach an index or a wheel folder."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "SHMPIPE_LIBRARY", "SHMPIPE_BUNDLE_LIBRARY",
                        "LD_LIBRARY_PATH") and not k.startswith("PIP_")}
    env.update(kw)
    return env


def _install(target, **env):
    """pip install --no-index --target TARGET ./python, with pip's build isolation (its
    default): the backend's requirements must come from nowhere.  Without pip, _unpack()."""
    target = str(target)
    if not HAVE_PIP:
        return _unpack(target, **env)
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-cache-dir",
                        "--disable-pip-version-check", "--target", target,
                        os.path.join(TOP, "python")],
                       capture_output=True, text=True, timeout=120, env=_env(**env))
    assert p.returncode == 0, p.stdout + p.stderr
    return target


def _unpack(target, **env):
    """What pip does with the package: the backend's build_wheel() (in `python -I -B`: no site
    packages, no PYTHONPATH), then the wheel, checked against its RECORD, unpacked."""
    out = target + "-wheel"
    os.makedirs(out)
    p = subprocess.run([sys.executable, "-I", "-B", "-c",
                        "import sys; sys.path.insert(0, sys.argv[1]); import backend; "
                        "print(backend.build_wheel(sys.argv[2]))",
                        os.path.join(TOP, "python", "_build"), out],
                       capture_output=True, text=True, timeout=60, env=_env(**env))
    assert p.returncode == 0, p.stdout + p.stderr
    with zipfile.ZipFile(os.path.join(out, p.stdout.strip())) as z:
        record = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
        assert len(record) == 1
        rows = list(csv.reader(io.StringIO(z.read(record[0]).decode())))
        assert sorted(r[0] for r in rows) == sorted(z.namelist())
        for arcname, digest, size in rows:
            if arcname == record[0]:
                continue
            data = z.read(arcname)
            want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert (digest, size) == ("sha256=" + want.decode(), str(len(data))), arcname
        z.extractall(target)
    return target


def _py(code, *args, **env):
    p = subprocess.run([sys.executable, "-c", code] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=60, cwd="/", env=_env(**env))
    return p.returncode, p.stdout.strip(), p.stderr.strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The package installed once for the tests that need no copy of the library."""
    return _install(tmp_path_factory.mktemp("site"))


WHERE = "import shmpipe; print(shmpipe.__file__); print(shmpipe.library_version()[1])"


def test_offline_install_reads_a_queue_filled_by_c(site, name):
    """The C example examples/mp_queue.c makes and fills the queue; the installed package
    opens it by name in a program of its own."""
    t = site
    ex = os.path.join(os.path.dirname(TOOLS), "examples", "mp_queue")
    for args in (["init", name], ["produce", name, "3", "1"]):
        subprocess.run([ex] + args, check=True, timeout=30, capture_output=True)
    rc, out, err = _py("import sys, shmpipe\n"
                       "q = shmpipe.Queue(name=sys.argv[1], create=False)\n"
                       "print(shmpipe.__file__)\n"
                       "print([q.get_bytes(timeout=10) for _ in range(4)], q.empty())\n",
                       name, PYTHONPATH=t, SHMPIPE_LIBRARY=LIB)
    assert rc == 0, err
    where, got = out.split("\n")
    assert where.startswith(t + os.sep)
    assert got == "[b'item 0', b'item 1', b'item 2', b'STOP'] True"


def test_pip_install_offline(tmp_path):
    """pip itself, with its build isolation, no index and no PIP_* settings (the fixture
    above uses it too when it is there)."""
    if not HAVE_PIP:
        pytest.skip("no pip for %s (apt-get install python3-pip): the package was installed "
                    "from the backend's wheel instead" % sys.executable)
    t = _install(tmp_path / "site")
    assert os.path.isfile(os.path.join(t, "shmpipe", "queues.py"))
    assert [d for d in os.listdir(t) if d.endswith(".dist-info")] == ["shmpipe-0.1.0.dist-info"]


def test_library_from_the_variable(site):
    rc, out, err = _py(WHERE, PYTHONPATH=site, SHMPIPE_LIBRARY=LIB)
    assert rc == 0, err
    assert out.split("\n")[1] == LIB


def test_library_copied_beside_the_package(tmp_path):
    t = _install(tmp_path / "site", SHMPIPE_BUNDLE_LIBRARY=LIB)
    copy = os.path.join(t, "shmpipe", "libshared.so.0")
    assert os.path.isfile(copy)
    rc, out, err = _py(WHERE, PYTHONPATH=t)
    assert rc == 0, err
    assert out.split("\n")[1] == copy
    # The variable comes first, even over the copy.
    rc, out, err = _py(WHERE, PYTHONPATH=t, SHMPIPE_LIBRARY=str(tmp_path / "none.so"))
    assert rc != 0 and "LibraryError" in err and "none.so" in err


def test_library_from_the_system_loader():
    rc, out, err = _py(WHERE, PYTHONPATH=SRC, LD_LIBRARY_PATH=os.path.dirname(LIB))
    assert rc == 0, err
    assert out.split("\n")[1] == "libshared.so.0"
    rc, out, err = _py(WHERE, PYTHONPATH=SRC, LD_LIBRARY_PATH="/nonexistent")
    if rc == 0:
        pytest.skip("a libshared.so.0 is installed on this machine: %s" % out)
    assert "LibraryError" in err and "libshared.so.0" in err


@pytest.mark.parametrize("number,string", [(10000, "1.0.0"), (99, "0.0.99")])
def test_other_version_refused(tmp_path, number, string):
    cc = shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler to make a library of another version")
    src = tmp_path / "fake.c"
    src.write_text("unsigned sp_version_number(void) { return %du; }\n"
                   "const char *sp_version_string(void) { return \"%s\"; }\n"
                   % (number, string))
    so = tmp_path / "libshared.so.0"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True,
                   timeout=60)
    rc, out, err = _py("import shmpipe", PYTHONPATH=SRC, SHMPIPE_LIBRARY=str(so))
    assert rc != 0
    assert "LibraryError" in err and ("is version %s" % string) in err
