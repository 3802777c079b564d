"""A pack's ``moves``: its transaction's reflog entries, ``[ref, old, new, who, why, prev]``
each, where ``prev`` is the pack of the ref's previous move (SAME_PACK for a ref's later
moves within one pack).

Schema 5 stores them as a BLOB: the name of the first ref moved, a NUL byte, then a stored
form (stored.py: a flag byte, zstd with the built-in dictionary when that is smaller) of
their JSON text, so the history reads can still match packs by the ref they moved first (a
plain prefix of the column) and a move costs about 175 bytes instead of 215. Schema 4 and
earlier stored the JSON text itself, which is still read. A move that repeats the one
before it (HEAD following its branch) is ``[ref, prev]`` in both forms. (Writing the ids as
bytes instead of hex saves about 7 bytes more a move: zstd's entropy coding already stores a
hex digit in about 4 bits.)
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from ...errors import CorruptObjectError
from ..stored import pack, unpack

#: ``prev`` of a ref's second and later moves within one pack: the walk takes them all at once.
SAME_PACK = -1

#: The start of a text form up to the name of the first ref it moved (JSON string syntax).
_FIRST_MOVE_TEXT = re.compile(r'\[\["(?:[^"\\]|\\.)*",')


def _compact(moves: list[list]) -> list[list]:
    out: list[list] = []
    for i, m in enumerate(moves):
        out.append([m[0], m[5]] if i and m[1:5] == moves[i - 1][1:5] else list(m))
    return out


def dump_moves(moves: list[list]) -> bytes | str:
    """The stored form of a pack's moves (the schema 5 BLOB; the JSON text when the first
    ref's name holds a NUL, which no ref statevcs writes has)."""
    entries = _compact(moves)
    text = orjson.dumps(entries)
    first = entries[0][0]
    return text.decode() if "\0" in first else lead_of(first) + pack(text)


def lead_of(name: str) -> bytes:
    """What a BLOB form starts with when ``name`` is the first ref it moved."""
    return name.encode("utf-8", "surrogatepass") + b"\0"


def first_ref(stored: bytes | str) -> bytes | str | None:
    """The start of a stored form naming the first ref it moved (None when it is not there):
    packs whose column starts the same moved the same ref first."""
    if isinstance(stored, bytes):
        end = stored.find(b"\0")
        return stored[: end + 1] if end > 0 else None
    lead = _FIRST_MOVE_TEXT.match(stored)
    return lead.group(0) if lead else None


def text_lead(lead: bytes) -> str:
    """The text form's start for the ref a BLOB form's lead names (older packs of a migrated
    database are text)."""
    return orjson.dumps([[lead[:-1].decode("utf-8", "surrogatepass")]]).decode()[:-2] + ","


def both_leads(lead: bytes | str) -> tuple[bytes, str]:
    """The BLOB form's and the text form's starts for the ref a ``first_ref`` lead names
    (a migrated database holds packs of both forms); ValueError if it names none."""
    if isinstance(lead, bytes):
        return lead, text_lead(lead)
    return lead_of(orjson.loads(lead[2:-1])), lead


def load_moves(stored: bytes | str) -> list[list[Any]]:
    """The moves dump_moves wrote (either form), each whole again: [ref, old, new, who, why, prev].

    Bytes that are not UTF-8 (written behind statevcs's back) are read escaped (``\\xff``),
    as the connection's text factory gives other columns; the text form reaches here already
    escaped, which is not a JSON escape, so such text is read with the backslash kept."""
    if isinstance(stored, bytes):
        end = stored.find(b"\0")
        if end <= 0:  # no ref name before the stored form
            _bad(stored)
        body = unpack(stored[end + 1 :], "a reflog entry of the store")  # CorruptObjectError naming it
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("utf-8", "backslashreplace")
    else:
        text = stored
    try:
        entries = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            entries = orjson.loads(text.replace("\\x", "\\\\x"))
        except orjson.JSONDecodeError:
            raise CorruptObjectError(f"a reflog entry of the store is damaged: {text[:80]!r}") from None
    moves: list[list] = []
    if type(entries) is not list:
        _bad(stored)
    try:
        for m in entries:
            if type(m) is not list or len(m) not in (2, 6):
                _bad(stored)
            moves.append([m[0], *moves[-1][1:5], m[1]] if len(m) == 2 else m)
    except (TypeError, IndexError, KeyError):
        _bad(stored)
    return moves


def _bad(stored: bytes | str) -> Any:
    raise CorruptObjectError(f"a reflog entry of the store is damaged: {stored[:80]!r}")
