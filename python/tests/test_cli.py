"""test_cli.py: python -m shmpipe list|info|remove|remove-stale."""
import subprocess
import sys

import shmpipe
from conftest import run_py


def cli(*args):
    return subprocess.run([sys.executable, "-m", "shmpipe"] + list(args), capture_output=True,
                          text=True, timeout=60)


def test_list_info_remove(name):
    shmpipe.Queue(name=name)
    p = cli("list")
    assert p.returncode == 0 and p.stdout.startswith("NAME")
    assert any(line.split()[:2] == [name, "ring"] for line in p.stdout.splitlines())
    p = cli("info", name)
    assert p.returncode == 0 and "kind=ring" in p.stdout and "attached=1" in p.stdout
    assert cli("remove", name).returncode == 0
    assert not [o for o in shmpipe.objects() if o["name"].startswith(name)]
    p = cli("remove", name)
    assert p.returncode == 66 and "no such object" in p.stderr
    assert cli("info", name).returncode == 66
    assert cli().returncode == 64


def test_remove_stale(name):
    run_py("""
        import os, sys, shmpipe
        shmpipe.Lock(name=sys.argv[1]).acquire()
        os._exit(0)                          # dies attached
        """, name)
    shmpipe.Event(name=name + "-alive")      # attached here: not stale
    p = cli("list")
    line = [x for x in p.stdout.splitlines() if x.startswith(name + " ")][0]
    assert line.split()[-1] == "stale"
    p = cli("remove-stale", name)
    assert p.returncode == 0
    assert p.stdout == "removed %s (sync, 1 dead, none alive)\n" % name
    left = [o["name"] for o in shmpipe.objects() if o["name"].startswith(name)]
    assert left == [name + "-alive"]
