"""The storage interfaces every backend implements.

Objects are immutable bytes named by their blake3 id; ``put`` is idempotent and
``get`` verifies the hash, so corruption is raised, never returned. Refs are names
whose value is an object id or ``ref: NAME`` (symbolic, like git's HEAD); they only
change by compare-and-swap, and every change is written to the reflog in the same
transaction as the objects it points at.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from ..errors import RefConflictError, RefExistsError

#: A put of an object already stored refreshes its write time when the time is older than
#: this (docs/gc.md): gc's grace period then also protects objects a writer re-uses, while
#: a busy writer re-putting the same nodes does not rewrite their rows on every commit.
REFRESH_AFTER = timedelta(seconds=60)

#: ``expected`` value for a CAS update that does not care what the ref holds.
ANY = object()

SYMBOLIC_PREFIX = "ref: "


@dataclass(frozen=True)
class RefLogEntry:
    """One move of a ref: from ``old`` to ``new`` (None = absent), by whom, when, why."""

    ref: str
    old: str | None
    new: str | None
    who: str
    when: datetime
    why: str


class ObjectStore(ABC):
    """Content-addressed, immutable objects, each with the time it was last written."""

    @abstractmethod
    def get(self, oid: str) -> bytes:
        """The raw bytes of an object, verified; ObjectNotFoundError if absent."""

    @abstractmethod
    def has_many(self, oids: Iterable[str]) -> set[str]:
        """The subset of ``oids`` present in the store."""

    @abstractmethod
    def iter_ids(self, written_before: datetime | None = None,
                 written_since: datetime | None = None) -> Iterator[str]:
        """Every object id (no particular order), optionally only those last written before
        ``written_before`` / at or after ``written_since``. Streams: never one list of all ids."""

    @abstractmethod
    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Up to ``limit`` ids starting with the lowercase hex ``prefix``."""

    @abstractmethod
    def delete_objects(self, oids: Iterable[str], written_before: datetime | None = None) -> int:
        """Remove objects (for gc only); returns how many were removed.

        With ``written_before``, an object (re)written at or after that time is kept: a
        writer that re-put it since gc looked is not robbed of it."""

    def get_many(self, oids: Iterable[str]) -> dict[str, bytes]:
        """Verified raw bytes of those ``oids`` that are present (absent ones are left out)."""
        found: dict[str, bytes] = {}
        for oid in self.has_many(list(oids)):
            found[oid] = self.get(oid)
        return found

    def now(self) -> datetime:
        """The store's clock (UTC), the one object write times and reflog times are taken by."""
        return datetime.now(timezone.utc)

    def has(self, oid: str) -> bool:
        return bool(self.has_many([oid]))

    def put_many(self, objects: Mapping[str, bytes]) -> None:
        """Store objects (id -> raw bytes); ids already present are skipped (their write
        time refreshed when older than REFRESH_AFTER)."""
        with self.transaction() as tx:  # type: ignore[attr-defined]
            tx.put_objects(objects)

    def put(self, oid: str, raw: bytes) -> None:
        self.put_many({oid: raw})

    def stored_size(self) -> int:
        """Bytes the objects take in storage (compressed), for benchmarks and stats."""
        raise NotImplementedError


class RefStore(ABC):
    """Named pointers that change only by compare-and-swap, with a reflog."""

    @abstractmethod
    def read_ref(self, name: str) -> str | None:
        """The stored value of a ref (id or ``ref: NAME``), or None if absent."""

    @abstractmethod
    def list_refs(self, prefix: str = "") -> dict[str, str]:
        """Every ref whose name starts with ``prefix``, name -> value, sorted by name."""

    @abstractmethod
    def reflog(self, name: str, limit: int | None = None) -> list[RefLogEntry]:
        """Moves of ``name``, newest first."""

    @abstractmethod
    def reflog_seq(self) -> int:
        """The sequence number of the newest reflog entry (0 if none); later entries get larger ones."""

    @abstractmethod
    def iter_reflog_targets(self, after_seq: int = 0, names: Iterable[str] | None = None) -> Iterator[str]:
        """Distinct ids (old and new values) named by reflog entries newer than ``after_seq``
        of refs that exist now (only ``names`` among them, if given), streamed: gc's roots."""

    @abstractmethod
    def reflog_names(self) -> list[str]:
        """Every ref name that has reflog entries, existing or deleted."""

    @abstractmethod
    def expire_reflog(self, name: str, before: datetime,
                      keep: Callable[[str | None, str | None], bool] | None = None) -> int:
        """Delete ``name``'s reflog entries older than ``before`` (except those for whose
        (old, new) values ``keep`` is true), in batches; returns how many were deleted."""

    def update_ref(self, name: str, new: str, expected: object = ANY, who: str = "", why: str = "") -> None:
        """Set ``name`` to ``new`` if it holds ``expected`` (None: must not exist)."""
        with self.transaction() as tx:  # type: ignore[attr-defined]
            tx.set_ref(name, new, expected, who, why)

    def delete_ref(self, name: str, expected: object = ANY, who: str = "", why: str = "") -> None:
        with self.transaction() as tx:  # type: ignore[attr-defined]
            tx.delete_ref(name, expected, who, why)


class Transaction(ABC):
    """Writes that land together or not at all."""

    @abstractmethod
    def put_objects(self, objects: Mapping[str, bytes]) -> None: ...

    @abstractmethod
    def read_ref(self, name: str) -> str | None:
        """The ref's value as this transaction sees it (locked against other writers)."""

    def gc_epoch(self) -> int | None:
        """``Store.gc_epoch`` as this transaction sees it: no sweep runs while it is open, so
        an equal value means no object was deleted since the value was read (None: unknown)."""
        return None

    def read_refs(self, names: Sequence[str]) -> dict[str, str | None]:
        """Several refs' values (None: absent); stores override it to read them in one query."""
        return {name: self.read_ref(name) for name in names}

    def assume_refs(self, values: Mapping[str, str | None]) -> None:
        """Values the caller believes these refs hold (it wrote them last). A store whose
        reads cost a round trip (PostgreSQL) may answer reads of them from here, and then
        checks them when the transaction commits: RefConflictError if one was wrong, and
        nothing is written. Stores with cheap reads ignore this."""

    def lock_refs(self, names: Sequence[str]) -> dict[str, str | None]:
        """``read_refs``, and no other writer moves these refs until this transaction ends
        (a writer that moves many refs at once catches up inside it instead of losing the
        race). Stores whose transactions already exclude every writer just read them."""
        return self.read_refs(names)

    @abstractmethod
    def _write_ref(self, name: str, value: str | None) -> None:
        """Store (or with None remove) a ref, without checks."""

    @abstractmethod
    def log_ref(self, name: str, old: str | None, new: str | None, who: str, why: str) -> None:
        """Append a reflog entry."""

    def set_ref(self, name: str, new: str, expected: object = ANY, who: str = "", why: str = "") -> str | None:
        """Compare-and-swap: set ``name`` to ``new`` if it holds ``expected``; returns the old value."""
        old = self.read_ref(name)
        check_expected(name, old, expected)
        if old != new:
            self._write_ref(name, new)
        self.log_ref(name, old, new, who, why)
        return old

    def delete_ref(self, name: str, expected: object = ANY, who: str = "", why: str = "") -> str | None:
        """Compare-and-swap delete; returns the old value."""
        old = self.read_ref(name)
        check_expected(name, old, expected)
        if old is None:
            raise RefConflictError(f"ref {name} does not exist", name, expected, None)
        self._write_ref(name, None)
        self.log_ref(name, old, None, who, why)
        return old


def check_expected(name: str, actual: str | None, expected: object) -> None:
    if expected is ANY or actual == expected:
        return
    if expected is None:
        raise RefExistsError(f"ref {name} already exists", name, expected, actual)
    raise RefConflictError(
        f"ref {name} moved: expected {_short(expected)}, found {_short(actual)}", name, expected, actual
    )


def _short(value: object) -> str:
    if value is None:
        return "nothing"
    text = str(value)
    return text[:12] if not text.startswith(SYMBOLIC_PREFIX) else text


class Store(ObjectStore, RefStore):
    """A backend: objects and refs, written together in transactions."""

    #: URL or path this store was opened from, for messages and remotes.
    location: str = ""
    #: Whether a read costs a round trip to a server: then a writer that knows what refs it
    #: left behind assumes them (Transaction.assume_refs) instead of reading them again.
    remote_reads: bool = False

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        """Atomic writes: objects and CAS ref updates commit together or roll back."""

    @abstractmethod
    def gc_lock(self) -> contextlib.AbstractContextManager[None]:
        """Exclude every write transaction while held (docs/gc.md): one that started before
        has landed, none starts until release. Inside, this thread's reads see the latest
        state and ``delete_objects`` runs in the lock's own transaction (atomically at release)."""

    def gc_epoch(self) -> int | None:
        """How many sweeps have deleted objects from this store (docs/gc.md): a transfer reads
        it before planning and, in the transaction that moves its refs, re-plans only if it
        changed. None when the store keeps no count (a transfer then always re-plans)."""
        return None

    def bump_gc_epoch(self) -> None:
        """Count one more sweep that deletes objects: called inside ``gc_lock``, so it lands
        with the deletes (atomically at release)."""

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
