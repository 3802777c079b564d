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
import time
from datetime import timedelta

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

    def backdate(self, store: Store, seconds: float) -> None:
        """Move every object write time and reflog time into the past (the built-in stores' hook)."""
        store._backdate(seconds)  # type: ignore[attr-defined]

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
        assert sorted(store.iter_ids()) == sorted(objs)  # pages: no id twice
        early = store.now() - timedelta(hours=1)
        assert sorted(store.iter_ids(written_since=early)) == sorted(objs)
        assert list(store.iter_ids(written_before=early)) == []
        assert store.get_many(some[:3] + [other]) == {o: objs[o] for o in some[:3]}

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

    def test_write_times_filter_and_guard_deletion(self, store: Store) -> None:
        objs = dict(make_object(i) for i in range(3))
        a, b, c = objs
        store.put_many({a: objs[a], b: objs[b]})
        self.backdate(store, 3600)
        store.put(c, objs[c])
        half = store.now() - timedelta(minutes=30)
        assert set(store.iter_ids(written_before=half)) == {a, b}
        assert set(store.iter_ids(written_since=half)) == {c}
        store.put(a, objs[a])  # a re-put refreshes a stale write time: a writer may be re-using it
        assert set(store.iter_ids(written_since=half)) == {a, c}
        assert store.delete_objects([a, b, c], written_before=half) == 1  # only b is still old
        assert store.has_many(objs) == {a, c}

    def test_reflog_targets_and_sequence(self, store: Store) -> None:
        a, b, c, d = (make_object(i)[0] for i in (40, 41, 42, 43))
        assert store.reflog_seq() == 0
        store.update_ref("refs/heads/main", a, None)
        store.update_ref("refs/heads/main", b, a)
        store.update_ref("refs/heads/gone", d, None)
        store.delete_ref("refs/heads/gone", d)
        mark = store.reflog_seq()
        assert mark > 0
        store.update_ref("refs/heads/main", c, b)
        assert store.reflog_seq() > mark
        assert set(store.iter_reflog_targets()) == {a, b, c}  # a deleted ref's reflog is no root
        assert set(store.iter_reflog_targets(after_seq=mark)) == {b, c}
        assert set(store.iter_reflog_targets(names=["refs/heads/gone"])) == set()
        assert store.reflog_names() == ["refs/heads/gone", "refs/heads/main"]

    def test_expire_reflog(self, store: Store) -> None:
        a, b, c = (make_object(i)[0] for i in (50, 51, 52))
        store.update_ref("refs/heads/main", a, None)
        store.update_ref("refs/heads/main", b, a)
        self.backdate(store, 40 * 86400)
        store.update_ref("refs/heads/main", c, b)
        month = store.now() - timedelta(days=30)
        assert store.expire_reflog("refs/heads/main", month, keep=lambda old, new: new == b) == 1
        assert [e.new for e in store.reflog("refs/heads/main")] == [c, b]
        assert store.expire_reflog("refs/heads/main", month) == 1
        assert [e.new for e in store.reflog("refs/heads/main")] == [c]
        assert store.expire_reflog("refs/heads/other", month) == 0

    def test_gc_lock_holds_writers_back(self, store: Store) -> None:
        oid, raw = make_object(60)
        landed = threading.Event()

        def writer() -> None:
            with store.transaction() as tx:
                tx.put_objects({oid: raw})
                tx.set_ref("refs/heads/w", oid, None)
            landed.set()

        thread = threading.Thread(target=writer)
        with store.gc_lock():
            thread.start()
            time.sleep(0.3)  # ample time for the writer to land, were it not held back
            assert not landed.is_set()
            assert store.read_ref("refs/heads/w") is None and not store.has(oid)
        thread.join(30)
        assert landed.is_set() and store.read_ref("refs/heads/w") == oid

    def test_gc_epoch_counts_sweeps_and_reads_in_a_transaction(self, store: Store) -> None:
        before = store.gc_epoch()
        assert before is not None  # every backend keeps the count (transfers re-plan without it)
        with store.transaction() as tx:
            assert tx.gc_epoch() == before
        with store.gc_lock():
            store.bump_gc_epoch()
        assert store.gc_epoch() == before + 1
        store.bump_gc_epoch()  # outside the lock: its own transaction
        with store.transaction() as tx:
            assert tx.gc_epoch() == before + 2

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


