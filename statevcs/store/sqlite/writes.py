"""Write transactions of the embedded store: one ``packs`` row per transaction.

Objects put in a transaction are checked against ``objidx`` once (present ones are skipped,
their write time refreshed when stale) and the new ones buffered; ref writes and reflog
entries are buffered too. At commit the transaction appends one pack (the new objects'
stored forms and the moves), one ``objidx`` row per new object and one ``refs`` row per
touched ref, then COMMITs: a small commit touches a handful of B-tree pages.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Mapping, Sequence

from ..base import REFRESH_AFTER, Transaction
from ..stored import pack
from .layout import PACK_BYTES, to_us, toc
from .moves import SAME_PACK, dump_moves

if TYPE_CHECKING:
    from .store import SQLiteStore

_BATCH = 500
_REFRESH_MS = int(REFRESH_AFTER.total_seconds() * 1000)
_READ_REFS_AT_ONCE = 3  # what a commit reads: HEAD, its branch, the rules document
_READ_REFS = ("SELECT name, value, last FROM refs WHERE name IN (" + ",".join("?" * _READ_REFS_AT_ONCE) + ")")
_UPSERT_REF = ("INSERT INTO refs (name, value, last) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE "
               "SET value = excluded.value, last = COALESCE(excluded.last, refs.last)")
#: The count of sweeps that deleted objects (docs/gc.md): a ``meta`` row, absent until the first one.
GC_EPOCH = "SELECT value FROM meta WHERE key = 'gc_epoch'"


def gc_epoch_of(rows: list) -> int:
    return int(rows[0][0]) if rows else 0


class Write:
    """``SQLiteStore.transaction()``: a write transaction as a plain context manager (a commit
    makes one per call, so it is kept cheaper than a generator-based one)."""

    __slots__ = ("conn", "store", "tx")

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def __enter__(self) -> SQLiteTransaction:
        self.conn = self.store._begin()
        self.tx = SQLiteTransaction(self.conn)
        # Reads on this thread see the objects put so far (they wait in the transaction
        # until flush): what the transaction wrote is readable inside it, as in SQL.
        self.store._local.tx = self.tx
        return self.tx

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.store._local.tx = None
        if exc_type is None:
            try:
                self.tx.flush()
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
            self.store._end(self.conn)
            return
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")


class SQLiteTransaction(Transaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._refs: dict[str, str | None] = {}  # read or written in this transaction (we hold the lock)
        self._last: dict[str, int | None] = {}  # the pack of each read ref's newest move
        self._written: dict[str, str | None] = {}  # ref -> new value (None: deleted)
        self._moves: list[tuple[str, str | None, str | None, str, str]] = []
        #: id -> raw bytes, for this transaction's packs (SQLiteStore reads look here too).
        self.new: dict[bytes, bytes] = {}
        self._now_ms: int | None = None

    def _ms(self) -> int:
        # One time per transaction, read under the write lock: write times follow commit order
        # (what gc's snapshot relies on).
        if self._now_ms is None:
            self._now_ms = int(time.time() * 1000)
        return self._now_ms

    def put_objects(self, objects: Mapping[str, bytes]) -> None:
        # An object already present gets its time refreshed when stale: the writer may be
        # about to reference it (docs/gc.md).
        now = self._ms()
        keys = {bytes.fromhex(o): o for o in objects}
        for k in self.new.keys() & keys.keys():
            del keys[k]
        wanted = list(keys)
        stale: list[bytes] = []
        for i in range(0, len(wanted), _BATCH):
            chunk = wanted[i : i + _BATCH]
            rows = self.conn.execute(f"SELECT id, written FROM objidx WHERE id IN ({','.join('?' * len(chunk))})",
                                     chunk).fetchall()
            for k, written in rows:
                del keys[k]
                if written < now - _REFRESH_MS:
                    stale.append(k)
        for i in range(0, len(stale), _BATCH):
            chunk = stale[i : i + _BATCH]
            self.conn.execute(f"UPDATE objidx SET written = ? WHERE id IN ({','.join('?' * len(chunk))})",
                              (now, *chunk))
        for k, oid in keys.items():
            self.new[k] = bytes(objects[oid])

    def gc_epoch(self) -> int | None:
        return gc_epoch_of(self.conn.execute(GC_EPOCH).fetchall())

    def read_ref(self, name: str) -> str | None:
        if name not in self._refs:
            row = self.conn.execute("SELECT value, last FROM refs WHERE name = ?", (name,)).fetchone()
            self._refs[name], self._last[name] = row if row else (None, None)
        return self._refs[name]

    def read_refs(self, names: Sequence[str]) -> dict[str, str | None]:
        """Several refs' values (None: absent) in one statement, remembered like ``read_ref``'s."""
        refs, last = self._refs, self._last
        wanted = [n for n in names if n not in refs]
        for i in range(0, len(wanted), _READ_REFS_AT_ONCE):
            chunk = wanted[i : i + _READ_REFS_AT_ONCE]
            for name in chunk:
                refs[name] = last[name] = None
            # Padded to a fixed count: one SQL text, which sqlite3's statement cache keeps prepared.
            for name, value, newest in self.conn.execute(
                    _READ_REFS, chunk + chunk[-1:] * (_READ_REFS_AT_ONCE - len(chunk))):
                refs[name], last[name] = value, newest
        return {name: refs[name] for name in names}

    def _write_ref(self, name: str, value: str | None) -> None:
        self._refs[name] = value
        self._written[name] = value

    def log_ref(self, name: str, old: str | None, new: str | None, who: str, why: str) -> None:
        self._moves.append((name, old, new, who, why))

    def flush(self) -> None:
        """Append this transaction's packs, index rows and ref rows (just before COMMIT)."""
        if not (self.new or self._moves or self._written):
            return
        now_us = to_us(datetime.now(timezone.utc))
        moves = self._stored_moves() if self._moves else None
        groups = self._groups() or [[]]  # no new object: one pack for the moves alone
        moves_p = None
        for i, group in enumerate(groups):
            pack_moves = moves if i == len(groups) - 1 else None  # the moves ride in the last pack
            if not group and pack_moves is None:
                continue
            p = self.conn.execute(
                "INSERT INTO packs (time, moves, toc, data) VALUES (?, ?, ?, ?)",
                (now_us, pack_moves, toc(group) if group else None,
                 pack(b"".join(d for _, d in group)) if group else None),
            ).lastrowid
            if group:
                rows, off, written = [], 0, self._ms()
                for k, data in group:
                    rows.append((k, p, off, len(data), written))
                    off += len(data)
                self.conn.executemany("INSERT INTO objidx (id, p, off, len, written) VALUES (?, ?, ?, ?, ?)", rows)
            if pack_moves is not None:
                moves_p = p
        self._write_refs(moves_p)
        self.new.clear()
        self._moves.clear()
        self._written.clear()

    def _groups(self) -> list[list[tuple[bytes, bytes]]]:
        """The new objects cut into packs of at most PACK_BYTES raw (a bigger object alone);
        each pack is compressed as one zstd frame, so similar objects compress together."""
        groups: list[list[tuple[bytes, bytes]]] = []
        size = PACK_BYTES
        for item in self.new.items():
            n = len(item[1])
            if size + n > PACK_BYTES:
                groups.append([])
                size = 0
            groups[-1].append(item)
            size += n
        return groups

    def _stored_moves(self) -> bytes | str:
        """The moves, each with ``prev``: its ref's previous move's pack (read from ``refs``)."""
        last = self._last
        names = [n for n in dict.fromkeys(m[0] for m in self._moves) if n not in last]
        for i in range(0, len(names), _BATCH):
            chunk = names[i : i + _BATCH]
            last.update(self.conn.execute(
                f"SELECT name, last FROM refs WHERE name IN ({','.join('?' * len(chunk))})", chunk).fetchall())
        seen: set[str] = set()
        out = []
        for name, old, new, who, why in self._moves:
            out.append([name, old, new, who, why, SAME_PACK if name in seen else last.get(name)])
            seen.add(name)
        return dump_moves(out)

    def _write_refs(self, moves_p: int | None) -> None:
        moved = {m[0] for m in self._moves}
        rows = []
        for name in dict.fromkeys([*self._written, *moved]):
            value = self._written[name] if name in self._written else self.read_ref(name)
            rows.append((name, value, moves_p if name in moved else None))
        self.conn.executemany(_UPSERT_REF, rows)
        gone = [name for name, value, last in rows if value is None and last is None]
        if gone:  # deleted with no move logged: no tombstone needed unless older moves exist
            self.conn.executemany("DELETE FROM refs WHERE name = ? AND value IS NULL AND last IS NULL",
                                  [(n,) for n in gone])
