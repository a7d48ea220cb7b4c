"""_run.py: what the lessons share: starting their roles as separate programs, by name only."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def start(script, *args, out=None):
    """Starts `python script args...` as a program of its own (not a fork of ours): it finds
    the lesson's objects by name only."""
    return subprocess.Popen([sys.executable, os.path.join(HERE, script)] + [str(a) for a in args],
                            stdout=out if out is not None else subprocess.PIPE, text=True)


def finish(procs, timeout=120):
    """Waits for every process; returns (all exited 0, their outputs joined)."""
    ok, out = True, []
    for p in procs:
        o, _ = p.communicate(timeout=timeout)
        out.append(o or "")
        ok = ok and p.returncode == 0
    return ok, "".join(out)


def say(text):
    for line in text.rstrip("\n").split("\n"):
        if line:
            print("  " + line)
