"""test_queue_pipe.py: Queue, JoinableQueue, SimpleQueue, Pipe and Connection in one process."""
import array
import queue
import threading

import pytest

import shmpipe


def test_queue(name):
    q = shmpipe.Queue(name=name)
    assert q.empty() and q.qsize() == 0
    q.put(1)
    q.put({"a": [1, 2]}, True, None)
    q.put_nowait(None)
    assert q.qsize() == 3 and not q.empty()
    assert q.get() == 1
    assert q.get(True, 1) == {"a": [1, 2]}
    assert q.get_nowait() is None
    with pytest.raises(queue.Empty):
        q.get(False)
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)


def test_queue_unpicklable_raises_at_put(name):
    q = shmpipe.Queue(name=name)
    with pytest.raises(Exception):
        q.put(lambda: 0)
    assert q.empty()


def test_queue_full(name):
    q = shmpipe.Queue(name=name, capacity=4096)
    with pytest.raises(queue.Full):
        while True:
            q.put_nowait(b"x" * 100)
    assert q.full() or q.qsize() > 0


def test_queue_maxsize_counts_items(name):
    """Queue(maxsize) as Python's: put waits (block) or raises Full once maxsize items are
    in, whatever room the ring has; a get makes room for a putter blocked in another
    thread; an attached Queue has the creator's maxsize."""
    q = shmpipe.Queue(2, name=name)
    other = shmpipe.Queue(name=name, create=False)
    assert other.maxsize == 2 and not q.full()
    q.put(1)
    q.put(2)
    assert q.full() and q.qsize() == 2
    with pytest.raises(queue.Full):
        q.put_nowait(3)
    with pytest.raises(queue.Full):
        other.put(3, timeout=0.02)
    done = []
    t = threading.Thread(target=lambda: done.append(other.put(3, timeout=30)))
    t.start()
    assert q.get(timeout=30) == 1            # makes room: the thread's put goes in
    t.join(30)
    assert done == [None] and q.get(timeout=30) == 2 and q.get(timeout=30) == 3


def test_queue_large_message_spills(name):
    q = shmpipe.Queue(name=name, capacity=4096)
    big = bytes(range(256)) * 1000
    q.put(big)
    assert q.get(timeout=10) == big
    assert not [o for o in shmpipe.objects() if ".spill." in o["name"]]


def test_queue_results_are_own_copies(name):
    # get() and get_bytes() read out of one receive buffer per thread: what they return must
    # not change when the next message arrives in it.
    q = shmpipe.Queue(name=name)
    q.put_bytes(b"a" * 10)
    q.put_bytes(b"b" * 5)
    q.put(bytearray(b"c" * 10))
    q.put(b"d" * 5)
    first, second = q.get_bytes(), q.get_bytes()
    third, fourth = q.get(), q.get()
    assert (first, second) == (b"a" * 10, b"b" * 5)
    assert type(first) is bytes and type(third) is bytearray
    assert (third, fourth) == (bytearray(b"c" * 10), b"d" * 5)


def test_queue_bytes_and_close(name):
    q = shmpipe.Queue(name=name)
    q.put_bytes(b"raw")
    assert q.get_bytes() == b"raw"
    q.close()
    with pytest.raises(ValueError, match="is closed"):
        q.put(1)
    with pytest.raises(ValueError, match="is closed"):
        q.get()


def test_queue_shutdown(name):
    q = shmpipe.Queue(name=name)
    q.put(1)
    q.shutdown()
    with pytest.raises(shmpipe.ShutDown):
        q.put(2)
    assert q.get() == 1
    with pytest.raises(shmpipe.ShutDown):
        q.get()


def test_joinable_queue(name):
    q = shmpipe.JoinableQueue(name=name)
    with pytest.raises(ValueError):
        q.task_done()
    for i in range(10):
        q.put(i)

    def work():
        while True:
            if q.get(timeout=30) is None:
                q.task_done()
                return
            q.task_done()
    t = threading.Thread(target=work)
    t.start()
    assert q.join(timeout=30)
    q.put(None)
    t.join()
    assert q.join(0)


def test_simple_queue(name):
    q = shmpipe.SimpleQueue(name=name)
    q.put("x")
    assert not q.empty()
    assert q.get() == "x"


def test_pipe(name):
    a, b = shmpipe.Pipe(name=name)
    a.send([1, 2.25, None])
    assert b.recv() == [1, 2.25, None]
    b.send_bytes(b"abcdefgh", 2, 3)
    assert a.recv_bytes() == b"cde"
    assert a.poll() is False and a.poll(0.05) is False
    b.send_bytes(array.array("i", range(4)))
    buf = array.array("i", [0] * 6)
    assert a.recv_bytes_into(buf, 4) == 16
    assert list(buf) == [0, 0, 1, 2, 3, 0]
    b.send_bytes(b"x" * 40)
    with pytest.raises(shmpipe.BufferTooShort):
        a.recv_bytes_into(bytearray(10))
    with pytest.raises(ValueError):
        a.send_bytes(b"abc", 4)
    b.close()
    with pytest.raises(EOFError):
        a.recv()
    with pytest.raises(BrokenPipeError):
        a.send(1)
    a.close()
    with pytest.raises(OSError):
        a.recv()


def test_pipe_big_message_in_pieces(name):
    a, b = shmpipe.Pipe(name=name, capacity=4096)
    big = bytes(range(256)) * 4096
    t = threading.Thread(target=b.send_bytes, args=(big,))
    t.start()
    assert a.recv_bytes() == big
    t.join()
    errors = []

    def send():
        try:
            b.send_bytes(big)
        except BrokenPipeError as e:          # the receiver closed: expected
            errors.append(e)
    t = threading.Thread(target=send)
    t.start()
    with pytest.raises(OSError, match="bad message length"):
        a.recv_bytes(maxlength=1000)
    t.join()
    assert a.closed and len(errors) == 1


def test_pipe_oneway(name):
    r, w = shmpipe.Pipe(False, name=name)
    assert r.readable and not r.writable and w.writable and not w.readable
    w.send(1)
    assert r.recv() == 1
    with pytest.raises(OSError):
        r.send(2)
    with pytest.raises(OSError):
        w.recv()
    with pytest.raises(OSError):
        w.poll()
