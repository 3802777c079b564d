"""An in-memory store: the reference backend for tests and for pure computations."""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timezone
from typing import Iterable, Iterator, Mapping

from ..errors import ObjectNotFoundError
from .base import RefLogEntry, Store, Transaction, pack, unpack_verified


class MemoryStore(Store):
    """Objects, refs and reflog in dicts; writers serialise on one lock."""

    def __init__(self, location: str = "memory:") -> None:
        self.location = location
        self._objects: dict[str, bytes] = {}  # id -> stored (packed) bytes, verified on read
        self._refs: dict[str, str] = {}
        self._reflog: list[RefLogEntry] = []
        self._lock = threading.RLock()

    # objects
    def get(self, oid: str) -> bytes:
        stored = self._objects.get(oid)
        if stored is None:
            raise ObjectNotFoundError(f"object {oid} not found")
        return unpack_verified(oid, stored)

    def has_many(self, oids: Iterable[str]) -> set[str]:
        return {o for o in oids if o in self._objects}

    def iter_ids(self) -> Iterator[str]:
        return iter(list(self._objects))

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        return sorted(o for o in self._objects if o.startswith(prefix))[:limit]

    def delete_objects(self, oids: Iterable[str]) -> int:
        with self._lock:
            n = 0
            for oid in oids:
                n += self._objects.pop(oid, None) is not None
            return n

    def stored_size(self) -> int:
        return sum(len(v) for v in self._objects.values())

    # refs
    def read_ref(self, name: str) -> str | None:
        return self._refs.get(name)

    def list_refs(self, prefix: str = "") -> dict[str, str]:
        return {k: v for k, v in sorted(self._refs.items()) if k.startswith(prefix)}

    def reflog(self, name: str, limit: int | None = None) -> list[RefLogEntry]:
        entries = [e for e in reversed(self._reflog) if e.ref == name]
        return entries[:limit] if limit is not None else entries

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            tx = _MemoryTransaction(self)
            yield tx
            self._objects.update(tx.objects)
            for name, value in tx.refs.items():
                if value is None:
                    self._refs.pop(name, None)
                else:
                    self._refs[name] = value
            self._reflog.extend(tx.logs)

    # test support: damage an object in place
    def _corrupt(self, oid: str) -> None:
        stored = bytearray(self._objects[oid])
        stored[-1] ^= 0x01
        self._objects[oid] = bytes(stored)


class _MemoryTransaction(Transaction):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.objects: dict[str, bytes] = {}
        self.refs: dict[str, str | None] = {}
        self.logs: list[RefLogEntry] = []

    def put_objects(self, objects: Mapping[str, bytes]) -> None:
        for oid, raw in objects.items():
            if oid not in self.store._objects:
                self.objects[oid] = pack(raw)

    def read_ref(self, name: str) -> str | None:
        if name in self.refs:
            return self.refs[name]
        return self.store._refs.get(name)

    def _write_ref(self, name: str, value: str | None) -> None:
        self.refs[name] = value

    def log_ref(self, name: str, old: str | None, new: str | None, who: str, why: str) -> None:
        self.logs.append(RefLogEntry(name, old, new, who, datetime.now(timezone.utc), why))
