"""The embedded store: one SQLite database (WAL) holding objects, refs and the reflog.

No server; many readers; writers serialise on SQLite's write lock. Every write is one
``BEGIN IMMEDIATE`` transaction, so a commit's objects, its ref move and the reflog
entry land together or not at all, even if the process is killed mid-way. By default
each transaction is fsynced (``synchronous=FULL``): an acknowledged commit survives a
power cut, not only a crash.

Every object row carries ``written`` (milliseconds since the epoch, refreshed when the
object is put again), which gc's grace period reads; gc's sweep holds the write lock
(docs/gc.md). Schema version 1 databases gain that column when first opened.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from ..errors import (
    CorruptObjectError,
    NotARepositoryError,
    ObjectNotFoundError,
    StoreLockedError,
)
from .base import REFRESH_AFTER, RefLogEntry, Store, Transaction, pack, unpack_verified

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (id BLOB PRIMARY KEY, data BLOB NOT NULL, written INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_by_written ON objects (written);
CREATE TABLE IF NOT EXISTS refs (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reflog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, old TEXT, new TEXT, who TEXT NOT NULL, time TEXT NOT NULL, why TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reflog_by_name ON reflog (name, seq);
"""
_BATCH = 500
_PAGE = 1000
_REFRESH_MS = int(REFRESH_AFTER.total_seconds() * 1000)
_READ_REFS_AT_ONCE = 3  # what a commit reads: HEAD, its branch, the rules document
_READ_REFS = "SELECT " + ", ".join(["(SELECT value FROM refs WHERE name = ?)"] * _READ_REFS_AT_ONCE)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _ms(when: datetime) -> int:
    """Milliseconds since the epoch: how ``written`` is stored (exact integer arithmetic)."""
    return (when - _EPOCH) // timedelta(milliseconds=1)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(when: datetime) -> str:
    """A time as the reflog stores it (UTC ISO 8601, microseconds), comparable as text."""
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


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
        self._packed = _PackCache()
        if not create and not os.path.exists(self.path):
            raise NotARepositoryError(f"no statevcs database at {self.path}")
        conn = self._conn()
        if create:
            with self._write() as c:
                if c.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
                    for statement in _SCHEMA.strip().split(";"):
                        if statement.strip():
                            c.execute(statement)
                    c.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        version = self._schema_version(conn)
        if version < SCHEMA_VERSION:
            self._migrate()

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise NotARepositoryError(f"{self.path} is not a statevcs database: {exc}") from None
        if row is None or int(row[0]) > SCHEMA_VERSION:
            raise NotARepositoryError(
                f"{self.path} has schema version {row[0] if row else '?'}; this statevcs reads up to {SCHEMA_VERSION}"
            )
        return int(row[0])

    def _migrate(self) -> None:
        """Bring an older database forward, in one write transaction (a racing opener waits)."""
        with self._write() as c:
            if self._schema_version(c) < 2:
                # Existing objects count as written now: the safe side of gc's grace period.
                # A constant default costs no rewrite of existing rows.
                c.execute(f"ALTER TABLE objects ADD COLUMN written INTEGER NOT NULL DEFAULT {_now_ms()}")
                c.execute("CREATE INDEX IF NOT EXISTS objects_by_written ON objects (written)")
            c.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

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

    def _begin(self) -> sqlite3.Connection:
        """This thread's connection, inside a new ``BEGIN IMMEDIATE`` transaction (the write lock)."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _locked(exc):
                raise StoreLockedError(
                    f"database {self.path} stayed locked by another writer for {self.timeout:g}s"
                ) from None
            raise
        return conn

    def _end(self, conn: sqlite3.Connection) -> None:
        """COMMIT (fsynced when durable); on failure roll back and raise."""
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if _locked(exc):
                raise StoreLockedError(f"database {self.path} is locked by another process") from None
            raise

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._begin()
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self._end(conn)

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        return _Write(self)

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

    def get_many(self, oids: Iterable[str]) -> dict[str, bytes]:
        wanted = [_key(o) for o in oids]
        found: dict[str, bytes] = {}
        for i in range(0, len(wanted), _BATCH):
            chunk = wanted[i : i + _BATCH]
            rows = self._read(f"SELECT id, data FROM objects WHERE id IN ({','.join('?' * len(chunk))})", tuple(chunk))
            for key, data in rows:
                found[key.hex()] = unpack_verified(key.hex(), data)
        return found

    def iter_ids(self, written_before: datetime | None = None,
                 written_since: datetime | None = None) -> Iterator[str]:
        if written_before is None and written_since is None:  # pages in id order
            last = b""
            while rows := self._read("SELECT id FROM objects WHERE id > ? ORDER BY id LIMIT ?", (last, _PAGE)):
                yield from (r[0].hex() for r in rows)
                last = rows[-1][0]
            return
        # pages in (written, id) order along the objects_by_written index
        lo = -1 if written_since is None else _ms(written_since)
        hi = 1 << 62 if written_before is None else _ms(written_before)
        at, last = lo, b""
        while rows := self._read(
            "SELECT written, id FROM objects WHERE written < ? AND (written, id) > (?, ?) ORDER BY written, id LIMIT ?",
            (hi, at, last, _PAGE),
        ):
            yield from (r[1].hex() for r in rows if r[0] >= lo)
            at, last = rows[-1]

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        lo = bytes.fromhex(prefix.ljust(64, "0"))
        hi = bytes.fromhex(prefix.ljust(64, "f"))
        rows = self._read("SELECT id FROM objects WHERE id BETWEEN ? AND ? ORDER BY id LIMIT ?", (lo, hi, limit))
        return [r[0].hex() for r in rows]

    def delete_objects(self, oids: Iterable[str], written_before: datetime | None = None) -> int:
        wanted = [_key(o) for o in oids]
        limit = 1 << 62 if written_before is None else _ms(written_before)
        n = 0
        with contextlib.ExitStack() as stack:
            conn = self._conn() if getattr(self._local, "in_gc", False) else stack.enter_context(self._write())
            for i in range(0, len(wanted), _BATCH):
                chunk = wanted[i : i + _BATCH]
                n += conn.execute(f"DELETE FROM objects WHERE id IN ({','.join('?' * len(chunk))}) AND written < ?",
                                  (*chunk, limit)).rowcount
        return n

    @contextlib.contextmanager
    def gc_lock(self) -> Iterator[None]:
        # Every write is one BEGIN IMMEDIATE transaction: holding the write lock excludes them all.
        with self._write():
            self._local.in_gc = True
            try:
                yield
            finally:
                self._local.in_gc = False

    def gc_epoch(self) -> int | None:
        return _gc_epoch(self._read(_GC_EPOCH))

    def bump_gc_epoch(self) -> None:
        with contextlib.ExitStack() as stack:
            conn = self._conn() if getattr(self._local, "in_gc", False) else stack.enter_context(self._write())
            conn.execute("INSERT INTO meta (key, value) VALUES ('gc_epoch', '1') ON CONFLICT(key) "
                         "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)")

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

    def reflog_seq(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(seq), 0) FROM reflog")[0][0])

    def iter_reflog_targets(self, after_seq: int = 0, names: Iterable[str] | None = None) -> Iterator[str]:
        only = None if names is None else set(names)
        last = after_seq
        while rows := self._read(
            "SELECT r.seq, r.name, r.old, r.new FROM reflog r JOIN refs f ON f.name = r.name "
            "WHERE r.seq > ? ORDER BY r.seq LIMIT ?", (last, _PAGE)
        ):
            page = {v for _, name, old, new in rows if only is None or name in only for v in (old, new) if v}
            yield from page
            last = rows[-1][0]

    def reflog_names(self) -> list[str]:
        return [r[0] for r in self._read("SELECT DISTINCT name FROM reflog ORDER BY name")]

    def expire_reflog(self, name: str, before: datetime,
                      keep: Callable[[str | None, str | None], bool] | None = None) -> int:
        cutoff, last, n = _iso(before), 0, 0
        while rows := self._read(
            "SELECT seq, old, new FROM reflog WHERE name = ? AND seq > ? AND time < ? ORDER BY seq LIMIT ?",
            (name, last, cutoff, _PAGE),
        ):
            last = rows[-1][0]
            gone = [seq for seq, old, new in rows if keep is None or not keep(old, new)]
            if gone:
                with self._write() as conn:
                    n += conn.execute(f"DELETE FROM reflog WHERE seq IN ({','.join('?' * len(gone))})",
                                      gone).rowcount
        return n

    # test support
    def _backdate(self, seconds: float) -> None:
        """Move every object write time and reflog time ``seconds`` into the past."""
        shift = timedelta(seconds=seconds)
        with self._write() as conn:
            conn.execute("UPDATE objects SET written = written - ?", (int(seconds * 1000),))
            rows = conn.execute("SELECT seq, time FROM reflog").fetchall()
            conn.executemany("UPDATE reflog SET time = ? WHERE seq = ?",
                             [(_iso(datetime.fromisoformat(t) - shift), seq) for seq, t in rows])

    def _corrupt(self, oid: str) -> None:
        """Damage an object in place."""
        with self._write() as conn:
            (data,) = conn.execute("SELECT data FROM objects WHERE id = ?", (_key(oid),)).fetchone()
            damaged = bytearray(data)
            damaged[len(damaged) // 2] ^= 0x01
            conn.execute("UPDATE objects SET data = ? WHERE id = ?", (bytes(damaged), _key(oid)))


#: The count of sweeps that deleted objects: a ``meta`` row, absent until the first one.
_GC_EPOCH = "SELECT value FROM meta WHERE key = 'gc_epoch'"


def _gc_epoch(rows: list) -> int:
    return int(rows[0][0]) if rows else 0


def _key(oid: str) -> bytes:
    try:
        return bytes.fromhex(oid)
    except ValueError:
        raise ObjectNotFoundError(f"{oid!r} is not an object id") from None


class _Write:
    """``SQLiteStore.transaction()``: a write transaction as a plain context manager (a commit
    makes one per call, so it is kept cheaper than a generator-based one)."""

    __slots__ = ("conn", "store", "tx")

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def __enter__(self) -> _SQLiteTransaction:
        self.conn = self.store._begin()
        self.tx = _SQLiteTransaction(self.conn, self.store._packed)
        return self.tx

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
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


class _PackCache:
    """Stored forms of recently put small objects by id: a commit re-puts its state's unchanged
    nodes (to refresh their write time), which need not be compressed again each time."""

    __slots__ = ("_entries", "_lock")
    MAX_ENTRIES = 64
    MAX_BYTES = 16384  # per object: larger ones are not kept

    def __init__(self) -> None:
        self._entries: dict[str, tuple[bytes, bytes]] = {}
        self._lock = threading.Lock()

    def pack(self, oid: str, raw: bytes) -> bytes:
        hit = self._entries.get(oid)
        if hit is not None and (hit[0] is raw or hit[0] == raw):  # the raw bytes, not only the id
            return hit[1]
        packed = pack(raw)
        if len(raw) <= self.MAX_BYTES:
            with self._lock:
                entries = self._entries
                if len(entries) >= self.MAX_ENTRIES:
                    del entries[next(iter(entries))]
                entries[oid] = (bytes(raw), packed)  # a copy if the caller's buffer may change
        return packed


class _SQLiteTransaction(Transaction):
    def __init__(self, conn: sqlite3.Connection, packed: _PackCache | None = None) -> None:
        self.conn = conn
        self._refs: dict[str, str | None] = {}  # read or written in this transaction (we hold the lock)
        self._logs: list[tuple] = []
        self._packed = packed or _PackCache()
        self._time: str | None = None

    def put_objects(self, objects: Mapping[str, bytes]) -> None:
        # The time is read inside the write transaction, so write times follow commit order
        # (what gc's snapshot relies on). An object already present gets its time refreshed
        # when stale: the writer may be about to reference it (docs/gc.md).
        now = _now_ms()
        ids = list(objects)
        if len(ids) <= 8:  # a small commit: cheaper to let the primary key find duplicates
            packed = self._packed.pack
            self.conn.executemany(
                "INSERT INTO objects (id, data, written) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE "
                "SET written = excluded.written WHERE written < excluded.written - ?",
                [(bytes.fromhex(o), packed(o, objects[o]), now, _REFRESH_MS) for o in ids])
            return
        present: set[bytes] = set()
        for i in range(0, len(ids), _BATCH):
            chunk = [bytes.fromhex(o) for o in ids[i : i + _BATCH]]
            marks = ",".join("?" * len(chunk))
            present.update(r[0] for r in self.conn.execute(f"SELECT id FROM objects WHERE id IN ({marks})", chunk))
            self.conn.execute(f"UPDATE objects SET written = ? WHERE id IN ({marks}) AND written < ?",
                              (now, *chunk, now - _REFRESH_MS))
        rows = [(k, pack(objects[o]), now) for o in ids if (k := bytes.fromhex(o)) not in present]
        if rows:
            self.conn.executemany("INSERT OR IGNORE INTO objects (id, data, written) VALUES (?, ?, ?)", rows)

    def gc_epoch(self) -> int | None:
        return _gc_epoch(self.conn.execute(_GC_EPOCH).fetchall())

    def read_ref(self, name: str) -> str | None:
        if name not in self._refs:
            row = self.conn.execute("SELECT value FROM refs WHERE name = ?", (name,)).fetchone()
            self._refs[name] = row[0] if row else None
        return self._refs[name]

    def read_refs(self, names: Sequence[str]) -> dict[str, str | None]:
        """Several refs' values (None: absent) in one statement, remembered like ``read_ref``'s."""
        refs = self._refs
        wanted = [n for n in names if n not in refs]
        for i in range(0, len(wanted), _READ_REFS_AT_ONCE):
            chunk = wanted[i : i + _READ_REFS_AT_ONCE]
            # Padded to a fixed count: one SQL text, which sqlite3's statement cache keeps prepared.
            row = self.conn.execute(_READ_REFS, chunk + chunk[-1:] * (_READ_REFS_AT_ONCE - len(chunk))).fetchone()
            refs.update(zip(chunk, row))
        return {name: refs[name] for name in names}

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
        if self._time is None:  # the moves of one transaction happen at one time
            self._time = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        self._logs.append((name, old, new, who, self._time, why))

    def flush(self) -> None:
        """Write the buffered reflog entries (in order) just before COMMIT."""
        if self._logs:
            self.conn.executemany(
                "INSERT INTO reflog (name, old, new, who, time, why) VALUES (?, ?, ?, ?, ?, ?)", self._logs
            )
            self._logs.clear()
