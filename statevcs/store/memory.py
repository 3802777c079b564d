"""An in-memory store: the reference backend for tests and for pure computations."""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, Mapping

from ..errors import ObjectNotFoundError
from .base import REFRESH_AFTER, RefLogEntry, Store, Transaction
from .stored import pack, unpack_verified


class MemoryStore(Store):
    """Objects, refs and reflog in dicts; writers (and gc's sweep) serialise on one lock."""

    def __init__(self, location: str = "memory:") -> None:
        self.location = location
        self._objects: dict[str, bytes] = {}  # id -> stored (packed) bytes, verified on read
        self._written: dict[str, datetime] = {}  # id -> when last written (put or refreshed)
        self._refs: dict[str, str] = {}
        self._reflog: dict[int, RefLogEntry] = {}  # seq -> entry, in insertion (seq) order
        self._seq = 0
        self._lock = threading.RLock()
        self._gc_epoch = 0  # sweeps that deleted objects (docs/gc.md)

    # objects
    def get(self, oid: str) -> bytes:
        stored = self._objects.get(oid)
        if stored is None:
            raise ObjectNotFoundError(f"object {oid} not found")
        return unpack_verified(oid, stored)

    def has_many(self, oids: Iterable[str]) -> set[str]:
        return {o for o in oids if o in self._objects}

    def iter_ids(self, written_before: datetime | None = None,
                 written_since: datetime | None = None) -> Iterator[str]:
        with self._lock:
            ids = list(self._written.items())  # a snapshot: the dict may change while we yield
        for oid, when in ids:
            if written_before is not None and when >= written_before:
                continue
            if written_since is not None and when < written_since:
                continue
            yield oid

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        return sorted(o for o in self._objects if o.startswith(prefix))[:limit]

    def delete_objects(self, oids: Iterable[str], written_before: datetime | None = None) -> int:
        with self._lock:
            n = 0
            for oid in oids:
                when = self._written.get(oid)
                if when is None or (written_before is not None and when >= written_before):
                    continue
                del self._objects[oid], self._written[oid]
                n += 1
            return n

    def stored_size(self) -> int:
        return sum(len(v) for v in self._objects.values())

    # refs
    def read_ref(self, name: str) -> str | None:
        return self._refs.get(name)

    def list_refs(self, prefix: str = "") -> dict[str, str]:
        return {k: v for k, v in sorted(self._refs.items()) if k.startswith(prefix)}

    def reflog(self, name: str, limit: int | None = None) -> list[RefLogEntry]:
        with self._lock:
            entries = [e for e in reversed(self._reflog.values()) if e.ref == name]
        return entries[:limit] if limit is not None else entries

    def reflog_seq(self) -> int:
        return self._seq

    def iter_reflog_targets(self, after_seq: int = 0, names: Iterable[str] | None = None) -> Iterator[str]:
        with self._lock:
            wanted = set(self._refs) if names is None else set(names) & set(self._refs)
            seen: set[str] = set()
            for seq, e in list(self._reflog.items()):
                if seq > after_seq and e.ref in wanted:
                    seen.update(v for v in (e.old, e.new) if v)
        return iter(seen)

    def reflog_names(self) -> list[str]:
        with self._lock:
            return sorted({e.ref for e in self._reflog.values()})

    def expire_reflog(self, name: str, before: datetime,
                      keep: Callable[[str | None, str | None], bool] | None = None) -> int:
        with self._lock:
            gone = [seq for seq, e in self._reflog.items()
                    if e.ref == name and e.when < before and not (keep is not None and keep(e.old, e.new))]
            for seq in gone:
                del self._reflog[seq]
            return len(gone)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            tx = _MemoryTransaction(self)
            yield tx
            now = datetime.now(timezone.utc)
            for oid in tx.reused:
                if oid in self._written and self._written[oid] < now - REFRESH_AFTER:
                    self._written[oid] = now
            for oid, stored in tx.objects.items():
                if oid not in self._objects:
                    self._objects[oid] = stored
                self._written[oid] = now
            for name, value in tx.refs.items():
                if value is None:
                    self._refs.pop(name, None)
                else:
                    self._refs[name] = value
            for entry in tx.logs:
                self._seq += 1
                self._reflog[self._seq] = entry

    @contextlib.contextmanager
    def gc_lock(self) -> Iterator[None]:
        with self._lock:
            yield

    def gc_epoch(self) -> int | None:
        return self._gc_epoch

    def bump_gc_epoch(self) -> None:
        with self._lock:
            self._gc_epoch += 1

    # test support
    def _corrupt(self, oid: str) -> None:
        """Damage an object in place."""
        stored = bytearray(self._objects[oid])
        stored[-1] ^= 0x01
        self._objects[oid] = bytes(stored)

    def _backdate(self, seconds: float) -> None:
        """Move every object write time and reflog time ``seconds`` into the past."""
        from datetime import timedelta

        shift = timedelta(seconds=seconds)
        with self._lock:
            self._written = {o: t - shift for o, t in self._written.items()}
            self._reflog = {s: RefLogEntry(e.ref, e.old, e.new, e.who, e.when - shift, e.why)
                            for s, e in self._reflog.items()}


class _MemoryTransaction(Transaction):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.objects: dict[str, bytes] = {}
        self.reused: list[str] = []
        self.refs: dict[str, str | None] = {}
        self.logs: list[RefLogEntry] = []

    def put_objects(self, objects: Mapping[str, bytes]) -> None:
        for oid, raw in objects.items():
            if oid in self.store._objects:
                self.reused.append(oid)
            else:
                self.objects[oid] = pack(raw)

    def read_ref(self, name: str) -> str | None:
        if name in self.refs:
            return self.refs[name]
        return self.store._refs.get(name)

    def gc_epoch(self) -> int | None:
        return self.store._gc_epoch

    def _write_ref(self, name: str, value: str | None) -> None:
        self.refs[name] = value

    def log_ref(self, name: str, old: str | None, new: str | None, who: str, why: str) -> None:
        self.logs.append(RefLogEntry(name, old, new, who, datetime.now(timezone.utc), why))
