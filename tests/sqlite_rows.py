"""Raw access to the embedded store's rows (schema 3: objects live in packs), for tests that
inspect or damage a database the way an attacker or a failing disk would."""

from __future__ import annotations

import sqlite3

from statevcs.store.stored import unpack
from statevcs.store.sqlite.layout import read_toc


def _pack(conn: sqlite3.Connection, p: int) -> bytes:
    (data,) = conn.execute("SELECT data FROM packs WHERE p = ?", (p,)).fetchone()
    return unpack(data, f"pack {p}")


def object_rows(conn: sqlite3.Connection, largest_first: bool = False) -> list[tuple[bytes, bytes]]:
    """(id, bytes as the store keeps them, inflated) of every object."""
    rows = conn.execute("SELECT id, p, off, len FROM objidx" + (" ORDER BY len DESC" if largest_first else ""))
    return [(oid, _pack(conn, p)[off : off + n]) for oid, p, off, n in rows.fetchall()]


def set_object_row(conn: sqlite3.Connection, oid: bytes, raw: bytes) -> None:
    """Replace an object's bytes in its pack, stored plain (the objects after it move along)."""
    p, off, n = conn.execute("SELECT p, off, len FROM objidx WHERE id = ?", (oid,)).fetchone()
    data = _pack(conn, p)
    (contents,) = conn.execute("SELECT toc FROM packs WHERE p = ?", (p,)).fetchone()
    # Written with ids, so the damaged object keeps its name in the pack's table of contents.
    entries = [(i, raw if i == oid else data[o : o + m]) for i, o, m in read_toc(contents, data)]
    listing = b"\x01" + b"".join(i + len(b).to_bytes(4, "big") for i, b in entries)
    conn.execute("UPDATE packs SET data = ?, toc = ? WHERE p = ?",
                 (b"\x00" + data[:off] + raw + data[off + n:], listing, p))
    conn.execute("UPDATE objidx SET len = ? WHERE id = ?", (len(raw), oid))
    conn.execute("UPDATE objidx SET off = off + ? WHERE p = ? AND off > ?", (len(raw) - n, p, off))


def insert_ref(conn: sqlite3.Connection, name: str, value: str) -> None:
    conn.execute("INSERT INTO refs (name, value) VALUES (?, ?)", (name, value))
