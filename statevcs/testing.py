"""The store contract: tests every backend must pass, written once (as dulwich and Irmin do).

A backend's test module subclasses :class:`StoreContract` and provides a ``store``
fixture returning a fresh, empty store, and ``corrupt(store, oid)`` that damages one
stored object in place::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self): ...
        def corrupt(self, store, oid): ...

Requires pytest (a test dependency, not a runtime one).
"""

from __future__ import annotations

import threading

import pytest

from .errors import (
    CorruptObjectError,
    ObjectNotFoundError,
    RefConflictError,
    RefExistsError,
)
from .model.objects import encode
from .store.base import ANY, Store


def make_object(n: int, size: int = 10) -> tuple[str, bytes]:
    """A distinct, valid object (id, raw) for tests; ``size`` pads it to test compression."""
    return encode(b"val1", {"v": f"object {n} " + "x" * size})


class StoreContract:
    """Behaviour every ObjectStore + RefStore backend must show."""

    def corrupt(self, store: Store, oid: str) -> None:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    # ------------------------------------------------------------ objects
    def test_put_get_roundtrip(self, store: Store) -> None:
        oid, raw = make_object(1)
        store.put(oid, raw)
        assert store.get(oid) == raw
        assert store.has(oid)

    def test_put_is_idempotent(self, store: Store) -> None:
        oid, raw = make_object(2)
        store.put(oid, raw)
        store.put(oid, raw)
        store.put_many({oid: raw})
        assert list(store.iter_ids()).count(oid) == 1

    def test_large_objects_roundtrip_compressed(self, store: Store) -> None:
        oid, raw = make_object(3, size=100_000)
        store.put(oid, raw)
        assert store.get(oid) == raw

    def test_missing_object(self, store: Store) -> None:
        oid, _ = make_object(4)
        assert not store.has(oid)
        with pytest.raises(ObjectNotFoundError):
            store.get(oid)

    def test_has_many_and_iterate(self, store: Store) -> None:
        objs = dict(make_object(i) for i in range(1200))
        store.put_many(objs)
        some = list(objs)[:700]
        other, _ = make_object(99_999)
        assert store.has_many(some + [other]) == set(some)
        assert set(store.iter_ids()) == set(objs)

    def test_prefix_lookup(self, store: Store) -> None:
        objs = dict(make_object(i) for i in range(50))
        store.put_many(objs)
        oid = sorted(objs)[7]
        assert store.ids_with_prefix(oid[:12]) == [oid]
        assert store.ids_with_prefix(oid[:5], limit=100) == sorted(o for o in objs if o.startswith(oid[:5]))
        assert store.ids_with_prefix(oid[:63] + ("0" if oid[63] != "0" else "1")) == []

    def test_corruption_detected(self, store: Store) -> None:
        oid, raw = make_object(5, size=1000)
        store.put(oid, raw)
        self.corrupt(store, oid)
        with pytest.raises(CorruptObjectError):
            store.get(oid)

    def test_delete_objects(self, store: Store) -> None:
        objs = dict(make_object(i) for i in range(5))
        store.put_many(objs)
        gone = list(objs)[:2]
        assert store.delete_objects(gone) == 2
        assert store.has_many(objs) == set(list(objs)[2:])

    # ------------------------------------------------------------ refs
    def test_ref_create_read_list(self, store: Store) -> None:
        a, _ = make_object(10)
        store.update_ref("refs/heads/main", a, None, "t", "create")
        store.update_ref("refs/tags/v1", a, None, "t", "tag")
        store.update_ref("HEAD", "ref: refs/heads/main", None, "t", "init")
        assert store.read_ref("refs/heads/main") == a
        assert store.read_ref("refs/heads/nope") is None
        assert store.list_refs("refs/heads/") == {"refs/heads/main": a}
        assert list(store.list_refs()) == ["HEAD", "refs/heads/main", "refs/tags/v1"]
        assert store.read_ref("HEAD") == "ref: refs/heads/main"

    def test_ref_compare_and_swap(self, store: Store) -> None:
        a, b, c = (make_object(i)[0] for i in (11, 12, 13))
        store.update_ref("refs/heads/main", a, None)
        with pytest.raises(RefExistsError):
            store.update_ref("refs/heads/main", b, None)
        with pytest.raises(RefConflictError):
            store.update_ref("refs/heads/main", c, b)
        assert store.read_ref("refs/heads/main") == a
        store.update_ref("refs/heads/main", b, a)
        assert store.read_ref("refs/heads/main") == b
        store.update_ref("refs/heads/main", c, ANY)
        assert store.read_ref("refs/heads/main") == c

    def test_ref_delete_is_compare_and_swap(self, store: Store) -> None:
        a, b = (make_object(i)[0] for i in (14, 15))
        store.update_ref("refs/heads/x", a, None)
        with pytest.raises(RefConflictError):
            store.delete_ref("refs/heads/x", b)
        store.delete_ref("refs/heads/x", a)
        assert store.read_ref("refs/heads/x") is None
        with pytest.raises(RefConflictError):
            store.delete_ref("refs/heads/x", ANY)

    def test_reflog_records_every_move_newest_first(self, store: Store) -> None:
        a, b = (make_object(i)[0] for i in (16, 17))
        store.update_ref("refs/heads/main", a, None, "alice", "one")
        store.update_ref("refs/heads/main", b, a, "bob", "two")
        store.delete_ref("refs/heads/main", b, "carol", "three")
        log = store.reflog("refs/heads/main")
        assert [(e.old, e.new, e.who, e.why) for e in log] == [
            (b, None, "carol", "three"), (a, b, "bob", "two"), (None, a, "alice", "one")]
        assert len(store.reflog("refs/heads/main", limit=1)) == 1

    def test_transaction_is_atomic(self, store: Store) -> None:
        a, b = (make_object(i)[0] for i in (18, 19))
        oid, raw = make_object(20)
        store.update_ref("refs/heads/main", a, None)
        with pytest.raises(RefConflictError):
            with store.transaction() as tx:
                tx.put_objects({oid: raw})
                tx.set_ref("refs/heads/other", b, None)
                tx.set_ref("refs/heads/main", b, "0" * 64)  # loses: nothing above may land
        assert not store.has(oid)
        assert store.read_ref("refs/heads/other") is None
        assert store.reflog("refs/heads/other") == []

    def test_transaction_sees_its_own_writes(self, store: Store) -> None:
        a, b = (make_object(i)[0] for i in (21, 22))
        with store.transaction() as tx:
            tx.set_ref("refs/heads/main", a, None)
            assert tx.read_ref("refs/heads/main") == a
            tx.set_ref("refs/heads/main", b, a)
        assert store.read_ref("refs/heads/main") == b

    def test_cas_under_concurrent_threads(self, store: Store) -> None:
        """Many threads race to advance one ref by CAS: every success is a distinct step."""
        start, _ = make_object(30)
        store.update_ref("refs/heads/race", start, None)
        wins: list[str] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            for i in range(20):
                new, raw = make_object(1000 * n + i)
                while True:
                    old = store.read_ref("refs/heads/race")
                    try:
                        with store.transaction() as tx:
                            tx.put_objects({new: raw})
                            tx.set_ref("refs/heads/race", new, old, f"w{n}", "race")
                    except RefConflictError:
                        continue
                    with lock:
                        wins.append(new)
                    break

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        log = store.reflog("refs/heads/race")
        assert len(wins) == 80
        # The reflog is one unbroken chain: each move starts where the previous ended.
        chain = [e for e in reversed(log)]
        assert chain[0].old is None
        for prev, nxt in zip(chain, chain[1:]):
            assert nxt.old == prev.new
        assert sorted(e.new for e in chain[1:]) == sorted(wins)


