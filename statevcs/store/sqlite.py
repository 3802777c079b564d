"""The embedded store: one SQLite database (WAL) holding objects, refs and the reflog.

No server; many readers; writers serialise on SQLite's write lock. Every write is one
``BEGIN IMMEDIATE`` transaction, so a commit's objects, its ref move and the reflog
entry land together or not at all, even if the process is killed mid-way. By default
each transaction is fsynced (``synchronous=FULL``): an acknowledged commit survives a
power cut, not only a crash.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Iterable, Iterator, Mapping

from ..errors import (
    CorruptObjectError,
    NotARepositoryError,
    ObjectNotFoundError,
    StoreLockedError,
)
from .base import RefLogEntry, Store, Transaction, pack, unpack_verified

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (id BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refs (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reflog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, old TEXT, new TEXT, who TEXT NOT NULL, time TEXT NOT NULL, why TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reflog_by_name ON reflog (name, seq);
"""
_BATCH = 500


def _locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


class SQLiteStore(Store):
    """Objects and refs in one SQLite file; safe across threads and processes."""

    def __init__(self, path: str, create: bool = False, timeout: float = 30.0, durable: bool = True) -> None:
        self.path = os.fspath(path)
        self.location = self.path
        self.timeout = timeout
        self.durable = durable
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        if not create and not os.path.exists(self.path):
            raise NotARepositoryError(f"no statevcs database at {self.path}")
        conn = self._conn()
        if create:
            with self._write() as c:
                for statement in _SCHEMA.strip().split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise NotARepositoryError(f"{self.path} is not a statevcs database: {exc}") from None
        if row is None or int(row[0]) > SCHEMA_VERSION:
            raise NotARepositoryError(
                f"{self.path} has schema version {row[0] if row else '?'}; this statevcs reads up to {SCHEMA_VERSION}"
            )

    # connections: one per thread and process (a forked child must not reuse its parent's)
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        except sqlite3.OperationalError as exc:
            if _locked(exc):
                raise StoreLockedError(f"database {self.path} is locked by another process") from None
            raise NotARepositoryError(f"cannot open {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise NotARepositoryError(f"{self.path} is not a statevcs database: {exc}") from None
        self._local.conn = conn
        self._local.pid = os.getpid()
        with self._all_lock:
            self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if _locked(exc):
                raise StoreLockedError(f"database {self.path} is locked by another process") from None
            raise
        except sqlite3.DatabaseError as exc:
            raise CorruptObjectError(f"database {self.path} is damaged: {exc}") from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _locked(exc):
                raise StoreLockedError(
                    f"database {self.path} stayed locked by another writer for {self.timeout:g}s"
                ) from None
            raise
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if _locked(exc):
                raise StoreLockedError(f"database {self.path} is locked by another process") from None
            raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._write() as conn:
            tx = _SQLiteTransaction(conn)
            yield tx
            tx.flush()

    # objects
    def get(self, oid: str) -> bytes:
        key = _key(oid)
        rows = self._read("SELECT data FROM objects WHERE id = ?", (key,))
        if not rows:
            raise ObjectNotFoundError(f"object {oid} not found")
        return unpack_verified(oid, rows[0][0])

    def has_many(self, oids: Iterable[str]) -> set[str]:
        wanted = list(oids)
        found: set[str] = set()
        for i in range(0, len(wanted), _BATCH):
            chunk = [_key(o) for o in wanted[i : i + _BATCH]]
            marks = ",".join("?" * len(chunk))
            found.update(r[0].hex() for r in self._read(f"SELECT id FROM objects WHERE id IN ({marks})", tuple(chunk)))
        return found

    def iter_ids(self) -> Iterator[str]:
        return iter([r[0].hex() for r in self._read("SELECT id FROM objects")])

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        lo = bytes.fromhex(prefix.ljust(64, "0"))
        hi = bytes.fromhex(prefix.ljust(64, "f"))
        rows = self._read("SELECT id FROM objects WHERE id BETWEEN ? AND ? ORDER BY id LIMIT ?", (lo, hi, limit))
        return [r[0].hex() for r in rows]

    def delete_objects(self, oids: Iterable[str]) -> int:
        wanted = [_key(o) for o in oids]
        n = 0
        with self._write() as conn:
            for i in range(0, len(wanted), _BATCH):
                chunk = wanted[i : i + _BATCH]
                n += conn.execute(f"DELETE FROM objects WHERE id IN ({','.join('?' * len(chunk))})", chunk).rowcount
        return n

    def stored_size(self) -> int:
        return int(self._read("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM objects")[0][0])

    def vacuum(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn().execute("VACUUM")

    # refs
    def read_ref(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM refs WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def list_refs(self, prefix: str = "") -> dict[str, str]:
        rows = self._read(
            "SELECT name, value FROM refs WHERE substr(name, 1, ?) = ? ORDER BY name", (len(prefix), prefix)
        )
        return dict(rows)

    def reflog(self, name: str, limit: int | None = None) -> list[RefLogEntry]:
        rows = self._read(
            "SELECT name, old, new, who, time, why FROM reflog WHERE name = ? ORDER BY seq DESC LIMIT ?",
            (name, -1 if limit is None else limit),
        )
        return [RefLogEntry(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4]), r[5]) for r in rows]

    # test support: damage an object in place
    def _corrupt(self, oid: str) -> None:
        with self._write() as conn:
            (data,) = conn.execute("SELECT data FROM objects WHERE id = ?", (_key(oid),)).fetchone()
            damaged = bytearray(data)
            damaged[len(damaged) // 2] ^= 0x01
            conn.execute("UPDATE objects SET data = ? WHERE id = ?", (bytes(damaged), _key(oid)))


def _key(oid: str) -> bytes:
    try:
        return bytes.fromhex(oid)
    except ValueError:
        raise ObjectNotFoundError(f"{oid!r} is not an object id") from None


class _SQLiteTransaction(Transaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._refs: dict[str, str | None] = {}  # read or written in this transaction (we hold the lock)
        self._logs: list[tuple] = []

    def put_objects(self, objects: Mapping[str, bytes]) -> None:
        ids = list(objects)
        if len(ids) <= 8:  # a small commit: cheaper to let the primary key skip duplicates
            self.conn.executemany("INSERT OR IGNORE INTO objects (id, data) VALUES (?, ?)",
                                  [(bytes.fromhex(o), pack(objects[o])) for o in ids])
            return
        present: set[bytes] = set()
        for i in range(0, len(ids), _BATCH):
            chunk = [bytes.fromhex(o) for o in ids[i : i + _BATCH]]
            marks = ",".join("?" * len(chunk))
            present.update(r[0] for r in self.conn.execute(f"SELECT id FROM objects WHERE id IN ({marks})", chunk))
        rows = [(k, pack(objects[o])) for o in ids if (k := bytes.fromhex(o)) not in present]
        if rows:
            self.conn.executemany("INSERT OR IGNORE INTO objects (id, data) VALUES (?, ?)", rows)

    def read_ref(self, name: str) -> str | None:
        if name not in self._refs:
            row = self.conn.execute("SELECT value FROM refs WHERE name = ?", (name,)).fetchone()
            self._refs[name] = row[0] if row else None
        return self._refs[name]

    def _write_ref(self, name: str, value: str | None) -> None:
        self._refs[name] = value
        if value is None:
            self.conn.execute("DELETE FROM refs WHERE name = ?", (name,))
        else:
            self.conn.execute(
                "INSERT INTO refs (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    def log_ref(self, name: str, old: str | None, new: str | None, who: str, why: str) -> None:
        self._logs.append((name, old, new, who, datetime.now(timezone.utc).isoformat(timespec="microseconds"), why))

    def flush(self) -> None:
        """Write the buffered reflog entries (in order) just before COMMIT."""
        if self._logs:
            self.conn.executemany(
                "INSERT INTO reflog (name, old, new, who, time, why) VALUES (?, ?, ?, ?, ?, ?)", self._logs
            )
            self._logs.clear()
