"""What differs between two chunked containers, reading only the chunks that differ.

Both trees are walked as lists of segments (a chunk, or one leaf entry). Two segments with
the same id hold the same entries, so each step matches the two lists by id (common
prefix and suffix first, then longest matching blocks) and expands, one level down, only
the segments left unmatched. Since equal content is cut into equal chunks, unchanged
regions match at the highest level they share, and a diff of k changes in n entries
reads O(k x depth) nodes. Arrays come out as windows (differing runs, to be aligned
entry by entry by the caller, e.g. algo.align.align); objects as key changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import accumulate, repeat
from typing import Any, NamedTuple

from ...errors import CorruptObjectError
from ..missing import MISSING
from ..objects import Child
from .format import ARRAY, OBJECT, ChunkRef, RawSource, entry_token
from .read import ChunkReader


@dataclass(frozen=True)
class ArrayWindow:
    """Items ``a[a_start:a_start+len(a_items)]`` became ``b[b_start:b_start+len(b_items)]``.

    Outside the windows the two arrays hold equal items in the same order.
    """

    a_start: int
    b_start: int
    a_items: tuple[Child, ...]
    b_items: tuple[Child, ...]


@dataclass(frozen=True)
class KeyChange:
    """``key`` went from ``old`` to ``new`` (Child values; MISSING where absent)."""

    key: str
    old: Any
    new: Any


class _Segment(NamedTuple):  # a tuple: a diff makes one per entry of every node it reads
    token: tuple  # (height, id) for a chunk; (-1, key?, entry token) for a leaf entry
    count: int
    height: int  # -1 for a leaf entry
    value: Any  # ChunkRef, or the leaf entry


def array_windows(source: RawSource, root_a: str, root_b: str) -> list[ArrayWindow]:
    """The runs where two chunked arrays differ, in order, each as small as the chunking allows."""
    out: list[ArrayWindow] = []
    if root_a != root_b:
        reader = ChunkReader(source)
        _walk(reader, ARRAY, [_root(reader, root_a, ARRAY)], [_root(reader, root_b, ARRAY)], 0, 0, out)
    return out


def object_changes(source: RawSource, root_a: str, root_b: str) -> list[KeyChange]:
    """The keys whose children differ between two chunked objects, in key order."""
    if root_a == root_b:
        return []
    reader = ChunkReader(source)
    windows: list[ArrayWindow] = []
    _walk(reader, OBJECT, [_root(reader, root_a, OBJECT)], [_root(reader, root_b, OBJECT)], 0, 0, windows)
    old = {k: c for w in windows for k, c in w.a_items}
    new = {k: c for w in windows for k, c in w.b_items}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key, MISSING), new.get(key, MISSING)
        if a is MISSING or b is MISSING or entry_token(a) != entry_token(b):
            changes.append(KeyChange(key, a, b))
    return changes


def _root(reader: ChunkReader, oid: str, container: str) -> _Segment:
    node = reader.root(oid, container)
    return _Segment((node.height, oid), node.count, node.height, ChunkRef(oid, node.count, node.last))


def _expand(reader: ChunkReader, container: str, segment: _Segment) -> list[_Segment]:
    ref: ChunkRef = segment.value
    node = reader.load(ref.id)
    if node.container != container or node.height != segment.height or node.count != ref.count:
        raise CorruptObjectError(f"chunk {ref.id} does not match its entry in its parent")
    entries = node.entries
    if node.height:
        h = node.height - 1
        return _segments(zip(repeat(h), (r.id for r in entries)), (r.count for r in entries), h, entries)
    if container == ARRAY:
        return _segments(zip(repeat(-1), map(entry_token, entries)), repeat(1), -1, entries)
    return _segments(((-1, k, entry_token(c)) for k, c in entries), repeat(1), -1, entries)


def _segments(tokens: Iterable[tuple], counts: Iterable[int], height: int, values: Iterable[Any]) -> list[_Segment]:
    """Segments made straight from their fields (a diff makes one per entry of every node it reads)."""
    return list(map(tuple.__new__, repeat(_Segment), zip(tokens, counts, repeat(height), values)))


def _trim(a: list[_Segment], b: list[_Segment], a_at: int, b_at: int) -> tuple[list[_Segment], list[_Segment], int, int]:
    """Drop the common prefix and suffix (moving the start offsets past the prefix)."""
    lo, n = 0, min(len(a), len(b))
    while lo < n and a[lo].token == b[lo].token:
        a_at += a[lo].count
        b_at += b[lo].count
        lo += 1
    hi = 0
    while hi < n - lo and a[-1 - hi].token == b[-1 - hi].token:
        hi += 1
    return a[lo : len(a) - hi], b[lo : len(b) - hi], a_at, b_at


def _walk(reader: ChunkReader, container: str, a: list[_Segment], b: list[_Segment], a_at: int, b_at: int,
          out: list[ArrayWindow]) -> None:
    """Windows where segments ``a`` (starting at entry ``a_at``) and ``b`` differ, appended in order.

    Breadth first: every region still differing is opened one level down in the same round,
    so the chunks of a round are fetched together (one query per level on a store that
    fetches many at once, which matters most over a network)."""
    found: list[ArrayWindow] = []
    regions = [(a, b, a_at, b_at)]
    while regions:
        opening = []  # (a, b, a_at, b_at, height to open)
        for a, b, a_at, b_at in regions:
            a, b, a_at, b_at = _trim(a, b, a_at, b_at)
            if not a and not b:
                continue
            top = max(s.height for s in a + b)
            if top < 0:
                found.append(ArrayWindow(a_at, b_at, tuple(s.value for s in a), tuple(s.value for s in b)))
            else:
                opening.append((a, b, a_at, b_at, top))
        reader.prefetch([s.value.id for a, b, _, _, top in opening for s in a + b if s.height == top])
        regions = []
        for a, b, a_at, b_at, top in opening:
            a = [x for s in a for x in (_expand(reader, container, s) if s.height == top else [s])]
            b = [x for s in b for x in (_expand(reader, container, s) if s.height == top else [s])]
            a, b, a_at, b_at = _trim(a, b, a_at, b_at)  # keeps windows inside the common prefix and suffix
            starts_a = list(accumulate((s.count for s in a), initial=a_at))
            starts_b = list(accumulate((s.count for s in b), initial=b_at))
            matcher = SequenceMatcher(None, [s.token for s in a], [s.token for s in b], autojunk=False)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                if tag != "equal":
                    regions.append((a[i1:i2], b[j1:j2], starts_a[i1], starts_b[j1]))
    # Windows are disjoint and each starts after the previous one on both sides.
    found.sort(key=lambda w: (w.a_start, w.b_start))
    out.extend(found)
