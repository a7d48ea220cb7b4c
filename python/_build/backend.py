"""backend.py: a PEP 517 build backend for shmpipe made of the standard library alone.

pip's usual backend (setuptools) would have to be installed into pip's isolated build
environment from an index; this one needs nothing, so `pip install ./python` works offline.
The package is pure Python.  With SHMPIPE_BUNDLE_LIBRARY=/path/to/libshared.so.0 in the
environment, that library is copied beside the package (shmpipe/libshared.so.0, the second
place the package looks) and the wheel is tagged for this platform instead of "any".
"""
import base64
import hashlib
import io
import os
import sysconfig
import tarfile
import zipfile

NAME, VERSION = "shmpipe", "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(HERE, "src", NAME)
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)
SUMMARY = ("multiprocessing and fasteners objects by name for unrelated processes, over "
           "libshared")


def _metadata():
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\n"
            "Requires-Python: >=3.8\n" % (NAME, VERSION, SUMMARY))


def _files():
    """(archive name, bytes) of the package."""
    out = []
    for fn in sorted(os.listdir(SRC)):
        if fn.endswith(".py"):
            with open(os.path.join(SRC, fn), "rb") as f:
                out.append(("%s/%s" % (NAME, fn), f.read()))
    lib = os.environ.get("SHMPIPE_BUNDLE_LIBRARY")
    if lib:
        with open(lib, "rb") as f:
            out.append(("%s/libshared.so.0" % NAME, f.read()))
    return out, bool(lib)


def _tag(bundled):
    if not bundled:
        return "py3-none-any"
    return "py3-none-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _wheel(wheel_directory, files, bundled):
    tag = _tag(bundled)
    wheel = "Wheel-Version: 1.0\nGenerator: shmpipe-backend\nRoot-Is-Purelib: %s\nTag: %s\n" \
        % ("false" if bundled else "true", tag)
    files = files + [(DIST_INFO + "/METADATA", _metadata().encode()),
                     (DIST_INFO + "/WHEEL", wheel.encode()),
                     (DIST_INFO + "/top_level.txt", (NAME + "\n").encode())]
    record = [_record_line(n, d) for n, d in files] + [DIST_INFO + "/RECORD,,"]
    files.append((DIST_INFO + "/RECORD", ("\n".join(record) + "\n").encode()))
    name = "%s-%s-%s.whl" % (NAME, VERSION, tag)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if arcname.endswith(".so.0") else 0o644) << 16
            z.writestr(info, data, zipfile.ZIP_DEFLATED)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files, bundled = _files()
    return _wheel(wheel_directory, files, bundled)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """An editable install: a .pth file that puts src/ on sys.path."""
    _, bundled = _files()
    return _wheel(wheel_directory, [(NAME + "-editable.pth",
                                     (os.path.join(HERE, "src") + "\n").encode())], bundled)


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, VERSION)
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "_build/backend.py"] + \
                ["src/%s/%s" % (NAME, f) for f in sorted(os.listdir(SRC)) if f.endswith(".py")]:
            t.add(os.path.join(HERE, rel), arcname="%s/%s" % (base, rel))
        pkg = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION)).encode()
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        info.size = len(pkg)
        t.addfile(info, io.BytesIO(pkg))
    return name
