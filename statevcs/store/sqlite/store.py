"""SQLiteStore: connections, object and ref reads, gc's deletes and lock (layout in layout.py)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from datetime import datetime, timedelta
from typing import Callable, Iterable, Iterator

from ...errors import CorruptObjectError, NotARepositoryError, ObjectNotFoundError, StoreLockedError
from ..base import RefLogEntry, Store, Transaction
from ..stored import pack, unpack, verify
from . import layout, reflog
from .layout import SCHEMA_VERSION, commit_pieces, read_toc, to_ms, toc
from .moves import both_leads, first_ref
from .writes import GC_EPOCH, Write, gc_epoch_of

_BATCH = 500
_PAGE = 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _text(data: bytes) -> str:
    """A TEXT column as str. Bytes that are not UTF-8 (written by something other
    than statevcs) come back escaped (``\\xff``): readable, and never equal to a valid ref name
    (a backslash is not allowed in one), instead of an OperationalError on every read."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "backslashreplace")


def _locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def key_of(oid: str) -> bytes:
    try:
        return bytes.fromhex(oid)
    except ValueError:
        raise ObjectNotFoundError(f"{oid!r} is not an object id") from None


def object_of(oid: str, p: int, off: int, n: int, data: bytes | None) -> bytes:
    """An object's raw bytes out of its pack's stored form, checked against its id."""
    if data is None:
        raise CorruptObjectError(f"object {oid} is in pack {p}, which holds no objects")
    raw = unpack(data, f"pack {p}")[off : off + n]
    verify(oid, raw)
    return raw


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
                if c.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
                    layout.create(c)
        if self._schema_version(conn) < SCHEMA_VERSION:
            with self._write() as c:  # one transaction: a racing opener waits, then finds it done
                version = self._schema_version(c)
                if version < SCHEMA_VERSION:
                    layout.migrate(c, version, _now_ms())

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

    # connections: one per thread and process (a forked child must not reuse its parent's)
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.text_factory = _text
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

    def _read(self, sql: str, params: tuple | list = ()) -> list[tuple]:
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
        return Write(self)

    # objects
    def _pending(self) -> dict[bytes, bytes]:
        """Objects put by this thread's open write transaction, not yet written (see writes.Write)."""
        tx = getattr(self._local, "tx", None)
        return tx.new if tx is not None else {}

    def _located(self, oid: str, columns: str) -> tuple:
        """``columns`` of the index row of ``oid`` joined to its pack (``o``: objidx, ``k``:
        packs); ObjectNotFoundError where it has none."""
        rows = self._read(f"SELECT {columns} FROM objidx o JOIN packs k ON k.p = o.p WHERE o.id = ?", (key_of(oid),))
        if not rows:
            raise ObjectNotFoundError(f"object {oid} not found")
        return rows[0]

    def get(self, oid: str) -> bytes:
        if (raw := self._pending().get(key_of(oid))) is not None:
            return raw
        return object_of(oid, *self._located(oid, "o.p, o.off, o.len, k.data"))

    def get_with_neighbours(self, oid: str) -> tuple[bytes, dict[str, bytes]]:
        """``oid``'s bytes (verified), and the other objects written in the same transaction
        (NOT verified: the caller verifies one before using it). A reader that needs one
        object of a commit (its commit object, its root) often needs the others next, and
        they come in the same row."""
        if (pending := self._pending().get(key_of(oid))) is not None:
            return pending, {}
        p, off, n, contents, data = self._located(oid, "k.p, o.off, o.len, k.toc, k.data")
        raw = object_of(oid, p, off, n, data) if contents is None else None
        if raw is not None:
            return raw, {}
        inflated = unpack(data, f"pack {p}")
        raw = inflated[off : off + n]
        verify(oid, raw)
        return raw, {k.hex(): inflated[o : o + m] for k, o, m in read_toc(contents, inflated) if o != off}

    #: ``get_with_history`` reads the commits of up to this many earlier transactions that
    #: moved the same ref, looking at most this many transactions back, and no pack larger
    #: than this (stored bytes).
    HISTORY_PACKS = 32
    HISTORY_SCAN = 1024
    HISTORY_PACK_BYTES = 16384

    def get_with_history(self, oid: str) -> tuple[bytes, dict[str, bytes]]:
        """``oid``'s bytes, and the commit objects of the latest earlier transactions that
        moved the same ref as the one that wrote it, by id (all verified: their ids are the
        hashes of their bytes, taken here). A history walk reads a commit's parents next,
        and a branch's commits are written by one transaction each, each moving the
        branch: reading the next ones with this one makes a log of N commits about N / 32
        queries, not N, however many other branches were written in between."""
        if (pending := self._pending().get(key_of(oid))) is not None:
            return pending, {}
        p, off, n, data, moves = self._located(oid, "o.p, o.off, o.len, k.data, k.moves")
        raw = object_of(oid, p, off, n, data)
        lead = first_ref(moves) if moves else None  # the ref it moved first, as its column starts
        if lead is None:
            return raw, {}
        try:  # packs written since schema 5 start with the BLOB form's lead, older ones with the text's
            leads = both_leads(lead)
        except ValueError:  # a damaged name: the reflog's reads report it
            return raw, {}
        older: dict[str, bytes] = {}
        for q, contents, stored in self._read(
                "SELECT p, toc, data FROM packs WHERE p < ? AND p >= ? "
                "AND (substr(moves, 1, ?) = ? OR substr(moves, 1, ?) = ?) "
                "AND toc IS NOT NULL AND length(data) <= ? ORDER BY p DESC LIMIT ?",
                (p, p - self.HISTORY_SCAN, len(leads[0]), leads[0], len(leads[1]), leads[1],
                 self.HISTORY_PACK_BYTES, self.HISTORY_PACKS)):
            try:
                older.update(commit_pieces(contents, unpack(stored, f"pack {q}")) if stored else {})
            except CorruptObjectError:  # reported by the read that needs one of its objects, if any does
                continue
        return raw, older

    def has_many(self, oids: Iterable[str]) -> set[str]:
        wanted = list(oids)
        pending = self._pending()
        found: set[str] = {o for o in wanted if key_of(o) in pending} if pending else set()
        for i in range(0, len(wanted), _BATCH):
            chunk = [key_of(o) for o in wanted[i : i + _BATCH]]
            marks = ",".join("?" * len(chunk))
            found.update(r[0].hex() for r in self._read(f"SELECT id FROM objidx WHERE id IN ({marks})", chunk))
        return found

    def get_many(self, oids: Iterable[str]) -> dict[str, bytes]:
        wanted = [key_of(o) for o in oids]
        pending = self._pending()
        found: dict[str, bytes] = {k.hex(): pending[k] for k in wanted if k in pending} if pending else {}
        for i in range(0, len(wanted), _BATCH):
            chunk = wanted[i : i + _BATCH]
            places = self._read(f"SELECT id, p, off, len FROM objidx WHERE id IN ({','.join('?' * len(chunk))})",
                                chunk)
            packs = {p for _, p, _, _ in places}
            data = dict(self._read(f"SELECT p, data FROM packs WHERE p IN ({','.join('?' * len(packs))})",
                                   tuple(packs))) if packs else {}
            inflated: dict[int, bytes] = {}  # each pack inflated once per batch
            for key, p, off, n in places:
                oid = key.hex()
                if data.get(p) is None:
                    raise CorruptObjectError(f"object {oid} is in pack {p}, which holds no objects")
                if p not in inflated:
                    inflated[p] = unpack(data[p], f"pack {p}")
                raw = inflated[p][off : off + n]
                verify(oid, raw)
                found[oid] = raw
        return found

    def iter_ids(self, written_before: datetime | None = None,
                 written_since: datetime | None = None) -> Iterator[str]:
        # In id order, in pages; the write-time filters scan (gc reads every id anyway).
        lo = -1 if written_since is None else to_ms(written_since)
        hi = 1 << 62 if written_before is None else to_ms(written_before)
        last = b""
        while rows := self._read("SELECT id, written FROM objidx WHERE id > ? ORDER BY id LIMIT ?", (last, _PAGE)):
            yield from (r[0].hex() for r in rows if lo <= r[1] < hi)
            last = rows[-1][0]

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        lo = bytes.fromhex(prefix.ljust(64, "0"))
        hi = bytes.fromhex(prefix.ljust(64, "f"))
        rows = self._read("SELECT id FROM objidx WHERE id BETWEEN ? AND ? ORDER BY id LIMIT ?", (lo, hi, limit))
        return [r[0].hex() for r in rows]

    def delete_objects(self, oids: Iterable[str], written_before: datetime | None = None) -> int:
        """Remove objects and the bytes they held: every pack that loses an object is
        rewritten with only the objects it still holds (or emptied), so no deleted object's
        bytes stay in a live row (erasure relies on it; VACUUM then frees the old pages)."""
        wanted = [key_of(o) for o in oids]
        limit = 1 << 62 if written_before is None else to_ms(written_before)
        n = 0
        with contextlib.ExitStack() as stack:
            conn = self._conn() if getattr(self._local, "in_gc", False) else stack.enter_context(self._write())
            touched: set[int] = set()
            for i in range(0, len(wanted), _BATCH):
                chunk = wanted[i : i + _BATCH]
                marks = ",".join("?" * len(chunk))
                gone = conn.execute(f"SELECT id, p FROM objidx WHERE id IN ({marks}) AND written < ?",
                                    (*chunk, limit)).fetchall()
                if gone:
                    conn.execute(f"DELETE FROM objidx WHERE id IN ({','.join('?' * len(gone))})",
                                 [g[0] for g in gone])
                    touched.update(g[1] for g in gone)
                    n += len(gone)
            newest = conn.execute("SELECT max(p) FROM packs").fetchone()[0]
            for p in sorted(touched):
                _compact_pack(conn, p, keep_row=p == newest)
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
        return gc_epoch_of(self._read(GC_EPOCH))

    def bump_gc_epoch(self) -> None:
        with contextlib.ExitStack() as stack:
            conn = self._conn() if getattr(self._local, "in_gc", False) else stack.enter_context(self._write())
            conn.execute("INSERT INTO meta (key, value) VALUES ('gc_epoch', '1') ON CONFLICT(key) "
                         "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)")

    def stored_size(self) -> int:
        return int(self._read("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM packs")[0][0])

    def vacuum(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn().execute("VACUUM")

    # refs
    def read_ref(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM refs WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def list_refs(self, prefix: str = "") -> dict[str, str]:
        rows = self._read(
            "SELECT name, value FROM refs WHERE name >= ? AND substr(name, 1, ?) = ? AND value IS NOT NULL "
            "ORDER BY name", (prefix, len(prefix), prefix)
        )
        return dict(rows)

    def reflog(self, name: str, limit: int | None = None) -> list[RefLogEntry]:
        return reflog.entries(self._conn(), name, limit)

    def reflog_seq(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(p), 0) FROM packs")[0][0])

    def iter_reflog_targets(self, after_seq: int = 0, names: Iterable[str] | None = None) -> Iterator[str]:
        return reflog.targets(self._read, after_seq, None if names is None else set(names))

    def reflog_names(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM refs WHERE last IS NOT NULL ORDER BY name")]

    def expire_reflog(self, name: str, before: datetime,
                      keep: Callable[[str | None, str | None], bool] | None = None) -> int:
        with self._write() as conn:
            return reflog.expire(conn, name, before, keep)

    # test support
    def _backdate(self, seconds: float) -> None:
        """Move every object write time and reflog time ``seconds`` into the past."""
        with self._write() as conn:
            conn.execute("UPDATE objidx SET written = written - ?", (int(seconds * 1000),))
            conn.execute("UPDATE packs SET time = time - ?", (int(timedelta(seconds=seconds) / timedelta(microseconds=1)),))

    def _corrupt(self, oid: str) -> None:
        """Damage an object in place (its pack is stored again, plain)."""
        with self._write() as conn:
            p, off, n = conn.execute("SELECT p, off, len FROM objidx WHERE id = ?", (key_of(oid),)).fetchone()
            (data,) = conn.execute("SELECT data FROM packs WHERE p = ?", (p,)).fetchone()
            damaged = bytearray(unpack(data, f"pack {p}"))
            damaged[off + n // 2] ^= 0x01
            conn.execute("UPDATE packs SET data = ? WHERE p = ?", (b"\x00" + bytes(damaged), p))


def _compact_pack(conn: sqlite3.Connection, p: int, keep_row: bool) -> None:
    """Rewrite pack ``p`` with only the objects objidx still places in it; a pack left with
    neither objects nor moves goes (the newest row stays, emptied: rowids are never reused)."""
    row = conn.execute("SELECT toc, data, moves FROM packs WHERE p = ?", (p,)).fetchone()
    if row is None or row[0] is None:
        return
    contents, data, moves = row
    raw = unpack(data, f"pack {p}")
    listed = [oid for oid, _, _ in read_toc(contents, raw)]
    live = conn.execute(
        f"SELECT id, off, len FROM objidx WHERE p = ? AND id IN ({','.join('?' * len(listed))}) ORDER BY off",
        (p, *listed)).fetchall()
    if not live and moves is None and not keep_row:
        conn.execute("DELETE FROM packs WHERE p = ?", (p,))
        return
    parts, index, off = [], [], 0
    for oid, start, n in live:
        parts.append(raw[start : start + n])
        index.append((off, oid))
        off += n
    conn.execute("UPDATE packs SET toc = ?, data = ? WHERE p = ?",
                 (toc(zip((o for o, _, _ in live), parts)) if parts else None,
                  pack(b"".join(parts)) if parts else None, p))
    conn.executemany("UPDATE objidx SET off = ? WHERE id = ?", index)
