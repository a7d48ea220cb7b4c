#!/usr/bin/env python3
"""mpqueue.py: times multiprocessing.Queue (or, with --queue shmpipe, the shmpipe package's
Queue; with --queue pipe, a one-way multiprocessing.Pipe) moving fixed-size records from one
producer process to one consumer process, printed in ring_bench's format for bench/run.sh
(transport "mpqueue", "shmqueue" or "mppipe").

Each record is a bytes object of --size bytes carrying its sequence number (from 1) in its
first 8 bytes and, from 16 bytes up, the complement in its last 8; the consumer checks
every one, then that the producer's end marker (None) follows.  As in ring_bench, both
processes are forked and set up before a start gun (an Event), the time runs from the gun
to the consumer's last record checked, the count is calibrated to --seconds, and the
median of --runs timed runs is reported.  A run that outlasts --timeout is killed.

Exit status: 0; 64 bad usage; 65 a record wrong or missing; 70 a side failed or timed out;
128+N stopped by signal N.
"""
import argparse
import ctypes
import multiprocessing as mp
import signal
import struct
import sys
import time

PROG = "mpqueue.py"
MASK = (1 << 64) - 1
EX_DATAERR, EX_SOFTWARE = 65, 70


class Failed(Exception):
    def __init__(self, status, what):
        super().__init__(what)
        self.status = status


def die_with_parent():
    """Children die with the parent (PR_SET_PDEATHSIG), as ring_bench's do."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def producer(q, ready, go, n, size):
    die_with_parent()
    buf = bytearray(size)
    ready.release()
    go.wait()
    for seq in range(1, n + 1):
        struct.pack_into("<Q", buf, 0, seq)
        if size >= 16:
            struct.pack_into("<Q", buf, size - 8, ~seq & MASK)
        q.put(bytes(buf))
    q.put(None)
    q.close()
    q.join_thread()


def consumer(q, ready, go, n, size, out):
    die_with_parent()
    ready.release()
    go.wait()
    for seq in range(1, n + 1):
        r = q.get()
        if (r is None or len(r) != size or struct.unpack_from("<Q", r, 0)[0] != seq
                or (size >= 16 and struct.unpack_from("<Q", r, size - 8)[0] != ~seq & MASK)):
            out.send(("bad", "record %d of %d: %s" % (seq, n, "missing" if r is None else
                                                        "wrong or torn")))
            return
    t_end = time.monotonic_ns()
    try:
        extra = q.get(timeout=5)
    except Exception:  # queue.Empty: the end marker never came
        extra = "timeout"
    if extra is not None:
        out.send(("bad", "no end marker after the last record"))
        return
    out.send(("ok", t_end))


class PipeQueue:
    """A one-way multiprocessing.Pipe with the Queue methods the two sides call: the
    producer sends on one end, the consumer receives on the other (pickled, as a Queue)."""

    def __init__(self, ctx):
        self.r, self.w = ctx.Pipe(duplex=False)

    def put(self, obj):
        self.w.send(obj)

    def get(self, timeout=None):
        if timeout is not None and not self.r.poll(timeout):
            raise Exception("empty")
        return self.r.recv()

    def close(self):
        self.r.close()
        self.w.close()

    def join_thread(self):
        pass


def run_once(ctx, make_queue, n, size, timeout):
    """One run of n records.  Returns its seconds."""
    q = make_queue()
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    rd, wr = ctx.Pipe(duplex=False)
    kids = [ctx.Process(target=producer, args=(q, ready, go, n, size), daemon=True),
            ctx.Process(target=consumer, args=(q, ready, go, n, size, wr), daemon=True)]
    deadline = time.monotonic() + timeout
    try:
        for k in kids:
            k.start()
        for _ in kids:
            if not ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise Failed(EX_SOFTWARE, "timed out waiting for both sides to be ready")
        t0 = time.monotonic_ns()
        go.set()
        # Our copy of the pipe's write end keeps it open, so a dead consumer
        # shows only as an exit code: look every 50 ms.
        while not rd.poll(0.05):
            if any(k.exitcode not in (None, 0) for k in kids):
                raise Failed(EX_SOFTWARE, "a side died (exit codes %s)"
                             % [k.exitcode for k in kids])
            if time.monotonic() >= deadline:
                raise Failed(EX_SOFTWARE, "timed out after %g s (see --timeout)" % timeout)
        status, what = rd.recv()
        if status != "ok":
            raise Failed(EX_DATAERR, what)
        for k in kids:
            k.join(max(0.0, deadline - time.monotonic()))
            if k.exitcode != 0:
                raise Failed(EX_SOFTWARE, "a side exited with %s" % k.exitcode)
        return (what - t0) / 1e9
    finally:
        for k in kids:
            if k.is_alive():
                k.kill()
                k.join()
        q.close()
        rd.close()
        wr.close()


def size_str(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    if n >= 1024 and n % 1024 == 0:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def main():
    ap = argparse.ArgumentParser(prog=PROG, description="Times multiprocessing.Queue (or, with "
                                 "--queue, a one-way multiprocessing.Pipe or shmpipe.Queue) "
                                 "between one producer and one consumer process.")
    ap.add_argument("-s", "--size", type=int, default=64, help="record bytes, at least 8 (64)")
    ap.add_argument("-r", "--runs", type=int, default=3, help="timed runs (3)")
    ap.add_argument("-S", "--seconds", type=float, default=0.5, help="length of a run (0.5)")
    ap.add_argument("-n", "--count", type=int, default=0, help="records per run, no calibration")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds a run may take (60)")
    ap.add_argument("--queue", choices=("mp", "shmpipe", "pipe"), default="mp",
                    help="multiprocessing.Queue (mp), shmpipe.Queue (shmpipe) or a one-way "
                    "multiprocessing.Pipe (pipe)")
    ap.add_argument("--csv", action="store_true", help="also print a CSV line")
    ap.add_argument("-q", "--quiet", action="store_true", help="no header line")
    a = ap.parse_args()
    if a.size < 8 or a.runs < 1 or a.seconds <= 0 or a.count < 0 or a.timeout <= 0:
        ap.error("bad value")

    def stop(sig, _frame):
        raise Failed(128 + sig, "interrupted by %s" % signal.Signals(sig).name)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, stop)

    ctx = mp.get_context("fork")
    if a.queue == "shmpipe":
        try:
            import shmpipe
        except Exception as e:   # ImportError, or shmpipe.LibraryError: no usable library
            print("%s: shmpipe.Queue: %s" % (PROG, e), file=sys.stderr)
            return EX_SOFTWARE
        make_queue, what, transport = shmpipe.Queue, "shmpipe.Queue", "shmqueue"
    elif a.queue == "pipe":
        make_queue, what, transport = (lambda: PipeQueue(ctx)), "multiprocessing.Pipe", "mppipe"
    else:
        make_queue, what, transport = ctx.Queue, "multiprocessing.Queue", "mpqueue"
    try:
        n = a.count
        if not n:
            # Short runs, growing until one lasts a tenth of the target; also the warm-up.
            n, secs = 2000, 0.0
            for _ in range(20):
                secs = run_once(ctx, make_queue, n, a.size, a.timeout)
                if secs >= a.seconds / 10:
                    break
                n = int(n * (min(100.0, max(2.0, a.seconds * 0.15 / secs)) if secs > 0 else 100))
            n = max(1, int(n * a.seconds / secs)) if secs > 0 else n
        times = sorted(run_once(ctx, make_queue, n, a.size, a.timeout) for _ in range(a.runs))
    except Failed as e:
        print("%s: %s %s: %s" % (PROG, what, size_str(a.size), e), file=sys.stderr)
        return e.status
    mid = len(times) // 2
    med = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
    mps, fast, slow = n / med, n / times[0], n / times[-1]
    if not a.quiet:
        print("# %s: python %s %s (fork), 1 producer x 1 consumer, median "
              "of %d runs, ~%g s each" % (PROG, sys.version.split()[0], what, a.runs, a.seconds))
    print("%-5s %-11s %8s %12s %9s %14s %9s %8s" % ("procs", "transport", "size", "records",
                                                     "median s", "msg/s", "GB/s", "spread"))
    print("%-5s %-11s %8s %12d %9.4f %14.0f %9.3f %7.1f%%" % (
        "1x1", transport, size_str(a.size), n, med, mps, mps * a.size / 1e9,
        100 * (fast - slow) / mps))
    if a.csv:
        print("\ncsv,columns,tput,procs,transport,size,records,runs,median_s,msg_per_s,"
              "gb_per_s,slowest_msg_per_s,fastest_msg_per_s")
        print("csv,tput,1x1,%s,%d,%d,%d,%.6f,%.0f,%.4f,%.0f,%.0f" % (
            transport, a.size, n, a.runs, med, mps, mps * a.size / 1e9, slow, fast))
    return 0


if __name__ == "__main__":
    sys.exit(main())
