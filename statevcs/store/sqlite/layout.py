"""The tables of the embedded store (schema 5), the units they keep, and the migration of
schema 1 to 4 databases.

Schema 4 has the tables of schema 3; its packs may hold stored forms compressed with the
built-in zstd dictionary (stored.py, flag 2), which a statevcs that knows only schema 3
cannot read. Schema 5 writes each pack's moves in a compact BLOB form (moves.py), which a
statevcs that knows only schema 4 cannot read. The version number makes an older statevcs
refuse a newer database with a clear message instead of calling its contents corrupt.

``packs``   one row per write transaction, in commit order (``p`` is its rowid, never reused
            while a larger one exists: gc keeps the newest row). ``toc`` lists the objects in
            ``data`` (their bytes back to back, stored as one zstd frame when that is smaller:
            a flag byte, as stored.pack writes), with each one's length (and id, where it is not
            the hash of the bytes: see toc()), so a pack read whole yields every object in it;
            ``moves`` is the
            transaction's reflog, ``[[ref, old, new, who, why, prev], ...]`` where ``prev``
            is the pack of the ref's previous move, in the form moves.py writes (JSON text
            before schema 5); ``time`` is the transaction's time in microseconds.
``objidx``  id -> (pack, offset and length in the pack's bytes) and ``written``, the object's write time in
            milliseconds (refreshed when it is put again, for gc's grace period).
``refs``    name -> value and ``last``, the pack of its newest move. A deleted ref whose
            moves are still in the reflog keeps a row with no value (a tombstone), so its
            entries stay findable until they expire.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import blake3
import orjson

from ...errors import StateVCSError
from ..stored import SEALED_MAGIC, pack, unpack

SCHEMA_VERSION = 5

TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS packs (p INTEGER PRIMARY KEY, time INTEGER NOT NULL, moves TEXT, toc BLOB,"
    " data BLOB)",
    "CREATE TABLE IF NOT EXISTS objidx (id BLOB PRIMARY KEY, p INTEGER NOT NULL, off INTEGER NOT NULL,"
    " len INTEGER NOT NULL, written INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS refs (name TEXT PRIMARY KEY, value TEXT, last INTEGER) WITHOUT ROWID",
)

#: A pack holds at most this many bytes of objects (one larger object gets a pack of its own):
#: reading one object reads its pack's blob, so packs stay small.
PACK_BYTES = 32768

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_ms(when: datetime) -> int:
    """Milliseconds since the epoch: how ``written`` is kept (exact integer arithmetic)."""
    return (when - _EPOCH) // timedelta(milliseconds=1)


def to_us(when: datetime) -> int:
    """Microseconds since the epoch: how a pack's time is kept."""
    return (when - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def toc(entries: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A pack's table of contents for its (id, bytes) objects, in pack order: the lengths
    (4 bytes, big-endian) after a 0 byte, the ids being the blake3 of the bytes; or, when an
    object's id is not the hash of its bytes (a sealed row of an encrypted store), a 1 byte
    and each id (32 bytes) with its length."""
    entries = list(entries)
    if any(raw[: len(SEALED_MAGIC)] == SEALED_MAGIC for _, raw in entries):
        return b"\x01" + b"".join(oid + len(raw).to_bytes(4, "big") for oid, raw in entries)
    return b"\x00" + b"".join(len(raw).to_bytes(4, "big") for _, raw in entries)


def read_toc(data: bytes, pack_bytes: bytes) -> list[tuple[bytes, int, int]]:
    """(id, offset, length) of each object in a pack (``pack_bytes``: its inflated bytes)."""
    out, off = [], 0
    if data[:1] == b"\x01":
        for i in range(1, len(data), 36):
            n = int.from_bytes(data[i + 32 : i + 36], "big")
            out.append((data[i : i + 32], off, n))
            off += n
        return out
    for i in range(1, len(data), 4):
        n = int.from_bytes(data[i : i + 4], "big")
        out.append((blake3.blake3(pack_bytes[off : off + n]).digest(), off, n))
        off += n
    return out


def commit_pieces(toc_data: bytes, pack_bytes: bytes) -> dict[str, bytes]:
    """The commit objects in a pack, by id: the hash of each one's bytes, so each is
    verified by construction (a sealed pack's are ciphertext: none)."""
    out: dict[str, bytes] = {}
    if toc_data[:1] != b"\x00":  # sealed rows: ciphertext is never a commit as stored
        return out
    off = 0
    for i in range(1, len(toc_data), 4):
        n = int.from_bytes(toc_data[i : i + 4], "big")
        if pack_bytes.startswith(b"commit", off):  # the kind tag of every commit format (commit1 ...)
            piece = pack_bytes[off : off + n]
            out[blake3.blake3(piece).hexdigest()] = piece
        off += n
    return out


def create(conn: sqlite3.Connection) -> None:
    """Make the tables of an empty database (inside the caller's write transaction)."""
    for statement in TABLES:
        conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def migrate(conn: sqlite3.Connection, version: int, now_ms: int) -> None:
    """Bring a schema 1 to 4 database to schema 5 inside the caller's write transaction.

    Schema 3 and 4 need only their version raised: their packs are read as they are (flag 1,
    zstd without a dictionary; moves as JSON text), and new packs use the dictionary and
    the BLOB form of moves. From schema 1 or 2, objects
    move into packs (in write-time order, PACK_BYTES each) keeping their write times;
    each old reflog transaction (entries sharing a time) becomes a pack of moves, in order,
    chained per ref; refs keep their values and gain their newest move. The old tables are
    dropped, so the database then has one layout. The cost is one pass over the database."""
    if version < 3:
        _from_tables(conn, version, now_ms)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def _from_tables(conn: sqlite3.Connection, version: int, now_ms: int) -> None:
    """Schema 1 or 2 (an ``objects`` row per object, a ``reflog`` row per move) to packs."""
    if version < 2:
        # Existing objects count as written now: the safe side of gc's grace period.
        conn.execute(f"ALTER TABLE objects ADD COLUMN written INTEGER NOT NULL DEFAULT {now_ms}")
    for statement in TABLES[1:3]:
        conn.execute(statement)
    conn.execute("CREATE TABLE refs3 (name TEXT PRIMARY KEY, value TEXT, last INTEGER) WITHOUT ROWID")
    _move_objects(conn)
    last = _move_reflog(conn)
    refs = dict(conn.execute("SELECT name, value FROM refs").fetchall())
    conn.executemany("INSERT INTO refs3 (name, value, last) VALUES (?, ?, ?)",
                     [(name, refs.get(name), last.get(name)) for name in sorted(set(refs) | set(last))])
    for statement in ("DROP TABLE objects", "DROP TABLE reflog", "DROP TABLE refs",
                      "ALTER TABLE refs3 RENAME TO refs"):
        conn.execute(statement)
    conn.execute("DELETE FROM sqlite_sequence WHERE name = 'reflog'")


def _move_objects(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT id, data, written FROM objects ORDER BY written, id")
    ids: list[bytes] = []
    parts: list[bytes] = []
    index: list[tuple[bytes, int, int, int]] = []  # id, offset, length, written
    size = 0

    def flush() -> None:
        nonlocal size
        if not ids:
            return
        when = max(w for *_, w in index) * 1000
        p = conn.execute("INSERT INTO packs (time, moves, toc, data) VALUES (?, NULL, ?, ?)",
                         (when, toc(zip(ids, parts)), pack(b"".join(parts)))).lastrowid
        conn.executemany("INSERT INTO objidx (id, p, off, len, written) VALUES (?, ?, ?, ?, ?)",
                         [(i, p, off, n, w) for i, off, n, w in index])
        ids.clear(), parts.clear(), index.clear()
        size = 0

    for oid, stored, written in rows:
        try:
            data = unpack(stored, f"object {bytes(oid).hex()}")
        except StateVCSError:  # damaged: moved as it is, for fsck to report (reads refuse it)
            data = bytes(stored)
        if size and size + len(data) > PACK_BYTES:
            flush()
        ids.append(oid)
        parts.append(data)
        index.append((oid, size, len(data), written))
        size += len(data)
    flush()


def _move_reflog(conn: sqlite3.Connection) -> dict[str, int]:
    """Old reflog rows as packs of moves; returns each ref's newest move's pack."""
    last: dict[str, int] = {}
    group: list[tuple] = []

    def flush() -> None:
        if not group:
            return
        when = to_us(datetime.fromisoformat(group[0][4]))
        p = conn.execute("INSERT INTO packs (time, moves, toc, data) VALUES (?, '[]', NULL, NULL)",
                         (when,)).lastrowid
        moves = []
        for name, old, new, who, _, why in group:
            moves.append([name, old, new, who, why, last.get(name)])
            last[name] = p
        conn.execute("UPDATE packs SET moves = ? WHERE p = ?", (orjson.dumps(moves).decode(), p))  # whole entries
        group.clear()

    for row in conn.execute("SELECT name, old, new, who, time, why FROM reflog ORDER BY seq"):
        if group and row[4] != group[0][4]:
            flush()
        group.append(row)
    flush()
    return last
