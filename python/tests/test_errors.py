"""test_errors.py: bad names refused, and the library's errors mapped to Python's exceptions."""
import errno

import pytest

import shmpipe

KINDS = [lambda n: shmpipe.Lock(name=n), lambda n: shmpipe.Queue(name=n),
         lambda n: shmpipe.Value("i", name=n), lambda n: shmpipe.Pipe(name=n),
         lambda n: shmpipe.SharedMemory(n, create=True, size=1),
         lambda n: shmpipe.Dict(name=n), lambda n: shmpipe.Barrier(2, name=n)]


@pytest.mark.parametrize("make", KINDS)
@pytest.mark.parametrize("bad", ["a\0b", "x" * 101, "", ".hidden", "a/b", "sp ace"])
def test_bad_names_refused(make, bad):
    with pytest.raises(ValueError):
        make(bad)


def test_name_type():
    with pytest.raises(TypeError):
        shmpipe.Lock(name=b"bytes")


def test_queue_name_leaves_room_for_parts():
    with pytest.raises(ValueError):
        shmpipe.Queue(name="q" * 99)


def test_missing(name):
    with pytest.raises(FileNotFoundError):
        shmpipe.Lock(name=name, create=False)
    with pytest.raises(FileNotFoundError):
        shmpipe.Queue(name=name, create=False)


def test_wrong_kind(name):
    shmpipe.Event(name=name)
    with pytest.raises(OSError) as e:
        shmpipe.Value("i", name=name)
    assert e.value.errno == errno.EPROTO
    with pytest.raises(OSError) as e:
        shmpipe.Lock(name=name)        # both sync, another type
    assert e.value.errno == errno.EPROTO


def test_too_many_handles(name):
    lk = shmpipe.Lock(name=name)
    extra = []
    with pytest.raises(OSError) as e:
        for _ in range(200):
            extra.append(shmpipe.Lock(name=name, create=False))
    assert e.value.errno == errno.EUSERS
    del extra
    assert lk.acquire()
    lk.release()


def test_remove(name):
    shmpipe.Queue(name=name)
    assert shmpipe.remove(name)
    assert not shmpipe.remove(name)
    assert not [o for o in shmpipe.objects() if o["name"].startswith(name)]
