"""test_data.py: Value, Array, RawValue, RawArray, Dict, List and SharedMemory."""
import ctypes
import os
import pickle

import pytest

import shmpipe


@pytest.mark.parametrize("code,a,b", [("i", 4343, -24234), ("d", 3.625, -4.25),
                                      ("h", -232, 234), ("q", 2 ** 33, -2 ** 40),
                                      ("Q", 2 ** 63, 5), ("c", b"x", b"y"), ("f", 1.5, 2.5),
                                      ("?", True, False), ("B", 255, 0)])
def test_value_types(name, code, a, b):
    v = shmpipe.Value(code, a, name=name)
    assert v.value == a
    w = shmpipe.Value(code, name=name, create=False)    # same object, not re-initialised
    assert w.value == a
    w.value = b
    assert v.value == b
    assert pickle.loads(pickle.dumps(v)).value == b


def test_value_lock_and_raw(name):
    v = shmpipe.Value("i", 5, name=name)
    with v.get_lock():
        v.value += 1                       # access under the held lock does not deadlock
    assert v.value == 6
    assert isinstance(v.get_obj(), ctypes.c_int)
    lk = shmpipe.Lock()
    v3 = shmpipe.Value("i", 5, lock=lk)
    assert v3.get_lock() is lk
    for raw in (shmpipe.Value("i", 5, lock=False), shmpipe.RawValue("i", 5)):
        assert not hasattr(raw, "get_lock") and not hasattr(raw, "get_obj")
        assert raw.value == 5
    with pytest.raises(AttributeError):
        shmpipe.Value("i", 5, lock="notalock")
    with pytest.raises(TypeError):
        shmpipe.Value("z")
    with pytest.raises(OSError):           # another type under the same name
        shmpipe.Value("d", name=name, create=False)


def test_array(name):
    seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831]
    a = shmpipe.Array("i", seq, name=name)
    assert len(a) == 10 and a[3] == 821 and a[2:7] == seq[2:7]
    a[4:8] = [1, 2, 3, 4]
    seq[4:8] = [1, 2, 3, 4]
    assert a[:] == seq and list(a) == seq
    z = shmpipe.Array("d", 5)
    assert list(z) == [0.0] * 5
    r = shmpipe.RawArray("c", b"hello")
    assert r.value == b"hello" and r.raw == b"hello"
    with pytest.raises(IndexError):
        a[10]
    assert shmpipe.Array("i", 0)[:] == []


def test_dict(name):
    d = shmpipe.Dict(name=name, capacity=8, val_max=64)
    d["a"] = 1
    d["b"] = [None, "x"]
    assert d["a"] == 1 and d["b"] == [None, "x"] and len(d) == 2 and "a" in d
    assert sorted(d) == ["a", "b"] and dict(d.items()) == {"a": 1, "b": [None, "x"]}
    assert d.setdefault("a", 5) == 1 and d.setdefault("c", 5) == 5
    assert d.compare_and_set("c", 5, 6) and not d.compare_and_set("c", 5, 7)
    assert d.compare_and_set("new", KeyError, 1) and not d.compare_and_set("new", KeyError, 2)
    del d["a"]
    with pytest.raises(KeyError):
        d["a"]
    with pytest.raises(KeyError):
        del d["a"]
    with pytest.raises(TypeError):
        d[1] = 2
    with pytest.raises(ValueError):
        d["big"] = b"x" * 100
    for i in range(8 - len(d)):
        d["k%d" % i] = i
    with pytest.raises(OSError):
        d["one-too-many"] = 0
    assert shmpipe.Dict(name=name, create=False)["c"] == 6


def test_list(name):
    li = shmpipe.List([1, 2, 3], name=name, capacity=8)
    li.append(None)
    li.appendleft(0)
    assert li[:] == [0, 1, 2, 3, None] and li[-1] is None and len(li) == 5
    li[1] = "one"
    assert li.pop() is None and li.popleft() == 0 and li.pop(0) == "one"
    assert li[:] == [2, 3]
    li.insert(0, "front")
    li.insert(99, "back")
    with pytest.raises(IndexError):
        li.insert(1, "middle")
    del li[0]
    assert li[:] == [2, 3, "back"]
    with pytest.raises(IndexError):
        li[7]
    li.clear()
    with pytest.raises(IndexError):
        li.pop()


def test_shared_memory(name):
    m = shmpipe.SharedMemory(name, create=True, size=512)
    assert m.name == name and m.size == 512 and len(m.buf) == 512
    m.buf[0] = 42
    also = shmpipe.SharedMemory(name)
    assert also.buf[0] == 42
    bigger = shmpipe.SharedMemory(name, size=20 * 512)    # the size is ignored
    assert bigger.size == 512
    for x in (also, bigger):
        x.close()
    with pytest.raises(FileExistsError):
        shmpipe.SharedMemory(name, create=True, size=512)
    with pytest.raises(ValueError):
        shmpipe.SharedMemory(create=True, size=-2)
    with pytest.raises(ValueError):
        shmpipe.SharedMemory(create=True)
    with pytest.raises(ValueError):
        shmpipe.SharedMemory()
    m2 = pickle.loads(pickle.dumps(m))
    m2.buf[1] = 7
    assert m.buf[1] == 7
    m.close()
    m2.close()
    m.unlink()
    with pytest.raises(FileNotFoundError):
        m.unlink()
    with pytest.raises(FileNotFoundError):
        shmpipe.SharedMemory(name)


class OptionalAttach(shmpipe.SharedMemory):
    """As CPython's test_shared_memory_basics makes: O_CREAT, create if missing."""
    _flags = os.O_CREAT | os.O_RDWR


def test_shared_memory_o_creat(name):
    with pytest.raises(FileNotFoundError):      # size 0: nothing to create, only attach
        OptionalAttach(name)
    made = OptionalAttach(name, size=100)
    assert made.size == 100
    made.buf[0] = 9
    for size in (0, 50, 4096):                  # it exists: attached whatever the size
        also = OptionalAttach(name, size=size)
        assert also.size == 100 and also.buf[0] == 9
        also.close()
    made.close()
    made.unlink()


def test_shareable_list(name):
    sl = shmpipe.ShareableList(["howdy", b"HoWdY", -273.154, 100, None, True], name=name)
    assert isinstance(sl.shm, shmpipe.SharedMemory) and sl.shm.name == name
    also = shmpipe.ShareableList(name=name)             # attached by name
    also[3] = 7
    assert list(sl) == ["howdy", b"HoWdY", -273.154, 7, None, True]
    again = pickle.loads(pickle.dumps(sl))              # pickled by name
    assert type(again) is shmpipe.ShareableList and again[3] == 7
    for x in (sl, also, again):
        x.shm.close()
    sl.shm.unlink()
    with pytest.raises(FileNotFoundError):
        shmpipe.ShareableList(name=name)


def test_shareable_list_unnamed_by_name_elsewhere():
    """With no name, a unique one, readable from an unrelated program; removed at exit (the
    test script fails if anything is left in its /dev/shm)."""
    from conftest import run_py
    sl = shmpipe.ShareableList(range(5))
    assert sl.shm.name.startswith("py.shm.")
    p = run_py("""
        import sys, shmpipe
        sl = shmpipe.ShareableList(name=sys.argv[1])
        sl[0] = "set"
        print(list(sl))
        sl.shm.close()
        """, sl.shm.name)
    assert p.stdout.strip() == "['set', 1, 2, 3, 4]"
    assert sl[0] == "set"
