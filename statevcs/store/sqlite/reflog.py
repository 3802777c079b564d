"""The reflog of the embedded store: each pack's ``moves`` are its transaction's entries, and
a ref's entries form a chain from ``refs.last`` through each entry's ``prev`` (the pack of
the ref's previous move; a ref's later moves within one pack say SAME_PACK). Reading a
ref's reflog costs one row read per transaction that moved it; expiring rewrites the packs
whose entries go and relinks the chain around them.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Callable, Iterator

from ...errors import CorruptObjectError
from ..base import RefLogEntry
from .layout import from_us, to_us
from .moves import SAME_PACK, dump_moves, load_moves

_PAGE = 1000


def _pack_moves(conn: sqlite3.Connection, p: int, name: str) -> tuple[int, list[list[Any]], list[int]]:
    """(time, moves, indices of ``name``'s entries) of pack ``p``, which the chain says holds some."""
    row = conn.execute("SELECT time, moves FROM packs WHERE p = ?", (p,)).fetchone()
    moves = load_moves(row[1]) if row is not None and row[1] is not None else []
    mine = [i for i, m in enumerate(moves) if m[0] == name]
    if not mine:
        raise CorruptObjectError(f"the reflog of {name} is damaged: transaction {p} holds none of its entries")
    return row[0], moves, mine


def _chain(conn: sqlite3.Connection, name: str) -> Iterator[tuple[int, int, list[list[Any]], list[int]]]:
    """(pack, time, moves, indices of name's entries) along name's chain, newest first."""
    row = conn.execute("SELECT last FROM refs WHERE name = ?", (name,)).fetchone()
    p = row[0] if row is not None else None
    seen: set[int] = set()
    while p is not None:
        if p in seen:
            raise CorruptObjectError(f"the reflog of {name} is damaged: it loops at transaction {p}")
        seen.add(p)
        when, moves, mine = _pack_moves(conn, p, name)
        yield p, when, moves, mine
        p = moves[mine[0]][5]


def entries(conn: sqlite3.Connection, name: str, limit: int | None = None) -> list[RefLogEntry]:
    """Moves of ``name``, newest first."""
    out: list[RefLogEntry] = []
    for _, when, moves, mine in _chain(conn, name):
        at = from_us(when)
        for i in reversed(mine):
            m = moves[i]
            out.append(RefLogEntry(name, m[1], m[2], m[3], at, m[4]))
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


def targets(read: Callable[..., list[tuple]], after_seq: int, names: set[str] | None) -> Iterator[str]:
    """Ids named by moves in packs after ``after_seq`` of refs that exist now (only ``names``)."""
    existing = {r[0] for r in read("SELECT name FROM refs WHERE value IS NOT NULL")}
    last = after_seq
    while rows := read("SELECT p, moves FROM packs WHERE p > ? AND moves IS NOT NULL ORDER BY p LIMIT ?",
                       (last, _PAGE)):
        page: set[str] = set()
        for _, moves in rows:
            for name, old, new, *_ in load_moves(moves):
                if name in existing and (names is None or name in names):
                    page.update(v for v in (old, new) if v)
        yield from page
        last = rows[-1][0]


def expire(conn: sqlite3.Connection, name: str, before: datetime,
           keep: Callable[[str | None, str | None], bool] | None) -> int:
    """Delete ``name``'s entries older than ``before`` (but those ``keep`` wants), inside the
    caller's write transaction; returns how many went."""
    cut = to_us(before)
    packs: dict[int, list[list[Any]]] = {}
    order: list[tuple[int, int]] = []  # (pack, index), newest first
    doomed: set[tuple[int, int]] = set()
    for p, when, moves, mine in _chain(conn, name):
        packs[p] = moves
        for i in reversed(mine):
            order.append((p, i))
            m = moves[i]
            if when < cut and (keep is None or not keep(m[1], m[2])):
                doomed.add((p, i))
    if not doomed:
        return 0
    kept = [e for e in order if e not in doomed]
    changed = {p for p, _ in doomed}
    # Relink: in each pack, the name's earliest kept entry points at the next older pack.
    pack_order = list(dict.fromkeys(p for p, _ in kept))
    for n, p in enumerate(pack_order):
        older = pack_order[n + 1] if n + 1 < len(pack_order) else None
        mine = sorted(i for q, i in kept if q == p)
        for i, prev in zip(mine, [older] + [SAME_PACK] * (len(mine) - 1)):
            if packs[p][i][5] != prev:
                packs[p][i][5] = prev
                changed.add(p)
    newest = conn.execute("SELECT max(p) FROM packs").fetchone()[0]
    for p in sorted(changed):
        moves = packs[p]
        left = [m for i, m in enumerate(moves) if (p, i) not in doomed]
        if left:
            conn.execute("UPDATE packs SET moves = ? WHERE p = ?", (dump_moves(left), p))
        elif p != newest and conn.execute("SELECT toc FROM packs WHERE p = ?", (p,)).fetchone()[0] is None:
            conn.execute("DELETE FROM packs WHERE p = ?", (p,))
        else:
            conn.execute("UPDATE packs SET moves = NULL WHERE p = ?", (p,))
    if kept:
        conn.execute("UPDATE refs SET last = ? WHERE name = ?", (kept[0][0], name))
    else:
        conn.execute("DELETE FROM refs WHERE name = ? AND value IS NULL", (name,))
        conn.execute("UPDATE refs SET last = NULL WHERE name = ?", (name,))
    return len(doomed)
